//! Benchmarks of the timeline service, run against local DynamoDB and Redis (the k6 load tests
//! beside this crate drive the HTTP API instead). See docs/benchmarks.md.
//!
//! - [`args`]: the command line of `timeline-bench`.
//! - [`bench`]: one run: seed an author and their followers, time the fan-out of one tweet and
//!   the raw write of as many timeline entries, clean up.
//! - [`backlog`]: one run of `--backlog`: queue stream records, time the fan-out handler working
//!   them off, and the raw write of as many entries.
//! - [`probe`]: the real adapters with the fan-out's phases timed, for `--breakdown`.
//! - [`report`]: the figures as a table, a breakdown and one JSON line.

pub mod args;
pub mod backlog;
pub mod bench;
pub mod probe;
pub mod report;
pub mod results;
pub mod seed;

use std::error::Error;

pub type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

pub use timeline_service::error_chain;

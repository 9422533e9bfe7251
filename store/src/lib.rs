//! Adapters of the timeline ports, shared by the API and the fan-out: handlers never build
//! storage requests themselves.
//!
//! - [`config`]: where the stores are (endpoints, table prefix), read from the environment once.
//! - [`dynamo`]: the DynamoDB tables (users, usernames, follows, tweets, timelines, idempotency),
//!   their one definition (used by the local runner and the tests to create them), and the
//!   batch writes with partial-failure retries.
//! - [`redis_cache`]: the Redis timeline cache, standalone or cluster, plain or TLS.
//! - [`retry`]: jittered, capped exponential backoff.
//! - [`telemetry`]: metric names shared with template.yaml.

pub mod config;
pub mod dynamo;
pub mod redis_cache;
pub mod retry;
pub mod telemetry;

pub use config::StoreConfig;
pub use dynamo::{Dynamo, TableNames};
pub use redis_cache::RedisCache;

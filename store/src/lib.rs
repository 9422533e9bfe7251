//! Adapters of the timeline ports, shared by the API, the fan-out and the tools: handlers never
//! build storage requests themselves.
//!
//! - [`settings`]: every environment variable of every binary, parsed once into typed values.
//! - [`dynamo`]: the DynamoDB tables (users, usernames, follows, tweets, timelines, idempotency),
//!   their one definition (the local runner, tests and tools create and delete them from it),
//!   the batch writes with partial-failure retries, and the calls a client made, by operation.
//! - [`stream`]: stream records of the tweets and follows tables decoded into domain events.
//! - [`redis_cache`]: the Redis timeline cache, standalone or cluster, plain or TLS, behind a
//!   circuit breaker, counting its round trips.
//! - [`retry`]: jittered, capped exponential backoff.
//! - [`secrets`]: secrets read at start-up from SSM Parameter Store or Secrets Manager.
//! - [`telemetry`]: metric names shared with template.yaml, the EMF recorder, log set-up.

pub mod dynamo;
pub mod redis_cache;
pub mod retry;
pub mod secrets;
pub mod settings;
pub mod stream;
pub mod telemetry;

pub use dynamo::{Dynamo, Streams, TableNames};
pub use redis_cache::RedisCache;
pub use settings::{
    ApiSettings, Environment, HttpLimits, LocalSettings, MetricsSettings, Runner, SettingError, StoreSettings,
};

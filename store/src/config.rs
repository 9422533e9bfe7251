//! Where the stores are. Read once at start-up; the same names serve Lambda and local runs.

use std::env;

/// Connection settings of both stores.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// `TIMELINE_DYNAMODB_ENDPOINT`: DynamoDB Local's URL; unset in AWS.
    pub dynamodb_endpoint: Option<String>,
    /// `TIMELINE_TABLE_PREFIX`: put before every table name (a stage, a stack or a test).
    pub table_prefix: String,
    /// `TIMELINE_REDIS_URL`: `redis://` or, for TLS, `rediss://`.
    pub redis_url: String,
    /// `TIMELINE_REDIS_CLUSTER`: `true` for Redis Cluster (ElastiCache Serverless is one).
    pub redis_cluster: bool,
    /// `TIMELINE_FANOUT_THRESHOLD`: authors with more followers are not fanned out; readers
    /// merge their tweets in (the fan-out and the read path must agree on it, hence here).
    pub fanout_threshold: u64,
}

impl StoreConfig {
    pub const DEFAULT_TABLE_PREFIX: &str = "dev-";
    pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
    pub const DEFAULT_FANOUT_THRESHOLD: u64 = 10_000;

    pub fn from_env() -> Self {
        Self {
            dynamodb_endpoint: env::var("TIMELINE_DYNAMODB_ENDPOINT").ok().filter(|v| !v.is_empty()),
            table_prefix: env::var("TIMELINE_TABLE_PREFIX")
                .unwrap_or_else(|_| Self::DEFAULT_TABLE_PREFIX.into()),
            redis_url: env::var("TIMELINE_REDIS_URL").unwrap_or_else(|_| Self::DEFAULT_REDIS_URL.into()),
            redis_cluster: env::var("TIMELINE_REDIS_CLUSTER").is_ok_and(|v| v == "true" || v == "1"),
            fanout_threshold: env::var("TIMELINE_FANOUT_THRESHOLD")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(Self::DEFAULT_FANOUT_THRESHOLD),
        }
    }
}

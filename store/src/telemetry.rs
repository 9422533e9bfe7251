//! Names of the metrics the service emits, shared with template.yaml's alarms and dashboard.
//!
//! Metrics go through the `metrics` facade: CloudWatch Embedded Metric Format in Lambda; locally a
//! Prometheus endpoint and a one-line summary in the log (the root crate's `local_metrics`). The template names these exact strings; scripts/validate-template.sh (run by
//! `make test`) fails when the template names a metric that is not defined here, or the reverse.

/// CloudWatch namespace of every metric below.
pub const NAMESPACE: &str = "TimelineService";
/// The one static dimension every metric carries (`service=timeline`); alarms select on it.
pub const SERVICE_DIMENSION: (&str, &str) = ("service", "timeline");

/// Milliseconds from a stream record's ApproximateCreationDateTime to the end of its fan-out.
pub const FANOUT_LAG_MS: &str = "FanoutLagMs";
/// Timeline entries written by the fan-out, with a `store` label (`dynamodb` or `redis`).
pub const FANOUT_ENTRIES_WRITTEN: &str = "FanoutEntriesWritten";
/// Followers of the author of each fanned-out tweet.
pub const FANOUT_FOLLOWERS_PER_TWEET: &str = "FanoutFollowersPerTweet";
/// Retries of throttled or unprocessed writes.
pub const FANOUT_RETRIES: &str = "FanoutRetries";
/// Stream records that can never succeed, logged and skipped so they never block a shard.
pub const FANOUT_SKIPPED_RECORDS: &str = "FanoutSkippedRecords";
/// Cached copies noted stale because a cache write failed (repaired once the cache is back).
pub const FANOUT_STALE_COPIES: &str = "FanoutStaleCopies";
/// Home timeline reads served from Redis.
pub const TIMELINE_CACHE_HITS: &str = "TimelineCacheHits";
/// Home timeline reads rebuilt from the Timelines table.
pub const TIMELINE_CACHE_MISSES: &str = "TimelineCacheMisses";

/// The Embedded Metric Format recorder of a Lambda function: metrics go to stdout as EMF
/// documents, flushed after each invocation by `metrics_cloudwatch_embedded::lambda`.
pub fn install_emf_recorder()
-> Result<&'static metrics_cloudwatch_embedded::Collector, metrics_cloudwatch_embedded::Error> {
    metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace(NAMESPACE)
        .with_dimension(SERVICE_DIMENSION.0, SERVICE_DIMENSION.1)
        .init()
}

/// Logs of a Lambda function: JSON lines (CloudWatch Logs Insights parses them), level from
/// `RUST_LOG`, no timestamp (CloudWatch stamps each line).
pub fn init_lambda_logs() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_current_span(false)
        .without_time()
        .init();
}

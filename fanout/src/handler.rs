//! One batch of stream records through the fan-out.
//!
//! Records of a shard must land in order, so the batch stops at the first transient failure
//! and reports that record's sequence number: Lambda (or the local poller) retries from there,
//! and the records before it, already applied, are not repeated. Every write is idempotent, so
//! a retried batch that does overlap changes nothing.

use aws_lambda_events::dynamodb::{Event as DynamoDbEvent, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use lambda_runtime::LambdaEvent;
use timeline_model::Timestamp;
use timeline_model::fanout::{Fanout, FanoutReport, TimelineEvent};
use timeline_model::ports::StoreError;
use timeline_store::stream::{self, Decoded};
use timeline_store::{Dynamo, RedisCache, StoreSettings, telemetry};

/// Followers read and written per step of one fan-out.
const FOLLOWER_PAGE: usize = 1000;

/// The fan-out over the real stores.
pub type StoreFanout<'a> = Fanout<'a, Dynamo, Dynamo, Dynamo, RedisCache, Dynamo>;

/// The stores the fan-out writes; built once per process.
#[derive(Clone)]
pub struct Engine {
    dynamo: Dynamo,
    cache: RedisCache,
    /// Authors with more followers are merged in at read time, not fanned out.
    fanout_threshold: u64,
}

impl Engine {
    pub fn new(dynamo: Dynamo, cache: RedisCache, fanout_threshold: u64) -> Self {
        Self { dynamo, cache, fanout_threshold }
    }

    /// Build the clients of `settings` (DynamoDB and standalone Redis connect on first use; the
    /// Redis Cluster client connects here).
    pub async fn connect(settings: &StoreSettings) -> Result<Self, StoreError> {
        let cache = RedisCache::connect(settings).await?;
        Ok(Self::new(Dynamo::connect(settings).await, cache, settings.fanout_threshold))
    }

    /// The domain's fan-out, wired to the stores.
    pub fn fanout(&self) -> StoreFanout<'_> {
        Fanout {
            follows: &self.dynamo,
            tweets: &self.dynamo,
            store: &self.dynamo,
            cache: &self.cache,
            users: &self.dynamo,
            page_size: FOLLOWER_PAGE,
            fanout_threshold: self.fanout_threshold,
        }
    }

    /// Apply a batch; the response names the first record to retry, if any.
    pub async fn handle(&self, event: &DynamoDbEvent) -> DynamoDbEventResponse {
        let mut response = DynamoDbEventResponse::default();
        for record in &event.records {
            if let Err(failure) = self.apply(record).await {
                response.batch_item_failures.push(failure);
                break;
            }
        }
        response
    }

    /// The Lambda function's handler: a stream event in, a partial batch response out. It
    /// never fails the invocation as a whole, which would retry records already applied.
    pub async fn handle_lambda(
        &self,
        event: LambdaEvent<DynamoDbEvent>,
    ) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
        Ok(self.handle(&event.payload).await)
    }

    async fn apply(&self, record: &EventRecord) -> Result<(), DynamoDbBatchItemFailure> {
        let change = &record.change;
        let parts = stream::Record {
            event_name: &record.event_name,
            keys: &change.keys,
            new_image: &change.new_image,
            old_image: &change.old_image,
        };
        let event = match stream::decode(&parts) {
            Decoded::Event(event) => event,
            Decoded::Ignore => return Ok(()),
            Decoded::Poison(reason) => {
                skip(record, &reason);
                return Ok(());
            }
        };
        // Boxed: the fan-out's future nests deep (SDK calls inside batches inside pages), and a
        // box keeps every caller's future small and within the compiler's layout depth.
        match Box::pin(self.fanout().apply(&event)).await {
            Ok(report) => {
                record_metrics(record, &event, &report);
                Ok(())
            }
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, event_id = %record.event_id, "fan-out failed; the batch will be retried from this record");
                let mut failure = DynamoDbBatchItemFailure::default();
                failure.item_identifier = record.change.sequence_number.clone();
                Err(failure)
            }
            Err(error) => {
                skip(record, &error.to_string());
                Ok(())
            }
        }
    }
}

fn skip(record: &EventRecord, reason: &str) {
    tracing::error!(event_id = %record.event_id, sequence_number = ?record.change.sequence_number, reason, "skipping a stream record that can never succeed");
    metrics::counter!(telemetry::FANOUT_SKIPPED_RECORDS).increment(1);
}

fn record_metrics(record: &EventRecord, event: &TimelineEvent, report: &FanoutReport) {
    // The stream's ApproximateCreationDateTime is coarse (whole seconds in AWS, whole minutes in
    // DynamoDB Local); a posted tweet carries its own millisecond time, which is never earlier.
    let approximate =
        u64::try_from(record.change.approximate_creation_date_time.timestamp_millis()).unwrap_or(0);
    let written = match event {
        TimelineEvent::TweetPosted(tweet) => approximate.max(tweet.created_at.unix_millis()),
        _ => approximate,
    };
    if written > 0 {
        let lag = Timestamp::now().unix_millis().saturating_sub(written);
        metrics::histogram!(telemetry::FANOUT_LAG_MS).record(lag as f64);
    }
    metrics::histogram!(telemetry::FANOUT_FOLLOWERS_PER_TWEET).record(report.followers as f64);
    metrics::counter!(telemetry::FANOUT_ENTRIES_WRITTEN, "store" => "dynamodb")
        .increment(report.durable_entries as u64);
    metrics::counter!(telemetry::FANOUT_ENTRIES_WRITTEN, "store" => "redis")
        .increment(report.cached_entries as u64);
    tracing::debug!(event_id = %record.event_id, ?report, "fanned out");
}

//! One batch of stream records through the fan-out.
//!
//! The records of a batch are applied concurrently, in lanes: records that touch the same item
//! (a tweet's INSERT and its REMOVE, one edge's follow and unfollow) share a lane and land in
//! stream order; different items do not depend on each other (docs/ARCHITECTURE.md, "Fan-out
//! within a batch", says why the result equals a serial apply). A lane stops at its first
//! transient failure, and the batch reports the lowest failed sequence number: Lambda (or the
//! local poller) retries from there. Records after it that other lanes already applied are
//! applied again, which changes nothing: every write is idempotent.

use std::collections::BTreeMap;

use aws_lambda_events::dynamodb::{Event as DynamoDbEvent, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures::StreamExt;
use lambda_runtime::LambdaEvent;
use timeline_model::Timestamp;
use timeline_model::fanout::{Fanout, FanoutReport, TimelineEvent};
use timeline_model::ports::StoreError;
use timeline_store::stream::{self, Decoded};
use timeline_store::{Dynamo, RedisCache, StoreSettings, telemetry};

/// Followers read and written per step of one fan-out.
const FOLLOWER_PAGE: usize = 1000;
/// Lanes applied at once. Each fan-out keeps a few batch writes in flight of its own; more
/// lanes than this only queue at the stores.
const LANES_IN_FLIGHT: usize = 8;

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
        let failed = futures::stream::iter(lanes(&event.records))
            .map(|lane| self.apply_lane(&event.records, lane))
            .buffer_unordered(LANES_IN_FLIGHT)
            .filter_map(std::future::ready)
            .collect::<Vec<usize>>()
            .await;
        let mut response = DynamoDbEventResponse::default();
        if let Some(&first) = failed.iter().min() {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = event.records[first].change.sequence_number.clone();
            response.batch_item_failures.push(failure);
        }
        response
    }

    /// Apply one lane's records in order; the index of the first that failed, if any.
    async fn apply_lane(&self, records: &[EventRecord], lane: Vec<usize>) -> Option<usize> {
        for index in lane {
            if self.apply(&records[index]).await.is_err() {
                return Some(index);
            }
        }
        None
    }

    /// The Lambda function's handler: a stream event in, a partial batch response out. It
    /// never fails the invocation as a whole, which would retry records already applied.
    pub async fn handle_lambda(
        &self,
        event: LambdaEvent<DynamoDbEvent>,
    ) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
        Ok(self.handle(&event.payload).await)
    }

    /// Apply one record; `Err` when it failed for now and must be retried.
    async fn apply(&self, record: &EventRecord) -> Result<(), TransientFailure> {
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
                Err(TransientFailure)
            }
            Err(error) => {
                skip(record, &error.to_string());
                Ok(())
            }
        }
    }
}

/// A record that failed for now (a store unavailable or throttling): the batch is retried from it.
struct TransientFailure;

/// The batch's records by the item they touch, each lane in stream order (indices into
/// `records`), lanes in the order of their first record.
fn lanes(records: &[EventRecord]) -> Vec<Vec<usize>> {
    let mut by_item: BTreeMap<String, usize> = BTreeMap::new();
    let mut lanes: Vec<Vec<usize>> = Vec::new();
    for (index, record) in records.iter().enumerate() {
        // The table's key, attribute by attribute in name order: one spelling per item.
        let key = format!("{:?}", record.change.keys.iter().collect::<BTreeMap<_, _>>());
        let lane = *by_item.entry(key).or_insert_with(|| {
            lanes.push(Vec::new());
            lanes.len() - 1
        });
        lanes[lane].push(index);
    }
    lanes
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A stream record of the tweets table: `event` on tweet `id`.
    fn record(event: &str, id: &str, sequence: u32) -> serde_json::Value {
        json!({
            "eventID": format!("e{sequence}"),
            "eventName": event,
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 0.0,
                "Keys": { "tweet_id": { "S": id } },
                "SequenceNumber": format!("{sequence:021}"),
                "SizeBytes": 1,
                "StreamViewType": "NEW_AND_OLD_IMAGES"
            }
        })
    }

    fn records(raw: Vec<serde_json::Value>) -> Vec<EventRecord> {
        serde_json::from_value::<DynamoDbEvent>(json!({ "Records": raw })).unwrap().records
    }

    #[test]
    fn records_of_one_item_share_a_lane_in_stream_order() {
        let batch = records(vec![
            record("INSERT", "A", 1),
            record("INSERT", "B", 2),
            record("REMOVE", "A", 3),
            record("INSERT", "C", 4),
            record("REMOVE", "B", 5),
        ]);
        assert_eq!(lanes(&batch), vec![vec![0, 2], vec![1, 4], vec![3]]);
    }
}

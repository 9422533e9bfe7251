//! One batch of stream records, in the Lambda event shape, through the fan-out Lambda's handler,
//! retried from the first failed record as the event source mapping retries it.

use std::collections::HashMap;
use std::time::Duration;

use aws_lambda_events::dynamodb::Event as DynamoDbEvent;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record};
use serde_json::{Value, json};
use timeline_fanout::Engine;
use timeline_store::retry::Backoff;
use tokio_util::sync::CancellationToken;

/// Patience when a batch keeps failing (a dependency is down): retry forever, but not hot.
pub const REDELIVERY: Backoff =
    Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(5), max_attempts: u32::MAX };

/// How a delivery ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Every record is applied (or skipped as one that can never succeed).
    Applied,
    /// The poller is stopping while the batch waits for a retry: the records from the failed
    /// one on are not applied, and the batch is not checkpointed (its applied records replay
    /// harmlessly after a restart).
    Interrupted,
    /// Still failing after the patience's last attempt, from this record's sequence number on.
    GaveUp { from_sequence: String },
}

/// Hand `records` to the handler until all are applied, resuming from the first failed one, for
/// up to `patience.max_attempts` attempts. A handler call is never cancelled; `stop` only cuts
/// short the wait before a retry.
pub async fn deliver(
    engine: &Engine,
    stream_arn: &str,
    records: &[Record],
    patience: &Backoff,
    stop: &CancellationToken,
) -> Delivery {
    let mut pending: Vec<Value> = records.iter().map(|r| lambda_record(stream_arn, r)).collect();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let event: DynamoDbEvent = match serde_json::from_value(json!({ "Records": pending })) {
            Ok(event) => event,
            Err(error) => {
                tracing::error!(%error, "records do not fit the Lambda event shape; skipping them");
                return Delivery::Applied;
            }
        };
        let response = engine.handle(&event).await;
        let Some(failed) = response.batch_item_failures.first().and_then(|f| f.item_identifier.clone())
        else {
            return Delivery::Applied;
        };
        let from =
            pending.iter().position(|r| r["dynamodb"]["SequenceNumber"] == failed.as_str()).unwrap_or(0);
        pending.drain(..from);
        if attempt >= patience.max_attempts {
            return Delivery::GaveUp { from_sequence: failed };
        }
        if stop.run_until_cancelled(patience.wait(attempt)).await.is_none() {
            return Delivery::Interrupted;
        }
    }
}

/// One stream record in the shape Lambda delivers it (`aws:dynamodb` event source).
pub fn lambda_record(stream_arn: &str, record: &Record) -> Value {
    let change = record.dynamodb.as_ref();
    let image = |item: Option<&HashMap<String, AttributeValue>>| {
        item.map(|item| serde_json::to_value(serde_dynamo::Item::from(item.clone())).unwrap_or(Value::Null))
    };
    let created = change
        .and_then(|c| c.approximate_creation_date_time)
        .map_or(0.0, |t| t.secs() as f64 + f64::from(t.subsec_nanos()) / 1e9);
    let mut change_json = json!({
        "ApproximateCreationDateTime": created,
        "Keys": image(change.and_then(|c| c.keys.as_ref())),
        "NewImage": image(change.and_then(|c| c.new_image.as_ref())),
        "OldImage": image(change.and_then(|c| c.old_image.as_ref())),
        "SequenceNumber": change.and_then(|c| c.sequence_number.as_deref()),
        "SizeBytes": change.and_then(|c| c.size_bytes).unwrap_or(0),
        "StreamViewType": change.and_then(|c| c.stream_view_type.as_ref()).map(|v| v.as_str()),
    });
    // Lambda leaves out what a record does not have (an INSERT has no OldImage).
    if let Some(fields) = change_json.as_object_mut() {
        fields.retain(|_, value| !value.is_null());
    }
    json!({
        "eventID": record.event_id,
        "eventName": record.event_name.as_ref().map(|n| n.as_str()),
        "eventVersion": record.event_version,
        "eventSource": "aws:dynamodb",
        "awsRegion": record.aws_region,
        "eventSourceARN": stream_arn,
        "dynamodb": change_json,
    })
}

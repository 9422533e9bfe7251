//! The local stand-in for Lambda's event source mapping: it follows DynamoDB Local's streams of
//! the tweets and follows tables (every shard, parents before children, iterators renewed when
//! they expire) and hands each batch of records, in the Lambda event shape, to the same handler
//! the fan-out Lambda runs. A batch item failure is retried from the failed record, after a
//! backoff, exactly as the event source mapping would.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::dynamodb::Event as DynamoDbEvent;
use aws_sdk_dynamodbstreams::Client as StreamsClient;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use serde_json::{Value, json};
use timeline_fanout::Engine;
use timeline_store::retry::Backoff;
use timeline_store::{Dynamo, StoreSettings};

/// Pause between polls of an idle stream: low enough for sub-second fan-out locally.
const IDLE_POLL: Duration = Duration::from_millis(50);
/// How often to look for new shards.
const SHARD_REFRESH: Duration = Duration::from_secs(2);
/// Patience when a batch keeps failing (a dependency is down): retry forever, but not hot.
const REDELIVERY: Backoff =
    Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(5), max_attempts: u32::MAX };

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Where a shard's reading stands.
#[derive(Default)]
struct Shard {
    parent: Option<String>,
    iterator: Option<String>,
    last_sequence: Option<String>,
    closed: bool,
}

/// Follows the streams of the tweets and follows tables.
pub struct Poller {
    streams: StreamsClient,
    /// Where the streams are: the tables' descriptions name them.
    dynamo: Dynamo,
    engine: Engine,
}

impl Poller {
    pub async fn new(settings: &StoreSettings, dynamo: Dynamo, engine: Engine) -> Self {
        let sdk = timeline_store::dynamo::sdk_config(settings).await;
        Self { streams: StreamsClient::new(&sdk), dynamo, engine }
    }

    /// Follow both streams until the task is dropped or aborted.
    pub async fn run(self) {
        let [tweets, follows] = self.dynamo.streamed_tables();
        tokio::join!(self.follow_table(tweets), self.follow_table(follows));
    }

    async fn follow_table(&self, table: &str) {
        let stream_arn = loop {
            match self.stream_arn(table).await {
                Ok(arn) => break arn,
                Err(error) => {
                    tracing::warn!(table, %error, "stream not available yet");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        tracing::info!(table, %stream_arn, "following stream");
        let mut shards: BTreeMap<String, Shard> = BTreeMap::new();
        let mut last_refresh: Option<tokio::time::Instant> = None;
        loop {
            if last_refresh.is_none_or(|at| at.elapsed() >= SHARD_REFRESH) {
                if let Err(error) = self.discover_shards(&stream_arn, &mut shards).await {
                    tracing::warn!(table, %error, "could not list shards");
                }
                last_refresh = Some(tokio::time::Instant::now());
            }
            let mut delivered = false;
            let ready: Vec<String> = shards
                .iter()
                .filter(|(_, s)| {
                    !s.closed && s.parent.as_ref().is_none_or(|p| shards.get(p).is_none_or(|p| p.closed))
                })
                .map(|(id, _)| id.clone())
                .collect();
            for shard_id in ready {
                let shard = shards.get_mut(&shard_id).expect("listed above");
                match self.poll_shard(&stream_arn, &shard_id, shard).await {
                    Ok(count) => delivered |= count > 0,
                    Err(error) => {
                        tracing::warn!(table, shard_id, %error, "polling failed; renewing the iterator");
                        shard.iterator = None;
                    }
                }
            }
            if !delivered {
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }

    async fn stream_arn(&self, table: &str) -> Result<String, BoxError> {
        let arn = self.dynamo.stream_arn(table).await?;
        arn.ok_or_else(|| format!("table {table} has no stream").into())
    }

    async fn discover_shards(
        &self,
        stream_arn: &str,
        shards: &mut BTreeMap<String, Shard>,
    ) -> Result<(), BoxError> {
        let mut start: Option<String> = None;
        loop {
            let output = self
                .streams
                .describe_stream()
                .stream_arn(stream_arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await?;
            let Some(description) = output.stream_description else {
                return Ok(());
            };
            for shard in description.shards.unwrap_or_default() {
                let Some(id) = shard.shard_id else { continue };
                shards
                    .entry(id)
                    .or_insert_with(|| Shard { parent: shard.parent_shard_id, ..Shard::default() });
            }
            start = description.last_evaluated_shard_id;
            if start.is_none() {
                return Ok(());
            }
        }
    }

    /// Read one batch from a shard and deliver it; returns how many records it had.
    async fn poll_shard(
        &self,
        stream_arn: &str,
        shard_id: &str,
        shard: &mut Shard,
    ) -> Result<usize, BoxError> {
        let iterator = match shard.iterator.take() {
            Some(iterator) => iterator,
            None => self.iterator(stream_arn, shard_id, shard.last_sequence.as_deref()).await?,
        };
        let output = self.streams.get_records().shard_iterator(iterator).limit(1000).send().await?;
        let records = output.records.unwrap_or_default();
        if let Some(last) =
            records.last().and_then(|r| r.dynamodb.as_ref()).and_then(|d| d.sequence_number.clone())
        {
            self.deliver(stream_arn, &records).await;
            shard.last_sequence = Some(last);
        }
        shard.closed = output.next_shard_iterator.is_none();
        shard.iterator = output.next_shard_iterator;
        Ok(records.len())
    }

    /// A fresh iterator: after the last record delivered, or from the oldest record kept.
    async fn iterator(
        &self,
        stream_arn: &str,
        shard_id: &str,
        after: Option<&str>,
    ) -> Result<String, BoxError> {
        let kind = if after.is_some() {
            ShardIteratorType::AfterSequenceNumber
        } else {
            ShardIteratorType::TrimHorizon
        };
        let output = self
            .streams
            .get_shard_iterator()
            .stream_arn(stream_arn)
            .shard_id(shard_id)
            .shard_iterator_type(kind)
            .set_sequence_number(after.map(str::to_owned))
            .send()
            .await?;
        output.shard_iterator.ok_or_else(|| "no shard iterator returned".into())
    }

    /// Hand records to the handler until all are applied, resuming from the first failed one.
    async fn deliver(&self, stream_arn: &str, records: &[Record]) {
        let mut pending: Vec<Value> = records.iter().map(|r| lambda_record(stream_arn, r)).collect();
        for attempt in 1.. {
            let event: DynamoDbEvent = match serde_json::from_value(json!({ "Records": pending })) {
                Ok(event) => event,
                Err(error) => {
                    tracing::error!(%error, "records do not fit the Lambda event shape; skipping them");
                    return;
                }
            };
            let response = self.engine.handle(&event).await;
            let Some(failed) = response.batch_item_failures.first().and_then(|f| f.item_identifier.clone())
            else {
                return;
            };
            let from =
                pending.iter().position(|r| r["dynamodb"]["SequenceNumber"] == failed.as_str()).unwrap_or(0);
            pending.drain(..from);
            REDELIVERY.wait(attempt).await;
        }
    }
}

/// One stream record in the shape Lambda delivers it (`aws:dynamodb` event source).
pub fn lambda_record(stream_arn: &str, record: &Record) -> Value {
    let change = record.dynamodb.as_ref();
    let image = |item: Option<
        &std::collections::HashMap<String, aws_sdk_dynamodbstreams::types::AttributeValue>,
    >| {
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

//! `replay`: a table's stream read again from a point in time (or its oldest record), or
//! exactly the range of one Lambda on-failure record, each batch handed to the fan-out
//! handler the Lambda runs, through the poller's delivery (retried from the failed record).
//!
//! Every shard is read, parents before children, to the replay's end: `--to`, which defaults
//! to the moment the replay started, so a replay of a busy stream ends too. Every write of the
//! fan-out is idempotent (timelines keyed by tweet ID, removes of what is absent are no-ops),
//! so replaying twice leaves what replaying once left.

use std::path::Path;
use std::time::Duration;

use aws_sdk_dynamodbstreams::types::Record;
use serde::Deserialize;
use time::OffsetDateTime;
use timeline_store::retry::Backoff;

use super::progress::Progress;
use super::walk::Walked;
use super::{Admin, AdminError, AdminResult};
use crate::poller::checkpoint::Position;
use crate::poller::delivery::{Delivery, deliver};
use crate::poller::records::{ReadError, Shard, list_shards, sequence_of};
use crate::poller::shards::ShardSet;

/// A failing batch is retried for about a minute, then the replay stops and says where.
const PATIENCE: Backoff =
    Backoff { base: Duration::from_millis(100), cap: Duration::from_secs(5), max_attempts: 15 };

/// Empty reads in a row that mean an open shard is read to its tip. DynamoDB Streams may
/// answer an empty page before the records further on, so one is not enough.
const EMPTY_READS_AT_TIP: u32 = 3;

/// The streamed tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Table {
    Tweets,
    Follows,
}

/// What to replay.
pub enum Range {
    /// The records created from `from` (the oldest record when `None`) to `to`. A record's
    /// creation time is rounded down (to the minute in DynamoDB Local), so the window starts
    /// at `from` rounded down to the minute: a few records too many are replayed, harmlessly,
    /// rather than one too few.
    Window { table: Table, from: Option<OffsetDateTime>, to: OffsetDateTime },
    /// One on-failure record's shard and sequence range.
    Failed(FailureRecord),
}

/// The JSON that Lambda sends to a stream mapping's on-failure destination; only its batch
/// is read.
#[derive(Debug, Deserialize)]
pub struct FailureRecord {
    #[serde(rename = "DDBStreamBatchInfo")]
    batch: FailedBatch,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FailedBatch {
    shard_id: String,
    start_sequence_number: String,
    end_sequence_number: String,
    stream_arn: String,
}

impl FailureRecord {
    pub fn read(path: &Path) -> AdminResult<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| AdminError::ReadInput { path: path.to_owned(), source })?;
        serde_json::from_str(&text)
            .map_err(|source| AdminError::FailureRecord { path: path.to_owned(), source })
    }
}

/// Where one shard's replay starts and ends.
struct Bounds {
    start: Position,
    from: Option<i64>,
    to: Option<i64>,
    /// The last sequence number of the range (a failure record's end).
    last: Option<String>,
}

impl Bounds {
    /// The records of `batch` inside the bounds, and whether the batch went past their end.
    fn select(&self, batch: Vec<Record>) -> (Vec<Record>, bool) {
        let mut inside = Vec::with_capacity(batch.len());
        for record in batch {
            let created =
                record.dynamodb.as_ref().and_then(|c| c.approximate_creation_date_time).map(|t| t.secs());
            let past_last = match (&self.last, sequence_of(&record)) {
                (Some(last), Some(sequence)) => sequence_order(sequence, last).is_gt(),
                _ => false,
            };
            if past_last || created.zip(self.to).is_some_and(|(created, to)| created > to) {
                return (inside, true);
            }
            if created.zip(self.from).is_none_or(|(created, from)| created >= from) {
                inside.push(record);
            }
        }
        (inside, false)
    }
}

/// Sequence numbers are decimal strings of up to 40 digits: longer is later.
fn sequence_order(a: &str, b: &str) -> std::cmp::Ordering {
    (a.len(), a).cmp(&(b.len(), b))
}

/// What a replay applied.
#[derive(Debug, Default)]
pub struct Replayed {
    pub shards: usize,
    pub records: u64,
}

impl Admin {
    pub async fn replay(&self, range: Range, progress: &Progress) -> AdminResult<(Replayed, Walked)> {
        match range {
            Range::Failed(FailureRecord { batch }) => {
                let bounds = Bounds {
                    start: Position::At(batch.start_sequence_number),
                    from: None,
                    to: None,
                    last: Some(batch.end_sequence_number),
                };
                let (records, walked) =
                    self.replay_shard(&batch.stream_arn, &batch.shard_id, &bounds, progress).await?;
                Ok((Replayed { shards: 1, records }, walked))
            }
            Range::Window { table, from, to } => {
                let [tweets, follows] = self.dynamo.streamed_tables();
                let name = match table {
                    Table::Tweets => tweets,
                    Table::Follows => follows,
                };
                let stream_arn = self
                    .dynamo
                    .stream_arn(name)
                    .await?
                    .ok_or_else(|| AdminError::NoStream { table: name.to_owned() })?;
                let bounds = Bounds {
                    start: Position::TrimHorizon,
                    from: from.map(|from| from.unix_timestamp().div_euclid(60) * 60),
                    to: Some(to.unix_timestamp()),
                    last: None,
                };
                self.replay_stream(&stream_arn, &bounds, progress).await
            }
        }
    }

    /// Every shard of the stream, a generation at a time: children once their parents are done.
    async fn replay_stream(
        &self,
        stream_arn: &str,
        bounds: &Bounds,
        progress: &Progress,
    ) -> AdminResult<(Replayed, Walked)> {
        let mut shards = ShardSet::default();
        for (shard_id, parent) in
            list_shards(&self.streams, stream_arn).await.map_err(|e| Box::new(ReadError::Streams(e)))?
        {
            shards.add(shard_id, parent);
        }
        let mut replayed = Replayed::default();
        loop {
            let ready = shards.start_ready();
            if ready.is_empty() {
                return Ok((replayed, Walked::Complete));
            }
            let reads =
                ready.iter().map(|shard_id| self.replay_shard(stream_arn, shard_id, bounds, progress));
            for (shard_id, (records, walked)) in ready.iter().zip(futures::future::try_join_all(reads).await?)
            {
                replayed.shards += 1;
                replayed.records += records;
                if walked == Walked::Interrupted {
                    return Ok((replayed, Walked::Interrupted));
                }
                shards.finish(shard_id);
            }
        }
    }

    /// One shard within `bounds`: the records applied, and whether Ctrl-C cut it short.
    async fn replay_shard(
        &self,
        stream_arn: &str,
        shard_id: &str,
        bounds: &Bounds,
        progress: &Progress,
    ) -> AdminResult<(u64, Walked)> {
        let shard = Shard { streams: &self.streams, stream_arn, shard_id };
        let (mut iterator, mut empty_reads, mut applied) = (None, 0, 0);
        while !self.stop.is_cancelled() {
            let batch = match shard.read(iterator.take(), &bounds.start).await {
                Ok(batch) => batch,
                // DynamoDB Local's answer for a shard with no records yet.
                Err(ReadError::PositionGone(_)) if bounds.start == Position::TrimHorizon => {
                    return Ok((applied, Walked::Complete));
                }
                Err(ReadError::PositionGone(_)) => {
                    let Position::At(sequence) = &bounds.start else {
                        unreachable!("replays start at a record or the oldest")
                    };
                    return Err(AdminError::RangeGone {
                        shard_id: shard_id.to_owned(),
                        sequence: sequence.clone(),
                    });
                }
                Err(error) => return Err(Box::new(error).into()),
            };
            empty_reads = if batch.records.is_empty() { empty_reads + 1 } else { 0 };
            let (records, past_end) = bounds.select(batch.records);
            match deliver(&self.engine, stream_arn, &records, &PATIENCE, &self.stop).await {
                Delivery::Applied => {}
                Delivery::Interrupted => return Ok((applied, Walked::Interrupted)),
                Delivery::GaveUp { from_sequence } => {
                    return Err(AdminError::StillFailing { shard_id: shard_id.to_owned(), from_sequence });
                }
            }
            applied += records.len() as u64;
            progress.advance(records.len() as u64, &format!("applied in {shard_id}"));
            match batch.next_iterator {
                Some(next) if !past_end && empty_reads < EMPTY_READS_AT_TIP => iterator = Some(next),
                _ => return Ok((applied, Walked::Complete)),
            }
        }
        Ok((applied, Walked::Interrupted))
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodbstreams::primitives::DateTime;
    use aws_sdk_dynamodbstreams::types::StreamRecord;

    use super::*;

    fn record(sequence: &str, created_secs: i64) -> Record {
        let change = StreamRecord::builder()
            .sequence_number(sequence)
            .approximate_creation_date_time(DateTime::from_secs(created_secs))
            .build();
        Record::builder().dynamodb(change).build()
    }

    fn sequences(records: &[Record]) -> Vec<&str> {
        records.iter().filter_map(sequence_of).collect()
    }

    #[test]
    fn a_window_keeps_the_records_created_within_it_to_the_second() {
        let bounds = Bounds { start: Position::TrimHorizon, from: Some(100), to: Some(102), last: None };
        // (The minute rounding of `from` is the caller's: these bounds are to the second.)
        let batch =
            vec![record("1", 99), record("2", 100), record("3", 102), record("4", 103), record("5", 101)];
        let (inside, past_end) = bounds.select(batch);
        assert_eq!(sequences(&inside), ["2", "3"]);
        assert!(past_end, "a record after `to` ends the shard's replay");
    }

    #[test]
    fn a_failure_record_range_ends_after_its_last_sequence_number() {
        let bounds =
            Bounds { start: Position::At("98".into()), from: None, to: None, last: Some("100".into()) };
        let (inside, past_end) = bounds.select(vec![record("98", 0), record("99", 0), record("100", 0)]);
        assert_eq!((sequences(&inside), past_end), (vec!["98", "99", "100"], false));
        let (inside, past_end) = bounds.select(vec![record("101", 0)]);
        assert!(inside.is_empty() && past_end, "101 is after 100 although it sorts before it as text");
    }

    #[test]
    fn an_on_failure_record_as_lambda_sends_it_parses() {
        let sent = r#"{
            "requestContext": {"requestId": "316aa6d0", "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:fanout",
                "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 1},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0", "timestamp": "2026-12-01T10:00:00.000Z",
            "DDBStreamBatchInfo": {"shardId": "shardId-00000001573689847184-864758bb",
                "startSequenceNumber": "800000000003126276362", "endSequenceNumber": "800000000003126276362",
                "approximateArrivalOfFirstRecord": "2026-12-01T09:59:59Z", "approximateArrivalOfLastRecord": "2026-12-01T09:59:59Z",
                "batchSize": 1, "streamArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/prod-tweets/stream/2026-11-01T00:00:00.000"}
        }"#;
        let FailureRecord { batch } = serde_json::from_str(sent).unwrap();
        assert_eq!(batch.shard_id, "shardId-00000001573689847184-864758bb");
        assert_eq!(
            (batch.start_sequence_number.as_str(), batch.end_sequence_number.as_str()),
            ("800000000003126276362", "800000000003126276362")
        );
        assert!(batch.stream_arn.ends_with("/stream/2026-11-01T00:00:00.000"));
    }
}

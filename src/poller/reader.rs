//! Reading one shard, one batch at a time, as the event source mapping does: each batch is
//! applied, then checkpointed, before the next is read; the next read follows at once while
//! records keep coming, after a short pause when the shard is idle.

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::Client as StreamsClient;
use aws_sdk_dynamodbstreams::types::Record;
use timeline_fanout::Engine;
use tokio_util::sync::CancellationToken;

use super::checkpoint::{Position, StreamCheckpoint};
use super::delivery::{Delivery, REDELIVERY, deliver};
use super::records::{ReadError, Shard, sequence_of};
use crate::error_chain;

/// Pause between reads of an idle shard: short, for sub-second fan-out locally.
const IDLE_POLL: Duration = Duration::from_millis(50);

/// Why a shard's reader returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardEnd {
    /// The shard is closed and every record of it is applied: its children may start.
    Closed,
    /// The poller is stopping; the shard's checkpoint is up to date.
    Stopped,
}

/// Where a reader stands in its shard.
struct Cursor {
    /// Where a fresh iterator starts: after the last record applied.
    position: Position,
    /// The iterator of the next read, while it is valid.
    iterator: Option<String>,
    /// Failed reads in a row, for the backoff.
    failures: u32,
}

/// What the readers of one stream's shards share.
pub struct ShardReader {
    pub streams: StreamsClient,
    pub engine: Engine,
    pub stream_arn: String,
    pub checkpoint: StreamCheckpoint,
}

impl ShardReader {
    /// Read `shard_id` until it is closed and applied, or `stop` is cancelled (between batches).
    pub async fn read(self: Arc<Self>, shard_id: String, stop: CancellationToken) -> (String, ShardEnd) {
        let end = self.read_until_closed(&shard_id, &stop).await;
        (shard_id, end)
    }

    async fn read_until_closed(&self, shard_id: &str, stop: &CancellationToken) -> ShardEnd {
        let position = self.checkpoint.position(shard_id);
        tracing::info!(stream_arn = %self.stream_arn, shard_id, ?position, "reading shard");
        let mut cursor = Cursor { position, iterator: None, failures: 0 };
        while !stop.is_cancelled() {
            let shard = Shard { streams: &self.streams, stream_arn: &self.stream_arn, shard_id };
            let pause = match shard.read(cursor.iterator.take(), &cursor.position).await {
                Err(error) => self.recover(shard_id, error, &mut cursor),
                // A batch read after the stop is left for the next start.
                Ok(_) if stop.is_cancelled() => break,
                Ok(batch) => {
                    cursor.failures = 0;
                    // REDELIVERY never gives up: only a stop ends a delivery unapplied.
                    if self.apply(shard_id, &batch.records, &mut cursor, stop).await != Delivery::Applied {
                        break;
                    }
                    let Some(next) = batch.next_iterator else { return ShardEnd::Closed };
                    cursor.iterator = Some(next);
                    if batch.records.is_empty() { IDLE_POLL } else { Duration::ZERO }
                }
            };
            if !pause.is_zero() && stop.run_until_cancelled(tokio::time::sleep(pause)).await.is_none() {
                break;
            }
        }
        ShardEnd::Stopped
    }

    /// Deliver a batch and checkpoint it once applied.
    async fn apply(
        &self,
        shard_id: &str,
        records: &[Record],
        cursor: &mut Cursor,
        stop: &CancellationToken,
    ) -> Delivery {
        let Some(last) = last_sequence(records) else { return Delivery::Applied };
        let delivery = deliver(&self.engine, &self.stream_arn, records, &REDELIVERY, stop).await;
        if delivery == Delivery::Applied {
            if let Err(error) = self.checkpoint.advance(shard_id, &last) {
                tracing::warn!(shard_id, error = %error_chain(&error), "checkpoint not saved; a restart replays from the last one");
            }
            cursor.position = Position::After(last);
        }
        delivery
    }

    /// Where to read from after `error` (a fresh iterator, at `cursor.position`) and how long
    /// to wait first.
    fn recover(&self, shard_id: &str, error: ReadError, cursor: &mut Cursor) -> Duration {
        match error {
            ReadError::PositionGone(error) if cursor.position == Position::TrimHorizon => {
                // DynamoDB Local says so of a shard with no records yet; in AWS the oldest
                // record was trimmed between iterator and read. A new iterator serves both.
                tracing::debug!(shard_id, error = %error_chain(&error), "oldest record moved; renewing the iterator");
                IDLE_POLL
            }
            ReadError::PositionGone(error) => {
                tracing::warn!(shard_id, position = ?cursor.position, error = %error_chain(&error), "checkpointed position gone from the stream; reading from its oldest record");
                cursor.position = Position::TrimHorizon;
                Duration::ZERO
            }
            error => {
                cursor.failures += 1;
                tracing::warn!(shard_id, error = %error_chain(&error), "reading the shard failed; renewing the iterator");
                REDELIVERY.delay(cursor.failures)
            }
        }
    }
}

fn last_sequence(records: &[Record]) -> Option<String> {
    records.last().and_then(sequence_of).map(str::to_owned)
}

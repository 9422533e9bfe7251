//! The local stand-in for Lambda's event source mapping: it follows DynamoDB Local's streams of
//! the tweets and follows tables and hands each batch of records, in the Lambda event shape, to
//! the same handler the fan-out Lambda runs.
//!
//! As the mapping does, it reads every shard of a stream concurrently, one batch at a time per
//! shard, parents before children; a batch item failure is retried from the failed record after
//! a backoff. Its place in each shard is checkpointed after every applied batch (`checkpoint`), so
//! a restart resumes where it stopped: a checkpointed shard after its last applied record, any
//! other shard (a new or recreated table's stream, a child shard) from its oldest record, and a
//! checkpoint the stream no longer has, with a warning, from the oldest record too. Stopping it
//! lets the batch being applied finish and be checkpointed; no batch is cut short.
//!
//! - this file: the [`Poller`], and each stream's shards found and started as they become ready.
//! - `reader`: one shard read, applied and checkpointed batch after batch.
//! - [`delivery`]: a batch through the handler, with redelivery from the failed record.
//! - [`checkpoint`]: the checkpoint files.
//! - [`records`]: the stream reads themselves (shards listed, iterators, GetRecords).
//! - [`shards`]: which shards may be read (parents before children).
//!
//! `timeline-admin replay` reads streams with the same [`records`], [`shards`] and [`delivery`].

pub mod checkpoint;
pub mod delivery;
mod reader;
pub mod records;
pub mod shards;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_dynamodbstreams::Client as StreamsClient;
use timeline_fanout::Engine;
use timeline_store::{Dynamo, StoreSettings};
use tokio::task::{JoinError, JoinSet};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use self::checkpoint::{CheckpointError, CheckpointFile, Checkpoints, StreamCheckpoint};
use self::reader::{ShardEnd, ShardReader};
use self::shards::ShardSet;

pub use self::delivery::lambda_record;

/// How often to look for new shards (a closed shard's children are looked for at once).
const SHARD_REFRESH: Duration = Duration::from_secs(2);
/// Pause between looks for a table's stream while it is not there yet.
const STREAM_WAIT: Duration = Duration::from_secs(1);

/// A streamed table and its checkpoint file, as read at start-up.
struct Table {
    name: String,
    file: CheckpointFile,
    saved: Checkpoints,
}

impl Table {
    fn open(checkpoint_dir: &Path, name: &str) -> Result<Self, CheckpointError> {
        let file = CheckpointFile::open(checkpoint_dir, name)?;
        let saved = file.load()?.unwrap_or_default();
        Ok(Self { name: name.to_owned(), file, saved })
    }
}

/// Follows the streams of the tweets and follows tables.
pub struct Poller {
    streams: StreamsClient,
    /// Where the streams are: the tables' descriptions name them.
    dynamo: Dynamo,
    engine: Engine,
    tables: [Table; 2],
}

impl Poller {
    /// Fails when a checkpoint file in `checkpoint_dir` cannot be read or is not valid.
    pub async fn new(
        settings: &StoreSettings,
        checkpoint_dir: &Path,
        dynamo: Dynamo,
        engine: Engine,
    ) -> Result<Self, CheckpointError> {
        let [tweets, follows] = dynamo.streamed_tables();
        let tables = [Table::open(checkpoint_dir, tweets)?, Table::open(checkpoint_dir, follows)?];
        let sdk = timeline_store::dynamo::sdk_config(settings).await;
        Ok(Self { streams: StreamsClient::new(&sdk), dynamo, engine, tables })
    }

    /// Follow both streams until `stop` is cancelled; returns once every shard's reader has
    /// finished the batch it was applying and saved its checkpoint.
    pub async fn run(self, stop: CancellationToken) {
        let [tweets, follows] = &self.tables;
        tokio::join!(self.follow(tweets, &stop), self.follow(follows, &stop));
    }

    async fn follow(&self, table: &Table, stop: &CancellationToken) {
        let Some(stream_arn) = self.wait_for_stream(&table.name, stop).await else { return };
        tracing::info!(table = table.name, %stream_arn, "following stream");
        let checkpoint = StreamCheckpoint::new(table.file.clone(), table.saved.clone(), &stream_arn);
        let reader = Arc::new(ShardReader {
            streams: self.streams.clone(),
            engine: self.engine.clone(),
            stream_arn,
            checkpoint,
        });
        let mut shards = ShardSet::default();
        let mut readers = JoinSet::new();
        let mut refresh = tokio::time::interval(SHARD_REFRESH);
        refresh.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stop.cancelled() => break,
                _ = refresh.tick() => {}
                Some(ended) = readers.join_next() => {
                    if let (shard_id, ShardEnd::Closed) = reader_outcome(ended) {
                        tracing::info!(table = table.name, shard_id, "shard closed and applied; its children may start");
                        shards.finish(&shard_id);
                    }
                }
            }
            if let Err(error) = self.list_shards(&reader.stream_arn, &mut shards).await {
                tracing::warn!(table = table.name, %error, "could not list shards");
            }
            for shard_id in shards.start_ready() {
                readers.spawn(Arc::clone(&reader).read(shard_id, stop.clone()));
            }
        }
        // Each reader stops between batches, its checkpoint saved.
        while let Some(ended) = readers.join_next().await {
            reader_outcome(ended);
        }
    }

    /// The table's stream ARN, once it has one; `None` if stopped first.
    async fn wait_for_stream(&self, table: &str, stop: &CancellationToken) -> Option<String> {
        loop {
            match self.dynamo.stream_arn(table).await {
                Ok(Some(arn)) => return Some(arn),
                Ok(None) => tracing::warn!(table, "the table has no stream yet"),
                Err(error) => tracing::warn!(table, %error, "stream not available yet"),
            }
            stop.run_until_cancelled(tokio::time::sleep(STREAM_WAIT)).await?;
        }
    }

    /// Add the stream's shards to `shards`; none on an error, so a parent is never missed
    /// from a listing cut short.
    async fn list_shards(
        &self,
        stream_arn: &str,
        shards: &mut ShardSet,
    ) -> Result<(), aws_sdk_dynamodbstreams::Error> {
        for (shard_id, parent) in records::list_shards(&self.streams, stream_arn).await? {
            shards.add(shard_id, parent);
        }
        Ok(())
    }
}

/// A reader's outcome. Readers are never aborted, so a join error is a panic: a bug, which
/// takes the poller down with it rather than skip the shard.
fn reader_outcome(ended: Result<(String, ShardEnd), JoinError>) -> (String, ShardEnd) {
    ended.unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
}

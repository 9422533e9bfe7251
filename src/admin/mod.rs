//! The commands of `timeline-admin`, over the same adapters, model code and fan-out handler as
//! the Lambdas.
//!
//! - this file: [`Admin`] (the stores and the handler, built once), [`AdminError`] and the
//!   exit codes.
//! - [`walk`]: the users a run visits (named, a sample, or every user by segments), resumable
//!   from a [`walk::WalkCheckpoint`].
//! - [`timelines`]: `verify` and `rebuild`, each user's timelines against the truth.
//! - [`replay`]: a table's stream, or one failure record's range, through the fan-out handler.
//! - [`warm`]: cached timelines refilled from the durable ones.
//! - [`restore`]: a backup's tables, restored beside this deployment's, copied into them.
//! - [`progress`]: a bar on a terminal, plain lines elsewhere, and the pacing of `--rate`.

pub mod progress;
pub mod replay;
pub mod restore;
pub mod timelines;
pub mod walk;
pub mod warm;

use std::path::PathBuf;

use aws_sdk_dynamodbstreams::Client as StreamsClient;
use timeline_fanout::Engine;
use timeline_model::ports::StoreError;
use timeline_store::{Dynamo, RedisCache, StoreSettings};
use tokio_util::sync::CancellationToken;

use crate::poller::checkpoint::CheckpointError;
use crate::poller::records::ReadError;

/// Drift found and not repaired.
pub const DRIFT: u8 = 1;
/// Bad arguments or input files.
pub const USAGE: u8 = 2;
/// A backend unavailable, or the data asked for no longer there.
pub const UNAVAILABLE: u8 = 3;
/// Stopped by Ctrl-C (128 + SIGINT, as shells report it).
pub const INTERRUPTED: u8 = 130;

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Boxed: an SDK error is large, and every result of the tools carries this type.
    #[error("the stream cannot be read")]
    Streams(#[from] Box<ReadError>),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(
        "the checkpoint {} is of a walk in {saved} segments, not {asked}: pass --segments {saved}, or delete it to start over",
        path.display()
    )]
    CheckpointSegments { path: PathBuf, saved: u32, asked: u32 },
    #[error("cannot read {}", path.display())]
    ReadInput { path: PathBuf, source: std::io::Error },
    #[error(
        "{} is not a Lambda on-failure record of a DynamoDB stream (DDBStreamBatchInfo with shardId, startSequenceNumber, endSequenceNumber, streamArn)",
        path.display()
    )]
    FailureRecord { path: PathBuf, source: serde_json::Error },
    #[error("{}, line {line}: {source}", path.display())]
    UsersFile { path: PathBuf, line: usize, source: timeline_model::ValidationError },
    #[error(
        "the table {table} does not exist: restore or import the backup into it first (docs/deploy.md, \"Backups and restore\")"
    )]
    NoRestoredTable { table: String },
    #[error("the table {table} has no stream")]
    NoStream { table: String },
    #[error(
        "shard {shard_id} no longer holds sequence number {sequence} (a stream keeps 24 hours): rebuild the timelines instead (timeline-admin rebuild --all)"
    )]
    RangeGone { shard_id: String, sequence: String },
    #[error(
        "shard {shard_id}: the records from sequence number {from_sequence} on still fail after retries; run the replay again once the backends are healthy"
    )]
    StillFailing { shard_id: String, from_sequence: String },
}

impl AdminError {
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Store(_)
            | Self::Streams(_)
            | Self::NoStream { .. }
            | Self::RangeGone { .. }
            | Self::StillFailing { .. } => UNAVAILABLE,
            Self::Checkpoint(_)
            | Self::CheckpointSegments { .. }
            | Self::ReadInput { .. }
            | Self::FailureRecord { .. }
            | Self::UsersFile { .. }
            | Self::NoRestoredTable { .. } => USAGE,
        }
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// The service's own adapters and fan-out handler, built once per run.
pub struct Admin {
    pub dynamo: Dynamo,
    pub cache: RedisCache,
    pub engine: Engine,
    pub streams: StreamsClient,
    /// Cancelled by Ctrl-C: every command stops after the user or batch in hand.
    pub stop: CancellationToken,
}

impl Admin {
    pub async fn connect(settings: &StoreSettings, stop: CancellationToken) -> AdminResult<Self> {
        let dynamo = Dynamo::connect(settings).await;
        let cache = RedisCache::connect(settings).await?;
        let engine = Engine::new(dynamo.clone(), cache.clone(), settings.fanout_threshold);
        let streams = StreamsClient::new(&timeline_store::dynamo::sdk_config(settings).await);
        Ok(Self { dynamo, cache, engine, streams, stop })
    }
}

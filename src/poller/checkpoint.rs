//! Where the poller stands in each shard, kept across restarts: one small JSON file per streamed
//! table (`<dir>/<table>.json`), holding, per stream ARN and shard ID, the sequence number of the
//! last record of the last batch fully applied:
//!
//! ```json
//! { "streams": { "arn:aws:dynamodb:...:table/dev-tweets/stream/2026-...": {
//!     "shardId-00000001796167768021-c22a5e00": "000000000000000000042" } } }
//! ```
//!
//! A missing file is an empty checkpoint (every stream is new). A file that does not parse stops
//! the start-up with an error naming it (deleting it starts over): silently replaying 24 hours of stream would be the very
//! slowness the file exists to avoid, and deleting the file is how to ask for that replay. Writes
//! go to a temporary file renamed over the old one, so a crash leaves the old or the new file,
//! never half of one. Replaying a batch is harmless (the fan-out is idempotent), so the file is
//! not synced to disk after each batch: a power cut loses at most a re-application.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A checkpoint file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot create the checkpoint directory {}", path.display())]
    CreateDir { path: PathBuf, source: io::Error },
    #[error("cannot read the checkpoint file {}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("the checkpoint file {} is not valid; delete it to start over", path.display())]
    Corrupt { path: PathBuf, source: serde_json::Error },
    #[error("cannot write the checkpoint file {}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// A file's contents: per stream ARN, per shard ID, the last sequence number applied.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoints {
    pub streams: BTreeMap<String, BTreeMap<String, String>>,
}

/// Where reading a shard starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Position {
    /// Just after the last record applied.
    After(String),
    /// At a given record (a replayed range's first).
    At(String),
    /// The oldest record the stream keeps.
    TrimHorizon,
}

impl Checkpoints {
    /// A checkpointed shard resumes after its last applied record. Every other shard starts
    /// from its oldest record, since nothing of it was applied: a stream never seen (a new or
    /// recreated table), a child of a checkpointed shard, a shard that had no records yet.
    pub fn position(&self, stream_arn: &str, shard_id: &str) -> Position {
        match self.streams.get(stream_arn).and_then(|shards| shards.get(shard_id)) {
            Some(sequence) => Position::After(sequence.clone()),
            None => Position::TrimHorizon,
        }
    }

    pub fn advance(&mut self, stream_arn: &str, shard_id: &str, sequence: &str) {
        let shards = self.streams.entry(stream_arn.to_owned()).or_default();
        shards.insert(shard_id.to_owned(), sequence.to_owned());
    }

    /// Forget every stream but `stream_arn`: a table has one stream, and the others belonged
    /// to the tables it replaced.
    pub fn keep_only(&mut self, stream_arn: &str) {
        self.streams.retain(|arn, _| arn == stream_arn);
    }
}

/// The checkpoint file of one table.
#[derive(Debug, Clone)]
pub struct CheckpointFile {
    path: PathBuf,
}

impl CheckpointFile {
    /// The file of `table` in `dir`, creating `dir` so that a path that cannot hold it fails at
    /// start-up rather than after the first batch.
    pub fn open(dir: &Path, table: &str) -> Result<Self, CheckpointError> {
        Self::at(dir.join(format!("{table}.json")))
    }

    /// The file at `path` (any checkpoint kept as JSON), creating its directory.
    pub fn at(path: PathBuf) -> Result<Self, CheckpointError> {
        let dir = path.parent().filter(|dir| !dir.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)
            .map_err(|source| CheckpointError::CreateDir { path: dir.to_owned(), source })?;
        Ok(Self { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved checkpoint; `None` when the file does not exist.
    pub fn load<T: DeserializeOwned>(&self) -> Result<Option<T>, CheckpointError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(CheckpointError::Read { path: self.path.clone(), source }),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| CheckpointError::Corrupt { path: self.path.clone(), source })
    }

    /// Replace the file with `checkpoint`, atomically (temporary file, then rename).
    pub fn save<T: Serialize>(&self, checkpoint: &T) -> Result<(), CheckpointError> {
        let write_error = |source| CheckpointError::Write { path: self.path.clone(), source };
        let mut text = serde_json::to_string_pretty(checkpoint).expect("checkpoints are maps and strings");
        text.push('\n');
        let temporary = self.path.with_extension("json.tmp");
        std::fs::write(&temporary, text).map_err(write_error)?;
        std::fs::rename(&temporary, &self.path).map_err(write_error)
    }
}

/// The checkpoint of one stream, shared by the readers of its shards.
#[derive(Debug)]
pub struct StreamCheckpoint {
    file: CheckpointFile,
    stream_arn: String,
    checkpoints: Mutex<Checkpoints>,
}

impl StreamCheckpoint {
    pub fn new(file: CheckpointFile, mut saved: Checkpoints, stream_arn: &str) -> Self {
        saved.keep_only(stream_arn);
        Self { file, stream_arn: stream_arn.to_owned(), checkpoints: Mutex::new(saved) }
    }

    pub fn position(&self, shard_id: &str) -> Position {
        self.lock().position(&self.stream_arn, shard_id)
    }

    /// Record that `shard_id` is applied up to `sequence`, and save the file. The write is
    /// synchronous: the file is a few hundred bytes, written once per batch.
    pub fn advance(&self, shard_id: &str, sequence: &str) -> Result<(), CheckpointError> {
        let mut checkpoints = self.lock();
        checkpoints.advance(&self.stream_arn, shard_id, sequence);
        self.file.save(&*checkpoints)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Checkpoints> {
        // The map stays whole if a holder panicked: every update is one insert.
        self.checkpoints.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str =
        "arn:aws:dynamodb:ddblocal:000000000000:table/t-tweets/stream/2026-12-01T00:00:00.000";
    const SHARD: &str = "shardId-00000001796167768021-c22a5e00";

    /// A directory of its own under the system's temporary one.
    fn temp_dir() -> PathBuf {
        std::env::temp_dir().join(format!("timeline-checkpoint-test-{}", ulid::Ulid::generate()))
    }

    #[test]
    fn what_is_saved_loads_back() {
        let dir = temp_dir();
        let file = CheckpointFile::open(&dir, "t-tweets").unwrap();
        let mut checkpoints = Checkpoints::default();
        checkpoints.advance(STREAM, SHARD, "000000000000000000007");
        checkpoints.advance(STREAM, "shardId-2", "000000000000000000009");
        file.save(&checkpoints).unwrap();
        assert_eq!(file.load::<Checkpoints>().unwrap(), Some(checkpoints));
        assert_eq!(file.path(), dir.join("t-tweets.json"));
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["t-tweets.json"], "no temporary file is left behind");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn the_file_is_json_keyed_by_stream_and_shard() {
        let dir = temp_dir();
        let file = CheckpointFile::open(&dir, "t-tweets").unwrap();
        let mut checkpoints = Checkpoints::default();
        checkpoints.advance(STREAM, SHARD, "000000000000000000007");
        file.save(&checkpoints).unwrap();
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(file.path()).unwrap()).unwrap();
        assert_eq!(json, serde_json::json!({ "streams": { STREAM: { SHARD: "000000000000000000007" } } }));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_file_is_an_empty_checkpoint() {
        let dir = temp_dir();
        let file = CheckpointFile::open(&dir.join("nested"), "t-tweets").unwrap();
        assert_eq!(file.load::<Checkpoints>().unwrap(), None);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_corrupt_file_is_an_error_that_names_it_and_the_way_out() {
        let dir = temp_dir();
        let file = CheckpointFile::open(&dir, "t-tweets").unwrap();
        std::fs::write(file.path(), "{\"streams\": {").unwrap();
        let error = file.load::<Checkpoints>().unwrap_err();
        assert!(matches!(error, CheckpointError::Corrupt { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            format!("the checkpoint file {} is not valid; delete it to start over", file.path().display())
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_directory_that_cannot_be_created_fails_at_once() {
        let dir = temp_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let not_a_dir = dir.join("file");
        std::fs::write(&not_a_dir, "").unwrap();
        let error = CheckpointFile::open(&not_a_dir, "t-tweets").unwrap_err();
        assert!(matches!(error, CheckpointError::CreateDir { .. }), "{error:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn checkpointed_shards_resume_and_every_other_shard_starts_from_its_oldest_record() {
        let mut checkpoints = Checkpoints::default();
        checkpoints.advance(STREAM, SHARD, "000000000000000000007");
        assert_eq!(checkpoints.position(STREAM, SHARD), Position::After("000000000000000000007".into()));
        assert_eq!(checkpoints.position(STREAM, "shardId-child"), Position::TrimHorizon);
        let recreated = STREAM.replace("2026-12-01T00:00:00.000", "2026-12-02T00:00:00.000");
        assert_eq!(checkpoints.position(&recreated, SHARD), Position::TrimHorizon);
    }

    #[test]
    fn a_stream_checkpoint_forgets_the_streams_of_replaced_tables() {
        let dir = temp_dir();
        let file = CheckpointFile::open(&dir, "t-tweets").unwrap();
        let mut saved = Checkpoints::default();
        saved.advance("arn-of-the-old-table", SHARD, "000000000000000000003");
        let checkpoint = StreamCheckpoint::new(file.clone(), saved, STREAM);
        assert_eq!(checkpoint.position(SHARD), Position::TrimHorizon);
        checkpoint.advance(SHARD, "000000000000000000001").unwrap();
        let mut expected = Checkpoints::default();
        expected.advance(STREAM, SHARD, "000000000000000000001");
        assert_eq!(file.load::<Checkpoints>().unwrap(), Some(expected));
        std::fs::remove_dir_all(dir).unwrap();
    }
}

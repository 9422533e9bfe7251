//! How far a seeding run got, in a small JSON file beside the seed file, so that a run stopped
//! half-way (Ctrl-C, DynamoDB Local restarted) resumes where it was instead of starting over.
//! Every write is an idempotent put, so a chunk written twice does no harm; the checkpoint only
//! saves the time of writing it again.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The progress of one seed: items written per stage, in the order they are generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// What was being seeded (spec and tables); a different one starts over.
    pub fingerprint: String,
    /// The run's clock, kept so that a resumed run writes the same items: profiles'
    /// `created_at` and the history tweets' IDs derive from it.
    pub started_ms: u64,
    pub profiles: usize,
    pub follows: usize,
    pub history_authors: usize,
    pub streams_on: bool,
}

impl Checkpoint {
    pub fn fresh(fingerprint: String, started_ms: u64) -> Self {
        Self { fingerprint, started_ms, profiles: 0, follows: 0, history_authors: 0, streams_on: false }
    }

    /// The checkpoint for `fingerprint` at `path`, or `None` when there is none (or it belongs to
    /// another seed, or cannot be read: starting over is always safe).
    pub fn load(path: &Path, fingerprint: &str) -> Option<Self> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str::<Self>(&text).ok().filter(|saved| saved.fingerprint == fingerprint)
    }

    /// Write it atomically (a temporary file renamed over the old one), so that a run killed
    /// mid-write leaves the previous checkpoint, not half of one.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        let partial = PathBuf::from(format!("{}.partial", path.display()));
        std::fs::write(&partial, serde_json::to_vec_pretty(self).map_err(io::Error::other)?)?;
        std::fs::rename(&partial, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_checkpoint_loads_only_for_its_own_seed() {
        let dir = std::env::temp_dir().join(format!("seed-checkpoint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seed.json.checkpoint");
        let mut checkpoint = Checkpoint::fresh("users=10".into(), 42);
        checkpoint.follows = 5_000;
        checkpoint.save(&path).unwrap();

        assert_eq!(Checkpoint::load(&path, "users=10"), Some(checkpoint));
        assert_eq!(Checkpoint::load(&path, "users=11"), None);
        std::fs::write(&path, "{ not json").unwrap();
        assert_eq!(Checkpoint::load(&path, "users=10"), None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}

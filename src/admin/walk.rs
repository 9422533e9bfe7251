//! The users a run visits, and visiting them [`USERS_IN_FLIGHT`] at a time.
//!
//! Every user is a Scan of the users table in `--segments` parallel segments (an offline tool,
//! never the read path). A walk with a checkpoint file saves, after each page of a segment, the
//! key the next page starts after, so a walk stopped by Ctrl-C or killed resumes from the pages
//! it had not finished. Users of an unfinished page are visited again: every command here is
//! idempotent (a rebuild writes the same truth twice), so that costs time, never correctness.
//!
//! ```json
//! { "segments": [ { "after": "u-0042" }, "done", "start" ] }
//! ```

use std::future::ready;
use std::path::PathBuf;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures::{StreamExt, stream};
use rand::seq::IndexedRandom;
use serde::{Deserialize, Serialize};
use timeline_model::{Timestamp, UserId};
use timeline_store::dynamo::Segment;
use timeline_store::retry::Backoff;

use super::{Admin, AdminError, AdminResult};
use crate::poller::checkpoint::CheckpointFile;

/// Users visited at once in each segment (each visit is a dozen queries, most of them small).
const USERS_IN_FLIGHT: usize = 16;

/// A user whose visit hit a transient error (a time-out, a throttle, the cache's breaker open
/// for its 2 s) is visited again, for about 10 s in all, before the run stops: one slow call
/// must not end a walk of hours. Every visit is idempotent, so a retry is safe.
const VISIT_RETRIES: Backoff =
    Backoff { base: Duration::from_millis(200), cap: Duration::from_secs(3), max_attempts: 6 };

/// Which users a run visits.
pub enum Selection {
    Named(Vec<UserId>),
    /// This many users picked at random among every user.
    Sample(usize),
    /// Every user, or every user seen since `seen_since`.
    Every {
        segments: u32,
        checkpoint: Option<PathBuf>,
        seen_since: Option<Timestamp>,
    },
}

/// How a walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walked {
    Complete,
    /// Stopped by Ctrl-C after the users in hand; the checkpoint, if any, is saved.
    Interrupted,
}

/// Where one segment's walk stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum SegmentPosition {
    Start,
    After(UserId),
    Done,
}

#[derive(Debug, Serialize, Deserialize)]
struct WalkState {
    segments: Vec<SegmentPosition>,
}

/// The saved positions of a walk over every user, in a file when one was named.
pub struct WalkCheckpoint {
    file: Option<CheckpointFile>,
    state: Mutex<WalkState>,
}

impl WalkCheckpoint {
    /// Resume from `path` when it holds a walk in `segments` segments, or start one; a walk in
    /// another number of segments cannot be resumed (its keys belong to other segments).
    fn open(path: Option<PathBuf>, segments: u32) -> AdminResult<Self> {
        let fresh = || WalkState { segments: vec![SegmentPosition::Start; segments as usize] };
        let Some(path) = path else { return Ok(Self { file: None, state: Mutex::new(fresh()) }) };
        let file = CheckpointFile::at(path.clone())?;
        let state = match file.load::<WalkState>()? {
            Some(saved) if saved.segments.len() != segments as usize => {
                let saved = saved.segments.len() as u32;
                return Err(AdminError::CheckpointSegments { path, saved, asked: segments });
            }
            Some(saved) => {
                tracing::info!(path = %path.display(), "resuming from the checkpoint");
                saved
            }
            None => fresh(),
        };
        Ok(Self { file: Some(file), state: Mutex::new(state) })
    }

    fn position(&self, segment: Segment) -> SegmentPosition {
        self.lock().segments[segment.index as usize].clone()
    }

    /// The segment's pages up to `resume_after` are visited (all of them when `None`).
    fn advance(&self, segment: Segment, resume_after: Option<UserId>) -> AdminResult<()> {
        let mut state = self.lock();
        state.segments[segment.index as usize] =
            resume_after.map_or(SegmentPosition::Done, SegmentPosition::After);
        match &self.file {
            Some(file) => Ok(file.save(&*state)?),
            None => Ok(()),
        }
    }

    /// The walk is complete: the file goes, so the next run starts afresh.
    fn remove(&self) {
        if let Some(file) = &self.file
            && let Err(error) = std::fs::remove_file(file.path())
        {
            tracing::warn!(path = %file.path().display(), %error, "could not remove the finished checkpoint");
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, WalkState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Admin {
    /// Visit each selected user with `visit`, stopping early (between users) on Ctrl-C.
    pub async fn walk(
        &self,
        selection: Selection,
        visit: impl AsyncFn(UserId) -> AdminResult<()>,
    ) -> AdminResult<Walked> {
        match selection {
            Selection::Named(users) => self.visit_all(users, &visit).await,
            Selection::Sample(n) => {
                let every = self.every_user().await?;
                let sample = every.choose_multiple(&mut rand::rng(), n).cloned().collect();
                self.visit_all(sample, &visit).await
            }
            Selection::Every { segments, checkpoint, seen_since } => {
                let checkpoint = WalkCheckpoint::open(checkpoint, segments)?;
                let walks = (0..segments).map(|index| {
                    self.walk_segment(Segment { index, total: segments }, seen_since, &checkpoint, &visit)
                });
                let walked = futures::future::try_join_all(walks).await?;
                if walked.contains(&Walked::Interrupted) {
                    return Ok(Walked::Interrupted);
                }
                checkpoint.remove();
                Ok(Walked::Complete)
            }
        }
    }

    /// How many users a walk will visit, for its progress (every user's count is DynamoDB's
    /// estimate; none if it cannot be had).
    pub async fn estimate(&self, selection: &Selection) -> Option<u64> {
        match selection {
            Selection::Named(users) => Some(users.len() as u64),
            Selection::Sample(n) => Some(*n as u64),
            Selection::Every { seen_since: Some(_), .. } => None,
            Selection::Every { .. } => {
                self.dynamo.approximate_user_count().await.ok().filter(|&count| count > 0)
            }
        }
    }

    /// Every user's ID, in one segment: for a sample, which needs them all first.
    async fn every_user(&self) -> AdminResult<Vec<UserId>> {
        let (mut every, mut after) = (Vec::new(), None);
        loop {
            let page = self.dynamo.user_page(Segment { index: 0, total: 1 }, after.as_ref(), None).await?;
            every.extend(page.users);
            after = page.resume_after;
            if after.is_none() {
                return Ok(every);
            }
        }
    }

    async fn walk_segment(
        &self,
        segment: Segment,
        seen_since: Option<Timestamp>,
        checkpoint: &WalkCheckpoint,
        visit: &impl AsyncFn(UserId) -> AdminResult<()>,
    ) -> AdminResult<Walked> {
        loop {
            let after = match checkpoint.position(segment) {
                SegmentPosition::Done => return Ok(Walked::Complete),
                SegmentPosition::Start => None,
                SegmentPosition::After(user) => Some(user),
            };
            let page = self.dynamo.user_page(segment, after.as_ref(), seen_since).await?;
            if self.visit_all(page.users, visit).await? == Walked::Interrupted {
                return Ok(Walked::Interrupted);
            }
            checkpoint.advance(segment, page.resume_after)?;
        }
    }

    async fn visit_all(
        &self,
        users: Vec<UserId>,
        visit: &impl AsyncFn(UserId) -> AdminResult<()>,
    ) -> AdminResult<Walked> {
        let mut visits = stream::iter(users)
            .take_while(|_| ready(!self.stop.is_cancelled()))
            .map(|user| visit_retrying(visit, user))
            .buffer_unordered(USERS_IN_FLIGHT);
        while let Some(visited) = visits.next().await {
            visited?;
        }
        Ok(if self.stop.is_cancelled() { Walked::Interrupted } else { Walked::Complete })
    }
}

async fn visit_retrying(visit: &impl AsyncFn(UserId) -> AdminResult<()>, user: UserId) -> AdminResult<()> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match visit(user.clone()).await {
            Err(AdminError::Store(error)) if error.is_transient() && attempt < VISIT_RETRIES.max_attempts => {
                tracing::warn!(%user, %error, attempt, "visiting the user failed; trying again");
                VISIT_RETRIES.wait(attempt).await;
            }
            visited => return visited,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file() -> PathBuf {
        std::env::temp_dir().join(format!("timeline-walk-test-{}", ulid::Ulid::generate())).join("walk.json")
    }

    #[test]
    fn a_checkpoint_saves_each_segment_and_resumes_from_it() {
        let path = temp_file();
        let checkpoint = WalkCheckpoint::open(Some(path.clone()), 3).unwrap();
        let (first, second) = (Segment { index: 0, total: 3 }, Segment { index: 1, total: 3 });
        checkpoint.advance(first, Some(UserId::parse("u-0042").unwrap())).unwrap();
        checkpoint.advance(second, None).unwrap();
        let saved: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(saved, serde_json::json!({ "segments": [{ "after": "u-0042" }, "done", "start"] }));

        let resumed = WalkCheckpoint::open(Some(path.clone()), 3).unwrap();
        assert_eq!(resumed.position(first), SegmentPosition::After(UserId::parse("u-0042").unwrap()));
        assert_eq!(resumed.position(second), SegmentPosition::Done);
        resumed.remove();
        assert!(!path.exists());
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[tokio::test]
    async fn a_transient_failure_is_visited_again_and_a_permanent_one_is_not() {
        use std::sync::atomic::{AtomicU32, Ordering};
        use timeline_model::ports::{Backend, StoreError};
        let calls = AtomicU32::new(0);
        let flaky = async |_: UserId| match calls.fetch_add(1, Ordering::Relaxed) {
            0 | 1 => Err(AdminError::Store(StoreError::Unavailable {
                backend: Backend::Redis,
                source: "timed out".into(),
            })),
            _ => Ok(()),
        };
        visit_retrying(&flaky, UserId::parse("u-1").unwrap()).await.unwrap();
        assert_eq!(calls.load(Ordering::Relaxed), 3);

        let corrupt_calls = AtomicU32::new(0);
        let corrupt = async |_: UserId| {
            corrupt_calls.fetch_add(1, Ordering::Relaxed);
            Err(AdminError::Store(StoreError::Corrupt { what: "timeline", source: "bad item".into() }))
        };
        assert!(visit_retrying(&corrupt, UserId::parse("u-1").unwrap()).await.is_err());
        assert_eq!(corrupt_calls.load(Ordering::Relaxed), 1, "a permanent error is not retried");
    }

    #[test]
    fn a_checkpoint_of_another_number_of_segments_is_refused() {
        let path = temp_file();
        WalkCheckpoint::open(Some(path.clone()), 2)
            .unwrap()
            .advance(Segment { index: 0, total: 2 }, None)
            .unwrap();
        let error = WalkCheckpoint::open(Some(path.clone()), 4).err().unwrap();
        assert!(matches!(error, AdminError::CheckpointSegments { saved: 2, asked: 4, .. }), "{error:?}");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}

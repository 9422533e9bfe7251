//! `verify` and `rebuild`: each user's durable and cached timelines against the truth
//! (`timeline_model::truth`, the same rule the fan-out and the follow backfill keep).

use std::sync::Mutex;

use serde::Serialize;
use timeline_model::UserId;
use timeline_model::ports::{TimelineCache, TimelineStore};
use timeline_model::timeline::TIMELINE_CAP;
use timeline_model::truth::{Drift, Truth, cache_differs, home_truth};

use super::progress::{Pacer, Progress};
use super::walk::{Selection, Walked};
use super::{Admin, AdminResult};

/// Entries read past the cap from a durable timeline: it is trimmed only by rebuilds.
const DURABLE_SLACK: usize = 200;

/// What `verify` found for one user.
#[derive(Debug, Serialize)]
pub struct UserDrift {
    pub user_id: UserId,
    pub missing: usize,
    pub extra: usize,
    pub cache_differs: bool,
}

/// `verify`'s findings (`--json` prints exactly this).
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub users_checked: usize,
    pub users_with_drift: usize,
    pub repaired: usize,
    pub drift: Vec<UserDrift>,
}

/// What `rebuild` wrote.
#[derive(Debug, Default)]
pub struct Rebuilt {
    pub users: usize,
    /// Entries in the users' truths.
    pub entries: usize,
    pub added: usize,
    pub removed: usize,
}

/// One user's timelines beside the truth.
struct Examined {
    truth: Truth,
    drift: Drift,
    cache_differs: bool,
}

impl Admin {
    /// Compare each selected user's timelines with the truth; with `repair`, rewrite the
    /// drifted ones.
    pub async fn verify(
        &self,
        selection: Selection,
        repair: bool,
        progress: &Progress,
    ) -> AdminResult<(Report, Walked)> {
        let report = Mutex::new(Report::default());
        let walked = self
            .walk(selection, async |user: UserId| {
                let Examined { drift, cache_differs, .. } = self.examine(&user).await?;
                let drifted = !drift.is_empty() || cache_differs;
                if drifted && repair {
                    self.repair(&user, &drift).await?;
                }
                let mut report = report.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                report.users_checked += 1;
                if drifted {
                    report.users_with_drift += 1;
                    report.repaired += usize::from(repair);
                    let (missing, extra) = (drift.missing.len(), drift.extra.len());
                    report.drift.push(UserDrift { user_id: user, missing, extra, cache_differs });
                }
                progress.advance(1, &format!("{} with drift", report.users_with_drift));
                Ok(())
            })
            .await?;
        let mut report = report.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
        report.drift.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        Ok((report, walked))
    }

    /// Write the truth into each selected user's timelines, drifted or not (`dry_run`: count
    /// only), at most `pacer`'s rate of written entries.
    pub async fn rebuild(
        &self,
        selection: Selection,
        dry_run: bool,
        pacer: &Pacer,
        progress: &Progress,
    ) -> AdminResult<(Rebuilt, Walked)> {
        let rebuilt = Mutex::new(Rebuilt::default());
        let walked = self
            .walk(selection, async |user: UserId| {
                let Examined { truth, drift, .. } = self.examine(&user).await?;
                if !dry_run {
                    pacer.reserve((drift.missing.len() + drift.extra.len()) as u64).await;
                    self.repair(&user, &drift).await?;
                }
                let mut rebuilt = rebuilt.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                rebuilt.users += 1;
                rebuilt.entries += truth.entries.len();
                rebuilt.added += drift.missing.len();
                rebuilt.removed += drift.extra.len();
                progress.advance(1, &format!("{} added, {} removed", rebuilt.added, rebuilt.removed));
                Ok(())
            })
            .await?;
        let rebuilt = rebuilt.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok((rebuilt, walked))
    }

    async fn examine(&self, user: &UserId) -> AdminResult<Examined> {
        let truth = home_truth(&self.dynamo, &self.dynamo, &self.dynamo, user).await?;
        let durable = self.dynamo.newest(user, None, TIMELINE_CAP + DURABLE_SLACK).await?;
        let drift = Drift::between(&truth, &durable);
        // Only where the cache holds the timeline; an unreachable cache is a backend down.
        let cache_differs = match self.cache.page(user, None, TIMELINE_CAP).await? {
            Some(page) => cache_differs(&truth, &durable, &page.ids),
            None => false,
        };
        Ok(Examined { truth, drift, cache_differs })
    }

    /// Make the durable timeline agree with the truth and drop the cached copy: the next read
    /// rebuilds it from the durable one, through the same single-flight fill as any miss.
    async fn repair(&self, user: &UserId, drift: &Drift) -> AdminResult<()> {
        self.dynamo.insert(&drift.missing).await?;
        TimelineStore::remove(&self.dynamo, &drift.extra).await?;
        Ok(self.cache.evict(std::slice::from_ref(user)).await?)
    }
}

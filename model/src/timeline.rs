//! Home timelines: their entries, their cap, and the paging rules every store follows.

use serde::{Deserialize, Serialize};

use crate::ports::{StoreResult, TimelineStore};
use crate::tweet::{Tweet, TweetId};
use crate::values::{UserId, ValidationError};

/// A home timeline keeps its newest 800 entries.
pub const TIMELINE_CAP: usize = 800;

/// Entries added to an active reader's cached timeline between two trims of its durable one.
/// The fan-out trims a durable timeline once its cached copy took `TRIM_STEP` entries since the
/// last trim that succeeded (`TimelineCache::add` says when, again until
/// `TimelineCache::trimmed`), so an active reader's durable timeline holds at most about
/// `TIMELINE_CAP + TRIM_STEP` entries, even when a trim fails; a cache rebuild trims as well.
/// Inactive readers' entries expire by TTL instead, for free.
pub const TRIM_STEP: usize = 200;

/// Remove from the durable timeline the entries of `newest` (one owner's, newest first) that
/// lie past the cap, and drop them from `newest`: the rebuild's trim, paid with the read it
/// makes anyway. Housekeeping: a failure is logged, and the fan-out's next trim removes them.
pub async fn trim_past_cap<S: TimelineStore>(store: &S, newest: &mut Vec<TimelineEntry>) {
    let past_cap = newest.split_off(newest.len().min(TIMELINE_CAP));
    if past_cap.is_empty() {
        return;
    }
    if let Err(error) = store.remove(&past_cap).await {
        tracing::warn!(%error, "could not trim a durable timeline to the cap");
    }
}

/// Remove every entry of the owner's durable timeline past the cap, however many: the
/// fan-out's trim. Usually about `TRIM_STEP` lie there; after failed trims, or entries written
/// while the owner was not counted, more.
pub async fn trim_to_cap<S: TimelineStore>(store: &S, owner: &UserId) -> StoreResult<()> {
    let (mut keep, mut before) = (TIMELINE_CAP, None);
    loop {
        let wanted = keep + TRIM_STEP;
        let mut page = store.newest(owner, before.as_ref(), wanted).await?;
        let more = page.len() == wanted;
        let past_cap = page.split_off(page.len().min(keep));
        let Some(oldest) = past_cap.last().map(|entry| entry.tweet_id) else { return Ok(()) };
        store.remove(&past_cap).await?;
        if !more {
            return Ok(());
        }
        (keep, before) = (0, Some(oldest));
    }
}

/// How many of a followee's newest tweets a follow merges into the follower's timeline: as many
/// as a timeline holds, so that the timeline after a follow is what the truth says
/// (`truth::home_truth`: the newest 800 of one's own and every fanned-out followee's tweets).
/// Those older than the follower's 800th entry are past the cap: the cache trims them at once,
/// the durable timeline at its next rebuild, and no comparison counts them.
pub const FOLLOW_BACKFILL: usize = TIMELINE_CAP;

/// One tweet in one owner's home timeline. The author is kept so that an unfollow can take the
/// author's tweets out without reading them back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub owner_id: UserId,
    pub tweet_id: TweetId,
    pub author_id: UserId,
}

impl TimelineEntry {
    /// `tweet` in `owner`'s timeline.
    pub fn of(owner: &UserId, tweet: &Tweet) -> Self {
        Self { owner_id: owner.clone(), tweet_id: tweet.tweet_id, author_id: tweet.author_id.clone() }
    }
}

/// A page size: 1 to 100, 20 when the client does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(usize);

impl Limit {
    pub const MAX: usize = 100;

    pub fn parse(raw: Option<&str>) -> Result<Self, ValidationError> {
        let Some(raw) = raw else {
            return Ok(Self::default());
        };
        match raw.parse::<usize>() {
            Ok(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            _ => Err(ValidationError::new("limit", "must be an integer from 1 to 100")),
        }
    }

    pub fn get(self) -> usize {
        self.0
    }
}

impl Default for Limit {
    fn default() -> Self {
        Self(20)
    }
}

/// One page of a listing, newest (or first) first. `next` is the sort key of the last item when
/// more may follow; the HTTP layer seals it into an opaque cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    /// Build a page from up to `limit + 1` fetched items: the extra one only tells that more
    /// exist, so a full last page never hands out a cursor to an empty page.
    pub fn from_overfetch(mut items: Vec<T>, limit: Limit, key: impl Fn(&T) -> String) -> Self {
        let more = items.len() > limit.get();
        items.truncate(limit.get());
        let next = if more { items.last().map(key) } else { None };
        Self { items, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_to_20_and_accepts_1_to_100() {
        assert_eq!(Limit::parse(None).unwrap().get(), 20);
        assert_eq!(Limit::parse(Some("1")).unwrap().get(), 1);
        assert_eq!(Limit::parse(Some("100")).unwrap().get(), 100);
        for bad in ["0", "101", "-1", "ten", ""] {
            assert!(Limit::parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn overfetched_page_hands_out_a_cursor_only_when_more_exist() {
        let limit = Limit::parse(Some("2")).unwrap();
        let full = Page::from_overfetch(vec![5, 4, 3], limit, |n| n.to_string());
        assert_eq!(full.items, vec![5, 4]);
        assert_eq!(full.next.as_deref(), Some("4"));
        let last = Page::from_overfetch(vec![5, 4], limit, |n| n.to_string());
        assert_eq!(last.next, None);
    }
}

//! The truth of a home timeline, recomputed from the source tables, and how a stored copy
//! drifted from it: what `timeline-admin verify` compares.
//!
//! The home timeline of U holds the newest `TIMELINE_CAP` tweets among U's own and those of
//! every account U follows that U does not merge in at read time (its merged authors, kept by
//! the follows consumer), deleted tweets excluded. Only queries: U's follows, U's merged
//! authors, and each author's newest tweets through the by-author index.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use futures::{StreamExt, TryStreamExt, stream};

use crate::ports::{Follows, StoreResult, TimelineStore, Tweets};
use crate::timeline::{TIMELINE_CAP, TimelineEntry};
use crate::tweet::TweetId;
use crate::values::UserId;

/// Follows read per step.
const FOLLOWING_PAGE: usize = 1000;

/// Authors' indexes queried at once.
const IN_FLIGHT: usize = 8;

/// What `owner`'s home timeline should hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Truth {
    /// The entries, newest first.
    pub entries: Vec<TimelineEntry>,
    /// The authors merged in at read time. Their tweets are not part of the truth, but a stored
    /// copy of one is no drift either: it was fanned out before its author crossed up, and the
    /// read merges the same tweet in anyway.
    pub merged_authors: HashSet<UserId>,
}

/// The truth of `owner`'s home timeline, recomputed.
pub async fn home_truth(
    follows: &impl Follows,
    tweets: &impl Tweets,
    store: &impl TimelineStore,
    owner: &UserId,
) -> StoreResult<Truth> {
    let merged: HashSet<UserId> = store.merged_authors(owner).await?.into_iter().collect();
    let mut authors = vec![owner.clone()];
    let mut after: Option<UserId> = None;
    loop {
        let page = follows.following(owner, after.as_ref(), FOLLOWING_PAGE).await?;
        let last_page = page.len() < FOLLOWING_PAGE;
        after = page.last().cloned();
        authors.extend(page.into_iter().filter(|a| !merged.contains(a)));
        if last_page {
            break;
        }
    }
    let newest: Vec<Vec<TimelineEntry>> = stream::iter(&authors)
        .map(|author| async move {
            let tweets = tweets.by_author(author, None, TIMELINE_CAP).await?;
            StoreResult::Ok(tweets.iter().map(|t| TimelineEntry::of(owner, t)).collect())
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect()
        .await?;
    let all: BTreeMap<TweetId, TimelineEntry> =
        newest.into_iter().flatten().map(|e| (e.tweet_id, e)).collect();
    Ok(Truth { entries: all.into_values().rev().take(TIMELINE_CAP).collect(), merged_authors: merged })
}

/// How a stored timeline differs from the truth.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drift {
    /// In the truth, not stored.
    pub missing: Vec<TimelineEntry>,
    /// Stored within the truth's window, not in the truth.
    pub extra: Vec<TimelineEntry>,
}

impl Drift {
    /// Compare `held` with `truth` (both newest first). A stored timeline may run past the cap
    /// (the durable one is trimmed only by rebuilds): entries older than a full truth's oldest
    /// are past the cap, not extra.
    pub fn between(truth: &Truth, held: &[TimelineEntry]) -> Self {
        let window = window(&truth.entries);
        let truth_ids: HashSet<TweetId> = truth.entries.iter().map(|e| e.tweet_id).collect();
        let held_ids: HashSet<TweetId> = held.iter().map(|e| e.tweet_id).collect();
        let extra = |e: &&TimelineEntry| {
            window(e.tweet_id)
                && !truth_ids.contains(&e.tweet_id)
                && !truth.merged_authors.contains(&e.author_id)
        };
        Self {
            missing: truth.entries.iter().filter(|e| !held_ids.contains(&e.tweet_id)).cloned().collect(),
            extra: held.iter().filter(extra).cloned().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty()
    }
}

/// Whether a cached copy (IDs, newest first) holds other tweets than the truth within its
/// window; `held`, the durable entries, tells which of its extra IDs are merged authors' copies.
pub fn cache_differs(truth: &Truth, held: &[TimelineEntry], cached: &[TweetId]) -> bool {
    let window = window(&truth.entries);
    let truth_ids: BTreeSet<TweetId> = truth.entries.iter().map(|e| e.tweet_id).collect();
    let merged_copies: HashSet<TweetId> =
        held.iter().filter(|e| truth.merged_authors.contains(&e.author_id)).map(|e| e.tweet_id).collect();
    let cached_ids: BTreeSet<TweetId> =
        cached.iter().copied().filter(|id| window(*id) && !merged_copies.contains(id)).collect();
    truth_ids != cached_ids
}

/// Whether an ID is young enough to belong in the truth's window.
fn window(truth: &[TimelineEntry]) -> impl Fn(TweetId) -> bool + use<> {
    let oldest_kept = (truth.len() == TIMELINE_CAP).then(|| truth[truth.len() - 1].tweet_id);
    move |id| oldest_kept.is_none_or(|oldest| id >= oldest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{fanout, fanout_with_threshold, id, post, world};
    use crate::fanout::TimelineEvent;
    use crate::follow::Follow;
    use crate::ports::Follows;

    fn truth_of(entries: &[&TimelineEntry]) -> Truth {
        Truth { entries: entries.iter().map(|e| (*e).clone()).collect(), merged_authors: HashSet::new() }
    }

    #[test]
    fn drift_names_what_is_missing_and_what_is_extra_within_the_window() {
        let [a, b, c, d] = [0, 1, 2, 3].map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(2));
            TimelineEntry { owner_id: id("bob"), tweet_id: TweetId::generate(), author_id: id("ann") }
        });
        let drift = Drift::between(&truth_of(&[&d, &c, &a]), &[d.clone(), b.clone(), a.clone()]);
        assert_eq!(drift, Drift { missing: vec![c.clone()], extra: vec![b.clone()] });
        assert!(Drift::between(&truth_of(&[&d, &c]), &[d.clone(), c.clone()]).is_empty());
        assert!(cache_differs(&truth_of(&[&d, &c]), &[], &[d.tweet_id]));
        assert!(!cache_differs(&truth_of(&[&d, &c]), &[], &[d.tweet_id, c.tweet_id]));
        // b by a merged author: a copy from before it crossed up, no drift.
        let merged = Truth { merged_authors: HashSet::from([id("ann")]), ..truth_of(&[&d, &c]) };
        assert!(Drift::between(&merged, &[d.clone(), c.clone(), b.clone()]).is_empty());
        assert!(!cache_differs(&merged, std::slice::from_ref(&b), &[d.tweet_id, c.tweet_id, b.tweet_id]));
    }

    #[tokio::test]
    async fn the_truth_is_the_newest_of_ones_own_and_the_fanned_out_followees_tweets() {
        let memory = world(&["ann", "bob", "cat"]).await;
        for followee in ["ann", "cat"] {
            memory.follow(&Follow::new(id("bob"), id(followee)).unwrap()).await.unwrap();
        }
        let mut posted = Vec::new();
        for author in ["ann", "bob", "cat"] {
            let tweet = post(&memory, author, "hi").await;
            fanout(&memory).apply(&TimelineEvent::TweetPosted(tweet.clone())).await.unwrap();
            posted.push(tweet.tweet_id);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        posted.reverse();
        let ids = |truth: Truth| truth.entries.into_iter().map(|e| e.tweet_id).collect::<Vec<_>>();
        assert_eq!(ids(home_truth(&memory, &memory, &memory, &id("bob")).await.unwrap()), posted);
        // cat merged in at read time for bob: not part of bob's stored timeline.
        memory.insert_merged(&[Follow::new(id("bob"), id("cat")).unwrap()]).await.unwrap();
        assert_eq!(ids(home_truth(&memory, &memory, &memory, &id("bob")).await.unwrap()), posted[1..]);
    }

    #[tokio::test]
    async fn an_author_crossing_up_leaves_no_drift_in_its_followers_timelines() {
        let memory = world(&["star", "ann", "bob"]).await;
        let follow = |follower: &'static str| {
            let memory = &memory;
            async move {
                let edge = Follow::new(id(follower), id("star")).unwrap();
                memory.follow(&edge).await.unwrap();
                fanout_with_threshold(memory, 1).apply(&TimelineEvent::Followed(edge)).await.unwrap();
            }
        };
        follow("ann").await;
        let early = post(&memory, "star", "fanned out").await;
        fanout_with_threshold(&memory, 1).apply(&TimelineEvent::TweetPosted(early)).await.unwrap();
        follow("bob").await;
        let late = post(&memory, "star", "merged in").await;
        fanout_with_threshold(&memory, 1).apply(&TimelineEvent::TweetPosted(late)).await.unwrap();
        for owner in ["ann", "bob"] {
            let truth = home_truth(&memory, &memory, &memory, &id(owner)).await.unwrap();
            let held = memory.newest(&id(owner), None, TIMELINE_CAP).await.unwrap();
            assert_eq!(Drift::between(&truth, &held), Drift::default(), "{owner}");
        }
    }

    #[tokio::test]
    async fn a_follow_of_a_prolific_author_leaves_the_timeline_the_truth_says() {
        let memory = world(&["ann", "bob"]).await;
        for n in 0..900 {
            let tweet = post(&memory, "ann", &format!("tweet {n}")).await;
            fanout(&memory).apply(&TimelineEvent::TweetPosted(tweet)).await.unwrap();
        }
        let edge = Follow::new(id("bob"), id("ann")).unwrap();
        memory.follow(&edge).await.unwrap();
        fanout(&memory).apply(&TimelineEvent::Followed(edge)).await.unwrap();
        let truth = home_truth(&memory, &memory, &memory, &id("bob")).await.unwrap();
        assert_eq!(truth.entries.len(), TIMELINE_CAP);
        let held = memory.newest(&id("bob"), None, 2 * TIMELINE_CAP).await.unwrap();
        assert_eq!(Drift::between(&truth, &held), Drift::default());
    }
}

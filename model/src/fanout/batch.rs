//! Many changes at once: the records of one stream batch.
//!
//! A shard's records arrive in order, but only the records of one item depend on each other (a
//! tweet's post and its delete, one edge's follow and unfollow). [`waves`] splits a batch so that
//! each wave holds at most one change per item, waves in stream order; the changes of a wave
//! commute (docs/ARCHITECTURE.md, "Fan-out within a batch"), so [`Fanout::apply_many`] applies
//! them together and shares their round trips: one batch read of the authors' profiles, one
//! follower page per author however many of its tweets the wave holds, and one stream of batch
//! writes and one cache pipeline for all their entries.

use std::collections::{HashMap, HashSet};

use futures::{StreamExt, TryStreamExt, stream};

use super::{Fanout, FanoutReport, TimelineEvent, Write, entries_for};
use crate::ports::{Follows, StoreResult, TimelineCache, TimelineStore, Tweets, Users};
use crate::timeline::TimelineEntry;
use crate::tweet::{Tweet, TweetId};
use crate::user::User;
use crate::values::UserId;

/// Independent reads (follower pages) or whole fan-outs in flight at once within a wave.
const IN_FLIGHT: usize = 16;

/// The item a change is about: changes of one item must land in stream order.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    Tweet(TweetId),
    Edge { follower: UserId, followee: UserId },
}

impl TimelineEvent {
    pub fn subject(&self) -> Subject {
        match self {
            TimelineEvent::TweetPosted(tweet) => Subject::Tweet(tweet.tweet_id),
            TimelineEvent::TweetDeleted { tweet_id, .. } => Subject::Tweet(*tweet_id),
            TimelineEvent::Followed(edge) | TimelineEvent::Unfollowed(edge) => {
                Subject::Edge { follower: edge.follower_id.clone(), followee: edge.followee_id.clone() }
            }
        }
    }
}

/// Positions of `subjects` (in stream order) grouped into waves: wave n holds the n-th change of
/// every item that has one, in stream order. Applying the waves one after another keeps the
/// order of each item's changes.
pub fn waves<'a>(subjects: impl IntoIterator<Item = &'a Subject>) -> Vec<Vec<usize>> {
    let mut seen: HashMap<&Subject, usize> = HashMap::new();
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for (position, subject) in subjects.into_iter().enumerate() {
        let count = seen.entry(subject).or_default();
        if waves.len() == *count {
            waves.push(Vec::new());
        }
        waves[*count].push(position);
        *count += 1;
    }
    waves
}

/// What applying a wave did: each change's followers reached, and the entries written in all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WaveReport {
    /// Followers reached, one per change, in the order given.
    pub followers: Vec<usize>,
    pub durable_entries: usize,
    pub cached_entries: usize,
}

/// A post or delete whose entries join the wave's shared writes.
struct Shared<'e> {
    position: usize,
    tweet_id: TweetId,
    author: &'e UserId,
    write: Write,
}

impl<F: Follows, T: Tweets, S: TimelineStore, C: TimelineCache, U: Users> Fanout<'_, F, T, S, C, U> {
    /// Apply changes of distinct items (one wave of [`waves`]) together. On error nothing is
    /// undone; every step is idempotent, so the caller may apply them again, together or alone.
    pub async fn apply_many(&self, events: &[TimelineEvent]) -> StoreResult<WaveReport> {
        let posted: Vec<&Tweet> = events
            .iter()
            .filter_map(|e| match e {
                TimelineEvent::TweetPosted(tweet) => Some(tweet),
                _ => None,
            })
            .collect();
        let bodies: Vec<Tweet> = posted.iter().map(|t| (*t).clone()).collect();
        // Independent reads and writes at once: the bodies, each tweet author's mode, and its
        // first follower page (a merged author's is read for nothing, one query, to save the
        // wave a round trip).
        let authors = distinct(events.iter().filter_map(tweet_author));
        let reads: Vec<_> = authors.iter().map(|author| self.first_page(author)).collect();
        let ((), profiles, pages) = futures::future::join3(
            self.to_cache(self.cache.put_tweets(&bodies), |_| {}),
            self.profiles(&authors),
            bounded(reads),
        )
        .await;
        let (profiles, pages) = (profiles?, pages?);
        let pages: HashMap<&UserId, Vec<UserId>> = pages.into_iter().collect();
        let merged = |author: &UserId| profiles.get(author).is_some_and(|p| p.merged_at_read);
        let fanned_out = |author: &UserId, tweet: TweetId| {
            profiles.get(author).is_none_or(|p| p.may_have_fanned_out(tweet))
        };

        let mut report = WaveReport { followers: vec![0; events.len()], ..WaveReport::default() };
        let mut shared = Vec::new();
        let mut alone = Vec::new();
        for (position, event) in events.iter().enumerate() {
            match event {
                TimelineEvent::TweetPosted(tweet) if !merged(&tweet.author_id) => {
                    let (tweet_id, author) = (tweet.tweet_id, &tweet.author_id);
                    shared.push(Shared { position, tweet_id, author, write: Write::Insert });
                }
                TimelineEvent::TweetDeleted { tweet_id, author_id } if fanned_out(author_id, *tweet_id) => {
                    let tweet_id = *tweet_id;
                    shared.push(Shared { position, tweet_id, author: author_id, write: Write::Remove });
                }
                _ => alone.push(position),
            }
        }
        let ((together, cached), apart) =
            futures::future::try_join(self.apply_shared(&shared, &pages), self.apply_alone(events, &alone))
                .await?;
        report.cached_entries = cached;
        for (position, one) in together.into_iter().chain(apart) {
            report.followers[position] = one.followers;
            report.durable_entries += one.durable_entries;
            report.cached_entries += one.cached_entries;
        }
        Ok(report)
    }

    /// The profiles of `authors` that exist, from one batch read.
    async fn profiles(&self, authors: &[UserId]) -> StoreResult<HashMap<UserId, User>> {
        if authors.is_empty() {
            return Ok(HashMap::new());
        }
        let profiles = self.users.get_many(authors).await?;
        Ok(profiles.into_iter().map(|p| (p.user_id.clone(), p)).collect())
    }

    /// Posts and deletes whose authors' followers fit in one page (`pages`: each author's first)
    /// share their writes; the others (large fan-outs) stream their pages on their own. Also
    /// returns the entries cached by the shared writes, which the cache counts all together.
    async fn apply_shared(
        &self,
        changes: &[Shared<'_>],
        pages: &HashMap<&UserId, Vec<UserId>>,
    ) -> StoreResult<(Vec<(usize, FanoutReport)>, usize)> {
        let mut done = Vec::with_capacity(changes.len());
        let (mut inserts, mut removes, mut deleted, mut large) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for change in changes {
            let followers = &pages[change.author];
            if followers.len() >= self.page_size {
                large.push(self.apply_large(change, followers.clone()));
                continue;
            }
            let owners = std::iter::once(change.author.clone()).chain(followers.iter().cloned()).collect();
            let entries = entries_for(owners, change.tweet_id, change.author);
            let report = FanoutReport {
                followers: followers.len(),
                durable_entries: entries.len(),
                cached_entries: 0,
            };
            done.push((change.position, report));
            match change.write {
                Write::Insert => inserts.extend(entries),
                Write::Remove => {
                    removes.extend(entries);
                    deleted.push(self.forget(change.tweet_id, change.author));
                }
            }
        }
        let cached = self.write_both(&inserts, &removes).await?;
        stream::iter(deleted).buffer_unordered(IN_FLIGHT).collect::<()>().await;
        done.extend(bounded(large).await?);
        Ok((done, cached))
    }

    /// The first page of an author's followers.
    async fn first_page<'u>(&self, author: &'u UserId) -> StoreResult<(&'u UserId, Vec<UserId>)> {
        Ok((author, self.follows.followers(author, None, self.page_size).await?))
    }

    /// A post or delete of an author with more followers than a page (`first_page`, read with
    /// the wave's), on its own.
    async fn apply_large(
        &self,
        change: &Shared<'_>,
        first_page: Vec<UserId>,
    ) -> StoreResult<(usize, FanoutReport)> {
        let report =
            self.fan_out_from_first_page(change.author, change.tweet_id, change.write, first_page).await?;
        if change.write == Write::Remove {
            self.forget(change.tweet_id, change.author).await;
        }
        Ok((change.position, report))
    }

    /// Insert and remove entries of distinct items: both durably, then both in the cache.
    async fn write_both(&self, inserts: &[TimelineEntry], removes: &[TimelineEntry]) -> StoreResult<usize> {
        futures::future::try_join(self.durable(Write::Insert, inserts), self.durable(Write::Remove, removes))
            .await?;
        let (added, _) =
            futures::future::join(self.cached(Write::Insert, inserts), self.cached(Write::Remove, removes))
                .await;
        Ok(added)
    }

    /// Changes that share nothing with the others (follows, unfollows, merged authors' posts
    /// and the deletes of their tweets that were never fanned out), applied concurrently, each
    /// as it would be alone.
    async fn apply_alone(
        &self,
        events: &[TimelineEvent],
        positions: &[usize],
    ) -> StoreResult<Vec<(usize, FanoutReport)>> {
        bounded(positions.iter().map(|&position| self.apply_at(events, position)).collect()).await
    }

    /// The body of a merged author's post is already cached and its author known, so it goes
    /// straight to its own timeline, as does the delete of a tweet never fanned out; anything
    /// else is applied as it would be alone.
    async fn apply_at(
        &self,
        events: &[TimelineEvent],
        position: usize,
    ) -> StoreResult<(usize, FanoutReport)> {
        let report = match &events[position] {
            TimelineEvent::TweetPosted(tweet) => self.merged_posted(tweet.tweet_id, &tweet.author_id).await?,
            TimelineEvent::TweetDeleted { tweet_id, author_id } => {
                self.merged_deleted(*tweet_id, author_id).await?
            }
            other => self.apply(other).await?,
        };
        Ok((position, report))
    }
}

/// Run `futures`, `IN_FLIGHT` at a time; the first error ends the run.
async fn bounded<O>(futures: Vec<impl Future<Output = StoreResult<O>>>) -> StoreResult<Vec<O>> {
    stream::iter(futures).buffer_unordered(IN_FLIGHT).try_collect().await
}

/// The author of a posted or deleted tweet.
fn tweet_author(event: &TimelineEvent) -> Option<&UserId> {
    match event {
        TimelineEvent::TweetPosted(tweet) => Some(&tweet.author_id),
        TimelineEvent::TweetDeleted { author_id, .. } => Some(author_id),
        _ => None,
    }
}

/// Each value once, in order of first appearance.
fn distinct<'v>(values: impl Iterator<Item = &'v UserId>) -> Vec<UserId> {
    let mut seen = HashSet::new();
    values.filter(|v| seen.insert(*v)).cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{fanout_with_threshold, id, post, world};
    use crate::follow::Follow;
    use crate::ports::{Follows, Tweets, Users};
    use crate::values::Timestamp;

    #[test]
    fn each_wave_holds_one_change_per_item_in_stream_order() {
        let [a, b, c] = ["a", "b", "c"].map(|name| Subject::Edge { follower: id(name), followee: id("z") });
        let batch = [&a, &b, &a, &c, &b, &a];
        assert_eq!(waves(batch), vec![vec![0, 1, 3], vec![2, 4], vec![5]]);
    }

    /// Three authors of every kind: ann with one follower (shared writes), bob with three (more
    /// than the fake's page of two: a large fan-out), cat over the threshold (merged at read
    /// time).
    async fn authors() -> crate::fake::Memory {
        let memory = world(&["ann", "bob", "cat", "dan", "eve", "fay"]).await;
        let edges = [
            ("dan", "ann"),
            ("dan", "bob"),
            ("eve", "bob"),
            ("fay", "bob"),
            ("dan", "cat"),
            ("eve", "cat"),
            ("fay", "cat"),
        ];
        for (follower, followee) in edges {
            memory.follow(&Follow::new(id(follower), id(followee)).unwrap()).await.unwrap();
        }
        for owner in ["dan", "eve"] {
            memory.begin_fill(&id(owner)).await.unwrap();
        }
        memory.set_merged_since(&id("cat"), Some(Timestamp::now())).await.unwrap();
        memory
    }

    #[tokio::test]
    async fn a_wave_applied_together_leaves_what_its_changes_applied_one_by_one_leave() {
        let (together, one_by_one) = (authors().await, authors().await);
        let mut wave = Vec::new();
        for author in ["ann", "bob", "cat", "ann"] {
            let tweet = post(&together, author, "hi").await;
            Tweets::create(&one_by_one, &tweet).await.unwrap();
            wave.push(TimelineEvent::TweetPosted(tweet));
        }
        let (old, old_author) = (post(&together, "bob", "old").await, id("bob"));
        Tweets::create(&one_by_one, &old).await.unwrap();
        for memory in [&together, &one_by_one] {
            fanout_with_threshold(memory, 2).apply(&TimelineEvent::TweetPosted(old.clone())).await.unwrap();
        }
        wave.push(TimelineEvent::TweetDeleted { tweet_id: old.tweet_id, author_id: old_author });
        wave.push(TimelineEvent::Followed(Follow::new(id("eve"), id("ann")).unwrap()));

        let report = fanout_with_threshold(&together, 2).apply_many(&wave).await.unwrap();
        let mut followers = Vec::new();
        for event in &wave {
            followers.push(fanout_with_threshold(&one_by_one, 2).apply(event).await.unwrap().followers);
        }
        assert_eq!(report.followers, followers);
        for owner in ["ann", "bob", "cat", "dan", "eve", "fay"] {
            let owner = id(owner);
            assert_eq!(together.durable_timeline(&owner), one_by_one.durable_timeline(&owner), "{owner}");
        }
        assert_eq!(*together.cached.lock().unwrap(), *one_by_one.cached.lock().unwrap());
    }
}

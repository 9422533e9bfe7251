//! Fan-out on write: what each change does to the precomputed home timelines.
//!
//! - this file: one change at a time ([`Fanout::apply`]); a large fan-out reads its followers
//!   a page at a time and writes the cached timelines' copies first.
//! - [`crossing`]: an author crossing the fan-out threshold, either way: every follower's list
//!   of merged authors is brought in line before (or after) the author's mode changes.
//! - [`batch`]: many changes at once ([`Fanout::apply_many`]): the changes of one stream batch
//!   share their reads and writes; and [`batch::waves`], which orders a batch so that changes
//!   of one item land in stream order.
//! - [`stale`]: a cache write that fails does not fail the change: the copies it missed are
//!   noted, stored and dropped once the cache answers again.
//!
//! Every step is idempotent (puts and deletes by key, set additions), so a stream record
//! delivered twice leaves every timeline as one delivery did. Per owner the durable timeline is
//! written before the cache: a cache rebuild that starts after the cache write has begun reading
//! after the durable write, so it cannot miss the entry (see `TimelineCache::begin_fill`).

pub mod batch;
mod crossing;
pub mod stale;

use std::collections::BTreeSet;

use futures::{StreamExt, future, stream};
use stale::{Stale, StaleCaches};

use crate::follow::Follow;
use crate::ports::{Follows, StoreResult, TimelineCache, TimelineStore, Tweets, Users};
use crate::timeline::{FOLLOW_BACKFILL, TimelineEntry, trim_to_cap};
use crate::tweet::{Tweet, TweetId};
use crate::values::UserId;

/// Durable timelines trimmed at once by one write.
const TRIMS_IN_FLIGHT: usize = 8;

/// Entries of uncached timelines a large fan-out holds back while it reads on (about 1 MB):
/// past this, they are written before the next page is read.
const HELD_BACK: usize = 10_000;

/// A change that reshapes home timelines, decoded from a stream record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimelineEvent {
    TweetPosted(Tweet),
    TweetDeleted { tweet_id: TweetId, author_id: UserId },
    Followed(Follow),
    Unfollowed(Follow),
}

/// What applying one event did, for metrics and logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FanoutReport {
    /// Followers whose timelines the event reached.
    pub followers: usize,
    /// Entries written to (or removed from) the durable timelines.
    pub durable_entries: usize,
    /// Entries written to cached timelines.
    pub cached_entries: usize,
}

impl FanoutReport {
    fn add(&mut self, other: FanoutReport) {
        self.followers += other.followers;
        self.durable_entries += other.durable_entries;
        self.cached_entries += other.cached_entries;
    }
}

/// Whether entries go into timelines or come out of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Insert,
    Remove,
}

/// The stores a fan-out touches.
pub struct Fanout<'a, F, T, S, C, U> {
    pub follows: &'a F,
    pub tweets: &'a T,
    pub store: &'a S,
    pub cache: &'a C,
    pub users: &'a U,
    /// Followers read and written per step; bounds memory for authors with many followers.
    pub page_size: usize,
    /// Authors with more followers than this are not fanned out: readers merge their recent
    /// tweets in at read time (see `home`).
    pub fanout_threshold: u64,
    /// Where cached copies that missed a change (a failed cache write) are noted.
    pub stale: &'a StaleCaches,
}

impl<F: Follows, T: Tweets, S: TimelineStore, C: TimelineCache, U: Users> Fanout<'_, F, T, S, C, U> {
    pub async fn apply(&self, event: &TimelineEvent) -> StoreResult<FanoutReport> {
        match event {
            TimelineEvent::TweetPosted(tweet) => self.tweet_posted(tweet).await,
            TimelineEvent::TweetDeleted { tweet_id, author_id } => {
                self.tweet_deleted(*tweet_id, author_id).await
            }
            TimelineEvent::Followed(edge) => self.followed(edge).await,
            TimelineEvent::Unfollowed(edge) => self.unfollowed(edge).await,
        }
    }

    async fn tweet_posted(&self, tweet: &Tweet) -> StoreResult<FanoutReport> {
        let (tweet_id, author) = (tweet.tweet_id, &tweet.author_id);
        // The body is cached once per tweet, not once per follower; meanwhile, the author's size.
        // A body the cache lacks is read from the tweets table: nothing goes stale.
        let cache_body = self.to_cache(self.cache.put_tweets(std::slice::from_ref(tweet)), |_| {});
        let ((), merged) = futures::future::join(cache_body, self.merged_at_read(author)).await;
        if merged? {
            return self.merged_posted(tweet_id, author).await;
        }
        self.for_author_and_followers(author, tweet_id, Write::Insert).await
    }

    /// A merged author's tweet reaches only its own timeline and its recent list: readers merge
    /// it in.
    async fn merged_posted(&self, tweet_id: TweetId, author: &UserId) -> StoreResult<FanoutReport> {
        let own = entries_for(vec![author.clone()], tweet_id, author);
        let report = self.write(Write::Insert, &own).await?;
        self.to_cache(self.cache.add_recent(author, &tweet_id), |stale| recent_list(stale, author)).await;
        Ok(report)
    }

    async fn tweet_deleted(&self, tweet_id: TweetId, author: &UserId) -> StoreResult<FanoutReport> {
        let profile = self.users.get(author).await?;
        if profile.is_some_and(|p| !p.may_have_fanned_out(tweet_id)) {
            return self.merged_deleted(tweet_id, author).await;
        }
        let report = self.for_author_and_followers(author, tweet_id, Write::Remove).await?;
        self.forget(tweet_id, author).await;
        Ok(report)
    }

    /// A tweet that was never fanned out leaves only its author's timeline and recent list.
    async fn merged_deleted(&self, tweet_id: TweetId, author: &UserId) -> StoreResult<FanoutReport> {
        let own = entries_for(vec![author.clone()], tweet_id, author);
        let report = self.write(Write::Remove, &own).await?;
        self.forget(tweet_id, author).await;
        Ok(report)
    }

    /// A deleted tweet's body and its place in the author's recent list. A body left behind
    /// is never served: the IDs a read serves come from timelines and recent lists.
    async fn forget(&self, tweet_id: TweetId, author: &UserId) {
        self.to_cache(self.cache.remove_recent(author, &tweet_id), |stale| recent_list(stale, author)).await;
        self.to_cache(self.cache.forget_tweet(&tweet_id), |_| {}).await;
    }

    async fn followed(&self, edge: &Follow) -> StoreResult<FanoutReport> {
        let followee = self.users.get(&edge.followee_id).await?;
        let report = match &followee {
            // A merged author's tweets are merged in at read time: the reader just lists it.
            Some(author) if author.merged_at_read => {
                self.merge_in(std::slice::from_ref(edge)).await?;
                FanoutReport { followers: 1, ..FanoutReport::default() }
            }
            _ => {
                let recent = self.tweets.by_author(&edge.followee_id, None, FOLLOW_BACKFILL).await?;
                let entries: Vec<TimelineEntry> =
                    recent.iter().map(|t| TimelineEntry::of(&edge.follower_id, t)).collect();
                FanoutReport { followers: 1, ..self.write(Write::Insert, &entries).await? }
            }
        };
        if let Some(author) = followee {
            self.settle(&author).await?;
        }
        Ok(report)
    }

    async fn unfollowed(&self, edge: &Follow) -> StoreResult<FanoutReport> {
        // Both ways out, whatever the followee's mode: it may have changed since the follow.
        let entries = self.store.by_author(&edge.follower_id, &edge.followee_id).await?;
        let report = FanoutReport { followers: 1, ..self.write(Write::Remove, &entries).await? };
        self.merge_out(std::slice::from_ref(edge)).await?;
        if let Some(author) = self.users.get(&edge.followee_id).await? {
            self.settle(&author).await?;
        }
        Ok(report)
    }

    async fn merged_at_read(&self, author: &UserId) -> StoreResult<bool> {
        let profile = self.users.get(author).await?;
        Ok(profile.is_some_and(|p| p.merged_at_read))
    }

    /// Each edge's follower merges the followee in from now on: durably, then in the cache.
    async fn merge_in(&self, edges: &[Follow]) -> StoreResult<()> {
        self.store.insert_merged(edges).await?;
        self.to_cache(self.cache.add_merged(edges), |stale| followers_of(stale, edges)).await;
        Ok(())
    }

    async fn merge_out(&self, edges: &[Follow]) -> StoreResult<()> {
        self.store.remove_merged(edges).await?;
        self.to_cache(self.cache.remove_merged(edges), |stale| followers_of(stale, edges)).await;
        Ok(())
    }

    /// Write `entries` durably, then to the cache.
    async fn write(&self, write: Write, entries: &[TimelineEntry]) -> StoreResult<FanoutReport> {
        self.durable(write, entries).await?;
        let cached_entries = self.cached(write, entries).await;
        Ok(FanoutReport { followers: 0, durable_entries: entries.len(), cached_entries })
    }

    async fn durable(&self, write: Write, entries: &[TimelineEntry]) -> StoreResult<()> {
        match write {
            Write::Insert => self.store.insert(entries).await,
            Write::Remove => self.store.remove(entries).await,
        }
    }

    /// Entries written to the cache (removals count none).
    async fn cached(&self, write: Write, entries: &[TimelineEntry]) -> usize {
        let owners_of =
            |stale: &mut Stale| stale.timelines.extend(entries.iter().map(|e| e.owner_id.clone()));
        match write {
            Write::Insert => {
                let added = self.to_cache(self.cache.add(entries), owners_of).await;
                self.trim(&added.trim_due).await;
                added.written
            }
            Write::Remove => {
                self.to_cache(self.cache.remove(entries), owners_of).await;
                0
            }
        }
    }

    /// Trim the durable timelines of `owners` to the cap: each is an active reader's whose
    /// cached copy took `TRIM_STEP` entries since its last trim, so about that many lie past
    /// the cap. Housekeeping: a failure is logged, and the owner stays due (the cache signals
    /// it again) until a trim succeeds.
    async fn trim(&self, owners: &[UserId]) {
        let owners: BTreeSet<&UserId> = owners.iter().collect();
        // Collected first: a lazy stream of borrowing futures trips the compiler's `Send` check.
        let trims: Vec<_> = owners.into_iter().map(|owner| self.trim_one(owner)).collect();
        let trimmed: Vec<UserId> =
            stream::iter(trims).buffer_unordered(TRIMS_IN_FLIGHT).filter_map(future::ready).collect().await;
        if let Err(error) = self.cache.trimmed(&trimmed).await {
            tracing::warn!(%error, "could not restart the trim counts of trimmed timelines");
        }
    }

    /// The owner, once its durable timeline is trimmed.
    async fn trim_one(&self, owner: &UserId) -> Option<UserId> {
        match trim_to_cap(self.store, owner).await {
            Ok(()) => Some(owner.clone()),
            Err(error) => {
                tracing::warn!(%error, "could not trim a durable timeline to the cap");
                None
            }
        }
    }

    /// Run a cache write; if it fails, note with `missed` the cached copies it leaves stale
    /// (see [`stale`]) rather than fail the change, which stands durably.
    async fn to_cache<Done: Default>(
        &self,
        write: impl Future<Output = StoreResult<Done>>,
        missed: impl FnOnce(&mut Stale),
    ) -> Done {
        write.await.unwrap_or_else(|error| {
            tracing::debug!(%error, "a cache write failed; noting the copies it missed");
            self.stale.note(missed);
            Done::default()
        })
    }

    /// Write one tweet's entry for the author and every follower (see [`Self::fan_out_from_first_page`]).
    async fn for_author_and_followers(
        &self,
        author: &UserId,
        tweet_id: TweetId,
        write: Write,
    ) -> StoreResult<FanoutReport> {
        let first_page = self.follows.followers(author, None, self.page_size).await?;
        self.fan_out_from_first_page(author, tweet_id, write, first_page).await
    }

    /// Write one tweet's entry for the author and every follower, starting from the author's
    /// first page of followers (already read), a page at a time. Readers only see cached copies,
    /// so those go first: while page k+1 is read, the entries of page k whose owners have a
    /// cached timeline are written, durably and then to the cache; the others are held back (up
    /// to `HELD_BACK`) and written after the last page, with the store's full concurrency. So
    /// an active reader sees the tweet after the follower reads and its own few writes, not
    /// after every follower's durable write. Each entry is still written durably before it is
    /// offered to the cache (held-back ones too: a timeline may have been cached since the
    /// hint), so a rebuild cannot miss it.
    async fn fan_out_from_first_page(
        &self,
        author: &UserId,
        tweet_id: TweetId,
        write: Write,
        first_page: Vec<UserId>,
    ) -> StoreResult<FanoutReport> {
        let mut report = FanoutReport::default();
        let mut owners = vec![author.clone()];
        let mut page = first_page;
        let mut held_back: Vec<TimelineEntry> = Vec::new();
        loop {
            let last_page = page.len() < self.page_size;
            let after = page.last().cloned();
            report.followers += page.len();
            owners.extend(page);
            let entries = entries_for(std::mem::take(&mut owners), tweet_id, author);
            let next_page = async {
                match &after {
                    Some(after) if !last_page => {
                        self.follows.followers(author, Some(after), self.page_size).await
                    }
                    _ => Ok(Vec::new()),
                }
            };
            let ((written, rest), next_page) =
                futures::future::try_join(self.write_cached_first(write, entries), next_page).await?;
            report.add(written);
            held_back.extend(rest);
            if last_page || held_back.len() >= HELD_BACK {
                report.add(self.write(write, &std::mem::take(&mut held_back)).await?);
            }
            if last_page {
                return Ok(report);
            }
            page = next_page;
        }
    }

    /// Write the entries whose owners' timelines are cached; hand back the others. If the cache
    /// cannot say, none are taken for cached: all wait, none is lost.
    async fn write_cached_first(
        &self,
        write: Write,
        entries: Vec<TimelineEntry>,
    ) -> StoreResult<(FanoutReport, Vec<TimelineEntry>)> {
        let owners: Vec<UserId> = entries.iter().map(|e| e.owner_id.clone()).collect();
        let cached = self.cache.cached(&owners).await.unwrap_or_default();
        let mut flags = cached.into_iter();
        let (first, rest): (Vec<_>, Vec<_>) =
            entries.into_iter().partition(|_| flags.next().unwrap_or(false));
        Ok((self.write(write, &first).await?, rest))
    }
}

fn recent_list(stale: &mut Stale, author: &UserId) {
    stale.recent_lists.insert(author.clone());
}

/// The followers of `edges`, whose cached timelines list merged authors.
fn followers_of(stale: &mut Stale, edges: &[Follow]) {
    stale.timelines.extend(edges.iter().map(|edge| edge.follower_id.clone()));
}

fn entries_for(owners: Vec<UserId>, tweet_id: TweetId, author: &UserId) -> Vec<TimelineEntry> {
    owners
        .into_iter()
        .map(|owner_id| TimelineEntry { owner_id, tweet_id, author_id: author.clone() })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::fake::{fanout, id, post, world};
    use crate::ports::{Follows, TimelineCache, Tweets};
    use crate::timeline::{TIMELINE_CAP, TRIM_STEP};

    #[tokio::test]
    async fn a_tweet_reaches_the_author_and_every_follower_across_pages() {
        let memory = world(&["ann", "bob", "cat", "dan", "eve"]).await;
        for follower in ["bob", "cat", "dan"] {
            memory.follow(&Follow::new(id(follower), id("ann")).unwrap()).await.unwrap();
        }
        let tweet = post(&memory, "ann", "hello").await;
        let report = fanout(&memory).apply(&TimelineEvent::TweetPosted(tweet.clone())).await.unwrap();
        assert_eq!(report.followers, 3);
        assert_eq!(report.durable_entries, 4);
        for owner in ["ann", "bob", "cat", "dan"] {
            assert_eq!(memory.durable_timeline(&id(owner)), vec![tweet.tweet_id], "{owner}");
        }
        assert!(memory.durable_timeline(&id("eve")).is_empty());
    }

    #[tokio::test]
    async fn a_large_fan_out_writes_the_cached_timelines_first_and_reaches_everyone() {
        let memory = world(&["ann", "bob", "cat", "dan", "eve", "fay"]).await;
        for follower in ["bob", "cat", "dan", "eve", "fay"] {
            memory.follow(&Follow::new(id(follower), id("ann")).unwrap()).await.unwrap();
        }
        for reader in ["eve", "fay"] {
            memory.begin_fill(&id(reader)).await.unwrap();
        }
        let tweet = post(&memory, "ann", "hello").await;
        let report = fanout(&memory).apply(&TimelineEvent::TweetPosted(tweet.clone())).await.unwrap();
        assert_eq!((report.followers, report.durable_entries, report.cached_entries), (5, 6, 2));

        // Pages of two: [bob, cat], [dan, eve], [fay]; only eve's and fay's are cached.
        let inserts: Vec<Vec<UserId>> = memory
            .durable_inserts
            .lock()
            .unwrap()
            .iter()
            .filter(|owners| !owners.is_empty())
            .cloned()
            .collect();
        let ids = |names: &[&str]| names.iter().map(|name| id(name)).collect::<Vec<_>>();
        assert_eq!(inserts, vec![ids(&["eve"]), ids(&["fay"]), ids(&["ann", "bob", "cat", "dan"])]);
        for owner in ["ann", "bob", "cat", "dan", "eve", "fay"] {
            assert_eq!(memory.durable_timeline(&id(owner)), vec![tweet.tweet_id], "{owner}");
        }
        for reader in ["eve", "fay"] {
            let page = memory.page(&id(reader), None, 10).await.unwrap().unwrap();
            assert_eq!(page.ids, vec![tweet.tweet_id], "{reader}");
        }
    }

    #[tokio::test]
    async fn delivering_an_event_twice_changes_nothing() {
        let memory = world(&["ann", "bob"]).await;
        memory.follow(&Follow::new(id("bob"), id("ann")).unwrap()).await.unwrap();
        memory.begin_fill(&id("bob")).await.unwrap();
        let tweet = post(&memory, "ann", "once").await;
        let event = TimelineEvent::TweetPosted(tweet.clone());
        fanout(&memory).apply(&event).await.unwrap();
        let once = (memory.durable_timeline(&id("bob")), memory.cached.lock().unwrap().clone());
        fanout(&memory).apply(&event).await.unwrap();
        let twice = (memory.durable_timeline(&id("bob")), memory.cached.lock().unwrap().clone());
        assert_eq!(once, twice);
    }

    #[tokio::test]
    async fn only_cached_timelines_are_written_in_the_cache() {
        let memory = world(&["ann", "bob", "cat"]).await;
        for follower in ["bob", "cat"] {
            memory.follow(&Follow::new(id(follower), id("ann")).unwrap()).await.unwrap();
        }
        memory.begin_fill(&id("bob")).await.unwrap();
        let tweet = post(&memory, "ann", "hi").await;
        let report = fanout(&memory).apply(&TimelineEvent::TweetPosted(tweet)).await.unwrap();
        assert_eq!(report.cached_entries, 1);
        assert!(!memory.cached.lock().unwrap().contains_key(&id("cat")));
    }

    #[tokio::test]
    async fn an_active_readers_durable_timeline_is_trimmed_as_its_cached_copy_fills() {
        let memory = world(&["ann", "bob", "cat"]).await;
        for follower in ["bob", "cat"] {
            memory.follow(&Follow::new(id(follower), id("ann")).unwrap()).await.unwrap();
        }
        memory.begin_fill(&id("bob")).await.unwrap();
        let posts = TIMELINE_CAP + TRIM_STEP + 10;
        for n in 0..posts {
            let tweet = post(&memory, "ann", &format!("tweet {n}")).await;
            fanout(&memory).apply(&TimelineEvent::TweetPosted(tweet)).await.unwrap();
        }
        let (active, inactive) = (memory.durable_timeline(&id("bob")), memory.durable_timeline(&id("cat")));
        assert_eq!(active.len(), TIMELINE_CAP + 10, "trimmed once, at the step");
        assert_eq!(active[..], inactive[..TIMELINE_CAP + 10], "the newest kept");
        assert_eq!(inactive.len(), posts, "an inactive reader's entries expire by TTL instead");
    }

    #[tokio::test]
    async fn a_trim_that_fails_is_asked_for_again_and_removes_everything_past_the_cap() {
        let memory = world(&["ann", "bob"]).await;
        memory.follow(&Follow::new(id("bob"), id("ann")).unwrap()).await.unwrap();
        memory.begin_fill(&id("bob")).await.unwrap();
        let posts = |range: std::ops::Range<usize>| {
            let memory = &memory;
            async move {
                for n in range {
                    let tweet = post(memory, "ann", &format!("tweet {n}")).await;
                    fanout(memory).apply(&TimelineEvent::TweetPosted(tweet)).await.unwrap();
                }
            }
        };
        memory.durable_removes_down.store(true, Ordering::Relaxed);
        posts(0..TIMELINE_CAP + 2 * TRIM_STEP).await;
        assert_eq!(memory.durable_timeline(&id("bob")).len(), TIMELINE_CAP + 2 * TRIM_STEP, "no trim");
        memory.durable_removes_down.store(false, Ordering::Relaxed);
        posts(0..10).await;
        assert_eq!(memory.durable_timeline(&id("bob")).len(), TIMELINE_CAP + 9, "trimmed at the next add");
    }

    #[tokio::test]
    async fn deleting_takes_the_tweet_out_of_every_timeline() {
        let memory = world(&["ann", "bob"]).await;
        memory.follow(&Follow::new(id("bob"), id("ann")).unwrap()).await.unwrap();
        memory.begin_fill(&id("bob")).await.unwrap();
        let tweet = post(&memory, "ann", "oops").await;
        fanout(&memory).apply(&TimelineEvent::TweetPosted(tweet.clone())).await.unwrap();
        memory.delete(&tweet.tweet_id).await.unwrap();
        let deleted = TimelineEvent::TweetDeleted { tweet_id: tweet.tweet_id, author_id: id("ann") };
        fanout(&memory).apply(&deleted).await.unwrap();
        assert!(memory.durable_timeline(&id("bob")).is_empty());
        assert_eq!(memory.page(&id("bob"), None, 10).await.unwrap().unwrap().ids, vec![]);
        assert_eq!(memory.tweets(&[tweet.tweet_id]).await.unwrap(), vec![None]);
    }

    #[tokio::test]
    async fn follow_backfills_and_unfollow_removes_the_followees_tweets() {
        let memory = world(&["ann", "bob"]).await;
        let mut posted = Vec::new();
        for n in 0..3 {
            posted.push(post(&memory, "ann", &format!("tweet {n}")).await.tweet_id);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let edge = Follow::new(id("bob"), id("ann")).unwrap();
        fanout(&memory).apply(&TimelineEvent::Followed(edge.clone())).await.unwrap();
        posted.reverse();
        assert_eq!(memory.durable_timeline(&id("bob")), posted);
        fanout(&memory).apply(&TimelineEvent::Unfollowed(edge)).await.unwrap();
        assert!(memory.durable_timeline(&id("bob")).is_empty());
    }
}

//! Reading a home timeline: the cache first, on a miss the durable timeline (a query, never a
//! scan) which then refills the cache; tweet bodies from the process, then the cache, missing
//! ones by key.
//!
//! Authors merged in at read time (hybrid fan-out) are not fanned out: the reader's timeline
//! lists those it follows (kept by the follows consumer, so no read pages a following list), and
//! their recent tweets are merged in here from a per-author list. Every source is keyed by tweet
//! ID, so "older than the cursor" means the same in each and paging stays exact; a page is
//! filled past tweets deleted since their entries were written, so it comes back short only at
//! the end of the timeline.
//!
//! A cache hit costs one round trip for the page and the merged authors, one more for their
//! recent lists if the reader follows any, and one for the bodies not in the process, which
//! after a first read of a page are none.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::bodies::Bodies;
use crate::ports::{CachedPage, FillClaim, StoreResult, TimelineCache, TimelineStore, Tweets};
use crate::timeline::{Limit, Page, TIMELINE_CAP, TRIM_STEP, trim_past_cap};
use crate::tweet::{Tweet, TweetId};
use crate::values::{Timestamp, UserId};

/// How long a reader waits for a rebuild under way elsewhere (most take tens of milliseconds)
/// before it reads its page from the durable timeline instead, and how often it looks.
const REBUILD_WAIT: Duration = Duration::from_millis(1000);
const REBUILD_POLL: Duration = Duration::from_millis(20);

/// The stores a home timeline is read from.
pub struct Home<'a, C, S, T> {
    pub cache: &'a C,
    pub store: &'a S,
    pub tweets: &'a T,
    pub bodies: &'a Bodies,
    pub rebuilds: &'a Rebuilds,
}

impl<C: TimelineCache, S: TimelineStore, T: Tweets> Home<'_, C, S, T> {
    /// The owner's home timeline, newest first, older than `before`.
    pub async fn read(
        &self,
        owner: &UserId,
        before: Option<TweetId>,
        limit: Limit,
    ) -> StoreResult<Page<Arc<Tweet>>> {
        // One extra ID tells whether another page exists.
        let want = limit.get() + 1;
        let mut found = Vec::with_capacity(want);
        let mut after = before;
        // IDs whose tweets were deleted (their removal not yet fanned out) leave gaps: read on
        // past them until the page is full or the timeline ends.
        loop {
            let ids = self.ids(owner, after, want).await?;
            let exhausted = ids.len() < want;
            after = ids.last().copied().or(after);
            found.extend(hydrate(self.bodies, self.cache, self.tweets, &ids).await?);
            if exhausted || found.len() >= want {
                return Ok(Page::from_overfetch(found, limit, |t| t.tweet_id.to_string()));
            }
        }
    }

    /// Fill the owner's cached timeline from the durable one unless it is cached, through the
    /// same single-flight rebuild as a miss; returns how many entries it holds.
    /// (`timeline-admin warm`, which drops a stale copy first.)
    pub async fn fill(&self, owner: &UserId) -> StoreResult<usize> {
        Ok(self.refill(owner, None, TIMELINE_CAP).await?.ids.len())
    }

    /// Up to `want` IDs older than `before`, newest first: the precomputed timeline with the
    /// merged authors' tweets merged in.
    async fn ids(&self, owner: &UserId, before: Option<TweetId>, want: usize) -> StoreResult<Vec<TweetId>> {
        let CachedPage { ids, merged_authors } = self.fanned_out(owner, before, want).await?;
        if merged_authors.is_empty() {
            return Ok(ids);
        }
        self.merge(ids, &merged_authors, before, want).await
    }

    /// The page from the precomputed timeline: cached, rebuilt, or durable alone.
    async fn fanned_out(
        &self,
        owner: &UserId,
        before: Option<TweetId>,
        want: usize,
    ) -> StoreResult<CachedPage> {
        match self.cache.page(owner, before.as_ref(), want).await {
            Ok(Some(page)) => Ok(page),
            Ok(None) => self.refill(owner, before, want).await,
            Err(error) => {
                // The durable timeline can answer alone, a page at a time: slower, but the reader
                // gets a page (the cache's breaker makes the failure itself cost nothing).
                tracing::debug!(%error, "timeline cache unreadable; serving from the durable timeline");
                self.durable_page(owner, before, want).await
            }
        }
    }

    /// Rebuild the cached timeline from the durable one. Concurrent misses for one owner in
    /// this process share the rebuild: the later ones wait, then find the cache filled.
    async fn refill(&self, owner: &UserId, before: Option<TweetId>, want: usize) -> StoreResult<CachedPage> {
        let lock = self.rebuilds.lock_for(owner);
        let refilled = {
            let _one_at_a_time = lock.lock().await;
            self.refill_alone(owner, before, want).await
        };
        self.rebuilds.release(owner, &lock);
        refilled
    }

    /// A page while another caller rebuilds the timeline: from the cache once it is filled
    /// (waiting `REBUILD_WAIT` at most), else from the durable timeline, without a second rebuild.
    async fn rebuilt_elsewhere(
        &self,
        owner: &UserId,
        before: Option<TweetId>,
        want: usize,
    ) -> StoreResult<CachedPage> {
        let deadline = tokio::time::Instant::now() + REBUILD_WAIT;
        while tokio::time::Instant::now() < deadline {
            tokio::time::sleep(REBUILD_POLL).await;
            if let Some(page) = self.cache.page(owner, before.as_ref(), want).await? {
                return Ok(page);
            }
        }
        self.durable_page(owner, before, want).await
    }

    /// A page from the durable timeline alone, the cache left as it is.
    async fn durable_page(
        &self,
        owner: &UserId,
        before: Option<TweetId>,
        want: usize,
    ) -> StoreResult<CachedPage> {
        let (entries, merged_authors) = futures::future::try_join(
            self.store.newest(owner, before.as_ref(), want),
            self.store.merged_authors(owner),
        )
        .await?;
        Ok(CachedPage { ids: entries.into_iter().map(|e| e.tweet_id).collect(), merged_authors })
    }

    async fn refill_alone(
        &self,
        owner: &UserId,
        before: Option<TweetId>,
        want: usize,
    ) -> StoreResult<CachedPage> {
        if let Some(page) = self.cache.page(owner, before.as_ref(), want).await? {
            return Ok(page);
        }
        if self.cache.begin_fill(owner).await? == FillClaim::Elsewhere {
            return self.rebuilt_elsewhere(owner, before, want).await;
        }
        let mut home = self.store.home(owner, TIMELINE_CAP + TRIM_STEP).await?;
        // Amortised trim of the durable timeline, paid by the rebuild.
        trim_past_cap(self.store, &mut home.entries).await;
        let all: Vec<TweetId> = home.entries.into_iter().map(|e| e.tweet_id).collect();
        if self.cache.finish_fill(owner, &all, &home.merged_authors).await? {
            // Once a day per reader; a read never fails for it.
            if let Err(error) = self.store.mark_seen(owner, Timestamp::now()).await {
                tracing::warn!(%error, "could not record the reader as seen");
            }
        }
        Ok(CachedPage { ids: older_than(all, before, want), merged_authors: home.merged_authors })
    }

    /// Merge in the recent tweets of the merged authors the owner follows.
    async fn merge(
        &self,
        fanned_out: Vec<TweetId>,
        authors: &[UserId],
        before: Option<TweetId>,
        want: usize,
    ) -> StoreResult<Vec<TweetId>> {
        let mut merged: BTreeSet<TweetId> = fanned_out.into_iter().collect();
        match self.cache.recent(authors, before.as_ref(), want).await {
            Ok(lists) => {
                for (author, recent) in authors.iter().zip(lists) {
                    match recent {
                        Some(ids) => merged.extend(ids),
                        None => merged.extend(self.recent_from_index(author, before, want).await?),
                    }
                }
            }
            Err(error) => {
                // The cache is down: just the page's worth from each author's index.
                tracing::debug!(%error, "recent tweets unreadable; reading them by author");
                for author in authors {
                    let tweets = self.tweets.by_author(author, before.as_ref(), want).await?;
                    merged.extend(tweets.into_iter().map(|t| t.tweet_id));
                }
            }
        }
        Ok(merged.into_iter().rev().take(want).collect())
    }

    /// An author's recent tweets from its index, for a recent list lost (or never filled): the
    /// list is filled again on the way, so the next reads find it.
    async fn recent_from_index(
        &self,
        author: &UserId,
        before: Option<TweetId>,
        want: usize,
    ) -> StoreResult<Vec<TweetId>> {
        let newest = self.tweets.by_author(author, None, TIMELINE_CAP).await?;
        let ids: Vec<TweetId> = newest.iter().map(|t| t.tweet_id).collect();
        if let Err(error) = self.cache.fill_recent(author, &ids).await {
            tracing::debug!(%error, "could not refill an author's recent list");
        }
        Ok(older_than(ids, before, want))
    }
}

/// Rebuilds under way in this process, one lock per owner.
#[derive(Default)]
pub struct Rebuilds(Mutex<HashMap<UserId, Arc<futures::lock::Mutex<()>>>>);

impl Rebuilds {
    fn lock_for(&self, owner: &UserId) -> Arc<futures::lock::Mutex<()>> {
        let mut locks = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        locks.entry(owner.clone()).or_default().clone()
    }

    /// Forget the owner's lock once no one else holds or waits for it.
    fn release(&self, owner: &UserId, lock: &Arc<futures::lock::Mutex<()>>) {
        let mut locks = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // One reference in the map, one in the caller: nobody else is waiting.
        if Arc::strong_count(lock) <= 2 {
            locks.remove(owner);
        }
    }
}

/// Up to `want` of `newest_first` older than `before`.
fn older_than(newest_first: Vec<TweetId>, before: Option<TweetId>, want: usize) -> Vec<TweetId> {
    newest_first.into_iter().filter(|id| before.is_none_or(|b| *id < b)).take(want).collect()
}

/// The tweets behind `ids`, in the order of `ids`: bodies held by the process first (shared,
/// not copied), then the cache's, the rest by key from the tweets table (then cached in both).
/// Deleted tweets are left out.
async fn hydrate(
    bodies: &Bodies,
    cache: &impl TimelineCache,
    tweets: &impl Tweets,
    ids: &[TweetId],
) -> StoreResult<Vec<Arc<Tweet>>> {
    let mut found: Vec<Option<Arc<Tweet>>> = ids.iter().map(|id| bodies.get(id)).collect();
    let not_held: Vec<TweetId> =
        ids.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(id, _)| *id).collect();
    if not_held.is_empty() {
        return Ok(found.into_iter().flatten().collect());
    }
    let cached = cache.tweets(&not_held).await.unwrap_or_else(|error| {
        tracing::debug!(%error, "tweet cache unreadable; reading tweets by key");
        vec![None; not_held.len()]
    });
    let mut by_id: HashMap<TweetId, Tweet> = cached.into_iter().flatten().map(|t| (t.tweet_id, t)).collect();
    let not_cached: Vec<TweetId> = not_held.iter().filter(|id| !by_id.contains_key(id)).copied().collect();
    if !not_cached.is_empty() {
        let loaded = tweets.get_many(&not_cached).await?;
        if let Err(error) = cache.put_tweets(&loaded).await {
            tracing::debug!(%error, "could not cache tweet bodies");
        }
        by_id.extend(loaded.into_iter().map(|t| (t.tweet_id, t)));
    }
    for (id, slot) in ids.iter().zip(&mut found) {
        if slot.is_none() {
            *slot = by_id.remove(id).map(Arc::new);
            if let Some(tweet) = slot {
                bodies.insert(Arc::clone(tweet));
            }
        }
    }
    Ok(found.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{Memory, MemoryHome, fanout, fanout_with_threshold, home, id, post, world};
    use crate::fanout::TimelineEvent;
    use crate::follow::Follow;
    use crate::ports::{Follows, TimelineStore, Tweets, Users};

    #[tokio::test]
    async fn a_cache_miss_is_served_from_the_durable_timeline_and_refills_the_cache() {
        let memory = world(&["ann", "bob"]).await;
        memory.follow(&Follow::new(id("bob"), id("ann")).unwrap()).await.unwrap();
        let posted = posted_and_fanned_out(&memory, "ann", 5).await;
        assert_eq!(memory.page(&id("bob"), None, 10).await.unwrap(), None);
        let limit = Limit::parse(Some("3")).unwrap();
        let rebuilds = Rebuilds::default();
        let first = home(&memory, &rebuilds).read(&id("bob"), None, limit).await.unwrap();
        let ids: Vec<TweetId> = first.items.iter().map(|t| t.tweet_id).collect();
        assert_eq!(ids, posted[..3]);
        assert_eq!(memory.page(&id("bob"), None, 10).await.unwrap().unwrap().ids, posted);
        let before = TweetId::parse(first.next.as_deref().unwrap()).unwrap();
        let second = home(&memory, &rebuilds).read(&id("bob"), Some(before), limit).await.unwrap();
        let ids: Vec<TweetId> = second.items.iter().map(|t| t.tweet_id).collect();
        assert_eq!(ids, posted[3..]);
        assert_eq!(second.next, None);
    }

    /// `count` tweets by `author`, fanned out, newest first.
    async fn posted_and_fanned_out(memory: &Memory, author: &str, count: usize) -> Vec<TweetId> {
        let mut posted = Vec::new();
        for n in 0..count {
            let tweet = post(memory, author, &format!("tweet {n}")).await;
            fanout(memory).apply(&TimelineEvent::TweetPosted(tweet.clone())).await.unwrap();
            posted.push(tweet.tweet_id);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        posted.reverse();
        posted
    }

    /// Follow through the fan-out, as the follows consumer does (so crossings are noticed).
    async fn follow(memory: &Memory, threshold: u64, follower: &str, followee: &str) {
        let edge = Follow::new(id(follower), id(followee)).unwrap();
        memory.follow(&edge).await.unwrap();
        fanout_with_threshold(memory, threshold).apply(&TimelineEvent::Followed(edge)).await.unwrap();
    }

    async fn unfollow(memory: &Memory, threshold: u64, follower: &str, followee: &str) {
        let edge = Follow::new(id(follower), id(followee)).unwrap();
        memory.unfollow(&edge).await.unwrap();
        fanout_with_threshold(memory, threshold).apply(&TimelineEvent::Unfollowed(edge)).await.unwrap();
    }

    async fn merged(memory: &Memory, author: &str) -> bool {
        Users::get(memory, &id(author)).await.unwrap().unwrap().merged_at_read
    }

    /// Every page of the owner's timeline, followed by its cursors.
    async fn read_all(reader: &MemoryHome<'_>, owner: &str, limit: &str) -> Vec<TweetId> {
        let limit = Limit::parse(Some(limit)).unwrap();
        let (mut seen, mut before) = (Vec::new(), None);
        loop {
            let page = reader.read(&id(owner), before, limit).await.unwrap();
            seen.extend(page.items.iter().map(|t| t.tweet_id));
            match page.next {
                Some(next) => before = Some(TweetId::parse(&next).unwrap()),
                None => return seen,
            }
        }
    }

    #[tokio::test]
    async fn a_merged_authors_tweets_are_merged_in_at_read_time_in_order_across_pages() {
        let memory = world(&["star", "bob", "cat"]).await;
        // With a threshold of 1, an author with two followers is merged in at read time.
        for fan in ["bob", "cat"] {
            follow(&memory, 1, fan, "star").await;
        }
        follow(&memory, 1, "bob", "cat").await;
        assert!(merged(&memory, "star").await);
        assert_eq!(memory.merged_authors(&id("bob")).await.unwrap(), vec![id("star")]);
        let fanout = fanout_with_threshold(&memory, 1);
        let mut posted = Vec::new();
        for (n, author) in ["star", "cat", "star", "cat", "star"].into_iter().enumerate() {
            let tweet = post(&memory, author, &format!("tweet {n}")).await;
            let report = fanout.apply(&TimelineEvent::TweetPosted(tweet.clone())).await.unwrap();
            assert_eq!(
                report.followers,
                usize::from(author == "cat"),
                "{author} is fanned out only when not merged"
            );
            posted.push(tweet.tweet_id);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(memory.durable_timeline(&id("bob")).len(), 2, "only cat's tweets were copied");

        posted.reverse();
        let rebuilds = Rebuilds::default();
        assert_eq!(read_all(&home(&memory, &rebuilds), "bob", "2").await, posted);
        unfollow(&memory, 1, "bob", "star").await;
        assert!(memory.merged_authors(&id("bob")).await.unwrap().is_empty());
        assert!(
            memory.cached_merged.lock().unwrap()[&id("bob")].is_empty(),
            "the cached list follows the unfollow"
        );
    }

    #[tokio::test]
    async fn an_author_crossing_the_threshold_both_ways_stays_in_its_followers_timelines() {
        let memory = world(&["star", "ann", "bob", "cat"]).await;
        // Threshold 2: merged over 2 followers, fanned out again below 90% of 2 (under 2).
        follow(&memory, 2, "ann", "star").await;
        let early = post(&memory, "star", "early").await;
        fanout_with_threshold(&memory, 2).apply(&TimelineEvent::TweetPosted(early.clone())).await.unwrap();
        follow(&memory, 2, "bob", "star").await;
        follow(&memory, 2, "cat", "star").await;
        assert!(merged(&memory, "star").await, "crossed up at 3 followers");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let middle = post(&memory, "star", "while merged").await;
        let report = fanout_with_threshold(&memory, 2)
            .apply(&TimelineEvent::TweetPosted(middle.clone()))
            .await
            .unwrap();
        assert_eq!(report.followers, 0);
        let rebuilds = Rebuilds::default();
        for fan in ["ann", "bob", "cat"] {
            assert_eq!(
                read_all(&home(&memory, &rebuilds), fan, "5").await,
                vec![middle.tweet_id, early.tweet_id],
                "{fan}"
            );
        }

        unfollow(&memory, 2, "cat", "star").await;
        assert!(merged(&memory, "star").await, "2 is not below 90% of 2");
        unfollow(&memory, 2, "bob", "star").await;
        assert!(!merged(&memory, "star").await, "crossed down at 1 follower");
        std::thread::sleep(std::time::Duration::from_millis(2));
        let late = post(&memory, "star", "fanned out again").await;
        let report =
            fanout_with_threshold(&memory, 2).apply(&TimelineEvent::TweetPosted(late.clone())).await.unwrap();
        assert_eq!(report.followers, 1);
        assert_eq!(
            memory.merged_authors(&id("ann")).await.unwrap(),
            vec![id("star")],
            "ann still merges star in"
        );
        let all = vec![late.tweet_id, middle.tweet_id, early.tweet_id];
        assert_eq!(read_all(&home(&memory, &rebuilds), "ann", "2").await, all);
        assert!(read_all(&home(&memory, &rebuilds), "bob", "5").await.is_empty());
    }

    #[tokio::test]
    async fn a_page_next_to_deleted_tweets_is_full_and_its_cursor_continues_after_it() {
        let memory = world(&["ann", "bob"]).await;
        follow(&memory, u64::MAX, "bob", "ann").await;
        let posted = posted_and_fanned_out(&memory, "ann", 10).await;
        // Deleted, their removal not fanned out yet: the timelines still hold them.
        for gone in &posted[1..5] {
            memory.delete(gone).await.unwrap();
            memory.forget_tweet(gone).await.unwrap();
        }
        let rebuilds = Rebuilds::default();
        let reader = home(&memory, &rebuilds);
        let first = reader.read(&id("bob"), None, Limit::parse(Some("3")).unwrap()).await.unwrap();
        let ids: Vec<TweetId> = first.items.iter().map(|t| t.tweet_id).collect();
        assert_eq!(ids, [posted[0], posted[5], posted[6]]);
        assert_eq!(first.next, Some(posted[6].to_string()));
        let live: Vec<TweetId> = [&posted[..1], &posted[5..]].concat();
        assert_eq!(read_all(&reader, "bob", "3").await, live);
    }

    #[tokio::test]
    async fn a_deleted_tweet_is_not_served_from_the_process_once_its_delete_fanned_out() {
        let memory = world(&["ann", "bob"]).await;
        follow(&memory, u64::MAX, "bob", "ann").await;
        let tweet = post(&memory, "ann", "soon gone").await;
        fanout(&memory).apply(&TimelineEvent::TweetPosted(tweet.clone())).await.unwrap();
        let rebuilds = Rebuilds::default();
        assert_eq!(read_all(&home(&memory, &rebuilds), "bob", "5").await, vec![tweet.tweet_id]);
        assert!(memory.held.get(&tweet.tweet_id).is_some(), "the read kept the body in the process");
        memory.delete(&tweet.tweet_id).await.unwrap();
        let deleted = TimelineEvent::TweetDeleted { tweet_id: tweet.tweet_id, author_id: id("ann") };
        fanout(&memory).apply(&deleted).await.unwrap();
        assert!(memory.held.get(&tweet.tweet_id).is_some(), "another process's copy outlives the tweet");
        assert!(read_all(&home(&memory, &rebuilds), "bob", "5").await.is_empty());
    }

    #[tokio::test]
    async fn concurrent_misses_for_one_reader_share_one_rebuild() {
        let memory = world(&["ann"]).await;
        let rebuilds = Rebuilds::default();
        let reader = home(&memory, &rebuilds);
        let limit = Limit::default();
        let ann = id("ann");
        let reads = (0..8).map(|_| reader.read(&ann, None, limit));
        for page in futures::future::join_all(reads).await {
            assert!(page.unwrap().items.is_empty());
        }
        assert_eq!(*memory.fills.lock().unwrap(), 1);
    }
}

//! Reading a home timeline: the cache first, on a miss the durable timeline (a query, never a
//! scan) which then refills the cache; tweet bodies from the cache, missing ones by key.
//!
//! Authors with more followers than the threshold are not fanned out (hybrid fan-out): their
//! recent tweets are merged in here, at read time, from a per-author list. Every source is keyed
//! by tweet ID, so "older than the cursor" means the same in each and paging stays exact.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use crate::ports::{Follows, StoreResult, TimelineCache, TimelineStore, Tweets, Users};
use crate::timeline::{Limit, Page, TIMELINE_CAP};
use crate::tweet::{Tweet, TweetId};
use crate::values::UserId;

/// Entries past the cap removed from the durable timeline per cache rebuild.
const TRIM_STEP: usize = 200;

/// Readers' follows read per step when looking for the celebrities they follow.
const FOLLOWING_PAGE: usize = 1000;

/// The stores a home timeline is read from, and the hybrid fan-out threshold.
pub struct Home<'a, C, S, T, F, U> {
    pub cache: &'a C,
    pub store: &'a S,
    pub tweets: &'a T,
    pub follows: &'a F,
    pub users: &'a U,
    pub fanout_threshold: u64,
    pub rebuilds: &'a Rebuilds,
}

impl<C: TimelineCache, S: TimelineStore, T: Tweets, F: Follows, U: Users> Home<'_, C, S, T, F, U> {
    /// The owner's home timeline, newest first, older than `before`.
    pub async fn read(
        &self,
        owner: &UserId,
        before: Option<TweetId>,
        limit: Limit,
    ) -> StoreResult<Page<Tweet>> {
        // One extra ID tells whether another page exists.
        let want = limit.get() + 1;
        let fanned_out = self.fanned_out(owner, before, want).await?;
        let merged = self.merge_celebrities(owner, fanned_out, before, want).await?;
        let found = hydrate(self.cache, self.tweets, &merged).await?;
        Ok(Page::from_overfetch(found, limit, |t| t.tweet_id.to_string()))
    }

    /// The page from the precomputed timeline: cached, rebuilt, or durable alone.
    async fn fanned_out(
        &self,
        owner: &UserId,
        before: Option<TweetId>,
        want: usize,
    ) -> StoreResult<Vec<TweetId>> {
        match self.cache.page(owner, before.as_ref(), want).await {
            Ok(Some(ids)) => Ok(ids),
            Ok(None) => self.refill(owner, before, want).await,
            Err(error) => {
                // The durable timeline can answer alone: slower, but the reader gets a page.
                tracing::warn!(%error, "timeline cache unreadable; serving from the durable timeline");
                let entries = self.store.newest(owner, TIMELINE_CAP).await?;
                Ok(older_than(entries.into_iter().map(|e| e.tweet_id), before, want))
            }
        }
    }

    /// Rebuild the cached timeline from the durable one. Concurrent misses for one owner in
    /// this process share the rebuild: the later ones wait, then find the cache filled.
    async fn refill(
        &self,
        owner: &UserId,
        before: Option<TweetId>,
        want: usize,
    ) -> StoreResult<Vec<TweetId>> {
        let lock = self.rebuilds.lock_for(owner);
        let refilled = {
            let _one_at_a_time = lock.lock().await;
            self.refill_alone(owner, before, want).await
        };
        self.rebuilds.release(owner, &lock);
        refilled
    }

    async fn refill_alone(
        &self,
        owner: &UserId,
        before: Option<TweetId>,
        want: usize,
    ) -> StoreResult<Vec<TweetId>> {
        if let Some(ids) = self.cache.page(owner, before.as_ref(), want).await? {
            return Ok(ids);
        }
        self.cache.begin_fill(owner).await?;
        let mut entries = self.store.newest(owner, TIMELINE_CAP + TRIM_STEP).await?;
        let beyond_cap = entries.split_off(entries.len().min(TIMELINE_CAP));
        if !beyond_cap.is_empty() {
            // Amortised trim of the durable timeline, paid by the rebuild, not by each fan-out.
            if let Err(error) = self.store.remove(&beyond_cap).await {
                tracing::warn!(%error, "could not trim the durable timeline");
            }
        }
        let all: Vec<TweetId> = entries.into_iter().map(|e| e.tweet_id).collect();
        self.cache.finish_fill(owner, &all).await?;
        Ok(older_than(all, before, want))
    }

    /// Merge in the recent tweets of the celebrities the owner follows.
    async fn merge_celebrities(
        &self,
        owner: &UserId,
        fanned_out: Vec<TweetId>,
        before: Option<TweetId>,
        want: usize,
    ) -> StoreResult<Vec<TweetId>> {
        let celebrities = self.celebrities_followed(owner).await?;
        if celebrities.is_empty() {
            return Ok(fanned_out);
        }
        let mut merged: BTreeSet<TweetId> = fanned_out.into_iter().collect();
        let recent = self.cache.recent(&celebrities, before.as_ref(), want).await.unwrap_or_else(|error| {
            tracing::warn!(%error, "recent tweets unreadable; reading them by author");
            vec![Vec::new(); celebrities.len()]
        });
        for (author, recent) in celebrities.iter().zip(recent) {
            // A short list may be a lost or young one: the author's index then answers in full.
            let recent = if recent.len() >= want {
                recent
            } else {
                let tweets = self.tweets.by_author(author, before.as_ref(), want).await?;
                tweets.into_iter().map(|t| t.tweet_id).collect()
            };
            merged.extend(recent);
        }
        Ok(merged.into_iter().rev().take(want).collect())
    }

    /// Whom the owner follows that is over the threshold, remembered for a short while.
    async fn celebrities_followed(&self, owner: &UserId) -> StoreResult<Vec<UserId>> {
        if let Some(known) = self.cache.celebrities_followed(owner).await.unwrap_or(None) {
            return Ok(known);
        }
        let mut celebrities = Vec::new();
        let mut after: Option<UserId> = None;
        loop {
            let page = self.follows.following(owner, after.as_ref(), FOLLOWING_PAGE).await?;
            let last_page = page.len() < FOLLOWING_PAGE;
            after = page.last().cloned();
            let profiles = self.users.get_many(&page).await?;
            celebrities.extend(
                profiles.into_iter().filter(|u| u.is_celebrity(self.fanout_threshold)).map(|u| u.user_id),
            );
            if last_page {
                break;
            }
        }
        if let Err(error) = self.cache.remember_celebrities_followed(owner, &celebrities).await {
            tracing::warn!(%error, "could not cache the celebrities a reader follows");
        }
        Ok(celebrities)
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

fn older_than(
    newest_first: impl IntoIterator<Item = TweetId>,
    before: Option<TweetId>,
    want: usize,
) -> Vec<TweetId> {
    newest_first.into_iter().filter(|id| before.is_none_or(|b| *id < b)).take(want).collect()
}

/// The tweets behind `ids`, in the order of `ids`: cached bodies first, the rest by key from
/// the tweets table (then cached). Deleted tweets are left out.
pub async fn hydrate(
    cache: &impl TimelineCache,
    tweets: &impl Tweets,
    ids: &[TweetId],
) -> StoreResult<Vec<Tweet>> {
    let cached = cache.tweets(ids).await.unwrap_or_else(|error| {
        tracing::warn!(%error, "tweet cache unreadable; reading tweets by key");
        vec![None; ids.len()]
    });
    let missing: Vec<TweetId> =
        ids.iter().zip(&cached).filter(|(_, c)| c.is_none()).map(|(id, _)| *id).collect();
    let mut fetched: HashMap<TweetId, Tweet> = HashMap::new();
    if !missing.is_empty() {
        let loaded = tweets.get_many(&missing).await?;
        if let Err(error) = cache.put_tweets(&loaded).await {
            tracing::warn!(%error, "could not cache tweet bodies");
        }
        fetched = loaded.into_iter().map(|t| (t.tweet_id, t)).collect();
    }
    Ok(ids.iter().zip(cached).filter_map(|(id, cached)| cached.or_else(|| fetched.remove(id))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{fanout, fanout_with_threshold, home, id, post, world};
    use crate::fanout::TimelineEvent;
    use crate::follow::Follow;
    use crate::ports::Follows;

    #[tokio::test]
    async fn a_cache_miss_is_served_from_the_durable_timeline_and_refills_the_cache() {
        let memory = world(&["ann", "bob"]).await;
        memory.follow(&Follow::new(id("bob"), id("ann")).unwrap()).await.unwrap();
        let mut posted = Vec::new();
        for n in 0..5 {
            let tweet = post(&memory, "ann", &format!("tweet {n}")).await;
            fanout(&memory).apply(&TimelineEvent::TweetPosted(tweet.clone())).await.unwrap();
            posted.push(tweet.tweet_id);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        posted.reverse();
        assert_eq!(memory.page(&id("bob"), None, 10).await.unwrap(), None);
        let limit = Limit::parse(Some("3")).unwrap();
        let rebuilds = Rebuilds::default();
        let first = home(&memory, &rebuilds, u64::MAX).read(&id("bob"), None, limit).await.unwrap();
        let ids: Vec<TweetId> = first.items.iter().map(|t| t.tweet_id).collect();
        assert_eq!(ids, posted[..3]);
        assert_eq!(memory.page(&id("bob"), None, 10).await.unwrap(), Some(posted.clone()));
        let before = TweetId::parse(first.next.as_deref().unwrap()).unwrap();
        let second = home(&memory, &rebuilds, u64::MAX).read(&id("bob"), Some(before), limit).await.unwrap();
        let ids: Vec<TweetId> = second.items.iter().map(|t| t.tweet_id).collect();
        assert_eq!(ids, posted[3..]);
        assert_eq!(second.next, None);
    }

    #[tokio::test]
    async fn a_celebritys_tweets_are_merged_in_at_read_time_in_order_across_pages() {
        let memory = world(&["star", "bob", "cat"]).await;
        // With a threshold of 1, an author with two followers is a celebrity.
        for fan in ["bob", "cat"] {
            memory.follow(&Follow::new(id(fan), id("star")).unwrap()).await.unwrap();
        }
        memory.follow(&Follow::new(id("bob"), id("cat")).unwrap()).await.unwrap();
        let fanout = fanout_with_threshold(&memory, 1);
        let mut posted = Vec::new();
        for (n, author) in ["star", "cat", "star", "cat", "star"].into_iter().enumerate() {
            let tweet = post(&memory, author, &format!("tweet {n}")).await;
            let report = fanout.apply(&TimelineEvent::TweetPosted(tweet.clone())).await.unwrap();
            assert_eq!(
                report.followers,
                usize::from(author == "cat"),
                "{author} is fanned out only when not a celebrity"
            );
            posted.push(tweet.tweet_id);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        assert_eq!(memory.durable_timeline(&id("bob")).len(), 2, "only cat's tweets were copied");

        posted.reverse();
        let rebuilds = Rebuilds::default();
        let reader = home(&memory, &rebuilds, 1);
        let limit = Limit::parse(Some("2")).unwrap();
        let mut seen = Vec::new();
        let mut before = None;
        loop {
            let page = reader.read(&id("bob"), before, limit).await.unwrap();
            seen.extend(page.items.iter().map(|t| t.tweet_id));
            match page.next {
                Some(next) => before = Some(TweetId::parse(&next).unwrap()),
                None => break,
            }
        }
        assert_eq!(seen, posted);
    }

    #[tokio::test]
    async fn concurrent_misses_for_one_reader_share_one_rebuild() {
        let memory = world(&["ann"]).await;
        let rebuilds = Rebuilds::default();
        let reader = home(&memory, &rebuilds, u64::MAX);
        let limit = Limit::default();
        let ann = id("ann");
        let reads = (0..8).map(|_| reader.read(&ann, None, limit));
        for page in futures::future::join_all(reads).await {
            assert!(page.unwrap().items.is_empty());
        }
        assert_eq!(*memory.fills.lock().unwrap(), 1);
    }
}

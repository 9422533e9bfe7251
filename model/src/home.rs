//! Reading a home timeline: the cache first, on a miss the durable timeline (a query, never a
//! scan) which then refills the cache; tweet bodies from the cache, missing ones by key.

use std::collections::HashMap;

use crate::ports::{StoreResult, TimelineCache, TimelineStore, Tweets};
use crate::timeline::{Limit, Page, TIMELINE_CAP};
use crate::tweet::{Tweet, TweetId};
use crate::values::UserId;

/// The owner's home timeline, newest first, older than `before`.
pub async fn read_home(
    cache: &impl TimelineCache,
    store: &impl TimelineStore,
    tweets: &impl Tweets,
    owner: &UserId,
    before: Option<TweetId>,
    limit: Limit,
) -> StoreResult<Page<Tweet>> {
    // One extra ID tells whether another page exists.
    let want = limit.get() + 1;
    let ids = match cache.page(owner, before.as_ref(), want).await {
        Ok(Some(ids)) => ids,
        Ok(None) => refill(cache, store, owner, before, want).await?,
        Err(error) => {
            // The durable timeline can answer alone: slower, but the reader gets a page.
            tracing::warn!(%error, "timeline cache unreadable; serving from the durable timeline");
            let entries = store.newest(owner, TIMELINE_CAP).await?;
            older_than(entries.into_iter().map(|e| e.tweet_id), before, want)
        }
    };
    let found = hydrate(cache, tweets, &ids).await?;
    Ok(Page::from_overfetch(found, limit, |t| t.tweet_id.to_string()))
}

/// Rebuild the cached timeline from the durable one and answer from what was read.
async fn refill(
    cache: &impl TimelineCache,
    store: &impl TimelineStore,
    owner: &UserId,
    before: Option<TweetId>,
    want: usize,
) -> StoreResult<Vec<TweetId>> {
    cache.begin_fill(owner).await?;
    let all: Vec<TweetId> =
        store.newest(owner, TIMELINE_CAP).await?.into_iter().map(|e| e.tweet_id).collect();
    cache.finish_fill(owner, &all).await?;
    Ok(older_than(all, before, want))
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

//! The real adapters with the fan-out's three steps timed, for `--breakdown`. The fan-out runs
//! them one after another, so the phases add up to its wall time; every other method passes
//! straight through.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use timeline_model::fanout::stale::{Stale, StaleNote};
use timeline_model::ports::{
    Added, CachedPage, DurableHome, EdgeChange, FillClaim, Follows, StoreResult, TimelineCache, TimelineStore,
};
use timeline_model::{Follow, TimelineEntry, Timestamp, Tweet, TweetId, UserId};
use timeline_store::{Dynamo, RedisCache};

/// The timed steps of a fan-out.
#[derive(Debug, Clone, Copy)]
pub enum Phase {
    /// `Follows::followers`: reading a page of followers.
    Followers,
    /// `TimelineStore::insert`: writing a page's entries to DynamoDB.
    Durable,
    /// `TimelineCache::add`: adding a page's entries to the cached timelines.
    Cache,
}

/// Where an instrumented fan-out spent its time.
pub struct Phases {
    pub wall: Duration,
    spent: [Duration; 3],
}

impl Phases {
    pub fn of(&self, phase: Phase) -> Duration {
        self.spent[phase as usize]
    }

    /// Everything outside the three timed phases (the tweet body's cache write, building entries).
    pub fn other(&self) -> Duration {
        self.wall.saturating_sub(self.spent.iter().sum())
    }
}

/// `Follows`, `TimelineStore` and `TimelineCache` over the real adapters, timing each phase.
pub struct Probe<'a> {
    dynamo: &'a Dynamo,
    cache: &'a RedisCache,
    spent: Mutex<[Duration; 3]>,
}

impl<'a> Probe<'a> {
    pub fn new(dynamo: &'a Dynamo, cache: &'a RedisCache) -> Self {
        Self { dynamo, cache, spent: Mutex::default() }
    }

    /// The time spent in each phase, with the fan-out's `wall` time.
    pub fn phases(self, wall: Duration) -> Phases {
        let spent = self.spent.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
        Phases { wall, spent }
    }

    async fn timed<T>(&self, phase: Phase, work: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let output = work.await;
        let elapsed = started.elapsed();
        self.spent.lock().unwrap_or_else(|poisoned| poisoned.into_inner())[phase as usize] += elapsed;
        output
    }
}

impl Follows for Probe<'_> {
    async fn follow(&self, edge: &Follow) -> StoreResult<EdgeChange> {
        self.dynamo.follow(edge).await
    }

    async fn unfollow(&self, edge: &Follow) -> StoreResult<EdgeChange> {
        self.dynamo.unfollow(edge).await
    }

    async fn followers(
        &self,
        user: &UserId,
        after: Option<&UserId>,
        limit: usize,
    ) -> StoreResult<Vec<UserId>> {
        self.timed(Phase::Followers, self.dynamo.followers(user, after, limit)).await
    }

    async fn following(
        &self,
        user: &UserId,
        after: Option<&UserId>,
        limit: usize,
    ) -> StoreResult<Vec<UserId>> {
        self.dynamo.following(user, after, limit).await
    }
}

impl TimelineStore for Probe<'_> {
    async fn mark_seen(&self, owner: &UserId, at: Timestamp) -> StoreResult<()> {
        self.dynamo.mark_seen(owner, at).await
    }

    async fn insert(&self, entries: &[TimelineEntry]) -> StoreResult<()> {
        self.timed(Phase::Durable, self.dynamo.insert(entries)).await
    }

    async fn remove(&self, entries: &[TimelineEntry]) -> StoreResult<()> {
        TimelineStore::remove(self.dynamo, entries).await
    }

    async fn newest(
        &self,
        owner: &UserId,
        before: Option<&TweetId>,
        limit: usize,
    ) -> StoreResult<Vec<TimelineEntry>> {
        self.dynamo.newest(owner, before, limit).await
    }

    async fn home(&self, owner: &UserId, limit: usize) -> StoreResult<DurableHome> {
        self.dynamo.home(owner, limit).await
    }

    async fn merged_authors(&self, owner: &UserId) -> StoreResult<Vec<UserId>> {
        self.dynamo.merged_authors(owner).await
    }

    async fn insert_merged(&self, edges: &[Follow]) -> StoreResult<()> {
        self.dynamo.insert_merged(edges).await
    }

    async fn remove_merged(&self, edges: &[Follow]) -> StoreResult<()> {
        TimelineStore::remove_merged(self.dynamo, edges).await
    }

    async fn by_author(&self, owner: &UserId, author: &UserId) -> StoreResult<Vec<TimelineEntry>> {
        TimelineStore::by_author(self.dynamo, owner, author).await
    }

    async fn note_stale(&self, stale: &Stale) -> StoreResult<()> {
        self.dynamo.note_stale(stale).await
    }

    async fn stale_notes(&self, limit: usize) -> StoreResult<Vec<StaleNote>> {
        self.dynamo.stale_notes(limit).await
    }

    async fn clear_stale(&self, note: &StaleNote) -> StoreResult<()> {
        self.dynamo.clear_stale(note).await
    }
}

impl TimelineCache for Probe<'_> {
    async fn page(
        &self,
        owner: &UserId,
        before: Option<&TweetId>,
        count: usize,
    ) -> StoreResult<Option<CachedPage>> {
        self.cache.page(owner, before, count).await
    }

    async fn begin_fill(&self, owner: &UserId) -> StoreResult<FillClaim> {
        self.cache.begin_fill(owner).await
    }

    async fn finish_fill(&self, owner: &UserId, ids: &[TweetId], merged: &[UserId]) -> StoreResult<bool> {
        self.cache.finish_fill(owner, ids, merged).await
    }

    async fn add(&self, entries: &[TimelineEntry]) -> StoreResult<Added> {
        self.timed(Phase::Cache, self.cache.add(entries)).await
    }

    async fn remove(&self, entries: &[TimelineEntry]) -> StoreResult<()> {
        TimelineCache::remove(self.cache, entries).await
    }

    async fn cached(&self, owners: &[UserId]) -> StoreResult<Vec<bool>> {
        self.cache.cached(owners).await
    }

    async fn trimmed(&self, owners: &[UserId]) -> StoreResult<()> {
        self.cache.trimmed(owners).await
    }

    async fn evict(&self, owners: &[UserId]) -> StoreResult<()> {
        self.cache.evict(owners).await
    }

    async fn forget_recent(&self, authors: &[UserId]) -> StoreResult<()> {
        self.cache.forget_recent(authors).await
    }

    async fn add_merged(&self, edges: &[Follow]) -> StoreResult<()> {
        self.cache.add_merged(edges).await
    }

    async fn remove_merged(&self, edges: &[Follow]) -> StoreResult<()> {
        TimelineCache::remove_merged(self.cache, edges).await
    }

    async fn tweets(&self, ids: &[TweetId]) -> StoreResult<Vec<Option<Tweet>>> {
        self.cache.tweets(ids).await
    }

    async fn put_tweets(&self, tweets: &[Tweet]) -> StoreResult<()> {
        self.cache.put_tweets(tweets).await
    }

    async fn forget_tweet(&self, id: &TweetId) -> StoreResult<()> {
        self.cache.forget_tweet(id).await
    }

    async fn add_recent(&self, author: &UserId, tweet: &TweetId) -> StoreResult<()> {
        self.cache.add_recent(author, tweet).await
    }

    async fn remove_recent(&self, author: &UserId, tweet: &TweetId) -> StoreResult<()> {
        self.cache.remove_recent(author, tweet).await
    }

    async fn fill_recent(&self, author: &UserId, ids: &[TweetId]) -> StoreResult<()> {
        self.cache.fill_recent(author, ids).await
    }

    async fn recent(
        &self,
        authors: &[UserId],
        before: Option<&TweetId>,
        count: usize,
    ) -> StoreResult<Vec<Option<Vec<TweetId>>>> {
        self.cache.recent(authors, before, count).await
    }
}

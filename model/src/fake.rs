//! In-memory ports for unit tests of the domain rules. They prove the rules, not the adapters:
//! the end-to-end tests run the same flows on DynamoDB Local and Redis.

use crate::Timestamp;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::bodies::Bodies;
use crate::fanout::Fanout;
use crate::fanout::stale::{Stale, StaleCaches, StaleNote};
use crate::follow::Follow;
use crate::home::{Home, Rebuilds};
use crate::limits::{IdempotencyKey, RateLimit};
use crate::ports::*;
use crate::posting::Poster;
use crate::service;
use crate::timeline::{TIMELINE_CAP, TRIM_STEP, TimelineEntry};
use crate::tweet::{NewTweet, Tweet, TweetId};
use crate::user::User;
use crate::values::{DisplayName, TweetText, UserId, Username};

/// The fake's ports under each name a use case asks for.
pub type MemoryFanout<'a> = Fanout<'a, Memory, Memory, Memory, Memory, Memory>;
pub type MemoryHome<'a> = Home<'a, Memory, Memory, Memory>;

pub fn id(raw: &str) -> UserId {
    UserId::parse(raw).unwrap()
}

/// A store that knows these users, each named by its ID.
pub async fn world(users: &[&str]) -> Memory {
    let memory = Memory::default();
    for name in users {
        service::create_profile(&memory, id(name), Username::parse(name).unwrap(), DisplayName::default())
            .await
            .unwrap();
    }
    memory
}

/// A fan-out that fans every author out, two followers per page (so pages are exercised).
pub fn fanout(memory: &Memory) -> MemoryFanout<'_> {
    fanout_with_threshold(memory, u64::MAX)
}

pub fn fanout_with_threshold(memory: &Memory, threshold: u64) -> MemoryFanout<'_> {
    Fanout {
        follows: memory,
        tweets: memory,
        store: memory,
        cache: memory,
        users: memory,
        page_size: 2,
        fanout_threshold: threshold,
        stale: &memory.stale,
    }
}

pub fn home<'a>(memory: &'a Memory, rebuilds: &'a Rebuilds) -> MemoryHome<'a> {
    Home { cache: memory, store: memory, tweets: memory, bodies: &memory.held, rebuilds }
}

/// Post through the posting use case, with no limit.
pub async fn post(memory: &Memory, author: &str, text: &str) -> Tweet {
    let new = NewTweet { text: TweetText::parse(text).unwrap() };
    let poster = Poster { users: memory, tweets: memory, keys: memory, limiter: memory, limit: None };
    poster.post(&id(author), new, None).await.unwrap()
}

#[derive(Default)]
pub struct Memory {
    users: Mutex<HashMap<UserId, User>>,
    follows: Mutex<BTreeSet<(UserId, UserId)>>,
    tweets: Mutex<BTreeMap<TweetId, Tweet>>,
    durable: Mutex<BTreeMap<(UserId, TweetId), TimelineEntry>>,
    pub cached: Mutex<HashMap<UserId, BTreeSet<TweetId>>>,
    bodies: Mutex<HashMap<TweetId, Tweet>>,
    posts: Mutex<HashMap<(UserId, String), IdempotentPost>>,
    recent: Mutex<HashMap<UserId, BTreeSet<TweetId>>>,
    /// Authors whose recent list was filled from their index.
    complete_recent: Mutex<HashSet<UserId>>,
    /// (reader, merged author) edges, durably and in cached timelines.
    durable_merged: Mutex<BTreeSet<(UserId, UserId)>>,
    pub cached_merged: Mutex<HashMap<UserId, BTreeSet<UserId>>>,
    /// The process's bodies, for the home timeline.
    pub held: Bodies,
    pub admitted: Mutex<u32>,
    pub fills: Mutex<u32>,
    /// When each reader was last recorded as seen.
    pub seen: Mutex<HashMap<UserId, Timestamp>>,
    /// What the fan-outs over this store noted as stale, before it is stored.
    pub stale: StaleCaches,
    /// Stored notes of stale copies, by key.
    pub stale_notes: Mutex<BTreeMap<String, Stale>>,
    /// Owners whose timelines a caller is rebuilding.
    fill_leases: Mutex<HashSet<UserId>>,
    /// Entries added to each cached timeline since its durable one was last trimmed.
    added_since_trim: Mutex<HashMap<UserId, usize>>,
    /// While set, every cache write fails as if Redis were down.
    pub cache_down: AtomicBool,
    /// While set, removing durable timeline entries fails (a trim that fails).
    pub durable_removes_down: AtomicBool,
    /// The owners of each durable insert, in the order they were written.
    pub durable_inserts: Mutex<Vec<Vec<UserId>>>,
}

impl Memory {
    /// `Err` as Redis down answers, while [`Self::cache_down`] is set.
    fn cache_up(&self) -> StoreResult<()> {
        if self.cache_down.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable { backend: Backend::Redis, source: "down".into() });
        }
        Ok(())
    }

    pub fn durable_timeline(&self, owner: &UserId) -> Vec<TweetId> {
        let durable = self.durable.lock().unwrap();
        durable.keys().filter(|(o, _)| o == owner).map(|(_, t)| *t).rev().collect()
    }
}

impl Memory {
    /// Keep both users' counters in step with an edge change, as the real store does.
    fn count(&self, edge: &Follow, delta: i64) {
        let mut users = self.users.lock().unwrap();
        if let Some(followee) = users.get_mut(&edge.followee_id) {
            followee.followers_count = followee.followers_count.saturating_add_signed(delta);
        }
        if let Some(follower) = users.get_mut(&edge.follower_id) {
            follower.following_count = follower.following_count.saturating_add_signed(delta);
        }
    }
}

impl Users for Memory {
    async fn create(&self, user: &User) -> StoreResult<CreateProfile> {
        let mut users = self.users.lock().unwrap();
        if users.contains_key(&user.user_id) {
            return Ok(CreateProfile::ProfileExists);
        }
        if users.values().any(|u| u.username.canonical() == user.username.canonical()) {
            return Ok(CreateProfile::UsernameTaken);
        }
        users.insert(user.user_id.clone(), user.clone());
        Ok(CreateProfile::Created)
    }
    async fn get(&self, id: &UserId) -> StoreResult<Option<User>> {
        Ok(self.users.lock().unwrap().get(id).cloned())
    }
    async fn find_by_username(&self, username: &Username) -> StoreResult<Option<User>> {
        let users = self.users.lock().unwrap();
        Ok(users.values().find(|u| u.username.canonical() == username.canonical()).cloned())
    }
    async fn get_many(&self, ids: &[UserId]) -> StoreResult<Vec<User>> {
        let users = self.users.lock().unwrap();
        Ok(ids.iter().filter_map(|id| users.get(id).cloned()).collect())
    }
    async fn set_merged_since(&self, author: &UserId, since: Option<Timestamp>) -> StoreResult<()> {
        if let Some(user) = self.users.lock().unwrap().get_mut(author) {
            user.merged_at_read = since.is_some();
            user.merged_since = since;
        }
        Ok(())
    }
}

impl Follows for Memory {
    async fn follow(&self, edge: &Follow) -> StoreResult<EdgeChange> {
        let added = self.follows.lock().unwrap().insert((edge.followee_id.clone(), edge.follower_id.clone()));
        self.count(edge, if added { 1 } else { 0 });
        Ok(if added { EdgeChange::Changed } else { EdgeChange::Unchanged })
    }
    async fn unfollow(&self, edge: &Follow) -> StoreResult<EdgeChange> {
        let removed =
            self.follows.lock().unwrap().remove(&(edge.followee_id.clone(), edge.follower_id.clone()));
        self.count(edge, if removed { -1 } else { 0 });
        Ok(if removed { EdgeChange::Changed } else { EdgeChange::Unchanged })
    }
    async fn followers(
        &self,
        user: &UserId,
        after: Option<&UserId>,
        limit: usize,
    ) -> StoreResult<Vec<UserId>> {
        let follows = self.follows.lock().unwrap();
        Ok(follows
            .iter()
            .filter(|(followee, follower)| followee == user && after.is_none_or(|a| follower > a))
            .map(|(_, follower)| follower.clone())
            .take(limit)
            .collect())
    }
    async fn following(
        &self,
        user: &UserId,
        after: Option<&UserId>,
        limit: usize,
    ) -> StoreResult<Vec<UserId>> {
        let follows = self.follows.lock().unwrap();
        let mut out: Vec<UserId> = follows
            .iter()
            .filter(|(followee, follower)| follower == user && after.is_none_or(|a| followee > a))
            .map(|(followee, _)| followee.clone())
            .collect();
        out.sort();
        out.truncate(limit);
        Ok(out)
    }
}

impl Tweets for Memory {
    async fn create(&self, tweet: &Tweet) -> StoreResult<()> {
        self.tweets.lock().unwrap().insert(tweet.tweet_id, tweet.clone());
        Ok(())
    }
    async fn get(&self, id: &TweetId) -> StoreResult<Option<Tweet>> {
        Ok(self.tweets.lock().unwrap().get(id).cloned())
    }
    async fn get_many(&self, ids: &[TweetId]) -> StoreResult<Vec<Tweet>> {
        let tweets = self.tweets.lock().unwrap();
        Ok(ids.iter().filter_map(|id| tweets.get(id).cloned()).collect())
    }
    async fn delete(&self, id: &TweetId) -> StoreResult<()> {
        self.tweets.lock().unwrap().remove(id);
        Ok(())
    }
    async fn by_author(
        &self,
        author: &UserId,
        before: Option<&TweetId>,
        limit: usize,
    ) -> StoreResult<Vec<Tweet>> {
        let tweets = self.tweets.lock().unwrap();
        Ok(tweets
            .values()
            .rev()
            .filter(|t| &t.author_id == author && before.is_none_or(|b| t.tweet_id < *b))
            .take(limit)
            .cloned()
            .collect())
    }
}

impl TimelineStore for Memory {
    async fn mark_seen(&self, owner: &UserId, at: Timestamp) -> StoreResult<()> {
        self.seen.lock().unwrap().insert(owner.clone(), at);
        Ok(())
    }

    async fn insert(&self, entries: &[TimelineEntry]) -> StoreResult<()> {
        let owners = entries.iter().map(|e| e.owner_id.clone()).collect();
        self.durable_inserts.lock().unwrap().push(owners);
        let mut durable = self.durable.lock().unwrap();
        for e in entries {
            durable.insert((e.owner_id.clone(), e.tweet_id), e.clone());
        }
        Ok(())
    }
    async fn remove(&self, entries: &[TimelineEntry]) -> StoreResult<()> {
        if self.durable_removes_down.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable { backend: Backend::DynamoDb, source: "down".into() });
        }
        let mut durable = self.durable.lock().unwrap();
        for e in entries {
            durable.remove(&(e.owner_id.clone(), e.tweet_id));
        }
        Ok(())
    }
    async fn newest(
        &self,
        owner: &UserId,
        before: Option<&TweetId>,
        limit: usize,
    ) -> StoreResult<Vec<TimelineEntry>> {
        let durable = self.durable.lock().unwrap();
        let older = |e: &&TimelineEntry| &e.owner_id == owner && before.is_none_or(|b| e.tweet_id < *b);
        Ok(durable.values().rev().filter(older).take(limit).cloned().collect())
    }
    async fn home(&self, owner: &UserId, limit: usize) -> StoreResult<DurableHome> {
        let entries = self.newest(owner, None, limit).await?;
        Ok(DurableHome { entries, merged_authors: self.merged_authors(owner).await? })
    }
    async fn merged_authors(&self, owner: &UserId) -> StoreResult<Vec<UserId>> {
        let merged = self.durable_merged.lock().unwrap();
        Ok(merged.iter().filter(|(reader, _)| reader == owner).map(|(_, author)| author.clone()).collect())
    }
    async fn insert_merged(&self, edges: &[Follow]) -> StoreResult<()> {
        let mut merged = self.durable_merged.lock().unwrap();
        merged.extend(edges.iter().map(|e| (e.follower_id.clone(), e.followee_id.clone())));
        Ok(())
    }
    async fn remove_merged(&self, edges: &[Follow]) -> StoreResult<()> {
        let mut merged = self.durable_merged.lock().unwrap();
        for e in edges {
            merged.remove(&(e.follower_id.clone(), e.followee_id.clone()));
        }
        Ok(())
    }
    async fn by_author(&self, owner: &UserId, author: &UserId) -> StoreResult<Vec<TimelineEntry>> {
        let durable = self.durable.lock().unwrap();
        Ok(durable.values().filter(|e| &e.owner_id == owner && &e.author_id == author).cloned().collect())
    }
    async fn note_stale(&self, stale: &Stale) -> StoreResult<()> {
        let mut notes = self.stale_notes.lock().unwrap();
        let next = notes.last_key_value().map_or(0, |(key, _)| key.parse::<u64>().unwrap() + 1);
        let key = format!("{next:08}");
        notes.insert(key, stale.clone());
        Ok(())
    }
    async fn stale_notes(&self, limit: usize) -> StoreResult<Vec<StaleNote>> {
        let notes = self.stale_notes.lock().unwrap();
        let note = |(key, stale): (&String, &Stale)| StaleNote { key: key.clone(), stale: stale.clone() };
        Ok(notes.iter().take(limit).map(note).collect())
    }
    async fn clear_stale(&self, note: &StaleNote) -> StoreResult<()> {
        self.stale_notes.lock().unwrap().remove(&note.key);
        Ok(())
    }
}

impl TimelineCache for Memory {
    async fn page(
        &self,
        owner: &UserId,
        before: Option<&TweetId>,
        count: usize,
    ) -> StoreResult<Option<CachedPage>> {
        let cached = self.cached.lock().unwrap();
        let merged = self.cached_merged.lock().unwrap();
        Ok(cached.get(owner).map(|ids| CachedPage {
            ids: ids.iter().rev().filter(|id| before.is_none_or(|b| *id < b)).take(count).copied().collect(),
            merged_authors: merged.get(owner).map(|m| m.iter().cloned().collect()).unwrap_or_default(),
        }))
    }
    async fn begin_fill(&self, owner: &UserId) -> StoreResult<FillClaim> {
        if !self.fill_leases.lock().unwrap().insert(owner.clone()) {
            return Ok(FillClaim::Elsewhere);
        }
        *self.fills.lock().unwrap() += 1;
        // A slow store: concurrent readers get the chance to miss together.
        tokio::task::yield_now().await;
        self.cached.lock().unwrap().entry(owner.clone()).or_default();
        Ok(FillClaim::Claimed)
    }
    async fn finish_fill(
        &self,
        owner: &UserId,
        ids: &[TweetId],
        merged_authors: &[UserId],
    ) -> StoreResult<bool> {
        self.fill_leases.lock().unwrap().remove(owner);
        self.cached.lock().unwrap().entry(owner.clone()).or_default().extend(ids.iter().copied());
        self.cached_merged
            .lock()
            .unwrap()
            .entry(owner.clone())
            .or_default()
            .extend(merged_authors.iter().cloned());
        Ok(true)
    }
    async fn add(&self, entries: &[TimelineEntry]) -> StoreResult<Added> {
        self.cache_up()?;
        let (mut cached, mut counted) = (self.cached.lock().unwrap(), self.added_since_trim.lock().unwrap());
        let mut added = Added::default();
        for e in entries {
            if let Some(ids) = cached.get_mut(&e.owner_id) {
                ids.insert(e.tweet_id);
                while ids.len() > TIMELINE_CAP {
                    ids.pop_first();
                }
                added.written += 1;
                let count = counted.entry(e.owner_id.clone()).or_default();
                *count += 1;
                // Due until `trimmed` (Redis waits a lease between signals; here, none).
                if *count >= TRIM_STEP {
                    added.trim_due.push(e.owner_id.clone());
                }
            }
        }
        Ok(added)
    }
    async fn cached(&self, owners: &[UserId]) -> StoreResult<Vec<bool>> {
        self.cache_up()?;
        let cached = self.cached.lock().unwrap();
        Ok(owners.iter().map(|owner| cached.contains_key(owner)).collect())
    }
    async fn trimmed(&self, owners: &[UserId]) -> StoreResult<()> {
        self.cache_up()?;
        let mut counted = self.added_since_trim.lock().unwrap();
        for owner in owners {
            counted.remove(owner);
        }
        Ok(())
    }
    async fn remove(&self, entries: &[TimelineEntry]) -> StoreResult<()> {
        self.cache_up()?;
        let mut cached = self.cached.lock().unwrap();
        for e in entries {
            if let Some(ids) = cached.get_mut(&e.owner_id) {
                ids.remove(&e.tweet_id);
            }
        }
        Ok(())
    }
    async fn add_merged(&self, edges: &[Follow]) -> StoreResult<()> {
        self.cache_up()?;
        let cached = self.cached.lock().unwrap();
        let mut merged = self.cached_merged.lock().unwrap();
        for e in edges.iter().filter(|e| cached.contains_key(&e.follower_id)) {
            merged.entry(e.follower_id.clone()).or_default().insert(e.followee_id.clone());
        }
        Ok(())
    }
    async fn remove_merged(&self, edges: &[Follow]) -> StoreResult<()> {
        self.cache_up()?;
        let mut merged = self.cached_merged.lock().unwrap();
        for e in edges {
            if let Some(authors) = merged.get_mut(&e.follower_id) {
                authors.remove(&e.followee_id);
            }
        }
        Ok(())
    }
    async fn evict(&self, owners: &[UserId]) -> StoreResult<()> {
        self.cache_up()?;
        let (mut cached, mut merged) = (self.cached.lock().unwrap(), self.cached_merged.lock().unwrap());
        for owner in owners {
            cached.remove(owner);
            merged.remove(owner);
        }
        Ok(())
    }
    async fn forget_recent(&self, authors: &[UserId]) -> StoreResult<()> {
        self.cache_up()?;
        let (mut recent, mut complete) = (self.recent.lock().unwrap(), self.complete_recent.lock().unwrap());
        for author in authors {
            recent.remove(author);
            complete.remove(author);
        }
        Ok(())
    }
    async fn tweets(&self, ids: &[TweetId]) -> StoreResult<Vec<Option<Tweet>>> {
        let bodies = self.bodies.lock().unwrap();
        Ok(ids.iter().map(|id| bodies.get(id).cloned()).collect())
    }
    async fn put_tweets(&self, tweets: &[Tweet]) -> StoreResult<()> {
        self.cache_up()?;
        let mut bodies = self.bodies.lock().unwrap();
        for t in tweets {
            bodies.insert(t.tweet_id, t.clone());
        }
        Ok(())
    }
    async fn forget_tweet(&self, id: &TweetId) -> StoreResult<()> {
        self.cache_up()?;
        self.bodies.lock().unwrap().remove(id);
        Ok(())
    }
    async fn add_recent(&self, author: &UserId, tweet: &TweetId) -> StoreResult<()> {
        self.cache_up()?;
        self.recent.lock().unwrap().entry(author.clone()).or_default().insert(*tweet);
        Ok(())
    }
    async fn remove_recent(&self, author: &UserId, tweet: &TweetId) -> StoreResult<()> {
        self.cache_up()?;
        if let Some(ids) = self.recent.lock().unwrap().get_mut(author) {
            ids.remove(tweet);
        }
        Ok(())
    }
    async fn fill_recent(&self, author: &UserId, ids: &[TweetId]) -> StoreResult<()> {
        self.cache_up()?;
        self.recent.lock().unwrap().entry(author.clone()).or_default().extend(ids.iter().copied());
        self.complete_recent.lock().unwrap().insert(author.clone());
        Ok(())
    }
    async fn recent(
        &self,
        authors: &[UserId],
        before: Option<&TweetId>,
        count: usize,
    ) -> StoreResult<Vec<Option<Vec<TweetId>>>> {
        let (recent, complete) = (self.recent.lock().unwrap(), self.complete_recent.lock().unwrap());
        let older = |ids: &BTreeSet<TweetId>| {
            ids.iter().rev().filter(|id| before.is_none_or(|b| *id < b)).take(count).copied().collect()
        };
        Ok(authors
            .iter()
            .map(|a| complete.contains(a).then(|| recent.get(a).map(older).unwrap_or_default()))
            .collect())
    }
}

impl IdempotencyKeys for Memory {
    async fn get(&self, user: &UserId, key: &IdempotencyKey) -> StoreResult<Option<IdempotentPost>> {
        Ok(self.posts.lock().unwrap().get(&(user.clone(), key.as_str().to_owned())).cloned())
    }
    async fn claim(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
        post: &IdempotentPost,
    ) -> StoreResult<Option<IdempotentPost>> {
        let mut posts = self.posts.lock().unwrap();
        let slot = (user.clone(), key.as_str().to_owned());
        if let Some(existing) = posts.get(&slot) {
            return Ok(Some(existing.clone()));
        }
        posts.insert(slot, post.clone());
        Ok(None)
    }
    async fn complete(&self, user: &UserId, key: &IdempotencyKey) -> StoreResult<()> {
        if let Some(post) = self.posts.lock().unwrap().get_mut(&(user.clone(), key.as_str().to_owned())) {
            post.completed = true;
        }
        Ok(())
    }
}

impl RateLimiter for Memory {
    async fn admit(&self, _user: &UserId, limit: &RateLimit) -> StoreResult<Admission> {
        let mut admitted = self.admitted.lock().unwrap();
        if *admitted >= limit.max {
            return Ok(Admission::Refused { retry_after: limit.window });
        }
        *admitted += 1;
        Ok(Admission::Allowed)
    }
}

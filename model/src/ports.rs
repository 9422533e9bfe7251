//! The storage ports: what the domain needs from durable storage and from the cache. The
//! DynamoDB and Redis adapters (crate `timeline-store`) implement them; unit tests use fakes.
//!
//! Every write is idempotent, because stream records and client retries arrive more than once.

use std::fmt;
use std::future::Future;

use crate::fanout::stale::{Stale, StaleNote};
use crate::follow::Follow;
use crate::limits::{IdempotencyKey, RateLimit};
use crate::timeline::TimelineEntry;
use crate::tweet::{Tweet, TweetId};
use crate::user::User;
use crate::values::{Timestamp, UserId, Username};

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The backing service an error came from, for logs and the `503` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    DynamoDb,
    Redis,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::DynamoDb => "DynamoDB",
            Backend::Redis => "Redis",
        })
    }
}

/// The one error type of the storage layer. Adapters classify their clients' errors by code
/// into these, so callers decide "retry" or "skip" without reading strings.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Could not reach the backend, or it failed: worth retrying later.
    #[error("{backend} is unavailable")]
    Unavailable {
        backend: Backend,
        #[source]
        source: BoxError,
    },
    /// The backend asked us to slow down and retries ran out: worth retrying later.
    #[error("{backend} throttled the request")]
    Throttled {
        backend: Backend,
        #[source]
        source: BoxError,
    },
    /// The backend refused this request itself (DynamoDB's ValidationException: an item over
    /// the size limit, an attribute it cannot take): the same request will fail again.
    #[error("{backend} rejected the request")]
    Rejected {
        backend: Backend,
        #[source]
        source: BoxError,
    },
    /// A stored item does not decode into the domain: retrying will not help.
    #[error("a stored {what} cannot be decoded")]
    Corrupt {
        what: &'static str,
        #[source]
        source: BoxError,
    },
}

impl StoreError {
    /// True when the same call may succeed later.
    pub fn is_transient(&self) -> bool {
        !matches!(self, StoreError::Corrupt { .. } | StoreError::Rejected { .. })
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What creating a profile did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateProfile {
    Created,
    /// The caller already has a profile.
    ProfileExists,
    /// Someone holds this username (compared case-insensitively).
    UsernameTaken,
}

/// Whether an idempotent edge operation changed anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeChange {
    Changed,
    Unchanged,
}

/// Profiles and their unique usernames.
pub trait Users: Send + Sync {
    fn create(&self, user: &User) -> impl Future<Output = StoreResult<CreateProfile>> + Send;
    fn get(&self, id: &UserId) -> impl Future<Output = StoreResult<Option<User>>> + Send;
    fn find_by_username(&self, username: &Username)
    -> impl Future<Output = StoreResult<Option<User>>> + Send;
    /// The profiles that exist among `ids`, in the order of `ids`.
    fn get_many(&self, ids: &[UserId]) -> impl Future<Output = StoreResult<Vec<User>>> + Send;
    /// Record the author's mode: merged in at read time since `since`, or fanned out (`None`)
    /// ([`User::merged_at_read`], [`User::merged_since`]).
    fn set_merged_since(
        &self,
        author: &UserId,
        since: Option<Timestamp>,
    ) -> impl Future<Output = StoreResult<()>> + Send;
}

/// Follow edges, with both users' counters kept exact in the same transaction.
pub trait Follows: Send + Sync {
    fn follow(&self, edge: &Follow) -> impl Future<Output = StoreResult<EdgeChange>> + Send;
    fn unfollow(&self, edge: &Follow) -> impl Future<Output = StoreResult<EdgeChange>> + Send;
    /// Followers of `user` in ascending ID order, starting after `after`.
    fn followers(
        &self,
        user: &UserId,
        after: Option<&UserId>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<UserId>>> + Send;
    /// Users `user` follows, in ascending ID order, starting after `after`.
    fn following(
        &self,
        user: &UserId,
        after: Option<&UserId>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<UserId>>> + Send;
}

/// Tweets by ID and by author.
pub trait Tweets: Send + Sync {
    fn create(&self, tweet: &Tweet) -> impl Future<Output = StoreResult<()>> + Send;
    fn get(&self, id: &TweetId) -> impl Future<Output = StoreResult<Option<Tweet>>> + Send;
    /// The tweets that exist among `ids` (deleted ones are left out), in any order.
    fn get_many(&self, ids: &[TweetId]) -> impl Future<Output = StoreResult<Vec<Tweet>>> + Send;
    fn delete(&self, id: &TweetId) -> impl Future<Output = StoreResult<()>> + Send;
    /// The author's tweets, newest first, older than `before`.
    fn by_author(
        &self,
        author: &UserId,
        before: Option<&TweetId>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<Tweet>>> + Send;
}

/// A home timeline as a cache rebuild reads it from durable storage, in one read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DurableHome {
    /// The newest entries, newest first.
    pub entries: Vec<TimelineEntry>,
    /// The authors the owner follows whose tweets are merged in at read time.
    pub merged_authors: Vec<UserId>,
}

/// A page of a cached home timeline and what a read merges into it, in one round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CachedPage {
    /// Tweet IDs, newest first.
    pub ids: Vec<TweetId>,
    /// The authors the owner follows whose tweets are merged in at read time.
    pub merged_authors: Vec<UserId>,
}

/// The durable, precomputed home timelines (the source the cache is rebuilt from). Besides its
/// entries, an owner's timeline holds the authors it merges in at read time: one edge (reader,
/// author) per followed author whose [`User::merged_at_read`] is set, kept by the follows consumer.
pub trait TimelineStore: Send + Sync {
    fn insert(&self, entries: &[TimelineEntry]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Record that the owner read its timeline at `at` (about once a day per reader: what
    /// `timeline-admin warm --active-since` selects by).
    fn mark_seen(&self, owner: &UserId, at: Timestamp) -> impl Future<Output = StoreResult<()>> + Send;
    fn remove(&self, entries: &[TimelineEntry]) -> impl Future<Output = StoreResult<()>> + Send;
    /// The owner's newest entries older than `before`, newest first.
    fn newest(
        &self,
        owner: &UserId,
        before: Option<&TweetId>,
        limit: usize,
    ) -> impl Future<Output = StoreResult<Vec<TimelineEntry>>> + Send;
    /// The owner's newest `limit` entries and merged authors, in one query.
    fn home(&self, owner: &UserId, limit: usize) -> impl Future<Output = StoreResult<DurableHome>> + Send;
    /// The authors the owner merges in at read time.
    fn merged_authors(&self, owner: &UserId) -> impl Future<Output = StoreResult<Vec<UserId>>> + Send;
    /// Record that each edge's follower merges the followee in at read time.
    fn insert_merged(&self, edges: &[Follow]) -> impl Future<Output = StoreResult<()>> + Send;
    fn remove_merged(&self, edges: &[Follow]) -> impl Future<Output = StoreResult<()>> + Send;
    /// The owner's entries written by `author` (to undo a follow).
    fn by_author(
        &self,
        owner: &UserId,
        author: &UserId,
    ) -> impl Future<Output = StoreResult<Vec<TimelineEntry>>> + Send;
    /// Record cached copies that missed a change, for a later repair (`fanout::stale`).
    fn note_stale(&self, stale: &Stale) -> impl Future<Output = StoreResult<()>> + Send;
    /// Up to `limit` notes of stale copies, oldest first.
    fn stale_notes(&self, limit: usize) -> impl Future<Output = StoreResult<Vec<StaleNote>>> + Send;
    /// Forget a note whose copies were dropped.
    fn clear_stale(&self, note: &StaleNote) -> impl Future<Output = StoreResult<()>> + Send;
}

/// The cache in front of the timelines and tweets. A timeline is either cached in full (the
/// newest `TIMELINE_CAP` entries) or absent; entries are only added to cached timelines, so an
/// inactive reader costs nothing here.
pub trait TimelineCache: Send + Sync {
    /// Up to `count` tweet IDs older than `before`, newest first, and the owner's merged
    /// authors, in one round trip; `None` when the owner's timeline is not cached.
    fn page(
        &self,
        owner: &UserId,
        before: Option<&TweetId>,
        count: usize,
    ) -> impl Future<Output = StoreResult<Option<CachedPage>>> + Send;
    /// Mark the owner's timeline as being rebuilt, so that fan-out writes from now on land in it.
    /// Called before reading the durable timeline: then no write can fall between the two. One
    /// caller at a time, in any process, is given the rebuild (a lease of a few seconds, ended
    /// by [`Self::finish_fill`]); the others are told it is under way elsewhere.
    fn begin_fill(&self, owner: &UserId) -> impl Future<Output = StoreResult<FillClaim>> + Send;
    /// Store the owner's timeline read from durable storage and mark it complete. `true` when
    /// it is the owner's first rebuild in a day: the reader is then recorded as seen.
    fn finish_fill(
        &self,
        owner: &UserId,
        ids: &[TweetId],
        merged_authors: &[UserId],
    ) -> impl Future<Output = StoreResult<bool>> + Send;
    /// Add each entry to its owner's timeline where that timeline is cached; trims to the cap.
    fn add(&self, entries: &[TimelineEntry]) -> impl Future<Output = StoreResult<Added>> + Send;
    fn remove(&self, entries: &[TimelineEntry]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Whether each owner's timeline is cached, in one round trip. A hint for writing first the
    /// copies that readers look at: it may change as soon as it is read.
    fn cached(&self, owners: &[UserId]) -> impl Future<Output = StoreResult<Vec<bool>>> + Send;
    /// The owners' durable timelines were trimmed to the cap (see [`Added::trim_due`]): count
    /// their additions from zero.
    fn trimmed(&self, owners: &[UserId]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Forget the owners' cached timelines: their next reads rebuild them from the durable ones.
    fn evict(&self, owners: &[UserId]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Forget the authors' recent lists: readers use the authors' index until one is filled.
    fn forget_recent(&self, authors: &[UserId]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Add each edge's followee to the follower's merged authors where that timeline is cached.
    fn add_merged(&self, edges: &[Follow]) -> impl Future<Output = StoreResult<()>> + Send;
    fn remove_merged(&self, edges: &[Follow]) -> impl Future<Output = StoreResult<()>> + Send;
    /// Cached tweet bodies, one slot per requested ID.
    fn tweets(&self, ids: &[TweetId]) -> impl Future<Output = StoreResult<Vec<Option<Tweet>>>> + Send;
    fn put_tweets(&self, tweets: &[Tweet]) -> impl Future<Output = StoreResult<()>> + Send;
    fn forget_tweet(&self, id: &TweetId) -> impl Future<Output = StoreResult<()>> + Send;

    /// Record a tweet of an author merged in at read time (hybrid fan-out), newest kept.
    fn add_recent(&self, author: &UserId, tweet: &TweetId) -> impl Future<Output = StoreResult<()>> + Send;
    fn remove_recent(&self, author: &UserId, tweet: &TweetId)
    -> impl Future<Output = StoreResult<()>> + Send;
    /// Fill an author's recent list with its newest tweets (`ids`, from its index) and mark it
    /// complete: from then on [`Self::recent`] answers for it alone.
    fn fill_recent(&self, author: &UserId, ids: &[TweetId]) -> impl Future<Output = StoreResult<()>> + Send;
    /// For each author, up to `count` recent tweet IDs older than `before`, newest first, from
    /// the newest `TIMELINE_CAP` recorded; `None` where the list is not known to be complete (never
    /// filled, or lost with a cache restart): the author's index must answer then.
    fn recent(
        &self,
        authors: &[UserId],
        before: Option<&TweetId>,
        count: usize,
    ) -> impl Future<Output = StoreResult<Vec<Option<Vec<TweetId>>>>> + Send;
}

/// Who rebuilds a timeline, as [`TimelineCache::begin_fill`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FillClaim {
    /// This caller: read the durable timeline and finish the fill.
    Claimed,
    /// Another caller (perhaps in another process) is rebuilding it, or has just finished.
    Elsewhere,
}

/// What [`TimelineCache::add`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Added {
    /// Entries written (to cached timelines).
    pub written: usize,
    /// Owners whose cached timelines took `TRIM_STEP` entries since their durable ones were
    /// last trimmed: those are due a trim. An owner is named again, after a while, until
    /// [`TimelineCache::trimmed`] says the trim was done, so a failed trim is made good.
    pub trim_due: Vec<UserId>,
}

/// A post made under an idempotency key: the tweet it created and whether it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotentPost {
    pub tweet: Tweet,
    /// False while the first request has claimed the key but not yet stored the tweet (or
    /// crashed in between): a retry then finishes the job with the same tweet.
    pub completed: bool,
    pub expires_at: Timestamp,
}

/// Idempotency keys of `POST /tweets`, per user, for 24 hours.
pub trait IdempotencyKeys: Send + Sync {
    /// The live (unexpired) post under this key, if any.
    fn get(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
    ) -> impl Future<Output = StoreResult<Option<IdempotentPost>>> + Send;
    /// Claim the key for `post` unless a live claim exists; returns the existing claim if so.
    fn claim(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
        post: &IdempotentPost,
    ) -> impl Future<Output = StoreResult<Option<IdempotentPost>>> + Send;
    /// Record that the claimed tweet is stored.
    fn complete(&self, user: &UserId, key: &IdempotencyKey) -> impl Future<Output = StoreResult<()>> + Send;
}

/// What a rate limiter decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Allowed,
    /// Over the limit; a slot frees up after this long.
    Refused {
        retry_after: std::time::Duration,
    },
}

/// Counts posts per user in a sliding window.
pub trait RateLimiter: Send + Sync {
    fn admit(&self, user: &UserId, limit: &RateLimit) -> impl Future<Output = StoreResult<Admission>> + Send;
}

//! The Redis timeline cache.
//!
//! Keys (all under the stage's prefix; `{owner}` is a hash tag so one owner's keys share a slot):
//! - `tls:{owner}`: the timeline's state, `filling` or `ready`; its presence means "cached".
//! - `tl:{owner}`: sorted set of tweet IDs, newest last, trimmed to the cap.
//! - `tw:<tweet_id>`: the tweet's JSON body, written once per tweet.
//! - `rl:{user}`: the user's recent posts, for the posting rate limit.
//!
//! Timelines and bodies idle out after `IDLE_TTL`; each read refreshes the timeline's TTL, so
//! only active readers keep a cached timeline, and the fan-out only writes those.

mod connection;
mod scripts;

use std::time::Duration;

use redis::{Pipeline, RedisError, Script};
use timeline_model::limits::RateLimit;
use timeline_model::ports::{Admission, Backend, RateLimiter, StoreError, StoreResult, TimelineCache};
use timeline_model::{TIMELINE_CAP, TimelineEntry, Timestamp, Tweet, TweetId, UserId};

pub use connection::Connection;

use crate::config::StoreConfig;
use crate::telemetry;

/// How long an unread timeline, or an unread tweet body, stays cached.
pub const IDLE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The cache, cheap to clone (the connection is shared).
#[derive(Clone)]
pub struct RedisCache {
    connection: Connection,
    prefix: String,
}

impl RedisCache {
    pub async fn connect(config: &StoreConfig) -> StoreResult<Self> {
        let connection =
            Connection::open(&config.redis_url, config.redis_cluster).await.map_err(unavailable)?;
        Ok(Self { connection, prefix: config.table_prefix.clone() })
    }

    fn state_key(&self, owner: &UserId) -> String {
        format!("{}tls:{{{owner}}}", self.prefix)
    }

    fn timeline_key(&self, owner: &UserId) -> String {
        format!("{}tl:{{{owner}}}", self.prefix)
    }

    fn tweet_key(&self, id: &TweetId) -> String {
        format!("{}tw:{id}", self.prefix)
    }

    /// Run a pipeline that invokes `scripts`; if Redis lost them (a restart, a failover, a new
    /// cluster node), load them on every node and run it once more.
    async fn run<T: redis::FromRedisValue>(
        &self,
        pipeline: &Pipeline,
        scripts: &[&Script],
    ) -> StoreResult<T> {
        let mut connection = self.connection.clone();
        match pipeline.query_async(&mut connection).await {
            Err(error) if error.code() == Some("NOSCRIPT") => {
                for script in scripts {
                    script.prepare_invoke().load_async(&mut connection).await.map_err(unavailable)?;
                }
                pipeline.query_async(&mut connection).await.map_err(unavailable)
            }
            result => result.map_err(unavailable),
        }
    }

    /// Check the connection (for `GET /health?deep=true`).
    pub async fn ping(&self) -> StoreResult<()> {
        let mut connection = self.connection.clone();
        redis::cmd("PING").query_async::<String>(&mut connection).await.map(drop).map_err(unavailable)
    }

    /// Drop every cached key of one owner's timeline (tests and the replay tool use this).
    pub async fn evict(&self, owner: &UserId) -> StoreResult<()> {
        let mut pipeline = redis::pipe();
        pipeline.del(self.state_key(owner)).ignore().del(self.timeline_key(owner)).ignore();
        self.run(&pipeline, &[]).await
    }
}

fn unavailable(error: RedisError) -> StoreError {
    StoreError::Unavailable { backend: Backend::Redis, source: Box::new(error) }
}

fn ttl_seconds() -> u64 {
    IDLE_TTL.as_secs()
}

impl TimelineCache for RedisCache {
    async fn page(
        &self,
        owner: &UserId,
        before: Option<&TweetId>,
        count: usize,
    ) -> StoreResult<Option<Vec<TweetId>>> {
        let (state, timeline) = (self.state_key(owner), self.timeline_key(owner));
        let max = before.map_or_else(|| "+".to_owned(), |id| format!("({id}"));
        let mut pipeline = redis::pipe();
        pipeline
            .get(&state)
            .cmd("ZRANGE")
            .arg(&timeline)
            .arg(max)
            .arg("-")
            .arg("BYLEX")
            .arg("REV")
            .arg("LIMIT")
            .arg(0)
            .arg(count)
            .expire(&state, ttl_seconds() as i64)
            .ignore()
            .expire(&timeline, ttl_seconds() as i64)
            .ignore();
        let (state, members): (Option<String>, Vec<String>) = self.run(&pipeline, &[]).await?;
        if state.as_deref() != Some("ready") {
            metrics::counter!(telemetry::TIMELINE_CACHE_MISSES).increment(1);
            return Ok(None);
        }
        metrics::counter!(telemetry::TIMELINE_CACHE_HITS).increment(1);
        Ok(Some(members.iter().filter_map(|m| TweetId::parse(m).ok()).collect()))
    }

    async fn begin_fill(&self, owner: &UserId) -> StoreResult<()> {
        let mut pipeline = redis::pipe();
        pipeline
            .invoke_script(
                scripts::BEGIN_FILL
                    .key(self.state_key(owner))
                    .key(self.timeline_key(owner))
                    .arg(ttl_seconds()),
            )
            .ignore();
        self.run(&pipeline, &[&scripts::BEGIN_FILL]).await
    }

    async fn finish_fill(&self, owner: &UserId, ids: &[TweetId]) -> StoreResult<()> {
        let mut invocation = scripts::FINISH_FILL.key(self.state_key(owner));
        invocation.key(self.timeline_key(owner)).arg(ttl_seconds()).arg(TIMELINE_CAP);
        for id in ids {
            invocation.arg(id.to_string());
        }
        let mut pipeline = redis::pipe();
        pipeline.invoke_script(&invocation).ignore();
        self.run(&pipeline, &[&scripts::FINISH_FILL]).await
    }

    async fn add(&self, entries: &[TimelineEntry]) -> StoreResult<usize> {
        if entries.is_empty() {
            return Ok(0);
        }
        let mut pipeline = redis::pipe();
        for entry in entries {
            let mut invocation = scripts::ADD.key(self.state_key(&entry.owner_id));
            invocation
                .key(self.timeline_key(&entry.owner_id))
                .arg(entry.tweet_id.to_string())
                .arg(TIMELINE_CAP);
            pipeline.invoke_script(&invocation);
        }
        let written: Vec<u8> = self.run(&pipeline, &[&scripts::ADD]).await?;
        Ok(written.iter().filter(|w| **w == 1).count())
    }

    async fn remove(&self, entries: &[TimelineEntry]) -> StoreResult<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut pipeline = redis::pipe();
        for entry in entries {
            pipeline.zrem(self.timeline_key(&entry.owner_id), entry.tweet_id.to_string()).ignore();
        }
        self.run(&pipeline, &[]).await
    }

    async fn tweets(&self, ids: &[TweetId]) -> StoreResult<Vec<Option<Tweet>>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        // GETs in a pipeline rather than one MGET: in a cluster the bodies live in many slots.
        let mut pipeline = redis::pipe();
        for id in ids {
            pipeline.get(self.tweet_key(id));
        }
        let bodies: Vec<Option<String>> = self.run(&pipeline, &[]).await?;
        Ok(bodies.into_iter().map(|body| body.and_then(|json| serde_json::from_str(&json).ok())).collect())
    }

    async fn put_tweets(&self, tweets: &[Tweet]) -> StoreResult<()> {
        if tweets.is_empty() {
            return Ok(());
        }
        let mut pipeline = redis::pipe();
        for tweet in tweets {
            let json = serde_json::to_string(tweet)
                .map_err(|e| StoreError::Corrupt { what: "tweet", source: Box::new(e) })?;
            pipeline.set_ex(self.tweet_key(&tweet.tweet_id), json, ttl_seconds()).ignore();
        }
        self.run(&pipeline, &[]).await
    }

    async fn forget_tweet(&self, id: &TweetId) -> StoreResult<()> {
        let mut pipeline = redis::pipe();
        pipeline.del(self.tweet_key(id)).ignore();
        self.run(&pipeline, &[]).await
    }
}

impl RateLimiter for RedisCache {
    async fn admit(&self, user: &UserId, limit: &RateLimit) -> StoreResult<Admission> {
        let now = Timestamp::now().unix_millis();
        let mut invocation = scripts::ADMIT.key(format!("{}rl:{{{user}}}", self.prefix));
        // A ULID member keeps two posts in the same millisecond apart.
        invocation
            .arg(now)
            .arg(limit.window.as_millis() as u64)
            .arg(limit.max)
            .arg(TweetId::generate().to_string());
        let mut pipeline = redis::pipe();
        pipeline.invoke_script(&invocation);
        let (wait_ms,): (u64,) = self.run(&pipeline, &[&scripts::ADMIT]).await?;
        Ok(if wait_ms == 0 {
            Admission::Allowed
        } else {
            Admission::Refused { retry_after: Duration::from_millis(wait_ms) }
        })
    }
}

//! The Redis timeline cache.
//!
//! Keys (all under the stage's prefix; `{owner}` is a hash tag so one owner's keys share a slot):
//! - `tls:{owner}`: the timeline's state, `filling` or `ready`; its presence means "cached".
//! - `tl:{owner}`: sorted set of tweet IDs, newest last, trimmed to the cap.
//! - `tlr:{owner}`: IDs removed while the timeline was being rebuilt, until the rebuild ends.
//! - `tw:<tweet_id>`: the tweet's JSON body, written once per tweet.
//! - `rl:{user}`: the user's recent posts, for the posting rate limit.
//! - `ar:{author}`: recent tweet IDs of an author who is not fanned out (hybrid fan-out),
//!   trimmed to the cap and kept without expiry (only such authors have one).
//! - `cf:{reader}`: the celebrities a reader follows, as JSON, for a minute.
//!
//! Timelines and bodies idle out after `IDLE_TTL`; each read refreshes the timeline's TTL, so
//! only active readers keep a cached timeline, and the fan-out only writes those.

mod connection;
mod scripts;

use std::time::Duration;

use futures::{StreamExt, stream};
use redis::cluster_async::ClusterConnection;
use redis::{Cmd, FromRedisValue, Pipeline, RedisError, RedisResult, Script, ToRedisArgs};
use timeline_model::limits::RateLimit;
use timeline_model::ports::{Admission, Backend, RateLimiter, StoreError, StoreResult, TimelineCache};
use timeline_model::{TIMELINE_CAP, TimelineEntry, Timestamp, Tweet, TweetId, UserId};

pub use connection::Connection;

use crate::settings::StoreSettings;
use crate::telemetry;

/// How long an unread timeline, or an unread tweet body, stays cached.
pub const IDLE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long the celebrities a reader follows are remembered: a new follow of one shows within it.
const CELEBRITIES_TTL_SECS: u64 = 60;

/// Commands in flight at once per batch on a cluster.
const CLUSTER_IN_FLIGHT: usize = 256;

/// The cache, cheap to clone (the connection is shared).
#[derive(Clone)]
pub struct RedisCache {
    connection: Connection,
    prefix: String,
}

impl RedisCache {
    pub async fn connect(settings: &StoreSettings) -> StoreResult<Self> {
        let connection =
            Connection::open(&settings.redis_url, settings.redis_cluster).await.map_err(unavailable)?;
        Ok(Self { connection, prefix: settings.table_prefix.clone() })
    }

    fn state_key(&self, owner: &UserId) -> String {
        format!("{}tls:{{{owner}}}", self.prefix)
    }

    fn timeline_key(&self, owner: &UserId) -> String {
        format!("{}tl:{{{owner}}}", self.prefix)
    }

    fn removed_key(&self, owner: &UserId) -> String {
        format!("{}tlr:{{{owner}}}", self.prefix)
    }

    /// An owner's timeline keys, in the order the scripts take them.
    fn timeline_keys(&self, owner: &UserId) -> [String; 3] {
        [self.state_key(owner), self.timeline_key(owner), self.removed_key(owner)]
    }

    fn recent_key(&self, author: &UserId) -> String {
        format!("{}ar:{{{author}}}", self.prefix)
    }

    fn celebrities_key(&self, reader: &UserId) -> String {
        format!("{}cf:{{{reader}}}", self.prefix)
    }

    fn tweet_key(&self, id: &TweetId) -> String {
        format!("{}tw:{id}", self.prefix)
    }

    /// Run a pipeline whose keys all share one hash slot (one owner's keys, one tweet's key).
    async fn run<T: FromRedisValue>(&self, pipeline: &Pipeline, scripts: &[&Script]) -> StoreResult<T> {
        let mut connection = self.connection.clone();
        let mut result = pipeline.query_async(&mut connection).await;
        if result.as_ref().is_err_and(lost_scripts) {
            self.load(scripts).await?;
            result = pipeline.query_async(&mut connection).await;
        }
        result.map_err(unavailable)
    }

    /// Run independent commands on keys of many slots. A standalone server takes them as one
    /// pipeline; a cluster refuses pipelines that cross slots, so there every command goes to
    /// its own node, all in flight at once over the multiplexed connections.
    async fn run_each<T: FromRedisValue + Send>(
        &self,
        commands: &[Cmd],
        scripts: &[&Script],
    ) -> StoreResult<Vec<T>> {
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let Connection::Cluster(cluster) = &self.connection else {
            let mut pipeline = redis::pipe();
            for command in commands {
                pipeline.add_command(command.clone());
            }
            return self.run(&pipeline, scripts).await;
        };
        let mut results = send_each(cluster, commands).await;
        if results.iter().any(|r| r.as_ref().is_err_and(lost_scripts)) {
            self.load(scripts).await?;
            results = send_each(cluster, commands).await;
        }
        results.into_iter().map(|r| r.map_err(unavailable)).collect()
    }

    /// Load scripts on every node (after a restart, a failover or a new cluster node).
    async fn load(&self, scripts: &[&Script]) -> StoreResult<()> {
        let mut connection = self.connection.clone();
        for script in scripts {
            script.prepare_invoke().load_async(&mut connection).await.map_err(unavailable)?;
        }
        Ok(())
    }

    /// Check the connection (for `GET /health?deep=true`).
    pub async fn ping(&self) -> StoreResult<()> {
        let mut connection = self.connection.clone();
        redis::cmd("PING").query_async::<String>(&mut connection).await.map(drop).map_err(unavailable)
    }

    /// Forget one owner's cached timeline: the next read rebuilds it from the durable one.
    /// Tools call it: the benchmark cleans up with it, and an operator's rebuild starts with it.
    pub async fn evict(&self, owner: &UserId) -> StoreResult<()> {
        let mut pipeline = redis::pipe();
        pipeline.del(&self.timeline_keys(owner)).ignore();
        self.run(&pipeline, &[]).await
    }
}

/// Send every command on its own, `CLUSTER_IN_FLIGHT` at a time, answers in command order.
async fn send_each<T: FromRedisValue + Send>(
    cluster: &ClusterConnection,
    commands: &[Cmd],
) -> Vec<RedisResult<T>> {
    let mut requests = Vec::with_capacity(commands.len());
    for command in commands {
        let mut connection = cluster.clone();
        requests.push(async move { command.query_async::<T>(&mut connection).await });
    }
    stream::iter(requests).buffered(CLUSTER_IN_FLIGHT).collect().await
}

/// Up to `count` members older than `before`, newest first: every member has score 0, so the
/// set orders lexicographically, which for ULIDs is by time.
fn newest_first(key: &str, before: Option<&TweetId>, count: usize) -> Cmd {
    let max = before.map_or_else(|| "+".to_owned(), |id| format!("({id}"));
    let mut command = redis::cmd("ZRANGE");
    command.arg(key).arg(max).arg("-").arg("BYLEX").arg("REV").arg("LIMIT").arg(0).arg(count);
    command
}

fn parse_ids(members: &[String]) -> Vec<TweetId> {
    members.iter().filter_map(|m| TweetId::parse(m).ok()).collect()
}

fn lost_scripts(error: &RedisError) -> bool {
    error.code() == Some("NOSCRIPT")
}

/// `EVALSHA` of a script on one owner's keys: a plain command, so it can join a batch.
fn evalsha(script: &Script, keys: &[String], args: impl ToRedisArgs) -> Cmd {
    let mut command = redis::cmd("EVALSHA");
    command.arg(script.get_hash()).arg(keys.len()).arg(keys).arg(args);
    command
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
        let mut pipeline = redis::pipe();
        pipeline
            .get(&state)
            .add_command(newest_first(&timeline, before, count))
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
        Ok(Some(parse_ids(&members)))
    }

    async fn begin_fill(&self, owner: &UserId) -> StoreResult<()> {
        let mut pipeline = redis::pipe();
        pipeline
            .invoke_script(scripts::BEGIN_FILL.key(&self.timeline_keys(owner)[..]).arg(ttl_seconds()))
            .ignore();
        self.run(&pipeline, &[&scripts::BEGIN_FILL]).await
    }

    async fn finish_fill(&self, owner: &UserId, ids: &[TweetId]) -> StoreResult<()> {
        let mut invocation = scripts::FINISH_FILL.key(&self.timeline_keys(owner)[..]);
        invocation.arg(ttl_seconds()).arg(TIMELINE_CAP);
        for id in ids {
            invocation.arg(id.to_string());
        }
        let mut pipeline = redis::pipe();
        pipeline.invoke_script(&invocation).ignore();
        self.run(&pipeline, &[&scripts::FINISH_FILL]).await
    }

    async fn add(&self, entries: &[TimelineEntry]) -> StoreResult<usize> {
        let commands: Vec<Cmd> = entries
            .iter()
            .map(|entry| {
                // ADD needs no removals set: two keys, not three, per entry of a hot path.
                let keys = [self.state_key(&entry.owner_id), self.timeline_key(&entry.owner_id)];
                evalsha(&scripts::ADD, &keys, (entry.tweet_id.to_string(), TIMELINE_CAP))
            })
            .collect();
        let written: Vec<u8> = self.run_each(&commands, &[&scripts::ADD]).await?;
        Ok(written.iter().filter(|w| **w == 1).count())
    }

    async fn remove(&self, entries: &[TimelineEntry]) -> StoreResult<()> {
        let commands: Vec<Cmd> = entries
            .iter()
            .map(|entry| {
                let keys = self.timeline_keys(&entry.owner_id);
                evalsha(&scripts::REMOVE, &keys, (entry.tweet_id.to_string(), ttl_seconds()))
            })
            .collect();
        self.run_each::<u8>(&commands, &[&scripts::REMOVE]).await.map(drop)
    }

    async fn tweets(&self, ids: &[TweetId]) -> StoreResult<Vec<Option<Tweet>>> {
        // One GET per body rather than an MGET: in a cluster the bodies live in many slots.
        let commands: Vec<Cmd> = ids.iter().map(|id| redis::Cmd::get(self.tweet_key(id))).collect();
        let bodies: Vec<Option<String>> = self.run_each(&commands, &[]).await?;
        Ok(bodies.into_iter().map(|body| body.and_then(|json| serde_json::from_str(&json).ok())).collect())
    }

    async fn put_tweets(&self, tweets: &[Tweet]) -> StoreResult<()> {
        let commands = tweets
            .iter()
            .map(|tweet| {
                let json = serde_json::to_string(tweet)
                    .map_err(|e| StoreError::Corrupt { what: "tweet", source: Box::new(e) })?;
                Ok(redis::Cmd::set_ex(self.tweet_key(&tweet.tweet_id), json, ttl_seconds()))
            })
            .collect::<StoreResult<Vec<Cmd>>>()?;
        self.run_each::<()>(&commands, &[]).await.map(drop)
    }

    async fn forget_tweet(&self, id: &TweetId) -> StoreResult<()> {
        let mut pipeline = redis::pipe();
        pipeline.del(self.tweet_key(id)).ignore();
        self.run(&pipeline, &[]).await
    }

    async fn add_recent(&self, author: &UserId, tweet: &TweetId) -> StoreResult<()> {
        let key = self.recent_key(author);
        let mut pipeline = redis::pipe();
        pipeline
            .zadd(&key, tweet.to_string(), 0)
            .ignore()
            .zremrangebyrank(&key, 0, -(TIMELINE_CAP as isize + 1))
            .ignore();
        self.run(&pipeline, &[]).await
    }

    async fn remove_recent(&self, author: &UserId, tweet: &TweetId) -> StoreResult<()> {
        let mut pipeline = redis::pipe();
        pipeline.zrem(self.recent_key(author), tweet.to_string()).ignore();
        self.run(&pipeline, &[]).await
    }

    async fn recent(
        &self,
        authors: &[UserId],
        before: Option<&TweetId>,
        count: usize,
    ) -> StoreResult<Vec<Vec<TweetId>>> {
        let commands: Vec<Cmd> =
            authors.iter().map(|a| newest_first(&self.recent_key(a), before, count)).collect();
        let lists: Vec<Vec<String>> = self.run_each(&commands, &[]).await?;
        Ok(lists.into_iter().map(|members| parse_ids(&members)).collect())
    }

    async fn celebrities_followed(&self, reader: &UserId) -> StoreResult<Option<Vec<UserId>>> {
        let mut pipeline = redis::pipe();
        pipeline.get(self.celebrities_key(reader));
        let (json,): (Option<String>,) = self.run(&pipeline, &[]).await?;
        Ok(json.and_then(|json| serde_json::from_str(&json).ok()))
    }

    async fn remember_celebrities_followed(
        &self,
        reader: &UserId,
        celebrities: &[UserId],
    ) -> StoreResult<()> {
        let json = serde_json::to_string(celebrities)
            .map_err(|e| StoreError::Corrupt { what: "user", source: Box::new(e) })?;
        let mut pipeline = redis::pipe();
        pipeline.set_ex(self.celebrities_key(reader), json, CELEBRITIES_TTL_SECS).ignore();
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

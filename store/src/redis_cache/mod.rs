//! The Redis timeline cache.
//!
//! Keys (all under the stage's prefix; `{owner}` is a hash tag so one owner's keys share a slot):
//! - `tls:{owner}`: the timeline's state, `filling` or `ready`; its presence means "cached".
//! - `tl:{owner}`: sorted set of tweet IDs, newest last, trimmed to the cap.
//! - `tlr:{owner}`: IDs (and `m:<author>` merged authors) removed while the timeline was being
//!   rebuilt, until the rebuild ends.
//! - `tlm:{owner}`: the authors the owner merges in at read time (hybrid fan-out), cached with
//!   the timeline, so one round trip brings the page and them.
//! - `tll:{owner}`: the lease of the one caller rebuilding the timeline; `tlf:{owner}`: present
//!   while a rebuilt timeline is fresh.
//! - `tla:{owner}`: entries added since the durable timeline was last trimmed; `tlt:{owner}`:
//!   present for a while once the fan-out was told to trim it.
//! - `tw:<tweet_id>`: the tweet's JSON body, written once per tweet.
//! - `rl:{user}`: the user's recent posts, for the posting rate limit.
//! - `ar:{author}`: recent tweet IDs of an author merged in at read time (hybrid fan-out),
//!   trimmed to the cap and kept without expiry (only such authors have one).
//! - `arf:{author}`: present once `ar:{author}` was filled from the author's index, so that a
//!   list lost with a restart is told from a short one.
//!
//! Timelines and bodies idle out after `IDLE_TTL`; reads set a timeline's TTL back once it ran a
//! day low, so only active readers keep a cached timeline, and the fan-out only writes those.
//!
//! Every call goes through a circuit breaker (`breaker`) and counts its round trips
//! ([`RedisCache::round_trips`]).

mod breaker;
mod connection;
mod scripts;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::{StreamExt, stream};
use rand::Rng;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::Slot;
use redis::{Cmd, FromRedisValue, Pipeline, RedisError, RedisResult, Script, ToRedisArgs};
use timeline_model::limits::RateLimit;
use timeline_model::ports::{
    Added, Admission, Backend, CachedPage, FillClaim, RateLimiter, StoreError, StoreResult, TimelineCache,
};
use timeline_model::timeline::TRIM_STEP;
use timeline_model::{Follow, TIMELINE_CAP, TimelineEntry, Timestamp, Tweet, TweetId, UserId};

use breaker::Breaker;
pub use connection::Connection;

use crate::settings::StoreSettings;
use crate::telemetry;

/// How long an unread timeline, or an unread tweet body, stays cached.
pub const IDLE_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// How far a cached timeline's idle time-out may run down before a read sets it back: a day, so
/// an active reader's keys are rewritten once a day rather than on every read.
const TTL_REFRESH_SLACK: Duration = Duration::from_secs(24 * 3600);

/// How long a rebuild may take before another caller may take it over (its rebuilder died):
/// a rebuild is one query and one script call, tens of milliseconds.
const REBUILD_LEASE: Duration = Duration::from_secs(5);

/// How long a durable timeline signalled due a trim (`scripts::ADD`) is not signalled again:
/// time enough for the trim to finish; after it, a trim that failed is asked for again.
const TRIM_LEASE: Duration = Duration::from_secs(5);

/// Commands in flight at once per batch on a cluster.
const CLUSTER_IN_FLIGHT: usize = 256;

/// The cache, cheap to clone (the connection is shared).
#[derive(Clone)]
pub struct RedisCache {
    connection: Connection,
    /// Shared by the clones, so that a clone copies no names.
    prefix: Arc<str>,
    /// How long a rebuilt timeline is trusted (`StoreSettings::cache_revalidate`).
    revalidate: Option<Duration>,
    breaker: Breaker,
    round_trips: Arc<AtomicU64>,
}

impl RedisCache {
    pub async fn connect(settings: &StoreSettings) -> StoreResult<Self> {
        let connection =
            Connection::open(&settings.redis_url, settings.redis_cluster).map_err(unavailable)?;
        Ok(Self {
            connection,
            prefix: settings.table_prefix.as_str().into(),
            revalidate: settings.cache_revalidate,
            breaker: Breaker::new(),
            round_trips: Arc::default(),
        })
    }

    /// Round trips made so far by this cache and its clones (commands sent at once to several
    /// cluster nodes count as one): what a read costs, for tests and tools.
    pub fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
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

    fn merged_key(&self, owner: &UserId) -> String {
        format!("{}tlm:{{{owner}}}", self.prefix)
    }

    /// Held by the one caller rebuilding the owner's timeline (`scripts::BEGIN_FILL`).
    fn lease_key(&self, owner: &UserId) -> String {
        format!("{}tll:{{{owner}}}", self.prefix)
    }

    /// Entries added to the owner's cached timeline since its durable one was last due a trim.
    fn added_key(&self, owner: &UserId) -> String {
        format!("{}tla:{{{owner}}}", self.prefix)
    }

    /// Held while the owner's durable timeline is being trimmed (`scripts::ADD`).
    fn trim_lease_key(&self, owner: &UserId) -> String {
        format!("{}tlt:{{{owner}}}", self.prefix)
    }

    /// Exists while a rebuilt timeline is fresh (`scripts::EXPIRE_STALE`).
    fn fresh_key(&self, owner: &UserId) -> String {
        format!("{}tlf:{{{owner}}}", self.prefix)
    }

    /// How long the timeline rebuilt now stays fresh, in milliseconds (0: for ever): a random
    /// 80-100% of the lifetime, so timelines rebuilt together (after a flush) are not all
    /// rebuilt again together.
    fn fresh_for_millis(&self) -> u64 {
        self.revalidate.map_or(0, |lifetime| {
            let millis = u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX);
            rand::rng().random_range(millis - millis / 5..=millis).max(1)
        })
    }

    /// An owner's timeline keys, in the order the scripts take them.
    fn timeline_keys(&self, owner: &UserId) -> [String; 4] {
        [self.state_key(owner), self.timeline_key(owner), self.removed_key(owner), self.merged_key(owner)]
    }

    fn recent_key(&self, author: &UserId) -> String {
        format!("{}ar:{{{author}}}", self.prefix)
    }

    fn recent_filled_key(&self, author: &UserId) -> String {
        format!("{}arf:{{{author}}}", self.prefix)
    }

    fn tweet_key(&self, id: &TweetId) -> String {
        format!("{}tw:{id}", self.prefix)
    }

    /// Run a pipeline whose keys all share one hash slot (one owner's keys, one tweet's key).
    async fn run<T: FromRedisValue>(&self, pipeline: &Pipeline, scripts: &[&Script]) -> StoreResult<T> {
        self.admit()?;
        let mut connection = self.connection.clone();
        let mut result = pipeline.query_async(&mut connection).await;
        if result.as_ref().is_err_and(lost_scripts) {
            self.load(scripts).await?;
            self.round_trips.fetch_add(1, Ordering::Relaxed);
            result = pipeline.query_async(&mut connection).await;
        }
        result.map_err(|e| self.failed(e))
    }

    /// Let a call through unless the breaker is open; count its round trip.
    fn admit(&self) -> StoreResult<()> {
        if !self.breaker.is_closed() {
            return Err(StoreError::Unavailable {
                backend: Backend::Redis,
                source: "marked down after a failure".into(),
            });
        }
        self.round_trips.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Classify a failed call; one that did not reach Redis opens the breaker.
    fn failed(&self, error: RedisError) -> StoreError {
        if error.is_io_error() || error.is_connection_dropped() || error.is_connection_refusal() {
            self.breaker.trip();
        }
        unavailable(error)
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
        self.admit()?;
        let cluster = cluster.get().await.map_err(|e| self.failed(e))?;
        let mut results = send_each(&cluster, commands).await;
        if results.iter().any(|r| r.as_ref().is_err_and(lost_scripts)) {
            self.load(scripts).await?;
            self.round_trips.fetch_add(1, Ordering::Relaxed);
            results = send_each(&cluster, commands).await;
        }
        results.into_iter().map(|r| r.map_err(|e| self.failed(e))).collect()
    }

    /// Load scripts on every node (after a restart, a failover or a new cluster node).
    async fn load(&self, scripts: &[&Script]) -> StoreResult<()> {
        let mut connection = self.connection.clone();
        for script in scripts {
            script.prepare_invoke().load_async(&mut connection).await.map_err(unavailable)?;
        }
        Ok(())
    }

    /// Start the rebuild of a ready timeline whose freshness marker expired
    /// (`scripts::EXPIRE_STALE`); the caller's miss path then rebuilds it.
    async fn expire_stale(&self, owner: &UserId) -> StoreResult<()> {
        let [state, timeline, removed, merged] = self.timeline_keys(owner);
        let mut invocation =
            scripts::EXPIRE_STALE.key(&[state, timeline, removed, merged, self.fresh_key(owner)][..]);
        invocation.arg(ttl_seconds());
        let mut pipeline = redis::pipe();
        pipeline.invoke_script(&invocation).ignore();
        self.run(&pipeline, &[&scripts::EXPIRE_STALE]).await
    }

    /// Set a read timeline's idle time-outs back. Best effort: the page is served either way,
    /// and a refresh that failed is tried again by the next read, as the time-out is still low.
    /// Keys gone meanwhile are left gone (EXPIRE skips them); a rebuild begun meanwhile sets
    /// the same time-out.
    async fn refresh_ttl(&self, owner: &UserId) {
        let [state, timeline, _, merged] = self.timeline_keys(owner);
        let mut pipeline = redis::pipe();
        for key in [state, timeline, merged] {
            pipeline.expire(key, ttl_seconds() as i64).ignore();
        }
        if let Err(error) = self.run::<()>(&pipeline, &[]).await {
            tracing::warn!(%owner, %error, "could not set the timeline's idle time-out back");
        }
    }

    /// Check the connection (for `GET /health?deep=true`).
    pub async fn ping(&self) -> StoreResult<()> {
        let mut connection = self.connection.clone();
        redis::cmd("PING").query_async::<String>(&mut connection).await.map(drop).map_err(unavailable)
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

/// The ZRANGE BYLEX bound of the members older than `before` (all without it): every member has
/// score 0, so a set orders lexicographically, which for ULIDs is by time.
fn lex_below(before: Option<&TweetId>) -> String {
    before.map_or_else(|| "+".to_owned(), |id| format!("({id}"))
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
    ) -> StoreResult<Option<CachedPage>> {
        let [state, timeline, _, merged] = self.timeline_keys(owner);
        // One transaction on the owner's slot: the state, its idle time-out, the freshness
        // marker, the page and the merged authors. Not a script: Redis spends about three times
        // the CPU on the same commands run from Lua (docs/benchmarks.md), and the two branches a
        // script would take are rare per reader: the refresh once a day, the revalidation once
        // per freshness lifetime.
        let mut pipeline = redis::pipe();
        pipeline
            .atomic()
            .get(&state)
            .ttl(&state)
            .exists(self.fresh_key(owner))
            .zrevrangebylex_limit(
                &timeline,
                lex_below(before),
                "-",
                0,
                isize::try_from(count).unwrap_or(isize::MAX),
            )
            .smembers(&merged);
        let (status, ttl, fresh, members, authors): (Option<String>, i64, bool, Vec<String>, Vec<String>) =
            self.run(&pipeline, &[]).await?;
        let ready = status.as_deref() == Some("ready");
        let stale = ready && self.revalidate.is_some() && !fresh;
        if stale {
            self.expire_stale(owner).await?;
        }
        if !ready || stale {
            metrics::counter!(telemetry::TIMELINE_CACHE_MISSES).increment(1);
            return Ok(None);
        }
        if ttl < i64::try_from(ttl_seconds() - TTL_REFRESH_SLACK.as_secs()).unwrap_or(i64::MAX) {
            self.refresh_ttl(owner).await;
        }
        metrics::counter!(telemetry::TIMELINE_CACHE_HITS).increment(1);
        let merged_authors = authors.iter().filter_map(|a| UserId::parse(a).ok()).collect();
        Ok(Some(CachedPage { ids: parse_ids(&members), merged_authors }))
    }

    async fn begin_fill(&self, owner: &UserId) -> StoreResult<FillClaim> {
        let mut invocation = scripts::BEGIN_FILL.key(&self.timeline_keys(owner)[..]);
        invocation.key(self.lease_key(owner)).arg(ttl_seconds()).arg(REBUILD_LEASE.as_millis() as u64);
        let mut pipeline = redis::pipe();
        pipeline.invoke_script(&invocation);
        let (claimed,): (u8,) = self.run(&pipeline, &[&scripts::BEGIN_FILL]).await?;
        Ok(if claimed == 1 { FillClaim::Claimed } else { FillClaim::Elsewhere })
    }

    async fn finish_fill(
        &self,
        owner: &UserId,
        ids: &[TweetId],
        merged_authors: &[UserId],
    ) -> StoreResult<bool> {
        let mut invocation = scripts::FINISH_FILL.key(&self.timeline_keys(owner)[..]);
        invocation.key(self.fresh_key(owner)).key(format!("{}seen:{{{owner}}}", self.prefix));
        invocation.key(self.lease_key(owner));
        invocation.arg(ttl_seconds()).arg(TIMELINE_CAP).arg(ids.len()).arg(self.fresh_for_millis());
        for id in ids {
            invocation.arg(id.to_string());
        }
        for author in merged_authors {
            invocation.arg(author.as_str());
        }
        let mut pipeline = redis::pipe();
        pipeline.invoke_script(&invocation);
        let (first_today,): (bool,) = self.run(&pipeline, &[&scripts::FINISH_FILL]).await?;
        Ok(first_today)
    }

    async fn add(&self, entries: &[TimelineEntry]) -> StoreResult<Added> {
        let commands: Vec<Cmd> = entries
            .iter()
            .map(|entry| {
                let owner = &entry.owner_id;
                let keys = [
                    self.state_key(owner),
                    self.timeline_key(owner),
                    self.added_key(owner),
                    self.trim_lease_key(owner),
                ];
                let lease = TRIM_LEASE.as_millis() as u64;
                evalsha(&scripts::ADD, &keys, (entry.tweet_id.to_string(), TIMELINE_CAP, TRIM_STEP, lease))
            })
            .collect();
        let outcomes: Vec<u8> = self.run_each(&commands, &[&scripts::ADD]).await?;
        let mut added = Added::default();
        for (entry, outcome) in entries.iter().zip(outcomes) {
            added.written += usize::from(outcome > 0);
            if outcome == 2 {
                added.trim_due.push(entry.owner_id.clone());
            }
        }
        Ok(added)
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

    async fn cached(&self, owners: &[UserId]) -> StoreResult<Vec<bool>> {
        let commands: Vec<Cmd> = owners.iter().map(|owner| Cmd::exists(self.state_key(owner))).collect();
        self.run_each(&commands, &[]).await
    }

    /// One `DEL` per owner: an owner's keys share a slot, different owners' do not.
    async fn trimmed(&self, owners: &[UserId]) -> StoreResult<()> {
        let commands: Vec<Cmd> = owners
            .iter()
            .map(|owner| Cmd::del(&[self.added_key(owner), self.trim_lease_key(owner)]))
            .collect();
        self.run_each::<u64>(&commands, &[]).await.map(drop)
    }

    async fn evict(&self, owners: &[UserId]) -> StoreResult<()> {
        let commands: Vec<Cmd> = owners.iter().map(|owner| Cmd::del(&self.timeline_keys(owner))).collect();
        self.run_each::<u64>(&commands, &[]).await.map(drop)
    }

    async fn forget_recent(&self, authors: &[UserId]) -> StoreResult<()> {
        let commands: Vec<Cmd> = authors
            .iter()
            .map(|author| Cmd::del(&[self.recent_key(author), self.recent_filled_key(author)]))
            .collect();
        self.run_each::<u64>(&commands, &[]).await.map(drop)
    }

    async fn add_merged(&self, edges: &[Follow]) -> StoreResult<()> {
        let commands: Vec<Cmd> = edges
            .iter()
            .map(|edge| {
                let keys = [self.state_key(&edge.follower_id), self.merged_key(&edge.follower_id)];
                evalsha(&scripts::ADD_MERGED, &keys, edge.followee_id.as_str())
            })
            .collect();
        self.run_each::<u8>(&commands, &[&scripts::ADD_MERGED]).await.map(drop)
    }

    async fn remove_merged(&self, edges: &[Follow]) -> StoreResult<()> {
        let commands: Vec<Cmd> = edges
            .iter()
            .map(|edge| {
                let [state, _, removed, merged] = self.timeline_keys(&edge.follower_id);
                let args = (edge.followee_id.as_str(), ttl_seconds());
                evalsha(&scripts::REMOVE_MERGED, &[state, merged, removed], args)
            })
            .collect();
        self.run_each::<u8>(&commands, &[&scripts::REMOVE_MERGED]).await.map(drop)
    }

    async fn tweets(&self, ids: &[TweetId]) -> StoreResult<Vec<Option<Tweet>>> {
        let keys: Vec<String> = ids.iter().map(|id| self.tweet_key(id)).collect();
        // One MGET per hash slot (a cluster refuses one that crosses slots; a standalone server
        // has one slot), all sent at once.
        let mut by_slot: HashMap<Slot, Vec<usize>> = HashMap::new();
        for (position, key) in keys.iter().enumerate() {
            let slot = match self.connection {
                Connection::Cluster(_) => Slot::for_key(key),
                Connection::Standalone(_) => Slot::for_key(""),
            };
            by_slot.entry(slot).or_default().push(position);
        }
        let groups: Vec<Vec<usize>> = by_slot.into_values().collect();
        let commands: Vec<Cmd> = groups
            .iter()
            .map(|positions| {
                let mut mget = redis::cmd("MGET");
                for &position in positions {
                    mget.arg(&keys[position]);
                }
                mget
            })
            .collect();
        let answers: Vec<Vec<Option<String>>> = self.run_each(&commands, &[]).await?;
        let mut bodies: Vec<Option<Tweet>> = vec![None; ids.len()];
        for (positions, answer) in groups.iter().zip(answers) {
            for (&position, body) in positions.iter().zip(answer) {
                bodies[position] = body.and_then(|json| serde_json::from_str(&json).ok());
            }
        }
        Ok(bodies)
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

    async fn fill_recent(&self, author: &UserId, ids: &[TweetId]) -> StoreResult<()> {
        let key = self.recent_key(author);
        let mut pipeline = redis::pipe();
        if !ids.is_empty() {
            let members: Vec<(u8, String)> = ids.iter().map(|id| (0, id.to_string())).collect();
            pipeline.zadd_multiple(&key, &members).ignore();
        }
        pipeline
            .zremrangebyrank(&key, 0, -(TIMELINE_CAP as isize + 1))
            .ignore()
            .set(self.recent_filled_key(author), 1)
            .ignore();
        self.run(&pipeline, &[]).await
    }

    async fn recent(
        &self,
        authors: &[UserId],
        before: Option<&TweetId>,
        count: usize,
    ) -> StoreResult<Vec<Option<Vec<TweetId>>>> {
        let max = lex_below(before);
        let commands: Vec<Cmd> = authors
            .iter()
            .map(|a| {
                let keys = [self.recent_key(a), self.recent_filled_key(a)];
                evalsha(&scripts::RECENT, &keys, (&max, count))
            })
            .collect();
        let lists: Vec<(u8, Vec<String>)> = self.run_each(&commands, &[&scripts::RECENT]).await?;
        Ok(lists.into_iter().map(|(filled, members)| (filled == 1).then(|| parse_ids(&members))).collect())
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

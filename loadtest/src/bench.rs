//! One run of the fan-out benchmark, in fresh tables and Redis keys under a `bench-<ULID>-`
//! prefix:
//!
//! 1. Seeds one author with N followers (edges written with the store's BatchWriteItem bulk
//!    load, into tables created without streams) and caches the timelines of one follower in
//!    ten, as active readers.
//! 2. Times `Fanout::apply` of one tweet by that author with the real DynamoDB and Redis adapters:
//!    it reads the followers page by page, writes each page's entries to the timelines table,
//!    then adds them to the cached timelines. Rate: durable entries written per second.
//! 3. Times N timeline entries written to the same table by the store's batch writer alone
//!    (`TimelineStore::insert`: 25 items per call, 8 calls in flight, unprocessed items retried).
//!    Rate: entries per second.
//!
//! The raw write is the ceiling. Every fan-out entry is one durable item, written with these
//! same calls, and the fan-out also reads followers and writes Redis. Here the durable writes
//! are bounded by DynamoDB Local (one Java process over SQLite, on the same cores), so the ratio
//! fan-out / raw shows how much of the store's write throughput the fan-out achieves. The gap is
//! fan-out overhead: follower reads, cache writes, and the wait at each page boundary.
//!
//! With `--breakdown`, a second fan-out goes through [`Probe`], which times its phases.
//! Every run deletes its tables and evicts its cached keys, whether or not it succeeded.

use std::time::{Duration, Instant};

use timeline_model::fanout::stale::StaleCaches;
use timeline_model::fanout::{Fanout, FanoutReport, TimelineEvent};
use timeline_model::ports::{CreateProfile, TimelineCache, TimelineStore, Tweets, Users};
use timeline_model::{
    DisplayName, Follow, NewTweet, TimelineEntry, Tweet, TweetId, TweetText, User, UserId, Username,
};
use timeline_store::{Dynamo, RedisCache, StoreSettings, Streams};

use crate::BenchResult;
use crate::args::Args;
use crate::probe::{Phases, Probe};

/// One follower in this many has a cached timeline.
pub const CACHED_ONE_IN: usize = 10;
const AUTHOR: &str = "bench-author";
/// The hybrid fan-out's threshold in the bench: the author is fanned out whatever N is.
const ALWAYS_FAN_OUT: u64 = u64::MAX;

/// What one run measured.
pub struct RunFigures {
    pub report: FanoutReport,
    pub fanout: Duration,
    pub raw: RawWrite,
    pub phases: Option<Phases>,
}

impl RunFigures {
    pub fn fanout_rate(&self) -> f64 {
        self.report.durable_entries as f64 / self.fanout.as_secs_f64()
    }

    pub fn raw_rate(&self) -> f64 {
        self.raw.items as f64 / self.raw.elapsed.as_secs_f64()
    }

    pub fn ratio(&self) -> f64 {
        self.fanout_rate() / self.raw_rate()
    }
}

/// The raw write: how many entries, and how long they took.
pub struct RawWrite {
    pub items: usize,
    pub elapsed: Duration,
}

impl RawWrite {
    /// Time `entries` written by the store's batch writer alone: the ceiling every fan-out
    /// figure is compared with, measured the same way by each benchmark.
    pub async fn measure(dynamo: &Dynamo, entries: &[TimelineEntry]) -> BenchResult<Self> {
        let started = Instant::now();
        TimelineStore::insert(dynamo, entries).await?;
        Ok(Self { items: entries.len(), elapsed: started.elapsed() })
    }
}

/// Set up, measure, and clean up whether or not the measurement succeeded.
pub async fn one_run(args: &Args, settings: &StoreSettings) -> BenchResult<RunFigures> {
    let mut bench = Bench::connect(settings, args.followers).await?;
    let measured = bench.measure(args).await;
    let cleaned = stage("clean up", bench.clean_up()).await;
    let figures = measured?;
    cleaned?;
    Ok(figures)
}

/// Run one stage of a run, logging its duration to stderr (progress, and where setup time goes).
async fn stage<T>(name: &str, work: impl Future<Output = BenchResult<T>>) -> BenchResult<T> {
    let started = Instant::now();
    let output = work.await;
    eprintln!("  {name}: {:.2} s", started.elapsed().as_secs_f64());
    output
}

/// One run's stores, author, followers and posted tweets.
struct Bench {
    dynamo: Dynamo,
    cache: RedisCache,
    author: User,
    followers: Vec<UserId>,
    posted: Vec<TweetId>,
}

impl Bench {
    async fn connect(settings: &StoreSettings, followers: usize) -> BenchResult<Self> {
        let settings =
            StoreSettings { table_prefix: format!("bench-{}-", TweetId::generate()), ..settings.clone() };
        let mut author =
            User::new(UserId::parse(AUTHOR)?, Username::parse("bench_author")?, DisplayName::default());
        author.followers_count = followers as u64;
        let followers =
            (0..followers).map(|n| UserId::parse(&format!("bench-f{n:07}"))).collect::<Result<_, _>>()?;
        Ok(Self {
            dynamo: Dynamo::connect(&settings).await,
            cache: RedisCache::connect(&settings).await?,
            author,
            followers,
            posted: Vec::new(),
        })
    }

    async fn measure(&mut self, args: &Args) -> BenchResult<RunFigures> {
        // No streams: the bench calls the fan-out itself, and DynamoDB Local writes stream-enabled
        // tables many times slower (docs/benchmarks.md).
        stage("create tables", async { Ok(self.dynamo.create_tables(Streams::Off).await?) }).await?;
        stage("seed follows", self.seed_follows()).await?;
        stage("seed cache", self.seed_cache()).await?;
        let (fanout, report) = stage("fan-out", self.fan_out(args.page_size)).await?;
        let raw = stage("raw BatchWriteItem", self.raw_write()).await?;
        let phases = match args.breakdown {
            true => Some(stage("instrumented fan-out", self.probed_fan_out(args.page_size)).await?),
            false => None,
        };
        Ok(RunFigures { report, fanout, raw, phases })
    }

    /// The author's profile and the follow edges.
    async fn seed_follows(&self) -> BenchResult<()> {
        let created = Users::create(&self.dynamo, &self.author).await?;
        if created != CreateProfile::Created {
            return Err(format!("the author's profile was not created: {created:?}").into());
        }
        let edges: Vec<Follow> = self
            .followers
            .iter()
            .map(|follower| Follow {
                followee_id: self.author.user_id.clone(),
                follower_id: follower.clone(),
            })
            .collect();
        Ok(self.dynamo.put_follow_edges(&edges).await?)
    }

    /// The cached (empty) timelines of the active readers.
    async fn seed_cache(&self) -> BenchResult<()> {
        for owner in self.cached_followers() {
            self.cache.begin_fill(owner).await?;
            self.cache.finish_fill(owner, &[], &[]).await?;
        }
        Ok(())
    }

    fn cached_followers(&self) -> impl Iterator<Item = &UserId> {
        self.followers.iter().step_by(CACHED_ONE_IN)
    }

    /// Store a new tweet by the author, as the write path does before the stream picks it up.
    async fn post(&mut self) -> BenchResult<TimelineEvent> {
        let tweet = Tweet::compose(&self.author, NewTweet { text: TweetText::parse("hello, followers")? });
        Tweets::create(&self.dynamo, &tweet).await?;
        self.posted.push(tweet.tweet_id);
        Ok(TimelineEvent::TweetPosted(tweet))
    }

    async fn fan_out(&mut self, page_size: usize) -> BenchResult<(Duration, FanoutReport)> {
        let event = self.post().await?;
        let (dynamo, cache, stale) = (&self.dynamo, &self.cache, StaleCaches::default());
        let fanout = Fanout {
            follows: dynamo,
            tweets: dynamo,
            store: dynamo,
            cache,
            users: dynamo,
            page_size,
            fanout_threshold: ALWAYS_FAN_OUT,
            stale: &stale,
        };
        let started = Instant::now();
        let report = Box::pin(fanout.apply(&event)).await?;
        let elapsed = started.elapsed();
        stale.store(dynamo).await?;
        Ok((elapsed, report))
    }

    /// One timeline entry per follower, for a tweet of the author's, written by the store's batch
    /// writer alone (the same items as the fan-out's, expiry included).
    async fn raw_write(&self) -> BenchResult<RawWrite> {
        let tweet_id = TweetId::generate();
        let entries: Vec<TimelineEntry> = self
            .followers
            .iter()
            .map(|owner| TimelineEntry {
                owner_id: owner.clone(),
                tweet_id,
                author_id: self.author.user_id.clone(),
            })
            .collect();
        RawWrite::measure(&self.dynamo, &entries).await
    }

    /// Another fan-out, through ports that time each phase.
    async fn probed_fan_out(&mut self, page_size: usize) -> BenchResult<Phases> {
        let event = self.post().await?;
        let (probe, stale) = (Probe::new(&self.dynamo, &self.cache), StaleCaches::default());
        let fanout = Fanout {
            follows: &probe,
            tweets: &self.dynamo,
            store: &probe,
            cache: &probe,
            users: &self.dynamo,
            page_size,
            fanout_threshold: ALWAYS_FAN_OUT,
            stale: &stale,
        };
        let started = Instant::now();
        Box::pin(fanout.apply(&event)).await?;
        let wall = started.elapsed();
        stale.store(&self.dynamo).await?;
        Ok(probe.phases(wall))
    }

    /// Delete the run's tables and the Redis keys it made.
    async fn clean_up(&self) -> BenchResult<()> {
        // Both halves run even when the other fails (DynamoDB Local restarted mid-run, say).
        let evicted = self.evict_keys().await;
        let deleted = self.dynamo.delete_tables().await;
        evicted.and(deleted.map_err(Into::into))
    }

    async fn evict_keys(&self) -> BenchResult<()> {
        for owner in self.cached_followers() {
            self.cache.evict(std::slice::from_ref(owner)).await?;
        }
        for tweet in &self.posted {
            self.cache.forget_tweet(tweet).await?;
        }
        Ok(())
    }
}

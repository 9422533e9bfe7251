//! `timeline-bench`: how fast one tweet fans out to a large audience, next to the ceiling that
//! the durable store sets.
//!
//! Each run works in fresh tables and Redis keys under a `bench-<ULID>-` prefix:
//!
//! 1. Seeds one author with N followers (edges written straight into the follows table with
//!    BatchWriteItem; the bench creates that table without a stream, see `follows_table`) and
//!    caches the timelines of one follower in ten, as active readers.
//! 2. Times `Fanout::apply` of one tweet by that author with the real DynamoDB and Redis adapters:
//!    it reads the followers page by page, writes each page's entries to the timelines table,
//!    then adds them to the cached timelines. Rate: durable entries written per second.
//! 3. Times N timeline items written to the same table with bare BatchWriteItem calls, 25 items
//!    per call and 8 calls in flight (the store's batch size and concurrency), retrying
//!    unprocessed items. Rate: items per second.
//!
//! The raw write is the ceiling. Every fan-out entry is one durable item, written with these
//! same calls, and the fan-out also reads followers and writes Redis. Here the durable writes
//! are bounded by DynamoDB Local (one Java process over SQLite, on the same cores), so the ratio
//! fan-out / raw shows how much of the store's write throughput the fan-out achieves. The gap is
//! fan-out overhead: follower reads, cache writes, and the wait at each page boundary.
//!
//! `--breakdown` adds a second, instrumented fan-out to each run and reports where its time goes.
//! Every run deletes its tables and evicts its cached keys.

use std::collections::HashMap;
use std::error::Error;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType, PutRequest,
    ScalarAttributeType, WriteRequest,
};
use timeline_model::fanout::{Fanout, FanoutReport, TimelineEvent};
use timeline_model::ports::{
    CreateProfile, EdgeChange, Follows, StoreResult, TimelineCache, TimelineStore, Tweets, Users,
};
use timeline_model::{
    DisplayName, Follow, NewTweet, TimelineEntry, Tweet, TweetId, TweetText, User, UserId, Username,
};
use timeline_service::DEFAULT_DYNAMODB_ENDPOINT;
use timeline_store::retry::Backoff;
use timeline_store::{Dynamo, RedisCache, StoreConfig};
use tokio::task::JoinSet;

type BenchResult<T> = Result<T, Box<dyn Error + Send + Sync>>;
type Item = HashMap<String, AttributeValue>;

const USAGE: &str = "usage: timeline-bench [--followers N] [--runs R] [--page-size P] [--breakdown]";
/// Items per BatchWriteItem call and calls in flight: the store's own, so raw and fan-out match.
const BATCH: usize = timeline_store::dynamo::WRITE_CHUNK;
const IN_FLIGHT: usize = timeline_store::dynamo::BATCHES_IN_FLIGHT;
/// One follower in this many has a cached timeline.
const CACHED_ONE_IN: usize = 10;
const AUTHOR: &str = "bench-author";
/// The hybrid fan-out's threshold in the bench: the author is fanned out whatever N is.
const ALWAYS_FAN_OUT: u64 = u64::MAX;
/// The timelines table's TTL, for raw items shaped like the store's.
const ENTRY_TTL_SECONDS: i64 = timeline_store::dynamo::ENTRY_TTL.as_secs() as i64;

#[tokio::main]
async fn main() -> ExitCode {
    let Some(args) = Args::parse(std::env::args().skip(1)) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let config = store_config();
    let mut runs = Vec::with_capacity(args.runs);
    for run in 1..=args.runs {
        eprintln!("run {run}/{}: {} followers", args.runs, args.followers);
        match one_run(&args, &config).await {
            Ok(figures) => runs.push(figures),
            Err(error) => {
                eprintln!("timeline-bench: run {run} failed: {}", chain(&*error));
                break;
            }
        }
    }
    if !runs.is_empty() {
        print_table(&args, &config, &runs);
        println!("{}", json_line(&args, &runs));
    }
    if runs.len() == args.runs { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

#[derive(Debug, Clone, Copy)]
struct Args {
    followers: usize,
    runs: usize,
    page_size: usize,
    breakdown: bool,
}

impl Args {
    fn parse(mut raw: impl Iterator<Item = String>) -> Option<Self> {
        let mut args = Self { followers: 10_000, runs: 3, page_size: 1000, breakdown: false };
        while let Some(flag) = raw.next() {
            match flag.as_str() {
                "--followers" => args.followers = positive(raw.next())?,
                "--runs" => args.runs = positive(raw.next())?,
                "--page-size" => args.page_size = positive(raw.next())?,
                "--breakdown" => args.breakdown = true,
                _ => return None,
            }
        }
        Some(args)
    }

    fn cached(&self) -> usize {
        self.followers.div_ceil(CACHED_ONE_IN)
    }
}

fn positive(raw: Option<String>) -> Option<usize> {
    raw?.parse().ok().filter(|n| *n > 0)
}

/// The service's settings, always with an endpoint: the bench never runs against AWS by default.
fn store_config() -> StoreConfig {
    let mut config = StoreConfig::from_env();
    config.dynamodb_endpoint.get_or_insert_with(|| DEFAULT_DYNAMODB_ENDPOINT.to_owned());
    config
}

/// What one run measured.
struct RunFigures {
    report: FanoutReport,
    fanout: Duration,
    raw: RawWrite,
    phases: Option<Phases>,
}

impl RunFigures {
    fn fanout_rate(&self) -> f64 {
        self.report.durable_entries as f64 / self.fanout.as_secs_f64()
    }

    fn raw_rate(&self) -> f64 {
        self.raw.items as f64 / self.raw.elapsed.as_secs_f64()
    }

    fn ratio(&self) -> f64 {
        self.fanout_rate() / self.raw_rate()
    }
}

struct RawWrite {
    items: usize,
    elapsed: Duration,
    retries: u32,
}

/// Set up, measure, and clean up whether or not the measurement succeeded.
async fn one_run(args: &Args, config: &StoreConfig) -> BenchResult<RunFigures> {
    let mut bench = Bench::connect(config, args.followers).await?;
    let measured = bench.measure(args).await;
    let cleaned = stage("clean up", bench.clean_up()).await;
    let figures = measured?;
    cleaned?;
    Ok(figures)
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
    async fn connect(config: &StoreConfig, followers: usize) -> BenchResult<Self> {
        let mut config = config.clone();
        config.table_prefix = format!("bench-{}-", TweetId::generate());
        let mut author =
            User::new(UserId::parse(AUTHOR)?, Username::parse("bench_author")?, DisplayName::default());
        author.followers_count = followers as u64;
        let followers =
            (0..followers).map(|n| UserId::parse(&format!("bench-f{n:07}"))).collect::<Result<_, _>>()?;
        Ok(Self {
            dynamo: Dynamo::connect(&config).await,
            cache: RedisCache::connect(&config).await?,
            author,
            followers,
            posted: Vec::new(),
        })
    }

    async fn measure(&mut self, args: &Args) -> BenchResult<RunFigures> {
        stage("create tables", self.create_tables()).await?;
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

    /// The store's tables, except that the follows table has no stream (see `follows_table`).
    async fn create_tables(&self) -> BenchResult<()> {
        follows_table(self.dynamo.client(), &self.dynamo.tables().follows).await?;
        // Creates the others; leaves the existing follows table as it is.
        Ok(self.dynamo.create_tables().await?)
    }

    /// The author's profile and the follow edges.
    async fn seed_follows(&self) -> BenchResult<()> {
        let created = Users::create(&self.dynamo, &self.author).await?;
        if created != CreateProfile::Created {
            return Err(format!("the author's profile was not created: {created:?}").into());
        }
        let edges = self
            .followers
            .iter()
            .map(|f| item([("followee_id", AUTHOR), ("follower_id", f.as_str())]))
            .collect();
        write_items(self.dynamo.client(), &self.dynamo.tables().follows, edges).await?;
        Ok(())
    }

    /// The cached (empty) timelines of the active readers.
    async fn seed_cache(&self) -> BenchResult<()> {
        for owner in self.cached_followers() {
            self.cache.begin_fill(owner).await?;
            self.cache.finish_fill(owner, &[]).await?;
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
        let (dynamo, cache) = (&self.dynamo, &self.cache);
        let fanout = Fanout {
            follows: dynamo,
            tweets: dynamo,
            store: dynamo,
            cache,
            users: dynamo,
            page_size,
            celebrity_threshold: ALWAYS_FAN_OUT,
        };
        let started = Instant::now();
        let report = Box::pin(fanout.apply(&event)).await?;
        Ok((started.elapsed(), report))
    }

    /// One timeline item per follower, for a tweet of the author's, with bare BatchWriteItem.
    /// The items have the store's shape: the entry's three IDs and its expiry.
    async fn raw_write(&self) -> BenchResult<RawWrite> {
        let tweet_id = TweetId::generate();
        let expires_at =
            AttributeValue::N((tweet_id.created_at().unix_seconds() + ENTRY_TTL_SECONDS).to_string());
        let tweet_id = tweet_id.to_string();
        let items: Vec<Item> = self
            .followers
            .iter()
            .map(|owner| {
                let mut entry =
                    item([("owner_id", owner.as_str()), ("tweet_id", &tweet_id), ("author_id", AUTHOR)]);
                entry.insert("expires_at".to_owned(), expires_at.clone());
                entry
            })
            .collect();
        let count = items.len();
        let started = Instant::now();
        let retries = write_items(self.dynamo.client(), &self.dynamo.tables().timelines, items).await?;
        Ok(RawWrite { items: count, elapsed: started.elapsed(), retries })
    }

    /// Another fan-out, through ports that time each phase.
    async fn probed_fan_out(&mut self, page_size: usize) -> BenchResult<Phases> {
        let event = self.post().await?;
        let probe = Probe { dynamo: &self.dynamo, cache: &self.cache, spent: Mutex::default() };
        let fanout = Fanout {
            follows: &probe,
            tweets: &self.dynamo,
            store: &probe,
            cache: &probe,
            users: &self.dynamo,
            page_size,
            celebrity_threshold: ALWAYS_FAN_OUT,
        };
        let started = Instant::now();
        Box::pin(fanout.apply(&event)).await?;
        let wall = started.elapsed();
        let spent = probe.spent.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(Phases { wall, spent })
    }

    /// Delete the run's tables and the Redis keys it made.
    async fn clean_up(&self) -> BenchResult<()> {
        // Both halves run even when the other fails (DynamoDB Local restarted mid-run, say).
        let evicted = self.evict_keys().await;
        let deleted = self.delete_tables().await;
        evicted.and(deleted)
    }

    async fn evict_keys(&self) -> BenchResult<()> {
        for owner in self.cached_followers() {
            self.cache.evict(owner).await?;
        }
        for tweet in &self.posted {
            self.cache.forget_tweet(tweet).await?;
        }
        Ok(())
    }

    async fn delete_tables(&self) -> BenchResult<()> {
        let t = self.dynamo.tables();
        for table in [&t.users, &t.usernames, &t.follows, &t.tweets, &t.timelines, &t.idempotency] {
            let deleted = self.dynamo.client().delete_table().table_name(table).send().await;
            if let Err(error) = deleted
                && !error.as_service_error().is_some_and(|e| e.is_resource_not_found_exception())
            {
                return Err(error.into());
            }
        }
        Ok(())
    }
}

/// The follows table with the store's key, but with no stream, and without the by-follower index,
/// which the fan-out does not read. DynamoDB Local writes stream-enabled tables 20 to 50 times
/// slower, and slower still as stream records accumulate: they outlive deleted tables. Seeding
/// N edges under the store's definition would take minutes, and slow down every later run and
/// test on the same instance.
async fn follows_table(client: &Client, name: &str) -> BenchResult<()> {
    let attribute = |name: &str| {
        AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build()
    };
    let key =
        |name: &str, key_type| KeySchemaElement::builder().attribute_name(name).key_type(key_type).build();
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("followee_id")?)
        .attribute_definitions(attribute("follower_id")?)
        .key_schema(key("followee_id", KeyType::Hash)?)
        .key_schema(key("follower_id", KeyType::Range)?)
        .send()
        .await?;
    Ok(())
}

/// Run one stage of a run, logging its duration to stderr (progress, and where setup time goes).
async fn stage<T>(name: &str, work: impl Future<Output = BenchResult<T>>) -> BenchResult<T> {
    let started = Instant::now();
    let output = work.await;
    eprintln!("  {name}: {:.2} s", started.elapsed().as_secs_f64());
    output
}

fn item<const N: usize>(fields: [(&str, &str); N]) -> Item {
    fields.into_iter().map(|(name, value)| (name.to_owned(), AttributeValue::S(value.to_owned()))).collect()
}

/// Put every item into `table`, `BATCH` per call, `IN_FLIGHT` calls at once; returns the retries.
async fn write_items(client: &Client, table: &str, items: Vec<Item>) -> BenchResult<u32> {
    let mut chunks = items
        .chunks(BATCH)
        .map(|chunk| chunk.iter().cloned().map(put_request).collect::<BenchResult<Vec<_>>>())
        .collect::<BenchResult<Vec<_>>>()?
        .into_iter();
    let mut in_flight = JoinSet::new();
    let mut retries = 0;
    loop {
        while in_flight.len() < IN_FLIGHT
            && let Some(chunk) = chunks.next()
        {
            in_flight.spawn(write_chunk(client.clone(), table.to_owned(), chunk));
        }
        let Some(done) = in_flight.join_next().await else {
            return Ok(retries);
        };
        retries += done??;
    }
}

fn put_request(item: Item) -> BenchResult<WriteRequest> {
    let put = PutRequest::builder().set_item(Some(item)).build()?;
    Ok(WriteRequest::builder().put_request(put).build())
}

/// One BatchWriteItem, sent again with its unprocessed items (as the store does) until none
/// are left; returns how many retries it took.
async fn write_chunk(client: Client, table: String, mut pending: Vec<WriteRequest>) -> BenchResult<u32> {
    let backoff = Backoff::WRITES;
    for attempt in 1..=backoff.max_attempts {
        let output = client.batch_write_item().request_items(&table, pending).send().await?;
        pending =
            output.unprocessed_items.and_then(|mut by_table| by_table.remove(&table)).unwrap_or_default();
        if pending.is_empty() {
            return Ok(attempt - 1);
        }
        backoff.wait(attempt).await;
    }
    Err("batch items stayed unprocessed after every retry".into())
}

/// Where an instrumented fan-out spent its time.
struct Phases {
    wall: Duration,
    spent: [Duration; 3],
}

impl Phases {
    fn of(&self, phase: Phase) -> Duration {
        self.spent[phase as usize]
    }

    /// Everything outside the three timed phases (the tweet body's cache write, building entries).
    fn other(&self) -> Duration {
        self.wall.saturating_sub(self.spent.iter().sum())
    }
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// `Follows::followers`: reading a page of followers.
    Followers,
    /// `TimelineStore::insert`: writing a page's entries to DynamoDB.
    Durable,
    /// `TimelineCache::add`: adding a page's entries to the cached timelines.
    Cache,
}

/// The real adapters, with the fan-out's three steps timed. The fan-out runs them one after
/// another, so the phases add up to its wall time.
struct Probe<'a> {
    dynamo: &'a Dynamo,
    cache: &'a RedisCache,
    spent: Mutex<[Duration; 3]>,
}

impl Probe<'_> {
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
    async fn insert(&self, entries: &[TimelineEntry]) -> StoreResult<()> {
        self.timed(Phase::Durable, self.dynamo.insert(entries)).await
    }

    async fn remove(&self, entries: &[TimelineEntry]) -> StoreResult<()> {
        TimelineStore::remove(self.dynamo, entries).await
    }

    async fn newest(&self, owner: &UserId, limit: usize) -> StoreResult<Vec<TimelineEntry>> {
        self.dynamo.newest(owner, limit).await
    }

    async fn by_author(&self, owner: &UserId, author: &UserId) -> StoreResult<Vec<TimelineEntry>> {
        TimelineStore::by_author(self.dynamo, owner, author).await
    }
}

impl TimelineCache for Probe<'_> {
    async fn page(
        &self,
        owner: &UserId,
        before: Option<&TweetId>,
        count: usize,
    ) -> StoreResult<Option<Vec<TweetId>>> {
        self.cache.page(owner, before, count).await
    }

    async fn begin_fill(&self, owner: &UserId) -> StoreResult<()> {
        self.cache.begin_fill(owner).await
    }

    async fn finish_fill(&self, owner: &UserId, ids: &[TweetId]) -> StoreResult<()> {
        self.cache.finish_fill(owner, ids).await
    }

    async fn add(&self, entries: &[TimelineEntry]) -> StoreResult<usize> {
        self.timed(Phase::Cache, self.cache.add(entries)).await
    }

    async fn remove(&self, entries: &[TimelineEntry]) -> StoreResult<()> {
        TimelineCache::remove(self.cache, entries).await
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

    async fn recent(
        &self,
        authors: &[UserId],
        before: Option<&TweetId>,
        count: usize,
    ) -> StoreResult<Vec<Vec<TweetId>>> {
        self.cache.recent(authors, before, count).await
    }

    async fn celebrities_followed(&self, reader: &UserId) -> StoreResult<Option<Vec<UserId>>> {
        self.cache.celebrities_followed(reader).await
    }

    async fn remember_celebrities_followed(
        &self,
        reader: &UserId,
        celebrities: &[UserId],
    ) -> StoreResult<()> {
        self.cache.remember_celebrities_followed(reader, celebrities).await
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 { values[middle] } else { (values[middle - 1] + values[middle]) / 2.0 }
}

/// One column of the figures, a value per run.
fn column(runs: &[RunFigures], value: impl Fn(&RunFigures) -> f64) -> Vec<f64> {
    runs.iter().map(value).collect()
}

fn print_table(args: &Args, config: &StoreConfig, runs: &[RunFigures]) {
    let endpoint = config.dynamodb_endpoint.as_deref().unwrap_or("AWS");
    println!(
        "timeline-bench: {} followers ({} cached), page size {}, {} batch writes of {BATCH} in flight; \
         DynamoDB {endpoint}, Redis {}",
        args.followers,
        args.cached(),
        args.page_size,
        IN_FLIGHT,
        config.redis_url,
    );
    println!();
    println!(
        "{:<7} {:>17} {:>12} {:>6}  {:>14} {:>9} {:>8} {:>8} {:>11}",
        "run",
        "fan-out entries/s",
        "raw items/s",
        "ratio",
        "fan-out wall s",
        "followers",
        "durable",
        "cached",
        "raw retries"
    );
    for (n, run) in runs.iter().enumerate() {
        println!(
            "{:<7} {:>17.0} {:>12.0} {:>6.2}  {:>14.3} {:>9} {:>8} {:>8} {:>11}",
            n + 1,
            run.fanout_rate(),
            run.raw_rate(),
            run.ratio(),
            run.fanout.as_secs_f64(),
            run.report.followers,
            run.report.durable_entries,
            run.report.cached_entries,
            run.raw.retries,
        );
    }
    println!(
        "{:<7} {:>17.0} {:>12.0} {:>6.2}  {:>14.3}",
        "median",
        median(column(runs, RunFigures::fanout_rate)),
        median(column(runs, RunFigures::raw_rate)),
        median(column(runs, RunFigures::ratio)),
        median(column(runs, |r| r.fanout.as_secs_f64())),
    );
    print_breakdown(runs);
    println!();
}

fn print_breakdown(runs: &[RunFigures]) {
    if runs.iter().all(|run| run.phases.is_none()) {
        return;
    }
    println!();
    println!("instrumented fan-out, seconds (share of its wall time):");
    println!(
        "{:<7} {:>8} {:>16} {:>16} {:>16} {:>16}",
        "run", "wall", "read followers", "write DynamoDB", "write Redis", "other"
    );
    for (n, phases) in runs.iter().enumerate().filter_map(|(n, run)| Some((n, run.phases.as_ref()?))) {
        let share = |d: Duration| {
            format!("{:.3} ({:>3.0}%)", d.as_secs_f64(), 100.0 * d.as_secs_f64() / phases.wall.as_secs_f64())
        };
        println!(
            "{:<7} {:>8.3} {:>16} {:>16} {:>16} {:>16}",
            n + 1,
            phases.wall.as_secs_f64(),
            share(phases.of(Phase::Followers)),
            share(phases.of(Phase::Durable)),
            share(phases.of(Phase::Cache)),
            share(phases.other()),
        );
    }
}

/// The figures as one JSON object, for recording.
fn json_line(args: &Args, runs: &[RunFigures]) -> String {
    let columns: [(&str, Vec<f64>, usize); 4] = [
        ("fanout_entries_per_s", column(runs, RunFigures::fanout_rate), 0),
        ("raw_items_per_s", column(runs, RunFigures::raw_rate), 0),
        ("ratio", column(runs, RunFigures::ratio), 3),
        ("fanout_wall_s", column(runs, |r| r.fanout.as_secs_f64()), 3),
    ];
    let per_run: Vec<String> = columns
        .iter()
        .map(|(name, values, places)| {
            let listed: Vec<String> = values.iter().map(|v| format!("{v:.places$}")).collect();
            format!("\"{name}\":[{}]", listed.join(","))
        })
        .collect();
    let medians: Vec<String> = columns
        .iter()
        .map(|(name, values, places)| format!("\"{name}\":{:.places$}", median(values.clone())))
        .collect();
    format!(
        "{{\"bench\":\"timeline-fanout\",\"followers\":{},\"cached_followers\":{},\"page_size\":{},\
         \"in_flight\":{IN_FLIGHT},\"runs\":{},{},\"median\":{{{}}}}}",
        args.followers,
        args.cached(),
        args.page_size,
        runs.len(),
        per_run.join(","),
        medians.join(","),
    )
}

/// An error and its sources, on one line (SDK errors keep the useful part in their sources).
fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

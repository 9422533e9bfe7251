//! The backlog benchmark (`timeline-bench --backlog N`): how fast the fan-out Lambda's handler
//! works off N queued stream records, next to the raw write rate of the same DynamoDB Local.
//! One run, in fresh tables (with streams) and Redis keys under a `backlog-<ULID>-` prefix:
//!
//! 1. AUTHORS authors with FOLLOWERS dedicated followers each (the burst scenario's shape), every
//!    follower's timeline cached, as the burst's watched readers are.
//! 2. N tweets stored round robin by the authors (`Tweets::create`, as the write path does):
//!    they queue in the tweets stream, as they do behind a consumer that was down or slow.
//! 3. The stream's records read from TRIM_HORIZON and cut into Lambda events of B records.
//! 4. Timed: `Engine::handle` over the events one after another, as the event source mapping
//!    delivers one shard's batches. Rate: durable timeline entries written per second.
//! 5. Timed: as many entries written by `TimelineStore::insert` alone: the raw rate, the ceiling.

use std::time::{Duration, Instant};

use aws_lambda_events::dynamodb::Event as DynamoDbEvent;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use futures::{StreamExt, TryStreamExt, stream};
use serde_json::{Value, json};
use timeline_fanout::Engine;
use timeline_model::ports::{CreateProfile, TimelineCache, Tweets, Users};
use timeline_model::{
    DisplayName, Follow, NewTweet, TimelineEntry, Tweet, TweetId, TweetText, User, UserId, Username,
};
use timeline_service::poller::lambda_record;
use timeline_store::{Dynamo, RedisCache, StoreSettings, Streams};

use crate::BenchResult;
use crate::bench::RawWrite;

const AUTHORS: usize = 20;
const FOLLOWERS: usize = 3;
/// Posts stored at once while queueing the backlog.
const POSTS_IN_FLIGHT: usize = 16;
/// How long the queued records may take to show in the stream.
const STREAM_PATIENCE: Duration = Duration::from_secs(30);

/// What one run measured.
pub struct BacklogFigures {
    pub records: usize,
    pub batch_size: usize,
    pub batches: usize,
    /// Durable timeline entries the drain wrote.
    pub entries: usize,
    pub drain: Duration,
    pub raw: RawWrite,
}

impl BacklogFigures {
    pub fn drain_rate(&self) -> f64 {
        self.entries as f64 / self.drain.as_secs_f64()
    }

    pub fn raw_rate(&self) -> f64 {
        self.raw.items as f64 / self.raw.elapsed.as_secs_f64()
    }
}

/// Set up, measure, and clean up whether or not the measurement succeeded.
pub async fn one_run(
    records: usize,
    batch_size: usize,
    settings: &StoreSettings,
) -> BenchResult<BacklogFigures> {
    let settings =
        StoreSettings { table_prefix: format!("backlog-{}-", TweetId::generate()), ..settings.clone() };
    let backlog = Backlog::connect(&settings).await?;
    let measured = backlog.measure(&settings, records, batch_size).await;
    let evicted = backlog.evict_keys().await;
    let deleted = backlog.dynamo.delete_tables().await;
    let figures = measured?;
    evicted?;
    deleted?;
    Ok(figures)
}

struct Backlog {
    dynamo: Dynamo,
    cache: RedisCache,
    authors: Vec<User>,
    followers: Vec<UserId>,
}

impl Backlog {
    async fn connect(settings: &StoreSettings) -> BenchResult<Self> {
        let mut authors = Vec::with_capacity(AUTHORS);
        let mut followers = Vec::with_capacity(AUTHORS * FOLLOWERS);
        for a in 0..AUTHORS {
            let id = UserId::parse(&format!("backlog-a{a:02}"))?;
            authors.push(User::new(
                id,
                Username::parse(&format!("backlog_a{a:02}"))?,
                DisplayName::default(),
            ));
            for f in 0..FOLLOWERS {
                followers.push(UserId::parse(&format!("backlog-a{a:02}-f{f}"))?);
            }
        }
        Ok(Self {
            dynamo: Dynamo::connect(settings).await,
            cache: RedisCache::connect(settings).await?,
            authors,
            followers,
        })
    }

    async fn measure(
        &self,
        settings: &StoreSettings,
        records: usize,
        batch_size: usize,
    ) -> BenchResult<BacklogFigures> {
        self.dynamo.create_tables(Streams::On).await?;
        self.seed().await?;
        self.queue(records).await?;
        let events = self.stream_events(settings, records, batch_size).await?;
        let engine = Engine::new(self.dynamo.clone(), self.cache.clone(), settings.fanout_threshold);
        let started = Instant::now();
        for event in &events {
            let response = engine.handle(event).await;
            if !response.batch_item_failures.is_empty() {
                return Err(
                    format!("the handler reported failures: {:?}", response.batch_item_failures).into()
                );
            }
        }
        let drain = started.elapsed();
        let entries = records * (1 + FOLLOWERS);
        let raw = self.raw_write(entries).await?;
        Ok(BacklogFigures { records, batch_size, batches: events.len(), entries, drain, raw })
    }

    /// The authors' profiles, their followers' edges, and the followers' cached timelines.
    async fn seed(&self) -> BenchResult<()> {
        for author in &self.authors {
            if Users::create(&self.dynamo, author).await? != CreateProfile::Created {
                return Err(format!("profile {} was not created", author.user_id).into());
            }
        }
        let edges: Vec<Follow> = self
            .followers
            .iter()
            .enumerate()
            .map(|(n, follower)| Follow {
                followee_id: self.authors[n / FOLLOWERS].user_id.clone(),
                follower_id: follower.clone(),
            })
            .collect();
        self.dynamo.put_follow_edges(&edges).await?;
        for owner in &self.followers {
            self.cache.begin_fill(owner).await?;
            self.cache.finish_fill(owner, &[], &[]).await?;
        }
        Ok(())
    }

    /// Store `records` tweets, round robin by author; nothing consumes the stream meanwhile.
    async fn queue(&self, records: usize) -> BenchResult<()> {
        let text = TweetText::parse("queued while the consumer was away")?;
        let tweets: Vec<Tweet> = (0..records)
            .map(|n| Tweet::compose(&self.authors[n % AUTHORS], NewTweet { text: text.clone() }))
            .collect();
        let writes: Vec<_> = tweets.iter().map(|tweet| Tweets::create(&self.dynamo, tweet)).collect();
        stream::iter(writes).buffer_unordered(POSTS_IN_FLIGHT).try_collect::<Vec<()>>().await?;
        Ok(())
    }

    /// Every record of the tweets stream, in Lambda events of `batch_size` records.
    async fn stream_events(
        &self,
        settings: &StoreSettings,
        records: usize,
        batch_size: usize,
    ) -> BenchResult<Vec<DynamoDbEvent>> {
        let table = &self.dynamo.tables().tweets;
        let arn = self.dynamo.stream_arn(table).await?.ok_or("the tweets table has no stream")?;
        let streams =
            aws_sdk_dynamodbstreams::Client::new(&timeline_store::dynamo::sdk_config(settings).await);
        let described = streams.describe_stream().stream_arn(&arn).send().await?;
        let shards = described.stream_description.and_then(|d| d.shards).unwrap_or_default();
        let mut found: Vec<Value> = Vec::with_capacity(records);
        let deadline = Instant::now() + STREAM_PATIENCE;
        for shard in shards {
            let mut iterator = streams
                .get_shard_iterator()
                .stream_arn(&arn)
                .set_shard_id(shard.shard_id)
                .shard_iterator_type(ShardIteratorType::TrimHorizon)
                .send()
                .await?
                .shard_iterator;
            while let Some(current) = iterator.take() {
                let output = streams.get_records().shard_iterator(current).limit(1000).send().await?;
                let page = output.records.unwrap_or_default();
                found.extend(page.iter().map(|r| lambda_record(&arn, r)));
                if page.is_empty() && (found.len() >= records || Instant::now() > deadline) {
                    break;
                }
                iterator = output.next_shard_iterator;
            }
        }
        if found.len() != records {
            return Err(format!("the stream holds {} records, not {records}", found.len()).into());
        }
        found
            .chunks(batch_size)
            .map(|chunk| Ok(serde_json::from_value(json!({ "Records": chunk }))?))
            .collect()
    }

    /// `entries` timeline entries, for fresh tweet IDs, written by the store's batch writer alone.
    async fn raw_write(&self, entries: usize) -> BenchResult<RawWrite> {
        let owners: Vec<&UserId> =
            self.followers.iter().chain(self.authors.iter().map(|a| &a.user_id)).collect();
        let mut written = Vec::with_capacity(entries);
        while written.len() < entries {
            let tweet_id = TweetId::generate();
            for owner in owners.iter().take(entries - written.len()) {
                let author_id = self.authors[0].user_id.clone();
                written.push(TimelineEntry { owner_id: (*owner).clone(), tweet_id, author_id });
            }
        }
        RawWrite::measure(&self.dynamo, &written).await
    }

    async fn evict_keys(&self) -> BenchResult<()> {
        for owner in &self.followers {
            self.cache.evict(std::slice::from_ref(owner)).await?;
        }
        Ok(())
    }
}

/// A table row per run and one JSON line, on stdout.
pub fn print(runs: &[BacklogFigures]) {
    println!(
        "{:<5} {:>8} {:>6} {:>8} {:>8} {:>8} {:>16} {:>12} {:>6}",
        "run", "records", "batch", "batches", "entries", "drain s", "drain entries/s", "raw items/s", "ratio"
    );
    for (n, run) in runs.iter().enumerate() {
        println!(
            "{:<5} {:>8} {:>6} {:>8} {:>8} {:>8.3} {:>16.0} {:>12.0} {:>6.2}",
            n + 1,
            run.records,
            run.batch_size,
            run.batches,
            run.entries,
            run.drain.as_secs_f64(),
            run.drain_rate(),
            run.raw_rate(),
            run.drain_rate() / run.raw_rate(),
        );
    }
    let json: Vec<Value> = runs
        .iter()
        .map(|r| {
            json!({
                "records": r.records, "batch_size": r.batch_size, "entries": r.entries,
                "drain_ms": r.drain.as_secs_f64() * 1000.0, "drain_rate": r.drain_rate(),
                "raw_rate": r.raw_rate(), "ratio": r.drain_rate() / r.raw_rate(),
            })
        })
        .collect();
    println!("{}", json!({ "benchmark": "backlog", "runs": json }));
}

//! The stream poller across restarts: it resumes from its checkpoints, so what was applied before
//! a stop is not applied again and what was written while it was stopped is applied after.

use std::time::{Duration, Instant};

use timeline_model::ports::{TimelineCache, TimelineStore, Tweets, Users};
use timeline_model::{NewTweet, Tweet, TweetText, UserId};
use timeline_service::SHUTDOWN_GRACE;
use timeline_service::poller::checkpoint::{CheckpointFile, Checkpoints};
use timeline_store::{Dynamo, RedisCache, TableNames};

use crate::cli::Served;
use crate::helpers::{
    Client, Leftovers, Redis, StoppedApp, checkpoint_dir, spawn_app, store_settings, unique_prefix,
};

/// A position before every record of a shard, which it answers as it answers a trimmed one.
const GONE: &str = "000000000000000000000";

/// The stores of a stopped service, written directly while no poller runs.
struct Stores {
    dynamo: Dynamo,
    cache: RedisCache,
}

impl Stores {
    async fn of(stopped: &StoppedApp) -> Self {
        let store = &stopped.settings.api.store;
        Self { dynamo: Dynamo::connect(store).await, cache: RedisCache::connect(store).await.unwrap() }
    }

    /// Empty `owner`'s timeline in both stores, as if nothing had been fanned out to it.
    async fn forget_timeline(&self, owner: &str) {
        let owner = UserId::parse(owner).unwrap();
        let entries = self.dynamo.newest(&owner, None, 100).await.unwrap();
        TimelineStore::remove(&self.dynamo, &entries).await.unwrap();
        self.cache.evict(std::slice::from_ref(&owner)).await.unwrap();
    }

    /// Store a tweet by `author` as the API does, without fanning it out; returns its ID.
    async fn post(&self, author: &str, text: &str) -> String {
        let author =
            Users::get(&self.dynamo, &UserId::parse(author).unwrap()).await.unwrap().expect("a profile");
        let tweet = Tweet::compose(&author, NewTweet { text: TweetText::parse(text).unwrap() });
        Tweets::create(&self.dynamo, &tweet).await.unwrap();
        tweet.tweet_id.to_string()
    }
}

/// Make every checkpointed position of a stopped service's streams one the shards do not have.
fn lose_checkpointed_positions(stopped: &StoppedApp) {
    let tables = TableNames::with_prefix(&stopped.prefix);
    for table in [&tables.tweets, &tables.follows] {
        let file = CheckpointFile::open(&stopped.settings.checkpoint_dir, table).unwrap();
        let mut saved = file.load::<Checkpoints>().unwrap().expect("a checkpoint was saved");
        assert!(!saved.streams.is_empty(), "{table}'s stream is checkpointed");
        for position in saved.streams.values_mut().flat_map(|shards| shards.values_mut()) {
            *position = GONE.to_owned();
        }
        file.save(&saved).unwrap();
    }
}

/// `ann` posts, then `bob` follows her, and both records are applied: the tweet is in her own
/// timeline (the tweets stream) and in his by backfill (the follows stream). Returns its ID.
async fn post_then_follow(client: &Client, ann: &str, bob: &str) -> String {
    let tweet = client.post(ann, "before the restart").await;
    client.wait_for_timeline(ann, |ids| ids.contains(&tweet)).await;
    client.follow(bob, ann).await;
    let seen = client.wait_for_timeline(bob, |ids| ids.contains(&tweet)).await;
    assert_eq!(seen, vec![tweet.clone()]);
    tweet
}

/// Both streams applied past everything written so far: a new follow of `author`, applied
/// after every older record of the follows stream, backfills `newest` (the tweets stream's
/// newest record, so the older tweet records were applied before it too).
async fn wait_until_both_streams_caught_up(client: &Client, author: &str, newest: &str) {
    let cat = client.user("cat").await;
    client.follow(&cat, author).await;
    let seen = client.wait_for_timeline(&cat, |ids| ids.iter().any(|id| id == newest)).await;
    assert!(seen.iter().any(|id| id == newest), "the follows stream is applied: {seen:?}");
}

#[tokio::test]
async fn after_a_restart_the_poller_applies_what_was_written_while_stopped_and_nothing_before() {
    let app = spawn_app().await;
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    post_then_follow(&app, &ann, &bob).await;

    let stopped = app.shut_down().await;
    let stores = Stores::of(&stopped).await;
    // A replay from the oldest records (the follow or the tweet) would bring the first back.
    stores.forget_timeline(&bob).await;
    // Only the stream has it: no poller runs.
    let during = stores.post(&ann, "while the poller was stopped").await;

    let app = stopped.start().await;
    let seen = app.wait_for_timeline(&bob, |ids| ids.contains(&during)).await;
    assert_eq!(seen, vec![during.clone()], "what was written while stopped arrives, nothing older");
    wait_until_both_streams_caught_up(&app, &ann, &during).await;
    assert_eq!(app.timeline(&bob).await, vec![during], "no old record was applied again");
}

#[tokio::test]
async fn a_checkpoint_the_stream_no_longer_has_falls_back_to_the_oldest_record() {
    let app = spawn_app().await;
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    let before = post_then_follow(&app, &ann, &bob).await;

    let stopped = app.shut_down().await;
    lose_checkpointed_positions(&stopped);
    Stores::of(&stopped).await.forget_timeline(&bob).await;

    let app = stopped.start().await;
    let seen = app.wait_for_timeline(&bob, |ids| ids.contains(&before)).await;
    assert_eq!(seen, vec![before], "the stream was read again from its oldest record");
}

#[tokio::test]
async fn timeline_local_saves_its_checkpoints_on_sigint_and_resumes_from_them() {
    let prefix = unique_prefix();
    let _leftovers = Leftovers::of(&prefix);
    let server = Served::start(&prefix).await;
    let client = &server.client;
    let (ann, bob) = (client.user("ann").await, client.user("bob").await);
    let first = post_then_follow(client, &ann, &bob).await;

    let interrupted = Instant::now();
    let status = server.interrupt().await;
    assert!(status.success(), "{status}");
    let bound = SHUTDOWN_GRACE + Duration::from_secs(2);
    assert!(interrupted.elapsed() < bound, "stopped in {:?}", interrupted.elapsed());
    let tables = TableNames::with_prefix(&prefix);
    let dynamo = Dynamo::connect(&store_settings(&prefix, Redis::Standalone)).await;
    for table in [&tables.tweets, &tables.follows] {
        let saved = CheckpointFile::open(&checkpoint_dir(&prefix), table)
            .unwrap()
            .load::<Checkpoints>()
            .unwrap()
            .expect("a checkpoint was saved");
        let stream_arn = dynamo.stream_arn(table).await.unwrap().unwrap();
        let shards = saved.streams.get(&stream_arn).filter(|shards| !shards.is_empty());
        let shards = shards.unwrap_or_else(|| panic!("{table}'s stream is checkpointed: {saved:?}"));
        assert!(shards.keys().all(|shard| shard.starts_with("shardId-")), "{table}: {saved:?}");
    }

    let server = Served::start(&prefix).await;
    let client = &server.client;
    let posted = Instant::now();
    let second = client.post(&ann, "after the restart").await;
    let seen = client.wait_for_timeline(&bob, |ids| ids.contains(&second)).await;
    assert!(posted.elapsed() < Duration::from_secs(10), "fanned out in {:?}", posted.elapsed());
    assert_eq!(seen, vec![second, first], "nothing posted is lost");
    assert!(server.interrupt().await.success());
}

//! The fan-out handler on real stream records: at-least-once delivery and the Lambda shape.

use aws_lambda_events::dynamodb::Event as DynamoDbEvent;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use timeline_fanout::Engine;
use timeline_model::ports::{TimelineCache, TimelineStore};
use timeline_model::{TIMELINE_CAP, TweetId, UserId};
use timeline_service::poller::lambda_record;
use timeline_store::Dynamo;
use timeline_store::dynamo::sdk_config;

use crate::helpers::{TestApp, on_both_redis, redis_node, spawn_app, store_settings};

on_both_redis! {
    a_replayed_stream_batch_leaves_every_timeline_unchanged => replayed_batch_changes_nothing;
    a_batch_applied_in_waves_leaves_the_timelines_a_serial_apply_leaves => waves_equal_serial;
}

/// Every record of a table's stream so far, in the Lambda event shape.
pub async fn stream_event(app: &TestApp, table: &str) -> Value {
    let arn = app.service.state.dynamo.stream_arn(table).await.unwrap().unwrap();
    let streams =
        aws_sdk_dynamodbstreams::Client::new(&sdk_config(&store_settings(&app.prefix, app.redis)).await);
    let stream = streams.describe_stream().stream_arn(&arn).send().await.unwrap().stream_description.unwrap();
    let mut records = Vec::new();
    for shard in stream.shards.unwrap_or_default() {
        let iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id.unwrap())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .unwrap()
            .shard_iterator;
        let output = streams.get_records().set_shard_iterator(iterator).send().await.unwrap();
        records.extend(output.records.unwrap_or_default().iter().map(|r| lambda_record(&arn, r)));
    }
    json!({ "Records": records })
}

/// The stream records of the follows and the tweets tables.
async fn records(app: &TestApp) -> (Vec<Value>, Vec<Value>) {
    let tables = app.service.state.dynamo.tables().clone();
    let follows = stream_event(app, &tables.follows).await["Records"].as_array().unwrap().clone();
    let tweets = stream_event(app, &tables.tweets).await["Records"].as_array().unwrap().clone();
    (follows, tweets)
}

fn event(records: Vec<Value>) -> DynamoDbEvent {
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn sequence_number(record: &Value) -> String {
    record["dynamodb"]["SequenceNumber"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_transient_failure_names_the_failed_record_and_a_retry_from_there_completes_the_batch() {
    let app = spawn_app().await;
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    app.follow(&bob, &ann).await;
    let first = app.post(&ann, "one").await;
    let second = app.post(&ann, "two").await;
    app.wait_for_timeline(&ann, |ids| ids.len() == 2).await;
    let (_, tweets) = records(&app).await;
    let mut modify = tweets[0].clone();
    modify["eventName"] = json!("MODIFY");
    modify["dynamodb"]["SequenceNumber"] = json!("000000000000000000001");
    let batch = [vec![modify], tweets.clone()].concat();

    // DynamoDB is down: the MODIFY (nothing to do) passes, the first tweet fails, and nothing
    // after it is attempted.
    let mut settings = store_settings(&app.prefix, app.redis);
    settings.dynamodb_endpoint = Some("http://127.0.0.1:1".into());
    let broken = Engine::new(
        Dynamo::connect(&settings).await,
        app.service.state.cache.clone(),
        timeline_store::StoreSettings::DEFAULT_FANOUT_THRESHOLD,
    );
    let response = broken.handle(&event(batch.clone())).await;
    let failed: Vec<Option<String>> =
        response.batch_item_failures.iter().map(|f| f.item_identifier.clone()).collect();
    assert_eq!(failed, vec![Some(sequence_number(&tweets[0]))]);

    // Lambda retries from the failed record; with DynamoDB back the batch completes.
    let from = batch.iter().position(|r| sequence_number(r) == sequence_number(&tweets[0])).unwrap();
    let response = engine(&app).handle(&event(batch[from..].to_vec())).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(app.timeline(&bob).await, vec![second, first]);
}

#[tokio::test]
async fn a_poison_record_is_skipped_and_counted_while_the_rest_of_the_batch_lands() {
    let app = spawn_app().await;
    let ann = app.user("ann").await;
    let tweet = app.post(&ann, "fine").await;
    app.wait_for_timeline(&ann, |ids| ids.len() == 1).await;
    let (_, tweets) = records(&app).await;
    let mut poison = tweets[0].clone();
    poison["dynamodb"]["NewImage"]["text"]["S"] = json!("x".repeat(281));
    poison["dynamodb"]["SequenceNumber"] = json!("000000000000000000001");
    let mut unknown = tweets[0].clone();
    unknown["dynamodb"]["Keys"] = json!({ "something_else": { "S": "?" } });

    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let response = {
        let _local = metrics::set_default_local_recorder(&recorder);
        engine(&app).handle(&event(vec![poison, unknown, tweets[0].clone()])).await
    };
    assert!(response.batch_item_failures.is_empty());
    // One snapshot: taking it drains the histograms.
    let snapshot = snapshotter.snapshot().into_vec();
    let skipped: u64 = snapshot
        .iter()
        .filter(|(key, ..)| key.key().name() == timeline_store::telemetry::FANOUT_SKIPPED_RECORDS)
        .map(|(.., value)| match value {
            metrics_util::debugging::DebugValue::Counter(n) => *n,
            _ => 0,
        })
        .sum();
    assert_eq!(skipped, 2);
    // The lag of the good record is measured from the tweet's own time, not from the stream's
    // coarse ApproximateCreationDateTime (whole minutes in DynamoDB Local).
    let lags: Vec<f64> = snapshot
        .iter()
        .filter(|(key, ..)| key.key().name() == timeline_store::telemetry::FANOUT_LAG_MS)
        .flat_map(|(.., value)| match value {
            metrics_util::debugging::DebugValue::Histogram(values) => {
                values.iter().map(|v| v.into_inner()).collect()
            }
            _ => Vec::new(),
        })
        .collect();
    assert_eq!(lags.len(), 1);
    assert!(lags[0] < 10_000.0, "lag {} ms", lags[0]);
    assert_eq!(app.timeline(&ann).await, vec![tweet]);
}

fn engine(app: &TestApp) -> Engine {
    let state = &app.service.state;
    Engine::new(
        state.dynamo.clone(),
        state.cache.clone(),
        timeline_store::StoreSettings::DEFAULT_FANOUT_THRESHOLD,
    )
}

/// Both stores' view of one owner's timeline.
async fn snapshot(app: &TestApp, owner: &str) -> (Vec<TweetId>, Option<Vec<TweetId>>) {
    let owner = UserId::parse(owner).unwrap();
    let state = &app.service.state;
    let durable = state
        .dynamo
        .newest(&owner, None, TIMELINE_CAP)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.tweet_id)
        .collect();
    (durable, state.cache.page(&owner, None, TIMELINE_CAP).await.unwrap().map(|p| p.ids))
}

async fn replayed_batch_changes_nothing(app: TestApp) {
    let (author, follower) = (app.user("ann").await, app.user("bob").await);
    app.follow(&follower, &author).await;
    app.timeline(&follower).await; // cache the follower's timeline, so both stores are written
    let mut posted = Vec::new();
    for n in 0..3 {
        posted.push(app.post(&author, &format!("tweet {n}")).await);
    }
    // Both timelines complete: the follow's backfill can fill the follower's before the posts'
    // own fan-out reaches the author's.
    app.wait_for_timeline(&follower, |ids| ids.len() == 3).await;
    app.wait_for_timeline(&author, |ids| ids.len() == 3).await;
    let before = (snapshot(&app, &author).await, snapshot(&app, &follower).await);
    assert_eq!(before.1.0.len(), 3);
    assert_eq!(before.1.1.as_ref().map(Vec::len), Some(3));

    let event: DynamoDbEvent =
        serde_json::from_value(stream_event(&app, &app.service.state.dynamo.tables().tweets).await).unwrap();
    assert_eq!(event.records.len(), 3);
    for _ in 0..2 {
        let response = engine(&app).handle(&event).await;
        assert!(response.batch_item_failures.is_empty());
    }
    assert_eq!((snapshot(&app, &author).await, snapshot(&app, &follower).await), before);
}

#[tokio::test]
async fn the_lambda_handler_accepts_a_stream_event_captured_from_dynamodb_local() {
    let app = spawn_app().await;
    let fixture = include_str!("../fixtures/tweet-insert-event.json");
    let event = LambdaEvent::new(serde_json::from_str::<DynamoDbEvent>(fixture).unwrap(), Context::default());
    let response = engine(&app).handle_lambda(event).await.unwrap();
    assert_eq!(serde_json::to_value(&response).unwrap(), json!({ "batchItemFailures": [] }));

    let record: Value = serde_json::from_str::<Value>(fixture).unwrap()["Records"][0].clone();
    let author = record["dynamodb"]["NewImage"]["author_id"]["S"].as_str().unwrap();
    let tweet = record["dynamodb"]["Keys"]["tweet_id"]["S"].as_str().unwrap();
    assert_eq!(snapshot(&app, author).await.0, vec![TweetId::parse(tweet).unwrap()]);
}

/// Both stores' view of each owner's timeline.
async fn snapshots(app: &TestApp, owners: &[String]) -> Vec<(Vec<TweetId>, Option<Vec<TweetId>>)> {
    let mut all = Vec::new();
    for owner in owners {
        all.push(snapshot(app, owner).await);
    }
    all
}

/// Empty every owner's timeline in both stores; `cached` owners keep an empty cached timeline,
/// so that the fan-out writes theirs in the cache too.
async fn clear_timelines(app: &TestApp, owners: &[String], cached: &[String]) {
    let state = &app.service.state;
    for owner in owners {
        let owner = UserId::parse(owner).unwrap();
        let entries = state.dynamo.newest(&owner, None, TIMELINE_CAP).await.unwrap();
        state.dynamo.remove(&entries).await.unwrap();
        state.cache.evict(std::slice::from_ref(&owner)).await.unwrap();
    }
    for owner in cached {
        let owner = UserId::parse(owner).unwrap();
        state.cache.begin_fill(&owner).await.unwrap();
        state.cache.finish_fill(&owner, &[], &[]).await.unwrap();
    }
}

/// Streams that hold, per item, several changes (an edge followed, unfollowed and followed again;
/// a tweet posted and deleted) beside changes of other items, replayed twice over emptied
/// timelines: record by record, and as two whole batches. Both must leave what the live
/// poller left, entry for entry, in both stores.
async fn waves_equal_serial(app: TestApp) {
    let names = ["ann", "bob", "cat", "dan", "eve"];
    let mut users = Vec::new();
    for name in names {
        users.push(app.user(name).await);
    }
    let [ann, bob, cat, dan, eve] = <[String; 5]>::try_from(users.clone()).unwrap();
    // Bob's and eve's timelines are cached from the start; the others are cached by the reads
    // below, so the replays write every timeline in both stores.
    for owner in [&bob, &eve] {
        app.timeline(owner).await;
    }
    app.follow(&bob, &ann).await;
    app.follow(&cat, &ann).await;
    app.unfollow(&cat, &ann).await;
    app.follow(&cat, &ann).await;
    app.follow(&dan, &ann).await;
    app.follow(&eve, &dan).await;
    app.unfollow(&dan, &ann).await;
    let a1 = app.post(&ann, "a1").await;
    let d1 = app.post(&dan, "d1").await;
    let a2 = app.post(&ann, "a2").await;
    let e1 = app.post(&eve, "e1").await;
    app.delete_tweet(&ann, &a2).await;
    let a3 = app.post(&ann, "a3").await;
    app.delete_tweet(&dan, &d1).await;
    let d2 = app.post(&dan, "d2").await;
    let expected = [
        (&ann, vec![a3.clone(), a1.clone()]),
        (&bob, vec![a3.clone(), a1.clone()]),
        (&cat, vec![a3.clone(), a1.clone()]),
        (&dan, vec![d2.clone()]),
        (&eve, vec![d2.clone(), e1.clone()]),
    ];
    for (owner, timeline) in &expected {
        assert_eq!(
            &app.wait_for_timeline(owner, |ids| ids == timeline.as_slice()).await,
            timeline,
            "{owner}"
        );
    }
    let live = snapshots(&app, &users).await;
    let (follows, tweets) = records(&app).await;
    assert_eq!((follows.len(), tweets.len()), (7, 8));

    clear_timelines(&app, &users, &users).await;
    for record in follows.iter().chain(&tweets) {
        let response = engine(&app).handle(&event(vec![record.clone()])).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let serial = snapshots(&app, &users).await;

    clear_timelines(&app, &users, &users).await;
    for batch in [follows, tweets] {
        let response = engine(&app).handle(&event(batch)).await;
        assert!(response.batch_item_failures.is_empty());
    }
    let in_waves = snapshots(&app, &users).await;
    assert_eq!(serial, live, "record by record");
    assert_eq!(in_waves, live, "in waves");
}

#[tokio::test]
async fn a_cache_write_that_fails_holds_no_record_back_and_the_copy_it_missed_is_dropped_by_the_next_batch() {
    let app = spawn_app().await;
    let (ann, bob, zed) = (app.user("ann").await, app.user("bob").await, app.user("zed").await);
    app.follow(&bob, &ann).await;
    app.timeline(&bob).await;
    let z1 = app.post(&zed, "z1").await;
    let a1 = app.post(&ann, "a1").await;
    let a2 = app.post(&ann, "a2").await;
    app.wait_for_timeline(&bob, |ids| ids.len() == 2).await;
    app.wait_for_timeline(&zed, |ids| ids.len() == 1).await;
    let (_, tweets) = records(&app).await;
    assert_eq!(tweets.len(), 3);

    // Bob's cached timeline is broken (not a sorted set): every write to it fails. The batch
    // still lands in full, durably, and bob's copy is noted stale.
    let owners = [ann.clone(), bob.clone(), zed.clone()];
    clear_timelines(&app, &owners, &[bob.clone(), zed.clone()]).await;
    let settings = store_settings(&app.prefix, app.redis);
    let mut redis = redis_node(&settings.redis_url).await;
    let bobs_timeline = format!("{}tl:{{{bob}}}", app.prefix);
    let _: () = redis::cmd("SET").arg(&bobs_timeline).arg("not a set").query_async(&mut redis).await.unwrap();
    let response = engine(&app).handle(&event(tweets.clone())).await;
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);
    let bob_id = UserId::parse(&bob).unwrap();
    let bobs = app.service.state.dynamo.newest(&bob_id, None, 10).await.unwrap();
    let bobs: Vec<String> = bobs.iter().map(|e| e.tweet_id.to_string()).collect();
    assert_eq!(bobs, vec![a2.clone(), a1.clone()], "durably, beside the failed cache writes");
    assert_eq!(app.timeline(&zed).await, vec![z1], "zed's cached copy took its write");

    // The next batch (any, even empty) drops the copy: bob's next read rebuilds it.
    let response = engine(&app).handle(&event(Vec::new())).await;
    assert!(response.batch_item_failures.is_empty());
    let exists: bool = redis::cmd("EXISTS").arg(&bobs_timeline).query_async(&mut redis).await.unwrap();
    assert!(!exists, "the stale copy is dropped");
    assert_eq!(app.timeline(&bob).await, vec![a2, a1]);
}

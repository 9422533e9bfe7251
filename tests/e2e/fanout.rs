//! The fan-out handler on real stream records: at-least-once delivery and the Lambda shape.

use aws_lambda_events::dynamodb::Event as DynamoDbEvent;
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::{Value, json};
use timeline_fanout::Engine;
use timeline_fanout::poller::lambda_record;
use timeline_model::ports::{TimelineCache, TimelineStore};
use timeline_model::{TIMELINE_CAP, TweetId, UserId};
use timeline_store::dynamo::sdk_config;

use crate::helpers::{TestApp, on_both_redis, spawn_app, store_config};

on_both_redis! {
    a_replayed_stream_batch_leaves_every_timeline_unchanged => replayed_batch_changes_nothing;
}

/// Every record of a table's stream so far, in the Lambda event shape.
async fn stream_event(app: &TestApp, table: &str) -> Value {
    let dynamo = &app.service.state.dynamo;
    let described = dynamo.client().describe_table().table_name(table).send().await.unwrap();
    let arn = described.table.unwrap().latest_stream_arn.unwrap();
    let streams =
        aws_sdk_dynamodbstreams::Client::new(&sdk_config(&store_config(&app.prefix, app.redis)).await);
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

fn engine(app: &TestApp) -> Engine {
    Engine { dynamo: app.service.state.dynamo.clone(), cache: app.service.state.cache.clone() }
}

/// Both stores' view of one owner's timeline.
async fn snapshot(app: &TestApp, owner: &str) -> (Vec<TweetId>, Option<Vec<TweetId>>) {
    let owner = UserId::parse(owner).unwrap();
    let state = &app.service.state;
    let durable =
        state.dynamo.newest(&owner, TIMELINE_CAP).await.unwrap().into_iter().map(|e| e.tweet_id).collect();
    (durable, state.cache.page(&owner, None, TIMELINE_CAP).await.unwrap())
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

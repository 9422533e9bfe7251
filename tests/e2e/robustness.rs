//! Whatever arrives, the answer is a 4xx with the contract's body, never a 5xx; a dependency
//! that is down is a 503 unless the other store can answer alone.

use axum::body::Body;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timeline_api::{AppState, router};
use timeline_service::tokens::LocalTokens;
use tower::ServiceExt;

use crate::helpers::{
    Redis, SECRET, api_settings, on_both_redis, spawn_app, store_settings, token, unique_prefix,
};

/// JSON documents of any shape, with the fields the routes read sometimes present.
fn json_bodies() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,300}".prop_map(Value::from),
        "[\\x00-\\x1f]{1,5}".prop_map(Value::from),
    ];
    let any_json = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..4).prop_map(|m| json!(m)),
        ]
    });
    let field = prop_oneof![any_json.clone(), "\\PC{0,20}".prop_map(Value::from)];
    prop_oneof![
        any_json,
        (field.clone(), field.clone()).prop_map(|(u, d)| json!({ "username": u, "display_name": d })),
        field.prop_map(|t| json!({ "text": t })),
    ]
}

#[tokio::test]
async fn random_bodies_paths_and_queries_never_produce_a_5xx() {
    let app = spawn_app().await;
    let ann = app.user("ann").await;
    let mut runner = TestRunner::deterministic();
    let bodies = json_bodies();
    let noise = "\\PC{0,40}";
    for _ in 0..150 {
        let body = bodies.new_tree(&mut runner).unwrap().current();
        let junk = noise.new_tree(&mut runner).unwrap().current();
        let encoded: String = junk.bytes().map(|b| format!("%{b:02X}")).collect();
        let requests = [
            (Method::POST, "/users".to_owned(), Some(body.clone())),
            (Method::POST, "/tweets".to_owned(), Some(body.clone())),
            (Method::PUT, format!("/users/{ann}/following/{encoded}"), None),
            (Method::GET, format!("/users/{ann}/timeline?limit={encoded}&cursor={encoded}"), None),
            (Method::GET, format!("/users/{encoded}/followers?cursor={encoded}"), None),
            (Method::GET, format!("/tweets/{encoded}"), None),
        ];
        for (method, path, body) in requests {
            let reply = app.call(method.clone(), &path, Some(&ann), body.clone()).await;
            assert!(
                reply.status.as_u16() < 500,
                "{method} {path} {body:?} -> {} {:?}",
                reply.status,
                reply.body
            );
            if !reply.status.is_success() {
                assert!(reply.body["error"]["code"].is_string(), "{method} {path} -> {:?}", reply.body);
            }
        }
        // Raw bytes that are not JSON at all.
        let raw = app
            .client
            .post(format!("{}/tweets", app.base))
            .bearer_auth(token(&ann))
            .header("content-type", "application/json")
            .body(junk.into_bytes())
            .send()
            .await
            .unwrap();
        assert!(raw.status().is_client_error() || raw.status().is_success());
    }
}

/// A request through the router of a service whose stores are given.
async fn status_of(state: AppState, method: &str, uri: &str, user: &str, body: &str) -> (StatusCode, Value) {
    let request = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {}", token(user)))
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let response = router(state).oneshot(request).await.unwrap();
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_dynamodb_outage_is_503_unavailable() {
    let mut settings = store_settings(&unique_prefix(), Redis::Standalone);
    settings.dynamodb_endpoint = Some("http://127.0.0.1:1".into());
    let state = AppState::connect(&api_settings(settings), LocalTokens::authenticator(SECRET)).await.unwrap();
    for (method, uri, body) in [
        ("GET", "/users/ann", ""),
        ("POST", "/tweets", r#"{"text":"hi"}"#),
        ("GET", "/users/ann/timeline", ""),
    ] {
        let (status, body) = status_of(state.clone(), method, uri, "ann", body).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{method} {uri}");
        assert_eq!(body["error"]["code"], "unavailable");
    }
}

on_both_redis! {
    with_redis_down_a_service_starts_serves_timelines_from_the_timelines_table_and_takes_posts => redis_down;
    through_a_redis_outage_posts_reach_the_durable_timelines_and_the_cached_ones_catch_up_after => outage_and_back;
}

/// A URL of the app's kind of Redis at which nothing listens.
fn unreachable_redis(redis: Redis) -> String {
    match redis {
        Redis::Tls => "rediss://127.0.0.1:1/#insecure".into(),
        Redis::Standalone | Redis::Cluster => "redis://127.0.0.1:1".into(),
    }
}

/// The service restarted with its Redis unreachable, then restarted with it back (holding the
/// cached timelines of before the outage): the fan-out goes on into the durable timelines, which
/// reads fall back to, and the cached copies the outage left stale are dropped once Redis is
/// back, so reads from the cache converge.
async fn outage_and_back(app: crate::helpers::TestApp) {
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    app.follow(&bob, &ann).await;
    let before = app.post(&ann, "before").await;
    app.wait_for_timeline(&bob, |ids| ids == [before.clone()]).await;

    let mut stopped = app.shut_down().await;
    let redis_url =
        std::mem::replace(&mut stopped.settings.api.store.redis_url, unreachable_redis(stopped.redis));
    let down = stopped.start().await;
    let during = [down.post(&ann, "during 1").await, down.post(&ann, "during 2").await];
    let durable = vec![during[1].clone(), during[0].clone(), before.clone()];
    let served = down.wait_for_timeline(&bob, |ids| ids == durable.as_slice()).await;
    assert_eq!(served, durable, "fanned out into the durable timeline while Redis is down");

    let mut stopped = down.shut_down().await;
    stopped.settings.api.store.redis_url = redis_url;
    let back = stopped.start().await;
    let after = back.post(&ann, "after").await;
    let all = [vec![after], durable].concat();
    assert_eq!(
        back.wait_for_timeline(&bob, |ids| ids == all.as_slice()).await,
        all,
        "the cached copy caught up"
    );
}

/// A second service over the same tables whose Redis (standalone, cluster or TLS, as the
/// app's) is down from the start: it starts, reads degrade to the timelines table, posts and
/// profile reads do not need Redis.
async fn redis_down(app: crate::helpers::TestApp) {
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    app.follow(&bob, &ann).await;
    let tweet = app.post(&ann, "still readable").await;
    app.wait_for_timeline(&bob, |ids| ids.contains(&tweet)).await;

    let mut settings = store_settings(&app.prefix, app.redis);
    settings.redis_url = unreachable_redis(app.redis);
    let degraded = AppState::connect(&api_settings(settings), LocalTokens::authenticator(SECRET))
        .await
        .expect("the service starts while its Redis is down");
    let (status, body) =
        status_of(degraded.clone(), "GET", &format!("/users/{bob}/timeline"), &bob, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["items"][0]["tweet_id"], tweet.as_str());
    let (status, body) = status_of(degraded.clone(), "POST", "/tweets", &ann, r#"{"text":"no cache"}"#).await;
    assert_eq!(status, StatusCode::CREATED, "{body:?}");
    let (status, _) = status_of(degraded.clone(), "GET", &format!("/users/{ann}"), &ann, "").await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = status_of(degraded, "GET", "/health?deep=true", &bob, "").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["dependencies"], json!({ "dynamodb": "ok", "redis": "unavailable" }));
}

#[tokio::test]
async fn health_answers_and_reports_dependencies_when_asked() {
    let app = spawn_app().await;
    let shallow = app.call(Method::GET, "/health", None, None).await;
    assert_eq!((shallow.status, shallow.body), (StatusCode::OK, json!({ "status": "ok" })));
    let deep = app.call(Method::GET, "/health?deep=true", None, None).await;
    assert_eq!(deep.status, StatusCode::OK);
    assert_eq!(deep.body["dependencies"], json!({ "dynamodb": "ok", "redis": "ok" }));
}

#[tokio::test]
async fn a_request_dynamodb_refuses_as_invalid_is_a_permanent_error_and_a_missing_table_is_not() {
    use timeline_model::ports::StoreError;
    use timeline_store::Dynamo;
    use timeline_store::dynamo::Segment;

    // DynamoDB Local answers ValidationException for a segment past the last: never retried.
    let prefix = unique_prefix();
    let dynamo = Dynamo::connect(&store_settings(&prefix, Redis::Standalone)).await;
    dynamo.create_tables(timeline_store::Streams::Off).await.unwrap();
    let invalid = dynamo.user_page(Segment { index: 4, total: 4 }, None, None).await.err();
    dynamo.delete_tables().await.unwrap();
    assert!(matches!(&invalid, Some(StoreError::Rejected { .. })), "{invalid:?}");
    assert!(!invalid.unwrap().is_transient());

    // A table that is not there (a stack not deployed yet) fails every request alike: worth
    // waiting for, never a reason to skip records.
    let missing = dynamo.user_page(Segment { index: 0, total: 1 }, None, None).await.err();
    assert!(matches!(&missing, Some(StoreError::Unavailable { .. })), "{missing:?}");
}

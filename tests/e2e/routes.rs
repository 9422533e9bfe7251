//! The rest of the contract's routes: look-ups, listings, deletes, follows and unfollows,
//! idempotency keys, the posting limit, and racing clients.

use std::time::Duration;

use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timeline_model::limits::RateLimit;
use timeline_model::ports::TimelineCache;
use timeline_model::{TweetId, UserId};

use crate::helpers::{Redis, TestApp, ids, on_both_redis, spawn_app, spawn_app_on};

on_both_redis! {
    a_deleted_tweet_leaves_every_timeline_and_is_404_afterwards => deleted_tweet_leaves_every_timeline;
    a_follow_backfills_the_followees_tweets_and_an_unfollow_removes_them => follow_backfills_and_unfollow_removes;
    fifty_concurrent_posts_all_reach_a_follower => fifty_concurrent_posts_reach_a_follower;
}

/// Every page of a listing, following `next_cursor`.
async fn all_pages(app: &TestApp, path: &str, user: Option<&str>, limit: usize) -> Vec<Value> {
    let mut items = Vec::new();
    let mut url = format!("{path}?limit={limit}");
    loop {
        let reply = app.call(Method::GET, &url, user, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        items.extend(reply.body["items"].as_array().unwrap().iter().cloned());
        match reply.body["next_cursor"].as_str() {
            Some(cursor) => url = format!("{path}?limit={limit}&cursor={cursor}"),
            None => return items,
        }
    }
}

#[tokio::test]
async fn users_are_found_by_id_and_by_username_case_insensitively() {
    let app = spawn_app().await;
    let ann = app.user("ann").await;
    let profile = app.call(Method::GET, &format!("/users/{ann}"), None, None).await.body;
    let username = profile["username"].as_str().unwrap().to_uppercase();
    let found = app.call(Method::GET, &format!("/users/by-username/{username}"), None, None).await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(found.body, profile);
    let missing = app.call(Method::GET, "/users/by-username/nobody_at_all", None, None).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn followers_and_following_lists_page_through_every_user() {
    let app = spawn_app().await;
    let star = app.user("star").await;
    let mut fans = Vec::new();
    for n in 0..5 {
        let fan = app.user(&format!("fan{n}")).await;
        app.follow(&fan, &star).await;
        fans.push(fan);
    }
    let followers = all_pages(&app, &format!("/users/{star}/followers"), None, 2).await;
    let mut listed: Vec<&str> = followers.iter().map(|u| u["user_id"].as_str().unwrap()).collect();
    listed.sort();
    let mut expected: Vec<&str> = fans.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(listed, expected);
    let following = all_pages(&app, &format!("/users/{}/following", fans[0]), None, 2).await;
    assert_eq!(following.len(), 1);
    assert_eq!(following[0]["user_id"], star.as_str());
    assert_eq!(following[0]["followers_count"], 5);
}

#[tokio::test]
async fn an_authors_tweets_are_listed_newest_first() {
    let app = spawn_app().await;
    let ann = app.user("ann").await;
    let mut posted = Vec::new();
    for n in 0..5 {
        posted.push(app.post(&ann, &format!("tweet {n}")).await);
    }
    posted.reverse();
    let listed = all_pages(&app, &format!("/users/{ann}/tweets"), None, 2).await;
    let listed: Vec<&str> = listed.iter().map(|t| t["tweet_id"].as_str().unwrap()).collect();
    assert_eq!(listed, posted);
}

async fn deleted_tweet_leaves_every_timeline(app: TestApp) {
    let (ann, bob, cat) = (app.user("ann").await, app.user("bob").await, app.user("cat").await);
    app.follow(&bob, &ann).await;
    app.follow(&cat, &ann).await;
    app.timeline(&bob).await; // bob's timeline is cached, cat's is not
    let keep = app.post(&ann, "keep me").await;
    let oops = app.post(&ann, "delete me").await;
    app.wait_for_timeline(&bob, |ids| ids.len() == 2).await;

    let path = format!("/tweets/{oops}");
    assert_eq!(app.call(Method::GET, &path, None, None).await.status, StatusCode::OK);
    assert_eq!(app.call(Method::DELETE, &path, Some(&bob), None).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.call(Method::DELETE, &path, Some(&ann), None).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, &path, None, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::DELETE, &path, Some(&ann), None).await.status, StatusCode::NOT_FOUND);

    for owner in [&ann, &bob, &cat] {
        assert_eq!(app.wait_for_timeline(owner, |ids| ids.len() == 1).await, vec![keep.clone()], "{owner}");
    }
    let cached =
        app.service.state.cache.page(&UserId::parse(&bob).unwrap(), None, 10).await.unwrap().map(|p| p.ids);
    assert_eq!(cached, Some(vec![TweetId::parse(&keep).unwrap()]));
}

async fn follow_backfills_and_unfollow_removes(app: TestApp) {
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    let mine = app.post(&bob, "bob's own").await;
    let mut anns = Vec::new();
    for n in 0..3 {
        anns.push(app.post(&ann, &format!("ann {n}")).await);
    }
    app.wait_for_timeline(&bob, |ids| ids.len() == 1).await;

    app.follow(&bob, &ann).await;
    let merged = app.wait_for_timeline(&bob, |ids| ids.len() == 4).await;
    let mut expected: Vec<String> = anns.iter().rev().cloned().collect();
    expected.push(mine.clone());
    assert_eq!(merged, expected, "newest first, the followee's tweets merged in");

    // Twice: an unfollow of an edge that is gone is 204 as well.
    for _ in 0..2 {
        app.unfollow(&bob, &ann).await;
    }
    assert_eq!(app.wait_for_timeline(&bob, |ids| ids.len() == 1).await, vec![mine]);
    let profile = app.call(Method::GET, &format!("/users/{ann}"), None, None).await.body;
    assert_eq!(profile["followers_count"], 0);
}

#[tokio::test]
async fn an_idempotency_key_posts_once_and_refuses_another_body() {
    let app = spawn_app().await;
    let ann = app.user("ann").await;
    let post = |text: &'static str, key: &'static str| {
        app.client
            .post(format!("{}/tweets", app.base))
            .bearer_auth(crate::helpers::token(&ann))
            .header("Idempotency-Key", key)
            .json(&json!({ "text": text }))
            .send()
    };
    let first = post("once", "key-1").await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first: Value = first.json().await.unwrap();
    let retry = post("once", "key-1").await.unwrap();
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.json::<Value>().await.unwrap(), first);
    assert_eq!(post("another body", "key-1").await.unwrap().status(), StatusCode::CONFLICT);

    // Two requests racing with a fresh key create one tweet between them.
    let (a, b) = tokio::join!(post("raced", "key-2"), post("raced", "key-2"));
    let (a, b): (Value, Value) = (a.unwrap().json().await.unwrap(), b.unwrap().json().await.unwrap());
    assert_eq!(a["tweet_id"], b["tweet_id"]);
    let tweets = all_pages(&app, &format!("/users/{ann}/tweets"), None, 100).await;
    assert_eq!(tweets.len(), 2);

    let bad = app
        .client
        .post(format!("{}/tweets", app.base))
        .bearer_auth(crate::helpers::token(&ann))
        .header("Idempotency-Key", "has space")
        .json(&json!({ "text": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn posting_over_the_rate_limit_is_429_with_retry_after() {
    rate_limit_is_enforced(Redis::Standalone).await;
}

#[tokio::test]
async fn posting_over_the_rate_limit_is_429_with_retry_after_on_a_cluster() {
    rate_limit_is_enforced(Redis::Cluster).await;
}

async fn rate_limit_is_enforced(redis: Redis) {
    let app = spawn_app_on(redis, Some(RateLimit { max: 2, window: Duration::from_secs(60) })).await;
    let ann = app.user("ann").await;
    app.post(&ann, "one").await;
    app.post(&ann, "two").await;
    let reply = app.call(Method::POST, "/tweets", Some(&ann), Some(json!({ "text": "three" }))).await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(reply.error_code(), "rate_limited");
    let retry_after: u64 = reply.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    // Another user has a budget of their own.
    let bob = app.user("bob").await;
    app.post(&bob, "fine").await;
}

async fn fifty_concurrent_posts_reach_a_follower(app: TestApp) {
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    app.follow(&bob, &ann).await;
    app.timeline(&bob).await;
    let posts = (0..50).map(|n| {
        let app = &app;
        let ann = &ann;
        async move { app.post(ann, &format!("burst {n}")).await }
    });
    let mut posted = join_all(posts).await;
    posted.sort();
    posted.reverse();
    let seen = app.wait_for_timeline(&bob, |ids| ids.len() == 50).await;
    assert_eq!(seen, posted);
}

#[tokio::test]
async fn two_concurrent_follows_count_once() {
    let app = spawn_app().await;
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    let path = format!("/users/{bob}/following/{ann}");
    let (a, b) = tokio::join!(
        app.call(Method::PUT, &path, Some(&bob), None),
        app.call(Method::PUT, &path, Some(&bob), None)
    );
    assert_eq!((a.status, b.status), (StatusCode::NO_CONTENT, StatusCode::NO_CONTENT));
    let ann_profile = app.call(Method::GET, &format!("/users/{ann}"), None, None).await.body;
    let bob_profile = app.call(Method::GET, &format!("/users/{bob}"), None, None).await.body;
    assert_eq!(
        (ann_profile["followers_count"].clone(), bob_profile["following_count"].clone()),
        (json!(1), json!(1))
    );
    let timeline =
        ids(&app.call(Method::GET, &format!("/users/{bob}/timeline"), Some(&bob), None).await.body);
    assert!(timeline.is_empty());
}

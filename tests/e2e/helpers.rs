//! `spawn_app` and the HTTP helpers the tests share.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timeline_api::auth::mint_local_token;
use timeline_model::limits::RateLimit;
use timeline_service::{DEFAULT_DYNAMODB_ENDPOINT, LocalService, LocalSettings, start};
use timeline_store::StoreConfig;
use ulid::Ulid;

pub const SECRET: &str = "e2e-test-secret";

/// A running service with tables of its own.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub service: LocalService,
    pub prefix: String,
}

/// Where the tests find the services (`make test` starts them).
pub fn store_config(prefix: &str) -> StoreConfig {
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
    StoreConfig {
        dynamodb_endpoint: Some(var("TIMELINE_DYNAMODB_ENDPOINT", DEFAULT_DYNAMODB_ENDPOINT)),
        table_prefix: prefix.to_owned(),
        redis_url: var("TIMELINE_REDIS_URL", StoreConfig::DEFAULT_REDIS_URL),
        redis_cluster: false,
    }
}

/// A table prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("t{}-", Ulid::generate().to_string().to_lowercase())
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with_limit(None).await
}

/// A service with a posting rate limit (`spawn_app` has none, as load tests run).
pub async fn spawn_app_with_limit(post_limit: Option<RateLimit>) -> TestApp {
    let prefix = unique_prefix();
    let settings = LocalSettings {
        http_addr: "127.0.0.1:0".into(),
        jwt_secret: SECRET.into(),
        store: store_config(&prefix),
        post_limit,
    };
    let service = start(&settings)
        .await
        .expect("the service starts (are DynamoDB Local and Redis running? `make services`)");
    TestApp { base: format!("http://{}", service.addr), client: reqwest::Client::new(), service, prefix }
}

/// A user ID no other test uses.
pub fn unique_user(name: &str) -> String {
    format!("{name}-{}", Ulid::generate().to_string().to_lowercase())
}

pub fn token(user: &str) -> String {
    mint_local_token(SECRET, user, 600)
}

/// A response's status and JSON body (`Null` when there is none).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    /// The `error.code` of an error body.
    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("<no error code>")
    }
}

impl TestApp {
    /// Send a request as `user` (no token when `None`) with an optional JSON body.
    pub async fn call(&self, method: Method, path: &str, user: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(user) = user {
            request = request.bearer_auth(token(user));
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        let (status, headers) = (response.status(), response.headers().clone());
        let text = response.text().await.expect("body read");
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON body") };
        Reply { status, headers, body }
    }

    /// Create a profile for a fresh user ID; returns the ID.
    pub async fn user(&self, name: &str) -> String {
        let id = unique_user(name);
        let username: String = format!("{name}{}", &id[id.len() - 6..]).chars().take(15).collect();
        let reply = self.call(Method::POST, "/users", Some(&id), Some(json!({ "username": username }))).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        id
    }

    pub async fn follow(&self, follower: &str, followee: &str) {
        let path = format!("/users/{follower}/following/{followee}");
        let reply = self.call(Method::PUT, &path, Some(follower), None).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    }

    /// Post a tweet; returns its ID.
    pub async fn post(&self, author: &str, text: &str) -> String {
        let reply = self.call(Method::POST, "/tweets", Some(author), Some(json!({ "text": text }))).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["tweet_id"].as_str().expect("tweet_id").to_owned()
    }

    /// The tweet IDs of a home timeline page, newest first.
    pub async fn timeline(&self, owner: &str) -> Vec<String> {
        let reply =
            self.call(Method::GET, &format!("/users/{owner}/timeline?limit=100"), Some(owner), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{:?}", reply.body);
        ids(&reply.body)
    }

    /// Poll the owner's timeline until `done` holds for it (the fan-out is asynchronous).
    pub async fn wait_for_timeline(&self, owner: &str, done: impl Fn(&[String]) -> bool) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ids = self.timeline(owner).await;
            if done(&ids) || Instant::now() > deadline {
                return ids;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// The `tweet_id`s of a page body's items.
pub fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["tweet_id"].as_str().expect("tweet_id").to_owned())
        .collect()
}

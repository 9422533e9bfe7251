//! `spawn_app` and the HTTP helpers the tests share.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use timeline_model::limits::RateLimit;
use timeline_service::{LocalService, start, tokens};
use timeline_store::settings::{DEFAULT_DYNAMODB_ENDPOINT, Secret};
use timeline_store::{ApiSettings, Dynamo, HttpLimits, LocalSettings, MetricsSettings, StoreSettings};
use ulid::Ulid;

pub const SECRET: &str = "e2e-test-secret";

/// A running service with tables of its own; its HTTP helpers come from [`Client`].
pub struct TestApp {
    pub api: Client,
    pub service: LocalService,
    pub prefix: String,
    pub redis: Redis,
    /// What it was started with: [`TestApp::shut_down`] keeps it to start it again.
    pub settings: LocalSettings,
    /// Last: fields drop in order, so the service is stopped before its tables are deleted.
    leftovers: Leftovers,
}

/// A service shut down gracefully; its tables and checkpoints are kept for [`Self::start`].
pub struct StoppedApp {
    pub settings: LocalSettings,
    pub prefix: String,
    pub redis: Redis,
    leftovers: Leftovers,
}

/// HTTP calls to a server at `base`: one started in-process, or a `timeline-local` binary.
pub struct Client {
    pub base: String,
    pub client: reqwest::Client,
}

impl std::ops::Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.api
    }
}

/// Which Redis the cache runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redis {
    Standalone,
    /// The local 3-master cluster, as ElastiCache Serverless is a cluster.
    Cluster,
    /// A TLS-only server (`rediss://`), as ElastiCache Serverless is TLS-only.
    Tls,
}

fn var(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_owned())
}

/// Where the tests find the services (`make test` starts them).
pub fn store_settings(prefix: &str, redis: Redis) -> StoreSettings {
    let (redis_url, redis_cluster) = match redis {
        Redis::Standalone => (var("TIMELINE_REDIS_URL", StoreSettings::DEFAULT_REDIS_URL), false),
        Redis::Cluster => (var("TIMELINE_REDIS_CLUSTER_URL", "redis://127.0.0.1:7000"), true),
        Redis::Tls => (var("TIMELINE_REDIS_TLS_URL", "rediss://127.0.0.1:6390/#insecure"), false),
    };
    StoreSettings {
        dynamodb_endpoint: Some(var("TIMELINE_DYNAMODB_ENDPOINT", DEFAULT_DYNAMODB_ENDPOINT)),
        table_prefix: prefix.to_owned(),
        redis_url,
        redis_cluster,
        fanout_threshold: StoreSettings::DEFAULT_FANOUT_THRESHOLD,
        cache_revalidate: Some(StoreSettings::DEFAULT_CACHE_REVALIDATE),
    }
}

/// The API's settings over `store`, with no posting limit (as load tests and acceptance runs).
pub fn api_settings(store: StoreSettings) -> ApiSettings {
    ApiSettings {
        store,
        post_limit: None,
        cursor_secret: Secret::new(SECRET),
        cors_allow_origin: None,
        body_cache_bytes: timeline_model::bodies::DEFAULT_CAPACITY_BYTES,
    }
}

/// A table prefix no other test uses.
pub fn unique_prefix() -> String {
    format!("t{}-", Ulid::generate().to_string().to_lowercase())
}

pub async fn spawn_app() -> TestApp {
    spawn_app_on(Redis::Standalone, None).await
}

/// A service on the given Redis, with a posting rate limit (`spawn_app` has none, as load
/// tests and acceptance runs do).
pub async fn spawn_app_on(redis: Redis, post_limit: Option<RateLimit>) -> TestApp {
    spawn_app_with(redis, post_limit, StoreSettings::DEFAULT_FANOUT_THRESHOLD).await
}

/// A service whose hybrid fan-out threshold is `fanout_threshold` followers.
pub async fn spawn_app_with(redis: Redis, post_limit: Option<RateLimit>, fanout_threshold: u64) -> TestApp {
    spawn_app_in(unique_prefix(), redis, post_limit, fanout_threshold).await
}

/// A service whose cached timelines are rebuilt `lifetime` after their last rebuild.
pub async fn spawn_app_revalidating(redis: Redis, lifetime: std::time::Duration) -> TestApp {
    let prefix = unique_prefix();
    let store = StoreSettings { cache_revalidate: Some(lifetime), ..store_settings(&prefix, redis) };
    spawn_app_from(prefix, redis, None, store).await
}

/// A service on the tables of `prefix`, which may exist already (a test that loads them first).
pub async fn spawn_app_in(
    prefix: String,
    redis: Redis,
    post_limit: Option<RateLimit>,
    fanout_threshold: u64,
) -> TestApp {
    let store = StoreSettings { fanout_threshold, ..store_settings(&prefix, redis) };
    spawn_app_from(prefix, redis, post_limit, store).await
}

async fn spawn_app_from(
    prefix: String,
    redis: Redis,
    post_limit: Option<RateLimit>,
    store: StoreSettings,
) -> TestApp {
    // `RUST_LOG=debug cargo test` shows the service's logs beside a failing test.
    static LOGS: std::sync::Once = std::sync::Once::new();
    LOGS.call_once(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "off".into());
        tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().init();
    });
    let checkpoint_dir = checkpoint_dir(&prefix);
    let settings = LocalSettings {
        api: ApiSettings { post_limit, ..api_settings(store.clone()) },
        http_addr: ([127, 0, 0, 1], 0).into(),
        jwt_secret: Secret::new(SECRET),
        checkpoint_dir: checkpoint_dir.clone(),
        web_dir: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web"),
        metrics: MetricsSettings { addr: None, summary_every: None },
        http: HttpLimits::DEFAULT,
    };
    let stopped = StoppedApp { settings, prefix, redis, leftovers: Leftovers { store, checkpoint_dir } };
    stopped.start().await
}

/// The stream poller's checkpoint directory of the tables of `prefix`, one per test.
pub fn checkpoint_dir(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!("timeline-e2e-{prefix}checkpoints"))
}

impl TestApp {
    /// Poll until `author`'s stored mode is `merged` (the follows consumer sets it once a
    /// crossing is complete), and say so if it never is.
    pub async fn wait_for_mode(&self, author: &str, merged: bool) {
        use timeline_model::ports::Users;
        let id = timeline_model::UserId::parse(author).unwrap();
        let read =
            || async { Users::get(&self.service.state.dynamo, &id).await.unwrap().unwrap().merged_at_read };
        let mode = poll_until(read, |mode| *mode == merged).await;
        assert_eq!(mode, merged, "{author} merged at read time");
    }

    /// Poll until `owner`'s durable list of merged authors is `expected` (the follows consumer
    /// keeps it), and say so if it never is.
    pub async fn wait_for_merged(&self, owner: &str, expected: &[&str]) {
        use timeline_model::ports::TimelineStore;
        let owner = timeline_model::UserId::parse(owner).unwrap();
        let expected: Vec<_> = expected.iter().map(|a| timeline_model::UserId::parse(a).unwrap()).collect();
        let read = || async { self.service.state.dynamo.merged_authors(&owner).await.unwrap() };
        let merged = poll_until(read, |merged| *merged == expected).await;
        assert_eq!(merged, expected, "{owner}'s merged authors");
    }

    /// Shut the service down as Ctrl-C does: requests in flight and the batch being applied
    /// finish, and the poller saves its checkpoints.
    pub async fn shut_down(self) -> StoppedApp {
        let TestApp { service, settings, prefix, redis, leftovers, .. } = self;
        service.shutdown().await.expect("the service stops within its grace period");
        StoppedApp { settings, prefix, redis, leftovers }
    }
}

impl StoppedApp {
    /// Start the service (again) on these tables and checkpoints.
    pub async fn start(self) -> TestApp {
        let StoppedApp { settings, prefix, redis, leftovers } = self;
        let service = start(&settings)
            .await
            .expect("the service starts (are DynamoDB Local and Redis running? `make services`)");
        let api = Client::new(&format!("http://{}", service.addr));
        TestApp { api, service, prefix, redis, settings, leftovers }
    }
}

/// A test's tables and checkpoint directory, deleted when it ends: DynamoDB Local slows down as
/// tables and streams pile up over a run.
pub struct Leftovers {
    store: StoreSettings,
    checkpoint_dir: PathBuf,
}

impl Leftovers {
    /// The tables and checkpoints of `prefix` (a test that runs the binary itself).
    pub fn of(prefix: &str) -> Self {
        Self { store: store_settings(prefix, Redis::Standalone), checkpoint_dir: checkpoint_dir(prefix) }
    }
}

impl Drop for Leftovers {
    /// The test's runtime is ending, so the deletes run on a runtime (and a client: connections
    /// belong to a runtime) of their own.
    fn drop(&mut self) {
        let settings = self.store.clone();
        let cleanup = std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(async {
                if let Err(error) = Dynamo::connect(&settings).await.delete_tables().await {
                    eprintln!("the test's tables were not deleted: {error}");
                }
            });
        });
        let _ = cleanup.join();
        let _ = std::fs::remove_dir_all(&self.checkpoint_dir);
    }
}

/// A user ID no other test uses.
pub fn unique_user(name: &str) -> String {
    format!("{name}-{}", Ulid::generate().to_string().to_lowercase())
}

pub fn token(user: &str) -> String {
    tokens::mint(SECRET, user, 600)
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

impl Client {
    pub fn new(base: &str) -> Self {
        Self { base: base.to_owned(), client: reqwest::Client::new() }
    }

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
        self.edge(Method::PUT, follower, followee).await;
    }

    pub async fn unfollow(&self, follower: &str, followee: &str) {
        self.edge(Method::DELETE, follower, followee).await;
    }

    async fn edge(&self, method: Method, follower: &str, followee: &str) {
        let path = format!("/users/{follower}/following/{followee}");
        let reply = self.call(method, &path, Some(follower), None).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
    }

    /// Post a tweet; returns its ID.
    pub async fn post(&self, author: &str, text: &str) -> String {
        let reply = self.call(Method::POST, "/tweets", Some(author), Some(json!({ "text": text }))).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
        reply.body["tweet_id"].as_str().expect("tweet_id").to_owned()
    }

    pub async fn delete_tweet(&self, author: &str, tweet: &str) {
        let reply = self.call(Method::DELETE, &format!("/tweets/{tweet}"), Some(author), None).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{:?}", reply.body);
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
        poll_until(|| self.timeline(owner), |ids| done(ids)).await
    }
}

/// Read with `read` until `done` holds for what it returned, or 30 s have passed; the last
/// reading either way. Generous: it returns as soon as `done` holds, and CI shares two cores
/// with the services; the asynchronous fan-out is what the tests wait for.
pub async fn poll_until<T, F: Future<Output = T>>(
    mut read: impl FnMut() -> F,
    done: impl Fn(&T) -> bool,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let value = read().await;
        if done(&value) || Instant::now() > deadline {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
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

/// Define a test that runs on standalone Redis, on the cluster and over TLS: the body is an
/// async function taking the spawned `TestApp`.
macro_rules! on_both_redis {
    ($($name:ident => $body:ident;)*) => {
        $(
            mod $name {
                use crate::helpers::{Redis, spawn_app_on};

                #[tokio::test]
                async fn standalone() {
                    super::$body(spawn_app_on(Redis::Standalone, None).await).await;
                }

                #[tokio::test]
                async fn cluster() {
                    super::$body(spawn_app_on(Redis::Cluster, None).await).await;
                }

                #[tokio::test]
                async fn tls() {
                    super::$body(spawn_app_on(Redis::Tls, None).await).await;
                }
            }
        )*
    };
}
pub(crate) use on_both_redis;

/// A plain connection to the Redis node at `url`, for a test to look at or break what the cache
/// wrote.
pub async fn redis_node(url: &str) -> redis::aio::MultiplexedConnection {
    redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
}

/// Delete every Redis key of this app's namespace, on every node: a `FLUSHALL` that spares the
/// tests running beside it.
pub async fn flush_cache(app: &TestApp) {
    let settings = store_settings(&app.prefix, app.redis);
    let mut nodes = vec![settings.redis_url.clone()];
    if app.redis == Redis::Cluster {
        let mut first = redis_node(&settings.redis_url).await;
        let listing: String = redis::cmd("CLUSTER").arg("NODES").query_async(&mut first).await.unwrap();
        nodes = listing
            .lines()
            .filter_map(|line| line.split_whitespace().nth(1))
            .map(|address| format!("redis://{}", address.split('@').next().unwrap_or(address)))
            .collect();
    }
    for node in nodes {
        let mut connection = redis_node(&node).await;
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("{}*", app.prefix)).query_async(&mut connection).await.unwrap();
        for key in keys {
            let _: () = redis::cmd("DEL").arg(key).query_async(&mut connection).await.unwrap();
        }
    }
}

//! The deployed functions themselves: the `timeline-api` and `timeline-fanout` binaries, run as
//! Lambda runs them, against a small Lambda Runtime API emulated here (the function asks
//! `GET .../invocation/next` for an event and posts its answer back). They get an API Gateway
//! REST event and a DynamoDB Streams batch; the test checks their answers and the CloudWatch
//! Embedded Metric Format documents they print, which is how their metrics reach CloudWatch.
//! A test that calls the handler in-process would not notice a `main` that forgets to install
//! the metrics recorder.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{Notify, mpsc};

use crate::fanout::stream_event;
use crate::helpers::{TestApp, spawn_app, store_settings};

const RUNTIME: &str = "/2018-06-01/runtime";

/// The functions want a cursor secret of at least 32 characters.
const CURSOR_SECRET: &str = "lambda-e2e-cursor-secret-of-40-characters";

/// What a function posted back for an invocation (or for its init).
#[derive(Debug)]
struct Answer {
    request_id: String,
    /// `response`, `error` or `init-error`.
    kind: &'static str,
    body: Value,
}

/// The emulated Runtime API: events queued by the test, answers sent back to it.
#[derive(Clone)]
struct Runtime {
    events: Arc<Mutex<VecDeque<(String, Value)>>>,
    queued: Arc<Notify>,
    answers: mpsc::UnboundedSender<Answer>,
}

async fn next_event(State(runtime): State<Runtime>) -> impl IntoResponse {
    loop {
        let queued = runtime.queued.notified();
        if let Some((request_id, event)) = runtime.events.lock().unwrap().pop_front() {
            let deadline =
                (time::OffsetDateTime::now_utc() + time::Duration::seconds(30)).unix_timestamp() * 1000;
            let mut headers = HeaderMap::new();
            headers.insert("lambda-runtime-aws-request-id", request_id.parse().unwrap());
            headers.insert("lambda-runtime-deadline-ms", deadline.to_string().parse().unwrap());
            let arn = "arn:aws:lambda:us-east-1:123456789012:function:timeline";
            headers.insert("lambda-runtime-invoked-function-arn", arn.parse().unwrap());
            return (headers, event.to_string());
        }
        queued.await;
    }
}

fn answered(runtime: &Runtime, request_id: String, kind: &'static str, body: &str) -> StatusCode {
    let body = serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()));
    runtime.answers.send(Answer { request_id, kind, body }).ok();
    StatusCode::ACCEPTED
}

impl Runtime {
    /// Serve the Runtime API on a free local port; the answers arrive on the receiver.
    async fn start() -> (SocketAddr, Self, mpsc::UnboundedReceiver<Answer>) {
        let (answers, received) = mpsc::unbounded_channel();
        let runtime = Self { events: Arc::default(), queued: Arc::default(), answers };
        let routes = Router::new()
            .route(&format!("{RUNTIME}/invocation/next"), get(next_event))
            .route(
                &format!("{RUNTIME}/invocation/{{id}}/response"),
                post(|State(r): State<Runtime>, Path(id): Path<String>, body: String| async move {
                    answered(&r, id, "response", &body)
                }),
            )
            .route(
                &format!("{RUNTIME}/invocation/{{id}}/error"),
                post(|State(r): State<Runtime>, Path(id): Path<String>, body: String| async move {
                    answered(&r, id, "error", &body)
                }),
            )
            .route(
                &format!("{RUNTIME}/init/error"),
                post(|State(r): State<Runtime>, body: String| async move {
                    answered(&r, String::new(), "init-error", &body)
                }),
            )
            .with_state(runtime.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
        (addr, runtime, received)
    }

    fn invoke(&self, request_id: &str, event: Value) {
        self.events.lock().unwrap().push_back((request_id.to_owned(), event));
        self.queued.notify_waiters();
    }
}

/// A function binary running under the emulated Runtime API, on the app's tables and Redis.
struct Function {
    runtime: Runtime,
    answers: mpsc::UnboundedReceiver<Answer>,
    /// Every line the function printed (logs and EMF documents), as it printed them.
    stdout: mpsc::UnboundedReceiver<String>,
    child: tokio::process::Child,
}

impl Function {
    /// Start `binary` with the Lambda environment, the app's settings and `vars` on top (an
    /// empty value unsets a setting).
    async fn start(binary: &str, app: &TestApp, vars: &[(&str, &str)]) -> Self {
        let (addr, runtime, answers) = Runtime::start().await;
        let store = store_settings(&app.prefix, app.redis);
        let mut command = tokio::process::Command::new(built(binary));
        command
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", binary)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{binary}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "local")
            .env("AWS_SECRET_ACCESS_KEY", "local")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("TIMELINE_DYNAMODB_ENDPOINT", store.dynamodb_endpoint.unwrap())
            .env("TIMELINE_TABLE_PREFIX", &app.prefix)
            .env("TIMELINE_REDIS_URL", &store.redis_url)
            .env("TIMELINE_REDIS_CLUSTER", store.redis_cluster.to_string())
            .env("TIMELINE_CURSOR_SECRET", CURSOR_SECRET)
            .envs(vars.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap_or_else(|e| panic!("{binary} starts: {e}"));
        let (lines, stdout) = mpsc::unbounded_channel();
        let mut printed = BufReader::new(child.stdout.take().unwrap()).lines();
        tokio::spawn(async move {
            while let Ok(Some(line)) = printed.next_line().await {
                lines.send(line).ok();
            }
        });
        Self { runtime, answers, stdout, child }
    }

    /// Wait for a function that fails its start-up to exit; its status and what it printed on
    /// stderr.
    async fn failed_start(mut self) -> (std::process::ExitStatus, String) {
        let status = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
        let status = status.expect("the function exits within 30 s").unwrap();
        let mut stderr = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut self.child.stderr.take().unwrap(), &mut stderr)
            .await
            .unwrap();
        (status, stderr)
    }

    /// Invoke the function with `event` and wait for its answer.
    async fn invoke(&mut self, request_id: &str, event: Value) -> Answer {
        self.runtime.invoke(request_id, event);
        let answer = tokio::time::timeout(Duration::from_secs(30), self.answers.recv())
            .await
            .expect("the function answers within 30 s")
            .expect("the runtime is running");
        assert_eq!(answer.request_id, request_id, "{answer:?}");
        answer
    }

    /// The EMF documents printed so far, waiting until each of `metrics` is named by one (or
    /// 10 s passed).
    async fn metric_documents_until(&mut self, metrics: &[&str]) -> Vec<Value> {
        let mut documents: Vec<Value> = Vec::new();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !metrics.iter().all(|metric| documents.iter().any(|d| names(d, metric))) {
            let Ok(Some(line)) = tokio::time::timeout_at(deadline, self.stdout.recv()).await else {
                break;
            };
            match serde_json::from_str::<Value>(&line) {
                Ok(document) if document.get("_aws").is_some() => documents.push(document),
                _ => {}
            }
        }
        documents
    }
}

/// Whether an EMF document declares `metric` in the service's namespace and dimensions.
fn names(document: &Value, metric: &str) -> bool {
    let directives = document["_aws"]["CloudWatchMetrics"].as_array().cloned().unwrap_or_default();
    directives.iter().any(|directive| {
        directive["Namespace"] == "TimelineService"
            && directive["Dimensions"].to_string().contains("service")
            && directive["Metrics"].as_array().is_some_and(|m| m.iter().any(|m| m["Name"] == metric))
    }) && document.get(metric).is_some()
        && document["service"] == "timeline"
}

/// A binary of the workspace, built beside this test binary (`make test` builds them first).
fn built(binary: &str) -> PathBuf {
    let deps = std::env::current_exe().unwrap();
    let path = deps.parent().and_then(|d| d.parent()).unwrap().join(binary);
    assert!(
        path.exists(),
        "{} is missing: `cargo build --bin {binary}` first (make test does)",
        path.display()
    );
    path
}

/// API Gateway's REST proxy event for `method path` by `caller` (its Cognito authorizer's
/// claims), with a JSON `body`.
fn rest_event(method: &str, path: &str, caller: Option<&str>, body: Option<Value>) -> Value {
    let mut request_context = json!({
        "accountId": "123456789012", "resourceId": "r", "stage": "prod", "requestId": "req",
        "identity": { "sourceIp": "203.0.113.7" }, "resourcePath": path, "httpMethod": method,
        "apiId": "api", "protocol": "HTTP/1.1", "path": format!("/prod{path}"),
    });
    if let Some(caller) = caller {
        request_context["authorizer"] = json!({ "claims": { "sub": caller } });
    }
    json!({
        "resource": path, "path": path, "httpMethod": method,
        "headers": { "Content-Type": "application/json", "Host": "api.example.com" },
        "multiValueHeaders": { "Content-Type": ["application/json"], "Host": ["api.example.com"] },
        "queryStringParameters": null, "multiValueQueryStringParameters": null,
        "pathParameters": null, "stageVariables": null,
        "requestContext": request_context,
        "body": body.map(|b| b.to_string()), "isBase64Encoded": false,
    })
}

#[tokio::test]
async fn the_lambda_binaries_answer_their_events_and_print_their_metrics_as_emf() {
    let app = spawn_app().await;
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    app.follow(&bob, &ann).await;

    let mut api = Function::start("timeline-api", &app, &[]).await;
    let health = api.invoke("health", rest_event("GET", "/health", None, None)).await;
    assert_eq!((health.kind, health.body["statusCode"].as_u64()), ("response", Some(200)), "{health:?}");
    let text = json!({ "text": "from the deployed function" });
    let posted = api.invoke("post", rest_event("POST", "/tweets", Some(&ann), Some(text))).await;
    assert_eq!(posted.body["statusCode"], 201, "{posted:?}");
    let tweet: Value = serde_json::from_str(posted.body["body"].as_str().unwrap()).unwrap();
    let anonymous = api.invoke("anonymous", rest_event("POST", "/tweets", None, Some(json!({})))).await;
    assert_eq!(anonymous.body["statusCode"], 401, "no authorizer claims: {anonymous:?}");
    let path = format!("/users/{bob}/timeline");
    let read = api.invoke("read", rest_event("GET", &path, Some(&bob), None)).await;
    assert_eq!(read.body["statusCode"], 200, "{read:?}");
    let metrics = api.metric_documents_until(&["TimelineCacheMisses"]).await;
    assert!(metrics.iter().any(|d| names(d, "TimelineCacheMisses")), "{metrics:?}");

    let mut fanout = Function::start("timeline-fanout", &app, &[]).await;
    let tweets_table = app.service.state.dynamo.tables().tweets.clone();
    let batch = stream_event(&app, &tweets_table).await;
    assert_eq!(batch["Records"].as_array().unwrap().len(), 1);
    let applied = fanout.invoke("batch", batch).await;
    assert_eq!(
        (applied.kind, &applied.body),
        ("response", &json!({ "batchItemFailures": [] })),
        "{applied:?}"
    );
    let expected = ["FanoutLagMs", "FanoutEntriesWritten", "FanoutFollowersPerTweet"];
    let metrics = fanout.metric_documents_until(&expected).await;
    for metric in expected {
        assert!(metrics.iter().any(|d| names(d, metric)), "{metric} in {metrics:?}");
    }
    let timeline = app.wait_for_timeline(&bob, |ids| !ids.is_empty()).await;
    assert_eq!(timeline, [tweet["tweet_id"].as_str().unwrap()]);
}

/// SSM's API (its JSON protocol: `POST /` with `X-Amz-Target`), emulated: `GetParameter` of one
/// SecureString, decrypted; every read counted.
async fn parameter_store(name: &'static str, value: &'static str) -> (SocketAddr, Arc<Mutex<u32>>) {
    let reads = Arc::new(Mutex::new(0));
    let counted = reads.clone();
    let answer = move |headers: HeaderMap, body: String| async move {
        *counted.lock().unwrap() += 1;
        let target = headers.get("x-amz-target").and_then(|t| t.to_str().ok()).unwrap_or_default();
        let asked: Value = serde_json::from_str(&body).unwrap_or_default();
        let found =
            target == "AmazonSSM.GetParameter" && asked["Name"] == name && asked["WithDecryption"] == true;
        let (status, answer) = if found {
            (
                StatusCode::OK,
                json!({ "Parameter": { "Name": name, "Type": "SecureString", "Value": value, "Version": 1 } }),
            )
        } else {
            (StatusCode::BAD_REQUEST, json!({ "__type": "ParameterNotFound", "message": "" }))
        };
        (status, [("content-type", "application/x-amz-json-1.1")], answer.to_string())
    };
    let routes = Router::new().route("/", post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, routes).await.unwrap() });
    (addr, reads)
}

#[tokio::test]
async fn the_api_function_reads_its_cursor_key_from_parameter_store_once_and_will_not_start_without_it() {
    let app = spawn_app().await;
    let (ssm, reads) = parameter_store("/timeline/test/cursor-secret", CURSOR_SECRET).await;
    let endpoint = format!("http://{ssm}");
    let from_store = [
        ("TIMELINE_CURSOR_SECRET", ""),
        ("TIMELINE_CURSOR_SECRET_PARAMETER", "/timeline/test/cursor-secret"),
        ("AWS_ENDPOINT_URL_SSM", endpoint.as_str()),
    ];
    let mut api = Function::start("timeline-api", &app, &from_store).await;
    for request in ["first", "second"] {
        let health = api.invoke(request, rest_event("GET", "/health", None, None)).await;
        assert_eq!(health.body["statusCode"], 200, "{health:?}");
    }
    assert_eq!(*reads.lock().unwrap(), 1, "read once per container");

    let mut vars = from_store.to_vec();
    vars[1] = ("TIMELINE_CURSOR_SECRET_PARAMETER", "/timeline/test/missing");
    let (status, stderr) = Function::start("timeline-api", &app, &vars).await.failed_start().await;
    assert!(!status.success(), "{status}");
    assert!(stderr.contains("/timeline/test/missing") && stderr.contains("ParameterNotFound"), "{stderr}");
}

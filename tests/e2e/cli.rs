//! The `timeline-local` binary as an operator types it: `make dev` runs `serve`, `make token`
//! runs `token`. These run the built binary, not the library behind it.

use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::ChildStdout;

use crate::helpers::{Client, Leftovers, SECRET, checkpoint_dir, spawn_app, unique_prefix, unique_user};

const BINARY: &str = env!("CARGO_BIN_EXE_timeline-local");

/// The binary with the test services' addresses (inherited from `make test`) and `vars`.
fn local(args: &[&str], vars: &[(&str, &str)]) -> Command {
    let mut command = Command::new(BINARY);
    command.args(args).env("TIMELINE_JWT_SECRET", SECRET).env("RUST_LOG", "warn");
    for (name, value) in vars {
        command.env(name, value);
    }
    command
}

#[test]
fn a_bad_setting_stops_it_with_one_line_naming_the_variable() {
    let output = local(&["create-tables"], &[("TIMELINE_FANOUT_THRESHOLD", "ten")]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "error: TIMELINE_FANOUT_THRESHOLD=\"ten\": expected a whole number of followers, e.g. 10000\n"
    );
    let output = local(&["serve", "--no-such-flag"], &[]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "usage errors exit 2");
}

#[tokio::test]
async fn a_minted_token_is_accepted_by_the_server() {
    let app = spawn_app().await;
    let user = unique_user("cli");
    let output = local(&["token", &user, "600"], &[]).output().unwrap();
    assert!(output.status.success());
    let token = String::from_utf8(output.stdout).unwrap();
    let reply = app
        .client
        .post(format!("{}/users", app.base))
        .bearer_auth(token.trim())
        .json(&json!({ "username": format!("cli{}", &user[user.len() - 8..]) }))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::CREATED);
}

/// `serve` as `make dev` runs it: it prints where it listens and where the web client is,
/// answers, fans out through its stream poller, and stops cleanly on Ctrl-C.
#[tokio::test]
async fn serve_answers_fans_out_through_its_poller_and_stops_on_ctrl_c() {
    let prefix = unique_prefix();
    let _leftovers = Leftovers::of(&prefix);
    let mut server = Served::start(&prefix).await;
    let client = &server.client;
    assert_eq!(client.call(Method::GET, "/health", None, None).await.status, StatusCode::OK);
    let web_line = server.stdout.next_line().await.unwrap().unwrap();
    let app = format!("{}/app/", client.base);
    assert!(web_line.starts_with(&format!("web app on {app} ")), "{web_line}");
    let page = client.client.get(&app).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<title>Timeline</title>"));
    let (ann, bob) = (client.user("ann").await, client.user("bob").await);
    client.follow(&bob, &ann).await;
    let tweet = client.post(&ann, "through the poller").await;
    let seen = client.wait_for_timeline(&bob, |ids| ids.contains(&tweet)).await;
    assert_eq!(seen, vec![tweet]);

    let status = server.interrupt().await;
    assert!(status.success(), "{status}");
}

/// Under load the local metrics stay readable: `/metrics` on its own port counts every fan-out,
/// the log has one summary line per interval, and no error floods it (EMF's local flushing
/// logged one error per histogram value beyond 100 between flushes).
#[tokio::test]
async fn serve_shows_its_metrics_on_prometheus_and_in_a_summary_line_without_error_floods() {
    let prefix = unique_prefix();
    let _leftovers = Leftovers::of(&prefix);
    let vars = [
        ("TIMELINE_METRICS_ADDR", "127.0.0.1:0"),
        ("TIMELINE_METRICS_SUMMARY_SECS", "5"),
        ("RUST_LOG", "warn,metrics_summary=info"),
    ];
    let mut server = Served::start_with(&prefix, &vars).await;
    let client = &server.client;
    let (ann, bob) = (client.user("ann").await, client.user("bob").await);
    client.follow(&bob, &ann).await;
    // Cached before the posts: every fan-out writes Redis too, in whichever interval it falls.
    client.timeline(&bob).await;
    const POSTS: usize = 150;
    let texts: Vec<String> = (0..POSTS).map(|i| format!("metric {i}")).collect();
    let posts = texts.iter().map(|text| client.post(&ann, text));
    let last = futures::future::join_all(posts).await.pop().unwrap();
    client.wait_for_timeline(&bob, |ids| ids.len() == POSTS && ids.contains(&last)).await;

    let metrics = server.metrics.clone().expect("serve printed where its metrics are");
    let scraped = reqwest::get(&metrics).await.unwrap().text().await.unwrap();
    let lag_count = scraped
        .lines()
        .find_map(|line| line.strip_prefix("FanoutLagMs_count{service=\"timeline\"} "))
        .unwrap_or_else(|| panic!("no FanoutLagMs count in:\n{scraped}"));
    assert!(lag_count.parse::<u64>().unwrap() >= POSTS as u64, "{scraped}");

    let mut log = Vec::new();
    let summary = loop {
        let line = tokio::time::timeout(Duration::from_secs(20), server.stdout.next_line()).await;
        let line = line.expect("a summary within 20 s").unwrap().expect("output open");
        if line.contains("last 5 s:") && line.contains("FanoutLagMs n=") {
            break line;
        }
        log.push(line);
    };
    assert!(summary.contains("FanoutEntriesWritten{store=redis} +"), "{summary}");
    let errors: Vec<_> = log.iter().filter(|line| line.contains("ERROR")).collect();
    assert!(errors.is_empty(), "errors logged under load: {errors:#?}");
    assert!(server.interrupt().await.success());
}

/// The local server as a client that never finishes (or never stops) sees it: a request head
/// left unfinished, a kept-alive connection left idle, a body left short, and connections past
/// the limit are closed or answered, so that they cost nothing for long, and `/health` still
/// answers beside them.
#[tokio::test]
async fn serve_closes_slow_and_idle_connections_answers_a_short_body_408_and_evicts_the_oldest_past_its_limit()
 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    let prefix = unique_prefix();
    let _leftovers = Leftovers::of(&prefix);
    let vars = [
        ("TIMELINE_METRICS_ADDR", "off"),
        ("TIMELINE_HTTP_HEADER_TIMEOUT_SECS", "3"),
        ("TIMELINE_HTTP_BODY_TIMEOUT_SECS", "1"),
        ("TIMELINE_HTTP_MAX_CONNECTIONS", "20"),
    ];
    let server = Served::start_with(&prefix, &vars).await;
    let addr = server.client.base.trim_start_matches("http://").to_owned();
    let connect = || async { TcpStream::connect(&addr).await.unwrap() };
    // What the server sends before it closes the connection (within 5 s, or the test fails).
    async fn until_closed(stream: &mut TcpStream) -> String {
        let mut read = Vec::new();
        let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut read)).await;
        closed.expect("the server closed the connection within 5 s").ok();
        String::from_utf8_lossy(&read).into_owned()
    }

    // Twenty connections with unfinished heads fill every slot: one more takes the place of
    // the oldest, which is closed at once, and is answered.
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut stream = connect().await;
        stream.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        slow.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut newcomer = connect().await;
    newcomer.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let answer = until_closed(&mut newcomer).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert_eq!(until_closed(&mut slow[0]).await, "", "the oldest slow connection closed unanswered");
    let mut byte = [0; 1];
    let still_open = tokio::time::timeout(Duration::from_millis(100), slow[1].read(&mut byte)).await;
    assert!(still_open.is_err(), "the others wait for their head time-out: {still_open:?}");
    // Their head time-out closes them all, and the server answers again.
    for stream in &mut slow {
        until_closed(stream).await;
    }
    assert_eq!(server.client.call(Method::GET, "/health", None, None).await.status, StatusCode::OK);

    // A kept-alive connection idle past the time-out is closed after its answer.
    let mut idle = connect().await;
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n").await.unwrap();
    assert!(until_closed(&mut idle).await.starts_with("HTTP/1.1 200 OK"));

    // A body that stops short of its Content-Length is answered 408 in the contract's shape.
    let mut short = connect().await;
    let head =
        "POST /tweets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    short.write_all(head.as_bytes()).await.unwrap();
    short.write_all(b"{\"text\": \"sl").await.unwrap();
    let answer = until_closed(&mut short).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#"{"error":{"code":"request_timeout""#), "{answer}");

    assert!(server.interrupt().await.success());
}

/// `timeline-local serve` running as a child process on the tables of a prefix, with its
/// checkpoints in that prefix's directory.
pub struct Served {
    pub client: Client,
    /// The Prometheus endpoint's URL, when it serves one.
    pub metrics: Option<String>,
    child: tokio::process::Child,
    /// Held open: the server prints as it stops, and a closed pipe would fail its writes.
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Served {
    /// Start it, without a metrics endpoint, and wait until it says where it listens.
    pub async fn start(prefix: &str) -> Self {
        Self::start_with(prefix, &[("TIMELINE_METRICS_ADDR", "off")]).await
    }

    /// Start it with `vars` added to its environment.
    pub async fn start_with(prefix: &str, vars: &[(&str, &str)]) -> Self {
        let checkpoint_dir = checkpoint_dir(prefix);
        let mut all = vec![
            ("TIMELINE_TABLE_PREFIX", prefix),
            ("TIMELINE_HTTP_ADDR", "127.0.0.1:0"),
            ("TIMELINE_POST_LIMIT", "off"),
            ("TIMELINE_CHECKPOINT_DIR", checkpoint_dir.to_str().expect("a UTF-8 temporary directory")),
        ];
        all.extend_from_slice(vars);
        let mut child = tokio::process::Command::from(local(&["serve"], &all))
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut metrics = None;
        let base = loop {
            let line =
                tokio::time::timeout(Duration::from_secs(60), stdout.next_line()).await.unwrap().unwrap();
            let line = line.expect("serve printed where it listens before closing its output");
            if let Some(url) = line.strip_prefix("metrics for Prometheus on ") {
                metrics = Some(url.to_owned());
            }
            if let Some(url) = line.strip_prefix("timeline service listening on ") {
                break url.to_owned();
            }
        };
        Self { client: Client::new(&base), metrics, child, stdout }
    }

    /// Send SIGINT, as Ctrl-C does, and wait for the exit (at most 10 s).
    pub async fn interrupt(mut self) -> ExitStatus {
        let pid = self.child.id().expect("still running").to_string();
        let interrupted = Command::new("kill").args(["-INT", &pid]).status().unwrap();
        assert!(interrupted.success());
        let exited = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
        exited.expect("it exits within 10 s of SIGINT").unwrap()
    }
}

//! Every setting of every binary, in one place: [`VARIABLES`] names them (the README's table is
//! generated from it and a test keeps the two equal), and the `*Settings` types hold them parsed.
//!
//! Settings are read once at start-up and typed; a bad value stops the binary with one line that
//! names the variable, its value and what is expected. An empty variable counts as unset.
//! Secrets have no default outside the local runner, so a function deployed without its secret
//! refuses to start instead of sealing cursors with a key that is published in this repository.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use timeline_model::limits::RateLimit;

/// Where a binary runs, which decides the defaults that only make sense on a laptop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runner {
    /// A Lambda function: no local endpoints, no development secrets.
    Aws,
    /// The local runner and the tools beside it (`make dev`, the tests, the benchmark).
    Local,
}

/// One environment variable: its name, its default as a person reads it, and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    pub name: &'static str,
    pub default: &'static str,
    pub meaning: &'static str,
}

const DYNAMODB_ENDPOINT: &str = "TIMELINE_DYNAMODB_ENDPOINT";
const TABLE_PREFIX: &str = "TIMELINE_TABLE_PREFIX";
const REDIS_URL: &str = "TIMELINE_REDIS_URL";
const REDIS_CLUSTER: &str = "TIMELINE_REDIS_CLUSTER";
const FANOUT_THRESHOLD: &str = "TIMELINE_FANOUT_THRESHOLD";
const POST_LIMIT: &str = "TIMELINE_POST_LIMIT";
const CURSOR_SECRET: &str = "TIMELINE_CURSOR_SECRET";
const CORS_ALLOW_ORIGIN: &str = "TIMELINE_CORS_ALLOW_ORIGIN";
const BODY_CACHE_MB: &str = "TIMELINE_BODY_CACHE_MB";
const CACHE_REVALIDATE: &str = "TIMELINE_CACHE_REVALIDATE_SECS";
const HTTP_ADDR: &str = "TIMELINE_HTTP_ADDR";
const JWT_SECRET: &str = "TIMELINE_JWT_SECRET";
const CHECKPOINT_DIR: &str = "TIMELINE_CHECKPOINT_DIR";
const WEB_DIR: &str = "TIMELINE_WEB_DIR";
const METRICS_ADDR: &str = "TIMELINE_METRICS_ADDR";
const METRICS_SUMMARY: &str = "TIMELINE_METRICS_SUMMARY_SECS";
const HTTP_HEADER_TIMEOUT: &str = "TIMELINE_HTTP_HEADER_TIMEOUT_SECS";
const HTTP_BODY_TIMEOUT: &str = "TIMELINE_HTTP_BODY_TIMEOUT_SECS";
const HTTP_MAX_CONNECTIONS: &str = "TIMELINE_HTTP_MAX_CONNECTIONS";

/// The secret local tokens (and, locally, cursors) are signed with when none is set. It is
/// public, so only the local runner may fall back to it.
pub const DEV_JWT_SECRET: &str = "timeline-local-dev-secret";
/// Where `make dev` and `make test` start DynamoDB Local.
pub const DEFAULT_DYNAMODB_ENDPOINT: &str = "http://127.0.0.1:8000";
/// Shortest cursor secret accepted: 256 bits of an HMAC-SHA256 key, as printable characters.
const MIN_CURSOR_SECRET_CHARS: usize = 32;

/// Every variable the binaries read, in the order of the README's table.
pub const VARIABLES: &[Variable] = &[
    Variable {
        name: DYNAMODB_ENDPOINT,
        default: "`http://127.0.0.1:8000` locally; unset in AWS",
        meaning: "DynamoDB endpoint URL (DynamoDB Local)",
    },
    Variable {
        name: TABLE_PREFIX,
        default: "`dev-`",
        meaning: "put before every table name and Redis key (a stage, a stack or a test)",
    },
    Variable { name: REDIS_URL, default: "`redis://127.0.0.1:6379`", meaning: "Redis; `rediss://` for TLS" },
    Variable {
        name: REDIS_CLUSTER,
        default: "`false`",
        meaning: "`true` for Redis Cluster (ElastiCache Serverless is one)",
    },
    Variable {
        name: FANOUT_THRESHOLD,
        default: "`10000`",
        meaning: "authors with more followers are not fanned out; readers merge their tweets in",
    },
    Variable {
        name: CACHE_REVALIDATE,
        default: "`300`",
        meaning: "a cached timeline is rebuilt from the durable one at most this long after its last rebuild (seconds; heals a cache restored stale; `0`: never)",
    },
    Variable {
        name: BODY_CACHE_MB,
        default: "`32`",
        meaning: "memory for tweet bodies cached in each API process (MiB; `0` turns it off)",
    },
    Variable {
        name: POST_LIMIT,
        default: "`300/3h`",
        meaning: "posts per user and window (`N/30s`, `N/10m`, `N/3h`, `N/1d`), or `off`",
    },
    Variable {
        name: CURSOR_SECRET,
        default: "locally the JWT secret; in AWS required, or read from Parameter Store (next)",
        meaning: "HMAC key that seals pagination cursors, at least 32 characters",
    },
    Variable {
        name: "TIMELINE_CURSOR_SECRET_PARAMETER",
        default: "unset",
        meaning: "an SSM Parameter Store SecureString to read `TIMELINE_CURSOR_SECRET` from, once per container at start-up (what the template sets)",
    },
    Variable {
        name: CORS_ALLOW_ORIGIN,
        default: "unset (no CORS headers)",
        meaning: "the browser origin allowed to read responses",
    },
    Variable { name: HTTP_ADDR, default: "`127.0.0.1:3000`", meaning: "listen address of the local server" },
    Variable {
        name: HTTP_HEADER_TIMEOUT,
        default: "`10`",
        meaning: "the local server closes a connection that has not sent a request head this long, or sat idle this long between requests (seconds)",
    },
    Variable {
        name: HTTP_BODY_TIMEOUT,
        default: "`10`",
        meaning: "the local server answers `408` to a request whose body has not arrived in full this long after its head (seconds)",
    },
    Variable {
        name: HTTP_MAX_CONNECTIONS,
        default: "`2048`",
        meaning: "connections the local server keeps open at once; one more takes the place of the oldest that is not answering a request (about 25 KB each at most)",
    },
    Variable {
        name: JWT_SECRET,
        default: "`timeline-local-dev-secret`",
        meaning: "HS256 secret of local tokens (the local server only; API Gateway checks tokens in AWS)",
    },
    Variable {
        name: CHECKPOINT_DIR,
        default: "`.local/checkpoints`",
        meaning: "where the local stream poller keeps its place in each shard; delete it to replay the streams",
    },
    Variable {
        name: WEB_DIR,
        default: "`web`",
        meaning: "the web client's files, which the local server serves under `/app/` (read on each request: an edit shows on reload)",
    },
    Variable {
        name: METRICS_ADDR,
        default: "`127.0.0.1:9464`",
        meaning: "where the local server serves its metrics to Prometheus (`/metrics`), or `off`",
    },
    Variable {
        name: METRICS_SUMMARY,
        default: "`60`",
        meaning: "the local server logs a one-line summary of its metrics this often (seconds; `0`: never)",
    },
];

/// The README's settings table, generated from [`VARIABLES`].
pub fn markdown_table() -> String {
    let mut table = String::from("| variable | default | meaning |\n| --- | --- | --- |\n");
    for variable in VARIABLES {
        table.push_str(&format!("| `{}` | {} | {} |\n", variable.name, variable.default, variable.meaning));
    }
    table
}

/// A setting that could not be used: which variable, what it held, what it should hold.
/// `Debug` prints the same one line, since a `main` that returns the error prints its `Debug`.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}{shown}: expected {expected}")]
pub struct SettingError {
    name: &'static str,
    /// `=value`, ` (N characters, hidden)` for secrets, or ` is not set`.
    shown: String,
    expected: String,
}

impl fmt::Debug for SettingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The environment the settings come from: the process's, or a map in tests.
#[derive(Debug, Clone, Default)]
pub struct Environment(HashMap<String, String>);

impl Environment {
    pub fn process() -> Self {
        Self(std::env::vars().collect())
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self(pairs.into_iter().map(|(name, value)| (name.to_owned(), value.to_owned())).collect())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|value| !value.is_empty())
    }

    pub(crate) fn set(&mut self, name: &str, value: String) {
        self.0.insert(name.to_owned(), value);
    }

    /// Parse `name` with `parse`, or take `default` when it is unset.
    fn parse<T>(
        &self,
        name: &'static str,
        default: impl FnOnce() -> T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, SettingError> {
        match self.get(name) {
            None => Ok(default()),
            Some(raw) => {
                parse(raw).map_err(|expected| SettingError { name, shown: format!("={raw:?}"), expected })
            }
        }
    }

    /// A secret: its value never appears in an error.
    fn secret(&self, name: &'static str, min_chars: usize) -> Result<Option<Secret>, SettingError> {
        let Some(raw) = self.get(name) else { return Ok(None) };
        let chars = raw.chars().count();
        if chars < min_chars {
            return Err(SettingError {
                name,
                shown: format!(" ({chars} characters, hidden)"),
                expected: format!("at least {min_chars} characters"),
            });
        }
        Ok(Some(Secret(raw.to_owned())))
    }
}

/// A secret value; `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// Where the stores are, and the one rule both the fan-out and the read path must agree on.
/// Every binary reads these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSettings {
    /// DynamoDB Local's URL; `None` in AWS (the SDK finds the regional endpoint).
    pub dynamodb_endpoint: Option<String>,
    pub table_prefix: String,
    /// `redis://` or, for TLS, `rediss://`.
    pub redis_url: String,
    pub redis_cluster: bool,
    /// Authors with more followers are not fanned out; readers merge their tweets in.
    pub fanout_threshold: u64,
    /// How long a cached timeline is trusted after its rebuild (`None`: until it idles out).
    pub cache_revalidate: Option<Duration>,
}

impl StoreSettings {
    pub const DEFAULT_TABLE_PREFIX: &str = "dev-";
    pub const DEFAULT_REDIS_URL: &str = "redis://127.0.0.1:6379";
    pub const DEFAULT_FANOUT_THRESHOLD: u64 = 10_000;
    /// Within the 5 minutes a failover's stale copy may live (docs/ARCHITECTURE.md, "Cache states").
    pub const DEFAULT_CACHE_REVALIDATE: Duration = Duration::from_secs(300);

    pub fn from_env(env: &Environment, runner: Runner) -> Result<Self, SettingError> {
        let local_endpoint = || (runner == Runner::Local).then(|| DEFAULT_DYNAMODB_ENDPOINT.to_owned());
        Ok(Self {
            dynamodb_endpoint: env.parse(DYNAMODB_ENDPOINT, local_endpoint, |raw| http_url(raw).map(Some))?,
            table_prefix: env.parse(TABLE_PREFIX, || Self::DEFAULT_TABLE_PREFIX.to_owned(), table_prefix)?,
            redis_url: env.parse(REDIS_URL, || Self::DEFAULT_REDIS_URL.to_owned(), redis_url)?,
            redis_cluster: env.parse(REDIS_CLUSTER, || false, boolean)?,
            fanout_threshold: env.parse(
                FANOUT_THRESHOLD,
                || Self::DEFAULT_FANOUT_THRESHOLD,
                |raw| raw.parse().map_err(|_| "a whole number of followers, e.g. 10000".to_owned()),
            )?,
            cache_revalidate: env.parse(
                CACHE_REVALIDATE,
                || Some(Self::DEFAULT_CACHE_REVALIDATE),
                |raw| match raw.parse::<u64>() {
                    Ok(0) => Ok(None),
                    Ok(secs) if secs <= 7 * 86_400 => Ok(Some(Duration::from_secs(secs))),
                    _ => Err("a whole number of seconds up to 604800 (7 days), e.g. 300, or 0 for never"
                        .to_owned()),
                },
            )?,
        })
    }
}

/// What the API adds to the stores: the posting limit, the cursor key, the browser origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiSettings {
    pub store: StoreSettings,
    /// `None`: no limit (`off`).
    pub post_limit: Option<RateLimit>,
    /// Every instance must share it, or a cursor would not survive landing on another one.
    pub cursor_secret: Secret,
    /// The origin allowed to read responses in a browser; visible ASCII, checked here.
    pub cors_allow_origin: Option<String>,
    /// Bytes of tweet bodies the process keeps in memory (`timeline_model::bodies`).
    pub body_cache_bytes: u64,
}

impl ApiSettings {
    pub fn from_env(env: &Environment, runner: Runner) -> Result<Self, SettingError> {
        Ok(Self {
            store: StoreSettings::from_env(env, runner)?,
            post_limit: env.parse(
                POST_LIMIT,
                || Some(RateLimit::DEFAULT),
                |raw| {
                    RateLimit::parse(raw).map_err(|_| "N/<count><s|m|h|d> (e.g. 300/3h), or off".to_owned())
                },
            )?,
            cursor_secret: cursor_secret(env, runner)?,
            cors_allow_origin: env.parse(CORS_ALLOW_ORIGIN, || None, |raw| origin(raw).map(Some))?,
            body_cache_bytes: env.parse(
                BODY_CACHE_MB,
                || timeline_model::bodies::DEFAULT_CAPACITY_BYTES,
                |raw| match raw.parse::<u64>() {
                    Ok(mb) if mb <= 64 * 1024 => Ok(mb * 1024 * 1024),
                    _ => Err("a whole number of MiB from 0 to 65536, e.g. 32".to_owned()),
                },
            )?,
        })
    }
}

/// The cursor key: set, or locally the JWT secret (or its public default). In AWS it must be
/// set: cursors sealed with a published key could be forged by anyone.
fn cursor_secret(env: &Environment, runner: Runner) -> Result<Secret, SettingError> {
    if let Some(secret) = env.secret(CURSOR_SECRET, MIN_CURSOR_SECRET_CHARS)? {
        return Ok(secret);
    }
    match runner {
        Runner::Local => Ok(jwt_secret(env)?),
        Runner::Aws => Err(SettingError {
            name: CURSOR_SECRET,
            shown: " is not set".into(),
            expected: format!(
                "a secret of at least {MIN_CURSOR_SECRET_CHARS} characters shared by every function"
            ),
        }),
    }
}

fn jwt_secret(env: &Environment) -> Result<Secret, SettingError> {
    Ok(env.secret(JWT_SECRET, 1)?.unwrap_or_else(|| Secret(DEV_JWT_SECRET.to_owned())))
}

/// The local runner: the API's settings plus where it listens, how it checks tokens and where
/// its stream poller keeps its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSettings {
    pub api: ApiSettings,
    pub http_addr: SocketAddr,
    /// HS256 key of local tokens (API Gateway checks tokens in AWS).
    pub jwt_secret: Secret,
    /// Where the stream poller keeps its checkpoints: one file per streamed table.
    pub checkpoint_dir: PathBuf,
    /// The web client's files, served under `/app/`.
    pub web_dir: PathBuf,
    pub metrics: MetricsSettings,
    pub http: HttpLimits,
}

/// What the local server allows a connection (API Gateway sets its own limits in AWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// To send a complete request head, and to sit idle between two requests.
    pub header_timeout: Duration,
    /// To send the whole body, from the end of the head.
    pub body_timeout: Duration,
    pub max_connections: usize,
}

impl HttpLimits {
    pub const DEFAULT: Self = Self {
        header_timeout: Duration::from_secs(10),
        body_timeout: Duration::from_secs(10),
        max_connections: 2048,
    };

    fn from_env(env: &Environment) -> Result<Self, SettingError> {
        let secs = |raw: &str| match raw.parse::<u64>() {
            Ok(secs @ 1..) => Ok(Duration::from_secs(secs)),
            _ => Err("a whole number of seconds, at least 1, e.g. 10".to_owned()),
        };
        Ok(Self {
            header_timeout: env.parse(HTTP_HEADER_TIMEOUT, || Self::DEFAULT.header_timeout, secs)?,
            body_timeout: env.parse(HTTP_BODY_TIMEOUT, || Self::DEFAULT.body_timeout, secs)?,
            max_connections: env.parse(
                HTTP_MAX_CONNECTIONS,
                || Self::DEFAULT.max_connections,
                |raw| match raw.parse::<usize>() {
                    // A semaphore's permits are counted in u32 on shutdown.
                    Ok(n @ 1..=1_000_000) => Ok(n),
                    _ => Err("a number of connections from 1 to 1000000, e.g. 2048".to_owned()),
                },
            )?,
        })
    }
}

/// How the local server shows its metrics (the Lambdas send theirs to CloudWatch as EMF).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsSettings {
    /// The Prometheus endpoint's listen address; `None`: no endpoint.
    pub addr: Option<SocketAddr>,
    /// How often a one-line summary is logged; `None`: never.
    pub summary_every: Option<Duration>,
}

impl MetricsSettings {
    pub const DEFAULT_ADDR: SocketAddr =
        SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 9464);

    fn from_env(env: &Environment) -> Result<Self, SettingError> {
        Ok(Self {
            addr: env.parse(
                METRICS_ADDR,
                || Some(Self::DEFAULT_ADDR),
                |raw| match raw {
                    "off" => Ok(None),
                    _ => socket_addr(raw).map(Some),
                },
            )?,
            summary_every: env.parse(
                METRICS_SUMMARY,
                || Some(Duration::from_secs(60)),
                |raw| match raw.parse::<u64>() {
                    Ok(0) => Ok(None),
                    Ok(secs) => Ok(Some(Duration::from_secs(secs))),
                    Err(_) => Err("a whole number of seconds, e.g. 60, or 0 for never".to_owned()),
                },
            )?,
        })
    }
}

impl LocalSettings {
    pub const DEFAULT_CHECKPOINT_DIR: &str = ".local/checkpoints";

    /// Whether tokens are signed with the development secret, which is published in this
    /// repository (the server says so at start-up).
    pub fn uses_dev_jwt_secret(&self) -> bool {
        self.jwt_secret.expose() == DEV_JWT_SECRET
    }

    pub fn from_env(env: &Environment) -> Result<Self, SettingError> {
        Ok(Self {
            api: ApiSettings::from_env(env, Runner::Local)?,
            http_addr: env.parse(HTTP_ADDR, || SocketAddr::from(([127, 0, 0, 1], 3000)), socket_addr)?,
            jwt_secret: jwt_secret(env)?,
            checkpoint_dir: env.parse(
                CHECKPOINT_DIR,
                || PathBuf::from(Self::DEFAULT_CHECKPOINT_DIR),
                |raw| Ok(PathBuf::from(raw)),
            )?,
            web_dir: env.parse(WEB_DIR, || PathBuf::from("web"), |raw| Ok(PathBuf::from(raw)))?,
            metrics: MetricsSettings::from_env(env)?,
            http: HttpLimits::from_env(env)?,
        })
    }
}

fn socket_addr(raw: &str) -> Result<SocketAddr, String> {
    raw.parse().map_err(|_| "an IP address and port, e.g. 127.0.0.1:3000".to_owned())
}

fn http_url(raw: &str) -> Result<String, String> {
    let expected = || "an http:// or https:// URL, e.g. http://127.0.0.1:8000".to_owned();
    let rest = raw.strip_prefix("http://").or_else(|| raw.strip_prefix("https://")).ok_or_else(expected)?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(expected());
    }
    Ok(raw.to_owned())
}

fn redis_url(raw: &str) -> Result<String, String> {
    use redis::IntoConnectionInfo;
    let expected = "a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379";
    if !(raw.starts_with("redis://") || raw.starts_with("rediss://")) {
        return Err(expected.to_owned());
    }
    raw.into_connection_info().map(|_| raw.to_owned()).map_err(|error| format!("{expected} ({error})"))
}

/// Letters, digits, `_`, `-` and `.`: what DynamoDB allows in table names and what keeps Redis
/// key patterns literal. Table names then stay within DynamoDB's 255 characters.
fn table_prefix(raw: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    if raw.len() <= 200 && raw.chars().all(allowed) {
        Ok(raw.to_owned())
    } else {
        Err("at most 200 of A-Z a-z 0-9 _ - . (e.g. dev-)".to_owned())
    }
}

fn boolean(raw: &str) -> Result<bool, String> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err("true or false".to_owned()),
    }
}

/// A browser origin as a header value must be: visible ASCII, no spaces.
fn origin(raw: &str) -> Result<String, String> {
    if raw.chars().all(|c| c.is_ascii_graphic()) {
        Ok(raw.to_owned())
    } else {
        Err("an origin such as https://app.example.com, or *".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&'static str, &'static str)]) -> Environment {
        Environment::from_pairs(pairs.iter().copied())
    }

    const AWS_SECRET: (&str, &str) = (CURSOR_SECRET, "0123456789abcdef0123456789abcdef");

    #[test]
    fn a_revalidation_of_0_seconds_is_never() {
        let never = StoreSettings::from_env(&env(&[(CACHE_REVALIDATE, "0")]), Runner::Local).unwrap();
        assert_eq!(never.cache_revalidate, None);
        let minute = StoreSettings::from_env(&env(&[(CACHE_REVALIDATE, "60")]), Runner::Local).unwrap();
        assert_eq!(minute.cache_revalidate, Some(Duration::from_secs(60)));
    }

    #[test]
    fn defaults_are_the_local_ones() {
        let settings = LocalSettings::from_env(&Environment::default()).unwrap();
        let local = StoreSettings {
            dynamodb_endpoint: Some(DEFAULT_DYNAMODB_ENDPOINT.to_owned()),
            table_prefix: "dev-".to_owned(),
            redis_url: "redis://127.0.0.1:6379".to_owned(),
            redis_cluster: false,
            fanout_threshold: 10_000,
            cache_revalidate: Some(Duration::from_secs(300)),
        };
        assert_eq!(settings.api.store, local);
        assert_eq!(settings.http_addr.to_string(), "127.0.0.1:3000");
        assert_eq!(settings.api.post_limit, Some(RateLimit::DEFAULT));
        assert_eq!(settings.api.cursor_secret.expose(), DEV_JWT_SECRET);
        assert!(settings.uses_dev_jwt_secret());
        assert_eq!(settings.api.cors_allow_origin, None);
        assert_eq!(settings.api.body_cache_bytes, 32 * 1024 * 1024);
        assert_eq!(settings.checkpoint_dir, PathBuf::from(".local/checkpoints"));
        assert_eq!(settings.web_dir, PathBuf::from("web"));
        let metrics = MetricsSettings {
            addr: Some("127.0.0.1:9464".parse().unwrap()),
            summary_every: Some(Duration::from_secs(60)),
        };
        assert_eq!(settings.metrics, metrics);
    }

    #[test]
    fn the_local_servers_limits_are_read_and_checked() {
        assert_eq!(LocalSettings::from_env(&env(&[])).unwrap().http, HttpLimits::DEFAULT);
        let vars = [(HTTP_HEADER_TIMEOUT, "3"), (HTTP_BODY_TIMEOUT, "4"), (HTTP_MAX_CONNECTIONS, "64")];
        let limits = LocalSettings::from_env(&env(&vars)).unwrap().http;
        let expected = HttpLimits {
            header_timeout: Duration::from_secs(3),
            body_timeout: Duration::from_secs(4),
            max_connections: 64,
        };
        assert_eq!(limits, expected);
        let error = LocalSettings::from_env(&env(&[(HTTP_HEADER_TIMEOUT, "0")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TIMELINE_HTTP_HEADER_TIMEOUT_SECS=\"0\": expected a whole number of seconds, at least 1, e.g. 10"
        );
        assert!(LocalSettings::from_env(&env(&[(HTTP_MAX_CONNECTIONS, "0")])).is_err());
    }

    #[test]
    fn local_metrics_can_be_turned_off() {
        let settings =
            LocalSettings::from_env(&env(&[(METRICS_ADDR, "off"), (METRICS_SUMMARY, "0")])).unwrap();
        assert_eq!(settings.metrics, MetricsSettings { addr: None, summary_every: None });
        let error = LocalSettings::from_env(&env(&[(METRICS_SUMMARY, "1m")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TIMELINE_METRICS_SUMMARY_SECS=\"1m\": expected a whole number of seconds, e.g. 60, or 0 for never"
        );
    }

    #[test]
    fn in_aws_there_is_no_local_endpoint_and_no_default_secret() {
        let store = StoreSettings::from_env(&Environment::default(), Runner::Aws).unwrap();
        assert_eq!(store.dynamodb_endpoint, None);
        let error = ApiSettings::from_env(&Environment::default(), Runner::Aws).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TIMELINE_CURSOR_SECRET is not set: expected a secret of at least 32 characters shared by every function"
        );
        // Not even the JWT secret stands in for it there.
        let error = ApiSettings::from_env(&env(&[(JWT_SECRET, "x".repeat(40).leak())]), Runner::Aws);
        assert!(error.is_err());
        let settings = ApiSettings::from_env(&env(&[AWS_SECRET]), Runner::Aws).unwrap();
        assert_eq!(settings.cursor_secret.expose(), AWS_SECRET.1);
    }

    #[test]
    fn a_bad_value_names_the_variable_the_value_and_what_is_expected() {
        let cases = [
            (
                FANOUT_THRESHOLD,
                "ten",
                "TIMELINE_FANOUT_THRESHOLD=\"ten\": expected a whole number of followers, e.g. 10000",
            ),
            (REDIS_CLUSTER, "yes", "TIMELINE_REDIS_CLUSTER=\"yes\": expected true or false"),
            (
                CACHE_REVALIDATE,
                "5m",
                "TIMELINE_CACHE_REVALIDATE_SECS=\"5m\": expected a whole number of seconds up to 604800 (7 days), e.g. 300, or 0 for never",
            ),
            (
                HTTP_ADDR,
                "localhost",
                "TIMELINE_HTTP_ADDR=\"localhost\": expected an IP address and port, e.g. 127.0.0.1:3000",
            ),
            (
                REDIS_URL,
                "127.0.0.1:6379",
                "TIMELINE_REDIS_URL=\"127.0.0.1:6379\": expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379",
            ),
            (
                DYNAMODB_ENDPOINT,
                "127.0.0.1:8000",
                "TIMELINE_DYNAMODB_ENDPOINT=\"127.0.0.1:8000\": expected an http:// or https:// URL, e.g. http://127.0.0.1:8000",
            ),
            (
                TABLE_PREFIX,
                "my prefix",
                "TIMELINE_TABLE_PREFIX=\"my prefix\": expected at most 200 of A-Z a-z 0-9 _ - . (e.g. dev-)",
            ),
            (
                CORS_ALLOW_ORIGIN,
                "a b",
                "TIMELINE_CORS_ALLOW_ORIGIN=\"a b\": expected an origin such as https://app.example.com, or *",
            ),
        ];
        for (name, value, message) in cases {
            let error = LocalSettings::from_env(&env(&[(name, value)])).unwrap_err();
            assert_eq!(error.to_string(), message);
        }
        let error = LocalSettings::from_env(&env(&[(POST_LIMIT, "lots")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TIMELINE_POST_LIMIT=\"lots\": expected N/<count><s|m|h|d> (e.g. 300/3h), or off"
        );
    }

    #[test]
    fn secrets_never_appear_in_errors_or_debug_output() {
        let error = LocalSettings::from_env(&env(&[(CURSOR_SECRET, "short-secret")])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TIMELINE_CURSOR_SECRET (12 characters, hidden): expected at least 32 characters"
        );
        let settings = LocalSettings::from_env(&env(&[(JWT_SECRET, "hunter2")])).unwrap();
        assert!(!format!("{settings:?}").contains("hunter2"));
        assert!(!settings.uses_dev_jwt_secret());
    }

    #[test]
    fn values_parse_into_their_types() {
        let settings = LocalSettings::from_env(&env(&[
            (REDIS_CLUSTER, "TRUE"),
            (FANOUT_THRESHOLD, "250"),
            (POST_LIMIT, "off"),
            (HTTP_ADDR, "127.0.0.1:0"),
            (TABLE_PREFIX, "stack-1."),
            (REDIS_URL, "rediss://cache.example.com:6379"),
            (DYNAMODB_ENDPOINT, ""),
            (CHECKPOINT_DIR, "/tmp/timeline checkpoints"),
        ]))
        .unwrap();
        let store = &settings.api.store;
        assert!(store.redis_cluster);
        assert_eq!(store.fanout_threshold, 250);
        assert_eq!(store.table_prefix, "stack-1.");
        assert_eq!(store.dynamodb_endpoint.as_deref(), Some(DEFAULT_DYNAMODB_ENDPOINT), "empty is unset");
        assert_eq!(settings.api.post_limit, None);
        assert_eq!(settings.http_addr.port(), 0);
        assert_eq!(settings.checkpoint_dir, PathBuf::from("/tmp/timeline checkpoints"));
    }

    #[test]
    fn the_readme_lists_every_setting() {
        let readme = include_str!("../../README.md");
        let table = markdown_table();
        assert!(
            readme.contains(&table),
            "README.md's settings table is not the one `VARIABLES` defines; replace it with:\n{table}"
        );
    }
}

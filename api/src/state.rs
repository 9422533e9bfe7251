//! What every handler shares, built once per process (per Lambda container) and cloned cheaply.

use std::sync::Arc;

use axum::http::HeaderValue;

use timeline_model::ValidationError;
use timeline_model::home::Rebuilds;
use timeline_model::limits::RateLimit;
use timeline_model::ports::StoreError;
use timeline_store::{Dynamo, RedisCache, StoreConfig};

use crate::auth::Authenticator;
use crate::cursor::CursorKey;

/// The secret local tokens are signed with when `TIMELINE_JWT_SECRET` is unset.
pub const DEV_JWT_SECRET: &str = "timeline-local-dev-secret";

#[derive(Clone)]
pub struct AppState {
    pub dynamo: Dynamo,
    pub cache: RedisCache,
    pub authenticator: Authenticator,
    pub cursors: CursorKey,
    /// `TIMELINE_POST_LIMIT`: posts per user and window (default 300/3h; `off`: none).
    pub post_limit: Option<RateLimit>,
    /// Authors with more followers are merged into home timelines at read time.
    pub celebrity_threshold: u64,
    /// Cache rebuilds under way in this process.
    pub rebuilds: Arc<Rebuilds>,
    /// `TIMELINE_CORS_ALLOW_ORIGIN`: the browser origin allowed to read responses, if any
    /// (API Gateway answers the preflight; the functions label the responses).
    pub cors_origin: Option<HeaderValue>,
}

/// `TIMELINE_POST_LIMIT` (`300/3h` when unset, `off` for none).
pub fn post_limit_from_env() -> Result<Option<RateLimit>, ValidationError> {
    match std::env::var("TIMELINE_POST_LIMIT") {
        Ok(raw) => RateLimit::parse(&raw),
        Err(_) => Ok(Some(RateLimit::DEFAULT)),
    }
}

/// Why the API could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("the stores are unavailable")]
    Store(#[from] StoreError),
    #[error("invalid setting")]
    Config(#[from] ValidationError),
}

impl AppState {
    /// Connect to the stores of `config`. The cursor key is `TIMELINE_CURSOR_SECRET`, falling
    /// back to the local JWT secret: every instance must share it, or cursors would not survive
    /// a request landing on another instance.
    pub async fn connect(
        config: &StoreConfig,
        authenticator: Authenticator,
        post_limit: Option<RateLimit>,
    ) -> Result<Self, StartupError> {
        let dynamo = Dynamo::connect(config).await;
        let cache = RedisCache::connect(config).await?;
        let secret = std::env::var("TIMELINE_CURSOR_SECRET")
            .or_else(|_| std::env::var("TIMELINE_JWT_SECRET"))
            .unwrap_or_else(|_| DEV_JWT_SECRET.to_owned());
        Ok(Self {
            dynamo,
            cache,
            authenticator,
            cursors: CursorKey::new(secret.as_bytes()),
            post_limit,
            celebrity_threshold: config.fanout_threshold,
            rebuilds: Arc::default(),
            cors_origin: std::env::var("TIMELINE_CORS_ALLOW_ORIGIN")
                .ok()
                .filter(|origin| !origin.is_empty())
                .and_then(|origin| HeaderValue::from_str(&origin).ok()),
        })
    }
}

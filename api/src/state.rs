//! What every handler shares, built once per process (per Lambda container) and cloned cheaply,
//! and the use cases of the domain wired to the real stores.

use std::ops::Deref;
use std::sync::Arc;

use axum::extract::FromRef;
use axum::http::HeaderValue;
use timeline_model::bodies::Bodies;
use timeline_model::home::{Home, Rebuilds};
use timeline_model::limits::RateLimit;
use timeline_model::ports::StoreError;
use timeline_model::posting::Poster;
use timeline_store::{ApiSettings, Dynamo, RedisCache};

use crate::auth::Authenticator;
use crate::cursor::CursorKey;

/// The home timeline reader over the real stores.
pub type HomeReader<'a> = Home<'a, RedisCache, Dynamo, Dynamo>;
/// The tweet poster over the real stores.
pub type TweetPoster<'a> = Poster<'a, Dynamo, Dynamo, Dynamo, RedisCache>;

/// The state of the router. One `Arc`: axum clones the state for every request (the handler's
/// `State` and the CORS layer's), so that costs one reference count, not one per client.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares, read through it.
pub struct Shared {
    pub dynamo: Dynamo,
    pub cache: RedisCache,
    pub authenticator: Authenticator,
    pub cursors: CursorKey,
    /// Posts per user and window; `None`: no limit.
    pub post_limit: Option<RateLimit>,
    /// Tweet bodies held by this process, in front of Redis.
    pub bodies: Bodies,
    /// Cache rebuilds under way in this process.
    pub rebuilds: Rebuilds,
    /// The browser origin allowed to read responses, if any (API Gateway answers the
    /// preflight; the functions label the responses).
    pub cors_origin: Option<HeaderValue>,
}

impl AppState {
    /// Build the clients of the stores of `settings`. DynamoDB and standalone Redis connect on
    /// first use, so a process starts (and serves what it can) while they are down; the Redis
    /// Cluster client still connects here.
    pub async fn connect(settings: &ApiSettings, authenticator: Authenticator) -> Result<Self, StoreError> {
        let dynamo = Dynamo::connect(&settings.store).await;
        let cache = RedisCache::connect(&settings.store).await?;
        Ok(Self::new(dynamo, cache, authenticator, settings))
    }

    pub fn new(
        dynamo: Dynamo,
        cache: RedisCache,
        authenticator: Authenticator,
        settings: &ApiSettings,
    ) -> Self {
        Self(Arc::new(Shared {
            dynamo,
            cache,
            authenticator,
            cursors: CursorKey::new(settings.cursor_secret.expose().as_bytes()),
            post_limit: settings.post_limit,
            bodies: Bodies::with_capacity(settings.body_cache_bytes),
            rebuilds: Rebuilds::default(),
            // Checked when the settings were read; a value that still fails is simply not sent.
            cors_origin: settings.cors_allow_origin.as_deref().and_then(|o| HeaderValue::from_str(o).ok()),
        }))
    }

    pub fn home(&self) -> HomeReader<'_> {
        Home {
            cache: &self.cache,
            store: &self.dynamo,
            tweets: &self.dynamo,
            bodies: &self.bodies,
            rebuilds: &self.rebuilds,
        }
    }

    pub fn poster(&self) -> TweetPoster<'_> {
        Poster {
            users: &self.dynamo,
            tweets: &self.dynamo,
            keys: &self.dynamo,
            limiter: &self.cache,
            limit: self.post_limit,
        }
    }
}

impl Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl FromRef<AppState> for Authenticator {
    fn from_ref(state: &AppState) -> Self {
        state.authenticator.clone()
    }
}

//! The local runner: the same router the Lambdas serve, on a TCP listener, plus the stream
//! poller that stands in for the Lambda event source mapping. `make dev` runs it through the
//! `timeline-local` binary; the end-to-end tests start one per test with their own tables.

use std::net::SocketAddr;

use timeline_api::state::{DEV_JWT_SECRET, StartupError, post_limit_from_env};
use timeline_api::{AppState, Authenticator};
use timeline_fanout::Engine;
use timeline_fanout::poller::Poller;
use timeline_model::ValidationError;
use timeline_model::limits::RateLimit;
use timeline_model::ports::StoreError;
use timeline_store::StoreConfig;
use tokio::task::JoinHandle;

/// Where `make dev` and `make test` start DynamoDB Local.
pub const DEFAULT_DYNAMODB_ENDPOINT: &str = "http://127.0.0.1:8000";

/// Settings of a local run, read from the environment (names in shared/API.md).
#[derive(Debug, Clone)]
pub struct LocalSettings {
    /// `TIMELINE_HTTP_ADDR`, default `127.0.0.1:3000`.
    pub http_addr: String,
    /// `TIMELINE_JWT_SECRET`, default [`DEV_JWT_SECRET`].
    pub jwt_secret: String,
    pub store: StoreConfig,
    /// `TIMELINE_POST_LIMIT`, default `300/3h`; load tests and acceptance runs say `off`.
    pub post_limit: Option<RateLimit>,
}

impl LocalSettings {
    pub fn from_env() -> Result<Self, ValidationError> {
        let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_owned());
        let mut store = StoreConfig::from_env();
        // Locally DynamoDB is DynamoDB Local unless said otherwise; in AWS the variable is unset.
        store.dynamodb_endpoint.get_or_insert_with(|| DEFAULT_DYNAMODB_ENDPOINT.to_owned());
        Ok(Self {
            http_addr: var("TIMELINE_HTTP_ADDR", "127.0.0.1:3000"),
            jwt_secret: var("TIMELINE_JWT_SECRET", DEV_JWT_SECRET),
            store,
            post_limit: post_limit_from_env()?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the service could not start")]
    Startup(#[from] StartupError),
    #[error("the tables could not be created")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
}

/// A running local service: the API on `addr` and the stream poller. Dropping it stops both.
pub struct LocalService {
    pub addr: SocketAddr,
    pub state: AppState,
    server: JoinHandle<()>,
    poller: JoinHandle<()>,
}

impl LocalService {
    /// Stop serving and polling (also done on drop).
    pub fn stop(&self) {
        self.server.abort();
        self.poller.abort();
    }
}

impl Drop for LocalService {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Create the tables (idempotent), then serve the router and run the poller in the background.
pub async fn start(settings: &LocalSettings) -> Result<LocalService, StartError> {
    let state =
        AppState::connect(&settings.store, Authenticator::local(&settings.jwt_secret), settings.post_limit)
            .await?;
    state.dynamo.create_tables().await?;
    let listener = tokio::net::TcpListener::bind(&settings.http_addr)
        .await
        .map_err(|source| StartError::Bind { addr: settings.http_addr.clone(), source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { addr: settings.http_addr.clone(), source })?;
    let app = timeline_api::router(state.clone());
    let server = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "local server stopped");
        }
    });
    let engine = Engine {
        dynamo: state.dynamo.clone(),
        cache: state.cache.clone(),
        celebrity_threshold: state.celebrity_threshold,
    };
    let poller = Poller::new(&settings.store, engine).await;
    let poller = tokio::spawn(poller.run());
    Ok(LocalService { addr, state, server, poller })
}

//! The local runner: the same router the Lambdas serve, on a TCP listener, plus the stream
//! poller that stands in for the Lambda event source mapping. `make dev` runs it through the
//! `timeline-local` binary; the end-to-end tests start one per test with their own tables.
//!
//! - this file: [`start`] a [`LocalService`] from [`LocalSettings`].
//! - [`poller`]: DynamoDB Local's streams, read as the event source mapping would, handed to
//!   the fan-out Lambda's handler.
//! - [`tokens`]: local HS256 bearer tokens, checked here as API Gateway checks them in AWS.
//!
//! Every setting is in `timeline_store::settings`; the contract served is docs/API.md.

pub mod poller;
pub mod tokens;

use std::net::SocketAddr;

use timeline_api::AppState;
use timeline_fanout::Engine;
use timeline_model::ports::StoreError;
use timeline_store::{Dynamo, LocalSettings, RedisCache, Streams};
use tokio::task::JoinHandle;

use crate::poller::Poller;
use crate::tokens::LocalTokens;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the tables could not be created")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
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
    let store = &settings.api.store;
    let dynamo = Dynamo::connect(store).await;
    let cache = RedisCache::connect(store).await?;
    dynamo.create_tables(Streams::On).await?;
    let bind_error = |source| StartError::Bind { addr: settings.http_addr, source };
    let listener = tokio::net::TcpListener::bind(settings.http_addr).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;

    let authenticator = LocalTokens::authenticator(settings.jwt_secret.expose());
    let state = AppState::new(dynamo.clone(), cache.clone(), authenticator, &settings.api);
    let app = timeline_api::router(state.clone());
    let server = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "local server stopped");
        }
    });
    let engine = Engine::new(dynamo.clone(), cache, store.fanout_threshold);
    let poller = tokio::spawn(Poller::new(store, dynamo, engine).await.run());
    Ok(LocalService { addr, state, server, poller })
}

//! The local runner and the operator tools. The runner: the same router the Lambdas serve, on
//! a TCP listener, plus the stream poller that stands in for the Lambda event source mapping.
//! `make dev` runs it through the `timeline-local` binary; the end-to-end tests start one per
//! test with their own tables. The tools run as `timeline-admin`, locally and against a stack.
//!
//! - this file: [`start`] a [`LocalService`] from [`LocalSettings`], and [`LocalService::shutdown`].
//! - [`poller`]: DynamoDB Local's streams, read as the event source mapping would, handed to
//!   the fan-out Lambda's handler, with checkpoints so that a restart resumes where it stopped.
//! - [`tokens`]: local HS256 bearer tokens, checked here as API Gateway checks them in AWS.
//! - [`admin`]: the commands of `timeline-admin`, the operator tools (verify, rebuild, replay).
//! - [`local_metrics`]: the local server's metrics, on a Prometheus endpoint and in the log.
//! - [`http_server`]: the local server's connections, with the time-outs and the connection
//!   limit API Gateway gives the Lambdas in AWS.
//! - [`web`]: the web client's files under `/app/` and its local sign-in, `POST /local/token`.
//!
//! Every setting is in `timeline_store::settings`; the contract served is docs/API.md.

pub mod admin;
pub mod http_server;
pub mod local_metrics;
pub mod poller;
pub mod tokens;
pub mod web;

use std::net::SocketAddr;
use std::time::Duration;

use timeline_api::AppState;
use timeline_fanout::Engine;
use timeline_model::ports::StoreError;
use timeline_store::{Dynamo, LocalSettings, RedisCache, Streams};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::poller::Poller;
use crate::poller::checkpoint::CheckpointError;
use crate::tokens::LocalTokens;

/// How long a graceful shutdown may take before what is left is aborted.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the tables could not be created")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the stream poller's checkpoints cannot be used")]
    Checkpoints(#[from] CheckpointError),
}

/// A graceful shutdown that did not finish within [`SHUTDOWN_GRACE`].
#[derive(Debug, thiserror::Error)]
#[error("the service did not stop within {} s", SHUTDOWN_GRACE.as_secs())]
pub struct ShutdownTimedOut;

/// A running local service: the API on `addr` and the stream poller. [`Self::shutdown`] stops
/// it gracefully; dropping it aborts both at once.
pub struct LocalService {
    pub addr: SocketAddr,
    pub state: AppState,
    stopping: CancellationToken,
    server: JoinHandle<()>,
    poller: JoinHandle<()>,
}

impl LocalService {
    /// Stop accepting connections and finish the requests in flight; let the poller finish
    /// the batch it is applying and save its checkpoint. Whatever is still running after
    /// [`SHUTDOWN_GRACE`] is aborted.
    pub async fn shutdown(mut self) -> Result<(), ShutdownTimedOut> {
        self.stopping.cancel();
        let both = async {
            for (task, handle) in [("server", &mut self.server), ("poller", &mut self.poller)] {
                if let Err(error) = handle.await {
                    tracing::error!(task, %error, "ended abnormally");
                }
            }
        };
        tokio::time::timeout(SHUTDOWN_GRACE, both).await.map_err(|_| ShutdownTimedOut)
    }

    /// Abort serving and polling at once, mid-request and mid-batch (also done on drop).
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
    let engine = Engine::new(dynamo.clone(), cache.clone(), store.fanout_threshold);
    let poller = Poller::new(store, &settings.checkpoint_dir, dynamo.clone(), engine).await?;
    let bind_error = |source| StartError::Bind { addr: settings.http_addr, source };
    let listener = tokio::net::TcpListener::bind(settings.http_addr).await.map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;

    let authenticator = LocalTokens::authenticator(settings.jwt_secret.expose());
    let state = AppState::new(dynamo, cache, authenticator, &settings.api);
    let web = web::routes(settings.web_dir.clone(), settings.jwt_secret.clone());
    let app = timeline_api::router(state.clone()).merge(web);
    let stopping = CancellationToken::new();
    let server = tokio::spawn(http_server::serve(listener, app, settings.http, stopping.clone()));
    let poller = tokio::spawn(poller.run(stopping.clone()));
    Ok(LocalService { addr, state, stopping, server, poller })
}

/// An error and its causes on one line, for a log field or a tool's last word (SDK errors keep
/// the useful part in their sources).
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line
}

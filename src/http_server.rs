//! The local server's connections: what API Gateway does in front of the Lambdas in AWS, done
//! here in front of the same router. `axum::serve` has no time-outs and no connection limit,
//! so a client that opens connections and never finishes a request held memory for good
//! (16,600 such connections took the server from 26 MB to 973 MB). Here:
//!
//! - a connection that has not sent a complete request head within `header_timeout` is closed,
//!   and so is a kept-alive connection idle that long between requests (hyper starts the
//!   header time-out again once a response is sent);
//! - the body is read in full before the router sees the request, as API Gateway buffers it
//!   for a Lambda, within `body_timeout` (else `408 request_timeout`), and never more than
//!   one byte past the router's 16 KiB limit (the router then answers `413`, after the token
//!   check, as it does in AWS);
//! - at most `max_connections` are open at once: one more evicts the oldest connection that
//!   is not answering a request (a slow head, an idle keep-alive), so that a flood of slow
//!   clients cannot lock out the next real one, and costs a socket, not unbounded memory; only
//!   when every connection is answering is the newcomer closed instead;
//! - on shutdown, the connections finish the request in hand and close; the caller bounds
//!   how long that may take.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::response::IntoResponse;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use timeline_api::error::ApiError;
use timeline_api::extract::MAX_BODY_BYTES;
use timeline_store::HttpLimits;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// Largest read buffer of a connection: a request head plus a body frame, well under hyper's
/// default of ~400 KiB, so that many open connections stay cheap.
const MAX_READ_BUFFER: usize = 32 * 1024;

/// Serve `app` on `listener` within `limits` until `stopping` is cancelled, then wait for the
/// open connections to finish the request in hand.
pub async fn serve(listener: TcpListener, app: Router, limits: HttpLimits, stopping: CancellationToken) {
    let open = Arc::new(OpenConnections::default());
    let tasks = TaskTracker::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stopping.cancelled() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors, most often: wait a little rather than spin.
                tracing::warn!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some((id, connection)) = open.admit(limits.max_connections) else {
            metrics::counter!("http_connections_refused").increment(1);
            continue;
        };
        let (app, stopping, open) = (app.clone(), stopping.clone(), open.clone());
        tasks.spawn(async move {
            serve_connection(stream, app, limits, &connection, stopping).await;
            open.remove(id);
        });
    }
    tasks.close();
    tasks.wait().await;
}

/// One open connection, as the limit sees it.
#[derive(Default)]
struct Connection {
    /// Between a request's head and its response: not to be evicted.
    answering: AtomicBool,
    /// Cancelled when a newer connection takes its place.
    evicted: CancellationToken,
}

/// The open connections by order of arrival (IDs only grow).
#[derive(Default)]
struct OpenConnections {
    by_age: Mutex<BTreeMap<u64, Arc<Connection>>>,
    next_id: AtomicU64,
}

impl OpenConnections {
    /// A place for a new connection, evicting the oldest idle one when `max` are open;
    /// `None` when all `max` are answering.
    fn admit(&self, max: usize) -> Option<(u64, Arc<Connection>)> {
        let mut by_age = self.by_age.lock().unwrap_or_else(PoisonError::into_inner);
        if by_age.len() >= max {
            let idle =
                by_age.iter().find(|(_, c)| !c.answering.load(Ordering::Acquire)).map(|(id, _)| *id)?;
            if let Some(evicted) = by_age.remove(&idle) {
                evicted.evicted.cancel();
                metrics::counter!("http_connections_evicted").increment(1);
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection::default());
        by_age.insert(id, connection.clone());
        Some((id, connection))
    }

    fn remove(&self, id: u64) {
        self.by_age.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
    }
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    app: Router,
    limits: HttpLimits,
    connection: &Arc<Connection>,
    stopping: CancellationToken,
) {
    let state = connection.clone();
    let service = service_fn(move |request| {
        let (app, state) = (app.clone(), state.clone());
        async move {
            state.answering.store(true, Ordering::Release);
            let response = answer(app, request, limits.body_timeout).await;
            state.answering.store(false, Ordering::Release);
            response
        }
    });
    let http = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_READ_BUFFER)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(http);
    let ended = tokio::select! {
        ended = http.as_mut() => ended,
        // Not answering (else it would not have been chosen): dropping it loses no response.
        () = connection.evicted.cancelled() => return,
        () = stopping.cancelled() => {
            http.as_mut().graceful_shutdown();
            http.await
        }
    };
    // A time-out or a client that went away is the client's business, not an error here.
    if let Err(error) = ended {
        tracing::debug!(%error, "connection closed");
    }
}

/// Buffer the body, then hand the request to the router.
async fn answer(
    app: Router,
    request: hyper::Request<Incoming>,
    body_timeout: Duration,
) -> Result<axum::response::Response, Infallible> {
    let (parts, body) = request.into_parts();
    let body = match tokio::time::timeout(body_timeout, read_body(body)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(_)) => return Ok(ApiError::MalformedJson("the body could not be read".into()).into_response()),
        Err(_) => return Ok(ApiError::RequestTimeout { secs: body_timeout.as_secs() }.into_response()),
    };
    let request = hyper::Request::from_parts(parts, Body::from(body));
    app.oneshot(request).await
}

/// The body, or its first `MAX_BODY_BYTES + 1` bytes: enough for the router to tell it is too
/// large, without reading (or holding) the rest.
async fn read_body(mut body: Incoming) -> Result<Bytes, hyper::Error> {
    let mut read = Vec::new();
    while read.len() <= MAX_BODY_BYTES {
        let Some(frame) = body.frame().await else { break };
        if let Ok(data) = frame?.into_data() {
            read.extend_from_slice(&data);
        }
    }
    read.truncate(MAX_BODY_BYTES + 1);
    Ok(Bytes::from(read))
}

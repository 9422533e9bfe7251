//! The one HTTP router of the timeline service, served by the read and write Lambdas
//! (`lambda_http`) and by the local server alike. The contract it serves is docs/API.md.
//!
//! - [`router`]: the route table of the REST contract, its fallbacks, CORS and the REST stage.
//! - [`state`]: what handlers share (stores, authenticator, cursor key) and the domain's use
//!   cases wired to the real stores.
//! - [`auth`]: the caller's identity, from API Gateway's authorizer or a local HS256 token.
//! - [`extract`]: request parsing (JSON bodies, path IDs, paging) into domain values.
//! - [`cursor`]: opaque, tamper-evident pagination cursors, each sealed for one listing, and
//!   pages served with theirs.
//! - [`response`]: JSON responses and `201 Created`.
//! - [`error`]: the API's one error type and its JSON body.
//!
//! Modules depend one way: `response` on nothing, `error` on `response`, `extract`, `auth`
//! and `cursor` on `error`, `state` on `auth` and `cursor`, the handlers on all of them.
//! - `routes`: thin handlers, one module per resource.

pub mod auth;
pub mod cursor;
pub mod error;
pub mod extract;
#[cfg(test)]
mod openapi;
pub mod response;
pub mod router;
mod routes;
pub mod state;

pub use auth::Authenticator;
pub use router::{lambda_router, router};
pub use state::AppState;

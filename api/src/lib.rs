//! The one HTTP router of the timeline service, served by the read and write Lambdas
//! (`lambda_http`) and by the local server alike.
//!
//! - [`router`]: the routes of the REST contract (shared/API.md) and their fallbacks.
//! - [`state`]: what handlers share: the stores, the authenticator, the cursor key.
//! - [`auth`]: the caller's identity, from API Gateway's authorizer or a local HS256 token.
//! - [`error`]: the API's one error type and its JSON body.
//! - [`extract`]: request parsing (JSON bodies, path IDs, paging) into domain values.
//! - [`cursor`]: opaque, tamper-evident pagination cursors.
//! - `routes`: thin handlers, one module per resource.

pub mod auth;
pub mod cursor;
pub mod error;
pub mod extract;
pub mod router;
mod routes;
pub mod state;

pub use auth::Authenticator;
pub use router::{lambda_router, router};
pub use state::AppState;

//! What the local server serves beside the API, for the web client (`web/`):
//!
//! - `GET /app/...`: the client's files, read from `TIMELINE_WEB_DIR` on each request, so an
//!   edit shows on reload with no build step. Only plain file names in that one folder are
//!   served: nothing outside it can be named. `config.json` tells the client it runs locally
//!   unless the folder holds one (the deployed client's says where Cognito and the API are).
//! - `POST /local/token`: a local token for a user ID, the local client's sign-in. It stands
//!   next to the token check this server does in place of API Gateway ([`crate::tokens`]); the
//!   deployed stack has neither, and signs in with Cognito.
//!
//! Both are same-origin with the API, so the local client needs no CORS.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use timeline_api::error::ApiError;
use timeline_api::extract::{JsonBody, PathParams};
use timeline_api::response::json_response;
use timeline_model::UserId;
use timeline_store::settings::Secret;

use crate::tokens;

/// The client's configuration when the folder holds none: local sign-in, the API at this origin.
const LOCAL_CONFIG: &str = r#"{"mode":"local","api_base":""}"#;

#[derive(Clone)]
struct Web {
    dir: Arc<PathBuf>,
    secret: Arc<Secret>,
}

/// The web client's routes, to merge with the API's router.
pub fn routes(dir: PathBuf, secret: Secret) -> Router {
    let web = Web { dir: Arc::new(dir), secret: Arc::new(secret) };
    Router::new()
        .route("/app", get(|| async { Redirect::permanent("/app/") }))
        .route("/app/", get(|state: State<Web>| file(state, PathParams("index.html".to_owned()))))
        .route("/app/{name}", get(file))
        .route("/local/token", post(token))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(web)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    user_id: String,
}

async fn token(
    State(web): State<Web>,
    JsonBody(request): JsonBody<TokenRequest>,
) -> Result<Response, ApiError> {
    let user = UserId::parse(&request.user_id)?;
    let token = tokens::mint(web.secret.expose(), user.as_str(), tokens::DEFAULT_TTL_SECS);
    let body = json!({ "token": token, "user_id": user.as_str(), "expires_in": tokens::DEFAULT_TTL_SECS });
    Ok(json_response(StatusCode::OK, &body))
}

async fn file(State(web): State<Web>, PathParams(name): PathParams<String>) -> Result<Response, ApiError> {
    let not_found = || ApiError::NotFound(format!("the web client has no file {name:?}"));
    let content_type = content_type(&name).ok_or_else(not_found)?;
    match tokio::fs::read(web.dir.join(&name)).await {
        Ok(bytes) => Ok(with_type(content_type, bytes)),
        Err(_) if name == "config.json" => Ok(with_type(content_type, LOCAL_CONFIG.into())),
        Err(_) => Err(not_found()),
    }
}

/// The type of a file the client may have, by its name; `None` for any other name (a path, a
/// hidden file, an unknown kind), which is then not looked for at all.
fn content_type(name: &str) -> Option<&'static str> {
    let plain = !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let (_, extension) = name.rsplit_once('.').filter(|_| plain)?;
    Some(match extension {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        _ => return None,
    })
}

fn with_type(content_type: &'static str, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // Read from disk on each request: the browser should ask again, not keep an old copy.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_names_of_known_kinds_are_served() {
        assert_eq!(content_type("app.js"), Some("text/javascript; charset=utf-8"));
        assert_eq!(content_type("index.html"), Some("text/html; charset=utf-8"));
        for name in ["../Cargo.toml", "..", ".env", "a/b.js", "x.rs", "noextension", "a%2F.js", "é.js"] {
            assert_eq!(content_type(name), None, "{name}");
        }
    }
}

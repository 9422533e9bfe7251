//! The routes of the REST contract (shared/API.md). The same router runs in the Lambdas and in
//! the local server; API Gateway sends GETs to the read function and the rest to the write one.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Uri, header};
use axum::middleware::{map_request, map_response_with_state};
use axum::response::Response;
use axum::routing::{get, post, put};
use lambda_http::request::RequestContext;

use crate::error::ApiError;
use crate::extract::MAX_BODY_BYTES;
use crate::routes::{health, timeline, tweets, users};
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::health))
        .route("/users", post(users::create))
        // A literal segment beats a parameter in axum, as the contract requires.
        .route("/users/by-username/{username}", get(users::by_username))
        .route("/users/{user_id}", get(users::get))
        .route("/users/{user_id}/following/{target_id}", put(users::follow).delete(users::unfollow))
        .route("/users/{user_id}/followers", get(users::followers))
        .route("/users/{user_id}/following", get(users::following))
        .route("/users/{user_id}/tweets", get(tweets::by_author))
        .route("/users/{user_id}/timeline", get(timeline::home))
        .route("/tweets", post(tweets::create))
        .route("/tweets/{tweet_id}", get(tweets::get).delete(tweets::delete))
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(map_response_with_state(state.clone(), allow_origin))
        .with_state(state)
}

/// Let the configured browser origin read every response, errors included, and the headers a
/// client needs (`Location` of a new resource, `Retry-After` of a 429).
async fn allow_origin(State(state): State<AppState>, mut response: Response) -> Response {
    if let Some(origin) = &state.cors_origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers
            .insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("Location, Retry-After"));
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    response
}

/// The router as the Lambdas serve it. A REST API event's path carries the stage
/// (`/dev/users/...`) and lambda_http keeps it there; it is taken off before routing, so the
/// routes are the same in every stage and locally.
pub fn lambda_router(state: AppState) -> Router {
    Router::new().fallback_service(router(state)).layer(map_request(strip_stage))
}

async fn strip_stage(mut request: Request) -> Request {
    let Some(RequestContext::ApiGatewayV1(context)) = request.extensions().get::<RequestContext>() else {
        return request;
    };
    let Some(stage) = context.stage.as_deref() else {
        return request;
    };
    let prefix = format!("/{stage}");
    let Some(path_and_query) = request.uri().path_and_query().map(|p| p.as_str()) else {
        return request;
    };
    let unstaged = path_and_query.strip_prefix(&prefix).filter(|rest| rest.starts_with('/'));
    if let Some(uri) = unstaged.and_then(|rest| rest.parse::<Uri>().ok()) {
        *request.uri_mut() = uri;
    }
    request
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// (method, path) of every `.route(...)` above this test module.
    fn routed() -> BTreeSet<(String, String)> {
        let source = include_str!("router.rs");
        let code = &source[..source.find("#[cfg(test)]").expect("test module")];
        let mut routes = BTreeSet::new();
        for chunk in code.split(".route(\"").skip(1) {
            let (path, rest) = chunk.split_once('"').expect("a quoted path");
            let handlers =
                rest.split(".route(").next().unwrap_or(rest).split(".fallback(").next().unwrap_or(rest);
            for method in ["get", "post", "put", "delete", "patch"] {
                if handlers.contains(&format!(" {method}(")) || handlers.contains(&format!(".{method}(")) {
                    routes.insert((method.to_owned(), path.to_owned()));
                }
            }
        }
        routes
    }

    /// (method, path) of every operation of docs/openapi.yaml.
    fn documented() -> BTreeSet<(String, String)> {
        let document = include_str!("../../docs/openapi.yaml");
        let paths = &document[document.find("\npaths:").expect("paths section") + 1..];
        let mut routes = BTreeSet::new();
        let mut current = None;
        for line in paths.lines().skip(1) {
            if !line.starts_with(' ') && !line.is_empty() {
                break; // the next top-level section
            }
            if let Some(path) = line.strip_prefix("  /").and_then(|l| l.strip_suffix(':')) {
                current = Some(format!("/{path}"));
            } else if let (Some(path), Some(method)) =
                (&current, line.strip_prefix("    ").and_then(|l| l.strip_suffix(':')))
                && ["get", "post", "put", "delete", "patch"].contains(&method)
            {
                routes.insert((method.to_owned(), path.clone()));
            }
        }
        routes
    }

    #[test]
    fn the_openapi_document_lists_exactly_the_routes_of_the_router() {
        let (routed, documented) = (routed(), documented());
        assert!(routed.len() >= 13, "{routed:?}");
        assert_eq!(
            routed.difference(&documented).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "routed, not documented"
        );
        assert_eq!(
            documented.difference(&routed).collect::<Vec<_>>(),
            Vec::<&(String, String)>::new(),
            "documented, not routed"
        );
    }
}

//! The routes of the REST contract (docs/API.md). The same router runs in the Lambdas and in
//! the local server; API Gateway sends GETs to the read function and the rest to the write one.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, Uri, header};
use axum::middleware::{map_request, map_response_with_state};
use axum::response::Response;
use lambda_http::request::RequestContext;

use crate::error::ApiError;
use crate::extract::MAX_BODY_BYTES;
use crate::routes::{health, timeline, tweets, users};
use crate::state::AppState;

/// Declares the route table once: the router is built from it, and [`ROUTES`] lists it for the
/// test that holds docs/openapi.yaml to exactly these operations.
macro_rules! route_table {
    ($($method:ident $path:literal => $handler:path;)*) => {
        /// Every (method, path) the router serves.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        fn with_routes(router: Router<AppState>) -> Router<AppState> {
            router $(.route($path, axum::routing::$method($handler)))*
        }
    };
}

route_table! {
    get "/health" => health::health;
    post "/users" => users::create;
    // A literal segment beats a parameter in axum, as the contract requires.
    get "/users/by-username/{username}" => users::by_username;
    get "/users/{user_id}" => users::get;
    put "/users/{user_id}/following/{target_id}" => users::follow;
    delete "/users/{user_id}/following/{target_id}" => users::unfollow;
    get "/users/{user_id}/followers" => users::followers;
    get "/users/{user_id}/following" => users::following;
    get "/users/{user_id}/tweets" => tweets::by_author;
    get "/users/{user_id}/timeline" => timeline::home;
    post "/tweets" => tweets::create;
    get "/tweets/{tweet_id}" => tweets::get;
    delete "/tweets/{tweet_id}" => tweets::delete;
}

pub fn router(state: AppState) -> Router {
    with_routes(Router::new())
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

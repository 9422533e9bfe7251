//! The routes of the REST contract (shared/API.md). The same router runs in the Lambdas and in
//! the local server; API Gateway sends GETs to the read function and the rest to the write one.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

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
        .route(
            "/users/{user_id}/following/{target_id}",
            put(users::follow).delete(users::unfollow),
        )
        .route("/users/{user_id}/followers", get(users::followers))
        .route("/users/{user_id}/following", get(users::following))
        .route("/users/{user_id}/tweets", get(tweets::by_author))
        .route("/users/{user_id}/timeline", get(timeline::home))
        .route("/tweets", post(tweets::create))
        .route(
            "/tweets/{tweet_id}",
            get(tweets::get).delete(tweets::delete),
        )
        .fallback(|| async { ApiError::NotFound("no such route".into()) })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

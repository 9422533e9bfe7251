//! `GET /health`: liveness, and with `?deep=true` the state of each dependency.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use crate::response::json_response;
use crate::state::AppState;

pub async fn health(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let deep = query.is_some_and(|q| q.split('&').any(|pair| pair == "deep=true"));
    if !deep {
        return json_response(StatusCode::OK, &json!({ "status": "ok" }));
    }
    let (dynamodb, redis) = tokio::join!(state.dynamo.ping(), state.cache.ping());
    let word = |ok: bool| if ok { "ok" } else { "unavailable" };
    let dependencies = json!({ "dynamodb": word(dynamodb.is_ok()), "redis": word(redis.is_ok()) });
    if dynamodb.is_ok() && redis.is_ok() {
        json_response(StatusCode::OK, &json!({ "status": "ok", "dependencies": dependencies }))
    } else {
        let error = json!({ "code": "unavailable", "message": "a dependency is unavailable" });
        let body = json!({ "status": "degraded", "dependencies": dependencies, "error": error });
        json_response(StatusCode::SERVICE_UNAVAILABLE, &body)
    }
}

//! `GET /users/{user_id}/timeline`: the caller's home timeline, from the cache.

use axum::extract::State;
use axum::response::Response;
use timeline_model::home::Home;

use super::page_response;
use super::tweets::open_tweet_cursor;
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{Paging, PathParams, user_id};
use crate::state::AppState;

pub async fn home(
    State(state): State<AppState>,
    caller: Principal,
    PathParams(id): PathParams<String>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let owner = user_id(&id)?;
    caller.must_be(&owner)?;
    let scope = format!("timeline:{owner}");
    let before = open_tweet_cursor(&state, &scope, paging.cursor.as_deref())?;
    let home = Home {
        cache: &state.cache,
        store: &state.dynamo,
        tweets: &state.dynamo,
        follows: &state.dynamo,
        users: &state.dynamo,
        celebrity_threshold: state.celebrity_threshold,
        rebuilds: &state.rebuilds,
    };
    let page = home.read(&owner, before, paging.limit).await?;
    Ok(page_response(&state.cursors, &scope, page))
}

//! `GET /users/{user_id}/timeline`: the caller's home timeline, from the cache.

use axum::extract::State;
use axum::response::Response;

use crate::auth::Principal;
use crate::cursor::{CursorScope, page_response};
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
    let scope = CursorScope::HomeTimeline(&owner);
    let before = state.cursors.open_tweet_id(&scope, paging.cursor.as_deref())?;
    let page = state.home().read(&owner, before, paging.limit).await?;
    Ok(page_response(&state.cursors, &scope, page))
}

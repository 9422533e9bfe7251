//! Profiles and follow edges.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use timeline_model::service::{self, Direction, FollowAction};
use timeline_model::{DisplayName, UserId, Username};

use crate::auth::Principal;
use crate::cursor::{CursorScope, page_response};
use crate::error::ApiError;
use crate::extract::{JsonBody, Paging, PathParams, user_id};
use crate::response::{created, json_response};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct CreateUser {
    username: String,
    #[serde(default)]
    display_name: Option<String>,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Principal,
    JsonBody(body): JsonBody<CreateUser>,
) -> Result<Response, ApiError> {
    let username = Username::parse(&body.username)?;
    let display_name = DisplayName::parse(body.display_name.as_deref().unwrap_or_default())?;
    let user = service::create_profile(&state.dynamo, caller.user_id, username, display_name).await?;
    Ok(created(format!("/users/{}", user.user_id), &user))
}

pub async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let user = service::profile(&state.dynamo, &user_id(&id)?).await?;
    Ok(json_response(StatusCode::OK, &user))
}

pub async fn by_username(
    State(state): State<AppState>,
    PathParams(name): PathParams<String>,
) -> Result<Response, ApiError> {
    let username = Username::parse(&name).map_err(|_| ApiError::not_found("user"))?;
    let user = timeline_model::ports::Users::find_by_username(&state.dynamo, &username)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(json_response(StatusCode::OK, &user))
}

pub async fn follow(
    state: State<AppState>,
    caller: Principal,
    path: PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    change_follow(state, caller, path, FollowAction::Follow).await
}

pub async fn unfollow(
    state: State<AppState>,
    caller: Principal,
    path: PathParams<(String, String)>,
) -> Result<Response, ApiError> {
    change_follow(state, caller, path, FollowAction::Unfollow).await
}

async fn change_follow(
    State(state): State<AppState>,
    caller: Principal,
    PathParams((id, target)): PathParams<(String, String)>,
    action: FollowAction,
) -> Result<Response, ApiError> {
    let (follower, followee) = edge(&caller, &id, &target)?;
    service::change_follow(&state.dynamo, &state.dynamo, follower, followee, action).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The two ends of a follow edge the caller may change: only their own.
fn edge(caller: &Principal, id: &str, target: &str) -> Result<(UserId, UserId), ApiError> {
    let follower = user_id(id)?;
    caller.must_be(&follower)?;
    Ok((follower, user_id(target)?))
}

pub async fn followers(
    state: State<AppState>,
    path: PathParams<String>,
    paging: Paging,
) -> Result<Response, ApiError> {
    follow_list(state, path, paging, Direction::Followers).await
}

pub async fn following(
    state: State<AppState>,
    path: PathParams<String>,
    paging: Paging,
) -> Result<Response, ApiError> {
    follow_list(state, path, paging, Direction::Following).await
}

async fn follow_list(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    paging: Paging,
    direction: Direction,
) -> Result<Response, ApiError> {
    let user = user_id(&id)?;
    let scope = match direction {
        Direction::Followers => CursorScope::Followers(&user),
        Direction::Following => CursorScope::Following(&user),
    };
    let after = state.cursors.open_user_id(&scope, paging.cursor.as_deref())?;
    let page =
        service::follow_list(&state.dynamo, &state.dynamo, &user, direction, after, paging.limit).await?;
    Ok(page_response(&state.cursors, &scope, page))
}

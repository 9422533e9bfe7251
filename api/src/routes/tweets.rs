//! Tweets: post, read, delete, and an author's own.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use timeline_model::limits::IdempotencyKey;
use timeline_model::posting::Poster;
use timeline_model::service;
use timeline_model::{NewTweet, TweetId, TweetText};

use super::{created, page_response};
use crate::auth::Principal;
use crate::error::ApiError;
use crate::extract::{JsonBody, Paging, PathParams, json_response, tweet_id, user_id};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct PostTweet {
    text: String,
}

pub async fn create(
    State(state): State<AppState>,
    caller: Principal,
    headers: HeaderMap,
    JsonBody(body): JsonBody<PostTweet>,
) -> Result<Response, ApiError> {
    let new = NewTweet { text: TweetText::parse(&body.text)? };
    let key = match headers.get("idempotency-key") {
        Some(raw) => Some(IdempotencyKey::parse(raw.to_str().unwrap_or_default())?),
        None => None,
    };
    let poster = Poster {
        users: &state.dynamo,
        tweets: &state.dynamo,
        keys: &state.dynamo,
        limiter: &state.cache,
        limit: state.post_limit,
    };
    let tweet = poster.post(&caller.user_id, new, key.as_ref()).await?;
    Ok(created(format!("/tweets/{}", tweet.tweet_id), &tweet))
}

pub async fn get(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    let tweet = service::tweet(&state.dynamo, &tweet_id(&id)?).await?;
    Ok(json_response(StatusCode::OK, &tweet))
}

pub async fn delete(
    State(state): State<AppState>,
    caller: Principal,
    PathParams(id): PathParams<String>,
) -> Result<Response, ApiError> {
    service::delete_tweet(&state.dynamo, &caller.user_id, &tweet_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn by_author(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let author = user_id(&id)?;
    let scope = format!("tweets:{author}");
    let before = open_tweet_cursor(&state, &scope, paging.cursor.as_deref())?;
    let page = service::author_tweets(&state.dynamo, &state.dynamo, &author, before, paging.limit).await?;
    Ok(page_response(&state.cursors, &scope, page))
}

/// The tweet ID a tweet listing's cursor points after.
pub fn open_tweet_cursor(
    state: &AppState,
    scope: &str,
    cursor: Option<&str>,
) -> Result<Option<TweetId>, ApiError> {
    let Some(cursor) = cursor else {
        return Ok(None);
    };
    let position = state.cursors.open(scope, cursor)?;
    TweetId::parse(&position).map(Some).map_err(|_| ApiError::InvalidCursor)
}

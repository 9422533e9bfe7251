//! Tweets: post, read, delete, and an author's own.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use timeline_model::limits::IdempotencyKey;
use timeline_model::service;
use timeline_model::{NewTweet, TweetText};

use crate::auth::Principal;
use crate::cursor::{CursorScope, page_response};
use crate::error::ApiError;
use crate::extract::{JsonBody, Paging, PathParams, tweet_id, user_id};
use crate::response::{created, json_response};
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
    let tweet = state.poster().post(&caller.user_id, new, key.as_ref()).await?;
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
    let tweet_id = tweet_id(&id)?;
    service::delete_tweet(&state.dynamo, &caller.user_id, &tweet_id).await?;
    // This process's copy goes at once; the timelines lose the ID when the delete fans out.
    state.bodies.forget(&tweet_id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn by_author(
    State(state): State<AppState>,
    PathParams(id): PathParams<String>,
    paging: Paging,
) -> Result<Response, ApiError> {
    let author = user_id(&id)?;
    let scope = CursorScope::AuthorTweets(&author);
    let before = state.cursors.open_tweet_id(&scope, paging.cursor.as_deref())?;
    let page = service::author_tweets(&state.dynamo, &state.dynamo, &author, before, paging.limit).await?;
    Ok(page_response(&state.cursors, &scope, page))
}

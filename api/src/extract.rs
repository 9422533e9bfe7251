//! Request parsing into domain values, with the contract's errors: the body size first (413),
//! then its media type (415), then its syntax (400 `malformed_json`), then its fields (400
//! `validation_failed`). Path IDs that cannot exist are 404, like unknown ones.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use timeline_model::{Limit, TweetId, UserId};

use crate::error::ApiError;

/// Request bodies larger than this are refused before anything else is read from them.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// A JSON request body, deserialized into `T`.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = is_json(request.headers());
        let bytes = Bytes::from_request(request, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::MalformedJson("the body could not be read".into())
            }
        })?;
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|error| match error.classify() {
            serde_json::error::Category::Data => ApiError::Validation(error.to_string()),
            _ => ApiError::MalformedJson(format!("the body is not valid JSON: {error}")),
        })
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Path parameters. A segment that does not even decode (invalid UTF-8) names nothing that
/// exists, so it is a 404 like any unknown resource, in the contract's error body.
pub struct PathParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(params)) => Ok(PathParams(params)),
            Err(_) => Err(ApiError::NotFound("no such resource".into())),
        }
    }
}

/// A user ID from the path; one that cannot exist is simply not found.
pub fn user_id(raw: &str) -> Result<UserId, ApiError> {
    UserId::parse(raw).map_err(|_| ApiError::not_found("user"))
}

/// A tweet ID from the path; one that cannot exist is simply not found.
pub fn tweet_id(raw: &str) -> Result<TweetId, ApiError> {
    TweetId::parse(raw).map_err(|_| ApiError::not_found("tweet"))
}

/// `?limit=N&cursor=...`, the cursor still sealed.
pub struct Paging {
    pub limit: Limit,
    pub cursor: Option<String>,
}

#[derive(serde::Deserialize)]
struct RawPaging {
    limit: Option<String>,
    cursor: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for Paging {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let Query(raw) = Query::<RawPaging>::try_from_uri(&parts.uri)
            .map_err(|_| ApiError::Validation("the query string could not be parsed".into()))?;
        Ok(Self { limit: Limit::parse(raw.limit.as_deref())?, cursor: raw.cursor })
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn json_media_types() {
        let with = |value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(value));
            is_json(&headers)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!is_json(&HeaderMap::new()));
    }
}

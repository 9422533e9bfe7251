//! The API's one error type. Every failure becomes a status and the JSON body of the contract,
//! `{"error": {"code", "message"}}`: never a stack trace, never an empty 500.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use timeline_model::ValidationError;
use timeline_model::ports::StoreError;
use timeline_model::service::DomainError;

use crate::response::json_response;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    MalformedJson(String),
    #[error("the cursor was not issued by this server")]
    InvalidCursor,
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    NotFound(String),
    #[error("this route does not allow that method")]
    MethodNotAllowed,
    #[error("{0}")]
    Conflict(&'static str),
    #[error("the body is larger than 16 KiB")]
    PayloadTooLarge,
    #[error("the body must be JSON (Content-Type: application/json)")]
    UnsupportedMediaType,
    /// The local server only: API Gateway buffers the body itself in AWS.
    #[error("the request body did not arrive within {secs} s")]
    RequestTimeout { secs: u64 },
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    Unavailable(#[from] StoreError),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::Validation(_) => (StatusCode::BAD_REQUEST, "validation_failed"),
            ApiError::MalformedJson(_) => (StatusCode::BAD_REQUEST, "malformed_json"),
            ApiError::InvalidCursor => (StatusCode::BAD_REQUEST, "invalid_cursor"),
            ApiError::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            ApiError::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            ApiError::RequestTimeout { .. } => (StatusCode::REQUEST_TIMEOUT, "request_timeout"),
            ApiError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        }
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::NotFound(format!("{what} not found"))
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        ApiError::Validation(error.to_string())
    }
}

impl From<DomainError> for ApiError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::Invalid(e) => e.into(),
            DomainError::NotFound(missing) => ApiError::NotFound(format!("{missing} not found")),
            DomainError::Forbidden(why) => ApiError::Forbidden(why),
            DomainError::Conflict(why) => ApiError::Conflict(why),
            DomainError::RateLimited { retry_after_secs } => ApiError::RateLimited { retry_after_secs },
            DomainError::Store(e) => ApiError::Unavailable(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Unavailable(source) = &self {
            tracing::error!(error = %source, cause = ?std::error::Error::source(source), "dependency failed");
        }
        let body = json!({ "error": { "code": code, "message": self.to_string() } });
        let mut response = json_response(status, &body);
        if let ApiError::RateLimited { retry_after_secs } = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// One value of every variant. The match below has no wildcard, so a new variant does not
    /// compile until it is listed here too, and so reaches the test against the document.
    fn every_variant() -> Vec<ApiError> {
        let all = vec![
            ApiError::Validation(String::new()),
            ApiError::MalformedJson(String::new()),
            ApiError::InvalidCursor,
            ApiError::Unauthenticated(""),
            ApiError::Forbidden(""),
            ApiError::NotFound(String::new()),
            ApiError::MethodNotAllowed,
            ApiError::Conflict(""),
            ApiError::PayloadTooLarge,
            ApiError::UnsupportedMediaType,
            ApiError::RequestTimeout { secs: 10 },
            ApiError::RateLimited { retry_after_secs: 1 },
            ApiError::Unavailable(StoreError::Unavailable {
                backend: timeline_model::ports::Backend::Redis,
                source: "down".into(),
            }),
        ];
        for error in &all {
            match error {
                ApiError::Validation(_)
                | ApiError::MalformedJson(_)
                | ApiError::InvalidCursor
                | ApiError::Unauthenticated(_)
                | ApiError::Forbidden(_)
                | ApiError::NotFound(_)
                | ApiError::MethodNotAllowed
                | ApiError::Conflict(_)
                | ApiError::PayloadTooLarge
                | ApiError::UnsupportedMediaType
                | ApiError::RequestTimeout { .. }
                | ApiError::RateLimited { .. }
                | ApiError::Unavailable(_) => {}
            }
        }
        all
    }

    #[test]
    fn the_openapi_error_codes_are_exactly_the_codes_the_api_emits() {
        let emitted: BTreeSet<&str> = every_variant().iter().map(|e| e.status_and_code().1).collect();
        let document = crate::openapi::document();
        let documented: BTreeSet<&str> =
            document["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
                .as_sequence()
                .expect("the code enum")
                .iter()
                .map(|code| code.as_str().expect("a code"))
                .collect();
        assert_eq!(emitted, documented);
    }
}

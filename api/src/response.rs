//! The shapes of responses: JSON with the contract's content type, and `201 Created` with its
//! `Location` (pages leave through `cursor::page_response`, which seals their next position).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON response with the contract's content type.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    // A page of 20 tweets is about 6 KB: starting at 1 KB spares most of the regrowing.
    let mut bytes = Vec::with_capacity(1024);
    if serde_json::to_writer(&mut bytes, body).is_err() {
        bytes = b"{}".to_vec();
    }
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

/// `201 Created` with the new resource and where it lives.
pub fn created(location: String, body: &impl Serialize) -> Response {
    let mut response = json_response(StatusCode::CREATED, body);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

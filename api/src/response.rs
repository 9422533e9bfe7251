//! The shapes of successful responses: JSON with the contract's content type, `201 Created`
//! with its `Location`, and pages with their sealed cursor.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use timeline_model::Page;

use crate::cursor::{CursorKey, CursorScope};

/// A JSON response with the contract's content type.
pub fn json_response(status: StatusCode, body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, bytes).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

/// The body of every paged response.
#[derive(Serialize)]
struct PageBody<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

/// Serve a page, sealing its next position for the listing it belongs to.
pub fn page_response<T: Serialize>(cursors: &CursorKey, scope: &CursorScope<'_>, page: Page<T>) -> Response {
    let next_cursor = page.next.map(|position| cursors.seal(scope, &position));
    json_response(StatusCode::OK, &PageBody { items: page.items, next_cursor })
}

/// `201 Created` with the new resource and where it lives.
pub fn created(location: String, body: &impl Serialize) -> Response {
    let mut response = json_response(StatusCode::CREATED, body);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

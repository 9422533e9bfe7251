//! Thin handlers: parse the request into domain values, call the domain, map the outcome.

pub mod health;
pub mod timeline;
pub mod tweets;
pub mod users;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;
use timeline_model::Page;

use crate::cursor::CursorKey;
use crate::extract::json_response;

/// The body of every paged response.
#[derive(Serialize)]
struct PageBody<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}

/// Serve a page, sealing its next position for the listing `scope`.
fn page_response<T: Serialize>(cursors: &CursorKey, scope: &str, page: Page<T>) -> Response {
    let next_cursor = page.next.map(|position| cursors.seal(scope, &position));
    json_response(StatusCode::OK, &PageBody { items: page.items, next_cursor })
}

/// `201 Created` with the new resource and where it lives.
fn created(location: String, body: &impl Serialize) -> Response {
    let mut response = json_response(StatusCode::CREATED, body);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

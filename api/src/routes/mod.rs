//! Thin handlers: parse the request into domain values, call the domain, map the outcome.

pub mod health;
pub mod timeline;
pub mod tweets;
pub mod users;

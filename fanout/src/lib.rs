//! The DynamoDB Streams consumer that fans tweets out into home timelines.
//!
//! - [`handler`]: one batch of stream records (Lambda's event shape) through the domain
//!   fan-out, in waves of distinct items that share their round trips, with partial batch
//!   responses that name the lowest failed record. The records are decoded by the store, which
//!   owns the tables' attributes.
//!
//! The local stand-in for the event source mapping (the stream poller) lives with the local
//! runner, at the root of the workspace; it hands its batches to the same handler.

pub mod handler;

pub use handler::{Engine, StoreFanout};

//! The DynamoDB Streams consumer that fans tweets out into home timelines.
//!
//! - [`event`]: a stream record (Lambda event shape) decoded into a domain `TimelineEvent`,
//!   or recognised as one to skip.
//! - [`handler`]: one batch of records through the domain fan-out, with partial batch
//!   responses: the first transient failure stops the batch and names its record.
//! - [`poller`]: the local stand-in for the event source mapping: it reads DynamoDB Local's
//!   streams and hands the records, in the Lambda event shape, to the same handler.

pub mod event;
pub mod handler;
pub mod poller;

pub use handler::Engine;

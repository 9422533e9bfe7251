//! The timeline domain. It knows nothing of AWS, Redis or HTTP.
//!
//! - [`values`]: typed values that parse instead of validate (`UserId`, `Username`, `TweetText`, ...).
//! - [`user`], [`tweet`], [`follow`]: the entities the service stores.
//! - [`timeline`]: timeline entries, the cap and the paging rules shared by every store.
//! - [`limits`]: posting rate limits and idempotency keys.
//! - [`posting`]: posting a tweet (idempotency key, rate limit, write).
//! - [`ports`]: the storage traits the adapters implement, and their one error type.
//! - [`service`]: the use cases behind the routes that change state, and the domain error.
//! - [`home`]: reading a home timeline (cache, then durable timeline, then refill).
//! - [`truth`]: a home timeline recomputed from the source tables, and a stored copy's drift.
//! - [`bodies`]: the in-process cache of tweet bodies the home timeline reads first.
//! - [`fanout`]: what each posted or deleted tweet, follow or unfollow does to timelines.
//! - `fake` (tests, or feature `fake`): in-memory ports, for unit tests and benchmarks.

pub mod bodies;
pub mod fanout;
pub mod follow;
pub mod home;
pub mod limits;
pub mod ports;
pub mod posting;
pub mod service;
pub mod timeline;
pub mod truth;
pub mod tweet;
pub mod user;
pub mod values;

#[cfg(any(test, feature = "fake"))]
pub mod fake;

pub use follow::Follow;
pub use timeline::{Limit, Page, TIMELINE_CAP, TimelineEntry};
pub use tweet::{NewTweet, Tweet, TweetId};
pub use user::User;
pub use values::{DisplayName, Timestamp, TweetText, UserId, Username, ValidationError};

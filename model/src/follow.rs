//! Follow edges.

use serde::{Deserialize, Serialize};

use crate::values::{UserId, ValidationError};

/// `follower_id` follows `followee_id`. Stored once, read in both directions.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Follow {
    pub followee_id: UserId,
    pub follower_id: UserId,
}

impl Follow {
    /// An edge between two different users; following yourself is not a thing.
    pub fn new(follower_id: UserId, followee_id: UserId) -> Result<Self, ValidationError> {
        if follower_id == followee_id {
            return Err(ValidationError::new("target_id", "you cannot follow yourself"));
        }
        Ok(Self { followee_id, follower_id })
    }
}

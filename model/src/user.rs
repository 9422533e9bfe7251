//! A user's public profile.

use serde::{Deserialize, Serialize};

use crate::values::{DisplayName, Timestamp, UserId, Username};

/// A profile, as stored and as served (`followers_count` and `following_count` are kept exact by
/// the follow transaction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub user_id: UserId,
    pub username: Username,
    #[serde(default)]
    pub display_name: DisplayName,
    pub created_at: Timestamp,
    #[serde(default)]
    pub followers_count: u64,
    #[serde(default)]
    pub following_count: u64,
}

impl User {
    /// A new profile with no followers and following no one.
    pub fn new(user_id: UserId, username: Username, display_name: DisplayName) -> Self {
        Self {
            user_id,
            username,
            display_name,
            created_at: Timestamp::now(),
            followers_count: 0,
            following_count: 0,
        }
    }

    /// Whether this author has more followers than `fanout_threshold`: such an author's tweets
    /// are not fanned out but merged into readers' timelines at read time (hybrid fan-out).
    pub fn is_celebrity(&self, fanout_threshold: u64) -> bool {
        self.followers_count > fanout_threshold
    }
}

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
    /// Whether this author's tweets are merged into readers' timelines at read time instead of
    /// fanned out (hybrid fan-out). Set by the follows consumer when the author crosses the
    /// threshold, after every follower's list of merged authors agrees (see `fanout::crossing`);
    /// stored, never served.
    #[serde(default, skip_serializing)]
    pub merged_at_read: bool,
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
            merged_at_read: false,
        }
    }

    /// Whether this author's tweets should be merged in at read time rather than fanned out:
    /// once it has more followers than `fanout_threshold`, until it falls below 90% of it. The
    /// margin keeps one follow and unfollow at the threshold from moving every follower back
    /// and forth. Only the follows consumer asks, to notice a crossing; everything else follows
    /// [`Self::merged_at_read`], which changes once the readers' lists agree with it.
    pub fn should_merge_at_read(&self, fanout_threshold: u64) -> bool {
        // 90%, rounded down, without overflowing at u64::MAX.
        let bar = if self.merged_at_read {
            fanout_threshold / 10 * 9 + fanout_threshold % 10 * 9 / 10
        } else {
            fanout_threshold
        };
        self.followers_count > bar
    }
}

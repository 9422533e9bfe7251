//! A user's public profile.

use serde::{Deserialize, Serialize};

use crate::tweet::TweetId;
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
    /// When the author last became merged at read time; `None` while it is fanned out (and for
    /// authors merged before this was recorded). Stored, never served.
    #[serde(default, skip_serializing)]
    pub merged_since: Option<Timestamp>,
}

/// How long after an author becomes merged a new tweet of its may still have been fanned out:
/// the fan-out reads the author's mode with an eventually consistent read, on a clock that may
/// differ a little from the one that stamped the tweet. Generous on purpose: a tweet inside the
/// window only costs its delete a fan-out of no-ops.
const MODE_SETTLING_MS: u64 = 60_000;

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
            merged_since: None,
        }
    }

    /// Whether `tweet` of this author may sit in its followers' timelines, so that deleting it
    /// must be fanned out. Not for a tweet posted well after the author became merged: those
    /// only ever reached its own timeline and its recent list, and a celebrity's delete must not
    /// cost a million no-op deletes. Unknown (merged before `merged_since` was kept) means yes.
    pub fn may_have_fanned_out(&self, tweet: TweetId) -> bool {
        match (self.merged_at_read, self.merged_since) {
            (true, Some(since)) => tweet.created_at().unix_millis() < since.unix_millis() + MODE_SETTLING_MS,
            _ => true,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn author() -> User {
        let id = UserId::parse("star").unwrap();
        User::new(id, Username::parse("star").unwrap(), DisplayName::default())
    }

    #[test]
    fn only_a_tweet_posted_well_after_its_author_became_merged_was_never_fanned_out() {
        let tweet = TweetId::generate();
        let posted = tweet.created_at().unix_millis();
        let mut star = author();
        assert!(star.may_have_fanned_out(tweet), "fanned out");
        star.merged_at_read = true;
        assert!(star.may_have_fanned_out(tweet), "merged since a time not recorded");
        star.merged_since = Some(Timestamp::from_unix_millis(posted - MODE_SETTLING_MS + 1));
        assert!(star.may_have_fanned_out(tweet), "inside the settling window");
        star.merged_since = Some(Timestamp::from_unix_millis(posted - MODE_SETTLING_MS));
        assert!(!star.may_have_fanned_out(tweet));
    }
}

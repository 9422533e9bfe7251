//! Tweets and their time-ordered IDs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ulid::Ulid;

use crate::user::User;
use crate::values::{Timestamp, TweetText, UserId, Username, ValidationError};

/// A ULID: 26 Crockford base-32 characters whose string order is creation order, so "newest
/// first" is "largest ID first" in DynamoDB sort keys and in Redis lexicographic ranges alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TweetId(Ulid);

impl TweetId {
    /// A fresh ID stamped with the current time.
    pub fn generate() -> Self {
        Self(Ulid::generate())
    }

    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        // Only the canonical form: two spellings of one ID (lower case, or a first character
        // past '7', whose extra bits the decoder drops) would alias one tweet and sort apart.
        match Ulid::from_str(raw) {
            Ok(ulid) if ulid.to_string() == raw => Ok(Self(ulid)),
            _ => Err(ValidationError::new("tweet_id", "must be a ULID")),
        }
    }

    /// The creation time the ID carries.
    pub fn created_at(self) -> Timestamp {
        Timestamp::from_unix_millis(self.0.timestamp_ms())
    }
}

impl fmt::Display for TweetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for TweetId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Straight from a stack buffer: `collect_str` would go through `fmt` machinery, for
        // every ID of every page.
        let mut buffer = [0; ulid::ULID_LEN];
        serializer.serialize_str(self.0.array_to_str(&mut buffer))
    }
}

impl<'de> Deserialize<'de> for TweetId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Self::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// A stored tweet. Immutable once written: it is only ever created or deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tweet {
    pub tweet_id: TweetId,
    pub author_id: UserId,
    /// Copied from the author's profile at posting time (usernames do not change).
    pub author_username: Username,
    pub text: TweetText,
    pub created_at: Timestamp,
}

/// What a client asks to post, already parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTweet {
    pub text: TweetText,
}

impl Tweet {
    /// Stamp a new tweet by `author`; its creation time is the one inside its ID.
    pub fn compose(author: &User, new: NewTweet) -> Self {
        let tweet_id = TweetId::generate();
        Self {
            tweet_id,
            author_id: author.user_id.clone(),
            author_username: author.username.clone(),
            text: new.text,
            created_at: tweet_id.created_at(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_creation_time_as_strings() {
        let first = TweetId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = TweetId::generate();
        assert!(first.to_string() < second.to_string());
        assert!(first.created_at() < second.created_at());
    }

    #[test]
    fn only_canonical_ulids_parse() {
        let id = TweetId::generate();
        assert_eq!(TweetId::parse(&id.to_string()).unwrap(), id);
        assert!(TweetId::parse(&id.to_string().to_lowercase()).is_err());
        let overflowing = format!("8{}", &id.to_string()[1..]);
        assert!(TweetId::parse(&overflowing).is_err(), "an alias of another ID");
        assert!(TweetId::parse("not-a-ulid").is_err());
        assert!(TweetId::parse("").is_err());
    }
}

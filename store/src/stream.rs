//! Stream records of the tweets and follows tables, decoded into domain events. The attribute
//! names are the tables' own (see `dynamo::tables`), so they are known here, beside them.
//! Tweets are immutable, so only INSERT and REMOVE matter; a follow edge's keys are the edge.

use serde_dynamo::Item;
use timeline_model::fanout::TimelineEvent;
use timeline_model::{Follow, Tweet};

/// The key attribute that marks a record of the tweets table.
const TWEET_KEY: &str = "tweet_id";
/// The partition key that marks a record of the follows table.
const FOLLOW_KEY: &str = "followee_id";

/// What a record means for the timelines.
#[derive(Debug)]
pub enum Decoded {
    Event(TimelineEvent),
    /// Nothing to do (a MODIFY, which tweets and follows never see in normal operation).
    Ignore,
    /// Can never succeed: log it, count it, and move on so it cannot block the shard.
    Poison(String),
}

/// One stream record's parts, as both Lambda's event and the Streams API carry them.
pub struct Record<'a> {
    pub event_name: &'a str,
    pub keys: &'a Item,
    pub new_image: &'a Item,
    pub old_image: &'a Item,
}

pub fn decode(record: &Record<'_>) -> Decoded {
    let insert = match record.event_name {
        "INSERT" => true,
        "REMOVE" => false,
        "MODIFY" => return Decoded::Ignore,
        other => return Decoded::Poison(format!("unknown event name {other:?}")),
    };
    if record.keys.get(TWEET_KEY).is_some() {
        let image = if insert { record.new_image } else { record.old_image };
        return match serde_dynamo::from_item::<_, Tweet>(image.clone()) {
            Ok(tweet) if insert => Decoded::Event(TimelineEvent::TweetPosted(tweet)),
            Ok(tweet) => Decoded::Event(TimelineEvent::TweetDeleted {
                tweet_id: tweet.tweet_id,
                author_id: tweet.author_id,
            }),
            Err(error) => Decoded::Poison(format!("tweet image does not decode: {error}")),
        };
    }
    if record.keys.get(FOLLOW_KEY).is_some() {
        return match serde_dynamo::from_item::<_, Follow>(record.keys.clone()) {
            Ok(edge) if insert => Decoded::Event(TimelineEvent::Followed(edge)),
            Ok(edge) => Decoded::Event(TimelineEvent::Unfollowed(edge)),
            Err(error) => Decoded::Poison(format!("follow keys do not decode: {error}")),
        };
    }
    Decoded::Poison("record is neither a tweet nor a follow".into())
}

//! Stream records decoded into domain events. Tweets are immutable, so only INSERT and REMOVE
//! matter; a follow edge's keys are the whole edge.

use aws_lambda_events::dynamodb::EventRecord;
use timeline_model::fanout::TimelineEvent;
use timeline_model::{Follow, Tweet};

/// What a record means for the timelines.
#[derive(Debug)]
pub enum Decoded {
    Event(TimelineEvent),
    /// Nothing to do (a MODIFY, which tweets and follows never see in normal operation).
    Ignore,
    /// Can never succeed: log it, count it, and move on so it cannot block the shard.
    Poison(String),
}

pub fn decode(record: &EventRecord) -> Decoded {
    let keys = &record.change.keys;
    let insert = match record.event_name.as_str() {
        "INSERT" => true,
        "REMOVE" => false,
        "MODIFY" => return Decoded::Ignore,
        other => return Decoded::Poison(format!("unknown event name {other:?}")),
    };
    if keys.get("tweet_id").is_some() {
        let image = if insert { &record.change.new_image } else { &record.change.old_image };
        return match serde_dynamo::from_item::<_, Tweet>(image.clone()) {
            Ok(tweet) if insert => Decoded::Event(TimelineEvent::TweetPosted(tweet)),
            Ok(tweet) => Decoded::Event(TimelineEvent::TweetDeleted {
                tweet_id: tweet.tweet_id,
                author_id: tweet.author_id,
            }),
            Err(error) => Decoded::Poison(format!("tweet image does not decode: {error}")),
        };
    }
    if keys.get("followee_id").is_some() {
        return match serde_dynamo::from_item::<_, Follow>(keys.clone()) {
            Ok(edge) if insert => Decoded::Event(TimelineEvent::Followed(edge)),
            Ok(edge) => Decoded::Event(TimelineEvent::Unfollowed(edge)),
            Err(error) => Decoded::Poison(format!("follow keys do not decode: {error}")),
        };
    }
    Decoded::Poison("record is neither a tweet nor a follow".into())
}

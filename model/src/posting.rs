//! Posting a tweet: the caller's profile, the idempotency key, the rate limit, then the write.
//! The stream fans the stored tweet out from there.

use std::time::Duration;

use crate::limits::{IdempotencyKey, RateLimit};
use crate::ports::{Admission, IdempotencyKeys, IdempotentPost, RateLimiter, Tweets, Users};
use crate::service::{DomainError, DomainResult, Missing};
use crate::tweet::{NewTweet, Tweet};
use crate::user::User;
use crate::values::{Timestamp, UserId};

/// How long an idempotency key is honoured.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

/// The ports a post goes through, and the posting limit (`None`: unlimited).
pub struct Poster<'a, U, T, K, R> {
    pub users: &'a U,
    pub tweets: &'a T,
    pub keys: &'a K,
    pub limiter: &'a R,
    pub limit: Option<RateLimit>,
}

impl<U: Users, T: Tweets, K: IdempotencyKeys, R: RateLimiter> Poster<'_, U, T, K, R> {
    /// Post `new` as `author`. Under an idempotency key, a retry with the same text returns the
    /// first tweet and posts nothing new (even when the two race); another text is a conflict.
    ///
    /// The lookups a post needs do not depend on each other, so they go out together: the
    /// profile with the rate limit, or, under a key, the profile with the key (the limit waits
    /// for the key, because a replay must not count against it).
    pub async fn post(
        &self,
        author: &UserId,
        new: NewTweet,
        key: Option<&IdempotencyKey>,
    ) -> DomainResult<Tweet> {
        let Some(key) = key else {
            // Both answers awaited, then the profile checked first: a caller without one gets 404
            // whatever the limiter said.
            let (profile, admitted) = futures::future::join(self.profile(author), self.admit(author)).await;
            let profile = profile?;
            admitted?;
            let tweet = Tweet::compose(&profile, new);
            self.tweets.create(&tweet).await?;
            return Ok(tweet);
        };
        let earlier = async { Ok(self.keys.get(author, key).await?) };
        let (profile, earlier) = futures::future::try_join(self.profile(author), earlier).await?;
        if let Some(earlier) = earlier {
            return self.replay(author, key, earlier, &new).await;
        }
        self.admit(author).await?;
        let tweet = Tweet::compose(&profile, new);
        let expires_at =
            Timestamp::from_unix_millis(Timestamp::now().unix_millis() + IDEMPOTENCY_TTL.as_millis() as u64);
        let claim = IdempotentPost { tweet, completed: false, expires_at };
        let new = NewTweet { text: claim.tweet.text.clone() };
        match self.keys.claim(author, key, &claim).await? {
            // Another request with this key got there first: answer as it does.
            Some(earlier) => self.replay(author, key, earlier, &new).await,
            None => self.finish(author, key, claim.tweet).await,
        }
    }

    /// The author's profile: a post needs its username and display name.
    async fn profile(&self, author: &UserId) -> DomainResult<User> {
        self.users.get(author).await?.ok_or(DomainError::NotFound(Missing::CallerProfile))
    }

    /// Answer a repeated key: the same tweet for the same text, a conflict for another.
    async fn replay(
        &self,
        author: &UserId,
        key: &IdempotencyKey,
        earlier: IdempotentPost,
        new: &NewTweet,
    ) -> DomainResult<Tweet> {
        if earlier.tweet.text != new.text {
            return Err(DomainError::Conflict("this Idempotency-Key was used with another body"));
        }
        if earlier.completed {
            return Ok(earlier.tweet);
        }
        self.finish(author, key, earlier.tweet).await
    }

    /// Store the claimed tweet (a conditional put: twice is once) and mark the key done.
    async fn finish(&self, author: &UserId, key: &IdempotencyKey, tweet: Tweet) -> DomainResult<Tweet> {
        self.tweets.create(&tweet).await?;
        self.keys.complete(author, key).await?;
        Ok(tweet)
    }

    /// Refuse a post over the limit. A limiter that cannot be asked lets the post through:
    /// losing the limit for a while beats refusing every post while the cache is down.
    async fn admit(&self, author: &UserId) -> DomainResult<()> {
        let Some(limit) = &self.limit else { return Ok(()) };
        match self.limiter.admit(author, limit).await {
            Ok(Admission::Allowed) => Ok(()),
            Ok(Admission::Refused { retry_after }) => Err(DomainError::RateLimited {
                retry_after_secs: retry_after.as_secs_f64().ceil().max(1.0) as u64,
            }),
            Err(error) => {
                tracing::warn!(%error, "rate limiter unavailable; admitting the post");
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::Memory;
    use crate::service;
    use crate::values::{DisplayName, TweetText, Username};

    async fn setup() -> (Memory, UserId) {
        let memory = Memory::default();
        let ann = UserId::parse("ann").unwrap();
        service::create_profile(
            &memory,
            ann.clone(),
            Username::parse("ann").unwrap(),
            DisplayName::default(),
        )
        .await
        .unwrap();
        (memory, ann)
    }

    fn text(raw: &str) -> NewTweet {
        NewTweet { text: TweetText::parse(raw).unwrap() }
    }

    #[tokio::test]
    async fn a_repeated_key_returns_the_first_tweet_and_another_body_conflicts() {
        let (memory, ann) = setup().await;
        let poster = Poster { users: &memory, tweets: &memory, keys: &memory, limiter: &memory, limit: None };
        let key = IdempotencyKey::parse("k1").unwrap();
        let first = poster.post(&ann, text("hello"), Some(&key)).await.unwrap();
        let again = poster.post(&ann, text("hello"), Some(&key)).await.unwrap();
        assert_eq!(first, again);
        let other = poster.post(&ann, text("other"), Some(&key)).await;
        assert!(matches!(other, Err(DomainError::Conflict(_))));
    }

    #[tokio::test]
    async fn posts_over_the_limit_are_refused_with_a_retry_time() {
        let (memory, ann) = setup().await;
        let limit = RateLimit { max: 2, window: Duration::from_secs(60) };
        let poster =
            Poster { users: &memory, tweets: &memory, keys: &memory, limiter: &memory, limit: Some(limit) };
        poster.post(&ann, text("1"), None).await.unwrap();
        poster.post(&ann, text("2"), None).await.unwrap();
        let third = poster.post(&ann, text("3"), None).await;
        assert!(matches!(third, Err(DomainError::RateLimited { retry_after_secs: 60 })));
    }
}

//! The use cases behind the REST routes that change state, written against the ports.

use std::fmt;

use futures::future::join;

use crate::follow::Follow;
use crate::ports::{CreateProfile, EdgeChange, Follows, StoreError, Tweets, Users};
use crate::timeline::{Limit, Page};
use crate::tweet::{Tweet, TweetId};
use crate::user::User;
use crate::values::{DisplayName, UserId, Username, ValidationError};

/// What a request can be refused for; the one error type of the domain layer.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    #[error("{0} not found")]
    NotFound(Missing),
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    #[error("posting too fast; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Which thing a `NotFound` is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    User,
    /// The caller has a token but no profile yet.
    CallerProfile,
    Tweet,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Missing::User => "user",
            Missing::CallerProfile => "your profile (create it with POST /users first)",
            Missing::Tweet => "tweet",
        })
    }
}

pub type DomainResult<T> = Result<T, DomainError>;

/// Create the caller's profile under a unique username.
pub async fn create_profile(
    users: &impl Users,
    caller: UserId,
    username: Username,
    display_name: DisplayName,
) -> DomainResult<User> {
    let user = User::new(caller, username, display_name);
    match users.create(&user).await? {
        CreateProfile::Created => Ok(user),
        CreateProfile::ProfileExists => Err(DomainError::Conflict("you already have a profile")),
        CreateProfile::UsernameTaken => Err(DomainError::Conflict("that username is taken")),
    }
}

/// A profile by ID, or `NotFound`.
pub async fn profile(users: &impl Users, id: &UserId) -> DomainResult<User> {
    users.get(id).await?.ok_or(DomainError::NotFound(Missing::User))
}

/// Following or unfollowing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowAction {
    Follow,
    Unfollow,
}

/// `follower` follows or unfollows `followee`; doing it twice changes nothing.
pub async fn change_follow(
    users: &impl Users,
    follows: &impl Follows,
    follower: UserId,
    followee: UserId,
    action: FollowAction,
) -> DomainResult<EdgeChange> {
    let edge = Follow::new(follower, followee)?;
    ensure_both_exist(users, &edge).await?;
    Ok(match action {
        FollowAction::Follow => follows.follow(&edge).await?,
        FollowAction::Unfollow => follows.unfollow(&edge).await?,
    })
}

async fn ensure_both_exist(users: &impl Users, edge: &Follow) -> DomainResult<()> {
    let (follower, followee) = join(users.get(&edge.follower_id), users.get(&edge.followee_id)).await;
    follower?.ok_or(DomainError::NotFound(Missing::CallerProfile))?;
    followee?.ok_or(DomainError::NotFound(Missing::User))?;
    Ok(())
}

/// A tweet by ID, or `NotFound` (deleted tweets included).
pub async fn tweet(tweets: &impl Tweets, id: &TweetId) -> DomainResult<Tweet> {
    tweets.get(id).await?.ok_or(DomainError::NotFound(Missing::Tweet))
}

/// Delete a tweet; only its author may. The stream takes it out of every timeline.
pub async fn delete_tweet(tweets: &impl Tweets, caller: &UserId, id: &TweetId) -> DomainResult<()> {
    let found = tweet(tweets, id).await?;
    if &found.author_id != caller {
        return Err(DomainError::Forbidden("only the author may delete a tweet"));
    }
    Ok(tweets.delete(id).await?)
}

/// Which way a follow listing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Followers,
    Following,
}

/// One page of a user's followers (or of whom they follow), in ID order, after `after`.
pub async fn follow_list(
    users: &impl Users,
    follows: &impl Follows,
    user: &UserId,
    direction: Direction,
    after: Option<UserId>,
    limit: Limit,
) -> DomainResult<Page<User>> {
    profile(users, user).await?;
    let want = limit.get() + 1;
    let ids = match direction {
        Direction::Followers => follows.followers(user, after.as_ref(), want).await?,
        Direction::Following => follows.following(user, after.as_ref(), want).await?,
    };
    let page = Page::from_overfetch(ids, limit, UserId::to_string);
    let found = users.get_many(&page.items).await?;
    Ok(Page { items: found, next: page.next })
}

/// One page of an author's own tweets, newest first, older than `before`.
pub async fn author_tweets(
    users: &impl Users,
    tweets: &impl Tweets,
    author: &UserId,
    before: Option<TweetId>,
    limit: Limit,
) -> DomainResult<Page<Tweet>> {
    profile(users, author).await?;
    let found = tweets.by_author(author, before.as_ref(), limit.get() + 1).await?;
    Ok(Page::from_overfetch(found, limit, |t| t.tweet_id.to_string()))
}

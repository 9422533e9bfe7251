//! Tweet bodies cached in the process, in front of the Redis copy and the tweets table.
//!
//! A body never changes once written (a tweet is only created or deleted), so a cached copy is
//! never stale; it may outlive its tweet, but it is only ever looked up for an ID a home
//! timeline (Redis or durable) or an author's recent list hands out, and a delete takes the ID
//! out of those. So a deleted tweet is not served from here once its delete has fanned out,
//! exactly as before this cache.

use std::sync::Arc;

use crate::tweet::{Tweet, TweetId};

/// Bytes a cached body costs besides its strings: the entry, the key and moka's bookkeeping
/// (an estimate; the bound is on memory, so it errs high).
const ENTRY_OVERHEAD: usize = 160;

/// The default size: about 100,000 bodies, a fifth of a 128 MB Lambda's memory.
pub const DEFAULT_CAPACITY_BYTES: u64 = 32 * 1024 * 1024;

/// A bounded cache of bodies, shared by every request of the process. Cheap to clone.
#[derive(Clone)]
pub struct Bodies(moka::sync::Cache<TweetId, Arc<Tweet>>);

impl Default for Bodies {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY_BYTES)
    }
}

impl Bodies {
    /// A cache holding about `bytes` of bodies, least recently used out first.
    pub fn with_capacity(bytes: u64) -> Self {
        let cache = moka::sync::Cache::builder()
            .max_capacity(bytes)
            .weigher(|_, tweet: &Arc<Tweet>| u32::try_from(weight(tweet)).unwrap_or(u32::MAX))
            .build();
        Self(cache)
    }

    pub fn get(&self, id: &TweetId) -> Option<Arc<Tweet>> {
        self.0.get(id)
    }

    pub fn insert(&self, tweet: Arc<Tweet>) {
        self.0.insert(tweet.tweet_id, tweet);
    }

    /// Drop a body this process saw deleted (other processes keep theirs: see the module doc).
    pub fn forget(&self, id: &TweetId) {
        self.0.invalidate(id);
    }
}

fn weight(tweet: &Tweet) -> usize {
    ENTRY_OVERHEAD
        + tweet.text.as_str().len()
        + tweet.author_id.as_str().len()
        + tweet.author_username.as_str().len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tweet::NewTweet;
    use crate::user::User;
    use crate::values::{DisplayName, TweetText, UserId, Username};

    fn tweet(text: &str) -> Tweet {
        let ann =
            User::new(UserId::parse("ann").unwrap(), Username::parse("ann").unwrap(), DisplayName::default());
        Tweet::compose(&ann, NewTweet { text: TweetText::parse(text).unwrap() })
    }

    #[test]
    fn a_body_comes_back_until_forgotten() {
        let bodies = Bodies::with_capacity(1 << 20);
        let hello = tweet("hello");
        bodies.insert(Arc::new(hello.clone()));
        assert_eq!(bodies.get(&hello.tweet_id).as_deref(), Some(&hello));
        bodies.forget(&hello.tweet_id);
        assert_eq!(bodies.get(&hello.tweet_id), None);
    }

    #[test]
    fn the_cache_keeps_to_its_size() {
        let bodies = Bodies::with_capacity(100 * ENTRY_OVERHEAD as u64);
        for n in 0..1000 {
            bodies.insert(Arc::new(tweet(&format!("tweet {n}"))));
        }
        bodies.0.run_pending_tasks();
        assert!(
            bodies.0.weighted_size() <= 100 * ENTRY_OVERHEAD as u64 + 1000,
            "{}",
            bodies.0.weighted_size()
        );
    }
}

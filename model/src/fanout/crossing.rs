//! An author crossing the fan-out threshold, either way.
//!
//! Whether an author is fanned out or merged in at read time is [`User::merged_at_read`], and
//! every reader lists the merged authors it follows (the follows consumer keeps the lists). A
//! crossing is noticed on a follow or unfollow of the author:
//! - up: the author's recent list is filled from its index, every follower lists the author,
//!   then the mode flips. Tweets posted meanwhile are still fanned out, and reads merge them in
//!   twice at worst (the merge keeps one of each). A crash at any step is finished by the
//!   record's retry (the mode has not flipped yet, and every step is idempotent). The cost is
//!   about one fan-out of the author's followers.
//! - down: only the mode flips: new tweets are fanned out, and the followers keep listing the
//!   author, so the tweets it posted while merged keep coming from its recent list, which
//!   stays complete for them. Copying those into every follower's timeline instead would cost
//!   a follow backfill per follower (2 million entries at the default threshold, longer than a
//!   Lambda may run); a follower stops listing the author when it unfollows, and a rebuild
//!   drops a listing that is no longer needed.
//!
//! The margin in [`User::should_merge_at_read`] keeps a follow and an unfollow at the
//! threshold from paying an up-crossing each time.

use super::Fanout;
use crate::follow::Follow;
use crate::ports::{Follows, StoreResult, TimelineCache, TimelineStore, Tweets, Users};
use crate::timeline::TIMELINE_CAP;
use crate::user::User;
use crate::values::{Timestamp, UserId};

impl<F: Follows, T: Tweets, S: TimelineStore, C: TimelineCache, U: Users> Fanout<'_, F, T, S, C, U> {
    /// Bring `author`'s mode in line with its follower count, if a follow or unfollow moved it
    /// across the threshold.
    pub(super) async fn settle(&self, author: &User) -> StoreResult<()> {
        let merge = author.should_merge_at_read(self.fanout_threshold);
        if merge == author.merged_at_read {
            return Ok(());
        }
        let id = &author.user_id;
        tracing::info!(author = %id, followers = author.followers_count, merge, "author crosses the fan-out threshold");
        if merge {
            let newest = self.tweets.by_author(id, None, TIMELINE_CAP).await?;
            let ids: Vec<_> = newest.iter().map(|t| t.tweet_id).collect();
            self.to_cache(self.cache.fill_recent(id, &ids), |stale| super::recent_list(stale, id)).await;
            self.each_follower_page(id, |page| self.merge_in_followers(id, page)).await?;
        }
        self.users.set_merged_since(id, merge.then(Timestamp::now)).await
    }

    async fn merge_in_followers(&self, author: &UserId, followers: Vec<UserId>) -> StoreResult<()> {
        self.merge_in(&edges_to(author, followers)).await
    }

    /// Run `step` on each page of the author's followers, in order.
    async fn each_follower_page<Step: Future<Output = StoreResult<()>>>(
        &self,
        author: &UserId,
        mut step: impl FnMut(Vec<UserId>) -> Step,
    ) -> StoreResult<()> {
        let mut after: Option<UserId> = None;
        loop {
            let page = self.follows.followers(author, after.as_ref(), self.page_size).await?;
            let last_page = page.len() < self.page_size;
            after = page.last().cloned();
            step(page).await?;
            if last_page {
                return Ok(());
            }
        }
    }
}

/// The edges (follower, author) of `followers`.
fn edges_to(author: &UserId, followers: Vec<UserId>) -> Vec<Follow> {
    followers
        .into_iter()
        .map(|follower| Follow { follower_id: follower, followee_id: author.clone() })
        .collect()
}

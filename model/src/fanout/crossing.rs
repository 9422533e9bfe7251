//! An author crossing the fan-out threshold, either way.
//!
//! Whether an author is fanned out or merged in at read time is [`User::merged_at_read`], and
//! every reader lists the merged authors it follows (the follows consumer keeps the lists). So
//! a crossing, noticed on a follow or unfollow of the author, moves every follower over, in an
//! order that never hides a tweet and survives a crash at any step (the record is retried and
//! each step is idempotent):
//! - up: the author's recent list is filled, every follower lists the author, then the mode
//!   flips: tweets posted meanwhile are still fanned out, and reads merge them in twice at worst
//!   (the merge keeps one of each);
//! - down: the mode flips first (new tweets are fanned out), then each follower gets the
//!   author's newest tweets copied in, as a follow does, before it stops listing the author. A
//!   crash midway leaves some followers listing an author that is fanned out: their reads stay
//!   complete (the author's tweets come from its index), only slower, until a rebuild.
//!
//! The cost is one fan-out of the author's followers (up), or a follow backfill per follower
//! (down); the margin in [`User::should_merge_at_read`] keeps a follow and unfollow at the
//! threshold from paying it back and forth.

use super::{Fanout, Write, backfill};
use crate::follow::Follow;
use crate::ports::{Follows, StoreResult, TimelineCache, TimelineStore, Tweets, Users};
use crate::timeline::{FOLLOW_BACKFILL, TIMELINE_CAP};
use crate::tweet::Tweet;
use crate::user::User;
use crate::values::UserId;

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
            self.cache.fill_recent(id, &ids).await?;
            self.each_follower_page(id, |page| self.merge_in_followers(id, page)).await?;
            self.users.set_merged_at_read(id, true).await
        } else {
            self.users.set_merged_at_read(id, false).await?;
            let recent = self.tweets.by_author(id, None, FOLLOW_BACKFILL).await?;
            self.each_follower_page(id, |page| self.fan_out_to_followers(id, &recent, page)).await
        }
    }

    async fn merge_in_followers(&self, author: &UserId, followers: Vec<UserId>) -> StoreResult<()> {
        self.merge_in(&edges_to(author, followers)).await
    }

    /// Copy the author's `recent` tweets into the followers' timelines, then stop listing it.
    async fn fan_out_to_followers(
        &self,
        author: &UserId,
        recent: &[Tweet],
        followers: Vec<UserId>,
    ) -> StoreResult<()> {
        self.write(Write::Insert, &backfill(&followers, recent)).await?;
        self.merge_out(&edges_to(author, followers)).await
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

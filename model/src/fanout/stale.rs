//! Cached copies a cache outage left behind.
//!
//! The durable timelines are the truth and the cache is a copy, so a fan-out does not wait for
//! the cache: when a cache write fails (Redis down, a failover, a time-out), the change stands
//! durably and the copies the write would have touched are noted as stale instead of failing
//! the record. A failed record would stop its shard, and with it the durable timelines that
//! reads fall back to during the outage. The notes are stored durably before the batch is
//! acknowledged ([`TimelineStore::note_stale`]), and [`repair`] drops each noted copy once the
//! cache answers again: the next read rebuilds it from the durable timeline, which holds every
//! change. Dropping is always safe (a read rebuilds), so a note repaired twice, or a copy
//! dropped that had not missed anything, costs one rebuild and nothing else.

use std::collections::BTreeSet;
use std::sync::{Mutex, PoisonError};

use crate::ports::{StoreResult, TimelineCache, TimelineStore};
use crate::values::UserId;

/// Cached copies that may have missed a change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stale {
    /// Owners whose cached home timeline (entries and merged authors) may lack a change.
    pub timelines: BTreeSet<UserId>,
    /// Merged authors whose recent list may lack a tweet or hold a deleted one.
    pub recent_lists: BTreeSet<UserId>,
}

impl Stale {
    pub fn is_empty(&self) -> bool {
        self.timelines.is_empty() && self.recent_lists.is_empty()
    }

    /// How many copies it names.
    pub fn len(&self) -> usize {
        self.timelines.len() + self.recent_lists.len()
    }
}

/// A stored note of stale copies, as [`TimelineStore::stale_notes`] returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleNote {
    /// The store's key of the note, for [`TimelineStore::clear_stale`].
    pub key: String,
    pub stale: Stale,
}

/// The stale copies noted while one batch is applied (shared by its concurrent fan-outs).
#[derive(Debug, Default)]
pub struct StaleCaches(Mutex<Stale>);

impl StaleCaches {
    pub fn note(&self, add: impl FnOnce(&mut Stale)) {
        add(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }

    /// Store what was noted so far, if anything, and start afresh; returns the copies noted.
    /// Called before a batch is acknowledged: a batch whose notes could not be stored is
    /// applied again, and notes its copies again.
    pub async fn store<S: TimelineStore>(&self, store: &S) -> StoreResult<usize> {
        let stale = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        if !stale.is_empty() {
            store.note_stale(&stale).await?;
        }
        Ok(stale.len())
    }
}

/// Notes read and repaired per call.
const NOTES_PER_REPAIR: usize = 25;

/// Drop the cached copies named by stored notes, then clear the notes; the copies named by
/// notes written meanwhile wait for the next call. Returns the copies dropped. Fails, leaving
/// the notes for later, while the cache is still unreachable.
pub async fn repair<S: TimelineStore, C: TimelineCache>(store: &S, cache: &C) -> StoreResult<usize> {
    let mut dropped = 0;
    for note in store.stale_notes(NOTES_PER_REPAIR).await? {
        let timelines: Vec<UserId> = note.stale.timelines.iter().cloned().collect();
        let recent_lists: Vec<UserId> = note.stale.recent_lists.iter().cloned().collect();
        futures::future::try_join(cache.evict(&timelines), cache.forget_recent(&recent_lists)).await?;
        store.clear_stale(&note).await?;
        dropped += note.stale.len();
    }
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::fake::{fanout, id, post, world};
    use crate::fanout::TimelineEvent;
    use crate::follow::Follow;
    use crate::ports::{Follows, Users};

    #[tokio::test]
    async fn with_the_cache_down_a_post_reaches_the_durable_timelines_and_the_copies_it_missed_are_dropped_once_it_is_back()
     {
        let memory = world(&["ann", "bob"]).await;
        memory.follow(&Follow::new(id("bob"), id("ann")).unwrap()).await.unwrap();
        memory.begin_fill(&id("bob")).await.unwrap();
        let tweet = post(&memory, "ann", "during the outage").await;

        memory.cache_down.store(true, Ordering::Relaxed);
        fanout(&memory).apply(&TimelineEvent::TweetPosted(tweet.clone())).await.expect("the change stands");
        assert_eq!(memory.durable_timeline(&id("bob")), [tweet.tweet_id]);
        assert_eq!(memory.stale.store(&memory).await.unwrap(), 2, "ann's and bob's timelines");
        assert!(repair(&memory, &memory).await.is_err(), "the cache is still down: the note waits");
        assert_eq!(memory.stale_notes.lock().unwrap().len(), 1);

        memory.cache_down.store(false, Ordering::Relaxed);
        assert_eq!(repair(&memory, &memory).await.unwrap(), 2);
        assert!(
            !memory.cached.lock().unwrap().contains_key(&id("bob")),
            "dropped: the next read rebuilds it"
        );
        assert!(memory.stale_notes.lock().unwrap().is_empty());
        assert_eq!(memory.stale.store(&memory).await.unwrap(), 0, "nothing noted, nothing stored");
        assert!(memory.stale_notes.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_merged_authors_post_with_the_cache_down_notes_its_recent_list() {
        let memory = world(&["cat"]).await;
        memory.cache_down.store(true, Ordering::Relaxed);
        let tweet = post(&memory, "cat", "hi").await;
        let merged = crate::fake::fanout_with_threshold(&memory, 0);
        memory.set_merged_since(&id("cat"), Some(crate::Timestamp::now())).await.unwrap();
        merged.apply(&TimelineEvent::TweetPosted(tweet)).await.unwrap();
        let noted = memory.stale.0.lock().unwrap().clone();
        assert_eq!(noted.recent_lists, BTreeSet::from([id("cat")]));
        assert_eq!(noted.timelines, BTreeSet::from([id("cat")]));
    }
}

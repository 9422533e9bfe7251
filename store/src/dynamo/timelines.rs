//! The durable home timelines: one item per (owner, tweet), written in batches by the fan-out,
//! and in the same partition one item per merged author the owner follows (sort key
//! `~m#<author>`): `~` sorts after every ULID, so a newest-first query of the partition meets
//! them first, and one query gives a rebuild both.

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use timeline_model::fanout::stale::{Stale, StaleNote};
use timeline_model::ports::{DurableHome, StoreResult, TimelineStore};
use timeline_model::{Follow, TimelineEntry, Timestamp, TweetId, UserId};

use std::time::Duration;

use serde::Serialize;

use super::Dynamo;
use super::batch::{Item, write_all};
use super::errors::{classify, corrupt, has_code};
use super::requests::{from_item, from_items, query_counting, query_up_to, to_item};

/// How long a durable entry lives: DynamoDB's TTL deletes it for free afterwards. It bounds the
/// timelines of readers who never come back; active readers' timelines are trimmed to the cap
/// by the fan-out once per `TRIM_STEP` entries their cached copies take, and by a rebuild.
/// Trimming every timeline on every write would cost a query per follower per tweet.
pub const ENTRY_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

/// A timeline entry as stored: the entry and its expiry (epoch seconds, the TTL attribute).
#[derive(Serialize)]
struct EntryItem<'a> {
    #[serde(flatten)]
    entry: &'a TimelineEntry,
    expires_at: i64,
}

/// The sort key prefix of merged-author items; above every ULID.
const MERGED_PREFIX: &str = "~m#";

/// The sort key bound below which only entries lie.
const ENTRIES_BELOW: &str = "~";

fn entry_key(entry: &TimelineEntry) -> Item {
    timeline_key(&entry.owner_id, entry.tweet_id.to_string())
}

fn timeline_key(owner: &UserId, sort_key: String) -> Item {
    Item::from([
        ("owner_id".to_owned(), AttributeValue::S(owner.to_string())),
        ("tweet_id".to_owned(), AttributeValue::S(sort_key)),
    ])
}

/// The item recording that `edge`'s follower merges its followee in at read time.
fn merged_key(edge: &Follow) -> Item {
    timeline_key(&edge.follower_id, format!("{MERGED_PREFIX}{}", edge.followee_id))
}

/// The merged author an item names, if it is a merged-author item.
fn merged_author(item: &Item) -> Option<StoreResult<UserId>> {
    let Some(AttributeValue::S(sort_key)) = item.get("tweet_id") else {
        return None;
    };
    let author = sort_key.strip_prefix(MERGED_PREFIX)?;
    Some(UserId::parse(author).map_err(|e| corrupt("merged author", e)))
}

fn delete_request(key: Item) -> WriteRequest {
    let delete = DeleteRequest::builder().set_key(Some(key)).build().expect("key is set");
    WriteRequest::builder().delete_request(delete).build()
}

impl Dynamo {
    fn owner_query(
        &self,
        owner: &UserId,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        // Strongly consistent: a cache rebuild must see every entry written before it began
        // (see `TimelineCache::begin_fill`).
        self.client
            .query()
            .table_name(&self.tables.timelines)
            .consistent_read(true)
            .key_condition_expression("owner_id = :owner")
            .expression_attribute_values(":owner", AttributeValue::S(owner.to_string()))
    }
}

impl TimelineStore for Dynamo {
    /// On the reader's profile (`seen_at`, Unix milliseconds), which a Scan of the small users
    /// table can filter by; a reader without a profile gets none.
    async fn mark_seen(&self, owner: &UserId, at: Timestamp) -> StoreResult<()> {
        let stamped = self
            .client
            .update_item()
            .table_name(&self.tables.users)
            .set_key(Some(super::users::user_key(owner)))
            .update_expression("SET seen_at = :at")
            .condition_expression("attribute_exists(user_id)")
            .expression_attribute_values(":at", AttributeValue::N(at.unix_millis().to_string()))
            .send()
            .await;
        match stamped {
            Err(error) if has_code(&error, "ConditionalCheckFailedException") => Ok(()),
            other => other.map(drop).map_err(classify),
        }
    }

    async fn insert(&self, entries: &[TimelineEntry]) -> StoreResult<()> {
        let requests = entries
            .iter()
            .map(|entry| {
                let expires_at = entry.tweet_id.created_at().unix_seconds() + ENTRY_TTL.as_secs() as i64;
                let item = to_item("timeline entry", &EntryItem { entry, expires_at })?;
                let put = PutRequest::builder().set_item(Some(item)).build().expect("item is set");
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<StoreResult<Vec<_>>>()?;
        write_all(&self.client, &self.tables.timelines, requests).await
    }

    async fn remove(&self, entries: &[TimelineEntry]) -> StoreResult<()> {
        let requests = entries.iter().map(|entry| delete_request(entry_key(entry))).collect();
        write_all(&self.client, &self.tables.timelines, requests).await
    }

    async fn newest(
        &self,
        owner: &UserId,
        before: Option<&TweetId>,
        limit: usize,
    ) -> StoreResult<Vec<TimelineEntry>> {
        let below = before.map_or_else(|| ENTRIES_BELOW.to_owned(), TweetId::to_string);
        let query = self
            .owner_query(owner)
            .key_condition_expression("owner_id = :owner AND tweet_id < :below")
            .expression_attribute_values(":below", AttributeValue::S(below))
            .scan_index_forward(false);
        from_items("timeline entry", query_up_to(query, limit).await?)
    }

    async fn home(&self, owner: &UserId, limit: usize) -> StoreResult<DurableHome> {
        let query = self.owner_query(owner).scan_index_forward(false);
        let items = query_counting(query, limit, |item| merged_author(item).is_none()).await?;
        let mut home = DurableHome::default();
        for item in items {
            match merged_author(&item) {
                Some(author) => home.merged_authors.push(author?),
                None => home.entries.push(from_item("timeline entry", item)?),
            }
        }
        Ok(home)
    }

    async fn merged_authors(&self, owner: &UserId) -> StoreResult<Vec<UserId>> {
        let query = self
            .owner_query(owner)
            .key_condition_expression("owner_id = :owner AND begins_with(tweet_id, :merged)")
            .expression_attribute_values(":merged", AttributeValue::S(MERGED_PREFIX.to_owned()));
        let items = query_up_to(query, usize::MAX).await?;
        items.iter().filter_map(merged_author).collect()
    }

    async fn insert_merged(&self, edges: &[Follow]) -> StoreResult<()> {
        let requests = edges
            .iter()
            .map(|edge| {
                let put =
                    PutRequest::builder().set_item(Some(merged_key(edge))).build().expect("item is set");
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        write_all(&self.client, &self.tables.timelines, requests).await
    }

    async fn remove_merged(&self, edges: &[Follow]) -> StoreResult<()> {
        let requests = edges.iter().map(|edge| delete_request(merged_key(edge))).collect();
        write_all(&self.client, &self.tables.timelines, requests).await
    }

    async fn by_author(&self, owner: &UserId, author: &UserId) -> StoreResult<Vec<TimelineEntry>> {
        let query = self
            .owner_query(owner)
            .filter_expression("author_id = :author")
            .expression_attribute_values(":author", AttributeValue::S(author.to_string()));
        let items = query_up_to(query, usize::MAX).await?;
        from_items("timeline entry", items)
    }

    async fn note_stale(&self, stale: &Stale) -> StoreResult<()> {
        self.write_stale_notes(stale).await
    }

    async fn stale_notes(&self, limit: usize) -> StoreResult<Vec<StaleNote>> {
        self.oldest_stale_notes(limit).await
    }

    async fn clear_stale(&self, note: &StaleNote) -> StoreResult<()> {
        self.delete_stale_note(note).await
    }
}

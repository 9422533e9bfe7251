//! The durable home timelines: one item per (owner, tweet), written in batches by the fan-out.

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};
use timeline_model::ports::{StoreResult, TimelineStore};
use timeline_model::{TimelineEntry, UserId};

use std::time::Duration;

use serde::Serialize;

use super::Dynamo;
use super::batch::{Item, write_all};
use super::requests::{from_items, query_up_to, to_item};

/// How long a durable entry lives: DynamoDB's TTL deletes it for free afterwards. It bounds the
/// timelines of readers who never come back (active readers' timelines are also trimmed to the
/// cap when the cache is rebuilt); trimming on every fan-out write would cost a query per
/// follower per tweet.
pub const ENTRY_TTL: Duration = Duration::from_secs(90 * 24 * 3600);

/// A timeline entry as stored: the entry and its expiry (epoch seconds, the TTL attribute).
#[derive(Serialize)]
struct EntryItem<'a> {
    #[serde(flatten)]
    entry: &'a TimelineEntry,
    expires_at: i64,
}

fn entry_key(entry: &TimelineEntry) -> Item {
    Item::from([
        ("owner_id".to_owned(), AttributeValue::S(entry.owner_id.to_string())),
        ("tweet_id".to_owned(), AttributeValue::S(entry.tweet_id.to_string())),
    ])
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
        let requests = entries
            .iter()
            .map(|entry| {
                let delete =
                    DeleteRequest::builder().set_key(Some(entry_key(entry))).build().expect("key is set");
                WriteRequest::builder().delete_request(delete).build()
            })
            .collect();
        write_all(&self.client, &self.tables.timelines, requests).await
    }

    async fn newest(&self, owner: &UserId, limit: usize) -> StoreResult<Vec<TimelineEntry>> {
        let items = query_up_to(self.owner_query(owner).scan_index_forward(false), limit).await?;
        from_items("timeline entry", items)
    }

    async fn by_author(&self, owner: &UserId, author: &UserId) -> StoreResult<Vec<TimelineEntry>> {
        let query = self
            .owner_query(owner)
            .filter_expression("author_id = :author")
            .expression_attribute_values(":author", AttributeValue::S(author.to_string()));
        let items = query_up_to(query, usize::MAX).await?;
        from_items("timeline entry", items)
    }
}

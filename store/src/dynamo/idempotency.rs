//! Idempotency keys of `POST /tweets`: one item per (user, key) holding the tweet the key
//! created, claimed with a conditional put so that two racing requests cannot both post.
//! DynamoDB's TTL removes items eventually (up to days late), so expiry is also checked on read.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use timeline_model::limits::IdempotencyKey;
use timeline_model::ports::{IdempotencyKeys, IdempotentPost, StoreResult};
use timeline_model::{Timestamp, Tweet, UserId};

use super::Dynamo;
use super::batch::Item;
use super::errors::{classify, has_code};
use super::requests::{from_item, to_item};

#[derive(Serialize, Deserialize)]
struct PostItem {
    idempotency_key: String,
    tweet: Tweet,
    completed: bool,
    /// Epoch seconds, the table's TTL attribute.
    expires_at: i64,
}

fn item_key(user: &UserId, key: &IdempotencyKey) -> String {
    format!("{user}#{}", key.as_str())
}

fn key_of(user: &UserId, key: &IdempotencyKey) -> Item {
    Item::from([("idempotency_key".to_owned(), AttributeValue::S(item_key(user, key)))])
}

impl IdempotencyKeys for Dynamo {
    async fn get(&self, user: &UserId, key: &IdempotencyKey) -> StoreResult<Option<IdempotentPost>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.idempotency)
            .set_key(Some(key_of(user, key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        let Some(item) = output.item else { return Ok(None) };
        let stored: PostItem = from_item("idempotency key", item)?;
        if stored.expires_at <= Timestamp::now().unix_seconds() {
            return Ok(None);
        }
        Ok(Some(IdempotentPost {
            tweet: stored.tweet,
            completed: stored.completed,
            expires_at: Timestamp::from_unix_millis(u64::try_from(stored.expires_at).unwrap_or(0) * 1000),
        }))
    }

    async fn claim(
        &self,
        user: &UserId,
        key: &IdempotencyKey,
        post: &IdempotentPost,
    ) -> StoreResult<Option<IdempotentPost>> {
        let item = PostItem {
            idempotency_key: item_key(user, key),
            tweet: post.tweet.clone(),
            completed: post.completed,
            expires_at: post.expires_at.unix_seconds(),
        };
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.idempotency)
            .set_item(Some(to_item("idempotency key", &item)?))
            .condition_expression("attribute_not_exists(idempotency_key) OR expires_at <= :now")
            .expression_attribute_values(
                ":now",
                AttributeValue::N(Timestamp::now().unix_seconds().to_string()),
            )
            .send()
            .await;
        match result {
            Ok(_) => Ok(None),
            Err(error) if has_code(&error, "ConditionalCheckFailedException") => self.get(user, key).await,
            Err(error) => Err(classify(error)),
        }
    }

    async fn complete(&self, user: &UserId, key: &IdempotencyKey) -> StoreResult<()> {
        self.client
            .update_item()
            .table_name(&self.tables.idempotency)
            .set_key(Some(key_of(user, key)))
            .update_expression("SET completed = :done")
            .expression_attribute_values(":done", AttributeValue::Bool(true))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }
}

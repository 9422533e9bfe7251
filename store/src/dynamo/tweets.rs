//! Tweets by ID, and by author through the `by_author` index.

use aws_sdk_dynamodb::types::AttributeValue;
use timeline_model::ports::{StoreResult, Tweets};
use timeline_model::{Tweet, TweetId, UserId};

use super::Dynamo;
use super::batch::{Item, get_all};
use super::errors::{classify, has_code};
use super::requests::{from_item, from_items, query_up_to, to_item};
use super::tables::TWEETS_BY_AUTHOR;

fn tweet_key(id: &TweetId) -> Item {
    Item::from([("tweet_id".to_owned(), AttributeValue::S(id.to_string()))])
}

impl Tweets for Dynamo {
    async fn create(&self, tweet: &Tweet) -> StoreResult<()> {
        let result = self
            .client
            .put_item()
            .table_name(&self.tables.tweets)
            .set_item(Some(to_item("tweet", tweet)?))
            // A second put of the same ID would emit a MODIFY record; the first write wins.
            .condition_expression("attribute_not_exists(tweet_id)")
            .send()
            .await;
        match result {
            Err(error) if !has_code(&error, "ConditionalCheckFailedException") => Err(classify(error)),
            _ => Ok(()),
        }
    }

    async fn get(&self, id: &TweetId) -> StoreResult<Option<Tweet>> {
        let output = self
            .client
            .get_item()
            .table_name(&self.tables.tweets)
            .set_key(Some(tweet_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        output.item.map(|item| from_item("tweet", item)).transpose()
    }

    async fn get_many(&self, ids: &[TweetId]) -> StoreResult<Vec<Tweet>> {
        let items = get_all(&self.client, &self.tables.tweets, ids.iter().map(tweet_key).collect()).await?;
        from_items("tweet", items)
    }

    async fn delete(&self, id: &TweetId) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.tables.tweets)
            .set_key(Some(tweet_key(id)))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn by_author(
        &self,
        author: &UserId,
        before: Option<&TweetId>,
        limit: usize,
    ) -> StoreResult<Vec<Tweet>> {
        let mut condition = "author_id = :author".to_owned();
        let mut query = self
            .client
            .query()
            .table_name(&self.tables.tweets)
            .index_name(TWEETS_BY_AUTHOR)
            .scan_index_forward(false)
            .expression_attribute_values(":author", AttributeValue::S(author.to_string()));
        if let Some(before) = before {
            condition.push_str(" AND tweet_id < :before");
            query = query.expression_attribute_values(":before", AttributeValue::S(before.to_string()));
        }
        let items = query_up_to(query.key_condition_expression(condition), limit).await?;
        from_items("tweet", items)
    }
}

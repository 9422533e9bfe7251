//! Follow edges. One transaction writes the edge and both users' counters, conditioned on the
//! edge's absence (or presence), so retries and races can never count twice.

use aws_sdk_dynamodb::types::{AttributeValue, Delete, TransactWriteItem, Update};
use timeline_model::ports::{EdgeChange, Follows, StoreResult};
use timeline_model::{Follow, Timestamp, UserId};

use super::Dynamo;
use super::batch::{Item, put_request, write_all};
use super::errors::corrupt;
use super::requests::{Transacted, query_up_to, to_item, transact};
use super::tables::FOLLOWS_BY_FOLLOWER;
use super::users::{conditional_put, user_key};

#[derive(serde::Serialize)]
struct FollowItem<'a> {
    #[serde(flatten)]
    edge: &'a Follow,
    created_at: Timestamp,
}

impl Dynamo {
    /// Write follow edges with BatchWriteItem, leaving the users' counters alone: for bulk
    /// loads (the benchmark, seeding) that set the counters in the profiles they write.
    /// Idempotent: an edge written twice is one edge.
    pub async fn put_follow_edges(&self, edges: &[Follow]) -> StoreResult<()> {
        let created_at = Timestamp::now();
        let requests = edges
            .iter()
            .map(|edge| Ok(put_request(to_item("follow", &FollowItem { edge, created_at })?)))
            .collect::<StoreResult<Vec<_>>>()?;
        write_all(&self.client, &self.tables.follows, requests).await
    }

    fn edge_key(edge: &Follow) -> Item {
        Item::from([
            ("followee_id".to_owned(), AttributeValue::S(edge.followee_id.to_string())),
            ("follower_id".to_owned(), AttributeValue::S(edge.follower_id.to_string())),
        ])
    }

    /// Add `delta` to a user's counter, if that user exists.
    fn bump(&self, user: &UserId, counter: &str, delta: i64) -> TransactWriteItem {
        let update = Update::builder()
            .table_name(&self.tables.users)
            .set_key(Some(user_key(user)))
            .update_expression(format!("ADD {counter} :delta"))
            .condition_expression("attribute_exists(user_id)")
            .expression_attribute_values(":delta", AttributeValue::N(delta.to_string()))
            .build()
            .expect("table, key and expression are set");
        TransactWriteItem::builder().update(update).build()
    }

    /// Apply an edge change with its two counter updates; the edge's condition is item 0.
    async fn change_edge(
        &self,
        edge_write: TransactWriteItem,
        edge: &Follow,
        delta: i64,
    ) -> StoreResult<EdgeChange> {
        let items = vec![
            edge_write,
            self.bump(&edge.followee_id, "followers_count", delta),
            self.bump(&edge.follower_id, "following_count", delta),
        ];
        Ok(match transact(&self.client, items).await? {
            Transacted::Done => EdgeChange::Changed,
            Transacted::ConditionFailed(_) => EdgeChange::Unchanged,
        })
    }

    async fn user_ids(
        &self,
        query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
        column: &str,
        limit: usize,
    ) -> StoreResult<Vec<UserId>> {
        let items = query_up_to(query, limit).await?;
        items
            .into_iter()
            .map(|mut item| {
                let raw = match item.remove(column) {
                    Some(AttributeValue::S(raw)) => raw,
                    _ => String::new(),
                };
                UserId::parse(&raw).map_err(|e| corrupt("follow", e))
            })
            .collect()
    }

    fn edges_query(
        &self,
        index: Option<&str>,
        partition: (&str, &UserId),
        sort: (&str, Option<&UserId>),
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        let (partition_name, partition_value) = partition;
        let (sort_name, after) = sort;
        let mut condition = format!("{partition_name} = :p");
        let mut query = self
            .client
            .query()
            .table_name(&self.tables.follows)
            .set_index_name(index.map(str::to_owned))
            .expression_attribute_values(":p", AttributeValue::S(partition_value.to_string()));
        if let Some(after) = after {
            condition.push_str(&format!(" AND {sort_name} > :after"));
            query = query.expression_attribute_values(":after", AttributeValue::S(after.to_string()));
        }
        query.key_condition_expression(condition)
    }
}

impl Follows for Dynamo {
    async fn follow(&self, edge: &Follow) -> StoreResult<EdgeChange> {
        let item = to_item("follow", &FollowItem { edge, created_at: Timestamp::now() })?;
        let put = conditional_put(&self.tables.follows, item, "attribute_not_exists(follower_id)");
        self.change_edge(put, edge, 1).await
    }

    async fn unfollow(&self, edge: &Follow) -> StoreResult<EdgeChange> {
        let delete = Delete::builder()
            .table_name(&self.tables.follows)
            .set_key(Some(Self::edge_key(edge)))
            .condition_expression("attribute_exists(follower_id)")
            .build()
            .expect("table and key are set");
        self.change_edge(TransactWriteItem::builder().delete(delete).build(), edge, -1).await
    }

    async fn followers(
        &self,
        user: &UserId,
        after: Option<&UserId>,
        limit: usize,
    ) -> StoreResult<Vec<UserId>> {
        let query = self.edges_query(None, ("followee_id", user), ("follower_id", after));
        self.user_ids(query, "follower_id", limit).await
    }

    async fn following(
        &self,
        user: &UserId,
        after: Option<&UserId>,
        limit: usize,
    ) -> StoreResult<Vec<UserId>> {
        let query =
            self.edges_query(Some(FOLLOWS_BY_FOLLOWER), ("follower_id", user), ("followee_id", after));
        self.user_ids(query, "followee_id", limit).await
    }
}

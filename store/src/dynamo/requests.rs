//! Request helpers shared by the tables: paged queries and conditional transactions.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::TransactWriteItem;
use serde::Serialize;
use serde::de::DeserializeOwned;
use timeline_model::ports::{Backend, StoreError, StoreResult};

use super::batch::Item;
use super::errors::{classify, corrupt};
use crate::retry::Backoff;

/// Run `query` page after page until `limit` items came back or the partition is exhausted.
pub async fn query_up_to(query: QueryFluentBuilder, limit: usize) -> StoreResult<Vec<Item>> {
    query_counting(query, limit, |_| true).await
}

/// Run `query` page after page until `limit` of the items that `counts` came back (with the
/// others met on the way) or the partition is exhausted.
pub async fn query_counting(
    query: QueryFluentBuilder,
    limit: usize,
    counts: impl Fn(&Item) -> bool,
) -> StoreResult<Vec<Item>> {
    let (mut items, mut counted) = (Vec::new(), 0);
    let mut start = None;
    loop {
        let page_limit = i32::try_from(limit - counted).unwrap_or(i32::MAX);
        let output =
            query.clone().set_exclusive_start_key(start).limit(page_limit).send().await.map_err(classify)?;
        let page = output.items.unwrap_or_default();
        counted += page.iter().filter(|item| counts(item)).count();
        items.extend(page);
        start = output.last_evaluated_key;
        if start.is_none() || counted >= limit {
            return Ok(items);
        }
    }
}

/// What a conditional transaction did.
#[derive(Debug, PartialEq, Eq)]
pub enum Transacted {
    Done,
    /// The positions of the items whose condition failed; nothing was written.
    ConditionFailed(Vec<usize>),
}

/// Run a transaction; retry it while it conflicts with another one on the same items (two
/// follows racing), so the caller only ever sees "done" or "this condition failed".
pub async fn transact(client: &Client, items: Vec<TransactWriteItem>) -> StoreResult<Transacted> {
    let backoff = Backoff::WRITES;
    for attempt in 1..=backoff.max_attempts {
        let error = match client.transact_write_items().set_transact_items(Some(items.clone())).send().await {
            Ok(_) => return Ok(Transacted::Done),
            Err(error) => error,
        };
        let codes: Option<Vec<Option<String>>> = match error.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => {
                Some(cancelled.cancellation_reasons().iter().map(|r| r.code().map(str::to_owned)).collect())
            }
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => Some(Vec::new()),
            _ => None,
        };
        let Some(codes) = codes else {
            return Err(classify(error));
        };
        let failed: Vec<usize> = codes
            .iter()
            .enumerate()
            .filter(|(_, code)| code.as_deref() == Some("ConditionalCheckFailed"))
            .map(|(position, _)| position)
            .collect();
        if !failed.is_empty() {
            return Ok(Transacted::ConditionFailed(failed));
        }
        tracing::debug!(attempt, ?codes, "transaction cancelled; retrying");
        backoff.wait(attempt).await;
    }
    Err(StoreError::Throttled { backend: Backend::DynamoDb, source: "transaction kept conflicting".into() })
}

/// Encode a value as an item.
pub fn to_item<T: Serialize>(what: &'static str, value: &T) -> StoreResult<Item> {
    serde_dynamo::to_item(value).map_err(|e| corrupt(what, e))
}

/// Decode an item into a value; a stored item that no longer parses is reported as corrupt.
pub fn from_item<T: DeserializeOwned>(what: &'static str, item: Item) -> StoreResult<T> {
    serde_dynamo::from_item(item).map_err(|e| corrupt(what, e))
}

/// Decode every item.
pub fn from_items<T: DeserializeOwned>(what: &'static str, items: Vec<Item>) -> StoreResult<Vec<T>> {
    items.into_iter().map(|item| from_item(what, item)).collect()
}

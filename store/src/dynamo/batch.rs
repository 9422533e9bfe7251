//! Batch reads and writes. DynamoDB may process only part of a batch (`UnprocessedItems`,
//! `UnprocessedKeys`) without failing the call; the rest is retried with jittered backoff until
//! done or until the retries run out, which is then reported as throttling.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, PutRequest, WriteRequest};
use futures::{StreamExt, TryStreamExt, stream};
use timeline_model::ports::{Backend, StoreError, StoreResult};

use super::errors::classify;
use crate::retry::Backoff;
use crate::telemetry;

pub type Item = HashMap<String, AttributeValue>;

/// BatchWriteItem's limit.
pub const WRITE_CHUNK: usize = 25;
/// BatchGetItem's limit.
const GET_CHUNK: usize = 100;
/// Batches in flight at once per call: enough to keep DynamoDB busy, few enough to stay polite.
pub const CONCURRENCY: usize = 8;

/// A put of `item`, for [`write_all`].
pub fn put_request(item: Item) -> WriteRequest {
    let put = PutRequest::builder().set_item(Some(item)).build().expect("the item is set");
    WriteRequest::builder().put_request(put).build()
}

/// Write every request (puts or deletes) to `table`, 25 at a time, `CONCURRENCY` batches at once.
pub async fn write_all(client: &Client, table: &str, requests: Vec<WriteRequest>) -> StoreResult<()> {
    let chunks: Vec<Vec<WriteRequest>> = requests.chunks(WRITE_CHUNK).map(<[_]>::to_vec).collect();
    stream::iter(chunks)
        .map(|chunk| {
            until_processed(chunk, Backoff::WRITES, move |pending| async move {
                let output =
                    client.batch_write_item().request_items(table, pending).send().await.map_err(classify)?;
                let unprocessed = output.unprocessed_items.and_then(|mut by_table| by_table.remove(table));
                Ok((unprocessed.unwrap_or_default(), Vec::<()>::new()))
            })
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Read every key from `table` (strongly consistent), 100 at a time; missing items are left out.
pub async fn get_all(client: &Client, table: &str, keys: Vec<Item>) -> StoreResult<Vec<Item>> {
    let chunks: Vec<Vec<Item>> = keys.chunks(GET_CHUNK).map(<[_]>::to_vec).collect();
    let pages: Vec<Vec<Item>> = stream::iter(chunks)
        .map(|chunk| {
            until_processed(chunk, Backoff::WRITES, move |pending| async move {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .expect("keys are set");
                let output =
                    client.batch_get_item().request_items(table, request).send().await.map_err(classify)?;
                let unprocessed = output.unprocessed_keys.and_then(|mut by_table| by_table.remove(table));
                let items = output.responses.and_then(|mut by_table| by_table.remove(table));
                Ok((unprocessed.map(|k| k.keys).unwrap_or_default(), items.unwrap_or_default()))
            })
        })
        .buffer_unordered(CONCURRENCY)
        .try_collect()
        .await?;
    Ok(pages.into_iter().flatten().collect())
}

/// Send `pending` until nothing is left unprocessed. `send` returns what was left unprocessed
/// and what came back; results of every attempt are gathered.
pub async fn until_processed<T, O, Send, Fut>(
    mut pending: Vec<T>,
    backoff: Backoff,
    mut send: Send,
) -> StoreResult<Vec<O>>
where
    Send: FnMut(Vec<T>) -> Fut,
    Fut: Future<Output = StoreResult<(Vec<T>, Vec<O>)>>,
{
    let mut gathered = Vec::new();
    for attempt in 1..=backoff.max_attempts {
        let (unprocessed, output) = send(pending).await?;
        gathered.extend(output);
        if unprocessed.is_empty() {
            return Ok(gathered);
        }
        if attempt == backoff.max_attempts {
            break; // No sleep after the last attempt: nothing follows it.
        }
        metrics::counter!(telemetry::FANOUT_RETRIES).increment(1);
        tracing::debug!(attempt, left = unprocessed.len(), "retrying unprocessed batch items");
        pending = unprocessed;
        backoff.wait(attempt).await;
    }
    Err(StoreError::Throttled {
        backend: Backend::DynamoDb,
        source: "batch items stayed unprocessed after every retry".into(),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;

    const FAST: Backoff =
        Backoff { base: Duration::from_millis(1), cap: Duration::from_millis(2), max_attempts: 5 };

    #[tokio::test]
    async fn unprocessed_items_are_sent_again_until_none_are_left() {
        let sent = Mutex::new(Vec::new());
        let done = until_processed((1..=25).collect(), FAST, |batch: Vec<u32>| {
            sent.lock().unwrap().push(batch.clone());
            // A throttled table processes half of each batch, and small batches whole.
            let split = if batch.len() <= 2 { batch.len() } else { batch.len() / 2 };
            let (written, unprocessed) = (batch[..split].to_vec(), batch[split..].to_vec());
            async move { Ok((unprocessed, written)) }
        })
        .await
        .unwrap();
        let batches = sent.into_inner().unwrap();
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![25, 13, 7, 4, 2]);
        assert_eq!(done.len(), 25);
    }

    #[tokio::test]
    async fn items_left_after_the_last_retry_are_reported_as_throttling() {
        let outcome =
            until_processed(
                vec![1, 2, 3],
                FAST,
                |batch: Vec<u32>| async move { Ok((batch, Vec::<u32>::new())) },
            )
            .await;
        assert!(matches!(outcome, Err(StoreError::Throttled { .. })));
    }

    #[tokio::test]
    async fn the_last_attempt_is_not_followed_by_a_sleep() {
        // A wait of up to an hour before a retry: one after the last attempt would show.
        let hour = Duration::from_secs(3600);
        let patient = Backoff { base: hour, cap: hour, max_attempts: 1 };
        let send = |batch: Vec<u32>| async move { Ok((batch, Vec::<u32>::new())) };
        let outcome =
            tokio::time::timeout(Duration::from_secs(5), until_processed(vec![1], patient, send)).await;
        assert!(matches!(outcome, Ok(Err(StoreError::Throttled { .. }))), "{outcome:?}");
    }
}

//! GetShardIterator and GetRecords on one shard, their errors classified: what the poller's
//! readers and `timeline-admin replay` both read a stream with.

use aws_sdk_dynamodbstreams::Client as StreamsClient;
use aws_sdk_dynamodbstreams::error::ProvideErrorMetadata;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};

use super::checkpoint::Position;

/// The most records GetRecords returns.
const BATCH_LIMIT: i32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Trimmed away (older than the stream keeps) or not in the shard at all.
    #[error("the shard no longer has that position")]
    PositionGone(#[source] aws_sdk_dynamodbstreams::Error),
    #[error(transparent)]
    Streams(aws_sdk_dynamodbstreams::Error),
    #[error("GetShardIterator returned no iterator")]
    NoIterator,
}

/// One read of a shard.
pub struct Batch {
    pub records: Vec<Record>,
    /// `None` once the shard is closed and read to its end.
    pub next_iterator: Option<String>,
}

/// One shard of one stream.
pub struct Shard<'a> {
    pub streams: &'a StreamsClient,
    pub stream_arn: &'a str,
    pub shard_id: &'a str,
}

impl Shard<'_> {
    /// Read from `iterator`, or from a fresh one at `position`.
    pub async fn read(&self, iterator: Option<String>, position: &Position) -> Result<Batch, ReadError> {
        let iterator = match iterator {
            Some(iterator) => iterator,
            None => self.iterator(position).await?,
        };
        let request = self.streams.get_records().shard_iterator(iterator).limit(BATCH_LIMIT);
        let output = request.send().await.map_err(|error| classify_records_error(error.into()))?;
        Ok(Batch { records: output.records.unwrap_or_default(), next_iterator: output.next_shard_iterator })
    }

    async fn iterator(&self, position: &Position) -> Result<String, ReadError> {
        let (kind, sequence) = match position {
            Position::After(sequence) => (ShardIteratorType::AfterSequenceNumber, Some(sequence.clone())),
            Position::At(sequence) => (ShardIteratorType::AtSequenceNumber, Some(sequence.clone())),
            Position::TrimHorizon => (ShardIteratorType::TrimHorizon, None),
        };
        let output = self
            .streams
            .get_shard_iterator()
            .stream_arn(self.stream_arn)
            .shard_id(self.shard_id)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence)
            .send()
            .await
            .map_err(|error| classify_iterator_error(error.into()))?;
        output.shard_iterator.ok_or(ReadError::NoIterator)
    }
}

/// The stream's shards, as (shard ID, parent shard ID), every page of the listing.
pub async fn list_shards(
    streams: &StreamsClient,
    stream_arn: &str,
) -> Result<Vec<(String, Option<String>)>, aws_sdk_dynamodbstreams::Error> {
    let mut listed = Vec::new();
    let mut start = None;
    loop {
        let output = streams
            .describe_stream()
            .stream_arn(stream_arn)
            .set_exclusive_start_shard_id(start.take())
            .send()
            .await?;
        let Some(description) = output.stream_description else { return Ok(listed) };
        let page = description.shards.unwrap_or_default().into_iter();
        listed.extend(page.filter_map(|shard| Some((shard.shard_id?, shard.parent_shard_id))));
        start = description.last_evaluated_shard_id;
        if start.is_none() {
            return Ok(listed);
        }
    }
}

/// A record's sequence number.
pub fn sequence_of(record: &Record) -> Option<&str> {
    record.dynamodb.as_ref()?.sequence_number.as_deref()
}

/// The iterator points at records trimmed away since it was made.
fn classify_records_error(error: aws_sdk_dynamodbstreams::Error) -> ReadError {
    match error {
        aws_sdk_dynamodbstreams::Error::TrimmedDataAccessException(_) => ReadError::PositionGone(error),
        other => ReadError::Streams(other),
    }
}

/// A sequence number the shard does not have: TrimmedDataAccessException in AWS once it is
/// older than 24 hours; DynamoDB Local answers ValidationException for one before its oldest.
fn classify_iterator_error(error: aws_sdk_dynamodbstreams::Error) -> ReadError {
    let gone = matches!(error, aws_sdk_dynamodbstreams::Error::TrimmedDataAccessException(_))
        || error.code() == Some("ValidationException");
    if gone { ReadError::PositionGone(error) } else { ReadError::Streams(error) }
}

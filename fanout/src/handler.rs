//! One batch of stream records through the fan-out.
//!
//! Only the records of one item depend on each other (a tweet's INSERT and REMOVE, one edge's
//! follow and unfollow), so the batch is applied in waves (`timeline_model::fanout::batch`):
//! each wave holds at most one record per item and is applied as one, sharing its reads and
//! writes. If a wave fails, its records are applied one by one to learn which failed and why:
//! a permanent failure is logged and skipped; a transient one stops that item's later records.
//! The response names the lowest failed sequence number: Lambda (or the local poller) retries
//! from there. Records after it that did land are applied again, which changes nothing: every
//! write is idempotent (docs/ARCHITECTURE.md, "Fan-out within a batch").
//!
//! A failed cache write does not fail its record (`timeline_model::fanout::stale`): the copies
//! it missed are noted and the notes stored before the batch is answered; each batch also
//! repairs the notes stored before, once the cache answers again.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use aws_lambda_events::dynamodb::{Event as DynamoDbEvent, EventRecord};
use aws_lambda_events::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use futures::StreamExt;
use lambda_runtime::LambdaEvent;
use timeline_model::Timestamp;
use timeline_model::fanout::batch::{Subject, waves};
use timeline_model::fanout::stale::{self, StaleCaches};
use timeline_model::fanout::{Fanout, FanoutReport, TimelineEvent};
use timeline_model::ports::{StoreError, StoreResult};
use timeline_store::stream::{self, Decoded};
use timeline_store::{Dynamo, RedisCache, StoreSettings, telemetry};

/// Followers read and written per step of one fan-out.
const FOLLOWER_PAGE: usize = 1000;
/// How often a process looks for notes of stale cached copies to repair.
const REPAIR_EVERY: Duration = Duration::from_secs(1);
/// Records applied at once when a failed wave is applied one by one.
const RECORDS_IN_FLIGHT: usize = 8;

/// The fan-out over the real stores.
pub type StoreFanout<'a> = Fanout<'a, Dynamo, Dynamo, Dynamo, RedisCache, Dynamo>;

/// The stores the fan-out writes; built once per process.
#[derive(Clone)]
pub struct Engine {
    dynamo: Dynamo,
    cache: RedisCache,
    /// Authors with more followers are merged in at read time, not fanned out.
    fanout_threshold: u64,
    /// When this process last looked for notes of stale copies (shared by its clones).
    last_repair: Arc<Mutex<Option<Instant>>>,
}

impl Engine {
    pub fn new(dynamo: Dynamo, cache: RedisCache, fanout_threshold: u64) -> Self {
        Self { dynamo, cache, fanout_threshold, last_repair: Arc::default() }
    }

    /// Build the clients of `settings` (DynamoDB and standalone Redis connect on first use; the
    /// Redis Cluster client connects here).
    pub async fn connect(settings: &StoreSettings) -> Result<Self, StoreError> {
        let cache = RedisCache::connect(settings).await?;
        Ok(Self::new(Dynamo::connect(settings).await, cache, settings.fanout_threshold))
    }

    /// Authors with more followers are merged in at read time.
    pub fn fanout_threshold(&self) -> u64 {
        self.fanout_threshold
    }

    /// The domain's fan-out, wired to the stores, noting in `stale` the cached copies that
    /// missed a change.
    fn fanout<'s>(&'s self, stale: &'s StaleCaches) -> StoreFanout<'s> {
        Fanout {
            follows: &self.dynamo,
            tweets: &self.dynamo,
            store: &self.dynamo,
            cache: &self.cache,
            users: &self.dynamo,
            page_size: FOLLOWER_PAGE,
            fanout_threshold: self.fanout_threshold,
            stale,
        }
    }

    /// Apply one change on its own, as a tool does (a stream batch goes through [`Self::handle`]).
    pub async fn apply(&self, event: &TimelineEvent) -> StoreResult<FanoutReport> {
        let stale = StaleCaches::default();
        let report = Box::pin(self.fanout(&stale).apply(event)).await?;
        stale.store(&self.dynamo).await?;
        Ok(report)
    }

    /// Apply a batch (and meanwhile repair what earlier cache outages left stale); the response
    /// names the first record to retry, if any.
    pub async fn handle(&self, event: &DynamoDbEvent) -> DynamoDbEventResponse {
        let stale = StaleCaches::default();
        let (mut lowest_failed, ()) =
            futures::join!(Box::pin(self.apply_batch(event, &stale)), Box::pin(self.repair_stale()));
        match stale.store(&self.dynamo).await {
            Ok(0) => {}
            Ok(copies) => {
                tracing::warn!(copies, "cache writes failed; noted the cached copies they missed for repair");
                metrics::counter!(telemetry::FANOUT_STALE_COPIES).increment(copies as u64);
            }
            // Unnoted, a missed copy would stay stale: the whole batch is applied again.
            Err(error) => {
                tracing::warn!(%error, "could not note the cached copies a cache outage missed; retrying the batch");
                lowest_failed = event.records.iter().reduce(earliest).map(sequence_number);
            }
        }
        let mut response = DynamoDbEventResponse::default();
        if let Some(sequence_number) = lowest_failed {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = sequence_number;
            response.batch_item_failures.push(failure);
        }
        response
    }

    /// Drop the cached copies noted stale by earlier batches, if the cache answers.
    /// At most once per `REPAIR_EVERY`: a busy shard then costs one Query a second, not one
    /// per batch.
    async fn repair_stale(&self) {
        {
            let mut last = self.last_repair.lock().unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < REPAIR_EVERY) {
                return;
            }
            *last = Some(Instant::now());
        }
        match stale::repair(&self.dynamo, &self.cache).await {
            Ok(0) => {}
            Ok(copies) => tracing::info!(copies, "dropped cached copies a cache outage left stale"),
            Err(error) => tracing::debug!(%error, "stale cached copies wait for the cache"),
        }
    }

    /// Apply the changes of a batch in waves; the sequence number of the earliest record that
    /// failed for now.
    async fn apply_batch(&self, event: &DynamoDbEvent, stale: &StaleCaches) -> Option<Option<String>> {
        let changes: Vec<Change> = event
            .records
            .iter()
            .filter_map(|record| decode(record).map(|e| Change::new(record, e)))
            .collect();
        let mut stalled: HashSet<&Subject> = HashSet::new();
        let mut lowest_failed: Option<&EventRecord> = None;
        for wave in waves(changes.iter().map(|c| &c.subject)) {
            // An item whose earlier record failed waits for the retry, which starts before it.
            let mut live = Vec::with_capacity(wave.len());
            for change in wave.into_iter().map(|i| &changes[i]) {
                if !stalled.contains(&change.subject) {
                    live.push(change);
                }
            }
            for failed in self.apply_wave(&live, stale).await {
                stalled.insert(&failed.subject);
                lowest_failed = Some(lowest_failed.map_or(failed.record, |low| earliest(low, failed.record)));
            }
        }
        lowest_failed.map(sequence_number)
    }

    /// The Lambda function's handler: a stream event in, a partial batch response out. It
    /// never fails the invocation as a whole, which would retry records already applied.
    pub async fn handle_lambda(
        &self,
        event: LambdaEvent<DynamoDbEvent>,
    ) -> Result<DynamoDbEventResponse, lambda_runtime::Error> {
        Ok(self.handle(&event.payload).await)
    }

    /// Apply the changes of a wave together; if that fails, one by one. Returns those that
    /// failed for now.
    async fn apply_wave<'c>(&self, wave: &[&'c Change<'c>], stale: &StaleCaches) -> Vec<&'c Change<'c>> {
        if let [only] = wave {
            return self.apply_one(only, stale).await.err().into_iter().collect();
        }
        let events: Vec<TimelineEvent> = wave.iter().map(|c| c.event.clone()).collect();
        // Boxed: the fan-out's future nests deep (SDK calls inside batches inside pages), and a
        // box keeps every caller's future small and within the compiler's layout depth.
        match Box::pin(self.fanout(stale).apply_many(&events)).await {
            Ok(report) => {
                for (change, followers) in wave.iter().zip(&report.followers) {
                    record_lag(change, *followers);
                }
                record_entries(report.durable_entries, report.cached_entries);
                Vec::new()
            }
            Err(error) => {
                tracing::warn!(%error, records = wave.len(), "a wave of the batch failed; applying its records one by one");
                let attempts: Vec<_> = wave.iter().map(|change| self.apply_one(change, stale)).collect();
                let outcomes: Vec<_> =
                    futures::stream::iter(attempts).buffer_unordered(RECORDS_IN_FLIGHT).collect().await;
                outcomes.into_iter().filter_map(Result::err).collect()
            }
        }
    }

    /// Apply one change; `Err(change)` when it failed for now and must be retried.
    async fn apply_one<'c>(&self, change: &'c Change<'c>, stale: &StaleCaches) -> Result<(), &'c Change<'c>> {
        match Box::pin(self.fanout(stale).apply(&change.event)).await {
            Ok(report) => {
                record_lag(change, report.followers);
                record_entries(report.durable_entries, report.cached_entries);
                Ok(())
            }
            Err(error) if error.is_transient() => {
                tracing::warn!(%error, event_id = %change.record.event_id, "fan-out failed; the batch will be retried from this record");
                Err(change)
            }
            Err(error) => {
                skip(change.record, &error.to_string());
                Ok(())
            }
        }
    }
}

/// A record and the change it decodes to.
struct Change<'r> {
    record: &'r EventRecord,
    event: TimelineEvent,
    subject: Subject,
}

impl<'r> Change<'r> {
    fn new(record: &'r EventRecord, event: TimelineEvent) -> Self {
        Self { record, subject: event.subject(), event }
    }
}

/// The change a record stands for; `None` for records with nothing to do or that can never
/// succeed (those are logged and counted).
fn decode(record: &EventRecord) -> Option<TimelineEvent> {
    let change = &record.change;
    let parts = stream::Record {
        event_name: &record.event_name,
        keys: &change.keys,
        new_image: &change.new_image,
        old_image: &change.old_image,
    };
    match stream::decode(&parts) {
        Decoded::Event(event) => Some(event),
        Decoded::Ignore => None,
        Decoded::Poison(reason) => {
            skip(record, &reason);
            None
        }
    }
}

/// The record that came first in its shard. Sequence numbers are decimal strings of up to 40
/// digits: compared as numbers, not as text.
fn earliest<'r>(a: &'r EventRecord, b: &'r EventRecord) -> &'r EventRecord {
    let key = |r: &EventRecord| {
        let sequence = r.change.sequence_number.as_deref().unwrap_or_default();
        (sequence.len(), sequence.to_owned())
    };
    if key(b) < key(a) { b } else { a }
}

fn sequence_number(record: &EventRecord) -> Option<String> {
    record.change.sequence_number.clone()
}

fn skip(record: &EventRecord, reason: &str) {
    tracing::error!(event_id = %record.event_id, sequence_number = ?record.change.sequence_number, reason, "skipping a stream record that can never succeed");
    metrics::counter!(telemetry::FANOUT_SKIPPED_RECORDS).increment(1);
}

fn record_lag(change: &Change<'_>, followers: usize) {
    // The stream's ApproximateCreationDateTime is coarse (whole seconds in AWS, whole minutes in
    // DynamoDB Local); a posted tweet carries its own millisecond time, which is never earlier.
    let approximate =
        u64::try_from(change.record.change.approximate_creation_date_time.timestamp_millis()).unwrap_or(0);
    let written = match &change.event {
        TimelineEvent::TweetPosted(tweet) => approximate.max(tweet.created_at.unix_millis()),
        _ => approximate,
    };
    if written > 0 {
        let lag = Timestamp::now().unix_millis().saturating_sub(written);
        metrics::histogram!(telemetry::FANOUT_LAG_MS).record(lag as f64);
    }
    metrics::histogram!(telemetry::FANOUT_FOLLOWERS_PER_TWEET).record(followers as f64);
    tracing::debug!(event_id = %change.record.event_id, followers, "fanned out");
}

fn record_entries(durable: usize, cached: usize) {
    metrics::counter!(telemetry::FANOUT_ENTRIES_WRITTEN, "store" => "dynamodb").increment(durable as u64);
    metrics::counter!(telemetry::FANOUT_ENTRIES_WRITTEN, "store" => "redis").increment(cached as u64);
}

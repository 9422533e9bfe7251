//! DynamoDB adapters of the ports.
//!
//! - `tables`: table names and their one definition, created idempotently and deleted.
//! - `errors`: SDK errors classified by code into `StoreError`.
//! - `batch`: BatchWriteItem and BatchGetItem with unprocessed-item retries.
//! - `calls`: the calls a client makes, counted by operation.
//! - `users`, `follows`, `tweets`, `timelines`, `idempotency`: one port each.
//! - `stale_notes`: cached copies a cache outage left stale, until they are repaired.
//! - `user_scan`: every user, by segments and pages, for the operator tools.
//! - `table_copy`: a restored table copied into this deployment's (`timeline-admin restore`).

mod batch;
mod calls;
mod errors;
mod follows;
mod idempotency;
mod requests;
mod stale_notes;
mod table_copy;
mod tables;
mod timelines;
mod tweets;
mod user_scan;
mod users;

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

pub use batch::{CONCURRENCY as BATCHES_IN_FLIGHT, WRITE_CHUNK};
pub use calls::Calls;
pub use table_copy::CopiedPage;
pub use tables::{Streams, TableNames};
pub use timelines::ENTRY_TTL;
pub use user_scan::{Segment, UserPage};

use timeline_model::ports::StoreResult;

use crate::settings::StoreSettings;

/// The AWS SDK configuration for DynamoDB and its streams. With an endpoint (DynamoDB Local), a
/// fixed region and dummy credentials are used when none are configured: DynamoDB Local checks
/// neither. HTTPS is rustls on ring, the one crypto provider of the binaries (see Cargo.toml).
pub async fn sdk_config(settings: &StoreSettings) -> aws_config::SdkConfig {
    let mut loader = aws_loader();
    if let Some(endpoint) = &settings.dynamodb_endpoint {
        loader = loader.endpoint_url(endpoint).region(Region::new("us-east-1"));
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            loader =
                loader.credentials_provider(Credentials::new("local", "local", None, None, "timeline-local"));
        }
    }
    loader.load().await
}

/// The SDK's configuration as the environment gives it (region, credentials, endpoints such
/// as `AWS_ENDPOINT_URL_SSM`), on rustls and ring.
pub fn aws_loader() -> aws_config::ConfigLoader {
    let https =
        aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https();
    aws_config::defaults(BehaviorVersion::latest()).http_client(https)
}

/// The DynamoDB client and the names of the tables it serves. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Dynamo {
    client: Client,
    /// Shared by the clones, so that a clone copies no names.
    tables: Arc<TableNames>,
    calls: Calls,
}

impl Dynamo {
    /// Build the client once per process.
    pub async fn connect(settings: &StoreSettings) -> Self {
        let sdk = sdk_config(settings).await;
        let calls = Calls::default();
        let config = aws_sdk_dynamodb::config::Builder::from(&sdk).interceptor(calls.counter()).build();
        Self {
            client: Client::from_conf(config),
            tables: Arc::new(TableNames::with_prefix(&settings.table_prefix)),
            calls,
        }
    }

    /// The calls this client and its clones made so far.
    pub fn calls(&self) -> &Calls {
        &self.calls
    }

    pub fn tables(&self) -> &TableNames {
        &self.tables
    }

    /// Check that the service answers and the tables exist (for `GET /health?deep=true`).
    pub async fn ping(&self) -> StoreResult<()> {
        self.client.describe_table().table_name(&self.tables.users).send().await.map_err(errors::classify)?;
        Ok(())
    }

    /// The tables whose streams feed the fan-out: tweets, then follows.
    pub fn streamed_tables(&self) -> [&str; 2] {
        [&self.tables.tweets, &self.tables.follows]
    }

    /// The ARN of `table`'s current stream, if it has one (the local stream poller).
    pub async fn stream_arn(&self, table: &str) -> StoreResult<Option<String>> {
        let described =
            self.client.describe_table().table_name(table).send().await.map_err(errors::classify)?;
        Ok(described.table.and_then(|t| t.latest_stream_arn))
    }

    /// Create every table that does not exist yet (local runs, tests, tools; SAM creates them
    /// in AWS).
    pub async fn create_tables(&self, streams: Streams) -> StoreResult<()> {
        tables::create_all(&self.client, &self.tables, streams).await
    }

    /// Turn on the fan-out's streams of tables created with [`Streams::Off`] (see
    /// `tables::enable_streams`); returns how many were turned on.
    pub async fn enable_streams(&self) -> StoreResult<usize> {
        tables::enable_streams(&self.client, &self.tables).await
    }

    /// Delete every table of this prefix (tests and benchmarks clean up after themselves:
    /// DynamoDB Local slows down as tables pile up).
    pub async fn delete_tables(&self) -> StoreResult<()> {
        tables::delete(&self.client, &self.tables.all()).await
    }

    /// Delete the timelines table only: the state after a restore that left it out, which
    /// `timeline-admin rebuild --all` recovers from (the load suite measures that rebuild).
    pub async fn delete_timelines_table(&self) -> StoreResult<()> {
        tables::delete(&self.client, &[&self.tables.timelines]).await
    }
}

//! DynamoDB adapters of the ports.
//!
//! - `tables`: table names and their one definition, created idempotently.
//! - `errors`: SDK errors classified by code into `StoreError`.
//! - `batch`: BatchWriteItem and BatchGetItem with unprocessed-item retries.
//! - `users`, `follows`, `tweets`, `timelines`, `idempotency`: one port each.

mod batch;
mod errors;
mod follows;
mod idempotency;
mod requests;
mod tables;
mod timelines;
mod tweets;
mod users;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{Credentials, Region};

pub use batch::{CONCURRENCY as BATCHES_IN_FLIGHT, WRITE_CHUNK};
pub use tables::TableNames;
pub use timelines::ENTRY_TTL;

use crate::config::StoreConfig;

/// The AWS SDK configuration for DynamoDB and its streams. With an endpoint (DynamoDB Local), a
/// fixed region and dummy credentials are used when none are configured: DynamoDB Local checks
/// neither.
pub async fn sdk_config(config: &StoreConfig) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(endpoint) = &config.dynamodb_endpoint {
        loader = loader.endpoint_url(endpoint).region(Region::new("us-east-1"));
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            loader =
                loader.credentials_provider(Credentials::new("local", "local", None, None, "timeline-local"));
        }
    }
    loader.load().await
}

/// The DynamoDB client and the names of the tables it serves. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Dynamo {
    client: Client,
    tables: TableNames,
}

impl Dynamo {
    /// Build the client once per process.
    pub async fn connect(config: &StoreConfig) -> Self {
        let sdk = sdk_config(config).await;
        Self { client: Client::new(&sdk), tables: TableNames::with_prefix(&config.table_prefix) }
    }

    pub fn tables(&self) -> &TableNames {
        &self.tables
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Check that the service answers and the tables exist (for `GET /health?deep=true`).
    pub async fn ping(&self) -> timeline_model::ports::StoreResult<()> {
        self.client.describe_table().table_name(&self.tables.users).send().await.map_err(errors::classify)?;
        Ok(())
    }

    /// Create every table that does not exist yet (local runs and tests; SAM creates them in AWS).
    pub async fn create_tables(&self) -> timeline_model::ports::StoreResult<()> {
        tables::create_all(&self.client, &self.tables).await
    }
}

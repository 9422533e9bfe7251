//! The tables: their names and their one definition. The local runner and the tests create them
//! from here; template.yaml declares the same keys, indexes and streams for AWS.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use futures::future::try_join_all;
use timeline_model::ports::StoreResult;

use super::errors::{classify, has_code};

/// Index of the follows table by follower, for "following" lists.
pub const FOLLOWS_BY_FOLLOWER: &str = "by_follower";
/// Index of the tweets table by author, newest last, for the author's tweets and backfills.
pub const TWEETS_BY_AUTHOR: &str = "by_author";
/// The TTL attribute (epoch seconds) of the tables whose items expire.
pub const EXPIRES_AT: &str = "expires_at";

/// The names of the service's tables, all carrying one prefix (a stage, a stack, or a test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableNames {
    pub users: String,
    pub usernames: String,
    pub follows: String,
    pub tweets: String,
    pub timelines: String,
    pub idempotency: String,
}

impl TableNames {
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            users: format!("{prefix}users"),
            usernames: format!("{prefix}usernames"),
            follows: format!("{prefix}follows"),
            tweets: format!("{prefix}tweets"),
            timelines: format!("{prefix}timelines"),
            idempotency: format!("{prefix}idempotency"),
        }
    }

    /// Every name, in the order of the definition.
    pub fn all(&self) -> [&str; 6] {
        [&self.users, &self.usernames, &self.follows, &self.tweets, &self.timelines, &self.idempotency]
    }
}

/// One table's shape: keys, an optional index, an optional stream and TTL attribute.
struct TableSpec<'a> {
    name: &'a str,
    key: (&'static str, Option<&'static str>),
    index: Option<(&'static str, &'static str, &'static str)>,
    stream: Option<StreamViewType>,
    ttl: bool,
}

fn specs(names: &TableNames) -> [TableSpec<'_>; 6] {
    [
        TableSpec { name: &names.users, key: ("user_id", None), index: None, stream: None, ttl: false },
        TableSpec {
            name: &names.usernames,
            key: ("username_lower", None),
            index: None,
            stream: None,
            ttl: false,
        },
        TableSpec {
            name: &names.follows,
            key: ("followee_id", Some("follower_id")),
            index: Some((FOLLOWS_BY_FOLLOWER, "follower_id", "followee_id")),
            // Follows and unfollows drive timeline backfill and removal in the fan-out.
            stream: Some(StreamViewType::KeysOnly),
            ttl: false,
        },
        TableSpec {
            name: &names.tweets,
            key: ("tweet_id", None),
            index: Some((TWEETS_BY_AUTHOR, "author_id", "tweet_id")),
            // Inserts fan out; removes carry the old image, whose author says whom to un-fan-out.
            stream: Some(StreamViewType::NewAndOldImages),
            ttl: false,
        },
        TableSpec {
            name: &names.timelines,
            key: ("owner_id", Some("tweet_id")),
            index: None,
            stream: None,
            ttl: true,
        },
        TableSpec {
            name: &names.idempotency,
            key: ("idempotency_key", None),
            index: None,
            stream: None,
            ttl: true,
        },
    ]
}

/// Whether the tables that feed the fan-out get their streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streams {
    /// As deployed: the tweets and follows streams drive the fan-out.
    On,
    /// For bulk loads that call the fan-out directly (the benchmark): DynamoDB Local writes
    /// stream-enabled tables many times slower, and the stream records outlive the tables.
    Off,
}

/// Create every missing table; existing ones are left as they are.
pub async fn create_all(client: &Client, names: &TableNames, streams: Streams) -> StoreResult<()> {
    try_join_all(specs(names).iter().map(|spec| create(client, spec, streams))).await?;
    Ok(())
}

/// Turn on the streams of tables created with [`Streams::Off`]; tables whose stream is on are
/// left alone. Returns how many streams were turned on. Bulk loads write with streams off (fast,
/// and no stream backlog for the fan-out to replay), then hand the tables over to the fan-out.
pub async fn enable_streams(client: &Client, names: &TableNames) -> StoreResult<usize> {
    let mut enabled = 0;
    for spec in specs(names) {
        let Some(view) = spec.stream else { continue };
        let described = client.describe_table().table_name(spec.name).send().await.map_err(classify)?;
        let current = described.table.and_then(|table| table.stream_specification);
        if current.is_some_and(|stream| stream.stream_enabled) {
            continue;
        }
        client
            .update_table()
            .table_name(spec.name)
            .stream_specification(stream_specification(view))
            .send()
            .await
            .map_err(classify)?;
        enabled += 1;
    }
    Ok(enabled)
}

/// Delete each of `tables` that exists (tests and benchmarks clean up after themselves).
pub async fn delete(client: &Client, tables: &[&str]) -> StoreResult<()> {
    let delete_one = |table: &str| {
        let request = client.delete_table().table_name(table);
        async move {
            match request.send().await {
                Err(error) if !has_code(&error, "ResourceNotFoundException") => Err(classify(error)),
                _ => Ok(()),
            }
        }
    };
    try_join_all(tables.iter().map(|table| delete_one(table))).await?;
    Ok(())
}

async fn create(client: &Client, spec: &TableSpec<'_>, streams: Streams) -> StoreResult<()> {
    let mut attributes = vec![spec.key.0];
    attributes.extend(spec.key.1);
    if let Some((_, hash, range)) = spec.index {
        attributes.extend([hash, range]);
    }
    attributes.sort_unstable();
    attributes.dedup();

    let mut request = client
        .create_table()
        .table_name(spec.name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes.into_iter().map(string_attribute).collect()))
        .set_key_schema(Some(key_schema(spec.key.0, spec.key.1)));
    if let Some((index, hash, range)) = spec.index {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index)
                .set_key_schema(Some(key_schema(hash, Some(range))))
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .expect("index definition is complete"),
        );
    }
    if let Some(view) = spec.stream.as_ref().filter(|_| streams == Streams::On) {
        request = request.stream_specification(stream_specification(view.clone()));
    }
    match request.send().await {
        Ok(_) => {}
        Err(error) if has_code(&error, "ResourceInUseException") => return Ok(()),
        Err(error) => return Err(classify(error)),
    }
    if spec.ttl {
        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(EXPIRES_AT)
            .build()
            .expect("ttl definition is complete");
        client
            .update_time_to_live()
            .table_name(spec.name)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(classify)?;
    }
    Ok(())
}

fn stream_specification(view: StreamViewType) -> StreamSpecification {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(view)
        .build()
        .expect("stream definition is complete")
}

fn string_attribute(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attribute definition is complete")
}

fn key_schema(hash: &str, range: Option<&str>) -> Vec<KeySchemaElement> {
    let element = |name: &str, key_type| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(key_type)
            .build()
            .expect("key definition is complete")
    };
    let mut schema = vec![element(hash, KeyType::Hash)];
    schema.extend(range.map(|r| element(r, KeyType::Range)));
    schema
}

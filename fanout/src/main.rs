//! The fan-out Lambda: a DynamoDB Streams event source mapping with partial batch responses.
//! Clients are built once per container and shared by every invocation.

use aws_lambda_events::dynamodb::Event as DynamoDbEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use timeline_fanout::Engine;
use timeline_store::{Dynamo, RedisCache, StoreConfig};

#[tokio::main]
async fn main() -> Result<(), Error> {
    timeline_store::telemetry::init_lambda_logs();
    let config = StoreConfig::from_env();
    let engine = Engine {
        dynamo: Dynamo::connect(&config).await,
        cache: RedisCache::connect(&config).await?,
        celebrity_threshold: config.fanout_threshold,
    };
    let engine = &engine;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<DynamoDbEvent>| async move {
        Ok::<_, Error>(engine.handle(&event.payload).await)
    }))
    .await
}

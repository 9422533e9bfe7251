//! The fan-out Lambda: a DynamoDB Streams event source mapping with partial batch responses.
//! Settings are read and clients built once per container and shared by every invocation;
//! metrics leave as CloudWatch Embedded Metric Format after each invocation.

use aws_lambda_events::dynamodb::Event as DynamoDbEvent;
use lambda_runtime::{Error, LambdaEvent};
use timeline_fanout::Engine;
use timeline_store::{Environment, Runner, StoreSettings};

#[tokio::main]
async fn main() -> Result<(), Error> {
    timeline_store::telemetry::init_lambda_logs();
    let settings = StoreSettings::from_env(&Environment::process(), Runner::Aws)?;
    let engine = Engine::connect(&settings).await?;
    let metrics = timeline_store::telemetry::install_emf_recorder()?;
    let engine = &engine;
    metrics_cloudwatch_embedded::lambda::handler::run(
        metrics,
        move |event: LambdaEvent<DynamoDbEvent>| async move {
            Ok::<_, Error>(engine.handle(&event.payload).await)
        },
    )
    .await
}

//! The read and write API Lambdas: one binary, deployed as two functions with their own IAM
//! (API Gateway routes GETs to one, writes to the other). Clients are built once per container;
//! metrics leave as CloudWatch Embedded Metric Format after each invocation.

use timeline_api::state::post_limit_from_env;
use timeline_api::{AppState, Authenticator, lambda_router};
use timeline_store::StoreConfig;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    timeline_store::telemetry::init_lambda_logs();
    let state =
        AppState::connect(&StoreConfig::from_env(), Authenticator::ApiGateway, post_limit_from_env()?)
            .await?;
    let metrics = timeline_store::telemetry::install_emf_recorder()?;
    metrics_cloudwatch_embedded::lambda::service::run_http(metrics, lambda_router(state)).await
}

//! The read and write API Lambdas: one binary, deployed as two functions with their own IAM
//! (API Gateway routes GETs to one, writes to the other). Settings are read and clients built
//! once per container (the cursor key from SSM Parameter Store when the environment names a
//! parameter); metrics leave as CloudWatch Embedded Metric Format after each
//! invocation.

use timeline_api::{AppState, Authenticator, lambda_router};
use timeline_store::{ApiSettings, Environment, Runner};

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    timeline_store::telemetry::init_lambda_logs();
    let env = timeline_store::secrets::read_secrets(Environment::process()).await?;
    let settings = ApiSettings::from_env(&env, Runner::Aws)?;
    let state = AppState::connect(&settings, Authenticator::ApiGateway).await?;
    let metrics = timeline_store::telemetry::install_emf_recorder()?;
    metrics_cloudwatch_embedded::lambda::service::run_http(metrics, lambda_router(state)).await
}

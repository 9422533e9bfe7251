//! `timeline-local`: run the service locally, or the small tools that go with it.
//!
//! - `serve` (default): create the tables, serve the API, run the stream poller; metrics are
//!   logged every minute as CloudWatch EMF JSON lines.
//! - `create-tables`: create the tables and exit.
//! - `token USER_ID [TTL_SECONDS]`: print a local HS256 token for USER_ID (default 24 h).

use std::process::ExitCode;

use timeline_api::auth::mint_local_token;
use timeline_service::{LocalSettings, start};
use timeline_store::Dynamo;

/// How often the local server writes its metrics (EMF JSON lines, as the Lambdas do) to stdout.
const METRICS_LOG_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

const USAGE: &str = "usage: timeline-local [serve | create-tables | token USER_ID [TTL_SECONDS]]";

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,aws_config=warn,aws_smithy_runtime=warn".into()),
        )
        .init();
    let settings = match LocalSettings::from_env() {
        Ok(settings) => settings,
        Err(error) => return fail(&error),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["serve"] => serve(&settings).await,
        ["create-tables"] => match Dynamo::connect(&settings.store).await.create_tables().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => fail(&error),
        },
        ["token", user] | ["token", user, _] => {
            let ttl = args.get(2).map_or(Ok(24 * 3600), |raw| raw.parse::<u64>());
            let Ok(ttl) = ttl else {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            };
            println!("{}", mint_local_token(&settings.jwt_secret, user, ttl));
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

async fn serve(settings: &LocalSettings) -> ExitCode {
    if let Err(error) = timeline_store::telemetry::install_metrics_log(METRICS_LOG_INTERVAL) {
        eprintln!("metrics are not logged: {error}");
    }
    let service = match start(settings).await {
        Ok(service) => service,
        Err(error) => return fail(&error),
    };
    let secret_note = if std::env::var_os("TIMELINE_JWT_SECRET").is_some() {
        "TIMELINE_JWT_SECRET".to_owned()
    } else {
        format!("the local default secret {:?}", settings.jwt_secret)
    };
    println!("timeline service listening on http://{}", service.addr);
    println!("tables prefixed {:?}; stream poller running", settings.store.table_prefix);
    println!("tokens are HS256, signed with {secret_note}; mint one with: make token USER=alice");
    match tokio::signal::ctrl_c().await {
        Ok(()) => println!("stopping"),
        Err(error) => eprintln!("cannot wait for Ctrl-C: {error}"),
    }
    ExitCode::SUCCESS
}

fn fail(error: &dyn std::error::Error) -> ExitCode {
    eprintln!("error: {error}");
    let mut source = error.source();
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    ExitCode::FAILURE
}

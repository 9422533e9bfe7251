//! `timeline-local`: run the service locally, or the small tools that go with it. Settings come
//! from the environment (`timeline_store::settings`, the README's table).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use timeline_service::{local_metrics, start, tokens};
use timeline_store::{Dynamo, Environment, LocalSettings, Streams};
use tokio::signal::unix::{SignalKind, signal};

#[derive(Parser)]
#[command(about = "Run the timeline service locally, with its stream poller, or its dev tools")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Create the tables, serve the API and run the stream poller (the default).
    Serve,
    /// Create the tables and exit.
    CreateTables,
    /// Print a local HS256 token whose `sub` is USER_ID.
    Token {
        user_id: String,
        /// How long the token is valid, in seconds.
        #[arg(default_value_t = tokens::DEFAULT_TTL_SECS)]
        ttl_seconds: u64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,aws_config=warn,aws_smithy_runtime=warn".into()),
        )
        .init();
    let settings = match LocalSettings::from_env(&Environment::process()) {
        Ok(settings) => settings,
        Err(error) => return fail(&error),
    };
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&settings).await,
        Command::CreateTables => {
            match Dynamo::connect(&settings.api.store).await.create_tables(Streams::On).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => fail(&error),
            }
        }
        Command::Token { user_id, ttl_seconds } => {
            println!("{}", tokens::mint(settings.jwt_secret.expose(), &user_id, ttl_seconds));
            ExitCode::SUCCESS
        }
    }
}

async fn serve(settings: &LocalSettings) -> ExitCode {
    let metrics_addr = match local_metrics::start(&settings.metrics).await {
        Ok(addr) => addr,
        Err(error) => return fail(&error),
    };
    let service = match start(settings).await {
        Ok(service) => service,
        Err(error) => return fail(&error),
    };
    let secret_note = if settings.uses_dev_jwt_secret() {
        format!("the local default secret {:?}", settings.jwt_secret.expose())
    } else {
        "TIMELINE_JWT_SECRET".to_owned()
    };
    if let Some(addr) = metrics_addr {
        println!("metrics for Prometheus on http://{addr}/metrics");
    }
    println!("timeline service listening on http://{}", service.addr);
    println!("web app on http://{}/app/ (sign in with any user ID)", service.addr);
    println!("tables prefixed {:?}; stream poller running", settings.api.store.table_prefix);
    println!("tokens are HS256, signed with {secret_note}; mint one with: make token USER=alice");
    match stop_requested().await {
        Ok(signal) => {
            println!("{signal}: stopping (requests in flight and the batch being applied finish first)")
        }
        Err(error) => eprintln!("cannot wait for Ctrl-C or SIGTERM: {error}"),
    }
    match service.shutdown().await {
        Ok(()) => {
            println!("stopped; the stream poller resumes from its checkpoints on the next start");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{error}; exiting anyway (the poller replays its last batch on the next start)");
            ExitCode::FAILURE
        }
    }
}

/// Wait for Ctrl-C (SIGINT) or SIGTERM (what scripts and process managers send); returns which.
async fn stop_requested() -> std::io::Result<&'static str> {
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        interrupted = tokio::signal::ctrl_c() => interrupted.map(|()| "Ctrl-C"),
        _ = terminate.recv() => Ok("SIGTERM"),
    }
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

//! `timeline-seed`: a social graph for the load tests, written straight to DynamoDB (what it
//! writes and why: `timeline_loadtest::seed`; how the suite uses it: loadtest/README.md).
//! Progress goes to stderr; the seed file to `--out`.

use std::process::ExitCode;

use clap::Parser;
use timeline_loadtest::error_chain;
use timeline_loadtest::seed::{self, args::Args};
use timeline_store::{Environment, LocalSettings};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let settings = match LocalSettings::from_env(&Environment::process()) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("timeline-seed: {error}");
            return ExitCode::from(2);
        }
    };
    match seed::run(&args, &settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("timeline-seed: {}", error_chain(&error));
            ExitCode::FAILURE
        }
    }
}

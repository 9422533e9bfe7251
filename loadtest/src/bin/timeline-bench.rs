//! `timeline-bench`: how fast one tweet fans out to a large audience, next to the ceiling that
//! the durable store sets (what a run does: `timeline_loadtest::bench`; docs/benchmarks.md).
//! Progress goes to stderr; the figures to stdout, as a table and then one JSON line.

use std::process::ExitCode;

use clap::Parser;
use timeline_loadtest::args::Args;
use timeline_loadtest::{bench, error_chain, report};
use timeline_store::{Environment, Runner, StoreSettings};

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let settings = match StoreSettings::from_env(&Environment::process(), Runner::Local) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("timeline-bench: {error}");
            return ExitCode::from(2);
        }
    };
    let mut runs = Vec::with_capacity(args.runs);
    for run in 1..=args.runs {
        eprintln!("run {run}/{}: {} followers", args.runs, args.followers);
        match bench::one_run(&args, &settings).await {
            Ok(figures) => runs.push(figures),
            Err(error) => {
                eprintln!("timeline-bench: run {run} failed: {}", error_chain(&*error));
                break;
            }
        }
    }
    if !runs.is_empty() {
        report::print_table(&args, &settings, &runs);
        println!("{}", report::json_line(&args, &runs));
    }
    if runs.len() == args.runs { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

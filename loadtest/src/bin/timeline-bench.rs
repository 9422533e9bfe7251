//! `timeline-bench`: how fast one tweet fans out to a large audience, or (`--backlog N`) how fast
//! the fan-out handler works off N queued stream records, next to the ceiling that the durable
//! store sets (what a run does: `timeline_loadtest::bench` and `timeline_loadtest::backlog`;
//! docs/benchmarks.md). Progress goes to stderr; the figures to stdout, as a table and then one
//! JSON line.

use std::process::ExitCode;

use clap::Parser;
use timeline_loadtest::args::Args;
use timeline_loadtest::{BenchResult, backlog, bench, error_chain, report};
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
    if let Some(records) = args.backlog {
        let runs = repeat(args.runs, |run| {
            eprintln!(
                "run {run}/{}: a backlog of {records} records, {} per batch",
                args.runs, args.batch_size
            );
            backlog::one_run(records, args.batch_size, &settings)
        })
        .await;
        if !runs.is_empty() {
            backlog::print(&runs);
        }
        return if runs.len() == args.runs { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    let runs = repeat(args.runs, |run| {
        eprintln!("run {run}/{}: {} followers", args.runs, args.followers);
        bench::one_run(&args, &settings)
    })
    .await;
    if !runs.is_empty() {
        report::print_table(&args, &settings, &runs);
        println!("{}", report::json_line(&args, &runs));
    }
    if runs.len() == args.runs { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Up to `count` runs, stopping at the first that fails (reported on stderr).
async fn repeat<T, Fut>(count: usize, mut run: impl FnMut(usize) -> Fut) -> Vec<T>
where
    Fut: Future<Output = BenchResult<T>>,
{
    let mut done = Vec::with_capacity(count);
    for n in 1..=count {
        match run(n).await {
            Ok(figures) => done.push(figures),
            Err(error) => {
                eprintln!("timeline-bench: run {n} failed: {}", error_chain(&*error));
                break;
            }
        }
    }
    done
}

//! `timeline-results`: plots, a markdown summary and a completeness check of the load suite's
//! results files (what each command does: `timeline_loadtest::results`).

use std::process::ExitCode;

use clap::Parser;
use timeline_loadtest::results::cli::{self, Cli};

fn main() -> ExitCode {
    cli::run(Cli::parse())
}

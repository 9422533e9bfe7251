//! The command line of `timeline-results` and what each command does with it. Exit codes: 0 ok,
//! 1 a failed check or bad data, 2 bad usage (clap's own, before anything runs).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use super::files::RunResults;
use super::{Scenario, check, machine, plots, summary};

/// Plots, a markdown summary and a completeness check of the load suite's results files
/// (`DIR/RUN-<scenario>.json`, one per scenario).
#[derive(Debug, Parser)]
#[command(name = "timeline-results", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Draw fanout.svg, read.svg, mix.svg and burst-lag.svg; a scenario without a file is skipped.
    Plot {
        #[command(flatten)]
        run: RunArgs,
        /// The directory for the SVG files (created if need be).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Print a markdown summary of the run to stdout.
    Summary {
        #[command(flatten)]
        run: RunArgs,
        /// The suite's description of the machine: a JSON object or key=value lines.
        #[arg(long, value_name = "FILE")]
        machine: Option<PathBuf>,
    },
    /// Exit 0 when each scenario's file exists and holds every figure (timings are not judged).
    Check {
        #[command(flatten)]
        run: RunArgs,
        /// A scenario to check; repeat for more. Default: every scenario.
        #[arg(long = "scenario", value_name = "NAME")]
        scenarios: Vec<Scenario>,
    },
}

/// Which run, and where its files are.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The directory of the results files.
    #[arg(long, value_name = "DIR")]
    pub results: PathBuf,
    /// The run's name, the files' prefix (like 2026-12-01).
    #[arg(long, value_name = "RUN")]
    pub run: String,
}

/// Runs the command; problems are one line each on stderr.
pub fn run(cli: Cli) -> ExitCode {
    let outcome = match cli.command {
        Command::Plot { run, out } => plot(&run, &out),
        Command::Summary { run, machine } => print_summary(&run, machine.as_ref()),
        Command::Check { run, scenarios } => check_run(&run, &scenarios),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(problems) => {
            for problem in problems {
                eprintln!("timeline-results: {problem}");
            }
            ExitCode::FAILURE
        }
    }
}

type Outcome = Result<(), Vec<String>>;

fn plot(run: &RunArgs, out: &std::path::Path) -> Outcome {
    let results = RunResults::load(&run.results, &run.run).map_err(|error| vec![error.to_string()])?;
    let plotted = plots::plot_all(&results, out).map_err(|error| vec![error.to_string()])?;
    for (file, scenario) in plotted.skipped {
        eprintln!("timeline-results: skipping {file}: no file {}-{scenario}.json", run.run);
    }
    for path in plotted.written {
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

fn print_summary(run: &RunArgs, machine: Option<&PathBuf>) -> Outcome {
    let results = RunResults::load(&run.results, &run.run).map_err(|error| vec![error.to_string()])?;
    let machine =
        machine.map(|path| machine::load(path)).transpose().map_err(|error| vec![error.to_string()])?;
    print!("{}", summary::render(&results, machine.as_ref()));
    Ok(())
}

fn check_run(run: &RunArgs, scenarios: &[Scenario]) -> Outcome {
    let scenarios = if scenarios.is_empty() { &Scenario::ALL[..] } else { scenarios };
    let problems = check::problems(&run.results, &run.run, scenarios);
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("timeline-results").chain(line.iter().copied()))
    }

    #[test]
    fn check_takes_repeated_scenarios() {
        let cli = parse(&["check", "--results", "r", "--run", "x", "--scenario", "mix", "--scenario", "lag"])
            .unwrap();
        let Command::Check { scenarios, .. } = cli.command else { panic!("{cli:?}") };
        assert_eq!(scenarios, [Scenario::Mix, Scenario::Lag]);
    }

    #[test]
    fn bad_usage_is_exit_code_2() {
        for line in [&["plot", "--results", "r", "--run", "x"][..], &["check", "--run", "x"], &["nothing"]] {
            assert_eq!(parse(line).unwrap_err().exit_code(), 2, "{line:?}");
        }
        let unknown = parse(&["check", "--results", "r", "--run", "x", "--scenario", "soak"]).unwrap_err();
        assert_eq!(unknown.exit_code(), 2);
    }
}

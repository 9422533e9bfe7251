//! `check`: did each scenario run and export its figures? A file must exist, parse and hold
//! every figure (see [`super::formats`]); no timing is ever judged here, since the CI-sized run
//! that uses this is too small for its timings to mean anything.

use std::path::Path;

use super::Scenario;
use super::files::{self, FileError};
use super::formats::{
    BurstFigures, CapFigures, DegradedFigures, FanoutFigures, Figures, LagFigures, MixFigures, ReadFigures,
};

/// One line per problem, in the order of `scenarios`; empty when every file is complete.
pub fn problems(dir: &Path, run: &str, scenarios: &[Scenario]) -> Vec<String> {
    scenarios.iter().filter_map(|&scenario| problem(dir, run, scenario)).collect()
}

fn problem(dir: &Path, run: &str, scenario: Scenario) -> Option<String> {
    let outcome = match scenario {
        Scenario::Read => present::<ReadFigures>(dir, run),
        Scenario::Mix => present::<MixFigures>(dir, run),
        Scenario::Burst => present::<BurstFigures>(dir, run),
        Scenario::Cap => present::<CapFigures>(dir, run),
        Scenario::Fanout => present::<FanoutFigures>(dir, run),
        Scenario::Lag => present::<LagFigures>(dir, run),
        Scenario::Degraded => present::<DegradedFigures>(dir, run),
    };
    outcome.err().map(|error| error.to_string())
}

fn present<F: Figures>(dir: &Path, run: &str) -> Result<(), FileError> {
    match files::load::<F>(dir, run)? {
        Some(_) => Ok(()),
        None => {
            Err(FileError { path: files::path(dir, run, F::SCENARIO), problem: "no such file".to_owned() })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixtures::{self, TempDir};

    #[test]
    fn the_fixture_run_is_complete() {
        assert_eq!(problems(&fixtures::dir(), fixtures::RUN, &Scenario::ALL), Vec::<String>::new());
    }

    #[test]
    fn one_line_per_missing_or_incomplete_file() {
        let dir = TempDir::new("check");
        let lag = std::fs::read_to_string(fixtures::dir().join("2026-12-01-lag.json")).unwrap();
        std::fs::write(
            files::path(&dir.0, fixtures::RUN, Scenario::Lag),
            lag.replace("\"lag_p95_ms\"", "\"p95\""),
        )
        .unwrap();
        let found = problems(&dir.0, fixtures::RUN, &[Scenario::Read, Scenario::Lag]);
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0], format!("{}: no such file", dir.0.join("2026-12-01-read.json").display()));
        assert!(found[1].contains("2026-12-01-lag.json: missing field `lag_p95_ms`"), "{}", found[1]);
    }
}

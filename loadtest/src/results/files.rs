//! Finding and reading a run's files. A file that is not there is `None`, not an error: a run may
//! leave scenarios out, and each command decides what that means (`plot` and `summary` note it,
//! `check` fails). A file that is there must parse and validate, or the error names it.

use std::fmt;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::Scenario;
use super::formats::{
    BurstFigures, CapFigures, DegradedFigures, FanoutFigures, Figures, LagFigures, MixFigures, ReadFigures,
    Results,
};

/// A file that could not be read, or does not hold what its format says.
#[derive(Debug, Clone, PartialEq)]
pub struct FileError {
    pub path: PathBuf,
    pub problem: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl std::error::Error for FileError {}

/// Where the suite writes a scenario's file: `DIR/RUN-<scenario>.json`.
pub fn path(dir: &Path, run: &str, scenario: Scenario) -> PathBuf {
    dir.join(format!("{run}-{scenario}.json"))
}

/// One scenario's file of `run`, or `None` when there is no such file.
pub fn load<F: Figures>(dir: &Path, run: &str) -> Result<Option<Results<F>>, FileError> {
    let path = path(dir, run, F::SCENARIO);
    let error = |problem: String| FileError { path: path.clone(), problem };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(io) if io.kind() == ErrorKind::NotFound => return Ok(None),
        Err(io) => return Err(error(io.to_string())),
    };
    let results: Results<F> = serde_json::from_str(&text).map_err(|json| error(json.to_string()))?;
    results.validate(run).map_err(error)?;
    Ok(Some(results))
}

/// Every scenario's file of a run, each when present.
#[derive(Debug, Clone)]
pub struct RunResults {
    pub run: String,
    pub read: Option<Results<ReadFigures>>,
    pub mix: Option<Results<MixFigures>>,
    pub burst: Option<Results<BurstFigures>>,
    pub cap: Option<Results<CapFigures>>,
    pub fanout: Option<Results<FanoutFigures>>,
    pub lag: Option<Results<LagFigures>>,
    pub degraded: Option<Results<DegradedFigures>>,
}

impl RunResults {
    /// All of a run's files; the first malformed one is the error.
    pub fn load(dir: &Path, run: &str) -> Result<Self, FileError> {
        Ok(RunResults {
            run: run.to_owned(),
            read: load(dir, run)?,
            mix: load(dir, run)?,
            burst: load(dir, run)?,
            cap: load(dir, run)?,
            fanout: load(dir, run)?,
            lag: load(dir, run)?,
            degraded: load(dir, run)?,
        })
    }

    pub fn has(&self, scenario: Scenario) -> bool {
        match scenario {
            Scenario::Read => self.read.is_some(),
            Scenario::Mix => self.mix.is_some(),
            Scenario::Burst => self.burst.is_some(),
            Scenario::Cap => self.cap.is_some(),
            Scenario::Fanout => self.fanout.is_some(),
            Scenario::Lag => self.lag.is_some(),
            Scenario::Degraded => self.degraded.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixtures::{self, TempDir};

    #[test]
    fn the_fixture_run_has_every_scenario() {
        let results = RunResults::load(&fixtures::dir(), fixtures::RUN).unwrap();
        assert!(Scenario::ALL.iter().all(|&scenario| results.has(scenario)));
        let fanout = results.fanout.unwrap();
        assert_eq!(
            fanout.figures.authors.iter().map(|a| a.followers).collect::<Vec<_>>(),
            [100, 1000, 10000]
        );
        assert_eq!(results.mix.unwrap().figures.knee_rate, Some(400.0));
        assert!(!results.burst.unwrap().thresholds_ok);
        assert_eq!(results.cap.unwrap().figures.settled_ms, Some(640.0));
    }

    #[test]
    fn a_missing_file_is_none() {
        let results = RunResults::load(&fixtures::dir(), "1999-01-01").unwrap();
        assert!(Scenario::ALL.iter().all(|&scenario| !results.has(scenario)));
    }

    #[test]
    fn a_malformed_file_is_named() {
        let dir = TempDir::new("malformed");
        std::fs::write(path(&dir.0, "r", Scenario::Lag), "{\"scenario\": \"lag\",").unwrap();
        let error = RunResults::load(&dir.0, "r").unwrap_err();
        assert_eq!(error.path, dir.0.join("r-lag.json"));
        assert!(error.to_string().starts_with(&format!("{}: EOF", error.path.display())), "{error}");
    }
}

//! The load suite's results: reading the scenarios' JSON files, the plots and the summary, for
//! `timeline-results`. The file formats are the contract in the suite's notes: one file per
//! scenario, `$RESULTS_DIR/$RUN-<scenario>.json`.
//!
//! - [`formats`]: the typed files (common keys and each scenario's figures) and what a file must
//!   hold beyond its types.
//! - [`files`]: finding and reading a run's files; a missing file is not an error there.
//! - [`machine`]: the suite's description of the machine (JSON or key=value).
//! - [`knee`]: what the mix scenario's knee means, for the plot and the summary alike.
//! - [`plots`]: the SVG plots (plotters, SVG backend only).
//! - [`summary`]: the markdown summary.
//! - [`check`]: whether each scenario ran and exported its figures (never a timing).
//! - [`cli`]: the command line and the exit codes.

pub mod check;
pub mod cli;
pub mod files;
pub mod formats;
pub mod knee;
pub mod machine;
pub mod plots;
pub mod summary;

use std::fmt;

/// The load suite's scenarios, in the order the suite runs and reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    Read,
    Mix,
    Burst,
    Cap,
    Fanout,
    Lag,
    Degraded,
}

impl Scenario {
    pub const ALL: [Scenario; 7] = [
        Scenario::Read,
        Scenario::Mix,
        Scenario::Burst,
        Scenario::Cap,
        Scenario::Fanout,
        Scenario::Lag,
        Scenario::Degraded,
    ];

    /// The name in file names and in the files' `scenario` key.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Read => "read",
            Scenario::Mix => "mix",
            Scenario::Burst => "burst",
            Scenario::Cap => "cap",
            Scenario::Fanout => "fanout",
            Scenario::Lag => "lag",
            Scenario::Degraded => "degraded",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A figure for people, in the summary and on the plots: whole numbers as such, else three
/// significant digits or so (2150, 31.5, 6.80, 0.22), since the runs are not more precise.
pub fn number(value: f64) -> String {
    let digits = match value.abs() {
        _ if value.fract() == 0.0 => 0,
        magnitude if magnitude >= 100.0 => 0,
        magnitude if magnitude >= 10.0 => 1,
        _ => 2,
    };
    format!("{value:.digits$}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbers_for_people() {
        let shown: Vec<String> = [400.0, 2150.4, 31.46, 6.8, 0.218, 0.0, -12.34].map(super::number).into();
        assert_eq!(shown, ["400", "2150", "31.5", "6.80", "0.22", "0", "-12.3"]);
    }
}

/// The fixtures of the tests: one small run, `2026-12-01`, with every scenario.
#[cfg(test)]
pub(crate) mod fixtures {
    use std::path::PathBuf;

    pub const RUN: &str = "2026-12-01";

    pub fn dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/results/fixtures")
    }

    /// A fresh, empty directory of this test process (removed by [`TempDir`]'s drop).
    pub struct TempDir(pub PathBuf);

    impl TempDir {
        pub fn new(name: &str) -> Self {
            let path = std::env::temp_dir().join(format!("timeline-results-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&path);
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

//! The command line of `timeline-seed`.

use std::path::PathBuf;

use clap::Parser;

use super::graph::GraphSpec;
use crate::args::positive;

/// Seed a social graph straight into DynamoDB for the load tests: users with a power-law
/// follower distribution, active readers, burst authors, optional tweet history, and a JSON
/// file of users, roles and tokens for k6. Idempotent and resumable. Reads the service's
/// TIMELINE_* settings (endpoint, table prefix, Redis, fan-out threshold, JWT secret).
#[derive(Debug, Clone, Parser)]
#[command(name = "timeline-seed", version)]
pub struct Args {
    /// Accounts in the graph (readers and burst users come on top).
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = positive())]
    pub users: usize,
    /// Zipf exponent s: the author at rank r >= 2 has TOP / (r - 1)^s followers.
    #[arg(long, value_name = "S", default_value_t = 1.0, value_parser = exponent)]
    pub zipf_exponent: f64,
    /// Followers of the most-followed regular author [default: the largest count that stays
    /// at the fan-out threshold once the readers follow it, at most 10,000].
    #[arg(long, value_name = "TOP", value_parser = positive())]
    pub top_followers: Option<usize>,
    /// Active readers per followee count.
    #[arg(long, value_name = "R", default_value_t = 20, value_parser = positive())]
    pub readers: usize,
    /// The followee counts of the active readers.
    #[arg(long, value_name = "K,...", value_delimiter = ',', default_value = "10,100,1000")]
    pub reader_followees: Vec<usize>,
    /// Follower counts of the authors the fan-out scenario posts as (the nearest are picked).
    #[arg(long, value_name = "F,...", value_delimiter = ',', default_value = "100,1000,10000")]
    pub fanout_targets: Vec<usize>,
    /// Authors with a few dedicated followers, for the burst and lag scenarios.
    #[arg(long, value_name = "B", default_value_t = 20)]
    pub burst_authors: usize,
    /// Dedicated followers per burst author.
    #[arg(long, value_name = "F", default_value_t = 3)]
    pub burst_followers: usize,
    /// History tweets per author, written before the run (0: none).
    #[arg(long, value_name = "H", default_value_t = 0)]
    pub history: usize,
    /// How many of the most-followed authors get a history [default: enough for every reader's
    /// followees, and the celebrity].
    #[arg(long, value_name = "A")]
    pub history_authors: Option<usize>,
    /// Seed of the random graph: one seed, one graph.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Where to write the seed file (the checkpoint goes beside it).
    #[arg(long, value_name = "FILE", default_value = ".local/loadtest/seed.json")]
    pub out: PathBuf,
    /// Lifetime of the tokens in the seed file, in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..))]
    pub token_ttl: u64,
    /// Ignore the checkpoint and write everything again.
    #[arg(long)]
    pub fresh: bool,
    /// Only drop the timelines table and create it again empty, then exit: the state after a
    /// restore without it, for measuring `timeline-admin rebuild --all` (the load suite does).
    #[arg(long, conflicts_with = "fresh")]
    pub empty_timelines: bool,
}

/// The most-followed regular author stops here unless told otherwise.
const DEFAULT_TOP_FOLLOWERS: usize = 10_000;

impl Args {
    pub fn graph_spec(&self, fanout_threshold: u64) -> GraphSpec {
        let readers_on_top = self.readers * self.reader_followees.len();
        let top = self.top_followers.unwrap_or_else(|| {
            let room = usize::try_from(fanout_threshold).unwrap_or(usize::MAX).saturating_sub(readers_on_top);
            room.min(DEFAULT_TOP_FOLLOWERS).min(self.users.saturating_sub(1))
        });
        GraphSpec {
            users: self.users,
            zipf_exponent: self.zipf_exponent,
            top_followers: top,
            fanout_threshold,
            readers: self.readers,
            reader_followees: self.reader_followees.clone(),
            fanout_targets: self.fanout_targets.clone(),
            burst_authors: self.burst_authors,
            burst_followers: self.burst_followers,
            seed: self.seed,
        }
    }

    /// The celebrity (rank 1) and the authors every reader follows (ranks 2 to k + 1).
    pub fn history_authors(&self) -> usize {
        let widest_reader = self.reader_followees.iter().copied().max().unwrap_or(0);
        self.history_authors.unwrap_or(widest_reader + 1)
    }
}

/// A Zipf exponent: positive and finite, so that follower counts fall with rank.
fn exponent(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(s),
        _ => Err(format!("expected a positive number such as 1.0, not {raw:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("timeline-seed").chain(line.iter().copied()))
    }

    #[test]
    fn defaults_fit_the_service_threshold_with_enough_users() {
        let args = parse(&["--users", "12000"]).unwrap();
        let spec = args.graph_spec(10_000);
        assert_eq!(spec.top_followers, 10_000 - 60, "60 readers follow the top author on top");
        assert_eq!(args.history_authors(), 1_001);
    }

    #[test]
    fn a_small_graph_caps_the_top_author() {
        let spec = parse(&["--users", "300"]).unwrap().graph_spec(5_000);
        assert_eq!(spec.top_followers, 299);
    }

    #[test]
    fn bad_numbers_are_usage_errors() {
        assert!(parse(&["--users", "0"]).is_err());
        assert!(parse(&["--reader-followees", "10,x"]).is_err());
        assert!(parse(&["--token-ttl", "-1"]).is_err());
        for exponent in ["0", "-1", "NaN", "inf", "one"] {
            assert!(parse(&["--zipf-exponent", exponent]).is_err(), "{exponent}");
        }
    }
}

//! The command line of `timeline-bench`.

use clap::Parser;
use clap::builder::RangedU64ValueParser;

use crate::bench::CACHED_ONE_IN;

/// How fast one tweet fans out to a large audience, next to the ceiling that the durable store
/// sets. Needs DynamoDB Local and Redis (`make services`); see docs/benchmarks.md.
#[derive(Debug, Clone, Copy, Parser)]
#[command(name = "timeline-bench", version)]
pub struct Args {
    /// Followers of the author; one in ten has a cached timeline.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = positive())]
    pub followers: usize,
    /// Runs, each in fresh tables and Redis keys.
    #[arg(long, value_name = "R", default_value_t = 3, value_parser = positive())]
    pub runs: usize,
    /// Followers the fan-out reads and writes per step.
    #[arg(long, value_name = "P", default_value_t = 1000, value_parser = positive())]
    pub page_size: usize,
    /// Add an instrumented fan-out to each run and report where its time goes.
    #[arg(long)]
    pub breakdown: bool,
    /// Instead of one large fan-out, time the fan-out handler working off N queued stream
    /// records (20 authors with 3 followers each) against the raw write rate.
    #[arg(long, value_name = "N", value_parser = positive())]
    pub backlog: Option<usize>,
    /// With --backlog: stream records per handler call, as the event source mapping's BatchSize.
    #[arg(long, value_name = "B", default_value_t = 100, value_parser = positive())]
    pub batch_size: usize,
}

impl Args {
    /// How many followers have a cached timeline.
    pub fn cached(&self) -> usize {
        self.followers.div_ceil(CACHED_ONE_IN)
    }
}

/// A count of at least one (the seeder's arguments use it too).
pub(crate) fn positive() -> RangedU64ValueParser<usize> {
    RangedU64ValueParser::new().range(1..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("timeline-bench").chain(line.iter().copied()))
    }

    #[test]
    fn defaults() {
        let args = parse(&[]).unwrap();
        assert_eq!((args.followers, args.runs, args.page_size, args.breakdown), (10_000, 3, 1000, false));
        assert_eq!(args.cached(), 1000);
        assert_eq!((args.backlog, args.batch_size), (None, 100));
    }

    #[test]
    fn every_flag() {
        let args =
            parse(&["--followers", "2001", "--runs", "1", "--page-size", "250", "--breakdown"]).unwrap();
        assert_eq!((args.followers, args.runs, args.page_size, args.breakdown), (2001, 1, 250, true));
        assert_eq!(args.cached(), 201);
        let args = parse(&["--backlog", "1000", "--batch-size", "10"]).unwrap();
        assert_eq!((args.backlog, args.batch_size), (Some(1000), 10));
    }

    #[test]
    fn values_must_be_positive_numbers() {
        for line in [
            ["--followers", "0"],
            ["--runs", "-1"],
            ["--page-size", "x"],
            ["--backlog", "0"],
            ["--batch-size", "0"],
        ] {
            assert!(parse(&line).is_err(), "{line:?}");
        }
        assert!(parse(&["--unknown"]).is_err());
    }
}

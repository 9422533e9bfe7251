//! The figures of every run: a table (with medians) and, with `--breakdown`, where the
//! instrumented fan-outs spent their time, then one JSON line for recording. All on stdout.

use std::time::Duration;

use timeline_store::StoreSettings;
use timeline_store::dynamo::{BATCHES_IN_FLIGHT, WRITE_CHUNK};

use crate::args::Args;
use crate::bench::RunFigures;
use crate::probe::Phase;

/// The header, a row per run, the medians, then the breakdown if any.
pub fn print_table(args: &Args, settings: &StoreSettings, runs: &[RunFigures]) {
    let endpoint = settings.dynamodb_endpoint.as_deref().unwrap_or("AWS");
    println!(
        "timeline-bench: {} followers ({} cached), page size {}, {BATCHES_IN_FLIGHT} batch writes of \
         {WRITE_CHUNK} in flight; DynamoDB {endpoint}, Redis {}",
        args.followers,
        args.cached(),
        args.page_size,
        settings.redis_url,
    );
    println!();
    println!(
        "{:<7} {:>17} {:>12} {:>6}  {:>14} {:>9} {:>8} {:>8}",
        "run",
        "fan-out entries/s",
        "raw items/s",
        "ratio",
        "fan-out wall s",
        "followers",
        "durable",
        "cached",
    );
    for (n, run) in runs.iter().enumerate() {
        println!(
            "{:<7} {:>17.0} {:>12.0} {:>6.2}  {:>14.3} {:>9} {:>8} {:>8}",
            n + 1,
            run.fanout_rate(),
            run.raw_rate(),
            run.ratio(),
            run.fanout.as_secs_f64(),
            run.report.followers,
            run.report.durable_entries,
            run.report.cached_entries,
        );
    }
    println!(
        "{:<7} {:>17.0} {:>12.0} {:>6.2}  {:>14.3}",
        "median",
        median(column(runs, RunFigures::fanout_rate)),
        median(column(runs, RunFigures::raw_rate)),
        median(column(runs, RunFigures::ratio)),
        median(column(runs, |r| r.fanout.as_secs_f64())),
    );
    print_breakdown(runs);
    println!();
}

fn print_breakdown(runs: &[RunFigures]) {
    if runs.iter().all(|run| run.phases.is_none()) {
        return;
    }
    println!();
    println!("instrumented fan-out, seconds (share of its wall time):");
    println!(
        "{:<7} {:>8} {:>16} {:>16} {:>16} {:>16}",
        "run", "wall", "read followers", "write DynamoDB", "write Redis", "other"
    );
    for (n, phases) in runs.iter().enumerate().filter_map(|(n, run)| Some((n, run.phases.as_ref()?))) {
        let share = |d: Duration| {
            format!("{:.3} ({:>3.0}%)", d.as_secs_f64(), 100.0 * d.as_secs_f64() / phases.wall.as_secs_f64())
        };
        println!(
            "{:<7} {:>8.3} {:>16} {:>16} {:>16} {:>16}",
            n + 1,
            phases.wall.as_secs_f64(),
            share(phases.of(Phase::Followers)),
            share(phases.of(Phase::Durable)),
            share(phases.of(Phase::Cache)),
            share(phases.other()),
        );
    }
}

/// The figures as one JSON object, for recording.
pub fn json_line(args: &Args, runs: &[RunFigures]) -> String {
    let columns: [(&str, Vec<f64>, usize); 4] = [
        ("fanout_entries_per_s", column(runs, RunFigures::fanout_rate), 0),
        ("raw_items_per_s", column(runs, RunFigures::raw_rate), 0),
        ("ratio", column(runs, RunFigures::ratio), 3),
        ("fanout_wall_s", column(runs, |r| r.fanout.as_secs_f64()), 3),
    ];
    let per_run: Vec<String> = columns
        .iter()
        .map(|(name, values, places)| {
            let listed: Vec<String> = values.iter().map(|v| format!("{v:.places$}")).collect();
            format!("\"{name}\":[{}]", listed.join(","))
        })
        .collect();
    let medians: Vec<String> = columns
        .iter()
        .map(|(name, values, places)| format!("\"{name}\":{:.places$}", median(values.clone())))
        .collect();
    format!(
        "{{\"bench\":\"timeline-fanout\",\"followers\":{},\"cached_followers\":{},\"page_size\":{},\
         \"in_flight\":{BATCHES_IN_FLIGHT},\"runs\":{},{},\"median\":{{{}}}}}",
        args.followers,
        args.cached(),
        args.page_size,
        runs.len(),
        per_run.join(","),
        medians.join(","),
    )
}

/// One column of the figures, a value per run.
fn column(runs: &[RunFigures], value: impl Fn(&RunFigures) -> f64) -> Vec<f64> {
    runs.iter().map(value).collect()
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    if values.len() % 2 == 1 { values[middle] } else { (values[middle - 1] + values[middle]) / 2.0 }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use timeline_model::fanout::FanoutReport;

    use super::*;
    use crate::bench::RawWrite;

    fn run(durable_entries: usize, fanout_ms: u64, raw_ms: u64) -> RunFigures {
        RunFigures {
            report: FanoutReport { followers: 100, durable_entries, cached_entries: 10 },
            fanout: Duration::from_millis(fanout_ms),
            raw: RawWrite { items: 100, elapsed: Duration::from_millis(raw_ms) },
            phases: None,
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    #[test]
    fn json_line_lists_each_run_then_the_medians() {
        let args = Args::parse_from(["timeline-bench", "--followers", "100", "--runs", "2"]);
        let runs = [run(101, 100, 50), run(101, 200, 50)];
        assert_eq!(
            json_line(&args, &runs),
            "{\"bench\":\"timeline-fanout\",\"followers\":100,\"cached_followers\":10,\"page_size\":1000,\
             \"in_flight\":8,\"runs\":2,\"fanout_entries_per_s\":[1010,505],\"raw_items_per_s\":[2000,2000],\
             \"ratio\":[0.505,0.253],\"fanout_wall_s\":[0.100,0.200],\"median\":{\"fanout_entries_per_s\":758,\
             \"raw_items_per_s\":2000,\"ratio\":0.379,\"fanout_wall_s\":0.150}}"
        );
    }
}

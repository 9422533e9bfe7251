//! The markdown summary of a run: the machine, then one section per scenario with its headline
//! figures as tables. A scenario without a file gets a line saying so, and one whose k6
//! thresholds failed says that first, so a glance at the summary cannot miss either.

use super::files::RunResults;
use super::formats::{
    BurstFigures, CapFigures, DegradedFigures, FanoutFigures, Figures, LagFigures, MixFigures, ReadFigures,
    Results,
};
use super::knee::Knee;
use super::machine::Machine;
use super::{Scenario, number};

/// The whole summary, ending in a newline.
pub fn render(results: &RunResults, machine: Option<&Machine>) -> String {
    let mut out = Markdown::default();
    out.heading(1, &format!("Load suite results: run {}", results.run));
    if let Some(machine) = machine {
        machine_section(&mut out, machine);
    }
    for scenario in Scenario::ALL {
        match scenario {
            Scenario::Read => section(&mut out, &results.run, results.read.as_ref(), read),
            Scenario::Mix => section(&mut out, &results.run, results.mix.as_ref(), mix),
            Scenario::Burst => section(&mut out, &results.run, results.burst.as_ref(), burst),
            Scenario::Cap => section(&mut out, &results.run, results.cap.as_ref(), cap),
            Scenario::Fanout => section(&mut out, &results.run, results.fanout.as_ref(), fanout),
            Scenario::Lag => section(&mut out, &results.run, results.lag.as_ref(), lag),
            Scenario::Degraded => section(&mut out, &results.run, results.degraded.as_ref(), degraded),
        }
    }
    out.0
}

fn machine_section(out: &mut Markdown, machine: &Machine) {
    out.heading(2, "Machine");
    let rows = machine.iter().map(|(key, value)| vec![key.clone(), value.clone()]).collect();
    out.table_aligned(&["key", "value"], rows, "---");
}

/// A scenario's heading, its common keys, then its own tables (`figures`).
fn section<F: Figures>(
    out: &mut Markdown,
    run: &str,
    results: Option<&Results<F>>,
    figures: fn(&mut Markdown, &F),
) {
    let scenario = F::SCENARIO;
    out.heading(2, scenario.name());
    let Some(results) = results else {
        return out.paragraph(&format!("_Not run: no file `{run}-{scenario}.json`._"));
    };
    if !results.thresholds_ok {
        out.paragraph("**Thresholds failed**: at least one k6 threshold of this scenario did not pass.");
    }
    out.paragraph(&format!(
        "{} s from {} against {}.",
        number(results.duration_s),
        results.started_at,
        results.base_url
    ));
    figures(out, &results.figures);
    if !results.slo.is_empty() {
        let conditions: Vec<String> = results
            .slo
            .iter()
            .map(|(metric, conditions)| format!("`{metric}`: `{}`", conditions.join("`, `")))
            .collect();
        out.paragraph(&format!("Thresholds: {}.", conditions.join("; ")));
    }
}

fn read(out: &mut Markdown, figures: &ReadFigures) {
    let headers = [
        "read rate (req/s)",
        "/health rate (req/s)",
        "ratio",
        "read p50 (ms)",
        "read p99 (ms)",
        "/health p50 (ms)",
        "/health p99 (ms)",
        "VUs",
    ];
    let row = [
        figures.read_rate,
        figures.health_rate,
        figures.ratio,
        figures.read_p50_ms,
        figures.read_p99_ms,
        figures.health_p50_ms,
        figures.health_p99_ms,
    ];
    out.table(&headers, vec![numbers(&row).into_iter().chain([figures.vus.to_string()]).collect()]);
    let rows = figures
        .by_followees
        .iter()
        .map(|row| {
            vec![row.followees.to_string(), row.requests.to_string(), number(row.p50_ms), number(row.p99_ms)]
        })
        .collect();
    out.table(&["followees", "requests", "p50 (ms)", "p99 (ms)"], rows);
}

fn mix(out: &mut Markdown, figures: &MixFigures) {
    out.paragraph(&format!(
        "**{}** (p99 SLO {} ms, steps of {} s).",
        Knee::of(figures).describe(),
        number(figures.slo_p99_ms),
        number(figures.step_s)
    ));
    let headers =
        ["offered (req/s)", "achieved (req/s)", "p50 (ms)", "p99 (ms)", "failed (/s)", "within SLO"];
    let rows = figures
        .steps
        .iter()
        .map(|step| {
            let within = if step.within_slo { "yes" } else { "**no**" };
            let figures = [step.offered_rate, step.achieved_rate, step.p50_ms, step.p99_ms, step.failed_rate];
            numbers(&figures).into_iter().chain([within.to_owned()]).collect()
        })
        .collect();
    out.table(&headers, rows);
}

fn burst(out: &mut Markdown, figures: &BurstFigures) {
    let headers = [
        "posts",
        "post rate (/s)",
        "lag p50 (ms)",
        "lag p99 (ms)",
        "lag max (ms)",
        "of it, write p99 (ms)",
        "from the 201, p99 (ms)",
        "drain (ms)",
        "missed",
    ];
    let lags = [figures.post_rate, figures.lag_p50_ms, figures.lag_p99_ms, figures.lag_max_ms];
    let optional = |figure: Option<f64>| figure.map_or_else(|| "-".to_owned(), number);
    let (write, after_201) = (optional(figures.write_p99_ms), optional(figures.after_201_p99_ms));
    let row = [figures.posts.to_string()].into_iter().chain(numbers(&lags)).chain([
        write,
        after_201,
        number(figures.drain_ms),
        figures.missed.to_string(),
    ]);
    out.table(&headers, vec![row.collect()]);
}

/// A timeline that never settled reads "never" in bold, like a step outside the mix's SLO.
fn cap(out: &mut Markdown, figures: &CapFigures) {
    let headers = [
        "posts",
        "post rate (/s)",
        "cap",
        "followers",
        "exact",
        "settled after last 201 (ms)",
        "first full read (ms)",
    ];
    let settled = figures.settled_ms.map_or_else(|| "**never**".to_owned(), number);
    let counts = [figures.cap, figures.followers, figures.exact].map(|count| count.to_string());
    let row = [figures.posts.to_string(), number(figures.post_rate)]
        .into_iter()
        .chain(counts)
        .chain([settled, number(figures.first_check_ms)]);
    out.table(&headers, vec![row.collect()]);
}

fn fanout(out: &mut Markdown, figures: &FanoutFigures) {
    let headers = ["followers", "sampled", "first timeline (ms)", "all sampled (ms)", "missed"];
    let rows = figures
        .authors
        .iter()
        .map(|author| {
            let times = numbers(&[author.first_ms, author.all_ms]);
            [author.followers.to_string(), author.sampled.to_string()]
                .into_iter()
                .chain(times)
                .chain([author.missed.to_string()])
                .collect()
        })
        .collect();
    out.table(&headers, rows);
}

fn lag(out: &mut Markdown, figures: &LagFigures) {
    let headers =
        ["post rate (/s)", "posts", "lag p50 (ms)", "lag p95 (ms)", "lag p99 (ms)", "lag max (ms)", "missed"];
    let lags = [figures.lag_p50_ms, figures.lag_p95_ms, figures.lag_p99_ms, figures.lag_max_ms];
    let row = [number(figures.rate), figures.posts.to_string()]
        .into_iter()
        .chain(numbers(&lags))
        .chain([figures.missed.to_string()]);
    out.table(&headers, vec![row.collect()]);
}

fn degraded(out: &mut Markdown, figures: &DegradedFigures) {
    let headers = ["read rate (req/s)", "read p50 (ms)", "read p99 (ms)", "failed", "VUs"];
    let row = numbers(&[figures.degraded_rate, figures.degraded_p50_ms, figures.degraded_p99_ms])
        .into_iter()
        .chain([figures.degraded_failed.to_string(), figures.vus.to_string()]);
    out.table(&headers, vec![row.collect()]);
}

fn numbers(values: &[f64]) -> Vec<String> {
    values.iter().copied().map(number).collect()
}

/// Markdown blocks, each followed by a blank line.
#[derive(Default)]
struct Markdown(String);

impl Markdown {
    fn heading(&mut self, level: usize, text: &str) {
        self.block(&format!("{} {text}", "#".repeat(level)));
    }

    fn paragraph(&mut self, text: &str) {
        self.block(text);
    }

    /// A table of figures: right-aligned.
    fn table(&mut self, headers: &[&str], rows: Vec<Vec<String>>) {
        self.table_aligned(headers, rows, "---:");
    }

    fn table_aligned(&mut self, headers: &[&str], rows: Vec<Vec<String>>, align: &str) {
        let mut lines = vec![row_line(headers), row_line(&vec![align; headers.len()])];
        lines.extend(rows.iter().map(|row| row_line(row)));
        self.block(&lines.join("\n"));
    }

    fn block(&mut self, text: &str) {
        if !self.0.is_empty() {
            self.0.push('\n');
        }
        self.0.push_str(text);
        self.0.push('\n');
    }
}

fn row_line<S: AsRef<str>>(cells: &[S]) -> String {
    let cells: Vec<&str> = cells.iter().map(|cell| cell.as_ref()).collect();
    format!("| {} |", cells.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixtures;
    use crate::results::machine;

    fn fixture_summary() -> String {
        let results = RunResults::load(&fixtures::dir(), fixtures::RUN).unwrap();
        let machine = machine::load(&fixtures::dir().join("2026-12-01-machine.txt")).unwrap();
        render(&results, Some(&machine))
    }

    #[test]
    fn every_section_in_order() {
        let summary = fixture_summary();
        let headings: Vec<&str> = summary.lines().filter(|line| line.starts_with('#')).collect();
        let expected = [
            "# Load suite results: run 2026-12-01",
            "## Machine",
            "## read",
            "## mix",
            "## burst",
            "## cap",
            "## fanout",
            "## lag",
            "## degraded",
        ];
        assert_eq!(headings, expected);
        assert!(summary.contains("| cores | 2 |\n| memory_mb | 7940 |"), "{summary}");
    }

    #[test]
    fn headline_figures() {
        let summary = fixture_summary();
        assert!(summary.contains("| 2150 | 9870 | 0.22 | 6.80 | 31.5 | 1.10 | 4.20 | 32 |"), "{summary}");
        assert!(summary.contains("| 100 | 42800 | 6.70 | 27.9 |"), "{summary}");
        assert!(summary.contains("**knee at 400 req/s** (p99 SLO 200 ms, steps of 30 s)."), "{summary}");
        assert!(summary.contains("| 800 | 611 | 48 | 412 | 2.50 | **no** |"), "{summary}");
        assert!(summary.contains("| 2000 | 400 | 81.6 | 330 | 454 | 61.2 | 212 | 1250 | 0 |"), "{summary}");
        assert!(summary.contains("| 820 | 312 | 800 | 3 | 3 | 640 | 85 |"), "{summary}");
        assert!(summary.contains("| 10000 | 20 | 15.8 | 910 | 1 |"), "{summary}");
        assert!(summary.contains("| 5 | 600 | 35.2 | 71.9 | 118 | 201 | 0 |"), "{summary}");
        assert!(summary.contains("| 310 | 21.3 | 44.8 | 0 | 8 |"), "{summary}");
    }

    #[test]
    fn failed_thresholds_are_said_once_where_they_failed() {
        let summary = fixture_summary();
        assert_eq!(summary.matches("**Thresholds failed**").count(), 1);
        let burst = &summary[summary.find("## burst").unwrap()..summary.find("## cap").unwrap()];
        assert!(burst.contains("**Thresholds failed**"));
        assert!(burst.contains("Thresholds: `fanout_lag_ms`: `p(99)<300`."), "{burst}");
    }

    #[test]
    fn a_cap_that_never_settled_says_so() {
        let mut results = RunResults::load(&fixtures::dir(), fixtures::RUN).unwrap();
        let cap = results.cap.as_mut().unwrap();
        (cap.figures.exact, cap.figures.settled_ms) = (1, None);
        let summary = render(&results, None);
        assert!(summary.contains("| 820 | 312 | 800 | 3 | 1 | **never** | 85 |"), "{summary}");
    }

    #[test]
    fn a_missing_scenario_is_a_line_not_an_error() {
        let mut results = RunResults::load(&fixtures::dir(), fixtures::RUN).unwrap();
        results.mix = None;
        let summary = render(&results, None);
        assert!(!summary.contains("## Machine"));
        assert!(
            summary.contains("## mix\n\n_Not run: no file `2026-12-01-mix.json`._\n\n## burst"),
            "{summary}"
        );
    }
}

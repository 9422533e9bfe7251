//! The local server's metrics: the names the Lambdas send to CloudWatch as EMF
//! (`timeline_store::telemetry`), kept here in a Prometheus recorder. EMF's own local flushing
//! holds at most 100 values of a histogram between flushes and logs an error for every value
//! beyond, hundreds of lines a second under load; this recorder keeps rolling quantiles
//! instead, in bounded memory.
//!
//! Two ways to read them: `/metrics` on a port of its own (so a scraper never competes with
//! the API for a connection), and one log line per interval with what happened in it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::get;
use metrics_exporter_prometheus::{BuildError, PrometheusBuilder, PrometheusHandle};
use timeline_store::MetricsSettings;
use timeline_store::telemetry::SERVICE_DIMENSION;

/// How often histograms are drained into their rolling summaries, which bounds their memory
/// whether or not anything scrapes or summarises.
const UPKEEP_EVERY: Duration = Duration::from_secs(5);
/// The log target of the summary line: `RUST_LOG=warn,metrics_summary=info` keeps only it.
const SUMMARY_TARGET: &str = "metrics_summary";

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("the metrics recorder cannot be installed")]
    Install(#[from] BuildError),
    #[error("cannot serve metrics on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

/// Install the process's recorder, serve `/metrics` and log summaries as `settings` say;
/// returns the address the endpoint listens on, if any. The tasks run until the process ends.
pub async fn start(settings: &MetricsSettings) -> Result<Option<SocketAddr>, MetricsError> {
    let handle = PrometheusBuilder::new()
        .add_global_label(SERVICE_DIMENSION.0, SERVICE_DIMENSION.1)
        .install_recorder()?;
    tokio::spawn(upkeep(handle.clone(), settings.summary_every));
    let Some(addr) = settings.addr else { return Ok(None) };
    let bind_error = |source| MetricsError::Bind { addr, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    let app = axum::Router::new().route("/metrics", get(move || std::future::ready(handle.render())));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics endpoint stopped");
        }
    });
    Ok(Some(bound))
}

async fn upkeep(handle: PrometheusHandle, summary_every: Option<Duration>) {
    let mut ticks = tokio::time::interval(UPKEEP_EVERY);
    let mut last_summary = tokio::time::Instant::now();
    let mut previous = Totals::default();
    loop {
        ticks.tick().await;
        handle.run_upkeep();
        let Some(every) = summary_every else { continue };
        if last_summary.elapsed() + UPKEEP_EVERY / 2 < every {
            continue;
        }
        last_summary = tokio::time::Instant::now();
        let line = summarise(&handle.render(), &mut previous);
        tracing::info!(target: SUMMARY_TARGET, "last {} s: {line}", every.as_secs());
    }
}

/// Counter totals and histogram counts at the last summary, by series.
type Totals = HashMap<String, f64>;

/// One line from the Prometheus text format: each counter's increase and each histogram's
/// count, p50 and p99 since `previous` (then updated), gauges as they stand; series that did
/// not move are left out. Parsing our own renderer's output keeps one source of truth for
/// what was recorded; the exporter offers no other read access.
fn summarise(rendered: &str, previous: &mut Totals) -> String {
    let mut kinds = HashMap::new();
    let mut quantiles: HashMap<String, (f64, f64)> = HashMap::new();
    let mut parts = Vec::new();
    for line in rendered.lines() {
        if let Some(declaration) = line.strip_prefix("# TYPE ") {
            if let Some((name, kind)) = declaration.split_once(' ') {
                kinds.insert(name.to_owned(), kind.to_owned());
            }
            continue;
        }
        let Some(sample) = Sample::parse(line) else { continue };
        match (kinds.get(sample.name).map(String::as_str), sample.quantile) {
            (Some("summary"), Some("0.5")) => quantiles.entry(sample.series()).or_default().0 = sample.value,
            (Some("summary"), Some("0.99")) => quantiles.entry(sample.series()).or_default().1 = sample.value,
            (Some("counter"), None) => {
                let increase = increase(previous, sample.series(), sample.value);
                if increase > 0.0 {
                    parts.push(format!("{} +{increase}", sample.series()));
                }
            }
            (Some("gauge"), None) => parts.push(format!("{} {}", sample.series(), sample.value)),
            _ => {
                let Some(base) = sample.name.strip_suffix("_count") else { continue };
                if kinds.get(base).map(String::as_str) != Some("summary") {
                    continue;
                }
                let series = Sample { name: base, ..sample }.series();
                let count = increase(previous, format!("{series}#count"), sample.value);
                if count > 0.0 {
                    let (p50, p99) = quantiles.get(&series).copied().unwrap_or_default();
                    parts.push(format!("{series} n={count} p50={p50:.0} p99={p99:.0}"));
                }
            }
        }
    }
    if parts.is_empty() { "nothing recorded".to_owned() } else { parts.join(", ") }
}

/// `total` minus the last total of `series`, which becomes `total`.
fn increase(previous: &mut Totals, series: String, total: f64) -> f64 {
    let last = previous.insert(series, total).unwrap_or(0.0);
    total - last
}

/// One sample line: `name{label="value",...} value`.
#[derive(Clone, Copy)]
struct Sample<'a> {
    name: &'a str,
    labels: &'a str,
    quantile: Option<&'a str>,
    value: f64,
}

impl<'a> Sample<'a> {
    fn parse(line: &'a str) -> Option<Self> {
        let (series, value) = line.rsplit_once(' ')?;
        let value = value.parse().ok()?;
        let (name, labels) = match series.split_once('{') {
            Some((name, labels)) => (name, labels.strip_suffix('}')?),
            None => (series, ""),
        };
        let quantile =
            labels.split(',').find_map(|label| label.strip_prefix("quantile=\"")?.strip_suffix('"'));
        Some(Self { name, labels, quantile, value })
    }

    /// The name with its labels other than `service` (on every series) and `quantile`.
    fn series(&self) -> String {
        let service = format!("{}=\"{}\"", SERVICE_DIMENSION.0, SERVICE_DIMENSION.1);
        let mut shown = String::from(self.name);
        let labels =
            self.labels.split(',').filter(|l| !l.is_empty() && *l != service && !l.starts_with("quantile="));
        for (i, label) in labels.enumerate() {
            let _ = write!(shown, "{}{}", if i == 0 { '{' } else { ',' }, label.replace('"', ""));
        }
        if shown.len() > self.name.len() {
            shown.push('}');
        }
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RENDERED: &str = r#"# TYPE FanoutEntriesWritten counter
FanoutEntriesWritten{service="timeline",store="redis"} 300
FanoutEntriesWritten{service="timeline",store="dynamodb"} 0

# TYPE FanoutLagMs summary
FanoutLagMs{service="timeline",quantile="0"} 3
FanoutLagMs{service="timeline",quantile="0.5"} 12.4
FanoutLagMs{service="timeline",quantile="0.99"} 80.2
FanoutLagMs_sum{service="timeline"} 2000
FanoutLagMs_count{service="timeline"} 150
"#;

    #[test]
    fn a_summary_shows_increases_and_quantiles_of_what_moved() {
        let mut previous = Totals::default();
        assert_eq!(
            summarise(RENDERED, &mut previous),
            "FanoutEntriesWritten{store=redis} +300, FanoutLagMs n=150 p50=12 p99=80"
        );
        let later = RENDERED.replace("} 300", "} 420");
        assert_eq!(summarise(&later, &mut previous), "FanoutEntriesWritten{store=redis} +120");
        assert_eq!(summarise(&later, &mut previous), "nothing recorded");
    }
}

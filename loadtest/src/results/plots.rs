//! The run's plots, as SVG files drawn with plotters' SVG backend.
//!
//! Text needs no font file: without plotters' `ttf` or `ab_glyph` features its text layout is a
//! crude estimate from the character count, and the SVG backend writes each label as a `<text>`
//! element with a generic `font-family` that the viewer renders with its own fonts. So the plots
//! need neither a font on the machine that draws them nor a font stack in the build.

use std::error::Error;
use std::fmt;
use std::path::{Path, PathBuf};

use plotters::chart::DualCoordChartContext;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::files::RunResults;
use super::formats::{
    BurstFigures, FanoutAuthor, FanoutFigures, LagFigures, MixFigures, MixStep, ReadFigures, Results,
};
use super::knee::Knee;
use super::{Scenario, number};

/// The plots, each with the scenario whose file it draws.
pub const PLOTS: [(&str, Scenario); 4] = [
    ("fanout.svg", Scenario::Fanout),
    ("read.svg", Scenario::Read),
    ("mix.svg", Scenario::Mix),
    ("burst-lag.svg", Scenario::Burst),
];

const SIZE: (u32, u32) = (960, 600);
/// A generic family: every SVG viewer has one (see the module's comment).
const FONT: &str = "sans-serif";
const BLUE_: RGBColor = RGBColor(31, 119, 180);
const RED_: RGBColor = RGBColor(214, 39, 40);
const GREEN_: RGBColor = RGBColor(44, 160, 44);
const ORANGE: RGBColor = RGBColor(255, 127, 14);
const GREY: RGBColor = RGBColor(110, 110, 110);

type Drawn = Result<(), Box<dyn Error>>;
type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// A plot that could not be written.
#[derive(Debug)]
pub struct PlotError {
    pub path: PathBuf,
    pub problem: String,
}

impl fmt::Display for PlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

impl Error for PlotError {}

/// What [`plot_all`] did: the files written, and the plots skipped for want of their scenario.
#[derive(Debug, Default)]
pub struct Plotted {
    pub written: Vec<PathBuf>,
    pub skipped: Vec<(&'static str, Scenario)>,
}

/// Every plot whose scenario the run has, into `out` (created if need be).
pub fn plot_all(results: &RunResults, out: &Path) -> Result<Plotted, PlotError> {
    let error = |path: &Path, problem: String| PlotError { path: path.to_owned(), problem };
    std::fs::create_dir_all(out).map_err(|io| error(out, io.to_string()))?;
    let mut plotted = Plotted::default();
    for (file, scenario) in PLOTS {
        let path = out.join(file);
        let run = results.run.as_str();
        let drawn = match scenario {
            Scenario::Fanout => {
                results.fanout.as_ref().map(|fanout_results| fanout(fanout_results, run, &path))
            }
            Scenario::Read => results.read.as_ref().map(|read_results| read(read_results, run, &path)),
            Scenario::Mix => results.mix.as_ref().map(|mix_results| mix(mix_results, run, &path)),
            Scenario::Burst => {
                results.burst.as_ref().map(|burst| burst_lag(burst, results.lag.as_ref(), run, &path))
            }
            // lag is drawn beside burst; cap's and degraded's figures are a table row, nothing to plot
            Scenario::Lag | Scenario::Cap | Scenario::Degraded => None,
        };
        match drawn {
            None => plotted.skipped.push((file, scenario)),
            Some(Ok(())) => plotted.written.push(path),
            Some(Err(problem)) => return Err(error(&path, problem.to_string())),
        }
    }
    Ok(plotted)
}

/// Fan-out time against the author's follower count: to the first and to all sampled timelines.
fn fanout(results: &Results<FanoutFigures>, run: &str, path: &Path) -> Drawn {
    let authors = &results.figures.authors;
    let root = canvas(path)?;
    let (x, _) = log_axis(authors.iter().map(|author| author.followers));
    let y = 0.0..headroom(authors.iter().flat_map(|author| [author.first_ms, author.all_ms]));
    let mut chart =
        builder(&root, &format!("Fan-out time by follower count (run {run})")).build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc("followers of the author (log scale)")
        .y_desc("time from post to timelines (ms)")
        .x_label_formatter(&|followers| number(*followers))
        .y_label_formatter(&|ms| number(*ms))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    let points = |time: fn(&FanoutAuthor) -> f64| {
        sorted(authors.iter().map(|author| (author.followers as f64, time(author))))
    };
    series(
        &mut chart,
        &points(|author| author.all_ms),
        (RED_, Values::Above),
        "all sampled timelines (all_ms)",
    )?;
    series(
        &mut chart,
        &points(|author| author.first_ms),
        (BLUE_, Values::Below),
        "first sampled timeline (first_ms)",
    )?;
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present()?;
    Ok(())
}

/// Timeline read latency against the reader's followee count, with `/health` as the floor.
fn read(results: &Results<ReadFigures>, run: &str, path: &Path) -> Drawn {
    let figures = &results.figures;
    let rows = &figures.by_followees;
    let root = canvas(path)?;
    let (x, (low, high)) = log_axis(rows.iter().map(|row| row.followees));
    let y = 0.0..headroom(rows.iter().map(|row| row.p99_ms).chain([figures.health_p99_ms]));
    let title = format!("Timeline read latency by followee count (run {run})");
    let mut chart = builder(&root, &title).build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .x_desc("accounts the reader follows (log scale)")
        .y_desc("GET /timeline latency (ms)")
        .x_label_formatter(&|followees| number(*followees))
        .y_label_formatter(&|ms| number(*ms))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    let points = |latency: fn(&(f64, f64, f64)) -> f64| {
        sorted(
            rows.iter().map(|row| (row.followees as f64, row.p50_ms, row.p99_ms)).map(|r| (r.0, latency(&r))),
        )
    };
    series(&mut chart, &points(|row| row.2), (RED_, Values::Above), "p99")?;
    series(&mut chart, &points(|row| row.1), (BLUE_, Values::Below), "p50")?;
    let health = format!("GET /health p99 ({} ms)", number(figures.health_p99_ms));
    reference(&mut chart, (low, high), figures.health_p99_ms, GREY, &health)?;
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present()?;
    Ok(())
}

/// Latency and achieved rate against the offered rate, with the SLO and the knee.
fn mix(results: &Results<MixFigures>, run: &str, path: &Path) -> Drawn {
    let figures = &results.figures;
    let steps = &figures.steps;
    let root = canvas(path)?;
    let x_max = headroom(steps.iter().map(|step| step.offered_rate));
    let y_max = headroom(steps.iter().map(|step| step.p99_ms).chain([figures.slo_p99_ms]));
    let rate_max = headroom(steps.iter().flat_map(|step| [step.offered_rate, step.achieved_rate]));
    let title = format!("Mixed load: latency and throughput by offered rate (run {run})");
    let mut chart = builder(&root, &title)
        .right_y_label_area_size(70)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?
        .set_secondary_coord(0.0..x_max, 0.0..rate_max);
    mix_axes(&mut chart)?;
    let by_rate = |of: fn(&MixStep) -> f64| sorted(steps.iter().map(|step| (step.offered_rate, of(step))));
    series(&mut chart, &by_rate(|step| step.p99_ms), (RED_, Values::Hidden), "p99 latency")?;
    series(&mut chart, &by_rate(|step| step.p50_ms), (BLUE_, Values::Hidden), "p50 latency")?;
    let slo = format!("p99 SLO ({} ms)", number(figures.slo_p99_ms));
    reference(&mut chart, (0.0, x_max), figures.slo_p99_ms, RED_, &slo)?;
    knee(&mut chart, Knee::of(figures), y_max)?;
    achieved_rate(&mut chart, &by_rate(|step| step.achieved_rate), x_max)?;
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present()?;
    Ok(())
}

/// Two linear axes, for the mix's latency (left) and rate (right).
type MixChart<'a, 'b> = DualCoordChartContext<'a, SVGBackend<'b>, Linear, Linear>;
type Linear = Cartesian2d<RangedCoordf64, RangedCoordf64>;

fn mix_axes(chart: &mut MixChart<'_, '_>) -> Drawn {
    chart
        .configure_mesh()
        .x_desc("offered rate (requests/s)")
        .y_desc("latency (ms)")
        .x_label_formatter(&|rate| number(*rate))
        .y_label_formatter(&|ms| number(*ms))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    chart
        .configure_secondary_axes()
        .y_desc("achieved rate (requests/s)")
        .y_label_formatter(&|rate| number(*rate))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    Ok(())
}

/// The achieved rate on the right axis, beside the diagonal where it would equal the offered one.
fn achieved_rate(chart: &mut MixChart<'_, '_>, achieved: &[(f64, f64)], x_max: f64) -> Drawn {
    chart
        .draw_secondary_series(LineSeries::new(achieved.iter().copied(), GREEN_.stroke_width(2)))?
        .label("achieved rate (right axis)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], GREEN_.stroke_width(2)));
    chart.draw_secondary_series(achieved.iter().map(|&point| Circle::new(point, 4, GREEN_.filled())))?;
    chart
        .draw_secondary_series(dashed([(0.0, 0.0), (x_max, x_max)], GREEN_))?
        .label("achieved = offered (right axis)")
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], GREEN_));
    Ok(())
}

/// The knee as a vertical line when there is one, else its explanation in the legend.
fn knee<CT>(chart: &mut ChartContext<'_, SVGBackend<'_>, CT>, knee: Knee, y_max: f64) -> Drawn
where
    CT: CoordTranslate<From = (f64, f64)>,
{
    let line = match knee {
        Knee::At(rate) => vec![(rate, 0.0), (rate, y_max)],
        _ => Vec::new(),
    };
    chart
        .draw_series(dashed(line, BLACK))?
        .label(knee.describe())
        .legend(|(x, y)| PathElement::new([(x + 10, y - 6), (x + 10, y + 6)], BLACK.stroke_width(2)));
    Ok(())
}

/// The burst's lag as an empirical quantile function, with the steady lag scenario's quantiles.
fn burst_lag(
    results: &Results<BurstFigures>,
    lag: Option<&Results<LagFigures>>,
    run: &str,
    path: &Path,
) -> Drawn {
    let figures = &results.figures;
    let steady: Vec<(f64, f64)> = lag
        .map(|lag| {
            let lag = &lag.figures;
            vec![(0.5, lag.lag_p50_ms), (0.95, lag.lag_p95_ms), (0.99, lag.lag_p99_ms)]
        })
        .unwrap_or_default();
    let quantiles: Vec<(f64, f64)> =
        figures.lag_quantiles.iter().map(|quantile| (quantile.q, quantile.ms)).collect();
    let root = canvas(path)?;
    let y = 0.0..headroom(quantiles.iter().chain(&steady).map(|&(_, ms)| ms));
    let title = format!("Burst: fan-out lag distribution (run {run})");
    let mut chart = builder(&root, &title).build_cartesian_2d(0.0..1.0, y)?;
    chart
        .configure_mesh()
        .x_desc("quantile q (share of posts that reached their followers within the lag)")
        .y_desc("lag from post to follower timeline (ms)")
        .y_label_formatter(&|ms| number(*ms))
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()?;
    let burst = format!(
        "burst: {} posts at {}/s (p50 {}, p99 {}, max {} ms)",
        figures.posts,
        number(figures.post_rate),
        number(figures.lag_p50_ms),
        number(figures.lag_p99_ms),
        number(figures.lag_max_ms)
    );
    chart
        .draw_series(LineSeries::new(quantiles, ORANGE.stroke_width(2)))?
        .label(burst)
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], ORANGE.stroke_width(2)));
    if let Some(lag) = lag {
        let label =
            format!("steady rate, lag scenario: {} posts/s (p50, p95, p99)", number(lag.figures.rate));
        points(&mut chart, &steady, (GREEN_, Values::Above), &label)?;
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present()?;
    Ok(())
}

fn canvas(path: &Path) -> Result<Area<'_>, Box<dyn Error>> {
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    Ok(root)
}

fn builder<'a, 'b>(root: &'a Area<'b>, title: &str) -> ChartBuilder<'a, 'b, SVGBackend<'b>> {
    let mut builder = ChartBuilder::on(root);
    builder.caption(title, (FONT, 24)).margin(20).x_label_area_size(55).y_label_area_size(75);
    builder
}

/// A log axis over positive counts, with half a decade of room either side; also its ends.
fn log_axis(counts: impl Iterator<Item = u64>) -> (LogCoord<f64>, (f64, f64)) {
    let (low, high) = counts
        .fold((f64::MAX, 0.0_f64), |(low, high), count| (low.min(count as f64), high.max(count as f64)));
    let (low, high) = (low / 2.0, high * 2.0);
    ((low..high).log_scale().into(), (low, high))
}

/// The top of a linear axis from zero: 15% above the largest value (1 when all are zero).
fn headroom(values: impl Iterator<Item = f64>) -> f64 {
    let largest = values.fold(0.0_f64, f64::max);
    if largest > 0.0 { largest * 1.15 } else { 1.0 }
}

fn sorted(points: impl Iterator<Item = (f64, f64)>) -> Vec<(f64, f64)> {
    let mut points: Vec<_> = points.collect();
    points.sort_by(|a, b| a.0.total_cmp(&b.0));
    points
}

fn dashed(
    points: impl IntoIterator<Item = (f64, f64), IntoIter: Clone>,
    color: RGBColor,
) -> DashedLineSeries<impl Iterator<Item = (f64, f64)> + Clone, i32> {
    DashedLineSeries::new(points, 8, 5, color.stroke_width(1))
}

/// Where a point's value is written: above it, below it (for the lower of two close series), or
/// nowhere (when the points are too many or too close for it).
#[derive(Debug, Clone, Copy)]
enum Values {
    Above,
    Below,
    Hidden,
}

impl Values {
    /// The text's offset from the point, in pixels.
    fn offset(self) -> Option<(i32, i32)> {
        match self {
            Values::Above => Some((7, -18)),
            Values::Below => Some((7, 5)),
            Values::Hidden => None,
        }
    }
}

/// A dashed horizontal line at `y` across `x`, in the legend.
fn reference<CT>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, CT>,
    (from, to): (f64, f64),
    y: f64,
    color: RGBColor,
    label: &str,
) -> Drawn
where
    CT: CoordTranslate<From = (f64, f64)>,
{
    chart
        .draw_series(dashed([(from, y), (to, y)], color))?
        .label(label)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color));
    Ok(())
}

/// A line through the points, each point marked.
fn series<CT>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, CT>,
    line: &[(f64, f64)],
    (color, values): (RGBColor, Values),
    label: &str,
) -> Drawn
where
    CT: CoordTranslate<From = (f64, f64)>,
{
    chart
        .draw_series(LineSeries::new(line.iter().copied(), color.stroke_width(2)))?
        .label(label)
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], color.stroke_width(2)));
    points(chart, line, (color, values), "")
}

/// Marked points, with their values; in the legend when `label` is not empty.
fn points<CT>(
    chart: &mut ChartContext<'_, SVGBackend<'_>, CT>,
    points: &[(f64, f64)],
    (color, values): (RGBColor, Values),
    label: &str,
) -> Drawn
where
    CT: CoordTranslate<From = (f64, f64)>,
{
    let font = (FONT, 13).into_font().color(&color);
    let marked = points.iter().map(|&(x, y)| {
        let marker = EmptyElement::at((x, y)) + Circle::new((0, 0), 4, color.filled());
        // Hidden values are empty texts: the element's type is the same for every point.
        let (text, offset) = values.offset().map_or((String::new(), (0, 0)), |offset| (number(y), offset));
        marker + Text::new(text, offset, font.clone())
    });
    let annotation = chart.draw_series(marked)?;
    if !label.is_empty() {
        annotation.label(label).legend(move |(x, y)| Circle::new((x + 10, y), 4, color.filled()));
    }
    Ok(())
}

fn legend<'a, 'b: 'a, CT>(
    chart: &mut ChartContext<'a, SVGBackend<'b>, CT>,
    position: SeriesLabelPosition,
) -> Drawn
where
    CT: CoordTranslate,
{
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(GREY)
        .label_font((FONT, 14))
        .position(position)
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::fixtures::{self, TempDir};

    fn svg(dir: &Path, file: &str) -> String {
        std::fs::read_to_string(dir.join(file)).unwrap()
    }

    #[test]
    fn every_plot_of_the_fixture_run() {
        let out = TempDir::new("plots");
        let results = RunResults::load(&fixtures::dir(), fixtures::RUN).unwrap();
        let plotted = plot_all(&results, &out.0.join("plots")).unwrap();
        assert!(plotted.skipped.is_empty());
        assert_eq!(plotted.written.len(), 4);
        let titles = [
            ("fanout.svg", "Fan-out time by follower count (run 2026-12-01)"),
            ("read.svg", "Timeline read latency by followee count (run 2026-12-01)"),
            ("mix.svg", "Mixed load: latency and throughput by offered rate (run 2026-12-01)"),
            ("burst-lag.svg", "Burst: fan-out lag distribution (run 2026-12-01)"),
        ];
        for (file, title) in titles {
            let text = svg(&out.0.join("plots"), file);
            assert!(text.starts_with("<svg") && text.trim_end().ends_with("</svg>"), "{file}");
            assert!(text.contains(title), "{file} has no title {title:?}");
            assert!(text.contains("<polyline"), "{file} has no line");
        }
        let mix = svg(&out.0.join("plots"), "mix.svg");
        assert!(mix.contains("knee at 400 req/s") && mix.contains("p99 SLO (200 ms)"));
        assert!(svg(&out.0.join("plots"), "read.svg").contains("GET /health p99 (4.20 ms)"));
        assert!(svg(&out.0.join("plots"), "burst-lag.svg").contains("steady rate, lag scenario: 5 posts/s"));
    }

    #[test]
    fn a_mix_without_a_knee_says_why() {
        let out = TempDir::new("plots-no-knee");
        let mut results = RunResults::load(&fixtures::dir(), fixtures::RUN).unwrap();
        let mix = results.mix.as_mut().unwrap();
        mix.figures.knee_rate = None;
        mix.figures.steps.iter_mut().for_each(|step| step.within_slo = true);
        plot_all(&results, &out.0).unwrap();
        assert!(svg(&out.0, "mix.svg").contains("no knee: within the SLO at every step, up to 1600 req/s"));
    }

    #[test]
    fn a_cap_run_alone_draws_nothing() {
        let out = TempDir::new("plots-cap");
        let mut results = RunResults::load(&fixtures::dir(), fixtures::RUN).unwrap();
        (results.read, results.mix, results.burst, results.fanout, results.lag) =
            (None, None, None, None, None);
        let plotted = plot_all(&results, &out.0).unwrap();
        assert!(plotted.written.is_empty());
        assert_eq!(plotted.skipped.len(), PLOTS.len());
        assert_eq!(std::fs::read_dir(&out.0).unwrap().count(), 0);
    }

    #[test]
    fn a_missing_scenario_is_skipped() {
        let out = TempDir::new("plots-skipped");
        let mut results = RunResults::load(&fixtures::dir(), fixtures::RUN).unwrap();
        results.read = None;
        results.lag = None;
        let plotted = plot_all(&results, &out.0).unwrap();
        assert_eq!(plotted.skipped, [("read.svg", Scenario::Read)]);
        assert!(!out.0.join("read.svg").exists());
        assert!(!svg(&out.0, "burst-lag.svg").contains("lag scenario"));
    }
}

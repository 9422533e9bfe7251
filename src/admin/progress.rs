//! What a long run shows on stderr: a bar on a terminal (done/total, the run's own figure, rate,
//! ETA); elsewhere (CI, a log file) a plain line every [`LINE_EVERY`], so a run of hours shows
//! it is alive without filling the log. And the pacing that keeps a run under `--rate`.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

const LINE_EVERY: Duration = Duration::from_secs(10);

pub struct Progress {
    bar: ProgressBar,
    /// What is counted: "users", "records".
    unit: &'static str,
    plain: bool,
    last_line: Mutex<Instant>,
}

impl Progress {
    /// `total` when known (or estimated), for the bar's length and ETA.
    pub fn new(command: &str, unit: &'static str, total: Option<u64>) -> Self {
        let template = match total {
            Some(_) => "{prefix} [{bar:30}] {human_pos}/{human_len} {msg} {per_sec} eta {eta}",
            None => "{prefix} {spinner} {human_pos} {msg} {per_sec}",
        };
        let bar = ProgressBar::new(total.unwrap_or(0)).with_prefix(command.to_owned());
        bar.set_style(
            ProgressStyle::with_template(template).expect("the template is valid").progress_chars("=> "),
        );
        let plain = !std::io::stderr().is_terminal();
        if plain {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        Self { bar, unit, plain, last_line: Mutex::new(Instant::now()) }
    }

    /// `done` more done; `figure` is the run's own count so far ("12 drifted", "3,200 entries").
    pub fn advance(&self, done: u64, figure: &str) {
        self.bar.inc(done);
        self.bar.set_message(format!("{} {figure}", self.unit));
        if self.bar.length().is_some_and(|length| self.bar.position() > length) {
            // The estimate of the total was low: grow it rather than overflow the bar.
            self.bar.set_length(self.bar.position());
        }
        let mut last = self.last_line.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.plain && last.elapsed() >= LINE_EVERY {
            *last = Instant::now();
            let total =
                self.bar.length().filter(|&length| length > 0).map(|l| format!("/{l}")).unwrap_or_default();
            eprintln!("{}: {}{total} {}, {figure}", self.bar.prefix(), self.bar.position(), self.unit);
        }
    }

    /// The last line: how many were done, in how long, how fast, and `summary`.
    pub fn finish(&self, summary: &str) {
        // Read before finishing: finishing moves the bar to its length.
        let (seconds, done) = (self.bar.elapsed().as_secs_f64(), self.bar.position());
        self.bar.finish_and_clear();
        eprintln!(
            "{}: {done} {} in {seconds:.1} s ({:.0} {}/s), {summary}",
            self.bar.prefix(),
            self.unit,
            done as f64 / seconds.max(1e-3),
            self.unit,
        );
    }
}

/// Holds a run to at most `rate` items a second, over the run so far: a burst after a slow
/// spell is allowed up to the average, never past it. Shared by the tasks of a run. (A token
/// bucket crate would do the same in more code than this.)
pub struct Pacer {
    rate: Option<u32>,
    started: Instant,
    items: AtomicU64,
}

impl Pacer {
    pub fn new(rate: Option<u32>) -> Self {
        Self { rate, started: Instant::now(), items: AtomicU64::new(0) }
    }

    /// Wait until `items` more may be written: until the items reserved before them are due.
    pub async fn reserve(&self, items: u64) {
        let before = self.items.fetch_add(items, Ordering::Relaxed);
        if let Some(rate) = self.rate {
            let due = Duration::from_secs_f64(before as f64 / f64::from(rate));
            tokio::time::sleep(due.saturating_sub(self.started.elapsed())).await;
        }
    }
}

//! `timeline-admin`: operator tools over the same stores and model code as the Lambdas. Settings
//! come from the service's environment (`TIMELINE_DYNAMODB_ENDPOINT`, `TIMELINE_REDIS_URL`,
//! `TIMELINE_TABLE_PREFIX`, ...; the README's table); `--aws` drops the local endpoint default,
//! for a stack reached with the default credential chain.
//!
//! - `verify`: each user's durable and cached timelines against the truth
//!   (`timeline_model::truth`), optionally repaired.
//! - `rebuild`: the truth written into each user's timelines, drifted or not.
//!
//! Exit codes: 0 nothing drifted (or all repaired), 1 drift found and not repaired, 2 bad usage,
//! 3 a backend unavailable.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use std::io::IsTerminal;
use std::pin::pin;
use std::sync::Mutex;

use clap::{Parser, Subcommand};
use futures::{Stream, StreamExt, stream};
use indicatif::{ProgressBar, ProgressStyle};
use rand::seq::IndexedRandom;
use serde::Serialize;
use timeline_model::UserId;
use timeline_model::ports::{StoreResult, TimelineCache, TimelineStore};
use timeline_model::timeline::TIMELINE_CAP;
use timeline_model::truth::{Drift, Truth, cache_differs, home_truth};
use timeline_service::error_chain;
use timeline_store::{Dynamo, Environment, RedisCache, Runner, StoreSettings};

/// Users examined at once (each is a dozen queries, most of them small).
const USERS_IN_FLIGHT: usize = 16;

/// Entries read past the cap from a durable timeline: it is trimmed only by rebuilds.
const DURABLE_SLACK: usize = 200;

#[derive(Parser)]
#[command(about = "Operator tools of the timeline service")]
struct Cli {
    /// Against a stack in AWS: no local DynamoDB endpoint unless TIMELINE_DYNAMODB_ENDPOINT says so.
    #[arg(long, global = true)]
    aws: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Recompute users' home timelines from the source tables and compare them with the
    /// durable timeline and, where cached, the Redis one.
    Verify {
        /// A user to check (repeatable).
        #[arg(long = "user", value_name = "ID", required_unless_present = "all")]
        users: Vec<String>,
        /// Every user (a Scan of the profiles).
        #[arg(long, conflicts_with = "users")]
        all: bool,
        /// Check only this many of them, picked at random.
        #[arg(long, value_name = "N")]
        sample: Option<usize>,
        /// Rewrite each drifted timeline: durably, and the cached copy dropped so that the
        /// next read refills it. Exits 0 once every one was repaired.
        #[arg(long)]
        repair: bool,
        /// One JSON object on stdout instead of lines.
        #[arg(long)]
        json: bool,
    },
    /// Write the truth into users' durable timelines (add what is missing, remove what is
    /// extra) and drop their cached copies, drifted or not.
    Rebuild {
        /// A user to rebuild (repeatable).
        #[arg(long = "user", value_name = "ID", required_unless_present = "all")]
        users: Vec<String>,
        /// Every user (a Scan of the profiles).
        #[arg(long, conflicts_with = "users")]
        all: bool,
        /// Say what would be written, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// At most this many entries written per second, to spare a production table's capacity.
        #[arg(long, value_name = "ITEMS_PER_S", value_parser = clap::value_parser!(u32).range(1..))]
        rate: Option<u32>,
    },
}

/// What `verify` found for one user.
#[derive(Serialize)]
struct UserDrift {
    user_id: UserId,
    missing: usize,
    extra: usize,
    cache_differs: bool,
}

#[derive(Serialize)]
struct Report {
    users_checked: usize,
    users_with_drift: usize,
    repaired: usize,
    drift: Vec<UserDrift>,
}

const DRIFT: u8 = 1;
const USAGE: u8 = 2;
const UNAVAILABLE: u8 = 3;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let runner = if cli.aws { Runner::Aws } else { Runner::Local };
    let settings = match StoreSettings::from_env(&Environment::process(), runner) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(USAGE);
        }
    };
    let (users, all) = match &cli.command {
        Command::Verify { users, all, .. } | Command::Rebuild { users, all, .. } => (users, *all),
    };
    let users: Vec<UserId> = match users.iter().map(|raw| UserId::parse(raw)).collect() {
        Ok(users) => users,
        Err(error) => {
            eprintln!("error: --user: {error}");
            return ExitCode::from(USAGE);
        }
    };
    let outcome = async {
        let stores = Stores::connect(&settings).await?;
        let users = if all { stores.dynamo.every_user_id().await? } else { users };
        match cli.command {
            Command::Verify { repair, json, sample, .. } => {
                let users = match sample {
                    Some(n) => users.choose_multiple(&mut rand::rng(), n).cloned().collect(),
                    None => users,
                };
                stores.verify(users, repair, json).await
            }
            Command::Rebuild { dry_run, rate, .. } => stores.rebuild(users, dry_run, rate).await,
        }
    };
    match outcome.await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            ExitCode::from(UNAVAILABLE)
        }
    }
}

/// The service's own adapters, built once.
struct Stores {
    dynamo: Dynamo,
    cache: RedisCache,
}

/// One user's timelines beside the truth.
struct Examined {
    truth: Truth,
    drift: Drift,
    cache_differs: bool,
}

impl Stores {
    async fn connect(settings: &StoreSettings) -> StoreResult<Self> {
        Ok(Self { dynamo: Dynamo::connect(settings).await, cache: RedisCache::connect(settings).await? })
    }

    /// Each user examined, `USERS_IN_FLIGHT` at a time, in the order they finish. Writes stay
    /// with the caller, one user at a time, so a `--rate` pause holds the reads back too.
    fn examined(&self, users: Vec<UserId>) -> impl Stream<Item = StoreResult<(UserId, Examined)>> + '_ {
        stream::iter(users)
            .map(move |user| async move {
                let examined = self.examine(&user).await?;
                Ok((user, examined))
            })
            .buffer_unordered(USERS_IN_FLIGHT)
    }

    async fn examine(&self, user: &UserId) -> StoreResult<Examined> {
        let truth = home_truth(&self.dynamo, &self.dynamo, &self.dynamo, user).await?;
        let durable = self.dynamo.newest(user, None, TIMELINE_CAP + DURABLE_SLACK).await?;
        let drift = Drift::between(&truth, &durable);
        // Only where the cache holds the timeline; an unreachable cache is a backend down.
        let cache_differs = match self.cache.page(user, None, TIMELINE_CAP).await? {
            Some(page) => cache_differs(&truth, &durable, &page.ids),
            None => false,
        };
        Ok(Examined { truth, drift, cache_differs })
    }

    /// Make the durable timeline agree with the truth and drop the cached copy: the next read
    /// rebuilds it from the durable one, through the same single-flight fill as any miss.
    async fn repair(&self, user: &UserId, drift: &Drift) -> StoreResult<()> {
        self.dynamo.insert(&drift.missing).await?;
        TimelineStore::remove(&self.dynamo, &drift.extra).await?;
        self.cache.evict(user).await
    }

    async fn verify(&self, users: Vec<UserId>, repair: bool, json: bool) -> StoreResult<ExitCode> {
        let mut report =
            Report { users_checked: users.len(), users_with_drift: 0, repaired: 0, drift: Vec::new() };
        let progress = Progress::new("verify", users.len());
        let mut examined = pin!(self.examined(users));
        while let Some(next) = examined.next().await {
            let (user, Examined { drift, cache_differs, .. }) = next?;
            progress.user_done(report.users_with_drift);
            if drift.is_empty() && !cache_differs {
                continue;
            }
            report.users_with_drift += 1;
            if repair {
                self.repair(&user, &drift).await?;
                report.repaired += 1;
            }
            let (missing, extra) = (drift.missing.len(), drift.extra.len());
            report.drift.push(UserDrift { user_id: user, missing, extra, cache_differs });
        }
        progress.finish(report.users_with_drift);
        report.drift.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        if json {
            println!("{}", serde_json::to_string(&report).expect("a report serialises"));
        } else {
            for user in &report.drift {
                let cache = if user.cache_differs { ", cached copy differs" } else { "" };
                println!("{}: {} missing, {} extra{cache}", user.user_id, user.missing, user.extra);
            }
            println!(
                "{} users checked, {} with drift, {} repaired",
                report.users_checked, report.users_with_drift, report.repaired
            );
        }
        let clean = report.users_with_drift == report.repaired;
        Ok(if clean { ExitCode::SUCCESS } else { ExitCode::from(DRIFT) })
    }

    async fn rebuild(&self, users: Vec<UserId>, dry_run: bool, rate: Option<u32>) -> StoreResult<ExitCode> {
        let started = Instant::now();
        let (mut added, mut removed, mut entries) = (0, 0, 0);
        let (progress, count) = (Progress::new("rebuild", users.len()), users.len());
        let mut examined = pin!(self.examined(users));
        while let Some(next) = examined.next().await {
            let (user, Examined { truth, drift, .. }) = next?;
            (added, removed, entries) =
                (added + drift.missing.len(), removed + drift.extra.len(), entries + truth.entries.len());
            progress.user_done(added + removed);
            if dry_run {
                continue;
            }
            self.repair(&user, &drift).await?;
            if let Some(rate) = rate {
                // Paced on the writes so far: the run never gets ahead of `rate` items a second.
                let due = Duration::from_secs_f64((added + removed) as f64 / f64::from(rate));
                tokio::time::sleep(due.saturating_sub(started.elapsed())).await;
            }
        }
        progress.finish(added + removed);
        let seconds = started.elapsed().as_secs_f64();
        let verb = if dry_run { "would add" } else { "added" };
        println!(
            "{count} users ({entries} entries in their truth): {verb} {added}, {} {removed}, in {seconds:.1} s ({:.0} users/s)",
            if dry_run { "would remove" } else { "removed" },
            count as f64 / seconds.max(1e-3),
        );
        Ok(ExitCode::SUCCESS)
    }
}

/// Progress on stderr: a bar on a terminal; elsewhere (CI, a log) a plain line every
/// `LINE_EVERY`, so a long `--all` run shows it is alive.
struct Progress {
    bar: ProgressBar,
    plain: bool,
    last_line: Mutex<Instant>,
}

const LINE_EVERY: Duration = Duration::from_secs(10);

impl Progress {
    fn new(what: &str, users: usize) -> Self {
        let bar = ProgressBar::new(users as u64).with_prefix(what.to_owned());
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {human_pos}/{human_len} users {per_sec} eta {eta} {msg}",
            )
            .expect("the template is valid")
            .progress_chars("=> "),
        );
        Self { bar, plain: !std::io::stderr().is_terminal(), last_line: Mutex::new(Instant::now()) }
    }

    /// One more user done; `count` is the run's figure so far (users drifted, entries written).
    fn user_done(&self, count: usize) {
        self.bar.inc(1);
        self.bar.set_message(count.to_string());
        let mut last = self.last_line.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.plain && last.elapsed() >= LINE_EVERY {
            *last = Instant::now();
            eprintln!(
                "{}: {}/{} users, {count} so far",
                self.bar.prefix(),
                self.bar.position(),
                self.bar.length().unwrap_or(0)
            );
        }
    }

    fn finish(&self, count: usize) {
        self.bar.finish_and_clear();
        let seconds = self.bar.elapsed().as_secs_f64();
        let users = self.bar.position();
        eprintln!(
            "{}: {users} users in {seconds:.1} s ({:.0} users/s), {count}",
            self.bar.prefix(),
            users as f64 / seconds.max(1e-3)
        );
    }
}

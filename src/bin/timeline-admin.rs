//! `timeline-admin`: operator tools over the same stores, model code and fan-out handler as the
//! Lambdas (`timeline_service::admin`). Settings come from the service's environment
//! (`TIMELINE_DYNAMODB_ENDPOINT`, `TIMELINE_REDIS_URL`, `TIMELINE_TABLE_PREFIX`, ...; the
//! README's table); `--aws` drops the local endpoint default, for a stack reached with the
//! default credential chain.
//!
//! Exit codes: 0 done (nothing drifted, or all repaired), 1 drift found and not repaired, 2 bad
//! usage, 3 a backend unavailable, 130 stopped by Ctrl-C (a checkpointed run resumes).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use rand::seq::IndexedRandom;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use timeline_model::{Timestamp, UserId};
use timeline_service::admin::progress::{Pacer, Progress};
use timeline_service::admin::replay::{FailureRecord, Range, Table};
use timeline_service::admin::timelines::Report;
use timeline_service::admin::walk::{Selection, Walked};
use timeline_service::admin::warm;
use timeline_service::admin::{Admin, AdminResult, DRIFT, INTERRUPTED, USAGE};
use timeline_service::error_chain;
use timeline_store::{Environment, Runner, StoreSettings, TableNames};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(about = "Operator tools of the timeline service")]
struct Cli {
    /// Against a stack in AWS: no local DynamoDB endpoint unless TIMELINE_DYNAMODB_ENDPOINT says so.
    #[arg(long, global = true)]
    aws: bool,
    #[command(subcommand)]
    command: Command,
}

/// The users a command visits.
#[derive(Args)]
struct Users {
    /// A user (repeatable).
    #[arg(long = "user", value_name = "ID", required_unless_present_any = ["all", "sample"])]
    users: Vec<String>,
    /// Every user: a Scan of the profiles, in --segments parallel segments.
    #[arg(long, conflicts_with = "users")]
    all: bool,
    /// Parallel segments of the Scan of every user (with --all).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    segments: u32,
    /// Only this many users, picked at random (among every user, or those named).
    #[arg(long, value_name = "N")]
    sample: Option<usize>,
}

#[derive(Subcommand)]
enum Command {
    /// Recompute users' home timelines from the source tables and compare them with the
    /// durable timeline and, where cached, the Redis one.
    Verify {
        #[command(flatten)]
        users: Users,
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
        #[command(flatten)]
        users: Users,
        /// With --all: keep the walk's place in FILE; run again with it to resume after Ctrl-C or a crash.
        #[arg(long, value_name = "FILE")]
        checkpoint: Option<PathBuf>,
        /// Say what would be written, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// At most this many entries written per second, to spare a production table's capacity.
        #[arg(long, value_name = "ITEMS_PER_S", value_parser = clap::value_parser!(u32).range(1..))]
        rate: Option<u32>,
    },
    /// Feed a table's stream, or the range of one on-failure record, to the fan-out handler.
    Replay {
        /// The table whose stream to read.
        #[arg(long, value_enum, required_unless_present = "failure_record")]
        table: Option<Table>,
        /// From the oldest record (trim-horizon) or the first created at this time (RFC 3339).
        #[arg(long, value_name = "trim-horizon|RFC3339", value_parser = parse_from, required_unless_present = "failure_record", conflicts_with = "failure_record")]
        from: Option<Start>,
        /// Up to the records created at this time (RFC 3339); by default the replay's start.
        #[arg(long, value_name = "RFC3339", value_parser = parse_time, requires = "from")]
        to: Option<OffsetDateTime>,
        /// The JSON Lambda sent to the on-failure destination: exactly its range is replayed.
        #[arg(long, value_name = "FILE", conflicts_with = "table")]
        failure_record: Option<PathBuf>,
    },
    /// Refill users' cached timelines from the durable ones (after a failover brought an empty
    /// or stale cache).
    Warm {
        /// The users, one ID per line (`-`: stdin).
        #[arg(long = "users", value_name = "FILE", required_unless_present = "active_since")]
        users_file: Option<PathBuf>,
        /// Every user who read their timeline within this span (`30m`, `12h`, `7d`), as the
        /// read path records it, to the day.
        #[arg(long, value_name = "DURATION", value_parser = parse_span, conflicts_with = "users_file")]
        active_since: Option<std::time::Duration>,
        /// At most this many entries cached per second.
        #[arg(long, value_name = "ITEMS_PER_S", value_parser = clap::value_parser!(u32).range(1..))]
        rate: Option<u32>,
    },
    /// Copy a backup's users, usernames, follows and tweets tables (restored or imported beside
    /// this deployment's, under another prefix) into this deployment's; then `rebuild --all`.
    Restore {
        /// The table prefix of the restored tables, e.g. `restore-` for `restore-tweets`.
        #[arg(long, value_name = "PREFIX")]
        from_prefix: String,
        /// Parallel segments of the Scan of each table.
        #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1000))]
        segments: u32,
        /// At most this many items written per second.
        #[arg(long, value_name = "ITEMS_PER_S", value_parser = clap::value_parser!(u32).range(1..))]
        rate: Option<u32>,
    },
}

#[derive(Clone, Copy)]
enum Start {
    TrimHorizon,
    At(OffsetDateTime),
}

fn parse_time(raw: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(raw, &Rfc3339)
        .map_err(|_| format!("expected an RFC 3339 time such as 2026-12-01T10:00:00Z, got {raw:?}"))
}

fn parse_span(raw: &str) -> Result<std::time::Duration, String> {
    timeline_model::limits::parse_span(raw)
        .ok_or_else(|| format!("expected a span such as 30m, 12h or 7d, got {raw:?}"))
}

fn parse_from(raw: &str) -> Result<Start, String> {
    if raw == "trim-horizon" { Ok(Start::TrimHorizon) } else { parse_time(raw).map(Start::At) }
}

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
    match run(cli.command, &settings, stop_on_ctrl_c()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            ExitCode::from(error.exit_code())
        }
    }
}

/// The first Ctrl-C (or SIGTERM) stops the run after the user or batch in hand; a second one
/// exits at once.
fn stop_on_ctrl_c() -> CancellationToken {
    let stop = CancellationToken::new();
    let stopping = stop.clone();
    tokio::spawn(async move {
        let Ok(mut terminate) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        eprintln!("stopping after the work in hand (Ctrl-C again to quit at once)");
        stopping.cancel();
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(i32::from(INTERRUPTED));
        }
    });
    stop
}

async fn run(command: Command, settings: &StoreSettings, stop: CancellationToken) -> AdminResult<ExitCode> {
    match command {
        Command::Verify { users, repair, json } => {
            let selection = match users.selection(None) {
                Ok(selection) => selection,
                Err(code) => return Ok(code),
            };
            let admin = Admin::connect(settings, stop).await?;
            let progress = Progress::new("verify", "users", admin.estimate(&selection).await);
            let (report, walked) = admin.verify(selection, repair, &progress).await?;
            progress.finish(&format!("{} with drift, {} repaired", report.users_with_drift, report.repaired));
            print_report(&report, json);
            let clean = report.users_with_drift == report.repaired;
            Ok(exit_code(walked, if clean { ExitCode::SUCCESS } else { ExitCode::from(DRIFT) }))
        }
        Command::Rebuild { users, checkpoint, dry_run, rate } => {
            let selection = match users.selection(checkpoint) {
                Ok(selection) => selection,
                Err(code) => return Ok(code),
            };
            let admin = Admin::connect(settings, stop).await?;
            let progress = Progress::new("rebuild", "users", admin.estimate(&selection).await);
            let (rebuilt, walked) = admin.rebuild(selection, dry_run, &Pacer::new(rate), &progress).await?;
            let (add, remove) = if dry_run { ("would add", "would remove") } else { ("added", "removed") };
            let summary = format!(
                "{} entries in their truth: {add} {}, {remove} {}",
                rebuilt.entries, rebuilt.added, rebuilt.removed
            );
            progress.finish(&summary);
            println!("{} users ({summary})", rebuilt.users);
            Ok(exit_code(walked, ExitCode::SUCCESS))
        }
        Command::Replay { table, from, to, failure_record } => {
            let range = match (failure_record, table, from) {
                (Some(path), ..) => Range::Failed(FailureRecord::read(&path)?),
                (None, Some(table), Some(from)) => Range::Window {
                    table,
                    from: match from {
                        Start::TrimHorizon => None,
                        Start::At(time) => Some(time),
                    },
                    to: to.unwrap_or_else(OffsetDateTime::now_utc),
                },
                _ => unreachable!("clap requires --table and --from without --failure-record"),
            };
            let admin = Admin::connect(settings, stop).await?;
            let progress = Progress::new("replay", "records", None);
            let (replayed, walked) = admin.replay(range, &progress).await?;
            progress.finish(&format!("{} shards", replayed.shards));
            println!("{} records replayed from {} shards", replayed.records, replayed.shards);
            Ok(exit_code(walked, ExitCode::SUCCESS))
        }
        Command::Warm { users_file, active_since, rate } => {
            let selection = match (users_file, active_since) {
                (Some(path), _) => Selection::Named(warm::users_file(&path)?),
                (None, span) => {
                    let span = span.expect("clap requires --users or --active-since");
                    let now = Timestamp::now().unix_millis();
                    let since = Timestamp::from_unix_millis(now.saturating_sub(span.as_millis() as u64));
                    Selection::Every { segments: 1, checkpoint: None, seen_since: Some(since) }
                }
            };
            let admin = Admin::connect(settings, stop).await?;
            let progress = Progress::new("warm", "users", admin.estimate(&selection).await);
            let (warmed, walked) = admin.warm(selection, &Pacer::new(rate), &progress).await?;
            progress.finish(&format!("{} entries cached", warmed.entries));
            println!("{} users warmed, {} entries cached", warmed.users, warmed.entries);
            Ok(exit_code(walked, ExitCode::SUCCESS))
        }
        Command::Restore { from_prefix, segments, rate } => {
            if from_prefix == settings.table_prefix {
                eprintln!(
                    "error: --from-prefix is this deployment's own prefix: name the restored tables' prefix"
                );
                return Ok(ExitCode::from(USAGE));
            }
            let admin = Admin::connect(settings, stop).await?;
            let progress = Progress::new("restore", "items", None);
            let from = TableNames::with_prefix(&from_prefix);
            let (copied, walked) = admin.restore(&from, segments, &Pacer::new(rate), &progress).await?;
            let summary: Vec<String> = copied.iter().map(|t| format!("{} {}", t.items, t.table)).collect();
            progress.finish(&summary.join(", "));
            println!("copied {}; now run: timeline-admin rebuild --all", summary.join(", "));
            Ok(exit_code(walked, ExitCode::SUCCESS))
        }
    }
}

impl Users {
    /// The users to visit; bad IDs get one line and exit code 2.
    fn selection(self, checkpoint: Option<PathBuf>) -> Result<Selection, ExitCode> {
        // Checked here: clap counts the flag `--all` as given when it is not.
        if !self.all && (self.segments != 1 || checkpoint.is_some()) {
            eprintln!("error: --segments and --checkpoint walk every user: they need --all");
            return Err(ExitCode::from(USAGE));
        }
        let named: Vec<UserId> = match self.users.iter().map(|raw| UserId::parse(raw)).collect() {
            Ok(named) => named,
            Err(error) => {
                eprintln!("error: --user: {error}");
                return Err(ExitCode::from(USAGE));
            }
        };
        Ok(match self.sample {
            Some(n) if !named.is_empty() => {
                Selection::Named(named.choose_multiple(&mut rand::rng(), n).cloned().collect())
            }
            Some(n) => Selection::Sample(n),
            None if self.all => Selection::Every { segments: self.segments, checkpoint, seen_since: None },
            None => Selection::Named(named),
        })
    }
}

fn print_report(report: &Report, json: bool) {
    if json {
        println!("{}", serde_json::to_string(report).expect("a report serialises"));
        return;
    }
    for user in &report.drift {
        let cache = if user.cache_differs { ", cached copy differs" } else { "" };
        println!("{}: {} missing, {} extra{cache}", user.user_id, user.missing, user.extra);
    }
    println!(
        "{} users checked, {} with drift, {} repaired",
        report.users_checked, report.users_with_drift, report.repaired
    );
}

fn exit_code(walked: Walked, complete: ExitCode) -> ExitCode {
    match walked {
        Walked::Complete => complete,
        Walked::Interrupted => {
            eprintln!("interrupted: what was done is kept; with --checkpoint, the same command resumes");
            ExitCode::from(INTERRUPTED)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_arguments_are_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn replay_takes_a_window_or_a_failure_record_not_both() {
        assert!(
            Cli::try_parse_from(["timeline-admin", "replay", "--table", "tweets", "--from", "trim-horizon"])
                .is_ok()
        );
        assert!(Cli::try_parse_from(["timeline-admin", "replay", "--failure-record", "f.json"]).is_ok());
        assert!(Cli::try_parse_from(["timeline-admin", "replay", "--table", "tweets"]).is_err());
        assert!(
            Cli::try_parse_from(["timeline-admin", "replay", "--from", "yesterday", "--table", "tweets"])
                .is_err()
        );
        assert!(
            Cli::try_parse_from([
                "timeline-admin",
                "replay",
                "--failure-record",
                "f.json",
                "--from",
                "trim-horizon"
            ])
            .is_err()
        );
    }

    fn rebuild_selection(args: &[&str]) -> Result<Selection, ExitCode> {
        let cli = Cli::try_parse_from([&["timeline-admin", "rebuild"], args].concat()).unwrap();
        let Command::Rebuild { users, checkpoint, .. } = cli.command else { unreachable!() };
        users.selection(checkpoint)
    }

    #[test]
    fn a_checkpoint_or_segments_need_every_user() {
        assert!(rebuild_selection(&["--user", "u-1", "--checkpoint", "c.json"]).is_err());
        assert!(rebuild_selection(&["--user", "u-1", "--segments", "4"]).is_err());
        let every = rebuild_selection(&["--all", "--segments", "4", "--checkpoint", "c.json"]);
        assert!(matches!(every, Ok(Selection::Every { segments: 4, checkpoint: Some(_), seen_since: None })));
    }
}

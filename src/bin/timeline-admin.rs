//! `timeline-admin`: operator tools over the same stores and model code as the Lambdas. Settings
//! come from the service's environment (`TIMELINE_DYNAMODB_ENDPOINT`, `TIMELINE_REDIS_URL`,
//! `TIMELINE_TABLE_PREFIX`, ...; the README's table); `--aws` drops the local endpoint default,
//! for a stack reached with the default credential chain.
//!
//! Exit codes: 0 nothing drifted, 1 drift found, 2 bad usage, 3 a backend unavailable.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde::Serialize;
use timeline_model::UserId;
use timeline_model::ports::{StoreResult, TimelineCache, TimelineStore};
use timeline_model::timeline::TIMELINE_CAP;
use timeline_model::truth::{Drift, home_truth};
use timeline_service::error_chain;
use timeline_store::{Dynamo, Environment, RedisCache, Runner, StoreSettings};

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
        /// One JSON object on stdout instead of lines.
        #[arg(long)]
        json: bool,
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
    match cli.command {
        Command::Verify { users, all, json } => verify(&settings, users, all, json).await,
    }
}

async fn verify(settings: &StoreSettings, users: Vec<String>, all: bool, json: bool) -> ExitCode {
    let users: Vec<UserId> = match users.iter().map(|raw| UserId::parse(raw)).collect() {
        Ok(users) => users,
        Err(error) => {
            eprintln!("error: --user: {error}");
            return ExitCode::from(USAGE);
        }
    };
    match check(settings, users, all).await {
        Ok(report) => {
            if json {
                println!("{}", serde_json::to_string(&report).expect("a report serialises"));
            } else {
                for user in &report.drift {
                    println!(
                        "{}: {} missing, {} extra{}",
                        user.user_id,
                        user.missing,
                        user.extra,
                        if user.cache_differs { ", cached copy differs" } else { "" }
                    );
                }
                println!("{} users checked, {} with drift", report.users_checked, report.users_with_drift);
            }
            if report.users_with_drift == 0 { ExitCode::SUCCESS } else { ExitCode::from(DRIFT) }
        }
        Err(error) => {
            eprintln!("error: {}", error_chain(&error));
            ExitCode::from(UNAVAILABLE)
        }
    }
}

async fn check(settings: &StoreSettings, mut users: Vec<UserId>, all: bool) -> StoreResult<Report> {
    let dynamo = Dynamo::connect(settings).await;
    let cache = RedisCache::connect(settings).await?;
    if all {
        users = dynamo.every_user_id().await?;
    }
    let mut report =
        Report { users_checked: users.len(), users_with_drift: 0, repaired: 0, drift: Vec::new() };
    for user in users {
        let truth = home_truth(&dynamo, &dynamo, &dynamo, &user).await?;
        let durable: Vec<_> = dynamo
            .newest(&user, None, TIMELINE_CAP + DURABLE_SLACK)
            .await?
            .into_iter()
            .map(|e| e.tweet_id)
            .collect();
        let drift = Drift::between(&truth, &durable);
        // The cache is checked only where it holds the timeline; an unreachable cache is a
        // backend down, like DynamoDB.
        let cache_differs = match cache.page(&user, None, TIMELINE_CAP).await? {
            Some(page) => !Drift::between(&truth, &page.ids).is_empty(),
            None => false,
        };
        if !drift.is_empty() || cache_differs {
            report.users_with_drift += 1;
            report.drift.push(UserDrift {
                user_id: user,
                missing: drift.missing.len(),
                extra: drift.extra.len(),
                cache_differs,
            });
        }
    }
    Ok(report)
}

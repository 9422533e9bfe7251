//! `timeline-admin` as an operator types it: the built binary against the test's tables.

use std::process::{Command, Output};

use serde_json::Value;
use timeline_model::ports::TimelineStore;
use timeline_model::{TimelineEntry, TweetId, UserId};

use crate::helpers::{Redis, TestApp, spawn_app, spawn_app_on, store_settings};

const BINARY: &str = env!("CARGO_BIN_EXE_timeline-admin");

/// `timeline-admin ARGS` on the app's tables and Redis (the services' addresses come from
/// `make test`).
fn admin(app: &TestApp, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let store = store_settings(&app.prefix, app.redis);
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env("TIMELINE_TABLE_PREFIX", &app.prefix)
        .env("TIMELINE_REDIS_URL", &store.redis_url)
        .env("TIMELINE_REDIS_CLUSTER", store.redis_cluster.to_string())
        .env("RUST_LOG", "warn");
    for (name, value) in vars {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {output:?}"))
}

#[tokio::test]
async fn verify_names_exactly_the_drifted_users_and_rebuild_and_repair_write_the_truth() {
    drifted_users_named_and_repaired(spawn_app().await).await;
}

#[tokio::test]
async fn verify_names_exactly_the_drifted_users_and_rebuild_and_repair_write_the_truth_on_a_cluster() {
    drifted_users_named_and_repaired(spawn_app_on(Redis::Cluster, None).await).await;
}

async fn drifted_users_named_and_repaired(app: TestApp) {
    let (ann, bob, cat) = (app.user("ann").await, app.user("bob").await, app.user("cat").await);
    app.follow(&bob, &ann).await;
    app.follow(&cat, &ann).await;
    let mut posted = Vec::new();
    for n in 0..3 {
        posted.push(app.post(&ann, &format!("tweet {n}")).await);
    }
    app.post(&bob, "bob's own").await;
    app.delete_tweet(&ann, &posted[0]).await;
    app.wait_for_timeline(&bob, |ids| ids.len() == 3 && !ids.contains(&posted[0])).await;
    app.wait_for_timeline(&cat, |ids| ids.len() == 2).await;

    let clean = admin(&app, &["verify", "--all", "--json"], &[]);
    assert_eq!(clean.status.code(), Some(0), "{clean:?}");
    assert!(
        String::from_utf8_lossy(&clean.stderr).starts_with("verify: 3 users in "),
        "a summary on stderr: {clean:?}"
    );
    let clean = report(&clean);
    assert_eq!((clean["users_checked"].as_u64(), clean["users_with_drift"].as_u64()), (Some(3), Some(0)));
    let sampled = report(&admin(&app, &["verify", "--all", "--sample", "2", "--json"], &[]));
    assert_eq!(sampled["users_checked"], 2);

    // bob's durable rows gone, a foreign entry in cat's.
    let dynamo = &app.service.state.dynamo;
    let bob_id = UserId::parse(&bob).unwrap();
    let rows = dynamo.newest(&bob_id, None, 10).await.unwrap();
    TimelineStore::remove(dynamo, &rows).await.unwrap();
    let foreign = TimelineEntry {
        owner_id: UserId::parse(&cat).unwrap(),
        tweet_id: TweetId::generate(),
        author_id: UserId::parse(&ann).unwrap(),
    };
    dynamo.insert(&[foreign]).await.unwrap();

    let drifted = admin(&app, &["verify", "--all", "--json"], &[]);
    assert_eq!(drifted.status.code(), Some(1), "{drifted:?}");
    let drifted = report(&drifted);
    assert_eq!(drifted["users_with_drift"], 2);
    let mut found: Vec<(String, u64, u64)> = drifted["drift"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["user_id"].as_str().unwrap().to_owned(),
                d["missing"].as_u64().unwrap(),
                d["extra"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort();
    let mut expected = vec![(bob.clone(), 3, 0), (cat.clone(), 0, 1)];
    expected.sort();
    assert_eq!(found, expected);

    let one = admin(&app, &["verify", "--user", &ann], &[]);
    assert_eq!(one.status.code(), Some(0), "ann's own timeline is intact: {one:?}");
    assert_eq!(String::from_utf8_lossy(&one.stdout), "1 users checked, 0 with drift, 0 repaired\n");

    // A dry run writes nothing; a rebuild fixes bob; --repair fixes the rest.
    let dry = admin(&app, &["rebuild", "--user", &bob, "--dry-run"], &[]);
    assert!(String::from_utf8_lossy(&dry.stdout).contains("would add 3, would remove 0"), "{dry:?}");
    assert!(dynamo.newest(&bob_id, None, 10).await.unwrap().is_empty(), "the dry run wrote nothing");
    let rebuilt = admin(&app, &["rebuild", "--user", &bob, "--rate", "1000"], &[]);
    assert_eq!(rebuilt.status.code(), Some(0), "{rebuilt:?}");
    assert_eq!(
        report(&admin(&app, &["verify", "--all", "--json"], &[]))["users_with_drift"],
        1,
        "cat's is left"
    );
    let repaired = admin(&app, &["verify", "--all", "--repair", "--json"], &[]);
    assert_eq!(repaired.status.code(), Some(0), "{repaired:?}");
    assert_eq!(report(&repaired)["repaired"], 1);
    assert_eq!(report(&admin(&app, &["verify", "--all", "--json"], &[]))["users_with_drift"], 0);
    // And the REST reads show the truth (the cached copies were dropped and refilled).
    assert_eq!(app.timeline(&cat).await.len(), 2, "the foreign entry is gone");
    assert_eq!(app.timeline(&bob).await.len(), 3);
}

#[tokio::test]
async fn verify_refuses_bad_usage_with_2_and_an_unreachable_store_with_3() {
    let app = spawn_app().await;
    assert_eq!(admin(&app, &["verify"], &[]).status.code(), Some(2), "a user or --all is required");
    assert_eq!(admin(&app, &["verify", "--user", "not a user id!"], &[]).status.code(), Some(2));
    let down = admin(&app, &["verify", "--all"], &[("TIMELINE_DYNAMODB_ENDPOINT", "http://127.0.0.1:9")]);
    assert_eq!(down.status.code(), Some(3), "{down:?}");
    assert!(String::from_utf8_lossy(&down.stderr).starts_with("error: DynamoDB is unavailable"), "{down:?}");
}

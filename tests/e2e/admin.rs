//! `timeline-admin` as an operator types it: the built binary against the test's tables.

use std::collections::BTreeMap;
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use timeline_model::ports::{TimelineCache, TimelineStore};
use timeline_model::{TimelineEntry, TweetId, UserId};

use timeline_store::dynamo::sdk_config;

use crate::fanout::stream_event;
use crate::helpers::{
    Redis, TestApp, flush_cache, on_both_redis, redis_node, spawn_app, spawn_app_on, spawn_app_revalidating,
    store_settings,
};

const BINARY: &str = env!("CARGO_BIN_EXE_timeline-admin");

/// `timeline-admin ARGS` on the app's tables and Redis (the services' addresses come from
/// `make test`).
fn admin(app: &TestApp, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut command = admin_command(app, args);
    for (name, value) in vars {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn admin_command(app: &TestApp, args: &[&str]) -> Command {
    let store = store_settings(&app.prefix, app.redis);
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env("TIMELINE_TABLE_PREFIX", &app.prefix)
        .env("TIMELINE_REDIS_URL", &store.redis_url)
        .env("TIMELINE_REDIS_CLUSTER", store.redis_cluster.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
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

/// The app's users' home timelines as REST serves them, by user.
async fn timelines(app: &TestApp, users: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut read = BTreeMap::new();
    for user in users {
        read.insert(user.clone(), app.timeline(user).await);
    }
    read
}

/// Both stores of the users' timelines emptied: the durable rows deleted, the cached copies dropped.
async fn empty_timelines(app: &TestApp, users: &[String]) {
    let dynamo = &app.service.state.dynamo;
    for user in users {
        let id = UserId::parse(user).unwrap();
        // The fan-out writes Redis and the durable table concurrently: wait until the durable
        // copy holds what the reader saw, or a late write lands after the emptying.
        let served = app.timeline(user).await;
        let durable = || async { dynamo.newest(&id, None, 1000).await.unwrap() };
        let rows = crate::helpers::poll_until(durable, |rows| {
            rows.iter().map(|row| row.tweet_id.to_string()).eq(served.iter().cloned())
        })
        .await;
        TimelineStore::remove(dynamo, &rows).await.unwrap();
    }
    flush_cache(app).await;
}

fn assert_success(output: &Output) {
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

/// Users, follows (one undone), posts (one deleted), all fanned out; returns the users.
async fn some_activity(app: &TestApp) -> Vec<String> {
    let (ann, bob, cat, dan) =
        (app.user("ann").await, app.user("bob").await, app.user("cat").await, app.user("dan").await);
    let mut ann_posts = Vec::new();
    for n in 0..3 {
        ann_posts.push(app.post(&ann, &format!("ann {n}")).await);
    }
    app.follow(&bob, &ann).await;
    app.follow(&cat, &ann).await;
    app.follow(&cat, &bob).await;
    app.follow(&dan, &bob).await;
    app.unfollow(&dan, &bob).await;
    let bobs = app.post(&bob, "bob's").await;
    let later = app.post(&ann, "ann, later").await;
    app.delete_tweet(&ann, &ann_posts[1]).await;
    // Everything fanned out, the delete too: each timeline exactly as it ends.
    let anns = vec![later.clone(), ann_posts[2].clone(), ann_posts[0].clone()];
    let mut followed = anns.clone();
    followed.insert(1, bobs);
    followed.sort_by(|a, b| b.cmp(a));
    app.wait_for_timeline(&ann, |ids| ids == anns.as_slice()).await;
    app.wait_for_timeline(&bob, |ids| ids == followed.as_slice()).await;
    app.wait_for_timeline(&cat, |ids| ids == followed.as_slice()).await;
    app.wait_for_timeline(&dan, |ids| ids.is_empty()).await;
    vec![ann, bob, cat, dan]
}

on_both_redis! {
    replaying_the_follows_then_the_tweets_stream_restores_every_timeline_and_twice_equals_once => replay_restores_timelines;
}

async fn replay_restores_timelines(app: TestApp) {
    let users = some_activity(&app).await;
    let before = timelines(&app, &users).await;
    assert_success(&admin(&app, &["verify", "--all"], &[]));

    empty_timelines(&app, &users).await;
    assert_eq!(admin(&app, &["verify", "--all"], &[]).status.code(), Some(1), "emptied: drift");
    for table in ["follows", "tweets"] {
        let replayed = admin(&app, &["replay", "--table", table, "--from", "trim-horizon"], &[]);
        assert_success(&replayed);
        assert!(String::from_utf8_lossy(&replayed.stdout).contains("records replayed from"), "{replayed:?}");
    }
    assert_success(&admin(&app, &["verify", "--all"], &[]));
    assert_eq!(timelines(&app, &users).await, before, "REST reads show the timelines as they were");

    let again = admin(&app, &["replay", "--table", "tweets", "--from", "trim-horizon"], &[]);
    assert_success(&again);
    assert_success(&admin(&app, &["verify", "--all"], &[]));
    assert_eq!(timelines(&app, &users).await, before, "a second replay changes nothing");
}

#[tokio::test]
async fn a_replay_covers_the_records_created_between_from_and_to() {
    let app = spawn_app().await;
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    let posted = app.post(&ann, "now").await;
    // The post's fan-out reads ann's followers before it writes her own entry: once that is
    // seen, the fan-out cannot reach bob, who follows only after it. (Waiting for ann after
    // the follow let the fan-out see bob and write his entry after the emptying below.)
    app.wait_for_timeline(&ann, |ids| ids.len() == 1).await;
    // So the post reaches bob only through the follow's backfill: once seen, the follow is
    // applied and cannot land after the timelines are emptied.
    app.follow(&bob, &ann).await;
    app.wait_for_timeline(&bob, |ids| ids.len() == 1).await;
    let at = |offset: time::Duration| {
        (time::OffsetDateTime::now_utc() + offset)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let (hour_ago, in_an_hour) = (at(-time::Duration::HOUR), at(time::Duration::HOUR));
    empty_timelines(&app, std::slice::from_ref(&bob)).await;

    for window in
        [["--from", in_an_hour.as_str(), "", ""], ["--from", "trim-horizon", "--to", hour_ago.as_str()]]
    {
        let mut args = vec!["replay", "--table", "tweets"];
        args.extend(window.into_iter().filter(|arg| !arg.is_empty()));
        let replayed = admin(&app, &args, &[]);
        assert_success(&replayed);
        assert!(String::from_utf8_lossy(&replayed.stdout).starts_with("0 records replayed"), "{replayed:?}");
    }
    assert!(app.timeline(&bob).await.is_empty(), "nothing replayed outside the window");
    assert_success(&admin(&app, &["replay", "--table", "tweets", "--from", &hour_ago], &[]));
    assert_eq!(app.timeline(&bob).await, [posted]);
    let bad = admin(&app, &["replay", "--table", "tweets", "--from", "yesterday"], &[]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
}

on_both_redis! {
    a_replay_of_a_failure_record_applies_just_its_range => failure_record_replayed;
    rebuild_all_stopped_midway_resumes_from_its_checkpoint_and_ends_with_no_drift => rebuild_resumed;
}

async fn failure_record_replayed(app: TestApp) {
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    let mut posted = Vec::new();
    for n in 0..4 {
        posted.push(app.post(&ann, &format!("tweet {n}")).await);
    }
    // Followed after the posts: the backfill brings them, so the follow is applied before the
    // timelines are emptied.
    app.follow(&bob, &ann).await;
    app.wait_for_timeline(&bob, |ids| ids.len() == 4).await;
    app.wait_for_timeline(&ann, |ids| ids.len() == 4).await;
    let tweets_table = app.service.state.dynamo.tables().tweets.clone();
    let event = stream_event(&app, &tweets_table).await;
    let sequence_of = |tweet: &str| {
        let records = event["Records"].as_array().unwrap();
        let record = records.iter().find(|r| r["dynamodb"]["Keys"]["tweet_id"]["S"] == tweet).unwrap();
        (record["dynamodb"]["SequenceNumber"].as_str().unwrap().to_owned(), record["eventSourceARN"].clone())
    };
    let ((start, stream_arn), (end, _)) = (sequence_of(&posted[1]), sequence_of(&posted[2]));
    let shard = app.service.state.dynamo.stream_arn(&tweets_table).await.unwrap().unwrap();
    let shard_id = first_shard(&app, &shard).await;
    // The shape Lambda sends to an on-failure destination (docs/deploy.md).
    let failure = json!({
        "requestContext": { "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 3 },
        "version": "1.0",
        "timestamp": "2026-12-02T10:00:00.000Z",
        "DDBStreamBatchInfo": {
            "shardId": shard_id, "startSequenceNumber": start, "endSequenceNumber": end,
            "batchSize": 2, "streamArn": stream_arn,
        }
    });
    let path = std::env::temp_dir().join(format!("{}failure.json", app.prefix));
    std::fs::write(&path, failure.to_string()).unwrap();

    empty_timelines(&app, std::slice::from_ref(&bob)).await;
    let replayed = admin(&app, &["replay", "--failure-record", path.to_str().unwrap()], &[]);
    assert_success(&replayed);
    assert_eq!(String::from_utf8_lossy(&replayed.stdout), "2 records replayed from 1 shards\n");
    assert_eq!(app.timeline(&bob).await, [posted[2].clone(), posted[1].clone()], "just the range");

    std::fs::write(&path, "{\"not\": \"a failure record\"}").unwrap();
    let bad = admin(&app, &["replay", "--failure-record", path.to_str().unwrap()], &[]);
    assert_eq!(bad.status.code(), Some(2), "{bad:?}");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("is not a Lambda on-failure record"), "{bad:?}");
    std::fs::remove_file(path).unwrap();
}

/// The one shard of a fresh table's stream (DynamoDB Local makes one).
async fn first_shard(app: &TestApp, stream_arn: &str) -> String {
    let streams =
        aws_sdk_dynamodbstreams::Client::new(&sdk_config(&store_settings(&app.prefix, app.redis)).await);
    let stream =
        streams.describe_stream().stream_arn(stream_arn).send().await.unwrap().stream_description.unwrap();
    stream.shards.unwrap().remove(0).shard_id.unwrap()
}

async fn rebuild_resumed(app: TestApp) {
    let author = app.user("ann").await;
    for n in 0..5 {
        app.post(&author, &format!("tweet {n}")).await;
    }
    let mut readers = Vec::new();
    for n in 0..20 {
        let reader = app.user(&format!("r{n}")).await;
        app.follow(&reader, &author).await;
        readers.push(reader);
    }
    for reader in &readers {
        app.wait_for_timeline(reader, |ids| ids.len() == 5).await;
    }
    empty_timelines(&app, &readers).await;
    let checkpoint = std::env::temp_dir().join(format!("{}rebuild", app.prefix)).join("checkpoint.json");
    let checkpoint_arg = checkpoint.to_str().unwrap();
    // 100 entries to write at 10 a second: about 10 s, stopped twice on the way.
    let args = ["rebuild", "--all", "--segments", "20", "--rate", "10", "--checkpoint", checkpoint_arg];

    let mut killed = admin_command(&app, &args).spawn().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(checkpoint.exists(), "pages done before the kill are checkpointed");

    let interrupted = admin_command(&app, &args).spawn().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let sigint = Command::new("kill").args(["-INT", &interrupted.id().to_string()]).status().unwrap();
    assert!(sigint.success());
    let interrupted = interrupted.wait_with_output().unwrap();
    assert_eq!(interrupted.status.code(), Some(130), "Ctrl-C: {interrupted:?}");
    assert!(checkpoint.exists(), "the checkpoint stays for the next run");

    let finished = admin(&app, &args, &[]);
    assert_success(&finished);
    let users: usize = String::from_utf8_lossy(&finished.stdout).split(' ').next().unwrap().parse().unwrap();
    assert!(users < 21, "the last run resumed: it rebuilt {users} of the 21 users");
    assert!(!checkpoint.exists(), "a finished walk removes its checkpoint");
    assert_success(&admin(&app, &["verify", "--all"], &[]));
    assert_eq!(app.timeline(&readers[0]).await.len(), 5);
    std::fs::remove_dir_all(checkpoint.parent().unwrap()).unwrap();
}

on_both_redis! {
    warm_refills_an_emptied_or_stale_cache_from_the_durable_timelines => warm_refills_caches;
}

async fn warm_refills_caches(app: TestApp) {
    let users = some_activity(&app).await;
    let before = timelines(&app, &users).await;
    let cache = &app.service.state.cache;
    let (bob, cat) = (UserId::parse(&users[1]).unwrap(), UserId::parse(&users[2]).unwrap());
    // cat's cached copy loses an entry behind the durable timeline's back: stale.
    let newest = app.service.state.dynamo.newest(&cat, None, 1).await.unwrap();
    TimelineCache::remove(cache, &newest).await.unwrap();
    assert_eq!(admin(&app, &["verify", "--all"], &[]).status.code(), Some(1), "the stale copy is drift");

    let path = std::env::temp_dir().join(format!("{}warm-users.txt", app.prefix));
    std::fs::write(&path, format!("# who to warm\n{}\n", users.join("\n"))).unwrap();
    let warmed = admin(&app, &["warm", "--users", path.to_str().unwrap(), "--rate", "1000"], &[]);
    assert_success(&warmed);
    assert_eq!(String::from_utf8_lossy(&warmed.stdout), "4 users warmed, 11 entries cached\n");
    assert_success(&admin(&app, &["verify", "--all"], &[]));

    flush_cache(&app).await;
    assert!(cache.page(&bob, None, 10).await.unwrap().is_none(), "flushed");
    // The four have read their timelines (each read's rebuild records them as seen); eve, who
    // never read hers, is left out.
    app.user("eve").await;
    let active = admin(&app, &["warm", "--active-since", "1h"], &[]);
    assert_success(&active);
    assert_eq!(String::from_utf8_lossy(&active.stdout), "4 users warmed, 11 entries cached\n");
    let cached = cache.page(&bob, None, 10).await.unwrap().expect("warmed before any read");
    assert_eq!(cached.ids.len(), 4);
    assert_eq!(timelines(&app, &users).await, before);
    std::fs::remove_file(path).unwrap();
}

#[tokio::test]
async fn a_cache_restored_from_an_old_snapshot_heals_by_itself_and_verify_names_it_at_once() {
    let app = spawn_app_revalidating(Redis::Standalone, REVALIDATE).await;
    let node = redis_node(&store_settings(&app.prefix, app.redis).redis_url).await;
    stale_snapshot_heals(app, node).await;
}

#[tokio::test]
async fn a_cache_restored_from_an_old_snapshot_heals_by_itself_and_verify_names_it_at_once_on_a_cluster() {
    let app = spawn_app_revalidating(Redis::Cluster, REVALIDATE).await;
    let url = store_settings(&app.prefix, app.redis).redis_url;
    let cluster = redis::cluster::ClusterClient::new(vec![url]).unwrap();
    stale_snapshot_heals(app, cluster.get_async_connection().await.unwrap()).await;
}

/// Long enough to see the stale copy first, short enough for a test.
const REVALIDATE: std::time::Duration = std::time::Duration::from_secs(5);

/// What a failover to a lagging replica does: the reader's cached timeline comes back as it was
/// a few writes ago, expiry times included (an RDB keeps them as absolute times).
async fn stale_snapshot_heals(app: TestApp, mut node: impl redis::aio::ConnectionLike + Send) {
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    app.follow(&bob, &ann).await;
    let first = app.post(&ann, "first").await;
    app.wait_for_timeline(&bob, |ids| ids == [first.clone()]).await;
    let keys: Vec<String> = ["tls", "tl", "tlm", "tlr", "tlf"]
        .iter()
        .map(|kind| format!("{}{kind}:{{{bob}}}", app.prefix))
        .collect();
    let now_ms =
        || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    let mut snapshot = Vec::new();
    for key in &keys {
        let dumped: Option<Vec<u8>> = redis::cmd("DUMP").arg(key).query_async(&mut node).await.unwrap();
        let ttl_ms: i64 = redis::cmd("PTTL").arg(key).query_async(&mut node).await.unwrap();
        if let Some(dumped) = dumped {
            snapshot.push((key.clone(), dumped, (ttl_ms > 0).then(|| now_ms() + ttl_ms)));
        }
    }
    let (second, third) = (app.post(&ann, "second").await, app.post(&ann, "third").await);
    app.delete_tweet(&ann, &first).await;
    let truth = vec![third, second];
    app.wait_for_timeline(&bob, |ids| ids == truth.as_slice()).await;

    for (key, dumped, expires_at) in &snapshot {
        let mut restore = redis::cmd("RESTORE");
        restore.arg(key).arg(expires_at.unwrap_or(0)).arg(dumped).arg("REPLACE");
        if expires_at.is_some() {
            restore.arg("ABSTTL");
        }
        let () = restore.query_async(&mut node).await.unwrap();
    }
    // The restored copy lacks the new tweets (the deleted one is served or not, as its body
    // is still at hand or not): the scenario is real.
    let stale = app.timeline(&bob).await;
    assert!(stale.iter().all(|id| *id == first), "{stale:?}");
    let verified = admin(&app, &["verify", "--all", "--json"], &[]);
    assert_eq!(verified.status.code(), Some(1), "{verified:?}");
    assert_eq!(report(&verified)["drift"][0]["user_id"], bob.as_str());
    assert_eq!(report(&verified)["drift"][0]["cache_differs"], true);
    // No operator: within one lifetime of its last rebuild, the next read rebuilds it.
    let healed = app.wait_for_timeline(&bob, |ids| ids == truth.as_slice()).await;
    assert_eq!(healed, truth, "healed within 30 s of polling");
}

/// A backup's tables (here: a deployment whose data is the backup, under its own prefix, as a
/// point-in-time restore or an S3 import would leave them) copied into a deployment that lost
/// everything; after `rebuild --all`, every timeline reads as it did in the backup.
#[tokio::test]
async fn restore_copies_a_backups_tables_in_and_a_rebuild_makes_the_timelines_whole() {
    let backup = spawn_app().await;
    let users = some_activity(&backup).await;
    let expected = timelines(&backup, &users).await;

    let lost = spawn_app().await;
    let restored =
        admin(&lost, &["restore", "--from-prefix", &backup.prefix, "--segments", "3", "--rate", "5000"], &[]);
    assert_success(&restored);
    let out = String::from_utf8_lossy(&restored.stdout);
    assert!(out.contains(&format!("4 {}users", lost.prefix)), "the four profiles: {out}");
    assert!(out.contains("now run: timeline-admin rebuild --all"), "{out}");
    assert_success(&admin(&lost, &["rebuild", "--all"], &[]));
    assert_success(&admin(&lost, &["verify", "--all"], &[]));
    assert_eq!(timelines(&lost, &users).await, expected, "REST reads show the backup's timelines");
    let path = format!("/users/{}", users[0]);
    let (lost_profile, backup_profile) = (
        lost.call(reqwest::Method::GET, &path, None, None).await,
        backup.call(reqwest::Method::GET, &path, None, None).await,
    );
    assert_eq!(lost_profile.body, backup_profile.body, "profiles and counts too");

    let again = admin(&lost, &["restore", "--from-prefix", &backup.prefix], &[]);
    assert_success(&again);
    assert_success(&admin(&lost, &["verify", "--all"], &[]));

    let missing = admin(&lost, &["restore", "--from-prefix", "no-such-restore-"], &[]);
    assert_eq!(missing.status.code(), Some(2), "{missing:?}");
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("no-such-restore-users does not exist"),
        "{missing:?}"
    );
    let own = admin(&lost, &["restore", "--from-prefix", &lost.prefix], &[]);
    assert_eq!(own.status.code(), Some(2), "its own tables are not a backup: {own:?}");
}

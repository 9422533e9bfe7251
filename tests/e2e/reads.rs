//! What a home timeline read costs and what it merges in: round trips counted on the real
//! stores, merged authors kept by the follows consumer, pages next to deleted tweets.

use std::collections::BTreeMap;

use reqwest::Method;
use timeline_model::bodies::Bodies;
use timeline_model::home::{Home, Rebuilds};
use timeline_model::ports::{FillClaim, TimelineCache, TimelineStore, Users};
use timeline_model::{Limit, TimelineEntry, Timestamp, TweetId, UserId};
use timeline_store::{Dynamo, RedisCache};

use crate::helpers::{
    Redis, TestApp, ids, on_both_redis, poll_until, redis_node, spawn_app_with, store_settings,
};

on_both_redis! {
    a_cache_hit_makes_no_dynamodb_call_and_one_redis_round_trip => cache_hit_costs;
    a_deleted_tweet_is_not_served_from_a_process_that_holds_its_body => deleted_tweet_not_served;
    a_page_next_to_deleted_tweets_is_full_and_its_cursor_continues => page_next_to_deleted_is_full;
    a_rebuild_under_way_in_another_process_is_waited_for_and_one_whose_process_died_is_taken_over => rebuild_elsewhere;
}

/// Clients of the app's stores of their own, so that only the test's calls are counted.
struct Reader {
    dynamo: Dynamo,
    cache: RedisCache,
    bodies: Bodies,
    rebuilds: Rebuilds,
}

impl Reader {
    async fn of(app: &TestApp) -> Self {
        let settings = store_settings(&app.prefix, app.redis);
        let cache = RedisCache::connect(&settings).await.unwrap();
        Self {
            dynamo: Dynamo::connect(&settings).await,
            cache,
            bodies: Bodies::default(),
            rebuilds: Rebuilds::default(),
        }
    }

    fn home(&self) -> Home<'_, RedisCache, Dynamo, Dynamo> {
        Home {
            cache: &self.cache,
            store: &self.dynamo,
            tweets: &self.dynamo,
            bodies: &self.bodies,
            rebuilds: &self.rebuilds,
        }
    }

    /// The newest page of `owner`'s timeline, with the DynamoDB calls (by operation) and the
    /// Redis round trips it took.
    async fn read(&self, owner: &str) -> (Vec<String>, BTreeMap<String, u64>, u64) {
        let (calls, trips) = (self.dynamo.calls().by_operation(), self.cache.round_trips());
        let page = self.home().read(&UserId::parse(owner).unwrap(), None, Limit::default()).await.unwrap();
        let mut made = self.dynamo.calls().by_operation();
        for (operation, before) in calls {
            *made.entry(operation).or_default() -= before;
        }
        made.retain(|_, n| *n > 0);
        (page.items.iter().map(|t| t.tweet_id.to_string()).collect(), made, self.cache.round_trips() - trips)
    }
}

/// `count` tweets by a new author, in a new follower's cached timeline: (author, follower, tweets newest first).
async fn followed_author_with(app: &TestApp, count: usize) -> (String, String, Vec<String>) {
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    app.follow(&bob, &ann).await;
    let mut posted = Vec::new();
    for n in 0..count {
        posted.push(app.post(&ann, &format!("tweet {n}")).await);
    }
    posted.reverse();
    let wanted = posted.len().min(100);
    assert_eq!(app.wait_for_timeline(&bob, |ids| ids.len() == wanted).await, posted[..wanted]);
    (ann, bob, posted)
}

async fn cache_hit_costs(app: TestApp) {
    let (_, bob, posted) = followed_author_with(&app, 30).await;
    let reader = Reader::of(&app).await;
    let (page, dynamo, redis) = reader.read(&bob).await;
    assert_eq!(page, posted[..20]);
    assert_eq!(dynamo, BTreeMap::new(), "a hit never reaches DynamoDB");
    assert_eq!(redis, 2, "the page, then the bodies this process does not hold");
    let (page, dynamo, redis) = reader.read(&bob).await;
    assert_eq!((page, dynamo, redis), (posted[..20].to_vec(), BTreeMap::new(), 1), "the page alone");

    // A miss: the timeline and the bodies gone from Redis, and from a new process.
    let owner = UserId::parse(&bob).unwrap();
    reader.cache.evict(std::slice::from_ref(&owner)).await.unwrap();
    for id in &posted {
        reader.cache.forget_tweet(&TweetId::parse(id).unwrap()).await.unwrap();
    }
    let cold = Reader::of(&app).await;
    let (page, dynamo, _) = cold.read(&bob).await;
    assert_eq!(page, posted[..20]);
    let expected = BTreeMap::from([("BatchGetItem".to_owned(), 1), ("Query".to_owned(), 1)]);
    assert_eq!(dynamo, expected, "one query of the durable timeline, one batch read of 21 bodies");
}

async fn deleted_tweet_not_served(app: TestApp) {
    let (ann, bob, posted) = followed_author_with(&app, 2).await;
    let reader = Reader::of(&app).await;
    assert_eq!(reader.read(&bob).await.0, posted);
    let gone = TweetId::parse(&posted[0]).unwrap();
    assert!(reader.bodies.get(&gone).is_some(), "the read left the body in the process");
    app.delete_tweet(&ann, &posted[0]).await;
    app.wait_for_timeline(&bob, |ids| ids == &posted[1..]).await;
    assert!(reader.bodies.get(&gone).is_some(), "the delete did not reach this process");
    assert_eq!(
        reader.read(&bob).await.0,
        posted[1..],
        "its ID left the timeline, so its body is never asked for"
    );
}

async fn page_next_to_deleted_is_full(app: TestApp) {
    let (ann, bob, posted) = followed_author_with(&app, 10).await;
    // Entries of tweets that no longer exist, between the live ones, as a delete leaves them
    // until it has fanned out.
    let (owner, author) = (UserId::parse(&bob).unwrap(), UserId::parse(&ann).unwrap());
    let ghosts: Vec<TimelineEntry> = posted
        .windows(2)
        .take(6)
        .map(|pair| {
            let (newer, older) = (TweetId::parse(&pair[0]).unwrap(), TweetId::parse(&pair[1]).unwrap());
            TimelineEntry {
                owner_id: owner.clone(),
                tweet_id: between(older, newer),
                author_id: author.clone(),
            }
        })
        .collect();
    let state = &app.service.state;
    state.dynamo.insert(&ghosts).await.unwrap();
    assert_eq!(state.cache.add(&ghosts).await.unwrap().written, ghosts.len());

    let first = app.call(Method::GET, &format!("/users/{bob}/timeline?limit=3"), Some(&bob), None).await;
    assert_eq!(ids(&first.body), posted[..3], "full, past the deleted tweets");
    let mut seen = ids(&first.body);
    let mut cursor = first.body["next_cursor"].as_str().map(str::to_owned);
    while let Some(next) = cursor {
        let reply = app
            .call(Method::GET, &format!("/users/{bob}/timeline?limit=3&cursor={next}"), Some(&bob), None)
            .await;
        let page = ids(&reply.body);
        assert!(
            page.len() == 3 || reply.body["next_cursor"].is_null(),
            "only the last page is short: {page:?}"
        );
        seen.extend(page);
        cursor = reply.body["next_cursor"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, posted, "every live tweet once, in order");
}

/// An ID strictly between two others (a ULID's random part is 80 bits: the gap between two
/// tweets posted a few milliseconds apart always has room).
fn between(older: TweetId, newer: TweetId) -> TweetId {
    let (low, high) = (
        ulid::Ulid::from_string(&older.to_string()).unwrap(),
        ulid::Ulid::from_string(&newer.to_string()).unwrap(),
    );
    let middle = ulid::Ulid((low.0 / 2) + (high.0 / 2));
    assert!(low < middle && middle < high);
    TweetId::parse(&middle.to_string()).unwrap()
}

#[tokio::test]
async fn merged_authors_follow_follows_and_unfollows() {
    merged_authors_follow_edges(Redis::Standalone).await;
}

#[tokio::test]
async fn merged_authors_follow_follows_and_unfollows_on_a_cluster() {
    merged_authors_follow_edges(Redis::Cluster).await;
}

/// `owner`'s cached list of merged authors once it is `expected`, or as it stands after 30 s:
/// the consumer writes the cache after the durable list that `wait_for_merged` watches.
async fn cached_merged(app: &TestApp, owner: &str, expected: &[&str]) -> Vec<UserId> {
    let expected: Vec<UserId> = expected.iter().map(|a| UserId::parse(a).unwrap()).collect();
    let owner = UserId::parse(owner).unwrap();
    let read = || async {
        let page = app.service.state.cache.page(&owner, None, 1).await.unwrap();
        page.expect("the timeline is cached").merged_authors
    };
    poll_until(read, |merged| *merged == expected).await
}

/// With a threshold of 1 follower, star's second follower makes it merged at read time.
async fn merged_authors_follow_edges(redis: Redis) {
    let app = spawn_app_with(redis, None, 1).await;
    let [star, bob, cat, dan] = ["star", "bob", "cat", "dan"].map(|n| app.user(n));
    let (star, bob, cat, dan) = (star.await, bob.await, cat.await, dan.await);
    app.timeline(&bob).await;
    app.follow(&bob, &star).await;
    app.follow(&cat, &star).await;
    app.wait_for_merged(&bob, &[&star]).await;
    app.wait_for_merged(&cat, &[&star]).await;
    assert_eq!(
        cached_merged(&app, &bob, &[&star]).await,
        vec![UserId::parse(&star).unwrap()],
        "the cached timeline too"
    );

    let tweet = app.post(&star, "to be merged in").await;
    assert_eq!(app.wait_for_timeline(&bob, |ids| !ids.is_empty()).await, vec![tweet.clone()]);
    let owner = UserId::parse(&bob).unwrap();
    assert!(app.service.state.dynamo.newest(&owner, None, 10).await.unwrap().is_empty(), "not copied");

    app.unfollow(&bob, &star).await;
    app.wait_for_merged(&bob, &[]).await;
    assert_eq!(cached_merged(&app, &bob, &[]).await, vec![]);
    assert_eq!(app.wait_for_timeline(&bob, <[String]>::is_empty).await, Vec::<String>::new());

    app.follow(&dan, &star).await;
    app.wait_for_merged(&dan, &[&star]).await;
    assert_eq!(app.wait_for_timeline(&dan, |ids| !ids.is_empty()).await, vec![tweet]);
}

#[tokio::test]
async fn an_author_falling_below_the_threshold_is_fanned_out_again_and_its_earlier_tweets_stay() {
    // Merged over 2 followers; fanned out again below 90% of 2.
    let app = spawn_app_with(Redis::Standalone, None, 2).await;
    let [star, ann, bob, cat] = ["star", "ann", "bob", "cat"].map(|n| app.user(n));
    let (star, ann, bob, cat) = (star.await, ann.await, bob.await, cat.await);
    for fan in [&ann, &bob, &cat] {
        app.follow(fan, &star).await;
    }
    app.wait_for_mode(&star, true).await;
    let merged = app.post(&star, "while merged").await;
    app.unfollow(&cat, &star).await;
    app.unfollow(&bob, &star).await;
    app.wait_for_mode(&star, false).await;
    let fanned = app.post(&star, "fanned out again").await;
    app.wait_for_timeline(&ann, |ids| ids.contains(&fanned)).await;
    let owner = UserId::parse(&ann).unwrap();
    let durable = app.service.state.dynamo.newest(&owner, None, 10).await.unwrap();
    // Fanned out again (ann's follow, applied late, may also have copied the earlier one in).
    assert!(durable.iter().any(|e| e.tweet_id.to_string() == fanned), "{durable:?}");
    let seen = app.timeline(&ann).await;
    assert_eq!(seen.first(), Some(&fanned));
    assert_eq!(seen.last(), Some(&merged), "the tweet of its merged days still merged in: {seen:?}");
}

#[tokio::test]
async fn deleting_a_tweet_a_merged_author_posted_well_after_its_crossing_touches_no_follower() {
    let app = spawn_app_with(Redis::Standalone, None, 1).await;
    let [star, bob, cat] = ["star", "bob", "cat"].map(|n| app.user(n));
    let (star, bob, cat) = (star.await, bob.await, cat.await);
    app.follow(&bob, &star).await;
    app.follow(&cat, &star).await;
    app.wait_for_mode(&star, true).await;
    // Merged for an hour already, as a celebrity is.
    let dynamo = &app.service.state.dynamo;
    let (star_id, bob_id) = (UserId::parse(&star).unwrap(), UserId::parse(&bob).unwrap());
    let an_hour_ago = Timestamp::from_unix_millis(Timestamp::now().unix_millis() - 3_600_000);
    Users::set_merged_since(dynamo, &star_id, Some(an_hour_ago)).await.unwrap();
    let tweet = app.post(&star, "merged in, never fanned out").await;
    assert_eq!(app.wait_for_timeline(&bob, |ids| !ids.is_empty()).await, vec![tweet.clone()]);

    // A copy planted in bob's durable timeline: a delete fanned out to the followers would
    // remove it; one that is not leaves it (and a read never serves the deleted tweet).
    let tweet_id = TweetId::parse(&tweet).unwrap();
    let planted = TimelineEntry { owner_id: bob_id.clone(), tweet_id, author_id: star_id };
    dynamo.insert(std::slice::from_ref(&planted)).await.unwrap();
    app.delete_tweet(&star, &tweet).await;
    assert_eq!(app.wait_for_timeline(&star, <[String]>::is_empty).await, Vec::<String>::new());
    assert_eq!(app.wait_for_timeline(&bob, <[String]>::is_empty).await, Vec::<String>::new());
    assert_eq!(dynamo.newest(&bob_id, None, 10).await.unwrap(), vec![planted], "no follower was written");
}

#[tokio::test]
async fn a_read_sets_a_timelines_idle_time_out_back_only_once_it_ran_a_day_low() {
    let app = crate::helpers::spawn_app().await;
    let (_, bob, _) = followed_author_with(&app, 1).await;
    let settings = store_settings(&app.prefix, app.redis);
    let mut redis = redis_node(&settings.redis_url).await;
    let keys = ["tls", "tl", "tlm"].map(|kind| format!("{}{kind}:{{{bob}}}", app.prefix));
    let idle = timeline_store::redis_cache::IDLE_TTL.as_secs() as i64;
    let set_ttls = |seconds: i64| {
        let mut pipeline = redis::pipe();
        for key in &keys {
            pipeline.cmd("EXPIRE").arg(key).arg(seconds).ignore();
        }
        pipeline
    };
    let ttl_of_state = || redis::cmd("TTL").arg(&keys[0]).clone();

    // An hour down: left alone, no write on the read path.
    let _: () = set_ttls(idle - 3600).query_async(&mut redis).await.unwrap();
    app.timeline(&bob).await;
    let ttl: i64 = ttl_of_state().query_async(&mut redis).await.unwrap();
    assert!(ttl <= idle - 3600, "{ttl}");
    // Two days down: set back.
    let _: () = set_ttls(idle - 2 * 24 * 3600).query_async(&mut redis).await.unwrap();
    app.timeline(&bob).await;
    for key in &keys[..2] {
        let ttl: i64 = redis::cmd("TTL").arg(key).query_async(&mut redis).await.unwrap();
        assert!(ttl > idle - 60, "{key}: {ttl}");
    }
}

/// Two processes (Lambda environments) missing one timeline: the second waits for the first's
/// rebuild rather than rebuilding too; if the first dies mid-rebuild, the second serves its
/// page from the durable timeline, and the rebuild is taken over once the lease lapses.
async fn rebuild_elsewhere(app: TestApp) {
    let (_, bob, posted) = followed_author_with(&app, 30).await;
    let owner = UserId::parse(&bob).unwrap();
    let ids: Vec<TweetId> = posted.iter().map(|id| TweetId::parse(id).unwrap()).collect();
    let (rebuilder, reader) = (Reader::of(&app).await, Reader::of(&app).await);
    let queries = |calls: &BTreeMap<String, u64>| calls.get("Query").copied().unwrap_or(0);

    rebuilder.cache.evict(std::slice::from_ref(&owner)).await.unwrap();
    assert_eq!(rebuilder.cache.begin_fill(&owner).await.unwrap(), FillClaim::Claimed);
    let finish = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        rebuilder.cache.finish_fill(&owner, &ids, &[]).await.unwrap();
    };
    let ((page, dynamo, _), ()) = tokio::join!(reader.read(&bob), finish);
    assert_eq!(page, posted[..20]);
    assert_eq!(queries(&dynamo), 0, "waited for the other rebuild: {dynamo:?}");

    // The rebuilder dies after its claim.
    rebuilder.cache.evict(std::slice::from_ref(&owner)).await.unwrap();
    assert_eq!(rebuilder.cache.begin_fill(&owner).await.unwrap(), FillClaim::Claimed);
    let (page, dynamo, _) = reader.read(&bob).await;
    assert_eq!(page, posted[..20]);
    assert_eq!(
        queries(&dynamo),
        2,
        "one page from the durable timeline (entries, merged authors): {dynamo:?}"
    );
    assert_eq!(reader.cache.begin_fill(&owner).await.unwrap(), FillClaim::Elsewhere, "the lease holds");
    tokio::time::sleep(std::time::Duration::from_millis(5100)).await;
    let (page, dynamo, _) = reader.read(&bob).await;
    assert_eq!((page, queries(&dynamo)), (posted[..20].to_vec(), 1), "the lease lapsed: rebuilt here");
    let (_, dynamo, _) = reader.read(&bob).await;
    assert_eq!(queries(&dynamo), 0, "cached again");
}

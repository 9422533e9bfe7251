//! The walking skeleton: post a tweet, read it in a follower's home timeline.

use reqwest::{Method, StatusCode};
use timeline_model::ports::TimelineCache;
use timeline_model::{TimelineEntry, TweetId, UserId};

use crate::helpers::{Redis, TestApp, flush_cache, ids, on_both_redis, spawn_app, spawn_app_with};

on_both_redis! {
    the_author_and_followers_see_a_tweet_and_a_non_follower_does_not => author_and_followers_see_a_tweet;
    a_flushed_cache_is_refilled_from_the_timelines_table_on_the_next_read => flushed_cache_is_refilled;
    pages_follow_the_cursor_newest_first_without_gaps_or_repeats => pages_follow_the_cursor;
    a_removal_during_a_rebuild_is_not_written_back_by_it => removal_during_rebuild_stays_removed;
    a_durable_timeline_due_a_trim_is_named_again_until_it_is_trimmed => trim_named_until_trimmed;
    the_cache_tells_which_timelines_it_holds_being_rebuilt_or_ready => cache_tells_which_it_holds;
}

#[tokio::test]
async fn a_celebritys_tweets_are_merged_in_at_read_time_in_order() {
    celebrity_tweets_are_merged(Redis::Standalone).await;
}

#[tokio::test]
async fn a_celebritys_tweets_are_merged_in_at_read_time_in_order_on_a_cluster() {
    celebrity_tweets_are_merged(Redis::Cluster).await;
}

/// With a threshold of 1 follower, an author with two is not fanned out.
async fn celebrity_tweets_are_merged(redis: Redis) {
    let app = spawn_app_with(redis, None, 1).await;
    let (star, bob, cat) = (app.user("star").await, app.user("bob").await, app.user("cat").await);
    app.follow(&bob, &star).await;
    app.follow(&cat, &star).await;
    app.follow(&bob, &cat).await;
    // Posted before the crossing is complete, star's tweets would be fanned out.
    app.wait_for_mode(&star, true).await;
    let mut posted = Vec::new();
    for (n, author) in [&star, &cat, &star, &cat, &star].into_iter().enumerate() {
        posted.push(app.post(author, &format!("tweet {n}")).await);
    }
    posted.reverse();
    app.wait_for_timeline(&star, |ids| ids.len() == 3).await;
    let seen = app.wait_for_timeline(&bob, |ids| ids.len() == 5).await;
    assert_eq!(seen, posted, "the celebrity's and cat's tweets, merged newest first");

    // Only cat's tweets were copied into bob's precomputed timeline.
    let owner = UserId::parse(&bob).unwrap();
    let durable = timeline_model::ports::TimelineStore::newest(&app.service.state.dynamo, &owner, None, 10)
        .await
        .unwrap();
    assert_eq!(durable.len(), 2);

    // Pages stay exact across the merge.
    let mut paged = Vec::new();
    let mut path = format!("/users/{bob}/timeline?limit=2");
    loop {
        let reply = app.call(Method::GET, &path, Some(&bob), None).await;
        paged.extend(ids(&reply.body));
        match reply.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/users/{bob}/timeline?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(paged, posted);
}

async fn author_and_followers_see_a_tweet(app: TestApp) {
    let (author, follower, stranger) = (app.user("ann").await, app.user("bob").await, app.user("cat").await);
    app.follow(&follower, &author).await;
    let tweet = app.post(&author, "hello, followers").await;

    let seen = app.wait_for_timeline(&follower, |ids| ids.contains(&tweet)).await;
    assert_eq!(seen, vec![tweet.clone()]);
    assert_eq!(app.wait_for_timeline(&author, |ids| ids.contains(&tweet)).await, vec![tweet.clone()]);
    assert!(app.timeline(&stranger).await.is_empty());

    let reply = app.call(Method::GET, &format!("/users/{follower}/timeline"), Some(&follower), None).await;
    let item = &reply.body["items"][0];
    assert_eq!(item["author_id"], author.as_str());
    assert_eq!(item["text"], "hello, followers");
    assert!(item["author_username"].as_str().is_some_and(|u| u.starts_with("ann")));
    assert_eq!(reply.body["next_cursor"], serde_json::Value::Null);
}

async fn flushed_cache_is_refilled(app: TestApp) {
    let (author, follower) = (app.user("ann").await, app.user("bob").await);
    app.follow(&follower, &author).await;
    let first = app.post(&author, "one").await;
    app.wait_for_timeline(&follower, |ids| ids.contains(&first)).await;

    flush_cache(&app).await;
    let owner = UserId::parse(&follower).unwrap();
    assert_eq!(app.service.state.cache.page(&owner, None, 10).await.unwrap().map(|p| p.ids), None, "flushed");

    assert_eq!(app.timeline(&follower).await, vec![first.clone()]);
    let cached = app.service.state.cache.page(&owner, None, 10).await.unwrap().map(|p| p.ids);
    assert_eq!(cached, Some(vec![TweetId::parse(&first).unwrap()]), "refilled by the read");

    // A cached timeline now gets new tweets from the fan-out directly.
    let second = app.post(&author, "two").await;
    let seen = app.wait_for_timeline(&follower, |ids| ids.contains(&second)).await;
    assert_eq!(seen, vec![second, first]);
}

async fn pages_follow_the_cursor(app: TestApp) {
    let author = app.user("ann").await;
    let mut posted = Vec::new();
    for n in 0..7 {
        posted.push(app.post(&author, &format!("tweet {n}")).await);
    }
    app.wait_for_timeline(&author, |ids| ids.len() == 7).await;
    posted.reverse();

    let mut seen = Vec::new();
    let mut path = format!("/users/{author}/timeline?limit=3");
    loop {
        let reply = app.call(Method::GET, &path, Some(&author), None).await;
        assert_eq!(reply.status, StatusCode::OK);
        seen.extend(ids(&reply.body));
        match reply.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/users/{author}/timeline?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(seen, posted);
}

#[tokio::test]
async fn after_1010_posts_redis_holds_the_newest_800_the_fan_out_trims_the_durable_timeline_and_a_rebuild_the_rest()
 {
    use futures::StreamExt;
    use timeline_model::TIMELINE_CAP;
    use timeline_model::ports::{TimelineCache, TimelineStore};
    use timeline_model::timeline::TRIM_STEP;

    let app = spawn_app_with(Redis::Standalone, None, u64::MAX).await;
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    app.follow(&bob, &ann).await;
    app.timeline(&bob).await; // cached: the fan-out writes and trims it in Redis too
    let posts = futures::stream::iter(0..TIMELINE_CAP + TRIM_STEP + 10).map(|n| {
        let (app, ann) = (&app, &ann);
        async move { app.post(ann, &format!("tweet {n}")).await }
    });
    let mut posted: Vec<String> = posts.buffer_unordered(16).collect().await;
    posted.sort();
    let newest: Vec<TweetId> =
        posted.iter().rev().take(TIMELINE_CAP).map(|id| TweetId::parse(id).unwrap()).collect();

    let owner = UserId::parse(&bob).unwrap();
    let state = &app.service.state;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(180);
    while state.cache.page(&owner, None, 1).await.unwrap().map(|p| p.ids) != Some(vec![newest[0]])
        && std::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        state.cache.page(&owner, None, 1000).await.unwrap().map(|p| p.ids),
        Some(newest.clone()),
        "Redis holds the newest 800"
    );

    // The fan-out trimmed the durable timeline once its cached copy took TRIM_STEP more than
    // the cap; a rebuild serves 800 and trims the rest.
    let durable = state.dynamo.newest(&owner, None, 2000).await.unwrap().len();
    assert!((TIMELINE_CAP..=TIMELINE_CAP + TRIM_STEP).contains(&durable), "{durable} entries");
    flush_cache(&app).await;
    let page = app.call(Method::GET, &format!("/users/{bob}/timeline?limit=100"), Some(&bob), None).await;
    assert_eq!(ids(&page.body).len(), 100);
    assert_eq!(state.cache.page(&owner, None, 1000).await.unwrap().map(|p| p.ids), Some(newest.clone()));
    let durable: Vec<TweetId> =
        state.dynamo.newest(&owner, None, 1000).await.unwrap().into_iter().map(|e| e.tweet_id).collect();
    assert_eq!(durable, newest, "trimmed to the cap");
}

#[tokio::test]
async fn an_inactive_readers_timeline_is_not_written_to_redis_and_is_right_when_rebuilt() {
    use timeline_model::ports::TimelineCache;

    let app = spawn_app().await;
    let (ann, active, inactive) = (app.user("ann").await, app.user("bob").await, app.user("cat").await);
    app.follow(&active, &ann).await;
    app.follow(&inactive, &ann).await;
    app.timeline(&active).await;
    let tweet = app.post(&ann, "hello").await;
    app.wait_for_timeline(&active, |ids| ids.contains(&tweet)).await;

    let owner = UserId::parse(&inactive).unwrap();
    assert_eq!(
        app.service.state.cache.page(&owner, None, 10).await.unwrap().map(|p| p.ids),
        None,
        "nothing cached for cat"
    );
    assert_eq!(app.timeline(&inactive).await, vec![tweet.clone()]);
    let cached = app.service.state.cache.page(&owner, None, 10).await.unwrap().map(|p| p.ids);
    assert_eq!(cached, Some(vec![TweetId::parse(&tweet).unwrap()]));
}

#[tokio::test]
async fn paging_stays_exact_while_new_tweets_arrive() {
    let app = spawn_app().await;
    let ann = app.user("ann").await;
    let mut older = Vec::new();
    for n in 0..6 {
        older.push(app.post(&ann, &format!("old {n}")).await);
    }
    app.wait_for_timeline(&ann, |ids| ids.len() == 6).await;
    older.reverse();

    let first = app.call(Method::GET, &format!("/users/{ann}/timeline?limit=3"), Some(&ann), None).await;
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    let newer = app.post(&ann, "new while paging").await;
    app.wait_for_timeline(&ann, |ids| ids.contains(&newer)).await;
    let second = app
        .call(Method::GET, &format!("/users/{ann}/timeline?limit=3&cursor={cursor}"), Some(&ann), None)
        .await;

    let seen: Vec<String> = [ids(&first.body), ids(&second.body)].concat();
    assert_eq!(seen, older, "no duplicate and no gap: the cursor is a position, not an offset");
}

/// A rebuild reads the durable timeline, then writes what it read to the cache; an entry removed
/// in between (a delete or an unfollow fanning out) must not come back with it.
async fn removal_during_rebuild_stays_removed(app: TestApp) {
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    let (kept, removed) = (app.post(&ann, "kept").await, app.post(&ann, "removed").await);
    let owner = UserId::parse(&bob).unwrap();
    let [kept, removed] = [kept, removed].map(|id| TweetId::parse(&id).unwrap());
    let cache = &app.service.state.cache;
    cache.begin_fill(&owner).await.unwrap();
    let entry =
        TimelineEntry { owner_id: owner.clone(), tweet_id: removed, author_id: UserId::parse(&ann).unwrap() };
    cache.remove(&[entry]).await.unwrap();
    cache.finish_fill(&owner, &[removed, kept], &[]).await.unwrap();
    assert_eq!(cache.page(&owner, None, 10).await.unwrap().map(|p| p.ids), Some(vec![kept]));

    // The next rebuild starts afresh: the removal does not outlive the rebuild it was part of.
    cache.evict(std::slice::from_ref(&owner)).await.unwrap();
    cache.begin_fill(&owner).await.unwrap();
    cache.finish_fill(&owner, &[removed, kept], &[]).await.unwrap();
    assert_eq!(cache.page(&owner, None, 10).await.unwrap().map(|p| p.ids), Some(vec![removed, kept]));
}

/// The cache names a reader due a trim once its copy took `TRIM_STEP` entries, again once the
/// trim's lease lapsed without `trimmed` (the trim failed, or its answer was lost), and counts
/// from zero after `trimmed`.
async fn trim_named_until_trimmed(app: TestApp) {
    use timeline_model::timeline::TRIM_STEP;

    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    let (author, owner) = (UserId::parse(&ann).unwrap(), UserId::parse(&bob).unwrap());
    let cache = &app.service.state.cache;
    cache.begin_fill(&owner).await.unwrap();
    cache.finish_fill(&owner, &[], &[]).await.unwrap();
    let add = |count: usize| {
        let entries: Vec<TimelineEntry> = (0..count)
            .map(|_| TimelineEntry {
                owner_id: owner.clone(),
                tweet_id: TweetId::generate(),
                author_id: author.clone(),
            })
            .collect();
        async move { cache.add(&entries).await.unwrap().trim_due }
    };
    let once = std::slice::from_ref(&owner);

    assert_eq!(add(TRIM_STEP - 1).await, [], "not due yet");
    assert_eq!(add(2).await, once, "due, and named once while its trim may run");
    assert_eq!(add(1).await, [], "its trim may still be running");
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(add(1).await, once, "named again: the trim was not done");
    cache.trimmed(once).await.unwrap();
    assert_eq!(add(TRIM_STEP - 1).await, [], "counted from zero once trimmed");
    assert_eq!(add(1).await, once);
}

/// The hint a large fan-out orders its writes by: a timeline being rebuilt counts as cached (a
/// write landing now reaches it), an evicted one does not.
async fn cache_tells_which_it_holds(app: TestApp) {
    let names = ["ann", "bob", "cat"];
    let mut owners = Vec::new();
    for name in names {
        owners.push(UserId::parse(&app.user(name).await).unwrap());
    }
    let cache = &app.service.state.cache;
    assert_eq!(cache.cached(&owners).await.unwrap(), [false, false, false]);
    cache.begin_fill(&owners[0]).await.unwrap();
    cache.begin_fill(&owners[1]).await.unwrap();
    cache.finish_fill(&owners[1], &[], &[]).await.unwrap();
    assert_eq!(cache.cached(&owners).await.unwrap(), [true, true, false], "rebuilding, ready, absent");
    cache.evict(&owners[1..2]).await.unwrap();
    assert_eq!(cache.cached(&owners).await.unwrap(), [true, false, false]);
    assert_eq!(cache.cached(&[]).await.unwrap(), Vec::<bool>::new());
}

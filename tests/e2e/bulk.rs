//! Bulk loads, as `timeline-seed` writes them: tables created with their streams off, profiles
//! and follow edges written with BatchWriteItem, then the streams turned on. The service must
//! then serve the loaded users as its own and fan new posts out to the loaded followers.

use reqwest::{Method, StatusCode};
use timeline_model::{DisplayName, Follow, User, UserId, Username};
use timeline_store::{Dynamo, StoreSettings, Streams};

use crate::helpers::{Redis, spawn_app_in, store_settings, unique_prefix, unique_user};

fn loaded_user(name: &str, followers: u64, following: u64) -> User {
    let id = UserId::parse(&unique_user(name)).unwrap();
    let username = Username::parse(&format!("{name}{}", &id.as_str()[id.as_str().len() - 6..])).unwrap();
    User {
        followers_count: followers,
        following_count: following,
        ..User::new(id, username, DisplayName::default())
    }
}

#[tokio::test]
async fn bulk_loaded_tables_are_handed_over_to_the_stream_consumer() {
    let prefix = unique_prefix();
    let dynamo = Dynamo::connect(&store_settings(&prefix, Redis::Standalone)).await;
    dynamo.create_tables(Streams::Off).await.unwrap();
    let (author, follower) = (loaded_user("bulka", 1, 0), loaded_user("bulkf", 0, 1));
    dynamo.put_profiles(&[author.clone(), follower.clone()]).await.unwrap();
    dynamo.put_profiles(std::slice::from_ref(&author)).await.unwrap();
    let edge = Follow { followee_id: author.user_id.clone(), follower_id: follower.user_id.clone() };
    dynamo.put_follow_edges(&[edge]).await.unwrap();
    assert_eq!(dynamo.stream_arn(&dynamo.tables().tweets).await.unwrap(), None);
    assert_eq!(dynamo.enable_streams().await.unwrap(), 2, "the tweets and follows streams");
    assert_eq!(dynamo.enable_streams().await.unwrap(), 0, "streams already on are left alone");

    let app = spawn_app_in(prefix, Redis::Standalone, None, StoreSettings::DEFAULT_FANOUT_THRESHOLD).await;
    let (author, follower) = (author.user_id.as_str(), follower.user_id.as_str());
    let profile = app.call(Method::GET, &format!("/users/{author}"), Some(author), None).await;
    assert_eq!(profile.status, StatusCode::OK);
    assert_eq!(profile.body["followers_count"], 1, "written once however often it was loaded");
    let following =
        app.call(Method::GET, &format!("/users/{follower}/following"), Some(follower), None).await;
    assert_eq!(following.body["items"][0]["user_id"], author);

    let tweet = app.post(author, "after the bulk load").await;
    let timeline = app.wait_for_timeline(follower, |ids| ids.contains(&tweet)).await;
    assert_eq!(timeline, vec![tweet], "the stream consumer fans out to loaded followers");
}

//! Bad input gets the contract's status and error body, never a panic or a 500.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::{Reply, TestApp, spawn_app, unique_user};

fn assert_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{:?}", reply.body);
    assert_eq!(reply.error_code(), code, "{:?}", reply.body);
    assert!(reply.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(reply.headers["content-type"], "application/json; charset=utf-8");
}

/// Send a raw body with a given content type.
async fn raw(app: &TestApp, path: &str, user: &str, content_type: &str, body: Vec<u8>) -> Reply {
    let response = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(crate::helpers::token(user))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let body: Value = response.json().await.unwrap_or(Value::Null);
    Reply { status, headers, body }
}

#[tokio::test]
async fn bodies_are_checked_for_size_then_media_type_then_syntax_then_fields() {
    let app = spawn_app().await;
    let user = unique_user("ann");
    let huge = vec![b'x'; 17 * 1024];
    assert_error(
        &raw(&app, "/users", &user, "text/plain", huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
    );
    let plain = br#"{"username":"ann"}"#.to_vec();
    assert_error(
        &raw(&app, "/users", &user, "text/plain", plain).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let broken = b"{\"username\":".to_vec();
    assert_error(
        &raw(&app, "/users", &user, "application/json", broken).await,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    );
    for body in [
        json!({}),
        json!({ "username": 5 }),
        json!({ "username": "has space" }),
        json!({ "username": "x".repeat(16) }),
        json!({ "username": "ok", "display_name": "a\u{1}" }),
    ] {
        let reply = app.call(Method::POST, "/users", Some(&user), Some(body.clone())).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "validation_failed");
    }
}

#[tokio::test]
async fn usernames_are_unique_case_insensitively_and_profiles_are_created_once() {
    let app = spawn_app().await;
    let (first, second) = (unique_user("ann"), unique_user("bob"));
    let name = format!("Ann{}", &first[first.len() - 8..]);
    let created = app.call(Method::POST, "/users", Some(&first), Some(json!({ "username": name }))).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.headers["location"], format!("/users/{first}").as_str());

    let taken = app
        .call(Method::POST, "/users", Some(&second), Some(json!({ "username": name.to_lowercase() })))
        .await;
    assert_error(&taken, StatusCode::CONFLICT, "conflict");
    let again = app.call(Method::POST, "/users", Some(&first), Some(json!({ "username": "another" }))).await;
    assert_error(&again, StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn unknown_routes_methods_and_resources() {
    let app = spawn_app().await;
    assert_error(&app.call(Method::GET, "/nowhere", None, None).await, StatusCode::NOT_FOUND, "not_found");
    assert_error(
        &app.call(Method::DELETE, "/health", None, None).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    assert_error(
        &app.call(Method::GET, "/users/nobody-here", None, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &app.call(Method::GET, "/users/%7Bbad%7D", None, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
}

#[tokio::test]
async fn following_rules() {
    let app = spawn_app().await;
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    let path = |who: &str, whom: &str| format!("/users/{who}/following/{whom}");
    assert_error(
        &app.call(Method::PUT, &path(&ann, &ann), Some(&ann), None).await,
        StatusCode::BAD_REQUEST,
        "validation_failed",
    );
    assert_error(
        &app.call(Method::PUT, &path(&ann, &bob), Some(&bob), None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.call(Method::PUT, &path(&ann, &bob), None, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_error(
        &app.call(Method::PUT, &path(&ann, "nobody"), Some(&ann), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    // Following is idempotent: twice is once, and the counters say so.
    app.follow(&ann, &bob).await;
    app.follow(&ann, &bob).await;
    let bob_profile = app.call(Method::GET, &format!("/users/{bob}"), None, None).await;
    assert_eq!(bob_profile.body["followers_count"], 1);
    let ann_profile = app.call(Method::GET, &format!("/users/{ann}"), None, None).await;
    assert_eq!(ann_profile.body["following_count"], 1);
}

#[tokio::test]
async fn tweet_rules() {
    let app = spawn_app().await;
    let ann = app.user("ann").await;
    for text in [json!(""), json!("   \n "), json!("é".repeat(281)), json!("bell \u{7}"), json!(42)] {
        let reply = app.call(Method::POST, "/tweets", Some(&ann), Some(json!({ "text": text }))).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "validation_failed");
    }
    // Invisible text, and a right-to-left override left open, are refused with their reason.
    let invisible = ["\u{200B}", "\u{FEFF}", "\u{2060}", "\u{200B} \u{3164}\n"].map(|text| (text, "visible"));
    for (text, reason) in
        invisible.into_iter().chain([("\u{202E}", "visible"), ("gnp.exe\u{202E}", "bidirectional")])
    {
        let reply = app.call(Method::POST, "/tweets", Some(&ann), Some(json!({ "text": text }))).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "validation_failed");
        let message = reply.body["error"]["message"].as_str().unwrap_or_default();
        assert!(message.starts_with("text: ") && message.contains(reason), "{text:?}: {message}");
    }
    let balanced = "\u{202E}olleh\u{202C} world \u{2764}\u{FE0F}";
    let reply = app.call(Method::POST, "/tweets", Some(&ann), Some(json!({ "text": balanced }))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let longest =
        app.call(Method::POST, "/tweets", Some(&ann), Some(json!({ "text": "é".repeat(280) }))).await;
    assert_eq!(longest.status, StatusCode::CREATED);
    let id = longest.body["tweet_id"].as_str().unwrap();
    assert_eq!(longest.headers["location"], format!("/tweets/{id}").as_str());

    // A ULID whose first character overflows would decode to another tweet's ID: not found.
    let alias = format!("8{}", &id[1..]);
    assert_error(
        &app.call(Method::GET, &format!("/tweets/{alias}"), None, None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    let no_profile = unique_user("ghost");
    let reply = app.call(Method::POST, "/tweets", Some(&no_profile), Some(json!({ "text": "hi" }))).await;
    assert_error(&reply, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn timeline_rules() {
    let app = spawn_app().await;
    let (ann, bob) = (app.user("ann").await, app.user("bob").await);
    let timeline = |query: &str| format!("/users/{ann}/timeline{query}");
    assert_error(
        &app.call(Method::GET, &timeline(""), Some(&bob), None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_error(
        &app.call(Method::GET, &timeline(""), None, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    for limit in ["0", "101", "x", "-3"] {
        let reply = app.call(Method::GET, &timeline(&format!("?limit={limit}")), Some(&ann), None).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "validation_failed");
    }
    for cursor in ["garbage", "AAAA.BBBB", "."] {
        let reply = app.call(Method::GET, &timeline(&format!("?cursor={cursor}")), Some(&ann), None).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid_cursor");
    }
}

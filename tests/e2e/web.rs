//! The web client as the local server serves it: its files under `/app/`, and its local
//! sign-in, `POST /local/token`, whose tokens the API takes.

use reqwest::{Method, StatusCode, header};
use serde_json::json;

use crate::helpers::{spawn_app, unique_user};

#[tokio::test]
async fn the_client_is_served_under_app_with_a_local_config_and_nothing_outside_its_folder() {
    let app = spawn_app().await;
    let no_redirects =
        reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let bare = no_redirects.get(format!("{}/app", app.base)).send().await.unwrap();
    assert_eq!(bare.status(), StatusCode::PERMANENT_REDIRECT);
    assert_eq!(bare.headers()[header::LOCATION], "/app/");

    for (path, kind, needle) in [
        ("/app/", "text/html", "<script type=\"module\""),
        ("/app/app.js", "text/javascript", "import"),
        ("/app/style.css", "text/css", "{"),
    ] {
        let reply = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::OK, "{path}");
        let content_type = reply.headers()[header::CONTENT_TYPE].to_str().unwrap().to_owned();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(reply.text().await.unwrap().contains(needle), "{path}");
    }
    let config = app.call(Method::GET, "/app/config.json", None, None).await;
    assert_eq!(config.body, json!({ "mode": "local", "api_base": "" }));

    for path in ["/app/..%2FCargo.toml", "/app/.gitignore", "/app/missing.js", "/app/main.rs"] {
        let reply = app.call(Method::GET, path, None, None).await;
        assert_eq!((reply.status, reply.error_code()), (StatusCode::NOT_FOUND, "not_found"), "{path}");
    }
}

#[tokio::test]
async fn a_local_token_signs_the_client_in_and_bad_requests_get_the_error_body() {
    let app = spawn_app().await;
    let user = unique_user("ann");
    let minted = app.call(Method::POST, "/local/token", None, Some(json!({ "user_id": user }))).await;
    assert_eq!(minted.status, StatusCode::OK, "{:?}", minted.body);
    assert_eq!(
        (minted.body["user_id"].as_str(), minted.body["expires_in"].as_u64()),
        (Some(&*user), Some(86_400))
    );
    let token = minted.body["token"].as_str().unwrap();
    let created = app
        .client
        .post(format!("{}/users", app.base))
        .bearer_auth(token)
        .json(&json!({ "username": format!("ann{}", &user[user.len() - 6..]) }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED, "the API takes the minted token as the caller's");

    for body in [json!({ "user_id": "not a user id!" }), json!({}), json!({ "user_id": user, "admin": true })]
    {
        let reply = app.call(Method::POST, "/local/token", None, Some(body.clone())).await;
        assert_eq!(
            (reply.status, reply.error_code()),
            (StatusCode::BAD_REQUEST, "validation_failed"),
            "{body}"
        );
    }
    let wrong_method = app.call(Method::GET, "/local/token", None, None).await;
    assert_eq!(wrong_method.error_code(), "method_not_allowed");
}

//! Identity: local HS256 tokens, and API Gateway's authorizer claims in the real event shape.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::json;
use timeline_api::{AppState, Authenticator, lambda_router};
use timeline_store::ApiSettings;
use tower::ServiceExt;

use crate::helpers::{SECRET, spawn_app, unique_user};

fn signed(secret: &str, sub: &str, exp_offset: i64) -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64;
    let claims = json!({ "sub": sub, "exp": now + exp_offset });
    jsonwebtoken::encode(&Header::default(), &claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

#[tokio::test]
async fn bad_signatures_expired_tokens_and_missing_claims_are_unauthenticated() {
    let app = spawn_app().await;
    let user = unique_user("ann");
    let tokens = [
        signed("wrong-secret", &user, 600),
        signed(SECRET, &user, -120), // past the 60 s leeway
        jsonwebtoken::encode(
            &Header::default(),
            &json!({ "sub": user }),
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap(),
        "not.a.token".into(),
    ];
    for token in tokens {
        let reply = app
            .client
            .post(format!("{}/users", app.base))
            .bearer_auth(token)
            .json(&json!({ "username": "ann" }))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
    }
    // Other claims are ignored (an `aud` included), and the scheme is case-insensitive.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let with_audience = json!({ "sub": user, "exp": now + 600, "aud": "some-client", "iss": "me" });
    let with_audience = jsonwebtoken::encode(
        &Header::default(),
        &with_audience,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap();
    let reply = app
        .client
        .get(format!("{}/users/{user}/timeline", app.base))
        .header("authorization", format!("bearer {with_audience}"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);

    // Within the leeway a token still works.
    let fresh_enough = signed(SECRET, &user, -30);
    let reply = app
        .client
        .get(format!("{}/users/{user}/timeline", app.base))
        .bearer_auth(fresh_enough)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
}

/// An API Gateway REST event (Cognito authorizer) for `GET path`, as Lambda receives it.
fn rest_api_event(path: &str, sub: &str) -> String {
    json!({
        "resource": "/users/{user_id}/timeline",
        "path": path,
        "httpMethod": "GET",
        "headers": { "Accept": "application/json" },
        "multiValueHeaders": { "Accept": ["application/json"] },
        "queryStringParameters": null,
        "multiValueQueryStringParameters": null,
        "pathParameters": null,
        "stageVariables": null,
        "requestContext": {
            "accountId": "123456789012",
            "resourceId": "abc123",
            "stage": "dev",
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "identity": { "sourceIp": "203.0.113.7", "userAgent": "curl/8" },
            "resourcePath": "/users/{user_id}/timeline",
            "httpMethod": "GET",
            "apiId": "1234567890",
            "path": format!("/dev{path}"),
            "authorizer": { "claims": { "sub": sub, "token_use": "id", "cognito:username": "ann" } }
        },
        "body": null,
        "isBase64Encoded": false
    })
    .to_string()
}

#[tokio::test]
async fn in_aws_the_caller_is_the_sub_claim_of_api_gateways_authorizer() {
    let app = spawn_app().await;
    let ann = app.user("ann").await;
    let tweet = app.post(&ann, "hello").await;
    app.wait_for_timeline(&ann, |ids| ids.contains(&tweet)).await;
    // The state the read function builds: the same stores, API Gateway's authorizer, a CORS origin.
    let settings =
        ApiSettings { cors_allow_origin: Some("https://app.example".into()), ..app.settings.api.clone() };
    let state = AppState::connect(&settings, Authenticator::ApiGateway).await.unwrap();
    let lambda_router = lambda_router(state);

    let path = format!("/users/{ann}/timeline");
    let own = lambda_http::request::from_str(&rest_api_event(&path, &ann)).unwrap();
    let response = lambda_router.clone().oneshot(own).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["access-control-allow-origin"], "https://app.example");

    let someone_else = lambda_http::request::from_str(&rest_api_event(&path, "mallory")).unwrap();
    assert_eq!(lambda_router.clone().oneshot(someone_else).await.unwrap().status(), StatusCode::FORBIDDEN);

    // Without authorizer claims (a misconfigured route) nobody is let in.
    let mut anonymous: serde_json::Value = serde_json::from_str(&rest_api_event(&path, &ann)).unwrap();
    anonymous["requestContext"]["authorizer"] = json!({});
    let anonymous = lambda_http::request::from_str(&anonymous.to_string()).unwrap();
    assert_eq!(lambda_router.oneshot(anonymous).await.unwrap().status(), StatusCode::UNAUTHORIZED);

    // The local path reads no claims from the context: a bearer token is required there.
    let reply = app.call(Method::GET, &path, None, None).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
}

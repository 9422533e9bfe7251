//! docs/openapi.yaml held to the code: the operations are exactly the router's route table,
//! every path parameter is declared, and the schemas list exactly the fields the API writes.
//! Both sides are parsed (the YAML document; the route table and real serialized values), so a
//! change on either side that the other does not follow fails here.

use std::collections::BTreeSet;

use serde_norway::Value;
use timeline_model::{DisplayName, NewTweet, Page, Tweet, TweetText, User, UserId, Username};

use crate::cursor::{CursorKey, CursorScope, page_response};
use crate::router::ROUTES;

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

pub fn document() -> Value {
    serde_norway::from_str(include_str!("../../docs/openapi.yaml")).expect("docs/openapi.yaml is YAML")
}

fn mapping<'a>(value: &'a Value, what: &str) -> &'a serde_norway::Mapping {
    value.as_mapping().unwrap_or_else(|| panic!("{what} is a mapping"))
}

fn keys(value: &Value, what: &str) -> BTreeSet<String> {
    mapping(value, what).keys().map(|k| k.as_str().expect("string keys").to_owned()).collect()
}

/// `#/components/<kind>/<name>` resolved, or the value itself.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    let Some(reference) = value.get("$ref").and_then(Value::as_str) else { return value };
    let path = reference.strip_prefix("#/").expect("a local reference");
    path.split('/').fold(document, |node, part| &node[part])
}

/// (method, path, the operation, the parameters the path item declares for all its operations).
fn operations(document: &Value) -> Vec<(String, String, &Value, &Value)> {
    let mut found = Vec::new();
    for (path, item) in mapping(&document["paths"], "paths") {
        let path = path.as_str().expect("a path").to_owned();
        for (method, operation) in mapping(item, &path) {
            let method = method.as_str().expect("a method");
            if METHODS.contains(&method) {
                found.push((method.to_owned(), path.clone(), operation, &item["parameters"]));
            }
        }
    }
    found
}

#[test]
fn the_openapi_document_lists_exactly_the_routes_of_the_router() {
    let document = document();
    let documented: BTreeSet<(String, String)> =
        operations(&document).into_iter().map(|(method, path, ..)| (method, path)).collect();
    let routed: BTreeSet<(String, String)> =
        ROUTES.iter().map(|(method, path)| (method.to_string(), path.to_string())).collect();
    assert_eq!(routed.len(), ROUTES.len(), "a route is declared twice");
    assert_eq!(
        routed.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "routed, not documented"
    );
    assert_eq!(
        documented.difference(&routed).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented, not routed"
    );
}

#[test]
fn every_path_parameter_is_declared_as_one() {
    let document = document();
    for (method, path, operation, shared) in operations(&document) {
        let in_path: BTreeSet<String> = path
            .split('/')
            .filter_map(|segment| segment.strip_prefix('{')?.strip_suffix('}'))
            .map(str::to_owned)
            .collect();
        let declared: BTreeSet<String> = [&operation["parameters"], shared]
            .into_iter()
            .filter_map(Value::as_sequence)
            .flatten()
            .map(|parameter| resolve(&document, parameter))
            .filter(|parameter| parameter["in"].as_str() == Some("path"))
            .map(|parameter| parameter["name"].as_str().expect("a name").to_owned())
            .collect();
        assert_eq!(in_path, declared, "{method} {path}");
    }
}

/// The schema's `properties` and `required` both name exactly the fields of `written`.
fn assert_schema_lists(schema_name: &str, written: &serde_json::Value) {
    let document = document();
    let schema = &document["components"]["schemas"][schema_name];
    let fields: BTreeSet<String> = written.as_object().expect("an object").keys().cloned().collect();
    assert_eq!(keys(&schema["properties"], schema_name), fields, "{schema_name}: properties");
    let required: BTreeSet<String> = schema["required"]
        .as_sequence()
        .expect("required fields")
        .iter()
        .map(|field| field.as_str().expect("a field").to_owned())
        .collect();
    assert_eq!(required, fields, "{schema_name}: required (every field is always written)");
}

fn sample_user() -> User {
    User::new(UserId::parse("ann").unwrap(), Username::parse("ann").unwrap(), DisplayName::default())
}

fn sample_tweet() -> Tweet {
    Tweet::compose(&sample_user(), NewTweet { text: TweetText::parse("hi").unwrap() })
}

#[test]
fn the_user_and_tweet_schemas_list_exactly_the_fields_written() {
    assert_schema_lists("User", &serde_json::to_value(sample_user()).unwrap());
    assert_schema_lists("Tweet", &serde_json::to_value(sample_tweet()).unwrap());
}

#[tokio::test]
async fn the_page_schemas_list_exactly_the_fields_written() {
    let owner = UserId::parse("ann").unwrap();
    let page = Page { items: vec![sample_tweet()], next: Some("position".to_owned()) };
    let response = page_response(&CursorKey::new(b"key"), &CursorScope::HomeTimeline(&owner), page);
    let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_schema_lists("TweetPage", &body);
    assert_schema_lists("UserPage", &body);
}

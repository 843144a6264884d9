//! Helpers shared by the integration tests: fixture paths, server start, HTTP calls, tokens.
#![allow(dead_code)]

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::{Value, json};
use simcloud::{Fixture, SimCloud};

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

pub fn load(name: &str) -> Fixture {
    Fixture::load(&fixture_path(name)).expect("fixture loads")
}

pub async fn start(name: &str) -> SimCloud {
    SimCloud::start(load(name)).await.expect("server starts")
}

pub async fn start_yaml(yaml: &str) -> SimCloud {
    SimCloud::start(Fixture::from_yaml(yaml).expect("fixture parses"))
        .await
        .expect("server starts")
}

pub fn client() -> reqwest::Client {
    // Fails harmlessly when another test installed it first.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .build()
        .expect("plain-http client")
}

pub fn password_auth(user: &str, password: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": user, "domain": {"name": "Default"}, "password": password}}}}})
}

pub fn appcred_auth(id: &str, secret: &str) -> Value {
    json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"id": id, "secret": secret}}}})
}

/// POST the auth body; returns (status, X-Subject-Token, body).
pub async fn auth(cloud: &SimCloud, body: &Value) -> (StatusCode, Option<String>, Value) {
    let resp = client()
        .post(format!("{}/auth/tokens", cloud.auth_url()))
        .json(body)
        .send()
        .await
        .expect("request");
    let status = resp.status();
    let token = resp
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.json::<Value>().await.unwrap_or(Value::Null);
    (status, token, body)
}

/// A project-scoped token of the fixture user `member` / `s3cret`.
pub async fn member_token(cloud: &SimCloud) -> String {
    let (status, token, _) = auth(cloud, &password_auth("member", "s3cret")).await;
    assert_eq!(status, StatusCode::CREATED);
    token.expect("X-Subject-Token")
}

/// GET with a token and extra headers; returns (status, headers, body text).
pub async fn get(
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let mut req = client().get(url);
    if let Some(t) = token {
        req = req.header("X-Auth-Token", t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    (status, headers, text)
}

/// GET and parse JSON; panics on a non-JSON body.
pub async fn get_json(
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
) -> (StatusCode, Value) {
    let (status, _, text) = get(url, token, headers).await;
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"));
    (status, value)
}

pub fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|i| i["name"].as_str().expect("name").to_owned())
        .collect()
}

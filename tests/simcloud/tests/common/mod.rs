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

/// Any request with a token, extra headers and an optional JSON body;
/// returns (status, headers, body text).
pub async fn request(
    method: &str,
    url: &str,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = client().request(method, url);
    if let Some(t) = token {
        req = req.header("X-Auth-Token", t);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    (status, headers, text)
}

/// `request` and parse the body as JSON (`Null` for an empty body).
pub async fn call(
    method: &str,
    url: &str,
    token: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    let (status, _, text) = request(method, url, Some(token), &[], body).await;
    if text.is_empty() {
        return (status, Value::Null);
    }
    let value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: {e}: {text}"));
    (status, value)
}

/// A started cloud with a member token and the demo project's Cinder base URL.
pub struct Session {
    pub cloud: SimCloud,
    pub token: String,
}

impl Session {
    pub async fn new(yaml_or_fixture: &str) -> Session {
        let cloud = if yaml_or_fixture.ends_with(".yaml") {
            start(yaml_or_fixture).await
        } else {
            start_yaml(yaml_or_fixture).await
        };
        let token = member_token(&cloud).await;
        Session { cloud, token }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.cloud.base_url())
    }

    /// `/volume/v3/<demo project id><path>`
    pub fn cinder(&self, path: &str) -> String {
        self.url(&format!(
            "/volume/v3/{}{path}",
            simcloud::project_id("demo")
        ))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        call("GET", &self.url(path), &self.token, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        call("POST", &self.url(path), &self.token, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        call("PUT", &self.url(path), &self.token, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        call("DELETE", &self.url(path), &self.token, None).await
    }
}

/// The minimal fixture the service tests build on: one member user and the catalog.
pub const BASE_YAML: &str = "users: [{name: member, password: s3cret, project: demo, roles: [member, reader]}]\n\
services:\n\
- {type: identity, name: keystone, path: /identity/v3}\n\
- {type: compute, name: nova, path: /compute/v2.1}\n\
- {type: image, name: glance, path: /image}\n\
- {type: network, name: neutron, path: /network}\n\
- {type: volumev3, name: cinderv3, path: '/volume/v3/{project_id}'}\n\
- {type: key-manager, name: barbican, path: /key-manager}\n\
- {type: object-store, name: swift, path: '/swift/v1/AUTH_{project_id}'}\n\
flavors: [{id: '1', name: SCS-1V-2, vcpus: 1, ram: 2048, disk: 10}]\n\
images: [{name: Debian 12, min_disk: 4, min_ram: 512, size: 1000000}]\n";

/// `BASE_YAML` plus more top-level keys.
pub fn yaml_with(extra: &str) -> String {
    format!("{BASE_YAML}{extra}")
}

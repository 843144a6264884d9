//! Fault injection (`faults:`): error statuses, latency, malformed JSON, slow bodies, token
//! expiry by time and by use count.

use std::time::{Duration, Instant};

use crate::common::*;
use reqwest::StatusCode;
use serde_json::Value;

fn statuses(s: &Session, path: &str) -> Vec<u16> {
    s.cloud
        .requests()
        .iter()
        .filter(|r| r.path == path)
        .map(|r| r.status)
        .collect()
}

#[tokio::test]
async fn injected_errors_count_method_and_path() {
    let s = Session::new(&yaml_with(
        "faults:\n  errors:\n\
         \x20 - {path_prefix: /compute/v2.1/flavors, status: 503, count: 2}\n\
         \x20 - {method: POST, path_regex: '^/network/v2\\.0/(networks|routers)$', status: 500}\n",
    ))
    .await;
    let url = s.url("/compute/v2.1/flavors/detail");
    for expected in [503, 503, 200, 200] {
        let (status, _, text) = request("GET", &url, Some(&s.token), &[], None).await;
        assert_eq!(status.as_u16(), expected, "{text}");
        if expected == 503 {
            let body: Value = serde_json::from_str(&text).expect("json");
            assert_eq!(body["error"]["code"], 503);
            assert!(
                body["error"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("faults.errors[0]")),
                "{body}"
            );
        }
    }
    assert_eq!(
        statuses(&s, "/compute/v2.1/flavors/detail"),
        [503, 503, 200, 200]
    );
    // Method-restricted regex rule: GET passes, POST fails every time, other paths pass.
    let (status, _) = s.get("/network/v2.0/networks").await;
    assert_eq!(status, StatusCode::OK);
    for _ in 0..3 {
        let (status, _) = s
            .post(
                "/network/v2.0/networks",
                &serde_json::json!({"network": {"name": "x"}}),
            )
            .await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    }
    let (status, _) = s
        .post(
            "/network/v2.0/security-groups",
            &serde_json::json!({"security_group": {"name": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Injected errors come before the token check; /_sim is never touched.
    let cloud = start_yaml(&yaml_with(
        "faults: {errors: [{path_prefix: /, status: 502}]}\n",
    ))
    .await;
    let (status, _, _) = auth(&cloud, &password_auth("member", "s3cret")).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let (status, _, _) = request(
        "GET",
        &format!("{}/image/v2/images", cloud.base_url()),
        None,
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_GATEWAY);
    let (status, _, text) = get(&format!("{}/_sim/health", cloud.base_url()), None, &[]).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "ok"));
}

#[tokio::test]
async fn latency_delays_every_response() {
    let s = Session::new(&yaml_with("faults: {latency_ms: 300}\n")).await;
    let started = Instant::now();
    let (status, _) = s.get("/compute/v2.1/flavors").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let (status, _, _) = request("GET", &s.url("/nothing"), None, &[], None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn malformed_json_truncates_bodies_under_the_prefix() {
    let s = Session::new(&yaml_with(
        "faults: {malformed_json: [/compute/v2.1/flavors]}\n",
    ))
    .await;
    let (status, headers, text) = request(
        "GET",
        &s.url("/compute/v2.1/flavors/detail"),
        Some(&s.token),
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert!(serde_json::from_str::<Value>(&text).is_err(), "{text}");
    assert!(text.starts_with("{\"flavors\":"), "{text}");
    // The full body would be twice as long.
    let s2 = Session::new(BASE_YAML).await;
    let (_, _, full) = request(
        "GET",
        &s2.url("/compute/v2.1/flavors/detail"),
        Some(&s2.token),
        &[],
        None,
    )
    .await;
    let full = full.replace(&s2.cloud.base_url(), &s.cloud.base_url());
    assert_eq!(text.len(), full.len() / 2);
    assert_eq!(text, full[..full.len() / 2]);
    // Other paths are intact.
    let (status, body) = s.get("/image/v2/images").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["images"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn slow_body_streams_at_the_given_rate() {
    let s = Session::new(&yaml_with(
        "faults: {slow_body: {path_prefix: /image/v2, bytes_per_sec: 500}}\n",
    ))
    .await;
    let started = Instant::now();
    let (status, headers, text) =
        request("GET", &s.url("/image/v2/images"), Some(&s.token), &[], None).await;
    let elapsed = started.elapsed();
    assert_eq!(status, StatusCode::OK);
    assert!(headers.get("content-length").is_none());
    let body: Value = serde_json::from_str(&text).expect("the slow body is complete JSON");
    assert_eq!(body["images"][0]["name"], "Debian 12");
    // 50-byte chunks every 100 ms.
    let minimum = Duration::from_millis(u64::try_from(text.len()).expect("len") * 1000 / 500);
    assert!(text.len() > 500, "{}", text.len());
    assert!(
        elapsed + Duration::from_millis(100) >= minimum,
        "{elapsed:?} < {minimum:?}"
    );
    let started = Instant::now();
    let (status, _) = s.get("/compute/v2.1/flavors").await;
    assert_eq!(status, StatusCode::OK);
    assert!(started.elapsed() < minimum, "unaffected path was slow");
}

#[tokio::test]
async fn tokens_expire_by_time() {
    let s = Session::new(&yaml_with("faults: {token_ttl_secs: 1}\n")).await;
    let (status, _, body) = auth(&s.cloud, &password_auth("member", "s3cret")).await;
    assert_eq!(status, StatusCode::CREATED);
    let issued =
        chrono::DateTime::parse_from_rfc3339(body["token"]["issued_at"].as_str().expect("issued"))
            .expect("rfc3339");
    let expires = chrono::DateTime::parse_from_rfc3339(
        body["token"]["expires_at"].as_str().expect("expires"),
    )
    .expect("rfc3339");
    assert_eq!((expires - issued).num_seconds(), 1);
    let (status, _) = s.get("/compute/v2.1/flavors").await;
    assert_eq!(status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, _, text) = request(
        "GET",
        &s.url("/compute/v2.1/flavors"),
        Some(&s.token),
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{text}");
    let (status, _) = s.get("/network/v2.0/networks").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let fresh = member_token(&s.cloud).await;
    let (status, _) = call("GET", &s.url("/compute/v2.1/flavors"), &fresh, None).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn tokens_expire_after_n_requests() {
    let s = Session::new(&yaml_with("faults: {expire_tokens_after_requests: 3}\n")).await;
    let paths = [
        "/compute/v2.1/flavors",
        "/image/v2/images",
        &format!("/volume/v3/{}/types", simcloud::project_id("demo")),
        "/network/v2.0/networks",
        "/compute/v2.1/flavors",
    ];
    let mut got = Vec::new();
    for path in paths {
        let (status, _) = s.get(path).await;
        got.push(status.as_u16());
    }
    assert_eq!(got, [200, 200, 200, 401, 401]);
    // Keystone refuses the used-up token too, also as a subject.
    let (status, _) = get_json(
        &format!("{}/auth/tokens", s.cloud.auth_url()),
        Some(&s.token),
        &[("X-Subject-Token", s.token.as_str())],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A new token starts a new count.
    let fresh = member_token(&s.cloud).await;
    let (status, _) = call("GET", &s.url("/compute/v2.1/flavors"), &fresh, None).await;
    assert_eq!(status, StatusCode::OK);
}

//! Verdict-table tests of the network-facing checks: scs-0115 (default
//! security-group rules, d.7), scs-0116 (key manager, d.8, h.6) and the S3
//! probe `scs-0123-swift-s3` (d.10, h.7). Each test runs the real
//! `scs-cert` binary with the real components against simcloud, started
//! from a fixture in `tests/fixtures/clouds/` whose header lists the
//! verdicts the official suite gives; the tests assert exactly those, and
//! for the write paths that simcloud holds no security group or secret
//! afterwards.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use crate::common::*;
use std::collections::BTreeMap;

/// The testcases of the three checks (the presence test needs `--recommended`).
const TESTS: &str =
    "^(scs-0115-default-rules|scs-0116-presence|scs-0116-permissions|scs-0123-swift-s3)$";

const PASS: i64 = 1;
const FAIL: i64 = -1;
const ABORT: i64 = 0;

fn verdicts(v0115: i64, presence: i64, permissions: i64, swift_s3: i64) -> BTreeMap<String, i64> {
    [
        ("scs-0115-default-rules", v0115),
        ("scs-0116-presence", presence),
        ("scs-0116-permissions", permissions),
        ("scs-0123-swift-s3", swift_s3),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// Run the four testcases; returns the results and the log lines. With the virtual clock: the
/// S3 probe's retries (boto3's backoff) cost no time where an endpoint is unreachable.
fn run(cloud: &BlockingSimCloud) -> (BTreeMap<String, i64>, Vec<String>) {
    let (cli, report) = run_scope(cloud, TESTS, &["--recommended", "--virtual-clock"]);
    let results = results_of(&report);
    assert_eq!(
        results.len(),
        4,
        "expected four results; stderr:\n{}\nreport: {report:#}",
        cli.stderr
    );
    (results, log_lines(&report))
}

fn assert_verdicts(
    fixture: &str,
    got: &BTreeMap<String, i64>,
    want: BTreeMap<String, i64>,
    logs: &[String],
) {
    assert_eq!(
        got,
        &want,
        "{fixture}: verdicts differ; log:\n{}",
        logs.join("\n")
    );
}

/// Requests simcloud saw with this method whose path contains `part`.
fn requests_to(
    cloud: &BlockingSimCloud,
    method: &str,
    part: &str,
) -> Vec<simcloud::RecordedRequest> {
    cloud
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.contains(part))
        .collect()
}

fn assert_no_leftovers(cloud: &BlockingSimCloud) {
    let res = cloud.resources();
    assert!(
        res.security_groups.is_empty() && res.secrets.is_empty(),
        "leftovers: {:?}",
        res.names()
    );
}

/// The S3 probe reached the host root signed for the bogus key, without
/// the Keystone token.
fn assert_s3_probe_sent(cloud: &BlockingSimCloud) {
    let probes: Vec<_> = cloud
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == "/")
        .collect();
    assert_eq!(probes.len(), 1, "one S3 probe expected");
    let p = &probes[0];
    let auth = p.header("authorization").unwrap_or("");
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=doesnotexist/")
            && auth.contains("/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature="),
        "{auth}"
    );
    assert!(
        p.header("x-amz-date")
            .is_some_and(|d| d.len() == 16 && d.ends_with('Z'))
    );
    assert_eq!(
        p.header("x-amz-content-sha256"),
        Some("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(
        p.header("x-auth-token"),
        None,
        "the token must not go to the S3 endpoint"
    );
}

#[test]
fn everything_passes() {
    let f = "tests/fixtures/clouds/net-pass.yaml";
    let cloud = start_cloud_at(f);
    let (got, logs) = run(&cloud);
    assert_verdicts(f, &got, verdicts(PASS, PASS, PASS, PASS), &logs);
    // normal path of 0115: read only
    assert_eq!(
        requests_to(&cloud, "GET", "/v2.0/default-security-group-rules").len(),
        1
    );
    assert!(requests_to(&cloud, "POST", "/security-groups").is_empty());
    // 0116 created and deleted exactly one secret, with the official body
    let posts = requests_to(&cloud, "POST", "/key-manager/v1/secrets");
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].json(),
        Some(
            serde_json::json!({"name": "scs-member-role-test-secret", "payload": "foo",
            "payload_content_type": "text/plain", "secret_type": "opaque"})
        )
    );
    assert_eq!(
        requests_to(&cloud, "DELETE", "/key-manager/v1/secrets/").len(),
        1
    );
    assert_no_leftovers(&cloud);
    assert_s3_probe_sent(&cloud);
}

#[test]
fn violations_fail() {
    let f = "tests/fixtures/clouds/net-fail.yaml";
    let cloud = start_cloud_at(f);
    let (got, logs) = run(&cloud);
    assert_verdicts(f, &got, verdicts(FAIL, PASS, FAIL, FAIL), &logs);
    assert!(
        logs.iter()
            .any(|l| l == "ERROR: Expected no default ingress rules, found 1."),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l == "ERROR: Unsuccessful at using Key Manager API")
    );
    assert!(
        logs.iter()
            .any(|l| l.starts_with("ERROR: S3 probe") && l.contains("AccessDenied"))
    );
    assert_no_leftovers(&cloud);
    assert_s3_probe_sent(&cloud);
}

#[test]
fn uncaught_errors_abort() {
    let f = "tests/fixtures/clouds/net-abort.yaml";
    let cloud = start_cloud_at(f);
    let (got, logs) = run(&cloud);
    assert_verdicts(f, &got, verdicts(ABORT, PASS, ABORT, ABORT), &logs);
    // a 500 is no reason to fall back to creating a group
    assert!(requests_to(&cloud, "POST", "/security-groups").is_empty());
    // and a failed listing no reason to create a secret
    assert!(requests_to(&cloud, "POST", "/key-manager/").is_empty());
    assert_no_leftovers(&cloud);
}

#[test]
fn legacy_neutron_fallback_passes_and_cleans_up() {
    let f = "tests/fixtures/clouds/net-legacy-pass.yaml";
    let cloud = start_cloud_at(f);
    let (got, logs) = run(&cloud);
    assert_verdicts(f, &got, verdicts(PASS, FAIL, PASS, PASS), &logs);
    let posts = requests_to(&cloud, "POST", "/v2.0/security-groups");
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].json(),
        Some(
            serde_json::json!({"security_group": {"name": "scs-test-default-sg",
            "description": "scs-test-default-sg"}})
        )
    );
    assert_eq!(
        requests_to(&cloud, "DELETE", "/v2.0/security-groups/").len(),
        1
    );
    assert!(
        logs.iter().any(|l| l.starts_with("INFO: API call failed.")),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l == "ERROR: key-manager service not found")
    );
    assert_no_leftovers(&cloud);
    assert_s3_probe_sent(&cloud);
}

#[test]
fn legacy_neutron_fallback_fails_and_cleans_up() {
    let f = "tests/fixtures/clouds/net-legacy-fail.yaml";
    let cloud = start_cloud_at(f);
    let (got, logs) = run(&cloud);
    assert_verdicts(f, &got, verdicts(FAIL, PASS, FAIL, FAIL), &logs);
    assert_eq!(
        requests_to(&cloud, "DELETE", "/v2.0/security-groups/").len(),
        1
    );
    // the refused listing comes before any write
    assert!(requests_to(&cloud, "POST", "/key-manager/").is_empty());
    assert_no_leftovers(&cloud);
}

#[test]
fn legacy_neutron_lookup_error_aborts_after_cleanup() {
    let f = "tests/fixtures/clouds/net-legacy-abort.yaml";
    let cloud = start_cloud_at(f);
    let (got, logs) = run(&cloud);
    assert_verdicts(f, &got, verdicts(ABORT, PASS, ABORT, ABORT), &logs);
    // `finally`: the group is deleted although reading it failed
    assert_eq!(
        requests_to(&cloud, "DELETE", "/v2.0/security-groups/").len(),
        1
    );
    assert_no_leftovers(&cloud);
    // nothing was sent to the object store (no public endpoint)
    assert!(cloud.requests().iter().all(|r| r.path != "/"));
}

#[test]
fn failed_writes_abort_and_leftovers_are_removed_next_time() {
    let f = "tests/fixtures/clouds/net-legacy-create-abort.yaml";
    let cloud = start_cloud_at(f);
    let (got, logs) = run(&cloud);
    assert_verdicts(f, &got, verdicts(ABORT, PASS, ABORT, PASS), &logs);
    // the group could not be created, so nothing is deleted
    assert!(requests_to(&cloud, "DELETE", "/v2.0/security-groups/").is_empty());
    // the secret whose deletion failed is left behind ...
    let left = cloud.resources().secrets;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].name, "scs-member-role-test-secret");
    // the S3 probe went nowhere (no path in the endpoint URL, d.10 step 2)
    assert!(cloud.requests().iter().all(|r| r.path != "/"));
    assert!(
        logs.iter().any(|l| l.starts_with("WARNING: object-store endpoint http://127.0.0.1:1 has no path")),
        "{logs:?}"
    );

    // ... and removed by the next run, which then passes
    let (got, logs) = run(&cloud);
    assert_verdicts(f, &got, verdicts(ABORT, PASS, PASS, PASS), &logs);
    assert_eq!(
        requests_to(&cloud, "POST", "/key-manager/v1/secrets").len(),
        2
    );
    assert_eq!(
        requests_to(&cloud, "DELETE", "/key-manager/v1/secrets/").len(),
        3
    );
    assert_no_leftovers(&cloud);
}

#[test]
fn unreachable_endpoints() {
    let f = "tests/fixtures/clouds/net-unreachable.yaml";
    let cloud = start_cloud_at(f);
    let (got, logs) = run(&cloud);
    assert_verdicts(f, &got, verdicts(ABORT, FAIL, PASS, FAIL), &logs);
}

#[test]
fn privileged_user_aborts_everything() {
    // simcloud's admin-role fixture: the harness preflight (d.0) and the
    // re-check of scs-0116-permissions (d.8 step 1) both refuse admin
    let cloud = start_cloud("admin-role");
    let (got, logs) = run(&cloud);
    assert_verdicts(
        "admin-role",
        &got,
        verdicts(ABORT, ABORT, ABORT, ABORT),
        &logs,
    );
    assert!(
        cloud
            .requests()
            .iter()
            .all(|r| r.method == "GET" || r.path.contains("/identity/"))
    );
}

/// The S3 probes simcloud saw (`GET /`).
fn s3_probes(cloud: &BlockingSimCloud) -> Vec<simcloud::RecordedRequest> {
    cloud
        .requests()
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == "/")
        .collect()
}

/// boto3's default (legacy) retry mode sends the S3 probe up to five times
/// while the answer is a 503 (d.10): four 503s and then the real answer
/// pass, as for the official suite. The run uses the virtual clock, so the
/// backoff between the attempts costs no time.
#[test]
fn flaky_s3_endpoint_is_retried_like_boto3() {
    let f = "tests/fixtures/clouds/net-s3-flaky.yaml";
    let cloud = start_cloud_at(f);
    let (cli, report) = run_scope(&cloud, TESTS, &["--recommended", "--virtual-clock"]);
    let got = results_of(&report);
    let logs = log_lines(&report);
    assert_eq!(got.len(), 4, "stderr:\n{}", cli.stderr);
    assert_verdicts(f, &got, verdicts(PASS, PASS, PASS, PASS), &logs);
    let probes = s3_probes(&cloud);
    assert_eq!(probes.len(), 5, "five attempts expected");
    // every attempt is signed for the bogus key, none carries the token
    for p in &probes {
        assert!(
            p.header("authorization")
                .is_some_and(|a| a.starts_with("AWS4-HMAC-SHA256 Credential=doesnotexist/"))
        );
        assert_eq!(p.header("x-auth-token"), None);
    }
    assert!(
        logs.iter()
            .any(|l| l.starts_with("INFO: S3 probe at ") && l.contains("5 attempts")),
        "{logs:?}"
    );
}

/// An S3 endpoint that answers 503 five times: boto3 gives up after five
/// attempts and the official check FAILs; so do we, after the same five.
#[test]
fn s3_endpoint_down_fails_after_five_attempts() {
    let f = "tests/fixtures/clouds/net-s3-down.yaml";
    let cloud = start_cloud_at(f);
    let (cli, report) = run_scope(&cloud, TESTS, &["--recommended", "--virtual-clock"]);
    let got = results_of(&report);
    let logs = log_lines(&report);
    assert_eq!(got.len(), 4, "stderr:\n{}", cli.stderr);
    assert_verdicts(f, &got, verdicts(PASS, PASS, PASS, FAIL), &logs);
    assert_eq!(s3_probes(&cloud).len(), 5, "five attempts expected");
    assert!(
        logs.iter().any(|l| l.starts_with("ERROR: S3 probe")
            && l.contains("(503)")
            && l.contains("(reached max retries: 4)")),
        "{logs:?}"
    );
}

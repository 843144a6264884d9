//! Test-only check component for the Kubernetes mediation (issue 10). The testcase id picks
//! what it does; tests/artifacts assembles one check directory per `checks/*.json`:
//!
//! - `test-kube-read` (grants `kubernetes:nonresource/version:read`,
//!   `kubernetes:core/nodes:read`): `cluster()`, `GET /version` and `GET /api/v1/nodes`,
//!   reported as log lines (`cluster: …`, `gitVersion: …`, `nodes: …`); PASS when both reads
//!   answered 200, FAIL otherwise, with the status or error in the message.
//! - `test-kube-denied` (grants only `/version`): a namespace list, a write, a reserved header
//!   and a path that climbs; PASS when the host refused every one as `denied` (each refusal
//!   logged), FAIL naming the first that went through.
//!
//! Uses the generated bindings directly (a thin helper below), so it depends on nothing but
//! the WIT contract. Never part of a released bundle.

use scs_check_sdk::bindings::scs::check::kubernetes as kube;
use scs_check_sdk::{self as sdk, TestcaseResult, Verdict};

fn get(path: &str) -> Result<kube::Response, kube::Error> {
    send(kube::Method::Get, path, vec![])
}

fn send(
    method: kube::Method,
    path: &str,
    headers: Vec<(String, String)>,
) -> Result<kube::Response, kube::Error> {
    kube::send(&kube::Request {
        method,
        path: path.to_string(),
        query: vec![],
        headers,
        body: None,
    })
}

fn describe(e: &kube::Error) -> String {
    match e {
        kube::Error::Denied(m) => format!("denied: {m}"),
        kube::Error::NoCluster(m) => format!("no cluster: {m}"),
        kube::Error::Timeout(m) => format!("timeout: {m}"),
        kube::Error::TooLarge(m) => format!("too large: {m}"),
        kube::Error::Transport(m) => format!("transport: {m}"),
    }
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or(serde_json::Value::Null)
}

fn read(id: &str) -> TestcaseResult {
    match kube::cluster() {
        Ok(c) => sdk::info(&format!("cluster: {} (context {})", c.server, c.context)),
        Err(e) => sdk::warning(&format!("cluster: {}", describe(&e))),
    }
    let version = match get("/version") {
        Ok(r) if r.status == 200 => {
            let v = json(&r.body)["gitVersion"]
                .as_str()
                .unwrap_or("?")
                .to_string();
            sdk::info(&format!("gitVersion: {v}"));
            v
        }
        Ok(r) => {
            return sdk::result(
                id,
                Verdict::Fail,
                format!("GET /version: HTTP {}", r.status),
            );
        }
        Err(e) => return sdk::result(id, Verdict::Fail, format!("GET /version: {}", describe(&e))),
    };
    let nodes = match get("/api/v1/nodes") {
        Ok(r) if r.status == 200 => {
            let v = json(&r.body);
            let names: Vec<String> = v["items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|n| n["metadata"]["name"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            sdk::info(&format!("nodes: {}", names.join(", ")));
            names
        }
        Ok(r) => {
            return sdk::result(
                id,
                Verdict::Fail,
                format!("GET /api/v1/nodes: HTTP {}", r.status),
            );
        }
        Err(e) => {
            return sdk::result(
                id,
                Verdict::Fail,
                format!("GET /api/v1/nodes: {}", describe(&e)),
            );
        }
    };
    sdk::result(
        id,
        Verdict::Pass,
        format!("cluster version {version}, {} nodes", nodes.len()),
    )
}

/// One refused attempt: what it is, the method, the path and the extra headers.
type Attempt = (
    &'static str,
    kube::Method,
    &'static str,
    Vec<(String, String)>,
);

fn denied(id: &str) -> TestcaseResult {
    let attempts: [Attempt; 5] = [
        (
            "undeclared resource",
            kube::Method::Get,
            "/api/v1/namespaces",
            vec![],
        ),
        (
            "write to a read-only path",
            kube::Method::Post,
            "/version",
            vec![],
        ),
        (
            "impersonation header",
            kube::Method::Get,
            "/version",
            vec![("Impersonate-User".into(), "system:admin".into())],
        ),
        (
            "authorization header",
            kube::Method::Get,
            "/version",
            vec![("Authorization".into(), "Bearer forged".into())],
        ),
        (
            "climbing path",
            kube::Method::Get,
            "/version/../api/v1/secrets",
            vec![],
        ),
    ];
    for (what, method, path, headers) in attempts {
        match send(method, path, headers) {
            Err(kube::Error::Denied(m)) => sdk::info(&format!("{what}: denied: {m}")),
            Err(e) => {
                return sdk::result(id, Verdict::Fail, format!("{what}: {}", describe(&e)));
            }
            Ok(r) => {
                return sdk::result(
                    id,
                    Verdict::Fail,
                    format!("{what}: went through (HTTP {})", r.status),
                );
            }
        }
    }
    sdk::result(id, Verdict::Pass, "every attempt was denied")
}

struct Probe;

impl scs_check_sdk::Check for Probe {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        testcases
            .iter()
            .map(|t| {
                let r = match t.as_str() {
                    "test-kube-read" => read(t),
                    "test-kube-denied" => denied(t),
                    other => sdk::result(other, Verdict::Abort, "unknown testcase"),
                };
                // the reason of a FAIL or ABORT as a log line too (the report keeps log lines)
                if r.verdict != Verdict::Pass {
                    sdk::error(&r.message);
                }
                r
            })
            .collect()
    }
}

scs_check_sdk::check!(Probe);

//! Test-only check component that misbehaves on request, so the host's
//! sandbox and mediation can be tested with real wasm. The testcase id picks
//! the behaviour; tests/artifacts assembles one check directory per
//! behaviour from `checks/*.json` (each with its own limits and grants).
//!
//! Never part of a released bundle (tests sign throwaway bundles with it).

use scs_check_sdk::bindings::scs::check::openstack as host;
use scs_check_sdk::openstack::{Request, flavors, identity};
use scs_check_sdk::{self as sdk, TestcaseResult, Verdict};

fn run_one(id: &str) -> TestcaseResult {
    match id {
        "test-loop" | "test-spin-a" | "test-spin-b" | "test-spin-c" => {
            let mut n: u64 = 0;
            loop {
                n = std::hint::black_box(n.wrapping_add(1));
            }
        }
        "test-hog" => {
            let mut hog: Vec<Vec<u8>> = Vec::new();
            loop {
                hog.push(std::hint::black_box(vec![7u8; 1 << 20]));
            }
        }
        "test-panic" => panic!("test guest panicked on purpose"),
        "test-write" => {
            let req =
                Request::new("compute", host::Method::Post, "servers").json(&serde_json_value());
            match req.send() {
                Err(e) => sdk::result(id, Verdict::Pass, format!("write refused: {e}")),
                Ok(r) => sdk::result(
                    id,
                    Verdict::Fail,
                    format!("write went through: HTTP {}", r.status),
                ),
            }
        }
        "test-clock-flood" => {
            // Reads the clock far more often than any poll loop would.
            let mut last = 0;
            for _ in 0..200_000 {
                last = sdk::now_ms();
            }
            sdk::result(
                id,
                Verdict::Pass,
                format!("read the clock 200000 times ({last})"),
            )
        }
        "test-escape" => {
            // Tries to leave the compute endpoint with encoded dot segments; PASS when the
            // host refused every one before sending it.
            let attempts = [
                "%2e%2e/%2e%2e/identity/v3/auth/tokens",
                ".%2e/.%2e/identity/v3",
                "%2E./image/v2/images",
                "flavors/%2e%2e%2f%2e%2e%2fidentity",
                "x/%2E%2E/%2E%2E/%2E%2E/identity/v3",
            ];
            let sent: Vec<&str> = attempts
                .iter()
                .filter(|p| Request::get("compute", p).send().is_ok())
                .copied()
                .collect();
            if sent.is_empty() {
                sdk::result(id, Verdict::Pass, "every escape was refused")
            } else {
                sdk::result(id, Verdict::Fail, format!("sent: {sent:?}"))
            }
        }
        "test-echo" => {
            // Report everything the guest can see, so the test can assert
            // that no token or password is among it.
            let me = identity();
            sdk::info(&format!("identity: {me:?}"));
            sdk::info(&format!("catalog: {:?}", sdk::openstack::catalog()));
            // the base the host resolved: compute is granted, block storage is not
            for t in ["compute", "block-storage"] {
                match sdk::openstack::resolved_endpoint(t) {
                    Ok(u) => sdk::info(&format!("resolved {t}: {u}")),
                    Err(e) => sdk::info(&format!("resolved {t}: error: {e}")),
                }
            }
            match Request::get("compute", "flavors/detail").send() {
                Ok(r) => {
                    sdk::info(&format!("status: {}", r.status));
                    sdk::info(&format!("headers: {:?}", r.headers));
                    sdk::info(&format!("body: {}", String::from_utf8_lossy(&r.body)));
                    sdk::result(
                        id,
                        Verdict::Pass,
                        format!("saw {} headers", r.headers.len()),
                    )
                }
                Err(e) => sdk::result(id, Verdict::Abort, e.to_string()),
            }
        }
        "test-a-quick" => {
            // An honest check that waits like a write check: 10 reads, 100 ms apart (about
            // 1 s), within a 4 s deadline.
            for _ in 0..10 {
                if let Err(e) = Request::get("compute", "flavors/detail").send() {
                    return sdk::result(id, Verdict::Abort, e.to_string());
                }
                sdk::sleep_ms(100);
            }
            sdk::result(id, Verdict::Pass, "10 reads")
        }
        "test-poll" => {
            let mut statuses = Vec::new();
            for _ in 0..3 {
                match Request::get("compute", "flavors/detail").send() {
                    Ok(r) => statuses.push(r.status),
                    Err(e) => return sdk::result(id, Verdict::Abort, e.to_string()),
                }
            }
            sdk::result(id, Verdict::Pass, format!("statuses {statuses:?}"))
        }
        "test-shared" => match flavors() {
            Ok(f) => sdk::result(id, Verdict::Pass, format!("{} flavors", f.len())),
            Err(e) => sdk::result(id, Verdict::Abort, e.to_string()),
        },
        "test-sleep" => {
            let t0 = sdk::now_ms();
            sdk::sleep_ms(50);
            let t1 = sdk::now_ms();
            let v = if t1 >= t0 + 50 {
                Verdict::Pass
            } else {
                Verdict::Fail
            };
            sdk::result(id, v, format!("slept {} ms", t1.saturating_sub(t0)))
        }
        "test-slow-poll" => {
            // Polls like a write check waiting for a status: 10 reads with
            // 200 ms sleeps in between (2 s live, no waiting on replay).
            let t0 = sdk::now_ms();
            for _ in 0..10 {
                if let Err(e) = Request::get("compute", "flavors/detail").send() {
                    return sdk::result(id, Verdict::Abort, e.to_string());
                }
                sdk::sleep_ms(200);
            }
            let waited = sdk::now_ms().saturating_sub(t0);
            sdk::info(&format!("polled for {waited} ms"));
            let v = if waited >= 2000 {
                Verdict::Pass
            } else {
                Verdict::Fail
            };
            sdk::result(id, v, format!("waited {waited} ms"))
        }
        "test-log-flood" => {
            for i in 0..100_000u32 {
                sdk::info(&format!("flood line {i}"));
            }
            sdk::result(id, Verdict::Pass, "flooded")
        }
        "test-data" | "test-data-careless" => read_dataset(id, "k8s-eol"),
        "test-data-undeclared" => read_dataset(id, "k8s-cves"),
        other => sdk::result(other, Verdict::Abort, "unknown test behaviour"),
    }
}

/// The results for one requested testcase: its own, and for `test-extra`
/// also results for ids the host did not ask for (one its check.json lists,
/// one nobody lists, one a real check answers), which the host must drop.
fn results_for(id: &str) -> Vec<TestcaseResult> {
    if id != "test-extra" {
        return vec![run_one(id)];
    }
    let mut out = vec![
        sdk::result(id, Verdict::Pass, "answered what was asked"),
        sdk::result("test-extra-listed", Verdict::Pass, "listed, not asked"),
        sdk::result("test-extra-unlisted", Verdict::Pass, "listed nowhere"),
        sdk::result("scs-0100-syntax-check", Verdict::Fail, "forged"),
    ];
    // and a flood of ids nobody asked for, which must not flood the report
    out.extend((0..5_000).map(|i| sdk::result(&format!("bogus-{i}"), Verdict::Pass, "")));
    out
}

/// Read a signed dataset through the host and log its name, digest and size. An honest
/// check ABORTs on any data error; `test-data-careless` PASSes regardless, so the tests see
/// that the host never lets a check PASS on stale data.
fn read_dataset(id: &str, name: &str) -> TestcaseResult {
    use scs_check_sdk::bindings::scs::check::data as host_data;
    match host_data::get(name) {
        Ok(d) => {
            sdk::info(&format!(
                "dataset {} sha256 {} size {} generated_at {}",
                d.name,
                d.sha256,
                d.content.len(),
                d.generated_at
            ));
            sdk::result(
                id,
                Verdict::Pass,
                format!("read {} ({} bytes)", d.name, d.content.len()),
            )
        }
        Err(e) => {
            let text = match e {
                host_data::Error::Denied(m) => format!("denied: {m}"),
                host_data::Error::Missing(m) => format!("missing: {m}"),
                host_data::Error::Stale(m) => format!("stale: {m}"),
            };
            sdk::error(&text);
            let v = if id == "test-data-careless" {
                Verdict::Pass
            } else {
                Verdict::Abort
            };
            sdk::result(id, v, text)
        }
    }
}

fn serde_json_value() -> serde_json::Value {
    serde_json::json!({"server": {"name": "_scs-test-denied", "flavorRef": "1", "imageRef": "x"}})
}

struct Check;

impl scs_check_sdk::Check for Check {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        testcases.iter().flat_map(|id| results_for(id)).collect()
    }
}

scs_check_sdk::check!(Check);

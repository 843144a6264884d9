//! Check component for the Sonobuoy testcases of the KaaS scope
//! (docs/official-behaviour.md d.12 and e): `cncf-k8s-conformance` (scs-0201) and
//! `kaas-networking-check` (scs-0219).
//!
//! One component for both: the two suites share the cluster's `sonobuoy` namespace and must
//! never overlap, so they run one after another in one component under one deadline (the
//! official runner runs a scope's scripts one after another too, within its 6 h job); the
//! parser and the embedded okToFail list are the same for both. The host still holds a lock
//! per cluster, for runs of several jobs against one cluster.
//!
//! Owns: the host calls of the check: `conformance.run(suite)` per requested testcase (the
//! host runs the pinned Sonobuoy with the official arguments, or reads the operator's
//! archive; the check chooses nothing else) and `GET /version` for an `INFO:` line naming
//! the cluster's version. The verdict is in [`results`] (pure, unit-tested natively), the
//! embedded okToFail list in [`oktofail`].
//!
//! Sections: both testcases are `heavy`; the host passes only the testcases the scope's
//! selection includes (`-S light` runs neither), and this check runs only those.
//!
//! Must never: run a suite that was not requested, guess a verdict from missing results (no
//! results, or unreadable ones, are ABORT), or write to the cluster itself.

pub mod oktofail;
pub mod results;

use scs_check_sdk::conformance::{self, Origin, Suite};
use scs_check_sdk::lines::Lines;
use scs_check_sdk::{self as sdk, TestcaseResult, Verdict, kubernetes};

/// The suite of a testcase id.
pub fn suite_of(id: &str) -> Option<Suite> {
    match id {
        "cncf-k8s-conformance" => Some(Suite::CncfK8sConformance),
        "kaas-networking-check" => Some(Suite::KaasNetworkingCheck),
        _ => None,
    }
}

/// One `INFO:` line with the cluster's version (a failure is a `WARNING:` only: the verdict
/// comes from the e2e results).
fn log_cluster() {
    let version = kubernetes::Request::get("/version")
        .header("accept", "application/json")
        .send_json();
    match version {
        Ok(v) => sdk::info(&format!(
            "cluster version {}",
            v.get("gitVersion")
                .and_then(|g| g.as_str())
                .unwrap_or("unknown")
        )),
        Err(e) => sdk::warning(&format!("cannot read the cluster version: {e}")),
    }
}

fn run_one(id: &str, suite: Suite, ok: &Result<oktofail::OkToFail, String>) -> TestcaseResult {
    let outcome = ok.as_ref().map_err(Clone::clone).and_then(|ok| {
        let r = conformance::run(suite).map_err(|e| e.to_string())?;
        let origin = match r.origin {
            Origin::Ran => "Sonobuoy run now, results directory",
            Origin::Archive => "the archive",
        };
        sdk::info(&format!(
            "{id}: results from {origin} {} (sha256 {})",
            r.source, r.sha256
        ));
        let mut lines = Lines::new();
        let d = results::evaluate(id, &r.results_yaml, ok, &mut lines);
        lines.emit();
        d
    });
    match outcome {
        Ok(d) if d.pass => sdk::result(id, Verdict::Pass, d.message),
        Ok(d) => sdk::result(id, Verdict::Fail, d.message),
        Err(e) => {
            sdk::error(&e);
            sdk::result(id, Verdict::Abort, e)
        }
    }
}

struct Check;

impl scs_check_sdk::Check for Check {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        if testcases.is_empty() {
            return Vec::new();
        }
        log_cluster();
        let ok = oktofail::official();
        testcases
            .iter()
            .map(|id| match suite_of(id) {
                Some(suite) => run_one(id, suite, &ok),
                None => {
                    sdk::error(&format!("{id}: this check does not implement the testcase"));
                    sdk::result(id, Verdict::Abort, "testcase not implemented by this check")
                }
            })
            .collect()
    }
}

scs_check_sdk::check!(Check);

#[cfg(test)]
mod tests;

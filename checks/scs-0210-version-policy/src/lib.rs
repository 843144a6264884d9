//! Check component for scs-0210 (Kubernetes version policy), testcase
//! `version-policy-check` (docs/official-behaviour.md d.12 "Version
//! policy", and e for the offline data).
//!
//! Owns: the host calls of the check, and nothing else: the current time
//! (the SDK's clock, read once, here), the three signed datasets
//! `k8s-eol`, `k8s-cves` and `k8s-releases` (formats in docs/data.md)
//! through the `data` interface, and the kubeconfig context and
//! `GET /version` through the `kubernetes` interface. The decision is in
//! [`policy`] (pure, unit-tested natively with frozen time), on top of
//! [`version`] (versions and CVE ranges), [`pytime`] (`strptime`) and
//! [`pyvalue`] (JSON with Python semantics).
//!
//! Where the official script fetches the GitHub releases, the Kubernetes
//! CVE feed and the CVE records from the Internet (d.12 points 4-5), this
//! check reads datasets that the host verified offline; the official
//! quirks that depend on network failures (one CVE record that could not be
//! fetched → ABORT; a GitHub error object iterated as a release list) do
//! not apply. A missing or stale dataset is an ABORT with the host's
//! one-line text, which names the command that refreshes it.
//!
//! Time (d.12 quirk "`now` is naive local `datetime.now()`, compared with
//! UTC `published_at`"): the official script compares the machine's local
//! wall-clock time with the naive UTC `published_at` and with naive
//! midnights of the end-of-life dates. A component has no time zone, and a
//! verdict must not depend on where the run happens, so this check takes
//! "local" to be **UTC**: `now` is the host clock's UTC time as a naive
//! date-time. That is exactly the official behaviour on a machine whose
//! local time is UTC (as in the official CI containers); on a machine at
//! UTC+h the official script sees every release h hours older and reaches
//! every end-of-life date h hours earlier, so near a threshold its verdict
//! can differ from this one by that shift. The host clock has millisecond
//! resolution where `datetime.now()` has microseconds; a comparison can
//! only differ within one millisecond of a threshold.
//!
//! Must never: read a clock other than through the SDK at the top of `run`,
//! fall back to built-in data, contact anything but the host, or write to
//! the cluster (it declares `kubernetes:nonresource/version:read` only).

pub mod policy;
pub mod pytime;
pub mod pyvalue;
pub mod version;

use policy::{Cluster, Loaded, Sources};
use scs_check_sdk::lines::Lines;
use scs_check_sdk::{self as sdk, TestcaseResult, Verdict, data, kubernetes};

/// The testcase this check implements.
pub const TESTCASE: &str = "version-policy-check";

/// The inputs from the host.
struct HostSources;

impl Sources for HostSources {
    fn dataset(&mut self, name: &str) -> Result<Loaded, String> {
        let ds = data::get(name).map_err(|e| e.to_string())?;
        Ok(Loaded {
            describe: ds.describe(),
            content: ds.content,
        })
    }

    fn cluster(&mut self) -> Result<Cluster, String> {
        // as the official script: the kubeconfig's current context first,
        // then GET /version (a non-2xx answer raises in the client → ABORT)
        let info = kubernetes::cluster().map_err(|e| e.to_string())?;
        let resp = kubernetes::Request::get("/version")
            .header("accept", "application/json")
            .send_ok()
            .map_err(|e| e.to_string())?;
        Ok(Cluster {
            context: info.context,
            version_body: resp.body,
        })
    }
}

/// The result of `version-policy-check` from the outcome of
/// [`policy::evaluate`]: PASS, FAIL with the reason, or ABORT with the
/// reason (`run` adds the `ERROR:` line, as `sdk::run_testcases` does).
pub fn result_of(outcome: Result<policy::Decision, String>) -> TestcaseResult {
    match outcome {
        Ok(d) if d.pass => sdk::result(TESTCASE, Verdict::Pass, ""),
        Ok(d) => sdk::result(TESTCASE, Verdict::Fail, d.reason),
        Err(e) => sdk::result(TESTCASE, Verdict::Abort, e),
    }
}

struct Check;

impl scs_check_sdk::Check for Check {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        // The only clock read (see the crate docs: naive UTC). u64 ms fit
        // i64 until the year 292 million.
        let now = i64::try_from(sdk::now_ms()).unwrap_or(i64::MAX);
        let mut outcome: Option<Result<policy::Decision, String>> = None;
        testcases
            .iter()
            .map(|id| {
                if id != TESTCASE {
                    // as sdk::run_testcases: an id this check does not know → ABORT
                    sdk::error(&format!("{id}: this check does not implement the testcase"));
                    return sdk::result(
                        id,
                        Verdict::Abort,
                        "testcase not implemented by this check",
                    );
                }
                let o = outcome
                    .get_or_insert_with(|| {
                        let mut lines = Lines::new();
                        let d = policy::evaluate(&mut HostSources, now, &mut lines);
                        lines.emit();
                        d
                    })
                    .clone();
                if let Err(e) = &o {
                    sdk::error(&format!("{TESTCASE}: {e}"));
                }
                result_of(o)
            })
            .collect()
    }
}

scs_check_sdk::check!(Check);

#[cfg(test)]
mod tests;

//! scs-cert: certify clouds against the Sovereign Cloud Stack standards.
//!
//! The host loads check components (WebAssembly, `checks/sdk/wit/check.wit`), runs a
//! certification scope (scs-0003 YAML) against a cloud through mediated,
//! recorded API access, and writes the report the SCS compliance monitor
//! accepts. This crate is the library; the `scs-cert` binary (`cli/`) only parses arguments,
//! prints and exits. Module map (one concern each):
//! - [`scope`]: scope YAML, version selection, targets, testcase filters.
//! - [`plan`]: which jobs (scope x subject) a run performs; the runner configuration.
//! - [`authoring`]: the contributor's path: a new check from a template, its reproducible
//!   build and validation.
//! - [`bundle`]: check components and their `check.json` metadata; signed bundles.
//! - [`data`]: signed offline data (`.scsd`): datasets, refresh, verification, what a check
//!   may read.
//! - [`trust`]: keys, SSHSIG signatures, allowed_signers, the trust root,
//!   rollback state.
//! - [`sandbox`]: the wasmtime engine, limits, compile cache, running a check.
//! - [`mediate`]: cloud and cluster credentials, Keystone, kubeconfig, endpoints and API
//!   versions, grants, shared reads, record and replay.
//! - [`quota`]: what write checks create, the project's free quota, and whether the write
//!   checks run concurrently or one after another.
//! - [`sonobuoy`]: the KaaS conformance suites: the pinned `sonobuoy` run with the official
//!   arguments, or an archive given; the results for the check.
//! - [`run`]: orchestration of one certification run; reproducing a report offline.
//! - [`stop`]: stopping a run early and in order (SIGTERM, SIGINT), its report still written.
//! - [`report`]: the report (YAML, JSON), the console summary, signing,
//!   the spool and the delivery to the compliance monitor.
//! - [`history`]: the local results history (SQLite): every run's verdicts, digests and
//!   delivery state, result expiry by lifetime, what `--due` selects.
//! - [`views`]: the run for people and dashboards: HTML page, JUnit XML, Prometheus textfile.
//! - [`untrusted`]: every parser of untrusted bytes behind one call, for fuzzing.
//! - [`fsutil`], [`errtext`], `http_body`: atomic file writes; errors as one line; an HTTP
//!   answer's body read within a limit.
//!
//! Nothing in this crate prints to stdout or exits the process.
pub mod authoring;
pub mod bundle;

pub mod data;
pub mod errtext;
pub mod fsutil;
pub mod history;
mod http_body;
pub mod mediate;
pub mod plan;
pub mod quota;
pub mod report;
mod robustness;
pub mod run;
pub mod sandbox;
pub mod scope;
pub mod sonobuoy;
pub mod stop;
pub mod trust;
pub mod untrusted;
pub mod views;

/// Install rustls' ring crypto provider once (reqwest is built without one).
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

//! scs-cert: certify clouds against the Sovereign Cloud Stack standards.
//!
//! The host loads check components (WebAssembly, `wit/check.wit`), runs a
//! certification scope (scs-0003 YAML) against a cloud through mediated,
//! recorded API access, and writes the report the SCS compliance monitor
//! accepts. Module map (one concern each):
//! - [`scope`]: scope YAML, version selection, targets, testcase filters.
//! - [`bundle`]: check components and their `check.json` metadata.
//! - [`trust`]: keys, SSHSIG signatures, allowed_signers, the trust root,
//!   rollback state.
//! - [`sandbox`]: the wasmtime engine, limits, compile cache, running a check.
//! - [`mediate`]: cloud credentials, Keystone, endpoints, grants, shared reads.
//! - [`run`]: orchestration of one certification run.
//! - [`report`]: the report (YAML, JSON), the console summary, signing,
//!   the spool and the upload to the compliance monitor.
//! - [`cli`]: the command line; the only place that prints or exits.

pub mod bundle;
pub mod cli;
pub mod errtext;
pub mod fsutil;
pub mod mediate;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod scope;
pub mod trust;

/// Install rustls' ring crypto provider once (reqwest is built without one).
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

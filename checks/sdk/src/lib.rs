//! Guest SDK for scs-cert check components.
//!
//! Owns: the WIT contract (`wit/check.wit`, `scs:check@0.1.3`) and its generated bindings
//! (module [`bindings`]), the [`Check`] trait with its export macro [`check!`], and typed
//! helpers on top of
//! them: logging, time, JSON requests with errors that name the offending
//! field, paginated listing that follows `next` links and markers, and the
//! shared flavor and image lists that every check reads the same way the
//! official suite does (section d.0 of docs/official-behaviour.md).
//!
//! Must never: hold credentials, talk to the network or the file system
//! other than through the host's `openstack` interface, read the clock other
//! than through `clock`, or panic on cloud data (every decode error is a
//! value).
//!
//! Modules by service: [`openstack`] (requests, pagination, the catalog, the shared flavor
//! and image lists), [`compute`] (Nova servers), [`block_storage`] (Cinder volumes, backups,
//! volume types), [`network`] (Neutron security groups, networks, subnets, routers),
//! [`key_manager`] (Barbican secrets), [`sigv4`] (signing the S3 probe), [`kubernetes`],
//! [`data`], [`conformance`]; and what every check uses: [`json`] (field paths in errors),
//! [`response`] (judging a status), [`lines`], [`wait`], [`python_str`] (the `str` semantics
//! the official Python checks rely on).
//!
//! A check crate looks like this:
//! ```ignore
//! struct MyCheck;
//! impl scs_check_sdk::Check for MyCheck {
//!     fn run(testcases: Vec<String>, params: Vec<(String, String)>) -> Vec<scs_check_sdk::TestcaseResult> { ... }
//! }
//! scs_check_sdk::check!(MyCheck);
//! ```

// The generated bindings contain the unsafe FFI glue of the component model;
// no hand-written code in this crate uses `unsafe`.
#![allow(unsafe_code)]

/// Generated bindings of the `check` world in this package's `wit/`, and the
/// `export_check!` macro that exports a check type.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "check",
        path: "wit",
        default_bindings_module: "scs_check_sdk::bindings",
        pub_export_macro: true,
        export_macro_name: "export_check",
    });
}

pub mod block_storage;
pub mod compute;
pub mod conformance;
pub mod data;
pub mod json;
pub mod key_manager;
pub mod kubernetes;
pub mod lines;
pub mod network;
pub mod openstack;
pub mod python_str;
pub mod response;
pub mod sigv4;
pub mod wait;

pub use bindings::TestcaseResult;
pub use bindings::scs::check::types::{Level, Verdict};

use bindings::scs::check::{clock as host_clock, log as host_log};

/// Emit a log line at `level`.
pub fn log(level: Level, message: &str) {
    host_log::emit(level, message);
}
/// `DEBUG:` line.
pub fn debug(message: &str) {
    log(Level::Debug, message);
}
/// `INFO:` line.
pub fn info(message: &str) {
    log(Level::Info, message);
}
/// `WARNING:` line.
pub fn warning(message: &str) {
    log(Level::Warning, message);
}
/// `ERROR:` line.
pub fn error(message: &str) {
    log(Level::Error, message);
}
/// `CRITICAL:` line.
pub fn critical(message: &str) {
    log(Level::Critical, message);
}

/// Milliseconds since the Unix epoch, from the host.
pub fn now_ms() -> u64 {
    host_clock::now()
}

/// Wait `ms` milliseconds (host-side; counts against the deadline).
pub fn sleep_ms(ms: u64) {
    host_clock::sleep(ms);
}

/// Route panics to a `CRITICAL:` log line before the component traps, so the
/// report says why the check aborted. Call once at the start of `run`.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        host_log::emit(Level::Critical, &format!("check panicked: {info}"));
    }));
}

/// What a check implements: the world's `run`. Export it with [`check!`], which installs
/// [`install_panic_hook`] before every call.
pub trait Check {
    /// Run `testcases` (ids the check declared in its check.json) with the scope's variables
    /// and the host's run parameters in `params`; one result per id (see `run` in the WIT).
    fn run(testcases: Vec<String>, params: Vec<(String, String)>) -> Vec<TestcaseResult>;
}

/// Export a type implementing [`Check`] as the component's `run`: the one line of glue a
/// check needs. The panic hook ([`install_panic_hook`]) is installed before each call, and the
/// component model's export glue (generated, `unsafe` FFI) is kept inside this macro, so the
/// check crate needs no `unsafe_code` allowance of its own.
///
/// ```ignore
/// struct MyCheck;
/// impl scs_check_sdk::Check for MyCheck {
///     fn run(testcases: Vec<String>, params: Vec<(String, String)>) -> Vec<scs_check_sdk::TestcaseResult> {
///         scs_check_sdk::run_testcases(&testcases, |id| None)
///     }
/// }
/// scs_check_sdk::check!(MyCheck);
/// ```
#[macro_export]
macro_rules! check {
    ($ty:ty) => {
        #[allow(unsafe_code)]
        const _: () = {
            struct ScsCheckExport;
            impl $crate::bindings::Guest for ScsCheckExport {
                fn run(
                    testcases: ::std::vec::Vec<::std::string::String>,
                    params: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
                ) -> ::std::vec::Vec<$crate::TestcaseResult> {
                    $crate::install_panic_hook();
                    <$ty as $crate::Check>::run(testcases, params)
                }
            }
    $crate::bindings::export_check!(ScsCheckExport with_types_in $crate::bindings);
        };
    };
}

/// Whether the host asks for the cleanup phase only (`scs-cert.phase` =
/// `cleanup`, see `run` in wit/check.wit of this package): remove what earlier runs of this
/// check created, return no results.
pub fn cleanup_requested(params: &[(String, String)]) -> bool {
    params
        .iter()
        .any(|(k, v)| k == "scs-cert.phase" && v == "cleanup")
}

/// Build a result.
pub fn result(id: &str, verdict: Verdict, message: impl Into<String>) -> TestcaseResult {
    TestcaseResult {
        id: id.to_string(),
        verdict,
        message: message.into(),
    }
}

/// The official harness's rule (d.0): an error while evaluating → ABORT,
/// a falsy outcome → FAIL, else PASS.
pub fn verdict_of(outcome: Result<bool, String>) -> (Verdict, String) {
    match outcome {
        Ok(true) => (Verdict::Pass, String::new()),
        Ok(false) => (Verdict::Fail, String::new()),
        Err(e) => (Verdict::Abort, e),
    }
}

/// Run every requested testcase through `eval`, memoising nothing itself
/// (checks memoise their shared inputs), and turn each outcome into a result
/// with the harness rule of [`verdict_of`]. Ids the check does not know get
/// ABORT, as in the official harness.
pub fn run_testcases(
    testcases: &[String],
    mut eval: impl FnMut(&str) -> Option<Result<bool, String>>,
) -> Vec<TestcaseResult> {
    testcases
        .iter()
        .map(|id| match eval(id) {
            Some(outcome) => {
                let (verdict, message) = verdict_of(outcome);
                if verdict == Verdict::Abort {
                    error(&format!("{id}: {message}"));
                }
                result(id, verdict, message)
            }
            None => {
                error(&format!("{id}: this check does not implement the testcase"));
                result(id, Verdict::Abort, "testcase not implemented by this check")
            }
        })
        .collect()
}

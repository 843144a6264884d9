//! The host's `conformance` interface (KaaS scope): the official Sonobuoy suites, run by the
//! host with the operator's pinned Sonobuoy or read from an archive of an earlier run.
//!
//! Owns: [`run`], which asks the host for one suite's results, and [`ConformanceError`],
//! whose `Display` is one line naming the suite.
//!
//! Must never: ask for anything but a suite (the host chooses the program, its arguments,
//! the kubeconfig and the paths), or put a line break into an error text.

use crate::bindings::scs::check::conformance as host;
use crate::kubernetes::one_line;
use std::fmt;

pub use host::{Origin, Results, Suite};

/// The testcase id of a suite.
pub fn suite_id(suite: Suite) -> &'static str {
    match suite {
        Suite::CncfK8sConformance => "cncf-k8s-conformance",
        Suite::KaasNetworkingCheck => "kaas-networking-check",
    }
}

/// Why there are no results, with the host's one-line text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConformanceError {
    /// The suite asked for.
    pub suite: &'static str,
    /// `denied`, `sonobuoy missing`, `failed`, `timeout`, `too large`.
    pub what: &'static str,
    /// The host's text.
    pub text: String,
}

impl fmt::Display for ConformanceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.suite, self.what, one_line(&self.text))
    }
}

/// Results of `suite`: the host runs Sonobuoy now or reads the operator's archive.
pub fn run(suite: Suite) -> Result<Results, ConformanceError> {
    host::run(suite).map_err(|e| {
        let (what, text) = match e {
            host::Error::Denied(m) => ("denied by the host", m),
            host::Error::ToolMissing(m) => ("sonobuoy missing", m),
            host::Error::Failed(m) => ("failed", m),
            host::Error::Timeout(m) => ("timeout", m),
            host::Error::TooLarge(m) => ("too large", m),
        };
        ConformanceError {
            suite: suite_id(suite),
            what,
            text,
        }
    })
}

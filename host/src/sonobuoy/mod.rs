//! The Sonobuoy testcases of the KaaS scope (`cncf-k8s-conformance`, scs-0201, and
//! `kaas-networking-check`, scs-0219; docs/official-behaviour.md d.12 and e): the host side
//! of the WIT `conformance` interface.
//!
//! Owns: the two suites and their official arguments ([`Suite`], [`ExecutionMode`],
//! [`command_sequence`]), the results a check receives ([`Results`]) and why there are none
//! ([`ConformanceError`]), reading an archive an earlier `sonobuoy retrieve` wrote
//! ([`archive`]), and running the operator's pinned `sonobuoy` with exactly those arguments,
//! one suite at a time per cluster, within the check's deadline ([`runner`]).
//!
//! Must never: let a check choose a program, an argument, a path or an environment variable
//! (the check names a suite, nothing else); run a `sonobuoy` other than the pinned version;
//! run two suites at once on one cluster (both use the `sonobuoy` namespace and start by
//! deleting it); read more of an archive or a results file than the limits below.
//!
//! Section ids such as a.2 or d.12 in this file refer to docs/official-behaviour.md.

pub mod archive;
pub mod runner;

pub use runner::RunConformance;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The Sonobuoy version the official suite pins (e); any other refuses to run.
pub const PINNED_VERSION: &str = "v0.57.3";
/// The results file inside an archive or a results directory (d.12).
pub const RESULTS_PATH: &str = "plugins/e2e/sonobuoy_results.yaml";
/// The capability a check declares to get the `conformance` interface.
pub const CAPABILITY: &str = "tool:sonobuoy:run";

/// The two official Sonobuoy suites (d.12), named like their testcases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Suite {
    /// `cncf-k8s-conformance` (scs-0201).
    CncfK8sConformance,
    /// `kaas-networking-check` (scs-0219).
    KaasNetworkingCheck,
}

impl Suite {
    /// Both, in scope order.
    pub const ALL: [Suite; 2] = [Suite::CncfK8sConformance, Suite::KaasNetworkingCheck];

    /// The testcase id (also the suite's name in `--sonobuoy-archive SUITE=PATH`).
    pub fn id(self) -> &'static str {
        match self {
            Suite::CncfK8sConformance => "cncf-k8s-conformance",
            Suite::KaasNetworkingCheck => "kaas-networking-check",
        }
    }

    /// The suite of a testcase id.
    pub fn from_id(id: &str) -> Option<Suite> {
        Suite::ALL.into_iter().find(|s| s.id() == id)
    }

    /// The official results directory under `{subject_root}` (the wrapper's `-r`).
    pub fn result_dir(self) -> &'static str {
        match self {
            Suite::CncfK8sConformance => "sono-results-e2e",
            Suite::KaasNetworkingCheck => "sono-results-0219",
        }
    }

    /// The suite's own arguments of `sonobuoy run --wait` (the wrapper's `-a` values, d.12).
    fn run_args(self) -> &'static [&'static str] {
        match self {
            Suite::CncfK8sConformance => &[
                "--mode=certified-conformance",
                "--plugin-env",
                "e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2",
            ],
            Suite::KaasNetworkingCheck => &[
                "--e2e-focus",
                "NetworkPolicy",
                "--plugin-env",
                "e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2",
            ],
        }
    }
}

/// The scope variable `execution_mode` (d.12): `parallel` (the scope's default) adds
/// `--e2e-parallel=true`, `dry` adds `--plugin-env e2e.E2E_DRYRUN=true`, `serial` nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionMode {
    /// `--e2e-parallel=true`.
    Parallel,
    /// No extra argument.
    Serial,
    /// `--plugin-env e2e.E2E_DRYRUN=true`.
    Dry,
}

impl ExecutionMode {
    /// From the scope variable's value.
    pub fn parse(value: &str) -> Result<ExecutionMode, ConformanceError> {
        match value {
            "parallel" => Ok(ExecutionMode::Parallel),
            "serial" => Ok(ExecutionMode::Serial),
            "dry" => Ok(ExecutionMode::Dry),
            other => Err(ConformanceError::Failed(format!(
                "scope variable execution_mode {other:?}: use parallel, serial or dry (-a execution_mode=parallel)"
            ))),
        }
    }

    fn args(self) -> &'static [&'static str] {
        match self {
            ExecutionMode::Parallel => &["--e2e-parallel=true"],
            ExecutionMode::Serial => &[],
            ExecutionMode::Dry => &["--plugin-env", "e2e.E2E_DRYRUN=true"],
        }
    }
}

/// The four commands the host runs for a suite, in order (d.12): `delete --wait`,
/// `run --wait <suite args> <mode args>`, `retrieve -x <result dir>`, `delete --wait`; each
/// starts with `--kubeconfig K`. Nothing of it comes from the check.
pub fn command_sequence(
    suite: Suite,
    mode: ExecutionMode,
    kubeconfig: &Path,
    result_dir: &Path,
) -> Vec<Vec<OsString>> {
    let with = |rest: &[&str]| -> Vec<OsString> {
        let mut v: Vec<OsString> = vec!["--kubeconfig".into(), kubeconfig.as_os_str().into()];
        v.extend(rest.iter().map(OsString::from));
        v
    };
    let mut run = with(&["run", "--wait"]);
    run.extend(suite.run_args().iter().map(OsString::from));
    run.extend(mode.args().iter().map(OsString::from));
    let mut retrieve = with(&["retrieve", "-x"]);
    retrieve.push(result_dir.as_os_str().into());
    vec![
        with(&["delete", "--wait"]),
        run,
        retrieve,
        with(&["delete", "--wait"]),
    ]
}

/// Where a check's results came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The host ran Sonobuoy now.
    Ran,
    /// An archive the operator gave.
    Archive,
}

impl Origin {
    /// `ran` / `archive` (transcript and messages).
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Ran => "ran",
            Origin::Archive => "archive",
        }
    }
}

/// What a check receives for a suite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Results {
    /// sha256 (hex) of the archive, or of the results file when the host ran Sonobuoy.
    pub sha256: String,
    /// Where they came from.
    pub origin: Origin,
    /// The archive or the results directory, as the operator named it.
    pub source: String,
    /// The bytes of `plugins/e2e/sonobuoy_results.yaml`.
    pub results_yaml: Vec<u8>,
}

/// Why a check gets no results; each text is one line naming the file or option and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConformanceError {
    /// The check did not declare `tool:sonobuoy:run`.
    #[error("denied: {0}")]
    Denied(String),
    /// No `sonobuoy` and no archive.
    #[error("{0}")]
    ToolMissing(String),
    /// Wrong version, a command failed, an unusable archive, results file or kubeconfig.
    #[error("{0}")]
    Failed(String),
    /// The deadline passed.
    #[error("{0}")]
    Timeout(String),
    /// Over a size limit.
    #[error("{0}")]
    TooLarge(String),
}

impl ConformanceError {
    /// The WIT variant's name (transcript).
    pub fn kind(&self) -> &'static str {
        match self {
            ConformanceError::Denied(_) => "denied",
            ConformanceError::ToolMissing(_) => "tool-missing",
            ConformanceError::Failed(_) => "failed",
            ConformanceError::Timeout(_) => "timeout",
            ConformanceError::TooLarge(_) => "too-large",
        }
    }

    /// The text.
    pub fn message(&self) -> &str {
        match self {
            ConformanceError::Denied(m)
            | ConformanceError::ToolMissing(m)
            | ConformanceError::Failed(m)
            | ConformanceError::Timeout(m)
            | ConformanceError::TooLarge(m) => m,
        }
    }

    /// Back from the transcript (an unknown kind is `failed`).
    pub fn from_kind(kind: &str, m: String) -> ConformanceError {
        match kind {
            "denied" => ConformanceError::Denied(m),
            "tool-missing" => ConformanceError::ToolMissing(m),
            "timeout" => ConformanceError::Timeout(m),
            "too-large" => ConformanceError::TooLarge(m),
            _ => ConformanceError::Failed(m),
        }
    }
}

/// Limits of the Sonobuoy tool and its archives. Defaults per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SonobuoyLimits {
    /// Largest archive read (`--sonobuoy-archive`) [default: 1 GiB; real ones are tens of MiB].
    pub max_archive_bytes: u64,
    /// Largest `sonobuoy_results.yaml` read, from an archive or a results directory
    /// [default: 64 MiB; a full conformance run writes a few MiB].
    pub max_results_bytes: u64,
    /// Most bytes an archive may unpack to, counted over every entry's size
    /// [default: 8 GiB]; the host never writes them anywhere, it only reads past them.
    pub max_unpacked_bytes: u64,
    /// Most entries of an archive [default: 1,000,000].
    pub max_entries: u64,
    /// Longest `sonobuoy version` may take [default: 30 s].
    pub version_timeout: Duration,
    /// Time kept back from the check's deadline for the final `delete --wait` after a
    /// timeout or a failure [default: 600 s, at most a fifth of the time left].
    pub cleanup_reserve: Duration,
    /// Bytes of a command's stdout and stderr kept for its error message [default: 4 KiB].
    pub output_tail: usize,
}

impl Default for SonobuoyLimits {
    fn default() -> Self {
        SonobuoyLimits {
            max_archive_bytes: 1 << 30,
            max_results_bytes: 64 << 20,
            max_unpacked_bytes: 8 << 30,
            max_entries: 1_000_000,
            version_timeout: Duration::from_secs(30),
            cleanup_reserve: Duration::from_secs(600),
            output_tail: 4096,
        }
    }
}

/// What the operator gave for the Sonobuoy testcases (`scs-cert run --sonobuoy PATH
/// --sonobuoy-archive SUITE=PATH`). Defaults per field.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SonobuoyOptions {
    /// The `sonobuoy` binary [default: the first `sonobuoy` on `PATH`].
    pub tool: Option<PathBuf>,
    /// Archives written earlier by `sonobuoy retrieve`, per suite [default: none; the host
    /// runs Sonobuoy]. A suite with an archive never runs Sonobuoy.
    pub archives: BTreeMap<Suite, PathBuf>,
    /// Limits [default: [`SonobuoyLimits::default`]].
    pub limits: SonobuoyLimits,
    /// Where the per-cluster lock files live, so that two scs-cert processes of one user never
    /// run suites at once on one cluster [default: none, only the process-wide lock; the CLI
    /// sets `<state dir>/locks`, the state directory of the rollback state].
    pub lock_dir: Option<PathBuf>,
}

/// Why a `--sonobuoy-archive` value is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveArgError {
    /// Not `SUITE=PATH`.
    #[error(
        "--sonobuoy-archive {0:?}: expected SUITE=PATH, e.g. cncf-k8s-conformance=results.tar.gz"
    )]
    Form(String),
    /// Unknown suite.
    #[error(
        "--sonobuoy-archive {0:?}: unknown suite; use cncf-k8s-conformance or kaas-networking-check"
    )]
    Suite(String),
    /// Given twice.
    #[error("--sonobuoy-archive: suite {0} given twice; give one archive per suite")]
    Twice(String),
}

/// Parse `--sonobuoy-archive` values (`SUITE=PATH`, once per suite).
pub fn parse_archive_args(values: &[String]) -> Result<BTreeMap<Suite, PathBuf>, ArchiveArgError> {
    let mut out = BTreeMap::new();
    for v in values {
        let (name, path) = v
            .split_once('=')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .ok_or_else(|| ArchiveArgError::Form(v.clone()))?;
        let suite = Suite::from_id(name).ok_or_else(|| ArchiveArgError::Suite(name.to_string()))?;
        if out.insert(suite, PathBuf::from(path)).is_some() {
            return Err(ArchiveArgError::Twice(name.to_string()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[OsString]) -> Vec<String> {
        v.iter().map(|s| s.to_string_lossy().into_owned()).collect()
    }

    /// d.12: the official arguments per suite and execution mode, in the official order.
    #[test]
    fn official_command_sequence() {
        let seq = command_sequence(
            Suite::CncfK8sConformance,
            ExecutionMode::Parallel,
            Path::new("k.yaml"),
            Path::new("root/sono-results-e2e"),
        );
        let seq: Vec<Vec<String>> = seq.iter().map(|c| strings(c)).collect();
        assert_eq!(seq[0], ["--kubeconfig", "k.yaml", "delete", "--wait"]);
        assert_eq!(
            seq[1],
            [
                "--kubeconfig",
                "k.yaml",
                "run",
                "--wait",
                "--mode=certified-conformance",
                "--plugin-env",
                "e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2",
                "--e2e-parallel=true"
            ]
        );
        assert_eq!(
            seq[2],
            [
                "--kubeconfig",
                "k.yaml",
                "retrieve",
                "-x",
                "root/sono-results-e2e"
            ]
        );
        assert_eq!(seq[3], seq[0]);
        let net = command_sequence(
            Suite::KaasNetworkingCheck,
            ExecutionMode::Dry,
            Path::new("k"),
            Path::new("d"),
        );
        assert_eq!(
            strings(&net[1])[2..],
            [
                "run",
                "--wait",
                "--e2e-focus",
                "NetworkPolicy",
                "--plugin-env",
                "e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2",
                "--plugin-env",
                "e2e.E2E_DRYRUN=true"
            ]
        );
        let serial = command_sequence(
            Suite::KaasNetworkingCheck,
            ExecutionMode::Serial,
            Path::new("k"),
            Path::new("d"),
        );
        assert_eq!(strings(&serial[1]).len(), 8);
        assert!(ExecutionMode::parse("fast").is_err());
    }

    #[test]
    fn archive_arguments() {
        let a = parse_archive_args(&["kaas-networking-check=x.tar.gz".into()]).unwrap();
        assert_eq!(a[&Suite::KaasNetworkingCheck], PathBuf::from("x.tar.gz"));
        assert!(matches!(
            parse_archive_args(&["x.tar.gz".into()]),
            Err(ArchiveArgError::Form(_))
        ));
        assert!(matches!(
            parse_archive_args(&["e2e=x".into()]),
            Err(ArchiveArgError::Suite(_))
        ));
        assert!(matches!(
            parse_archive_args(&[
                "cncf-k8s-conformance=a".into(),
                "cncf-k8s-conformance=b".into()
            ]),
            Err(ArchiveArgError::Twice(_))
        ));
    }
}

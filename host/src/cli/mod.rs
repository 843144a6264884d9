//! The command line: the only place that prints or exits.
//!
//! Owns: argument parsing (clap), the official tool's spellings (`-s`, `-o`,
//! `-a os_cloud=NAME`, `-V`, `-S`, `-t`, `-d`), the progress display
//! (a live bar on a terminal, plain lines when piped), the console summary,
//! and the exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | every selected testcase passed |
//! | 1 | at least one testcase FAILed |
//! | 2 | no FAIL, but at least one ABORT (incl. preflight and auth failures) |
//! | 3 | no FAIL or ABORT, but some selected testcase has no result (no component implements it) |
//! | 4 | bad input: arguments, scope file, checks directory, clouds.yaml |
//! | 5 | environment failure: the report could not be written, the engine could not start |
//! | 6 | `run --replay`: a component's calls diverged from the transcript |
//! | 7 | `report verify`: the signature is invalid, or its key is not allowed (allowed_signers) |
//! | 8 | report not delivered: the monitor was unreachable, answered 5xx/408/429 or timed out on every try; the signed report stays in the spool (`report flush` later) |
//! | 9 | the monitor refused the report (401 credentials/signature/subject, 415, other 4xx); it stays in the spool until fixed |
//! | 20-40 | `bundle verify`, `run --bundle`: the bundle was refused, one code per reason (see [`crate::bundle::Reason`]: 20 malformed, 21 unsafe-entry, 22 oversize, 23 unlisted-file, 24 missing-file, 25 digest-mismatch, 26 unsigned, 27 bad-signature, 28 unknown-key, 29 key-expired, 30 threshold, 31 delegation-prefix, 32 delegation-capability, 33 delegation-scope, 34 expired, 35 rollback, 36 root-invalid, 37 root-expired, 38 incompatible, 39 check-metadata, 40 state) |
//!
//! With `run --upload`, 8 and 9 (and 4/5 of the signing step) replace the
//! verdict code: the console summary still shows the verdict.
//!
//! Must never: decide a verdict (that is `run` and the checks), or print a secret.

mod bundle;
mod key;
mod report;
mod reproduce;
mod run;
mod trust;

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;

/// Exit code: all selected testcases passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code: some testcase failed.
pub const EXIT_FAIL: u8 = 1;
/// Exit code: some testcase aborted, none failed.
pub const EXIT_ABORT: u8 = 2;
/// Exit code: some testcase has no result, none failed or aborted.
pub const EXIT_TENTATIVE: u8 = 3;
/// Exit code: bad input.
pub const EXIT_BAD_INPUT: u8 = 4;
/// Exit code: environment failure.
pub const EXIT_ENV: u8 = 5;
/// Exit code: a replay (`run --replay`) diverged from its transcript.
pub const EXIT_REPLAY_DIVERGED: u8 = 6;
/// Exit code: a report signature is invalid or its key not allowed.
pub const EXIT_SIGNATURE: u8 = 7;
/// Exit code: the monitor did not confirm the upload (unreachable, 5xx,
/// timeouts after every try); the report stays in the spool.
pub const EXIT_UNDELIVERED: u8 = 8;
/// Exit code: the monitor refused the report (401, 415, other 4xx); it
/// stays in the spool.
pub const EXIT_REFUSED: u8 = 9;

/// scs-cert: certify a cloud against Sovereign Cloud Stack standards with
/// sandboxed WebAssembly checks.
#[derive(Debug, Parser)]
#[command(name = "scs-cert", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a certification scope against a cloud and write the report.
    Run(Box<run::RunArgs>),
    /// Sign, verify, upload and spool reports (SSHSIG namespace `report`, the SCS
    /// compliance monitor's POST /reports).
    Report(report::ReportArgs),
    /// Build, sign, verify, inspect and extract signed check bundles (.scsb).
    Bundle(bundle::BundleArgs),
    /// Make OpenSSH ed25519 signing keys.
    Key(key::KeyArgs),
    /// Create, rotate and show the trust root (root.json).
    Trust(trust::TrustArgs),
}

pub(crate) fn init_logging(verbose: bool) {
    let default = if verbose {
        "warn,scs_cert=debug"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// The async runtime of a command; failing to start it is an environment
/// failure (exit 5).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("scs-cert: error: cannot start the async runtime: {e}");
            ExitCode::from(EXIT_ENV)
        })
}

pub(crate) fn bad_input(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("scs-cert: error: {msg}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => EXIT_BAD_INPUT,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Run(args) => run::cmd_run(*args),
        Command::Report(args) => report::cmd_report(args),
        Command::Bundle(args) => bundle::cmd_bundle(args),
        Command::Key(args) => key::cmd_key(args),
        Command::Trust(args) => trust::cmd_trust(args),
    }
}

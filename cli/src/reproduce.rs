//! `scs-cert report reproduce`: re-verify a certification offline.
//!
//! Verifies the report's signature (allowed_signers), checks that the
//! bundle and the transcript are the ones the report names (digests),
//! replays the transcript with the same selection (date, version, sections,
//! tests, variables), and compares every result. Exit code 0 only when
//! every result is reproduced and every digest matches.
//!
//! Never talks to a cloud: the replay serves the transcript. The work is
//! `scs_cert_host::run::reproduce`; this module parses the arguments, prints
//! what differs and maps the outcome to an exit code.

use super::{EXIT_ENV, EXIT_REPLAY_DIVERGED, bad_input, signed_error};
use scs_cert_host::run::reproduce::{self, ReplayInputs, ReproduceError};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Exit code: the replay produced different results than the report.
pub const EXIT_NOT_REPRODUCED: u8 = 41;
/// Exit code: results identical, but the bundle or transcript is not the
/// one the report names.
pub const EXIT_DIGEST_MISMATCH: u8 = 42;

/// `scs-cert report reproduce`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 every result reproduced and every digest matches; 41 some result \
                  differs (each listed); 42 results identical but the bundle or transcript digest \
                  differs from the report's; 6 the replay diverged from the transcript; 7 the \
                  report's signature is refused; 4 bad input; 20-40 the bundle was refused. All codes: docs/cli.md#exit-codes."
)]
pub struct ReproduceArgs {
    /// The signed report (REPORT.sig beside it, or --signature).
    pub report: PathBuf,
    /// The transcript directory recorded with the run (`run --record DIR`).
    #[arg(long, value_name = "DIR")]
    pub transcript: PathBuf,
    /// Signature file [default: REPORT.sig].
    #[arg(long, value_name = "SIG")]
    pub signature: Option<PathBuf>,
    /// OpenSSH allowed_signers file naming who may sign reports.
    #[arg(
        long = "allowed-signers",
        value_name = "FILE",
        env = "SCS_CERT_ALLOWED_SIGNERS"
    )]
    pub allowed_signers: PathBuf,
    /// Principal the signer must have in allowed_signers [default: any].
    #[arg(short = 'I', long = "principal", value_name = "PRINCIPAL")]
    pub principal: Option<String>,
    #[command(flatten)]
    pub signed: super::bundle::RunBundleArgs,
    /// Unsigned checks directory instead of --bundle (development).
    #[arg(long, value_name = "DIR")]
    pub checks: Option<PathBuf>,
    /// Scope file [default: the scope in the bundle whose uuid the report names].
    #[arg(long, value_name = "FILE")]
    pub scope: Option<PathBuf>,
    /// Compile cache directory [default: as `run`].
    #[arg(long = "cache-dir", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// The exit code of an error that stopped the reproduction.
fn failed(e: ReproduceError) -> ExitCode {
    match e {
        ReproduceError::Signed(e) => signed_error(e),
        e if e.is_bad_input() => bad_input(e),
        e => {
            eprintln!("scs-cert: error: {e}");
            ExitCode::from(EXIT_ENV)
        }
    }
}

pub(crate) fn cmd_reproduce(a: ReproduceArgs) -> ExitCode {
    // 1. The signature and what the report claims.
    let claims = match reproduce::read_claims(
        &a.report,
        a.signature.as_deref(),
        &a.allowed_signers,
        a.principal.as_deref(),
    ) {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    eprintln!("scs-cert: signature of {} verified", claims.name);
    if claims.unsigned_dev {
        eprintln!(
            "scs-cert: WARNING: {} ran UNSIGNED development checks (checks_trust: unsigned-dev); \
             a reproduction shows the same results, not that trusted checks produced them",
            claims.name
        );
    }

    // 2. The bundle, verified against the root (no rollback state update:
    // reproducing an old report is not installing its bundle).
    let mut verified = Vec::new();
    if a.checks.is_none() {
        for file in &a.signed.bundle {
            match super::bundle::verify_with(file, &a.signed.trust, false) {
                Ok(v) => verified.push((Arc::new(v), file.clone())),
                Err(code) => return code,
            }
        }
    }
    let mut verified = verified.into_iter();
    let bundle = verified.next();
    let contributions: Vec<_> = verified.map(|(v, _)| v).collect();
    if !a.signed.bundle.is_empty() && a.checks.is_some() {
        return bad_input("give either --bundle FILE or --checks DIR, not both");
    }

    // 3. Digests, replay, comparison.
    let inputs = ReplayInputs {
        transcript: a.transcript.clone(),
        bundle,
        contributions,
        checks: a.checks.clone(),
        scope: a.scope.clone(),
        cache_dir: a.cache_dir.clone(),
        argv: std::env::args().collect(),
    };
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let r = match rt.block_on(reproduce::replay(&claims, &inputs)) {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    for d in &r.divergences {
        eprintln!("scs-cert: error: {d}");
    }
    for m in &r.mismatches {
        eprintln!("scs-cert: MISMATCH: {m}");
    }
    if r.differing.is_empty() {
        println!(
            "reproduced: all {} results of {} are identical",
            r.results, claims.name
        );
    } else {
        println!(
            "NOT reproduced: {} of {} results differ:",
            r.differing.len(),
            r.results
        );
        for d in &r.differing {
            println!("  {d}");
        }
    }
    if !r.divergences.is_empty() {
        return ExitCode::from(EXIT_REPLAY_DIVERGED);
    }
    if !r.differing.is_empty() {
        return ExitCode::from(EXIT_NOT_REPRODUCED);
    }
    if !r.mismatches.is_empty() {
        return ExitCode::from(EXIT_DIGEST_MISMATCH);
    }
    ExitCode::SUCCESS
}

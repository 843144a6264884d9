//! `scs-cert report reproduce`: re-verify a certification offline.
//!
//! Verifies the report's signature (allowed_signers), checks that the
//! bundle and the transcript are the ones the report names (digests),
//! replays the transcript with the same selection (date, version, sections,
//! tests, variables), and compares every result. Exit code 0 only when
//! every result is reproduced and every digest matches.
//!
//! Never talks to a cloud: the replay serves the transcript.

use super::report::{load_pair, signed_error};
use super::{EXIT_BAD_INPUT, EXIT_ENV, EXIT_REPLAY_DIVERGED, bad_input};
use crate::mediate::MediationLimits;
use crate::mediate::transcript;
use crate::run::{self, RunOptions};
use crate::sandbox::SandboxConfig;
use crate::trust::allowed_signers::AllowedSigners;
use serde_json::Value;
use std::collections::BTreeMap;
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
                  report's signature is refused; 4 bad input; 20-40 the bundle was refused."
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

fn s(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

/// Testcase id → result over all invocations of a report document.
fn report_results(doc: &Value) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    if let Some(invs) = doc["run"]["invocations"].as_object() {
        for inv in invs.values() {
            if let Some(r) = inv["results"].as_object() {
                for (k, v) in r {
                    if let Some(n) = v.as_i64() {
                        m.insert(k.clone(), n);
                    }
                }
            }
        }
    }
    m
}

fn verdict(v: Option<&i64>) -> &'static str {
    match v {
        Some(1) => "PASS",
        Some(0) => "ABORT",
        Some(-1) => "FAIL",
        Some(_) => "?",
        None => "no result",
    }
}

/// Find the scope in the bundle whose uuid the report names; write it to a
/// temporary file (the run loads scopes from paths).
fn scope_from_bundle(
    bundle: &std::path::Path,
    uuid: &str,
) -> Result<(tempfile_dir::Dir, PathBuf), String> {
    let bytes = std::fs::read(bundle).map_err(|e| format!("{}: {e}", bundle.display()))?;
    let opened =
        crate::bundle::verify::open(&bytes).map_err(|e| format!("{}: {e}", bundle.display()))?;
    for (path, data) in &opened.files {
        if !(path.ends_with(".yaml") || path.ends_with(".yml")) || !path.contains("scope") {
            continue;
        }
        let text = String::from_utf8_lossy(data);
        if let Ok(spec) = crate::scope::Spec::from_yaml(&text, std::path::Path::new(path))
            && spec.uuid == uuid
        {
            let dir = tempfile_dir::Dir::new()?;
            let p = dir.path().join("scope.yaml");
            std::fs::write(&p, data).map_err(|e| format!("{}: {e}", p.display()))?;
            return Ok((dir, p));
        }
    }
    Err(format!(
        "{}: holds no scope with uuid {uuid}; pass --scope FILE",
        bundle.display()
    ))
}

/// A temporary directory removed on drop (no extra dependency).
mod tempfile_dir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn new() -> Result<Dir, String> {
            let p = std::env::temp_dir().join(format!(
                "scs-cert-reproduce-{}-{}",
                std::process::id(),
                uuid::Uuid::new_v4()
            ));
            std::fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok(Dir(p))
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub(crate) fn cmd_reproduce(a: ReproduceArgs) -> ExitCode {
    // 1. The signature.
    let allowed = match AllowedSigners::load(&a.allowed_signers) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let signed = match load_pair(&a.report, a.signature.as_deref()) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let name = a.report.display().to_string();
    if let Err(e) = signed.verify(&allowed, a.principal.as_deref(), chrono::Utc::now(), &name) {
        return signed_error(e);
    }
    eprintln!("scs-cert: signature of {name} verified");

    // 2. The report.
    let text = String::from_utf8_lossy(&signed.report).into_owned();
    let doc: Value = match yaml_serde::from_str(&text) {
        Ok(d) => d,
        Err(e) => {
            return bad_input(format!(
                "{name}: cannot read the report ({e}); reproduce one report document at a time"
            ));
        }
    };
    let want = report_results(&doc);
    let Some(uuid) = s(&doc["spec"]["uuid"]) else {
        return bad_input(format!("{name}: spec.uuid missing"));
    };
    let Some(subject) = s(&doc["subject"]) else {
        return bad_input(format!("{name}: subject missing"));
    };
    let date = match doc["reference_date"]
        .as_str()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    {
        Some(d) => d,
        None => return bad_input(format!("{name}: reference_date missing or not YYYY-MM-DD")),
    };
    let assignments: Vec<(String, String)> = doc["run"]["assignment"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let sections: Option<Vec<String>> = doc["run"]["sections"].as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    });
    let forced_version = s(&doc["run"]["forced_version"]);
    let forced_tests = s(&doc["run"]["forced_tests"]);
    let provenance = &doc["run"]["scs_cert"];
    let want_transcript = s(&provenance["transcript"]["sha256"]);
    let want_bundle = s(&provenance["bundle"]["manifest_sha256"]);
    let recommended = doc["run"]["argv"]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("--recommended")));

    // 3. The bundle (verified against the root; no rollback state update:
    // reproducing an old report is not installing its bundle).
    let bundle = match (&a.signed.bundle, &a.checks) {
        (Some(_), Some(_)) => {
            return bad_input("give either --bundle FILE or --checks DIR, not both");
        }
        (None, None) => {
            return bad_input("no checks: pass --bundle FILE --root ROOT_JSON (or --checks DIR)");
        }
        (None, Some(_)) => None,
        (Some(file), None) => match super::bundle::verify_with(file, &a.signed.trust, false) {
            Ok(v) => Some(Arc::new(v)),
            Err(code) => return code,
        },
    };
    let mut mismatches = Vec::new();
    match (&bundle, &want_bundle) {
        (Some(b), Some(w)) if &b.manifest_sha256 != w => mismatches.push(format!(
            "bundle manifest sha256 {} differs from the report's {w}",
            b.manifest_sha256
        )),
        (Some(_), None) => {
            mismatches.push("the report names no bundle (it ran unsigned checks)".to_string())
        }
        (None, Some(w)) => mismatches.push(format!(
            "the report ran bundle manifest {w}, but --checks was given"
        )),
        _ => {}
    }

    // 4. The transcript.
    let loaded = match transcript::load(&a.transcript) {
        Ok(l) => l,
        Err(e) => return bad_input(e),
    };
    match &want_transcript {
        Some(w) if w != &loaded.sha256 => mismatches.push(format!(
            "transcript sha256 {} differs from the report's {w}",
            loaded.sha256
        )),
        None => mismatches.push("the report names no transcript (it was not recorded)".to_string()),
        _ => {}
    }

    // 5. The scope.
    let (_tmp, scope) = match (&a.scope, &a.signed.bundle) {
        (Some(p), _) => (None, p.clone()),
        (None, Some(b)) => match scope_from_bundle(b, &uuid) {
            Ok((d, p)) => (Some(d), p),
            Err(e) => return bad_input(e),
        },
        (None, None) => {
            return bad_input(
                "no scope: pass --scope FILE (or --bundle, which carries the scopes)",
            );
        }
    };

    // 6. Replay.
    let mut sandbox = SandboxConfig::default();
    if let Some(d) = &a.cache_dir {
        sandbox.cache_dir = Some(d.clone());
    }
    let mut targets = vec!["main".to_string()];
    if recommended {
        targets.push("recommended".to_string());
    }
    let opts = RunOptions {
        scope,
        subject,
        output: None,
        checks: a.checks.clone().unwrap_or_default(),
        clouds_file: None,
        date,
        forced_version,
        sections,
        tests: forced_tests,
        jobs: 4,
        assignments,
        targets,
        argv: std::env::args().collect(),
        sandbox,
        mediation: MediationLimits::default(),
        record: None,
        replay: Some(a.transcript.clone()),
        bundle,
    };
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let r = match rt.block_on(run::run(&opts, Arc::new(|_| {}))) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("scs-cert: error: {e}");
            return ExitCode::from(if e.is_bad_input() {
                EXIT_BAD_INPUT
            } else {
                EXIT_ENV
            });
        }
    };
    let got: BTreeMap<String, i64> = r
        .report
        .results()
        .into_iter()
        .map(|(k, v)| (k, i64::from(v)))
        .collect();

    // 7. Compare.
    let mut ids: Vec<&String> = want.keys().chain(got.keys()).collect();
    ids.sort();
    ids.dedup();
    let differing: Vec<String> = ids
        .into_iter()
        .filter(|id| want.get(*id) != got.get(*id))
        .map(|id| {
            format!(
                "{id}: report {}, replay {}",
                verdict(want.get(id)),
                verdict(got.get(id))
            )
        })
        .collect();
    for d in &r.divergences {
        eprintln!("scs-cert: error: {d}");
    }
    for m in &mismatches {
        eprintln!("scs-cert: MISMATCH: {m}");
    }
    if differing.is_empty() {
        println!(
            "reproduced: all {} results of {name} are identical",
            want.len()
        );
    } else {
        println!(
            "NOT reproduced: {} of {} results differ:",
            differing.len(),
            want.len()
        );
        for d in &differing {
            println!("  {d}");
        }
    }
    if !r.divergences.is_empty() {
        return ExitCode::from(EXIT_REPLAY_DIVERGED);
    }
    if !differing.is_empty() {
        return ExitCode::from(EXIT_NOT_REPRODUCED);
    }
    if !mismatches.is_empty() {
        return ExitCode::from(EXIT_DIGEST_MISMATCH);
    }
    ExitCode::SUCCESS
}

//! Reproducing a certification offline (`scs-cert report reproduce`): the report's signature,
//! then the claims it makes (subject, scope, date, selection, bundle and transcript digests),
//! then a replay of the transcript with the same selection, and a comparison of every result.
//!
//! Owns: reading a signed report's claims ([`read_claims`]), finding the scope in a bundle by
//! uuid, replaying ([`replay`]) and listing what differs ([`Reproduction`]).
//!
//! Must never: talk to a cloud (the replay serves the transcript), update the rollback state
//! (reproducing an old report is not installing its bundle), or print.

use super::{RunError, RunOptions};
use crate::bundle::VerifiedBundle;
use crate::mediate::MediationLimits;
use crate::mediate::transcript::{self, TranscriptError};
use crate::report::signed::{self, SignedError};
use crate::sandbox::SandboxConfig;
use crate::trust::TrustError;
use crate::trust::allowed_signers::AllowedSigners;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why a report could not be reproduced at all (as opposed to results that differ).
#[derive(Debug, thiserror::Error)]
pub enum ReproduceError {
    /// The allowed_signers file.
    #[error(transparent)]
    Signers(TrustError),
    /// The report or its signature (an invalid signature is [`SignedError::Trust`]).
    #[error(transparent)]
    Signed(#[from] SignedError),
    /// The report is not one readable document, or lacks a field.
    #[error("{name}: {message}")]
    Report {
        /// The report file.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// Both or neither of bundle and checks directory.
    #[error("{0}")]
    Checks(&'static str),
    /// The transcript.
    #[error(transparent)]
    Transcript(#[from] TranscriptError),
    /// The scope could not be found or written.
    #[error("{0}")]
    Scope(String),
    /// The replay itself could not run.
    #[error(transparent)]
    Run(#[from] RunError),
}

impl ReproduceError {
    /// Whether the error is in the command's input (everything but an engine failure).
    pub fn is_bad_input(&self) -> bool {
        match self {
            ReproduceError::Run(e) => e.is_bad_input(),
            _ => true,
        }
    }
}

/// What a signed report claims about its run.
#[derive(Debug, Clone)]
pub struct Claims {
    /// The report file's name, for messages.
    pub name: String,
    /// Testcase id → result (1, 0, -1) over all invocations.
    pub results: BTreeMap<String, i64>,
    /// The scope's uuid.
    pub scope_uuid: String,
    /// The subject.
    pub subject: String,
    /// The reference date.
    pub date: chrono::NaiveDate,
    /// Scope variables.
    pub assignments: Vec<(String, String)>,
    /// `-S`.
    pub sections: Option<Vec<String>>,
    /// `-V`.
    pub forced_version: Option<String>,
    /// `-t`.
    pub forced_tests: Option<String>,
    /// The transcript digest the report names.
    pub transcript_sha256: Option<String>,
    /// The bundle manifest digest the report names.
    pub bundle_manifest_sha256: Option<String>,
    /// The manifest digests of the contributor bundles the report names.
    pub contribution_manifests: Vec<String>,
    /// The data file manifest digest the report names (`run.scs_cert.data`).
    pub data_manifest_sha256: Option<String>,
    /// The digest of the transcript's data record the report names.
    pub data_record_sha256: Option<String>,
    /// Whether the run included the recommended targets.
    pub recommended: bool,
    /// Whether the run used unsigned development checks (`checks_trust: unsigned-dev`).
    pub unsigned_dev: bool,
    /// `run.scs_cert.cloud` as `(field, value)` pairs, if the report has the block.
    pub cloud: Option<Vec<(String, String)>>,
    /// `run.scs_cert.cluster` as `(server, context)`, if the report has the block.
    pub cluster: Option<(String, String)>,
}

/// Step 1: verify the report's signature against `allowed_signers` (and `principal`), then
/// read what it claims.
pub fn read_claims(
    report: &Path,
    signature: Option<&Path>,
    allowed_signers: &Path,
    principal: Option<&str>,
) -> Result<Claims, ReproduceError> {
    let allowed = AllowedSigners::load(allowed_signers).map_err(ReproduceError::Signers)?;
    let signed = signed::load_pair(report, signature)?;
    let name = report.display().to_string();
    signed.verify(&allowed, principal, chrono::Utc::now(), &name)?;
    let text = String::from_utf8_lossy(&signed.report).into_owned();
    let doc: Value = yaml_serde::from_str(&text).map_err(|e| ReproduceError::Report {
        name: name.clone(),
        message: format!("cannot read the report ({e}); reproduce one report document at a time"),
    })?;
    claims_of(&doc, name)
}

/// The claims of one report document.
fn claims_of(doc: &Value, name: String) -> Result<Claims, ReproduceError> {
    let s = |v: &Value| v.as_str().map(str::to_string);
    let missing = |message: &str| ReproduceError::Report {
        name: name.clone(),
        message: message.to_string(),
    };
    let scope_uuid = s(&doc["spec"]["uuid"]).ok_or_else(|| missing("spec.uuid missing"))?;
    let subject = s(&doc["subject"]).ok_or_else(|| missing("subject missing"))?;
    let date = doc["reference_date"]
        .as_str()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
        .ok_or_else(|| missing("reference_date missing or not YYYY-MM-DD"))?;
    let assignments = doc["run"]["assignment"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let sections = doc["run"]["sections"].as_array().map(|a| {
        a.iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    });
    let provenance = &doc["run"]["scs_cert"];
    if provenance["transcript"]["mode"].as_str() == Some("replayed") {
        return Err(missing(
            "the report's run was itself a replay (run.scs_cert.transcript.mode: replayed); \
             reproduce the report of the recorded run, which measured the cloud",
        ));
    }
    Ok(Claims {
        unsigned_dev: provenance["checks_trust"].as_str() == Some("unsigned-dev"),
        results: report_results(doc),
        scope_uuid,
        subject,
        date,
        assignments,
        sections,
        forced_version: s(&doc["run"]["forced_version"]),
        forced_tests: s(&doc["run"]["forced_tests"]),
        transcript_sha256: s(&provenance["transcript"]["sha256"]),
        bundle_manifest_sha256: s(&provenance["bundle"]["manifest_sha256"]),
        contribution_manifests: provenance["contributions"]
            .as_array()
            .map(|a| a.iter().filter_map(|b| s(&b["manifest_sha256"])).collect())
            .unwrap_or_default(),
        data_manifest_sha256: s(&provenance["data"]["manifest_sha256"]),
        data_record_sha256: s(&provenance["data"]["record_sha256"]),
        cloud: provenance["cloud"].as_object().map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        }),
        cluster: provenance["cluster"].as_object().map(|o| {
            let f = |k: &str| {
                o.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            };
            (f("server"), f("context"))
        }),
        recommended: doc["run"]["argv"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v.as_str() == Some("--recommended"))),
        name,
    })
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

/// A result as the console shows it.
fn verdict(v: Option<&i64>) -> &'static str {
    match v {
        Some(1) => "PASS",
        Some(0) => "ABORT",
        Some(-1) => "FAIL",
        Some(_) => "?",
        None => "no result",
    }
}

/// What to replay with.
#[derive(Debug, Clone)]
pub struct ReplayInputs {
    /// The transcript directory.
    pub transcript: PathBuf,
    /// The verified bundle (verified by the caller against its trust root, without a state
    /// update), and the file it came from (its scopes are searched by uuid).
    pub bundle: Option<(Arc<VerifiedBundle>, PathBuf)>,
    /// Contributor bundles that ran beside `bundle` (verified by the caller alike).
    pub contributions: Vec<Arc<VerifiedBundle>>,
    /// An unsigned checks directory instead (development).
    pub checks: Option<PathBuf>,
    /// The scope file [default: the bundle's scope whose uuid the report names].
    pub scope: Option<PathBuf>,
    /// Compile cache directory [default: as `run`].
    pub cache_dir: Option<PathBuf>,
    /// The command line, for the replayed report.
    pub argv: Vec<String>,
}

/// The outcome of a replay.
#[derive(Debug, Clone, Default)]
pub struct Reproduction {
    /// How many results the report has.
    pub results: usize,
    /// `id: report X, replay Y` for every result that differs.
    pub differing: Vec<String>,
    /// Digests that differ from the report's (bundle, transcript).
    pub mismatches: Vec<String>,
    /// Where the replay diverged from the transcript.
    pub divergences: Vec<String>,
}

/// Step 2: check the digests, replay the transcript with the report's selection, compare.
pub async fn replay(
    claims: &Claims,
    inputs: &ReplayInputs,
) -> Result<Reproduction, ReproduceError> {
    let bundle = match (&inputs.bundle, &inputs.checks) {
        (Some(_), Some(_)) => {
            return Err(ReproduceError::Checks(
                "give either --bundle FILE or --checks DIR, not both",
            ));
        }
        (None, None) => {
            return Err(ReproduceError::Checks(
                "no checks: pass --bundle FILE --root ROOT_JSON (or --checks DIR)",
            ));
        }
        (b, _) => b.clone(),
    };
    let mut mismatches = bundle_mismatch(bundle.as_ref().map(|b| &*b.0), claims);
    let mut given: Vec<&str> = inputs
        .contributions
        .iter()
        .map(|b| b.manifest_sha256.as_str())
        .collect();
    let mut named: Vec<&str> = claims
        .contribution_manifests
        .iter()
        .map(String::as_str)
        .collect();
    given.sort_unstable();
    named.sort_unstable();
    if given != named {
        mismatches.push(format!(
            "contributor bundle manifests [{}] differ from the report's [{}]",
            given.join(", "),
            named.join(", ")
        ));
    }
    let loaded = transcript::load(&inputs.transcript)?;
    match &claims.transcript_sha256 {
        Some(w) if w != &loaded.sha256 => mismatches.push(format!(
            "transcript sha256 {} differs from the report's {w}",
            loaded.sha256
        )),
        None => mismatches.push("the report names no transcript (it was not recorded)".to_string()),
        _ => {}
    }
    mismatches.extend(data_mismatch(claims, &inputs.transcript));
    mismatches.extend(identity_mismatch(claims, &loaded.manifest));
    let (_tmp, scope) = match (&inputs.scope, &bundle) {
        (Some(p), _) => (None, p.clone()),
        (None, Some((verified, file))) => {
            let (d, p) = scope_from_bundle(verified, file, &claims.scope_uuid)?;
            (Some(d), p)
        }
        (None, None) => {
            return Err(ReproduceError::Scope(
                "no scope: pass --scope FILE (or --bundle, which carries the scopes)".to_string(),
            ));
        }
    };
    let mut opts = replay_options(claims, inputs, scope, bundle.map(|b| b.0));
    opts.contributions = inputs.contributions.clone();
    // The transcript whose digest was just checked is the one replayed (read once).
    opts.replay_transcript = Some(Arc::new(loaded));
    let r = super::run(&opts, Arc::new(|_| {})).await?;
    let got: BTreeMap<String, i64> = r
        .report
        .results()
        .into_iter()
        .map(|(k, v)| (k, i64::from(v)))
        .collect();
    Ok(Reproduction {
        results: claims.results.len(),
        differing: differing(&claims.results, &got),
        mismatches,
        divergences: r.divergences,
    })
}

/// The cloud and cluster the report names vs the ones the transcript recorded: a transcript
/// binds to a report only if it was recorded as that user on that cloud and project (and on
/// that cluster). A report without the block cannot be bound and says so.
fn identity_mismatch(claims: &Claims, manifest: &transcript::TranscriptManifest) -> Vec<String> {
    let mut out = Vec::new();
    match (&claims.cloud, &manifest.cloud) {
        (None, None) => {}
        (Some(_), None) => {
            out.push("the report names a cloud, the transcript recorded none".to_string())
        }
        (None, Some(_)) => out.push(
            "the report names no cloud (run.scs_cert.cloud), so the transcript's cloud cannot be \
             bound to it"
                .to_string(),
        ),
        (Some(want), Some(recorded)) => {
            let got = super::cloud_provenance(recorded);
            for (field, value) in got.fields() {
                let claimed = want
                    .iter()
                    .find(|(k, _)| k == field)
                    .map(|(_, v)| v.as_str())
                    .unwrap_or("(none)");
                if claimed != value {
                    out.push(format!(
                        "the transcript was recorded with cloud {field} {value:?}, the report \
                         names {claimed:?}"
                    ));
                }
            }
        }
    }
    match (&claims.cluster, &manifest.cluster) {
        (None, None) => {}
        (Some(_), None) => {
            out.push("the report names a cluster, the transcript recorded none".to_string())
        }
        (None, Some(_)) => out.push(
            "the report names no cluster (run.scs_cert.cluster), so the transcript's cluster \
             cannot be bound to it"
                .to_string(),
        ),
        (Some((server, context)), Some(c)) => {
            if server != &c.server || context != &c.context {
                out.push(format!(
                    "the transcript was recorded on cluster {} (context {}), the report names {} \
                     (context {})",
                    c.server, c.context, server, context
                ));
            }
        }
    }
    out
}

/// The bundle named by the report vs the one given.
fn bundle_mismatch(bundle: Option<&VerifiedBundle>, claims: &Claims) -> Vec<String> {
    match (bundle, &claims.bundle_manifest_sha256) {
        (Some(b), Some(w)) if &b.manifest_sha256 != w => vec![format!(
            "bundle manifest sha256 {} differs from the report's {w}",
            b.manifest_sha256
        )],
        (Some(_), None) => vec!["the report names no bundle (it ran unsigned checks)".to_string()],
        (None, Some(w)) => vec![format!(
            "the report ran bundle manifest {w}, but --checks was given"
        )],
        _ => Vec::new(),
    }
}

/// The data the report names vs the transcript's data record (`data.json`): the record's
/// digest, and the manifest digest of the data file embedded in it.
fn data_mismatch(claims: &Claims, transcript: &Path) -> Vec<String> {
    use crate::data::access::{RECORD_FILE, TranscriptData};
    let path = transcript.join(RECORD_FILE);
    let Some(want) = &claims.data_record_sha256 else {
        return match &claims.data_manifest_sha256 {
            Some(m) => vec![format!(
                "the report names data file manifest {m} but no data record of the transcript"
            )],
            None => Vec::new(),
        };
    };
    let bytes = match crate::fsutil::read_bounded(&path, 2 * crate::data::file::MAX_DATA_FILE_BYTES)
    {
        Ok(b) => b,
        Err(e) => return vec![format!("the transcript's data record: {e}")],
    };
    let mut out = Vec::new();
    let got = crate::bundle::manifest::sha256_hex(&bytes);
    if &got != want {
        out.push(format!(
            "transcript data record sha256 {got} differs from the report's {want}"
        ));
    }
    match TranscriptData::parse(&bytes) {
        Ok((_, Some(f))) if Some(&f.manifest_sha256) != claims.data_manifest_sha256.as_ref() => out
            .push(format!(
                "the transcript's data file manifest sha256 {} differs from the report's {}",
                f.manifest_sha256,
                claims.data_manifest_sha256.as_deref().unwrap_or("(none)")
            )),
        Ok(_) => {}
        Err(e) => out.push(e.to_string()),
    }
    out
}

/// The run options of the replay: the report's selection, the transcript as the cloud.
fn replay_options(
    claims: &Claims,
    inputs: &ReplayInputs,
    scope: PathBuf,
    bundle: Option<Arc<VerifiedBundle>>,
) -> RunOptions {
    let mut sandbox = SandboxConfig::default();
    if let Some(d) = &inputs.cache_dir {
        sandbox.cache_dir = Some(d.clone());
    }
    let mut targets = vec!["main".to_string()];
    if claims.recommended {
        targets.push("recommended".to_string());
    }
    RunOptions {
        scope,
        subject: claims.subject.clone(),
        output: None,
        checks: inputs.checks.clone().unwrap_or_default(),
        clouds_file: None,
        date: claims.date,
        forced_version: claims.forced_version.clone(),
        sections: claims.sections.clone(),
        tests: claims.forced_tests.clone(),
        jobs: 4,
        max_readers: super::DEFAULT_MAX_READERS,
        assignments: claims.assignments.clone(),
        targets,
        argv: inputs.argv.clone(),
        sandbox,
        mediation: MediationLimits::default(),
        record: None,
        replay: Some(inputs.transcript.clone()),
        replay_transcript: None,
        data: None,
        bundle,
        contributions: Vec::new(),
        kube: Default::default(),
        sonobuoy: Default::default(),
        due: None,
        stop: None,
    }
}

/// `id: report X, replay Y` for every id whose result differs.
fn differing(want: &BTreeMap<String, i64>, got: &BTreeMap<String, i64>) -> Vec<String> {
    let mut ids: Vec<&String> = want.keys().chain(got.keys()).collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .filter(|id| want.get(*id) != got.get(*id))
        .map(|id| {
            format!(
                "{id}: report {}, replay {}",
                verdict(want.get(id)),
                verdict(got.get(id))
            )
        })
        .collect()
}

/// Find the scope whose uuid the report names among the verified bundle's scope files (the
/// bytes that were verified; the bundle file is not read again); write it to a temporary file
/// (the run loads scopes from paths).
fn scope_from_bundle(
    bundle: &VerifiedBundle,
    file: &Path,
    uuid: &str,
) -> Result<(TempDir, PathBuf), ReproduceError> {
    for (path, data) in &bundle.scope_files {
        if !(path.ends_with(".yaml") || path.ends_with(".yml")) {
            continue;
        }
        let text = String::from_utf8_lossy(data);
        if let Ok(spec) = crate::scope::Spec::from_yaml(&text, Path::new(path))
            && spec.uuid == uuid
        {
            let dir = TempDir::new().map_err(ReproduceError::Scope)?;
            let p = dir.0.join("scope.yaml");
            std::fs::write(&p, data)
                .map_err(|e| ReproduceError::Scope(format!("{}: {e}", p.display())))?;
            return Ok((dir, p));
        }
    }
    Err(ReproduceError::Scope(format!(
        "{}: holds no scope with uuid {uuid}; pass --scope FILE",
        file.display()
    )))
}

/// A temporary directory removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let p = std::env::temp_dir().join(format!(
            "scs-cert-reproduce-{}-{}",
            std::process::id(),
            uuid::Uuid::new_v4()
        ));
        std::fs::create_dir_all(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(TempDir(p))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(mode: &str, trust: &str) -> Value {
        serde_json::json!({
            "spec": {"uuid": "u"},
            "subject": "s",
            "reference_date": "2026-11-29",
            "run": {"scs_cert": {"checks_trust": trust, "transcript": {"mode": mode, "sha256": "x"}}}
        })
    }

    /// Hardening, hole 10: a report of a replay vouches for nothing that was measured.
    #[test]
    fn reports_of_replayed_runs_are_refused() {
        let e = claims_of(&doc("replayed", "signed-bundle"), "r.yaml".into())
            .expect_err("replayed")
            .to_string();
        assert!(e.contains("was itself a replay"), "{e}");
        let c = claims_of(&doc("recorded", "signed-bundle"), "r.yaml".into()).expect("recorded");
        assert!(!c.unsigned_dev);
    }

    /// Hardening, hole 10: an unsigned-dev report is recognised (the CLI says so).
    #[test]
    fn unsigned_dev_reports_are_recognised() {
        let c = claims_of(&doc("recorded", "unsigned-dev"), "r.yaml".into()).expect("claims");
        assert!(c.unsigned_dev);
    }
}

//! Verify-then-use: from `.scsb` bytes to checks the host may run.
//!
//! Owns: the order of the bundle rules and the one reason each refusal
//! names ([`Reason`], with its exit code): archive safety, signatures over
//! the exact manifest bytes, every file listed and matching, check metadata,
//! the trust root (installed root advanced through the bundle's trust
//! history), authorization of the signers, host compatibility, expiry and
//! rollback; the overrides (`--allow-expired`, `--allow-downgrade`), each
//! recorded as a line for the report; adding a signature to a bundle; and the
//! unverified summary `bundle inspect` shows.
//!
//! Must never: hand out a check whose bytes were not hashed and compared in
//! this same pass (the returned [`LoadedCheck`]s share the verified buffers,
//! which the sandbox compiles), read a bundle file twice, or record a
//! rollback state for a bundle that failed any rule.

use super::archive;
use super::manifest::{
    BUNDLE_NAMESPACE, BundleManifest, MANIFEST_PATH, SIGNATURES_DIR, sha256_hex, signature_path,
};
pub use super::refusal::{Reason, Refusal};
use super::{CheckMeta, LoadedCheck, MAX_CHECK_JSON_BYTES};
use crate::trust::root::{
    CheckClaims, RootError, RootFile, TrustRoot, fmt_time, parse_rfc3339_utc,
};
use crate::trust::state::{State, StateError};
use crate::trust::{TrustError, sshsig};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

impl From<TrustError> for Refusal {
    fn from(e: TrustError) -> Self {
        let reason = match &e {
            TrustError::Root(r) => match r {
                RootError::Unsigned => Reason::Unsigned,
                RootError::UnknownKey { .. } => Reason::UnknownKey,
                RootError::KeyExpired { .. } => Reason::KeyExpired,
                RootError::BundleThreshold { .. } | RootError::DataThreshold { .. } => {
                    Reason::Threshold
                }
                RootError::DelegationPrefix { .. } | RootError::DelegationClaim(_) => {
                    Reason::DelegationPrefix
                }
                RootError::DelegationCapability { .. } => Reason::DelegationCapability,
                RootError::DelegationScope { .. } => Reason::DelegationScope,
                RootError::Expired { .. } => Reason::RootExpired,
                _ => Reason::RootInvalid,
            },
            TrustError::State(
                StateError::Rollback { .. }
                | StateError::DataRollback { .. }
                | StateError::Fork { .. }
                | StateError::RootRollback { .. },
            ) => Reason::Rollback,
            TrustError::State(_) => Reason::State,
            TrustError::Sig(_) => Reason::BadSignature,
            TrustError::Key(_) | TrustError::Signers(_) => Reason::RootInvalid,
        };
        Refusal::new(reason, e.to_string())
    }
}

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// "Now" for every expiry rule.
    pub now: DateTime<Utc>,
    /// Accept an expired bundle or trust root (recorded as an override).
    pub allow_expired: bool,
    /// Accept a sequence older than the accepted one (recorded as an override).
    pub allow_downgrade: bool,
    /// Rollback state directory; `None` skips the rollback rule entirely
    /// (only for tools that never run a bundle, e.g. `inspect`).
    pub state_dir: Option<PathBuf>,
    /// Record the accepted sequence in the state directory.
    pub update_state: bool,
}

impl VerifyOptions {
    /// Production defaults: now, no overrides, the default state directory.
    pub fn new(state_dir: PathBuf) -> Self {
        Self {
            now: Utc::now(),
            allow_expired: false,
            allow_downgrade: false,
            state_dir: Some(state_dir),
            update_state: true,
        }
    }
}

/// A bundle that passed every rule; its checks hold the verified bytes.
#[derive(Debug, Clone)]
pub struct VerifiedBundle {
    /// Where it was read from.
    pub source: String,
    /// The manifest.
    pub manifest: BundleManifest,
    /// sha256 of the exact manifest bytes (the signed object).
    pub manifest_sha256: String,
    /// sha256 of the whole archive file.
    pub archive_sha256: String,
    /// The checks, sorted by id, bytes shared with what was hashed.
    pub checks: Vec<LoadedCheck>,
    /// Key ids whose signatures counted.
    pub signers: Vec<String>,
    /// `bundle` or `delegation:<names>`.
    pub authorized_by: String,
    /// Root version that authorized it.
    pub root_version: u64,
    /// Root versions walked (installed first).
    pub root_chain: Vec<u64>,
    /// The verified bytes of the scope files carried (path inside the bundle → bytes), so
    /// nothing reads the bundle file a second time after verification.
    pub scope_files: BTreeMap<String, Arc<[u8]>>,
    /// Scope files carried (paths inside the bundle).
    pub scopes: Vec<String>,
    /// Overrides used, one line each (empty without overrides).
    pub overrides: Vec<String>,
}

/// A bundle taken apart safely but not trusted: for `inspect` and `sign`.
#[derive(Debug, Clone)]
pub struct Opened {
    /// Every entry except the manifest and signatures.
    pub files: BTreeMap<String, Vec<u8>>,
    /// Exact manifest bytes.
    pub manifest_bytes: Vec<u8>,
    /// Parsed manifest.
    pub manifest: BundleManifest,
    /// Signature entries: path → armored text.
    pub signatures: BTreeMap<String, String>,
    /// sha256 of the archive.
    pub archive_sha256: String,
}

/// Take an archive apart (archive safety rules and manifest syntax only).
pub fn open(bytes: &[u8]) -> Result<Opened, Refusal> {
    let parts = split(bytes)?;
    let manifest = BundleManifest::parse(&parts.manifest_bytes)?;
    Ok(parts.with_manifest(manifest))
}

/// An archive taken apart, manifest not yet parsed (signatures are checked
/// over its bytes before anything reads them).
#[derive(Debug, Clone)]
pub struct Parts {
    pub(crate) files: BTreeMap<String, Vec<u8>>,
    pub(crate) manifest_bytes: Vec<u8>,
    pub(crate) signatures: BTreeMap<String, String>,
    pub(crate) archive_sha256: String,
}

impl Parts {
    fn with_manifest(self, manifest: BundleManifest) -> Opened {
        Opened {
            files: self.files,
            manifest_bytes: self.manifest_bytes,
            manifest,
            signatures: self.signatures,
            archive_sha256: self.archive_sha256,
        }
    }
}

/// Archive safety rules; split off the manifest bytes and the signatures.
pub fn split(bytes: &[u8]) -> Result<Parts, Refusal> {
    let archive_sha256 = sha256_hex(bytes);
    let mut files = archive::unpack(bytes)?;
    let manifest_bytes = files
        .remove(MANIFEST_PATH)
        .ok_or_else(|| Refusal::new(Reason::Malformed, "no manifest.json in the archive"))?;
    let sig_paths: Vec<String> = files
        .keys()
        .filter(|p| p.starts_with(SIGNATURES_DIR))
        .cloned()
        .collect();
    let mut signatures = BTreeMap::new();
    for p in sig_paths {
        let data = files.remove(&p).unwrap_or_default();
        let rest = &p[SIGNATURES_DIR.len()..];
        if rest.contains('/') || !rest.ends_with(".sig") {
            return Err(Refusal::new(
                Reason::UnlistedFile,
                format!("{p}: only signatures/<name>.sig files may live in signatures/"),
            ));
        }
        let text = String::from_utf8(data).map_err(|_| {
            Refusal::new(Reason::BadSignature, format!("{p}: not a text signature"))
        })?;
        signatures.insert(p, text);
    }
    Ok(Parts {
        files,
        manifest_bytes,
        signatures,
        archive_sha256,
    })
}

/// Verify every signature over the exact manifest bytes; the signer keys,
/// one per key.
fn verify_signatures(
    manifest_bytes: &[u8],
    signatures: &BTreeMap<String, String>,
) -> Result<Vec<ssh_key::PublicKey>, Refusal> {
    if signatures.is_empty() {
        return Err(Refusal::new(
            Reason::Unsigned,
            "the bundle carries no signature (sign it with `scs-cert bundle sign`)",
        ));
    }
    verify_signatures_in(manifest_bytes, signatures, BUNDLE_NAMESPACE)
}

/// Verify every signature over the exact manifest bytes in `namespace` (bundles and data files
/// share this); the signer keys, one per key. No signature at all gives no keys.
pub(crate) fn verify_signatures_in(
    manifest_bytes: &[u8],
    signatures: &BTreeMap<String, String>,
    namespace: &str,
) -> Result<Vec<ssh_key::PublicKey>, Refusal> {
    let mut seen = BTreeSet::new();
    let mut keys = Vec::new();
    for (path, text) in signatures {
        let key = sshsig::verify(text, manifest_bytes, namespace)
            .map_err(|e| Refusal::new(Reason::BadSignature, format!("{path}: {e}")))?;
        if seen.insert(sshsig::key_id(&key)) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// Read a bundle file (size-capped) into memory, once.
pub fn read_bundle_file(path: &Path) -> Result<Vec<u8>, super::BundleError> {
    use crate::fsutil::ReadError;
    let read = |message: String| super::BundleError::Read {
        path: path.to_path_buf(),
        message,
    };
    crate::fsutil::read_bounded(path, archive::MAX_ARCHIVE_BYTES).map_err(|e| match e {
        ReadError::Io { source, .. } => read(source.to_string()),
        ReadError::NotRegular { .. } => read("not a regular file".to_string()),
        ReadError::TooLarge { len, limit, .. } => super::BundleError::Refused(Refusal::new(
            Reason::Oversize,
            format!("{}: {len} bytes; the limit is {limit}", path.display()),
        )),
    })
}

/// Every file in `files` listed in `listed`, every listed file present and matching its sha256
/// and size, nothing listed twice (bundles and data files share this rule). Returns path →
/// sha256 (each file hashed once).
pub(crate) fn check_listed(
    files: &BTreeMap<String, Vec<u8>>,
    listed_files: &[super::manifest::FileEntry],
) -> Result<BTreeMap<String, String>, Refusal> {
    let mut digests = BTreeMap::new();
    let listed: BTreeMap<&str, &super::manifest::FileEntry> =
        listed_files.iter().map(|f| (f.path.as_str(), f)).collect();
    if listed.len() != listed_files.len() {
        return Err(Refusal::new(
            Reason::Malformed,
            "manifest.json lists a file twice",
        ));
    }
    for path in files.keys() {
        if !listed.contains_key(path.as_str()) {
            return Err(Refusal::new(
                Reason::UnlistedFile,
                format!("{path} is in the archive but not in manifest.json"),
            ));
        }
    }
    for (path, entry) in &listed {
        let Some(data) = files.get(*path) else {
            return Err(Refusal::new(
                Reason::MissingFile,
                format!("{path} is listed in manifest.json but missing from the archive"),
            ));
        };
        let actual = sha256_hex(data);
        if data.len() as u64 != entry.size || actual != entry.sha256 {
            return Err(Refusal::new(
                Reason::DigestMismatch,
                format!(
                    "{path}: sha256 {actual} ({} bytes) differs from the manifest's {} ({} bytes)",
                    data.len(),
                    entry.sha256,
                    entry.size
                ),
            ));
        }
        digests.insert(path.to_string(), actual);
    }
    Ok(digests)
}

impl Opened {
    /// Every file listed, present, and matching its sha256 and size; nothing
    /// unlisted. Returns path → sha256 (each file hashed once).
    pub(crate) fn check_files(&self) -> Result<BTreeMap<String, String>, Refusal> {
        check_listed(&self.files, &self.manifest.files)
    }

    /// The checks (metadata validated, layout checked), sorted by id;
    /// `digests` from [`Opened::check_files`] (missing ones are computed).
    pub fn checks(&self, digests: &BTreeMap<String, String>) -> Result<Vec<LoadedCheck>, Refusal> {
        let meta_err = |m: String| Refusal::new(Reason::CheckMetadata, m);
        // id → (component.wasm, check.json)
        type Pair<'a> = (Option<&'a Vec<u8>>, Option<&'a Vec<u8>>);
        let mut by_id: BTreeMap<String, Pair<'_>> = BTreeMap::new();
        for (path, data) in &self.files {
            let Some(rest) = path.strip_prefix("checks/") else {
                continue;
            };
            match rest.split_once('/') {
                Some((id, "component.wasm")) => {
                    by_id.entry(id.to_string()).or_default().0 = Some(data)
                }
                Some((id, "check.json")) => by_id.entry(id.to_string()).or_default().1 = Some(data),
                _ => {
                    return Err(meta_err(format!(
                        "{path}: checks/ holds only <id>/component.wasm and <id>/check.json"
                    )));
                }
            }
        }
        let mut out = Vec::new();
        for (id, (wasm, json)) in by_id {
            let (Some(wasm), Some(json)) = (wasm, json) else {
                return Err(meta_err(format!(
                    "checks/{id}: needs both component.wasm and check.json"
                )));
            };
            let json_path = PathBuf::from(format!("bundle:checks/{id}/check.json"));
            if json.len() as u64 > MAX_CHECK_JSON_BYTES {
                return Err(meta_err(format!("{}: too large", json_path.display())));
            }
            let meta: CheckMeta = serde_json::from_slice(json).map_err(|e| {
                meta_err(format!(
                    "{}: not a valid check.json: {e}",
                    json_path.display()
                ))
            })?;
            super::validate_meta(&meta, &json_path, &id).map_err(|e| meta_err(e.to_string()))?;
            let wasm_path = format!("checks/{id}/component.wasm");
            out.push(LoadedCheck {
                meta,
                sha256: digests
                    .get(&wasm_path)
                    .cloned()
                    .unwrap_or_else(|| sha256_hex(wasm)),
                wasm: Arc::new(wasm.clone()),
                dir: PathBuf::from(format!("bundle:checks/{id}")),
            });
        }
        super::testcase_index(&out).map_err(|e| meta_err(e.to_string()))?;
        Ok(out)
    }

    /// Trust history carried in the bundle (`trust/*.json`).
    pub(crate) fn trust_history(&self) -> Result<Vec<RootFile>, Refusal> {
        self.files
            .iter()
            .filter(|(p, _)| p.starts_with("trust/"))
            .map(|(p, data)| {
                RootFile::parse(data, &format!("bundle:{p}"))
                    .map_err(|e| Refusal::new(Reason::RootInvalid, e.to_string()))
            })
            .collect()
    }

    /// Verify every signature over the exact manifest bytes; the signer
    /// keys, one per key.
    pub fn signers(&self) -> Result<Vec<ssh_key::PublicKey>, Refusal> {
        verify_signatures(&self.manifest_bytes, &self.signatures)
    }
}

/// Verify bundle bytes against the installed `root` (and the bundle's own
/// trust history). `source` names the bundle in the report.
pub fn verify_bytes(
    bytes: &[u8],
    source: &str,
    root: &RootFile,
    opts: &VerifyOptions,
) -> Result<VerifiedBundle, Refusal> {
    let mut overrides = Vec::new();
    // 1. archive safety, manifest present.
    let parts = split(bytes)?;
    // 2. signatures over the exact manifest bytes, before anything parses them.
    let signer_keys = verify_signatures(&parts.manifest_bytes, &parts.signatures)?;
    let manifest = BundleManifest::parse(&parts.manifest_bytes)?;
    let opened = parts.with_manifest(manifest);
    // 3. every file listed and matching; nothing else.
    let digests = opened.check_files()?;
    // 4. check metadata and layout.
    let checks = opened.checks(&digests)?;
    // 5. the trust root: installed, advanced through the bundle's history.
    let history = opened.trust_history()?;
    let trust = TrustRoot::from_installed(root.clone())
        .and_then(|t| t.update(&history))
        .and_then(|t| t.finish(opts.now, opts.allow_expired))
        .map_err(Refusal::from)?;
    if trust.expired {
        overrides.push(format!(
            "allow-expired: trust root version {} expired at {}",
            trust.version(),
            trust.file.signed.expires
        ));
    }
    // 6. who signed, and may they sign all of this?
    let m = &opened.manifest;
    let claims: Vec<CheckClaims> = checks
        .iter()
        .map(|c| CheckClaims {
            id: c.meta.id.clone(),
            standard: c.meta.standard.clone(),
            testcases: c.meta.testcases.clone(),
            capabilities: c.meta.capabilities.clone(),
        })
        .collect();
    let others: Vec<String> = opened
        .files
        .keys()
        .filter(|p| !p.starts_with("checks/") && !p.starts_with("trust/"))
        .cloned()
        .collect();
    let auth = trust
        .authorize(&signer_keys, &claims, &others, opts.now)
        .map_err(Refusal::from)?;
    if let Some(names) = auth.authorized_by.strip_prefix("delegation:")
        && !trust.delegation_covers_name(names, &m.name)
    {
        return Err(Refusal::new(
            Reason::DelegationPrefix,
            format!(
                "bundle name {:?} is outside the prefixes of delegation {names} that signed it; \
                 name a delegated bundle inside its prefixes (its rollback record is kept by name)",
                m.name
            ),
        ));
    }
    // 7. host compatibility.
    let host = env!("CARGO_PKG_VERSION");
    if super::manifest::version_cmp(&m.min_host_version, host) == std::cmp::Ordering::Greater {
        return Err(Refusal::new(
            Reason::Incompatible,
            format!(
                "bundle {} needs scs-cert {} or newer; this is {host}",
                m.name, m.min_host_version
            ),
        ));
    }
    if m.wit != crate::sandbox::WIT_PACKAGE {
        return Err(Refusal::new(
            Reason::Incompatible,
            format!(
                "bundle {} targets {}; this host provides {}",
                m.name,
                m.wit,
                crate::sandbox::WIT_PACKAGE
            ),
        ));
    }
    // 8. expiry.
    let expires = parse_rfc3339_utc(&m.expires)
        .map_err(|e| Refusal::new(Reason::Malformed, format!("manifest.json expires: {e}")))?;
    if opts.now > expires {
        if !opts.allow_expired {
            return Err(Refusal::new(
                Reason::Expired,
                format!(
                    "bundle {} {} (sequence {}) expired at {}; get a current bundle (or --allow-expired)",
                    m.name, m.version, m.sequence, m.expires
                ),
            ));
        }
        overrides.push(format!(
            "allow-expired: bundle {} sequence {} expired at {} (checked at {})",
            m.name,
            m.sequence,
            m.expires,
            fmt_time(opts.now)
        ));
    }
    // 9. rollback: of the bundle's sequence, and of the trust root (revocation sticks).
    let manifest_sha256 = sha256_hex(&opened.manifest_bytes);
    if let Some(dir) = &opts.state_dir {
        let anchor = root
            .signed
            .canonical_bytes()
            .map(|b| sha256_hex(&b))
            .map_err(Refusal::from)?;
        let state = State::load(dir).map_err(Refusal::from)?;
        let mut downgraded = false;
        for rule in [
            state.check_root(&anchor, trust.version()),
            state.check(&m.name, m.sequence, &manifest_sha256),
        ] {
            if let Err(e) = rule {
                if !opts.allow_downgrade {
                    return Err(Refusal::from(e));
                }
                downgraded = true;
                overrides.push(format!("allow-downgrade: {e}"));
            }
        }
        if opts.update_state && !downgraded {
            State::record_root(dir, &anchor, trust.version()).map_err(Refusal::from)?;
            State::record(dir, &m.name, m.sequence, &manifest_sha256, &m.version)
                .map_err(Refusal::from)?;
        }
    }
    let scope_files: BTreeMap<String, Arc<[u8]>> = opened
        .files
        .iter()
        .filter(|(p, _)| p.starts_with("scopes/"))
        .map(|(p, data)| (p.clone(), Arc::from(data.as_slice())))
        .collect();
    let scopes = scope_files.keys().cloned().collect();
    Ok(VerifiedBundle {
        source: source.to_string(),
        manifest: opened.manifest.clone(),
        manifest_sha256,
        archive_sha256: opened.archive_sha256.clone(),
        checks,
        signers: auth.signers,
        authorized_by: auth.authorized_by,
        root_version: trust.version(),
        root_chain: trust.chain.clone(),
        scopes,
        scope_files,
        overrides,
    })
}

/// Read and verify a bundle file against the root file `root_path`.
pub fn verify_file(
    path: &Path,
    root_path: &Path,
    opts: &VerifyOptions,
) -> Result<VerifiedBundle, super::BundleError> {
    let root =
        RootFile::load(root_path).map_err(|e| super::BundleError::Refused(Refusal::from(e)))?;
    let bytes = read_bundle_file(path)?;
    verify_bytes(&bytes, &path.display().to_string(), &root, opts)
        .map_err(super::BundleError::Refused)
}

/// Add a signature to a bundle: made with `key`, or an armored one made
/// elsewhere (`ssh-keygen -Y sign -n scs-cert-bundle manifest.json`). The
/// files must match the manifest; the result is again deterministic.
pub fn add_signature(
    bytes: &[u8],
    key: Option<&ssh_key::PrivateKey>,
    armored: Option<&str>,
) -> Result<(Vec<u8>, String), Refusal> {
    let opened = open(bytes)?;
    opened.check_files()?;
    let sig = match (key, armored) {
        (Some(k), _) => sshsig::sign(k, BUNDLE_NAMESPACE, &opened.manifest_bytes)
            .map_err(|e| Refusal::new(Reason::BadSignature, e.to_string()))?,
        (None, Some(a)) => {
            let mut a = a.trim().to_string();
            a.push('\n');
            a
        }
        (None, None) => {
            return Err(Refusal::new(
                Reason::Unsigned,
                "give a key or a signature to add",
            ));
        }
    };
    let signer = sshsig::verify(&sig, &opened.manifest_bytes, BUNDLE_NAMESPACE)
        .map_err(|e| Refusal::new(Reason::BadSignature, format!("the new signature: {e}")))?;
    let mut entries = opened.files.clone();
    entries.insert(MANIFEST_PATH.into(), opened.manifest_bytes.clone());
    for (p, s) in &opened.signatures {
        entries.insert(p.clone(), s.clone().into_bytes());
    }
    entries.insert(signature_path(&signer), sig.into_bytes());
    let mtime = parse_rfc3339_utc(&opened.manifest.created)
        .map(|t| t.timestamp().max(0) as u64)
        .unwrap_or(0);
    Ok((archive::pack(&entries, mtime)?, sshsig::key_id(&signer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_distinct() {
        let codes: BTreeSet<u8> = Reason::ALL.iter().map(|r| r.exit_code()).collect();
        assert_eq!(codes.len(), Reason::ALL.len());
        let names: BTreeSet<&str> = Reason::ALL.iter().map(|r| r.name()).collect();
        assert_eq!(names.len(), Reason::ALL.len());
        assert!(codes.iter().all(|c| (20..=40).contains(c)));
    }
}

//! `manifest.json`: what a bundle is and which files it holds.
//!
//! Owns: the manifest model (name, semver version, monotonic `sequence`,
//! created/expires, minimum host version, WIT package, and every file with
//! its sha256 and size), its exact serialisation (pretty JSON + newline; the
//! signatures cover these exact bytes), and building a bundle from a checks
//! directory, scopes and trust history.
//!
//! Must never: reorder or re-serialise a manifest it did not write (verifiers
//! use the bytes as found), or list a signature file (signatures are added
//! after the manifest is fixed).

use super::archive;
use super::refusal::{Reason, Refusal};
use super::{BundleError, LoadedCheck};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `type` of a manifest.
pub(crate) const MANIFEST_TYPE: &str = "scs-cert-bundle";
/// Manifest format version.
pub(crate) const SPEC_VERSION: u32 = 1;
/// Path of the manifest inside the archive.
pub(crate) const MANIFEST_PATH: &str = "manifest.json";
/// Directory of signatures inside the archive (not listed in the manifest).
pub(crate) const SIGNATURES_DIR: &str = "signatures/";
/// SSHSIG namespace of bundle signatures.
pub const BUNDLE_NAMESPACE: &str = "scs-cert-bundle";
/// Largest manifest accepted.
pub(crate) const MAX_MANIFEST_BYTES: usize = 4 << 20;

/// One file of the bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Path inside the archive.
    pub path: String,
    /// sha256, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
}

/// The manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    /// Always [`MANIFEST_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// Always [`SPEC_VERSION`].
    pub spec_version: u32,
    /// Bundle name (rollback state is kept per name).
    pub name: String,
    /// Semver version.
    pub version: String,
    /// Monotonic sequence number.
    pub sequence: u64,
    /// RFC 3339 (from SOURCE_DATE_EPOCH).
    pub created: String,
    /// RFC 3339.
    pub expires: String,
    /// Oldest scs-cert that may run it.
    pub min_host_version: String,
    /// WIT package the components target.
    pub wit: String,
    /// Every file except the manifest and the signatures, sorted by path.
    pub files: Vec<FileEntry>,
}

impl BundleManifest {
    /// The exact bytes written (and signed).
    pub fn to_bytes(&self) -> Result<Vec<u8>, BundleError> {
        let mut v =
            serde_json::to_vec_pretty(self).map_err(|e| BundleError::Build(e.to_string()))?;
        v.push(b'\n');
        Ok(v)
    }

    /// Parse manifest bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, Refusal> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(Refusal::new(Reason::Oversize, "manifest.json is too large"));
        }
        let m: BundleManifest = serde_json::from_slice(bytes)
            .map_err(|e| Refusal::new(Reason::Malformed, format!("manifest.json: {e}")))?;
        if m.kind != MANIFEST_TYPE || m.spec_version != SPEC_VERSION {
            return Err(Refusal::new(
                Reason::Malformed,
                format!(
                    "manifest.json: type {:?} spec_version {} (expected {MANIFEST_TYPE:?} {SPEC_VERSION})",
                    m.kind, m.spec_version
                ),
            ));
        }
        Ok(m)
    }
}

/// sha256 hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Name of the signature entry for a key (stable, so re-signing replaces).
pub fn signature_path(key: &ssh_key::PublicKey) -> String {
    let id = crate::trust::sshsig::key_id(key);
    format!("{SIGNATURES_DIR}{}.sig", &sha256_hex(id.as_bytes())[..16])
}

/// Inputs of `bundle build`.
#[derive(Debug, Clone)]
pub struct BuildInput {
    /// Checks directory (`<id>/component.wasm` + `<id>/check.json`).
    pub checks_dir: PathBuf,
    /// Scope YAML files to include.
    pub scopes: Vec<PathBuf>,
    /// Trust root history (root.json files, any order).
    pub trust: Vec<PathBuf>,
    /// Bundle name.
    pub name: String,
    /// Semver.
    pub version: String,
    /// Sequence.
    pub sequence: u64,
    /// Created, seconds since the epoch (also every tar mtime).
    pub created_epoch: u64,
    /// Expiry.
    pub expires: chrono::DateTime<chrono::Utc>,
    /// Minimum host version.
    pub min_host_version: String,
}

/// `SOURCE_DATE_EPOCH`, or 0.
pub fn source_date_epoch() -> Result<u64, BundleError> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Err(_) => Ok(0),
        Ok(s) if s.trim().is_empty() => Ok(0),
        Ok(s) => s.trim().parse().map_err(|_| {
            BundleError::Build(format!(
                "SOURCE_DATE_EPOCH={s:?} is not a number of seconds"
            ))
        }),
    }
}

fn semver_ok(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
}

/// Compare two `x.y.z` versions numerically (pre-release tags ignored).
pub(crate) fn version_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let nums = |v: &str| -> Vec<u64> {
        v.split(['-', '+'])
            .next()
            .unwrap_or("")
            .split('.')
            .map(|p| p.parse().unwrap_or(0))
            .collect()
    };
    nums(a).cmp(&nums(b))
}

fn read_file(path: &Path) -> Result<Vec<u8>, BundleError> {
    std::fs::read(path).map_err(|e| BundleError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Build an unsigned bundle: returns the archive bytes and its manifest.
pub fn build(input: &BuildInput) -> Result<(Vec<u8>, BundleManifest), BundleError> {
    let name_ok = !input.name.is_empty()
        && input
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !name_ok {
        return Err(BundleError::Build(format!(
            "--name {:?}: use letters, digits, `-`, `_`, `.`",
            input.name
        )));
    }
    if !semver_ok(&input.version) || !semver_ok(&input.min_host_version) {
        return Err(BundleError::Build(format!(
            "versions must be semver x.y.z (got {:?}, min host {:?})",
            input.version, input.min_host_version
        )));
    }
    let checks: Vec<LoadedCheck> = super::load_dir(&input.checks_dir)?;
    super::testcase_index(&checks)?;
    let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for c in &checks {
        let id = &c.meta.id;
        entries.insert(
            format!("checks/{id}/component.wasm"),
            c.wasm.as_ref().clone(),
        );
        entries.insert(
            format!("checks/{id}/check.json"),
            read_file(&c.dir.join("check.json"))?,
        );
    }
    for s in &input.scopes {
        let file = s
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| archive::unsafe_path(n).is_none())
            .ok_or_else(|| {
                BundleError::Build(format!("{}: not a usable file name", s.display()))
            })?;
        if entries
            .insert(format!("scopes/{file}"), read_file(s)?)
            .is_some()
        {
            return Err(BundleError::Build(format!("scope {file} given twice")));
        }
    }
    for t in &input.trust {
        let bytes = read_file(t)?;
        let root = crate::trust::root::RootFile::parse(&bytes, &t.display().to_string())
            .map_err(|e| BundleError::Build(e.to_string()))?;
        let path = format!("trust/root-{}.json", root.signed.version);
        if entries.insert(path.clone(), bytes).is_some() {
            return Err(BundleError::Build(format!(
                "two trust roots with version {}",
                root.signed.version
            )));
        }
    }
    let created = chrono::DateTime::from_timestamp(input.created_epoch as i64, 0)
        .ok_or_else(|| BundleError::Build("SOURCE_DATE_EPOCH is out of range".into()))?;
    let manifest = BundleManifest {
        kind: MANIFEST_TYPE.into(),
        spec_version: SPEC_VERSION,
        name: input.name.clone(),
        version: input.version.clone(),
        sequence: input.sequence,
        created: crate::trust::root::fmt_time(created),
        expires: crate::trust::root::fmt_time(input.expires),
        min_host_version: input.min_host_version.clone(),
        wit: crate::sandbox::WIT_PACKAGE.into(),
        files: entries
            .iter()
            .map(|(path, data)| FileEntry {
                path: path.clone(),
                sha256: sha256_hex(data),
                size: data.len() as u64,
            })
            .collect(),
    };
    entries.insert(MANIFEST_PATH.into(), manifest.to_bytes()?);
    let bytes = archive::pack(&entries, input.created_epoch).map_err(BundleError::Refused)?;
    Ok((bytes, manifest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(semver_ok("1.2.3"));
        assert!(semver_ok("1.2.3-rc.1"));
        assert!(!semver_ok("1.2"));
        assert!(!semver_ok("a.b.c"));
        use std::cmp::Ordering::*;
        assert_eq!(version_cmp("0.10.0", "0.9.9"), Greater);
        assert_eq!(version_cmp("0.1.0", "0.1.0"), Equal);
        assert_eq!(version_cmp("0.1.0", "1.0.0"), Less);
    }
}

//! The data file `.scsd`: datasets packed and signed like a bundle.
//!
//! Owns: the data manifest (`manifest.json`: `type` `scs-cert-data`, `spec_version`, `name`,
//! `sequence`, `generated_at`, `expires`, and per dataset its name, path, sha256, size and
//! source URLs), its exact bytes (pretty JSON and a newline; signatures cover them), the
//! archive layout (`manifest.json`, `datasets/<name>.json`, `signatures/<id>.sig`, packed by
//! [`crate::bundle::archive`], every mtime `generated_at`), building one from datasets,
//! taking one apart ([`open`]: archive rules, manifest, listed files, dataset formats; no
//! trust decision) and adding an SSHSIG signature in the namespace [`DATA_NAMESPACE`].
//!
//! Must never: re-serialise a manifest it did not write, list a signature file, or accept a
//! file under any path but `datasets/<name>.json` besides the manifest and signatures.

use crate::bundle::archive;
use crate::bundle::manifest::{FileEntry, SIGNATURES_DIR, sha256_hex, signature_path};
use crate::bundle::refusal::{Reason, Refusal};
use crate::bundle::verify::{check_listed, split, verify_signatures_in};
use crate::trust::root::{fmt_time, parse_rfc3339_utc};
use crate::trust::sshsig;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// SSHSIG namespace of data file signatures (neither a bundle nor a root signature can pass
/// as one, nor the other way round).
pub const DATA_NAMESPACE: &str = "scs-cert-data";
/// `type` of a data manifest.
pub(crate) const MANIFEST_TYPE: &str = "scs-cert-data";
/// Data manifest format version.
pub(crate) const SPEC_VERSION: u32 = 1;
/// Name of a data file unless `--name` says otherwise (the rollback state is kept per name).
pub const DEFAULT_NAME: &str = "k8s-data";
/// Days from `generated_at` to `expires` unless `--expires-days` says otherwise.
pub const DEFAULT_EXPIRY_DAYS: u32 = 7;
/// Largest data file read (the real datasets together are well under 1 MiB).
pub const MAX_DATA_FILE_BYTES: u64 = 64 << 20;
/// Largest data manifest accepted.
pub(crate) const MAX_MANIFEST_BYTES: usize = 1 << 20;
/// Most datasets in one data file.
pub const MAX_DATASETS: usize = 64;

/// Errors making or reading a data file (refusals carry their [`Reason`] and exit code).
#[derive(Debug, thiserror::Error)]
pub enum DataFileError {
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// The inputs of `data build` or `data refresh` cannot make a data file.
    #[error("cannot build the data file: {0}")]
    Build(String),
    /// A data file broke a rule.
    #[error("data file refused: {0}")]
    Refused(Refusal),
}

impl DataFileError {
    /// The refusal, when a rule was broken.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            DataFileError::Refused(r) => Some(r),
            _ => None,
        }
    }
}

/// One dataset of the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetEntry {
    /// Dataset name, e.g. `k8s-eol`.
    pub name: String,
    /// Path inside the archive: `datasets/<name>.json`.
    pub path: String,
    /// sha256 of the dataset's bytes, hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Where it came from (URLs, or the files `data build` read).
    pub sources: Vec<String>,
}

/// `manifest.json` of a data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataManifest {
    /// Always `scs-cert-data`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Always 1.
    pub spec_version: u32,
    /// Data file name (the rollback state is kept per name).
    pub name: String,
    /// Monotonic sequence number (default: `generated_at` as Unix time).
    pub sequence: u64,
    /// When the sources were fetched (RFC 3339, UTC).
    pub generated_at: String,
    /// After this the file is refused (RFC 3339).
    pub expires: String,
    /// The datasets, sorted by name.
    pub datasets: Vec<DatasetEntry>,
}

impl DataManifest {
    /// The exact bytes written (and signed).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Parse manifest bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, Refusal> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(Refusal::new(Reason::Oversize, "manifest.json is too large"));
        }
        let m: DataManifest = serde_json::from_slice(bytes).map_err(|e| {
            Refusal::new(
                Reason::Malformed,
                format!("manifest.json is not a data manifest: {e}"),
            )
        })?;
        if m.kind != MANIFEST_TYPE || m.spec_version != SPEC_VERSION {
            return Err(Refusal::new(
                Reason::Malformed,
                format!(
                    "manifest.json: type {:?} spec_version {} (expected {MANIFEST_TYPE:?} {SPEC_VERSION}); is this a bundle?",
                    m.kind, m.spec_version
                ),
            ));
        }
        if m.datasets.len() > MAX_DATASETS {
            return Err(Refusal::new(
                Reason::Oversize,
                format!("more than {MAX_DATASETS} datasets"),
            ));
        }
        for d in &m.datasets {
            if !super::valid_name(&d.name) || d.path != dataset_path(&d.name) {
                return Err(Refusal::new(
                    Reason::Malformed,
                    format!(
                        "manifest.json: dataset {:?} at {:?}; names are lower-case letters, digits and `-`, paths datasets/<name>.json",
                        crate::errtext::bounded_text(&d.name, 64),
                        crate::errtext::bounded_text(&d.path, 128)
                    ),
                ));
            }
        }
        parse_rfc3339_utc(&m.generated_at).map_err(|e| {
            Refusal::new(
                Reason::Malformed,
                format!("manifest.json generated_at: {e}"),
            )
        })?;
        parse_rfc3339_utc(&m.expires)
            .map_err(|e| Refusal::new(Reason::Malformed, format!("manifest.json expires: {e}")))?;
        Ok(m)
    }

    /// `generated_at` as a time (checked by [`DataManifest::parse`]).
    pub fn generated(&self) -> DateTime<Utc> {
        parse_rfc3339_utc(&self.generated_at).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// `expires` as a time (checked by [`DataManifest::parse`]).
    pub fn expiry(&self) -> DateTime<Utc> {
        parse_rfc3339_utc(&self.expires).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

/// Where dataset `name` lives in the archive.
pub fn dataset_path(name: &str) -> String {
    format!("datasets/{name}.json")
}

/// One dataset to pack.
#[derive(Debug, Clone)]
pub struct DatasetInput {
    /// Its name.
    pub name: String,
    /// Its bytes (checked against its format when the name is known).
    pub content: Vec<u8>,
    /// Where it came from.
    pub sources: Vec<String>,
}

/// Inputs of a data file.
#[derive(Debug, Clone)]
pub struct BuildInput {
    /// Data file name [default [`DEFAULT_NAME`]].
    pub name: String,
    /// Sequence [default: `generated_at` as Unix time].
    pub sequence: u64,
    /// When the sources were fetched (also every tar mtime).
    pub generated_at: DateTime<Utc>,
    /// Expiry [default `generated_at` + [`DEFAULT_EXPIRY_DAYS`]].
    pub expires: DateTime<Utc>,
    /// The datasets.
    pub datasets: Vec<DatasetInput>,
}

/// Build an unsigned data file: the archive bytes and its manifest.
pub fn build(input: &BuildInput) -> Result<(Vec<u8>, DataManifest), DataFileError> {
    let name_ok = !input.name.is_empty()
        && input.name.len() <= 128
        && input
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !name_ok {
        return Err(DataFileError::Build(format!(
            "--name {:?}: use letters, digits, `-`, `_`, `.`",
            input.name
        )));
    }
    if input.expires <= input.generated_at {
        return Err(DataFileError::Build(
            "the expiry must lie after generated_at".into(),
        ));
    }
    if input.datasets.is_empty() || input.datasets.len() > MAX_DATASETS {
        return Err(DataFileError::Build(format!(
            "a data file holds 1 to {MAX_DATASETS} datasets"
        )));
    }
    let mut entries: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut datasets = Vec::new();
    for d in &input.datasets {
        if !super::valid_name(&d.name) {
            return Err(DataFileError::Build(format!(
                "dataset name {:?}: lower-case letters, digits and `-`",
                d.name
            )));
        }
        super::format::validate(&d.name, &d.content)
            .map_err(|e| DataFileError::Build(e.to_string()))?;
        let path = dataset_path(&d.name);
        if entries.insert(path.clone(), d.content.clone()).is_some() {
            return Err(DataFileError::Build(format!(
                "dataset {} given twice",
                d.name
            )));
        }
        datasets.push(DatasetEntry {
            name: d.name.clone(),
            path,
            sha256: sha256_hex(&d.content),
            size: d.content.len() as u64,
            sources: d.sources.clone(),
        });
    }
    datasets.sort_by(|a, b| a.name.cmp(&b.name));
    let manifest = DataManifest {
        kind: MANIFEST_TYPE.into(),
        spec_version: SPEC_VERSION,
        name: input.name.clone(),
        sequence: input.sequence,
        generated_at: fmt_time(input.generated_at),
        expires: fmt_time(input.expires),
        datasets,
    };
    entries.insert("manifest.json".into(), manifest.to_bytes());
    let mtime = input.generated_at.timestamp().max(0) as u64;
    let bytes = archive::pack(&entries, mtime).map_err(DataFileError::Refused)?;
    Ok((bytes, manifest))
}

/// A data file taken apart, its files checked against the manifest and the datasets against
/// their formats, but not trusted (signatures unchecked).
#[derive(Debug, Clone)]
pub struct OpenedData {
    /// The manifest.
    pub manifest: DataManifest,
    /// Its exact bytes.
    pub manifest_bytes: Vec<u8>,
    /// sha256 of those bytes (the signed object).
    pub manifest_sha256: String,
    /// sha256 of the whole file.
    pub archive_sha256: String,
    /// Signature entries: path → armored text.
    pub signatures: BTreeMap<String, String>,
    /// Dataset name → bytes.
    pub datasets: BTreeMap<String, Vec<u8>>,
}

impl OpenedData {
    /// Verify every signature over the exact manifest bytes; the signer keys.
    pub fn signers(&self) -> Result<Vec<ssh_key::PublicKey>, Refusal> {
        if self.signatures.is_empty() {
            return Err(Refusal::new(
                Reason::Unsigned,
                "the data file carries no signature (sign it with `scs-cert data sign` or --sign-key)",
            ));
        }
        verify_signatures_in(&self.manifest_bytes, &self.signatures, DATA_NAMESPACE)
    }
}

/// Take a data file apart. With `signatures_first`, every signature is verified over the exact
/// manifest bytes before the manifest is parsed (verify-then-use).
pub fn open(bytes: &[u8], signatures_first: bool) -> Result<OpenedData, Refusal> {
    if bytes.len() as u64 > MAX_DATA_FILE_BYTES {
        return Err(Refusal::new(
            Reason::Oversize,
            format!(
                "{} bytes; a data file has at most {MAX_DATA_FILE_BYTES}",
                bytes.len()
            ),
        ));
    }
    let parts = split(bytes)?;
    if signatures_first {
        if parts.signatures.is_empty() {
            return Err(Refusal::new(
                Reason::Unsigned,
                "the data file carries no signature (sign it with `scs-cert data sign` or --sign-key)",
            ));
        }
        verify_signatures_in(&parts.manifest_bytes, &parts.signatures, DATA_NAMESPACE)?;
    }
    let manifest = DataManifest::parse(&parts.manifest_bytes)?;
    let listed: Vec<FileEntry> = manifest
        .datasets
        .iter()
        .map(|d| FileEntry {
            path: d.path.clone(),
            sha256: d.sha256.clone(),
            size: d.size,
        })
        .collect();
    check_listed(&parts.files, &listed)?;
    let mut datasets = BTreeMap::new();
    let mut files = parts.files;
    for d in &manifest.datasets {
        let content = files.remove(&d.path).unwrap_or_default();
        super::format::validate(&d.name, &content)
            .map_err(|e| Refusal::new(Reason::Malformed, e.to_string()))?;
        datasets.insert(d.name.clone(), content);
    }
    Ok(OpenedData {
        manifest_sha256: sha256_hex(&parts.manifest_bytes),
        manifest,
        manifest_bytes: parts.manifest_bytes,
        archive_sha256: parts.archive_sha256,
        signatures: parts.signatures,
        datasets,
    })
}

/// Add a signature to a data file: made with `key`, or an armored one made elsewhere
/// (`ssh-keygen -Y sign -n scs-cert-data manifest.json`). Returns the new bytes and the
/// signer's key id.
pub fn add_signature(
    bytes: &[u8],
    key: Option<&ssh_key::PrivateKey>,
    armored: Option<&str>,
) -> Result<(Vec<u8>, String), Refusal> {
    let opened = open(bytes, false)?;
    let sig = match (key, armored) {
        (Some(k), _) => sshsig::sign(k, DATA_NAMESPACE, &opened.manifest_bytes)
            .map_err(|e| Refusal::new(Reason::BadSignature, e.to_string()))?,
        (None, Some(a)) => format!("{}\n", a.trim()),
        (None, None) => {
            return Err(Refusal::new(
                Reason::Unsigned,
                "give a key or a signature to add",
            ));
        }
    };
    let signer = sshsig::verify(&sig, &opened.manifest_bytes, DATA_NAMESPACE)
        .map_err(|e| Refusal::new(Reason::BadSignature, format!("the new signature: {e}")))?;
    let mut entries: BTreeMap<String, Vec<u8>> = opened
        .manifest
        .datasets
        .iter()
        .filter_map(|d| {
            opened
                .datasets
                .get(&d.name)
                .map(|c| (d.path.clone(), c.clone()))
        })
        .collect();
    entries.insert("manifest.json".into(), opened.manifest_bytes.clone());
    for (p, s) in &opened.signatures {
        entries.insert(p.clone(), s.clone().into_bytes());
    }
    entries.insert(signature_path(&signer), sig.into_bytes());
    debug_assert!(entries.keys().any(|k| k.starts_with(SIGNATURES_DIR)));
    let mtime = opened.manifest.generated().timestamp().max(0) as u64;
    Ok((archive::pack(&entries, mtime)?, sshsig::key_id(&signer)))
}

/// Every file of a data file (manifest, datasets, signatures) by path, for `data extract`.
pub fn entries(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, Refusal> {
    let opened = open(bytes, false)?;
    let mut out: BTreeMap<String, Vec<u8>> = opened
        .datasets
        .iter()
        .map(|(n, c)| (dataset_path(n), c.clone()))
        .collect();
    out.insert("manifest.json".into(), opened.manifest_bytes);
    for (p, s) in opened.signatures {
        out.insert(p, s.into_bytes());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> BuildInput {
        let t = parse_rfc3339_utc("2026-11-29T06:00:00Z").expect("t");
        BuildInput {
            name: DEFAULT_NAME.into(),
            sequence: 7,
            generated_at: t,
            expires: t + chrono::Duration::days(7),
            datasets: vec![DatasetInput {
                name: "k8s-eol".into(),
                content:
                    br#"{"source":"u","branches":[{"branch":"1.31","end-of-life":"2025-10-28"}]}"#
                        .to_vec(),
                sources: vec!["u".into()],
            }],
        }
    }

    #[test]
    fn build_sign_open() {
        let (a, m) = build(&input()).expect("build");
        assert_eq!(build(&input()).expect("again").0, a, "deterministic");
        assert_eq!(m.datasets[0].path, "datasets/k8s-eol.json");
        let o = open(&a, false).expect("open");
        assert_eq!(o.datasets.len(), 1);
        assert_eq!(
            open(&a, true).expect_err("unsigned").reason,
            Reason::Unsigned
        );
        let key = crate::trust::keys::generate_ed25519("data");
        let (signed, id) = add_signature(&a, Some(&key), None).expect("sign");
        assert_eq!(id, sshsig::key_id(key.public_key()));
        let o = open(&signed, true).expect("signed");
        assert_eq!(o.signers().expect("signers").len(), 1);
        // a bundle signature over the same bytes does not count
        let bsig = sshsig::sign(&key, "scs-cert-bundle", &o.manifest_bytes).expect("bsig");
        assert_eq!(
            add_signature(&a, None, Some(&bsig)).expect_err("ns").reason,
            Reason::BadSignature
        );
        let mut bad = input();
        bad.datasets[0].content = b"{}".to_vec();
        assert!(build(&bad).is_err());
    }
}

//! Verify-then-use for data files: from `.scsd` bytes to datasets a run may hand out.
//!
//! Owns: the order of the data rules (archive safety; signatures over the exact manifest
//! bytes before it is parsed; every dataset listed, present and matching; the dataset
//! formats; the installed trust root and its expiry; the signers' authority, a threshold of
//! the root's `data` role, or of its `bundle` role when the root has none; the file's expiry;
//! the rollback rule for data sequences, per data file name), each refusal with the bundle
//! [`Reason`] and exit code of that rule; the overrides `--allow-expired` and
//! `--allow-downgrade`, each recorded as a line; recording the accepted sequence.
//!
//! Must never: hand out a dataset whose bytes were not hashed and compared in this same pass,
//! read a data file twice, let a delegation sign data, or record a rollback state for a data
//! file that failed any rule.

use super::file::{self, DataFileError, DataManifest, MAX_DATA_FILE_BYTES};
use crate::bundle::VerifyOptions;
use crate::bundle::refusal::{Reason, Refusal};
use crate::trust::root::{RootFile, TrustRoot, fmt_time};
use crate::trust::state::State;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// One dataset of a verified data file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// Its name.
    pub name: String,
    /// sha256 of `content`, hex.
    pub sha256: String,
    /// The verified bytes.
    pub content: Arc<[u8]>,
    /// Where it came from.
    pub sources: Vec<String>,
}

/// A data file that passed every rule.
#[derive(Debug, Clone)]
pub struct VerifiedData {
    /// Where it was read from.
    pub source: String,
    /// The manifest.
    pub manifest: DataManifest,
    /// sha256 of the exact manifest bytes (the signed object).
    pub manifest_sha256: String,
    /// sha256 of the whole file.
    pub archive_sha256: String,
    /// Key ids whose signatures counted.
    pub signers: Vec<String>,
    /// `data` (the data role) or `bundle` (a root without a data role).
    pub authorized_by: String,
    /// Root version that authorized it.
    pub root_version: u64,
    /// Dataset name → dataset.
    pub datasets: BTreeMap<String, Arc<Dataset>>,
    /// The verified file's bytes (a transcript embeds them for replay).
    pub bytes: Arc<[u8]>,
    /// Overrides used, one line each.
    pub overrides: Vec<String>,
}

fn datasets_of(opened: &file::OpenedData) -> BTreeMap<String, Arc<Dataset>> {
    opened
        .manifest
        .datasets
        .iter()
        .filter_map(|d| {
            opened.datasets.get(&d.name).map(|c| {
                (
                    d.name.clone(),
                    Arc::new(Dataset {
                        name: d.name.clone(),
                        sha256: d.sha256.clone(),
                        content: Arc::from(c.as_slice()),
                        sources: d.sources.clone(),
                    }),
                )
            })
        })
        .collect()
}

/// Verify data file bytes against the installed `root`. `source` names the file in the
/// report.
pub fn verify_bytes(
    bytes: &[u8],
    source: &str,
    root: &RootFile,
    opts: &VerifyOptions,
) -> Result<VerifiedData, Refusal> {
    let mut overrides = Vec::new();
    // 1-5: archive, signatures before parsing, manifest, listed files, formats.
    let opened = file::open(bytes, true)?;
    let signer_keys = opened.signers()?;
    // 6. the installed root.
    let trust = TrustRoot::from_installed(root.clone())
        .and_then(|t| t.finish(opts.now, opts.allow_expired))
        .map_err(Refusal::from)?;
    if trust.expired {
        overrides.push(format!(
            "allow-expired: trust root version {} expired at {}",
            trust.version(),
            trust.file.signed.expires
        ));
    }
    // 7. who signed, and may they sign data?
    let auth = trust
        .authorize_data(&signer_keys, opts.now)
        .map_err(Refusal::from)?;
    // 8. expiry.
    let m = &opened.manifest;
    if opts.now > m.expiry() {
        if !opts.allow_expired {
            return Err(Refusal::new(
                Reason::Expired,
                format!(
                    "data file {} sequence {} (generated {}) expired at {}; run `scs-cert data refresh` on a connected machine (or --allow-expired)",
                    m.name, m.sequence, m.generated_at, m.expires
                ),
            ));
        }
        overrides.push(format!(
            "allow-expired: data file {} sequence {} expired at {} (checked at {})",
            m.name,
            m.sequence,
            m.expires,
            fmt_time(opts.now)
        ));
    }
    // 9. rollback of the data sequence.
    if let Some(dir) = &opts.state_dir {
        let state = State::load(dir).map_err(Refusal::from)?;
        let mut downgraded = false;
        if let Err(e) = state.check_data(&m.name, m.sequence, &opened.manifest_sha256) {
            if !opts.allow_downgrade {
                return Err(Refusal::from(e));
            }
            downgraded = true;
            overrides.push(format!("allow-downgrade: {e}"));
        }
        if opts.update_state && !downgraded {
            State::record_data(
                dir,
                &m.name,
                m.sequence,
                &opened.manifest_sha256,
                &m.generated_at,
            )
            .map_err(Refusal::from)?;
        }
    }
    Ok(VerifiedData {
        source: source.to_string(),
        datasets: datasets_of(&opened),
        manifest: opened.manifest.clone(),
        manifest_sha256: opened.manifest_sha256.clone(),
        archive_sha256: opened.archive_sha256.clone(),
        signers: auth.signers,
        authorized_by: auth.authorized_by,
        root_version: trust.version(),
        bytes: Arc::from(bytes),
        overrides,
    })
}

/// A data file taken apart without trusting it (replay of a transcript that embeds it; the
/// report's digest, checked by `report reproduce`, says which file it must be).
pub fn open_untrusted(bytes: &[u8], source: &str) -> Result<VerifiedData, Refusal> {
    let opened = file::open(bytes, false)?;
    Ok(VerifiedData {
        source: source.to_string(),
        datasets: datasets_of(&opened),
        manifest: opened.manifest.clone(),
        manifest_sha256: opened.manifest_sha256.clone(),
        archive_sha256: opened.archive_sha256.clone(),
        signers: Vec::new(),
        authorized_by: "unverified".into(),
        root_version: 0,
        bytes: Arc::from(bytes),
        overrides: Vec::new(),
    })
}

/// Read a data file (size-capped) into memory, once.
pub fn read_data_file(path: &Path) -> Result<Vec<u8>, DataFileError> {
    use crate::fsutil::ReadError;
    crate::fsutil::read_bounded(path, MAX_DATA_FILE_BYTES).map_err(|e| match e {
        ReadError::TooLarge { len, limit, .. } => DataFileError::Refused(Refusal::new(
            Reason::Oversize,
            format!("{}: {len} bytes; the limit is {limit}", path.display()),
        )),
        other => DataFileError::Io {
            path: path.display().to_string(),
            message: match other {
                ReadError::Io { source, .. } => source.to_string(),
                _ => "not a regular file".to_string(),
            },
        },
    })
}

/// Read and verify a data file against the root file `root_path`.
pub fn verify_file(
    path: &Path,
    root_path: &Path,
    opts: &VerifyOptions,
) -> Result<VerifiedData, DataFileError> {
    let root = RootFile::load(root_path).map_err(|e| DataFileError::Refused(Refusal::from(e)))?;
    let bytes = read_data_file(path)?;
    verify_bytes(&bytes, &path.display().to_string(), &root, opts).map_err(DataFileError::Refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::file::{BuildInput, DatasetInput, add_signature, build};
    use crate::trust::keys::generate_ed25519;
    use crate::trust::root::{Role, RootFile, new_body, parse_rfc3339_utc};

    fn root(data_role: Option<&ssh_key::PrivateKey>, owner: &ssh_key::PrivateKey) -> RootFile {
        let t = parse_rfc3339_utc("2035-01-01").expect("t");
        let pk = owner.public_key().clone();
        let mut body = new_body(
            1,
            t,
            std::slice::from_ref(&pk),
            1,
            std::slice::from_ref(&pk),
            1,
        );
        let plain = serde_json::to_string(&body).expect("json");
        assert!(
            !plain.contains("\"data\""),
            "old roots keep their canonical bytes"
        );
        if let Some(k) = data_role {
            let id = crate::trust::root::add_key(&mut body, k.public_key());
            body.roles.data = Some(Role {
                keys: vec![id],
                threshold: 1,
            });
        }
        let mut f = RootFile {
            signed: body,
            signatures: vec![],
        };
        f.sign(owner).expect("sign");
        f
    }

    fn file(signer: &ssh_key::PrivateKey) -> Vec<u8> {
        let t = parse_rfc3339_utc("2030-01-01T00:00:00Z").expect("t");
        let (bytes, _) = build(&BuildInput {
            name: "k8s-data".into(),
            sequence: 1,
            generated_at: t,
            expires: t + chrono::Duration::days(7),
            datasets: vec![DatasetInput {
                name: "k8s-eol".into(),
                content: br#"{"source":"u","branches":[]}"#.to_vec(),
                sources: vec![],
            }],
        })
        .expect("build");
        add_signature(&bytes, Some(signer), None).expect("sign").0
    }

    #[test]
    fn the_data_role_or_else_the_bundle_role_signs_data() {
        let owner = generate_ed25519("owner");
        let data_key = generate_ed25519("data");
        let opts = VerifyOptions {
            now: parse_rfc3339_utc("2030-01-02").expect("now"),
            allow_expired: false,
            allow_downgrade: false,
            state_dir: None,
            update_state: false,
        };
        // a root without a data role: the bundle role signs data files
        let old = root(None, &owner);
        let v = verify_bytes(&file(&owner), "f", &old, &opts).expect("bundle role");
        assert_eq!(v.authorized_by, "bundle");
        let e = verify_bytes(&file(&data_key), "f", &old, &opts).expect_err("unknown");
        assert_eq!(e.reason, Reason::UnknownKey);
        // with a data role: only its keys
        let new = root(Some(&data_key), &owner);
        let v = verify_bytes(&file(&data_key), "f", &new, &opts).expect("data role");
        assert_eq!(v.authorized_by, "data");
        let e = verify_bytes(&file(&owner), "f", &new, &opts).expect_err("bundle key");
        assert_eq!(e.reason, Reason::Threshold);
        // expired a week after generation
        let late = VerifyOptions {
            now: parse_rfc3339_utc("2030-01-09").expect("now"),
            ..opts.clone()
        };
        let e = verify_bytes(&file(&data_key), "f", &new, &late).expect_err("expired");
        assert_eq!(e.reason, Reason::Expired);
        assert!(e.message.contains("scs-cert data refresh"), "{}", e.message);
    }
}

//! Check components and their metadata, as the host loads them.
//!
//! Owns: reading a checks directory (`<dir>/<check-id>/component.wasm` plus
//! `<dir>/<check-id>/check.json`, the unsigned development path), validating
//! each `check.json` (id, testcase ids, capabilities, limits), hashing each
//! component (sha256 over the exact bytes that will be compiled), mapping
//! testcase ids to checks, and the signed archive format `.scsb`:
//! [`archive`] (deterministic tar + zstd, safe reading), [`manifest`]
//! (`manifest.json`, building a bundle), [`refusal`] (why a bundle is refused:
//! the reasons and their exit codes) and [`verify`] (verify-then-use, adding
//! signatures).
//!
//! Must never: compile or run a component (that is `sandbox`), read a
//! component's bytes twice (hash and compile the same buffer), or decide
//! which keys are trusted (that is `trust`).

pub mod archive;
pub mod manifest;
pub mod refusal;
pub mod verify;

pub use refusal::{Reason, Refusal};
pub use verify::{VerifiedBundle, VerifyOptions};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest component accepted (default 32 MiB; real checks are ~100 KiB).
pub(crate) const MAX_COMPONENT_BYTES: u64 = 32 << 20;
/// Largest check.json accepted.
pub(crate) const MAX_CHECK_JSON_BYTES: u64 = 1 << 20;

/// Errors loading checks. Each names the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// Directory missing or unreadable.
    #[error(
        "{path}: cannot read the checks directory: {message}; build the checks with `cargo xtask build` or pass --checks DIR"
    )]
    Dir {
        /// The directory.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A file could not be read.
    #[error("{path}: cannot read: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// check.json is malformed.
    #[error("{path}: {message}")]
    Meta {
        /// The file.
        path: PathBuf,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Two checks claim one testcase.
    #[error(
        "testcase {testcase} is claimed by two checks, {first} and {second}; remove it from one check.json"
    )]
    Conflict {
        /// Testcase id.
        testcase: String,
        /// First check id.
        first: String,
        /// Second check id.
        second: String,
    },
    /// One check id in two bundles of one run (their recordings would mix).
    #[error("check {id} is in bundle {first} and in bundle {second}; run one of the two bundles")]
    CheckInTwoBundles {
        /// The check id.
        id: String,
        /// `NAME (FILE)` of the first bundle.
        first: String,
        /// The other, alike.
        second: String,
    },
    /// A testcase claimed by checks of two bundles of one run.
    #[error(
        "testcase {testcase} is claimed by {first} and by {second}; run one of the two bundles, or have one check drop it"
    )]
    ClaimedTwice {
        /// Testcase id.
        testcase: String,
        /// `check X of bundle NAME (FILE)`.
        first: String,
        /// The other claimant, alike.
        second: String,
    },
    /// No checks at all.
    #[error("{0}: contains no checks (expected <id>/component.wasm and <id>/check.json)")]
    Empty(PathBuf),
    /// A bundle broke a rule (see [`Reason`] for the exit codes).
    #[error("bundle refused: {0}")]
    Refused(Refusal),
    /// `bundle build` inputs are unusable.
    #[error("cannot build the bundle: {0}")]
    Build(String),
}

impl BundleError {
    /// The refusal reason, when a bundle rule was broken.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            BundleError::Refused(r) => Some(r),
            _ => None,
        }
    }
}

/// Per-check limits a check.json may ask for (the host caps them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct CheckLimits {
    /// Wall-clock deadline for the whole check in seconds.
    pub timeout_secs: Option<u64>,
    /// Linear memory limit in MiB.
    pub memory_mib: Option<u64>,
    /// Per-request timeout towards the cloud for this check, in seconds (default: the run's
    /// `--request-timeout`, 32 s; at most [`MAX_REQUEST_TIMEOUT_SECS`]); for a check that
    /// must wait as long as the official client does (the S3 probe: boto3's 60 s connect and
    /// 60 s read timeouts).
    pub request_timeout_secs: Option<u64>,
}

/// Largest per-request timeout a check.json may ask for.
pub const MAX_REQUEST_TIMEOUT_SECS: u64 = 600;

/// A check's `check.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckMeta {
    /// Check id (= directory name).
    pub id: String,
    /// Standard, e.g. `scs-0100`.
    pub standard: String,
    /// Version of the check (semver).
    pub version: String,
    /// One line.
    #[serde(default)]
    pub description: String,
    /// Testcase ids implemented.
    pub testcases: Vec<String>,
    /// Capabilities, e.g. `openstack:compute:read`.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Limits.
    #[serde(default)]
    pub limits: CheckLimits,
    /// What a write check creates at most at once, by quota name (see
    /// [`crate::quota::QUOTA_NAMES`]), e.g. `{"volume.volumes": 1}`; `{}` for a write check
    /// that uses none of these quotas. The host runs write checks concurrently only when the
    /// project's free quota holds all of them (default: not declared, which makes a write check
    /// run alone).
    #[serde(default)]
    pub quota: Option<std::collections::BTreeMap<String, u64>>,
    /// Shared reads the check will make, which the host issues as soon as the run is
    /// authenticated, while the components are still being compiled and started (at most
    /// [`MAX_PREFETCH`]; each must be a `read` the check's capabilities grant) [default: none].
    /// The check still makes each request itself, as a shared read with exactly these fields;
    /// the answer is then already in the run cache.
    #[serde(default)]
    pub prefetch: Vec<Prefetch>,
}

/// Reads one check may declare in `prefetch`.
pub const MAX_PREFETCH: usize = 8;

/// One `prefetch` entry of a check.json: a GET relative to the service's endpoint, as the
/// check sends it (query pairs and headers in the same order).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prefetch {
    /// Catalog service type, e.g. `compute`.
    pub service: String,
    /// Path below the endpoint, e.g. `flavors/detail`.
    pub path: String,
    /// Query pairs, e.g. `[["member_status", "all"]]` [default: none].
    #[serde(default)]
    pub query: Vec<(String, String)>,
    /// Request headers, e.g. `[["openstack-api-version", "compute 2.61"]]` [default: none].
    #[serde(default)]
    pub headers: Vec<(String, String)>,
}

impl Prefetch {
    /// The request the check makes (a shared GET at its endpoint).
    pub fn request(&self) -> crate::mediate::ApiRequest {
        crate::mediate::ApiRequest {
            service_type: self.service.clone(),
            method: crate::mediate::Method::Get,
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            body: None,
            anchor: crate::mediate::Anchor::Endpoint,
            shared: true,
        }
    }
}

impl CheckMeta {
    /// The capabilities the mediation grants: all but the `data:<name>:read` ones.
    pub fn mediated_capabilities(&self) -> Vec<String> {
        crate::data::split_capabilities(&self.capabilities)
            .map(|(mediated, _)| mediated)
            .unwrap_or_default()
    }

    /// Whether it declares a capability starting with `prefix` (`openstack:`, `kubernetes:`,
    /// `tool:`).
    pub fn declares(&self, prefix: &str) -> bool {
        self.capabilities.iter().any(|c| c.starts_with(prefix))
    }

    /// The datasets its `data:<name>:read` capabilities let it read.
    pub fn datasets(&self) -> std::collections::BTreeSet<String> {
        crate::data::split_capabilities(&self.capabilities)
            .map(|(_, datasets)| datasets)
            .unwrap_or_default()
    }
}

/// A check ready to compile: metadata, bytes and digest.
#[derive(Debug, Clone)]
pub struct LoadedCheck {
    /// Metadata.
    pub meta: CheckMeta,
    /// Component bytes.
    pub wasm: std::sync::Arc<Vec<u8>>,
    /// sha256 of `wasm`, hex.
    pub sha256: String,
    /// Where it came from.
    pub dir: PathBuf,
}

fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, BundleError> {
    let meta = std::fs::metadata(path).map_err(|e| BundleError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if meta.len() > cap {
        return Err(BundleError::Meta {
            path: path.to_path_buf(),
            message: format!("is {} bytes; the limit is {cap}", meta.len()),
        });
    }
    std::fs::read(path).map_err(|e| BundleError::Read {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Validate a parsed check.json.
pub(crate) fn validate_meta(
    meta: &CheckMeta,
    path: &Path,
    dir_name: &str,
) -> Result<(), BundleError> {
    let err = |message: String| BundleError::Meta {
        path: path.to_path_buf(),
        message,
    };
    let id_ok = |s: &str| {
        !s.is_empty()
            && s.chars().all(|c| {
                c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_' || c == '.'
            })
    };
    if !id_ok(&meta.id) {
        return Err(err(format!(
            "id {:?}: use lower-case letters, digits, `-`, `_`, `.`",
            meta.id
        )));
    }
    if meta.id != dir_name {
        return Err(err(format!(
            "id {:?} differs from its directory name {dir_name:?}; rename one",
            meta.id
        )));
    }
    if meta.testcases.is_empty() {
        return Err(err(
            "testcases: empty; list the testcase ids this check implements".into(),
        ));
    }
    for (i, t) in meta.testcases.iter().enumerate() {
        if !id_ok(t) {
            return Err(err(format!(
                "testcases[{i}] {t:?} is not a valid testcase id"
            )));
        }
    }
    let (mediated, _datasets) = crate::data::split_capabilities(&meta.capabilities)
        .map_err(|e| err(format!("capabilities: {e}")))?;
    let grants = crate::mediate::Grants::from_capabilities(&mediated)
        .map_err(|e| err(format!("capabilities: {e}")))?;
    if meta.prefetch.len() > MAX_PREFETCH {
        return Err(err(format!(
            "prefetch: {} entries; at most {MAX_PREFETCH}",
            meta.prefetch.len()
        )));
    }
    for (i, p) in meta.prefetch.iter().enumerate() {
        let req = p.request();
        crate::mediate::request::check_prefetch(&req)
            .and_then(|()| {
                grants
                    .check(&p.service, crate::mediate::Method::Get)
                    .map_err(|e| e.to_string())
            })
            .map_err(|why| err(format!("prefetch[{i}]: {why}")))?;
    }
    if let Some(name) = meta
        .quota
        .iter()
        .flat_map(|q| q.keys())
        .find(|k| !crate::quota::known(k))
    {
        return Err(err(format!(
            "quota: {name:?} is not a quota the host reads; use one of {}",
            crate::quota::QUOTA_NAMES.join(", ")
        )));
    }
    if meta
        .limits
        .request_timeout_secs
        .is_some_and(|t| t == 0 || t > MAX_REQUEST_TIMEOUT_SECS)
    {
        return Err(err(format!(
            "limits.request_timeout_secs: must be between 1 and {MAX_REQUEST_TIMEOUT_SECS}"
        )));
    }
    if meta.limits.timeout_secs == Some(0) || meta.limits.memory_mib == Some(0) {
        return Err(err("limits: values must be > 0".into()));
    }
    Ok(())
}

/// Load every check under `dir`, sorted by id.
pub(crate) fn load_dir(dir: &Path) -> Result<Vec<LoadedCheck>, BundleError> {
    let entries = std::fs::read_dir(dir).map_err(|e| BundleError::Dir {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut subdirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    subdirs.sort();
    let mut out = Vec::new();
    for sub in subdirs {
        let json_path = sub.join("check.json");
        let wasm_path = sub.join("component.wasm");
        if !json_path.is_file() {
            continue;
        }
        let text = read_capped(&json_path, MAX_CHECK_JSON_BYTES)?;
        let meta: CheckMeta = serde_json::from_slice(&text).map_err(|e| BundleError::Meta {
            path: json_path.clone(),
            message: format!("not a valid check.json: {e}"),
        })?;
        let dir_name = sub
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        validate_meta(&meta, &json_path, &dir_name)?;
        let wasm = read_capped(&wasm_path, MAX_COMPONENT_BYTES)?;
        let sha256 = hex::encode(Sha256::digest(&wasm));
        out.push(LoadedCheck {
            meta,
            wasm: std::sync::Arc::new(wasm),
            sha256,
            dir: sub,
        });
    }
    if out.is_empty() {
        return Err(BundleError::Empty(dir.to_path_buf()));
    }
    Ok(out)
}

/// Testcase id → index into `checks`; two claims of one id are an error.
pub(crate) fn testcase_index(
    checks: &[LoadedCheck],
) -> Result<BTreeMap<String, usize>, BundleError> {
    let mut map: BTreeMap<String, usize> = BTreeMap::new();
    for (i, c) in checks.iter().enumerate() {
        for t in &c.meta.testcases {
            if let Some(&j) = map.get(t) {
                return Err(BundleError::Conflict {
                    testcase: t.clone(),
                    first: checks[j].meta.id.clone(),
                    second: c.meta.id.clone(),
                });
            }
            map.insert(t.clone(), i);
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: &str) -> CheckMeta {
        CheckMeta {
            id: id.into(),
            standard: "scs-0100".into(),
            version: "0.1.0".into(),
            description: String::new(),
            testcases: vec!["scs-0100-syntax-check".into()],
            capabilities: vec!["openstack:compute:read".into()],
            limits: CheckLimits::default(),
            quota: Default::default(),
            prefetch: Vec::new(),
        }
    }

    /// Issue 16: a `prefetch` entry is a read the check's capabilities grant, on a plain
    /// path, without host-only headers, and there are at most [`MAX_PREFETCH`].
    #[test]
    fn prefetch_entries_are_validated() {
        let p = Path::new("x/check.json");
        let entry = |service: &str, path: &str, headers: &[(&str, &str)]| Prefetch {
            service: service.into(),
            path: path.into(),
            query: vec![],
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let mut m = meta("a");
        m.prefetch = vec![entry(
            "compute",
            "flavors/detail",
            &[("openstack-api-version", "compute 2.61")],
        )];
        assert!(validate_meta(&m, p, "a").is_ok());
        let refused = |m: &CheckMeta| validate_meta(m, p, "a").expect_err("refused").to_string();
        m.prefetch = vec![entry("image", "v2/images", &[])];
        let e = refused(&m);
        assert!(
            e.starts_with("x/check.json: prefetch[0]:") && e.contains("image"),
            "{e}"
        );
        m.prefetch = vec![entry("compute", "../identity/v3/users", &[])];
        assert!(refused(&m).contains("plain relative path"));
        m.prefetch = vec![entry("compute", "flavors", &[("x-auth-token", "t")])];
        assert!(refused(&m).contains("x-auth-token"));
        m.prefetch = vec![entry("compute", "flavors", &[]); MAX_PREFETCH + 1];
        assert!(refused(&m).contains("at most"));
        // the entry is exactly the shared GET the check sends
        let r = entry("compute", "flavors/detail", &[]).request();
        assert!(r.shared && r.method == crate::mediate::Method::Get && r.body.is_none());
    }

    #[test]
    fn meta_validation() {
        let p = Path::new("x/check.json");
        assert!(validate_meta(&meta("a"), p, "a").is_ok());
        let e = validate_meta(&meta("a"), p, "b")
            .expect_err("refused")
            .to_string();
        assert!(e.contains("differs from its directory name"), "{e}");
        let mut m = meta("a");
        m.capabilities = vec!["net:any".into()];
        let e = validate_meta(&m, p, "a").expect_err("refused").to_string();
        assert!(e.starts_with("x/check.json: capabilities:"), "{e}");
        let mut m = meta("A");
        m.testcases.clear();
        assert!(validate_meta(&m, p, "A").is_err());
        // quota names and the per-request timeout (issue 11)
        let mut m = meta("a");
        m.quota = Some([("volume.volumes".to_string(), 2)].into());
        assert!(validate_meta(&m, p, "a").is_ok());
        m.quota = Some([("volume.disks".to_string(), 2)].into());
        let e = validate_meta(&m, p, "a").expect_err("refused").to_string();
        assert!(
            e.starts_with("x/check.json: quota: \"volume.disks\" is not a quota"),
            "{e}"
        );
        // data capabilities (issue 10): read-only, named datasets
        let mut m = meta("a");
        m.capabilities.push("data:k8s-eol:read".into());
        assert!(validate_meta(&m, p, "a").is_ok());
        assert_eq!(m.mediated_capabilities(), vec!["openstack:compute:read"]);
        m.capabilities.push("data:k8s-eol:write".into());
        let e = validate_meta(&m, p, "a").expect_err("refused").to_string();
        assert!(
            e.starts_with("x/check.json: capabilities: capability \"data:k8s-eol:write\""),
            "{e}"
        );
        for (t, ok) in [(0, false), (1, true), (600, true), (601, false)] {
            let mut m = meta("a");
            m.limits.request_timeout_secs = Some(t);
            assert_eq!(validate_meta(&m, p, "a").is_ok(), ok, "{t}");
        }
    }

    #[test]
    fn conflicts() {
        let c = |id: &str| LoadedCheck {
            meta: meta(id),
            wasm: Default::default(),
            sha256: String::new(),
            dir: PathBuf::new(),
        };
        let e = testcase_index(&[c("a"), c("b")])
            .expect_err("refused")
            .to_string();
        assert!(e.contains("claimed by two checks, a and b"), "{e}");
    }
}

//! The trust root `root.json`: who may sign bundles, and who may change that.
//!
//! Owns: the versioned root document (keys, the `root` and `bundle` roles with
//! thresholds, expiry, delegations), its canonical signed bytes (compact JSON
//! of the `signed` object, re-serialised from the parsed value, so key order
//! and whitespace in the file do not matter), its SSHSIG signatures
//! (namespace [`ROOT_NAMESPACE`], distinct from the bundle namespace so a
//! bundle signature can never pass as a root signature), root rotation
//! (version N+1 needs a threshold of N's root keys *and* of its own), and the
//! authorization decision for a bundle's signers.
//!
//! Must never: trust a root that its own root role did not sign, skip a
//! version when walking the rotation history, let a delegated key authorize a
//! check outside its id prefixes (its id, every testcase id it lists and its
//! standard) or beyond its capabilities, or read files (callers hand in
//! bytes).

use super::TrustError;
use super::allowed_signers::match_pattern;
use super::sshsig;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use ssh_key::{PrivateKey, PublicKey};
use std::collections::{BTreeMap, BTreeSet};

/// SSHSIG namespace of root signatures.
pub(crate) const ROOT_NAMESPACE: &str = "scs-cert-root";
/// `signed.type` of a root document.
pub(crate) const ROOT_TYPE: &str = "scs-cert-root";
/// Root document format version understood here.
pub(crate) const SPEC_VERSION: u32 = 1;
/// Largest root.json accepted.
pub(crate) const MAX_ROOT_BYTES: usize = 1 << 20;

/// Errors of the trust root and of authorizing signers.
#[derive(Debug, thiserror::Error)]
pub enum RootError {
    /// Not a root document.
    #[error("{source_name}: not a valid root.json: {message}")]
    Parse {
        /// File name.
        source_name: String,
        /// Why.
        message: String,
    },
    /// The document is well-formed JSON but breaks a rule.
    #[error("root version {version}: {message}")]
    Invalid {
        /// Root version.
        version: u64,
        /// What is wrong.
        message: String,
    },
    /// A signature on the root does not verify.
    #[error("root version {version}: signature {index} does not verify: {message}")]
    BadSignature {
        /// Root version.
        version: u64,
        /// 1-based index.
        index: usize,
        /// Why.
        message: String,
    },
    /// Too few root signatures.
    #[error(
        "root version {version}: {have} valid signature(s) from {which} root keys, {need} needed{hint}"
    )]
    Threshold {
        /// Root version being checked.
        version: u64,
        /// `its own` or `the previous (version N)`.
        which: String,
        /// Valid signatures.
        have: usize,
        /// Threshold.
        need: u32,
        /// Extra hint.
        hint: String,
    },
    /// Rotation history has a gap or goes back.
    #[error("root rotation: expected version {expected}, found {found}")]
    Sequence {
        /// Version expected next.
        expected: u64,
        /// Version found.
        found: u64,
    },
    /// The (final) root has expired.
    #[error(
        "trust root version {version} expired at {expires}; install a newer root (or --allow-expired)"
    )]
    Expired {
        /// Root version.
        version: u64,
        /// Expiry.
        expires: String,
    },
    /// No valid signatures at all.
    #[error("the bundle is not signed")]
    Unsigned,
    /// A signer not in the root.
    #[error("signed only by key(s) not in the trust root: {key_ids}")]
    UnknownKey {
        /// The unknown key ids.
        key_ids: String,
    },
    /// A signer whose key entry has expired.
    #[error("signed by expired key(s): {key_ids}")]
    KeyExpired {
        /// The expired keys with their expiry.
        key_ids: String,
    },
    /// Below the bundle threshold.
    #[error(
        "signed by {have} trusted bundle key(s); the bundle role needs {need} (root version {version})"
    )]
    BundleThreshold {
        /// Valid trusted signers.
        have: usize,
        /// Threshold.
        need: u32,
        /// Root version.
        version: u64,
    },
    /// Below the threshold of the role that signs data files.
    #[error(
        "signed by {have} trusted data key(s); the {role} role needs {need} to sign a data file (root version {version})"
    )]
    DataThreshold {
        /// Valid trusted signers.
        have: usize,
        /// `data`, or `bundle` when the root has no data role.
        role: &'static str,
        /// Threshold.
        need: u32,
        /// Root version.
        version: u64,
    },
    /// A delegated signer signed a check outside its prefixes.
    #[error(
        "check {check} is outside the id prefixes of delegation(s) {delegations} that signed this bundle"
    )]
    DelegationPrefix {
        /// Check id.
        check: String,
        /// Active delegation names.
        delegations: String,
    },
    /// A delegated signer signed a check (inside its id prefixes) that
    /// claims a testcase or a standard outside the prefixes of the delegation
    /// covering it (boxed: it is the largest variant).
    #[error("{0}")]
    DelegationClaim(Box<ClaimOutside>),
    /// A delegated signer signed a capability it may not grant.
    #[error(
        "check {check} asks for capability {capability}, which delegation {delegation} does not allow"
    )]
    DelegationCapability {
        /// Check id.
        check: String,
        /// The capability.
        capability: String,
        /// Delegation name.
        delegation: String,
    },
    /// A delegated-only bundle holds files outside checks/.
    #[error(
        "{path}: only the bundle role may sign files outside checks/ (this bundle is signed by delegation(s) {delegations})"
    )]
    DelegationScope {
        /// The file.
        path: String,
        /// Active delegation names.
        delegations: String,
    },
}

/// What a check claims besides its id, in a [`RootError::DelegationClaim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimKind {
    /// A testcase id listed in check.json.
    Testcase,
    /// The `standard` of check.json.
    Standard,
}

impl std::fmt::Display for ClaimKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ClaimKind::Testcase => "testcase",
            ClaimKind::Standard => "standard",
        })
    }
}

/// The detail of [`RootError::DelegationClaim`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "check {check} claims {kind} {claim}, which is outside the prefixes ({prefixes}) of delegation {delegation} that signed it"
)]
pub struct ClaimOutside {
    /// Check id.
    pub check: String,
    /// What is claimed: a testcase or the standard.
    pub kind: ClaimKind,
    /// The testcase id or standard.
    pub claim: String,
    /// Name of the delegation covering the check's id.
    pub delegation: String,
    /// That delegation's prefixes, comma-separated.
    pub prefixes: String,
}

/// What a check of a bundle claims, as far as signing authority goes: its
/// id, its standard, the testcase ids it answers and its capabilities (all
/// from its check.json).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckClaims {
    /// Check id.
    pub(crate) id: String,
    /// The standard it says it checks, e.g. `scs-0100`.
    pub(crate) standard: String,
    /// Testcase ids it answers.
    pub(crate) testcases: Vec<String>,
    /// Capabilities it declares.
    pub(crate) capabilities: Vec<String>,
}

/// A root.json or bundle manifest time that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rfc3339Error {
    /// Neither RFC 3339 nor `YYYY-MM-DD`.
    #[error("{text:?} is not an RFC 3339 time or YYYY-MM-DD")]
    Format {
        /// The time as written.
        text: String,
    },
}

/// A key of the root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEntry {
    /// `ssh-ed25519 AAAA... [comment]`.
    pub public: String,
    /// RFC 3339; after it, the key signs nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// A role: who, and how many of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// Key ids (`SHA256:...`).
    pub keys: Vec<String>,
    /// Distinct valid signatures needed.
    pub threshold: u32,
}

/// The two top-level roles.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roles {
    /// Signs new root versions.
    pub root: Role,
    /// Signs whole bundles.
    pub bundle: Role,
    /// Signs data files (`.scsd`, the offline datasets checks read; see docs/data.md). Optional,
    /// so roots written before data files existed stay valid (and keep their canonical bytes):
    /// without it, the `bundle` role signs data files too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Role>,
}

/// Lets contributor keys sign some checks only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delegation {
    /// Name (shown in refusals and the report).
    pub name: String,
    /// Key ids.
    pub keys: Vec<String>,
    /// Distinct valid signatures needed.
    pub threshold: u32,
    /// Id prefixes the delegation covers (`scs-0100-` covers
    /// `scs-0100-flavor-naming`): every check it signs must have an id, every
    /// testcase id it lists and its standard inside them (see
    /// [`covers_standard`]).
    pub prefixes: Vec<String>,
    /// Capability patterns a covered check may declare (`*` wildcards, e.g.
    /// `openstack:*:read` for read-only).
    pub capabilities: Vec<String>,
}

/// The signed part of root.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootBody {
    /// Always [`ROOT_TYPE`].
    #[serde(rename = "type")]
    pub kind: String,
    /// Always [`SPEC_VERSION`].
    pub spec_version: u32,
    /// Root version, 1, 2, ...
    pub version: u64,
    /// RFC 3339 expiry.
    pub expires: String,
    /// Key id → key.
    pub keys: BTreeMap<String, KeyEntry>,
    /// Roles.
    pub roles: Roles,
    /// Delegations.
    #[serde(default)]
    pub delegations: Vec<Delegation>,
}

/// root.json: the body and armored SSHSIG signatures over its canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RootFile {
    /// What is signed.
    pub signed: RootBody,
    /// Armored signatures (namespace [`ROOT_NAMESPACE`]).
    #[serde(default)]
    pub signatures: Vec<String>,
}

/// RFC 3339 with seconds and `Z`.
pub fn fmt_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parse RFC 3339, or a plain `YYYY-MM-DD` (midnight UTC): the format of
/// the expiry and creation times in root.json and bundle manifests.
pub fn parse_rfc3339_utc(s: &str) -> Result<DateTime<Utc>, Rfc3339Error> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc())
        .ok_or_else(|| Rfc3339Error::Format {
            text: s.to_string(),
        })
}

/// Whether one of the delegation's prefixes covers `id` (a check or testcase
/// id): `id` starts with it.
fn covers_id(d: &Delegation, id: &str) -> bool {
    d.prefixes.iter().any(|p| id.starts_with(p.as_str()))
}

/// Whether the delegation's prefixes cover the standard `standard`: by the id
/// rule, applied to the standard itself or to the ids of the standard
/// (`<standard>-`), so the prefix `scs-0100-` covers the standard `scs-0100`
/// but not `scs-0103` or `scs-01`.
fn covers_standard(d: &Delegation, standard: &str) -> bool {
    covers_id(d, standard) || covers_id(d, &format!("{standard}-"))
}

/// The first thing `check` claims that delegation `d` does not cover: its
/// standard, then its testcases in order.
fn uncovered_claim<'c>(d: &Delegation, check: &'c CheckClaims) -> Option<(ClaimKind, &'c str)> {
    if !covers_standard(d, &check.standard) {
        return Some((ClaimKind::Standard, check.standard.as_str()));
    }
    check
        .testcases
        .iter()
        .find(|t| !covers_id(d, t))
        .map(|t| (ClaimKind::Testcase, t.as_str()))
}

/// The capability pattern forms a delegation may list, for error messages.
const DELEGATION_PATTERN_FORMS: &str = "openstack:<service|*>:<read|write|*>, \
     kubernetes:<group/resource|nonresource/segment|*>:<read|write|*>, data:<dataset|*>:read \
     or tool:sonobuoy:run";

/// Whether `p` is a capability pattern a delegation may list: three
/// non-empty `:`-separated parts, `openstack:<service>:<access>`,
/// `kubernetes:<group/resource>:<access>` (`*` wildcards anywhere, as
/// [`capability_allowed`] matches), `data:<dataset>:read`, or exactly
/// `tool:sonobuoy:run`: a host-run tool writes into the cluster, so a
/// delegation must name it, no wildcard grants it.
pub(crate) fn delegation_pattern_valid(p: &str) -> bool {
    let parts: Vec<&str> = p.split(':').collect();
    if parts.len() != 3 || parts.iter().any(|x| x.is_empty()) {
        return false;
    }
    match parts[0] {
        "openstack" | "kubernetes" => matches!(parts[2], "read" | "write" | "*"),
        "data" => parts[2] == "read",
        // The one host-run tool (`sonobuoy::CAPABILITY`; trust sits below it).
        "tool" => p == "tool:sonobuoy:run",
        _ => false,
    }
}

/// Whether `cap` is allowed by one of the `patterns`.
pub(crate) fn capability_allowed(cap: &str, patterns: &[String]) -> bool {
    patterns.iter().any(|p| match_pattern(cap, p))
}

impl RootBody {
    /// The exact bytes root signatures cover.
    pub(crate) fn canonical_bytes(&self) -> Result<Vec<u8>, TrustError> {
        serde_json::to_vec(self).map_err(|e| {
            RootError::Invalid {
                version: self.version,
                message: format!("cannot serialise: {e}"),
            }
            .into()
        })
    }

    fn invalid(&self, message: impl Into<String>) -> TrustError {
        RootError::Invalid {
            version: self.version,
            message: message.into(),
        }
        .into()
    }

    /// Check the structure; returns the parsed keys and the expiry.
    ///
    /// Checked in this order (the first problem is the one reported): the
    /// format fields, the expiry, the keys, the two roles, the delegations.
    pub fn validate(&self) -> Result<ValidatedBody, TrustError> {
        self.check_format()?;
        let expires =
            parse_rfc3339_utc(&self.expires).map_err(|e| self.invalid(format!("expires: {e}")))?;
        let keys = self.parse_keys()?;
        let (root, bundle) = (&self.roles.root, &self.roles.bundle);
        self.check_role("roles.root", &root.keys, root.threshold, &keys)?;
        self.check_role("roles.bundle", &bundle.keys, bundle.threshold, &keys)?;
        if let Some(data) = &self.roles.data {
            self.check_role("roles.data", &data.keys, data.threshold, &keys)?;
        }
        self.check_delegations(&keys)?;
        Ok(ValidatedBody { keys, expires })
    }

    /// `type`, `spec_version` and `version` are ones this code reads.
    fn check_format(&self) -> Result<(), TrustError> {
        if self.kind != ROOT_TYPE {
            return Err(self.invalid(format!("type is {:?}, expected {ROOT_TYPE:?}", self.kind)));
        }
        if self.spec_version != SPEC_VERSION {
            return Err(self.invalid(format!(
                "spec_version {} is not supported (this scs-cert reads {SPEC_VERSION})",
                self.spec_version
            )));
        }
        if self.version == 0 {
            return Err(self.invalid("version must start at 1"));
        }
        Ok(())
    }

    /// `keys`: each an ed25519 public key whose id is its fingerprint, with
    /// an optional RFC 3339 expiry.
    fn parse_keys(&self) -> Result<RootKeys, TrustError> {
        let mut keys = BTreeMap::new();
        for (id, entry) in &self.keys {
            let key = super::keys::parse_public_key(entry.public.trim()).map_err(|e| {
                self.invalid(format!("keys[{id}]: not an ed25519 public key: {e:?}"))
            })?;
            let actual = sshsig::key_id(&key);
            if &actual != id {
                return Err(self.invalid(format!(
                    "keys[{id}]: the key's fingerprint is {actual}; the id must be the fingerprint"
                )));
            }
            let key_expires = match &entry.expires {
                None => None,
                Some(s) => Some(
                    parse_rfc3339_utc(s)
                        .map_err(|e| self.invalid(format!("keys[{id}].expires: {e}")))?,
                ),
            };
            keys.insert(id.clone(), (key, key_expires));
        }
        Ok(keys)
    }

    /// A role or delegation `name`: threshold at least 1 and at most its
    /// number of keys, no key listed twice, every key in `keys`.
    fn check_role(
        &self,
        name: &str,
        role_keys: &[String],
        threshold: u32,
        keys: &RootKeys,
    ) -> Result<(), TrustError> {
        if threshold == 0 {
            return Err(self.invalid(format!("{name}: threshold must be at least 1")));
        }
        let distinct: BTreeSet<&String> = role_keys.iter().collect();
        if distinct.len() != role_keys.len() {
            return Err(self.invalid(format!("{name}: a key is listed twice")));
        }
        if (threshold as usize) > role_keys.len() {
            return Err(self.invalid(format!(
                "{name}: threshold {threshold} exceeds its {} key(s)",
                role_keys.len()
            )));
        }
        for k in role_keys {
            if !keys.contains_key(k) {
                return Err(self.invalid(format!("{name}: key {k} is not in keys")));
            }
        }
        Ok(())
    }

    /// `delegations`: unique non-empty names, a valid role each, non-empty
    /// prefixes, capability patterns of the forms [`delegation_pattern_valid`]
    /// accepts.
    fn check_delegations(&self, keys: &RootKeys) -> Result<(), TrustError> {
        let mut names = BTreeSet::new();
        for d in &self.delegations {
            let label = format!("delegations[{}]", d.name);
            if d.name.is_empty() || !names.insert(d.name.as_str()) {
                return Err(self.invalid(format!("{label}: names must be non-empty and unique")));
            }
            self.check_role(&label, &d.keys, d.threshold, keys)?;
            if d.prefixes.is_empty() || d.prefixes.iter().any(String::is_empty) {
                return Err(self.invalid(format!(
                    "{label}: prefixes must be non-empty check id prefixes"
                )));
            }
            for c in &d.capabilities {
                if !delegation_pattern_valid(c) {
                    return Err(self.invalid(format!(
                        "{label}: capability pattern {c:?} is not one of {DELEGATION_PATTERN_FORMS}"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Key id → (key, expiry), as in [`ValidatedBody::keys`].
type RootKeys = BTreeMap<String, (PublicKey, Option<DateTime<Utc>>)>;

/// Parsed keys (id → key, expiry) and the expiry of a valid body.
#[derive(Debug, Clone)]
pub struct ValidatedBody {
    /// Key id → (key, expiry).
    pub keys: BTreeMap<String, (PublicKey, Option<DateTime<Utc>>)>,
    /// Root expiry.
    pub expires: DateTime<Utc>,
}

impl RootFile {
    /// Parse root.json bytes (`source_name` names it in errors).
    pub fn parse(bytes: &[u8], source_name: &str) -> Result<Self, TrustError> {
        let perr = |message: String| -> TrustError {
            RootError::Parse {
                source_name: source_name.to_string(),
                message: crate::errtext::untrusted_message(&message),
            }
            .into()
        };
        if bytes.len() > MAX_ROOT_BYTES {
            return Err(perr(format!("larger than {MAX_ROOT_BYTES} bytes")));
        }
        serde_json::from_slice(bytes).map_err(|e| perr(e.to_string()))
    }

    /// Read and parse a root.json file.
    pub fn load(path: &std::path::Path) -> Result<Self, TrustError> {
        let name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| RootError::Parse {
            source_name: name.clone(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&bytes, &name)
    }

    /// Pretty JSON with a trailing newline, as written to disk.
    pub fn to_pretty(&self) -> Result<String, TrustError> {
        let mut s = serde_json::to_string_pretty(self).map_err(|e| RootError::Invalid {
            version: self.signed.version,
            message: e.to_string(),
        })?;
        s.push('\n');
        Ok(s)
    }

    /// Add (or replace) the signature of `key` over the canonical bytes.
    pub fn sign(&mut self, key: &PrivateKey) -> Result<(), TrustError> {
        let bytes = self.signed.canonical_bytes()?;
        let sig = sshsig::sign(key, ROOT_NAMESPACE, &bytes)?;
        let id = sshsig::key_id(key.public_key());
        self.signatures.retain(|s| {
            sshsig::parse(s)
                .map(|p| sshsig::key_id(&PublicKey::new(p.public_key().clone(), "")) != id)
                .unwrap_or(true)
        });
        self.signatures.push(sig);
        Ok(())
    }

    /// Key ids of the valid signatures over the canonical bytes; an
    /// invalid signature is an error.
    pub fn valid_signers(&self) -> Result<BTreeSet<String>, TrustError> {
        let bytes = self.signed.canonical_bytes()?;
        let mut out = BTreeSet::new();
        for (i, s) in self.signatures.iter().enumerate() {
            let key =
                sshsig::verify(s, &bytes, ROOT_NAMESPACE).map_err(|e| RootError::BadSignature {
                    version: self.signed.version,
                    index: i + 1,
                    message: e.to_string(),
                })?;
            out.insert(sshsig::key_id(&key));
        }
        Ok(out)
    }
}

/// How many of `role`'s keys are among `signers`.
fn count(role: &Role, signers: &BTreeSet<String>) -> usize {
    role.keys.iter().filter(|k| signers.contains(*k)).count()
}

/// A root whose signatures and structure were checked.
#[derive(Debug, Clone)]
pub struct TrustRoot {
    /// The document.
    pub file: RootFile,
    /// Parsed keys and expiry.
    pub parsed: ValidatedBody,
    /// Versions walked to get here (installed first).
    pub chain: Vec<u64>,
    /// Whether the root is expired (only possible with an override).
    pub expired: bool,
}

/// Who authorized a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// `bundle` (the bundle role) or `delegation:<name>,...`.
    pub authorized_by: String,
    /// Key ids of the trusted signers that counted.
    pub signers: Vec<String>,
}

impl TrustRoot {
    /// Trust an installed root: structure valid and signed by a threshold of
    /// its own root keys (expiry is checked by [`TrustRoot::finish`]).
    pub fn from_installed(file: RootFile) -> Result<Self, TrustError> {
        let parsed = file.signed.validate()?;
        let signers = file.valid_signers()?;
        let have = count(&file.signed.roles.root, &signers);
        if have < file.signed.roles.root.threshold as usize {
            return Err(RootError::Threshold {
                version: file.signed.version,
                which: "its own".into(),
                have,
                need: file.signed.roles.root.threshold,
                hint: if file.signatures.is_empty() {
                    "; sign it with `scs-cert trust init|rotate --sign KEY`".into()
                } else {
                    String::new()
                },
            }
            .into());
        }
        let version = file.signed.version;
        Ok(Self {
            file,
            parsed,
            chain: vec![version],
            expired: false,
        })
    }

    /// Version of the current root.
    pub fn version(&self) -> u64 {
        self.file.signed.version
    }

    /// Accept `next` as the successor: version + 1, signed by a threshold of
    /// this root's root keys and of its own root keys.
    pub fn advance(self, next: RootFile) -> Result<Self, TrustError> {
        let expected = self.version() + 1;
        if next.signed.version != expected {
            return Err(RootError::Sequence {
                expected,
                found: next.signed.version,
            }
            .into());
        }
        let parsed = next.signed.validate()?;
        let signers = next.valid_signers()?;
        let old = &self.file.signed.roles.root;
        let have_old = count(old, &signers);
        if have_old < old.threshold as usize {
            return Err(RootError::Threshold {
                version: expected,
                which: format!("the previous (version {})", self.version()),
                have: have_old,
                need: old.threshold,
                hint: String::new(),
            }
            .into());
        }
        let new = &next.signed.roles.root;
        let have_new = count(new, &signers);
        if have_new < new.threshold as usize {
            return Err(RootError::Threshold {
                version: expected,
                which: "its own".into(),
                have: have_new,
                need: new.threshold,
                hint: String::new(),
            }
            .into());
        }
        let mut chain = self.chain;
        chain.push(expected);
        Ok(Self {
            file: next,
            parsed,
            chain,
            expired: false,
        })
    }

    /// Walk `history` (any order; versions at or below the current one are
    /// skipped) from the current root upwards.
    pub fn update(mut self, history: &[RootFile]) -> Result<Self, TrustError> {
        let mut newer: Vec<&RootFile> = history
            .iter()
            .filter(|r| r.signed.version > self.version())
            .collect();
        newer.sort_by_key(|r| r.signed.version);
        for r in newer {
            self = self.advance(r.clone())?;
        }
        Ok(self)
    }

    /// Check expiry at `now`; with `allow_expired` an expired root is kept
    /// and marked [`TrustRoot::expired`].
    pub(crate) fn finish(
        mut self,
        now: DateTime<Utc>,
        allow_expired: bool,
    ) -> Result<Self, TrustError> {
        if now > self.parsed.expires {
            if !allow_expired {
                return Err(RootError::Expired {
                    version: self.version(),
                    expires: self.file.signed.expires.clone(),
                }
                .into());
            }
            self.expired = true;
        }
        Ok(self)
    }

    /// Decide whether `signers` (keys whose signatures over the manifest
    /// verified) authorize a bundle holding `checks` and the non-check files
    /// `other_files`.
    ///
    /// The bundle role authorizes everything once its threshold of trusted
    /// signers is met; otherwise the delegations whose thresholds are met
    /// must cover every check (its id, standard and testcase ids by prefix,
    /// its capabilities by pattern) and the bundle may hold nothing outside
    /// checks/.
    pub(crate) fn authorize(
        &self,
        signers: &[PublicKey],
        checks: &[CheckClaims],
        other_files: &[String],
        now: DateTime<Utc>,
    ) -> Result<Authorization, TrustError> {
        let keys = self.classify_signers(signers, now);
        if signers.is_empty() {
            return Err(RootError::Unsigned.into());
        }
        let bundle = &self.file.signed.roles.bundle;
        let bundle_have = count(bundle, &keys.trusted);
        if bundle_have >= bundle.threshold as usize {
            return Ok(Authorization {
                authorized_by: "bundle".into(),
                signers: bundle
                    .keys
                    .iter()
                    .filter(|k| keys.trusted.contains(*k))
                    .cloned()
                    .collect(),
            });
        }
        let active = self.active_delegations(&keys.trusted);
        if active.is_empty() {
            return Err(self.refusal_without_delegation(keys, bundle_have));
        }
        authorize_delegated(&active, &keys.trusted, checks, other_files)
    }

    /// Whether a bundle named `bundle_name`, authorized by the delegations `names` (the part
    /// after `delegation:` of [`Authorization::authorized_by`], comma-separated), carries a
    /// name inside one of their prefixes: the rollback state is kept per bundle name, so a
    /// delegated bundle must not take the name of a bundle it is not entitled to (its sequence
    /// would hold back that bundle's updates).
    pub(crate) fn delegation_covers_name(&self, names: &str, bundle_name: &str) -> bool {
        names.split(',').any(|n| {
            self.file
                .signed
                .delegations
                .iter()
                .any(|d| d.name == n && covers_id(d, bundle_name))
        })
    }

    /// The role that signs data files: `data`, or `bundle` for roots without a data role.
    pub fn data_role(&self) -> (&'static str, &Role) {
        match &self.file.signed.roles.data {
            Some(r) => ("data", r),
            None => ("bundle", &self.file.signed.roles.bundle),
        }
    }

    /// Decide whether `signers` (keys whose signatures over a data file's manifest verified)
    /// authorize a data file: a threshold of the data role's keys (see [`Self::data_role`]),
    /// each in the root and not expired at `now`. Delegations never sign data.
    pub(crate) fn authorize_data(
        &self,
        signers: &[PublicKey],
        now: DateTime<Utc>,
    ) -> Result<Authorization, TrustError> {
        if signers.is_empty() {
            return Err(RootError::Unsigned.into());
        }
        let keys = self.classify_signers(signers, now);
        let (name, role) = self.data_role();
        let have = count(role, &keys.trusted);
        if have >= role.threshold as usize {
            return Ok(Authorization {
                authorized_by: name.to_string(),
                signers: role
                    .keys
                    .iter()
                    .filter(|k| keys.trusted.contains(*k))
                    .cloned()
                    .collect(),
            });
        }
        if keys.trusted.is_empty() && !keys.expired.is_empty() {
            return Err(RootError::KeyExpired {
                key_ids: keys.expired.into_iter().collect::<Vec<_>>().join(", "),
            }
            .into());
        }
        if have == 0 && !keys.unknown.is_empty() {
            return Err(RootError::UnknownKey {
                key_ids: keys.unknown.into_iter().collect::<Vec<_>>().join(", "),
            }
            .into());
        }
        Err(RootError::DataThreshold {
            have,
            role: name,
            need: role.threshold,
            version: self.version(),
        }
        .into())
    }

    /// Sort the signers' key ids by what this root says about them at `now`.
    fn classify_signers(&self, signers: &[PublicKey], now: DateTime<Utc>) -> SignerKeys {
        let mut keys = SignerKeys::default();
        for k in signers {
            let id = sshsig::key_id(k);
            match self.parsed.keys.get(&id) {
                None => {
                    keys.unknown.insert(id);
                }
                Some((_, Some(exp))) if now > *exp => {
                    keys.expired
                        .insert(format!("{id} (expired {})", fmt_time(*exp)));
                }
                Some(_) => {
                    keys.trusted.insert(id);
                }
            }
        }
        keys
    }

    /// The delegations whose threshold the trusted signers meet, in root order.
    fn active_delegations(&self, trusted: &BTreeSet<String>) -> Vec<&Delegation> {
        self.file
            .signed
            .delegations
            .iter()
            .filter(|d| {
                d.keys.iter().filter(|k| trusted.contains(*k)).count() >= d.threshold as usize
            })
            .collect()
    }

    /// Why neither the bundle role nor a delegation authorizes: only expired
    /// keys, only unknown keys, or too few bundle keys (in that order).
    fn refusal_without_delegation(&self, keys: SignerKeys, bundle_have: usize) -> TrustError {
        if keys.trusted.is_empty() && !keys.expired.is_empty() {
            return RootError::KeyExpired {
                key_ids: keys.expired.into_iter().collect::<Vec<_>>().join(", "),
            }
            .into();
        }
        if keys.trusted.is_empty() && !keys.unknown.is_empty() {
            return RootError::UnknownKey {
                key_ids: keys.unknown.into_iter().collect::<Vec<_>>().join(", "),
            }
            .into();
        }
        let body = &self.file.signed;
        RootError::BundleThreshold {
            have: bundle_have,
            need: body.roles.bundle.threshold,
            version: body.version,
        }
        .into()
    }
}

/// The key ids of a bundle's signers, by what the root says about them.
#[derive(Debug, Default)]
struct SignerKeys {
    /// In the root and not expired.
    trusted: BTreeSet<String>,
    /// Not in the root.
    unknown: BTreeSet<String>,
    /// In the root but expired, as `id (expired <time>)`.
    expired: BTreeSet<String>,
}

/// Authorization by the `active` delegations alone: nothing outside
/// checks/, every check covered by one delegation whose prefixes hold its id,
/// standard and testcase ids and which allows all its capabilities. The
/// signers are the trusted keys of the delegations used.
fn authorize_delegated(
    active: &[&Delegation],
    trusted: &BTreeSet<String>,
    checks: &[CheckClaims],
    other_files: &[String],
) -> Result<Authorization, TrustError> {
    let names = active
        .iter()
        .map(|d| d.name.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    if let Some(path) = other_files.first() {
        return Err(RootError::DelegationScope {
            path: path.clone(),
            delegations: names,
        }
        .into());
    }
    let mut used = BTreeSet::new();
    for check in checks {
        let d = delegation_for_check(active, check, &names)?;
        used.insert(d.name.clone());
    }
    let signers = active
        .iter()
        .filter(|d| used.contains(&d.name))
        .flat_map(|d| d.keys.iter().filter(|k| trusted.contains(*k)).cloned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    Ok(Authorization {
        authorized_by: format!(
            "delegation:{}",
            used.into_iter().collect::<Vec<_>>().join(",")
        ),
        signers,
    })
}

/// The first of the `active` delegations (named `names` in errors) whose
/// prefixes cover the check's id, standard and every testcase id, and whose
/// capabilities allow all the check's capabilities.
///
/// Refused when no prefix covers the check's id; otherwise, when no covering
/// delegation covers everything, with the first covering delegation's first
/// problem: a claim outside its prefixes (standard, then testcases), else a
/// capability it does not allow.
fn delegation_for_check<'d>(
    active: &[&'d Delegation],
    check: &CheckClaims,
    names: &str,
) -> Result<&'d Delegation, TrustError> {
    let caps = &check.capabilities;
    let covering: Vec<&'d Delegation> = active
        .iter()
        .copied()
        .filter(|d| covers_id(d, &check.id))
        .collect();
    let Some(first) = covering.first() else {
        return Err(RootError::DelegationPrefix {
            check: check.id.clone(),
            delegations: names.to_string(),
        }
        .into());
    };
    if let Some(d) = covering.iter().find(|d| {
        uncovered_claim(d, check).is_none()
            && caps.iter().all(|c| capability_allowed(c, &d.capabilities))
    }) {
        return Ok(d);
    }
    if let Some((kind, claim)) = uncovered_claim(first, check) {
        return Err(RootError::DelegationClaim(Box::new(ClaimOutside {
            check: check.id.clone(),
            kind,
            claim: claim.to_string(),
            delegation: first.name.clone(),
            prefixes: first.prefixes.join(", "),
        }))
        .into());
    }
    let capability = caps
        .iter()
        .find(|c| !capability_allowed(c, &first.capabilities))
        .cloned()
        .unwrap_or_default();
    Err(RootError::DelegationCapability {
        check: check.id.clone(),
        capability,
        delegation: first.name.clone(),
    }
    .into())
}

/// A new, unsigned root body.
pub fn new_body(
    version: u64,
    expires: DateTime<Utc>,
    root_keys: &[PublicKey],
    root_threshold: u32,
    bundle_keys: &[PublicKey],
    bundle_threshold: u32,
) -> RootBody {
    let mut keys = BTreeMap::new();
    let mut ids = |list: &[PublicKey]| -> Vec<String> {
        let mut out = Vec::new();
        for k in list {
            let id = sshsig::key_id(k);
            keys.insert(
                id.clone(),
                KeyEntry {
                    public: k.to_openssh().unwrap_or_default(),
                    expires: None,
                },
            );
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    };
    let root = ids(root_keys);
    let bundle = ids(bundle_keys);
    RootBody {
        kind: ROOT_TYPE.into(),
        spec_version: SPEC_VERSION,
        version,
        expires: fmt_time(expires),
        keys,
        roles: Roles {
            root: Role {
                keys: root,
                threshold: root_threshold,
            },
            bundle: Role {
                keys: bundle,
                threshold: bundle_threshold,
            },
            data: None,
        },
        delegations: Vec::new(),
    }
}

/// Add a key to `body.keys` (if absent); returns its id.
pub fn add_key(body: &mut RootBody, key: &PublicKey) -> String {
    let id = sshsig::key_id(key);
    body.keys.entry(id.clone()).or_insert_with(|| KeyEntry {
        public: key.to_openssh().unwrap_or_default(),
        expires: None,
    });
    id
}

/// Drop keys no role or delegation uses any more.
pub fn prune_keys(body: &mut RootBody) {
    let used: BTreeSet<String> = body
        .roles
        .root
        .keys
        .iter()
        .chain(&body.roles.bundle.keys)
        .chain(body.roles.data.iter().flat_map(|r| r.keys.iter()))
        .chain(body.delegations.iter().flat_map(|d| d.keys.iter()))
        .cloned()
        .collect();
    body.keys.retain(|k, _| used.contains(k));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trust::keys::generate_ed25519;

    fn t(s: &str) -> DateTime<Utc> {
        parse_rfc3339_utc(s).expect("time")
    }

    fn root_v1(rk: &PrivateKey, bk: &PrivateKey) -> RootFile {
        let body = new_body(
            1,
            t("2030-01-01"),
            &[rk.public_key().clone()],
            1,
            &[bk.public_key().clone()],
            1,
        );
        let mut f = RootFile {
            signed: body,
            signatures: vec![],
        };
        f.sign(rk).expect("sign");
        f
    }

    #[test]
    fn canonical_bytes_ignore_formatting() {
        let rk = generate_ed25519("r");
        let f = root_v1(&rk, &rk);
        let pretty = f.to_pretty().expect("pretty");
        let back = RootFile::parse(pretty.as_bytes(), "x").expect("parse");
        assert_eq!(back, f);
        assert!(TrustRoot::from_installed(back).is_ok());
    }

    #[test]
    fn installed_root_must_be_self_signed() {
        let rk = generate_ed25519("r");
        let other = generate_ed25519("o");
        let mut f = root_v1(&rk, &rk);
        f.signatures.clear();
        let e = TrustRoot::from_installed(f.clone()).expect_err("unsigned");
        assert!(
            e.to_string()
                .contains("0 valid signature(s) from its own root keys"),
            "{e}"
        );
        f.sign(&other).expect("sign");
        assert!(TrustRoot::from_installed(f.clone()).is_err());
        // Tampering after signing breaks the signature.
        let mut g = root_v1(&rk, &rk);
        g.signed.expires = "2099-01-01T00:00:00Z".into();
        let e = TrustRoot::from_installed(g).expect_err("tampered");
        assert!(e.to_string().contains("does not verify"), "{e}");
    }

    #[test]
    fn rotation_needs_old_and_new() {
        let r1 = generate_ed25519("r1");
        let r2 = generate_ed25519("r2");
        let b = generate_ed25519("b");
        let v1 = root_v1(&r1, &b);
        let mut body2 = v1.signed.clone();
        body2.version = 2;
        body2.roles.root.keys = vec![add_key(&mut body2, r2.public_key())];
        prune_keys(&mut body2);
        let mut v2 = RootFile {
            signed: body2,
            signatures: vec![],
        };
        // Only the new key: refused.
        v2.sign(&r2).expect("s");
        let trust = TrustRoot::from_installed(v1.clone()).expect("v1");
        let e = trust.clone().advance(v2.clone()).expect_err("old missing");
        assert!(e.to_string().contains("previous (version 1)"), "{e}");
        // Only the old key: refused.
        let mut only_old = RootFile {
            signed: v2.signed.clone(),
            signatures: vec![],
        };
        only_old.sign(&r1).expect("s");
        let e = trust.clone().advance(only_old).expect_err("new missing");
        assert!(e.to_string().contains("its own"), "{e}");
        // Both: accepted.
        v2.sign(&r1).expect("s");
        let t2 = trust
            .clone()
            .update(std::slice::from_ref(&v2))
            .expect("advance");
        assert_eq!(t2.version(), 2);
        assert_eq!(t2.chain, vec![1, 2]);
        // Skipping a version is refused.
        let mut v3 = v2.clone();
        v3.signed.version = 3;
        let e = trust.advance(v3).expect_err("gap");
        assert!(e.to_string().contains("expected version 2, found 3"), "{e}");
    }

    #[test]
    fn expiry() {
        let r = generate_ed25519("r");
        let v1 = root_v1(&r, &r);
        let tr = TrustRoot::from_installed(v1).expect("v1");
        assert!(tr.clone().finish(t("2029-01-01"), false).is_ok());
        let e = tr
            .clone()
            .finish(t("2031-01-01"), false)
            .expect_err("expired");
        assert!(e.to_string().contains("expired"), "{e}");
        assert!(tr.finish(t("2031-01-01"), true).expect("override").expired);
    }

    #[test]
    fn authorization() {
        let r = generate_ed25519("r");
        let b = generate_ed25519("b");
        let c = generate_ed25519("c");
        let x = generate_ed25519("x");
        let mut f = root_v1(&r, &b);
        let cid = add_key(&mut f.signed, c.public_key());
        f.signed.delegations.push(Delegation {
            name: "contrib".into(),
            keys: vec![cid],
            threshold: 1,
            prefixes: vec!["scs-0100-".into()],
            capabilities: vec!["openstack:*:read".into()],
        });
        f.signatures.clear();
        f.sign(&r).expect("sign");
        let tr = TrustRoot::from_installed(f).expect("root");
        let now = t("2026-01-01");
        let claims = |id: &str, standard: &str, testcases: &[&str], cap: &str| CheckClaims {
            id: id.to_string(),
            standard: standard.to_string(),
            testcases: testcases.iter().map(|t| t.to_string()).collect(),
            capabilities: vec![cap.to_string()],
        };
        let read = |id: &str| claims(id, "scs-0100", &["scs-0100-t"], "openstack:compute:read");
        let a = tr
            .authorize(
                &[b.public_key().clone()],
                &[read("anything")],
                &["scopes/x".into()],
                now,
            )
            .expect("bundle role");
        assert_eq!(a.authorized_by, "bundle");
        let a = tr
            .authorize(
                &[c.public_key().clone()],
                &[read("scs-0100-flavor-naming")],
                &[],
                now,
            )
            .expect("delegation");
        assert_eq!(a.authorized_by, "delegation:contrib");
        let e = tr
            .authorize(
                &[c.public_key().clone()],
                &[read("scs-0101-entropy")],
                &[],
                now,
            )
            .expect_err("prefix");
        assert!(
            matches!(e, TrustError::Root(RootError::DelegationPrefix { .. })),
            "{e}"
        );
        let w = claims(
            "scs-0100-x",
            "scs-0100",
            &["scs-0100-x"],
            "openstack:compute:write",
        );
        let e = tr
            .authorize(&[c.public_key().clone()], &[w], &[], now)
            .expect_err("cap");
        assert!(
            matches!(e, TrustError::Root(RootError::DelegationCapability { .. })),
            "{e}"
        );
        // The testcases and the standard must lie inside the prefixes too.
        let c_read =
            |check: CheckClaims| tr.authorize(&[c.public_key().clone()], &[check], &[], now);
        let e = c_read(claims(
            "scs-0100-evil",
            "scs-0100",
            &["scs-0100-own", "scs-0103-flavor-1v-4"],
            "openstack:compute:read",
        ))
        .expect_err("foreign testcase");
        assert!(
            matches!(
                &e,
                TrustError::Root(RootError::DelegationClaim(c))
                    if c.kind == ClaimKind::Testcase && c.claim == "scs-0103-flavor-1v-4"
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "check scs-0100-evil claims testcase scs-0103-flavor-1v-4, which is outside the \
             prefixes (scs-0100-) of delegation contrib that signed it"
        );
        for standard in ["scs-0103", "scs-01", "scs-010"] {
            let e = c_read(claims(
                "scs-0100-x",
                standard,
                &["scs-0100-x"],
                "openstack:compute:read",
            ))
            .expect_err("foreign standard");
            assert!(
                matches!(
                    &e,
                    TrustError::Root(RootError::DelegationClaim(c)) if c.kind == ClaimKind::Standard
                ),
                "{standard}: {e}"
            );
        }
        for standard in ["scs-0100", "scs-0100-sub"] {
            c_read(claims(
                "scs-0100-x",
                standard,
                &["scs-0100-x", "scs-0100-y"],
                "openstack:compute:read",
            ))
            .unwrap_or_else(|e| panic!("{standard}: {e}"));
        }
        // The bundle role is not bound by prefixes at all.
        let a = tr
            .authorize(
                &[b.public_key().clone()],
                &[claims(
                    "scs-0100-x",
                    "scs-0103",
                    &["scs-0116-presence"],
                    "openstack:compute:write",
                )],
                &[],
                now,
            )
            .expect("bundle role");
        assert_eq!(a.authorized_by, "bundle");
        let e = tr
            .authorize(
                &[c.public_key().clone()],
                &[read("scs-0100-x")],
                &["scopes/a.yaml".into()],
                now,
            )
            .expect_err("scope");
        assert!(
            matches!(e, TrustError::Root(RootError::DelegationScope { .. })),
            "{e}"
        );
        let e = tr
            .authorize(&[x.public_key().clone()], &[read("a")], &[], now)
            .expect_err("unknown");
        assert!(
            matches!(e, TrustError::Root(RootError::UnknownKey { .. })),
            "{e}"
        );
        let e = tr
            .authorize(&[], &[read("a")], &[], now)
            .expect_err("unsigned");
        assert!(matches!(e, TrustError::Root(RootError::Unsigned)), "{e}");
        // The root key alone is not a bundle key.
        let e = tr
            .authorize(&[r.public_key().clone()], &[read("a")], &[], now)
            .expect_err("threshold");
        assert!(
            matches!(e, TrustError::Root(RootError::BundleThreshold { .. })),
            "{e}"
        );
    }

    #[test]
    fn delegated_claims_need_one_delegation_covering_them_all() {
        let r = generate_ed25519("r");
        let b = generate_ed25519("b");
        let c = generate_ed25519("c");
        let mut f = root_v1(&r, &b);
        let cid = add_key(&mut f.signed, c.public_key());
        let delegation = |name: &str, prefixes: &[&str]| Delegation {
            name: name.into(),
            keys: vec![cid.clone()],
            threshold: 1,
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
            capabilities: vec!["openstack:*:read".into()],
        };
        f.signed.delegations = vec![
            delegation("narrow", &["scs-0100-"]),
            delegation("wide", &["scs-0100-", "scs-0103-"]),
        ];
        f.signatures.clear();
        f.sign(&r).expect("sign");
        let tr = TrustRoot::from_installed(f).expect("root");
        let check = CheckClaims {
            id: "scs-0100-x".into(),
            standard: "scs-0100".into(),
            testcases: vec!["scs-0100-a".into(), "scs-0103-b".into()],
            capabilities: vec!["openstack:compute:read".into()],
        };
        let a = tr
            .authorize(
                &[c.public_key().clone()],
                std::slice::from_ref(&check),
                &[],
                t("2026-01-01"),
            )
            .expect("the wide delegation covers it all");
        assert_eq!(a.authorized_by, "delegation:wide");
        // Two delegations do not add up: each check needs one covering all of it.
        let mut tr2 = tr.clone();
        tr2.file.signed.delegations = vec![
            delegation("narrow", &["scs-0100-"]),
            delegation("other", &["scs-0103-"]),
        ];
        let e = tr2
            .authorize(&[c.public_key().clone()], &[check], &[], t("2026-01-01"))
            .expect_err("split across delegations");
        assert!(
            matches!(
                &e,
                TrustError::Root(RootError::DelegationClaim(c)) if c.delegation == "narrow"
            ),
            "{e}"
        );
    }

    /// Issue 10: a delegation can sign KaaS checks: `kubernetes:` patterns like
    /// `openstack:` ones, `tool:sonobuoy:run` only when named exactly.
    #[test]
    fn delegations_can_sign_kubernetes_and_tool_capabilities() {
        let r = generate_ed25519("r");
        let b = generate_ed25519("b");
        let c = generate_ed25519("c");
        let mut f = root_v1(&r, &b);
        let cid = add_key(&mut f.signed, c.public_key());
        f.signed.delegations.push(Delegation {
            name: "kaas".into(),
            keys: vec![cid],
            threshold: 1,
            prefixes: vec!["scs-0210-".into()],
            capabilities: vec![
                "kubernetes:*:read".into(),
                "tool:sonobuoy:run".into(),
                "data:*:read".into(),
            ],
        });
        f.signatures.clear();
        f.sign(&r).expect("sign");
        let tr = TrustRoot::from_installed(f.clone()).expect("a kubernetes pattern is valid");
        let claims = |caps: &[&str]| CheckClaims {
            id: "scs-0210-version-policy".into(),
            standard: "scs-0210".into(),
            testcases: vec!["scs-0210-v2-t".into()],
            capabilities: caps.iter().map(|c| c.to_string()).collect(),
        };
        let key = [c.public_key().clone()];
        let now = t("2026-01-01");
        let ok = claims(&[
            "kubernetes:nonresource/version:read",
            "kubernetes:core/nodes:read",
            "tool:sonobuoy:run",
            "data:k8s-versions:read",
        ]);
        let a = tr
            .authorize(&key, &[ok], &[], now)
            .expect("within the delegation");
        assert_eq!(a.authorized_by, "delegation:kaas");
        let e = tr
            .authorize(&key, &[claims(&["kubernetes:apps/*:write"])], &[], now)
            .expect_err("write is outside kubernetes:*:read");
        assert!(e.to_string().contains("kubernetes:apps/*:write"), "{e}");
        for bad in [
            "tool:*:run",
            "tool:kubectl:run",
            "kubernetes:core/nodes:delete",
            "kubernetes::read",
            "helm:*:read",
            "data:x:write",
        ] {
            let mut g = f.clone();
            g.signed.delegations[0].capabilities = vec![bad.into()];
            let e = g.signed.validate().expect_err(bad).to_string();
            assert!(e.contains("kubernetes:<group/resource"), "{bad}: {e}");
        }
    }

    #[test]
    fn validation() {
        let r = generate_ed25519("r");
        let mut body = new_body(1, t("2030-01-01"), &[r.public_key().clone()], 2, &[], 1);
        let e = body.validate().expect_err("threshold").to_string();
        assert!(e.contains("exceeds"), "{e}");
        body.roles.root.threshold = 1;
        body.roles.bundle.keys = vec!["SHA256:nope".into()];
        let e = body.validate().expect_err("unknown").to_string();
        assert!(e.contains("not in keys"), "{e}");
    }
}

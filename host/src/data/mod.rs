//! Signed offline data: the datasets checks read through the WIT `data` interface (the
//! Kubernetes releases, the official CVE feed with one CVE record per id, the end-of-life
//! table), packed and signed like a bundle, verified offline against the trust root.
//!
//! Owns: the data file `.scsd` ([`file`]: manifest, deterministic packing with the bundle
//! archive, SSHSIG signatures in the namespace [`file::DATA_NAMESPACE`]), the dataset formats
//! and their conversion from the sources' own formats ([`format`]), fetching the sources on a
//! connected machine ([`refresh`]), verify-then-use against the trust root's data role with
//! expiry and rollback state ([`verify`]), what one check may read during a run, staleness,
//! and the record a transcript keeps for replay ([`access`]); and the `data:<name>:read`
//! capability ([`split_capabilities`]).
//!
//! Must never: hand a check a dataset it did not declare, a dataset of a file that failed a
//! rule, or stale data without saying so (a stale dataset is an error the check sees, never
//! content); write a data file with holes (a failed fetch fails the whole refresh); decide
//! which keys are trusted (that is `trust`); print or exit.

pub mod access;
pub mod file;
pub mod format;
pub mod refresh;
pub mod verify;

use std::collections::BTreeSet;

/// Longest dataset name.
pub const MAX_NAME_LEN: usize = 64;

/// A `data:` capability that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapabilityError {
    /// Not `data:<name>:read`.
    #[error("capability {0:?} is not of the form data:<dataset>:read (data is read-only)")]
    Malformed(String),
    /// The dataset name breaks the naming rule.
    #[error(
        "capability {0:?}: a dataset name is 1-64 lower-case letters, digits and `-`, e.g. data:k8s-eol:read"
    )]
    Name(String),
}

/// Whether `name` is a valid dataset name: 1-64 of `a-z`, `0-9`, `-`, starting with a letter
/// or digit.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Split a check's capabilities into the mediated ones (`openstack:…` and anything else the
/// mediation reads) and the datasets of its `data:<name>:read` capabilities.
pub fn split_capabilities(
    caps: &[String],
) -> Result<(Vec<String>, BTreeSet<String>), CapabilityError> {
    let mut others = Vec::new();
    let mut datasets = BTreeSet::new();
    for cap in caps {
        let Some(rest) = cap.strip_prefix("data:") else {
            others.push(cap.clone());
            continue;
        };
        let Some(name) = rest.strip_suffix(":read") else {
            return Err(CapabilityError::Malformed(cap.clone()));
        };
        if !valid_name(name) {
            return Err(CapabilityError::Name(cap.clone()));
        }
        datasets.insert(name.to_string());
    }
    Ok((others, datasets))
}

/// The capability that lets a check read dataset `name`.
pub fn capability(name: &str) -> String {
    format!("data:{name}:read")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities() {
        let caps = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (o, d) = split_capabilities(&caps(&["openstack:compute:read", "data:k8s-eol:read"]))
            .expect("ok");
        assert_eq!(o, caps(&["openstack:compute:read"]));
        assert_eq!(d.into_iter().collect::<Vec<_>>(), caps(&["k8s-eol"]));
        for bad in [
            "data:k8s-eol:write",
            "data:k8s-eol",
            "data::read",
            "data:K8S:read",
            "data:a/b:read",
        ] {
            assert!(split_capabilities(&caps(&[bad])).is_err(), "{bad}");
        }
        let e = split_capabilities(&caps(&["data:k8s-eol:write"]))
            .expect_err("write")
            .to_string();
        assert!(e.contains("read-only"), "{e}");
    }
}

//! Signed offline datasets from the host's `data` interface (KaaS scope).
//!
//! Owns: [`get`], which fetches one dataset by name and checks that it is
//! the one asked for and that its content matches its sha256, the
//! [`Dataset`] model, JSON decoding of a dataset's content
//! ([`Dataset::json`], [`Dataset::parse`]), and the typed error
//! [`DataError`]. The dataset formats are documented in docs/data.md.
//!
//! Must never: read data from anywhere but the host, fall back to built-in
//! or older data when a dataset is missing or stale (that is the host's
//! one-line text, and the check ABORTs with it), or put a line break into an
//! error text.

use crate::bindings::scs::check::data as host;
use crate::kubernetes::one_line;
use crate::sigv4::sha256_hex;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::fmt;

/// One dataset as the host hands it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dataset {
    /// Its name, e.g. `k8s-releases`.
    pub name: String,
    /// When it was generated (RFC 3339, UTC), as the host says.
    pub generated_at: String,
    /// sha256 of `content`, lower-case hex.
    pub sha256: String,
    /// The content (JSON for the datasets of docs/data.md).
    pub content: Vec<u8>,
}

/// Why a dataset is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataError {
    /// The capability `data:<name>:read` was not declared or granted.
    Denied {
        /// Dataset name.
        name: String,
        /// The host's text.
        text: String,
    },
    /// The run has no such dataset; the host's text names the command that
    /// makes it.
    Missing {
        /// Dataset name.
        name: String,
        /// The host's text.
        text: String,
    },
    /// The dataset is older than the bound of the scope or operator; the
    /// host's text names the refresh command.
    Stale {
        /// Dataset name.
        name: String,
        /// The host's text.
        text: String,
    },
    /// The host handed out something else than asked for, or content that
    /// does not match its sha256.
    Corrupt {
        /// Dataset name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// The content is not in the dataset's documented format.
    Malformed {
        /// Dataset name.
        name: String,
        /// What is wrong.
        problem: String,
    },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Denied { name, text } => {
                write!(f, "dataset {name}: denied by the host: {}", one_line(text))
            }
            // The host's text alone: it names the dataset and the command
            // that makes or refreshes it.
            DataError::Missing { text, .. } | DataError::Stale { text, .. } => {
                write!(f, "{}", one_line(text))
            }
            DataError::Corrupt { name, problem } => {
                write!(f, "dataset {name} is corrupt: {}", one_line(problem))
            }
            DataError::Malformed { name, problem } => {
                write!(f, "dataset {name} is malformed: {}", one_line(problem))
            }
        }
    }
}

impl std::error::Error for DataError {}

/// The typed error of a host error for dataset `name`.
pub fn from_host(name: &str, e: host::Error) -> DataError {
    let name = name.to_string();
    match e {
        host::Error::Denied(text) => DataError::Denied { name, text },
        host::Error::Missing(text) => DataError::Missing { name, text },
        host::Error::Stale(text) => DataError::Stale { name, text },
    }
}

/// Check what the host handed out for `name`: the same name, and content
/// whose sha256 is the one stated.
pub fn verify(name: &str, ds: Dataset) -> Result<Dataset, DataError> {
    if ds.name != name {
        return Err(DataError::Corrupt {
            name: name.to_string(),
            problem: format!("the host handed out dataset {:?} instead", ds.name),
        });
    }
    let actual = sha256_hex(&ds.content);
    if !actual.eq_ignore_ascii_case(&ds.sha256) {
        return Err(DataError::Corrupt {
            name: name.to_string(),
            problem: format!(
                "content has sha256 {actual}, the dataset says {}",
                one_line(&ds.sha256)
            ),
        });
    }
    Ok(ds)
}

/// Get dataset `name` from the host (capability `data:<name>:read`), verified
/// with [`verify`].
pub fn get(name: &str) -> Result<Dataset, DataError> {
    let ds = host::get(name).map_err(|e| from_host(name, e))?;
    verify(
        name,
        Dataset {
            name: ds.name,
            generated_at: ds.generated_at,
            sha256: ds.sha256,
            content: ds.content,
        },
    )
}

impl Dataset {
    /// The content as a JSON value.
    pub fn json(&self) -> Result<Value, DataError> {
        self.parse()
    }

    /// The content decoded into `T` (serde); a decode error is
    /// [`DataError::Malformed`] naming the line and column.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, DataError> {
        serde_json::from_slice(&self.content).map_err(|e| DataError::Malformed {
            name: self.name.clone(),
            problem: e.to_string(),
        })
    }

    /// `k8s-releases (generated 2026-11-29T00:00:00Z, sha256 1cc08ff8056e1afe…)`,
    /// for log lines.
    pub fn describe(&self) -> String {
        let short: String = self.sha256.chars().take(16).collect();
        format!(
            "{} (generated {}, sha256 {short}…)",
            one_line(&self.name),
            one_line(&self.generated_at)
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ds(name: &str, content: &str) -> Dataset {
        Dataset {
            name: name.to_string(),
            generated_at: "2026-11-29T00:00:00Z".to_string(),
            sha256: sha256_hex(content.as_bytes()),
            content: content.as_bytes().to_vec(),
        }
    }

    #[test]
    fn verified_datasets_pass() {
        let d = verify("k8s-eol", ds("k8s-eol", r#"{"branches": []}"#)).unwrap();
        assert_eq!(d.json().unwrap(), json!({"branches": []}));
        // upper-case hex is the same digest
        let mut u = ds("k8s-eol", "{}");
        u.sha256 = u.sha256.to_uppercase();
        assert!(verify("k8s-eol", u).is_ok());
        assert!(
            d.describe()
                .starts_with("k8s-eol (generated 2026-11-29T00:00:00Z, sha256 "),
            "{}",
            d.describe()
        );
    }

    #[test]
    fn wrong_name_or_digest_is_corrupt() {
        let e = verify("k8s-eol", ds("k8s-cves", "{}")).unwrap_err();
        assert!(matches!(e, DataError::Corrupt { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "dataset k8s-eol is corrupt: the host handed out dataset \"k8s-cves\" instead"
        );
        let mut d = ds("k8s-eol", "{}");
        d.content = b"{ }".to_vec();
        let e = verify("k8s-eol", d).unwrap_err();
        assert!(matches!(e, DataError::Corrupt { .. }), "{e:?}");
        assert!(e.to_string().contains("the dataset says"), "{e}");
    }

    #[test]
    fn host_errors_keep_the_host_text() {
        let e = from_host(
            "k8s-releases",
            host::Error::Missing(
                "no dataset k8s-releases; make it with `scs-cert data refresh`".into(),
            ),
        );
        assert!(matches!(e, DataError::Missing { .. }));
        assert_eq!(
            e.to_string(),
            "no dataset k8s-releases; make it with `scs-cert data refresh`"
        );
        let e = from_host("k8s-cves", host::Error::Stale("too old:\nrefresh".into()));
        assert!(matches!(e, DataError::Stale { .. }));
        assert_eq!(e.to_string(), "too old: refresh");
        let e = from_host("k8s-eol", host::Error::Denied("not declared".into()));
        assert_eq!(
            e.to_string(),
            "dataset k8s-eol: denied by the host: not declared"
        );
    }

    #[test]
    fn malformed_content() {
        let d = ds("k8s-eol", "not json");
        let e = d.json().unwrap_err();
        assert!(matches!(e, DataError::Malformed { .. }), "{e:?}");
        assert!(e.to_string().starts_with("dataset k8s-eol is malformed: "));
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Want {
            branches: Vec<String>,
        }
        let e = ds("k8s-eol", r#"{"branches": 5}"#)
            .parse::<Want>()
            .unwrap_err();
        assert!(matches!(e, DataError::Malformed { .. }), "{e:?}");
    }
}

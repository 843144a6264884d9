//! The dataset formats (JSON) and their conversion from what the sources publish.
//!
//! Owns: the three datasets of the KaaS version policy (docs/data.md, "Datasets"; d.12 steps
//! 4-7): `k8s-releases` (GitHub release objects reduced to `tag_name`, `draft`, `prerelease`,
//! `published_at`, in GitHub's order), `k8s-cves` (the ids of the official CVE feed, each with
//! the `containers.cna.metrics` entries of its CVE record as fetched and the
//! `containers.cna.affected` entries whose `product` is `Kubernetes`), `k8s-eol`
//! (`k8s-eol-data.yml` as JSON); the CVE id rule (ids become URLs and file names); and
//! checking a dataset's bytes against its format before it is packed or handed out.
//!
//! Must never: reinterpret what a source says (values are copied as fetched; the check
//! decides), reorder releases, or accept a CVE id that is not `CVE-<year>-<number>`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The Kubernetes releases.
pub const RELEASES: &str = "k8s-releases";
/// The official CVE feed with the records.
pub const CVES: &str = "k8s-cves";
/// The end-of-life table.
pub const EOL: &str = "k8s-eol";
/// Every dataset this host knows the format of.
pub const KNOWN: [&str; 3] = [RELEASES, CVES, EOL];

/// Most CVEs taken from one feed (the real feed lists about a hundred).
pub const MAX_CVES: usize = 2_000;
/// Most releases in one dataset (GitHub returns at most 100 per page).
pub const MAX_RELEASES: usize = 1_000;
/// Most end-of-life entries.
pub const MAX_BRANCHES: usize = 1_000;

/// A source's bytes that do not have the expected format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Not the expected JSON or YAML.
    #[error("{what}: {message}")]
    Invalid {
        /// Which source or dataset.
        what: String,
        /// What is wrong.
        message: String,
    },
    /// A CVE id that is not `CVE-<year>-<number>`.
    #[error("{what}: {id:?} is not a CVE id (CVE-<year>-<number>)")]
    CveId {
        /// Which source.
        what: String,
        /// The id, cut to 80 characters.
        id: String,
    },
    /// Over a bound.
    #[error("{what}: more than {limit} entries")]
    TooMany {
        /// Which source.
        what: String,
        /// The bound.
        limit: usize,
    },
}

fn invalid(what: &str, message: impl std::fmt::Display) -> FormatError {
    FormatError::Invalid {
        what: what.to_string(),
        message: message.to_string(),
    }
}

/// One release, as `k8s-releases` holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// e.g. `v1.31.2`.
    pub tag_name: String,
    /// GitHub's `draft`.
    pub draft: bool,
    /// GitHub's `prerelease`.
    pub prerelease: bool,
    /// RFC 3339 (`null` for a draft, as GitHub gives it).
    pub published_at: Option<String>,
}

/// `k8s-releases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Releases {
    /// The URL fetched (or the file read by `data build`).
    pub source: String,
    /// The releases in GitHub's order.
    pub releases: Vec<Release>,
}

/// One CVE of `k8s-cves`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cve {
    /// `CVE-<year>-<number>`.
    pub id: String,
    /// `containers.cna.metrics` of the record, as fetched (empty when the record has none).
    pub metrics: Vec<Value>,
    /// `containers.cna.affected` entries whose `product` is `Kubernetes`, as fetched.
    pub affected: Vec<Value>,
}

/// `k8s-cves`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cves {
    /// The feed URL.
    pub source: String,
    /// The record URL template (`{id}` stands for the CVE id).
    pub records_source: String,
    /// One entry per CVE id of the feed, in the feed's order (first occurrence).
    pub cves: Vec<Cve>,
}

/// `k8s-eol`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Eol {
    /// The URL fetched.
    pub source: String,
    /// The entries of k8s-eol-data.yml, each with at least `branch` and `end-of-life`
    /// (strings), other keys kept.
    pub branches: Vec<serde_json::Map<String, Value>>,
}

/// Pretty JSON and a newline: the bytes a dataset is packed as.
pub fn to_bytes<T: Serialize>(value: &T) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(value).unwrap_or_default();
    v.push(b'\n');
    v
}

/// Whether `id` is `CVE-<4 digits>-<4 to 19 digits>`.
pub fn valid_cve_id(id: &str) -> bool {
    let mut parts = id.split('-');
    let ok = |p: Option<&str>, min: usize, max: usize| {
        p.is_some_and(|p| (min..=max).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()))
    };
    parts.next() == Some("CVE")
        && ok(parts.next(), 4, 4)
        && ok(parts.next(), 4, 19)
        && parts.next().is_none()
}

/// `k8s-releases` from the GitHub releases API answer (a JSON array of release objects).
pub fn releases_from_github(bytes: &[u8], source: &str) -> Result<Releases, FormatError> {
    let what = "the GitHub releases";
    let list: Vec<Value> = serde_json::from_slice(bytes)
        .map_err(|e| invalid(what, format!("not a JSON array of releases: {e}")))?;
    if list.len() > MAX_RELEASES {
        return Err(FormatError::TooMany {
            what: what.into(),
            limit: MAX_RELEASES,
        });
    }
    let mut releases = Vec::with_capacity(list.len());
    for (i, r) in list.iter().enumerate() {
        let field = |k: &str| invalid(what, format!("release {i}: `{k}` missing or mistyped"));
        let published_at = match &r["published_at"] {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            _ => return Err(field("published_at")),
        };
        releases.push(Release {
            tag_name: r["tag_name"]
                .as_str()
                .ok_or_else(|| field("tag_name"))?
                .to_string(),
            draft: r["draft"].as_bool().ok_or_else(|| field("draft"))?,
            prerelease: r["prerelease"]
                .as_bool()
                .ok_or_else(|| field("prerelease"))?,
            published_at,
        });
    }
    Ok(Releases {
        source: source.to_string(),
        releases,
    })
}

/// The CVE ids of the official CVE feed (JSON Feed: `items[].id`), first occurrence first.
pub fn cve_ids_from_feed(bytes: &[u8]) -> Result<Vec<String>, FormatError> {
    let what = "the CVE feed";
    let feed: Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(what, format!("not JSON: {e}")))?;
    let items = feed["items"]
        .as_array()
        .ok_or_else(|| invalid(what, "no `items` array"))?;
    if items.len() > MAX_CVES {
        return Err(FormatError::TooMany {
            what: what.into(),
            limit: MAX_CVES,
        });
    }
    let mut ids: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let id = item["id"]
            .as_str()
            .ok_or_else(|| invalid(what, format!("items[{i}]: no `id` string")))?;
        if !valid_cve_id(id) {
            return Err(FormatError::CveId {
                what: format!("{what}, items[{i}]"),
                id: id.chars().take(80).collect(),
            });
        }
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_string());
        }
    }
    Ok(ids)
}

/// One CVE from its CVE record (CVE JSON 5): the record must be a JSON object whose
/// `cveMetadata.cveId`, when present, is `id`.
pub fn cve_from_record(id: &str, bytes: &[u8]) -> Result<Cve, FormatError> {
    let what = format!("the CVE record of {id}");
    let rec: Value =
        serde_json::from_slice(bytes).map_err(|e| invalid(&what, format!("not JSON: {e}")))?;
    if !rec.is_object() {
        return Err(invalid(&what, "not a JSON object"));
    }
    if let Some(other) = rec["cveMetadata"]["cveId"].as_str()
        && other != id
    {
        return Err(invalid(
            &what,
            format!(
                "it is the record of {}",
                other.chars().take(80).collect::<String>()
            ),
        ));
    }
    let cna = &rec["containers"]["cna"];
    let list = |v: &Value, key: &str| -> Result<Vec<Value>, FormatError> {
        match v {
            Value::Null => Ok(Vec::new()),
            Value::Array(a) => Ok(a.clone()),
            _ => Err(invalid(
                &what,
                format!("containers.cna.{key} is not a list"),
            )),
        }
    };
    let metrics = list(&cna["metrics"], "metrics")?;
    let affected = list(&cna["affected"], "affected")?
        .into_iter()
        .filter(|a| a["product"].as_str() == Some("Kubernetes"))
        .collect();
    Ok(Cve {
        id: id.to_string(),
        metrics,
        affected,
    })
}

/// `k8s-eol` from k8s-eol-data.yml (a YAML list of `{branch, end-of-life}`).
pub fn eol_from_yaml(bytes: &[u8], source: &str) -> Result<Eol, FormatError> {
    let what = "the EOL table";
    let text = std::str::from_utf8(bytes).map_err(|_| invalid(what, "not UTF-8"))?;
    let list: Vec<serde_json::Map<String, Value>> = yaml_serde::from_str(text)
        .map_err(|e| invalid(what, format!("not a YAML list of branches: {e}")))?;
    if list.len() > MAX_BRANCHES {
        return Err(FormatError::TooMany {
            what: what.into(),
            limit: MAX_BRANCHES,
        });
    }
    let eol = Eol {
        source: source.to_string(),
        branches: list,
    };
    check_eol(&eol, what)?;
    Ok(eol)
}

fn check_eol(eol: &Eol, what: &str) -> Result<(), FormatError> {
    for (i, b) in eol.branches.iter().enumerate() {
        for key in ["branch", "end-of-life"] {
            if !b.get(key).is_some_and(Value::is_string) {
                return Err(invalid(
                    what,
                    format!("entry {i}: `{key}` missing or not a string (quote it in the YAML)"),
                ));
            }
        }
    }
    Ok(())
}

/// Check a dataset's bytes against its format (known names only; other names must be JSON).
pub fn validate(name: &str, bytes: &[u8]) -> Result<(), FormatError> {
    let what = format!("dataset {name}");
    let parse = |e: serde_json::Error| invalid(&what, format!("does not have its format: {e}"));
    match name {
        RELEASES => {
            let r: Releases = serde_json::from_slice(bytes).map_err(parse)?;
            if r.releases.len() > MAX_RELEASES {
                return Err(FormatError::TooMany {
                    what,
                    limit: MAX_RELEASES,
                });
            }
        }
        CVES => {
            let c: Cves = serde_json::from_slice(bytes).map_err(parse)?;
            if c.cves.len() > MAX_CVES {
                return Err(FormatError::TooMany {
                    what,
                    limit: MAX_CVES,
                });
            }
            if let Some(bad) = c.cves.iter().find(|c| !valid_cve_id(&c.id)) {
                return Err(FormatError::CveId {
                    what,
                    id: bad.id.chars().take(80).collect(),
                });
            }
        }
        EOL => {
            let e: Eol = serde_json::from_slice(bytes).map_err(parse)?;
            check_eol(&e, &what)?;
        }
        _ => {
            serde_json::from_slice::<Value>(bytes).map_err(parse)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cve_ids() {
        assert!(valid_cve_id("CVE-2024-10220"));
        assert!(valid_cve_id("CVE-2023-5528"));
        for bad in [
            "CVE-24-1234",
            "cve-2024-1234",
            "CVE-2024-12",
            "CVE-2024-1234/../x",
            "CVE-2024-1234-1",
            "",
        ] {
            assert!(!valid_cve_id(bad), "{bad}");
        }
    }

    #[test]
    fn conversions() {
        let gh = br#"[{"tag_name":"v1.31.2","name":"Kubernetes v1.31.2","draft":false,"prerelease":false,"published_at":"2024-10-22T20:26:55Z","assets":[]}]"#;
        let r = releases_from_github(gh, "u").expect("releases");
        assert_eq!(r.releases[0].tag_name, "v1.31.2");
        assert!(releases_from_github(br#"[{"tag_name":1}]"#, "u").is_err());
        let feed = br#"{"version":"https://jsonfeed.org/version/1.1","items":[{"id":"CVE-2024-1"},{"id":"CVE-2024-10220"},{"id":"CVE-2024-10220"}]}"#;
        assert!(cve_ids_from_feed(feed).is_err());
        let feed = br#"{"items":[{"id":"CVE-2024-10220"},{"id":"CVE-2024-10220"},{"id":"CVE-2023-5528"}]}"#;
        assert_eq!(
            cve_ids_from_feed(feed).expect("ids"),
            vec!["CVE-2024-10220", "CVE-2023-5528"]
        );
        let rec = br#"{"cveMetadata":{"cveId":"CVE-2024-10220"},"containers":{"cna":{"metrics":[{"cvssV3_1":{"baseScore":8.1}}],"affected":[{"product":"Kubernetes","versions":[]},{"product":"kubelet"}]}}}"#;
        let c = cve_from_record("CVE-2024-10220", rec).expect("cve");
        assert_eq!(c.affected.len(), 1);
        assert_eq!(c.metrics.len(), 1);
        assert!(cve_from_record("CVE-2023-5528", rec).is_err());
        let eol =
            eol_from_yaml(b"- branch: '1.31'\n  end-of-life: '2025-10-28'\n", "u").expect("eol");
        assert_eq!(eol.branches[0]["branch"], "1.31");
        assert!(eol_from_yaml(b"- branch: 1.30\n  end-of-life: '2025-10-28'\n", "u").is_err());
        for (name, bytes) in [(RELEASES, to_bytes(&r)), (EOL, to_bytes(&eol))] {
            validate(name, &bytes).expect("valid");
        }
        assert!(validate(EOL, br#"{"source":"u","branches":[{"branch":"1.31"}]}"#).is_err());
    }
}

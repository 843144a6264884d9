//! The decision of `version-policy-check` (docs/official-behaviour.md d.12,
//! "Version policy"), as pure functions of the datasets, the cluster's
//! `/version` answer and the current time.
//!
//! Owns: the supported branches from the end-of-life table
//! ([`supported_branches`], d.12 point 1), the cluster version
//! ([`cluster_version`], point 2), the critical CVE ranges
//! ([`critical_ranges`], points 5-7), the recency test over the releases
//! ([`check_recency`], point 4 and the verdict paragraph), the verdict
//! ([`decide`]) and the whole procedure in the official order
//! ([`evaluate`]), which reads its inputs through [`Sources`] so that the
//! host calls stay in lib.rs and everything here runs natively in tests.
//!
//! Time: every function takes `now` as a naive date-time in milliseconds
//! since 1970-01-01T00:00 (see the crate docs for which clock that is).
//! The thresholds compare strictly (`age > 31 days`), as the official
//! timedelta comparisons do.
//!
//! Must never: read a clock or the host, or decide differently from the
//! official script on the same data and time; every Python exception of the
//! official code is an `Err` here (→ ABORT).

use crate::pytime::{DAY_MS, parse_date, parse_github_time};
use crate::pyvalue::PyValue;
use crate::version::{
    Branch, K8sVersion, VersionRange, is_high_severity, parse_cve_version_information,
    parse_version, parse_version_value, py_int,
};
use scs_check_sdk::lines::Lines;
use std::collections::BTreeMap;

/// The official PATCH_VERSION_CADENCE: a newer patch release older than
/// this must have been installed.
pub const PATCH_VERSION_CADENCE_MS: i64 = 31 * DAY_MS;
/// The official CVE_VERSION_CADENCE (2 weeks): with a critical CVE, a newer
/// patch release older than this must have been installed.
pub const CVE_VERSION_CADENCE_MS: i64 = 14 * DAY_MS;
/// The official CVE_VERSION_CADENCE_WARN: with a critical CVE, a newer patch
/// release older than this gives a WARNING.
pub const CVE_VERSION_CADENCE_WARN_MS: i64 = 2 * DAY_MS;

/// Dataset names (docs/data.md).
pub const DATASET_RELEASES: &str = "k8s-releases";
/// The CVE dataset.
pub const DATASET_CVES: &str = "k8s-cves";
/// The end-of-life table.
pub const DATASET_EOL: &str = "k8s-eol";

/// The keys the Kubernetes client requires in a `/version` answer: the
/// official script reads it through kubernetes_asyncio's `VersionInfo`,
/// whose client-side validation raises `ValueError` when one of them is
/// missing or null (d.12 point 2; a real API server always sends them).
pub const VERSION_INFO_REQUIRED: [&str; 9] = [
    "buildDate",
    "compiler",
    "gitCommit",
    "gitTreeState",
    "gitVersion",
    "goVersion",
    "major",
    "minor",
    "platform",
];

/// The official `parse_branch_info` for one entry of the end-of-life
/// table: `branch` split at `.` into exactly two `int()` parts, and
/// `end-of-life` through `strptime("%Y-%m-%d")` (naive midnight). A missing
/// key, a non-string value or a parse failure raises (→ ABORT).
pub fn parse_branch_info(item: &PyValue) -> Result<(Branch, i64), String> {
    let branch = item.getitem("branch")?;
    let Some(text) = branch.as_str() else {
        return Err(format!(
            "AttributeError: '{}' object has no attribute 'split'",
            branch.type_name()
        ));
    };
    let parts: Vec<&str> = text.split('.').collect();
    let [major, minor] = parts.as_slice() else {
        return Err(format!(
            "ValueError: branch {text:?} is not two `.`-separated parts"
        ));
    };
    let (Some(major), Some(minor)) = (py_int(major), py_int(minor)) else {
        return Err(format!(
            "ValueError: invalid literal for int() in branch {text:?}"
        ));
    };
    let eol = item.getitem("end-of-life")?;
    let Some(eol) = eol.as_str() else {
        return Err(format!(
            "TypeError: strptime() argument 1 must be str, not {}",
            eol.type_name()
        ));
    };
    Ok((Branch { major, minor }, parse_date(eol)?))
}

/// The official `determine_supported_branches` (d.12 point 1): the
/// branches whose end-of-life lies after `now` (strictly). Every entry is
/// parsed first (one bad entry → ABORT); a branch listed twice counts once,
/// with the date of its **last** entry (the official code builds a dict).
/// Fewer than 3 supported branches: a WARNING; fewer than 2: ABORT.
pub fn supported_branches(
    entries: &PyValue,
    now: i64,
    dataset: &str,
    lines: &mut Lines,
) -> Result<Vec<Branch>, String> {
    let mut by_branch: BTreeMap<Branch, i64> = BTreeMap::new();
    for item in entries.iter()? {
        let (branch, eol) = parse_branch_info(&item)?;
        by_branch.insert(branch, eol);
    }
    let supported: Vec<Branch> = by_branch
        .into_iter()
        .filter(|(_, eol)| now < *eol)
        .map(|(b, _)| b)
        .collect();
    if supported.len() < 3 {
        lines.warning(format!("The EOL data in {dataset} isn't up-to-date."));
    }
    if supported.len() < 2 {
        return Err(format!(
            "RuntimeError: The EOL data in {dataset} is critically outdated!"
        ));
    }
    Ok(supported)
}

/// The cluster version from the body of `GET /version` (d.12 point 2): a
/// JSON object with every key of [`VERSION_INFO_REQUIRED`] present and not
/// null (else the client's `ValueError`), and `gitVersion` through the
/// official `parse_version` (quirk: `v1.33.4-gke.1` → ABORT).
pub fn cluster_version(body: &[u8]) -> Result<K8sVersion, String> {
    let info: PyValue = serde_json::from_slice(body)
        .map_err(|e| format!("the /version answer is not JSON: {e}"))?;
    if !matches!(info, PyValue::Dict(_)) {
        return Err(format!(
            "ValueError: the /version answer is a {}, not an object",
            info.type_name()
        ));
    }
    for key in VERSION_INFO_REQUIRED {
        if matches!(info.getitem(key), Err(_) | Ok(PyValue::None)) {
            return Err(format!(
                "ValueError: Invalid value for `{key}` in the /version answer, must not be `None`"
            ));
        }
    }
    parse_version_value(info.getitem("gitVersion")?)
}

/// The official `collect_cve_versions` over the `cves` of the k8s-cves
/// dataset (d.12 points 5-7), in dataset order: an entry without `metrics`
/// or `affected` is skipped with a DEBUG line (the official `KeyError`
/// branch); for a critical entry ([`is_high_severity`]) every affected entry
/// whose `product` is `"Kubernetes"` contributes a range for each of its
/// `versions` whose `status` is `"affected"`. Any other irregularity raises
/// (→ ABORT), even for a cluster that turns out to be EOL: the official
/// script collects the CVEs before it decides. The result is a set (equal
/// ranges once), in order of first appearance.
pub fn critical_ranges(cves: &PyValue, lines: &mut Lines) -> Result<Vec<VersionRange>, String> {
    let mut out: Vec<VersionRange> = Vec::new();
    for cve in cves.iter()? {
        let (metrics, affected) = match (cve.getitem("metrics"), cve.getitem("affected")) {
            (Ok(m), Ok(a)) => (m, a),
            (Err(e), _) | (_, Err(e)) if e.starts_with("KeyError") => {
                let id = cve
                    .getitem("id")
                    .ok()
                    .and_then(PyValue::as_str)
                    .unwrap_or("<ID NOT SET>");
                lines.debug(format!(
                    "The key {} couldn't be found in the CVE json data for CVE {id}.",
                    e.trim_start_matches("KeyError: ")
                ));
                continue;
            }
            (Err(e), _) | (_, Err(e)) => return Err(e),
        };
        if !is_high_severity(metrics)? {
            continue;
        }
        for aff in affected.iter()? {
            if !aff.getitem("product")?.eq_str("Kubernetes") {
                continue;
            }
            for vi in aff.getitem("versions")?.iter()? {
                if !vi.getitem("status")?.eq_str("affected") {
                    continue;
                }
                let range = parse_cve_version_information(&vi)?;
                if !out.contains(&range) {
                    out.push(range);
                }
            }
        }
    }
    Ok(out)
}

/// One GitHub release as the official `parse_github_release_data` reads it:
/// `tag_name` split at `-` (the part before the first `-` through
/// `parse_version`, so `v1.29.3-dev0` is 1.29.3) and `published_at` through
/// `strptime("%Y-%m-%dT%H:%M:%SZ")` as a naive date-time.
pub fn parse_release(release: &PyValue) -> Result<(K8sVersion, i64), String> {
    let tag = release.getitem("tag_name")?;
    let Some(tag) = tag.as_str() else {
        return Err(format!(
            "AttributeError: '{}' object has no attribute 'split'",
            tag.type_name()
        ));
    };
    let version = parse_version(tag.split('-').next().unwrap_or_default())?;
    let published = release.getitem("published_at")?;
    let Some(published) = published.as_str() else {
        return Err(format!(
            "TypeError: strptime() argument 1 must be str, not {}",
            published.type_name()
        ));
    };
    Ok((version, parse_github_time(published)?))
}

/// The official `check_k8s_version_recency`: walk the releases **in dataset
/// order** (GitHub's), skipping drafts and pre-releases (Python truthiness;
/// `draft` is read first and `prerelease` only when `draft` is falsy; a
/// missing key raises). Every other release is parsed (a malformed one
/// raises → ABORT, whatever its branch), then releases of another branch or
/// with a patch not above `mine` are skipped. For a newer patch release:
/// older than 31 days → `false` at once (the releases after it are not
/// looked at, so a malformed one there does not ABORT); if `mine` lies in a
/// critical CVE range and the release is older than 2 days, a WARNING, and
/// older than 14 days → `false`.
pub fn check_recency(
    mine: K8sVersion,
    releases: &PyValue,
    ranges: &[VersionRange],
    now: i64,
    lines: &mut Lines,
) -> Result<bool, String> {
    let affected = ranges.iter().any(|r| r.contains(mine));
    for release in releases.iter()? {
        if release.getitem("draft")?.truthy() || release.getitem("prerelease")?.truthy() {
            continue;
        }
        let (version, published) = parse_release(&release)?;
        if version.branch() != mine.branch() || mine.patch >= version.patch {
            continue;
        }
        // d.12 quirk (time): the age is naive `now` minus the naive
        // `published_at`; see the crate docs for the time zone.
        let age = now - published;
        if age > PATCH_VERSION_CADENCE_MS {
            return Ok(false);
        }
        if affected && age > CVE_VERSION_CADENCE_WARN_MS {
            lines.warning(format!(
                "Consider updating from {mine} to {version} to avoid a CVE"
            ));
            if age > CVE_VERSION_CADENCE_MS {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// The verdict of the testcase and a one-line reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// PASS (`true`) or FAIL.
    pub pass: bool,
    /// Why, in one line (empty for PASS).
    pub reason: String,
}

/// The official `compute_version_policy_check`: a cluster on an unsupported
/// branch FAILs; else [`check_recency`] decides, and a FAIL lists one
/// ERROR line per distinct critical range the version lies in, then the
/// "outdated" line.
pub fn decide(
    supported: &[Branch],
    ranges: &[VersionRange],
    releases: &PyValue,
    version: K8sVersion,
    cluster: &str,
    now: i64,
    lines: &mut Lines,
) -> Result<Decision, String> {
    if !supported.contains(&version.branch()) {
        lines.error(format!(
            "The K8s cluster version {version} of cluster '{cluster}' is already EOL."
        ));
        return Ok(Decision {
            pass: false,
            reason: format!(
                "cluster version {version}: branch {} is EOL",
                version.branch()
            ),
        });
    }
    if check_recency(version, releases, ranges, now, lines)? {
        lines.info(format!(
            "The K8s cluster version {version} of cluster '{cluster}' is still in the recency time window."
        ));
        return Ok(Decision {
            pass: true,
            reason: String::new(),
        });
    }
    let mut with_cve = false;
    for _ in ranges.iter().filter(|r| r.contains(version)) {
        with_cve = true;
        lines.error(format!(
            "The K8s cluster version {version} of cluster '{cluster}' is an outdated version with a possible CRITICAL CVE."
        ));
    }
    lines.error(format!(
        "The K8s cluster version {version} of cluster '{cluster}' is outdated according to the standard."
    ));
    let reason = if with_cve {
        format!(
            "cluster version {version} is outdated: a critical CVE affects it and a newer patch release is older than 14 days"
        )
    } else {
        format!(
            "cluster version {version} is outdated: a newer patch release is older than 31 days"
        )
    };
    Ok(Decision {
        pass: false,
        reason,
    })
}

/// A dataset as the procedure needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The content (JSON).
    pub content: Vec<u8>,
    /// `k8s-eol (generated …, sha256 …)`, for an INFO line.
    pub describe: String,
}

/// The cluster as the procedure needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    /// The kubeconfig context (the official messages name the cluster by it).
    pub context: String,
    /// The body of a 2xx answer to `GET /version`.
    pub version_body: Vec<u8>,
}

/// Where [`evaluate`] gets its inputs: the host in the component, fixtures
/// in tests. An `Err` is a one-line text that becomes the ABORT reason (for a
/// missing or stale dataset, the host's text naming the refresh command).
pub trait Sources {
    /// Dataset `name`.
    fn dataset(&mut self, name: &str) -> Result<Loaded, String>;
    /// The cluster's context and `/version` answer.
    fn cluster(&mut self) -> Result<Cluster, String>;
}

/// `key` of a dataset's top-level object, which must be a list (docs/data.md).
fn dataset_list(name: &str, loaded: &Loaded, key: &str) -> Result<PyValue, String> {
    let doc: PyValue = serde_json::from_slice(&loaded.content)
        .map_err(|e| format!("dataset {name} is not JSON: {e}"))?;
    match doc.getitem(key) {
        Ok(v @ PyValue::List(_)) => Ok(v.clone()),
        Ok(other) => Err(format!(
            "dataset {name}: `{key}` is a {}, not a list",
            other.type_name()
        )),
        Err(_) => Err(format!("dataset {name} has no list `{key}`")),
    }
}

/// The whole of `version-policy-check` in the official order: the
/// supported branches first (WARNING / ABORT before anything else is read),
/// then the critical CVE ranges, the releases and the cluster version (any
/// failure → ABORT), then [`decide`].
pub fn evaluate(src: &mut dyn Sources, now: i64, lines: &mut Lines) -> Result<Decision, String> {
    let eol = src.dataset(DATASET_EOL)?;
    lines.info(format!("end-of-life data: {}", eol.describe));
    let supported = supported_branches(
        &dataset_list(DATASET_EOL, &eol, "branches")?,
        now,
        &format!("dataset {DATASET_EOL}"),
        lines,
    )?;
    let cves = src.dataset(DATASET_CVES)?;
    lines.info(format!("CVE data: {}", cves.describe));
    let ranges = critical_ranges(&dataset_list(DATASET_CVES, &cves, "cves")?, lines)?;
    let releases = src.dataset(DATASET_RELEASES)?;
    lines.info(format!("release data: {}", releases.describe));
    let releases = dataset_list(DATASET_RELEASES, &releases, "releases")?;
    let cluster = src.cluster()?;
    let version = cluster_version(&cluster.version_body)?;
    lines.info(format!(
        "Checking cluster '{}': version {version}.",
        cluster.context
    ));
    decide(
        &supported,
        &ranges,
        &releases,
        version,
        &cluster.context,
        now,
        lines,
    )
}

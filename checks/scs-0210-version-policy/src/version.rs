//! Kubernetes versions, branches and CVE version ranges as the official
//! version policy script parses them (docs/official-behaviour.md d.12).
//!
//! Owns: Python's `int()` for version parts ([`py_int`]), the official
//! `parse_version` ([`parse_version`]), [`K8sVersion`], [`Branch`],
//! [`VersionRange`] with its membership test, the criticality test of a
//! CVE's metrics ([`is_high_severity`], d.12 point 6) and the parsing of one
//! affected-version entry into a range ([`parse_cve_version_information`],
//! d.12 point 7), quirks included.
//!
//! Must never: accept what the official code refuses or refuse what it
//! accepts (every Python exception is an `Err`, which becomes ABORT), or read
//! a clock.

use crate::pyvalue::PyValue;
use scs_check_sdk::python_str::{decimal_value, is_space, strip};
use std::fmt;

/// `major.minor.patch`. Ordered as the official frozen dataclass:
/// lexicographically by (major, minor, patch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct K8sVersion {
    /// Major.
    pub major: i64,
    /// Minor.
    pub minor: i64,
    /// Patch.
    pub patch: i64,
}

/// `0.0.0`, the lower bound of a range whose `version` does not parse.
pub const MINIMUM: K8sVersion = K8sVersion {
    major: 0,
    minor: 0,
    patch: 0,
};

impl K8sVersion {
    /// A version.
    pub const fn new(major: i64, minor: i64, patch: i64) -> K8sVersion {
        K8sVersion {
            major,
            minor,
            patch,
        }
    }
    /// Its release branch (`major.minor`).
    pub fn branch(&self) -> Branch {
        Branch {
            major: self.major,
            minor: self.minor,
        }
    }
}

impl fmt::Display for K8sVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// A release branch, `major.minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Branch {
    /// Major.
    pub major: i64,
    /// Minor.
    pub minor: i64,
}

impl fmt::Display for Branch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Python's `int(text)` for a `str`: surrounding whitespace, an optional
/// sign, Unicode decimal digits with single underscores between them.
/// `None` where Python raises `ValueError`. Python's integers are unbounded;
/// a value beyond `i64` is refused here (no version part comes near it).
pub fn py_int(text: &str) -> Option<i64> {
    let t = strip(text);
    let (negative, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return None;
    }
    let mut value: i64 = 0;
    let mut last_underscore = false;
    for c in digits.chars() {
        if c == '_' {
            if last_underscore {
                return None;
            }
            last_underscore = true;
            continue;
        }
        last_underscore = false;
        let d = decimal_value(c)?;
        value = value.checked_mul(10)?.checked_add(i64::from(d))?;
    }
    Some(if negative { -value } else { value })
}

/// The official `parse_version`: strip whitespace, remove one leading `v`,
/// drop everything from the first `+`, then exactly three `int()` parts
/// separated by `.`; anything else is the official `ValueError`
/// "Unrecognized version format" (d.12 quirk: `v1.33.4-gke.1` has four
/// parts and is refused, so a provider's gitVersion of that shape ABORTs).
pub fn parse_version(text: &str) -> Result<K8sVersion, String> {
    let refused = || format!("ValueError: Unrecognized version format: {text}");
    let cleansed = strip(text);
    let cleansed = cleansed.strip_prefix('v').unwrap_or(cleansed);
    let cleansed = cleansed.split('+').next().unwrap_or("");
    let parts: Vec<&str> = cleansed.split('.').collect();
    let [major, minor, patch] = parts.as_slice() else {
        return Err(refused());
    };
    match (py_int(major), py_int(minor), py_int(patch)) {
        (Some(major), Some(minor), Some(patch)) => Ok(K8sVersion::new(major, minor, patch)),
        _ => Err(refused()),
    }
}

/// The official `parse_version` applied to a JSON value: a non-string has no
/// `.strip()` (`AttributeError`).
pub fn parse_version_value(v: &PyValue) -> Result<K8sVersion, String> {
    match v.as_str() {
        Some(s) => parse_version(s),
        None => Err(format!(
            "AttributeError: '{}' object has no attribute 'strip'",
            v.type_name()
        )),
    }
}

/// A version range: `[lower, upper)`, `[lower, upper]` when `inclusive`, or
/// just `lower` when there is no upper bound (the official `VersionRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct VersionRange {
    /// Lower bound, inclusive.
    pub lower: K8sVersion,
    /// Upper bound, if any.
    pub upper: Option<K8sVersion>,
    /// Whether `upper` belongs to the range.
    pub inclusive: bool,
}

impl VersionRange {
    /// The official constructor: an upper bound below the lower one raises
    /// `ValueError` (which ABORTs the whole check, since it happens while
    /// the CVE data is collected).
    pub fn new(
        lower: K8sVersion,
        upper: Option<K8sVersion>,
        inclusive: bool,
    ) -> Result<VersionRange, String> {
        if let Some(u) = upper
            && u < lower
        {
            return Err(format!(
                "ValueError: lower_version must be lower than upper_version ({lower} > {u})"
            ));
        }
        Ok(VersionRange {
            lower,
            upper,
            inclusive,
        })
    }

    /// `version in range` (d.12 point 7: without an upper bound, equality
    /// with the lower bound).
    pub fn contains(&self, v: K8sVersion) -> bool {
        match self.upper {
            None => self.lower == v,
            Some(u) if self.inclusive => self.lower <= v && v <= u,
            Some(u) => self.lower <= v && v < u,
        }
    }
}

/// `re.search(r'[cC][vV][sS]{1,2}V\d', key)`: a metric key that names a
/// CVSS score (`cvssV3_1`, `cvssV4_0`, `CVSSV2`, `cvsV3` …; the `V` before
/// the digit is upper-case only).
pub fn is_cvss_key(key: &str) -> bool {
    let c: Vec<char> = key.chars().collect();
    let at = |i: usize, f: &dyn Fn(char) -> bool| c.get(i).is_some_and(|x| f(*x));
    let s = |x: char| x == 's' || x == 'S';
    (0..c.len()).any(|i| {
        at(i, &|x| x == 'c' || x == 'C')
            && at(i + 1, &|x| x == 'v' || x == 'V')
            && at(i + 2, &s)
            // {1,2}: greedy two, else one
            && ((at(i + 3, &s) && at(i + 4, &|x| x == 'V') && at(i + 5, &|x| decimal_value(x).is_some()))
                || (at(i + 3, &|x| x == 'V') && at(i + 4, &|x| decimal_value(x).is_some())))
    })
}

/// The official `is_high_severity` (d.12 point 6): some metric entry has a
/// CVSS key whose `baseScore >= 8`. As in Python's `any(...)`, entries and
/// their keys are visited in order and the first hit ends the search, so an
/// entry that would raise after a hit is never looked at; before a hit, a
/// non-dict entry, a CVSS value without `baseScore` or a non-numeric score
/// raises (→ ABORT).
pub fn is_high_severity(metrics: &PyValue) -> Result<bool, String> {
    for entry in metrics.iter()? {
        for (key, value) in entry.items()? {
            if is_cvss_key(key) && value.getitem("baseScore")?.ge_number(CVE_SEVERITY)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// The official CVE_SEVERITY: CVSS base score 8 or more is critical.
pub const CVE_SEVERITY: i64 = 8;

/// Whether `re.search(r'\d+\.\d+\.x', s)` finds something.
fn has_x_version(s: &[char]) -> bool {
    (0..s.len()).any(|i| {
        let mut j = i;
        for _ in 0..2 {
            let start = j;
            while s.get(j).is_some_and(|c| decimal_value(*c).is_some()) {
                j += 1;
            }
            if j == start || s.get(j) != Some(&'.') {
                return false;
            }
            j += 1;
        }
        s.get(j) == Some(&'x')
    })
}

/// Match `\d+\.\d+\.\d+` at `j`; the end, if it matches.
fn three_numbers(s: &[char], mut j: usize) -> Option<usize> {
    for part in 0..3 {
        let start = j;
        while s.get(j).is_some_and(|c| decimal_value(*c).is_some()) {
            j += 1;
        }
        if j == start {
            return None;
        }
        if part < 2 {
            if s.get(j) != Some(&'.') {
                return None;
            }
            j += 1;
        }
    }
    Some(j)
}

/// Whether `re.search(r'v?\d+\.\d+\.\d+\s+-\s+v?\d+\.\d+\.\d+', s)` finds
/// something (`\s` is Python's whitespace).
fn has_dash_range(s: &[char]) -> bool {
    let ws = |j: &mut usize| {
        let start = *j;
        while s.get(*j).is_some_and(|c| is_space(*c)) {
            *j += 1;
        }
        *j > start
    };
    (0..s.len()).any(|i| {
        let Some(mut j) = three_numbers(s, i) else {
            return false;
        };
        if !ws(&mut j) || s.get(j) != Some(&'-') {
            return false;
        }
        j += 1;
        if !ws(&mut j) {
            return false;
        }
        if s.get(j) == Some(&'v') {
            j += 1;
        }
        three_numbers(s, j).is_some()
    })
}

/// The official `parse_cve_version_information` for one affected-version
/// entry `vi` (a dict whose `status` is `affected`), d.12 point 7:
///
/// - lower bound: `vi['version']` if it parses (a missing key raises, a
///   non-string raises; only a parse failure is tolerated);
/// - upper bound: `lessThanOrEqual` (inclusive) if present, else `lessThan`
///   (exclusive); an upper bound that does not parse raises (→ ABORT);
/// - only when neither bound was found, the fallbacks for non-standard
///   strings, both tried in this order, the second winning:
///   - quirk `x.y.x` (`\d+\.\d+\.x` anywhere): lower = upper = `x.y.0`,
///     exclusive, so the range is empty and never matches; the first two
///     `.`-separated pieces of the string with `v` stripped from both ends
///     must be integers, else `ValueError` (→ ABORT);
///   - quirk `a - b` (`\d+\.\d+\.\d+\s+-\s+v?\d+\.\d+\.\d+` anywhere): the
///     string split at `-`, pieces 0 and 1 parsed as versions (failure →
///     ABORT); the upper bound stays **exclusive**;
/// - quirk: a lower bound that is still missing is `0.0.0`, so
///   `{"version": "unspecified", "lessThan": "1.30.0"}` covers everything
///   below 1.30.0, and `{"version": "unspecified"}` alone is the single
///   version 0.0.0;
/// - an upper bound below the lower one raises (→ ABORT).
pub fn parse_cve_version_information(vi: &PyValue) -> Result<VersionRange, String> {
    let version = vi.getitem("version")?;
    let mut lower = match parse_version_value(version) {
        Ok(v) => Some(v),
        Err(e) if e.starts_with("ValueError") => None,
        Err(e) => return Err(e),
    };
    let mut upper = None;
    let mut inclusive = false;
    if vi.contains_key("lessThanOrEqual")? {
        upper = Some(parse_version_value(vi.getitem("lessThanOrEqual")?)?);
        inclusive = true;
    } else if vi.contains_key("lessThan")? {
        upper = Some(parse_version_value(vi.getitem("lessThan")?)?);
    }
    if lower.is_none() && upper.is_none() {
        // `version` is a str here: a non-str raised above
        let text = version.as_str().unwrap_or_default();
        let chars: Vec<char> = text.chars().collect();
        if has_x_version(&chars) {
            let pieces: Vec<&str> = text.trim_matches('v').split('.').collect();
            let major = pieces.first().and_then(|p| py_int(p));
            let minor = pieces.get(1).and_then(|p| py_int(p));
            let (Some(major), Some(minor)) = (major, minor) else {
                return Err(format!(
                    "ValueError: invalid literal for int() in x.y.x version {text:?}"
                ));
            };
            lower = Some(K8sVersion::new(major, minor, 0));
            upper = Some(K8sVersion::new(major, minor, 0));
        }
        if has_dash_range(&chars) {
            let mut pieces = text.split('-');
            lower = Some(parse_version(pieces.next().unwrap_or_default())?);
            upper = Some(parse_version(pieces.next().unwrap_or_default())?);
        }
    }
    VersionRange::new(lower.unwrap_or(MINIMUM), upper, inclusive)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn v(major: i64, minor: i64, patch: i64) -> K8sVersion {
        K8sVersion::new(major, minor, patch)
    }

    fn py(text: &str) -> PyValue {
        serde_json::from_str(text).unwrap()
    }

    fn range(lower: K8sVersion, upper: Option<K8sVersion>, inclusive: bool) -> VersionRange {
        VersionRange::new(lower, upper, inclusive).unwrap()
    }

    #[test]
    fn python_int() {
        for (t, want) in [
            ("1", Some(1)),
            (" 28 ", Some(28)),
            ("+3", Some(3)),
            ("-3", Some(-3)),
            ("1_0", Some(10)),
            ("٣", Some(3)),
            ("007", Some(7)),
            ("", None),
            ("_1", None),
            ("1_", None),
            ("1__0", None),
            ("4-gke", None),
            ("x", None),
            ("1 0", None),
            ("99999999999999999999", None),
        ] {
            assert_eq!(py_int(t), want, "{t:?}");
        }
    }

    #[test]
    fn official_parse_version() {
        // official test_parse_version
        assert_eq!(parse_version("  v2.4.99   ").unwrap(), v(2, 4, 99));
        assert_eq!(parse_version("v1.31.2").unwrap(), v(1, 31, 2));
        assert_eq!(parse_version("1.31.2").unwrap(), v(1, 31, 2));
        assert_eq!(parse_version("v1.31.2+k3s1").unwrap(), v(1, 31, 2));
        assert_eq!(parse_version("v1.31.2+a+b").unwrap(), v(1, 31, 2));
        assert_eq!(parse_version("v1. 31.2").unwrap(), v(1, 31, 2));
        // d.12 quirk: a provider suffix after `-` is four parts → refused
        for bad in [
            "v1.33.4-gke.1",
            "v1.31",
            "v1.31.2.1",
            "vv1.31.2",
            "V1.31.2",
            "v1.31.2-rc.0",
            "v1.31.x",
            "",
            "unspecified",
            "v1.31.2-eks-1234",
        ] {
            let e = parse_version(bad).unwrap_err();
            assert!(e.contains("Unrecognized version format"), "{bad:?}: {e}");
        }
        // `-` without a further `.` keeps three parts, the last not an int
        assert!(parse_version("v1.31.2-1").is_err());
        assert!(
            parse_version_value(&py("1.5"))
                .unwrap_err()
                .starts_with("AttributeError")
        );
    }

    #[test]
    fn official_version_and_branch_order() {
        // official test_k8s_version_operators and test_k8s_branch_basics
        assert_eq!(v(1, 2, 3), v(1, 2, 3));
        assert!(v(1, 2, 3) < v(1, 2, 4));
        assert!(v(1, 2, 3) < v(1, 3, 0));
        assert!(v(1, 2, 3) < v(2, 0, 0));
        assert_eq!(
            v(1, 28, 5).branch(),
            Branch {
                major: 1,
                minor: 28
            }
        );
        assert!(
            Branch {
                major: 1,
                minor: 28
            } < Branch {
                major: 1,
                minor: 29
            }
        );
        assert_eq!(v(1, 28, 5).to_string(), "1.28.5");
    }

    #[test]
    fn official_range_membership() {
        // official test_version_range_contains_with_no_upper_limit
        let single = range(v(3, 4, 5), None, false);
        assert!(!single.contains(v(3, 4, 4)));
        assert!(single.contains(v(3, 4, 5)));
        assert!(!single.contains(v(3, 4, 6)));
        // test_version_range_contains_inclusive
        let r = range(v(1, 2, 1), Some(v(1, 3, 4)), true);
        assert!(!r.contains(v(1, 2, 0)));
        assert!(r.contains(v(1, 2, 1)));
        assert!(r.contains(v(1, 3, 4)));
        assert!(!r.contains(v(1, 3, 5)));
        // test_version_range_contains_exclusive
        let r = range(v(1, 2, 1), Some(v(1, 3, 4)), false);
        assert!(!r.contains(v(1, 2, 0)));
        assert!(r.contains(v(1, 2, 1)));
        assert!(r.contains(v(1, 3, 3)));
        assert!(!r.contains(v(1, 3, 4)));
        // test_version_range_constructor2: upper below lower raises
        let e = VersionRange::new(v(2, 3, 0), Some(v(1, 3, 0)), false).unwrap_err();
        assert!(e.contains("must be lower than"), "{e}");
        // equal bounds are allowed (and empty when exclusive)
        let empty = range(v(1, 3, 0), Some(v(1, 3, 0)), false);
        assert!(!empty.contains(v(1, 3, 0)));
    }

    #[test]
    fn official_high_severity() {
        // official test_is_high_severity
        let high31 = r#"{"cvssV3_1": {"baseScore": 8.0}}"#;
        let high30 = r#"{"cvssV3_0": {"baseScore": 8.0}}"#;
        let low31 = r#"{"cvssV3_1": {"baseScore": 7.9}}"#;
        let low30 = r#"{"cvssV3_0": {"baseScore": 7.9}}"#;
        let list = |items: &[&str]| py(&format!("[{}]", items.join(",")));
        assert!(is_high_severity(&list(&[high31])).unwrap());
        assert!(is_high_severity(&list(&[high30])).unwrap());
        assert!(is_high_severity(&list(&[low31, high30])).unwrap());
        assert!(!is_high_severity(&list(&[low31])).unwrap());
        assert!(!is_high_severity(&list(&[low30, low31])).unwrap());
    }

    #[test]
    fn high_severity_details() {
        let hs = |t: &str| is_high_severity(&py(t));
        // the key pattern
        for (key, want) in [
            ("cvssV3_1", true),
            ("cvssV4_0", true),
            ("cvssV2_0", true),
            ("CVSSV3", true),
            ("cvsV3", true),
            ("x_cvssV3_1", true),
            ("cvssv3_1", false),
            ("cvsssV3", false),
            ("cvssV", false),
            ("other", false),
            ("format", false),
        ] {
            assert_eq!(is_cvss_key(key), want, "{key}");
        }
        // an integer score, and 10
        assert!(hs(r#"[{"cvssV3_1": {"baseScore": 8}}]"#).unwrap());
        assert!(hs(r#"[{"format": "CVSS", "cvssV3_1": {"baseScore": 10.0}}]"#).unwrap());
        // `other` metrics and scenarios are not scores
        assert!(!hs(r#"[{"other": {"type": "x", "content": {"baseScore": 9}}}]"#).unwrap());
        // no metrics at all, or an empty dict/string (Python iterates them)
        assert!(!hs("[]").unwrap());
        assert!(!hs("{}").unwrap());
        assert!(!hs(r#""""#).unwrap());
        // raises: null metrics, a non-dict entry, a score entry without
        // baseScore, a string score
        assert!(hs("null").is_err());
        assert!(hs("[[]]").is_err());
        assert!(hs(r#"{"cvssV3_1": 1}"#).is_err());
        assert!(hs(r#"[{"cvssV3_1": {"vectorString": "x"}}]"#).is_err());
        assert!(hs(r#"[{"cvssV3_1": {"baseScore": "9.8"}}]"#).is_err());
        // the first hit ends the search: what follows is never looked at,
        // in key order as written (not sorted)
        assert!(hs(r#"[{"cvssV3_1": {"baseScore": 9.8}, "cvssV2_0": {}}]"#).unwrap());
        assert!(hs(r#"[{"cvssV2_0": {}, "cvssV3_1": {"baseScore": 9.8}}]"#).is_err());
        assert!(hs(r#"[{"cvssV3_1": {"baseScore": 9.8}}, "junk"]"#).unwrap());
    }

    fn cve_range(t: &str) -> Result<VersionRange, String> {
        parse_cve_version_information(&py(t))
    }

    #[test]
    fn official_cve_version_information() {
        // official test_parse_cve_info_missing_upper
        assert_eq!(
            cve_range(r#"{"version": "1.2.3"}"#).unwrap(),
            range(v(1, 2, 3), None, false)
        );
        // test_parse_cve_info_exclusive
        assert_eq!(
            cve_range(r#"{"version": "1.2.3", "lessThan": "1.3.0"}"#).unwrap(),
            range(v(1, 2, 3), Some(v(1, 3, 0)), false)
        );
        // test_parse_cve_info_inclusive
        assert_eq!(
            cve_range(r#"{"version": "1.2.3", "lessThanOrEqual": "1.3.0"}"#).unwrap(),
            range(v(1, 2, 3), Some(v(1, 3, 0)), true)
        );
        // test_parse_cve_info_missing_lower
        assert_eq!(
            cve_range(r#"{"version": "unspecified", "lessThanOrEqual": "1.3.0"}"#).unwrap(),
            range(MINIMUM, Some(v(1, 3, 0)), true)
        );
    }

    #[test]
    fn cve_version_quirks() {
        // lessThanOrEqual wins over lessThan
        assert_eq!(
            cve_range(
                r#"{"version": "v1.28.0", "lessThan": "v1.28.9", "lessThanOrEqual": "v1.28.3"}"#
            )
            .unwrap(),
            range(v(1, 28, 0), Some(v(1, 28, 3)), true)
        );
        // x.y.x: an empty range
        let r = cve_range(r#"{"version": "v1.27.x"}"#).unwrap();
        assert_eq!(r, range(v(1, 27, 0), Some(v(1, 27, 0)), false));
        for p in 0..20 {
            assert!(!r.contains(v(1, 27, p)));
        }
        // x.y.x text whose first pieces are no integers: ValueError → ABORT
        assert!(cve_range(r#"{"version": "< 1.27.x"}"#).is_err());
        assert!(cve_range(r#"{"version": " v1.27.x"}"#).is_err());
        // `v` stripped from both ends; more pieces are ignored
        assert_eq!(
            cve_range(r#"{"version": "1.27.x and earlier"}"#).unwrap(),
            range(v(1, 27, 0), Some(v(1, 27, 0)), false)
        );
        // a - b: exclusive upper bound
        let r = cve_range(r#"{"version": "v1.26.0 - v1.26.3"}"#).unwrap();
        assert_eq!(r, range(v(1, 26, 0), Some(v(1, 26, 3)), false));
        assert!(r.contains(v(1, 26, 2)));
        assert!(!r.contains(v(1, 26, 3)));
        // a - b whose pieces do not parse: ABORT
        assert!(cve_range(r#"{"version": "from 1.26.0 - 1.26.3"}"#).is_err());
        assert!(cve_range(r#"{"version": "1.26.0 - 1.26.3.1"}"#).is_err());
        // a pre-release suffix before the dash: the regex does not match
        assert_eq!(
            cve_range(r#"{"version": "1.26.0-rc.1 - 1.26.3"}"#).unwrap(),
            range(MINIMUM, None, false)
        );
        // extra pieces after the second dash are ignored
        assert_eq!(
            cve_range(r#"{"version": "1.26.0 - 1.26.3-rc.1"}"#).unwrap(),
            range(v(1, 26, 0), Some(v(1, 26, 3)), false)
        );
        // no blank around the dash: no fallback, the single version 0.0.0
        assert_eq!(
            cve_range(r#"{"version": "1.26.0-1.26.3"}"#).unwrap(),
            range(MINIMUM, None, false)
        );
        // unparseable, no upper bound, no fallback: the single version 0.0.0
        let r = cve_range(r#"{"version": "unspecified"}"#).unwrap();
        assert_eq!(r, range(MINIMUM, None, false));
        assert!(r.contains(MINIMUM));
        assert!(!r.contains(v(1, 28, 5)));
        // the fallbacks are not tried when an upper bound exists
        assert_eq!(
            cve_range(r#"{"version": "1.27.x", "lessThan": "1.27.5"}"#).unwrap(),
            range(MINIMUM, Some(v(1, 27, 5)), false)
        );
        // an upper bound that does not parse raises: ABORT
        assert!(cve_range(r#"{"version": "1.27.0", "lessThan": "1.27.*"}"#).is_err());
        assert!(cve_range(r#"{"version": "1.27.0", "lessThanOrEqual": 5}"#).is_err());
        // upper below lower: ABORT
        assert!(cve_range(r#"{"version": "1.30.0", "lessThan": "1.29.5"}"#).is_err());
        // no `version` key, or a non-string version: ABORT
        assert!(cve_range(r#"{"lessThan": "1.29.5"}"#).is_err());
        assert!(cve_range(r#"{"version": 0, "lessThan": "1.29.5"}"#).is_err());
        // a provider suffix on the lower bound: unparseable → 0.0.0
        assert_eq!(
            cve_range(r#"{"version": "1.29.0-gke.1", "lessThan": "1.29.5"}"#).unwrap(),
            range(MINIMUM, Some(v(1, 29, 5)), false)
        );
    }
}

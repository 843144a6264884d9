//! Check component for scs-0114 (volume types).
//!
//! Owns: `scs-0114-syntax-check`, `scs-0114-encrypted-type` and
//! `scs-0114-replicated-type` (docs/official-behaviour.md d.6 with h.4). It reads the
//! volume types visible to the caller through the mediated Cinder API
//! (`block-storage` `GET types`), extracts the `[scs:...]` aspect list at the
//! start of each description, and checks it is sorted, free of duplicates
//! and made of `encrypted` and `replicated` only. A type with an erroneous
//! list still counts for the aspects it names.
//!
//! Must never: change the cloud (no volume type is created or edited), or
//! look for the aspect list anywhere but at the very start of the
//! description.

use scs_check_sdk::block_storage::{VolumeType, volume_types};
use scs_check_sdk::lines::Lines;
use scs_check_sdk::python_str::{repr, strip};
use scs_check_sdk::{self as sdk, TestcaseResult};
use serde_json::Value;

/// The aspects the standard knows.
pub const RECOGNIZED: &[&str] = &["encrypted", "replicated"];

/// Python truthiness of a JSON value.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// The official `_extract_feature_list`: `None` if the description does not
/// start with `[scs:...]` (regex `\[scs:([^\[\]]*)\]`, matched at the start),
/// `[]` for `[scs:]`, else the comma-separated pieces, each stripped.
///
/// h.4: `[scs: ]` is one empty aspect (an error later), `[scs:]` none.
pub fn extract_feature_list(description: &Value) -> Result<Option<Vec<String>>, String> {
    if !truthy(description) {
        return Ok(None); // None or empty
    }
    let Value::String(d) = description else {
        // d.6 quirk: `pattern.match(<non-string>)` raises a TypeError → ABORT
        return Err(format!(
            "TypeError: expected string or bytes-like object (description {description})"
        ));
    };
    let Some(rest) = d.strip_prefix("[scs:") else {
        return Ok(None);
    };
    // `[^\[\]]*` runs up to the first bracket; only `]` completes the match
    let Some(end) = rest.find(['[', ']']) else {
        return Ok(None);
    };
    if !rest[end..].starts_with(']') {
        return Ok(None);
    }
    let fs = &rest[..end];
    if fs.is_empty() {
        return Ok(Some(Vec::new()));
    }
    Ok(Some(fs.split(',').map(|f| strip(f).to_string()).collect()))
}

/// The official `_test_feature_list`: the error lines for one type's list.
pub fn feature_list_errors(type_name: &str, fl: &[String]) -> Vec<String> {
    let mut errors = Vec::new();
    if fl.is_empty() {
        return errors;
    }
    // Python sorts str by code point; Rust's str order (UTF-8 bytes) agrees.
    if !fl.is_sorted() {
        errors.push(format!("{type_name}: feature list not sorted"));
    }
    // Counter keeps the order of first appearance
    let mut counted: Vec<(&str, usize)> = Vec::new();
    for f in fl {
        match counted.iter_mut().find(|(k, _)| *k == f.as_str()) {
            Some((_, c)) => *c += 1,
            None => counted.push((f.as_str(), 1)),
        }
    }
    let duplicates: Vec<&str> = counted
        .iter()
        .filter(|(_, c)| *c > 1)
        .map(|(k, _)| *k)
        .collect();
    if !duplicates.is_empty() {
        errors.push(format!(
            "{type_name}: duplicate features: {}",
            duplicates.join(", ")
        ));
    }
    let unrecognized: Vec<&str> = counted
        .iter()
        .map(|(k, _)| *k)
        .filter(|k| !RECOGNIZED.contains(k))
        .collect();
    if !unrecognized.is_empty() {
        errors.push(format!(
            "{type_name}: unrecognized features: {}",
            unrecognized.join(", ")
        ));
    }
    errors
}

/// The official `volume_type_lookup`: type names per aspect (in listing
/// order), plus all syntax error lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lookup {
    /// aspect → names of the types listing it (also erroneous ones).
    pub by_feature: Vec<(String, Vec<String>)>,
    /// Error lines of erroneous lists.
    pub erroneous: Vec<String>,
}

/// Build the lookup from the listed types.
pub fn volume_type_lookup(types: &[VolumeType], lines: &mut Lines) -> Result<Lookup, String> {
    let mut out = Lookup::default();
    for t in types {
        let Some(fl) = extract_feature_list(&t.description)? else {
            continue;
        };
        let name = t.name.as_deref().unwrap_or("None");
        let shown: Vec<String> = fl.iter().map(|f| repr(f)).collect();
        lines.debug(format!("{name}: feature list [{}]", shown.join(", ")));
        out.erroneous.extend(feature_list_errors(name, &fl));
        for feat in fl {
            match out.by_feature.iter_mut().find(|(k, _)| *k == feat) {
                Some((_, names)) => names.push(name.to_string()),
                None => out.by_feature.push((feat, vec![name.to_string()])),
            }
        }
    }
    Ok(out)
}

/// `scs-0114-syntax-check`: no erroneous aspect list.
pub fn syntax_check(lookup: &Lookup, lines: &mut Lines) -> bool {
    for e in &lookup.erroneous {
        lines.error(e.clone());
    }
    lookup.erroneous.is_empty()
}

/// `scs-0114-encrypted-type` / `scs-0114-replicated-type`: some type lists
/// the aspect.
pub fn aspect_type(lookup: &Lookup, aspect: &str, lines: &mut Lines) -> bool {
    let present = lookup
        .by_feature
        .iter()
        .any(|(k, names)| k == aspect && !names.is_empty());
    if !present {
        lines.error(format!("no volume type having aspect {aspect}"));
    }
    present
}

struct Check;

impl scs_check_sdk::Check for Check {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        let mut lines = Lines::new();
        let lookup = volume_types()
            .map_err(|e| e.to_string())
            .and_then(|types| volume_type_lookup(&types, &mut lines));
        lines.emit();
        sdk::run_testcases(&testcases, |id| {
            let aspect = match id {
                "scs-0114-syntax-check" => None,
                "scs-0114-encrypted-type" => Some("encrypted"),
                "scs-0114-replicated-type" => Some("replicated"),
                _ => return None,
            };
            let lookup = match &lookup {
                Ok(l) => l,
                Err(e) => return Some(Err(e.clone())),
            };
            let mut lines = Lines::new();
            let pass = match aspect {
                None => syntax_check(lookup, &mut lines),
                Some(a) => aspect_type(lookup, a, &mut lines),
            };
            lines.emit();
            Some(Ok(pass))
        })
    }
}

scs_check_sdk::check!(Check);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vt(name: &str, description: Value) -> VolumeType {
        VolumeType {
            id: format!("id-{name}"),
            name: Some(name.into()),
            description,
        }
    }

    fn list(v: &[&str]) -> Option<Vec<String>> {
        Some(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn every_testcase_id_is_known() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../check.json")).expect("json");
        let ids: Vec<&str> = v["testcases"]
            .as_array()
            .expect("list")
            .iter()
            .filter_map(|i| i.as_str())
            .collect();
        assert_eq!(
            ids,
            vec![
                "scs-0114-syntax-check",
                "scs-0114-encrypted-type",
                "scs-0114-replicated-type"
            ]
        );
    }

    #[test]
    fn extraction() {
        let table: &[(Value, Option<Vec<String>>)] = &[
            (json!(null), None),
            (json!(""), None),
            (json!("fast SSD"), None),
            (json!("[scs:encrypted]"), list(&["encrypted"])),
            (
                json!("[scs:encrypted, replicated] fast"),
                list(&["encrypted", "replicated"]),
            ),
            (json!("[scs:]"), list(&[])),
            // h.4: a blank between the brackets is one empty aspect
            (json!("[scs: ]"), list(&[""])),
            (
                json!("[scs:encrypted,,replicated]"),
                list(&["encrypted", "", "replicated"]),
            ),
            (
                json!("[scs: encrypted\t,\u{3000}replicated ]"),
                list(&["encrypted", "replicated"]),
            ),
            // only at the very start
            (json!(" [scs:encrypted]"), None),
            (json!("fast [scs:encrypted]"), None),
            (json!("[SCS:encrypted]"), None),
            (json!("[scs :encrypted]"), None),
            // brackets inside end the attempt
            (json!("[scs:encr[ypted]"), None),
            (json!("[scs:encrypted"), None),
            (json!("[scs:encrypted]]"), list(&["encrypted"])),
            (json!("[scs:a\nb]"), list(&["a\nb"])),
            // falsy non-strings are skipped like None
            (json!(0), None),
            (json!(false), None),
        ];
        for (d, want) in table {
            assert_eq!(extract_feature_list(d).as_ref(), Ok(want), "{d}");
        }
        // d.6 quirk: a truthy non-string description raises → ABORT
        assert!(extract_feature_list(&json!(5)).is_err());
        assert!(extract_feature_list(&json!(["[scs:encrypted]"])).is_err());
    }

    #[test]
    fn list_rules() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let table: &[(&[&str], &[&str])] = &[
            (&[], &[]),
            (&["encrypted"], &[]),
            (&["replicated"], &[]),
            (&["encrypted", "replicated"], &[]),
            (
                &["replicated", "encrypted"],
                &["t: feature list not sorted"],
            ),
            (
                &["encrypted", "encrypted"],
                &["t: duplicate features: encrypted"],
            ),
            (&["fast"], &["t: unrecognized features: fast"]),
            (&[""], &["t: unrecognized features: "]),
            (&["Encrypted"], &["t: unrecognized features: Encrypted"]),
            (
                &["replicated", "fast", "replicated"],
                &[
                    "t: feature list not sorted",
                    "t: duplicate features: replicated",
                    "t: unrecognized features: fast",
                ],
            ),
        ];
        for (fl, want) in table {
            assert_eq!(feature_list_errors("t", &s(fl)), s(want), "{fl:?}");
        }
    }

    fn verdicts(types: &[VolumeType]) -> (bool, bool, bool, Lines) {
        let mut lines = Lines::new();
        let l = volume_type_lookup(types, &mut lines).expect("lookup");
        (
            syntax_check(&l, &mut lines),
            aspect_type(&l, "encrypted", &mut lines),
            aspect_type(&l, "replicated", &mut lines),
            lines,
        )
    }

    #[test]
    fn testcases() {
        // nothing tagged: syntax fine, no aspects
        let (s, e, r, lines) = verdicts(&[vt("plain", json!("fast")), vt("none", json!(null))]);
        assert_eq!((s, e, r), (true, false, false));
        assert_eq!(
            lines.errors(),
            vec![
                "no volume type having aspect encrypted",
                "no volume type having aspect replicated"
            ]
        );
        // compliant tags
        let (s, e, r, _) = verdicts(&[
            vt("enc", json!("[scs:encrypted] LUKS")),
            vt("rep", json!("[scs:replicated]")),
            vt("empty", json!("[scs:]")),
        ]);
        assert_eq!((s, e, r), (true, true, true));
        // an erroneous list still counts for its aspects
        let (s, e, r, lines) = verdicts(&[vt("both", json!("[scs:replicated, encrypted]"))]);
        assert_eq!((s, e, r), (false, true, true));
        assert_eq!(lines.errors(), vec!["both: feature list not sorted"]);
        // h.4
        let (s, _, _, _) = verdicts(&[vt("blank", json!("[scs: ]"))]);
        assert!(!s);
        let (s, _, _, _) = verdicts(&[vt("empty", json!("[scs:]"))]);
        assert!(s);
        // ABORT on a non-string description
        assert!(volume_type_lookup(&[vt("n", json!(1))], &mut Lines::new()).is_err());
        // a nameless type is shown as None
        let t = VolumeType {
            id: "x".into(),
            name: None,
            description: json!("[scs:bogus]"),
        };
        let (s, _, _, lines) = verdicts(&[t]);
        assert!(!s);
        assert_eq!(lines.errors()[0], "None: unrecognized features: bogus");
    }
}

//! The official okToFail list (`Tests/kaas/scs-sonobuoy-config-v1.yaml`), embedded at build
//! time from the unchanged copy in tests/fixtures/official/ (provenance in its README), so
//! that it travels in the component's bytes, which the bundle signs.
//!
//! Regex dialect: the wrapper applies each entry with Python's `re.search`; this check uses
//! the `regex` crate's `is_match`, which also searches anywhere in the name. The two
//! dialects differ (Rust has no lookaround or backreferences and refuses them; Python's `$`
//! also matches before a final newline; Python's `\Z` is Rust's `\z`), but none of that
//! occurs in the list: its entries are literal text whose only metacharacter is `.` (any
//! character but a newline in both). The unit test `official_list_is_python_compatible`
//! keeps it that way: an entry with any other metacharacter fails the build's tests and
//! needs a documented look.
//!
//! Must never: change or extend the official list, or compile an entry differently from
//! its text.

use regex::Regex;

/// The official file, unchanged.
pub const OFFICIAL_YAML: &str =
    include_str!("../../../tests/fixtures/official/scs-sonobuoy-config-v1.yaml");

/// The compiled entries, in file order.
#[derive(Debug, Clone)]
pub struct OkToFail {
    entries: Vec<(String, Regex)>,
}

impl OkToFail {
    /// The text of the first entry whose regex matches somewhere in `name`.
    pub fn matching(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(_, re)| re.is_match(name))
            .map(|(text, _)| text.as_str())
    }

    /// The regex texts, in file order.
    pub fn patterns(&self) -> Vec<&str> {
        self.entries.iter().map(|(t, _)| t.as_str()).collect()
    }
}

/// Parse a Sonobuoy configuration (`okToFail: [{regex, reason}]`; no `okToFail`: an empty
/// list).
pub fn parse(text: &str) -> Result<OkToFail, String> {
    let v: yaml_serde::Value = yaml_serde::from_str(text)
        .map_err(|e| format!("okToFail configuration is not YAML: {e}"))?;
    let list = match v.get("okToFail") {
        None | Some(yaml_serde::Value::Null) => {
            return Ok(OkToFail {
                entries: Vec::new(),
            });
        }
        Some(yaml_serde::Value::Sequence(s)) => s,
        Some(_) => return Err("okToFail configuration: `okToFail` is not a list".to_string()),
    };
    let mut entries = Vec::with_capacity(list.len());
    for (i, e) in list.iter().enumerate() {
        let text = e
            .get("regex")
            .and_then(yaml_serde::Value::as_str)
            .ok_or_else(|| format!("okToFail[{i}]: no string `regex`"))?;
        let re = Regex::new(text).map_err(|e| format!("okToFail[{i}] {text:?}: {e}"))?;
        entries.push((text.to_string(), re));
    }
    Ok(OkToFail { entries })
}

/// The embedded official list.
pub fn official() -> Result<OkToFail, String> {
    parse(OFFICIAL_YAML)
}

//! The official wrapper's reading of `plugins/e2e/sonobuoy_results.yaml` and its verdict
//! (docs/official-behaviour.md d.12), pure and unit-tested natively.
//!
//! - The testcases are the entries at the third nesting level of `items`
//!   (`items[*].items[*].items[*]`: the JUnit file, its test suite, its tests).
//! - A test without `status` is `skipped`.
//! - A `failed` test whose name matches any `okToFail[].regex` (Python `re.search`: anywhere
//!   in the name, [`regex::Regex::is_match`] here) is `failed_ok`.
//! - PASS iff no test is `failed` (an empty result set passes too); FAIL otherwise; anything
//!   unreadable (not YAML, a level without `items`, a test without a string `name`, a status
//!   that is not a string) is an error, which the check turns into ABORT, as the wrapper's
//!   exception does.
//!
//! Must never: count a test twice, log an unbounded number of names, or treat an
//! unreadable file as an empty result set.

use crate::oktofail::OkToFail;
use scs_check_sdk::lines::Lines;
use std::collections::BTreeMap;
use yaml_serde::Value;

/// Names logged per category (failed, failed_ok); the rest is counted in one line.
pub const MAX_NAMES_LOGGED: usize = 50;
/// Characters of one test name kept in a log line or message.
pub const MAX_NAME_CHARS: usize = 300;

/// The tests of a results file by the official categories.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// `passed` tests.
    pub passed: u64,
    /// `failed` tests not excepted, by name, in file order.
    pub failed: Vec<String>,
    /// `failed` tests excepted by okToFail: (name, the regex that matched).
    pub failed_ok: Vec<(String, String)>,
    /// `skipped` tests (also those without a status).
    pub skipped: u64,
    /// Any other status (`unknown`, `timeout`, …): count per status. Not failures, as in
    /// the official wrapper, which looks for `failed` only.
    pub other: BTreeMap<String, u64>,
}

/// The verdict of one testcase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// PASS (else FAIL).
    pub pass: bool,
    /// One line for the report.
    pub message: String,
}

fn cut(name: &str) -> String {
    let mut s: String = name
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    if name.chars().count() > MAX_NAME_CHARS {
        s.push('…');
    }
    s
}

/// The sequence under `items` of `v`, naming where it is missing.
fn items<'a>(v: &'a Value, at: &str) -> Result<&'a Vec<Value>, String> {
    match v.get("items") {
        Some(Value::Sequence(s)) => Ok(s),
        Some(_) => Err(format!("{at}: `items` is not a list")),
        None => Err(format!("{at}: no `items`")),
    }
}

/// Sort the tests of a results file into the official categories.
pub fn tally(yaml: &[u8], ok: &OkToFail) -> Result<Tally, String> {
    let root: Value = yaml_serde::from_slice(yaml).map_err(|e| {
        format!(
            "sonobuoy_results.yaml is not YAML: {}",
            one_line(&e.to_string())
        )
    })?;
    let mut t = Tally::default();
    for (i, file) in items(&root, "sonobuoy_results.yaml")?.iter().enumerate() {
        let at1 = format!("sonobuoy_results.yaml items[{i}]");
        for (j, suite) in items(file, &at1)?.iter().enumerate() {
            let at2 = format!("{at1}.items[{j}]");
            for (k, test) in items(suite, &at2)?.iter().enumerate() {
                let at3 = format!("{at2}.items[{k}]");
                let name = test
                    .get("name")
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("{at3}: no string `name`"))?;
                let status = match test.get("status") {
                    None | Some(Value::Null) => "skipped",
                    Some(Value::String(s)) => s.as_str(),
                    Some(_) => return Err(format!("{at3}: `status` is not a string")),
                };
                match status {
                    "passed" => t.passed += 1,
                    "skipped" => t.skipped += 1,
                    "failed" => match ok.matching(name) {
                        Some(re) => t.failed_ok.push((name.to_string(), re.to_string())),
                        None => t.failed.push(name.to_string()),
                    },
                    other => *t.other.entry(cut(other)).or_default() += 1,
                }
            }
        }
    }
    Ok(t)
}

/// The verdict of testcase `id` from its results file, with the log lines: counts, every
/// failed and excepted name up to [`MAX_NAMES_LOGGED`] each.
pub fn evaluate(
    id: &str,
    yaml: &[u8],
    ok: &OkToFail,
    lines: &mut Lines,
) -> Result<Decision, String> {
    let t = tally(yaml, ok)?;
    let mut counts = format!(
        "{} passed, {} failed, {} failed_ok, {} skipped",
        t.passed,
        t.failed.len(),
        t.failed_ok.len(),
        t.skipped
    );
    for (status, n) in &t.other {
        counts.push_str(&format!(", {n} {status}"));
    }
    lines.info(format!("{id}: {counts}"));
    for (name, re) in t.failed_ok.iter().take(MAX_NAMES_LOGGED) {
        lines.info(format!("{id}: failed_ok (okToFail {re:?}): {}", cut(name)));
    }
    if t.failed_ok.len() > MAX_NAMES_LOGGED {
        lines.info(format!(
            "{id}: {} more failed_ok tests not listed",
            t.failed_ok.len() - MAX_NAMES_LOGGED
        ));
    }
    for name in t.failed.iter().take(MAX_NAMES_LOGGED) {
        lines.error(format!("{id}: failed: {}", cut(name)));
    }
    if t.failed.len() > MAX_NAMES_LOGGED {
        lines.error(format!(
            "{id}: {} more failed tests not listed",
            t.failed.len() - MAX_NAMES_LOGGED
        ));
    }
    Ok(match t.failed.first() {
        None => Decision {
            pass: true,
            message: String::new(),
        },
        Some(first) => Decision {
            pass: false,
            message: format!(
                "{} failed test(s) not in okToFail ({counts}), first: {}",
                t.failed.len(),
                cut(first)
            ),
        },
    })
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

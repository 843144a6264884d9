//! Unit tests of the results parser and the verdict (native; no host).

use crate::oktofail::{self, OkToFail};
use crate::results::{self, MAX_NAMES_LOGGED};
use scs_check_sdk::lines::Lines;

/// A results file in Sonobuoy's format: the plugin, one JUnit file, one suite, the tests as
/// (name, status; None leaves `status` out).
fn results_yaml(tests: &[(&str, Option<&str>)]) -> String {
    let mut s = String::from(
        "name: e2e\nstatus: failed\nmeta:\n  type: summary\nitems:\n- name: junit_01.xml\n  status: failed\n  meta:\n    file: results/global/junit_01.xml\n  items:\n  - name: Kubernetes e2e suite\n    status: failed\n    items:\n",
    );
    if tests.is_empty() {
        s.push_str("      []\n");
    }
    for (name, status) in tests {
        s.push_str(&format!("    - name: {name:?}\n"));
        if let Some(st) = status {
            s.push_str(&format!("      status: {st}\n"));
        }
        if *status == Some("failed") {
            s.push_str("      details:\n        failure: \"timed out\"\n");
        }
    }
    s
}

fn ok() -> OkToFail {
    oktofail::official().expect("the official list compiles")
}

fn verdict(yaml: &str) -> Result<bool, String> {
    results::evaluate(
        "cncf-k8s-conformance",
        yaml.as_bytes(),
        &ok(),
        &mut Lines::new(),
    )
    .map(|d| d.pass)
}

/// A real-looking test name that the okToFail regex `re` matches (its `.` read as spaces).
fn name_for(re: &str) -> String {
    format!(
        "[sig-network] Something {} [Conformance]",
        re.replace('.', " ")
    )
}

#[test]
fn verdict_table() {
    let cases: Vec<(&str, String, Result<bool, ()>)> = vec![
        (
            "passed",
            results_yaml(&[("[sig-apps] a [Conformance]", Some("passed"))]),
            Ok(true),
        ),
        (
            "failed",
            results_yaml(&[
                ("[sig-apps] a", Some("passed")),
                ("[sig-node] b", Some("failed")),
            ]),
            Ok(false),
        ),
        (
            "skipped and missing status",
            results_yaml(&[("[sig-apps] a", Some("skipped")), ("[sig-apps] b", None)]),
            Ok(true),
        ),
        ("empty suite", results_yaml(&[]), Ok(true)),
        (
            "empty plugin",
            "name: e2e\nitems: []\n".to_string(),
            Ok(true),
        ),
        (
            "other status",
            results_yaml(&[("[sig-apps] a", Some("unknown"))]),
            Ok(true),
        ),
        ("not YAML", "items: [\n".to_string(), Err(())),
        ("no items", "name: e2e\n".to_string(), Err(())),
        (
            "no second level",
            "items:\n- name: junit_01.xml\n".to_string(),
            Err(()),
        ),
        (
            "items not a list",
            "items:\n- name: junit_01.xml\n  items: 3\n".to_string(),
            Err(()),
        ),
        (
            "test without name",
            "items:\n- items:\n  - items:\n    - status: passed\n".to_string(),
            Err(()),
        ),
        (
            "status not a string",
            "items:\n- items:\n  - items:\n    - name: a\n      status: [1]\n".to_string(),
            Err(()),
        ),
        ("a YAML scalar", "42\n".to_string(), Err(())),
    ];
    for (what, yaml, want) in cases {
        let got = verdict(&yaml).map_err(|_| ());
        assert_eq!(got, want, "{what}");
    }
}

/// Every okToFail regex turns a matching failed test into failed_ok (PASS); the same test
/// with a name no regex matches FAILs.
#[test]
fn every_ok_to_fail_regex_excepts() {
    let ok = ok();
    assert_eq!(ok.patterns().len(), 9, "the official list has 9 entries");
    for re in ok.patterns() {
        let name = name_for(re);
        let yaml = results_yaml(&[(&name, Some("failed")), ("[sig-apps] a", Some("passed"))]);
        let t = results::tally(yaml.as_bytes(), &ok).expect("tally");
        assert_eq!(t.failed_ok, vec![(name.clone(), re.to_string())], "{re}");
        assert!(t.failed.is_empty(), "{re}");
        assert_eq!(verdict(&yaml), Ok(true), "{re}");
        // re.search semantics: anywhere in the name, not only at its start
        assert!(ok.matching(&format!("prefix {name}")).is_some());
    }
    let yaml = results_yaml(&[("[sig-network] HostPort validates nothing", Some("failed"))]);
    assert_eq!(verdict(&yaml), Ok(false));
    // a passed test that an okToFail regex matches stays passed
    let t = results::tally(
        results_yaml(&[(&name_for("Feature:SCTPConnectivity"), Some("passed"))]).as_bytes(),
        &ok,
    )
    .expect("tally");
    assert_eq!((t.passed, t.failed_ok.len()), (1, 0));
}

/// The list's regexes are literal text with `.` as the only metacharacter, where Python's
/// `re` and the `regex` crate agree (see oktofail.rs).
#[test]
fn official_list_is_python_compatible() {
    for re in ok().patterns() {
        assert!(
            re.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == ' ' || c == '.' || c == ':'),
            "{re:?} uses a metacharacter whose meaning may differ from Python's re; document it in oktofail.rs"
        );
    }
    // `.` is any character in both, so a dot in the regex also matches a literal dot
    assert!(
        ok().matching("should.allow.egress.access.to.server.in.CIDR.block")
            .is_some()
    );
}

/// Logging is bounded: MAX_NAMES_LOGGED names, then one line counting the rest; the FAIL
/// message is one line naming the first.
#[test]
fn failed_names_are_bounded() {
    let names: Vec<String> = (0..MAX_NAMES_LOGGED + 10)
        .map(|i| format!("[sig-x] t{i}"))
        .collect();
    let tests: Vec<(&str, Option<&str>)> =
        names.iter().map(|n| (n.as_str(), Some("failed"))).collect();
    let mut lines = Lines::new();
    let d = results::evaluate(
        "kaas-networking-check",
        results_yaml(&tests).as_bytes(),
        &ok(),
        &mut lines,
    )
    .expect("decision");
    assert!(!d.pass);
    assert!(d.message.contains("60 failed test(s)"), "{}", d.message);
    assert!(d.message.contains("first: [sig-x] t0"), "{}", d.message);
    assert!(!d.message.contains('\n'));
    let failed_lines = lines
        .0
        .iter()
        .filter(|l| l.message.contains(": failed: "))
        .count();
    assert_eq!(failed_lines, MAX_NAMES_LOGGED);
    assert!(
        lines
            .0
            .iter()
            .any(|l| l.message.contains("10 more failed tests not listed"))
    );
}

#[test]
fn ok_to_fail_parsing() {
    assert!(
        oktofail::parse("okToFail:\n- regex: '('\n").is_err(),
        "a bad regex"
    );
    assert!(oktofail::parse("okToFail: 3\n").is_err());
    assert!(
        oktofail::parse("other: 1\n")
            .expect("no list")
            .patterns()
            .is_empty()
    );
    assert!(
        oktofail::parse("okToFail:\n- reason: x\n").is_err(),
        "no regex"
    );
}

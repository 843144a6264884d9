//! Tests of the scope model (`scs_cert_host::scope`): loading and validating scope YAMLs, version
//! selection by date, testcase selection, variables and target verdicts.
//!
//! The official scope files are unchanged copies in `tests/fixtures/official/` (provenance and
//! licence in its README); a missing file fails the test with a message, nothing is skipped.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use regex::Regex;
use scs_cert_host::scope::*;

const OFFICIAL_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/official");
const OURS_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../scopes");

fn file(dir: &str, name: &str) -> PathBuf {
    let path = Path::new(dir).join(name);
    assert!(
        path.is_file(),
        "reference file {} is missing; these tests need tests/fixtures/official/ and scopes/ in the repository",
        path.display()
    );
    path
}

fn load(dir: &str, name: &str) -> Spec {
    let path = file(dir, name);
    Spec::load(&path).unwrap_or_else(|e| panic!("{} should load: {e}", path.display()))
}

fn official_iaas() -> Spec {
    load(OFFICIAL_DIR, "scs-compatible-iaas.yaml")
}

fn official_kaas() -> Spec {
    load(OFFICIAL_DIR, "scs-compatible-kaas.yaml")
}

fn day(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("bad test date {s}: {e}"))
}

fn picked(spec: &Spec, date: &str) -> Vec<(String, Validity, bool)> {
    spec.select_versions(day(date), None)
        .unwrap_or_else(|e| panic!("selection on {date} should work: {e}"))
        .into_iter()
        .map(|v| (v.name, v.validity, v.explicit))
        .collect()
}

fn sel(name: &str) -> SelectedVersion {
    SelectedVersion {
        name: name.to_string(),
        validity: Validity::Effective,
        explicit: true,
    }
}

fn main_of(spec: &Spec, version: &str) -> Vec<String> {
    spec.select_testcases(&[sel(version)], &["main"], None, None)
}

fn v(name: &str, validity: Validity, explicit: bool) -> (String, Validity, bool) {
    (name.to_string(), validity, explicit)
}

fn strings(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| s.to_string()).collect()
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|e| panic!("bad test regex {pattern}: {e}"))
}

// ------------------------------------------------------------------------------------------------
// the official files

#[test]
fn official_iaas_loads_unchanged() {
    let spec = official_iaas();
    assert_eq!(spec.uuid, "50393e6f-2ae1-4c5c-a62c-3b75f2abef3f");
    assert_eq!(spec.name, "SCS-compatible IaaS");
    assert!(
        spec.url
            .as_deref()
            .is_some_and(|u| u.ends_with("scs-compatible-iaas.yaml"))
    );
    let versions: Vec<&str> = spec.versions.iter().map(|v| v.version.as_str()).collect();
    assert_eq!(versions, ["next", "v5.1", "v4", "v3"]);
    assert_eq!(
        spec.variables,
        vec![Variable {
            name: "os_cloud".into(),
            default: None
        }]
    );
    assert_eq!(spec.scripts.len(), 2);
    assert_eq!(spec.testcases.len(), 91);
    assert_eq!(spec.timeline.len(), 5);
    assert!(!spec.has_prerequisite);
    // manual testcases come from the script without executable
    assert!(spec.scripts[1].executable.is_none());
    for id in [
        "key-manager-docs-check",
        "availability-zones-check",
        "domain-manager-check",
    ] {
        assert!(spec.testcases[id].manual, "{id} is manual");
        assert_eq!(spec.testcases[id].script, 1);
    }
    assert!(!spec.testcases["scs-0100-syntax-check"].manual);
    assert!(
        spec.testcases
            .values()
            .all(|t| t.lifetime == Lifetime::Week && t.section.is_none())
    );
    // stabilized versions and their dates
    assert_eq!(
        spec.version("v5.1").and_then(|v| v.stabilized_at),
        Some(day("2024-12-19"))
    );
    assert_eq!(spec.version("next").and_then(|v| v.stabilized_at), None);
    // the include dict form keeps its (unused) parameters
    let next = spec.version("next").expect("next");
    let inc = next
        .include
        .iter()
        .find(|i| i.module == "scs-0104-v1-2")
        .expect("include of scs-0104-v1-2");
    assert_eq!(inc.parameters.len(), 1);
    assert_eq!(inc.parameters[0].0, "image_spec");
    // attn counts stabilized versions listing a testcase under main: v5.1, v4, v3
    assert_eq!(spec.testcases["scs-0100-syntax-check"].attn, 3);
    assert_eq!(spec.testcases["scs-0123-service-s3"].attn, 0);
}

#[test]
fn module_without_targets_gives_no_testcases() {
    let spec = official_iaas();
    let opc = spec.module("opc-v2022.11").expect("opc module");
    assert!(opc.targets.is_empty());
    let v3 = spec.version("v3").expect("v3");
    assert_eq!(
        v3.targets
            .iter()
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>(),
        ["main"]
    );
    let manual_only = spec.module("scs-0121-v1").expect("scs-0121-v1");
    assert!(manual_only.targets.is_empty());
}

#[test]
fn official_kaas_loads_unchanged() {
    let spec = official_kaas();
    assert_eq!(spec.uuid, "1fffebe6-fd4b-44d3-a36c-fc58b4bb0180");
    assert_eq!(spec.name, "SCS-compatible KaaS");
    assert_eq!(
        spec.variables,
        vec![
            Variable {
                name: "subject_root".into(),
                default: None
            },
            Variable {
                name: "kubeconfig".into(),
                default: None
            },
            Variable {
                name: "execution_mode".into(),
                default: Some("parallel".into())
            },
        ]
    );
    let tc = &spec.testcases;
    assert_eq!(tc["cncf-k8s-conformance"].lifetime, Lifetime::Year);
    assert_eq!(tc["cncf-k8s-conformance"].section.as_deref(), Some("heavy"));
    assert_eq!(tc["kaas-networking-check"].lifetime, Lifetime::Month);
    assert_eq!(tc["version-policy-check"].lifetime, Lifetime::Week);
    assert_eq!(tc["version-policy-check"].section.as_deref(), Some("light"));
    assert!(tc["node-distribution-check"].manual);
    assert_eq!(
        main_of(&spec, "v1"),
        [
            "cncf-k8s-conformance",
            "kaas-networking-check",
            "version-policy-check"
        ]
    );
    assert_eq!(
        picked(&spec, "2024-03-01"),
        [v("v1", Validity::Draft, true)]
    );
    assert_eq!(
        picked(&spec, "2024-11-26"),
        [v("v1", Validity::Effective, true)]
    );
}

#[test]
fn legacy_test_scope_is_rejected_like_the_official_loader() {
    // historic format (`standards`/`check_tools`): the keyword check rejects it
    let path = file(OFFICIAL_DIR, "scs-compatible-test.yaml");
    let err = Spec::load(&path).expect_err("legacy format must not load");
    assert!(
        matches!(&err, ScopeError::UnknownKey { field, key, .. } if field == "versions[0]" && key == "standards"),
        "{err}"
    );
}

// ------------------------------------------------------------------------------------------------
// version selection (a.2)

#[test]
fn no_valid_version_before_the_first_timeline_entry() {
    let spec = official_iaas();
    let err = spec
        .select_versions(day("2024-12-18"), None)
        .expect_err("nothing is valid yet");
    assert!(matches!(err, ScopeError::NoValidVersion { date, .. } if date == day("2024-12-18")));
    let msg = err.to_string();
    assert!(
        msg.contains("No valid version found for 2024-12-18"),
        "{msg}"
    );
    assert!(msg.contains("scs-compatible-iaas.yaml"), "{msg}");
}

#[test]
fn versions_by_date() {
    use Validity::*;
    let spec = official_iaas();
    assert_eq!(
        picked(&spec, "2024-12-19"),
        [
            v("v5.1", Effective, true),
            v("v4", Effective, true),
            v("v3", Deprecated, true)
        ]
    );
    assert_eq!(picked(&spec, "2025-01-31"), picked(&spec, "2024-12-19"));
    assert_eq!(
        picked(&spec, "2025-02-01"),
        [
            v("v5.1", Effective, true),
            v("v4", Warn, true),
            v("v3", Deprecated, true)
        ]
    );
    assert_eq!(
        picked(&spec, "2025-07-01"),
        [
            v("v5.1", Effective, true),
            v("v4", Deprecated, true),
            v("v3", Deprecated, true)
        ]
    );
    assert_eq!(
        picked(&spec, "2025-09-09"),
        [
            v("next", Draft, true),
            v("v5.1", Effective, true),
            v("v4", Deprecated, true),
            v("v3", Deprecated, true)
        ]
    );
    assert_eq!(picked(&spec, "2026-06-10").len(), 4);
    assert_eq!(
        picked(&spec, "2026-06-11"),
        [v("next", Draft, true), v("v5.1", Effective, true)]
    );
    assert_eq!(
        picked(&spec, "2026-11-29"),
        [v("next", Draft, true), v("v5.1", Effective, true)]
    );
}

#[test]
fn forced_version() {
    let spec = official_iaas();
    let forced = spec
        .select_versions(day("2026-11-29"), Some("v4"))
        .expect("v4 exists");
    assert_eq!(
        forced,
        [SelectedVersion {
            name: "v4".into(),
            validity: Validity::Deprecated,
            explicit: false
        }]
    );
    // forcing works even where nothing is valid, and keeps the validity of the day
    let early = spec
        .select_versions(day("2024-12-18"), Some("v5.1"))
        .expect("v5.1 exists");
    assert_eq!(
        early,
        [SelectedVersion {
            name: "v5.1".into(),
            validity: Validity::Deprecated,
            explicit: false
        }]
    );
    let listed = spec
        .select_versions(day("2025-02-01"), Some("v4"))
        .expect("v4 exists");
    assert_eq!(
        listed,
        [SelectedVersion {
            name: "v4".into(),
            validity: Validity::Warn,
            explicit: true
        }]
    );

    let err = spec
        .select_versions(day("2026-11-29"), Some("v9"))
        .expect_err("v9 does not exist");
    assert!(matches!(&err, ScopeError::VersionNotFound { name, .. } if name == "v9"));
    let msg = err.to_string();
    assert!(
        msg.contains("Requested version 'v9' not found") && msg.contains("next, v5.1, v4, v3"),
        "{msg}"
    );
}

// ------------------------------------------------------------------------------------------------
// testcase selection (a.3 steps 2-3)

#[test]
fn main_testcases_per_version() {
    let spec = official_iaas();
    let next = main_of(&spec, "next");
    let v51 = main_of(&spec, "v5.1");
    let v4 = main_of(&spec, "v4");
    let v3 = main_of(&spec, "v3");
    assert_eq!(
        (next.len(), v51.len(), v4.len(), v3.len()),
        (55, 54, 39, 16)
    );
    let has = |ids: &[String], id: &str| ids.iter().any(|x| x == id);
    assert!(has(&next, "scs-0123-service-s3") && !has(&v51, "scs-0123-service-s3"));
    assert!(has(&v51, "scs-0123-swift-s3") && !has(&next, "scs-0123-swift-s3"));
    assert!(has(&v51, "scs-0123-service-placement") && !has(&next, "scs-0123-service-placement"));
    assert!(has(&next, "scs-0102-prop-os_purpose") && !has(&v51, "scs-0102-prop-os_purpose"));
    assert!(
        has(&next, "scs-0102-os_purpose-uniqueness")
            && !has(&v51, "scs-0102-os_purpose-uniqueness")
    );
    assert!(has(&v4, "scs-0104-image-ubuntu-2204") && !has(&v51, "scs-0104-image-ubuntu-2204"));
    // recommended / preview / manual testcases are never in main
    for id in [
        "scs-0103-flavor-1v-4-10",
        "scs-0103-flavor-16v-128",
        "scs-0114-encrypted-type",
        "scs-0116-presence",
        "scs-0102-prop-hash_algo",
        "domain-manager-check",
        "scs-0101-rngd",
    ] {
        assert!(
            !has(&next, id) && !has(&v51, id) && !has(&v4, id),
            "{id} must not be in main"
        );
    }
    assert!(has(&v51, "scs-0103-flavor-1v-4"));
    // sorted, no duplicates
    let mut sorted = next.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, next);
}

#[test]
fn union_over_the_selected_versions() {
    let spec = official_iaas();
    let today = spec
        .select_versions(day("2026-11-29"), None)
        .expect("valid");
    assert_eq!(
        spec.select_testcases(&today, &["main"], None, None).len(),
        57
    );
    let early = spec
        .select_versions(day("2025-03-01"), None)
        .expect("valid");
    assert_eq!(
        spec.select_testcases(&early, &["main"], None, None).len(),
        55
    );
    // an empty target list means every target, which is what the official runner collects
    assert_eq!(
        spec.select_testcases(&today, &[], None, None),
        spec.select_testcases(&today, &["main"], None, None)
    );
    // targets that no version has select nothing
    assert!(
        spec.select_testcases(&today, &["recommended"], None, None)
            .is_empty()
    );
}

#[test]
fn sections_filter() {
    let spec = official_kaas();
    let v1 = [sel("v1")];
    let light = strings(&["light"]);
    let heavy = strings(&["heavy"]);
    let both = strings(&["light", "heavy"]);
    assert_eq!(
        spec.select_testcases(&v1, &["main"], Some(&light), None),
        ["version-policy-check"]
    );
    assert_eq!(
        spec.select_testcases(&v1, &["main"], Some(&heavy), None),
        ["cncf-k8s-conformance", "kaas-networking-check"]
    );
    assert_eq!(
        spec.select_testcases(&v1, &["main"], Some(&both), None)
            .len(),
        3
    );
    assert!(
        spec.select_testcases(&v1, &["main"], Some(&strings(&["nope"])), None)
            .is_empty()
    );
    // an empty list filters nothing (as an empty Python list is falsy)
    assert_eq!(
        spec.select_testcases(&v1, &["main"], Some(&[]), None).len(),
        3
    );
    // testcases without a section are dropped whenever -S is given: all of IaaS
    let iaas = official_iaas();
    assert!(
        iaas.select_testcases(&[sel("v5.1")], &["main"], Some(&light), None)
            .is_empty()
    );
}

#[test]
fn regex_is_anchored_at_the_start_only() {
    let spec = official_iaas();
    let today = spec
        .select_versions(day("2026-11-29"), None)
        .expect("valid");
    let pick = |p: &str| spec.select_testcases(&today, &["main"], None, Some(&re(p)));
    assert_eq!(
        pick("scs-0100"),
        ["scs-0100-semantics-check", "scs-0100-syntax-check"]
    );
    assert!(pick("syntax").is_empty());
    assert_eq!(
        pick(".*syntax"),
        ["scs-0100-syntax-check", "scs-0114-syntax-check"]
    );
    assert_eq!(
        pick("scs-01(01|17)"),
        [
            "scs-0101-entropy-avail",
            "scs-0101-fips-test",
            "scs-0117-test-backup"
        ]
    );
    // not anchored at the end
    assert_eq!(pick("scs-0100-syn"), ["scs-0100-syntax-check"]);
    assert_eq!(pick("").len(), 57);
    assert!(matches_at_start(&re("a|b"), "bx"));
    assert!(!matches_at_start(&re("x"), "ax"));
    // sections and regex combine
    let kaas = official_kaas();
    let heavy = strings(&["heavy"]);
    assert_eq!(
        kaas.select_testcases(&[sel("v1")], &["main"], Some(&heavy), Some(&re("kaas"))),
        ["kaas-networking-check"]
    );
}

// ------------------------------------------------------------------------------------------------
// variables (-a)

fn assign(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn variables() {
    let iaas = official_iaas();
    let err = iaas
        .resolve_variables(&[])
        .expect_err("os_cloud is required");
    assert!(matches!(&err, ScopeError::MissingVariables { names, .. } if names == &["os_cloud"]));
    assert!(
        err.to_string()
            .contains("Missing variable assignments (via -a) for: os_cloud"),
        "{err}"
    );

    let err = iaas
        .resolve_variables(&assign(&[("os_cloud", "a"), ("os_cloud", "b")]))
        .expect_err("duplicate");
    assert!(matches!(&err, ScopeError::DuplicateAssignment { key, .. } if key == "os_cloud"));
    assert!(
        err.to_string().contains("Double assignment for 'os_cloud'"),
        "{err}"
    );

    // unknown keys are accepted and kept
    let got = iaas
        .resolve_variables(&assign(&[("os_cloud", "prod"), ("extra", "1")]))
        .expect("ok");
    assert_eq!(
        got,
        BTreeMap::from([
            ("extra".into(), "1".into()),
            ("os_cloud".into(), "prod".into())
        ])
    );

    let kaas = official_kaas();
    let err = kaas
        .resolve_variables(&assign(&[("kubeconfig", "k")]))
        .expect_err("subject_root missing");
    assert!(
        matches!(&err, ScopeError::MissingVariables { names, .. } if names == &["subject_root"])
    );
    let got = kaas
        .resolve_variables(&assign(&[("kubeconfig", "k"), ("subject_root", "/s")]))
        .expect("ok");
    assert_eq!(
        got.get("execution_mode").map(String::as_str),
        Some("parallel")
    );
    let got = kaas
        .resolve_variables(&assign(&[
            ("kubeconfig", "k"),
            ("subject_root", "/s"),
            ("execution_mode", "serial"),
        ]))
        .expect("ok");
    assert_eq!(
        got.get("execution_mode").map(String::as_str),
        Some("serial")
    );
    let err = kaas.resolve_variables(&[]).expect_err("two missing");
    assert!(
        err.to_string().contains("for: subject_root, kubeconfig;"),
        "{err}"
    );
}

// ------------------------------------------------------------------------------------------------
// a small synthetic scope, and broken variants of it

const MINI: &str = r#"
uuid: 00000000-0000-4000-8000-000000000000
name: Mini scope
url: https://example.invalid/mini.yaml
variables:
  - os_cloud
  - mode: fast
  - flag: true
scripts:
- executable: ./run.py
  args: -c {os_cloud} {testcases}
  env:
    MODE: "{mode}"
  testcases:
  - id: tc-a
    section: light
    description: first
  - id: tc-b
    lifetime: month
    section: heavy
  - id: tc-c
    lifetime: year
- testcases:
  - id: tc-manual
modules:
  - id: mod-1
    name: Module one
    parameters: [p1]
    targets:
      main: [tc-a, tc-b, tc-manual]
      preview: [tc-c]
  - id: mod-2
    targets:
      main: [tc-c]
  - id: mod-empty
    name: no targets at all
versions:
  - version: v2
    targets: {main: [not-checked-and-overwritten]}
    include:
      - mod-1
      - ref: mod-2
        parameters: {x: y}
  - version: v1
    stabilized_at: 2024-01-01
    include: [mod-1, mod-empty]
timeline:
  - date: 2024-06-01
    versions:
      v2: draft
      v1: effective
  - date: 2024-01-01
    versions:
      v1: effective
"#;

fn mini_path() -> &'static Path {
    Path::new("scopes/mini.yaml")
}

fn mini() -> Spec {
    Spec::from_yaml(MINI, mini_path()).unwrap_or_else(|e| panic!("mini scope should load: {e}"))
}

/// `MINI` with `from` replaced by `to` (which must occur exactly once).
fn broken(from: &str, to: &str) -> ScopeError {
    assert_eq!(
        MINI.matches(from).count(),
        1,
        "test bug: {from:?} must occur once in MINI"
    );
    let text = MINI.replacen(from, to, 1);
    let err = Spec::from_yaml(&text, mini_path()).expect_err("broken scope must not load");
    let msg = err.to_string();
    assert!(!msg.contains('\n'), "one line: {msg}");
    assert!(
        msg.starts_with("scopes/mini.yaml: "),
        "names the file: {msg}"
    );
    err
}

fn loads_with(from: &str, to: &str) -> Spec {
    assert_eq!(
        MINI.matches(from).count(),
        1,
        "test bug: {from:?} must occur once in MINI"
    );
    let text = MINI.replacen(from, to, 1);
    Spec::from_yaml(&text, mini_path()).unwrap_or_else(|e| panic!("should load: {e}"))
}

#[test]
fn mini_scope_model() {
    let spec = mini();
    assert_eq!(spec.path, mini_path());
    assert_eq!(
        spec.scripts[0].env.get("MODE").map(String::as_str),
        Some("{mode}")
    );
    assert_eq!(
        spec.scripts[0].args.as_deref(),
        Some("-c {os_cloud} {testcases}")
    );
    assert_eq!(spec.scripts[0].testcases, ["tc-a", "tc-b", "tc-c"]);
    assert_eq!(spec.testcases["tc-c"].lifetime, Lifetime::Year);
    assert_eq!(spec.testcases["tc-a"].description.as_deref(), Some("first"));
    assert_eq!(
        spec.variables[2],
        Variable {
            name: "flag".into(),
            default: Some("True".into())
        }
    );
    let m1 = spec.module("mod-1").expect("mod-1");
    assert_eq!(
        m1.parameters,
        [Parameter {
            name: "p1".into(),
            description: None
        }]
    );
    assert_eq!(m1.targets[1], ("preview".to_string(), strings(&["tc-c"])));
    assert_eq!(spec.module("mod-2").map(|m| m.name.as_str()), Some(""));
    // computed targets: first-seen target order, sorted union; the file's `targets` is ignored
    let v2 = spec.version("v2").expect("v2");
    assert_eq!(
        v2.targets,
        [
            (
                "main".to_string(),
                strings(&["tc-a", "tc-b", "tc-c", "tc-manual"])
            ),
            ("preview".to_string(), strings(&["tc-c"])),
        ]
    );
    assert_eq!(
        v2.include[1],
        Include {
            module: "mod-2".into(),
            parameters: vec![("x".into(), "y".into())]
        }
    );
    // a testcase in several targets: the last target wins (display only)
    assert_eq!(v2.target_of("tc-c"), Some("preview"));
    assert_eq!(v2.target_of("tc-a"), Some("main"));
    assert_eq!(v2.target_of("nope"), None);
    // manual testcases are never selected, even from main
    assert_eq!(
        spec.select_testcases(&[sel("v2")], &["main"], None, None),
        ["tc-a", "tc-b", "tc-c"]
    );
    assert_eq!(
        spec.select_testcases(&[sel("v1")], &["main"], None, None),
        ["tc-a", "tc-b"]
    );
    assert_eq!(
        spec.select_testcases(&[sel("v1"), sel("unknown")], &["main"], None, None),
        ["tc-a", "tc-b"]
    );
    // attn counts only the stabilized v1
    assert_eq!(spec.testcases["tc-a"].attn, 1);
    assert_eq!(spec.testcases["tc-c"].attn, 0);
    // selection by date
    assert_eq!(
        picked(&spec, "2024-05-31"),
        [v("v1", Validity::Effective, true)]
    );
    assert_eq!(
        picked(&spec, "2024-06-01"),
        [
            v("v2", Validity::Draft, true),
            v("v1", Validity::Effective, true)
        ]
    );
    assert!(spec.select_versions(day("2023-12-31"), None).is_err());
}

#[test]
fn accepted_oddities() {
    // timeline entries and prerequisite are not keyword-checked by the official loader
    let spec = loads_with(
        "  - date: 2024-01-01\n",
        "  - date: 2024-01-01\n    note: free text\n",
    );
    assert_eq!(spec.timeline.len(), 2);
    let spec = loads_with(
        "name: Mini scope\n",
        "name: Mini scope\nprerequisite:\n  name: X\n  url: y\n",
    );
    assert!(spec.has_prerequisite);
    // a version named with an empty code counts as not listed (falsy in Python)
    let spec = loads_with("      v2: draft\n", "      v2:\n");
    assert_eq!(
        picked(&spec, "2024-06-01"),
        [v("v1", Validity::Effective, true)]
    );
    // the scs-0003 list form of module parameters
    let spec = loads_with("parameters: [p1]", "parameters: {p1: what it is}");
    assert_eq!(
        spec.modules[0].parameters[0].description.as_deref(),
        Some("what it is")
    );
    // on a tie of dates, the first entry wins
    let spec = loads_with("  - date: 2024-01-01\n", "  - date: 2024-06-01\n");
    assert_eq!(
        picked(&spec, "2024-06-01"),
        [
            v("v2", Validity::Draft, true),
            v("v1", Validity::Effective, true)
        ]
    );
}

#[test]
fn unknown_keys_are_errors() {
    let err = broken("name: Mini scope\n", "name: Mini scope\nowner: me\n");
    assert!(
        matches!(&err, ScopeError::UnknownKey { field, key, .. } if field == "(top level)" && key == "owner"),
        "{err}"
    );
    let err = broken(
        "    description: first\n",
        "    description: first\n    tags: [x]\n",
    );
    assert!(
        matches!(&err, ScopeError::UnknownKey { field, key, .. } if field == "scripts[0].testcases[0]" && key == "tags"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("allowed here: id, lifetime, section, description, url"),
        "{err}"
    );
    let err = broken("  args: -c", "  section: x\n  args: -c");
    assert!(
        matches!(&err, ScopeError::UnknownKey { field, key, .. } if field == "scripts[0]" && key == "section"),
        "{err}"
    );
    let err = broken("        parameters: {x: y}", "        params: {x: y}");
    assert!(
        matches!(&err, ScopeError::UnknownKey { field, key, .. } if field == "versions[0].include[1]" && key == "params"),
        "{err}"
    );
    let err = broken("  - id: mod-empty\n", "  - id: mod-empty\n    run: []\n");
    assert!(
        matches!(&err, ScopeError::UnknownKey { field, key, .. } if field == "modules[2]" && key == "run"),
        "{err}"
    );
    let err = broken(
        "    stabilized_at: 2024-01-01\n",
        "    stabilized_at: 2024-01-01\n    deprecated_at: 2025-01-01\n",
    );
    assert!(
        matches!(&err, ScopeError::UnknownKey { field, key, .. } if field == "versions[1]" && key == "deprecated_at"),
        "{err}"
    );
}

#[test]
fn duplicate_ids_are_errors() {
    let err = broken("  - id: tc-c\n", "  - id: tc-a\n");
    assert!(
        matches!(&err, ScopeError::DuplicateTestcase { field, id, .. } if field == "scripts[0].testcases[2].id" && id == "tc-a"),
        "{err}"
    );
    // unique across all scripts, not just within one
    let err = broken("  - id: tc-manual\n", "  - id: tc-b\n");
    assert!(
        matches!(&err, ScopeError::DuplicateTestcase { field, .. } if field == "scripts[1].testcases[0].id"),
        "{err}"
    );
    let err = broken("  - id: mod-empty\n", "  - id: mod-2\n");
    assert!(
        matches!(&err, ScopeError::DuplicateModule { field, id, .. } if field == "modules[2].id" && id == "mod-2"),
        "{err}"
    );
    let err = broken("  - version: v1\n", "  - version: v2\n");
    assert!(
        matches!(&err, ScopeError::DuplicateVersion { field, name, .. } if field == "versions[1].version" && name == "v2"),
        "{err}"
    );
}

#[test]
fn references_must_resolve() {
    let err = broken(
        "include: [mod-1, mod-empty]",
        "include: [mod-1, scs-0999-v1]",
    );
    assert_eq!(
        err.to_string(),
        "scopes/mini.yaml: versions[1].include[1]: module \"scs-0999-v1\" is not defined in modules; add it or fix the id"
    );
    let err = broken("      - ref: mod-2\n", "      - ref: mod-9\n");
    assert!(
        matches!(&err, ScopeError::UnknownModule { field, id, .. } if field == "versions[0].include[1].ref" && id == "mod-9"),
        "{err}"
    );
    let err = broken("      v2: draft\n", "      v3: draft\n");
    assert!(
        matches!(&err, ScopeError::UnknownVersion { field, name, .. } if field == "timeline[0].versions" && name == "v3"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("version \"v3\" is not defined in versions"),
        "{err}"
    );
    let err = broken(
        "main: [tc-a, tc-b, tc-manual]",
        "main: [tc-a, tc-zz, tc-manual]",
    );
    assert!(
        matches!(&err, ScopeError::UnknownTestcase { field, id, .. } if field == "modules[0].targets.main[1]" && id == "tc-zz"),
        "{err}"
    );
}

#[test]
fn bad_values_are_errors() {
    let err = broken("  - date: 2024-01-01\n", "  - date: 2024-13-01\n");
    assert!(
        matches!(&err, ScopeError::BadDate { field, value, .. } if field == "timeline[1].date" && value == "2024-13-01"),
        "{err}"
    );
    assert!(err.to_string().contains("write it as YYYY-MM-DD"), "{err}");
    let err = broken("  - date: 2024-01-01\n", "  - date: soon\n");
    assert!(
        matches!(&err, ScopeError::BadDate { value, .. } if value == "soon"),
        "{err}"
    );
    // PyYAML only takes zero-padded dates as dates
    let err = broken(
        "    stabilized_at: 2024-01-01\n",
        "    stabilized_at: 2024-1-1\n",
    );
    assert!(
        matches!(&err, ScopeError::BadDate { field, .. } if field == "versions[1].stabilized_at"),
        "{err}"
    );
    let err = broken("    lifetime: month\n", "    lifetime: fortnight\n");
    assert!(
        matches!(&err, ScopeError::BadLifetime { field, value, .. } if field == "scripts[0].testcases[1].lifetime" && value == "fortnight"),
        "{err}"
    );
    let err = broken("      v2: draft\n", "      v2: drafty\n");
    assert!(
        matches!(&err, ScopeError::BadValidity { field, value, .. } if field == "timeline[0].versions.v2" && value == "drafty"),
        "{err}"
    );
    let err = broken("include: [mod-1, mod-empty]", "include: mod-1");
    assert!(
        matches!(&err, ScopeError::WrongType { field, .. } if field == "versions[1].include"),
        "{err}"
    );
    let err = broken("  - id: tc-c\n", "  - id: 7\n");
    assert!(
        matches!(&err, ScopeError::WrongType { field, .. } if field == "scripts[0].testcases[2].id"),
        "{err}"
    );
    let err = broken("  - mode: fast\n", "  - [mode, fast]\n");
    assert!(
        matches!(&err, ScopeError::WrongType { field, .. } if field == "variables[1]"),
        "{err}"
    );
}

#[test]
fn missing_keys_and_syntax_are_errors() {
    let err = broken("uuid: 00000000-0000-4000-8000-000000000000\n", "");
    assert!(
        matches!(&err, ScopeError::MissingKey { field, key, .. } if field == "(top level)" && key == "uuid"),
        "{err}"
    );
    let err = broken("timeline:\n", "timeline_:\n");
    assert!(
        matches!(&err, ScopeError::UnknownKey { key, .. } if key == "timeline_"),
        "{err}"
    );
    let err = broken("  - version: v1\n", "  - name: v1\n");
    assert!(
        matches!(&err, ScopeError::UnknownKey { .. }),
        "keyword check comes first: {err}"
    );
    let err = broken(
        "      - ref: mod-2\n        parameters: {x: y}\n",
        "      - parameters: {x: y}\n",
    );
    assert!(
        matches!(&err, ScopeError::MissingKey { field, key, .. } if field == "versions[0].include[1]" && key == "ref"),
        "{err}"
    );
    let err = broken("name: Mini scope\n", "name: [unclosed\n");
    assert!(matches!(&err, ScopeError::Yaml { .. }), "{err}");
    let err = Spec::from_yaml("- just\n- a list\n", mini_path()).expect_err("not a mapping");
    assert!(matches!(&err, ScopeError::WrongType { .. }), "{err}");
    let missing = Path::new("/nonexistent/scs-nope.yaml");
    let err = Spec::load(missing).expect_err("no such file");
    assert!(matches!(&err, ScopeError::Read { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("/nonexistent/scs-nope.yaml: cannot read"),
        "{err}"
    );
}

// ------------------------------------------------------------------------------------------------
// verdicts (a.3 step 7, c.2)

fn results(pairs: &[(&str, i8)]) -> BTreeMap<String, i8> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn summarize_console_and_monitor_rules() {
    let spec = mini();
    let all = strings(&["tc-a", "tc-b", "tc-c"]);
    // v2 main = tc-a, tc-b, tc-c, tc-manual (the manual one is never run, so it is missing)
    let s = summarize(
        &spec,
        "v2",
        "main",
        &results(&[("tc-a", 1), ("tc-b", 1), ("tc-c", 1)]),
        false,
        &all,
    );
    assert_eq!(s.verdict, TargetVerdict::TentativePass);
    assert_eq!(s.monitor_result, None);
    assert_eq!(s.passed, all);
    assert_eq!(s.missing, ["tc-manual"]);
    assert_eq!(s.not_selected, ["tc-manual"]);
    assert!(s.show_missing);
    assert_eq!(s.verdict_text(), "TENTATIVE pass (3 passed, 1 missing)");

    let full = results(&[("tc-a", 1), ("tc-b", 1), ("tc-c", 1), ("tc-manual", 1)]);
    let s = summarize(&spec, "v2", "main", &full, false, &all);
    assert_eq!(
        (s.verdict, s.monitor_result),
        (TargetVerdict::Pass, Some(1))
    );
    assert_eq!(s.verdict_text(), "PASS (4 passed)");

    // ABORT: FAIL on the console, but only 0 (inconclusive pass) for the monitor
    let s = summarize(
        &spec,
        "v2",
        "main",
        &results(&[("tc-a", 0), ("tc-b", 1), ("tc-c", 1), ("tc-manual", 1)]),
        false,
        &all,
    );
    assert_eq!(
        (s.verdict, s.monitor_result),
        (TargetVerdict::Fail, Some(0))
    );
    assert_eq!(s.aborted, ["tc-a"]);
    // MISSING ranks above ABORT for the monitor
    let s = summarize(
        &spec,
        "v2",
        "main",
        &results(&[("tc-a", 0), ("tc-b", 1), ("tc-c", 1)]),
        false,
        &all,
    );
    assert_eq!((s.verdict, s.monitor_result), (TargetVerdict::Fail, None));
    // FAIL ranks above everything
    let s = summarize(
        &spec,
        "v2",
        "main",
        &results(&[("tc-a", 0), ("tc-b", -1)]),
        false,
        &all,
    );
    assert_eq!(
        (s.verdict, s.monitor_result),
        (TargetVerdict::Fail, Some(-1))
    );
    assert_eq!(
        s.verdict_text(),
        "FAIL (0 passed, 1 failed, 1 aborted, 2 missing)"
    );

    // narrowed (-S/-t): the MISSING listing is hidden, the count and the verdict stay
    let picked = strings(&["tc-a"]);
    let s = summarize(&spec, "v2", "main", &results(&[("tc-a", 1)]), true, &picked);
    assert_eq!(s.verdict, TargetVerdict::TentativePass);
    assert!(!s.show_missing);
    assert_eq!(s.missing.len(), 3);
    assert_eq!(s.not_selected, ["tc-b", "tc-c", "tc-manual"]);

    // values other than -1/0/1 fall in no bucket; ids outside the target are ignored
    let s = summarize(
        &spec,
        "v1",
        "main",
        &results(&[("tc-a", 5), ("tc-b", 1), ("tc-c", -1), ("tc-manual", 1)]),
        false,
        &all,
    );
    assert_eq!(
        (s.verdict, s.monitor_result),
        (TargetVerdict::Pass, Some(1))
    );
    assert_eq!(s.passed, ["tc-b", "tc-manual"]);

    // an unknown target or version has no testcases: PASS
    let s = summarize(&spec, "v2", "recommended", &BTreeMap::new(), false, &[]);
    assert_eq!(
        (s.verdict, s.monitor_result),
        (TargetVerdict::Pass, Some(1))
    );
    assert_eq!(s.target, "recommended");
}

// ------------------------------------------------------------------------------------------------
// our own scope files agree with the official ones

fn testcase_facts(spec: &Spec) -> Vec<(String, Lifetime, Option<String>, bool)> {
    spec.testcases
        .values()
        .map(|t| (t.id.clone(), t.lifetime, t.section.clone(), t.manual))
        .collect()
}

/// A module as facts: id, name, url, targets.
type ModuleFacts = (String, String, Option<String>, Vec<(String, Vec<String>)>);

fn structure(spec: &Spec) -> (Vec<ModuleFacts>, Vec<Version>, Vec<TimelineEntry>) {
    let modules = spec
        .modules
        .iter()
        .map(|m| {
            (
                m.id.clone(),
                m.name.clone(),
                m.url.clone(),
                m.targets.clone(),
            )
        })
        .collect();
    (modules, spec.versions.clone(), spec.timeline.clone())
}

#[test]
fn our_scopes_match_the_official_ones() {
    for name in ["scs-compatible-iaas.yaml", "scs-compatible-kaas.yaml"] {
        let official = load(OFFICIAL_DIR, name);
        let ours = load(OURS_DIR, name);
        assert_eq!(ours.uuid, official.uuid, "{name}");
        assert_eq!(ours.name, official.name, "{name}");
        assert_eq!(ours.variables, official.variables, "{name}");
        assert_eq!(
            testcase_facts(&ours),
            testcase_facts(&official),
            "{name}: testcase ids, lifetimes, sections"
        );
        assert_eq!(
            structure(&ours),
            structure(&official),
            "{name}: modules, versions, timeline"
        );
        for date in [
            "2024-03-01",
            "2024-12-19",
            "2025-03-01",
            "2025-09-09",
            "2026-11-29",
        ] {
            let a = official.select_versions(day(date), None).ok();
            let b = ours.select_versions(day(date), None).ok();
            assert_eq!(a, b, "{name} on {date}");
            if let Some(sel) = &a {
                assert_eq!(
                    ours.select_testcases(sel, &["main"], None, None),
                    official.select_testcases(sel, &["main"], None, None),
                    "{name} on {date}"
                );
            }
        }
        for version in &official.versions {
            let vname = version.version.as_str();
            for date in ["2025-03-01", "2026-11-29"] {
                let a = official
                    .select_versions(day(date), Some(vname))
                    .expect("official version");
                let b = ours
                    .select_versions(day(date), Some(vname))
                    .expect("same version in ours");
                assert_eq!(a, b, "{name} {vname} on {date}");
                assert_eq!(
                    ours.select_testcases(&b, &["main"], None, None),
                    official.select_testcases(&a, &["main"], None, None),
                    "{name} {vname} on {date}"
                );
            }
        }
        // every automated testcase of ours is run by the bundle
        for t in ours.testcases.values().filter(|t| !t.manual) {
            assert_eq!(
                ours.scripts[t.script].executable.as_deref(),
                Some("scs-cert"),
                "{}",
                t.id
            );
        }
        assert!(
            ours.testcases.values().all(|t| t.description.is_some()),
            "{name}: every testcase is described"
        );
    }
}

/// The official files in tests/fixtures/official are unchanged copies: each one's sha256 starts
/// with the prefix its README table records (the README is the provenance record).
#[test]
fn official_fixtures_are_unchanged_copies() {
    use sha2::{Digest, Sha256};
    let readme = std::fs::read_to_string(file(OFFICIAL_DIR, "README.md")).expect("README");
    let mut seen = 0;
    for line in readme.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `file` | `upstream` | `prefix…` | used by |
        if cells.len() < 5 || !cells[1].starts_with('`') || cells[1] == "file" {
            continue;
        }
        let name = cells[1].trim_matches('`');
        let prefix = cells[3].trim_matches('`').trim_end_matches('…');
        let bytes = std::fs::read(file(OFFICIAL_DIR, name)).expect("fixture");
        let digest = hex::encode(Sha256::digest(&bytes));
        assert!(
            digest.starts_with(prefix) && prefix.len() >= 16,
            "{name}: sha256 {digest} does not start with the recorded {prefix}"
        );
        seen += 1;
    }
    assert_eq!(
        seen, 10,
        "every official fixture is listed in the README table"
    );
}

//! End to end: the real `scs-cert` binary, the real check components, and
//! the simulated cloud over real HTTP on 127.0.0.1. For the compliant
//! fixture every implemented testcase passes; for each broken fixture the
//! exact FAIL/ABORT of the official suite (docs/official-behaviour.md d.0, d.1, d.4,
//! d.10) comes out. Bad input gets exit code 4 and one clear line.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::Path;

const SCOPE: &str = "scopes/scs-compatible-iaas.yaml";
const DATE: &str = "2026-11-29";
/// The flavor checks and the service-presence testcases (a narrowed selection).
const FLAVORS_AND_SERVICES: &str = "scs-01(00|03)|scs-0123-s(ervice|torage)";

const MANDATORY_FLAVORS: [&str; 15] = [
    "1v-4",
    "2v-8",
    "4v-16",
    "8v-32",
    "1v-2",
    "2v-4",
    "4v-8",
    "8v-16",
    "16v-32",
    "1v-8",
    "2v-16",
    "4v-32",
    "1l-1",
    "2v-4-20s",
    "4v-16-100s",
];
const RECOMMENDED_FLAVORS: [&str; 16] = [
    "1v-4-10",
    "2v-8-20",
    "4v-16-50",
    "8v-32-100",
    "1v-2-5",
    "2v-4-10",
    "4v-8-20",
    "8v-16-50",
    "16v-32-100",
    "1v-8-20",
    "2v-16-50",
    "4v-32-100",
    "1l-1-5",
    "16v-64",
    "8v-64",
    "16v-128",
];
const SERVICES: [&str; 8] = [
    "scs-0123-service-compute",
    "scs-0123-service-identity",
    "scs-0123-service-image",
    "scs-0123-service-network",
    "scs-0123-service-load-balancer",
    "scs-0123-service-placement",
    "scs-0123-storage-apis",
    "scs-0123-service-s3",
];

/// Every implemented testcase with the verdict the compliant cloud gets.
fn all_pass(recommended: bool) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    m.insert("scs-0100-syntax-check".to_string(), 1);
    m.insert("scs-0100-semantics-check".to_string(), 1);
    for f in MANDATORY_FLAVORS {
        m.insert(format!("scs-0103-flavor-{f}"), 1);
    }
    if recommended {
        for f in RECOMMENDED_FLAVORS {
            m.insert(format!("scs-0103-flavor-{f}"), 1);
        }
    }
    for s in SERVICES {
        m.insert(s.to_string(), 1);
    }
    m
}

struct Run {
    cli: CliRun,
    report: serde_json::Value,
}

fn run_fixture(fixture: &str, extra: &[&str]) -> Run {
    let cloud = start_cloud(fixture);
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let out = dir.path().join("report.yaml");
    let checks = real_checks();
    let mut args = vec![
        "run",
        SCOPE,
        "--os-cloud",
        "simcloud",
        "--subject",
        "e2e-cloud",
        "--date",
        DATE,
        "--output",
        out.to_str().expect("utf-8 path"),
        "--checks",
        checks.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    let cli = scs_cert(&args, Some(&clouds));
    assert!(out.is_file(), "no report written; stderr:\n{}", cli.stderr);
    let report = read_report(&out);
    Run { cli, report }
}

#[test]
fn compliant_cloud_passes_every_implemented_testcase() {
    let r = run_fixture(
        "compliant",
        &["--tests", FLAVORS_AND_SERVICES, "--recommended"],
    );
    assert_eq!(
        results_of(&r.report),
        all_pass(true),
        "stderr:\n{}",
        r.cli.stderr
    );
    assert_eq!(
        r.cli.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        r.cli.stdout, r.cli.stderr
    );
    assert!(
        r.cli
            .stdout
            .contains("e2e-cloud SCS-compatible IaaS [tests: '"),
        "{}",
        r.cli.stdout
    );
    assert!(r.cli.stdout.contains("- main: "), "{}", r.cli.stdout);
    // Report structure of the official -o report (b.1).
    assert_eq!(
        r.report["spec"]["uuid"],
        "50393e6f-2ae1-4c5c-a62c-3b75f2abef3f"
    );
    assert_eq!(r.report["subject"], "e2e-cloud");
    assert_eq!(r.report["reference_date"], DATE);
    assert_eq!(r.report["run"]["assignment"]["os_cloud"], "simcloud");
    assert_eq!(r.report["run"]["forced_tests"], FLAVORS_AND_SERVICES);
    let invs = r.report["run"]["invocations"]
        .as_object()
        .expect("invocations");
    assert_eq!(invs.len(), 3, "one invocation per component");
    for (id, inv) in invs {
        assert_eq!(&inv["id"], id);
        assert_eq!(inv["rc"], 0);
        assert_eq!(inv["error"], 0, "{inv}");
        assert_eq!(inv["critical"], 0, "{inv}");
    }
    assert_eq!(
        r.report["run"]["scs_cert"]["components"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

/// The main testcases of `next` and `v5.1`, the versions in force on DATE.
fn main_testcases() -> Vec<String> {
    let spec = scs_cert::scope::Spec::load(&root().join(SCOPE)).expect("scope");
    let date = chrono::NaiveDate::parse_from_str(DATE, "%Y-%m-%d").expect("date");
    let versions = spec.select_versions(date, None).expect("versions");
    let names: Vec<&str> = versions.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["next", "v5.1"]);
    spec.select_testcases(&versions, &["main"], None, None)
}

/// The whole IaaS scope (next and v5.1, every check, the write checks
/// included) against one fixture: every main testcase has a result, and it
/// is PASS except for `changes`. The exit code and the console follow.
fn whole_scope(fixture: &str, changes: &[(&str, i64)]) {
    let r = run_fixture(fixture, &[]);
    let mut want: BTreeMap<String, i64> = main_testcases().into_iter().map(|t| (t, 1)).collect();
    assert_eq!(want.len(), 57, "next + v5.1 main testcases");
    for (id, v) in changes {
        assert!(want.contains_key(*id), "{id} is not a main testcase");
        want.insert(id.to_string(), *v);
    }
    let got = results_of(&r.report);
    let diff: Vec<String> = want
        .iter()
        .filter(|(k, v)| got.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k}: want {v}, got {:?}", got.get(k)))
        .collect();
    assert!(
        diff.is_empty(),
        "fixture {fixture}:\n{}\nstderr:\n{}",
        diff.join("\n"),
        r.cli.stderr
    );
    assert_eq!(
        got.len(),
        want.len(),
        "no results beyond the main testcases"
    );
    let unimplemented = r.report["run"]["scs_cert"]["unimplemented"]
        .as_array()
        .map(Vec::len);
    assert_eq!(
        unimplemented,
        Some(0),
        "every main testcase has a component"
    );
    let code = if changes.iter().any(|(_, v)| *v == -1) {
        1
    } else if changes.is_empty() {
        0
    } else {
        2
    };
    assert_eq!(r.cli.code, code, "fixture {fixture}:\n{}", r.cli.stdout);
    for version in ["next", "v5.1"] {
        let header = format!("e2e-cloud SCS-compatible IaaS {version}:\n- main: ");
        assert!(r.cli.stdout.contains(&header), "{}", r.cli.stdout);
    }
    if changes.is_empty() {
        assert!(
            r.cli
                .stdout
                .contains("IaaS next:\n- main: PASS (55 passed)"),
            "{}",
            r.cli.stdout
        );
        assert!(
            r.cli
                .stdout
                .contains("IaaS v5.1:\n- main: PASS (54 passed)"),
            "{}",
            r.cli.stdout
        );
    } else {
        assert!(!r.cli.stdout.contains("MISSING"), "{}", r.cli.stdout);
    }
}

#[test]
fn whole_scope_compliant_every_main_testcase_passes() {
    whole_scope("compliant", &[]);
}

#[test]
fn whole_scope_no_default_rules_api_passes_through_the_fallback() {
    whole_scope("no-default-rules-api", &[]);
}

#[test]
fn whole_scope_bad_default_rules() {
    whole_scope("bad-default-rules", &[("scs-0115-default-rules", -1)]);
}

#[test]
fn whole_scope_bad_volume_types() {
    whole_scope("bad-volume-types", &[("scs-0114-syntax-check", -1)]);
}

#[test]
fn whole_scope_barbican_forbidden() {
    whole_scope("barbican-forbidden", &[("scs-0116-permissions", -1)]);
}

#[test]
fn whole_scope_low_entropy() {
    whole_scope(
        "low-entropy",
        &[("scs-0101-entropy-avail", -1), ("scs-0101-fips-test", -1)],
    );
}

#[test]
fn whole_scope_no_rngtest() {
    whole_scope("no-rngtest", &[("scs-0101-fips-test", 0)]);
}

#[test]
fn whole_scope_no_external_network() {
    whole_scope(
        "no-external-network",
        &[("scs-0101-entropy-avail", 0), ("scs-0101-fips-test", 0)],
    );
}

#[test]
fn whole_scope_s3_access_denied() {
    whole_scope("s3-access-denied", &[("scs-0123-swift-s3", -1)]);
}

#[test]
fn whole_scope_missing_services() {
    whole_scope(
        "missing-services",
        &[
            ("scs-0123-service-load-balancer", -1),
            ("scs-0123-storage-apis", -1),
            ("scs-0114-syntax-check", 0),
            ("scs-0117-test-backup", -1),
        ],
    );
}

#[test]
fn whole_scope_broken_standard_flavors() {
    whole_scope(
        "broken-standard-flavors",
        &[
            ("scs-0100-semantics-check", -1),
            ("scs-0103-flavor-1v-4", -1),
            ("scs-0103-flavor-2v-8", -1),
            ("scs-0103-flavor-2v-4-20s", -1),
        ],
    );
}

fn expect(fixture: &str, changes: &[(&str, i64)]) {
    let r = run_fixture(fixture, &["--tests", FLAVORS_AND_SERVICES]);
    let mut want = all_pass(false);
    for (id, v) in changes.iter() {
        assert!(
            want.contains_key(*id),
            "{id} is not an implemented main testcase"
        );
        want.insert(id.to_string(), *v);
    }
    assert_eq!(
        results_of(&r.report),
        want,
        "fixture {fixture}; stderr:\n{}",
        r.cli.stderr
    );
    let code = if changes.iter().any(|(_, v)| *v == -1) {
        1
    } else if changes.is_empty() {
        0
    } else {
        2
    };
    assert_eq!(r.cli.code, code, "fixture {fixture}: {}", r.cli.stdout);
}

#[test]
fn broken_flavor_names() {
    expect(
        "broken-flavor-names",
        &[
            ("scs-0100-syntax-check", -1),
            ("scs-0100-semantics-check", -1),
        ],
    );
}

#[test]
fn flavor_with_disk_part_but_no_size_aborts_semantics() {
    expect("flavor-disk-abort", &[("scs-0100-semantics-check", 0)]);
}

#[test]
fn broken_standard_flavors() {
    expect(
        "broken-standard-flavors",
        &[
            // 8000 MiB rounds to 7.8 GiB < 8: also a semantics overpromise (d.1).
            ("scs-0100-semantics-check", -1),
            ("scs-0103-flavor-1v-4", -1),
            ("scs-0103-flavor-2v-8", -1),
            ("scs-0103-flavor-2v-4-20s", -1),
        ],
    );
}

#[test]
fn missing_services() {
    expect(
        "missing-services",
        &[
            ("scs-0123-service-load-balancer", -1),
            ("scs-0123-storage-apis", -1),
        ],
    );
}

fn preflight_aborts_everything(fixture: &str, reason: &str) {
    let r = run_fixture(fixture, &["--tests", FLAVORS_AND_SERVICES]);
    let results = results_of(&r.report);
    assert_eq!(results.len(), all_pass(false).len());
    assert!(results.values().all(|v| *v == 0), "{results:?}");
    assert_eq!(r.cli.code, 2);
    let lines = log_lines(&r.report);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("CRITICAL: preflight failed:") && l.contains(reason)),
        "{lines:?}"
    );
}

#[test]
fn admin_role_aborts_the_run_in_preflight() {
    preflight_aborts_everything("admin-role", "user privileges too high");
}

#[test]
fn missing_member_role_aborts_the_run_in_preflight() {
    preflight_aborts_everything("no-member-role", "lacks the member role");
}

#[test]
fn official_scope_file_and_spellings_work_unchanged() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "mycloud", &Credential::FirstUser);
    let out = dir.path().join("r.yaml");
    let official = root().join("tests/fixtures/official/scs-compatible-iaas.yaml");
    assert!(
        official.is_file(),
        "official scope missing at {}",
        official.display()
    );
    let cli = scs_cert(
        &[
            "run",
            official.to_str().expect("path"),
            "-s",
            "mycloud",
            "-a",
            "os_cloud=mycloud",
            "-o",
            out.to_str().expect("path"),
            "-d",
            DATE,
            "-V",
            "v5.1",
            "-t",
            "scs-0100",
            "--checks",
            real_checks().to_str().expect("path"),
        ],
        Some(&clouds),
    );
    assert_eq!(cli.code, 0, "{}\n{}", cli.stdout, cli.stderr);
    let report = read_report(&out);
    assert_eq!(report["run"]["forced_version"], "v5.1");
    let results = results_of(&report);
    assert_eq!(results.len(), 2);
    assert!(results.values().all(|v| *v == 1));
    // As the official console: the narrowed run still counts the target's
    // other testcases as missing (only their listing is suppressed).
    assert!(
        cli.stdout.starts_with("mycloud SCS-compatible IaaS [tests: 'scs-0100'] v5.1:\n- main: TENTATIVE pass (2 passed, 52 missing)\n"),
        "{}",
        cli.stdout
    );
    assert!(!cli.stdout.contains("MISSING:"), "{}", cli.stdout);
}

fn bad(args: &[&str], clouds: Option<&Path>, want_code: i32, want_in_stderr: &str) {
    let cli = scs_cert(args, clouds);
    assert_eq!(cli.code, want_code, "{args:?}: {}", cli.stderr);
    assert!(
        cli.stderr.contains(want_in_stderr),
        "{args:?}: stderr was:\n{}",
        cli.stderr
    );
    assert!(!cli.stderr.contains("panicked"), "{}", cli.stderr);
}

#[test]
fn bad_input_gets_exit_code_4_and_one_clear_line() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = real_checks();
    let checks = checks.to_str().expect("path");
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "uuid: x\nname: y\nversions: []\nfrobnicate: 1\n").expect("write");
    let broken = broken.to_str().expect("path");
    let base = |scope: &'static str| vec!["run", scope, "-s", "x", "--checks"];
    let mut a = base("scopes/scs-compatible-iaas.yaml");
    a.extend([checks, "--os-cloud", "nosuchcloud"]);
    bad(&a, Some(&clouds), 4, "no cloud named \"nosuchcloud\"");
    let a = vec![
        "run",
        broken,
        "-s",
        "x",
        "--checks",
        checks,
        "--os-cloud",
        "simcloud",
    ];
    bad(&a, Some(&clouds), 4, "frobnicate");
    let a = vec![
        "run",
        SCOPE,
        "-s",
        "x",
        "--checks",
        "/nonexistent/checks",
        "--os-cloud",
        "simcloud",
    ];
    bad(
        &a,
        Some(&clouds),
        4,
        "/nonexistent/checks: cannot read the checks directory",
    );
    let a = vec![
        "run", SCOPE, "-s", "x", "--checks", checks, "-a", "os_cloud",
    ];
    bad(&a, Some(&clouds), 4, "expected KEY=VALUE");
    let a = vec!["run", SCOPE, "-s", "x", "--checks", checks];
    bad(&a, Some(&clouds), 4, "os_cloud");
    let a = vec![
        "run",
        SCOPE,
        "-s",
        "x",
        "--checks",
        checks,
        "--os-cloud",
        "simcloud",
        "-t",
        "(",
    ];
    bad(&a, Some(&clouds), 4, "not a valid regular expression");
    let a = vec![
        "run",
        SCOPE,
        "-s",
        "x",
        "--checks",
        checks,
        "--os-cloud",
        "simcloud",
        "--date",
        "2024-01-01",
    ];
    bad(&a, Some(&clouds), 4, "2024-01-01");
    let a = vec!["run", SCOPE, "--checks", checks];
    bad(&a, Some(&clouds), 4, "--subject");
    let a = vec![
        "run",
        SCOPE,
        "-s",
        "x",
        "--checks",
        checks,
        "--os-cloud",
        "simcloud",
    ];
    bad(&a, None, 4, "no clouds.yaml found");
    // The report cannot be written: environment failure, exit 5.
    let a = vec![
        "run",
        SCOPE,
        "-s",
        "x",
        "--checks",
        checks,
        "--os-cloud",
        "simcloud",
        "-t",
        "scs-0123-service-compute",
        "-o",
        "/nonexistent/dir/report.yaml",
    ];
    bad(
        &a,
        Some(&clouds),
        5,
        "/nonexistent/dir/report.yaml: cannot write the report",
    );
}

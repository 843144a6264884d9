//! End to end: the real `scs-cert` binary, the real check components, and
//! the simulated cloud over real HTTP on 127.0.0.1. Every simcloud fixture
//! gets, over the whole IaaS scope, exactly the verdicts and exit code its
//! `expect` block says: all PASS for the compliant one, for each broken one
//! the exact FAIL/ABORT of the official suite (docs/official-behaviour.md d.0,
//! d.1, d.4, d.10). Bad input gets exit code 4 and one clear line.

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
    let spec = scs_cert_host::scope::Spec::load(&root().join(SCOPE)).expect("scope");
    let date = chrono::NaiveDate::parse_from_str(DATE, "%Y-%m-%d").expect("date");
    let versions = spec.select_versions(date, None).expect("versions");
    let names: Vec<&str> = versions.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["next", "v5.1"]);
    spec.select_testcases(&versions, &["main"], None, None)
}

/// The simcloud fixtures present when this test was written: fewer means one was deleted
/// (or the directory moved), which must be a decision rather than an accident.
const MIN_FIXTURES: usize = 21;

/// Fixtures whose verdict needs an official retry schedule to run out: they run with the
/// virtual clock (sleeps return at once, the simulated cloud changes state by polls, so the
/// calls are the same; see checks_write.rs). Without it no-backup-service waits 110 s.
const VIRTUAL_CLOCK: [&str; 1] = ["no-backup-service"];

/// The fixture names (file stems) in tests/simcloud/fixtures, sorted.
fn fixture_names() -> Vec<String> {
    let dir = root().join("tests/simcloud/fixtures");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

/// The whole IaaS scope (next and v5.1, every check, the write checks included) against one
/// fixture, compared with the fixture's `expect` block: every main testcase has exactly the
/// expected verdict, the exit code is the expected one, and the console agrees. Returns what
/// differs, one line each, naming the fixture.
fn whole_scope(fixture: &str, testcases: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(expect) = crate::common::fixture(fixture).expect else {
        return vec![format!("fixture {fixture}: no expect block")];
    };
    let mut want: BTreeMap<String, i64> = testcases
        .iter()
        .map(|t| (t.clone(), expect.others.result()))
        .collect();
    for (id, verdict) in &expect.verdicts {
        if want.insert(id.clone(), verdict.result()).is_none() {
            problems.push(format!(
                "fixture {fixture}: expect names {id}, which is not a main testcase"
            ));
        }
    }
    let clock: &[&str] = if VIRTUAL_CLOCK.contains(&fixture) {
        &["--virtual-clock"]
    } else {
        &[]
    };
    let r = run_fixture(fixture, clock);
    let got = results_of(&r.report);
    let name = |v: i64| match v {
        1 => "PASS",
        -1 => "FAIL",
        0 => "ABORT",
        _ => "?",
    };
    for (id, v) in &want {
        match got.get(id) {
            Some(g) if g == v => {}
            Some(g) => problems.push(format!(
                "fixture {fixture}: {id}: expected {}, got {}",
                name(*v),
                name(*g)
            )),
            None => problems.push(format!(
                "fixture {fixture}: {id}: expected {}, got no result",
                name(*v)
            )),
        }
    }
    for id in got.keys().filter(|id| !want.contains_key(*id)) {
        problems.push(format!(
            "fixture {fixture}: {id}: a result, but not a main testcase"
        ));
    }
    let unimplemented = r.report["run"]["scs_cert"]["unimplemented"]
        .as_array()
        .map(Vec::len);
    if unimplemented != Some(0) {
        problems.push(format!(
            "fixture {fixture}: main testcases without a component: {:?}",
            r.report["run"]["scs_cert"]["unimplemented"]
        ));
    }
    if r.cli.code != expect.exit {
        problems.push(format!(
            "fixture {fixture}: exit code {}, expected {}",
            r.cli.code, expect.exit
        ));
    }
    let mut console = Vec::new();
    for version in ["next", "v5.1"] {
        console.push(format!(
            "e2e-cloud SCS-compatible IaaS {version}:\n- main: "
        ));
    }
    if want.values().all(|v| *v == 1) {
        console.push("IaaS next:\n- main: PASS (55 passed)".into());
        console.push("IaaS v5.1:\n- main: PASS (54 passed)".into());
    } else if r.cli.stdout.contains("MISSING") {
        problems.push(format!("fixture {fixture}: the console reports MISSING"));
    }
    for line in console {
        if !r.cli.stdout.contains(&line) {
            problems.push(format!("fixture {fixture}: the console lacks {line:?}"));
        }
    }
    if !problems.is_empty() {
        let tail: Vec<&str> = r.cli.stderr.lines().rev().take(30).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        problems.push(format!(
            "fixture {fixture}: stdout:\n{}\nlast stderr lines:\n{}",
            r.cli.stdout,
            tail.join("\n")
        ));
    }
    problems
}

/// Every fixture in tests/simcloud/fixtures against the whole scope, two at a time; each
/// must give exactly the verdicts and exit code of its `expect` block.
#[test]
fn whole_scope_every_fixture_gets_its_expected_verdicts() {
    let names = fixture_names();
    assert!(
        names.len() >= MIN_FIXTURES,
        "only {} fixtures in tests/simcloud/fixtures, expected at least {MIN_FIXTURES}: {names:?}",
        names.len()
    );
    for name in VIRTUAL_CLOCK {
        assert!(names.iter().any(|n| n == name), "no fixture {name}");
    }
    let testcases = main_testcases();
    assert_eq!(testcases.len(), 57, "next + v5.1 main testcases");
    let next = std::sync::atomic::AtomicUsize::new(0);
    let problems = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(name) = names.get(i) else { break };
                    let started = std::time::Instant::now();
                    let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        whole_scope(name, &testcases)
                    }))
                    .unwrap_or_else(|panic| {
                        let msg = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                            .unwrap_or_default();
                        vec![format!("fixture {name}: panicked: {msg}")]
                    });
                    eprintln!("e2e: {name}: {:.1} s", started.elapsed().as_secs_f64());
                    problems
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .extend(found);
                }
            });
        }
    });
    let problems = problems.into_inner().unwrap_or_else(|e| e.into_inner());
    assert!(
        problems.is_empty(),
        "{} of {} fixtures differ from their expect block:\n{}",
        names
            .iter()
            .filter(|n| problems
                .iter()
                .any(|p| p.starts_with(&format!("fixture {n}:"))))
            .count(),
        names.len(),
        problems.join("\n")
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

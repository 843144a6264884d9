//! Issue 15: what operators look at and schedule by. The HTML report as a real headless
//! Chromium renders it (DOM and screenshot), the JUnit XML as Python's XML parser reads it, the
//! Prometheus textfile as the official Python client's parser reads it, the results history
//! behind "what changed" and `--due`, and the progress lines of long waits.
//!
//! Needs `chromium` and `python3-prometheus-client` (Debian packages; `cargo xtask test` and
//! `.ci/run` install them when missing).

use crate::common::*;
use std::path::Path;
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

/// Headless Chromium on a local file, with the flags this sandbox needs (no GPU, no
/// background networking); returns stdout.
fn chromium(dir: &Path, extra: &[&str], page: &Path) -> String {
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: apt-get install chromium (cargo xtask test installs it)"
    );
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.join("chromium").display()
        ))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `/usr/bin/python3 -c SCRIPT ARGS...` (Debian's, where the apt package is); returns stdout, fails the test on a non-zero exit.
fn python(script: &str, args: &[&Path]) -> String {
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A failing cloud, then the same subject passing: the HTML page shows the failures with
/// their reasons (cloud text escaped, nothing injected), then what changed; the JUnit XML and
/// the metrics carry the same verdicts as the report.
#[test]
fn html_junit_and_metrics_show_the_verdicts_and_what_changed() {
    let dir = tempdir();
    let d = dir.path();
    let (html, junit, prom, state) = (
        d.join("r.html"),
        d.join("r.junit.xml"),
        d.join("r.prom"),
        d.join("state"),
    );
    let extra = [
        "--html",
        p(&html),
        "--junit",
        p(&junit),
        "--metrics-file",
        p(&prom),
        "--state-dir",
        p(&state),
        "-q",
    ];
    // a flavor name that is markup: it reaches the ERROR lines and must stay text
    let mut f = fixture("broken-flavor-names");
    let mut hostile = f.flavors[0].clone();
    hostile.id = "303".into();
    hostile.name = "SCS-<img src=x onerror=alert(1)>".into();
    f.flavors.push(hostile);
    let cloud = simcloud::spawn_blocking_server(f).expect("simcloud");
    let (run, report) = run_scope(&cloud, "scs-0100", &extra);
    assert_eq!(run.code, 1, "{}", run.stderr);
    drop(cloud);

    // the page as Chromium builds it
    let dom = chromium(d, &["--dump-dom"], &html);
    assert!(dom.contains("Failed and aborted testcases (2)"), "{dom}");
    assert!(dom.contains("scs-0100-syntax-check") && dom.contains("scs-0100-semantics-check"));
    assert!(
        dom.contains("SCS-&lt;img src=x onerror=alert(1)&gt;"),
        "escaped: {dom}"
    );
    assert!(!dom.contains("<img"), "cloud text became markup: {dom}");
    assert!(
        dom.contains("No earlier run of this subject and scope"),
        "{dom}"
    );
    // and as a picture of the given width
    let shot = d.join("report.png");
    chromium(
        d,
        &[
            "--window-size=1280,1400",
            &format!("--screenshot={}", p(&shot)),
        ],
        &html,
    );
    let png = std::fs::read(&shot).expect("screenshot");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    assert_eq!(width, 1280);
    assert!(
        png.len() > 20_000,
        "a rendered page, not a blank one: {} bytes",
        png.len()
    );

    // JUnit: the same FAILs, with their reasons, as the report
    let fails = python(
        "import sys, xml.etree.ElementTree as ET\n\
         root = ET.parse(sys.argv[1]).getroot()\n\
         s = root.find('testsuite')\n\
         print(root.get('tests'), s.get('failures'), s.get('errors'))\n\
         for c in s.iter('testcase'):\n\
         \x20   f = c.find('failure')\n\
         \x20   if f is not None: print(c.get('name'), bool(f.get('message')), bool(f.text))\n",
        &[&junit],
    );
    let fails: Vec<&str> = fails.lines().collect();
    assert_eq!(fails[0], "2 2 0", "{fails:?}");
    assert!(
        fails.contains(&"scs-0100-syntax-check True True"),
        "{fails:?}"
    );
    assert!(
        fails.contains(&"scs-0100-semantics-check True True"),
        "{fails:?}"
    );

    // Prometheus: parsed by the official client library
    let metrics = python(
        "import sys\n\
         from prometheus_client.parser import text_string_to_metric_families\n\
         for fam in text_string_to_metric_families(open(sys.argv[1]).read()):\n\
         \x20   for s in fam.samples:\n\
         \x20       print(s.name, s.labels.get('testcase', s.labels.get('result', '-')), int(s.value))\n",
        &[&prom],
    );
    assert!(metrics.contains("scs_cert_run_overall - -1"), "{metrics}");
    assert!(
        metrics.contains("scs_cert_testcase_result scs-0100-syntax-check -1"),
        "{metrics}"
    );
    assert!(metrics.contains("scs_cert_testcases fail 2"), "{metrics}");
    assert_eq!(
        report["run"]["uuid"].as_str().map(str::len),
        Some(36),
        "the report names its run"
    );

    // the same subject, now compliant: the page shows FAIL -> PASS since the run before
    let cloud = start_cloud("compliant");
    let (run, _) = run_scope(&cloud, "scs-0100", &extra);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let dom = chromium(d, &["--dump-dom"], &html);
    assert!(dom.contains("Failed and aborted testcases (0)"), "{dom}");
    assert!(dom.contains("Compared with run"), "{dom}");
    let changed = dom.matches("class=\"changed\"").count();
    assert_eq!(changed, 2, "both testcases went from FAIL to PASS: {dom}");

    // `scs-cert history` lists both runs, newest first, with the change
    let h = scs_cert(&["history", "--state-dir", p(&state), "--changes"], None);
    assert_eq!(h.code, 0, "{}", h.stderr);
    let lines: Vec<&str> = h.stdout.lines().collect();
    assert!(
        lines[0].contains("test-cloud") && lines[0].contains("PASS"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.trim() == "scs-0100-syntax-check: FAIL -> PASS"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("FAIL") && l.contains("2 fail")),
        "{lines:?}"
    );
}

/// `--due` runs what has no result yet, then nothing until the results come near their
/// expiry; a margin that reaches the expiry runs them again. Nothing due: exit 0, no report.
#[test]
fn due_runs_what_expires_and_nothing_else() {
    let dir = tempdir();
    let state = dir.path().join("state");
    let cloud = start_cloud("compliant");
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let out = dir.path().join("r.yaml");
    let prom = dir.path().join("r.prom");
    let run = |tests: &str, margin: &str| {
        let _ = std::fs::remove_file(&out);
        scs_cert(
            &[
                "run",
                "scopes/scs-compatible-iaas.yaml",
                "--os-cloud",
                "simcloud",
                "-s",
                "due-cloud",
                "--tests",
                tests,
                "--checks",
                p(&real_checks()),
                "--state-dir",
                p(&state),
                "--due",
                "--due-margin",
                margin,
                "-o",
                p(&out),
                "--metrics-file",
                p(&prom),
                "-q",
            ],
            Some(&clouds),
        )
    };
    let tests = "scs-0100|scs-0123-service";
    let first = run(tests, "36");
    assert_eq!(first.code, 0, "{}", first.stderr);
    let ran = read_report(&out);
    let results = ran["run"]["invocations"].as_object().map_or(0, |m| m.len());
    assert!(results >= 2, "both checks ran: {ran}");

    // everything is valid for more than 36 hours (lifetime week at least)
    let second = run(tests, "36");
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second.stderr.contains("nothing is due"),
        "{}",
        second.stderr
    );
    assert!(!out.exists(), "nothing due writes no report");

    // a testcase without a result joins: only it runs, and the metrics keep the others'
    // earlier PASS and expiry (an alert on expiry still sees them)
    let partial = run(&format!("{tests}|scs-0103-flavor-2v-4$"), "36");
    assert_eq!(partial.code, 0, "{}", partial.stderr);
    assert!(
        partial.stderr.contains("testcase(s) not due"),
        "{}",
        partial.stderr
    );
    let ran_now = read_report(&out)["run"]["invocations"].clone();
    assert_eq!(ran_now.as_object().map_or(0, |m| m.len()), 1, "{ran_now}");
    let metrics = std::fs::read_to_string(&prom).expect("metrics");
    assert!(
        metrics.contains("testcase=\"scs-0100-syntax-check\"} 1")
            && metrics.contains("testcase=\"scs-0103-flavor-2v-4\"} 1"),
        "{metrics}"
    );
    assert_eq!(
        metrics
            .lines()
            .filter(|l| l.starts_with("scs_cert_testcase_expiry_timestamp_seconds{"))
            .count(),
        metrics
            .lines()
            .filter(|l| l.starts_with("scs_cert_testcase_result{"))
            .count()
    );

    // a margin of a year reaches every expiry: all due again
    let third = run(tests, "8784");
    assert_eq!(third.code, 0, "{}", third.stderr);
    let again = read_report(&out);
    assert_eq!(
        again["run"]["invocations"]
            .as_object()
            .map_or(0, |m| m.len()),
        results,
        "the same checks ran again: {again}"
    );
    let h = scs_cert(&["history", "--state-dir", p(&state)], None);
    assert_eq!(
        h.stdout.lines().count(),
        3,
        "three runs recorded: {}",
        h.stdout
    );
    // --due without a history is refused with one line
    let bad = scs_cert(
        &[
            "run",
            "scopes/scs-compatible-iaas.yaml",
            "--checks",
            p(&real_checks()),
            "--due",
            "--no-history",
        ],
        Some(&clouds),
    );
    assert_eq!(bad.code, 4, "{}", bad.stderr);
    assert!(
        bad.stderr
            .contains("'--due' cannot be used with '--no-history'"),
        "{}",
        bad.stderr
    );
}

/// A check that sleeps between polls shows the wait as a wait in the plain progress lines.
#[test]
fn long_waits_are_shown_as_waits() {
    let dir = tempdir();
    let cloud = start_cloud("compliant");
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(dir.path(), &["test-sleep"]);
    let run = scs_cert(
        &[
            "run",
            p(&test_scope()),
            "--os-cloud",
            "simcloud",
            "-s",
            "t",
            "--tests",
            "test-slow-poll",
            "--checks",
            p(&checks),
            "--no-history",
        ],
        Some(&clouds),
    );
    assert!(
        run.stderr
            .lines()
            .any(|l| l.contains("test-sleep: waiting for the cloud (")),
        "{}",
        run.stderr
    );
}

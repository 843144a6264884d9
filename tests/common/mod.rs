//! Shared helpers of the integration tests: the simulated cloud, clouds.yaml
//! files, check directories assembled from the built components, and running
//! the real `scs-cert` binary.
#![allow(dead_code)]

pub mod pki;

use std::path::{Path, PathBuf};
use std::process::Command;

pub use simcloud::{BlockingSimCloud, Credential, Fixture};

/// Workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A simcloud fixture file by name (`compliant`, `broken-flavor-names`, ...).
pub fn fixture(name: &str) -> Fixture {
    let p = root().join(format!("tests/simcloud/fixtures/{name}.yaml"));
    Fixture::load(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// Start simcloud on its own runtime thread.
pub fn start_cloud(name: &str) -> BlockingSimCloud {
    simcloud::spawn_blocking_server(fixture(name)).expect("start simcloud")
}

/// A fresh temporary directory under the target dir.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("scs-cert-test-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("tempdir")
}

/// The compile cache shared by all test processes.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache")
}

/// Write a clouds.yaml for `cloud` into `dir`; returns its path.
pub fn write_clouds(
    dir: &Path,
    cloud: &BlockingSimCloud,
    name: &str,
    cred: &Credential,
) -> PathBuf {
    let text = cloud.clouds_yaml(name, cred).expect("clouds.yaml");
    let p = dir.join("clouds.yaml");
    std::fs::write(&p, text).expect("write clouds.yaml");
    p
}

/// A checks directory holding exactly the named checks, taken from the real
/// components (`checks/`) and the test guests (`tests/guests/`).
pub fn checks_with(dir: &Path, ids: &[&str]) -> PathBuf {
    let out = dir.join("checks");
    std::fs::create_dir_all(&out).expect("mkdir checks");
    for id in ids {
        let real = Path::new(scs_cert_artifacts::CHECKS_DIR).join(id);
        let test = Path::new(scs_cert_artifacts::TEST_CHECKS_DIR).join(id);
        let src = if real.is_dir() { real } else { test };
        assert!(src.is_dir(), "no built check {id} in {}", src.display());
        std::os::unix::fs::symlink(&src, out.join(id)).expect("symlink check");
    }
    out
}

/// All real checks.
pub fn real_checks() -> PathBuf {
    PathBuf::from(scs_cert_artifacts::CHECKS_DIR)
}

/// Output of one CLI run.
#[derive(Debug)]
pub struct CliRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the real binary with `clouds` as OS_CLIENT_CONFIG_FILE.
pub fn scs_cert(args: &[&str], clouds: Option<&Path>) -> CliRun {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scs-cert"));
    c.args(args)
        .current_dir(root())
        .env("SCS_CERT_CACHE_DIR", cache_dir())
        .env_remove("OS_CLOUD")
        .env_remove("SCS_CERT_CHECKS")
        .env_remove("OS_CLIENT_SECURE_FILE")
        .env("HOME", env!("CARGO_TARGET_TMPDIR"));
    match clouds {
        Some(p) => c.env("OS_CLIENT_CONFIG_FILE", p),
        None => c.env("OS_CLIENT_CONFIG_FILE", "/nonexistent/clouds.yaml"),
    };
    let out = c.output().expect("run scs-cert");
    CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Parse a report file into JSON.
pub fn read_report(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("report is not YAML: {e}\n{text}"))
}

/// testcase id → result value, over all invocations of a report.
pub fn results_of(report: &serde_json::Value) -> std::collections::BTreeMap<String, i64> {
    let mut m = std::collections::BTreeMap::new();
    if let Some(invs) = report["run"]["invocations"].as_object() {
        for inv in invs.values() {
            if let Some(r) = inv["results"].as_object() {
                for (k, v) in r {
                    m.insert(k.clone(), v.as_i64().expect("result is an integer"));
                }
            }
        }
    }
    m
}

/// All stderr lines of all invocations.
pub fn log_lines(report: &serde_json::Value) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(invs) = report["run"]["invocations"].as_object() {
        for inv in invs.values() {
            for key in ["stderr", "stdout"] {
                if let Some(lines) = inv[key].as_array() {
                    v.extend(lines.iter().filter_map(|l| l.as_str().map(str::to_string)));
                }
            }
        }
    }
    v
}

/// Run options for a library-level run against `clouds` (cloud `simcloud`).
pub fn options(scope: &Path, checks: &Path, clouds: &Path) -> scs_cert_host::run::RunOptions {
    let sandbox = scs_cert_host::sandbox::SandboxConfig {
        cache_dir: Some(cache_dir()),
        ..Default::default()
    };
    scs_cert_host::run::RunOptions {
        scope: scope.to_path_buf(),
        subject: "test-cloud".into(),
        output: None,
        checks: checks.to_path_buf(),
        bundle: None,
        contributions: Vec::new(),
        clouds_file: Some(clouds.to_path_buf()),
        date: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).expect("date"),
        forced_version: None,
        sections: None,
        tests: None,
        jobs: 4,
        max_readers: scs_cert_host::run::DEFAULT_MAX_READERS,
        assignments: vec![("os_cloud".into(), "simcloud".into())],
        targets: vec!["main".into()],
        argv: vec!["test".into()],
        sandbox,
        mediation: Default::default(),
        record: None,
        replay: None,
        replay_transcript: None,
        data: None,
        kube: Default::default(),
        sonobuoy: Default::default(),
        due: None,
        stop: None,
    }
}

/// Run on a fresh runtime.
pub fn run_lib(opts: &scs_cert_host::run::RunOptions) -> scs_cert_host::run::RunResult {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(scs_cert_host::run::run(opts, std::sync::Arc::new(|_| {})))
        .unwrap_or_else(|e| panic!("run failed: {e}"))
}

/// The invocation of a report that ran `testcase`.
pub fn invocation_of<'a>(
    report: &'a scs_cert_host::report::Report,
    testcase: &str,
) -> &'a scs_cert_host::report::Invocation {
    report
        .invocations
        .iter()
        .find(|i| i.results.iter().any(|(t, _)| t == testcase))
        .unwrap_or_else(|| panic!("no invocation ran {testcase}"))
}

/// Result value of one testcase.
pub fn result_of(report: &scs_cert_host::report::Report, testcase: &str) -> i8 {
    report
        .results()
        .get(testcase)
        .copied()
        .unwrap_or_else(|| panic!("no result for {testcase}"))
}

/// The test scope.
pub fn test_scope() -> PathBuf {
    root().join("tests/fixtures/test-scope.yaml")
}

/// A fixture file by path relative to the workspace root (check tests keep
/// their extra fixtures in tests/fixtures/clouds/).
pub fn fixture_at(rel: &str) -> Fixture {
    let p = root().join(rel);
    Fixture::load(&p).unwrap_or_else(|e| panic!("fixture {}: {e}", p.display()))
}

/// Start simcloud from a fixture path relative to the workspace root.
pub fn start_cloud_at(rel: &str) -> BlockingSimCloud {
    simcloud::spawn_blocking_server(fixture_at(rel)).expect("start simcloud")
}

/// Run the real binary on the IaaS scope against `cloud` with the real
/// checks, narrowed to `tests` (a regex), on 2026-11-29; returns the CLI
/// outcome and the parsed report. `extra` are further CLI arguments.
pub fn run_scope(
    cloud: &BlockingSimCloud,
    tests: &str,
    extra: &[&str],
) -> (CliRun, serde_json::Value) {
    run_scope_with_checks(cloud, &real_checks(), tests, extra)
}

/// [`run_scope`] with the checks directory `checks` instead of the real checks.
pub fn run_scope_with_checks(
    cloud: &BlockingSimCloud,
    checks: &Path,
    tests: &str,
    extra: &[&str],
) -> (CliRun, serde_json::Value) {
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), cloud, "simcloud", &Credential::FirstUser);
    let out = dir.path().join("report.yaml");
    let mut args = vec![
        "run",
        "scopes/scs-compatible-iaas.yaml",
        "--os-cloud",
        "simcloud",
        "--subject",
        "test-cloud",
        "--date",
        "2026-11-29",
        "--tests",
        tests,
        "--output",
        out.to_str().expect("utf-8 path"),
        "--checks",
        checks.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    let cli = scs_cert(&args, Some(&clouds));
    assert!(out.is_file(), "no report written; stderr:\n{}", cli.stderr);
    let report = read_report(&out);
    (cli, report)
}

/// A hostile HTTP server on 127.0.0.1: answers every request with the status line and
/// headers at once, then `bytes` bytes of `byte`, one every `gap` (a trickle), or in 64 KiB
/// chunks as fast as it can when `gap` is zero (a flood). Returns its base URL (`http://127.0.0.1:PORT`).
pub fn hostile_http(
    head: &'static str,
    byte: u8,
    bytes: usize,
    gap: std::time::Duration,
) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 8192];
                let _ = s.read(&mut buf);
                if s.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = vec![byte; if gap.is_zero() { 1 << 16 } else { 1 }];
                let mut sent = 0;
                while sent < bytes && s.write_all(&chunk).is_ok() {
                    sent += chunk.len();
                    if !gap.is_zero() {
                        std::thread::sleep(gap);
                    }
                }
            });
        }
    });
    format!("http://{addr}")
}

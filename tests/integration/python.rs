//! Checks in Python (issue 14, part 5): scs-0114 written in Python (checks/python), built with
//! componentize-py by `checks/python/build.sh` (its pinned version in a cached venv), runs in
//! the same sandbox beside the Rust checks: the same verdicts and log lines as the Rust
//! scs-0114 on every volume-type fixture, a recorded run replays offline, and a Python check
//! made by `scs-cert check new --lang python` builds and passes with `check build|test`.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const ID: &str = "scs-0114-volume-types-py";

/// `${SCS_CERT_CACHE:-~/.cache/scs-cert}`, as build.sh computes it.
fn tool_cache() -> PathBuf {
    match std::env::var_os("SCS_CERT_CACHE").filter(|v| !v.is_empty()) {
        Some(c) => PathBuf::from(c),
        None => PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/scs-cert"),
    }
}

/// The checks directory with the Python scs-0114, built once per test binary.
fn python_checks() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let checks = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("python-checks");
        let dir = checks.join(ID);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let src = root().join("checks/python/scs-0114-volume-types");
        let started = std::time::Instant::now();
        let o = Command::new(root().join("checks/python/build.sh"))
            .arg(&src)
            .arg(dir.join("component.wasm"))
            .output()
            .expect("run checks/python/build.sh");
        assert!(
            o.status.success(),
            "build.sh: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let bytes = std::fs::metadata(dir.join("component.wasm"))
            .expect("component")
            .len();
        eprintln!(
            "python: {ID} built in {:.1} s, {bytes} bytes",
            started.elapsed().as_secs_f64()
        );
        std::fs::copy(src.join("check.json"), dir.join("check.json")).expect("check.json");
        checks
    })
}

/// The Rust scs-0114 alone.
fn rust_checks(dir: &Path) -> PathBuf {
    checks_with(dir, &["scs-0114-volume-types"])
}

/// Results and log lines of `-t scs-0114 --recommended` with `checks` against `cloud`.
fn run_with(
    cloud: &BlockingSimCloud,
    checks: &Path,
    extra: &[&str],
) -> (std::collections::BTreeMap<String, i64>, Vec<String>, CliRun) {
    let mut args = vec!["--recommended"];
    args.extend_from_slice(extra);
    let (cli, report) = run_scope_with_checks(cloud, checks, "scs-0114", &args);
    (results_of(&report), log_lines(&report), cli)
}

/// The verdict table: the Python check agrees with the Rust one, verdict for verdict and line
/// for line, on every volume-type fixture and the compliant cloud.
#[test]
fn the_python_scs_0114_gives_the_rust_verdicts_and_lines() {
    let py = python_checks();
    let dir = tempdir();
    let rust = rust_checks(dir.path());
    for fixture in [
        "volume-types-bad",
        "volume-types-good",
        "volume-types-none",
        "compliant",
    ] {
        let cloud = if fixture == "compliant" {
            start_cloud("compliant")
        } else {
            start_cloud_at(&format!("tests/fixtures/clouds/{fixture}.yaml"))
        };
        let started = std::time::Instant::now();
        let (py_results, py_logs, py_cli) = run_with(&cloud, py, &[]);
        let py_secs = started.elapsed().as_secs_f64();
        let (rust_results, rust_logs, _) = run_with(&cloud, &rust, &[]);
        eprintln!("python: {fixture}: {py_results:?} in {py_secs:.2} s");
        assert_eq!(py_results.len(), 3, "{fixture}: {}", py_cli.stderr);
        assert_eq!(py_results, rust_results, "{fixture}: {}", py_cli.stderr);
        assert_eq!(py_logs, rust_logs, "{fixture}");
        if fixture == "volume-types-bad" {
            assert_eq!(
                py_results,
                [
                    ("scs-0114-encrypted-type".to_string(), -1),
                    ("scs-0114-replicated-type".to_string(), 1),
                    ("scs-0114-syntax-check".to_string(), -1),
                ]
                .into_iter()
                .collect()
            );
        }
    }
}

/// A recorded run of the Python check replays offline to the same results.
#[test]
fn a_python_check_records_and_replays_offline() {
    let py = python_checks();
    let dir = tempdir();
    let transcript = dir.path().join("transcript");
    let cloud = start_cloud_at("tests/fixtures/clouds/volume-types-bad.yaml");
    let (recorded, _, cli) = run_with(
        &cloud,
        py,
        &["--record", transcript.to_str().expect("utf-8")],
    );
    assert!(transcript.join("manifest.json").is_file(), "{}", cli.stderr);
    drop(cloud);
    let gone = start_cloud("compliant");
    let (replayed, _, cli) = run_with(
        &gone,
        py,
        &["--replay", transcript.to_str().expect("utf-8")],
    );
    assert_eq!(replayed, recorded, "{}", cli.stderr);
    assert_eq!(cli.code, 1, "a FAIL replays as a FAIL: {}", cli.stderr);
}

/// `check new --lang python`, `check build` (componentize-py from build.sh's venv) and
/// `check test` against the simulated cloud.
#[test]
fn a_new_python_check_builds_and_passes() {
    python_checks(); // makes build.sh's venv
    let tool = tool_cache().join("componentize-py/0.25.1/bin/componentize-py");
    assert!(tool.is_file(), "{}", tool.display());
    let dir = tempdir();
    let d = dir.path();
    let cli = |args: &[&str], clouds: Option<&Path>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_scs-cert"));
        c.args(args)
            .current_dir(d)
            .env("SCS_CERT_CACHE_DIR", cache_dir())
            .env_remove("OS_CLOUD")
            .env(
                "OS_CLIENT_CONFIG_FILE",
                clouds.unwrap_or(Path::new("/nonexistent/clouds.yaml")),
            );
        let o = c.output().expect("scs-cert");
        assert!(
            o.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    cli(
        &["check", "new", "scs-0198-py-rule", "--lang", "python"],
        None,
    );
    let built = cli(
        &[
            "check",
            "build",
            "scs-0198-py-rule",
            "--componentize-py",
            tool.to_str().expect("utf-8"),
        ],
        None,
    );
    assert!(built.starts_with("built scs-0198-py-rule: "), "{built}");
    let cloud = start_cloud("compliant");
    let clouds = write_clouds(d, &cloud, "simcloud", &Credential::FirstUser);
    let out = cli(
        &[
            "check",
            "test",
            "scs-0198-py-rule",
            "--componentize-py",
            tool.to_str().expect("utf-8"),
            "--os-cloud",
            "simcloud",
        ],
        Some(&clouds),
    );
    assert!(out.contains("main: PASS (1 passed)"), "{out}");
}

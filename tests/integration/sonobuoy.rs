//! The Sonobuoy testcases (`cncf-k8s-conformance`, scs-0201; `kaas-networking-check`,
//! scs-0219) end to end: the check component `scs-0201-0219-sonobuoy` run by the real
//! `scs-cert` binary with the official KaaS scope, `-S heavy`, against the simulated API
//! server (`tests/simkube`) for the kubeconfig.
//!
//! - Archives in the real layout of `sonobuoy retrieve` (a tar.gz with `meta/`,
//!   `plugins/e2e/…`, `podlogs/`, `resources/`, `servergroups.json`, `serverversion.json`),
//!   built at test time, give the verdict table: passed, failed, failed_ok through every
//!   okToFail regex, skipped, empty, malformed, no results file.
//! - A test double of the `sonobuoy` CLI (a shell script written at test time: it records its
//!   arguments, answers `version --short`, and for `retrieve -x DIR` extracts such an archive
//!   into DIR) shows the official command sequence per suite and execution mode, the version
//!   pin, the deadline, record and offline replay; the lock is shown at the library level.
//! - Without a `sonobuoy` and without an archive both testcases ABORT with one line naming
//!   `--sonobuoy PATH` and `--sonobuoy-archive`.

use crate::common::{self, CliRun};
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const TOKEN: &str = "sonobuoy-test-token-77a2";
const CONTEXT: &str = "sono-sim";
const SCOPE: &str = "scopes/scs-compatible-kaas.yaml";
const CHECK: &str = "scs-0201-0219-sonobuoy";
const E2E: &str = "cncf-k8s-conformance";
const NET: &str = "kaas-networking-check";

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

fn openssl(dir: &Path, args: &str) {
    let out = Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `openssl` ({e}): install openssl"));
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

// ------------------------------------------------------------------------------------------------
// archives in the layout `sonobuoy retrieve` writes

/// `sonobuoy_results.yaml` of the e2e plugin: one JUnit file, one suite, these tests (name,
/// status; None leaves the status out, as Sonobuoy does for some skipped tests).
fn results_yaml(tests: &[(&str, Option<&str>)]) -> String {
    let mut y = String::from(
        "name: e2e\nstatus: passed\nmeta:\n  type: summary\nitems:\n- name: junit_01.xml\n  status: passed\n  meta:\n    file: results/global/junit_01.xml\n  items:\n  - name: Kubernetes e2e suite\n    status: passed\n    items:\n",
    );
    if tests.is_empty() {
        y.push_str("      []\n");
    }
    for (name, status) in tests {
        y.push_str(&format!("    - name: {name:?}\n"));
        if let Some(st) = status {
            y.push_str(&format!("      status: {st}\n"));
        }
        if *status == Some("failed") {
            y.push_str("      details:\n        failure: \"expected 1, got 0\"\n        system-out: \"STEP: creating a pod\"\n");
        }
    }
    y
}

/// A tar.gz as `sonobuoy retrieve` writes it, with `results` as
/// `plugins/e2e/sonobuoy_results.yaml` (None: without that file).
fn archive(path: &Path, results: Option<&str>) {
    let f = std::fs::File::create(path).expect("create archive");
    let gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut add = |name: &str, body: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_764_000_000);
        h.set_cksum();
        tar.append_data(&mut h, name, body).expect("append");
    };
    add("meta/config.json", br#"{"UUID":"3e0b6f36-0000-4000-8000-000000000001","Version":"v0.57.3","Namespace":"sonobuoy"}"#);
    add("meta/info.json", br#"{"load":{"errors":[]}}"#);
    add("meta/query-time.json", br#"{"queryobj":{"total":"1.2s"}}"#);
    add("meta/run.log", b"time=\"2026-11-28T06:00:00Z\" level=info msg=\"Starting server Expected Results: [{global e2e}]\"\n");
    add("plugins/e2e/definition.json", br#"{"Definition":{"sonobuoy-config":{"driver":"Job","plugin-name":"e2e","result-format":"junit"}}}"#);
    if let Some(r) = results {
        add("plugins/e2e/sonobuoy_results.yaml", r.as_bytes());
    }
    add(
        "plugins/e2e/results/global/e2e.log",
        b"Ran 402 of 7000 Specs\n",
    );
    add(
        "plugins/e2e/results/global/junit_01.xml",
        b"<?xml version=\"1.0\"?><testsuites></testsuites>\n",
    );
    add(
        "podlogs/sonobuoy/sonobuoy/logs/kube-sonobuoy.txt",
        b"sonobuoy aggregator\n",
    );
    add("resources/cluster/Namespaces.json", b"[]");
    add("servergroups.json", br#"{"groups":[]}"#);
    add(
        "serverversion.json",
        br#"{"major":"1","minor":"33","gitVersion":"v1.33.4"}"#,
    );
    tar.into_inner().expect("tar").finish().expect("gzip");
}

fn sha256_of(path: &Path) -> String {
    hex::encode(sha2::Sha256::digest(std::fs::read(path).expect("read")))
}

// ------------------------------------------------------------------------------------------------
// the test double of the sonobuoy CLI

/// Writes `dir/sonobuoy`, a POSIX shell script standing in for Sonobuoy: every call appends
/// its arguments (separated by 0x1f) to `dir/calls.log`; `version` prints `dir/version`;
/// `run` leaves a `dir/running-PID` marker while it sleeps `dir/run_secs` seconds and writes
/// `dir/overlap.log` when another `run` is marked meanwhile (with `dir/barrier`, it first waits
/// up to 30 s for a second `run`), and fails when `dir/run_fail` exists; `retrieve -x DIR`
/// extracts `dir/archive.tar.gz` into DIR.
fn fake_sonobuoy(dir: &Path, version: &str, results: &str) -> PathBuf {
    std::fs::create_dir_all(dir).expect("mkdir fake");
    std::fs::write(dir.join("version"), format!("{version}\n")).expect("version");
    std::fs::write(dir.join("run_secs"), "0\n").expect("run_secs");
    archive(&dir.join("archive.tar.gz"), Some(results));
    let script = r#"#!/bin/sh
d=$(dirname "$0")
for a in "$@"; do printf '%s\037' "$a" >> "$d/calls.log"; done
echo >> "$d/calls.log"
sub=""
for a in "$@"; do case "$a" in version|delete|run|retrieve) sub="$a"; break;; esac; done
case "$sub" in
version) cat "$d/version" ;;
run)
  touch "$d/running-$$"
  if [ -e "$d/barrier" ]; then
    i=0
    while [ "$(ls "$d" | grep -c '^running-')" -lt 2 ] && [ "$i" -lt 300 ]; do
      sleep 0.1; i=$((i + 1))
    done
  fi
  if [ "$(ls "$d" | grep -c '^running-')" -ge 2 ]; then echo overlap >> "$d/overlap.log"; fi
  sleep "$(cat "$d/run_secs")"
  rm -f "$d/running-$$"
  if [ -e "$d/run_fail" ]; then echo "error: the e2e plugin could not start" >&2; exit 1; fi ;;
retrieve)
  for last in "$@"; do :; done
  mkdir -p "$last" && tar -xzf "$d/archive.tar.gz" -C "$last" ;;
esac
exit 0
"#;
    let p = dir.join("sonobuoy");
    std::fs::write(&p, script).expect("script");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    p
}

/// The calls the double saw, each as its argument list.
fn calls(dir: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(dir.join("calls.log"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            l.split('\u{1f}')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// a site: a simulated cluster, its kubeconfig, the check, a working directory

struct Site {
    dir: tempfile::TempDir,
    _cluster: simkube::BlockingSimKube,
    kubeconfig: PathBuf,
    checks: PathBuf,
}

struct Outcome {
    cli: CliRun,
    report: Option<serde_json::Value>,
}

impl Outcome {
    fn results(&self) -> std::collections::BTreeMap<String, i64> {
        common::results_of(self.report.as_ref().expect("a report"))
    }
    fn logs(&self) -> Vec<String> {
        common::log_lines(self.report.as_ref().expect("a report"))
    }
}

impl Site {
    fn new() -> Site {
        let dir = common::tempdir();
        let pki = dir.path().join("pki");
        std::fs::create_dir_all(&pki).expect("mkdir pki");
        std::fs::write(
            pki.join("pki.cnf"),
            "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = scs-cert sonobuoy test\n\
             [ca]\nbasicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\n\
             subjectKeyIdentifier = hash\n[server]\nbasicConstraints = critical, CA:FALSE\n\
             keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n\
             subjectAltName = IP:127.0.0.1, DNS:localhost\nsubjectKeyIdentifier = hash\n\
             authorityKeyIdentifier = keyid\n",
        )
        .expect("pki.cnf");
        const EC: &str = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
        openssl(
            &pki,
            &format!(
                "req -x509 -config pki.cnf -extensions ca {EC} -keyout ca.key -out ca.pem -days 2 -subj /CN=sono-test-CA"
            ),
        );
        openssl(
            &pki,
            &format!(
                "req -new -config pki.cnf {EC} -keyout server.key -out server.csr -subj /CN=127.0.0.1"
            ),
        );
        openssl(
            &pki,
            "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 -extfile pki.cnf -extensions server -out server.pem",
        );
        let read = |f: &str| std::fs::read(pki.join(f)).expect("pki file");
        let cluster = simkube::start_blocking(
            simkube::Fixture {
                git_version: "v1.33.4".into(),
                tokens: vec![TOKEN.into()],
                nodes: vec![],
                namespaces: vec!["default".into(), "kube-system".into()],
                rotation: None,
            },
            &simkube::Tls {
                cert_pem: read("server.pem"),
                key_pem: read("server.key"),
                client_ca_pem: None,
            },
        )
        .expect("start simkube");
        let kubeconfig = dir.path().join("subj/kubeconfig.yaml");
        std::fs::create_dir_all(kubeconfig.parent().expect("parent")).expect("mkdir subj");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: {CONTEXT}\nclusters:\n- name: sim\n  \
                 cluster:\n    server: '{}'\n    certificate-authority: {}\ncontexts:\n\
                 - name: {CONTEXT}\n  context: {{cluster: sim, user: certifier}}\nusers:\n\
                 - name: certifier\n  user:\n    token: {TOKEN}\n",
                cluster.server.url,
                s(&pki.join("ca.pem"))
            ),
        )
        .expect("kubeconfig");
        let checks = common::checks_with(dir.path(), &[CHECK]);
        Site {
            dir,
            _cluster: cluster,
            kubeconfig,
            checks,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `scs-cert run` of the official KaaS scope, heavy section (unless `extra` has `-S`), in
    /// the site directory with a PATH without sonobuoy; `extra` after the rest; report
    /// `name.yaml`.
    fn run(&self, name: &str, extra: &[&str]) -> Outcome {
        let (mut cmd, out) = self.command(name, extra);
        let o = cmd.output().expect("run scs-cert");
        Outcome::of(o, &out)
    }

    /// The command [`Site::run`] runs, and its report path.
    fn command(&self, name: &str, extra: &[&str]) -> (Command, PathBuf) {
        let out = self.path(&format!("{name}.yaml"));
        let home = self.path("home");
        std::fs::create_dir_all(&home).expect("home");
        let mut args: Vec<String> = vec![
            "run".into(),
            s(&common::root().join(SCOPE)),
            "-s".into(),
            "sono-cluster".into(),
            "-a".into(),
            format!("kubeconfig={}", s(&self.kubeconfig)),
            "-a".into(),
            "subject_root=subj".into(),
            "--checks".into(),
            s(&self.checks),
            "-o".into(),
            s(&out),
        ];
        if !extra.contains(&"-S") {
            args.extend(["-S".into(), "heavy".into()]);
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scs-cert"));
        cmd.args(&args)
            .current_dir(self.dir.path())
            .env("SCS_CERT_CACHE_DIR", common::cache_dir())
            .env("SCS_CERT_STATE_DIR", self.path("state"))
            .env("HOME", &home)
            .env("PATH", "/usr/bin:/bin")
            .env_remove("KUBECONFIG")
            .env_remove("OS_CLOUD")
            .env_remove("SCS_CERT_CHECKS")
            .env_remove("SCS_CERT_DATA")
            .env("OS_CLIENT_CONFIG_FILE", "/nonexistent/clouds.yaml");
        (cmd, out)
    }
}

impl Outcome {
    /// The outcome of a finished `scs-cert run` that wrote (or not) `out`.
    fn of(o: std::process::Output, out: &Path) -> Outcome {
        let cli = CliRun {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        };
        let report = out.exists().then(|| common::read_report(out));
        Outcome { cli, report }
    }
}

/// A real-looking test name that okToFail regex `re` matches (its `.` read as spaces).
fn name_for(re: &str) -> String {
    format!(
        "[sig-network] Networking {} [Conformance]",
        re.replace('.', " ")
    )
}

fn ok_to_fail_regexes() -> Vec<String> {
    let text = std::fs::read_to_string(
        common::root().join("tests/fixtures/official/scs-sonobuoy-config-v1.yaml"),
    )
    .expect("official config");
    let v: serde_json::Value = yaml_serde::from_str(&text).expect("yaml");
    v["okToFail"]
        .as_array()
        .expect("list")
        .iter()
        .map(|e| e["regex"].as_str().expect("regex").to_string())
        .collect()
}

// ------------------------------------------------------------------------------------------------

/// The verdict table from archives (`--sonobuoy-archive SUITE=PATH`, no sonobuoy anywhere):
/// PASS, FAIL, failed_ok through every okToFail regex, skipped, empty, malformed, no results
/// file; the report names each archive by sha256.
#[test]
fn archive_verdicts() {
    let site = Site::new();
    let regexes = ok_to_fail_regexes();
    assert_eq!(regexes.len(), 9);
    let excepted: Vec<String> = regexes.iter().map(|r| name_for(r)).collect();
    let mut all_excepted: Vec<(&str, Option<&str>)> = excepted
        .iter()
        .map(|n| (n.as_str(), Some("failed")))
        .collect();
    all_excepted.push(("[sig-apps] Deployment works [Conformance]", Some("passed")));
    let cases: Vec<(&str, Option<String>, i64, i32)> = vec![
        (
            "passed",
            Some(results_yaml(&[(
                "[sig-apps] a [Conformance]",
                Some("passed"),
            )])),
            1,
            0,
        ),
        (
            "failed",
            Some(results_yaml(&[
                ("[sig-apps] a [Conformance]", Some("passed")),
                ("[sig-node] Pods should run [Conformance]", Some("failed")),
            ])),
            -1,
            1,
        ),
        ("failed_ok", Some(results_yaml(&all_excepted)), 1, 0),
        (
            "skipped",
            Some(results_yaml(&[
                ("[sig-storage] x", Some("skipped")),
                ("[sig-storage] y", None),
            ])),
            1,
            0,
        ),
        ("empty", Some(results_yaml(&[])), 1, 0),
        (
            "malformed",
            Some("name: e2e\nitems:\n- name: junit_01.xml\n".into()),
            0,
            2,
        ),
        ("no-results-file", None, 0, 2),
    ];
    for (name, results, want, code) in cases {
        let a = site.path(&format!("{name}.tar.gz"));
        archive(&a, results.as_deref());
        let o = site.run(
            name,
            &[
                "--sonobuoy-archive",
                &format!("{E2E}={}", s(&a)),
                "--sonobuoy-archive",
                &format!("{NET}={}", s(&a)),
            ],
        );
        assert_eq!(
            o.cli.code, code,
            "{name}: {}\n{}",
            o.cli.stdout, o.cli.stderr
        );
        let r = o.results();
        assert_eq!(r.get(E2E), Some(&want), "{name}: {:?}", o.logs());
        assert_eq!(r.get(NET), Some(&want), "{name}");
        assert_eq!(r.get("version-policy-check"), None, "heavy section only");
        let logs = o.logs();
        if results.is_some() {
            let sha = sha256_of(&a);
            assert!(
                logs.iter()
                    .any(|l| l.contains(&sha) && l.contains("archive")),
                "{name}: sha256 in the report: {logs:?}"
            );
        }
        if name == "failed_ok" {
            for re in &regexes {
                assert!(
                    logs.iter()
                        .any(|l| l.contains("failed_ok (okToFail") && l.contains(re.as_str())),
                    "{re}: {logs:?}"
                );
            }
        }
        if name == "failed" {
            assert!(
                logs.iter().any(|l| l == "ERROR: cncf-k8s-conformance: failed: [sig-node] Pods should run [Conformance]"),
                "{logs:?}"
            );
        }
        if name == "no-results-file" {
            assert!(
                logs.iter()
                    .any(|l| l.contains("no plugins/e2e/sonobuoy_results.yaml")),
                "{logs:?}"
            );
        }
    }
}

/// No sonobuoy on PATH and no archive: both testcases ABORT with one line naming both
/// options; `-S light` does not select them, so nothing is asked of Sonobuoy at all.
#[test]
fn without_sonobuoy_or_archive_the_check_aborts() {
    let site = Site::new();
    let o = site.run("missing", &[]);
    assert_eq!(o.cli.code, 2, "{}\n{}", o.cli.stdout, o.cli.stderr);
    assert_eq!(o.results().get(E2E), Some(&0));
    assert_eq!(o.results().get(NET), Some(&0));
    let logs = o.logs();
    let line = logs
        .iter()
        .find(|l| l.starts_with("ERROR: cncf-k8s-conformance: sonobuoy missing"))
        .unwrap_or_else(|| panic!("{logs:?}"));
    assert!(
        line.contains("--sonobuoy PATH")
            && line.contains("--sonobuoy-archive cncf-k8s-conformance=PATH"),
        "{line}"
    );
    // a bad --sonobuoy-archive is bad input
    let bad = site.run("bad-arg", &["--sonobuoy-archive", "e2e=x.tar.gz"]);
    assert_eq!(bad.cli.code, 4, "{}", bad.cli.stderr);
    assert!(
        bad.cli.stderr.contains("unknown suite"),
        "{}",
        bad.cli.stderr
    );
}

/// The double sees exactly the official sequence with the official arguments per suite and
/// execution mode: `version --short`, then per suite `delete --wait`, `run --wait …`,
/// `retrieve -x {subject_root}/sono-results-…`, `delete --wait`, each with `--kubeconfig`.
#[test]
fn the_official_command_sequence_per_suite_and_execution_mode() {
    let site = Site::new();
    let kc = s(&site.kubeconfig);
    for (mode, mode_args) in [
        ("parallel", vec!["--e2e-parallel=true"]),
        ("serial", vec![]),
        ("dry", vec!["--plugin-env", "e2e.E2E_DRYRUN=true"]),
    ] {
        let fake_dir = site.path(&format!("fake-{mode}"));
        let fake = fake_sonobuoy(
            &fake_dir,
            "v0.57.3",
            &results_yaml(&[("[sig-apps] a", Some("passed"))]),
        );
        let o = site.run(
            mode,
            &[
                "--sonobuoy",
                &s(&fake),
                "-a",
                &format!("execution_mode={mode}"),
            ],
        );
        assert_eq!(o.cli.code, 0, "{mode}: {}\n{}", o.cli.stdout, o.cli.stderr);
        let k = |rest: &[&str]| -> Vec<String> {
            let mut v = vec!["--kubeconfig".to_string(), kc.clone()];
            v.extend(rest.iter().map(|a| a.to_string()));
            v
        };
        let mut want = Vec::new();
        for (suite_args, dir) in [
            (
                vec![
                    "--mode=certified-conformance",
                    "--plugin-env",
                    "e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2",
                ],
                "subj/sono-results-e2e",
            ),
            (
                vec![
                    "--e2e-focus",
                    "NetworkPolicy",
                    "--plugin-env",
                    "e2e.E2E_EXTRA_ARGS=--ginkgo.flake-attempts=2",
                ],
                "subj/sono-results-0219",
            ),
        ] {
            want.push(vec!["version".to_string(), "--short".to_string()]);
            want.push(k(&["delete", "--wait"]));
            let mut run = k(&["run", "--wait"]);
            run.extend(suite_args.iter().map(|a| a.to_string()));
            run.extend(mode_args.iter().map(|a| a.to_string()));
            want.push(run);
            want.push(k(&["retrieve", "-x", dir]));
            want.push(k(&["delete", "--wait"]));
            assert!(
                site.path(dir)
                    .join("plugins/e2e/sonobuoy_results.yaml")
                    .is_file(),
                "{mode}: results extracted into {dir}"
            );
        }
        assert_eq!(calls(&fake_dir), want, "{mode}");
        let logs = o.logs();
        assert!(
            logs.iter()
                .any(|l| l.contains("results from Sonobuoy run now")
                    && l.contains("sono-results-e2e")),
            "{logs:?}"
        );
        assert!(
            logs.iter().any(|l| l == "INFO: cluster version v1.33.4"),
            "{logs:?}"
        );
    }
    // -S light selects neither heavy testcase: Sonobuoy is not called
    let fake_dir = site.path("fake-light");
    let fake = fake_sonobuoy(&fake_dir, "v0.57.3", &results_yaml(&[]));
    let o = site.run("light", &["--sonobuoy", &s(&fake), "-S", "light"]);
    assert!(o.cli.code != 0, "version-policy-check has no data file");
    assert!(calls(&fake_dir).is_empty(), "{:?}", calls(&fake_dir));
}

/// Another Sonobuoy version: ABORT with one line naming the pinned one; nothing touches the
/// cluster. A failing `run`: ABORT naming the command, and the namespace is deleted.
#[test]
fn the_version_is_pinned_and_failures_abort() {
    let site = Site::new();
    let fake_dir = site.path("fake-old");
    let fake = fake_sonobuoy(&fake_dir, "v0.56.16", &results_yaml(&[]));
    let o = site.run("old", &["--sonobuoy", &s(&fake)]);
    assert_eq!(o.cli.code, 2);
    let logs = o.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("is Sonobuoy v0.56.16, not the pinned v0.57.3")),
        "{logs:?}"
    );
    assert!(
        calls(&fake_dir).iter().all(|c| c[0] == "version"),
        "{:?}",
        calls(&fake_dir)
    );

    let fake_dir = site.path("fake-fail");
    let fake = fake_sonobuoy(&fake_dir, "v0.57.3", &results_yaml(&[]));
    std::fs::write(fake_dir.join("run_fail"), "").expect("run_fail");
    let o = site.run("fail", &["--sonobuoy", &s(&fake)]);
    assert_eq!(o.cli.code, 2);
    assert!(
        o.logs()
            .iter()
            .any(|l| l.contains("`sonobuoy run` failed") && l.contains("could not start")),
        "{:?}",
        o.logs()
    );
    let c = calls(&fake_dir);
    let subs: Vec<&str> = c
        .iter()
        .map(|a| {
            if a[0] == "version" {
                "version"
            } else {
                a[2].as_str()
            }
        })
        .collect();
    assert_eq!(
        subs,
        [
            "version", "delete", "run", "delete", "version", "delete", "run", "delete"
        ]
    );
}

/// The check's deadline bounds Sonobuoy: a `run` that would take a minute is stopped at the
/// deadline (`--max-check-secs 4`), the namespace deleted, the testcases ABORT.
#[test]
fn the_deadline_stops_sonobuoy() {
    let site = Site::new();
    let fake_dir = site.path("fake-slow");
    let fake = fake_sonobuoy(&fake_dir, "v0.57.3", &results_yaml(&[]));
    std::fs::write(fake_dir.join("run_secs"), "60\n").expect("run_secs");
    let started = Instant::now();
    let o = site.run("slow", &["--sonobuoy", &s(&fake), "--max-check-secs", "4"]);
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(o.cli.code, 2, "{}\n{}", o.cli.stdout, o.cli.stderr);
    assert_eq!(o.results().get(E2E), Some(&0));
    let logs = o.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("still running at the check's deadline")),
        "{logs:?}"
    );
    let c = calls(&fake_dir);
    assert!(
        c.len() >= 4 && c[3][2] == "delete",
        "the final delete after the stop: {c:?}"
    );
}

/// Record with the double, then replay offline with neither Sonobuoy nor the results: the
/// same verdicts, from the transcript.
#[test]
fn record_and_offline_replay() {
    let site = Site::new();
    let fake_dir = site.path("fake-rec");
    let fake = fake_sonobuoy(
        &fake_dir,
        "v0.57.3",
        &results_yaml(&[("[sig-node] Pods should run [Conformance]", Some("failed"))]),
    );
    let rec = site.path("transcript");
    let o = site.run("rec", &["--sonobuoy", &s(&fake), "--record", &s(&rec)]);
    assert_eq!(o.cli.code, 1, "{}\n{}", o.cli.stdout, o.cli.stderr);
    std::fs::remove_dir_all(&fake_dir).expect("no more sonobuoy");
    std::fs::remove_dir_all(site.path("subj/sono-results-e2e")).expect("no more results");
    std::fs::remove_dir_all(site.path("subj/sono-results-0219")).expect("no more results");
    let r = site.run("replay", &["--replay", &s(&rec)]);
    assert_eq!(r.cli.code, 1, "{}\n{}", r.cli.stdout, r.cli.stderr);
    assert_eq!(r.results(), o.results());
    assert_eq!(r.results().get(E2E), Some(&-1));
    assert!(
        r.logs()
            .iter()
            .any(|l| l.contains("failed: [sig-node] Pods should run"))
    );
}

/// The lock: two suites on one cluster never overlap, even from two jobs of one process;
/// on two clusters they may.
#[test]
fn the_two_suites_never_overlap_on_one_cluster() {
    use scs_cert_host::sonobuoy::{RunConformance, SonobuoyOptions, Suite};
    let dir = common::tempdir();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    for (same, key_b) in [
        (true, "https://one.example:6443"),
        (false, "https://two.example:6443"),
    ] {
        let fake_dir = dir.path().join(format!("fake-{same}"));
        let fake = fake_sonobuoy(&fake_dir, "v0.57.3", &results_yaml(&[]));
        std::fs::write(fake_dir.join("run_secs"), "3\n").expect("run_secs");
        if !same {
            // the control: each run waits (up to 30 s) until the other one runs too, so two
            // clusters overlap for certain when nothing serialises them, however loaded the
            // machine is; a lock that wrongly covered both clusters would make them miss
            std::fs::write(fake_dir.join("barrier"), "").expect("barrier");
        }
        let conf = |key: &str, root: &str| {
            RunConformance::new(
                SonobuoyOptions {
                    tool: Some(fake.clone()),
                    ..Default::default()
                },
                Ok(PathBuf::from("kubeconfig.yaml")),
                key.to_string(),
                Some(s(&dir.path().join(root))),
                Some("parallel".into()),
            )
        };
        let (a, b) = (conf("https://one.example:6443", "a"), conf(key_b, "b"));
        let deadline = Instant::now() + Duration::from_secs(60);
        let (ra, rb) = rt.block_on(async {
            tokio::join!(
                a.run(Suite::CncfK8sConformance, deadline),
                b.run(Suite::KaasNetworkingCheck, deadline)
            )
        });
        assert!(ra.is_ok() && rb.is_ok(), "{ra:?} {rb:?}");
        let overlapped = fake_dir.join("overlap.log").exists();
        assert_eq!(overlapped, !same, "same cluster: {same}");
    }
}

/// The lock holds across processes too: two `scs-cert run`s of one user on one cluster (the
/// nightly job and a manual run, say), one suite each, started together, never overlap.
#[test]
fn two_processes_never_run_suites_at_once_on_one_cluster() {
    let site = Site::new();
    let fake_dir = site.path("fake");
    let fake = fake_sonobuoy(&fake_dir, "v0.57.3", &results_yaml(&[]));
    std::fs::write(fake_dir.join("run_secs"), "2\n").expect("run_secs");
    let fake = s(&fake);
    let start = |name: &str, testcase: &str| {
        let (mut cmd, out) = site.command(name, &["--sonobuoy", &fake, "-t", testcase]);
        let child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("spawn scs-cert");
        (child, out)
    };
    let a = start("a", "cncf-k8s-conformance");
    let b = start("b", "kaas-networking-check");
    for (child, out) in [a, b] {
        let o = Outcome::of(child.wait_with_output().expect("wait"), &out);
        assert_eq!(o.cli.code, 0, "{}\n{}", o.cli.stdout, o.cli.stderr);
    }
    let runs = calls(&fake_dir)
        .iter()
        .filter(|c| c.iter().any(|a| a == "run"))
        .count();
    assert_eq!(runs, 2, "both suites ran");
    assert!(
        !fake_dir.join("overlap.log").exists(),
        "two processes ran Sonobuoy at once on one cluster"
    );
}

/// SIGTERM while `sonobuoy run --wait` runs: it is ended at once, the final `sonobuoy delete`
/// still removes the workload, no further suite starts, the testcases ABORT naming the signal,
/// the report is written and the exit code is 143.
#[test]
fn sigterm_stops_sonobuoy_and_still_deletes_its_workload() {
    let site = Site::new();
    let fake_dir = site.path("fake-term");
    let fake = fake_sonobuoy(&fake_dir, "v0.57.3", &results_yaml(&[]));
    std::fs::write(fake_dir.join("run_secs"), "120\n").expect("run_secs");
    let (mut cmd, out) = site.command("term", &["--sonobuoy", &s(&fake)]);
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start scs-cert");
    let started = Instant::now();
    let runs = |c: &[Vec<String>]| {
        c.iter()
            .filter(|a| a.get(2).map(String::as_str) == Some("run"))
            .count()
    };
    while runs(&calls(&fake_dir)) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "sonobuoy run never started: {:?}",
            calls(&fake_dir)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let stopped = Instant::now();
    let o = Outcome::of(child.wait_with_output().expect("wait"), &out);
    assert!(
        stopped.elapsed() < Duration::from_secs(60),
        "the stop took {:?}",
        stopped.elapsed()
    );
    assert_eq!(o.cli.code, 143, "{}\n{}", o.cli.stdout, o.cli.stderr);
    assert_eq!(o.results().get(E2E), Some(&0));
    assert!(o.results().values().all(|v| *v == 0), "{:?}", o.results());
    let logs = o.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("`sonobuoy run` was stopped: the run was stopped (SIGTERM)")),
        "{logs:?}"
    );
    let c = calls(&fake_dir);
    assert_eq!(runs(&c), 1, "no further suite started: {c:?}");
    assert_eq!(
        c.last().and_then(|a| a.get(2)).map(String::as_str),
        Some("delete"),
        "the final delete after the stop: {c:?}"
    );
}

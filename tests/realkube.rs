//! The real-Kubernetes tier: `scs-cert` against a real kube-apiserver (v1.20.2, built from
//! Debian's source package) and etcd on 127.0.0.1, started by tests/realkube/*.sh with a CA, a
//! client certificate, static tokens, an exec credential plugin, RBAC and an audit log.
//!
//! - The official KaaS scope (`scopes/scs-compatible-kaas.yaml`, section light) with a signed
//!   data file built at test time (`scs-cert data build`) from the release and CVE sources in
//!   tests/fixtures/kaas/ and an end-of-life table written here (1.20 with its real end of life,
//!   2022-02-28; three branches supported relative to today): version-policy-check gives FAIL
//!   ("already EOL") for the 1.20.2 server through each kubeconfig variant (client
//!   certificate, token, exec plugin); the audit log shows that each variant's own user asked
//!   for `/version`; no credential is in the report, the transcript or the log; the recorded run
//!   replays offline (no server, no kubeconfig, no data file) to the same verdict and lines,
//!   and `report reproduce` accepts the signed report. With a table that still supports 1.20
//!   the same server PASSes: the verdict is the data's, not an artefact of the old server.
//! - Mediation: a check whose manifest lacks `kubernetes:core/nodes:read` is denied
//!   `/api/v1/nodes` by the host and the server never sees the request; the test guest that
//!   tries undeclared resources, writes and reserved headers is refused each time.
//! - Node objects created through the API as the admin (with zone and region labels) are read
//!   back by the test guest `test-kube-read` as the certifier; the certifier itself may not
//!   create nodes (RBAC: 403).
//!
//! The server is given by `SCS_REALKUBE_DIR` (its state directory with kube.json, set by
//! `cargo xtask test` / `cargo xtask realkube`). This target has `test = false`, so a plain
//! `cargo test --workspace` does not build it; run explicitly without the variable, every test
//! fails with instructions rather than passing vacuously. The tests share one server and take
//! a lock: they run one after the other. Sonobuoy itself is not run here (it needs nodes that
//! run pods, and this server has no kubelet; nor is the binary installed): the whole scope
//! with both sections shows its two testcases ABORT with one line each beside the real
//! version-policy verdict.

#[path = "common/mod.rs"]
mod common;

use common::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

const SCOPE: &str = "scopes/scs-compatible-kaas.yaml";
const TESTCASE: &str = "version-policy-check";
const CONTEXT: &str = "realkube";
const VARIANTS: [&str; 3] = ["cert", "token", "exec"];

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// One test at a time on the one server.
fn lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The running API server, as start.sh describes it in kube.json.
struct RealKube {
    dir: PathBuf,
    info: Value,
}

fn real() -> RealKube {
    let Some(dir) = std::env::var_os("SCS_REALKUBE_DIR") else {
        panic!(
            "SCS_REALKUBE_DIR is not set: the real-Kubernetes tier needs a running \
             kube-apiserver. Run it with `cargo xtask test` (the whole suite) or `cargo xtask \
             realkube` (only this tier), or by hand: tests/realkube/install.sh && \
             tests/realkube/build.sh && tests/realkube/start.sh && SCS_REALKUBE_DIR=target/realkube \
             cargo test -p scs-cert --test realkube; tests/realkube/stop.sh"
        );
    };
    let dir = PathBuf::from(dir);
    let dir = if dir.is_absolute() {
        dir
    } else {
        root().join(dir)
    };
    let json = dir.join("kube.json");
    let text = std::fs::read_to_string(&json).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: start the server with tests/realkube/start.sh",
            json.display()
        )
    });
    let info: Value = serde_json::from_str(&text).expect("kube.json");
    RealKube { dir, info }
}

impl RealKube {
    fn server(&self) -> &str {
        self.info["server"].as_str().expect("server")
    }

    fn kubeconfig(&self, variant: &str) -> PathBuf {
        PathBuf::from(
            self.info["kubeconfigs"][variant]
                .as_str()
                .expect("kubeconfig path"),
        )
    }

    fn user(&self, variant: &str) -> &str {
        self.info["users"][variant].as_str().expect("user")
    }

    fn secret(&self, name: &str) -> String {
        self.info["secrets"][name]
            .as_str()
            .expect("secret")
            .to_string()
    }

    /// Every credential of the server: the three tokens and the body lines of the client key.
    fn credentials(&self) -> Vec<String> {
        let mut v: Vec<String> = ["admin_token", "certifier_token", "exec_token"]
            .iter()
            .map(|n| self.secret(n))
            .collect();
        let key = std::fs::read_to_string(self.secret("client_key")).expect("client key");
        v.extend(
            key.lines()
                .filter(|l| !l.starts_with("-----") && l.len() > 16)
                .map(str::to_string),
        );
        v
    }

    /// `curl` as the admin (or as `token`): status code and body.
    fn api(&self, token: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut c = Command::new("curl");
        c.args(["-s", "-m", "20", "-w", "\n%{http_code}", "-X", method])
            .arg("--cacert")
            .arg(self.info["ca"].as_str().expect("ca"))
            // the token on stdin's config, not on the command line
            .args(["-K", "-"])
            .arg(format!("{}{path}", self.server()));
        if let Some(b) = body {
            c.args(["-H", "Content-Type: application/json", "--data-binary"])
                .arg(b.to_string());
        }
        c.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped());
        let mut child = c.spawn().expect("run curl");
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().expect("stdin");
            writeln!(stdin, "header = \"Authorization: Bearer {token}\"").expect("curl config");
        }
        let out = child.wait_with_output().expect("curl");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        let code: u16 = code.trim().parse().unwrap_or(0);
        (code, serde_json::from_str(body).unwrap_or(Value::Null))
    }

    fn admin(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.api(&self.secret("admin_token"), method, path, body)
    }

    /// The audit log's events from `from` (a line count) on.
    fn audit_since(&self, from: usize) -> Vec<Value> {
        self.audit().into_iter().skip(from).collect()
    }

    fn audit(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(self.dir.join("log/audit.log")).unwrap_or_default();
        text.lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// (user, verb, requestURI, status) of the events of our users (not the server's own).
    fn requests_since(&self, from: usize) -> Vec<(String, String, String, i64)> {
        self.audit_since(from)
            .into_iter()
            .filter(|e| e["stage"] == "ResponseComplete")
            .map(|e| {
                (
                    e["user"]["username"].as_str().unwrap_or("").to_string(),
                    e["verb"].as_str().unwrap_or("").to_string(),
                    e["requestURI"].as_str().unwrap_or("").to_string(),
                    e["responseStatus"]["code"].as_i64().unwrap_or(0),
                )
            })
            .filter(|(u, ..)| !u.starts_with("system:"))
            .collect()
    }
}

/// One `scs-cert` run: exit code, console and the report (when written).
struct Outcome {
    cli: CliRun,
    report: Option<Value>,
    report_text: String,
}

impl Outcome {
    fn report(&self) -> &Value {
        self.report
            .as_ref()
            .unwrap_or_else(|| panic!("no report; stderr:\n{}", self.cli.stderr))
    }

    fn logs(&self) -> Vec<String> {
        log_lines(self.report())
    }

    fn context(&self) -> String {
        format!(
            "exit {}\nstdout:\n{}\nstderr:\n{}\nlogs:\n{}",
            self.cli.code,
            self.cli.stdout,
            self.cli.stderr,
            self.report
                .as_ref()
                .map(|r| log_lines(r).join("\n"))
                .unwrap_or_default()
        )
    }

    /// `testcase`'s result, the exit code and one log line exactly `line`.
    fn expect(&self, testcase: &str, result: i64, code: i32, line: &str) {
        let ctx = self.context();
        assert_eq!(
            results_of(self.report()).get(testcase).copied(),
            Some(result),
            "{ctx}"
        );
        assert_eq!(self.cli.code, code, "{ctx}");
        assert!(
            self.logs().iter().any(|l| l == line),
            "no line {line:?}\n{ctx}"
        );
    }
}

/// Keys, a trust root with a data key, data files and runs, in one temporary directory.
struct Site {
    dir: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let site = Site { dir: tempdir() };
        for k in ["root-key", "data-key", "report-key"] {
            site.ok(&["key", "generate", "--out", &site.p(k), "--no-passphrase"]);
        }
        site.ok(&[
            "trust",
            "init",
            "--out",
            &site.p("root.json"),
            "--root-key",
            &site.p("root-key.pub"),
            "--bundle-key",
            &site.p("root-key.pub"),
            "--data-key",
            &site.p("data-key.pub"),
            "--sign",
            &site.p("root-key"),
        ]);
        site
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn p(&self, rel: &str) -> String {
        s(&self.path(rel))
    }

    /// The real binary in the site directory, with a home of its own, no KUBECONFIG and no
    /// clouds.yaml.
    fn cli(&self, args: &[&str], env: &[(&str, &str)]) -> CliRun {
        let home = self.path("home");
        std::fs::create_dir_all(&home).expect("home");
        let mut c = Command::new(env!("CARGO_BIN_EXE_scs-cert"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("SCS_CERT_CACHE_DIR", cache_dir())
            .env("SCS_CERT_STATE_DIR", self.path("state"))
            .env("HOME", &home)
            .env_remove("KUBECONFIG")
            .env_remove("OS_CLOUD")
            .env_remove("SCS_CERT_CHECKS")
            .env_remove("SCS_CERT_DATA")
            .env_remove("SCS_CERT_KEY_PASSPHRASE")
            .env("OS_CLIENT_CONFIG_FILE", "/nonexistent/clouds.yaml");
        for (k, v) in env {
            c.env(k, v);
        }
        let o = c.output().expect("run scs-cert");
        CliRun {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    fn ok(&self, args: &[&str]) -> CliRun {
        let r = self.cli(args, &[]);
        assert_eq!(r.code, 0, "{args:?}:\n{}\n{}", r.stdout, r.stderr);
        r
    }

    /// A signed data file: releases, the CVE feed and records from tests/fixtures/kaas/ as they
    /// are, and the end-of-life table `eol` (branch, date) written here.
    fn data(&self, name: &str, eol: &[(&str, String)]) -> PathBuf {
        let kaas = root().join("tests/fixtures/kaas");
        let mut yaml = String::from(
            "# https://kubernetes.io/releases/patch-releases/#detailed-release-history-for-active-branches\n\n",
        );
        for (branch, date) in eol {
            yaml.push_str(&format!("- branch: '{branch}'\n  end-of-life: '{date}'\n"));
        }
        let eol_file = self.path(&format!("eol-{name}.yml"));
        std::fs::write(&eol_file, yaml).expect("write eol");
        let at =
            scs_cert_host::trust::root::fmt_time(chrono::Utc::now() - chrono::Duration::hours(1));
        let out = self.path(&format!("{name}.scsd"));
        self.ok(&[
            "data",
            "build",
            "--releases",
            &s(&kaas.join("source-github-releases.json")),
            "--cve-feed",
            &s(&kaas.join("source-cve-feed.json")),
            "--cve-records",
            &s(&kaas.join("cve-records")),
            "--eol",
            &s(&eol_file),
            "--generated-at",
            &at,
            "--sign-key",
            &self.p("data-key"),
            "--out",
            &s(&out),
        ]);
        out
    }

    /// `scs-cert run` of the official KaaS scope with the real checks, `-a kubeconfig`,
    /// section light; report in `name.yaml`.
    fn run(&self, name: &str, kubeconfig: &Path, extra: &[&str]) -> Outcome {
        self.run_with(name, kubeconfig, extra, &[])
    }

    /// [`Site::run`] with `env` set too.
    fn run_with(
        &self,
        name: &str,
        kubeconfig: &Path,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Outcome {
        let out = self.path(&format!("{name}.yaml"));
        let scope = root().join(SCOPE);
        let mut args = vec![
            "run".to_string(),
            s(&scope),
            "-s".into(),
            "realkube-cluster".into(),
            "-S".into(),
            "light".into(),
            "-a".into(),
            format!("kubeconfig={}", s(kubeconfig)),
            "-a".into(),
            format!("subject_root={}", self.p("realkube-cluster")),
            "--root".into(),
            self.p("root.json"),
            "--checks".into(),
            s(&real_checks()),
            "-o".into(),
            s(&out),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let cli = self.cli(&refs, env);
        let (report, report_text) = match std::fs::read_to_string(&out) {
            Ok(t) => (Some(read_report(&out)), t),
            Err(_) => (None, String::new()),
        };
        Outcome {
            cli,
            report,
            report_text,
        }
    }
}

/// `YYYY-MM-DD`, `days` from today.
fn date_in(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// The end-of-life table: three branches supported (relative to today), 1.32 ended, and 1.20
/// with its real end of life.
fn eol_history() -> Vec<(&'static str, String)> {
    vec![
        ("1.35", date_in(300)),
        ("1.34", date_in(200)),
        ("1.33", date_in(100)),
        ("1.32", date_in(-10)),
        ("1.20", "2022-02-28".to_string()),
    ]
}

/// Every file under `dir` (recursively), zstd-decoded, as text.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("ls").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let bytes = std::fs::read(&p).expect("read");
            let bytes = if p.extension().is_some_and(|x| x == "zst") {
                zstd::decode_all(&bytes[..]).expect("zstd")
            } else {
                bytes
            };
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    out
}

fn assert_no_credentials(kube: &RealKube, variant: &str, texts: &[(&str, &str)]) {
    for (what, text) in texts {
        for cred in kube.credentials() {
            assert!(
                !text.contains(&cred),
                "{variant}: a credential ({}…) is in the {what}",
                &cred[..8.min(cred.len())]
            );
        }
        assert!(
            !text.contains("Bearer"),
            "{variant}: an Authorization value in the {what}"
        );
    }
}

const EOL_LINE: &str =
    "ERROR: The K8s cluster version 1.20.2 of cluster 'realkube' is already EOL.";

#[test]
fn version_policy_fails_the_eol_cluster_through_every_kubeconfig_variant_and_replays_offline() {
    let kube = real();
    let _guard = lock();
    let site = Site::new();
    let data = site.data("history", &eol_history());
    for variant in VARIANTS {
        let kc = kube.kubeconfig(variant);
        let transcript = site.path(&format!("transcript-{variant}"));
        let audit_from = kube.audit().len();
        let t0 = std::time::Instant::now();
        let o = site.run(
            variant,
            &kc,
            &[
                "-v",
                "--data",
                &s(&data),
                "--record",
                &s(&transcript),
                "--state-dir",
                &site.p(&format!("state-{variant}")),
            ],
        );
        let secs = t0.elapsed().as_secs_f64();
        o.expect(TESTCASE, -1, 1, EOL_LINE);
        assert!(
            o.logs()
                .iter()
                .any(|l| l == "INFO: Checking cluster 'realkube': version 1.20.2."),
            "{}",
            o.context()
        );
        assert!(o.report_text.contains("version-policy-check: FAIL"));
        let cluster = &o.report()["run"]["scs_cert"]["cluster"];
        assert_eq!(cluster["server"], kube.server(), "{}", o.report_text);
        assert_eq!(cluster["context"], CONTEXT);
        // the server saw this variant's user, and only GET /version
        let seen = kube.requests_since(audit_from);
        assert!(!seen.is_empty(), "{variant}: no request in the audit log");
        for (user, verb, uri, code) in &seen {
            assert_eq!(user, kube.user(variant), "{variant}: {seen:?}");
            assert_eq!(
                (verb.as_str(), uri.as_str(), *code),
                ("get", "/version", 200)
            );
        }
        // no credential in the report, the transcript or the log
        assert_no_credentials(
            &kube,
            variant,
            &[
                ("report", &o.report_text),
                ("transcript", &all_text(&transcript)),
                ("log", &o.cli.stderr),
                ("console", &o.cli.stdout),
            ],
        );
        eprintln!("realkube: {variant}: FAIL (already EOL) in {secs:.2} s");

        // offline: no data file, a kubeconfig that does not exist; nothing reaches the server
        let audit_from = kube.audit().len();
        let replayed = site.run(
            &format!("{variant}-replayed"),
            &site.path("no-such-kubeconfig.yaml"),
            &[
                "--replay",
                &s(&transcript),
                "--state-dir",
                &site.p(&format!("state-{variant}-replay")),
            ],
        );
        replayed.expect(TESTCASE, -1, 1, EOL_LINE);
        let sorted = |o: &Outcome| {
            let mut v = o.logs();
            v.sort();
            v
        };
        assert_eq!(sorted(&replayed), sorted(&o));
        assert_eq!(
            replayed.report()["run"]["scs_cert"]["cluster"],
            o.report()["run"]["scs_cert"]["cluster"]
        );
        assert!(
            kube.requests_since(audit_from).is_empty(),
            "the replay asked the server: {:?}",
            kube.requests_since(audit_from)
        );

        // the signed report reproduces offline
        let report = site.p(&format!("{variant}.yaml"));
        site.ok(&[
            "report",
            "sign",
            &report,
            "--key",
            &site.p("report-key"),
            "--no-spool",
        ]);
        let pubkey = std::fs::read_to_string(site.path("report-key.pub")).expect("pub");
        std::fs::write(
            site.path("allowed"),
            format!("certifier@example.org {pubkey}"),
        )
        .expect("allowed");
        let r = site.cli(
            &[
                "report",
                "reproduce",
                &report,
                "--transcript",
                &s(&transcript),
                "--checks",
                &s(&real_checks()),
                "--scope",
                &s(&root().join(SCOPE)),
                "--root",
                &site.p("root.json"),
                "--allowed-signers",
                &site.p("allowed"),
            ],
            &[],
        );
        assert_eq!(r.code, 0, "{variant}: {}\n{}", r.stdout, r.stderr);
        assert!(r.stdout.starts_with("reproduced: all "), "{}", r.stdout);
    }
}

#[test]
fn the_same_server_passes_when_the_data_still_supports_1_20() {
    let kube = real();
    let _guard = lock();
    let site = Site::new();
    let mut eol = eol_history();
    eol.retain(|(b, _)| *b != "1.20");
    eol.push(("1.20", date_in(30)));
    let data = site.data("supported", &eol);
    let o = site.run(
        "supported",
        &kube.kubeconfig("cert"),
        &["--data", &s(&data)],
    );
    // the releases in tests/fixtures/kaas name no 1.20 patch: nothing newer to miss
    o.expect(
        TESTCASE,
        1,
        0,
        "INFO: The K8s cluster version 1.20.2 of cluster 'realkube' is still in the recency time window.",
    );
}

/// The whole KaaS scope (light and heavy sections) against the real server without a
/// `sonobuoy` anywhere: version-policy-check gives its real verdict (FAIL, 1.20 is EOL) and the
/// two Sonobuoy testcases ABORT cleanly with one line naming both ways to provide results.
#[test]
fn the_whole_scope_gives_the_real_verdict_and_the_sonobuoy_testcases_abort_cleanly() {
    let kube = real();
    let _guard = lock();
    let site = Site::new();
    let data = site.data("whole", &eol_history());
    let o = site.run_with(
        "whole",
        &kube.kubeconfig("token"),
        &["-S", "heavy", "--data", &s(&data)],
        &[("PATH", "/usr/bin:/bin")],
    );
    // FAIL outranks ABORT in the exit code (1), as in every run
    o.expect(TESTCASE, -1, 1, EOL_LINE);
    for testcase in ["cncf-k8s-conformance", "kaas-networking-check"] {
        assert_eq!(
            results_of(o.report()).get(testcase).copied(),
            Some(0),
            "{testcase}: {}",
            o.context()
        );
        let prefix = format!("ERROR: {testcase}: sonobuoy missing");
        let lines: Vec<String> = o
            .logs()
            .into_iter()
            .filter(|l| l.starts_with(&prefix))
            .collect();
        assert_eq!(lines.len(), 1, "{testcase}: {}", o.context());
        assert!(lines[0].contains("--sonobuoy-archive"), "{}", lines[0]);
    }
}

/// A checks directory with test-kube-read's component under a manifest that grants only
/// `/version`.
fn read_probe_without_nodes(dir: &Path) -> PathBuf {
    let src = Path::new(scs_cert_artifacts::TEST_CHECKS_DIR).join("test-kube-read");
    let out = dir.join("checks-no-nodes");
    let d = out.join("test-kube-read");
    std::fs::create_dir_all(&d).expect("mkdir");
    std::fs::copy(src.join("component.wasm"), d.join("component.wasm")).expect("copy wasm");
    let mut manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("check.json")).expect("manifest"))
            .expect("json");
    manifest["capabilities"] = json!(["kubernetes:nonresource/version:read"]);
    std::fs::write(d.join("check.json"), manifest.to_string()).expect("write manifest");
    out
}

/// `scs-cert run` of the kube test scope (the kube-probe guests) with `checks`.
fn run_probe(site: &Site, name: &str, checks: &Path, tests: &str, kubeconfig: &Path) -> Outcome {
    let out = site.path(&format!("{name}.yaml"));
    let scope = root().join("tests/fixtures/kube-test-scope.yaml");
    let cli = site.cli(
        &[
            "run",
            &s(&scope),
            "-s",
            "realkube-cluster",
            "-t",
            tests,
            "-a",
            &format!("kubeconfig={}", s(kubeconfig)),
            "--checks",
            &s(checks),
            "-o",
            &s(&out),
        ],
        &[],
    );
    let (report, report_text) = match std::fs::read_to_string(&out) {
        Ok(t) => (Some(read_report(&out)), t),
        Err(_) => (None, String::new()),
    };
    Outcome {
        cli,
        report,
        report_text,
    }
}

#[test]
fn a_check_without_the_nodes_capability_is_denied_before_the_server() {
    let kube = real();
    let _guard = lock();
    let site = Site::new();
    let kc = kube.kubeconfig("token");

    let checks = read_probe_without_nodes(site.dir.path());
    let audit_from = kube.audit().len();
    let o = run_probe(&site, "no-nodes", &checks, "test-kube-read", &kc);
    o.expect(
        "test-kube-read",
        -1,
        1,
        "ERROR: GET /api/v1/nodes: denied: the check did not declare capability \
         kubernetes:core/nodes:read (needed for GET /api/v1/nodes)",
    );
    assert!(
        o.logs().iter().any(|l| l == "INFO: gitVersion: v1.20.2"),
        "{}",
        o.context()
    );
    let seen = kube.requests_since(audit_from);
    assert!(
        seen.iter().all(|(_, _, uri, _)| uri == "/version"),
        "only /version reached the server: {seen:?}"
    );

    // the guest that tries what it may not: every attempt refused by the host, nothing sent
    let checks = checks_with(&site.path("denied"), &["test-kube-denied"]);
    let audit_from = kube.audit().len();
    let o = run_probe(&site, "denied", &checks, "test-kube-denied", &kc);
    assert_eq!(
        results_of(o.report()).get("test-kube-denied"),
        Some(&1),
        "{}",
        o.context()
    );
    let seen = kube.requests_since(audit_from);
    assert!(
        seen.is_empty(),
        "the denied attempts reached the server: {seen:?}"
    );
    assert!(!o.report_text.contains(&kube.secret("certifier_token")));
}

fn node(name: &str, zone: &str, region: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "topology.kubernetes.io/zone": zone,
                "topology.kubernetes.io/region": region,
                "kubernetes.io/hostname": name,
                "node-role.kubernetes.io/worker": ""
            }
        },
        "spec": {}
    })
}

#[test]
fn nodes_created_through_the_api_are_read_back_by_a_guest() {
    let kube = real();
    let _guard = lock();
    let site = Site::new();
    let nodes = [
        ("realkube-worker-a", "zone-a", "region-1"),
        ("realkube-worker-b", "zone-b", "region-1"),
    ];
    for (name, zone, region) in nodes {
        let (code, _) = kube.admin("DELETE", &format!("/api/v1/nodes/{name}"), None);
        assert!(code == 200 || code == 404, "delete {name}: HTTP {code}");
        let (code, body) = kube.admin("POST", "/api/v1/nodes", Some(&node(name, zone, region)));
        assert_eq!(code, 201, "create {name}: {body}");
        let (code, body) = kube.admin("GET", &format!("/api/v1/nodes/{name}"), None);
        assert_eq!(code, 200, "{body}");
        let labels = &body["metadata"]["labels"];
        assert_eq!(labels["topology.kubernetes.io/zone"], zone, "{body}");
        assert_eq!(labels["topology.kubernetes.io/region"], region, "{body}");
    }
    // RBAC: the certifier reads nodes, it may not create them
    let (code, _) = kube.api(
        &kube.secret("certifier_token"),
        "POST",
        "/api/v1/nodes",
        Some(&node("realkube-intruder", "zone-x", "region-x")),
    );
    assert_eq!(code, 403, "the certifier created a node");
    let (code, body) = kube.api(
        &kube.secret("certifier_token"),
        "GET",
        "/api/v1/nodes?labelSelector=topology.kubernetes.io%2Fregion%3Dregion-1",
        None,
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["items"].as_array().map(Vec::len), Some(2), "{body}");

    for variant in VARIANTS {
        let checks = checks_with(&site.path(&format!("read-{variant}")), &["test-kube-read"]);
        let audit_from = kube.audit().len();
        let o = run_probe(
            &site,
            &format!("read-{variant}"),
            &checks,
            "test-kube-read",
            &kube.kubeconfig(variant),
        );
        o.expect(
            "test-kube-read",
            1,
            0,
            "INFO: nodes: realkube-worker-a, realkube-worker-b",
        );
        let logs = o.logs();
        assert!(
            logs.iter().any(|l| l == "INFO: gitVersion: v1.20.2"),
            "{logs:?}"
        );
        assert!(
            logs.iter()
                .any(|l| l == &format!("INFO: cluster: {} (context {CONTEXT})", kube.server())),
            "{logs:?}"
        );
        let seen = kube.requests_since(audit_from);
        let want = [
            (kube.user(variant), "get", "/version", 200),
            (kube.user(variant), "list", "/api/v1/nodes", 200),
        ];
        let got: Vec<(&str, &str, &str, i64)> = seen
            .iter()
            .map(|(u, v, p, c)| (u.as_str(), v.as_str(), p.as_str(), *c))
            .collect();
        assert_eq!(got, want, "{variant}");
    }
    for (name, ..) in nodes {
        let (code, _) = kube.admin("DELETE", &format!("/api/v1/nodes/{name}"), None);
        assert_eq!(code, 200, "delete {name}");
    }
}

/// `kubectl` with the admin kubeconfig of the real server; `stdin` fed when given.
fn kubectl(kube: &RealKube, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    use std::io::Write as _;
    let mut c = Command::new("kubectl");
    c.arg("--kubeconfig")
        .arg(kube.kubeconfig("admin"))
        .args(args)
        .current_dir(root())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c
        .spawn()
        .expect("kubectl on PATH (the operators' tool the manifests are written for)");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("write manifests");
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().expect("kubectl");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Issue 15: the Kubernetes deployment (deploy/kubernetes, kustomize) passes the real API
/// server's validation in a server-side dry run: namespace, config map, volume claim, the
/// three CronJobs with their pod templates, and the example secrets. The server is v1.20,
/// which serves CronJob as batch/v1beta1 only (batch/v1 came in 1.21 with the same fields for
/// everything the manifests use but `timeZone`, 1.27), so the CronJobs go in as batch/v1beta1
/// without their `timeZone`. A manifest with a
/// wrong field value is refused, so the dry run does validate.
#[test]
fn the_kubernetes_manifests_pass_the_real_servers_dry_run() {
    let _l = lock();
    let kube = real();
    let (ok, rendered) = kubectl(&kube, &["kustomize", "deploy/kubernetes"], None);
    assert!(ok, "kubectl kustomize deploy/kubernetes: {rendered}");
    let examples = std::fs::read_to_string(root().join("deploy/kubernetes/secret-example.yaml"))
        .expect("secret-example.yaml");
    let v1 = "apiVersion: batch/v1\nkind: CronJob";
    assert_eq!(
        rendered.matches(v1).count(),
        3,
        "three CronJobs: {rendered}"
    );
    // and `timeZone` (batch/v1 since 1.27) is not in v1beta1: the one field left out here
    let served: String = rendered
        .replace(v1, "apiVersion: batch/v1beta1\nkind: CronJob")
        .lines()
        .filter(|l| !l.trim_start().starts_with("timeZone: "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        rendered.lines().count() - served.lines().count(),
        rendered.matches("timeZone: ").count(),
        "only timeZone lines are left out"
    );
    // Namespaced objects need their namespace to exist for a server-side dry run. This
    // server runs no controller manager, so a deleted namespace never goes away: each run
    // creates its own (the state directory is the test tier's, not kept by CI).
    let ns = format!(
        "scs-cert-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    let in_ns = |text: &str| {
        text.replace("\n  name: scs-cert\n", &format!("\n  name: {ns}\n"))
            .replace("  namespace: scs-cert\n", &format!("  namespace: {ns}\n"))
    };
    let (served, examples) = (in_ns(&served), in_ns(&examples));
    assert_eq!(
        served.matches(&ns).count(),
        6,
        "the namespace and its five objects: {served}"
    );
    let (created, out) = kubectl(&kube, &["create", "namespace", &ns], None);
    assert!(created, "{out}");
    let (ok, out) = kubectl(
        &kube,
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&format!("{served}\n---\n{examples}")),
    );
    let dry: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("(server dry run)"))
        .collect();
    assert!(ok, "{out}");
    let namespace = format!("namespace/{ns}");
    for object in [
        namespace.as_str(),
        "configmap/scs-cert-config",
        "cronjob.batch/scs-cert-iaas",
        "cronjob.batch/scs-cert-kaas",
    ] {
        assert!(dry.iter().any(|l| l.starts_with(object)), "{object}: {out}");
    }
    assert!(dry.len() >= 9, "every object validated: {out}");
    // the server does check: an unknown concurrency policy is refused
    let broken = served.replacen(
        "concurrencyPolicy: Forbid",
        "concurrencyPolicy: Sometimes",
        1,
    );
    assert_ne!(broken, served, "the CronJobs set concurrencyPolicy: Forbid");
    let (ok, out) = kubectl(
        &kube,
        &["apply", "--dry-run=server", "-f", "-"],
        Some(&broken),
    );
    assert!(!ok && out.contains("concurrencyPolicy"), "{out}");
}

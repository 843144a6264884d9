//! Kubernetes mediation (issue 10, part 1), end to end with the real `scs-cert` binary against
//! the simulated API server (`tests/simkube`, TLS with a PKI made at test time by `openssl`):
//! kubeconfig variants (client certificate, token, tokenFile, exec plugins v1 and v1beta1 with
//! expiry, KUBECONFIG merging, --context), a denied capability, credentials kept out of the
//! report, transcript and logs, record and offline replay, unusable kubeconfigs (exit 10, one
//! line), and a component built against the previous contract scs:check@0.1.0.
//!
//! Every run has a home and a working directory of its own and no KUBECONFIG but the one a
//! test sets.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const TOKEN: &str = "simkube-test-token-7f3a9c";
const CONTEXT: &str = "sim";

/// A CA, the API server's certificate (127.0.0.1, localhost, kube.internal) and a client
/// certificate in `dir/pki` (see [`crate::common::pki`]).
fn make_pki(dir: &Path) -> PathBuf {
    crate::common::pki::make_pki(&dir.join("pki")).dir
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A running simulated API server with its PKI.
struct Kube {
    dir: tempfile::TempDir,
    pki: PathBuf,
    server: simkube::BlockingSimKube,
}

impl Kube {
    fn start() -> Kube {
        Kube::start_with(|_, _| {})
    }

    /// [`Kube::start`] with the fixture changed by `change` (given the test directory).
    fn start_with(change: impl FnOnce(&mut simkube::Fixture, &Path)) -> Kube {
        let dir = tempdir();
        let pki = make_pki(dir.path());
        let mut fixture =
            simkube::Fixture::load(&root().join("tests/simkube/fixtures/default.yaml"))
                .expect("fixture");
        fixture.tokens = vec![TOKEN.to_string()];
        change(&mut fixture, dir.path());
        let tls = simkube::Tls {
            cert_pem: std::fs::read(pki.join("server.pem")).expect("server.pem"),
            key_pem: std::fs::read(pki.join("server.key")).expect("server.key"),
            client_ca_pem: Some(std::fs::read(pki.join("ca.pem")).expect("ca.pem")),
        };
        let server = simkube::start_blocking(fixture, &tls).expect("start simkube");
        Kube { dir, pki, server }
    }

    fn url(&self) -> &str {
        &self.server.server.url
    }

    /// A kubeconfig with one context `CONTEXT`, `cluster` and `user` as YAML mappings (inline).
    fn kubeconfig(&self, name: &str, cluster: &str, user: &str) -> PathBuf {
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {CONTEXT}\nclusters:\n- name: c\n  \
             cluster: {cluster}\ncontexts:\n- name: {CONTEXT}\n  context: {{cluster: c, user: u}}\n\
             users:\n- name: u\n  user: {user}\n"
        );
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write kubeconfig");
        p
    }

    /// `{server: URL, certificate-authority: pki/ca.pem}` (relative to the kubeconfig).
    fn cluster_ca_file(&self) -> String {
        format!(
            "{{server: '{}', certificate-authority: pki/ca.pem}}",
            self.url()
        )
    }

    /// `{server: URL, certificate-authority-data: …}`.
    fn cluster_ca_data(&self) -> String {
        format!(
            "{{server: '{}', certificate-authority-data: {}}}",
            self.url(),
            b64(read(&self.pki.join("ca.pem")).as_bytes())
        )
    }

    /// A shell-script exec plugin in the test directory; returns its path.
    fn plugin(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.dir.path().join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("write plugin");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        p
    }
}

/// Run the real binary on the kube test scope with `env` (KUBECONFIG and the like) in a home
/// of its own; returns the CLI outcome and the report (if written).
fn run_kube(
    dir: &Path,
    tests: &str,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (CliRun, Option<serde_json::Value>) {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("home");
    let out = dir.join("report.yaml");
    let _ = std::fs::remove_file(&out);
    let checks = match dir.join("checks") {
        c if c.is_dir() => c,
        _ => checks_with(dir, &["test-kube-read", "test-kube-denied"]),
    };
    let scope = root().join("tests/fixtures/kube-test-scope.yaml");
    let mut c = Command::new(env!("CARGO_BIN_EXE_scs-cert"));
    c.args([
        "run",
        scope.to_str().expect("utf-8"),
        "-s",
        "test-cluster",
        "--date",
        "2026-11-29",
        "-t",
        tests,
        "-o",
        out.to_str().expect("utf-8"),
        "--checks",
        checks.to_str().expect("utf-8"),
    ])
    .args(extra)
    .current_dir(dir)
    .env("SCS_CERT_CACHE_DIR", cache_dir())
    .env("HOME", &home)
    .env_remove("KUBECONFIG")
    .env_remove("OS_CLOUD")
    .env_remove("SCS_CERT_CHECKS")
    .env("OS_CLIENT_CONFIG_FILE", "/nonexistent/clouds.yaml");
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.output().expect("run scs-cert");
    let cli = CliRun {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    let report = out.is_file().then(|| read_report(&out));
    (cli, report)
}

fn checks_dir(k: &Kube) -> PathBuf {
    k.dir.path().join("run")
}

/// A fresh run directory under the test directory.
fn run_dir(k: &Kube, name: &str) -> PathBuf {
    let d = checks_dir(k).join(name);
    std::fs::create_dir_all(&d).expect("run dir");
    d
}

/// test-kube-read passed and reported the cluster's version and nodes.
fn assert_read_passed(cli: &CliRun, report: &Option<serde_json::Value>, server: &str) {
    let report = report
        .as_ref()
        .unwrap_or_else(|| panic!("no report; stderr:\n{}", cli.stderr));
    assert_eq!(
        results_of(report).get("test-kube-read"),
        Some(&1),
        "stderr:\n{}\nlogs: {:?}",
        cli.stderr,
        log_lines(report)
    );
    assert_eq!(cli.code, 0, "stderr:\n{}", cli.stderr);
    let logs = log_lines(report);
    assert!(
        logs.iter().any(|l| l == "INFO: gitVersion: v1.33.4"),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l == "INFO: nodes: cp-0, worker-0, worker-1"),
        "{logs:?}"
    );
    assert!(
        logs.iter()
            .any(|l| l == &format!("INFO: cluster: {server} (context {CONTEXT})")),
        "{logs:?}"
    );
}

#[test]
fn client_certificate_from_files_relative_to_the_kubeconfig() {
    let k = Kube::start();
    let kc = k.kubeconfig(
        "cert.yaml",
        &k.cluster_ca_file(),
        "{client-certificate: pki/client.pem, client-key: pki/client.key}",
    );
    let dir = run_dir(&k, "cert");
    let (cli, report) = run_kube(
        &dir,
        "test-kube-read",
        &["-a", &format!("kubeconfig={}", kc.display())],
        &[],
    );
    assert_read_passed(&cli, &report, k.url());
    let seen = k.server.server.seen();
    assert!(!seen.is_empty());
    assert!(
        seen.iter()
            .all(|s| s.credential == simkube::Credential::ClientCert),
        "{seen:?}"
    );
    // the report names the capabilities the check was granted
    let text = read(&dir.join("report.yaml"));
    assert!(text.contains("kubernetes:core/nodes:read"), "{text}");
}

/// `tls-server-name` is both the name the certificate is checked against and the SNI name
/// sent, while `Host` keeps the `server` URL's authority (as kubectl); a name the server's
/// certificate does not carry fails the TLS handshake before any request.
#[test]
fn tls_server_name_is_the_sni_name_and_the_certificate_name() {
    let k = Kube::start();
    let cluster = |name: &str| {
        format!(
            "{{server: '{}', certificate-authority: pki/ca.pem, tls-server-name: {name}}}",
            k.url()
        )
    };
    let user = format!("{{token: {TOKEN}}}");
    let kc = k.kubeconfig("sni.yaml", &cluster("kube.internal"), &user);
    let dir = run_dir(&k, "sni");
    let (cli, report) = run_kube(
        &dir,
        "test-kube-read",
        &["-a", &format!("kubeconfig={}", kc.display())],
        &[],
    );
    assert_read_passed(&cli, &report, k.url());
    let seen = k.server.server.seen();
    let authority = k.url().trim_start_matches("https://").to_string();
    assert!(!seen.is_empty());
    for s in &seen {
        assert_eq!(s.sni.as_deref(), Some("kube.internal"), "{seen:?}");
        assert_eq!(s.host.as_deref(), Some(authority.as_str()), "{seen:?}");
    }
    // not in the server certificate's names: no request gets through
    let kc = k.kubeconfig("wrong-sni.yaml", &cluster("wrong.internal"), &user);
    let dir = run_dir(&k, "wrong-sni");
    let (cli, report) = run_kube(
        &dir,
        "test-kube-read",
        &["-a", &format!("kubeconfig={}", kc.display())],
        &[],
    );
    let report = report.unwrap_or_else(|| panic!("no report; stderr:\n{}", cli.stderr));
    assert_ne!(results_of(&report).get("test-kube-read"), Some(&1));
    assert_eq!(k.server.server.seen().len(), seen.len());
}

/// A rotated `tokenFile` (a projected service-account token): after the first request the
/// server accepts only a new token, written to the file at that moment; the host reads the
/// file again on the 401 and the check never notices.
#[test]
fn a_rotated_token_file_is_read_again_after_a_401() {
    const NEW: &str = "simkube-rotated-token-51be";
    let k = Kube::start_with(|f, dir| {
        f.rotation = Some(simkube::Rotation {
            after: 1,
            token: NEW.to_string(),
            file: dir.join("token"),
        });
    });
    std::fs::write(k.dir.path().join("token"), format!("{TOKEN}\n")).expect("token file");
    let kc = k.kubeconfig("tf.yaml", &k.cluster_ca_file(), "{tokenFile: token}");
    let dir = run_dir(&k, "rotated");
    let (cli, report) = run_kube(
        &dir,
        "test-kube-read",
        &["-a", &format!("kubeconfig={}", kc.display())],
        &[],
    );
    assert_read_passed(&cli, &report, k.url());
    let creds: Vec<simkube::Credential> = k
        .server
        .server
        .seen()
        .into_iter()
        .map(|s| s.credential)
        .collect();
    assert_eq!(
        creds.first(),
        Some(&simkube::Credential::Token(TOKEN.into()))
    );
    assert_eq!(creds.get(1), Some(&simkube::Credential::None), "{creds:?}");
    assert!(
        creds[2..]
            .iter()
            .all(|c| c == &simkube::Credential::Token(NEW.into())),
        "{creds:?}"
    );
}

#[test]
fn client_certificate_data_and_token_and_token_file() {
    let k = Kube::start();
    let cert = b64(read(&k.pki.join("client.pem")).as_bytes());
    let key = b64(read(&k.pki.join("client.key")).as_bytes());
    std::fs::write(k.dir.path().join("token.txt"), format!("{TOKEN}\n")).expect("token file");
    for (name, user, want) in [
        (
            "data.yaml",
            format!("{{client-certificate-data: {cert}, client-key-data: {key}}}"),
            simkube::Credential::ClientCert,
        ),
        (
            "token.yaml",
            format!("{{token: {TOKEN}}}"),
            simkube::Credential::Token(TOKEN.into()),
        ),
        (
            "tokenfile.yaml",
            "{tokenFile: token.txt}".to_string(),
            simkube::Credential::Token(TOKEN.into()),
        ),
    ] {
        let kc = k.kubeconfig(name, &k.cluster_ca_data(), &user);
        let dir = run_dir(&k, name);
        let before = k.server.server.seen().len();
        // through KUBECONFIG this time (the scope's kubeconfig variable is empty)
        let (cli, report) = run_kube(
            &dir,
            "test-kube-read",
            &[],
            &[("KUBECONFIG", kc.to_str().expect("utf-8"))],
        );
        assert_read_passed(&cli, &report, k.url());
        let seen = k.server.server.seen();
        assert!(
            seen[before..].iter().all(|s| s.credential == want),
            "{name}: {:?}",
            &seen[before..]
        );
    }
}

/// An exec plugin that counts its runs, saves KUBERNETES_EXEC_INFO and prints a token that
/// expires at `expiry`.
fn counting_plugin(k: &Kube, name: &str, api: &str, expiry: &str) -> PathBuf {
    let d = k.dir.path().join(format!("{name}.d"));
    std::fs::create_dir_all(&d).expect("plugin dir");
    k.plugin(
        name,
        &format!(
            "echo run >> \"$PLUGIN_DIR/runs\"\nprintf '%s' \"$KUBERNETES_EXEC_INFO\" > \
             \"$PLUGIN_DIR/exec-info\"\necho \"args: $*\" > \"$PLUGIN_DIR/args\"\n\
             printf '{{\"apiVersion\":\"{api}\",\"kind\":\"ExecCredential\",\"status\":\
             {{\"token\":\"{TOKEN}\",\"expirationTimestamp\":\"{expiry}\"}}}}'"
        ),
    );
    d
}

fn exec_user(k: &Kube, plugin: &str, api: &str, dir: &Path, mode: &str) -> String {
    format!(
        "{{exec: {{apiVersion: {api}, command: {}, args: [get-token, --cluster, sim], \
         env: [{{name: PLUGIN_DIR, value: '{}'}}]{mode}}}}}",
        k.dir.path().join(plugin).display(),
        dir.display()
    )
}

#[test]
fn exec_plugins_v1_and_v1beta1_run_again_when_expired() {
    let k = Kube::start();
    // v1, a credential that is already expired: the plugin runs at setup and before each call
    let v1 = "client.authentication.k8s.io/v1";
    let d1 = counting_plugin(&k, "plugin-v1", v1, "2001-01-01T00:00:00Z");
    let kc = k.kubeconfig(
        "exec-v1.yaml",
        &k.cluster_ca_file(),
        &exec_user(
            &k,
            "plugin-v1",
            v1,
            &d1,
            ", interactiveMode: Never, provideClusterInfo: true",
        ),
    );
    let dir = run_dir(&k, "exec-v1");
    let (cli, report) = run_kube(
        &dir,
        "test-kube-read",
        &["-a", &format!("kubeconfig={}", kc.display())],
        &[],
    );
    assert_read_passed(&cli, &report, k.url());
    let runs = read(&d1.join("runs")).lines().count();
    assert_eq!(runs, 3, "setup, /version, /api/v1/nodes");
    let info: serde_json::Value =
        serde_json::from_str(&read(&d1.join("exec-info"))).expect("KUBERNETES_EXEC_INFO");
    assert_eq!(info["apiVersion"], v1);
    assert_eq!(info["kind"], "ExecCredential");
    assert_eq!(info["spec"]["interactive"], false);
    assert_eq!(info["spec"]["cluster"]["server"], k.url());
    assert!(info["spec"]["cluster"]["certificate-authority-data"].is_string());
    assert_eq!(
        read(&d1.join("args")).trim(),
        "args: get-token --cluster sim"
    );

    // v1beta1 (interactiveMode defaults to IfAvailable), a credential valid for years: one run
    let v1b = "client.authentication.k8s.io/v1beta1";
    let d2 = counting_plugin(&k, "plugin-v1beta1", v1b, "2099-01-01T00:00:00Z");
    let kc = k.kubeconfig(
        "exec-v1beta1.yaml",
        &k.cluster_ca_file(),
        &exec_user(&k, "plugin-v1beta1", v1b, &d2, ""),
    );
    let dir = run_dir(&k, "exec-v1beta1");
    let (cli, report) = run_kube(
        &dir,
        "test-kube-read",
        &["-a", &format!("kubeconfig={}", kc.display())],
        &[],
    );
    assert_read_passed(&cli, &report, k.url());
    assert_eq!(read(&d2.join("runs")).lines().count(), 1);
    let info: serde_json::Value =
        serde_json::from_str(&read(&d2.join("exec-info"))).expect("KUBERNETES_EXEC_INFO");
    assert_eq!(info["apiVersion"], v1b);
    assert!(
        info["spec"].get("cluster").is_none(),
        "provideClusterInfo is off"
    );
}

#[test]
fn kubeconfig_files_merge_and_context_selects() {
    let k = Kube::start();
    // a.yaml: current-context `sim` (defined only in b.yaml) and a user `u` with a wrong token;
    // b.yaml: the cluster, the context `sim`, its own `u` with the right token (discarded: the
    // first file's `u` wins), and a context `good` with a user only b defines.
    let a = k.dir.path().join("a.yaml");
    std::fs::write(
        &a,
        "current-context: sim\nusers:\n- name: u\n  user: {token: wrong-token}\n",
    )
    .expect("a.yaml");
    let b = k.dir.path().join("b.yaml");
    std::fs::write(
        &b,
        format!(
            "current-context: good\nclusters:\n- name: c\n  cluster: {}\ncontexts:\n\
             - name: sim\n  context: {{cluster: c, user: u}}\n- name: good\n  context: \
             {{cluster: c, user: v}}\nusers:\n- name: u\n  user: {{token: {TOKEN}}}\n\
             - name: v\n  user: {{token: {TOKEN}}}\n",
            k.cluster_ca_file()
        ),
    )
    .expect("b.yaml");
    let list = format!("{}::{}", a.display(), b.display());
    // the current context of the first file, the first file's `u`: HTTP 401
    let dir = run_dir(&k, "merged");
    let (cli, report) = run_kube(&dir, "test-kube-read", &[], &[("KUBECONFIG", &list)]);
    let report = report.unwrap_or_else(|| panic!("no report: {}", cli.stderr));
    assert_eq!(
        results_of(&report).get("test-kube-read"),
        Some(&-1),
        "{cli:?}"
    );
    assert!(
        log_lines(&report)
            .iter()
            .any(|l| l.contains("GET /version: HTTP 401")),
        "{:?}",
        log_lines(&report)
    );
    // --context good: b's context and user
    let dir = run_dir(&k, "context");
    let (cli, report) = run_kube(
        &dir,
        "test-kube-read",
        &["--context", "good"],
        &[("KUBECONFIG", &list)],
    );
    let report = report.unwrap_or_else(|| panic!("no report: {}", cli.stderr));
    assert_eq!(
        results_of(&report).get("test-kube-read"),
        Some(&1),
        "{cli:?}"
    );
    assert!(
        log_lines(&report)
            .iter()
            .any(|l| l == &format!("INFO: cluster: {} (context good)", k.url())),
        "{:?}",
        log_lines(&report)
    );
}

#[test]
fn a_check_gets_only_what_it_declared() {
    let k = Kube::start();
    let kc = k.kubeconfig(
        "token.yaml",
        &k.cluster_ca_file(),
        &format!("{{token: {TOKEN}}}"),
    );
    let dir = run_dir(&k, "denied");
    let (cli, report) = run_kube(
        &dir,
        "test-kube-denied",
        &["-a", &format!("kubeconfig={}", kc.display())],
        &[],
    );
    let report = report.unwrap_or_else(|| panic!("no report: {}", cli.stderr));
    assert_eq!(
        results_of(&report).get("test-kube-denied"),
        Some(&1),
        "{:?}",
        log_lines(&report)
    );
    let logs = log_lines(&report);
    for want in [
        "undeclared resource: denied: the check did not declare capability \
         kubernetes:core/namespaces:read",
        "write to a read-only path: denied: POST /version: non-resource paths are read-only",
        "impersonation header: denied: header \"Impersonate-User\" is reserved for the host",
        "authorization header: denied: header \"Authorization\" is reserved for the host",
        "climbing path: denied: path",
    ] {
        assert!(logs.iter().any(|l| l.contains(want)), "{want}: {logs:?}");
    }
    // nothing but /version reached the server (the two reserved-header requests never left)
    let seen = k.server.server.seen();
    assert!(seen.iter().all(|s| s.path == "/version"), "{seen:?}");
    assert!(seen.is_empty(), "the denied check sent nothing: {seen:?}");
}

/// Every file under `dir`, decompressed when zstd, as text.
fn all_text(dir: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(dir).expect("ls").flatten() {
        let p = e.path();
        let bytes = std::fs::read(&p).expect("read");
        let bytes = if p.extension().is_some_and(|x| x == "zst") {
            zstd::decode_all(&bytes[..]).expect("zstd")
        } else {
            bytes
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
    }
    out
}

#[test]
fn record_and_replay_offline_without_credentials_anywhere() {
    let k = Kube::start();
    let key_text = read(&k.pki.join("client.key"));
    let key_line = key_text
        .lines()
        .nth(1)
        .expect("a line of the client key")
        .to_string();
    let kc = k.kubeconfig(
        "rec.yaml",
        &k.cluster_ca_file(),
        &format!(
            "{{client-certificate-data: {}, client-key-data: {}}}",
            b64(read(&k.pki.join("client.pem")).as_bytes()),
            b64(key_text.as_bytes())
        ),
    );
    let kc_token = k.kubeconfig(
        "rec-token.yaml",
        &k.cluster_ca_file(),
        &format!("{{token: {TOKEN}}}"),
    );
    for (name, kubeconfig) in [("cert", &kc), ("token", &kc_token)] {
        let dir = run_dir(&k, &format!("record-{name}"));
        let transcript = dir.join("transcript");
        let (cli, report) = run_kube(
            &dir,
            "test-kube",
            &[
                "-v",
                "--record",
                transcript.to_str().expect("utf-8"),
                "-a",
                &format!("kubeconfig={}", kubeconfig.display()),
            ],
            &[],
        );
        let report = report.unwrap_or_else(|| panic!("no report: {}", cli.stderr));
        let recorded = results_of(&report);
        assert_eq!(recorded.get("test-kube-read"), Some(&1), "{cli:?}");
        assert_eq!(recorded.get("test-kube-denied"), Some(&1), "{cli:?}");
        let manifest: serde_json::Value =
            serde_json::from_str(&read(&transcript.join("manifest.json"))).expect("manifest");
        assert_eq!(
            manifest["version"], 2,
            "a run with a cluster writes format 2"
        );
        assert_eq!(manifest["cluster"]["server"], k.url());
        assert_eq!(manifest["cluster"]["context"], CONTEXT);
        assert!(cli.stderr.contains("kubernetes call"), "-v logs each call");
        // no credential in the report, the transcript or the log
        let report_text = read(&dir.join("report.yaml"));
        for (what, text) in [
            ("report", &report_text),
            ("transcript", &all_text(&transcript)),
            ("log", &cli.stderr),
        ] {
            assert!(!text.contains(TOKEN), "{name}: the token is in the {what}");
            assert!(
                !text.contains(&key_line),
                "{name}: the client key is in the {what}"
            );
            // (the transcript keeps the denied check's own forged header, never the host's)
            if what != "transcript" {
                assert!(
                    !text.contains("Bearer"),
                    "{name}: an Authorization value in the {what}"
                );
            }
        }
        // replay: no kubeconfig, no server needed, the same verdicts and log lines
        let seen_before = k.server.server.seen().len();
        let rdir = run_dir(&k, &format!("replay-{name}"));
        let (rcli, rreport) = run_kube(
            &rdir,
            "test-kube",
            &["--replay", transcript.to_str().expect("utf-8")],
            &[("KUBECONFIG", "/nonexistent/kubeconfig")],
        );
        let rreport = rreport.unwrap_or_else(|| panic!("no replay report: {}", rcli.stderr));
        assert_eq!(rcli.code, cli.code, "{}", rcli.stderr);
        assert_eq!(results_of(&rreport), recorded);
        // the same lines (invocations are keyed by fresh ids, so compare them sorted)
        let sorted = |r: &serde_json::Value| {
            let mut v = log_lines(r);
            v.sort();
            v
        };
        assert_eq!(sorted(&rreport), sorted(&report));
        assert_eq!(
            k.server.server.seen().len(),
            seen_before,
            "the replay stayed offline"
        );
    }
}

/// Exit 10 and exactly one error line containing `want`.
fn assert_refused(cli: &CliRun, want: &str) {
    assert_eq!(cli.code, 10, "stderr:\n{}", cli.stderr);
    let errors: Vec<&str> = cli
        .stderr
        .lines()
        .filter(|l| l.starts_with("scs-cert: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", cli.stderr);
    assert!(errors[0].contains(want), "{want}: {}", errors[0]);
}

#[test]
fn unusable_kubeconfigs_stop_the_run_with_one_line_and_exit_10() {
    let k = Kube::start();
    let dir = run_dir(&k, "bad");
    let kc_arg = |p: &Path| format!("kubeconfig={}", p.display());

    let missing = k.dir.path().join("missing.yaml");
    let (cli, _) = run_kube(&dir, "test-kube-read", &["-a", &kc_arg(&missing)], &[]);
    assert_refused(&cli, "missing.yaml does not exist");

    // no kubeconfig at all: no variable, no KUBECONFIG, no ~/.kube/config
    let (cli, _) = run_kube(&dir, "test-kube-read", &[], &[]);
    assert_refused(&cli, ".kube/config does not exist");

    let kc = k.kubeconfig(
        "ok.yaml",
        &k.cluster_ca_file(),
        &format!("{{token: {TOKEN}}}"),
    );
    let (cli, _) = run_kube(
        &dir,
        "test-kube-read",
        &["-a", &kc_arg(&kc), "--context", "nope"],
        &[],
    );
    assert_refused(&cli, "context \"nope\" not found (contexts: sim)");

    let kc = k.kubeconfig(
        "noca.yaml",
        &format!(
            "{{server: '{}', certificate-authority: no-such-ca.pem}}",
            k.url()
        ),
        &format!("{{token: {TOKEN}}}"),
    );
    let (cli, _) = run_kube(&dir, "test-kube-read", &["-a", &kc_arg(&kc)], &[]);
    assert_refused(&cli, "cluster \"c\": certificate-authority: cannot read");
    assert!(!cli.stderr.contains(TOKEN));

    let v1 = "client.authentication.k8s.io/v1";
    for (name, body, extra, want) in [
        (
            "fails",
            "echo 'please log in first' >&2; exit 3",
            vec![],
            "exited with exit status: 3: please log in first",
        ),
        (
            "hangs",
            "exec sleep 30",
            vec!["--exec-timeout", "1"],
            "no credential within 1 s; it was stopped",
        ),
        (
            "floods",
            "exec yes",
            vec![],
            "printed more than 1048576 bytes; it was stopped",
        ),
    ] {
        let plugin = k.plugin(&format!("plugin-{name}"), body);
        let kc = k.kubeconfig(
            &format!("exec-{name}.yaml"),
            &k.cluster_ca_file(),
            &format!(
                "{{exec: {{apiVersion: {v1}, command: {}, interactiveMode: Never}}}}",
                plugin.display()
            ),
        );
        let started = std::time::Instant::now();
        let mut args = vec!["-a".to_string(), kc_arg(&kc)];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (cli, report) = run_kube(&dir, "test-kube-read", &args, &[]);
        assert_refused(&cli, &format!("exec plugin {}: {want}", plugin.display()));
        assert!(report.is_none(), "no report for a run that could not start");
        assert!(
            started.elapsed().as_secs() < 20,
            "{name} took {:?}",
            started.elapsed()
        );
    }
}

/// A component built against the previous contract (scs:check@0.1.0, no kubernetes or data
/// interface) runs on this host unchanged.
#[test]
fn a_component_of_the_old_contract_still_runs() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(dir.path(), &["test-old-contract"]);
    let out = dir.path().join("report.yaml");
    let scope = root().join("tests/fixtures/old-contract-scope.yaml");
    let cli = scs_cert(
        &[
            "run",
            scope.to_str().expect("utf-8"),
            "--os-cloud",
            "simcloud",
            "-s",
            "test-cloud",
            "-o",
            out.to_str().expect("utf-8"),
            "--checks",
            checks.to_str().expect("utf-8"),
        ],
        Some(&clouds),
    );
    assert_eq!(cli.code, 0, "{cli:?}");
    let report = read_report(&out);
    assert_eq!(results_of(&report).get("test-old-contract"), Some(&1));
    assert!(
        log_lines(&report)
            .iter()
            .any(|l| l == "INFO: built against scs:check@0.1.0"),
        "{:?}",
        log_lines(&report)
    );
    let wasm = std::fs::read(
        Path::new(scs_cert_artifacts::TEST_CHECKS_DIR).join("test-old-contract/component.wasm"),
    )
    .expect("component");
    let text = String::from_utf8_lossy(&wasm);
    assert!(
        text.contains("scs:check/openstack@0.1.0"),
        "built against 0.1.0"
    );
    assert!(!text.contains("@0.1.1"), "nothing of 0.1.1 in it");
}

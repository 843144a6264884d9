//! Signed offline data (issue 10 part 3): `data refresh` against a loopback HTTP server that
//! serves the three sources in their real formats (fixtures in tests/fixtures/kaas/), `data
//! build` from the same files giving the same datasets, signing with keys made at test time,
//! interop with the real `ssh-keygen`, every refusal (tampered, wrong key, unsigned, expired,
//! rolled back, stale) as one line with its own exit code, and checks reading a dataset
//! through the host: granted, denied, missing, stale (never a PASS), recorded, replayed and
//! reproduced offline.

use crate::common::{self, CliRun, Credential};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn kaas(rel: &str) -> PathBuf {
    common::root().join("tests/fixtures/kaas").join(rel)
}

fn eol_yaml() -> PathBuf {
    common::root().join("tests/fixtures/official/k8s-eol-data.yml")
}

fn cli(args: &[&str]) -> CliRun {
    common::scs_cert(args, None)
}

fn ok(args: &[&str]) -> CliRun {
    let r = cli(args);
    assert_eq!(r.code, 0, "{args:?}:\n{}\n{}", r.stdout, r.stderr);
    r
}

/// One line on stderr, `scs-cert: refused: <reason>: …`, and the exit code.
fn refused(r: &CliRun, reason: &str, code: i32) {
    assert_eq!(r.code, code, "{}\n{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {}", r.stderr);
    assert!(
        lines[0].starts_with(&format!("scs-cert: refused: {reason}: ")),
        "{}",
        lines[0]
    );
}

/// Keys and a root with a data role: `root-key` (root and bundle role), `data-key` (data
/// role), `other-key` (in no role).
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = common::tempdir();
        let d = dir.path();
        for k in ["root-key", "data-key", "other-key"] {
            ok(&["key", "generate", "--out", s(&d.join(k)), "--no-passphrase"]);
        }
        ok(&[
            "trust",
            "init",
            "--out",
            s(&d.join("root.json")),
            "--root-key",
            s(&d.join("root-key.pub")),
            "--bundle-key",
            s(&d.join("root-key.pub")),
            "--data-key",
            s(&d.join("data-key.pub")),
            "--sign",
            s(&d.join("root-key")),
        ]);
        Setup { dir }
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `data build` from the fixture files, generated `hours_ago` hours ago.
    fn build(&self, out: &str, hours_ago: i64, extra: &[&str]) -> CliRun {
        let at = scs_cert_host::trust::root::fmt_time(
            chrono::Utc::now() - chrono::Duration::hours(hours_ago),
        );
        let mut args = vec![
            "data",
            "build",
            "--releases",
            s(&kaas("source-github-releases.json")).to_string().leak(),
            "--cve-feed",
            s(&kaas("source-cve-feed.json")).to_string().leak(),
            "--cve-records",
            s(&kaas("cve-records")).to_string().leak(),
            "--eol",
            s(&eol_yaml()).to_string().leak(),
            "--generated-at",
            at.leak(),
            "--out",
            s(&self.p(out)).to_string().leak(),
        ];
        args.extend_from_slice(extra);
        cli(&args)
    }

    fn verify(&self, file: &str, extra: &[&str]) -> CliRun {
        let mut args = vec![
            "data",
            "verify",
            s(&self.p(file)).to_string().leak(),
            "--root",
            s(&self.p("root.json")).to_string().leak(),
            "--state-dir",
            s(&self.p("state")).to_string().leak(),
        ];
        args.extend_from_slice(extra);
        cli(&args)
    }

    fn key(&self, k: &str) -> &'static str {
        s(&self.p(k)).to_string().leak()
    }
}

/// A loopback HTTP/1.1 server serving the sources: `/releases`, `/feed.json`,
/// `/cve/<id>` (after 40 ms, counting how many are answered at once) and `/eol.yml`;
/// `fail` answers 404 for that path.
struct Sources {
    base: String,
    max_concurrent: Arc<AtomicUsize>,
    requests: Arc<AtomicUsize>,
}

fn serve(fail: Option<&'static str>) -> Sources {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let max_concurrent = Arc::new(AtomicUsize::new(0));
    let requests = Arc::new(AtomicUsize::new(0));
    let now = Arc::new(AtomicUsize::new(0));
    let (mc, rq) = (max_concurrent.clone(), requests.clone());
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let (mc, rq, now) = (mc.clone(), rq.clone(), now.clone());
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                    loop {
                        let mut h = String::new();
                        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                            break;
                        }
                    }
                    rq.fetch_add(1, Ordering::SeqCst);
                    let body: Option<Vec<u8>> = if Some(path.as_str()) == fail {
                        None
                    } else if path == "/releases" {
                        std::fs::read(kaas("source-github-releases.json")).ok()
                    } else if path == "/feed.json" {
                        std::fs::read(kaas("source-cve-feed.json")).ok()
                    } else if path == "/eol.yml" {
                        std::fs::read(eol_yaml()).ok()
                    } else if let Some(id) = path.strip_prefix("/cve/") {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        mc.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(40));
                        now.fetch_sub(1, Ordering::SeqCst);
                        std::fs::read(kaas(&format!("cve-records/{id}.json"))).ok()
                    } else {
                        None
                    };
                    let (status, body) = match body {
                        Some(b) => ("200 OK", b),
                        None => ("404 Not Found", b"{\"message\":\"Not Found\"}".to_vec()),
                    };
                    let head = format!(
                        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    if conn.write_all(head.as_bytes()).is_err() || conn.write_all(&body).is_err() {
                        return;
                    }
                }
            });
        }
    });
    Sources {
        base,
        max_concurrent,
        requests,
    }
}

fn url_args(base: &str) -> Vec<&'static str> {
    let leak = |x: String| -> &'static str { x.leak() };
    vec![
        "--releases-url",
        leak(format!("{base}/releases")),
        "--cve-feed-url",
        leak(format!("{base}/feed.json")),
        "--cve-record-url",
        leak(format!("{base}/cve/{{id}}")),
        "--eol-url",
        leak(format!("{base}/eol.yml")),
    ]
}

/// The datasets of a data file (name → parsed JSON), untrusted.
fn datasets(file: &Path) -> BTreeMap<String, serde_json::Value> {
    let bytes = std::fs::read(file).expect("read");
    let entries = scs_cert_host::bundle::archive::unpack(&bytes).expect("unpack");
    entries
        .into_iter()
        .filter_map(|(p, b)| {
            let name = p
                .strip_prefix("datasets/")?
                .strip_suffix(".json")?
                .to_string();
            Some((name, serde_json::from_slice(&b).expect("json")))
        })
        .collect()
}

#[test]
fn refresh_and_build_make_the_same_signed_datasets() {
    let t = Setup::new();
    let src = serve(None);
    let mut args = vec![
        "data",
        "refresh",
        "--out",
        t.key("fetched.scsd"),
        "--sign-key",
        t.key("data-key"),
    ];
    let urls = url_args(&src.base);
    args.extend_from_slice(&urls);
    let r = ok(&args);
    assert!(r.stdout.contains("signed by SHA256:"), "{}", r.stdout);
    // 3 lists + 5 records; never more than 5 records at once (the official semaphore)
    assert_eq!(src.requests.load(Ordering::SeqCst), 8);
    let mc = src.max_concurrent.load(Ordering::SeqCst);
    assert!((2..=5).contains(&mc), "records fetched {mc} at a time");

    // the same files, already downloaded, with the same URLs named
    let mut extra = vec!["--sign-key", t.key("data-key")];
    extra.extend_from_slice(&urls);
    let r = t.build("built.scsd", 0, &extra);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(datasets(&t.p("fetched.scsd")), datasets(&t.p("built.scsd")));

    // with the default (official) URLs the datasets are exactly the reference datasets in
    // tests/fixtures/kaas/ that the version-policy check is tested with
    let r = t.build("official.scsd", 0, &["--sign-key", t.key("data-key")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let got = datasets(&t.p("official.scsd"));
    for name in ["k8s-releases", "k8s-cves", "k8s-eol"] {
        let want: serde_json::Value =
            serde_json::from_slice(&std::fs::read(kaas(&format!("{name}.json"))).expect("read"))
                .expect("json");
        assert_eq!(got[name], want, "{name}");
    }
    // only Kubernetes entries of `affected`, metrics as fetched
    assert!(
        got["k8s-cves"]["cves"]
            .as_array()
            .expect("cves")
            .iter()
            .all(|c| c["affected"]
                .as_array()
                .expect("affected")
                .iter()
                .all(|a| a["product"] == "Kubernetes"))
    );

    // verify prints what the file holds
    let r = t.verify("fetched.scsd", &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for want in [
        "name:             k8s-data",
        "authorized by:    data (SHA256:",
        "k8s-releases: sha256 ",
        "20 releases",
        "5 CVEs",
        "k8s-eol: sha256 ",
        "verified: every rule passed",
    ] {
        assert!(r.stdout.contains(want), "{want}:\n{}", r.stdout);
    }
}

#[test]
fn any_failed_fetch_fails_the_refresh_with_one_line() {
    let t = Setup::new();
    let src = serve(Some("/cve/CVE-2099-1003"));
    let mut args = vec!["data", "refresh", "--out", t.key("x.scsd")];
    let urls = url_args(&src.base);
    args.extend_from_slice(&urls);
    let r = cli(&args);
    assert_eq!(r.code, 44, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("/cve/CVE-2099-1003: HTTP 404") && r.stderr.contains("nothing written"),
        "{}",
        r.stderr
    );
    assert!(!t.p("x.scsd").exists(), "no data file with holes");
    // an unreachable source, and a URL option that is not usable
    let mut args = vec!["data", "refresh", "--out", t.key("y.scsd")];
    args.extend_from_slice(&url_args("http://127.0.0.1:9"));
    let r = cli(&args);
    assert_eq!(r.code, 44, "{}", r.stderr);
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    let r = cli(&[
        "data",
        "refresh",
        "--out",
        t.key("z.scsd"),
        "--cve-record-url",
        "https://example.invalid/cve/",
    ]);
    assert_eq!(r.code, 44, "{}", r.stderr);
    assert!(r.stderr.contains("must contain {id}"), "{}", r.stderr);
}

fn repack(file: &Path, out: &Path, f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>)) {
    let mut entries = scs_cert_host::bundle::archive::unpack(&std::fs::read(file).expect("read"))
        .expect("unpack");
    f(&mut entries);
    let bytes = scs_cert_host::bundle::archive::pack(&entries, 0).expect("pack");
    std::fs::write(out, bytes).expect("write");
}

#[test]
fn refusals_are_one_line_with_their_own_exit_code() {
    let t = Setup::new();
    let good = |name: &str, hours: i64, extra: &[&str]| {
        let mut e = vec!["--sign-key", t.key("data-key")];
        e.extend_from_slice(extra);
        let r = t.build(name, hours, &e);
        assert_eq!(r.code, 0, "{}", r.stderr);
    };
    good("good.scsd", 1, &["--sequence", "200"]);
    assert_eq!(t.verify("good.scsd", &["--no-state-update"]).code, 0);

    // tampered dataset: digest-mismatch (25)
    repack(&t.p("good.scsd"), &t.p("tampered.scsd"), |e| {
        let v = e.get_mut("datasets/k8s-eol.json").expect("eol");
        *v = String::from_utf8_lossy(v)
            .replace("2027-06-28", "2099-06-28")
            .into_bytes();
    });
    refused(&t.verify("tampered.scsd", &[]), "digest-mismatch", 25);
    // tampered manifest: bad-signature (27)
    repack(&t.p("good.scsd"), &t.p("tampered-manifest.scsd"), |e| {
        let v = e.get_mut("manifest.json").expect("manifest");
        *v = String::from_utf8_lossy(v)
            .replace("\"sequence\": 200", "\"sequence\": 900")
            .into_bytes();
    });
    refused(
        &t.verify("tampered-manifest.scsd", &[]),
        "bad-signature",
        27,
    );
    // unsigned (26)
    let r = t.build("unsigned.scsd", 1, &[]);
    assert!(r.stdout.contains("UNSIGNED"), "{}", r.stdout);
    refused(&t.verify("unsigned.scsd", &[]), "unsigned", 26);
    // a key the root does not know: unknown-key (28)
    let r = t.build("other.scsd", 1, &["--sign-key", t.key("other-key")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    refused(&t.verify("other.scsd", &[]), "unknown-key", 28);
    // a trusted key outside the data role (the bundle key): threshold (30)
    let r = t.build("bundle-signed.scsd", 1, &["--sign-key", t.key("root-key")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    refused(&t.verify("bundle-signed.scsd", &[]), "threshold", 30);
    // expired: generated 10 days ago, valid 7 (34); --allow-expired overrides, loudly
    good("expired.scsd", 240, &[]);
    refused(&t.verify("expired.scsd", &[]), "expired", 34);
    let r = t.verify(
        "expired.scsd",
        &[
            "--allow-expired",
            "--no-state-update",
            "--max-data-age",
            "1000",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("OVERRIDE IN EFFECT"), "{}", r.stderr);
    // rollback: sequence 200 accepted, then 100 (35)
    assert_eq!(t.verify("good.scsd", &[]).code, 0);
    good("older.scsd", 1, &["--sequence", "100"]);
    refused(&t.verify("older.scsd", &[]), "rollback", 35);
    // stale: 72 h old, the bound is 48 h (43), the refresh command named
    good("stale.scsd", 72, &["--sequence", "300"]);
    let r = t.verify("stale.scsd", &[]);
    refused(&r, "stale", 43);
    assert!(r.stderr.contains("scs-cert data refresh"), "{}", r.stderr);
    assert_eq!(t.verify("stale.scsd", &["--max-data-age", "96"]).code, 0);
    // a bundle is not a data file (20)
    std::fs::write(t.p("not-data.scsd"), b"not zstd").expect("w");
    refused(&t.verify("not-data.scsd", &[]), "malformed", 20);
}

fn ssh_keygen(args: &[&str], dir: &Path, stdin: Option<&Path>) -> (i32, String) {
    let mut c = std::process::Command::new("ssh-keygen");
    c.args(args).current_dir(dir);
    match stdin {
        Some(p) => c.stdin(std::fs::File::open(p).expect("stdin")),
        None => c.stdin(std::process::Stdio::null()),
    };
    let out = c
        .output()
        .expect("ssh-keygen must be installed (openssh-client)");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn ssh_keygen_interop_for_data_files() {
    let t = Setup::new();
    let d = t.dir.path();
    // ssh-keygen makes the data key; the root's data role names it
    let (code, out) = ssh_keygen(
        &[
            "-q",
            "-t",
            "ed25519",
            "-N",
            "",
            "-C",
            "data@example.org",
            "-f",
            "sk",
        ],
        d,
        None,
    );
    assert_eq!(code, 0, "{out}");
    ok(&[
        "trust",
        "init",
        "--out",
        t.key("root2.json"),
        "--root-key",
        t.key("root-key.pub"),
        "--bundle-key",
        t.key("root-key.pub"),
        "--data-key",
        t.key("sk.pub"),
        "--sign",
        t.key("root-key"),
    ]);
    let verify = |file: &str| {
        cli(&[
            "data",
            "verify",
            t.key(file),
            "--root",
            t.key("root2.json"),
            "--state-dir",
            t.key("st"),
            "--no-state-update",
        ])
    };
    // 1. scs-cert signs with the ssh-keygen key; ssh-keygen -Y verify accepts it
    let r = t.build("a.scsd", 1, &["--sign-key", t.key("sk")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(verify("a.scsd").code, 0);
    ok(&["bundle", "extract", t.key("a.scsd"), "--out", t.key("xa")]);
    let sigs: Vec<PathBuf> = std::fs::read_dir(t.p("xa/signatures"))
        .expect("signatures/")
        .map(|e| e.expect("e").path())
        .collect();
    assert_eq!(sigs.len(), 1);
    let pub_line = std::fs::read_to_string(t.p("sk.pub")).expect("pub");
    std::fs::write(
        t.p("allowed"),
        format!("data@example.org namespaces=\"scs-cert-data\" {pub_line}"),
    )
    .expect("w");
    let (code, out) = ssh_keygen(
        &[
            "-Y",
            "verify",
            "-f",
            "allowed",
            "-I",
            "data@example.org",
            "-n",
            "scs-cert-data",
            "-s",
            s(&sigs[0]),
        ],
        d,
        Some(&t.p("xa/manifest.json")),
    );
    assert_eq!(code, 0, "{out}");
    // the namespace binds: as a bundle signature it does not verify
    let (code, _) = ssh_keygen(
        &[
            "-Y",
            "verify",
            "-f",
            "allowed",
            "-I",
            "data@example.org",
            "-n",
            "scs-cert-bundle",
            "-s",
            s(&sigs[0]),
        ],
        d,
        Some(&t.p("xa/manifest.json")),
    );
    assert_ne!(code, 0);

    // 2. ssh-keygen -Y sign over the extracted manifest; `data sign --signature` adds it
    let r = t.build("b.scsd", 1, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    ok(&["bundle", "extract", t.key("b.scsd"), "--out", t.key("xb")]);
    let (code, out) = ssh_keygen(
        &[
            "-Y",
            "sign",
            "-f",
            "sk",
            "-n",
            "scs-cert-data",
            "xb/manifest.json",
        ],
        d,
        None,
    );
    assert_eq!(code, 0, "{out}");
    ok(&[
        "data",
        "sign",
        t.key("b.scsd"),
        "--signature",
        t.key("xb/manifest.json.sig"),
    ]);
    let r = verify("b.scsd");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // a signature in another namespace is refused when added (27)
    let (code, out) = ssh_keygen(
        &[
            "-Y",
            "sign",
            "-f",
            "sk",
            "-n",
            "scs-cert-bundle",
            "xb/datasets/k8s-eol.json",
        ],
        d,
        None,
    );
    assert_eq!(code, 0, "{out}");
    let r = cli(&[
        "data",
        "sign",
        t.key("b.scsd"),
        "--signature",
        t.key("xb/datasets/k8s-eol.json.sig"),
        "--out",
        t.key("c.scsd"),
    ]);
    refused(&r, "bad-signature", 27);
}

/// Run the data test scope against simcloud with the test guests; returns the CLI outcome and
/// the report.
fn run_data_scope(t: &Setup, extra: &[&str]) -> (CliRun, serde_json::Value) {
    let cloud = common::start_cloud("compliant");
    let clouds = common::write_clouds(t.dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = common::checks_with(
        &t.p(&format!("checks-{}", uuid::Uuid::new_v4())),
        &["test-data", "test-data-careless", "test-data-undeclared"],
    );
    let out = t.p(&format!("report-{}.yaml", uuid::Uuid::new_v4()));
    let scope = common::root().join("tests/fixtures/data-scope.yaml");
    let mut args = vec![
        "run",
        s(&scope),
        "--os-cloud",
        "simcloud",
        "-s",
        "data-cloud",
        "-d",
        "2026-11-29",
        "--checks",
        s(&checks),
        "--root",
        t.key("root.json"),
        "--state-dir",
        t.key("state"),
        "-o",
        s(&out),
    ];
    args.extend_from_slice(extra);
    let r = common::scs_cert(&args, Some(&clouds));
    assert!(out.is_file(), "no report: {}", r.stderr);
    let report = common::read_report(&out);
    std::fs::copy(&out, t.p("report.yaml")).expect("keep");
    (r, report)
}

fn stderr_of(report: &serde_json::Value) -> String {
    common::log_lines(report).join("\n")
}

#[test]
fn checks_read_datasets_through_the_host_and_replay_them() {
    let t = Setup::new();
    let r = t.build("d.scsd", 1, &["--sign-key", t.key("data-key")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let transcript = t.p("transcript");
    let (r, report) = run_data_scope(
        &t,
        &[
            "--data",
            t.key("d.scsd"),
            "--record",
            s(&transcript).to_string().leak(),
        ],
    );
    let results = common::results_of(&report);
    assert_eq!(results["test-data"], 1, "{}", stderr_of(&report));
    assert_eq!(results["test-data-careless"], 1);
    assert_eq!(
        results["test-data-undeclared"], 0,
        "denied: the check ABORTs"
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    let logs = stderr_of(&report);
    assert!(
        logs.contains("dataset k8s-eol sha256 ") && logs.contains(" size "),
        "{logs}"
    );
    assert!(
        logs.contains("denied: the check did not declare capability data:k8s-cves:read"),
        "{logs}"
    );
    // the report names the data file
    let data = &report["run"]["scs_cert"]["data"];
    assert_eq!(data["name"], "k8s-data");
    assert_eq!(data["authorized_by"], "data");
    assert_eq!(data["mode"], "live");
    assert_eq!(data["refreshed"], false);
    assert_eq!(data["max_age_hours"], 48);
    assert_eq!(data["datasets"].as_array().expect("datasets").len(), 3);
    assert!(data["generated_at"].is_string() && data["sequence"].is_u64());
    let sha = data["datasets"]
        .as_array()
        .expect("datasets")
        .iter()
        .find(|d| d["name"] == "k8s-eol")
        .and_then(|d| d["sha256"].as_str())
        .expect("k8s-eol")
        .to_string();
    assert!(
        logs.contains(&format!("dataset k8s-eol sha256 {sha}")),
        "{logs}"
    );
    let caps = report["run"]["scs_cert"]["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["id"] == "test-data")
        .map(|c| c["capabilities"].clone())
        .expect("test-data");
    assert_eq!(caps, serde_json::json!(["data:k8s-eol:read"]));
    // the transcript embeds the data: the replay needs no data file
    assert!(transcript.join("data.json").is_file());
    std::fs::remove_file(t.p("d.scsd")).expect("rm");
    let cloud_less = common::scs_cert(
        &[
            "run",
            s(&common::root().join("tests/fixtures/data-scope.yaml")),
            "--os-cloud",
            "simcloud",
            "-s",
            "data-cloud",
            "-d",
            "2026-11-29",
            "--checks",
            s(&common::checks_with(
                &t.p("checks-replay"),
                &["test-data", "test-data-careless", "test-data-undeclared"],
            )),
            "--replay",
            s(&transcript),
            "-o",
            t.key("replayed.yaml"),
        ],
        None,
    );
    assert_eq!(cloud_less.code, 2, "{}", cloud_less.stderr);
    let replayed = common::read_report(&t.p("replayed.yaml"));
    assert_eq!(common::results_of(&replayed), results);
    assert_eq!(replayed["run"]["scs_cert"]["data"]["mode"], "replayed");
    assert!(stderr_of(&replayed).contains(&format!("dataset k8s-eol sha256 {sha}")));

    // report reproduce re-verifies the signed run offline, data included
    ok(&[
        "key",
        "generate",
        "--out",
        t.key("report-key"),
        "--no-passphrase",
    ]);
    ok(&[
        "report",
        "sign",
        t.key("report.yaml"),
        "--key",
        t.key("report-key"),
        "--no-spool",
    ]);
    let pubkey = std::fs::read_to_string(t.p("report-key.pub")).expect("pub");
    std::fs::write(t.p("allowed"), format!("certifier@example.org {pubkey}")).expect("w");
    let reproduce = || {
        cli(&[
            "report",
            "reproduce",
            t.key("report.yaml"),
            "--transcript",
            s(&transcript),
            "--checks",
            s(&t.p("checks-replay/checks")),
            "--scope",
            s(&common::root().join("tests/fixtures/data-scope.yaml")),
            "--allowed-signers",
            t.key("allowed"),
        ])
    };
    let r = reproduce();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    // a data record that is not the one the report names: a digest mismatch (42)
    let rec = transcript.join("data.json");
    let mut text = std::fs::read_to_string(&rec).expect("record");
    text.push('\n');
    std::fs::write(&rec, text).expect("w");
    let r = reproduce();
    assert_eq!(r.code, 42, "{}\n{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(all.contains("data record sha256"), "{all}");
}

#[test]
fn stale_or_missing_data_never_passes() {
    let t = Setup::new();
    let r = t.build("stale.scsd", 72, &["--sign-key", t.key("data-key")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (r, report) = run_data_scope(&t, &["--data", t.key("stale.scsd")]);
    assert!(
        r.stderr.contains("data older than 48 h is stale"),
        "{}",
        r.stderr
    );
    let results = common::results_of(&report);
    assert_eq!(results["test-data"], 0);
    assert_eq!(
        results["test-data-careless"], 0,
        "the host turns its PASS into ABORT"
    );
    let logs = stderr_of(&report);
    assert!(
        logs.contains("stale: dataset \"k8s-eol\" of data file k8s-data")
            && logs.contains("run `scs-cert data refresh`"),
        "{logs}"
    );
    assert!(
        logs.contains("PASS turned into ABORT by the host"),
        "{logs}"
    );
    assert_eq!(report["run"]["scs_cert"]["data"]["age_hours"], 72);
    // a larger bound (the operator's choice, in the report) accepts it
    let (_, report) = run_data_scope(
        &t,
        &["--data", t.key("stale.scsd"), "--max-data-age", "100"],
    );
    assert_eq!(common::results_of(&report)["test-data"], 1);
    assert_eq!(report["run"]["scs_cert"]["data"]["max_age_hours"], 100);

    // no data file: `missing`, naming the command that makes one
    let (_, report) = run_data_scope(&t, &[]);
    assert_eq!(common::results_of(&report)["test-data"], 0);
    let logs = stderr_of(&report);
    assert!(
        logs.contains("missing: no dataset \"k8s-eol\": this run has no data file; make one with `scs-cert data refresh`"),
        "{logs}"
    );
    assert!(report["run"]["scs_cert"]["data"].is_null());

    // a refused data file stops the run before anything runs, with its code
    let r = t.build("unknown.scsd", 1, &["--sign-key", t.key("other-key")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let cloud = common::start_cloud("compliant");
    let clouds = common::write_clouds(t.dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let r = common::scs_cert(
        &[
            "run",
            s(&common::root().join("tests/fixtures/data-scope.yaml")),
            "--os-cloud",
            "simcloud",
            "-s",
            "x",
            "--checks",
            s(&common::checks_with(&t.p("c2"), &["test-data"])),
            "--root",
            t.key("root.json"),
            "--state-dir",
            t.key("state"),
            "--data",
            t.key("unknown.scsd"),
        ],
        Some(&clouds),
    );
    assert_eq!(r.code, 28, "{}", r.stderr);
    assert!(
        r.stderr.contains("scs-cert: refused: unknown-key: "),
        "{}",
        r.stderr
    );
}

#[test]
fn run_refresh_data_fetches_first_and_says_so() {
    let t = Setup::new();
    let src = serve(None);
    let mut extra = vec![
        "--data",
        t.key("fresh.scsd"),
        "--refresh-data",
        "--data-sign-key",
        t.key("data-key"),
    ];
    let urls = url_args(&src.base);
    extra.extend_from_slice(&urls);
    let (r, report) = run_data_scope(&t, &extra);
    assert!(
        r.stderr.contains("scs-cert: refreshed the data: wrote "),
        "{}",
        r.stderr
    );
    assert_eq!(common::results_of(&report)["test-data"], 1, "{}", r.stderr);
    let data = &report["run"]["scs_cert"]["data"];
    assert_eq!(data["refreshed"], true);
    assert_eq!(data["age_hours"], 0);
    assert!(t.p("fresh.scsd").is_file());
    // --refresh-data needs the key and the file
    let r = cli(&["run", "x.yaml", "--refresh-data"]);
    assert_eq!(r.code, 4, "{}", r.stderr);
}

/// The KaaS version policy (the real `scs-0210-version-policy` component) against the simulated
/// API server, reading the three datasets of a signed data file: recorded, then reproduced
/// offline from the transcript and its data record.
#[test]
fn a_kaas_run_with_signed_data_is_reproduced_offline() {
    const TOKEN: &str = "data-test-token-5e1d";
    let t = Setup::new();
    let d = t.dir.path();
    let status = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .current_dir(d)
        .output()
        .expect("openssl must be installed");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let mut fixture =
        simkube::Fixture::load(&common::root().join("tests/simkube/fixtures/default.yaml"))
            .expect("fixture");
    fixture.tokens = vec![TOKEN.to_string()];
    let tls = simkube::Tls {
        cert_pem: std::fs::read(d.join("server.pem")).expect("pem"),
        key_pem: std::fs::read(d.join("server.key")).expect("key"),
        client_ca_pem: None,
    };
    let kube = simkube::start_blocking(fixture, &tls).expect("simkube");
    let kubeconfig = d.join("kubeconfig.yaml");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: sim\nclusters:\n- name: c\n  cluster: \
             {{server: '{}', insecure-skip-tls-verify: true}}\ncontexts:\n- name: sim\n  context: \
             {{cluster: c, user: u}}\nusers:\n- name: u\n  user: {{token: {TOKEN}}}\n",
            kube.server.url
        ),
    )
    .expect("kubeconfig");
    let r = t.build("k8s.scsd", 1, &["--sign-key", t.key("data-key")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let checks = common::checks_with(&t.p("kaas"), &["scs-0210-version-policy"]);
    let scope = common::root().join("scopes/scs-compatible-kaas.yaml");
    let assign = format!("kubeconfig={}", kubeconfig.display());
    let r = common::scs_cert(
        &[
            "run",
            s(&scope),
            "-s",
            "kaas-cloud",
            "-t",
            "version-policy-check",
            "-a",
            &assign,
            "-a",
            "subject_root=kaas-cloud",
            "--checks",
            s(&checks),
            "--root",
            t.key("root.json"),
            "--state-dir",
            t.key("state"),
            "--data",
            t.key("k8s.scsd"),
            "--record",
            t.key("kaas-transcript"),
            "-o",
            t.key("kaas.yaml"),
        ],
        None,
    );
    assert!(t.p("kaas.yaml").is_file(), "no report: {}", r.stderr);
    let report = common::read_report(&t.p("kaas.yaml"));
    let results = common::results_of(&report);
    let logs = stderr_of(&report);
    assert!(
        results.contains_key("version-policy-check"),
        "{}\n{logs}",
        r.stderr
    );
    assert!(
        !logs.contains("missing:") && !logs.contains("stale:") && !logs.contains("denied"),
        "{logs}"
    );
    assert_eq!(
        report["run"]["scs_cert"]["data"]["datasets"]
            .as_array()
            .expect("datasets")
            .len(),
        3
    );
    drop(kube);

    ok(&[
        "key",
        "generate",
        "--out",
        t.key("kaas-report-key"),
        "--no-passphrase",
    ]);
    ok(&[
        "report",
        "sign",
        t.key("kaas.yaml"),
        "--key",
        t.key("kaas-report-key"),
        "--no-spool",
    ]);
    let pubkey = std::fs::read_to_string(t.p("kaas-report-key.pub")).expect("pub");
    std::fs::write(
        t.p("kaas-allowed"),
        format!("certifier@example.org {pubkey}"),
    )
    .expect("w");
    // the data file is gone: the replay takes the datasets from the transcript
    std::fs::remove_file(t.p("k8s.scsd")).expect("rm");
    let r = cli(&[
        "report",
        "reproduce",
        t.key("kaas.yaml"),
        "--transcript",
        t.key("kaas-transcript"),
        "--checks",
        s(&checks),
        "--scope",
        s(&scope),
        "--allowed-signers",
        t.key("kaas-allowed"),
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with("reproduced: all 1 results"),
        "{}",
        r.stdout
    );
}

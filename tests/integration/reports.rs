//! Signed reports, upload to the compliance monitor, and the spool.
//!
//! Everything runs the real `scs-cert` binary. Signatures are checked in
//! both directions against the real `ssh-keygen`. Uploads go over real HTTP
//! on 127.0.0.1 to `tests/monitor`, which implements the monitor's
//! `POST /reports` contract (docs/official-behaviour.md c.1) and verifies with the real
//! `ssh-keygen -Y verify`. End-to-end runs certify the simulated cloud.

use crate::common::*;
use scs_test_monitor::{Account, Fault, TestMonitor};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SCOPE: &str = "scopes/scs-compatible-iaas.yaml";
const DATE: &str = "2026-11-29";
/// Two quick checks of the IaaS scope (flavor naming and services).
const TESTS: &str = "scs-0100|scs-0123-s(ervice|torage)";
const PASSWORD: &str = "s3cret-pw";
const IDENTITY: &str = "mail@csp.eu";

// ---------------------------------------------------------------------------
// helpers

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// An ed25519 key made by the real ssh-keygen; returns (key path, public line).
fn keygen(dir: &Path, name: &str, passphrase: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", passphrase, "-C", name, "-f"])
        .arg(&key)
        .output()
        .expect("run ssh-keygen");
    assert!(out.status.success(), "{out:?}");
    let public = std::fs::read_to_string(dir.join(format!("{name}.pub"))).expect("pub");
    (key, public.trim().to_string())
}

/// An allowed_signers file with one line.
fn allowed(dir: &Path, line: &str) -> PathBuf {
    let p = dir.join(format!("allowed-{}", line.len()));
    std::fs::write(&p, format!("{line}\n")).expect("write allowed_signers");
    p
}

/// `ssh-keygen -Y verify -f allowed -I principal -n report -s sig < file`.
fn ssh_verify(allowed: &Path, principal: &str, sig: &Path, file: &Path) -> (bool, String) {
    let out = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(allowed)
        .args(["-I", principal, "-n", "report", "-s"])
        .arg(sig)
        .stdin(std::fs::File::open(file).expect("open report"))
        .output()
        .expect("run ssh-keygen");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `ssh-keygen -Y sign -f key -n namespace file` (writes file.sig).
fn ssh_sign(key: &Path, namespace: &str, file: &Path) {
    let sig = PathBuf::from(format!("{}.sig", file.display()));
    let _ = std::fs::remove_file(&sig);
    let out = Command::new("ssh-keygen")
        .args(["-Y", "sign", "-f"])
        .arg(key)
        .args(["-n", namespace])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .expect("run ssh-keygen");
    assert!(out.status.success(), "{out:?}");
}

fn sig_of(file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.sig", file.display()))
}

/// The real binary with a clean environment plus `env`; stdin is closed (no
/// passphrase prompt).
fn cli(args: &[&str], env: &[(&str, &str)], clouds: Option<&Path>) -> CliRun {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scs-cert"));
    c.args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .env("SCS_CERT_CACHE_DIR", cache_dir())
        .env("HOME", env!("CARGO_TARGET_TMPDIR"))
        .env(
            "OS_CLIENT_CONFIG_FILE",
            clouds.unwrap_or(Path::new("/nonexistent/clouds.yaml")),
        );
    for v in [
        "OS_CLOUD",
        "SCS_CERT_CHECKS",
        "OS_CLIENT_SECURE_FILE",
        "SCS_MONITOR_TOKEN",
        "SCS_MONITOR_URL",
        "SCS_CERT_SPOOL_DIR",
        "SCS_CERT_KEY_PASSPHRASE",
        "XDG_STATE_HOME",
        "RUST_LOG",
    ] {
        c.env_remove(v);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run scs-cert");
    CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A report document as `scs-cert run` writes it, without running a cloud.
fn sample_report(subject: &str) -> scs_cert_host::report::Report {
    use scs_cert_host::report::*;
    Report {
        spec: SpecRef {
            uuid: "50393e6f-2ae1-4c5c-a62c-3b75f2abef3f".into(),
            name: "SCS-compatible IaaS".into(),
            url: None,
        },
        checked_at: chrono::Local::now().naive_local(),
        reference_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).expect("date"),
        subject: subject.into(),
        run_uuid: uuid::Uuid::new_v4().to_string(),
        argv: vec!["scs-cert".into(), "run".into()],
        assignment: BTreeMap::new(),
        sections: None,
        forced_version: None,
        forced_tests: None,
        invocations: vec![Invocation {
            id: uuid::Uuid::new_v4().to_string(),
            cmd: "scs-0100-flavor-naming@0.1.0".into(),
            results: vec![
                ("scs-0100-syntax-check".into(), 1),
                ("scs-0100-semantics-check".into(), -1),
                ("scs-0123-service-compute".into(), 0),
            ],
            rc: 0,
            stdout: vec!["scs-0100-syntax-check: PASS".into()],
            stderr: vec!["ERROR: x".into()],
        }],
        provenance: Provenance {
            host_version: "0.1.0".into(),
            wit: "scs:check@0.1.0".into(),
            checks_source: "/checks".into(),
            components: vec![],
            unimplemented: vec![],
            overrides: vec![],
            ..Default::default()
        },
    }
}

fn write_sample(dir: &Path, name: &str, subject: &str) -> (PathBuf, scs_cert_host::report::Report) {
    let r = sample_report(subject);
    let p = dir.join(name);
    std::fs::write(&p, r.to_yaml()).expect("write report");
    (p, r)
}

fn account(subject: &str, keys: &[&str]) -> Account {
    Account {
        subject: subject.into(),
        password: PASSWORD.into(),
        keys: keys.iter().map(|k| k.to_string()).collect(),
        ..Account::default()
    }
}

fn token_env(subject: &str) -> String {
    b64(&format!("{subject}:{PASSWORD}"))
}

fn pending(spool: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(spool)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".signed-yaml") || n.ends_with(".signed-json"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// result rows of the monitor as testcase → result, for one run uuid.
fn stored_results(m: &TestMonitor, run_uuid: &str) -> BTreeMap<String, i64> {
    m.results()
        .into_iter()
        .filter(|r| r.run_uuid == run_uuid)
        .map(|r| {
            assert_eq!(r.version, "*");
            assert_eq!(r.approval, r.result == 1);
            (r.testcase, r.result)
        })
        .collect()
}

fn sample_results(r: &scs_cert_host::report::Report) -> BTreeMap<String, i64> {
    r.results()
        .into_iter()
        .map(|(k, v)| (k, i64::from(v)))
        .collect()
}

/// Upload arguments with short retry bounds; `extra` may override them.
fn fast(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    for (flag, value) in [
        ("--upload-attempts", "3"),
        ("--upload-backoff-ms", "50"),
        ("--upload-timeout", "10"),
    ] {
        if !extra.contains(&flag) {
            v.extend([flag.to_string(), value.to_string()]);
        }
    }
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn args<'a>(base: &[&'a str], more: &'a [String]) -> Vec<&'a str> {
    let mut v = base.to_vec();
    v.extend(more.iter().map(String::as_str));
    v
}

// ---------------------------------------------------------------------------
// signatures: interop with the real ssh-keygen

#[test]
fn ssh_keygen_accepts_our_signature_byte_for_byte() {
    let dir = tempdir();
    let d = dir.path();
    let (key, public) = keygen(d, "k", "");
    let (report, _) = write_sample(d, "report.yaml", "test-cloud");
    let r = cli(
        &["report", "sign", s(&report), "--key", s(&key), "--no-spool"],
        &[],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ours = std::fs::read_to_string(sig_of(&report)).expect("sig");
    let signers = allowed(d, &format!("{IDENTITY} namespaces=\"report\" {public}"));
    let (ok, out) = ssh_verify(&signers, IDENTITY, &sig_of(&report), &report);
    assert!(ok, "ssh-keygen refused our signature: {out}");
    assert!(
        out.contains("Good \"report\" signature for mail@csp.eu"),
        "{out}"
    );
    // ed25519 is deterministic: ssh-keygen writes exactly the same file.
    ssh_sign(&key, "report", &report);
    let theirs = std::fs::read_to_string(sig_of(&report)).expect("sig");
    assert_eq!(ours, theirs);

    // A changed report is refused by ssh-keygen too.
    let mut text = std::fs::read_to_string(&report).expect("report");
    text = text.replace("scs-0100-syntax-check: 1", "scs-0100-syntax-check: 0");
    std::fs::write(&report, text).expect("write");
    std::fs::write(sig_of(&report), &ours).expect("write sig");
    let (ok, _) = ssh_verify(&signers, IDENTITY, &sig_of(&report), &report);
    assert!(!ok);
}

#[test]
fn we_accept_ssh_keygen_signatures_and_honour_allowed_signers() {
    let dir = tempdir();
    let d = dir.path();
    let (key, public) = keygen(d, "k", "");
    let (report, _) = write_sample(d, "report.yaml", "test-cloud");
    ssh_sign(&key, "report", &report);
    let verify = |signers: &Path, extra: &[&str]| {
        let mut a = vec![
            "report",
            "verify",
            s(&report),
            "--allowed-signers",
            s(signers),
        ];
        a.extend_from_slice(extra);
        cli(&a, &[], None)
    };
    let good = allowed(
        d,
        &format!("{IDENTITY},ops@x namespaces=\"report,file\" {public}"),
    );
    let r = verify(&good, &["-I", IDENTITY]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout
            .starts_with("Good \"report\" signature for mail@csp.eu with ED25519 key SHA256:"),
        "{}",
        r.stdout
    );
    assert_eq!(verify(&good, &[]).code, 0, "any principal");

    // Principal, namespace and validity restrictions refuse with 7.
    let r = verify(&good, &["-I", "other@x"]);
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(
        r.stderr.contains("not allowed to sign as \"other@x\""),
        "{}",
        r.stderr
    );
    let ns = allowed(d, &format!("{IDENTITY} namespaces=\"file\" {public}"));
    let r = verify(&ns, &[]);
    assert_eq!(r.code, 7);
    assert!(r.stderr.contains("namespace \"report\""), "{}", r.stderr);
    let expired = allowed(d, &format!("{IDENTITY} valid-before=\"20200101\" {public}"));
    let r = verify(&expired, &[]);
    assert_eq!(r.code, 7);
    assert!(r.stderr.contains("expired"), "{}", r.stderr);
    let future = allowed(d, &format!("{IDENTITY} valid-after=\"29990101\" {public}"));
    let r = verify(&future, &[]);
    assert_eq!(r.code, 7);
    assert!(r.stderr.contains("not valid before"), "{}", r.stderr);
    let (_, other_public) = keygen(d, "other", "");
    let unknown = allowed(d, &format!("{IDENTITY} {other_public}"));
    let r = verify(&unknown, &[]);
    assert_eq!(r.code, 7);
    assert!(r.stderr.contains("is not listed"), "{}", r.stderr);

    // Another namespace (`ssh-keygen -Y sign -n file`) is refused.
    ssh_sign(&key, "file", &report);
    let r = verify(&good, &[]);
    assert_eq!(r.code, 7);
    assert!(r.stderr.contains("namespace"), "{}", r.stderr);

    // A broken allowed_signers file is bad input naming file and line.
    let broken = d.join("broken");
    std::fs::write(&broken, format!("# c\n{IDENTITY} bogus=\"1\" {public}\n")).expect("w");
    let r = verify(&broken, &[]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("{}:2:", broken.display())),
        "{}",
        r.stderr
    );
}

#[test]
fn tampered_report_or_signature_is_refused() {
    let dir = tempdir();
    let d = dir.path();
    let (key, public) = keygen(d, "k", "");
    let signers = allowed(d, &format!("{IDENTITY} {public}"));
    let (report, _) = write_sample(d, "report.yaml", "test-cloud");
    let r = cli(
        &["report", "sign", s(&report), "--key", s(&key), "--no-spool"],
        &[],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let verify = || {
        cli(
            &[
                "report",
                "verify",
                s(&report),
                "--allowed-signers",
                s(&signers),
            ],
            &[],
            None,
        )
    };
    assert_eq!(verify().code, 0);
    let original = std::fs::read(&report).expect("report");
    let sig = std::fs::read_to_string(sig_of(&report)).expect("sig");

    // One changed result.
    let tampered = String::from_utf8(original.clone()).expect("utf-8").replace(
        "scs-0100-semantics-check: -1",
        "scs-0100-semantics-check: 1",
    );
    std::fs::write(&report, tampered).expect("w");
    let r = verify();
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert!(r.stderr.contains("does not match"), "{}", r.stderr);
    // One byte appended.
    let mut longer = original.clone();
    longer.push(b'\n');
    std::fs::write(&report, &longer).expect("w");
    assert_eq!(verify().code, 7);
    std::fs::write(&report, &original).expect("w");
    assert_eq!(verify().code, 0);

    // A changed character in the signature's base64.
    let lines: Vec<&str> = sig.lines().collect();
    let mid = lines.len() / 2;
    let mut bad_line: Vec<char> = lines[mid].chars().collect();
    bad_line[10] = if bad_line[10] == 'A' { 'B' } else { 'A' };
    let mut bad: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    bad[mid] = bad_line.into_iter().collect();
    std::fs::write(sig_of(&report), bad.join("\n") + "\n").expect("w");
    let r = verify();
    assert_eq!(r.code, 7, "{}", r.stderr);
    // Garbage instead of a signature.
    std::fs::write(sig_of(&report), "hello\n").expect("w");
    let r = verify();
    assert_ne!(r.code, 0);
    // No signature file at all: bad input with the fix.
    std::fs::remove_file(sig_of(&report)).expect("rm");
    let r = verify();
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("report sign"), "{}", r.stderr);
}

#[test]
fn passphrase_protected_keys_sign_with_the_passphrase_from_the_environment() {
    let dir = tempdir();
    let d = dir.path();
    let (key, public) = keygen(d, "k", "correct horse");
    let signers = allowed(d, &format!("{IDENTITY} {public}"));
    let (report, _) = write_sample(d, "report.yaml", "test-cloud");
    let sign = |env: &[(&str, &str)]| {
        cli(
            &["report", "sign", s(&report), "--key", s(&key), "--no-spool"],
            env,
            None,
        )
    };
    let r = sign(&[]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("SCS_CERT_KEY_PASSPHRASE"), "{}", r.stderr);
    let r = sign(&[("SCS_CERT_KEY_PASSPHRASE", "wrong")]);
    assert_eq!(r.code, 4);
    assert!(r.stderr.contains("wrong passphrase"), "{}", r.stderr);
    let r = sign(&[("SCS_CERT_KEY_PASSPHRASE", "correct horse")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("correct horse"));
    let (ok, out) = ssh_verify(&signers, IDENTITY, &sig_of(&report), &report);
    assert!(ok, "{out}");
}

// ---------------------------------------------------------------------------
// the test monitor itself (contract c.1)

#[test]
fn test_monitor_implements_the_post_reports_contract() {
    let dir = tempdir();
    let d = dir.path();
    let (key, public) = keygen(d, "k", "");
    let (_, zuul_public) = keygen(d, "z", "");
    let m = TestMonitor::start(vec![
        account("test-cloud", &[&public]),
        Account {
            delegates: vec!["zuul".into()],
            ..account("delegating", &[])
        },
        Account {
            append_any: true,
            ..account("zuul", &[&zuul_public])
        },
        account("nokeys", &[]),
    ])
    .expect("monitor");
    let rt = tokio::runtime::Runtime::new().expect("rt");
    scs_cert_host::install_crypto_provider();
    let client = reqwest::Client::new();
    let post = |body: Vec<u8>, ct: &str, user: &str| {
        let req = client
            .post(format!("{}/reports", m.url()))
            .header("Content-Type", ct)
            .header(
                "Authorization",
                format!("Basic {}", b64(&format!("{user}:{PASSWORD}"))),
            )
            .body(body);
        rt.block_on(async {
            let r = req.send().await.expect("send");
            let status = r.status().as_u16();
            let www = r.headers().get("www-authenticate").is_some();
            let text = r.text().await.expect("body");
            (status, text, www)
        })
    };
    let signed_body = |yaml: &str, key: &Path| {
        let f = d.join("r.yaml");
        std::fs::write(&f, yaml).expect("w");
        ssh_sign(key, "report", &f);
        let mut b = std::fs::read(sig_of(&f)).expect("sig");
        b.push(b'&');
        b.extend_from_slice(yaml.as_bytes());
        b
    };
    let yaml = sample_report("test-cloud").to_yaml();
    let body = signed_body(&yaml, &key);
    // 1. auth
    let (st, text, www) = post(body.clone(), "application/x-signed-yaml", "nobody");
    assert_eq!((st, www), (401, true), "{text}");
    assert!(text.contains("Incorrect username or password"));
    // 2. content type, exactly
    let (st, _, _) = post(body.clone(), "application/yaml", "test-cloud");
    assert_eq!(st, 415);
    let (st, _, _) = post(
        body.clone(),
        "application/x-signed-yaml; charset=utf-8",
        "test-cloud",
    );
    assert_eq!(st, 415);
    // 4. no separator
    let (st, text, _) = post(
        yaml.clone().into_bytes(),
        "application/x-signed-yaml",
        "test-cloud",
    );
    assert_eq!(st, 401);
    assert!(text.contains("missing signature"), "{text}");
    // 5. a key of another account; an account without keys
    let (st, text, _) = post(body.clone(), "application/x-signed-yaml", "zuul");
    assert_eq!(st, 401);
    assert!(text.contains("verification failed"), "{text}");
    let (st, _, _) = post(body.clone(), "application/x-signed-yaml", "nokeys");
    assert_eq!(st, 401);
    // 7. subject authorisation and delegation
    let other = signed_body(&sample_report("someone-else").to_yaml(), &key);
    let (st, _, _) = post(other, "application/x-signed-yaml", "test-cloud");
    assert_eq!(st, 401);
    let z = d.join("z");
    let not_delegate = signed_body(&sample_report("test-cloud").to_yaml(), &z);
    let (st, text, _) = post(not_delegate, "application/x-signed-yaml", "zuul");
    assert_eq!(st, 401);
    assert!(text.contains("delegation problem?"), "{text}");
    let delegated = signed_body(&sample_report("delegating").to_yaml(), &z);
    let (st, _, _) = post(delegated, "application/x-signed-yaml", "zuul");
    assert_eq!(st, 200);
    // 6. empty
    let empty = signed_body("---\n", &key);
    let (st, text, _) = post(empty, "application/x-signed-yaml", "test-cloud");
    assert_eq!(st, 200);
    assert!(text.contains("empty reports"), "{text}");
    // 8./9. stored, then 409 for the same run uuid
    let (st, text, _) = post(body.clone(), "application/x-signed-yaml", "test-cloud");
    assert_eq!((st, text.as_str()), (200, "null"));
    let (st, text, _) = post(body, "application/x-signed-yaml", "test-cloud");
    assert_eq!(st, 409);
    assert!(text.contains("report already present"), "{text}");
    // A multi-document body whose second document repeats the first's run
    // uuid stores nothing at all (one transaction).
    let fresh = sample_report("test-cloud").to_yaml();
    let twice = signed_body(&format!("{fresh}{fresh}"), &key);
    let before = m.reports().len();
    let (st, _, _) = post(twice, "application/x-signed-yaml", "test-cloud");
    assert_eq!(st, 409);
    assert_eq!(m.reports().len(), before);
    // JSON: one document
    let r = sample_report("test-cloud");
    let json = r.to_json().expect("json");
    let f = d.join("r.json");
    std::fs::write(&f, &json).expect("w");
    ssh_sign(&key, "report", &f);
    let mut jb = std::fs::read(sig_of(&f)).expect("sig");
    jb.push(b'&');
    jb.extend_from_slice(json.as_bytes());
    let (st, _, _) = post(jb, "application/x-signed-json", "test-cloud");
    assert_eq!(st, 200);
    assert_eq!(stored_results(&m, &r.run_uuid), sample_results(&r));
    assert_eq!(m.reports().len(), 3);
}

// ---------------------------------------------------------------------------
// upload, end to end

/// A monitor whose account `test-cloud` has `public` registered.
fn monitor_for(public: &str) -> TestMonitor {
    TestMonitor::start(vec![account("test-cloud", &[public])]).expect("monitor")
}

#[test]
fn run_signs_uploads_and_the_monitor_stores_the_runs_results() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let d = dir.path();
    let clouds = write_clouds(d, &cloud, "simcloud", &Credential::FirstUser);
    let (key, public) = keygen(d, "k", "");
    let m = monitor_for(&public);
    let spool = d.join("spool");
    let out = d.join("report.yaml");
    let checks = real_checks();
    let token = token_env("test-cloud");
    let r = cli(
        &[
            "run",
            SCOPE,
            "--os-cloud",
            "simcloud",
            "-s",
            "test-cloud",
            "--date",
            DATE,
            "--tests",
            TESTS,
            "--checks",
            s(&checks),
            "-o",
            s(&out),
            "--sign-key",
            s(&key),
            "--upload",
            &m.url(),
            "--spool-dir",
            s(&spool),
        ],
        &[("SCS_MONITOR_TOKEN", &token)],
        Some(&clouds),
    );
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("accepted by the monitor"), "{}", r.stderr);
    assert!(
        !r.stderr.contains(&token),
        "the token must never be printed"
    );
    let report = read_report(&out);
    let run_uuid = report["run"]["uuid"].as_str().expect("uuid").to_string();
    let stored = m.reports();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].run_uuid, run_uuid);
    assert_eq!(stored[0].subject, "test-cloud");
    assert_eq!(
        stored[0].data, report,
        "the monitor got exactly the report file"
    );
    let results = results_of(&report);
    assert!(results.len() >= 10, "{results:?}");
    assert!(results.values().all(|v| *v == 1), "{results:?}");
    assert_eq!(stored_results(&m, &run_uuid), results);
    let reqs = m.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(
        reqs[0].content_type.as_deref(),
        Some("application/x-signed-yaml")
    );
    assert!(
        pending(&spool).is_empty(),
        "confirmed reports leave the spool"
    );
    // The signature next to the report is the one ssh-keygen accepts.
    let signers = allowed(d, &format!("{IDENTITY} {public}"));
    let (ok, out_text) = ssh_verify(&signers, IDENTITY, &sig_of(&out), &out);
    assert!(ok, "{out_text}");
}

/// `run --due --upload URL` counts the monitor's results (GET /status) beside the local
/// history: a second machine with an empty history runs nothing the first delivered. A monitor
/// that answers with an error, garbage or too much is warned about, and the history alone
/// decides (here: everything is due).
#[test]
fn due_counts_what_the_monitor_holds_and_falls_back_to_the_history() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let d = dir.path();
    let clouds = write_clouds(d, &cloud, "simcloud", &Credential::FirstUser);
    let (key, public) = keygen(d, "k", "");
    let m = monitor_for(&public);
    let token = token_env("test-cloud");
    let checks = real_checks();
    let run = |machine: &str| {
        let state = d.join(machine);
        cli(
            &[
                "run",
                SCOPE,
                "--os-cloud",
                "simcloud",
                "-s",
                "test-cloud",
                "--tests",
                TESTS,
                "--checks",
                s(&checks),
                "--state-dir",
                s(&state),
                "--due",
                "--due-margin",
                "36",
                "--sign-key",
                s(&key),
                "--upload",
                &m.url(),
                "--spool-dir",
                s(&state.join("spool")),
            ],
            &[("SCS_MONITOR_TOKEN", &token)],
            Some(&clouds),
        )
    };
    // machine a: nothing anywhere yet, everything runs and is delivered
    let a = run("a");
    assert_eq!(a.code, 0, "{}", a.stderr);
    assert_eq!(m.reports().len(), 1, "{}", a.stderr);
    assert_eq!(
        m.status_requests(),
        [Some("test-cloud".to_string())],
        "--due asked the monitor, as the upload account"
    );
    let delivered = m.results().len();
    assert!(delivered >= 3, "{:?}", m.results());

    // machine b, empty history: the monitor's PASSes are valid beyond the margin
    let b = run("b");
    assert_eq!(b.code, 0, "{}", b.stderr);
    assert!(b.stderr.contains("nothing is due"), "{}", b.stderr);
    assert_eq!(m.reports().len(), 1, "nothing new was uploaded");
    assert_eq!(m.status_requests().len(), 2);

    // a monitor that cannot say: a warning naming the cause, then the empty history decides
    let big = format!("{{\"x\": \"{}\"}}", "a".repeat(5 << 20));
    for (n, (status, body, said)) in [
        (
            503,
            r#"{"detail": "down for maintenance"}"#,
            "HTTP 503: down for maintenance",
        ),
        (
            401,
            r#"{"detail": "Permission denied"}"#,
            "HTTP 401: Permission denied",
        ),
        (200, "<html>hello</html>", "not its status JSON"),
        (200, big.as_str(), "longer than"),
    ]
    .into_iter()
    .enumerate()
    {
        m.set_status_answer(status, body);
        let c = run(&format!("c{n}"));
        assert_eq!(c.code, 0, "{}", c.stderr);
        assert!(
            c.stderr.contains(said) && c.stderr.contains("local history alone"),
            "{said}: {}",
            c.stderr
        );
        assert_eq!(
            m.reports().len(),
            2 + n,
            "the run ran and delivered: {}",
            c.stderr
        );
    }
}

#[test]
fn json_report_run_then_sign_then_upload_and_409_counts_as_done() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let d = dir.path();
    let clouds = write_clouds(d, &cloud, "simcloud", &Credential::FirstUser);
    let (key, public) = keygen(d, "k", "");
    let m = monitor_for(&public);
    let spool = d.join("spool");
    let out = d.join("report.json");
    let checks = real_checks();
    let r = cli(
        &[
            "run",
            SCOPE,
            "--os-cloud",
            "simcloud",
            "-s",
            "test-cloud",
            "--date",
            DATE,
            "--tests",
            "scs-0123-service",
            "--checks",
            s(&checks),
            "-o",
            s(&out),
            "--format",
            "json",
        ],
        &[],
        Some(&clouds),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&out).expect("report");
    let report: serde_json::Value = serde_json::from_str(&text).expect("one JSON document");
    assert_eq!(report["subject"], "test-cloud");
    assert!(
        text.starts_with("{\n  \"spec\": {\n    \"uuid\": "),
        "{text}"
    );

    let r = cli(
        &[
            "report",
            "sign",
            s(&out),
            "--key",
            s(&key),
            "--spool-dir",
            s(&spool),
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(pending(&spool).len(), 1, "signing spools the signed report");
    assert!(pending(&spool)[0].ends_with(".signed-json"));

    let token_file = d.join("token");
    std::fs::write(&token_file, token_env("test-cloud") + "\n").expect("w");
    let upload = || {
        cli(
            &[
                "report",
                "upload",
                s(&out),
                "--monitor",
                &format!("{}/", m.url()),
                "--token-file",
                s(&token_file),
                "--spool-dir",
                s(&spool),
            ],
            &[],
            None,
        )
    };
    let r = upload();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(pending(&spool).is_empty());
    assert_eq!(
        m.requests()[0].content_type.as_deref(),
        Some("application/x-signed-json")
    );
    let run_uuid = report["run"]["uuid"].as_str().expect("uuid");
    assert_eq!(stored_results(&m, run_uuid), results_of(&report));
    // Again: the monitor says 409, which means done.
    let r = upload();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("already stored"), "{}", r.stderr);
    assert_eq!(m.reports().len(), 1);
    assert_eq!(m.requests().last().map(|q| q.status), Some(409));
    assert!(pending(&spool).is_empty());
}

#[test]
fn combined_run_over_two_subjects_is_one_document_set_signed_and_uploaded_once() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let d = dir.path();
    // Two cloud names in one clouds.yaml, both on the simulated cloud.
    let mut clouds_json = serde_json::json!({"clouds": {}});
    for name in ["cloud-a", "cloud-b"] {
        let text = cloud
            .clouds_yaml(name, &Credential::FirstUser)
            .expect("clouds.yaml");
        let v: serde_json::Value = yaml_serde::from_str(&text).expect("yaml");
        clouds_json["clouds"][name] = v["clouds"][name].clone();
    }
    let clouds = d.join("clouds.yaml");
    std::fs::write(&clouds, clouds_json.to_string()).expect("w");
    // The official runner's configuration, with its secrets beside it.
    let (_, public) = keygen(d, "keyfile", "");
    std::fs::write(d.join("tokenfile"), token_env("zuul") + "\n").expect("w");
    std::fs::copy(root().join(SCOPE), d.join("scs-compatible-iaas.yaml")).expect("copy");
    let config = d.join("config.toml");
    std::fs::write(
        &config,
        r#"
[secrets]
keyfile = "keyfile"
tokenfile = "tokenfile"

[presets.default]
scopes = ["scs-compatible-iaas"]
subjects = ["subject-a", "subject-b"]
workers = 2

[scopes.scs-compatible-iaas]
spec = "./scs-compatible-iaas.yaml"

[subjects._.mapping]
os_cloud = "{subject}"

[subjects.subject-a.mapping]
os_cloud = "cloud-a"

[subjects.subject-b.mapping]
os_cloud = "cloud-b"
"#,
    )
    .expect("w");
    // zuul uploads for both subjects (append_any + delegate), as in the official CI.
    let m = TestMonitor::start(vec![
        Account {
            append_any: true,
            ..account("zuul", &[&public])
        },
        Account {
            delegates: vec!["zuul".into()],
            ..account("subject-a", &[])
        },
        Account {
            delegates: vec!["zuul".into()],
            ..account("subject-b", &[])
        },
    ])
    .expect("monitor");
    let spool = d.join("spool");
    let out = d.join("combined.yaml");
    let checks = real_checks();
    let r = cli(
        &[
            "run",
            "--config",
            s(&config),
            "--date",
            DATE,
            "--tests",
            "scs-0123-service",
            "--checks",
            s(&checks),
            "-o",
            s(&out),
            "--upload",
            &m.url(),
            "--spool-dir",
            s(&spool),
        ],
        &[],
        Some(&clouds),
    );
    assert_eq!(r.code, 0, "stdout:\n{}\nstderr:\n{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("subject-a SCS-compatible IaaS"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("subject-b SCS-compatible IaaS"),
        "{}",
        r.stdout
    );
    let text = std::fs::read_to_string(&out).expect("report");
    let docs: Vec<serde_json::Value> = yaml_serde::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("doc"))
        .collect();
    assert_eq!(docs.len(), 2);
    assert_eq!(text.matches("---\n").count(), 2);
    assert_eq!(docs[0]["subject"], "subject-a");
    assert_eq!(docs[1]["subject"], "subject-b");
    assert_eq!(docs[0]["run"]["assignment"]["os_cloud"], "cloud-a");
    assert_eq!(docs[1]["run"]["assignment"]["os_cloud"], "cloud-b");
    assert_ne!(docs[0]["run"]["uuid"], docs[1]["run"]["uuid"]);
    // One signature, one upload, both documents stored with their results.
    assert_eq!(m.requests().len(), 1, "{:?}", m.requests());
    let stored = m.reports();
    assert_eq!(stored.len(), 2);
    for doc in &docs {
        let uuid = doc["run"]["uuid"].as_str().expect("uuid");
        let results = results_of(doc);
        assert!(
            !results.is_empty() && results.values().all(|v| *v == 1),
            "{results:?}"
        );
        assert_eq!(stored_results(&m, uuid), results);
    }
    assert!(pending(&spool).is_empty());

    // --format json cannot hold two reports: bad input before anything runs.
    let r = cli(
        &[
            "run",
            SCOPE,
            "-s",
            "subject-a,subject-b",
            "--checks",
            s(&checks),
            "--format",
            "json",
        ],
        &[],
        Some(&clouds),
    );
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("--format json holds exactly one report"),
        "{}",
        r.stderr
    );
}

// ---------------------------------------------------------------------------
// faults: the report stays in the spool, a later flush delivers it once

struct Signed {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    report: PathBuf,
    sample: scs_cert_host::report::Report,
    public: String,
    spool: PathBuf,
    token: String,
}

/// A signed sample report (not yet spooled).
fn signed_sample() -> Signed {
    let dir = tempdir();
    let d = dir.path().to_path_buf();
    let (key, public) = keygen(&d, "k", "");
    let (report, sample) = write_sample(&d, "report.yaml", "test-cloud");
    let r = cli(
        &["report", "sign", s(&report), "--key", s(&key), "--no-spool"],
        &[],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    Signed {
        spool: d.join("spool"),
        _dir: dir,
        dir: d,
        report,
        sample,
        public,
        token: token_env("test-cloud"),
    }
}

fn upload(sg: &Signed, url: &str, extra: &[&str]) -> CliRun {
    let more = fast(extra);
    cli(
        &args(
            &[
                "report",
                "upload",
                s(&sg.report),
                "--monitor",
                url,
                "--spool-dir",
                s(&sg.spool),
            ],
            &more,
        ),
        &[("SCS_MONITOR_TOKEN", &sg.token)],
        None,
    )
}

fn flush(sg: &Signed, url: &str) -> CliRun {
    let more = fast(&[]);
    cli(
        &args(
            &[
                "report",
                "flush",
                "--monitor",
                url,
                "--spool-dir",
                s(&sg.spool),
            ],
            &more,
        ),
        &[("SCS_MONITOR_TOKEN", &sg.token)],
        None,
    )
}

/// Exactly one stored copy with the sample's results.
fn assert_stored_once(m: &TestMonitor, sg: &Signed) {
    let stored: Vec<_> = m
        .reports()
        .into_iter()
        .filter(|r| r.run_uuid == sg.sample.run_uuid)
        .collect();
    assert_eq!(stored.len(), 1, "{:?}", m.requests());
    assert_eq!(
        stored_results(m, &sg.sample.run_uuid),
        sample_results(&sg.sample)
    );
}

/// A port on 127.0.0.1 where nothing listens.
fn dead_port() -> std::net::SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

#[test]
fn monitor_down_then_flush_delivers_exactly_once() {
    let sg = signed_sample();
    let addr = dead_port();
    let url = format!("http://{addr}");
    let r = upload(&sg, &url, &[]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert!(
        r.stderr.contains("not delivered after 3 tries"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("report flush"), "{}", r.stderr);
    assert_eq!(pending(&sg.spool).len(), 1);
    // The monitor comes up on that port; flush delivers it, once.
    let m = TestMonitor::start_on(addr, vec![account("test-cloud", &[&sg.public])])
        .expect("monitor on the same port");
    let r = flush(&sg, &url);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("1 delivered, 0 still pending"),
        "{}",
        r.stderr
    );
    assert!(pending(&sg.spool).is_empty());
    let r = flush(&sg, &url);
    assert_eq!(r.code, 0);
    assert!(
        r.stderr.contains("0 delivered, 0 still pending"),
        "{}",
        r.stderr
    );
    assert_stored_once(&m, &sg);
    assert_eq!(m.requests().len(), 1);
}

#[test]
fn server_errors_are_retried_and_bounded() {
    let sg = signed_sample();
    let m = monitor_for(&sg.public);
    // One 500, then fine: the retry delivers within the same command.
    m.push_faults(&[Fault::Status(500)]);
    let r = upload(&sg, &m.url(), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("try 1/3 failed (HTTP 500"),
        "{}",
        r.stderr
    );
    assert_stored_once(&m, &sg);
    assert!(pending(&sg.spool).is_empty());

    // 500 on every try: exit 8 after exactly 3 tries, kept in the spool.
    let sg = signed_sample();
    let m = monitor_for(&sg.public);
    m.push_faults(&[Fault::Status(500), Fault::Status(502), Fault::Status(503)]);
    let t = Instant::now();
    let r = upload(&sg, &m.url(), &[]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert!(t.elapsed() < Duration::from_secs(20));
    assert_eq!(m.requests().len(), 3);
    assert_eq!(pending(&sg.spool).len(), 1);
    let r = flush(&sg, &m.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_stored_once(&m, &sg);
    assert!(pending(&sg.spool).is_empty());
}

#[test]
fn slow_monitor_times_out_and_flush_does_not_duplicate() {
    let sg = signed_sample();
    let m = monitor_for(&sg.public);
    // The monitor takes 3 s (and then stores the report); the client waits 1 s.
    m.push_faults(&[Fault::Delay(Duration::from_secs(3))]);
    let r = upload(
        &sg,
        &m.url(),
        &["--upload-timeout", "1", "--upload-attempts", "1"],
    );
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert!(r.stderr.contains("no answer within 1 s"), "{}", r.stderr);
    assert_eq!(pending(&sg.spool).len(), 1);
    // Wait until the slow request has been stored, then flush: 409 = done.
    let deadline = Instant::now() + Duration::from_secs(10);
    while m.reports().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let r = flush(&sg, &m.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("already stored"), "{}", r.stderr);
    assert!(pending(&sg.spool).is_empty());
    assert_stored_once(&m, &sg);
}

#[test]
fn refusals_keep_the_report_and_name_the_fix() {
    let sg = signed_sample();
    // 401: wrong password.
    let m = monitor_for(&sg.public);
    let bad_token = b64("test-cloud:wrong");
    let more = fast(&[]);
    let r = cli(
        &args(
            &[
                "report",
                "upload",
                s(&sg.report),
                "--monitor",
                &m.url(),
                "--spool-dir",
                s(&sg.spool),
            ],
            &more,
        ),
        &[("SCS_MONITOR_TOKEN", &bad_token)],
        None,
    );
    assert_eq!(r.code, 9, "{}", r.stderr);
    assert!(
        r.stderr.contains("401: Incorrect username or password"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("SCS_MONITOR_TOKEN"), "{}", r.stderr);
    assert!(!r.stderr.contains(&bad_token));
    assert_eq!(m.requests().len(), 1, "401 is not retried");
    assert_eq!(pending(&sg.spool).len(), 1);
    // 401: the signing key is not registered for the account.
    let (_, other) = keygen(&sg.dir, "other", "");
    let m2 = monitor_for(&other);
    let r = upload(&sg, &m2.url(), &[]);
    assert_eq!(r.code, 9, "{}", r.stderr);
    assert!(r.stderr.contains("verification failed"), "{}", r.stderr);
    // 415 from the monitor.
    m.push_faults(&[Fault::Status(415)]);
    let r = flush(&sg, &m.url());
    assert_eq!(r.code, 9, "{}", r.stderr);
    assert!(r.stderr.contains("415"), "{}", r.stderr);
    assert_eq!(pending(&sg.spool).len(), 1);
    assert!(m.reports().is_empty());
    // Fixed: the flush delivers it.
    let r = flush(&sg, &m.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_stored_once(&m, &sg);
}

#[test]
fn killed_between_spool_write_and_upload_nothing_is_lost() {
    let sg = signed_sample();
    // A listener that never answers: the upload hangs after the spool write.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let hole_url = format!("http://{}", hole.local_addr().expect("addr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_scs-cert"))
        .args([
            "report",
            "upload",
            s(&sg.report),
            "--monitor",
            &hole_url,
            "--spool-dir",
            s(&sg.spool),
            "--upload-timeout",
            "60",
        ])
        .env("SCS_MONITOR_TOKEN", &sg.token)
        .env_remove("SCS_CERT_SPOOL_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while pending(&sg.spool).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(200));
    child.kill().expect("kill");
    let _ = child.wait();
    assert_eq!(
        pending(&sg.spool).len(),
        1,
        "the signed report is in the spool"
    );
    drop(hole);

    // Killed while the monitor stores it but before the answer arrives.
    let m = monitor_for(&sg.public);
    m.push_faults(&[Fault::DelayAfterStore(Duration::from_secs(3))]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_scs-cert"))
        .args([
            "report",
            "flush",
            "--monitor",
            &m.url(),
            "--spool-dir",
            s(&sg.spool),
        ])
        .env("SCS_MONITOR_TOKEN", &sg.token)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    while m.reports().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill");
    let _ = child.wait();
    assert_eq!(
        pending(&sg.spool).len(),
        1,
        "not confirmed: still in the spool"
    );
    // A later flush: the monitor already has it (409), so it is done; one copy.
    let r = flush(&sg, &m.url());
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(pending(&sg.spool).is_empty());
    assert_stored_once(&m, &sg);
}

// ---------------------------------------------------------------------------
// air-gapped sites: export a carry file, upload it from the connected side

#[test]
fn export_carry_file_and_upload_it_elsewhere() {
    let dir = tempdir();
    let d = dir.path();
    let (key, public) = keygen(d, "k", "");
    let inside = d.join("inside-spool");
    let mut samples = Vec::new();
    for i in 0..2 {
        let (report, sample) = write_sample(d, &format!("r{i}.yaml"), "test-cloud");
        let r = cli(
            &[
                "report",
                "sign",
                s(&report),
                "--key",
                s(&key),
                "--spool-dir",
                s(&inside),
            ],
            &[],
            None,
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        samples.push(sample);
    }
    let r = cli(&["report", "list", "--spool-dir", s(&inside)], &[], None);
    assert_eq!(r.code, 0);
    assert_eq!(r.stdout.lines().count(), 2, "{}", r.stdout);
    assert!(r.stdout.contains(&samples[0].run_uuid), "{}", r.stdout);

    let carry = d.join("carry.tar");
    let r = cli(
        &[
            "report",
            "export",
            "-o",
            s(&carry),
            "--spool-dir",
            s(&inside),
            "--archive",
        ],
        &[],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(pending(&inside).is_empty(), "archived, no longer pending");
    assert_eq!(
        std::fs::read_dir(inside.join("exported"))
            .expect("exported")
            .count(),
        2,
        "kept"
    );

    let m = monitor_for(&public);
    let outside = d.join("outside-spool");
    let token = token_env("test-cloud");
    let up = || {
        cli(
            &[
                "report",
                "upload",
                s(&carry),
                "--monitor",
                &m.url(),
                "--spool-dir",
                s(&outside),
            ],
            &[("SCS_MONITOR_TOKEN", &token)],
            None,
        )
    };
    let r = up();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(pending(&outside).is_empty());
    assert_eq!(m.reports().len(), 2);
    for sample in &samples {
        assert_eq!(stored_results(&m, &sample.run_uuid), sample_results(sample));
    }
    // Carried twice by mistake: still one copy each.
    assert_eq!(up().code, 0);
    assert_eq!(m.reports().len(), 2);
}

// ---------------------------------------------------------------------------
// bad input: one line, the file or flag, the fix; exit 4

#[test]
fn bad_input_is_one_line_with_the_fix() {
    let sg = signed_sample();
    let m = monitor_for(&sg.public);
    let base = [
        "report",
        "upload",
        s(&sg.report),
        "--monitor",
        "http://127.0.0.1:9",
        "--spool-dir",
        s(&sg.spool),
    ];
    let check = |r: CliRun, want: &str| {
        assert_eq!(r.code, 4, "{}", r.stderr);
        assert!(r.stderr.contains(want), "want {want:?}: {}", r.stderr);
        let errors: Vec<&str> = r.stderr.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(errors.len(), 1, "one error line: {}", r.stderr);
        assert!(errors[0].contains(want), "{}", r.stderr);
    };
    check(cli(&base, &[], None), "set SCS_MONITOR_TOKEN");
    let tok = sg.dir.join("tok");
    std::fs::write(&tok, "not-base64!\n").expect("w");
    std::fs::set_permissions(&tok, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let mut a = base.to_vec();
    a.extend(["--token-file", s(&tok)]);
    check(
        cli(&a, &[], None),
        &format!("{}: not a monitor token", tok.display()),
    );
    check(
        cli(
            &[
                "report",
                "upload",
                s(&sg.report),
                "--monitor",
                "ftp://x",
                "--spool-dir",
                s(&sg.spool),
            ],
            &[("SCS_MONITOR_TOKEN", &sg.token)],
            None,
        ),
        "--monitor \"ftp://x\"",
    );
    // Not a report.
    let junk = sg.dir.join("junk.yaml");
    std::fs::write(&junk, "hello: world\n").expect("w");
    check(
        cli(
            &[
                "report",
                "sign",
                s(&junk),
                "--key",
                s(&sg.dir.join("k")),
                "--no-spool",
            ],
            &[],
            None,
        ),
        "document 1: field subject",
    );
    // --upload without a key.
    check(
        cli(
            &[
                "run",
                SCOPE,
                "-s",
                "x",
                "--checks",
                "/nonexistent",
                "--upload",
                &m.url(),
            ],
            &[],
            None,
        ),
        "--upload needs --sign-key",
    );
    // A missing key file.
    check(
        cli(
            &[
                "run",
                SCOPE,
                "-s",
                "x",
                "--checks",
                "/nonexistent",
                "--sign-key",
                "/nonexistent/key",
            ],
            &[],
            None,
        ),
        "/nonexistent/key",
    );
    // A runner configuration with a typo names file and line.
    let cfg = sg.dir.join("c.toml");
    std::fs::write(&cfg, "[presets.default]\nsubject = [\"a\"]\n").expect("w");
    check(
        cli(
            &["run", "--config", s(&cfg), "--checks", "/nonexistent"],
            &[],
            None,
        ),
        &format!("{}:2:", cfg.display()),
    );
    assert!(m.requests().is_empty());
    assert!(
        pending(&sg.spool).is_empty(),
        "nothing spooled on bad input"
    );
}

// ---------------------------------------------------------------------------
// encoding: strings from the cloud that YAML loaders refuse unless escaped

/// Strings a cloud can put into a report (flavor and image names, error messages that quote
/// them): C0 and C1 controls, DEL, NEL and the Unicode line separators (line breaks to
/// YAML 1.1), the noncharacters U+FFFE/U+FFFF, a byte-order mark, NUL, what a lossy decoder
/// makes of a lone surrogate (`\ud800` in a cloud's JSON), serde_json's error for a lone
/// surrogate, quoting characters, and a plain-looking float. Each with what a loader must read
/// back: the same string, except NUL, which the report carries as U+FFFD (the monitor's
/// PostgreSQL cannot store it).
fn cloud_strings() -> Vec<(String, String)> {
    // A lone surrogate never reaches the host: serde_json refuses it in a string...
    let lone = serde_json::from_str::<String>(r#""flavor-\ud800""#)
        .expect_err("serde_json refuses a lone surrogate in a string");
    // ...and a lossy UTF-16 decoder (or from_utf8_lossy of WTF-8) makes it U+FFFD.
    let lossy = String::from_utf16_lossy(&[0x66, 0xD800, 0x67, 0xDC00]);
    assert_eq!(lossy, "f\u{FFFD}g\u{FFFD}");
    let lossy8 = String::from_utf8_lossy(b"x\xed\xa0\x80y").into_owned();
    assert_eq!(lossy8, "x\u{FFFD}\u{FFFD}\u{FFFD}y");
    let same = |s: &str| (s.to_string(), s.to_string());
    vec![
        same("SCS-2V-4\u{80}\u{9b}[31m\u{9f}"),
        same("flavor\u{85}next line"),
        same("a\u{2028}b\u{2029}c"),
        same("non\u{FFFE}char\u{FFFF}"),
        same("del\u{7f} esc\u{1b}[0m bell\u{7} vt\u{b}"),
        ("nul\u{0}byte".to_string(), "nul\u{FFFD}byte".to_string()),
        same("\u{FEFF}bom"),
        same("tab\there\r\nCRLF\n"),
        same("edges \u{a0}\u{d7ff}\u{e000}\u{fffd} \u{1F600} \u{10FFFF}"),
        same(&lossy),
        same(&lossy8),
        same(&format!("ERROR: cannot parse the flavor list: {lone}")),
        same("quote\" backslash\\ colon: hash #x - y"),
        same(".5"),
    ]
}

/// Every character of a report that PyYAML (and libyaml, ruamel.yaml) accepts unescaped and
/// does not read as a line break; a newline only ends a line.
fn yaml_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}')
}

/// A report carrying `cloud_strings()` in its subject, spec name, assignment, cmd, a testcase
/// id (a key), stdout, stderr and overrides.
fn hostile_report(subject: Option<&str>) -> (scs_cert_host::report::Report, serde_json::Value) {
    let strings = cloud_strings();
    let sent: Vec<String> = strings.iter().map(|(s, _)| s.clone()).collect();
    let want: Vec<String> = strings.iter().map(|(_, w)| w.clone()).collect();
    let joined = |v: &[String]| v.concat();
    let mut r = sample_report(subject.unwrap_or(&joined(&sent)));
    r.checked_at = chrono::NaiveDate::from_ymd_opt(2026, 11, 29)
        .and_then(|d| d.and_hms_micro_opt(19, 58, 50, 525_935))
        .expect("time");
    r.spec.name = format!("IaaS {}", sent[0]);
    r.assignment
        .insert(format!("os_cloud{}", sent[2]), sent[3].clone());
    let inv = &mut r.invocations[0];
    inv.cmd = format!("scs-0100 {}", sent[1]);
    inv.results
        .push((format!("scs-0100-{}-check", sent[5]), -1));
    inv.stdout.extend(sent.iter().cloned());
    inv.stderr = sent.iter().map(|s| format!("ERROR: flavor {s}")).collect();
    r.provenance.overrides = sent.clone();
    let stderr: Vec<String> = want.iter().map(|s| format!("ERROR: flavor {s}")).collect();
    let mut stdout = vec!["scs-0100-syntax-check: PASS".to_string()];
    stdout.extend(want.iter().cloned());
    let expected = serde_json::json!({
        "subject": subject.map(str::to_string).unwrap_or_else(|| joined(&want)),
        "spec_name": format!("IaaS {}", want[0]),
        "assignment": { format!("os_cloud{}", want[2]): want[3] },
        "cmd": format!("scs-0100 {}", want[1]),
        "result_key": format!("scs-0100-{}-check", want[5]),
        "stdout": stdout,
        "stderr": stderr,
        "overrides": want,
    });
    (r, expected)
}

/// Check one parsed document against `hostile_report`'s expectations; `how` names the parser.
fn assert_hostile_doc(
    doc: &serde_json::Value,
    r: &scs_cert_host::report::Report,
    want: &serde_json::Value,
    how: &str,
) {
    assert_eq!(doc["subject"], want["subject"], "{how}: subject");
    assert_eq!(doc["spec"]["name"], want["spec_name"], "{how}: spec.name");
    assert_eq!(
        doc["run"]["assignment"], want["assignment"],
        "{how}: assignment"
    );
    assert_eq!(
        doc["run"]["scs_cert"]["overrides"], want["overrides"],
        "{how}: overrides"
    );
    let inv = &doc["run"]["invocations"][&r.invocations[0].id];
    assert_eq!(inv["cmd"], want["cmd"], "{how}: cmd");
    assert_eq!(inv["stdout"], want["stdout"], "{how}: stdout");
    assert_eq!(inv["stderr"], want["stderr"], "{how}: stderr");
    let key = want["result_key"].as_str().expect("key");
    assert_eq!(
        inv["results"][key], -1,
        "{how}: results key {key:?}: {}",
        inv["results"]
    );
    assert_eq!(
        inv["error"],
        r.invocations[0].count("error"),
        "{how}: error counter"
    );
}

/// Parse `text` with the real PyYAML (its pure-Python SafeLoader and, when built with libyaml,
/// CSafeLoader; `safe_load_all` as the monitor's `load_all`) and, for `json`, with Python's
/// json module too. Returns loader name → documents, as JSON (dates through `str()`, as the
/// monitor does).
fn pyyaml_load(text: &str, json: bool) -> BTreeMap<String, Vec<serde_json::Value>> {
    const SCRIPT: &str = r#"
import json, sys
try:
    import yaml
except ImportError as e:
    sys.stderr.write("PyYAML is missing (%s)\n" % e)
    sys.exit(3)
data = sys.stdin.buffer.read().decode("utf-8")
loaders = [yaml.SafeLoader]
if getattr(yaml, "__with_libyaml__", False):
    loaders.append(yaml.CSafeLoader)
out = {}
for loader in loaders:
    try:
        out[loader.__name__] = list(yaml.load_all(data, Loader=loader))
    except yaml.YAMLError as e:
        sys.stderr.write("%s refused the report:\n%s\n" % (loader.__name__, e))
        sys.exit(1)
if sys.argv[1] == "json":
    out["json"] = [json.loads(data)]
sys.stdout.write(json.dumps(out, default=str))
"#;
    use std::io::Write as _;
    let mut child = match Command::new("python3")
        .args(["-c", SCRIPT, if json { "json" } else { "yaml" }])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => panic!(
            "cannot run python3 ({e}): this test checks the report with the real PyYAML; \
             install python3 and PyYAML (`apt-get install python3-yaml` or \
             `python3 -m pip install --user pyyaml`; .ci/run does this)"
        ),
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to python3");
    let out = child.wait_with_output().expect("python3");
    let stderr = String::from_utf8_lossy(&out.stderr);
    if out.status.code() == Some(3) {
        panic!(
            "{stderr}this test checks the report with the real PyYAML: install it with \
             `pip install pyyaml` (or `python3 -m pip install --user pyyaml`, or \
             `apt-get install python3-yaml` for Debian's python3; .ci/run does this)"
        );
    }
    assert!(
        out.status.success(),
        "PyYAML refused the {} report:\n{stderr}\nreport:\n{text}",
        if json { "JSON" } else { "YAML" }
    );
    serde_json::from_slice(&out.stdout).expect("python3's JSON")
}

#[test]
fn cloud_strings_with_control_characters_survive_yaml_json_pyyaml_and_upload() {
    let (r, want) = hostile_report(None);
    let yaml = r.to_yaml();
    let bad: Vec<char> = yaml.chars().filter(|c| !yaml_printable(*c)).collect();
    assert!(
        bad.is_empty(),
        "unescaped non-printable characters {bad:?} in:\n{yaml}"
    );
    let json = r.to_json().expect("json");
    let bad: Vec<char> = json.chars().filter(|c| !yaml_printable(*c)).collect();
    assert!(
        bad.is_empty(),
        "unescaped non-printable characters {bad:?} in:\n{json}"
    );

    // (a) The Rust parsers: yaml_serde (as the monitor stand-in and `report` commands read
    // reports) and serde_json.
    let from_yaml: serde_json::Value =
        yaml_serde::from_str(&yaml).expect("yaml_serde reads the report");
    assert_hostile_doc(&from_yaml, &r, &want, "yaml_serde");
    let from_json: serde_json::Value =
        serde_json::from_str(&json).expect("serde_json reads the report");
    assert_hostile_doc(&from_json, &r, &want, "serde_json");
    assert_eq!(from_json, from_yaml);

    // (b) The real PyYAML, pure Python and libyaml, on the YAML and on the JSON (JSON is YAML
    // 1.2 too), and Python's json module on the JSON: every loader reads what yaml_serde read.
    // Dates come back through str(), as the monitor stores them.
    let combined = format!("{yaml}{}", sample_report("other").to_yaml());
    for (text, is_json) in [(&combined, false), (&json, true)] {
        let loaded = pyyaml_load(text, is_json);
        assert!(loaded.contains_key("SafeLoader"), "{loaded:?}");
        for (loader, docs) in &loaded {
            let how = format!(
                "python {loader} on the {}",
                if is_json { "JSON" } else { "YAML" }
            );
            assert_eq!(docs.len(), if is_json { 1 } else { 2 }, "{how}");
            assert_hostile_doc(&docs[0], &r, &want, &how);
            assert_eq!(docs[0], from_yaml, "{how}");
        }
    }

    // Signing and upload: both formats are signed and stored by the monitor stand-in (which
    // verifies with the real ssh-keygen) exactly as written.
    let dir = tempdir();
    let d = dir.path();
    let (key, public) = keygen(d, "k", "");
    let m = monitor_for(&public);
    for format in ["yaml", "json"] {
        let (r, want) = hostile_report(Some("test-cloud"));
        let file = d.join(format!("report.{format}"));
        let bytes = if format == "yaml" {
            r.to_yaml()
        } else {
            r.to_json().expect("json")
        };
        std::fs::write(&file, &bytes).expect("write report");
        let signed = cli(
            &["report", "sign", s(&file), "--key", s(&key), "--no-spool"],
            &[],
            None,
        );
        assert_eq!(signed.code, 0, "{format}: {}", signed.stderr);
        let more = fast(&[]);
        let spool = d.join(format!("spool-{format}"));
        let up = cli(
            &args(
                &[
                    "report",
                    "upload",
                    s(&file),
                    "--monitor",
                    &m.url(),
                    "--spool-dir",
                    s(&spool),
                ],
                &more,
            ),
            &[("SCS_MONITOR_TOKEN", &token_env("test-cloud"))],
            None,
        );
        assert_eq!(up.code, 0, "{format}: {}", up.stderr);
        let stored: Vec<_> = m
            .reports()
            .into_iter()
            .filter(|x| x.run_uuid == r.run_uuid)
            .collect();
        assert_eq!(stored.len(), 1, "{format}");
        assert_hostile_doc(&stored[0].data, &r, &want, &format!("monitor ({format})"));
        assert!(pending(&spool).is_empty(), "{format}");
    }
}

/// Hardening (holes 4, 5): a monitor that redirects to a huge `Location` and floods its answer
/// body gives one bounded line and the refusal code; the host reads at most 64 KiB of the
/// answer, and the report stays in the spool.
#[test]
fn a_hostile_monitor_answer_is_bounded() {
    let location = format!("http://elsewhere.invalid/{}", "x".repeat(20_000));
    let head: &'static str = Box::leak(
        format!(
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Type: text/plain\r\n\
             Connection: close\r\n\r\n"
        )
        .into_boxed_str(),
    );
    let url = hostile_http(head, b'x', 100 << 20, std::time::Duration::ZERO);
    let sg = signed_sample();
    let r = upload(&sg, &format!("{url}/"), &[]);
    assert_eq!(r.code, 9, "{}", r.stderr);
    let error = r
        .stderr
        .lines()
        .find(|l| l.contains("error"))
        .unwrap_or_else(|| panic!("{}", r.stderr));
    assert!(error.len() < 1_000, "{} chars: {error:.300}", error.len());
    assert_eq!(pending(&sg.spool).len(), 1, "the report stays in the spool");
}

/// Issue 15: a run that signs and spools records `spooled` in the results history; the
/// `report flush` that delivers it records `delivered` (so `scs-cert history` and `--due` know
/// the monitor has it).
#[test]
fn flush_records_the_delivery_in_the_results_history() {
    let dir = tempdir();
    let d = dir.path();
    let (key, public) = keygen(d, "k", "");
    let (state, spool) = (d.join("state"), d.join("spool"));
    let cloud = start_cloud("compliant");
    let (run, report) = run_scope(
        &cloud,
        "scs-0100",
        &[
            "--sign-key",
            s(&key),
            "--spool-dir",
            s(&spool),
            "--state-dir",
            s(&state),
            "-q",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let uuid = report["run"]["uuid"]
        .as_str()
        .expect("run uuid")
        .to_string();
    let listed = || {
        let h = scs_cert(&["history", "--state-dir", s(&state)], None);
        assert_eq!(h.code, 0, "{}", h.stderr);
        h.stdout
    };
    let before = listed();
    assert!(
        before.contains(&uuid) && before.contains(" spooled "),
        "{before}"
    );
    let m = monitor_for(&public);
    let history = state.join("history.sqlite");
    let r = cli(
        &[
            "report",
            "flush",
            "--monitor",
            &m.url(),
            "--spool-dir",
            s(&spool),
            "--history",
            s(&history),
        ],
        &[("SCS_MONITOR_TOKEN", &token_env("test-cloud"))],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = listed();
    assert!(
        after.contains(&uuid) && after.contains(" delivered "),
        "{after}"
    );
}

//! Record and replay: a run recorded against the simulated cloud replays
//! offline (cloud stopped) to identical results, deterministically; sleeps
//! are skipped; a divergent call is an error naming the component, the call
//! number and both calls; transcripts hold no secrets and stay small.

use crate::common::*;
use scs_cert_host::mediate::transcript;
use std::collections::BTreeMap;
use std::path::Path;

/// The real checks plus the polling test guest.
const CHECKS: &[&str] = &[
    "scs-0100-flavor-naming",
    "scs-0103-standard-flavors",
    "scs-0123-services",
    "test-sleep",
];

fn record(
    fixture: &str,
    dir: &Path,
    cred: Credential,
) -> (scs_cert_host::run::RunResult, BlockingSimCloud) {
    let cloud = start_cloud(fixture);
    let clouds = write_clouds(dir, &cloud, "simcloud", &cred);
    let checks = checks_with(dir, CHECKS);
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("scs-01|test-slow-poll".into());
    opts.record = Some(dir.join("transcript"));
    (run_lib(&opts), cloud)
}

fn replay(dir: &Path) -> scs_cert_host::run::RunResult {
    let checks = dir.join("checks");
    // No cloud: the clouds.yaml points at a port nobody listens on.
    let clouds = dir.join("clouds.yaml");
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("scs-01|test-slow-poll".into());
    opts.replay = Some(dir.join("transcript"));
    run_lib(&opts)
}

fn results(r: &scs_cert_host::run::RunResult) -> BTreeMap<String, i8> {
    r.report.results()
}

fn logs(r: &scs_cert_host::run::RunResult) -> Vec<Vec<String>> {
    r.report
        .invocations
        .iter()
        .map(|i| i.stdout.iter().chain(&i.stderr).cloned().collect())
        .collect()
}

#[test]
fn recorded_runs_replay_offline_to_identical_results() {
    for fixture in [
        "compliant",
        "broken-flavor-names",
        "flavor-disk-abort",
        "broken-standard-flavors",
        "missing-services",
        "admin-role",
    ] {
        let dir = tempdir();
        let (recorded, cloud) = record(fixture, dir.path(), Credential::FirstUser);
        drop(cloud); // the cloud is gone from here on
        let w = recorded.transcript.clone().expect("transcript written");
        let t = recorded
            .report
            .provenance
            .transcript
            .clone()
            .expect("report names the transcript");
        assert_eq!(t.sha256, w.sha256);
        assert_eq!(t.mode, "recorded");
        let replayed = replay(dir.path());
        assert!(
            replayed.divergences.is_empty(),
            "{fixture}: {:?}",
            replayed.divergences
        );
        assert_eq!(results(&replayed), results(&recorded), "{fixture}");
        assert_eq!(
            logs(&replayed),
            logs(&recorded),
            "{fixture}: log lines differ"
        );
        let t = replayed
            .report
            .provenance
            .transcript
            .clone()
            .expect("replay names the transcript");
        assert_eq!(
            (t.sha256.as_str(), t.mode.as_str()),
            (w.sha256.as_str(), "replayed")
        );
        if fixture == "compliant" {
            assert_eq!(results(&recorded)["test-slow-poll"], 1);
        }
        if fixture == "admin-role" {
            assert!(
                results(&replayed).values().all(|v| *v == 0),
                "preflight replays as ABORT"
            );
        }
    }
}

#[test]
fn replay_is_deterministic_and_skips_sleeps() {
    let dir = tempdir();
    let (recorded, _cloud) = record("compliant", dir.path(), Credential::FirstUser);
    let slow = recorded
        .report
        .provenance
        .components
        .iter()
        .find(|c| c.id == "test-sleep")
        .expect("test-sleep ran");
    assert!(
        slow.elapsed_ms >= 2000,
        "live run polls for 2 s, took {} ms",
        slow.elapsed_ms
    );
    let first = replay(dir.path());
    let want_yaml: Vec<Vec<String>> = logs(&first);
    for _ in 0..9 {
        let again = replay(dir.path());
        assert_eq!(results(&again), results(&first));
        assert_eq!(logs(&again), want_yaml);
    }
    let replayed_slow = first
        .report
        .provenance
        .components
        .iter()
        .find(|c| c.id == "test-sleep")
        .expect("test-sleep replayed");
    assert!(
        replayed_slow.elapsed_ms < 1000,
        "replay of a 2 s poll took {} ms",
        replayed_slow.elapsed_ms
    );
    // The replayed guest saw the recorded time: it reports the same wait.
    let line = |r: &scs_cert_host::run::RunResult| {
        invocation_of(&r.report, "test-slow-poll")
            .stderr
            .iter()
            .find(|l| l.starts_with("INFO: polled for "))
            .cloned()
            .expect("poll log line")
    };
    assert_eq!(line(&first), line(&recorded));
}

/// Rewrite one component file of a transcript through `edit` on its JSON
/// lines and fix up the manifest's file digest (a consistent tamper).
fn tamper(dir: &Path, component: &str, edit: impl Fn(&str) -> String) {
    use sha2::Digest;
    let tdir = dir.join("transcript");
    let file = tdir.join(format!("{component}.jsonl.zst"));
    let raw = zstd::decode_all(&std::fs::read(&file).expect("read")[..]).expect("zstd");
    let text = String::from_utf8(raw).expect("utf-8");
    let changed = edit(&text);
    assert_ne!(changed, text, "the edit changed nothing");
    let compressed = zstd::encode_all(changed.as_bytes(), 3).expect("zstd");
    std::fs::write(&file, &compressed).expect("write");
    let mpath = tdir.join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&mpath).expect("read")).expect("json");
    for c in m["components"].as_array_mut().expect("components") {
        if c["id"] == component {
            c["file_sha256"] = hex::encode(sha2::Sha256::digest(&compressed)).into();
        }
    }
    std::fs::write(&mpath, serde_json::to_vec_pretty(&m).expect("json")).expect("write");
}

/// The recorded flavor list says SCS-2V-4 has 3 GiB instead of 4. In the
/// JSON-lines file the response body is a JSON string, so its quotes appear
/// escaped: `\"ram\":4096`.
fn shrink_ram_of_2v_4(t: &str) -> String {
    let anchor = "\\\"scs:name-v2\\\":\\\"SCS-2V-4\\\"}";
    let Some(at) = t.find(anchor) else {
        return t.to_string();
    };
    let (head, tail) = t.split_at(at);
    format!(
        "{head}{}",
        tail.replacen("\\\"ram\\\":4096", "\\\"ram\\\":3072", 1)
    )
}

#[test]
fn tampered_response_changes_the_verdict_and_the_digest() {
    let dir = tempdir();
    let (recorded, _cloud) = record("compliant", dir.path(), Credential::FirstUser);
    assert_eq!(results(&recorded)["scs-0103-flavor-2v-4"], 1);
    tamper(dir.path(), "scs-0103-standard-flavors", shrink_ram_of_2v_4);
    let replayed = replay(dir.path());
    assert!(
        replayed.divergences.is_empty(),
        "{:?}",
        replayed.divergences
    );
    let (a, b) = (results(&recorded), results(&replayed));
    let differing: Vec<&String> = a.keys().filter(|k| a.get(*k) != b.get(*k)).collect();
    assert!(!differing.is_empty(), "tampering changed no verdict");
    assert!(
        differing.iter().all(|k| k.starts_with("scs-0103-flavor-")),
        "{differing:?}"
    );
    let digest = |r: &scs_cert_host::run::RunResult| {
        r.report
            .provenance
            .transcript
            .clone()
            .expect("transcript")
            .sha256
    };
    assert_ne!(
        digest(&recorded),
        digest(&replayed),
        "the transcript digest must change"
    );
}

#[test]
fn a_divergent_call_is_an_error_naming_component_call_and_both_calls() {
    let dir = tempdir();
    let (_recorded, _cloud) = record("compliant", dir.path(), Credential::FirstUser);
    // The recorded first request of scs-0123 never happened that way.
    tamper(dir.path(), "test-sleep", |t| {
        t.replacen("flavors/detail", "flavors/other", 1)
    });
    let replayed = replay(dir.path());
    assert_eq!(replayed.divergences.len(), 1, "{:?}", replayed.divergences);
    let d = &replayed.divergences[0];
    assert!(
        d.starts_with("replay diverged in component test-sleep at call #2: the transcript has GET compute flavors/other"),
        "{d}"
    );
    assert!(
        d.contains("the check made GET compute flavors/detail"),
        "{d}"
    );
    assert_eq!(
        replayed.report.results()["test-slow-poll"],
        0,
        "the diverged component aborts"
    );
    // The other components replay normally.
    assert_eq!(replayed.report.results()["scs-0100-syntax-check"], 1);
}

fn all_transcript_text(dir: &Path) -> String {
    let mut text = String::new();
    for e in std::fs::read_dir(dir.join("transcript")).expect("ls") {
        let p = e.expect("entry").path();
        let bytes = std::fs::read(&p).expect("read");
        if p.extension().is_some_and(|x| x == "zst") {
            text.push_str(&String::from_utf8_lossy(
                &zstd::decode_all(&bytes[..]).expect("zstd"),
            ));
        } else {
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    text
}

#[test]
fn transcripts_hold_no_secrets_and_stay_small() {
    for cred in ["password", "appcred"] {
        let dir = tempdir();
        let fixture = fixture("compliant");
        let (credential, secret) = match cred {
            "password" => (Credential::FirstUser, fixture.users[0].password.clone()),
            _ => {
                let a = fixture.application_credentials[0].clone();
                (
                    Credential::ApplicationCredential(a.id.clone()),
                    a.secret.clone(),
                )
            }
        };
        let (recorded, cloud) = record("compliant", dir.path(), credential);
        let token = cloud
            .requests()
            .iter()
            .find_map(|q| q.header("x-auth-token").map(str::to_string))
            .expect("token used");
        let text = all_transcript_text(dir.path());
        assert!(
            text.contains("flavors/detail"),
            "the transcript holds the calls"
        );
        assert!(!text.contains(&token), "{cred}: token in the transcript");
        assert!(!text.contains(&secret), "{cred}: secret in the transcript");
        let w = recorded.transcript.expect("transcript");
        assert!(w.bytes < 1_000_000, "transcript is {} bytes", w.bytes);
    }
}

#[test]
fn unknown_transcript_versions_are_refused_clearly() {
    let dir = tempdir();
    let (_r, _cloud) = record("compliant", dir.path(), Credential::FirstUser);
    let m = dir.path().join("transcript/manifest.json");
    let text = std::fs::read_to_string(&m)
        .expect("read")
        // 1 (no cluster) and 2 (with a Kubernetes cluster) are read; 3 is unknown
        .replace("\"version\": 1,", "\"version\": 3,");
    std::fs::write(&m, text).expect("write");
    let e = transcript::load(&dir.path().join("transcript")).expect_err("refused");
    assert!(
        e.to_string()
            .contains("transcript format version 3 is not supported"),
        "{e}"
    );
}

/// Run the CLI with a given environment (no clouds.yaml needed for replay).
fn cli(args: &[&str], env: &[(&str, &Path)]) -> CliRun {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_scs-cert"));
    c.args(args)
        .current_dir(root())
        .env("SCS_CERT_CACHE_DIR", cache_dir())
        .env("HOME", env!("CARGO_TARGET_TMPDIR"))
        .env_remove("SCS_CERT_KEY_PASSPHRASE")
        .env_remove("OS_CLOUD");
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

fn ok(r: CliRun, what: &str) -> CliRun {
    assert_eq!(r.code, 0, "{what}: {}\n{}", r.stdout, r.stderr);
    r
}

/// A signed run recorded from a signed bundle, then `report reproduce`:
/// identical → 0; a consistently tampered transcript → the differing
/// testcases are listed and the exit code says so; a wrong signer → 7.
#[test]
fn report_reproduce_reverifies_a_signed_run_offline() {
    let dir = tempdir();
    let d = dir.path();
    let p = |n: &str| d.join(n);
    let s = |n: &str| d.join(n).to_str().expect("utf-8").to_string();
    let state = p("state");
    let env: &[(&str, &Path)] = &[("SCS_CERT_STATE_DIR", &state)];
    // Keys, a root, a signed bundle of the real checks plus our scope.
    for k in ["root-key", "bundle-key", "report-key", "other-key"] {
        ok(
            cli(&["key", "generate", "--out", &s(k), "--no-passphrase"], env),
            "key generate",
        );
    }
    ok(
        cli(
            &[
                "trust",
                "init",
                "--out",
                &s("root.json"),
                "--root-key",
                &s("root-key.pub"),
                "--bundle-key",
                &s("bundle-key.pub"),
                "--sign",
                &s("root-key"),
            ],
            env,
        ),
        "trust init",
    );
    let checks = real_checks();
    ok(
        cli(
            &[
                "bundle",
                "build",
                "--checks",
                checks.to_str().expect("utf-8"),
                "--scope",
                "scopes/scs-compatible-iaas.yaml",
                "--trust",
                &s("root.json"),
                "--sequence",
                "1",
                "--expires",
                "2099-01-01",
                "--out",
                &s("b.scsb"),
            ],
            env,
        ),
        "bundle build",
    );
    ok(
        cli(
            &["bundle", "sign", &s("b.scsb"), "--key", &s("bundle-key")],
            env,
        ),
        "bundle sign",
    );

    // The certification run, recorded and signed.
    let cloud = start_cloud("compliant");
    let clouds = write_clouds(d, &cloud, "simcloud", &Credential::FirstUser);
    let mut env_run: Vec<(&str, &Path)> = env.to_vec();
    env_run.push(("OS_CLIENT_CONFIG_FILE", &clouds));
    let spool = p("spool");
    env_run.push(("SCS_CERT_SPOOL_DIR", &spool));
    let r = cli(
        &[
            "run",
            "scopes/scs-compatible-iaas.yaml",
            "--os-cloud",
            "simcloud",
            "-s",
            "repro-cloud",
            "-d",
            "2026-11-29",
            "-t",
            "scs-010[03]|scs-0123-service",
            "--bundle",
            &s("b.scsb"),
            "--root",
            &s("root.json"),
            "--record",
            &s("transcript"),
            "-o",
            &s("report.yaml"),
        ],
        &env_run,
    );
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    drop(cloud);
    ok(
        cli(
            &[
                "report",
                "sign",
                &s("report.yaml"),
                "--key",
                &s("report-key"),
                "--no-spool",
            ],
            &env_run,
        ),
        "report sign",
    );
    let pubkey = std::fs::read_to_string(p("report-key.pub")).expect("pub");
    std::fs::write(p("allowed"), format!("certifier@example.org {pubkey}")).expect("allowed");

    let reproduce = |extra: &[&str]| {
        let mut args = vec![
            "report",
            "reproduce",
            &s("report.yaml"),
            "--transcript",
            &s("transcript"),
            "--bundle",
            &s("b.scsb"),
            "--root",
            &s("root.json"),
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        args.extend(extra.iter().map(|a| a.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(&refs, env)
    };
    let r = reproduce(&["--allowed-signers", &s("allowed")]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.starts_with("reproduced: all "), "{}", r.stdout);

    // A signer the certifier does not allow: refused before anything runs.
    let other = std::fs::read_to_string(p("other-key.pub")).expect("pub");
    std::fs::write(p("allowed-other"), format!("certifier@example.org {other}")).expect("allowed");
    let r = reproduce(&["--allowed-signers", &s("allowed-other")]);
    assert_eq!(r.code, 7, "{}\n{}", r.stdout, r.stderr);

    // The report names the cloud it ran on; a report signed by the same allowed key that
    // claims another project cannot borrow this transcript (hardening, hole 10).
    let text = std::fs::read_to_string(p("report.yaml")).expect("report");
    assert!(text.contains("    cloud:\n      identity: "), "{text}");
    let other: String = text
        .lines()
        .map(|l| match l.strip_prefix("      project_id: ") {
            Some(_) => "      project_id: 00000000000000000000000000000000".to_string(),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    assert_ne!(other, text, "the report has a project_id line");
    std::fs::write(p("other.yaml"), other).expect("write");
    ok(
        cli(
            &[
                "report",
                "sign",
                &s("other.yaml"),
                "--key",
                &s("report-key"),
                "--no-spool",
            ],
            env,
        ),
        "report sign other",
    );
    let r = cli(
        &[
            "report",
            "reproduce",
            &s("other.yaml"),
            "--transcript",
            &s("transcript"),
            "--bundle",
            &s("b.scsb"),
            "--root",
            &s("root.json"),
            "--allowed-signers",
            &s("allowed"),
        ],
        env,
    );
    assert_ne!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("MISMATCH: the transcript was recorded with cloud project_id"),
        "{}",
        r.stderr
    );

    // A transcript with one response changed (and its file digest fixed up):
    // the differing testcases are listed, and the digest no longer matches.
    tamper(d, "scs-0103-standard-flavors", shrink_ram_of_2v_4);
    let r = reproduce(&["--allowed-signers", &s("allowed")]);
    assert_eq!(r.code, 41, "{}\n{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("NOT reproduced: 1 of "), "{}", r.stdout);
    assert!(
        r.stdout
            .contains("  scs-0103-flavor-2v-4: report PASS, replay FAIL"),
        "{}",
        r.stdout
    );
    assert!(
        r.stderr.contains("MISMATCH: transcript sha256"),
        "{}",
        r.stderr
    );
}

/// Hardening, hole 9: crafted transcripts (an event count near 2^64, a component file that is
/// a symlink to a device) give one line and exit 4 from `run --replay`, never an abort, a
/// panic or an unbounded read.
#[test]
fn crafted_transcripts_are_bad_input_with_one_line() {
    let dir = tempdir();
    let (_recorded, _cloud) = record("compliant", dir.path(), Credential::FirstUser);
    let tdir = dir.path().join("transcript");
    let mpath = tdir.join("manifest.json");
    let original = std::fs::read(&mpath).expect("manifest");
    let replay_cli = || {
        scs_cert(
            &[
                "run",
                test_scope().to_str().expect("path"),
                "-s",
                "x",
                "--os-cloud",
                "simcloud",
                "--checks",
                dir.path().join("checks").to_str().expect("path"),
                "-t",
                "scs-01|test-slow-poll",
                "--replay",
                tdir.to_str().expect("path"),
            ],
            None,
        )
    };
    let one_error_line = |cli: &CliRun, needle: &str| {
        assert_eq!(cli.code, 4, "{}", cli.stderr);
        let errors: Vec<&str> = cli.stderr.lines().filter(|l| l.contains("error")).collect();
        assert_eq!(errors.len(), 1, "{}", cli.stderr);
        assert!(errors[0].contains(needle), "{}", cli.stderr);
    };

    let mut m: serde_json::Value = serde_json::from_slice(&original).expect("json");
    m["components"][0]["events"] = serde_json::json!(u64::MAX - 1);
    std::fs::write(&mpath, serde_json::to_vec(&m).expect("json")).expect("write");
    one_error_line(&replay_cli(), "the manifest says");

    std::fs::write(&mpath, &original).expect("restore");
    let file = m["components"][0]["file"]
        .as_str()
        .expect("file")
        .to_string();
    let comp = tdir.join(file);
    std::fs::remove_file(&comp).expect("remove");
    std::os::unix::fs::symlink("/dev/zero", &comp).expect("symlink");
    one_error_line(&replay_cli(), "not a regular file");
}

/// Hardening, hole 12: the test VM's generated root password (Nova's `adminPass` in the
/// create-server answer) is masked before the check, the transcript or the report sees it.
#[test]
fn a_new_servers_admin_password_never_reaches_the_transcript() {
    let dir = tempdir();
    let cloud = start_cloud("compliant");
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(dir.path(), &["scs-0101-entropy"]);
    let scope = root().join("scopes/scs-compatible-iaas.yaml");
    let mut opts = options(&scope, &checks, &clouds);
    opts.tests = Some("scs-0101".into());
    opts.record = Some(dir.path().join("transcript"));
    opts.mediation.clock = scs_cert_host::mediate::ClockMode::Virtual;
    let r = run_lib(&opts);
    assert_eq!(results(&r)["scs-0101-entropy-avail"], 1);
    let text = all_transcript_text(dir.path());
    assert!(
        text.contains("adminPass"),
        "the entropy check created a server"
    );
    for (i, _) in text.match_indices("adminPass") {
        let after: String = text[i..].chars().take(24).collect();
        assert!(after.contains("***"), "adminPass not masked: {after}");
    }
}

/// Hardening, hole 7: what `--record` holds in memory is bounded for the whole run. With a
/// budget smaller than one answer, the first recorded answer uses it up and every later call
/// of every check is answered `too-large` without reaching the cloud (of scs-0100 and scs-0103,
/// which both pass on this cloud, the one that asks second ABORTs; the first keeps its
/// verdict); the refusals are recorded, so the replay agrees with the run.
#[test]
fn the_record_budget_bounds_the_whole_run_and_replays() {
    let dir = tempdir();
    let cloud = start_cloud("compliant");
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(dir.path(), CHECKS);
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("scs-01".into());
    opts.record = Some(dir.path().join("transcript"));
    opts.mediation.max_record_bytes = 1;
    opts.jobs = 1;
    let before = cloud.requests().len();
    let recorded = run_lib(&opts);
    let sent = cloud.requests().len() - before;
    drop(cloud);
    let all_logs = logs(&recorded).concat();
    assert!(
        all_logs
            .iter()
            .any(|l| l.contains("--record budget of 0 MiB is used up")),
        "{all_logs:?}"
    );
    // scs-0100 and scs-0103 both read the flavor list; whichever runs second is refused
    let r = results(&recorded);
    assert!(
        r.get("scs-0100-syntax-check") == Some(&0) || r.get("scs-0103-flavor-2v-4") == Some(&0),
        "{r:?}"
    );
    // the token, the first answer and version discovery at most: everything else refused
    assert!(sent <= 4, "{sent} requests reached the cloud");
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("scs-01".into());
    opts.replay = Some(dir.path().join("transcript"));
    let replayed = run_lib(&opts);
    assert!(
        replayed.divergences.is_empty(),
        "{:?}",
        replayed.divergences
    );
    assert_eq!(results(&replayed), results(&recorded));
}

//! Verdict tables of the checks that create resources: scs-0101 (entropy:
//! a test VM with network, subnet, router and boot volume) and scs-0117
//! (volume backup: volumes and a backup). Each test runs the real
//! `scs-cert` binary with the real components against its own simcloud and
//! asserts the verdicts of the official suite (docs/official-behaviour.md d.0, d.2,
//! d.9) and that the cloud holds nothing the check created afterwards —
//! after a PASS, a FAIL, an ABORT, and after a run killed by the deadline
//! (for that one: the kill leaves resources behind, by design, and the next
//! run removes them by their name prefix).
//!
//! Waits in the checks sleep through the host clock, so the fixtures keep the
//! simulated status transitions short: every test takes seconds. The one test
//! that needs the official 110 s retry schedule to run out
//! (`backup_named_fixture_no_backup_service`) runs with the virtual clock
//! (`--virtual-clock`): sleeps return at once, the simulated cloud changes
//! state by polls, so the calls are the same and the wait costs nothing.

use crate::common::*;
use simcloud::fixture::ErrorFault;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const ENTROPY_TESTS: &str = "scs-0101-(entropy-avail|fips-test)";
const ENTROPY_AVAIL: &str = "scs-0101-entropy-avail";
const FIPS_TEST: &str = "scs-0101-fips-test";
const BACKUP_TESTS: &str = "scs-0117-test-backup";
const TEST_BACKUP: &str = "scs-0117-test-backup";

/// The compliant cloud with the shortest status transitions simcloud
/// offers: a server is ACTIVE on the second GET, its console shows the test
/// output on the first request after that, a backup is available on the
/// second GET.
fn quick_compliant() -> Fixture {
    let mut f = fixture("compliant");
    f.compute.server_build_polls = 1;
    f.compute.console_delay_polls = 0;
    f.volume.create_polls = 1;
    f.volume.backup_create_polls = 1;
    f.volume.restore_polls = 1;
    f
}

fn start(f: Fixture) -> BlockingSimCloud {
    simcloud::spawn_blocking_server(f).expect("start simcloud")
}

struct Outcome {
    results: BTreeMap<String, i64>,
    logs: Vec<String>,
    cli: CliRun,
    took: Duration,
}

impl Outcome {
    fn has_log(&self, needle: &str) -> bool {
        self.logs.iter().any(|l| l.contains(needle))
    }
}

fn run(cloud: &BlockingSimCloud, tests: &str, extra: &[&str]) -> Outcome {
    let t0 = Instant::now();
    let (cli, report) = run_scope(cloud, tests, extra);
    let took = t0.elapsed();
    let logs = log_lines(&report);
    eprintln!("{tests}: {took:?}");
    if std::env::var_os("CHECKS_WRITE_LOGS").is_some() {
        eprintln!("{}", logs.join("\n"));
    }
    Outcome {
        results: results_of(&report),
        logs,
        cli,
        took,
    }
}

fn verdicts(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The cloud holds nothing that was created through its APIs (the fixture's
/// own content, such as the external network, is not listed).
fn assert_nothing_left(cloud: &BlockingSimCloud, o: &Outcome) {
    let r = cloud.resources();
    assert!(
        r.is_empty(),
        "left behind: {:?}\nlog:\n{}",
        r.names(),
        o.logs.join("\n")
    );
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            other => panic!("not base64: {other}"),
        }
    };
    let mut out = Vec::new();
    for chunk in s.trim_end_matches('=').as_bytes().chunks(4) {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= val(c) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..chunk.len() - 1]);
    }
    out
}

// ---------------------------------------------------------------- scs-0101

#[test]
fn entropy_compliant_passes_and_cleans_up() {
    let cloud = start(quick_compliant());
    let o = run(&cloud, ENTROPY_TESTS, &[]);
    assert_eq!(
        o.results,
        verdicts(&[(ENTROPY_AVAIL, 1), (FIPS_TEST, 1)]),
        "{}\n{}",
        o.cli.stderr,
        o.logs.join("\n")
    );
    assert_nothing_left(&cloud, &o);

    // One VM for both testcases (d.2), booted as d.2 says: the best image
    // (Debian 13 beats Debian 12 and every Ubuntu), the cheapest flavor
    // with hw_rng:allowed=true that has enough RAM, an 8 GiB boot volume
    // deleted with the server, on our own network, with the cloud-config.
    let reqs = cloud.requests();
    let boots: Vec<_> = reqs
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/servers"))
        .collect();
    assert_eq!(boots.len(), 1, "exactly one test VM");
    let body = boots[0].json().expect("JSON body");
    let server = &body["server"];
    assert_eq!(server["name"], "_scs-0101-server");
    assert_eq!(server["flavorRef"], "203", "m1.large: hw_rng and cheapest");
    let bdm = &server["block_device_mapping_v2"][0];
    assert_eq!(bdm["uuid"], simcloud::image_id("Debian 13"));
    assert_eq!(bdm["source_type"], "image");
    assert_eq!(bdm["destination_type"], "volume");
    assert_eq!(bdm["volume_size"], 8);
    assert_eq!(bdm["delete_on_termination"], true);
    assert!(server.get("key_name").is_none(), "no key pair");
    let user_data = String::from_utf8(base64_decode(
        server["user_data"].as_str().expect("user_data"),
    ))
    .expect("utf-8");
    assert!(user_data.starts_with("#cloud-config\n"), "{user_data}");
    assert!(user_data.contains("rng-tools5"));
    assert!(user_data.contains("mirror.plusserver.com/debian/debian-security/"));
    assert!(user_data.contains("systemctl mask serial-getty@ttyS0.service"));
    // network, subnet (d.2 step 3), router with the external gateway
    let subnet = reqs
        .iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/subnets"))
        .and_then(|r| r.json())
        .expect("subnet created");
    assert_eq!(subnet["subnet"]["name"], "_scs-0101-subnet");
    assert_eq!(subnet["subnet"]["cidr"], "10.1.0.0/24");
    assert_eq!(subnet["subnet"]["gateway_ip"], "10.1.0.1");
    assert_eq!(subnet["subnet"]["dns_nameservers"][0], "9.9.9.9");
    assert!(
        reqs.iter()
            .any(|r| r.method == "PUT" && r.path.ends_with("/add_router_interface"))
    );
    // the console was read through the API, never anything else
    assert!(
        reqs.iter()
            .filter_map(|r| r.json())
            .any(|b| b.get("os-getConsoleOutput").is_some())
    );
}

#[test]
fn entropy_low_entropy_fails_only_entropy_avail() {
    let mut f = quick_compliant();
    f.compute.entropy_avail = Some("128".into());
    let cloud = start(f);
    let o = run(&cloud, ENTROPY_TESTS, &[]);
    assert_eq!(
        o.results,
        verdicts(&[(ENTROPY_AVAIL, -1), (FIPS_TEST, 1)]),
        "{}",
        o.logs.join("\n")
    );
    assert!(o.has_log("Expected 256, got 128"), "{}", o.logs.join("\n"));
    assert_nothing_left(&cloud, &o);
}

#[test]
fn entropy_fips_thresholds() {
    // 4–5 failures: PASS with an INFO line; more: FAIL with an ERROR (d.2)
    for (failures, verdict, error) in [(4u32, 1i64, false), (5, 1, false), (6, -1, true)] {
        let mut f = quick_compliant();
        f.compute.fips_failures = Some(failures);
        let cloud = start(f);
        let o = run(&cloud, ENTROPY_TESTS, &[]);
        assert_eq!(
            o.results,
            verdicts(&[(ENTROPY_AVAIL, 1), (FIPS_TEST, verdict)]),
            "{failures}: {}",
            o.logs.join("\n")
        );
        assert!(
            o.logs
                .iter()
                .any(|l| l.starts_with("INFO") && l.contains("strict FIPS 140-2")),
            "{failures}: {}",
            o.logs.join("\n")
        );
        assert_eq!(
            o.logs
                .iter()
                .any(|l| l.starts_with("ERROR") && l.contains("maximum of 5 failures")),
            error,
            "{failures}"
        );
        assert_nothing_left(&cloud, &o);
    }
}

#[test]
fn entropy_without_rngtest_aborts_fips_only() {
    let mut f = quick_compliant();
    f.compute.fips_failures = None; // the console says `rngtest: not found`
    let cloud = start(f);
    let o = run(&cloud, ENTROPY_TESTS, &[]);
    assert_eq!(
        o.results,
        verdicts(&[(ENTROPY_AVAIL, 1), (FIPS_TEST, 0)]),
        "{}",
        o.logs.join("\n")
    );
    assert!(o.has_log("failed to determine fips failures"));
    assert_nothing_left(&cloud, &o);
}

#[test]
fn entropy_without_external_network_aborts_and_removes_network() {
    let mut f = quick_compliant();
    f.network.external = false;
    let cloud = start(f);
    let o = run(&cloud, ENTROPY_TESTS, &[]);
    assert_eq!(
        o.results,
        verdicts(&[(ENTROPY_AVAIL, 0), (FIPS_TEST, 0)]),
        "{}",
        o.logs.join("\n")
    );
    assert!(o.has_log("No external network found!"));
    // network and subnet were created before the lookup, and removed again
    let reqs = cloud.requests();
    assert!(
        reqs.iter()
            .any(|r| r.method == "DELETE" && r.path.contains("/subnets/"))
    );
    assert!(
        reqs.iter()
            .any(|r| r.method == "DELETE" && r.path.contains("/networks/"))
    );
    assert!(
        !reqs
            .iter()
            .any(|r| r.method == "POST" && r.path.ends_with("/servers"))
    );
    assert_nothing_left(&cloud, &o);
}

#[test]
fn entropy_server_in_error_aborts_and_is_deleted() {
    let mut f = quick_compliant();
    f.compute.server_error = true;
    let cloud = start(f);
    let o = run(&cloud, ENTROPY_TESTS, &[]);
    assert_eq!(
        o.results,
        verdicts(&[(ENTROPY_AVAIL, 0), (FIPS_TEST, 0)]),
        "{}",
        o.logs.join("\n")
    );
    assert!(
        o.has_log("Error in creating the server"),
        "{}",
        o.logs.join("\n")
    );
    assert_nothing_left(&cloud, &o);
}

#[test]
fn entropy_failed_scripts_user_aborts() {
    let mut f = quick_compliant();
    f.compute.console_output = Some(
        "[   21.0] cloud-init[539]: 2025-01-01 00:00:00,000 - util.py[WARNING]: Failed to run module scripts-user (scripts in /var/lib/cloud/instance/scripts)\n".into(),
    );
    let cloud = start(f);
    let o = run(&cloud, ENTROPY_TESTS, &[]);
    assert_eq!(
        o.results,
        verdicts(&[(ENTROPY_AVAIL, 0), (FIPS_TEST, 0)]),
        "{}",
        o.logs.join("\n")
    );
    assert!(o.has_log("Failed tests for"), "{}", o.logs.join("\n"));
    assert_nothing_left(&cloud, &o);
}

/// With the cleanup phase switched off (`--cleanup-secs 0`), a run killed
/// by the deadline cannot clean up: the host stops the component (an epoch
/// trap or the timeout around a host call) and no code of the check runs
/// after that, so whatever it had created stays. That is why everything is
/// named `_scs-0101-*`: the next run removes it first.
#[test]
fn entropy_deadline_kill_leaves_prefixed_leftovers_that_the_next_run_removes() {
    let mut f = quick_compliant();
    f.compute.server_build_polls = 0;
    f.compute.server_build_ms = 1500; // BUILD outlives the 1 s deadline
    let cloud = start(f);

    let killed = run(
        &cloud,
        ENTROPY_TESTS,
        &["--max-check-secs", "1", "--cleanup-secs", "0"],
    );
    assert_eq!(
        killed.results,
        verdicts(&[(ENTROPY_AVAIL, 0), (FIPS_TEST, 0)])
    );
    assert!(
        killed.has_log("deadline of 1 s exceeded"),
        "{}",
        killed.logs.join("\n")
    );
    let left = cloud.resources();
    let names =
        |l: &Vec<simcloud::ResourceInfo>| l.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&left.servers), vec!["_scs-0101-server"]);
    assert_eq!(names(&left.networks), vec!["_scs-0101-net"]);
    assert_eq!(names(&left.subnets), vec!["_scs-0101-subnet"]);
    assert_eq!(names(&left.routers), vec!["_scs-0101-router"]);
    assert!(left.backups.is_empty());

    let next = run(&cloud, ENTROPY_TESTS, &[]);
    assert_eq!(
        next.results,
        verdicts(&[(ENTROPY_AVAIL, 1), (FIPS_TEST, 1)]),
        "{}",
        next.logs.join("\n")
    );
    assert!(
        next.has_log("removing leftover server '_scs-0101-server'"),
        "{}",
        next.logs.join("\n")
    );
    assert!(next.has_log("removing leftover router '_scs-0101-router'"));
    assert!(next.has_log("removing leftover subnet '_scs-0101-subnet'"));
    assert!(next.has_log("removing leftover network '_scs-0101-net'"));
    assert_nothing_left(&cloud, &next);
    assert!(killed.took + next.took < Duration::from_secs(30));
}

/// The simcloud fixtures with the verdicts their headers promise (default
/// status timing: a few polls each).
fn named_fixture(name: &str, tests: &str, want: &[(&str, i64)]) {
    let cloud = start_cloud(name);
    let o = run(&cloud, tests, &[]);
    assert_eq!(o.results, verdicts(want), "{name}: {}", o.logs.join("\n"));
    assert_nothing_left(&cloud, &o);
}

#[test]
fn entropy_named_fixture_compliant() {
    named_fixture(
        "compliant",
        ENTROPY_TESTS,
        &[(ENTROPY_AVAIL, 1), (FIPS_TEST, 1)],
    );
}

#[test]
fn entropy_named_fixture_low_entropy() {
    named_fixture(
        "low-entropy",
        ENTROPY_TESTS,
        &[(ENTROPY_AVAIL, -1), (FIPS_TEST, -1)],
    );
}

#[test]
fn entropy_named_fixture_no_rngtest() {
    named_fixture(
        "no-rngtest",
        ENTROPY_TESTS,
        &[(ENTROPY_AVAIL, 1), (FIPS_TEST, 0)],
    );
}

#[test]
fn entropy_named_fixture_no_external_network() {
    named_fixture(
        "no-external-network",
        ENTROPY_TESTS,
        &[(ENTROPY_AVAIL, 0), (FIPS_TEST, 0)],
    );
}

// ---------------------------------------------------------------- scs-0117

#[test]
fn backup_compliant_passes_and_cleans_up() {
    let cloud = start(quick_compliant());
    let o = run(&cloud, BACKUP_TESTS, &[]);
    assert_eq!(
        o.results,
        verdicts(&[(TEST_BACKUP, 1)]),
        "{}\n{}",
        o.cli.stderr,
        o.logs.join("\n")
    );
    assert!(o.has_log("Restore volume from backup: PASS"));
    assert_nothing_left(&cloud, &o);
    let reqs = cloud.requests();
    let restore = reqs
        .iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/restore"))
        .and_then(|r| r.json())
        .expect("restore request");
    assert_eq!(restore["restore"]["name"], "scs-test-restored-backup");
    let create = reqs
        .iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/volumes"))
        .and_then(|r| r.json())
        .expect("volume create");
    assert_eq!(create["volume"]["name"], "scs-test-volume");
    assert_eq!(create["volume"]["size"], 1);
}

#[test]
fn backup_api_error_fails_not_aborts_and_cleans_up() {
    // d.9: any exception → FAIL. The backup create fails; the final
    // cleanup still removes the volume.
    let mut f = quick_compliant();
    f.faults.errors.push(ErrorFault {
        method: Some("POST".into()),
        path_regex: Some("/backups$".into()),
        path_prefix: None,
        status: 500,
        count: None,
    });
    let cloud = start(f);
    let o = run(&cloud, BACKUP_TESTS, &[]);
    assert_eq!(
        o.results,
        verdicts(&[(TEST_BACKUP, -1)]),
        "{}",
        o.logs.join("\n")
    );
    assert!(o.has_log("Backup test failed."));
    assert_nothing_left(&cloud, &o);
}

#[test]
fn backup_named_fixture_compliant() {
    named_fixture("compliant", BACKUP_TESTS, &[(TEST_BACKUP, 1)]);
}

/// As for scs-0101 (cleanup phase off): the killed run leaves
/// `scs-test-volume`; the next run's initial cleanup (d.9 step 1) removes
/// it, then passes.
#[test]
fn backup_deadline_kill_leaves_prefixed_leftovers_that_the_next_run_removes() {
    let mut f = quick_compliant();
    f.volume.create_polls = 2; // the wait sleeps 2 s: killed by the 1 s deadline
    let cloud = start(f);
    let killed = run(
        &cloud,
        BACKUP_TESTS,
        &["--max-check-secs", "1", "--cleanup-secs", "0"],
    );
    assert_eq!(killed.results, verdicts(&[(TEST_BACKUP, 0)]));
    assert!(killed.has_log("deadline of 1 s exceeded"));
    let left = cloud.resources();
    assert_eq!(
        left.volumes
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>(),
        vec!["scs-test-volume"]
    );

    let next = run(&cloud, BACKUP_TESTS, &[]);
    assert_eq!(
        next.results,
        verdicts(&[(TEST_BACKUP, 1)]),
        "{}",
        next.logs.join("\n")
    );
    assert_nothing_left(&cloud, &next);
    assert!(killed.took + next.took < Duration::from_secs(30));
}

/// Without cinder-backup (simcloud's `no-backup-service` fixture), new
/// backups end in `error`: the wait for `available` runs the whole official
/// schedule (110 s), then the final cleanup's delete gets 404 "Service
/// cinder-backup could not be found." and re-raises (d.9) → FAIL. Our final
/// cleanup still removes the volume before re-raising (the official one
/// stops; the verdict is the same); the backup in `error` cannot be removed
/// by a member at all, so it stays, and the next run FAILs at once in its
/// initial cleanup on the same re-raise, as the official suite does.
///
/// The check's clock is virtual (`--virtual-clock`): the schedule's eight tries and 110 s of
/// sleeps take milliseconds; the log shows the whole schedule ran.
#[test]
fn backup_named_fixture_no_backup_service() {
    let cloud = start_cloud("no-backup-service");
    let o = run(&cloud, BACKUP_TESTS, &["--virtual-clock"]);
    assert!(
        o.took < Duration::from_secs(30),
        "the virtual clock skips the 110 s of waiting: {:?}",
        o.took
    );
    let backup_polls = cloud
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && r.path.contains("/backups/"))
        .count();
    assert!(
        backup_polls >= 8,
        "the whole retry schedule ran (8 tries), saw {backup_polls} backup reads"
    );
    assert_eq!(
        o.results,
        verdicts(&[(TEST_BACKUP, -1)]),
        "{}",
        o.logs.join("\n")
    );
    assert!(o.has_log("Backup test failed."));
    let left = cloud.resources();
    assert!(left.volumes.is_empty(), "{:?}", left.names());
    assert_eq!(
        left.backups
            .iter()
            .map(|b| b.name.as_str())
            .collect::<Vec<_>>(),
        vec!["scs-test-volume-backup"]
    );
    let again = run(&cloud, BACKUP_TESTS, &["--virtual-clock"]);
    assert_eq!(again.results, verdicts(&[(TEST_BACKUP, -1)]));
    assert!(
        again.took < Duration::from_secs(10),
        "fails in the initial cleanup, no waiting"
    );
    let volume_creates = cloud
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/volumes"))
        .count();
    assert_eq!(volume_creates, 1, "the second run creates nothing");
}

/// By default the host gives a write check that it had to stop a cleanup
/// phase (`run` again with `scs-cert.phase=cleanup` and a fresh deadline):
/// the killed run itself leaves nothing behind.
#[test]
fn entropy_deadline_kill_is_followed_by_the_cleanup_phase() {
    let mut f = quick_compliant();
    f.compute.server_build_polls = 0;
    f.compute.server_build_ms = 1500; // BUILD outlives the 1 s deadline
    let cloud = start(f);
    let killed = run(&cloud, ENTROPY_TESTS, &["--max-check-secs", "1"]);
    assert_eq!(
        killed.results,
        verdicts(&[(ENTROPY_AVAIL, 0), (FIPS_TEST, 0)])
    );
    assert!(
        killed.has_log("deadline of 1 s exceeded"),
        "{}",
        killed.logs.join("\n")
    );
    assert!(
        killed.has_log("cleanup phase after the abort: completed"),
        "{}",
        killed.logs.join("\n")
    );
    assert!(
        killed.has_log("cleanup: removing leftover server '_scs-0101-server'"),
        "{}",
        killed.logs.join("\n")
    );
    assert_nothing_left(&cloud, &killed);
}

#[test]
fn backup_deadline_kill_is_followed_by_the_cleanup_phase() {
    let mut f = quick_compliant();
    f.volume.create_polls = 2; // the wait sleeps 2 s: killed by the 1 s deadline
    let cloud = start(f);
    let killed = run(&cloud, BACKUP_TESTS, &["--max-check-secs", "1"]);
    assert_eq!(killed.results, verdicts(&[(TEST_BACKUP, 0)]));
    assert!(
        killed.has_log("cleanup phase after the abort: completed"),
        "{}",
        killed.logs.join("\n")
    );
    assert_nothing_left(&cloud, &killed);
}

/// SIGTERM during a run, as systemd's stop or a Kubernetes deadline sends it: the write check
/// that runs is stopped and cleans up in its cleanup phase, the one waiting for the single job
/// slot does not start, both ABORT with the reason, the report is written, and the exit code
/// is 143 (128 + SIGTERM).
#[test]
fn sigterm_stops_the_run_in_order_cleans_up_and_writes_the_report() {
    let mut f = quick_compliant();
    f.compute.server_build_polls = 0;
    f.compute.server_build_ms = 120_000; // the server builds longer than the test waits
    f.volume.create_polls = 10_000; // so does the volume
    let cloud = start(f);
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let out = dir.path().join("report.yaml");
    let err = dir.path().join("stderr.txt");
    let tests = format!("{ENTROPY_TESTS}|{BACKUP_TESTS}");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_scs-cert"))
        .args([
            "run",
            "scopes/scs-compatible-iaas.yaml",
            "--os-cloud",
            "simcloud",
            "-s",
            "test-cloud",
            "--tests",
            &tests,
            "--checks",
            real_checks().to_str().expect("utf-8"),
            "--jobs",
            "1",
            "--no-history",
            "-o",
            out.to_str().expect("utf-8"),
        ])
        .current_dir(root())
        .env("SCS_CERT_CACHE_DIR", cache_dir())
        .env("HOME", env!("CARGO_TARGET_TMPDIR"))
        .env("OS_CLIENT_CONFIG_FILE", &clouds)
        .env_remove("OS_CLOUD")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err).expect("stderr file"))
        .spawn()
        .expect("start scs-cert");
    // the first write check is running once it has created its first resource
    let t0 = Instant::now();
    while {
        let r = cloud.resources();
        r.servers.is_empty() && r.volumes.is_empty() && r.networks.is_empty()
    } {
        assert!(
            t0.elapsed() < Duration::from_secs(300) && child.try_wait().ok().flatten().is_none(),
            "no resource created: {}",
            std::fs::read_to_string(&err).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = child.id().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(kill.success());
    let t1 = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(300),
            "no exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    assert_eq!(status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("SIGTERM: stopping"), "{stderr}");
    assert!(stderr.contains("the run was stopped (SIGTERM)"), "{stderr}");
    let report = read_report(&out);
    let logs = log_lines(&report);
    assert_eq!(
        results_of(&report),
        verdicts(&[(ENTROPY_AVAIL, 0), (FIPS_TEST, 0), (TEST_BACKUP, 0)]),
        "{}",
        logs.join("\n")
    );
    let count = |needle: &str| logs.iter().filter(|l| l.contains(needle)).count();
    assert!(
        count("stopped: the run was stopped (SIGTERM) while the check ran") >= 1
            && count("not run: the run was stopped (SIGTERM) before scs-0") >= 1,
        "one check stopped while it ran, the other never started:\n{}",
        logs.join("\n")
    );
    assert!(
        logs.iter()
            .any(|l| l.contains("cleanup phase after the abort: completed")),
        "{}",
        logs.join("\n")
    );
    let o = Outcome {
        results: results_of(&report),
        logs,
        cli: CliRun {
            code: 143,
            stdout: String::new(),
            stderr,
        },
        took: t0.elapsed(),
    };
    assert_nothing_left(&cloud, &o);
}

//! Fair scheduling between components (hardening, hole 6): components spinning in pure
//! computation must not hold the host's worker threads, or an honest component waiting for a
//! cloud answer misses its deadline and its verdict changes.

use crate::common::*;

/// Three components spin for their whole 8 s deadline while an honest one with a 4 s
/// deadline reads the cloud ten times, 100 ms apart. With more spinners than worker threads, the honest
/// component's answer could not be taken up before its deadline unless the spinners yield on
/// every epoch tick; with fair scheduling it passes, and the spinners still end at their own
/// deadlines.
#[test]
fn spinning_components_cannot_starve_an_honest_one() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(
        dir.path(),
        &["test-a-quick", "test-spin-a", "test-spin-b", "test-spin-c"],
    );
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("test-a-quick|test-spin".into());
    opts.jobs = 4;
    let r = run_lib(&opts);
    let results = r.report.results();
    for c in &r.report.provenance.components {
        eprintln!(
            "component {} took {} ms, {} requests",
            c.id, c.elapsed_ms, c.requests
        );
    }
    assert_eq!(
        results.get("test-a-quick"),
        Some(&1),
        "the honest component passes: {:?}",
        r.report
            .invocations
            .iter()
            .flat_map(|i| i.stderr.clone())
            .collect::<Vec<_>>()
    );
    for spinner in ["test-spin-a", "test-spin-b", "test-spin-c"] {
        assert_eq!(
            results.get(spinner),
            Some(&0),
            "{spinner} ends at its deadline"
        );
    }
}

/// The write checks of the IaaS scope: scs-0101, scs-0116, scs-0117 (scs-0115 writes only in
/// its fallback and is left out).
const WRITES: &str = "scs-0101-.*|scs-0116-.*|scs-0117-.*";

/// Issue 11, quotas: with the OpenStack default quota the write checks run alongside each
/// other, and the report says why.
#[test]
fn write_checks_run_concurrently_when_the_free_quota_holds_them() {
    let cloud = start_cloud("compliant");
    let (cli, report) = run_scope(&cloud, WRITES, &["--virtual-clock"]);
    assert_eq!(cli.code, 0, "{}", cli.stderr);
    let line = report["run"]["scs_cert"]["write_checks"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        line.starts_with("concurrent: the free quota holds all 3 write checks at once"),
        "{line}"
    );
    assert!(
        cli.stderr.contains(&format!("write checks: {line}")),
        "{}",
        cli.stderr
    );
    // the host read the limits once per service, through the mediation
    let reqs = cloud.requests();
    for p in ["/compute/v2.1/limits", "/volume/v3/"] {
        assert!(
            reqs.iter()
                .any(|q| q.method == "GET" && q.path.starts_with(p)),
            "{p} not read"
        );
    }
}

/// Issue 11, quotas: the official suite runs its write tests one after another, so a project
/// with room for scs-0101's volume or scs-0117's two volumes, but not all three at once,
/// passes there. Here the host reads the limits, runs the write checks one after another
/// (scs-0117 creates its first volume only after scs-0101 has deleted its server), every
/// testcase passes, and the report names the limiting quota.
#[test]
fn write_checks_take_turns_when_the_quota_is_too_small_for_all_at_once() {
    let cloud = start_cloud("small-quota");
    let (cli, report) = run_scope(&cloud, WRITES, &["--virtual-clock"]);
    assert_eq!(cli.code, 0, "{}", cli.stderr);
    assert_eq!(
        report["run"]["scs_cert"]["write_checks"],
        "one after another: volume.volumes: 2 free, 3 needed at once \
         (scs-0101-entropy 1, scs-0117-volume-backup 2)"
    );
    let reqs = cloud.requests();
    let pos = |pred: &dyn Fn(&simcloud::RecordedRequest) -> bool| reqs.iter().position(pred);
    let server_deleted = pos(&|q| q.method == "DELETE" && q.path.contains("/servers/"));
    let server_created = pos(&|q| q.method == "POST" && q.path.ends_with("/servers"));
    let volume_created = pos(&|q| q.method == "POST" && q.path.ends_with("/volumes"));
    let (Some(created), Some(deleted), Some(volume)) =
        (server_created, server_deleted, volume_created)
    else {
        panic!(
            "server create/delete and volume create expected: {server_created:?} {server_deleted:?} {volume_created:?}"
        );
    };
    assert!(
        volume < created || volume > deleted,
        "scs-0117's volume was created while scs-0101's server (and its volume) existed"
    );
    assert!(
        reqs.iter().all(|q| q.status != 413 && q.status != 403),
        "a quota refusal happened"
    );
    // and no two write checks overlapped: each one finished before the next one started
    let lines: Vec<&str> = cli.stderr.lines().collect();
    let line_of = |check: &str, finished: bool| {
        lines
            .iter()
            .position(|l| {
                l.starts_with(&format!("scs-cert: {check}: "))
                    && if finished {
                        l.contains(" passed, ")
                    } else {
                        l.ends_with(": started")
                    }
            })
            .unwrap_or_else(|| panic!("no start/end line of {check} in:\n{}", cli.stderr))
    };
    let mut spans: Vec<(usize, usize)> = [
        "scs-0101-entropy",
        "scs-0116-key-manager",
        "scs-0117-volume-backup",
    ]
    .iter()
    .map(|c| (line_of(c, false), line_of(c, true)))
    .collect();
    spans.sort_unstable();
    for w in spans.windows(2) {
        assert!(
            w[0].1 < w[1].0,
            "write checks overlapped: {spans:?}\n{}",
            cli.stderr
        );
    }
}

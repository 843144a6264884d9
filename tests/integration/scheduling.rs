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

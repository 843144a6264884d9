//! JUnit XML of a run, for CI dashboards (Zuul, GitLab, Jenkins read it).
//!
//! Owns: the mapping of a run onto the common JUnit schema: one `<testsuite>` per job
//! (name `subject: scope`), one `<testcase>` per result (`classname` the check component,
//! `name` the testcase id, `time` the component's wall time shared by its testcases), `<failure>` for FAIL and
//! `<error>` for ABORT with the reason lines, `<skipped>` for a selected testcase no
//! component implements; XML escaping of every text.
//!
//! Must never: write a character XML 1.0 forbids (control characters are dropped), or leave a
//! result out.

use super::{JobView, components, esc, reasons};
use std::fmt::Write as _;

/// The JUnit document of all jobs of a run.
pub fn render(jobs: &[JobView]) -> String {
    let mut suites = String::new();
    let (mut total, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    for job in jobs {
        let r = &job.report;
        let results = r.results();
        let why = reasons(r);
        let comps = components(r);
        // a component's wall time, shared evenly by its testcases (so a suite's times add up)
        let mut per_component: std::collections::BTreeMap<&str, usize> = Default::default();
        for id in comps.values() {
            *per_component.entry(id.as_str()).or_default() += 1;
        }
        let elapsed: std::collections::BTreeMap<&str, f64> = r
            .provenance
            .components
            .iter()
            .map(|c| {
                let n = per_component
                    .get(c.id.as_str())
                    .copied()
                    .unwrap_or(1)
                    .max(1);
                (c.id.as_str(), c.elapsed_ms as f64 / 1000.0 / n as f64)
            })
            .collect();
        let f = results.values().filter(|v| **v == -1).count();
        let e = results.values().filter(|v| **v == 0).count();
        let s = r.provenance.unimplemented.len();
        let n = results.len() + s;
        total += n;
        failures += f;
        errors += e;
        skipped += s;
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}: {}\" tests=\"{n}\" failures=\"{f}\" errors=\"{e}\" skipped=\"{s}\" time=\"{:.3}\" timestamp=\"{}\">",
            esc(&r.subject),
            esc(&r.spec.name),
            job.elapsed.as_secs_f64(),
            r.checked_at.format("%Y-%m-%dT%H:%M:%S"),
        );
        let _ = writeln!(
            suites,
            "    <properties>\n      <property name=\"run.uuid\" value=\"{}\"/>\n      <property name=\"scope.uuid\" value=\"{}\"/>\n      <property name=\"overall\" value=\"{}\"/>\n    </properties>",
            esc(&r.run_uuid),
            esc(&r.spec.uuid),
            job.overall
        );
        for (tc, v) in &results {
            let class = comps.get(tc).map(String::as_str).unwrap_or("scs-cert");
            let time = elapsed.get(class).copied().unwrap_or(0.0);
            let _ = write!(
                suites,
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{time:.3}\"",
                esc(class),
                esc(tc)
            );
            let lines = why.get(tc).map(|l| l.join("\n")).unwrap_or_default();
            let first = why
                .get(tc)
                .and_then(|l| l.first())
                .cloned()
                .unwrap_or_default();
            match v {
                1 => suites.push_str("/>\n"),
                -1 => {
                    let _ = writeln!(
                        suites,
                        ">\n      <failure message=\"{}\" type=\"FAIL\">{}</failure>\n    </testcase>",
                        esc(&first),
                        esc(&lines)
                    );
                }
                _ => {
                    let _ = writeln!(
                        suites,
                        ">\n      <error message=\"{}\" type=\"ABORT\">{}</error>\n    </testcase>",
                        esc(&first),
                        esc(&lines)
                    );
                }
            }
        }
        for tc in &r.provenance.unimplemented {
            let _ = writeln!(
                suites,
                "    <testcase classname=\"scs-cert\" name=\"{}\" time=\"0\">\n      <skipped message=\"no check component implements this testcase (MISSING)\"/>\n    </testcase>",
                esc(tc)
            );
        }
        suites.push_str("  </testsuite>\n");
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"scs-cert\" tests=\"{total}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n{suites}</testsuites>\n"
    )
}

//! The Prometheus textfile of a run (`--metrics-file`), for alerting when a cloud falls out
//! of compliance (node_exporter's textfile collector reads it).
//!
//! Owns: the metric names and their label sets, the exposition format (HELP and TYPE lines,
//! label values escaped), and the values: per testcase the result and when it expires, per job
//! the overall verdict, the per-version and per-target monitor verdict, the run's time and
//! duration, and the testcase counts by result.
//!
//! Must never: emit a label value unescaped, or a metric without its HELP and TYPE lines.

use super::JobView;
use std::fmt::Write as _;

/// Escape a label value (backslash, double quote, line feed).
pub fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn overall_value(o: &str) -> i8 {
    match o {
        "pass" => 1,
        "fail" => -1,
        "tentative" => 2,
        _ => 0,
    }
}

/// The textfile for all jobs of a run.
pub fn render(jobs: &[JobView]) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, rows: Vec<(String, String)>| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in rows {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    };
    let base = |j: &JobView| {
        format!(
            "subject=\"{}\",scope=\"{}\"",
            label(&j.report.subject),
            label(&j.report.spec.name)
        )
    };
    family(
        "scs_cert_run_overall",
        "gauge",
        "Overall verdict of the job's selected testcases: 1 pass, -1 fail, 0 abort, 2 tentative (missing results).",
        jobs.iter()
            .map(|j| (base(j), overall_value(j.overall).to_string()))
            .collect(),
    );
    family(
        "scs_cert_run_timestamp_seconds",
        "gauge",
        "When the job's results were checked (Unix time, from the report's checked_at in local time).",
        jobs.iter()
            .map(|j| {
                let t = j
                    .report
                    .checked_at
                    .and_local_timezone(chrono::Local)
                    .earliest()
                    .map_or(0, |t| t.timestamp());
                (base(j), t.to_string())
            })
            .collect(),
    );
    family(
        "scs_cert_run_duration_seconds",
        "gauge",
        "Wall time of the job.",
        jobs.iter()
            .map(|j| (base(j), format!("{:.3}", j.elapsed.as_secs_f64())))
            .collect(),
    );
    let mut counts = Vec::new();
    for j in jobs {
        let results = j.report.results();
        for (word, v) in [("pass", 1i8), ("fail", -1), ("abort", 0)] {
            let n = results.values().filter(|x| **x == v).count();
            counts.push((format!("{},result=\"{word}\"", base(j)), n.to_string()));
        }
        counts.push((
            format!("{},result=\"missing\"", base(j)),
            j.report.provenance.unimplemented.len().to_string(),
        ));
    }
    family(
        "scs_cert_testcases",
        "gauge",
        "Selected testcases of the job by result.",
        counts,
    );
    let mut targets = Vec::new();
    for j in jobs {
        for (version, sums) in &j.summaries {
            for s in sums {
                let v = match s.monitor_result {
                    Some(1) => "1",
                    Some(-1) => "-1",
                    Some(_) => "0",
                    None => "2",
                };
                targets.push((
                    format!(
                        "{},version=\"{}\",target=\"{}\"",
                        base(j),
                        label(version),
                        label(&s.target)
                    ),
                    v.to_string(),
                ));
            }
        }
    }
    family(
        "scs_cert_target_result",
        "gauge",
        "The compliance monitor's verdict of each version and target: 1 pass, -1 fail, 0 abort, 2 missing results.",
        targets,
    );
    let mut tcs = Vec::new();
    let mut expiry = Vec::new();
    for j in jobs {
        for (tc, v) in j.report.results() {
            let l = format!("{},testcase=\"{}\"", base(j), label(&tc));
            tcs.push((l.clone(), v.to_string()));
            let lifetime = j
                .spec
                .testcases
                .get(&tc)
                .map(|t| t.lifetime)
                .unwrap_or_default();
            let at = crate::history::expires_at(j.report.checked_at, lifetime)
                .and_local_timezone(chrono::Local)
                .earliest()
                .map_or(0, |t| t.timestamp());
            expiry.push((l, at.to_string()));
        }
        // --due: a testcase left out keeps its series, with its earlier PASS and its expiry
        for (tc, until) in &j.not_due {
            let l = format!("{},testcase=\"{}\"", base(j), label(tc));
            tcs.push((l.clone(), "1".to_string()));
            let at = until
                .and_local_timezone(chrono::Local)
                .earliest()
                .map_or(0, |t| t.timestamp());
            expiry.push((l, at.to_string()));
        }
    }
    family(
        "scs_cert_testcase_result",
        "gauge",
        "Result of each testcase in the job: 1 PASS, -1 FAIL, 0 ABORT (with --due, a testcase not due shows its earlier PASS).",
        tcs,
    );
    family(
        "scs_cert_testcase_expiry_timestamp_seconds",
        "gauge",
        "When the testcase's result expires at the compliance monitor by its lifetime (Unix time).",
        expiry,
    );
    out
}

//! The HTML report: one self-contained page per run (inline style, no script, nothing
//! fetched), for people.
//!
//! Owns: the page layout: a summary of all jobs; per job the verdict matrix (versions x
//! targets, the monitor's verdicts), every FAIL and ABORT with its reason lines and a link to
//! the standard's text (the testcase's `url` in the scope), what changed since the previous
//! run of the same subject and scope (from the results history), every result with its
//! section, lifetime and expiry, and the provenance (host, bundle and signers, contributions,
//! data, transcript, cloud or cluster, components with digests).
//!
//! Must never: put report or cloud text into the page unescaped, link to anything but an
//! `https://` URL from the scope, or load anything when opened.

use super::{Change, JobView, components, esc, reasons, verdict_word};
use std::fmt::Write as _;

const STYLE: &str = "
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1d2430;line-height:1.4}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{font-size:1.3rem;margin-top:2.4rem;border-bottom:2px solid #dde3ea;padding-bottom:.2rem}
h3{font-size:1.05rem;margin-top:1.6rem}
table{border-collapse:collapse;margin:.6rem 0;width:100%}th,td{border:1px solid #dde3ea;padding:.3rem .5rem;text-align:left;vertical-align:top;font-size:.92rem}
th{background:#f3f6f9}code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.85rem;word-break:break-all}
.v{font-weight:600;white-space:nowrap;border-radius:3px;padding:.05rem .4rem}
.pass{background:#d9f2df;color:#11612b}.fail{background:#fbdcdc;color:#9b1c1c}.abort{background:#fdebd0;color:#8a4b06}
.tentative,.missing{background:#e8e8f4;color:#3d3d7a}.same{color:#68717d}.changed{background:#fff6cc}
.reason{margin:.2rem 0 0 0;padding:.4rem .6rem;background:#f7f7f9;border-left:3px solid #c7ccd4;white-space:pre-wrap;font-family:ui-monospace,monospace;font-size:.82rem}
.meta{color:#5a6472;font-size:.9rem}
";

fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"v {class}\">{}</span>", esc(text))
}

fn result_badge(v: i8) -> String {
    let w = verdict_word(v);
    badge(&w.to_ascii_lowercase(), w)
}

fn overall_badge(o: &str) -> String {
    let text = match o {
        "pass" => "PASS",
        "fail" => "FAIL",
        "abort" => "ABORT",
        _ => "TENTATIVE",
    };
    badge(o, text)
}

/// An https link from the scope, else the text alone.
fn link(url: Option<&str>, text: &str) -> String {
    match url {
        Some(u) if u.starts_with("https://") => {
            format!("<a href=\"{}\">{}</a>", esc(u), esc(text))
        }
        _ => esc(text),
    }
}

/// The page for all jobs of a run.
pub fn render(jobs: &[JobView]) -> String {
    let mut b = String::new();
    let title = match jobs {
        [one] => format!("{}: {}", one.report.subject, one.report.spec.name),
        _ => format!("{} jobs", jobs.len()),
    };
    let _ = write!(
        b,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>scs-cert: {}</title><style>{STYLE}</style></head><body>\n",
        esc(&title)
    );
    let _ = writeln!(b, "<h1>SCS certification report</h1>");
    let _ = writeln!(
        b,
        "<p class=\"meta\">Written by scs-cert {}. The signed YAML report is the record; this \
         page shows it.</p>",
        esc(env!("CARGO_PKG_VERSION"))
    );
    b.push_str("<table><tr><th>subject</th><th>scope</th><th>checked at</th><th>verdict</th><th>results</th></tr>\n");
    for (i, j) in jobs.iter().enumerate() {
        let results = j.report.results();
        let n = |v: i8| results.values().filter(|x| **x == v).count();
        let _ = writeln!(
            b,
            "<tr><td><a href=\"#job-{i}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{} passed, {} failed, {} aborted, {} missing</td></tr>",
            esc(&j.report.subject),
            esc(&j.report.spec.name),
            esc(&j.report.checked_at.format("%Y-%m-%d %H:%M:%S").to_string()),
            overall_badge(j.overall),
            n(1),
            n(-1),
            n(0),
            j.report.provenance.unimplemented.len()
        );
    }
    b.push_str("</table>\n");
    for (i, j) in jobs.iter().enumerate() {
        job(&mut b, i, j);
    }
    b.push_str("</body></html>\n");
    b
}

fn job(b: &mut String, i: usize, j: &JobView) {
    let r = &j.report;
    let _ = writeln!(
        b,
        "<h2 id=\"job-{i}\">{} · {} {}</h2>",
        esc(&r.subject),
        link(r.spec.url.as_deref(), &r.spec.name),
        overall_badge(j.overall)
    );
    let _ = writeln!(
        b,
        "<p class=\"meta\">checked at {} (reference date {}) in {:.1} s · run <code>{}</code>{}</p>",
        esc(&r.checked_at.format("%Y-%m-%d %H:%M:%S").to_string()),
        esc(&r.reference_date.to_string()),
        j.elapsed.as_secs_f64(),
        esc(&r.run_uuid),
        selection_note(r)
    );

    // the verdict matrix: versions x targets
    let mut targets: Vec<&str> = Vec::new();
    for (_, sums) in &j.summaries {
        for s in sums {
            if !targets.contains(&s.target.as_str()) {
                targets.push(&s.target);
            }
        }
    }
    b.push_str("<h3>Verdicts by version and target</h3>\n<table><tr><th>version</th>");
    for t in &targets {
        let _ = write!(b, "<th>{}</th>", esc(t));
    }
    b.push_str("</tr>\n");
    for (version, sums) in &j.summaries {
        let _ = write!(b, "<tr><td>{}</td>", esc(version));
        for t in &targets {
            match sums.iter().find(|s| s.target == *t) {
                Some(s) => {
                    let class = match s.monitor_result {
                        Some(1) => "pass",
                        Some(-1) => "fail",
                        Some(_) => "abort",
                        None => "tentative",
                    };
                    let _ = write!(b, "<td>{}</td>", badge(class, &s.verdict_text()));
                }
                None => b.push_str("<td></td>"),
            }
        }
        b.push_str("</tr>\n");
    }
    b.push_str("</table>\n");

    // failures and aborts with their reasons
    let results = r.results();
    let why = reasons(r);
    let comps = components(r);
    let bad: Vec<(&String, &i8)> = results.iter().filter(|(_, v)| **v != 1).collect();
    let _ = writeln!(b, "<h3>Failed and aborted testcases ({})</h3>", bad.len());
    if bad.is_empty() {
        b.push_str("<p>None.</p>\n");
    }
    for (tc, v) in bad {
        let t = j.spec.testcases.get(tc.as_str());
        let _ = writeln!(
            b,
            "<p>{} <strong>{}</strong> · {}{}{}</p>",
            result_badge(*v),
            link(t.and_then(|t| t.url.as_deref()), tc),
            esc(comps.get(tc.as_str()).map(String::as_str).unwrap_or("")),
            t.and_then(|t| t.section.as_deref())
                .map(|s| format!(" · section {}", esc(s)))
                .unwrap_or_default(),
            t.and_then(|t| t.description.as_deref())
                .map(|d| format!("<br><span class=\"meta\">{}</span>", esc(d)))
                .unwrap_or_default(),
        );
        let lines = why
            .get(tc.as_str())
            .map(|l| l.join("\n"))
            .unwrap_or_default();
        let _ = writeln!(b, "<div class=\"reason\">{}</div>", esc(&lines));
    }

    // changes since the previous run
    b.push_str("<h3>Since the previous run</h3>\n");
    match &j.previous {
        None => {
            b.push_str("<p>No earlier run of this subject and scope in the results history.</p>\n")
        }
        Some(p) => {
            let changed: Vec<(&String, i8, i8)> = results
                .iter()
                .filter_map(|(tc, v)| match j.change(tc, *v) {
                    Change::Was(was) => Some((tc, was, *v)),
                    _ => None,
                })
                .collect();
            let new: Vec<&String> = results
                .iter()
                .filter(|(tc, v)| j.change(tc, **v) == Change::New)
                .map(|(tc, _)| tc)
                .collect();
            let dropped = j.dropped();
            let _ = writeln!(
                b,
                "<p class=\"meta\">Compared with run <code>{}</code> of {} ({}).</p>",
                esc(&p.run_uuid),
                esc(&p.checked_at.format("%Y-%m-%d %H:%M:%S").to_string()),
                esc(&p.overall)
            );
            if changed.is_empty() && new.is_empty() && dropped.is_empty() {
                b.push_str("<p>No result changed.</p>\n");
            } else {
                b.push_str("<table><tr><th>testcase</th><th>before</th><th>now</th></tr>\n");
                for (tc, was, now) in changed {
                    let _ = writeln!(
                        b,
                        "<tr class=\"changed\"><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(tc),
                        result_badge(was),
                        result_badge(now)
                    );
                }
                for tc in new {
                    let _ = writeln!(
                        b,
                        "<tr><td>{}</td><td>not run</td><td>{}</td></tr>",
                        esc(tc),
                        result_badge(results[tc])
                    );
                }
                for (tc, was) in dropped {
                    let _ = writeln!(
                        b,
                        "<tr><td>{}</td><td>{}</td><td>not run</td></tr>",
                        esc(&tc),
                        result_badge(was)
                    );
                }
                b.push_str("</table>\n");
            }
        }
    }

    // every result
    let _ = writeln!(b, "<h3>All results ({})</h3>", results.len());
    b.push_str("<table><tr><th>testcase</th><th>result</th><th>check</th><th>section</th><th>lifetime</th><th>expires (at 00:00)</th></tr>\n");
    for (tc, v) in &results {
        let t = j.spec.testcases.get(tc.as_str());
        let lifetime = t.map(|t| t.lifetime).unwrap_or_default();
        let until = if *v == 0 {
            String::new()
        } else {
            crate::history::expires_at(r.checked_at, lifetime)
                .format("%Y-%m-%d")
                .to_string()
        };
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            link(t.and_then(|t| t.url.as_deref()), tc),
            result_badge(*v),
            esc(comps.get(tc.as_str()).map(String::as_str).unwrap_or("")),
            esc(t.and_then(|t| t.section.as_deref()).unwrap_or("")),
            lifetime.as_str(),
            esc(&until)
        );
    }
    for (tc, until) in &j.not_due {
        let t = j.spec.testcases.get(tc.as_str());
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td colspan=\"2\">not due: an earlier run's PASS</td><td>{}</td><td>{}</td></tr>",
            link(t.and_then(|t| t.url.as_deref()), tc),
            badge("pass", "PASS"),
            t.map_or("", |t| t.lifetime.as_str()),
            esc(&until.format("%Y-%m-%d").to_string())
        );
    }
    for tc in &r.provenance.unimplemented {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td colspan=\"4\">no check component implements it</td></tr>",
            esc(tc),
            badge("missing", "MISSING")
        );
    }
    b.push_str("</table>\n");
    provenance(b, j);
}

fn selection_note(r: &crate::report::Report) -> String {
    let mut parts = Vec::new();
    if let Some(s) = &r.sections {
        parts.push(format!("sections {}", s.join(",")));
    }
    if let Some(t) = &r.forced_tests {
        parts.push(format!("tests {t}"));
    }
    if let Some(v) = &r.forced_version {
        parts.push(format!("version {v}"));
    }
    if r.argv.iter().any(|a| a == "--due") {
        parts.push("testcases due by lifetime (--due)".to_string());
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" · {}", esc(&parts.join(", ")))
    }
}

/// A signed bundle: name, version, sequence, expiry, archive digest, signers.
fn bundle_cell(bu: &crate::report::BundleProvenance) -> String {
    format!(
        "{} {} (sequence {}), expires {}<br>archive sha256 <code>{}</code><br>signed by {}",
        esc(&bu.name),
        esc(&bu.version),
        bu.sequence,
        esc(&bu.expires),
        esc(&bu.archive_sha256),
        esc(&bu.signers.join(", "))
    )
}

fn provenance(b: &mut String, j: &JobView) {
    let p = &j.report.provenance;
    b.push_str("<h3>Provenance</h3>\n<table>\n");
    let row = |b: &mut String, k: &str, v: String| {
        let _ = writeln!(b, "<tr><th>{}</th><td>{v}</td></tr>", esc(k));
    };
    row(
        b,
        "host",
        format!("scs-cert {} · {}", esc(&p.host_version), esc(&p.wit)),
    );
    row(b, "checks", esc(&p.checks_source));
    match &p.bundle {
        Some(bu) => row(b, "bundle", bundle_cell(bu)),
        None => row(
            b,
            "bundle",
            "none: an unsigned development checks directory".to_string(),
        ),
    }
    for c in &p.contributions {
        row(b, "contribution", bundle_cell(c));
    }
    if let Some(d) = &p.data {
        row(
            b,
            "data",
            format!(
                "{} (sequence {}), generated {}, archive sha256 <code>{}</code>, signed by {}",
                esc(&d.name),
                d.sequence,
                esc(&d.generated_at),
                esc(&d.archive_sha256),
                esc(&d.signers.join(", "))
            ),
        );
    }
    if let Some(t) = &p.transcript {
        row(
            b,
            "transcript",
            format!("{} · sha256 <code>{}</code>", esc(&t.mode), esc(&t.sha256)),
        );
    }
    if let Some(c) = &p.cloud {
        row(
            b,
            "cloud",
            format!(
                "{} · project {} · user {} · region {}",
                esc(&c.identity),
                esc(&c.project),
                esc(&c.user),
                esc(&c.region)
            ),
        );
    }
    if let Some(c) = &p.cluster {
        row(
            b,
            "cluster",
            format!("{} (context {})", esc(&c.server), esc(&c.context)),
        );
    }
    if let Some(w) = &p.write_checks {
        row(b, "write checks", esc(w));
    }
    for o in &p.overrides {
        row(b, "override", format!("<strong>{}</strong>", esc(o)));
    }
    b.push_str("</table>\n<table><tr><th>component</th><th>version</th><th>sha256</th><th>requests</th><th>time</th></tr>\n");
    for c in &p.components {
        let _ = writeln!(
            b,
            "<tr><td>{}</td><td>{}</td><td class=\"mono\">{}</td><td>{}</td><td>{:.1} s</td></tr>",
            esc(&c.id),
            esc(&c.version),
            esc(&c.sha256),
            c.requests,
            c.elapsed_ms as f64 / 1000.0
        );
    }
    b.push_str("</table>\n");
}

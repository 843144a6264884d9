//! Views of a finished run for people and dashboards: a self-contained HTML page
//! ([`html`]), JUnit XML for CI dashboards ([`junit`]) and a Prometheus textfile for alerting
//! ([`metrics`]).
//!
//! Owns: [`JobView`], what every view shows of one job (subject x scope): the report, the
//! scope it ran (sections, lifetimes, the standards' URLs), the per-version and per-target
//! summaries, the overall verdict, the previous run of the same subject and scope from the
//! results history, and the reason lines of each failed or aborted testcase ([`reasons`]).
//!
//! Must never: fetch anything or reference anything outside the file it writes (the HTML page
//! works offline, without scripts), write text from the report or the cloud unescaped into
//! markup, or show a credential (reports have none; views add none).

pub mod html;
pub mod junit;
pub mod metrics;

use crate::history::RunRow;
use crate::report::Report;
use crate::scope::{Spec, TargetSummary};
use std::collections::BTreeMap;
use std::time::Duration;

/// Reason lines kept per testcase.
pub const MAX_REASON_LINES: usize = 12;
/// Characters kept per reason line.
pub const MAX_REASON_CHARS: usize = 400;

/// One job of a run, as the views show it.
#[derive(Debug, Clone)]
pub struct JobView {
    /// The job's report.
    pub report: Report,
    /// The scope it ran.
    pub spec: Spec,
    /// Per version: the summaries of the requested targets.
    pub summaries: Vec<(String, Vec<TargetSummary>)>,
    /// `pass`, `fail`, `abort` or `tentative`.
    pub overall: &'static str,
    /// The previous run of this subject and scope in the results history, if any.
    pub previous: Option<RunRow>,
    /// Wall time of the job.
    pub elapsed: Duration,
    /// With `--due`: the selected testcases left out because their PASS from an earlier run
    /// is still valid, with the moment it expires.
    pub not_due: Vec<(String, chrono::NaiveDateTime)>,
}

/// Escape text for HTML and XML, in content and in attribute values (`&#39;` serves both);
/// control characters other than tab, line feed and carriage return, and the two
/// non-characters XML 1.0 cannot carry, are dropped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// `PASS`, `FAIL`, `ABORT` for 1, -1, 0.
pub fn verdict_word(v: i8) -> &'static str {
    match v {
        1 => "PASS",
        -1 => "FAIL",
        _ => "ABORT",
    }
}

/// How a testcase's result changed since the previous run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// No previous run, or the previous run did not have it.
    New,
    /// Same result.
    Same,
    /// Different result (the previous one).
    Was(i8),
}

impl JobView {
    /// The change of `testcase` (with result `now`) since the previous run.
    pub fn change(&self, testcase: &str, now: i8) -> Change {
        match self.previous.as_ref().and_then(|p| p.results.get(testcase)) {
            None => Change::New,
            Some(&was) if was == now => Change::Same,
            Some(&was) => Change::Was(was),
        }
    }

    /// Testcases the previous run had and this one has not (those left out as not due are
    /// not dropped: their earlier PASS stands).
    pub fn dropped(&self) -> Vec<(String, i8)> {
        let now = self.report.results();
        self.previous
            .iter()
            .flat_map(|p| p.results.iter())
            .filter(|(k, _)| !now.contains_key(*k))
            .filter(|(k, _)| !self.not_due.iter().any(|(t, _)| t == *k))
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

/// Why each failed or aborted testcase of `report` did not pass: the `ERROR:` and `CRITICAL:`
/// lines of the component that ran it (the official line protocol names no testcase per log
/// line, so a component's lines go to each of its failing testcases; lines that name the
/// testcase come first), bounded by [`MAX_REASON_LINES`] and [`MAX_REASON_CHARS`].
pub fn reasons(report: &Report) -> BTreeMap<String, Vec<String>> {
    let mut out = BTreeMap::new();
    for inv in &report.invocations {
        let lines: Vec<&String> = inv
            .stderr
            .iter()
            .filter(|l| l.starts_with("ERROR:") || l.starts_with("CRITICAL:"))
            .collect();
        for (tc, v) in &inv.results {
            if *v == 1 {
                continue;
            }
            let mut mine: Vec<&String> = lines
                .iter()
                .copied()
                .filter(|l| l.contains(tc.as_str()))
                .collect();
            mine.extend(lines.iter().copied().filter(|l| !l.contains(tc.as_str())));
            let mut kept: Vec<String> = mine
                .into_iter()
                .take(MAX_REASON_LINES)
                .map(|l| crate::errtext::bounded_text(l, MAX_REASON_CHARS))
                .collect();
            if kept.is_empty() {
                kept.push(match v {
                    -1 => "the check reported FAIL without an ERROR line".to_string(),
                    _ => "the check reported ABORT without a CRITICAL line".to_string(),
                });
            }
            out.insert(tc.clone(), kept);
        }
    }
    out
}

/// The component (check id) that ran each testcase, from the report's provenance.
pub fn components(report: &Report) -> BTreeMap<String, String> {
    let mut by_invocation = BTreeMap::new();
    for c in &report.provenance.components {
        by_invocation.insert(c.invocation.clone(), c.id.clone());
    }
    let mut out = BTreeMap::new();
    for inv in &report.invocations {
        if let Some(id) = by_invocation.get(&inv.id) {
            for (tc, _) in &inv.results {
                out.insert(tc.clone(), id.clone());
            }
        }
    }
    out
}

/// Which view files a run writes (`--html`, `--junit`, `--metrics-file`) [default: none].
#[derive(Debug, Clone, Default)]
pub struct ViewFiles {
    /// The HTML page.
    pub html: Option<std::path::PathBuf>,
    /// The JUnit XML.
    pub junit: Option<std::path::PathBuf>,
    /// The Prometheus textfile.
    pub metrics: Option<std::path::PathBuf>,
}

/// A view file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write the {what}: {message}", .path.display())]
pub struct ViewError {
    /// The file.
    pub path: std::path::PathBuf,
    /// `HTML report`, `JUnit XML`, `metrics file`.
    pub what: &'static str,
    /// Why.
    pub message: String,
}

/// Write the requested view files of `jobs`, each atomically (a reader, such as
/// node_exporter's textfile collector, never sees half a file). Returns what was written.
pub fn write_files(
    jobs: &[JobView],
    files: &ViewFiles,
) -> Result<Vec<(&'static str, std::path::PathBuf)>, ViewError> {
    let mut written = Vec::new();
    type Render = fn(&[JobView]) -> String;
    let outputs: [(&'static str, &Option<std::path::PathBuf>, Render); 3] = [
        ("HTML report", &files.html, html::render),
        ("JUnit XML", &files.junit, junit::render),
        ("metrics file", &files.metrics, metrics::render),
    ];
    for (what, path, render) in outputs {
        let Some(path) = path else { continue };
        crate::fsutil::write_atomic(path, render(jobs).as_bytes()).map_err(|e| ViewError {
            path: path.clone(),
            what,
            message: e.to_string(),
        })?;
        written.push((what, path.clone()));
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_is_escaped_and_characters_xml_cannot_carry_are_dropped() {
        assert_eq!(
            super::esc("<a href=\"x\">'&'</a>\u{1}\u{FFFF}\tend\n"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\tend\n"
        );
    }
}

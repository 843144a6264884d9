//! Selection: what a run takes from a loaded scope, and how a target is judged afterwards.
//!
//! Owns: the timeline entry in force on a date and the validity of every version on it, the
//! version selection by reference date (`-d`) or by force (`-V`) (a.2), the testcase selection
//! (manual testcases dropped, sections `-S`, the testcase regex `-t` with Python `re.match`
//! semantics, the `--recommended` companions) (a.3), the variable assignment (`-a k=v`) with
//! defaults, and the summary of a target from per-testcase results under both the console rule
//! and the compliance-monitor rule (a.3 step 7, c.2).
//!
//! Must never: read files or validate YAML (a [`Spec`] here is already valid; that is `load`),
//! run a testcase, touch the network or keep global state. It only computes from a [`Spec`], a
//! date and the operator's options.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use regex::Regex;

use super::model::{
    ScopeError, SelectedVersion, Spec, TargetSummary, TargetVerdict, TimelineEntry, Validity,
};

impl Spec {
    /// The timeline entry in force on `date`: the one with the greatest `date <= date` (on a tie,
    /// the first in the file).
    pub(crate) fn timeline_entry(&self, date: NaiveDate) -> Option<&TimelineEntry> {
        let mut best: Option<&TimelineEntry> = None;
        for entry in self.timeline.iter().filter(|e| e.date <= date) {
            if best.is_none_or(|b| entry.date > b.date) {
                best = Some(entry);
            }
        }
        best
    }

    /// The validity of every version on `date`, in file order: `(name, validity, explicit)`.
    pub(crate) fn validities(&self, date: NaiveDate) -> Vec<SelectedVersion> {
        let entry = self.timeline_entry(date);
        self.versions
            .iter()
            .map(|v| {
                let listed = entry
                    .and_then(|e| e.versions.iter().find(|(n, _)| *n == v.version))
                    .map(|(_, c)| *c);
                SelectedVersion {
                    name: v.version.clone(),
                    validity: listed.unwrap_or(Validity::Deprecated),
                    explicit: listed.is_some(),
                }
            })
            .collect()
    }

    /// a.2: the versions to test on `date`, in file order. Without `forced`, every version that
    /// the timeline entry in force names (any code, `deprecated` and `draft` included); none is
    /// an error. With `forced` (`-V`), exactly that version, whatever its validity.
    pub fn select_versions(
        &self,
        date: NaiveDate,
        forced: Option<&str>,
    ) -> Result<Vec<SelectedVersion>, ScopeError> {
        let all = self.validities(date);
        if let Some(name) = forced {
            return match all.into_iter().find(|v| v.name == name) {
                Some(v) => Ok(vec![v]),
                None => Err(ScopeError::VersionNotFound {
                    file: self.path.clone(),
                    name: name.to_string(),
                    known: self
                        .versions
                        .iter()
                        .map(|v| v.version.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                }),
            };
        }
        let chosen: Vec<SelectedVersion> = all.into_iter().filter(|v| v.explicit).collect();
        if chosen.is_empty() {
            return Err(ScopeError::NoValidVersion {
                file: self.path.clone(),
                date,
            });
        }
        Ok(chosen)
    }

    /// a.3 steps 2-3: the sorted union of the testcase ids in `targets` of the given versions
    /// (an empty `targets` means every target, which is what the official runner collects; in
    /// practice only `main` exists), minus manual testcases, minus those whose `section` is not
    /// in `sections` (when `sections` is given and non-empty, testcases without a section are
    /// dropped too), minus those `tests` does not match at the start of the id (Python
    /// `re.match`). Unknown version names are skipped.
    pub fn select_testcases(
        &self,
        versions: &[SelectedVersion],
        targets: &[&str],
        sections: Option<&[String]>,
        tests: Option<&Regex>,
    ) -> Vec<String> {
        let sections = sections.filter(|s| !s.is_empty());
        let mut out = BTreeSet::new();
        for sel in versions {
            let Some(version) = self.version(&sel.name) else {
                continue;
            };
            for (tname, ids) in &version.targets {
                if !targets.is_empty() && !targets.contains(&tname.as_str()) {
                    continue;
                }
                for id in ids {
                    if self.keep(id, sections, tests) {
                        out.insert(id.clone());
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    /// a.3 step 3: whether a declared testcase stays selected: not manual,
    /// in one of `sections` (when given), matched by `tests` at its start.
    fn keep(&self, id: &str, sections: Option<&[String]>, tests: Option<&Regex>) -> bool {
        let Some(tc) = self.testcases.get(id) else {
            return false;
        };
        if tc.manual {
            return false;
        }
        if let Some(sections) = sections
            && !tc.section.as_ref().is_some_and(|s| sections.contains(s))
        {
            return false;
        }
        tests.is_none_or(|re| matches_at_start(re, id))
    }

    /// The testcases an operator gets with `--recommended` (scs-cert's
    /// extension; the official suite never runs them, finding 0.1): the
    /// `recommended` targets of each included module and of its `<id>-rec`
    /// companion module, filtered like [`Spec::select_testcases`], sorted.
    pub(crate) fn select_recommended(
        &self,
        versions: &[SelectedVersion],
        sections: Option<&[String]>,
        tests: Option<&Regex>,
    ) -> Vec<String> {
        let sections = sections.filter(|s| !s.is_empty());
        let mut out = BTreeSet::new();
        for sel in versions {
            let Some(version) = self.version(&sel.name) else {
                continue;
            };
            for inc in &version.include {
                let companion = format!("{}-rec", inc.module);
                for m in [self.module(&inc.module), self.module(&companion)]
                    .into_iter()
                    .flatten()
                {
                    for (tname, ids) in &m.targets {
                        if tname != "recommended" {
                            continue;
                        }
                        for id in ids {
                            if self.keep(id, sections, tests) {
                                out.insert(id.clone());
                            }
                        }
                    }
                }
            }
        }
        out.into_iter().collect()
    }

    /// `-a k=v` handling: an assignment given twice is an error (checked first, as the official
    /// option parser does); keys the spec does not declare are accepted and kept; defaults fill
    /// in what is not assigned; a required variable (declared without default) left without a
    /// value is an error naming all of them. Returns the full assignment.
    pub fn resolve_variables(
        &self,
        assignments: &[(String, String)],
    ) -> Result<BTreeMap<String, String>, ScopeError> {
        let mut given: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in assignments {
            if given.insert(k.clone(), v.clone()).is_some() {
                return Err(ScopeError::DuplicateAssignment {
                    file: self.path.clone(),
                    key: k.clone(),
                });
            }
        }
        let mut all: BTreeMap<String, String> = BTreeMap::new();
        for var in &self.variables {
            if let Some(d) = &var.default {
                all.insert(var.name.clone(), d.clone());
            }
        }
        all.extend(given);
        let mut missing: Vec<String> = Vec::new();
        for var in &self.variables {
            if var.default.is_none() && !all.contains_key(&var.name) && !missing.contains(&var.name)
            {
                missing.push(var.name.clone());
            }
        }
        if !missing.is_empty() {
            return Err(ScopeError::MissingVariables {
                file: self.path.clone(),
                names: missing,
            });
        }
        Ok(all)
    }
}

/// Python `re.match(pattern, s)`: a match that starts at the beginning of `s` (not necessarily
/// reaching its end). The leftmost match starts at 0 exactly when any match does.
pub fn matches_at_start(re: &Regex, s: &str) -> bool {
    re.find(s).is_some_and(|m| m.start() == 0)
}

/// a.3 step 7 and c.2: the verdict of `target` of `version` from per-testcase results
/// (`1` PASS, `0` ABORT, `-1` FAIL; an absent id is missing; other values fall in no bucket,
/// as in the official code). `narrowed` (`-S` or `-t` given) only hides the MISSING listing.
/// `selected` are the ids that were run; it only feeds [`TargetSummary::not_selected`].
/// An unknown version or target has no testcases.
pub fn summarize(
    spec: &Spec,
    version: &str,
    target: &str,
    results: &BTreeMap<String, i8>,
    narrowed: bool,
    selected: &[String],
) -> TargetSummary {
    let ids: &[String] = spec
        .version(version)
        .and_then(|v| v.target(target))
        .unwrap_or(&[]);
    summarize_ids(target, ids, results, narrowed, selected)
}

/// [`summarize`] over an explicit list of testcase ids (used for the
/// `recommended` companions that `--recommended` adds).
pub(crate) fn summarize_ids(
    target: &str,
    ids: &[String],
    results: &BTreeMap<String, i8>,
    narrowed: bool,
    selected: &[String],
) -> TargetSummary {
    let (mut passed, mut failed, mut aborted, mut missing) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for id in ids {
        match results.get(id) {
            None => missing.push(id.clone()),
            Some(1) => passed.push(id.clone()),
            Some(0) => aborted.push(id.clone()),
            Some(-1) => failed.push(id.clone()),
            Some(_) => {}
        }
    }
    let verdict = if !failed.is_empty() || !aborted.is_empty() {
        TargetVerdict::Fail
    } else if !missing.is_empty() {
        TargetVerdict::TentativePass
    } else {
        TargetVerdict::Pass
    };
    let monitor_result = if !failed.is_empty() {
        Some(-1)
    } else if !missing.is_empty() {
        None
    } else if !aborted.is_empty() {
        Some(0)
    } else {
        Some(1)
    };
    let not_selected = missing
        .iter()
        .filter(|id| !selected.contains(id))
        .cloned()
        .collect();
    TargetSummary {
        target: target.to_string(),
        verdict,
        monitor_result,
        passed,
        failed,
        aborted,
        missing,
        show_missing: !narrowed,
        not_selected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn re_match_is_anchored_at_the_start_only() {
        let re = |p: &str| Regex::new(p).expect("regex");
        assert!(matches_at_start(&re("scs-01"), "scs-0100-x"));
        assert!(matches_at_start(&re("scs"), "scs-0100-x"));
        assert!(!matches_at_start(&re("0100"), "scs-0100-x"));
        assert!(matches_at_start(&re("x|scs"), "scs-0100-x"));
    }

    #[test]
    fn summary_buckets_and_rules() {
        let ids: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let mut results = BTreeMap::new();
        results.insert("a".to_string(), 1);
        results.insert("b".to_string(), 0);
        results.insert("c".to_string(), 5);
        let s = summarize_ids("main", &ids, &results, true, &["a".to_string()]);
        assert_eq!(s.verdict, TargetVerdict::Fail);
        assert_eq!(s.monitor_result, None);
        assert_eq!(s.verdict_text(), "FAIL (1 passed, 1 aborted, 1 missing)");
        assert_eq!(s.not_selected, vec!["d".to_string()]);
        assert!(!s.show_missing);
        let s = summarize_ids("main", &[], &results, false, &[]);
        assert_eq!(
            (s.verdict, s.monitor_result),
            (TargetVerdict::Pass, Some(1))
        );
    }
}

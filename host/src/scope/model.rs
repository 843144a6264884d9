//! The scope model: the types a loaded scope file becomes, and the error type of the whole
//! scope layer.
//!
//! Owns: [`ScopeError`] (one-line `<file>: <field>: <problem>; <fix>` messages), the validated
//! [`Spec`] with its scripts, [`Testcase`]s, [`Module`]s, [`Version`]s (with their computed
//! targets) and [`TimelineEntry`]s, the value types [`Lifetime`] and [`Validity`], the choice of
//! a run ([`SelectedVersion`]) and the outcome of a target ([`TargetVerdict`], [`TargetSummary`]),
//! plus plain lookups on them (a version by name, a module by id, the ids of a target).
//!
//! Must never: read files or parse YAML (that is `load`), decide what a run selects or how a
//! target is judged (that is `select`), run anything, touch the network or keep global state.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::NaiveDate;

// ------------------------------------------------------------------------------------------------
// errors

/// Everything that can go wrong with a scope file or with selecting from it.
///
/// Every message is a single line of the form `<file>: <field>: <problem>; <fix>`.
#[derive(Debug, thiserror::Error)]
pub enum ScopeError {
    #[error("{}: cannot read the scope file: {source}; check the path", file.display())]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },

    #[error("{}: not valid YAML: {message}; fix the YAML syntax", file.display())]
    Yaml { file: PathBuf, message: String },

    #[error("{}: {field}: unknown key \"{key}\" (allowed here: {allowed}); remove or rename it", file.display())]
    UnknownKey {
        file: PathBuf,
        field: String,
        key: String,
        allowed: String,
    },

    #[error("{}: {field}: required key \"{key}\" is missing; add it", file.display())]
    MissingKey {
        file: PathBuf,
        field: String,
        key: String,
    },

    #[error("{}: {field}: expected {expected}; fix the value", file.display())]
    WrongType {
        file: PathBuf,
        field: String,
        expected: String,
    },

    #[error("{}: {field}: testcase id \"{id}\" is declared twice; testcase ids must be unique across all scripts, rename or remove one", file.display())]
    DuplicateTestcase {
        file: PathBuf,
        field: String,
        id: String,
    },

    #[error("{}: {field}: module id \"{id}\" is defined twice; rename or remove one", file.display())]
    DuplicateModule {
        file: PathBuf,
        field: String,
        id: String,
    },

    #[error("{}: {field}: version \"{name}\" is defined twice; rename or remove one", file.display())]
    DuplicateVersion {
        file: PathBuf,
        field: String,
        name: String,
    },

    #[error("{}: {field}: module \"{id}\" is not defined in modules; add it or fix the id", file.display())]
    UnknownModule {
        file: PathBuf,
        field: String,
        id: String,
    },

    #[error("{}: {field}: testcase \"{id}\" is not declared under scripts[].testcases; declare it or fix the id", file.display())]
    UnknownTestcase {
        file: PathBuf,
        field: String,
        id: String,
    },

    #[error("{}: {field}: version \"{name}\" is not defined in versions; add it or fix the name", file.display())]
    UnknownVersion {
        file: PathBuf,
        field: String,
        name: String,
    },

    #[error("{}: {field}: \"{value}\" is not a date; write it as YYYY-MM-DD", file.display())]
    BadDate {
        file: PathBuf,
        field: String,
        value: String,
    },

    #[error("{}: {field}: lifetime \"{value}\" is unknown; use one of day, week, month, quarter, year", file.display())]
    BadLifetime {
        file: PathBuf,
        field: String,
        value: String,
    },

    #[error("{}: {field}: validity \"{value}\" is unknown; use one of effective, warn, draft, deprecated", file.display())]
    BadValidity {
        file: PathBuf,
        field: String,
        value: String,
    },

    #[error("{}: timeline: No valid version found for {date}; pick another date (-d) or force a version (-V)", file.display())]
    NoValidVersion { file: PathBuf, date: NaiveDate },

    #[error("{}: versions: Requested version '{name}' not found (defined: {known}); fix the -V value", file.display())]
    VersionNotFound {
        file: PathBuf,
        name: String,
        known: String,
    },

    #[error("{}: variables: Double assignment for '{key}'; give each -a key only once", file.display())]
    DuplicateAssignment { file: PathBuf, key: String },

    #[error("{}: variables: Missing variable assignments (via -a) for: {}; pass -a NAME=VALUE for each", file.display(), names.join(", "))]
    MissingVariables { file: PathBuf, names: Vec<String> },
}

// ------------------------------------------------------------------------------------------------
// model

/// Result lifetime of a testcase (scs-0003); the default is `week`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lifetime {
    Day,
    #[default]
    Week,
    Month,
    Quarter,
    Year,
}

impl Lifetime {
    pub fn as_str(self) -> &'static str {
        match self {
            Lifetime::Day => "day",
            Lifetime::Week => "week",
            Lifetime::Month => "month",
            Lifetime::Quarter => "quarter",
            Lifetime::Year => "year",
        }
    }
}

impl FromStr for Lifetime {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "day" => Lifetime::Day,
            "week" => Lifetime::Week,
            "month" => Lifetime::Month,
            "quarter" => Lifetime::Quarter,
            "year" => Lifetime::Year,
            _ => return Err(()),
        })
    }
}

impl fmt::Display for Lifetime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Validity code of a version in a timeline entry. A version not named by the entry in force is
/// `Deprecated` (implicitly).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Validity {
    Effective,
    Warn,
    Draft,
    Deprecated,
}

impl Validity {
    pub fn as_str(self) -> &'static str {
        match self {
            Validity::Effective => "effective",
            Validity::Warn => "warn",
            Validity::Draft => "draft",
            Validity::Deprecated => "deprecated",
        }
    }
}

impl FromStr for Validity {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Ok(match s {
            "effective" => Validity::Effective,
            "warn" => Validity::Warn,
            "draft" => Validity::Draft,
            "deprecated" => Validity::Deprecated,
            _ => return Err(()),
        })
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A declared variable: `- name` (required, `default == None`) or `- name: default`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    pub default: Option<String>,
}

/// A script descriptor. Without `executable` it holds manual testcases, which are never run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub executable: Option<String>,
    pub args: Option<String>,
    /// `env` entries in file order (a map, so names are unique).
    pub env: BTreeMap<String, String>,
    /// Ids of the testcases declared under this script, in file order.
    pub testcases: Vec<String>,
}

/// A testcase descriptor (declared under a script).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Testcase {
    pub id: String,
    pub lifetime: Lifetime,
    pub section: Option<String>,
    pub description: Option<String>,
    pub url: Option<String>,
    /// Its script has no `executable`.
    pub manual: bool,
    /// Index of its script in [`Spec::scripts`].
    pub script: usize,
    /// How many stabilized versions list it under `main` (the monitor sorts by this).
    pub attn: u32,
}

/// Documentation-only module parameter: name and optional description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    pub name: String,
    pub description: Option<String>,
}

/// A module: one version of one standard, as named targets of testcase ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    pub id: String,
    /// Empty when the file gives no name (the official loader does not require one).
    pub name: String,
    pub url: Option<String>,
    /// Target name -> testcase ids, both in file order. No `targets` key = no targets.
    pub targets: Vec<(String, Vec<String>)>,
    /// Documentation only: the runner never substitutes them (behaviour doc, finding 0.2).
    pub parameters: Vec<Parameter>,
}

/// One `include` item of a version: a module reference plus (ignored) parameter values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// The referenced module id (`ref` in the dict form).
    pub module: String,
    /// Parameter values in file order (scalars rendered as text). Never used by the runner.
    pub parameters: Vec<(String, String)>,
}

/// A certificate-scope version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub version: String,
    pub include: Vec<Include>,
    pub stabilized_at: Option<NaiveDate>,
    /// Computed: per target name (first-seen order over the includes), the union of the included
    /// modules' ids for that target, sorted and without duplicates. A `targets` key in the file
    /// is accepted and ignored.
    pub targets: Vec<(String, Vec<String>)>,
}

impl Version {
    /// The sorted testcase ids of one target; `None` if no included module has that target.
    pub fn target(&self, name: &str) -> Option<&[String]> {
        self.targets
            .iter()
            .find(|(t, _)| t == name)
            .map(|(_, ids)| ids.as_slice())
    }

    /// The target a testcase belongs to in this version; if it sits in several, the last target
    /// (in first-seen order) wins, as in the official `tc_target` map (display only).
    pub fn target_of(&self, id: &str) -> Option<&str> {
        self.targets
            .iter()
            .rev()
            .find(|(_, ids)| ids.binary_search_by(|x| x.as_str().cmp(id)).is_ok())
            .map(|(t, _)| t.as_str())
    }
}

/// A timeline entry: from `date` on (until the next later entry), these validities hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    pub date: NaiveDate,
    /// Version name -> validity, in file order. A name given with an empty value (`v4:`) is
    /// checked to exist but treated as not listed, as the official code does.
    pub versions: Vec<(String, Validity)>,
}

/// A loaded, validated scope file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub uuid: String,
    pub name: String,
    pub url: Option<String>,
    pub variables: Vec<Variable>,
    pub scripts: Vec<Script>,
    pub modules: Vec<Module>,
    /// In file order, which is "most recent first" by convention (the monitor relies on it).
    pub versions: Vec<Version>,
    /// In file order (the order does not matter for selection).
    pub timeline: Vec<TimelineEntry>,
    /// Testcase id -> testcase, built at load from all scripts.
    pub testcases: BTreeMap<String, Testcase>,
    /// `prerequisite` was given; it is accepted and otherwise ignored (the official runner only
    /// logs "prerequisite not yet implemented!").
    pub has_prerequisite: bool,
    /// Where the spec came from (the origin given to [`Spec::from_yaml`]); scripts run relative
    /// to its directory.
    pub path: PathBuf,
}

/// A version chosen for a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedVersion {
    pub name: String,
    /// From the timeline entry in force; `Deprecated` when that entry does not name it.
    pub validity: Validity,
    /// The timeline entry in force names the version.
    pub explicit: bool,
}

impl Spec {
    /// The version named `name`.
    pub fn version(&self, name: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.version == name)
    }

    /// The module with id `id`.
    pub fn module(&self, id: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.id == id)
    }
}

// ------------------------------------------------------------------------------------------------
// verdicts

/// The console verdict of a target (a.3 step 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum TargetVerdict {
    /// No testcase failed, aborted or is missing.
    Pass,
    /// Nothing failed or aborted, but some result is missing.
    TentativePass,
    /// Some testcase failed or aborted.
    Fail,
}

impl TargetVerdict {
    /// The console words: `PASS`, `TENTATIVE pass`, `FAIL`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetVerdict::Pass => "PASS",
            TargetVerdict::TentativePass => "TENTATIVE pass",
            TargetVerdict::Fail => "FAIL",
        }
    }
}

impl fmt::Display for TargetVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of one target of one version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSummary {
    pub target: String,
    /// Console rule: FAIL if any FAIL or ABORT, else TENTATIVE pass if any missing, else PASS.
    pub verdict: TargetVerdict,
    /// Monitor rule (`evaluate`): the first non-empty bucket of FAIL `Some(-1)`, MISSING `None`,
    /// ABORT `Some(0)`; otherwise PASS `Some(1)` (also for a target without testcases).
    pub monitor_result: Option<i8>,
    /// The target's ids by result, each in sorted order. Every id of the target is counted,
    /// selected or not, as the official console does.
    pub passed: Vec<String>,
    pub failed: Vec<String>,
    pub aborted: Vec<String>,
    pub missing: Vec<String>,
    /// Whether the console lists the MISSING ids: false when `-S` or `-t` narrowed the run (the
    /// missing ones are still counted and still make the verdict tentative).
    pub show_missing: bool,
    /// The subset of `missing` that was not selected for this run (manual, or filtered out by
    /// `-S`/`-t`); informational only.
    pub not_selected: Vec<String>,
}

impl TargetSummary {
    /// The console's verdict text, e.g. `TENTATIVE pass (3 passed, 1 missing)`: the passed
    /// count always, the other counts only when non-zero.
    pub fn verdict_text(&self) -> String {
        let mut parts = vec![format!("{} passed", self.passed.len())];
        for (n, word) in [
            (self.failed.len(), "failed"),
            (self.aborted.len(), "aborted"),
            (self.missing.len(), "missing"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {word}"));
            }
        }
        format!("{} ({})", self.verdict, parts.join(", "))
    }
}

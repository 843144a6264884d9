//! The SCS certificate-scope model (scs-0003 "Sovereign Cloud Standards YAML").
//!
//! This module owns everything that can be decided from a scope file and a date alone:
//!
//! * loading and validating a scope YAML the way the official loader does (same accepted keys
//!   at each level, unique testcase/module/version ids, include references that must exist,
//!   timeline entries that must name existing versions), with one-line typed errors that name
//!   the file, the field and the fix;
//! * the version selection by reference date (`-d`) or by force (`-V`);
//! * the targets of a version (the per-target union of its included modules' targets);
//! * the testcase selection of a run: manual testcases dropped, sections (`-S`) and the testcase
//!   regex (`-t`, with Python `re.match` semantics: anchored at the start only);
//! * the variable assignment (`-a k=v`) with defaults;
//! * the verdict of a target from per-testcase results, both the console rule and the
//!   compliance-monitor rule.
//!
//! It never runs anything, never touches the network and keeps no global state.
//!
//! Where the official code would only fail late (a Python `KeyError`/`TypeError` while running
//! or evaluating) or let nonsense through, this loader fails at load time instead:
//!
//! * a `lifetime` outside day/week/month/quarter/year (official: fails only when the monitor
//!   computes an expiry) and a timeline validity code outside effective/warn/draft/deprecated
//!   (official: any non-empty code counts as "listed");
//! * a testcase id in any target of an included module that no script declares (official:
//!   `KeyError` at load for `main`, while running for other targets);
//! * `uuid` and `name` missing; a non-string id, name, url, description, section, args, env
//!   value or version name; a date that is not `YYYY-MM-DD`; a `variables` item that is neither
//!   a name nor a map (official: silently ignored);
//! * a mapping with a duplicate key (a YAML error here; PyYAML keeps the last one).
//!
//! Things the official loader accepts are accepted here too: timeline entries, `prerequisite`,
//! `targets`, `env` and `parameters` are not keyword-checked; a version's own `targets` is
//! ignored; modules without `targets` or `name`; a timeline code left empty (`v4:`) means "not
//! listed"; `-a` keys the scope does not declare.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use chrono::NaiveDate;
use regex::Regex;
use yaml_serde::{Mapping, Value};

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

// ------------------------------------------------------------------------------------------------
// loading

const SPEC_KEYS: &[&str] = &[
    "uuid",
    "name",
    "url",
    "versions",
    "prerequisite",
    "variables",
    "scripts",
    "modules",
    "timeline",
];
const SCRIPT_KEYS: &[&str] = &["executable", "env", "args", "testcases"];
const TESTCASE_KEYS: &[&str] = &["id", "lifetime", "section", "description", "url"];
const MODULE_KEYS: &[&str] = &["id", "name", "url", "targets", "parameters"];
const VERSION_KEYS: &[&str] = &["version", "include", "targets", "stabilized_at"];
const INCLUDE_KEYS: &[&str] = &["ref", "parameters"];

/// Loader context: the file name for messages.
struct Ld<'a> {
    file: &'a Path,
}

impl Ld<'_> {
    fn wrong(&self, field: &str, expected: &str) -> ScopeError {
        ScopeError::WrongType {
            file: self.file.to_path_buf(),
            field: field.to_string(),
            expected: expected.to_string(),
        }
    }

    fn missing(&self, field: &str, key: &str) -> ScopeError {
        ScopeError::MissingKey {
            file: self.file.to_path_buf(),
            field: field.to_string(),
            key: key.to_string(),
        }
    }

    fn map<'v>(&self, v: &'v Value, field: &str) -> Result<&'v Mapping, ScopeError> {
        v.as_mapping().ok_or_else(|| self.wrong(field, "a mapping"))
    }

    fn seq<'v>(&self, v: &'v Value, field: &str) -> Result<&'v [Value], ScopeError> {
        v.as_sequence()
            .map(|s| s.as_slice())
            .ok_or_else(|| self.wrong(field, "a list"))
    }

    fn string(&self, v: &Value, field: &str) -> Result<String, ScopeError> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| self.wrong(field, "a string (quote it if needed)"))
    }

    /// Optional string: absent or null gives `None`.
    fn opt_string(
        &self,
        m: &Mapping,
        key: &str,
        field: &str,
    ) -> Result<Option<String>, ScopeError> {
        match m.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => self.string(v, &join(field, key)).map(Some),
        }
    }

    fn required<'v>(
        &self,
        m: &'v Mapping,
        key: &str,
        field: &str,
    ) -> Result<&'v Value, ScopeError> {
        m.get(key).ok_or_else(|| self.missing(field, key))
    }

    /// Optional list: absent gives an empty slice; null is an error (the official code would
    /// fail iterating it).
    fn opt_seq<'v>(
        &self,
        m: &'v Mapping,
        key: &str,
        field: &str,
    ) -> Result<&'v [Value], ScopeError> {
        match m.get(key) {
            None => Ok(&[]),
            Some(v) => self.seq(v, &join(field, key)),
        }
    }

    fn date(&self, v: &Value, field: &str) -> Result<NaiveDate, ScopeError> {
        let bad = |value: String| ScopeError::BadDate {
            file: self.file.to_path_buf(),
            field: field.to_string(),
            value,
        };
        match v {
            Value::String(s) => parse_yaml_date(s).ok_or_else(|| bad(s.clone())),
            other => Err(bad(
                scalar_text(other).unwrap_or_else(|| "(not a scalar)".to_string())
            )),
        }
    }

    /// Keys of a mapping must be strings from `allowed`.
    fn check_keys(&self, m: &Mapping, field: &str, allowed: &[&str]) -> Result<(), ScopeError> {
        for k in m.keys() {
            let ok = k.as_str().is_some_and(|k| allowed.contains(&k));
            if !ok {
                return Err(ScopeError::UnknownKey {
                    file: self.file.to_path_buf(),
                    field: field.to_string(),
                    key: scalar_text(k).unwrap_or_else(|| "(not a scalar)".to_string()),
                    allowed: allowed.join(", "),
                });
            }
        }
        Ok(())
    }

    /// The official loader's first pass: only the listed keys at each checked level. Levels
    /// that are not checked there (timeline entries, variables, prerequisite, targets, env,
    /// parameters) are not checked here either. Items of the wrong type are left to the second
    /// pass.
    fn check_all_keys(&self, top: &Mapping) -> Result<(), ScopeError> {
        self.check_keys(top, "(top level)", SPEC_KEYS)?;
        let items = |key: &str| {
            top.get(key)
                .and_then(Value::as_sequence)
                .map(|s| s.as_slice())
                .unwrap_or(&[])
        };
        for (i, script) in items("scripts").iter().enumerate() {
            let Some(script) = script.as_mapping() else {
                continue;
            };
            let field = format!("scripts[{i}]");
            self.check_keys(script, &field, SCRIPT_KEYS)?;
            let tcs = script
                .get("testcases")
                .and_then(Value::as_sequence)
                .map(|s| s.as_slice())
                .unwrap_or(&[]);
            for (j, tc) in tcs.iter().enumerate() {
                if let Some(tc) = tc.as_mapping() {
                    self.check_keys(tc, &format!("{field}.testcases[{j}]"), TESTCASE_KEYS)?;
                }
            }
        }
        for (i, module) in items("modules").iter().enumerate() {
            if let Some(module) = module.as_mapping() {
                self.check_keys(module, &format!("modules[{i}]"), MODULE_KEYS)?;
            }
        }
        for (i, version) in items("versions").iter().enumerate() {
            let Some(version) = version.as_mapping() else {
                continue;
            };
            let field = format!("versions[{i}]");
            self.check_keys(version, &field, VERSION_KEYS)?;
            let incs = version
                .get("include")
                .and_then(Value::as_sequence)
                .map(|s| s.as_slice())
                .unwrap_or(&[]);
            for (j, inc) in incs.iter().enumerate() {
                if let Some(inc) = inc.as_mapping() {
                    self.check_keys(inc, &format!("{field}.include[{j}]"), INCLUDE_KEYS)?;
                }
            }
        }
        Ok(())
    }
}

/// `field.key`, or just `key` at the top level.
fn join(field: &str, key: &str) -> String {
    if field == "(top level)" {
        key.to_string()
    } else {
        format!("{field}.{key}")
    }
}

/// A date as PyYAML resolves it implicitly: exactly `YYYY-MM-DD` (zero-padded) and a real
/// calendar day. Anything else would not be a date for the official loader.
fn parse_yaml_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    let shape = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape {
        return None;
    }
    let year = s.get(0..4)?.parse().ok()?;
    let month = s.get(5..7)?.parse().ok()?;
    let day = s.get(8..10)?.parse().ok()?;
    NaiveDate::from_ymd_opt(year, month, day)
}

/// A scalar as text the way Python's `str()` would render it; `None` for collections.
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::Null => Some("None".to_string()),
        Value::Bool(true) => Some("True".to_string()),
        Value::Bool(false) => Some("False".to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Sequence(_) | Value::Mapping(_) | Value::Tagged(_) => None,
    }
}

impl Spec {
    /// Read and validate a scope file.
    pub fn load(path: &Path) -> Result<Spec, ScopeError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScopeError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Spec::from_yaml(&text, path)
    }

    /// Validate a scope given as YAML text; `origin` names it in messages and becomes
    /// [`Spec::path`].
    pub fn from_yaml(text: &str, origin: &Path) -> Result<Spec, ScopeError> {
        let ld = Ld { file: origin };
        let yaml_err = |e: yaml_serde::Error| ScopeError::Yaml {
            file: origin.to_path_buf(),
            message: e.to_string().replace(['\n', '\r'], " "),
        };
        let mut doc: Value = yaml_serde::from_str(text).map_err(yaml_err)?;
        if text.contains("<<") {
            // PyYAML's SafeLoader applies merge keys; do the same
            doc.apply_merge().map_err(yaml_err)?;
        }
        let top = doc.as_mapping().ok_or_else(|| {
            ld.wrong(
                "(top level)",
                "a mapping with uuid, name, versions, modules and timeline",
            )
        })?;

        // pass 1: keywords only, over the whole document (as the official loader does first)
        ld.check_all_keys(top)?;

        // pass 2: structure and references
        let field = "(top level)";
        for key in ["uuid", "name", "versions", "modules", "timeline"] {
            ld.required(top, key, field)?;
        }
        let uuid = ld.string(ld.required(top, "uuid", field)?, "uuid")?;
        let name = ld.string(ld.required(top, "name", field)?, "name")?;
        let url = ld.opt_string(top, "url", field)?;

        // scripts and their testcases
        let mut scripts = Vec::new();
        let mut testcases: BTreeMap<String, Testcase> = BTreeMap::new();
        for (i, sv) in ld
            .opt_seq(top, "scripts", "(top level)")?
            .iter()
            .enumerate()
        {
            let field = format!("scripts[{i}]");
            let sm = ld.map(sv, &field)?;
            let executable = match sm.get("executable") {
                None => None,
                Some(v) => Some(ld.string(v, &format!("{field}.executable"))?),
            };
            let args = ld.opt_string(sm, "args", &field)?;
            let mut env = BTreeMap::new();
            match sm.get("env") {
                None | Some(Value::Null) => {}
                Some(v) => {
                    let env_field = format!("{field}.env");
                    for (k, val) in ld.map(v, &env_field)? {
                        let k = ld.string(k, &env_field)?;
                        let val = ld.string(val, &format!("{env_field}.{k}"))?;
                        env.insert(k, val);
                    }
                }
            }
            let mut ids = Vec::new();
            for (j, tv) in ld.opt_seq(sm, "testcases", &field)?.iter().enumerate() {
                let tfield = format!("{field}.testcases[{j}]");
                let tm = ld.map(tv, &tfield)?;
                let id = ld.string(ld.required(tm, "id", &tfield)?, &format!("{tfield}.id"))?;
                if testcases.contains_key(&id) {
                    return Err(ScopeError::DuplicateTestcase {
                        file: origin.to_path_buf(),
                        field: format!("{tfield}.id"),
                        id,
                    });
                }
                let lifetime = match tm.get("lifetime") {
                    None | Some(Value::Null) => Lifetime::default(),
                    Some(v) => {
                        let lfield = format!("{tfield}.lifetime");
                        let s = ld.string(v, &lfield)?;
                        s.parse().map_err(|()| ScopeError::BadLifetime {
                            file: origin.to_path_buf(),
                            field: lfield,
                            value: s,
                        })?
                    }
                };
                let testcase = Testcase {
                    id: id.clone(),
                    lifetime,
                    section: ld.opt_string(tm, "section", &tfield)?,
                    description: ld.opt_string(tm, "description", &tfield)?,
                    url: ld.opt_string(tm, "url", &tfield)?,
                    manual: executable.is_none(),
                    script: i,
                    attn: 0,
                };
                testcases.insert(id.clone(), testcase);
                ids.push(id);
            }
            scripts.push(Script {
                executable,
                args,
                env,
                testcases: ids,
            });
        }

        // modules
        let mut modules: Vec<Module> = Vec::new();
        for (i, mv) in ld
            .seq(ld.required(top, "modules", field)?, "modules")?
            .iter()
            .enumerate()
        {
            let mfield = format!("modules[{i}]");
            let mm = ld.map(mv, &mfield)?;
            let id = ld.string(ld.required(mm, "id", &mfield)?, &format!("{mfield}.id"))?;
            if modules.iter().any(|m| m.id == id) {
                return Err(ScopeError::DuplicateModule {
                    file: origin.to_path_buf(),
                    field: format!("{mfield}.id"),
                    id,
                });
            }
            let name = ld.opt_string(mm, "name", &mfield)?.unwrap_or_default();
            let url = ld.opt_string(mm, "url", &mfield)?;
            let mut targets = Vec::new();
            if let Some(tv) = mm.get("targets") {
                let tfield = format!("{mfield}.targets");
                for (k, ids) in ld.map(tv, &tfield)? {
                    let tname = ld.string(k, &tfield)?;
                    let lfield = format!("{tfield}.{tname}");
                    let ids = ld
                        .seq(ids, &lfield)?
                        .iter()
                        .enumerate()
                        .map(|(j, v)| ld.string(v, &format!("{lfield}[{j}]")))
                        .collect::<Result<Vec<_>, _>>()?;
                    targets.push((tname, ids));
                }
            }
            let mut parameters = Vec::new();
            match mm.get("parameters") {
                None | Some(Value::Null) => {}
                Some(Value::Sequence(list)) => {
                    for (j, p) in list.iter().enumerate() {
                        let name = ld.string(p, &format!("{mfield}.parameters[{j}]"))?;
                        parameters.push(Parameter {
                            name,
                            description: None,
                        });
                    }
                }
                Some(Value::Mapping(map)) => {
                    let pfield = format!("{mfield}.parameters");
                    for (k, d) in map {
                        let name = ld.string(k, &pfield)?;
                        let description =
                            match d {
                                Value::Null => None,
                                d => Some(scalar_text(d).ok_or_else(|| {
                                    ld.wrong(&format!("{pfield}.{name}"), "a text")
                                })?),
                            };
                        parameters.push(Parameter { name, description });
                    }
                }
                Some(_) => {
                    return Err(ld.wrong(
                        &format!("{mfield}.parameters"),
                        "a list of names or a map name -> description",
                    ));
                }
            }
            modules.push(Module {
                id,
                name,
                url,
                targets,
                parameters,
            });
        }

        // versions
        let mut versions: Vec<Version> = Vec::new();
        for (i, vv) in ld
            .seq(ld.required(top, "versions", field)?, "versions")?
            .iter()
            .enumerate()
        {
            let vfield = format!("versions[{i}]");
            let vm = ld.map(vv, &vfield)?;
            let vname = ld.string(
                ld.required(vm, "version", &vfield)?,
                &format!("{vfield}.version"),
            )?;
            if versions.iter().any(|v| v.version == vname) {
                return Err(ScopeError::DuplicateVersion {
                    file: origin.to_path_buf(),
                    field: format!("{vfield}.version"),
                    name: vname,
                });
            }
            let stabilized_at = match vm.get("stabilized_at") {
                None | Some(Value::Null) => None,
                Some(v) => Some(ld.date(v, &format!("{vfield}.stabilized_at"))?),
            };
            let ifield = format!("{vfield}.include");
            let mut include = Vec::new();
            for (j, inc) in ld
                .seq(ld.required(vm, "include", &vfield)?, &ifield)?
                .iter()
                .enumerate()
            {
                let jfield = format!("{ifield}[{j}]");
                let (module, parameters, ref_field) = match inc {
                    Value::String(s) => (s.clone(), Vec::new(), jfield.clone()),
                    Value::Mapping(im) => {
                        let r =
                            ld.string(ld.required(im, "ref", &jfield)?, &format!("{jfield}.ref"))?;
                        let mut params = Vec::new();
                        match im.get("parameters") {
                            None | Some(Value::Null) => {}
                            Some(p) => {
                                let pfield = format!("{jfield}.parameters");
                                for (k, v) in ld.map(p, &pfield)? {
                                    let k = ld.string(k, &pfield)?;
                                    let v = scalar_text(v).ok_or_else(|| {
                                        ld.wrong(&format!("{pfield}.{k}"), "a text")
                                    })?;
                                    params.push((k, v));
                                }
                            }
                        }
                        (r, params, format!("{jfield}.ref"))
                    }
                    _ => {
                        return Err(
                            ld.wrong(&jfield, "a module id or a {ref: id, parameters: {...}} map")
                        );
                    }
                };
                if !modules.iter().any(|m| m.id == module) {
                    return Err(ScopeError::UnknownModule {
                        file: origin.to_path_buf(),
                        field: ref_field,
                        id: module,
                    });
                }
                include.push(Include { module, parameters });
            }
            // the per-target union over the included modules
            let mut targets: Vec<(String, BTreeSet<String>)> = Vec::new();
            for inc in &include {
                let Some((mi, module)) =
                    modules.iter().enumerate().find(|(_, m)| m.id == inc.module)
                else {
                    continue; // unreachable: checked above
                };
                for (tname, ids) in &module.targets {
                    for (j, id) in ids.iter().enumerate() {
                        if !testcases.contains_key(id) {
                            // the official code fails with a KeyError (at load for `main`, while
                            // running for other targets); fail at load for every target
                            return Err(ScopeError::UnknownTestcase {
                                file: origin.to_path_buf(),
                                field: format!("modules[{mi}].targets.{tname}[{j}]"),
                                id: id.clone(),
                            });
                        }
                    }
                    let pos = match targets.iter().position(|(t, _)| t == tname) {
                        Some(pos) => pos,
                        None => {
                            targets.push((tname.clone(), BTreeSet::new()));
                            targets.len() - 1
                        }
                    };
                    targets[pos].1.extend(ids.iter().cloned());
                }
            }
            let targets: Vec<(String, Vec<String>)> = targets
                .into_iter()
                .map(|(t, ids)| (t, ids.into_iter().collect()))
                .collect();
            if stabilized_at.is_some()
                && let Some((_, main)) = targets.iter().find(|(t, _)| t == "main")
            {
                for id in main {
                    if let Some(tc) = testcases.get_mut(id) {
                        tc.attn += 1;
                    }
                }
            }
            versions.push(Version {
                version: vname,
                include,
                stabilized_at,
                targets,
            });
        }

        // timeline
        let mut timeline = Vec::new();
        for (i, ev) in ld
            .seq(ld.required(top, "timeline", field)?, "timeline")?
            .iter()
            .enumerate()
        {
            let efield = format!("timeline[{i}]");
            let em = ld.map(ev, &efield)?;
            let date = ld.date(ld.required(em, "date", &efield)?, &format!("{efield}.date"))?;
            let vfield = format!("{efield}.versions");
            let mut entry_versions = Vec::new();
            for (k, code) in ld.map(ld.required(em, "versions", &efield)?, &vfield)? {
                let vname = ld.string(k, &vfield)?;
                if !versions.iter().any(|v| v.version == vname) {
                    return Err(ScopeError::UnknownVersion {
                        file: origin.to_path_buf(),
                        field: vfield.clone(),
                        name: vname,
                    });
                }
                let cfield = format!("{vfield}.{vname}");
                if code.is_null() {
                    continue; // falsy in the official code: the version counts as not listed
                }
                let code = ld.string(code, &cfield)?;
                let validity = code.parse().map_err(|()| ScopeError::BadValidity {
                    file: origin.to_path_buf(),
                    field: cfield,
                    value: code,
                })?;
                entry_versions.push((vname, validity));
            }
            timeline.push(TimelineEntry {
                date,
                versions: entry_versions,
            });
        }

        // variables
        let mut variables = Vec::new();
        for (i, v) in ld
            .opt_seq(top, "variables", "(top level)")?
            .iter()
            .enumerate()
        {
            let vfield = format!("variables[{i}]");
            match v {
                Value::String(s) => variables.push(Variable {
                    name: s.clone(),
                    default: None,
                }),
                Value::Mapping(m) => {
                    for (k, d) in m {
                        let name = ld.string(k, &vfield)?;
                        let default = scalar_text(d).ok_or_else(|| {
                            ld.wrong(&format!("{vfield}.{name}"), "a text default")
                        })?;
                        variables.push(Variable {
                            name,
                            default: Some(default),
                        });
                    }
                }
                _ => return Err(ld.wrong(&vfield, "a variable name or a {name: default} map")),
            }
        }

        Ok(Spec {
            uuid,
            name,
            url,
            variables,
            scripts,
            modules,
            versions,
            timeline,
            testcases,
            has_prerequisite: top.contains_key("prerequisite"),
            path: origin.to_path_buf(),
        })
    }

    /// The version named `name`.
    pub fn version(&self, name: &str) -> Option<&Version> {
        self.versions.iter().find(|v| v.version == name)
    }

    /// The module with id `id`.
    pub fn module(&self, id: &str) -> Option<&Module> {
        self.modules.iter().find(|m| m.id == id)
    }

    /// The timeline entry in force on `date`: the one with the greatest `date <= date` (on a tie,
    /// the first in the file).
    pub fn timeline_entry(&self, date: NaiveDate) -> Option<&TimelineEntry> {
        let mut best: Option<&TimelineEntry> = None;
        for entry in self.timeline.iter().filter(|e| e.date <= date) {
            if best.is_none_or(|b| entry.date > b.date) {
                best = Some(entry);
            }
        }
        best
    }

    /// The validity of every version on `date`, in file order: `(name, validity, explicit)`.
    pub fn validities(&self, date: NaiveDate) -> Vec<SelectedVersion> {
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
    pub fn select_recommended(
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
pub fn summarize_ids(
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

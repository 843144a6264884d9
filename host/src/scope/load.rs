//! Loading: a scope YAML file becomes a validated [`Spec`], or a one-line [`ScopeError`].
//!
//! Owns: [`Spec::load`] and [`Spec::from_yaml`], which check a scope file the way the official
//! loader does (pass 1: only the accepted keys at each level; pass 2: structure and references,
//! in the phases below) and fail at load time where the official code would only fail late or
//! let nonsense through (see the module doc of `scope`). Each phase is a function named after
//! what it reads: [`read_header`], [`read_scripts`], [`read_modules`], [`read_versions`],
//! [`read_timeline`], [`read_variables`]. [`FieldReader`] turns YAML values into typed fields
//! with errors that name the file and the field.
//!
//! Must never: select versions or testcases, resolve variables or judge results (that is
//! `select`), read any file but the one asked for, touch the network or keep global state.
//! The order of the checks is part of the behaviour (the first problem found is the one
//! reported), so the phases run in a fixed order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use yaml_serde::{Mapping, Value};

use super::model::{
    Include, Lifetime, Module, Parameter, ScopeError, Script, Spec, Testcase, TimelineEntry,
    Variable, Version,
};

/// How messages name the top level of the document.
const TOP: &str = "(top level)";

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
/// The top-level keys pass 2 requires, checked in this order.
const REQUIRED_TOP_KEYS: [&str; 5] = ["uuid", "name", "versions", "modules", "timeline"];

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
        let reader = FieldReader { file: origin };
        let doc = parse_document(text, origin)?;
        let top = top_mapping(&reader, &doc)?;

        // pass 1: keywords only, over the whole document (as the official loader does first)
        check_all_keys(&reader, top)?;

        // pass 2: structure and references
        let header = read_header(&reader, top)?;
        let (scripts, mut testcases) = read_scripts(&reader, top)?;
        let modules = read_modules(&reader, top)?;
        let versions = read_versions(&reader, top, &modules, &mut testcases)?;
        let timeline = read_timeline(&reader, top, &versions)?;
        let variables = read_variables(&reader, top)?;

        Ok(Spec {
            uuid: header.uuid,
            name: header.name,
            url: header.url,
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
}

// ------------------------------------------------------------------------------------------------
// the document

/// The YAML text as a value tree, with merge keys (`<<`) applied as PyYAML's SafeLoader does.
fn parse_document(text: &str, origin: &Path) -> Result<Value, ScopeError> {
    let yaml_err = |e: yaml_serde::Error| ScopeError::Yaml {
        file: origin.to_path_buf(),
        message: e.to_string().replace(['\n', '\r'], " "),
    };
    let mut doc: Value = yaml_serde::from_str(text).map_err(yaml_err)?;
    if text.contains("<<") {
        // PyYAML's SafeLoader applies merge keys; do the same
        doc.apply_merge().map_err(yaml_err)?;
    }
    Ok(doc)
}

/// The document must be a mapping.
fn top_mapping<'v>(r: &FieldReader<'_>, doc: &'v Value) -> Result<&'v Mapping, ScopeError> {
    doc.as_mapping().ok_or_else(|| {
        r.wrong(
            TOP,
            "a mapping with uuid, name, versions, modules and timeline",
        )
    })
}

// ------------------------------------------------------------------------------------------------
// pass 1: keywords

/// The official loader's first pass: only the listed keys at each checked level. Levels
/// that are not checked there (timeline entries, variables, prerequisite, targets, env,
/// parameters) are not checked here either. Items of the wrong type are left to the second
/// pass.
fn check_all_keys(r: &FieldReader<'_>, top: &Mapping) -> Result<(), ScopeError> {
    r.check_keys(top, TOP, SPEC_KEYS)?;
    for (i, script) in list_items(top, "scripts").iter().enumerate() {
        if let Some(script) = script.as_mapping() {
            check_script_keys(r, &format!("scripts[{i}]"), script)?;
        }
    }
    for (i, module) in list_items(top, "modules").iter().enumerate() {
        if let Some(module) = module.as_mapping() {
            r.check_keys(module, &format!("modules[{i}]"), MODULE_KEYS)?;
        }
    }
    for (i, version) in list_items(top, "versions").iter().enumerate() {
        if let Some(version) = version.as_mapping() {
            check_version_keys(r, &format!("versions[{i}]"), version)?;
        }
    }
    Ok(())
}

/// Pass 1 for one script and its testcases.
fn check_script_keys(r: &FieldReader<'_>, field: &str, script: &Mapping) -> Result<(), ScopeError> {
    r.check_keys(script, field, SCRIPT_KEYS)?;
    for (j, tc) in list_items(script, "testcases").iter().enumerate() {
        if let Some(tc) = tc.as_mapping() {
            r.check_keys(tc, &format!("{field}.testcases[{j}]"), TESTCASE_KEYS)?;
        }
    }
    Ok(())
}

/// Pass 1 for one version and its includes.
fn check_version_keys(
    r: &FieldReader<'_>,
    field: &str,
    version: &Mapping,
) -> Result<(), ScopeError> {
    r.check_keys(version, field, VERSION_KEYS)?;
    for (j, inc) in list_items(version, "include").iter().enumerate() {
        if let Some(inc) = inc.as_mapping() {
            r.check_keys(inc, &format!("{field}.include[{j}]"), INCLUDE_KEYS)?;
        }
    }
    Ok(())
}

/// The items of `m[key]` when it is a list; nothing otherwise (pass 1 leaves types to pass 2).
fn list_items<'v>(m: &'v Mapping, key: &str) -> &'v [Value] {
    m.get(key)
        .and_then(Value::as_sequence)
        .map(|s| s.as_slice())
        .unwrap_or(&[])
}

// ------------------------------------------------------------------------------------------------
// pass 2: the top level

/// `uuid`, `name` and `url` of the scope.
struct Header {
    uuid: String,
    name: String,
    url: Option<String>,
}

/// The required top-level keys are all present (checked before anything else of pass 2); then
/// `uuid` and `name` (strings) and the optional `url`.
fn read_header(r: &FieldReader<'_>, top: &Mapping) -> Result<Header, ScopeError> {
    for key in REQUIRED_TOP_KEYS {
        r.required(top, key, TOP)?;
    }
    Ok(Header {
        uuid: r.string(r.required(top, "uuid", TOP)?, "uuid")?,
        name: r.string(r.required(top, "name", TOP)?, "name")?,
        url: r.opt_string(top, "url", TOP)?,
    })
}

// ------------------------------------------------------------------------------------------------
// pass 2: scripts and their testcases

/// `scripts` (optional): the scripts in file order and every testcase they declare, by id.
/// Testcase ids are unique across all scripts.
fn read_scripts(
    r: &FieldReader<'_>,
    top: &Mapping,
) -> Result<(Vec<Script>, BTreeMap<String, Testcase>), ScopeError> {
    let mut scripts = Vec::new();
    let mut testcases = BTreeMap::new();
    for (i, sv) in r.opt_seq(top, "scripts", TOP)?.iter().enumerate() {
        scripts.push(read_script(r, i, sv, &mut testcases)?);
    }
    Ok((scripts, testcases))
}

/// `scripts[i]`: executable, args, env, then its testcases (added to `testcases`).
fn read_script(
    r: &FieldReader<'_>,
    i: usize,
    sv: &Value,
    testcases: &mut BTreeMap<String, Testcase>,
) -> Result<Script, ScopeError> {
    let field = format!("scripts[{i}]");
    let sm = r.map(sv, &field)?;
    let executable = match sm.get("executable") {
        None => None,
        Some(v) => Some(r.string(v, &format!("{field}.executable"))?),
    };
    let args = r.opt_string(sm, "args", &field)?;
    let env = read_script_env(r, sm, &field)?;
    let mut ids = Vec::new();
    for (j, tv) in r.opt_seq(sm, "testcases", &field)?.iter().enumerate() {
        let tfield = format!("{field}.testcases[{j}]");
        let mut testcase = read_testcase(r, tv, &tfield, testcases)?;
        testcase.manual = executable.is_none();
        testcase.script = i;
        ids.push(testcase.id.clone());
        testcases.insert(testcase.id.clone(), testcase);
    }
    Ok(Script {
        executable,
        args,
        env,
        testcases: ids,
    })
}

/// `scripts[i].env` (optional, null allowed): names and values are strings.
fn read_script_env(
    r: &FieldReader<'_>,
    sm: &Mapping,
    field: &str,
) -> Result<BTreeMap<String, String>, ScopeError> {
    let mut env = BTreeMap::new();
    match sm.get("env") {
        None | Some(Value::Null) => {}
        Some(v) => {
            let env_field = format!("{field}.env");
            for (k, val) in r.map(v, &env_field)? {
                let k = r.string(k, &env_field)?;
                let val = r.string(val, &format!("{env_field}.{k}"))?;
                env.insert(k, val);
            }
        }
    }
    Ok(env)
}

/// One testcase descriptor at `tfield`; its id must not be in `declared` yet. The caller fills
/// in [`Testcase::manual`] and [`Testcase::script`].
fn read_testcase(
    r: &FieldReader<'_>,
    tv: &Value,
    tfield: &str,
    declared: &BTreeMap<String, Testcase>,
) -> Result<Testcase, ScopeError> {
    let tm = r.map(tv, tfield)?;
    let id = r.string(r.required(tm, "id", tfield)?, &format!("{tfield}.id"))?;
    if declared.contains_key(&id) {
        return Err(ScopeError::DuplicateTestcase {
            file: r.file(),
            field: format!("{tfield}.id"),
            id,
        });
    }
    let lifetime = read_lifetime(r, tm, tfield)?;
    Ok(Testcase {
        id,
        lifetime,
        section: r.opt_string(tm, "section", tfield)?,
        description: r.opt_string(tm, "description", tfield)?,
        url: r.opt_string(tm, "url", tfield)?,
        manual: false,
        script: 0,
        attn: 0,
    })
}

/// A testcase's `lifetime` (optional, null allowed): one of day, week, month, quarter, year.
fn read_lifetime(r: &FieldReader<'_>, tm: &Mapping, tfield: &str) -> Result<Lifetime, ScopeError> {
    match tm.get("lifetime") {
        None | Some(Value::Null) => Ok(Lifetime::default()),
        Some(v) => {
            let lfield = format!("{tfield}.lifetime");
            let s = r.string(v, &lfield)?;
            s.parse().map_err(|()| ScopeError::BadLifetime {
                file: r.file(),
                field: lfield,
                value: s,
            })
        }
    }
}

// ------------------------------------------------------------------------------------------------
// pass 2: modules

/// `modules` (required, a list): module ids are unique.
fn read_modules(r: &FieldReader<'_>, top: &Mapping) -> Result<Vec<Module>, ScopeError> {
    let mut modules: Vec<Module> = Vec::new();
    for (i, mv) in r
        .seq(r.required(top, "modules", TOP)?, "modules")?
        .iter()
        .enumerate()
    {
        let module = read_module(r, i, mv, &modules)?;
        modules.push(module);
    }
    Ok(modules)
}

/// `modules[i]`: id (not among `earlier`), name, url, targets, parameters.
fn read_module(
    r: &FieldReader<'_>,
    i: usize,
    mv: &Value,
    earlier: &[Module],
) -> Result<Module, ScopeError> {
    let mfield = format!("modules[{i}]");
    let mm = r.map(mv, &mfield)?;
    let id = r.string(r.required(mm, "id", &mfield)?, &format!("{mfield}.id"))?;
    if earlier.iter().any(|m| m.id == id) {
        return Err(ScopeError::DuplicateModule {
            file: r.file(),
            field: format!("{mfield}.id"),
            id,
        });
    }
    let name = r.opt_string(mm, "name", &mfield)?.unwrap_or_default();
    let url = r.opt_string(mm, "url", &mfield)?;
    let targets = read_module_targets(r, mm, &mfield)?;
    let parameters = read_module_parameters(r, mm, &mfield)?;
    Ok(Module {
        id,
        name,
        url,
        targets,
        parameters,
    })
}

/// A module's `targets` (optional): a map target name -> list of testcase ids, in file order.
/// The ids are checked against the declared testcases later, by [`version_targets`].
fn read_module_targets(
    r: &FieldReader<'_>,
    mm: &Mapping,
    mfield: &str,
) -> Result<Vec<(String, Vec<String>)>, ScopeError> {
    let mut targets = Vec::new();
    if let Some(tv) = mm.get("targets") {
        let tfield = format!("{mfield}.targets");
        for (k, ids) in r.map(tv, &tfield)? {
            let tname = r.string(k, &tfield)?;
            let lfield = format!("{tfield}.{tname}");
            let ids = r
                .seq(ids, &lfield)?
                .iter()
                .enumerate()
                .map(|(j, v)| r.string(v, &format!("{lfield}[{j}]")))
                .collect::<Result<Vec<_>, _>>()?;
            targets.push((tname, ids));
        }
    }
    Ok(targets)
}

/// A module's `parameters` (optional, null allowed, documentation only): a list of names or a
/// map name -> description.
fn read_module_parameters(
    r: &FieldReader<'_>,
    mm: &Mapping,
    mfield: &str,
) -> Result<Vec<Parameter>, ScopeError> {
    let mut parameters = Vec::new();
    match mm.get("parameters") {
        None | Some(Value::Null) => {}
        Some(Value::Sequence(list)) => {
            for (j, p) in list.iter().enumerate() {
                let name = r.string(p, &format!("{mfield}.parameters[{j}]"))?;
                parameters.push(Parameter {
                    name,
                    description: None,
                });
            }
        }
        Some(Value::Mapping(map)) => {
            let pfield = format!("{mfield}.parameters");
            for (k, d) in map {
                let name = r.string(k, &pfield)?;
                let description = match d {
                    Value::Null => None,
                    d => Some(
                        scalar_text(d)
                            .ok_or_else(|| r.wrong(&format!("{pfield}.{name}"), "a text"))?,
                    ),
                };
                parameters.push(Parameter { name, description });
            }
        }
        Some(_) => {
            return Err(r.wrong(
                &format!("{mfield}.parameters"),
                "a list of names or a map name -> description",
            ));
        }
    }
    Ok(parameters)
}

// ------------------------------------------------------------------------------------------------
// pass 2: versions

/// `versions` (required, a list): version names are unique, includes name defined modules,
/// every testcase id in the included modules' targets is declared. Also counts, per testcase,
/// the stabilized versions that list it under `main` ([`Testcase::attn`]).
fn read_versions(
    r: &FieldReader<'_>,
    top: &Mapping,
    modules: &[Module],
    testcases: &mut BTreeMap<String, Testcase>,
) -> Result<Vec<Version>, ScopeError> {
    let mut versions: Vec<Version> = Vec::new();
    for (i, vv) in r
        .seq(r.required(top, "versions", TOP)?, "versions")?
        .iter()
        .enumerate()
    {
        let version = read_version(r, i, vv, &versions, modules, testcases)?;
        count_stabilized_main(&version, testcases);
        versions.push(version);
    }
    Ok(versions)
}

/// `versions[i]`: version name (not among `earlier`), stabilized_at, include, and the computed
/// per-target union.
fn read_version(
    r: &FieldReader<'_>,
    i: usize,
    vv: &Value,
    earlier: &[Version],
    modules: &[Module],
    testcases: &BTreeMap<String, Testcase>,
) -> Result<Version, ScopeError> {
    let vfield = format!("versions[{i}]");
    let vm = r.map(vv, &vfield)?;
    let vname = r.string(
        r.required(vm, "version", &vfield)?,
        &format!("{vfield}.version"),
    )?;
    if earlier.iter().any(|v| v.version == vname) {
        return Err(ScopeError::DuplicateVersion {
            file: r.file(),
            field: format!("{vfield}.version"),
            name: vname,
        });
    }
    let stabilized_at = match vm.get("stabilized_at") {
        None | Some(Value::Null) => None,
        Some(v) => Some(r.date(v, &format!("{vfield}.stabilized_at"))?),
    };
    let include = read_includes(r, vm, &vfield, modules)?;
    let targets = version_targets(r, &include, modules, testcases)?;
    Ok(Version {
        version: vname,
        include,
        stabilized_at,
        targets,
    })
}

/// A version's `include` (required, a list): each item names a defined module.
fn read_includes(
    r: &FieldReader<'_>,
    vm: &Mapping,
    vfield: &str,
    modules: &[Module],
) -> Result<Vec<Include>, ScopeError> {
    let ifield = format!("{vfield}.include");
    let mut include = Vec::new();
    for (j, inc) in r
        .seq(r.required(vm, "include", vfield)?, &ifield)?
        .iter()
        .enumerate()
    {
        include.push(read_include(r, inc, &format!("{ifield}[{j}]"), modules)?);
    }
    Ok(include)
}

/// One include item at `jfield`: a module id, or `{ref: id, parameters: {...}}`; the module
/// must be defined.
fn read_include(
    r: &FieldReader<'_>,
    inc: &Value,
    jfield: &str,
    modules: &[Module],
) -> Result<Include, ScopeError> {
    let (module, parameters, ref_field) = match inc {
        Value::String(s) => (s.clone(), Vec::new(), jfield.to_string()),
        Value::Mapping(im) => {
            let module = r.string(r.required(im, "ref", jfield)?, &format!("{jfield}.ref"))?;
            let parameters = read_include_parameters(r, im, jfield)?;
            (module, parameters, format!("{jfield}.ref"))
        }
        _ => {
            return Err(r.wrong(jfield, "a module id or a {ref: id, parameters: {...}} map"));
        }
    };
    if !modules.iter().any(|m| m.id == module) {
        return Err(ScopeError::UnknownModule {
            file: r.file(),
            field: ref_field,
            id: module,
        });
    }
    Ok(Include { module, parameters })
}

/// The `parameters` of an include map (optional, null allowed): names -> scalar values,
/// rendered as text.
fn read_include_parameters(
    r: &FieldReader<'_>,
    im: &Mapping,
    jfield: &str,
) -> Result<Vec<(String, String)>, ScopeError> {
    let mut params = Vec::new();
    match im.get("parameters") {
        None | Some(Value::Null) => {}
        Some(p) => {
            let pfield = format!("{jfield}.parameters");
            for (k, v) in r.map(p, &pfield)? {
                let k = r.string(k, &pfield)?;
                let v =
                    scalar_text(v).ok_or_else(|| r.wrong(&format!("{pfield}.{k}"), "a text"))?;
                params.push((k, v));
            }
        }
    }
    Ok(params)
}

/// The targets of a version: per target name (first-seen order over the includes), the sorted
/// union of the included modules' ids. Every id must be a declared testcase.
fn version_targets(
    r: &FieldReader<'_>,
    include: &[Include],
    modules: &[Module],
    testcases: &BTreeMap<String, Testcase>,
) -> Result<Vec<(String, Vec<String>)>, ScopeError> {
    let mut targets: Vec<(String, BTreeSet<String>)> = Vec::new();
    for inc in include {
        let Some((mi, module)) = modules.iter().enumerate().find(|(_, m)| m.id == inc.module)
        else {
            continue; // unreachable: checked by read_include
        };
        for (tname, ids) in &module.targets {
            for (j, id) in ids.iter().enumerate() {
                if !testcases.contains_key(id) {
                    // the official code fails with a KeyError (at load for `main`, while
                    // running for other targets); fail at load for every target
                    return Err(ScopeError::UnknownTestcase {
                        file: r.file(),
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
    Ok(targets
        .into_iter()
        .map(|(t, ids)| (t, ids.into_iter().collect()))
        .collect())
}

/// A stabilized version adds one to [`Testcase::attn`] of every testcase in its `main` target.
fn count_stabilized_main(version: &Version, testcases: &mut BTreeMap<String, Testcase>) {
    if version.stabilized_at.is_none() {
        return;
    }
    if let Some(main) = version.target("main") {
        for id in main {
            if let Some(tc) = testcases.get_mut(id) {
                tc.attn += 1;
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// pass 2: timeline

/// `timeline` (required, a list): entries name only defined versions.
fn read_timeline(
    r: &FieldReader<'_>,
    top: &Mapping,
    versions: &[Version],
) -> Result<Vec<TimelineEntry>, ScopeError> {
    let mut timeline = Vec::new();
    for (i, ev) in r
        .seq(r.required(top, "timeline", TOP)?, "timeline")?
        .iter()
        .enumerate()
    {
        timeline.push(read_timeline_entry(r, i, ev, versions)?);
    }
    Ok(timeline)
}

/// `timeline[i]`: a date and a map version name -> validity code. A name with an empty code is
/// checked to exist but counts as not listed.
fn read_timeline_entry(
    r: &FieldReader<'_>,
    i: usize,
    ev: &Value,
    versions: &[Version],
) -> Result<TimelineEntry, ScopeError> {
    let efield = format!("timeline[{i}]");
    let em = r.map(ev, &efield)?;
    let date = r.date(r.required(em, "date", &efield)?, &format!("{efield}.date"))?;
    let vfield = format!("{efield}.versions");
    let mut entry_versions = Vec::new();
    for (k, code) in r.map(r.required(em, "versions", &efield)?, &vfield)? {
        let vname = r.string(k, &vfield)?;
        if !versions.iter().any(|v| v.version == vname) {
            return Err(ScopeError::UnknownVersion {
                file: r.file(),
                field: vfield.clone(),
                name: vname,
            });
        }
        let cfield = format!("{vfield}.{vname}");
        if code.is_null() {
            continue; // falsy in the official code: the version counts as not listed
        }
        let code = r.string(code, &cfield)?;
        let validity = code.parse().map_err(|()| ScopeError::BadValidity {
            file: r.file(),
            field: cfield,
            value: code,
        })?;
        entry_versions.push((vname, validity));
    }
    Ok(TimelineEntry {
        date,
        versions: entry_versions,
    })
}

// ------------------------------------------------------------------------------------------------
// pass 2: variables

/// `variables` (optional): each item a name (required variable) or a map name -> default.
fn read_variables(r: &FieldReader<'_>, top: &Mapping) -> Result<Vec<Variable>, ScopeError> {
    let mut variables = Vec::new();
    for (i, v) in r.opt_seq(top, "variables", TOP)?.iter().enumerate() {
        let vfield = format!("variables[{i}]");
        match v {
            Value::String(s) => variables.push(Variable {
                name: s.clone(),
                default: None,
            }),
            Value::Mapping(m) => {
                for (k, d) in m {
                    let name = r.string(k, &vfield)?;
                    let default = scalar_text(d)
                        .ok_or_else(|| r.wrong(&format!("{vfield}.{name}"), "a text default"))?;
                    variables.push(Variable {
                        name,
                        default: Some(default),
                    });
                }
            }
            _ => return Err(r.wrong(&vfield, "a variable name or a {name: default} map")),
        }
    }
    Ok(variables)
}

// ------------------------------------------------------------------------------------------------
// reading typed fields

/// Reads typed fields out of the YAML tree of one scope file; every error it makes names that
/// file and the field.
struct FieldReader<'a> {
    file: &'a Path,
}

impl FieldReader<'_> {
    /// The file, for an error.
    fn file(&self) -> PathBuf {
        self.file.to_path_buf()
    }

    fn wrong(&self, field: &str, expected: &str) -> ScopeError {
        ScopeError::WrongType {
            file: self.file(),
            field: field.to_string(),
            expected: expected.to_string(),
        }
    }

    fn missing(&self, field: &str, key: &str) -> ScopeError {
        ScopeError::MissingKey {
            file: self.file(),
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
            file: self.file(),
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
                    file: self.file(),
                    field: field.to_string(),
                    key: scalar_text(k).unwrap_or_else(|| "(not a scalar)".to_string()),
                    allowed: allowed.join(", "),
                });
            }
        }
        Ok(())
    }
}

/// `field.key`, or just `key` at the top level.
fn join(field: &str, key: &str) -> String {
    if field == TOP {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Spec, ScopeError> {
        Spec::from_yaml(text, Path::new("s.yaml"))
    }

    const SMALL: &str = "uuid: u\nname: n\nscripts:\n- executable: x\n  testcases: [{id: a}, {id: b, lifetime: day}]\n- testcases: [{id: m}]\nmodules:\n- {id: mod, targets: {main: [a, m], extra: [b]}}\nversions:\n- {version: v1, include: [mod], stabilized_at: 2024-01-01}\n- {version: v2, include: [{ref: mod, parameters: {k: 1}}]}\ntimeline:\n- {date: 2024-01-01, versions: {v1: effective, v2: }}\n";

    #[test]
    fn phases_build_the_model() {
        let spec = load(SMALL).expect("loads");
        assert_eq!(spec.scripts.len(), 2);
        let m = &spec.testcases["m"];
        assert!(m.manual && m.script == 1 && m.attn == 1);
        assert_eq!(spec.testcases["b"].lifetime, Lifetime::Day);
        assert_eq!(spec.testcases["b"].attn, 0);
        assert_eq!(
            spec.versions[0].target("main"),
            Some(&["a".to_string(), "m".to_string()][..])
        );
        assert_eq!(
            spec.versions[1].include[0].parameters,
            vec![("k".to_string(), "1".to_string())]
        );
        // `v2:` with an empty code is not listed
        assert_eq!(spec.timeline[0].versions.len(), 1);
    }

    #[test]
    fn phases_report_the_first_problem_in_order() {
        // pass 1 (keywords) before pass 2 (types)
        let e = load("uuid: 1\nname: n\nbogus: 1\n").expect_err("unknown key");
        assert!(matches!(e, ScopeError::UnknownKey { .. }), "{e}");
        // all required top-level keys before the type of uuid
        let e = load("uuid: 1\nname: n\nversions: []\nmodules: []\n").expect_err("missing");
        assert_eq!(
            e.to_string(),
            "s.yaml: (top level): required key \"timeline\" is missing; add it"
        );
        // scripts before modules
        let text = SMALL
            .replace("{id: b, lifetime: day}", "{id: a}")
            .replace("{id: mod,", "{id: 1,");
        let e = load(&text).expect_err("duplicate");
        assert!(matches!(e, ScopeError::DuplicateTestcase { .. }), "{e}");
        // includes of a version before its targets
        let text = SMALL
            .replace("[a, m]", "[a, zz]")
            .replace("include: [mod],", "include: [nope],");
        let e = load(&text).expect_err("unknown module");
        assert!(matches!(e, ScopeError::UnknownModule { .. }), "{e}");
    }

    #[test]
    fn yaml_dates_are_strict() {
        assert!(parse_yaml_date("2024-02-29").is_some());
        assert!(parse_yaml_date("2023-02-29").is_none());
        assert!(parse_yaml_date("2024-2-01").is_none());
        assert!(parse_yaml_date("2024-02-01T00:00").is_none());
    }
}

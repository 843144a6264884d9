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
//! Layout (the submodules are private; everything public is re-exported here, so paths stay
//! `scope::X`):
//!
//! * `model`: the types ([`Spec`], [`Version`], [`Module`], [`Testcase`], [`TimelineEntry`],
//!   [`TargetSummary`], ...) and [`ScopeError`];
//! * `load`: [`Spec::load`] and [`Spec::from_yaml`], the validation in named phases;
//! * `select`: version selection by date, testcase selection, variables, target summaries.
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

mod load;
mod model;
mod select;

pub use model::{
    Include, Lifetime, Module, Parameter, ScopeError, Script, SelectedVersion, Spec, TargetSummary,
    TargetVerdict, Testcase, TimelineEntry, Validity, Variable, Version,
};
pub(crate) use select::summarize_ids;
pub use select::{matches_at_start, summarize};

//! Check component for scs-0100 (flavor naming).
//!
//! Owns: `scs-0100-syntax-check` and `scs-0100-semantics-check` (docs/official-behaviour.md
//! d.1, h.3): every flavor whose name starts with `SCS-` must parse
//! with the current grammar (the legacy v1 syntax is tolerated with a
//! warning), and must not promise more vCPUs, RAM or disk than it has.
//! The grammar itself lives in the `flavor-name` crate.
//!
//! Must never: inspect extra_specs (the official check does not), or change
//! the cloud.

use flavor_name::Syntax;
use scs_check_sdk::lines::Lines;
use scs_check_sdk::openstack::{Flavor, flavors};
use scs_check_sdk::{self as sdk, TestcaseResult};

/// The syntax check: Ok(true) iff every `SCS-` name parses.
pub fn syntax_check(flavors: &[Flavor], lines: &mut Lines) -> bool {
    let mut bad = Vec::new();
    for f in flavors.iter().filter(|f| f.name.starts_with("SCS-")) {
        match flavor_name::parse(&f.name) {
            Ok((_, Syntax::V2)) => {}
            Ok((_, Syntax::V1)) => lines.warning(format!(
                "Flavor name {} uses the deprecated v1 syntax",
                f.name
            )),
            Err(e) => {
                lines.info(format!("{e}"));
                bad.push(f.name.clone());
            }
        }
    }
    if !bad.is_empty() {
        lines.error(format!(
            "Flavor names with syntax errors: {}",
            bad.join(", ")
        ));
    }
    bad.is_empty()
}

/// The semantics check: Ok(true) iff no parsed `SCS-` flavor overpromises;
/// Err for the official ABORT quirk (a disk part without a size).
pub fn semantics_check(flavors: &[Flavor], lines: &mut Lines) -> Result<bool, String> {
    let mut bad = Vec::new();
    for f in flavors.iter().filter(|f| f.name.starts_with("SCS-")) {
        let Ok((parsed, _)) = flavor_name::parse(&f.name) else {
            continue; // the syntax check reports these
        };
        let vcpus = u32::try_from(f.vcpus).unwrap_or(u32::MAX);
        let outcome = flavor_name::semantics_problems(&parsed, vcpus, f.ram, f.disk)
            .map_err(|e| format!("flavor {}: {e}", f.name))?;
        for note in &outcome.notes {
            lines.info(format!("Flavor {}: {note}", f.name));
        }
        if !outcome.problems.is_empty() {
            lines.error(format!(
                "Flavor {} overpromises: {}",
                f.name,
                outcome
                    .problems
                    .iter()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
            bad.push(f.name.clone());
        }
    }
    Ok(bad.is_empty())
}

struct Check;

impl scs_check_sdk::Check for Check {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        let all = flavors().map_err(|e| e.to_string());
        sdk::run_testcases(&testcases, |id| {
            let all = match &all {
                Ok(a) => a,
                Err(e) => return Some(Err(e.clone())),
            };
            let mut lines = Lines::new();
            let outcome = match id {
                "scs-0100-syntax-check" => Ok(syntax_check(all, &mut lines)),
                "scs-0100-semantics-check" => semantics_check(all, &mut lines),
                _ => return None,
            };
            lines.emit();
            Some(outcome)
        })
    }
}

scs_check_sdk::check!(Check);

#[cfg(test)]
mod tests {
    use super::*;

    fn f(name: &str, vcpus: u64, ram: u64, disk: u64) -> Flavor {
        Flavor {
            id: name.into(),
            name: name.into(),
            vcpus,
            ram,
            disk,
            extra_specs: Default::default(),
        }
    }

    #[test]
    fn syntax() {
        let mut l = Lines::new();
        assert!(syntax_check(
            &[f("SCS-2V-4", 2, 4096, 0), f("m1.small", 1, 1, 1)],
            &mut l
        ));
        assert!(l.0.is_empty());
        assert!(syntax_check(&[f("SCS-2V:4:20s", 2, 4096, 20)], &mut l));
        assert_eq!(l.0[0].level, sdk::Level::Warning);
        let mut l = Lines::new();
        assert!(!syntax_check(
            &[f("SCS-2V-4.25", 2, 4352, 0), f("SCS-2V-4", 2, 4096, 0)],
            &mut l
        ));
        assert_eq!(
            l.errors().last(),
            Some(&"Flavor names with syntax errors: SCS-2V-4.25")
        );
        // No SCS- flavors at all: PASS
        assert!(syntax_check(&[], &mut Lines::new()));
    }

    #[test]
    fn semantics() {
        let mut l = Lines::new();
        assert_eq!(
            semantics_check(&[f("SCS-2V-4-20s", 2, 4096, 20)], &mut l),
            Ok(true)
        );
        // CPU overpromise
        assert_eq!(
            semantics_check(&[f("SCS-4V-8", 2, 8192, 0)], &mut l),
            Ok(false)
        );
        // RAM: 6093 MiB rounds to 6.0, 6092 to 5.9 (h.7)
        assert_eq!(
            semantics_check(&[f("SCS-2V-6", 2, 6093, 0)], &mut Lines::new()),
            Ok(true)
        );
        assert_eq!(
            semantics_check(&[f("SCS-2V-6", 2, 6092, 0)], &mut Lines::new()),
            Ok(false)
        );
        // disk overpromise
        assert_eq!(
            semantics_check(&[f("SCS-2V-4-20", 2, 4096, 10)], &mut Lines::new()),
            Ok(false)
        );
        // underpromise is fine
        assert_eq!(
            semantics_check(&[f("SCS-2V-4", 4, 8192, 50)], &mut Lines::new()),
            Ok(true)
        );
        // disk part without size: ABORT (d.1, h.3)
        for n in ["SCS-2V-4-", "SCS-2V-4-n", "SCS-2V-4-10x"] {
            assert!(
                semantics_check(&[f(n, 2, 4096, 10)], &mut Lines::new()).is_err(),
                "{n}"
            );
        }
        // unparseable names are skipped here
        assert_eq!(
            semantics_check(&[f("SCS-2V-4.25", 1, 1, 0)], &mut Lines::new()),
            Ok(true)
        );
    }
}

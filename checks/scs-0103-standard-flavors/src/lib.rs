//! Check component for scs-0103 (standard flavors).
//!
//! Owns: the 31 `scs-0103-flavor-*` testcases (docs/official-behaviour.md d.4): find
//! the flavor for each standard name (by `scs:name-v2` extra_spec, last one
//! listed wins; else by name) and compare vcpus, RAM, disk and every `scs:*`
//! extra_spec derived from the name exactly.
//!
//! Must never: change the cloud, or accept a near match (RAM rounding,
//! missing extra_specs) that the official suite rejects.

use scs_check_sdk::openstack::{Flavor, flavors};
use scs_check_sdk::{self as sdk, TestcaseResult};
use std::collections::BTreeMap;

/// The standard flavor names (mandatory and recommended) of scs-0103-v1.
pub const STANDARD_FLAVORS: [&str; 31] = [
    "SCS-1V-4",
    "SCS-2V-8",
    "SCS-4V-16",
    "SCS-8V-32",
    "SCS-1V-2",
    "SCS-2V-4",
    "SCS-4V-8",
    "SCS-8V-16",
    "SCS-16V-32",
    "SCS-1V-8",
    "SCS-2V-16",
    "SCS-4V-32",
    "SCS-1L-1",
    "SCS-2V-4-20s",
    "SCS-4V-16-100s",
    "SCS-1V-4-10",
    "SCS-2V-8-20",
    "SCS-4V-16-50",
    "SCS-8V-32-100",
    "SCS-1V-2-5",
    "SCS-2V-4-10",
    "SCS-4V-8-20",
    "SCS-8V-16-50",
    "SCS-16V-32-100",
    "SCS-1V-8-20",
    "SCS-2V-16-50",
    "SCS-4V-32-100",
    "SCS-1L-1-5",
    "SCS-16V-64",
    "SCS-8V-64",
    "SCS-16V-128",
];

/// `scs-0103-flavor-2v-4-20s` for `SCS-2V-4-20s`.
pub fn testcase_id(name: &str) -> String {
    format!(
        "scs-0103-flavor-{}",
        name.trim_start_matches("SCS-").to_lowercase()
    )
}

/// The standard name a testcase id stands for.
pub fn name_for(testcase: &str) -> Option<&'static str> {
    STANDARD_FLAVORS
        .iter()
        .copied()
        .find(|n| testcase_id(n) == testcase)
}

/// The lookup of d.4: `scs:name-v2` first (later flavors overwrite earlier
/// ones), then names starting with `SCS-` that are not taken yet.
pub fn lookup(flavors: &[Flavor]) -> BTreeMap<&str, &Flavor> {
    let mut map = BTreeMap::new();
    for f in flavors {
        if let Some(n) = f.extra_specs.get("scs:name-v2") {
            map.insert(n.as_str(), f);
        }
    }
    for f in flavors {
        if f.name.starts_with("SCS-") {
            map.entry(f.name.as_str()).or_insert(f);
        }
    }
    map
}

/// Compare one flavor with the spec derived from `name`; the list of
/// mismatching fields (empty = PASS).
pub fn mismatches(name: &str, flavor: &Flavor) -> Result<Vec<String>, String> {
    let parsed = flavor_name::parse_v2(name).map_err(|e| e.to_string())?;
    let spec = parsed.derived_spec();
    let mut out = Vec::new();
    if flavor.vcpus != u64::from(spec.cpus) {
        out.push(format!("vcpus: {} instead of {}", flavor.vcpus, spec.cpus));
    }
    let want_ram = (1024.0 * spec.ram).round() as u64;
    if flavor.ram != want_ram {
        out.push(format!("ram: {} MiB instead of {want_ram}", flavor.ram));
    }
    let want_disk = u64::from(spec.disk.unwrap_or(0));
    if flavor.disk != want_disk {
        out.push(format!("disk: {} instead of {want_disk}", flavor.disk));
    }
    for (key, want) in spec
        .extra_specs
        .iter()
        .filter(|(k, _)| k.starts_with("scs:"))
    {
        match flavor.extra_specs.get(key) {
            Some(have) if have == want => {}
            Some(have) => out.push(format!("{key}: {have:?} instead of {want:?}")),
            None => out.push(format!("{key}: missing (expected {want:?})")),
        }
    }
    Ok(out)
}

struct Check;

impl scs_check_sdk::Check for Check {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        let all = flavors().map_err(|e| e.to_string());
        sdk::run_testcases(&testcases, |id| {
            let name = name_for(id)?;
            let all = match &all {
                Ok(a) => a,
                Err(e) => return Some(Err(e.clone())),
            };
            let map = lookup(all);
            let Some(flavor) = map.get(name) else {
                sdk::error(&format!("Flavor {name} not found"));
                return Some(Ok(false));
            };
            Some(mismatches(name, flavor).map(|m| {
                if !m.is_empty() {
                    sdk::error(&format!(
                        "Flavor {name} (id {}, name {}) does not match its standard: {}",
                        flavor.id,
                        flavor.name,
                        m.join("; ")
                    ));
                }
                m.is_empty()
            }))
        })
    }
}

scs_check_sdk::check!(Check);

#[cfg(test)]
mod tests {
    use super::*;

    fn flavor(
        id: &str,
        name: &str,
        vcpus: u64,
        ram: u64,
        disk: u64,
        specs: &[(&str, &str)],
    ) -> Flavor {
        Flavor {
            id: id.into(),
            name: name.into(),
            vcpus,
            ram,
            disk,
            extra_specs: specs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn ids_and_names() {
        assert_eq!(testcase_id("SCS-2V-4-20s"), "scs-0103-flavor-2v-4-20s");
        assert_eq!(name_for("scs-0103-flavor-1l-1"), Some("SCS-1L-1"));
        assert_eq!(name_for("scs-0103-flavor-16v-128"), Some("SCS-16V-128"));
        assert_eq!(name_for("scs-0103-flavor-3v-7"), None);
        let mut ids: Vec<String> = STANDARD_FLAVORS.iter().map(|n| testcase_id(n)).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 31);
    }

    #[test]
    fn exact_match_passes_and_every_field_is_checked() {
        let good = flavor(
            "1",
            "SCS-2V-4-20s",
            2,
            4096,
            20,
            &[
                ("scs:cpu-type", "shared-core"),
                ("scs:disk0-type", "ssd"),
                ("scs:name-v1", "SCS-2V:4:20s"),
                ("scs:name-v2", "SCS-2V-4-20s"),
            ],
        );
        assert_eq!(mismatches("SCS-2V-4-20s", &good), Ok(vec![]));
        let mut bad = good.clone();
        bad.ram = 4000;
        bad.extra_specs.remove("scs:disk0-type");
        let m = mismatches("SCS-2V-4-20s", &bad).unwrap();
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(m[0].starts_with("ram: 4000"));
        assert!(m[1].starts_with("scs:disk0-type: missing"));
        let mut bad = good;
        bad.disk = 0;
        assert_eq!(mismatches("SCS-2V-4-20s", &bad).unwrap().len(), 1);
    }

    #[test]
    fn lookup_prefers_name_v2_and_last_wins() {
        let a = flavor("1", "SCS-1V-4", 1, 4096, 0, &[]);
        let b = flavor("2", "custom-a", 1, 4096, 0, &[("scs:name-v2", "SCS-1V-4")]);
        let c = flavor("3", "custom-b", 1, 4096, 0, &[("scs:name-v2", "SCS-1V-4")]);
        let all = vec![a, b, c];
        let map = lookup(&all);
        assert_eq!(map["SCS-1V-4"].id, "3");
        let only_name = vec![flavor("9", "SCS-1V-4", 1, 4096, 0, &[])];
        assert_eq!(lookup(&only_name)["SCS-1V-4"].id, "9");
    }
}

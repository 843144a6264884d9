//! The derived spec of a name (`flavorname_to_dict` of the official code).

use crate::output::v2_to_v1;
use crate::{FlavorName, ParseError, cpu_type_key, disk_type_key, parse_v2};
use std::collections::{BTreeMap, BTreeSet};

/// What a flavor with this name must look like, as scs-0103 compares it.
#[derive(Debug, Clone, PartialEq)]
pub struct DerivedSpec {
    /// Number of vCPUs.
    pub cpus: u32,
    /// RAM in GiB (a flavor's RAM in MiB must equal `1024 * ram`).
    pub ram: f64,
    /// The disk size of the disk part. `None` both without a disk part and
    /// for a disk part without a size (tell them apart by `has_disk_part`);
    /// in the official dict the key is absent in the first case and `None`
    /// in the second.
    pub disk: Option<u32>,
    /// The name has a disk part (so the official dict has a `disk` key).
    pub has_disk_part: bool,
    /// `scs:cpu-type`, `scs:disk0-type` … `scs:disk{M-1}-type` (only with a
    /// disk part; no type letter gives `network`), and `scs:name-v1` …
    /// `scs:name-vK`.
    pub extra_specs: BTreeMap<String, String>,
}

impl DerivedSpec {
    /// The RAM a matching flavor has, in MiB.
    pub fn ram_mib(&self) -> f64 {
        1024.0 * self.ram
    }

    /// The name variants `scs:name-v1`, `scs:name-v2`, … in order.
    pub fn names(&self) -> Vec<&str> {
        (1..)
            .map_while(|k| self.extra_specs.get(&format!("scs:name-v{k}")))
            .map(String::as_str)
            .collect()
    }
}

impl FlavorName {
    /// The derived spec of this name (`flavorname_to_dict` for one name).
    ///
    /// The name variants are the set {v1, v2} × {full, short}, duplicates
    /// removed, ordered longest first and, at equal length, v1 before v2.
    pub fn derived_spec(&self) -> DerivedSpec {
        let mut extra_specs = BTreeMap::new();
        let cpu_type = cpu_type_key(self.cpuram.cpu_type).unwrap_or("");
        extra_specs.insert("scs:cpu-type".to_string(), cpu_type.to_string());
        if let Some(disk) = &self.disk {
            let disk_type = disk_type_key(disk.disk_type.unwrap_or('n')).unwrap_or("network");
            for i in 0..disk.count {
                extra_specs.insert(format!("scs:disk{i}-type"), disk_type.to_string());
            }
        }
        let full_v2 = self.to_v2();
        let short_v2 = self.short().to_v2();
        // (length descending, version tag, name) — the name only breaks ties
        // that cannot occur (a different short form is always shorter).
        let mut variants: BTreeSet<(std::cmp::Reverse<usize>, &str, String)> = BTreeSet::new();
        for v2 in [full_v2, short_v2] {
            let v1 = v2_to_v1(&v2);
            variants.insert((std::cmp::Reverse(v1.len()), "v1", v1));
            variants.insert((std::cmp::Reverse(v2.len()), "v2", v2));
        }
        for (idx, (_, _, name)) in variants.into_iter().enumerate() {
            extra_specs.insert(format!("scs:name-v{}", idx + 1), name);
        }
        DerivedSpec {
            cpus: self.cpuram.cpus,
            ram: self.cpuram.ram,
            disk: self.disk.as_ref().and_then(|d| d.size),
            has_disk_part: self.disk.is_some(),
            extra_specs,
        }
    }
}

/// The spec of a canonical name, as scs-0103 computes it: parse in the
/// current syntax only (no v1 fallback), then derive.
pub fn compute_flavor_spec(canonical_name: &str) -> Result<DerivedSpec, ParseError> {
    parse_v2(canonical_name).map(|f| f.derived_spec())
}

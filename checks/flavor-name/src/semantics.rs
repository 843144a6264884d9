//! The decision of `scs-0100-semantics-check` for one flavor.
//!
//! Only vCPUs, RAM and disk size are compared; extra_specs never are. The
//! testcase FAILs iff any flavor has a problem, and ABORTs if any flavor's
//! name has a disk part without a size (the official code then compares an
//! int with `None` and raises).

use crate::FlavorName;
use std::fmt;

/// Disk sizes the official check considers standard (others get an INFO note).
pub const ACCEPTED_DISK_SIZES: [u64; 15] = [
    0, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000,
];

/// The RAM of a flavor in GiB as the semantics check sees it:
/// `int((ram_mib + 51) / 102.4) / 10`, i.e. truncated to one decimal after
/// adding ~0.05 GiB. 6093 MiB gives 6.0, 6092 MiB gives 5.9.
pub fn ram_gib_rounded(ram_mib: u64) -> f64 {
    // Python converts the exact integer sum to the nearest float; `as`
    // rounds the same way.
    let sum = ram_mib.saturating_add(51) as f64;
    (sum / 102.4).trunc() / 10.0
}

/// An overpromise: the flavor provides less than its name claims. FAIL.
#[derive(Debug, Clone, PartialEq)]
pub enum SemanticsProblem {
    /// `vcpus < name.cpus`
    CpuOverpromise { flavor_vcpus: u32, name_cpus: u32 },
    /// `ram_gib_rounded(ram) < name.ram`
    RamOverpromise { flavor_gib: f64, name_gib: f64 },
    /// `disk < name's disk size` (0 without a disk part)
    DiskOverpromise { flavor_gb: u64, name_gb: u64 },
}

/// INFO-only observations; they never change the verdict.
#[derive(Debug, Clone, PartialEq)]
pub enum SemanticsNote {
    CpuUnderpromise {
        flavor_vcpus: u32,
        name_cpus: u32,
    },
    /// The flavor's rounded RAM is not a multiple of 0.5 GiB, or is a
    /// fraction at 10 GiB or more.
    UnevenRam {
        flavor_gib: f64,
    },
    RamUnderpromise {
        flavor_gib: f64,
        name_gib: f64,
    },
    /// The name's disk size is not in [`ACCEPTED_DISK_SIZES`].
    NonStandardDiskSize {
        name_gb: u64,
    },
    DiskUnderpromise {
        flavor_gb: u64,
        name_gb: u64,
    },
}

/// The result for one flavor that did not abort.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SemanticsOutcome {
    /// Overpromises, in the order CPU, RAM, disk. Non-empty means FAIL.
    pub problems: Vec<SemanticsProblem>,
    /// INFO notes, in the official order (CPU, uneven RAM, RAM, disk size, disk).
    pub notes: Vec<SemanticsNote>,
}

impl SemanticsOutcome {
    /// No overpromise.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// All findings as INFO lines for flavor `flavor_name`, in the order the
    /// official check logs them.
    pub fn log_lines(&self, flavor_name: &str) -> Vec<String> {
        let mut ranked: Vec<(u8, String)> = Vec::new();
        for p in &self.problems {
            let rank = match p {
                SemanticsProblem::CpuOverpromise { .. } => 0,
                SemanticsProblem::RamOverpromise { .. } => 2,
                SemanticsProblem::DiskOverpromise { .. } => 4,
            };
            ranked.push((rank, format!("Flavor {flavor_name} {p}")));
        }
        for n in &self.notes {
            let rank = match n {
                SemanticsNote::CpuUnderpromise { .. } => 0,
                SemanticsNote::UnevenRam { .. } => 1,
                SemanticsNote::RamUnderpromise { .. } => 2,
                SemanticsNote::NonStandardDiskSize { .. } => 3,
                SemanticsNote::DiskUnderpromise { .. } => 4,
            };
            ranked.push((rank, format!("Flavor {flavor_name} {n}")));
        }
        ranked.sort_by_key(|(rank, _)| *rank);
        ranked.into_iter().map(|(_, line)| line).collect()
    }
}

impl fmt::Display for SemanticsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CpuOverpromise {
                flavor_vcpus,
                name_cpus,
            } => write!(f, "CPU overpromise: {flavor_vcpus} < {name_cpus}"),
            Self::RamOverpromise {
                flavor_gib,
                name_gib,
            } => write!(f, "RAM overpromise: {flavor_gib:.1} < {name_gib:.1}"),
            Self::DiskOverpromise { flavor_gb, name_gb } => {
                write!(f, "disk overpromise: {flavor_gb} < {name_gb}")
            }
        }
    }
}

impl fmt::Display for SemanticsNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CpuUnderpromise {
                flavor_vcpus,
                name_cpus,
            } => write!(f, "CPU underpromise: {flavor_vcpus} > {name_cpus}"),
            Self::UnevenRam { flavor_gib } => {
                write!(
                    f,
                    "has a discouraged uneven RAM size of {flavor_gib:.1} GiB"
                )
            }
            Self::RamUnderpromise {
                flavor_gib,
                name_gib,
            } => write!(f, "RAM underpromise: {flavor_gib:.1} > {name_gib:.1}"),
            Self::NonStandardDiskSize { name_gb } => write!(
                f,
                "has non-standard disk size {name_gb} (recommended: 5, 10, 20, 50, 100, 200, ...)"
            ),
            Self::DiskUnderpromise { flavor_gb, name_gb } => {
                write!(f, "disk underpromise: {flavor_gb} > {name_gb}")
            }
        }
    }
}

/// The official check cannot decide and the testcase ABORTs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemanticsAbort {
    pub reason: String,
}

impl fmt::Display for SemanticsAbort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for SemanticsAbort {}

/// Compare one flavor (vCPUs, RAM in MiB, disk in GB, as Nova reports them)
/// with what its parsed name promises.
///
/// `Err` reproduces the official crash: a disk part without a size
/// (`SCS-2V-4-`, `SCS-2V-4-n`, `SCS-2V-4-10x`) makes the official code
/// compare the flavor's disk with `None`, which raises; the whole testcase
/// then ABORTs, whatever the other flavors look like.
pub fn semantics_problems(
    name: &FlavorName,
    vcpus: u32,
    ram_mib: u64,
    disk_gb: u64,
) -> Result<SemanticsOutcome, SemanticsAbort> {
    let mut out = SemanticsOutcome::default();
    let name_cpus = name.cpuram.cpus;
    if vcpus < name_cpus {
        out.problems.push(SemanticsProblem::CpuOverpromise {
            flavor_vcpus: vcpus,
            name_cpus,
        });
    } else if vcpus > name_cpus {
        out.notes.push(SemanticsNote::CpuUnderpromise {
            flavor_vcpus: vcpus,
            name_cpus,
        });
    }

    let flavor_gib = ram_gib_rounded(ram_mib);
    let name_gib = name.cpuram.ram;
    // (>= 10 and fractional) or not a multiple of 0.5
    let fractional = flavor_gib != flavor_gib.trunc();
    let not_half = flavor_gib * 2.0 != (flavor_gib * 2.0).trunc();
    if (flavor_gib >= 10.0 && fractional) || not_half {
        out.notes.push(SemanticsNote::UnevenRam { flavor_gib });
    }
    if flavor_gib < name_gib {
        out.problems.push(SemanticsProblem::RamOverpromise {
            flavor_gib,
            name_gib,
        });
    } else if flavor_gib > name_gib {
        out.notes.push(SemanticsNote::RamUnderpromise {
            flavor_gib,
            name_gib,
        });
    }

    let name_gb = match &name.disk {
        None => 0,
        Some(disk) => match disk.size {
            Some(size) => u64::from(size),
            None => {
                return Err(SemanticsAbort {
                    reason: "flavor name has a disk part without a size; the official check \
                             compares the flavor's disk with None and raises TypeError"
                        .to_string(),
                });
            }
        },
    };
    if !ACCEPTED_DISK_SIZES.contains(&name_gb) {
        out.notes
            .push(SemanticsNote::NonStandardDiskSize { name_gb });
    }
    if disk_gb < name_gb {
        out.problems.push(SemanticsProblem::DiskOverpromise {
            flavor_gb: disk_gb,
            name_gb,
        });
    } else if disk_gb > name_gb {
        out.notes.push(SemanticsNote::DiskUnderpromise {
            flavor_gb: disk_gb,
            name_gb,
        });
    }
    Ok(out)
}

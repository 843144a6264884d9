//! SCS flavor names (standard scs-0100): parser, printer and derived spec.
//!
//! Owns: the flavor-name grammar exactly as the official SCS suite implements
//! it (`flavor_names.py` in SovereignCloudStack/standards), quirks included:
//!
//! * parsing of the current syntax ([`parse_v2`]; the standard's "v3" uses the
//!   same syntax as v2) and of the legacy syntax ([`parse_v1`]), and the
//!   official strategy "current syntax, else tolerated v1" ([`parse`]);
//! * printing a parsed name in either syntax ([`FlavorName::to_v2`],
//!   [`FlavorName::to_v1`]) and the canonical short form
//!   ([`FlavorName::short`]);
//! * the derived spec (`flavorname_to_dict`) that scs-0103 compares against
//!   flavors: cpus, RAM, disk and the `scs:*` extra_specs
//!   ([`FlavorName::derived_spec`], [`compute_flavor_spec`]);
//! * the pure decision of `scs-0100-semantics-check` for one flavor
//!   ([`semantics_problems`], [`ram_gib_rounded`]).
//!
//! Must never: do I/O of any kind (no network, files, clock, environment or
//! logging), depend on external crates, or panic on any input string. Every
//! rejection is a [`ParseError`] value; callers decide how to log it.
//!
//! Known, deliberate divergence from the Python original: numbers are held in
//! `u32`, so a count, size or vCPU number above `u32::MAX` is rejected here,
//! while Python's unbounded `int` accepts it (up to 4300 digits).

mod output;
mod parse;
mod semantics;
mod spec;

#[cfg(test)]
mod tests;

pub use output::{v1_to_v2, v2_to_v1};
pub use parse::{parse, parse_v1, parse_v2};
pub use semantics::{
    ACCEPTED_DISK_SIZES, SemanticsAbort, SemanticsNote, SemanticsOutcome, SemanticsProblem,
    ram_gib_rounded, semantics_problems,
};
pub use spec::{DerivedSpec, compute_flavor_spec};

use std::fmt;

/// The mandatory CPU and RAM part, e.g. `2Ti-16uo`.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuRam {
    /// Number of vCPUs (always > 0).
    pub cpus: u32,
    /// `L` (crowded core), `V` (shared core), `T` (dedicated thread) or `C` (dedicated core).
    pub cpu_type: char,
    /// `i` suffix: insecure SMT / insufficient mitigations.
    pub insecure: bool,
    /// RAM in GiB; a positive multiple of 0.5.
    pub ram: f64,
    /// `u` suffix: no ECC.
    pub ram_no_ecc: bool,
    /// `o` suffix: RAM oversubscribed.
    pub ram_oversub: bool,
}

/// The optional disk part, e.g. `-3x10s`, `-10`, `-n` or a bare `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disk {
    /// Number of disks; 1 unless an `Mx` prefix with a number was given.
    pub count: u32,
    /// The name carried an `x` count prefix (`3x10`, `1x10`, and even `x10`).
    /// Informational only: like the official printer, output omits the prefix
    /// whenever `count == 1`.
    pub explicit_count: bool,
    /// Disk size in GB; `None` when the name gives no size (`-`, `-n`, `-10x`).
    pub size: Option<u32>,
    /// `n`, `h`, `s` or `p`; `None` when no type letter is given.
    pub disk_type: Option<char>,
}

/// The optional CPU brand extension, e.g. `_z3hh`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpuBrand {
    /// `i` (Intel), `z` (AMD), `a` (ARM) or `r` (RISC-V).
    pub vendor: char,
    /// Generation; `None` when no digits were given. `Some(0)` prints as nothing.
    pub generation: Option<u32>,
    /// Number of `h` (0 to 3).
    pub perf: u8,
}

/// The optional GPU extension, e.g. `_GNa-14h-6h`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gpu {
    /// `G` (pass-through) if true, `g` (vGPU) if false.
    pub passthrough: bool,
    /// `N` (Nvidia), `A` (AMD) or `I` (Intel).
    pub vendor: char,
    /// Vendor-specific generation string, possibly empty (e.g. `a`, `3.1`, `0.95`).
    pub generation: String,
    /// Number of SMs / CUs / EUs.
    pub compute_units: Option<u32>,
    /// Number of `h` after the compute units (0 to 2).
    pub freq_h: u8,
    /// Video RAM in GiB.
    pub vram_gib: Option<u32>,
    /// Number of `h` after the VRAM (0 to 2).
    pub bw_h: u8,
}

/// A parsed SCS flavor name: a bunch of components, as in the official code.
#[derive(Debug, Clone, PartialEq)]
pub struct FlavorName {
    pub cpuram: CpuRam,
    pub disk: Option<Disk>,
    /// `kvm`, `xen`, `vmw`, `hyv`, `bms` or (current syntax only) `chy`.
    pub hypervisor: Option<String>,
    /// `_hwv` flag.
    pub hwvirt: bool,
    pub cpubrand: Option<CpuBrand>,
    pub gpu: Option<Gpu>,
    /// `_ib` flag.
    pub ib: bool,
}

/// Which syntax a name was accepted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// The current syntax (standard versions 2 and 3): `SCS-2V-4-20s_kvm`.
    V2,
    /// The legacy syntax of version 1: `SCS-2V:4:20s-kvm`. Tolerated with a warning.
    V1,
}

/// Why a name is not a valid SCS flavor name.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    /// The name as given.
    pub name: String,
    /// What is wrong, e.g. `extra characters "u" after RAM`.
    pub reason: String,
    /// The official code does not report this name as a syntax error but
    /// crashes on it (an uncaught `OverflowError` for a RAM value that is an
    /// infinite float), which makes both scs-0100 testcases ABORT instead of
    /// FAIL. Only a RAM figure of more than ~308 digits triggers this.
    pub official_abort: bool,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid SCS flavor name {:?}: {}",
            self.name, self.reason
        )
    }
}

impl std::error::Error for ParseError {}

/// `scs:cpu-type` value of a CPU type letter.
pub fn cpu_type_key(cpu_type: char) -> Option<&'static str> {
    match cpu_type {
        'L' => Some("crowded-core"),
        'V' => Some("shared-core"),
        'T' => Some("dedicated-thread"),
        'C' => Some("dedicated-core"),
        _ => None,
    }
}

/// `scs:diskN-type` value of a disk type letter.
pub fn disk_type_key(disk_type: char) -> Option<&'static str> {
    match disk_type {
        'n' => Some("network"),
        'h' => Some("hdd"),
        's' => Some("ssd"),
        'p' => Some("nvme"),
        _ => None,
    }
}

//! Printing names (the official "outputter") and the short form.

use crate::{CpuBrand, FlavorName, Gpu};
use std::fmt::Write as _;

/// The official v2 → v1 text transformation: every `-` becomes `:`, every `_`
/// becomes `-`, and the resulting `SCS:` goes back to `SCS-`.
pub fn v2_to_v1(name: &str) -> String {
    name.replace('-', ":")
        .replace('_', "-")
        .replace("SCS:", "SCS-")
}

/// The official v1 → v2 text transformation: every `-` becomes `_`, every `:`
/// becomes `-`, and the resulting `SCS_` goes back to `SCS-`.
pub fn v1_to_v2(name: &str) -> String {
    name.replace('-', "_")
        .replace(':', "-")
        .replace("SCS_", "SCS-")
}

/// `%f` of the official printer: no decimals for whole numbers, else one.
fn format_ram(ram: f64) -> String {
    if ram.trunc() == ram {
        format!("{ram:.0}")
    } else {
        format!("{ram:.1}")
    }
}

fn push_h(out: &mut String, count: u8) {
    for _ in 0..count {
        out.push('h');
    }
}

impl FlavorName {
    /// The name in the current syntax, as the official printer writes it.
    /// Normalises: leading zeros vanish, `1x` and generation `0` are left out,
    /// and RAM is printed as `4` or `3.5`.
    pub fn to_v2(&self) -> String {
        let mut out = String::from("SCS-");
        let c = &self.cpuram;
        let _ = write!(out, "{}{}", c.cpus, c.cpu_type);
        if c.insecure {
            out.push('i');
        }
        out.push('-');
        out.push_str(&format_ram(c.ram));
        if c.ram_no_ecc {
            out.push('u');
        }
        if c.ram_oversub {
            out.push('o');
        }
        if let Some(disk) = &self.disk {
            out.push('-');
            if disk.count != 1 {
                let _ = write!(out, "{}x", disk.count);
            }
            if let Some(size) = disk.size.filter(|&s| s != 0) {
                let _ = write!(out, "{size}");
            }
            if let Some(t) = disk.disk_type {
                out.push(t);
            }
        }
        if let Some(hyp) = &self.hypervisor {
            out.push('_');
            out.push_str(hyp);
        }
        if self.hwvirt {
            out.push_str("_hwv");
        }
        if let Some(brand) = &self.cpubrand {
            out.push('_');
            out.push(brand.vendor);
            if let Some(generation) = brand.generation.filter(|&g| g != 0) {
                let _ = write!(out, "{generation}");
            }
            push_h(&mut out, brand.perf);
        }
        if let Some(gpu) = &self.gpu {
            out.push('_');
            out.push(if gpu.passthrough { 'G' } else { 'g' });
            out.push(gpu.vendor);
            out.push_str(&gpu.generation);
            if let Some(cu) = gpu.compute_units.filter(|&n| n != 0) {
                let _ = write!(out, "-{cu}");
            }
            push_h(&mut out, gpu.freq_h);
            if let Some(vram) = gpu.vram_gib.filter(|&n| n != 0) {
                let _ = write!(out, "-{vram}");
            }
            push_h(&mut out, gpu.bw_h);
        }
        if self.ib {
            out.push_str("_ib");
        }
        out
    }

    /// The name in the legacy v1 syntax: [`v2_to_v1`] of [`FlavorName::to_v2`].
    /// Note that v1 knows no `chy`, so for such names the result does not
    /// parse as v1 (the official code produces it all the same).
    pub fn to_v1(&self) -> String {
        v2_to_v1(&self.to_v2())
    }

    /// The canonical short form: no hypervisor, no `hwv`; the CPU brand kept
    /// only for the non-x86 vendors `a` and `r`, reduced to the vendor letter;
    /// the GPU without its `h` modifiers. Everything else is unchanged.
    pub fn short(&self) -> FlavorName {
        FlavorName {
            cpuram: self.cpuram.clone(),
            disk: self.disk.clone(),
            hypervisor: None,
            hwvirt: false,
            cpubrand: self
                .cpubrand
                .as_ref()
                .filter(|b| !matches!(b.vendor, 'i' | 'z'))
                .map(|b| CpuBrand {
                    vendor: b.vendor,
                    generation: None,
                    perf: 0,
                }),
            gpu: self.gpu.as_ref().map(|g| Gpu {
                freq_h: 0,
                bw_h: 0,
                ..g.clone()
            }),
            ib: self.ib,
        }
    }
}

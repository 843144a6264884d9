//! Check component for scs-0101 (entropy).
//!
//! Owns: `scs-0101-entropy-avail` and `scs-0101-fips-test` (docs/official-behaviour.md
//! d.0, d.2). Both share one test VM, booted once per run and memoised: the
//! image and flavor choice ([`choose`]), the cloud-config that makes the VM
//! print its findings to the serial console ([`userdata`]), the VM's life
//! with network, subnet, router, boot volume and cleanup ([`vm`]), and the
//! console parsing and verdicts ([`console`]).
//!
//! Must never: leave anything behind that it created (cleanup runs after
//! every failure; everything is named `_scs-0101-*` so that the next run
//! removes what a killed run could not), touch resources without that
//! prefix, log in to the VM (the console is the only channel), read the
//! clock or sleep other than through the host (`sdk::now_ms` /
//! `sdk::sleep_ms`), or panic on cloud data.

pub mod choose;
pub mod console;
pub mod userdata;
pub mod vm;

use console::Collected;
use scs_check_sdk::lines::Lines;
use scs_check_sdk::openstack::{flavors, images};
use scs_check_sdk::wait::{Clock, HostClock};
use scs_check_sdk::{self as sdk, TestcaseResult};

/// Testcase id of the entropy_avail test.
pub const ENTROPY_AVAIL: &str = "scs-0101-entropy-avail";
/// Testcase id of the rngtest FIPS test.
pub const FIPS_TEST: &str = "scs-0101-fips-test";

/// The parsed console output and the name of the image it came from.
type VmOutput = Result<(Collected, String), String>;

/// Pick image and flavor, run the VM, return what its console said.
fn collect(clock: &mut dyn Clock) -> VmOutput {
    let images = images().map_err(|e| e.to_string())?;
    let image = choose::choose_image(&images)
        .ok_or_else(|| "there is no public image to boot the test VM from".to_string())?
        .clone();
    let flavors = flavors().map_err(|e| e.to_string())?;
    let mut lines = Lines::new();
    let out = vm::collect_vm_output(clock, &image, &flavors, &mut lines);
    lines.emit();
    out.map(|c| (c, image.name))
}

/// The verdict function of a testcase id.
type Judge = fn(&Collected, &str, &mut Lines) -> Result<bool, String>;

fn judge_of(id: &str) -> Option<Judge> {
    match id {
        ENTROPY_AVAIL => Some(console::entropy_avail),
        FIPS_TEST => Some(console::fips_test),
        _ => None,
    }
}

struct Check;

impl scs_check_sdk::Check for Check {
    fn run(testcases: Vec<String>, params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        let mut clock = HostClock;
        if sdk::cleanup_requested(&params) {
            // The host stopped an earlier call of this component: remove
            // what it left (everything named `_scs-0101-*`).
            let mut lines = Lines::new();
            vm::remove_leftovers(&mut clock, &mut lines);
            lines.emit();
            return Vec::new();
        }
        // d.2: one VM for both testcases; an error is memoised too, so both
        // ABORT with the same reason (d.0).
        let mut memo: Option<VmOutput> = None;
        sdk::run_testcases(&testcases, |id| {
            let judge = judge_of(id)?;
            let shared = memo.get_or_insert_with(|| collect(&mut clock));
            Some(match shared {
                Ok((collected, image_name)) => {
                    let mut lines = Lines::new();
                    let outcome = judge(collected, image_name, &mut lines);
                    lines.emit();
                    outcome
                }
                Err(e) => Err(e.clone()),
            })
        })
    }
}

scs_check_sdk::check!(Check);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_testcases() {
        assert!(judge_of(ENTROPY_AVAIL).is_some());
        assert!(judge_of(FIPS_TEST).is_some());
        // declared in the scope YAML but implemented nowhere (d.2): ABORT
        for id in [
            "scs-0101-rngd",
            "scs-0101-flavor-property",
            "scs-0101-image-property",
        ] {
            assert!(judge_of(id).is_none(), "{id}");
        }
    }
}

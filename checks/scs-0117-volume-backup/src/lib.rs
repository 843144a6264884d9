//! Check component for scs-0117 (volume backup).
//!
//! Owns: `scs-0117-test-backup` (docs/official-behaviour.md d.0, d.9): remove
//! `scs-test-*` backups and volumes left by earlier runs, create a 1 GiB
//! volume `scs-test-volume`, back it up as `scs-test-volume-backup`, restore
//! that into `scs-test-restored-backup`, and clean up again, waiting with the
//! official retry schedule (2, 3, 5, 10, 15, 25, 50 s) through the host
//! clock. The procedure is in [`flow`]; this file binds it to Cinder
//! through the mediated `block-storage` API.
//!
//! Must never: ABORT (every error is a FAIL, d.9), touch a volume or backup
//! whose name lacks the `scs-test-` prefix, leave behind what it created when
//! it gets to run its cleanup (a run killed by the host's deadline cannot;
//! the next run's initial cleanup removes those by prefix), or sleep other
//! than through `sdk::sleep_ms`.

pub mod flow;

use flow::Cinder;
use scs_check_sdk::block_storage::{self as bs, Deleted, Resource};
use scs_check_sdk::wait::HostClock;
use scs_check_sdk::{self as sdk, TestcaseResult};

/// The testcase id.
pub const TEST_BACKUP: &str = "scs-0117-test-backup";

/// Cinder through the host.
struct HostCinder;

fn text<T>(r: Result<T, scs_check_sdk::openstack::ApiError>) -> Result<T, String> {
    r.map_err(|e| e.to_string())
}

impl Cinder for HostCinder {
    fn list_backups(&mut self) -> Result<Vec<Resource>, String> {
        text(bs::list_backups())
    }
    fn list_volumes(&mut self) -> Result<Vec<Resource>, String> {
        text(bs::list_volumes())
    }
    fn get_backup(&mut self, id: &str) -> Result<Resource, String> {
        text(bs::get_backup(id))
    }
    fn get_volume(&mut self, id: &str) -> Result<Resource, String> {
        text(bs::get_volume(id))
    }
    fn find_volume(&mut self, name: &str) -> Result<Option<Resource>, String> {
        text(bs::find_volume(name))
    }
    fn create_volume(&mut self, name: &str, size_gib: u64) -> Result<Resource, String> {
        text(bs::create_volume(name, size_gib))
    }
    fn create_backup(&mut self, name: &str, volume_id: &str) -> Result<Resource, String> {
        text(bs::create_backup(name, volume_id))
    }
    fn restore_backup(&mut self, backup_id: &str, name: &str) -> Result<(), String> {
        text(bs::restore_backup(backup_id, name))
    }
    fn delete_backup(&mut self, id: &str) -> Result<Deleted, String> {
        text(bs::delete_backup(id))
    }
    fn delete_volume(&mut self, id: &str) -> Result<Deleted, String> {
        text(bs::delete_volume(id))
    }
}

/// The host's log, line by line.
struct HostLog;

impl flow::Log for HostLog {
    fn line(&mut self, level: sdk::Level, message: String) {
        sdk::log(level, &message);
    }
}

struct Check;

impl scs_check_sdk::Check for Check {
    fn run(testcases: Vec<String>, params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        if sdk::cleanup_requested(&params) {
            // The host stopped an earlier call: remove what it left (the
            // `scs-test-` volumes and backups), as the initial cleanup does.
            if let Err(e) = flow::cleanup(
                &mut HostCinder,
                &mut HostClock,
                &mut HostLog,
                flow::PREFIX,
                flow::OnMissingService::RaiseAfterVolumes,
            ) {
                sdk::warning(&format!("cleanup after the abort failed: {e}"));
            }
            return Vec::new();
        }
        sdk::run_testcases(&testcases, |id| {
            if id != TEST_BACKUP {
                return None;
            }
            Some(Ok(flow::test_backup_verdict(
                &mut HostCinder,
                &mut HostClock,
                &mut HostLog,
            )))
        })
    }
}

scs_check_sdk::check!(Check);

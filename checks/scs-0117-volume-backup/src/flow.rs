//! The volume-backup procedure of docs/official-behaviour.md d.9, over an abstract
//! [`Cinder`], so that the exact retry, cleanup and FAIL logic runs natively
//! in unit tests against a scripted fake.
//!
//! Error values here are the texts of what the official code would raise;
//! [`test_backup_verdict`] turns every one of them into FAIL (d.9: "any
//! exception anywhere → FAIL").

use scs_check_sdk::Level;
use scs_check_sdk::block_storage::{Deleted, Resource};
use scs_check_sdk::lines::Lines;
use scs_check_sdk::wait::{BACKUP_RETRY_SECS, Clock, retry};

/// Where the procedure's log lines go: a [`Lines`] buffer in unit tests,
/// the host's log (line by line, so that a run killed by the deadline still
/// shows how far it got) in the component.
pub trait Log {
    /// One line.
    fn line(&mut self, level: Level, message: String);
}

impl Log for Lines {
    fn line(&mut self, level: Level, message: String) {
        self.push(level, message);
    }
}

fn info(log: &mut dyn Log, m: impl Into<String>) {
    log.line(Level::Info, m.into());
}
fn warning(log: &mut dyn Log, m: impl Into<String>) {
    log.line(Level::Warning, m.into());
}
fn error(log: &mut dyn Log, m: impl Into<String>) {
    log.line(Level::Error, m.into());
}
fn debug(log: &mut dyn Log, m: impl Into<String>) {
    log.line(Level::Debug, m.into());
}

/// Name prefix of everything this check creates and cleans up.
pub const PREFIX: &str = "scs-test-";
/// The volume that is backed up.
pub const VOLUME_NAME: &str = "scs-test-volume";
/// The backup.
pub const BACKUP_NAME: &str = "scs-test-volume-backup";
/// The volume the backup is restored into.
pub const RESTORED_NAME: &str = "scs-test-restored-backup";

/// The Cinder calls the procedure makes. Errors are display texts.
pub trait Cinder {
    /// `GET backups/detail`, all pages.
    fn list_backups(&mut self) -> Result<Vec<Resource>, String>;
    /// `GET volumes/detail`, all pages.
    fn list_volumes(&mut self) -> Result<Vec<Resource>, String>;
    /// `GET backups/{id}`; 404 is an error.
    fn get_backup(&mut self, id: &str) -> Result<Resource, String>;
    /// `GET volumes/{id}`; 404 is an error.
    fn get_volume(&mut self, id: &str) -> Result<Resource, String>;
    /// The one volume named (or with id) `name`; several → error.
    fn find_volume(&mut self, name: &str) -> Result<Option<Resource>, String>;
    /// `POST volumes`.
    fn create_volume(&mut self, name: &str, size_gib: u64) -> Result<Resource, String>;
    /// `POST backups`.
    fn create_backup(&mut self, name: &str, volume_id: &str) -> Result<Resource, String>;
    /// `POST backups/{id}/restore`.
    fn restore_backup(&mut self, backup_id: &str, name: &str) -> Result<(), String>;
    /// `DELETE backups/{id}`.
    fn delete_backup(&mut self, id: &str) -> Result<Deleted, String>;
    /// `DELETE volumes/{id}`.
    fn delete_volume(&mut self, id: &str) -> Result<Deleted, String>;
}

/// What Python raises for `None.startswith(...)`.
fn unnamed(kind: &str, id: &str) -> String {
    format!("{kind} {id} has no name: 'NoneType' object has no attribute 'startswith'")
}

/// The official `check_resource`: the resource must exist and be in one of
/// `expected`.
fn check_status(r: Result<Resource, String>, id: &str, expected: &[&str]) -> Result<(), String> {
    let r = r?;
    let status = r.status.as_deref().unwrap_or("None");
    if expected.contains(&status) {
        Ok(())
    } else {
        Err(format!(
            "Expect resource {id} in to be in status {expected:?} (current: {status})"
        ))
    }
}

/// The official `check_resources`: no listed resource may carry the prefix.
/// An unnamed one raises (and is retried like any error).
fn check_none_left(listed: Result<Vec<Resource>, String>, prefix: &str) -> Result<(), String> {
    let mut remaining = Vec::new();
    for r in listed? {
        let name = r
            .name
            .as_deref()
            .ok_or_else(|| unnamed("resource", &r.id))?;
        if name.starts_with(prefix) {
            remaining.push(format!("{name} ({})", r.id));
        }
    }
    if remaining.is_empty() {
        Ok(())
    } else {
        Err(format!("unexpected resources: {}", remaining.join(", ")))
    }
}

/// The text the official cleanup looks for in a backup delete's "not
/// found" exception to tell a missing backup service from a vanished
/// backup (d.9).
pub const MISSING_SERVICE_MARK: &str = "cinder-backup";

/// Whether a backup delete's "not found" means the backup service is
/// missing: the official code re-raises when `'cinder-backup' in str(e)`.
/// `exception_text` must be that `str(e)`, openstacksdk's exception text
/// (the status, the request URL and the messages of the body; see
/// `scs_check_sdk::response::sdk_exception_text`), not the raw body: a body
/// field other than `message`, or a plain-text body, is not part of it,
/// while the URL is.
pub fn missing_backup_service(exception_text: &str) -> bool {
    exception_text.contains(MISSING_SERVICE_MARK)
}

/// How cleanup reacts to "not found" for a backup delete that names
/// `cinder-backup` (the backup service is missing): the official code
/// re-raises at once, leaving the volumes alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnMissingService {
    /// Raise at once (the initial cleanup: nothing of ours exists yet).
    RaiseNow,
    /// Still delete the volumes, then raise (the final cleanup: the volume
    /// this run created must not stay behind; the verdict is FAIL either
    /// way, since the raise comes after).
    RaiseAfterVolumes,
}

/// d.9 step 1 / 5, the official `cleanup`: `Ok(true)` if nothing was left,
/// `Ok(false)` if something could not be removed, `Err` for what the
/// official code raises (a listing that fails, an unnamed resource in a
/// listing, a missing backup service).
pub fn cleanup(
    cinder: &mut dyn Cinder,
    clock: &mut dyn Clock,
    log: &mut dyn Log,
    prefix: &str,
    on_missing_service: OnMissingService,
) -> Result<bool, String> {
    info(
        log,
        format!("Performing cleanup for resources with the '{prefix}' prefix ..."),
    );
    let mut issues = 0u32;
    let mut missing_service: Option<String> = None;

    for backup in cinder.list_backups()? {
        // Quirk (d.9, any exception → FAIL): the official loop calls
        // `name.startswith` on every listed backup, so an unnamed one raises.
        let name = backup
            .name
            .as_deref()
            .ok_or_else(|| unnamed("backup", &backup.id))?;
        if !name.starts_with(prefix) {
            continue;
        }
        // Only `available` or `error` backups can be deleted, so wait. The
        // retry swallows every error, "not found" included (d.9).
        let waited = retry(clock, &BACKUP_RETRY_SECS, || {
            check_status(
                cinder.get_backup(&backup.id),
                &backup.id,
                &["available", "error"],
            )
        });
        if let Err(timeout) = waited {
            // Not counted: the wait for the backups to vanish below counts it.
            warning(log, timeout.to_string());
            continue;
        }
        info(log, format!("↳ deleting volume backup '{}' ...", backup.id));
        match cinder.delete_backup(&backup.id) {
            Ok(Deleted::Done) => {}
            Ok(Deleted::NotFound(text)) => {
                // Vanished on its own: fine. But "not found" also comes when
                // the cinder-backup service is missing: re-raised (d.9).
                if missing_backup_service(&text) {
                    let e = format!("backup {} not found: {text}", backup.id);
                    match on_missing_service {
                        OnMissingService::RaiseNow => return Err(e),
                        OnMissingService::RaiseAfterVolumes => {
                            missing_service = Some(e);
                            break;
                        }
                    }
                }
            }
            Err(e) => warning(log, e),
        }
    }

    if missing_service.is_none() {
        // Wait until no backup with the prefix is listed any more.
        if let Err(timeout) = retry(clock, &BACKUP_RETRY_SECS, || {
            check_none_left(cinder.list_backups(), prefix)
        }) {
            issues += 1;
            warning(log, timeout.to_string());
        }
    }

    for volume in cinder.list_volumes()? {
        let name = volume
            .name
            .as_deref()
            .ok_or_else(|| unnamed("volume", &volume.id))?;
        if !name.starts_with(prefix) {
            continue;
        }
        let waited = retry(clock, &BACKUP_RETRY_SECS, || {
            check_status(
                cinder.get_volume(&volume.id),
                &volume.id,
                &["available", "error"],
            )
        });
        if let Err(timeout) = waited {
            warning(log, timeout.to_string());
            issues += 1;
            continue;
        }
        info(log, format!("↳ deleting volume '{}' ...", volume.id));
        // openstacksdk's delete_volume ignores 404 by default.
        if let Err(e) = cinder.delete_volume(&volume.id) {
            warning(log, e);
            issues += 1;
        }
    }

    if let Some(e) = missing_service {
        return Err(e);
    }
    if issues > 0 {
        info(
            log,
            format!("Some resources with the '{prefix}' prefix were not cleaned up!"),
        );
    }
    Ok(issues == 0)
}

fn wait_available(
    clock: &mut dyn Clock,
    id: &str,
    mut get: impl FnMut() -> Result<Resource, String>,
) -> Result<(), String> {
    retry(clock, &BACKUP_RETRY_SECS, || {
        check_status(get(), id, &["available"])
    })
    .map_err(|t| t.to_string())
}

/// d.9 steps 2–4, the official `test_backup`: volume, backup, restore, each
/// waited for until `available`. Any error is returned as is.
pub fn test_backup(
    cinder: &mut dyn Cinder,
    clock: &mut dyn Clock,
    log: &mut dyn Log,
) -> Result<(), String> {
    info(log, format!("Creating volume '{VOLUME_NAME}' ..."));
    let volume = cinder.create_volume(VOLUME_NAME, 1)?;
    let volume_id = volume.id;
    cinder
        .get_volume(&volume_id)
        .map_err(|e| format!("Retrieving initial volume by ID '{volume_id}' failed: {e}"))?;
    info(
        log,
        format!("↳ waiting for volume with ID '{volume_id}' to reach status 'available' ..."),
    );
    wait_available(clock, &volume_id, || cinder.get_volume(&volume_id))?;
    info(log, "Create empty volume: PASS");

    info(log, "Creating backup from volume ...");
    let backup = cinder.create_backup(BACKUP_NAME, &volume_id)?;
    let backup_id = backup.id;
    cinder
        .get_backup(&backup_id)
        .map_err(|e| format!("Retrieving backup by ID failed: {e}"))?;
    info(
        log,
        format!("↳ waiting for backup '{backup_id}' to become available ..."),
    );
    wait_available(clock, &backup_id, || cinder.get_backup(&backup_id))?;
    info(log, "Create backup from volume: PASS");

    info(
        log,
        format!("Restoring backup to volume '{RESTORED_NAME}' ..."),
    );
    cinder.restore_backup(&backup_id, RESTORED_NAME)?;
    info(
        log,
        format!("↳ waiting for restoration target volume '{RESTORED_NAME}' to be created ..."),
    );
    // The official code waits on `find_volume(name)` first (None → "not
    // found", retried), then looks the volume up once more by name.
    wait_available(clock, RESTORED_NAME, || {
        cinder
            .find_volume(RESTORED_NAME)?
            .ok_or_else(|| format!("resource {RESTORED_NAME} not found"))
    })?;
    info(
        log,
        format!(
            "↳ waiting for restoration target volume '{RESTORED_NAME}' to reach 'available' status ..."
        ),
    );
    let restored = cinder.find_volume(RESTORED_NAME)?.ok_or_else(|| {
        format!("volume {RESTORED_NAME} vanished: 'NoneType' object has no attribute 'id'")
    })?;
    wait_available(clock, &restored.id, || cinder.get_volume(&restored.id))?;
    info(log, "Restore volume from backup: PASS");
    Ok(())
}

/// `scs-0117-test-backup` (d.9): initial cleanup (anything left → ERROR
/// "Initial cleanup failed", FAIL), the test, and the final cleanup, which
/// runs whatever the test did and whose "something left" is ignored (the
/// official code discards its result). Every error → ERROR "Backup test
/// failed." and FAIL; never ABORT.
pub fn test_backup_verdict(
    cinder: &mut dyn Cinder,
    clock: &mut dyn Clock,
    log: &mut dyn Log,
) -> bool {
    let outcome = (|| -> Result<bool, String> {
        if !cleanup(cinder, clock, log, PREFIX, OnMissingService::RaiseNow)? {
            error(log, "Initial cleanup failed");
            return Ok(false);
        }
        let tested = test_backup(cinder, clock, log);
        // try/finally: an error of the final cleanup replaces the test's.
        let cleaned = cleanup(
            cinder,
            clock,
            log,
            PREFIX,
            OnMissingService::RaiseAfterVolumes,
        );
        match (tested, cleaned) {
            (_, Err(e)) | (Err(e), Ok(_)) => Err(e),
            (Ok(()), Ok(_)) => Ok(true),
        }
    })();
    match outcome {
        Ok(v) => v,
        Err(e) => {
            error(log, "Backup test failed.");
            debug(log, format!("exception details: {e}"));
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scs_check_sdk::wait::FakeClock;
    use std::collections::BTreeMap;

    /// A scripted Cinder: resources move through a list of statuses, one
    /// step per `get`; deleted resources vanish after `vanish_after` lists.
    #[derive(Default)]
    struct Fake {
        volumes: BTreeMap<String, Item>,
        backups: BTreeMap<String, Item>,
        next_id: u32,
        /// Statuses a new volume goes through (last one sticks).
        volume_path: Vec<&'static str>,
        /// Statuses a new backup goes through.
        backup_path: Vec<&'static str>,
        /// Backup create fails with this text (no backup service).
        backup_create_error: Option<String>,
        /// Backup delete answers 404 with this body.
        backup_delete_404: Option<String>,
        /// Backups listing fails.
        list_backups_error: Option<String>,
        calls: Vec<String>,
    }

    #[derive(Clone)]
    struct Item {
        name: Option<String>,
        path: Vec<&'static str>,
        step: usize,
        deleted: bool,
    }

    impl Item {
        fn status(&self) -> &'static str {
            self.path[self.step.min(self.path.len() - 1)]
        }
        fn res(&self, id: &str) -> Resource {
            Resource {
                id: id.to_string(),
                name: self.name.clone(),
                status: Some(self.status().to_string()),
            }
        }
    }

    impl Fake {
        fn new() -> Fake {
            Fake {
                volume_path: vec!["creating", "available"],
                backup_path: vec!["creating", "available"],
                ..Default::default()
            }
        }
        fn id(&mut self, kind: &str) -> String {
            self.next_id += 1;
            format!("{kind}-{}", self.next_id)
        }
        fn add_volume(&mut self, name: Option<&str>, path: Vec<&'static str>) -> String {
            let id = self.id("vol");
            self.volumes.insert(
                id.clone(),
                Item {
                    name: name.map(str::to_string),
                    path,
                    step: 0,
                    deleted: false,
                },
            );
            id
        }
        fn add_backup(&mut self, name: Option<&str>, path: Vec<&'static str>) -> String {
            let id = self.id("bak");
            self.backups.insert(
                id.clone(),
                Item {
                    name: name.map(str::to_string),
                    path,
                    step: 0,
                    deleted: false,
                },
            );
            id
        }
        /// Every observation (list, find, get) moves a resource one step on.
        fn live(map: &mut BTreeMap<String, Item>) -> Vec<Resource> {
            map.iter_mut()
                .filter(|(_, i)| !i.deleted)
                .map(|(id, i)| {
                    let r = i.res(id);
                    i.step += 1;
                    r
                })
                .collect()
        }
        fn get(map: &mut BTreeMap<String, Item>, id: &str) -> Result<Resource, String> {
            match map.get_mut(id) {
                Some(i) if !i.deleted => {
                    let r = i.res(id);
                    i.step += 1;
                    Ok(r)
                }
                _ => Err(format!("{id}: HTTP 404")),
            }
        }
        fn live_names(&self) -> Vec<String> {
            self.volumes
                .values()
                .chain(self.backups.values())
                .filter(|i| !i.deleted)
                .filter_map(|i| i.name.clone())
                .collect()
        }
    }

    impl Cinder for Fake {
        fn list_backups(&mut self) -> Result<Vec<Resource>, String> {
            self.calls.push("list_backups".into());
            if let Some(e) = &self.list_backups_error {
                return Err(e.clone());
            }
            Ok(Fake::live(&mut self.backups))
        }
        fn list_volumes(&mut self) -> Result<Vec<Resource>, String> {
            self.calls.push("list_volumes".into());
            Ok(Fake::live(&mut self.volumes))
        }
        fn get_backup(&mut self, id: &str) -> Result<Resource, String> {
            self.calls.push(format!("get_backup {id}"));
            Fake::get(&mut self.backups, id)
        }
        fn get_volume(&mut self, id: &str) -> Result<Resource, String> {
            self.calls.push(format!("get_volume {id}"));
            Fake::get(&mut self.volumes, id)
        }
        fn find_volume(&mut self, name: &str) -> Result<Option<Resource>, String> {
            self.calls.push(format!("find_volume {name}"));
            let hits: Vec<Resource> = Fake::live(&mut self.volumes)
                .into_iter()
                .filter(|r| r.name.as_deref() == Some(name))
                .collect();
            match hits.len() {
                0 => Ok(None),
                1 => Ok(hits.into_iter().next()),
                _ => Err("more than one".into()),
            }
        }
        fn create_volume(&mut self, name: &str, _size: u64) -> Result<Resource, String> {
            self.calls.push(format!("create_volume {name}"));
            let path = self.volume_path.clone();
            let id = self.add_volume(Some(name), path);
            Ok(self.volumes[&id].res(&id))
        }
        fn create_backup(&mut self, name: &str, volume_id: &str) -> Result<Resource, String> {
            self.calls.push(format!("create_backup {name} {volume_id}"));
            if let Some(e) = &self.backup_create_error {
                return Err(e.clone());
            }
            let path = self.backup_path.clone();
            let id = self.add_backup(Some(name), path);
            Ok(self.backups[&id].res(&id))
        }
        fn restore_backup(&mut self, backup_id: &str, name: &str) -> Result<(), String> {
            self.calls
                .push(format!("restore_backup {backup_id} {name}"));
            let path = self.volume_path.clone();
            self.add_volume(Some(name), path);
            Ok(())
        }
        fn delete_backup(&mut self, id: &str) -> Result<Deleted, String> {
            self.calls.push(format!("delete_backup {id}"));
            if let Some(body) = &self.backup_delete_404 {
                return Ok(Deleted::NotFound(body.clone()));
            }
            match self.backups.get_mut(id) {
                Some(i) if !i.deleted => {
                    i.deleted = true;
                    Ok(Deleted::Done)
                }
                _ => Ok(Deleted::NotFound("No backup".into())),
            }
        }
        fn delete_volume(&mut self, id: &str) -> Result<Deleted, String> {
            self.calls.push(format!("delete_volume {id}"));
            match self.volumes.get_mut(id) {
                Some(i) if !i.deleted => {
                    i.deleted = true;
                    Ok(Deleted::Done)
                }
                _ => Ok(Deleted::NotFound("No volume".into())),
            }
        }
    }

    fn run(fake: &mut Fake) -> (bool, Lines, FakeClock) {
        let mut clock = FakeClock::default();
        let mut lines = Lines::new();
        let v = test_backup_verdict(fake, &mut clock, &mut lines);
        (v, lines, clock)
    }

    #[test]
    fn pass_and_everything_removed() {
        let mut fake = Fake::new();
        fake.add_volume(Some("production-db"), vec!["in-use"]);
        let (v, lines, clock) = run(&mut fake);
        assert!(v, "{lines:?}");
        assert!(lines.errors().is_empty());
        assert_eq!(
            fake.live_names(),
            vec!["production-db"],
            "only ours is removed"
        );
        // the volume and the backup are `creating` when first fetched by id
        // (no wait needed after that); the restored volume is `creating` at
        // the first find: one 2 s sleep
        assert_eq!(clock.sleeps, vec![2000]);
        assert!(
            fake.calls
                .contains(&format!("restore_backup bak-3 {RESTORED_NAME}"))
        );
    }

    #[test]
    fn leftovers_of_an_earlier_run_are_removed_first() {
        let mut fake = Fake::new();
        fake.add_backup(Some("scs-test-volume-backup"), vec!["available"]);
        fake.add_volume(Some("scs-test-volume"), vec!["error"]);
        fake.add_volume(Some("scs-test-restored-backup"), vec!["available"]);
        let (v, lines, _) = run(&mut fake);
        assert!(v, "{lines:?}");
        assert!(fake.live_names().is_empty());
        let first_create = fake
            .calls
            .iter()
            .position(|c| c.starts_with("create_volume"));
        let last_leftover_delete = fake.calls.iter().position(|c| c == "delete_volume vol-3");
        assert!(last_leftover_delete < first_create);
    }

    #[test]
    fn initial_cleanup_failure_is_fail() {
        let mut fake = Fake::new();
        // a leftover volume stuck in `in-use` cannot be deleted
        fake.add_volume(Some("scs-test-volume"), vec!["in-use"]);
        let (v, lines, clock) = run(&mut fake);
        assert!(!v);
        assert_eq!(lines.errors(), vec!["Initial cleanup failed"]);
        assert_eq!(
            clock.sleeps.iter().sum::<u64>(),
            110_000,
            "the whole schedule"
        );
        assert!(!fake.calls.iter().any(|c| c.starts_with("create_volume")));
    }

    #[test]
    fn stuck_backup_is_a_cleanup_failure_via_the_vanish_wait() {
        let mut fake = Fake::new();
        fake.add_backup(Some("scs-test-volume-backup"), vec!["creating"]);
        let (v, lines, clock) = run(&mut fake);
        assert!(!v);
        assert_eq!(lines.errors(), vec!["Initial cleanup failed"]);
        // wait for available/error (110 s) + wait for it to vanish (110 s)
        assert_eq!(clock.sleeps.iter().sum::<u64>(), 220_000);
        assert_eq!(lines.at(scs_check_sdk::Level::Warning).len(), 2);
    }

    #[test]
    fn missing_backup_service_is_fail_and_the_volume_is_removed() {
        let mut fake = Fake::new();
        fake.backup_create_error =
            Some("block-storage POST backups returned HTTP 404: Service cinder-backup could not be found.".into());
        let (v, lines, _) = run(&mut fake);
        assert!(!v);
        assert_eq!(lines.errors(), vec!["Backup test failed."]);
        assert!(fake.live_names().is_empty(), "{:?}", fake.live_names());
    }

    #[test]
    fn cinder_backup_not_found_is_reraised() {
        // initial cleanup: raised at once, volumes untouched → FAIL
        let mut fake = Fake::new();
        fake.add_backup(Some("scs-test-volume-backup"), vec!["available"]);
        fake.add_volume(Some("scs-test-volume"), vec!["available"]);
        fake.backup_delete_404 = Some(
            r#"{"itemNotFound": {"message": "Service cinder-backup could not be found."}}"#.into(),
        );
        let (v, lines, _) = run(&mut fake);
        assert!(!v);
        assert_eq!(lines.errors(), vec!["Backup test failed."]);
        assert!(!fake.calls.iter().any(|c| c.starts_with("delete_volume")));
        assert!(!fake.calls.iter().any(|c| c.starts_with("create_volume")));
        // another not-found text: the backup "vanished", cleanup goes on
        let mut fake = Fake::new();
        fake.add_backup(Some("scs-test-x"), vec!["available"]);
        fake.backup_delete_404 = Some("Backup could not be found".into());
        let mut clock = FakeClock::default();
        let mut lines = Lines::new();
        // the backup does not really vanish in this fake: the vanish-wait times out
        assert_eq!(
            cleanup(
                &mut fake,
                &mut clock,
                &mut lines,
                PREFIX,
                OnMissingService::RaiseNow
            ),
            Ok(false)
        );
    }

    /// Whether a 404 to `DELETE backups/{id}` at `url` makes the official
    /// cleanup re-raise, decided on openstacksdk's exception text.
    fn reraised(url: &str, content_type: &str, body: &str) -> bool {
        let headers = vec![("content-type".to_string(), content_type.to_string())];
        missing_backup_service(&scs_check_sdk::response::sdk_exception_text(
            url,
            404,
            &headers,
            body.as_bytes(),
        ))
    }

    #[test]
    fn missing_service_is_searched_in_the_exception_text() {
        const URL: &str = "http://cinder:8776/v3/p1/backups/0b5c";
        const JSON: &str = "application/json";
        // Cinder's answer when cinder-backup is missing: the message counts
        assert!(reraised(
            URL,
            JSON,
            r#"{"itemNotFound": {"code": 404, "message": "Service cinder-backup could not be found."}}"#
        ));
        // an ordinary vanished backup
        assert!(!reraised(
            URL,
            JSON,
            r#"{"itemNotFound": {"code": 404, "message": "Backup 0b5c could not be found."}}"#
        ));
        // the word in a JSON field other than `message` is not in str(e)
        assert!(!reraised(
            URL,
            JSON,
            r#"{"itemNotFound": {"message": "Not found", "service": "cinder-backup"}}"#
        ));
        // a plain-text body is not in str(e) either (the reason phrase is)
        assert!(!reraised(
            URL,
            "text/plain",
            "Service cinder-backup could not be found."
        ));
        // ... but an html body's text is, tags removed
        assert!(reraised(
            URL,
            "text/html",
            "<html><body><h1>404</h1><p>Service <b>cinder-backup</b> is down</p></body></html>"
        ));
        // a JSON body that is not an object: the whole body
        assert!(reraised(URL, JSON, r#"["cinder-backup"]"#));
        // the request URL is part of str(e)
        assert!(reraised(
            "https://cinder-backup.example/v3/p1/backups/0b5c",
            JSON,
            r#"{"itemNotFound": {"message": "Backup 0b5c could not be found."}}"#
        ));
        assert!(reraised(
            "http://cinder:8776/v3/p1/backups/cinder-backup",
            "text/plain",
            ""
        ));
    }

    #[test]
    fn final_cleanup_reraise_still_removes_our_volumes() {
        let mut fake = Fake::new();
        fake.add_backup(Some("scs-test-volume-backup"), vec!["available"]);
        fake.add_volume(Some("scs-test-volume"), vec!["available"]);
        fake.backup_delete_404 = Some("Service cinder-backup could not be found.".into());
        let mut clock = FakeClock::default();
        let mut lines = Lines::new();
        let r = cleanup(
            &mut fake,
            &mut clock,
            &mut lines,
            PREFIX,
            OnMissingService::RaiseAfterVolumes,
        );
        assert!(r.is_err());
        assert!(fake.calls.iter().any(|c| c.starts_with("delete_volume")));
    }

    #[test]
    fn volume_going_to_error_is_fail() {
        let mut fake = Fake::new();
        fake.volume_path = vec!["creating", "error"];
        let (v, lines, clock) = run(&mut fake);
        assert!(!v);
        assert_eq!(lines.errors(), vec!["Backup test failed."]);
        // the whole schedule was waited, then the error volume was cleaned up
        assert_eq!(clock.sleeps.iter().sum::<u64>(), 110_000);
        assert!(fake.live_names().is_empty());
    }

    #[test]
    fn final_cleanup_leftovers_do_not_change_a_pass() {
        let mut fake = Fake::new();
        // a scs-test- volume that is stuck in-use makes the final cleanup
        // report an issue, which the official code ignores.
        let mut clock = FakeClock::default();
        let mut lines = Lines::new();
        assert!(
            cleanup(
                &mut fake,
                &mut clock,
                &mut lines,
                PREFIX,
                OnMissingService::RaiseNow
            ) == Ok(true)
        );
        fake.volume_path = vec!["available"];
        assert_eq!(test_backup(&mut fake, &mut clock, &mut lines), Ok(()));
        fake.add_volume(Some("scs-test-stuck"), vec!["in-use"]);
        assert_eq!(
            cleanup(
                &mut fake,
                &mut clock,
                &mut lines,
                PREFIX,
                OnMissingService::RaiseAfterVolumes
            ),
            Ok(false)
        );
        // and through the verdict: a stuck volume appearing only after the
        // initial cleanup still gives PASS
        struct Late(Fake, bool);
        impl Cinder for Late {
            fn list_backups(&mut self) -> Result<Vec<Resource>, String> {
                self.0.list_backups()
            }
            fn list_volumes(&mut self) -> Result<Vec<Resource>, String> {
                let r = self.0.list_volumes();
                if !self.1 {
                    self.1 = true;
                    self.0.add_volume(Some("scs-test-stuck"), vec!["in-use"]);
                }
                r
            }
            fn get_backup(&mut self, id: &str) -> Result<Resource, String> {
                self.0.get_backup(id)
            }
            fn get_volume(&mut self, id: &str) -> Result<Resource, String> {
                self.0.get_volume(id)
            }
            fn find_volume(&mut self, n: &str) -> Result<Option<Resource>, String> {
                self.0.find_volume(n)
            }
            fn create_volume(&mut self, n: &str, s: u64) -> Result<Resource, String> {
                self.0.create_volume(n, s)
            }
            fn create_backup(&mut self, n: &str, v: &str) -> Result<Resource, String> {
                self.0.create_backup(n, v)
            }
            fn restore_backup(&mut self, b: &str, n: &str) -> Result<(), String> {
                self.0.restore_backup(b, n)
            }
            fn delete_backup(&mut self, id: &str) -> Result<Deleted, String> {
                self.0.delete_backup(id)
            }
            fn delete_volume(&mut self, id: &str) -> Result<Deleted, String> {
                self.0.delete_volume(id)
            }
        }
        let mut late = Late(Fake::new(), false);
        let mut clock = FakeClock::default();
        let mut lines = Lines::new();
        assert!(
            test_backup_verdict(&mut late, &mut clock, &mut lines),
            "{lines:?}"
        );
        assert!(lines.errors().is_empty());
    }

    #[test]
    fn unnamed_resources_raise() {
        // quirk: an unnamed volume anywhere in the project → FAIL
        let mut fake = Fake::new();
        fake.add_volume(None, vec!["available"]);
        let (v, lines, _) = run(&mut fake);
        assert!(!v);
        assert_eq!(lines.errors(), vec!["Backup test failed."]);
        let mut fake = Fake::new();
        fake.add_backup(None, vec!["available"]);
        assert!(!run(&mut fake).0);
    }

    #[test]
    fn listing_errors_are_fail_not_abort() {
        let mut fake = Fake::new();
        fake.list_backups_error = Some("block-storage GET backups/detail returned HTTP 503".into());
        let (v, lines, _) = run(&mut fake);
        assert!(!v);
        assert_eq!(lines.errors(), vec!["Backup test failed."]);
    }

    #[test]
    fn restored_volume_that_never_appears_times_out() {
        struct NoRestore(Fake);
        impl Cinder for NoRestore {
            fn list_backups(&mut self) -> Result<Vec<Resource>, String> {
                self.0.list_backups()
            }
            fn list_volumes(&mut self) -> Result<Vec<Resource>, String> {
                self.0.list_volumes()
            }
            fn get_backup(&mut self, id: &str) -> Result<Resource, String> {
                self.0.get_backup(id)
            }
            fn get_volume(&mut self, id: &str) -> Result<Resource, String> {
                self.0.get_volume(id)
            }
            fn find_volume(&mut self, n: &str) -> Result<Option<Resource>, String> {
                self.0.find_volume(n)
            }
            fn create_volume(&mut self, n: &str, s: u64) -> Result<Resource, String> {
                self.0.create_volume(n, s)
            }
            fn create_backup(&mut self, n: &str, v: &str) -> Result<Resource, String> {
                self.0.create_backup(n, v)
            }
            fn restore_backup(&mut self, _: &str, _: &str) -> Result<(), String> {
                Ok(())
            }
            fn delete_backup(&mut self, id: &str) -> Result<Deleted, String> {
                self.0.delete_backup(id)
            }
            fn delete_volume(&mut self, id: &str) -> Result<Deleted, String> {
                self.0.delete_volume(id)
            }
        }
        let mut c = NoRestore(Fake::new());
        let mut clock = FakeClock::default();
        let mut lines = Lines::new();
        assert!(!test_backup_verdict(&mut c, &mut clock, &mut lines));
        let finds =
            c.0.calls
                .iter()
                .filter(|x| x.starts_with("find_volume"))
                .count();
        assert_eq!(finds, 8, "one attempt plus seven retries");
        assert!(c.0.live_names().is_empty());
    }
}

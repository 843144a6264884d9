//! The results history: every run's verdicts, digests and delivery state, in a small local
//! SQLite database, and what `run --due` selects from it.
//!
//! Owns: the database file (`--history FILE`, default `<state dir>/history.sqlite`; column `bundle_sha256` is the
//! bundle archive's sha256), its schema
//! (versioned by `PRAGMA user_version`; an older file is migrated, a newer one refused), the
//! row of a finished run and of each of its results with the moment the result expires
//! ([`expires_at`], the compliance monitor's rule), the delivery state of a run, the newest
//! result per (subject, scope, testcase), the accepted one of it and of what the monitor
//! holds ([`accepted_of`]), which testcases are due ([`due`]), and the previous run of a
//! subject and scope (for "what changed" in the HTML report).
//!
//! The database keeps SQLite's default rollback journal (no WAL): a reader, such as `scs-cert
//! history` run by root next to a service user's database, creates no file beside it.
//!
//! Must never: hold a credential, a report body or a log line (digests and verdicts only),
//! store what the monitor says (it is asked afresh on every `--due` run),
//! change a run's results once written (only its delivery state is updated), or wait for ever
//! on a locked database (busy timeout [`BUSY_TIMEOUT`]).

use crate::report::Report;
use crate::scope::{Lifetime, Spec};
use chrono::{Datelike, Duration as Days, NaiveDate, NaiveDateTime};
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// File name of the history in the state directory.
pub const FILE_NAME: &str = "history.sqlite";
/// How long a writer waits for another process that holds the database (two timers at once).
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Schema version this build writes.
const SCHEMA_VERSION: i64 = 1;
/// Runs `runs` lists at most.
pub const MAX_LISTED_RUNS: usize = 1000;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id            INTEGER PRIMARY KEY,
    run_uuid      TEXT NOT NULL UNIQUE,
    subject       TEXT NOT NULL,
    scope_uuid    TEXT NOT NULL,
    scope_name    TEXT NOT NULL,
    checked_at    TEXT NOT NULL,
    overall       TEXT NOT NULL,
    report_sha256 TEXT NOT NULL,
    bundle_sha256 TEXT,
    transcript_sha256 TEXT,
    delivery      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_subject_scope ON runs (subject, scope_uuid, checked_at);
CREATE TABLE IF NOT EXISTS results (
    run_id     INTEGER NOT NULL REFERENCES runs (id),
    testcase   TEXT NOT NULL,
    result     INTEGER NOT NULL,
    lifetime   TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    PRIMARY KEY (run_id, testcase)
);
CREATE INDEX IF NOT EXISTS results_testcase ON results (testcase);
";

/// Timestamps as stored (naive local time, as the report's `checked_at`; sorts as text).
const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// Errors of the history store.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The file could not be opened or is not a history database.
    #[error(
        "{}: cannot use the results history: {message} (check the file and its directory, or \
         pass another --history FILE)",
        .path.display()
    )]
    Open {
        /// The database file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// A newer scs-cert wrote it.
    #[error(
        "{}: the results history has schema version {found}, newer than this scs-cert's \
         {SCHEMA_VERSION}; use a newer scs-cert or another --history FILE",
        .path.display()
    )]
    Newer {
        /// The database file.
        path: PathBuf,
        /// Its version.
        found: i64,
    },
    /// A query or write failed (disk full, locked for longer than [`BUSY_TIMEOUT`]).
    #[error("{}: results history: {message}", .path.display())]
    Query {
        /// The database file.
        path: PathBuf,
        /// Why.
        message: String,
    },
}

/// How far a run's report got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// No report file, no spool (the run's results are still kept here).
    None,
    /// A report file was written (`-o`), not signed.
    Written,
    /// Signed and in the spool, not confirmed by the monitor (yet).
    Spooled,
    /// The monitor confirmed it.
    Delivered,
    /// The monitor refused it (it stays in the spool).
    Refused,
}

impl Delivery {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::None => "none",
            Delivery::Written => "written",
            Delivery::Spooled => "spooled",
            Delivery::Delivered => "delivered",
            Delivery::Refused => "refused",
        }
    }
}

/// The moment a result checked at `checked_at` expires, as the compliance monitor computes it
/// (`add_period`); the result is valid strictly before it:
/// - `day`: 00:00 of the check date + 2 days;
/// - `week`: 00:00 of the Monday after the following week (the end of the following
///   calendar week);
/// - `month`: the 1st of the month after next;
/// - `quarter`: the first day of the quarter after next;
/// - `year`: the 1st of the month two months on, in the following year.
pub fn expires_at(checked_at: NaiveDateTime, lifetime: Lifetime) -> NaiveDateTime {
    let d = checked_at.date();
    let first = |year: i32, month0: u32| {
        // month0 counts from 0 and may run past December
        let y = year + (month0 / 12) as i32;
        NaiveDate::from_ymd_opt(y, month0 % 12 + 1, 1).unwrap_or(d)
    };
    let date = match lifetime {
        Lifetime::Day => d + Days::days(2),
        Lifetime::Week => d + Days::days(14 - i64::from(d.weekday().num_days_from_monday())),
        Lifetime::Month => first(d.year(), d.month0() + 2),
        Lifetime::Quarter => first(d.year(), (d.month0() / 3) * 3 + 6),
        Lifetime::Year => first(d.year() + 1, d.month0() + 2),
    };
    date.and_hms_opt(0, 0, 0).unwrap_or(checked_at)
}

/// The newest result of a testcase when it is a PASS: `--due` leaves it out until it comes near
/// its expiry. A FAIL or ABORT is always due: the cloud may have been fixed, and the monitor
/// should see that as soon as the next run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// 1 (PASS).
    pub result: i8,
    /// When it was checked.
    pub checked_at: NaiveDateTime,
    /// When it expires.
    pub expires_at: NaiveDateTime,
}

/// The newest result of a testcase, in the local history or at the monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    /// 1 PASS, 0 ABORT, -1 FAIL.
    pub result: i8,
    /// When it was checked.
    pub checked_at: NaiveDateTime,
    /// When it expires (by the testcase's lifetime).
    pub expires_at: NaiveDateTime,
}

/// The accepted results from the local history's and the monitor's newest results: per
/// testcase the newer of the two (the local one on a tie), kept when it is a PASS. So a PASS
/// another machine delivered counts here, and a newer local FAIL still makes a testcase due.
pub fn accepted_of(
    local: BTreeMap<String, Latest>,
    monitor: &BTreeMap<String, Latest>,
) -> BTreeMap<String, Accepted> {
    let mut newest = local;
    for (tc, m) in monitor {
        match newest.get(tc) {
            Some(l) if l.checked_at >= m.checked_at => {}
            _ => {
                newest.insert(tc.clone(), m.clone());
            }
        }
    }
    newest
        .into_iter()
        .filter(|(_, l)| l.result > 0)
        .map(|(tc, l)| {
            (
                tc,
                Accepted {
                    result: 1,
                    checked_at: l.checked_at,
                    expires_at: l.expires_at,
                },
            )
        })
        .collect()
}

/// What `--due` decides for one testcase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// No PASS as its newest result.
    NoResult,
    /// Its newest accepted result expires within the margin (or has expired).
    Expiring(NaiveDateTime),
    /// Valid beyond the margin: not run now.
    Valid(NaiveDateTime),
}

/// Whether a testcase is due at `now`: its newest result is no PASS, or a PASS expiring
/// before `now + margin`.
pub fn due(accepted: Option<&Accepted>, now: NaiveDateTime, margin: Duration) -> Due {
    let margin = chrono::Duration::from_std(margin).unwrap_or(chrono::Duration::MAX);
    match accepted {
        None => Due::NoResult,
        Some(a) if a.expires_at <= now.checked_add_signed(margin).unwrap_or(NaiveDateTime::MAX) => {
            Due::Expiring(a.expires_at)
        }
        Some(a) => Due::Valid(a.expires_at),
    }
}

/// One stored run, for listings and comparisons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    /// run.uuid of its report.
    pub run_uuid: String,
    /// Subject.
    pub subject: String,
    /// Scope uuid.
    pub scope_uuid: String,
    /// Scope name.
    pub scope_name: String,
    /// When it was checked.
    pub checked_at: NaiveDateTime,
    /// `pass`, `fail`, `abort` or `tentative`.
    pub overall: String,
    /// sha256 of the run's report document.
    pub report_sha256: String,
    /// How far its report got (`none`, `written`, `spooled`, `delivered`).
    pub delivery: String,
    /// Testcase → 1 / 0 / -1.
    pub results: BTreeMap<String, i8>,
}

/// An open history database.
#[derive(Debug)]
pub struct History {
    conn: Connection,
    path: PathBuf,
}

impl History {
    /// The default file: `<state dir>/history.sqlite`.
    pub fn default_path(state_dir: &Path) -> PathBuf {
        state_dir.join(FILE_NAME)
    }

    /// Where the history is: `explicit` (`--history`), else `<state_dir>/history.sqlite`, else
    /// in the default state directory ([`crate::trust::state::default_dir`]).
    pub fn location(
        explicit: Option<&Path>,
        state_dir: Option<&Path>,
    ) -> Result<PathBuf, crate::trust::TrustError> {
        match (explicit, state_dir) {
            (Some(h), _) => Ok(h.to_path_buf()),
            (None, Some(d)) => Ok(History::default_path(d)),
            (None, None) => crate::trust::state::default_dir().map(|d| History::default_path(&d)),
        }
    }

    /// Open (or create, with its directory, mode 0700) the history at `path`.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let open_err = |message: String| HistoryError::Open {
            path: path.to_path_buf(),
            message,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::fsutil::create_private_dir(dir).map_err(|e| open_err(e.to_string()))?;
        }
        let conn = Connection::open(path).map_err(|e| open_err(e.to_string()))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_err(e.to_string()))?;
        let h = History {
            conn,
            path: path.to_path_buf(),
        };
        let found: i64 = h
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| open_err(e.to_string()))?;
        if found > SCHEMA_VERSION {
            return Err(HistoryError::Newer {
                path: path.to_path_buf(),
                found,
            });
        }
        // the schema is written once (a write lock only then); a failure here is the
        // environment's (disk full, read-only file system, locked), not the caller's input
        if found < SCHEMA_VERSION {
            h.conn
                .execute_batch(&format!(
                    "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))
                .map_err(|e| h.query_err(e))?;
        }
        Ok(h)
    }

    /// Open an existing history for reading only (`scs-cert history`): no schema is written,
    /// so listing as another user leaves no file behind that the service cannot write.
    pub fn open_read_only(path: &Path) -> Result<History, HistoryError> {
        let open_err = |message: String| HistoryError::Open {
            path: path.to_path_buf(),
            message,
        };
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| open_err(e.to_string()))?;
        conn.busy_timeout(BUSY_TIMEOUT)
            .map_err(|e| open_err(e.to_string()))?;
        let found: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| open_err(e.to_string()))?;
        if found > SCHEMA_VERSION {
            return Err(HistoryError::Newer {
                path: path.to_path_buf(),
                found,
            });
        }
        if found < 1 {
            return Err(open_err("not a results history of scs-cert".to_string()));
        }
        Ok(History {
            conn,
            path: path.to_path_buf(),
        })
    }

    fn query_err(&self, e: rusqlite::Error) -> HistoryError {
        HistoryError::Query {
            path: self.path.clone(),
            message: e.to_string(),
        }
    }

    /// Store a finished run: its report (digest, overall, bundle and transcript digests) and
    /// each result with its expiry by the testcase's lifetime in `spec`. A run already stored
    /// (same run uuid) only gets its delivery state updated.
    pub fn record(
        &mut self,
        report: &Report,
        spec: &Spec,
        overall: &str,
        report_sha256: &str,
        delivery: Delivery,
    ) -> Result<(), HistoryError> {
        let tx = self.conn.transaction().map_err(|e| HistoryError::Query {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        let path = self.path.clone();
        let q = |e: rusqlite::Error| HistoryError::Query {
            path: path.clone(),
            message: e.to_string(),
        };
        let existing: Option<i64> = tx
            .query_row(
                "SELECT id FROM runs WHERE run_uuid = ?1",
                params![report.run_uuid],
                |r| r.get(0),
            )
            .optional()
            .map_err(q)?;
        if let Some(id) = existing {
            tx.execute(
                "UPDATE runs SET delivery = ?1 WHERE id = ?2",
                params![delivery.as_str(), id],
            )
            .map_err(q)?;
            return tx.commit().map_err(q);
        }
        let checked = report.checked_at.format(TIME_FORMAT).to_string();
        tx.execute(
            "INSERT INTO runs (run_uuid, subject, scope_uuid, scope_name, checked_at, overall, \
             report_sha256, bundle_sha256, transcript_sha256, delivery) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                report.run_uuid,
                report.subject,
                report.spec.uuid,
                report.spec.name,
                checked,
                overall,
                report_sha256,
                report
                    .provenance
                    .bundle
                    .as_ref()
                    .map(|b| b.archive_sha256.clone()),
                report
                    .provenance
                    .transcript
                    .as_ref()
                    .map(|t| t.sha256.clone()),
                delivery.as_str(),
            ],
        )
        .map_err(q)?;
        let run_id = tx.last_insert_rowid();
        {
            let mut ins = tx
                .prepare(
                    "INSERT INTO results (run_id, testcase, result, lifetime, expires_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(q)?;
            for (tc, result) in report.results() {
                let lifetime = spec
                    .testcases
                    .get(&tc)
                    .map(|t| t.lifetime)
                    .unwrap_or_default();
                let expires = expires_at(report.checked_at, lifetime)
                    .format(TIME_FORMAT)
                    .to_string();
                ins.execute(params![run_id, tc, result, lifetime.as_str(), expires])
                    .map_err(q)?;
            }
        }
        tx.commit().map_err(q)
    }

    /// Record how far the report of run `run_uuid` got since it was stored (`report flush`:
    /// delivered or refused). Returns whether the history has that run.
    pub fn set_delivery(&self, run_uuid: &str, delivery: Delivery) -> Result<bool, HistoryError> {
        let n = self
            .conn
            .execute(
                "UPDATE runs SET delivery = ?1 WHERE run_uuid = ?2",
                params![delivery.as_str(), run_uuid],
            )
            .map_err(|e| self.query_err(e))?;
        Ok(n > 0)
    }

    /// The newest result (PASS, FAIL or ABORT) of every testcase of `subject` and the scope
    /// `scope_uuid`, as the monitor's `DISTINCT ON … ORDER BY checked_at DESC` picks it. Runs
    /// whose report the monitor refused do not count.
    pub fn latest(
        &self,
        subject: &str,
        scope_uuid: &str,
    ) -> Result<BTreeMap<String, Latest>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.testcase, r.result, runs.checked_at, r.expires_at \
                 FROM results r JOIN runs ON runs.id = r.run_id \
                 WHERE runs.subject = ?1 AND runs.scope_uuid = ?2 \
                 AND runs.delivery != 'refused' \
                 ORDER BY runs.checked_at, runs.id",
            )
            .map_err(|e| self.query_err(e))?;
        let rows = stmt
            .query_map(params![subject, scope_uuid], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.query_err(e))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (tc, result, checked, expires) = row.map_err(|e| self.query_err(e))?;
            let (Some(checked_at), Some(expires_at)) = (parse_time(&checked), parse_time(&expires))
            else {
                continue;
            };
            // ordered by time: a later row replaces an earlier one
            out.insert(
                tc,
                Latest {
                    result: result.clamp(-1, 1) as i8,
                    checked_at,
                    expires_at,
                },
            );
        }
        Ok(out)
    }

    /// The newest runs (all subjects, or one), newest first, at most `limit`
    /// ([`MAX_LISTED_RUNS`] at most).
    pub fn runs(&self, subject: Option<&str>, limit: usize) -> Result<Vec<RunRow>, HistoryError> {
        let limit = limit.min(MAX_LISTED_RUNS) as i64;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, run_uuid, subject, scope_name, checked_at, overall, report_sha256, \
                 delivery, scope_uuid FROM runs WHERE ?1 IS NULL OR subject = ?1 \
                 ORDER BY checked_at DESC, id DESC LIMIT ?2",
            )
            .map_err(|e| self.query_err(e))?;
        let rows = stmt
            .query_map(params![subject, limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    RunRow {
                        run_uuid: r.get(1)?,
                        subject: r.get(2)?,
                        scope_uuid: r.get(8)?,
                        scope_name: r.get(3)?,
                        checked_at: NaiveDateTime::MIN,
                        overall: r.get(5)?,
                        report_sha256: r.get(6)?,
                        delivery: r.get(7)?,
                        results: BTreeMap::new(),
                    },
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(|e| self.query_err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let (id, mut run, checked) = row.map_err(|e| self.query_err(e))?;
            run.checked_at = parse_time(&checked).unwrap_or(NaiveDateTime::MIN);
            run.results = self.results_of(id)?;
            out.push(run);
        }
        Ok(out)
    }

    /// The run of `subject` and scope `scope_uuid` stored last before `run_uuid` (or the last
    /// one, when `run_uuid` is not stored).
    pub fn previous(
        &self,
        subject: &str,
        scope_uuid: &str,
        run_uuid: &str,
    ) -> Result<Option<RunRow>, HistoryError> {
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM runs WHERE subject = ?1 AND scope_uuid = ?2 AND run_uuid != ?3 \
                 AND id < COALESCE((SELECT id FROM runs WHERE run_uuid = ?3), 9223372036854775807) \
                 ORDER BY id DESC LIMIT 1",
                params![subject, scope_uuid, run_uuid],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.query_err(e))?;
        let Some(id) = id else {
            return Ok(None);
        };
        let mut run = self
            .conn
            .query_row(
                "SELECT run_uuid, subject, scope_name, checked_at, overall, report_sha256, \
                 delivery, scope_uuid FROM runs WHERE id = ?1",
                params![id],
                |r| {
                    Ok(RunRow {
                        run_uuid: r.get(0)?,
                        subject: r.get(1)?,
                        scope_uuid: r.get(7)?,
                        scope_name: r.get(2)?,
                        checked_at: parse_time(&r.get::<_, String>(3)?)
                            .unwrap_or(NaiveDateTime::MIN),
                        overall: r.get(4)?,
                        report_sha256: r.get(5)?,
                        delivery: r.get(6)?,
                        results: BTreeMap::new(),
                    })
                },
            )
            .map_err(|e| self.query_err(e))?;
        run.results = self.results_of(id)?;
        Ok(Some(run))
    }

    fn results_of(&self, id: i64) -> Result<BTreeMap<String, i8>, HistoryError> {
        let mut stmt = self
            .conn
            .prepare("SELECT testcase, result FROM results WHERE run_id = ?1")
            .map_err(|e| self.query_err(e))?;
        let rows = stmt
            .query_map(params![id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
            })
            .map_err(|e| self.query_err(e))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (tc, v) = row.map_err(|e| self.query_err(e))?;
            out.insert(tc, v.clamp(-1, 1) as i8);
        }
        Ok(out)
    }
}

fn parse_time(s: &str) -> Option<NaiveDateTime> {
    NaiveDateTime::parse_from_str(s, TIME_FORMAT).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(13, 45, 0))
            .expect("date")
    }

    fn midnight(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .expect("date")
    }

    /// The monitor's `add_period`, one case per lifetime and the year and quarter edges.
    #[test]
    fn expiry_follows_the_monitor() {
        // 2026-12-02 is a Wednesday
        let c = at(2026, 12, 2);
        assert_eq!(expires_at(c, Lifetime::Day), midnight(2026, 12, 4));
        // end of the following calendar week: Monday 2026-12-14
        assert_eq!(expires_at(c, Lifetime::Week), midnight(2026, 12, 14));
        assert_eq!(
            expires_at(at(2026, 12, 7), Lifetime::Week),
            midnight(2026, 12, 21)
        );
        assert_eq!(
            expires_at(at(2026, 12, 13), Lifetime::Week),
            midnight(2026, 12, 21)
        );
        assert_eq!(expires_at(c, Lifetime::Month), midnight(2027, 2, 1));
        assert_eq!(
            expires_at(at(2026, 11, 30), Lifetime::Month),
            midnight(2027, 1, 1)
        );
        // quarter: Q4 2026 → the first day of Q2 2027
        assert_eq!(expires_at(c, Lifetime::Quarter), midnight(2027, 4, 1));
        assert_eq!(
            expires_at(at(2026, 2, 10), Lifetime::Quarter),
            midnight(2026, 7, 1)
        );
        // year: month + 2 in the following year
        assert_eq!(expires_at(c, Lifetime::Year), midnight(2028, 2, 1));
        assert_eq!(
            expires_at(at(2026, 3, 5), Lifetime::Year),
            midnight(2027, 5, 1)
        );
    }

    #[test]
    fn due_by_margin() {
        let now = at(2026, 12, 6);
        let a = |expires| Accepted {
            result: 1,
            checked_at: at(2026, 12, 1),
            expires_at: expires,
        };
        let margin = Duration::from_secs(36 * 3600);
        assert_eq!(due(None, now, margin), Due::NoResult);
        let soon = midnight(2026, 12, 7);
        assert_eq!(due(Some(&a(soon)), now, margin), Due::Expiring(soon));
        let later = midnight(2026, 12, 14);
        assert_eq!(due(Some(&a(later)), now, margin), Due::Valid(later));
        let past = midnight(2026, 12, 2);
        assert_eq!(due(Some(&a(past)), now, margin), Due::Expiring(past));
    }

    /// The newer of local and monitor wins per testcase (local on a tie); only a PASS is
    /// accepted.
    #[test]
    fn the_newer_of_history_and_monitor_decides() {
        let l = |result, day| Latest {
            result,
            checked_at: at(2026, 12, day),
            expires_at: midnight(2026, 12, day + 14),
        };
        let local = BTreeMap::from([
            ("fixed-here".to_string(), l(1, 5)),
            ("failed-here".to_string(), l(-1, 5)),
            ("tie".to_string(), l(-1, 4)),
            ("only-here".to_string(), l(1, 1)),
        ]);
        let monitor = BTreeMap::from([
            ("fixed-here".to_string(), l(-1, 3)),
            ("failed-here".to_string(), l(1, 4)),
            ("tie".to_string(), l(1, 4)),
            ("elsewhere".to_string(), l(1, 2)),
            ("aborted-elsewhere".to_string(), l(0, 2)),
        ]);
        let a = accepted_of(local, &monitor);
        let keys: Vec<&str> = a.keys().map(String::as_str).collect();
        assert_eq!(keys, ["elsewhere", "fixed-here", "only-here"]);
        assert_eq!(a["fixed-here"].checked_at, at(2026, 12, 5));
        assert_eq!(a["elsewhere"].expires_at, midnight(2026, 12, 16));
        assert!(accepted_of(BTreeMap::new(), &BTreeMap::new()).is_empty());
    }
}

//! Rollback state: the highest bundle `sequence` accepted per bundle name (and, apart, per data
//! file name: `data`), and the highest
//! trust-root version seen per installed root (so a key removed by a rotation stays removed,
//! even for a bundle that omits the newer root).
//!
//! Owns: the small JSON state file (`bundles.json` in the state directory:
//! `--state-dir`, else `$SCS_CERT_STATE_DIR`, else
//! `$XDG_STATE_HOME/scs-cert`, else `~/.local/state/scs-cert`), the rollback
//! rule (an older sequence, or the same sequence with another manifest, is
//! refused), the root rule (a root version older than one already seen is refused), and
//! recording under an exclusive lock (`bundles.lock`: two concurrent runs never lower a
//! recorded sequence or version; atomic replace).
//!
//! Must never: lower a recorded sequence, silently reset a corrupt state file
//! (that would re-open rollback), or hold anything secret.

use super::TrustError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// State file name inside the state directory.
pub(crate) const STATE_FILE: &str = "bundles.json";
/// Environment variable naming the state directory.
pub(crate) const STATE_DIR_ENV: &str = "SCS_CERT_STATE_DIR";

/// Errors of the state file and the rollback rule.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Unreadable or unwritable.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Corrupt.
    #[error(
        "{path}: corrupt rollback state ({message}); fix or remove it deliberately (removing it forgets every accepted sequence)"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// No directory could be determined.
    #[error("no state directory: set SCS_CERT_STATE_DIR or HOME, or pass --state-dir")]
    NoDir,
    /// Older than accepted.
    #[error(
        "bundle {name} sequence {sequence} is older than sequence {accepted} already accepted (rollback); use --allow-downgrade to run it anyway"
    )]
    Rollback {
        /// Bundle name.
        name: String,
        /// Offered.
        sequence: u64,
        /// Recorded.
        accepted: u64,
    },
    /// A data file older than the one accepted.
    #[error(
        "data file {name} sequence {sequence} is older than sequence {accepted} already accepted (rollback); take the newest data file (or --allow-downgrade)"
    )]
    DataRollback {
        /// Data file name.
        name: String,
        /// Offered.
        sequence: u64,
        /// Recorded.
        accepted: u64,
    },
    /// A trust root older than one already seen for the same installed root.
    #[error(
        "trust root version {version} is older than version {seen} already seen for this installed root \
         (a rotation since may have removed keys); install root version {seen} or use a bundle that carries it"
    )]
    RootRollback {
        /// The version this bundle ends at.
        version: u64,
        /// The version seen before.
        seen: u64,
    },
    /// Same sequence, different content.
    #[error(
        "bundle {name} sequence {sequence} was already accepted with manifest sha256 {accepted}; this one is {offered} (a second bundle under one sequence)"
    )]
    Fork {
        /// Bundle name.
        name: String,
        /// Sequence.
        sequence: u64,
        /// Recorded manifest digest.
        accepted: String,
        /// Offered manifest digest.
        offered: String,
    },
}

/// One bundle name's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    /// Highest sequence accepted.
    pub sequence: u64,
    /// sha256 of that bundle's manifest.
    pub manifest_sha256: String,
    /// Its version (for a data file: its `generated_at`).
    pub version: String,
    /// When it was first accepted (RFC 3339).
    pub accepted_at: String,
}

/// The whole state file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    /// Bundle name → record.
    #[serde(default)]
    pub bundles: BTreeMap<String, Accepted>,
    /// Installed root (sha256 of its canonical signed body) → highest root version seen.
    #[serde(default)]
    pub roots: BTreeMap<String, u64>,
    /// Data file name → record (signed offline data, `.scsd`; the same rollback rule as
    /// bundles, kept apart so a data file and a bundle may share a name).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, Accepted>,
}

/// The exclusive lock of a state directory, held while the state is read and replaced.
struct StateLock {
    _file: std::fs::File,
}

fn lock(dir: &Path) -> Result<StateLock, TrustError> {
    let io = |path: &Path, e: std::io::Error| -> TrustError {
        StateError::Io {
            path: path.to_path_buf(),
            message: e.to_string(),
        }
        .into()
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let path = dir.join("bundles.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io(&path, e))?;
    file.lock().map_err(|e| io(&path, e))?;
    Ok(StateLock { _file: file })
}

/// The default state directory (see the module docs).
pub fn default_dir() -> Result<PathBuf, TrustError> {
    if let Some(d) = std::env::var_os(STATE_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("scs-cert"));
    }
    match std::env::var_os("HOME").filter(|d| !d.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".local/state/scs-cert")),
        None => Err(StateError::NoDir.into()),
    }
}

impl State {
    /// Load `dir/bundles.json`; a missing file is the empty state.
    pub fn load(dir: &Path) -> Result<Self, TrustError> {
        let path = dir.join(STATE_FILE);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(StateError::Io {
                    path,
                    message: e.to_string(),
                }
                .into());
            }
        };
        serde_json::from_slice(&bytes).map_err(|e| {
            StateError::Corrupt {
                path,
                message: e.to_string(),
            }
            .into()
        })
    }

    /// The rollback rule for a bundle `name` at `sequence` with manifest
    /// digest `manifest_sha256`.
    pub fn check(
        &self,
        name: &str,
        sequence: u64,
        manifest_sha256: &str,
    ) -> Result<(), TrustError> {
        rollback_rule(
            self.bundles.get(name),
            sequence,
            manifest_sha256,
            |accepted| StateError::Rollback {
                name: name.into(),
                sequence,
                accepted,
            },
        )
        .map_err(|e| e.named(name.to_string()).into())
    }

    /// The rollback rule for a data file `name` at `sequence` with manifest digest
    /// `manifest_sha256` (as [`State::check`] for bundles).
    pub fn check_data(
        &self,
        name: &str,
        sequence: u64,
        manifest_sha256: &str,
    ) -> Result<(), TrustError> {
        rollback_rule(self.data.get(name), sequence, manifest_sha256, |accepted| {
            StateError::DataRollback {
                name: name.into(),
                sequence,
                accepted,
            }
        })
        .map_err(|e| e.named(format!("data file {name}")).into())
    }

    /// Record an accepted data file (never lowers a recorded sequence).
    pub fn record_data(
        dir: &Path,
        name: &str,
        sequence: u64,
        manifest_sha256: &str,
        generated_at: &str,
    ) -> Result<(), TrustError> {
        Self::update(dir, |state| {
            if state.data.get(name).is_some_and(|a| a.sequence >= sequence) {
                return false;
            }
            state.data.insert(
                name.to_string(),
                Accepted {
                    sequence,
                    manifest_sha256: manifest_sha256.into(),
                    version: generated_at.into(),
                    accepted_at: super::root::fmt_time(chrono::Utc::now()),
                },
            );
            true
        })
    }

    /// The root rule: `version` of the root installed as `anchor` must not be older than the
    /// highest version seen for it.
    pub fn check_root(&self, anchor: &str, version: u64) -> Result<(), TrustError> {
        match self.roots.get(anchor) {
            Some(&seen) if version < seen => Err(StateError::RootRollback { version, seen }.into()),
            _ => Ok(()),
        }
    }

    /// Record an accepted bundle in `dir` (under the lock, re-reading the file first, so two
    /// concurrent runs never lower each other's record).
    pub fn record(
        dir: &Path,
        name: &str,
        sequence: u64,
        manifest_sha256: &str,
        version: &str,
    ) -> Result<(), TrustError> {
        Self::update(dir, |state| {
            if state
                .bundles
                .get(name)
                .is_some_and(|a| a.sequence >= sequence)
            {
                return false;
            }
            state.bundles.insert(
                name.to_string(),
                Accepted {
                    sequence,
                    manifest_sha256: manifest_sha256.into(),
                    version: version.into(),
                    accepted_at: super::root::fmt_time(chrono::Utc::now()),
                },
            );
            true
        })
    }

    /// Record that root `anchor` was seen at `version` (never lowers it).
    pub fn record_root(dir: &Path, anchor: &str, version: u64) -> Result<(), TrustError> {
        Self::update(dir, |state| {
            let seen = state.roots.entry(anchor.to_string()).or_insert(0);
            if *seen >= version {
                return false;
            }
            *seen = version;
            true
        })
    }

    /// Under the lock: load, let `change` decide, write back when it changed something.
    fn update(dir: &Path, change: impl FnOnce(&mut State) -> bool) -> Result<(), TrustError> {
        let _lock = lock(dir)?;
        let mut state = Self::load(dir)?;
        if !change(&mut state) {
            return Ok(());
        }
        let path = dir.join(STATE_FILE);
        let mut text = serde_json::to_string_pretty(&state).map_err(|e| StateError::Io {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push('\n');
        crate::fsutil::write_atomic_private(&path, text.as_bytes()).map_err(|e| {
            StateError::Io {
                path: e.path,
                message: e.source.to_string(),
            }
            .into()
        })
    }
}

/// A rule broken by an offered sequence: lower than the accepted one, or equal with other
/// content (a fork); the fork is named by the caller.
enum Broken {
    Rollback(StateError),
    Fork {
        sequence: u64,
        accepted: String,
        offered: String,
    },
}

impl Broken {
    fn named(self, name: String) -> StateError {
        match self {
            Broken::Rollback(e) => e,
            Broken::Fork {
                sequence,
                accepted,
                offered,
            } => StateError::Fork {
                name,
                sequence,
                accepted,
                offered,
            },
        }
    }
}

/// Never below what was accepted, never the same sequence with another manifest.
fn rollback_rule(
    accepted: Option<&Accepted>,
    sequence: u64,
    manifest_sha256: &str,
    rollback: impl FnOnce(u64) -> StateError,
) -> Result<(), Broken> {
    let Some(a) = accepted else {
        return Ok(());
    };
    if sequence < a.sequence {
        return Err(Broken::Rollback(rollback(a.sequence)));
    }
    if sequence == a.sequence && manifest_sha256 != a.manifest_sha256 {
        return Err(Broken::Fork {
            sequence,
            accepted: a.manifest_sha256.clone(),
            offered: manifest_sha256.into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hardening, hole 12: many concurrent recorders never lose or lower a sequence.
    #[test]
    fn concurrent_records_keep_the_highest_sequence() {
        let dir = tempfile::tempdir().expect("dir");
        let handles: Vec<_> = (1..=16u64)
            .map(|seq| {
                let d = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    State::record(&d, "b", seq, &format!("{seq:064}"), "1").expect("record");
                    State::record_root(&d, "anchor", seq).expect("root");
                })
            })
            .collect();
        for h in handles {
            h.join().expect("thread");
        }
        let s = State::load(dir.path()).expect("load");
        assert_eq!(s.bundles["b"].sequence, 16);
        assert_eq!(s.roots["anchor"], 16);
    }

    /// Hardening, hole 11: a root version older than one seen is refused.
    #[test]
    fn revocation_sticks() {
        let dir = tempfile::tempdir().expect("dir");
        State::record_root(dir.path(), "anchor", 2).expect("record");
        State::record_root(dir.path(), "anchor", 1).expect("never lowers");
        let s = State::load(dir.path()).expect("load");
        assert!(s.check_root("anchor", 2).is_ok());
        assert!(s.check_root("anchor", 3).is_ok());
        assert!(s.check_root("other-anchor", 1).is_ok());
        let e = s
            .check_root("anchor", 1)
            .expect_err("older root")
            .to_string();
        assert!(e.contains("older than version 2 already seen"), "{e}");
    }

    #[test]
    fn rollback_rule() {
        let d = std::env::temp_dir().join(format!("scs-cert-state-{}", uuid::Uuid::new_v4()));
        assert!(State::load(&d).expect("empty").bundles.is_empty());
        State::record(&d, "b", 5, "aa", "1.0.0").expect("record");
        let s = State::load(&d).expect("load");
        assert!(s.check("b", 6, "bb").is_ok());
        assert!(s.check("b", 5, "aa").is_ok());
        assert!(s.check("other", 1, "x").is_ok());
        let e = s.check("b", 4, "cc").expect_err("older").to_string();
        assert!(e.contains("older than sequence 5"), "{e}");
        let e = s.check("b", 5, "cc").expect_err("fork").to_string();
        assert!(e.contains("already accepted"), "{e}");
        // Never lowered.
        State::record(&d, "b", 3, "dd", "0.9.0").expect("record");
        assert_eq!(State::load(&d).expect("load").bundles["b"].sequence, 5);
        std::fs::write(d.join(STATE_FILE), "{").expect("w");
        let e = State::load(&d).expect_err("corrupt").to_string();
        assert!(e.contains("corrupt"), "{e}");
        let _ = std::fs::remove_dir_all(d);
    }
}

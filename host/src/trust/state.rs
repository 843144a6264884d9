//! Rollback state: the highest bundle `sequence` accepted per bundle name.
//!
//! Owns: the small JSON state file (`bundles.json` in the state directory:
//! `--state-dir`, else `$SCS_CERT_STATE_DIR`, else
//! `$XDG_STATE_HOME/scs-cert`, else `~/.local/state/scs-cert`), the rollback
//! rule (an older sequence, or the same sequence with another manifest, is
//! refused) and recording an accepted bundle (atomic replace; never lowers a
//! recorded sequence).
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
    /// Its version.
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
        let Some(a) = self.bundles.get(name) else {
            return Ok(());
        };
        if sequence < a.sequence {
            return Err(StateError::Rollback {
                name: name.into(),
                sequence,
                accepted: a.sequence,
            }
            .into());
        }
        if sequence == a.sequence && manifest_sha256 != a.manifest_sha256 {
            return Err(StateError::Fork {
                name: name.into(),
                sequence,
                accepted: a.manifest_sha256.clone(),
                offered: manifest_sha256.into(),
            }
            .into());
        }
        Ok(())
    }

    /// Record an accepted bundle in `dir` (re-reads the file first so two
    /// concurrent runs never lower each other's record).
    pub fn record(
        dir: &Path,
        name: &str,
        sequence: u64,
        manifest_sha256: &str,
        version: &str,
    ) -> Result<(), TrustError> {
        let mut state = Self::load(dir)?;
        if state
            .bundles
            .get(name)
            .is_some_and(|a| a.sequence >= sequence)
        {
            return Ok(());
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
        let io = |path: &Path, e: std::io::Error| -> TrustError {
            StateError::Io {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
            .into()
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        let path = dir.join(STATE_FILE);
        let mut text = serde_json::to_string_pretty(&state).map_err(|e| StateError::Io {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push('\n');
        crate::fsutil::write_atomic(&path, text.as_bytes()).map_err(|e| io(&e.path, e.source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! Writing files so that a crash never leaves half of one: every module that replaces a file
//! (reports, signatures, spool entries, transcripts, bundles, the rollback state, compile-cache
//! entries) goes through [`write_atomic`], and a rename or unlink that must survive a crash is
//! followed by [`sync_dir`].
//!
//! Owns: the temporary-file naming (`.NAME.PID.tmp` beside the target), fsync of the data and of
//! the directory, removal of the temporary file on failure.
//!
//! Also owns [`read_bounded`], the one way untrusted files are read (regular files only,
//! never more than a bound).
//!
//! Must never: follow a symlink planted at the temporary name, or leave a temporary file
//! behind on an error it saw.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Create `dir` and its missing parents with mode 0700 (nothing happens when it exists): the
/// directories of state, spool, locks and the compile cache's key.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt as _;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// A file could not be written; names the path and the operating system's reason.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct WriteError {
    /// The file (or directory) the failing step touched.
    pub path: PathBuf,
    /// What the operating system said.
    #[source]
    pub source: std::io::Error,
}

/// Write `bytes` to `path` atomically and durably: a temporary file in the same directory
/// (created fresh), fsync, rename over `path`, fsync of the directory (best effort: some file
/// systems refuse fsync on a directory). The directory must exist: a report aimed at a
/// mistyped directory is an error, not a new directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_mode(path, bytes, 0o666)
}

/// [`write_atomic`] for files only the user may read (mode 0600 before the umask): signing
/// keys' neighbours, carry files of signed reports, state.
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    write_atomic_mode(path, bytes, 0o600)
}

/// The temporary file is created fresh (`O_CREAT | O_EXCL`): a symlink or file planted at its
/// name is removed (the link itself, never its target) and creation tried once more, so
/// the write can never go through a link to somewhere else.
fn write_atomic_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let fail = |p: &Path| {
        let p = p.to_path_buf();
        move |source| WriteError { path: p, source }
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".to_string());
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = create_fresh(&tmp, mode).map_err(fail(&tmp))?;
        f.write_all(bytes).map_err(fail(&tmp))?;
        f.sync_all().map_err(fail(&tmp))?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(fail(path))?;
        let _ = sync_dir(dir);
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Create `path` exclusively with `mode`; if something is in the way, remove it and try once
/// more.
fn create_fresh(path: &Path, mode: u32) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let open = || {
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(path)
    };
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            std::fs::remove_file(path)?;
            open()
        }
        other => other,
    }
}

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The operating system refused.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A device, FIFO or directory (also behind a symlink).
    #[error("{}: not a regular file", path.display())]
    NotRegular {
        /// The file.
        path: PathBuf,
    },
    /// Larger than the bound (or grew past it while being read).
    #[error("{}: more than {limit} bytes", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size when known, else `limit + 1`.
        len: u64,
        /// The bound.
        limit: u64,
    },
}

/// Read a file that must be a regular file of at most `limit` bytes; reading stops at the
/// bound even if the file grows meanwhile. Every reader of untrusted files goes through this.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    let too_large = |len| ReadError::TooLarge {
        path: path.to_path_buf(),
        len,
        limit,
    };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, limit + 1), &mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit + 1));
    }
    Ok(bytes)
}

/// fsync a directory, so that a rename or unlink in it survives a crash.
pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("scs-fsutil-{}", uuid::Uuid::new_v4()));
        let path = dir.join("sub/report.yaml");
        std::fs::create_dir_all(dir.join("sub")).expect("mkdir");
        write_atomic(&path, b"one").expect("first write");
        write_atomic(&path, b"two").expect("second write");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        let names: Vec<_> = std::fs::read_dir(dir.join("sub"))
            .expect("dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Hardening, hole 12: a symlink planted at the temporary file's name is not followed.
    #[test]
    fn a_planted_symlink_at_the_temporary_name_is_not_followed() {
        let dir = std::env::temp_dir().join(format!("scs-fsutil-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"keep me").expect("victim");
        let path = dir.join("report.yaml");
        let tmp = dir.join(format!(".report.yaml.{}.tmp", std::process::id()));
        std::os::unix::fs::symlink(&victim, &tmp).expect("plant");
        write_atomic(&path, b"the report").expect("write");
        assert_eq!(std::fs::read(&victim).expect("victim"), b"keep me");
        assert_eq!(std::fs::read(&path).expect("report"), b"the report");
        assert!(!path.is_symlink());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn private_files_are_mode_0600() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("scs-fsutil-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let path = dir.join("carry.scsr");
        write_atomic_private(&path, b"x").expect("write");
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_missing_directory_is_an_error_not_created() {
        let dir = std::env::temp_dir().join(format!("scs-fsutil-{}", uuid::Uuid::new_v4()));
        let e = write_atomic(&dir.join("x/report.yaml"), b"x").expect_err("no such directory");
        assert!(e.path.starts_with(&dir), "{e}");
        assert!(!dir.exists());
    }

    #[test]
    fn a_failure_names_the_path() {
        let e = write_atomic(Path::new("/proc/scs-cert-no/x.yaml"), b"x").expect_err("unwritable");
        assert!(e.to_string().starts_with("/proc/scs-cert-no"), "{e}");
    }
}

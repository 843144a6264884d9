//! The spool: signed reports that the monitor has not confirmed yet.
//!
//! Owns: the spool directory (`--spool-dir`, else `$SCS_CERT_SPOOL_DIR`,
//! else `$XDG_STATE_HOME/scs-cert/spool`, else
//! `~/.local/state/scs-cert/spool`; created with mode 0700), one file per
//! signed report holding exactly the upload body (`<signature>&<report>`),
//! named `<run uuid>-<12 hex of its sha256>.signed-yaml|.signed-json` (the
//! extension gives the content type), written atomically (temporary file,
//! write, fsync, rename, fsync of the directory); the list of pending
//! entries (oldest first); removal once the monitor confirmed; an exclusive
//! lock so that two flushes do not send the same entry at once; and the
//! carry file of air-gapped sites (`report export`): a plain ustar archive
//! of spool entries, which `report upload FILE` reads on the connected side.
//!
//! Must never: delete an entry the monitor has not confirmed (200, or 409
//! "already present"), leave a half-written entry under a pending name, or
//! hold a credential.

use super::Format;
use super::signed::{SignedError, SignedReport};
use sha2::Digest as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Environment variable naming the spool directory.
pub(crate) const SPOOL_ENV: &str = "SCS_CERT_SPOOL_DIR";
/// Largest spool entry or carry file read.
pub const MAX_ENTRY_BYTES: u64 = 256 << 20;
/// Subdirectory for entries moved away by `report export --archive`.
pub(crate) const EXPORTED_DIR: &str = "exported";

const EXT_YAML: &str = "signed-yaml";
const EXT_JSON: &str = "signed-json";

/// Errors of the spool.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// No directory could be derived.
    #[error("no spool directory: HOME is not set; pass --spool-dir DIR or set {SPOOL_ENV}")]
    NoDefault,
    /// File system error.
    #[error("{path}: {action}: {message}")]
    Io {
        /// File or directory.
        path: String,
        /// What was being done.
        action: &'static str,
        /// Cause.
        message: String,
    },
    /// An entry or carry file that cannot be read as a signed report.
    #[error("{path}: {message}")]
    Corrupt {
        /// File.
        path: String,
        /// Cause.
        message: String,
    },
    /// The bytes are not a signed report.
    #[error(transparent)]
    Signed(#[from] SignedError),
}

fn io<'a>(path: &'a Path, action: &'static str) -> impl Fn(std::io::Error) -> SpoolError + 'a {
    move |e| SpoolError::Io {
        path: path.display().to_string(),
        action,
        message: e.to_string(),
    }
}

/// The default spool directory (see the module docs).
pub fn default_dir() -> Result<PathBuf, SpoolError> {
    default_dir_from(
        std::env::var_os(SPOOL_ENV),
        std::env::var_os("XDG_STATE_HOME"),
        std::env::var_os("HOME"),
    )
}

/// [`default_dir`] with the variables passed in.
pub(crate) fn default_dir_from(
    spool: Option<std::ffi::OsString>,
    xdg_state: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Result<PathBuf, SpoolError> {
    let set = |v: Option<std::ffi::OsString>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = set(spool) {
        return Ok(d);
    }
    if let Some(d) = set(xdg_state).filter(|d| d.is_absolute()) {
        return Ok(d.join("scs-cert").join("spool"));
    }
    set(home)
        .map(|h| h.join(".local/state/scs-cert/spool"))
        .ok_or(SpoolError::NoDefault)
}

/// One pending signed report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its file.
    pub path: PathBuf,
    /// File name.
    pub name: String,
    /// YAML or JSON, from the extension.
    pub format: Format,
    /// When it was spooled.
    pub modified: SystemTime,
    /// Size in bytes.
    pub size: u64,
}

/// Held while entries are being uploaded; released on drop.
#[derive(Debug)]
pub struct SpoolLock {
    _file: std::fs::File,
}

/// A spool directory.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
}

/// The entry file name of a signed report.
pub(crate) fn entry_name(signed: &SignedReport) -> String {
    let body = signed.body();
    let digest = hex::encode(sha2::Sha256::digest(&body));
    let uuid = signed
        .summaries("spool entry")
        .ok()
        .and_then(|d| d.into_iter().next())
        .map(|d| d.run_uuid)
        .filter(|u| {
            u.len() <= 64
                && u.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .unwrap_or_else(|| "report".to_string());
    let ext = match signed.format {
        Format::Yaml => EXT_YAML,
        Format::Json => EXT_JSON,
    };
    format!("{uuid}-{}.{ext}", &digest[..12])
}

fn format_of(name: &str) -> Option<Format> {
    if name.starts_with('.') {
        return None;
    }
    match name.rsplit_once('.') {
        Some((_, EXT_YAML)) => Some(Format::Yaml),
        Some((_, EXT_JSON)) => Some(Format::Json),
        _ => None,
    }
}

fn read_limited(path: &Path) -> Result<Vec<u8>, SpoolError> {
    let meta = std::fs::metadata(path).map_err(io(path, "cannot read"))?;
    if meta.len() > MAX_ENTRY_BYTES {
        return Err(SpoolError::Corrupt {
            path: path.display().to_string(),
            message: format!("larger than {MAX_ENTRY_BYTES} bytes"),
        });
    }
    std::fs::read(path).map_err(io(path, "cannot read"))
}

impl Spool {
    /// Open (and create, mode 0700) a spool directory.
    pub fn open(dir: &Path) -> Result<Spool, SpoolError> {
        crate::fsutil::create_private_dir(dir)
            .map_err(io(dir, "cannot create the spool directory"))?;
        Ok(Spool {
            dir: dir.to_path_buf(),
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Take the spool's exclusive lock (waits for another holder).
    pub fn lock(&self) -> Result<SpoolLock, SpoolError> {
        let path = self.dir.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io(&path, "cannot open the spool lock"))?;
        file.lock().map_err(io(&path, "cannot lock the spool"))?;
        Ok(SpoolLock { _file: file })
    }

    /// Write a signed report into the spool atomically and durably; the
    /// same report spooled twice is one entry.
    pub fn put(&self, signed: &SignedReport) -> Result<Entry, SpoolError> {
        let name = entry_name(signed);
        let path = self.dir.join(&name);
        let body = signed.body();
        crate::fsutil::write_atomic_private(&path, &body)
            .map_err(|e| io(&path, "cannot write the spool entry")(e.source))?;
        self.entry(&path)
    }

    fn entry(&self, path: &Path) -> Result<Entry, SpoolError> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let format = format_of(&name).ok_or_else(|| SpoolError::Corrupt {
            path: path.display().to_string(),
            message: "not a spool entry name (*.signed-yaml or *.signed-json)".into(),
        })?;
        let meta = std::fs::metadata(path).map_err(io(path, "cannot read"))?;
        Ok(Entry {
            path: path.to_path_buf(),
            name,
            format,
            modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            size: meta.len(),
        })
    }

    /// The pending entries, oldest first (then by name).
    pub fn pending(&self) -> Result<Vec<Entry>, SpoolError> {
        let mut out = Vec::new();
        let rd = std::fs::read_dir(&self.dir).map_err(io(&self.dir, "cannot list the spool"))?;
        for de in rd {
            let de = de.map_err(io(&self.dir, "cannot list the spool"))?;
            let name = de.file_name().to_string_lossy().into_owned();
            if format_of(&name).is_none() || !de.file_type().is_ok_and(|t| t.is_file()) {
                continue;
            }
            match self.entry(&de.path()) {
                Ok(e) => out.push(e),
                // Removed by a concurrent flush between listing and stat.
                Err(SpoolError::Io { .. }) if !de.path().exists() => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.modified.cmp(&b.modified).then(a.name.cmp(&b.name)));
        Ok(out)
    }

    /// Read an entry back.
    pub fn read(&self, entry: &Entry) -> Result<SignedReport, SpoolError> {
        let body = read_limited(&entry.path)?;
        let name = entry.path.display().to_string();
        let signed = SignedReport::from_body(&body, Some(entry.format), &name)?;
        Ok(signed)
    }

    /// Remove an entry the monitor confirmed (already gone is fine: a
    /// concurrent flush delivered it).
    pub fn remove(&self, entry: &Entry) -> Result<(), SpoolError> {
        match std::fs::remove_file(&entry.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&entry.path, "cannot remove the delivered entry")(e)),
        }
        crate::fsutil::sync_dir(&self.dir).map_err(io(&self.dir, "cannot sync the spool directory"))
    }

    /// Move an exported entry to `exported/` (kept, no longer pending).
    pub fn archive(&self, entry: &Entry) -> Result<PathBuf, SpoolError> {
        let dir = self.dir.join(EXPORTED_DIR);
        crate::fsutil::create_private_dir(&dir).map_err(io(&dir, "cannot create"))?;
        let to = dir.join(&entry.name);
        std::fs::rename(&entry.path, &to).map_err(io(&entry.path, "cannot move"))?;
        crate::fsutil::sync_dir(&dir).map_err(io(&dir, "cannot sync"))?;
        crate::fsutil::sync_dir(&self.dir).map_err(io(&self.dir, "cannot sync"))?;
        Ok(to)
    }

    /// Write `entries` into one carry file (ustar archive of the entry
    /// files, mode 0600, mtime 0), atomically.
    pub fn export(&self, entries: &[Entry], out: &Path) -> Result<(), SpoolError> {
        let mut builder = tar::Builder::new(Vec::new());
        for e in entries {
            let body = read_limited(&e.path)?;
            let mut h = tar::Header::new_ustar();
            h.set_path(&e.name)
                .map_err(io(&e.path, "cannot add to the carry file"))?;
            h.set_size(body.len() as u64);
            h.set_mode(0o600);
            h.set_mtime(0);
            h.set_entry_type(tar::EntryType::Regular);
            h.set_cksum();
            builder
                .append(&h, body.as_slice())
                .map_err(io(&e.path, "cannot add to the carry file"))?;
        }
        let bytes = builder
            .into_inner()
            .map_err(io(out, "cannot build the carry file"))?;
        crate::fsutil::write_atomic_private(out, &bytes).map_err(|e| SpoolError::Io {
            path: out.display().to_string(),
            action: "cannot write the carry file",
            message: e.source.to_string(),
        })
    }
}

/// Whether `bytes` are a carry file (a ustar archive).
pub fn is_carry(bytes: &[u8]) -> bool {
    bytes.len() >= 512 && &bytes[257..262] == b"ustar"
}

/// The signed reports in a carry file, with their entry names.
pub fn read_carry(
    bytes: &[u8],
    source_name: &str,
) -> Result<Vec<(String, SignedReport)>, SpoolError> {
    let corrupt = |message: String| SpoolError::Corrupt {
        path: source_name.to_string(),
        message: crate::errtext::untrusted_message(&message),
    };
    let mut out = Vec::new();
    let mut archive = tar::Archive::new(bytes);
    let entries = archive
        .entries()
        .map_err(|e| corrupt(format!("not a carry file: {e}")))?;
    for e in entries {
        let mut e = e.map_err(|e| corrupt(format!("not a carry file: {e}")))?;
        let name = e
            .path()
            .map_err(|err| corrupt(format!("bad entry name: {err}")))?
            .to_string_lossy()
            .into_owned();
        if !e.header().entry_type().is_file() {
            return Err(corrupt(format!("{name}: not a regular file")));
        }
        let format = format_of(&name)
            .filter(|_| !name.contains('/'))
            .ok_or_else(|| {
                corrupt(format!(
                    "{name}: not a spool entry (*.signed-yaml or *.signed-json)"
                ))
            })?;
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut body)
            .map_err(|err| corrupt(format!("{name}: {err}")))?;
        let signed =
            SignedReport::from_body(&body, Some(format), &format!("{source_name}:{name}"))?;
        out.push((name, signed));
    }
    if out.is_empty() {
        return Err(corrupt("the carry file holds no report".into()));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::trust::keys::generate_ed25519;

    fn signed(uuid: &str) -> SignedReport {
        let r = format!(
            "---\nspec:\n  uuid: s\nchecked_at: 2026-11-29 19:58:50.525935\nsubject: a\nrun:\n  uuid: {uuid}\n  invocations: {{}}\n"
        );
        SignedReport::sign(r.into_bytes(), Format::Yaml, &generate_ed25519("t"), "r").unwrap()
    }

    #[test]
    fn put_list_read_remove_export() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::open(&dir.path().join("s")).unwrap();
        let a = spool.put(&signed("aaaa")).unwrap();
        assert!(
            a.name.starts_with("aaaa-") && a.name.ends_with(".signed-yaml"),
            "{}",
            a.name
        );
        let again = spool.put(&spool.read(&a).unwrap()).unwrap();
        assert_eq!(again.name, a.name, "same report, same entry");
        let b = spool.put(&signed("bbbb")).unwrap();
        std::fs::write(spool.dir().join(".x.tmp"), b"junk").unwrap();
        std::fs::write(spool.dir().join("notes.txt"), b"junk").unwrap();
        let p = spool.pending().unwrap();
        assert_eq!(p.len(), 2);
        let carry = dir.path().join("carry.tar");
        spool.export(&p, &carry).unwrap();
        // Hardening, hole 12: carry files and spool entries are the user's only.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&carry), 0o600);
        assert_eq!(mode(&p[0].path), 0o600);
        let bytes = std::fs::read(&carry).unwrap();
        assert!(is_carry(&bytes));
        let items = read_carry(&bytes, "carry.tar").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].1, spool.read(&p[0]).unwrap());
        spool.remove(&b).unwrap();
        spool.remove(&b).unwrap();
        assert_eq!(
            spool.pending().unwrap(),
            vec![spool.entry(&a.path).unwrap()]
        );
        spool.archive(&a).unwrap();
        assert!(spool.pending().unwrap().is_empty());
        assert!(spool.dir().join("exported").join(&a.name).is_file());
        let _l = spool.lock().unwrap();
    }

    #[test]
    fn default_dir_order() {
        let s = |v: &str| Some(std::ffi::OsString::from(v));
        assert_eq!(
            default_dir_from(s("/a"), s("/x"), s("/h")).unwrap(),
            Path::new("/a")
        );
        assert_eq!(
            default_dir_from(None, s("/x"), s("/h")).unwrap(),
            Path::new("/x/scs-cert/spool")
        );
        assert_eq!(
            default_dir_from(s(""), s("rel"), s("/h")).unwrap(),
            Path::new("/h/.local/state/scs-cert/spool")
        );
        assert!(default_dir_from(None, None, None).is_err());
    }
}

//! The `.scsb` container: a deterministic tar inside zstd.
//!
//! Owns: writing an archive from a path → bytes map (entries sorted by path,
//! ustar headers, mode 0644, uid/gid 0, empty user/group names, one fixed
//! mtime, no directories, no links, zstd level [`ZSTD_LEVEL`]), and reading
//! one back into memory with every safety rule applied before a byte is used:
//! only regular files, relative `/`-separated UTF-8 paths without `..`, `.`,
//! empty or absolute components, no duplicates, per-entry and total size
//! caps, a bounded decompressor.
//!
//! Must never: touch the file system (bytes in, bytes out), follow or create
//! a link, or return an entry that broke a rule.

use super::refusal::{Reason, Refusal};
use std::collections::BTreeMap;
use std::io::Read;

/// zstd level of written archives (part of the reproducible format).
pub(crate) const ZSTD_LEVEL: i32 = 12;
/// Largest `.scsb` file read.
pub(crate) const MAX_ARCHIVE_BYTES: u64 = 256 << 20;
/// Largest single entry.
pub const MAX_ENTRY_BYTES: u64 = super::MAX_COMPONENT_BYTES;
/// Largest sum of all entries.
pub(crate) const MAX_TOTAL_BYTES: u64 = 512 << 20;
/// Most entries.
pub(crate) const MAX_ENTRIES: usize = 4096;

fn refuse(reason: Reason, message: impl Into<String>) -> Refusal {
    Refusal::new(reason, message)
}

/// Why `path` is not a safe entry name (None: it is safe).
pub(crate) fn unsafe_path(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("empty path");
    }
    if path.starts_with('/') {
        return Some("absolute path");
    }
    if path.contains('\\') || path.contains('\0') {
        return Some("backslash or NUL in path");
    }
    for c in path.split('/') {
        match c {
            ".." => return Some("`..` component"),
            "." => return Some("`.` component"),
            "" => return Some("empty path component"),
            _ => {}
        }
    }
    None
}

/// Deterministic archive of `entries` (sorted by the map), every mtime
/// `mtime` (seconds since the epoch).
pub fn pack(entries: &BTreeMap<String, Vec<u8>>, mtime: u64) -> Result<Vec<u8>, Refusal> {
    let mut builder = tar::Builder::new(Vec::new());
    builder.mode(tar::HeaderMode::Deterministic);
    for (path, data) in entries {
        if let Some(why) = unsafe_path(path) {
            return Err(refuse(Reason::UnsafeEntry, format!("{path:?}: {why}")));
        }
        let mut h = tar::Header::new_ustar();
        h.set_path(path)
            .map_err(|e| refuse(Reason::UnsafeEntry, format!("{path}: {e}")))?;
        h.set_entry_type(tar::EntryType::Regular);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(mtime);
        let _ = h.set_username("");
        let _ = h.set_groupname("");
        h.set_cksum();
        builder
            .append(&h, data.as_slice())
            .map_err(|e| refuse(Reason::Malformed, format!("cannot write {path}: {e}")))?;
    }
    let tar = builder
        .into_inner()
        .map_err(|e| refuse(Reason::Malformed, format!("cannot finish the tar: {e}")))?;
    zstd::bulk::compress(&tar, ZSTD_LEVEL)
        .map_err(|e| refuse(Reason::Malformed, format!("zstd: {e}")))
}

/// Read every entry of an archive into memory, applying all safety rules.
pub fn unpack(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>, Refusal> {
    if bytes.len() as u64 > MAX_ARCHIVE_BYTES {
        return Err(refuse(
            Reason::Oversize,
            format!(
                "the archive is {} bytes; the limit is {MAX_ARCHIVE_BYTES}",
                bytes.len()
            ),
        ));
    }
    let decoder = zstd::stream::read::Decoder::new(bytes)
        .map_err(|e| refuse(Reason::Malformed, format!("not a zstd stream: {e}")))?;
    // One tar block beyond the cap so an over-long stream is noticed.
    let limited = decoder.take(MAX_TOTAL_BYTES + (MAX_ENTRIES as u64 + 2) * 1024);
    let mut archive = tar::Archive::new(limited);
    let mut out = BTreeMap::new();
    let mut total = 0u64;
    let entries = archive
        .entries()
        .map_err(|e| refuse(Reason::Malformed, format!("not a tar archive: {e}")))?;
    for entry in entries {
        let mut entry =
            entry.map_err(|e| refuse(Reason::Malformed, format!("corrupt tar entry: {e}")))?;
        let raw = entry.path_bytes().into_owned();
        let path = String::from_utf8(raw)
            .map_err(|_| refuse(Reason::UnsafeEntry, "an entry path is not UTF-8"))?;
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(refuse(
                Reason::UnsafeEntry,
                format!("{path:?}: links are not allowed in a bundle"),
            ));
        }
        if !kind.is_file() {
            return Err(refuse(
                Reason::UnsafeEntry,
                format!(
                    "{path:?}: only regular files are allowed (entry type {:?})",
                    kind.as_byte() as char
                ),
            ));
        }
        if let Some(why) = unsafe_path(&path) {
            return Err(refuse(Reason::UnsafeEntry, format!("{path:?}: {why}")));
        }
        let size = entry.size();
        if size > MAX_ENTRY_BYTES {
            return Err(refuse(
                Reason::Oversize,
                format!("{path}: {size} bytes; the limit per file is {MAX_ENTRY_BYTES}"),
            ));
        }
        total = total.saturating_add(size);
        if total > MAX_TOTAL_BYTES {
            return Err(refuse(
                Reason::Oversize,
                format!("the files add up to more than {MAX_TOTAL_BYTES} bytes"),
            ));
        }
        if out.len() >= MAX_ENTRIES {
            return Err(refuse(
                Reason::Oversize,
                format!("more than {MAX_ENTRIES} entries"),
            ));
        }
        let mut data = Vec::with_capacity(size as usize);
        (&mut entry)
            .take(size)
            .read_to_end(&mut data)
            .map_err(|e| refuse(Reason::Malformed, format!("{path}: cannot read: {e}")))?;
        if data.len() as u64 != size {
            return Err(refuse(Reason::Malformed, format!("{path}: truncated")));
        }
        if out.insert(path.clone(), data).is_some() {
            return Err(refuse(
                Reason::UnsafeEntry,
                format!("{path}: appears twice in the archive"),
            ));
        }
    }
    if out.is_empty() {
        return Err(refuse(Reason::Malformed, "the archive is empty"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(items: &[(&str, &[u8])]) -> BTreeMap<String, Vec<u8>> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_vec()))
            .collect()
    }

    #[test]
    fn roundtrip_and_determinism() {
        let m = map(&[("b/x", b"1"), ("a", b"hello")]);
        let a = pack(&m, 0).expect("pack");
        let b = pack(&m, 0).expect("pack");
        assert_eq!(a, b);
        assert_ne!(a, pack(&m, 1).expect("pack"));
        assert_eq!(unpack(&a).expect("unpack"), m);
    }

    #[test]
    fn unsafe_paths() {
        assert!(unsafe_path("a/b").is_none());
        for p in ["/etc/passwd", "a/../b", "..", "./a", "a//b", "a/", ""] {
            assert!(unsafe_path(p).is_some(), "{p}");
        }
        assert_eq!(
            pack(&map(&[("../x", b"")]), 0).expect_err("..").reason,
            Reason::UnsafeEntry
        );
    }

    fn raw_tar(name: &[u8], kind: tar::EntryType, data: &[u8], size: u64) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        {
            let gnu = h.as_gnu_mut().expect("gnu");
            gnu.name[..name.len()].copy_from_slice(name);
        }
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(0o644);
        if kind == tar::EntryType::Symlink {
            h.set_link_name("/etc/passwd").expect("link");
        }
        h.set_cksum();
        let mut out = h.as_bytes().to_vec();
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
        out.extend_from_slice(&[0u8; 1024]);
        zstd::bulk::compress(&out, 1).expect("zstd")
    }

    #[test]
    fn hostile_entries() {
        let r = |b: &[u8]| unpack(b).expect_err("refused").reason;
        assert_eq!(
            r(&raw_tar(b"../evil", tar::EntryType::Regular, b"x", 1)),
            Reason::UnsafeEntry
        );
        assert_eq!(
            r(&raw_tar(b"/abs", tar::EntryType::Regular, b"x", 1)),
            Reason::UnsafeEntry
        );
        assert_eq!(
            r(&raw_tar(b"ln", tar::EntryType::Symlink, b"", 0)),
            Reason::UnsafeEntry
        );
        assert_eq!(
            r(&raw_tar(b"d", tar::EntryType::Directory, b"", 0)),
            Reason::UnsafeEntry
        );
        assert_eq!(
            r(&raw_tar(
                b"big",
                tar::EntryType::Regular,
                b"x",
                MAX_ENTRY_BYTES + 1
            )),
            Reason::Oversize
        );
        assert_eq!(r(b"not zstd at all"), Reason::Malformed);
    }
}

//! Reading an archive that `sonobuoy retrieve` wrote (a tar.gz: `meta/`, `plugins/<name>/`,
//! `podlogs/`, `resources/`, `hosts/`, `servergroups.json`, `serverversion.json`): its sha256
//! and the bytes of `plugins/e2e/sonobuoy_results.yaml`, in one bounded pass; and reading that
//! file from a directory `sonobuoy retrieve -x` extracted.
//!
//! Must never: write anything of an archive to disk, follow a link inside it, read a file
//! larger than the limits, or take a results file from a symlink or a non-regular entry.

use super::{ConformanceError, RESULTS_PATH, SonobuoyLimits};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// A reader that hashes what passes through it.
struct Hashing<R> {
    inner: R,
    hash: Sha256,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
}

/// The archive's sha256 (hex) and its `plugins/e2e/sonobuoy_results.yaml`.
pub fn read_archive(
    path: &Path,
    limits: &SonobuoyLimits,
) -> Result<(String, Vec<u8>), ConformanceError> {
    let shown = path.display();
    let failed = |m: String| ConformanceError::Failed(format!("--sonobuoy-archive {shown}: {m}"));
    // a FIFO or a device would block or never end: look before opening
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {}
        Ok(_) => {
            return Err(failed(
                "not a regular file; give the tar.gz `sonobuoy retrieve` wrote".to_string(),
            ));
        }
        Err(e) => return Err(failed(format!("cannot read it: {e}"))),
    }
    let file = std::fs::File::open(path).map_err(|e| failed(format!("cannot open it: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| failed(format!("cannot read its metadata: {e}")))?;
    if !meta.is_file() {
        return Err(failed(
            "not a regular file; give the tar.gz `sonobuoy retrieve` wrote".to_string(),
        ));
    }
    if meta.len() > limits.max_archive_bytes {
        return Err(ConformanceError::TooLarge(format!(
            "--sonobuoy-archive {shown}: {} bytes, more than the {} the host reads",
            meta.len(),
            limits.max_archive_bytes
        )));
    }
    let hashing = Hashing {
        // one byte more than allowed, so a file that grows while it is read is noticed
        inner: file.take(limits.max_archive_bytes + 1),
        hash: Sha256::new(),
    };
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(hashing));
    let mut found: Option<Vec<u8>> = None;
    let (mut entries, mut unpacked) = (0u64, 0u64);
    let not_targz = |e: std::io::Error| {
        failed(format!(
            "not a tar.gz as `sonobuoy retrieve` writes it: {e}"
        ))
    };
    for entry in tar.entries().map_err(not_targz)? {
        let mut entry = entry.map_err(not_targz)?;
        entries += 1;
        if entries > limits.max_entries {
            return Err(ConformanceError::TooLarge(format!(
                "--sonobuoy-archive {shown}: more than {} entries",
                limits.max_entries
            )));
        }
        let size = entry.header().size().map_err(not_targz)?;
        unpacked = unpacked.saturating_add(size);
        if unpacked > limits.max_unpacked_bytes {
            return Err(ConformanceError::TooLarge(format!(
                "--sonobuoy-archive {shown}: unpacks to more than {} bytes",
                limits.max_unpacked_bytes
            )));
        }
        let name = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&name);
        if name.trim_start_matches("./") != RESULTS_PATH {
            continue;
        }
        if !entry.header().entry_type().is_file() {
            return Err(failed(format!(
                "{RESULTS_PATH} is not a regular file in the archive"
            )));
        }
        if found.is_some() {
            return Err(failed(format!(
                "{RESULTS_PATH} appears twice in the archive"
            )));
        }
        if size > limits.max_results_bytes {
            return Err(ConformanceError::TooLarge(format!(
                "--sonobuoy-archive {shown}: {RESULTS_PATH} has {size} bytes, more than the {} the host reads",
                limits.max_results_bytes
            )));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        (&mut entry)
            .take(limits.max_results_bytes)
            .read_to_end(&mut bytes)
            .map_err(not_targz)?;
        found = Some(bytes);
    }
    // The rest of the file (gzip trailer, padding) still counts for the digest.
    let mut hashing = tar.into_inner().into_inner();
    std::io::copy(&mut hashing, &mut std::io::sink())
        .map_err(|e| failed(format!("cannot read it: {e}")))?;
    if hashing.inner.limit() == 0 {
        return Err(ConformanceError::TooLarge(format!(
            "--sonobuoy-archive {shown}: grew past {} bytes while it was read",
            limits.max_archive_bytes
        )));
    }
    let sha256 = hex::encode(hashing.hash.finalize());
    let results = found.ok_or_else(|| {
        failed(format!(
            "no {RESULTS_PATH} in it; give the tar.gz `sonobuoy retrieve` wrote for the e2e plugin"
        ))
    })?;
    Ok((sha256, results))
}

/// `plugins/e2e/sonobuoy_results.yaml` of a directory `sonobuoy retrieve -x` extracted, and
/// its sha256 (hex).
pub fn read_results_dir(
    dir: &Path,
    limits: &SonobuoyLimits,
) -> Result<(String, Vec<u8>), ConformanceError> {
    use crate::fsutil::ReadError;
    let path = dir.join(RESULTS_PATH);
    let bytes =
        crate::fsutil::read_bounded(&path, limits.max_results_bytes).map_err(|e| match e {
            ReadError::TooLarge { len, limit, .. } => ConformanceError::TooLarge(format!(
                "{}: {len} bytes, more than the {limit} the host reads",
                path.display()
            )),
            other => ConformanceError::Failed(format!(
                "sonobuoy retrieve left no usable results: {other}"
            )),
        })?;
    Ok((hex::encode(Sha256::digest(&bytes)), bytes))
}

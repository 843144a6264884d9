//! Signed reports: the report bytes with an SSHSIG signature (namespace
//! `report`) over exactly those bytes, and the upload body the compliance
//! monitor reads (c.1 step 4): `<armored signature>&<report bytes>`.
//!
//! Owns: signing and verifying report bytes through [`crate::trust`]
//! (byte-compatible with `ssh-keygen -Y sign|verify -n report`), the body
//! framing and its inverse (split at the first
//! `-----END SSH SIGNATURE-----\n&`, as the monitor does), and checking that
//! the bytes are a report the monitor can store (UTF-8, every document with
//! `subject`, `checked_at`, `spec.uuid`, `run.uuid`).
//!
//! Must never: sign or send anything but the exact bytes that were written
//! (no re-serialisation between signing and upload), or call a signature
//! trusted without an allowed_signers entry for its key.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use super::Format;
use super::combine::{self, DocError, DocSummary};
use crate::trust::allowed_signers::{AllowedSigners, Entry};
use crate::trust::{TrustError, sshsig};
use ssh_key::{PrivateKey, PublicKey};
use std::path::{Path, PathBuf};

/// The SSHSIG namespace of reports (the monitor verifies with `-n report`).
pub const NAMESPACE: &str = "report";
/// The last line of an armored signature.
pub(crate) const SIG_END: &str = "-----END SSH SIGNATURE-----\n";
/// What separates signature and report in an upload body.
pub(crate) const SEPARATOR: &str = "-----END SSH SIGNATURE-----\n&";
/// The first line of an armored signature.
pub(crate) const SIG_BEGIN: &str = "-----BEGIN SSH SIGNATURE-----";

/// Largest report file read.
pub(crate) const MAX_REPORT_BYTES: u64 = 256 << 20;

/// Errors of signed reports.
#[derive(Debug, thiserror::Error)]
pub enum SignedError {
    /// A report or signature file could not be read, or is too large.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// No signature file beside the report.
    #[error(
        "{sig}: no signature file; sign with `scs-cert report sign {name} --key KEY` \
         (or ssh-keygen -Y sign -f KEY -n report {name}), or pass --signature SIG"
    )]
    MissingSignature {
        /// The signature file looked for.
        sig: String,
        /// The report.
        name: String,
    },
    /// Not UTF-8 (the monitor decodes the body as UTF-8).
    #[error("{source_name}: the report is not UTF-8 text; the monitor cannot read it")]
    NotUtf8 {
        /// File or label.
        source_name: String,
    },
    /// Not a report.
    #[error(transparent)]
    Doc(#[from] DocError),
    /// A body without the separator.
    #[error(
        "{source_name}: not a signed report (no \"-----END SSH SIGNATURE-----\" line followed by '&')"
    )]
    NoSeparator {
        /// File or label.
        source_name: String,
    },
    /// The signature file does not end as ssh-keygen writes it.
    #[error(
        "{source_name}: not an armored SSH signature (must end with \"-----END SSH SIGNATURE-----\" and a newline)"
    )]
    BadArmor {
        /// File or label.
        source_name: String,
    },
    /// Signing failed, or the signature is invalid.
    #[error("{source_name}: {error}")]
    Trust {
        /// File or label.
        source_name: String,
        /// Cause.
        error: TrustError,
    },
}

/// A report and its signature, ready to spool and upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedReport {
    /// Armored SSHSIG, ending with `-----END SSH SIGNATURE-----\n`.
    pub signature: String,
    /// The exact report bytes that were signed.
    pub report: Vec<u8>,
    /// YAML or JSON (decides the content type).
    pub format: Format,
}

/// Who signed a verified report.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The key that made the signature.
    pub key: PublicKey,
    /// Its `SHA256:` fingerprint.
    pub key_id: String,
    /// The allowed_signers entry that admitted it.
    pub entry: Entry,
}

/// Check that `bytes` are report documents the monitor can store; returns
/// their summaries.
pub fn check_report(
    bytes: &[u8],
    format: Format,
    source_name: &str,
) -> Result<Vec<DocSummary>, SignedError> {
    if std::str::from_utf8(bytes).is_err() {
        return Err(SignedError::NotUtf8 {
            source_name: source_name.to_string(),
        });
    }
    let docs = combine::summarize_bytes(bytes, format, source_name)?;
    if format == Format::Json && docs.len() != 1 {
        // parse_documents gives one JSON document; keep the invariant explicit.
        return Err(SignedError::Doc(DocError::Empty {
            source_name: source_name.to_string(),
        }));
    }
    Ok(docs)
}

/// Whether `bytes` look like an upload body (start with the armor line).
pub(crate) fn is_body(bytes: &[u8]) -> bool {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(bytes.len());
    bytes[start..].starts_with(SIG_BEGIN.as_bytes())
}

impl SignedReport {
    /// Sign `report` (already checked with [`check_report`] by the caller,
    /// or checked here) with `key`, namespace `report`.
    pub fn sign(
        report: Vec<u8>,
        format: Format,
        key: &PrivateKey,
        source_name: &str,
    ) -> Result<SignedReport, SignedError> {
        check_report(&report, format, source_name)?;
        let signature =
            sshsig::sign(key, NAMESPACE, &report).map_err(|error| SignedError::Trust {
                source_name: source_name.to_string(),
                error,
            })?;
        Ok(SignedReport {
            signature,
            report,
            format,
        })
    }

    /// Pair report bytes with a signature file's text (as `ssh-keygen -Y
    /// sign` wrote it). The armor must end with the END line and a newline:
    /// the monitor splits the body exactly there.
    pub(crate) fn from_parts(
        report: Vec<u8>,
        signature: String,
        format: Format,
        sig_name: &str,
    ) -> Result<SignedReport, SignedError> {
        if !signature.trim_start().starts_with(SIG_BEGIN) || !signature.ends_with(SIG_END) {
            return Err(SignedError::BadArmor {
                source_name: sig_name.to_string(),
            });
        }
        Ok(SignedReport {
            signature,
            report,
            format,
        })
    }

    /// The upload body: signature, `&`, report bytes (what curl sends for
    /// `--data-binary @r.sig --data-binary @r`).
    pub fn body(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.signature.len() + 1 + self.report.len());
        b.extend_from_slice(self.signature.as_bytes());
        b.push(b'&');
        b.extend_from_slice(&self.report);
        b
    }

    /// Split a body at the first separator, as the monitor does. The format
    /// is `format` if known (spool file extension), else detected.
    pub(crate) fn from_body(
        body: &[u8],
        format: Option<Format>,
        source_name: &str,
    ) -> Result<SignedReport, SignedError> {
        let text = std::str::from_utf8(body).map_err(|_| SignedError::NotUtf8 {
            source_name: source_name.to_string(),
        })?;
        let at = text
            .find(SEPARATOR)
            .ok_or_else(|| SignedError::NoSeparator {
                source_name: source_name.to_string(),
            })?;
        let split = at + SIG_END.len();
        let report = body[split + 1..].to_vec();
        let format = format.unwrap_or_else(|| Format::detect(&report));
        Ok(SignedReport {
            signature: text[..split].to_string(),
            report,
            format,
        })
    }

    /// The content type to upload with.
    pub fn content_type(&self) -> &'static str {
        self.format.content_type()
    }

    /// The documents' summaries (what the monitor will store).
    pub fn summaries(&self, source_name: &str) -> Result<Vec<DocSummary>, SignedError> {
        check_report(&self.report, self.format, source_name)
    }

    /// Check the signature over the report bytes (namespace `report`) and
    /// that `allowed` admits its key for `principal` (any principal when
    /// `None`) at `at`, like `ssh-keygen -Y verify -f allowed -I principal
    /// -n report`.
    pub fn verify(
        &self,
        allowed: &AllowedSigners,
        principal: Option<&str>,
        at: chrono::DateTime<chrono::Utc>,
        source_name: &str,
    ) -> Result<Verified, SignedError> {
        let trust = |error| SignedError::Trust {
            source_name: source_name.to_string(),
            error,
        };
        let key = sshsig::verify(&self.signature, &self.report, NAMESPACE).map_err(trust)?;
        let entry = allowed
            .find(principal, &key, NAMESPACE, at)
            .map_err(trust)?
            .clone();
        Ok(Verified {
            key_id: sshsig::key_id(&key),
            key,
            entry,
        })
    }
}

/// `FILE.sig` beside `FILE`.
pub fn signature_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".sig");
    PathBuf::from(s)
}

/// Read a report file, refusing one larger than [`MAX_REPORT_BYTES`].
pub fn read_report_file(path: &Path) -> Result<Vec<u8>, SignedError> {
    let read = |message: String| SignedError::Read {
        path: path.display().to_string(),
        message,
    };
    use crate::fsutil::ReadError;
    crate::fsutil::read_bounded(path, MAX_REPORT_BYTES).map_err(|e| match e {
        ReadError::Io { source, .. } => read(source.to_string()),
        ReadError::NotRegular { .. } => read("not a regular file; not a report".to_string()),
        ReadError::TooLarge { .. } => read(format!(
            "larger than {MAX_REPORT_BYTES} bytes; not a report"
        )),
    })
}

/// The format of a report file: by its extension, else by its content.
pub fn format_of(path: &Path, bytes: &[u8]) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        Some("yaml" | "yml") => Format::Yaml,
        _ => Format::detect(bytes),
    }
}

/// Load a signed report: a spool entry or carry body (`*.signed-yaml`, `*.signed-json`), or a
/// report file with its signature (`sig`, default `FILE.sig`).
pub fn load_pair(file: &Path, sig: Option<&Path>) -> Result<SignedReport, SignedError> {
    let bytes = read_report_file(file)?;
    let name = file.display().to_string();
    if is_body(&bytes) {
        let format = match file.extension().and_then(|e| e.to_str()) {
            Some("signed-json") => Some(Format::Json),
            Some("signed-yaml") => Some(Format::Yaml),
            _ => None,
        };
        return SignedReport::from_body(&bytes, format, &name);
    }
    let sig_file = sig
        .map(Path::to_path_buf)
        .unwrap_or_else(|| signature_path(file));
    let sig_text = match std::fs::read_to_string(&sig_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SignedError::MissingSignature {
                sig: sig_file.display().to_string(),
                name,
            });
        }
        Err(e) => {
            return Err(SignedError::Read {
                path: sig_file.display().to_string(),
                message: e.to_string(),
            });
        }
    };
    let format = format_of(file, &bytes);
    SignedReport::from_parts(bytes, sig_text, format, &sig_file.display().to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::trust::keys::generate_ed25519;

    const REPORT: &str = "---\nspec:\n  uuid: s\nchecked_at: 2026-11-29 19:58:50.525935\nsubject: a\nrun:\n  uuid: u\n  invocations: {}\n";

    #[test]
    fn body_roundtrip_and_verify() {
        let k = generate_ed25519("t");
        let s = SignedReport::sign(REPORT.as_bytes().to_vec(), Format::Yaml, &k, "r").unwrap();
        let body = s.body();
        assert!(is_body(&body));
        let back = SignedReport::from_body(&body, None, "b").unwrap();
        assert_eq!(back, s);
        let line = k.public_key().to_openssh().unwrap();
        let allowed =
            AllowedSigners::parse(&format!("mail@csp.eu namespaces=\"report\" {line}\n"), "a")
                .unwrap();
        let now = chrono::Utc::now();
        let v = back
            .verify(&allowed, Some("mail@csp.eu"), now, "r")
            .unwrap();
        assert_eq!(v.entry.line, 1);
        let e = back
            .verify(&allowed, Some("other@x"), now, "r")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not allowed to sign as"), "{e}");
        let mut tampered = back.clone();
        tampered.report.push(b'\n');
        let e = tampered.verify(&allowed, None, now, "r").unwrap_err();
        assert!(e.to_string().contains("does not match"), "{e}");
    }

    #[test]
    fn refusals() {
        let k = generate_ed25519("t");
        let e = SignedReport::sign(b"---\nfoo: 1\n".to_vec(), Format::Yaml, &k, "r.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("r.yaml: document 1: field subject"), "{e}");
        let e = SignedReport::from_body(b"hello&world", None, "x")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("x: not a signed report"), "{e}");
        let e = SignedReport::from_parts(
            vec![],
            "-----BEGIN SSH SIGNATURE-----\nx".into(),
            Format::Yaml,
            "r.sig",
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("r.sig: not an armored SSH signature"), "{e}");
        assert_eq!(Format::detect(b" \n{\"a\":1}"), Format::Json);
        assert_eq!(Format::detect(b"---\n"), Format::Yaml);
    }
}

//! Delivery of a run's reports: the report file, its signature, the spool and the upload to the
//! compliance monitor, in that order, each step only after the one before succeeded.
//!
//! Owns: checking the delivery settings before a run starts ([`prepare`]: a bad key, token or
//! output name must not cost a whole run), writing the report file (one multi-document YAML for
//! several jobs), signing it (SSHSIG, namespace `report`) and writing `OUTPUT.sig`, putting the
//! signed report into the spool before any upload ([`deliver_run`], after a run), and
//! uploading every spooled report ([`spool_and_deliver`]): a report leaves the spool only
//! when the monitor confirmed it.
//!
//! Must never: upload an unsigned report, lose a signed report (it is spooled before the first
//! byte goes out), print (progress goes to the caller's [`Notice`] callback), or decide an exit
//! code (the command line maps [`DeliveryError`] to one).

use super::signed::{SignedError, SignedReport};
use super::spool::{Entry, Spool, SpoolError};
use super::token::{MonitorToken, TokenError};
use super::upload::{self, DeliverError, Delivered, Monitor, UploadError, UploadPolicy};
use super::{Format, Report, ReportError};
use crate::plan::config::Secrets;
use std::path::{Path, PathBuf};

/// How to reach the monitor: credentials, TLS and retry bounds.
#[derive(Debug, Clone, Default)]
pub struct MonitorSettings {
    /// File holding the monitor token (base64 of `subject:password`) [default: the runner
    /// configuration's `tokenfile`, else the variable `SCS_MONITOR_TOKEN`].
    pub token_file: Option<PathBuf>,
    /// Extra CA certificates (PEM) to trust [default: the system roots].
    pub cacert: Option<PathBuf>,
    /// Tries, timeouts and backoff.
    pub policy: UploadPolicy,
}

impl MonitorSettings {
    /// The monitor client for `url`, with the token from `token_file`, else
    /// `fallback_token_file` (a runner configuration's), else the variable.
    pub fn monitor(
        &self,
        url: &str,
        fallback_token_file: Option<&Path>,
    ) -> Result<Monitor, DeliveryError> {
        let file = self.token_file.as_deref().or(fallback_token_file);
        let token = MonitorToken::load(file)?;
        Ok(Monitor::new(
            url,
            token,
            self.policy,
            self.cacert.as_deref(),
        )?)
    }
}

/// What the command line asked for about the report and its delivery.
#[derive(Debug, Clone, Default)]
pub struct DeliveryRequest {
    /// Report format [default: YAML].
    pub format: Format,
    /// Signing key [default: with an upload, the runner configuration's `keyfile`; else none].
    pub sign_key: Option<PathBuf>,
    /// Monitor base URL to upload to [default: no upload].
    pub upload: Option<String>,
    /// How to reach the monitor.
    pub monitor: MonitorSettings,
    /// Spool directory [default: [`super::spool::default_dir`]].
    pub spool_dir: Option<PathBuf>,
}

/// Checked delivery settings, ready for the run's reports.
pub struct Delivery {
    format: Format,
    key: Option<ssh_key::PrivateKey>,
    monitor: Option<Monitor>,
    spool: Option<Spool>,
}

impl Delivery {
    /// Whether the run's report is signed (and so enters the spool).
    pub fn signs(&self) -> bool {
        self.key.is_some() && self.spool.is_some()
    }

    /// Whether the signed report is uploaded to a monitor.
    pub fn uploads(&self) -> bool {
        self.signs() && self.monitor.is_some()
    }

    /// The monitor the reports go to, if any.
    pub fn monitor(&self) -> Option<&Monitor> {
        self.monitor.as_ref()
    }
}

impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("format", &self.format)
            .field("signs", &self.key.is_some())
            .field("uploads", &self.monitor.is_some())
            .finish_non_exhaustive()
    }
}

/// Progress of a delivery, for the caller to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The report file was written.
    Written {
        /// The file.
        path: PathBuf,
        /// Report documents in it.
        documents: usize,
    },
    /// The signature file was written.
    Signed {
        /// Key id (`SHA256:…`).
        key_id: String,
        /// `OUTPUT.sig`.
        signature: PathBuf,
    },
    /// A signed report entered the spool.
    Spooled {
        /// What it is (the report file's name, or a spool entry).
        label: String,
        /// The spool entry.
        path: PathBuf,
    },
    /// The monitor confirmed a report.
    Delivered {
        /// What it is.
        label: String,
        /// Accepted now, or already stored.
        how: Delivered,
        /// The monitor.
        url: String,
    },
    /// A concurrent `report flush` delivered it while this one waited for the spool lock.
    DeliveredElsewhere {
        /// What it is.
        label: String,
    },
    /// One report was not delivered (it stays in the spool).
    NotDelivered {
        /// What it is.
        label: String,
        /// Why, in one line.
        reason: String,
    },
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Notice::Written { path, documents } => write!(
                f,
                "report written to {} ({documents} document{})",
                path.display(),
                if *documents == 1 { "" } else { "s" }
            ),
            Notice::Signed { key_id, signature } => {
                write!(f, "signed with key {key_id}: {}", signature.display())
            }
            Notice::Spooled { label, path } => {
                write!(f, "{label}: signed report spooled as {}", path.display())
            }
            Notice::Delivered { label, how, url } => {
                let how = match how {
                    Delivered::Accepted => "accepted by the monitor",
                    Delivered::AlreadyPresent => {
                        "already stored at the monitor (409), nothing to do"
                    }
                };
                write!(f, "{label}: {how} ({url})")
            }
            Notice::DeliveredElsewhere { label } => {
                write!(f, "{label}: delivered by a concurrent flush")
            }
            Notice::NotDelivered { label, reason } => write!(f, "error: {label}: {reason}"),
        }
    }
}

/// Why a delivery stopped or did not reach the monitor.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// `--format json` with several reports.
    #[error(transparent)]
    Render(ReportError),
    /// An upload without a signing key.
    #[error("--upload needs --sign-key KEY: the monitor accepts signed reports only")]
    UnsignedUpload,
    /// `-o X.sig`.
    #[error("-o {}: the signature goes to OUTPUT.sig; name the report itself", .0.display())]
    OutputIsSignature(PathBuf),
    /// The monitor token.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The monitor URL or CA file.
    #[error(transparent)]
    Monitor(#[from] UploadError),
    /// The signing key.
    #[error(
        "--sign-key: {message}{}",
        if *.exists { "" } else { " (make one with ssh-keygen -t ed25519 -f KEY)" }
    )]
    Key {
        /// What went wrong.
        message: String,
        /// Whether the key file exists.
        exists: bool,
    },
    /// Opening or writing the spool.
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The report or signature file could not be written.
    #[error(transparent)]
    Write(ReportError),
    /// Signing failed.
    #[error(transparent)]
    Sign(#[from] SignedError),
    /// Some reports were not delivered (each was announced as [`Notice::NotDelivered`]); they
    /// stay in the spool.
    #[error("{} report(s) not delivered", .0.len())]
    NotDelivered(Vec<(String, DeliverError)>),
}

/// Check the report, signing and upload settings before the run: `jobs` reports will come,
/// `secrets` are the runner configuration's.
pub fn prepare(
    req: &DeliveryRequest,
    jobs: usize,
    secrets: Option<&Secrets>,
    output: Option<&Path>,
) -> Result<Delivery, DeliveryError> {
    if req.format == Format::Json && jobs > 1 {
        return Err(DeliveryError::Render(ReportError::JsonNeedsOne {
            count: jobs,
        }));
    }
    let key_path = req.sign_key.clone().or_else(|| {
        req.upload
            .as_ref()
            .and(secrets.and_then(|s| s.keyfile.clone()))
    });
    if req.upload.is_some() && key_path.is_none() {
        return Err(DeliveryError::UnsignedUpload);
    }
    if let Some(o) = output
        && o.extension().and_then(|e| e.to_str()) == Some("sig")
    {
        return Err(DeliveryError::OutputIsSignature(o.to_path_buf()));
    }
    let monitor = match &req.upload {
        Some(url) => Some(
            req.monitor
                .monitor(url, secrets.and_then(|s| s.tokenfile.as_deref()))?,
        ),
        None => None,
    };
    let (key, spool) = match &key_path {
        Some(p) => (
            Some(load_key(p)?),
            Some(open_spool(req.spool_dir.as_deref())?),
        ),
        None => (None, None),
    };
    Ok(Delivery {
        format: req.format,
        key,
        monitor,
        spool,
    })
}

/// Load a signing key (asking for a passphrase only when it is protected).
pub fn load_key(path: &Path) -> Result<ssh_key::PrivateKey, DeliveryError> {
    crate::trust::keys::load_private_key_interactive(path).map_err(|e| DeliveryError::Key {
        message: e.to_string(),
        exists: path.exists(),
    })
}

/// Open the spool in `dir`, or the default one.
pub fn open_spool(dir: Option<&Path>) -> Result<Spool, SpoolError> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => super::spool::default_dir()?,
    };
    Spool::open(&dir)
}

/// After the run: write the report file, sign it, write `OUTPUT.sig`, spool, upload.
pub async fn deliver_run(
    reports: &[Report],
    output: Option<&Path>,
    d: &Delivery,
    notify: &(dyn Fn(Notice) + Sync),
) -> Result<(), DeliveryError> {
    let bytes = super::render(reports, d.format).map_err(DeliveryError::Render)?;
    if let Some(o) = output {
        super::write_file(o, &bytes).map_err(DeliveryError::Write)?;
        notify(Notice::Written {
            path: o.to_path_buf(),
            documents: reports.len(),
        });
    }
    let (Some(key), Some(spool)) = (&d.key, &d.spool) else {
        return Ok(());
    };
    let label = output
        .map(|o| o.display().to_string())
        .unwrap_or_else(|| "report".to_string());
    let signed = SignedReport::sign(bytes, d.format, key, &label)?;
    if let Some(o) = output {
        let sig = super::signed::signature_path(o);
        super::write_file(&sig, signed.signature.as_bytes()).map_err(DeliveryError::Write)?;
        notify(Notice::Signed {
            key_id: crate::trust::sshsig::key_id(key.public_key()),
            signature: sig,
        });
    }
    spool_and_deliver(spool, &[(label, signed)], d.monitor.as_ref(), notify).await
}

/// Spool, then deliver, each signed report. Without a monitor the reports only enter the
/// spool. After a temporary failure (monitor unreachable) the rest is not tried: it stays in
/// the spool too.
pub async fn spool_and_deliver(
    spool: &Spool,
    items: &[(String, SignedReport)],
    monitor: Option<&Monitor>,
    notify: &(dyn Fn(Notice) + Sync),
) -> Result<(), DeliveryError> {
    let mut entries: Vec<(String, Entry)> = Vec::with_capacity(items.len());
    for (label, s) in items {
        let e = spool.put(s)?;
        notify(Notice::Spooled {
            label: label.clone(),
            path: e.path.clone(),
        });
        entries.push((label.clone(), e));
    }
    let Some(monitor) = monitor else {
        return Ok(());
    };
    let _lock = spool.lock()?;
    let mut failed = Vec::new();
    for (label, entry) in &entries {
        if !entry.path.exists() {
            notify(Notice::DeliveredElsewhere {
                label: label.clone(),
            });
            continue;
        }
        match upload::deliver(spool, entry, monitor).await {
            Ok(how) => notify(Notice::Delivered {
                label: label.clone(),
                how,
                url: monitor.url().to_string(),
            }),
            Err(e) => {
                notify(Notice::NotDelivered {
                    label: label.clone(),
                    reason: e.to_string(),
                });
                let temporary = matches!(&e, DeliverError::Upload(u) if u.is_temporary());
                failed.push((label.clone(), e));
                if temporary {
                    break;
                }
            }
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(DeliveryError::NotDelivered(failed))
    }
}

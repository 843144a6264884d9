//! The client certificate a cloud may demand (`cert` and `key` in clouds.yaml, `OS_CERT` and
//! `OS_KEY`), as requests uses them for openstacksdk: `cert` is a PEM file with the
//! certificate (and its chain), `key` the PEM private key; without `key`, the key must be in
//! the `cert` file.
//!
//! Owns: reading both files (bounded), telling what is wrong with them in one line (unreadable,
//! no certificate, no key, an encrypted key, a key that does not fit), and the
//! [`reqwest::Identity`] the HTTP client presents.
//!
//! Must never: put the key's bytes into a message or a log line.

use super::CloudsError;
use std::path::{Path, PathBuf};

/// Largest certificate or key file read.
const MAX_PEM_BYTES: u64 = 1 << 20;

/// A client certificate and, when it is a file of its own, the private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCert {
    /// `cert`: PEM certificate(s), perhaps with the key.
    pub cert: PathBuf,
    /// `key`: PEM private key (None: in the `cert` file).
    pub key: Option<PathBuf>,
    /// How messages name the `cert` setting.
    cert_setting: String,
    /// How messages name the `key` setting.
    key_setting: String,
    /// The `key` setting as a hint names it (`key`, `OS_KEY`).
    key_name: String,
}

/// The labels of the PEM blocks in `pem` (`CERTIFICATE`, `PRIVATE KEY`, …).
fn pem_labels(pem: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(pem)
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("-----BEGIN ")
                .and_then(|l| l.strip_suffix("-----"))
                .map(str::to_string)
        })
        .collect()
}

/// The private-key labels rustls reads (PKCS#8, PKCS#1 RSA, SEC1 EC).
const KEY_LABELS: [&str; 3] = ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"];

impl ClientCert {
    /// A client certificate; the settings are how messages name `cert` and `key` in full, the
    /// name how a hint names `key`.
    pub(crate) fn new(
        cert: PathBuf,
        key: Option<PathBuf>,
        cert_setting: String,
        key_setting: String,
        key_name: String,
    ) -> ClientCert {
        ClientCert {
            cert,
            key,
            cert_setting,
            key_setting,
            key_name,
        }
    }

    fn err(setting: &str, path: &Path, problem: impl std::fmt::Display) -> CloudsError {
        CloudsError::ClientCert {
            setting: setting.to_string(),
            problem: format!("{}: {problem}", path.display()),
        }
    }

    /// A file's bytes, with the setting named when it cannot be read.
    fn read(setting: &str, path: &Path) -> Result<Vec<u8>, CloudsError> {
        crate::fsutil::read_bounded(path, MAX_PEM_BYTES).map_err(|e| CloudsError::ClientCert {
            setting: setting.to_string(),
            problem: format!("cannot read: {e}; fix the path"),
        })
    }

    /// Check the key's labels in `pem`: `Ok(true)` when a usable key is there.
    fn has_key(setting: &str, path: &Path, pem: &[u8]) -> Result<bool, CloudsError> {
        let labels = pem_labels(pem);
        if labels.iter().any(|l| l == "ENCRYPTED PRIVATE KEY")
            || (labels.iter().any(|l| KEY_LABELS.contains(&l.as_str()))
                && String::from_utf8_lossy(pem).contains("Proc-Type: 4,ENCRYPTED"))
        {
            return Err(Self::err(
                setting,
                path,
                "the private key is encrypted, which scs-cert (like openstacksdk) cannot use; \
                 decrypt it (`openssl pkey -in KEY -out PLAIN`) into a file only you can read",
            ));
        }
        Ok(labels.iter().any(|l| KEY_LABELS.contains(&l.as_str())))
    }

    /// The PEM the identity is made of: the certificate file, then the key file (its key is
    /// the one used, as with requests' `(cert, key)`).
    fn pem(&self) -> Result<Vec<u8>, CloudsError> {
        let cert = Self::read(&self.cert_setting, &self.cert)?;
        if !pem_labels(&cert).iter().any(|l| l == "CERTIFICATE") {
            return Err(Self::err(
                &self.cert_setting,
                &self.cert,
                "holds no PEM certificate (-----BEGIN CERTIFICATE-----); point it at the client \
                 certificate",
            ));
        }
        let mut pem = cert;
        match &self.key {
            Some(k) => {
                let key = Self::read(&self.key_setting, k)?;
                if !Self::has_key(&self.key_setting, k, &key)? {
                    return Err(Self::err(
                        &self.key_setting,
                        k,
                        "holds no PEM private key (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE \
                         KEY); point it at the client certificate's key",
                    ));
                }
                pem.push(b'\n');
                pem.extend_from_slice(&key);
            }
            None => {
                if !Self::has_key(&self.cert_setting, &self.cert, &pem)? {
                    return Err(Self::err(
                        &self.cert_setting,
                        &self.cert,
                        format!(
                            "holds no private key, and {} is not set; set {} to the key file",
                            self.key_name, self.key_name
                        ),
                    ));
                }
            }
        }
        Ok(pem)
    }

    /// The identity the HTTP client presents.
    pub fn identity(&self) -> Result<reqwest::Identity, CloudsError> {
        let pem = self.pem()?;
        reqwest::Identity::from_pem(&pem).map_err(|e| {
            Self::err(
                &self.cert_setting,
                &self.cert,
                format!(
                    "not a usable certificate and key: {}",
                    crate::errtext::error_chain(&e)
                ),
            )
        })
    }

    /// Read both files and build a TLS client with them, so that a key that rustls cannot
    /// load is found before any connection.
    pub(crate) fn check(&self) -> Result<(), CloudsError> {
        let identity = self.identity()?;
        crate::install_crypto_provider();
        reqwest::Client::builder()
            .identity(identity)
            .build()
            .map(|_| ())
            .map_err(|e| {
                Self::err(
                    &self.cert_setting,
                    &self.cert,
                    format!(
                        "the certificate and its key cannot be used together: {}",
                        crate::errtext::error_chain(&e)
                    ),
                )
            })
    }
}

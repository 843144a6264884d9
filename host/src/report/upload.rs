//! Upload to the SCS compliance monitor (docs/official-behaviour.md c.1) and flushing
//! the spool.
//!
//! Owns: the endpoint (`<monitor URL>/reports`, adding a missing trailing
//! `/` to the monitor URL first, as the official runner), the request (POST,
//! body `<signature>&<report>`, content type `application/x-signed-yaml` or
//! `application/x-signed-json` exactly, HTTP Basic auth from
//! [`super::token`], no redirects), the meaning of the monitor's answers,
//! and the bounded retry with exponential backoff:
//!
//! | answer | meaning | action |
//! |---|---|---|
//! | 200 | stored (or "empty reports") | done: remove from the spool |
//! | 409 | a report with this `run.uuid` is already stored | done: remove from the spool |
//! | 401, 403 | bad credentials, bad signature, or subject/delegation refused | stop, keep in the spool |
//! | 415, other 4xx, 3xx | the request is wrong | stop, keep in the spool |
//! | 5xx, 408, 429, connect error, timeout | temporary | retry, then keep in the spool |
//!
//! Retries ([`UploadPolicy`], defaults in brackets): at most `attempts` [5]
//! tries, each bounded by `timeout` [60 s] for the whole exchange; between
//! tries `backoff` [1 s] doubling up to `max_backoff` [30 s] (a
//! `Retry-After` in seconds is honoured up to `max_backoff`). So one report
//! takes at most 5 x 60 s + 1 + 2 + 4 + 8 s = 315 s with the defaults.
//!
//! Must never: remove a spool entry without a 200 or 409, log the token, or
//! follow a redirect (it would carry the credentials elsewhere).

use super::signed::SignedReport;
use super::spool::{Entry, Spool, SpoolError};
use super::token::MonitorToken;
use std::path::Path;
use std::time::Duration;

/// Retry bounds of one upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadPolicy {
    /// Tries in all (at least 1) [5].
    pub attempts: u32,
    /// Bound on one try, connect to last byte [60 s].
    pub timeout: Duration,
    /// Wait after the first failed try; doubles each time [1 s].
    pub backoff: Duration,
    /// Longest wait between tries [30 s].
    pub max_backoff: Duration,
}

impl Default for UploadPolicy {
    fn default() -> Self {
        UploadPolicy {
            attempts: 5,
            timeout: Duration::from_secs(60),
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl UploadPolicy {
    /// The wait after failed try number `n` (1-based).
    pub(crate) fn delay(&self, n: u32) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1));
        self.backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// The longest one upload can take (all tries time out).
    #[cfg(test)]
    pub(crate) fn worst_case(&self) -> Duration {
        let tries = self.attempts.max(1);
        let waits: Duration = (1..tries).map(|n| self.delay(n)).sum();
        self.timeout * tries + waits
    }
}

/// What the monitor said when it took the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivered {
    /// 200: stored now.
    Accepted,
    /// 409: stored before (same `run.uuid`); nothing to do.
    AlreadyPresent,
}

/// Why an upload did not end in [`Delivered`].
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// Bad monitor URL.
    #[error("--monitor {url:?}: {message}")]
    BadUrl {
        /// As given.
        url: String,
        /// Why.
        message: String,
    },
    /// Unreadable CA file.
    #[error("{path}: cannot use as the monitor's CA certificate: {message}")]
    CaCert {
        /// File.
        path: String,
        /// Why.
        message: String,
    },
    /// HTTP client setup failed.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    /// A permanent refusal: retrying the same request cannot help.
    #[error("{url}: the monitor refused the report with {status}{detail}; {hint}")]
    Refused {
        /// Endpoint.
        url: String,
        /// HTTP status.
        status: u16,
        /// `: <server detail>` or empty.
        detail: String,
        /// What to fix.
        hint: &'static str,
    },
    /// Temporary failures until the tries ran out.
    #[error(
        "{url}: not delivered after {attempts} tries (last: {last}); the report stays in the spool, \
         `scs-cert report flush` sends it later"
    )]
    Unavailable {
        /// Endpoint.
        url: String,
        /// Tries made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
}

impl UploadError {
    /// Whether a later try may succeed without changing anything.
    pub fn is_temporary(&self) -> bool {
        matches!(self, UploadError::Unavailable { .. })
    }

    /// Whether the error is in the command's input (URL, CA file).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            UploadError::BadUrl { .. } | UploadError::CaCert { .. }
        )
    }
}

/// `<base>/reports`, adding a missing trailing `/` to `base` first.
pub(crate) fn reports_url(base: &str) -> Result<reqwest::Url, UploadError> {
    let bad = |message: String| UploadError::BadUrl {
        url: base.to_string(),
        message,
    };
    let mut b = base.trim().to_string();
    if !b.ends_with('/') {
        b.push('/');
    }
    let url = reqwest::Url::parse(&b).map_err(|e| bad(format!("not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("use an http:// or https:// URL".into()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("remove the query or fragment".into()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "credentials in the URL would show in `ps`; use SCS_MONITOR_TOKEN or --token-file"
                .into(),
        ));
    }
    url.join("reports")
        .map_err(|e| bad(format!("cannot append reports: {e}")))
}

/// A monitor endpoint with credentials and a retry policy.
#[derive(Debug, Clone)]
pub struct Monitor {
    url: reqwest::Url,
    token: MonitorToken,
    client: reqwest::Client,
    policy: UploadPolicy,
}

enum Try {
    Done(Delivered),
    Permanent(UploadError),
    Temporary {
        message: String,
        retry_after: Option<Duration>,
    },
}

/// How much of a monitor's answer is read: its decision is the status line; the body only
/// gives the one-line detail of a refusal.
pub(crate) const MAX_ANSWER_BYTES: usize = 64 << 10;

/// The first [`MAX_ANSWER_BYTES`] of the answer body; the rest is not read.
pub(crate) async fn read_answer(resp: &mut reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while body.len() < MAX_ANSWER_BYTES {
        match resp.chunk().await? {
            Some(chunk) => {
                let room = MAX_ANSWER_BYTES - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            None => break,
        }
    }
    Ok(body)
}

pub(crate) fn detail_of(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let detail = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| match &v["detail"] {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Null => None,
            other => Some(other.to_string()),
        })
        .unwrap_or_else(|| text.trim().to_string());
    let detail: String = detail
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

use crate::errtext::error_chain;

impl Monitor {
    /// A monitor at `base` (the URL the official runner takes, e.g.
    /// `https://compliance.sovereignit.cloud/`). `cacert` adds a PEM CA
    /// bundle to the system roots.
    pub fn new(
        base: &str,
        token: MonitorToken,
        policy: UploadPolicy,
        cacert: Option<&Path>,
    ) -> Result<Monitor, UploadError> {
        let url = reports_url(base)?;
        crate::install_crypto_provider();
        let mut b = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(policy.timeout.min(Duration::from_secs(15)))
            .timeout(policy.timeout)
            .user_agent(concat!("scs-cert/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = cacert {
            let cerr = |message: String| UploadError::CaCert {
                path: ca.display().to_string(),
                message,
            };
            let pem = std::fs::read(ca).map_err(|e| cerr(e.to_string()))?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| cerr(e.to_string()))?;
            if certs.is_empty() {
                return Err(cerr("no PEM certificate in the file".into()));
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        if url.scheme() == "http"
            && !matches!(
                url.host_str(),
                Some("localhost" | "127.0.0.1" | "[::1]" | "::1")
            )
        {
            tracing::warn!(
                "{url}: plain http sends the monitor password unencrypted, and `run --due` would trust an answer anyone on the path can change; use https://"
            );
        }
        let client = b
            .build()
            .map_err(|e| UploadError::Client(error_chain(&e)))?;
        Ok(Monitor {
            url,
            token,
            client,
            policy,
        })
    }

    /// The `/reports` endpoint.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    /// Another endpoint of the same monitor (`status` beside `reports`).
    pub(crate) fn endpoint(&self, name: &str) -> reqwest::Url {
        self.url.join(name).unwrap_or_else(|_| self.url.clone())
    }

    /// The `Authorization` header value of the account (for `/status` on the same origin).
    pub(crate) fn authorization(&self) -> String {
        self.token.authorization()
    }

    /// The HTTP client (no redirects, the policy's timeouts, the extra CA certificates).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.client
    }

    /// The retry policy.
    pub fn policy(&self) -> &UploadPolicy {
        &self.policy
    }

    /// The account uploads authenticate as.
    pub fn account(&self) -> &str {
        self.token.subject()
    }

    async fn try_once(&self, signed: &SignedReport) -> Try {
        let sent = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, signed.content_type())
            .header(reqwest::header::AUTHORIZATION, self.token.authorization())
            .body(signed.body())
            .send()
            .await;
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) => {
                let what = if e.is_timeout() {
                    format!("no answer within {} s", self.policy.timeout.as_secs_f64())
                } else if e.is_connect() {
                    format!("cannot connect: {}", error_chain(&e))
                } else {
                    error_chain(&e)
                };
                return Try::Temporary {
                    message: what,
                    retry_after: None,
                };
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let location = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|l| crate::errtext::bounded_text(l, 200));
        let body = match read_answer(&mut resp).await {
            Ok(b) => b,
            Err(e) if status == 200 || status == 409 => {
                // The status line is the monitor's decision; a broken body
                // after it does not change that.
                tracing::debug!("{}: reading the answer body: {}", self.url, error_chain(&e));
                Vec::new()
            }
            Err(e) => {
                return Try::Temporary {
                    message: format!("HTTP {status}, then: {}", error_chain(&e)),
                    retry_after,
                };
            }
        };
        let detail = detail_of(&body);
        let refused = |hint| {
            Try::Permanent(UploadError::Refused {
                url: self.url.to_string(),
                status,
                detail: detail.clone(),
                hint,
            })
        };
        match status {
            200 => Try::Done(Delivered::Accepted),
            409 => Try::Done(Delivered::AlreadyPresent),
            401 | 403 => refused(
                "check the credentials (SCS_MONITOR_TOKEN or --token-file), that the signing key's \
                 public key is registered for the uploading account, and that the account may \
                 upload for the report's subject",
            ),
            415 => refused(
                "the monitor accepts only application/x-signed-yaml and application/x-signed-json",
            ),
            408 | 429 | 500..=599 => Try::Temporary {
                message: format!("HTTP {status}{detail}"),
                retry_after,
            },
            300..=399 => Try::Permanent(UploadError::Refused {
                url: self.url.to_string(),
                status,
                detail: location
                    .map(|l| format!(": redirect to {l}"))
                    .unwrap_or_default(),
                hint: "redirects are not followed (they would carry the credentials); pass the final monitor URL",
            }),
            _ => refused("the request is not what this monitor expects; check --monitor"),
        }
    }

    /// POST one signed report, retrying temporary failures within the
    /// policy's bounds.
    pub async fn upload(&self, signed: &SignedReport) -> Result<Delivered, UploadError> {
        let attempts = self.policy.attempts.max(1);
        let mut last = String::new();
        for n in 1..=attempts {
            match self.try_once(signed).await {
                Try::Done(d) => return Ok(d),
                Try::Permanent(e) => return Err(e),
                Try::Temporary {
                    message,
                    retry_after,
                } => {
                    last = message;
                    if n < attempts {
                        let wait = retry_after
                            .map(|r| r.min(self.policy.max_backoff))
                            .unwrap_or_else(|| self.policy.delay(n));
                        tracing::warn!(
                            "{}: try {n}/{attempts} failed ({last}); retrying in {:.1} s",
                            self.url,
                            wait.as_secs_f64()
                        );
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }
        Err(UploadError::Unavailable {
            url: self.url.to_string(),
            attempts,
            last,
        })
    }
}

/// Errors of delivering a spool entry.
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The spool (read, remove).
    #[error(transparent)]
    Spool(#[from] SpoolError),
    /// The upload.
    #[error(transparent)]
    Upload(#[from] UploadError),
}

/// Upload one spool entry; remove it once the monitor confirmed.
pub async fn deliver(
    spool: &Spool,
    entry: &Entry,
    monitor: &Monitor,
) -> Result<Delivered, DeliverError> {
    let signed = spool.read(entry)?;
    let d = monitor.upload(&signed).await?;
    spool.remove(entry)?;
    Ok(d)
}

/// What a flush did.
#[derive(Debug, Default)]
pub struct FlushOutcome {
    /// Entries the monitor confirmed (and that left the spool).
    pub delivered: Vec<(String, Delivered)>,
    /// Entries refused or unreadable (kept in the spool).
    pub failed: Vec<(String, DeliverError)>,
    /// Entries not tried because the monitor was unavailable.
    pub not_tried: Vec<String>,
}

impl FlushOutcome {
    /// Whether something was refused (needs a fix, not a retry).
    pub fn refused(&self) -> bool {
        self.failed
            .iter()
            .any(|(_, e)| !matches!(e, DeliverError::Upload(u) if u.is_temporary()))
    }
}

/// Upload every pending entry of `spool`, oldest first, under the spool's
/// lock. An outage (tries exhausted) stops the flush: the rest waits for
/// the next one. A refusal keeps that entry and goes on with the next.
pub async fn flush(
    spool: &Spool,
    monitor: &Monitor,
    on_entry: &(dyn Fn(&Entry, &Result<Delivered, DeliverError>) + Sync),
) -> Result<FlushOutcome, SpoolError> {
    let _lock = spool.lock()?;
    let pending = spool.pending()?;
    let mut out = FlushOutcome::default();
    let mut stop = false;
    for entry in pending {
        if stop {
            out.not_tried.push(entry.name.clone());
            continue;
        }
        if !entry.path.exists() {
            continue;
        }
        let r = deliver(spool, &entry, monitor).await;
        on_entry(&entry, &r);
        match r {
            Ok(d) => out.delivered.push((entry.name.clone(), d)),
            Err(e) => {
                stop = matches!(&e, DeliverError::Upload(u) if u.is_temporary());
                out.failed.push((entry.name.clone(), e));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn url_gets_trailing_slash_and_reports() {
        assert_eq!(
            reports_url("http://127.0.0.1:8080").unwrap().as_str(),
            "http://127.0.0.1:8080/reports"
        );
        assert_eq!(
            reports_url("https://compliance.sovereignit.cloud/")
                .unwrap()
                .as_str(),
            "https://compliance.sovereignit.cloud/reports"
        );
        assert_eq!(
            reports_url("https://x.example/monitor").unwrap().as_str(),
            "https://x.example/monitor/reports"
        );
        for bad in ["ftp://x/", "not a url", "https://u:p@x/", "https://x/?a=b"] {
            let e = reports_url(bad).unwrap_err().to_string();
            assert!(e.starts_with("--monitor "), "{e}");
        }
    }

    #[test]
    fn backoff_is_bounded() {
        let p = UploadPolicy::default();
        assert_eq!(p.delay(1), Duration::from_secs(1));
        assert_eq!(p.delay(4), Duration::from_secs(8));
        assert_eq!(p.delay(10), Duration::from_secs(30));
        assert_eq!(p.delay(100), Duration::from_secs(30));
        assert_eq!(p.worst_case(), Duration::from_secs(315));
    }

    #[test]
    fn details_are_one_short_line() {
        assert_eq!(
            detail_of(br#"{"detail":"verification failed"}"#),
            ": verification failed"
        );
        assert_eq!(detail_of(b""), "");
        assert_eq!(detail_of(b"a\nb"), ": a b");
        assert_eq!(detail_of(&[b'x'; 500]).len(), 202);
    }
}

//! The run's cluster: one HTTP client for the kubeconfig's `server` (rustls: only the
//! cluster's CA when it names one, else the system's roots; the client certificate;
//! `insecure-skip-tls-verify`; `tls-server-name`; `proxy-url`), the credential the host adds
//! to each request (bearer token; a `tokenFile`'s token, read again after a minute or a 401;
//! basic; or an exec plugin's token or client certificate, fetched again once its
//! `expirationTimestamp` has passed or the server answers 401), the
//! limits of mediation (response cap, per-request timeout), same-origin redirects (at most
//! [`crate::mediate::http::MAX_REDIRECTS`] hops), run-wide counters and the debug log of every call.
//!
//! `tls-server-name` (a DNS name, as client-go's `ServerName`): the server's certificate is
//! checked against it and it is the SNI name sent. reqwest takes the SNI name from the URL's
//! host, so each request goes to a URL whose host is `tls-server-name`, a resolver of the
//! run's own maps that name to the `server` host's addresses, and the `Host` header keeps the
//! `server` URL's authority: what goes over the wire is what kubectl sends. Behind a proxy
//! (`proxy-url`, or a `*_PROXY` variable) the proxy must be asked for the real host, so there
//! the SNI stays the `server` host and only the certificate check uses the name. Either way this needs the cluster's CA
//! (`certificate-authority[-data]`); without one the kubeconfig is refused with one line.
//!
//! Must never: hand a credential to a check or write it to a log line, send the credential to
//! another origin than `server` (redirects elsewhere are handed to the check as they are),
//! or read a response beyond the cap.

use super::config::{ClusterConfig, UserAuth};
use super::exec::{self, ExecConfig, ExecCredential};
use super::request::{DROPPED_RESPONSE_HEADERS, KubeApiError, KubeRequest, header_allowed};
use super::{ClusterSetupError, KubeOptions};
use crate::errtext::error_chain;
use crate::mediate::clouds::Secret;
use crate::mediate::{ApiResponse, MediationLimits};
use base64::Engine as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What a check may know of the cluster (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// The API server URL.
    pub server: String,
    /// The kubeconfig context.
    pub context: String,
}

/// Run-wide counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClusterStats {
    /// Requests sent.
    pub requests: u64,
    /// Response bytes received.
    pub bytes: u64,
    /// Exec plugin runs.
    pub exec_runs: u64,
    /// Redirects followed.
    pub redirects: u64,
}

/// The current credential of an exec user, with the client it needs.
struct ExecState {
    cred: ExecCredential,
    client: reqwest::Client,
}

/// The run's connection to one API server, shared by all checks.
pub struct Cluster {
    info: ClusterInfo,
    base: reqwest::Url,
    config: ClusterConfig,
    /// The client for static credentials (exec users with a client certificate get their own).
    client: reqwest::Client,
    exec: Option<(ExecConfig, tokio::sync::Mutex<Option<Arc<ExecState>>>)>,
    options: KubeOptions,
    limits: MediationLimits,
    stats: Mutex<ClusterStats>,
    /// The SNI name sent instead of the `server` host ([`sni_override`], decided at connect).
    sni: Option<String>,
    /// A `tokenFile` user's token and when it was read.
    file_token: Mutex<Option<(Secret, Instant)>>,
}

/// How long a `tokenFile` token is used before the file is read again (client-go: a minute).
pub const TOKEN_FILE_MAX_AGE: Duration = Duration::from_secs(60);

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("server", &self.info.server)
            .field("context", &self.info.context)
            .finish_non_exhaustive()
    }
}

/// A rustls verifier that checks the server's certificate against `tls-server-name`
/// instead of the URL's host (client-go's `ServerName`).
#[derive(Debug)]
struct NameOverride {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    name: rustls::pki_types::ServerName<'static>,
}

impl rustls::client::danger::ServerCertVerifier for NameOverride {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        ocsp_response: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        self.inner
            .verify_server_cert(end_entity, intermediates, &self.name, ocsp_response, now)
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// A rustls client configuration for `tls-server-name` (CA required).
fn tls_with_server_name(
    cfg: &ClusterConfig,
    name: &str,
    identity: Option<&Secret>,
) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
    let ca = cfg.ca_pem.as_ref().ok_or(
        "tls-server-name needs certificate-authority or certificate-authority-data in scs-cert \
         (the system roots cannot be combined with it); add the cluster's CA",
    )?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca) {
        let c = c.map_err(|e| format!("certificate authority: {e}"))?;
        roots
            .add(c)
            .map_err(|e| format!("certificate authority: {e}"))?;
    }
    let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| format!("certificate authority: {e}"))?;
    let server_name = ServerName::try_from(name.to_string())
        .map_err(|_| format!("tls-server-name {name:?} is not a DNS name or IP address"))?;
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NameOverride {
            inner,
            name: server_name,
        }));
    match identity {
        None => Ok(builder.with_no_client_auth()),
        Some(pem) => {
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(pem.expose().as_bytes())
                    .collect::<Result<_, _>>()
                    .map_err(|_| "client certificate: not PEM".to_string())?;
            let key = PrivateKeyDer::from_pem_slice(pem.expose().as_bytes())
                .map_err(|_| "client key: not a PEM private key".to_string())?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("client certificate and key: {e}"))
        }
    }
}

/// Whether a `*_PROXY` variable may send the request through a proxy (reqwest honours them
/// without `proxy-url`, as kubectl does); a proxy must then be asked for the real host.
fn env_proxy_set() -> bool {
    [
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "HTTP_PROXY",
        "http_proxy",
    ]
    .iter()
    .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// The SNI name to send apart from the `server` URL's host: `tls-server-name` when it is a
/// DNS name other than that host, certificates are verified and no proxy is in between
/// (neither `proxy-url` nor a `*_PROXY` variable).
fn sni_override(cfg: &ClusterConfig) -> Option<&str> {
    let name = cfg.tls_server_name.as_deref()?;
    let host = cfg.server.host_str()?;
    let is_dns = name.parse::<std::net::IpAddr>().is_err()
        && rustls::pki_types::ServerName::try_from(name).is_ok();
    (is_dns
        && !cfg.insecure
        && cfg.proxy_url.is_none()
        && !env_proxy_set()
        && !name.eq_ignore_ascii_case(host))
    .then_some(name)
}

/// Resolves `tls-server-name` to the addresses of the `server` URL's host (every other name
/// as the system does), so that a URL naming `tls-server-name` reaches the API server.
struct SniResolver {
    name: String,
    host: String,
}

impl reqwest::dns::Resolve for SniResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let target = if name.as_str().eq_ignore_ascii_case(&self.name) {
            self.host.clone()
        } else {
            name.as_str().to_string()
        };
        Box::pin(async move {
            // an IP literal (bracketed for IPv6 in URLs) needs no lookup
            let bare = target.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
                let addrs: reqwest::dns::Addrs =
                    Box::new(std::iter::once(std::net::SocketAddr::new(ip, 0)));
                return Ok(addrs);
            }
            let found: Vec<std::net::SocketAddr> =
                tokio::net::lookup_host((bare, 0)).await?.collect();
            let addrs: reqwest::dns::Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

/// The HTTP client for `cfg` with `identity` (the kubeconfig's or an exec plugin's).
/// `sni` is the run's [`sni_override`], decided once at connect.
fn http_client(
    cfg: &ClusterConfig,
    identity: Option<&Secret>,
    sni: Option<&str>,
) -> Result<reqwest::Client, String> {
    crate::install_crypto_provider();
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(15))
        .user_agent(concat!("scs-cert/", env!("CARGO_PKG_VERSION")));
    // kubectl honours the *_PROXY variables only without proxy-url; so does reqwest
    if let Some(p) = &cfg.proxy_url {
        b = b.proxy(reqwest::Proxy::all(p.as_str()).map_err(|e| format!("proxy-url: {e}"))?);
    }
    if let Some(name) = &cfg.tls_server_name
        && !cfg.insecure
    {
        if let (Some(sni), Some(host)) = (sni, cfg.server.host_str()) {
            b = b.dns_resolver(Arc::new(SniResolver {
                name: sni.to_string(),
                host: host.to_string(),
            }));
        }
        return b
            .tls_backend_preconfigured(tls_with_server_name(cfg, name, identity)?)
            .build()
            .map_err(|e| error_chain(&e));
    }
    if let Some(ca) = &cfg.ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(ca)
            .map_err(|e| format!("certificate authority: {}", error_chain(&e)))?;
        // only the cluster's CA, as client-go does when the kubeconfig names one
        b = b.tls_certs_only(certs);
    }
    if let Some(pem) = identity {
        let id = reqwest::Identity::from_pem(pem.expose().as_bytes())
            .map_err(|e| format!("client certificate and key: {}", error_chain(&e)))?;
        b = b.identity(id);
    }
    if cfg.insecure {
        tracing::warn!(server = %cfg.server, "TLS certificate verification is off (insecure-skip-tls-verify: true)");
        b = b.tls_danger_accept_invalid_certs(true);
    }
    b.build().map_err(|e| error_chain(&e))
}

impl Cluster {
    /// Set up the cluster of a run: the HTTP client, and the exec plugin's first credential
    /// (so that a plugin that fails, hangs or floods stops the run before any check).
    pub async fn connect(
        config: ClusterConfig,
        options: KubeOptions,
        limits: MediationLimits,
    ) -> Result<Cluster, ClusterSetupError> {
        let setup_err = |file: &std::path::Path, message: String| ClusterSetupError::Client {
            source_file: file.display().to_string(),
            context: config.context.clone(),
            message,
        };
        let sni = sni_override(&config).map(str::to_string);
        let client = http_client(&config, config.client_identity.as_ref(), sni.as_deref())
            .map_err(|m| setup_err(&config.cluster_file, m))?;
        let mut base = config.server.clone();
        let trimmed = base.path().trim_end_matches('/').to_string();
        base.set_path(&trimmed);
        let info = ClusterInfo {
            server: config.server.as_str().trim_end_matches('/').to_string(),
            context: config.context.clone(),
        };
        let exec = match &config.auth {
            UserAuth::Exec(e) => Some((e.clone(), tokio::sync::Mutex::new(None))),
            _ => None,
        };
        let cluster = Cluster {
            info,
            sni,
            base,
            client,
            exec,
            options,
            limits,
            stats: Mutex::new(ClusterStats::default()),
            file_token: Mutex::new(match &config.auth {
                UserAuth::TokenFile { token, .. } => Some((token.clone(), Instant::now())),
                _ => None,
            }),
            config,
        };
        if cluster.exec.is_some() {
            cluster.exec_state(None).await?;
        }
        tracing::debug!(server = %cluster.info.server, context = %cluster.info.context,
            "cluster configured");
        Ok(cluster)
    }

    /// Server and context (no secrets).
    pub fn info(&self) -> ClusterInfo {
        self.info.clone()
    }

    /// The limits of mediation (the run's, as for the OpenStack session).
    pub(crate) fn limits(&self) -> &MediationLimits {
        &self.limits
    }

    /// Counters so far.
    pub fn stats(&self) -> ClusterStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The exec credential: the cached one while it has not expired (and is not `stale`, the
    /// one a 401 answered), else the plugin's fresh one.
    async fn exec_state(
        &self,
        stale: Option<&Arc<ExecState>>,
    ) -> Result<Arc<ExecState>, ClusterSetupError> {
        let Some((cfg, cell)) = &self.exec else {
            return Err(ClusterSetupError::Client {
                source_file: self.config.user_file.display().to_string(),
                context: self.info.context.clone(),
                message: "no exec user".to_string(),
            });
        };
        let mut guard = cell.lock().await;
        if let Some(s) = guard.as_ref()
            && !s.cred.expired(chrono::Utc::now())
            && !stale.is_some_and(|st| Arc::ptr_eq(st, s))
        {
            return Ok(s.clone());
        }
        let cred = exec::run(cfg, self.options.exec_timeout, self.options.exec_max_output).await?;
        if let Ok(mut st) = self.stats.lock() {
            st.exec_runs += 1;
        }
        let client = match &cred.identity {
            None => self.client.clone(),
            Some(id) => http_client(&self.config, Some(id), self.sni.as_deref()).map_err(|m| {
                ClusterSetupError::Client {
                    source_file: self.config.user_file.display().to_string(),
                    context: self.info.context.clone(),
                    message: format!("exec plugin credential: {m}"),
                }
            })?,
        };
        tracing::debug!(command = %cfg.command.display(), expires = ?cred.expires,
            "exec credential plugin ran");
        let state = Arc::new(ExecState { cred, client });
        *guard = Some(state.clone());
        Ok(state)
    }

    /// A `tokenFile` user's token: the one read last while it is younger than
    /// [`TOKEN_FILE_MAX_AGE`] (and `fresh` is false), else the file's contents now. A file
    /// that cannot be read again keeps the last token (with a warning), as client-go does.
    fn file_token(&self, fresh: bool) -> Option<Secret> {
        let UserAuth::TokenFile { path, .. } = &self.config.auth else {
            return None;
        };
        let mut guard = self.file_token.lock().ok()?;
        if let Some((t, at)) = guard.as_ref()
            && !fresh
            && at.elapsed() < TOKEN_FILE_MAX_AGE
        {
            return Some(t.clone());
        }
        match super::config::read_token_file(path) {
            Ok(t) => {
                *guard = Some((t.clone(), Instant::now()));
                Some(t)
            }
            Err(m) => {
                tracing::warn!("tokenFile read again: {m}; the last token is used");
                guard.as_ref().map(|(t, _)| t.clone())
            }
        }
    }

    /// The URL of a validated request: below `server`, query added.
    fn url_for(&self, req: &KubeRequest) -> Result<reqwest::Url, KubeApiError> {
        super::request::validate_path(&req.path)?;
        let mut url = self.base.clone();
        url.set_path(&format!(
            "{}{}",
            self.base.path().trim_end_matches('/'),
            req.path
        ));
        if url.origin() != self.base.origin()
            || !url
                .path()
                .starts_with(self.base.path().trim_end_matches('/'))
        {
            return Err(KubeApiError::Denied(format!(
                "request URL {url} leaves the API server {}",
                self.info.server
            )));
        }
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(req.query.iter());
        }
        Ok(url)
    }

    /// Send one request (grants already checked by the mediator) within `timeout`.
    pub(crate) async fn fetch(
        &self,
        req: &KubeRequest,
        timeout: Duration,
        check: &str,
    ) -> Result<ApiResponse, KubeApiError> {
        let started = Instant::now();
        let url = self.url_for(req)?;
        for (k, _) in &req.headers {
            if !header_allowed(k) {
                return Err(KubeApiError::Denied(format!(
                    "header {:?} is reserved for the host",
                    crate::errtext::bounded_text(k, 64)
                )));
            }
        }
        let exec_state = match &self.exec {
            Some(_) => Some(self.exec_state(None).await.map_err(|e| {
                KubeApiError::Transport(format!("no credential for the cluster: {e}"))
            })?),
            None => None,
        };
        let token = self.file_token(false);
        let left = timeout.saturating_sub(started.elapsed());
        let mut result = self
            .send_following(
                req,
                url.clone(),
                left,
                exec_state.as_deref(),
                token.as_ref(),
                check,
            )
            .await;
        // client-go reads a tokenFile again when the server refuses the token it had
        if let (Some(old), Ok(r)) = (&token, &result)
            && r.status == 401
            && let Some(new) = self.file_token(true)
            && new.expose() != old.expose()
        {
            let left = timeout.saturating_sub(started.elapsed());
            if !left.is_zero() {
                result = self
                    .send_following(req, url.clone(), left, None, Some(&new), check)
                    .await;
            }
        }
        // client-go runs the plugin again when the server refuses its credential
        if let (Some(state), Ok(r)) = (&exec_state, &result)
            && r.status == 401
        {
            match self.exec_state(Some(state)).await {
                Ok(fresh) => {
                    let left = timeout.saturating_sub(started.elapsed());
                    if !left.is_zero() {
                        result = self
                            .send_following(req, url.clone(), left, Some(&fresh), None, check)
                            .await;
                    }
                }
                Err(e) => tracing::warn!("exec plugin after HTTP 401 failed: {e}"),
            }
        }
        let ms = started.elapsed().as_millis();
        match &result {
            Ok(r) => tracing::debug!(check, method = req.method.as_str(), url = %url,
                status = r.status, bytes = r.body.len(), ms, "kubernetes call"),
            Err(e) => tracing::debug!(check, method = req.method.as_str(), url = %url,
                error = %e, ms, "kubernetes call failed"),
        }
        if let Ok(mut s) = self.stats.lock() {
            s.requests += 1;
            if let Ok(r) = &result {
                s.bytes += r.body.len() as u64;
            }
        }
        result
    }

    /// Send, following same-origin redirects (see [`crate::mediate::http::send_following`]);
    /// any other redirect is the check's response as it is.
    async fn send_following(
        &self,
        req: &KubeRequest,
        url: reqwest::Url,
        timeout: Duration,
        exec_state: Option<&ExecState>,
        file_token: Option<&Secret>,
        check: &str,
    ) -> Result<ApiResponse, KubeApiError> {
        let client = exec_state.map(|s| &s.client).unwrap_or(&self.client);
        let sni = self.sni.as_deref();
        let build = |method: &reqwest::Method,
                     url: &reqwest::Url,
                     body: Option<&Vec<u8>>,
                     left: Duration| {
            // `tls-server-name`: the wire URL names it (SNI), `Host` stays the server's
            let mut wire = url.clone();
            let mut host_header = None;
            if let Some(name) = sni
                && wire.set_host(Some(name)).is_ok()
            {
                host_header = Some(match url.port() {
                    Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
                    None => url.host_str().unwrap_or_default().to_string(),
                });
            }
            let mut rb = client.request(method.clone(), wire).timeout(left);
            if let Some(h) = host_header {
                rb = rb.header(reqwest::header::HOST, h);
            }
            for (k, v) in &req.headers {
                rb = rb.header(k.as_str(), v.as_str());
            }
            rb = match (&self.config.auth, exec_state) {
                (_, Some(s)) => match &s.cred.token {
                    Some(t) => rb.header("Authorization", format!("Bearer {}", t.expose())),
                    None => rb,
                },
                (UserAuth::Bearer(t), None) => {
                    rb.header("Authorization", format!("Bearer {}", t.expose()))
                }
                (UserAuth::TokenFile { .. }, None) => match file_token {
                    Some(t) => rb.header("Authorization", format!("Bearer {}", t.expose())),
                    None => rb,
                },
                (UserAuth::Basic { username, password }, None) => rb.header(
                    "Authorization",
                    format!(
                        "Basic {}",
                        base64::engine::general_purpose::STANDARD
                            .encode(format!("{username}:{}", password.expose()))
                    ),
                ),
                _ => rb,
            };
            if let Some(b) = body {
                rb = rb.body(b.clone());
            }
            rb
        };
        let limits = crate::mediate::http::Limits {
            timeout,
            cap: self.limits.max_response_bytes,
            dropped: DROPPED_RESPONSE_HEADERS,
            allow_link_local: true,
            check,
        };
        let (resp, redirects) = crate::mediate::http::send_following(
            build,
            req.method.reqwest(),
            url,
            req.body.clone(),
            &limits,
        )
        .await?;
        if redirects > 0
            && let Ok(mut s) = self.stats.lock()
        {
            s.redirects += redirects;
        }
        Ok(resp)
    }
}

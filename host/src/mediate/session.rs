//! The cloud session of a run: credentials from clouds.yaml, the Keystone token, catalog and
//! roles, endpoint resolution by service type, interface and region, the HTTP client, the
//! run-wide cache of shared reads (fetched once per run for all checks, single-flight), the
//! limits of mediation, and the debug log of every call.
//!
//! Must never: hand the token or a secret to a check (the token is added here, after the
//! check's request is validated; response headers that could carry it are dropped), reach a
//! host that is not a catalog endpoint, cache an ordinary read, or follow redirects.

use super::clouds::{CloudConfig, Secret};
use super::keystone::{self, Service, TokenInfo};
use super::request::{
    Anchor, ApiError, ApiRequest, ApiResponse, DROPPED_RESPONSE_HEADERS, confine, header_allowed,
    redact_body, validate_path,
};
use super::{ClockMode, MediateError, transcript};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// Limits of mediation. Every limit is explicit; defaults in [`Default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediationLimits {
    /// Largest response body accepted (default 64 MiB).
    pub max_response_bytes: u64,
    /// Per-request timeout (default 32 s, the official suite's `timeout=32`);
    /// never more than the check's remaining time.
    pub request_timeout: Duration,
    /// Requests per check (default 10,000).
    pub max_requests_per_check: u64,
    /// Response bytes per check, shared reads included (default 1 GiB).
    pub max_bytes_per_check: u64,
    /// What a check's clock is (default [`ClockMode::Real`]).
    pub clock: ClockMode,
}

impl Default for MediationLimits {
    fn default() -> Self {
        MediationLimits {
            max_response_bytes: 64 << 20,
            request_timeout: Duration::from_secs(32),
            max_requests_per_check: 10_000,
            max_bytes_per_check: 1 << 30,
            clock: ClockMode::Real,
        }
    }
}

/// Who the run is, for checks (no secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// User name.
    pub user: String,
    /// Project name.
    pub project: String,
    /// Project id.
    pub project_id: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Region (empty: any).
    pub region: String,
    /// Interface.
    pub interface: String,
}

type SharedCell = Arc<OnceCell<Result<ApiResponse, ApiError>>>;

/// Run-wide counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Requests sent to the cloud (auth excluded).
    pub requests: u64,
    /// Response bytes received.
    pub bytes: u64,
    /// Shared reads served from the run cache.
    pub shared_hits: u64,
}

/// An authenticated session with one cloud, shared by all checks of a run.
pub struct Session {
    client: reqwest::Client,
    /// The token and its generation (bumped on every re-authentication).
    token: tokio::sync::RwLock<(Secret, u64)>,
    /// Kept for re-authentication when the token expires mid-run.
    cloud: CloudConfig,
    info: TokenInfo,
    region: Option<String>,
    interface: String,
    pub(super) limits: MediationLimits,
    pub(super) shared: Mutex<HashMap<ApiRequest, SharedCell>>,
    pub(super) stats: Mutex<SessionStats>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.info.user)
            .field("project", &self.info.project)
            .finish_non_exhaustive()
    }
}

use crate::errtext::error_chain;

/// Build the HTTP client for a cloud (TLS options honoured, no redirects).
pub(crate) fn http_client(cloud: &CloudConfig) -> Result<reqwest::Client, MediateError> {
    crate::install_crypto_provider();
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(15))
        .user_agent(concat!("scs-cert/", env!("CARGO_PKG_VERSION")));
    if let Some(ca) = &cloud.tls.cacert {
        let pem = std::fs::read(ca).map_err(|e| MediateError::CaCert {
            path: ca.display().to_string(),
            message: e.to_string(),
        })?;
        let certs =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| MediateError::CaCert {
                path: ca.display().to_string(),
                message: e.to_string(),
            })?;
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    if cloud.tls.insecure {
        tracing::warn!(cloud = %cloud.name, "TLS certificate verification is off (verify: false / insecure: true)");
        b = b.danger_accept_invalid_certs(true);
    }
    b.build().map_err(|e| MediateError::Client(error_chain(&e)))
}

/// The one-line refusal of a catalog endpoint (service type, URL without user info, rule).
fn refused_endpoint(service_type: &str, url: &str, rule: &keystone::UnsafeEndpoint) -> ApiError {
    ApiError::Denied(format!(
        "catalog endpoint {} for service type {:?} refused: {rule}",
        keystone::shown_url(url),
        crate::errtext::bounded_text(service_type, 64)
    ))
}

/// Warn once per run about every catalog endpoint that requests will be refused for.
fn warn_about_unsafe_endpoints(info: &TokenInfo, allow_link_local: bool) {
    for svc in &info.catalog {
        for ep in &svc.endpoints {
            if let Err(rule) = keystone::check_endpoint_url(&ep.url, allow_link_local) {
                tracing::warn!("{}", refused_endpoint(&svc.service_type, &ep.url, &rule));
            }
        }
    }
}

/// Service types that name the same API (Service Type Authority aliases).
fn alias_family(service_type: &str) -> &'static [&'static str] {
    const BLOCK: &[&str] = &["block-storage", "volumev3", "volumev2", "volume"];
    if BLOCK.contains(&service_type) {
        BLOCK
    } else {
        &[]
    }
}

impl Session {
    /// Authenticate against the cloud and keep the token.
    pub async fn connect(
        cloud: &CloudConfig,
        limits: MediationLimits,
    ) -> Result<Session, MediateError> {
        let client = http_client(cloud)?;
        let (token, info) = keystone::authenticate(&client, cloud, limits.request_timeout).await?;
        tracing::debug!(user = %info.user, project = %info.project, roles = ?info.roles,
            services = info.catalog.len(), "authenticated");
        warn_about_unsafe_endpoints(&info, cloud.allow_link_local);
        Ok(Session {
            client,
            token: tokio::sync::RwLock::new((token, 0)),
            cloud: cloud.clone(),
            info,
            region: cloud.region.clone(),
            interface: cloud.interface.clone(),
            limits,
            shared: Mutex::new(HashMap::new()),
            stats: Mutex::new(SessionStats::default()),
        })
    }

    /// What the token says (no secret).
    pub(crate) fn token_info(&self) -> &TokenInfo {
        &self.info
    }

    /// What a transcript keeps of this session (no token).
    pub(crate) fn recorded_cloud(&self) -> transcript::RecordedCloud {
        transcript::RecordedCloud {
            user: self.info.user.clone(),
            user_id: self.info.user_id.clone(),
            project: self.info.project.clone(),
            project_id: self.info.project_id.clone(),
            roles: self.info.roles.clone(),
            region: self.region.clone(),
            interface: self.interface.clone(),
            catalog: self
                .info
                .catalog
                .iter()
                .map(|s| transcript::RecordedService {
                    service_type: s.service_type.clone(),
                    name: s.name.clone(),
                    endpoints: s
                        .endpoints
                        .iter()
                        .map(|e| (e.interface.clone(), e.region.clone(), e.url.clone()))
                        .collect(),
                })
                .collect(),
        }
    }

    /// Identity for checks.
    pub fn identity(&self) -> Identity {
        Identity {
            user: self.info.user.clone(),
            project: self.info.project.clone(),
            project_id: self.info.project_id.clone(),
            roles: self.info.roles.clone(),
            region: self.region.clone().unwrap_or_default(),
            interface: self.interface.clone(),
        }
    }

    /// The token's catalog.
    pub fn catalog(&self) -> &[Service] {
        &self.info.catalog
    }

    /// The endpoint URL for a service type (interface and region of the cloud config).
    pub fn endpoint(&self, service_type: &str) -> Result<String, ApiError> {
        let family = alias_family(service_type);
        let mut order: Vec<&str> = vec![service_type];
        order.extend(family.iter().copied().filter(|t| *t != service_type));
        for t in order {
            for svc in self.info.catalog.iter().filter(|s| s.service_type == t) {
                for ep in &svc.endpoints {
                    let region_ok = match &self.region {
                        Some(r) => &ep.region == r,
                        None => true,
                    };
                    if ep.interface == self.interface && region_ok {
                        keystone::check_endpoint_url(&ep.url, self.cloud.allow_link_local)
                            .map_err(|rule| refused_endpoint(service_type, &ep.url, &rule))?;
                        return Ok(ep.url.trim_end_matches('/').to_string());
                    }
                }
            }
        }
        Err(ApiError::NoEndpoint(format!(
            "no {} endpoint for service type {service_type:?}{} in the catalog",
            self.interface,
            self.region
                .as_ref()
                .map(|r| format!(" in region {r:?}"))
                .unwrap_or_default()
        )))
    }

    fn url_for(&self, req: &ApiRequest) -> Result<reqwest::Url, ApiError> {
        validate_path(&req.path)?;
        let base = self.endpoint(&req.service_type)?;
        let base = match req.anchor {
            Anchor::Endpoint => base,
            Anchor::HostRoot => {
                let u = reqwest::Url::parse(&base).map_err(|e| {
                    ApiError::Transport(format!("catalog URL {base:?} is not a URL: {e}"))
                })?;
                u.origin().ascii_serialization()
            }
        };
        let path = req.path.trim_start_matches('/');
        let full = if path.is_empty() {
            base.clone()
        } else {
            format!("{base}/{path}")
        };
        let mut url = reqwest::Url::parse(&full)
            .map_err(|e| ApiError::Transport(format!("cannot build a URL from {full:?}: {e}")))?;
        let base_url = reqwest::Url::parse(&base)
            .map_err(|e| ApiError::Transport(format!("catalog URL {base:?} is not a URL: {e}")))?;
        confine(&base_url, &url)?;
        if !req.query.is_empty() {
            url.query_pairs_mut().extend_pairs(req.query.iter());
        }
        Ok(url)
    }

    fn build(
        &self,
        req: &ApiRequest,
        url: &reqwest::Url,
        timeout: Duration,
        token: &Secret,
    ) -> Result<reqwest::RequestBuilder, ApiError> {
        let mut rb = self
            .client
            .request(req.method.reqwest(), url.clone())
            .timeout(timeout);
        for (k, v) in &req.headers {
            if !header_allowed(k, req.anchor) {
                return Err(ApiError::Denied(format!(
                    "header {k:?} is reserved for the host"
                )));
            }
            rb = rb.header(k.as_str(), v.as_str());
        }
        if req.anchor == Anchor::Endpoint {
            rb = rb.header("X-Auth-Token", token.expose());
        }
        if let Some(body) = &req.body {
            rb = rb.body(body.clone());
        }
        Ok(rb)
    }

    /// Get a new token after a 401, unless another check already did
    /// (the generation tells). Returns the token to retry with.
    async fn reauthenticate(&self, seen_generation: u64) -> Option<Secret> {
        let mut guard = self.token.write().await;
        if guard.1 != seen_generation {
            return Some(guard.0.clone());
        }
        match keystone::authenticate(&self.client, &self.cloud, self.limits.request_timeout).await {
            Ok((token, _)) => {
                tracing::info!("the token was refused (HTTP 401); re-authenticated");
                *guard = (token, seen_generation + 1);
                Some(guard.0.clone())
            }
            Err(e) => {
                tracing::warn!("re-authentication after HTTP 401 failed: {e}");
                None
            }
        }
    }

    pub(super) async fn fetch(
        &self,
        req: &ApiRequest,
        timeout: Duration,
        check: &str,
    ) -> Result<ApiResponse, ApiError> {
        let url = self.url_for(req)?;
        let (token, generation) = {
            let g = self.token.read().await;
            (g.0.clone(), g.1)
        };
        let started = Instant::now();
        let mut result = self
            .exchange(self.build(req, &url, timeout, &token)?, timeout)
            .await;
        // An expired token (HTTP 401) is renewed once and the request
        // retried, as openstacksdk does; the check never sees the 401.
        if req.anchor == Anchor::Endpoint
            && matches!(&result, Ok(r) if r.status == 401)
            && let Some(fresh) = self.reauthenticate(generation).await
        {
            let left = timeout.saturating_sub(started.elapsed());
            if !left.is_zero() {
                result = self
                    .exchange(self.build(req, &url, left, &fresh)?, left)
                    .await;
            }
        }
        let ms = started.elapsed().as_millis();
        match &result {
            Ok(r) => {
                tracing::debug!(check, method = req.method.as_str(), url = %url, status = r.status,
                bytes = r.body.len(), ms, shared = req.shared, "openstack call")
            }
            Err(e) => {
                tracing::debug!(check, method = req.method.as_str(), url = %url, error = %e, ms,
                shared = req.shared, "openstack call failed")
            }
        }
        if let Ok(mut s) = self.stats.lock() {
            s.requests += 1;
            if let Ok(r) = &result {
                s.bytes += r.body.len() as u64;
            }
        }
        result
    }

    async fn exchange(
        &self,
        rb: reqwest::RequestBuilder,
        timeout: Duration,
    ) -> Result<ApiResponse, ApiError> {
        let map_err = |e: reqwest::Error| {
            if e.is_timeout() {
                ApiError::Timeout(format!(
                    "no complete answer within {} ms",
                    timeout.as_millis()
                ))
            } else {
                ApiError::Transport(error_chain(&e))
            }
        };
        let mut resp = rb.send().await.map_err(map_err)?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .filter(|(k, _)| !DROPPED_RESPONSE_HEADERS.contains(&k.as_str()))
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let cap = self.limits.max_response_bytes;
        if resp.content_length().is_some_and(|l| l > cap) {
            return Err(ApiError::TooLarge(format!(
                "response announces {} bytes; the limit is {cap}",
                resp.content_length().unwrap_or(0)
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(map_err)? {
            if body.len() as u64 + chunk.len() as u64 > cap {
                return Err(ApiError::TooLarge(format!(
                    "response body exceeds the limit of {cap} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(ApiResponse {
            status,
            headers,
            body: redact_body(body),
        })
    }
}

//! The cloud session of a run: credentials from clouds.yaml, the Keystone token, catalog and
//! roles, endpoint resolution by service type, interface and region, the HTTP client, the
//! run-wide cache of shared reads (fetched once per run for all checks, single-flight), the
//! limits of mediation, and the debug log of every call.
//!
//! Owns also: turning a check's path into a URL through version discovery (see
//! [`super::discovery`]: one version document per service and run, shared by all checks;
//! microversion headers negotiated down to what the cloud offers) and following redirects
//! the way keystoneauth does where that is safe (same origin, or http to https on the same
//! host; at most [`MAX_REDIRECTS`] hops, each logged).
//!
//! Must never: hand the token or a secret to a check (the token is added here, after the
//! check's request is validated; response headers that could carry it are dropped), reach a
//! host that is not a catalog endpoint, send the token (or a check's headers) after a redirect
//! to another origin, or cache an ordinary read.

use super::clouds::{CloudConfig, Secret};
use super::discovery::{self, CatalogUrl, Family};
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
    /// Bytes `--record` may hold in memory for the whole run, every check's events together
    /// (default 1 GiB); past it, a check's further calls are answered `too-large` without
    /// being sent (and that answer is recorded, so the replay agrees).
    pub max_record_bytes: u64,
    /// Response bytes the run-wide cache of shared reads may hold (default 256 MiB), and
    /// entries it may have ([`MAX_SHARED_ENTRIES`]); past either, a shared read is fetched
    /// for the check alone.
    pub max_shared_cache_bytes: u64,
}

/// Entries the run-wide cache of shared reads may hold.
pub const MAX_SHARED_ENTRIES: usize = 4_096;

impl Default for MediationLimits {
    fn default() -> Self {
        MediationLimits {
            max_response_bytes: 64 << 20,
            request_timeout: Duration::from_secs(32),
            max_requests_per_check: 10_000,
            max_bytes_per_check: 1 << 30,
            clock: ClockMode::Real,
            max_record_bytes: 1 << 30,
            max_shared_cache_bytes: 256 << 20,
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

pub(super) type SharedCell = Arc<SharedEntry>;

/// One entry of the run-wide cache of shared reads: the answer (single flight) and whether
/// the host's prefetch put it there.
#[derive(Default)]
pub(super) struct SharedEntry {
    pub(super) cell: OnceCell<Result<ApiResponse, ApiError>>,
    pub(super) prefetched: std::sync::atomic::AtomicBool,
}

/// Run-wide counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionStats {
    /// Requests sent to the cloud (auth excluded).
    pub requests: u64,
    /// Response bytes received.
    pub bytes: u64,
    /// Shared reads served from the run cache.
    pub shared_hits: u64,
    /// Version-discovery requests (at most one per service; not in `requests`).
    pub discovery_requests: u64,
    /// Time spent on them, in milliseconds.
    pub discovery_ms: u64,
    /// Redirects followed.
    pub redirects: u64,
    /// Reads the checks declared in `prefetch` and the host issued right after
    /// authentication.
    pub prefetched: u64,
    /// Of the shared hits, those served by a prefetched answer (a declared prefetch the check
    /// never made, or made differently, does not count).
    pub prefetch_hits: u64,
}

pub use super::http::MAX_REDIRECTS;

/// Where a service's paths go, once per service and run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resolved {
    /// The service root: paths that start with a version segment (`v2/images`) go here.
    pub root: String,
    /// The versioned base: all other paths go here.
    pub base: String,
    /// The family, when the service type has one.
    pub family: Option<Family>,
    /// The cloud's microversion range (min, max), when discovery found one.
    pub microversions: Option<((u32, u32), (u32, u32))>,
}

type ResolvedCell = Arc<OnceCell<Arc<Resolved>>>;

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
    /// Response bytes held by `shared`.
    pub(super) shared_bytes: std::sync::atomic::AtomicU64,
    pub(super) stats: Mutex<SessionStats>,
    /// Discovery results per catalog URL (single flight).
    resolved: Mutex<HashMap<String, ResolvedCell>>,
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

/// Build the HTTP client for a cloud (TLS options honoured: `cacert`, the client certificate,
/// `insecure`; no redirects).
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
    if let Some(cert) = &cloud.tls.client_cert {
        b = b.identity(cert.identity()?);
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
        let started = Instant::now();
        let (token, info) = keystone::authenticate(&client, cloud, limits.request_timeout).await?;
        tracing::debug!(user = %info.user, project = %info.project, roles = ?info.roles,
            services = info.catalog.len(), ms = started.elapsed().as_millis() as u64,
            "authenticated");
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
            shared_bytes: std::sync::atomic::AtomicU64::new(0),
            stats: Mutex::new(SessionStats::default()),
            resolved: Mutex::new(HashMap::new()),
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

    /// Counters so far (requests, bytes, shared hits, discovery, redirects).
    pub fn stats(&self) -> SessionStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// The run-cache entry of a shared read, created when there is room ([`MAX_SHARED_ENTRIES`]
    /// entries, [`MediationLimits::max_shared_cache_bytes`]); `None` when the cache is full (the
    /// caller then fetches alone).
    pub(super) fn shared_entry(&self, req: &ApiRequest) -> Option<SharedCell> {
        let mut map = self
            .shared
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let room = map.len() < MAX_SHARED_ENTRIES
            && self.shared_bytes.load(std::sync::atomic::Ordering::Relaxed)
                < self.limits.max_shared_cache_bytes;
        match map.get(req) {
            Some(c) => Some(c.clone()),
            None if room => Some(map.entry(req.clone()).or_default().clone()),
            None => None,
        }
    }

    /// Fetch a shared read for the cache, counting its bytes against the cache's bound.
    pub(super) async fn fetch_for_cache(
        &self,
        req: &ApiRequest,
        timeout: Duration,
        check: &str,
    ) -> Result<ApiResponse, ApiError> {
        let r = self.fetch(req, timeout, check).await;
        if let Ok(resp) = &r {
            self.shared_bytes
                .fetch_add(resp.body.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        r
    }

    /// Issue a shared read that a check declared in its `prefetch`, before the check asks for
    /// it, so the answer is in the run cache (or on its way) when it does. The answer, error
    /// or not, is what the check then gets, as if the first check to ask had made the read
    /// itself a little earlier: a prefetch changes when a read happens, never what a check
    /// sees. `timeout` is the longest per-request timeout of the checks that declared it. The
    /// caller has checked the request against the declaring check's grants.
    pub async fn prefetch(&self, mut req: ApiRequest, timeout: Duration) {
        req.shared = true;
        let Some(entry) = self.shared_entry(&req) else {
            return;
        };
        let mut ran = false;
        let r = entry
            .cell
            .get_or_init(|| {
                ran = true;
                async {
                    let r = self.fetch_for_cache(&req, timeout, "prefetch").await;
                    // before the answer is visible, so every hit on it counts
                    entry
                        .prefetched
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    r
                }
            })
            .await;
        if ran {
            if let Ok(mut s) = self.stats.lock() {
                s.prefetched += 1;
            }
            if let Err(e) = r {
                tracing::debug!(service = %req.service_type, path = %req.path, error = %e,
                    "prefetch failed; the checks that make this read get the same error");
            }
        }
    }

    /// Where the paths of the service at `catalog_url` go: discovered once per catalog URL and
    /// run (single flight), whichever check asks first. Discovery never fails a request: when
    /// the version document cannot be read, the catalog URL is used as it is, as before
    /// discovery existed, and a warning says why.
    async fn resolved(
        &self,
        service_type: &str,
        catalog_url: &str,
        timeout: Duration,
    ) -> Arc<Resolved> {
        let cell = {
            let mut map = self
                .resolved
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            map.entry(catalog_url.to_string()).or_default().clone()
        };
        cell.get_or_init(|| async {
            Arc::new(self.discover(service_type, catalog_url, timeout).await)
        })
        .await
        .clone()
    }

    async fn discover(&self, service_type: &str, catalog_url: &str, timeout: Duration) -> Resolved {
        let trimmed = catalog_url.trim_end_matches('/').to_string();
        let as_is = |family| Resolved {
            root: trimmed.clone(),
            base: trimmed.clone(),
            family,
            microversions: None,
        };
        let Some(fam) = discovery::family(service_type) else {
            return as_is(None);
        };
        let cat = discovery::split_catalog_url(catalog_url, &self.info.project_id);
        let versioned = |microversions| Resolved {
            root: cat.root.clone(),
            base: trimmed.clone(),
            family: Some(fam),
            microversions,
        };
        if cat.satisfies(&fam) && !fam.discover_when_versioned {
            return versioned(None);
        }
        let started = Instant::now();
        let doc = self.version_document(&cat, timeout).await;
        if let Ok(mut st) = self.stats.lock() {
            st.discovery_requests += 1;
            st.discovery_ms += started.elapsed().as_millis() as u64;
        }
        let chosen = doc.and_then(|entries| {
            discovery::choose(&entries, &fam).cloned().ok_or_else(|| {
                let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
                format!(
                    "it offers {}, none of them v{}.{} or later of major version {}",
                    if ids.is_empty() {
                        "no versions".to_string()
                    } else {
                        ids.join(", ")
                    },
                    fam.major,
                    fam.min_minor,
                    fam.major
                )
            })
        });
        let shown_root = keystone::shown_url(&cat.root);
        let resolved = match chosen {
            Ok(entry) if cat.satisfies(&fam) => versioned(entry.microversions),
            Ok(entry) => {
                let (base, note) = discovery::base_from_entry(&cat, &entry, &fam);
                if let Some(note) = note {
                    tracing::warn!("{service_type}: the version document at {shown_root}: {note}");
                }
                Resolved {
                    root: cat.root.clone(),
                    base,
                    family: Some(fam),
                    microversions: entry.microversions,
                }
            }
            Err(why) if cat.satisfies(&fam) => {
                tracing::debug!("{service_type}: no microversion range from {shown_root}: {why}");
                versioned(None)
            }
            Err(why) => {
                tracing::warn!(
                    "{service_type}: version discovery at {shown_root} failed ({why}); using the \
                     catalog URL {} as it is",
                    keystone::shown_url(catalog_url)
                );
                as_is(Some(fam))
            }
        };
        tracing::info!(
            service = service_type,
            base = %keystone::shown_url(&resolved.base),
            microversions = ?resolved.microversions.map(|(a, b)| format!("{}.{}-{}.{}", a.0, a.1, b.0, b.1)),
            ms = started.elapsed().as_millis() as u64,
            "API version resolved"
        );
        resolved
    }

    /// GET the version document at the service root (token sent: the root is on the catalog
    /// endpoint's origin), read it. Glance and Cinder answer 300 Multiple Choices.
    async fn version_document(
        &self,
        cat: &CatalogUrl,
        timeout: Duration,
    ) -> Result<Vec<discovery::VersionEntry>, String> {
        let url = reqwest::Url::parse(&format!("{}/", cat.root))
            .map_err(|e| format!("the root is not a URL: {e}"))?;
        let token = self.token.read().await.0.clone();
        let probe = ApiRequest {
            service_type: String::new(),
            method: super::Method::Get,
            path: String::new(),
            query: Vec::new(),
            headers: vec![("accept".to_string(), "application/json".to_string())],
            body: None,
            anchor: Anchor::Endpoint,
            shared: false,
        };
        let resp = self
            .send_following(
                &probe,
                url,
                &probe.headers,
                timeout,
                &token,
                "version discovery",
            )
            .await
            .map_err(|e| e.to_string())?;
        if resp.status != 200 && resp.status != 300 {
            return Err(format!("HTTP {}", resp.status));
        }
        discovery::parse_versions(&resp.body)
    }

    /// The versioned API base of a service type (what `openstack.resolved-endpoint` tells a
    /// check): its catalog endpoint after version discovery, discovered once per run.
    pub(crate) async fn resolved_base(
        &self,
        service_type: &str,
        timeout: Duration,
    ) -> Result<String, ApiError> {
        let catalog = self.endpoint(service_type)?;
        Ok(self
            .resolved(service_type, &catalog, timeout)
            .await
            .base
            .clone())
    }

    /// The URL of a request and the service's resolution (None for host-root requests).
    async fn url_for(
        &self,
        req: &ApiRequest,
        timeout: Duration,
    ) -> Result<(reqwest::Url, Option<Arc<Resolved>>), ApiError> {
        validate_path(&req.path)?;
        let catalog = self.endpoint(&req.service_type)?;
        let (base, resolved) = match req.anchor {
            // a path that names its version (`v2/images`) needs no discovery: the root is in
            // the catalog URL
            Anchor::Endpoint if discovery::path_names_version(&req.path) => {
                let root = match discovery::family(&req.service_type) {
                    Some(_) => discovery::split_catalog_url(&catalog, &self.info.project_id).root,
                    None => catalog.trim_end_matches('/').to_string(),
                };
                (root, None)
            }
            Anchor::Endpoint => {
                let r = self.resolved(&req.service_type, &catalog, timeout).await;
                (r.base.clone(), Some(r))
            }
            Anchor::HostRoot => {
                let u = reqwest::Url::parse(&catalog).map_err(|e| {
                    ApiError::Transport(format!("catalog URL {catalog:?} is not a URL: {e}"))
                })?;
                (u.origin().ascii_serialization(), None)
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
        Ok((url, resolved))
    }

    /// The check's headers, after the reserved ones were refused and microversion headers
    /// negotiated down to the cloud's maximum (as openstacksdk does instead of failing with 406).
    fn headers_for(
        req: &ApiRequest,
        resolved: Option<&Resolved>,
        check: &str,
    ) -> Result<Vec<(String, String)>, ApiError> {
        let mut out = Vec::with_capacity(req.headers.len());
        for (k, v) in &req.headers {
            if !header_allowed(k, req.anchor) {
                return Err(ApiError::Denied(format!(
                    "header {k:?} is reserved for the host"
                )));
            }
            let negotiated = resolved.and_then(|r| {
                let name = r.family?.microversion_name?;
                let (_, max) = r.microversions?;
                discovery::negotiate_header(k, v, name, max)
            });
            match negotiated {
                Some(n) => {
                    tracing::debug!(check, header = %k, asked = %v, sent = %n,
                        "microversion negotiated down to the cloud's maximum");
                    out.push((k.clone(), n));
                }
                None => out.push((k.clone(), v.clone())),
            }
        }
        Ok(out)
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

    pub(crate) async fn fetch(
        &self,
        req: &ApiRequest,
        timeout: Duration,
        check: &str,
    ) -> Result<ApiResponse, ApiError> {
        let started = Instant::now();
        let (url, resolved) = self.url_for(req, timeout).await?;
        let headers = Self::headers_for(req, resolved.as_deref(), check)?;
        let (token, generation) = {
            let g = self.token.read().await;
            (g.0.clone(), g.1)
        };
        let left = timeout.saturating_sub(started.elapsed());
        let mut result = self
            .send_following(req, url.clone(), &headers, left, &token, check)
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
                    .send_following(req, url.clone(), &headers, left, &fresh, check)
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

    /// Send, following redirects where that is safe (see [`super::http::send_following`]). Any other
    /// redirect is handed to the check as the response it is, with a warning. 303 (and 301/302
    /// after a POST) continue as GET without a body, as HTTP clients do. The whole chain
    /// shares `timeout`.
    async fn send_following(
        &self,
        req: &ApiRequest,
        url: reqwest::Url,
        headers: &[(String, String)],
        timeout: Duration,
        token: &Secret,
        check: &str,
    ) -> Result<ApiResponse, ApiError> {
        let build = |method: &reqwest::Method,
                     url: &reqwest::Url,
                     body: Option<&Vec<u8>>,
                     left: Duration| {
            let mut rb = self
                .client
                .request(method.clone(), url.clone())
                .timeout(left);
            for (k, v) in headers {
                rb = rb.header(k.as_str(), v.as_str());
            }
            if req.anchor == Anchor::Endpoint {
                rb = rb.header("X-Auth-Token", token.expose());
            }
            if let Some(b) = body {
                rb = rb.body(b.clone());
            }
            rb
        };
        let limits = super::http::Limits {
            timeout,
            cap: self.limits.max_response_bytes,
            dropped: DROPPED_RESPONSE_HEADERS,
            allow_link_local: self.cloud.allow_link_local,
            check,
        };
        let (mut resp, redirects) = super::http::send_following(
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
        // secrets a cloud puts in a body (adminPass, ...) never reach a check or a transcript
        resp.body = redact_body(std::mem::take(&mut resp.body));
        Ok(resp)
    }
}

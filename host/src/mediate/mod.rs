//! Mediated cloud access: everything a check component may reach.
//!
//! Owns: the cloud session (credentials from clouds.yaml, the Keystone token,
//! catalog and roles), endpoint resolution by service type, interface and
//! region, the per-check grants (read vs. write per service type, from the
//! check's declared capabilities), limits (response size, request count,
//! traffic, time), the run-wide cache of *shared* reads (fetched once per run
//! for all checks, single-flight), and the debug log of every call.
//!
//! Must never: hand the token, a password or a secret to a check (the token
//! is added here, after the check's request is validated, and response
//! headers that could carry it are dropped); let a check reach a host that is
//! not a catalog endpoint; cache an ordinary (non-shared) read; follow
//! redirects.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

pub mod clouds;
pub mod keystone;
pub mod transcript;

use clouds::{CloudConfig, Secret};
use keystone::{Service, TokenInfo};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// HTTP method of a mediated request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// GET (read).
    Get,
    /// HEAD (read).
    Head,
    /// POST (write).
    Post,
    /// PUT (write).
    Put,
    /// PATCH (write).
    Patch,
    /// DELETE (write).
    Delete,
}

impl Method {
    /// Whether the method only reads.
    pub fn is_read(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
    /// Upper-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
    fn reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Head => reqwest::Method::HEAD,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Patch => reqwest::Method::PATCH,
            Method::Delete => reqwest::Method::DELETE,
        }
    }
}

/// What a request path is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Anchor {
    /// The catalog endpoint (token added).
    Endpoint,
    /// scheme://host:port of the endpoint (no token).
    HostRoot,
}

/// A check's request, before the host adds anything.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiRequest {
    /// Catalog service type.
    pub service_type: String,
    /// Method.
    pub method: Method,
    /// Path relative to the anchor.
    pub path: String,
    /// Query pairs.
    pub query: Vec<(String, String)>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Option<Vec<u8>>,
    /// Anchor.
    pub anchor: Anchor,
    /// Shared read requested.
    pub shared: bool,
}

/// The cloud's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResponse {
    /// Status.
    pub status: u16,
    /// Headers (lower-case names), without secret-bearing ones.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

/// Why a request produced no response (mirrors the WIT `error` variant).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// Not granted.
    #[error("denied: {0}")]
    Denied(String),
    /// No endpoint.
    #[error("no endpoint: {0}")]
    NoEndpoint(String),
    /// Too slow.
    #[error("timeout: {0}")]
    Timeout(String),
    /// Too big.
    #[error("too large: {0}")]
    TooLarge(String),
    /// Anything else on the wire.
    #[error("transport: {0}")]
    Transport(String),
}

/// Errors setting up a session.
#[derive(Debug, thiserror::Error)]
pub enum MediateError {
    /// clouds.yaml problems.
    #[error(transparent)]
    Clouds(#[from] clouds::CloudsError),
    /// Keystone problems.
    #[error(transparent)]
    Keystone(#[from] keystone::KeystoneError),
    /// TLS setup.
    #[error("{path}: cannot use as CA bundle (cacert): {message}")]
    CaCert {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// HTTP client setup.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

/// Access level granted for one service type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// GET and HEAD.
    Read,
    /// Every method.
    Write,
}

/// What one check may do: service type → access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    by_service: BTreeMap<String, Access>,
}

impl Grants {
    /// Parse capabilities like `openstack:compute:read`, `openstack:volume:write`.
    pub fn from_capabilities(caps: &[String]) -> Result<Grants, String> {
        let mut by_service = BTreeMap::new();
        for cap in caps {
            let parts: Vec<&str> = cap.split(':').collect();
            let (svc, access) = match parts.as_slice() {
                ["openstack", svc, "read"] if !svc.is_empty() => (*svc, Access::Read),
                ["openstack", svc, "write"] if !svc.is_empty() => (*svc, Access::Write),
                _ => {
                    return Err(format!(
                        "capability {cap:?} is not of the form openstack:<service-type>:read|write"
                    ));
                }
            };
            let e = by_service.entry(svc.to_string()).or_insert(access);
            *e = (*e).max(access);
        }
        Ok(Grants { by_service })
    }

    /// The capabilities as strings (for the report).
    pub fn to_capabilities(&self) -> Vec<String> {
        self.by_service
            .iter()
            .map(|(s, a)| {
                format!(
                    "openstack:{s}:{}",
                    if *a == Access::Write { "write" } else { "read" }
                )
            })
            .collect()
    }

    /// Whether any service type is granted write access.
    pub fn has_write(&self) -> bool {
        self.by_service.values().any(|a| *a == Access::Write)
    }

    /// Allowed?
    pub fn check(&self, service_type: &str, method: Method) -> Result<(), String> {
        match self.by_service.get(service_type) {
            None => Err(format!(
                "the check did not declare capability openstack:{service_type}:read (needed for {} {service_type})",
                method.as_str()
            )),
            Some(Access::Read) if !method.is_read() => Err(format!(
                "{} on {service_type} needs capability openstack:{service_type}:write; the check declared only read",
                method.as_str()
            )),
            Some(_) => Ok(()),
        }
    }
}

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
}

impl Default for MediationLimits {
    fn default() -> Self {
        MediationLimits {
            max_response_bytes: 64 << 20,
            request_timeout: Duration::from_secs(32),
            max_requests_per_check: 10_000,
            max_bytes_per_check: 1 << 30,
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
    limits: MediationLimits,
    shared: Mutex<HashMap<ApiRequest, SharedCell>>,
    stats: Mutex<SessionStats>,
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
pub fn http_client(cloud: &CloudConfig) -> Result<reqwest::Client, MediateError> {
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

/// Service types that name the same API (Service Type Authority aliases).
fn alias_family(service_type: &str) -> &'static [&'static str] {
    const BLOCK: &[&str] = &["block-storage", "volumev3", "volumev2", "volume"];
    if BLOCK.contains(&service_type) {
        BLOCK
    } else {
        &[]
    }
}

const RESERVED_REQUEST_HEADERS: &[&str] = &[
    "x-auth-token",
    "x-subject-token",
    "authorization",
    "host",
    "cookie",
    "proxy-authorization",
    "content-length",
    "transfer-encoding",
    "connection",
];

/// Whether a check may set request header `name` on a request anchored at
/// `anchor`. `authorization` is allowed only on host-root requests, which
/// never carry the token: the S3 probe of scs-0123 (d.10) signs its
/// ListBuckets with SigV4 there. Every other reserved header stays the
/// host's.
fn header_allowed(name: &str, anchor: Anchor) -> bool {
    let lk = name.to_ascii_lowercase();
    if lk == "authorization" && anchor == Anchor::HostRoot {
        return true;
    }
    !RESERVED_REQUEST_HEADERS.contains(&lk.as_str())
}

/// Response headers a check never sees: secret-bearing ones, and volatile
/// ones (dates, request ids, connection details) that would make a recorded
/// run differ from its replay.
const DROPPED_RESPONSE_HEADERS: &[&str] = &[
    "x-subject-token",
    "x-auth-token",
    "set-cookie",
    "authorization",
    "www-authenticate",
    "date",
    "server",
    "x-openstack-request-id",
    "x-compute-request-id",
    "openstack-request-id",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
];

fn validate_path(path: &str) -> Result<(), ApiError> {
    if path.contains("..")
        || path.contains("://")
        || path.contains('?')
        || path.contains('#')
        || path.contains('\\')
        || path.chars().any(|c| c.is_control() || c == ' ')
    {
        return Err(ApiError::Denied(format!(
            "path {path:?} must be a plain relative path (no `..`, scheme, query, fragment, spaces)"
        )));
    }
    Ok(())
}

impl Session {
    /// Authenticate against the cloud and keep the token.
    pub async fn connect(
        cloud: &CloudConfig,
        limits: MediationLimits,
    ) -> Result<Session, MediateError> {
        let client = http_client(cloud)?;
        let (token, info) = keystone::authenticate(&client, cloud).await?;
        tracing::debug!(user = %info.user, project = %info.project, roles = ?info.roles,
            services = info.catalog.len(), "authenticated");
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
    pub fn token_info(&self) -> &TokenInfo {
        &self.info
    }

    /// What a transcript keeps of this session (no token).
    pub fn recorded_cloud(&self) -> transcript::RecordedCloud {
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

    /// Run-wide counters so far.
    pub fn stats(&self) -> SessionStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
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
            base
        } else {
            format!("{base}/{path}")
        };
        let mut url = reqwest::Url::parse(&full)
            .map_err(|e| ApiError::Transport(format!("cannot build a URL from {full:?}: {e}")))?;
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
        match keystone::authenticate(&self.client, &self.cloud).await {
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

    async fn fetch(
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
            body,
        })
    }
}

/// Per-check counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckStats {
    /// Requests made (shared ones included).
    pub requests: u64,
    /// Response bytes delivered to the check.
    pub bytes: u64,
    /// Requests refused by the grants.
    pub denied: u64,
}

/// The cloud as a replay sees it (from the transcript manifest).
#[derive(Debug, Clone)]
pub struct ReplayCloud {
    identity: Identity,
    catalog: Vec<Service>,
}

impl ReplayCloud {
    /// From a recorded cloud.
    pub fn new(c: &transcript::RecordedCloud) -> ReplayCloud {
        ReplayCloud {
            identity: Identity {
                user: c.user.clone(),
                project: c.project.clone(),
                project_id: c.project_id.clone(),
                roles: c.roles.clone(),
                region: c.region.clone().unwrap_or_default(),
                interface: c.interface.clone(),
            },
            catalog: c
                .catalog
                .iter()
                .map(|s| Service {
                    service_type: s.service_type.clone(),
                    name: s.name.clone(),
                    endpoints: s
                        .endpoints
                        .iter()
                        .map(|(i, r, u)| keystone::Endpoint {
                            interface: i.clone(),
                            region: r.clone(),
                            url: u.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// Where a check's calls go.
#[derive(Debug)]
pub enum Source {
    /// The live cloud, optionally recording every call.
    Live {
        /// The session.
        session: Arc<Session>,
        /// Recorder, when `--record` is on.
        recorder: Option<transcript::Recorder>,
    },
    /// A transcript.
    Replay {
        /// Identity and catalog.
        cloud: Arc<ReplayCloud>,
        /// This component's cursor.
        replayer: transcript::Replayer,
    },
}

/// One check's handle on the cloud: its grants, budget, deadline, and the
/// recording or replay of its calls.
pub struct CheckMediator {
    source: Source,
    check_id: String,
    grants: Grants,
    deadline: Instant,
    stats: CheckStats,
    divergence: Option<transcript::Divergence>,
}

impl std::fmt::Debug for CheckMediator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckMediator")
            .field("check_id", &self.check_id)
            .field("grants", &self.grants)
            .finish_non_exhaustive()
    }
}

impl CheckMediator {
    /// A mediator for one check against the live cloud (no recording).
    pub fn new(
        session: Arc<Session>,
        check_id: &str,
        grants: Grants,
        deadline: Instant,
    ) -> CheckMediator {
        CheckMediator::with_source(
            Source::Live {
                session,
                recorder: None,
            },
            check_id,
            grants,
            deadline,
        )
    }

    /// A mediator with an explicit source (live with recorder, or replay).
    pub fn with_source(
        source: Source,
        check_id: &str,
        grants: Grants,
        deadline: Instant,
    ) -> CheckMediator {
        CheckMediator {
            source,
            check_id: check_id.to_string(),
            grants,
            deadline,
            stats: CheckStats::default(),
            divergence: None,
        }
    }

    /// Identity.
    pub fn identity(&self) -> Identity {
        match &self.source {
            Source::Live { session, .. } => session.identity(),
            Source::Replay { cloud, .. } => cloud.identity.clone(),
        }
    }

    /// Catalog.
    pub fn catalog(&self) -> &[Service] {
        match &self.source {
            Source::Live { session, .. } => session.catalog(),
            Source::Replay { cloud, .. } => &cloud.catalog,
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> &CheckStats {
        &self.stats
    }

    /// The check's deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The recorded events (live with recorder), consumed.
    pub fn take_events(&mut self) -> Option<Vec<transcript::Event>> {
        match &mut self.source {
            Source::Live { recorder, .. } => recorder.take().map(transcript::Recorder::into_events),
            Source::Replay { .. } => None,
        }
    }

    /// The first replay divergence, including "ended with calls left over".
    pub fn divergence(&self) -> Option<transcript::Divergence> {
        if let Some(d) = &self.divergence {
            return Some(d.clone());
        }
        match &self.source {
            Source::Replay { replayer, .. } => replayer.ended_early(),
            Source::Live { .. } => None,
        }
    }

    fn diverged(&mut self, d: transcript::Divergence) -> transcript::Divergence {
        if self.divergence.is_none() {
            self.divergence = Some(d.clone());
        }
        d
    }

    /// Wall-clock milliseconds (recorded; replayed from the transcript).
    pub fn now(&mut self) -> Result<u64, transcript::Divergence> {
        match &mut self.source {
            Source::Live { recorder, .. } => {
                let ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0);
                if let Some(r) = recorder {
                    r.push(transcript::Event::Now { ms });
                }
                Ok(ms)
            }
            Source::Replay { replayer, .. } => match replayer.now() {
                Ok(ms) => Ok(ms),
                Err(d) => Err(self.diverged(d)),
            },
        }
    }

    /// Sleep (recorded; skipped on replay). A sleep past the deadline is cut
    /// short by the sandbox's timeout.
    pub async fn sleep(&mut self, ms: u64) -> Result<(), transcript::Divergence> {
        match &mut self.source {
            Source::Live { recorder, .. } => {
                if let Some(r) = recorder {
                    r.push(transcript::Event::Sleep { ms });
                }
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(())
            }
            Source::Replay { replayer, .. } => match replayer.sleep(ms) {
                Ok(()) => Ok(()),
                Err(d) => Err(self.diverged(d)),
            },
        }
    }

    /// Validate, then send (or serve a shared read from the run cache, or
    /// the recorded answer on replay). The outer `Err` is a replay divergence.
    pub async fn send(
        &mut self,
        req: ApiRequest,
    ) -> Result<Result<ApiResponse, ApiError>, transcript::Divergence> {
        let result = match &mut self.source {
            Source::Replay { replayer, .. } => match replayer.send(&req) {
                Ok(r) => r,
                Err(d) => return Err(self.diverged(d)),
            },
            Source::Live { session, .. } => {
                let session = session.clone();
                self.send_live(&session, &req).await
            }
        };
        self.stats.requests += 1;
        if let Ok(r) = &result {
            self.stats.bytes += r.body.len() as u64;
        }
        if let Source::Live {
            recorder: Some(rec),
            ..
        } = &mut self.source
        {
            rec.push(transcript::Event::Send {
                request: Box::new(transcript::RecordedRequest::from_api(&req)),
                result: Box::new(transcript::RecordedResult::from_api(&result)),
            });
        }
        Ok(result)
    }

    async fn send_live(
        &mut self,
        session: &Arc<Session>,
        req: &ApiRequest,
    ) -> Result<ApiResponse, ApiError> {
        if let Err(why) = self.grants.check(&req.service_type, req.method) {
            self.stats.denied += 1;
            tracing::debug!(check = %self.check_id, method = req.method.as_str(),
                service = %req.service_type, path = %req.path, "denied: {why}");
            return Err(ApiError::Denied(why));
        }
        let limits = &session.limits;
        if self.stats.requests >= limits.max_requests_per_check {
            return Err(ApiError::TooLarge(format!(
                "the check used up its budget of {} requests",
                limits.max_requests_per_check
            )));
        }
        if self.stats.bytes >= limits.max_bytes_per_check {
            return Err(ApiError::TooLarge(format!(
                "the check used up its traffic budget of {} bytes",
                limits.max_bytes_per_check
            )));
        }
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(ApiError::Timeout(
                "the check's deadline has passed".to_string(),
            ));
        }
        let timeout = remaining.min(limits.request_timeout);
        if req.shared && req.method == Method::Get {
            let cell = {
                let mut map = session
                    .shared
                    .lock()
                    .map_err(|_| ApiError::Transport("shared cache lock poisoned".to_string()))?;
                map.entry(req.clone()).or_default().clone()
            };
            let mut fetched = false;
            let check_id = self.check_id.clone();
            let r = cell
                .get_or_init(|| {
                    fetched = true;
                    async move { session.fetch(req, timeout, &check_id).await }
                })
                .await
                .clone();
            if !fetched && let Ok(mut s) = session.stats.lock() {
                s.shared_hits += 1;
            }
            r
        } else {
            session.fetch(req, timeout, &self.check_id).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants() {
        let g = Grants::from_capabilities(&[
            "openstack:compute:read".to_string(),
            "openstack:volumev3:write".to_string(),
        ])
        .unwrap();
        assert!(g.check("compute", Method::Get).is_ok());
        assert!(g.check("compute", Method::Head).is_ok());
        let e = g.check("compute", Method::Post).unwrap_err();
        assert!(e.contains("openstack:compute:write"), "{e}");
        assert!(g.check("volumev3", Method::Delete).is_ok());
        assert!(g.check("image", Method::Get).is_err());
        assert_eq!(
            g.to_capabilities(),
            vec!["openstack:compute:read", "openstack:volumev3:write"]
        );
        assert!(Grants::from_capabilities(&["compute:read".to_string()]).is_err());
        assert!(Grants::from_capabilities(&["openstack::read".to_string()]).is_err());
        assert!(Grants::from_capabilities(&["openstack:compute:admin".to_string()]).is_err());
    }

    #[test]
    fn authorization_only_at_the_host_root() {
        // the S3 probe signs at the host root, where no token is added
        assert!(header_allowed("Authorization", Anchor::HostRoot));
        assert!(header_allowed("authorization", Anchor::HostRoot));
        assert!(!header_allowed("authorization", Anchor::Endpoint));
        assert!(!header_allowed("AUTHORIZATION", Anchor::Endpoint));
        for h in [
            "x-auth-token",
            "X-Subject-Token",
            "host",
            "cookie",
            "proxy-authorization",
        ] {
            assert!(!header_allowed(h, Anchor::HostRoot), "{h}");
            assert!(!header_allowed(h, Anchor::Endpoint), "{h}");
        }
        assert!(header_allowed("x-amz-date", Anchor::HostRoot));
        assert!(header_allowed("openstack-api-version", Anchor::Endpoint));
    }

    #[test]
    fn paths() {
        assert!(validate_path("flavors/detail").is_ok());
        assert!(validate_path("v2/images").is_ok());
        for bad in ["../x", "a/../b", "http://evil/x", "x?y=1", "a b", "x#f"] {
            assert!(validate_path(bad).is_err(), "{bad}");
        }
    }
}

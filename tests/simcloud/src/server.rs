//! The HTTP server: binding, background serving, shutdown, request recording, the token store,
//! fault injection, and the top-level router that hands requests to Keystone, Nova, Glance,
//! Neutron, Cinder, Barbican, the S3 probe answer or a 404.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use tokio::sync::oneshot;

use crate::clouds::{Credential, clouds_yaml};
use crate::error::Error;
use crate::fixture::Fixture;
use crate::http::{self, error_response, not_found, text_response, with_header};
use crate::resources::Resources;
use crate::state::State as CloudState;
use crate::world::{
    KEY_MANAGER_TYPES, NETWORK_TYPES, VOLUME_TYPES, World, match_prefix, strip_version_segment,
};
use crate::{barbican, cinder, faults, glance, keystone, neutron, nova, s3};

/// Largest request body accepted (bigger ones get 413).
const MAX_BODY: usize = 1024 * 1024;

/// One request as simcloud received it, with the status it answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// HTTP method (`GET`, `POST`, ...).
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Raw query string without `?` (empty if none).
    pub query: String,
    /// All request headers in arrival order, lower-case names, including `x-auth-token`.
    pub headers: Vec<(String, String)>,
    /// Response status (0 while the request is still being handled).
    pub status: u16,
    /// The request body as received (empty for bodiless requests; filled in once read).
    pub body: Vec<u8>,
}

impl RecordedRequest {
    /// The first value of a header (name in lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// An issued Keystone token.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub user: String,
    /// Project name; `None` for an unscoped token.
    pub project: Option<String>,
    pub roles: Vec<String>,
    pub methods: Vec<String>,
    /// (id, name, restricted) of the application credential used.
    pub app_cred: Option<(String, String, bool)>,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub audit_id: String,
    /// How often the token was presented as `X-Auth-Token`.
    pub uses: u32,
}

/// State shared by all request handlers and the owning [`SimCloud`].
#[derive(Debug)]
pub(crate) struct Shared {
    pub world: World,
    pub fixture: Fixture,
    pub base_url: String,
    mounts: Vec<(String, Mount)>,
    tokens: Mutex<HashMap<String, Token>>,
    requests: Mutex<Vec<RecordedRequest>>,
    state: Mutex<CloudState>,
    /// Hits per `faults.errors` rule.
    pub(crate) fault_hits: Mutex<Vec<u32>>,
    /// Redirects answered per `faults.redirects` rule.
    pub(crate) redirect_hits: Mutex<Vec<u32>>,
}

/// What serves a path prefix.
#[derive(Debug, Clone, PartialEq)]
enum Mount {
    /// Nova's unversioned root (`/compute`), only for the exact path.
    NovaRoot,
    Nova,
    Glance,
    Neutron,
    Cinder,
    /// Cinder's version document (`/volume/v3`), only for the exact path.
    CinderVersion,
    /// Cinder's version list (`/volume`), only for the exact path.
    CinderRoot,
    Barbican,
    /// A catalog service simcloud only lists.
    Other(String),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A request as the API modules see it.
#[derive(Debug)]
pub(crate) struct Req {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Shared {
    fn new(fixture: Fixture, world: World, base_url: String) -> Shared {
        let mut mounts = vec![
            (world.compute_path.clone(), Mount::Nova),
            (world.image_path.clone(), Mount::Glance),
        ];
        if let Some(root) = strip_version_segment(&world.compute_path)
            && !root.is_empty()
        {
            mounts.push((root.to_owned(), Mount::NovaRoot));
        }
        for path in &world.network_paths {
            mounts.push((path.clone(), Mount::Neutron));
        }
        for path in &world.key_manager_paths {
            mounts.push((path.clone(), Mount::Barbican));
        }
        for path in &world.volume_paths {
            mounts.push((path.clone(), Mount::Cinder));
            // `/volume/v3/{project_id}` -> version document at `/volume/v3`, list at `/volume`.
            if let Some((versioned, last)) = path.trim_end_matches('/').rsplit_once('/')
                && last.contains('{')
                && let Some(root) = strip_version_segment(versioned)
            {
                mounts.push((versioned.to_owned(), Mount::CinderVersion));
                if !root.is_empty() {
                    mounts.push((root.to_owned(), Mount::CinderRoot));
                }
            }
            // `/volume/v3` (registered without the project id): version document at `/volume`.
            if !path.contains('{')
                && let Some(root) = strip_version_segment(path)
                && !root.is_empty()
            {
                mounts.push((root.to_owned(), Mount::CinderRoot));
            }
            // Cinder (since Yoga) also serves `/v3/...` without the project id, taking it from
            // the token: what a client that discovered `/v3/` from the root sends.
            let without: Vec<&str> = path.split('/').filter(|seg| !seg.contains('{')).collect();
            let without = without.join("/");
            if without != *path && !world.volume_paths.contains(&without) {
                mounts.push((without, Mount::Cinder));
            }
        }
        let served: Vec<&str> = ["identity", "compute", "image"]
            .iter()
            .chain(NETWORK_TYPES)
            .chain(VOLUME_TYPES)
            .chain(KEY_MANAGER_TYPES)
            .copied()
            .collect();
        for service in &world.services {
            if let Some(path) = &service.path
                && !served.contains(&service.service_type.as_str())
            {
                mounts.push((path.clone(), Mount::Other(service.service_type.clone())));
            }
        }
        // Longest template first, so the most specific mount wins.
        mounts.sort_by_key(|m| std::cmp::Reverse(m.0.len()));
        let state = CloudState::new(&world);
        let rules = world.fault_rules.len();
        let fixture_redirects = fixture.faults.redirects.len();
        Shared {
            world,
            fixture,
            base_url,
            mounts,
            tokens: Mutex::new(HashMap::new()),
            requests: Mutex::new(Vec::new()),
            state: Mutex::new(state),
            fault_hits: Mutex::new(vec![0; rules]),
            redirect_hits: Mutex::new(vec![0; fixture_redirects]),
        }
    }

    /// The mutable cloud, with every due status transition applied.
    pub fn state(&self) -> MutexGuard<'_, CloudState> {
        let mut state = lock(&self.state);
        state.tick(&self.fixture);
        state
    }

    /// Live API-created resources.
    fn resources(&self) -> Resources {
        self.state().resources()
    }

    pub fn auth_url(&self) -> String {
        format!("{}/identity/v3", self.base_url)
    }

    pub fn issue(&self, token: Token) -> String {
        let id = format!(
            "gAAAAA{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        lock(&self.tokens).insert(id.clone(), token);
        id
    }

    /// A valid token: known, unexpired and not used up (`faults.expire_tokens_after_requests`).
    pub fn lookup(&self, id: &str) -> Option<Token> {
        let token = lock(&self.tokens).get(id).cloned()?;
        self.usable(&token).then_some(token)
    }

    fn usable(&self, token: &Token) -> bool {
        token.expires_at > Utc::now()
            && self
                .fixture
                .faults
                .expire_tokens_after_requests
                .is_none_or(|max| token.uses < max)
    }

    /// Present a token as `X-Auth-Token`: valid tokens count one use.
    pub fn use_token(&self, id: &str) -> Option<Token> {
        let mut tokens = lock(&self.tokens);
        let token = tokens.get_mut(id)?;
        if !self.usable(token) {
            return None;
        }
        token.uses = token.uses.saturating_add(1);
        Some(token.clone())
    }

    /// The project-scoped token of `X-Auth-Token`, if valid.
    pub fn authenticate(&self, headers: &HeaderMap) -> Option<Token> {
        let id = http::header_str(headers, "x-auth-token")?;
        self.use_token(id).filter(|t| t.project.is_some())
    }

    /// keystonemiddleware's 401.
    pub fn unauthorized(&self) -> Response {
        with_header(
            error_response(
                StatusCode::UNAUTHORIZED,
                "The request you have made requires authentication.",
            ),
            "www-authenticate",
            &format!("Keystone uri=\"{}\"", self.auth_url()),
        )
    }

    fn record_start(&self, request: RecordedRequest) -> usize {
        let mut requests = lock(&self.requests);
        requests.push(request);
        requests.len() - 1
    }

    fn record_status(&self, slot: usize, status: u16) {
        if let Some(r) = lock(&self.requests).get_mut(slot) {
            r.status = status;
        }
    }

    fn record_body(&self, slot: usize, body: &[u8]) {
        if let Some(r) = lock(&self.requests).get_mut(slot) {
            r.body = body.to_vec();
        }
    }

    fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.requests).clone()
    }

    fn route(&self, req: &Req) -> Response {
        let path = req.path.as_str();
        if path == "/_sim/health" {
            return match req.method.as_str() {
                "GET" => text_response(StatusCode::OK, "ok".to_owned()),
                _ => http::method_not_allowed(&req.method, path),
            };
        }
        if path == "/" && s3::is_s3_signed(req) {
            return s3::handle(self.fixture.object_store.s3_error, req);
        }
        if let Some(rest) = match_prefix("/identity", path) {
            return keystone::handle(self, req, rest);
        }
        for (template, mount) in &self.mounts {
            let Some(rest) = match_prefix(template, path) else {
                continue;
            };
            let exact = rest.is_empty() || rest == "/";
            return match mount {
                Mount::NovaRoot if exact => nova::versions(self, req),
                Mount::CinderRoot if exact => cinder::versions(self, req, template, false),
                Mount::CinderVersion if exact => cinder::versions(self, req, template, true),
                Mount::NovaRoot | Mount::CinderRoot | Mount::CinderVersion => continue,
                Mount::Nova => nova::handle(self, req, rest),
                Mount::Glance => glance::handle(self, req, rest),
                Mount::Neutron => neutron::handle(self, req, rest),
                Mount::Cinder => cinder::handle(self, req, template, rest),
                Mount::Barbican => barbican::handle(self, req, rest),
                Mount::Other(_) => match self.authenticate(&req.headers) {
                    Some(_) => not_found(&req.method, path),
                    None => self.unauthorized(),
                },
            };
        }
        not_found(&req.method, path)
    }
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let raw_query = parts.uri.query().unwrap_or("").to_owned();
    let recorded = RecordedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: raw_query.clone(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        status: 0,
        body: Vec::new(),
    };
    let path = parts.uri.path().to_owned();
    let slot = shared.record_start(recorded);
    let response = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(body) => {
            shared.record_body(slot, &body);
            let req = Req {
                method: parts.method.as_str().to_owned(),
                path: path.clone(),
                query: http::parse_query(&raw_query),
                headers: parts.headers,
                body,
            };
            match faults::injected_redirect(&shared, &req.path, &raw_query)
                .or_else(|| faults::injected_error(&shared, &req.method, &req.path))
            {
                Some(resp) => resp,
                None => shared.route(&req),
            }
        }
        Err(_) => error_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large or unreadable",
        ),
    };
    let response = with_header(
        response,
        "x-openstack-request-id",
        &format!("req-{}", uuid::Uuid::new_v4()),
    );
    let response = faults::shape_response(&shared, &path, response).await;
    shared.record_status(slot, response.status().as_u16());
    response
}

/// A running simulated cloud, served by a task on the current tokio runtime.
/// Dropping it (or [`SimCloud::shutdown`]) stops the server.
#[derive(Debug)]
pub struct SimCloud {
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
}

impl SimCloud {
    /// Bind 127.0.0.1 on an ephemeral port, serve on a background task and return.
    pub async fn start(fixture: Fixture) -> Result<SimCloud, Error> {
        SimCloud::start_on(fixture, 0).await
    }

    /// Like [`SimCloud::start`] on a given port (0 = ephemeral).
    pub async fn start_on(fixture: Fixture, port: u16) -> Result<SimCloud, Error> {
        // Validate before binding, so a bad fixture never occupies a port.
        let world = World::build(&fixture)?;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { port, source })?;
        let bound = listener
            .local_addr()
            .map_err(|source| Error::Bind { port, source })?;
        let base_url = format!("http://127.0.0.1:{}", bound.port());
        let shared = Arc::new(Shared::new(fixture, world, base_url));
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
        });
        Ok(SimCloud {
            shared,
            stop: Some(stop),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `http://127.0.0.1:PORT/identity/v3`.
    pub fn auth_url(&self) -> String {
        self.shared.auth_url()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// The fixture this cloud serves.
    pub fn fixture(&self) -> &Fixture {
        &self.shared.fixture
    }

    /// What the APIs created and what still exists (servers, volumes, backups, networks,
    /// subnets, routers, security groups, keypairs, secrets), for cleanup assertions.
    /// Applies due status transitions first, without counting as a poll.
    pub fn resources(&self) -> Resources {
        self.shared.resources()
    }

    /// A clouds.yaml (openstacksdk format) for this cloud.
    pub fn clouds_yaml(&self, cloud_name: &str, credential: &Credential) -> Result<String, Error> {
        clouds_yaml(
            &self.shared.fixture,
            &self.shared.auth_url(),
            cloud_name,
            credential,
        )
    }

    /// Stop serving (the same as dropping it).
    pub fn shutdown(self) {}
}

impl Drop for SimCloud {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A simulated cloud running on its own runtime in a background thread, for sync tests.
/// Dropping it stops the server and joins the thread.
#[derive(Debug)]
pub struct BlockingSimCloud {
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

type Started = Result<(Arc<Shared>, oneshot::Sender<()>), Error>;

/// Start a [`BlockingSimCloud`]: its own current-thread runtime in a background thread.
pub fn spawn_blocking_server(fixture: Fixture) -> Result<BlockingSimCloud, Error> {
    let (started_tx, started_rx) = std::sync::mpsc::channel::<Started>();
    let thread = std::thread::Builder::new()
        .name("simcloud".to_owned())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = started_tx.send(Err(Error::Runtime(e.to_string())));
                    return;
                }
            };
            runtime.block_on(async move {
                match SimCloud::start(fixture).await {
                    Ok(cloud) => {
                        let (stop_tx, stop_rx) = oneshot::channel::<()>();
                        let _ = started_tx.send(Ok((Arc::clone(&cloud.shared), stop_tx)));
                        let _ = stop_rx.await;
                        cloud.shutdown();
                    }
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                    }
                }
            });
        })
        .map_err(|e| Error::Runtime(e.to_string()))?;
    let started = started_rx
        .recv()
        .map_err(|_| Error::Runtime("server thread exited before starting".to_owned()));
    match started {
        Ok(Ok((shared, stop))) => Ok(BlockingSimCloud {
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }),
        Ok(Err(e)) | Err(e) => {
            let _ = thread.join();
            Err(e)
        }
    }
}

impl BlockingSimCloud {
    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// `http://127.0.0.1:PORT/identity/v3`.
    pub fn auth_url(&self) -> String {
        self.shared.auth_url()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// The fixture this cloud serves.
    pub fn fixture(&self) -> &Fixture {
        &self.shared.fixture
    }

    /// What the APIs created and what still exists (servers, volumes, backups, networks,
    /// subnets, routers, security groups, keypairs, secrets), for cleanup assertions.
    /// Applies due status transitions first, without counting as a poll.
    pub fn resources(&self) -> Resources {
        self.shared.resources()
    }

    /// A clouds.yaml (openstacksdk format) for this cloud.
    pub fn clouds_yaml(&self, cloud_name: &str, credential: &Credential) -> Result<String, Error> {
        clouds_yaml(
            &self.shared.fixture,
            &self.shared.auth_url(),
            cloud_name,
            credential,
        )
    }

    /// Stop serving and join the thread (the same as dropping it).
    pub fn shutdown(self) {}
}

impl Drop for BlockingSimCloud {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

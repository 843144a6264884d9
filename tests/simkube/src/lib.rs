//! A simulated Kubernetes API server for the fast KaaS tests: real HTTPS on 127.0.0.1 (rustls,
//! with the certificate and key the test made), serving `/version`, `/api/v1/nodes[/{name}]`,
//! `/api/v1/namespaces[/{name}]` and discovery (`/api`, `/api/v1`, `/apis`) from a YAML
//! fixture (README.md). Every request must carry a bearer token the fixture lists or a client
//! certificate signed by the client CA given at start; anything else is 401, as the API server
//! answers. The server counts requests and the credential each came with, for the tests.
//!
//! Must never: accept a request without a credential, or be used outside tests.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum SimkubeError {
    /// The fixture.
    #[error("{path}: {message}")]
    Fixture {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// TLS material.
    #[error("TLS: {0}")]
    Tls(String),
    /// Sockets.
    #[error("cannot listen: {0}")]
    Io(#[from] std::io::Error),
}

/// One node of the fixture.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Node {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.labels`.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A fixture: what the cluster is.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Fixture {
    /// `GET /version` `gitVersion` (`v1.33.4`); major and minor are derived from it.
    pub git_version: String,
    /// Bearer tokens accepted.
    #[serde(default)]
    pub tokens: Vec<String>,
    /// The nodes.
    #[serde(default)]
    pub nodes: Vec<Node>,
    /// The namespaces [default: default, kube-system].
    #[serde(default = "default_namespaces")]
    pub namespaces: Vec<String>,
    /// A token rotation (tests only, not in fixture files).
    #[serde(skip)]
    pub rotation: Option<Rotation>,
}

/// A bound service-account token rotated as the kubelet does it: after `after` requests the
/// server accepts only `token`, which is written to `file` at that moment.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// Requests answered before the rotation.
    pub after: usize,
    /// The only token accepted afterwards.
    pub token: String,
    /// The token file rewritten with it.
    pub file: std::path::PathBuf,
}

fn default_namespaces() -> Vec<String> {
    vec!["default".into(), "kube-system".into()]
}

impl Fixture {
    /// Read a fixture file.
    pub fn load(path: &std::path::Path) -> Result<Fixture, SimkubeError> {
        let err = |message: String| SimkubeError::Fixture {
            path: path.display().to_string(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        yaml_serde::from_str(&text).map_err(|e| err(e.to_string()))
    }
}

/// The TLS material of a server (PEM): its certificate chain and key, and the CA whose client
/// certificates it accepts (none: bearer tokens only).
#[derive(Debug, Clone)]
pub struct Tls {
    /// Server certificate chain (PEM).
    pub cert_pem: Vec<u8>,
    /// Server key (PEM).
    pub key_pem: Vec<u8>,
    /// CA of accepted client certificates (PEM).
    pub client_ca_pem: Option<Vec<u8>>,
}

/// How a request authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer` with a listed token.
    Token(String),
    /// A client certificate the client CA signed.
    ClientCert,
    /// Nothing usable (answered 401).
    None,
}

/// One request seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// Method.
    pub method: String,
    /// Path and query.
    pub path: String,
    /// How it authenticated.
    pub credential: Credential,
    /// The TLS SNI name the client sent (none for an IP address).
    pub sni: Option<String>,
    /// The `Host` header.
    pub host: Option<String>,
}

struct Shared {
    fixture: Fixture,
    seen: Mutex<Vec<Seen>>,
    /// The tokens accepted now (the fixture's, until a rotation).
    tokens: Mutex<Vec<String>>,
}

/// A running server.
#[derive(Clone)]
pub struct SimKube {
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// Its address.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SimKube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimKube").field("url", &self.url).finish()
    }
}

impl SimKube {
    /// Every request so far, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared
            .seen
            .lock()
            .map(|s| s.clone())
            .unwrap_or_default()
    }
}

#[derive(Clone, Debug)]
struct Peer {
    client_cert: bool,
    sni: Option<String>,
}

fn tls_config(tls: &Tls) -> Result<rustls::ServerConfig, SimkubeError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let e = |m: String| SimkubeError::Tls(m);
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&tls.cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|x| e(format!("server certificate: {x}")))?;
    let key =
        PrivateKeyDer::from_pem_slice(&tls.key_pem).map_err(|x| e(format!("server key: {x}")))?;
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|x| e(x.to_string()))?;
    let builder = match &tls.client_ca_pem {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_slice_iter(ca) {
                roots
                    .add(c.map_err(|x| e(format!("client CA: {x}")))?)
                    .map_err(|x| e(format!("client CA: {x}")))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .map_err(|x| e(format!("client verifier: {x}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    builder
        .with_single_cert(certs, key)
        .map_err(|x| e(format!("certificate and key: {x}")))
}

/// Start the server on 127.0.0.1 (a free port) on the current tokio runtime.
pub async fn start(fixture: Fixture, tls: &Tls) -> Result<SimKube, SimkubeError> {
    let config = Arc::new(tls_config(tls)?);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let shared = Arc::new(Shared {
        tokens: Mutex::new(fixture.tokens.clone()),
        fixture,
        seen: Mutex::new(Vec::new()),
    });
    let acceptor = tokio_rustls::TlsAcceptor::from(config);
    let app = router(shared.clone());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let app = app.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(tcp).await else {
                    return;
                };
                let peer = Peer {
                    client_cert: stream
                        .get_ref()
                        .1
                        .peer_certificates()
                        .is_some_and(|c| !c.is_empty()),
                    sni: stream.get_ref().1.server_name().map(str::to_string),
                };
                let app = app.layer(axum::Extension(peer));
                let service = hyper_util::service::TowerToHyperService::new(app);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(SimKube {
        url: format!("https://{addr}"),
        addr,
        shared,
    })
}

/// A server on a runtime thread of its own, for blocking tests.
#[derive(Debug)]
pub struct BlockingSimKube {
    /// The server.
    pub server: SimKube,
    _runtime: tokio::runtime::Runtime,
}

/// [`start`] on a runtime of its own.
pub fn start_blocking(fixture: Fixture, tls: &Tls) -> Result<BlockingSimKube, SimkubeError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let server = rt.block_on(start(fixture, tls))?;
    Ok(BlockingSimKube {
        server,
        _runtime: rt,
    })
}

fn router(shared: Arc<Shared>) -> Router {
    use axum::routing::get;
    Router::new()
        .route("/version", get(version))
        .route("/api", get(api_versions))
        .route("/api/v1", get(api_v1))
        .route("/apis", get(api_groups))
        .route("/api/v1/nodes", get(nodes))
        .route("/api/v1/nodes/{name}", get(node))
        .route("/api/v1/namespaces", get(namespaces))
        .route("/api/v1/namespaces/{name}", get(namespace))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            authenticate,
        ))
        .with_state(shared)
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response {
    (
        code,
        axum::Json(serde_json::json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code.as_u16(),
        })),
    )
        .into_response()
}

async fn authenticate(
    State(s): State<Arc<Shared>>,
    axum::Extension(peer): axum::Extension<Peer>,
    headers: HeaderMap,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    if let Some(r) = &s.fixture.rotation
        && s.seen.lock().map(|v| v.len()).unwrap_or(0) == r.after
        && let Ok(mut tokens) = s.tokens.lock()
        && *tokens != [r.token.clone()]
    {
        *tokens = vec![r.token.clone()];
        let _ = std::fs::write(&r.file, format!("{}\n", r.token));
    }
    let accepted = s.tokens.lock().map(|t| t.clone()).unwrap_or_default();
    let credential = match bearer {
        Some(t) if accepted.contains(&t) => Credential::Token(t),
        _ if peer.client_cert => Credential::ClientCert,
        _ => Credential::None,
    };
    if let Ok(mut seen) = s.seen.lock() {
        seen.push(Seen {
            method: req.method().to_string(),
            path: req
                .uri()
                .path_and_query()
                .map(|p| p.to_string())
                .unwrap_or_default(),
            credential: credential.clone(),
            sni: peer.sni.clone(),
            host: headers
                .get("host")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        });
    }
    if credential == Credential::None {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    next.run(req).await
}

async fn not_found(uri: axum::http::Uri) -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        &format!(
            "the server could not find the requested resource ({})",
            uri.path()
        ),
    )
}

async fn version(State(s): State<Arc<Shared>>) -> Response {
    let v = s.fixture.git_version.trim_start_matches('v');
    let mut parts = v.split('.');
    let major = parts.next().unwrap_or("1").to_string();
    let minor = parts.next().unwrap_or("0").to_string();
    axum::Json(serde_json::json!({
        "major": major, "minor": minor, "gitVersion": s.fixture.git_version,
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc",
        "platform": "linux/amd64",
    }))
    .into_response()
}

async fn api_versions() -> Response {
    axum::Json(serde_json::json!({
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    }))
    .into_response()
}

async fn api_v1() -> Response {
    let res = |name: &str, kind: &str, namespaced: bool| {
        serde_json::json!({"name": name, "singularName": "", "namespaced": namespaced,
            "kind": kind, "verbs": ["get", "list", "watch"]})
    };
    axum::Json(serde_json::json!({
        "kind": "APIResourceList", "groupVersion": "v1",
        "resources": [res("namespaces", "Namespace", false), res("nodes", "Node", false)],
    }))
    .into_response()
}

async fn api_groups() -> Response {
    let group = |name: &str| {
        serde_json::json!({"name": name,
            "versions": [{"groupVersion": format!("{name}/v1"), "version": "v1"}],
            "preferredVersion": {"groupVersion": format!("{name}/v1"), "version": "v1"}})
    };
    axum::Json(serde_json::json!({
        "kind": "APIGroupList", "apiVersion": "v1",
        "groups": [group("apps"), group("networking.k8s.io")],
    }))
    .into_response()
}

fn node_json(n: &Node, version: &str) -> serde_json::Value {
    serde_json::json!({
        "metadata": {"name": n.name, "labels": n.labels, "resourceVersion": "1"},
        "status": {"nodeInfo": {"kubeletVersion": version}},
    })
}

async fn nodes(State(s): State<Arc<Shared>>) -> Response {
    let items: Vec<_> = s
        .fixture
        .nodes
        .iter()
        .map(|n| node_json(n, &s.fixture.git_version))
        .collect();
    axum::Json(serde_json::json!({
        "kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
        "items": items,
    }))
    .into_response()
}

async fn node(State(s): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    match s.fixture.nodes.iter().find(|n| n.name == name) {
        Some(n) => {
            let mut v = node_json(n, &s.fixture.git_version);
            v["kind"] = "Node".into();
            v["apiVersion"] = "v1".into();
            axum::Json(v).into_response()
        }
        None => status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("nodes \"{name}\" not found"),
        ),
    }
}

fn namespace_json(name: &str) -> serde_json::Value {
    serde_json::json!({"metadata": {"name": name}, "status": {"phase": "Active"}})
}

async fn namespaces(State(s): State<Arc<Shared>>) -> Response {
    let items: Vec<_> = s
        .fixture
        .namespaces
        .iter()
        .map(|n| namespace_json(n))
        .collect();
    axum::Json(serde_json::json!({
        "kind": "NamespaceList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"},
        "items": items,
    }))
    .into_response()
}

async fn namespace(State(s): State<Arc<Shared>>, Path(name): Path<String>) -> Response {
    if s.fixture.namespaces.contains(&name) {
        let mut v = namespace_json(&name);
        v["kind"] = "Namespace".into();
        v["apiVersion"] = "v1".into();
        axum::Json(v).into_response()
    } else {
        status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("namespaces \"{name}\" not found"),
        )
    }
}

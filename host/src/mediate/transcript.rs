//! Transcripts: the record of every mediated interaction, and its replay.
//!
//! Owns: the transcript format (a directory with `manifest.json` and one
//! zstd-compressed JSON-lines file per component), recording each
//! component's calls in order (requests as the check made them, responses as
//! the check received them, clock reads and sleeps), the transcript digest
//! (sha256 of `manifest.json`, which lists every file's sha256), and serving
//! a transcript back in the same order per component.
//!
//! Must never: contain a token, password or secret (recording happens at the
//! check's side of the mediation point: before the host adds credentials and
//! after it has dropped secret-bearing response headers); fall back to a live
//! cloud or skip a call when a replayed request differs from the recorded one.

use super::{Anchor, ApiError, ApiRequest, ApiResponse};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Transcript format version written by this host for a run with a Kubernetes cluster
/// (`kube_send` events, the manifest's `cluster`); others are refused.
pub(crate) const FORMAT_VERSION: u32 = 2;
/// The version written for a run without a cluster (nothing of version 2 in it), so that
/// hosts that read only version 1 still replay it; read as well.
pub(crate) const FORMAT_VERSION_1: u32 = 1;
/// `format` field value.
pub(crate) const FORMAT_NAME: &str = "scs-cert-transcript";
/// zstd level for component files.
const ZSTD_LEVEL: i32 = 9;
/// Largest decompressed component file accepted on replay (default 1 GiB).
pub(crate) const MAX_COMPONENT_BYTES: u64 = 1 << 30;
/// Largest decompressed size of all components of one transcript together: a transcript of
/// many components, each just under [`MAX_COMPONENT_BYTES`], is refused, not loaded.
pub(crate) const MAX_TRANSCRIPT_BYTES: u64 = 1 << 30;
/// Largest `manifest.json` read.
pub(crate) const MAX_MANIFEST_BYTES: u64 = 16 << 20;
/// Largest compressed component file read.
pub(crate) const MAX_COMPRESSED_BYTES: u64 = 256 << 20;

/// Read a transcript file: a regular file (not a device, FIFO or directory, also not behind a
/// symlink to one) of at most `limit` bytes.
fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, TranscriptError> {
    use crate::fsutil::ReadError;
    crate::fsutil::read_bounded(path, limit).map_err(|e| match e {
        ReadError::Io { source, .. } => io_err(path, source),
        ReadError::NotRegular { .. } => TranscriptError::Format {
            path: path.to_path_buf(),
            message: "not a regular file; a transcript holds plain files only".to_string(),
        },
        ReadError::TooLarge { len, limit, .. } => TranscriptError::Format {
            path: path.to_path_buf(),
            message: format!("{len} bytes, more than the {limit} a transcript file may have"),
        },
    })
}

/// Transcript errors; each names the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// I/O.
    #[error("{path}: {message}")]
    Io {
        /// File or directory.
        path: PathBuf,
        /// Cause.
        message: String,
    },
    /// Not a transcript, or a version we do not know.
    #[error("{path}: {message}")]
    Format {
        /// File.
        path: PathBuf,
        /// What is wrong and the fix.
        message: String,
    },
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> TranscriptError {
    TranscriptError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// A body: UTF-8 text as is, anything else in base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Body {
    /// UTF-8 text.
    Text(String),
    /// Binary, base64.
    Base64(String),
}

impl Body {
    /// Encode bytes.
    pub(crate) fn from_bytes(b: &[u8]) -> Body {
        match std::str::from_utf8(b) {
            Ok(s) => Body::Text(s.to_string()),
            Err(_) => Body::Base64(base64::engine::general_purpose::STANDARD.encode(b)),
        }
    }
    /// Decode to bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            Body::Text(s) => s.as_bytes().to_vec(),
            Body::Base64(s) => base64::engine::general_purpose::STANDARD
                .decode(s)
                .unwrap_or_default(),
        }
    }
}

/// A request as the check made it (no credentials exist at this point).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedRequest {
    /// Service type.
    pub service_type: String,
    /// Method (upper case).
    pub method: String,
    /// Path.
    pub path: String,
    /// Query pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<(String, String)>,
    /// Headers the check set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// Body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
    /// `endpoint` or `host-root`.
    pub anchor: String,
    /// Shared read requested.
    #[serde(default)]
    pub shared: bool,
}

impl RecordedRequest {
    /// From a mediated request.
    pub(crate) fn from_api(r: &ApiRequest) -> RecordedRequest {
        RecordedRequest {
            service_type: r.service_type.clone(),
            method: r.method.as_str().to_string(),
            path: r.path.clone(),
            query: r.query.clone(),
            headers: r.headers.clone(),
            body: r.body.as_deref().map(Body::from_bytes),
            anchor: match r.anchor {
                Anchor::Endpoint => "endpoint",
                Anchor::HostRoot => "host-root",
            }
            .to_string(),
            shared: r.shared,
        }
    }

    /// One line for messages: `GET compute flavors/detail?limit=1 (shared)`.
    pub(crate) fn describe(&self) -> String {
        let mut s = format!("{} {} {}", self.method, self.service_type, self.path);
        if !self.query.is_empty() {
            let q: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push('?');
            s.push_str(&q.join("&"));
        }
        if self.anchor != "endpoint" {
            s.push_str(&format!(" [{}]", self.anchor));
        }
        if self.shared {
            s.push_str(" (shared)");
        }
        if !self.headers.is_empty() {
            let h: Vec<String> = self
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            s.push_str(&format!(" headers {{{}}}", h.join(", ")));
        }
        if let Some(b) = &self.body {
            let bytes = b.to_bytes();
            s.push_str(&format!(
                " body sha256:{}",
                &hex::encode(Sha256::digest(&bytes))[..16]
            ));
        }
        s
    }
}

/// What a send produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordedResult {
    /// A response.
    Response {
        /// Status.
        status: u16,
        /// Headers as the check saw them.
        headers: Vec<(String, String)>,
        /// Body.
        body: Body,
    },
    /// An error value.
    Error {
        /// `denied`, `no-endpoint`, `timeout`, `too-large`, `transport`.
        kind: String,
        /// Message.
        message: String,
    },
}

impl RecordedResult {
    /// From a mediated result.
    pub(crate) fn from_api(r: &Result<ApiResponse, ApiError>) -> RecordedResult {
        match r {
            Ok(resp) => RecordedResult::Response {
                status: resp.status,
                headers: resp.headers.clone(),
                body: Body::from_bytes(&resp.body),
            },
            Err(e) => {
                let (kind, message) = match e {
                    ApiError::Denied(m) => ("denied", m),
                    ApiError::NoEndpoint(m) => ("no-endpoint", m),
                    ApiError::Timeout(m) => ("timeout", m),
                    ApiError::TooLarge(m) => ("too-large", m),
                    ApiError::Transport(m) => ("transport", m),
                };
                RecordedResult::Error {
                    kind: kind.to_string(),
                    message: message.clone(),
                }
            }
        }
    }

    /// Back to a mediated result.
    pub(crate) fn to_api(&self) -> Result<ApiResponse, ApiError> {
        match self {
            RecordedResult::Response {
                status,
                headers,
                body,
            } => Ok(ApiResponse {
                status: *status,
                headers: headers.clone(),
                body: body.to_bytes(),
            }),
            RecordedResult::Error { kind, message } => Err(match kind.as_str() {
                "denied" => ApiError::Denied(message.clone()),
                "no-endpoint" => ApiError::NoEndpoint(message.clone()),
                "timeout" => ApiError::Timeout(message.clone()),
                "too-large" => ApiError::TooLarge(message.clone()),
                _ => ApiError::Transport(message.clone()),
            }),
        }
    }
}

/// A `kubernetes` request as the check made it (no credentials exist at this point).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedKubeRequest {
    /// Method (upper case).
    pub method: String,
    /// Absolute path.
    pub path: String,
    /// Query pairs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub query: Vec<(String, String)>,
    /// Headers the check set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// Body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Body>,
}

impl RecordedKubeRequest {
    /// From a mediated request.
    pub(crate) fn from_kube(r: &super::kube::KubeRequest) -> RecordedKubeRequest {
        RecordedKubeRequest {
            method: r.method.as_str().to_string(),
            path: r.path.clone(),
            query: r.query.clone(),
            headers: r.headers.clone(),
            body: r.body.as_deref().map(Body::from_bytes),
        }
    }

    /// One line for messages: `kubernetes GET /api/v1/nodes?limit=5`.
    pub(crate) fn describe(&self) -> String {
        let mut s = format!("kubernetes {} {}", self.method, self.path);
        if !self.query.is_empty() {
            let q: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            s.push('?');
            s.push_str(&q.join("&"));
        }
        if !self.headers.is_empty() {
            let h: Vec<String> = self
                .headers
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            s.push_str(&format!(" headers {{{}}}", h.join(", ")));
        }
        if let Some(b) = &self.body {
            s.push_str(&format!(
                " body sha256:{}",
                &hex::encode(Sha256::digest(b.to_bytes()))[..16]
            ));
        }
        s
    }
}

impl RecordedResult {
    /// From a mediated `kubernetes` result.
    pub(crate) fn from_kube(r: &Result<ApiResponse, super::kube::KubeApiError>) -> RecordedResult {
        match r {
            Ok(resp) => RecordedResult::Response {
                status: resp.status,
                headers: resp.headers.clone(),
                body: Body::from_bytes(&resp.body),
            },
            Err(e) => RecordedResult::Error {
                kind: e.kind().to_string(),
                message: e.message().to_string(),
            },
        }
    }

    /// Back to a mediated `kubernetes` result.
    pub(crate) fn to_kube(&self) -> Result<ApiResponse, super::kube::KubeApiError> {
        match self {
            RecordedResult::Response {
                status,
                headers,
                body,
            } => Ok(ApiResponse {
                status: *status,
                headers: headers.clone(),
                body: body.to_bytes(),
            }),
            RecordedResult::Error { kind, message } => {
                Err(super::kube::KubeApiError::from_kind(kind, message.clone()))
            }
        }
    }
}

/// The cluster as the run saw it: server and context (no credential).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedCluster {
    /// API server URL.
    pub server: String,
    /// kubeconfig context.
    pub context: String,
}

/// One interaction of a component with the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// `openstack.send`.
    Send {
        /// Request.
        request: Box<RecordedRequest>,
        /// Result.
        result: Box<RecordedResult>,
    },
    /// `clock.now`.
    Now {
        /// Value returned.
        ms: u64,
    },
    /// `clock.sleep`.
    Sleep {
        /// Requested duration.
        ms: u64,
    },
    /// `kubernetes.send` (format version 2).
    KubeSend {
        /// Request.
        request: Box<RecordedKubeRequest>,
        /// Result.
        result: Box<RecordedResult>,
    },
    /// `openstack.resolved-endpoint` (format version 2): the base the check was told.
    Resolved {
        /// The service type asked for.
        service_type: String,
        /// The base, or the error as `send` records errors.
        result: Box<RecordedResolved>,
    },
    /// `conformance.run` (format version 2): the results the check received, so that a
    /// replay needs neither Sonobuoy nor the archive.
    Conformance {
        /// The suite (`cncf-k8s-conformance`, `kaas-networking-check`).
        suite: String,
        /// What the check received.
        result: Box<RecordedConformance>,
    },
}

/// What an `openstack.resolved-endpoint` call gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordedResolved {
    /// The resolved base URL.
    Base {
        /// It.
        url: String,
    },
    /// An error, recorded as a `send` error is.
    Failed(RecordedResult),
}

impl RecordedResolved {
    /// From the mediated answer.
    pub(crate) fn from_api(r: &Result<String, ApiError>) -> RecordedResolved {
        match r {
            Ok(url) => RecordedResolved::Base { url: url.clone() },
            Err(e) => RecordedResolved::Failed(RecordedResult::from_api(&Err(e.clone()))),
        }
    }

    /// Back to the mediated answer.
    pub(crate) fn to_api(&self) -> Result<String, ApiError> {
        match self {
            RecordedResolved::Base { url } => Ok(url.clone()),
            RecordedResolved::Failed(r) => match r.to_api() {
                Err(e) => Err(e),
                Ok(_) => Err(ApiError::Transport(
                    "the transcript records a response where an error was expected".to_string(),
                )),
            },
        }
    }
}

/// What a `conformance.run` produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordedConformance {
    /// Results.
    Results {
        /// sha256 of the archive (or of the results file of a run).
        sha256: String,
        /// `ran` or `archive`.
        origin: String,
        /// The archive or results directory.
        source: String,
        /// `plugins/e2e/sonobuoy_results.yaml`.
        results_yaml: Body,
    },
    /// An error value.
    Error {
        /// `denied`, `tool-missing`, `failed`, `timeout`, `too-large`.
        kind: String,
        /// Message.
        message: String,
    },
}

impl RecordedConformance {
    /// From what the host gave the check.
    pub(crate) fn from_result(
        r: &Result<crate::sonobuoy::Results, crate::sonobuoy::ConformanceError>,
    ) -> RecordedConformance {
        match r {
            Ok(res) => RecordedConformance::Results {
                sha256: res.sha256.clone(),
                origin: res.origin.as_str().to_string(),
                source: res.source.clone(),
                results_yaml: Body::from_bytes(&res.results_yaml),
            },
            Err(e) => RecordedConformance::Error {
                kind: e.kind().to_string(),
                message: e.message().to_string(),
            },
        }
    }

    /// Back to what the check gets.
    pub(crate) fn to_result(
        &self,
    ) -> Result<crate::sonobuoy::Results, crate::sonobuoy::ConformanceError> {
        use crate::sonobuoy::{ConformanceError, Origin, Results};
        match self {
            RecordedConformance::Results {
                sha256,
                origin,
                source,
                results_yaml,
            } => Ok(Results {
                sha256: sha256.clone(),
                origin: if origin == "archive" {
                    Origin::Archive
                } else {
                    Origin::Ran
                },
                source: source.clone(),
                results_yaml: results_yaml.to_bytes(),
            }),
            RecordedConformance::Error { kind, message } => {
                Err(ConformanceError::from_kind(kind, message.clone()))
            }
        }
    }
}

impl Event {
    /// One line for messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Event::Send { request, .. } => request.describe(),
            Event::Now { .. } => "clock.now()".to_string(),
            Event::Sleep { ms } => format!("clock.sleep({ms})"),
            Event::KubeSend { request, .. } => request.describe(),
            Event::Conformance { suite, .. } => format!("conformance.run({suite})"),
            Event::Resolved { service_type, .. } => {
                format!("openstack.resolved-endpoint({service_type})")
            }
        }
    }
}

/// The cloud as the run saw it: who, which catalog (no token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct RecordedCloud {
    /// User name.
    pub user: String,
    /// User id.
    pub user_id: String,
    /// Project name.
    pub project: String,
    /// Project id.
    pub project_id: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Region.
    pub region: Option<String>,
    /// Interface.
    pub interface: String,
    /// Catalog: (type, name, [(interface, region, url)]).
    pub catalog: Vec<RecordedService>,
}

/// A catalog entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordedService {
    /// Type.
    #[serde(rename = "type")]
    pub service_type: String,
    /// Name.
    pub name: String,
    /// (interface, region, url).
    pub endpoints: Vec<(String, String, String)>,
}

/// One component's entry in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentEntry {
    /// Check id.
    pub id: String,
    /// sha256 of the component bytes that ran.
    pub component_sha256: String,
    /// File name in the transcript directory.
    pub file: String,
    /// sha256 of that file's bytes (compressed).
    pub file_sha256: String,
    /// Number of events.
    pub events: usize,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptManifest {
    /// Always `scs-cert-transcript`.
    pub format: String,
    /// Format version.
    pub version: u32,
    /// Host version that recorded.
    pub host_version: String,
    /// The cloud, or None when connecting failed.
    pub cloud: Option<RecordedCloud>,
    /// Why connecting or the preflight failed, if it did.
    pub connect_error: Option<String>,
    /// The Kubernetes cluster, when the run had one (format version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<RecordedCluster>,
    /// Components, sorted by id.
    pub components: Vec<ComponentEntry>,
}

/// A finished transcript, written to a directory.
#[derive(Debug, Clone)]
pub struct Written {
    /// sha256 of manifest.json.
    pub sha256: String,
    /// Total bytes on disk.
    pub bytes: u64,
    /// The format version written (1 without a cluster, 2 with one).
    pub version: u32,
}

fn component_file(id: &str) -> String {
    format!("{id}.jsonl.zst")
}

/// Write a transcript directory (created if missing; old component files are replaced).
pub fn write(
    dir: &Path,
    cloud: Option<RecordedCloud>,
    connect_error: Option<String>,
    components: &BTreeMap<String, (String, Vec<Event>)>,
) -> Result<Written, TranscriptError> {
    write_with_cluster(dir, cloud, connect_error, None, components)
}

/// [`write`] for a run that may have had a Kubernetes cluster: version 2 when it did (or any
/// component made a `kubernetes` call), version 1 otherwise.
pub fn write_with_cluster(
    dir: &Path,
    cloud: Option<RecordedCloud>,
    connect_error: Option<String>,
    cluster: Option<RecordedCluster>,
    components: &BTreeMap<String, (String, Vec<Event>)>,
) -> Result<Written, TranscriptError> {
    let kube_events = components.values().any(|(_, evs)| {
        evs.iter().any(|e| {
            matches!(
                e,
                Event::KubeSend { .. } | Event::Conformance { .. } | Event::Resolved { .. }
            )
        })
    });
    let version = if cluster.is_some() || kube_events {
        FORMAT_VERSION
    } else {
        FORMAT_VERSION_1
    };
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let mut entries = Vec::new();
    let mut total = 0u64;
    for (id, (component_sha256, events)) in components {
        let mut raw = Vec::new();
        for ev in events {
            serde_json::to_writer(&mut raw, ev).map_err(|e| io_err(dir, e))?;
            raw.push(b'\n');
        }
        let compressed = zstd::bulk::compress(&raw, ZSTD_LEVEL).map_err(|e| io_err(dir, e))?;
        let file = component_file(id);
        let path = dir.join(&file);
        crate::fsutil::write_atomic(&path, &compressed).map_err(|e| io_err(&path, e.source))?;
        total += compressed.len() as u64;
        entries.push(ComponentEntry {
            id: id.clone(),
            component_sha256: component_sha256.clone(),
            file,
            file_sha256: hex::encode(Sha256::digest(&compressed)),
            events: events.len(),
        });
    }
    let manifest = TranscriptManifest {
        format: FORMAT_NAME.to_string(),
        version,
        host_version: env!("CARGO_PKG_VERSION").to_string(),
        cloud,
        connect_error,
        cluster,
        components: entries,
    };
    let mut bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| io_err(dir, e))?;
    bytes.push(b'\n');
    let mpath = dir.join("manifest.json");
    crate::fsutil::write_atomic(&mpath, &bytes).map_err(|e| io_err(&mpath, e.source))?;
    total += bytes.len() as u64;
    Ok(Written {
        sha256: hex::encode(Sha256::digest(&bytes)),
        bytes: total,
        version,
    })
}

/// A transcript loaded for replay.
#[derive(Debug, Clone)]
pub struct LoadedTranscript {
    /// The manifest.
    pub manifest: TranscriptManifest,
    /// sha256 of manifest.json.
    pub sha256: String,
    /// Events per component id.
    pub events: BTreeMap<String, Vec<Event>>,
}

/// Read and check a transcript directory: known format version, every
/// component file present and matching its sha256 in the manifest.
pub fn load(dir: &Path) -> Result<LoadedTranscript, TranscriptError> {
    load_bounded(dir, &LoadBounds::default())
}

/// How much of a transcript is read before it is refused.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoadBounds {
    /// `manifest.json` bytes.
    pub(crate) manifest: u64,
    /// Compressed bytes of one component file.
    pub(crate) compressed: u64,
    /// Decompressed bytes of one component.
    pub(crate) component: u64,
    /// Decompressed bytes of all components.
    pub(crate) total: u64,
}

impl Default for LoadBounds {
    fn default() -> Self {
        LoadBounds {
            manifest: MAX_MANIFEST_BYTES,
            compressed: MAX_COMPRESSED_BYTES,
            component: MAX_COMPONENT_BYTES,
            total: MAX_TRANSCRIPT_BYTES,
        }
    }
}

/// [`load`] with explicit bounds.
pub(crate) fn load_bounded(
    dir: &Path,
    bounds: &LoadBounds,
) -> Result<LoadedTranscript, TranscriptError> {
    let mpath = dir.join("manifest.json");
    let bytes = read_bounded(&mpath, bounds.manifest)?;
    let head: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| TranscriptError::Format {
            path: mpath.clone(),
            message: format!("not JSON: {e}"),
        })?;
    if head.get("format").and_then(|v| v.as_str()) != Some(FORMAT_NAME) {
        return Err(TranscriptError::Format {
            path: mpath,
            message: format!("not a transcript (field `format` must be {FORMAT_NAME:?})"),
        });
    }
    let version = head.get("version").and_then(|v| v.as_u64()).unwrap_or(0);
    if version != u64::from(FORMAT_VERSION) && version != u64::from(FORMAT_VERSION_1) {
        return Err(TranscriptError::Format {
            path: mpath,
            message: format!(
                "transcript format version {version} is not supported by this host (it reads versions {FORMAT_VERSION_1} and {FORMAT_VERSION}); replay it with the scs-cert version that recorded it"
            ),
        });
    }
    let manifest: TranscriptManifest =
        serde_json::from_value(head).map_err(|e| TranscriptError::Format {
            path: mpath.clone(),
            message: format!("malformed manifest: {e}"),
        })?;
    let mut events = BTreeMap::new();
    let mut total = 0u64;
    for c in &manifest.components {
        if c.file.contains('/') || c.file.contains("..") {
            return Err(TranscriptError::Format {
                path: mpath.clone(),
                message: format!(
                    "component {}: file name {:?} must be a plain name",
                    c.id, c.file
                ),
            });
        }
        let p = dir.join(&c.file);
        let compressed = read_bounded(&p, bounds.compressed)?;
        let got = hex::encode(Sha256::digest(&compressed));
        if got != c.file_sha256 {
            return Err(TranscriptError::Format {
                path: p,
                message: format!(
                    "sha256 {got} does not match the manifest ({}); the transcript was altered",
                    c.file_sha256
                ),
            });
        }
        let mut raw = Vec::new();
        let mut dec =
            zstd::stream::read::Decoder::new(&compressed[..]).map_err(|e| io_err(&p, e))?;
        let room = bounds.component.min(bounds.total.saturating_sub(total));
        std::io::copy(&mut std::io::Read::take(&mut dec, room + 1), &mut raw)
            .map_err(|e| io_err(&p, e))?;
        if raw.len() as u64 > room {
            return Err(TranscriptError::Format {
                path: p,
                message: format!(
                    "decompresses to more than {room} bytes (at most {} per component, {} per \
                     transcript)",
                    bounds.component, bounds.total
                ),
            });
        }
        total += raw.len() as u64;
        // The manifest's event count is a claim, not a size to allocate for.
        let mut evs = Vec::new();
        for (i, line) in raw.lines().enumerate() {
            let line = line.map_err(|e| io_err(&p, e))?;
            if line.is_empty() {
                continue;
            }
            let ev: Event = serde_json::from_str(&line).map_err(|e| TranscriptError::Format {
                path: p.clone(),
                message: format!("event {}: {e}", i + 1),
            })?;
            evs.push(ev);
        }
        if evs.len() != c.events {
            return Err(TranscriptError::Format {
                path: p,
                message: format!(
                    "holds {} events, the manifest says {}; the transcript was altered",
                    evs.len(),
                    c.events
                ),
            });
        }
        events.insert(c.id.clone(), evs);
    }
    Ok(LoadedTranscript {
        manifest,
        sha256: hex::encode(Sha256::digest(&bytes)),
        events,
    })
}

/// Per-component recorder (append-only).
#[derive(Debug, Default, Clone)]
pub struct Recorder {
    events: Vec<Event>,
    /// The run's budget, shared by every check's recorder.
    budget: Option<Arc<RecordBudget>>,
}

/// What `--record` may hold in memory for one run (`MediationLimits::max_record_bytes`),
/// shared by the recorders of all checks.
#[derive(Debug)]
pub struct RecordBudget {
    limit: u64,
    used: std::sync::atomic::AtomicU64,
}

impl RecordBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: u64) -> Arc<RecordBudget> {
        Arc::new(RecordBudget {
            limit,
            used: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// Bytes held so far.
    pub fn used(&self) -> u64 {
        self.used.load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Event {
    /// About what the event holds in memory: its strings and bodies (what grows with a
    /// cloud's answers), plus a fixed 64 bytes.
    pub(crate) fn approx_bytes(&self) -> u64 {
        fn body(b: &Body) -> usize {
            match b {
                Body::Text(t) | Body::Base64(t) => t.len(),
            }
        }
        fn pairs(p: &[(String, String)]) -> usize {
            p.iter().map(|(k, v)| k.len() + v.len()).sum()
        }
        fn result(r: &RecordedResult) -> usize {
            match r {
                RecordedResult::Response {
                    headers, body: b, ..
                } => pairs(headers) + body(b),
                RecordedResult::Error { kind, message } => kind.len() + message.len(),
            }
        }
        let n = match self {
            Event::Send { request, result: r } => {
                request.path.len()
                    + pairs(&request.query)
                    + pairs(&request.headers)
                    + request.body.as_ref().map_or(0, body)
                    + result(r)
            }
            Event::KubeSend { request, result: r } => {
                request.path.len()
                    + pairs(&request.query)
                    + pairs(&request.headers)
                    + request.body.as_ref().map_or(0, body)
                    + result(r)
            }
            Event::Now { .. } | Event::Sleep { .. } => 0,
            Event::Resolved {
                service_type,
                result: r,
            } => {
                service_type.len()
                    + match r.as_ref() {
                        RecordedResolved::Base { url } => url.len(),
                        RecordedResolved::Failed(f) => result(f),
                    }
            }
            Event::Conformance { suite, result: r } => {
                suite.len()
                    + match r.as_ref() {
                        RecordedConformance::Results {
                            sha256,
                            origin,
                            source,
                            results_yaml,
                        } => sha256.len() + origin.len() + source.len() + body(results_yaml),
                        RecordedConformance::Error { kind, message } => kind.len() + message.len(),
                    }
            }
        };
        64 + n as u64
    }
}

impl Recorder {
    /// A recorder that counts what it holds against the run's `budget`.
    pub fn with_budget(budget: Arc<RecordBudget>) -> Recorder {
        Recorder {
            events: Vec::new(),
            budget: Some(budget),
        }
    }

    /// Append an event.
    pub fn push(&mut self, e: Event) {
        if let Some(b) = &self.budget {
            b.used
                .fetch_add(e.approx_bytes(), std::sync::atomic::Ordering::Relaxed);
        }
        self.events.push(e);
    }

    /// Why no further call may be made and recorded: the run's record budget is used up.
    pub fn refusal(&self) -> Option<String> {
        let b = self.budget.as_ref()?;
        (b.used() >= b.limit).then(|| {
            format!(
                "the run's --record budget of {} MiB is used up; raise --max-record-mib or record fewer checks",
                b.limit >> 20
            )
        })
    }
    /// Take them.
    pub(crate) fn into_events(self) -> Vec<Event> {
        self.events
    }
}

/// Per-component replay cursor.
#[derive(Debug, Clone)]
pub struct Replayer {
    check_id: String,
    events: Vec<Event>,
    next: usize,
}

/// A replay divergence: what the transcript says vs. what the check did.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "replay diverged in component {check_id} at call #{call}: the transcript has {recorded}, the check made {actual}"
)]
pub struct Divergence {
    /// Component.
    pub check_id: String,
    /// 1-based call number.
    pub call: usize,
    /// Recorded call.
    pub recorded: String,
    /// Actual call.
    pub actual: String,
}

impl Replayer {
    /// A cursor over one component's events.
    pub fn new(check_id: &str, events: Vec<Event>) -> Replayer {
        Replayer {
            check_id: check_id.to_string(),
            events,
            next: 0,
        }
    }

    /// What `pick` takes from the next recorded event (the cursor moves on), or the divergence
    /// naming the recorded and the actual call.
    fn take<T>(
        &mut self,
        actual: String,
        pick: impl FnOnce(&Event) -> Option<T>,
    ) -> Result<T, Divergence> {
        let call = self.next + 1;
        let recorded = match self.events.get(self.next) {
            Some(ev) => match pick(ev) {
                Some(v) => {
                    self.next += 1;
                    return Ok(v);
                }
                None => ev.describe(),
            },
            None => "no further call".to_string(),
        };
        Err(Divergence {
            check_id: self.check_id.clone(),
            call,
            recorded,
            actual,
        })
    }

    /// Serve a send.
    pub fn send(&mut self, req: &ApiRequest) -> Result<Result<ApiResponse, ApiError>, Divergence> {
        let want = RecordedRequest::from_api(req);
        self.take(want.describe(), |ev| match ev {
            Event::Send { request, result } if **request == want => Some(result.to_api()),
            _ => None,
        })
    }

    /// Serve a `kubernetes` send.
    pub fn kube_send(
        &mut self,
        req: &super::kube::KubeRequest,
    ) -> Result<Result<ApiResponse, super::kube::KubeApiError>, Divergence> {
        let want = RecordedKubeRequest::from_kube(req);
        self.take(want.describe(), |ev| match ev {
            Event::KubeSend { request, result } if **request == want => Some(result.to_kube()),
            _ => None,
        })
    }

    /// Serve a `conformance.run`.
    pub fn conformance(
        &mut self,
        suite: crate::sonobuoy::Suite,
    ) -> Result<Result<crate::sonobuoy::Results, crate::sonobuoy::ConformanceError>, Divergence>
    {
        self.take(format!("conformance.run({})", suite.id()), |ev| match ev {
            Event::Conformance { suite: s, result } if s == suite.id() => Some(result.to_result()),
            _ => None,
        })
    }

    /// Serve an `openstack.resolved-endpoint`.
    pub fn resolved(&mut self, service_type: &str) -> Result<Result<String, ApiError>, Divergence> {
        self.take(
            format!("openstack.resolved-endpoint({service_type})"),
            |ev| match ev {
                Event::Resolved {
                    service_type: s,
                    result,
                } if s == service_type => Some(result.to_api()),
                _ => None,
            },
        )
    }

    /// Serve a clock read.
    pub fn now(&mut self) -> Result<u64, Divergence> {
        self.take("clock.now()".to_string(), |ev| match ev {
            Event::Now { ms } => Some(*ms),
            _ => None,
        })
    }

    /// Serve a sleep (no waiting).
    pub fn sleep(&mut self, ms: u64) -> Result<(), Divergence> {
        self.take(format!("clock.sleep({ms})"), |ev| match ev {
            Event::Sleep { ms: m } if *m == ms => Some(()),
            _ => None,
        })
    }

    /// The divergence of a component that ended with calls left over.
    pub(crate) fn ended_early(&self) -> Option<Divergence> {
        self.events.get(self.next).map(|ev| Divergence {
            check_id: self.check_id.clone(),
            call: self.next + 1,
            recorded: ev.describe(),
            actual: "no further call (the check finished)".to_string(),
        })
    }

    /// Events not consumed (a replay that ends early also diverges).
    #[cfg(test)]
    pub(crate) fn remaining(&self) -> usize {
        self.events.len().saturating_sub(self.next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mediate::Method;

    /// A transcript with one component of `n` `clock.now()` events, as `write` makes it.
    fn small_transcript(dir: &Path, n: usize) {
        let mut comps = BTreeMap::new();
        comps.insert(
            "c1".to_string(),
            ("00".repeat(32), vec![Event::Now { ms: 1 }; n]),
        );
        write(dir, None, Some("offline".into()), &comps).unwrap();
    }

    fn edit_manifest(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
        let p = dir.join("manifest.json");
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        f(&mut v);
        std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    }

    /// Hardening, hole 9: an event count near 2^64 is a claim, not an allocation.
    #[test]
    fn a_huge_event_count_is_an_error_not_an_abort() {
        let dir = tempfile::tempdir().unwrap();
        small_transcript(dir.path(), 2);
        edit_manifest(dir.path(), |v| {
            v["components"][0]["events"] = serde_json::json!(u64::MAX - 1)
        });
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("the manifest says"), "{e}");
    }

    /// Hardening, hole 9: files that are symlinks to devices are refused before reading.
    #[test]
    fn symlinks_to_devices_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        small_transcript(dir.path(), 1);
        let comp = dir.path().join("c1.jsonl.zst");
        assert!(comp.is_file(), "component file name as `write` makes it");
        std::fs::remove_file(&comp).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &comp).unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
        let m = dir.path().join("manifest.json");
        std::fs::remove_file(&m).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &m).unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }

    /// Hardening, hole 9: many components each under the per-component bound still cannot
    /// exceed the bound for the whole transcript.
    #[test]
    fn the_whole_transcript_is_bounded_not_just_each_component() {
        let dir = tempfile::tempdir().unwrap();
        let mut comps = BTreeMap::new();
        for i in 0..4 {
            comps.insert(
                format!("c{i}"),
                ("00".repeat(32), vec![Event::Now { ms: 1 }; 100]),
            );
        }
        write(dir.path(), None, None, &comps).unwrap();
        let per_component = 100 * "{\"kind\":\"now\",\"ms\":1}\n".len() as u64 + 64;
        let bounds = LoadBounds {
            component: per_component * 2,
            total: per_component * 3,
            ..LoadBounds::default()
        };
        let e = load_bounded(dir.path(), &bounds).unwrap_err().to_string();
        assert!(e.contains("per transcript"), "{e}");
        assert!(load_bounded(dir.path(), &LoadBounds::default()).is_ok());
    }

    fn req(path: &str) -> ApiRequest {
        ApiRequest {
            service_type: "compute".into(),
            method: Method::Get,
            path: path.into(),
            query: vec![("limit".into(), "5".into())],
            headers: vec![],
            body: None,
            anchor: Anchor::Endpoint,
            shared: true,
        }
    }

    #[test]
    fn roundtrip_and_replay_order() {
        let dir = tempfile::tempdir().unwrap();
        let resp = ApiResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: b"{\"flavors\": []}".to_vec(),
        };
        let events = vec![
            Event::Now { ms: 42 },
            Event::Send {
                request: Box::new(RecordedRequest::from_api(&req("flavors/detail"))),
                result: Box::new(RecordedResult::from_api(&Ok(resp.clone()))),
            },
            Event::Sleep { ms: 1000 },
            Event::Send {
                request: Box::new(RecordedRequest::from_api(&req("x"))),
                result: Box::new(RecordedResult::from_api(&Err(ApiError::Denied(
                    "no".into(),
                )))),
            },
        ];
        let mut comps = BTreeMap::new();
        comps.insert("c1".to_string(), ("abc".to_string(), events));
        let w = write(dir.path(), Some(RecordedCloud::default()), None, &comps).unwrap();
        let l = load(dir.path()).unwrap();
        assert_eq!(l.sha256, w.sha256);
        let mut r = Replayer::new("c1", l.events["c1"].clone());
        assert_eq!(r.now().unwrap(), 42);
        assert_eq!(r.send(&req("flavors/detail")).unwrap(), Ok(resp));
        r.sleep(1000).unwrap();
        let d = r.send(&req("y")).unwrap_err();
        assert_eq!(d.call, 4);
        assert!(
            d.to_string()
                .contains("the transcript has GET compute x?limit=5 (shared)"),
            "{d}"
        );
        assert!(
            d.to_string()
                .contains("the check made GET compute y?limit=5 (shared)"),
            "{d}"
        );
        assert_eq!(r.remaining(), 1);
    }

    #[test]
    fn tampering_and_versions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut comps = BTreeMap::new();
        comps.insert(
            "c1".to_string(),
            ("abc".to_string(), vec![Event::Now { ms: 1 }]),
        );
        write(dir.path(), None, Some("x".into()), &comps).unwrap();
        let f = dir.path().join("c1.jsonl.zst");
        let mut b = std::fs::read(&f).unwrap();
        let n = b.len() - 1;
        b[n] ^= 1;
        std::fs::write(&f, b).unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("the transcript was altered"), "{e}");
        let m = dir.path().join("manifest.json");
        let text = std::fs::read_to_string(&m)
            .unwrap()
            .replace("\"version\": 1", "\"version\": 99");
        std::fs::write(&m, text).unwrap();
        let e = load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("format version 99 is not supported"), "{e}");
    }
}

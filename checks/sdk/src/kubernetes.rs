//! Typed helpers over the host's mediated `kubernetes` interface (KaaS scope).
//!
//! Owns: building requests to the subject's API server ([`Request`]: method,
//! absolute path, query, headers, JSON body), status handling and JSON
//! decoding, the cluster information ([`cluster`]), and the error type
//! [`KubeError`], whose `Display` is one line naming the method and path
//! (`kubernetes GET /version: …`).
//!
//! Must never: hold or ask for credentials (the host authenticates), retry a
//! write, hide an API error behind a default value, or put a line break into
//! an error text (the text ends up in one-line report messages).

use crate::bindings::scs::check::kubernetes as host;
use crate::json::JsonError;
use serde_json::Value;
use std::fmt;

pub use host::{ClusterInfo, Method, Response};

/// How much of an error body an error message keeps.
pub const BODY_EXCERPT_CHARS: usize = 200;

/// Why the host produced no response (the WIT `kubernetes.error`), with the
/// host's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostError {
    /// The check did not declare (or was not granted) the capability.
    Denied(String),
    /// The run has no cluster, or its kubeconfig is unusable.
    NoCluster(String),
    /// Deadline or per-request timeout.
    Timeout(String),
    /// Response over the size cap, or traffic budget used up.
    TooLarge(String),
    /// Connection, TLS or protocol failure; or an invalid request.
    Transport(String),
}

impl From<host::Error> for HostError {
    fn from(e: host::Error) -> Self {
        match e {
            host::Error::Denied(m) => HostError::Denied(m),
            host::Error::NoCluster(m) => HostError::NoCluster(m),
            host::Error::Timeout(m) => HostError::Timeout(m),
            host::Error::TooLarge(m) => HostError::TooLarge(m),
            host::Error::Transport(m) => HostError::Transport(m),
        }
    }
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (what, text) = match self {
            HostError::Denied(m) => ("denied by the host", m),
            HostError::NoCluster(m) => ("no cluster", m),
            HostError::Timeout(m) => ("timeout", m),
            HostError::TooLarge(m) => ("too large", m),
            HostError::Transport(m) => ("transport error", m),
        };
        write!(f, "{what}: {}", one_line(text))
    }
}

/// Why a Kubernetes API call failed. `Display` is one line and names the
/// request (`kubernetes GET /version`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeError {
    /// The host refused or could not complete the request.
    Host {
        /// e.g. `kubernetes GET /version`
        what: String,
        /// What the host said.
        error: HostError,
    },
    /// The API server answered with a non-success status.
    Status {
        /// e.g. `kubernetes GET /version`
        what: String,
        /// HTTP status.
        status: u16,
        /// The first [`BODY_EXCERPT_CHARS`] characters of the body, on one line.
        body: String,
    },
    /// The body was not JSON, or a field was wrong (`source` names the request).
    Json(JsonError),
}

impl fmt::Display for KubeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KubeError::Host { what, error } => write!(f, "{what}: {error}"),
            KubeError::Status { what, status, body } => {
                write!(f, "{what} returned HTTP {status}")?;
                if !body.is_empty() {
                    write!(f, ": {body}")?;
                }
                Ok(())
            }
            KubeError::Json(e) => write!(f, "{}", one_line(&e.to_string())),
        }
    }
}

impl std::error::Error for KubeError {}

impl From<JsonError> for KubeError {
    fn from(e: JsonError) -> Self {
        KubeError::Json(e)
    }
}

impl KubeError {
    /// HTTP status, if the API server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            KubeError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// `text` with every line break (and other control character) replaced by a
/// blank, so that it fits one log line or report message.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The method as HTTP spells it.
pub fn method_name(m: Method) -> &'static str {
    match m {
        Method::Get => "GET",
        Method::Head => "HEAD",
        Method::Post => "POST",
        Method::Put => "PUT",
        Method::Patch => "PATCH",
        Method::Delete => "DELETE",
    }
}

/// A request to the API server under construction.
#[derive(Debug, Clone)]
pub struct Request {
    inner: host::Request,
}

impl Request {
    /// A request of `method` to the absolute `path` (`/version`,
    /// `/api/v1/nodes`).
    pub fn new(method: Method, path: &str) -> Request {
        Request {
            inner: host::Request {
                method,
                path: path.to_string(),
                query: Vec::new(),
                headers: Vec::new(),
                body: None,
            },
        }
    }
    /// GET request.
    pub fn get(path: &str) -> Request {
        Request::new(Method::Get, path)
    }
    /// Add a query parameter (the host URL-encodes it).
    pub fn query(mut self, key: &str, value: &str) -> Request {
        self.inner.query.push((key.to_string(), value.to_string()));
        self
    }
    /// Add a header (`accept`, `content-type`; the host refuses
    /// `authorization`, `impersonate-*` and the like).
    pub fn header(mut self, key: &str, value: &str) -> Request {
        self.inner
            .headers
            .push((key.to_string(), value.to_string()));
        self
    }
    /// JSON body, with `content-type: application/json`.
    pub fn json(mut self, body: &Value) -> Request {
        self.inner.body = Some(body.to_string().into_bytes());
        self.inner
            .headers
            .push(("content-type".to_string(), "application/json".to_string()));
        self
    }
    /// The method.
    pub fn method(&self) -> Method {
        self.inner.method
    }
    /// The path.
    pub fn path(&self) -> &str {
        &self.inner.path
    }
    /// The query parameters, in order.
    pub fn query_pairs(&self) -> &[(String, String)] {
        &self.inner.query
    }
    /// The extra headers, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.inner.headers
    }
    /// The body, if any.
    pub fn body(&self) -> Option<&[u8]> {
        self.inner.body.as_deref()
    }
    /// `kubernetes GET /version`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "kubernetes {} {}",
            method_name(self.inner.method),
            one_line(&self.inner.path)
        )
    }

    /// Send; any HTTP status is a response.
    pub fn send(&self) -> Result<Response, KubeError> {
        host::send(&self.inner).map_err(|e| KubeError::Host {
            what: self.describe(),
            error: e.into(),
        })
    }

    /// Send and require a 2xx status.
    pub fn send_ok(&self) -> Result<Response, KubeError> {
        let resp = self.send()?;
        require_success(&self.describe(), resp)
    }

    /// Send, require 2xx, and parse the body as JSON.
    pub fn send_json(&self) -> Result<Value, KubeError> {
        let resp = self.send_ok()?;
        decode_json(&self.describe(), &resp.body)
    }
}

/// `resp` if its status is 2xx, else [`KubeError::Status`] with an excerpt
/// of the body.
pub fn require_success(what: &str, resp: Response) -> Result<Response, KubeError> {
    if (200..300).contains(&resp.status) {
        return Ok(resp);
    }
    let body = String::from_utf8_lossy(&resp.body);
    let body: String = one_line(&body.chars().take(BODY_EXCERPT_CHARS).collect::<String>());
    Err(KubeError::Status {
        what: what.to_string(),
        status: resp.status,
        body: body.trim().to_string(),
    })
}

/// Parse a response body as JSON; the error names `what`.
pub fn decode_json(what: &str, body: &[u8]) -> Result<Value, KubeError> {
    serde_json::from_slice(body).map_err(|e| {
        KubeError::Json(JsonError {
            source: what.to_string(),
            path: "(root)".to_string(),
            problem: format!("body is not valid JSON: {e}"),
        })
    })
}

/// The cluster of this run (API server URL and kubeconfig context), from
/// the host; no request to the API server.
pub fn cluster() -> Result<ClusterInfo, KubeError> {
    host::cluster().map_err(|e| KubeError::Host {
        what: "kubernetes cluster".to_string(),
        error: e.into(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resp(status: u16, body: &str) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn builder() {
        let r = Request::new(Method::Post, "/api/v1/namespaces")
            .query("dryRun", "All")
            .header("accept", "application/json")
            .json(&json!({"kind": "Namespace"}));
        assert_eq!(r.method(), Method::Post);
        assert_eq!(r.path(), "/api/v1/namespaces");
        assert_eq!(
            r.query_pairs(),
            &[("dryRun".to_string(), "All".to_string())]
        );
        assert_eq!(
            r.headers(),
            &[
                ("accept".to_string(), "application/json".to_string()),
                ("content-type".to_string(), "application/json".to_string())
            ]
        );
        assert_eq!(r.body(), Some(br#"{"kind":"Namespace"}"#.as_slice()));
        assert_eq!(r.describe(), "kubernetes POST /api/v1/namespaces");
        let g = Request::get("/version");
        assert_eq!(g.method(), Method::Get);
        assert_eq!(g.body(), None);
        assert_eq!(g.describe(), "kubernetes GET /version");
        for (m, n) in [
            (Method::Head, "HEAD"),
            (Method::Put, "PUT"),
            (Method::Patch, "PATCH"),
            (Method::Delete, "DELETE"),
        ] {
            assert_eq!(method_name(m), n);
        }
    }

    #[test]
    fn status_handling() {
        assert_eq!(require_success("w", resp(200, "{}")).unwrap().status, 200);
        assert_eq!(require_success("w", resp(204, "")).unwrap().status, 204);
        let e = require_success("kubernetes GET /version", resp(403, "forbidden\nby RBAC"))
            .unwrap_err();
        assert_eq!(e.status(), Some(403));
        assert_eq!(
            e.to_string(),
            "kubernetes GET /version returned HTTP 403: forbidden by RBAC"
        );
        let long = "x".repeat(1000);
        let e = require_success("w", resp(500, &long)).unwrap_err();
        assert_eq!(
            e.to_string().len(),
            "w returned HTTP 500: ".len() + BODY_EXCERPT_CHARS
        );
        let e = require_success("w", resp(404, "")).unwrap_err();
        assert_eq!(e.to_string(), "w returned HTTP 404");
    }

    #[test]
    fn json_decoding() {
        assert_eq!(
            decode_json("w", br#"{"gitVersion":"v1.31.2"}"#).unwrap(),
            json!({"gitVersion": "v1.31.2"})
        );
        let e = decode_json("kubernetes GET /version", b"<html>").unwrap_err();
        assert!(matches!(e, KubeError::Json(_)));
        let text = e.to_string();
        assert!(
            text.starts_with("malformed response from kubernetes GET /version"),
            "{text}"
        );
        assert_eq!(e.status(), None);
    }

    #[test]
    fn host_errors_are_one_line_and_name_the_request() {
        let cases = [
            (
                host::Error::Denied("no capability\nkubernetes:x".into()),
                "kubernetes GET /version: denied by the host: no capability kubernetes:x",
            ),
            (
                host::Error::NoCluster("no kubeconfig".into()),
                "kubernetes GET /version: no cluster: no kubeconfig",
            ),
            (
                host::Error::Timeout("after 32 s".into()),
                "kubernetes GET /version: timeout: after 32 s",
            ),
            (
                host::Error::TooLarge("over 16 MiB".into()),
                "kubernetes GET /version: too large: over 16 MiB",
            ),
            (
                host::Error::Transport("connection refused".into()),
                "kubernetes GET /version: transport error: connection refused",
            ),
        ];
        for (e, want) in cases {
            let k = KubeError::Host {
                what: Request::get("/version").describe(),
                error: e.into(),
            };
            assert_eq!(k.to_string(), want);
            assert_eq!(k.status(), None);
        }
    }

    #[test]
    fn one_line_replaces_control_characters() {
        assert_eq!(one_line("a\r\nb\tc"), "a  b c");
        assert_eq!(one_line("plain"), "plain");
    }
}

//! What a check may ask of the API server: the request and error types of the `kubernetes`
//! interface, and the rules a request must pass before it leaves the host: an absolute plain
//! path (no `..` or `.` segment, scheme, query, fragment, backslash, empty segment, space,
//! control character or `%` at all: Kubernetes names never need one), and no header that
//! carries, replaces or extends a credential (`authorization`, `impersonate-*`, `x-remote-*`,
//! `host`, `cookie`, `proxy-*`, method overrides, framing).
//!
//! Must never: accept a path that could be read differently by a URL parser or the API
//! server than by [`super::grants::target_of`], or let a check set a reserved header.

use crate::mediate::Method;

/// A check's request to the API server, before the host adds anything.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KubeRequest {
    /// Method.
    pub method: Method,
    /// Absolute path (`/api/v1/nodes`).
    pub path: String,
    /// Query pairs.
    pub query: Vec<(String, String)>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Option<Vec<u8>>,
}

/// Why a request produced no response (mirrors the WIT `error` variant of `kubernetes`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeApiError {
    /// Not granted, or an invalid request.
    #[error("denied: {0}")]
    Denied(String),
    /// No cluster in this run.
    #[error("no cluster: {0}")]
    NoCluster(String),
    /// Too slow.
    #[error("timeout: {0}")]
    Timeout(String),
    /// Too big, or the check's budget is used up.
    #[error("too large: {0}")]
    TooLarge(String),
    /// Anything else on the wire.
    #[error("transport: {0}")]
    Transport(String),
}

impl From<crate::mediate::http::Failure> for KubeApiError {
    fn from(f: crate::mediate::http::Failure) -> KubeApiError {
        match f {
            crate::mediate::http::Failure::Timeout(m) => KubeApiError::Timeout(m),
            crate::mediate::http::Failure::Transport(m) => KubeApiError::Transport(m),
            crate::mediate::http::Failure::TooLarge(m) => KubeApiError::TooLarge(m),
        }
    }
}

impl KubeApiError {
    /// The transcript's name of the kind.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            KubeApiError::Denied(_) => "denied",
            KubeApiError::NoCluster(_) => "no-cluster",
            KubeApiError::Timeout(_) => "timeout",
            KubeApiError::TooLarge(_) => "too-large",
            KubeApiError::Transport(_) => "transport",
        }
    }
    /// The message.
    pub(crate) fn message(&self) -> &str {
        match self {
            KubeApiError::Denied(m)
            | KubeApiError::NoCluster(m)
            | KubeApiError::Timeout(m)
            | KubeApiError::TooLarge(m)
            | KubeApiError::Transport(m) => m,
        }
    }
    /// From the transcript's kind and message.
    pub(crate) fn from_kind(kind: &str, m: String) -> KubeApiError {
        match kind {
            "denied" => KubeApiError::Denied(m),
            "no-cluster" => KubeApiError::NoCluster(m),
            "timeout" => KubeApiError::Timeout(m),
            "too-large" => KubeApiError::TooLarge(m),
            _ => KubeApiError::Transport(m),
        }
    }
}

/// Request headers only the host sets (names lower-case; `impersonate-`, `x-remote-` and
/// `proxy-` are prefixes).
const RESERVED: &[&str] = &[
    "authorization",
    "host",
    "cookie",
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "te",
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "forwarded",
];
const RESERVED_PREFIXES: &[&str] = &["impersonate-", "x-remote-", "proxy-"];

/// Whether a check may set request header `name`.
pub(crate) fn header_allowed(name: &str) -> bool {
    let lk = name.to_ascii_lowercase();
    !RESERVED.contains(&lk.as_str()) && !RESERVED_PREFIXES.iter().any(|p| lk.starts_with(p))
}

/// Response headers a check never sees: secret-bearing and volatile ones (so that a replay
/// gives the same bytes).
pub(crate) const DROPPED_RESPONSE_HEADERS: &[&str] = &[
    "set-cookie",
    "www-authenticate",
    "authorization",
    "date",
    "audit-id",
    "x-kubernetes-pf-flowschema-uid",
    "x-kubernetes-pf-prioritylevel-uid",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
];

/// The path rules (see the module documentation).
pub(crate) fn validate_path(path: &str) -> Result<(), KubeApiError> {
    let bad = |why: &str| {
        Err(KubeApiError::Denied(format!(
            "path {:?} {why}; give an absolute plain path such as /api/v1/nodes, query \
             parameters separately",
            crate::errtext::bounded_text(path, 200)
        )))
    };
    if !path.starts_with('/') {
        return bad("is not absolute");
    }
    if path.contains("://")
        || path.contains('?')
        || path.contains('#')
        || path.contains('\\')
        || path.contains('%')
        || path.chars().any(|c| c.is_control() || c.is_whitespace())
    {
        return bad(
            "contains a scheme, query, fragment, backslash, `%`, space or control character",
        );
    }
    if path.len() > 1 {
        let inner = path.trim_end_matches('/');
        if inner.is_empty()
            || inner[1..]
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return bad("has an empty, `.` or `..` segment");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        for ok in [
            "/",
            "/version",
            "/api/v1/nodes",
            "/apis/apps/v1/namespaces/x/deployments/",
        ] {
            assert!(validate_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "api/v1/nodes",
            "/api/../v1",
            "/api/./v1",
            "/api//v1",
            "//evil.example/x",
            "/api/v1/nodes?x=1",
            "/api/v1/nodes#f",
            "/api/%2e%2e/x",
            "/api/v1/nodes%2Fx",
            "http://evil/api",
            "/api/v1/no des",
            "/a\\b",
        ] {
            assert!(validate_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn reserved_headers() {
        for h in [
            "Authorization",
            "Impersonate-User",
            "impersonate-group",
            "Impersonate-Extra-scopes",
            "X-Remote-User",
            "Host",
            "Cookie",
            "Proxy-Authorization",
            "X-HTTP-Method-Override",
        ] {
            assert!(!header_allowed(h), "{h}");
        }
        for h in ["accept", "content-type", "user-agent-extra"] {
            assert!(header_allowed(h), "{h}");
        }
    }
}

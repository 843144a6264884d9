//! What a check may ask of the cloud: the request and response types of the `openstack`
//! interface, and the rules a request must pass before it leaves the host (relative paths
//! only, no header that could carry or replace a credential).
//!
//! Must never: accept a path that leaves the endpoint, or let a check set `X-Auth-Token`,
//! `Host`, cookies or (except at the host root, for signed S3 requests) `Authorization`.

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
    pub(crate) fn is_read(self) -> bool {
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
    pub(super) fn reqwest(self) -> reqwest::Method {
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

pub(super) const RESERVED_REQUEST_HEADERS: &[&str] = &[
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
pub(super) fn header_allowed(name: &str, anchor: Anchor) -> bool {
    let lk = name.to_ascii_lowercase();
    if lk == "authorization" && anchor == Anchor::HostRoot {
        return true;
    }
    !RESERVED_REQUEST_HEADERS.contains(&lk.as_str())
}

/// Response headers a check never sees: secret-bearing ones, and volatile
/// ones (dates, request ids, connection details) that would make a recorded
/// run differ from its replay.
pub(super) const DROPPED_RESPONSE_HEADERS: &[&str] = &[
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

pub(super) fn validate_path(path: &str) -> Result<(), ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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

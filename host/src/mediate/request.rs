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

/// Request headers only the host sets: credentials, connection framing, and the method
/// overrides some frameworks honour (a GET with `X-HTTP-Method-Override: DELETE` must not
/// become a write past the read-only grant).
pub(super) const RESERVED_REQUEST_HEADERS: &[&str] = &[
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
    "x-storage-token",
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
    "x-storage-token",
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

/// JSON keys whose values are secrets a cloud may put into an ordinary response (Nova's
/// `adminPass`, the generated root password of a new server): masked before the check, the
/// transcript or the report can see them.
const SECRET_BODY_KEYS: &[&str] = &["adminPass", "admin_pass", "auth_token", "password"];

/// `body` with the values of [`SECRET_BODY_KEYS`] replaced by `"***"` when it is JSON that has
/// any of them; anything else unchanged (no allocation unless a key name appears).
pub(super) fn redact_body(body: Vec<u8>) -> Vec<u8> {
    let mentions = |k: &&str| {
        body.windows(k.len() + 2)
            .any(|w| w[0] == b'"' && &w[1..=k.len()] == k.as_bytes() && w[k.len() + 1] == b'"')
    };
    if !SECRET_BODY_KEYS.iter().any(mentions) {
        return body;
    }
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return body;
    };
    fn mask(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m.iter_mut() {
                    if SECRET_BODY_KEYS.contains(&k.as_str()) && x.is_string() {
                        *x = serde_json::Value::String("***".into());
                    } else {
                        mask(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(mask),
            _ => {}
        }
    }
    mask(&mut v);
    serde_json::to_vec(&v).unwrap_or(body)
}

/// Whether a check's path is a plain relative path: no `..`, scheme, query, fragment,
/// backslash, space or control character, and no percent-encoded dot, slash or backslash
/// (`%2e`, `%2f`, `%5c` in any case), which a URL parser or a server would turn into a
impl From<super::http::Failure> for ApiError {
    fn from(f: super::http::Failure) -> ApiError {
        match f {
            super::http::Failure::Timeout(m) => ApiError::Timeout(m),
            super::http::Failure::Transport(m) => ApiError::Transport(m),
            super::http::Failure::TooLarge(m) => ApiError::TooLarge(m),
        }
    }
}

/// climb out of the endpoint after this check. [`confine`] checks the final URL as well.
pub(super) fn validate_path(path: &str) -> Result<(), ApiError> {
    let lower = path.to_ascii_lowercase();
    if path.contains("..")
        || path.contains("://")
        || path.contains('?')
        || path.contains('#')
        || path.contains('\\')
        || path.chars().any(|c| c.is_control() || c == ' ')
        || ["%2e", "%2f", "%5c"].iter().any(|e| lower.contains(e))
    {
        return Err(ApiError::Denied(format!(
            "path {path:?} must be a plain relative path (no `..`, scheme, query, fragment, \
             spaces, or percent-encoded dots and slashes)"
        )));
    }
    Ok(())
}

/// Whether a check.json `prefetch` entry is a request the host would send: a plain relative
/// path and headers a check may set (the same rules as the check's own requests). Checked
/// when the check is loaded, so a bad entry names the check.json instead of failing late.
pub(crate) fn check_prefetch(req: &ApiRequest) -> Result<(), String> {
    validate_path(&req.path).map_err(|e| e.to_string())?;
    if let Some((k, _)) = req
        .headers
        .iter()
        .find(|(k, _)| !header_allowed(k, req.anchor))
    {
        return Err(format!("header {k:?} is set by the host, not by a check"));
    }
    Ok(())
}

/// The final, normalised URL of a request must stay where the check was sent: same scheme,
/// host and port as `base`, and a path equal to `base`'s or below it (for host-root requests
/// `base` is the origin, so any path of that host). Decided after the URL parser resolved
/// dot segments, whatever their encoding.
pub(super) fn confine(base: &reqwest::Url, url: &reqwest::Url) -> Result<(), ApiError> {
    let outside = || {
        ApiError::Denied(format!(
            "request URL {url} leaves its endpoint {base}; the check may only reach paths below it"
        ))
    };
    if base.origin() != url.origin() {
        return Err(outside());
    }
    let root = base.path().trim_end_matches('/');
    let path = url.path();
    if root.is_empty() || path == root || path.starts_with(&format!("{root}/")) {
        Ok(())
    } else {
        Err(outside())
    }
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

    /// Percent-encoded dots and slashes are refused before any URL is built (the URL parser
    /// would resolve `%2e%2e` to `..` afterwards and leave the endpoint with the token).
    #[test]
    fn encoded_dots_and_slashes_are_refused() {
        for bad in [
            "%2e%2e/identity/v3/auth/tokens",
            ".%2e/x",
            "%2E./x",
            "%2E%2E/x",
            "a/%2e%2e/%2e%2e/x",
            "x%2f..%2fy",
            "x%2F%2E%2E%2Fy",
            "%5c..%5cx",
            "%2e/x",
        ] {
            assert!(validate_path(bad).is_err(), "{bad}");
        }
        assert!(validate_path("images/ab%20cd").is_ok());
    }

    /// Whatever reaches the URL parser, the decision is on the normalised URL.
    #[test]
    fn the_final_url_stays_below_the_endpoint() {
        let url = |s: &str| reqwest::Url::parse(s).expect("url");
        let base = url("http://127.0.0.1:8774/compute/v2.1");
        for (candidate, ok) in [
            ("http://127.0.0.1:8774/compute/v2.1", true),
            ("http://127.0.0.1:8774/compute/v2.1/flavors/detail", true),
            (
                "http://127.0.0.1:8774/compute/v2.1/%2e%2e/%2e%2e/identity/v3",
                false,
            ),
            ("http://127.0.0.1:8774/compute/v2.1/.%2e/x", false),
            ("http://127.0.0.1:8774/compute/v2.10/flavors", false),
            ("http://127.0.0.1:8774/identity/v3", false),
            ("https://127.0.0.1:8774/compute/v2.1/x", false),
            ("http://127.0.0.1:8775/compute/v2.1/x", false),
            ("http://evil.example/compute/v2.1/x", false),
        ] {
            assert_eq!(confine(&base, &url(candidate)).is_ok(), ok, "{candidate}");
        }
        // a host-root request (the S3 probe): any path of the same origin
        let root = url("http://127.0.0.1:8080/");
        assert!(confine(&root, &url("http://127.0.0.1:8080/bucket")).is_ok());
        assert!(confine(&root, &url("http://127.0.0.2:8080/bucket")).is_err());
    }

    /// Hardening, hole 12: a new server's `adminPass` never reaches a check or a transcript.
    #[test]
    fn secrets_in_response_bodies_are_masked() {
        let body = br#"{"server": {"id": "s1", "adminPass": "Xy7-secret", "links": []}}"#.to_vec();
        let out = String::from_utf8(redact_body(body)).expect("utf-8");
        assert!(!out.contains("Xy7-secret"), "{out}");
        assert!(out.contains(r#""adminPass":"***""#), "{out}");
        assert!(out.contains(r#""id":"s1""#), "{out}");
        let plain = br#"{"flavors": [{"name": "password-less"}]}"#.to_vec();
        assert_eq!(
            redact_body(plain.clone()),
            plain,
            "untouched without a secret key"
        );
        assert!(!header_allowed("x-storage-token", Anchor::Endpoint));
        assert!(DROPPED_RESPONSE_HEADERS.contains(&"x-storage-token"));
    }

    #[test]
    fn method_override_headers_are_reserved() {
        for h in [
            "X-HTTP-Method-Override",
            "x-http-method",
            "X-Method-Override",
        ] {
            assert!(!header_allowed(h, Anchor::Endpoint), "{h}");
            assert!(!header_allowed(h, Anchor::HostRoot), "{h}");
        }
    }
}

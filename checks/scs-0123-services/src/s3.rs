//! The S3 probe of `scs-0123-swift-s3` (docs/official-behaviour.md d.10, h.7).
//!
//! Owns: finding the object-store endpoint the way the official code sees
//! it, cutting it to its host root with the official pattern
//! `^(https*://[^/]*)/`, signing an S3 `ListBuckets` (`GET /`) with SigV4 for
//! the bogus access key `doesnotexist` and an empty secret, and judging the
//! answer as botocore would present it to the official check: PASS iff the
//! exception text contains `InvalidAccessKeyId` or `NoSuchKey`, FAIL for any
//! other exception, ABORT when there is no exception at all.
//!
//! Must never: create EC2 credentials, buckets or anything else, send the
//! Keystone token to the S3 endpoint (host-root requests carry none), or
//! contact a host that is not the catalog endpoint's.

use crate::xml::{self, Element};
use scs_check_sdk::bindings::scs::check::openstack::{
    self as host, Anchor, Error as HostError, Method, Service,
};
use scs_check_sdk::sigv4;

/// The access key of the probe.
pub const ACCESS_KEY: &str = "doesnotexist";
/// The (empty) secret key of the probe.
pub const SECRET_KEY: &str = "";
/// botocore's signing region when none is configured.
pub const REGION: &str = "us-east-1";
/// Catalog type of Swift.
pub const OBJECT_STORE: &str = "object-store";

/// The verdict of the probe, with the text that led to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// The error text names a rejected key: S3 is there.
    Pass(String),
    /// Some other error.
    Fail(String),
    /// No error at all (the bogus key was accepted), or we cannot tell.
    Abort(String),
}

/// The object-store endpoint URL this run uses: the first `object-store`
/// catalog entry with an endpoint of the run's interface and region (an
/// empty region matches any), as the host resolves it.
pub fn object_store_url(catalog: &[Service], interface: &str, region: &str) -> Option<String> {
    catalog
        .iter()
        .filter(|s| s.type_ == OBJECT_STORE)
        .flat_map(|s| s.endpoints.iter())
        .find(|e| e.interface == interface && (region.is_empty() || e.region == region))
        .map(|e| e.url.clone())
}

/// The official `^(https*://[^/]*)/` match: scheme, `://` and authority,
/// but only when a `/` follows the authority (the URL has a path).
pub fn host_root(url: &str) -> Option<&str> {
    let rest = url.strip_prefix("http")?;
    let rest = rest.trim_start_matches('s');
    let after = rest.strip_prefix("://")?;
    let authority_len = after.find('/')?;
    let end = url.len() - after.len() + authority_len;
    url.get(..end)
}

/// The `Host` header the host's HTTP client will send for `root`
/// (`scheme://authority`): no user info, lower-case host, no default port.
pub fn host_header(root: &str) -> String {
    let (scheme, authority) = root.split_once("://").unwrap_or(("http", root));
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let (host, port) = if let Some(stripped) = authority.strip_prefix('[') {
        match stripped.split_once(']') {
            Some((h, p)) => (format!("[{h}]"), p.strip_prefix(':')),
            None => (authority.to_string(), None),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p)),
            None => (authority.to_string(), None),
        }
    };
    let host = host.to_ascii_lowercase();
    let default = if scheme.eq_ignore_ascii_case("https") {
        "443"
    } else {
        "80"
    };
    match port.map(|p| p.trim_start_matches('0')) {
        Some(p) if !p.is_empty() && p != default => format!("{host}:{p}"),
        Some("") => format!("{host}:0"),
        _ => host,
    }
}

/// The headers the probe adds (`x-amz-date`, `x-amz-content-sha256`,
/// `authorization`), signed for `GET /` at `root` at `now_ms`.
pub fn probe_headers(root: &str, now_ms: u64) -> Vec<(String, String)> {
    let amz_date = sigv4::amz_date(now_ms);
    let signed = vec![
        ("host".to_string(), host_header(root)),
        (
            "x-amz-content-sha256".to_string(),
            sigv4::EMPTY_PAYLOAD_SHA256.to_string(),
        ),
        ("x-amz-date".to_string(), amz_date.clone()),
    ];
    let sig = sigv4::sign(
        &sigv4::Input {
            method: "GET",
            path: "/",
            query: &[],
            headers: &signed,
            payload_sha256: sigv4::EMPTY_PAYLOAD_SHA256,
            amz_date: &amz_date,
            region: REGION,
            service: "s3",
        },
        ACCESS_KEY,
        SECRET_KEY,
    );
    vec![
        ("x-amz-date".to_string(), amz_date),
        (
            "x-amz-content-sha256".to_string(),
            sigv4::EMPTY_PAYLOAD_SHA256.to_string(),
        ),
        ("authorization".to_string(), sig.authorization),
    ]
}

/// The probe request: `GET /` at the host root of the object-store
/// endpoint (the host adds no token there), SigV4-signed.
pub fn request(root: &str, now_ms: u64) -> host::Request {
    host::Request {
        service_type: OBJECT_STORE.to_string(),
        method: Method::Get,
        path: String::new(),
        query: Vec::new(),
        headers: probe_headers(root, now_ms),
        body: None,
        anchor: Anchor::HostRoot,
        shared: false,
    }
}

/// Send the probe and judge the outcome (the host's error variants are
/// kept, because a connection failure is a FAIL and a refusal an ABORT).
pub fn probe(root: &str, now_ms: u64) -> Probe {
    match host::send(&request(root, now_ms)) {
        Ok(resp) => classify(resp.status, &resp.body),
        Err(e) => classify_host_error(&e),
    }
}

/// Whether a text names a rejected key (d.10 step 4).
pub fn names_rejected_key(text: &str) -> bool {
    text.contains("InvalidAccessKeyId") || text.contains("NoSuchKey")
}

/// A Python-ish rendering of a parsed error value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PyVal {
    /// `node.text` of a leaf (None when empty).
    Text(Option<String>),
    /// A dict of children.
    Dict(Vec<(String, PyVal)>),
}

impl PyVal {
    fn render(&self) -> String {
        match self {
            PyVal::Text(None) => "None".to_string(),
            PyVal::Text(Some(s)) => s.clone(),
            PyVal::Dict(items) => {
                let inner: Vec<String> = items
                    .iter()
                    .map(|(k, v)| match v {
                        PyVal::Text(Some(s)) => format!("'{k}': '{s}'"),
                        other => format!("'{k}': {}", other.render()),
                    })
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }
    fn get(&self, key: &str) -> Option<&PyVal> {
        match self {
            PyVal::Dict(items) => items.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            PyVal::Text(_) => None,
        }
    }
}

/// botocore's `_build_name_to_xml_node` + `_replace_nodes`: children by
/// local name, first occurrence order; a repeated name becomes the dict of
/// the first such element's children; a leaf becomes its text.
fn to_dict(el: &Element) -> Vec<(String, PyVal)> {
    let mut groups: Vec<(String, Vec<&Element>)> = Vec::new();
    for c in &el.children {
        match groups.iter_mut().find(|(k, _)| *k == c.name) {
            Some((_, v)) => v.push(c),
            None => groups.push((c.name.clone(), vec![c])),
        }
    }
    groups
        .into_iter()
        .map(|(k, nodes)| {
            let v = match nodes.as_slice() {
                [one] if one.children.is_empty() => PyVal::Text(one.text.clone()),
                [first, ..] => PyVal::Dict(to_dict(first)),
                [] => PyVal::Text(None),
            };
            (k, v)
        })
        .collect()
}

/// The text of the ClientError botocore raises for an error answer
/// (status >= 301), or of the exception it raises instead.
fn client_error_text(status: u16, body: &[u8]) -> String {
    let generic = || {
        format!(
            "An error occurred ({status}) when calling the ListBuckets operation: {}",
            reason(status)
        )
    };
    // botocore: a 5xx with an empty or `<html>` body is a generic error
    let stripped = body.trim_ascii();
    if status >= 500 && (stripped.is_empty() || stripped.starts_with(b"<html>")) {
        return generic();
    }
    if body.is_empty() {
        return generic();
    }
    let Ok(root) = xml::parse(body) else {
        return generic();
    };
    let parsed = to_dict(&root);
    let error = if root.name == "Error" && !root.namespaced {
        // S3 style: the root is the error (ElementTree's tag is exactly
        // `Error` only without a namespace)
        PyVal::Dict(parsed)
    } else {
        // other rest-xml styles: merge `Error` into {'Message': '', 'Code': ''}
        let mut merged = vec![
            ("Message".to_string(), PyVal::Text(Some(String::new()))),
            ("Code".to_string(), PyVal::Text(Some(String::new()))),
        ];
        match parsed
            .into_iter()
            .find(|(k, _)| k == "Error")
            .map(|(_, v)| v)
        {
            None => PyVal::Dict(merged),
            Some(PyVal::Dict(items)) => {
                for (k, v) in items {
                    match merged.iter_mut().find(|(mk, _)| *mk == k) {
                        Some(slot) => slot.1 = v,
                        None => merged.push((k, v)),
                    }
                }
                PyVal::Dict(merged)
            }
            Some(text @ PyVal::Text(_)) => text,
        }
    };
    if let PyVal::Text(_) = error {
        // `error.get('Code')` on a str (or None) raises AttributeError
        return "AttributeError: 'str' object has no attribute 'get'".to_string();
    }
    let code = match error.get("Code") {
        // a dict as error code is unhashable in botocore's exception lookup
        Some(PyVal::Dict(_)) => return "TypeError: unhashable type: 'dict'".to_string(),
        Some(v) => v.render(),
        None => "Unknown".to_string(),
    };
    let message = error
        .get("Message")
        .map_or_else(|| "Unknown".to_string(), PyVal::render);
    format!("An error occurred ({code}) when calling the ListBuckets operation: {message}")
}

/// A few reason phrases (only for readable messages; no verdict depends on
/// them).
fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Judge an HTTP answer to the probe as the official check would (d.10
/// step 4, h.7), following botocore: a status of 301 or more is an error
/// whose text holds the XML `Code` and `Message` (or the status); a status
/// below 301 is parsed as the ListBuckets result, where a body that is not
/// XML raises an error whose text holds the body, and a status of exactly
/// 300 still raises (code `Unknown`) after a successful parse.
pub fn classify(status: u16, body: &[u8]) -> Probe {
    let judge = |text: String| {
        if names_rejected_key(&text) {
            Probe::Pass(text)
        } else {
            Probe::Fail(text)
        }
    };
    if status >= 301 {
        return judge(client_error_text(status, body));
    }
    if !body.is_empty()
        && let Err(e) = xml::parse(body)
    {
        let shown = String::from_utf8_lossy(body);
        return judge(format!(
            "Unable to parse response ({e}), invalid XML received. Further retries may succeed:\n{shown}"
        ));
    }
    if status == 300 {
        return Probe::Fail(
            "An error occurred (Unknown) when calling the ListBuckets operation: Unknown"
                .to_string(),
        );
    }
    Probe::Abort(format!(
        "the S3 endpoint answered HTTP {status} to a ListBuckets with the bogus access key \
         {ACCESS_KEY:?}; it should have refused it"
    ))
}

/// Judge a host error: a connection, TLS or timeout failure is an ordinary
/// exception for the official check (FAIL); a denied request, a missing
/// endpoint or an oversize answer leaves us unable to decide (ABORT).
pub fn classify_host_error(e: &HostError) -> Probe {
    match e {
        HostError::Transport(m) => Probe::Fail(format!("could not reach the S3 endpoint: {m}")),
        HostError::Timeout(m) => {
            Probe::Fail(format!("the S3 endpoint did not answer in time: {m}"))
        }
        HostError::Denied(m) => Probe::Abort(format!("denied by the host: {m}")),
        HostError::NoEndpoint(m) => Probe::Abort(format!("no endpoint: {m}")),
        HostError::TooLarge(m) => Probe::Abort(format!("too large: {m}")),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn host_roots() {
        assert_eq!(
            host_root("https://swift.example:8080/v1/AUTH_abc"),
            Some("https://swift.example:8080")
        );
        assert_eq!(host_root("http://h/"), Some("http://h"));
        // `https*` also takes several s, and an empty authority
        assert_eq!(host_root("httpss://h/x"), Some("httpss://h"));
        assert_eq!(host_root("http:///x"), Some("http://"));
        // no path: no match (d.10 step 2)
        assert_eq!(host_root("http://h:8080"), None);
        assert_eq!(host_root("HTTP://h/x"), None);
        assert_eq!(host_root("ftp://h/x"), None);
    }

    #[test]
    fn host_headers() {
        assert_eq!(
            host_header("http://Swift.Example:8080"),
            "swift.example:8080"
        );
        assert_eq!(host_header("http://h:80"), "h");
        assert_eq!(host_header("https://h:443"), "h");
        assert_eq!(host_header("https://h:80"), "h:80");
        assert_eq!(host_header("http://user:pw@h:81"), "h:81");
        assert_eq!(host_header("http://[::1]:8080"), "[::1]:8080");
        assert_eq!(host_header("http://127.0.0.1"), "127.0.0.1");
    }

    const S3_INVALID_KEY: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidAccessKeyId</Code>\
        <Message>The AWS Access Key Id you provided does not exist in our records.</Message>\
        <RequestId>tx9</RequestId></Error>";

    fn pass(p: &Probe) -> bool {
        matches!(p, Probe::Pass(_))
    }
    fn fail(p: &Probe) -> bool {
        matches!(p, Probe::Fail(_))
    }

    #[test]
    fn s3_error_answers() {
        let p = classify(403, S3_INVALID_KEY.as_bytes());
        assert_eq!(
            p,
            Probe::Pass(
                "An error occurred (InvalidAccessKeyId) when calling the ListBuckets operation: \
                 The AWS Access Key Id you provided does not exist in our records."
                    .to_string()
            )
        );
        assert!(pass(&classify(
            404,
            b"<Error><Code>NoSuchKey</Code></Error>"
        )));
        // other codes fail (h.7: AccessDenied)
        assert!(fail(&classify(
            403,
            b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
        )));
        assert!(fail(&classify(
            403,
            b"<Error><Code>SignatureDoesNotMatch</Code></Error>"
        )));
        // the message counts too
        assert!(pass(&classify(
            400,
            b"<Error><Code>X</Code><Message>see InvalidAccessKeyId</Message></Error>"
        )));
        // wrapped (route53 style)
        assert!(pass(&classify(
            403,
            b"<ErrorResponse xmlns='urn:x'><Error><Code>InvalidAccessKeyId</Code></Error></ErrorResponse>"
        )));
        // a namespaced <Error> root is not `Error` for ElementTree: code stays ''
        assert!(fail(&classify(
            403,
            b"<Error xmlns='urn:x'><Code>InvalidAccessKeyId</Code></Error>"
        )));
        // an <Error> leaf in a wrapper: AttributeError
        assert!(fail(&classify(
            403,
            b"<R><Error>InvalidAccessKeyId</Error></R>"
        )));
        // a dict as code: TypeError, even if it holds the word
        assert!(fail(&classify(
            403,
            b"<Error><Code><X>InvalidAccessKeyId</X></Code></Error>"
        )));
        // ... while a dict as message is rendered
        assert!(pass(&classify(
            403,
            b"<Error><Code>X</Code><Message><X>NoSuchKey</X></Message></Error>"
        )));
        // repeated elements: the dict of the first one's children
        assert!(fail(&classify(
            403,
            b"<Error><Code>InvalidAccessKeyId</Code><Code>B</Code></Error>"
        )));
    }

    #[test]
    fn non_xml_error_answers() {
        // unparsable error bodies give the status code only: the body does not count
        assert!(fail(&classify(403, b"InvalidAccessKeyId")));
        assert!(fail(&classify(
            403,
            b"<Error><Code>InvalidAccessKeyId</Code>"
        )));
        assert!(fail(&classify(401, b"")));
        // 5xx with an html body is generic
        assert!(fail(&classify(
            503,
            b"  <html><body><Error><Code>InvalidAccessKeyId</Code></Error></body></html>"
        )));
        // well-formed html is parsed, but has no Error
        assert!(fail(&classify(
            404,
            b"<html><body>InvalidAccessKeyId</body></html>"
        )));
        // a Swift 404 at the host root, plain text
        assert!(fail(&classify(404, b"Not Found")));
    }

    #[test]
    fn success_answers() {
        // no error: ABORT (h.7)
        assert!(matches!(classify(200, b""), Probe::Abort(_)));
        assert!(matches!(
            classify(
                200,
                b"<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>"
            ),
            Probe::Abort(_)
        ));
        // a 2xx whose body is not XML raises, with the body in the text
        assert!(pass(&classify(200, b"{\"error\": \"InvalidAccessKeyId\"}")));
        assert!(fail(&classify(200, b"hello")));
        // 300 is parsed as success and then raised as Unknown
        assert!(fail(&classify(300, b"")));
        assert!(pass(&classify(300, b"InvalidAccessKeyId")));
        // 301 and up are errors
        assert!(fail(&classify(301, b"")));
    }

    #[test]
    fn host_errors() {
        assert!(fail(&classify_host_error(&HostError::Transport(
            "refused".into()
        ))));
        assert!(fail(&classify_host_error(&HostError::Timeout(
            "slow".into()
        ))));
        assert!(matches!(
            classify_host_error(&HostError::Denied("no cap".into())),
            Probe::Abort(_)
        ));
    }

    #[test]
    fn probe_headers_are_signed() {
        // 2015-08-30T12:36:00Z; signature computed independently
        let h = probe_headers("http://Swift.Example:8080", 1_440_938_160_000);
        assert_eq!(
            h[0],
            ("x-amz-date".to_string(), "20150830T123600Z".to_string())
        );
        assert_eq!(h[1].1, sigv4::EMPTY_PAYLOAD_SHA256);
        assert_eq!(
            h[2].1,
            "AWS4-HMAC-SHA256 Credential=doesnotexist/20150830/us-east-1/s3/aws4_request, \
             SignedHeaders=host;x-amz-content-sha256;x-amz-date, \
             Signature=89788045a7cfe56d283cba090a9b2428328fcefcb1438fe75e7079215db8dd55"
        );
    }
}

//! The S3 probe of `scs-0123-swift-s3` (docs/official-behaviour.md d.10, h.7).
//!
//! Owns: finding the object-store endpoint the way the official code sees
//! it, cutting it to its host root with the official pattern
//! `^(https*://[^/]*)/`, signing an S3 `ListBuckets` (`GET /`) with SigV4 for
//! the bogus access key `doesnotexist` and an empty secret, and judging the
//! answer as botocore would present it to the official check: PASS iff the
//! exception text contains `InvalidAccessKeyId` or `NoSuchKey`, FAIL for any
//! other exception, ABORT when there is no exception at all. Like boto3 with
//! its default (legacy) retry mode, the probe is sent up to five times when
//! the answer is one botocore retries ([`retryable`]), with botocore's
//! exponential backoff between the attempts ([`backoff_ms`]), waiting on
//! the check's clock.
//!
//! Must never: create EC2 credentials, buckets or anything else, send the
//! Keystone token to the S3 endpoint (host-root requests carry none),
//! contact a host that is not the catalog endpoint's, sleep other than
//! through the check's clock, or retry an answer botocore does not retry.

use crate::xml::{self, Element};
use scs_check_sdk::bindings::scs::check::openstack::{
    self as host, Anchor, Error as HostError, Method, Service,
};
use scs_check_sdk::sigv4;
use scs_check_sdk::wait::Clock;

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

/// What one attempt of the probe gave: the HTTP status and body, or the
/// host's error.
pub type Outcome = Result<(u16, Vec<u8>), HostError>;

/// Attempts in total, the first one included: botocore's legacy retry mode
/// (`botocore/data/_retry.json`, `retry.__default__.max_attempts`: 5; boto3's
/// retry guide: "A default value of 5 for maximum attempts (including the
/// initial request)"). The official code configures no other.
pub const MAX_ATTEMPTS: u32 = 5;

/// An upper bound on one backoff sleep. botocore's legacy mode has none
/// (`retryhandler.delay_exponential` is `base * 2 ** (attempts - 1)` with a
/// random base in [0, 1)); with [`MAX_ATTEMPTS`] the longest sleep is under
/// 8 s, so this bound (the 20 s of botocore's standard mode) never binds
/// and only guards against a change of the constants.
pub const MAX_BACKOFF_MS: u64 = 20_000;

/// The probe stops retrying when the next sleep would end more than this
/// long after its first attempt, and judges the last answer as it is (a
/// deviation from boto3, which would go on). It keeps the probe inside the
/// check's deadline (`check.json`: 700 s). Each attempt may take as long as
/// boto3 waits (60 s to connect plus 60 s to read: check.json
/// `limits.request_timeout_secs` 120), so five attempts that each run into
/// it plus the backoff take at most about 615 s and stay within this budget:
/// the full botocore schedule always runs.
pub const RETRY_BUDGET_MS: u64 = 620_000;

/// The HTTP statuses botocore's legacy mode retries whatever the body says
/// (`_retry.json` `__default__` policies `too_many_requests` 429,
/// `general_server_error` 500, `bad_gateway` 502, `service_unavailable` 503,
/// `gateway_timeout` 504, `limit_exceeded` 509).
pub const RETRY_STATUSES: [u16; 6] = [429, 500, 502, 503, 504, 509];

/// The error codes botocore's legacy mode retries for S3, each only with
/// HTTP status 400 (`ServiceErrorCodeChecker` compares status and code):
/// the `__default__` policies `throttling`, `throttling_exception`,
/// `throttled_exception`, `request_throttled_exception`, and the `s3`
/// policies `timeouts` (`RequestTimeout`) and `contentmd5` (`BadDigest`).
/// The longer list of throttling codes (`SlowDown`,
/// `TooManyRequestsException`, `RequestLimitExceeded`, …) belongs to
/// botocore's *standard* mode (`botocore/retries/standard.py`) or, in legacy
/// mode, to other services (dynamodb, ec2, kinesis, sqs, organizations); an
/// S3 client in legacy mode does not retry them.
pub const RETRY_CODES_400: [&str; 6] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "RequestTimeout",
    "BadDigest",
];

/// Whether botocore's legacy retry handler sends the probe again after
/// this outcome (before counting attempts): a connection error or timeout
/// (`general_socket_errors`: botocore's `EndpointConnectionError`,
/// `ConnectTimeoutError`, `ReadTimeoutError`, `ConnectionClosedError`; the
/// host reports all of these as `transport` or `timeout`, and a TLS failure
/// as `transport` too, which botocore would not retry: the verdict is the
/// same FAIL either way, only later), a status of [`RETRY_STATUSES`], or
/// HTTP 400 with an error code of [`RETRY_CODES_400`]. A refusal by the host
/// (`denied`, `no-endpoint`, `too-large`) is not an answer of the cloud and
/// is never retried.
pub fn retryable(outcome: &Outcome) -> bool {
    match outcome {
        Err(HostError::Transport(_) | HostError::Timeout(_)) => true,
        Err(_) => false,
        Ok((status, _)) if RETRY_STATUSES.contains(status) => true,
        Ok((400, body)) => {
            error_code(400, body).is_some_and(|c| RETRY_CODES_400.contains(&c.as_str()))
        }
        Ok(_) => false,
    }
}

/// botocore's legacy backoff before the next attempt, after `attempt`
/// attempts (1-based): `base * 2 ** (attempt - 1)` seconds with `base`
/// drawn uniformly from [0, 1) (`delay_exponential` with `base: "rand"`,
/// `growth_factor: 2`), capped at [`MAX_BACKOFF_MS`]. A check has no random
/// source of its own, so the base is derived deterministically from the
/// check's clock at that moment (`now_ms`, mixed by a SplitMix64 step into
/// a fraction): the waits are as spread as botocore's, and a replay, which
/// replays the clock too, computes the same ones.
pub fn backoff_ms(attempt: u32, now_ms: u64) -> u64 {
    // SplitMix64 finaliser: consecutive clock values give unrelated bases
    let mut z = now_ms.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    // base in [0, 1) with millisecond resolution: 0..=999 ms
    let base_ms = z % 1000;
    let factor = 1u64 << attempt.saturating_sub(1).min(20);
    base_ms.saturating_mul(factor).min(MAX_BACKOFF_MS)
}

/// The result of a probe with its retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRun {
    /// The verdict from the last attempt's answer.
    pub probe: Probe,
    /// How many attempts were sent (1..=[`MAX_ATTEMPTS`]).
    pub attempts: u32,
    /// Whether retrying stopped at [`RETRY_BUDGET_MS`] rather than at the
    /// attempt limit or at an answer botocore does not retry.
    pub budget_exhausted: bool,
}

/// Send the probe the way boto3 in legacy retry mode does: sign and send
/// (each attempt signed anew at the clock's current time, as botocore
/// re-creates the request per attempt); while the answer is [`retryable`]
/// and fewer than [`MAX_ATTEMPTS`] were sent, sleep [`backoff_ms`] on
/// `clock` and send again; then judge the last answer. When botocore gives
/// up on a retryable error answer, its message says
/// `(reached max retries: 4)`; that is kept in the text.
pub fn probe_with(
    root: &str,
    clock: &mut dyn Clock,
    mut send: impl FnMut(&host::Request) -> Outcome,
) -> ProbeRun {
    let started = clock.now_ms();
    let mut attempts = 0u32;
    let mut budget_exhausted = false;
    let last = loop {
        attempts += 1;
        let outcome = send(&request(root, clock.now_ms()));
        if !retryable(&outcome) || attempts >= MAX_ATTEMPTS {
            break outcome;
        }
        let now = clock.now_ms();
        let delay = backoff_ms(attempts, now);
        if now.saturating_sub(started).saturating_add(delay) > RETRY_BUDGET_MS {
            budget_exhausted = true;
            break outcome;
        }
        clock.sleep_ms(delay);
    };
    let max_reached = attempts >= MAX_ATTEMPTS && retryable(&last);
    let probe = match last {
        Ok((status, body)) => {
            let retries = if max_reached { attempts - 1 } else { 0 };
            classify_after(status, &body, retries)
        }
        Err(e) => classify_host_error(&e),
    };
    ProbeRun {
        probe,
        attempts,
        budget_exhausted,
    }
}

/// [`probe_with`] through the host and the host's clock.
pub fn probe(root: &str) -> ProbeRun {
    probe_with(root, &mut scs_check_sdk::wait::HostClock, |req| {
        host::send(req).map(|r| (r.status, r.body))
    })
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

/// How botocore reads an error answer (status >= 301).
enum ErrorShape {
    /// No usable body: botocore's generic error, code = the status.
    Generic,
    /// The parsed `Error` structure.
    Parsed(PyVal),
    /// Reading it raises; the text of that exception.
    Raised(String),
}

fn error_shape(status: u16, body: &[u8]) -> ErrorShape {
    // botocore: a 5xx with an empty or `<html>` body is a generic error
    let stripped = body.trim_ascii();
    if status >= 500 && (stripped.is_empty() || stripped.starts_with(b"<html>")) {
        return ErrorShape::Generic;
    }
    if body.is_empty() {
        return ErrorShape::Generic;
    }
    let Ok(root) = xml::parse(body) else {
        return ErrorShape::Generic;
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
        return ErrorShape::Raised(
            "AttributeError: 'str' object has no attribute 'get'".to_string(),
        );
    }
    ErrorShape::Parsed(error)
}

/// The error code botocore's retry handler sees for an error answer
/// (`parsed['Error']['Code']`): the status for a generic error, the text of
/// `Code` otherwise; None when there is none or reading raises.
pub fn error_code(status: u16, body: &[u8]) -> Option<String> {
    match error_shape(status, body) {
        ErrorShape::Generic => Some(status.to_string()),
        ErrorShape::Parsed(error) => match error.get("Code") {
            Some(PyVal::Text(Some(code))) => Some(code.clone()),
            _ => None,
        },
        ErrorShape::Raised(_) => None,
    }
}

/// The text of the ClientError botocore raises for an error answer
/// (status >= 301), or of the exception it raises instead. `retries` > 0
/// means botocore gave up after that many retries (`MaxAttemptsReached`),
/// which its message names.
fn client_error_text(status: u16, body: &[u8], retries: u32) -> String {
    let retry_info = if retries > 0 {
        format!(" (reached max retries: {retries})")
    } else {
        String::new()
    };
    let error = match error_shape(status, body) {
        ErrorShape::Generic => {
            return format!(
                "An error occurred ({status}) when calling the ListBuckets operation{retry_info}: {}",
                reason(status)
            );
        }
        ErrorShape::Raised(text) => return text,
        ErrorShape::Parsed(error) => error,
    };
    let code = match error.get("Code") {
        // a dict as error code is unhashable in botocore's exception lookup
        Some(PyVal::Dict(_)) => return "TypeError: unhashable type: 'dict'".to_string(),
        Some(v) => v.render(),
        None => "Unknown".to_string(),
    };
    let message = error
        .get("Message")
        .map_or_else(|| "Unknown".to_string(), PyVal::render);
    format!(
        "An error occurred ({code}) when calling the ListBuckets operation{retry_info}: {message}"
    )
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
    classify_after(status, body, 0)
}

/// [`classify`] of the last answer after `retries` retries that ran out
/// (0: botocore did not give up on a retryable answer).
pub fn classify_after(status: u16, body: &[u8], retries: u32) -> Probe {
    let judge = |text: String| {
        if names_rejected_key(&text) {
            Probe::Pass(text)
        } else {
            Probe::Fail(text)
        }
    };
    if status >= 301 {
        return judge(client_error_text(status, body, retries));
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
    use scs_check_sdk::wait::FakeClock;

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

    const S3_503: &[u8] = b"<Error><Code>ServiceUnavailable</Code><Message>Please reduce your request rate.</Message></Error>";

    /// A scripted S3 endpoint: the outcomes of the attempts, in order (the
    /// last one repeats); records the `x-amz-date` of every request.
    struct Endpoint {
        outcomes: Vec<Outcome>,
        dates: Vec<String>,
    }

    impl Endpoint {
        fn new(outcomes: Vec<Outcome>) -> Endpoint {
            Endpoint {
                outcomes,
                dates: Vec::new(),
            }
        }
        fn run(&mut self, clock: &mut FakeClock) -> ProbeRun {
            probe_with("http://s3.example:8080", clock, |req| {
                let date = req
                    .headers
                    .iter()
                    .find(|(k, _)| k == "x-amz-date")
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default();
                self.dates.push(date);
                let i = (self.dates.len() - 1).min(self.outcomes.len() - 1);
                self.outcomes[i].clone()
            })
        }
    }

    fn status(code: u16, body: &[u8]) -> Outcome {
        Ok((code, body.to_vec()))
    }

    fn rejected() -> Outcome {
        status(403, S3_INVALID_KEY.as_bytes())
    }

    fn clock() -> FakeClock {
        FakeClock {
            now: 1_440_938_160_000,
            sleeps: Vec::new(),
        }
    }

    #[test]
    fn retryable_answers_like_botocore_legacy() {
        for st in [429, 500, 502, 503, 504, 509] {
            assert!(retryable(&status(st, b"")), "{st}");
            assert!(retryable(&status(st, S3_503)), "{st} with a body");
            // whatever the code says
            assert!(retryable(&status(st, S3_INVALID_KEY.as_bytes())), "{st}");
        }
        for st in [200, 300, 301, 400, 401, 403, 404, 408, 501, 505, 507] {
            assert!(!retryable(&status(st, b"")), "{st}");
        }
        // HTTP 400 with a throttling code (S3 error document)
        for code in RETRY_CODES_400 {
            let body = format!("<Error><Code>{code}</Code><Message>m</Message></Error>");
            assert!(retryable(&status(400, body.as_bytes())), "{code}");
            // the same code with another status is not retried
            assert!(!retryable(&status(403, body.as_bytes())), "{code} 403");
        }
        // ... also wrapped (rest-xml style)
        assert!(retryable(&status(
            400,
            b"<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>"
        )));
        // codes of botocore's standard mode or other services: not for S3 in legacy mode
        for code in [
            "SlowDown",
            "TooManyRequestsException",
            "TransactionInProgressException",
            "RequestLimitExceeded",
            "BandwidthLimitExceeded",
            "LimitExceededException",
            "RequestThrottled",
            "ProvisionedThroughputExceededException",
            "EC2ThrottledException",
            "InvalidAccessKeyId",
        ] {
            let body = format!("<Error><Code>{code}</Code></Error>");
            assert!(!retryable(&status(400, body.as_bytes())), "{code}");
        }
        // connection failures and timeouts are retried, refusals are not
        assert!(retryable(&Err(HostError::Transport("refused".into()))));
        assert!(retryable(&Err(HostError::Timeout("slow".into()))));
        assert!(!retryable(&Err(HostError::Denied("cap".into()))));
        assert!(!retryable(&Err(HostError::NoEndpoint("none".into()))));
        assert!(!retryable(&Err(HostError::TooLarge("big".into()))));
    }

    #[test]
    fn backoff_is_botocores_exponential_with_a_clock_derived_base() {
        for now in [0u64, 1, 999, 1_440_938_160_000, u64::MAX] {
            for attempt in 1..=4u32 {
                let d = backoff_ms(attempt, now);
                let cap = 1000u64 << (attempt - 1);
                assert!(d < cap, "attempt {attempt} at {now}: {d} ms");
                // the same base doubles per attempt
                assert_eq!(d, backoff_ms(1, now) << (attempt - 1));
            }
            // deterministic: the same clock gives the same wait
            assert_eq!(backoff_ms(3, now), backoff_ms(3, now));
        }
        // the bases are spread over [0, 1) s, not stuck at one value
        let bases: std::collections::BTreeSet<u64> =
            (0..200u64).map(|t| backoff_ms(1, 1_000_000 + t)).collect();
        assert!(bases.len() > 100, "{}", bases.len());
        assert!(bases.iter().any(|b| *b < 200) && bases.iter().any(|b| *b > 800));
        // capped, should the attempts ever grow
        assert!(backoff_ms(40, 12345) <= MAX_BACKOFF_MS);
    }

    #[test]
    fn a_flaky_endpoint_gets_the_verdict_of_its_first_real_answer() {
        // three 503s, then S3 answers: PASS after four attempts
        let mut c = clock();
        let mut ep = Endpoint::new(vec![
            status(503, b""),
            status(503, S3_503),
            status(503, b"<html>busy</html>"),
            rejected(),
        ]);
        let run = ep.run(&mut c);
        assert!(pass(&run.probe), "{run:?}");
        assert_eq!(run.attempts, 4);
        assert!(!run.budget_exhausted);
        assert_eq!(c.sleeps.len(), 3);
        for (i, ms) in c.sleeps.iter().enumerate() {
            assert!(*ms < 1000 << i, "sleep {i}: {ms}");
        }
        // four 503s: the fifth and last attempt still counts
        let mut c = clock();
        let mut ep = Endpoint::new(vec![
            status(503, b""),
            status(503, b""),
            status(503, b""),
            status(503, b""),
            rejected(),
        ]);
        let run = ep.run(&mut c);
        assert!(pass(&run.probe), "{run:?}");
        assert_eq!(run.attempts, 5);
        assert_eq!(c.sleeps.len(), 4);
        // each attempt is signed anew, at the clock's time
        assert_eq!(ep.dates.len(), 5);
        // throttling, then a refusal of the key
        let mut c = clock();
        let mut ep = Endpoint::new(vec![
            status(400, b"<Error><Code>Throttling</Code></Error>"),
            status(429, b""),
            rejected(),
        ]);
        assert!(pass(&ep.run(&mut c).probe));
        // connection trouble, then an answer
        let mut c = clock();
        let mut ep = Endpoint::new(vec![
            Err(HostError::Transport("connection reset".into())),
            Err(HostError::Timeout("no answer in 32 s".into())),
            rejected(),
        ]);
        let run = ep.run(&mut c);
        assert!(pass(&run.probe), "{run:?}");
        assert_eq!(run.attempts, 3);
    }

    #[test]
    fn an_endpoint_that_stays_down_fails_after_five_attempts() {
        let mut c = clock();
        let mut ep = Endpoint::new(vec![status(503, b"")]);
        let run = ep.run(&mut c);
        assert_eq!(
            run.probe,
            Probe::Fail(
                "An error occurred (503) when calling the ListBuckets operation \
                 (reached max retries: 4): Service Unavailable"
                    .to_string()
            )
        );
        assert_eq!(run.attempts, 5);
        assert_eq!(c.sleeps.len(), 4);
        assert!(c.sleeps.iter().sum::<u64>() < 15_000);
        // a retryable answer that names the key still passes when retries run out
        let mut c = clock();
        let mut ep = Endpoint::new(vec![status(
            503,
            b"<Error><Code>InvalidAccessKeyId</Code><Message>m</Message></Error>",
        )]);
        let run = ep.run(&mut c);
        assert!(pass(&run.probe));
        assert_eq!(run.attempts, 5);
        // unreachable all along: FAIL after five attempts
        let mut c = clock();
        let mut ep = Endpoint::new(vec![Err(HostError::Transport("refused".into()))]);
        let run = ep.run(&mut c);
        assert!(fail(&run.probe));
        assert_eq!(run.attempts, 5);
    }

    #[test]
    fn answers_botocore_does_not_retry_are_judged_at_once() {
        for outcome in [
            rejected(),
            status(403, b"<Error><Code>AccessDenied</Code></Error>"),
            status(400, b"<Error><Code>SlowDown</Code></Error>"),
            status(200, b""),
            status(404, b"Not Found"),
            Err(HostError::Denied("no cap".into())),
        ] {
            let mut c = clock();
            let mut ep = Endpoint::new(vec![outcome.clone(), rejected()]);
            let run = ep.run(&mut c);
            assert_eq!(run.attempts, 1, "{outcome:?}");
            assert!(c.sleeps.is_empty());
            assert_eq!(run.probe, {
                let mut c2 = clock();
                Endpoint::new(vec![outcome]).run(&mut c2).probe
            });
        }
        // 501 is no status botocore retries
        let mut c = clock();
        let run = Endpoint::new(vec![status(501, b""), rejected()]).run(&mut c);
        assert!(fail(&run.probe));
        assert_eq!(run.attempts, 1);
    }

    #[test]
    fn retries_stop_at_the_time_budget() {
        // slow attempts (the clock moves 150 s per reading, about 300 s per
        // attempt): retrying stops before the check's deadline would
        struct Jumpy(FakeClock);
        impl Clock for Jumpy {
            fn now_ms(&mut self) -> u64 {
                self.0.now += 150_000;
                self.0.now
            }
            fn sleep_ms(&mut self, ms: u64) {
                self.0.sleep_ms(ms);
            }
        }
        let mut j = Jumpy(clock());
        let run = probe_with("http://s3", &mut j, |_| {
            Err(HostError::Timeout("no answer".into()))
        });
        assert!(run.budget_exhausted);
        assert!(run.attempts < MAX_ATTEMPTS, "{run:?}");
        assert!(fail(&run.probe));
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

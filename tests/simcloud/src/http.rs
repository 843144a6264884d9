//! Small HTTP helpers shared by the API modules: query-string decoding and Python-style
//! encoding (`urllib.parse.urlencode`), and response builders.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// Decode an `application/x-www-form-urlencoded` query string into ordered pairs.
/// Invalid escapes are kept literally; invalid UTF-8 is replaced (never fails).
pub(crate) fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(pair), String::new()),
        })
        .collect()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode(text: &str) -> String {
    decode_with(text, true)
}

/// Percent-decode one path segment (`+` stays `+`).
pub(crate) fn decode_path_segment(text: &str) -> String {
    decode_with(text, false)
}

fn decode_with(text: &str, plus_is_space: bool) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hi = bytes.get(i + 1).copied().and_then(hex_value);
                let lo = bytes.get(i + 2).copied().and_then(hex_value);
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi * 16 + lo);
                    i += 3;
                } else {
                    out.push(b'%');
                    i += 1;
                }
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `urllib.parse.quote_plus`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(char::from(b));
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `urllib.parse.urlencode` of ordered pairs.
pub(crate) fn encode_query(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Python `dict(pairs)`: the first position of a key, the last value.
pub(crate) fn dict(pairs: &[(String, String)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in pairs {
        match out.iter_mut().find(|(key, _)| key == k) {
            Some(slot) => slot.1 = v.clone(),
            None => out.push((k.clone(), v.clone())),
        }
    }
    out
}

/// The last value of a query parameter (webob's `params.get`).
pub(crate) fn param<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A header value as text, if present and ASCII.
pub(crate) fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// A plain-text response.
pub(crate) fn text_response(status: StatusCode, body: String) -> Response {
    let mut resp = (status, Body::from(body)).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    resp
}

/// Add a header; values that are not valid header text are skipped.
pub(crate) fn with_header(mut resp: Response, name: &'static str, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        resp.headers_mut()
            .insert(HeaderName::from_static(name), value);
    }
    resp
}

/// The generic simcloud / Keystone error body: `{"error": {"code", "title", "message"}}`.
pub(crate) fn error_response(status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    json_response(
        status,
        &json!({"error": {"code": status.as_u16(), "title": title, "message": message}}),
    )
}

/// 404 for anything simcloud does not implement.
pub(crate) fn not_found(method: &str, path: &str) -> Response {
    error_response(
        StatusCode::NOT_FOUND,
        &format!("The resource could not be found: simcloud does not implement {method} {path}"),
    )
}

/// 405 for a known path with an unsupported method.
pub(crate) fn method_not_allowed(method: &str, path: &str) -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("The method {method} is not supported for {path}"),
    )
}

/// An error response carried in `Err` (boxed: responses are large).
pub(crate) type Fail = Box<Response>;

/// A Nova/Cinder fault body: `{"<kind>": {"code": N, "message": "..."}}`.
pub(crate) fn fault(status: StatusCode, kind: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({ kind: {"code": status.as_u16(), "message": message} }),
    )
}

/// The Nova/Cinder fault kind of a status (webob's names as both services map them).
pub(crate) fn fault_kind(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "badRequest",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "itemNotFound",
        405 => "badMethod",
        409 => "conflictingRequest",
        413 | 429 => "overLimit",
        415 => "badMediaType",
        501 => "notImplemented",
        503 => "serviceUnavailable",
        _ => "computeFault",
    }
}

/// A Nova/Cinder fault with the kind that belongs to the status.
pub(crate) fn fault_for(status: StatusCode, message: &str) -> Response {
    fault(status, fault_kind(status), message)
}

/// Parse a JSON request body; the error text says what is wrong.
pub(crate) fn json_body(body: &[u8]) -> Result<Value, String> {
    if body.is_empty() {
        return Err("The request body is empty; a JSON object is required.".into());
    }
    serde_json::from_slice::<Value>(body).map_err(|e| format!("Malformed request body: {e}"))
}

/// `X.Y` with X >= 1 and no leading zeros (the `APIVersionRequest` format of Nova and Cinder).
pub(crate) fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    let number = |s: &str, allow_zero: bool| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if s.len() > 1 && s.starts_with('0') {
            return None;
        }
        let n: u32 = s.parse().ok()?;
        (allow_zero || n > 0).then_some(n)
    };
    Some((number(major, false)?, number(minor, true)?))
}

/// The version requested for `service` in `OpenStack-API-Version` (e.g. `volume 3.60`).
pub(crate) fn requested_version(headers: &HeaderMap, service: &str) -> Option<String> {
    for value in headers.get_all("openstack-api-version") {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut words = item.split_whitespace();
            if let (Some(name), Some(version)) = (words.next(), words.next())
                && name.eq_ignore_ascii_case(service)
            {
                return Some(version.to_owned());
            }
        }
    }
    None
}

/// Negotiate a microversion: none -> `min`, `latest` -> `max`, bad format -> 400, out of
/// range -> 406 (the Nova/Cinder rules).
pub(crate) fn negotiate_version(
    requested: Option<String>,
    min: (u32, u32),
    max: (u32, u32),
) -> Result<(u32, u32), Box<Response>> {
    let Some(text) = requested else {
        return Ok(min);
    };
    if text.eq_ignore_ascii_case("latest") {
        return Ok(max);
    }
    let Some(version) = parse_version(&text) else {
        return Err(Box::new(fault(
            StatusCode::BAD_REQUEST,
            "badRequest",
            &format!(
                "API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum."
            ),
        )));
    };
    if version < min || version > max {
        return Err(Box::new(fault(
            StatusCode::NOT_ACCEPTABLE,
            "computeFault",
            &format!(
                "Version {text} is not supported by the API. Minimum is {}.{} and maximum is {}.{}.",
                min.0, min.1, max.0, max.1
            ),
        )));
    }
    Ok(version)
}

/// Path segments after the mount, percent-decoded.
pub(crate) fn segments(route: &str) -> Vec<String> {
    route
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode_path_segment)
        .collect()
}

/// OpenStack's timestamp formats.
pub(crate) fn iso_micro(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6f").to_string()
}

/// `2025-01-01T00:00:00Z`.
pub(crate) fn iso_z(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A non-negative integer query parameter (`None` if absent); the error names the parameter.
pub(crate) fn uint_param(pairs: &[(String, String)], name: &str) -> Result<Option<u64>, String> {
    match param(pairs, name) {
        None => Ok(None),
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Ok(u64::try_from(n).ok()),
            Ok(_) => Err(format!("{name} param must be positive")),
            Err(_) => Err(format!("{name} param must be an integer")),
        },
    }
}

/// `oslo_utils.strutils.bool_from_string(strict=True)`.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Some(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn query_round_trip() {
        let parsed = parse_query("name=Ubuntu+24.04&x=%2Fa%3Db&flag&bad=%zz&=v&&u=%C3%A4");
        assert_eq!(
            parsed,
            pairs(&[
                ("name", "Ubuntu 24.04"),
                ("x", "/a=b"),
                ("flag", ""),
                ("bad", "%zz"),
                ("", "v"),
                ("u", "ä"),
            ])
        );
        assert_eq!(
            encode_query(&pairs(&[("name", "Ubuntu 24.04"), ("m", "a/b:c~")])),
            "name=Ubuntu+24.04&m=a%2Fb%3Ac~"
        );
        assert_eq!(parse_query("%"), pairs(&[("%", "")]));
        assert_eq!(decode_path_segment("a+b%20c"), "a+b c");
    }

    #[test]
    fn dict_keeps_first_position_and_last_value() {
        let d = dict(&pairs(&[("a", "1"), ("b", "2"), ("a", "3")]));
        assert_eq!(d, pairs(&[("a", "3"), ("b", "2")]));
        assert_eq!(param(&pairs(&[("a", "1"), ("a", "2")]), "a"), Some("2"));
        assert_eq!(param(&pairs(&[("a", "1")]), "b"), None);
    }
}

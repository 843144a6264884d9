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

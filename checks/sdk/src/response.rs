//! Judging a response that was already received, for callers that must
//! look at the status first (404 means "gone", not "error").
//!
//! Owns: turning a [`Response`] into the same [`ApiError`]s that
//! [`Request::send_ok`] / [`Request::send_json`] produce, the full body
//! text of an error, and the text of the exception openstacksdk raises for
//! an error response ([`sdk_exception_text`]), for callers that match on
//! what the official code searches in `str(e)` (d.9).
//!
//! Must never: send anything itself, or treat a non-2xx status as success.

use crate::bindings::scs::check::openstack::Response;
use crate::json::JsonError;
use crate::openstack::{ApiError, Request};
use crate::python_str as pystr;
use serde_json::Value;

/// `Ok(resp)` for 2xx, else the [`ApiError::Status`] that `send_ok` gives.
pub fn ok(req: &Request, resp: Response) -> Result<Response, ApiError> {
    if (200..300).contains(&resp.status) {
        Ok(resp)
    } else {
        let body = String::from_utf8_lossy(&resp.body);
        Err(ApiError::Status {
            what: req.describe(),
            status: resp.status,
            body: body.chars().take(200).collect(),
        })
    }
}

/// The JSON body of a 2xx response, else the error `send_json` gives.
pub fn json(req: &Request, resp: Response) -> Result<Value, ApiError> {
    let resp = ok(req, resp)?;
    serde_json::from_slice(&resp.body).map_err(|e| {
        ApiError::Json(JsonError {
            source: req.describe(),
            path: "(root)".to_string(),
            problem: format!("body is not valid JSON: {e}"),
        })
    })
}

/// The whole body as text (lossy UTF-8).
pub fn body_text(resp: &Response) -> String {
    String::from_utf8_lossy(&resp.body).into_owned()
}

/// The reason phrase of a status line, as servers send it (requests'
/// `response.reason`); empty for codes without a standard phrase.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        412 => "Precondition Failed",
        413 => "Payload Too Large",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

/// Python `str()` of a JSON value as `json.loads` gives it: a string as
/// is, anything else in Python's literal form (`True`, `None`, `['a']`,
/// `{'k': 1}`). Numbers use JSON's spelling, which can differ from
/// Python's for floats (`1e16` vs `1e+16`), and object keys come in
/// sorted order rather than the body's; no text search for a word depends
/// on either.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => pystr::repr(s),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("{}: {}", pystr::repr(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python truthiness of a JSON value.
fn py_truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// openstacksdk's `_extract_message`: a dict's truthy `message`, else its
/// truthy `faultstring`, as `str()`; a string is parsed as JSON once more
/// and looked into (double-encoded bodies); anything else has none.
fn extract_message(v: &Value) -> Option<String> {
    match v {
        Value::Object(o) => {
            for key in ["message", "faultstring"] {
                if let Some(m) = o.get(key).filter(|m| py_truthy(m)) {
                    return Some(py_str(m));
                }
            }
            None
        }
        Value::String(s) => serde_json::from_str::<Value>(s)
            .ok()
            .and_then(|inner| extract_message(&inner)),
        _ => None,
    }
}

/// Python `re.sub(r'<.+?>', '', line)` for one line (no newline in it):
/// every `<`, at least one character, and the nearest `>` after them go.
fn strip_tags(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(lt) = rest.find('<') {
        // `.+?` needs one character after `<` before the closing `>`
        let after_lt = &rest[lt + 1..];
        let Some(first) = after_lt.chars().next() else {
            break;
        };
        match after_lt[first.len_utf8()..].find('>') {
            Some(gt) => {
                out.push_str(&rest[..lt]);
                rest = &after_lt[first.len_utf8() + gt + 1..];
            }
            None => {
                // no match can start here; keep the `<` and go on
                out.push_str(&rest[..=lt]);
                rest = after_lt;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `details` openstacksdk's `exceptions.raise_from_response` puts into
/// the exception for an error response (openstacksdk 4.x):
///
/// - a non-empty body with a content type containing `application/json`:
///   the `message`s of the top-level values (see [`extract_message`]),
///   else the root's own `message`, joined with newlines; a body that is
///   not JSON or not an object gives the whole body text;
/// - a non-empty body with a content type containing `text/html`: every
///   line stripped and without tags, first occurrences only, joined with
///   `": "`;
/// - otherwise, or when that came out empty: the reason phrase of the
///   status line, else the body text. The host does not pass the reason
///   phrase on; the standard phrase of the status is assumed
///   ([`reason_phrase`]).
pub fn sdk_error_details(status: u16, headers: &[(String, String)], body: &[u8]) -> String {
    let content_type = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map_or("", |(_, v)| v.as_str());
    let text = String::from_utf8_lossy(body);
    let mut details = String::new();
    if !body.is_empty() && content_type.contains("application/json") {
        details = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(o)) => {
                let mut messages: Vec<String> = o.values().filter_map(extract_message).collect();
                if messages.is_empty() {
                    // WSME: the error may be the root object itself
                    messages = extract_message(&Value::Object(o)).into_iter().collect();
                }
                messages.join("\n")
            }
            // `.values()` of a list or a string, or invalid JSON: raised
            // inside the try, which falls back to the body text
            _ => text.clone().into_owned(),
        };
    } else if !body.is_empty() && content_type.contains("text/html") {
        let mut messages: Vec<String> = Vec::new();
        for line in pystr::splitlines(&text) {
            let m = strip_tags(pystr::strip(line));
            if !messages.contains(&m) {
                messages.push(m);
            }
        }
        details = messages
            .into_iter()
            .filter(|m| !m.is_empty())
            .collect::<Vec<_>>()
            .join(": ");
    }
    if details.is_empty() {
        let reason = reason_phrase(status);
        details = if reason.is_empty() {
            text.into_owned()
        } else {
            reason.to_string()
        };
    }
    details
}

/// `str(e)` of the exception openstacksdk raises for an error response
/// (status >= 400) to a request for `url` (openstacksdk 4.x
/// `HttpException.__str__`, no explicit error message given):
/// `<Class>: <status>: <Client|Server> Error for url: <url>, <details>`,
/// the class named by the status (404 `NotFoundException`, 400
/// `BadRequestException`, 403 `ForbiddenException`, 409
/// `ConflictException`, 412 `PreconditionFailedException`, else
/// `HttpException`), `Client` for 4xx, and the `, <details>` part only when
/// the details are non-empty.
pub fn sdk_exception_text(
    url: &str,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> String {
    let class = match status {
        400 => "BadRequestException",
        403 => "ForbiddenException",
        404 => "NotFoundException",
        409 => "ConflictException",
        412 => "PreconditionFailedException",
        _ => "HttpException",
    };
    let source = if (400..500).contains(&status) {
        "Client"
    } else {
        "Server"
    };
    let details = sdk_error_details(status, headers, body);
    let mut remote = format!("{source} Error for url: {url}");
    if !details.is_empty() {
        remote.push_str(", ");
        remote.push_str(&details);
    }
    format!("{class}: {status}: {remote}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_ct() -> Vec<(String, String)> {
        vec![(
            "content-type".to_string(),
            "application/json; charset=UTF-8".to_string(),
        )]
    }

    fn ct(v: &str) -> Vec<(String, String)> {
        vec![("content-type".to_string(), v.to_string())]
    }

    #[test]
    fn exception_text_like_openstacksdk() {
        let body = br#"{"itemNotFound": {"code": 404, "message": "Service cinder-backup could not be found."}}"#;
        assert_eq!(
            sdk_exception_text("http://c/v3/p/backups/b1", 404, &json_ct(), body),
            "NotFoundException: 404: Client Error for url: http://c/v3/p/backups/b1, \
             Service cinder-backup could not be found."
        );
        // no body: the reason phrase
        assert_eq!(
            sdk_exception_text("http://c/x", 503, &[], b""),
            "HttpException: 503: Server Error for url: http://c/x, Service Unavailable"
        );
        assert_eq!(
            sdk_exception_text("http://c/x", 409, &[], b"busy"),
            "ConflictException: 409: Client Error for url: http://c/x, Conflict"
        );
    }

    #[test]
    fn json_details() {
        let d = |body: &str| sdk_error_details(404, &json_ct(), body.as_bytes());
        // the messages of the top-level values, joined with newlines
        assert_eq!(
            d(r#"{"a": {"message": "x"}, "b": {"message": "y"}}"#),
            "x\ny"
        );
        // only `message` (then `faultstring`) counts, not other fields
        assert_eq!(
            d(r#"{"e": {"code": 404, "details": "cinder-backup"}}"#),
            "Not Found"
        );
        assert_eq!(d(r#"{"e": {"faultstring": "f", "title": "t"}}"#), "f");
        assert_eq!(d(r#"{"e": {"message": "", "faultstring": "f"}}"#), "f");
        // the root's own message (WSME), only if no value has one
        assert_eq!(d(r#"{"message": "root", "code": 1}"#), "root");
        assert_eq!(
            d(r#"{"message": "root", "e": {"message": "inner"}}"#),
            "inner"
        );
        // a non-string message through str()
        assert_eq!(d(r#"{"e": {"message": ["a", 1, null]}}"#), "['a', 1, None]");
        assert_eq!(d(r#"{"e": {"message": 0}}"#), "Not Found");
        // double-encoded JSON
        assert_eq!(d(r#"{"e": "{\"message\": \"inner\"}"}"#), "inner");
        // not an object, or not JSON: the whole body
        assert_eq!(d(r#"["cinder-backup"]"#), r#"["cinder-backup"]"#);
        assert_eq!(d("cinder-backup?"), "cinder-backup?");
        // the content type must name application/json (case matters)
        assert_eq!(
            sdk_error_details(404, &ct("Application/JSON"), br#"{"e": {"message": "m"}}"#),
            "Not Found"
        );
    }

    #[test]
    fn other_details() {
        // plain text: the reason phrase, not the body
        assert_eq!(
            sdk_error_details(
                404,
                &ct("text/plain"),
                b"Service cinder-backup could not be found."
            ),
            "Not Found"
        );
        // ... unless the status has no standard phrase
        assert_eq!(sdk_error_details(499, &[], b"body"), "body");
        // html: lines stripped, tags removed, repeats dropped, joined by ": "
        let html = b"<html>\n <h1>404 Not Found</h1>\n\n<p>cinder-<b>backup</b> gone</p>\n<h1>404 Not Found</h1>\n</html>";
        assert_eq!(
            sdk_error_details(404, &ct("text/html; charset=UTF-8"), html),
            "404 Not Found: cinder-backup gone"
        );
        // a word only inside a tag disappears
        assert_eq!(
            sdk_error_details(404, &ct("text/html"), b"<a href='cinder-backup'>x</a>"),
            "x"
        );
    }

    #[test]
    fn tags_like_pythons_regex() {
        assert_eq!(strip_tags("a<b>c"), "ac");
        assert_eq!(strip_tags("a<>c>d"), "ad");
        assert_eq!(strip_tags("a<>"), "a<>");
        assert_eq!(strip_tags("x < y"), "x < y");
        assert_eq!(strip_tags("<<a>>"), ">");
        assert_eq!(strip_tags("é<ü>ö"), "éö");
    }
}

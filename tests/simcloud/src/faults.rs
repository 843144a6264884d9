//! Fault injection (`faults:` in the fixture): injected error statuses and redirects, latency, truncated JSON
//! and slowly streamed bodies. Token expiry (`token_ttl_secs`, `expire_tokens_after_requests`)
//! lives in the token store of `server` and in `keystone`. Nothing here touches `/_sim/...`.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Response;

use crate::http::error_response;
use crate::server::Shared;

fn exempt(path: &str) -> bool {
    path == "/_sim" || path.starts_with("/_sim/")
}

/// The injected error for this request, if a `faults.errors` rule with hits left matches.
pub(crate) fn injected_error(shared: &Shared, method: &str, path: &str) -> Option<Response> {
    if exempt(path) {
        return None;
    }
    let mut hits = shared
        .fault_hits
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for (i, rule) in shared.world.fault_rules.iter().enumerate() {
        if !rule.matches(method, path) {
            continue;
        }
        let Some(count) = hits.get_mut(i) else {
            continue;
        };
        if rule.count.is_some_and(|max| *count >= max) {
            continue;
        }
        *count += 1;
        let status = StatusCode::from_u16(rule.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Some(error_response(
            status,
            &format!("simcloud injected fault (faults.errors[{i}]) for {method} {path}"),
        ));
    }
    None
}

/// The redirect for this request, if a `faults.redirects` rule matches.
pub(crate) fn injected_redirect(shared: &Shared, path: &str, query: &str) -> Option<Response> {
    if exempt(path) {
        return None;
    }
    let mut hits = shared
        .redirect_hits
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (i, rule) = shared
        .fixture
        .faults
        .redirects
        .iter()
        .enumerate()
        .find(|(i, r)| {
            path.starts_with(&r.from)
                && r.count
                    .is_none_or(|max| hits.get(*i).is_some_and(|n| *n < max))
        })?;
    if let Some(n) = hits.get_mut(i) {
        *n += 1;
    }
    let rest = &path[rule.from.len()..];
    let mut location = format!("{}{rest}", rule.to);
    if !query.is_empty() {
        location = format!("{location}?{query}");
    }
    let status = StatusCode::from_u16(rule.status).unwrap_or(StatusCode::TEMPORARY_REDIRECT);
    Response::builder()
        .status(status)
        .header(header::LOCATION, location)
        .body(Body::empty())
        .ok()
}

fn is_json(resp: &Response) -> bool {
    resp.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"))
}

/// Apply `malformed_json`, `slow_body` and `latency_ms` to a finished response.
pub(crate) async fn shape_response(shared: &Shared, path: &str, resp: Response) -> Response {
    if exempt(path) {
        return resp;
    }
    let faults = &shared.fixture.faults;
    let malformed = is_json(&resp) && faults.malformed_json.iter().any(|p| path.starts_with(p));
    let slow = faults
        .slow_body
        .as_ref()
        .filter(|s| path.starts_with(&s.path_prefix))
        .map(|s| s.bytes_per_sec.max(1));
    let mut resp = resp;
    if malformed || slow.is_some() {
        let (mut parts, body) = resp.into_parts();
        let mut bytes = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap_or_default();
        if malformed && !bytes.is_empty() {
            // Cutting a JSON object or array before its end always leaves invalid JSON.
            bytes = if bytes.len() < 2 {
                Bytes::from_static(b"{")
            } else {
                bytes.slice(..bytes.len() / 2)
            };
        }
        parts.headers.remove(header::CONTENT_LENGTH);
        let body = match slow {
            Some(rate) => slow_stream(bytes, rate),
            None => Body::from(bytes),
        };
        resp = Response::from_parts(parts, body);
    }
    if faults.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(faults.latency_ms)).await;
    }
    resp
}

/// Stream `bytes` at about `rate` bytes per second, in chunks of a tenth of a second.
fn slow_stream(bytes: Bytes, rate: u64) -> Body {
    let chunk = usize::try_from((rate / 10).max(1)).unwrap_or(1);
    let chunk_u64 = u64::try_from(chunk).unwrap_or(1);
    let interval = Duration::from_millis((chunk_u64.saturating_mul(1000) / rate).max(1));
    let stream = futures::stream::unfold((bytes, 0usize), move |(bytes, pos)| async move {
        if pos >= bytes.len() {
            return None;
        }
        tokio::time::sleep(interval).await;
        let end = (pos + chunk).min(bytes.len());
        let piece = bytes.slice(pos..end);
        Some((Ok::<Bytes, std::io::Error>(piece), (bytes, end)))
    });
    Body::from_stream(stream)
}

//! What the compliance monitor holds for one subject and scope: its `GET /status` answer
//! (docs/official-behaviour.md c.5), read for `run --due`.
//!
//! Owns: the request (`<monitor URL>/status?subject=S&scopeuuid=U`, `Accept:
//! application/json`, the upload account's HTTP Basic credentials: the endpoint of the current
//! monitor is public, but older ones and gated deployments show an account its own results
//! only, one try bounded by the upload policy's timeout, no redirects), the bound on the answer ([`MAX_STATUS_BYTES`], checked
//! while reading, before more memory is spent; an error answer is read only for its one-line
//! detail, as an upload's), and reading the per-testcase results out of
//! the evaluated scope: `{subject: {scopeuuid: {"results": {testcase: {"result": 1|0|-1,
//! "checked_at": "…"}}}}}`. A subject or scope the monitor does not know is an empty answer.
//!
//! Must never: send the credentials anywhere but the monitor the reports go to (same origin,
//! no redirects), or turn a malformed answer into results: the caller falls back to the local
//! history.

use super::upload::Monitor;
use chrono::NaiveDateTime;
use std::collections::BTreeMap;

/// How much of a `/status` answer is read: the evaluated scope of one subject (every
/// version's targets and a result per testcase) is some tens of KiB.
pub const MAX_STATUS_BYTES: usize = 4 << 20;

/// Results per testcase (at most this many; a scope has a few dozen).
pub const MAX_STATUS_RESULTS: usize = 10_000;

/// One testcase's newest result at the monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorResult {
    /// 1 PASS, 0 ABORT, -1 FAIL.
    pub result: i8,
    /// When it was checked (the report's `checked_at`, naive local time as the monitor keeps it).
    pub checked_at: NaiveDateTime,
}

/// Why the monitor's results could not be read (the run then decides from the local history).
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// No connection, timeout, or the body broke off.
    #[error("{url}: cannot read the monitor's results: {message}")]
    Unreachable {
        /// The request.
        url: String,
        /// Why.
        message: String,
    },
    /// Any status but 200.
    #[error("{url}: the monitor answered HTTP {status}{detail}")]
    Status {
        /// The request.
        url: String,
        /// HTTP status.
        status: u16,
        /// `: <server detail>` or empty.
        detail: String,
    },
    /// Longer than [`MAX_STATUS_BYTES`].
    #[error("{url}: the monitor's answer is longer than {limit} bytes; not read")]
    TooLarge {
        /// The request.
        url: String,
        /// The bound.
        limit: usize,
    },
    /// Not the evaluated-scope JSON.
    #[error("{url}: the monitor's answer is not its status JSON: {message}")]
    Malformed {
        /// The request.
        url: String,
        /// What is wrong, naming the field.
        message: String,
    },
}

/// The monitor's newest result per testcase of `subject` and the scope `scope_uuid`.
pub async fn results(
    monitor: &Monitor,
    subject: &str,
    scope_uuid: &str,
) -> Result<BTreeMap<String, MonitorResult>, StatusError> {
    let mut url = monitor.endpoint("status");
    url.query_pairs_mut()
        .append_pair("subject", subject)
        .append_pair("scopeuuid", scope_uuid);
    let shown = url.to_string();
    let unreachable = |e: reqwest::Error| StatusError::Unreachable {
        url: shown.clone(),
        message: if e.is_timeout() {
            format!(
                "no answer within {} s",
                monitor.policy().timeout.as_secs_f64()
            )
        } else {
            crate::errtext::error_chain(&e)
        },
    };
    let mut resp = monitor
        .http()
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .header(reqwest::header::AUTHORIZATION, monitor.authorization())
        .send()
        .await
        .map_err(unreachable)?;
    let status = resp.status().as_u16();
    if status != 200 {
        // as for an upload: the beginning of the body gives the one-line detail
        let body = super::upload::read_answer(&mut resp)
            .await
            .unwrap_or_default();
        return Err(StatusError::Status {
            url: shown,
            status,
            detail: super::upload::detail_of(&body),
        });
    }
    let body = crate::http_body::read_capped(&mut resp, MAX_STATUS_BYTES as u64)
        .await
        .map_err(|e| match e {
            crate::http_body::BodyError::TooLarge(_) => StatusError::TooLarge {
                url: shown.clone(),
                limit: MAX_STATUS_BYTES,
            },
            crate::http_body::BodyError::Transport(e) => unreachable(e),
        })?;
    parse(&body, subject, scope_uuid).map_err(|message| StatusError::Malformed {
        url: shown,
        message,
    })
}

/// The results out of a `/status` body.
fn parse(
    body: &[u8],
    subject: &str,
    scope_uuid: &str,
) -> Result<BTreeMap<String, MonitorResult>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let top = v
        .as_object()
        .ok_or("the answer is not a JSON object of subjects")?;
    let Some(scopes) = top.get(subject) else {
        return Ok(BTreeMap::new());
    };
    let scopes = scopes
        .as_object()
        .ok_or_else(|| format!("[{subject:?}] is not an object of scopes"))?;
    let Some(scope) = scopes.get(scope_uuid) else {
        return Ok(BTreeMap::new());
    };
    let field = format!("[{subject:?}][{scope_uuid:?}].results");
    let results = match scope.get("results") {
        None | Some(serde_json::Value::Null) => return Ok(BTreeMap::new()),
        Some(r) => r
            .as_object()
            .ok_or_else(|| format!("{field} is not an object of testcases"))?,
    };
    if results.len() > MAX_STATUS_RESULTS {
        return Err(format!(
            "{field} has {} testcases, more than {MAX_STATUS_RESULTS}",
            results.len()
        ));
    }
    let mut out = BTreeMap::new();
    for (tc, r) in results {
        let f = format!("{field}[{tc:?}]");
        let result = match r.get("result").and_then(serde_json::Value::as_i64) {
            Some(n @ -1..=1) => n as i8,
            _ => return Err(format!("{f}.result is not 1, 0 or -1")),
        };
        let checked_at = r
            .get("checked_at")
            .and_then(serde_json::Value::as_str)
            .and_then(parse_checked_at)
            .ok_or_else(|| format!("{f}.checked_at is not a date and time"))?;
        out.insert(tc.clone(), MonitorResult { result, checked_at });
    }
    Ok(out)
}

/// The monitor's `checked_at`: ISO 8601 as Python writes a naive `datetime`
/// (`2026-12-01T08:00:00` or with microseconds), or with a space; an offset, when there is
/// one, is dropped (the monitor compares naive local times).
fn parse_checked_at(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t);
        }
    }
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.naive_local())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        parse_checked_at(s).expect("time")
    }

    #[test]
    fn reads_the_results_of_the_evaluated_scope() {
        let body = br#"{"c": {"u": {"name": "x", "results": {
            "a": {"result": 1, "checked_at": "2026-12-01T08:00:00", "report": "r1"},
            "b": {"result": -1, "checked_at": "2026-12-02 09:30:00.250000", "report": "r2"},
            "c": {"result": 0, "checked_at": "2026-12-03T10:00:00+01:00"}}}}}"#;
        let r = parse(body, "c", "u").expect("parse");
        assert_eq!(r.len(), 3);
        assert_eq!(r["a"].result, 1);
        assert_eq!(r["a"].checked_at, t("2026-12-01T08:00:00"));
        assert_eq!(r["b"].result, -1);
        assert_eq!(r["b"].checked_at, t("2026-12-02T09:30:00.25"));
        assert_eq!(r["c"].checked_at, t("2026-12-03T10:00:00"));
    }

    #[test]
    fn an_unknown_subject_or_scope_has_no_results() {
        let body = br#"{"c": {"u": {"results": {}}}}"#;
        assert!(parse(body, "other", "u").expect("parse").is_empty());
        assert!(parse(body, "c", "other").expect("parse").is_empty());
        assert!(parse(b"{}", "c", "u").expect("parse").is_empty());
    }

    #[test]
    fn a_malformed_answer_names_the_field() {
        let cases: &[(&[u8], &str)] = &[
            (b"<html>", "not JSON"),
            (b"[]", "not a JSON object"),
            (br#"{"c": []}"#, r#"["c"] is not an object"#),
            (br#"{"c": {"u": {"results": []}}}"#, "results is not an object"),
            (
                br#"{"c": {"u": {"results": {"a": {"result": 7, "checked_at": "2026-12-01T08:00:00"}}}}}"#,
                r#"["a"].result is not 1, 0 or -1"#,
            ),
            (
                br#"{"c": {"u": {"results": {"a": {"result": 1, "checked_at": "yesterday"}}}}}"#,
                r#"["a"].checked_at is not a date"#,
            ),
        ];
        for (body, want) in cases {
            let e = parse(body, "c", "u").expect_err("malformed");
            assert!(e.contains(want), "{e:?} should contain {want:?}");
        }
    }
}

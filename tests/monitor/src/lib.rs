//! A stand-in for the SCS compliance monitor's `POST /reports` and `GET /status`, for tests.
//!
//! It implements the contract of docs/official-behaviour.md c.1 step by step, on real
//! HTTP on 127.0.0.1:
//! 1. HTTP Basic auth against the configured accounts, else
//!    `401 Incorrect username or password` with `WWW-Authenticate: Basic`;
//! 2. the content type must be exactly `application/x-signed-yaml` or
//!    `application/x-signed-json`, else `415`;
//! 3. the account's public keys and its delegation subjects (accounts that
//!    list it under `delegates`);
//! 4. the body split at the first `-----END SSH SIGNATURE-----\n&`, else
//!    `401 missing signature`;
//! 5. verification by the real `ssh-keygen -Y verify -f <allowed> -I
//!    mail@csp.eu -n report -s <sig>` with the data on stdin, the allowed
//!    signers file holding `mail@csp.eu <keytype> <key>` per account key,
//!    else `401 verification failed`;
//! 6. YAML: every document (multi-document allowed); JSON: one document; no
//!    document: `200 {"detail": "empty reports"}`;
//! 7. each document's subject must be the uploader's own or the uploader
//!    must have `append_any`, and it must be in {own} ∪ delegation
//!    subjects, else `401`;
//! 8. one transaction per request: a `run.uuid` already stored (or twice in
//!    the request) gives `409 Conflict: report already present` and nothing
//!    of the request is stored; else one report row per document and one
//!    result row per `(testcase, result)` with version `*` and
//!    `approval = (result == 1)`;
//! 9. `200 null`.
//!
//! And `GET /status?subject=&scopeuuid=` (c.5), as `run --due` reads it: credentials are
//! optional (wrong ones give 401, the account is logged); `Accept` must name
//! `application/json` or `*/*`, else 406; the answer is `{subject: {scopeuuid: {"results":
//! {testcase: {"result", "checked_at", "report"}}}}}` with the newest row per testcase. Unlike
//! the real monitor this stand-in knows no scope files: it neither drops expired rows nor
//! evaluates versions (the client recomputes expiry itself). [`TestMonitor::set_status_answer`]
//! replaces the answer (hostile monitors).
//!
//! Faults can be injected per request ([`Fault`]): an immediate status, a
//! delay before processing, or a delay after storing (the answer is late
//! although the report is stored). As with the real server, a request is
//! processed to the end even if the client hangs up meanwhile.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The identity the real monitor writes into its allowed_signers file.
pub const IDENTITY: &str = "mail@csp.eu";
/// The separator of signature and report.
pub const SEPARATOR: &str = "-----END SSH SIGNATURE-----\n&";

/// An account (bootstrap.yaml `accounts[]`).
#[derive(Debug, Clone, Default)]
pub struct Account {
    /// The account's subject (= its user name).
    pub subject: String,
    /// Its password (the real monitor stores a hash).
    pub password: String,
    /// Public keys, `ssh-ed25519 AAAA... [comment]`.
    pub keys: Vec<String>,
    /// Role `append_any`.
    pub append_any: bool,
    /// Subjects of accounts that may upload for this one.
    pub delegates: Vec<String>,
}

/// An injected fault, consumed by one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status at once, without looking at the request.
    Status(u16),
    /// Wait, then handle the request normally.
    Delay(Duration),
    /// Handle and store the request, then wait before answering.
    DelayAfterStore(Duration),
}

/// A stored report (table `report`).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredReport {
    /// `run.uuid`.
    pub run_uuid: String,
    /// `subject`.
    pub subject: String,
    /// `checked_at` as text.
    pub checked_at: String,
    /// The document as JSON.
    pub data: serde_json::Value,
    /// The account that uploaded it.
    pub uploader: String,
}

/// A stored result (table `result2`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    /// The report's `run.uuid`.
    pub run_uuid: String,
    /// `subject`.
    pub subject: String,
    /// `spec.uuid`.
    pub scope_uuid: String,
    /// Always `*` for new-style reports.
    pub version: String,
    /// Testcase id.
    pub testcase: String,
    /// 1 / 0 / -1.
    pub result: i64,
    /// `result == 1`.
    pub approval: bool,
    /// The report's `checked_at`, as text.
    pub checked_at: String,
}

/// One request as seen by the monitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestLog {
    /// The answer's status.
    pub status: u16,
    /// The answer's detail, if any.
    pub detail: Option<String>,
    /// The request's content type.
    pub content_type: Option<String>,
    /// The authenticated account, if any.
    pub account: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    accounts: Vec<Account>,
    faults: VecDeque<Fault>,
    reports: Vec<StoredReport>,
    results: Vec<ResultRow>,
    requests: Vec<RequestLog>,
    status_answer: Option<(u16, String)>,
    /// Per `GET /status`: the authenticated account, if any.
    status_requests: Vec<Option<String>>,
}

type Shared = Arc<Mutex<State>>;

fn lock(s: &Shared) -> MutexGuard<'_, State> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

fn answer(status: u16, detail: Option<&str>) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = match detail {
        Some(d) => serde_json::json!({ "detail": d }),
        None => serde_json::Value::Null,
    };
    let mut r = (code, axum::Json(body)).into_response();
    if status == 401 {
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic"));
    }
    r
}

struct Outcome {
    status: u16,
    detail: Option<String>,
    account: Option<String>,
}

fn fail(status: u16, detail: &str, account: Option<&str>) -> Outcome {
    Outcome {
        status,
        detail: Some(detail.to_string()),
        account: account.map(str::to_string),
    }
}

fn authenticate(state: &Shared, headers: &HeaderMap) -> Option<Account> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let b64 = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, pass) = decoded.split_once(':')?;
    lock(state)
        .accounts
        .iter()
        .find(|a| a.subject == user && a.password == pass)
        .cloned()
}

/// `ssh-keygen -Y verify` as the monitor runs it.
fn ssh_verify(keys: &[String], signature: &str, data: &[u8]) -> Result<(), String> {
    use std::io::Write as _;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let allowed = dir.path().join("allowed_signers");
    let mut lines = String::new();
    for k in keys {
        let mut parts = k.split_whitespace();
        if let (Some(t), Some(b)) = (parts.next(), parts.next()) {
            lines.push_str(&format!("{IDENTITY} {t} {b}\n"));
        }
    }
    std::fs::write(&allowed, lines).map_err(|e| e.to_string())?;
    let sig = dir.path().join("report.sig");
    std::fs::write(&sig, signature).map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(&allowed)
        .args(["-I", IDENTITY, "-n", "report", "-s"])
        .arg(&sig)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run ssh-keygen: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(data).map_err(|e| e.to_string())?;
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

fn documents(data: &str, json: bool) -> Result<Vec<serde_json::Value>, String> {
    use serde::Deserialize as _;
    if json {
        let v: serde_json::Value = serde_json::from_str(data).map_err(|e| e.to_string())?;
        return Ok(if v.is_null() { vec![] } else { vec![v] });
    }
    let mut docs = Vec::new();
    for d in yaml_serde::Deserializer::from_str(data) {
        let v = serde_json::Value::deserialize(d).map_err(|e| e.to_string())?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

async fn handle(state: &Shared, headers: &HeaderMap, body: &Bytes) -> Outcome {
    // 1. auth
    let Some(account) = authenticate(state, headers) else {
        return fail(401, "Incorrect username or password", None);
    };
    let who = Some(account.subject.as_str());
    // 2. content type, exactly
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let json = match ct {
        "application/x-signed-yaml" => false,
        "application/x-signed-json" => true,
        _ => return fail(415, "Unsupported Media Type", who),
    };
    // 3. delegation subjects
    let delegation: Vec<String> = lock(state)
        .accounts
        .iter()
        .filter(|a| a.delegates.contains(&account.subject))
        .map(|a| a.subject.clone())
        .collect();
    // 4. split
    let Ok(text) = std::str::from_utf8(body) else {
        return fail(500, "body is not UTF-8", who);
    };
    let Some(at) = text.find(SEPARATOR) else {
        return fail(401, "missing signature", who);
    };
    let signature = text[..at + SEPARATOR.len() - 1].to_string();
    let data = text[at + SEPARATOR.len()..].to_string();
    // 5. verify with the real ssh-keygen
    let keys = account.keys.clone();
    let data2 = data.clone();
    let verified =
        tokio::task::spawn_blocking(move || ssh_verify(&keys, &signature, data2.as_bytes()))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
    if verified.is_err() {
        return fail(401, "verification failed", who);
    }
    // 6. parse
    let docs = match documents(&data, json) {
        Ok(d) => d,
        Err(e) => return fail(500, &format!("cannot parse the report: {e}"), who),
    };
    if docs.is_empty() {
        return fail(200, "empty reports", who);
    }
    // 7. authorise, 8. store in one transaction
    let mut st = lock(state);
    let mut reports = Vec::new();
    let mut results = Vec::new();
    for doc in &docs {
        let subject = doc["subject"].as_str().unwrap_or("").to_string();
        if subject != account.subject && !account.append_any {
            return fail(401, "Unauthorized", who);
        }
        if subject != account.subject && !delegation.contains(&subject) {
            return fail(401, "delegation problem?", who);
        }
        let run_uuid = doc["run"]["uuid"].as_str().unwrap_or("").to_string();
        let checked_at = match &doc["checked_at"] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if st.reports.iter().any(|r| r.run_uuid == run_uuid)
            || reports
                .iter()
                .any(|r: &StoredReport| r.run_uuid == run_uuid)
        {
            return fail(409, "Conflict: report already present", who);
        }
        let scope_uuid = doc["spec"]["uuid"].as_str().unwrap_or("").to_string();
        if let Some(invs) = doc["run"]["invocations"].as_object() {
            for inv in invs.values() {
                if let Some(r) = inv["results"].as_object() {
                    for (tc, v) in r {
                        let result = v.as_i64().unwrap_or(0);
                        results.push(ResultRow {
                            run_uuid: run_uuid.clone(),
                            subject: subject.clone(),
                            scope_uuid: scope_uuid.clone(),
                            version: "*".to_string(),
                            testcase: tc.clone(),
                            result,
                            approval: result == 1,
                            checked_at: checked_at.clone(),
                        });
                    }
                }
            }
        }
        reports.push(StoredReport {
            run_uuid,
            subject,
            checked_at,
            data: doc.clone(),
            uploader: account.subject.clone(),
        });
    }
    st.reports.extend(reports);
    st.results.extend(results);
    // 9.
    Outcome {
        status: 200,
        detail: None,
        account: Some(account.subject),
    }
}

async fn post_reports(
    axum::extract::State(state): axum::extract::State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    // Like the real monitor (uvicorn), a request that has started is
    // processed to the end even when the client goes away: handle it in its
    // own task, which dropping this future does not cancel.
    let task = tokio::spawn(async move {
        let fault = lock(&state).faults.pop_front();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let outcome = match fault {
            Some(Fault::Status(s)) => fail(s, "injected fault", None),
            Some(Fault::Delay(d)) => {
                tokio::time::sleep(d).await;
                handle(&state, &headers, &body).await
            }
            Some(Fault::DelayAfterStore(d)) => {
                let o = handle(&state, &headers, &body).await;
                tokio::time::sleep(d).await;
                o
            }
            None => handle(&state, &headers, &body).await,
        };
        lock(&state).requests.push(RequestLog {
            status: outcome.status,
            detail: outcome.detail.clone(),
            content_type,
            account: outcome.account,
        });
        (outcome.status, outcome.detail)
    });
    match task.await {
        Ok((status, detail)) => answer(status, detail.as_deref()),
        Err(e) => answer(500, Some(&format!("internal error: {e}"))),
    }
}

#[derive(Debug, serde::Deserialize)]
struct StatusQuery {
    subject: Option<String>,
    scopeuuid: Option<String>,
}

async fn get_status(
    axum::extract::State(state): axum::extract::State<Shared>,
    axum::extract::Query(q): axum::extract::Query<StatusQuery>,
    headers: HeaderMap,
) -> Response {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let who = if headers.contains_key(header::AUTHORIZATION) {
        match authenticate(&state, &headers) {
            Some(a) => Some(a.subject),
            None => return answer(401, Some("Incorrect username or password")),
        }
    } else {
        None
    };
    let mut st = lock(&state);
    st.status_requests.push(who);
    if !accept.contains("application/json") && !accept.contains("*/*") {
        return answer(406, Some("Not Acceptable"));
    }
    if let Some((status, body)) = st.status_answer.clone() {
        let mut r = (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body,
        )
            .into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        return r;
    }
    // newest row per (subject, scope, testcase): by checked_at, then by arrival
    let mut newest: std::collections::BTreeMap<(String, String, String), &ResultRow> =
        std::collections::BTreeMap::new();
    for row in &st.results {
        if q.subject.as_ref().is_some_and(|s| *s != row.subject)
            || q.scopeuuid.as_ref().is_some_and(|u| *u != row.scope_uuid)
        {
            continue;
        }
        let key = (
            row.subject.clone(),
            row.scope_uuid.clone(),
            row.testcase.clone(),
        );
        match newest.get(&key) {
            Some(old) if old.checked_at > row.checked_at => {}
            _ => {
                newest.insert(key, row);
            }
        }
    }
    let mut out = serde_json::Map::new();
    for ((subject, scope, tc), row) in newest {
        let scopes = out.entry(subject).or_insert_with(|| serde_json::json!({}));
        let evaluated = scopes.as_object_mut().map(|m| {
            m.entry(scope)
                .or_insert_with(|| serde_json::json!({"results": {}}))
        });
        if let Some(results) = evaluated.and_then(|e| e["results"].as_object_mut()) {
            results.insert(
                tc,
                serde_json::json!({
                    "result": row.result,
                    "checked_at": row.checked_at,
                    "report": row.run_uuid,
                }),
            );
        }
    }
    axum::Json(serde_json::Value::Object(out)).into_response()
}

/// A running test monitor; dropping it stops the server.
#[derive(Debug)]
pub struct TestMonitor {
    addr: SocketAddr,
    state: Shared,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestMonitor {
    /// Start on a free port of 127.0.0.1.
    pub fn start(accounts: Vec<Account>) -> std::io::Result<TestMonitor> {
        Self::start_on("127.0.0.1:0".parse().expect("address"), accounts)
    }

    /// Start on `addr` (e.g. the port of a monitor that was down).
    pub fn start_on(addr: SocketAddr, accounts: Vec<Account>) -> std::io::Result<TestMonitor> {
        let state: Shared = Arc::new(Mutex::new(State {
            accounts,
            ..State::default()
        }));
        let std_listener = std::net::TcpListener::bind(addr)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new()
            .route("/reports", axum::routing::post(post_reports))
            .route("/status", axum::routing::get(get_status))
            .with_state(state.clone());
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<std::io::Result<()>>();
        let thread = std::thread::Builder::new()
            .name("test-monitor".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                rt.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(l) => l,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = ready_tx.send(Ok(()));
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async move {
                            let _ = stop_rx.await;
                        })
                        .await;
                });
            })?;
        ready_rx
            .recv()
            .map_err(|e| std::io::Error::other(e.to_string()))??;
        Ok(TestMonitor {
            addr,
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// Its address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The monitor URL, without a trailing `/` (the client must add it).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Queue faults; each request consumes the next one.
    pub fn push_faults(&self, faults: &[Fault]) {
        lock(&self.state).faults.extend(faults.iter().copied());
    }

    /// Stored reports, in the order they were accepted.
    pub fn reports(&self) -> Vec<StoredReport> {
        lock(&self.state).reports.clone()
    }

    /// Stored result rows.
    pub fn results(&self) -> Vec<ResultRow> {
        lock(&self.state).results.clone()
    }

    /// Answer every `GET /status` with this status and body from now on.
    pub fn set_status_answer(&self, status: u16, body: &str) {
        lock(&self.state).status_answer = Some((status, body.to_string()));
    }

    /// The `GET /status` requests so far: the authenticated account of each, if any.
    pub fn status_requests(&self) -> Vec<Option<String>> {
        lock(&self.state).status_requests.clone()
    }

    /// Every upload request with its answer, in order.
    pub fn requests(&self) -> Vec<RequestLog> {
        lock(&self.state).requests.clone()
    }

    /// Stop serving and wait for the server thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TestMonitor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

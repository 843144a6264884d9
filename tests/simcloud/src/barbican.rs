//! Barbican v1 under the key-manager path: version documents and secrets (list with
//! limit/offset paging, create, show, payload, delete), per project.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::http::Fail;
use crate::http::{header_str, json_response, param, segments, text_response, with_header};
use crate::ids::{project_id, user_id};
use crate::server::{Req, Shared, Token};
use crate::state::{Secret, new_id};

/// Barbican's `[DEFAULT] default_limit_paging` and `max_limit_paging`.
const DEFAULT_LIMIT: u64 = 10;
const MAX_LIMIT: u64 = 100;

const SECRET_TYPES: &[&str] = &[
    "symmetric",
    "public",
    "private",
    "passphrase",
    "certificate",
    "opaque",
];
const CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "text/plain;charset=utf-8",
    "text/plain; charset=utf-8",
    "application/octet-stream",
    "application/pkcs8",
    "application/pkix-cert",
];

/// Barbican's error body: `{"code", "title", "description"}`.
fn error(status: StatusCode, description: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    json_response(
        status,
        &json!({"code": status.as_u16(), "title": title, "description": description}),
    )
}

fn bad_schema(field: &str, reason: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        &format!(
            "Provided object does not match schema 'Secret': {reason}. Invalid property: '{field}'"
        ),
    )
}

fn secret_not_found() -> Response {
    error(StatusCode::NOT_FOUND, "Secret not found.")
}

fn version_body(base: &str) -> Value {
    json!({
        "id": "v1",
        "status": "stable",
        "links": [
            {"rel": "self", "href": format!("{base}/v1/")},
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"}
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.key-manager-v1+json"}]
    })
}

pub(crate) fn handle(shared: &Shared, req: &Req, rest: &str) -> Response {
    let prefix = req.path.strip_suffix(rest).unwrap_or(&req.path);
    let base = format!("{}{}", shared.base_url, prefix.trim_end_matches('/'));
    let route = rest.trim_end_matches('/');
    let get = req.method == "GET";
    match route {
        "" if get => {
            return json_response(
                StatusCode::MULTIPLE_CHOICES,
                &json!({"versions": {"values": [version_body(&base)]}}),
            );
        }
        "/v1" if get => {
            return json_response(StatusCode::OK, &json!({"version": version_body(&base)}));
        }
        "" | "/v1" => return error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
        _ => {}
    }
    let Some(token) = shared.authenticate(&req.headers) else {
        return shared.unauthorized();
    };
    let segs = segments(route);
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["v1", "secrets"]) => list(shared, req, &token, &base),
        ("POST", ["v1", "secrets"]) => create(shared, req, &token, &base),
        ("GET", ["v1", "secrets", id]) => {
            let state = shared.state();
            match find(&state.secrets, id, &token) {
                Some(secret) => {
                    let accept = header_str(&req.headers, "accept").unwrap_or("");
                    if accept.is_empty() || accept.contains("json") || accept.contains("*/*") {
                        json_response(StatusCode::OK, &render(secret, &base))
                    } else {
                        payload(secret, accept)
                    }
                }
                None => secret_not_found(),
            }
        }
        ("GET", ["v1", "secrets", id, "payload"]) => {
            let state = shared.state();
            match find(&state.secrets, id, &token) {
                Some(secret) => payload(secret, ""),
                None => secret_not_found(),
            }
        }
        ("DELETE", ["v1", "secrets", id]) => {
            let mut state = shared.state();
            if find(&state.secrets, id, &token).is_none() {
                return secret_not_found();
            }
            state.secrets.remove(*id);
            Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(axum::body::Body::empty())
                .unwrap_or_default()
        }
        (_, ["v1", "secrets"] | ["v1", "secrets", _] | ["v1", "secrets", _, "payload"]) => {
            error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
        }
        _ => error(
            StatusCode::NOT_FOUND,
            "Not Found. Sorry but your princess is in another castle.",
        ),
    }
}

fn token_project(token: &Token) -> String {
    token.project.as_deref().map(project_id).unwrap_or_default()
}

fn find<'a>(
    secrets: &'a std::collections::BTreeMap<String, Secret>,
    id: &str,
    token: &Token,
) -> Option<&'a Secret> {
    let project = token_project(token);
    secrets.get(id).filter(|s| s.project_id == project)
}

fn barbican_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

fn render(secret: &Secret, base: &str) -> Value {
    let mut content_types = Map::new();
    if let Some(ct) = &secret.content_type {
        content_types.insert("default".into(), json!(ct));
    }
    json!({
        "secret_ref": format!("{base}/v1/secrets/{}", secret.id),
        "name": secret.name,
        "status": "ACTIVE",
        "secret_type": secret.secret_type,
        "algorithm": secret.algorithm,
        "bit_length": secret.bit_length,
        "mode": secret.mode,
        "expiration": secret.expiration,
        "content_types": if content_types.is_empty() { Value::Null } else { Value::Object(content_types) },
        "creator_id": secret.user_id,
        "created": barbican_time(&secret.meta.created),
        "updated": barbican_time(&secret.meta.updated),
        "consumers": [],
    })
}

fn payload(secret: &Secret, accept: &str) -> Response {
    let Some(data) = &secret.payload else {
        return error(
            StatusCode::NOT_FOUND,
            "Not Found. Sorry but your secret has no payload.",
        );
    };
    let content_type = secret
        .content_type
        .clone()
        .unwrap_or_else(|| "application/octet-stream".into());
    if !accept.is_empty()
        && !accept.contains("*/*")
        && !accept.starts_with(content_type.split(';').next().unwrap_or(""))
    {
        return error(
            StatusCode::NOT_ACCEPTABLE,
            &format!("Wrong payload content-type: {accept}"),
        );
    }
    let mut resp = text_response(StatusCode::OK, String::new());
    *resp.body_mut() = axum::body::Body::from(data.clone());
    if let Ok(v) = HeaderValue::from_str(&content_type) {
        resp.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    resp
}

fn list(shared: &Shared, req: &Req, token: &Token, base: &str) -> Response {
    let number = |name: &str, default: u64| -> Result<u64, Fail> {
        match param(&req.query, name) {
            None => Ok(default),
            Some(text) => text.trim().parse::<u64>().map_err(|_| {
                Fail::from({
                    error(
                        StatusCode::BAD_REQUEST,
                        &format!("Provided field value is not supported: {name}"),
                    )
                })
            }),
        }
    };
    let limit = match number("limit", DEFAULT_LIMIT) {
        Ok(l) => l.min(MAX_LIMIT),
        Err(resp) => return *resp,
    };
    let offset = match number("offset", 0) {
        Ok(o) => o,
        Err(resp) => return *resp,
    };
    let project = token_project(token);
    let state = shared.state();
    let mut items: Vec<&Secret> = state
        .secrets
        .values()
        .filter(|s| s.project_id == project)
        .filter(|s| param(&req.query, "name").is_none_or(|n| s.name.as_deref() == Some(n)))
        .filter(|s| param(&req.query, "secret_type").is_none_or(|t| s.secret_type == t))
        .filter(|s| param(&req.query, "alg").is_none_or(|a| s.algorithm.as_deref() == Some(a)))
        .filter(|s| param(&req.query, "mode").is_none_or(|m| s.mode.as_deref() == Some(m)))
        .collect();
    items.sort_by_key(|s| s.meta.seq);
    let total = items.len();
    let start = usize::try_from(offset).unwrap_or(usize::MAX).min(total);
    let count = usize::try_from(limit).unwrap_or(usize::MAX);
    let page: Vec<Value> = items
        .iter()
        .skip(start)
        .take(count)
        .map(|s| render(s, base))
        .collect();
    let mut body = Map::new();
    body.insert("secrets".into(), Value::Array(page));
    body.insert("total".into(), json!(total));
    // Barbican's navigation links carry only limit and offset (filters are dropped).
    let total_u64 = u64::try_from(total).unwrap_or(u64::MAX);
    if offset.saturating_add(limit) < total_u64 && limit > 0 {
        body.insert(
            "next".into(),
            json!(format!(
                "{base}/v1/secrets?limit={limit}&offset={}",
                offset + limit
            )),
        );
    }
    if offset > 0 {
        body.insert(
            "previous".into(),
            json!(format!(
                "{base}/v1/secrets?limit={limit}&offset={}",
                offset.saturating_sub(limit)
            )),
        );
    }
    json_response(StatusCode::OK, &Value::Object(body))
}

fn create(shared: &Shared, req: &Req, token: &Token, base: &str) -> Response {
    if shared.fixture.key_manager.forbid_member
        && !token.roles.iter().any(|r| r == "creator" || r == "admin")
    {
        return error(
            StatusCode::FORBIDDEN,
            "Secret creation attempt not allowed - please review your user/project privileges",
        );
    }
    let content_type = header_str(&req.headers, "content-type").unwrap_or("");
    if !content_type.starts_with("application/json") {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &format!(
                "Unexpected content type: {content_type}. Expected content types are: ['application/json']"
            ),
        );
    }
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(Value::Object(o)) => Value::Object(o),
        Ok(_) | Err(_) => {
            return error(StatusCode::BAD_REQUEST, "Malformed JSON");
        }
    };
    let text = |field: &str| -> Result<Option<String>, Fail> {
        match body.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(bad_schema(field, &format!("'{field}' is not of type 'string'")).into()),
        }
    };
    let fields = (|| -> Result<_, Fail> {
        let name = text("name")?;
        if name.as_ref().is_some_and(|n| n.chars().count() > 255) {
            return Err(bad_schema("name", "'name' is too long").into());
        }
        let payload = text("payload")?;
        let content_type = text("payload_content_type")?;
        let encoding = text("payload_content_encoding")?;
        let secret_type = text("secret_type")?.unwrap_or_else(|| "opaque".into());
        if !SECRET_TYPES.contains(&secret_type.as_str()) {
            return Err(bad_schema(
                "secret_type",
                &format!("{secret_type:?} is not one of {SECRET_TYPES:?}"),
            )
            .into());
        }
        if payload.as_deref() == Some("") {
            return Err(error(
                StatusCode::BAD_REQUEST,
                "Provided object does not match schema 'Secret': If 'payload' specified, must be non empty. Invalid property: 'payload'",
            ).into());
        }
        let data = match (&payload, &content_type) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "Provided object does not match schema 'Secret': If 'payload' is supplied, 'payload_content_type' must also be supplied. Invalid property: 'payload_content_type'",
                ).into());
            }
            (None, Some(_)) => {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    "Provided object does not match schema 'Secret': 'payload_content_type' is supplied without a 'payload'. Invalid property: 'payload_content_type'",
                ).into());
            }
            (Some(p), Some(ct)) => {
                let normalized = ct.to_ascii_lowercase();
                if !CONTENT_TYPES.contains(&normalized.as_str()) {
                    return Err(error(
                        StatusCode::BAD_REQUEST,
                        &format!("Provided object does not match schema 'Secret': payload_content_type {ct} is not one of {CONTENT_TYPES:?}. Invalid property: 'payload_content_type'"),
                    ).into());
                }
                if normalized.starts_with("text/plain") {
                    if encoding.is_some() {
                        return Err(error(StatusCode::BAD_REQUEST, "Invalid payload content encoding for text/plain: a text payload is stored as is").into());
                    }
                    Some(p.clone().into_bytes())
                } else {
                    if encoding.as_deref() != Some("base64") {
                        return Err(error(StatusCode::BAD_REQUEST, "Provided object does not match schema 'Secret': 'payload_content_encoding' must be 'base64' for binary content types. Invalid property: 'payload_content_encoding'").into());
                    }
                    match crate::base64::decode(p) {
                        Some(bytes) => Some(bytes),
                        None => {
                            return Err(error(
                                StatusCode::BAD_REQUEST,
                                "Invalid payload for payload_content_encoding base64",
                            )
                            .into());
                        }
                    }
                }
            }
        };
        let bit_length = match body.get("bit_length") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_u64() {
                Some(n) if n > 0 => Some(n),
                _ => {
                    return Err(bad_schema(
                        "bit_length",
                        "'bit_length' must be a positive integer",
                    )
                    .into());
                }
            },
        };
        Ok((
            name,
            data,
            content_type,
            secret_type,
            text("algorithm")?,
            bit_length,
            text("mode")?,
            text("expiration")?,
        ))
    })();
    let (name, data, content_type, secret_type, algorithm, bit_length, mode, expiration) =
        match fields {
            Ok(f) => f,
            Err(resp) => return *resp,
        };
    let id = new_id();
    let mut state = shared.state();
    let meta = state.meta();
    state.secrets.insert(
        id.clone(),
        Secret {
            id: id.clone(),
            name,
            project_id: token_project(token),
            user_id: user_id(&token.user),
            payload: data,
            content_type: content_type.map(|c| c.to_ascii_lowercase()),
            secret_type,
            algorithm,
            bit_length,
            mode,
            expiration,
            meta,
        },
    );
    let href = format!("{base}/v1/secrets/{id}");
    with_header(
        json_response(StatusCode::CREATED, &json!({"secret_ref": href})),
        "location",
        &href,
    )
}

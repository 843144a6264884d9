//! Glance v2 under the image path: version documents, `GET /v2/images` with Glance's visibility
//! rules, filters, sorting and marker paging, and `GET /v2/images/{id}`.

use std::cmp::Ordering;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::fixture::Visibility;
use crate::http::{
    decode_path_segment, dict, encode_query, header_str, json_response, method_not_allowed,
    not_found, param, text_response,
};
use crate::ids::project_id;
use crate::server::{Req, Shared, Token};
use crate::world::ImageRec;

/// Glance's `limit_param_default` and `api_limit_max`.
const DEFAULT_LIMIT: u64 = 25;
const MAX_LIMIT: u64 = 1000;
/// Newest and oldest advertised API versions (v2.MAX .. v2.0).
const MAX_MINOR: u32 = 17;

/// Query parameters that are not property filters.
const CONTROL_PARAMS: &[&str] = &[
    "limit",
    "marker",
    "visibility",
    "member_status",
    "os_hidden",
    "sort_key",
    "sort_dir",
];
/// Filters Glance has that simcloud does not implement (answered with 400, not ignored).
const UNSUPPORTED_PARAMS: &[&str] = &[
    "sort",
    "size_min",
    "size_max",
    "created_at",
    "updated_at",
    "id",
];

/// A webob-style error: plain text unless the client prefers JSON.
fn error(req: &Req, status: StatusCode, message: &str) -> Response {
    let accept = header_str(&req.headers, "accept").unwrap_or("");
    let reason = status.canonical_reason().unwrap_or("Error");
    let code = format!("{} {reason}", status.as_u16());
    if accept.contains("application/json")
        && !accept.contains("text/plain")
        && !accept.contains("*/*")
    {
        json_response(
            status,
            &json!({"message": format!("{message}<br /><br />\n\n\n"), "code": code, "title": reason}),
        )
    } else {
        text_response(status, format!("{code}\n\n{message}\n\n   "))
    }
}

fn versions_body(shared: &Shared, req: &Req) -> Value {
    let prefix = req.path.trim_end_matches('/');
    let prefix = prefix.strip_suffix("/versions").unwrap_or(prefix);
    let href = format!("{}{prefix}/v2/", shared.base_url);
    let versions: Vec<Value> = (0..=MAX_MINOR)
        .rev()
        .map(|minor| {
            let status = if minor == MAX_MINOR { "CURRENT" } else { "SUPPORTED" };
            json!({"id": format!("v2.{minor}"), "status": status, "links": [{"rel": "self", "href": href}]})
        })
        .collect();
    json!({ "versions": versions })
}

pub(crate) fn handle(shared: &Shared, req: &Req, rest: &str) -> Response {
    let route = rest.trim_end_matches('/');
    let get = req.method == "GET";
    match route {
        "" if get => {
            return json_response(StatusCode::MULTIPLE_CHOICES, &versions_body(shared, req));
        }
        "/versions" if get => return json_response(StatusCode::OK, &versions_body(shared, req)),
        "" | "/versions" => return method_not_allowed(&req.method, &req.path),
        _ => {}
    }
    let Some(token) = shared.authenticate(&req.headers) else {
        return shared.unauthorized();
    };
    let segments: Vec<String> = route
        .trim_start_matches('/')
        .split('/')
        .map(decode_path_segment)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    match segments.as_slice() {
        ["v2", "images"] if get => index(shared, req, &token),
        ["v2", "images", id] if get => {
            let project = token_project(&token);
            match shared
                .world
                .images
                .iter()
                .find(|i| i.id == *id && can_see(i, &project, "all"))
            {
                Some(image) => json_response(StatusCode::OK, &Value::Object(image.body.clone())),
                None => error(
                    req,
                    StatusCode::NOT_FOUND,
                    &format!("No image found with ID {id}"),
                ),
            }
        }
        ["v2", "images"] | ["v2", "images", _] => method_not_allowed(&req.method, &req.path),
        _ => not_found(&req.method, &req.path),
    }
}

fn token_project(token: &Token) -> String {
    token.project.as_deref().map(project_id).unwrap_or_default()
}

/// May `project` use (show, boot) this image?
pub(crate) fn visible_to(image: &ImageRec, project: &str) -> bool {
    can_see(image, project, "all")
}

/// Glance's access rule for a regular user: public and community images, the project's own
/// images, and shared images the project is a member of (with the given member status).
fn can_see(image: &ImageRec, project: &str, member_status: &str) -> bool {
    match image.visibility {
        Visibility::Public | Visibility::Community => true,
        _ if image.owner_id == project => true,
        Visibility::Shared => image
            .members
            .get(project)
            .is_some_and(|s| member_status == "all" || s.as_str() == member_status),
        Visibility::Private => false,
    }
}

/// `oslo_utils.strutils.bool_from_string(strict=True)`.
fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Some(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Some(false),
        _ => None,
    }
}

#[derive(Clone, Copy)]
enum SortKey {
    CreatedAt,
    UpdatedAt,
    Name,
    Id,
    Size,
    Status,
    MinDisk,
    MinRam,
}

fn sort_key(text: &str) -> Option<SortKey> {
    Some(match text {
        "created_at" => SortKey::CreatedAt,
        "updated_at" => SortKey::UpdatedAt,
        "name" => SortKey::Name,
        "id" => SortKey::Id,
        "size" => SortKey::Size,
        "status" => SortKey::Status,
        "min_disk" => SortKey::MinDisk,
        "min_ram" => SortKey::MinRam,
        _ => return None,
    })
}

/// Compare by the key, then `created_at`, then `id` (Glance's tie-breakers).
fn compare(a: &ImageRec, b: &ImageRec, key: SortKey) -> Ordering {
    let primary = match key {
        SortKey::CreatedAt => Ordering::Equal,
        SortKey::UpdatedAt => a.updated.cmp(&b.updated),
        SortKey::Name => a.name.cmp(&b.name),
        SortKey::Id => a.id.cmp(&b.id),
        SortKey::Size => a.size.cmp(&b.size),
        SortKey::Status => a.status.cmp(&b.status),
        SortKey::MinDisk => a.min_disk.cmp(&b.min_disk),
        SortKey::MinRam => a.min_ram.cmp(&b.min_ram),
    };
    primary
        .then_with(|| a.created.cmp(&b.created))
        .then_with(|| a.id.cmp(&b.id))
}

/// A filter on one image field or property: exact string match (`tag` means "has the tag").
fn matches_filter(image: &ImageRec, key: &str, wanted: &str) -> bool {
    if key == "tag" {
        return image.tags.iter().any(|t| t == wanted);
    }
    match image.body.get(key) {
        Some(Value::String(s)) => s == wanted,
        Some(Value::Bool(b)) => parse_bool(wanted) == Some(*b),
        Some(Value::Number(n)) => n.to_string() == wanted,
        _ => false,
    }
}

struct Query {
    limit: u64,
    marker: Option<String>,
    visibility: Option<String>,
    member_status: String,
    hidden: bool,
    key: SortKey,
    descending: bool,
    filters: Vec<(String, String)>,
}

fn parse_query(req: &Req) -> Result<Query, Box<Response>> {
    let bad = |message: String| Box::new(error(req, StatusCode::BAD_REQUEST, &message));
    let q = &req.query;
    if let Some((name, _)) = q
        .iter()
        .find(|(k, _)| UNSUPPORTED_PARAMS.contains(&k.as_str()))
    {
        return Err(bad(format!(
            "simcloud does not implement the Glance query parameter {name}"
        )));
    }
    let limit = match param(q, "limit") {
        None => DEFAULT_LIMIT,
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if n < 0 => return Err(bad("limit param must be positive".into())),
            Ok(n) => u64::try_from(n).unwrap_or(0).min(MAX_LIMIT),
            Err(_) => return Err(bad("limit param must be an integer".into())),
        },
    };
    let visibility = param(q, "visibility").map(str::to_owned);
    if let Some(v) = &visibility
        && !matches!(
            v.as_str(),
            "public" | "private" | "shared" | "community" | "all"
        )
    {
        return Err(bad(format!("Invalid visibility value: {v}")));
    }
    let member_status = param(q, "member_status").unwrap_or("accepted").to_owned();
    if !matches!(
        member_status.as_str(),
        "accepted" | "pending" | "rejected" | "all"
    ) {
        return Err(bad(format!("Invalid status: {member_status}")));
    }
    let hidden = match param(q, "os_hidden") {
        None => false,
        Some(text) => parse_bool(text).ok_or_else(|| {
            bad(format!(
                "Unrecognized value '{text}', acceptable values are: '0', '1', 'f', 'false', \
                 'n', 'no', 'off', 'on', 't', 'true', 'y', 'yes'"
            ))
        })?,
    };
    let key = match param(q, "sort_key") {
        None => SortKey::CreatedAt,
        Some(text) => sort_key(text).ok_or_else(|| bad(format!("Invalid sort key: {text}")))?,
    };
    let descending = match param(q, "sort_dir") {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(other) => return Err(bad(format!("Invalid sort direction: {other}"))),
    };
    let filters = q
        .iter()
        .filter(|(k, _)| !CONTROL_PARAMS.contains(&k.as_str()))
        .cloned()
        .collect();
    Ok(Query {
        limit,
        marker: param(q, "marker").map(str::to_owned),
        visibility,
        member_status,
        hidden,
        key,
        descending,
        filters,
    })
}

fn index(shared: &Shared, req: &Req, token: &Token) -> Response {
    let query = match parse_query(req) {
        Ok(q) => q,
        Err(resp) => return *resp,
    };
    let project = token_project(token);
    let ordered = |a: &ImageRec, b: &ImageRec| {
        let o = compare(a, b, query.key);
        if query.descending { o.reverse() } else { o }
    };
    let mut items: Vec<&ImageRec> = shared
        .world
        .images
        .iter()
        .filter(|i| can_see(i, &project, &query.member_status))
        .filter(|i| match query.visibility.as_deref() {
            Some("all") => true,
            Some(v) => i.visibility.as_str() == v,
            // Without a visibility filter, other projects' community images are left out.
            None => i.visibility != Visibility::Community || i.owner_id == project,
        })
        .filter(|i| i.hidden == query.hidden)
        .filter(|i| query.filters.iter().all(|(k, v)| matches_filter(i, k, v)))
        .collect();
    items.sort_by(|a, b| ordered(a, b));
    if let Some(marker) = &query.marker {
        let Some(marker_rec) = shared
            .world
            .images
            .iter()
            .find(|i| &i.id == marker && can_see(i, &project, "all"))
        else {
            return error(
                req,
                StatusCode::BAD_REQUEST,
                &format!("No image found with ID {marker}"),
            );
        };
        items.retain(|i| ordered(i, marker_rec) == Ordering::Greater);
    }
    items.truncate(usize::try_from(query.limit).unwrap_or(usize::MAX));
    let mut params = dict(&req.query);
    params.retain(|(k, _)| k != "marker");
    let mut body = Map::new();
    body.insert(
        "images".into(),
        Value::Array(
            items
                .iter()
                .map(|i| Value::Object(i.body.clone()))
                .collect(),
        ),
    );
    body.insert("schema".into(), json!("/v2/schemas/images"));
    let first = if params.is_empty() {
        "/v2/images".to_owned()
    } else {
        format!("/v2/images?{}", encode_query(&params))
    };
    body.insert("first".into(), json!(first));
    // Glance adds "next" whenever the page is full, even if nothing follows.
    let full = usize::try_from(query.limit).is_ok_and(|l| l == items.len());
    if let Some(last) = items.last().filter(|_| full) {
        params.push(("marker".into(), last.id.clone()));
        body.insert(
            "next".into(),
            json!(format!("/v2/images?{}", encode_query(&params))),
        );
    }
    json_response(StatusCode::OK, &Value::Object(body))
}

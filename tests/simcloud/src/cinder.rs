//! Cinder v3 under the volume path (`/volume/v3/{project_id}`): version documents,
//! microversions, volume types, volumes (create, list, show, update, delete), backups
//! (create, list, show, delete, restore), with lazy status transitions (see `state`), and
//! `limits` with the quota checks of volume, backup and restore creation (see `quota`).
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::http::Fail;
use crate::http::{
    dict, encode_query, fault_for, iso_micro, json_body, json_response, negotiate_version, param,
    parse_bool, requested_version, segments, with_header,
};
use crate::ids::{project_id, user_id};
use crate::quota;
use crate::server::{Req, Shared, Token};
use crate::state::{Backup, BackupState, Phase, State, Volume, VolumeState, new_id};
use crate::world::{VolumeTypeRec, path_project};

/// Cinder's `osapi_max_limit`.
const MAX_LIMIT: usize = 1000;
/// Filters Cinder accepts (`resource_query_filters.json`).
const VOLUME_FILTERS: &[&str] = &[
    "name",
    "status",
    "metadata",
    "bootable",
    "migration_status",
    "availability_zone",
    "group_id",
    "size",
];
const BACKUP_FILTERS: &[&str] = &["name", "status", "volume_id"];
const LIST_CONTROLS: &[&str] = &[
    "limit",
    "marker",
    "offset",
    "sort",
    "sort_key",
    "sort_dir",
    "with_count",
    "all_tenants",
];

/// Cinder's microversion range (2024.1 and later: 3.71).
pub(crate) const MIN_VERSION: (u32, u32) = (3, 0);
pub(crate) const MAX_VERSION: (u32, u32) = (3, 71);

/// Extra specs a non-admin user may see (Cinder's user-visible keys).
const VISIBLE_EXTRA_SPECS: &[&str] = &[
    "multiattach",
    "RESKEY:availability_zones",
    "replication_enabled",
];

fn version_doc(href: &str) -> Value {
    json!({
        "id": "v3.0",
        "status": "CURRENT",
        "version": format!("{}.{}", MAX_VERSION.0, MAX_VERSION.1),
        "min_version": format!("{}.{}", MIN_VERSION.0, MIN_VERSION.1),
        "updated": "2023-08-31T00:00:00Z",
        "links": [
            {"rel": "describedby", "type": "text/html", "href": "https://docs.openstack.org/"},
            {"rel": "self", "href": href}
        ],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.volume+json;version=3"}]
    })
}

/// `GET /volume/` (300, the version list) and `GET /volume/v3/` (200, the v3 document); no
/// token needed.
pub(crate) fn versions(shared: &Shared, req: &Req, template: &str, single: bool) -> Response {
    if req.method != "GET" {
        return fault_for(
            StatusCode::METHOD_NOT_ALLOWED,
            &format!(
                "The method {} is not supported for {}",
                req.method, req.path
            ),
        );
    }
    if single {
        let href = format!("{}{template}/", shared.base_url);
        json_response(StatusCode::OK, &json!({"versions": [version_doc(&href)]}))
    } else {
        let href = format!("{}{template}/v3/", shared.base_url);
        json_response(
            StatusCode::MULTIPLE_CHOICES,
            &json!({"versions": [version_doc(&href)]}),
        )
    }
}

/// The request context of one Cinder call.
pub(crate) struct Ctx<'a> {
    pub shared: &'a Shared,
    pub req: &'a Req,
    pub token: Token,
    pub project: String,
    pub version: (u32, u32),
    /// `http://127.0.0.1:P/volume/v3/<project>`
    pub base: String,
}

pub(crate) fn handle(shared: &Shared, req: &Req, template: &str, rest: &str) -> Response {
    let Some(token) = shared.authenticate(&req.headers) else {
        return shared.unauthorized();
    };
    let project = token.project.as_deref().map(project_id).unwrap_or_default();
    if path_project(template, &req.path).is_some_and(|p| p != project) {
        return fault_for(StatusCode::BAD_REQUEST, "Malformed request url");
    }
    let version = match negotiate_version(
        requested_version(&req.headers, "volume"),
        MIN_VERSION,
        MAX_VERSION,
    ) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let prefix = req.path.strip_suffix(rest).unwrap_or(&req.path);
    let ctx = Ctx {
        shared,
        req,
        token,
        project,
        version,
        base: format!("{}{}", shared.base_url, prefix.trim_end_matches('/')),
    };
    let segs = segments(rest);
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let resp = route(&ctx, &segs);
    let v = format!("{}.{}", version.0, version.1);
    let resp = with_header(resp, "openstack-api-version", &format!("volume {v}"));
    with_header(resp, "vary", "OpenStack-API-Version")
}

fn route(ctx: &Ctx<'_>, segs: &[&str]) -> Response {
    let method = ctx.req.method.as_str();
    match (method, segs) {
        ("GET", ["types"]) => {
            let list: Vec<Value> = ctx
                .shared
                .world
                .volume_types
                .iter()
                .filter(|t| t.is_public)
                .map(render_type)
                .collect();
            json_response(StatusCode::OK, &json!({ "volume_types": list }))
        }
        ("GET", ["types", "default"]) => {
            match ctx
                .shared
                .world
                .default_volume_type
                .and_then(|i| ctx.shared.world.volume_types.get(i))
            {
                Some(t) => json_response(StatusCode::OK, &json!({"volume_type": render_type(t)})),
                None => fault_for(
                    StatusCode::NOT_FOUND,
                    "Default volume type can not be found.",
                ),
            }
        }
        ("GET", ["types", id]) => match ctx
            .shared
            .world
            .volume_types
            .iter()
            .find(|t| t.id == *id && t.is_public)
        {
            Some(t) => json_response(StatusCode::OK, &json!({"volume_type": render_type(t)})),
            None => fault_for(
                StatusCode::NOT_FOUND,
                &format!("Volume type with id {id} could not be found."),
            ),
        },
        (_, ["types"] | ["types", _]) => fault_for(
            StatusCode::FORBIDDEN,
            "Policy doesn't allow volume_extension:types_manage to be performed.",
        ),
        ("GET", ["limits"]) => {
            let state = ctx.shared.state();
            let used = quota::usage(&state, &ctx.shared.world, &ctx.project);
            json_response(
                StatusCode::OK,
                &quota::cinder_limits(&ctx.shared.fixture.quota, &used),
            )
        }
        (_, ["limits"]) => method_not_allowed(ctx),
        ("GET", ["volumes"]) => list_volumes(ctx, false),
        ("GET", ["volumes", "detail"]) => list_volumes(ctx, true),
        ("POST", ["volumes"]) => create_volume(ctx),
        ("GET", ["volumes", id]) => {
            let mut state = ctx.shared.state();
            let Some(volume) = own_volume(&state, ctx, id) else {
                return volume_not_found(id);
            };
            let body = render_volume(ctx, &state, volume);
            if let Some(v) = state.volumes.get_mut(*id) {
                v.poll();
            }
            json_response(StatusCode::OK, &json!({ "volume": body }))
        }
        ("PUT", ["volumes", id]) => update_volume(ctx, id),
        ("DELETE", ["volumes", id]) => delete_volume(ctx, id),
        ("POST", ["volumes", _, "action"]) => admin_action(ctx, "volume"),
        (_, ["volumes"] | ["volumes", _]) => method_not_allowed(ctx),
        ("GET", ["backups"]) => list_backups(ctx, false),
        ("GET", ["backups", "detail"]) => list_backups(ctx, true),
        ("POST", ["backups"]) => create_backup(ctx),
        ("GET", ["backups", id]) => {
            let mut state = ctx.shared.state();
            let Some(backup) = own_backup(&state, ctx, id) else {
                return backup_not_found(id);
            };
            let body = render_backup(ctx, &state, backup);
            if let Some(b) = state.backups.get_mut(*id) {
                b.poll();
            }
            json_response(StatusCode::OK, &json!({ "backup": body }))
        }
        ("DELETE", ["backups", id]) => delete_backup(ctx, id),
        ("POST", ["backups", id, "restore"]) => restore_backup(ctx, id),
        ("POST", ["backups", _, "action"]) => admin_action(ctx, "backup"),
        (_, ["backups"] | ["backups", _] | ["backups", _, "restore"]) => method_not_allowed(ctx),
        _ => fault_for(
            StatusCode::NOT_FOUND,
            &format!(
                "The resource could not be found: simcloud does not implement {method} {}",
                ctx.req.path
            ),
        ),
    }
}

fn render_type(t: &VolumeTypeRec) -> Value {
    let specs: serde_json::Map<String, Value> = t
        .extra_specs
        .iter()
        .filter(|(k, _)| VISIBLE_EXTRA_SPECS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    json!({
        "id": t.id,
        "name": t.name,
        "description": t.description,
        "is_public": t.is_public,
        "os-volume-type-access:is_public": t.is_public,
        "qos_specs_id": null,
        "extra_specs": specs,
    })
}

fn method_not_allowed(ctx: &Ctx<'_>) -> Response {
    fault_for(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!(
            "The method {} is not supported for {}",
            ctx.req.method, ctx.req.path
        ),
    )
}

fn bad_request(message: &str) -> Response {
    fault_for(StatusCode::BAD_REQUEST, message)
}

fn volume_not_found(id: &str) -> Response {
    fault_for(
        StatusCode::NOT_FOUND,
        &format!("Volume {id} could not be found."),
    )
}

fn backup_not_found(id: &str) -> Response {
    fault_for(
        StatusCode::NOT_FOUND,
        &format!("Backup {id} could not be found."),
    )
}

/// `os-force_delete`, `os-reset_status` and friends need an admin.
fn admin_action(ctx: &Ctx<'_>, what: &str) -> Response {
    let body = json_body(&ctx.req.body).unwrap_or(Value::Null);
    let action = body
        .as_object()
        .and_then(|o| o.keys().next().cloned())
        .unwrap_or_default();
    match action.as_str() {
        "os-force_delete" | "os-reset_status" | "os-force_detach" | "os-migrate_volume" => {
            fault_for(
                StatusCode::FORBIDDEN,
                &format!(
                    "Policy doesn't allow {what}_admin_actions:{} to be performed.",
                    action.trim_start_matches("os-")
                ),
            )
        }
        "" => bad_request("Invalid request body: no action given"),
        other => bad_request(&format!("There is no such action: {other}")),
    }
}

fn own_volume<'a>(state: &'a State, ctx: &Ctx<'_>, id: &str) -> Option<&'a Volume> {
    state
        .volumes
        .get(id)
        .filter(|v| v.project_id == ctx.project)
}

fn own_backup<'a>(state: &'a State, ctx: &Ctx<'_>, id: &str) -> Option<&'a Backup> {
    state
        .backups
        .get(id)
        .filter(|b| b.project_id == ctx.project)
}

fn links(ctx: &Ctx<'_>, kind: &str, id: &str) -> Value {
    let bookmark = ctx.base.replacen("/v3/", "/", 1);
    json!([
        {"rel": "self", "href": format!("{}/{kind}/{id}", ctx.base)},
        {"rel": "bookmark", "href": format!("{bookmark}/{kind}/{id}")},
    ])
}

fn render_volume(ctx: &Ctx<'_>, state: &State, v: &Volume) -> Value {
    let attachments: Vec<Value> = v
        .attachments
        .iter()
        .map(|a| {
            json!({
                "id": v.id,
                "attachment_id": a.id,
                "volume_id": v.id,
                "server_id": a.server_id,
                "host_name": null,
                "device": a.device,
                "attached_at": iso_micro(&a.attached_at),
            })
        })
        .collect();
    let mut o = Map::new();
    o.insert("id".into(), json!(v.id));
    o.insert("name".into(), json!(v.name));
    o.insert("description".into(), json!(v.description));
    o.insert("size".into(), json!(v.size));
    o.insert("status".into(), json!(state.volume_status(v)));
    o.insert("volume_type".into(), json!(v.type_name));
    o.insert("availability_zone".into(), json!("nova"));
    o.insert(
        "bootable".into(),
        json!(if v.bootable { "true" } else { "false" }),
    );
    o.insert("encrypted".into(), json!(false));
    o.insert("multiattach".into(), json!(false));
    o.insert("attachments".into(), Value::Array(attachments));
    o.insert("created_at".into(), json!(iso_micro(&v.meta.created)));
    o.insert("updated_at".into(), json!(iso_micro(&v.meta.updated)));
    o.insert("user_id".into(), json!(v.user_id));
    o.insert("os-vol-tenant-attr:tenant_id".into(), json!(v.project_id));
    o.insert("metadata".into(), json!(v.metadata));
    o.insert("snapshot_id".into(), Value::Null);
    o.insert("source_volid".into(), Value::Null);
    o.insert("consistencygroup_id".into(), Value::Null);
    o.insert("replication_status".into(), Value::Null);
    o.insert("migration_status".into(), Value::Null);
    o.insert("links".into(), links(ctx, "volumes", &v.id));
    if let Some(image_id) = &v.image_id {
        let image = ctx.shared.world.images.iter().find(|i| &i.id == image_id);
        o.insert(
            "volume_image_metadata".into(),
            json!({
                "image_id": image_id,
                "image_name": image.map(|i| i.name.clone()),
                "min_disk": image.map(|i| i.min_disk.to_string()),
                "min_ram": image.map(|i| i.min_ram.to_string()),
                "size": image.and_then(|i| i.size).map(|s| s.to_string()),
            }),
        );
    }
    if ctx.version >= (3, 13) {
        o.insert("group_id".into(), Value::Null);
    }
    if ctx.version >= (3, 63) {
        o.insert("volume_type_id".into(), json!(v.type_id));
    }
    if ctx.version >= (3, 65) {
        o.insert("consumes_quota".into(), json!(true));
    }
    Value::Object(o)
}

fn render_backup(ctx: &Ctx<'_>, state: &State, b: &Backup) -> Value {
    let available = b.state == BackupState::Available;
    let mut o = Map::new();
    o.insert("id".into(), json!(b.id));
    o.insert("name".into(), json!(b.name));
    o.insert("description".into(), json!(b.description));
    o.insert("status".into(), json!(state.backup_status(b)));
    o.insert("volume_id".into(), json!(b.volume_id));
    o.insert("size".into(), json!(b.size));
    o.insert("object_count".into(), json!(if available { 1 } else { 0 }));
    o.insert("availability_zone".into(), Value::Null);
    o.insert(
        "container".into(),
        json!(
            b.container
                .clone()
                .or_else(|| available.then(|| "volumebackups".to_owned()))
        ),
    );
    o.insert("created_at".into(), json!(iso_micro(&b.meta.created)));
    o.insert("updated_at".into(), json!(iso_micro(&b.meta.updated)));
    o.insert("data_timestamp".into(), json!(iso_micro(&b.meta.created)));
    o.insert("fail_reason".into(), json!(b.fail_reason));
    o.insert("has_dependent_backups".into(), json!(false));
    o.insert("is_incremental".into(), json!(b.incremental));
    o.insert("snapshot_id".into(), Value::Null);
    o.insert("links".into(), links(ctx, "backups", &b.id));
    if ctx.version >= (3, 43) {
        o.insert("metadata".into(), json!({}));
    }
    if ctx.version >= (3, 56) {
        o.insert("user_id".into(), json!(b.user_id));
    }
    if ctx.version >= (3, 64) {
        o.insert("encryption_key_id".into(), Value::Null);
    }
    Value::Object(o)
}

fn summary(ctx: &Ctx<'_>, kind: &str, id: &str, name: Option<&str>) -> Value {
    json!({"id": id, "name": name, "links": links(ctx, kind, id)})
}

/// Parsed list controls: filters (validated), limit, marker.
struct ListQuery {
    filters: Vec<(String, String)>,
    limit: Option<usize>,
    marker: Option<String>,
    offset: usize,
    with_count: bool,
}

fn list_query(ctx: &Ctx<'_>, allowed: &[&str]) -> Result<ListQuery, Fail> {
    let mut filters = Vec::new();
    let mut invalid = Vec::new();
    for (k, v) in dict(&ctx.req.query) {
        if LIST_CONTROLS.contains(&k.as_str()) {
            continue;
        }
        if allowed.contains(&k.as_str()) {
            filters.push((k, v));
        } else {
            invalid.push(k);
        }
    }
    if !invalid.is_empty() {
        return Err(bad_request(&format!(
            "Invalid input received: Invalid filter keys: {}",
            invalid.join(", ")
        ))
        .into());
    }
    let number = |name: &str| -> Result<Option<usize>, Fail> {
        match param(&ctx.req.query, name) {
            None => Ok(None),
            Some(text) => match text.trim().parse::<usize>() {
                Ok(n) => Ok(Some(n)),
                Err(_) => Err(bad_request(&format!(
                    "Invalid input received: {name} must be a non-negative integer"
                ))
                .into()),
            },
        }
    };
    Ok(ListQuery {
        filters,
        limit: number("limit")?,
        marker: param(&ctx.req.query, "marker").map(str::to_owned),
        offset: number("offset")?.unwrap_or(0),
        with_count: param(&ctx.req.query, "with_count")
            .and_then(parse_bool)
            .unwrap_or(false)
            && ctx.version >= (3, 45),
    })
}

/// Newest first (Cinder's default `created_at desc`, then `id desc`).
fn newest_first(a: (u64, &str), b: (u64, &str)) -> Ordering {
    b.0.cmp(&a.0).then_with(|| b.1.cmp(a.1))
}

/// One page of (id, rendered) pairs and the next link.
type Page = (Vec<(String, Value)>, Option<String>);

/// Page a sorted list of (id, rendered) pairs; returns the page and a next link.
fn page(
    ctx: &Ctx<'_>,
    collection: &str,
    query: &ListQuery,
    items: Vec<(String, Value)>,
) -> Result<Page, Fail> {
    let mut items = items;
    if let Some(marker) = &query.marker {
        match items.iter().position(|(id, _)| id == marker) {
            Some(pos) => {
                items.drain(..=pos);
            }
            None => {
                return Err(bad_request(&format!("Marker {marker} could not be found.")).into());
            }
        }
    }
    let items: Vec<(String, Value)> = items.into_iter().skip(query.offset).collect();
    let limit = query.limit.unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
    let mut items = items;
    let full = items.len() >= limit && limit > 0;
    items.truncate(limit);
    let next = if full && query.limit.is_some() {
        items.last().map(|(last, _)| {
            let mut params: Vec<(String, String)> = dict(&ctx.req.query)
                .into_iter()
                .filter(|(k, _)| k != "marker")
                .collect();
            params.push(("marker".into(), last.clone()));
            format!("{}/{collection}?{}", ctx.base, encode_query(&params))
        })
    } else {
        None
    };
    Ok((items, next))
}

fn list_body(
    key: &str,
    items: Vec<(String, Value)>,
    next: Option<String>,
    count: Option<usize>,
) -> Response {
    let mut out = Map::new();
    out.insert(
        key.to_owned(),
        Value::Array(items.into_iter().map(|(_, v)| v).collect()),
    );
    if let Some(href) = next {
        out.insert(
            format!("{key}_links"),
            json!([{"rel": "next", "href": href}]),
        );
    }
    if let Some(n) = count {
        out.insert("count".into(), json!(n));
    }
    json_response(StatusCode::OK, &Value::Object(out))
}

fn matches(rendered: &Value, filters: &[(String, String)]) -> bool {
    filters.iter().all(|(k, wanted)| match rendered.get(k) {
        Some(Value::String(s)) => s == wanted,
        Some(Value::Number(n)) => &n.to_string() == wanted,
        Some(Value::Bool(b)) => parse_bool(wanted) == Some(*b),
        Some(Value::Null) | None => false,
        Some(_) => false,
    })
}

fn list_volumes(ctx: &Ctx<'_>, detail: bool) -> Response {
    let query = match list_query(ctx, VOLUME_FILTERS) {
        Ok(q) => q,
        Err(resp) => return *resp,
    };
    let mut state = ctx.shared.state();
    let mut own: Vec<&Volume> = state
        .volumes
        .values()
        .filter(|v| v.project_id == ctx.project)
        .collect();
    own.sort_by(|a, b| newest_first((a.meta.seq, &a.id), (b.meta.seq, &b.id)));
    let rendered: Vec<(String, Value)> = own
        .iter()
        .map(|v| (v.id.clone(), render_volume(ctx, &state, v)))
        .filter(|(_, r)| matches(r, &query.filters))
        .collect();
    let count = query.with_count.then_some(rendered.len());
    let collection = if detail { "volumes/detail" } else { "volumes" };
    let (items, next) = match page(ctx, collection, &query, rendered) {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    for (id, _) in &items {
        if let Some(v) = state.volumes.get_mut(id) {
            v.poll();
        }
    }
    let items = if detail {
        items
    } else {
        items
            .into_iter()
            .map(|(id, r)| {
                let s = summary(ctx, "volumes", &id, r["name"].as_str());
                (id, s)
            })
            .collect()
    };
    list_body("volumes", items, next, count)
}

fn list_backups(ctx: &Ctx<'_>, detail: bool) -> Response {
    let query = match list_query(ctx, BACKUP_FILTERS) {
        Ok(q) => q,
        Err(resp) => return *resp,
    };
    let mut state = ctx.shared.state();
    let mut own: Vec<&Backup> = state
        .backups
        .values()
        .filter(|b| b.project_id == ctx.project)
        .collect();
    own.sort_by(|a, b| newest_first((a.meta.seq, &a.id), (b.meta.seq, &b.id)));
    let rendered: Vec<(String, Value)> = own
        .iter()
        .map(|b| (b.id.clone(), render_backup(ctx, &state, b)))
        .filter(|(_, r)| matches(r, &query.filters))
        .collect();
    let count = query.with_count.then_some(rendered.len());
    let collection = if detail { "backups/detail" } else { "backups" };
    let (items, next) = match page(ctx, collection, &query, rendered) {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    for (id, _) in &items {
        if let Some(b) = state.backups.get_mut(id) {
            b.poll();
        }
    }
    let items = if detail {
        items
    } else {
        items
            .into_iter()
            .map(|(id, r)| {
                let s = summary(ctx, "backups", &id, r["name"].as_str());
                (id, s)
            })
            .collect()
    };
    list_body("backups", items, next, count)
}

/// The request body's `{"<key>": {...}}` object.
fn body_object(ctx: &Ctx<'_>, key: &str) -> Result<Map<String, Value>, Fail> {
    let body = json_body(&ctx.req.body).map_err(|e| Fail::from(bad_request(&e)))?;
    match body.get(key) {
        Some(Value::Object(o)) => Ok(o.clone()),
        _ => Err(bad_request(&format!(
            "Missing required element '{key}' in request body."
        ))
        .into()),
    }
}

fn opt_string(o: &Map<String, Value>, field: &str) -> Result<Option<String>, Fail> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.chars().count() > 255 {
                return Err(bad_request(&format!(
                    "Invalid input for field/attribute {field}. Value: {s}. is too long"
                )).into());
            }
            Ok(Some(s.clone()))
        }
        Some(other) => Err(bad_request(&format!(
            "Invalid input for field/attribute {field}. Value: {other}. {other} is not of type 'string', 'null'"
        )).into()),
    }
}

/// Cinder accepts integers and integer strings for sizes.
fn size_field(o: &Map<String, Value>) -> Result<Option<u64>, Fail> {
    let bad = |v: &Value| {
        bad_request(&format!(
            "Invalid input for field/attribute size. Value: {v}. {v} is not of type 'integer', 'string', 'null'"
        ))
    };
    match o.get("size") {
        None | Some(Value::Null) => Ok(None),
        Some(v @ Value::Number(n)) => match n.as_u64() {
            Some(size) if size >= 1 => Ok(Some(size)),
            _ => Err(bad(v).into()),
        },
        Some(v @ Value::String(s)) => match s.trim().parse::<u64>() {
            Ok(size) if size >= 1 => Ok(Some(size)),
            _ => Err(bad(v).into()),
        },
        Some(v) => Err(bad(v).into()),
    }
}

fn string_map(o: &Map<String, Value>, field: &str) -> Result<BTreeMap<String, String>, Fail> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(bad_request(&format!(
                    "Invalid input for field/attribute {field}. Value: {other}. is not of type 'string'"
                )).into()),
            })
            .collect(),
        Some(other) => Err(bad_request(&format!(
            "Invalid input for field/attribute {field}. Value: {other}. is not of type 'object'"
        )).into()),
    }
}

/// Create a volume record (also used by Nova for boot from volume and by restore).
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_volume(
    state: &mut State,
    shared: &Shared,
    project: &str,
    user: &str,
    name: Option<String>,
    description: Option<String>,
    size: u64,
    type_index: Option<usize>,
    image_id: Option<String>,
    initial: VolumeState,
) -> String {
    let (type_name, type_id) = type_index
        .and_then(|i| shared.world.volume_types.get(i))
        .map(|t| (t.name.clone(), t.id.clone()))
        .unwrap_or_else(|| {
            (
                "__DEFAULT__".to_owned(),
                crate::ids::uuid_from("volume-type:__DEFAULT__"),
            )
        });
    let id = new_id();
    let meta = state.meta();
    state.volumes.insert(
        id.clone(),
        Volume {
            id: id.clone(),
            name,
            description,
            project_id: project.to_owned(),
            user_id: user.to_owned(),
            size,
            type_name,
            type_id,
            state: initial,
            phase: Phase::new(),
            bootable: image_id.is_some(),
            image_id,
            attachments: Vec::new(),
            restored_from: None,
            metadata: BTreeMap::new(),
            deleting: None,
            meta,
        },
    );
    id
}

/// Resolve a volume type given by name or id (visible types only).
pub(crate) fn find_type(shared: &Shared, wanted: &str) -> Option<usize> {
    shared
        .world
        .volume_types
        .iter()
        .position(|t| t.is_public && (t.name == wanted || t.id == wanted))
}

fn create_volume(ctx: &Ctx<'_>) -> Response {
    let o = match body_object(ctx, "volume") {
        Ok(o) => o,
        Err(resp) => return *resp,
    };
    let parsed = (|| -> Result<_, Fail> {
        let name = opt_string(&o, "name")?.or(opt_string(&o, "display_name")?);
        let description = opt_string(&o, "description")?.or(opt_string(&o, "display_description")?);
        let size = size_field(&o)?;
        let type_index = match opt_string(&o, "volume_type")? {
            Some(wanted) => Some(find_type(ctx.shared, &wanted).ok_or_else(|| {
                Fail::from({
                    fault_for(
                        StatusCode::NOT_FOUND,
                        &format!("Volume type with name {wanted} could not be found."),
                    )
                })
            })?),
            None => ctx.shared.world.default_volume_type,
        };
        let image = match opt_string(&o, "imageRef")? {
            Some(image_ref) => Some(
                ctx.shared
                    .world
                    .images
                    .iter()
                    .find(|i| {
                        i.id == image_ref
                            && i.status == "active"
                            && crate::glance::visible_to(i, &ctx.project)
                    })
                    .ok_or_else(|| Fail::from({
                        bad_request(
                            "Invalid input received: Invalid image identifier or unable to access requested image.",
                        )
                    }))?,
            ),
            None => None,
        };
        let source_size = match opt_string(&o, "source_volid")? {
            Some(src) => {
                let state = ctx.shared.state();
                let Some(v) = own_volume(&state, ctx, &src) else {
                    return Err(volume_not_found(&src).into());
                };
                Some(v.size)
            }
            None => None,
        };
        if o.get("snapshot_id").is_some_and(|v| !v.is_null()) {
            return Err(bad_request("simcloud does not implement snapshots").into());
        }
        let size = match (size, source_size) {
            (Some(s), _) => s,
            (None, Some(s)) => s,
            (None, None) => {
                return Err(bad_request(
                    "Invalid input received: Volume size '' must be an integer and greater than 0",
                )
                .into());
            }
        };
        if let Some(image) = image {
            if size < image.min_disk {
                return Err(bad_request(&format!(
                    "Invalid input received: Volume size {size}GB cannot be smaller than the image minDisk size {}GB.",
                    image.min_disk
                )).into());
            }
            let image_gib = image.size.unwrap_or(0).div_ceil(1 << 30);
            if size < image_gib {
                return Err(bad_request(&format!(
                    "Invalid input received: Size of specified image {image_gib}GB is larger than volume size {size}GB."
                )).into());
            }
        }
        if source_size.is_some_and(|s| size < s) {
            return Err(bad_request(
                "Invalid input received: Volume size cannot be smaller than the source volume size.",
            ).into());
        }
        let metadata = string_map(&o, "metadata")?;
        Ok((
            name,
            description,
            size,
            type_index,
            image.map(|i| i.id.clone()),
            metadata,
        ))
    })();
    let (name, description, size, type_index, image_id, metadata) = match parsed {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let mut state = ctx.shared.state();
    let used = quota::usage(&state, &ctx.shared.world, &ctx.project);
    if let Err(over) = quota::cinder_volume_check(&ctx.shared.fixture.quota, &used, size) {
        return over.response();
    }
    let id = insert_volume(
        &mut state,
        ctx.shared,
        &ctx.project,
        &user_id(&ctx.token.user),
        name,
        description,
        size,
        type_index,
        image_id,
        VolumeState::Creating,
    );
    if let Some(v) = state.volumes.get_mut(&id) {
        v.metadata = metadata;
    }
    let Some(volume) = state.volumes.get(&id) else {
        return volume_not_found(&id);
    };
    let body = render_volume(ctx, &state, volume);
    json_response(StatusCode::ACCEPTED, &json!({ "volume": body }))
}

fn update_volume(ctx: &Ctx<'_>, id: &str) -> Response {
    let o = match body_object(ctx, "volume") {
        Ok(o) => o,
        Err(resp) => return *resp,
    };
    let fields = (|| -> Result<_, Fail> {
        Ok((
            opt_string(&o, "name")?,
            opt_string(&o, "description")?,
            string_map(&o, "metadata")?,
        ))
    })();
    let (name, description, metadata) = match fields {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let mut state = ctx.shared.state();
    if own_volume(&state, ctx, id).is_none() {
        return volume_not_found(id);
    }
    if let Some(v) = state.volumes.get_mut(id) {
        if o.contains_key("name") {
            v.name = name;
        }
        if o.contains_key("description") {
            v.description = description;
        }
        if o.contains_key("metadata") {
            v.metadata = metadata;
        }
        v.meta.touch();
    }
    match state.volumes.get(id) {
        Some(v) => {
            let body = render_volume(ctx, &state, v);
            json_response(StatusCode::OK, &json!({ "volume": body }))
        }
        None => volume_not_found(id),
    }
}

fn accepted() -> Response {
    Response::builder()
        .status(StatusCode::ACCEPTED)
        .body(axum::body::Body::empty())
        .unwrap_or_default()
}

fn delete_volume(ctx: &Ctx<'_>, id: &str) -> Response {
    let mut state = ctx.shared.state();
    let Some(volume) = own_volume(&state, ctx, id) else {
        return volume_not_found(id);
    };
    let status = state.volume_status(volume);
    if !matches!(status, "available" | "error") {
        return bad_request(&format!(
            "Invalid volume: Volume status must be available or error or error_restoring or \
             error_extending or error_managing and must not be migrating, attached, belong to a \
             group, have snapshots, awaiting a transfer, or be disassociated from snapshots after \
             volume transfer. (current status: {status})"
        ));
    }
    if let Some(v) = state.volumes.get_mut(id) {
        v.deleting = Some(Phase::new());
        v.meta.touch();
    }
    accepted()
}

fn create_backup(ctx: &Ctx<'_>) -> Response {
    let o = match body_object(ctx, "backup") {
        Ok(o) => o,
        Err(resp) => return *resp,
    };
    let fields = (|| -> Result<_, Fail> {
        let volume_id = opt_string(&o, "volume_id")?.ok_or_else(|| {
            Fail::from({
                bad_request(
                    "Invalid input for field/attribute backup. 'volume_id' is a required property",
                )
            })
        })?;
        let flag = |field: &str| -> Result<bool, Fail> {
            match o.get(field) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(Value::String(s)) => parse_bool(s).ok_or_else(|| {
                    Fail::from({
                        bad_request(&format!(
                            "Invalid input for field/attribute {field}. Value: {s}."
                        ))
                    })
                }),
                Some(other) => Err(bad_request(&format!(
                    "Invalid input for field/attribute {field}. Value: {other}."
                ))
                .into()),
            }
        };
        Ok((
            volume_id,
            opt_string(&o, "name")?,
            opt_string(&o, "description")?,
            opt_string(&o, "container")?,
            flag("incremental")?,
            flag("force")?,
        ))
    })();
    let (volume_id, name, description, container, incremental, force) = match fields {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let mut state = ctx.shared.state();
    let Some(volume) = own_volume(&state, ctx, &volume_id) else {
        return volume_not_found(&volume_id);
    };
    let status = state.volume_status(volume);
    if !matches!(status, "available" | "in-use") {
        return bad_request(&format!(
            "Invalid volume: Volume to be backed up must be available or in-use, but the current status is \"{status}\"."
        ));
    }
    if status == "in-use" && !force {
        return bad_request("Invalid volume: Backing up an in-use volume must use the force flag.");
    }
    if incremental
        && !state.backups.values().any(|b| {
            b.volume_id == volume_id && b.state == BackupState::Available && b.deleting.is_none()
        })
    {
        return bad_request("Invalid backup: No backups available to do an incremental backup.");
    }
    let size = volume.size;
    let used = quota::usage(&state, &ctx.shared.world, &ctx.project);
    if let Err(over) = quota::cinder_backup_check(&ctx.shared.fixture.quota, &used, size) {
        return over.response();
    }
    let id = new_id();
    let meta = state.meta();
    state.backups.insert(
        id.clone(),
        Backup {
            id: id.clone(),
            name: name.clone(),
            description,
            project_id: ctx.project.clone(),
            user_id: user_id(&ctx.token.user),
            volume_id,
            size,
            container,
            incremental,
            state: BackupState::Creating,
            phase: Phase::new(),
            fail_reason: None,
            deleting: None,
            meta,
        },
    );
    json_response(
        StatusCode::ACCEPTED,
        &json!({"backup": summary(ctx, "backups", &id, name.as_deref())}),
    )
}

fn delete_backup(ctx: &Ctx<'_>, id: &str) -> Response {
    let mut state = ctx.shared.state();
    let Some(backup) = own_backup(&state, ctx, id) else {
        return backup_not_found(id);
    };
    let status = state.backup_status(backup);
    if !matches!(status, "available" | "error") {
        return bad_request("Invalid backup: Backup status must be available or error");
    }
    if !ctx.shared.fixture.volume.backup_service {
        // The API looks for a backup host to delete on and finds none (standards#795).
        return fault_for(
            StatusCode::NOT_FOUND,
            "Service cinder-backup could not be found.",
        );
    }
    if let Some(b) = state.backups.get_mut(id) {
        b.deleting = Some(Phase::new());
        b.meta.touch();
    }
    accepted()
}

fn restore_backup(ctx: &Ctx<'_>, id: &str) -> Response {
    let o = match body_object(ctx, "restore") {
        Ok(o) => o,
        Err(resp) => return *resp,
    };
    let fields =
        (|| -> Result<_, Fail> { Ok((opt_string(&o, "volume_id")?, opt_string(&o, "name")?)) })();
    let (target, name) = match fields {
        Ok(f) => f,
        Err(resp) => return *resp,
    };
    let mut state = ctx.shared.state();
    let Some(backup) = own_backup(&state, ctx, id) else {
        return backup_not_found(id);
    };
    if state.backup_status(backup) != "available" {
        return bad_request("Invalid backup: Backup status must be available");
    }
    let size = backup.size;
    let volume_id = match target {
        Some(volume_id) => {
            let Some(volume) = own_volume(&state, ctx, &volume_id) else {
                return volume_not_found(&volume_id);
            };
            if state.volume_status(volume) != "available" {
                return bad_request("Invalid volume: Volume to be restored to must be available");
            }
            if volume.size < size {
                return bad_request(&format!(
                    "Invalid volume: volume size {} is too small to restore backup of size {size}.",
                    volume.size
                ));
            }
            volume_id
        }
        None => {
            // A restore into a new volume reserves it like a create; the restore API answers
            // the refusal itself (413, the message without the exception name).
            let used = quota::usage(&state, &ctx.shared.world, &ctx.project);
            if let Err(over) = quota::cinder_volume_check(&ctx.shared.fixture.quota, &used, size) {
                return over.restore_response();
            }
            insert_volume(
                &mut state,
                ctx.shared,
                &ctx.project,
                &user_id(&ctx.token.user),
                Some(name.unwrap_or_else(|| format!("restore_backup_{id}"))),
                None,
                size,
                ctx.shared.world.default_volume_type,
                None,
                VolumeState::Creating,
            )
        }
    };
    let volume_name = if let Some(v) = state.volumes.get_mut(&volume_id) {
        v.state = VolumeState::RestoringBackup;
        v.phase = Phase::new();
        v.restored_from = Some(id.to_owned());
        v.meta.touch();
        v.name.clone()
    } else {
        None
    };
    json_response(
        StatusCode::ACCEPTED,
        &json!({"restore": {"backup_id": id, "volume_id": volume_id, "volume_name": volume_name}}),
    )
}

//! Nova 2.1 servers (create with networks, boot from volume and user data; list, detail, show,
//! update, delete; console output), keypairs and the availability-zone list.
//!
//! Status transitions are lazy (see `state`): a new server shows `BUILD` for
//! `compute.server_build_polls` GETs, then `ACTIVE` (or `ERROR`); its console shows only the
//! boot log until it has been polled `compute.console_delay_polls` times while `ACTIVE`.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde_json::{Map, Value, json};

use crate::cinder;
use crate::http::Fail;
use crate::http::{
    dict, encode_query, fault, fault_for, iso_micro, iso_z, json_body, json_response, param,
    with_header,
};
use crate::ids::{hex_digest, project_id, user_id};
use crate::nova::{Links, visible_flavor};
use crate::quota;
use crate::server::{Req, Shared, Token};
use crate::state::{
    AttachedVolume, Attachment, Keypair, Phase, Server, ServerState, State, VolumeState, new_id,
};
use crate::world::ImageRec;

/// Nova's `[api] max_limit`.
const MAX_LIMIT: usize = 1000;
/// Largest `user_data` (base64 text) Nova accepts.
const MAX_USER_DATA: usize = 65535;

/// Query parameters of the server list a member may use (2.75+ refuses others).
const SERVER_LIST_PARAMS: &[&str] = &[
    "name",
    "status",
    "image",
    "flavor",
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "changes-since",
    "changes-before",
    "ip",
    "ip6",
    "reservation_id",
    "all_tenants",
    "deleted",
    "tags",
    "tags-any",
    "not-tags",
    "not-tags-any",
    "locked",
    "description",
    "availability_zone",
    "key_name",
    "config_drive",
    "vm_state",
    "task_state",
    "power_state",
    "created_at",
    "launched_at",
    "terminated_at",
    "uuid",
    "user_id",
    "project_id",
    "tenant_id",
    "access_ip_v4",
    "access_ip_v6",
    "progress",
    "hostname",
];

struct Ctx<'a> {
    shared: &'a Shared,
    req: &'a Req,
    token: &'a Token,
    project: String,
    version: (u32, u32),
    links: &'a Links,
}

fn bad_request(message: &str) -> Response {
    fault(StatusCode::BAD_REQUEST, "badRequest", message)
}

fn server_not_found(id: &str) -> Response {
    fault(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        &format!("Instance {id} could not be found."),
    )
}

fn no_content(status: StatusCode) -> Response {
    Response::builder()
        .status(status)
        .body(axum::body::Body::empty())
        .unwrap_or_default()
}

/// Route servers, keypairs and availability zones; `None` for paths that are not ours.
pub(crate) fn route(
    shared: &Shared,
    req: &Req,
    token: &Token,
    version: (u32, u32),
    links: &Links,
    segs: &[&str],
) -> Option<Response> {
    let ctx = Ctx {
        shared,
        req,
        token,
        project: token.project.as_deref().map(project_id).unwrap_or_default(),
        version,
        links,
    };
    let method = req.method.as_str();
    Some(match (method, segs) {
        ("GET", ["servers"]) => list_servers(&ctx, false),
        ("GET", ["servers", "detail"]) => list_servers(&ctx, true),
        ("POST", ["servers"]) => create_server(&ctx),
        ("GET", ["servers", id]) => show_server(&ctx, id),
        ("PUT", ["servers", id]) => update_server(&ctx, id),
        ("DELETE", ["servers", id]) => delete_server(&ctx, id),
        ("POST", ["servers", id, "action"]) => server_action(&ctx, id),
        ("GET", ["servers", id, "os-volume_attachments"]) => volume_attachments(&ctx, id),
        ("GET", ["os-keypairs"]) => list_keypairs(&ctx),
        ("POST", ["os-keypairs"]) => create_keypair(&ctx),
        ("GET", ["os-keypairs", name]) => show_keypair(&ctx, name),
        ("DELETE", ["os-keypairs", name]) => delete_keypair(&ctx, name),
        ("GET", ["limits"]) => limits(&ctx),
        ("GET", ["os-availability-zone"]) => json_response(
            StatusCode::OK,
            &json!({"availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": true}, "hosts": null}]}),
        ),
        (
            _,
            ["servers"]
            | ["servers", _]
            | ["servers", _, "action"]
            | ["os-keypairs"]
            | ["os-keypairs", _]
            | ["limits"],
        ) => crate::http::method_not_allowed(&req.method, &req.path),
        _ => return None,
    })
}

// ------------------------------------------------------------------ rendering

fn server_links(ctx: &Ctx<'_>, id: &str) -> Value {
    json!([
        {"rel": "self", "href": format!("{}/servers/{id}", ctx.links.app_url)},
        {"rel": "bookmark", "href": format!("{}/servers/{id}", ctx.links.bookmark_url)},
    ])
}

fn status_of(s: &Server) -> &'static str {
    match s.state {
        ServerState::Build => "BUILD",
        ServerState::Active => "ACTIVE",
        ServerState::Error => "ERROR",
    }
}

fn render_server(ctx: &Ctx<'_>, state: &State, s: &Server) -> Value {
    let built = s.state != ServerState::Build;
    let mut addresses = Map::new();
    if built {
        for port_id in &s.ports {
            let Some(port) = state.ports.get(port_id) else {
                continue;
            };
            let net_name = state
                .networks
                .get(&port.network_id)
                .map(|n| n.name.clone())
                .unwrap_or_default();
            let entries = addresses
                .entry(net_name)
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = entries {
                for (_, ip) in &port.fixed_ips {
                    list.push(json!({
                        "version": if ip.is_ipv4() { 4 } else { 6 },
                        "addr": ip.to_string(),
                        "OS-EXT-IPS:type": "fixed",
                        "OS-EXT-IPS-MAC:mac_addr": port.mac,
                    }));
                }
            }
        }
    }
    let image = match &s.image_id {
        Some(id) => {
            json!({"id": id, "links": [{"rel": "bookmark", "href": format!("{}/images/{id}", ctx.links.bookmark_url)}]})
        }
        None => json!(""),
    };
    let flavor = ctx
        .shared
        .world
        .flavors
        .iter()
        .find(|f| f.flavor.id == s.flavor_id);
    let flavor_body = if ctx.version >= (2, 47) {
        match flavor {
            Some(f) => json!({
                "vcpus": f.flavor.vcpus,
                "ram": f.flavor.ram,
                "disk": f.flavor.disk,
                "ephemeral": f.flavor.ephemeral,
                "swap": f.flavor.swap,
                "original_name": f.flavor.name,
                "extra_specs": f.flavor.extra_specs,
            }),
            None => json!({}),
        }
    } else {
        json!({"id": s.flavor_id, "links": [{"rel": "bookmark", "href": format!("{}/flavors/{}", ctx.links.bookmark_url, s.flavor_id)}]})
    };
    let (vm_state, power_state) = match s.state {
        ServerState::Build => ("building", 0),
        ServerState::Active => ("active", 1),
        ServerState::Error => ("error", 0),
    };
    let task_state = if s.deleting.is_some() {
        json!("deleting")
    } else if s.state == ServerState::Build {
        json!("spawning")
    } else {
        Value::Null
    };
    let volumes: Vec<Value> = s
        .volumes
        .iter()
        .map(|v| {
            if ctx.version >= (2, 3) {
                json!({"id": v.volume_id, "delete_on_termination": v.delete_on_termination})
            } else {
                json!({"id": v.volume_id})
            }
        })
        .collect();
    let mut o = Map::new();
    o.insert("id".into(), json!(s.id));
    o.insert("name".into(), json!(s.name));
    o.insert("status".into(), json!(status_of(s)));
    o.insert("tenant_id".into(), json!(s.project_id));
    o.insert("user_id".into(), json!(s.user_id));
    o.insert("metadata".into(), json!(s.metadata));
    o.insert(
        "hostId".into(),
        json!(if built {
            hex_digest(&format!("host:{}", s.project_id), 56)
        } else {
            String::new()
        }),
    );
    o.insert("image".into(), image);
    o.insert("flavor".into(), flavor_body);
    o.insert("created".into(), json!(iso_z(&s.meta.created)));
    o.insert("updated".into(), json!(iso_z(&s.meta.updated)));
    o.insert("addresses".into(), Value::Object(addresses));
    o.insert("accessIPv4".into(), json!(""));
    o.insert("accessIPv6".into(), json!(""));
    o.insert("links".into(), server_links(ctx, &s.id));
    o.insert("OS-DCF:diskConfig".into(), json!("MANUAL"));
    o.insert("progress".into(), json!(0));
    o.insert(
        "OS-EXT-AZ:availability_zone".into(),
        json!(if built { "nova" } else { "" }),
    );
    o.insert("config_drive".into(), json!(""));
    o.insert("key_name".into(), json!(s.key_name));
    o.insert(
        "OS-SRV-USG:launched_at".into(),
        json!(s.launched_at.as_ref().map(iso_micro)),
    );
    o.insert("OS-SRV-USG:terminated_at".into(), Value::Null);
    o.insert(
        "security_groups".into(),
        Value::Array(
            s.security_groups
                .iter()
                .map(|n| json!({"name": n}))
                .collect(),
        ),
    );
    o.insert("OS-EXT-STS:task_state".into(), task_state);
    o.insert("OS-EXT-STS:vm_state".into(), json!(vm_state));
    o.insert("OS-EXT-STS:power_state".into(), json!(power_state));
    o.insert(
        "os-extended-volumes:volumes_attached".into(),
        Value::Array(volumes),
    );
    if s.state == ServerState::Error {
        let message = s
            .build_fault
            .as_deref()
            .unwrap_or(&ctx.shared.fixture.compute.server_fault);
        o.insert(
            "fault".into(),
            json!({"code": 500, "created": iso_z(&s.meta.updated), "message": message}),
        );
    }
    if ctx.version >= (2, 9) {
        o.insert("locked".into(), json!(false));
    }
    if ctx.version >= (2, 19) {
        o.insert("description".into(), json!(s.description));
    }
    if ctx.version >= (2, 26) {
        o.insert("tags".into(), json!([]));
    }
    if ctx.version >= (2, 63) {
        o.insert("trusted_image_certificates".into(), Value::Null);
    }
    if ctx.version >= (2, 71) {
        o.insert("server_groups".into(), json!([]));
    }
    if ctx.version >= (2, 73) {
        o.insert("locked_reason".into(), Value::Null);
    }
    if ctx.version >= (2, 96) {
        o.insert("pinned_availability_zone".into(), Value::Null);
    }
    Value::Object(o)
}

fn own_server<'a>(ctx: &Ctx<'_>, state: &'a State, id: &str) -> Option<&'a Server> {
    state
        .servers
        .get(id)
        .filter(|s| s.project_id == ctx.project)
}

// ------------------------------------------------------------------ list, show

/// Nova's `name` filter is a regular expression (searched, not anchored).
fn name_matches(pattern: &str, name: &str) -> bool {
    match regex::Regex::new(pattern) {
        Ok(re) => re.is_match(name),
        Err(_) => name.contains(pattern),
    }
}

fn list_servers(ctx: &Ctx<'_>, detail: bool) -> Response {
    if ctx.version >= (2, 75)
        && let Some((k, _)) = ctx
            .req
            .query
            .iter()
            .find(|(k, _)| !SERVER_LIST_PARAMS.contains(&k.as_str()))
    {
        return bad_request(&format!(
            "Invalid input for query parameters {k}. Value: {k}. Additional properties are not allowed ('{k}' was unexpected)"
        ));
    }
    let limit = match crate::http::uint_param(&ctx.req.query, "limit") {
        Ok(l) => l.map(|l| usize::try_from(l).unwrap_or(usize::MAX)),
        Err(e) => return bad_request(&e),
    };
    let q = &ctx.req.query;
    let mut state = ctx.shared.state();
    let mut servers: Vec<&Server> = state
        .servers
        .values()
        .filter(|s| s.project_id == ctx.project)
        .filter(|s| param(q, "name").is_none_or(|p| name_matches(p, &s.name)))
        .filter(|s| param(q, "status").is_none_or(|st| st.eq_ignore_ascii_case(status_of(s))))
        .filter(|s| param(q, "flavor").is_none_or(|f| f == s.flavor_id))
        .filter(|s| param(q, "image").is_none_or(|i| s.image_id.as_deref() == Some(i)))
        .filter(|s| param(q, "key_name").is_none_or(|k| s.key_name.as_deref() == Some(k)))
        .collect();
    // Newest first (created_at desc, then id desc).
    servers.sort_by(|a, b| b.meta.seq.cmp(&a.meta.seq).then_with(|| b.id.cmp(&a.id)));
    if let Some(marker) = param(q, "marker") {
        match servers.iter().position(|s| s.id == marker) {
            Some(pos) => {
                servers.drain(..=pos);
            }
            None => return bad_request(&format!("marker [{marker}] not found")),
        }
    }
    let page = limit.unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
    let full = page > 0 && servers.len() >= page && limit.is_some();
    servers.truncate(page);
    let ids: Vec<String> = servers.iter().map(|s| s.id.clone()).collect();
    let items: Vec<Value> = servers
        .iter()
        .map(|s| {
            if detail {
                render_server(ctx, &state, s)
            } else {
                json!({"id": s.id, "name": s.name, "links": server_links(ctx, &s.id)})
            }
        })
        .collect();
    for id in &ids {
        if let Some(s) = state.servers.get_mut(id) {
            s.poll();
        }
    }
    let mut out = Map::new();
    out.insert("servers".into(), Value::Array(items));
    if full && let Some(last) = ids.last() {
        let mut params: Vec<(String, String)> =
            dict(q).into_iter().filter(|(k, _)| k != "marker").collect();
        params.push(("marker".into(), last.clone()));
        let collection = if detail { "servers/detail" } else { "servers" };
        out.insert(
            "servers_links".into(),
            json!([{"rel": "next", "href": format!("{}/{collection}?{}", ctx.links.app_url, encode_query(&params))}]),
        );
    }
    json_response(StatusCode::OK, &Value::Object(out))
}

fn show_server(ctx: &Ctx<'_>, id: &str) -> Response {
    let mut state = ctx.shared.state();
    let Some(server) = own_server(ctx, &state, id) else {
        return server_not_found(id);
    };
    let body = render_server(ctx, &state, server);
    if let Some(s) = state.servers.get_mut(id) {
        s.poll();
    }
    json_response(StatusCode::OK, &json!({ "server": body }))
}

fn update_server(ctx: &Ctx<'_>, id: &str) -> Response {
    let body = match json_body(&ctx.req.body) {
        Ok(b) => b,
        Err(e) => return bad_request(&e),
    };
    let Some(o) = body.get("server").and_then(Value::as_object) else {
        return bad_request(
            "Invalid input for field/attribute server. 'server' is a required property",
        );
    };
    let name = o.get("name").and_then(Value::as_str).map(str::to_owned);
    let description = o.get("description").map(|d| d.as_str().map(str::to_owned));
    let mut state = ctx.shared.state();
    if own_server(ctx, &state, id).is_none() {
        return server_not_found(id);
    }
    if let Some(s) = state.servers.get_mut(id) {
        if let Some(n) = name {
            s.name = n;
        }
        if let Some(d) = description {
            s.description = d;
        }
        s.meta.touch();
    }
    match own_server(ctx, &state, id) {
        Some(s) => json_response(
            StatusCode::OK,
            &json!({"server": render_server(ctx, &state, s)}),
        ),
        None => server_not_found(id),
    }
}

fn delete_server(ctx: &Ctx<'_>, id: &str) -> Response {
    let mut state = ctx.shared.state();
    if own_server(ctx, &state, id).is_none() {
        return server_not_found(id);
    }
    if let Some(s) = state.servers.get_mut(id)
        && s.deleting.is_none()
    {
        s.deleting = Some(Phase::new());
        s.meta.touch();
    }
    // With server_delete_polls 0 the server is gone at once.
    state.tick(&ctx.shared.fixture);
    no_content(StatusCode::NO_CONTENT)
}

fn volume_attachments(ctx: &Ctx<'_>, id: &str) -> Response {
    let state = ctx.shared.state();
    let Some(server) = own_server(ctx, &state, id) else {
        return server_not_found(id);
    };
    let list: Vec<Value> = server
        .volumes
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({
                "id": v.volume_id,
                "volumeId": v.volume_id,
                "serverId": server.id,
                "device": device_name(i),
            })
        })
        .collect();
    json_response(StatusCode::OK, &json!({ "volumeAttachments": list }))
}

fn device_name(index: usize) -> String {
    let letter = char::from(b'a' + u8::try_from(index % 26).unwrap_or(0));
    format!("/dev/vd{letter}")
}

// ------------------------------------------------------------------ limits

/// `GET /limits`: the project's absolute limits and usage. Another project's (`tenant_id`)
/// needs an admin; from 2.75 unknown query parameters are refused, as Nova's schema does.
fn limits(ctx: &Ctx<'_>) -> Response {
    if ctx.req.query.iter().any(|(k, _)| k == "tenant_id") {
        return fault(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Policy doesn't allow os_compute_api:limits:other_project to be performed.",
        );
    }
    if ctx.version >= (2, 75)
        && let Some((k, _)) = ctx.req.query.iter().find(|(k, _)| k != "tenant_id")
    {
        return bad_request(&format!(
            "Additional properties are not allowed ('{k}' was unexpected)"
        ));
    }
    let state = ctx.shared.state();
    let used = quota::usage(&state, &ctx.shared.world, &ctx.project);
    json_response(
        StatusCode::OK,
        &quota::nova_limits(&ctx.shared.fixture.quota, &used, ctx.version),
    )
}

// ------------------------------------------------------------------ create

/// A boot-from-volume or local block device, after validation.
enum Bdm {
    /// A new volume from an image or blank (image id, size, delete on termination).
    NewVolume(Option<String>, u64, bool),
    /// An existing volume.
    Existing(String, bool),
}

struct Plan {
    name: String,
    flavor_id: String,
    image: Option<String>,
    networks: Vec<String>,
    bdms: Vec<Bdm>,
    user_data: Option<String>,
    key_name: Option<String>,
    metadata: BTreeMap<String, String>,
    description: Option<String>,
    groups: Vec<(String, String)>,
}

fn find_image<'a>(ctx: &Ctx<'a>, id: &str) -> Option<&'a ImageRec> {
    let id = id.rsplit('/').next().unwrap_or(id);
    ctx.shared
        .world
        .images
        .iter()
        .find(|i| i.id == id && crate::glance::visible_to(i, &ctx.project))
}

fn invalid_field(field: &str, value: &Value, reason: &str) -> Response {
    bad_request(&format!(
        "Invalid input for field/attribute {field}. Value: {value}. {reason}"
    ))
}

fn plan_server(ctx: &Ctx<'_>, state: &mut State) -> Result<Plan, Fail> {
    let body = json_body(&ctx.req.body).map_err(|e| Fail::from(bad_request(&e)))?;
    let Some(o) = body.get("server").and_then(Value::as_object) else {
        return Err(invalid_field("server", &body, "'server' is a required property").into());
    };
    let whole = Value::Object(o.clone());
    let name = match o.get("name") {
        Some(Value::String(n)) if !n.trim().is_empty() && n.chars().count() <= 255 => n.clone(),
        Some(v) => return Err(invalid_field("name", v, "is not a valid server name").into()),
        None => {
            return Err(invalid_field("server", &whole, "'name' is a required property").into());
        }
    };
    let flavor_ref = match o.get("flavorRef") {
        Some(Value::String(f)) => f.rsplit('/').next().unwrap_or(f).to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(v) => {
            return Err(invalid_field("flavorRef", v, "is not of type 'string', 'integer'").into());
        }
        None => {
            return Err(
                invalid_field("server", &whole, "'flavorRef' is a required property").into(),
            );
        }
    };
    let Some(flavor) = visible_flavor(ctx.shared, ctx.token, &flavor_ref) else {
        return Err(bad_request(&format!("Flavor {flavor_ref} could not be found.")).into());
    };
    let flavor = flavor.flavor.clone();
    // imageRef ("" is allowed for boot from volume).
    let mut image: Option<&ImageRec> = match o.get("imageRef") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(
            find_image(ctx, s)
                .filter(|i| i.status == "active")
                .ok_or_else(|| {
                    Fail::from(bad_request(&format!("Image {s} could not be found.")))
                })?,
        ),
        Some(v) => return Err(invalid_field("imageRef", v, "is not of type 'string'").into()),
    };
    // block_device_mapping_v2
    let mut bdms = Vec::new();
    let mut boot_volume_image: Option<&ImageRec> = None;
    let mut has_boot_volume = false;
    if let Some(list) = o.get("block_device_mapping_v2") {
        let Some(list) = list.as_array() else {
            return Err(
                invalid_field("block_device_mapping_v2", list, "is not of type 'array'").into(),
            );
        };
        for bdm in list {
            let get = |k: &str| bdm.get(k).and_then(Value::as_str).unwrap_or("");
            let source = get("source_type");
            let dest = match get("destination_type") {
                "" => "volume",
                d => d,
            };
            let boot_index = match bdm.get("boot_index") {
                Some(Value::Number(n)) => n.as_i64(),
                Some(Value::String(s)) => s.parse::<i64>().ok(),
                _ => None,
            };
            let delete = bdm
                .get("delete_on_termination")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let size = match bdm.get("volume_size") {
                Some(Value::Number(n)) => n.as_u64(),
                Some(Value::String(s)) => s.parse::<u64>().ok(),
                _ => None,
            };
            let uuid = get("uuid");
            match (source, dest) {
                ("image", "volume") => {
                    let img = find_image(ctx, uuid)
                        .filter(|i| i.status == "active")
                        .ok_or_else(|| {
                            Fail::from(bad_request(&format!("Image {uuid} could not be found.")))
                        })?;
                    let size = size.filter(|s| *s > 0).ok_or_else(|| Fail::from({
                        bad_request("Images with destination_type 'volume' need to have a non-zero size specified")
                    }))?;
                    if size < img.min_disk {
                        return Err(bad_request(&format!(
                            "Volume is smaller than the minimum size specified in image metadata. Volume size is {} bytes, minimum size is {} bytes.",
                            size << 30,
                            img.min_disk << 30
                        )).into());
                    }
                    if boot_index == Some(0) {
                        boot_volume_image = Some(img);
                        has_boot_volume = true;
                    }
                    bdms.push(Bdm::NewVolume(Some(img.id.clone()), size, delete));
                }
                ("blank", "volume") => {
                    let size = size.filter(|s| *s > 0).ok_or_else(|| Fail::from({
                        bad_request("Block Device Mapping is Invalid: Blank volumes need a volume_size.")
                    }))?;
                    if boot_index == Some(0) {
                        has_boot_volume = true;
                    }
                    bdms.push(Bdm::NewVolume(None, size, delete));
                }
                ("volume", "volume") => {
                    let vol = state
                        .volumes
                        .get(uuid)
                        .filter(|v| v.project_id == ctx.project)
                        .ok_or_else(|| {
                            Fail::from({
                                bad_request(&format!(
                                    "Block Device Mapping is Invalid: failed to get volume {uuid}."
                                ))
                            })
                        })?;
                    if state.volume_status(vol) != "available" {
                        return Err(bad_request(&format!(
                            "Invalid volume: volume {uuid} status must be 'available'. Currently in '{}'",
                            state.volume_status(vol)
                        )).into());
                    }
                    if boot_index == Some(0) {
                        has_boot_volume = true;
                    }
                    bdms.push(Bdm::Existing(uuid.to_owned(), delete));
                }
                ("image", "local") => {
                    let img = find_image(ctx, uuid)
                        .filter(|i| i.status == "active")
                        .ok_or_else(|| {
                            Fail::from(bad_request(&format!("Image {uuid} could not be found.")))
                        })?;
                    if image.is_none() {
                        image = Some(img);
                    }
                }
                _ => {
                    return Err(bad_request(&format!(
                        "Block Device Mapping is Invalid: simcloud does not implement source_type {source:?} with destination_type {dest:?}."
                    )).into());
                }
            }
        }
    }
    if image.is_none() && !has_boot_volume {
        return Err(bad_request(
            "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.",
        ).into());
    }
    // Flavor against image.
    if let Some(img) = image.or(boot_volume_image)
        && flavor.ram < img.min_ram
    {
        return Err(bad_request("Flavor's memory is too small for requested image.").into());
    }
    if !has_boot_volume && let Some(img) = image {
        if flavor.disk == 0 {
            return Err(fault(
                StatusCode::FORBIDDEN,
                "forbidden",
                "Only volume-backed servers are allowed for flavors with zero disk.",
            )
            .into());
        }
        if flavor.disk < img.min_disk {
            return Err(bad_request(&format!(
                "Flavor's disk is too small for requested image. Flavor disk is {} bytes, minimum disk is {} bytes.",
                flavor.disk << 30,
                img.min_disk << 30
            )).into());
        }
    }
    // Networks.
    let networks = match o.get("networks") {
        None if ctx.version >= (2, 37) => {
            return Err(
                invalid_field("server", &whole, "'networks' is a required property").into(),
            );
        }
        None => {
            let own: Vec<&String> = state
                .networks
                .values()
                .filter(|n| n.project_id == ctx.project)
                .map(|n| &n.id)
                .collect();
            match own.as_slice() {
                [] => Vec::new(),
                [one] => vec![(*one).clone()],
                _ => {
                    return Err(fault(
                        StatusCode::CONFLICT,
                        "conflictingRequest",
                        "Multiple possible networks found, use a Network ID to be more specific.",
                    )
                    .into());
                }
            }
        }
        Some(Value::String(s)) if s == "none" => Vec::new(),
        Some(Value::String(s)) if s == "auto" => {
            return Err(bad_request(&format!(
                "Unable to automatically allocate a network for project {}",
                ctx.project
            ))
            .into());
        }
        Some(Value::Array(list)) => {
            let mut ids = Vec::new();
            for entry in list {
                if entry.get("port").is_some() {
                    return Err(bad_request(
                        "simcloud does not implement booting on a pre-created port",
                    )
                    .into());
                }
                let Some(uuid) = entry.get("uuid").and_then(Value::as_str) else {
                    return Err(invalid_field("networks", entry, "'uuid' is required").into());
                };
                let Some(net) = state
                    .networks
                    .get(uuid)
                    .filter(|n| State::network_visible(n, &ctx.project))
                else {
                    return Err(bad_request(&format!("Network {uuid} could not be found.")).into());
                };
                if net.external && !net.shared && net.project_id != ctx.project {
                    return Err(fault(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        &format!(
                            "It is not allowed to create an interface on external network {uuid}"
                        ),
                    )
                    .into());
                }
                if !state.subnets.values().any(|s| s.network_id == uuid) {
                    return Err(bad_request(&format!(
                        "Network {uuid} requires a subnet in order to boot instances on."
                    ))
                    .into());
                }
                ids.push(uuid.to_owned());
            }
            ids
        }
        Some(v) => {
            return Err(invalid_field(
                "networks",
                v,
                "is not valid under any of the given schemas",
            )
            .into());
        }
    };
    // user_data
    let user_data = match o.get("user_data") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => {
            if text.len() > MAX_USER_DATA {
                return Err(bad_request(&format!(
                    "Invalid input for field/attribute user_data. Value: {text}. is too long"
                ))
                .into());
            }
            let bytes = crate::base64::decode(text)
                .ok_or_else(|| Fail::from(bad_request("User data needs to be valid base 64.")))?;
            Some(String::from_utf8_lossy(&bytes).into_owned())
        }
        Some(v) => return Err(invalid_field("user_data", v, "is not of type 'string'").into()),
    };
    let key_name = match o.get("key_name") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) => {
            let uid = user_id(&ctx.token.user);
            if !state
                .keypairs
                .iter()
                .any(|kp| kp.user_id == uid && &kp.name == k)
            {
                return Err(bad_request("Invalid key_name provided.").into());
            }
            Some(k.clone())
        }
        Some(v) => return Err(invalid_field("key_name", v, "is not of type 'string'").into()),
    };
    let metadata: BTreeMap<String, String> = match o.get("metadata") {
        None | Some(Value::Null) => BTreeMap::new(),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
            .collect(),
        Some(v) => return Err(invalid_field("metadata", v, "is not of type 'object'").into()),
    };
    if let Some(az) = o.get("availability_zone").and_then(Value::as_str)
        && az != "nova"
    {
        return Err(bad_request("The requested availability zone is not available").into());
    }
    // Security groups by name or id, default "default".
    state.ensure_default_group(&ctx.shared.world, &ctx.project);
    let wanted: Vec<String> = match o.get("security_groups") {
        None | Some(Value::Null) => vec!["default".to_owned()],
        Some(Value::Array(list)) => list
            .iter()
            .map(|g| {
                g.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned()
            })
            .collect(),
        Some(v) => {
            return Err(invalid_field("security_groups", v, "is not of type 'array'").into());
        }
    };
    let mut groups = Vec::new();
    for w in wanted {
        let Some(g) = state
            .security_groups
            .values()
            .find(|g| g.project_id == ctx.project && (g.name == w || g.id == w))
        else {
            return Err(bad_request(&format!(
                "Unable to find security_group with name or id '{w}'"
            ))
            .into());
        };
        groups.push((g.id.clone(), g.name.clone()));
    }
    let description = if ctx.version >= (2, 19) {
        o.get("description")
            .and_then(Value::as_str)
            .map(str::to_owned)
    } else {
        None
    };
    Ok(Plan {
        name,
        flavor_id: flavor.id.clone(),
        image: if has_boot_volume {
            None
        } else {
            image.map(|i| i.id.clone())
        },
        networks,
        bdms,
        user_data,
        key_name,
        metadata,
        description,
        groups,
    })
}

fn admin_pass() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_owned()
}

fn create_server(ctx: &Ctx<'_>) -> Response {
    let mut state = ctx.shared.state();
    let plan = match plan_server(ctx, &mut state) {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    // Quotas, as Nova checks them: the ports the networks need (validate_networks), then
    // instances, cores and RAM (check_num_instances_quota); both answer 403.
    let quota = &ctx.shared.fixture.quota;
    let mut used = quota::usage(&state, &ctx.shared.world, &ctx.project);
    let needed_ports = u64::try_from(plan.networks.len()).unwrap_or(u64::MAX);
    if let Err(message) = quota::nova_ports_check(quota, &used, needed_ports) {
        return fault(StatusCode::FORBIDDEN, "forbidden", &message);
    }
    let (vcpus, ram) = ctx
        .shared
        .world
        .flavors
        .iter()
        .find(|f| f.flavor.id == plan.flavor_id)
        .map(|f| (u64::from(f.flavor.vcpus), f.flavor.ram))
        .unwrap_or_default();
    if let Err(message) = quota::nova_server_check(quota, &used, vcpus, ram) {
        return fault(StatusCode::FORBIDDEN, "forbidden", &message);
    }
    let id = new_id();
    let uid = user_id(&ctx.token.user);
    // nova-compute creates the new volumes in Cinder; over Cinder's quota the build aborts
    // and the server ends in ERROR with the refusal in its fault (no volume is created).
    let mut build_fault = None;
    for bdm in &plan.bdms {
        if let Bdm::NewVolume(_, size, _) = bdm {
            match quota::cinder_volume_check(quota, &used, *size) {
                Ok(()) => {
                    used.volumes += 1;
                    used.gigabytes += size;
                }
                Err(over) => {
                    build_fault = Some(over.nova_fault(&id));
                    break;
                }
            }
        }
    }
    let group_ids: Vec<String> = plan.groups.iter().map(|(id, _)| id.clone()).collect();
    let ports: Vec<String> = plan
        .networks
        .iter()
        .map(|net| {
            state.create_port(
                net,
                &ctx.project,
                &id,
                "compute:nova",
                group_ids.clone(),
                None,
            )
        })
        .collect();
    let mut volumes = Vec::new();
    let bdms = if build_fault.is_some() {
        &[][..]
    } else {
        &plan.bdms[..]
    };
    for (index, bdm) in bdms.iter().enumerate() {
        let (volume_id, delete) = match bdm {
            Bdm::NewVolume(image, size, delete) => (
                cinder::insert_volume(
                    &mut state,
                    ctx.shared,
                    &ctx.project,
                    &uid,
                    Some(String::new()),
                    None,
                    *size,
                    ctx.shared.world.default_volume_type,
                    image.clone(),
                    VolumeState::Available,
                ),
                *delete,
            ),
            Bdm::Existing(volume_id, delete) => (volume_id.clone(), *delete),
        };
        if let Some(v) = state.volumes.get_mut(&volume_id) {
            v.attachments.push(Attachment {
                id: new_id(),
                server_id: id.clone(),
                device: device_name(index),
                attached_at: Utc::now(),
            });
        }
        volumes.push(AttachedVolume {
            volume_id,
            delete_on_termination: delete,
        });
    }
    let pass = admin_pass();
    let meta = state.meta();
    state.servers.insert(
        id.clone(),
        Server {
            id: id.clone(),
            name: plan.name,
            project_id: ctx.project.clone(),
            user_id: uid,
            flavor_id: plan.flavor_id,
            image_id: plan.image,
            key_name: plan.key_name,
            user_data: plan.user_data,
            metadata: plan.metadata,
            description: plan.description,
            security_groups: plan.groups.iter().map(|(_, n)| n.clone()).collect(),
            ports,
            volumes,
            state: ServerState::Build,
            build_fault,
            build: Phase::new(),
            active_polls: 0,
            deleting: None,
            launched_at: None,
            meta,
        },
    );
    let location = format!("{}/servers/{id}", ctx.links.app_url);
    let groups: Vec<Value> = plan
        .groups
        .iter()
        .map(|(_, n)| json!({"name": n}))
        .collect();
    let resp = json_response(
        StatusCode::ACCEPTED,
        &json!({"server": {
            "id": id,
            "links": server_links(ctx, &id),
            "OS-DCF:diskConfig": "MANUAL",
            "security_groups": groups,
            "adminPass": pass,
        }}),
    );
    with_header(resp, "location", &location)
}

// ------------------------------------------------------------------ actions, console

fn server_action(ctx: &Ctx<'_>, id: &str) -> Response {
    let body = match json_body(&ctx.req.body) {
        Ok(b) => b,
        Err(e) => return bad_request(&e),
    };
    let Some((action, args)) = body.as_object().and_then(|o| o.iter().next()) else {
        return bad_request("Invalid request body: no action given");
    };
    match action.as_str() {
        "os-getConsoleOutput" => console_output(ctx, id, args),
        other => {
            let state = ctx.shared.state();
            if own_server(ctx, &state, id).is_none() {
                return server_not_found(id);
            }
            bad_request(&format!("There is no such action: {other}"))
        }
    }
}

fn console_output(ctx: &Ctx<'_>, id: &str, args: &Value) -> Response {
    let length = match args.get("length") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => match n.as_i64() {
            Some(-1) => None,
            Some(l) if l >= 0 => usize::try_from(l).ok(),
            _ => return invalid_field("length", args, "is less than the minimum of -1"),
        },
        Some(Value::String(s)) => match s.trim().parse::<i64>() {
            Ok(-1) => None,
            Ok(l) if l >= 0 => usize::try_from(l).ok(),
            _ => return invalid_field("length", args, "is not a valid length"),
        },
        Some(_) => {
            return invalid_field("length", args, "is not of type 'integer', 'string', 'null'");
        }
    };
    let mut state = ctx.shared.state();
    let Some(server) = own_server(ctx, &state, id) else {
        return server_not_found(id);
    };
    if server.state != ServerState::Active || server.deleting.is_some() {
        return fault_for(StatusCode::CONFLICT, &format!("Instance {id} is not ready"));
    }
    let c = &ctx.shared.fixture.compute;
    let ready = server.active_polls >= c.console_delay_polls;
    let text = console_text(ctx, server, ready);
    if let Some(s) = state.servers.get_mut(id) {
        s.poll();
    }
    let output = match length {
        None => text,
        Some(n) => {
            let lines: Vec<&str> = text.split_inclusive('\n').collect();
            let start = lines.len().saturating_sub(n);
            lines[start..].concat()
        }
    };
    json_response(StatusCode::OK, &json!({ "output": output }))
}

const BOOT_LOG: &str = "\
[    0.000000] Linux version 6.1.0-31-cloud-amd64 (debian-kernel@lists.debian.org) (gcc-12 (Debian 12.2.0-14) 12.2.0, GNU ld (GNU Binutils for Debian) 2.40) #1 SMP PREEMPT_DYNAMIC Debian 6.1.128-1 (2025-02-07)
[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz-6.1.0-31-cloud-amd64 root=PARTUUID=9f3c2d1e-01 ro console=tty0 console=ttyS0,115200 earlyprintk=ttyS0,115200 consoleblank=0
[    0.412345] random: crng init done
[    1.234567] virtio_blk virtio1: [vda] 16777216 512-byte logical blocks (8.59 GB/8.00 GiB)
[    1.301234] virtio_rng virtio3: registered
[    3.456789] cloud-init[412]: Cloud-init v. 22.4.2 running 'init-local' at Wed, 01 Jan 2025 00:00:03 +0000. Up 3.45 seconds.
[    5.012345] cloud-init[530]: Cloud-init v. 22.4.2 running 'init' at Wed, 01 Jan 2025 00:00:05 +0000. Up 5.01 seconds.
[    6.100000] cloud-init[530]: ci-info: ++++++++++++++++++++++++++++Net device info+++++++++++++++++++++++++++++
[    9.871234] cloud-init[611]: Cloud-init v. 22.4.2 running 'modules:config' at Wed, 01 Jan 2025 00:00:09 +0000. Up 9.87 seconds.
[   12.345678] cloud-init[611]: Setting up rng-tools5 (5-4) ...
";

/// The built-in test output (see d.2): entropy, rngtest, rngd status, hwrng, end marker.
const DEFAULT_TEST_OUTPUT: &str = "\
[   40.000000] cloud-init[612]: Cloud-init v. 22.4.2 running 'modules:final' at Wed, 01 Jan 2025 00:00:40 +0000. Up 40.00 seconds.
{entropy_section}{fips_section}[   41.300000] cloud-init[612]: _scs-test-rngd: ● rngd.service - Start entropy gathering daemon (rngd)
[   41.300000] cloud-init[612]: _scs-test-rngd:      Loaded: loaded (/lib/systemd/system/rngd.service; enabled; preset: enabled)
[   41.300000] cloud-init[612]: _scs-test-rngd:      Active: active (running) since Wed 2025-01-01 00:00:13 UTC; 28s ago
[   41.400000] cloud-init[612]: _scs-test-hwrng: virtio_rng.0
[   41.400000] cloud-init[612]: _scs-test-end
[   41.500000] cloud-init[612]: Cloud-init v. 22.4.2 finished at Wed, 01 Jan 2025 00:00:41 +0000. Datasource DataSourceOpenStackLocal [net,ver=2].  Up 41.50 seconds
";

/// What the console shows after boot when the user data asked for no test output.
const PLAIN_FINISH: &str = "\
[   20.000000] cloud-init[612]: Cloud-init v. 22.4.2 running 'modules:final' at Wed, 01 Jan 2025 00:00:20 +0000. Up 20.00 seconds.
[   20.500000] cloud-init[612]: Cloud-init v. 22.4.2 finished at Wed, 01 Jan 2025 00:00:20 +0000. Datasource DataSourceOpenStackLocal [net,ver=2].  Up 20.50 seconds
";

fn console_text(ctx: &Ctx<'_>, server: &Server, ready: bool) -> String {
    if !ready {
        return BOOT_LOG.to_owned();
    }
    // The VM prints test output only if its cloud-init user data asks for it.
    if !server
        .user_data
        .as_deref()
        .is_some_and(|u| u.contains("_scs-test-"))
    {
        return format!("{BOOT_LOG}{PLAIN_FINISH}");
    }
    let c = &ctx.shared.fixture.compute;
    let failures = c.fips_failures.unwrap_or(0);
    let successes = 1000u32.saturating_sub(failures);
    let entropy = c.entropy_avail.clone().unwrap_or_default();
    let template = match &c.console_output {
        Some(custom) => custom.clone(),
        None => {
            let entropy_section = match &c.entropy_avail {
                Some(e) => {
                    format!("[   41.000000] cloud-init[612]: _scs-test-entropy-avail: {e}\n")
                }
                None => String::new(),
            };
            let fips_section = match c.fips_failures {
                Some(f) => [
                    "rngtest 5".to_owned(),
                    "Copyright (c) 2004 by Henrique de Moraes Holschuh".to_owned(),
                    "This is free software; see the source for copying conditions.  There is NO warranty; not even for MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.".to_owned(),
                    String::new(),
                    "rngtest: starting FIPS tests...".to_owned(),
                    "rngtest: bits received from input: 20000032".to_owned(),
                    format!("rngtest: FIPS 140-2 successes: {successes}"),
                    format!("rngtest: FIPS 140-2 failures: {f}"),
                    "rngtest: FIPS 140-2(2001-10-10) Monobit: 0".to_owned(),
                    "rngtest: FIPS 140-2(2001-10-10) Poker: 0".to_owned(),
                    format!("rngtest: FIPS 140-2(2001-10-10) Runs: {f}"),
                    "rngtest: FIPS 140-2(2001-10-10) Long run: 0".to_owned(),
                    "rngtest: FIPS 140-2(2001-10-10) Continuous run: 0".to_owned(),
                    "rngtest: input channel speed: (min=1.144; avg=9.875; max=19073.486)Mibits/s".to_owned(),
                    "rngtest: FIPS tests speed: (min=41.345; avg=97.652; max=143.172)Mibits/s".to_owned(),
                    "rngtest: Program run time: 2593221 microseconds".to_owned(),
                ]
                .iter()
                .map(|l| format!("[   41.200000] cloud-init[612]: _scs-test-fips-test: {l}\n"))
                .collect::<String>(),
                None => "[   41.200000] cloud-init[612]: _scs-test-fips-test: /bin/sh: 1: rngtest: not found\n".to_owned(),
            };
            DEFAULT_TEST_OUTPUT
                .replace("{entropy_section}", &entropy_section)
                .replace("{fips_section}", &fips_section)
        }
    };
    let rendered = template
        .replace("{server_id}", &server.id)
        .replace("{server_name}", &server.name)
        .replace("{entropy_avail}", &entropy)
        .replace("{fips_failures}", &failures.to_string())
        .replace("{fips_successes}", &successes.to_string());
    if c.console_output.is_some() {
        rendered
    } else {
        format!("{BOOT_LOG}{rendered}")
    }
}

// ------------------------------------------------------------------ keypairs

fn keypair_not_found(ctx: &Ctx<'_>, name: &str) -> Response {
    fault(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        &format!(
            "Keypair {name} not found for user {}",
            user_id(&ctx.token.user)
        ),
    )
}

fn render_keypair(ctx: &Ctx<'_>, k: &Keypair, full: bool) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(k.name));
    o.insert("public_key".into(), json!(k.public_key));
    o.insert("fingerprint".into(), json!(k.fingerprint));
    if ctx.version >= (2, 2) {
        o.insert("type".into(), json!(k.kind));
    }
    if full {
        o.insert("user_id".into(), json!(k.user_id));
        o.insert("id".into(), json!(k.meta.seq));
        o.insert("created_at".into(), json!(iso_micro(&k.meta.created)));
        o.insert("updated_at".into(), Value::Null);
        o.insert("deleted".into(), json!(false));
        o.insert("deleted_at".into(), Value::Null);
    }
    Value::Object(o)
}

fn list_keypairs(ctx: &Ctx<'_>) -> Response {
    let uid = user_id(&ctx.token.user);
    let state = ctx.shared.state();
    let mut own: Vec<&Keypair> = state.keypairs.iter().filter(|k| k.user_id == uid).collect();
    own.sort_by(|a, b| a.name.cmp(&b.name));
    let list: Vec<Value> = own
        .iter()
        .map(|k| json!({"keypair": render_keypair(ctx, k, false)}))
        .collect();
    json_response(StatusCode::OK, &json!({ "keypairs": list }))
}

fn show_keypair(ctx: &Ctx<'_>, name: &str) -> Response {
    let uid = user_id(&ctx.token.user);
    let state = ctx.shared.state();
    match state
        .keypairs
        .iter()
        .find(|k| k.user_id == uid && k.name == name)
    {
        Some(k) => json_response(
            StatusCode::OK,
            &json!({"keypair": render_keypair(ctx, k, true)}),
        ),
        None => keypair_not_found(ctx, name),
    }
}

fn fingerprint(public_key: &str) -> String {
    let hex = hex_digest(&format!("fingerprint:{public_key}"), 32);
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

fn valid_public_key(key: &str) -> bool {
    let mut parts = key.split_whitespace();
    let (Some(kind), Some(data)) = (parts.next(), parts.next()) else {
        return false;
    };
    (kind.starts_with("ssh-") || kind.starts_with("ecdsa-sha2-"))
        && crate::base64::decode(data).is_some_and(|d| !d.is_empty())
}

fn create_keypair(ctx: &Ctx<'_>) -> Response {
    let body = match json_body(&ctx.req.body) {
        Ok(b) => b,
        Err(e) => return bad_request(&e),
    };
    let Some(o) = body.get("keypair").and_then(Value::as_object) else {
        return invalid_field("keypair", &body, "'keypair' is a required property");
    };
    let name = match o.get("name").and_then(Value::as_str) {
        Some(n)
            if !n.is_empty()
                && n.chars().count() <= 255
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || " _-.@".contains(c)) =>
        {
            n.to_owned()
        }
        _ => {
            return bad_request(
                "Invalid input for field/attribute name. Keypair data is invalid: Keypair name contains unsafe characters",
            );
        }
    };
    let kind = if ctx.version >= (2, 2) {
        match o.get("type").and_then(Value::as_str) {
            None => "ssh".to_owned(),
            Some(t @ ("ssh" | "x509")) => t.to_owned(),
            Some(other) => {
                return bad_request(&format!(
                    "Invalid input for field/attribute type. Value: {other}. '{other}' is not one of ['ssh', 'x509']"
                ));
            }
        }
    } else {
        "ssh".to_owned()
    };
    let given = o
        .get("public_key")
        .and_then(Value::as_str)
        .map(str::to_owned);
    if given.is_none() && ctx.version >= (2, 92) {
        return invalid_field(
            "keypair",
            &Value::Object(o.clone()),
            "'public_key' is a required property",
        );
    }
    let (public_key, private_key) = match given {
        Some(key) => {
            if !valid_public_key(&key) {
                return bad_request("Keypair data is invalid: failed to generate fingerprint");
            }
            (key, None)
        }
        None => {
            let raw = uuid::Uuid::new_v4().as_bytes().repeat(2);
            let key = format!(
                "ssh-ed25519 {} Generated-by-Nova",
                crate::base64::encode(
                    &[b"\0\0\0\x0bssh-ed25519\0\0\0\x20".as_slice(), &raw].concat()
                )
            );
            let private = format!(
                "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
                crate::base64::encode(format!("simcloud-fake-private-key:{}", new_id()).as_bytes())
            );
            (key, Some(private))
        }
    };
    let uid = user_id(&ctx.token.user);
    let mut state = ctx.shared.state();
    if state
        .keypairs
        .iter()
        .any(|k| k.user_id == uid && k.name == name)
    {
        return fault(
            StatusCode::CONFLICT,
            "conflictingRequest",
            &format!("Key pair '{name}' already exists."),
        );
    }
    let meta = state.meta();
    let keypair = Keypair {
        user_id: uid,
        name,
        fingerprint: fingerprint(&public_key),
        public_key,
        kind,
        meta,
    };
    let mut body = render_keypair(ctx, &keypair, false);
    if let Value::Object(o) = &mut body {
        o.insert("user_id".into(), json!(keypair.user_id));
        if let Some(private) = private_key {
            o.insert("private_key".into(), json!(private));
        }
    }
    state.keypairs.push(keypair);
    let status = if ctx.version >= (2, 2) {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    json_response(status, &json!({ "keypair": body }))
}

fn delete_keypair(ctx: &Ctx<'_>, name: &str) -> Response {
    let uid = user_id(&ctx.token.user);
    let mut state = ctx.shared.state();
    let before = state.keypairs.len();
    state
        .keypairs
        .retain(|k| !(k.user_id == uid && k.name == name));
    if state.keypairs.len() == before {
        return keypair_not_found(ctx, name);
    }
    no_content(if ctx.version >= (2, 2) {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::ACCEPTED
    })
}

//! Neutron v2.0 under the network path (catalog endpoint `/network`, API under `/v2.0/`):
//! networks, subnets, ports (read), routers with gateway and interfaces, security groups and
//! rules, the default-security-group-rules API (or its absence), extensions, the project's
//! quotas (`quotas/{id}`, `quotas/{id}/details`; creates over quota answer 409 `OverQuota`,
//! see `quota`). Errors, 409s and filter validation follow Neutron.

use std::collections::BTreeMap;
use std::net::IpAddr;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::http::Fail;
use crate::http::{iso_z, json_body, json_response, parse_bool, segments};
use crate::ids::project_id;
use crate::net::{parse_cidr, parse_prefix};
use crate::quota;
use crate::server::{Req, Shared, Token};
use crate::state::{
    Gateway, Network, Port, Router, RuleSpec, SecurityGroup, SgRule, State, Subnet, new_id,
};
use crate::world::{DefaultRuleRec, check_rule_shape};

/// Neutron's error body.
pub(crate) fn neutron_error(status: StatusCode, kind: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"NeutronError": {"type": kind, "message": message, "detail": ""}}),
    )
}

fn not_found(what: &str, id: &str) -> Response {
    neutron_error(
        StatusCode::NOT_FOUND,
        &format!("{what}NotFound"),
        &format!("{what} {id} could not be found."),
    )
}

fn unknown_resource(req: &Req) -> Response {
    neutron_error(
        StatusCode::NOT_FOUND,
        "HTTPNotFound",
        &format!("The resource could not be found: {}", req.path),
    )
}

fn forbidden(action: &str) -> Response {
    neutron_error(
        StatusCode::FORBIDDEN,
        "PolicyNotAuthorized",
        &format!("rule:{action} is disallowed by policy"),
    )
}

fn method_not_allowed(req: &Req) -> Response {
    neutron_error(
        StatusCode::METHOD_NOT_ALLOWED,
        "HTTPMethodNotAllowed",
        &format!(
            "The method {} is not allowed for this resource.",
            req.method
        ),
    )
}

/// Extensions simcloud's Neutron announces.
const EXTENSIONS: &[(&str, &str)] = &[
    ("external-net", "Neutron external network"),
    ("router", "Neutron L3 Router"),
    ("security-group", "security-group"),
    (
        "security-groups-default-rules",
        "Default rules for security groups",
    ),
    ("standard-attr-description", "standard-attr-description"),
    ("standard-attr-timestamp", "Resource timestamps"),
    ("standard-attr-revisions", "Resource revision numbers"),
    (
        "standard-attr-tag",
        "Tag support for resources with standard attribute",
    ),
    ("filter-validation", "Filter parameters validation"),
    ("port-security", "Port Security"),
    ("binding", "Port Binding"),
    ("net-mtu", "Network MTU"),
    ("project-id", "project_id field enabled"),
    ("pagination", "Pagination support"),
    ("sorting", "Sorting support"),
    ("fields", "Field selection"),
    ("availability_zone", "Availability Zone"),
    ("stateful-security-group", "Stateful security group"),
    ("quotas", "Quota management support"),
    ("quota_details", "Quota details management support"),
];

pub(crate) fn handle(shared: &Shared, req: &Req, rest: &str) -> Response {
    let prefix = req.path.strip_suffix(rest).unwrap_or(&req.path);
    let base = format!("{}{}", shared.base_url, prefix.trim_end_matches('/'));
    let route = rest.trim_end_matches('/');
    if route.is_empty() {
        return match req.method.as_str() {
            "GET" => json_response(
                StatusCode::OK,
                &json!({"versions": [{"id": "v2.0", "status": "CURRENT",
                    "links": [{"href": format!("{base}/v2.0/"), "rel": "self"}]}]}),
            ),
            _ => method_not_allowed(req),
        };
    }
    let Some(token) = shared.authenticate(&req.headers) else {
        return shared.unauthorized();
    };
    let segs = segments(route);
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let get = req.method == "GET";
    match segs.as_slice() {
        ["v2.0"] if get => {
            let resources: Vec<Value> = [
                ("network", "networks"),
                ("subnet", "subnets"),
                ("port", "ports"),
                ("router", "routers"),
                ("security_group", "security-groups"),
                ("security_group_rule", "security-group-rules"),
            ]
            .iter()
            .map(|(name, collection)| {
                json!({"name": name, "collection": collection,
                    "links": [{"href": format!("{base}/v2.0/{collection}"), "rel": "self"}]})
            })
            .collect();
            json_response(StatusCode::OK, &json!({ "resources": resources }))
        }
        ["v2.0", "extensions"] if get => {
            let list: Vec<Value> = EXTENSIONS
                .iter()
                .filter(|(alias, _)| {
                    shared.fixture.network.default_rules_api
                        || *alias != "security-groups-default-rules"
                })
                .map(|(alias, name)| {
                    json!({"alias": alias, "name": name, "description": name,
                        "links": [], "updated": "2023-09-01T10:00:00-00:00"})
                })
                .collect();
            json_response(StatusCode::OK, &json!({ "extensions": list }))
        }
        ["v2.0", "default-security-group-rules", ..]
            if !shared.fixture.network.default_rules_api =>
        {
            unknown_resource(req)
        }
        ["v2.0", "default-security-group-rules"] => match req.method.as_str() {
            "GET" => {
                let items = shared
                    .world
                    .default_rules
                    .iter()
                    .map(render_default_rule)
                    .collect();
                list_response(
                    req,
                    &format!("{}{}", shared.base_url, req.path),
                    "default_security_group_rules",
                    items,
                    DEFAULT_RULE_FIELDS,
                )
            }
            "POST" => forbidden("create_default_security_group_rule"),
            _ => method_not_allowed(req),
        },
        ["v2.0", "default-security-group-rules", id] => match req.method.as_str() {
            "GET" => match shared.world.default_rules.iter().find(|r| r.id == *id) {
                Some(rule) => json_response(
                    StatusCode::OK,
                    &json!({"default_security_group_rule": project_fields(req, render_default_rule(rule))}),
                ),
                None => not_found("DefaultSecurityGroupRule", id),
            },
            "DELETE" | "PUT" => forbidden("delete_default_security_group_rule"),
            _ => method_not_allowed(req),
        },
        ["v2.0", "quotas", rest @ ..] => quotas(shared, req, &token_project(&token), rest),
        [
            "v2.0",
            collection @ ("networks"
            | "subnets"
            | "ports"
            | "routers"
            | "security-groups"
            | "security-group-rules"),
            rest @ ..,
        ] => {
            let ctx = Ctx {
                shared,
                req,
                project: token_project(&token),
                self_url: format!("{}{}", shared.base_url, req.path),
            };
            let mut state = shared.state();
            state.ensure_default_group(&shared.world, &ctx.project);
            resource(&ctx, &mut state, collection, rest)
        }
        _ => unknown_resource(req),
    }
}

pub(crate) fn token_project(token: &Token) -> String {
    token.project.as_deref().map(project_id).unwrap_or_default()
}

const DEFAULT_RULE_FIELDS: &[&str] = &[
    "id",
    "direction",
    "ethertype",
    "protocol",
    "port_range_min",
    "port_range_max",
    "remote_ip_prefix",
    "remote_group_id",
    "remote_address_group_id",
    "description",
    "used_in_default_sg",
    "used_in_non_default_sg",
];

fn render_default_rule(rec: &DefaultRuleRec) -> Value {
    let r = &rec.rule;
    json!({
        "id": rec.id,
        "direction": r.direction,
        "ethertype": r.ethertype,
        "protocol": r.protocol,
        "port_range_min": r.port_range_min,
        "port_range_max": r.port_range_max,
        "remote_ip_prefix": r.remote_ip_prefix,
        "remote_group_id": r.remote_group_id,
        "remote_address_group_id": null,
        "description": r.description,
        "used_in_default_sg": r.used_in_default_sg,
        "used_in_non_default_sg": r.used_in_non_default_sg,
    })
}

/// Query parameters that are not attribute filters.
const CONTROL_PARAMS: &[&str] = &[
    "fields",
    "limit",
    "marker",
    "sort_key",
    "sort_dir",
    "page_reverse",
];

/// Does a rendered attribute match a filter value (Neutron converts the value to the type)?
fn value_matches(value: &Value, wanted: &str) -> bool {
    match value {
        Value::String(s) => s == wanted,
        Value::Bool(b) => parse_bool(wanted) == Some(*b),
        Value::Number(n) => n.to_string() == wanted,
        Value::Null => wanted.is_empty() || wanted == "None",
        Value::Array(items) => items.iter().any(|i| value_matches(i, wanted)),
        Value::Object(_) => false,
    }
}

/// `fields=a&fields=b`: keep only those attributes.
pub(crate) fn project_fields(req: &Req, item: Value) -> Value {
    let fields: Vec<&str> = req
        .query
        .iter()
        .filter(|(k, _)| k == "fields")
        .map(|(_, v)| v.as_str())
        .collect();
    match item {
        Value::Object(map) if !fields.is_empty() => Value::Object(
            map.into_iter()
                .filter(|(k, _)| fields.contains(&k.as_str()))
                .collect(),
        ),
        other => other,
    }
}

/// A filtered, paged, field-projected Neutron list: `{"<collection>": [...]}`. Unknown filter
/// attributes are refused with 400 (Neutron's filter validation).
pub(crate) fn list_response(
    req: &Req,
    self_url: &str,
    collection: &str,
    items: Vec<Value>,
    known: &[&str],
) -> Response {
    let mut filters: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (k, v) in &req.query {
        if CONTROL_PARAMS.contains(&k.as_str()) {
            continue;
        }
        if !known.contains(&k.as_str()) {
            return neutron_error(
                StatusCode::BAD_REQUEST,
                "HTTPBadRequest",
                &format!("[{k}] is invalid attribute for filtering"),
            );
        }
        filters.entry(k.as_str()).or_default().push(v.as_str());
    }
    let mut items: Vec<Value> = items
        .into_iter()
        .filter(|item| {
            filters.iter().all(|(key, wanted)| {
                item.get(*key)
                    .is_some_and(|v| wanted.iter().any(|w| value_matches(v, w)))
            })
        })
        .collect();
    if let Some(marker) = crate::http::param(&req.query, "marker") {
        match items.iter().position(|i| i["id"] == marker) {
            Some(pos) => {
                items.drain(..=pos);
            }
            None => {
                return neutron_error(
                    StatusCode::BAD_REQUEST,
                    "HTTPBadRequest",
                    &format!("Marker {marker} could not be found."),
                );
            }
        }
    }
    let mut out = Map::new();
    let limit = crate::http::param(&req.query, "limit").and_then(|l| l.parse::<usize>().ok());
    let mut next = None;
    if let Some(limit) = limit.filter(|l| *l > 0)
        && items.len() >= limit
    {
        items.truncate(limit);
        if let Some(last) = items.last().and_then(|i| i["id"].as_str()) {
            let mut params: Vec<(String, String)> = req
                .query
                .iter()
                .filter(|(k, _)| k != "marker")
                .cloned()
                .collect();
            params.push(("marker".into(), last.to_owned()));
            next = Some(format!("{self_url}?{}", crate::http::encode_query(&params)));
        }
    }
    out.insert(
        collection.to_owned(),
        Value::Array(items.into_iter().map(|i| project_fields(req, i)).collect()),
    );
    if let Some(href) = next {
        out.insert(
            format!("{collection}_links"),
            json!([{"rel": "next", "href": href}]),
        );
    }
    json_response(StatusCode::OK, &Value::Object(out))
}

/// One Neutron call on a resource collection.
struct Ctx<'a> {
    shared: &'a Shared,
    req: &'a Req,
    project: String,
    self_url: String,
}

fn bad_request(message: &str) -> Response {
    neutron_error(StatusCode::BAD_REQUEST, "HTTPBadRequest", message)
}

fn conflict(kind: &str, message: &str) -> Response {
    neutron_error(StatusCode::CONFLICT, kind, message)
}

fn no_content() -> Response {
    Response::builder()
        .status(StatusCode::NO_CONTENT)
        .body(axum::body::Body::empty())
        .unwrap_or_default()
}

fn created(key: &str, item: Value) -> Response {
    json_response(StatusCode::CREATED, &json!({ key: item }))
}

fn ok(req: &Req, key: &str, item: Value) -> Response {
    json_response(StatusCode::OK, &json!({ key: project_fields(req, item) }))
}

/// The `{"<key>": {...}}` body, with Neutron's attribute check.
fn body_object(ctx: &Ctx<'_>, key: &str, allowed: &[&str]) -> Result<Map<String, Value>, Fail> {
    let body = json_body(&ctx.req.body).map_err(|e| Fail::from(bad_request(&e)))?;
    let Some(Value::Object(o)) = body.get(key) else {
        return Err(bad_request(&format!(
            "Failed to parse request. Resource '{key}' not found in request body."
        ))
        .into());
    };
    let unknown: Vec<&str> = o
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k) && !matches!(*k, "tenant_id" | "project_id"))
        .collect();
    if !unknown.is_empty() {
        return Err(bad_request(&format!(
            "Unrecognized attribute(s) '{}'",
            unknown.join(", ")
        ))
        .into());
    }
    for owner in ["tenant_id", "project_id"] {
        if let Some(v) = o.get(owner)
            && v.as_str() != Some(ctx.project.as_str())
        {
            return Err(forbidden(&format!("create_{key}:{owner}")).into());
        }
    }
    Ok(o.clone())
}

fn opt_str(o: &Map<String, Value>, field: &str) -> Result<Option<String>, Fail> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.chars().count() > 255 {
                return Err(bad_request(&format!(
                    "Invalid input for {field}. Reason: '{s}' exceeds maximum length of 255."
                ))
                .into());
            }
            Ok(Some(s.clone()))
        }
        Some(other) => Err(bad_request(&format!(
            "Invalid input for {field}. Reason: '{other}' is not a valid string."
        ))
        .into()),
    }
}

fn opt_bool(o: &Map<String, Value>, field: &str) -> Result<Option<bool>, Fail> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) => parse_bool(s).map(Some).ok_or_else(|| {
            Fail::from({
                bad_request(&format!(
                    "Invalid input for {field}. Reason: '{s}' cannot be converted to boolean."
                ))
            })
        }),
        Some(other) => Err(bad_request(&format!(
            "Invalid input for {field}. Reason: '{other}' cannot be converted to boolean."
        ))
        .into()),
    }
}

fn opt_port(o: &Map<String, Value>, field: &str) -> Result<Option<u32>, Fail> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .map(Some)
            .ok_or_else(|| {
                Fail::from(bad_request(&format!(
                    "Invalid input for {field}. Reason: '{n}' is not an integer."
                )))
            }),
        Some(Value::String(s)) => s.trim().parse::<u32>().map(Some).map_err(|_| {
            Fail::from({
                bad_request(&format!(
                    "Invalid input for {field}. Reason: '{s}' is not an integer."
                ))
            })
        }),
        Some(other) => Err(bad_request(&format!(
            "Invalid input for {field}. Reason: '{other}' is not an integer."
        ))
        .into()),
    }
}

fn required(o: &Map<String, Value>, field: &str) -> Result<String, Fail> {
    opt_str(o, field)?.ok_or_else(|| {
        Fail::from({
            bad_request(&format!(
                "Failed to parse request. Required attribute '{field}' not specified"
            ))
        })
    })
}

fn resource(ctx: &Ctx<'_>, state: &mut State, collection: &str, rest: &[&str]) -> Response {
    let method = ctx.req.method.as_str();
    let result = match (collection, method, rest) {
        ("networks", "GET", []) => list_networks(ctx, state),
        ("networks", "POST", []) => create_network(ctx, state),
        ("networks", "GET", [id]) => show_network(ctx, state, id),
        ("networks", "PUT", [id]) => update_network(ctx, state, id),
        ("networks", "DELETE", [id]) => delete_network(ctx, state, id),
        ("subnets", "GET", []) => list_subnets(ctx, state),
        ("subnets", "POST", []) => create_subnet(ctx, state),
        ("subnets", "GET", [id]) => show_subnet(ctx, state, id),
        ("subnets", "PUT", [id]) => update_subnet(ctx, state, id),
        ("subnets", "DELETE", [id]) => delete_subnet(ctx, state, id),
        ("ports", "GET", []) => list_ports(ctx, state),
        ("ports", "GET", [id]) => show_port(ctx, state, id),
        ("ports", "POST" | "PUT" | "DELETE", _) => {
            Err(forbidden("simcloud does not implement port changes; create_port").into())
        }
        ("routers", "GET", []) => list_routers(ctx, state),
        ("routers", "POST", []) => create_router(ctx, state),
        ("routers", "GET", [id]) => show_router(ctx, state, id),
        ("routers", "PUT", [id]) => update_router(ctx, state, id),
        ("routers", "DELETE", [id]) => delete_router(ctx, state, id),
        ("routers", "PUT", [id, "add_router_interface"]) => add_interface(ctx, state, id),
        ("routers", "PUT", [id, "remove_router_interface"]) => remove_interface(ctx, state, id),
        ("security-groups", "GET", []) => list_groups(ctx, state),
        ("security-groups", "POST", []) => create_group(ctx, state),
        ("security-groups", "GET", [id]) => show_group(ctx, state, id),
        ("security-groups", "PUT", [id]) => update_group(ctx, state, id),
        ("security-groups", "DELETE", [id]) => delete_group(ctx, state, id),
        ("security-group-rules", "GET", []) => list_rules(ctx, state),
        ("security-group-rules", "POST", []) => create_rule(ctx, state),
        ("security-group-rules", "GET", [id]) => show_rule(ctx, state, id),
        ("security-group-rules", "DELETE", [id]) => delete_rule(ctx, state, id),
        (_, _, [] | [_]) => Err(method_not_allowed(ctx.req).into()),
        _ => Err(unknown_resource(ctx.req).into()),
    };
    result.unwrap_or_else(|resp| *resp)
}

type Reply = Result<Response, Fail>;

/// Neutron's quota check before a create (the API layer reserves before the plugin
/// validates): 409 `OverQuota` when one more `resource` exceeds the project's limit.
fn over_quota(ctx: &Ctx<'_>, state: &State, resource: &str) -> Result<(), Fail> {
    let used = quota::usage(state, &ctx.shared.world, &ctx.project);
    quota::neutron_check(&ctx.shared.fixture.quota, &used, resource)
        .map_err(|message| Fail::from(conflict("OverQuota", &message)))
}

/// `/v2.0/quotas...` as a member sees it: the own project's limits (`quotas/{id}`) and
/// usage (`quotas/{id}/details`); another project's: 403 (policy for the limits, Neutron's
/// AdminRequired for the details); the list and every change: 403 by policy.
fn quotas(shared: &Shared, req: &Req, project: &str, rest: &[&str]) -> Response {
    let get = req.method == "GET";
    match rest {
        [] if get => forbidden("get_quota"),
        [id] if get && *id != project => forbidden("get_quota"),
        [id, "details"] if get && *id != project => neutron_error(
            StatusCode::FORBIDDEN,
            "AdminRequired",
            "User does not have admin privileges: Only admin is authorized to access quotas \
             for another project.",
        ),
        [_] | [_, "details"] if get => {
            let mut state = shared.state();
            state.ensure_default_group(&shared.world, project);
            let used = quota::usage(&state, &shared.world, project);
            let body = if rest.len() == 1 {
                quota::neutron_quota(&shared.fixture.quota, &used)
            } else {
                quota::neutron_quota_details(&shared.fixture.quota, &used)
            };
            json_response(StatusCode::OK, &body)
        }
        [_] if matches!(req.method.as_str(), "PUT" | "DELETE") => {
            forbidden(if req.method == "PUT" {
                "update_quota"
            } else {
                "delete_quota"
            })
        }
        [] | [_] | [_, "details"] => method_not_allowed(req),
        _ => unknown_resource(req),
    }
}

// ------------------------------------------------------------------ networks

const NETWORK_FIELDS: &[&str] = &[
    "id",
    "name",
    "tenant_id",
    "project_id",
    "admin_state_up",
    "mtu",
    "status",
    "subnets",
    "shared",
    "availability_zone_hints",
    "availability_zones",
    "ipv4_address_scope",
    "ipv6_address_scope",
    "router:external",
    "description",
    "port_security_enabled",
    "qos_policy_id",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
    "is_default",
    "l2_adjacency",
];

fn render_network(state: &State, n: &Network) -> Value {
    let mut subnets: Vec<&Subnet> = state
        .subnets
        .values()
        .filter(|s| s.network_id == n.id)
        .collect();
    subnets.sort_by_key(|s| s.meta.seq);
    json!({
        "id": n.id,
        "name": n.name,
        "tenant_id": n.project_id,
        "project_id": n.project_id,
        "admin_state_up": n.admin_state_up,
        "mtu": n.mtu,
        "status": "ACTIVE",
        "subnets": subnets.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        "shared": n.shared,
        "availability_zone_hints": [],
        "availability_zones": ["nova"],
        "ipv4_address_scope": null,
        "ipv6_address_scope": null,
        "router:external": n.external,
        "description": n.description,
        "port_security_enabled": true,
        "qos_policy_id": null,
        "tags": [],
        "created_at": iso_z(&n.meta.created),
        "updated_at": iso_z(&n.meta.updated),
        "revision_number": 1,
        "is_default": false,
        "l2_adjacency": true,
    })
}

fn visible_network<'a>(ctx: &Ctx<'_>, state: &'a State, id: &str) -> Result<&'a Network, Fail> {
    state
        .networks
        .get(id)
        .filter(|n| State::network_visible(n, &ctx.project))
        .ok_or_else(|| Fail::from(not_found("Network", id)))
}

fn own_network<'a>(
    ctx: &Ctx<'_>,
    state: &'a State,
    id: &str,
    action: &str,
) -> Result<&'a Network, Fail> {
    let n = visible_network(ctx, state, id)?;
    if n.project_id != ctx.project {
        return Err(forbidden(action).into());
    }
    Ok(n)
}

fn list_networks(ctx: &Ctx<'_>, state: &State) -> Reply {
    let mut nets: Vec<&Network> = state
        .networks
        .values()
        .filter(|n| State::network_visible(n, &ctx.project))
        .collect();
    nets.sort_by_key(|n| n.meta.seq);
    let items = nets.iter().map(|n| render_network(state, n)).collect();
    Ok(list_response(
        ctx.req,
        &ctx.self_url,
        "networks",
        items,
        NETWORK_FIELDS,
    ))
}

fn show_network(ctx: &Ctx<'_>, state: &State, id: &str) -> Reply {
    let n = visible_network(ctx, state, id)?;
    Ok(ok(ctx.req, "network", render_network(state, n)))
}

const NETWORK_WRITABLE: &[&str] = &[
    "name",
    "admin_state_up",
    "shared",
    "router:external",
    "mtu",
    "description",
    "port_security_enabled",
    "availability_zone_hints",
    "dns_domain",
];

fn create_network(ctx: &Ctx<'_>, state: &mut State) -> Reply {
    let o = body_object(ctx, "network", NETWORK_WRITABLE)?;
    over_quota(ctx, state, "network")?;
    let name = opt_str(&o, "name")?.unwrap_or_default();
    let description = opt_str(&o, "description")?.unwrap_or_default();
    let admin_state_up = opt_bool(&o, "admin_state_up")?.unwrap_or(true);
    if opt_bool(&o, "shared")? == Some(true) {
        return Err(forbidden("create_network:shared").into());
    }
    if opt_bool(&o, "router:external")? == Some(true) {
        return Err(forbidden("create_network:router:external").into());
    }
    let mtu = match o.get("mtu") {
        None | Some(Value::Null) => 1450,
        Some(v) => match v.as_u64().and_then(|m| u32::try_from(m).ok()) {
            Some(m) if (68..=1450).contains(&m) => m,
            _ => {
                return Err(bad_request(
                    "Invalid input for operation: Requested MTU is too big, maximum is 1450.",
                )
                .into());
            }
        },
    };
    let id = new_id();
    let meta = state.meta();
    let net = Network {
        id: id.clone(),
        name,
        project_id: ctx.project.clone(),
        external: false,
        shared: false,
        admin_state_up,
        mtu,
        description,
        builtin: false,
        meta,
    };
    let body = render_network(state, &net);
    state.networks.insert(id, net);
    Ok(created("network", body))
}

fn update_network(ctx: &Ctx<'_>, state: &mut State, id: &str) -> Reply {
    own_network(ctx, state, id, "update_network")?;
    let o = body_object(ctx, "network", NETWORK_WRITABLE)?;
    if o.contains_key("shared") || o.contains_key("router:external") {
        return Err(forbidden("update_network:shared").into());
    }
    let name = opt_str(&o, "name")?;
    let description = opt_str(&o, "description")?;
    let admin = opt_bool(&o, "admin_state_up")?;
    if let Some(n) = state.networks.get_mut(id) {
        if let Some(name) = name {
            n.name = name;
        }
        if let Some(d) = description {
            n.description = d;
        }
        if let Some(a) = admin {
            n.admin_state_up = a;
        }
        n.meta.touch();
    }
    show_network(ctx, state, id)
}

/// Ports that keep a network or subnet busy (everything but DHCP ports).
fn in_use(port: &Port) -> bool {
    !port.device_owner.starts_with("network:dhcp")
}

fn delete_network(ctx: &Ctx<'_>, state: &mut State, id: &str) -> Reply {
    own_network(ctx, state, id, "delete_network")?;
    if state
        .ports
        .values()
        .any(|p| p.network_id == id && in_use(p))
    {
        return Err(conflict(
            "NetworkInUse",
            &format!(
                "Unable to complete operation on network {id}. There are one or more ports still in use on the network."
            ),
        ).into());
    }
    // Like Neutron: the network's subnets (and DHCP ports) go with it.
    state.subnets.retain(|_, s| s.network_id != id);
    state.ports.retain(|_, p| p.network_id != id);
    state.networks.remove(id);
    Ok(no_content())
}

// ------------------------------------------------------------------ subnets

const SUBNET_FIELDS: &[&str] = &[
    "id",
    "name",
    "tenant_id",
    "project_id",
    "network_id",
    "ip_version",
    "cidr",
    "gateway_ip",
    "allocation_pools",
    "dns_nameservers",
    "host_routes",
    "enable_dhcp",
    "ipv6_ra_mode",
    "ipv6_address_mode",
    "subnetpool_id",
    "description",
    "service_types",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
    "segment_id",
];

fn render_subnet(s: &Subnet) -> Value {
    json!({
        "id": s.id,
        "name": s.name,
        "tenant_id": s.project_id,
        "project_id": s.project_id,
        "network_id": s.network_id,
        "ip_version": s.cidr.version(),
        "cidr": s.cidr.to_string(),
        "gateway_ip": s.gateway.map(|g| g.to_string()),
        "allocation_pools": s.pools.iter().map(|(a, b)| json!({"start": a.to_string(), "end": b.to_string()})).collect::<Vec<_>>(),
        "dns_nameservers": s.dns,
        "host_routes": [],
        "enable_dhcp": s.enable_dhcp,
        "ipv6_ra_mode": null,
        "ipv6_address_mode": null,
        "subnetpool_id": null,
        "description": s.description,
        "service_types": [],
        "tags": [],
        "created_at": iso_z(&s.meta.created),
        "updated_at": iso_z(&s.meta.updated),
        "revision_number": 0,
        "segment_id": null,
    })
}

fn visible_subnet<'a>(ctx: &Ctx<'_>, state: &'a State, id: &str) -> Result<&'a Subnet, Fail> {
    state
        .subnets
        .get(id)
        .filter(|s| state.subnet_visible(s, &ctx.project))
        .ok_or_else(|| Fail::from(not_found("Subnet", id)))
}

fn list_subnets(ctx: &Ctx<'_>, state: &State) -> Reply {
    let mut subnets: Vec<&Subnet> = state
        .subnets
        .values()
        .filter(|s| state.subnet_visible(s, &ctx.project))
        .collect();
    subnets.sort_by_key(|s| s.meta.seq);
    let items = subnets.iter().map(|s| render_subnet(s)).collect();
    Ok(list_response(
        ctx.req,
        &ctx.self_url,
        "subnets",
        items,
        SUBNET_FIELDS,
    ))
}

fn show_subnet(ctx: &Ctx<'_>, state: &State, id: &str) -> Reply {
    let s = visible_subnet(ctx, state, id)?;
    Ok(ok(ctx.req, "subnet", render_subnet(s)))
}

const SUBNET_WRITABLE: &[&str] = &[
    "name",
    "network_id",
    "ip_version",
    "cidr",
    "gateway_ip",
    "allocation_pools",
    "dns_nameservers",
    "host_routes",
    "enable_dhcp",
    "description",
    "ipv6_ra_mode",
    "ipv6_address_mode",
    "subnetpool_id",
    "service_types",
    "segment_id",
];

fn parse_ip(text: &str, field: &str) -> Result<IpAddr, Fail> {
    text.parse::<IpAddr>().map_err(|_| {
        Fail::from({
            bad_request(&format!(
                "Invalid input for {field}. Reason: '{text}' is not a valid IP address."
            ))
        })
    })
}

fn create_subnet(ctx: &Ctx<'_>, state: &mut State) -> Reply {
    let o = body_object(ctx, "subnet", SUBNET_WRITABLE)?;
    over_quota(ctx, state, "subnet")?;
    let network_id = required(&o, "network_id")?;
    let version = match o.get("ip_version") {
        Some(Value::Number(n)) if n.as_u64() == Some(4) || n.as_u64() == Some(6) => {
            n.as_u64().unwrap_or(4)
        }
        Some(Value::String(s)) if s == "4" || s == "6" => s.parse::<u64>().unwrap_or(4),
        None | Some(Value::Null) => {
            return Err(bad_request(
                "Failed to parse request. Required attribute 'ip_version' not specified",
            )
            .into());
        }
        Some(other) => {
            return Err(bad_request(&format!(
                "Invalid input for ip_version. Reason: {other} is not in [4, 6]."
            ))
            .into());
        }
    };
    if o.get("subnetpool_id").is_some_and(|v| !v.is_null()) {
        return Err(bad_request("simcloud does not implement subnet pools").into());
    }
    let cidr_text = required(&o, "cidr")?;
    let cidr = parse_cidr(&cidr_text).ok_or_else(|| {
        Fail::from({
            bad_request(&format!(
                "Invalid input for cidr. Reason: '{cidr_text}' is not a valid IP subnet."
            ))
        })
    })?;
    if u64::from(cidr.version()) != version {
        return Err(bad_request(&format!(
            "Invalid input for operation: Requested subnet with cidr: {cidr} is not IPv{version}."
        ))
        .into());
    }
    let net = visible_network(ctx, state, &network_id)?;
    if net.project_id != ctx.project && !net.shared {
        return Err(forbidden("create_subnet").into());
    }
    if let Some(other) = state.subnets.values().find(|s| {
        s.network_id == network_id
            && (s.cidr.contains(cidr.network) || cidr.contains(s.cidr.network))
    }) {
        return Err(bad_request(&format!(
            "Invalid input for operation: Requested subnet with cidr: {cidr} for network: {network_id} overlaps with another subnet {}.",
            other.id
        )).into());
    }
    let gateway = match o.get("gateway_ip") {
        None => cidr.first_host(),
        Some(Value::Null) => None,
        Some(Value::String(g)) => {
            let ip = parse_ip(g, "gateway_ip")?;
            if !cidr.contains(ip) {
                return Err(bad_request(&format!(
                    "Invalid input for operation: Gateway IP {g} is not in subnet {cidr}."
                ))
                .into());
            }
            Some(ip)
        }
        Some(other) => {
            return Err(bad_request(&format!(
                "Invalid input for gateway_ip. Reason: '{other}' is not a valid IP address."
            ))
            .into());
        }
    };
    let pools = match o.get("allocation_pools") {
        None | Some(Value::Null) => default_pools(cidr, gateway),
        Some(Value::Array(list)) => {
            let mut pools = Vec::new();
            for pool in list {
                let start = pool.get("start").and_then(Value::as_str).unwrap_or("");
                let end = pool.get("end").and_then(Value::as_str).unwrap_or("");
                let (a, b) = (
                    parse_ip(start, "allocation_pools")?,
                    parse_ip(end, "allocation_pools")?,
                );
                if !cidr.contains(a) || !cidr.contains(b) || ip_value(a) > ip_value(b) {
                    return Err(bad_request(&format!(
                        "The allocation pool {start}-{end} spans beyond the subnet cidr {cidr}."
                    ))
                    .into());
                }
                if let Some(g) = gateway
                    && ip_value(g) >= ip_value(a)
                    && ip_value(g) <= ip_value(b)
                {
                    return Err(conflict(
                        "GatewayConflictWithAllocationPools",
                        &format!("Gateway ip {g} conflicts with allocation pool {start}-{end}"),
                    )
                    .into());
                }
                pools.push((a, b));
            }
            pools
        }
        Some(_) => {
            return Err(bad_request(
                "Invalid input for allocation_pools. Reason: not a list of pools.",
            )
            .into());
        }
    };
    let dns = match o.get("dns_nameservers") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(list)) => {
            let mut out = Vec::new();
            for item in list {
                let text = item.as_str().unwrap_or("");
                parse_ip(text, "dns_nameservers")?;
                out.push(text.to_owned());
            }
            out
        }
        Some(_) => {
            return Err(
                bad_request("Invalid input for dns_nameservers. Reason: not a list.").into(),
            );
        }
    };
    let id = new_id();
    let meta = state.meta();
    let subnet = Subnet {
        id: id.clone(),
        name: opt_str(&o, "name")?.unwrap_or_default(),
        network_id,
        project_id: ctx.project.clone(),
        cidr,
        gateway,
        pools,
        dns,
        enable_dhcp: opt_bool(&o, "enable_dhcp")?.unwrap_or(true),
        description: opt_str(&o, "description")?.unwrap_or_default(),
        builtin: false,
        meta,
    };
    let body = render_subnet(&subnet);
    state.subnets.insert(id, subnet);
    Ok(created("subnet", body))
}

fn ip_value(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// Every usable address except the gateway, as Neutron computes it.
fn default_pools(cidr: crate::net::Cidr, gateway: Option<IpAddr>) -> Vec<(IpAddr, IpAddr)> {
    let (Some(first), Some(last)) = (cidr.first_host(), cidr.last_host()) else {
        return Vec::new();
    };
    let Some(g) =
        gateway.filter(|g| ip_value(*g) >= ip_value(first) && ip_value(*g) <= ip_value(last))
    else {
        return vec![(first, last)];
    };
    let offset = ip_value(g) - ip_value(cidr.network);
    let mut pools = Vec::new();
    if g != first
        && let Some(before) = cidr.nth(offset - 1)
    {
        pools.push((first, before));
    }
    if g != last
        && let Some(after) = cidr.nth(offset + 1)
    {
        pools.push((after, last));
    }
    pools
}

fn update_subnet(ctx: &Ctx<'_>, state: &mut State, id: &str) -> Reply {
    let s = visible_subnet(ctx, state, id)?;
    if s.project_id != ctx.project {
        return Err(forbidden("update_subnet").into());
    }
    let o = body_object(
        ctx,
        "subnet",
        &["name", "description", "dns_nameservers", "enable_dhcp"],
    )?;
    let name = opt_str(&o, "name")?;
    let description = opt_str(&o, "description")?;
    let dhcp = opt_bool(&o, "enable_dhcp")?;
    if let Some(s) = state.subnets.get_mut(id) {
        if let Some(n) = name {
            s.name = n;
        }
        if let Some(d) = description {
            s.description = d;
        }
        if let Some(d) = dhcp {
            s.enable_dhcp = d;
        }
        s.meta.touch();
    }
    show_subnet(ctx, state, id)
}

fn delete_subnet(ctx: &Ctx<'_>, state: &mut State, id: &str) -> Reply {
    let s = visible_subnet(ctx, state, id)?;
    if s.project_id != ctx.project {
        return Err(forbidden("delete_subnet").into());
    }
    if state
        .ports
        .values()
        .any(|p| in_use(p) && p.fixed_ips.iter().any(|(sid, _)| sid == id))
    {
        return Err(conflict(
            "SubnetInUse",
            &format!(
                "Unable to complete operation on subnet {id}: One or more ports have an IP allocation from this subnet."
            ),
        ).into());
    }
    state.subnets.remove(id);
    Ok(no_content())
}

// ------------------------------------------------------------------ ports

const PORT_FIELDS: &[&str] = &[
    "id",
    "name",
    "network_id",
    "tenant_id",
    "project_id",
    "mac_address",
    "admin_state_up",
    "status",
    "device_id",
    "device_owner",
    "fixed_ips",
    "security_groups",
    "binding:vnic_type",
    "allowed_address_pairs",
    "extra_dhcp_opts",
    "port_security_enabled",
    "description",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
    "dns_name",
];

fn render_port(p: &Port) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "network_id": p.network_id,
        "tenant_id": p.project_id,
        "project_id": p.project_id,
        "mac_address": p.mac,
        "admin_state_up": true,
        "status": "ACTIVE",
        "device_id": p.device_id,
        "device_owner": p.device_owner,
        "fixed_ips": p.fixed_ips.iter().map(|(s, ip)| json!({"subnet_id": s, "ip_address": ip.to_string()})).collect::<Vec<_>>(),
        "security_groups": p.security_groups,
        "binding:vnic_type": "normal",
        "allowed_address_pairs": [],
        "extra_dhcp_opts": [],
        "port_security_enabled": p.device_owner.starts_with("compute:"),
        "description": "",
        "tags": [],
        "created_at": iso_z(&p.meta.created),
        "updated_at": iso_z(&p.meta.updated),
        "revision_number": 1,
        "dns_name": "",
    })
}

fn list_ports(ctx: &Ctx<'_>, state: &State) -> Reply {
    let mut ports: Vec<&Port> = state
        .ports
        .values()
        .filter(|p| p.project_id == ctx.project)
        .collect();
    ports.sort_by_key(|p| p.meta.seq);
    let items = ports.iter().map(|p| render_port(p)).collect();
    Ok(list_response(
        ctx.req,
        &ctx.self_url,
        "ports",
        items,
        PORT_FIELDS,
    ))
}

fn show_port(ctx: &Ctx<'_>, state: &State, id: &str) -> Reply {
    match state.ports.get(id).filter(|p| p.project_id == ctx.project) {
        Some(p) => Ok(ok(ctx.req, "port", render_port(p))),
        None => Err(not_found("Port", id).into()),
    }
}

// ------------------------------------------------------------------ routers

const ROUTER_FIELDS: &[&str] = &[
    "id",
    "name",
    "tenant_id",
    "project_id",
    "admin_state_up",
    "status",
    "external_gateway_info",
    "description",
    "routes",
    "availability_zone_hints",
    "availability_zones",
    "flavor_id",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
];

fn render_router(r: &Router) -> Value {
    let gateway = r.gateway.as_ref().map(|g| {
        json!({
            "network_id": g.network_id,
            "enable_snat": g.enable_snat,
            "external_fixed_ips": g.fixed_ips.iter().map(|(s, ip)| json!({"subnet_id": s, "ip_address": ip.to_string()})).collect::<Vec<_>>(),
        })
    });
    json!({
        "id": r.id,
        "name": r.name,
        "tenant_id": r.project_id,
        "project_id": r.project_id,
        "admin_state_up": r.admin_state_up,
        "status": "ACTIVE",
        "external_gateway_info": gateway,
        "description": r.description,
        "routes": [],
        "availability_zone_hints": [],
        "availability_zones": ["nova"],
        "flavor_id": null,
        "tags": [],
        "created_at": iso_z(&r.meta.created),
        "updated_at": iso_z(&r.meta.updated),
        "revision_number": 1,
    })
}

fn own_router<'a>(ctx: &Ctx<'_>, state: &'a State, id: &str) -> Result<&'a Router, Fail> {
    state
        .routers
        .get(id)
        .filter(|r| r.project_id == ctx.project)
        .ok_or_else(|| Fail::from(not_found("Router", id)))
}

fn list_routers(ctx: &Ctx<'_>, state: &State) -> Reply {
    let mut routers: Vec<&Router> = state
        .routers
        .values()
        .filter(|r| r.project_id == ctx.project)
        .collect();
    routers.sort_by_key(|r| r.meta.seq);
    let items = routers.iter().map(|r| render_router(r)).collect();
    Ok(list_response(
        ctx.req,
        &ctx.self_url,
        "routers",
        items,
        ROUTER_FIELDS,
    ))
}

fn show_router(ctx: &Ctx<'_>, state: &State, id: &str) -> Reply {
    Ok(ok(
        ctx.req,
        "router",
        render_router(own_router(ctx, state, id)?),
    ))
}

/// Parse `external_gateway_info` and allocate the gateway address.
fn gateway(
    ctx: &Ctx<'_>,
    state: &State,
    value: &Value,
    action: &str,
) -> Result<Option<Gateway>, Fail> {
    let info = match value {
        Value::Null => return Ok(None),
        Value::Object(o) if o.is_empty() => return Ok(None),
        Value::Object(o) => o,
        other => {
            return Err(bad_request(&format!(
                "Invalid input for external_gateway_info. Reason: '{other}' is not a dictionary."
            ))
            .into());
        }
    };
    if let Some(k) = info.keys().find(|k| {
        !matches!(
            k.as_str(),
            "network_id" | "enable_snat" | "external_fixed_ips"
        )
    }) {
        return Err(bad_request(&format!(
            "Invalid input for external_gateway_info. Reason: Unexpected key '{k}'."
        ))
        .into());
    }
    if info.contains_key("enable_snat") {
        return Err(forbidden(&format!("{action}:external_gateway_info:enable_snat")).into());
    }
    if info.contains_key("external_fixed_ips") {
        return Err(forbidden(&format!(
            "{action}:external_gateway_info:external_fixed_ips"
        ))
        .into());
    }
    let Some(network_id) = info.get("network_id").and_then(Value::as_str) else {
        return Err(bad_request(
            "Invalid input for external_gateway_info. Reason: 'network_id' is required.",
        )
        .into());
    };
    let net = visible_network(ctx, state, network_id)?;
    if !net.external {
        return Err(bad_request(&format!(
            "Bad router request: Network {network_id} is not an external network."
        ))
        .into());
    }
    let subnet = state
        .subnets
        .values()
        .filter(|s| s.network_id == network_id)
        .min_by_key(|s| s.meta.seq);
    let fixed_ips = match subnet {
        Some(s) => match state.allocate_ip(s) {
            Some(ip) => vec![(s.id.clone(), ip)],
            None => {
                return Err(conflict(
                    "IpAddressGenerationFailure",
                    &format!("No more IP addresses available on network {network_id}."),
                )
                .into());
            }
        },
        None => Vec::new(),
    };
    Ok(Some(Gateway {
        network_id: network_id.to_owned(),
        enable_snat: true,
        fixed_ips,
    }))
}

const ROUTER_WRITABLE: &[&str] = &[
    "name",
    "admin_state_up",
    "description",
    "external_gateway_info",
    "availability_zone_hints",
    "routes",
];

fn create_router(ctx: &Ctx<'_>, state: &mut State) -> Reply {
    let o = body_object(ctx, "router", ROUTER_WRITABLE)?;
    over_quota(ctx, state, "router")?;
    let gw = match o.get("external_gateway_info") {
        Some(v) => gateway(ctx, state, v, "create_router")?,
        None => None,
    };
    let id = new_id();
    let meta = state.meta();
    let router = Router {
        id: id.clone(),
        name: opt_str(&o, "name")?.unwrap_or_default(),
        project_id: ctx.project.clone(),
        gateway: gw,
        admin_state_up: opt_bool(&o, "admin_state_up")?.unwrap_or(true),
        description: opt_str(&o, "description")?.unwrap_or_default(),
        meta,
    };
    let body = render_router(&router);
    state.routers.insert(id, router);
    Ok(created("router", body))
}

fn update_router(ctx: &Ctx<'_>, state: &mut State, id: &str) -> Reply {
    own_router(ctx, state, id)?;
    let o = body_object(ctx, "router", ROUTER_WRITABLE)?;
    let gw = match o.get("external_gateway_info") {
        Some(v) => Some(gateway(ctx, state, v, "update_router")?),
        None => None,
    };
    let name = opt_str(&o, "name")?;
    let description = opt_str(&o, "description")?;
    let admin = opt_bool(&o, "admin_state_up")?;
    if let Some(r) = state.routers.get_mut(id) {
        if let Some(g) = gw {
            r.gateway = g;
        }
        if let Some(n) = name {
            r.name = n;
        }
        if let Some(d) = description {
            r.description = d;
        }
        if let Some(a) = admin {
            r.admin_state_up = a;
        }
        r.meta.touch();
    }
    show_router(ctx, state, id)
}

fn router_interfaces<'a>(state: &'a State, router_id: &str) -> Vec<&'a Port> {
    state
        .ports
        .values()
        .filter(|p| p.device_id == router_id && p.device_owner == "network:router_interface")
        .collect()
}

fn delete_router(ctx: &Ctx<'_>, state: &mut State, id: &str) -> Reply {
    own_router(ctx, state, id)?;
    if !router_interfaces(state, id).is_empty() {
        return Err(conflict("RouterInUse", &format!("Router {id} still has ports")).into());
    }
    state.routers.remove(id);
    Ok(no_content())
}

fn interface_body(ctx: &Ctx<'_>, router_id: &str, port: &Port) -> Response {
    let subnets: Vec<&String> = port.fixed_ips.iter().map(|(s, _)| s).collect();
    json_response(
        StatusCode::OK,
        &json!({
            "id": router_id,
            "tenant_id": ctx.project,
            "project_id": ctx.project,
            "port_id": port.id,
            "network_id": port.network_id,
            "subnet_id": subnets.first(),
            "subnet_ids": subnets,
        }),
    )
}

fn interface_request(ctx: &Ctx<'_>) -> Result<(Option<String>, Option<String>), Fail> {
    let body = json_body(&ctx.req.body).map_err(|e| Fail::from(bad_request(&e)))?;
    let Some(o) = body.as_object() else {
        return Err(bad_request("Bad router request: body must be a JSON object.").into());
    };
    let subnet = opt_str(o, "subnet_id")?;
    let port = opt_str(o, "port_id")?;
    match (&subnet, &port) {
        (None, None) => Err(bad_request(
            "Bad router request: Either subnet_id or port_id must be specified.",
        )
        .into()),
        (Some(_), Some(_)) => Err(bad_request(
            "Bad router request: Cannot specify both subnet-id and port-id.",
        )
        .into()),
        _ => Ok((subnet, port)),
    }
}

fn add_interface(ctx: &Ctx<'_>, state: &mut State, id: &str) -> Reply {
    own_router(ctx, state, id)?;
    let (subnet_id, port_id) = interface_request(ctx)?;
    if let Some(port_id) = port_id {
        let port = state
            .ports
            .get(&port_id)
            .filter(|p| p.project_id == ctx.project)
            .ok_or_else(|| Fail::from(not_found("Port", &port_id)))?;
        if !port.device_id.is_empty() {
            return Err(conflict(
                "PortInUse",
                &format!("Unable to complete operation on port {port_id} for network {}. Port already has an attached device {}.", port.network_id, port.device_id),
            ).into());
        }
        if let Some(p) = state.ports.get_mut(&port_id) {
            p.device_id = id.to_owned();
            p.device_owner = "network:router_interface".into();
        }
        let port = state
            .ports
            .get(&port_id)
            .ok_or_else(|| Fail::from(not_found("Port", &port_id)))?;
        return Ok(interface_body(ctx, id, port));
    }
    let subnet_id = subnet_id.unwrap_or_default();
    let subnet = visible_subnet(ctx, state, &subnet_id)?.clone();
    let Some(gateway_ip) = subnet.gateway else {
        return Err(bad_request(
            "Bad router request: Subnet for router interface must have a gateway IP.",
        )
        .into());
    };
    if router_interfaces(state, id)
        .iter()
        .any(|p| p.fixed_ips.iter().any(|(s, _)| s == &subnet_id))
    {
        return Err(bad_request(&format!(
            "Bad router request: Router already has a port on subnet {subnet_id}."
        ))
        .into());
    }
    if state.ports.values().any(|p| {
        p.fixed_ips
            .iter()
            .any(|(s, ip)| s == &subnet_id && *ip == gateway_ip)
    }) {
        return Err(conflict(
            "IpAddressAlreadyAllocated",
            &format!("IP address {gateway_ip} already allocated in subnet {subnet_id}"),
        )
        .into());
    }
    let port_id = state.create_port(
        &subnet.network_id,
        &ctx.project,
        id,
        "network:router_interface",
        Vec::new(),
        Some((subnet_id.clone(), gateway_ip)),
    );
    let port = state
        .ports
        .get(&port_id)
        .ok_or_else(|| Fail::from(not_found("Port", &port_id)))?;
    Ok(interface_body(ctx, id, port))
}

fn remove_interface(ctx: &Ctx<'_>, state: &mut State, id: &str) -> Reply {
    own_router(ctx, state, id)?;
    let (subnet_id, port_id) = interface_request(ctx)?;
    let found = router_interfaces(state, id)
        .into_iter()
        .find(|p| match (&subnet_id, &port_id) {
            (_, Some(port)) => &p.id == port,
            (Some(subnet), None) => p.fixed_ips.iter().any(|(s, _)| s == subnet),
            (None, None) => false,
        });
    let Some(port) = found.cloned() else {
        return Err(match (subnet_id, port_id) {
            (_, Some(port)) => neutron_error(
                StatusCode::NOT_FOUND,
                "RouterInterfaceNotFound",
                &format!("Router {id} does not have an interface with id {port}"),
            ),
            (subnet, None) => neutron_error(
                StatusCode::NOT_FOUND,
                "RouterInterfaceNotFoundForSubnet",
                &format!(
                    "Router {id} has no interface on subnet {}",
                    subnet.unwrap_or_default()
                ),
            ),
        }
        .into());
    };
    state.ports.remove(&port.id);
    Ok(interface_body(ctx, id, &port))
}

// ------------------------------------------------------------------ security groups

const GROUP_FIELDS: &[&str] = &[
    "id",
    "name",
    "description",
    "tenant_id",
    "project_id",
    "security_group_rules",
    "stateful",
    "shared",
    "tags",
    "created_at",
    "updated_at",
    "revision_number",
];

const RULE_FIELDS: &[&str] = &[
    "id",
    "security_group_id",
    "direction",
    "ethertype",
    "protocol",
    "port_range_min",
    "port_range_max",
    "remote_ip_prefix",
    "remote_group_id",
    "remote_address_group_id",
    "normalized_cidr",
    "description",
    "tenant_id",
    "project_id",
    "belongs_to_default_sg",
    "created_at",
    "updated_at",
    "revision_number",
];

fn render_rule(state: &State, r: &SgRule) -> Value {
    let normalized = r
        .spec
        .remote_ip_prefix
        .as_deref()
        .and_then(parse_prefix)
        .map(|c| c.to_string());
    let default = state
        .security_groups
        .get(&r.group_id)
        .is_some_and(|g| g.is_default);
    json!({
        "id": r.id,
        "security_group_id": r.group_id,
        "direction": r.spec.direction,
        "ethertype": r.spec.ethertype,
        "protocol": r.spec.protocol,
        "port_range_min": r.spec.port_min,
        "port_range_max": r.spec.port_max,
        "remote_ip_prefix": r.spec.remote_ip_prefix,
        "remote_group_id": r.spec.remote_group_id,
        "remote_address_group_id": null,
        "normalized_cidr": normalized,
        "description": r.description,
        "tenant_id": r.project_id,
        "project_id": r.project_id,
        "belongs_to_default_sg": default,
        "created_at": iso_z(&r.meta.created),
        "updated_at": iso_z(&r.meta.updated),
        "revision_number": 0,
    })
}

fn render_group(state: &State, g: &SecurityGroup) -> Value {
    let mut rules: Vec<&SgRule> = state
        .rules
        .values()
        .filter(|r| r.group_id == g.id)
        .collect();
    rules.sort_by_key(|r| r.meta.seq);
    json!({
        "id": g.id,
        "name": g.name,
        "description": g.description,
        "tenant_id": g.project_id,
        "project_id": g.project_id,
        "security_group_rules": rules.iter().map(|r| render_rule(state, r)).collect::<Vec<_>>(),
        "stateful": g.stateful,
        "shared": false,
        "tags": [],
        "created_at": iso_z(&g.meta.created),
        "updated_at": iso_z(&g.meta.updated),
        "revision_number": 1,
    })
}

fn own_group<'a>(ctx: &Ctx<'_>, state: &'a State, id: &str) -> Result<&'a SecurityGroup, Fail> {
    state
        .security_groups
        .get(id)
        .filter(|g| g.project_id == ctx.project)
        .ok_or_else(|| Fail::from(not_found("SecurityGroup", id)))
}

fn list_groups(ctx: &Ctx<'_>, state: &State) -> Reply {
    let mut groups: Vec<&SecurityGroup> = state
        .security_groups
        .values()
        .filter(|g| g.project_id == ctx.project)
        .collect();
    groups.sort_by_key(|g| g.meta.seq);
    let items = groups.iter().map(|g| render_group(state, g)).collect();
    Ok(list_response(
        ctx.req,
        &ctx.self_url,
        "security_groups",
        items,
        GROUP_FIELDS,
    ))
}

fn show_group(ctx: &Ctx<'_>, state: &State, id: &str) -> Reply {
    Ok(ok(
        ctx.req,
        "security_group",
        render_group(state, own_group(ctx, state, id)?),
    ))
}

fn create_group(ctx: &Ctx<'_>, state: &mut State) -> Reply {
    let o = body_object(ctx, "security_group", &["name", "description", "stateful"])?;
    over_quota(ctx, state, "security_group")?;
    let name = opt_str(&o, "name")?.unwrap_or_default();
    if name == "default" {
        return Err(conflict(
            "SecurityGroupDefaultAlreadyExists",
            "Default security group already exists.",
        )
        .into());
    }
    let description = opt_str(&o, "description")?.unwrap_or_default();
    let stateful = opt_bool(&o, "stateful")?.unwrap_or(true);
    let id = state.create_group(&ctx.shared.world, &ctx.project, &name, &description, false);
    if let Some(g) = state.security_groups.get_mut(&id) {
        g.stateful = stateful;
    }
    let g = own_group(ctx, state, &id)?;
    Ok(created("security_group", render_group(state, g)))
}

fn update_group(ctx: &Ctx<'_>, state: &mut State, id: &str) -> Reply {
    let g = own_group(ctx, state, id)?;
    let o = body_object(ctx, "security_group", &["name", "description", "stateful"])?;
    let name = opt_str(&o, "name")?;
    if g.is_default && name.as_deref().is_some_and(|n| n != "default") {
        return Err(conflict(
            "SecurityGroupCannotUpdateDefault",
            "Updating default security group not allowed.",
        )
        .into());
    }
    let description = opt_str(&o, "description")?;
    if let Some(g) = state.security_groups.get_mut(id) {
        if let Some(n) = name {
            g.name = n;
        }
        if let Some(d) = description {
            g.description = d;
        }
        g.meta.touch();
    }
    show_group(ctx, state, id)
}

fn delete_group(ctx: &Ctx<'_>, state: &mut State, id: &str) -> Reply {
    let g = own_group(ctx, state, id)?;
    if g.is_default {
        return Err(conflict(
            "SecurityGroupCannotRemoveDefault",
            "Insufficient rights for removing default security group.",
        )
        .into());
    }
    if state
        .ports
        .values()
        .any(|p| p.security_groups.iter().any(|s| s == id))
    {
        return Err(conflict(
            "SecurityGroupInUse",
            &format!("Security Group {id} in use."),
        )
        .into());
    }
    state
        .rules
        .retain(|_, r| r.group_id != id && r.spec.remote_group_id.as_deref() != Some(id));
    state.security_groups.remove(id);
    Ok(no_content())
}

fn list_rules(ctx: &Ctx<'_>, state: &State) -> Reply {
    let mut rules: Vec<&SgRule> = state
        .rules
        .values()
        .filter(|r| r.project_id == ctx.project)
        .collect();
    rules.sort_by_key(|r| r.meta.seq);
    let items = rules.iter().map(|r| render_rule(state, r)).collect();
    Ok(list_response(
        ctx.req,
        &ctx.self_url,
        "security_group_rules",
        items,
        RULE_FIELDS,
    ))
}

fn own_rule<'a>(ctx: &Ctx<'_>, state: &'a State, id: &str) -> Result<&'a SgRule, Fail> {
    state
        .rules
        .get(id)
        .filter(|r| r.project_id == ctx.project)
        .ok_or_else(|| Fail::from(not_found("SecurityGroupRule", id)))
}

fn show_rule(ctx: &Ctx<'_>, state: &State, id: &str) -> Reply {
    Ok(ok(
        ctx.req,
        "security_group_rule",
        render_rule(state, own_rule(ctx, state, id)?),
    ))
}

fn create_rule(ctx: &Ctx<'_>, state: &mut State) -> Reply {
    let o = body_object(
        ctx,
        "security_group_rule",
        &[
            "security_group_id",
            "direction",
            "ethertype",
            "protocol",
            "port_range_min",
            "port_range_max",
            "remote_ip_prefix",
            "remote_group_id",
            "remote_address_group_id",
            "description",
        ],
    )?;
    over_quota(ctx, state, "security_group_rule")?;
    let group_id = required(&o, "security_group_id")?;
    let direction = required(&o, "direction")?;
    let ethertype = opt_str(&o, "ethertype")?.unwrap_or_else(|| "IPv4".to_owned());
    let protocol = match o.get("protocol") {
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => opt_str(&o, "protocol")?.map(|p| p.to_ascii_lowercase()),
    };
    let port_min = opt_port(&o, "port_range_min")?;
    let port_max = opt_port(&o, "port_range_max")?;
    let prefix = opt_str(&o, "remote_ip_prefix")?;
    let remote_group = opt_str(&o, "remote_group_id")?;
    own_group(ctx, state, &group_id)?;
    if let Some(remote) = &remote_group {
        own_group(ctx, state, remote)?;
    }
    check_rule_shape(
        &direction,
        &ethertype,
        protocol.as_deref(),
        port_min,
        port_max,
        prefix.as_deref(),
        remote_group.is_some(),
    )
    .map_err(|e| Fail::from(bad_request(&e)))?;
    let spec = RuleSpec {
        direction,
        ethertype,
        protocol,
        port_min,
        port_max,
        remote_ip_prefix: prefix,
        remote_group_id: remote_group,
    };
    if let Some(existing) = state
        .rules
        .values()
        .find(|r| r.group_id == group_id && r.spec == spec)
    {
        return Err(conflict(
            "SecurityGroupRuleExists",
            &format!(
                "Security group rule already exists. Rule id is {}.",
                existing.id
            ),
        )
        .into());
    }
    let id = new_id();
    let meta = state.meta();
    let rule = SgRule {
        id: id.clone(),
        group_id,
        project_id: ctx.project.clone(),
        spec,
        description: opt_str(&o, "description")?.unwrap_or_default(),
        meta,
    };
    let body = render_rule(state, &rule);
    state.rules.insert(id, rule);
    Ok(created("security_group_rule", body))
}

fn delete_rule(ctx: &Ctx<'_>, state: &mut State, id: &str) -> Reply {
    own_rule(ctx, state, id)?;
    state.rules.remove(id);
    Ok(no_content())
}

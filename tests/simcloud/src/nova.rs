//! Nova 2.1 under the compute path: version documents, microversion negotiation, and the
//! flavor API (list, detail, show, extra specs) with Nova's paging, sorting and visibility.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use std::cmp::Ordering;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use crate::NOVA_MAX_MICROVERSION;
use crate::http::{
    decode_path_segment, dict, encode_query, json_response, method_not_allowed, not_found, param,
    with_header,
};
use crate::ids::project_id;
use crate::server::{Req, Shared, Token};
use crate::world::{FlavorRec, strip_version_segment, substitute_project};

const MIN_VERSION: (u32, u32) = (2, 1);
/// Nova's `[api] max_limit` default.
const MAX_LIMIT: usize = 1000;

use crate::http::fault;

fn bad_request(message: &str) -> Response {
    fault(StatusCode::BAD_REQUEST, "badRequest", message)
}

fn fmt_version((major, minor): (u32, u32)) -> String {
    format!("{major}.{minor}")
}

/// `X.Y` with X >= 1 and no leading zeros (Nova's `APIVersionRequest` format).
fn parse_version(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.split_once('.')?;
    let number = |s: &str, allow_zero: bool| -> Option<u32> {
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        if s.len() > 1 && s.starts_with('0') {
            return None;
        }
        let n: u32 = s.parse().ok()?;
        (allow_zero || n > 0).then_some(n)
    };
    Some((number(major, false)?, number(minor, true)?))
}

/// The requested compute microversion: `OpenStack-API-Version: compute X.Y` first, then
/// `X-OpenStack-Nova-API-Version: X.Y`.
fn requested_version(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all("openstack-api-version") {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut words = item.split_whitespace();
            if let (Some(service), Some(version)) = (words.next(), words.next())
                && service.eq_ignore_ascii_case("compute")
            {
                return Some(version.to_owned());
            }
        }
    }
    crate::http::header_str(headers, "x-openstack-nova-api-version").map(|v| v.trim().to_owned())
}

/// Negotiate the microversion as Nova does: none -> 2.1, `latest` -> max, bad format -> 400,
/// out of range -> 406.
/// The highest microversion this cloud offers (`compute.max_microversion`, default Nova 33's).
pub(crate) fn max_version(shared: &Shared) -> (u32, u32) {
    shared
        .fixture
        .compute
        .max_microversion
        .as_deref()
        .and_then(parse_version)
        .unwrap_or(NOVA_MAX_MICROVERSION)
}

pub(crate) fn negotiate(headers: &HeaderMap, max: (u32, u32)) -> Result<(u32, u32), Box<Response>> {
    let Some(text) = requested_version(headers) else {
        return Ok(MIN_VERSION);
    };
    if text.eq_ignore_ascii_case("latest") {
        return Ok(max);
    }
    let Some(version) = parse_version(&text) else {
        return Err(Box::new(bad_request(&format!(
            "API Version String {text} is of invalid format. Must be of format MajorNum.MinorNum."
        ))));
    };
    if version < MIN_VERSION || version > max {
        return Err(Box::new(fault(
            StatusCode::NOT_ACCEPTABLE,
            "computeFault",
            &format!(
                "Version {text} is not supported by the API. Minimum is {} and maximum is {}.",
                fmt_version(MIN_VERSION),
                fmt_version(max)
            ),
        )));
    }
    Ok(version)
}

fn with_version_headers(resp: Response, version: (u32, u32)) -> Response {
    let v = fmt_version(version);
    let resp = with_header(resp, "openstack-api-version", &format!("compute {v}"));
    let resp = with_header(resp, "x-openstack-nova-api-version", &v);
    with_header(
        resp,
        "vary",
        "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
    )
}

fn version_v21(href: String, max: (u32, u32)) -> Value {
    json!({
        "id": "v2.1",
        "status": "CURRENT",
        "version": fmt_version(max),
        "min_version": fmt_version(MIN_VERSION),
        "updated": "2013-07-23T11:33:21Z",
        "links": [
            {"rel": "self", "href": href},
            {"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"}
        ],
        "media-types": [{
            "base": "application/json",
            "type": "application/vnd.openstack.compute+json;version=2.1"
        }]
    })
}

/// `GET /compute/`: the unversioned root (no token needed).
pub(crate) fn versions(shared: &Shared, req: &Req) -> Response {
    if req.method != "GET" {
        return method_not_allowed(&req.method, &req.path);
    }
    let href = format!("{}{}/", shared.base_url, shared.world.compute_path);
    let mut v21 = version_v21(href, max_version(shared));
    if let Some(o) = v21.as_object_mut() {
        o.remove("media-types");
    }
    json_response(StatusCode::OK, &json!({"versions": [v21]}))
}

/// Request-dependent URL prefixes.
pub(crate) struct Links {
    /// `http://127.0.0.1:P/compute/v2.1`
    pub app_url: String,
    /// `http://127.0.0.1:P/compute`
    pub bookmark_url: String,
}

pub(crate) fn handle(shared: &Shared, req: &Req, rest: &str) -> Response {
    let prefix = req.path.strip_suffix(rest).unwrap_or(&req.path);
    let prefix = prefix.trim_end_matches('/');
    let links = Links {
        app_url: format!("{}{prefix}", shared.base_url),
        bookmark_url: format!(
            "{}{}",
            shared.base_url,
            strip_version_segment(prefix).unwrap_or(prefix)
        ),
    };
    let route = rest.trim_end_matches('/');
    if route.is_empty() {
        return match req.method.as_str() {
            "GET" => json_response(
                StatusCode::OK,
                &json!({"version": version_v21(format!("{}/", links.app_url), max_version(shared))}),
            ),
            _ => method_not_allowed(&req.method, &req.path),
        };
    }
    let Some(token) = shared.authenticate(&req.headers) else {
        return shared.unauthorized();
    };
    let version = match negotiate(&req.headers, max_version(shared)) {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let mut segments: Vec<String> = route
        .trim_start_matches('/')
        .split('/')
        .map(decode_path_segment)
        .collect();
    // Nova accepts the project id after the version (`/v2.1/{project_id}/servers`, the
    // legacy catalog registration); another project's id is refused as Nova does.
    if let Some(first) = segments.first()
        && first.len() == 32
        && first.bytes().all(|b| b.is_ascii_hexdigit())
    {
        let own = token.project.as_deref().map(project_id).unwrap_or_default();
        if *first != own {
            return fault(
                StatusCode::BAD_REQUEST,
                "badRequest",
                "Malformed request URL: URL's project_id does not match Context's project_id.",
            );
        }
        segments.remove(0);
    }
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let get = req.method == "GET";
    let resp = match segments.as_slice() {
        ["flavors"] if get => list(shared, req, &token, version, &links, false),
        ["flavors", "detail"] if get => list(shared, req, &token, version, &links, true),
        ["flavors", id] if get => match visible_flavor(shared, &token, id) {
            Some(f) => json_response(
                StatusCode::OK,
                &json!({"flavor": flavor_detail(f, version, &links)}),
            ),
            None => flavor_not_found(id),
        },
        ["flavors", id, "os-extra_specs"] if get => match visible_flavor(shared, &token, id) {
            Some(f) => json_response(
                StatusCode::OK,
                &json!({"extra_specs": f.flavor.extra_specs}),
            ),
            None => flavor_not_found(id),
        },
        ["flavors", id, "os-extra_specs", key] if get => match visible_flavor(shared, &token, id) {
            Some(f) => match f.flavor.extra_specs.get(*key) {
                Some(value) => json_response(StatusCode::OK, &json!({ *key: value })),
                None => fault(
                    StatusCode::NOT_FOUND,
                    "itemNotFound",
                    &format!("Flavor {id} has no extra specs with key {key}."),
                ),
            },
            None => flavor_not_found(id),
        },
        ["flavors"]
        | ["flavors", _]
        | ["flavors", _, "os-extra_specs"]
        | ["flavors", _, "os-extra_specs", _] => method_not_allowed(&req.method, &req.path),
        other => match crate::nova_servers::route(shared, req, &token, version, &links, other) {
            Some(resp) => resp,
            None => not_found(&req.method, &req.path),
        },
    };
    with_version_headers(resp, version)
}

fn flavor_not_found(id: &str) -> Response {
    fault(
        StatusCode::NOT_FOUND,
        "itemNotFound",
        &format!("Flavor {id} could not be found."),
    )
}

fn token_project_id(token: &Token) -> String {
    token.project.as_deref().map(project_id).unwrap_or_default()
}

/// Public flavors, and private ones the token's project has access to.
fn is_visible(rec: &FlavorRec, project: &str) -> bool {
    rec.flavor.is_public || rec.access.contains(project)
}

pub(crate) fn visible_flavor<'a>(
    shared: &'a Shared,
    token: &Token,
    id: &str,
) -> Option<&'a FlavorRec> {
    let project = token_project_id(token);
    shared
        .world
        .flavors
        .iter()
        .find(|f| f.flavor.id == id && is_visible(f, &project))
}

fn flavor_links(rec: &FlavorRec, links: &Links) -> Value {
    let id = &rec.flavor.id;
    json!([
        {"rel": "self", "href": format!("{}/flavors/{id}", links.app_url)},
        {"rel": "bookmark", "href": format!("{}/flavors/{id}", links.bookmark_url)},
    ])
}

fn flavor_summary(rec: &FlavorRec, version: (u32, u32), links: &Links) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(rec.flavor.id));
    o.insert("name".into(), json!(rec.flavor.name));
    o.insert("links".into(), flavor_links(rec, links));
    if version >= (2, 55) {
        o.insert("description".into(), json!(rec.flavor.description));
    }
    Value::Object(o)
}

fn flavor_detail(rec: &FlavorRec, version: (u32, u32), links: &Links) -> Value {
    let f = &rec.flavor;
    let swap = if f.swap == 0 && version < (2, 75) {
        json!("")
    } else {
        json!(f.swap)
    };
    let mut o = Map::new();
    o.insert("id".into(), json!(f.id));
    o.insert("name".into(), json!(f.name));
    o.insert("ram".into(), json!(f.ram));
    o.insert("disk".into(), json!(f.disk));
    o.insert("vcpus".into(), json!(f.vcpus));
    o.insert("swap".into(), swap);
    o.insert("OS-FLV-EXT-DATA:ephemeral".into(), json!(f.ephemeral));
    o.insert("OS-FLV-DISABLED:disabled".into(), json!(f.disabled));
    o.insert("os-flavor-access:is_public".into(), json!(f.is_public));
    o.insert("rxtx_factor".into(), json!(1.0));
    o.insert("links".into(), flavor_links(rec, links));
    if version >= (2, 55) {
        o.insert("description".into(), json!(f.description));
    }
    if version >= (2, 61) {
        o.insert("extra_specs".into(), json!(f.extra_specs));
    }
    Value::Object(o)
}

/// Nova's non-negative integer query parameters.
fn int_param(req: &Req, name: &str) -> Result<Option<u64>, Box<Response>> {
    match param(&req.query, name) {
        None => Ok(None),
        Some(text) => match text.trim().parse::<i64>() {
            Ok(n) if n >= 0 => Ok(u64::try_from(n).ok()),
            Ok(_) => Err(Box::new(bad_request(&format!(
                "{name} param must be positive"
            )))),
            Err(_) => Err(Box::new(bad_request(&format!(
                "{name} param must be an integer"
            )))),
        },
    }
}

#[derive(Clone, Copy)]
enum SortKey {
    FlavorId,
    Name,
    MemoryMb,
    Vcpus,
    RootGb,
    Id,
    Swap,
    EphemeralGb,
    Disabled,
    IsPublic,
    Description,
}

fn sort_key(text: &str) -> Option<SortKey> {
    Some(match text {
        "flavorid" => SortKey::FlavorId,
        "name" => SortKey::Name,
        "memory_mb" => SortKey::MemoryMb,
        "vcpus" => SortKey::Vcpus,
        "root_gb" => SortKey::RootGb,
        "id" | "created_at" => SortKey::Id,
        "swap" => SortKey::Swap,
        "ephemeral_gb" => SortKey::EphemeralGb,
        "disabled" => SortKey::Disabled,
        "is_public" => SortKey::IsPublic,
        "description" => SortKey::Description,
        _ => return None,
    })
}

fn compare(a: &FlavorRec, b: &FlavorRec, key: SortKey) -> Ordering {
    let (x, y) = (&a.flavor, &b.flavor);
    let primary = match key {
        SortKey::FlavorId => Ordering::Equal,
        SortKey::Name => x.name.cmp(&y.name),
        SortKey::MemoryMb => x.ram.cmp(&y.ram),
        SortKey::Vcpus => x.vcpus.cmp(&y.vcpus),
        SortKey::RootGb => x.disk.cmp(&y.disk),
        SortKey::Id => a.db_id.cmp(&b.db_id),
        SortKey::Swap => x.swap.cmp(&y.swap),
        SortKey::EphemeralGb => x.ephemeral.cmp(&y.ephemeral),
        SortKey::Disabled => x.disabled.cmp(&y.disabled),
        SortKey::IsPublic => x.is_public.cmp(&y.is_public),
        SortKey::Description => x.description.cmp(&y.description),
    };
    primary.then_with(|| x.id.cmp(&y.id))
}

fn list(
    shared: &Shared,
    req: &Req,
    token: &Token,
    version: (u32, u32),
    links: &Links,
    detail: bool,
) -> Response {
    let parsed = (|| -> Result<_, Box<Response>> {
        let limit = int_param(req, "limit")?;
        let min_ram = int_param(req, "minRam")?;
        let min_disk = int_param(req, "minDisk")?;
        let key = match param(&req.query, "sort_key") {
            None => SortKey::FlavorId,
            Some(text) => sort_key(text)
                .ok_or_else(|| Box::new(bad_request(&format!("Invalid sort_key: {text}"))))?,
        };
        let descending = match param(&req.query, "sort_dir") {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(Box::new(bad_request(&format!("Invalid sort_dir: {other}"))));
            }
        };
        Ok((limit, min_ram, min_disk, key, descending))
    })();
    let (limit, min_ram, min_disk, key, descending) = match parsed {
        Ok(p) => p,
        Err(resp) => return *resp,
    };
    let project = token_project_id(token);
    let ordered = |a: &FlavorRec, b: &FlavorRec| {
        let o = compare(a, b, key);
        if descending { o.reverse() } else { o }
    };
    // Non-admin users see public and accessible flavors, never disabled ones.
    let visible: Vec<&FlavorRec> = shared
        .world
        .flavors
        .iter()
        .filter(|f| is_visible(f, &project) && !f.flavor.disabled)
        .collect();
    let mut items: Vec<&FlavorRec> = visible
        .iter()
        .copied()
        .filter(|f| min_ram.is_none_or(|m| f.flavor.ram >= m))
        .filter(|f| min_disk.is_none_or(|m| f.flavor.disk >= m))
        .collect();
    items.sort_by(|a, b| ordered(a, b));
    if let Some(marker) = param(&req.query, "marker") {
        let Some(marker_rec) = visible.iter().find(|f| f.flavor.id == marker) else {
            return bad_request(&format!("marker [{marker}] not found"));
        };
        items.retain(|f| ordered(f, marker_rec) == Ordering::Greater);
    }
    let requested = limit.map(|l| usize::try_from(l).unwrap_or(usize::MAX));
    let page_size = match requested {
        None | Some(0) => MAX_LIMIT,
        Some(l) => l.min(MAX_LIMIT),
    };
    items.truncate(page_size);
    let body: Vec<Value> = items
        .iter()
        .map(|f| {
            if detail {
                flavor_detail(f, version, links)
            } else {
                flavor_summary(f, version, links)
            }
        })
        .collect();
    let mut out = Map::new();
    out.insert("flavors".into(), Value::Array(body));
    // Nova adds "next" whenever the page is full, even if nothing follows.
    let max_items = requested.unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
    if let Some(last) = items
        .last()
        .filter(|_| max_items > 0 && max_items == items.len())
    {
        let mut params = dict(&req.query);
        params.sort_by(|a, b| a.0.cmp(&b.0));
        match params.iter_mut().find(|(k, _)| k == "marker") {
            Some(slot) => slot.1 = last.flavor.id.clone(),
            None => params.push(("marker".into(), last.flavor.id.clone())),
        }
        let collection = if detail { "flavors/detail" } else { "flavors" };
        let href = format!("{}/{collection}?{}", links.app_url, encode_query(&params));
        out.insert(
            "flavors_links".into(),
            json!([{"rel": "next", "href": substitute_project(&href, &project)}]),
        );
    }
    json_response(StatusCode::OK, &Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(items: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in items {
            h.append(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn version_format() {
        assert_eq!(parse_version("2.61"), Some((2, 61)));
        assert_eq!(parse_version("2.0"), Some((2, 0)));
        assert_eq!(parse_version("02.1"), None);
        assert_eq!(parse_version("2.01"), None);
        assert_eq!(parse_version("0.1"), None);
        assert_eq!(parse_version("2"), None);
        assert_eq!(parse_version("2.x"), None);
        assert_eq!(parse_version(""), None);
    }

    #[test]
    fn negotiation() {
        let v = |h: &[(&'static str, &'static str)]| {
            negotiate(&headers(h), NOVA_MAX_MICROVERSION).map_err(|r| r.status())
        };
        assert_eq!(v(&[]), Ok((2, 1)));
        assert_eq!(v(&[("openstack-api-version", "compute 2.61")]), Ok((2, 61)));
        assert_eq!(
            v(&[("openstack-api-version", "image 2.5, Compute 2.70")]),
            Ok((2, 70))
        );
        assert_eq!(
            v(&[("openstack-api-version", "compute latest")]),
            Ok((2, 96))
        );
        assert_eq!(v(&[("x-openstack-nova-api-version", "2.55")]), Ok((2, 55)));
        assert_eq!(
            v(&[
                ("x-openstack-nova-api-version", "2.55"),
                ("openstack-api-version", "compute 2.60")
            ]),
            Ok((2, 60))
        );
        assert_eq!(
            v(&[("openstack-api-version", "compute 3.0")]),
            Err(StatusCode::NOT_ACCEPTABLE)
        );
        assert_eq!(
            v(&[("openstack-api-version", "compute 2.97")]),
            Err(StatusCode::NOT_ACCEPTABLE)
        );
        assert_eq!(
            v(&[("x-openstack-nova-api-version", "2.0")]),
            Err(StatusCode::NOT_ACCEPTABLE)
        );
        assert_eq!(
            v(&[("openstack-api-version", "compute two")]),
            Err(StatusCode::BAD_REQUEST)
        );
    }
}

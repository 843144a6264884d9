//! The resolved cloud content a server works from: validated fixture plus generated filler,
//! derived ids, sorted flavors, pre-rendered Glance image bodies, and path templates.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::error::Error;
use crate::fixture::{
    AppCredential, DefaultRule, Fixture, Flavor, IMAGE_CORE_FIELDS, MemberStatus, Service, Shape,
    User, Visibility, check_image_status,
};
use crate::ids;
use crate::net::{Cidr, parse_cidr, parse_prefix};

/// Placeholders substituted by the token's project id in catalog paths and URLs.
const PROJECT_PLACEHOLDERS: &[&str] = &[
    "{project_id}",
    "{tenant_id}",
    "%(project_id)s",
    "$(project_id)s",
    "%(tenant_id)s",
    "$(tenant_id)s",
];

/// Default mount points when the catalog names no path for the service.
const DEFAULT_COMPUTE_PATH: &str = "/compute/v2.1";
const DEFAULT_IMAGE_PATH: &str = "/image";
const DEFAULT_NETWORK_PATH: &str = "/network";
const DEFAULT_VOLUME_PATH: &str = "/volume/v3/{project_id}";
const DEFAULT_KEY_MANAGER_PATH: &str = "/key-manager";

/// Catalog types served by Neutron, Cinder and Barbican.
pub(crate) const NETWORK_TYPES: &[&str] = &["network"];
pub(crate) const VOLUME_TYPES: &[&str] = &["volumev3", "block-storage", "volume", "volumev2"];
pub(crate) const KEY_MANAGER_TYPES: &[&str] = &["key-manager"];

#[derive(Debug)]
pub(crate) struct World {
    pub region: String,
    pub users: Vec<User>,
    pub app_creds: Vec<AppCredential>,
    pub services: Vec<Service>,
    /// Sorted by flavor id (string order, as Nova's default `flavorid asc`).
    pub flavors: Vec<FlavorRec>,
    pub images: Vec<ImageRec>,
    /// Path template Nova is mounted at.
    pub compute_path: String,
    /// Path template Glance is mounted at.
    pub image_path: String,
    /// Path templates Neutron is mounted at (every `network` path, default `/network`).
    pub network_paths: Vec<String>,
    /// Path templates Cinder is mounted at (every volumev3/block-storage/volume/volumev2 path).
    pub volume_paths: Vec<String>,
    /// Path templates Barbican is mounted at.
    pub key_manager_paths: Vec<String>,
    /// Volume types in fixture order.
    pub volume_types: Vec<VolumeTypeRec>,
    /// Index into `volume_types` of the default type.
    pub default_volume_type: Option<usize>,
    /// Default security-group rule templates with their ids.
    pub default_rules: Vec<DefaultRuleRec>,
    /// The external network, if any.
    pub external: Option<ExternalNet>,
    /// Compiled `faults.errors`.
    pub fault_rules: Vec<FaultRule>,
}

#[derive(Debug)]
pub(crate) struct VolumeTypeRec {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub is_public: bool,
    pub extra_specs: BTreeMap<String, String>,
}

#[derive(Debug)]
pub(crate) struct DefaultRuleRec {
    pub id: String,
    pub rule: DefaultRule,
}

#[derive(Debug)]
pub(crate) struct ExternalNet {
    pub network_id: String,
    pub subnet_id: String,
    pub name: String,
    pub cidr: Cidr,
}

#[derive(Debug)]
pub(crate) enum PathMatch {
    Regex(regex::Regex),
    Prefix(String),
}

#[derive(Debug)]
pub(crate) struct FaultRule {
    pub method: Option<String>,
    pub path: PathMatch,
    pub status: u16,
    pub count: Option<u32>,
}

impl FaultRule {
    pub fn matches(&self, method: &str, path: &str) -> bool {
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
            && match &self.path {
                PathMatch::Regex(re) => re.is_match(path),
                PathMatch::Prefix(prefix) => path.starts_with(prefix.as_str()),
            }
    }
}

#[derive(Debug)]
pub(crate) struct FlavorRec {
    pub flavor: Flavor,
    /// Position in the fixture: Nova's internal `id` and `created_at` order.
    pub db_id: usize,
    /// Project ids with flavor access.
    pub access: BTreeSet<String>,
}

#[derive(Debug)]
pub(crate) struct ImageRec {
    pub id: String,
    pub name: String,
    pub owner_id: String,
    pub visibility: Visibility,
    pub hidden: bool,
    pub status: String,
    pub size: Option<u64>,
    pub min_disk: u64,
    pub min_ram: u64,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    /// Member project id -> status.
    pub members: BTreeMap<String, MemberStatus>,
    pub tags: Vec<String>,
    /// The Glance image body (all values except what depends on the request).
    pub body: Map<String, Value>,
}

impl World {
    pub fn build(fixture: &Fixture) -> Result<World, Error> {
        fixture.check_static_rules()?;
        let fixture = &with_shapes_applied(fixture)?;
        let flavors = build_flavors(fixture)?;
        let images = build_images(fixture)?;
        let mount = |kind: &str, default: &str| {
            fixture
                .services
                .iter()
                .filter(|s| s.service_type == kind)
                .find_map(|s| s.path.clone())
                .unwrap_or_else(|| default.to_owned())
        };
        let mounts = |kinds: &[&str], default: &str| {
            let mut paths: Vec<String> = Vec::new();
            for s in fixture
                .services
                .iter()
                .filter(|s| kinds.contains(&s.service_type.as_str()))
            {
                if let Some(path) = &s.path
                    && !paths.contains(path)
                {
                    paths.push(path.clone());
                }
            }
            if paths.is_empty() {
                paths.push(default.to_owned());
            }
            paths
        };
        let volume_types = build_volume_types(fixture)?;
        let default_volume_type = match &fixture.volume.default_type {
            Some(name) => Some(
                volume_types
                    .iter()
                    .position(|t| &t.name == name)
                    .ok_or_else(|| {
                        Error::Invalid(format!("volume.default_type {name:?} is not a volume type"))
                    })?,
            ),
            None => (!volume_types.is_empty()).then_some(0),
        };
        Ok(World {
            network_paths: mounts(NETWORK_TYPES, DEFAULT_NETWORK_PATH),
            volume_paths: mounts(VOLUME_TYPES, DEFAULT_VOLUME_PATH),
            key_manager_paths: mounts(KEY_MANAGER_TYPES, DEFAULT_KEY_MANAGER_PATH),
            volume_types,
            default_volume_type,
            default_rules: build_default_rules(fixture)?,
            external: build_external(fixture)?,
            fault_rules: build_fault_rules(fixture)?,
            region: fixture.region.clone(),
            users: fixture.users.clone(),
            app_creds: fixture.application_credentials.clone(),
            services: fixture.services.clone(),
            flavors,
            images,
            compute_path: mount("compute", DEFAULT_COMPUTE_PATH),
            image_path: mount("image", DEFAULT_IMAGE_PATH),
        })
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn user_by_id(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| ids::user_id(&u.name) == id)
    }
}

fn build_flavors(fixture: &Fixture) -> Result<Vec<FlavorRec>, Error> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (db_id, flavor) in fixture.all_flavors().into_iter().enumerate() {
        let what = format!("flavor {:?}", flavor.id);
        if flavor.id.is_empty() || flavor.name.is_empty() {
            return Err(Error::Invalid("flavors need an id and a name".into()));
        }
        if !seen.insert(flavor.id.clone()) {
            return Err(Error::Invalid(format!(
                "duplicate flavor id {:?}",
                flavor.id
            )));
        }
        if flavor.vcpus == 0 || flavor.ram == 0 {
            return Err(Error::Invalid(format!(
                "{what}: vcpus and ram must be at least 1 (Nova refuses 0)"
            )));
        }
        if flavor.is_public && !flavor.projects.is_empty() {
            return Err(Error::Invalid(format!(
                "{what}: flavor access (projects) needs a private flavor (is_public: false)"
            )));
        }
        let access = flavor.projects.iter().map(|p| ids::project_id(p)).collect();
        out.push(FlavorRec {
            flavor,
            db_id: db_id + 1,
            access,
        });
    }
    out.sort_by(|a, b| a.flavor.id.cmp(&b.flavor.id));
    Ok(out)
}

pub(crate) fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

pub(crate) fn format_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn build_images(fixture: &Fixture) -> Result<Vec<ImageRec>, Error> {
    let mut name_count: BTreeMap<String, usize> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for image in fixture.all_images() {
        let what = format!("image {:?}", image.name);
        let id = match &image.id {
            Some(id) => match uuid::Uuid::parse_str(id) {
                Ok(u) => u.hyphenated().to_string(),
                Err(_) => {
                    return Err(Error::Invalid(format!(
                        "{what}: id {id:?} is not a UUID (Glance requires one)"
                    )));
                }
            },
            None => {
                let n = name_count.entry(image.name.clone()).or_insert(0);
                *n += 1;
                if *n == 1 {
                    ids::image_id(&image.name)
                } else {
                    ids::image_id(&format!("{}#{n}", image.name))
                }
            }
        };
        if !seen.insert(id.clone()) {
            return Err(Error::Invalid(format!("{what}: duplicate image id {id}")));
        }
        let created = parse_time(&image.created_at).ok_or_else(|| {
            Error::Invalid(format!(
                "{what}: created_at {:?} is not RFC 3339",
                image.created_at
            ))
        })?;
        let updated = match &image.updated_at {
            None => created,
            Some(text) => parse_time(text).ok_or_else(|| {
                Error::Invalid(format!("{what}: updated_at {text:?} is not RFC 3339"))
            })?,
        };
        if !check_image_status(&image.status) {
            return Err(Error::Invalid(format!(
                "{what}: unknown status {:?}",
                image.status
            )));
        }
        if let Some(key) = image
            .properties
            .keys()
            .find(|k| IMAGE_CORE_FIELDS.contains(&k.as_str()))
        {
            return Err(Error::Invalid(format!(
                "{what}: property {key:?} would shadow a core field"
            )));
        }
        if !image.members.is_empty() && image.visibility != Visibility::Shared {
            return Err(Error::Invalid(format!(
                "{what}: members are only allowed on shared images"
            )));
        }
        let owner = image.owner.clone().unwrap_or_else(|| "admin".to_owned());
        let owner_id = ids::project_id(&owner);
        let has_data = image.status == "active" && image.size.is_some();
        let derived = |value: &Option<String>, make: &dyn Fn() -> String| match value {
            Some(v) => Value::String(v.clone()),
            None if has_data => Value::String(make()),
            None => Value::Null,
        };
        let checksum = derived(&image.checksum, &|| {
            ids::hex_digest(&format!("md5:{id}"), 32)
        });
        let hash_algo = derived(&image.os_hash_algo, &|| "sha512".to_owned());
        let hash_value = derived(&image.os_hash_value, &|| {
            ids::hex_digest(&format!("sha512:{id}"), 128)
        });
        let mut body = Map::new();
        for (key, value) in &image.properties {
            body.insert(key.clone(), Value::String(value.clone()));
        }
        let core = json!({
            "id": id,
            "name": image.name,
            "status": image.status,
            "visibility": image.visibility.as_str(),
            "os_hidden": image.os_hidden,
            "owner": owner_id,
            "min_disk": image.min_disk,
            "min_ram": image.min_ram,
            "size": image.size,
            "virtual_size": image.virtual_size,
            "disk_format": image.disk_format,
            "container_format": image.container_format,
            "checksum": checksum,
            "os_hash_algo": hash_algo,
            "os_hash_value": hash_value,
            "created_at": format_time(&created),
            "updated_at": format_time(&updated),
            "tags": image.tags,
            "self": format!("/v2/images/{id}"),
            "file": format!("/v2/images/{id}/file"),
            "schema": "/v2/schemas/image",
            "protected": image.protected,
        });
        if let Value::Object(core) = core {
            body.extend(core);
        }
        out.push(ImageRec {
            id,
            name: image.name.clone(),
            owner_id,
            visibility: image.visibility,
            hidden: image.os_hidden,
            status: image.status.clone(),
            size: image.size,
            min_disk: image.min_disk,
            min_ram: image.min_ram,
            created,
            updated,
            members: image
                .members
                .iter()
                .map(|(p, s)| (ids::project_id(p), *s))
                .collect(),
            tags: image.tags.clone(),
            body,
        });
    }
    Ok(out)
}

fn build_volume_types(fixture: &Fixture) -> Result<Vec<VolumeTypeRec>, Error> {
    let mut names = BTreeSet::new();
    let mut ids_seen = BTreeSet::new();
    let mut out = Vec::new();
    for t in &fixture.volume.types {
        if t.name.is_empty() {
            return Err(Error::Invalid("volume types need a name".into()));
        }
        if !names.insert(t.name.clone()) {
            return Err(Error::Invalid(format!(
                "duplicate volume type name {:?}",
                t.name
            )));
        }
        let id = match &t.id {
            Some(id) => uuid::Uuid::parse_str(id)
                .map(|u| u.hyphenated().to_string())
                .map_err(|_| {
                    Error::Invalid(format!("volume type {:?}: id {id:?} is not a UUID", t.name))
                })?,
            None => ids::uuid_from(&format!("volume-type:{}", t.name)),
        };
        if !ids_seen.insert(id.clone()) {
            return Err(Error::Invalid(format!("duplicate volume type id {id}")));
        }
        out.push(VolumeTypeRec {
            id,
            name: t.name.clone(),
            description: t.description.clone(),
            is_public: t.is_public,
            extra_specs: t.extra_specs.clone(),
        });
    }
    Ok(out)
}

/// Protocols Neutron accepts by name.
pub(crate) const PROTOCOL_NAMES: &[&str] = &[
    "ah",
    "dccp",
    "egp",
    "esp",
    "gre",
    "hopopt",
    "icmp",
    "igmp",
    "ipip",
    "ipv6-encap",
    "ipv6-frag",
    "ipv6-icmp",
    "icmpv6",
    "ipv6-nonxt",
    "ipv6-opts",
    "ipv6-route",
    "ospf",
    "pgm",
    "rsvp",
    "sctp",
    "tcp",
    "udp",
    "udplite",
    "vrrp",
    "any",
];

/// Validate one security-group rule's shape (also used for API-created rules).
/// Returns the message Neutron would give for a bad rule.
pub(crate) fn check_rule_shape(
    direction: &str,
    ethertype: &str,
    protocol: Option<&str>,
    port_min: Option<u32>,
    port_max: Option<u32>,
    remote_ip_prefix: Option<&str>,
    remote_group: bool,
) -> Result<(), String> {
    if !matches!(direction, "ingress" | "egress") {
        return Err(format!(
            "Invalid input for direction. Reason: {direction} is not in valid_values."
        ));
    }
    if !matches!(ethertype, "IPv4" | "IPv6") {
        return Err(format!(
            "Invalid input for ethertype. Reason: {ethertype} is not in valid_values."
        ));
    }
    if let Some(p) = protocol {
        let numeric = p.parse::<u16>().is_ok_and(|n| n <= 255);
        if !numeric && !PROTOCOL_NAMES.contains(&p) {
            return Err(format!(
                "Security group rule protocol {p} not supported. Only protocol values {} and \
                 integer representations [0 to 255] are supported.",
                PROTOCOL_NAMES.join(", ")
            ));
        }
    }
    let ported = matches!(protocol, Some("tcp" | "udp" | "sctp" | "dccp" | "udplite"))
        || matches!(protocol, Some("6" | "17" | "132" | "33" | "136"));
    match (port_min, port_max) {
        (None, None) => {}
        _ if !ported && !matches!(protocol, Some("icmp" | "ipv6-icmp" | "icmpv6" | "1" | "58")) => {
            return Err(
                "Security group rule for protocol without ports specified port range.".into(),
            );
        }
        (Some(min), Some(max)) if ported && (min > max || max > 65535 || min == 0) => {
            return Err("For TCP/UDP protocols, port_range_min must be <= port_range_max".into());
        }
        _ => {}
    }
    if let Some(prefix) = remote_ip_prefix {
        if remote_group {
            return Err("Only remote_ip_prefix or remote_group_id may be provided.".into());
        }
        let Some(cidr) = parse_prefix(prefix) else {
            return Err(format!("'{prefix}' is not a valid IP subnet"));
        };
        let wanted = if ethertype == "IPv4" { 4 } else { 6 };
        if cidr.version() != wanted {
            return Err(format!(
                "Conflicting value ethertype {ethertype} for CIDR {prefix}"
            ));
        }
    }
    Ok(())
}

fn build_default_rules(fixture: &Fixture) -> Result<Vec<DefaultRuleRec>, Error> {
    let mut out = Vec::new();
    for (i, rule) in fixture
        .network
        .default_security_group_rules
        .iter()
        .enumerate()
    {
        check_rule_shape(
            &rule.direction,
            &rule.ethertype,
            rule.protocol.as_deref(),
            rule.port_range_min,
            rule.port_range_max,
            rule.remote_ip_prefix.as_deref(),
            rule.remote_group_id.is_some(),
        )
        .map_err(|e| Error::Invalid(format!("network.default_security_group_rules[{i}]: {e}")))?;
        if let Some(group) = &rule.remote_group_id
            && group != "PARENT"
        {
            return Err(Error::Invalid(format!(
                "network.default_security_group_rules[{i}]: remote_group_id must be PARENT \
                 (templates cannot name a concrete group)"
            )));
        }
        out.push(DefaultRuleRec {
            id: ids::uuid_from(&format!("default-sg-rule:{i}")),
            rule: rule.clone(),
        });
    }
    Ok(out)
}

fn build_external(fixture: &Fixture) -> Result<Option<ExternalNet>, Error> {
    let n = &fixture.network;
    if !n.external {
        return Ok(None);
    }
    if n.external_network_name.is_empty() {
        return Err(Error::Invalid(
            "network.external_network_name must not be empty".into(),
        ));
    }
    let cidr = parse_cidr(&n.external_cidr).ok_or_else(|| {
        Error::Invalid(format!(
            "network.external_cidr {:?} is not a usable CIDR",
            n.external_cidr
        ))
    })?;
    Ok(Some(ExternalNet {
        network_id: ids::uuid_from(&format!("network:{}", n.external_network_name)),
        subnet_id: ids::uuid_from(&format!("subnet:{}", n.external_network_name)),
        name: n.external_network_name.clone(),
        cidr,
    }))
}

fn build_fault_rules(fixture: &Fixture) -> Result<Vec<FaultRule>, Error> {
    let f = &fixture.faults;
    if let Some(slow) = &f.slow_body
        && slow.bytes_per_sec == 0
    {
        return Err(Error::Invalid(
            "faults.slow_body.bytes_per_sec must be at least 1".into(),
        ));
    }
    if f.token_ttl_secs == Some(0) {
        return Err(Error::Invalid(
            "faults.token_ttl_secs must be at least 1".into(),
        ));
    }
    if f.expire_tokens_after_requests == Some(0) {
        return Err(Error::Invalid(
            "faults.expire_tokens_after_requests must be at least 1".into(),
        ));
    }
    let mut out = Vec::new();
    for (i, e) in f.errors.iter().enumerate() {
        let what = format!("faults.errors[{i}]");
        let path = match (&e.path_regex, &e.path_prefix) {
            (Some(re), None) => PathMatch::Regex(
                regex::Regex::new(re)
                    .map_err(|err| Error::Invalid(format!("{what}: bad path_regex: {err}")))?,
            ),
            (None, Some(prefix)) => PathMatch::Prefix(prefix.clone()),
            _ => {
                return Err(Error::Invalid(format!(
                    "{what}: give exactly one of path_regex and path_prefix"
                )));
            }
        };
        if !(400..=599).contains(&e.status) {
            return Err(Error::Invalid(format!(
                "{what}: status {} is not an error status (400-599)",
                e.status
            )));
        }
        out.push(FaultRule {
            method: e.method.clone(),
            path,
            status: e.status,
            count: e.count,
        });
    }
    Ok(out)
}

/// Replace every project placeholder in `template` by `project_id`.
pub(crate) fn substitute_project(template: &str, project_id: &str) -> String {
    PROJECT_PLACEHOLDERS
        .iter()
        .fold(template.to_owned(), |acc, p| acc.replace(p, project_id))
}

/// If `path` lies under the path template `template`, return the rest (`""` or `"/..."`).
/// Placeholders match one non-empty piece of a segment (`AUTH_{project_id}` matches `AUTH_x`).
pub(crate) fn match_prefix<'a>(template: &str, path: &'a str) -> Option<&'a str> {
    let mut rest = path;
    for seg in template.split('/').filter(|s| !s.is_empty()) {
        rest = rest.strip_prefix('/')?;
        let end = rest.find('/').unwrap_or(rest.len());
        let (head, tail) = rest.split_at(end);
        if !segment_matches(seg, head) {
            return None;
        }
        rest = tail;
    }
    Some(rest)
}

/// The project id a path carries where `template` has a placeholder (the first one).
pub(crate) fn path_project<'a>(template: &str, path: &'a str) -> Option<&'a str> {
    let mut rest = path;
    for seg in template.split('/').filter(|s| !s.is_empty()) {
        rest = rest.strip_prefix('/')?;
        let end = rest.find('/').unwrap_or(rest.len());
        let (head, tail) = rest.split_at(end);
        for placeholder in PROJECT_PLACEHOLDERS {
            if let Some((before, after)) = seg.split_once(placeholder) {
                return head
                    .strip_prefix(before)
                    .and_then(|h| h.strip_suffix(after));
            }
        }
        rest = tail;
    }
    None
}

fn segment_matches(template: &str, actual: &str) -> bool {
    for placeholder in PROJECT_PLACEHOLDERS {
        if let Some((before, after)) = template.split_once(placeholder) {
            // a project id (Keystone's are 32 hex digits), not any word: `/v3/types` is no
            // `/v3/{project_id}` path
            return actual.len() == before.len() + 32 + after.len()
                && actual.starts_with(before)
                && actual.ends_with(after)
                && actual[before.len()..actual.len() - after.len()]
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit());
        }
    }
    template == actual
}

/// The fixture with `no-project` shapes applied to the mount paths (the service is served
/// there), after checking that each shape fits its service type.
fn with_shapes_applied(fixture: &Fixture) -> Result<Fixture, Error> {
    let mut f = fixture.clone();
    for svc in &mut f.services {
        for shape in &svc.shape {
            let fits = match shape {
                Shape::Project => svc.service_type == "compute",
                Shape::Versioned => version_segment_for(&svc.service_type).is_some(),
                Shape::NoProject | Shape::Unversioned | Shape::Slash => true,
            };
            if !fits || svc.path.is_none() {
                return Err(Error::Invalid(format!(
                    "services: shape {shape:?} does not fit the {} service {:?} (it needs a \
                     `path`; project: compute only; versioned: image, network, key-manager)",
                    svc.service_type, svc.name
                )));
            }
        }
        if svc.shape.contains(&Shape::NoProject)
            && let Some(path) = &svc.path
        {
            let kept: Vec<&str> = path
                .split('/')
                .filter(|seg| !PROJECT_PLACEHOLDERS.iter().any(|p| seg.contains(p)))
                .collect();
            svc.path = Some(kept.join("/"));
        }
    }
    Ok(f)
}

/// The version segment a `versioned` shape adds.
fn version_segment_for(service_type: &str) -> Option<&'static str> {
    match service_type {
        "image" => Some("v2"),
        "network" => Some("v2.0"),
        "key-manager" => Some("v1"),
        _ => None,
    }
}

/// What the catalog shows for a service mounted at `path` (placeholders not yet substituted).
pub(crate) fn catalog_path(path: &str, service_type: &str, shape: &[Shape]) -> String {
    let mut out = path.trim_end_matches('/').to_owned();
    if shape.contains(&Shape::Unversioned) {
        let mut segs: Vec<&str> = out.split('/').collect();
        if let Some(i) = segs
            .iter()
            .rposition(|s| strip_version_segment(&format!("/{s}")).is_some())
        {
            segs.truncate(i);
        }
        out = segs.join("/");
    }
    if shape.contains(&Shape::Versioned)
        && let Some(seg) = version_segment_for(service_type)
    {
        out = format!("{out}/{seg}");
    }
    if shape.contains(&Shape::Project) {
        out.push_str("/{project_id}");
    }
    if shape.contains(&Shape::Slash) {
        out.push('/');
    }
    out
}

/// `/compute/v2.1` -> `/compute`: the parent of a trailing version segment, if any.
pub(crate) fn strip_version_segment(path: &str) -> Option<&str> {
    let (parent, last) = path.trim_end_matches('/').rsplit_once('/')?;
    let version = last.strip_prefix('v')?;
    let is_version = !version.is_empty()
        && version.split('.').count() <= 2
        && version
            .split('.')
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    is_version.then_some(parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_matching() {
        assert_eq!(
            match_prefix("/compute/v2.1", "/compute/v2.1/flavors"),
            Some("/flavors")
        );
        assert_eq!(match_prefix("/compute/v2.1", "/compute/v2.1"), Some(""));
        assert_eq!(match_prefix("/compute/v2.1", "/compute/v2.10"), None);
        assert_eq!(match_prefix("/compute/v2.1", "/compute"), None);
        // a placeholder matches a Keystone project id (32 hex digits), not any word
        let p = "0123456789abcdef0123456789abcdef";
        assert_eq!(
            match_prefix("/volume/v3/{project_id}", &format!("/volume/v3/{p}/types")),
            Some("/types")
        );
        assert_eq!(
            match_prefix("/volume/v3/{project_id}", "/volume/v3/types"),
            None
        );
        assert_eq!(
            match_prefix("/volume/v3/{project_id}", "/volume/v3/abc/types"),
            None
        );
        assert_eq!(match_prefix("/volume/v3/{project_id}", "/volume/v3/"), None);
        assert_eq!(
            match_prefix(
                "/swift/v1/AUTH_{project_id}",
                &format!("/swift/v1/AUTH_{p}/c")
            ),
            Some("/c")
        );
        assert_eq!(
            match_prefix("/swift/v1/AUTH_{project_id}", "/swift/v1/AUTH_"),
            None
        );
        assert_eq!(match_prefix("/", "/anything"), Some("/anything"));
        assert_eq!(
            path_project("/volume/v3/{project_id}", "/volume/v3/abc/types"),
            Some("abc")
        );
        assert_eq!(
            path_project("/swift/v1/AUTH_{project_id}", "/swift/v1/AUTH_12/c"),
            Some("12")
        );
        assert_eq!(path_project("/network", "/network/v2.0"), None);
    }

    #[test]
    fn substitution_and_version_stripping() {
        assert_eq!(
            substitute_project("http://h/v3/%(project_id)s/x/{project_id}", "p1"),
            "http://h/v3/p1/x/p1"
        );
        assert_eq!(strip_version_segment("/compute/v2.1"), Some("/compute"));
        assert_eq!(strip_version_segment("/compute/v2"), Some("/compute"));
        assert_eq!(strip_version_segment("/v2.1"), Some(""));
        assert_eq!(strip_version_segment("/compute/vx"), None);
        assert_eq!(strip_version_segment("/image"), None);
    }
}

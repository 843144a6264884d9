//! Neutron networks, subnets and routers for a short-lived test VM.
//!
//! Owns: creating, listing and deleting networks, subnets and routers
//! through the mediated `network` API (Neutron v2.0), attaching a router to
//! an external network and to a subnet, and finding the external networks.
//! Paths are relative to the catalog endpoint; `v2.0/` is added unless the
//! endpoint already ends in `/v2.0`.
//!
//! Must never: touch a resource the caller did not name by id (callers
//! filter by their own name prefix first), or hide an API error.

use crate::json::Field;
use crate::openstack::{ApiError, Method, NextStyle, Request, catalog, identity, list_all};
use crate::response;
use serde_json::{Value, json};

/// `v2.0/` unless the network endpoint this run uses already ends in `/v2.0`.
fn api_prefix() -> &'static str {
    let id = identity();
    let versioned = catalog()
        .iter()
        .filter(|s| s.type_ == "network")
        .flat_map(|s| s.endpoints.iter())
        .find(|e| e.interface == id.interface && (id.region.is_empty() || e.region == id.region))
        .is_some_and(|e| endpoint_is_versioned(&e.url));
    if versioned { "" } else { "v2.0/" }
}

/// Whether a Neutron endpoint URL already names the API version.
pub fn endpoint_is_versioned(url: &str) -> bool {
    url.trim_end_matches('/').ends_with("/v2.0")
}

fn path(rel: &str) -> String {
    format!("{}{rel}", api_prefix())
}

/// A Neutron network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// Id.
    pub id: String,
    /// Name (empty if none).
    pub name: String,
    /// `router:external`.
    pub external: bool,
}

/// A Neutron subnet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    /// Id.
    pub id: String,
    /// Name (empty if none).
    pub name: String,
    /// Its network.
    pub network_id: String,
}

/// A Neutron router.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Router {
    /// Id.
    pub id: String,
    /// Name (empty if none).
    pub name: String,
}

fn list(rel: &str, key: &str, query: &[(&str, &str)]) -> Result<(String, Vec<Value>), ApiError> {
    let mut req = Request::get("network", &path(rel));
    for (k, v) in query {
        req = req.query(k, v);
    }
    let what = req.describe();
    let items = list_all(req, key, NextStyle::Links)?;
    Ok((what, items))
}

/// Networks matching the Neutron filters in `query`.
pub fn list_networks(query: &[(&str, &str)]) -> Result<Vec<Network>, ApiError> {
    let (what, items) = list("networks", "networks", query)?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let f = Field::at(&what, format!("networks[{i}]"), v);
            Ok(Network {
                id: f.get("id").string()?,
                name: f.get("name").opt_string()?.unwrap_or_default(),
                external: f.get("router:external").opt_bool()?.unwrap_or(false),
            })
        })
        .collect()
}

/// The external networks (`router:external` true), in the order Neutron
/// lists them. The filter is sent to Neutron and applied again here.
pub fn external_networks() -> Result<Vec<Network>, ApiError> {
    Ok(list_networks(&[("router:external", "true")])?
        .into_iter()
        .filter(|n| n.external)
        .collect())
}

/// All subnets.
pub fn list_subnets() -> Result<Vec<Subnet>, ApiError> {
    let (what, items) = list("subnets", "subnets", &[])?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let f = Field::at(&what, format!("subnets[{i}]"), v);
            Ok(Subnet {
                id: f.get("id").string()?,
                name: f.get("name").opt_string()?.unwrap_or_default(),
                network_id: f.get("network_id").opt_string()?.unwrap_or_default(),
            })
        })
        .collect()
}

/// All routers.
pub fn list_routers() -> Result<Vec<Router>, ApiError> {
    let (what, items) = list("routers", "routers", &[])?;
    items
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let f = Field::at(&what, format!("routers[{i}]"), v);
            Ok(Router {
                id: f.get("id").string()?,
                name: f.get("name").opt_string()?.unwrap_or_default(),
            })
        })
        .collect()
}

fn create(rel: &str, key: &str, body: &Value) -> Result<String, ApiError> {
    let req = Request::new("network", Method::Post, &path(rel)).json(body);
    let resp = req.send_json()?;
    let what = req.describe();
    Ok(Field::root(&what, &resp).get(key).get("id").string()?)
}

/// Create a network (admin state up); returns its id.
pub fn create_network(name: &str) -> Result<String, ApiError> {
    create(
        "networks",
        "network",
        &json!({"network": {"name": name, "admin_state_up": true}}),
    )
}

/// An IPv4 subnet with DHCP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetSpec {
    /// Name.
    pub name: String,
    /// Network id.
    pub network_id: String,
    /// e.g. `10.1.0.0/24`.
    pub cidr: String,
    /// e.g. `10.1.0.1`.
    pub gateway_ip: String,
    /// DHCP pool (start, end).
    pub pool: (String, String),
    /// DNS servers.
    pub dns_nameservers: Vec<String>,
}

/// The `POST subnets` body for `spec`.
pub fn subnet_body(spec: &SubnetSpec) -> Value {
    json!({"subnet": {
        "name": spec.name,
        "network_id": spec.network_id,
        "ip_version": 4,
        "cidr": spec.cidr,
        "gateway_ip": spec.gateway_ip,
        "enable_dhcp": true,
        "allocation_pools": [{"start": spec.pool.0, "end": spec.pool.1}],
        "dns_nameservers": spec.dns_nameservers,
    }})
}

/// Create a subnet; returns its id.
pub fn create_subnet(spec: &SubnetSpec) -> Result<String, ApiError> {
    create("subnets", "subnet", &subnet_body(spec))
}

/// Create a router with its external gateway on `external_network_id`.
pub fn create_router(name: &str, external_network_id: &str) -> Result<String, ApiError> {
    create(
        "routers",
        "router",
        &json!({"router": {
            "name": name,
            "admin_state_up": true,
            "external_gateway_info": {"network_id": external_network_id},
        }}),
    )
}

fn router_interface(router_id: &str, subnet_id: &str, action: &str) -> Result<bool, ApiError> {
    let req = Request::new(
        "network",
        Method::Put,
        &path(&format!("routers/{router_id}/{action}")),
    )
    .json(&json!({"subnet_id": subnet_id}));
    let resp = req.send()?;
    if resp.status == 404 {
        return Ok(false);
    }
    response::ok(&req, resp)?;
    Ok(true)
}

/// Attach `subnet_id` to the router.
pub fn add_router_interface(router_id: &str, subnet_id: &str) -> Result<(), ApiError> {
    if router_interface(router_id, subnet_id, "add_router_interface")? {
        Ok(())
    } else {
        Err(ApiError::Status {
            what: format!("network PUT routers/{router_id}/add_router_interface"),
            status: 404,
            body: String::new(),
        })
    }
}

/// Detach `subnet_id` from the router; `Ok(false)` if Neutron says there is
/// no such router or interface (404).
pub fn remove_router_interface(router_id: &str, subnet_id: &str) -> Result<bool, ApiError> {
    router_interface(router_id, subnet_id, "remove_router_interface")
}

fn delete(rel: &str) -> Result<bool, ApiError> {
    let req = Request::new("network", Method::Delete, &path(rel));
    let resp = req.send()?;
    if resp.status == 404 {
        return Ok(false);
    }
    response::ok(&req, resp)?;
    Ok(true)
}

/// Delete a router; `Ok(false)` if it was already gone.
pub fn delete_router(id: &str) -> Result<bool, ApiError> {
    delete(&format!("routers/{id}"))
}

/// Delete a subnet; `Ok(false)` if it was already gone.
pub fn delete_subnet(id: &str) -> Result<bool, ApiError> {
    delete(&format!("subnets/{id}"))
}

/// Delete a network; `Ok(false)` if it was already gone.
pub fn delete_network(id: &str) -> Result<bool, ApiError> {
    delete(&format!("networks/{id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versioned_endpoints() {
        assert!(endpoint_is_versioned("https://n:9696/v2.0"));
        assert!(endpoint_is_versioned("https://n:9696/v2.0/"));
        assert!(!endpoint_is_versioned("https://n:9696"));
        assert!(!endpoint_is_versioned("http://h/network"));
    }

    #[test]
    fn subnet_request() {
        let b = subnet_body(&SubnetSpec {
            name: "_scs-0101-subnet".into(),
            network_id: "n".into(),
            cidr: "10.1.0.0/24".into(),
            gateway_ip: "10.1.0.1".into(),
            pool: ("10.1.0.100".into(), "10.1.0.199".into()),
            dns_nameservers: vec!["9.9.9.9".into()],
        });
        let s = &b["subnet"];
        assert_eq!(s["ip_version"], 4);
        assert_eq!(s["enable_dhcp"], true);
        assert_eq!(s["allocation_pools"][0]["end"], "10.1.0.199");
        assert_eq!(s["dns_nameservers"][0], "9.9.9.9");
    }
}

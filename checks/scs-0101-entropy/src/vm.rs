//! The test VM's life (docs/official-behaviour.md d.2 steps 3–6): network, subnet,
//! router, server booted from volume, console, and the cleanup that runs
//! whatever happened before it.
//!
//! Every resource this module creates is named with [`PREFIX`], so that a
//! run that was killed (the host's deadline traps the component; no code of
//! ours runs after that) leaves only resources that the next run's
//! [`remove_leftovers`] finds and deletes.

use crate::choose::choose_flavor;
use crate::console::{Collected, parse_console, read_console};
use crate::userdata::user_data;
use scs_check_sdk::compute::{self, BootFromVolume, ServerSpec};
use scs_check_sdk::lines::Lines;
use scs_check_sdk::network::topology::{self as netsetup, SubnetSpec};
use scs_check_sdk::openstack::{Flavor, Image};
use scs_check_sdk::wait::Clock;

/// The name prefix of everything this check creates.
pub const PREFIX: &str = "_scs-0101-";
/// Network name.
pub const NETWORK_NAME: &str = "_scs-0101-net";
/// Subnet name.
pub const SUBNET_NAME: &str = "_scs-0101-subnet";
/// Router name.
pub const ROUTER_NAME: &str = "_scs-0101-router";
/// Server name.
pub const SERVER_NAME: &str = "_scs-0101-server";

/// d.2 step 4: wait at most 500 s for ACTIVE.
pub const ACTIVE_TIMEOUT_MS: u64 = 500_000;
/// d.2 step 6: wait at most 300 s for the server to be deleted.
pub const DELETE_TIMEOUT_MS: u64 = 300_000;
/// Between two status polls of a server.
pub const POLL_INTERVAL_MS: u64 = 2_000;

/// The boot volume's size: `max(image.min_disk, 8)` GiB (d.2 step 4; the
/// official code notes that min_disk is often wrong). An image without
/// `min_disk` is an error, as Python cannot compare None with 8 (Glance
/// always sends it, so this is theory).
pub fn volume_size_gib(image: &Image) -> Result<u64, String> {
    image
        .min_disk
        .map(|d| d.max(8))
        .ok_or_else(|| format!("image '{}' has no min_disk", image.name))
}

/// What this run created, so that cleanup deletes exactly that.
#[derive(Debug, Default)]
struct Created {
    network: Option<String>,
    subnet: Option<String>,
    router: Option<String>,
    /// The server id, once Nova gave one.
    server: Option<String>,
    /// A server create was sent (its id may be unknown if the answer was lost).
    server_requested: bool,
}

/// Boot the test VM, read its console, clean up; the parsed console output,
/// or why not (→ ABORT of both testcases).
pub fn collect_vm_output(
    clock: &mut dyn Clock,
    image: &Image,
    flavors: &[Flavor],
    lines: &mut Lines,
) -> Result<Collected, String> {
    lines.debug(format!("Selected image: {} ({})", image.name, image.id));
    let flavor = choose_flavor(flavors, image, lines)?;
    let size = volume_size_gib(image)?;
    let userdata = user_data(image.prop("os_distro"));
    lines.emit();

    remove_leftovers(clock, lines);
    lines.emit();

    let mut created = Created::default();
    let outcome = prepare(&mut created, lines).and_then(|()| {
        // try/finally of the official code: the server goes first.
        let r = boot_and_read(clock, &mut created, image, flavor, size, &userdata, lines);
        lines.emit();
        delete_vm(clock, &mut created, lines);
        r
    });
    lines.emit();
    clean_network(&mut created, lines);
    lines.emit();
    outcome
}

/// d.2 step 3: network, subnet, router with external gateway, interface.
fn prepare(created: &mut Created, lines: &mut Lines) -> Result<(), String> {
    let network = netsetup::create_network(NETWORK_NAME).map_err(|e| e.to_string())?;
    created.network = Some(network.clone());
    let subnet = netsetup::create_subnet(&SubnetSpec {
        name: SUBNET_NAME.to_string(),
        network_id: network,
        cidr: "10.1.0.0/24".to_string(),
        gateway_ip: "10.1.0.1".to_string(),
        pool: ("10.1.0.100".to_string(), "10.1.0.199".to_string()),
        dns_nameservers: vec!["9.9.9.9".to_string()],
    })
    .map_err(|e| e.to_string())?;
    created.subnet = Some(subnet.clone());
    let external = netsetup::external_networks().map_err(|e| e.to_string())?;
    let Some(first) = external.first() else {
        return Err("No external network found!".to_string());
    };
    if external.len() > 1 {
        lines.debug(format!(
            "More than one external network found: {}",
            external
                .iter()
                .map(|n| n.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    lines.debug(format!("Using external network {}.", first.id));
    let router = netsetup::create_router(ROUTER_NAME, &first.id).map_err(|e| e.to_string())?;
    created.router = Some(router.clone());
    netsetup::add_router_interface(&router, &subnet).map_err(|e| e.to_string())?;
    Ok(())
}

/// d.2 steps 4 and 5: boot, wait for ACTIVE, poll the console, parse.
fn boot_and_read(
    clock: &mut dyn Clock,
    created: &mut Created,
    image: &Image,
    flavor: &Flavor,
    size: u64,
    userdata: &str,
    lines: &mut Lines,
) -> Result<Collected, String> {
    lines.debug(format!(
        "Creating instance of image '{}' using flavor '{}' and {size} GiB ephemeral boot volume",
        image.name, flavor.name
    ));
    lines.debug(format!("Using userdata:\n{userdata}"));
    lines.emit();
    let network = created.network.clone().unwrap_or_default();
    created.server_requested = true;
    let id = compute::create_server(&ServerSpec {
        name: SERVER_NAME.to_string(),
        flavor_id: flavor.id.clone(),
        boot: BootFromVolume {
            image_id: image.id.clone(),
            volume_size_gib: size,
            delete_on_termination: true,
        },
        network_ids: vec![network],
        user_data: Some(userdata.to_string()),
    })
    .map_err(|e| e.to_string())?;
    created.server = Some(id.clone());
    compute::wait_for_active(clock, &id, ACTIVE_TIMEOUT_MS, POLL_INTERVAL_MS)
        .map_err(|e| e.to_string())?;
    lines.debug(format!("Server '{SERVER_NAME}' ('{id}') has been created"));
    lines.emit();
    let console = read_console(clock, &id, || {
        compute::console_output(&id).map_err(|e| e.to_string())
    })?;
    Ok(parse_console(&console))
}

/// Delete the server (by id; by name if the create's answer was lost) and
/// wait for it to go. Failures are logged, never raised (as officially).
fn delete_vm(clock: &mut dyn Clock, created: &mut Created, lines: &mut Lines) {
    let ids: Vec<String> = match (&created.server, created.server_requested) {
        (Some(id), _) => vec![id.clone()],
        (None, true) => match compute::list_servers() {
            Ok(all) => all
                .into_iter()
                .filter(|s| s.name == SERVER_NAME)
                .map(|s| s.id)
                .collect(),
            Err(e) => {
                lines.warning(format!(
                    "could not look for server '{SERVER_NAME}' to delete it: {e}"
                ));
                Vec::new()
            }
        },
        (None, false) => Vec::new(),
    };
    for id in ids {
        delete_server_and_wait(clock, &id, lines);
    }
    created.server = None;
}

fn delete_server_and_wait(clock: &mut dyn Clock, id: &str, lines: &mut Lines) {
    lines.debug(format!("Deleting server '{id}'"));
    match compute::delete_server(id) {
        Ok(_) => {
            if let Err(e) = compute::wait_for_gone(clock, id, DELETE_TIMEOUT_MS, POLL_INTERVAL_MS) {
                lines.warning(format!("The server '{id}' couldn't be deleted: {e}"));
            }
        }
        Err(e) => lines.warning(format!("The server '{id}' couldn't be deleted: {e}")),
    }
}

/// d.2 step 6: router interface, router, subnet, network; each failure is
/// logged and the next step still runs.
fn clean_network(created: &mut Created, lines: &mut Lines) {
    if let Some(router) = created.router.take() {
        if let Some(subnet) = &created.subnet
            && let Err(e) = netsetup::remove_router_interface(&router, subnet)
        {
            lines.warning(format!("Router interface couldn't be deleted: {e}"));
        }
        if let Err(e) = netsetup::delete_router(&router) {
            lines.warning(format!("The router {router} couldn't be deleted: {e}"));
        }
    }
    if let Some(subnet) = created.subnet.take()
        && let Err(e) = netsetup::delete_subnet(&subnet)
    {
        lines.warning(format!("The subnet {subnet} couldn't be deleted: {e}"));
    }
    if let Some(network) = created.network.take()
        && let Err(e) = netsetup::delete_network(&network)
    {
        lines.warning(format!("The network {network} couldn't be deleted: {e}"));
    }
}

/// Delete whatever an earlier, interrupted run left behind: servers,
/// routers (with their interfaces to our subnets), subnets and networks
/// whose names start with [`PREFIX`]. Best effort: problems are WARNINGs,
/// the run goes on.
pub fn remove_leftovers(clock: &mut dyn Clock, lines: &mut Lines) {
    match compute::list_servers() {
        Ok(servers) => {
            for s in servers.iter().filter(|s| s.name.starts_with(PREFIX)) {
                lines.info(format!(
                    "removing leftover server '{}' ({}) of an earlier run",
                    s.name, s.id
                ));
                delete_server_and_wait(clock, &s.id, lines);
            }
        }
        Err(e) => lines.warning(format!("could not list servers to remove leftovers: {e}")),
    }
    let subnets = match netsetup::list_subnets() {
        Ok(all) => all
            .into_iter()
            .filter(|s| s.name.starts_with(PREFIX))
            .collect(),
        Err(e) => {
            lines.warning(format!("could not list subnets to remove leftovers: {e}"));
            Vec::new()
        }
    };
    match netsetup::list_routers() {
        Ok(routers) => {
            for r in routers.iter().filter(|r| r.name.starts_with(PREFIX)) {
                lines.info(format!(
                    "removing leftover router '{}' ({}) of an earlier run",
                    r.name, r.id
                ));
                for s in &subnets {
                    // 404 (not attached) is fine; anything else is worth a line
                    if let Err(e) = netsetup::remove_router_interface(&r.id, &s.id) {
                        lines.debug(format!(
                            "router {}: interface to subnet {} not removed: {e}",
                            r.id, s.id
                        ));
                    }
                }
                if let Err(e) = netsetup::delete_router(&r.id) {
                    lines.warning(format!("leftover router {} couldn't be deleted: {e}", r.id));
                }
            }
        }
        Err(e) => lines.warning(format!("could not list routers to remove leftovers: {e}")),
    }
    for s in &subnets {
        lines.info(format!(
            "removing leftover subnet '{}' ({}) of an earlier run",
            s.name, s.id
        ));
        if let Err(e) = netsetup::delete_subnet(&s.id) {
            lines.warning(format!("leftover subnet {} couldn't be deleted: {e}", s.id));
        }
    }
    match netsetup::list_networks(&[]) {
        Ok(networks) => {
            for n in networks.iter().filter(|n| n.name.starts_with(PREFIX)) {
                lines.info(format!(
                    "removing leftover network '{}' ({}) of an earlier run",
                    n.name, n.id
                ));
                if let Err(e) = netsetup::delete_network(&n.id) {
                    lines.warning(format!(
                        "leftover network {} couldn't be deleted: {e}",
                        n.id
                    ));
                }
            }
        }
        Err(e) => lines.warning(format!("could not list networks to remove leftovers: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boot_volume_size() {
        let mut image = Image {
            id: "i".into(),
            name: "n".into(),
            visibility: "public".into(),
            hidden: false,
            min_disk: Some(0),
            min_ram: Some(0),
            size: None,
            created_at: None,
            properties: Default::default(),
        };
        assert_eq!(volume_size_gib(&image), Ok(8));
        image.min_disk = Some(20);
        assert_eq!(volume_size_gib(&image), Ok(20));
        image.min_disk = None;
        assert!(volume_size_gib(&image).is_err());
    }

    #[test]
    fn names_carry_the_prefix() {
        for n in [NETWORK_NAME, SUBNET_NAME, ROUTER_NAME, SERVER_NAME] {
            assert!(n.starts_with(PREFIX), "{n}");
        }
    }
}

//! The mutable cloud: servers, keypairs, networks, subnets, ports, routers, security groups,
//! volumes, backups and secrets, kept in memory behind one mutex in `Shared`.
//!
//! Status transitions are lazy: every record remembers how often it was polled (GETs that
//! returned it) and when its current phase began. [`State::tick`] runs at the start of every
//! locked operation and moves records whose phase is over (`BUILD` -> `ACTIVE`, `creating` ->
//! `available`, `deleting` -> gone, with the cascades of a real cloud). A handler first ticks,
//! then renders, then counts the poll, so with `N` configured polls the first `N` GETs show
//! the old status and GET `N + 1` the new one.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::fixture::Fixture;
use crate::ids;
use crate::net::{Cidr, mac_address};
use crate::world::World;

/// The project that owns the fixture's shared resources (external network).
pub(crate) const ADMIN_PROJECT: &str = "admin";

/// Polls and time since the start of a phase.
#[derive(Debug, Clone)]
pub(crate) struct Phase {
    polls: u32,
    since: Instant,
}

impl Phase {
    pub fn new() -> Phase {
        Phase {
            polls: 0,
            since: Instant::now(),
        }
    }

    /// At least `polls` polls and `ms` milliseconds are behind us.
    pub fn reached(&self, polls: u32, ms: u64) -> bool {
        self.polls >= polls && self.since.elapsed() >= Duration::from_millis(ms)
    }

    pub fn poll(&mut self) {
        self.polls = self.polls.saturating_add(1);
    }
}

/// Creation order and times of a record.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub seq: u64,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl Meta {
    pub fn touch(&mut self) {
        self.updated = Utc::now();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ServerState {
    Build,
    Active,
    Error,
}

#[derive(Debug, Clone)]
pub(crate) struct AttachedVolume {
    pub volume_id: String,
    pub delete_on_termination: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Server {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub user_id: String,
    pub flavor_id: String,
    /// Image of an image-backed server (empty for boot from volume).
    pub image_id: Option<String>,
    pub key_name: Option<String>,
    pub user_data: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub description: Option<String>,
    pub security_groups: Vec<String>,
    pub ports: Vec<String>,
    pub volumes: Vec<AttachedVolume>,
    pub state: ServerState,
    /// The build fails with this fault (e.g. Cinder refused the boot volume over quota):
    /// the server ends in `ERROR` whatever `compute.server_error` says, and Nova's cleanup
    /// deletes its ports.
    pub build_fault: Option<String>,
    pub build: Phase,
    /// Polls (GETs and console requests) since the server became ACTIVE.
    pub active_polls: u32,
    pub deleting: Option<Phase>,
    pub launched_at: Option<DateTime<Utc>>,
    pub meta: Meta,
}

impl Server {
    /// Count one GET (or console request) of this server.
    pub fn poll(&mut self) {
        if let Some(d) = &mut self.deleting {
            d.poll();
        } else {
            match self.state {
                ServerState::Build => self.build.poll(),
                ServerState::Active => self.active_polls = self.active_polls.saturating_add(1),
                ServerState::Error => {}
            }
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Keypair {
    pub user_id: String,
    pub name: String,
    pub public_key: String,
    pub fingerprint: String,
    pub kind: String,
    pub meta: Meta,
}

#[derive(Debug, Clone)]
pub(crate) struct Network {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub external: bool,
    pub shared: bool,
    pub admin_state_up: bool,
    pub mtu: u32,
    pub description: String,
    /// Created from the fixture, not through the API.
    pub builtin: bool,
    pub meta: Meta,
}

#[derive(Debug, Clone)]
pub(crate) struct Subnet {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub project_id: String,
    pub cidr: Cidr,
    pub gateway: Option<IpAddr>,
    pub pools: Vec<(IpAddr, IpAddr)>,
    pub dns: Vec<String>,
    pub enable_dhcp: bool,
    pub description: String,
    pub builtin: bool,
    pub meta: Meta,
}

#[derive(Debug, Clone)]
pub(crate) struct Port {
    pub id: String,
    pub name: String,
    pub network_id: String,
    pub project_id: String,
    pub mac: String,
    pub fixed_ips: Vec<(String, IpAddr)>,
    pub device_id: String,
    pub device_owner: String,
    pub security_groups: Vec<String>,
    pub meta: Meta,
}

#[derive(Debug, Clone)]
pub(crate) struct Gateway {
    pub network_id: String,
    pub enable_snat: bool,
    pub fixed_ips: Vec<(String, IpAddr)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Router {
    pub id: String,
    pub name: String,
    pub project_id: String,
    pub gateway: Option<Gateway>,
    pub admin_state_up: bool,
    pub description: String,
    pub meta: Meta,
}

#[derive(Debug, Clone)]
pub(crate) struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub project_id: String,
    pub is_default: bool,
    pub stateful: bool,
    pub meta: Meta,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RuleSpec {
    pub direction: String,
    pub ethertype: String,
    pub protocol: Option<String>,
    pub port_min: Option<u32>,
    pub port_max: Option<u32>,
    pub remote_ip_prefix: Option<String>,
    pub remote_group_id: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct SgRule {
    pub id: String,
    pub group_id: String,
    pub project_id: String,
    pub spec: RuleSpec,
    pub description: String,
    pub meta: Meta,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VolumeState {
    Creating,
    RestoringBackup,
    Available,
}

#[derive(Debug, Clone)]
pub(crate) struct Attachment {
    pub id: String,
    pub server_id: String,
    pub device: String,
    pub attached_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub(crate) struct Volume {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub project_id: String,
    pub user_id: String,
    pub size: u64,
    pub type_name: String,
    pub type_id: String,
    pub state: VolumeState,
    pub phase: Phase,
    pub bootable: bool,
    pub image_id: Option<String>,
    pub attachments: Vec<Attachment>,
    pub restored_from: Option<String>,
    pub metadata: BTreeMap<String, String>,
    pub deleting: Option<Phase>,
    pub meta: Meta,
}

impl Volume {
    pub fn poll(&mut self) {
        match &mut self.deleting {
            Some(d) => d.poll(),
            None => self.phase.poll(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BackupState {
    Creating,
    Available,
    Error,
}

#[derive(Debug, Clone)]
pub(crate) struct Backup {
    pub id: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub project_id: String,
    pub user_id: String,
    pub volume_id: String,
    pub size: u64,
    pub container: Option<String>,
    pub incremental: bool,
    pub state: BackupState,
    pub phase: Phase,
    pub fail_reason: Option<String>,
    pub deleting: Option<Phase>,
    pub meta: Meta,
}

impl Backup {
    pub fn poll(&mut self) {
        match &mut self.deleting {
            Some(d) => d.poll(),
            None => self.phase.poll(),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Secret {
    pub id: String,
    pub name: Option<String>,
    pub project_id: String,
    pub user_id: String,
    pub payload: Option<Vec<u8>>,
    pub content_type: Option<String>,
    pub secret_type: String,
    pub algorithm: Option<String>,
    pub bit_length: Option<u64>,
    pub mode: Option<String>,
    pub expiration: Option<String>,
    pub meta: Meta,
}

#[derive(Debug, Default)]
pub(crate) struct State {
    seq: u64,
    pub servers: BTreeMap<String, Server>,
    pub keypairs: Vec<Keypair>,
    pub networks: BTreeMap<String, Network>,
    pub subnets: BTreeMap<String, Subnet>,
    pub ports: BTreeMap<String, Port>,
    pub routers: BTreeMap<String, Router>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
    pub rules: BTreeMap<String, SgRule>,
    pub volumes: BTreeMap<String, Volume>,
    pub backups: BTreeMap<String, Backup>,
    pub secrets: BTreeMap<String, Secret>,
    /// Projects whose `default` security group exists.
    default_groups: BTreeSet<String>,
}

/// A fresh random UUID.
pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

impl State {
    /// The initial state: the fixture's external network and its subnet.
    pub fn new(world: &World) -> State {
        let mut state = State::default();
        if let Some(ext) = &world.external {
            let meta = state.meta();
            state.networks.insert(
                ext.network_id.clone(),
                Network {
                    id: ext.network_id.clone(),
                    name: ext.name.clone(),
                    project_id: ids::project_id(ADMIN_PROJECT),
                    external: true,
                    shared: false,
                    admin_state_up: true,
                    mtu: 1500,
                    description: String::new(),
                    builtin: true,
                    meta,
                },
            );
            let meta = state.meta();
            let pool = ext.cidr.nth(2).zip(ext.cidr.last_host());
            state.subnets.insert(
                ext.subnet_id.clone(),
                Subnet {
                    id: ext.subnet_id.clone(),
                    name: format!("{}-subnet", ext.name),
                    network_id: ext.network_id.clone(),
                    project_id: ids::project_id(ADMIN_PROJECT),
                    cidr: ext.cidr,
                    gateway: ext.cidr.first_host(),
                    pools: pool.into_iter().collect(),
                    dns: Vec::new(),
                    enable_dhcp: false,
                    description: String::new(),
                    builtin: true,
                    meta,
                },
            );
        }
        state
    }

    /// Creation bookkeeping for a new record.
    pub fn meta(&mut self) -> Meta {
        self.seq += 1;
        let now = Utc::now();
        Meta {
            seq: self.seq,
            created: now,
            updated: now,
        }
    }

    /// Apply every due status transition.
    pub fn tick(&mut self, fixture: &Fixture) {
        let c = &fixture.compute;
        let mut gone_servers = Vec::new();
        let mut freed_ports = Vec::new();
        for server in self.servers.values_mut() {
            if server.state == ServerState::Build
                && server
                    .build
                    .reached(c.server_build_polls, c.server_build_ms)
            {
                server.state = if server.build_fault.is_some() {
                    freed_ports.append(&mut server.ports);
                    ServerState::Error
                } else if c.server_error {
                    ServerState::Error
                } else {
                    server.launched_at = Some(Utc::now());
                    ServerState::Active
                };
                server.meta.touch();
            }
            if server
                .deleting
                .as_ref()
                .is_some_and(|d| d.reached(c.server_delete_polls, c.server_delete_ms))
            {
                gone_servers.push(server.id.clone());
            }
        }
        for id in freed_ports {
            self.ports.remove(&id);
        }
        for id in gone_servers {
            self.remove_server(&id);
        }
        let v = &fixture.volume;
        let mut gone_volumes = Vec::new();
        for volume in self.volumes.values_mut() {
            let due = match volume.state {
                VolumeState::Creating => volume.phase.reached(v.create_polls, 0),
                VolumeState::RestoringBackup => volume.phase.reached(v.restore_polls, 0),
                VolumeState::Available => false,
            };
            if due {
                volume.state = VolumeState::Available;
                volume.phase = Phase::new();
                volume.meta.touch();
            }
            if volume
                .deleting
                .as_ref()
                .is_some_and(|d| d.reached(v.delete_polls, 0))
            {
                gone_volumes.push(volume.id.clone());
            }
        }
        for id in gone_volumes {
            self.volumes.remove(&id);
        }
        let mut gone_backups = Vec::new();
        for backup in self.backups.values_mut() {
            if backup.state == BackupState::Creating
                && backup.phase.reached(v.backup_create_polls, 0)
            {
                if v.backup_service {
                    backup.state = BackupState::Available;
                } else {
                    backup.state = BackupState::Error;
                    backup.fail_reason = Some("Service not found for creating backup.".into());
                }
                backup.phase = Phase::new();
                backup.meta.touch();
            }
            if backup
                .deleting
                .as_ref()
                .is_some_and(|d| d.reached(v.backup_delete_polls, 0))
            {
                gone_backups.push(backup.id.clone());
            }
        }
        for id in gone_backups {
            self.backups.remove(&id);
        }
    }

    /// A server's deletion is complete: free its ports and volumes as Nova does.
    fn remove_server(&mut self, id: &str) {
        let Some(server) = self.servers.remove(id) else {
            return;
        };
        for port in &server.ports {
            self.ports.remove(port);
        }
        for attached in &server.volumes {
            if attached.delete_on_termination {
                self.volumes.remove(&attached.volume_id);
            } else if let Some(volume) = self.volumes.get_mut(&attached.volume_id) {
                volume.attachments.retain(|a| a.server_id != id);
                volume.meta.touch();
            }
        }
    }

    // ------------------------------------------------------------ Cinder status

    /// The status Cinder shows for a volume.
    pub fn volume_status(&self, volume: &Volume) -> &'static str {
        if volume.deleting.is_some() {
            return "deleting";
        }
        match volume.state {
            VolumeState::Creating => "creating",
            VolumeState::RestoringBackup => "restoring-backup",
            VolumeState::Available if !volume.attachments.is_empty() => "in-use",
            VolumeState::Available
                if self.backups.values().any(|b| {
                    b.volume_id == volume.id
                        && b.state == BackupState::Creating
                        && b.deleting.is_none()
                }) =>
            {
                "backing-up"
            }
            VolumeState::Available => "available",
        }
    }

    /// The status Cinder shows for a backup.
    pub fn backup_status(&self, backup: &Backup) -> &'static str {
        if backup.deleting.is_some() {
            return "deleting";
        }
        match backup.state {
            BackupState::Creating => "creating",
            BackupState::Error => "error",
            BackupState::Available
                if self.volumes.values().any(|v| {
                    v.restored_from.as_deref() == Some(backup.id.as_str())
                        && v.state == VolumeState::RestoringBackup
                }) =>
            {
                "restoring"
            }
            BackupState::Available => "available",
        }
    }

    // ------------------------------------------------------------ Neutron helpers

    /// Networks a project sees: its own, external and shared ones.
    pub fn network_visible(net: &Network, project: &str) -> bool {
        net.project_id == project || net.external || net.shared
    }

    /// Subnets a project sees: its own, and those of shared networks.
    pub fn subnet_visible(&self, subnet: &Subnet, project: &str) -> bool {
        subnet.project_id == project
            || self
                .networks
                .get(&subnet.network_id)
                .is_some_and(|n| n.shared)
    }

    /// Create the project's `default` security group on first contact, as Neutron does.
    pub fn ensure_default_group(&mut self, world: &World, project: &str) {
        if !self.default_groups.insert(project.to_owned()) {
            return;
        }
        self.create_group(world, project, "default", "Default security group", true);
    }

    /// Create a security group with the rules of the default-rule templates.
    pub fn create_group(
        &mut self,
        world: &World,
        project: &str,
        name: &str,
        description: &str,
        is_default: bool,
    ) -> String {
        let id = new_id();
        let meta = self.meta();
        self.security_groups.insert(
            id.clone(),
            SecurityGroup {
                id: id.clone(),
                name: name.to_owned(),
                description: description.to_owned(),
                project_id: project.to_owned(),
                is_default,
                stateful: true,
                meta,
            },
        );
        for template in &world.default_rules {
            let t = &template.rule;
            let used = if is_default {
                t.used_in_default_sg
            } else {
                t.used_in_non_default_sg
            };
            if !used {
                continue;
            }
            let spec = RuleSpec {
                direction: t.direction.clone(),
                ethertype: t.ethertype.clone(),
                protocol: t.protocol.clone(),
                port_min: t.port_range_min,
                port_max: t.port_range_max,
                remote_ip_prefix: t.remote_ip_prefix.clone(),
                remote_group_id: t.remote_group_id.as_ref().map(|_| id.clone()),
            };
            let meta = self.meta();
            let rule_id = new_id();
            self.rules.insert(
                rule_id.clone(),
                SgRule {
                    id: rule_id,
                    group_id: id.clone(),
                    project_id: project.to_owned(),
                    spec,
                    description: String::new(),
                    meta,
                },
            );
        }
        id
    }

    /// A free address of the subnet's allocation pools.
    pub fn allocate_ip(&self, subnet: &Subnet) -> Option<IpAddr> {
        let used: BTreeSet<IpAddr> = self
            .ports
            .values()
            .flat_map(|p| p.fixed_ips.iter())
            .filter(|(s, _)| s == &subnet.id)
            .map(|(_, ip)| *ip)
            .chain(self.routers.values().flat_map(|r| {
                r.gateway
                    .iter()
                    .flat_map(|g| g.fixed_ips.iter().map(|(_, ip)| *ip))
            }))
            .collect();
        for (start, end) in &subnet.pools {
            let first = cidr_offset(subnet.cidr, *start)?;
            let mut offset = 0u128;
            while let Some(ip) = subnet.cidr.nth(first + offset) {
                if !used.contains(&ip) && Some(ip) != subnet.gateway {
                    return Some(ip);
                }
                if ip == *end {
                    break;
                }
                offset += 1;
            }
        }
        None
    }

    /// Create a port with one address on the network's first subnet (if any).
    pub fn create_port(
        &mut self,
        network_id: &str,
        project: &str,
        device_id: &str,
        device_owner: &str,
        security_groups: Vec<String>,
        ip: Option<(String, IpAddr)>,
    ) -> String {
        let fixed = match ip {
            Some(pair) => vec![pair],
            None => {
                let subnet = self
                    .subnets
                    .values()
                    .filter(|s| s.network_id == network_id)
                    .min_by_key(|s| s.meta.seq)
                    .cloned();
                subnet
                    .and_then(|s| self.allocate_ip(&s).map(|ip| (s.id.clone(), ip)))
                    .into_iter()
                    .collect()
            }
        };
        let meta = self.meta();
        let id = new_id();
        self.ports.insert(
            id.clone(),
            Port {
                id: id.clone(),
                name: String::new(),
                network_id: network_id.to_owned(),
                project_id: project.to_owned(),
                mac: mac_address(meta.seq),
                fixed_ips: fixed,
                device_id: device_id.to_owned(),
                device_owner: device_owner.to_owned(),
                security_groups,
                meta,
            },
        );
        id
    }

    // ------------------------------------------------------------ observability

    /// Everything created through the APIs that still exists.
    pub fn resources(&self) -> crate::Resources {
        use crate::ResourceInfo;
        let info = |id: &str, name: &str, project: &str, status: &str| ResourceInfo {
            id: id.to_owned(),
            name: name.to_owned(),
            project_id: project.to_owned(),
            status: status.to_owned(),
        };
        let mut out = crate::Resources::default();
        let mut servers: Vec<&Server> = self.servers.values().collect();
        servers.sort_by_key(|s| s.meta.seq);
        out.servers = servers
            .iter()
            .map(|s| {
                let status = if s.deleting.is_some() {
                    "DELETING"
                } else {
                    match s.state {
                        ServerState::Build => "BUILD",
                        ServerState::Active => "ACTIVE",
                        ServerState::Error => "ERROR",
                    }
                };
                info(&s.id, &s.name, &s.project_id, status)
            })
            .collect();
        let mut volumes: Vec<&Volume> = self.volumes.values().collect();
        volumes.sort_by_key(|v| v.meta.seq);
        out.volumes = volumes
            .iter()
            .map(|v| {
                info(
                    &v.id,
                    v.name.as_deref().unwrap_or(""),
                    &v.project_id,
                    self.volume_status(v),
                )
            })
            .collect();
        let mut backups: Vec<&Backup> = self.backups.values().collect();
        backups.sort_by_key(|b| b.meta.seq);
        out.backups = backups
            .iter()
            .map(|b| {
                info(
                    &b.id,
                    b.name.as_deref().unwrap_or(""),
                    &b.project_id,
                    self.backup_status(b),
                )
            })
            .collect();
        let by_seq = |a: &Meta, b: &Meta| a.seq.cmp(&b.seq);
        let mut networks: Vec<&Network> = self.networks.values().filter(|n| !n.builtin).collect();
        networks.sort_by(|a, b| by_seq(&a.meta, &b.meta));
        out.networks = networks
            .iter()
            .map(|n| info(&n.id, &n.name, &n.project_id, "ACTIVE"))
            .collect();
        let mut subnets: Vec<&Subnet> = self.subnets.values().filter(|s| !s.builtin).collect();
        subnets.sort_by(|a, b| by_seq(&a.meta, &b.meta));
        out.subnets = subnets
            .iter()
            .map(|s| info(&s.id, &s.name, &s.project_id, ""))
            .collect();
        let mut routers: Vec<&Router> = self.routers.values().collect();
        routers.sort_by(|a, b| by_seq(&a.meta, &b.meta));
        out.routers = routers
            .iter()
            .map(|r| info(&r.id, &r.name, &r.project_id, "ACTIVE"))
            .collect();
        let mut groups: Vec<&SecurityGroup> = self
            .security_groups
            .values()
            .filter(|g| !g.is_default)
            .collect();
        groups.sort_by(|a, b| by_seq(&a.meta, &b.meta));
        out.security_groups = groups
            .iter()
            .map(|g| info(&g.id, &g.name, &g.project_id, ""))
            .collect();
        out.keypairs = self
            .keypairs
            .iter()
            .map(|k| info(&k.name, &k.name, &k.user_id, ""))
            .collect();
        let mut secrets: Vec<&Secret> = self.secrets.values().collect();
        secrets.sort_by(|a, b| by_seq(&a.meta, &b.meta));
        out.secrets = secrets
            .iter()
            .map(|s| {
                info(
                    &s.id,
                    s.name.as_deref().unwrap_or(""),
                    &s.project_id,
                    "ACTIVE",
                )
            })
            .collect();
        out
    }
}

/// Offset of `ip` inside `cidr`.
fn cidr_offset(cidr: Cidr, ip: IpAddr) -> Option<u128> {
    let value = match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    };
    let base = match cidr.network {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    };
    value.checked_sub(base)
}

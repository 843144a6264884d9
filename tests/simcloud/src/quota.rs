//! Quotas: what a project uses (counted from the simulated state), the limits bodies of Nova
//! (`GET <compute>/limits`), Cinder (`GET <volume>/limits`) and Neutron
//! (`GET /v2.0/quotas/{project_id}[/details]`), and the over-quota answers of the three
//! services, with their status codes, bodies and messages (Nova 33, Cinder 29, Neutron 29).
//!
//! The limits are the fixture's `quota` block ([`crate::fixture::QuotaOptions`]), the same for
//! every project. Usage is counted, as Nova's and Cinder's DB quota drivers and Neutron's
//! counting quota engine do, from what exists: a resource whose deletion is still in progress
//! counts, a deleted one is freed. There are no reservations (`reserved` is always 0).
//!
//! This module only reads the state and builds answers; it never changes a resource. The API
//! handlers call it under the state lock, before they create anything, so a refused create
//! leaves the cloud as it was.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use crate::fixture::QuotaOptions;
use crate::http::{json_response, with_header};
use crate::state::State;
use crate::world::World;

/// What one project uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    pub instances: u64,
    pub cores: u64,
    pub ram: u64,
    pub volumes: u64,
    pub gigabytes: u64,
    pub backups: u64,
    pub backup_gigabytes: u64,
    pub networks: u64,
    pub subnets: u64,
    pub routers: u64,
    pub ports: u64,
    pub security_groups: u64,
    pub security_group_rules: u64,
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// Count what `project` holds. Servers count with their flavor's vCPUs and RAM (Nova), volumes
/// with their size (Cinder's `gigabytes`), backups with their size (`backup_gigabytes`).
pub(crate) fn usage(state: &State, world: &World, project: &str) -> Usage {
    let mut u = Usage::default();
    for s in state.servers.values().filter(|s| s.project_id == project) {
        u.instances += 1;
        if let Some(f) = world.flavors.iter().find(|f| f.flavor.id == s.flavor_id) {
            u.cores += u64::from(f.flavor.vcpus);
            u.ram += f.flavor.ram;
        }
    }
    for v in state.volumes.values().filter(|v| v.project_id == project) {
        u.volumes += 1;
        u.gigabytes += v.size;
    }
    for b in state.backups.values().filter(|b| b.project_id == project) {
        u.backups += 1;
        u.backup_gigabytes += b.size;
    }
    u.networks = count(
        state
            .networks
            .values()
            .filter(|n| n.project_id == project)
            .count(),
    );
    u.subnets = count(
        state
            .subnets
            .values()
            .filter(|s| s.project_id == project)
            .count(),
    );
    u.routers = count(
        state
            .routers
            .values()
            .filter(|r| r.project_id == project)
            .count(),
    );
    u.ports = count(
        state
            .ports
            .values()
            .filter(|p| p.project_id == project)
            .count(),
    );
    u.security_groups = count(
        state
            .security_groups
            .values()
            .filter(|g| g.project_id == project)
            .count(),
    );
    u.security_group_rules = count(
        state
            .rules
            .values()
            .filter(|r| r.project_id == project)
            .count(),
    );
    u
}

/// `used + delta` exceeds `limit` (-1 is unlimited), as the quota drivers compare.
pub(crate) fn exceeds(limit: i64, used: u64, delta: u64) -> bool {
    limit >= 0 && i128::from(used) + i128::from(delta) > i128::from(limit)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

// ------------------------------------------------------------------ Nova

/// Nova's defaults of the limits the fixture does not set (`[quota]` options).
const NOVA_KEY_PAIRS: i64 = 100;
const NOVA_METADATA_ITEMS: i64 = 128;
const NOVA_INJECTED_FILES: i64 = 5;
const NOVA_INJECTED_FILE_CONTENT_BYTES: i64 = 10240;
const NOVA_SERVER_GROUPS: i64 = 10;
const NOVA_SERVER_GROUP_MEMBERS: i64 = 10;

/// The body of Nova's `GET /limits` at `version`: the network proxy limits (-1, used 0) up to
/// 2.35, `maxImageMeta` up to 2.38, the personality limits up to 2.56.
pub(crate) fn nova_limits(q: &QuotaOptions, u: &Usage, version: (u32, u32)) -> Value {
    let mut absolute = json!({
        "maxTotalInstances": q.instances,
        "maxTotalCores": q.cores,
        "maxTotalRAMSize": q.ram,
        "maxTotalKeypairs": NOVA_KEY_PAIRS,
        "maxServerMeta": NOVA_METADATA_ITEMS,
        "maxServerGroups": NOVA_SERVER_GROUPS,
        "maxServerGroupMembers": NOVA_SERVER_GROUP_MEMBERS,
        "totalInstancesUsed": u.instances,
        "totalCoresUsed": u.cores,
        "totalRAMUsed": u.ram,
        "totalServerGroupsUsed": 0,
    });
    if let Value::Object(o) = &mut absolute {
        if version < (2, 36) {
            o.insert("maxTotalFloatingIps".into(), json!(-1));
            o.insert("maxSecurityGroups".into(), json!(-1));
            o.insert("maxSecurityGroupRules".into(), json!(-1));
            o.insert("totalFloatingIpsUsed".into(), json!(0));
            o.insert("totalSecurityGroupsUsed".into(), json!(0));
        }
        if version < (2, 39) {
            o.insert("maxImageMeta".into(), json!(NOVA_METADATA_ITEMS));
        }
        if version < (2, 57) {
            o.insert("maxPersonality".into(), json!(NOVA_INJECTED_FILES));
            o.insert(
                "maxPersonalitySize".into(),
                json!(NOVA_INJECTED_FILE_CONTENT_BYTES),
            );
        }
    }
    json!({"limits": {"rate": [], "absolute": absolute}})
}

/// Nova's quota check of one new server (`check_num_instances_quota`): the message of
/// `TooManyInstances` (answered with 403), naming every exceeded resource in sorted order.
pub(crate) fn nova_server_check(
    q: &QuotaOptions,
    u: &Usage,
    vcpus: u64,
    ram: u64,
) -> Result<(), String> {
    let checks = [
        ("cores", q.cores, u.cores, vcpus),
        ("instances", q.instances, u.instances, 1),
        ("ram", q.ram, u.ram, ram),
    ];
    let overs: Vec<_> = checks
        .iter()
        .filter(|(_, limit, used, delta)| exceeds(*limit, *used, *delta))
        .collect();
    if overs.is_empty() {
        return Ok(());
    }
    let join = |part: fn(&(&str, i64, u64, u64)) -> String| {
        overs.iter().map(|o| part(o)).collect::<Vec<_>>().join(", ")
    };
    let names = join(|o| o.0.to_owned());
    Err(format!(
        "Quota exceeded for {names}: Requested {}, but already used {} of {} {names}",
        join(|o| o.3.to_string()),
        join(|o| o.2.to_string()),
        join(|o| o.1.to_string()),
    ))
}

/// Nova's check of the ports a new server needs (`validate_networks`): the message of
/// `PortLimitExceeded` (403).
pub(crate) fn nova_ports_check(q: &QuotaOptions, u: &Usage, needed: u64) -> Result<(), String> {
    if needed > 0 && exceeds(q.ports, u.ports, needed) {
        return Err("Maximum number of ports exceeded".to_owned());
    }
    Ok(())
}

// ------------------------------------------------------------------ Cinder

/// The body of Cinder's `GET /limits` (snapshots: simcloud has none).
pub(crate) fn cinder_limits(q: &QuotaOptions, u: &Usage) -> Value {
    json!({"limits": {"rate": [], "absolute": {
        "maxTotalVolumes": q.volumes,
        "maxTotalSnapshots": q.snapshots,
        "maxTotalVolumeGigabytes": q.gigabytes,
        "maxTotalBackups": q.backups,
        "maxTotalBackupGigabytes": q.backup_gigabytes,
        "totalVolumesUsed": u.volumes,
        "totalGigabytesUsed": u.gigabytes,
        "totalSnapshotsUsed": 0,
        "totalBackupsUsed": u.backups,
        "totalBackupGigabytesUsed": u.backup_gigabytes,
    }}})
}

/// A Cinder quota error: the exception class and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CinderOver {
    pub class: &'static str,
    pub message: String,
}

impl CinderOver {
    /// The answer of Cinder's fault middleware: 413 `overLimit` with the class name before the
    /// message, `retryAfter: "0"` and `Retry-After: 0`.
    pub fn response(&self) -> Response {
        over_limit(&format!("{}: {}", self.class, self.message))
    }

    /// The answer of the restore API, which catches the error itself: the message alone.
    pub fn restore_response(&self) -> Response {
        over_limit(&self.message)
    }

    /// The text nova-compute puts into a server's fault when Cinder refuses its boot volume
    /// (cinderclient's `OverLimit` message: the body's message).
    pub fn nova_fault(&self, server_id: &str) -> String {
        format!(
            "Build of instance {server_id} aborted: {}: {}",
            self.class, self.message
        )
    }
}

fn over_limit(message: &str) -> Response {
    let resp = json_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        &json!({"overLimit": {"code": 413, "message": message, "retryAfter": "0"}}),
    );
    with_header(resp, "retry-after", "0")
}

/// Cinder's reservation of a new volume of `size` GiB (`{volumes: 1, gigabytes: size}`):
/// the exceeded resources in sorted order, the first one decides the error
/// (`process_reserve_over_quota`), so `gigabytes` wins over `volumes`.
pub(crate) fn cinder_volume_check(
    q: &QuotaOptions,
    u: &Usage,
    size: u64,
) -> Result<(), CinderOver> {
    if exceeds(q.gigabytes, u.gigabytes, size) {
        return Err(CinderOver {
            class: "VolumeSizeExceedsAvailableQuota",
            message: format!(
                "Requested volume or snapshot exceeds allowed gigabytes quota. Requested {size}G, \
                 quota is {}G and {}G has been consumed.",
                q.gigabytes, u.gigabytes
            ),
        });
    }
    if exceeds(q.volumes, u.volumes, 1) {
        return Err(CinderOver {
            class: "VolumeLimitExceeded",
            message: format!(
                "Maximum number of volumes allowed ({}) exceeded for quota 'volumes'.",
                q.volumes
            ),
        });
    }
    Ok(())
}

/// Cinder's reservation of a new backup of a `size` GiB volume
/// (`{backups: 1, backup_gigabytes: size}`; `backup_gigabytes` sorts first).
pub(crate) fn cinder_backup_check(
    q: &QuotaOptions,
    u: &Usage,
    size: u64,
) -> Result<(), CinderOver> {
    if exceeds(q.backup_gigabytes, u.backup_gigabytes, size) {
        return Err(CinderOver {
            class: "VolumeBackupSizeExceedsAvailableQuota",
            message: format!(
                "Requested backup exceeds allowed Backup gigabytes quota. Requested {size}G, \
                 quota is {}G and {}G has been consumed.",
                q.backup_gigabytes, u.backup_gigabytes
            ),
        });
    }
    if exceeds(q.backups, u.backups, 1) {
        return Err(CinderOver {
            class: "BackupLimitExceeded",
            message: format!("Maximum number of backups allowed ({}) exceeded", q.backups),
        });
    }
    Ok(())
}

// ------------------------------------------------------------------ Neutron

/// Neutron's quota resources in the order Neutron 29 (ML2, its default extensions) lists them:
/// (name, limit, used). `subnetpool`, `router_route`, `rbac_policy` and `floatingip` are not
/// modelled beyond their limit (used 0); their limits are Neutron's defaults except
/// `floatingip`, which the fixture sets.
fn neutron_resources(q: &QuotaOptions, u: &Usage) -> [(&'static str, i64, u64); 10] {
    [
        ("network", q.networks, u.networks),
        ("subnet", q.subnets, u.subnets),
        ("subnetpool", -1, 0),
        ("port", q.ports, u.ports),
        ("router_route", 30, 0),
        ("router", q.routers, u.routers),
        ("floatingip", q.floatingips, 0),
        ("rbac_policy", 10, 0),
        ("security_group", q.security_groups, u.security_groups),
        (
            "security_group_rule",
            q.security_group_rules,
            u.security_group_rules,
        ),
    ]
}

/// `GET /v2.0/quotas/{project_id}`: `{"quota": {resource: limit}}`.
pub(crate) fn neutron_quota(q: &QuotaOptions, u: &Usage) -> Value {
    let mut quota = serde_json::Map::new();
    for (name, limit, _) in neutron_resources(q, u) {
        quota.insert(name.into(), json!(limit));
    }
    json!({ "quota": quota })
}

/// `GET /v2.0/quotas/{project_id}/details`: `{"quota": {resource: {limit, used, reserved}}}`.
pub(crate) fn neutron_quota_details(q: &QuotaOptions, u: &Usage) -> Value {
    let mut quota = serde_json::Map::new();
    for (name, limit, used) in neutron_resources(q, u) {
        quota.insert(
            name.into(),
            json!({"limit": limit, "used": signed(used), "reserved": 0}),
        );
    }
    json!({ "quota": quota })
}

/// Neutron's check before creating one `resource` (`network`, `subnet`, `router`, `port`,
/// `security_group`, `security_group_rule`): the message of `OverQuota` (409).
pub(crate) fn neutron_check(q: &QuotaOptions, u: &Usage, resource: &str) -> Result<(), String> {
    let over = neutron_resources(q, u)
        .iter()
        .any(|(name, limit, used)| *name == resource && exceeds(*limit, *used, 1));
    if over {
        return Err(format!("Quota exceeded for resources: ['{resource}']."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> QuotaOptions {
        QuotaOptions {
            instances: 1,
            cores: 4,
            ram: 8192,
            volumes: 1,
            gigabytes: 10,
            backups: 1,
            backup_gigabytes: 5,
            ..QuotaOptions::default()
        }
    }

    #[test]
    fn unlimited_never_exceeds_and_the_limit_itself_is_allowed() {
        assert!(!exceeds(-1, u64::MAX, u64::MAX));
        assert!(!exceeds(10, 9, 1));
        assert!(exceeds(10, 10, 1));
        assert!(exceeds(0, 0, 1));
        assert!(!exceeds(0, 0, 0));
    }

    #[test]
    fn nova_names_every_exceeded_resource_in_sorted_order_like_nova() {
        let q = QuotaOptions {
            instances: 0,
            cores: 1,
            ram: 10,
            ..QuotaOptions::default()
        };
        // the message the real Nova 33 API gave for flavor SCS-2V-8 on this quota
        assert_eq!(
            nova_server_check(&q, &Usage::default(), 2, 8192),
            Err(
                "Quota exceeded for cores, instances, ram: Requested 2, 1, 8192, but already \
                 used 0, 0, 0 of 1, 0, 10 cores, instances, ram"
                    .to_owned()
            )
        );
        let used = Usage {
            instances: 1,
            cores: 1,
            ram: 4096,
            ..Usage::default()
        };
        assert_eq!(
            nova_server_check(&small(), &used, 1, 4096),
            Err(
                "Quota exceeded for instances: Requested 1, but already used 1 of 1 instances"
                    .to_owned()
            )
        );
        assert_eq!(
            nova_server_check(&small(), &Usage::default(), 4, 8192),
            Ok(())
        );
    }

    #[test]
    fn cinder_gigabytes_decide_before_volumes() {
        let used = Usage {
            volumes: 1,
            gigabytes: 8,
            ..Usage::default()
        };
        let over = cinder_volume_check(&small(), &used, 3).expect_err("over");
        assert_eq!(over.class, "VolumeSizeExceedsAvailableQuota");
        assert_eq!(
            over.message,
            "Requested volume or snapshot exceeds allowed gigabytes quota. Requested 3G, quota \
             is 10G and 8G has been consumed."
        );
        let over = cinder_volume_check(&small(), &used, 1).expect_err("over");
        assert_eq!(
            over.message,
            "Maximum number of volumes allowed (1) exceeded for quota 'volumes'."
        );
        assert!(cinder_volume_check(&small(), &Usage::default(), 10).is_ok());
        let over = cinder_backup_check(&small(), &Usage::default(), 6).expect_err("over");
        assert_eq!(over.class, "VolumeBackupSizeExceedsAvailableQuota");
        let used = Usage {
            backups: 1,
            ..Usage::default()
        };
        let over = cinder_backup_check(&small(), &used, 1).expect_err("over");
        assert_eq!(
            format!("{}: {}", over.class, over.message),
            "BackupLimitExceeded: Maximum number of backups allowed (1) exceeded"
        );
    }

    #[test]
    fn nova_limits_drop_keys_by_microversion() {
        let q = QuotaOptions::default();
        let u = Usage::default();
        let keys = |v| -> Vec<String> {
            nova_limits(&q, &u, v)["limits"]["absolute"]
                .as_object()
                .map(|o| o.keys().cloned().collect())
                .unwrap_or_default()
        };
        assert_eq!(keys((2, 1)).len(), 19);
        assert_eq!(keys((2, 36)).len(), 14);
        assert_eq!(keys((2, 39)).len(), 13);
        assert_eq!(keys((2, 96)).len(), 11);
        assert!(!keys((2, 96)).contains(&"maxPersonality".to_owned()));
    }
}

//! The optional per-service sections of a fixture (`compute`, `network`, `volume`,
//! `key_manager`, `object_store`) and fault injection (`faults`), with their defaults.
//!
//! Every section and every key is optional; a fixture without them gets the defaults below,
//! which describe a cloud that passes the SCS IaaS checks. Re-exported from [`crate::fixture`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

fn yes() -> bool {
    true
}
fn one() -> u32 {
    1
}
fn two() -> u32 {
    2
}

/// Nova servers, their console and keypairs (`compute:`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ComputeOptions {
    /// GETs of a new server that still show `BUILD` (default 2: the third GET shows `ACTIVE`).
    #[serde(default = "two")]
    pub server_build_polls: u32,
    /// Highest microversion Nova offers, e.g. "2.53" for an older cloud (default: 2.96, as
    /// Nova 33); requests for more get 406, as from Nova.
    #[serde(default)]
    pub max_microversion: Option<String>,
    /// Milliseconds a new server stays in `BUILD` at least (default 0).
    #[serde(default)]
    pub server_build_ms: u64,
    /// GETs after `DELETE` that still show the server, with task_state `deleting` (default 0).
    #[serde(default)]
    pub server_delete_polls: u32,
    /// Milliseconds a deleted server stays visible at least (default 0).
    #[serde(default)]
    pub server_delete_ms: u64,
    /// Servers end in `ERROR` instead of `ACTIVE` (default false).
    #[serde(default)]
    pub server_error: bool,
    /// The `fault.message` of a server in `ERROR`.
    #[serde(default = "default_server_fault")]
    pub server_fault: String,
    /// GETs or console requests of an `ACTIVE` server before the console shows the test output
    /// (default 2); before that it shows the boot log only.
    #[serde(default = "two")]
    pub console_delay_polls: u32,
    /// Payload of the `_scs-test-entropy-avail` console line (default "256"); null leaves the
    /// section out.
    #[serde(default = "default_entropy")]
    pub entropy_avail: Option<String>,
    /// `FIPS 140-2 failures` reported by rngtest (default 2); null prints
    /// `rngtest: not found` instead of the rngtest report.
    #[serde(default = "default_fips_failures")]
    pub fips_failures: Option<u32>,
    /// The whole console text once the test output is there, replacing the built-in one.
    /// Placeholders: `{server_id}`, `{server_name}`, `{entropy_avail}`, `{fips_failures}`,
    /// `{fips_successes}`.
    #[serde(default)]
    pub console_output: Option<String>,
}

fn default_server_fault() -> String {
    "No valid host was found. There are not enough hosts available.".to_owned()
}
fn default_entropy() -> Option<String> {
    Some("256".to_owned())
}
fn default_fips_failures() -> Option<u32> {
    Some(2)
}

impl Default for ComputeOptions {
    fn default() -> Self {
        ComputeOptions {
            server_build_polls: two(),
            max_microversion: None,
            server_build_ms: 0,
            server_delete_polls: 0,
            server_delete_ms: 0,
            server_error: false,
            server_fault: default_server_fault(),
            console_delay_polls: two(),
            entropy_avail: default_entropy(),
            fips_failures: default_fips_failures(),
            console_output: None,
        }
    }
}

/// Neutron (`network:`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkOptions {
    /// An external network (`router:external: true`, owned by project `admin`) exists.
    #[serde(default = "yes")]
    pub external: bool,
    /// Its name (default `public`).
    #[serde(default = "default_external_name")]
    pub external_network_name: String,
    /// The CIDR of its subnet (default `203.0.113.0/24`).
    #[serde(default = "default_external_cidr")]
    pub external_cidr: String,
    /// `/v2.0/default-security-group-rules` exists (Neutron >= 2023.2); false answers 404 as
    /// an older Neutron does.
    #[serde(default = "yes")]
    pub default_rules_api: bool,
    /// The default security-group rule templates (default: Neutron's four). New security
    /// groups get the templates with `used_in_non_default_sg`, a project's `default` group
    /// the ones with `used_in_default_sg`; both also when `default_rules_api` is false.
    #[serde(default = "neutron_default_rules")]
    pub default_security_group_rules: Vec<DefaultRule>,
}

fn default_external_name() -> String {
    "public".to_owned()
}
fn default_external_cidr() -> String {
    "203.0.113.0/24".to_owned()
}

impl Default for NetworkOptions {
    fn default() -> Self {
        NetworkOptions {
            external: true,
            external_network_name: default_external_name(),
            external_cidr: default_external_cidr(),
            default_rules_api: true,
            default_security_group_rules: neutron_default_rules(),
        }
    }
}

/// One default security-group rule template.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultRule {
    /// `ingress` or `egress`.
    pub direction: String,
    /// `IPv4` (default) or `IPv6`.
    #[serde(default = "default_ethertype")]
    pub ethertype: String,
    /// Protocol name or number, null for any.
    #[serde(default)]
    pub protocol: Option<String>,
    /// Lowest port.
    #[serde(default)]
    pub port_range_min: Option<u32>,
    /// Highest port.
    #[serde(default)]
    pub port_range_max: Option<u32>,
    /// Remote CIDR.
    #[serde(default)]
    pub remote_ip_prefix: Option<String>,
    /// Remote group; `PARENT` means the group the rule is created in.
    #[serde(default)]
    pub remote_group_id: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// Used for a project's `default` group (default true).
    #[serde(default = "yes")]
    pub used_in_default_sg: bool,
    /// Used for every other new group (default true).
    #[serde(default = "yes")]
    pub used_in_non_default_sg: bool,
}

fn default_ethertype() -> String {
    "IPv4".to_owned()
}

/// Neutron's built-in templates (migration c33da356b165): ingress from the same group for the
/// `default` group only, egress everywhere, for IPv4 and IPv6. They pass scs-0115.
pub fn neutron_default_rules() -> Vec<DefaultRule> {
    let rule = |direction: &str, ethertype: &str| DefaultRule {
        direction: direction.to_owned(),
        ethertype: ethertype.to_owned(),
        protocol: None,
        port_range_min: None,
        port_range_max: None,
        remote_ip_prefix: None,
        remote_group_id: (direction == "ingress").then(|| "PARENT".to_owned()),
        description: format!("Legacy default SG rule for {direction} traffic"),
        used_in_default_sg: true,
        used_in_non_default_sg: direction == "egress",
    };
    vec![
        rule("ingress", "IPv4"),
        rule("ingress", "IPv6"),
        rule("egress", "IPv4"),
        rule("egress", "IPv6"),
    ]
}

/// Cinder (`volume:`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeOptions {
    /// Volume types (default: only `__DEFAULT__`).
    #[serde(default = "default_volume_types")]
    pub types: Vec<VolumeType>,
    /// Type of volumes created without one (default: the first type).
    #[serde(default)]
    pub default_type: Option<String>,
    /// GETs of a new volume that still show `creating` (default 1).
    #[serde(default = "one")]
    pub create_polls: u32,
    /// GETs of a deleted volume that still show `deleting` (default 0).
    #[serde(default)]
    pub delete_polls: u32,
    /// cinder-backup runs (default true). Without it, new backups end in `error` and a member
    /// cannot delete them (404 "Service cinder-backup could not be found.").
    #[serde(default = "yes")]
    pub backup_service: bool,
    /// GETs of a new backup that still show `creating` (default 2).
    #[serde(default = "two")]
    pub backup_create_polls: u32,
    /// GETs of a deleted backup that still show `deleting` (default 0).
    #[serde(default)]
    pub backup_delete_polls: u32,
    /// GETs of a volume restored from a backup that still show `restoring-backup` (default 1).
    #[serde(default = "one")]
    pub restore_polls: u32,
}

/// A Cinder volume type.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VolumeType {
    /// Name.
    pub name: String,
    /// Description (scs-0114 reads `[scs:...]` at its start).
    #[serde(default)]
    pub description: Option<String>,
    /// Private types are not listed for members.
    #[serde(default = "yes")]
    pub is_public: bool,
    /// UUID; default derived from the name.
    #[serde(default)]
    pub id: Option<String>,
    /// Extra specs (shown as Cinder shows them to members: not at all; kept for completeness).
    #[serde(default)]
    pub extra_specs: BTreeMap<String, String>,
}

/// Cinder's always-present type.
pub fn default_volume_types() -> Vec<VolumeType> {
    vec![VolumeType {
        name: "__DEFAULT__".to_owned(),
        description: Some("Default Volume Type".to_owned()),
        is_public: true,
        id: None,
        extra_specs: BTreeMap::new(),
    }]
}

impl Default for VolumeOptions {
    fn default() -> Self {
        VolumeOptions {
            types: default_volume_types(),
            default_type: None,
            create_polls: one(),
            delete_polls: 0,
            backup_service: true,
            backup_create_polls: two(),
            backup_delete_polls: 0,
            restore_polls: one(),
        }
    }
}

/// Barbican (`key_manager:`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeyManagerOptions {
    /// Secret creation answers 403 unless the token has role `creator` or `admin` (the legacy
    /// Barbican policy); default false (members may create secrets).
    #[serde(default)]
    pub forbid_member: bool,
}

/// The S3 answer to a ListBuckets at the host root.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum S3Error {
    /// 403, the answer to an unknown access key (scs-0123-swift-s3 PASS).
    #[default]
    InvalidAccessKeyId,
    /// 403 (scs-0123-swift-s3 FAIL).
    AccessDenied,
    /// 403 (FAIL).
    SignatureDoesNotMatch,
    /// 404 (PASS: the official check accepts it).
    NoSuchKey,
    /// 200 with an empty bucket list (ABORT: no error at all).
    #[serde(rename = "none")]
    None,
}

/// The object store's S3 face (`object_store:`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectStoreOptions {
    /// Answer of a SigV4-signed request to `/` (default `InvalidAccessKeyId`).
    #[serde(default)]
    pub s3_error: S3Error,
}

/// Fault injection (`faults:`); `faults: {}` injects nothing.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Every response is delayed by this many milliseconds (not `/_sim/...`).
    #[serde(default)]
    pub latency_ms: u64,
    /// Requests answered with an error status instead of being served.
    #[serde(default)]
    pub errors: Vec<ErrorFault>,
    /// Requests answered with a redirect instead of being served (first matching rule).
    #[serde(default)]
    pub redirects: Vec<RedirectFault>,
    /// Path prefixes whose JSON responses are cut in half (invalid JSON).
    #[serde(default)]
    pub malformed_json: Vec<String>,
    /// Responses under a path prefix are streamed slowly.
    #[serde(default)]
    pub slow_body: Option<SlowBody>,
    /// Lifetime of new tokens in seconds (default: Keystone's 24 h).
    #[serde(default)]
    pub token_ttl_secs: Option<u64>,
    /// A token is refused (401) after it has been presented this many times.
    #[serde(default)]
    pub expire_tokens_after_requests: Option<u32>,
}

impl Faults {
    /// True if no fault is configured.
    pub fn is_empty(&self) -> bool {
        self == &Faults::default()
    }
}

/// An injected error response.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorFault {
    /// HTTP method to match (any if absent).
    #[serde(default)]
    pub method: Option<String>,
    /// Regex searched in the path (exactly one of `path_regex` and `path_prefix`).
    #[serde(default)]
    pub path_regex: Option<String>,
    /// Path prefix.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// Status to answer (default 500).
    #[serde(default = "default_error_status")]
    pub status: u16,
    /// How many matching requests fail (default: all).
    #[serde(default)]
    pub count: Option<u32>,
}

fn default_error_status() -> u16 {
    500
}

/// A redirect: a request whose path starts with `from` is answered with `status` and
/// `Location: <to><rest of the path>[?query]` (a proxy that moved an API, or sends http to
/// https).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RedirectFault {
    /// Path prefix to redirect.
    pub from: String,
    /// What replaces the prefix: a path on this simcloud, or an absolute URL.
    pub to: String,
    /// 301, 302, 303, 307 or 308 (default 307).
    #[serde(default = "default_redirect_status")]
    pub status: u16,
    /// How many matching requests are redirected (default: all).
    #[serde(default)]
    pub count: Option<u32>,
}

fn default_redirect_status() -> u16 {
    307
}

/// Slow streaming of response bodies.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SlowBody {
    /// Path prefix of the slow responses.
    pub path_prefix: String,
    /// Body bytes per second (at least 1).
    pub bytes_per_sec: u64,
}

/// The limits of every project of the fixture (`quota:`), as Nova, Cinder and Neutron keep
/// them. An absent key is the default of Nova 33, Cinder 29 and Neutron 29; `-1` is unlimited.
/// Read by the limits APIs (`GET <compute>/limits`, `GET <volume>/limits`,
/// `GET /v2.0/quotas/{project_id}[/details]`) and enforced on create (see `crate::quota`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaOptions {
    /// Nova `instances` (default 10).
    #[serde(default = "quota_10")]
    pub instances: i64,
    /// Nova `cores`: the vCPUs of the project's servers (default 20).
    #[serde(default = "quota_cores")]
    pub cores: i64,
    /// Nova `ram` in MiB (default 51200).
    #[serde(default = "quota_ram")]
    pub ram: i64,
    /// Cinder `volumes` (default 10).
    #[serde(default = "quota_10")]
    pub volumes: i64,
    /// Cinder `snapshots` (default 10; simcloud has no snapshots, so only reported).
    #[serde(default = "quota_10")]
    pub snapshots: i64,
    /// Cinder `gigabytes`: the sizes of the project's volumes (default 1000).
    #[serde(default = "quota_1000")]
    pub gigabytes: i64,
    /// Cinder `backups` (default 10).
    #[serde(default = "quota_10")]
    pub backups: i64,
    /// Cinder `backup_gigabytes` (default 1000).
    #[serde(default = "quota_1000")]
    pub backup_gigabytes: i64,
    /// Neutron `network` (default 100).
    #[serde(default = "quota_100")]
    pub networks: i64,
    /// Neutron `subnet` (default 100).
    #[serde(default = "quota_100")]
    pub subnets: i64,
    /// Neutron `router` (default 10).
    #[serde(default = "quota_10")]
    pub routers: i64,
    /// Neutron `port` (default 500).
    #[serde(default = "quota_ports")]
    pub ports: i64,
    /// Neutron `security_group`, the `default` group included (default 10).
    #[serde(default = "quota_10")]
    pub security_groups: i64,
    /// Neutron `security_group_rule`, the rules of the default templates included (default 100).
    #[serde(default = "quota_100")]
    pub security_group_rules: i64,
    /// Neutron `floatingip` (default 50; simcloud has no floating IPs, so only reported).
    #[serde(default = "quota_floatingips")]
    pub floatingips: i64,
}

fn quota_10() -> i64 {
    10
}
fn quota_100() -> i64 {
    100
}
fn quota_1000() -> i64 {
    1000
}
fn quota_cores() -> i64 {
    20
}
fn quota_ram() -> i64 {
    51200
}
fn quota_ports() -> i64 {
    500
}
fn quota_floatingips() -> i64 {
    50
}

impl Default for QuotaOptions {
    fn default() -> Self {
        QuotaOptions {
            instances: quota_10(),
            cores: quota_cores(),
            ram: quota_ram(),
            volumes: quota_10(),
            snapshots: quota_10(),
            gigabytes: quota_1000(),
            backups: quota_10(),
            backup_gigabytes: quota_1000(),
            networks: quota_100(),
            subnets: quota_100(),
            routers: quota_10(),
            ports: quota_ports(),
            security_groups: quota_10(),
            security_group_rules: quota_100(),
            floatingips: quota_floatingips(),
        }
    }
}

impl QuotaOptions {
    /// Every limit by its fixture key, in the order above.
    pub fn entries(&self) -> [(&'static str, i64); 15] {
        [
            ("instances", self.instances),
            ("cores", self.cores),
            ("ram", self.ram),
            ("volumes", self.volumes),
            ("snapshots", self.snapshots),
            ("gigabytes", self.gigabytes),
            ("backups", self.backups),
            ("backup_gigabytes", self.backup_gigabytes),
            ("networks", self.networks),
            ("subnets", self.subnets),
            ("routers", self.routers),
            ("ports", self.ports),
            ("security_groups", self.security_groups),
            ("security_group_rules", self.security_group_rules),
            ("floatingips", self.floatingips),
        ]
    }
}

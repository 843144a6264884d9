//! The fixture file: its serde model, loading and validation.
//!
//! The format is documented at the crate root. [`Fixture`] is plain data with public fields, so
//! tests may load a fixture and change it before starting a server; [`crate::SimCloud::start`]
//! validates again.
//!
//! # `extends`: a fixture as another fixture plus changes
//!
//! A fixture file may start with `extends: FILE` (a path relative to the fixture file) and
//! then give only what differs from that base. [`Fixture::load`] merges the two YAML trees
//! before reading the result like any other fixture, so unknown keys and inconsistencies are
//! still rejected. The rules (the real-tier seeder, `tests/realcloud/realcloud.py`, applies
//! the same ones):
//!
//! * Mappings merge key by key, recursively; a key the base lacks is added at the end.
//! * A list whose items all (in the base and in the change) are mappings with an `id` merges
//!   item by item by `id`; failing that, by `name`. A changed item replaces the base item of
//!   the same id/name whole, in its place; new items are appended in order; an item that is
//!   exactly `{id: X, remove: true}` (or `{name: X, remove: true}`) deletes X. Removing an
//!   item the base lacks, or naming an item twice, is an error.
//! * Every other value replaces the base value: scalars, `null` (which keeps its meaning, e.g.
//!   `compute.fips_failures: null`), lists without ids/names, and empty lists (`[]` empties).
//! * The base may itself extend another file, at most [`MAX_EXTENDS`] in a row; a cycle is an
//!   error naming the file. Scalars keep their written form (`22.10` stays `"22.10"` in a
//!   free-form map). [`Fixture::from_yaml`] has no file to be relative to and rejects
//!   `extends`.
//!
//! # `expect`: the verdicts the fixture promises
//!
//! `expect` ([`Expect`]) is data for the tests, not for serving: the exit code and the verdicts
//! of `scs-cert run` over the whole SCS-compatible IaaS scope (its main testcases).
//! `tests/integration/e2e.rs` runs every fixture in `tests/simcloud/fixtures/` and compares.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Error;
pub use crate::extends::MAX_EXTENDS;
pub use crate::options::{
    ComputeOptions, DefaultRule, ErrorFault, Faults, KeyManagerOptions, NetworkOptions,
    ObjectStoreOptions, QuotaOptions, S3Error, SlowBody, VolumeOptions, VolumeType,
    default_volume_types, neutron_default_rules,
};

/// A whole fixture file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    /// Default region of every catalog endpoint.
    #[serde(default = "default_region")]
    pub region: String,
    /// Password users (domain Default).
    #[serde(default)]
    pub users: Vec<User>,
    /// Application credentials of those users.
    #[serde(default)]
    pub application_credentials: Vec<AppCredential>,
    /// The service catalog.
    #[serde(default)]
    pub services: Vec<Service>,
    /// Nova flavors.
    #[serde(default)]
    pub flavors: Vec<Flavor>,
    /// Glance images.
    #[serde(default)]
    pub images: Vec<Image>,
    /// Deterministic filler content for pagination and scale tests.
    #[serde(default)]
    pub generate: Generate,
    /// Nova servers, console output and keypairs.
    #[serde(default)]
    pub compute: ComputeOptions,
    /// Neutron: external network, default security-group rules.
    #[serde(default)]
    pub network: NetworkOptions,
    /// Cinder: volume types, status timing, backup service.
    #[serde(default)]
    pub volume: VolumeOptions,
    /// Barbican policy.
    #[serde(default)]
    pub key_manager: KeyManagerOptions,
    /// The S3 answer at the host root.
    #[serde(default)]
    pub object_store: ObjectStoreOptions,
    /// The limits of every project (absent keys: the OpenStack defaults; -1 unlimited).
    #[serde(default)]
    pub quota: QuotaOptions,
    /// Fault injection; `{}` (the default) injects nothing.
    #[serde(default)]
    pub faults: Faults,
    /// What `scs-cert` reports for this cloud (read by the tests; simcloud ignores it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
}

/// The outcome of `scs-cert run` over the whole SCS-compatible IaaS scope (main testcases of
/// the versions in force) against a fixture.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Exit code.
    pub exit: i32,
    /// Verdict of every main testcase not in `verdicts` (default PASS).
    #[serde(default)]
    pub others: Verdict,
    /// Testcase id -> verdict, for the testcases whose verdict is not `others`.
    #[serde(default)]
    pub verdicts: BTreeMap<String, Verdict>,
}

/// A testcase verdict as the reports spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
pub enum Verdict {
    /// Result 1.
    #[default]
    #[serde(rename = "PASS")]
    Pass,
    /// Result -1.
    #[serde(rename = "FAIL")]
    Fail,
    /// Result 0.
    #[serde(rename = "ABORT")]
    Abort,
}

impl Verdict {
    /// The value in a report's `results` (1, -1, 0).
    pub fn result(self) -> i64 {
        match self {
            Verdict::Pass => 1,
            Verdict::Fail => -1,
            Verdict::Abort => 0,
        }
    }

    /// The report spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Abort => "ABORT",
        }
    }
}

/// A password user with roles on exactly one project.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// User name (domain Default).
    pub name: String,
    /// Password.
    pub password: String,
    /// Project name (domain Default); the user's default and only project.
    pub project: String,
    /// Role names on that project.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// An application credential acting as a user on that user's project.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AppCredential {
    /// Credential id (used for `application_credential.id` auth).
    pub id: String,
    /// Credential name; defaults to the id.
    #[serde(default)]
    pub name: Option<String>,
    /// Secret.
    pub secret: String,
    /// Name of the owning user.
    pub user: String,
    /// Role names; default: the user's roles. Must be a subset of them.
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    /// `restricted` in the token is `!unrestricted`.
    #[serde(default)]
    pub unrestricted: bool,
}

impl AppCredential {
    /// The name, defaulting to the id.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

/// One catalog service with its endpoints.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Catalog type (`compute`, `image`, `volumev3`, ...).
    #[serde(rename = "type")]
    pub service_type: String,
    /// Service name (`nova`, ...).
    pub name: String,
    /// Path on this simcloud (the base URL is prepended).
    #[serde(default)]
    pub path: Option<String>,
    /// Absolute URL instead of `path`.
    #[serde(default)]
    pub url: Option<String>,
    /// Endpoint interfaces.
    #[serde(default = "default_interfaces")]
    pub interfaces: Vec<String>,
    /// Region of the endpoints; default: the fixture region.
    #[serde(default)]
    pub region: Option<String>,
    /// Disabled services are left out of the catalog.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// How the catalog URL differs from `path`, as real clouds register endpoints (default:
    /// none, the catalog shows `path`). The API stays served where `path` says, and at the
    /// shapes' URLs too.
    #[serde(default)]
    pub shape: Vec<Shape>,
}

/// One way a catalog URL can look (applied in this order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Shape {
    /// Without the `{project_id}` segment (`/volume/v3`, as the current install guides
    /// register Cinder); the service is mounted there too and takes the project from the token.
    NoProject,
    /// The service root without the version segment (`/compute` instead of `/compute/v2.1`):
    /// the version document is there.
    Unversioned,
    /// With the version segment where `path` has none (`/image/v2`, `/network/v2.0`,
    /// `/key-manager/v1`).
    Versioned,
    /// With `/{project_id}` after the version (`/compute/v2.1/{project_id}`, legacy Nova).
    Project,
    /// With a trailing slash.
    Slash,
}

/// A Nova flavor.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Flavor {
    /// Flavor id (`flavorid`); lists are sorted by it as a string.
    pub id: String,
    /// Flavor name.
    pub name: String,
    /// Number of vCPUs.
    pub vcpus: u32,
    /// RAM in MiB.
    pub ram: u64,
    /// Root disk in GB.
    #[serde(default)]
    pub disk: u64,
    /// Swap in MiB.
    #[serde(default)]
    pub swap: u64,
    /// Ephemeral disk in GB.
    #[serde(default)]
    pub ephemeral: u64,
    /// Extra specs.
    #[serde(default)]
    pub extra_specs: BTreeMap<String, String>,
    /// Public flavor.
    #[serde(default = "default_true")]
    pub is_public: bool,
    /// Flavor access (project names) of a private flavor.
    #[serde(default)]
    pub projects: Vec<String>,
    /// Description (microversion 2.55+).
    #[serde(default)]
    pub description: Option<String>,
    /// Disabled flavors are not listed for non-admin users.
    #[serde(default)]
    pub disabled: bool,
}

/// Glance image visibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    /// Everyone sees it.
    #[default]
    Public,
    /// Listed only with `visibility=community` (or for the owner), usable by everyone.
    Community,
    /// Only the owner.
    Private,
    /// The owner and the members.
    Shared,
}

impl Visibility {
    /// The Glance spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Community => "community",
            Visibility::Private => "private",
            Visibility::Shared => "shared",
        }
    }
}

/// Status of an image member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    /// Listed by default.
    Accepted,
    /// Listed only with `member_status=pending|all`.
    Pending,
    /// Listed only with `member_status=rejected|all`.
    Rejected,
}

impl MemberStatus {
    /// The Glance spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Accepted => "accepted",
            MemberStatus::Pending => "pending",
            MemberStatus::Rejected => "rejected",
        }
    }
}

/// A Glance image.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// UUID; default derived from the name ([`crate::image_id`]).
    #[serde(default)]
    pub id: Option<String>,
    /// Image name.
    pub name: String,
    /// Visibility.
    #[serde(default)]
    pub visibility: Visibility,
    /// Owner project name; default `admin`.
    #[serde(default)]
    pub owner: Option<String>,
    /// Members of a shared image: project name -> status.
    #[serde(default)]
    pub members: BTreeMap<String, MemberStatus>,
    /// Hidden from the default list.
    #[serde(default)]
    pub os_hidden: bool,
    /// Glance status.
    #[serde(default = "default_status")]
    pub status: String,
    /// Registration time (RFC 3339).
    #[serde(default = "default_created_at")]
    pub created_at: String,
    /// Last update (RFC 3339); default `created_at`.
    #[serde(default)]
    pub updated_at: Option<String>,
    /// Minimum disk in GiB.
    #[serde(default)]
    pub min_disk: u64,
    /// Minimum RAM in MiB.
    #[serde(default)]
    pub min_ram: u64,
    /// Size in bytes.
    #[serde(default)]
    pub size: Option<u64>,
    /// Virtual size in bytes.
    #[serde(default)]
    pub virtual_size: Option<u64>,
    /// Disk format.
    #[serde(default = "default_disk_format")]
    pub disk_format: Option<String>,
    /// Container format.
    #[serde(default = "default_container_format")]
    pub container_format: Option<String>,
    /// MD5 checksum; default derived.
    #[serde(default)]
    pub checksum: Option<String>,
    /// Hash algorithm; default sha512.
    #[serde(default)]
    pub os_hash_algo: Option<String>,
    /// Hash value; default derived.
    #[serde(default)]
    pub os_hash_value: Option<String>,
    /// Protected flag.
    #[serde(default)]
    pub protected: bool,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom properties, flattened into the API output.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

/// Filler content.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Generate {
    /// Number of filler images.
    #[serde(default)]
    pub images: usize,
    /// Number of filler flavors.
    #[serde(default)]
    pub flavors: usize,
}

fn default_region() -> String {
    "RegionOne".to_owned()
}
fn default_interfaces() -> Vec<String> {
    vec!["public".to_owned()]
}
fn default_true() -> bool {
    true
}
fn default_status() -> String {
    "active".to_owned()
}
fn default_created_at() -> String {
    "2025-01-01T00:00:00Z".to_owned()
}
fn default_disk_format() -> Option<String> {
    Some("qcow2".to_owned())
}
fn default_container_format() -> Option<String> {
    Some("bare".to_owned())
}

/// Core image fields that a custom property must not shadow.
pub(crate) const IMAGE_CORE_FIELDS: &[&str] = &[
    "id",
    "name",
    "status",
    "visibility",
    "os_hidden",
    "owner",
    "min_disk",
    "min_ram",
    "size",
    "virtual_size",
    "disk_format",
    "container_format",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "created_at",
    "updated_at",
    "tags",
    "self",
    "file",
    "schema",
    "protected",
    "locations",
    "direct_url",
];

const IMAGE_STATUSES: &[&str] = &[
    "queued",
    "saving",
    "uploading",
    "importing",
    "active",
    "deactivated",
    "killed",
    "deleted",
    "pending_delete",
];

/// Upper bound for `generate` counts (keeps a typo from eating the machine).
const MAX_GENERATED: usize = 100_000;

impl Fixture {
    /// Read and validate a fixture file, following its `extends` chain (see the module
    /// documentation).
    pub fn load(path: &Path) -> Result<Fixture, Error> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        match crate::extends::resolve(path, &text)? {
            None => Fixture::parse(&text),
            Some(merged) => Fixture::parse(&merged).map_err(|e| match e {
                Error::Yaml(msg) => {
                    Error::Yaml(format!("{} (merged with its base): {msg}", path.display()))
                }
                Error::Invalid(msg) => {
                    Error::Invalid(format!("{} (merged with its base): {msg}", path.display()))
                }
                other => other,
            }),
        }
    }

    /// Parse and validate fixture YAML. `extends` needs a file to be relative to: use
    /// [`Fixture::load`].
    pub fn from_yaml(text: &str) -> Result<Fixture, Error> {
        if crate::extends::has_extends(text) {
            return Err(Error::Invalid(
                "extends is relative to the fixture file: load it with Fixture::load".into(),
            ));
        }
        Fixture::parse(text)
    }

    fn parse(text: &str) -> Result<Fixture, Error> {
        let fixture: Fixture =
            yaml_serde::from_str(text).map_err(|e| Error::Yaml(e.to_string()))?;
        fixture.validate()?;
        Ok(fixture)
    }

    /// Check the consistency rules (unique ids, known users, valid dates, ...).
    pub fn validate(&self) -> Result<(), Error> {
        crate::world::World::build(self).map(|_| ())
    }

    /// Look up a user by name.
    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    /// Look up an application credential by id.
    pub fn application_credential(&self, id: &str) -> Option<&AppCredential> {
        self.application_credentials.iter().find(|a| a.id == id)
    }

    /// The fixture's flavors followed by the generated filler flavors.
    pub fn all_flavors(&self) -> Vec<Flavor> {
        let mut flavors = self.flavors.clone();
        flavors.extend((1..=self.generate.flavors).map(filler_flavor));
        flavors
    }

    /// The fixture's images followed by the generated filler images.
    pub fn all_images(&self) -> Vec<Image> {
        let mut images = self.images.clone();
        images.extend((1..=self.generate.images).map(filler_image));
        images
    }

    pub(crate) fn check_static_rules(&self) -> Result<(), Error> {
        let invalid = |msg: String| Err(Error::Invalid(msg));
        if self.region.is_empty() {
            return invalid("region must not be empty".into());
        }
        if self.generate.images > MAX_GENERATED || self.generate.flavors > MAX_GENERATED {
            return invalid(format!("generate counts are limited to {MAX_GENERATED}"));
        }
        for (key, limit) in self.quota.entries() {
            if limit < -1 {
                return invalid(format!(
                    "quota.{key} is {limit}: a limit is -1 (unlimited) or at least 0"
                ));
            }
        }
        let mut names = BTreeSet::new();
        for user in &self.users {
            if user.name.is_empty() || user.project.is_empty() {
                return invalid("users need a name and a project".into());
            }
            if !names.insert(user.name.as_str()) {
                return invalid(format!("duplicate user name {:?}", user.name));
            }
        }
        let mut ids = BTreeSet::new();
        let mut user_names = BTreeSet::new();
        for cred in &self.application_credentials {
            if cred.id.is_empty() {
                return invalid("application credential ids must not be empty".into());
            }
            if !ids.insert(cred.id.as_str()) {
                return invalid(format!("duplicate application credential id {:?}", cred.id));
            }
            if !user_names.insert((cred.user.as_str(), cred.display_name())) {
                return invalid(format!(
                    "duplicate application credential name {:?} of user {:?}",
                    cred.display_name(),
                    cred.user
                ));
            }
            let Some(user) = self.user(&cred.user) else {
                return invalid(format!(
                    "application credential {:?} names unknown user {:?}",
                    cred.id, cred.user
                ));
            };
            if let Some(roles) = &cred.roles
                && let Some(extra) = roles.iter().find(|r| !user.roles.contains(r))
            {
                return invalid(format!(
                    "application credential {:?} has role {extra:?} that user {:?} lacks",
                    cred.id, user.name
                ));
            }
        }
        for service in &self.services {
            check_service(service)?;
        }
        Ok(())
    }
}

fn check_service(service: &Service) -> Result<(), Error> {
    let what = format!("service {}/{}", service.service_type, service.name);
    if service.service_type.is_empty() {
        return Err(Error::Invalid(format!("{what}: type must not be empty")));
    }
    match (&service.path, &service.url) {
        (Some(path), None) => {
            if !path.starts_with('/') {
                return Err(Error::Invalid(format!("{what}: path must start with '/'")));
            }
            let reserved = ["/_sim", "/identity"];
            if service.service_type != "identity"
                && reserved
                    .iter()
                    .any(|r| path == r || path.starts_with(&format!("{r}/")))
            {
                return Err(Error::Invalid(format!(
                    "{what}: path {path} is reserved by simcloud"
                )));
            }
        }
        (None, Some(url)) => {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(Error::Invalid(format!("{what}: url must be absolute")));
            }
        }
        _ => {
            return Err(Error::Invalid(format!(
                "{what}: give exactly one of path and url"
            )));
        }
    }
    if service.interfaces.is_empty() {
        return Err(Error::Invalid(format!(
            "{what}: interfaces must not be empty"
        )));
    }
    if let Some(bad) = service
        .interfaces
        .iter()
        .find(|i| !matches!(i.as_str(), "public" | "internal" | "admin"))
    {
        return Err(Error::Invalid(format!("{what}: unknown interface {bad:?}")));
    }
    Ok(())
}

pub(crate) fn check_image_status(status: &str) -> bool {
    IMAGE_STATUSES.contains(&status)
}

/// The i-th (1-based) filler flavor.
fn filler_flavor(i: usize) -> Flavor {
    Flavor {
        id: format!("filler-{i:05}"),
        name: format!("filler-{i:05}"),
        vcpus: 1,
        ram: 512,
        disk: 1,
        swap: 0,
        ephemeral: 0,
        extra_specs: BTreeMap::new(),
        is_public: true,
        projects: Vec::new(),
        description: Some(format!("generated filler flavor {i}")),
        disabled: false,
    }
}

/// The i-th (1-based) filler image: public, complete scs-0102 metadata, os_purpose custom.
fn filler_image(i: usize) -> Image {
    let base = chrono::DateTime::<chrono::Utc>::from_timestamp(1_704_067_200, 0); // 2024-01-01
    let created = base
        .map(|b| b + chrono::Duration::minutes(i64::try_from(i).unwrap_or(i64::MAX / 120)))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(default_created_at);
    let props = [
        ("architecture", "x86_64".to_owned()),
        ("os_distro", "filler".to_owned()),
        ("os_version", format!("{i}")),
        ("os_purpose", "custom".to_owned()),
        ("hw_disk_bus", "virtio".to_owned()),
        ("hypervisor_type", "kvm".to_owned()),
        ("hw_rng_model", "virtio".to_owned()),
        ("image_build_date", "2023-12-31".to_owned()),
        ("image_original_user", "filler".to_owned()),
        (
            "image_source",
            format!("https://example.org/filler/{i:04}.qcow2"),
        ),
        ("image_description", format!("generated filler image {i}")),
        ("replace_frequency", "never".to_owned()),
        ("provided_until", "none".to_owned()),
        ("uuid_validity", "none".to_owned()),
        ("hotfix_hours", "0".to_owned()),
    ];
    Image {
        id: None,
        name: format!("Filler Image {i:04}"),
        visibility: Visibility::Public,
        owner: None,
        members: BTreeMap::new(),
        os_hidden: false,
        status: default_status(),
        created_at: created,
        updated_at: None,
        min_disk: 1,
        min_ram: 128,
        size: Some(1_000_000),
        virtual_size: None,
        disk_format: default_disk_format(),
        container_format: default_container_format(),
        checksum: None,
        os_hash_algo: None,
        os_hash_value: None,
        protected: false,
        tags: Vec::new(),
        properties: props.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_fixture_has_defaults() {
        let f = Fixture::from_yaml("{}").expect("empty fixture is valid");
        assert_eq!(f.region, "RegionOne");
        assert!(f.users.is_empty());
        assert_eq!(f.generate, Generate::default());
    }

    #[test]
    fn unknown_top_level_key_is_rejected() {
        let err = Fixture::from_yaml("regions: x\n").expect_err("typo must fail");
        assert!(err.to_string().contains("unknown field `regions`"), "{err}");
    }

    #[test]
    fn scalars_in_free_form_maps_are_verbatim_strings() {
        let f = Fixture::from_yaml(
            "flavors:\n  - {id: 1, name: a, vcpus: 1, ram: 1, extra_specs: {x: 22.10, y: true}}\n\
             images:\n  - {name: i, properties: {os_version: 24.04, hotfix_hours: 0}}\n",
        )
        .expect("valid");
        assert_eq!(f.flavors[0].id, "1");
        assert_eq!(f.flavors[0].extra_specs["x"], "22.10");
        assert_eq!(f.flavors[0].extra_specs["y"], "true");
        assert_eq!(f.images[0].properties["os_version"], "24.04");
        assert_eq!(f.images[0].properties["hotfix_hours"], "0");
    }

    #[test]
    fn inconsistent_fixtures_are_rejected() {
        let cases = [
            (
                "users: [{name: a, password: p, project: x}, {name: a, password: q, project: y}]",
                "duplicate user name",
            ),
            (
                "application_credentials: [{id: c, secret: s, user: nobody}]",
                "unknown user",
            ),
            (
                "users: [{name: a, password: p, project: x, roles: [reader]}]\n\
                 application_credentials: [{id: c, secret: s, user: a, roles: [member]}]",
                "lacks",
            ),
            ("services: [{type: compute, name: nova}]", "exactly one of"),
            (
                "services: [{type: compute, name: nova, path: compute}]",
                "must start with",
            ),
            (
                "services: [{type: compute, name: nova, path: /identity/x}]",
                "reserved",
            ),
            (
                "services: [{type: compute, name: nova, path: /c, interfaces: [outer]}]",
                "unknown interface",
            ),
            (
                "flavors: [{id: '1', name: a, vcpus: 1, ram: 1}, {id: '1', name: b, vcpus: 1, ram: 1}]",
                "duplicate flavor id",
            ),
            ("flavors: [{id: '1', name: a, vcpus: 0, ram: 1}]", "vcpus"),
            (
                "flavors: [{id: '1', name: a, vcpus: 1, ram: 1, projects: [demo]}]",
                "private",
            ),
            ("images: [{name: a, id: not-a-uuid}]", "UUID"),
            ("images: [{name: a, created_at: yesterday}]", "created_at"),
            ("images: [{name: a, status: sleeping}]", "status"),
            ("images: [{name: a, properties: {owner: x}}]", "core field"),
            ("images: [{name: a, members: {demo: accepted}}]", "shared"),
            ("faults: {latency: 5}", "unknown field `latency`"),
            (
                "faults: {errors: [{path_prefix: /a, path_regex: b}]}",
                "exactly one of path_regex",
            ),
            ("faults: {errors: [{path_regex: '('}]}", "bad path_regex"),
            (
                "faults: {errors: [{path_prefix: /a, status: 200}]}",
                "not an error status",
            ),
            (
                "faults: {slow_body: {path_prefix: /a, bytes_per_sec: 0}}",
                "at least 1",
            ),
            ("volume: {default_type: nope}", "not a volume type"),
            (
                "volume: {types: [{name: a}, {name: a}]}",
                "duplicate volume type name",
            ),
            ("volume: {types: [{name: a, id: x}]}", "not a UUID"),
            ("network: {external_cidr: 10.0.0.0/31}", "usable CIDR"),
            (
                "network: {default_security_group_rules: [{direction: sideways}]}",
                "direction",
            ),
            (
                "network: {default_security_group_rules: [{direction: egress, ethertype: IPv4, remote_ip_prefix: '::/0'}]}",
                "Conflicting value ethertype",
            ),
            (
                "network: {default_security_group_rules: [{direction: ingress, remote_group_id: abc}]}",
                "PARENT",
            ),
            ("object_store: {s3_error: Maybe}", "unknown variant"),
            ("generate: {images: 1000000}", "limited"),
        ];
        for (yaml, needle) in cases {
            let err = Fixture::from_yaml(yaml).expect_err(yaml);
            assert!(
                err.to_string().contains(needle),
                "{yaml}: {err} should mention {needle}"
            );
        }
    }

    #[test]
    fn expect_is_typed_data() {
        let f = Fixture::from_yaml(
            "expect: {exit: 1, verdicts: {scs-0115-default-rules: FAIL, scs-0101-fips-test: ABORT}}",
        )
        .expect("valid");
        let e = f.expect.expect("expect");
        assert_eq!((e.exit, e.others), (1, Verdict::Pass));
        assert_eq!(e.verdicts["scs-0115-default-rules"], Verdict::Fail);
        assert_eq!(e.verdicts["scs-0101-fips-test"].result(), 0);
        for (yaml, needle) in [
            ("expect: {exit: 0, verdict: {}}", "unknown field `verdict`"),
            (
                "expect: {exit: 0, others: MAYBE}",
                "unknown variant `MAYBE`",
            ),
            ("expect: {verdicts: {}}", "missing field `exit`"),
        ] {
            let err = Fixture::from_yaml(yaml).expect_err(yaml).to_string();
            assert!(err.contains(needle), "{yaml}: {err}");
        }
    }

    #[test]
    fn extends_needs_a_file_and_unknown_keys_stay_errors_after_merging() {
        let err = Fixture::from_yaml("extends: compliant.yaml\n").expect_err("no file");
        assert!(err.to_string().contains("Fixture::load"), "{err}");
        struct Gone(std::path::PathBuf);
        impl Drop for Gone {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
        let dir = std::env::temp_dir().join(format!("simcloud-fixture-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let _gone = Gone(dir.clone());
        let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).expect("write");
        write(
            "base.yaml",
            "users: [{name: u, password: p, project: x}]\n\
             flavors: [{id: '1', name: a, vcpus: 1, ram: 1, extra_specs: {v: 22.10}}]\n",
        );
        let child = dir.join("child.yaml");
        write(
            "child.yaml",
            "extends: base.yaml\nflavors: [{id: 1, name: a, vcpus: 2, ram: 1, extra_specs: {v: 22.10}}]\n",
        );
        let f = Fixture::load(&child).expect("valid");
        assert_eq!(
            (f.flavors.len(), f.flavors[0].vcpus, f.users.len()),
            (1, 2, 1)
        );
        assert_eq!(f.flavors[0].extra_specs["v"], "22.10");
        write("child.yaml", "extends: base.yaml\ncompute: {entropy: 1}\n");
        let err = Fixture::load(&child).expect_err("unknown key").to_string();
        assert!(
            err.contains("child.yaml (merged with its base)")
                && err.contains("unknown field `entropy`"),
            "{err}"
        );
        write(
            "child.yaml",
            "extends: base.yaml\nusers: [{name: u, remove: true}]\n\
             application_credentials: [{id: c, secret: s, user: u}]\n",
        );
        let err = Fixture::load(&child).expect_err("inconsistent").to_string();
        assert!(err.contains("unknown user"), "{err}");
    }

    #[test]
    fn generated_content_is_deterministic() {
        let f = Fixture::from_yaml("generate: {images: 3, flavors: 2}").expect("valid");
        let images = f.all_images();
        assert_eq!(images.len(), 3);
        assert_eq!(images[0].name, "Filler Image 0001");
        assert_eq!(images[0].created_at, "2024-01-01T00:01:00Z");
        assert_eq!(images[2].created_at, "2024-01-01T00:03:00Z");
        let flavors = f.all_flavors();
        assert_eq!(
            flavors.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            ["filler-00001", "filler-00002"]
        );
    }
}

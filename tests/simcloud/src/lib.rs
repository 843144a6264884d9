//! `simcloud`: a simulated OpenStack cloud that serves real HTTP on 127.0.0.1.
//!
//! It is the test cloud and the demo cloud of scs-cert. A YAML *fixture* describes the cloud
//! (users, application credentials, service catalog, Nova flavors, Glance images, and how the
//! other services behave); [`SimCloud`] serves Keystone v3 (token issue), Nova 2.1 (flavors,
//! servers with console output, keypairs; microversions), Glance v2 (image list/show),
//! Neutron v2.0 (networks, subnets, ports, routers, security groups, default security-group
//! rules), Cinder v3 (volume types, volumes, backups, restore), Barbican v1 (secrets) and the
//! S3 answer to a signed request at the host root, on an ephemeral port. It records every
//! request it receives ([`SimCloud::requests`]) and reports what the APIs created and what
//! still exists ([`SimCloud::resources`]), so tests can check that a check cleaned up.
//!
//! Everything created through the APIs is kept in memory per project (keypairs per user) and
//! starts and ends its life like in a real cloud, lazily: a new server shows `BUILD` for
//! `compute.server_build_polls` GETs, then `ACTIVE`; a new volume `creating` for
//! `volume.create_polls` GETs; and so on. A "poll" is any GET that returns the resource (show
//! or list; console requests count for servers); the first `N` polls see the old status.
//!
//! ```no_run
//! # async fn demo() -> Result<(), simcloud::Error> {
//! let fixture = simcloud::Fixture::load(std::path::Path::new("tests/simcloud/fixtures/compliant.yaml"))?;
//! let cloud = simcloud::SimCloud::start(fixture).await?;
//! println!("Keystone at {}", cloud.auth_url());
//! # Ok(()) }
//! ```
//!
//! # Fixture format
//!
//! Unknown keys are rejected at the top level and in every nested object except the free-form
//! maps (`extra_specs`, `properties`, `members`). Scalar values of the free-form maps are taken
//! verbatim as strings (`os_version: 24.04` is the string `"24.04"`, `hotfix_hours: 0` is `"0"`).
//!
//! ```yaml
//! extends: compliant.yaml            # optional: that file (relative to this one) plus what
//!                                    # follows; merge rules in the `fixture` module
//! expect:                            # optional, for the tests (simcloud ignores it): what
//!   exit: 1                          # `scs-cert run` over the IaaS scope reports (exit code,
//!   others: PASS                     # verdict of unlisted main testcases, the listed ones)
//!   verdicts: {scs-0115-default-rules: FAIL}
//! region: RegionOne                  # default RegionOne
//! users:                             # password users, all in domain Default (id "default")
//!   - name: member
//!     password: s3cret
//!     project: demo                  # the user's (only and default) project, domain Default
//!     roles: [member, reader]        # role names on that project
//! application_credentials:
//!   - id: appcred-1
//!     name: ci                       # optional, defaults to the id
//!     secret: appsecret
//!     user: member                   # acts as that user on that user's project
//!     roles: [member]                # optional, defaults to the user's roles; must be a subset
//!     unrestricted: false            # optional; token shows "restricted": !unrestricted
//! services:                          # the catalog; one entry per service
//!   - {type: identity, name: keystone, path: /identity/v3}
//!   - {type: compute, name: nova, path: /compute/v2.1}
//!   - {type: image, name: glance, path: /image}
//!   - {type: volumev3, name: cinderv3, path: "/volume/v3/{project_id}"}
//!   # exactly one of `path` (served on this simcloud, base URL prepended) or `url` (absolute,
//!   # only listed). `{project_id}` (also `%(project_id)s`, `$(project_id)s`, `%(tenant_id)s`,
//!   # `$(tenant_id)s`) is replaced by the token's project id.
//!   # optional: interfaces: [public, internal, admin] (default [public]);
//!   #           region: other (default: the fixture region);
//!   #           enabled: false (left out of the catalog, as Keystone does for disabled services).
//! flavors:
//!   - id: "1"                        # Nova flavor id (string); lists are ordered by it, ascending
//!     name: SCS-1V-4
//!     vcpus: 1
//!     ram: 4096                      # MiB
//!     disk: 0                        # GB, default 0
//!     swap: 0                        # MiB, default 0
//!     ephemeral: 0                   # GB, default 0
//!     extra_specs: {"scs:cpu-type": shared-core}
//!     is_public: true                # default true
//!     projects: [demo]               # flavor access (project names), only for is_public: false
//!     description: null              # shown from microversion 2.55
//!     disabled: false                # disabled flavors are left out of lists for members
//! images:
//!   - id: 0b5c4f36-...               # optional UUID; default derived from the name (image_id())
//!     name: Ubuntu 24.04
//!     visibility: public             # public | community | private | shared (default public)
//!     owner: admin                   # project name; default "admin" (not the users' project)
//!     members: {demo: accepted}      # shared images only: project name -> accepted|pending|rejected
//!     os_hidden: false
//!     status: active                 # default active
//!     created_at: "2025-01-01T00:00:00Z"   # RFC 3339, default 2025-01-01T00:00:00Z; newest first
//!     updated_at: "2025-01-01T00:00:00Z"   # default created_at
//!     min_disk: 8                    # GiB, default 0
//!     min_ram: 512                   # MiB, default 0
//!     size: 1000000                  # bytes, default null (as for a queued image)
//!     virtual_size: null             # default null
//!     disk_format: qcow2             # default qcow2
//!     container_format: bare         # default bare
//!     checksum: null                 # default: derived (md5-like) when active with a size
//!     os_hash_algo: sha512           # default sha512 when active with a size
//!     os_hash_value: null            # default: derived (128 hex digits) when active with a size
//!     protected: false
//!     tags: []
//!     properties: {architecture: x86_64, os_distro: ubuntu, os_version: "24.04"}
//!     # properties are flattened to top-level string keys in the API output, as Glance does;
//!     # they must not shadow a core field.
//! generate: {images: 0, flavors: 0}  # optional filler: "Filler Image 0001".. (public, complete
//!                                    # scs-0102 metadata, os_purpose custom, created
//!                                    # 2024-01-01 + i minutes), flavors "filler-00001".. (non-SCS)
//! compute:                           # Nova servers (all keys optional; defaults shown)
//!   server_build_polls: 2            # GETs that still show BUILD (the 3rd shows ACTIVE)
//!   server_build_ms: 0               # ... and at least this many milliseconds
//!   server_delete_polls: 0           # GETs after DELETE that still show it (task_state deleting)
//!   server_delete_ms: 0
//!   server_error: false              # true: servers end in ERROR, with fault.message:
//!   server_fault: "No valid host was found. There are not enough hosts available."
//!   console_delay_polls: 2           # polls of the ACTIVE server before the test output shows
//!   entropy_avail: "256"             # `_scs-test-entropy-avail:` payload; null leaves it out
//!   fips_failures: 2                 # rngtest "FIPS 140-2 failures"; null: "rngtest: not found"
//!   console_output: null             # whole console text instead of the built-in one;
//!                                    # {server_id} {server_name} {entropy_avail}
//!                                    # {fips_failures} {fips_successes} are substituted
//! network:                           # Neutron
//!   external: true                   # an external network (router:external, owner admin)
//!   external_network_name: public
//!   external_cidr: 203.0.113.0/24    # its subnet (gateway .1, pool .2-.254)
//!   default_rules_api: true          # false: /v2.0/default-security-group-rules is 404
//!   default_security_group_rules:    # default: Neutron's four templates, which pass scs-0115
//!     - {direction: ingress, ethertype: IPv4, remote_group_id: PARENT,
//!        used_in_default_sg: true, used_in_non_default_sg: false}
//!     # also: protocol, port_range_min/max, remote_ip_prefix, description;
//!     # ethertype defaults to IPv4, used_in_* to true
//! volume:                            # Cinder
//!   types: [{name: __DEFAULT__, description: Default Volume Type}]   # default
//!   #   each: {name, description: null, is_public: true, id: derived UUID, extra_specs: {}}
//!   default_type: null               # type of volumes created without one (default: first)
//!   create_polls: 1                  # GETs showing "creating" before "available"
//!   delete_polls: 0                  # GETs showing "deleting" before 404
//!   backup_service: true             # false: backups end in "error"; deleting them as a
//!                                    # member answers 404 "Service cinder-backup could not
//!                                    # be found." (as without cinder-backup)
//!   backup_create_polls: 2
//!   backup_delete_polls: 0
//!   restore_polls: 1                 # GETs of a restored volume showing "restoring-backup"
//! key_manager:                       # Barbican
//!   forbid_member: false             # true: creating secrets needs role creator or admin (403)
//! object_store:                      # answer of a SigV4/SigV2-signed request to "/"
//!   s3_error: InvalidAccessKeyId     # | AccessDenied | SignatureDoesNotMatch | NoSuchKey | none
//! quota:                             # the limits of every project of the fixture; absent
//!   instances: 10                    # keys: the defaults of Nova 33 / Cinder 29 / Neutron 29
//!   cores: 20                        # (shown); -1 is unlimited. Served by the limits APIs,
//!   ram: 51200                       # MiB; enforced on create as the services do (Cinder 413,
//!   volumes: 10                      # Nova 403, Neutron 409; a boot volume over the volume
//!   snapshots: 10                    # quota puts the server in ERROR), counting what exists
//!   gigabytes: 1000                  # in the project (deleted resources are freed)
//!   backups: 10
//!   backup_gigabytes: 1000
//!   networks: 100
//!   subnets: 100
//!   routers: 10
//!   ports: 500
//!   security_groups: 10              # the project's `default` group counts
//!   security_group_rules: 100        # the rules of the default templates count
//!   floatingips: 50                  # reported only (no floating IPs here)
//! faults:                            # fault injection; {} (the default) injects nothing
//!   latency_ms: 0                    # every response this much later (not /_sim/...)
//!   errors:                          # injected error responses, before the token check
//!     - {method: GET, path_prefix: /compute/v2.1/flavors, status: 503, count: 1}
//!     #  method: any if absent; exactly one of path_prefix and path_regex (searched in the
//!     #  path); status 400-599 (default 500); count: how many (default: every time)
//!   malformed_json: [/image/v2]      # JSON responses under these prefixes cut in half
//!   slow_body: {path_prefix: /image/v2, bytes_per_sec: 2000}   # streamed slowly (default off)
//!   token_ttl_secs: null             # lifetime of new tokens (default 24 h)
//!   expire_tokens_after_requests: null   # a token presented N times is refused (401)
//! ```
//!
//! Identifiers are deterministic, so tests can predict them: see [`project_id`], [`user_id`],
//! [`role_id`] and [`image_id`]. The domain is always `{"id": "default", "name": "Default"}`.
//!
//! # What is served
//!
//! * Keystone, always at `/identity` (`/identity/v3` is [`SimCloud::auth_url`]), whatever the
//!   catalog says: version documents, `POST /v3/auth/tokens` (password, application_credential,
//!   token), `GET /v3/auth/tokens`, `GET /v3/auth/catalog`, `GET /v3/auth/projects`.
//! * Nova at the path of the first `compute` service that has a `path` (default `/compute/v2.1`):
//!   flavors (list, detail, show, extra specs); `POST/GET /servers`, `/servers/detail`
//!   (filters `name` (a regex, as in Nova), `status`, `flavor`, `image`, `key_name`; paging),
//!   `GET/PUT/DELETE /servers/{id}`, `POST /servers/{id}/action` with `os-getConsoleOutput`,
//!   `GET /servers/{id}/os-volume_attachments`, `/os-keypairs` (list, create, show, delete),
//!   `GET /os-availability-zone`, `GET /limits`. Boot from volume (`block_device_mapping_v2`)
//!   creates the volume in Cinder; the server's ports appear in Neutron.
//! * Glance at the path of the first `image` service (default `/image`).
//! * Neutron at every `network` path (default `/network`), API under `/v2.0/`: `networks`,
//!   `subnets` (list, create, show, update, delete), `ports` (list, show), `routers` (with
//!   `external_gateway_info`, `add_router_interface`, `remove_router_interface`),
//!   `security-groups`, `security-group-rules`, `default-security-group-rules` (read-only, or
//!   404 with `network.default_rules_api: false`), `extensions`, `quotas/{project_id}` and
//!   `quotas/{project_id}/details` (the token's project only). Deleting a router with
//!   interfaces, a subnet with allocated ports or a network with ports answers 409.
//! * Cinder at every `volumev3`/`block-storage`/`volume`/`volumev2` path (default
//!   `/volume/v3/{project_id}`): `types`, `volumes` (+`/detail`), `backups` (+`/detail`),
//!   `backups/{id}/restore`, `limits`; admin-only actions answer 403.
//! * Barbican at every `key-manager` path (default `/key-manager`): `/v1/secrets` (list with
//!   `limit`/`offset`/`name`, create, show, payload, delete).
//! * `/` with an S3 signature (`Authorization: AWS4-HMAC-SHA256 ...`): the S3 answer of
//!   `object_store.s3_error` (the scs-0123-swift-s3 probe goes to the object-store host root).
//! * Every other catalog path answers 404 JSON after the token check.
//! * `GET /_sim/health` answers `200 ok`.
//!
//! Modules: [`fixture`] (the serde model and its validation; the service sections live in
//! `options`; `extends` merges a fixture file with its base), [`ids`] (deterministic ids),
//! `world` (the resolved, validated cloud content), `state` (the mutable resources and their
//! lazy status transitions), `server` (HTTP plumbing, recording, tokens, routing), `faults`
//! (fault injection), `keystone`, `nova`, `nova_servers`, `glance`, `neutron`, `cinder`,
//! `barbican`, `s3` (the APIs), `quota` (usage counts, limits bodies, quota errors), `clouds` (clouds.yaml writer), `http` (query and response
//! helpers), `net` (CIDR arithmetic), `base64`, `resources` ([`Resources`]).

mod barbican;
mod base64;
mod cinder;
mod clouds;
mod error;
mod extends;
mod faults;
pub mod fixture;
mod glance;
mod http;
pub mod ids;
mod keystone;
mod net;
mod neutron;
mod nova;
mod nova_servers;
mod options;
mod quota;
mod resources;
mod s3;
mod server;
mod state;
mod world;

pub use clouds::{Credential, clouds_yaml};
pub use error::Error;
pub use fixture::Fixture;
pub use ids::{image_id, project_id, role_id, user_id};
pub use resources::{ResourceInfo, Resources};
pub use server::{BlockingSimCloud, RecordedRequest, SimCloud, spawn_blocking_server};

/// Highest Nova microversion simcloud implements (`latest` maps to it).
pub const NOVA_MAX_MICROVERSION: (u32, u32) = (2, 96);

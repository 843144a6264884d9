//! `simcloud`: a simulated OpenStack cloud that serves real HTTP on 127.0.0.1.
//!
//! It is the test cloud and the demo cloud of scs-cert. A YAML *fixture* describes the cloud
//! (users, application credentials, service catalog, Nova flavors, Glance images); [`SimCloud`]
//! serves Keystone v3 (token issue), Nova 2.1 (flavors, with microversions) and Glance v2
//! (image list/show) on an ephemeral port, and records every request it receives.
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
//! faults: {}                         # reserved for later; must be empty
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
//! * Nova at the path of the first `compute` service that has a `path` (default `/compute/v2.1`),
//!   Glance at the path of the first `image` service (default `/image`).
//! * Every other catalog path answers 404 JSON after the token check.
//! * `GET /_sim/health` answers `200 ok`.
//!
//! Modules: [`fixture`] (the serde model and its validation), [`ids`] (deterministic ids),
//! `world` (the resolved, validated cloud content), `server` (HTTP plumbing, recording, tokens),
//! `keystone`, `nova`, `glance` (the APIs), `clouds` (clouds.yaml writer), `http` (query and
//! response helpers).

mod barbican;
mod base64;
mod cinder;
mod clouds;
mod error;
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

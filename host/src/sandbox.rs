//! The WebAssembly sandbox that check components run in.
//!
//! Owns: the wasmtime `Engine` (component model, epoch interruption, NaN
//! canonicalisation), the import allow-list enforced at load, the on-disk
//! compile cache (keyed by component sha256 and engine compatibility; every
//! entry carries an HMAC-SHA256 over the component's sha256, the engine key and
//! the native code, under a per-user secret key in `cache.key`, mode 0600, in
//! a directory created mode 0700), and running one check: a fresh `Store`
//! with a deny-all WASI context, a memory limit, an epoch deadline plus a
//! wall-clock timeout around host calls, and capped logs. Traps, timeouts and memory overruns become an ABORT reason;
//! they never take the host down.
//!
//! Must never: give a component files, sockets, environment variables, real
//! randomness or clocks; talk to the cloud itself (all `openstack` calls go
//! to [`crate::mediate`]); compile bytes other than the ones that were hashed;
//! deserialize cached native code whose MAC does not verify under a key file
//! that is a regular file of this user with mode 0600 (old `.cwasm.sha256`
//! entries, forged or corrupted ones are recompiled and overwritten).
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use crate::mediate::{self, ApiError, ApiRequest, CheckMediator};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, ResourceLimiter, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Host-side bindings of the `check` world.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wasmtime::component::bindgen!({
        world: "check",
        path: "../checks/sdk/wit",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

use bindings::scs::check::openstack as wit_os;
use bindings::scs::check::types::{Level, Verdict as WitVerdict};

/// The WIT package version this host serves.
pub(crate) const WIT_PACKAGE: &str = "scs:check@0.1.3";
/// Package versions whose components the host runs: its own, and 0.1.2 to 0.1.0, which
/// 0.1.3 only extended (the linker's semver matching serves an older 0.1.x import from the
/// 0.1.3 definitions).
pub(crate) const SERVED_VERSIONS: [&str; 4] = ["@0.1.3", "@0.1.2", "@0.1.1", "@0.1.0"];
/// Epoch tick length.
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// Errors loading a component.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The engine could not be configured.
    #[error("cannot set up the wasm engine: {0}")]
    Engine(String),
    /// The bytes are not a valid component.
    #[error("check {check}: not a valid WebAssembly component: {message}")]
    Invalid {
        /// Check id.
        check: String,
        /// Cause.
        message: String,
    },
    /// An import outside the world.
    #[error(
        "check {check}: refused: it imports `{import}`, which is not part of the {world} world (allowed: scs:check/* of that version and the inert wasi:cli, wasi:io, wasi:random plumbing); rebuild it against the WIT of this host (checks/sdk/wit)"
    )]
    ForbiddenImport {
        /// Check id.
        check: String,
        /// The import.
        import: String,
        /// World.
        world: &'static str,
    },
    /// Exports do not match the world.
    #[error("check {check}: refused: its exports do not match the {world} world: {message}")]
    BadExports {
        /// Check id.
        check: String,
        /// World.
        world: &'static str,
        /// Cause.
        message: String,
    },
}

/// The rest of the one line that says a check was stopped at its deadline: the host stopped
/// it (the official checks have no deadline of their own) and where the bound comes from.
const STOPPED: &str = "stopped by the host, not by the check (the bound is check.json \
     limits.timeout_secs, at most --max-check-secs; the official check has no deadline)";

/// Sandbox settings. Every limit has a documented default.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Compile cache directory (default: `$XDG_CACHE_HOME/scs-cert/components`
    /// or `~/.cache/scs-cert/components`; None disables the cache). Created
    /// mode 0700 if missing; holds the MAC key `cache.key` (mode 0600) and the
    /// entries `<sha256>-<engine>.cwasm` with their `.cwasm.mac` sidecars.
    pub cache_dir: Option<PathBuf>,
    /// Default per-check deadline when check.json gives none (default 300 s).
    pub default_timeout: Duration,
    /// Upper bound on any check's deadline (default 21,600 s: the 6 h the official KaaS job
    /// allows, which the Sonobuoy check asks for; every other check asks for far less).
    pub max_timeout: Duration,
    /// Default memory limit when check.json gives none (default 256 MiB).
    pub default_memory_mib: u64,
    /// Upper bound on any check's memory (default 1024 MiB).
    pub max_memory_mib: u64,
    /// Log lines kept per check (default 5,000).
    pub max_log_lines: usize,
    /// Bytes kept per log line (default 4,096; longer lines are cut).
    pub max_log_line_bytes: usize,
    /// Log bytes kept per check (default 1 MiB).
    pub max_log_bytes: usize,
    /// Deadline of the cleanup phase that a component with write
    /// capabilities gets after the host stopped it (default 300 s; zero
    /// disables the cleanup phase).
    pub cleanup_grace: Duration,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            cache_dir: default_cache_dir(),
            default_timeout: Duration::from_secs(300),
            max_timeout: Duration::from_secs(21_600),
            default_memory_mib: 256,
            max_memory_mib: 1024,
            max_log_lines: 5_000,
            max_log_line_bytes: 4_096,
            max_log_bytes: 1 << 20,
            cleanup_grace: Duration::from_secs(300),
        }
    }
}

/// `$SCS_CERT_CACHE_DIR`, else `$XDG_CACHE_HOME/scs-cert/components`, else
/// `~/.cache/scs-cert/components`.
pub(crate) fn default_cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("SCS_CERT_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("scs-cert/components"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/scs-cert/components"))
}

/// One log line of a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// `DEBUG`, `INFO`, `WARNING`, `ERROR`, `CRITICAL`.
    pub level: &'static str,
    /// Text.
    pub message: String,
}

/// Verdict of one testcase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// 1
    Pass,
    /// -1
    Fail,
    /// 0
    Abort,
}

impl Verdict {
    /// The report's number.
    pub fn value(self) -> i8 {
        match self {
            Verdict::Pass => 1,
            Verdict::Fail => -1,
            Verdict::Abort => 0,
        }
    }
    /// `PASS` / `FAIL` / `ABORT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::Abort => "ABORT",
        }
    }
}

/// What one check run produced.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// (testcase id, verdict, message) for every requested id, in request order.
    pub results: Vec<(String, Verdict, String)>,
    /// Log lines, capped.
    pub logs: Vec<LogLine>,
    /// Why the whole check aborted (trap, timeout, memory), if it did.
    pub abort: Option<String>,
    /// Mediation counters.
    pub stats: mediate::CheckStats,
    /// Wall time.
    pub elapsed: Duration,
    /// Recorded events (when recording).
    pub events: Option<Vec<crate::mediate::transcript::Event>>,
    /// Replay divergence, if any.
    pub divergence: Option<crate::mediate::transcript::Divergence>,
    /// The check's reads of signed data, in order (recorded with `--record`).
    pub data_reads: Vec<crate::data::access::DataRead>,
}

/// A component that passed the load checks, ready to instantiate.
#[derive(Clone)]
pub struct LoadedComponent {
    pre: bindings::CheckPre<HostState>,
    /// Whether it came from the compile cache.
    pub from_cache: bool,
}

impl std::fmt::Debug for LoadedComponent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedComponent")
            .field("from_cache", &self.from_cache)
            .finish()
    }
}

/// Host bytes one table element costs at least (a pointer; what [`Limiter`] charges).
pub(crate) const TABLE_ELEMENT_BYTES: usize = 8;

/// One budget for everything a component makes the host allocate for it: every linear memory
/// of every core instance (multi-memory modules and components of several modules included)
/// and every table (charged [`TABLE_ELEMENT_BYTES`] per element), summed. Each growth is
/// decided before wasmtime allocates it, so the sum never passes `memory_limit`.
struct Limiter {
    memory_limit: usize,
    /// Bytes granted so far, memories and tables together.
    used: usize,
    exceeded: bool,
}

impl Limiter {
    fn new(memory_limit: usize) -> Limiter {
        Limiter {
            memory_limit,
            used: 0,
            exceeded: false,
        }
    }

    /// Grant growing by `delta` bytes if the sum stays within the budget.
    fn grow(&mut self, delta: usize) -> bool {
        match self.used.checked_add(delta) {
            Some(total) if total <= self.memory_limit => {
                self.used = total;
                true
            }
            _ => {
                self.exceeded = true;
                false
            }
        }
    }
}

impl ResourceLimiter for Limiter {
    // wasmtime asks before it checks the declared maximum: growth past it fails anyway and
    // must not be charged.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if max.is_some_and(|m| desired > m) {
            return Ok(false);
        }
        Ok(self.grow(desired.saturating_sub(current)))
    }
    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if max.is_some_and(|m| desired > m) {
            return Ok(false);
        }
        let delta = desired.saturating_sub(current);
        Ok(self.grow(delta.saturating_mul(TABLE_ELEMENT_BYTES)))
    }
    fn instances(&self) -> usize {
        64
    }
    fn tables(&self) -> usize {
        64
    }
    fn memories(&self) -> usize {
        16
    }
}

/// Store data of one check run.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    mediator: CheckMediator,
    logs: Vec<LogLine>,
    log_bytes: usize,
    logs_dropped: usize,
    limits: LogLimits,
    /// Clock reads and sleeps so far (each is recorded with `--record`).
    clock_calls: u64,
    /// What the check may read of the run's signed data (the `data` interface).
    data: crate::data::access::CheckData,
}

/// Clock reads and sleeps one check may make (a poll loop needs hundreds; each call is an
/// event of the transcript, so an unbounded number would be unbounded host memory).
pub(crate) const MAX_CLOCK_CALLS_PER_CHECK: u64 = 100_000;

/// Results for testcases the host did not ask for are named one per line up to this many,
/// then counted in one line (a component returning a million bogus ids must not make a
/// million report lines).
const MAX_UNREQUESTED_LINES: usize = 10;

impl HostState {
    /// Count one clock call; an error past [`MAX_CLOCK_CALLS_PER_CHECK`].
    fn clock_call(&mut self) -> wasmtime::Result<()> {
        self.clock_calls += 1;
        if self.clock_calls > MAX_CLOCK_CALLS_PER_CHECK {
            return Err(wasmtime::Error::msg(format!(
                "more than {MAX_CLOCK_CALLS_PER_CHECK} clock reads and sleeps; a check polls with \
                 sleeps of at least a second"
            )));
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
struct LogLimits {
    lines: usize,
    line_bytes: usize,
    bytes: usize,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Debug => "DEBUG",
        Level::Info => "INFO",
        Level::Warning => "WARNING",
        Level::Error => "ERROR",
        Level::Critical => "CRITICAL",
    }
}

fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str(" [cut]");
    }
}

impl HostState {
    fn push_log(&mut self, level: &'static str, mut message: String) {
        if self.logs.len() >= self.limits.lines || self.log_bytes >= self.limits.bytes {
            self.logs_dropped += 1;
            return;
        }
        truncate_utf8(&mut message, self.limits.line_bytes);
        self.log_bytes += message.len();
        self.logs.push(LogLine { level, message });
    }
}

impl bindings::scs::check::types::Host for HostState {}

impl bindings::scs::check::log::Host for HostState {
    async fn emit(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        self.push_log(level_name(level), message);
        Ok(())
    }
}

// Imports are trappable only for one reason: a replay that diverges from its
// transcript stops the component at once (the divergence is kept in the
// mediator and becomes the ABORT reason), instead of feeding it a made-up
// answer.
impl bindings::scs::check::clock::Host for HostState {
    async fn now(&mut self) -> wasmtime::Result<u64> {
        self.clock_call()?;
        self.mediator.now().map_err(wasmtime::Error::msg)
    }
    async fn sleep(&mut self, ms: u64) -> wasmtime::Result<()> {
        self.clock_call()?;
        self.mediator.sleep(ms).await.map_err(wasmtime::Error::msg)
    }
}

fn to_api_request(r: wit_os::Request) -> ApiRequest {
    ApiRequest {
        service_type: r.service_type,
        method: match r.method {
            wit_os::Method::Get => mediate::Method::Get,
            wit_os::Method::Head => mediate::Method::Head,
            wit_os::Method::Post => mediate::Method::Post,
            wit_os::Method::Put => mediate::Method::Put,
            wit_os::Method::Patch => mediate::Method::Patch,
            wit_os::Method::Delete => mediate::Method::Delete,
        },
        path: r.path,
        query: r.query,
        headers: r.headers,
        body: r.body,
        anchor: match r.anchor {
            wit_os::Anchor::Endpoint => mediate::Anchor::Endpoint,
            wit_os::Anchor::HostRoot => mediate::Anchor::HostRoot,
        },
        shared: r.shared,
    }
}

impl wit_os::Host for HostState {
    async fn send(
        &mut self,
        req: wit_os::Request,
    ) -> wasmtime::Result<Result<wit_os::Response, wit_os::Error>> {
        let result = self
            .mediator
            .send(to_api_request(req))
            .await
            .map_err(wasmtime::Error::msg)?;
        Ok(match result {
            Ok(r) => Ok(wit_os::Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            }),
            Err(e) => Err(match e {
                ApiError::Denied(m) => wit_os::Error::Denied(m),
                ApiError::NoEndpoint(m) => wit_os::Error::NoEndpoint(m),
                ApiError::Timeout(m) => wit_os::Error::Timeout(m),
                ApiError::TooLarge(m) => wit_os::Error::TooLarge(m),
                ApiError::Transport(m) => wit_os::Error::Transport(m),
            }),
        })
    }

    async fn resolved_endpoint(
        &mut self,
        service_type: String,
    ) -> wasmtime::Result<Result<String, wit_os::Error>> {
        let result = self
            .mediator
            .resolved_endpoint(&service_type)
            .await
            .map_err(wasmtime::Error::msg)?;
        Ok(result.map_err(|e| match e {
            ApiError::Denied(m) => wit_os::Error::Denied(m),
            ApiError::NoEndpoint(m) => wit_os::Error::NoEndpoint(m),
            ApiError::Timeout(m) => wit_os::Error::Timeout(m),
            ApiError::TooLarge(m) => wit_os::Error::TooLarge(m),
            ApiError::Transport(m) => wit_os::Error::Transport(m),
        }))
    }

    async fn identity(&mut self) -> wasmtime::Result<wit_os::IdentityInfo> {
        let i = self.mediator.identity();
        Ok(wit_os::IdentityInfo {
            user: i.user,
            project: i.project,
            project_id: i.project_id,
            roles: i.roles,
            region: i.region,
            interface: i.interface,
        })
    }

    async fn catalog(&mut self) -> wasmtime::Result<Vec<wit_os::Service>> {
        Ok(self
            .mediator
            .catalog()
            .iter()
            .map(|s| wit_os::Service {
                type_: s.service_type.clone(),
                name: s.name.clone(),
                endpoints: s
                    .endpoints
                    .iter()
                    .map(|e| wit_os::Endpoint {
                        interface: e.interface.clone(),
                        region: e.region.clone(),
                        url: e.url.clone(),
                    })
                    .collect(),
            })
            .collect())
    }
}

use bindings::scs::check::kubernetes as wit_kube;

fn to_kube_request(r: wit_kube::Request) -> mediate::kube::KubeRequest {
    mediate::kube::KubeRequest {
        method: match r.method {
            wit_kube::Method::Get => mediate::Method::Get,
            wit_kube::Method::Head => mediate::Method::Head,
            wit_kube::Method::Post => mediate::Method::Post,
            wit_kube::Method::Put => mediate::Method::Put,
            wit_kube::Method::Patch => mediate::Method::Patch,
            wit_kube::Method::Delete => mediate::Method::Delete,
        },
        path: r.path,
        query: r.query,
        headers: r.headers,
        body: r.body,
    }
}

fn to_wit_kube_error(e: mediate::kube::KubeApiError) -> wit_kube::Error {
    use mediate::kube::KubeApiError as K;
    match e {
        K::Denied(m) => wit_kube::Error::Denied(m),
        K::NoCluster(m) => wit_kube::Error::NoCluster(m),
        K::Timeout(m) => wit_kube::Error::Timeout(m),
        K::TooLarge(m) => wit_kube::Error::TooLarge(m),
        K::Transport(m) => wit_kube::Error::Transport(m),
    }
}

/// The cluster interface (KaaS): every call goes through the check's mediator, which holds
/// its `kubernetes:` grants and the run's cluster (or the transcript).
impl wit_kube::Host for HostState {
    async fn send(
        &mut self,
        req: wit_kube::Request,
    ) -> wasmtime::Result<Result<wit_kube::Response, wit_kube::Error>> {
        let result = self
            .mediator
            .kube_send(to_kube_request(req))
            .await
            .map_err(wasmtime::Error::msg)?;
        Ok(result
            .map(|r| wit_kube::Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            })
            .map_err(to_wit_kube_error))
    }

    async fn cluster(
        &mut self,
    ) -> wasmtime::Result<Result<wit_kube::ClusterInfo, wit_kube::Error>> {
        Ok(self
            .mediator
            .cluster_info()
            .map(|i| wit_kube::ClusterInfo {
                server: i.server,
                context: i.context,
            })
            .map_err(to_wit_kube_error))
    }
}

/// The offline-data interface (KaaS): the run's verified data file, through the check's
/// `data:<name>:read` grants; `crate::data::access` decides and records every read.
impl bindings::scs::check::data::Host for HostState {
    async fn get(
        &mut self,
        name: String,
    ) -> wasmtime::Result<
        Result<bindings::scs::check::data::Dataset, bindings::scs::check::data::Error>,
    > {
        use crate::data::access::Served;
        use bindings::scs::check::data::{Dataset, Error};
        Ok(match self.data.get(&name).map_err(wasmtime::Error::msg)? {
            Served::Dataset(d, generated_at) => Ok(Dataset {
                name: d.name.clone(),
                generated_at,
                sha256: d.sha256.clone(),
                content: d.content.to_vec(),
            }),
            Served::Denied(m) => Err(Error::Denied(m)),
            Served::Missing(m) => Err(Error::Missing(m)),
            Served::Stale(m) => Err(Error::Stale(m)),
        })
    }
}

use bindings::scs::check::conformance as wit_conf;

/// The Sonobuoy suites (KaaS): the check names a suite, nothing else; the check's mediator
/// decides on its `tool:sonobuoy:run` grant, runs it or reads the archive (see
/// [`crate::sonobuoy`]), and records the results.
impl wit_conf::Host for HostState {
    async fn run(
        &mut self,
        suite: wit_conf::Suite,
    ) -> wasmtime::Result<Result<wit_conf::Results, wit_conf::Error>> {
        use crate::sonobuoy::{ConformanceError as E, Origin, Suite};
        let suite = match suite {
            wit_conf::Suite::CncfK8sConformance => Suite::CncfK8sConformance,
            wit_conf::Suite::KaasNetworkingCheck => Suite::KaasNetworkingCheck,
        };
        let result = self
            .mediator
            .conformance_run(suite)
            .await
            .map_err(wasmtime::Error::msg)?;
        Ok(result
            .map(|r| wit_conf::Results {
                sha256: r.sha256,
                origin: match r.origin {
                    Origin::Ran => wit_conf::Origin::Ran,
                    Origin::Archive => wit_conf::Origin::Archive,
                },
                source: r.source,
                results_yaml: r.results_yaml,
            })
            .map_err(|e| match e {
                E::Denied(m) => wit_conf::Error::Denied(m),
                E::ToolMissing(m) => wit_conf::Error::ToolMissing(m),
                E::Failed(m) => wit_conf::Error::Failed(m),
                E::Timeout(m) => wit_conf::Error::Timeout(m),
                E::TooLarge(m) => wit_conf::Error::TooLarge(m),
            }))
    }
}

/// Name of the compile cache's MAC key file, inside the cache directory.
pub(crate) const CACHE_KEY_FILE: &str = "cache.key";
/// Extension of a cache entry's MAC sidecar (`<sha256>-<engine>.cwasm.mac`).
const MAC_EXTENSION: &str = "cwasm.mac";
/// Extension of the plain-sha256 sidecar of older versions: such entries are never loaded.
const OLD_SUM_EXTENSION: &str = "cwasm.sha256";
/// Domain separation of the entry MAC.
const MAC_LABEL: &[u8] = b"scs-cert compile cache entry v1";
const KEY_LEN: usize = 32;
const MAC_LEN: usize = 32;
/// Larger cache entries are not read (components are at most 32 MiB).
const MAX_ENTRY_BYTES: u64 = 1 << 30;

type HmacSha256 = Hmac<Sha256>;

/// The compile cache's secret MAC key (the contents of `cache.key`).
struct CacheKey([u8; KEY_LEN]);

/// Why the compile cache (or one entry of it) is not used. Never fails a load: it is
/// logged and the component compiled.
#[derive(Debug, thiserror::Error)]
enum CacheError {
    /// A file operation failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
    /// An atomic write failed.
    #[error(transparent)]
    Write(#[from] crate::fsutil::WriteError),
    /// The key file exists but is not one this program may trust.
    #[error("{}: {reason}", path.display())]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// No randomness for a new key.
    #[error("no randomness for a new cache key: {0}")]
    Random(String),
    /// An entry that is not loaded.
    #[error("{0}")]
    Untrusted(String),
}

/// The MAC of a cache entry: HMAC-SHA256 under the cache key over the domain label, the
/// component's sha256, the engine key and the native code, each length-prefixed.
fn entry_mac(key: &CacheKey, sha256: &str, engine_key: &str, cwasm: &[u8]) -> HmacSha256 {
    let mut m = <HmacSha256 as hmac::digest::KeyInit>::new(&hmac_key(&key.0));
    for field in [MAC_LABEL, sha256.as_bytes(), engine_key.as_bytes(), cwasm] {
        m.update(&(field.len() as u64).to_le_bytes());
        m.update(field);
    }
    m
}

/// The 32-byte key zero-padded to the SHA-256 block, which is what HMAC does with a key
/// shorter than the block (RFC 2104), without a fallible `new_from_slice`.
fn hmac_key(key: &[u8; KEY_LEN]) -> hmac::digest::Key<HmacSha256> {
    let mut k = hmac::digest::Key::<HmacSha256>::default();
    k[..KEY_LEN].copy_from_slice(key);
    k
}

/// Open a regular file for reading, without following a symlink or blocking on a FIFO.
/// Returns it with its metadata (of the opened file, not of the name).
fn open_regular(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), CacheError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io = |source| CacheError::Io {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(io)?;
    let meta = f.metadata().map_err(io)?;
    if !meta.file_type().is_file() {
        return Err(CacheError::Untrusted(format!(
            "{}: not a regular file",
            path.display()
        )));
    }
    Ok((f, meta))
}

/// Read a regular file of at most `max` bytes (see [`open_regular`]).
fn read_bounded(path: &Path, max: u64) -> Result<Vec<u8>, CacheError> {
    use std::io::Read;
    let (f, meta) = open_regular(path)?;
    if meta.len() > max {
        return Err(CacheError::Untrusted(format!(
            "{}: larger than {max} bytes",
            path.display()
        )));
    }
    let mut bytes = Vec::new();
    f.take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| CacheError::Io {
            path: path.to_path_buf(),
            source,
        })?;
    if bytes.len() as u64 > max {
        return Err(CacheError::Untrusted(format!(
            "{}: larger than {max} bytes",
            path.display()
        )));
    }
    Ok(bytes)
}

/// The effective user id (whose files the key must be).
fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions, cannot fail and touches no memory of ours.
    #[allow(unsafe_code)]
    unsafe {
        libc::geteuid()
    }
}

/// Read `cache.key` if it is a regular file owned by this user, mode 0600, of exactly 32
/// bytes. `Ok(None)` if there is none.
fn read_cache_key(path: &Path) -> Result<Option<CacheKey>, CacheError> {
    use std::io::Read;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let bad = |reason: String| CacheError::BadKey {
        path: path.to_path_buf(),
        reason,
    };
    let (mut f, meta) = match open_regular(path) {
        Ok(x) => x,
        Err(CacheError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(None);
        }
        Err(CacheError::Io { source, .. }) => {
            return Err(bad(format!("cannot open it (a symlink?): {source}")));
        }
        Err(e) => return Err(bad(e.to_string())),
    };
    if meta.uid() != effective_uid() {
        return Err(bad(format!(
            "owned by uid {}, not by this user",
            meta.uid()
        )));
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode != 0o600 {
        return Err(bad(format!("mode {mode:04o}, not 0600")));
    }
    if meta.len() != KEY_LEN as u64 {
        return Err(bad(format!("{} bytes, not {KEY_LEN}", meta.len())));
    }
    let mut key = [0u8; KEY_LEN];
    f.read_exact(&mut key)
        .map_err(|e| bad(format!("cannot read it: {e}")))?;
    Ok(Some(CacheKey(key)))
}

/// Create `cache.key` with fresh randomness, mode 0600. The key is written to a temporary
/// file created with `O_CREAT | O_EXCL` and then hard-linked to its name, which fails if
/// the name exists: a concurrent run never sees a half-written key, and of two runs
/// creating one at once, one wins and both use its key.
fn create_cache_key(dir: &Path, path: &Path) -> Result<(), CacheError> {
    use rand_core::RngCore;
    use std::io::Write;
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut key = [0u8; KEY_LEN];
    rand_core::OsRng
        .try_fill_bytes(&mut key)
        .map_err(|e| CacheError::Random(e.to_string()))?;
    let mut nonce = [0u8; 8];
    rand_core::OsRng
        .try_fill_bytes(&mut nonce)
        .map_err(|e| CacheError::Random(e.to_string()))?;
    let tmp = dir.join(format!(
        ".{CACHE_KEY_FILE}.{}.{}.tmp",
        std::process::id(),
        hex::encode(nonce)
    ));
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| CacheError::Io { path: p, source }
    };
    let result = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(io(&tmp))?;
        // The umask may have narrowed the mode; the key must be exactly 0600.
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io(&tmp))?;
        f.write_all(&key).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
        match std::fs::hard_link(&tmp, path) {
            Ok(()) => {}
            // Another run was quicker: use its key.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(io(path)(e)),
        }
        let _ = crate::fsutil::sync_dir(dir);
        Ok(())
    })();
    let _ = std::fs::remove_file(&tmp);
    result
}

/// Set up the cache directory (created mode 0700) and return its MAC key, creating the key
/// file if there is none. A key file that cannot be trusted (not a regular file, another
/// owner, a mode other than 0600, a wrong length) is replaced by a fresh key, with a
/// warning: every entry made under the old key then fails its MAC and is recompiled.
fn open_cache_key(dir: &Path) -> Result<CacheKey, CacheError> {
    crate::fsutil::create_private_dir(dir).map_err(|source| CacheError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let path = dir.join(CACHE_KEY_FILE);
    for _ in 0..3 {
        match read_cache_key(&path) {
            Ok(Some(k)) => return Ok(k),
            Ok(None) => create_cache_key(dir, &path)?,
            Err(e @ CacheError::BadKey { .. }) => {
                tracing::warn!(path = %path.display(), "compile cache key not trusted ({e}); replacing it, every entry will be recompiled");
                match std::fs::remove_file(&path) {
                    Err(source) if source.kind() != std::io::ErrorKind::NotFound => {
                        return Err(CacheError::Io { path, source });
                    }
                    _ => {}
                }
                create_cache_key(dir, &path)?;
            }
            Err(e) => return Err(e),
        }
    }
    Err(CacheError::BadKey {
        path,
        reason: "keeps changing while being set up".into(),
    })
}

/// Whether an import name is allowed for a check component.
pub(crate) fn import_allowed(name: &str) -> bool {
    if let Some(rest) = name.strip_prefix("scs:check/") {
        return SERVED_VERSIONS.iter().any(|v| rest.ends_with(v));
    }
    name.starts_with("wasi:cli/")
        || name.starts_with("wasi:io/")
        || name.starts_with("wasi:random/")
}

/// The engine, linker and compile cache, shared by all checks of a run.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<HostState>,
    config: SandboxConfig,
    engine_key: String,
    cache_key: OnceLock<Option<CacheKey>>,
    stop_ticker: Arc<AtomicBool>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl Sandbox {
    /// Configure the engine and linker and start the epoch ticker.
    pub fn new(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        let mut c = Config::new();
        c.wasm_component_model(true)
            .epoch_interruption(true)
            .cranelift_nan_canonicalization(true)
            .max_wasm_stack(2 << 20);
        let engine = Engine::new(&c).map_err(|e| SandboxError::Engine(e.to_string()))?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| SandboxError::Engine(e.to_string()))?;
        bindings::Check::add_to_linker::<HostState, HasSelf<HostState>>(&mut linker, |s| s)
            .map_err(|e| SandboxError::Engine(e.to_string()))?;
        let mut h = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        let engine_key = format!("{:016x}", h.finish());
        let stop_ticker = Arc::new(AtomicBool::new(false));
        let (e2, stop) = (engine.clone(), stop_ticker.clone());
        std::thread::Builder::new()
            .name("scs-cert-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    e2.increment_epoch();
                }
            })
            .map_err(|e| SandboxError::Engine(format!("cannot start the epoch ticker: {e}")))?;
        Ok(Sandbox {
            engine,
            linker,
            config,
            engine_key,
            cache_key: OnceLock::new(),
            stop_ticker,
        })
    }

    /// The settings.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    /// The cache directory and its MAC key, set up on first use (once per sandbox). Any
    /// problem disables the cache for this sandbox with a warning; it never fails a load.
    fn cache(&self) -> Option<(&Path, &CacheKey)> {
        let dir = self.config.cache_dir.as_deref()?;
        let key = self
            .cache_key
            .get_or_init(|| match open_cache_key(dir) {
                Ok(k) => Some(k),
                Err(e) => {
                    tracing::warn!(dir = %dir.display(), "compile cache disabled: {e}");
                    None
                }
            })
            .as_ref()?;
        Some((dir, key))
    }

    fn entry_path(&self, dir: &Path, sha256: &str) -> PathBuf {
        dir.join(format!("{sha256}-{}.cwasm", self.engine_key))
    }

    /// The cached compilation of the component whose sha256 is `sha256`, if its entry
    /// carries a valid MAC under the cache key. Anything else is never deserialized.
    fn cached_component(&self, dir: &Path, key: &CacheKey, sha256: &str) -> Option<Component> {
        let path = self.entry_path(dir, sha256);
        let mac_path = path.with_extension(MAC_EXTENSION);
        let old_sidecar = path.with_extension(OLD_SUM_EXTENSION);
        match std::fs::symlink_metadata(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            _ => {}
        }
        let verified = (|| -> Result<Vec<u8>, CacheError> {
            if old_sidecar.exists() && !mac_path.exists() {
                return Err(CacheError::Untrusted(
                    "old-format entry with a plain sha256 sidecar".into(),
                ));
            }
            let bytes = read_bounded(&path, MAX_ENTRY_BYTES)?;
            let mac_hex = read_bounded(&mac_path, (2 * MAC_LEN + 2) as u64)?;
            let mac = std::str::from_utf8(&mac_hex)
                .ok()
                .and_then(|t| hex::decode(t.trim()).ok())
                .ok_or_else(|| CacheError::Untrusted("the MAC sidecar is not hex".into()))?;
            entry_mac(key, sha256, &self.engine_key, &bytes)
                .verify_slice(&mac)
                .map_err(|_| CacheError::Untrusted("wrong MAC".into()))?;
            Ok(bytes)
        })();
        let bytes = match verified {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(path = %path.display(), "compile cache entry not trusted ({e}); recompiling");
                return None;
            }
        };
        // SAFETY: `Component::deserialize` trusts its input to be native code that this
        // program compiled. These bytes carry a valid HMAC-SHA256 (checked in constant
        // time just above) under the per-user secret key in `cache.key` (a regular file owned
        // by this user, mode 0600, checked when it was read), over this component's sha256,
        // this engine's key and the bytes themselves: only a writer holding the key, i.e.
        // `store_in_cache` of this program for the user, can have produced them, from
        // exactly these component bytes with an engine of this configuration. wasmtime
        // also checks the engine configuration embedded in the artifact.
        #[allow(unsafe_code)]
        let c = unsafe { Component::deserialize(&self.engine, &bytes) };
        match c {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::warn!(path = %path.display(), "compile cache entry does not load ({e}); recompiling");
                None
            }
        }
    }

    /// Write (or overwrite) the entry of `component`: the native code, then its MAC, each
    /// through [`crate::fsutil::write_atomic_private`]. A crash between the two leaves an
    /// entry whose MAC does not match, which is recompiled.
    fn store_in_cache(&self, dir: &Path, key: &CacheKey, sha256: &str, component: &Component) {
        let path = self.entry_path(dir, sha256);
        let result = (|| -> Result<(), CacheError> {
            let bytes = component
                .serialize()
                .map_err(|e| CacheError::Untrusted(format!("cannot serialize: {e}")))?;
            let mac = entry_mac(key, sha256, &self.engine_key, &bytes).finalize();
            crate::fsutil::write_atomic_private(&path, &bytes)?;
            crate::fsutil::write_atomic_private(
                &path.with_extension(MAC_EXTENSION),
                hex::encode(mac.into_bytes()).as_bytes(),
            )?;
            match std::fs::remove_file(path.with_extension(OLD_SUM_EXTENSION)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(CacheError::Io {
                        path: path.with_extension(OLD_SUM_EXTENSION),
                        source: e,
                    });
                }
                _ => {}
            }
            Ok(())
        })();
        if let Err(e) = result {
            tracing::warn!(path = %path.display(), "cannot write the compile cache: {e}");
        }
    }

    /// Compile (or load from cache) `wasm`, whose sha256 is `sha256`, and
    /// refuse it if it imports anything outside the world or its exports
    /// do not match.
    pub fn load(
        &self,
        check_id: &str,
        wasm: &[u8],
        sha256: &str,
    ) -> Result<LoadedComponent, SandboxError> {
        let cache = self.cache().filter(|_| {
            // The cache is keyed by the sha256 of the bytes that are compiled, never by a
            // caller's claim about them.
            let matches = hex::encode(Sha256::digest(wasm)) == sha256;
            if !matches {
                tracing::warn!(
                    check = check_id,
                    "the given sha256 is not that of the component; compile cache not used"
                );
            }
            matches
        });
        let cached = cache.and_then(|(dir, key)| self.cached_component(dir, key, sha256));
        let (component, from_cache) = match cached {
            Some(c) => (c, true),
            None => {
                let c = Component::new(&self.engine, wasm).map_err(|e| SandboxError::Invalid {
                    check: check_id.to_string(),
                    message: format!("{e:#}"),
                })?;
                (c, false)
            }
        };
        let ty = component.component_type();
        for (name, _) in ty.imports(&self.engine) {
            if !import_allowed(name) {
                return Err(SandboxError::ForbiddenImport {
                    check: check_id.to_string(),
                    import: name.to_string(),
                    world: WIT_PACKAGE,
                });
            }
        }
        let pre =
            self.linker
                .instantiate_pre(&component)
                .map_err(|e| SandboxError::BadExports {
                    check: check_id.to_string(),
                    world: WIT_PACKAGE,
                    message: format!("{e:#}"),
                })?;
        let pre = bindings::CheckPre::new(pre).map_err(|e| SandboxError::BadExports {
            check: check_id.to_string(),
            world: WIT_PACKAGE,
            message: format!("{e:#}"),
        })?;
        if let (false, Some((dir, key))) = (from_cache, cache) {
            self.store_in_cache(dir, key, sha256, &component);
        }
        Ok(LoadedComponent { pre, from_cache })
    }

    /// Effective deadline and memory for a check's requested limits.
    pub(crate) fn effective_limits(
        &self,
        timeout_secs: Option<u64>,
        memory_mib: Option<u64>,
    ) -> (Duration, u64) {
        let t = timeout_secs
            .map(Duration::from_secs)
            .unwrap_or(self.config.default_timeout)
            .min(self.config.max_timeout);
        let m = memory_mib
            .unwrap_or(self.config.default_memory_mib)
            .min(self.config.max_memory_mib);
        (t, m)
    }

    /// Run one check in a fresh store. Never fails: every problem becomes
    /// an ABORT reason in the outcome. The check has no signed data (see
    /// [`Sandbox::run_with_data`]).
    pub async fn run(
        &self,
        loaded: &LoadedComponent,
        mediator: CheckMediator,
        testcases: &[String],
        params: &[(String, String)],
        timeout: Duration,
        memory_mib: u64,
    ) -> CheckOutcome {
        self.run_with_data(
            loaded,
            mediator,
            crate::data::access::CheckData::default(),
            testcases,
            params,
            timeout,
            memory_mib,
        )
        .await
    }

    /// [`Sandbox::run`] with the check's access to the run's signed data.
    #[allow(clippy::too_many_arguments)]
    pub async fn run_with_data(
        &self,
        loaded: &LoadedComponent,
        mediator: CheckMediator,
        data: crate::data::access::CheckData,
        testcases: &[String],
        params: &[(String, String)],
        timeout: Duration,
        memory_mib: u64,
    ) -> CheckOutcome {
        let started = Instant::now();
        let mut wasi = WasiCtxBuilder::new();
        wasi.allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .insecure_random_seed(0x5c5_0003)
            .insecure_random(wasmtime_wasi::Deterministic::new(vec![
                0x5c, 0x5c, 0x00, 0x03,
            ]))
            .secure_random(wasmtime_wasi::Deterministic::new(vec![
                0x5c, 0x5c, 0x00, 0x03,
            ]));
        let memory_limit =
            usize::try_from(memory_mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
        let state = HostState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: Limiter::new(memory_limit),
            mediator,
            logs: Vec::new(),
            log_bytes: 0,
            clock_calls: 0,
            data,
            logs_dropped: 0,
            limits: LogLimits {
                lines: self.config.max_log_lines,
                line_bytes: self.config.max_log_line_bytes,
                bytes: self.config.max_log_bytes,
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        // Fair scheduling: on every epoch tick a running component yields its worker thread
        // to the executor (so a component spinning in pure computation cannot starve the
        // others and change their verdicts), and past its deadline it is interrupted.
        let deadline = std::time::Instant::now() + timeout;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            Ok(if std::time::Instant::now() >= deadline {
                wasmtime::UpdateDeadline::Interrupt
            } else {
                wasmtime::UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
            })
        });

        let stop = store.data().mediator.stop_request().cloned();
        let call = async {
            let inst = loaded.pre.instantiate_async(&mut store).await?;
            inst.call_run(&mut store, testcases, params).await
        };
        // the run's stop ends the call as the deadline does: the component's code runs no
        // further, what it logged and spent stays
        let outcome = tokio::select! {
            o = tokio::time::timeout(timeout, call) => Ok(o),
            why = crate::stop::stopped(stop.as_ref()) => Err(why),
        };
        let state = store.data_mut();
        let (raw, abort) = match outcome {
            Err(why) => (
                None,
                Some(format!(
                    "stopped: the run was stopped ({why}) while the check ran; the host ended it"
                )),
            ),
            Ok(outcome) => match outcome {
                Err(_) => (
                    None,
                    Some(format!(
                        "deadline of {} s exceeded (while waiting for the host); {STOPPED}",
                        timeout.as_secs_f64()
                    )),
                ),
                Ok(Ok(r)) => (Some(r), None),
                Ok(Err(e)) => {
                    let reason = if let Some(d) = state.mediator.divergence() {
                        d.to_string()
                    } else if state.limiter.exceeded {
                        format!("memory limit of {memory_mib} MiB exceeded")
                    } else if e.downcast_ref::<Trap>() == Some(&Trap::Interrupt) {
                        format!(
                            "deadline of {} s exceeded; {STOPPED}",
                            timeout.as_secs_f64()
                        )
                    } else if let Some(t) = e.downcast_ref::<Trap>() {
                        format!("the check trapped: {t}")
                    } else {
                        format!("the check failed: {e:#}")
                    };
                    (None, Some(reason))
                }
            },
        };
        if state.logs_dropped > 0 {
            let n = state.logs_dropped;
            state.logs.push(LogLine {
                level: "WARNING",
                message: format!("log capped: {n} further lines of this check were dropped"),
            });
        }
        let mut results = Vec::with_capacity(testcases.len());
        match (&raw, &abort) {
            (Some(list), _) => {
                let unrequested: Vec<&str> = list
                    .iter()
                    .filter(|r| !testcases.contains(&r.id))
                    .map(|r| r.id.as_str())
                    .collect();
                for id in unrequested.iter().take(MAX_UNREQUESTED_LINES) {
                    let id: String = id.chars().take(200).collect();
                    state.logs.push(LogLine {
                        level: "WARNING",
                        message: format!(
                            "the check returned a result for {id:?}, which was not requested; ignored"
                        ),
                    });
                }
                if unrequested.len() > MAX_UNREQUESTED_LINES {
                    state.logs.push(LogLine {
                        level: "WARNING",
                        message: format!(
                            "the check returned {} more results for testcases not requested; ignored",
                            unrequested.len() - MAX_UNREQUESTED_LINES
                        ),
                    });
                }
                for t in testcases {
                    // A later result for the same id overwrites an earlier one (a.3 step 6).
                    match list.iter().rev().find(|r| &r.id == t) {
                        Some(r) => {
                            let v = match r.verdict {
                                WitVerdict::Pass => Verdict::Pass,
                                WitVerdict::Fail => Verdict::Fail,
                                WitVerdict::Abort => Verdict::Abort,
                            };
                            results.push((t.clone(), v, r.message.clone()));
                        }
                        None => results.push((
                            t.clone(),
                            Verdict::Abort,
                            "the check returned no result for this testcase".to_string(),
                        )),
                    }
                }
            }
            (None, reason) => {
                let reason = reason.clone().unwrap_or_default();
                state.logs.push(LogLine {
                    level: "CRITICAL",
                    message: format!("check aborted: {reason}"),
                });
                for t in testcases {
                    results.push((t.clone(), Verdict::Abort, reason.clone()));
                }
            }
        }
        let divergence = state.mediator.divergence();
        CheckOutcome {
            results,
            logs: std::mem::take(&mut state.logs),
            abort,
            stats: state.mediator.stats().clone(),
            elapsed: started.elapsed(),
            events: state.mediator.take_events(),
            divergence,
            data_reads: state.data.take_reads(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_allow_list() {
        assert!(import_allowed("scs:check/openstack@0.1.0"));
        assert!(import_allowed("scs:check/openstack@0.1.1"));
        assert!(import_allowed("scs:check/kubernetes@0.1.1"));
        assert!(import_allowed("scs:check/conformance@0.1.2"));
        assert!(import_allowed("scs:check/openstack@0.1.3"));
        assert!(!import_allowed("scs:check/conformance@0.1.4"));
        assert!(import_allowed("wasi:io/streams@0.2.6"));
        assert!(import_allowed("wasi:cli/stdout@0.2.6"));
        assert!(!import_allowed("scs:check/openstack@0.2.0"));
        assert!(!import_allowed("scs:evil/net@0.1.0"));
        assert!(!import_allowed("wasi:filesystem/preopens@0.2.6"));
        assert!(!import_allowed("wasi:sockets/tcp@0.2.6"));
        assert!(!import_allowed("wasi:http/outgoing-handler@0.2.6"));
        assert!(!import_allowed("wasi:clocks/wall-clock@0.2.6"));
    }

    fn scratch_dir() -> PathBuf {
        std::env::temp_dir().join(format!("scs-sandbox-{}", uuid::Uuid::new_v4()))
    }

    fn mode_of(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::symlink_metadata(p)
            .expect("meta")
            .permissions()
            .mode()
            & 0o7777
    }

    /// An empty component: valid, compiles, enough to exercise the cache entries.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    fn sandbox_with_cache(dir: &Path) -> Sandbox {
        Sandbox::new(SandboxConfig {
            cache_dir: Some(dir.to_path_buf()),
            ..Default::default()
        })
        .expect("sandbox")
    }

    /// Hardening, hole 3: the cache directory is created 0700 and the key file 0600, 32
    /// random bytes; a second setup reads the same key.
    #[test]
    fn cache_key_and_directory_are_private() {
        let base = scratch_dir();
        let dir = base.join("a/components");
        let k1 = open_cache_key(&dir).expect("key");
        assert_eq!(mode_of(&dir), 0o700);
        let key_path = dir.join(CACHE_KEY_FILE);
        assert_eq!(mode_of(&key_path), 0o600);
        assert_eq!(std::fs::read(&key_path).expect("read").len(), KEY_LEN);
        let k2 = open_cache_key(&dir).expect("key again");
        assert_eq!(k1.0, k2.0);
        assert_ne!(k1.0, [0u8; KEY_LEN]);
        // Nothing else left behind (no temporary files).
        let names: Vec<_> = std::fs::read_dir(&dir)
            .expect("ls")
            .filter_map(|e| e.ok().map(|e| e.file_name()))
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from(CACHE_KEY_FILE)]);
        let _ = std::fs::remove_dir_all(&base);
    }

    /// A key file that is readable by others, of the wrong length, or a symlink is not
    /// trusted: it is replaced by a fresh private key.
    #[test]
    fn an_untrusted_key_file_is_replaced() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch_dir();
        let key_path = dir.join(CACHE_KEY_FILE);
        let k1 = open_cache_key(&dir).expect("key");

        std::fs::set_permissions(&key_path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        assert!(matches!(
            read_cache_key(&key_path),
            Err(CacheError::BadKey { .. })
        ));
        let k2 = open_cache_key(&dir).expect("replaced");
        assert_ne!(k1.0, k2.0);
        assert_eq!(mode_of(&key_path), 0o600);

        std::fs::write(&key_path, b"short").expect("truncate");
        let k3 = open_cache_key(&dir).expect("replaced");
        assert_ne!(k2.0, k3.0);
        assert_eq!(std::fs::read(&key_path).expect("read").len(), KEY_LEN);

        let elsewhere = dir.join("elsewhere");
        std::fs::write(&elsewhere, [7u8; KEY_LEN]).expect("write");
        std::fs::set_permissions(&elsewhere, std::fs::Permissions::from_mode(0o600))
            .expect("chmod");
        std::fs::remove_file(&key_path).expect("rm");
        std::os::unix::fs::symlink(&elsewhere, &key_path).expect("symlink");
        assert!(matches!(
            read_cache_key(&key_path),
            Err(CacheError::BadKey { .. })
        ));
        let k4 = open_cache_key(&dir).expect("replaced");
        assert_ne!(k4.0, [7u8; KEY_LEN]);
        assert!(!key_path.is_symlink());
        assert_eq!(std::fs::read(&elsewhere).expect("kept"), [7u8; KEY_LEN]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The MAC binds the component's sha256, the engine key and the code.
    #[test]
    fn entry_mac_binds_every_field() {
        let key = CacheKey([1u8; KEY_LEN]);
        let tag = entry_mac(&key, "aa", "e1", b"code").finalize().into_bytes();
        assert!(
            entry_mac(&key, "aa", "e1", b"code")
                .verify_slice(&tag)
                .is_ok()
        );
        for m in [
            entry_mac(&key, "ab", "e1", b"code"),
            entry_mac(&key, "aa", "e2", b"code"),
            entry_mac(&key, "aa", "e1", b"cod3"),
            entry_mac(&key, "aae", "1", b"code"),
            entry_mac(&CacheKey([2u8; KEY_LEN]), "aa", "e1", b"code"),
        ] {
            assert!(m.verify_slice(&tag).is_err());
        }
    }

    /// Hardening, hole 3: an entry is loaded only with a valid MAC; a plain sha256 sidecar
    /// (the old format), a wrong MAC, another component's entry or a new key all make the
    /// host recompile instead of deserializing.
    #[test]
    fn only_entries_with_a_valid_mac_are_deserialized() {
        let dir = scratch_dir();
        let sb = sandbox_with_cache(&dir);
        let (dir_ref, key) = sb.cache().expect("cache");
        let component = Component::new(&sb.engine, EMPTY_COMPONENT).expect("compile");
        let (sha_a, sha_b) = ("a".repeat(64), "b".repeat(64));
        sb.store_in_cache(dir_ref, key, &sha_a, &component);
        let entry = sb.entry_path(&dir, &sha_a);
        assert_eq!(mode_of(&entry), 0o600);
        assert_eq!(mode_of(&entry.with_extension(MAC_EXTENSION)), 0o600);
        assert!(sb.cached_component(dir_ref, key, &sha_a).is_some());

        // Another component's entry copied under this name: refused (the MAC binds the sha256).
        let other = sb.entry_path(&dir, &sha_b);
        std::fs::copy(&entry, &other).expect("copy");
        std::fs::copy(
            entry.with_extension(MAC_EXTENSION),
            other.with_extension(MAC_EXTENSION),
        )
        .expect("copy mac");
        assert!(sb.cached_component(dir_ref, key, &sha_b).is_none());

        // The old format: a plain sha256 sidecar, no MAC.
        let code = std::fs::read(&entry).expect("read");
        std::fs::remove_file(entry.with_extension(MAC_EXTENSION)).expect("rm mac");
        std::fs::write(
            entry.with_extension(OLD_SUM_EXTENSION),
            hex::encode(Sha256::digest(&code)),
        )
        .expect("sidecar");
        assert!(sb.cached_component(dir_ref, key, &sha_a).is_none());
        // Rewriting the entry removes the old sidecar and makes it loadable again.
        sb.store_in_cache(dir_ref, key, &sha_a, &component);
        assert!(!entry.with_extension(OLD_SUM_EXTENSION).exists());
        assert!(sb.cached_component(dir_ref, key, &sha_a).is_some());

        // Changed code with the old MAC: refused.
        let mut changed = code.clone();
        changed.push(0);
        std::fs::write(&entry, &changed).expect("write");
        assert!(sb.cached_component(dir_ref, key, &sha_a).is_none());
        sb.store_in_cache(dir_ref, key, &sha_a, &component);

        // A fresh key (the old one was replaced): the entry is no longer trusted.
        drop(sb);
        std::fs::remove_file(dir.join(CACHE_KEY_FILE)).expect("rm key");
        let sb = sandbox_with_cache(&dir);
        let (dir_ref, key) = sb.cache().expect("cache");
        assert!(sb.cached_component(dir_ref, key, &sha_a).is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn utf8_truncation() {
        let mut s = "ääää".to_string();
        truncate_utf8(&mut s, 3);
        assert_eq!(s, "ä [cut]");
    }
}

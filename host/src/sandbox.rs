//! The WebAssembly sandbox that check components run in.
//!
//! Owns: the wasmtime `Engine` (component model, epoch interruption, NaN
//! canonicalisation), the import allow-list enforced at load, the on-disk
//! compile cache (keyed by component sha256 and engine compatibility), and
//! running one check: a fresh `Store` with a deny-all WASI context, a memory
//! limit, an epoch deadline plus a wall-clock timeout around host calls, and
//! capped logs. Traps, timeouts and memory overruns become an ABORT reason;
//! they never take the host down.
//!
//! Must never: give a component files, sockets, environment variables, real
//! randomness or clocks; talk to the cloud itself (all `openstack` calls go
//! to [`crate::mediate`]); compile bytes other than the ones that were hashed.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use crate::mediate::{self, ApiError, ApiRequest, CheckMediator};
use sha2::{Digest, Sha256};
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, ResourceLimiter, Store, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Host-side bindings of the `check` world.
#[allow(missing_docs, clippy::all)]
pub mod bindings {
    wasmtime::component::bindgen!({
        world: "check",
        path: "../wit",
        imports: { default: async | trappable },
        exports: { default: async },
    });
}

use bindings::scs::check::openstack as wit_os;
use bindings::scs::check::types::{Level, Verdict as WitVerdict};

/// The WIT package version this host serves.
pub(crate) const WIT_PACKAGE: &str = "scs:check@0.1.0";
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
        "check {check}: refused: it imports `{import}`, which is not part of the {world} world (allowed: scs:check/* of that version and the inert wasi:cli, wasi:io, wasi:random plumbing); rebuild it against wit/ of this host"
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

/// Sandbox settings. Every limit has a documented default.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Compile cache directory (default: `$XDG_CACHE_HOME/scs-cert/components`
    /// or `~/.cache/scs-cert/components`; None disables the cache).
    pub cache_dir: Option<PathBuf>,
    /// Default per-check deadline when check.json gives none (default 300 s).
    pub default_timeout: Duration,
    /// Upper bound on any check's deadline (default 3600 s).
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
            max_timeout: Duration::from_secs(3600),
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

struct Limiter {
    memory_limit: usize,
    exceeded: bool,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            self.exceeded = true;
            return Ok(false);
        }
        Ok(true)
    }
    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
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
        self.mediator.now().map_err(wasmtime::Error::msg)
    }
    async fn sleep(&mut self, ms: u64) -> wasmtime::Result<()> {
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

/// Whether an import name is allowed for a check component.
pub(crate) fn import_allowed(name: &str) -> bool {
    if let Some(rest) = name.strip_prefix("scs:check/") {
        return rest.ends_with("@0.1.0");
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
            stop_ticker,
        })
    }

    /// The settings.
    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    fn cached_component(&self, sha256: &str) -> Option<Component> {
        let dir = self.config.cache_dir.as_ref()?;
        let path = dir.join(format!("{sha256}-{}.cwasm", self.engine_key));
        let sum_path = path.with_extension("cwasm.sha256");
        let bytes = std::fs::read(&path).ok()?;
        let want = std::fs::read_to_string(&sum_path).ok()?;
        if hex::encode(Sha256::digest(&bytes)) != want.trim() {
            tracing::warn!(path = %path.display(), "compile cache entry does not match its checksum; recompiling");
            return None;
        }
        // SAFETY: the bytes were produced by `precompile_component` of an
        // engine with the same compatibility hash (it is in the file name),
        // written by this program into the user's own cache directory, and
        // their sha256 matches the sidecar written with them. wasmtime also
        // checks the engine configuration embedded in the artifact.
        #[allow(unsafe_code)]
        let c = unsafe { Component::deserialize(&self.engine, &bytes) };
        c.ok()
    }

    fn store_in_cache(&self, sha256: &str, component: &Component) {
        let Some(dir) = self.config.cache_dir.as_ref() else {
            return;
        };
        let result = (|| -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            let bytes = component
                .serialize()
                .map_err(|e| std::io::Error::other(e.to_string()))?;
            let path = dir.join(format!("{sha256}-{}.cwasm", self.engine_key));
            let tmp = dir.join(format!(
                ".{sha256}-{}.{}.tmp",
                self.engine_key,
                std::process::id()
            ));
            std::fs::write(&tmp, &bytes)?;
            std::fs::write(
                path.with_extension("cwasm.sha256"),
                hex::encode(Sha256::digest(&bytes)),
            )?;
            std::fs::rename(&tmp, &path)?;
            Ok(())
        })();
        if let Err(e) = result {
            tracing::warn!(dir = %dir.display(), "cannot write the compile cache: {e}");
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
        let (component, from_cache) = match self.cached_component(sha256) {
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
        if !from_cache {
            self.store_in_cache(sha256, &component);
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
    /// an ABORT reason in the outcome.
    pub async fn run(
        &self,
        loaded: &LoadedComponent,
        mediator: CheckMediator,
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
            limiter: Limiter {
                memory_limit,
                exceeded: false,
            },
            mediator,
            logs: Vec::new(),
            log_bytes: 0,
            logs_dropped: 0,
            limits: LogLimits {
                lines: self.config.max_log_lines,
                line_bytes: self.config.max_log_line_bytes,
                bytes: self.config.max_log_bytes,
            },
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        let ticks = (timeout.as_millis() / TICK.as_millis()).max(1) as u64 + 1;
        store.set_epoch_deadline(ticks);
        store.epoch_deadline_trap();

        let call = async {
            let inst = loaded.pre.instantiate_async(&mut store).await?;
            inst.call_run(&mut store, testcases, params).await
        };
        let outcome = tokio::time::timeout(timeout, call).await;
        let state = store.data_mut();
        let (raw, abort) = match outcome {
            Err(_) => (
                None,
                Some(format!(
                    "deadline of {} s exceeded (while waiting for the host)",
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
                    format!("deadline of {} s exceeded", timeout.as_secs_f64())
                } else if let Some(t) = e.downcast_ref::<Trap>() {
                    format!("the check trapped: {t}")
                } else {
                    format!("the check failed: {e:#}")
                };
                (None, Some(reason))
            }
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
                for r in list {
                    if !testcases.contains(&r.id) {
                        state.logs.push(LogLine {
                            level: "WARNING",
                            message: format!("the check returned a result for {:?}, which was not requested; ignored", r.id),
                        });
                    }
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_allow_list() {
        assert!(import_allowed("scs:check/openstack@0.1.0"));
        assert!(import_allowed("wasi:io/streams@0.2.6"));
        assert!(import_allowed("wasi:cli/stdout@0.2.6"));
        assert!(!import_allowed("scs:check/openstack@0.2.0"));
        assert!(!import_allowed("scs:evil/net@0.1.0"));
        assert!(!import_allowed("wasi:filesystem/preopens@0.2.6"));
        assert!(!import_allowed("wasi:sockets/tcp@0.2.6"));
        assert!(!import_allowed("wasi:http/outgoing-handler@0.2.6"));
        assert!(!import_allowed("wasi:clocks/wall-clock@0.2.6"));
    }

    #[test]
    fn utf8_truncation() {
        let mut s = "ääää".to_string();
        truncate_utf8(&mut s, 3);
        assert_eq!(s, "ä [cut]");
    }
}

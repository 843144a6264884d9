//! Mediated cloud access: everything a check component may reach.
//!
//! Owns: the per-check mediator ([`CheckMediator`]: one check's grants, deadline, counters,
//! clock ([`ClockMode`]: real, or virtual for tests of waits) and record/replay source) and
//! the errors of setting up a session. The parts:
//! - [`request`]: request/response types and the rules a request must pass;
//! - [`grants`]: declared capabilities as grants per service type;
//! - [`session`]: the run's cloud session (token, catalog, endpoints, HTTP, shared reads,
//!   limits);
//! - [`clouds`], [`keystone`]: clouds.yaml and authentication;
//! - [`discovery`]: API versions and microversions from the cloud's version documents;
//! - [`http`]: the exchange and the redirect rule both mediations share;
//! - [`transcript`]: recording and replaying what a check exchanged;
//! - [`kube`]: the Kubernetes API server of the KaaS scope (kubeconfig, exec credential
//!   plugins, `kubernetes:` grants, the cluster's HTTP client).
//!
//! Must never: hand the token, a password or a secret to a check (the token
//! is added here, after the check's request is validated, and response
//! headers that could carry it are dropped); let a check reach a host that is
//! not a catalog endpoint; cache an ordinary (non-shared) read; follow a
//! redirect to another origin.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

pub mod clouds;
pub(crate) mod discovery;
pub mod grants;
pub(crate) mod http;
pub mod keystone;
pub mod kube;
pub mod request;
pub mod session;
pub mod transcript;

pub use grants::{Access, GrantError, Grants};
pub use request::{Anchor, ApiError, ApiRequest, ApiResponse, Method};
pub use session::{Identity, MediationLimits, Session, SessionStats};

use keystone::Service;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Errors setting up a session.
#[derive(Debug, thiserror::Error)]
pub enum MediateError {
    /// clouds.yaml problems.
    #[error(transparent)]
    Clouds(#[from] clouds::CloudsError),
    /// Keystone problems.
    #[error(transparent)]
    Keystone(#[from] keystone::KeystoneError),
    /// TLS setup.
    #[error("{path}: cannot use as CA bundle (cacert): {message}")]
    CaCert {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// HTTP client setup.
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
}

/// What a check's `clock.now` and `clock.sleep` mean on a live run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClockMode {
    /// The wall clock; a sleep waits (default, and the only mode for certification).
    #[default]
    Real,
    /// For tests of the waits themselves: a sleep returns at once and moves this check's clock
    /// forward by its length (`now` = wall clock + the sleeps skipped so far). Deadlines stay in
    /// real time. The simulated cloud changes states by polls, so a retry schedule of minutes
    /// runs in milliseconds with the same calls in the same order. The run's command line in
    /// the report shows it (`--virtual-clock`).
    Virtual,
}

/// Per-check counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckStats {
    /// Requests made (shared ones included).
    pub requests: u64,
    /// Response bytes delivered to the check.
    pub bytes: u64,
    /// Requests refused by the grants.
    pub denied: u64,
}

/// The cloud as a replay sees it (from the transcript manifest).
#[derive(Debug, Clone)]
pub struct ReplayCloud {
    identity: Identity,
    catalog: Vec<Service>,
}

impl ReplayCloud {
    /// A replay whose run had no OpenStack cloud (a cluster only): no identity, no catalog.
    pub(crate) fn empty() -> ReplayCloud {
        ReplayCloud {
            identity: no_identity(),
            catalog: Vec::new(),
        }
    }

    /// From a recorded cloud.
    pub fn new(c: &transcript::RecordedCloud) -> ReplayCloud {
        ReplayCloud {
            identity: Identity {
                user: c.user.clone(),
                project: c.project.clone(),
                project_id: c.project_id.clone(),
                roles: c.roles.clone(),
                region: c.region.clone().unwrap_or_default(),
                interface: c.interface.clone(),
            },
            catalog: c
                .catalog
                .iter()
                .map(|s| Service {
                    service_type: s.service_type.clone(),
                    name: s.name.clone(),
                    endpoints: s
                        .endpoints
                        .iter()
                        .map(|(i, r, u)| keystone::Endpoint {
                            interface: i.clone(),
                            region: r.clone(),
                            url: u.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// The identity of a run without an OpenStack cloud: every field empty.
fn no_identity() -> Identity {
    Identity {
        user: String::new(),
        project: String::new(),
        project_id: String::new(),
        roles: Vec::new(),
        region: String::new(),
        interface: String::new(),
    }
}

/// Why an `openstack` call of a run without an OpenStack cloud has no endpoint.
const NO_CLOUD: &str = "this run has no OpenStack cloud (its checks declared no openstack \
     capability and the scope has no os_cloud variable)";

/// Why a `kubernetes` call of a run without a cluster has none.
pub(crate) const NO_CLUSTER: &str = "this run has no Kubernetes cluster (no check of the run \
     declared a kubernetes capability)";

/// The cluster as one check sees it.
#[derive(Debug, Clone)]
pub enum KubeAccess {
    /// The run's live cluster.
    Live(Arc<kube::Cluster>),
    /// The cluster a transcript recorded (server and context; calls come from the events).
    Replay(kube::ClusterInfo),
    /// No cluster, and why.
    Absent(String),
}

/// Why a check of a run without Sonobuoy access gets none.
pub(crate) const NO_CONFORMANCE: &str = "this run offers no Sonobuoy suite (a replay serves \
     recorded results only)";

/// Where a check's calls go.
#[derive(Debug)]
pub enum Source {
    /// The live cloud, optionally recording every call.
    Live {
        /// The session.
        session: Arc<Session>,
        /// Recorder, when `--record` is on.
        recorder: Option<transcript::Recorder>,
    },
    /// A transcript.
    Replay {
        /// Identity and catalog.
        cloud: Arc<ReplayCloud>,
        /// This component's cursor.
        replayer: transcript::Replayer,
    },
    /// A live run without an OpenStack cloud (a scope whose checks need only a cluster):
    /// every `openstack` call is `no-endpoint`, clock and cluster calls are recorded.
    Detached {
        /// Recorder, when `--record` is on.
        recorder: Option<transcript::Recorder>,
    },
}

/// One check's handle on the cloud: its grants, budget, deadline, and the
/// recording or replay of its calls.
pub struct CheckMediator {
    source: Source,
    check_id: String,
    grants: Grants,
    deadline: Instant,
    stats: CheckStats,
    divergence: Option<transcript::Divergence>,
    clock: ClockMode,
    skipped_ms: u64,
    /// This check's per-request timeout, when its check.json sets one.
    request_timeout: Option<Duration>,
    /// The cluster of the run, if any.
    kube: KubeAccess,
    /// The run's Sonobuoy suites (`conformance` interface), if any.
    conformance: Option<Arc<crate::sonobuoy::RunConformance>>,
    /// Told of every sleep of a live run (check id, this sleep and the check's total, in
    /// milliseconds), so the progress display can show a long wait as a wait.
    on_wait: Option<WaitHook>,
    /// Milliseconds this check has slept (or skipped with the virtual clock).
    waited_ms: u64,
    /// The run's stop request: the sandbox stops the check when it comes (none for a cleanup
    /// phase, or a tool check, whose runner handles it).
    stop: Option<crate::stop::StopRequest>,
}

/// See [`CheckMediator::with_wait_hook`].
pub type WaitHook = Arc<dyn Fn(&str, u64, u64) + Send + Sync>;

impl std::fmt::Debug for CheckMediator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckMediator")
            .field("check_id", &self.check_id)
            .field("grants", &self.grants)
            .finish_non_exhaustive()
    }
}

impl CheckMediator {
    /// A mediator for one check against the live cloud (no recording).
    pub fn new(
        session: Arc<Session>,
        check_id: &str,
        grants: Grants,
        deadline: Instant,
    ) -> CheckMediator {
        CheckMediator::with_source(
            Source::Live {
                session,
                recorder: None,
            },
            check_id,
            grants,
            deadline,
        )
    }

    /// A mediator with an explicit source (live with recorder, or replay).
    pub(crate) fn with_source(
        source: Source,
        check_id: &str,
        grants: Grants,
        deadline: Instant,
    ) -> CheckMediator {
        CheckMediator {
            source,
            check_id: check_id.to_string(),
            grants,
            deadline,
            stats: CheckStats::default(),
            divergence: None,
            clock: ClockMode::Real,
            skipped_ms: 0,
            request_timeout: None,
            kube: KubeAccess::Absent(NO_CLUSTER.to_string()),
            conformance: None,
            on_wait: None,
            waited_ms: 0,
            stop: None,
        }
    }

    /// The same mediator, stopped by the sandbox when `stop` comes.
    pub(crate) fn with_stop(mut self, stop: Option<crate::stop::StopRequest>) -> CheckMediator {
        self.stop = stop;
        self
    }

    /// The run's stop request, if this check can be stopped.
    pub(crate) fn stop_request(&self) -> Option<&crate::stop::StopRequest> {
        self.stop.as_ref()
    }

    /// The same mediator, telling `hook` of every sleep of a live run: the check id, the
    /// sleep and the check's total so far, in milliseconds.
    pub(crate) fn with_wait_hook(mut self, hook: Option<WaitHook>) -> CheckMediator {
        self.on_wait = hook;
        self
    }

    /// The same mediator with the run's Sonobuoy suites.
    pub(crate) fn with_conformance(
        mut self,
        conformance: Option<Arc<crate::sonobuoy::RunConformance>>,
    ) -> CheckMediator {
        self.conformance = conformance;
        self
    }

    /// Run a Sonobuoy suite (or read its archive; or serve the recorded results on replay).
    /// The outer `Err` is a replay divergence.
    pub async fn conformance_run(
        &mut self,
        suite: crate::sonobuoy::Suite,
    ) -> Result<
        Result<crate::sonobuoy::Results, crate::sonobuoy::ConformanceError>,
        transcript::Divergence,
    > {
        use crate::sonobuoy::ConformanceError;
        let result = match &mut self.source {
            Source::Replay { replayer, .. } => match replayer.conformance(suite) {
                Ok(r) => r,
                Err(d) => return Err(self.diverged(d)),
            },
            Source::Live { .. } | Source::Detached { .. } => {
                if !self.grants.tool("sonobuoy") {
                    self.stats.denied += 1;
                    Err(crate::sonobuoy::runner::denied())
                } else {
                    match &self.conformance {
                        Some(c) => c.run(suite, self.deadline).await,
                        None => Err(ConformanceError::Failed(NO_CONFORMANCE.to_string())),
                    }
                }
            }
        };
        if let Source::Live {
            recorder: Some(rec),
            ..
        }
        | Source::Detached {
            recorder: Some(rec),
        } = &mut self.source
        {
            rec.push(transcript::Event::Conformance {
                suite: suite.id().to_string(),
                result: Box::new(transcript::RecordedConformance::from_result(&result)),
            });
        }
        Ok(result)
    }

    /// The same mediator with the run's cluster.
    pub(crate) fn with_cluster(mut self, kube: KubeAccess) -> CheckMediator {
        self.kube = kube;
        self
    }

    /// The same mediator with the check's own per-request timeout (check.json
    /// `limits.request_timeout_secs`) instead of the run's.
    pub(crate) fn with_request_timeout(mut self, timeout: Option<Duration>) -> CheckMediator {
        self.request_timeout = timeout;
        self
    }

    /// The same mediator with `spent` requests and bytes already counted against the per-check
    /// budget: the cleanup phase shares what is left of the check's budget.
    pub(crate) fn with_spent(mut self, spent: &CheckStats) -> CheckMediator {
        self.stats.requests = spent.requests;
        self.stats.bytes = spent.bytes;
        self
    }

    /// The same mediator with another clock (live runs; a replay takes time from its transcript).
    pub(crate) fn with_clock(mut self, clock: ClockMode) -> CheckMediator {
        self.clock = clock;
        self
    }

    /// Identity.
    pub fn identity(&self) -> Identity {
        match &self.source {
            Source::Live { session, .. } => session.identity(),
            Source::Replay { cloud, .. } => cloud.identity.clone(),
            Source::Detached { .. } => no_identity(),
        }
    }

    /// Catalog.
    pub fn catalog(&self) -> &[Service] {
        match &self.source {
            Source::Live { session, .. } => session.catalog(),
            Source::Replay { cloud, .. } => &cloud.catalog,
            Source::Detached { .. } => &[],
        }
    }

    /// Counters so far.
    pub(crate) fn stats(&self) -> &CheckStats {
        &self.stats
    }

    /// The check's deadline.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// The recorded events (live with recorder), consumed.
    pub(crate) fn take_events(&mut self) -> Option<Vec<transcript::Event>> {
        match &mut self.source {
            Source::Live { recorder, .. } | Source::Detached { recorder } => {
                recorder.take().map(transcript::Recorder::into_events)
            }
            Source::Replay { .. } => None,
        }
    }

    /// The first replay divergence, including "ended with calls left over".
    pub(crate) fn divergence(&self) -> Option<transcript::Divergence> {
        if let Some(d) = &self.divergence {
            return Some(d.clone());
        }
        match &self.source {
            Source::Replay { replayer, .. } => replayer.ended_early(),
            Source::Live { .. } | Source::Detached { .. } => None,
        }
    }

    fn diverged(&mut self, d: transcript::Divergence) -> transcript::Divergence {
        if self.divergence.is_none() {
            self.divergence = Some(d.clone());
        }
        d
    }

    /// Wall-clock milliseconds (recorded; replayed from the transcript).
    pub fn now(&mut self) -> Result<u64, transcript::Divergence> {
        match &mut self.source {
            Source::Live { recorder, .. } | Source::Detached { recorder } => {
                let ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0)
                    .saturating_add(self.skipped_ms);
                if let Some(r) = recorder {
                    r.push(transcript::Event::Now { ms });
                }
                Ok(ms)
            }
            Source::Replay { replayer, .. } => match replayer.now() {
                Ok(ms) => Ok(ms),
                Err(d) => Err(self.diverged(d)),
            },
        }
    }

    /// Sleep (recorded; skipped on replay). A sleep past the deadline is cut
    /// short by the sandbox's timeout.
    pub async fn sleep(&mut self, ms: u64) -> Result<(), transcript::Divergence> {
        match &mut self.source {
            Source::Live { recorder, .. } | Source::Detached { recorder } => {
                if let Some(r) = recorder {
                    r.push(transcript::Event::Sleep { ms });
                }
                self.waited_ms = self.waited_ms.saturating_add(ms);
                if let Some(hook) = &self.on_wait {
                    hook(&self.check_id, ms, self.waited_ms);
                }
                match self.clock {
                    ClockMode::Real => tokio::time::sleep(Duration::from_millis(ms)).await,
                    ClockMode::Virtual => {
                        self.skipped_ms = self.skipped_ms.saturating_add(ms);
                        tokio::task::yield_now().await;
                    }
                }
                Ok(())
            }
            Source::Replay { replayer, .. } => match replayer.sleep(ms) {
                Ok(()) => Ok(()),
                Err(d) => Err(self.diverged(d)),
            },
        }
    }

    /// Validate, then send (or serve a shared read from the run cache, or
    /// the recorded answer on replay). The outer `Err` is a replay divergence.
    pub async fn send(
        &mut self,
        req: ApiRequest,
    ) -> Result<Result<ApiResponse, ApiError>, transcript::Divergence> {
        let result = match &mut self.source {
            Source::Replay { replayer, .. } => match replayer.send(&req) {
                Ok(r) => r,
                Err(d) => return Err(self.diverged(d)),
            },
            Source::Live { session, .. } => {
                let session = session.clone();
                self.send_live(&session, &req).await
            }
            Source::Detached { .. } => match self.request_budget(&MediationLimits::default()) {
                Err(f) => Err(ApiError::from(f)),
                Ok(_) => Err(ApiError::NoEndpoint(NO_CLOUD.to_string())),
            },
        };
        let sent = req.body.as_ref().map_or(0, Vec::len);
        self.account(sent, result.as_ref().ok().map(|r| r.body.len()), || {
            transcript::Event::Send {
                request: Box::new(transcript::RecordedRequest::from_api(&req)),
                result: Box::new(transcript::RecordedResult::from_api(&result)),
            }
        });
        Ok(result)
    }

    /// Count one call (its request body and its response body count as traffic: what a
    /// recorded call holds) and record it when the run records.
    fn account(
        &mut self,
        sent: usize,
        body_len: Option<usize>,
        event: impl FnOnce() -> transcript::Event,
    ) {
        self.stats.requests += 1;
        self.stats.bytes += sent as u64;
        if let Some(n) = body_len {
            self.stats.bytes += n as u64;
        }
        if let Source::Live {
            recorder: Some(rec),
            ..
        }
        | Source::Detached {
            recorder: Some(rec),
        } = &mut self.source
        {
            rec.push(event());
        }
    }

    /// `openstack.resolved-endpoint`: the versioned API base of a service type the check has a
    /// capability for (recorded; replayed from the transcript). The outer `Err` is a replay
    /// divergence.
    pub async fn resolved_endpoint(
        &mut self,
        service_type: &str,
    ) -> Result<Result<String, ApiError>, transcript::Divergence> {
        let result = match &mut self.source {
            Source::Replay { replayer, .. } => match replayer.resolved(service_type) {
                Ok(r) => r,
                Err(d) => return Err(self.diverged(d)),
            },
            Source::Live { session, .. } => {
                let session = session.clone();
                match self.grants.check(service_type, Method::Get) {
                    Err(why) => Err(ApiError::Denied(why.to_string())),
                    Ok(()) => match self.request_budget(&session.limits) {
                        Err(f) => Err(ApiError::from(f)),
                        Ok(timeout) => session.resolved_base(service_type, timeout).await,
                    },
                }
            }
            Source::Detached { .. } => Err(ApiError::NoEndpoint(NO_CLOUD.to_string())),
        };
        if let Source::Live {
            recorder: Some(rec),
            ..
        }
        | Source::Detached {
            recorder: Some(rec),
        } = &mut self.source
        {
            rec.push(transcript::Event::Resolved {
                service_type: service_type.to_string(),
                result: Box::new(transcript::RecordedResolved::from_api(&result)),
            });
        }
        Ok(result)
    }

    /// The cluster of the run (server and context), or why there is none. A check that
    /// declared no `kubernetes:` capability is denied.
    pub fn cluster_info(&self) -> Result<kube::ClusterInfo, kube::KubeApiError> {
        if self.grants.kube().is_empty() {
            return Err(kube::KubeApiError::Denied(
                "the check declared no kubernetes capability".to_string(),
            ));
        }
        match &self.kube {
            KubeAccess::Live(c) => Ok(c.info()),
            KubeAccess::Replay(i) => Ok(i.clone()),
            KubeAccess::Absent(why) => Err(kube::KubeApiError::NoCluster(why.clone())),
        }
    }

    /// Validate, then send a `kubernetes` request (or serve the recorded answer on replay).
    /// The outer `Err` is a replay divergence.
    pub async fn kube_send(
        &mut self,
        req: kube::KubeRequest,
    ) -> Result<Result<ApiResponse, kube::KubeApiError>, transcript::Divergence> {
        let result = match &mut self.source {
            Source::Replay { replayer, .. } => match replayer.kube_send(&req) {
                Ok(r) => r,
                Err(d) => return Err(self.diverged(d)),
            },
            Source::Live { .. } | Source::Detached { .. } => self.kube_live(&req).await,
        };
        let sent = req.body.as_ref().map_or(0, Vec::len);
        self.account(sent, result.as_ref().ok().map(|r| r.body.len()), || {
            transcript::Event::KubeSend {
                request: Box::new(transcript::RecordedKubeRequest::from_kube(&req)),
                result: Box::new(transcript::RecordedResult::from_kube(&result)),
            }
        });
        Ok(result)
    }

    async fn kube_live(
        &mut self,
        req: &kube::KubeRequest,
    ) -> Result<ApiResponse, kube::KubeApiError> {
        let limits = match &self.kube {
            KubeAccess::Live(c) => c.limits().clone(),
            _ => MediationLimits::default(),
        };
        // the budget first: refused calls count too (each is a transcript event)
        let timeout = self.request_budget(&limits)?;
        kube::request::validate_path(&req.path)?;
        if let Err(why) = self.grants.kube().check(req.method, &req.path) {
            self.stats.denied += 1;
            tracing::debug!(check = %self.check_id, method = req.method.as_str(),
                path = %req.path, "denied: {why}");
            return Err(kube::KubeApiError::Denied(why.to_string()));
        }
        let cluster = match &self.kube {
            KubeAccess::Live(c) => c.clone(),
            KubeAccess::Replay(_) => {
                return Err(kube::KubeApiError::NoCluster(
                    "a replay serves recorded calls only".to_string(),
                ));
            }
            KubeAccess::Absent(why) => return Err(kube::KubeApiError::NoCluster(why.clone())),
        };
        cluster.fetch(req, timeout, &self.check_id).await
    }

    /// Whether the check may send one more request (the run's record budget, its request and
    /// traffic budget, its deadline), and the timeout of that request: the rest of the deadline, at most the
    /// per-request timeout (the check's own, else the run's).
    fn request_budget(&self, limits: &MediationLimits) -> Result<Duration, http::Failure> {
        // the run's record budget (`--max-record-mib`), shared by every check's recorder
        if let Source::Live {
            recorder: Some(rec),
            ..
        }
        | Source::Detached {
            recorder: Some(rec),
        } = &self.source
            && let Some(why) = rec.refusal()
        {
            return Err(http::Failure::TooLarge(why));
        }
        if self.stats.requests >= limits.max_requests_per_check {
            return Err(http::Failure::TooLarge(format!(
                "the check used up its budget of {} requests",
                limits.max_requests_per_check
            )));
        }
        if self.stats.bytes >= limits.max_bytes_per_check {
            return Err(http::Failure::TooLarge(format!(
                "the check used up its traffic budget of {} bytes",
                limits.max_bytes_per_check
            )));
        }
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Err(http::Failure::Timeout(
                "the check's deadline has passed".to_string(),
            ));
        }
        Ok(remaining.min(self.request_timeout.unwrap_or(limits.request_timeout)))
    }

    async fn send_live(
        &mut self,
        session: &Arc<Session>,
        req: &ApiRequest,
    ) -> Result<ApiResponse, ApiError> {
        // the budget first: denied calls count too (each is a transcript event)
        let timeout = self.request_budget(&session.limits)?;
        if let Err(why) = self.grants.check(&req.service_type, req.method) {
            self.stats.denied += 1;
            tracing::debug!(check = %self.check_id, method = req.method.as_str(),
                service = %req.service_type, path = %req.path, "denied: {why}");
            return Err(ApiError::Denied(why.to_string()));
        }
        let entry = (req.shared && req.method == Method::Get)
            .then(|| session.shared_entry(req))
            .flatten();
        if let Some(entry) = entry {
            let mut fetched = false;
            let check_id = self.check_id.clone();
            // waiting for a fill another check or a prefetch started is bounded by this check's
            // own request timeout, as its own request would be
            let r = match tokio::time::timeout(
                timeout,
                entry.cell.get_or_init(|| {
                    fetched = true;
                    async move { session.fetch_for_cache(req, timeout, &check_id).await }
                }),
            )
            .await
            {
                Ok(r) => r.clone(),
                Err(_) => Err(ApiError::Timeout(format!(
                    "no answer within {} s (a shared read still in flight)",
                    timeout.as_secs()
                ))),
            };
            if !fetched && let Ok(mut s) = session.stats.lock() {
                s.shared_hits += 1;
                if entry.prefetched.load(std::sync::atomic::Ordering::Relaxed) {
                    s.prefetch_hits += 1;
                }
            }
            r
        } else {
            session.fetch(req, timeout, &self.check_id).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hardening, hole 7: the cleanup phase's mediator starts with what the check spent, so
    /// its requests and bytes come out of the same per-check budget.
    #[test]
    fn a_mediator_with_spent_budget_refuses_past_it() {
        let limits = MediationLimits::default();
        let mediator = |requests: u64, bytes: u64| {
            CheckMediator::with_source(
                Source::Detached { recorder: None },
                "test-check",
                Grants::default(),
                Instant::now() + Duration::from_secs(60),
            )
            .with_spent(&CheckStats {
                requests,
                bytes,
                denied: 0,
            })
        };
        let max = limits.max_requests_per_check;
        assert!(mediator(max - 1, 0).request_budget(&limits).is_ok());
        match mediator(max, 0).request_budget(&limits) {
            Err(http::Failure::TooLarge(m)) => assert!(m.contains("budget of"), "{m}"),
            other => panic!("requests used up: {other:?}"),
        }
        assert!(
            mediator(0, limits.max_bytes_per_check)
                .request_budget(&limits)
                .is_err()
        );
    }
}

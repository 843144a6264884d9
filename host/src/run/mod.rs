//! One certification run, end to end.
//!
//! Owns: the order of things, one function per phase of [`run`]: load the scope and
//! `select` versions and testcases; `plan_components` (map testcases to the verified
//! checks, or those of a checks directory); `load_cloud` (the clouds.yaml entry) and
//! `connect` (the session, or the transcript, and the preflight of the official harness,
//! d.0: admin or manager roles, or a missing member role, abort everything);
//! `run_components` (one `ComponentJob` per component, concurrently, bounded by `jobs`,
//! with a cleanup phase for a stopped write check); then `write_transcript`,
//! `assemble_report` (invocations and provenance), `console_summary` and `overall`.
//! [`run_many`] runs the jobs of a combined run (b.2); [`reproduce`] replays a signed
//! report's transcript (`report reproduce`). The component phase lives in `component`,
//! everything after it in `assemble`; [`crate::stop`] stops a run early with its report.
//!
//! Must never: print or exit (that is the binary's job, `cli/`), lose a result (every
//! selected testcase that a component implements gets PASS, FAIL or ABORT),
//! or let one misbehaving component affect another's verdicts.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

mod assemble;
mod component;
mod data;
pub mod reproduce;

use assemble::{assemble_report, console_summary, overall, write_transcript};
use component::{abort_outcome, run_components};
use data::{data_source, write_data_record};

use crate::bundle::{self, BundleError, LoadedCheck};
use crate::mediate::clouds::{self, CloudsError};
use crate::mediate::transcript;
use crate::mediate::{KubeAccess, MediateError, MediationLimits, ReplayCloud, Session};
use crate::report::Report;
use crate::sandbox::{SandboxConfig, SandboxError};
use crate::scope::{self, ScopeError, Spec, TargetSummary};
use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Errors that stop a run before any verdict exists. Each is bad input or
/// a broken environment; cloud and check failures are verdicts instead.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Scope file problems.
    #[error(transparent)]
    Scope(#[from] ScopeError),
    /// Checks directory problems.
    #[error(transparent)]
    Bundle(#[from] BundleError),
    /// clouds.yaml problems.
    #[error(transparent)]
    Clouds(#[from] CloudsError),
    /// The engine could not start.
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    /// `--tests` is not a regex.
    #[error("--tests {pattern:?}: not a valid regular expression: {message}")]
    Regex {
        /// The pattern.
        pattern: String,
        /// Why.
        message: String,
    },
    /// No cloud name.
    #[error("no cloud given: pass --os-cloud NAME (or -a os_cloud=NAME, or set OS_CLOUD)")]
    NoCloud,
    /// The kubeconfig (or its exec credential plugin) is unusable.
    #[error(transparent)]
    Kube(#[from] crate::mediate::kube::ClusterSetupError),
    /// The transcript could not be read or written.
    #[error(transparent)]
    Transcript(#[from] transcript::TranscriptError),
    /// The transcript's data record could not be read or written.
    #[error("{0}")]
    DataRecord(String),
    /// The report could not be written.
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    /// The results history (`--due`) could not be read.
    #[error(transparent)]
    History(#[from] crate::history::HistoryError),
    /// One job of a combined run (several subjects or scopes) failed.
    #[error("subject {subject}, scope {scope}: {source}")]
    Job {
        /// The job's subject.
        subject: String,
        /// The job's scope file.
        scope: String,
        /// What went wrong.
        source: Box<RunError>,
    },
}

impl RunError {
    /// Whether the run stopped because the kubeconfig (or its exec plugin) is unusable.
    pub fn is_kubeconfig(&self) -> bool {
        match self {
            RunError::Job { source, .. } => source.is_kubeconfig(),
            RunError::Kube(_) => true,
            _ => false,
        }
    }

    /// Whether the error is bad input (scope, checks, arguments, config) as
    /// opposed to an environment failure (disk, engine).
    pub fn is_bad_input(&self) -> bool {
        match self {
            RunError::Job { source, .. } => source.is_bad_input(),
            _ => !matches!(
                self,
                RunError::Report(_)
                    | RunError::Sandbox(SandboxError::Engine(_))
                    | RunError::History(crate::history::HistoryError::Query { .. })
            ),
        }
    }
}

/// Everything a run needs. Defaults are documented per field.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Scope YAML.
    pub scope: PathBuf,
    /// Subject name (`-s`).
    pub subject: String,
    /// Report file (`-o`); None: no file.
    pub output: Option<PathBuf>,
    /// Checks directory (unsigned, development only; ignored when `bundle` is set).
    pub checks: PathBuf,
    /// The verified signed bundle to run (see [`bundle::verify`]); `None`
    /// runs the unsigned `checks` directory, marked `unsigned-dev` in the report.
    pub bundle: Option<Arc<bundle::VerifiedBundle>>,
    /// Contributor bundles whose checks run beside `bundle`'s (`--bundle` given more than
    /// once), each verified against the same root and limited by its delegation; a testcase
    /// claimed twice stops the run [default: none].
    pub contributions: Vec<Arc<bundle::VerifiedBundle>>,
    /// clouds.yaml to use (default: the openstacksdk search order).
    pub clouds_file: Option<PathBuf>,
    /// Reference date (default today, local time).
    pub date: NaiveDate,
    /// `-V`.
    pub forced_version: Option<String>,
    /// `-S`.
    pub sections: Option<Vec<String>>,
    /// `-t`.
    pub tests: Option<String>,
    /// Components compiling at once, and write or tool checks running at once (default 4).
    pub jobs: usize,
    /// Read-only checks running at once once compiled; they wait on the cloud, not on the CPU,
    /// so `jobs` does not hold them back (default 32, [`DEFAULT_MAX_READERS`]).
    pub max_readers: usize,
    /// `-a k=v` assignments, as given.
    pub assignments: Vec<(String, String)>,
    /// Targets to run (default `["main"]`, as the official suite; add
    /// `recommended` for the recommended testcases, see
    /// [`Spec::select_recommended`]).
    pub targets: Vec<String>,
    /// argv for the report.
    pub argv: Vec<String>,
    /// Sandbox settings.
    pub sandbox: SandboxConfig,
    /// Mediation limits.
    pub mediation: MediationLimits,
    /// Record every mediated call into this transcript directory.
    pub record: Option<PathBuf>,
    /// Serve the calls from this transcript directory instead of a cloud.
    pub replay: Option<PathBuf>,
    /// The transcript already loaded (and digest-checked) by the caller; used instead of
    /// reading `replay` again (`report reproduce` reads it once) [default: none].
    pub replay_transcript: Option<Arc<transcript::LoadedTranscript>>,
    /// The kubeconfig context (`--context`) and the exec plugin bounds, for scopes whose
    /// checks declare `kubernetes:` capabilities [default: see
    /// [`crate::mediate::kube::KubeOptions`]].
    pub kube: crate::mediate::kube::KubeOptions,
    /// The run's signed data (`--data`, verified by the caller, with `--max-data-age`);
    /// `None`: no data file, a check that reads a dataset gets `missing` [default: none]. On
    /// a replay the data comes from the transcript instead.
    pub data: Option<Arc<crate::data::access::RunData>>,
    /// `--due`: run only the testcases whose newest result in this results history is no PASS,
    /// or a PASS expiring within the margin [default: none, every selected testcase runs].
    pub due: Option<DueOptions>,
    /// The Sonobuoy tool and archives for checks that declare `tool:sonobuoy:run`
    /// (`--sonobuoy PATH`, `--sonobuoy-archive SUITE=PATH`) [default: `sonobuoy` on `PATH`,
    /// no archives; see [`crate::sonobuoy::SonobuoyOptions`]].
    pub sonobuoy: crate::sonobuoy::SonobuoyOptions,
    /// Stops the run early and in order ([`crate::stop`]: SIGTERM, SIGINT in the CLI); the
    /// report is still written [default: none, the run cannot be stopped].
    pub stop: Option<crate::stop::StopRequest>,
}

/// `--due`: where the results history is and how early a result is renewed.
#[derive(Debug, Clone)]
pub struct DueOptions {
    /// The results history (`--history`, default `<state dir>/history.sqlite`).
    pub history: PathBuf,
    /// A PASS expiring within this margin is due (`--due-margin`, default 60 h: a nightly job
    /// renews a result two nights before it expires, so one failed night is caught by the
    /// next).
    pub margin: Duration,
    /// The monitor the run uploads to (`--upload`): its results (`GET /status` as the upload
    /// account) count beside the history's, so a PASS delivered from another machine is
    /// not run again. Unreachable or malformed: a warning, and the history alone decides
    /// [default: none, the history alone].
    pub monitor: Option<crate::report::upload::Monitor>,
}

/// Default of [`DueOptions::margin`].
pub const DEFAULT_DUE_MARGIN: Duration = Duration::from_secs(60 * 3600);

/// Default of [`RunOptions::max_readers`].
pub const DEFAULT_MAX_READERS: usize = 32;

/// Progress events for the CLI's display.
#[derive(Debug, Clone)]
pub enum Progress {
    /// The run knows how many components it will run.
    Planned {
        /// Components to run.
        components: usize,
        /// Testcases selected.
        testcases: usize,
    },
    /// Authenticated.
    Connected {
        /// User.
        user: String,
        /// Project.
        project: String,
    },
    /// How the write checks will run (concurrently or one after another) and why.
    WriteSchedule {
        /// The one line (`concurrent: ...` / `one after another: ...`).
        line: String,
    },
    /// A component started.
    Started {
        /// Check id.
        check: String,
    },
    /// A component waits for the cloud (a sleep between polls, typical of write checks).
    Waiting {
        /// Check id.
        check: String,
        /// This wait.
        wait: Duration,
        /// The check's waits so far, this one included.
        total: Duration,
    },
    /// A component finished.
    Finished {
        /// Check id.
        check: String,
        /// Counts.
        passed: usize,
        /// Counts.
        failed: usize,
        /// Counts.
        aborted: usize,
        /// Wall time.
        elapsed: Duration,
    },
}

/// Progress callback.
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// The overall outcome over the selected testcases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overall {
    /// Every selected testcase passed.
    Pass,
    /// At least one FAIL.
    Fail,
    /// No FAIL, at least one ABORT.
    Abort,
    /// No FAIL or ABORT, but some selected testcase has no result
    /// (no component implements it).
    Tentative,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The report (already written if an output was given).
    pub report: Report,
    /// Console summary text.
    pub console: String,
    /// Per version: (version, summaries of the requested targets).
    pub summaries: Vec<(String, Vec<TargetSummary>)>,
    /// Overall outcome.
    pub overall: Overall,
    /// Selected testcase ids.
    pub selected: Vec<String>,
    /// The transcript written (with `record`).
    pub transcript: Option<transcript::Written>,
    /// Replay divergences (with `replay`); non-empty means the replay did
    /// not reproduce the recorded run.
    pub divergences: Vec<String>,
    /// The cloud session's counters (requests, shared hits, prefetches), for a live run
    /// against an OpenStack cloud.
    pub cloud_stats: Option<crate::mediate::SessionStats>,
    /// With `--due`: the selected testcases left out because their result is still valid
    /// beyond the margin, with the moment each expires.
    pub not_due: Vec<(String, chrono::NaiveDateTime)>,
    /// With `--due`: nothing selected was due, so nothing ran (the report has no results and
    /// should not be delivered).
    pub nothing_due: bool,
    /// The scope the run loaded (sections, lifetimes and URLs of its testcases, for the views).
    pub spec: Spec,
    /// Wall time of the run.
    pub elapsed: Duration,
}

/// Why the preflight of the official harness refuses a token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PreflightError {
    /// `admin` or `manager` roles.
    #[error(
        "user privileges too high: the token has role(s) {}; certify with a plain member user",
        .0.join(", ")
    )]
    TooHigh(Vec<String>),
    /// No `member` role.
    #[error(
        "the token lacks the member role (roles: {}); certify with a member user",
        if .0.is_empty() { "none".to_string() } else { .0.join(", ") }
    )]
    NoMember(Vec<String>),
}

/// The preflight of the official harness (d.0): refused when the roles are too high or
/// `member` is missing.
pub fn preflight(roles: &[String]) -> Result<(), PreflightError> {
    let high: Vec<String> = roles
        .iter()
        .filter(|r| *r == "admin" || *r == "manager")
        .cloned()
        .collect();
    if !high.is_empty() {
        return Err(PreflightError::TooHigh(high));
    }
    if !roles.iter().any(|r| r == "member") {
        return Err(PreflightError::NoMember(roles.to_vec()));
    }
    Ok(())
}

/// The run parameter that asks a component for its cleanup phase only
/// (see `checks/sdk/wit/check.wit`, `run`).
pub(crate) const CLEANUP_PARAM: (&str, &str) = ("scs-cert.phase", "cleanup");

/// Whether the write checks of a live run may run concurrently: the project's free quota
/// must hold what all of them declare at once (limits read only when that decides it).
async fn write_schedule(
    opts: &RunOptions,
    planned: &[Planned],
    session: &Session,
) -> crate::quota::Schedule {
    let writes: Vec<crate::quota::WriteCheck> = planned
        .iter()
        .filter(|p| {
            crate::mediate::Grants::from_capabilities(&p.check.meta.mediated_capabilities())
                .is_ok_and(|g| g.has_write())
        })
        .map(|p| crate::quota::WriteCheck {
            id: p.check.meta.id.clone(),
            needs: p.check.meta.quota.clone(),
        })
        .collect();
    let needs_limits =
        writes.len() >= 2 && opts.jobs >= 2 && writes.iter().all(|w| w.needs.is_some());
    let free = if needs_limits {
        Some(crate::quota::read_free(session, &writes, opts.mediation.request_timeout).await)
    } else {
        None
    };
    crate::quota::decide(&writes, opts.jobs, free.as_ref())
}

/// Issue the shared reads the planned checks declare in `prefetch` (each distinct request
/// once, and only what the declaring check's capabilities grant, with the longest per-request
/// timeout of the checks that declare it), on their own tasks, so that they run while the
/// components are compiled and started. The handles let the run stop a prefetch no check
/// waited for.
fn start_prefetch(
    planned: &[Planned],
    session: &Arc<Session>,
    run_timeout: Duration,
) -> Vec<tokio::task::JoinHandle<()>> {
    let mut reads: Vec<(crate::mediate::ApiRequest, Duration)> = Vec::new();
    for p in planned {
        let Ok(grants) =
            crate::mediate::Grants::from_capabilities(&p.check.meta.mediated_capabilities())
        else {
            continue;
        };
        let timeout = p
            .check
            .meta
            .limits
            .request_timeout_secs
            .map_or(run_timeout, Duration::from_secs);
        for decl in &p.check.meta.prefetch {
            let req = decl.request();
            if grants.check(&req.service_type, req.method).is_err() {
                continue;
            }
            match reads.iter_mut().find(|(r, _)| *r == req) {
                Some((_, t)) => *t = (*t).max(timeout),
                None => reads.push((req, timeout)),
            }
        }
    }
    reads
        .into_iter()
        .map(|(req, timeout)| {
            let session = session.clone();
            tokio::spawn(async move { session.prefetch(req, timeout).await })
        })
        .collect()
}

/// The run's prefetch tasks, stopped when the run is done with them, on an early return too.
struct Prefetches(Vec<tokio::task::JoinHandle<()>>);

impl Drop for Prefetches {
    fn drop(&mut self) {
        for h in &self.0 {
            h.abort();
        }
    }
}

/// Where the checks' calls go.
#[derive(Clone)]
pub(super) enum Target {
    /// The live cloud.
    Live(Arc<Session>),
    /// A transcript.
    Replay(Arc<ReplayCloud>, Arc<transcript::LoadedTranscript>),
    /// A live run without an OpenStack cloud (its checks need only the cluster).
    Detached,
}

/// One component to run and its testcases.
struct Planned {
    check: LoadedCheck,
    testcases: Vec<String>,
    invocation: String,
}

/// Run a certification: select, plan, connect, run the components, then write the
/// transcript, the report and the console summary.
pub async fn run(opts: &RunOptions, progress: ProgressFn) -> Result<RunResult, RunError> {
    let started = std::time::Instant::now();
    let spec = Spec::load(&opts.scope)?;
    let variables = spec.resolve_variables(&with_default_cloud(&spec, &opts.assignments))?;
    let mut sel = select(&spec, opts)?;
    let not_due = match &opts.due {
        Some(due) => {
            // SQLite waits for a busy database up to its timeout: off the async workers
            let remote = monitor_latest(due, &opts.subject, &spec).await;
            let (due, subject, uuid) = (due.clone(), opts.subject.clone(), spec.uuid.clone());
            let selected = std::mem::take(&mut sel.selected);
            let path = due.history.clone();
            let (kept, valid) = tokio::task::spawn_blocking(move || {
                keep_due(selected, &due, &subject, &uuid, &remote)
            })
            .await
            .map_err(|e| {
                RunError::History(crate::history::HistoryError::Query {
                    path,
                    message: format!("internal error reading the history: {e}"),
                })
            })??;
            sel.selected = kept;
            valid
        }
        None => Vec::new(),
    };
    let plan = plan_components(opts, &sel.selected)?;
    // a testcase no component implements has no result to wait for: it does not make a run
    let nothing_due = opts.due.is_some() && plan.planned.is_empty() && !not_due.is_empty();
    progress(Progress::Planned {
        components: plan.planned.len(),
        testcases: sel.selected.len(),
    });
    let replay = match (&opts.replay_transcript, &opts.replay) {
        (Some(t), _) => Some(t.clone()),
        (None, Some(dir)) => Some(Arc::new(transcript::load(dir)?)),
        (None, None) => None,
    };
    let live = !plan.planned.is_empty() && replay.is_none();
    let needs_cloud = spec.variables.iter().any(|v| v.name == "os_cloud")
        || plan
            .planned
            .iter()
            .any(|p| p.check.meta.declares("openstack:"));
    let cloud = load_cloud(opts, &variables, live && needs_cloud)?;
    // stopped before it connected (a queued job of a combined run, a signal during the set-up):
    // no connection, every component ABORTs
    let stopped_early = crate::stop::reason(opts.stop.as_ref())
        .filter(|_| live)
        .map(|why| format!("not run: the run was stopped ({why}) before it connected"));
    let live = live && stopped_early.is_none();
    let cluster = match live
        && plan
            .planned
            .iter()
            .any(|p| p.check.meta.declares("kubernetes:"))
    {
        true => Some(connect_cluster(opts, &variables).await?),
        false => None,
    };
    let checked_at = chrono::Local::now().naive_local();
    let data = data_source(opts, replay.is_some())?;
    let mut connected = match (stopped_early, &cloud, live) {
        (Some(why), _, _) => Connected::without_cloud(Err(why)),
        // a live run whose checks need only the cluster
        (None, None, true) => Connected::without_cloud(Ok(Target::Detached)),
        _ => connect(opts, cloud.as_ref(), replay.as_ref(), &progress).await?,
    };
    if let Some(c) = cluster {
        let info = c.info();
        connected.recorded_cluster = Some(transcript::RecordedCluster {
            server: info.server,
            context: info.context,
        });
        connected.kube = KubeAccess::Live(c);
    }
    let conformance = (live && plan.planned.iter().any(|p| p.check.meta.declares("tool:")))
        .then(|| Arc::new(run_conformance(opts, &variables, &connected.kube)));
    let mut schedule = None;
    let mut prefetches = Prefetches(Vec::new());
    let mut outcomes = match &connected.target {
        Err(reason) => plan
            .planned
            .iter()
            .map(|p| abort_outcome(&p.testcases, reason))
            .collect(),
        Ok(target) => {
            let params = check_params(opts, &variables);
            if let Target::Live(session) = target {
                prefetches = Prefetches(start_prefetch(
                    &plan.planned,
                    session,
                    opts.mediation.request_timeout,
                ));
                // the quota reads only serve components that will run
                if crate::stop::reason(opts.stop.as_ref()).is_none() {
                    let s = write_schedule(opts, &plan.planned, session).await;
                    progress(Progress::WriteSchedule { line: s.line() });
                    schedule = Some(s);
                }
            }
            let one_at_a_time = schedule.as_ref().is_some_and(|s| !s.concurrent);
            run_components(
                opts,
                &plan.planned,
                target,
                &connected.kube,
                conformance.as_ref(),
                &data,
                params,
                &progress,
                one_at_a_time,
            )
            .await?
        }
    };
    // a prefetch still in flight is one no check asked for
    drop(prefetches);
    let cloud_stats = match &connected.target {
        Ok(Target::Live(session)) => Some(session.stats()),
        _ => None,
    };
    if let Some(st) = &cloud_stats {
        tracing::info!(
            requests = st.requests,
            bytes = st.bytes,
            shared_hits = st.shared_hits,
            prefetched = st.prefetched,
            prefetch_hits = st.prefetch_hits,
            discovery_requests = st.discovery_requests,
            discovery_ms = st.discovery_ms,
            redirects = st.redirects,
            "cloud session totals"
        );
    }
    if let KubeAccess::Live(c) = &connected.kube {
        let st = c.stats();
        tracing::info!(
            requests = st.requests,
            bytes = st.bytes,
            exec_runs = st.exec_runs,
            redirects = st.redirects,
            "cluster session totals"
        );
    }
    let transcript_info = match &opts.record {
        Some(dir) => Some(write_transcript(
            dir,
            &plan.planned,
            &mut outcomes,
            &connected,
        )?),
        None => None,
    };
    let data_record = match &opts.record {
        Some(dir) => write_data_record(dir, &data, &plan.planned, &outcomes)?,
        None => None,
    };
    let divergences: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.divergence.as_ref().map(|d| d.to_string()))
        .collect();
    let mut report = assemble_report(
        opts,
        &spec,
        checked_at,
        plan,
        &outcomes,
        transcript_info.as_ref(),
        replay.as_deref(),
    );
    report.provenance.write_checks = schedule.map(|s| s.line());
    report.provenance.cluster =
        connected
            .recorded_cluster
            .as_ref()
            .map(|c| crate::report::ClusterProvenance {
                server: c.server.clone(),
                context: c.context.clone(),
            });
    report.provenance.cloud = connected.recorded_cloud.as_ref().map(cloud_provenance);
    report.provenance.data = data.provenance(data_record);
    if let Some(f) = opts.data.as_ref().and_then(|d| d.file.as_ref()) {
        report
            .provenance
            .overrides
            .extend(f.overrides.iter().cloned());
    }
    if let Some(out) = &opts.output {
        report.write(out)?;
    }
    let results = report.results();
    let (console, summaries) = console_summary(opts, &spec, &sel, &results);
    let overall = overall(&sel.selected, &results);
    Ok(RunResult {
        report,
        console,
        summaries,
        overall,
        selected: sel.selected,
        transcript: transcript_info,
        divergences,
        cloud_stats,
        not_due,
        nothing_due,
        spec,
        elapsed: started.elapsed(),
    })
}

/// `--due`: keep the selected testcases that have no accepted result in the history, or one
/// expiring within the margin; return the others with their expiry.
type DueSplit = (Vec<String>, Vec<(String, chrono::NaiveDateTime)>);

fn keep_due(
    mut selected: Vec<String>,
    due: &DueOptions,
    subject: &str,
    scope_uuid: &str,
    monitor: &BTreeMap<String, crate::history::Latest>,
) -> Result<DueSplit, RunError> {
    let history = crate::history::History::open(&due.history)?;
    let accepted = crate::history::accepted_of(history.latest(subject, scope_uuid)?, monitor);
    let now = chrono::Local::now().naive_local();
    let mut valid = Vec::new();
    selected.retain(
        |tc| match crate::history::due(accepted.get(tc), now, due.margin) {
            crate::history::Due::Valid(until) => {
                valid.push((tc.clone(), until));
                false
            }
            _ => true,
        },
    );
    Ok((selected, valid))
}

/// `--due` with a monitor: its newest result per testcase of the scope, each with its expiry
/// by the testcase's lifetime in `spec` (testcases the scope does not have are left out).
/// Empty, with a warning, when the monitor cannot be read.
async fn monitor_latest(
    due: &DueOptions,
    subject: &str,
    spec: &Spec,
) -> BTreeMap<String, crate::history::Latest> {
    let Some(monitor) = &due.monitor else {
        return BTreeMap::new();
    };
    match crate::report::status::results(monitor, subject, &spec.uuid).await {
        Ok(results) => {
            let latest: BTreeMap<_, _> = results
                .into_iter()
                .filter_map(|(tc, r)| {
                    let lifetime = spec.testcases.get(&tc)?.lifetime;
                    Some((
                        tc,
                        crate::history::Latest {
                            result: r.result,
                            checked_at: r.checked_at,
                            expires_at: crate::history::expires_at(r.checked_at, lifetime),
                        },
                    ))
                })
                .collect();
            tracing::info!(
                "--due: the monitor holds {} result(s) of {subject} in scope {}",
                latest.len(),
                spec.name
            );
            latest
        }
        Err(e) => {
            tracing::warn!("--due: {e}; deciding from the local history alone");
            BTreeMap::new()
        }
    }
}

/// What the scope, the date and the filters select.
struct Selection {
    versions: Vec<scope::SelectedVersion>,
    /// The requested targets except `recommended`.
    targets: Vec<String>,
    with_recommended: bool,
    regex: Option<regex::Regex>,
    /// Every selected testcase id, sorted.
    selected: Vec<String>,
}

/// Versions by date (a.2), then testcases by target, section and `-t` (a.3).
fn select(spec: &Spec, opts: &RunOptions) -> Result<Selection, RunError> {
    let versions = spec.select_versions(opts.date, opts.forced_version.as_deref())?;
    let regex = match &opts.tests {
        Some(p) => Some(regex::Regex::new(p).map_err(|e| RunError::Regex {
            pattern: p.clone(),
            message: e.to_string(),
        })?),
        None => None,
    };
    let with_recommended = opts.targets.iter().any(|t| t == "recommended");
    let targets: Vec<String> = opts
        .targets
        .iter()
        .filter(|t| *t != "recommended")
        .cloned()
        .collect();
    let target_refs: Vec<&str> = targets.iter().map(String::as_str).collect();
    let mut selected = spec.select_testcases(
        &versions,
        &target_refs,
        opts.sections.as_deref(),
        regex.as_ref(),
    );
    if with_recommended {
        selected.extend(spec.select_recommended(
            &versions,
            opts.sections.as_deref(),
            regex.as_ref(),
        ));
    }
    selected.sort();
    selected.dedup();
    Ok(Selection {
        versions,
        targets,
        with_recommended,
        regex,
        selected,
    })
}

/// The components to run and their testcases; what no component implements.
struct ComponentPlan {
    planned: Vec<Planned>,
    unimplemented: Vec<String>,
    /// Where the checks came from (`bundle:FILE` or the directory), for the report.
    checks_source: String,
}

/// Map the selected testcases to components (verify-then-use: a bundle's checks hold the
/// bytes that were verified).
fn plan_components(opts: &RunOptions, selected: &[String]) -> Result<ComponentPlan, RunError> {
    let (checks, checks_source) = match &opts.bundle {
        Some(b) => {
            let mut checks = b.checks.clone();
            let mut source = format!("bundle:{}", b.source);
            let mut owner: BTreeMap<&str, &bundle::VerifiedBundle> = BTreeMap::new();
            let mut ids: BTreeMap<&str, &bundle::VerifiedBundle> = BTreeMap::new();
            for bundle in std::iter::once(b).chain(&opts.contributions) {
                for c in &bundle.checks {
                    for t in &c.meta.testcases {
                        if let Some(first) = owner.insert(t, bundle) {
                            return Err(BundleError::ClaimedTwice {
                                testcase: t.clone(),
                                first: claimant(first, t),
                                second: format!(
                                    "check {} of bundle {} ({})",
                                    c.meta.id, bundle.manifest.name, bundle.source
                                ),
                            }
                            .into());
                        }
                    }
                    if let Some(first) = ids.insert(&c.meta.id, bundle) {
                        return Err(BundleError::CheckInTwoBundles {
                            id: c.meta.id.clone(),
                            first: format!("{} ({})", first.manifest.name, first.source),
                            second: format!("{} ({})", bundle.manifest.name, bundle.source),
                        }
                        .into());
                    }
                }
            }
            for c in &opts.contributions {
                checks.extend(c.checks.iter().cloned());
                source.push_str(&format!(" + bundle:{}", c.source));
            }
            (checks, source)
        }
        None => (
            bundle::load_dir(&opts.checks)?,
            opts.checks.display().to_string(),
        ),
    };
    let index = bundle::testcase_index(&checks)?;
    let mut per_check: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    let mut unimplemented = Vec::new();
    for id in selected {
        match index.get(id) {
            Some(&i) => per_check.entry(i).or_default().push(id.clone()),
            None => unimplemented.push(id.clone()),
        }
    }
    if !unimplemented.is_empty() {
        tracing::warn!(
            "{} selected testcase(s) have no component in {} and stay missing: {}",
            unimplemented.len(),
            checks_source,
            unimplemented.join(", ")
        );
    }
    let planned = per_check
        .into_iter()
        .map(|(i, testcases)| Planned {
            check: checks[i].clone(),
            testcases,
            invocation: uuid::Uuid::new_v4().to_string(),
        })
        .collect();
    Ok(ComponentPlan {
        planned,
        unimplemented,
        checks_source,
    })
}

/// `check X of bundle NAME (FILE)` for the check of `b` that claims `testcase`.
fn claimant(b: &bundle::VerifiedBundle, testcase: &str) -> String {
    let id = b
        .checks
        .iter()
        .find(|c| c.meta.testcases.iter().any(|t| t == testcase))
        .map(|c| c.meta.id.as_str())
        .unwrap_or("?");
    format!("check {id} of bundle {} ({})", b.manifest.name, b.source)
}

/// The assignments plus, when the scope needs `os_cloud` and none was given, the cloud
/// openstacksdk would pick by default: `$OS_CLOUD`, else the cloud of the `OS_*` variables of
/// an openrc file (`envvars`).
fn with_default_cloud(spec: &Spec, assignments: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = assignments.to_vec();
    let needs = spec.variables.iter().any(|v| v.name == "os_cloud");
    if needs
        && !out.iter().any(|(k, _)| k == "os_cloud")
        && let Some(name) = clouds::default_cloud_name(&clouds::Environment::process())
    {
        out.push(("os_cloud".to_string(), name));
    }
    out
}

/// The cloud, when a live cloud is needed: `os_cloud`, else `$OS_CLOUD`, else the cloud made
/// of the `OS_*` variables of an openrc file (openstacksdk's `envvars`); a clouds.yaml entry,
/// or those variables when the name is `envvars` (see [`clouds::load_with`]).
fn load_cloud(
    opts: &RunOptions,
    variables: &BTreeMap<String, String>,
    needs_cloud: bool,
) -> Result<Option<clouds::CloudConfig>, RunError> {
    if !needs_cloud {
        return Ok(None);
    }
    let env = clouds::Environment::process();
    let name = variables
        .get("os_cloud")
        .cloned()
        .or_else(|| clouds::default_cloud_name(&env));
    match name {
        Some(n) => Ok(Some(clouds::load_with(
            &n,
            opts.clouds_file.as_deref(),
            &env,
        )?)),
        None => Err(RunError::NoCloud),
    }
}

/// The run's cluster (live runs whose checks declare `kubernetes:` capabilities): the
/// kubeconfig from the scope variable `kubeconfig`, else `$KUBECONFIG`, else
/// `~/.kube/config`; the context `--context`, else the current one. Unusable: an error of the
/// run, one line.
async fn connect_cluster(
    opts: &RunOptions,
    variables: &BTreeMap<String, String>,
) -> Result<Arc<crate::mediate::kube::Cluster>, RunError> {
    use crate::mediate::kube;
    let source =
        kube::KubeconfigSource::from_process(variables.get("kubeconfig").map(String::as_str))
            .map_err(kube::ClusterSetupError::from)?;
    let config = kube::config::load(&source)
        .and_then(|m| m.resolve(opts.kube.context.as_deref()))
        .map_err(kube::ClusterSetupError::from)?;
    let cluster = kube::Cluster::connect(config, opts.kube.clone(), opts.mediation.clone()).await?;
    Ok(Arc::new(cluster))
}

/// What the run offers checks that declare `tool:sonobuoy:run`: the operator's Sonobuoy
/// options, the kubeconfig file Sonobuoy gets (the one the run resolved, as kubectl: the
/// scope variable `kubeconfig`, else a `$KUBECONFIG` of one file, else `~/.kube/config`;
/// Sonobuoy reads it itself, exec plugins included, and uses its `current-context`), the
/// cluster (for the lock), `subject_root` and `execution_mode`.
fn run_conformance(
    opts: &RunOptions,
    variables: &BTreeMap<String, String>,
    kube: &KubeAccess,
) -> crate::sonobuoy::RunConformance {
    use crate::mediate::kube::{self, KubeconfigSource};
    let file = kube::KubeconfigSource::from_process(variables.get("kubeconfig").map(String::as_str))
        .map_err(|e| e.to_string())
        .and_then(|source| {
            let file = match &source {
                KubeconfigSource::Explicit(p) | KubeconfigSource::Home(p) => p.clone(),
                KubeconfigSource::Env(files) if files.len() == 1 => files[0].clone(),
                KubeconfigSource::Env(files) => {
                    return Err(format!(
                        "KUBECONFIG names {} files and sonobuoy takes one: pass -a kubeconfig=PATH",
                        files.len()
                    ));
                }
            };
            if let Some(ctx) = &opts.kube.context {
                let current = kube::config::load(&source)
                    .map_err(|e| e.to_string())?
                    .current_context()
                    .map(str::to_string);
                if current.as_deref() != Some(ctx.as_str()) {
                    return Err(format!(
                        "--context {ctx:?} is not the current-context of {} and sonobuoy uses the current-context: pass -a kubeconfig=PATH of a kubeconfig whose current-context is {ctx:?}",
                        file.display()
                    ));
                }
            }
            Ok(file)
        });
    let cluster_key = match (kube, &file) {
        (KubeAccess::Live(c), _) => c.info().server,
        (_, Ok(f)) => f.display().to_string(),
        (_, Err(_)) => String::new(),
    };
    crate::sonobuoy::RunConformance::new(
        opts.sonobuoy.clone(),
        file,
        cluster_key,
        variables.get("subject_root").cloned(),
        variables.get("execution_mode").cloned(),
    )
    .with_stop(opts.stop.clone())
}

/// The report's `cloud` block from what the transcript records about the cloud: the identity
/// endpoint is the catalog's for the run's interface (and region, when one was chosen).
pub(crate) fn cloud_provenance(c: &transcript::RecordedCloud) -> crate::report::CloudProvenance {
    let region = c.region.clone().unwrap_or_default();
    let identity = c
        .catalog
        .iter()
        .filter(|s| s.service_type == "identity")
        .flat_map(|s| s.endpoints.iter())
        .find(|(iface, r, _)| iface == &c.interface && (region.is_empty() || r == &region))
        .map(|(_, _, url)| url.clone())
        .unwrap_or_default();
    crate::report::CloudProvenance {
        identity,
        project: c.project.clone(),
        project_id: c.project_id.clone(),
        user: c.user.clone(),
        region,
    }
}

/// The outcome of connecting: where the checks' calls go, or why every testcase aborts.
struct Connected {
    target: Result<Target, String>,
    /// What the transcript records about the cloud (no secrets).
    recorded_cloud: Option<transcript::RecordedCloud>,
    /// The cluster as the checks see it.
    kube: KubeAccess,
    /// What the transcript records about the cluster (server and context).
    recorded_cluster: Option<transcript::RecordedCluster>,
}

impl Connected {
    /// No cloud session and no cluster: a run that needs only the cluster (connected later),
    /// or one that cannot run (`Err`: why every component ABORTs).
    fn without_cloud(target: Result<Target, String>) -> Connected {
        Connected {
            target,
            recorded_cloud: None,
            kube: KubeAccess::Absent(crate::mediate::NO_CLUSTER.to_string()),
            recorded_cluster: None,
        }
    }
}

/// Connect and run the preflight (or take both from the transcript). A failure here aborts
/// every testcase, like the official harness, but the report is still written; only a bad
/// clouds.yaml is an error of the run.
async fn connect(
    opts: &RunOptions,
    cloud: Option<&clouds::CloudConfig>,
    replay: Option<&Arc<transcript::LoadedTranscript>>,
    progress: &ProgressFn,
) -> Result<Connected, RunError> {
    let preflight_failed = |e: PreflightError| format!("preflight failed: {e}");
    if let Some(t) = replay {
        let (kube, recorded_cluster) = match &t.manifest.cluster {
            Some(c) => (
                KubeAccess::Replay(crate::mediate::kube::ClusterInfo {
                    server: c.server.clone(),
                    context: c.context.clone(),
                }),
                Some(c.clone()),
            ),
            None => (
                KubeAccess::Absent(crate::mediate::NO_CLUSTER.to_string()),
                None,
            ),
        };
        let (target, recorded_cloud) = match (
            &t.manifest.connect_error,
            &t.manifest.cloud,
            &recorded_cluster,
        ) {
            (Some(e), _, _) => (Err(e.clone()), None),
            (None, Some(c), _) => (
                preflight(&c.roles)
                    .map(|()| Target::Replay(Arc::new(ReplayCloud::new(c)), t.clone()))
                    .map_err(preflight_failed),
                Some(c.clone()),
            ),
            // a run with a cluster and no OpenStack cloud
            (None, None, Some(_)) => (
                Ok(Target::Replay(Arc::new(ReplayCloud::empty()), t.clone())),
                None,
            ),
            (None, None, None) => (Err("the transcript records no cloud".to_string()), None),
        };
        return Ok(Connected {
            target,
            recorded_cloud,
            kube,
            recorded_cluster,
        });
    }
    let Some(c) = cloud else {
        return Ok(Connected::without_cloud(Err(
            "no component to run".to_string()
        )));
    };
    match Session::connect(c, opts.mediation.clone()).await {
        Ok(s) => {
            progress(Progress::Connected {
                user: s.token_info().user.clone(),
                project: s.token_info().project.clone(),
            });
            let recorded_cloud = Some(s.recorded_cloud());
            Ok(Connected {
                recorded_cloud,
                ..Connected::without_cloud(
                    preflight(&s.token_info().roles)
                        .map(|()| Target::Live(Arc::new(s)))
                        .map_err(preflight_failed),
                )
            })
        }
        Err(MediateError::Clouds(e)) => Err(RunError::Clouds(e)),
        Err(e) => Ok(Connected::without_cloud(Err(format!(
            "cannot connect to cloud {:?}: {e}",
            c.name
        )))),
    }
}

/// The run parameters every component gets: the scope variables, `subject`,
/// `reference_date`.
fn check_params(
    opts: &RunOptions,
    variables: &BTreeMap<String, String>,
) -> Arc<Vec<(String, String)>> {
    let mut params: Vec<(String, String)> = variables
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    params.push(("subject".into(), opts.subject.clone()));
    params.push((
        "reference_date".into(),
        opts.date.format("%Y-%m-%d").to_string(),
    ));
    Arc::new(params)
}

/// Run several certifications (the multi-subject runner, b.2): up to
/// `workers` jobs at once, results in job order. As in the official runner,
/// one failed job fails the whole combined run (nothing is reported or
/// uploaded); the error names the job. `progress(i)` gives job `i`'s
/// progress callback.
pub async fn run_many(
    jobs: &[RunOptions],
    workers: usize,
    progress: &dyn Fn(usize) -> ProgressFn,
) -> Result<Vec<RunResult>, RunError> {
    use futures::StreamExt as _;
    let results: Vec<Result<RunResult, RunError>> =
        futures::stream::iter(jobs.iter().enumerate().map(|(i, o)| run(o, progress(i))))
            .buffered(workers.max(1))
            .collect()
            .await;
    let mut out = Vec::with_capacity(results.len());
    for (r, o) in results.into_iter().zip(jobs) {
        match r {
            Ok(r) => out.push(r),
            Err(e) if jobs.len() == 1 => return Err(e),
            Err(e) => {
                return Err(RunError::Job {
                    subject: o.subject.clone(),
                    scope: o.scope.display().to_string(),
                    source: Box::new(e),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preflight_rules() {
        let r = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(preflight(&r(&["member", "reader"])).is_ok());
        assert!(
            preflight(&r(&["admin", "member"]))
                .unwrap_err()
                .to_string()
                .contains("too high")
        );
        assert!(
            preflight(&r(&["manager", "member"]))
                .unwrap_err()
                .to_string()
                .contains("manager")
        );
        assert!(
            preflight(&r(&["reader"]))
                .unwrap_err()
                .to_string()
                .contains("lacks the member role")
        );
        assert!(
            preflight(&[])
                .unwrap_err()
                .to_string()
                .contains("roles: none")
        );
    }
}

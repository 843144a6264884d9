//! Running the planned components: at most `jobs` compiling at once (and at most `jobs` write
//! or tool checks running), read-only checks running in up to `max_readers` slots once
//! compiled, each compiled off the async workers, run in the sandbox against the live cloud or its transcript, and (for a write
//! check the host had to stop) once more in the cleanup phase.
//!
//! A stop ([`crate::stop`]) keeps components that have not started from starting; the sandbox
//! stops the running ones as their deadline would (a write check then runs its cleanup phase,
//! which gets no stop), and a Sonobuoy check's runner stops Sonobuoy and deletes its workload;
//! their testcases ABORT naming the stop.
//!
//! Must never: let one component's failure (trap, deadline, panic of its task) take another
//! component's results, run a cleanup phase on a replay, or cut a cleanup phase short on a
//! stop.

use super::{CLEANUP_PARAM, Planned, Progress, ProgressFn, RunError, RunOptions, Target};
use crate::bundle::LoadedCheck;
use crate::mediate::transcript::{RecordBudget, Recorder, Replayer};
use crate::mediate::{CheckMediator, ClockMode, Grants, KubeAccess, Session, Source};
use crate::sandbox::{CheckOutcome, LoadedComponent, Sandbox, Verdict};
use crate::stop::{StopRequest, stopped};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Run the components concurrently (at most `jobs` at once); outcomes in plan order. With
/// `writes_one_at_a_time`, components that may write take turns (each waits for the previous
/// one, cleanup phase included, before its deadline starts); the others run alongside.
#[allow(clippy::too_many_arguments)] // one call site; each argument is a separate input of the run
pub(super) async fn run_components(
    opts: &RunOptions,
    planned: &[Planned],
    target: &Target,
    kube: &KubeAccess,
    conformance: Option<&Arc<crate::sonobuoy::RunConformance>>,
    data: &super::data::DataSource,
    params: Arc<Vec<(String, String)>>,
    progress: &ProgressFn,
    writes_one_at_a_time: bool,
) -> Result<Vec<CheckOutcome>, RunError> {
    let sandbox = Arc::new(Sandbox::new(opts.sandbox.clone())?);
    let sem = Arc::new(tokio::sync::Semaphore::new(opts.jobs.max(1)));
    let readers = Arc::new(tokio::sync::Semaphore::new(opts.max_readers.max(1)));
    let write_turn = Arc::new(tokio::sync::Semaphore::new(1));
    // one budget for every check's recorder (MediationLimits::max_record_bytes)
    let record = opts
        .record
        .is_some()
        .then(|| RecordBudget::new(opts.mediation.max_record_bytes));
    let clock = opts.mediation.clock;
    let mut handles = Vec::with_capacity(planned.len());
    for p in planned {
        let job = ComponentJob {
            sandbox: sandbox.clone(),
            target: target.clone(),
            kube: kube.clone(),
            conformance: conformance.cloned(),
            data: data.clone(),
            params: params.clone(),
            progress: progress.clone(),
            check: p.check.clone(),
            testcases: p.testcases.clone(),
            record: record.clone(),
            clock,
            stop: opts.stop.clone(),
        };
        let writes = Grants::from_capabilities(&p.check.meta.mediated_capabilities())
            .is_ok_and(|g| g.has_write());
        let reads_only = !writes && !p.check.meta.declares("tool:");
        let turn = (writes_one_at_a_time && writes).then(|| write_turn.clone());
        let slots = Slots {
            jobs: sem.clone(),
            readers: reads_only.then(|| readers.clone()),
        };
        handles.push(tokio::spawn(async move {
            // the write turn first, so that a waiting write check holds no job slot
            let _turn = match turn {
                Some(t) => tokio::select! {
                    biased;
                    why = stopped(job.stop.as_ref()) => return job.not_started(&why),
                    t = t.acquire_owned() => Some(t),
                },
                None => None,
            };
            job.run(slots).await
        }));
    }
    let mut outcomes = Vec::with_capacity(planned.len());
    for (h, p) in handles.into_iter().zip(planned) {
        outcomes.push(match h.await {
            Ok(o) => o,
            Err(e) => abort_outcome(
                &p.testcases,
                &format!("internal error running {}: {e}", p.check.meta.id),
            ),
        });
    }
    Ok(outcomes)
}

/// The semaphores a component's run takes turns on: `jobs` (`--jobs`) while it compiles, and
/// while it runs if it may write or run a tool; `readers` (`--max-readers`) while a read-only
/// check runs.
struct Slots {
    jobs: Arc<tokio::sync::Semaphore>,
    readers: Option<Arc<tokio::sync::Semaphore>>,
}

/// One component's run, on its own task.
struct ComponentJob {
    sandbox: Arc<Sandbox>,
    target: Target,
    /// The run's cluster, if any.
    kube: KubeAccess,
    /// The run's Sonobuoy suites, if a check declares `tool:sonobuoy:run`.
    conformance: Option<Arc<crate::sonobuoy::RunConformance>>,
    data: super::data::DataSource,
    params: Arc<Vec<(String, String)>>,
    progress: ProgressFn,
    check: LoadedCheck,
    testcases: Vec<String>,
    /// The run's record budget, when it records.
    record: Option<Arc<RecordBudget>>,
    clock: ClockMode,
    /// The run's stop request, if the caller can stop it.
    stop: Option<StopRequest>,
}

impl ComponentJob {
    /// The outcome of a component a stop kept from starting: every testcase ABORTs.
    fn not_started(&self, why: &str) -> CheckOutcome {
        let id = &self.check.meta.id;
        let outcome = abort_outcome(
            &self.testcases,
            &format!("not run: the run was stopped ({why}) before {id} started"),
        );
        (self.progress)(Progress::Finished {
            check: id.clone(),
            passed: 0,
            failed: 0,
            aborted: outcome.results.len(),
            elapsed: Duration::ZERO,
        });
        outcome
    }

    /// Compile (off the async workers), run, and run the cleanup phase when needed; in a job
    /// slot, which a read-only check trades for a reader slot once it is compiled.
    async fn run(self, slots: Slots) -> CheckOutcome {
        let id = self.check.meta.id.clone();
        let job_slot = tokio::select! {
            biased;
            why = stopped(self.stop.as_ref()) => return self.not_started(&why),
            s = slots.jobs.acquire_owned() => s,
        };
        (self.progress)(Progress::Started { check: id.clone() });
        let loaded = {
            let sandbox = self.sandbox.clone();
            let wasm = self.check.wasm.clone();
            let (id2, sha) = (id.clone(), self.check.sha256.clone());
            // Compiling is CPU work: keep it off the async workers.
            tokio::task::spawn_blocking(move || sandbox.load(&id2, &wasm, &sha)).await
        };
        let outcome = match loaded {
            Err(e) => abort_outcome(
                &self.testcases,
                &format!("internal error compiling {id}: {e}"),
            ),
            Ok(Err(e)) => abort_outcome(&self.testcases, &e.to_string()),
            Ok(Ok(loaded)) => {
                // a read-only check waits on the cloud, not on the CPU: it gives its job slot
                // to the next compile and runs in a reader slot
                let _slot = match slots.readers {
                    Some(r) => {
                        drop(job_slot);
                        tokio::select! {
                            biased;
                            why = stopped(self.stop.as_ref()) => return self.not_started(&why),
                            s = r.acquire_owned() => s,
                        }
                    }
                    None => job_slot,
                };
                if let Some(why) = crate::stop::reason(self.stop.as_ref()) {
                    return self.not_started(&why);
                }
                self.run_loaded(&id, &loaded).await
            }
        };
        let count = |v: Verdict| outcome.results.iter().filter(|r| r.1 == v).count();
        (self.progress)(Progress::Finished {
            check: id,
            passed: count(Verdict::Pass),
            failed: count(Verdict::Fail),
            aborted: count(Verdict::Abort),
            elapsed: outcome.elapsed,
        });
        outcome
    }

    /// Run a compiled component against the live cloud or its transcript.
    async fn run_loaded(&self, id: &str, loaded: &LoadedComponent) -> CheckOutcome {
        let grants =
            Grants::from_capabilities(&self.check.meta.mediated_capabilities()).unwrap_or_default();
        let (timeout, memory) = self.sandbox.effective_limits(
            self.check.meta.limits.timeout_secs,
            self.check.meta.limits.memory_mib,
        );
        let writes = grants.has_write();
        let source = match &self.target {
            Target::Live(session) => Source::Live {
                session: session.clone(),
                recorder: self.record.clone().map(Recorder::with_budget),
            },
            Target::Replay(cloud, t) => Source::Replay {
                cloud: cloud.clone(),
                replayer: Replayer::new(id, t.events.get(id).cloned().unwrap_or_default()),
            },
            Target::Detached => Source::Detached {
                recorder: self.record.clone().map(Recorder::with_budget),
            },
        };
        let progress = self.progress.clone();
        let on_wait: crate::mediate::WaitHook =
            Arc::new(move |check: &str, ms: u64, total: u64| {
                progress(Progress::Waiting {
                    check: check.to_string(),
                    wait: Duration::from_millis(ms),
                    total: Duration::from_millis(total),
                })
            });
        let live = !matches!(self.target, Target::Replay(..));
        // a tool check is stopped by its tool runner, which still cleans up after the tool
        let runs_tool = self.check.meta.declares("tool:");
        let mediator =
            CheckMediator::with_source(source, id, grants.clone(), Instant::now() + timeout)
                .with_wait_hook(live.then_some(on_wait))
                .with_clock(self.clock)
                .with_cluster(self.kube.clone())
                .with_conformance(self.conformance.clone())
                .with_stop(self.stop.clone().filter(|_| !runs_tool))
                .with_request_timeout(
                    self.check
                        .meta
                        .limits
                        .request_timeout_secs
                        .map(Duration::from_secs),
                );
        let mut outcome = self
            .sandbox
            .run_with_data(
                loaded,
                mediator,
                self.data.for_check(&self.check),
                &self.testcases,
                &self.params,
                timeout,
                memory,
            )
            .await;
        super::data::no_pass_on_stale(&mut outcome);
        if let (Target::Live(session), true, Some(_)) = (&self.target, writes, &outcome.abort) {
            self.cleanup_phase(id, loaded, session, grants, memory, &mut outcome)
                .await;
        }
        outcome
    }

    /// A component that may write and was stopped by the host (deadline, trap, memory) ran
    /// no cleanup of its own: run it once more in the cleanup phase, with a fresh deadline,
    /// so it removes what it created (by its name prefix). Live runs only; not recorded (a
    /// killed run is not reproducible anyway).
    async fn cleanup_phase(
        &self,
        id: &str,
        loaded: &LoadedComponent,
        session: &Arc<Session>,
        grants: Grants,
        memory: u64,
        outcome: &mut CheckOutcome,
    ) {
        let grace = self.sandbox.config().cleanup_grace;
        if grace.is_zero() {
            return;
        }
        // the cleanup phase shares the check's budget: what is left of its requests, bytes
        // and log lines, not a fresh one
        let mediator = CheckMediator::new(session.clone(), id, grants, Instant::now() + grace)
            .with_spent(&outcome.stats);
        let mut cparams: Vec<(String, String)> = self.params.to_vec();
        cparams.push((CLEANUP_PARAM.0.into(), CLEANUP_PARAM.1.into()));
        let c = self
            .sandbox
            .run(loaded, mediator, &[], &cparams, grace, memory)
            .await;
        outcome.logs.push(crate::sandbox::LogLine {
            level: "INFO",
            message: format!(
                "cleanup phase after the abort: {}",
                c.abort.as_deref().unwrap_or("completed")
            ),
        });
        let config = self.sandbox.config();
        let mut lines_left = config.max_log_lines.saturating_sub(outcome.logs.len());
        let mut bytes_left = config
            .max_log_bytes
            .saturating_sub(outcome.logs.iter().map(|l| l.message.len()).sum());
        let mut dropped = 0usize;
        for l in c.logs {
            let message = format!("cleanup: {}", l.message);
            if lines_left == 0 || message.len() > bytes_left {
                dropped += 1;
                continue;
            }
            lines_left -= 1;
            bytes_left -= message.len();
            outcome.logs.push(crate::sandbox::LogLine {
                level: l.level,
                message,
            });
        }
        if dropped > 0 {
            outcome.logs.push(crate::sandbox::LogLine {
                level: "WARNING",
                message: format!(
                    "cleanup: {dropped} log line(s) dropped: the check's log budget is used up"
                ),
            });
        }
        outcome.stats.requests = outcome.stats.requests.max(c.stats.requests);
        outcome.stats.bytes = outcome.stats.bytes.max(c.stats.bytes);
    }
}

/// Every testcase of a component ABORTs with `reason`.
pub(super) fn abort_outcome(testcases: &[String], reason: &str) -> CheckOutcome {
    CheckOutcome {
        results: testcases
            .iter()
            .map(|t| (t.clone(), Verdict::Abort, reason.to_string()))
            .collect(),
        logs: vec![crate::sandbox::LogLine {
            level: "CRITICAL",
            message: reason.to_string(),
        }],
        abort: Some(reason.to_string()),
        stats: Default::default(),
        elapsed: Duration::ZERO,
        events: None,
        divergence: None,
        data_reads: Vec::new(),
    }
}

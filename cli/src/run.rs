//! `scs-cert run`: arguments, progress display, summary, exit code.
//!
//! The run itself is the library's: the bundle is verified (`bundle.rs`), the jobs are
//! planned and the delivery settings checked (`report.rs`), `scs_cert_host::run::run_many`
//! runs the jobs, and `scs_cert_host::report::deliver` writes, signs, spools and uploads the
//! report. The hidden `--virtual-clock` is for tests of waits only (docs/testing.md).

use super::{
    EXIT_ABORT, EXIT_BAD_INPUT, EXIT_ENV, EXIT_FAIL, EXIT_PASS, EXIT_TENTATIVE, bad_input,
    init_logging,
};
use scs_cert_host::mediate::{ClockMode, MediationLimits};
use scs_cert_host::run::{self, Overall, Progress, RunOptions};
use scs_cert_host::sandbox::SandboxConfig;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// `scs-cert run`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Exit codes: 0 pass, 1 fail, 2 abort, 3 tentative (missing results), 4 bad input, 5 environment failure, \
                  6 replay diverged; 10 unusable kubeconfig; 20-40 the --bundle (or --data) was refused (see `scs-cert bundle verify --help`); 44 --refresh-data could not fetch; with --upload: 8 not delivered (kept in the spool), 9 refused by the monitor; \
                  130/143 stopped by SIGINT/SIGTERM (report written; a second signal exits at once without one). \
                  Several subjects or scopes: the worst verdict. All codes: docs/cli.md#exit-codes."
)]
pub struct RunArgs {
    /// Scope file (SCS scope YAML, scs-0003), e.g. scopes/scs-compatible-iaas.yaml
    /// (with --config: optional, replaces the configuration's scopes).
    pub scope: Option<PathBuf>,
    /// Cloud name in clouds.yaml; sets the scope variable os_cloud [default: $OS_CLOUD].
    #[arg(long = "os-cloud", value_name = "NAME")]
    pub os_cloud: Option<String>,
    /// clouds.yaml to read [default: $OS_CLIENT_CONFIG_FILE, ./clouds.yaml,
    /// ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml; secure.yaml likewise].
    #[arg(long = "clouds-yaml", value_name = "FILE")]
    pub clouds_yaml: Option<PathBuf>,
    /// Subject (the cloud's name at the compliance monitor); several as a,b: one job per
    /// subject (and scope), one combined report. Without --config each subject's cloud is
    /// os_cloud=SUBJECT [default with --config: the preset's subjects].
    #[arg(
        short = 's',
        long = "subject",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub subject: Vec<String>,
    /// Write the report to FILE (YAML; several subjects or scopes make one multi-document
    /// file; JSON with --format json).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub combined: super::report::CombinedArgs,
    #[command(flatten)]
    pub delivery: super::report::DeliveryArgs,
    /// UNSIGNED directory of check components (<id>/component.wasm + <id>/check.json),
    /// for development only (the report says checks_trust: unsigned-dev);
    /// `cargo xtask build` makes target/guests/checks. Production runs use --bundle.
    #[arg(long = "checks", value_name = "PATH", env = "SCS_CERT_CHECKS")]
    pub checks: Option<PathBuf>,
    #[command(flatten)]
    pub signed: super::bundle::RunBundleArgs,
    #[command(flatten)]
    pub data: super::data::RunDataArgs,
    /// Reference date for version selection [default: today].
    #[arg(short = 'd', long = "date", value_name = "YYYY-MM-DD")]
    pub date: Option<chrono::NaiveDate>,
    /// Test this version only, whatever its validity (the official -V).
    #[arg(short = 'V', long = "version", value_name = "V")]
    pub version: Option<String>,
    /// Only testcases of these sections, comma-separated (the official -S).
    #[arg(
        short = 'S',
        long = "sections",
        value_name = "S",
        value_delimiter = ','
    )]
    pub sections: Option<Vec<String>>,
    /// Only testcases whose id matches REGEX at its start (the official -t).
    #[arg(short = 't', long = "tests", value_name = "REGEX")]
    pub tests: Option<String>,
    /// Components compiling at once, and write or tool checks running at once.
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 4)]
    pub jobs: usize,
    /// Read-only checks running at once once compiled (they wait on the cloud, not the CPU).
    #[arg(long = "max-readers", value_name = "N", default_value_t = scs_cert_host::run::DEFAULT_MAX_READERS)]
    pub max_readers: usize,
    /// Scope variable assignment key=value (the official -a), repeatable.
    #[arg(short = 'a', long = "assign", value_name = "KEY=VALUE")]
    pub assign: Vec<String>,
    /// Also run the `recommended` targets (the official suite runs `main` only).
    #[arg(long)]
    pub recommended: bool,
    /// Compile cache directory [default: $SCS_CERT_CACHE_DIR, else ~/.cache/scs-cert/components].
    #[arg(long = "cache-dir", value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Do not use the compile cache.
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Upper bound on any check's deadline, in seconds.
    #[arg(long = "max-check-secs", value_name = "SECS", default_value_t = 21600)]
    pub max_check_secs: u64,
    /// Deadline of the cleanup phase a write check gets after the host
    /// stopped it (deadline, trap, memory), in seconds; 0 disables it.
    #[arg(long = "cleanup-secs", value_name = "SECS", default_value_t = 300)]
    pub cleanup_secs: u64,
    /// Upper bound on any check's memory, in MiB.
    #[arg(long = "max-memory-mib", value_name = "MIB", default_value_t = 1024)]
    pub max_memory_mib: u64,
    /// Largest API response accepted, in MiB.
    #[arg(long = "max-response-mib", value_name = "MIB", default_value_t = 64)]
    pub max_response_mib: u64,
    /// Per-request timeout towards the cloud, in seconds.
    #[arg(long = "request-timeout", value_name = "SECS", default_value_t = 32)]
    pub request_timeout: u64,
    /// With --record: MiB the recorded calls of all checks may hold in memory before the
    /// transcript is written; past it, further calls are answered too-large (and recorded so).
    #[arg(long = "max-record-mib", value_name = "MIB", default_value_t = 1024)]
    pub max_record_mib: u64,
    /// Record every mediated call (requests, responses, clock reads, sleeps;
    /// never credentials) into this transcript directory.
    #[arg(long = "record", value_name = "DIR", conflicts_with = "replay")]
    pub record: Option<PathBuf>,
    /// Replay a recorded transcript instead of talking to a cloud: same
    /// calls in the same order per component, time from the transcript,
    /// sleeps skipped. A call that differs from the recording stops that
    /// component and the run exits with 6.
    #[arg(long = "replay", value_name = "DIR")]
    pub replay: Option<PathBuf>,
    /// The kubeconfig context for checks that use a Kubernetes cluster (KaaS scope)
    /// [default: the kubeconfig's current-context]. The kubeconfig is -a kubeconfig=PATH,
    /// else $KUBECONFIG, else ~/.kube/config (docs/cli.md#kubernetes-clusters).
    #[arg(long = "context", value_name = "NAME")]
    pub context: Option<String>,
    /// Longest a kubeconfig exec credential plugin may run, each time, in seconds.
    #[arg(long = "exec-timeout", value_name = "SECS", default_value_t = 30)]
    pub exec_timeout: u64,
    /// The Sonobuoy binary the heavy KaaS testcases run (cncf-k8s-conformance,
    /// kaas-networking-check); it must be the pinned v0.57.3 [default: sonobuoy on PATH].
    #[arg(long = "sonobuoy", value_name = "PATH")]
    pub sonobuoy: Option<PathBuf>,
    /// Results of an earlier Sonobuoy run for SUITE (cncf-k8s-conformance or
    /// kaas-networking-check): the tar.gz `sonobuoy retrieve` wrote; that suite then does not
    /// run. Repeatable, once per suite [default: none].
    #[arg(long = "sonobuoy-archive", value_name = "SUITE=PATH")]
    pub sonobuoy_archive: Vec<String>,
    /// Run only the testcases that are due: their newest result in the results history is no
    /// PASS (none yet, FAIL or ABORT), or a PASS that expires within --due-margin by the
    /// testcase's lifetime and the monitor's expiry rule. With --upload URL the monitor's
    /// results count too (GET URL/status as the upload account; the newer result wins), so a PASS
    /// delivered from another machine is not run again; an unreachable monitor gives a warning
    /// and the history alone decides. -S/-t still narrow the selection [default: every selected
    /// testcase].
    #[arg(long = "due")]
    pub due: bool,
    /// With --due: a PASS expiring within this many hours is due [default: 60, so a nightly job
    /// renews a result two nights before it expires and one failed night is caught by the next].
    #[arg(long = "due-margin", value_name = "HOURS", default_value_t = 60)]
    pub due_margin: u64,
    /// The results history (SQLite): every run's verdicts, digests and delivery state; --due
    /// reads it [default: <state dir>/history.sqlite].
    #[arg(long = "history", value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// Do not record this run in the results history (a replay is never recorded).
    #[arg(long = "no-history", conflicts_with = "due")]
    pub no_history: bool,
    /// Also write a self-contained HTML report (verdicts by version and target, every FAIL and
    /// ABORT with its reason, what changed since the previous run, provenance).
    #[arg(long = "html", value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Also write JUnit XML (one testsuite per subject and scope) for CI dashboards.
    #[arg(long = "junit", value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write a Prometheus textfile (per-testcase results and expiry, per-target verdicts,
    /// run time) for node_exporter's textfile collector.
    #[arg(long = "metrics-file", value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
    /// Debug logging to stderr (every API call with method, URL, status, bytes, duration).
    #[arg(short = 'v', long = "verbose", visible_alias = "debug")]
    pub verbose: bool,
    /// No progress display.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
    /// For tests of the waits only: a check's sleeps return at once and move its clock forward
    /// (the simulated cloud changes state by polls). Never for certification: the report's
    /// command line shows it.
    #[arg(long = "virtual-clock", hide = true)]
    pub virtual_clock: bool,
    /// Accepted for compatibility with the official tool (it changes only
    /// its exit-code arithmetic, which scs-cert does not use).
    #[arg(short = 'C', hide = true)]
    pub critical_only: bool,
}

fn progress_fn(quiet: bool) -> run::ProgressFn {
    if quiet {
        return Arc::new(|_| {});
    }
    if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(0);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Arc::new(move |p| match p {
            Progress::Planned { components, .. } => bar.set_length(components as u64),
            Progress::Connected { user, project } => {
                bar.set_message(format!("authenticated as {user} in {project}"))
            }
            Progress::WriteSchedule { line } => bar.println(format!("  write checks: {line}")),
            Progress::Started { check } => bar.set_message(format!("running {check}")),
            Progress::Waiting { check, total, .. } => bar.set_message(format!(
                "{check}: waiting for the cloud ({} s so far)",
                total.as_secs()
            )),
            Progress::Finished {
                check,
                passed,
                failed,
                aborted,
                elapsed,
            } => {
                bar.inc(1);
                bar.println(format!(
                    "  {check}: {passed} passed, {failed} failed, {aborted} aborted ({:.1} s)",
                    elapsed.as_secs_f64()
                ));
                if bar.position() >= bar.length().unwrap_or(0) {
                    bar.finish_and_clear();
                }
            }
        })
    } else {
        plain_progress(String::new())
    }
}

pub(crate) fn cmd_run(args: RunArgs) -> ExitCode {
    init_logging(args.verbose);
    // first: a SIGTERM during the set-up (bundle, data, planning) stops the run before it
    // starts, with its report, instead of being ignored (as PID 1 of a container) or killing it
    let rt = match super::runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let stop = match watch_signals(&rt, args.cleanup_secs) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut assignments = Vec::new();
    for a in &args.assign {
        match a.split_once('=') {
            Some((k, v)) if !k.is_empty() => assignments.push((k.to_string(), v.to_string())),
            _ => {
                return bad_input(format!(
                    "-a {a:?}: expected KEY=VALUE, e.g. -a os_cloud=mycloud"
                ));
            }
        }
    }
    if let Some(c) = &args.os_cloud {
        match assignments.iter().find(|(k, _)| k == "os_cloud") {
            Some((_, v)) if v != c => {
                return bad_input(format!(
                    "--os-cloud {c:?} contradicts -a os_cloud={v}; give one of them"
                ));
            }
            Some(_) => {}
            None => assignments.push(("os_cloud".to_string(), c.clone())),
        }
    }
    let mut sandbox = SandboxConfig {
        max_timeout: Duration::from_secs(args.max_check_secs.max(1)),
        max_memory_mib: args.max_memory_mib.max(1),
        cleanup_grace: Duration::from_secs(args.cleanup_secs),
        ..SandboxConfig::default()
    };
    if args.no_cache {
        sandbox.cache_dir = None;
    } else if let Some(d) = &args.cache_dir {
        sandbox.cache_dir = Some(d.clone());
    }
    let mediation = MediationLimits {
        max_response_bytes: args.max_response_mib.max(1) << 20,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        max_record_bytes: args.max_record_mib.saturating_mul(1 << 20),
        clock: if args.virtual_clock {
            ClockMode::Virtual
        } else {
            ClockMode::Real
        },
        ..MediationLimits::default()
    };
    let sonobuoy = match scs_cert_host::sonobuoy::parse_archive_args(&args.sonobuoy_archive) {
        Ok(archives) => scs_cert_host::sonobuoy::SonobuoyOptions {
            tool: args.sonobuoy.clone(),
            archives,
            // the state directory of the rollback state (--state-dir, else the default)
            lock_dir: args
                .signed
                .trust
                .state_dir
                .clone()
                .or_else(|| scs_cert_host::trust::state::default_dir().ok())
                .map(|d| d.join("locks")),
            ..Default::default()
        },
        Err(e) => return bad_input(e.to_string()),
    };
    // the results history: --history, else <state dir>/history.sqlite; none on a replay
    let history_path = match args.no_history || args.replay.is_some() {
        true => None,
        false => scs_cert_host::history::History::location(
            args.history.as_deref(),
            args.signed.trust.state_dir.as_deref(),
        )
        .ok(),
    };
    if args.due && history_path.is_none() {
        return bad_input(
            "--due needs the results history: pass --history FILE or --state-dir DIR (a replay has none)"
                .to_string(),
        );
    }
    let mut targets = vec!["main".to_string()];
    if args.recommended {
        targets.push("recommended".to_string());
    }
    // Verify the bundle before anything runs (or warn loudly about --checks).
    let verified = match super::bundle::verify_for_run(&args.signed, args.checks.as_deref()) {
        Ok(v) => v,
        Err(code) => return code,
    };
    let data =
        match super::data::data_for_run(&args.data, &args.signed.trust, args.replay.is_some()) {
            Ok(d) => d,
            Err(code) => return code,
        };
    // Scope, subject and assignments are set per job by plan_jobs; the
    // report file is written after all jobs (one file for all of them).
    let opts = RunOptions {
        scope: PathBuf::new(),
        subject: String::new(),
        output: None,
        checks: args.checks.clone().unwrap_or_default(),
        bundle: verified.first().cloned(),
        contributions: verified.iter().skip(1).cloned().collect(),
        clouds_file: args.clouds_yaml.clone(),
        date: args
            .date
            .unwrap_or_else(|| chrono::Local::now().date_naive()),
        forced_version: args.version.clone(),
        sections: args.sections.clone(),
        tests: args.tests.clone(),
        jobs: args.jobs,
        max_readers: args.max_readers,
        assignments,
        targets,
        argv: std::env::args().collect(),
        sandbox,
        mediation,
        record: args.record.clone(),
        replay: args.replay.clone(),
        replay_transcript: None,
        data,
        kube: scs_cert_host::mediate::kube::KubeOptions {
            context: args.context.clone(),
            exec_timeout: Duration::from_secs(args.exec_timeout.max(1)),
            ..Default::default()
        },
        sonobuoy,
        due: args.due.then(|| run::DueOptions {
            history: history_path.clone().unwrap_or_default(),
            margin: Duration::from_secs(args.due_margin.saturating_mul(3600)),
            // set below, once the delivery settings are checked
            monitor: None,
        }),
        stop: Some(stop.clone()),
    };
    let planned = match super::report::plan_jobs(
        &opts,
        args.scope.as_deref(),
        &args.subject,
        &opts.assignments,
        &args.combined,
    ) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let prepared = match super::report::prepare(&args.delivery, &planned, args.output.as_deref()) {
        Ok(p) => p,
        Err(code) => return code,
    };
    let mut planned = planned;
    if let Some(monitor) = prepared.monitor() {
        for due in planned.jobs.iter_mut().filter_map(|j| j.due.as_mut()) {
            due.monitor = Some(monitor.clone());
        }
    }
    let single = planned.jobs.len() == 1;
    let progress = |i: usize| -> run::ProgressFn {
        if single {
            progress_fn(args.quiet)
        } else {
            let j = &planned.jobs[i];
            job_progress_fn(args.quiet, format!("{} {}", j.subject, j.scope.display()))
        }
    };
    let result = rt.block_on(run::run_many(&planned.jobs, planned.workers, &progress));
    // a stop that came after every check had finished (during the delivery) changed nothing
    let stopped = stop.reason();
    match result {
        Err(e) => {
            eprintln!("scs-cert: error: {e}");
            if e.is_kubeconfig() {
                return ExitCode::from(super::EXIT_KUBECONFIG);
            }
            ExitCode::from(if e.is_bad_input() {
                EXIT_BAD_INPUT
            } else {
                EXIT_ENV
            })
        }
        Ok(results) => {
            // --due: a job with nothing due ran nothing and delivers nothing
            let (results, idle): (Vec<_>, Vec<_>) = results
                .into_iter()
                .zip(&planned.jobs)
                .partition(|(r, _)| !r.nothing_due);
            for (r, o) in &idle {
                let next = r.not_due.iter().map(|(_, t)| *t).min();
                eprintln!(
                    "scs-cert: {} {}: nothing is due ({} testcase(s) valid beyond the margin{})",
                    o.subject,
                    o.scope.display(),
                    r.not_due.len(),
                    next.map(|t| format!("; the first expires {}", t.format("%Y-%m-%d %H:%M")))
                        .unwrap_or_default()
                );
            }
            if results.is_empty() {
                return ExitCode::from(EXIT_PASS);
            }
            let mut worst = Overall::Pass;
            let mut diverged = false;
            for (r, o) in &results {
                print!("{}", r.console);
                if let (Some(dir), Some(t)) = (&o.record, &r.transcript) {
                    eprintln!(
                        "scs-cert: transcript written to {} ({} bytes, sha256 {})",
                        dir.display(),
                        t.bytes,
                        t.sha256
                    );
                }
                for d in &r.divergences {
                    eprintln!("scs-cert: error: {d}");
                    diverged = true;
                }
                worst = worse_overall(worst, r.overall);
            }
            for (r, o) in &results {
                if !r.not_due.is_empty() {
                    eprintln!(
                        "scs-cert: {} {}: {} testcase(s) not due, left out (--due)",
                        o.subject,
                        o.scope.display(),
                        r.not_due.len()
                    );
                }
            }
            let reports: Vec<_> = results.iter().map(|(r, _)| r.report.clone()).collect();
            let code = super::report::deliver_run(&rt, &reports, args.output.as_deref(), &prepared);
            let delivery = super::report::delivery_state(&prepared, args.output.as_deref(), code);
            let views = record_and_view(&args, history_path.as_deref(), &results, delivery);
            if code != 0 {
                return ExitCode::from(code);
            }
            if let Err(c) = views {
                return c;
            }
            if diverged {
                return ExitCode::from(super::EXIT_REPLAY_DIVERGED);
            }
            if let Some(why) = stopped {
                eprintln!("scs-cert: the run was stopped ({why}); its report holds what ran");
                return ExitCode::from(signal_exit_code(&why));
            }
            ExitCode::from(match worst {
                Overall::Pass => EXIT_PASS,
                Overall::Fail => EXIT_FAIL,
                Overall::Abort => EXIT_ABORT,
                Overall::Tentative => EXIT_TENTATIVE,
            })
        }
    }
}

/// SIGTERM (systemd's stop, a Kubernetes deadline) and SIGINT (Ctrl-C): the first stops the
/// run in order (components that have not started do not start, running ones stop, write
/// checks clean up within the cleanup grace, the report is written, signed and delivered);
/// a second one exits at once, without a report.
fn watch_signals(
    rt: &tokio::runtime::Runtime,
    cleanup_secs: u64,
) -> Result<scs_cert_host::stop::StopRequest, ExitCode> {
    use tokio::signal::unix::{SignalKind, signal};
    let (handle, request) = scs_cert_host::stop::StopHandle::new();
    let _in_rt = rt.enter();
    let (mut term, mut int) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(t), Ok(i)) => (t, i),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("scs-cert: error: cannot handle SIGTERM and SIGINT: {e}");
            return Err(ExitCode::from(EXIT_ENV));
        }
    };
    rt.spawn(async move {
        let first = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        eprintln!(
            "scs-cert: {first}: stopping: checks that have not started do not start, running ones \
             stop and clean up (at most {cleanup_secs} s), then the report is written and \
             delivered; a second signal exits at once without a report"
        );
        handle.stop(first);
        let second = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        eprintln!("scs-cert: {second} again: exiting now, without a report");
        std::process::exit(i32::from(signal_exit_code(second)));
    });
    Ok(request)
}

/// 128 + the signal's number, as a shell reports a process the signal ended.
fn signal_exit_code(signal: &str) -> u8 {
    match signal {
        "SIGINT" => 130,
        _ => 143,
    }
}

/// After delivery: record each job in the results history (a failure there is a warning: the
/// report is already written, and the next `--due` run only runs more), then write the HTML,
/// JUnit and metrics views, which compare with the previous run recorded.
fn record_and_view(
    args: &RunArgs,
    history: Option<&std::path::Path>,
    results: &[(run::RunResult, &scs_cert_host::run::RunOptions)],
    delivery: scs_cert_host::history::Delivery,
) -> Result<(), ExitCode> {
    use scs_cert_host::history::History;
    let mut store = match history.map(History::open) {
        None => None,
        Some(Ok(h)) => Some(h),
        Some(Err(e)) => {
            eprintln!("scs-cert: warning: results history not updated: {e}");
            None
        }
    };
    let mut jobs = Vec::with_capacity(results.len());
    for (r, _) in results {
        let previous = store.as_ref().and_then(|h| {
            h.previous(&r.report.subject, &r.report.spec.uuid, &r.report.run_uuid)
                .map_err(|e| eprintln!("scs-cert: warning: results history: {e}"))
                .ok()
                .flatten()
        });
        if let Some(h) = store.as_mut() {
            let digest = scs_cert_host::report::document_sha256(&r.report);
            if let Err(e) = h.record(
                &r.report,
                &r.spec,
                overall_word(r.overall),
                &digest,
                delivery,
            ) {
                eprintln!("scs-cert: warning: results history not updated: {e}");
            }
        }
        jobs.push(scs_cert_host::views::JobView {
            report: r.report.clone(),
            spec: r.spec.clone(),
            summaries: r.summaries.clone(),
            overall: overall_word(r.overall),
            previous,
            elapsed: r.elapsed,
            not_due: r.not_due.clone(),
        });
    }
    let files = scs_cert_host::views::ViewFiles {
        html: args.html.clone(),
        junit: args.junit.clone(),
        metrics: args.metrics_file.clone(),
    };
    match scs_cert_host::views::write_files(&jobs, &files) {
        Ok(written) => {
            for (what, path) in written {
                eprintln!("scs-cert: {what} written to {}", path.display());
            }
            Ok(())
        }
        Err(e) => {
            eprintln!("scs-cert: error: {e}");
            Err(ExitCode::from(EXIT_ENV))
        }
    }
}

/// `pass`, `fail`, `abort`, `tentative`.
fn overall_word(o: Overall) -> &'static str {
    match o {
        Overall::Pass => "pass",
        Overall::Fail => "fail",
        Overall::Abort => "abort",
        Overall::Tentative => "tentative",
    }
}

/// The worse of two outcomes: FAIL, then ABORT, then missing results.
fn worse_overall(a: Overall, b: Overall) -> Overall {
    let rank = |o: Overall| match o {
        Overall::Pass => 0,
        Overall::Tentative => 1,
        Overall::Abort => 2,
        Overall::Fail => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Plain progress lines of one job of a combined run, prefixed with its
/// subject and scope.
fn job_progress_fn(quiet: bool, prefix: String) -> run::ProgressFn {
    if quiet {
        return Arc::new(|_| {});
    }
    plain_progress(format!("[{prefix}] "))
}

/// Progress as plain lines on stderr (when stderr is not a terminal, and
/// for the jobs of a combined run); `prefix` goes before each line's text.
fn plain_progress(prefix: String) -> run::ProgressFn {
    Arc::new(move |p| match p {
        Progress::Planned {
            components,
            testcases,
        } => eprintln!(
            "scs-cert: {prefix}{testcases} testcases selected, {components} components to run"
        ),
        Progress::Connected { user, project } => {
            eprintln!("scs-cert: {prefix}authenticated as {user} in project {project}")
        }
        Progress::WriteSchedule { line } => eprintln!("scs-cert: {prefix}write checks: {line}"),
        Progress::Started { check } => eprintln!("scs-cert: {prefix}{check}: started"),
        // the first wait of a check, then once per minute of waiting
        Progress::Waiting { check, wait, total } => {
            let before = total.saturating_sub(wait);
            if before.is_zero() || total.as_secs() / 60 > before.as_secs() / 60 {
                eprintln!(
                    "scs-cert: {prefix}{check}: waiting for the cloud ({} s so far)",
                    total.as_secs()
                )
            }
        }
        Progress::Finished {
            check,
            passed,
            failed,
            aborted,
            elapsed,
        } => eprintln!(
            "scs-cert: {prefix}{check}: {passed} passed, {failed} failed, {aborted} aborted ({:.1} s)",
            elapsed.as_secs_f64()
        ),
    })
}

//! Run planning: which certification jobs (scope x subject, each with its scope variables) a
//! `run` performs, from a scope file and subjects, or from the multi-subject runner's
//! configuration ([`config`], the official `Tests/config.toml` format).
//!
//! Owns: the job list, the official default mapping (several subjects without a configuration:
//! `os_cloud` = the subject), the precedence of command-line assignments over a configuration's
//! mapping, the number of workers, and refusing combinations that cannot work (one named cloud
//! for several subjects, recording several jobs into one transcript).
//!
//! Must never: run anything, read credentials or secrets, or print.

pub mod config;

use crate::run::RunOptions;
use config::{ConfigError, RunnerConfig};
use std::path::Path;

/// Default `workers` of the official runner.
pub(crate) const DEFAULT_WORKERS: usize = 5;

/// What the command line asked for.
#[derive(Debug, Clone, Copy)]
pub struct JobRequest<'a> {
    /// Everything of a job but scope, subject and assignments.
    pub template: &'a RunOptions,
    /// The scope file given on the command line (with a configuration: replaces its scopes).
    pub scope: Option<&'a Path>,
    /// Subjects given on the command line.
    pub subjects: &'a [String],
    /// The command line's scope variables (`-a`, `--os-cloud`); they win over a mapping.
    pub assignments: &'a [(String, String)],
    /// The runner configuration file (`--config`).
    pub config: Option<&'a Path>,
    /// Its preset (`--preset`) [default: `default`].
    pub preset: Option<&'a str>,
    /// Its scope names (`--scope`) [default: the preset's].
    pub scopes: &'a [String],
    /// Jobs at once (`--workers`) [default: the preset's, else [`DEFAULT_WORKERS`]].
    pub workers: Option<usize>,
}

/// The planned jobs of a run.
#[derive(Debug)]
pub struct Jobs {
    /// One run per scope x subject, in order.
    pub jobs: Vec<RunOptions>,
    /// Jobs at once (at least 1).
    pub workers: usize,
    /// The runner configuration, when one was given (its `[secrets]` feed signing and upload).
    pub config: Option<RunnerConfig>,
}

/// Why no jobs could be planned; every one is bad input.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The runner configuration is unreadable or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Neither a scope file nor a configuration.
    #[error(
        "no scope: pass the scope file (e.g. scopes/scs-compatible-iaas.yaml) or --config FILE"
    )]
    NoScope,
    /// A scope file but no subject.
    #[error("no subject: pass --subject NAME (-s), several as --subject a,b")]
    NoSubject,
    /// `os_cloud` assigned on the command line while several subjects run.
    #[error(
        "--os-cloud / -a os_cloud names one cloud, but several subjects run; drop it (each \
         subject's cloud is os_cloud=SUBJECT, or [subjects.NAME.mapping] in --config)"
    )]
    OneCloudForSeveralSubjects,
    /// `--record`/`--replay` with more than one job.
    #[error("--record / --replay take one subject and one scope; run the subjects one at a time")]
    TranscriptNeedsOneJob,
}

/// Plan the jobs of a run.
pub fn plan_jobs(req: &JobRequest<'_>) -> Result<Jobs, PlanError> {
    let (jobs, preset_workers, config) = match req.config {
        Some(path) => {
            let cfg = RunnerConfig::load(path)?;
            let plan = cfg.plan(req.preset, req.scopes, req.subjects, req.scope)?;
            let jobs: Vec<_> = plan
                .jobs
                .iter()
                .map(|j| job(req, &j.scope, &j.subject, j.assignments.clone()))
                .collect();
            (jobs, plan.workers, Some(cfg))
        }
        None => (jobs_without_config(req)?, None, None),
    };
    check_combination(req, &jobs)?;
    let workers = req
        .workers
        .or(preset_workers)
        .unwrap_or(DEFAULT_WORKERS)
        .max(1);
    Ok(Jobs {
        jobs,
        workers,
        config,
    })
}

/// One job: the template with scope, subject and the mapping, overridden by the command
/// line's assignments.
fn job(
    req: &JobRequest<'_>,
    scope: &Path,
    subject: &str,
    mut assign: Vec<(String, String)>,
) -> RunOptions {
    for (k, v) in req.assignments {
        assign.retain(|(k2, _)| k2 != k);
        assign.push((k.clone(), v.clone()));
    }
    let mut o = req.template.clone();
    o.scope = scope.to_path_buf();
    o.subject = subject.to_string();
    o.assignments = assign;
    o
}

/// Jobs from a scope file and the subjects (the official default mapping for several).
fn jobs_without_config(req: &JobRequest<'_>) -> Result<Vec<RunOptions>, PlanError> {
    let scope = req.scope.ok_or(PlanError::NoScope)?;
    match req.subjects {
        [] => Err(PlanError::NoSubject),
        [one] => Ok(vec![job(req, scope, one, Vec::new())]),
        many => Ok(many
            .iter()
            .map(|s| job(req, scope, s, vec![("os_cloud".to_string(), s.clone())]))
            .collect()),
    }
}

/// Refuse combinations that cannot work.
fn check_combination(req: &JobRequest<'_>, jobs: &[RunOptions]) -> Result<(), PlanError> {
    let has_cloud = req.assignments.iter().any(|(k, _)| k == "os_cloud");
    let subjects: std::collections::BTreeSet<&str> =
        jobs.iter().map(|j| j.subject.as_str()).collect();
    if has_cloud && subjects.len() > 1 {
        return Err(PlanError::OneCloudForSeveralSubjects);
    }
    if jobs.len() > 1 && (req.template.record.is_some() || req.template.replay.is_some()) {
        return Err(PlanError::TranscriptNeedsOneJob);
    }
    Ok(())
}

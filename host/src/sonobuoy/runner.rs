//! Running the operator's `sonobuoy` for one suite (d.12): find it (`--sonobuoy PATH`, else
//! `PATH`), insist on the pinned version, take the cluster's lock, run `delete --wait`,
//! `run --wait …`, `retrieve -x <result dir>`, read the results file, `delete --wait`; or
//! read the suite's archive instead.
//!
//! Must never: take an argument, path or variable from the check; run two suites at once on
//! one cluster (a process-wide lock per cluster, the API server URL, else the kubeconfig
//! file; and, with a lock directory, an exclusive file lock per cluster that other scs-cert
//! processes of the user honour too, waited for until the check's deadline); let a command outlive the check's deadline (each runs in its own process group,
//! killed as a whole at the deadline or when the check is dropped); skip the final `sonobuoy
//! delete` when the run is stopped (a stop ends `run`/`retrieve`, then the delete runs within
//! the cleanup reserve); read more of a command's output than the tail its error message
//! needs.

use super::{
    CAPABILITY, ConformanceError, ExecutionMode, Origin, PINNED_VERSION, Results, SonobuoyOptions,
    Suite, archive, command_sequence,
};
use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// What a run offers its Sonobuoy check: the operator's options and what the run resolved.
#[derive(Debug, Clone)]
pub struct RunConformance {
    options: SonobuoyOptions,
    /// The kubeconfig file Sonobuoy gets, or why there is none (one line).
    kubeconfig: Result<PathBuf, String>,
    /// Which cluster the lock is for.
    cluster_key: String,
    /// The scope variable `subject_root`, if set.
    subject_root: Option<String>,
    /// The scope variable `execution_mode` [the scope's default: `parallel`].
    execution_mode: String,
    /// The run's stop request: it ends `sonobuoy run`/`retrieve`, then the final `sonobuoy
    /// delete` runs, bounded by the cleanup reserve [default: none].
    stop: Option<crate::stop::StopRequest>,
}

impl RunConformance {
    /// From the operator's options and what the run resolved: the kubeconfig file (or why
    /// Sonobuoy cannot have one), the cluster (server URL, for the lock), and the scope
    /// variables `subject_root` and `execution_mode` (`parallel` when unset).
    pub fn new(
        options: SonobuoyOptions,
        kubeconfig: Result<PathBuf, String>,
        cluster_key: String,
        subject_root: Option<String>,
        execution_mode: Option<String>,
    ) -> RunConformance {
        RunConformance {
            options,
            kubeconfig,
            cluster_key,
            subject_root,
            execution_mode: execution_mode.unwrap_or_else(|| "parallel".to_string()),
            stop: None,
        }
    }

    /// The same, ended early by `stop` (the final `sonobuoy delete` still runs).
    pub fn with_stop(mut self, stop: Option<crate::stop::StopRequest>) -> RunConformance {
        self.stop = stop;
        self
    }

    /// Results of `suite`: from its archive if the operator gave one, else from running
    /// Sonobuoy now, within `deadline`.
    pub async fn run(&self, suite: Suite, deadline: Instant) -> Result<Results, ConformanceError> {
        if let Some(path) = self.options.archives.get(&suite) {
            let (p, limits) = (path.clone(), self.options.limits.clone());
            let read = tokio::task::spawn_blocking(move || archive::read_archive(&p, &limits))
                .await
                .map_err(|e| {
                    ConformanceError::Failed(format!("reading the archive failed: {e}"))
                })?;
            let (sha256, results_yaml) = read?;
            tracing::info!(suite = suite.id(), archive = %path.display(), %sha256, "Sonobuoy results from an archive");
            return Ok(Results {
                sha256,
                origin: Origin::Archive,
                source: path.display().to_string(),
                results_yaml,
            });
        }
        if let Some(why) = crate::stop::reason(self.stop.as_ref()) {
            return Err(ConformanceError::Failed(format!(
                "Sonobuoy was not started: the run was stopped ({why})"
            )));
        }
        let tool = self.find_tool(suite)?;
        let mode = ExecutionMode::parse(&self.execution_mode)?;
        let kubeconfig = self.kubeconfig.clone().map_err(ConformanceError::Failed)?;
        let root = self.subject_root.as_deref().ok_or_else(|| {
            ConformanceError::Failed(
                "the scope variable subject_root is not set; pass -a subject_root=DIR (the results go to DIR/sono-results-…)".to_string(),
            )
        })?;
        let result_dir = Path::new(root).join(suite.result_dir());
        let lock = cluster_lock(&self.cluster_key);
        let _held = tokio::time::timeout_at(deadline.into(), lock.lock_owned())
            .await
            .map_err(|_| {
                ConformanceError::Timeout(format!(
                    "the check's deadline passed while the other Sonobuoy suite ran on cluster {}",
                    self.cluster_key
                ))
            })?;
        let _file_lock = match &self.options.lock_dir {
            Some(dir) => Some(file_lock(dir, &self.cluster_key, deadline).await?),
            None => None,
        };
        self.check_version(&tool, deadline).await?;
        let seq = command_sequence(suite, mode, &kubeconfig, &result_dir);
        let remaining = deadline.saturating_duration_since(Instant::now());
        let work_until = deadline - self.options.limits.cleanup_reserve.min(remaining / 5);
        let limits = &self.options.limits;
        tracing::info!(suite = suite.id(), tool = %tool.display(), result_dir = %result_dir.display(), "running Sonobuoy");
        let stop = self.stop.as_ref();
        // after a stop the final delete has the cleanup reserve, not the rest of the deadline
        let delete_until = || match crate::stop::reason(stop) {
            Some(_) => deadline.min(Instant::now() + limits.cleanup_reserve),
            None => deadline,
        };
        let cleanup = |e: ConformanceError| async {
            if let Err(c) = exec(&tool, &seq[3], delete_until(), limits.output_tail, None).await {
                tracing::warn!(
                    suite = suite.id(),
                    "the final sonobuoy delete failed too: {c}"
                );
            }
            e
        };
        exec(&tool, &seq[0], work_until, limits.output_tail, stop).await?;
        if let Err(e) = exec(&tool, &seq[1], work_until, limits.output_tail, stop).await {
            return Err(cleanup(e).await);
        }
        if let Err(e) = prepare_result_dir(&result_dir) {
            return Err(cleanup(e).await);
        }
        if let Err(e) = exec(&tool, &seq[2], work_until, limits.output_tail, stop).await {
            return Err(cleanup(e).await);
        }
        let (dir, l2) = (result_dir.clone(), limits.clone());
        let read = tokio::task::spawn_blocking(move || archive::read_results_dir(&dir, &l2))
            .await
            .map_err(|e| ConformanceError::Failed(format!("reading the results failed: {e}")))
            .and_then(|r| r);
        let (sha256, results_yaml) = match read {
            Ok(r) => r,
            Err(e) => return Err(cleanup(e).await),
        };
        // as the official wrapper: the final delete belongs to the run; its failure is one
        exec(&tool, &seq[3], delete_until(), limits.output_tail, None).await?;
        Ok(Results {
            sha256,
            origin: Origin::Ran,
            source: result_dir.display().to_string(),
            results_yaml,
        })
    }

    /// `--sonobuoy PATH`, else the first `sonobuoy` on `PATH`.
    fn find_tool(&self, suite: Suite) -> Result<PathBuf, ConformanceError> {
        if let Some(p) = &self.options.tool {
            return if is_executable(p) {
                Ok(p.clone())
            } else {
                Err(ConformanceError::ToolMissing(format!(
                    "--sonobuoy {}: not an executable file; give the path of Sonobuoy {PINNED_VERSION}, or the results of an earlier run with --sonobuoy-archive {}=PATH",
                    p.display(),
                    suite.id()
                )))
            };
        }
        let path = std::env::var_os("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .map(|d| d.join("sonobuoy"))
            .find(|c| is_executable(c))
            .ok_or_else(|| {
                ConformanceError::ToolMissing(format!(
                    "no sonobuoy on PATH: install Sonobuoy {PINNED_VERSION} or pass --sonobuoy PATH to run the suite, or give the results of an earlier run with --sonobuoy-archive {}=PATH (the tar.gz of sonobuoy retrieve)",
                    suite.id()
                ))
            })
    }

    /// `sonobuoy version --short` must say the pinned version.
    async fn check_version(&self, tool: &Path, deadline: Instant) -> Result<(), ConformanceError> {
        let until = deadline.min(Instant::now() + self.options.limits.version_timeout);
        let out = exec(
            tool,
            &["version".into(), "--short".into()],
            until,
            self.options.limits.output_tail,
            self.stop.as_ref(),
        )
        .await?;
        let found = version_of(&out);
        if found.as_deref() == Some(PINNED_VERSION) {
            return Ok(());
        }
        Err(ConformanceError::Failed(format!(
            "{} is Sonobuoy {}, not the pinned {PINNED_VERSION} of the official suite; install {PINNED_VERSION} or pass --sonobuoy PATH of it",
            tool.display(),
            found.unwrap_or_else(|| "of an unknown version".to_string())
        )))
    }
}

/// The version `sonobuoy version [--short]` printed: a line `v0.57.3`, or the value of a
/// `Sonobuoy Version:` line.
fn version_of(out: &str) -> Option<String> {
    out.lines().map(str::trim).find_map(|l| {
        if let Some(v) = l.strip_prefix("Sonobuoy Version:") {
            return Some(v.trim().to_string());
        }
        (l.starts_with('v') && !l.contains(char::is_whitespace)).then(|| l.to_string())
    })
}

/// Whether `p` is a regular file with an execute bit.
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The results directory exists and holds no results file of an earlier run (a retrieve
/// that writes none must not leave the old one to be read).
fn prepare_result_dir(dir: &Path) -> Result<(), ConformanceError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        ConformanceError::Failed(format!(
            "{}: cannot create the results directory: {e}",
            dir.display()
        ))
    })?;
    let stale = dir.join(super::RESULTS_PATH);
    match std::fs::remove_file(&stale) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(ConformanceError::Failed(format!(
                "{}: cannot remove the results of an earlier run: {e}",
                stale.display()
            )))
        }
        _ => Ok(()),
    }
}

/// The process-wide lock of one cluster's `sonobuoy` namespace.
fn cluster_lock(key: &str) -> Arc<tokio::sync::Mutex<()>> {
    type Locks = std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>;
    static LOCKS: OnceLock<Locks> = OnceLock::new();
    let mut map = LOCKS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    map.entry(key.to_string()).or_default().clone()
}

/// How often a held cluster lock file is tried again.
const LOCK_POLL: Duration = Duration::from_millis(200);

/// The exclusive file lock of one cluster (`dir/sonobuoy-<sha256 of the key, 16 hex>.lock`,
/// dir created private), tried until `deadline`; held until the returned file is dropped.
async fn file_lock(
    dir: &Path,
    cluster_key: &str,
    deadline: Instant,
) -> Result<std::fs::File, ConformanceError> {
    use sha2::Digest as _;
    let failed = |what: &str, path: &Path, e: std::io::Error| {
        ConformanceError::Failed(format!(
            "{}: cannot {what} the cluster's Sonobuoy lock: {e}; check the state directory",
            path.display()
        ))
    };
    crate::fsutil::create_private_dir(dir)
        .map_err(|e| failed("create the directory of", dir, e))?;
    let digest = sha2::Sha256::digest(cluster_key.as_bytes());
    let hex: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let path = dir.join(format!("sonobuoy-{hex}.lock"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&path)
        .map_err(|e| failed("open", &path, e))?;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(failed("take", &path, e)),
        }
        if Instant::now() + LOCK_POLL >= deadline {
            return Err(ConformanceError::Timeout(format!(
                "the check's deadline passed while another scs-cert process ran Sonobuoy on \
                 cluster {cluster_key} (lock {})",
                path.display()
            )));
        }
        tracing::debug!(lock = %path.display(), "waiting for another process's Sonobuoy run");
        tokio::time::sleep(LOCK_POLL).await;
    }
}

/// Kills a command's whole process group when dropped (the check's deadline dropped the
/// call), unless disarmed after the command was reaped.
struct GroupGuard(Option<i32>);

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pgid) = self.0.take() {
            // SAFETY: kill(2) with a negative pid signals the process group `pgid`, which the
            // command leads (process_group(0)) and which has not been reaped yet; no memory
            // is touched.
            #[allow(unsafe_code)]
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Keep the last `keep` bytes of a stream.
async fn tail<R: tokio::io::AsyncRead + Unpin>(mut r: R, keep: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 8192];
    while let Ok(n) = r.read(&mut buf).await {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
        if out.len() > keep {
            out.drain(..out.len() - keep);
        }
    }
    out
}

/// The last non-empty line of a command's output, at most 200 characters.
fn last_line(out: &[u8]) -> String {
    let text = String::from_utf8_lossy(out);
    let line = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no output");
    crate::errtext::bounded_text(line, 200)
}

/// Run `tool args` (stdin empty, the host's environment) until `until`, or until `stop`
/// comes; its stdout tail on success.
async fn exec(
    tool: &Path,
    args: &[OsString],
    until: Instant,
    keep: usize,
    stop: Option<&crate::stop::StopRequest>,
) -> Result<String, ConformanceError> {
    // `--kubeconfig K <subcommand>` or `version`
    let sub = args
        .iter()
        .map(|a| a.to_string_lossy())
        .find(|a| !a.starts_with('-') && !a.contains('/') && !a.contains('.'))
        .map(|s| s.into_owned())
        .unwrap_or_default();
    let what = format!("sonobuoy {sub}");
    let mut cmd = tokio::process::Command::new(tool);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    let mut child = cmd
        .spawn()
        .map_err(|e| ConformanceError::Failed(format!("cannot start {}: {e}", tool.display())))?;
    let mut guard = GroupGuard(child.id().and_then(|p| i32::try_from(p).ok()));
    let out = child.stdout.take().map(|s| tokio::spawn(tail(s, keep)));
    let err = child.stderr.take().map(|s| tokio::spawn(tail(s, keep)));
    let waited = tokio::select! {
        w = tokio::time::timeout_at(until.into(), child.wait()) => Ok(w),
        why = crate::stop::stopped(stop) => Err(why),
    };
    let waited = match waited {
        Ok(w) => w,
        Err(why) => {
            guard.kill();
            let _ = child.wait().await;
            return Err(ConformanceError::Failed(format!(
                "`{what}` was stopped: the run was stopped ({why})"
            )));
        }
    };
    if waited.is_err() {
        guard.kill();
        let _ = child.wait().await;
    } else {
        guard.0 = None;
    }
    // a grandchild may hold the pipes open: wait for the tails briefly only
    let collect = |h: Option<tokio::task::JoinHandle<Vec<u8>>>| async move {
        match h {
            Some(h) => tokio::time::timeout(Duration::from_secs(2), h)
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default(),
            None => Vec::new(),
        }
    };
    let (out, err) = (collect(out).await, collect(err).await);
    match waited {
        Ok(Ok(status)) if status.success() => Ok(String::from_utf8_lossy(&out).into_owned()),
        Ok(Ok(status)) => {
            let said = if err.iter().any(|b| !b.is_ascii_whitespace()) {
                &err
            } else {
                &out
            };
            Err(ConformanceError::Failed(format!(
                "`{what}` failed ({status}): {}",
                last_line(said)
            )))
        }
        Ok(Err(e)) => Err(ConformanceError::Failed(format!("`{what}`: {e}"))),
        Err(_) => Err(ConformanceError::Timeout(format!(
            "`{what}` was still running at the check's deadline; the host stopped it (the bound is check.json limits.timeout_secs, at most --max-check-secs)"
        ))),
    }
}

/// The denial a check without [`CAPABILITY`] gets.
pub(crate) fn denied() -> ConformanceError {
    ConformanceError::Denied(format!("the check did not declare capability {CAPABILITY}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(version_of("v0.57.3\n").as_deref(), Some("v0.57.3"));
        assert_eq!(
            version_of("Sonobuoy Version: v0.56.0\nMinimumKubeVersion: 1.17.0\n").as_deref(),
            Some("v0.56.0")
        );
        assert_eq!(version_of("garbage here\n"), None);
    }
}

//! `scs-cert report sign|verify|upload|flush|export|list`, and the `run` flags of
//! signing, upload and combined runs (`--sign-key`, `--upload`, `--config`, ...).
//!
//! The work is the library's: `scs_cert_host::plan` (the jobs of a run),
//! `scs_cert_host::report::deliver` (report file, signature, spool, upload) and the
//! report modules under it. This module turns arguments into their inputs, prints their
//! notices, and maps their typed errors to exit codes: 0 done, 4 bad input, 5 environment
//! failure, 7 signature refused, 8 not delivered, 9 refused by the monitor.

use super::{EXIT_BAD_INPUT, EXIT_ENV, EXIT_REFUSED, EXIT_UNDELIVERED, bad_input, signed_error};
use scs_cert_host::plan::{self, JobRequest, Jobs};
use scs_cert_host::report::deliver::{
    self, Delivery, DeliveryError, DeliveryRequest, MonitorSettings, Notice,
};
use scs_cert_host::report::signed::{self, SignedError, SignedReport};
use scs_cert_host::report::spool::{self, Entry, Spool, SpoolError};
use scs_cert_host::report::upload::{
    self, DeliverError, Delivered, Monitor, UploadError, UploadPolicy,
};
use scs_cert_host::report::{Format, write_file as write_atomic};
use scs_cert_host::trust::allowed_signers::AllowedSigners;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// `scs-cert report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ReportCommand,
}

/// Report sub-commands.
#[derive(Debug, clap::Subcommand)]
#[command(
    after_help = "Exit codes: 0 done, 4 bad input, 5 environment failure, 7 signature refused, \
                  8 not delivered (monitor unreachable, 5xx, timeouts; kept in the spool), \
                  9 refused by the monitor (401, 415, other 4xx; kept in the spool). All codes: docs/cli.md#exit-codes."
)]
pub enum ReportCommand {
    /// Sign a report: writes FILE.sig (what `ssh-keygen -Y sign -n report` writes) and
    /// puts the signed report into the spool.
    Sign(SignArgs),
    /// Verify FILE against FILE.sig with an OpenSSH allowed_signers file
    /// (as `ssh-keygen -Y verify -n report`).
    Verify(VerifyArgs),
    /// Upload a signed report to the compliance monitor (POST URL/reports). FILE is a
    /// report with FILE.sig beside it, a spool entry, or a carry file from `report export`.
    Upload(UploadArgs),
    /// Upload every report pending in the spool, oldest first.
    Flush(FlushArgs),
    /// Write the pending reports into one carry file, for sites without a connection
    /// to the monitor (`report upload CARRY` sends it from the connected side).
    Export(ExportArgs),
    /// List the reports pending in the spool.
    List(ListArgs),
    /// Re-verify a report offline: check its signature, check that the bundle
    /// and transcript are the ones it names, replay the transcript and
    /// compare every result (exit 0 only when all are reproduced).
    Reproduce(super::reproduce::ReproduceArgs),
}

/// `--spool-dir`.
#[derive(Debug, Clone, clap::Args)]
pub struct SpoolDirArg {
    /// Spool directory for signed reports not yet confirmed by the monitor
    /// [default: $SCS_CERT_SPOOL_DIR, else $XDG_STATE_HOME/scs-cert/spool,
    /// else ~/.local/state/scs-cert/spool].
    #[arg(long = "spool-dir", value_name = "DIR")]
    pub spool_dir: Option<PathBuf>,
}

/// Credentials, TLS and retry bounds of an upload.
#[derive(Debug, Clone, clap::Args)]
pub struct UploadKnobs {
    /// File holding the monitor token: base64 of `subject:password` (the official
    /// runner's token file) [default: the variable SCS_MONITOR_TOKEN].
    #[arg(long = "token-file", value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Extra CA certificate(s) (PEM) to trust for the monitor [default: system roots].
    #[arg(long = "monitor-cacert", value_name = "FILE")]
    pub monitor_cacert: Option<PathBuf>,
    /// Upload tries in all before the report is left in the spool.
    #[arg(long = "upload-attempts", value_name = "N", default_value_t = 5)]
    pub upload_attempts: u32,
    /// Bound on one upload try, connect to last byte, in seconds.
    #[arg(long = "upload-timeout", value_name = "SECS", default_value_t = 60)]
    pub upload_timeout: u64,
    /// Wait after the first failed try, in milliseconds; doubles per try.
    #[arg(long = "upload-backoff-ms", value_name = "MS", default_value_t = 1000)]
    pub upload_backoff_ms: u64,
    /// Longest wait between tries, in seconds.
    #[arg(long = "upload-max-backoff", value_name = "SECS", default_value_t = 30)]
    pub upload_max_backoff: u64,
}

impl UploadKnobs {
    /// The library's monitor settings.
    pub(crate) fn settings(&self) -> MonitorSettings {
        MonitorSettings {
            token_file: self.token_file.clone(),
            cacert: self.monitor_cacert.clone(),
            policy: UploadPolicy {
                attempts: self.upload_attempts.max(1),
                timeout: Duration::from_secs(self.upload_timeout.max(1)),
                backoff: Duration::from_millis(self.upload_backoff_ms),
                max_backoff: Duration::from_secs(self.upload_max_backoff),
            },
        }
    }

    /// The monitor client for `url` (bad input on a bad URL, CA file or token).
    fn monitor(&self, url: &str) -> Result<Monitor, ExitCode> {
        self.settings().monitor(url, None).map_err(bad_input)
    }
}

/// `report sign`.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// The report (YAML or JSON, as written by `scs-cert run -o`).
    pub file: PathBuf,
    /// OpenSSH ed25519 private key; a passphrase comes from SCS_CERT_KEY_PASSPHRASE or a
    /// terminal prompt.
    #[arg(long = "key", short = 'f', value_name = "KEY")]
    pub key: PathBuf,
    /// yaml or json [default: from the file's content].
    #[arg(long = "format", value_name = "FORMAT")]
    pub format: Option<Format>,
    /// Only write FILE.sig; do not put the signed report into the spool.
    #[arg(long = "no-spool")]
    pub no_spool: bool,
    #[command(flatten)]
    pub spool: SpoolDirArg,
}

/// `report verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The report, or a signed report (spool entry).
    pub file: PathBuf,
    /// OpenSSH allowed_signers file (principals, namespaces=, valid-after=, valid-before=).
    #[arg(long = "allowed-signers", value_name = "FILE")]
    pub allowed_signers: PathBuf,
    /// Principal the key must be allowed for (ssh-keygen's -I) [default: any principal].
    #[arg(long = "principal", short = 'I', value_name = "NAME")]
    pub principal: Option<String>,
    /// Signature file [default: FILE.sig].
    #[arg(long = "signature", short = 's', value_name = "SIG")]
    pub signature: Option<PathBuf>,
}

/// `report upload`.
#[derive(Debug, clap::Args)]
pub struct UploadArgs {
    /// A report with FILE.sig beside it, a spool entry (*.signed-yaml/json), or a carry file.
    pub file: PathBuf,
    /// Monitor base URL; reports go to URL/reports (a missing trailing / is added), e.g.
    /// https://compliance.sovereignit.cloud/ [default: $SCS_MONITOR_URL].
    #[arg(long = "monitor", value_name = "URL", env = "SCS_MONITOR_URL")]
    pub monitor: String,
    /// Signature file for a plain report [default: FILE.sig].
    #[arg(long = "signature", short = 's', value_name = "SIG")]
    pub signature: Option<PathBuf>,
    #[command(flatten)]
    pub knobs: UploadKnobs,
    #[command(flatten)]
    pub spool: SpoolDirArg,
}

/// `report flush`.
#[derive(Debug, clap::Args)]
pub struct FlushArgs {
    /// Monitor base URL; reports go to URL/reports [default: $SCS_MONITOR_URL].
    #[arg(long = "monitor", value_name = "URL", env = "SCS_MONITOR_URL")]
    pub monitor: String,
    /// The results history whose runs get their delivery state (delivered, refused) [default:
    /// <state dir>/history.sqlite, when it exists].
    #[arg(long = "history", value_name = "FILE")]
    pub history: Option<PathBuf>,
    #[command(flatten)]
    pub knobs: UploadKnobs,
    #[command(flatten)]
    pub spool: SpoolDirArg,
}

/// `report export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// The carry file to write (a tar archive of spool entries).
    #[arg(long = "output", short = 'o', value_name = "FILE")]
    pub output: PathBuf,
    /// After writing, move the exported entries to DIR/exported/ (kept, no longer pending).
    #[arg(long = "archive")]
    pub archive: bool,
    #[command(flatten)]
    pub spool: SpoolDirArg,
}

/// `report list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub spool: SpoolDirArg,
}

pub(crate) fn env_failure(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("scs-cert: error: {msg}");
    ExitCode::from(EXIT_ENV)
}

fn spool_error(e: SpoolError) -> ExitCode {
    match e {
        SpoolError::NoDefault | SpoolError::Corrupt { .. } | SpoolError::Signed(_) => bad_input(e),
        SpoolError::Io { .. } => env_failure(e),
    }
}

/// Open the spool named by `--spool-dir` or the default.
pub(crate) fn open_spool(arg: &SpoolDirArg) -> Result<Spool, ExitCode> {
    deliver::open_spool(arg.spool_dir.as_deref()).map_err(spool_error)
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| env_failure(format!("cannot start the async runtime: {e}")))
}

fn read_file(path: &Path) -> Result<Vec<u8>, SignedError> {
    signed::read_report_file(path)
}

/// Load a signing key (asking for a passphrase only when it is protected).
pub(crate) fn load_key(path: &Path) -> Result<ssh_key::PrivateKey, ExitCode> {
    deliver::load_key(path).map_err(bad_input)
}

/// Load a report and its signature (bad input when either is missing or unreadable).
pub(crate) fn load_pair(file: &Path, sig: Option<&Path>) -> Result<SignedReport, ExitCode> {
    signed::load_pair(file, sig).map_err(bad_input)
}

/// The exit code for a failed delivery: 8 (temporary: spool kept, flush
/// later), 9 (refused: needs a fix), 5 (spool I/O), 4 (bad input).
fn delivery_code(e: &DeliverError) -> u8 {
    match e {
        DeliverError::Upload(u) if u.is_temporary() => EXIT_UNDELIVERED,
        DeliverError::Upload(u) if u.is_bad_input() => EXIT_BAD_INPUT,
        DeliverError::Upload(UploadError::Client(_)) => EXIT_ENV,
        DeliverError::Upload(_) => EXIT_REFUSED,
        DeliverError::Spool(SpoolError::Io { .. }) => EXIT_ENV,
        DeliverError::Spool(_) => EXIT_BAD_INPUT,
    }
}

/// Print a delivery notice.
fn notice(n: Notice) {
    eprintln!("scs-cert: {n}");
}

/// The exit code of a delivery after the run (0 when everything asked for was done): 4 for a
/// report that cannot be rendered, 5 for files, signing and the spool, else the worst of the
/// failed uploads.
fn delivered_code(r: Result<(), DeliveryError>) -> u8 {
    match r {
        Ok(()) => 0,
        Err(DeliveryError::NotDelivered(failed)) => failed
            .iter()
            .fold(0u8, |c, (_, e)| worse(c, delivery_code(e))),
        Err(e) => {
            eprintln!("scs-cert: error: {e}");
            match e {
                DeliveryError::Render(_) => EXIT_BAD_INPUT,
                _ => EXIT_ENV,
            }
        }
    }
}

/// Spool, then deliver, each signed report; returns the exit code (0 when
/// the monitor confirmed all).
pub(crate) fn spool_and_deliver(
    spool: &Spool,
    items: &[(String, SignedReport)],
    monitor: Option<&Monitor>,
) -> u8 {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(_) => return EXIT_ENV,
    };
    delivered_code(rt.block_on(deliver::spool_and_deliver(spool, items, monitor, &notice)))
}

/// Combine two exit codes of deliveries: refusals and input/environment
/// errors outrank "try later".
fn worse(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        0 => 0,
        EXIT_UNDELIVERED => 1,
        EXIT_REFUSED => 2,
        _ => 3,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Entry point of `scs-cert report`.
pub(crate) fn cmd_report(args: ReportArgs) -> ExitCode {
    super::init_logging(false);
    match args.command {
        ReportCommand::Sign(a) => cmd_sign(a),
        ReportCommand::Verify(a) => cmd_verify(a),
        ReportCommand::Upload(a) => cmd_upload(a),
        ReportCommand::Flush(a) => cmd_flush(a),
        ReportCommand::Export(a) => cmd_export(a),
        ReportCommand::List(a) => cmd_list(a),
        ReportCommand::Reproduce(a) => super::reproduce::cmd_reproduce(a),
    }
}

fn cmd_sign(a: SignArgs) -> ExitCode {
    let bytes = match read_file(&a.file) {
        Ok(b) => b,
        Err(e) => return bad_input(e),
    };
    let format = a
        .format
        .unwrap_or_else(|| signed::format_of(&a.file, &bytes));
    let name = a.file.display().to_string();
    if let Err(e) = signed::check_report(&bytes, format, &name) {
        return bad_input(e);
    }
    let spool = if a.no_spool {
        None
    } else {
        match open_spool(&a.spool) {
            Ok(s) => Some(s),
            Err(c) => return c,
        }
    };
    let key = match load_key(&a.key) {
        Ok(k) => k,
        Err(c) => return c,
    };
    let s = match SignedReport::sign(bytes, format, &key, &name) {
        Ok(s) => s,
        Err(e) => return signed_error(e),
    };
    let sig = signed::signature_path(&a.file);
    if let Err(e) = write_atomic(&sig, s.signature.as_bytes()) {
        return env_failure(e);
    }
    eprintln!(
        "scs-cert: {} signed with key {}: {}",
        name,
        scs_cert_host::trust::sshsig::key_id(key.public_key()),
        sig.display()
    );
    match spool {
        None => ExitCode::SUCCESS,
        Some(spool) => ExitCode::from(spool_and_deliver(&spool, &[(name, s)], None)),
    }
}

fn cmd_verify(a: VerifyArgs) -> ExitCode {
    let allowed = match AllowedSigners::load(&a.allowed_signers) {
        Ok(s) => s,
        Err(e) => return bad_input(e),
    };
    let s = match load_pair(&a.file, a.signature.as_deref()) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let name = a.file.display().to_string();
    match s.verify(&allowed, a.principal.as_deref(), chrono::Utc::now(), &name) {
        Ok(v) => {
            let principal = a.principal.clone().unwrap_or(v.entry.principals.clone());
            println!(
                "Good \"{}\" signature for {principal} with {} key {}",
                signed::NAMESPACE,
                v.key
                    .algorithm()
                    .as_str()
                    .trim_start_matches("ssh-")
                    .to_uppercase(),
                v.key_id
            );
            ExitCode::SUCCESS
        }
        Err(e) => signed_error(e),
    }
}

fn cmd_upload(a: UploadArgs) -> ExitCode {
    let bytes = match read_file(&a.file) {
        Ok(b) => b,
        Err(e) => return bad_input(e),
    };
    let name = a.file.display().to_string();
    let items: Vec<(String, SignedReport)> = if spool::is_carry(&bytes) {
        match spool::read_carry(&bytes, &name) {
            Ok(items) => items
                .into_iter()
                .map(|(n, s)| (format!("{name}:{n}"), s))
                .collect(),
            Err(e) => return spool_error(e),
        }
    } else {
        match load_pair(&a.file, a.signature.as_deref()) {
            Ok(s) => vec![(name.clone(), s)],
            Err(c) => return c,
        }
    };
    for (label, s) in &items {
        if let Err(e) = s.summaries(label) {
            return bad_input(e);
        }
    }
    let monitor = match a.knobs.monitor(&a.monitor) {
        Ok(m) => m,
        Err(c) => return c,
    };
    let spool = match open_spool(&a.spool) {
        Ok(s) => s,
        Err(c) => return c,
    };
    ExitCode::from(spool_and_deliver(&spool, &items, Some(&monitor)))
}

fn cmd_flush(a: FlushArgs) -> ExitCode {
    let monitor = match a.knobs.monitor(&a.monitor) {
        Ok(m) => m,
        Err(c) => return c,
    };
    let spool = match open_spool(&a.spool) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(c) => return c,
    };
    // the results history to tell, when there is one, and the run uuids of each pending entry,
    // read before delivery removes it
    let history = scs_cert_host::history::History::location(a.history.as_deref(), None)
        .ok()
        .filter(|p| p.is_file());
    let runs: std::collections::HashMap<String, Vec<String>> = match &history {
        None => Default::default(),
        Some(_) => spool
            .pending()
            .unwrap_or_default()
            .iter()
            .filter_map(|e| {
                let s = spool.read(e).ok()?.summaries(&e.name).ok()?;
                Some((e.name.clone(), s.into_iter().map(|d| d.run_uuid).collect()))
            })
            .collect(),
    };
    let outcomes = std::sync::Mutex::new(Vec::new());
    let report = |e: &Entry, r: &Result<Delivered, DeliverError>| {
        let state = match r {
            Ok(_) => Some(scs_cert_host::history::Delivery::Delivered),
            Err(err) if delivery_code(err) == EXIT_REFUSED => {
                Some(scs_cert_host::history::Delivery::Refused)
            }
            Err(_) => None,
        };
        if let (Some(state), Ok(mut o)) = (state, outcomes.lock()) {
            o.push((e.name.clone(), state));
        }
        match r {
            Ok(d) => notice(Notice::Delivered {
                label: e.name.clone(),
                how: *d,
                url: monitor.url().to_string(),
            }),
            Err(err) => eprintln!("scs-cert: error: {}: {err}", e.name),
        }
    };
    let out = match rt.block_on(upload::flush(&spool, &monitor, &report)) {
        Ok(o) => o,
        Err(e) => return spool_error(e),
    };
    if let Some(h) = &history {
        record_deliveries(h, &runs, &outcomes.into_inner().unwrap_or_default());
    }
    let pending = out.failed.len() + out.not_tried.len();
    eprintln!(
        "scs-cert: flush of {}: {} delivered, {} still pending",
        spool.dir().display(),
        out.delivered.len(),
        pending
    );
    let code = out
        .failed
        .iter()
        .fold(0u8, |c, (_, e)| worse(c, delivery_code(e)));
    ExitCode::from(code)
}

/// Give the flushed runs their delivery state in the results history `path`. A history that
/// cannot be updated is a warning: the reports are delivered.
fn record_deliveries(
    path: &Path,
    runs: &std::collections::HashMap<String, Vec<String>>,
    outcomes: &[(String, scs_cert_host::history::Delivery)],
) {
    use scs_cert_host::history::History;
    if outcomes.is_empty() {
        return;
    }
    let h = match History::open(path) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("scs-cert: warning: results history not updated: {e}");
            return;
        }
    };
    for (entry, state) in outcomes {
        for uuid in runs.get(entry).into_iter().flatten() {
            if let Err(e) = h.set_delivery(uuid, *state) {
                eprintln!("scs-cert: warning: results history not updated: {e}");
                return;
            }
        }
    }
}

fn cmd_export(a: ExportArgs) -> ExitCode {
    let spool = match open_spool(&a.spool) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let _lock = match spool.lock() {
        Ok(l) => l,
        Err(e) => return spool_error(e),
    };
    let pending = match spool.pending() {
        Ok(p) => p,
        Err(e) => return spool_error(e),
    };
    if pending.is_empty() {
        eprintln!(
            "scs-cert: nothing pending in {}; no carry file written",
            spool.dir().display()
        );
        return ExitCode::SUCCESS;
    }
    if let Err(e) = spool.export(&pending, &a.output) {
        return spool_error(e);
    }
    if a.archive {
        for e in &pending {
            if let Err(e) = spool.archive(e) {
                return spool_error(e);
            }
        }
    }
    eprintln!(
        "scs-cert: {} report(s) written to {}{}; send them with `scs-cert report upload {} --monitor URL`",
        pending.len(),
        a.output.display(),
        if a.archive {
            " (moved to exported/ in the spool)"
        } else {
            ""
        },
        a.output.display()
    );
    ExitCode::SUCCESS
}

fn cmd_list(a: ListArgs) -> ExitCode {
    let spool = match open_spool(&a.spool) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let pending = match spool.pending() {
        Ok(p) => p,
        Err(e) => return spool_error(e),
    };
    for e in &pending {
        let docs = spool
            .read(e)
            .ok()
            .and_then(|s| s.summaries(&e.name).ok())
            .map(|d| {
                d.iter()
                    .map(|d| format!("{} {} {}", d.subject, d.run_uuid, d.checked_at))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
            .unwrap_or_else(|| "unreadable".to_string());
        println!("{}\t{} bytes\t{docs}", e.name, e.size);
    }
    eprintln!(
        "scs-cert: {} report(s) pending in {}",
        pending.len(),
        spool.dir().display()
    );
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------
// `scs-cert run`: combined runs, report file, signing, spool, upload.

/// `run` flags of the multi-subject runner (docs/official-behaviour.md b.2).
#[derive(Debug, Clone, clap::Args)]
pub struct CombinedArgs {
    /// Runner configuration in the official Tests/config.toml format ([secrets] keyfile/tokenfile,
    /// [presets.NAME], [scopes.NAME] spec, [subjects.NAME.mapping]); paths are relative to it.
    #[arg(long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Preset of --config; fills in the scopes and subjects not given [default: `default`].
    #[arg(long = "preset", value_name = "NAME", requires = "config")]
    pub preset: Option<String>,
    /// Scope names of --config, comma-separated [default: the preset's scopes].
    #[arg(
        long = "scope",
        value_name = "NAMES",
        value_delimiter = ',',
        requires = "config"
    )]
    pub scopes: Vec<String>,
    /// Jobs (scope x subject) run at once [default: the preset's workers, else 5 as the
    /// official runner].
    #[arg(long = "workers", value_name = "N")]
    pub workers: Option<usize>,
}

/// `run` flags for the report file, signing and upload.
#[derive(Debug, Clone, clap::Args)]
pub struct DeliveryArgs {
    /// Report format: yaml (several subjects or scopes make one multi-document file) or json
    /// (one report only).
    #[arg(long = "format", value_name = "FORMAT", default_value = "yaml")]
    pub format: Format,
    /// Sign the report (SSHSIG, namespace report) with this OpenSSH ed25519 private key
    /// (passphrase: SCS_CERT_KEY_PASSPHRASE or a prompt), write OUTPUT.sig, and keep the
    /// signed report in the spool until the monitor confirmed it [default with --config and
    /// --upload: its [secrets] keyfile; else no signing].
    #[arg(long = "sign-key", value_name = "KEY")]
    pub sign_key: Option<PathBuf>,
    /// Upload the signed report to this compliance monitor (POST URL/reports; a missing
    /// trailing / is added), e.g. https://compliance.sovereignit.cloud/ [default: no upload].
    #[arg(long = "upload", visible_alias = "monitor", value_name = "URL")]
    pub upload: Option<String>,
    #[command(flatten)]
    pub knobs: UploadKnobs,
    #[command(flatten)]
    pub spool: SpoolDirArg,
}

/// Plan the jobs of a run from the command line (bad input when they cannot run).
pub(crate) fn plan_jobs(
    template: &scs_cert_host::run::RunOptions,
    scope: Option<&Path>,
    subjects: &[String],
    assignments: &[(String, String)],
    c: &CombinedArgs,
) -> Result<Jobs, ExitCode> {
    plan::plan_jobs(&JobRequest {
        template,
        scope,
        subjects,
        assignments,
        config: c.config.as_deref(),
        preset: c.preset.as_deref(),
        scopes: &c.scopes,
        workers: c.workers,
    })
    .map_err(bad_input)
}

/// Check the report, signing and upload settings up front (a bad key or
/// token must not cost a whole run).
pub(crate) fn prepare(
    d: &DeliveryArgs,
    jobs: &Jobs,
    output: Option<&Path>,
) -> Result<Delivery, ExitCode> {
    let req = DeliveryRequest {
        format: d.format,
        sign_key: d.sign_key.clone(),
        upload: d.upload.clone(),
        monitor: d.knobs.settings(),
        spool_dir: d.spool.spool_dir.clone(),
    };
    let secrets = jobs.config.as_ref().map(|c| &c.secrets);
    deliver::prepare(&req, jobs.jobs.len(), secrets, output).map_err(|e| match e {
        DeliveryError::Spool(e) => spool_error(e),
        e => bad_input(e),
    })
}

/// How far the run's report got, for the results history, from the delivery settings and the
/// delivery's exit code.
pub(crate) fn delivery_state(
    d: &Delivery,
    output: Option<&Path>,
    code: u8,
) -> scs_cert_host::history::Delivery {
    use scs_cert_host::history::Delivery as H;
    match code {
        0 if d.uploads() => H::Delivered,
        0 if d.signs() => H::Spooled,
        0 if output.is_some() => H::Written,
        0 => H::None,
        EXIT_UNDELIVERED => H::Spooled,
        EXIT_REFUSED => H::Refused,
        _ => H::None,
    }
}

/// After the run: write the report file, sign it, write OUTPUT.sig, spool,
/// upload. Returns 0 or an exit code that overrides the verdict (4, 5, 8, 9).
pub(crate) fn deliver_run(
    rt: &tokio::runtime::Runtime,
    reports: &[scs_cert_host::report::Report],
    output: Option<&Path>,
    d: &Delivery,
) -> u8 {
    delivered_code(rt.block_on(deliver::deliver_run(reports, output, d, &notice)))
}

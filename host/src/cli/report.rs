//! `scs-cert report sign|verify|upload|flush|export|list`, and the signing,
//! spooling and upload step of `scs-cert run --sign-key/--upload`.

use super::{EXIT_BAD_INPUT, EXIT_ENV, EXIT_REFUSED, EXIT_SIGNATURE, EXIT_UNDELIVERED, bad_input};
use crate::report::signed::{self, SignedError, SignedReport};
use crate::report::spool::{self, Entry, Spool, SpoolError};
use crate::report::token::MonitorToken;
use crate::report::upload::{self, DeliverError, Delivered, Monitor, UploadError, UploadPolicy};
use crate::report::{Format, write_file as write_atomic};
use crate::trust::allowed_signers::AllowedSigners;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Largest report file read.
const MAX_REPORT_BYTES: u64 = 256 << 20;

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
                  9 refused by the monitor (401, 415, other 4xx; kept in the spool)."
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
    fn policy(&self) -> UploadPolicy {
        UploadPolicy {
            attempts: self.upload_attempts.max(1),
            timeout: Duration::from_secs(self.upload_timeout.max(1)),
            backoff: Duration::from_millis(self.upload_backoff_ms),
            max_backoff: Duration::from_secs(self.upload_max_backoff),
        }
    }

    /// The monitor client, with the token from `--token-file`, else
    /// `fallback_token_file` (a runner configuration's), else the variable.
    pub(crate) fn monitor(
        &self,
        url: &str,
        fallback_token_file: Option<&Path>,
    ) -> Result<Monitor, String> {
        let file = self.token_file.as_deref().or(fallback_token_file);
        let token = MonitorToken::load(file).map_err(|e| e.to_string())?;
        Monitor::new(url, token, self.policy(), self.monitor_cacert.as_deref())
            .map_err(|e| e.to_string())
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
    let dir = match &arg.spool_dir {
        Some(d) => d.clone(),
        None => spool::default_dir().map_err(spool_error)?,
    };
    Spool::open(&dir).map_err(spool_error)
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| env_failure(format!("cannot start the async runtime: {e}")))
}

fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_REPORT_BYTES {
        return Err(format!(
            "{}: larger than {MAX_REPORT_BYTES} bytes; not a report",
            path.display()
        ));
    }
    std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn sig_path(file: &Path) -> PathBuf {
    let mut s = file.as_os_str().to_owned();
    s.push(".sig");
    PathBuf::from(s)
}

fn format_for(path: &Path, bytes: &[u8]) -> Format {
    match path.extension().and_then(|e| e.to_str()) {
        Some("json") => Format::Json,
        Some("yaml" | "yml") => Format::Yaml,
        _ => Format::detect(bytes),
    }
}

/// Load a signing key (asking for a passphrase only when it is protected).
pub(crate) fn load_key(path: &Path) -> Result<ssh_key::PrivateKey, ExitCode> {
    crate::trust::keys::load_private_key_interactive(path).map_err(|e| {
        bad_input(format!(
            "--sign-key: {e}{}",
            if path.exists() {
                ""
            } else {
                " (make one with ssh-keygen -t ed25519 -f KEY)"
            }
        ))
    })
}

fn describe(d: Delivered) -> &'static str {
    match d {
        Delivered::Accepted => "accepted by the monitor",
        Delivered::AlreadyPresent => "already stored at the monitor (409), nothing to do",
    }
}

pub(crate) fn signed_error(e: SignedError) -> ExitCode {
    match e {
        SignedError::Trust { .. } => {
            eprintln!("scs-cert: error: {e}");
            ExitCode::from(EXIT_SIGNATURE)
        }
        _ => bad_input(e),
    }
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

/// Spool, then deliver, each signed report; returns the exit code (0 when
/// the monitor confirmed all).
pub(crate) fn spool_and_deliver(
    spool: &Spool,
    items: &[(String, SignedReport)],
    monitor: Option<&Monitor>,
) -> u8 {
    let mut entries: Vec<(String, Entry)> = Vec::with_capacity(items.len());
    for (label, s) in items {
        match spool.put(s) {
            Ok(e) => {
                eprintln!(
                    "scs-cert: {label}: signed report spooled as {}",
                    e.path.display()
                );
                entries.push((label.clone(), e));
            }
            Err(e) => {
                eprintln!("scs-cert: error: {e}");
                return EXIT_ENV;
            }
        }
    }
    let Some(monitor) = monitor else {
        return 0;
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(_) => return EXIT_ENV,
    };
    let _lock = match spool.lock() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("scs-cert: error: {e}");
            return EXIT_ENV;
        }
    };
    let mut code = 0u8;
    for (label, entry) in &entries {
        if !entry.path.exists() {
            // A concurrent flush delivered it while we waited for the lock.
            eprintln!("scs-cert: {label}: delivered by a concurrent flush");
            continue;
        }
        match rt.block_on(upload::deliver(spool, entry, monitor)) {
            Ok(d) => eprintln!("scs-cert: {label}: {} ({})", describe(d), monitor.url()),
            Err(e) => {
                eprintln!("scs-cert: error: {label}: {e}");
                let c = delivery_code(&e);
                code = worse(code, c);
                if c == EXIT_UNDELIVERED {
                    // The monitor is out; the rest stays in the spool too.
                    break;
                }
            }
        }
    }
    code
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
    let format = a.format.unwrap_or_else(|| format_for(&a.file, &bytes));
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
    let sig = sig_path(&a.file);
    if let Err(e) = write_atomic(&sig, s.signature.as_bytes()) {
        return env_failure(e);
    }
    eprintln!(
        "scs-cert: {} signed with key {}: {}",
        name,
        crate::trust::sshsig::key_id(key.public_key()),
        sig.display()
    );
    match spool {
        None => ExitCode::SUCCESS,
        Some(spool) => ExitCode::from(spool_and_deliver(&spool, &[(name, s)], None)),
    }
}

pub(crate) fn load_pair(file: &Path, sig: Option<&Path>) -> Result<SignedReport, ExitCode> {
    let bytes = read_file(file).map_err(bad_input)?;
    let name = file.display().to_string();
    if signed::is_body(&bytes) {
        let format = match file.extension().and_then(|e| e.to_str()) {
            Some("signed-json") => Some(Format::Json),
            Some("signed-yaml") => Some(Format::Yaml),
            _ => None,
        };
        return SignedReport::from_body(&bytes, format, &name).map_err(bad_input);
    }
    let sig_file = sig.map(Path::to_path_buf).unwrap_or_else(|| sig_path(file));
    let sig_text = match std::fs::read_to_string(&sig_file) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(bad_input(format!(
                "{}: no signature file; sign with `scs-cert report sign {name} --key KEY` \
                 (or ssh-keygen -Y sign -f KEY -n report {name}), or pass --signature SIG",
                sig_file.display()
            )));
        }
        Err(e) => return Err(bad_input(format!("{}: {e}", sig_file.display()))),
    };
    let format = format_for(file, &bytes);
    SignedReport::from_parts(bytes, sig_text, format, &sig_file.display().to_string())
        .map_err(bad_input)
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
    let monitor = match a.knobs.monitor(&a.monitor, None) {
        Ok(m) => m,
        Err(e) => return bad_input(e),
    };
    let spool = match open_spool(&a.spool) {
        Ok(s) => s,
        Err(c) => return c,
    };
    ExitCode::from(spool_and_deliver(&spool, &items, Some(&monitor)))
}

fn cmd_flush(a: FlushArgs) -> ExitCode {
    let monitor = match a.knobs.monitor(&a.monitor, None) {
        Ok(m) => m,
        Err(e) => return bad_input(e),
    };
    let spool = match open_spool(&a.spool) {
        Ok(s) => s,
        Err(c) => return c,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(c) => return c,
    };
    let report = |e: &Entry, r: &Result<Delivered, DeliverError>| match r {
        Ok(d) => eprintln!("scs-cert: {}: {}", e.name, describe(*d)),
        Err(err) => eprintln!("scs-cert: error: {}: {err}", e.name),
    };
    let out = match rt.block_on(upload::flush(&spool, &monitor, &report)) {
        Ok(o) => o,
        Err(e) => return spool_error(e),
    };
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

/// Default `workers` of the official runner.
pub const DEFAULT_WORKERS: usize = 5;

/// The jobs of a `run`, from the scope file and subjects on the command
/// line, or from `--config`.
pub(crate) struct Jobs {
    pub jobs: Vec<crate::run::RunOptions>,
    pub workers: usize,
    pub config: Option<crate::report::combine::RunnerConfig>,
}

/// Plan the jobs: `template` carries everything but scope, subject and
/// assignments; `assignments` are the command line's (`-a`, `--os-cloud`).
pub(crate) fn plan_jobs(
    template: &crate::run::RunOptions,
    scope: Option<&Path>,
    subjects: &[String],
    assignments: &[(String, String)],
    c: &CombinedArgs,
) -> Result<Jobs, ExitCode> {
    use crate::report::combine::RunnerConfig;
    let has_cloud = assignments.iter().any(|(k, _)| k == "os_cloud");
    let job = |scope: &Path, subject: &str, mut assign: Vec<(String, String)>| {
        for (k, v) in assignments {
            assign.retain(|(k2, _)| k2 != k);
            assign.push((k.clone(), v.clone()));
        }
        let mut o = template.clone();
        o.scope = scope.to_path_buf();
        o.subject = subject.to_string();
        o.assignments = assign;
        o
    };
    let (jobs, preset_workers, config) = match &c.config {
        Some(path) => {
            let cfg = RunnerConfig::load(path).map_err(bad_input)?;
            let plan = cfg
                .plan(c.preset.as_deref(), &c.scopes, subjects, scope)
                .map_err(bad_input)?;
            let jobs: Vec<_> = plan
                .jobs
                .iter()
                .map(|j| job(&j.scope, &j.subject, j.assignments.clone()))
                .collect();
            (jobs, plan.workers, Some(cfg))
        }
        None => {
            let Some(scope) = scope else {
                return Err(bad_input(
                    "no scope: pass the scope file (e.g. scopes/scs-compatible-iaas.yaml) or --config FILE",
                ));
            };
            match subjects {
                [] => {
                    return Err(bad_input(
                        "no subject: pass --subject NAME (-s), several as --subject a,b",
                    ));
                }
                [one] => (vec![job(scope, one, Vec::new())], None, None),
                many => {
                    // The official default mapping: os_cloud = the subject.
                    let jobs = many
                        .iter()
                        .map(|s| job(scope, s, vec![("os_cloud".to_string(), s.clone())]))
                        .collect();
                    (jobs, None, None)
                }
            }
        }
    };
    let subjects_run: std::collections::BTreeSet<&str> =
        jobs.iter().map(|j| j.subject.as_str()).collect();
    if has_cloud && subjects_run.len() > 1 {
        return Err(bad_input(
            "--os-cloud / -a os_cloud names one cloud, but several subjects run; drop it (each \
             subject's cloud is os_cloud=SUBJECT, or [subjects.NAME.mapping] in --config)",
        ));
    }
    if jobs.len() > 1 && (template.record.is_some() || template.replay.is_some()) {
        return Err(bad_input(
            "--record / --replay take one subject and one scope; run the subjects one at a time",
        ));
    }
    let workers = c
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

/// What a run needs for signing and upload, checked before the run starts.
pub(crate) struct Prepared {
    format: Format,
    key: Option<ssh_key::PrivateKey>,
    monitor: Option<Monitor>,
    spool: Option<Spool>,
}

/// Check the report, signing and upload settings up front (a bad key or
/// token must not cost a whole run).
pub(crate) fn prepare(
    d: &DeliveryArgs,
    jobs: &Jobs,
    output: Option<&Path>,
) -> Result<Prepared, ExitCode> {
    if d.format == Format::Json && jobs.jobs.len() > 1 {
        return Err(bad_input(crate::report::ReportError::JsonNeedsOne {
            count: jobs.jobs.len(),
        }));
    }
    let secrets = jobs.config.as_ref().map(|c| &c.secrets);
    let key_path = d.sign_key.clone().or_else(|| {
        d.upload
            .as_ref()
            .and(secrets.and_then(|s| s.keyfile.clone()))
    });
    if d.upload.is_some() && key_path.is_none() {
        return Err(bad_input(
            "--upload needs --sign-key KEY: the monitor accepts signed reports only",
        ));
    }
    if let Some(o) = output
        && o.extension().and_then(|e| e.to_str()) == Some("sig")
    {
        return Err(bad_input(format!(
            "-o {}: the signature goes to OUTPUT.sig; name the report itself",
            o.display()
        )));
    }
    let monitor = match &d.upload {
        Some(url) => Some(
            d.knobs
                .monitor(url, secrets.and_then(|s| s.tokenfile.as_deref()))
                .map_err(bad_input)?,
        ),
        None => None,
    };
    let (key, spool) = match &key_path {
        Some(p) => (Some(load_key(p)?), Some(open_spool(&d.spool)?)),
        None => (None, None),
    };
    Ok(Prepared {
        format: d.format,
        key,
        monitor,
        spool,
    })
}

/// After the run: write the report file (one multi-document YAML for
/// several jobs), sign it, write OUTPUT.sig, spool, upload. Returns 0 or an
/// exit code that overrides the verdict (4, 5, 8, 9).
pub(crate) fn deliver_run(
    reports: &[crate::report::Report],
    output: Option<&Path>,
    p: &Prepared,
) -> u8 {
    let bytes = match crate::report::render(reports, p.format) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("scs-cert: error: {e}");
            return EXIT_BAD_INPUT;
        }
    };
    if let Some(o) = output {
        if let Err(e) = write_atomic(o, &bytes) {
            eprintln!("scs-cert: error: {e}");
            return EXIT_ENV;
        }
        eprintln!(
            "scs-cert: report written to {} ({} document{})",
            o.display(),
            reports.len(),
            if reports.len() == 1 { "" } else { "s" }
        );
    }
    let (Some(key), Some(spool)) = (&p.key, &p.spool) else {
        return 0;
    };
    let label = output
        .map(|o| o.display().to_string())
        .unwrap_or_else(|| "report".to_string());
    let s = match SignedReport::sign(bytes, p.format, key, &label) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("scs-cert: error: {e}");
            return EXIT_ENV;
        }
    };
    if let Some(o) = output {
        let sig = sig_path(o);
        if let Err(e) = write_atomic(&sig, s.signature.as_bytes()) {
            eprintln!("scs-cert: error: {e}");
            return EXIT_ENV;
        }
        eprintln!(
            "scs-cert: signed with key {}: {}",
            crate::trust::sshsig::key_id(key.public_key()),
            sig.display()
        );
    }
    spool_and_deliver(spool, &[(label, s)], p.monitor.as_ref())
}

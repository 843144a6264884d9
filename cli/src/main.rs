//! The command line: the only place that prints or exits.
//!
//! Owns: argument parsing (clap), the official tool's spellings (`-s`, `-o`,
//! `-a os_cloud=NAME`, `-V`, `-S`, `-t`, `-d`), the progress display
//! (a live bar on a terminal, plain lines when piped), the console summary,
//! and the exit codes (the one table of them, with every code's meaning, is
//! docs/cli.md#exit-codes; the constants below and in `reproduce.rs` are the codes).
//!
//! Everything else (planning, running, reproducing, delivering) is the
//! library's (`scs_cert_host`); this crate maps its typed errors to exit codes
//! and its progress to lines on the terminal.
//!
//! Must never: decide a verdict (that is `run` and the checks), or print a secret.

mod bundle;
mod check;
mod data;
mod history;
mod key;
mod report;
mod reproduce;
mod run;
mod trust;

use clap::{Parser, Subcommand};
use std::io::IsTerminal;
use std::process::ExitCode;

/// Exit code: all selected testcases passed.
pub const EXIT_PASS: u8 = 0;
/// Exit code: some testcase failed.
pub const EXIT_FAIL: u8 = 1;
/// Exit code: some testcase aborted, none failed.
pub const EXIT_ABORT: u8 = 2;
/// Exit code: some testcase has no result, none failed or aborted.
pub const EXIT_TENTATIVE: u8 = 3;
/// Exit code: bad input.
pub const EXIT_BAD_INPUT: u8 = 4;
/// Exit code: environment failure.
pub const EXIT_ENV: u8 = 5;
/// Exit code: a replay (`run --replay`) diverged from its transcript.
pub const EXIT_REPLAY_DIVERGED: u8 = 6;
/// Exit code: a report signature is invalid or its key not allowed.
pub const EXIT_SIGNATURE: u8 = 7;
/// Exit code: the monitor did not confirm the upload (unreachable, 5xx,
/// timeouts after every try); the report stays in the spool.
pub const EXIT_UNDELIVERED: u8 = 8;
/// Exit code: the monitor refused the report (401, 415, other 4xx); it
/// stays in the spool.
pub const EXIT_REFUSED: u8 = 9;
/// Exit code: the kubeconfig (or the exec credential plugin it names) is unusable, for a run
/// whose checks need a Kubernetes cluster.
pub const EXIT_KUBECONFIG: u8 = 10;

/// scs-cert: certify a cloud against Sovereign Cloud Stack standards with
/// sandboxed WebAssembly checks.
#[derive(Debug, Parser)]
#[command(
    name = "scs-cert",
    version,
    about,
    long_about = None,
    after_help = "Documentation: docs/cli.md (commands, exit codes), docs/bundles-and-trust.md, docs/reports.md, docs/replay.md."
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Sub-commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a certification scope against a cloud and write the report.
    Run(Box<run::RunArgs>),
    /// Sign, verify, upload and spool reports (SSHSIG namespace `report`, the SCS
    /// compliance monitor's POST /reports).
    Report(report::ReportArgs),
    /// Build, sign, verify, inspect and extract signed check bundles (.scsb).
    Bundle(bundle::BundleArgs),
    /// Refresh, build, sign and verify signed offline data files (.scsd) for checks that
    /// read datasets (the KaaS version policy).
    Data(data::DataArgs),
    /// Make OpenSSH ed25519 signing keys.
    Key(key::KeyArgs),
    /// Create, rotate and show the trust root (root.json).
    Trust(trust::TrustArgs),
    /// Write, build and test a check of your own (docs/writing-a-check.md).
    Check(check::CheckArgs),
    /// List the runs in the results history (what `run --due` reads).
    History(history::HistoryArgs),
    /// Write the man pages (scs-cert.1 and one per command) from these very arguments; the
    /// Debian package ships them.
    #[command(hide = true)]
    Man(ManArgs),
}

/// `scs-cert man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Directory to write scs-cert.1 and scs-cert-COMMAND.1 into [default: scs-cert.1 to
    /// stdout].
    #[arg(long = "out-dir", value_name = "DIR")]
    pub out_dir: Option<std::path::PathBuf>,
}

/// Render the man pages: the top-level page, and with a directory one page per command.
fn cmd_man(args: ManArgs) -> ExitCode {
    use clap::CommandFactory as _;
    let cmd = Cli::command();
    let render = |c: clap::Command| -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        clap_mangen::Man::new(c).render(&mut out)?;
        Ok(out)
    };
    let Some(dir) = args.out_dir else {
        return match render(cmd).and_then(|b| std::io::Write::write_all(&mut std::io::stdout(), &b))
        {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("scs-cert: error: man page: {e}");
                ExitCode::from(EXIT_ENV)
            }
        };
    };
    let mut cmd = cmd;
    // built, each command knows its display name (`scs-cert-run`)
    cmd.build();
    let mut pages = vec![("scs-cert.1".to_string(), cmd.clone())];
    for sub in cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
    {
        let name = sub
            .get_display_name()
            .map(str::to_string)
            .unwrap_or_else(|| format!("scs-cert-{}", sub.get_name()));
        pages.push((format!("{name}.1"), sub.clone()));
    }
    for (file, c) in pages {
        let path = dir.join(&file);
        if let Err(e) = render(c).and_then(|b| std::fs::write(&path, b)) {
            eprintln!("scs-cert: error: {}: {e}", path.display());
            return ExitCode::from(EXIT_ENV);
        }
    }
    ExitCode::SUCCESS
}

pub(crate) fn init_logging(verbose: bool) {
    let default = if verbose {
        "warn,scs_cert=debug"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// The async runtime of a command; failing to start it is an environment
/// failure (exit 5).
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            eprintln!("scs-cert: error: cannot start the async runtime: {e}");
            ExitCode::from(EXIT_ENV)
        })
}

pub(crate) fn bad_input(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("scs-cert: error: {msg}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// A signed report's error: 7 for a signature that is refused, else bad input (4).
pub(crate) fn signed_error(e: scs_cert_host::report::signed::SignedError) -> ExitCode {
    match e {
        scs_cert_host::report::signed::SignedError::Trust { .. } => {
            eprintln!("scs-cert: error: {e}");
            ExitCode::from(EXIT_SIGNATURE)
        }
        _ => bad_input(e),
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
                _ => EXIT_BAD_INPUT,
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Run(args) => run::cmd_run(*args),
        Command::Report(args) => report::cmd_report(args),
        Command::Bundle(args) => bundle::cmd_bundle(args),
        Command::Data(args) => data::cmd_data(args),
        Command::Key(args) => key::cmd_key(args),
        Command::Trust(args) => trust::cmd_trust(args),
        Command::Check(args) => check::cmd_check(args),
        Command::History(args) => history::cmd_history(args),
        Command::Man(args) => cmd_man(args),
    }
}

//! `scs-cert history`: the runs in the results history, newest first, one line each with its
//! results counts, and with `--changes` what changed against the run before.
//!
//! The store is the library's (`scs_cert_host::history`); this file parses and prints.

use super::{EXIT_BAD_INPUT, EXIT_ENV};
use scs_cert_host::history::{History, HistoryError, MAX_LISTED_RUNS};
use std::path::PathBuf;
use std::process::ExitCode;

/// `scs-cert history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// The results history [default: <state dir>/history.sqlite].
    #[arg(long = "history", value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// State directory whose history.sqlite to read [default: $SCS_CERT_STATE_DIR, else
    /// $XDG_STATE_HOME/scs-cert, else ~/.local/state/scs-cert].
    #[arg(long = "state-dir", value_name = "DIR", env = "SCS_CERT_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Only runs of this subject [default: all].
    #[arg(short = 's', long = "subject", value_name = "NAME")]
    pub subject: Option<String>,
    /// Runs to list [default: 20; at most 1000].
    #[arg(short = 'n', long = "limit", value_name = "N", default_value_t = 20)]
    pub limit: usize,
    /// Also list the testcases whose result differs from the subject's run before.
    #[arg(long = "changes")]
    pub changes: bool,
}

pub(crate) fn cmd_history(args: HistoryArgs) -> ExitCode {
    let path = match History::location(args.history.as_deref(), args.state_dir.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("scs-cert: error: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if !path.is_file() {
        eprintln!(
            "scs-cert: error: {}: no results history yet (scs-cert run records one; or pass --history FILE)",
            path.display()
        );
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let fail = |e: HistoryError| {
        eprintln!("scs-cert: error: {e}");
        ExitCode::from(match e {
            HistoryError::Query { .. } => EXIT_ENV,
            _ => EXIT_BAD_INPUT,
        })
    };
    let h = match History::open_read_only(&path) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let limit = args.limit.min(MAX_LISTED_RUNS);
    let runs = match h.runs(args.subject.as_deref(), limit) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    for r in &runs {
        let n = |v: i8| r.results.values().filter(|x| **x == v).count();
        println!(
            "{}  {:<20} {:<26} {:<9} {:>3} pass {:>3} fail {:>3} abort  {:<9}  {}",
            r.checked_at.format("%Y-%m-%d %H:%M:%S"),
            r.subject,
            r.scope_name,
            r.overall.to_uppercase(),
            n(1),
            n(-1),
            n(0),
            r.delivery,
            r.run_uuid
        );
        if args.changes {
            match h.previous(&r.subject, &r.scope_uuid, &r.run_uuid) {
                Err(e) => return fail(e),
                Ok(Some(p)) => {
                    for (tc, v) in &r.results {
                        match p.results.get(tc) {
                            Some(w) if w != v => println!(
                                "    {tc}: {} -> {}",
                                scs_cert_host::views::verdict_word(*w),
                                scs_cert_host::views::verdict_word(*v)
                            ),
                            _ => {}
                        }
                    }
                }
                Ok(None) => {}
            }
        }
    }
    ExitCode::SUCCESS
}

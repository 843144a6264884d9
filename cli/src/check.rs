//! `scs-cert check new|build|test`: the contributor's commands. The work is the library's
//! (`scs_cert_host::authoring`); `test` is `run` of the package's development scope with the
//! built checks directory, parsed as if typed (so every `run` option and exit code applies).
//!
//! Exit codes: 0 done (for `test`: the run's own code); 4 bad input (id, existing directory,
//! not a check package, check.json rules, a component the host would refuse); 5 a build tool
//! missing or failing.

use super::{EXIT_BAD_INPUT, EXIT_ENV};
use scs_cert_host::authoring::{self, AuthoringError, BuildOptions, Lang, NewCheck, SdkSource};
use std::path::PathBuf;
use std::process::ExitCode;

/// `scs-cert check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(subcommand)]
    command: CheckCommand,
}

#[derive(Debug, clap::Subcommand)]
enum CheckCommand {
    /// Write a new check package: check.json, a development scope.yaml, and for Rust
    /// Cargo.toml and src/lib.rs (one testcase with a unit test), for Python app.py.
    New(NewArgs),
    /// Build a check package for wasm32-wasip2 (Rust: reproducibly, with the official
    /// components' profile) and validate check.json and the component as the host loads it;
    /// writes <out>/<id>/{component.wasm,check.json}, a checks directory for --checks and
    /// `bundle build --checks`.
    Build(BuildArgs),
    /// Build, then run the package's scope.yaml with the built check: against a recorded
    /// transcript (--transcript, offline) or a cloud (--os-cloud, optionally --record).
    Test(TestArgs),
}

#[derive(Debug, clap::Args)]
struct NewArgs {
    /// The check id, `scs-NNNN-name` (also the package name).
    id: String,
    /// The directory to create [default: ./<id>].
    #[arg(long)]
    dir: Option<PathBuf>,
    /// rust or python.
    #[arg(long, default_value = "rust", value_parser = ["rust", "python"])]
    lang: String,
    /// Rust: the SDK package directory (a checkout's checks/sdk) [default: the registry
    /// version `0.1`, once published].
    #[arg(long, value_name = "PATH")]
    sdk: Option<PathBuf>,
    /// Rust: no `[workspace]` table (the package joins an enclosing workspace).
    #[arg(long = "in-workspace")]
    in_workspace: bool,
}

#[derive(Debug, clap::Args)]
struct BuildArgs {
    /// The check package [default: .].
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// The checks directory to write into [default: <dir>/target/scs-check].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// componentize-py for Python checks [default: componentize-py on PATH].
    #[arg(long = "componentize-py", value_name = "PATH")]
    componentize_py: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct TestArgs {
    #[command(flatten)]
    build: BuildArgs,
    /// Replay this transcript (offline) instead of talking to a cloud.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["os_cloud", "record"])]
    transcript: Option<PathBuf>,
    /// The cloud of clouds.yaml to test against.
    #[arg(long = "os-cloud", value_name = "NAME")]
    os_cloud: Option<String>,
    /// Record the calls into this transcript directory (for later offline tests).
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// More `scs-cert run` options, after `--` (e.g. `-- --clouds-yaml clouds.yaml -o r.yaml`).
    #[arg(last = true)]
    run_args: Vec<String>,
}

/// `scs-cert check ...`.
pub(crate) fn cmd_check(args: CheckArgs) -> ExitCode {
    match args.command {
        CheckCommand::New(a) => new(a),
        CheckCommand::Build(a) => match build(&a) {
            Ok(b) => {
                println!(
                    "built {}: {} ({} bytes, sha256 {}); checks directory {}",
                    b.meta.id,
                    b.component.display(),
                    b.bytes,
                    b.sha256,
                    b.checks_dir.display()
                );
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        CheckCommand::Test(a) => test(a),
    }
}

fn failed(e: &AuthoringError) -> ExitCode {
    eprintln!("scs-cert: error: {e}");
    ExitCode::from(match e {
        AuthoringError::ToolMissing { .. } | AuthoringError::BuildFailed { .. } => EXIT_ENV,
        _ => EXIT_BAD_INPUT,
    })
}

fn new(a: NewArgs) -> ExitCode {
    let n = NewCheck {
        dir: a.dir.clone().unwrap_or_else(|| PathBuf::from(&a.id)),
        id: a.id,
        lang: if a.lang == "python" {
            Lang::Python
        } else {
            Lang::Rust
        },
        sdk: match a.sdk {
            Some(p) => SdkSource::Path(std::path::absolute(&p).unwrap_or(p)),
            None => SdkSource::Version("0.1".into()),
        },
        in_workspace: a.in_workspace,
    };
    match authoring::new_check(&n) {
        Ok(files) => {
            for f in files {
                println!("wrote {}", f.display());
            }
            println!(
                "next: scs-cert check build {0}; scs-cert check test {0} --os-cloud CLOUD --record transcript",
                n.dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => failed(&e),
    }
}

fn build(a: &BuildArgs) -> Result<authoring::Built, ExitCode> {
    authoring::build_check(
        &a.dir,
        &BuildOptions {
            out: a.out.clone(),
            componentize_py: a.componentize_py.clone(),
        },
    )
    .map_err(|e| failed(&e))
}

fn test(a: TestArgs) -> ExitCode {
    let built = match build(&a.build) {
        Ok(b) => b,
        Err(code) => return code,
    };
    eprintln!(
        "scs-cert: built {} ({} bytes); running {}",
        built.meta.id,
        built.bytes,
        authoring::scope_for(&a.build.dir).display()
    );
    let mut argv: Vec<String> = vec![
        "scs-cert".into(),
        "run".into(),
        authoring::scope_for(&a.build.dir).display().to_string(),
        "--checks".into(),
        built.checks_dir.display().to_string(),
        "-s".into(),
        "check-test".into(),
    ];
    if let Some(t) = &a.transcript {
        argv.extend(["--replay".into(), t.display().to_string()]);
    }
    if let Some(c) = &a.os_cloud {
        argv.extend(["--os-cloud".into(), c.clone()]);
    }
    if let Some(r) = &a.record {
        argv.extend(["--record".into(), r.display().to_string()]);
    }
    argv.extend(a.run_args.iter().cloned());
    use clap::Parser as _;
    match super::Cli::try_parse_from(&argv) {
        Ok(super::Cli {
            command: super::Command::Run(args),
        }) => super::run::cmd_run(*args),
        Ok(_) => super::bad_input("check test: not a run"),
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        Err(e) => {
            let text = e.render().to_string();
            let line = text
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("error:"))
                .unwrap_or("the run options after -- are not valid");
            super::bad_input(format!(
                "check test: {}",
                line.trim_start_matches("error:").trim()
            ))
        }
    }
}

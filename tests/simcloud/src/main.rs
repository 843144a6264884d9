//! The `simcloud` binary: serve a fixture on 127.0.0.1 until SIGTERM or SIGINT.
//!
//! The first line on stdout is exactly `simcloud listening on http://127.0.0.1:PORT` (flushed).
//! With `--write-clouds-yaml PATH` the clouds.yaml is written *before* that line is printed, so
//! a reader of the line can use the file at once.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use simcloud::{Credential, Fixture, SimCloud};

#[derive(Debug, Parser)]
#[command(
    name = "simcloud",
    about = "Simulated OpenStack cloud for tests and demos"
)]
struct Args {
    /// Fixture YAML file describing the cloud.
    #[arg(long)]
    fixture: PathBuf,
    /// Port on 127.0.0.1 (0 = pick a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Write a clouds.yaml for the fixture's first user (or --app-credential) to this path.
    #[arg(long)]
    write_clouds_yaml: Option<PathBuf>,
    /// Cloud name in the written clouds.yaml.
    #[arg(long, default_value = "simcloud")]
    cloud_name: String,
    /// Use this application credential id in the clouds.yaml instead of the first user.
    #[arg(long)]
    app_credential: Option<String>,
}

/// SIGTERM and SIGINT, registered at once: a caller that signals as soon as it has read the
/// "listening" line must find the handlers in place (else the default action kills the
/// process instead of a clean stop).
fn install_signals() -> Result<impl std::future::Future<Output = ()>, String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
    let mut int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

async fn run(args: Args) -> Result<(), String> {
    let signalled = install_signals()?;
    let fixture = Fixture::load(&args.fixture).map_err(|e| e.to_string())?;
    let cloud = SimCloud::start_on(fixture, args.port)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(path) = &args.write_clouds_yaml {
        let credential = match &args.app_credential {
            Some(id) => Credential::ApplicationCredential(id.clone()),
            None => Credential::FirstUser,
        };
        let text = cloud
            .clouds_yaml(&args.cloud_name, &credential)
            .map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "simcloud listening on {}", cloud.base_url())
            .and_then(|()| out.flush())
            .map_err(|e| format!("cannot write to stdout: {e}"))?;
    }
    signalled.await;
    cloud.shutdown();
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("simcloud: {message}");
            ExitCode::FAILURE
        }
    }
}

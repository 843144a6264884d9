//! `simkube FIXTURE --cert PEM --key PEM [--client-ca PEM]`: serve the simulated Kubernetes
//! API server on 127.0.0.1 until interrupted; prints its URL.

use clap::Parser;
use std::path::PathBuf;

/// Simulated Kubernetes API server (tests only).
#[derive(Debug, Parser)]
struct Args {
    /// Fixture file (YAML, see tests/simkube/README.md).
    fixture: PathBuf,
    /// Server certificate (PEM).
    #[arg(long)]
    cert: PathBuf,
    /// Server key (PEM).
    #[arg(long)]
    key: PathBuf,
    /// CA of accepted client certificates (PEM) [default: bearer tokens only].
    #[arg(long = "client-ca")]
    client_ca: Option<PathBuf>,
}

fn read(p: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let run = async {
        let fixture = simkube::Fixture::load(&args.fixture).map_err(|e| e.to_string())?;
        let tls = simkube::Tls {
            cert_pem: read(&args.cert)?,
            key_pem: read(&args.key)?,
            client_ca_pem: match &args.client_ca {
                Some(p) => Some(read(p)?),
                None => None,
            },
        };
        let server = simkube::start(fixture, &tls)
            .await
            .map_err(|e| e.to_string())?;
        println!("{}", server.url);
        tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
        Ok::<(), String>(())
    };
    match run.await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("simkube: error: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

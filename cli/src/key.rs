//! `scs-cert key generate`: an OpenSSH ed25519 key pair for signing bundles
//! (and reports, and trust roots).
//!
//! Exit codes: 0 written; 4 bad input (file exists, passphrases differ,
//! cannot write).

use super::bad_input;
use scs_cert_host::trust::{keys, sshsig};
use std::path::PathBuf;
use std::process::ExitCode;

/// `scs-cert key`.
#[derive(Debug, clap::Args)]
pub struct KeyArgs {
    #[command(subcommand)]
    command: KeyCommand,
}

#[derive(Debug, clap::Subcommand)]
enum KeyCommand {
    /// Write PATH (private key, mode 0600, optionally passphrase-protected:
    /// SCS_CERT_KEY_PASSPHRASE or a prompt; empty for none) and PATH.pub.
    Generate(GenerateArgs),
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    /// Private key path; the public key goes to PATH.pub.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    /// Key comment [default: scs-cert@<hostname>].
    #[arg(long, short = 'C')]
    comment: Option<String>,
    /// Never ask for a passphrase (ignores SCS_CERT_KEY_PASSPHRASE).
    #[arg(long = "no-passphrase")]
    no_passphrase: bool,
}

/// `scs-cert key ...`.
pub(crate) fn cmd_key(args: KeyArgs) -> ExitCode {
    match args.command {
        KeyCommand::Generate(a) => generate(a),
    }
}

fn generate(a: GenerateArgs) -> ExitCode {
    let comment = a.comment.unwrap_or_else(|| {
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        if host.is_empty() {
            "scs-cert".into()
        } else {
            format!("scs-cert@{host}")
        }
    });
    let passphrase = if a.no_passphrase {
        None
    } else {
        match keys::new_passphrase_from_env_or_prompt() {
            Ok(p) => p,
            Err(e) => return bad_input(e),
        }
    };
    let key = keys::generate_ed25519(&comment);
    if let Err(e) = keys::write_keypair(&a.out, &key, passphrase.as_deref()) {
        return bad_input(e);
    }
    println!(
        "wrote {} ({}) and {}; key id {}",
        a.out.display(),
        if passphrase.is_some() {
            "passphrase-protected"
        } else {
            "no passphrase"
        },
        keys::public_path(&a.out).display(),
        sshsig::key_id(key.public_key())
    );
    ExitCode::SUCCESS
}

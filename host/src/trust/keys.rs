//! OpenSSH ed25519 key files.
//!
//! Owns: generating ed25519 key pairs, writing them in the OpenSSH formats
//! `ssh-keygen` reads (`PATH`, mode 0600, optionally passphrase-protected with
//! bcrypt-pbkdf + aes256-ctr, and `PATH.pub`), loading them back with clear
//! errors, and getting a passphrase from `SCS_CERT_KEY_PASSPHRASE` or a
//! no-echo prompt on the terminal.
//!
//! Must never: print a secret or a passphrase, write a private key with a mode
//! wider than 0600, overwrite an existing key file, or accept a key type other
//! than ed25519.

use super::TrustError;
use ssh_key::{Algorithm, LineEnding, PrivateKey, PublicKey};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// Environment variable holding the private key passphrase.
pub(crate) const PASSPHRASE_ENV: &str = "SCS_CERT_KEY_PASSPHRASE";
/// Largest key file read (real ones are < 1 KiB).
const MAX_KEY_FILE_BYTES: u64 = 64 << 10;

/// Errors of key handling. Each names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// Refusing to overwrite.
    #[error("{0}: already exists; remove it or choose another path")]
    Exists(PathBuf),
    /// Not an OpenSSH private key.
    #[error("{path}: not an OpenSSH private key: {message}")]
    NotPrivateKey {
        /// The file.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// Not an OpenSSH public key.
    #[error("{path}: not an OpenSSH public key line: {message}")]
    NotPublicKey {
        /// The file.
        path: PathBuf,
        /// Parser message.
        message: String,
    },
    /// Wrong algorithm.
    #[error(
        "{path}: is a {algorithm} key; scs-cert uses ed25519 keys only (ssh-keygen -t ed25519)"
    )]
    NotEd25519 {
        /// The file.
        path: PathBuf,
        /// The algorithm found.
        algorithm: String,
    },
    /// Encrypted key but no passphrase given.
    #[error(
        "{0}: the private key is passphrase-protected; set SCS_CERT_KEY_PASSPHRASE or run on a terminal to be prompted"
    )]
    EncryptedWithoutPassphrase(PathBuf),
    /// Decryption failed.
    #[error("{0}: wrong passphrase for the private key")]
    WrongPassphrase(PathBuf),
    /// Encryption or encoding failed.
    #[error("cannot encode the key: {0}")]
    Encode(String),
    /// Prompt failed.
    #[error("cannot read a passphrase from the terminal: {0}")]
    Prompt(String),
    /// Two prompted passphrases differ.
    #[error("the passphrases do not match")]
    Mismatch,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> TrustError {
    KeyError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
    .into()
}

/// `PATH.pub` for a private key at `PATH` (appends, like ssh-keygen).
pub fn public_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".pub");
    PathBuf::from(s)
}

/// A fresh ed25519 key pair from the OS random source.
pub fn generate_ed25519(comment: &str) -> PrivateKey {
    let pair = ssh_key::private::Ed25519Keypair::random(&mut rand_core::OsRng);
    let mut key = PrivateKey::from(pair);
    key.set_comment(comment);
    key
}

/// Write `key` to `path` (mode 0600; encrypted when `passphrase` is a
/// non-empty string) and its public half to `path.pub`. Refuses to overwrite
/// either file.
pub fn write_keypair(
    path: &Path,
    key: &PrivateKey,
    passphrase: Option<&str>,
) -> Result<(), TrustError> {
    let pub_path = public_path(path);
    for p in [path, pub_path.as_path()] {
        if p.exists() {
            return Err(KeyError::Exists(p.to_path_buf()).into());
        }
    }
    if key.algorithm() != Algorithm::Ed25519 {
        return Err(KeyError::NotEd25519 {
            path: path.to_path_buf(),
            algorithm: key.algorithm().to_string(),
        }
        .into());
    }
    let to_write = match passphrase {
        Some(p) if !p.is_empty() && !key.is_encrypted() => key
            .encrypt(&mut rand_core::OsRng, p)
            .map_err(|e| KeyError::Encode(e.to_string()))?,
        _ => key.clone(),
    };
    let pem = to_write
        .to_openssh(LineEnding::LF)
        .map_err(|e| KeyError::Encode(e.to_string()))?;
    let public = key
        .public_key()
        .to_openssh()
        .map_err(|e| KeyError::Encode(e.to_string()))?;
    write_new(path, pem.as_bytes(), 0o600)?;
    write_new(&pub_path, format!("{public}\n").as_bytes(), 0o644)?;
    Ok(())
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), TrustError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            TrustError::from(KeyError::Exists(path.to_path_buf()))
        } else {
            io_err(path, e)
        }
    })?;
    f.write_all(bytes).map_err(|e| io_err(path, e))?;
    f.sync_all().map_err(|e| io_err(path, e))
}

fn read_small(path: &Path) -> Result<String, TrustError> {
    let meta = std::fs::metadata(path).map_err(|e| io_err(path, e))?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        return Err(io_err(
            path,
            format!(
                "is {} bytes; a key file is under {MAX_KEY_FILE_BYTES}",
                meta.len()
            ),
        ));
    }
    std::fs::read_to_string(path).map_err(|e| io_err(path, e))
}

/// Whether the private key at `path` is passphrase-protected (parses it).
pub(crate) fn is_encrypted(path: &Path) -> Result<bool, TrustError> {
    let text = read_small(path)?;
    let key = PrivateKey::from_openssh(text.trim_start()).map_err(|e| KeyError::NotPrivateKey {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    Ok(key.is_encrypted())
}

/// Load an OpenSSH ed25519 private key, decrypting it with `passphrase` when
/// it is protected. A passphrase given for an unprotected key is ignored.
pub fn load_private_key(path: &Path, passphrase: Option<&str>) -> Result<PrivateKey, TrustError> {
    let text = read_small(path)?;
    let key = PrivateKey::from_openssh(text.trim_start()).map_err(|e| KeyError::NotPrivateKey {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if key.algorithm() != Algorithm::Ed25519 {
        return Err(KeyError::NotEd25519 {
            path: path.to_path_buf(),
            algorithm: key.algorithm().to_string(),
        }
        .into());
    }
    if !key.is_encrypted() {
        return Ok(key);
    }
    let Some(pass) = passphrase else {
        return Err(KeyError::EncryptedWithoutPassphrase(path.to_path_buf()).into());
    };
    key.decrypt(pass)
        .map_err(|_| KeyError::WrongPassphrase(path.to_path_buf()).into())
}

/// Load a private key, asking for its passphrase (env or prompt) only when
/// the key is protected.
pub fn load_private_key_interactive(path: &Path) -> Result<PrivateKey, TrustError> {
    if is_encrypted(path)? {
        let pass = passphrase_from_env_or_prompt()?;
        load_private_key(path, pass.as_deref())
    } else {
        load_private_key(path, None)
    }
}

/// Load an OpenSSH ed25519 public key (`ssh-ed25519 AAAA... comment`, the
/// first non-comment line of the file).
pub fn load_public_key(path: &Path) -> Result<PublicKey, TrustError> {
    let text = read_small(path)?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("");
    parse_public_key(line).map_err(|e| match e {
        ParsePublicError::Parse(message) => KeyError::NotPublicKey {
            path: path.to_path_buf(),
            message,
        }
        .into(),
        ParsePublicError::Algorithm(algorithm) => KeyError::NotEd25519 {
            path: path.to_path_buf(),
            algorithm,
        }
        .into(),
    })
}

/// Why a public key line was refused.
#[derive(Debug)]
pub enum ParsePublicError {
    /// Not an OpenSSH public key line.
    Parse(String),
    /// A key of another algorithm than ed25519.
    Algorithm(String),
}

/// Parse one `ssh-ed25519 AAAA... [comment]` line.
pub fn parse_public_key(line: &str) -> Result<PublicKey, ParsePublicError> {
    if line.is_empty() {
        return Err(ParsePublicError::Parse("empty".into()));
    }
    let key = PublicKey::from_openssh(line).map_err(|e| ParsePublicError::Parse(e.to_string()))?;
    if key.algorithm() != Algorithm::Ed25519 {
        return Err(ParsePublicError::Algorithm(key.algorithm().to_string()));
    }
    Ok(key)
}

/// The passphrase for a private key: `SCS_CERT_KEY_PASSPHRASE` if set, else a
/// no-echo prompt when stdin is a terminal, else `None`. An empty answer is
/// `None` (no passphrase).
pub(crate) fn passphrase_from_env_or_prompt() -> Result<Option<String>, TrustError> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok((!p.is_empty()).then_some(p));
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Ok(None);
    }
    let p = prompt_no_echo("Passphrase for the private key (empty for none): ")?;
    Ok((!p.is_empty()).then_some(p))
}

/// A passphrase for a *new* key: `SCS_CERT_KEY_PASSPHRASE` if set, else asked
/// twice on the terminal, else `None` (unprotected key).
pub fn new_passphrase_from_env_or_prompt() -> Result<Option<String>, TrustError> {
    if let Ok(p) = std::env::var(PASSPHRASE_ENV) {
        return Ok((!p.is_empty()).then_some(p));
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Ok(None);
    }
    let a = prompt_no_echo("Passphrase for the new key (empty for none): ")?;
    if a.is_empty() {
        return Ok(None);
    }
    let b = prompt_no_echo("Same passphrase again: ")?;
    if a != b {
        return Err(KeyError::Mismatch.into());
    }
    Ok(Some(a))
}

/// Restores terminal echo when dropped (also on error paths).
struct EchoGuard;

impl Drop for EchoGuard {
    fn drop(&mut self) {
        let _ = stty("echo");
    }
}

fn stty(arg: &str) -> std::io::Result<bool> {
    let tty = std::fs::File::open("/dev/tty")?;
    Ok(std::process::Command::new("stty")
        .arg(arg)
        .stdin(tty)
        .status()?
        .success())
}

/// Read one line from /dev/tty with echo off (via `stty`; no unsafe code).
fn prompt_no_echo(prompt: &str) -> Result<String, TrustError> {
    let perr = |e: std::io::Error| TrustError::from(KeyError::Prompt(e.to_string()));
    let mut tty_out = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/tty")
        .map_err(perr)?;
    let tty_in = std::fs::File::open("/dev/tty").map_err(perr)?;
    tty_out.write_all(prompt.as_bytes()).map_err(perr)?;
    tty_out.flush().map_err(perr)?;
    let echo_off = stty("-echo").map_err(perr)?;
    let _guard = echo_off.then_some(EchoGuard);
    let mut line = String::new();
    std::io::BufReader::new(tty_in)
        .read_line(&mut line)
        .map_err(perr)?;
    let _ = tty_out.write_all(b"\n");
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp() -> PathBuf {
        let d = std::env::temp_dir().join(format!("scs-cert-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&d).expect("tmp");
        d
    }

    #[test]
    fn roundtrip_plain_and_encrypted() {
        let d = tmp();
        let k = generate_ed25519("me@test");
        let p = d.join("k");
        write_keypair(&p, &k, None).expect("write");
        let back = load_private_key(&p, None).expect("load");
        assert_eq!(back.public_key().key_data(), k.public_key().key_data());
        let pubk = load_public_key(&public_path(&p)).expect("pub");
        assert_eq!(pubk.key_data(), k.public_key().key_data());
        assert_eq!(pubk.comment(), "me@test");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let e = write_keypair(&p, &k, None).expect_err("exists");
        assert!(e.to_string().contains("already exists"), "{e}");

        let pe = d.join("enc");
        write_keypair(&pe, &k, Some("s3cret")).expect("write enc");
        assert!(is_encrypted(&pe).expect("enc"));
        let e = load_private_key(&pe, None).expect_err("no pass");
        assert!(e.to_string().contains("passphrase-protected"), "{e}");
        let e = load_private_key(&pe, Some("wrong")).expect_err("wrong");
        assert!(e.to_string().contains("wrong passphrase"), "{e}");
        let ok = load_private_key(&pe, Some("s3cret")).expect("right");
        assert_eq!(ok.public_key().key_data(), k.public_key().key_data());
        let _ = std::fs::remove_dir_all(d);
    }

    #[test]
    fn rejects_garbage_and_other_types() {
        let d = tmp();
        let p = d.join("junk");
        std::fs::write(&p, "hello").expect("w");
        let e = load_private_key(&p, None).expect_err("junk");
        assert!(e.to_string().contains("not an OpenSSH private key"), "{e}");
        let e = load_public_key(&p).expect_err("junk");
        assert!(e.to_string().contains("not an OpenSSH public key"), "{e}");
        // A syntactically valid non-ed25519 public key.
        let rsa = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQDM3ApGuKuQ1EsQ0zjvHZmOW8fvHZp2C4tgmZ9ZeNV2MHlQHHT2zAFd9dBqT0j+yMB2mgqVmbkDmDgvbHBNc1aaRxAOW3A5pf8JiCk6H1vp6qsfY0oP5THSCZdE3ycBz4vK+GJ9ETvCp04rsQ4BQKyyRdXOvxu5KhJKykCF/4vkzQ== r";
        std::fs::write(d.join("rsa.pub"), rsa).expect("w");
        if let Err(e) = load_public_key(&d.join("rsa.pub")) {
            let s = e.to_string();
            assert!(s.contains("ed25519") || s.contains("not an OpenSSH"), "{s}");
        } else {
            panic!("rsa accepted");
        }
        let _ = std::fs::remove_dir_all(d);
    }
}

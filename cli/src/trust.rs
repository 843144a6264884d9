//! `scs-cert trust init|rotate|sign|show`: the trust root (root.json).
//!
//! Exit codes: 0 done (or, for `show`, the root verifies); 4 bad input;
//! 36 the root (or the rotation) does not verify, 37 it has expired.

use super::bad_input;
use super::bundle::refused;
use scs_cert_host::bundle::Refusal;
use scs_cert_host::trust::root::{self, Delegation, RootFile, TrustRoot};
use scs_cert_host::trust::{keys, sshsig};
use ssh_key::PublicKey;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// `scs-cert trust`.
#[derive(Debug, clap::Args)]
pub struct TrustArgs {
    #[command(subcommand)]
    command: TrustCommand,
}

#[derive(Debug, clap::Subcommand)]
enum TrustCommand {
    /// Create root version 1, signed by its root keys (--sign).
    Init(InitArgs),
    /// Make version N+1 of a root; it must be signed by a threshold of the
    /// old root keys and of the new root keys (--sign, repeatable).
    Rotate(RotateArgs),
    /// Add a signature to a root (for keys held by different people).
    Sign(SignArgs),
    /// Show a root: keys, roles, thresholds, delegations, expiry, signatures.
    Show(ShowArgs),
}

#[derive(Debug, Clone, clap::Args)]
struct Expiry {
    /// Expiry: RFC 3339 time or YYYY-MM-DD.
    #[arg(long, value_name = "TIME", conflicts_with = "expires_days")]
    expires: Option<String>,
    /// Expiry in days from now [default: 365].
    #[arg(long = "expires-days", value_name = "DAYS")]
    expires_days: Option<u32>,
}

#[derive(Debug, clap::Args)]
struct InitArgs {
    /// Where to write root.json.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: PathBuf,
    /// Root role key (public key file, repeatable).
    #[arg(long = "root-key", value_name = "PUB", required = true)]
    root_keys: Vec<String>,
    /// Signatures needed from the root role.
    #[arg(long = "root-threshold", default_value_t = 1)]
    root_threshold: u32,
    /// Bundle role key (public key file, repeatable).
    #[arg(long = "bundle-key", value_name = "PUB", required = true)]
    bundle_keys: Vec<String>,
    /// Signatures needed from the bundle role.
    #[arg(long = "bundle-threshold", default_value_t = 1)]
    bundle_threshold: u32,
    /// Data role key (public key file, repeatable): signs data files (.scsd) only
    /// [default: no data role; the bundle role then signs data files].
    #[arg(long = "data-key", value_name = "PUB")]
    data_keys: Vec<String>,
    /// Signatures needed from the data role.
    #[arg(long = "data-threshold", default_value_t = 1)]
    data_threshold: u32,
    /// Delegation: name=NAME,prefix=ID_PREFIX,key=PUB,cap=PATTERN[,threshold=N]
    /// (prefix, key and cap repeatable; e.g. cap=openstack:*:read for read-only).
    #[arg(long = "delegate", value_name = "SPEC")]
    delegations: Vec<String>,
    #[command(flatten)]
    expiry: Expiry,
    /// Private root key(s) to sign with.
    #[arg(long = "sign", value_name = "KEY")]
    sign: Vec<PathBuf>,
    /// Write even if not yet signed by a threshold (add signatures with `trust sign`).
    #[arg(long)]
    draft: bool,
}

#[derive(Debug, clap::Args)]
struct RotateArgs {
    /// The current root.json.
    #[arg(long, value_name = "FILE")]
    root: PathBuf,
    /// Where to write the new version.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: PathBuf,
    /// Add a root role key (public key file).
    #[arg(long = "add-root-key", value_name = "PUB")]
    add_root_keys: Vec<String>,
    /// Add a bundle role key (public key file).
    #[arg(long = "add-bundle-key", value_name = "PUB")]
    add_bundle_keys: Vec<String>,
    /// Add a data role key (public key file); creates the data role (threshold 1) if absent.
    #[arg(long = "add-data-key", value_name = "PUB")]
    add_data_keys: Vec<String>,
    /// Remove a key everywhere (key id SHA256:... or public key file).
    #[arg(long = "remove-key", value_name = "ID|PUB")]
    remove_keys: Vec<String>,
    /// New root threshold.
    #[arg(long = "root-threshold")]
    root_threshold: Option<u32>,
    /// New bundle threshold.
    #[arg(long = "bundle-threshold")]
    bundle_threshold: Option<u32>,
    /// Add a delegation (same SPEC as `trust init --delegate`).
    #[arg(long = "delegate", value_name = "SPEC")]
    delegations: Vec<String>,
    /// Remove a delegation by name.
    #[arg(long = "remove-delegation", value_name = "NAME")]
    remove_delegations: Vec<String>,
    #[command(flatten)]
    expiry: Expiry,
    /// Private key(s) to sign with: old and new root keys.
    #[arg(long = "sign", value_name = "KEY")]
    sign: Vec<PathBuf>,
    /// Write even if not yet signed by both thresholds.
    #[arg(long)]
    draft: bool,
}

#[derive(Debug, clap::Args)]
struct SignArgs {
    /// The root.json to sign (in place).
    file: PathBuf,
    /// Private key.
    #[arg(long, value_name = "KEY")]
    key: PathBuf,
    /// The previous version, to report whether the rotation is complete.
    #[arg(long, value_name = "FILE")]
    previous: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ShowArgs {
    /// The root.json.
    file: PathBuf,
    /// The previous version: also check the rotation from it.
    #[arg(long, value_name = "FILE")]
    previous: Option<PathBuf>,
}

/// `scs-cert trust ...`.
pub(crate) fn cmd_trust(args: TrustArgs) -> ExitCode {
    let r = match args.command {
        TrustCommand::Init(a) => init(a),
        TrustCommand::Rotate(a) => rotate(a),
        TrustCommand::Sign(a) => sign(a),
        TrustCommand::Show(a) => show(a),
    };
    r.unwrap_or_else(|code| code)
}

fn load_pub(spec: &str) -> Result<PublicKey, ExitCode> {
    if spec.starts_with("ssh-") {
        return keys::parse_public_key(spec.trim())
            .map_err(|e| bad_input(format!("{spec}: not an ed25519 public key ({e:?})")));
    }
    keys::load_public_key(Path::new(spec)).map_err(bad_input)
}

fn expiry(e: &Expiry) -> Result<chrono::DateTime<chrono::Utc>, ExitCode> {
    match (&e.expires, e.expires_days) {
        (Some(s), _) => {
            root::parse_rfc3339_utc(s).map_err(|m| bad_input(format!("--expires: {m}")))
        }
        (None, d) => Ok(chrono::Utc::now() + chrono::Duration::days(i64::from(d.unwrap_or(365)))),
    }
}

fn parse_delegation(spec: &str, body: &mut root::RootBody) -> Result<Delegation, ExitCode> {
    let mut d = Delegation {
        name: String::new(),
        keys: Vec::new(),
        threshold: 1,
        prefixes: Vec::new(),
        capabilities: Vec::new(),
    };
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(bad_input(format!(
                "--delegate {spec:?}: {part:?} is not key=value"
            )));
        };
        match k {
            "name" => d.name = v.to_string(),
            "prefix" => d.prefixes.push(v.to_string()),
            "cap" | "capability" => d.capabilities.push(v.to_string()),
            "threshold" => {
                d.threshold = v.parse().map_err(|_| {
                    bad_input(format!("--delegate: threshold {v:?} is not a number"))
                })?
            }
            "key" => {
                let key = load_pub(v)?;
                d.keys.push(root::add_key(body, &key));
            }
            other => {
                return Err(bad_input(format!(
                    "--delegate {spec:?}: unknown field {other:?} (name, prefix, key, cap, threshold)"
                )));
            }
        }
    }
    Ok(d)
}

fn sign_all(file: &mut RootFile, keys_: &[PathBuf]) -> Result<(), ExitCode> {
    for k in keys_ {
        let key = keys::load_private_key_interactive(k).map_err(bad_input)?;
        file.sign(&key).map_err(bad_input)?;
    }
    Ok(())
}

fn write_root(path: &Path, file: &RootFile) -> Result<(), ExitCode> {
    let text = file.to_pretty().map_err(bad_input)?;
    std::fs::write(path, text).map_err(|e| bad_input(format!("{}: {e}", path.display())))
}

fn init(a: InitArgs) -> Result<ExitCode, ExitCode> {
    let root_keys: Vec<PublicKey> = a
        .root_keys
        .iter()
        .map(|s| load_pub(s))
        .collect::<Result<_, _>>()?;
    let bundle_keys: Vec<PublicKey> = a
        .bundle_keys
        .iter()
        .map(|s| load_pub(s))
        .collect::<Result<_, _>>()?;
    let mut body = root::new_body(
        1,
        expiry(&a.expiry)?,
        &root_keys,
        a.root_threshold,
        &bundle_keys,
        a.bundle_threshold,
    );
    if !a.data_keys.is_empty() {
        let mut ids = Vec::new();
        for spec in &a.data_keys {
            let id = root::add_key(&mut body, &load_pub(spec)?);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        body.roles.data = Some(root::Role {
            keys: ids,
            threshold: a.data_threshold,
        });
    }
    for spec in &a.delegations {
        let d = parse_delegation(spec, &mut body)?;
        body.delegations.push(d);
    }
    body.validate().map_err(bad_input)?;
    let mut file = RootFile {
        signed: body,
        signatures: Vec::new(),
    };
    sign_all(&mut file, &a.sign)?;
    let check = TrustRoot::from_installed(file.clone());
    if let Err(e) = &check
        && !a.draft
    {
        return Err(refused(&Refusal::from(
            scs_cert_host::trust::TrustError::from(root::RootError::Invalid {
                version: 1,
                message: format!("{e}; not written (use --draft to write it anyway)"),
            }),
        )));
    }
    write_root(&a.out, &file)?;
    println!(
        "wrote {}: root version 1{}",
        a.out.display(),
        if check.is_ok() {
            ", signed by a threshold of its root keys"
        } else {
            " (DRAFT: not yet signed by a threshold; add signatures with `scs-cert trust sign`)"
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn rotate(a: RotateArgs) -> Result<ExitCode, ExitCode> {
    let old = RootFile::load(&a.root).map_err(|e| refused(&Refusal::from(e)))?;
    let current = TrustRoot::from_installed(old.clone()).map_err(|e| refused(&Refusal::from(e)))?;
    let mut body = old.signed.clone();
    body.version += 1;
    body.expires = root::fmt_time(expiry(&a.expiry)?);
    for spec in &a.remove_keys {
        let id = if spec.starts_with("SHA256:") {
            spec.clone()
        } else {
            sshsig::key_id(&load_pub(spec)?)
        };
        if !body.keys.contains_key(&id) {
            return Err(bad_input(format!(
                "--remove-key {spec}: {id} is not in the root"
            )));
        }
        body.roles.root.keys.retain(|k| k != &id);
        body.roles.bundle.keys.retain(|k| k != &id);
        if let Some(d) = &mut body.roles.data {
            d.keys.retain(|k| k != &id);
        }
        for d in &mut body.delegations {
            d.keys.retain(|k| k != &id);
        }
    }
    for spec in &a.add_root_keys {
        let id = root::add_key(&mut body, &load_pub(spec)?);
        if !body.roles.root.keys.contains(&id) {
            body.roles.root.keys.push(id);
        }
    }
    for spec in &a.add_bundle_keys {
        let id = root::add_key(&mut body, &load_pub(spec)?);
        if !body.roles.bundle.keys.contains(&id) {
            body.roles.bundle.keys.push(id);
        }
    }
    for spec in &a.add_data_keys {
        let id = root::add_key(&mut body, &load_pub(spec)?);
        let role = body.roles.data.get_or_insert_with(|| root::Role {
            keys: Vec::new(),
            threshold: 1,
        });
        if !role.keys.contains(&id) {
            role.keys.push(id);
        }
    }
    if let Some(t) = a.root_threshold {
        body.roles.root.threshold = t;
    }
    if let Some(t) = a.bundle_threshold {
        body.roles.bundle.threshold = t;
    }
    for name in &a.remove_delegations {
        let before = body.delegations.len();
        body.delegations.retain(|d| &d.name != name);
        if body.delegations.len() == before {
            return Err(bad_input(format!(
                "--remove-delegation {name}: no such delegation"
            )));
        }
    }
    for spec in &a.delegations {
        let d = parse_delegation(spec, &mut body)?;
        body.delegations.retain(|x| x.name != d.name);
        body.delegations.push(d);
    }
    root::prune_keys(&mut body);
    body.validate().map_err(bad_input)?;
    let mut file = RootFile {
        signed: body,
        signatures: Vec::new(),
    };
    sign_all(&mut file, &a.sign)?;
    let version = file.signed.version;
    let check = current.advance(file.clone());
    if let Err(e) = &check
        && !a.draft
    {
        return Err(refused(&Refusal::from(
            scs_cert_host::trust::TrustError::from(root::RootError::Invalid {
                version,
                message: format!("{e}; not written (use --draft, then `scs-cert trust sign`)"),
            }),
        )));
    }
    write_root(&a.out, &file)?;
    println!(
        "wrote {}: root version {version}{}",
        a.out.display(),
        if check.is_ok() {
            ", signed by a threshold of the old and of the new root keys"
        } else {
            " (DRAFT: rotation not yet complete; add signatures with `scs-cert trust sign`)"
        }
    );
    Ok(ExitCode::SUCCESS)
}

fn sign(a: SignArgs) -> Result<ExitCode, ExitCode> {
    let mut file = RootFile::load(&a.file).map_err(|e| refused(&Refusal::from(e)))?;
    sign_all(&mut file, std::slice::from_ref(&a.key))?;
    write_root(&a.file, &file)?;
    println!(
        "signed {} (root version {})",
        a.file.display(),
        file.signed.version
    );
    show(ShowArgs {
        file: a.file,
        previous: a.previous,
    })
    .map(|_| ExitCode::SUCCESS)
    .or(Ok(ExitCode::SUCCESS))
}

fn show(a: ShowArgs) -> Result<ExitCode, ExitCode> {
    let file = RootFile::load(&a.file).map_err(|e| refused(&Refusal::from(e)))?;
    let b = &file.signed;
    let validated = b.validate().map_err(|e| refused(&Refusal::from(e)))?;
    let now = chrono::Utc::now();
    println!("root:        {}", a.file.display());
    println!("version:     {}", b.version);
    println!(
        "expires:     {}{}",
        b.expires,
        if now > validated.expires {
            " (EXPIRED)"
        } else {
            ""
        }
    );
    println!("keys:");
    for (id, (key, exp)) in &validated.keys {
        let mut roles = Vec::new();
        if b.roles.root.keys.contains(id) {
            roles.push("root".to_string());
        }
        if b.roles.bundle.keys.contains(id) {
            roles.push("bundle".to_string());
        }
        if b.roles.data.as_ref().is_some_and(|d| d.keys.contains(id)) {
            roles.push("data".to_string());
        }
        for d in &b.delegations {
            if d.keys.contains(id) {
                roles.push(format!("delegation:{}", d.name));
            }
        }
        println!(
            "  {id} {} [{}]{}",
            key.comment(),
            roles.join(", "),
            exp.map(|e| format!(" expires {}", root::fmt_time(e)))
                .unwrap_or_default()
        );
    }
    println!(
        "roles:       root {} of {}, bundle {} of {}",
        b.roles.root.threshold,
        b.roles.root.keys.len(),
        b.roles.bundle.threshold,
        b.roles.bundle.keys.len()
    );
    match &b.roles.data {
        Some(d) => println!(
            "data role:   {} of {} (signs data files)",
            d.threshold,
            d.keys.len()
        ),
        None => println!("data role:   none (the bundle role signs data files)"),
    }
    for d in &b.delegations {
        println!(
            "delegation:  {}: {} of {} key(s), checks {}, capabilities {}",
            d.name,
            d.threshold,
            d.keys.len(),
            d.prefixes
                .iter()
                .map(|p| format!("{p}*"))
                .collect::<Vec<_>>()
                .join(", "),
            if d.capabilities.is_empty() {
                "none".into()
            } else {
                d.capabilities.join(", ")
            }
        );
    }
    match file.valid_signers() {
        Ok(s) => println!(
            "signatures:  {} valid ({})",
            s.len(),
            s.into_iter().collect::<Vec<_>>().join(", ")
        ),
        Err(e) => println!("signatures:  INVALID: {e}"),
    }
    let verdict = match &a.previous {
        None => TrustRoot::from_installed(file.clone())
            .map(|_| "self-signed by a threshold of its root keys".to_string()),
        Some(p) => {
            let prev = RootFile::load(p).map_err(|e| refused(&Refusal::from(e)))?;
            TrustRoot::from_installed(prev)
                .and_then(|t| t.advance(file.clone()))
                .map(|t| format!("valid rotation {:?}", t.chain))
        }
    };
    match verdict {
        Ok(s) => {
            println!("status:      ok: {s}");
            if now > validated.expires {
                return Err(refused(&Refusal::from(
                    scs_cert_host::trust::TrustError::from(root::RootError::Expired {
                        version: b.version,
                        expires: b.expires.clone(),
                    }),
                )));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("status:      NOT VALID: {e}");
            Err(ExitCode::from(Refusal::from(e).reason.exit_code()))
        }
    }
}

//! `scs-cert bundle build|sign|verify|inspect|extract|bench`, and the bundle
//! flags of `run` (`--bundle`, `--root`, `--state-dir`, the overrides).
//!
//! Exit codes: 0 success; 4 bad input (unreadable files, bad flags, build
//! errors); 20..=40 a refused bundle, one code per [`Reason`]. A refusal is
//! one line: `scs-cert: refused: <reason>: <what exactly>`.

use super::bad_input;
use scs_cert_host::bundle::manifest::{self, BuildInput};
use scs_cert_host::bundle::verify;
use scs_cert_host::bundle::{BundleError, Refusal, VerifiedBundle, VerifyOptions};
use scs_cert_host::trust::{keys, root, state};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

const REFUSAL_HELP: &str = "Exit codes: 0 verified; 4 bad input; a refusal exits with its reason's code: \
20 malformed, 21 unsafe-entry, 22 oversize, 23 unlisted-file, 24 missing-file, 25 digest-mismatch, \
26 unsigned, 27 bad-signature, 28 unknown-key, 29 key-expired, 30 threshold, 31 delegation-prefix, \
32 delegation-capability, 33 delegation-scope, 34 expired, 35 rollback, 36 root-invalid, 37 root-expired, \
38 incompatible, 39 check-metadata, 40 state. All codes: docs/cli.md#exit-codes.";

/// `scs-cert bundle`.
#[derive(Debug, clap::Args)]
pub struct BundleArgs {
    #[command(subcommand)]
    command: BundleCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BundleCommand {
    /// Pack checks, their check.json, scopes and the trust history into a
    /// deterministic, unsigned .scsb (tar + zstd; mtimes from SOURCE_DATE_EPOCH or 0).
    Build(BuildArgs),
    /// Add an SSHSIG signature (namespace scs-cert-bundle) over the manifest.
    Sign(SignArgs),
    /// Verify a bundle against a trust root; exit 0 only if every rule passes.
    #[command(after_help = REFUSAL_HELP)]
    Verify(VerifyArgs),
    /// Show what a bundle holds (name, version, sequence, expiry, signers,
    /// checks with testcases, digests, capabilities) without running anything.
    Inspect(InspectArgs),
    /// Write a bundle's files (manifest.json, signatures/, checks/ ...) into a
    /// directory, e.g. for `ssh-keygen -Y verify`.
    Extract(ExtractArgs),
    /// Time `bundle verify` (read + every rule) of a bundle, warm, in-process.
    Bench(BenchArgs),
}

#[derive(Debug, clap::Args)]
struct BuildArgs {
    /// Checks directory (<id>/component.wasm + <id>/check.json).
    #[arg(long, value_name = "DIR")]
    checks: PathBuf,
    /// Scope YAML to include (repeatable).
    #[arg(long = "scope", value_name = "FILE")]
    scopes: Vec<PathBuf>,
    /// Trust root history to include: every root.json version (repeatable).
    #[arg(long = "trust", value_name = "ROOT_JSON")]
    trust: Vec<PathBuf>,
    /// Bundle name (rollback state is kept per name).
    #[arg(long, default_value = "scs-checks")]
    name: String,
    /// Bundle version (semver).
    #[arg(long = "bundle-version", value_name = "SEMVER", default_value = env!("CARGO_PKG_VERSION"))]
    version: String,
    /// Monotonic sequence number; must grow with every release.
    #[arg(long, value_name = "N")]
    sequence: u64,
    /// Expiry: RFC 3339 time or YYYY-MM-DD.
    #[arg(long, value_name = "TIME")]
    expires: String,
    /// Oldest scs-cert that may run the bundle.
    #[arg(long = "min-host-version", value_name = "SEMVER", default_value = env!("CARGO_PKG_VERSION"))]
    min_host_version: String,
    /// Output .scsb file.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct SignArgs {
    /// The bundle.
    file: PathBuf,
    /// OpenSSH ed25519 private key (passphrase from SCS_CERT_KEY_PASSPHRASE or a prompt).
    #[arg(long, value_name = "KEY", required_unless_present = "signature")]
    key: Option<PathBuf>,
    /// Add a signature made elsewhere: `ssh-keygen -Y sign -f KEY -n scs-cert-bundle manifest.json`.
    #[arg(long, value_name = "SIG", conflicts_with = "key")]
    signature: Option<PathBuf>,
    /// Write the signed bundle here [default: replace FILE].
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Trust flags shared by `bundle verify` and `run`.
#[derive(Debug, Clone, clap::Args)]
pub struct TrustFlags {
    /// Trust root (root.json) the bundle must satisfy.
    #[arg(long, value_name = "ROOT_JSON", env = "SCS_CERT_ROOT")]
    pub root: Option<PathBuf>,
    /// Rollback state directory [default: $SCS_CERT_STATE_DIR, else
    /// $XDG_STATE_HOME/scs-cert, else ~/.local/state/scs-cert].
    #[arg(long = "state-dir", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// OVERRIDE: accept an expired bundle or trust root (written into the report).
    #[arg(long = "allow-expired")]
    pub allow_expired: bool,
    /// OVERRIDE: accept a sequence older than the one already accepted
    /// (written into the report).
    #[arg(long = "allow-downgrade")]
    pub allow_downgrade: bool,
}

/// The bundle flags of `scs-cert run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunBundleArgs {
    /// Signed check bundle (.scsb) to run; verified against --root before anything runs.
    /// Repeat it to run contributor bundles beside the first (the official) one: each is
    /// verified against the same root and bounded by its delegation; a testcase claimed by
    /// two bundles stops the run.
    #[arg(long, value_name = "FILE", env = "SCS_CERT_BUNDLE")]
    pub bundle: Vec<PathBuf>,
    #[command(flatten)]
    pub trust: TrustFlags,
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// The bundle.
    file: PathBuf,
    #[command(flatten)]
    trust: TrustFlags,
    /// Do not record the accepted sequence in the state directory.
    #[arg(long = "no-state-update")]
    no_state_update: bool,
}

#[derive(Debug, clap::Args)]
struct InspectArgs {
    /// The bundle.
    file: PathBuf,
    /// Also verify against this trust root (rollback state untouched).
    #[arg(long, value_name = "ROOT_JSON")]
    root: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ExtractArgs {
    /// The bundle.
    file: PathBuf,
    /// Directory to create (must not exist or be empty).
    #[arg(long, short = 'o', value_name = "DIR")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct BenchArgs {
    /// The bundle.
    file: PathBuf,
    /// Trust root.
    #[arg(long, value_name = "ROOT_JSON")]
    root: PathBuf,
    /// Timed iterations (after one warm-up).
    #[arg(long, short = 'n', default_value_t = 20)]
    iterations: u32,
}

/// `scs-cert bundle ...`.
pub(crate) fn cmd_bundle(args: BundleArgs) -> ExitCode {
    super::init_logging(false);
    match args.command {
        BundleCommand::Build(a) => build(a),
        BundleCommand::Sign(a) => sign(a),
        BundleCommand::Verify(a) => verify_cmd(a),
        BundleCommand::Inspect(a) => inspect(a),
        BundleCommand::Extract(a) => extract(a),
        BundleCommand::Bench(a) => bench(a),
    }
}

/// Print a refusal as one line and return its exit code.
pub(crate) fn refused(r: &Refusal) -> ExitCode {
    eprintln!("scs-cert: refused: {}: {}", r.reason, r.message);
    ExitCode::from(r.reason.exit_code())
}

fn bundle_error(e: BundleError) -> ExitCode {
    match e {
        BundleError::Refused(r) => refused(&r),
        other => bad_input(other),
    }
}

/// Write a bundle file atomically, creating its directory.
fn write_bundle(path: &Path, bytes: &[u8]) -> Result<(), scs_cert_host::fsutil::WriteError> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| scs_cert_host::fsutil::WriteError {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    scs_cert_host::fsutil::write_atomic(path, bytes)
}

fn build(a: BuildArgs) -> ExitCode {
    let expires = match root::parse_rfc3339_utc(&a.expires) {
        Ok(t) => t,
        Err(e) => return bad_input(format!("--expires: {e}")),
    };
    let created_epoch = match manifest::source_date_epoch() {
        Ok(t) => t,
        Err(e) => return bad_input(e),
    };
    let input = BuildInput {
        checks_dir: a.checks,
        scopes: a.scopes,
        trust: a.trust,
        name: a.name,
        version: a.version,
        sequence: a.sequence,
        created_epoch,
        expires,
        min_host_version: a.min_host_version,
    };
    let (bytes, m) = match manifest::build(&input) {
        Ok(x) => x,
        Err(e) => return bundle_error(e),
    };
    if let Err(e) = write_bundle(&a.out, &bytes) {
        return bad_input(format!("cannot write the bundle: {e}"));
    }
    let manifest_bytes = m.to_bytes().unwrap_or_default();
    println!(
        "built {} (unsigned): {} {} sequence {}, {} files, archive sha256 {}, manifest sha256 {}",
        a.out.display(),
        m.name,
        m.version,
        m.sequence,
        m.files.len(),
        manifest::sha256_hex(&bytes),
        manifest::sha256_hex(&manifest_bytes)
    );
    ExitCode::SUCCESS
}

fn sign(a: SignArgs) -> ExitCode {
    let bytes = match verify::read_bundle_file(&a.file) {
        Ok(b) => b,
        Err(e) => return bundle_error(e),
    };
    let key = match &a.key {
        Some(p) => match keys::load_private_key_interactive(p) {
            Ok(k) => Some(k),
            Err(e) => return bad_input(e),
        },
        None => None,
    };
    let armored = match &a.signature {
        Some(p) => match std::fs::read_to_string(p) {
            Ok(s) => Some(s),
            Err(e) => return bad_input(format!("{}: {e}", p.display())),
        },
        None => None,
    };
    let (signed, key_id) = match verify::add_signature(&bytes, key.as_ref(), armored.as_deref()) {
        Ok(x) => x,
        Err(r) => return refused(&r),
    };
    let out = a.out.unwrap_or(a.file);
    if let Err(e) = write_bundle(&out, &signed) {
        return bad_input(format!("cannot write the bundle: {e}"));
    }
    println!(
        "signed {} with {key_id} (namespace {})",
        out.display(),
        manifest::BUNDLE_NAMESPACE
    );
    ExitCode::SUCCESS
}

pub(crate) fn verify_options(
    t: &TrustFlags,
    update_state: bool,
) -> Result<VerifyOptions, ExitCode> {
    let state_dir = match &t.state_dir {
        Some(d) => d.clone(),
        None => state::default_dir().map_err(bad_input)?,
    };
    Ok(VerifyOptions {
        now: chrono::Utc::now(),
        allow_expired: t.allow_expired,
        allow_downgrade: t.allow_downgrade,
        state_dir: Some(state_dir),
        update_state,
    })
}

fn loud_overrides(v: &VerifiedBundle) {
    for o in &v.overrides {
        eprintln!("scs-cert: WARNING: OVERRIDE IN EFFECT: {o} (recorded in the report)");
    }
}

pub(crate) fn verify_with(
    file: &Path,
    t: &TrustFlags,
    update_state: bool,
) -> Result<VerifiedBundle, ExitCode> {
    let Some(root_path) = &t.root else {
        return Err(bad_input(
            "no trust root: pass --root ROOT_JSON (or set SCS_CERT_ROOT); `scs-cert trust init` makes one",
        ));
    };
    let opts = verify_options(t, update_state)?;
    match verify::verify_file(file, root_path, &opts) {
        Ok(v) => {
            loud_overrides(&v);
            Ok(v)
        }
        Err(e) => Err(bundle_error(e)),
    }
}

fn verify_cmd(a: VerifyArgs) -> ExitCode {
    match verify_with(&a.file, &a.trust, !a.no_state_update) {
        Ok(v) => {
            println!(
                "verified {}: {} {} sequence {}, {} checks, authorized by {} ({}), root version {}, manifest sha256 {}",
                a.file.display(),
                v.manifest.name,
                v.manifest.version,
                v.manifest.sequence,
                v.checks.len(),
                v.authorized_by,
                v.signers.join(", "),
                v.root_version,
                v.manifest_sha256
            );
            ExitCode::SUCCESS
        }
        Err(code) => code,
    }
}

/// `run`: verify `--bundle` (or warn about `--checks`) before anything runs.
pub(crate) fn verify_for_run(
    a: &RunBundleArgs,
    checks: Option<&Path>,
) -> Result<Vec<Arc<VerifiedBundle>>, ExitCode> {
    match (a.bundle.first(), checks) {
        (Some(_), Some(_)) => Err(bad_input(
            "give either --bundle FILE (signed) or --checks DIR (unsigned, development), not both",
        )),
        (None, None) => Err(bad_input(
            "no checks: pass --bundle FILE --root ROOT_JSON (signed), or --checks DIR for development \
             (`cargo xtask bundle` makes target/bundle/scs-checks.scsb and target/bundle/root.json)",
        )),
        (None, Some(dir)) => {
            if a.trust.allow_expired || a.trust.allow_downgrade {
                return Err(bad_input(
                    "--allow-expired/--allow-downgrade apply to --bundle only",
                ));
            }
            eprintln!(
                "scs-cert: WARNING: running UNSIGNED checks from {} (development only; the report says checks_trust: unsigned-dev)",
                dir.display()
            );
            Ok(Vec::new())
        }
        (Some(_), None) => {
            let mut out = Vec::with_capacity(a.bundle.len());
            for file in &a.bundle {
                let v = verify_with(file, &a.trust, true)?;
                if let Some(same) = out
                    .iter()
                    .find(|o: &&Arc<VerifiedBundle>| o.archive_sha256 == v.archive_sha256)
                {
                    return Err(bad_input(format!(
                        "--bundle {} is the same bundle as --bundle {}; give each bundle once",
                        file.display(),
                        same.source
                    )));
                }
                out.push(Arc::new(v));
            }
            Ok(out)
        }
    }
}

fn inspect(a: InspectArgs) -> ExitCode {
    let bytes = match verify::read_bundle_file(&a.file) {
        Ok(b) => b,
        Err(e) => return bundle_error(e),
    };
    let opened = match verify::open(&bytes) {
        Ok(o) => o,
        Err(r) => return refused(&r),
    };
    let m = &opened.manifest;
    let mut o = String::new();
    use std::fmt::Write;
    let _ = writeln!(o, "bundle:           {}", a.file.display());
    let _ = writeln!(o, "name:             {}", m.name);
    let _ = writeln!(o, "version:          {}", m.version);
    let _ = writeln!(o, "sequence:         {}", m.sequence);
    let _ = writeln!(o, "created:          {}", m.created);
    let _ = writeln!(o, "expires:          {}", m.expires);
    let _ = writeln!(o, "min host version: {}", m.min_host_version);
    let _ = writeln!(o, "wit:              {}", m.wit);
    let _ = writeln!(
        o,
        "manifest sha256:  {}",
        manifest::sha256_hex(&opened.manifest_bytes)
    );
    let _ = writeln!(o, "archive sha256:   {}", opened.archive_sha256);
    if opened.signatures.is_empty() {
        o.push_str("signers:          none (unsigned)\n");
    } else {
        o.push_str("signers:\n");
        for (path, text) in &opened.signatures {
            let line = match scs_cert_host::trust::sshsig::verify(
                text,
                &opened.manifest_bytes,
                manifest::BUNDLE_NAMESPACE,
            ) {
                Ok(k) => format!(
                    "{} (signature valid; trust not yet checked)",
                    scs_cert_host::trust::sshsig::key_id(&k)
                ),
                Err(e) => format!("INVALID: {e}"),
            };
            let _ = writeln!(o, "  {path}: {line}");
        }
    }
    match opened.checks(&BTreeMap::new()) {
        Ok(checks) => {
            let _ = writeln!(o, "checks:           {}", checks.len());
            for c in &checks {
                let _ = writeln!(
                    o,
                    "  {} {} ({})",
                    c.meta.id, c.meta.version, c.meta.standard
                );
                let _ = writeln!(o, "    sha256:       {} ({} bytes)", c.sha256, c.wasm.len());
                let _ = writeln!(o, "    testcases:    {}", c.meta.testcases.join(", "));
                let _ = writeln!(
                    o,
                    "    capabilities: {}",
                    if c.meta.capabilities.is_empty() {
                        "none".to_string()
                    } else {
                        c.meta.capabilities.join(", ")
                    }
                );
            }
        }
        Err(r) => {
            let _ = writeln!(o, "checks:           unreadable: {r}");
        }
    }
    let scopes: Vec<&String> = opened
        .files
        .keys()
        .filter(|p| p.starts_with("scopes/"))
        .collect();
    let trust: Vec<&String> = opened
        .files
        .keys()
        .filter(|p| p.starts_with("trust/"))
        .collect();
    let _ = writeln!(
        o,
        "scopes:           {}",
        if scopes.is_empty() {
            "none".into()
        } else {
            scopes
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    let _ = writeln!(
        o,
        "trust history:    {}",
        if trust.is_empty() {
            "none".into()
        } else {
            trust
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    // A closed pipe (`| head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout(), o.as_bytes());
    if let Some(root_path) = &a.root {
        let root = match root::RootFile::load(root_path) {
            Ok(r) => r,
            Err(e) => return refused(&Refusal::from(e)),
        };
        let opts = VerifyOptions {
            now: chrono::Utc::now(),
            allow_expired: false,
            allow_downgrade: false,
            state_dir: None,
            update_state: false,
        };
        match verify::verify_bytes(&bytes, &a.file.display().to_string(), &root, &opts) {
            Ok(v) => println!(
                "verification:     passes every rule except rollback (not checked by inspect); authorized by {} ({}), root version {}",
                v.authorized_by,
                v.signers.join(", "),
                v.root_version
            ),
            Err(r) => {
                println!("verification:     REFUSED {}: {}", r.reason, r.message);
                return ExitCode::from(r.reason.exit_code());
            }
        }
    }
    ExitCode::SUCCESS
}

fn extract(a: ExtractArgs) -> ExitCode {
    let bytes = match verify::read_bundle_file(&a.file) {
        Ok(b) => b,
        Err(e) => return bundle_error(e),
    };
    let entries = match scs_cert_host::bundle::archive::unpack(&bytes) {
        Ok(e) => e,
        Err(r) => return refused(&r),
    };
    if a.out.exists()
        && std::fs::read_dir(&a.out)
            .map(|mut d| d.next().is_some())
            .unwrap_or(true)
    {
        return bad_input(format!("{}: exists and is not empty", a.out.display()));
    }
    for (path, data) in &entries {
        // Paths passed the archive rules (relative, no `..`, no links).
        let dest = a.out.join(path);
        if let Some(parent) = dest.parent()
            && let Err(e) = std::fs::create_dir_all(parent)
        {
            return bad_input(format!("{}: {e}", parent.display()));
        }
        let res = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&dest)
            .and_then(|mut f| std::io::Write::write_all(&mut f, data));
        if let Err(e) = res {
            return bad_input(format!("{}: {e}", dest.display()));
        }
    }
    println!("extracted {} files into {}", entries.len(), a.out.display());
    ExitCode::SUCCESS
}

fn bench(a: BenchArgs) -> ExitCode {
    let root = match root::RootFile::load(&a.root) {
        Ok(r) => r,
        Err(e) => return refused(&Refusal::from(e)),
    };
    let opts = VerifyOptions {
        now: chrono::Utc::now(),
        allow_expired: false,
        allow_downgrade: false,
        state_dir: None,
        update_state: false,
    };
    let once = || -> Result<(std::time::Duration, usize), ExitCode> {
        let t = std::time::Instant::now();
        let bytes = verify::read_bundle_file(&a.file).map_err(bundle_error)?;
        let v = verify::verify_bytes(&bytes, "bench", &root, &opts).map_err(|r| refused(&r))?;
        Ok((t.elapsed(), v.checks.len()))
    };
    let (_, n_checks) = match once() {
        Ok(x) => x,
        Err(code) => return code,
    };
    let mut times = Vec::new();
    for _ in 0..a.iterations.max(1) {
        match once() {
            Ok((d, _)) => times.push(d.as_secs_f64() * 1000.0),
            Err(code) => return code,
        }
    }
    times.sort_by(f64::total_cmp);
    let size = std::fs::metadata(&a.file).map(|m| m.len()).unwrap_or(0);
    println!(
        "bundle verify (warm, in-process, read + all rules), {} checks, {} bytes, {} runs: min {:.2} ms, median {:.2} ms, max {:.2} ms",
        n_checks,
        size,
        times.len(),
        times[0],
        times[times.len() / 2],
        times[times.len() - 1]
    );
    ExitCode::SUCCESS
}

//! `scs-cert data refresh|build|sign|verify`, and the data flags of `run` (`--data`,
//! `--max-data-age`, `--refresh-data`).
//!
//! Exit codes: 0 done; 4 bad input (unreadable files, bad flags, a source file that does not
//! have its format in `data build`); 20..=40 a refused data file (the bundle reasons, one code
//! each); 43 `stale` (`data verify --max-data-age`); 44 `data refresh` could not fetch a
//! source (nothing was written). A refusal is one line:
//! `scs-cert: refused: <reason>: <what exactly>`.

use super::bad_input;
use super::bundle::{TrustFlags, refused, verify_options};
use scs_cert_host::data::access::{DEFAULT_MAX_AGE_HOURS, REFRESH_COMMAND, RunData};
use scs_cert_host::data::file::{self, DEFAULT_EXPIRY_DAYS, DEFAULT_NAME, DataFileError};
use scs_cert_host::data::refresh::{self, Downloaded, FetchOptions, Sources};
use scs_cert_host::data::verify::{self, VerifiedData};
use scs_cert_host::trust::keys;
use scs_cert_host::trust::root::{fmt_time, parse_rfc3339_utc};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Exit code: the data file is older than `--max-data-age` (`data verify`).
pub const EXIT_STALE: u8 = 43;
/// Exit code: `data refresh` (or `run --refresh-data`) could not fetch a source.
pub const EXIT_FETCH: u8 = 44;

const HELP: &str = "Exit codes: 0 done; 4 bad input; 20-40 the data file is refused (as bundles: 20 malformed, \
21 unsafe-entry, 22 oversize, 23 unlisted-file, 24 missing-file, 25 digest-mismatch, 26 unsigned, \
27 bad-signature, 28 unknown-key, 29 key-expired, 30 threshold, 34 expired, 35 rollback, 36 root-invalid, \
37 root-expired, 40 state); 43 stale (older than --max-data-age); 44 a source could not be fetched. \
All codes: docs/cli.md#exit-codes.";

/// `scs-cert data`.
#[derive(Debug, clap::Args)]
pub struct DataArgs {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, clap::Subcommand)]
enum DataCommand {
    /// On a connected machine: fetch the Kubernetes releases, the official CVE feed with one
    /// CVE record per entry and the EOL table, and write a (signed) data file.
    #[command(after_help = HELP)]
    Refresh(RefreshArgs),
    /// Make the same data file from already downloaded copies of the sources.
    #[command(after_help = HELP)]
    Build(BuildArgs),
    /// Add an SSHSIG signature (namespace scs-cert-data) over the data file's manifest.
    #[command(after_help = HELP)]
    Sign(SignArgs),
    /// Verify a data file against a trust root and print what it holds.
    #[command(after_help = HELP)]
    Verify(VerifyArgs),
}

/// Where the sources are (every URL an option: proxies and internal mirrors).
#[derive(Debug, Clone, clap::Args)]
pub struct SourceArgs {
    /// The GitHub releases of Kubernetes.
    #[arg(long = "releases-url", value_name = "URL", default_value = refresh::DEFAULT_RELEASES_URL)]
    releases_url: String,
    /// The official Kubernetes CVE feed (JSON Feed).
    #[arg(long = "cve-feed-url", value_name = "URL", default_value = refresh::DEFAULT_CVE_FEED_URL)]
    cve_feed_url: String,
    /// The CVE record of each feed entry; {id} stands for the CVE id.
    #[arg(long = "cve-record-url", value_name = "TEMPLATE", default_value = refresh::DEFAULT_CVE_RECORD_URL)]
    cve_record_url: String,
    /// The end-of-life table (k8s-eol-data.yml).
    #[arg(long = "eol-url", value_name = "URL", default_value = refresh::DEFAULT_EOL_URL)]
    eol_url: String,
}

impl SourceArgs {
    fn sources(&self) -> Sources {
        Sources {
            releases: self.releases_url.clone(),
            cve_feed: self.cve_feed_url.clone(),
            cve_record: self.cve_record_url.clone(),
            eol: self.eol_url.clone(),
        }
    }
}

/// How to fetch.
#[derive(Debug, Clone, clap::Args)]
pub struct FetchArgs {
    /// Per-request timeout in seconds.
    #[arg(long = "fetch-timeout", value_name = "SECS", default_value_t = refresh::DEFAULT_TIMEOUT_SECS)]
    fetch_timeout: u64,
    /// PEM file of CA certificates trusted besides the system's (an internal mirror or
    /// TLS-intercepting proxy) [default: none]. Proxies come from HTTPS_PROXY/HTTP_PROXY/NO_PROXY.
    #[arg(long = "fetch-cacert", value_name = "FILE")]
    fetch_cacert: Option<PathBuf>,
}

/// What the data file is called, numbered and how long it is valid.
#[derive(Debug, Clone, clap::Args)]
struct FileArgs {
    /// Data file name (the rollback state is kept per name).
    #[arg(long, default_value = DEFAULT_NAME)]
    name: String,
    /// Sequence number; must grow with every data file of that name [default: generated_at
    /// as Unix time, so a daily refresh always grows].
    #[arg(long, value_name = "N")]
    sequence: Option<u64>,
    /// Days from generated_at until the file expires (refused after that).
    #[arg(long = "expires-days", value_name = "DAYS", default_value_t = DEFAULT_EXPIRY_DAYS)]
    expires_days: u32,
    /// Sign with this OpenSSH ed25519 key (a key of the root's data role; passphrase from
    /// SCS_CERT_KEY_PASSPHRASE or a prompt) [default: write it unsigned; see `data sign`].
    #[arg(long = "sign-key", value_name = "KEY")]
    sign_key: Option<PathBuf>,
    /// Output data file (.scsd).
    #[arg(long, short = 'o', value_name = "FILE")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct RefreshArgs {
    #[command(flatten)]
    file: FileArgs,
    #[command(flatten)]
    sources: SourceArgs,
    #[command(flatten)]
    fetch: FetchArgs,
}

#[derive(Debug, clap::Args)]
struct BuildArgs {
    /// The GitHub releases answer (JSON array), as downloaded.
    #[arg(long, value_name = "FILE")]
    releases: PathBuf,
    /// The official CVE feed (index.json), as downloaded.
    #[arg(long = "cve-feed", value_name = "FILE")]
    cve_feed: PathBuf,
    /// Directory with one CVE record <CVE id>.json per feed entry.
    #[arg(long = "cve-records", value_name = "DIR")]
    cve_records: PathBuf,
    /// k8s-eol-data.yml.
    #[arg(long, value_name = "FILE")]
    eol: PathBuf,
    /// When the files were downloaded (RFC 3339 or YYYY-MM-DD) [default: now].
    #[arg(long = "generated-at", value_name = "TIME")]
    generated_at: Option<String>,
    #[command(flatten)]
    file: FileArgs,
    /// The URLs the files came from (the datasets name them).
    #[command(flatten)]
    sources: SourceArgs,
}

#[derive(Debug, clap::Args)]
struct SignArgs {
    /// The data file.
    file: PathBuf,
    /// OpenSSH ed25519 private key.
    #[arg(long, value_name = "KEY", required_unless_present = "signature")]
    key: Option<PathBuf>,
    /// Add a signature made elsewhere: `ssh-keygen -Y sign -f KEY -n scs-cert-data manifest.json`
    /// (`scs-cert bundle extract FILE --out DIR` writes manifest.json).
    #[arg(long, value_name = "SIG", conflicts_with = "key")]
    signature: Option<PathBuf>,
    /// Write the signed file here [default: replace FILE].
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct VerifyArgs {
    /// The data file.
    file: PathBuf,
    #[command(flatten)]
    trust: TrustFlags,
    /// Do not record the accepted sequence in the state directory.
    #[arg(long = "no-state-update")]
    no_state_update: bool,
    /// Refuse (exit 43) a file generated more than HOURS ago.
    #[arg(long = "max-data-age", value_name = "HOURS", default_value_t = DEFAULT_MAX_AGE_HOURS)]
    max_data_age: u64,
}

/// The data flags of `scs-cert run`.
#[derive(Debug, Clone, clap::Args)]
pub struct RunDataArgs {
    /// Signed data file (.scsd) the checks may read (`data:<name>:read`), verified against
    /// --root before anything runs (with --refresh-data: where the fresh file is written).
    #[arg(long = "data", value_name = "FILE", env = "SCS_CERT_DATA")]
    pub data: Option<PathBuf>,
    /// Data generated more than HOURS before the run is stale: a check reading it gets a
    /// `stale` error and cannot PASS.
    #[arg(long = "max-data-age", value_name = "HOURS", default_value_t = DEFAULT_MAX_AGE_HOURS)]
    pub max_data_age: u64,
    /// On a connected machine: fetch the data first (as `data refresh`), sign it with
    /// --data-sign-key, write it to --data FILE, then use it; the report says so.
    #[arg(long = "refresh-data", requires = "data_sign_key")]
    pub refresh_data: bool,
    /// Key that signs the refreshed data file (a key of the root's data role).
    #[arg(long = "data-sign-key", value_name = "KEY")]
    pub data_sign_key: Option<PathBuf>,
    #[command(flatten)]
    pub sources: SourceArgs,
    #[command(flatten)]
    pub fetch: FetchArgs,
}

/// `scs-cert data ...`.
pub(crate) fn cmd_data(args: DataArgs) -> ExitCode {
    let r = match args.command {
        DataCommand::Refresh(a) => refresh_cmd(a),
        DataCommand::Build(a) => build_cmd(a),
        DataCommand::Sign(a) => sign_cmd(a),
        DataCommand::Verify(a) => verify_cmd(a),
    };
    r.unwrap_or_else(|code| code)
}

fn file_error(e: DataFileError) -> ExitCode {
    match e {
        DataFileError::Refused(r) => refused(&r),
        other => bad_input(other),
    }
}

fn fetch_error(e: refresh::RefreshError) -> ExitCode {
    eprintln!("scs-cert: error: data refresh failed, nothing written: {e}");
    ExitCode::from(EXIT_FETCH)
}

/// Build, sign and write a data file from `datasets` generated at `generated_at`.
fn write_data_file(
    f: &FileArgs,
    generated_at: chrono::DateTime<chrono::Utc>,
    datasets: Vec<file::DatasetInput>,
) -> Result<(Vec<u8>, file::DataManifest, Option<String>), ExitCode> {
    let input = file::BuildInput {
        name: f.name.clone(),
        sequence: f
            .sequence
            .unwrap_or_else(|| generated_at.timestamp().max(0) as u64),
        generated_at,
        expires: generated_at + chrono::Duration::days(i64::from(f.expires_days.max(1))),
        datasets,
    };
    let (mut bytes, manifest) = file::build(&input).map_err(file_error)?;
    let mut signer = None;
    if let Some(k) = &f.sign_key {
        let key = keys::load_private_key_interactive(k).map_err(bad_input)?;
        let (signed, id) =
            file::add_signature(&bytes, Some(&key), None).map_err(|r| refused(&r))?;
        bytes = signed;
        signer = Some(id);
    }
    scs_cert_host::fsutil::write_atomic(&f.out, &bytes).map_err(bad_input)?;
    Ok((bytes, manifest, signer))
}

fn summary(out: &Path, m: &file::DataManifest, signer: Option<&str>) {
    println!(
        "wrote {}: data file {} sequence {}, generated {}, expires {}, {} datasets, manifest sha256 {}, {}",
        out.display(),
        m.name,
        m.sequence,
        m.generated_at,
        m.expires,
        m.datasets.len(),
        scs_cert_host::bundle::manifest::sha256_hex(&m.to_bytes()),
        match signer {
            Some(id) => format!("signed by {id}"),
            None => "UNSIGNED (sign it with `scs-cert data sign`)".to_string(),
        }
    );
}

fn refresh_cmd(a: RefreshArgs) -> Result<ExitCode, ExitCode> {
    let rt = super::runtime()?;
    let generated_at = chrono::Utc::now();
    let datasets = rt
        .block_on(refresh::fetch(
            &a.sources.sources(),
            &fetch_options(&a.fetch),
        ))
        .map_err(fetch_error)?;
    let (_, m, signer) = write_data_file(&a.file, generated_at, datasets)?;
    summary(&a.file.out, &m, signer.as_deref());
    Ok(ExitCode::SUCCESS)
}

fn fetch_options(f: &FetchArgs) -> FetchOptions {
    FetchOptions {
        timeout: Duration::from_secs(f.fetch_timeout.max(1)),
        cacert: f.fetch_cacert.clone(),
    }
}

fn build_cmd(a: BuildArgs) -> Result<ExitCode, ExitCode> {
    let generated_at = match &a.generated_at {
        None => chrono::Utc::now(),
        Some(t) => parse_rfc3339_utc(t).map_err(|e| bad_input(format!("--generated-at: {e}")))?,
    };
    let files = Downloaded {
        releases: a.releases.clone(),
        cve_feed: a.cve_feed.clone(),
        cve_records: a.cve_records.clone(),
        eol: a.eol.clone(),
    };
    let datasets = refresh::from_files(&a.sources.sources(), &files).map_err(bad_input)?;
    let (_, m, signer) = write_data_file(&a.file, generated_at, datasets)?;
    summary(&a.file.out, &m, signer.as_deref());
    Ok(ExitCode::SUCCESS)
}

fn sign_cmd(a: SignArgs) -> Result<ExitCode, ExitCode> {
    let bytes = verify::read_data_file(&a.file).map_err(file_error)?;
    let (key, armored) = match (&a.key, &a.signature) {
        (Some(k), _) => (
            Some(keys::load_private_key_interactive(k).map_err(bad_input)?),
            None,
        ),
        (None, Some(s)) => (
            None,
            Some(
                std::fs::read_to_string(s)
                    .map_err(|e| bad_input(format!("{}: {e}", s.display())))?,
            ),
        ),
        (None, None) => return Err(bad_input("give --key KEY or --signature SIG")),
    };
    let (signed, id) =
        file::add_signature(&bytes, key.as_ref(), armored.as_deref()).map_err(|r| refused(&r))?;
    let out = a.out.as_ref().unwrap_or(&a.file);
    scs_cert_host::fsutil::write_atomic(out, &signed).map_err(bad_input)?;
    println!("signed {} by {id}", out.display());
    Ok(ExitCode::SUCCESS)
}

/// The staleness rule of `data verify` and `run`: one line naming the refresh command.
fn stale_line(
    v: &VerifiedData,
    now: chrono::DateTime<chrono::Utc>,
    max_hours: u64,
) -> Option<String> {
    let age = now - v.manifest.generated();
    (age > chrono::Duration::hours(max_hours as i64)).then(|| {
        format!(
            "data file {} sequence {} was generated at {}, {} h ago; data older than {max_hours} h is stale (--max-data-age); run `{REFRESH_COMMAND}` on a connected machine",
            v.manifest.name,
            v.manifest.sequence,
            v.manifest.generated_at,
            age.num_hours()
        )
    })
}

fn verify_cmd(a: VerifyArgs) -> Result<ExitCode, ExitCode> {
    let Some(root) = &a.trust.root else {
        return Err(bad_input(
            "no trust root: pass --root ROOT_JSON (or set SCS_CERT_ROOT)",
        ));
    };
    let opts = verify_options(&a.trust, !a.no_state_update)?;
    let v = verify::verify_file(&a.file, root, &opts).map_err(file_error)?;
    for o in &v.overrides {
        eprintln!("scs-cert: WARNING: OVERRIDE IN EFFECT: {o}");
    }
    let m = &v.manifest;
    println!("data file:        {}", a.file.display());
    println!("name:             {}", m.name);
    println!("sequence:         {}", m.sequence);
    println!("generated at:     {}", m.generated_at);
    println!("expires:          {}", m.expires);
    println!("manifest sha256:  {}", v.manifest_sha256);
    println!("archive sha256:   {}", v.archive_sha256);
    println!(
        "authorized by:    {} ({}), root version {}",
        v.authorized_by,
        v.signers.join(", "),
        v.root_version
    );
    println!("datasets:");
    for d in v.datasets.values() {
        println!(
            "  {}: sha256 {}, {} bytes, {}; from {}",
            d.name,
            d.sha256,
            d.content.len(),
            describe(&d.name, &d.content),
            d.sources.join(", ")
        );
    }
    if let Some(line) = stale_line(&v, opts.now, a.max_data_age) {
        eprintln!("scs-cert: refused: stale: {line}");
        return Ok(ExitCode::from(EXIT_STALE));
    }
    println!(
        "verified: every rule passed (checked at {})",
        fmt_time(opts.now)
    );
    Ok(ExitCode::SUCCESS)
}

/// What a known dataset holds, in a few words.
fn describe(name: &str, content: &[u8]) -> String {
    use scs_cert_host::data::format;
    let count = |key: &str| {
        serde_json::from_slice::<serde_json::Value>(content)
            .ok()
            .and_then(|v| v[key].as_array().map(Vec::len))
            .unwrap_or(0)
    };
    match name {
        format::RELEASES => format!("{} releases", count("releases")),
        format::CVES => format!("{} CVEs", count("cves")),
        format::EOL => format!("{} branches", count("branches")),
        _ => "unknown format".to_string(),
    }
}

/// `run`: the data of the run (refreshed first with --refresh-data), verified against the
/// root with the bundle's trust flags; `None` without --data.
pub(crate) fn data_for_run(
    a: &RunDataArgs,
    trust: &TrustFlags,
    replaying: bool,
) -> Result<Option<Arc<RunData>>, ExitCode> {
    let Some(path) = &a.data else {
        if a.refresh_data {
            return Err(bad_input(
                "--refresh-data needs --data FILE (where the fresh data file is written)",
            ));
        }
        return Ok(None);
    };
    if replaying {
        return Err(bad_input(
            "--data and --replay exclude each other: a replay serves the data its transcript recorded",
        ));
    }
    let Some(root) = &trust.root else {
        return Err(bad_input(
            "--data needs --root ROOT_JSON (the data file is verified against the trust root)",
        ));
    };
    if a.refresh_data {
        let rt = super::runtime()?;
        let generated_at = chrono::Utc::now();
        let datasets = rt
            .block_on(refresh::fetch(
                &a.sources.sources(),
                &fetch_options(&a.fetch),
            ))
            .map_err(fetch_error)?;
        let f = FileArgs {
            name: DEFAULT_NAME.to_string(),
            sequence: None,
            expires_days: DEFAULT_EXPIRY_DAYS,
            sign_key: a.data_sign_key.clone(),
            out: path.clone(),
        };
        let (bytes, m, _) = write_data_file(&f, generated_at, datasets)?;
        eprintln!(
            "scs-cert: refreshed the data: wrote {} (data file {} sequence {}, {} bytes)",
            path.display(),
            m.name,
            m.sequence,
            bytes.len()
        );
    }
    let opts = verify_options(trust, true)?;
    let v = verify::verify_file(path, root, &opts).map_err(file_error)?;
    for o in &v.overrides {
        eprintln!("scs-cert: WARNING: OVERRIDE IN EFFECT: {o} (recorded in the report)");
    }
    let run = RunData {
        max_age: chrono::Duration::hours(a.max_data_age as i64),
        now: opts.now,
        refreshed: a.refresh_data,
        file: Some(Arc::new(v)),
    };
    if let Some(f) = &run.file
        && let Some(line) = stale_line(f, run.now, a.max_data_age)
    {
        eprintln!(
            "scs-cert: WARNING: {line}; checks that read it get a `stale` error and cannot pass"
        );
    }
    Ok(Some(Arc::new(run)))
}

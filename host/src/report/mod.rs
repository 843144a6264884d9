//! The certification report and the console summary.
//!
//! Owns: the report model (the structure of the official
//! `scs-compliance-check.py -o` report, docs/official-behaviour.md b.1, plus our
//! provenance block under `run.scs_cert`), its YAML serialisation (written
//! here by hand so that `checked_at` is a YAML timestamp, `reference_date` a
//! date and every string safely quoted, with every character a YAML 1.1 loader
//! refuses or reads as a line break escaped, see [`yaml_str`]; the monitor reads
//! it with a YAML 1.1 loader), its JSON serialisation ([`json`]), multi-document files and reading
//! report files back ([`combine`]; the runner configuration is
//! [`crate::plan::config`]), SSHSIG signing and verification of the exact
//! report bytes ([`signed`], on top of [`crate::trust`]), the spool directory
//! that keeps every signed report until the monitor confirmed it ([`spool`]),
//! the monitor credentials ([`token`]), the upload to the compliance monitor
//! ([`upload`]), what the monitor holds for a subject, for `run --due` ([`status`]), the delivery of a run's reports in order: file, signature,
//! spool, upload ([`deliver`]), writing report files atomically (through
//! [`crate::fsutil`]), and the per-version console text of a.3 step 7.
//!
//! Must never: include credentials or tokens; drop a result; write a partial
//! report file (writes go to a temporary file that is renamed); delete a
//! signed report before the monitor confirmed it.

pub mod combine;
pub mod deliver;
pub mod json;
pub mod signed;
pub mod spool;
pub mod status;
pub mod token;
pub mod upload;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

/// Errors writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Disk full, permissions, missing directory.
    #[error("{path}: cannot write the report: {message}")]
    Write {
        /// Target file.
        path: String,
        /// Cause.
        message: String,
    },
    /// JSON holds one report; a combined run has several.
    #[error(
        "--format json holds exactly one report (the monitor accepts one JSON document per upload), \
         but this run made {count}; use --format yaml (multi-document) or run one subject and scope"
    )]
    JsonNeedsOne {
        /// Reports made.
        count: usize,
    },
    /// The YAML did not read back (a bug in the emitter).
    #[error("internal error: the report YAML does not read back as JSON: {0}")]
    Json(String),
}

/// How a report file is serialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// YAML, one or more documents each starting with `---` (the default,
    /// as the official tool).
    #[default]
    Yaml,
    /// JSON, exactly one document.
    Json,
}

impl Format {
    /// The upload content type the monitor expects (c.1 step 2).
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Yaml => "application/x-signed-yaml",
            Format::Json => "application/x-signed-json",
        }
    }

    /// `yaml` or `json`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
        }
    }

    /// Guess from the bytes: JSON when the first non-blank byte is `{`,
    /// else YAML.
    pub(crate) fn detect(bytes: &[u8]) -> Format {
        match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Format::Json,
            _ => Format::Yaml,
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "yaml" | "yml" => Ok(Format::Yaml),
            "json" => Ok(Format::Json),
            _ => Err(format!("unknown report format {s:?}: use yaml or json")),
        }
    }
}

/// sha256 (hex) of one report as its own YAML document (the results history keeps it, so
/// that a report file can be matched with its history row).
pub fn document_sha256(report: &Report) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(combine::combine_yaml(
        std::slice::from_ref(report),
    )))
}

/// The bytes of a report file holding `reports`: YAML is the documents
/// concatenated (each starts with `---`, exactly as the official runner
/// concatenates its per-job reports, b.2); JSON is one document and refuses
/// more than one report.
pub(crate) fn render(reports: &[Report], format: Format) -> Result<Vec<u8>, ReportError> {
    match format {
        Format::Yaml => Ok(combine::combine_yaml(reports).into_bytes()),
        Format::Json => match reports {
            [one] => Ok(one.to_json()?.into_bytes()),
            _ => Err(ReportError::JsonNeedsOne {
                count: reports.len(),
            }),
        },
    }
}

/// `spec` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecRef {
    /// Scope uuid.
    pub uuid: String,
    /// Scope name.
    pub name: String,
    /// Scope URL.
    pub url: Option<String>,
}

/// One invocation: one component run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// uuid4.
    pub id: String,
    /// What ran: component id, version, digest and the testcase ids.
    pub cmd: String,
    /// Testcase id → 1 / 0 / -1, in order.
    pub results: Vec<(String, i8)>,
    /// 0 when the component ran to completion, 1 when the host aborted it
    /// (trap, timeout, memory, preflight).
    pub rc: i32,
    /// Line-protocol lines `<id>: PASS|FAIL|ABORT`.
    pub stdout: Vec<String>,
    /// Log lines `LEVEL: message`.
    pub stderr: Vec<String>,
}

impl Invocation {
    /// Lines of stdout+stderr whose lower-case form starts with `word` (a.3 step 5).
    pub fn count(&self, word: &str) -> usize {
        self.stdout
            .iter()
            .chain(self.stderr.iter())
            .filter(|l| l.to_lowercase().starts_with(word))
            .count()
    }
}

/// Provenance of one component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentProvenance {
    /// Check id.
    pub id: String,
    /// Check version.
    pub version: String,
    /// sha256 of the component bytes.
    pub sha256: String,
    /// Capabilities granted.
    pub capabilities: Vec<String>,
    /// Invocation id it ran as.
    pub invocation: String,
    /// Requests it made.
    pub requests: u64,
    /// Wall time in ms.
    pub elapsed_ms: u64,
}

/// Our provenance block (`run.scs_cert`). The monitor ignores unknown keys.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Provenance {
    /// scs-cert version.
    pub host_version: String,
    /// WIT package.
    pub wit: String,
    /// Where the checks came from (directory or bundle).
    pub checks_source: String,
    /// Components.
    pub components: Vec<ComponentProvenance>,
    /// Testcases of the selected versions that no component implements.
    pub unimplemented: Vec<String>,
    /// Overrides used (`--allow-expired`, `--allow-downgrade`), one line each.
    pub overrides: Vec<String>,
    /// How the write checks ran and why (`concurrent: ...` / `one after another: ...`); live
    /// runs only.
    pub write_checks: Option<String>,
    /// The transcript this run recorded, or replayed from.
    pub transcript: Option<TranscriptRef>,
    /// The verified signed bundle the checks came from; `None`: an unsigned
    /// development checks directory (`--checks DIR`, `checks_trust: unsigned-dev`).
    pub bundle: Option<BundleProvenance>,
    /// Contributor bundles whose checks ran beside `bundle`'s (`--bundle` more than once);
    /// empty: none (no `contributions` block is written).
    pub contributions: Vec<BundleProvenance>,
    /// The signed data file the checks could read (`--data`); `None`: the run had none (no
    /// `data` block is written).
    pub data: Option<DataProvenance>,
    /// The Kubernetes cluster the checks reached (live) or the transcript recorded (replay);
    /// `None`: the run had no cluster (no `cluster` block is written).
    pub cluster: Option<ClusterProvenance>,
    /// The OpenStack cloud the run authenticated to (live) or the transcript recorded
    /// (replay); `None`: the run had no cloud (no `cloud` block is written).
    pub cloud: Option<CloudProvenance>,
}

/// `run.scs_cert.cloud`: who the run was on which cloud, never a credential: what
/// `report reproduce` binds the transcript to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudProvenance {
    /// The identity (Keystone) endpoint of the catalog, for the run's interface and region.
    pub identity: String,
    /// Project name.
    pub project: String,
    /// Project id.
    pub project_id: String,
    /// User name.
    pub user: String,
    /// Region (empty: none chosen).
    pub region: String,
}

impl CloudProvenance {
    /// `(field, value)` in the report's order.
    pub fn fields(&self) -> [(&'static str, &str); 5] {
        [
            ("identity", &self.identity),
            ("project", &self.project),
            ("project_id", &self.project_id),
            ("user", &self.user),
            ("region", &self.region),
        ]
    }
}

/// `run.scs_cert.cluster`: which Kubernetes cluster the run certified. Only the API server and
/// the kubeconfig context, never a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterProvenance {
    /// The API server URL.
    pub server: String,
    /// The kubeconfig context.
    pub context: String,
}

/// `run.scs_cert.data`: which signed data file the run used, how old it was, who signed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataProvenance {
    /// Data file name.
    pub name: String,
    /// Its sequence.
    pub sequence: u64,
    /// sha256 of the exact manifest bytes (the signed object).
    pub manifest_sha256: String,
    /// sha256 of the .scsd file.
    pub archive_sha256: String,
    /// When the sources were fetched (RFC 3339).
    pub generated_at: String,
    /// Its expiry (RFC 3339).
    pub expires: String,
    /// Key ids whose signatures counted (empty on a replay).
    pub signers: Vec<String>,
    /// `data`, `bundle` (a root without a data role) or `unverified` (a replay).
    pub authorized_by: String,
    /// Trust root version that authorized it (0 on a replay).
    pub root_version: u64,
    /// (dataset name, sha256) of every dataset it holds.
    pub datasets: Vec<(String, String)>,
    /// `--max-data-age` in hours (live runs).
    pub max_age_hours: Option<i64>,
    /// The data's age at the run's start, in hours (live runs).
    pub age_hours: Option<i64>,
    /// Whether the run fetched the data itself (`run --refresh-data`).
    pub refreshed: bool,
    /// `live` or `replayed`.
    pub mode: String,
    /// sha256 of the transcript's data record (`data.json`) this run wrote or replayed.
    pub record_sha256: Option<String>,
}

/// `run.scs_cert.bundle`: which signed bundle ran, who signed it, under which root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleProvenance {
    /// Bundle name.
    pub name: String,
    /// Bundle version.
    pub version: String,
    /// Bundle sequence.
    pub sequence: u64,
    /// sha256 of the exact manifest bytes (the signed object).
    pub manifest_sha256: String,
    /// sha256 of the .scsb file.
    pub archive_sha256: String,
    /// Bundle expiry (RFC 3339).
    pub expires: String,
    /// Key ids (`SHA256:...`) whose signatures counted.
    pub signers: Vec<String>,
    /// `bundle` (the bundle role) or `delegation:<names>`.
    pub authorized_by: String,
    /// Trust root version that authorized it.
    pub root_version: u64,
}

/// `run.scs_cert.transcript`: which transcript belongs to this run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TranscriptRef {
    /// sha256 of the transcript's manifest.json (which lists every file's sha256).
    pub sha256: String,
    /// Transcript format version.
    pub version: u32,
    /// `recorded` or `replayed`.
    pub mode: String,
}

/// A complete report document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Scope identity.
    pub spec: SpecRef,
    /// Naive local time, microseconds (as the official `datetime.now()`).
    pub checked_at: chrono::NaiveDateTime,
    /// Reference date.
    pub reference_date: chrono::NaiveDate,
    /// Subject.
    pub subject: String,
    /// run.uuid.
    pub run_uuid: String,
    /// argv.
    pub argv: Vec<String>,
    /// `-a` assignments only.
    pub assignment: BTreeMap<String, String>,
    /// `-S`.
    pub sections: Option<Vec<String>>,
    /// `-V`.
    pub forced_version: Option<String>,
    /// `-t`.
    pub forced_tests: Option<String>,
    /// Invocations in run order.
    pub invocations: Vec<Invocation>,
    /// Ours.
    pub provenance: Provenance,
}

impl Report {
    /// All results, testcase id → value (later invocations win).
    pub fn results(&self) -> BTreeMap<String, i8> {
        let mut m = BTreeMap::new();
        for inv in &self.invocations {
            for (k, v) in &inv.results {
                m.insert(k.clone(), *v);
            }
        }
        m
    }
}

/// `8-4-4-4-12` lower-case hex: a plain scalar in YAML (not a number or date).
fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts.iter().map(|p| p.len()).eq([8, 4, 4, 4, 12])
        && parts.iter().all(|p| {
            p.chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
        })
        && s.chars().any(|c| c.is_ascii_alphabetic())
}

/// Whether `s` can be written as a plain YAML scalar and read back as the
/// same string by YAML 1.1 and 1.2 loaders.
fn plain_ok(s: &str) -> bool {
    if s.is_empty() || s.len() > 200 {
        return false;
    }
    if is_uuid(s) {
        return true;
    }
    let first = s.as_bytes()[0];
    if !(first.is_ascii_alphabetic() || first == b'/' || first == b'.' || first == b'_') {
        return false;
    }
    // `.5`, `.5e3`: floats to YAML 1.1 and 1.2. `...` at the start of a line ends a document.
    let second = s.as_bytes().get(1).copied().unwrap_or(b' ');
    if first == b'.' && (second.is_ascii_digit() || second == b'_') || s.starts_with("...") {
        return false;
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./+@=,():".contains(c) || c == ' ')
    {
        return false;
    }
    if s.ends_with(' ') || s.ends_with(':') || s.contains(": ") || s.contains(" #") {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    const RESERVED: &[&str] = &[
        "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~", ".nan", ".inf", "-.inf",
    ];
    if RESERVED.contains(&lower.as_str()) {
        return false;
    }
    // Anything that looks like a number, date or sexagesimal stays quoted.
    !s.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Whether YAML loaders read `c` literally inside a double-quoted scalar of a report: PyYAML's
/// printable set (`\x09 \x0A \x0D \x20-\x7E \x85 \xA0-\uD7FF \uE000-\uFFFD
/// \U00010000-\U0010FFFF`, the same in libyaml and ruamel.yaml) less tab, CR, LF, U+0085, U+2028
/// and U+2029 (line breaks to YAML 1.1, folded inside a scalar) and the byte-order mark. The
/// rest, C0 and C1 controls, DEL, U+FFFE and U+FFFF, is escaped; all of it is in the BMP and
/// none of it a surrogate (a Rust string holds none: a lone surrogate in a cloud's JSON is a
/// serde_json error, or U+FFFD after a lossy decoder).
pub(crate) fn literal_ok(c: char) -> bool {
    matches!(c,
        '\u{20}'..='\u{7e}'
        | '\u{a0}'..='\u{d7ff}'
        | '\u{e000}'..='\u{fffd}'
        | '\u{10000}'..='\u{10ffff}')
        && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
}

/// A YAML scalar for `s`: plain when safe, else double-quoted, with every character that
/// [`literal_ok`] refuses escaped (`\n`, `\t`, `\r`, else `\uXXXX`), so that YAML 1.1 and 1.2
/// loaders (PyYAML, ruamel.yaml, libyaml, yaml_serde) read back exactly `s`. NUL is the one
/// exception: it becomes U+FFFD, because the monitor stores reports in PostgreSQL, whose `text`
/// and `jsonb` cannot hold it (the upload would fail on it).
pub(crate) fn yaml_str(s: &str) -> String {
    if plain_ok(s) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\0' => out.push(char::REPLACEMENT_CHARACTER),
            c if literal_ok(c) => out.push(c),
            c if (c as u32) <= 0xffff => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// YAML loaders (PyYAML, libyaml) read an implicit key of at most 1024 characters; this many
/// bytes is below that for any key.
const IMPLICIT_KEY_MAX: usize = 1000;

/// A block-mapping key at `indent`, up to and including its `:` (the caller writes the value
/// or the newline). A key too long to be implicit is written explicitly: `? KEY`, newline,
/// `:` at the same indent.
fn key(out: &mut String, indent: &str, k: &str) {
    let k = yaml_str(k);
    if k.len() <= IMPLICIT_KEY_MAX {
        let _ = write!(out, "{indent}{k}:");
    } else {
        let _ = write!(out, "{indent}? {k}\n{indent}:");
    }
}

fn opt(s: &Option<String>) -> String {
    s.as_deref()
        .map(yaml_str)
        .unwrap_or_else(|| "null".to_string())
}

fn list(out: &mut String, indent: &str, items: &[String]) {
    if items.is_empty() {
        out.push_str(" []\n");
        return;
    }
    out.push('\n');
    for i in items {
        let _ = writeln!(out, "{indent}- {}", yaml_str(i));
    }
}

impl Report {
    /// The YAML document, starting with `---`.
    pub fn to_yaml(&self) -> String {
        let mut o = String::with_capacity(4096);
        o.push_str("---\nspec:\n");
        let _ = writeln!(o, "  uuid: {}", yaml_str(&self.spec.uuid));
        let _ = writeln!(o, "  name: {}", yaml_str(&self.spec.name));
        let _ = writeln!(o, "  url: {}", opt(&self.spec.url));
        let _ = writeln!(
            o,
            "checked_at: {}",
            self.checked_at.format("%Y-%m-%d %H:%M:%S%.6f")
        );
        let _ = writeln!(
            o,
            "reference_date: {}",
            self.reference_date.format("%Y-%m-%d")
        );
        let _ = writeln!(o, "subject: {}", yaml_str(&self.subject));
        o.push_str("run:\n");
        let _ = writeln!(o, "  uuid: {}", yaml_str(&self.run_uuid));
        o.push_str("  argv:");
        list(&mut o, "  ", &self.argv);
        if self.assignment.is_empty() {
            o.push_str("  assignment: {}\n");
        } else {
            o.push_str("  assignment:\n");
            for (k, v) in &self.assignment {
                key(&mut o, "    ", k);
                let _ = writeln!(o, " {}", yaml_str(v));
            }
        }
        match &self.sections {
            None => o.push_str("  sections: null\n"),
            Some(s) => {
                o.push_str("  sections:");
                list(&mut o, "  ", s);
            }
        }
        let _ = writeln!(o, "  forced_version: {}", opt(&self.forced_version));
        let _ = writeln!(o, "  forced_tests: {}", opt(&self.forced_tests));
        if self.invocations.is_empty() {
            o.push_str("  invocations: {}\n");
        } else {
            o.push_str("  invocations:\n");
        }
        for inv in &self.invocations {
            key(&mut o, "    ", &inv.id);
            o.push('\n');
            let _ = writeln!(o, "      id: {}", yaml_str(&inv.id));
            let _ = writeln!(o, "      cmd: {}", yaml_str(&inv.cmd));
            if inv.results.is_empty() {
                o.push_str("      results: {}\n");
            } else {
                o.push_str("      results:\n");
                for (k, v) in &inv.results {
                    key(&mut o, "        ", k);
                    let _ = writeln!(o, " {v}");
                }
            }
            let _ = writeln!(o, "      rc: {}", inv.rc);
            o.push_str("      stdout:");
            list(&mut o, "      ", &inv.stdout);
            o.push_str("      stderr:");
            list(&mut o, "      ", &inv.stderr);
            for w in ["info", "warning", "error", "critical"] {
                let _ = writeln!(o, "      {w}: {}", inv.count(w));
            }
        }
        let p = &self.provenance;
        o.push_str("  scs_cert:\n");
        let _ = writeln!(o, "    host_version: {}", yaml_str(&p.host_version));
        let _ = writeln!(o, "    wit: {}", yaml_str(&p.wit));
        let _ = writeln!(o, "    checks_source: {}", yaml_str(&p.checks_source));
        if p.components.is_empty() {
            o.push_str("    components: []\n");
        } else {
            o.push_str("    components:\n");
        }
        for c in &p.components {
            let _ = writeln!(o, "    - id: {}", yaml_str(&c.id));
            let _ = writeln!(o, "      version: {}", yaml_str(&c.version));
            let _ = writeln!(o, "      sha256: {}", yaml_str(&c.sha256));
            o.push_str("      capabilities:");
            list(&mut o, "      ", &c.capabilities);
            let _ = writeln!(o, "      invocation: {}", yaml_str(&c.invocation));
            let _ = writeln!(o, "      requests: {}", c.requests);
            let _ = writeln!(o, "      elapsed_ms: {}", c.elapsed_ms);
        }
        o.push_str("    unimplemented:");
        list(&mut o, "    ", &p.unimplemented);
        o.push_str("    overrides:");
        list(&mut o, "    ", &p.overrides);
        if let Some(w) = &p.write_checks {
            let _ = writeln!(o, "    write_checks: {}", yaml_str(w));
        }
        if let Some(c) = &p.cloud {
            o.push_str("    cloud:\n");
            for (k, v) in c.fields() {
                let _ = writeln!(o, "      {k}: {}", yaml_str(v));
            }
        }
        if let Some(c) = &p.cluster {
            o.push_str("    cluster:\n");
            let _ = writeln!(o, "      server: {}", yaml_str(&c.server));
            let _ = writeln!(o, "      context: {}", yaml_str(&c.context));
        }
        match &p.transcript {
            None => o.push_str("    transcript: null\n"),
            Some(t) => {
                o.push_str("    transcript:\n");
                let _ = writeln!(o, "      sha256: {}", yaml_str(&t.sha256));
                let _ = writeln!(o, "      version: {}", t.version);
                let _ = writeln!(o, "      mode: {}", yaml_str(&t.mode));
            }
        }
        let bundle_fields = |o: &mut String, b: &BundleProvenance, first: &str, indent: &str| {
            let _ = writeln!(o, "{first}name: {}", yaml_str(&b.name));
            let _ = writeln!(o, "{indent}version: {}", yaml_str(&b.version));
            let _ = writeln!(o, "{indent}sequence: {}", b.sequence);
            let _ = writeln!(
                o,
                "{indent}manifest_sha256: {}",
                yaml_str(&b.manifest_sha256)
            );
            let _ = writeln!(o, "{indent}archive_sha256: {}", yaml_str(&b.archive_sha256));
            let _ = writeln!(o, "{indent}expires: {}", yaml_str(&b.expires));
            o.push_str(&format!("{indent}signers:"));
            list(o, indent, &b.signers);
            let _ = writeln!(o, "{indent}authorized_by: {}", yaml_str(&b.authorized_by));
            let _ = writeln!(o, "{indent}root_version: {}", b.root_version);
        };
        match &p.bundle {
            None => o.push_str("    checks_trust: unsigned-dev\n    bundle: null\n"),
            Some(b) => {
                o.push_str("    checks_trust: signed-bundle\n    bundle:\n");
                bundle_fields(&mut o, b, "      ", "      ");
            }
        }
        if !p.contributions.is_empty() {
            o.push_str("    contributions:\n");
            for b in &p.contributions {
                bundle_fields(&mut o, b, "    - ", "      ");
            }
        }
        if let Some(d) = &p.data {
            o.push_str("    data:\n");
            let _ = writeln!(o, "      name: {}", yaml_str(&d.name));
            let _ = writeln!(o, "      sequence: {}", d.sequence);
            let _ = writeln!(o, "      manifest_sha256: {}", yaml_str(&d.manifest_sha256));
            let _ = writeln!(o, "      archive_sha256: {}", yaml_str(&d.archive_sha256));
            let _ = writeln!(o, "      generated_at: {}", yaml_str(&d.generated_at));
            let _ = writeln!(o, "      expires: {}", yaml_str(&d.expires));
            o.push_str("      signers:");
            list(&mut o, "      ", &d.signers);
            let _ = writeln!(o, "      authorized_by: {}", yaml_str(&d.authorized_by));
            let _ = writeln!(o, "      root_version: {}", d.root_version);
            if d.datasets.is_empty() {
                o.push_str("      datasets: []\n");
            } else {
                o.push_str("      datasets:\n");
            }
            for (name, sha) in &d.datasets {
                let _ = writeln!(o, "      - name: {}", yaml_str(name));
                let _ = writeln!(o, "        sha256: {}", yaml_str(sha));
            }
            if let Some(h) = d.max_age_hours {
                let _ = writeln!(o, "      max_age_hours: {h}");
            }
            if let Some(h) = d.age_hours {
                let _ = writeln!(o, "      age_hours: {h}");
            }
            let _ = writeln!(o, "      refreshed: {}", d.refreshed);
            let _ = writeln!(o, "      mode: {}", yaml_str(&d.mode));
            match &d.record_sha256 {
                Some(r) => {
                    let _ = writeln!(o, "      record_sha256: {}", yaml_str(r));
                }
                None => o.push_str("      record_sha256: null\n"),
            }
        }
        o
    }

    /// Write the YAML atomically: temporary file in the same directory,
    /// fsync, rename, fsync of the directory.
    pub fn write(&self, path: &Path) -> Result<(), ReportError> {
        write_file(path, self.to_yaml().as_bytes())
    }
}

/// Write `bytes` to `path` atomically and durably (see [`crate::fsutil::write_atomic`]); the
/// error names the report file.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    crate::fsutil::write_atomic(path, bytes).map_err(|e| ReportError::Write {
        path: path.display().to_string(),
        message: e.source.to_string(),
    })
}

/// A testcase id's description and URL, for the console summary.
pub type Describe<'a> = dyn Fn(&str) -> (Option<String>, Option<String>) + 'a;

/// Render the console summary of one version (a.3 step 7):
/// `<header>:` then per target its verdict line and the FAILED / ABORTED /
/// MISSING lists with each testcase's description and URL.
pub(crate) fn console_version(
    header: &str,
    targets: &[crate::scope::TargetSummary],
    describe: &Describe<'_>,
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{header}:");
    for t in targets {
        let _ = writeln!(o, "- {}: {}", t.target, t.verdict_text());
        let missing: &[String] = if t.show_missing { &t.missing } else { &[] };
        for (label, ids) in [
            ("FAILED", &t.failed[..]),
            ("ABORTED", &t.aborted[..]),
            ("MISSING", missing),
        ] {
            if ids.is_empty() {
                continue;
            }
            let _ = writeln!(o, "  - {label}:");
            for id in ids {
                let _ = writeln!(o, "    - {id}:");
                let (desc, url) = describe(id);
                if let Some(d) = desc {
                    let _ = writeln!(o, "      > {}", d.trim());
                }
                if let Some(u) = url {
                    let _ = writeln!(o, "      > {}", u.trim());
                }
            }
        }
    }
    o
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn sample() -> Report {
        Report {
            spec: SpecRef {
                uuid: "50393e6f-2ae1-4c5c-a62c-3b75f2abef3f".into(),
                name: "SCS-compatible IaaS".into(),
                url: Some("https://example.org/x.yaml".into()),
            },
            checked_at: chrono::NaiveDate::from_ymd_opt(2026, 11, 29)
                .and_then(|d| d.and_hms_micro_opt(19, 58, 50, 525935))
                .unwrap(),
            reference_date: chrono::NaiveDate::from_ymd_opt(2026, 11, 29).unwrap(),
            subject: "mycloud".into(),
            run_uuid: "a8fa9c7e-900b-4888-96e4-ac25b3f922e9".into(),
            argv: vec![
                "scs-cert".into(),
                "run".into(),
                "-a".into(),
                "os_cloud=x".into(),
            ],
            assignment: [("os_cloud".to_string(), "x".to_string())].into(),
            sections: None,
            forced_version: None,
            forced_tests: Some("scs-0100".into()),
            invocations: vec![Invocation {
                id: "ef29ba9a-1aba-4305-a483-68d8eb67b23c".into(),
                cmd: "scs-0100-flavor-naming 0.1.0".into(),
                results: vec![
                    ("scs-0100-syntax-check".into(), 1),
                    ("scs-0100-semantics-check".into(), -1),
                ],
                rc: 0,
                stdout: vec![
                    "scs-0100-syntax-check: PASS".into(),
                    "scs-0100-semantics-check: FAIL".into(),
                ],
                stderr: vec![
                    "ERROR: Flavor SCS-4V-8 overpromises: \"cpu\"".into(),
                    "info: yes".into(),
                ],
            }],
            provenance: Provenance {
                host_version: "0.1.0".into(),
                wit: "scs:check@0.1.0".into(),
                checks_source: "/x".into(),
                components: vec![],
                unimplemented: vec!["scs-0101-entropy-avail".into()],
                overrides: vec![],
                write_checks: None,
                transcript: None,
                bundle: None,
                data: None,
                cluster: None,
                cloud: None,
                contributions: Vec::new(),
            },
        }
    }

    #[test]
    fn yaml_shape_and_roundtrip() {
        let r = sample();
        let y = r.to_yaml();
        assert!(
            y.starts_with("---\nspec:\n  uuid: 50393e6f-2ae1-4c5c-a62c-3b75f2abef3f\n"),
            "{y}"
        );
        assert!(y.contains("\nchecked_at: 2026-11-29 19:58:50.525935\n"));
        assert!(y.contains("\nreference_date: 2026-11-29\n"));
        assert!(y.contains("      error: 1\n      critical: 0\n"));
        assert!(y.contains("      info: 1\n"));
        let v: serde_json::Value = yaml_serde::from_str(&y).unwrap();
        assert_eq!(v["subject"], "mycloud");
        let inv = &v["run"]["invocations"]["ef29ba9a-1aba-4305-a483-68d8eb67b23c"];
        assert_eq!(inv["results"]["scs-0100-semantics-check"], -1);
        assert_eq!(
            inv["stderr"][0],
            "ERROR: Flavor SCS-4V-8 overpromises: \"cpu\""
        );
        assert_eq!(inv["stdout"][1], "scs-0100-semantics-check: FAIL");
        assert_eq!(v["run"]["forced_version"], serde_json::Value::Null);
        assert_eq!(v["run"]["assignment"]["os_cloud"], "x");
        assert_eq!(r.results()["scs-0100-syntax-check"], 1);
    }

    #[test]
    fn cluster_block_names_server_and_context_only_when_there_is_a_cluster() {
        let mut r = sample();
        assert!(!r.to_yaml().contains("cluster:"), "no cluster, no block");
        r.provenance.cluster = Some(ClusterProvenance {
            server: "https://127.0.0.1:6443".into(),
            context: "prod: eu".into(),
        });
        let y = r.to_yaml();
        let v: serde_json::Value = yaml_serde::from_str(&y).unwrap();
        let c = &v["run"]["scs_cert"]["cluster"];
        assert_eq!(c["server"], "https://127.0.0.1:6443", "{y}");
        assert_eq!(c["context"], "prod: eu", "{y}");
        assert_eq!(c.as_object().map(|o| o.len()), Some(2), "{y}");
    }

    #[test]
    fn json_has_the_yaml_structure_and_order() {
        let r = sample();
        let j = r.to_json().unwrap();
        let from_json: serde_json::Value = serde_json::from_str(&j).unwrap();
        let from_yaml: serde_json::Value = yaml_serde::from_str(&r.to_yaml()).unwrap();
        assert_eq!(from_json, from_yaml);
        let pos = |k: &str| {
            j.find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k}"))
        };
        let order = ["spec", "checked_at", "reference_date", "subject", "run"];
        assert!(order.windows(2).all(|w| pos(w[0]) < pos(w[1])), "{j}");
        assert!(pos("uuid") < pos("name"), "{j}");
        assert!(pos("unimplemented") < pos("overrides"), "{j}");
        assert!(
            j.contains("\"checked_at\": \"2026-11-29 19:58:50.525935\""),
            "{j}"
        );
        assert!(j.ends_with("}\n"));
        assert_eq!(
            render(std::slice::from_ref(&r), Format::Json).unwrap(),
            j.into_bytes()
        );
    }

    #[test]
    fn several_reports_make_one_multi_document_yaml() {
        let a = sample();
        let mut b = sample();
        b.subject = "other".into();
        b.run_uuid = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9".into();
        let bytes = render(&[a.clone(), b.clone()], Format::Yaml).unwrap();
        let text = String::from_utf8(bytes).unwrap();
        assert_eq!(text, format!("{}{}", a.to_yaml(), b.to_yaml()));
        assert_eq!(text.matches("\n---\n").count() + 1, 2);
        let docs = combine::summarize_bytes(text.as_bytes(), Format::Yaml, "r").unwrap();
        assert_eq!(docs[1].subject, "other");
        assert_eq!(docs[0].results, docs[1].results);
        let e = render(&[a, b], Format::Json).unwrap_err().to_string();
        assert!(e.contains("--format json holds exactly one report"), "{e}");
    }

    #[test]
    fn scalars_that_must_be_quoted() {
        for s in [
            "yes",
            "No",
            "null",
            "",
            "1.5",
            "2026-01-01",
            "a: b",
            "x #y",
            "-a",
            "ä",
            "line\nbreak",
            "ERROR: x",
            "@x",
            "0x10",
            "a:",
            "https://x.org/a:b",
            "12345678-1234-1234-1234-123456789012",
            "1e10",
            "50393e6f-2ae1-4c5c-a62c-3b75f2abef3f",
        ] {
            let y = yaml_str(s);
            let back: String = yaml_serde::from_str(&y).unwrap();
            assert_eq!(back, s, "{s:?} -> {y}");
        }
        assert_eq!(yaml_str("scs-0100-syntax-check"), "scs-0100-syntax-check");
        assert_eq!(yaml_str("yes"), "\"yes\"");
        assert_eq!(yaml_str("https://x.org/a"), "https://x.org/a");
        assert_eq!(
            yaml_str("12345678-1234-1234-1234-123456789012"),
            "\"12345678-1234-1234-1234-123456789012\""
        );
    }

    /// What PyYAML (and libyaml, ruamel.yaml) accept unescaped in a report and do not read as
    /// a line break: its printable set less U+0085, U+2028, U+2029 (and a byte-order mark);
    /// a newline only ends a line.
    fn loader_safe(c: char) -> bool {
        matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
            && !matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}')
    }

    /// `s` as a value, a key and a list item of a document, read back by yaml_serde and, through
    /// the JSON writer, by serde_json: each must be `want`.
    fn reads_back(s: &str, want: &str) -> Result<(), String> {
        let y = yaml_str(s);
        if let Some(c) = y.chars().find(|c| !loader_safe(*c) || *c == '\n') {
            return Err(format!("{s:?} -> {y}: unescaped {c:?}"));
        }
        let back: String = yaml_serde::from_str(&y).map_err(|e| format!("{s:?} -> {y}: {e}"))?;
        if back != want {
            return Err(format!("{s:?} -> {y} reads back as {back:?}, not {want:?}"));
        }
        let mut doc = String::from("---\nm:\n");
        key(&mut doc, "  ", s);
        let _ = writeln!(doc, " {y}\nl:\n- {y}");
        let expected = serde_json::json!({"m": {want: want}, "l": [want]});
        let v: serde_json::Value =
            yaml_serde::from_str(&doc).map_err(|e| format!("{s:?} in\n{doc}: {e}"))?;
        if v != expected {
            return Err(format!("{s:?} in\n{doc}reads back as {v}"));
        }
        let j = json::yaml_to_json(&doc)?;
        if let Some(c) = j.chars().find(|c| !loader_safe(*c)) {
            return Err(format!("{s:?} -> JSON {j}: unescaped {c:?}"));
        }
        let v: serde_json::Value = serde_json::from_str(&j).map_err(|e| format!("{j}: {e}"))?;
        if v != expected {
            return Err(format!("{s:?} -> JSON {j} reads back as {v}"));
        }
        Ok(())
    }

    #[test]
    fn control_characters_line_separators_and_noncharacters_are_escaped() {
        let lone = String::from_utf16_lossy(&[0x61, 0xD800, 0x62, 0xDFFF]);
        for (s, want) in [
            (
                "C1 \u{80}\u{81}\u{9b}[31m\u{9f}",
                "C1 \u{80}\u{81}\u{9b}[31m\u{9f}",
            ),
            ("NEL\u{85}", "NEL\u{85}"),
            ("a\u{2028}b\u{2029}c", "a\u{2028}b\u{2029}c"),
            ("\u{fffe}\u{ffff}", "\u{fffe}\u{ffff}"),
            ("del\u{7f}esc\u{1b}bell\u{7}", "del\u{7f}esc\u{1b}bell\u{7}"),
            ("\u{feff}bom", "\u{feff}bom"),
            ("tab\tcr\rlf\n", "tab\tcr\rlf\n"),
            (
                "edges \u{a0}\u{d7ff}\u{e000}\u{fffd}\u{10000}\u{10ffff}",
                "edges \u{a0}\u{d7ff}\u{e000}\u{fffd}\u{10000}\u{10ffff}",
            ),
            (lone.as_str(), "a\u{fffd}b\u{fffd}"),
            // NUL: valid YAML and JSON, but the monitor's PostgreSQL cannot store it.
            ("nul\u{0}", "nul\u{fffd}"),
            // Plain-looking floats (YAML 1.1 and 1.2 read `.5` as 0.5).
            (".5", ".5"),
            (".5e3", ".5e3"),
            (".Inf", ".Inf"),
        ] {
            reads_back(s, want).unwrap();
        }
        // Keys past YAML's 1024-character limit for implicit keys.
        let long = format!("k\u{85}{}", "x".repeat(1500));
        reads_back(&long, &long).unwrap();
    }

    mod props {
        use super::*;
        use proptest::prelude::*;
        use proptest::test_runner::{Config, RngSeed};

        /// Characters with a meaning to YAML, the ranges a loader refuses unescaped, their
        /// edges, and arbitrary ones.
        fn tricky_char() -> impl Strategy<Value = char> {
            let from = |r: std::ops::RangeInclusive<u32>| {
                r.prop_filter_map("a scalar value", char::from_u32)
            };
            prop_oneof![
                4 => any::<char>(),
                2 => from(0..=0x20),
                2 => from(0x7f..=0xa0),
                2 => prop::sample::select(vec![
                    '\u{2028}', '\u{2029}', '\u{feff}', '\u{fffe}', '\u{ffff}', '\u{fffd}',
                    '\u{d7ff}', '\u{e000}', '\u{10000}', '\u{10ffff}', '\u{1fffe}',
                ]),
                3 => prop::sample::select(" \"'\\:#-?|>&*!%@`{}[],.~=<+/_".chars().collect::<Vec<_>>()),
                3 => prop::char::range('0', '9'),
                4 => prop::char::range('a', 'z'),
            ]
        }

        /// Words a YAML 1.1 or 1.2 loader resolves to something else than a string when plain,
        /// or that start a YAML token.
        const WORDS: &[&str] = &[
            ".5",
            ".5e3",
            "._1",
            ".inf",
            ".NaN",
            "yes",
            "No",
            "on",
            "OFF",
            "y",
            "null",
            "~",
            "true",
            "0x1f",
            "0o17",
            "1e3",
            "1_000",
            "12:30",
            "2026-01-01",
            "- ",
            ": ",
            " #",
            "---",
            "...",
            "? ",
            "&a",
            "*a",
            "!!str",
            "%YAML",
            "<<",
            "=",
        ];

        /// UTF-16 code units: characters, such words, and now and then a lone surrogate (as
        /// `\ud800` in a cloud's JSON escapes one); or one word alone.
        fn utf16() -> impl Strategy<Value = Vec<u16>> {
            let unit = prop_oneof![
                8 => tricky_char().prop_map(|c| c.encode_utf16(&mut [0; 2]).to_vec()),
                2 => prop::sample::select(WORDS).prop_map(|w| w.encode_utf16().collect()),
                1 => (0xd800u16..=0xdfff).prop_map(|u| vec![u]),
            ];
            prop_oneof![
                3 => prop::collection::vec(unit, 0..16).prop_map(|v| v.concat()),
                1 => prop::sample::select(WORDS).prop_map(|w| w.encode_utf16().collect()),
            ]
        }

        proptest! {
            #![proptest_config(Config {
                cases: 300,
                failure_persistence: None,
                rng_seed: RngSeed::Fixed(0x5c5_0008),
                ..Config::default()
            })]

            /// Any string, decoded as a lossy decoder does (a lone surrogate becomes U+FFFD),
            /// reads back as itself (NUL as U+FFFD) from YAML and JSON, as a value, key and
            /// list item; repeated past the implicit-key limit too.
            #[test]
            fn every_string_reads_back(units in utf16()) {
                let s = String::from_utf16_lossy(&units);
                let want = s.replace('\0', "\u{fffd}");
                if let Err(e) = reads_back(&s, &want) {
                    return Err(TestCaseError::fail(e));
                }
                if !s.is_empty() {
                    let n = IMPLICIT_KEY_MAX / s.len() + 1;
                    if let Err(e) = reads_back(&s.repeat(n), &want.repeat(n)) {
                        return Err(TestCaseError::fail(e));
                    }
                }
            }
        }
    }

    #[test]
    fn atomic_write_reports_errors() {
        let e = write_file(Path::new("/proc/nonexistent-dir/x/report.yaml"), b"x").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("/proc/nonexistent-dir/x/report.yaml: cannot write the report"),
            "{e}"
        );
    }
}

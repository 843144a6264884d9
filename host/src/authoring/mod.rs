//! The contributor's path: a new check package from a template ([`new_check`]), its
//! component built reproducibly and validated before anything is signed ([`build_check`]),
//! and the development scope it is tried with ([`scope_for`]). `scs-cert check new|build|test`
//! are these, plus a run (`crate::run`) of the built checks directory.
//!
//! Owns: the templates (Rust with the SDK; Python with componentize-py), the build command
//! lines (cargo for `wasm32-wasip2` with the official components' profile and path remapping;
//! componentize-py with the WIT and the Python SDK this host embeds), and the validation of a
//! built component: the `check.json` rules of bundles and the sandbox's own load check
//! (imports inside the world, the `run` export of the right type).
//!
//! Must never: write into an existing non-empty directory, sign anything (signing is
//! `bundle sign` with the contributor's key), or keep more of a build tool's output than the
//! tail its error message needs.

use crate::bundle::{self, CheckMeta};
use crate::sandbox::{Sandbox, SandboxConfig};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The WIT contract this host is built from, written next to a Python build.
const WIT: &str = include_str!("../../../checks/sdk/wit/check.wit");

/// The Python SDK (checks/python/sdk/scs_check), embedded so a Python check needs only
/// scs-cert and componentize-py.
const PYTHON_SDK: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../../../checks/python/sdk/scs_check/__init__.py"),
    ),
    (
        "errors.py",
        include_str!("../../../checks/python/sdk/scs_check/errors.py"),
    ),
    (
        "fields.py",
        include_str!("../../../checks/python/sdk/scs_check/fields.py"),
    ),
    (
        "log.py",
        include_str!("../../../checks/python/sdk/scs_check/log.py"),
    ),
    (
        "openstack.py",
        include_str!("../../../checks/python/sdk/scs_check/openstack.py"),
    ),
];

/// The componentize-py version the Python path is tested with.
pub const COMPONENTIZE_PY_VERSION: &str = "0.25.1";

/// Bytes of a build tool's output kept for its error message (the tail).
const OUTPUT_TAIL: usize = 4096;

/// Why a contributor command failed (one line each).
#[derive(Debug, thiserror::Error)]
pub enum AuthoringError {
    /// The check id is unusable.
    #[error(
        "check id {0:?}: use scs-NNNN-name (lower-case letters, digits, `-`), e.g. scs-0199-my-rule"
    )]
    Id(String),
    /// The target directory exists and is not empty.
    #[error("{0}: exists and is not empty; choose a new directory (--dir)")]
    Exists(PathBuf),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The directory holds no check package.
    #[error(
        "{0}: no check package here (Cargo.toml or app.py next to check.json); `scs-cert check new` makes one"
    )]
    NotACheck(PathBuf),
    /// A build tool is missing.
    #[error("{tool} not found: {hint}")]
    ToolMissing {
        /// The tool.
        tool: String,
        /// How to get it.
        hint: String,
    },
    /// The build failed.
    #[error("{tool} failed ({status}): {tail}")]
    BuildFailed {
        /// The tool.
        tool: String,
        /// Its exit status.
        status: String,
        /// The last line of its output.
        tail: String,
    },
    /// check.json breaks a rule.
    #[error(transparent)]
    Meta(#[from] bundle::BundleError),
    /// The component would be refused by the host.
    #[error("{0}")]
    Component(String),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> AuthoringError + '_ {
    move |e| AuthoringError::Io {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// The language of a check package.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Rust with `scs-check-sdk` (default).
    Rust,
    /// Python with componentize-py.
    Python,
}

/// Where a new Rust check takes the SDK from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SdkSource {
    /// A path to the SDK package (a checkout of this repository: `checks/sdk`).
    Path(PathBuf),
    /// A version from the registry (crates.io), once published.
    Version(String),
}

/// What `check new` makes.
#[derive(Debug, Clone)]
pub struct NewCheck {
    /// Check id (`scs-0199-my-rule`); also the package name and the directory's default name.
    pub id: String,
    /// The directory to create [default: `./<id>`].
    pub dir: PathBuf,
    /// The language [default: Rust].
    pub lang: Lang,
    /// Rust only: the SDK [default: `Version("0.1")`].
    pub sdk: SdkSource,
    /// Rust only: leave out the `[workspace]` table (the package joins an enclosing
    /// workspace, as the checks of this repository do) [default: false, a package of its own].
    pub in_workspace: bool,
}

/// The standard of a check id (`scs-0199-my-rule` → `scs-0199`), if it has the form.
pub fn standard_of(id: &str) -> Option<String> {
    let mut parts = id.splitn(3, '-');
    let (scs, num, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let ok = scs == "scs"
        && num.len() == 4
        && num.bytes().all(|b| b.is_ascii_digit())
        && !rest.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ok.then(|| format!("scs-{num}"))
}

/// Write a new check package (see [`NewCheck`]); returns the files written.
pub fn new_check(n: &NewCheck) -> Result<Vec<PathBuf>, AuthoringError> {
    let standard = standard_of(&n.id).ok_or_else(|| AuthoringError::Id(n.id.clone()))?;
    if n.dir.exists() {
        let empty = std::fs::read_dir(&n.dir)
            .map_err(io(&n.dir))?
            .next()
            .is_none();
        if !empty {
            return Err(AuthoringError::Exists(n.dir.clone()));
        }
    }
    let testcase = format!("{standard}-flavors-listed");
    let uuid = uuid::Uuid::new_v4().to_string();
    let sdk = match &n.sdk {
        SdkSource::Path(p) => format!("{{ path = {:?} }}", p.display().to_string()),
        SdkSource::Version(v) => format!("{v:?}"),
    };
    let fill = |t: &str| {
        t.replace("@ID@", &n.id)
            .replace("@STANDARD@", &standard)
            .replace("@TESTCASE@", &testcase)
            .replace("@UUID@", &uuid)
            .replace("@SDK@", &sdk)
            .replace(
                "@WORKSPACE@",
                if n.in_workspace {
                    ""
                } else {
                    "\n# A package of its own, outside any enclosing workspace.\n[workspace]\n"
                },
            )
            .replace(
                "@MEMORY@",
                match n.lang {
                    Lang::Rust => "64",
                    Lang::Python => "128",
                },
            )
    };
    let mut files: Vec<(&str, String)> = vec![
        (
            "check.json",
            fill(include_str!("templates/check.json.tmpl")),
        ),
        (
            "scope.yaml",
            fill(include_str!("templates/scope.yaml.tmpl")),
        ),
    ];
    match n.lang {
        Lang::Rust => {
            files.push((
                "Cargo.toml",
                fill(include_str!("templates/rust/Cargo.toml.tmpl")),
            ));
            files.push((
                "src/lib.rs",
                fill(include_str!("templates/rust/src/lib.rs.tmpl")),
            ));
        }
        Lang::Python => files.push(("app.py", fill(include_str!("templates/python/app.py.tmpl")))),
    }
    let mut written = Vec::new();
    for (rel, text) in files {
        let p = n.dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&p, text).map_err(io(&p))?;
        written.push(p);
    }
    Ok(written)
}

/// A built and validated check.
#[derive(Debug, Clone)]
pub struct Built {
    /// The check's metadata.
    pub meta: CheckMeta,
    /// `<out>/<id>/component.wasm`.
    pub component: PathBuf,
    /// Its sha256 (hex).
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// The checks directory holding it (`<out>`), usable with `--checks` and `bundle build`.
    pub checks_dir: PathBuf,
}

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// The checks directory to write `<id>/{component.wasm,check.json}` into [default:
    /// `<package>/target/scs-check`].
    pub out: Option<PathBuf>,
    /// `componentize-py` to run for Python checks [default: `componentize-py` on `PATH`].
    pub componentize_py: Option<PathBuf>,
}

/// The package's language: `Cargo.toml` (Rust) or `app.py` (Python), next to `check.json`.
fn lang_of(dir: &Path) -> Result<Lang, AuthoringError> {
    if !dir.join("check.json").is_file() {
        return Err(AuthoringError::NotACheck(dir.to_path_buf()));
    }
    if dir.join("Cargo.toml").is_file() {
        Ok(Lang::Rust)
    } else if dir.join("app.py").is_file() {
        Ok(Lang::Python)
    } else {
        Err(AuthoringError::NotACheck(dir.to_path_buf()))
    }
}

/// Build the check package in `dir` for `wasm32-wasip2`, validate its check.json and the
/// component as the host would load it, and put both into a checks directory.
///
/// Rust: `cargo build --locked` when a `Cargo.lock` exists (else cargo writes one: commit it),
/// release profile with the official components' settings (`opt-level = "s"`, LTO, one
/// codegen unit, no debug info, `panic = "abort"`) and the package, its path dependencies
/// and the cargo home remapped (`/check`, `/dep/<name>`, `/cargo`), so the same source, lock
/// file and toolchain give the same bytes on any machine and path.
/// Python: componentize-py `--stub-wasi` with this host's WIT and Python SDK (its builds are
/// not byte-reproducible: sign the file you built and tested).
pub fn build_check(dir: &Path, opts: &BuildOptions) -> Result<Built, AuthoringError> {
    let dir = dir
        .canonicalize()
        .map_err(|_| AuthoringError::NotACheck(dir.to_path_buf()))?;
    let lang = lang_of(&dir)?;
    let meta_path = dir.join("check.json");
    let meta_bytes = std::fs::read(&meta_path).map_err(io(&meta_path))?;
    let meta: CheckMeta =
        serde_json::from_slice(&meta_bytes).map_err(|e| bundle::BundleError::Meta {
            path: meta_path.clone(),
            message: format!("not a valid check.json: {e}"),
        })?;
    bundle::validate_meta(&meta, &meta_path, &meta.id)?;
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| dir.join("target/scs-check"));
    // absolute: the Python build runs in a temporary directory
    let out = std::path::absolute(&out).map_err(io(&out))?;
    let target = out.join(&meta.id);
    std::fs::create_dir_all(&target).map_err(io(&target))?;
    let component = target.join("component.wasm");
    match lang {
        Lang::Rust => build_rust(&dir, &meta, &component)?,
        Lang::Python => build_python(&dir, &component, opts)?,
    }
    let wasm = std::fs::read(&component).map_err(io(&component))?;
    if wasm.len() > bundle::MAX_COMPONENT_BYTES as usize {
        return Err(AuthoringError::Component(format!(
            "{}: {} bytes, more than a bundle takes ({} bytes)",
            component.display(),
            wasm.len(),
            bundle::MAX_COMPONENT_BYTES
        )));
    }
    let sha256 = hex::encode(Sha256::digest(&wasm));
    // the user's compile cache: the run that `check test` makes next finds the entry
    let sandbox = Sandbox::new(SandboxConfig::default())
        .map_err(|e| AuthoringError::Component(e.to_string()))?;
    sandbox
        .load(&meta.id, &wasm, &sha256)
        .map_err(|e| AuthoringError::Component(e.to_string()))?;
    let json_out = target.join("check.json");
    std::fs::write(&json_out, &meta_bytes).map_err(io(&json_out))?;
    Ok(Built {
        bytes: wasm.len() as u64,
        meta,
        component,
        sha256,
        checks_dir: out,
    })
}

/// `cargo build` for `wasm32-wasip2` with the official components' release settings.
fn build_rust(dir: &Path, meta: &CheckMeta, component: &Path) -> Result<(), AuthoringError> {
    let target_dir = dir.join("target");
    let mut remaps = vec![format!("--remap-path-prefix={}=/check", dir.display())];
    if let Some(home) = cargo_home() {
        remaps.push(format!("--remap-path-prefix={}=/cargo", home.display()));
    }
    // path dependencies (the SDK of a checkout, `--sdk PATH`) by name, not by where they are
    for (name, path) in path_dependencies(dir) {
        remaps.push(format!(
            "--remap-path-prefix={}=/dep/{name}",
            path.display()
        ));
    }
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(dir)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env("CARGO_ENCODED_RUSTFLAGS", remaps.join("\u{1f}"))
        .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "s")
        .env("CARGO_PROFILE_RELEASE_LTO", "true")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1")
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo")
        .env("CARGO_PROFILE_RELEASE_PANIC", "abort");
    if dir.join("Cargo.lock").is_file() {
        cmd.arg("--locked");
    }
    let lib = meta.id.replace('-', "_");
    let built = target_dir.join(format!("wasm32-wasip2/release/{lib}.wasm"));
    // never copy an earlier build's file: the package must build this one now
    if let Err(e) = std::fs::remove_file(&built)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        return Err(io(&built)(e));
    }
    run_tool(
        cmd,
        "cargo build",
        "cargo comes with Rust (rustup); add the target with `rustup target add wasm32-wasip2`",
    )?;
    std::fs::copy(&built, component).map_err(|e| AuthoringError::Io {
        path: built.clone(),
        message: format!(
            "{e}; the package name in Cargo.toml must be the check id {}",
            meta.id
        ),
    })?;
    Ok(())
}

/// The `path` dependencies of the package in `dir` (`[dependencies]`), canonical, by name;
/// an unreadable manifest has none (cargo reports it then).
fn path_dependencies(dir: &Path) -> Vec<(String, PathBuf)> {
    let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
        return Vec::new();
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    doc.get("dependencies")
        .and_then(toml::Value::as_table)
        .into_iter()
        .flatten()
        .filter_map(|(name, spec)| {
            let p = spec.get("path")?.as_str()?;
            Some((name.clone(), dir.join(p).canonicalize().ok()?))
        })
        .collect()
}

/// The cargo home (`$CARGO_HOME`, else `~/.cargo`), for path remapping.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
}

/// componentize-py with this host's WIT and Python SDK, the check's directory on the path.
fn build_python(dir: &Path, component: &Path, opts: &BuildOptions) -> Result<(), AuthoringError> {
    let work = tempfile::TempDir::new().map_err(io(dir))?;
    let wit = work.path().join("wit");
    std::fs::create_dir_all(&wit).map_err(io(&wit))?;
    std::fs::write(wit.join("check.wit"), WIT).map_err(io(&wit))?;
    let sdk = work.path().join("sdk/scs_check");
    std::fs::create_dir_all(&sdk).map_err(io(&sdk))?;
    for (name, text) in PYTHON_SDK {
        std::fs::write(sdk.join(name), text).map_err(io(&sdk))?;
    }
    let tool = opts
        .componentize_py
        .clone()
        .unwrap_or_else(|| PathBuf::from("componentize-py"));
    let mut cmd = Command::new(&tool);
    cmd.current_dir(work.path())
        .arg("-d")
        .arg(&wit)
        .args(["-w", "check", "componentize", "--stub-wasi", "-p"])
        .arg(work.path().join("sdk"))
        .arg("-p")
        .arg(dir)
        .arg("-o")
        .arg(component)
        .arg("app")
        .env("PYTHONDONTWRITEBYTECODE", "1");
    run_tool(
        cmd,
        "componentize-py",
        &format!(
            "install it with `pip install componentize-py=={COMPONENTIZE_PY_VERSION}` or pass --componentize-py PATH"
        ),
    )
}

/// Run a build tool; its output's last line is the error message when it fails.
fn run_tool(mut cmd: Command, tool: &str, hint: &str) -> Result<(), AuthoringError> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => AuthoringError::ToolMissing {
                tool: tool.to_string(),
                hint: hint.to_string(),
            },
            _ => AuthoringError::BuildFailed {
                tool: tool.to_string(),
                status: "not started".into(),
                tail: e.to_string(),
            },
        })?;
    if out.status.success() {
        return Ok(());
    }
    // the first error of stderr (rustc's `error[E…]`, not cargo's closing "could not
    // compile"), else the last line of stderr, else of stdout
    let err = String::from_utf8_lossy(&out.stderr);
    let first_error = err.lines().map(str::trim).find(|l| {
        (l.starts_with("error") && !l.starts_with("error: could not compile"))
            || l.contains("Error:")
    });
    let stdout = String::from_utf8_lossy(&out.stdout);
    let start = stdout.len().saturating_sub(OUTPUT_TAIL);
    let line = first_error
        .or_else(|| err.lines().map(str::trim).rfind(|l| !l.is_empty()))
        .or_else(|| {
            stdout
                .get(start..)
                .unwrap_or_default()
                .lines()
                .map(str::trim)
                .rfind(|l| !l.is_empty())
        })
        .unwrap_or("no output");
    Err(AuthoringError::BuildFailed {
        tool: tool.to_string(),
        status: out.status.to_string(),
        tail: crate::errtext::bounded_text(line, 300),
    })
}

/// The development scope of a check package: `scope.yaml` next to its check.json.
pub fn scope_for(dir: &Path) -> PathBuf {
    dir.join("scope.yaml")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standards_of_ids() {
        assert_eq!(standard_of("scs-0199-my-rule").as_deref(), Some("scs-0199"));
        for bad in [
            "scs-199-x",
            "scs-0199",
            "scs-0199-",
            "SCS-0199-x",
            "abc-0199-x",
            "scs-0199-a_b",
        ] {
            assert_eq!(standard_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn new_check_writes_a_package_and_never_overwrites() {
        let dir = tempfile::tempdir().expect("dir");
        let n = NewCheck {
            id: "scs-0199-my-rule".into(),
            dir: dir.path().join("scs-0199-my-rule"),
            lang: Lang::Rust,
            sdk: SdkSource::Path(PathBuf::from("/sdk")),
            in_workspace: false,
        };
        let files = new_check(&n).expect("new");
        assert_eq!(files.len(), 4);
        let meta: CheckMeta =
            serde_json::from_slice(&std::fs::read(n.dir.join("check.json")).expect("check.json"))
                .expect("valid check.json");
        bundle::validate_meta(&meta, Path::new("check.json"), "scs-0199-my-rule").expect("rules");
        assert_eq!(meta.testcases, vec!["scs-0199-flavors-listed"]);
        let cargo = std::fs::read_to_string(n.dir.join("Cargo.toml")).expect("Cargo.toml");
        assert!(
            cargo.contains("scs-check-sdk = { path = \"/sdk\" }"),
            "{cargo}"
        );
        assert!(cargo.contains("\n[workspace]\n"), "{cargo}");
        let scope = std::fs::read_to_string(n.dir.join("scope.yaml")).expect("scope");
        crate::scope::Spec::from_yaml(&scope, Path::new("scope.yaml")).expect("a valid scope");
        assert!(matches!(new_check(&n), Err(AuthoringError::Exists(_))));
        let py = NewCheck {
            lang: Lang::Python,
            dir: dir.path().join("py"),
            ..n
        };
        let files = new_check(&py).expect("python");
        assert!(files.iter().any(|f| f.ends_with("app.py")));
        assert!(matches!(
            new_check(&NewCheck {
                id: "My Check".into(),
                dir: dir.path().join("x"),
                ..py
            }),
            Err(AuthoringError::Id(_))
        ));
    }
}

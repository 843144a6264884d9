//! Builds every check component (checks/*) and every test guest
//! (tests/guests/*) for wasm32-wasip2 with a nested cargo, into
//! `<target>/guests`, and assembles check directories there:
//! `<target>/guests/checks/<id>/{component.wasm,check.json}` (the real checks)
//! and `<target>/guests/test-checks/<id>/...` (test guests).
//!
//! A separate target dir is needed because the outer cargo holds the lock on
//! the workspace's own build directory. Host RUSTFLAGS must not leak into the
//! wasm build.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Guest {
    package: String,
    /// (check id, check.json path)
    checks: Vec<(String, PathBuf)>,
    test_only: bool,
}

fn package_name(manifest: &Path) -> String {
    let text = std::fs::read_to_string(manifest)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", manifest.display()));
    text.lines()
        .find_map(|l| {
            let l = l.trim();
            l.strip_prefix("name = \"")
                .and_then(|r| r.strip_suffix('"'))
                .map(str::to_string)
        })
        .unwrap_or_else(|| panic!("{}: no package name", manifest.display()))
}

fn check_id(json: &Path) -> String {
    let text = std::fs::read_to_string(json)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", json.display()));
    // A tiny scan instead of a JSON dependency: "id": "<value>" is the first key.
    let after = text
        .split("\"id\"")
        .nth(1)
        .unwrap_or_else(|| panic!("{}: no \"id\"", json.display()));
    after
        .split('"')
        .nth(1)
        .unwrap_or_else(|| panic!("{}: malformed \"id\"", json.display()))
        .to_string()
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    v
}

fn main() {
    let manifest_dir =
        PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("workspace root")
        .to_path_buf();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root.join(p) })
        .unwrap_or_else(|| root.join("target"));
    let guests_dir = target.join("guests");

    let mut guests = Vec::new();
    for dir in sorted_dirs(&root.join("checks")) {
        let json = dir.join("check.json");
        if json.is_file() {
            guests.push(Guest {
                package: package_name(&dir.join("Cargo.toml")),
                checks: vec![(check_id(&json), json)],
                test_only: false,
            });
        }
    }
    for dir in sorted_dirs(&root.join("tests/guests")) {
        let mut checks = Vec::new();
        let json = dir.join("check.json");
        if json.is_file() {
            checks.push((check_id(&json), json));
        }
        let many = dir.join("checks");
        if many.is_dir() {
            for j in sorted_dirs(&many) {
                if j.extension().is_some_and(|e| e == "json") {
                    checks.push((check_id(&j), j));
                }
            }
        }
        if !checks.is_empty() {
            guests.push(Guest {
                package: package_name(&dir.join("Cargo.toml")),
                checks,
                test_only: true,
            });
        }
    }

    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--locked",
            "--profile",
            "guest",
            "--target",
            "wasm32-wasip2",
        ])
        .arg("--target-dir")
        .arg(&guests_dir);
    for g in &guests {
        cmd.args(["-p", &g.package]);
    }
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    // Reproducible components: panic locations must not name this machine's
    // directories. Workspace paths are already relative and std's are
    // /rustc/<hash>/; remap the cargo home (registry sources) and, to be
    // safe, the workspace root and the guest target dir. Stable `trim-paths`
    // does not exist yet, so --remap-path-prefix it is (docs/bundles-and-trust.md).
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    // rustc applies the last matching prefix: most specific last.
    let mut remaps = Vec::new();
    if let Some(home) = cargo_home {
        remaps.push((home, "/cargo".to_string()));
    }
    remaps.push((root.clone(), "/scs-cert".to_string()));
    remaps.push((guests_dir.clone(), "/scs-cert/target/guests".to_string()));
    let flags: Vec<String> = remaps
        .iter()
        .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display()))
        .collect();
    cmd.env("CARGO_ENCODED_RUSTFLAGS", flags.join("\u{1f}"));
    let status = cmd
        .status()
        .expect("failed to start the nested cargo for the wasm guests");
    if !status.success() {
        panic!(
            "building the wasm guests failed ({status}); is the target installed? run: rustup target add wasm32-wasip2"
        );
    }

    let out_wasm = guests_dir.join("wasm32-wasip2").join("guest");
    for (sub, test_only) in [("checks", false), ("test-checks", true)] {
        let dir = guests_dir.join(sub);
        let _ = std::fs::remove_dir_all(&dir);
        for g in guests.iter().filter(|g| g.test_only == test_only) {
            let wasm = out_wasm.join(format!("{}.wasm", g.package.replace('-', "_")));
            for (id, json) in &g.checks {
                let d = dir.join(id);
                std::fs::create_dir_all(&d).expect("create check dir");
                std::fs::copy(&wasm, d.join("component.wasm"))
                    .unwrap_or_else(|e| panic!("copy {}: {e}", wasm.display()));
                std::fs::copy(json, d.join("check.json")).expect("copy check.json");
            }
        }
    }

    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(
        out.join("paths.rs"),
        format!(
            "/// Directory of the real check components (one sub-directory per check).\n\
             pub const CHECKS_DIR: &str = {:?};\n\
             /// Directory of the test-only guests.\n\
             pub const TEST_CHECKS_DIR: &str = {:?};\n",
            guests_dir.join("checks").display().to_string(),
            guests_dir.join("test-checks").display().to_string(),
        ),
    )
    .expect("write paths.rs");

    for p in ["checks", "tests/guests", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=CARGO_HOME");
}

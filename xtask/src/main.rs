//! Developer commands (`cargo xtask <cmd>`, alias in .cargo/config.toml).
//!
//! - `build`: the host (`scs-cert`), the simulated cloud, and every check
//!   component for wasm32-wasip2 (through tests/artifacts, which assembles
//!   `target/guests/checks/<id>/{component.wasm,check.json}`).
//! - `demo`: build, start the simulated cloud with the compliant fixture, run
//!   the SCS-compatible IaaS scope against it, print the summary, write
//!   `target/demo/report.yaml`, stop the cloud.
//! - `test`: everything CI runs: the wasm target, formatting, clippy, and the
//!   whole test suite.
//!
//! Never: download anything except through cargo/rustup, or leave the
//! simulated cloud running.

use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

fn root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|p| if p.is_absolute() { p } else { root().join(p) })
        .unwrap_or_else(|| root().join("target"))
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn run(mut cmd: Command, what: &str) -> Result<()> {
    eprintln!("xtask: {what}");
    let status = cmd
        .status()
        .with_context(|| format!("cannot start: {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

fn ensure_wasm_target() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to install the wasm32-wasip2 target")?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == "wasm32-wasip2")
    {
        return Ok(());
    }
    let mut c = Command::new("rustup");
    c.args(["target", "add", "wasm32-wasip2"]);
    run(c, "rustup target add wasm32-wasip2")
}

fn build() -> Result<()> {
    ensure_wasm_target()?;
    let mut c = cargo();
    c.args([
        "build",
        "--locked",
        "-p",
        "scs-cert",
        "-p",
        "simcloud",
        "-p",
        "scs-cert-artifacts",
    ]);
    run(c, "cargo build (host, simcloud, check components)")?;
    eprintln!(
        "xtask: host {}, checks {}",
        target_dir().join("debug/scs-cert").display(),
        target_dir().join("guests/checks").display()
    );
    Ok(())
}

struct Cloud(Child);

impl Drop for Cloud {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn demo() -> Result<()> {
    build()?;
    let t = target_dir();
    let demo = t.join("demo");
    std::fs::create_dir_all(&demo).with_context(|| format!("create {}", demo.display()))?;
    let clouds = demo.join("clouds.yaml");
    let fixture = root().join("tests/simcloud/fixtures/compliant.yaml");
    let mut child = Command::new(t.join("debug/simcloud"))
        .arg("--fixture")
        .arg(&fixture)
        .arg("--write-clouds-yaml")
        .arg(&clouds)
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot start target/debug/simcloud")?;
    let stdout = child.stdout.take().context("simcloud stdout")?;
    let cloud = Cloud(child);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .context("simcloud did not print its address")?;
    eprintln!("xtask: {}", first.trim());
    let report = demo.join("report.yaml");
    let started = Instant::now();
    let status = Command::new(t.join("debug/scs-cert"))
        .current_dir(root())
        .env("OS_CLIENT_CONFIG_FILE", &clouds)
        .args([
            "run",
            "scopes/scs-compatible-iaas.yaml",
            "--os-cloud",
            "simcloud",
            "--subject",
            "demo-cloud",
        ])
        .arg("--output")
        .arg(&report)
        .arg("--checks")
        .arg(t.join("guests/checks"))
        .arg("--cache-dir")
        .arg(t.join("component-cache"))
        .arg("--record")
        .arg(demo.join("transcript"))
        .status()
        .context("cannot start scs-cert")?;
    let secs = started.elapsed().as_secs_f64();
    drop(cloud);
    let meaning = match status.code() {
        Some(0) => "PASS",
        Some(1) => "FAIL",
        Some(2) => "ABORT in some testcase",
        Some(3) => "TENTATIVE (testcases without a component yet)",
        _ => "error",
    };
    eprintln!(
        "xtask: demo run took {secs:.2} s, exit code {} ({meaning}); report: {}",
        status.code().unwrap_or(-1),
        report.display()
    );
    if !report.is_file() || matches!(status.code(), Some(4) | Some(5) | None) {
        bail!("the demo run did not produce a report");
    }
    Ok(())
}

fn test() -> Result<()> {
    ensure_wasm_target()?;
    let mut c = cargo();
    c.args(["fmt", "--all", "--", "--check"]);
    run(c, "cargo fmt --check")?;
    let mut c = cargo();
    c.args([
        "clippy",
        "--locked",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run(c, "cargo clippy -D warnings")?;
    let mut c = cargo();
    c.args(["test", "--locked", "--workspace"]);
    run(c, "cargo test --workspace")
}

fn main() -> Result<()> {
    let cmd = std::env::args().nth(1).unwrap_or_default();
    match cmd.as_str() {
        "build" => build(),
        "demo" => demo(),
        "test" => test(),
        _ => {
            eprintln!("usage: cargo xtask build | demo | test");
            std::process::exit(2);
        }
    }
}

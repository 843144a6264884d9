//! Developer commands (`cargo xtask <cmd>`, alias in .cargo/config.toml).
//!
//! - `build`: the host (`scs-cert`), the simulated cloud, and every check
//!   component for wasm32-wasip2 (through tests/artifacts, which assembles
//!   `target/guests/checks/<id>/{component.wasm,check.json}`).
//! - `bundle`: build, then pack every check into a signed dev bundle
//!   `target/bundle/scs-checks.scsb` with a freshly generated local key
//!   (`target/bundle/dev-key`) and the matching local trust root
//!   `target/bundle/root.json`, and verify it like production does.
//! - `demo`: `bundle`, start the simulated cloud with the compliant fixture,
//!   run the SCS-compatible IaaS scope against it from the signed bundle
//!   (`--bundle ... --root ...`), print the summary, write
//!   `target/demo/report.yaml`, stop the cloud.
//! - `test`: everything CI runs: the wasm target, formatting, clippy, and the
//!   whole test suite, then the `realcloud` and the `realkube` tests (the real
//!   services install, build and start in the background while the rest runs).
//! - `realcloud`: the real-OpenStack tier alone: install (cached in
//!   target/realcloud) and start real Keystone, Nova, Glance, Cinder and
//!   Neutron API services on 127.0.0.1 (tests/realcloud/*.sh), run
//!   `cargo test --test realcloud` against them, stop them (also on failure).
//! - `realkube`: the real-Kubernetes tier alone: install the apt packages it
//!   needs (when missing), build kube-apiserver from Debian's source package
//!   (cached per machine in ~/.cache/scs-cert/kube-apiserver, niced), start it
//!   and etcd on 127.0.0.1 (tests/realkube/*.sh, state in target/realkube), run
//!   `cargo test --test realkube` against them, stop them (also on failure).
//! - `fuzz [SECS]`: coverage-guided fuzzing of every parser of untrusted bytes
//!   (fuzz/, cargo-fuzz with libFuzzer; installs cargo-fuzz with `cargo install` when
//!   missing; stable Rust with `RUSTC_BOOTSTRAP=1` for the sanitizer flags): each target
//!   for SECS seconds [default: 60] from its seeds (fuzz/seeds) and recorded corpus
//!   (fuzz/corpus), then the corpus minimised in place (`cargo fuzz cmin`). Not part of `test`; the corpus it leaves is replayed by
//!   the host's tests on stable Rust.
//! - `bench [--runs N] [--realcloud] [--no-write]`: the performance figures (warm and first
//!   runs, release and debug, 1,000 and 10,000 images and flavors, with `--realcloud` the real
//!   OpenStack tier, the installed binary), min/median/max over N runs [default: 5], written
//!   into BENCHMARKS.md between its bench markers (module `bench`).
//!
//! - `deb [--debug]`: the Debian package of the release (or debug) binary, with the systemd
//!   units, default configuration, scope files and man pages, checked by installing it into a
//!   scratch root (module `package`); `target/package/scs-cert_<version>_<arch>.deb`.
//! - `oci [--debug]`: the container image as an OCI layout from the static (musl) binary,
//!   checked with skopeo and umoci (module `package`); `target/package/oci`.
//!
//! Never: download anything except through cargo/rustup (and pip from PyPI
//! for the real-cloud tier, apt and Debian's source archive for the
//! real-Kubernetes tier, apt for the packages of the operations tests in `test`), or leave
//! the simulated or the real services running.

mod bench;
mod package;

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
    ensure_target("wasm32-wasip2")
}

/// `rustup target add TARGET` when it is missing.
fn ensure_target(target: &str) -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .with_context(|| format!("rustup is needed to install the {target} target"))?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == target)
    {
        return Ok(());
    }
    let mut c = Command::new("rustup");
    c.args(["target", "add", target]);
    run(c, &format!("rustup target add {target}"))
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

/// Run the freshly built scs-cert with `args`.
fn scs_cert(args: &[&std::ffi::OsStr], what: &str) -> Result<()> {
    let mut c = Command::new(target_dir().join("debug/scs-cert"));
    c.current_dir(root())
        .args(args)
        .env_remove("SCS_CERT_KEY_PASSPHRASE");
    run(c, what)
}

/// Build, then pack and sign the dev bundle; returns (bundle, root, state dir).
fn bundle() -> Result<(PathBuf, PathBuf, PathBuf)> {
    build()?;
    let t = target_dir();
    let dir = t.join("bundle");
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let key = dir.join("dev-key");
    let root_json = dir.join("root.json");
    let out = dir.join("scs-checks.scsb");
    let state = dir.join("state");
    // A fresh local key and root every time: the dev bundle proves the same
    // verification path as production without any shared secret.
    for p in [key.clone(), dir.join("dev-key.pub"), root_json.clone()] {
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("remove {}", p.display()))?;
        }
    }
    let os = |s: &str| std::ffi::OsString::from(s);
    scs_cert(
        &[
            &os("key"),
            &os("generate"),
            &os("--no-passphrase"),
            &os("--comment"),
            &os("scs-cert-dev-bundle"),
            &os("--out"),
            key.as_os_str(),
        ],
        "scs-cert key generate (dev key)",
    )?;
    let pubkey = dir.join("dev-key.pub");
    scs_cert(
        &[
            &os("trust"),
            &os("init"),
            &os("--out"),
            root_json.as_os_str(),
            &os("--root-key"),
            pubkey.as_os_str(),
            &os("--bundle-key"),
            pubkey.as_os_str(),
            &os("--expires-days"),
            &os("30"),
            &os("--sign"),
            key.as_os_str(),
        ],
        "scs-cert trust init (local dev root)",
    )?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let expires = chrono_free_date(now + 30 * 86_400);
    let mut args: Vec<std::ffi::OsString> = [
        "bundle",
        "build",
        "--name",
        "scs-checks",
        "--sequence",
        &now.to_string(),
        "--expires",
        &expires,
        "--checks",
    ]
    .iter()
    .map(|s| os(s))
    .collect();
    args.push(t.join("guests/checks").into_os_string());
    let mut scopes: Vec<PathBuf> = std::fs::read_dir(root().join("scopes"))
        .context("list scopes/")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    scopes.sort();
    for s in scopes {
        args.push(os("--scope"));
        args.push(s.into_os_string());
    }
    args.extend([os("--trust"), root_json.clone().into_os_string()]);
    args.extend([os("--out"), out.clone().into_os_string()]);
    let refs: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    scs_cert(&refs, "scs-cert bundle build")?;
    scs_cert(
        &[
            &os("bundle"),
            &os("sign"),
            out.as_os_str(),
            &os("--key"),
            key.as_os_str(),
        ],
        "scs-cert bundle sign (dev key)",
    )?;
    scs_cert(
        &[
            &os("bundle"),
            &os("verify"),
            out.as_os_str(),
            &os("--root"),
            root_json.as_os_str(),
            &os("--state-dir"),
            state.as_os_str(),
        ],
        "scs-cert bundle verify",
    )?;
    eprintln!(
        "xtask: signed dev bundle {} (trust root {})",
        out.display(),
        root_json.display()
    );
    Ok((out, root_json, state))
}

/// `YYYY-MM-DD` of a Unix time (civil-from-days; no date crate in xtask).
fn chrono_free_date(secs: u64) -> String {
    let z = (secs / 86_400) as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

struct Cloud(Child);

impl Drop for Cloud {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start the simulated cloud `bin` serving `fixture`, its clouds.yaml written to `clouds`;
/// returns once it listens (it prints the address first). Dropping the handle stops it.
fn start_simcloud(bin: &Path, fixture: &Path, clouds: &Path) -> Result<Cloud> {
    let mut child = Command::new(bin)
        .arg("--fixture")
        .arg(fixture)
        .arg("--write-clouds-yaml")
        .arg(clouds)
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let stdout = child.stdout.take().context("simcloud stdout")?;
    let cloud = Cloud(child);
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .context("simcloud did not print its address")?;
    if !first.contains("listening") {
        bail!("simcloud: {}", first.trim());
    }
    eprintln!("xtask: {}", first.trim());
    Ok(cloud)
}

fn demo() -> Result<()> {
    let (bundle_file, root_json, state) = bundle()?;
    let t = target_dir();
    let demo = t.join("demo");
    std::fs::create_dir_all(&demo).with_context(|| format!("create {}", demo.display()))?;
    let clouds = demo.join("clouds.yaml");
    let fixture = root().join("tests/simcloud/fixtures/compliant.yaml");
    let cloud = start_simcloud(&t.join("debug/simcloud"), &fixture, &clouds)?;
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
        .arg("--bundle")
        .arg(&bundle_file)
        .arg("--root")
        .arg(&root_json)
        .arg("--state-dir")
        .arg(&state)
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

/// Package names of the check components (checks/*/ with a check.json).
fn check_packages() -> Result<Vec<String>> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root().join("checks"))
        .context("list checks/")?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    for d in dirs {
        if !d.join("check.json").is_file() {
            continue;
        }
        let manifest = std::fs::read_to_string(d.join("Cargo.toml"))
            .with_context(|| format!("read {}", d.join("Cargo.toml").display()))?;
        let name = manifest
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("name = \"")
                    .and_then(|r| r.strip_suffix('"'))
            })
            .with_context(|| format!("{}: no package name", d.display()))?;
        out.push(name.to_string());
    }
    Ok(out)
}

/// Free space the whole `cargo xtask test` needs under the target directory on a machine
/// that has not built it yet: the debug build of the workspace and its tests (3.5 GiB
/// without incremental data, which `.ci/run` turns off), the static musl build for the OCI
/// image (1.1 GiB), the real tiers' state (0.8 GiB), the packages, guests and wasm builds
/// (0.7 GiB): 6.1 GiB measured (BENCHMARKS.md), with room to spare.
const COLD_NEED_GIB: u64 = 8;
/// The same when the target directory already holds a debug build of the workspace: new test
/// binaries and changed crates only.
const WARM_NEED_GIB: u64 = 3;

/// Stop before the build when the disk cannot hold it: a build that fills the disk fails
/// half-way with a compiler's I/O error, after minutes, and leaves the disk full for
/// whatever runs next. Reads `df -Pk` (POSIX output) of the nearest existing ancestor of
/// the target directory.
fn ensure_disk_space() -> Result<()> {
    let target = target_dir();
    let mut probe = target.as_path();
    while !probe.exists() {
        match probe.parent() {
            Some(p) => probe = p,
            None => return Ok(()),
        }
    }
    let out = Command::new("df")
        .arg("-Pk")
        .arg(probe)
        .output()
        .context("cannot run df to check the free disk space")?;
    let text = String::from_utf8_lossy(&out.stdout);
    // "Filesystem 1024-blocks Used Available Capacity Mounted-on", then one line
    let Some(free_kib) = text
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok())
    else {
        eprintln!("xtask: cannot read the free disk space from df; going on");
        return Ok(());
    };
    // xtask itself is built before it runs, so target/debug alone says nothing; the host
    // binary is there only after a build of the workspace
    let warm = target.join("debug").join("scs-cert").is_file();
    let need = if warm { WARM_NEED_GIB } else { COLD_NEED_GIB };
    let free_gib = free_kib as f64 / (1024.0 * 1024.0);
    eprintln!(
        "xtask: {free_gib:.1} GiB free at {} ({} build needs about {need} GiB)",
        probe.display(),
        if warm { "a warm" } else { "a first" },
    );
    if free_kib < need * 1024 * 1024 {
        bail!(
            "only {free_gib:.1} GiB free at {}, the {} test run needs about {need} GiB: free \
             space there (`cargo clean` drops old builds), or point CARGO_TARGET_DIR at a \
             larger disk",
            probe.display(),
            if warm { "warm" } else { "first" },
        );
    }
    Ok(())
}

/// Debian packages the tests of issue 15 need (the HTML report in Chromium, the metrics parser,
/// the static build and the image tools, systemd-analyze), each named with the file that shows
/// it is there; the missing ones are installed with apt-get (as root, else with sudo).
fn ensure_apt() -> Result<()> {
    const NEED: &[(&str, &str)] = &[
        ("chromium", "/usr/bin/chromium"),
        (
            "python3-prometheus-client",
            "/usr/lib/python3/dist-packages/prometheus_client/__init__.py",
        ),
        ("musl-tools", "/usr/bin/musl-gcc"),
        ("skopeo", "/usr/bin/skopeo"),
        ("umoci", "/usr/bin/umoci"),
        ("systemd", "/usr/bin/systemd-analyze"),
        ("dpkg-dev", "/usr/bin/dpkg-architecture"),
    ];
    let missing: Vec<&str> = NEED
        .iter()
        .filter(|(_, file)| !Path::new(file).exists())
        .map(|(pkg, _)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let root_user = Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let apt = |args: &[&str]| -> Command {
        let mut c = if root_user {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        c
    };
    run(apt(&["update", "-qq"]), "apt-get update")?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    run(
        apt(&args),
        &format!("apt-get install {}", missing.join(" ")),
    )
}

fn test() -> Result<()> {
    ensure_disk_space()?;
    ensure_wasm_target()?;
    ensure_target(package::MUSL)?;
    ensure_apt()?;
    // The real cloud installs (pip, mostly download) and starts in the background meanwhile;
    // so does the real Kubernetes API server (a cold build of kube-apiserver takes 10-16 min
    // at nice 19, after that it comes from the cache in ~/.cache/scs-cert).
    let mut cloud = Tier::realcloud().prepare()?;
    let mut kube = Tier::realkube().prepare()?;
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
    // The check components, linted for the target they ship on.
    let mut c = cargo();
    c.args(["clippy", "--locked", "--target", "wasm32-wasip2"]);
    for p in check_packages()? {
        c.args(["-p", &p]);
    }
    c.args(["--", "-D", "warnings"]);
    run(
        c,
        "cargo clippy --target wasm32-wasip2 (check components) -D warnings",
    )?;
    let mut c = cargo();
    c.args([
        "clippy",
        "--locked",
        "-p",
        "scs-cert",
        "--test",
        "realcloud",
        "--",
        "-D",
        "warnings",
    ]);
    run(c, "cargo clippy --test realcloud -D warnings")?;
    let mut c = cargo();
    c.args([
        "clippy", "--locked", "-p", "scs-cert", "--test", "realkube", "--", "-D", "warnings",
    ]);
    run(c, "cargo clippy --test realkube -D warnings")?;
    let mut c = cargo();
    c.args(["test", "--locked", "--workspace"]);
    run(c, "cargo test --workspace")?;
    // what the README tells operators: `cargo install --locked --path cli` (here with --debug,
    // to reuse the test build; `cargo xtask bench` installs and measures the release build)
    install_check()?;
    // the Debian package and the container image, from the debug binaries the tests used:
    // installed into a scratch root, and inspected, unpacked and run
    let deb = package::deb(&target_dir().join("debug/scs-cert"))?;
    package::check_deb(&deb)?;
    let layout = package::oci(&package::musl_binary(false)?)?;
    package::check_oci(&layout)?;
    cloud.wait_ready()?;
    cloud.test()?;
    drop(cloud);
    kube.wait_ready()?;
    kube.test()
}

/// A real-services test tier: tests/realcloud (real OpenStack APIs, state in
/// target/realcloud) or tests/realkube (a real kube-apiserver and etcd, state in
/// target/realkube, the binary cached per machine outside the clone). Its scripts (install,
/// for realkube also build, then start) run in the background (own process group, log in
/// `prepare.log`); dropping it ends that if still running and stops the services by pid
/// (`stop.sh`), also when a test fails or xtask bails.
struct Tier {
    /// `realcloud` or `realkube`: the scripts' directory under tests/ and the test target.
    name: &'static str,
    /// What it is, for messages.
    what: &'static str,
    /// The scripts run in order before the tests.
    steps: &'static [&'static str],
    /// The variable that tells the scripts their state directory.
    dir_var: &'static str,
    /// The variable that tells the tests the state directory.
    test_var: &'static str,
    dir: PathBuf,
    prepare: Option<Child>,
}

impl Tier {
    fn realcloud() -> Tier {
        Tier {
            name: "realcloud",
            what: "the real OpenStack services",
            steps: &["install.sh", "start.sh"],
            dir_var: "REALCLOUD_DIR",
            test_var: "SCS_REALCLOUD_DIR",
            dir: target_dir().join("realcloud"),
            prepare: None,
        }
    }

    /// install.sh (apt packages when missing), build.sh (kube-apiserver from Debian's source,
    /// at nice 19; instant when cached in ~/.cache/scs-cert/kube-apiserver), start.sh.
    fn realkube() -> Tier {
        Tier {
            name: "realkube",
            what: "the real Kubernetes API server",
            steps: &["install.sh", "build.sh", "start.sh"],
            dir_var: "REALKUBE_DIR",
            test_var: "SCS_REALKUBE_DIR",
            dir: target_dir().join("realkube"),
            prepare: None,
        }
    }

    /// Start the scripts in the background.
    fn prepare(mut self) -> Result<Tier> {
        use std::os::unix::process::CommandExt;
        let dir = &self.dir;
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let log_path = dir.join("prepare.log");
        let log = std::fs::File::create(&log_path)
            .with_context(|| format!("create {}", log_path.display()))?;
        let scripts = root().join("tests").join(self.name);
        eprintln!(
            "xtask: preparing {} in the background (log: {})",
            self.what,
            log_path.display()
        );
        let script = self
            .steps
            .iter()
            .map(|s| format!(r#"bash "$1/{s}""#))
            .collect::<Vec<_>>()
            .join(" && ");
        let child = Command::new("bash")
            .arg("-c")
            .arg(script)
            .arg("bash")
            .arg(&scripts)
            .env(self.dir_var, dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().context("log file")?)
            .stderr(log)
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start tests/{}/{}", self.name, self.steps[0]))?;
        self.prepare = Some(child);
        Ok(self)
    }

    /// Wait for the scripts; their output goes to stderr.
    fn wait_ready(&mut self) -> Result<()> {
        let Some(mut child) = self.prepare.take() else {
            return Ok(());
        };
        let started = Instant::now();
        let status = child
            .wait()
            .with_context(|| format!("wait for tests/{}/start.sh", self.name))?;
        let log = std::fs::read_to_string(self.dir.join("prepare.log")).unwrap_or_default();
        eprint!("{log}");
        if !status.success() {
            bail!(
                "tests/{}/{} failed ({status}); the output is above",
                self.name,
                self.steps.join(", ")
            );
        }
        eprintln!(
            "xtask: {} ready (waited {:.0} s here)",
            self.what,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    /// `cargo test --test NAME` against the running services. That target has `test =
    /// false`, so `cargo test --workspace` leaves it out and it runs exactly here.
    fn test(&self) -> Result<()> {
        let mut c = cargo();
        // --show-output: the summaries (fidelity, timings) appear in the log
        c.args([
            "test",
            "--locked",
            "-p",
            "scs-cert",
            "--test",
            self.name,
            "--",
            "--show-output",
        ])
        .env(self.test_var, &self.dir);
        run(
            c,
            &format!("cargo test --test {} ({})", self.name, self.what),
        )
    }
}

impl Drop for Tier {
    fn drop(&mut self) {
        if let Some(mut child) = self.prepare.take() {
            // bash, pip, go or a *-manage still running: end the whole group
            let _ = Command::new("kill")
                .args(["-TERM", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
        }
        let mut c = Command::new("bash");
        c.arg(root().join("tests").join(self.name).join("stop.sh"))
            .env(self.dir_var, &self.dir);
        let _ = run(c, &format!("tests/{}/stop.sh", self.name));
    }
}

/// The real-OpenStack tier alone: install (cached) and start the services, run the tests
/// against them, stop them.
fn realcloud() -> Result<()> {
    let mut cloud = Tier::realcloud().prepare()?;
    cloud.wait_ready()?;
    cloud.test()
}

/// The real-Kubernetes tier alone: install the apt packages (when missing), build
/// kube-apiserver (cached per machine), start it with etcd, run the tests, stop them.
fn realkube() -> Result<()> {
    let mut kube = Tier::realkube().prepare()?;
    kube.wait_ready()?;
    kube.test()
}

/// The fuzz targets (fuzz/fuzz_targets/*.rs), by name.
fn fuzz_targets() -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("fuzz/fuzz_targets"))
        .context("list fuzz/fuzz_targets")?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".rs"))
                .map(str::to_string)
        })
        .collect();
    names.sort();
    Ok(names)
}

/// `cargo xtask fuzz [SECS]` (see the module docs).
fn fuzz(secs: Option<&str>) -> Result<()> {
    let secs: u64 = match secs {
        None => 60,
        Some(s) => s
            .parse()
            .with_context(|| format!("fuzz: {s:?} is not a number of seconds"))?,
    };
    let have = Command::new("cargo")
        .args(["fuzz", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        let mut c = Command::new("cargo");
        c.args(["install", "cargo-fuzz", "--locked"]);
        run(c, "cargo install cargo-fuzz")?;
    }
    // The environment of a plain shell: what `cargo xtask` (a `cargo run`) adds for its child
    // (CARGO_*, RUSTC, ...) would change the fuzz build's fingerprints and rebuild everything.
    let fuzz_cmd = |args: &[&str]| {
        let mut c = Command::new("cargo");
        c.arg("fuzz").args(args).current_dir(root()).env_clear();
        for k in [
            "PATH",
            "HOME",
            "CARGO_HOME",
            "RUSTUP_HOME",
            "TMPDIR",
            "TERM",
        ] {
            if let Some(v) = std::env::var_os(k) {
                c.env(k, v);
            }
        }
        c.env("RUSTC_BOOTSTRAP", "1");
        c
    };
    run(fuzz_cmd(&["build", "-O"]), "cargo fuzz build -O")?;
    for t in fuzz_targets()? {
        let time = format!("-max_total_time={secs}");
        // new inputs go to fuzz/corpus/<t> (minimised below); fuzz/seeds/<t> is read only
        let corpus = format!("fuzz/corpus/{t}");
        let seeds = format!("fuzz/seeds/{t}");
        std::fs::create_dir_all(root().join(&corpus)).context("mkdir fuzz/corpus")?;
        run(
            fuzz_cmd(&[
                "run",
                "-O",
                &t,
                &corpus,
                &seeds,
                "--",
                &time,
                "-max_len=65536",
            ]),
            &format!("cargo fuzz run {t} ({secs} s)"),
        )?;
        run(
            fuzz_cmd(&["cmin", "-O", &t]),
            &format!("cargo fuzz cmin {t}"),
        )?;
    }
    Ok(())
}

/// `cargo install --locked --debug --path cli` into a scratch root, and the installed binary
/// runs.
fn install_check() -> Result<()> {
    let t = target_dir();
    let root_dir = t.join("install-check");
    let _ = std::fs::remove_dir_all(&root_dir);
    let mut c = cargo();
    c.args(["install", "--locked", "--debug", "--path", "cli", "--root"])
        .arg(&root_dir)
        .env("CARGO_TARGET_DIR", &t);
    run(
        c,
        "cargo install --locked --debug --path cli (the README's install)",
    )?;
    let bin = root_dir.join("bin/scs-cert");
    let out = Command::new(&bin)
        .arg("--version")
        .output()
        .with_context(|| format!("run {}", bin.display()))?;
    if !out.status.success()
        || !String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION"))
    {
        bail!("the installed scs-cert --version failed");
    }
    eprintln!("xtask: cargo install works; {} runs", bin.display());
    Ok(())
}

/// `--debug` or nothing (release) after `cargo xtask CMD`.
fn release_flag(cmd: &str, flag: Option<&str>) -> Result<bool> {
    match flag {
        None => Ok(true),
        Some("--debug") => Ok(false),
        Some(other) => {
            bail!("{cmd}: unknown argument {other:?}; usage: cargo xtask {cmd} [--debug]")
        }
    }
}

/// `cargo xtask deb [--debug]`.
fn deb(flag: Option<&str>) -> Result<()> {
    let release = release_flag("deb", flag)?;
    let mut c = cargo();
    c.args(["build", "--locked", "-p", "scs-cert"]);
    if release {
        c.arg("--release");
    }
    run(c, "cargo build -p scs-cert")?;
    let bin = target_dir()
        .join(if release { "release" } else { "debug" })
        .join("scs-cert");
    let deb = package::deb(&bin)?;
    package::check_deb(&deb)?;
    let size = std::fs::metadata(&deb).map(|m| m.len()).unwrap_or(0);
    eprintln!(
        "xtask: {} ({:.1} MiB)",
        deb.display(),
        size as f64 / (1024.0 * 1024.0)
    );
    Ok(())
}

/// `cargo xtask oci [--debug]`.
fn oci(flag: Option<&str>) -> Result<()> {
    let release = release_flag("oci", flag)?;
    ensure_target(package::MUSL)?;
    let bin = package::musl_binary(release)?;
    let layout = package::oci(&bin)?;
    package::check_oci(&layout)
}

fn main() -> Result<()> {
    let cmd = std::env::args().nth(1).unwrap_or_default();
    match cmd.as_str() {
        "build" => build(),
        "bundle" => bundle().map(|_| ()),
        "demo" => demo(),
        "test" => test(),
        "realcloud" => realcloud(),
        "realkube" => realkube(),
        "fuzz" => fuzz(std::env::args().nth(2).as_deref()),
        "bench" => bench::bench(&std::env::args().skip(2).collect::<Vec<_>>()),
        "deb" => deb(std::env::args().nth(2).as_deref()),
        "oci" => oci(std::env::args().nth(2).as_deref()),
        _ => {
            eprintln!(
                "usage: cargo xtask build | bundle | demo | test | realcloud | realkube | fuzz [SECS] | \
                 bench [--runs N] [--realcloud] [--no-write] | deb [--debug] | oci [--debug]"
            );
            std::process::exit(2);
        }
    }
}

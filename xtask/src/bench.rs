//! `cargo xtask bench`: the performance figures of BENCHMARKS.md, measured and written there.
//!
//! Owns: building what is measured (the release and debug `scs-cert`, the release `simcloud`,
//! the check components), the runs (whole processes, timed here, peak RSS from GNU time's
//! `%M`), the statistics (min, median, max over `--runs`), and the table between the
//! `<!-- bench:begin -->` and `<!-- bench:end -->` markers of BENCHMARKS.md.
//!
//! Figures (each the read-only IaaS testcases of the fidelity comparison, with
//! `--recommended`, as in tests/realcloud/bench.sh):
//! - warm: the compile cache filled by a warm-up run;
//! - first run: an empty compile cache every run, release and debug build;
//! - scale: simcloud's compliant fixture plus 1,000 and 10,000 generated images and flavors
//!   (wall time, time per added item, peak RSS);
//! - with `--realcloud`: the real OpenStack tier (installed and started like `cargo xtask
//!   realcloud`, stopped afterwards): the same run on the compliant content, its critical-path
//!   bound (process start + token + the slowest chain of version discovery and read, from the
//!   run's own `-v` log), and one run with 1,000 generated images;
//! - 20 subjects (one simcloud, 20 clouds.yaml entries) in one combined run with `--workers`
//!   1, 5 and 20;
//! - install: `cargo install --locked --path cli` into a scratch root (the release binary all
//!   figures use), and the binary's size; the release Debian package and OCI image and their
//!   sizes (`cargo xtask deb`, `cargo xtask oci`).
//!
//! Never: time anything inside a test, or leave a simcloud or the real services running.

use super::{Cloud, Tier, cargo, root, run, target_dir};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The read-only IaaS testcases (the fidelity comparison's selection).
const READ_ONLY: &str = "^(scs-0100-.*|scs-0102-.*|scs-0103-.*|scs-0104-.*|scs-0114-.*|\
                         scs-0115-default-rules|scs-0123-service-.*|scs-0123-storage-apis)$";

/// Subjects of the combined-run figure.
const SUBJECTS: usize = 20;

/// Options of `cargo xtask bench`.
struct Options {
    /// Runs per figure [default: 5].
    runs: usize,
    /// Also measure the real OpenStack tier [default: no].
    realcloud: bool,
    /// Write the table into BENCHMARKS.md [default: yes; `--no-write` only prints].
    write: bool,
}

fn parse(args: &[String]) -> Result<Options> {
    let mut o = Options {
        runs: 5,
        realcloud: false,
        write: true,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                o.runs = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n >= 1)
                    .context("--runs N: a number of runs, at least 1")?;
            }
            "--realcloud" => o.realcloud = true,
            "--no-write" => o.write = false,
            other => bail!(
                "bench: unknown argument {other:?}; usage: cargo xtask bench [--runs N] \
                 [--realcloud] [--no-write]"
            ),
        }
    }
    Ok(o)
}

/// One timed process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    secs: f64,
    rss_kib: u64,
    code: i32,
}

/// min, median and max of some samples.
#[derive(Debug, Clone, Copy)]
struct Stats {
    min: f64,
    median: f64,
    max: f64,
    rss_mib: f64,
    codes_ok: bool,
}

fn stats(samples: &[Sample], ok: &[i32]) -> Stats {
    let mut s: Vec<f64> = samples.iter().map(|x| x.secs).collect();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    let median = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Stats {
        min: s[0],
        median,
        max: s[n - 1],
        rss_mib: samples.iter().map(|x| x.rss_kib).max().unwrap_or(0) as f64 / 1024.0,
        codes_ok: samples.iter().all(|x| ok.contains(&x.code)),
    }
}

/// Run `cmd` under GNU time; its stderr goes to `log`.
fn measure(cmd: &mut Command, log: &Path) -> Result<Sample> {
    let timing = log.with_extension("time");
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
    let mut timed = Command::new("/usr/bin/time");
    timed
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&timing)
        .arg(program)
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).with_context(|| format!("create {}", log.display()))?);
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => timed.env(k, v),
            None => timed.env_remove(k),
        };
    }
    let started = Instant::now();
    let status = timed.status().context("cannot start /usr/bin/time")?;
    let secs = started.elapsed().as_secs_f64();
    let rss_kib = std::fs::read_to_string(&timing)
        .ok()
        .and_then(|t| t.lines().last().and_then(|l| l.trim().parse().ok()))
        .with_context(|| format!("no peak RSS in {}", timing.display()))?;
    Ok(Sample {
        secs,
        rss_kib,
        code: status.code().unwrap_or(-1),
    })
}

/// The release simcloud serving `fixture`; its clouds.yaml at `clouds`.
fn simcloud(fixture: &Path, clouds: &Path) -> Result<Cloud> {
    super::start_simcloud(&target_dir().join("release/simcloud"), fixture, clouds)
}

/// The read-only run of scs-cert `bin` against `cloud` in `clouds`.
fn scope_run(bin: &Path, clouds: &Path, cloud: &str, cache: &Path, out: &Path) -> Command {
    let mut c = Command::new(bin);
    c.env("OS_CLIENT_CONFIG_FILE", clouds)
        .env("SCS_CERT_CACHE_DIR", cache)
        .args([
            "run",
            "scopes/scs-compatible-iaas.yaml",
            "--os-cloud",
            cloud,
        ])
        .args([
            "--subject",
            "bench",
            "--tests",
            READ_ONLY,
            "--recommended",
            "-v",
        ])
        .arg("--checks")
        .arg(target_dir().join("guests/checks"))
        .arg("-o")
        .arg(out);
    c
}

/// `n` timed runs (after one warm-up run when `warm`); with `fresh_cache` each run gets an
/// empty compile cache.
fn series(
    n: usize,
    warm: bool,
    fresh_cache: bool,
    dir: &Path,
    mut make: impl FnMut(&Path) -> Command,
) -> Result<Vec<Sample>> {
    let cache = dir.join("component-cache");
    let log = dir.join("run.log");
    let mut out = Vec::new();
    for i in 0..n + usize::from(warm) {
        if fresh_cache {
            let _ = std::fs::remove_dir_all(&cache);
        }
        let s = measure(&mut make(&cache), &log)?;
        if warm && i == 0 {
            continue;
        }
        out.push(s);
    }
    Ok(out)
}

/// One row of the table.
struct Row {
    figure: String,
    build: &'static str,
    runs: usize,
    stats: Stats,
    note: String,
}

impl Row {
    /// Print the row at once (a long bench keeps what it measured even if a later step
    /// fails) and keep it for the table.
    fn push(self, rows: &mut Vec<Row>) {
        eprintln!("xtask: bench: {}", self.line());
        rows.push(self);
    }

    fn line(&self) -> String {
        format!(
            "| {} | {} | {} | {:.3} s | {:.3} s | {:.3} s | {:.1} MiB | {}{} |",
            self.figure,
            self.build,
            self.runs,
            self.stats.min,
            self.stats.median,
            self.stats.max,
            self.stats.rss_mib,
            self.note,
            if self.stats.codes_ok {
                ""
            } else {
                " **(unexpected exit code)**"
            }
        )
    }
}

/// The compliant fixture plus `n` generated images and `n` generated flavors.
fn scaled_fixture(dir: &Path, n: usize) -> Result<PathBuf> {
    let base = std::fs::read_to_string(root().join("tests/simcloud/fixtures/compliant.yaml"))
        .context("read compliant.yaml")?;
    let path = dir.join(format!("compliant-{n}.yaml"));
    std::fs::write(
        &path,
        format!("{base}\ngenerate: {{images: {n}, flavors: {n}}}\n"),
    )
    .with_context(|| format!("write {}", path.display()))?;
    Ok(path)
}

/// The critical-path bound of a run from its `-v` log: the token's time plus the slowest
/// chain of one service's version discovery and its slowest read (milliseconds).
fn critical_path_ms(log: &str) -> Option<(u64, u64)> {
    let field = |line: &str, key: &str| -> Option<String> {
        let at = line.find(&format!(" {key}="))? + key.len() + 2;
        let rest = &line[at..];
        let end = rest.find(' ').unwrap_or(rest.len());
        Some(rest[..end].trim_matches('"').to_string())
    };
    let auth: u64 = log
        .lines()
        .find(|l| l.contains("authenticated"))
        .and_then(|l| field(l, "ms")?.parse().ok())?;
    let resolved: Vec<(String, u64)> = log
        .lines()
        .filter(|l| l.contains("API version resolved"))
        .filter_map(|l| Some((field(l, "base")?, field(l, "ms")?.parse().ok()?)))
        .collect();
    let chain = log
        .lines()
        .filter(|l| l.contains("openstack call"))
        .filter_map(|l| {
            let url = field(l, "url")?;
            let ms: u64 = field(l, "ms")?.parse().ok()?;
            let disc = resolved
                .iter()
                .filter(|(base, _)| url.starts_with(base.as_str()))
                .map(|(_, d)| *d)
                .max()
                .unwrap_or(0);
            Some(ms + disc)
        })
        .max()
        .unwrap_or(0);
    Some((auth, chain))
}

pub(super) fn bench(args: &[String]) -> Result<()> {
    let o = parse(args)?;
    if !Path::new("/usr/bin/time").is_file() {
        bail!("bench: GNU time is needed for peak memory: apt-get install time");
    }
    super::build()?;
    let t = target_dir();
    let dir = t.join("bench");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    // the release binary measured is the one operators install
    let install_root = dir.join("install");
    let started = Instant::now();
    let mut c = cargo();
    // the checkout's target directory, so later builds reuse what this one compiled
    c.args(["install", "--locked", "--path", "cli", "--root"])
        .arg(&install_root)
        .env("CARGO_TARGET_DIR", &t);
    run(
        c,
        "cargo install --locked --path cli --root target/bench/install",
    )?;
    let install_secs = started.elapsed().as_secs_f64();
    let release = install_root.join("bin/scs-cert");
    let size = std::fs::metadata(&release)
        .with_context(|| format!("{} was not installed", release.display()))?
        .len();
    let mut c = cargo();
    c.args(["build", "--locked", "--release", "-p", "simcloud"]);
    run(c, "cargo build --release -p simcloud")?;
    let debug = t.join("debug/scs-cert");
    let n = o.runs;
    let mut rows = Vec::new();
    let pass = [0];

    // process start alone: the floor of every run
    let start = series(n, true, false, &dir, |_| {
        let mut c = Command::new(&release);
        c.arg("--version");
        c
    })?;
    let start = stats(&start, &pass);
    Row {
        figure: "process start (`scs-cert --version`)".into(),
        build: "release",
        runs: n,
        stats: start,
        note: String::new(),
    }
    .push(&mut rows);

    let clouds = dir.join("clouds.yaml");
    let report = dir.join("report.yaml");
    let compliant = root().join("tests/simcloud/fixtures/compliant.yaml");
    let base = {
        let _cloud = simcloud(&compliant, &clouds)?;
        let warm = stats(
            &series(n, true, false, &dir, |cache| {
                scope_run(&release, &clouds, "simcloud", cache, &report)
            })?,
            &pass,
        );
        Row {
            figure: "read-only IaaS scope (76 testcases, 7 components), simcloud compliant, warm compile cache".into(),
            build: "release",
            runs: n,
            stats: warm,
            note: String::new(),
        }
.push(&mut rows);
        for (bin, build) in [(&release, "release"), (&debug, "debug")] {
            let first = stats(
                &series(n, false, true, &dir, |cache| {
                    scope_run(bin, &clouds, "simcloud", cache, &report)
                })?,
                &pass,
            );
            Row {
                figure: "same, first run (empty compile cache: every component compiled)".into(),
                build,
                runs: n,
                stats: first,
                note: format!("target: under {} s", if build == "release" { 2 } else { 5 }),
            }
            .push(&mut rows);
        }
        warm
    };

    // many subjects in one combined run (issue 15): one simcloud, 20 clouds.yaml entries
    {
        let _cloud = simcloud(&compliant, &clouds)?;
        let text = std::fs::read_to_string(&clouds).context("read clouds.yaml")?;
        let entry = text
            .split_once("  simcloud:\n")
            .map(|(_, e)| e.to_string())
            .context("simcloud's clouds.yaml has no simcloud entry")?;
        let mut many = String::from("clouds:\n");
        let subjects: Vec<String> = (1..=SUBJECTS).map(|i| format!("subject-{i:02}")).collect();
        for s in &subjects {
            many.push_str(&format!("  {s}:\n{entry}"));
        }
        let many_clouds = dir.join("clouds-20.yaml");
        std::fs::write(&many_clouds, many).context("write clouds-20.yaml")?;
        let list = subjects.join(",");
        for workers in [1usize, 5, 20] {
            let w = workers.to_string();
            let st = stats(
                &series(n, true, false, &dir, |cache| {
                    let mut c = Command::new(&release);
                    c.env("OS_CLIENT_CONFIG_FILE", &many_clouds)
                        .env("SCS_CERT_CACHE_DIR", cache)
                        .args(["run", "scopes/scs-compatible-iaas.yaml", "--subject", &list])
                        .args(["--workers", &w, "--tests", READ_ONLY, "--recommended"])
                        .arg("--no-history")
                        .arg("--checks")
                        .arg(t.join("guests/checks"))
                        .arg("-o")
                        .arg(&report);
                    c
                })?,
                &pass,
            );
            Row {
                figure: format!(
                    "read-only IaaS scope for {SUBJECTS} subjects (simcloud), --workers {workers}"
                ),
                build: "release",
                runs: n,
                stats: st,
                note: format!("{:.3} s per subject", st.median / SUBJECTS as f64),
            }
            .push(&mut rows);
        }
    }

    for items in [1_000usize, 10_000] {
        let fixture = scaled_fixture(&dir, items)?;
        let _cloud = simcloud(&fixture, &clouds)?;
        let s = stats(
            &series(n, true, false, &dir, |cache| {
                scope_run(&release, &clouds, "simcloud", cache, &report)
            })?,
            // filler flavors and images are not all standard-conformant: PASS or FAIL
            &[0, 1],
        );
        let per_item_us = (s.median - base.median) / (2 * items) as f64 * 1e6;
        let per_item_kib = (s.rss_mib - base.rss_mib) * 1024.0 / (2 * items) as f64;
        Row {
            figure: format!(
                "read-only IaaS scope, simcloud compliant + {items} generated images and {items} generated flavors"
            ),
            build: "release",
            runs: n,
            stats: s,
            note: format!(
                "{per_item_us:.0} µs and {per_item_kib:.2} KiB peak RSS per added item over compliant"
            ),
        }
.push(&mut rows);
    }

    if o.realcloud {
        real_tier(&o, &release, &dir, start.median, &mut rows)?;
    }

    // the Debian package and the container image of the release build (issue 15)
    let deb = super::package::deb(&t.join("release/scs-cert"))?;
    super::package::check_deb(&deb)?;
    let deb_size = std::fs::metadata(&deb).map(|m| m.len()).unwrap_or(0);
    super::ensure_target(super::package::MUSL)?;
    let layout = super::package::oci(&super::package::musl_binary(true)?)?;
    super::package::check_oci(&layout)?;
    let image_size = super::package::dir_size(&layout.join("blobs"))?;

    let head = format!(
        "`cargo xtask bench --runs {n}{}`, {}, {} cores, load average {} at the end. Whole \
         processes, timed by xtask; peak RSS from GNU time (`%M`).",
        if o.realcloud { " --realcloud" } else { "" },
        today(),
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    );
    let mut table = vec![
        head,
        String::new(),
        "| figure | build | runs | min | median | max | peak RSS (max) | note |".into(),
        "|---|---|---|---|---|---|---|---|".into(),
    ];
    table.extend(rows.iter().map(Row::line));
    table.push(String::new());
    table.push(format!(
        "Installed binary (`cargo install --locked --path cli`, release profile): {:.1} MiB; \
         the install took {install_secs:.0} s with the build cache of this checkout.",
        size as f64 / (1024.0 * 1024.0)
    ));
    table.push(format!(
        "Debian package (`cargo xtask deb`, release): {:.1} MiB. OCI image (`cargo xtask oci`, \
         release, static musl binary, one uncompressed layer): {:.1} MiB of blobs.",
        deb_size as f64 / (1024.0 * 1024.0),
        image_size as f64 / (1024.0 * 1024.0)
    ));
    let text = table.join("\n");
    println!("{text}");
    if o.write {
        write_benchmarks(&text)?;
        eprintln!("xtask: BENCHMARKS.md updated");
    }
    Ok(())
}

/// The real OpenStack tier: install and start it, seed the compliant content, measure, seed
/// 1,000 generated images, measure once more, stop.
fn real_tier(
    o: &Options,
    release: &Path,
    dir: &Path,
    start_s: f64,
    rows: &mut Vec<Row>,
) -> Result<()> {
    let mut tier = Tier::realcloud().prepare()?;
    tier.wait_ready()?;
    let state = target_dir().join("realcloud");
    let python = state.join("venv/bin/python");
    let clouds = dir.join("real-clouds.yaml");
    let report = dir.join("report.yaml");
    let seed = |fixture: &Path| -> Result<()> {
        let mut c = Command::new(&python);
        c.arg(root().join("tests/realcloud/realcloud.py"))
            .arg("seed")
            .arg(fixture)
            .arg("--clouds")
            .arg(&clouds)
            .env("REALCLOUD_DIR", &state)
            .stdout(Stdio::null());
        run(
            c,
            &format!("seed {} into the real services", fixture.display()),
        )
    };
    seed(&root().join("tests/simcloud/fixtures/compliant.yaml"))?;
    let samples = series(o.runs, true, false, dir, |cache| {
        scope_run(release, &clouds, "user-member", cache, &report)
    })?;
    let s = stats(&samples, &[0]);
    let note = bound_note(dir, start_s, s.median);
    Row {
        figure: "read-only IaaS scope, real OpenStack tier (compliant content)".into(),
        build: "release",
        runs: o.runs,
        stats: s,
        note,
    }
    .push(rows);
    let fixture = dir.join("real-1000.yaml");
    let base = std::fs::read_to_string(root().join("tests/simcloud/fixtures/compliant.yaml"))
        .context("read compliant.yaml")?;
    std::fs::write(&fixture, format!("{base}\ngenerate: {{images: 1000}}\n"))
        .context("write the 1,000-image fixture")?;
    seed(&fixture)?;
    let s = stats(
        &series(o.runs, true, false, dir, |cache| {
            scope_run(release, &clouds, "user-member", cache, &report)
        })?,
        &[0, 1],
    );
    Row {
        figure: "same, real tier with 1,000 more images".into(),
        build: "release",
        runs: o.runs,
        stats: s,
        note: format!(
            "image list in pages of 1,000; {}",
            bound_note(dir, start_s, s.median)
        ),
    }
    .push(rows);
    // leave the tier as the tests expect it
    seed(&root().join("tests/simcloud/fixtures/compliant.yaml"))?;
    drop(tier);
    Ok(())
}

/// The critical-path bound of the last run's log and how close `median` comes to it.
fn bound_note(dir: &Path, start_s: f64, median: f64) -> String {
    let log = std::fs::read_to_string(dir.join("run.log")).unwrap_or_default();
    match critical_path_ms(&log) {
        Some((auth, chain)) => {
            let bound = start_s + (auth + chain) as f64 / 1000.0;
            format!(
                "critical-path bound {bound:.3} s (process start {start_s:.3} s + token {auth} ms \
                 + slowest discovery and read {chain} ms, from the last run's log): median/bound \
                 {:.2}",
                median / bound
            )
        }
        None => "no critical path in the log".into(),
    }
}

fn today() -> String {
    Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

/// Replace the text between the bench markers of BENCHMARKS.md.
fn write_benchmarks(text: &str) -> Result<()> {
    let path = root().join("BENCHMARKS.md");
    let doc = std::fs::read_to_string(&path).context("read BENCHMARKS.md")?;
    const BEGIN: &str = "<!-- bench:begin -->";
    const END: &str = "<!-- bench:end -->";
    let (Some(b), Some(e)) = (doc.find(BEGIN), doc.find(END)) else {
        bail!("BENCHMARKS.md has no {BEGIN} ... {END} section");
    };
    if e < b {
        bail!("BENCHMARKS.md: {END} comes before {BEGIN}");
    }
    let new = format!("{}{BEGIN}\n{text}\n{}", &doc[..b], &doc[e..]);
    std::fs::write(&path, new).context("write BENCHMARKS.md")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_critical_path_is_the_token_plus_the_slowest_discovery_and_read() {
        let log = "\
DEBUG authenticated user=u project=p services=6 ms=40
INFO API version resolved service=\"compute\" base=http://h/compute/v2.1 ms=12
DEBUG openstack call check=\"prefetch\" method=GET url=http://h/compute/v2.1/flavors/detail status=200 bytes=9 ms=100 shared=true
DEBUG openstack call check=\"prefetch\" method=GET url=http://h/image/v2/images status=200 bytes=9 ms=105 shared=true
";
        assert_eq!(critical_path_ms(log), Some((40, 112)));
        assert_eq!(critical_path_ms("nothing"), None);
    }

    #[test]
    fn stats_are_min_median_max() {
        let s = |secs| Sample {
            secs,
            rss_kib: 1024,
            code: 0,
        };
        let st = stats(&[s(3.0), s(1.0), s(2.0), s(10.0)], &[0]);
        assert_eq!((st.min, st.median, st.max), (1.0, 2.5, 10.0));
        assert!(st.codes_ok && (st.rss_mib - 1.0).abs() < 1e-9);
        assert!(!stats(&[Sample { code: 3, ..s(1.0) }], &[0]).codes_ok);
    }
}

//! Sandbox tests with real components: a guest that loops forever, one that
//! grows memory past its limit, one that panics, one that writes without
//! declaring it, one that imports outside the world, one that floods the
//! log — all in one run next to well-behaved checks, whose verdicts must be
//! unaffected. Plus load-time refusal and the compile cache.

use crate::common::*;
use scs_cert_host::sandbox::{Sandbox, SandboxConfig, SandboxError};

#[test]
fn misbehaving_components_are_contained_and_the_run_goes_on() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(
        dir.path(),
        &[
            "test-loop",
            "test-hog",
            "test-panic",
            "test-write",
            "test-bad-import",
            "test-flood",
            "test-sleep",
            "scs-0123-services",
            "scs-0100-flavor-naming",
            "scs-0103-standard-flavors",
        ],
    );
    let opts = options(&test_scope(), &checks, &clouds);
    let started = std::time::Instant::now();
    let r = run_lib(&opts);
    let report = &r.report;

    // The well-behaved checks are unaffected.
    for id in [
        "scs-0123-service-compute",
        "scs-0123-service-identity",
        "scs-0100-syntax-check",
        "scs-0100-semantics-check",
        "scs-0103-flavor-2v-4",
        "test-sleep",
    ] {
        assert_eq!(result_of(report, id), 1, "{id} should pass");
    }

    // Infinite loop: stopped by the epoch deadline (2 s in its check.json).
    assert_eq!(result_of(report, "test-loop"), 0);
    let inv = invocation_of(report, "test-loop");
    assert_eq!(inv.rc, 1);
    assert!(
        inv.stderr.iter().any(|l| l
            .starts_with("CRITICAL: check aborted: deadline of 2 s exceeded; stopped by the host")),
        "{:?}",
        inv.stderr
    );

    // Memory hog: stopped at its 32 MiB limit.
    assert_eq!(result_of(report, "test-hog"), 0);
    let inv = invocation_of(report, "test-hog");
    assert!(
        inv.stderr
            .iter()
            .any(|l| l == "CRITICAL: check aborted: memory limit of 32 MiB exceeded"),
        "{:?}",
        inv.stderr
    );

    // Panic: the message reaches the log through the SDK's hook, then ABORT.
    assert_eq!(result_of(report, "test-panic"), 0);
    let inv = invocation_of(report, "test-panic");
    assert!(
        inv.stderr
            .iter()
            .any(|l| l.starts_with("CRITICAL: check panicked")
                && l.contains("test guest panicked on purpose")),
        "{:?}",
        inv.stderr
    );
    assert!(
        inv.stderr
            .iter()
            .any(|l| l.starts_with("CRITICAL: check aborted: the check trapped"))
    );

    // Undeclared write: the guest got `denied` (it reports PASS only then),
    // and the cloud never saw a POST.
    assert_eq!(result_of(report, "test-write"), 1);
    assert!(
        cloud
            .requests()
            .iter()
            .all(|q| q.method != "POST" || q.path.contains("/auth/tokens")),
        "a write reached the cloud"
    );

    // Import outside the world: refused at load, ABORT with the reason.
    assert_eq!(result_of(report, "test-bad-import"), 0);
    let inv = invocation_of(report, "test-bad-import");
    assert!(
        inv.stderr
            .iter()
            .any(|l| l.contains("imports `scs:evil/net@0.1.0`")),
        "{:?}",
        inv.stderr
    );

    // Log flood: capped at 5,000 lines plus one note.
    assert_eq!(result_of(report, "test-log-flood"), 1);
    let inv = invocation_of(report, "test-log-flood");
    assert_eq!(inv.stderr.len(), 5_001, "log lines kept");
    assert!(
        inv.stderr[5_000].starts_with("WARNING: log capped: 95000 further lines"),
        "{}",
        inv.stderr[5_000]
    );

    // The loop's 2 s deadline bounds the run (jobs=4); generous slack for a debug build.
    assert!(
        started.elapsed().as_secs() < 120,
        "run took {:?}",
        started.elapsed()
    );
}

fn wasm_of(id: &str) -> (Vec<u8>, String) {
    use sha2::Digest;
    let dirs = [
        scs_cert_artifacts::CHECKS_DIR,
        scs_cert_artifacts::TEST_CHECKS_DIR,
    ];
    let p = dirs
        .iter()
        .map(|d| std::path::Path::new(d).join(id).join("component.wasm"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("no component {id}"));
    let bytes = std::fs::read(p).expect("read component");
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    (bytes, sha)
}

#[test]
fn unknown_import_is_refused_at_load() {
    let sb = Sandbox::new(SandboxConfig {
        cache_dir: None,
        ..Default::default()
    })
    .expect("sandbox");
    let (wasm, sha) = wasm_of("test-bad-import");
    match sb.load("test-bad-import", &wasm, &sha) {
        Err(SandboxError::ForbiddenImport { import, .. }) => {
            assert_eq!(import, "scs:evil/net@0.1.0")
        }
        other => panic!("expected ForbiddenImport, got {other:?}"),
    }
    let e = SandboxError::Invalid {
        check: "x".into(),
        message: "m".into(),
    };
    assert!(e.to_string().starts_with("check x:"));
    // Garbage bytes are refused as invalid, not a panic.
    match sb.load("garbage", b"\0asm garbage", "00") {
        Err(SandboxError::Invalid { .. }) => {}
        other => panic!("expected Invalid, got {other:?}"),
    }
}

/// The compile cache: a second load uses the entry without recompiling (the entry's files
/// keep their mtime); the directory is created 0700, the key file and the entries are 0600;
/// a corrupted entry is recompiled and rewritten.
#[test]
fn compiled_components_are_cached_on_disk() {
    use std::os::unix::fs::PermissionsExt;
    let base = tempdir();
    let dir = base.path().join("cache/components");
    let cfg = SandboxConfig {
        cache_dir: Some(dir.clone()),
        ..Default::default()
    };
    let mode = |p: &std::path::Path| {
        std::fs::symlink_metadata(p)
            .expect("meta")
            .permissions()
            .mode()
            & 0o7777
    };
    let (wasm, sha) = wasm_of("scs-0123-services");
    let first = Sandbox::new(cfg.clone()).expect("sandbox");
    assert!(
        !first
            .load("scs-0123-services", &wasm, &sha)
            .expect("load")
            .from_cache
    );
    drop(first);
    assert_eq!(mode(&dir), 0o700, "cache directory");
    assert_eq!(mode(&dir.join("cache.key")), 0o600, "key file");
    assert_eq!(std::fs::read(dir.join("cache.key")).expect("key").len(), 32);
    let entry = cwasm_of(&dir, &sha);
    let mac = entry.with_extension("cwasm.mac");
    assert_eq!(mode(&entry), 0o600);
    assert_eq!(mode(&mac), 0o600);
    assert!(!entry.with_extension("cwasm.sha256").exists());
    let mtimes = |paths: &[&std::path::Path]| -> Vec<std::time::SystemTime> {
        paths
            .iter()
            .map(|p| {
                std::fs::metadata(p)
                    .expect("meta")
                    .modified()
                    .expect("mtime")
            })
            .collect()
    };
    let before = mtimes(&[&entry, &mac, &dir.join("cache.key")]);
    std::thread::sleep(std::time::Duration::from_millis(20));

    let second = Sandbox::new(cfg.clone()).expect("sandbox");
    assert!(
        second
            .load("scs-0123-services", &wasm, &sha)
            .expect("load")
            .from_cache
    );
    drop(second);
    assert_eq!(
        mtimes(&[&entry, &mac, &dir.join("cache.key")]),
        before,
        "the second load rewrote the cache"
    );

    // A corrupted cache entry is detected and the component recompiled.
    let mut bytes = std::fs::read(&entry).expect("read");
    let n = bytes.len() / 2;
    bytes[n] ^= 0xff;
    std::fs::write(&entry, &bytes).expect("write");
    let third = Sandbox::new(cfg.clone()).expect("sandbox");
    assert!(
        !third
            .load("scs-0123-services", &wasm, &sha)
            .expect("load")
            .from_cache
    );
    drop(third);
    assert_ne!(
        std::fs::read(&entry).expect("read"),
        bytes,
        "entry rewritten"
    );
    let fourth = Sandbox::new(cfg).expect("sandbox");
    assert!(
        fourth
            .load("scs-0123-services", &wasm, &sha)
            .expect("load")
            .from_cache
    );
    // A sha256 that is not that of the bytes: the cache is neither read nor written.
    let wrong = "0".repeat(64);
    assert!(
        !fourth
            .load("scs-0123-services", &wasm, &wrong)
            .expect("load")
            .from_cache
    );
    assert!(cache_entry_files(&dir, &wrong).is_empty());
}

/// A second whole run with the same cache does not recompile: every entry keeps its mtime,
/// and the verdicts are the same.
#[test]
fn a_second_run_uses_the_compile_cache() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let cache = dir.path().join("cache");
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(dir.path(), &["scs-0123-services", "scs-0100-flavor-naming"]);
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.sandbox.cache_dir = Some(cache.clone());
    let snapshot = || -> Vec<(std::path::PathBuf, std::time::SystemTime)> {
        let mut v: Vec<_> = std::fs::read_dir(&cache)
            .expect("ls cache")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .map(|p| {
                let t = std::fs::metadata(&p)
                    .expect("meta")
                    .modified()
                    .expect("mtime");
                (p, t)
            })
            .collect();
        v.sort();
        v
    };
    let first = run_lib(&opts);
    let after_first = snapshot();
    // cache.key plus code and MAC of both components.
    assert_eq!(after_first.len(), 5, "{after_first:?}");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let second = run_lib(&opts);
    assert_eq!(snapshot(), after_first, "the second run recompiled");
    assert_eq!(first.report.results(), second.report.results());
    assert_eq!(result_of(&second.report, "scs-0123-service-compute"), 1);
}

/// The cache entry files (`.cwasm` and its sidecars) of one component, by file name.
fn cache_entry_files(dir: &std::path::Path, sha: &str) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("ls cache")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("{sha}-")) && n.contains(".cwasm"))
        })
        .collect();
    v.sort();
    v
}

fn cwasm_of(dir: &std::path::Path, sha: &str) -> std::path::PathBuf {
    cache_entry_files(dir, sha)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap_or_else(|| panic!("no cache entry for {sha}"))
}

/// Hardening, hole 3: whoever can write the cache directory cannot make the host run native
/// code of their choosing. Two forgeries of the entry of scs-0123-services: (1) another
/// component's compiled code with a matching plain sha256 sidecar (what the old cache
/// accepted), (2) another component's complete, valid entry copied under this component's
/// name. Neither is loaded: the run gives scs-0123's real verdicts and the entry is rewritten.
#[test]
fn forged_compile_cache_entries_are_not_loaded() {
    use sha2::Digest;
    let cache = tempdir();
    let cfg = SandboxConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..Default::default()
    };
    let (wasm_a, sha_a) = wasm_of("scs-0123-services");
    let (wasm_b, sha_b) = wasm_of("scs-0100-flavor-naming");
    {
        let sb = Sandbox::new(cfg.clone()).expect("sandbox");
        sb.load("scs-0123-services", &wasm_a, &sha_a)
            .expect("load a");
        sb.load("scs-0100-flavor-naming", &wasm_b, &sha_b)
            .expect("load b");
    }
    let entry_a = cwasm_of(cache.path(), &sha_a);
    let entry_b = cwasm_of(cache.path(), &sha_b);
    let code_b = std::fs::read(&entry_b).expect("read b");
    let cloud = start_cloud("compliant");

    // Forgery 1: B's native code under A's name with a plain sha256 sidecar.
    // Forgery 2: B's whole entry (code and sidecars, whatever they are) under A's name.
    for forgery in 1..=2 {
        for p in cache_entry_files(cache.path(), &sha_a) {
            std::fs::remove_file(p).expect("rm a");
        }
        if forgery == 1 {
            std::fs::write(&entry_a, &code_b).expect("forge cwasm");
            std::fs::write(
                entry_a.with_extension("cwasm.sha256"),
                hex::encode(sha2::Sha256::digest(&code_b)),
            )
            .expect("forge sidecar");
        } else {
            for p in cache_entry_files(cache.path(), &sha_b) {
                let name = p.file_name().and_then(|n| n.to_str()).expect("name");
                let to = cache.path().join(name.replacen(&sha_b, &sha_a, 1));
                std::fs::copy(&p, &to).expect("copy b's entry");
            }
        }

        // Loading directly: not from the cache.
        let sb = Sandbox::new(cfg.clone()).expect("sandbox");
        let loaded = sb.load("scs-0123-services", &wasm_a, &sha_a).expect("load");
        assert!(
            !loaded.from_cache,
            "forgery {forgery} was loaded from the cache"
        );
        drop(sb);
        let rewritten = std::fs::read(&entry_a).expect("entry a");
        assert_ne!(rewritten, code_b, "forgery {forgery}: entry not rewritten");

        // Forge again and run the real check through the library: right verdicts.
        if forgery == 1 {
            std::fs::write(&entry_a, &code_b).expect("forge cwasm");
            std::fs::write(
                entry_a.with_extension("cwasm.sha256"),
                hex::encode(sha2::Sha256::digest(&code_b)),
            )
            .expect("forge sidecar");
        } else {
            for p in cache_entry_files(cache.path(), &sha_b) {
                let name = p.file_name().and_then(|n| n.to_str()).expect("name");
                let to = cache.path().join(name.replacen(&sha_b, &sha_a, 1));
                std::fs::copy(&p, &to).expect("copy b's entry");
            }
        }
        let dir = tempdir();
        let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
        let checks = checks_with(dir.path(), &["scs-0123-services"]);
        let mut opts = options(&test_scope(), &checks, &clouds);
        opts.sandbox.cache_dir = Some(cache.path().to_path_buf());
        let r = run_lib(&opts);
        for id in ["scs-0123-service-compute", "scs-0123-service-identity"] {
            assert_eq!(
                result_of(&r.report, id),
                1,
                "forgery {forgery}: {id} did not pass, so the forged code ran"
            );
        }
        assert_ne!(
            std::fs::read(&entry_a).expect("entry a"),
            code_b,
            "forgery {forgery}: entry not rewritten by the run"
        );
    }
}

/// Hardening, hole 7: clock reads are events of the transcript, so their number is bounded
/// per check: a component reading the clock 200,000 times ABORTs with one line saying so,
/// while recording, and the run and its transcript are written.
#[test]
fn clock_floods_are_bounded() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(dir.path(), &["test-clock-flood"]);
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("test-clock-flood".into());
    opts.record = Some(dir.path().join("transcript"));
    let r = run_lib(&opts);
    assert_eq!(result_of(&r.report, "test-clock-flood"), 0);
    let inv = invocation_of(&r.report, "test-clock-flood");
    assert!(
        inv.stderr
            .iter()
            .any(|l| l.contains("more than 100000 clock reads and sleeps")),
        "{:?}",
        inv.stderr
    );
    let w = r.transcript.expect("transcript written");
    assert!(w.bytes < 10_000_000, "transcript is {} bytes", w.bytes);
}

/// Assemble a WAT test guest (tests/guests/wat): `core` is its core module's body besides
/// the canonical-ABI glue, `extra` more core modules and instances of the component.
fn wat_guest(core: &str, extra: &str) -> Vec<u8> {
    let dir = root().join("tests/guests/wat");
    let read =
        |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
    let text = read("component.wat")
        .replace("@CORE@", &format!("{core}\n{}", read("answer.wat")))
        .replace("@EXTRA@", extra);
    wat::parse_str(&text).unwrap_or_else(|e| panic!("WAT guest: {e}"))
}

/// Hardening, hole 7: one memory budget per check across every linear memory of every core
/// instance and every table (hand-written components: a Rust guest has one memory). Each
/// guest stays below its 32 MiB in every single memory or table, and passed before the
/// budget was summed; now each is stopped at instantiation with the memory line, while a
/// small WAT guest next to them passes.
#[test]
fn wat_guests_share_one_memory_budget() {
    const MEMORY0: &str = r#"(memory (export "memory") 1)"#;
    // 320 pages = 20 MiB: below the limit alone, above it twice
    let guests = [
        ("test-wat-pass", wat_guest(MEMORY0, "")),
        (
            "test-wat-multi-memory",
            wat_guest(&format!("{MEMORY0} (memory $a 320) (memory $b 320)"), ""),
        ),
        (
            "test-wat-many-instances",
            wat_guest(
                MEMORY0,
                "(core module $h (memory 320)) (core instance (instantiate $h)) \
                 (core instance (instantiate $h))",
            ),
        ),
        (
            "test-wat-many-tables",
            // 5 x 1,000,000 elements x 8 bytes = 38 MiB of host memory
            wat_guest(
                &format!("{MEMORY0} {}", "(table 1000000 funcref) ".repeat(5)),
                "",
            ),
        ),
    ];
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = dir.path().join("checks");
    for (id, wasm) in &guests {
        let d = checks.join(id);
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("component.wasm"), wasm).expect("component");
        std::fs::copy(
            root().join(format!("tests/guests/wat/{id}.json")),
            d.join("check.json"),
        )
        .expect("check.json");
    }
    let scope = root().join("tests/fixtures/wat-scope.yaml");
    let r = run_lib(&options(&scope, &checks, &clouds));
    assert_eq!(
        result_of(&r.report, "test-wat-pass"),
        1,
        "the WAT glue works"
    );
    for id in [
        "test-wat-multi-memory",
        "test-wat-many-instances",
        "test-wat-many-tables",
    ] {
        assert_eq!(result_of(&r.report, id), 0, "{id}");
        let inv = invocation_of(&r.report, id);
        assert!(
            inv.stderr
                .iter()
                .any(|l| l == "CRITICAL: check aborted: memory limit of 32 MiB exceeded"),
            "{id}: {:?}",
            inv.stderr
        );
    }
}

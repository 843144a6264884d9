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
        inv.stderr
            .iter()
            .any(|l| l == "CRITICAL: check aborted: deadline of 2 s exceeded"),
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

#[test]
fn compiled_components_are_cached_on_disk() {
    let dir = tempdir();
    let cfg = SandboxConfig {
        cache_dir: Some(dir.path().to_path_buf()),
        ..Default::default()
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
    let second = Sandbox::new(cfg.clone()).expect("sandbox");
    assert!(
        second
            .load("scs-0123-services", &wasm, &sha)
            .expect("load")
            .from_cache
    );
    // A corrupted cache entry is detected and the component recompiled.
    let entry = std::fs::read_dir(dir.path())
        .expect("ls")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .expect("cache entry");
    let mut bytes = std::fs::read(&entry).expect("read");
    let n = bytes.len() / 2;
    bytes[n] ^= 0xff;
    std::fs::write(&entry, bytes).expect("write");
    let third = Sandbox::new(cfg).expect("sandbox");
    assert!(
        !third
            .load("scs-0123-services", &wasm, &sha)
            .expect("load")
            .from_cache
    );
}

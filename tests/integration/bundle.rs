//! Signed check bundles: the tamper matrix (every tampering refused with its
//! own reason and exit code, the untampered bundle passes), reproducibility
//! (two builds in two directories are byte-identical), interop with the real
//! `ssh-keygen` in both directions, and runs from a bundle with provenance
//! and overrides in the report.

use scs_cert_host::bundle::archive;
use scs_cert_host::bundle::manifest::{self, BuildInput};
use scs_cert_host::bundle::verify::{self, Reason, Refusal, VerifyOptions};
use scs_cert_host::trust::keys;
use scs_cert_host::trust::root::{self, Delegation, RootFile};
use ssh_key::PrivateKey;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
    root::parse_rfc3339_utc(s).expect("time")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A signed root: `root_keys` sign it; `bundle_keys` form the bundle role.
fn make_root(
    version: u64,
    root_keys: &[&PrivateKey],
    bundle_keys: &[&PrivateKey],
    bundle_threshold: u32,
    delegations: Vec<(Delegation, Vec<&PrivateKey>)>,
) -> RootFile {
    let rk: Vec<_> = root_keys.iter().map(|k| k.public_key().clone()).collect();
    let bk: Vec<_> = bundle_keys.iter().map(|k| k.public_key().clone()).collect();
    let mut body = root::new_body(version, t("2035-01-01"), &rk, 1, &bk, bundle_threshold);
    for (mut d, keys_) in delegations {
        d.keys = keys_
            .iter()
            .map(|k| root::add_key(&mut body, k.public_key()))
            .collect();
        body.delegations.push(d);
    }
    let mut f = RootFile {
        signed: body,
        signatures: vec![],
    };
    for k in root_keys {
        f.sign(k).expect("sign root");
    }
    f
}

fn write_root(dir: &Path, name: &str, r: &RootFile) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, r.to_pretty().expect("pretty")).expect("write root");
    p
}

struct Build<'a> {
    name: &'a str,
    checks: &'a Path,
    scopes: Vec<PathBuf>,
    trust: Vec<PathBuf>,
    sequence: u64,
    expires: &'a str,
    min_host: &'a str,
}

impl<'a> Build<'a> {
    fn new(checks: &'a Path) -> Self {
        Build {
            name: "scs-checks",
            checks,
            scopes: vec![crate::common::root().join("scopes/scs-compatible-iaas.yaml")],
            trust: vec![],
            sequence: 1,
            expires: "2034-01-01",
            min_host: "0.1.0",
        }
    }

    fn unsigned(&self) -> Vec<u8> {
        let input = BuildInput {
            checks_dir: self.checks.to_path_buf(),
            scopes: self.scopes.clone(),
            trust: self.trust.clone(),
            name: self.name.into(),
            version: "1.0.0".into(),
            sequence: self.sequence,
            created_epoch: 1_700_000_000,
            expires: t(self.expires),
            min_host_version: self.min_host.into(),
        };
        manifest::build(&input).expect("build").0
    }

    fn signed(&self, keys_: &[&PrivateKey]) -> Vec<u8> {
        let mut b = self.unsigned();
        for k in keys_ {
            b = verify::add_signature(&b, Some(k), None).expect("sign").0;
        }
        b
    }
}

fn opts(state: &Path) -> VerifyOptions {
    VerifyOptions {
        now: t("2030-06-01"),
        allow_expired: false,
        allow_downgrade: false,
        state_dir: Some(state.to_path_buf()),
        update_state: true,
    }
}

fn verify_with(
    bytes: &[u8],
    root: &RootFile,
    o: &VerifyOptions,
) -> Result<verify::VerifiedBundle, Refusal> {
    verify::verify_bytes(bytes, "test", root, o)
}

/// Unpack without rules, change, repack (deterministically).
fn repack(bytes: &[u8], f: impl FnOnce(&mut BTreeMap<String, Vec<u8>>)) -> Vec<u8> {
    let mut m = archive::unpack(bytes).expect("unpack");
    f(&mut m);
    archive::pack(&m, 1_700_000_000).expect("pack")
}

fn flip(data: &mut [u8], at: usize) {
    let i = at.min(data.len().saturating_sub(1));
    data[i] ^= 0x01;
}

/// Raw tar entries (for hostile archives the safe writer refuses to make).
fn hostile(good: &[u8], extra: impl FnOnce(&mut tar::Builder<Vec<u8>>)) -> Vec<u8> {
    let m = archive::unpack(good).expect("unpack");
    let mut b = tar::Builder::new(Vec::new());
    for (p, d) in &m {
        let mut h = tar::Header::new_gnu();
        h.set_path(p).expect("path");
        h.set_size(d.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append(&h, d.as_slice()).expect("append");
    }
    extra(&mut b);
    let tar = b.into_inner().expect("tar");
    zstd::bulk::compress(&tar, 3).expect("zstd")
}

fn raw_name_entry(
    b: &mut tar::Builder<Vec<u8>>,
    name: &[u8],
    kind: tar::EntryType,
    size: u64,
    data: &[u8],
) {
    let mut h = tar::Header::new_gnu();
    h.as_gnu_mut().expect("gnu").name[..name.len()].copy_from_slice(name);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(0o644);
    if kind == tar::EntryType::Symlink {
        h.set_link_name("/etc/shadow").expect("link");
    }
    h.set_cksum();
    b.get_mut().extend_from_slice(h.as_bytes());
    let mut padded = data.to_vec();
    padded.resize(data.len().div_ceil(512) * 512, 0);
    b.get_mut().extend_from_slice(&padded);
}

/// The CLI agrees with the library: exit code of the reason and one line.
fn cli_refuses(dir: &Path, name: &str, bytes: &[u8], root: &Path, state: &Path, reason: Reason) {
    let f = dir.join(format!("{name}.scsb"));
    std::fs::write(&f, bytes).expect("write");
    let r = crate::common::scs_cert(
        &[
            "bundle",
            "verify",
            s(&f),
            "--root",
            s(root),
            "--state-dir",
            s(state),
        ],
        None,
    );
    assert_eq!(
        r.code,
        i32::from(reason.exit_code()),
        "{name}: expected {reason} ({}); stderr: {}",
        reason.exit_code(),
        r.stderr
    );
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{name}: one line expected: {}", r.stderr);
    assert!(
        lines[0].starts_with(&format!("scs-cert: refused: {}: ", reason.name())),
        "{name}: {}",
        lines[0]
    );
}

#[test]
fn tamper_matrix() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    let owner = keys::generate_ed25519("owner");
    let second = keys::generate_ed25519("second");
    let outsider = keys::generate_ed25519("outsider");
    let contrib = keys::generate_ed25519("contrib");
    let read_only = Delegation {
        name: "flavors".into(),
        keys: vec![],
        threshold: 1,
        prefixes: vec!["scs-0100-".into(), "scs-0101-".into()],
        capabilities: vec!["openstack:*:read".into()],
    };
    let root = make_root(
        1,
        &[&owner],
        &[&owner],
        1,
        vec![(read_only, vec![&contrib])],
    );
    let root_path = write_root(d, "root.json", &root);
    let checks = crate::common::real_checks();
    let mut b = Build::new(&checks);
    b.trust = vec![root_path.clone()];
    b.sequence = 5;
    let good = b.signed(&[&owner]);
    let mut cases: Vec<(String, Vec<u8>, RootFile, Reason)> = Vec::new();
    let mut add = |name: &str, bytes: Vec<u8>, r: &RootFile, reason: Reason| {
        cases.push((name.to_string(), bytes, r.clone(), reason));
    };

    // The untampered bundle passes (fresh state), and names everything.
    let state0 = d.join("state0");
    let v = verify_with(&good, &root, &opts(&state0)).expect("untampered bundle passes");
    assert_eq!(
        v.checks.len(),
        std::fs::read_dir(&checks).expect("ls").count()
    );
    assert_eq!(v.authorized_by, "bundle");
    assert_eq!(
        v.signers,
        vec![scs_cert_host::trust::sshsig::key_id(owner.public_key())]
    );
    assert_eq!(v.root_version, 1);
    assert!(v.overrides.is_empty());
    for c in &v.checks {
        let on_disk = std::fs::read(checks.join(&c.meta.id).join("component.wasm")).expect("wasm");
        assert_eq!(
            c.wasm.as_slice(),
            on_disk.as_slice(),
            "verified bytes are the component"
        );
    }

    // One flipped byte in each file of the bundle.
    let files: Vec<String> = archive::unpack(&good)
        .expect("unpack")
        .keys()
        .cloned()
        .collect();
    assert!(files.iter().any(|f| f.starts_with("scopes/")));
    assert!(files.iter().any(|f| f.starts_with("trust/")));
    for f in &files {
        let reason = if f == "manifest.json" || f.starts_with("signatures/") {
            Reason::BadSignature
        } else {
            Reason::DigestMismatch
        };
        let at = if f.starts_with("signatures/") {
            120
        } else {
            40
        };
        let bytes = repack(&good, |m| flip(m.get_mut(f).expect("file"), at));
        add(&format!("flip {f}"), bytes, &root, reason);
    }
    // A component swapped in from another bundle (same id, other bytes).
    let other_dir = d.join("other-checks");
    std::fs::create_dir_all(&other_dir).expect("mkdir");
    for e in std::fs::read_dir(&checks).expect("ls") {
        let p = e.expect("entry").path();
        let id = p.file_name().expect("name").to_owned();
        std::fs::create_dir_all(other_dir.join(&id)).expect("mkdir");
        std::fs::copy(p.join("check.json"), other_dir.join(&id).join("check.json")).expect("cp");
        let mut wasm = std::fs::read(p.join("component.wasm")).expect("wasm");
        wasm.extend_from_slice(b"\0"); // a different, still-valid-looking build
        std::fs::write(other_dir.join(&id).join("component.wasm"), wasm).expect("w");
    }
    let mut ob = Build::new(&other_dir);
    ob.trust = vec![root_path.clone()];
    let other = ob.signed(&[&owner]);
    let other_files = archive::unpack(&other).expect("unpack");
    let swapped = repack(&good, |m| {
        let p = "checks/scs-0100-flavor-naming/component.wasm";
        m.insert(p.into(), other_files[p].clone());
    });
    add(
        "component swapped between bundles",
        swapped,
        &root,
        Reason::DigestMismatch,
    );
    // Files not in the manifest, files missing.
    add(
        "unlisted file",
        repack(&good, |m| {
            m.insert("scopes/extra.yaml".into(), b"x: 1\n".to_vec());
        }),
        &root,
        Reason::UnlistedFile,
    );
    add(
        "missing file",
        repack(&good, |m| {
            m.remove("scopes/scs-compatible-iaas.yaml");
        }),
        &root,
        Reason::MissingFile,
    );
    // Hostile entries: `..`, absolute, link, oversize.
    add(
        "dot-dot entry",
        hostile(&good, |t| {
            raw_name_entry(t, b"../../etc/cron.d/x", tar::EntryType::Regular, 1, b"x")
        }),
        &root,
        Reason::UnsafeEntry,
    );
    add(
        "absolute entry",
        hostile(&good, |t| {
            raw_name_entry(t, b"/etc/passwd", tar::EntryType::Regular, 1, b"x")
        }),
        &root,
        Reason::UnsafeEntry,
    );
    add(
        "symlink entry",
        hostile(&good, |t| {
            raw_name_entry(t, b"checks/evil", tar::EntryType::Symlink, 0, b"")
        }),
        &root,
        Reason::UnsafeEntry,
    );
    add(
        "oversized entry",
        hostile(&good, |t| {
            raw_name_entry(
                t,
                b"big",
                tar::EntryType::Regular,
                archive::MAX_ENTRY_BYTES + 1,
                b"x",
            )
        }),
        &root,
        Reason::Oversize,
    );
    add(
        "not a bundle",
        b"PK\x03\x04 not zstd".to_vec(),
        &root,
        Reason::Malformed,
    );
    // Unsigned; signed by a key outside the root; under threshold.
    add("unsigned", b.unsigned(), &root, Reason::Unsigned);
    add(
        "outsider key",
        b.signed(&[&outsider]),
        &root,
        Reason::UnknownKey,
    );
    let root2of2 = make_root(1, &[&owner], &[&owner, &second], 2, vec![]);
    let mut b2 = Build::new(&checks);
    b2.trust = vec![write_root(d, "root2of2.json", &root2of2)];
    add(
        "under threshold",
        b2.signed(&[&owner]),
        &root2of2,
        Reason::Threshold,
    );
    // A key that expired.
    let mut expired_key_root = root2of2.clone();
    expired_key_root.signed.roles.bundle.threshold = 1;
    let sid = scs_cert_host::trust::sshsig::key_id(second.public_key());
    expired_key_root
        .signed
        .keys
        .get_mut(&sid)
        .expect("key")
        .expires = Some("2021-01-01T00:00:00Z".into());
    expired_key_root.signatures.clear();
    expired_key_root.sign(&owner).expect("sign");
    let mut b3 = Build::new(&checks);
    b3.trust = vec![write_root(d, "root-expkey.json", &expired_key_root)];
    add(
        "expired key",
        b3.signed(&[&second]),
        &expired_key_root,
        Reason::KeyExpired,
    );
    // Delegations: outside the prefix, write capability, files outside checks/.
    let flavor_only = crate::common::checks_with(&d.join("deleg-ok"), &["scs-0100-flavor-naming"]);
    let mut bd = Build::new(&flavor_only);
    bd.name = "scs-0100-contrib"; // a delegated bundle's name lies inside its prefixes
    bd.scopes.clear();
    bd.trust = vec![root_path.clone()];
    let delegated_ok = bd.signed(&[&contrib]);
    let v = verify_with(&delegated_ok, &root, &opts(&d.join("state-deleg")))
        .expect("delegated bundle in scope passes");
    assert_eq!(v.authorized_by, "delegation:flavors");
    let outside = crate::common::checks_with(
        &d.join("deleg-prefix"),
        &["scs-0100-flavor-naming", "scs-0103-standard-flavors"],
    );
    let mut bo = Build::new(&outside);
    bo.scopes.clear();
    bo.trust = vec![root_path.clone()];
    add(
        "delegated key outside its prefix",
        bo.signed(&[&contrib]),
        &root,
        Reason::DelegationPrefix,
    );
    let writes = crate::common::checks_with(&d.join("deleg-write"), &["scs-0101-entropy"]);
    let mut bw = Build::new(&writes);
    bw.scopes.clear();
    bw.trust = vec![root_path.clone()];
    add(
        "delegated key asking for write",
        bw.signed(&[&contrib]),
        &root,
        Reason::DelegationCapability,
    );
    let mut bs = Build::new(&flavor_only);
    bs.trust = vec![root_path.clone()];
    add(
        "delegated key signing scopes",
        bs.signed(&[&contrib]),
        &root,
        Reason::DelegationScope,
    );
    // Expired bundle; too new for this host.
    let mut be = Build::new(&checks);
    be.expires = "2030-01-01";
    add(
        "expired bundle",
        be.signed(&[&owner]),
        &root,
        Reason::Expired,
    );
    let mut bn = Build::new(&checks);
    bn.min_host = "99.0.0";
    add(
        "needs a newer host",
        bn.signed(&[&owner]),
        &root,
        Reason::Incompatible,
    );
    // A signed bundle with a stray file under checks/.
    let stray = repack(&b.unsigned(), |m| {
        m.insert(
            "checks/scs-0100-flavor-naming/notes.txt".into(),
            b"hi".to_vec(),
        );
        let mut man: manifest::BundleManifest =
            serde_json::from_slice(&m["manifest.json"]).expect("manifest");
        man.files.push(manifest::FileEntry {
            path: "checks/scs-0100-flavor-naming/notes.txt".into(),
            sha256: manifest::sha256_hex(b"hi"),
            size: 2,
        });
        man.files.sort_by(|a, b| a.path.cmp(&b.path));
        m.insert("manifest.json".into(), man.to_bytes().expect("bytes"));
    });
    let stray = verify::add_signature(&stray, Some(&owner), None)
        .expect("sign")
        .0;
    add("stray file in checks/", stray, &root, Reason::CheckMetadata);
    // Trust root problems: tampered installed root, expired root.
    let mut tampered_root = root.clone();
    tampered_root.signed.roles.bundle.threshold = 1;
    tampered_root.signed.expires = "2036-01-01T00:00:00Z".into();
    add(
        "tampered installed root",
        good.clone(),
        &tampered_root,
        Reason::RootInvalid,
    );
    let mut old_root = root.clone();
    old_root.signed.expires = "2021-01-01T00:00:00Z".into();
    old_root.signatures.clear();
    old_root.sign(&owner).expect("sign");
    let mut bx = Build::new(&checks);
    bx.trust = vec![write_root(d, "old-root.json", &old_root)];
    add(
        "expired trust root",
        bx.signed(&[&owner]),
        &old_root,
        Reason::RootExpired,
    );

    // Every case refused with its own reason, by the library and by the CLI.
    let mut seen = BTreeSet::new();
    for (i, (name, bytes, r, reason)) in cases.iter().enumerate() {
        let state = d.join(format!("state-{i}"));
        match verify_with(bytes, r, &opts(&state)) {
            Ok(_) => panic!("{name}: accepted"),
            Err(e) => assert_eq!(e.reason, *reason, "{name}: {e}"),
        }
        seen.insert(*reason);
    }
    // Rollback: sequence 5 accepted, then an older one is refused; the same
    // sequence with other content is refused too.
    let state = d.join("state-rollback");
    verify_with(&good, &root, &opts(&state)).expect("seq 5");
    let mut older = Build::new(&checks);
    older.trust = vec![root_path.clone()];
    older.sequence = 4;
    let older = older.signed(&[&owner]);
    let e = verify_with(&older, &root, &opts(&state)).expect_err("rollback");
    assert_eq!(e.reason, Reason::Rollback, "{e}");
    assert!(e.message.contains("older than sequence 5"), "{e}");
    let mut fork = Build::new(&checks);
    fork.trust = vec![root_path.clone()];
    fork.sequence = 5;
    fork.expires = "2033-01-01";
    let e = verify_with(&fork.signed(&[&owner]), &root, &opts(&state)).expect_err("fork");
    assert_eq!(e.reason, Reason::Rollback, "{e}");
    seen.insert(Reason::Rollback);
    // Each reason has its own exit code; the set of reasons here is wide.
    let codes: BTreeSet<u8> = seen.iter().map(|r| r.exit_code()).collect();
    assert_eq!(codes.len(), seen.len());
    assert!(seen.len() >= 19, "{seen:?}");

    // The CLI: same reason, its exit code, one line (one case per reason).
    let mut done = BTreeSet::new();
    for (i, (_name, bytes, r, reason)) in cases.iter().enumerate() {
        if !done.insert(*reason) || *reason == Reason::Expired {
            continue;
        }
        let rp = write_root(d, &format!("cli-root-{i}.json"), r);
        cli_refuses(
            d,
            &format!("case-{i}"),
            bytes,
            &rp,
            &d.join(format!("cli-state-{i}")),
            *reason,
        );
    }
    let cli_state = d.join("cli-state-rollback");
    let goodf = d.join("good.scsb");
    std::fs::write(&goodf, &good).expect("w");
    let ok = crate::common::scs_cert(
        &[
            "bundle",
            "verify",
            s(&goodf),
            "--root",
            s(&root_path),
            "--state-dir",
            s(&cli_state),
        ],
        None,
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(ok.stdout.contains("verified"), "{}", ok.stdout);
    cli_refuses(d, "older", &older, &root_path, &cli_state, Reason::Rollback);
}

#[test]
fn overrides_are_explicit_and_recorded() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    let owner = keys::generate_ed25519("owner");
    let root = make_root(1, &[&owner], &[&owner], 1, vec![]);
    let checks = crate::common::real_checks();
    let mut b = Build::new(&checks);
    b.expires = "2030-01-01";
    let expired = b.signed(&[&owner]);
    let state = d.join("state");
    let mut o = opts(&state);
    assert_eq!(
        verify_with(&expired, &root, &o)
            .expect_err("expired")
            .reason,
        Reason::Expired
    );
    o.allow_expired = true;
    let v = verify_with(&expired, &root, &o).expect("override");
    assert_eq!(v.overrides.len(), 1);
    assert!(
        v.overrides[0].starts_with("allow-expired: bundle scs-checks"),
        "{:?}",
        v.overrides
    );
    // Downgrade override: accepted, recorded, and the state is not lowered.
    let mut b9 = Build::new(&checks);
    b9.sequence = 9;
    verify_with(&b9.signed(&[&owner]), &root, &opts(&state)).expect("seq 9");
    let mut b3 = Build::new(&checks);
    b3.sequence = 3;
    let old = b3.signed(&[&owner]);
    let mut o = opts(&state);
    o.allow_downgrade = true;
    let v = verify_with(&old, &root, &o).expect("downgrade override");
    assert!(
        v.overrides[0].starts_with("allow-downgrade: "),
        "{:?}",
        v.overrides
    );
    let st = scs_cert_host::trust::state::State::load(&state).expect("state");
    assert_eq!(st.bundles["scs-checks"].sequence, 9);
    assert!(verify_with(&old, &root, &opts(&state)).is_err());
}

#[test]
fn trust_history_in_the_bundle_rotates_the_root() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    let k1 = keys::generate_ed25519("k1");
    let k2 = keys::generate_ed25519("k2");
    let v1 = make_root(1, &[&k1], &[&k1], 1, vec![]);
    // v2 hands everything to k2, signed by the old and the new root key.
    let mut body = v1.signed.clone();
    body.version = 2;
    let id2 = root::add_key(&mut body, k2.public_key());
    body.roles.root.keys = vec![id2.clone()];
    body.roles.bundle.keys = vec![id2];
    root::prune_keys(&mut body);
    let mut v2 = RootFile {
        signed: body,
        signatures: vec![],
    };
    v2.sign(&k1).expect("s");
    v2.sign(&k2).expect("s");
    let checks = crate::common::real_checks();
    let mut b = Build::new(&checks);
    b.trust = vec![write_root(d, "v1.json", &v1), write_root(d, "v2.json", &v2)];
    let bundle = b.signed(&[&k2]);
    // An operator with root v1 installed accepts it through the history.
    let v = verify_with(&bundle, &v1, &opts(&d.join("s1"))).expect("rotated");
    assert_eq!(v.root_version, 2);
    assert_eq!(v.root_chain, vec![1, 2]);
    // The old key alone no longer signs bundles under v2.
    let old_signed = b.signed(&[&k1]);
    let e = verify_with(&old_signed, &v1, &opts(&d.join("s2"))).expect_err("k1 retired");
    assert_eq!(e.reason, Reason::UnknownKey, "{e}");
    // A v2 signed only by the new key is no valid rotation.
    let mut bad_v2 = v2.clone();
    bad_v2.signatures.clear();
    bad_v2.sign(&k2).expect("s");
    let mut bb = Build::new(&checks);
    bb.trust = vec![write_root(d, "bad-v2.json", &bad_v2)];
    let e = verify_with(&bb.signed(&[&k2]), &v1, &opts(&d.join("s3"))).expect_err("bad rotation");
    assert_eq!(e.reason, Reason::RootInvalid, "{e}");
    assert!(e.message.contains("previous (version 1)"), "{e}");
}

#[test]
fn reproducible_builds() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    // The same sources in two different directories.
    let mut outs = Vec::new();
    for name in ["first-tree", "second/tree"] {
        let src = d.join(name).join("checks");
        for e in std::fs::read_dir(crate::common::real_checks()).expect("ls") {
            let p = e.expect("entry").path();
            let id = p.file_name().expect("name").to_owned();
            std::fs::create_dir_all(src.join(&id)).expect("mkdir");
            for f in ["component.wasm", "check.json"] {
                std::fs::copy(p.join(f), src.join(&id).join(f)).expect("cp");
            }
        }
        let scope = d.join(name).join("scs-compatible-iaas.yaml");
        std::fs::copy(
            crate::common::root().join("scopes/scs-compatible-iaas.yaml"),
            &scope,
        )
        .expect("cp");
        let out = d.join(name).join("b.scsb");
        let mut c = Command::new(env!("CARGO_BIN_EXE_scs-cert"));
        c.current_dir(d.join(name))
            .env("SOURCE_DATE_EPOCH", "1767225600")
            .args([
                "bundle",
                "build",
                "--checks",
                "checks",
                "--scope",
                "scs-compatible-iaas.yaml",
            ])
            .args(["--sequence", "7", "--expires", "2027-01-01", "--out"])
            .arg(&out);
        let r = c.output().expect("run");
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        outs.push(std::fs::read(&out).expect("read"));
    }
    assert_eq!(outs[0], outs[1], "two builds differ");
    // Signing is deterministic too (ed25519), so signed bundles match as well.
    let k = keys::generate_ed25519("k");
    let a = verify::add_signature(&outs[0], Some(&k), None)
        .expect("sign")
        .0;
    let b = verify::add_signature(&outs[1], Some(&k), None)
        .expect("sign")
        .0;
    assert_eq!(a, b);
    // Normalised entries: uid/gid 0, mode 0644, mtime = SOURCE_DATE_EPOCH, regular files, sorted.
    let tar = zstd::decode_all(outs[0].as_slice()).expect("zstd");
    let mut ar = tar::Archive::new(tar.as_slice());
    let mut paths = Vec::new();
    for e in ar.entries().expect("entries") {
        let e = e.expect("entry");
        let h = e.header();
        assert_eq!(h.uid().expect("uid"), 0);
        assert_eq!(h.gid().expect("gid"), 0);
        assert_eq!(h.mode().expect("mode"), 0o644);
        assert_eq!(h.mtime().expect("mtime"), 1_767_225_600);
        assert!(h.entry_type().is_file());
        paths.push(String::from_utf8_lossy(&e.path_bytes()).into_owned());
    }
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    // Without SOURCE_DATE_EPOCH the time is 0.
    let out = d.join("epoch0.scsb");
    let r = crate::common::scs_cert(
        &[
            "bundle",
            "build",
            "--checks",
            s(&crate::common::real_checks()),
            "--sequence",
            "1",
            "--expires",
            "2027-01-01",
            "--out",
            s(&out),
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let opened = verify::open(&std::fs::read(&out).expect("read")).expect("open");
    assert_eq!(opened.manifest.created, "1970-01-01T00:00:00Z");
}

fn ssh_keygen(args: &[&str], dir: &Path) -> (i32, String) {
    let out = Command::new("ssh-keygen")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("ssh-keygen must be installed (openssh-client)");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn ssh_keygen_interop_for_bundles() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    let cli = |args: &[&str]| {
        let r = crate::common::scs_cert(args, None);
        assert_eq!(r.code, 0, "{args:?}: {}{}", r.stdout, r.stderr);
        r
    };
    // ssh-keygen makes the key; scs-cert uses it for the root and the bundle.
    let (code, out) = ssh_keygen(
        &[
            "-q", "-t", "ed25519", "-N", "", "-C", "release", "-f", "release",
        ],
        d,
    );
    assert_eq!(code, 0, "{out}");
    let key = d.join("release");
    let root_json = d.join("root.json");
    let pubk = keys::public_path(&key);
    cli(&[
        "trust",
        "init",
        "--out",
        s(&root_json),
        "--root-key",
        s(&pubk),
        "--bundle-key",
        s(&pubk),
        "--sign",
        s(&key),
    ]);
    let bundle = d.join("b.scsb");
    cli(&[
        "bundle",
        "build",
        "--checks",
        s(&crate::common::real_checks()),
        "--trust",
        s(&root_json),
        "--sequence",
        "1",
        "--expires",
        "2099-01-01",
        "--out",
        s(&bundle),
    ]);

    // 1. ssh-keygen -Y sign over the extracted manifest; scs-cert accepts it.
    let x1 = d.join("x1");
    cli(&["bundle", "extract", s(&bundle), "--out", s(&x1)]);
    let (code, out) = ssh_keygen(
        &[
            "-Y",
            "sign",
            "-f",
            s(&key),
            "-n",
            "scs-cert-bundle",
            s(&x1.join("manifest.json")),
        ],
        d,
    );
    assert_eq!(code, 0, "{out}");
    let theirs = x1.join("manifest.json.sig");
    cli(&[
        "bundle",
        "sign",
        s(&bundle),
        "--signature",
        s(&theirs),
        "--out",
        s(&d.join("by-ssh-keygen.scsb")),
    ]);
    let r = cli(&[
        "bundle",
        "verify",
        s(&d.join("by-ssh-keygen.scsb")),
        "--root",
        s(&root_json),
        "--state-dir",
        s(&d.join("st1")),
    ]);
    assert!(r.stdout.contains("authorized by bundle"), "{}", r.stdout);
    // A signature for another namespace is refused when added.
    let other_ns = d.join("manifest-copy.json");
    std::fs::copy(x1.join("manifest.json"), &other_ns).expect("cp");
    let (code, out) = ssh_keygen(
        &["-Y", "sign", "-f", s(&key), "-n", "file", s(&other_ns)],
        d,
    );
    assert_eq!(code, 0, "{out}");
    let wrong = d.join("manifest-copy.json.sig");
    let r = crate::common::scs_cert(
        &[
            "bundle",
            "sign",
            s(&bundle),
            "--signature",
            s(&wrong),
            "--out",
            s(&d.join("wrong-ns.scsb")),
        ],
        None,
    );
    assert_eq!(
        r.code,
        i32::from(Reason::BadSignature.exit_code()),
        "{}",
        r.stderr
    );

    // 2. scs-cert signs; ssh-keygen -Y verify accepts the signature.
    cli(&["bundle", "sign", s(&bundle), "--key", s(&key)]);
    let x2 = d.join("x2");
    cli(&["bundle", "extract", s(&bundle), "--out", s(&x2)]);
    let sigs: Vec<PathBuf> = std::fs::read_dir(x2.join("signatures"))
        .expect("signatures/")
        .map(|e| e.expect("e").path())
        .collect();
    assert_eq!(sigs.len(), 1);
    let allowed = d.join("allowed_signers");
    let pub_line = std::fs::read_to_string(&pubk).expect("pub");
    std::fs::write(
        &allowed,
        format!("release@example.org namespaces=\"scs-cert-bundle\" {pub_line}"),
    )
    .expect("w");
    let status = Command::new("ssh-keygen")
        .args([
            "-Y",
            "verify",
            "-f",
            s(&allowed),
            "-I",
            "release@example.org",
            "-n",
            "scs-cert-bundle",
            "-s",
            s(&sigs[0]),
        ])
        .stdin(std::fs::File::open(x2.join("manifest.json")).expect("manifest"))
        .output()
        .expect("ssh-keygen");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    // ed25519 is deterministic: ssh-keygen's signature is the one scs-cert made.
    assert_eq!(std::fs::read_to_string(&sigs[0]).expect("ours"), {
        let (code, out) = ssh_keygen(
            &[
                "-Y",
                "sign",
                "-f",
                s(&key),
                "-n",
                "scs-cert-bundle",
                s(&x2.join("manifest.json")),
            ],
            d,
        );
        assert_eq!(code, 0, "{out}");
        std::fs::read_to_string(x2.join("manifest.json.sig")).expect("theirs")
    });
}

#[test]
fn run_from_a_signed_bundle_records_provenance() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    let cloud = crate::common::start_cloud("compliant");
    let clouds =
        crate::common::write_clouds(d, &cloud, "simcloud", &crate::common::Credential::FirstUser);
    let owner = keys::generate_ed25519("owner");
    let root = make_root(1, &[&owner], &[&owner], 1, vec![]);
    let root_path = write_root(d, "root.json", &root);
    let checks = crate::common::real_checks();
    let mut b = Build::new(&checks);
    b.expires = "2099-01-01";
    b.trust = vec![root_path.clone()];
    let bundle = d.join("b.scsb");
    std::fs::write(&bundle, b.signed(&[&owner])).expect("w");
    let state = d.join("state");
    let run = |extra: &[&str], out: &Path| {
        let mut args = vec![
            "run",
            "scopes/scs-compatible-iaas.yaml",
            "--os-cloud",
            "simcloud",
            "--subject",
            "t",
            "--date",
            "2026-11-29",
            "--tests",
            "scs-0100-",
            "--output",
            s(out),
            "-q",
        ];
        args.extend_from_slice(extra);
        crate::common::scs_cert(&args, Some(&clouds))
    };
    let out = d.join("r.yaml");
    let r = run(
        &[
            "--bundle",
            s(&bundle),
            "--root",
            s(&root_path),
            "--state-dir",
            s(&state),
        ],
        &out,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = crate::common::read_report(&out);
    let p = &rep["run"]["scs_cert"];
    assert_eq!(p["checks_trust"], "signed-bundle");
    assert_eq!(p["bundle"]["name"], "scs-checks");
    assert_eq!(p["bundle"]["sequence"], 1);
    assert_eq!(p["bundle"]["root_version"], 1);
    assert_eq!(p["bundle"]["authorized_by"], "bundle");
    assert_eq!(
        p["bundle"]["signers"][0],
        scs_cert_host::trust::sshsig::key_id(owner.public_key()).as_str()
    );
    let opened = verify::open(&std::fs::read(&bundle).expect("r")).expect("open");
    assert_eq!(
        p["bundle"]["manifest_sha256"],
        manifest::sha256_hex(&opened.manifest_bytes).as_str()
    );
    let comp = &p["components"][0];
    assert_eq!(comp["id"], "scs-0100-flavor-naming");
    assert_eq!(
        comp["sha256"],
        manifest::sha256_hex(&opened.files["checks/scs-0100-flavor-naming/component.wasm"])
            .as_str()
    );
    assert_eq!(comp["capabilities"][0], "openstack:compute:read");
    assert_eq!(p["overrides"].as_array().map(Vec::len), Some(0));

    // A refused bundle: nothing runs, no report, the reason's exit code.
    let tampered = d.join("t.scsb");
    std::fs::write(
        &tampered,
        repack(&std::fs::read(&bundle).expect("r"), |m| {
            flip(
                m.get_mut("checks/scs-0100-flavor-naming/component.wasm")
                    .expect("wasm"),
                1000,
            )
        }),
    )
    .expect("w");
    let out2 = d.join("r2.yaml");
    let r = run(
        &[
            "--bundle",
            s(&tampered),
            "--root",
            s(&root_path),
            "--state-dir",
            s(&state),
        ],
        &out2,
    );
    assert_eq!(
        r.code,
        i32::from(Reason::DigestMismatch.exit_code()),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("scs-cert: refused: digest-mismatch:"),
        "{}",
        r.stderr
    );
    assert!(!out2.exists());

    // An expired bundle runs only with --allow-expired, loudly, and the report says so.
    let mut be = Build::new(&checks);
    be.sequence = 2;
    be.expires = "2020-01-01";
    let expired = d.join("e.scsb");
    std::fs::write(&expired, be.signed(&[&owner])).expect("w");
    let r = run(
        &[
            "--bundle",
            s(&expired),
            "--root",
            s(&root_path),
            "--state-dir",
            s(&state),
        ],
        &out2,
    );
    assert_eq!(
        r.code,
        i32::from(Reason::Expired.exit_code()),
        "{}",
        r.stderr
    );
    let out3 = d.join("r3.yaml");
    let r = run(
        &[
            "--bundle",
            s(&expired),
            "--root",
            s(&root_path),
            "--state-dir",
            s(&state),
            "--allow-expired",
        ],
        &out3,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("OVERRIDE IN EFFECT: allow-expired"),
        "{}",
        r.stderr
    );
    let rep = crate::common::read_report(&out3);
    let ov = rep["run"]["scs_cert"]["overrides"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        ov.starts_with("allow-expired: bundle scs-checks sequence 2"),
        "{ov}"
    );

    // The development path still works and says it is unsigned.
    let out4 = d.join("r4.yaml");
    let r = run(&["--checks", s(&checks)], &out4);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("UNSIGNED"), "{}", r.stderr);
    let rep = crate::common::read_report(&out4);
    assert_eq!(rep["run"]["scs_cert"]["checks_trust"], "unsigned-dev");
    assert!(rep["run"]["scs_cert"]["bundle"].is_null());
    // Neither, or both: bad input.
    assert_eq!(run(&[], &out4).code, 4);
    assert_eq!(
        run(
            &[
                "--checks",
                s(&checks),
                "--bundle",
                s(&bundle),
                "--root",
                s(&root_path)
            ],
            &out4
        )
        .code,
        4
    );
}

#[test]
fn inspect_shows_everything_before_running() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    let owner = keys::generate_ed25519("owner");
    let root = make_root(1, &[&owner], &[&owner], 1, vec![]);
    let root_path = write_root(d, "root.json", &root);
    let checks = crate::common::real_checks();
    let mut b = Build::new(&checks);
    b.sequence = 42;
    // every scope, as `cargo xtask bundle` packs them
    b.scopes
        .push(crate::common::root().join("scopes/scs-compatible-kaas.yaml"));
    let f = d.join("b.scsb");
    std::fs::write(&f, b.signed(&[&owner])).expect("w");
    let r = crate::common::scs_cert(&["bundle", "inspect", s(&f), "--root", s(&root_path)], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in [
        "name:             scs-checks",
        "version:          1.0.0",
        "sequence:         42",
        "expires:          2034-01-01T00:00:00Z",
        "scs-0100-flavor-naming 0.1.0",
        "testcases:    scs-0100-syntax-check, scs-0100-semantics-check",
        "capabilities: openstack:compute:read",
        "scopes/scs-compatible-iaas.yaml",
        // the KaaS check and scope (every built check is packed)
        "scs-0210-version-policy 0.1.0",
        "testcases:    version-policy-check",
        "capabilities: kubernetes:nonresource/version:read",
        "data:k8s-eol:read",
        "scopes/scs-compatible-kaas.yaml",
        &scs_cert_host::trust::sshsig::key_id(owner.public_key()),
        "verification:     passes",
    ] {
        assert!(
            r.stdout.contains(needle),
            "missing {needle:?} in\n{}",
            r.stdout
        );
    }
    // inspect never records rollback state, and an unsigned bundle still shows.
    let u = d.join("u.scsb");
    std::fs::write(&u, b.unsigned()).expect("w");
    let r = crate::common::scs_cert(&["bundle", "inspect", s(&u)], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("none (unsigned)"), "{}", r.stdout);
}

/// A checks directory holding one check `id` with the real flavor-naming
/// component and a hand-written check.json claiming `standard` and `testcases`.
fn forged_check(dir: &Path, id: &str, standard: &str, testcases: &[&str]) -> PathBuf {
    let checks = dir.join("checks");
    let c = checks.join(id);
    std::fs::create_dir_all(&c).expect("mkdir");
    std::fs::copy(
        crate::common::real_checks().join("scs-0100-flavor-naming/component.wasm"),
        c.join("component.wasm"),
    )
    .expect("copy component");
    let meta = serde_json::json!({
        "id": id,
        "standard": standard,
        "version": "0.1.0",
        "testcases": testcases,
        "capabilities": ["openstack:compute:read"],
    });
    std::fs::write(c.join("check.json"), meta.to_string()).expect("write check.json");
    checks
}

/// A root whose bundle role is `owner` and whose delegation `flavors` lets
/// `contrib` sign read-only checks under `scs-0100-`.
fn delegating_root(owner: &PrivateKey, contrib: &PrivateKey) -> RootFile {
    let flavors = Delegation {
        name: "flavors".into(),
        keys: vec![],
        threshold: 1,
        prefixes: vec!["scs-0100-".into()],
        capabilities: vec!["openstack:*:read".into()],
    };
    make_root(1, &[owner], &[owner], 1, vec![(flavors, vec![contrib])])
}

#[test]
fn delegated_check_claiming_testcases_outside_its_prefix_is_refused() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    let owner = keys::generate_ed25519("owner");
    let contrib = keys::generate_ed25519("contrib");
    let root = delegating_root(&owner, &contrib);
    let root_path = write_root(d, "root.json", &root);
    let build = |checks: &Path| {
        let mut b = Build::new(checks);
        b.scopes.clear();
        b.trust = vec![root_path.clone()];
        b.signed(&[&contrib])
    };
    // The check's id is inside the prefix; one of its testcases is not.
    let evil = forged_check(
        &d.join("evil"),
        "scs-0100-evil",
        "scs-0100",
        &["scs-0100-evil-own", "scs-0103-flavor-1v-4"],
    );
    let bytes = build(&evil);
    let refused = |bytes: &[u8], state: &str| match verify_with(bytes, &root, &opts(&d.join(state)))
    {
        Ok(v) => panic!("accepted, authorized by {}", v.authorized_by),
        Err(e) => e,
    };
    let e = refused(&bytes, "state-evil");
    assert_eq!(e.reason, Reason::DelegationPrefix, "{e}");
    assert_eq!(
        e.message,
        "check scs-0100-evil claims testcase scs-0103-flavor-1v-4, which is outside the \
         prefixes (scs-0100-) of delegation flavors that signed it"
    );
    // The CLI: exit 31, one line naming the check, the testcase and the delegation.
    cli_refuses(
        d,
        "evil",
        &bytes,
        &root_path,
        &d.join("cli-state-evil"),
        Reason::DelegationPrefix,
    );
    let f = d.join("evil.scsb");
    let r = crate::common::scs_cert(
        &[
            "bundle",
            "verify",
            s(&f),
            "--root",
            s(&root_path),
            "--state-dir",
            s(&d.join("cli2")),
        ],
        None,
    );
    assert_eq!(r.code, 31, "{}", r.stderr);
    assert_eq!(
        r.stderr.trim_end(),
        format!("scs-cert: refused: delegation-prefix: {}", e.message)
    );
    // A standard outside the prefix is refused the same way.
    let foreign_standard = forged_check(
        &d.join("std"),
        "scs-0100-std",
        "scs-0103",
        &["scs-0100-std-own"],
    );
    let e = refused(&build(&foreign_standard), "state-std");
    assert_eq!(e.reason, Reason::DelegationPrefix, "{e}");
    assert!(
        e.message.contains("claims standard scs-0103") && e.message.contains("flavors"),
        "{e}"
    );
    // The bundle role is not bound by the delegation's prefixes.
    let mut b = Build::new(&evil);
    b.scopes.clear();
    b.trust = vec![root_path.clone()];
    let v = verify_with(&b.signed(&[&owner]), &root, &opts(&d.join("state-owner")))
        .expect("the bundle role signs any testcase");
    assert_eq!(v.authorized_by, "bundle");
}

#[test]
fn delegated_check_within_its_prefix_passes() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    let owner = keys::generate_ed25519("owner");
    let contrib = keys::generate_ed25519("contrib");
    let root = delegating_root(&owner, &contrib);
    let root_path = write_root(d, "root.json", &root);
    let checks = forged_check(
        d,
        "scs-0100-mine",
        "scs-0100",
        &["scs-0100-mine-a", "scs-0100-mine-b"],
    );
    let mut b = Build::new(&checks);
    b.name = "scs-0100-mine";
    b.scopes.clear();
    b.trust = vec![root_path.clone()];
    let bytes = b.signed(&[&contrib]);
    let v = verify_with(&bytes, &root, &opts(&d.join("state")))
        .expect("a check inside its delegation's prefix passes");
    assert_eq!(v.authorized_by, "delegation:flavors");
    assert_eq!(
        v.checks[0].meta.testcases,
        vec!["scs-0100-mine-a", "scs-0100-mine-b"]
    );
    // And through the CLI.
    let f = d.join("mine.scsb");
    std::fs::write(&f, &bytes).expect("w");
    let r = crate::common::scs_cert(
        &[
            "bundle",
            "verify",
            s(&f),
            "--root",
            s(&root_path),
            "--state-dir",
            s(&d.join("cli")),
        ],
        None,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
}

/// A component that returns results for testcases it was not asked for
/// (one its signed check.json lists but the scope does not select, one
/// listed nowhere, and one a real check of the run answers): the host drops
/// each with a WARNING in that invocation's stderr and reports none of them.
#[test]
fn results_for_unrequested_testcases_are_dropped() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    let cloud = crate::common::start_cloud("compliant");
    let clouds =
        crate::common::write_clouds(d, &cloud, "simcloud", &crate::common::Credential::FirstUser);
    let owner = keys::generate_ed25519("owner");
    let root = make_root(1, &[&owner], &[&owner], 1, vec![]);
    let root_path = write_root(d, "root.json", &root);
    let checks = crate::common::checks_with(d, &["test-extra", "scs-0100-flavor-naming"]);
    let mut b = Build::new(&checks);
    b.scopes.clear();
    b.expires = "2099-01-01";
    b.trust = vec![root_path.clone()];
    let bundle = d.join("b.scsb");
    std::fs::write(&bundle, b.signed(&[&owner])).expect("w");
    let scope = d.join("scope.yaml");
    std::fs::write(
        &scope,
        "uuid: 00000000-0000-4000-8000-000000000002
name: unrequested results
url: https://example.invalid/unrequested.yaml
variables:
  - os_cloud
scripts:
  - executable: scs-cert
    testcases:
      - {id: test-extra}
      - {id: scs-0100-syntax-check}
      - {id: scs-0100-semantics-check}
modules:
  - id: m
    name: m
    targets:
      main: [test-extra, scs-0100-syntax-check, scs-0100-semantics-check]
versions:
  - version: v1
    include: [m]
timeline:
  - date: 2020-01-01
    versions:
      v1: effective
",
    )
    .expect("write scope");
    let out = d.join("r.yaml");
    let r = crate::common::scs_cert(
        &[
            "run",
            s(&scope),
            "--os-cloud",
            "simcloud",
            "--subject",
            "t",
            "--date",
            "2026-11-29",
            "--bundle",
            s(&bundle),
            "--root",
            s(&root_path),
            "--state-dir",
            s(&d.join("state")),
            "--output",
            s(&out),
            "-q",
        ],
        Some(&clouds),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = crate::common::read_report(&out);
    let results = crate::common::results_of(&rep);
    assert_eq!(results.get("test-extra"), Some(&1), "{results:?}");
    for id in ["test-extra-listed", "test-extra-unlisted"] {
        assert!(!results.contains_key(id), "{id} reported: {results:?}");
    }
    // The forged FAIL did not replace the real check's verdict.
    assert_eq!(
        results.get("scs-0100-syntax-check"),
        Some(&1),
        "{results:?}"
    );
    let invs = rep["run"]["invocations"].as_object().expect("invocations");
    let extra = invs
        .values()
        .find(|i| i["results"].get("test-extra").is_some())
        .expect("the invocation of test-extra");
    let keys: Vec<&String> = extra["results"]
        .as_object()
        .expect("results")
        .keys()
        .collect();
    assert_eq!(keys, vec!["test-extra"], "{extra}");
    let stderr: Vec<&str> = extra["stderr"]
        .as_array()
        .expect("stderr")
        .iter()
        .filter_map(|l| l.as_str())
        .collect();
    for id in [
        "test-extra-listed",
        "test-extra-unlisted",
        "scs-0100-syntax-check",
    ] {
        assert!(
            stderr.iter().any(|l| l.starts_with("WARNING: ")
                && l.contains(&format!("{id:?}"))
                && l.contains("not requested")),
            "no WARNING naming {id}: {stderr:?}"
        );
    }
    // 5,000 further bogus ids: named up to a bound, then counted in one line.
    let unrequested = stderr
        .iter()
        .filter(|l| l.contains("not requested"))
        .count();
    assert!(
        unrequested <= 11,
        "{unrequested} lines about unrequested results"
    );
    assert!(
        stderr
            .iter()
            .any(|l| l.contains("4993 more results for testcases not requested")),
        "{stderr:?}"
    );
    assert!(!results.keys().any(|k| k.starts_with("bogus-")));
}

/// Hardening, hole 11: once a bundle carried root version 2 (which retired key k1), a later
/// bundle that omits the history and is signed by k1 is refused on the same machine, although
/// it verifies against the installed root version 1 alone.
#[test]
fn a_retired_key_stays_retired_after_the_rotation_was_seen() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    let k1 = keys::generate_ed25519("k1");
    let k2 = keys::generate_ed25519("k2");
    let v1 = make_root(1, &[&k1], &[&k1], 1, vec![]);
    let mut body = v1.signed.clone();
    body.version = 2;
    let id2 = root::add_key(&mut body, k2.public_key());
    body.roles.root.keys = vec![id2.clone()];
    body.roles.bundle.keys = vec![id2];
    root::prune_keys(&mut body);
    let mut v2 = RootFile {
        signed: body,
        signatures: vec![],
    };
    v2.sign(&k1).expect("s");
    v2.sign(&k2).expect("s");
    let checks = crate::common::real_checks();
    let state = d.join("state");
    // The rotation is seen once.
    let mut rotated = Build::new(&checks);
    rotated.sequence = 2;
    rotated.trust = vec![write_root(d, "v2.json", &v2)];
    let v = verify_with(&rotated.signed(&[&k2]), &v1, &opts(&state)).expect("rotated");
    assert_eq!(v.root_version, 2);
    // A newer bundle without the history, signed by the retired key.
    let mut stale = Build::new(&checks);
    stale.sequence = 3;
    let stale = stale.signed(&[&k1]);
    let fresh_machine = verify_with(&stale, &v1, &opts(&d.join("fresh")));
    assert!(
        fresh_machine.is_ok(),
        "a machine that never saw v2 cannot know"
    );
    let e = verify_with(&stale, &v1, &opts(&state)).expect_err("revocation sticks");
    assert_eq!(e.reason, Reason::Rollback, "{e}");
    assert!(
        e.message.contains("older than version 2 already seen"),
        "{e}"
    );
}

/// Issue 14, part 3: a contributor's bundle runs beside the official one. Each is verified
/// against the one root (the contributor's by its delegation), the report lists both with
/// their signers and authority, and a testcase claimed by both bundles stops the run with one
/// line naming the two checks and bundles.
#[test]
fn a_contributor_bundle_runs_beside_the_official_one() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    let cloud = crate::common::start_cloud("compliant");
    let clouds =
        crate::common::write_clouds(d, &cloud, "simcloud", &crate::common::Credential::FirstUser);
    let owner = keys::generate_ed25519("owner");
    let contrib = keys::generate_ed25519("contrib");
    let root_path = write_root(d, "root.json", &delegating_root(&owner, &contrib));
    let official_checks = crate::common::checks_with(
        &d.join("official"),
        &["scs-0103-standard-flavors", "scs-0123-services"],
    );
    let contrib_checks =
        crate::common::checks_with(&d.join("contrib"), &["scs-0100-flavor-naming"]);
    let official = d.join("official.scsb");
    let mut b = Build::new(&official_checks);
    b.expires = "2099-01-01";
    std::fs::write(&official, b.signed(&[&owner])).expect("w");
    let contribution = d.join("contrib.scsb");
    let mut c = Build::new(&contrib_checks);
    c.name = "scs-0100-flavor-naming-contrib";
    c.scopes = vec![];
    c.expires = "2099-01-01";
    std::fs::write(&contribution, c.signed(&[&contrib])).expect("w");
    let state = d.join("state");
    let run = |bundles: &[&Path], out: &Path| {
        let mut args = vec![
            "run",
            "scopes/scs-compatible-iaas.yaml",
            "--os-cloud",
            "simcloud",
            "--subject",
            "t",
            "--date",
            "2026-11-29",
            "--tests",
            "scs-010[03]-",
            "--root",
            s(&root_path),
            "--state-dir",
            s(&state),
            "--output",
            s(out),
            "-q",
        ];
        for b in bundles {
            args.extend(["--bundle", s(b)]);
        }
        crate::common::scs_cert(&args, Some(&clouds))
    };
    let out = d.join("both.yaml");
    let r = run(&[&official, &contribution], &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rep = crate::common::read_report(&out);
    let results = crate::common::results_of(&rep);
    for id in ["scs-0100-syntax-check", "scs-0103-flavor-2v-4"] {
        assert_eq!(results.get(id), Some(&1), "{id}: {results:?}");
    }
    let p = &rep["run"]["scs_cert"];
    assert_eq!(p["bundle"]["name"], "scs-checks");
    assert_eq!(p["bundle"]["authorized_by"], "bundle");
    let contributions = p["contributions"].as_array().expect("contributions");
    assert_eq!(contributions.len(), 1);
    assert_eq!(contributions[0]["name"], "scs-0100-flavor-naming-contrib");
    assert_eq!(contributions[0]["authorized_by"], "delegation:flavors");
    assert_eq!(
        contributions[0]["signers"][0],
        scs_cert_host::trust::sshsig::key_id(contrib.public_key()).as_str()
    );
    // The same bundle twice is refused with one line naming both arguments.
    let r = run(&[&official, &official], &d.join("twice.yaml"));
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(
        r.stderr.contains("is the same bundle as --bundle"),
        "{}",
        r.stderr
    );
    // A delegated bundle may not take a name outside its delegation (its rollback record
    // would hold back the official bundle of that name): refused at verification.
    let hijack = d.join("hijack.scsb");
    let mut h = Build::new(&contrib_checks);
    h.name = "scs-checks";
    h.scopes = vec![];
    h.sequence = 1_000_000;
    h.expires = "2099-01-01";
    std::fs::write(&hijack, h.signed(&[&contrib])).expect("w");
    let r = run(&[&official, &hijack], &d.join("hijack.yaml"));
    assert_eq!(r.code, 31, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("bundle name \"scs-checks\" is outside the prefixes of delegation flavors"),
        "{}",
        r.stderr
    );
    // The official bundle with every check claims scs-0100's testcases too: refused.
    let full = d.join("full.scsb");
    let checks = crate::common::real_checks();
    let mut f = Build::new(&checks);
    f.name = "scs-checks-full";
    f.expires = "2099-01-01";
    std::fs::write(&full, f.signed(&[&owner])).expect("w");
    let r = run(&[&full, &contribution], &d.join("conflict.yaml"));
    assert_eq!(r.code, 4, "{}", r.stderr);
    let line = r
        .stderr
        .lines()
        .find(|l| l.contains("is claimed by"))
        .unwrap_or_else(|| panic!("{}", r.stderr));
    assert!(
        line.contains("check scs-0100-flavor-naming of bundle scs-checks-full")
            && line
                .contains("check scs-0100-flavor-naming of bundle scs-0100-flavor-naming-contrib"),
        "{line}"
    );
}

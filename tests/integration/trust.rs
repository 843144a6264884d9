//! The trust layer against the real OpenSSH tools: keys, SSHSIG signatures
//! and allowed_signers files made by `ssh-keygen` are read by scs-cert and
//! the other way round; plus the trust root (`root.json`) rules.

use scs_cert_host::trust::{allowed_signers::AllowedSigners, keys, sshsig};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const NS: &str = "scs-cert-bundle";

fn ssh_keygen(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    let mut c = Command::new("ssh-keygen");
    c.args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c
        .spawn()
        .expect("ssh-keygen must be installed (openssh-client)");
    if let Some(input) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input)
            .expect("write stdin");
    }
    let out = child.wait_with_output().expect("ssh-keygen");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// ssh-keygen makes an ed25519 key pair at `dir/name` (optionally protected).
fn openssh_key(dir: &Path, name: &str, pass: &str) -> PathBuf {
    let p = dir.join(name);
    let (code, _, err) = ssh_keygen(
        &["-q", "-t", "ed25519", "-N", pass, "-C", name, "-f", s(&p)],
        None,
    );
    assert_eq!(code, 0, "ssh-keygen -t ed25519: {err}");
    p
}

fn allowed_signers_file(dir: &Path, principal: &str, pubkey: &ssh_key::PublicKey) -> PathBuf {
    let p = dir.join("allowed_signers");
    let line = format!(
        "{principal} namespaces=\"{NS}\" {}\n",
        pubkey.to_openssh().expect("openssh")
    );
    std::fs::write(&p, line).expect("write allowed_signers");
    p
}

#[test]
fn ssh_keygen_key_scs_cert_signature_verified_by_ssh_keygen() {
    let dir = crate::common::tempdir();
    let kp = openssh_key(dir.path(), "alice", "");
    let key = keys::load_private_key(&kp, None).expect("load ssh-keygen key");
    let msg = b"{\"name\":\"scs-checks\"}\n";
    let sig = sshsig::sign(&key, NS, msg).expect("sign");
    assert!(sig.ends_with("-----END SSH SIGNATURE-----\n"));
    let sig_path = dir.path().join("msg.sig");
    std::fs::write(&sig_path, &sig).expect("write sig");
    let pubkey = keys::load_public_key(&keys::public_path(&kp)).expect("pub");
    let signers = allowed_signers_file(dir.path(), "alice@example.com", &pubkey);
    let (code, out, err) = ssh_keygen(
        &[
            "-Y",
            "verify",
            "-f",
            s(&signers),
            "-I",
            "alice@example.com",
            "-n",
            NS,
            "-s",
            s(&sig_path),
        ],
        Some(msg),
    );
    assert_eq!(code, 0, "ssh-keygen -Y verify refused: {out}{err}");
    // A flipped message byte is refused by ssh-keygen too.
    let (code, _, _) = ssh_keygen(
        &[
            "-Y",
            "verify",
            "-f",
            s(&signers),
            "-I",
            "alice@example.com",
            "-n",
            NS,
            "-s",
            s(&sig_path),
        ],
        Some(b"{\"name\":\"scs-checkz\"}\n"),
    );
    assert_ne!(code, 0);

    // ed25519 is deterministic: ssh-keygen's own signature is byte-identical.
    let msg_path = dir.path().join("msg");
    std::fs::write(&msg_path, msg).expect("write msg");
    let (code, _, err) = ssh_keygen(&["-Y", "sign", "-f", s(&kp), "-n", NS, s(&msg_path)], None);
    assert_eq!(code, 0, "ssh-keygen -Y sign: {err}");
    let theirs = std::fs::read_to_string(dir.path().join("msg.sig")).expect("their sig");
    // (msg.sig was overwritten by ssh-keygen's own signature.)
    assert_eq!(theirs, sig, "armoring differs from ssh-keygen -Y sign");
}

#[test]
fn ssh_keygen_signature_verified_by_scs_cert() {
    let dir = crate::common::tempdir();
    let kp = openssh_key(dir.path(), "bob", "");
    let msg_path = dir.path().join("manifest.json");
    let msg = b"exact manifest bytes\n\x00\xff";
    std::fs::write(&msg_path, msg).expect("write");
    let (code, _, err) = ssh_keygen(&["-Y", "sign", "-f", s(&kp), "-n", NS, s(&msg_path)], None);
    assert_eq!(code, 0, "ssh-keygen -Y sign: {err}");
    let armored = std::fs::read_to_string(dir.path().join("manifest.json.sig")).expect("read sig");
    let signer = sshsig::verify(&armored, msg, NS).expect("scs-cert verifies ssh-keygen sig");
    let expected = keys::load_public_key(&keys::public_path(&kp)).expect("pub");
    assert_eq!(signer.key_data(), expected.key_data());
    // Same fingerprint as ssh-keygen -l.
    let (code, out, _) = ssh_keygen(&["-l", "-f", s(&keys::public_path(&kp))], None);
    assert_eq!(code, 0);
    assert!(
        out.contains(&sshsig::key_id(&signer)),
        "{out} vs {}",
        sshsig::key_id(&signer)
    );
    // Wrong namespace and changed message are refused.
    assert!(sshsig::verify(&armored, msg, "report").is_err());
    assert!(sshsig::verify(&armored, b"other", NS).is_err());
    // Our allowed_signers lookup agrees with ssh-keygen -Y find-principals.
    let signers = allowed_signers_file(dir.path(), "bob@example.com", &expected);
    let parsed = AllowedSigners::load(&signers).expect("parse");
    let entry = parsed
        .find(Some("bob@example.com"), &signer, NS, chrono::Utc::now())
        .expect("allowed");
    assert_eq!(entry.principals, "bob@example.com");
    let (code, out, err) = ssh_keygen(
        &[
            "-Y",
            "find-principals",
            "-f",
            s(&signers),
            "-n",
            NS,
            "-s",
            s(&dir.path().join("manifest.json.sig")),
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "bob@example.com");
}

#[test]
fn scs_cert_keys_are_read_by_ssh_keygen() {
    let dir = crate::common::tempdir();
    let key = keys::generate_ed25519("ci@scs-cert");
    for (name, pass) in [("plain", None), ("protected", Some("correct horse"))] {
        let p = dir.path().join(name);
        keys::write_keypair(&p, &key, pass).expect("write");
        // ssh-keygen derives the same public key from our private key file.
        let (code, out, err) = ssh_keygen(&["-y", "-P", pass.unwrap_or(""), "-f", s(&p)], None);
        assert_eq!(code, 0, "ssh-keygen -y on {name}: {err}");
        let ours = std::fs::read_to_string(keys::public_path(&p)).expect("pub");
        let field = |t: &str| t.split_whitespace().nth(1).map(str::to_string);
        assert_eq!(field(&out), field(&ours), "{name}");
        // And reads our .pub file.
        let (code, out, err) = ssh_keygen(&["-l", "-f", s(&keys::public_path(&p))], None);
        assert_eq!(code, 0, "ssh-keygen -l: {err}");
        assert!(out.contains(&sshsig::key_id(key.public_key())), "{out}");
    }
    // A wrong passphrase is refused by ssh-keygen as by us.
    let p = dir.path().join("protected");
    let (code, _, _) = ssh_keygen(&["-y", "-P", "wrong", "-f", s(&p)], None);
    assert_ne!(code, 0);
    let e = keys::load_private_key(&p, Some("wrong")).expect_err("wrong passphrase");
    assert!(e.to_string().contains("wrong passphrase"), "{e}");
}

#[test]
fn protected_ssh_keygen_key_loads_with_passphrase_only() {
    let dir = crate::common::tempdir();
    let kp = openssh_key(dir.path(), "carol", "s3cret pass");
    let e = keys::load_private_key(&kp, None).expect_err("no passphrase");
    assert!(e.to_string().contains("passphrase-protected"), "{e}");
    let e = keys::load_private_key(&kp, Some("nope")).expect_err("wrong");
    assert!(e.to_string().contains("wrong passphrase"), "{e}");
    let key = keys::load_private_key(&kp, Some("s3cret pass")).expect("right");
    let sig = sshsig::sign(&key, NS, b"m").expect("sign");
    assert!(sshsig::verify(&sig, b"m", NS).is_ok());
    // An RSA key is refused with a clear message.
    let rsa = dir.path().join("rsa");
    let (code, _, err) = ssh_keygen(
        &["-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", s(&rsa)],
        None,
    );
    if code == 0 {
        let e = keys::load_private_key(&rsa, None).expect_err("rsa");
        assert!(
            e.to_string().contains("ed25519") || e.to_string().contains("not an OpenSSH"),
            "{e}"
        );
    } else {
        eprintln!("ssh-keygen could not make an RSA key here: {err}");
    }
}

/// The real binary with extra environment.
fn cli_env(args: &[&str], env: &[(&str, &str)]) -> crate::common::CliRun {
    let mut c = Command::new(env!("CARGO_BIN_EXE_scs-cert"));
    c.args(args)
        .env_remove("SCS_CERT_KEY_PASSPHRASE")
        .env_remove("SCS_CERT_ROOT")
        .stdin(Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().expect("run scs-cert");
    crate::common::CliRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn cli_key_generate_is_read_by_ssh_keygen() {
    let dir = crate::common::tempdir();
    let k = dir.path().join("signing");
    let r = cli_env(
        &[
            "key",
            "generate",
            "--out",
            s(&k),
            "--comment",
            "ops@example.org",
        ],
        &[("SCS_CERT_KEY_PASSPHRASE", "pass phrase")],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("passphrase-protected"), "{}", r.stdout);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&k).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (code, out, err) = ssh_keygen(&["-y", "-P", "pass phrase", "-f", s(&k)], None);
    assert_eq!(code, 0, "{err}");
    let ours = std::fs::read_to_string(keys::public_path(&k)).expect("pub");
    assert_eq!(
        out.split_whitespace().nth(1),
        ours.split_whitespace().nth(1)
    );
    assert!(ours.trim_end().ends_with("ops@example.org"), "{ours}");
    // Never overwritten.
    let r = cli_env(&["key", "generate", "--out", s(&k), "--no-passphrase"], &[]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    // A protected key without a passphrase (no terminal): clear error.
    let root = dir.path().join("root.json");
    let pubk = keys::public_path(&k);
    let init = |env: &[(&str, &str)]| {
        cli_env(
            &[
                "trust",
                "init",
                "--out",
                s(&root),
                "--root-key",
                s(&pubk),
                "--bundle-key",
                s(&pubk),
                "--sign",
                s(&k),
            ],
            env,
        )
    };
    let r = init(&[]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(r.stderr.contains("passphrase-protected"), "{}", r.stderr);
    let r = init(&[("SCS_CERT_KEY_PASSPHRASE", "wrong")]);
    assert!(r.stderr.contains("wrong passphrase"), "{}", r.stderr);
    let r = init(&[("SCS_CERT_KEY_PASSPHRASE", "pass phrase")]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn cli_trust_init_rotate_sign_show() {
    let dir = crate::common::tempdir();
    let d = dir.path();
    let mk = |name: &str| {
        let p = d.join(name);
        let r = cli_env(&["key", "generate", "--out", s(&p), "--no-passphrase"], &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        (p.clone(), keys::public_path(&p))
    };
    let (a, a_pub) = mk("a");
    let (b, b_pub) = mk("b");
    let (c, c_pub) = mk("c");
    let (_dk, d_pub) = mk("contrib");
    let r1 = d.join("root-1.json");
    // Unsigned: refused and not written.
    let r = cli_env(
        &[
            "trust",
            "init",
            "--out",
            s(&r1),
            "--root-key",
            s(&a_pub),
            "--bundle-key",
            s(&b_pub),
        ],
        &[],
    );
    assert_eq!(r.code, 36, "{}", r.stderr);
    assert!(
        r.stderr.starts_with("scs-cert: refused: root-invalid:"),
        "{}",
        r.stderr
    );
    assert!(!r1.exists());
    let r = cli_env(
        &[
            "trust",
            "init",
            "--out",
            s(&r1),
            "--root-key",
            s(&a_pub),
            "--bundle-key",
            s(&b_pub),
            "--delegate",
            &format!(
                "name=flavors,prefix=scs-0100-,key={},cap=openstack:*:read",
                s(&d_pub)
            ),
            "--sign",
            s(&a),
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = cli_env(&["trust", "show", s(&r1)], &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("version:     1"), "{}", r.stdout);
    assert!(
        r.stdout.contains(
            "delegation:  flavors: 1 of 1 key(s), checks scs-0100-*, capabilities openstack:*:read"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("status:      ok"), "{}", r.stdout);
    // Rotation to c: only the new key is not enough, nor only the old one.
    let r2 = d.join("root-2.json");
    let rotate = |signers: &[&Path], extra: &[&str]| {
        let mut args = vec![
            "trust",
            "rotate",
            "--root",
            s(&r1),
            "--out",
            s(&r2),
            "--add-root-key",
            s(&c_pub),
            "--remove-key",
            s(&a_pub),
        ];
        for k in signers {
            args.push("--sign");
            args.push(s(k));
        }
        args.extend_from_slice(extra);
        cli_env(&args, &[])
    };
    let r = rotate(&[&c], &[]);
    assert_eq!(r.code, 36, "{}", r.stderr);
    assert!(r.stderr.contains("previous (version 1)"), "{}", r.stderr);
    let r = rotate(&[&a], &[]);
    assert_eq!(r.code, 36, "{}", r.stderr);
    assert!(r.stderr.contains("its own root keys"), "{}", r.stderr);
    assert!(!r2.exists());
    // A draft signed by the new key, completed with `trust sign` by the old one.
    let r = rotate(&[&c], &["--draft"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("DRAFT"), "{}", r.stdout);
    let r = cli_env(&["trust", "show", s(&r2), "--previous", s(&r1)], &[]);
    assert_eq!(r.code, 36, "{}", r.stdout);
    assert!(r.stdout.contains("NOT VALID"), "{}", r.stdout);
    let r = cli_env(&["trust", "sign", s(&r2), "--key", s(&a)], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = cli_env(&["trust", "show", s(&r2), "--previous", s(&r1)], &[]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("valid rotation [1, 2]"), "{}", r.stdout);
    let keys_section: String = r
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("keys:"))
        .take_while(|l| !l.starts_with("roles:"))
        .collect::<Vec<_>>()
        .join("\n");
    let a_id = sshsig::key_id(&keys::load_public_key(&a_pub).expect("a"));
    assert!(
        !keys_section.contains(&a_id),
        "old key pruned: {keys_section}"
    );
    assert!(
        keys_section.contains("[delegation:flavors]"),
        "{keys_section}"
    );
    // Root files are versioned JSON with the documented shape.
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&r2).expect("r2")).expect("json");
    assert_eq!(v["signed"]["type"], "scs-cert-root");
    assert_eq!(v["signed"]["version"], 2);
    assert_eq!(v["signed"]["roles"]["root"]["threshold"], 1);
    assert_eq!(v["signatures"].as_array().map(Vec::len), Some(2));
    let _ = b;
}

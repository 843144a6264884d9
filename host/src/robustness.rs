//! Property tests of every parser that reads untrusted bytes (hardening): for arbitrary input,
//! and for valid input with random bytes changed, each parser returns a value or its typed
//! error, never panics, and its error is one line. Bounded runs with fixed seeds, so they are
//! reproducible and take about a second in a debug build.
//!
//! Covered: scope YAML, bundle archives and manifests, root.json, allowed_signers, SSHSIG
//! armour, clouds.yaml documents, signed report bodies and carry files, monitor tokens and the
//! monitor's answers, kubeconfig files (parsed, merged and resolved) and exec plugin output,
//! transcripts (manifest and component files).
//!
//! Must never: depend on the network or on files outside a temporary directory.

#![cfg(test)]

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use std::path::Path;

/// The official IaaS scope, as the seed of mutations.
const OFFICIAL_SCOPE: &str = include_str!("../../tests/fixtures/official/scs-compatible-iaas.yaml");

const KUBECONFIG: &str = "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://127.0.0.1:6443\n    certificate-authority-data: LS0tLS1CRUdJTg==\n    tls-server-name: kube.internal\ncontexts:\n- name: c\n  context: {cluster: k, user: u, namespace: default}\nusers:\n- name: u\n  user:\n    token: t0k3n\n    exec: null\n";

const EXEC_CREDENTIAL: &str = r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"abc","expirationTimestamp":"2026-12-06T12:00:00Z","clientCertificateData":null}}"#;

const CLOUDS_YAML: &str = "clouds:\n  c:\n    auth:\n      auth_url: http://127.0.0.1:5000/v3\n      username: u\n      password: p\n      project_name: demo\n      user_domain_name: Default\n    region_name: RegionOne\n    cacert: ca.pem\n    verify: false\n";

const SIGNERS: &str = "certifier@example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEK1V5Ebh7bKk2bNvrX1E1JdKf1Q3mDKkX0m8k3OaWmB\n*@example.org,!x@example.org namespaces=\"report\",valid-after=\"20260101\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEK1V5Ebh7bKk2bNvrX1E1JdKf1Q3mDKkX0m8k3OaWmB comment\n";

fn config(seed: u64) -> Config {
    Config {
        cases: 128,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}

/// `base` with up to 8 bytes replaced, inserted or removed at random places.
fn mutated(base: &'static [u8]) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((any::<u16>(), any::<u8>(), 0u8..3), 1..8).prop_map(move |edits| {
        let mut b = base.to_vec();
        for (at, byte, kind) in edits {
            if b.is_empty() {
                b.push(byte);
                continue;
            }
            let i = usize::from(at) % b.len();
            match kind {
                0 => b[i] = byte,
                1 => b.insert(i, byte),
                _ => {
                    b.remove(i);
                }
            }
        }
        b
    })
}

fn one_line(e: impl std::fmt::Display) -> Result<(), TestCaseError> {
    let t = e.to_string();
    prop_assert!(!t.contains('\n'), "error is not one line: {t:?}");
    Ok(())
}

/// A valid bundle-like archive: zstd of a tar with a manifest and a file.
fn small_archive() -> &'static [u8] {
    static A: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    A.get_or_init(|| {
        let mut t = tar::Builder::new(Vec::new());
        for (name, data) in [
            ("manifest.json", br#"{"type":"scs-cert-bundle"}"#.as_slice()),
            ("checks/x/check.json", b"{}".as_slice()),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            t.append_data(&mut h, name, data).expect("tar");
        }
        zstd::bulk::compress(&t.into_inner().expect("tar"), 3).expect("zstd")
    })
}

proptest! {
    #![proptest_config(config(0x5c5_0012))]

    #[test]
    fn scope_yaml(bytes in mutated(OFFICIAL_SCOPE.as_bytes())) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = crate::scope::Spec::from_yaml(&text, Path::new("s.yaml")) {
            one_line(e)?;
        }
    }

    #[test]
    fn bundle_archives(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        mutated(small_archive()),
    ]) {
        if let Err(e) = crate::bundle::verify::open(&bytes) {
            one_line(e)?;
        }
    }

    #[test]
    fn bundle_manifests(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        mutated(br#"{"type":"scs-cert-bundle","spec_version":1,"name":"n","version":"1","sequence":1,"created":"2026-01-01T00:00:00Z","expires":"2027-01-01T00:00:00Z","min_host_version":"0.1.0","files":{}}"#),
    ]) {
        if let Err(e) = crate::bundle::manifest::BundleManifest::parse(&bytes) {
            one_line(e)?;
        }
    }

    #[test]
    fn root_json(bytes in mutated(br#"{"signed":{"type":"scs-cert-root","spec_version":1,"version":1,"expires":"2027-01-01T00:00:00Z","keys":{},"roles":{"root":{"keys":[],"threshold":1},"bundle":{"keys":[],"threshold":1}},"delegations":[]},"signatures":[]}"#)) {
        if let Err(e) = crate::trust::root::RootFile::parse(&bytes, "root.json") {
            one_line(e)?;
        }
    }

    #[test]
    fn allowed_signers(bytes in mutated(SIGNERS.as_bytes())) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = crate::trust::allowed_signers::AllowedSigners::parse(&text, "allowed") {
            one_line(e)?;
        }
    }

    #[test]
    fn sshsig_armour(bytes in mutated(b"-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAg\n-----END SSH SIGNATURE-----\n")) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = crate::trust::sshsig::verify(&text, b"message", "report") {
            one_line(e)?;
        }
    }

    #[test]
    fn clouds_yaml(bytes in mutated(CLOUDS_YAML.as_bytes())) {
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(doc) = yaml_serde::from_str::<serde_json::Value>(&text)
            && let Err(e) = crate::mediate::clouds::from_value(&doc, "c", Path::new("clouds.yaml"))
        {
            one_line(e)?;
        }
    }

    #[test]
    fn signed_report_bodies_and_carry_files(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        mutated(b"-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n&subject: x\n"),
    ]) {
        if let Err(e) = crate::report::signed::SignedReport::from_body(&bytes, None, "body") {
            one_line(e)?;
        }
        if let Err(e) = crate::report::spool::read_carry(&bytes, "carry") {
            one_line(e)?;
        }
    }

    #[test]
    fn kubeconfig_files(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        mutated(KUBECONFIG.as_bytes()),
    ]) {
        use crate::mediate::kube::config::{KubeconfigSource, load};
        let dir = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let path = dir.path().join("kubeconfig.yaml");
        std::fs::write(&path, &bytes).map_err(|e| TestCaseError::fail(e.to_string()))?;
        match load(&KubeconfigSource::Explicit(path)) {
            Err(e) => one_line(e)?,
            Ok(merged) => {
                if let Err(e) = merged.resolve(None) {
                    one_line(e)?;
                }
            }
        }
    }

    #[test]
    fn exec_plugin_output(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        mutated(EXEC_CREDENTIAL.as_bytes()),
    ]) {
        use crate::mediate::kube::exec::{ExecApiVersion, parse_credential};
        if let Err(e) = parse_credential(ExecApiVersion::V1, &bytes) {
            one_line(e)?;
        }
    }

    #[test]
    fn monitor_answers(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..4096),
        mutated(br#"{"detail":"Signature verification failed\nfor report\u2028x"}"#),
    ]) {
        let d = crate::report::upload::detail_of(&bytes);
        one_line(&d)?;
        prop_assert!(d.chars().count() <= 202, "{d:?}");
        prop_assert!(!d.chars().any(char::is_control), "{d:?}");
    }

    #[test]
    fn monitor_tokens(bytes in mutated(b"c3ViamVjdDpwYXNzd29yZA==\n")) {
        let text = String::from_utf8_lossy(&bytes);
        if let Err(e) = crate::report::token::MonitorToken::parse(&text, "token") {
            one_line(e)?;
        }
    }
}

proptest! {
    #![proptest_config(Config { cases: 48, ..config(0x5c5_0013) })]

    /// Transcripts: a recorded one with random bytes of its manifest or component file
    /// changed loads or is refused with one line.
    #[test]
    fn transcripts(manifest_edit in any::<bool>(), edits in prop::collection::vec((any::<u16>(), any::<u8>()), 1..6)) {
        use crate::mediate::transcript::{self, Event};
        let dir = tempfile::tempdir().expect("dir");
        let mut comps = std::collections::BTreeMap::new();
        comps.insert("c1".to_string(), ("00".repeat(32), vec![Event::Now { ms: 1 }; 3]));
        transcript::write(dir.path(), None, Some("offline".into()), &comps).expect("write");
        let file = dir.path().join(if manifest_edit { "manifest.json" } else { "c1.jsonl.zst" });
        let mut b = std::fs::read(&file).expect("read");
        for (at, byte) in edits {
            let i = usize::from(at) % b.len();
            b[i] = byte;
        }
        std::fs::write(&file, &b).expect("write");
        if let Err(e) = transcript::load(dir.path()) {
            one_line(e)?;
        }
    }
}

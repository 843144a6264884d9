//! Property tests of every parser that reads untrusted bytes (hardening): for arbitrary input,
//! and for the recorded fuzzing corpus's seeds with random bytes changed, each parser returns a
//! value or its typed error, never panics, and its error is one line. Bounded runs with fixed
//! seeds, so they are reproducible and take about a second in a debug build. The seeds
//! (`fuzz/seeds/<input>/`) and the corpus coverage-guided fuzzing kept (`fuzz/corpus/<input>/`,
//! crashes it found included, once fixed) are replayed whole.
//!
//! Covered: every [`crate::untrusted::Input`] (scope YAML, bundle archives and manifests,
//! root.json, allowed_signers, SSHSIG armour, clouds.yaml documents, signed report bodies and
//! carry files, monitor tokens and the monitor's answers, kubeconfig files and exec plugin
//! output), and transcripts (manifest and component files).
//!
//! Must never: depend on the network or on files outside a temporary directory and the
//! repository's `fuzz/seeds` and `fuzz/corpus`.

#![cfg(test)]

use crate::untrusted::{Input, parse};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use std::path::PathBuf;

fn config(seed: u64) -> Config {
    Config {
        cases: 128,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(seed),
        ..Config::default()
    }
}

/// `fuzz/<kind>/<input>`: `seeds` (written by hand, never minimised) or `corpus` (what
/// libFuzzer kept, minimised).
fn fuzz_dir(kind: &str, input: Input) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz")
        .join(kind)
        .join(input.name())
}

/// Every file of `fuzz/<kind>/<input>`, sorted by name.
fn files(kind: &str, input: Input) -> Vec<Vec<u8>> {
    let dir = fuzz_dir(kind, input);
    let mut paths: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect(),
        Err(e) if kind == "corpus" && e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{}: {e}", dir.display()),
    };
    paths.sort();
    paths
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect()
}

/// The seeds and then the recorded corpus of `input`.
fn corpus(input: Input) -> Vec<Vec<u8>> {
    let mut all = files("seeds", input);
    all.extend(files("corpus", input));
    all
}

/// `base` with up to 8 bytes replaced, inserted or removed at random places.
fn mutated(base: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec((any::<u16>(), any::<u8>(), 0u8..3), 1..8).prop_map(move |edits| {
        let mut b = base.clone();
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

/// Random bytes, or the first seed of `input`'s corpus with a few bytes changed.
fn inputs(input: Input) -> impl Strategy<Value = Vec<u8>> {
    let seed = files("seeds", input).into_iter().next().unwrap_or_default();
    prop_oneof![prop::collection::vec(any::<u8>(), 0..512), mutated(seed)]
}

/// The whole recorded corpus of every input: never a panic, refusals one line.
#[test]
fn the_recorded_fuzzing_corpus_parses_or_is_refused_in_one_line() {
    let mut files = 0;
    for input in Input::ALL {
        let items = corpus(input);
        assert!(!items.is_empty(), "{}: no corpus", input.name());
        for bytes in items {
            files += 1;
            if let Err(e) = parse(input, &bytes) {
                assert!(!e.contains('\n'), "{}: not one line: {e:?}", input.name());
            }
        }
    }
    assert!(files >= Input::ALL.len());
}

/// Seeds are what the parser accepts where that is possible, so mutations start from deep
/// inside it (signatures, archives and answers cannot be valid without keys or a server).
#[test]
fn seeds_are_accepted_where_they_can_be() {
    for input in [
        Input::ScopeYaml,
        Input::BundleManifest,
        Input::RootJson,
        Input::AllowedSigners,
        Input::CloudsYaml,
        Input::MonitorToken,
        Input::MonitorAnswer,
        Input::Kubeconfig,
        Input::ExecCredential,
    ] {
        let seed = files("seeds", input).into_iter().next().unwrap_or_default();
        assert_eq!(parse(input, &seed), Ok(()), "{}", input.name());
    }
}

macro_rules! property_tests {
    ($($name:ident => $input:expr),* $(,)?) => {
        proptest! {
            #![proptest_config(config(0x5c5_0012))]
            $(
                #[test]
                fn $name(bytes in inputs($input)) {
                    if let Err(e) = parse($input, &bytes) {
                        one_line(e)?;
                    }
                }
            )*
        }
    };
}

property_tests! {
    scope_yaml => Input::ScopeYaml,
    bundle_archives => Input::BundleArchive,
    bundle_manifests => Input::BundleManifest,
    root_json => Input::RootJson,
    allowed_signers => Input::AllowedSigners,
    sshsig_armour => Input::SshsigArmour,
    clouds_yaml => Input::CloudsYaml,
    signed_report_bodies => Input::SignedReport,
    carry_files => Input::CarryFile,
    monitor_tokens => Input::MonitorToken,
    monitor_answers => Input::MonitorAnswer,
    kubeconfig_files => Input::Kubeconfig,
    exec_plugin_output => Input::ExecCredential,
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

//! Every parser of untrusted bytes, by name, behind one call: what the fuzzers
//! (`fuzz/`, cargo-fuzz with libFuzzer) and the property tests (`robustness`) feed, and what
//! the recorded fuzzing corpus is replayed through on stable Rust in every test run.
//!
//! Owns: the list of inputs ([`Input`]) and, per input, the exact path from bytes to a value
//! or a refusal that the host takes for that file or answer ([`parse`]).
//!
//! Must never: touch the network, read or write files other than what a parser itself reads
//! next to its input (a kubeconfig's referenced files, resolved against a path that does not
//! exist), or turn a refusal into a panic: a refusal is the parser's typed error as one line.

use std::path::Path;

/// The untrusted inputs the host parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A scope YAML (scs-0003).
    ScopeYaml,
    /// A bundle archive (`.scsb`: zstd of a tar).
    BundleArchive,
    /// A bundle's `manifest.json`.
    BundleManifest,
    /// A trust root (`root.json`).
    RootJson,
    /// An OpenSSH allowed_signers file.
    AllowedSigners,
    /// An armoured SSHSIG signature.
    SshsigArmour,
    /// A clouds.yaml document (cloud `c`).
    CloudsYaml,
    /// A signed report body (`report sign` output, SSHSIG and report).
    SignedReport,
    /// An air-gap carry file (`report export`).
    CarryFile,
    /// A compliance monitor token file.
    MonitorToken,
    /// The compliance monitor's answer to an upload.
    MonitorAnswer,
    /// A kubeconfig file (parsed, then its current context resolved).
    Kubeconfig,
    /// The output of a Kubernetes exec credential plugin.
    ExecCredential,
}

impl Input {
    /// Every input, in the order of the corpus directories.
    pub const ALL: [Input; 13] = [
        Input::ScopeYaml,
        Input::BundleArchive,
        Input::BundleManifest,
        Input::RootJson,
        Input::AllowedSigners,
        Input::SshsigArmour,
        Input::CloudsYaml,
        Input::SignedReport,
        Input::CarryFile,
        Input::MonitorToken,
        Input::MonitorAnswer,
        Input::Kubeconfig,
        Input::ExecCredential,
    ];

    /// The name of its fuzz target and corpus directory.
    pub fn name(self) -> &'static str {
        match self {
            Input::ScopeYaml => "scope_yaml",
            Input::BundleArchive => "bundle_archive",
            Input::BundleManifest => "bundle_manifest",
            Input::RootJson => "root_json",
            Input::AllowedSigners => "allowed_signers",
            Input::SshsigArmour => "sshsig_armour",
            Input::CloudsYaml => "clouds_yaml",
            Input::SignedReport => "signed_report",
            Input::CarryFile => "carry_file",
            Input::MonitorToken => "monitor_token",
            Input::MonitorAnswer => "monitor_answer",
            Input::Kubeconfig => "kubeconfig",
            Input::ExecCredential => "exec_credential",
        }
    }
}

/// Parse `bytes` as `input` the way the host does: `Ok(())` when accepted, the refusal as
/// its one-line text otherwise. For [`Input::MonitorAnswer`], which is never refused, the
/// text the host would show is checked instead (one line, no control characters, at most
/// 202 characters) and returned as the error if it is not.
pub fn parse(input: Input, bytes: &[u8]) -> Result<(), String> {
    let text = || String::from_utf8_lossy(bytes);
    let e = |e: &dyn std::fmt::Display| e.to_string();
    match input {
        Input::ScopeYaml => crate::scope::Spec::from_yaml(&text(), Path::new("s.yaml"))
            .map(drop)
            .map_err(|x| e(&x)),
        Input::BundleArchive => crate::bundle::verify::open(bytes)
            .map(drop)
            .map_err(|x| e(&x)),
        Input::BundleManifest => crate::bundle::manifest::BundleManifest::parse(bytes)
            .map(drop)
            .map_err(|x| e(&x)),
        Input::RootJson => crate::trust::root::RootFile::parse(bytes, "root.json")
            .map(drop)
            .map_err(|x| e(&x)),
        Input::AllowedSigners => {
            crate::trust::allowed_signers::AllowedSigners::parse(&text(), "allowed")
                .map(drop)
                .map_err(|x| e(&x))
        }
        Input::SshsigArmour => crate::trust::sshsig::verify(&text(), b"message", "report")
            .map(drop)
            .map_err(|x| e(&x)),
        Input::CloudsYaml => match yaml_serde::from_str::<serde_json::Value>(&text()) {
            Err(x) => Err(crate::errtext::one_line(&x.to_string())),
            Ok(doc) => crate::mediate::clouds::from_value(&doc, "c", Path::new("clouds.yaml"))
                .map(drop)
                .map_err(|x| e(&x)),
        },
        Input::SignedReport => crate::report::signed::SignedReport::from_body(bytes, None, "body")
            .map(drop)
            .map_err(|x| e(&x)),
        Input::CarryFile => crate::report::spool::read_carry(bytes, "carry")
            .map(drop)
            .map_err(|x| e(&x)),
        Input::MonitorToken => crate::report::token::MonitorToken::parse(&text(), "token")
            .map(drop)
            .map_err(|x| e(&x)),
        Input::MonitorAnswer => {
            let d = crate::report::upload::detail_of(bytes);
            if d.contains('\n') || d.chars().any(char::is_control) || d.chars().count() > 202 {
                Err(format!("the monitor's answer shows as {d:?}"))
            } else {
                Ok(())
            }
        }
        Input::Kubeconfig => {
            use crate::mediate::kube::config::Merged;
            // relative references resolve below a directory that does not exist; an absolute
            // one (a tokenFile, a CA file) is read as for a real kubeconfig: regular files
            // only, size-bounded
            let path = Path::new("/nonexistent/scs-cert-fuzz/kubeconfig.yaml");
            Merged::from_bytes(path, bytes)
                .and_then(|m| m.resolve(None))
                .map(drop)
                .map_err(|x| e(&x))
        }
        Input::ExecCredential => {
            use crate::mediate::kube::exec::{ExecApiVersion, parse_credential};
            parse_credential(ExecApiVersion::V1, bytes).map(drop)
        }
    }
}

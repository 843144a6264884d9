//! The multi-subject runner's configuration: the official `Tests/config.toml` format
//! (`[secrets]`, `[presets.NAME]`, `[scopes.NAME]`, `[subjects.NAME.mapping]` with the `_`
//! default mapping and `{subject}` interpolation), which loads unchanged, and the jobs
//! (scopes x subjects) it plans (docs/official-behaviour.md b.2).
//!
//! Must never: silently ignore an unknown key (a typo would change what runs), or read a
//! secret file (it only resolves the paths of `[secrets]`).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Errors of the runner configuration and job planning.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Unreadable file.
    #[error("{path}: cannot read the runner configuration: {message}")]
    Read {
        /// File.
        path: String,
        /// Cause.
        message: String,
    },
    /// TOML syntax or schema error.
    #[error("{path}:{line}: {message}")]
    Parse {
        /// File.
        path: String,
        /// 1-based line (0 if unknown).
        line: usize,
        /// Cause, one line.
        message: String,
    },
    /// A name given on the command line is not in the file.
    #[error(
        "{path}: no {kind} named {name:?} (known: {known}); add [{kind}s.{name}] or fix the name"
    )]
    Unknown {
        /// File.
        path: String,
        /// preset / scope.
        kind: &'static str,
        /// The name.
        name: String,
        /// Known names.
        known: String,
    },
    /// Nothing to run.
    #[error("{path}: no {what} to run: pass --{flag} or list them in [presets.{preset}] {what}")]
    Nothing {
        /// File.
        path: String,
        /// scopes / subjects.
        what: &'static str,
        /// CLI flag.
        flag: &'static str,
        /// The preset consulted.
        preset: String,
    },
}

/// `[secrets]`: paths relative to the configuration file's directory.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Secrets {
    /// OpenSSH private key to sign reports with.
    pub keyfile: Option<PathBuf>,
    /// File holding base64 of `subject:password` for the monitor.
    pub tokenfile: Option<PathBuf>,
}

/// `[presets.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// Scope names (keys of `[scopes]`).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Subjects.
    #[serde(default)]
    pub subjects: Vec<String>,
    /// Jobs at once.
    pub workers: Option<usize>,
}

/// `[scopes.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopeEntry {
    /// Scope YAML, relative to the configuration file's directory.
    pub spec: PathBuf,
}

/// `[subjects.NAME]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubjectEntry {
    /// Scope variables for this subject (`-a k=v`).
    #[serde(default)]
    pub mapping: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    secrets: Secrets,
    #[serde(default)]
    presets: BTreeMap<String, Preset>,
    #[serde(default)]
    scopes: BTreeMap<String, ScopeEntry>,
    #[serde(default)]
    subjects: BTreeMap<String, SubjectEntry>,
}

/// A loaded runner configuration; every path in it is resolved against the
/// file's directory.
#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The file.
    pub path: PathBuf,
    /// `[secrets]`, resolved.
    pub secrets: Secrets,
    /// `[presets]`.
    pub presets: BTreeMap<String, Preset>,
    /// `[scopes]`, spec paths resolved.
    pub scopes: BTreeMap<String, ScopeEntry>,
    /// `[subjects]`.
    pub subjects: BTreeMap<String, SubjectEntry>,
}

/// One job of a combined run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Scope name (or the file name when given as a path).
    pub scope_name: String,
    /// Scope YAML.
    pub scope: PathBuf,
    /// Subject.
    pub subject: String,
    /// Scope variables from the mapping, sorted by key.
    pub assignments: Vec<(String, String)>,
}

/// The jobs of a combined run and how many run at once.
#[derive(Debug, Clone)]
pub struct Plan {
    /// scopes x subjects, scope-major (the official order).
    pub jobs: Vec<Job>,
    /// `workers` of the preset, if it says.
    pub workers: Option<usize>,
}

fn interpolate(template: &str, subject: &str) -> String {
    template.replace("{subject}", subject)
}

impl RunnerConfig {
    /// Load a runner configuration (TOML).
    pub fn load(path: &Path) -> Result<RunnerConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        Self::parse(&text, path)
    }

    /// Parse configuration text; `path` resolves relative paths and names
    /// the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<RunnerConfig, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(0);
            ConfigError::Parse {
                path: path.display().to_string(),
                line,
                message: crate::errtext::one_line(e.message()),
            }
        })?;
        let base = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let resolve = |p: PathBuf| if p.is_absolute() { p } else { base.join(p) };
        Ok(RunnerConfig {
            path: path.to_path_buf(),
            secrets: Secrets {
                keyfile: raw.secrets.keyfile.map(resolve),
                tokenfile: raw.secrets.tokenfile.map(resolve),
            },
            presets: raw.presets,
            scopes: raw
                .scopes
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        ScopeEntry {
                            spec: resolve(v.spec),
                        },
                    )
                })
                .collect(),
            subjects: raw.subjects,
        })
    }

    /// The scope variables of `subject`: the `_` default mapping with
    /// `{subject}` interpolated, overridden key by key by the subject's own.
    pub fn mapping(&self, subject: &str) -> Vec<(String, String)> {
        let mut m: BTreeMap<String, String> = BTreeMap::new();
        if let Some(d) = self.subjects.get("_") {
            for (k, v) in &d.mapping {
                m.insert(k.clone(), interpolate(v, subject));
            }
        }
        if let Some(s) = self.subjects.get(subject).filter(|_| subject != "_") {
            for (k, v) in &s.mapping {
                m.insert(k.clone(), interpolate(v, subject));
            }
        }
        m.into_iter().collect()
    }

    /// Plan the jobs as `scs-test-runner.py run` does: the preset (given, or
    /// `default` if the file has one) fills in the scopes and subjects the
    /// command line leaves out; jobs are scopes x subjects.
    /// `scope_file` replaces the scope names (a scope YAML given directly).
    pub fn plan(
        &self,
        preset: Option<&str>,
        scopes: &[String],
        subjects: &[String],
        scope_file: Option<&Path>,
    ) -> Result<Plan, ConfigError> {
        let path = self.path.display().to_string();
        // An explicit preset must exist; without one, `default` (as the
        // official runner) fills in whatever the command line leaves out.
        let preset_name = preset.unwrap_or("default").to_string();
        let preset = match (preset, self.presets.get(&preset_name)) {
            (_, Some(p)) => Some(p),
            (None, None) => None,
            (Some(_), None) => {
                return Err(ConfigError::Unknown {
                    path: path.clone(),
                    kind: "preset",
                    name: preset_name,
                    known: names(self.presets.keys()),
                });
            }
        };
        let consulted = preset_name;
        let subjects: Vec<String> = if subjects.is_empty() {
            preset.map(|p| p.subjects.clone()).unwrap_or_default()
        } else {
            subjects.to_vec()
        };
        if subjects.is_empty() {
            return Err(ConfigError::Nothing {
                path,
                what: "subjects",
                flag: "subject",
                preset: consulted,
            });
        }
        let scope_list: Vec<(String, PathBuf)> = match scope_file {
            Some(f) => vec![(
                f.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| f.display().to_string()),
                f.to_path_buf(),
            )],
            None => {
                let names_wanted: Vec<String> = if scopes.is_empty() {
                    preset.map(|p| p.scopes.clone()).unwrap_or_default()
                } else {
                    scopes.to_vec()
                };
                if names_wanted.is_empty() {
                    return Err(ConfigError::Nothing {
                        path,
                        what: "scopes",
                        flag: "scope",
                        preset: consulted,
                    });
                }
                names_wanted
                    .into_iter()
                    .map(|n| match self.scopes.get(&n) {
                        Some(e) => Ok((n, e.spec.clone())),
                        None => Err(ConfigError::Unknown {
                            path: path.clone(),
                            kind: "scope",
                            name: n,
                            known: names(self.scopes.keys()),
                        }),
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        let mut jobs = Vec::new();
        for (scope_name, scope) in &scope_list {
            for subject in &subjects {
                jobs.push(Job {
                    scope_name: scope_name.clone(),
                    scope: scope.clone(),
                    subject: subject.clone(),
                    assignments: self.mapping(subject),
                });
            }
        }
        Ok(Plan {
            jobs,
            workers: preset.and_then(|p| p.workers),
        })
    }
}

fn names<'a>(it: impl Iterator<Item = &'a String>) -> String {
    let v: Vec<&str> = it.map(String::as_str).collect();
    if v.is_empty() {
        "none".to_string()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const OFFICIAL: &str = r#"
[secrets]
keyfile = ".secret/keyfile"
tokenfile = ".secret/tokenfile"

[presets.default]
scopes = [
    "scs-compatible-iaas",
]
subjects = [
    "scs2",
]

[presets.iaas]
scopes = ["scs-compatible-iaas"]
subjects = ["a", "b"]
workers = 16

[scopes.scs-compatible-iaas]
spec = "./scs-compatible-iaas.yaml"

[scopes.scs-compatible-kaas]
spec = "./scs-compatible-kaas.yaml"

[subjects._.mapping]
os_cloud = "{subject}"
subject_root = "{subject}"
kubeconfig = "{subject}/kubeconfig.yaml"

[subjects.b.mapping]
os_cloud = "cloud-of-b"
"#;

    #[test]
    fn official_config_loads_and_plans() {
        let c = RunnerConfig::parse(OFFICIAL, Path::new("/etc/scs/config.toml")).unwrap();
        assert_eq!(
            c.secrets.keyfile.as_deref(),
            Some(Path::new("/etc/scs/.secret/keyfile"))
        );
        let p = c.plan(None, &[], &[], None).unwrap();
        assert_eq!(p.jobs.len(), 1);
        assert_eq!(p.jobs[0].subject, "scs2");
        assert_eq!(
            p.jobs[0].scope,
            Path::new("/etc/scs/./scs-compatible-iaas.yaml")
        );
        assert_eq!(
            p.jobs[0].assignments,
            vec![
                ("kubeconfig".to_string(), "scs2/kubeconfig.yaml".to_string()),
                ("os_cloud".to_string(), "scs2".to_string()),
                ("subject_root".to_string(), "scs2".to_string()),
            ]
        );
        let p = c.plan(Some("iaas"), &[], &[], None).unwrap();
        assert_eq!(p.workers, Some(16));
        let subjects: Vec<&str> = p.jobs.iter().map(|j| j.subject.as_str()).collect();
        assert_eq!(subjects, ["a", "b"]);
        assert!(
            p.jobs[1]
                .assignments
                .contains(&("os_cloud".into(), "cloud-of-b".into()))
        );
        let p = c
            .plan(
                None,
                &["scs-compatible-kaas".into(), "scs-compatible-iaas".into()],
                &["x".into(), "y".into()],
                None,
            )
            .unwrap();
        let jobs: Vec<(&str, &str)> = p
            .jobs
            .iter()
            .map(|j| (j.scope_name.as_str(), j.subject.as_str()))
            .collect();
        assert_eq!(
            jobs,
            [
                ("scs-compatible-kaas", "x"),
                ("scs-compatible-kaas", "y"),
                ("scs-compatible-iaas", "x"),
                ("scs-compatible-iaas", "y"),
            ]
        );
    }

    #[test]
    fn config_errors_name_file_line_and_fix() {
        let e = RunnerConfig::parse("[presets.x]\nsubject = [\"a\"]\n", Path::new("c.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("c.toml:2: "), "{e}");
        assert!(e.contains("subject"), "{e}");
        assert!(!e.contains('\n'), "{e}");
        let c = RunnerConfig::parse(OFFICIAL, Path::new("c.toml")).unwrap();
        let e = c
            .plan(Some("nope"), &[], &[], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no preset named \"nope\""), "{e}");
        let e = c
            .plan(None, &["iaas".into()], &["a".into()], None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("known: scs-compatible-iaas, scs-compatible-kaas"),
            "{e}"
        );
        // Subjects from the command line, scopes from the default preset.
        let p = c.plan(None, &[], &["x".into()], None).unwrap();
        assert_eq!(p.jobs.len(), 1);
        assert_eq!(p.jobs[0].scope_name, "scs-compatible-iaas");
        assert_eq!(p.jobs[0].subject, "x");
        let empty = RunnerConfig::parse("", Path::new("c.toml")).unwrap();
        let e = empty
            .plan(None, &[], &["a".into()], None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no scopes to run: pass --scope"), "{e}");
    }
}

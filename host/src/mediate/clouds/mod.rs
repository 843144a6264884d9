//! Cloud credentials as openstacksdk reads them: clouds.yaml, secure.yaml, clouds-public.yaml
//! profiles and the `OS_*` environment variables of an openrc file.
//!
//! Owns: choosing the cloud (the name given, else `OS_CLOUD`, else the cloud made of the
//! `OS_*` variables), and turning it into a typed [`CloudConfig`]. The parts:
//! - [`files`]: finding clouds.yaml, secure.yaml and clouds-public.yaml, merging secure.yaml
//!   over clouds.yaml and a `profile:` under its cloud entry;
//! - [`envvars`]: openstacksdk's `envvars` cloud, made of the `OS_*` variables;
//! - [`normalise`]: openstacksdk's spelling fixes (`tenant_*`, `auth_token`, `endpoint_type`,
//!   `domain_*`, settings outside `auth:`) on one cloud entry;
//! - [`resolve`]: one normalised entry into [`CloudConfig`], with one error line per wrong or
//!   missing setting, naming the clouds.yaml field or the environment variable;
//! - [`tls`]: the client certificate (`cert`/`key`, `OS_CERT`/`OS_KEY`).
//!
//! The environment is read once ([`Environment::process`]) and passed down, so every rule is
//! a pure function that tests call with an environment of their own.
//!
//! Must never: log or print a password, secret or token ([`Secret`] redacts itself in `Debug`,
//! [`Environment`] shows only variable names), or guess credentials that are neither in the
//! files nor in the environment.

mod envvars;
mod files;
mod normalise;
mod resolve;
mod tls;

pub use tls::ClientCert;

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Errors reading cloud configuration. Each is one line naming the file and field, or the
/// environment variable, and the fix.
#[derive(Debug, thiserror::Error)]
pub enum CloudsError {
    /// No clouds.yaml anywhere.
    #[error(
        "no clouds.yaml found (looked at {looked}); create one or point OS_CLIENT_CONFIG_FILE at it{hint}"
    )]
    NotFound {
        /// The places looked at.
        looked: String,
        /// What else would work (the `OS_*` cloud), or empty.
        hint: String,
    },
    /// I/O error.
    #[error("{path}: cannot read: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// YAML error.
    #[error("{path}: not valid YAML: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's message (one line).
        message: String,
    },
    /// The cloud name is not in the file.
    #[error(
        "{path}: no cloud named {name:?} under `clouds` (known: {known}); fix --os-cloud / OS_CLOUD"
    )]
    NoSuchCloud {
        /// The file.
        path: PathBuf,
        /// Requested name.
        name: String,
        /// Names present.
        known: String,
    },
    /// A field is missing, has the wrong type, or contradicts another.
    #[error("{path}: clouds.{cloud}.{field}: {problem}")]
    Field {
        /// The file.
        path: PathBuf,
        /// Cloud name.
        cloud: String,
        /// Field path below the cloud.
        field: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// An environment variable of the `OS_*` cloud is missing, wrong, or contradicts another.
    #[error("{var}: {problem} (cloud {cloud:?}, made of the OS_* environment variables)")]
    Env {
        /// The variable.
        var: String,
        /// The cloud's name (`envvars`, or `$OS_CLOUD_NAME`).
        cloud: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
    /// The `OS_*` cloud was asked for, but no such variable is set.
    #[error(
        "cloud {name:?} means the OS_* environment variables, but none is set (OS_CLOUD, \
         OS_CLOUD_NAME, OS_REGION_NAME, OS_CLIENT_CONFIG_FILE and OS_CLIENT_SECURE_FILE alone do \
         not make a cloud); source the cloud's openrc file, or name a cloud of clouds.yaml"
    )]
    NoEnvCloud {
        /// The name asked for.
        name: String,
    },
    /// clouds.yaml uses the name reserved for the `OS_*` cloud (openstacksdk refuses this too).
    #[error(
        "{path}: defines a cloud named {name:?}, the name of the cloud made of the OS_* \
         environment variables; rename that cloud, or set OS_CLOUD_NAME to another name"
    )]
    EnvNameTaken {
        /// The file.
        path: PathBuf,
        /// The name.
        name: String,
    },
    /// The client certificate or key cannot be used.
    #[error("{setting}: {problem}")]
    ClientCert {
        /// The setting (`<clouds.yaml>: clouds.NAME.cert`, `OS_KEY`, …).
        setting: String,
        /// What is wrong and how to fix it.
        problem: String,
    },
}

/// A secret string: never shown by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret.
    pub fn new(s: impl Into<String>) -> Secret {
        Secret(s.into())
    }
    /// The secret itself, for the one place that sends it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How to authenticate against Keystone v3.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// `password` / `v3password`.
    Password {
        /// `username` (or None when `user_id` is used).
        username: Option<String>,
        /// `user_id`.
        user_id: Option<String>,
        /// The password.
        password: Secret,
        /// `user_domain_name` / `user_domain_id` (default name `Default`).
        user_domain: Domain,
        /// Project scope.
        project: ProjectScope,
    },
    /// `v3applicationcredential`.
    ApplicationCredential {
        /// `application_credential_id`.
        id: Option<String>,
        /// `application_credential_name` (needs the user).
        name: Option<String>,
        /// `username` when the name is used.
        username: Option<String>,
        /// `user_domain_*` when the name is used.
        user_domain: Domain,
        /// The secret.
        secret: Secret,
    },
    /// `v3token` / `token`: an existing token, rescoped to the project.
    Token {
        /// The token (`token`, `OS_TOKEN`).
        token: Secret,
        /// Project scope.
        project: ProjectScope,
    },
}

impl Auth {
    /// The credential's secret (password, application credential secret or token), for
    /// masking it in messages.
    pub(crate) fn secret(&self) -> &Secret {
        match self {
            Auth::Password { password, .. } => password,
            Auth::ApplicationCredential { secret, .. } => secret,
            Auth::Token { token, .. } => token,
        }
    }
}

/// A domain given by name or id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Domain {
    /// By name.
    Name(String),
    /// By id.
    Id(String),
}

/// The project to scope the token to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectScope {
    /// `project_id`.
    Id(String),
    /// `project_name` in a domain.
    Name {
        /// Project name.
        name: String,
        /// Its domain.
        domain: Domain,
    },
}

/// TLS settings of a cloud.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tls {
    /// `cacert`: PEM bundle to trust in addition to the system roots.
    pub cacert: Option<PathBuf>,
    /// `verify: false` or `insecure: true`: do not verify certificates.
    pub insecure: bool,
    /// `cert` (and `key`): the client certificate presented to the cloud.
    pub client_cert: Option<ClientCert>,
}

/// Where a cloud's settings came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CloudSource {
    /// A clouds.yaml (secure.yaml and a clouds-public.yaml profile merged in).
    File(PathBuf),
    /// The `OS_*` environment variables (openstacksdk's `envvars` cloud).
    Environment,
}

/// One cloud entry, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudConfig {
    /// The cloud's name (in clouds.yaml, or `envvars`).
    pub name: String,
    /// Where it came from (for messages).
    pub source: CloudSource,
    /// Keystone v3 URL, normalised to end in `/v3`.
    pub auth_url: String,
    /// Credentials.
    pub auth: Auth,
    /// `region_name` (None: any region).
    pub region: Option<String>,
    /// `interface` (default `public`).
    pub interface: String,
    /// TLS options.
    pub tls: Tls,
    /// `scs_cert_allow_link_local: true`: accept catalog endpoints on link-local or
    /// unspecified IP addresses (169.254.0.0/16, 0.0.0.0, fe80::/10, ::), which are refused
    /// by default because they reach cloud-metadata services (default false).
    pub allow_link_local: bool,
}

/// A snapshot of the environment variables this module reads. Tests build their own with
/// [`Environment::from_pairs`] instead of changing the process environment.
#[derive(Clone, Default)]
pub struct Environment {
    vars: BTreeMap<String, String>,
}

impl Environment {
    /// The process environment (variables whose name and value are UTF-8).
    pub fn process() -> Environment {
        Environment {
            vars: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// An environment of exactly these variables.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Environment {
        Environment {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// A variable's value; an empty value counts as unset.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// All set (non-empty) variables, sorted by name.
    fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.vars
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl fmt::Debug for Environment {
    /// Names only: the values hold passwords and tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.vars.keys()).finish()
    }
}

/// The cloud to use when none is named on the command line, as openstacksdk chooses it:
/// `OS_CLOUD`, else the cloud made of the `OS_*` variables when there is one.
pub fn default_cloud_name(env: &Environment) -> Option<String> {
    if let Some(c) = env.get("OS_CLOUD") {
        return Some(c.to_string());
    }
    envvars::cloud(env).map(|_| envvars::cloud_name(env))
}

/// Load cloud `name` from `file` or the usual locations, or from the process's `OS_*`
/// variables when `name` is `envvars` (see [`load_with`]).
pub fn load(name: &str, file: Option<&Path>) -> Result<CloudConfig, CloudsError> {
    load_with(name, file, &Environment::process())
}

/// Load cloud `name` as openstacksdk does. The name of the environment's cloud (`envvars`,
/// or `$OS_CLOUD_NAME`) means the `OS_*` variables; any other name is an entry of clouds.yaml
/// (`file`, else `$OS_CLIENT_CONFIG_FILE`, `./clouds.yaml`, …), with secure.yaml merged over
/// it and its `profile:` from clouds-public.yaml under it. A clouds.yaml that defines the
/// environment cloud's name is refused, as openstacksdk refuses it. The client certificate,
/// if any, is read and checked here, so that a bad one is an error of the configuration.
pub fn load_with(
    name: &str,
    file: Option<&Path>,
    env: &Environment,
) -> Result<CloudConfig, CloudsError> {
    let env_name = envvars::cloud_name(env);
    let env_cloud = envvars::cloud(env);
    let candidates = match file {
        Some(f) => vec![f.to_path_buf()],
        None => files::candidates("clouds", "OS_CLIENT_CONFIG_FILE", env),
    };
    let found = candidates.iter().find(|p| p.is_file()).cloned();
    if let (Some(f), None) = (file, &found) {
        return Err(CloudsError::NotFound {
            looked: f.display().to_string(),
            hint: String::new(),
        });
    }
    let doc = match found {
        Some(path) => {
            let doc = files::read_with_secure(&path, env)?;
            if files::cloud_names(&doc).any(|n| n == env_name) {
                return Err(CloudsError::EnvNameTaken {
                    path,
                    name: env_name,
                });
            }
            Some((path, doc))
        }
        None => None,
    };
    let config = if name == env_name {
        let Some(cloud) = env_cloud else {
            return Err(CloudsError::NoEnvCloud {
                name: name.to_string(),
            });
        };
        resolve::resolve(&cloud.entry, &resolve::Origin::env(&env_name, &cloud), env)?
    } else {
        let Some((path, doc)) = doc else {
            let hint = match env_cloud {
                Some(_) => format!(
                    "; the OS_* environment variables make the cloud {env_name:?} (--os-cloud {env_name})"
                ),
                None => String::new(),
            };
            return Err(CloudsError::NotFound {
                looked: files::looked_at(&candidates),
                hint,
            });
        };
        let env_cloud_name = env_cloud.is_some().then_some(&env_name);
        let mut entry = find_cloud(&doc, name, &path, env_cloud_name)?.clone();
        files::apply_profile(&mut entry, name, &path, &env_name, env)?;
        resolve::resolve(&entry, &resolve::Origin::file(&path, name), env)?
    };
    if let Some(cert) = &config.tls.client_cert {
        cert.check()?;
    }
    Ok(config)
}

/// Resolve cloud `name` from a parsed clouds.yaml document (no profile, no files read): find
/// the entry, normalise it as openstacksdk does, then read its authentication, TLS settings,
/// region and interface. (Tests, and [`crate::untrusted`] for fuzzing, use it.)
pub(crate) fn from_value(doc: &Value, name: &str, path: &Path) -> Result<CloudConfig, CloudsError> {
    let entry = find_cloud(doc, name, path, None)?;
    resolve::resolve(
        entry,
        &resolve::Origin::file(path, name),
        &Environment::default(),
    )
}

/// The entry `clouds.<name>`, or an error listing the names there are (and the environment's
/// cloud, when there is one).
fn find_cloud<'a>(
    doc: &'a Value,
    name: &str,
    path: &Path,
    env_cloud: Option<&String>,
) -> Result<&'a Value, CloudsError> {
    let clouds = doc.get("clouds").and_then(Value::as_object);
    clouds.and_then(|c| c.get(name)).ok_or_else(|| {
        let mut known: Vec<String> = files::cloud_names(doc).map(|n| format!("{n:?}")).collect();
        if let Some(e) = env_cloud {
            known.push(format!("{e:?} (the OS_* environment variables)"));
        }
        CloudsError::NoSuchCloud {
            path: path.to_path_buf(),
            name: name.to_string(),
            known: if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            },
        }
    })
}

/// `http://k:5000` → `http://k:5000/v3`; `.../v3/` → `.../v3`.
/// (openstacksdk discovers the version; we accept the common spellings.)
pub(crate) fn normalise_auth_url(url: &str) -> String {
    let u = url.trim_end_matches('/');
    if u.ends_with("/v3") {
        u.to_string()
    } else {
        format!("{u}/v3")
    }
}

#[cfg(test)]
mod tests;

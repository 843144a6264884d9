//! clouds.yaml and secure.yaml, as openstacksdk reads them.
//!
//! Owns: finding the files (`OS_CLIENT_CONFIG_FILE`, `./clouds.yaml`,
//! `~/.config/openstack/clouds.yaml`, `/etc/openstack/clouds.yaml`; the same
//! for `secure.yaml` with `OS_CLIENT_SECURE_FILE`), merging secure.yaml over
//! clouds.yaml, and turning one cloud entry into a typed [`CloudConfig`].
//!
//! Must never: log or print a password, secret or token ([`Secret`] redacts
//! itself in `Debug`), or guess credentials that are not in the files.

use serde_json::Value;
use std::fmt;
use std::path::{Path, PathBuf};

/// Errors reading cloud configuration. Each names the file or field and the fix.
#[derive(Debug, thiserror::Error)]
pub enum CloudsError {
    /// No clouds.yaml anywhere.
    #[error(
        "no clouds.yaml found (looked at {0}); create one or point OS_CLIENT_CONFIG_FILE at it"
    )]
    NotFound(String),
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
        /// The parser's message.
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
    /// A field is missing or has the wrong type.
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
}

/// One cloud entry, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudConfig {
    /// The cloud's name in clouds.yaml.
    pub name: String,
    /// The file it came from (for messages).
    pub source: PathBuf,
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

/// Where the files are looked for, in order.
pub(crate) fn candidate_paths(file: &str, env_var: &str) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = std::env::var_os(env_var) {
        v.push(PathBuf::from(p));
    }
    v.push(PathBuf::from(file));
    if let Some(home) = std::env::var_os("HOME") {
        v.push(Path::new(&home).join(".config/openstack").join(file));
    }
    v.push(Path::new("/etc/openstack").join(file));
    v
}

fn read_yaml(path: &Path) -> Result<Value, CloudsError> {
    let text = std::fs::read_to_string(path).map_err(|source| CloudsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    yaml_serde::from_str::<Value>(&text).map_err(|e| CloudsError::Yaml {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

/// Deep-merge `over` into `base` (maps merged, everything else replaced).
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(bv) => merge(bv, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Load cloud `name` from `file`, or else from the usual locations.
pub fn load(name: &str, file: Option<&Path>) -> Result<CloudConfig, CloudsError> {
    let candidates = match file {
        Some(f) => vec![f.to_path_buf()],
        None => candidate_paths("clouds.yaml", "OS_CLIENT_CONFIG_FILE"),
    };
    let Some(path) = candidates.iter().find(|p| p.is_file()).cloned() else {
        let list: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
        return Err(CloudsError::NotFound(list.join(", ")));
    };
    let mut doc = read_yaml(&path)?;
    if let Some(secure) = candidate_paths("secure.yaml", "OS_CLIENT_SECURE_FILE")
        .into_iter()
        .find(|p| p.is_file())
    {
        let s = read_yaml(&secure)?;
        merge(&mut doc, &s);
    }
    from_value(&doc, name, &path)
}

fn str_field(cloud: &Value, key: &str) -> Option<String> {
    match cloud.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn bool_field(cloud: &Value, key: &str) -> Option<bool> {
    match cloud.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" => Some(true),
            "false" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Resolve cloud `name` from a parsed clouds.yaml document: find the entry, then read its
/// authentication, then its TLS settings, region and interface.
pub(crate) fn from_value(doc: &Value, name: &str, path: &Path) -> Result<CloudConfig, CloudsError> {
    let cloud = find_cloud(doc, name, path)?;
    let field_err = |field: &str, problem: &str| CloudsError::Field {
        path: path.to_path_buf(),
        cloud: name.to_string(),
        field: field.to_string(),
        problem: problem.to_string(),
    };
    let auth = cloud.get("auth").filter(|a| a.is_object()).ok_or_else(|| {
        field_err(
            "auth",
            "missing; add an `auth:` map with auth_url and credentials",
        )
    })?;
    let auth_url = str_field(auth, "auth_url")
        .ok_or_else(|| field_err("auth.auth_url", "missing; set it to the Keystone URL"))?;
    Ok(CloudConfig {
        name: name.to_string(),
        source: path.to_path_buf(),
        auth_url: normalise_auth_url(&auth_url),
        auth: read_auth(cloud, auth, &field_err)?,
        region: str_field(cloud, "region_name"),
        interface: str_field(cloud, "interface")
            .or_else(|| str_field(cloud, "endpoint_type"))
            .map(|i| i.trim_end_matches("URL").to_string())
            .unwrap_or_else(|| "public".to_string()),
        tls: read_tls(cloud, path),
        allow_link_local: match cloud.get("scs_cert_allow_link_local") {
            None => false,
            Some(_) => bool_field(cloud, "scs_cert_allow_link_local")
                .ok_or_else(|| field_err("scs_cert_allow_link_local", "must be true or false"))?,
        },
    })
}

/// The entry `clouds.<name>`, or an error listing the names there are.
fn find_cloud<'a>(doc: &'a Value, name: &str, path: &Path) -> Result<&'a Value, CloudsError> {
    let clouds = doc.get("clouds").and_then(Value::as_object);
    clouds.and_then(|c| c.get(name)).ok_or_else(|| {
        let known = clouds
            .map(|c| c.keys().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        CloudsError::NoSuchCloud {
            path: path.to_path_buf(),
            name: name.to_string(),
            known,
        }
    })
}

/// A domain given by id or name under `id_key`/`name_key`, else the generic
/// `domain_id`/`domain_name`, else `Default`.
fn domain_of(auth: &Value, id_key: &str, name_key: &str) -> Domain {
    str_field(auth, id_key)
        .map(Domain::Id)
        .or_else(|| str_field(auth, name_key).map(Domain::Name))
        .or_else(|| str_field(auth, "domain_id").map(Domain::Id))
        .or_else(|| str_field(auth, "domain_name").map(Domain::Name))
        .unwrap_or_else(|| Domain::Name("Default".to_string()))
}

/// The credentials: `auth_type` (default: application credential when its secret is
/// there, else password) and the fields that type needs.
fn read_auth(
    cloud: &Value,
    auth: &Value,
    field_err: &dyn Fn(&str, &str) -> CloudsError,
) -> Result<Auth, CloudsError> {
    let auth_type = str_field(cloud, "auth_type").unwrap_or_else(|| {
        if auth.get("application_credential_secret").is_some() {
            "v3applicationcredential".to_string()
        } else {
            "password".to_string()
        }
    });
    let user_domain = domain_of(auth, "user_domain_id", "user_domain_name");
    match auth_type.as_str() {
        "password" | "v3password" => read_password_auth(auth, user_domain, field_err),
        "v3applicationcredential" => read_application_credential(auth, user_domain, field_err),
        other => Err(field_err(
            "auth_type",
            &format!("{other:?} is not supported; use password or v3applicationcredential"),
        )),
    }
}

/// `password`: a user (name or id), its password and a project scope.
fn read_password_auth(
    auth: &Value,
    user_domain: Domain,
    field_err: &dyn Fn(&str, &str) -> CloudsError,
) -> Result<Auth, CloudsError> {
    let password = str_field(auth, "password").ok_or_else(|| {
        field_err(
            "auth.password",
            "missing; put it in clouds.yaml or secure.yaml",
        )
    })?;
    let username = str_field(auth, "username");
    let user_id = str_field(auth, "user_id");
    if username.is_none() && user_id.is_none() {
        return Err(field_err(
            "auth.username",
            "missing; set username (or user_id)",
        ));
    }
    let project = if let Some(id) = str_field(auth, "project_id") {
        ProjectScope::Id(id)
    } else if let Some(pname) = str_field(auth, "project_name") {
        ProjectScope::Name {
            name: pname,
            domain: domain_of(auth, "project_domain_id", "project_domain_name"),
        }
    } else {
        return Err(field_err(
            "auth.project_name",
            "missing; the checks need a project-scoped token: set project_name or project_id",
        ));
    };
    Ok(Auth::Password {
        username,
        user_id,
        password: Secret::new(password),
        user_domain,
        project,
    })
}

/// `v3applicationcredential`: its secret and its id (or name plus user name).
fn read_application_credential(
    auth: &Value,
    user_domain: Domain,
    field_err: &dyn Fn(&str, &str) -> CloudsError,
) -> Result<Auth, CloudsError> {
    let secret = str_field(auth, "application_credential_secret").ok_or_else(|| {
        field_err(
            "auth.application_credential_secret",
            "missing; put it in clouds.yaml or secure.yaml",
        )
    })?;
    let id = str_field(auth, "application_credential_id");
    let cname = str_field(auth, "application_credential_name");
    let username = str_field(auth, "username");
    if id.is_none() && (cname.is_none() || username.is_none()) {
        return Err(field_err(
            "auth.application_credential_id",
            "missing; set application_credential_id (or the name plus username)",
        ));
    }
    Ok(Auth::ApplicationCredential {
        id,
        name: cname,
        username,
        user_domain,
        secret: Secret::new(secret),
    })
}

/// `insecure`/`verify` and `cacert` (relative to the clouds.yaml file).
fn read_tls(cloud: &Value, path: &Path) -> Tls {
    let insecure = bool_field(cloud, "insecure").unwrap_or(false)
        || bool_field(cloud, "verify").map(|v| !v).unwrap_or(false);
    let cacert = str_field(cloud, "cacert").map(|c| {
        let p = PathBuf::from(&c);
        if p.is_absolute() {
            p
        } else {
            path.parent().map(|d| d.join(&p)).unwrap_or(p)
        }
    });
    Tls { cacert, insecure }
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
mod tests {
    use super::*;

    fn doc(y: &str) -> Value {
        yaml_serde::from_str(y).unwrap()
    }

    #[test]
    fn password_cloud() {
        let d = doc(
            "clouds:\n  c:\n    auth:\n      auth_url: https://k:5000/\n      username: u\n      password: p\n      project_name: pr\n      project_domain_id: default\n    region_name: R1\n    interface: internal\n    verify: false\n    cacert: ca.pem\n",
        );
        let c = from_value(&d, "c", Path::new("/x/clouds.yaml")).unwrap();
        assert_eq!(c.auth_url, "https://k:5000/v3");
        assert_eq!(c.region.as_deref(), Some("R1"));
        assert_eq!(c.interface, "internal");
        assert!(c.tls.insecure);
        assert_eq!(c.tls.cacert, Some(PathBuf::from("/x/ca.pem")));
        match c.auth {
            Auth::Password {
                username,
                project,
                user_domain,
                ..
            } => {
                assert_eq!(username.as_deref(), Some("u"));
                assert_eq!(user_domain, Domain::Name("Default".into()));
                assert_eq!(
                    project,
                    ProjectScope::Name {
                        name: "pr".into(),
                        domain: Domain::Id("default".into())
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(!format!("{:?}", from_value(&d, "c", Path::new("x")).unwrap()).contains("\"p\""));
    }

    #[test]
    fn appcred_and_errors() {
        let d = doc(
            "clouds:\n  a:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: http://k/identity/v3\n      application_credential_id: id1\n      application_credential_secret: s\n",
        );
        let c = from_value(&d, "a", Path::new("c.yaml")).unwrap();
        assert!(
            matches!(c.auth, Auth::ApplicationCredential { ref id, .. } if id.as_deref() == Some("id1"))
        );
        assert_eq!(c.interface, "public");
        let e = from_value(&d, "zzz", Path::new("c.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no cloud named \"zzz\"") && e.contains("known: a"),
            "{e}"
        );
        let d = doc(
            "clouds:\n  b:\n    auth:\n      auth_url: http://k\n      username: u\n      project_name: p\n",
        );
        let e = from_value(&d, "b", Path::new("c.yaml"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "c.yaml: clouds.b.auth.password: missing; put it in clouds.yaml or secure.yaml"
        );
    }

    /// Hardening, hole 4: link-local catalog endpoints are refused unless the cloud's entry
    /// says `scs_cert_allow_link_local: true`.
    #[test]
    fn link_local_allowance() {
        let base = "clouds:\n  c:\n    auth:\n      auth_url: http://k\n      username: u\n      password: p\n      project_id: x\n";
        let c = from_value(&doc(base), "c", Path::new("c.yaml")).unwrap();
        assert!(!c.allow_link_local);
        for (v, want) in [("true", true), ("false", false), ("\"yes\"", true)] {
            let d = doc(&format!("{base}    scs_cert_allow_link_local: {v}\n"));
            let c = from_value(&d, "c", Path::new("c.yaml")).unwrap();
            assert_eq!(c.allow_link_local, want, "{v}");
        }
        let d = doc(&format!("{base}    scs_cert_allow_link_local: maybe\n"));
        let e = from_value(&d, "c", Path::new("c.yaml"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "c.yaml: clouds.c.scs_cert_allow_link_local: must be true or false"
        );
    }

    #[test]
    fn secure_merge() {
        let mut base = doc("clouds:\n  c:\n    auth:\n      username: u\n");
        merge(
            &mut base,
            &doc("clouds:\n  c:\n    auth:\n      password: p\n"),
        );
        assert_eq!(base["clouds"]["c"]["auth"]["username"], "u");
        assert_eq!(base["clouds"]["c"]["auth"]["password"], "p");
    }
}

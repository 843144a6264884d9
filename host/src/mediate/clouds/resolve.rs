//! One cloud entry (from clouds.yaml or the `OS_*` variables) into a typed [`CloudConfig`].
//!
//! Owns: the auth type (given, or chosen from the credentials there are), the fields each type
//! needs, the TLS settings (`cacert`, `cert`, `key`, `insecure`, `verify`), region and
//! interface; and one error line for every missing, wrong or contradictory setting, naming it
//! the way the operator wrote it (`clouds.NAME.auth.password` in a file, `OS_PASSWORD` in the
//! environment) with the fix.
//!
//! Must never: read a file, put a password, secret or token into a message, or fill in a
//! credential that was not given.

use super::envvars::{self, EnvCloud};
use super::normalise::normalise;
use super::tls::ClientCert;
use super::{
    Auth, CloudConfig, CloudSource, CloudsError, Domain, Environment, ProjectScope, Secret, Tls,
    normalise_auth_url,
};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where an entry came from: names its settings in messages.
pub(super) enum Origin<'a> {
    /// A clouds.yaml entry.
    File {
        /// The clouds.yaml.
        path: &'a Path,
        /// The cloud's name.
        cloud: &'a str,
    },
    /// The `OS_*` variables.
    Env {
        /// The cloud's name.
        cloud: &'a str,
        /// Setting → variable.
        vars: &'a BTreeMap<String, String>,
    },
}

impl<'a> Origin<'a> {
    /// An entry of `path`.
    pub(super) fn file(path: &'a Path, cloud: &'a str) -> Origin<'a> {
        Origin::File { path, cloud }
    }

    /// The environment's cloud.
    pub(super) fn env(cloud: &'a str, c: &'a EnvCloud) -> Origin<'a> {
        Origin::Env {
            cloud,
            vars: &c.vars,
        }
    }

    fn is_env(&self) -> bool {
        matches!(self, Origin::Env { .. })
    }

    /// The setting as a hint names it: `auth.password` or `OS_PASSWORD`.
    fn name(&self, key: &str) -> String {
        match self {
            Origin::File { .. } => key.to_string(),
            Origin::Env { vars, .. } => envvars::var_for(key, vars),
        }
    }

    /// The setting in full, for errors outside a [`CloudsError::Field`]/[`CloudsError::Env`].
    fn setting(&self, key: &str) -> String {
        match self {
            Origin::File { path, cloud } => format!("{}: clouds.{cloud}.{key}", path.display()),
            Origin::Env { vars, .. } => envvars::var_for(key, vars),
        }
    }

    /// "set auth.x" / "export OS_X".
    fn set(&self, key: &str) -> String {
        match self {
            Origin::File { .. } => format!("set {key}"),
            Origin::Env { vars, .. } => format!("export {}", envvars::var_for(key, vars)),
        }
    }

    /// The error for setting `key`.
    fn err(&self, key: &str, problem: impl Into<String>) -> CloudsError {
        match self {
            Origin::File { path, cloud } => CloudsError::Field {
                path: path.to_path_buf(),
                cloud: cloud.to_string(),
                field: key.to_string(),
                problem: problem.into(),
            },
            Origin::Env { cloud, vars } => CloudsError::Env {
                var: envvars::var_for(key, vars),
                cloud: cloud.to_string(),
                problem: problem.into(),
            },
        }
    }

    /// A secret that is not there: where to put it.
    fn missing_secret(&self, key: &str) -> CloudsError {
        match self {
            Origin::File { .. } => self.err(key, "missing; put it in clouds.yaml or secure.yaml"),
            Origin::Env { .. } => self.err(
                key,
                format!(
                    "not set; {} (source the cloud's openrc file)",
                    self.set(key)
                ),
            ),
        }
    }

    /// "missing" / "not set".
    fn missing_word(&self) -> &'static str {
        if self.is_env() { "not set" } else { "missing" }
    }
}

/// A string setting (numbers as their text).
fn str_field(map: &Map<String, Value>, key: &str) -> Option<String> {
    match map.get(key)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A value as messages may quote it (never used for credentials).
fn quoted(v: &Value) -> String {
    let text = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!("{:?}", crate::errtext::bounded_text(&text, 60))
}

/// A true/false setting. In a file: a YAML boolean or `true`/`false`/`yes`/`no`/`1`/`0`; in
/// the environment only `true` or `false` (any case), since openstacksdk takes nothing but
/// `true` as true there and scs-cert will not guess at anything else.
fn bool_field(
    map: &Map<String, Value>,
    key: &str,
    origin: &Origin<'_>,
) -> Result<Option<bool>, CloudsError> {
    let Some(v) = map.get(key) else {
        return Ok(None);
    };
    let parsed = match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match (s.to_ascii_lowercase().as_str(), origin.is_env()) {
            ("true", _) => Some(true),
            ("false", _) => Some(false),
            ("yes" | "1", false) => Some(true),
            ("no" | "0", false) => Some(false),
            _ => None,
        },
        _ => None,
    };
    match parsed {
        Some(b) => Ok(Some(b)),
        None if origin.is_env() => Err(origin.err(
            key,
            format!("{} is not true or false; set it to one of them", quoted(v)),
        )),
        None => Err(origin.err(key, "must be true or false")),
    }
}

/// Resolve one entry. `env` gives `HOME` for `~/` in file paths.
pub(super) fn resolve(
    entry: &Value,
    origin: &Origin<'_>,
    env: &Environment,
) -> Result<CloudConfig, CloudsError> {
    let cloud = normalise(entry).map_err(|key| match key {
        "" => origin.err(
            "(entry)",
            "is not a mapping; give the cloud's settings as `key: value` lines",
        ),
        k => origin.err(
            k,
            "is not a mapping; add an `auth:` map with auth_url and credentials",
        ),
    })?;
    let empty = Map::new();
    let auth = cloud
        .get("auth")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let auth_url = str_field(auth, "auth_url").ok_or_else(|| missing_auth_url(auth, origin))?;
    let (name, source) = match origin {
        Origin::File { path, cloud } => (cloud.to_string(), CloudSource::File(path.to_path_buf())),
        Origin::Env { cloud, .. } => (cloud.to_string(), CloudSource::Environment),
    };
    Ok(CloudConfig {
        name,
        source,
        auth_url: normalise_auth_url(&auth_url),
        auth: read_auth(&cloud, auth, origin)?,
        region: str_field(&cloud, "region_name")
            .and_then(|r| r.split(',').next().map(str::trim).map(str::to_string))
            .filter(|r| !r.is_empty()),
        interface: read_interface(&cloud, origin)?,
        tls: read_tls(&cloud, origin, env)?,
        allow_link_local: bool_field(&cloud, "scs_cert_allow_link_local", origin)?.unwrap_or(false),
    })
}

/// No `auth_url`: in the environment, say which credential is set without it.
fn missing_auth_url(auth: &Map<String, Value>, origin: &Origin<'_>) -> CloudsError {
    match origin {
        Origin::File { .. } => origin.err("auth.auth_url", "missing; set it to the Keystone URL"),
        Origin::Env { .. } => {
            let with = [
                "password",
                "application_credential_secret",
                "token",
                "username",
            ]
            .into_iter()
            .find(|k| auth.contains_key(*k))
            .map(|k| format!(", but {} is", origin.name(k)))
            .unwrap_or_default();
            origin.err(
                "auth.auth_url",
                format!(
                    "not set{with}; export OS_AUTH_URL=<the Keystone URL> (source the cloud's \
                     openrc file)"
                ),
            )
        }
    }
}

/// Which auth plugin.
enum Kind {
    Password,
    ApplicationCredential,
    Token,
}

/// The credentials: `auth_type` as given, or else chosen as openstackclient chooses it: an
/// application credential when its secret is there, a token when there is a token and no
/// password, else a password.
fn read_auth(
    cloud: &Map<String, Value>,
    auth: &Map<String, Value>,
    origin: &Origin<'_>,
) -> Result<Auth, CloudsError> {
    let kind = match str_field(cloud, "auth_type").as_deref() {
        None if auth.contains_key("application_credential_secret") => Kind::ApplicationCredential,
        None if auth.contains_key("token") && !auth.contains_key("password") => Kind::Token,
        None | Some("password" | "v3password") => Kind::Password,
        Some("v3applicationcredential") => Kind::ApplicationCredential,
        Some("token" | "v3token") => Kind::Token,
        Some(other) => {
            return Err(origin.err(
                "auth_type",
                format!(
                    "{:?} is not supported; use password, v3applicationcredential or v3token",
                    crate::errtext::bounded_text(other, 60)
                ),
            ));
        }
    };
    let user_domain = domain_of(auth, "user_domain_id", "user_domain_name");
    match kind {
        Kind::Password => read_password(cloud, auth, user_domain, origin),
        Kind::ApplicationCredential => read_application_credential(auth, user_domain, origin),
        Kind::Token => read_token(auth, origin),
    }
}

/// A domain given by id or name under `id_key`/`name_key`, else the generic
/// `domain_id`/`domain_name`, else `Default`.
fn domain_of(auth: &Map<String, Value>, id_key: &str, name_key: &str) -> Domain {
    str_field(auth, id_key)
        .map(Domain::Id)
        .or_else(|| str_field(auth, name_key).map(Domain::Name))
        .or_else(|| str_field(auth, "domain_id").map(Domain::Id))
        .or_else(|| str_field(auth, "domain_name").map(Domain::Name))
        .unwrap_or_else(|| Domain::Name("Default".to_string()))
}

/// The project scope every check needs.
fn project_scope(
    auth: &Map<String, Value>,
    origin: &Origin<'_>,
) -> Result<ProjectScope, CloudsError> {
    if let Some(id) = str_field(auth, "project_id") {
        return Ok(ProjectScope::Id(id));
    }
    if let Some(name) = str_field(auth, "project_name") {
        return Ok(ProjectScope::Name {
            name,
            domain: domain_of(auth, "project_domain_id", "project_domain_name"),
        });
    }
    let domain_only = ["domain_id", "domain_name"]
        .into_iter()
        .find(|k| auth.contains_key(*k))
        .map(|k| {
            format!(
                " ({} scopes to a domain, which is not enough)",
                origin.name(k)
            )
        })
        .unwrap_or_default();
    Err(origin.err(
        "auth.project_name",
        format!(
            "{}; the checks need a project-scoped token: {} or {}{domain_only}",
            origin.missing_word(),
            origin.set("auth.project_name"),
            origin.name("auth.project_id"),
        ),
    ))
}

/// `password`: a user (name or id), its password and a project scope.
fn read_password(
    cloud: &Map<String, Value>,
    auth: &Map<String, Value>,
    user_domain: Domain,
    origin: &Origin<'_>,
) -> Result<Auth, CloudsError> {
    let Some(password) = str_field(auth, "password") else {
        // a password auth named explicitly, but the credential there is another kind
        let other = [
            ("application_credential_secret", "v3applicationcredential"),
            ("token", "v3token"),
        ]
        .into_iter()
        .find(|(k, _)| auth.contains_key(*k));
        if let (Some((key, kind)), Some(t)) = (other, str_field(cloud, "auth_type")) {
            return Err(origin.err(
                "auth.password",
                format!(
                    "{}, but {} is; {} names the auth type {t:?}: set it to {kind}, or give the \
                     password",
                    origin.missing_word(),
                    origin.name(key),
                    origin.name("auth_type"),
                ),
            ));
        }
        return Err(origin.missing_secret("auth.password"));
    };
    let username = str_field(auth, "username");
    let user_id = str_field(auth, "user_id");
    if username.is_none() && user_id.is_none() {
        return Err(origin.err(
            "auth.username",
            format!(
                "{}; {} (or {})",
                origin.missing_word(),
                origin.set("auth.username"),
                origin.name("auth.user_id")
            ),
        ));
    }
    Ok(Auth::Password {
        username,
        user_id,
        password: Secret::new(password),
        user_domain,
        project: project_scope(auth, origin)?,
    })
}

/// `v3applicationcredential`: its secret and its id (or name plus user name).
fn read_application_credential(
    auth: &Map<String, Value>,
    user_domain: Domain,
    origin: &Origin<'_>,
) -> Result<Auth, CloudsError> {
    let secret = str_field(auth, "application_credential_secret")
        .ok_or_else(|| origin.missing_secret("auth.application_credential_secret"))?;
    let id = str_field(auth, "application_credential_id");
    let name = str_field(auth, "application_credential_name");
    let username = str_field(auth, "username");
    if id.is_none() && (name.is_none() || username.is_none()) {
        return Err(origin.err(
            "auth.application_credential_id",
            format!(
                "{}; {} (or {} plus {})",
                origin.missing_word(),
                origin.set("auth.application_credential_id"),
                origin.name("auth.application_credential_name"),
                origin.name("auth.username"),
            ),
        ));
    }
    Ok(Auth::ApplicationCredential {
        id,
        name,
        username,
        user_domain,
        secret: Secret::new(secret),
    })
}

/// `v3token`: the token and a project scope.
fn read_token(auth: &Map<String, Value>, origin: &Origin<'_>) -> Result<Auth, CloudsError> {
    let Some(token) = str_field(auth, "token") else {
        return Err(origin.err(
            "auth.token",
            format!(
                "{}, but the auth type is v3token; {} (e.g. from `openstack token issue -f value \
                 -c id`), or use another auth type",
                origin.missing_word(),
                origin.set("auth.token"),
            ),
        ));
    };
    Ok(Auth::Token {
        token: Secret::new(token),
        project: project_scope(auth, origin)?,
    })
}

/// `interface` (`publicURL` read as `public`) [default: `public`].
fn read_interface(cloud: &Map<String, Value>, origin: &Origin<'_>) -> Result<String, CloudsError> {
    let Some(v) = cloud.get("interface") else {
        return Ok("public".to_string());
    };
    let interface = str_field(cloud, "interface")
        .map(|i| i.trim_end_matches("URL").to_string())
        .unwrap_or_default();
    if ["public", "internal", "admin"].contains(&interface.as_str()) {
        Ok(interface)
    } else {
        Err(origin.err(
            "interface",
            format!(
                "{} is not an interface; use public, internal or admin",
                quoted(v)
            ),
        ))
    }
}

/// A file setting: `~/` is the home directory; a relative path is relative to the clouds.yaml
/// (in the environment: to the working directory).
fn path_field(
    cloud: &Map<String, Value>,
    key: &str,
    origin: &Origin<'_>,
    env: &Environment,
) -> Result<Option<PathBuf>, CloudsError> {
    let Some(v) = cloud.get(key) else {
        return Ok(None);
    };
    let Some(text) = v.as_str().filter(|s| !s.is_empty()) else {
        return Err(origin.err(key, "must be a file path"));
    };
    let p = match (text.strip_prefix("~/"), env.get("HOME")) {
        (Some(rest), Some(home)) => Path::new(home).join(rest),
        _ => PathBuf::from(text),
    };
    Ok(Some(match origin {
        Origin::File { path, .. } if p.is_relative() => {
            path.parent().map(|d| d.join(&p)).unwrap_or(p)
        }
        _ => p,
    }))
}

/// `insecure`/`verify`, `cacert`, and the client certificate `cert`/`key`.
fn read_tls(
    cloud: &Map<String, Value>,
    origin: &Origin<'_>,
    env: &Environment,
) -> Result<Tls, CloudsError> {
    let insecure = bool_field(cloud, "insecure", origin)?.unwrap_or(false)
        || bool_field(cloud, "verify", origin)?.is_some_and(|v| !v);
    let cacert = path_field(cloud, "cacert", origin, env)?;
    let cert = path_field(cloud, "cert", origin, env)?;
    let key = path_field(cloud, "key", origin, env)?;
    let client_cert = match (cert, key) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(origin.err(
                "key",
                format!(
                    "is set, but {} is not; {} to the client certificate, or remove {}",
                    origin.name("cert"),
                    origin.set("cert"),
                    origin.name("key"),
                ),
            ));
        }
        (Some(cert), key) => Some(ClientCert::new(
            cert,
            key,
            origin.setting("cert"),
            origin.setting("key"),
            origin.name("key"),
        )),
    };
    Ok(Tls {
        cacert,
        insecure,
        client_cert,
    })
}

//! kubeconfig files as kubectl reads them: which files (the scope variable `kubeconfig`, else
//! `$KUBECONFIG`, a `:`-separated list merged by kubectl's rules, else `~/.kube/config`),
//! which context (`--context`, else `current-context`), and that context's cluster and user,
//! resolved into one [`ClusterConfig`] with every file reference read (relative to the file
//! that names it) and every credential wrapped as a [`Secret`].
//!
//! kubectl's merge rules (kubernetes.io, "Organizing Cluster Access Using kubeconfig Files"):
//! empty file names are ignored, files that do not exist are skipped, a file that cannot be
//! parsed is an error; the first file to set a value or a map key wins and it is never
//! changed: the first `current-context` stays, and of two clusters (users, contexts) with the
//! same name only the first file's entry is used, whole.
//!
//! Must never: print, log or put into an error message a credential (tokens, passwords, keys,
//! `-data` fields), read a file without a size bound, or run anything (exec plugins are
//! [`super::exec`]'s).

use super::exec::{ExecApiVersion, ExecConfig, Interactive};
use crate::mediate::clouds::Secret;
use base64::Engine as _;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Largest kubeconfig file read.
pub const MAX_KUBECONFIG_BYTES: u64 = 4 << 20;
/// Largest file a kubeconfig refers to (CA, client certificate and key, token file).
pub const MAX_REFERENCED_BYTES: u64 = 1 << 20;

/// An unusable kubeconfig. Each names the file (or the files searched) and the fix; none
/// contains a credential.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// No kubeconfig file exists where it was looked for.
    #[error(
        "no kubeconfig: {tried}; pass -a kubeconfig=PATH, set KUBECONFIG, or create ~/.kube/config"
    )]
    NotFound {
        /// What was tried.
        tried: String,
    },
    /// A file could not be read.
    #[error("{path}: cannot read the kubeconfig: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A file is not a kubeconfig.
    #[error("{path}: not a kubeconfig: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// No context was asked for and none is current.
    #[error("{files}: no current-context; pass --context NAME (contexts: {available})")]
    NoContext {
        /// The files read.
        files: String,
        /// The contexts they define.
        available: String,
    },
    /// The context does not exist.
    #[error(
        "{files}: context {name:?} not found (contexts: {available}); pass --context with one of them"
    )]
    UnknownContext {
        /// The files read.
        files: String,
        /// The context.
        name: String,
        /// The contexts they define.
        available: String,
    },
    /// The context names a cluster or user that no file defines.
    #[error("{files}: context {context:?} names {kind} {name:?}, which no kubeconfig file defines")]
    Dangling {
        /// The files read.
        files: String,
        /// The context.
        context: String,
        /// `cluster` or `user`.
        kind: &'static str,
        /// The missing name.
        name: String,
    },
    /// A field of the context's cluster or user is unusable.
    #[error("{file}: {kind} {name:?}: {field}: {message}")]
    Field {
        /// The file that defines the cluster or user.
        file: String,
        /// `cluster` or `user`.
        kind: &'static str,
        /// Its name.
        name: String,
        /// The field.
        field: &'static str,
        /// What is wrong and the fix.
        message: String,
    },
}

/// Where the kubeconfig comes from, in kubectl's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KubeconfigSource {
    /// One file, no merging (the scope variable `kubeconfig`, the official `-a kubeconfig=PATH`,
    /// like kubectl's `--kubeconfig`). It must exist.
    Explicit(PathBuf),
    /// `$KUBECONFIG`: files merged in order; empty names are ignored, missing files skipped.
    Env(Vec<PathBuf>),
    /// `~/.kube/config`. It must exist.
    Home(PathBuf),
}

impl KubeconfigSource {
    /// kubectl's choice: `explicit`, else `$KUBECONFIG` (`kubeconfig_env`) when set and not
    /// empty, else `$HOME/.kube/config`.
    pub fn locate(
        explicit: Option<&str>,
        kubeconfig_env: Option<&str>,
        home: Option<&Path>,
    ) -> Result<KubeconfigSource, KubeconfigError> {
        if let Some(p) = explicit.filter(|p| !p.is_empty()) {
            return Ok(KubeconfigSource::Explicit(PathBuf::from(p)));
        }
        if let Some(list) = kubeconfig_env.filter(|l| !l.is_empty()) {
            let files: Vec<PathBuf> = list
                .split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect();
            if !files.is_empty() {
                return Ok(KubeconfigSource::Env(files));
            }
        }
        match home {
            Some(h) => Ok(KubeconfigSource::Home(h.join(".kube/config"))),
            None => Err(KubeconfigError::NotFound {
                tried: "no kubeconfig variable, KUBECONFIG unset and no HOME".to_string(),
            }),
        }
    }

    /// The process's choice (`$KUBECONFIG`, `$HOME`).
    pub fn from_process(explicit: Option<&str>) -> Result<KubeconfigSource, KubeconfigError> {
        let env = std::env::var("KUBECONFIG").ok();
        let home = std::env::var_os("HOME").map(PathBuf::from);
        KubeconfigSource::locate(explicit, env.as_deref(), home.as_deref())
    }
}

// ---- the file format (client-go's clientcmd/api/v1), only the fields scs-cert reads ----

#[derive(Debug, Default, Deserialize)]
struct RawConfig {
    #[serde(rename = "current-context", default)]
    current_context: Option<String>,
    #[serde(default)]
    clusters: Option<Vec<NamedCluster>>,
    #[serde(default)]
    contexts: Option<Vec<NamedContext>>,
    #[serde(default)]
    users: Option<Vec<NamedUser>>,
}

#[derive(Debug, Deserialize)]
struct NamedCluster {
    name: String,
    #[serde(default)]
    cluster: RawCluster,
}

#[derive(Debug, Deserialize)]
struct NamedContext {
    name: String,
    #[serde(default)]
    context: RawContext,
}

#[derive(Debug, Deserialize)]
struct NamedUser {
    name: String,
    #[serde(default)]
    user: RawUser,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawCluster {
    server: Option<String>,
    certificate_authority: Option<String>,
    certificate_authority_data: Option<String>,
    insecure_skip_tls_verify: Option<bool>,
    tls_server_name: Option<String>,
    proxy_url: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
struct RawContext {
    #[serde(default)]
    cluster: String,
    #[serde(default)]
    user: String,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawUser {
    client_certificate: Option<String>,
    client_certificate_data: Option<String>,
    client_key: Option<String>,
    client_key_data: Option<String>,
    token: Option<String>,
    #[serde(rename = "tokenFile")]
    token_file: Option<String>,
    username: Option<String>,
    password: Option<String>,
    exec: Option<RawExec>,
    auth_provider: Option<serde_json::Value>,
    #[serde(rename = "as")]
    impersonate: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawExec {
    #[serde(default)]
    command: String,
    #[serde(default)]
    args: Option<Vec<String>>,
    #[serde(default)]
    env: Option<Vec<RawEnv>>,
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    install_hint: Option<String>,
    #[serde(default)]
    provide_cluster_info: bool,
    #[serde(default)]
    interactive_mode: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct RawEnv {
    name: String,
    #[serde(default)]
    value: String,
}

// ---- merging ----

/// The merged kubeconfig: every name with the file that defined it first.
#[derive(Debug, Default)]
pub struct Merged {
    files: Vec<PathBuf>,
    current_context: Option<String>,
    clusters: BTreeMap<String, (PathBuf, RawCluster)>,
    contexts: BTreeMap<String, RawContext>,
    users: BTreeMap<String, (PathBuf, RawUser)>,
}

impl Merged {
    /// The files that contributed, for messages.
    fn files_text(&self) -> String {
        self.files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":")
    }

    fn contexts_text(&self) -> String {
        if self.contexts.is_empty() {
            "none".to_string()
        } else {
            self.contexts.keys().cloned().collect::<Vec<_>>().join(", ")
        }
    }

    /// The current context after merging (the first file's that set one).
    pub fn current_context(&self) -> Option<&str> {
        self.current_context.as_deref()
    }

    /// One kubeconfig file's bytes as if read from `path` (relative references resolve
    /// against it): what [`load`] does for each file it reads.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<Merged, KubeconfigError> {
        let mut merged = Merged::default();
        merged.add(path, parse(path, bytes)?);
        Ok(merged)
    }

    /// Add one file's content after the ones already merged (first one wins).
    fn add(&mut self, path: &Path, raw: RawConfig) {
        self.files.push(path.to_path_buf());
        if self.current_context.is_none()
            && let Some(c) = raw.current_context.filter(|c| !c.is_empty())
        {
            self.current_context = Some(c);
        }
        for c in raw.clusters.unwrap_or_default() {
            self.clusters
                .entry(c.name)
                .or_insert_with(|| (path.to_path_buf(), c.cluster));
        }
        for c in raw.contexts.unwrap_or_default() {
            self.contexts.entry(c.name).or_insert(c.context);
        }
        for u in raw.users.unwrap_or_default() {
            self.users
                .entry(u.name)
                .or_insert_with(|| (path.to_path_buf(), u.user));
        }
    }
}

fn parse(path: &Path, bytes: &[u8]) -> Result<RawConfig, KubeconfigError> {
    let text = std::str::from_utf8(bytes).map_err(|_| KubeconfigError::Parse {
        path: path.display().to_string(),
        message: "not UTF-8 text".to_string(),
    })?;
    if text.trim().is_empty() {
        return Ok(RawConfig::default());
    }
    yaml_serde::from_str::<RawConfig>(text).map_err(|e| KubeconfigError::Parse {
        path: path.display().to_string(),
        message: crate::errtext::one_line(&e.to_string()),
    })
}

fn read_file(path: &Path) -> Result<Option<Vec<u8>>, KubeconfigError> {
    match crate::fsutil::read_bounded(path, MAX_KUBECONFIG_BYTES) {
        Ok(b) => Ok(Some(b)),
        Err(crate::fsutil::ReadError::Io { source, .. })
            if source.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(None)
        }
        Err(e) => Err(KubeconfigError::Read {
            path: path.display().to_string(),
            message: read_error_text(&e),
        }),
    }
}

fn read_error_text(e: &crate::fsutil::ReadError) -> String {
    match e {
        crate::fsutil::ReadError::Io { source, .. } => source.to_string(),
        crate::fsutil::ReadError::NotRegular { .. } => "not a regular file".to_string(),
        crate::fsutil::ReadError::TooLarge { limit, .. } => {
            format!("larger than {limit} bytes")
        }
    }
}

/// Read and merge the files of `source` (kubectl's rules, see the module documentation).
pub fn load(source: &KubeconfigSource) -> Result<Merged, KubeconfigError> {
    let mut merged = Merged::default();
    match source {
        KubeconfigSource::Explicit(p) | KubeconfigSource::Home(p) => match read_file(p)? {
            Some(b) => merged.add(p, parse(p, &b)?),
            None => {
                return Err(KubeconfigError::NotFound {
                    tried: format!("{} does not exist", p.display()),
                });
            }
        },
        KubeconfigSource::Env(list) => {
            for p in list {
                if let Some(b) = read_file(p)? {
                    merged.add(p, parse(p, &b)?);
                }
            }
            if merged.files.is_empty() {
                return Err(KubeconfigError::NotFound {
                    tried: format!(
                        "none of the files in KUBECONFIG exists ({})",
                        list.iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(":")
                    ),
                });
            }
        }
    }
    Ok(merged)
}

// ---- the resolved cluster ----

/// How the host authenticates to the API server (besides a client certificate).
#[derive(Debug, Clone)]
pub enum UserAuth {
    /// No header (client certificate only, or anonymous).
    None,
    /// `Authorization: Bearer` with `token`.
    Bearer(Secret),
    /// `Authorization: Bearer` with the contents of `tokenFile`: read at load (so an unusable
    /// file stops the run), then again as client-go does, once a minute and when the server
    /// answers 401 (projected service-account tokens are rotated in place).
    TokenFile {
        /// The file (relative paths resolved against the kubeconfig).
        path: PathBuf,
        /// Its contents at load.
        token: Secret,
    },
    /// `Authorization: Basic` (`username`/`password`).
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: Secret,
    },
    /// An exec credential plugin.
    Exec(ExecConfig),
}

/// The context's cluster and user, with every file read: what [`super::Cluster`] needs.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// The context used.
    pub context: String,
    /// The API server (`server`), scheme http or https, no user info, query or fragment.
    pub server: reqwest::Url,
    /// The CA bundle (PEM), when the cluster names one; only it is trusted then.
    pub ca_pem: Option<Vec<u8>>,
    /// `insecure-skip-tls-verify`.
    pub insecure: bool,
    /// `tls-server-name`: the name the server's certificate is checked against.
    pub tls_server_name: Option<String>,
    /// `proxy-url` (http or https).
    pub proxy_url: Option<reqwest::Url>,
    /// Client certificate and key (PEM, concatenated as reqwest reads them).
    pub client_identity: Option<Secret>,
    /// Token, basic or exec.
    pub auth: UserAuth,
    /// The file that defines the cluster (for messages).
    pub cluster_file: PathBuf,
    /// The file that defines the user (for messages).
    pub user_file: PathBuf,
}

impl Merged {
    /// Resolve `context` (else the current context) into its cluster and user.
    pub fn resolve(&self, context: Option<&str>) -> Result<ClusterConfig, KubeconfigError> {
        let name = match context.filter(|c| !c.is_empty()) {
            Some(c) => c.to_string(),
            None => self
                .current_context
                .clone()
                .ok_or_else(|| KubeconfigError::NoContext {
                    files: self.files_text(),
                    available: self.contexts_text(),
                })?,
        };
        let ctx = self
            .contexts
            .get(&name)
            .ok_or_else(|| KubeconfigError::UnknownContext {
                files: self.files_text(),
                name: name.clone(),
                available: self.contexts_text(),
            })?;
        let dangling = |kind, n: &str| KubeconfigError::Dangling {
            files: self.files_text(),
            context: name.clone(),
            kind,
            name: n.to_string(),
        };
        let (cluster_file, cluster) = self
            .clusters
            .get(&ctx.cluster)
            .ok_or_else(|| dangling("cluster", &ctx.cluster))?;
        let (user_file, user) = match self.users.get(&ctx.user) {
            Some((f, u)) => (f.clone(), u.clone()),
            // kubectl allows a context without a user (anonymous); a named but missing user is
            // a mistake
            None if ctx.user.is_empty() => (cluster_file.clone(), RawUser::default()),
            None => return Err(dangling("user", &ctx.user)),
        };
        let c = resolve_cluster(cluster_file, &ctx.cluster, cluster)?;
        let (client_identity, auth) = resolve_user(&user_file, &ctx.user, &user, &c)?;
        Ok(ClusterConfig {
            context: name,
            server: c.server,
            ca_pem: c.ca_pem,
            insecure: c.insecure,
            tls_server_name: c.tls_server_name,
            proxy_url: c.proxy_url,
            client_identity,
            auth,
            cluster_file: cluster_file.clone(),
            user_file,
        })
    }
}

struct ResolvedCluster {
    server: reqwest::Url,
    /// `server` as the kubeconfig writes it (handed to exec plugins unchanged).
    server_text: String,
    ca_pem: Option<Vec<u8>>,
    insecure: bool,
    tls_server_name: Option<String>,
    proxy_url: Option<reqwest::Url>,
}

/// A file reference of a kubeconfig: absolute, or relative to the kubeconfig's directory.
pub(crate) fn relative_to(file: &Path, reference: &str) -> PathBuf {
    let p = PathBuf::from(reference);
    if p.is_absolute() {
        return p;
    }
    file.parent().map(|d| d.join(&p)).unwrap_or(p)
}

fn resolve_cluster(
    file: &Path,
    name: &str,
    c: &RawCluster,
) -> Result<ResolvedCluster, KubeconfigError> {
    let field_err = |field, message: String| KubeconfigError::Field {
        file: file.display().to_string(),
        kind: "cluster",
        name: name.to_string(),
        field,
        message,
    };
    let server_text = c
        .server
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| field_err("server", "missing; set the API server URL".to_string()))?;
    let server = reqwest::Url::parse(server_text).map_err(|e| {
        field_err(
            "server",
            format!(
                "{:?} is not a URL ({e})",
                crate::errtext::bounded_text(server_text, 200)
            ),
        )
    })?;
    if !matches!(server.scheme(), "https" | "http")
        || !server.username().is_empty()
        || server.password().is_some()
        || server.query().is_some()
        || server.fragment().is_some()
        || server.host_str().is_none()
    {
        return Err(field_err(
            "server",
            "must be an http or https URL without user info, query or fragment".to_string(),
        ));
    }
    let ca_pem = match (&c.certificate_authority_data, &c.certificate_authority) {
        (Some(d), _) if !d.is_empty() => {
            Some(decode_data(d).map_err(|m| field_err("certificate-authority-data", m))?)
        }
        (_, Some(p)) if !p.is_empty() => {
            let path = relative_to(file, p);
            Some(read_referenced(&path).map_err(|m| field_err("certificate-authority", m))?)
        }
        _ => None,
    };
    if let Some(pem) = &ca_pem {
        let field = if c
            .certificate_authority_data
            .as_deref()
            .is_some_and(|d| !d.is_empty())
        {
            "certificate-authority-data"
        } else {
            "certificate-authority"
        };
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
            field_err(
                field,
                format!("not a PEM CA bundle ({})", crate::errtext::error_chain(&e)),
            )
        })?;
        if certs.is_empty() {
            return Err(field_err(
                field,
                "not a PEM CA bundle (no certificate in it)".to_string(),
            ));
        }
    }
    let insecure = c.insecure_skip_tls_verify.unwrap_or(false);
    if insecure && ca_pem.is_some() {
        // client-go refuses this combination too
        return Err(field_err(
            "insecure-skip-tls-verify",
            "cannot be combined with a certificate authority; remove one of them".to_string(),
        ));
    }
    let proxy_url = match c.proxy_url.as_deref().filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => {
            let u = reqwest::Url::parse(p).map_err(|e| {
                field_err(
                    "proxy-url",
                    format!("not a URL ({e}); use http:// or https://"),
                )
            })?;
            if !matches!(u.scheme(), "http" | "https") {
                return Err(field_err(
                    "proxy-url",
                    format!(
                        "scheme {:?} is not supported by scs-cert (http and https proxies are); \
                         remove proxy-url or use an HTTP proxy",
                        u.scheme()
                    ),
                ));
            }
            Some(u)
        }
    };
    Ok(ResolvedCluster {
        server,
        server_text: server_text.to_string(),
        ca_pem,
        insecure,
        tls_server_name: c.tls_server_name.clone().filter(|s| !s.is_empty()),
        proxy_url,
    })
}

fn resolve_user(
    file: &Path,
    name: &str,
    u: &RawUser,
    cluster: &ResolvedCluster,
) -> Result<(Option<Secret>, UserAuth), KubeconfigError> {
    let field_err = |field, message: String| KubeconfigError::Field {
        file: file.display().to_string(),
        kind: "user",
        name: name.to_string(),
        field,
        message,
    };
    if u.auth_provider.is_some() {
        return Err(field_err(
            "auth-provider",
            "auth-provider plugins were removed from kubectl; use an exec plugin \
             (e.g. kubelogin) instead"
                .to_string(),
        ));
    }
    if u.impersonate.is_some() {
        return Err(field_err(
            "as",
            "impersonation is not supported by scs-cert; certify as the user itself".to_string(),
        ));
    }
    let nonempty = |o: &Option<String>| o.as_deref().is_some_and(|s| !s.is_empty());
    // client certificate: -data wins over the file, as in client-go
    let cert = if nonempty(&u.client_certificate_data) {
        Some(
            decode_data(u.client_certificate_data.as_deref().unwrap_or_default())
                .map_err(|m| field_err("client-certificate-data", m))?,
        )
    } else if let Some(p) = u.client_certificate.as_deref().filter(|p| !p.is_empty()) {
        Some(
            read_referenced(&relative_to(file, p))
                .map_err(|m| field_err("client-certificate", m))?,
        )
    } else {
        None
    };
    let key = if nonempty(&u.client_key_data) {
        Some(
            decode_data(u.client_key_data.as_deref().unwrap_or_default())
                .map_err(|m| field_err("client-key-data", m))?,
        )
    } else if let Some(p) = u.client_key.as_deref().filter(|p| !p.is_empty()) {
        Some(read_referenced(&relative_to(file, p)).map_err(|m| field_err("client-key", m))?)
    } else {
        None
    };
    let identity = match (cert, key) {
        (None, None) => None,
        (Some(_), None) => {
            return Err(field_err(
                "client-key",
                "missing; a client certificate needs its key".to_string(),
            ));
        }
        (None, Some(_)) => {
            return Err(field_err(
                "client-certificate",
                "missing; a client key needs its certificate".to_string(),
            ));
        }
        (Some(mut c), Some(k)) => {
            c.push(b'\n');
            c.extend_from_slice(&k);
            let pem = String::from_utf8(c)
                .map_err(|_| field_err("client-certificate", "not PEM text".to_string()))?;
            reqwest::Identity::from_pem(pem.as_bytes()).map_err(|e| {
                field_err(
                    "client-certificate",
                    format!(
                        "not a usable certificate and key ({})",
                        crate::errtext::error_chain(&e)
                    ),
                )
            })?;
            Some(Secret::new(pem))
        }
    };
    let has_token = nonempty(&u.token) || nonempty(&u.token_file);
    let has_basic = nonempty(&u.username) || nonempty(&u.password);
    let has_exec = u.exec.is_some();
    if [has_token, has_basic, has_exec]
        .iter()
        .filter(|b| **b)
        .count()
        > 1
    {
        return Err(field_err(
            "user",
            "more than one authentication method (token, username/password, exec); \
             kubectl allows one, keep one"
                .to_string(),
        ));
    }
    let auth = if nonempty(&u.token) {
        UserAuth::Bearer(Secret::new(u.token.clone().unwrap_or_default()))
    } else if let Some(p) = u.token_file.as_deref().filter(|p| !p.is_empty()) {
        let path = relative_to(file, p);
        let token = read_token_file(&path).map_err(|m| field_err("tokenFile", m))?;
        UserAuth::TokenFile { path, token }
    } else if has_basic {
        UserAuth::Basic {
            username: u.username.clone().unwrap_or_default(),
            password: Secret::new(u.password.clone().unwrap_or_default()),
        }
    } else if let Some(e) = &u.exec {
        UserAuth::Exec(resolve_exec(file, e, cluster).map_err(|m| field_err("exec", m))?)
    } else {
        UserAuth::None
    };
    Ok((identity, auth))
}

fn resolve_exec(file: &Path, e: &RawExec, cluster: &ResolvedCluster) -> Result<ExecConfig, String> {
    if e.command.is_empty() {
        return Err("command: missing; name the credential plugin".to_string());
    }
    let api_version = match e.api_version.as_str() {
        "client.authentication.k8s.io/v1" => ExecApiVersion::V1,
        "client.authentication.k8s.io/v1beta1" => ExecApiVersion::V1Beta1,
        other => {
            return Err(format!(
                "apiVersion {other:?} is not supported; use client.authentication.k8s.io/v1 or \
                 client.authentication.k8s.io/v1beta1"
            ));
        }
    };
    let interactive = match (e.interactive_mode.as_deref(), api_version) {
        (Some("Never"), _) => Interactive::Never,
        (Some("IfAvailable"), _) => Interactive::IfAvailable,
        (Some("Always"), _) => Interactive::Always,
        // v1beta1 defaults to IfAvailable; v1 requires the field (client-go validation)
        (None | Some(""), ExecApiVersion::V1Beta1) => Interactive::IfAvailable,
        (None | Some(""), ExecApiVersion::V1) => {
            return Err(
                "interactiveMode: required for client.authentication.k8s.io/v1; set Never \
                 (scs-cert runs plugins without a terminal)"
                    .to_string(),
            );
        }
        (Some(other), _) => {
            return Err(format!(
                "interactiveMode {other:?}: use Never, IfAvailable or Always"
            ));
        }
    };
    // client-go resolves a command with a path separator relative to the kubeconfig; a bare
    // name is looked up in PATH
    let command = if e.command.contains('/') {
        relative_to(file, &e.command)
    } else {
        PathBuf::from(&e.command)
    };
    Ok(ExecConfig {
        command,
        args: e.args.clone().unwrap_or_default(),
        env: e
            .env
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|v| (v.name, v.value))
            .collect(),
        api_version,
        interactive,
        install_hint: e.install_hint.clone(),
        cluster_info: e.provide_cluster_info.then(|| super::exec::PluginCluster {
            server: cluster.server_text.clone(),
            tls_server_name: cluster.tls_server_name.clone(),
            insecure: cluster.insecure,
            ca_pem: cluster.ca_pem.clone(),
            proxy_url: cluster.proxy_url.as_ref().map(|u| u.to_string()),
        }),
    })
}

/// Base64 `-data` fields (standard alphabet, whitespace ignored).
fn decode_data(text: &str) -> Result<Vec<u8>, String> {
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|e| format!("not base64 ({e})"))
}

/// The token in a `tokenFile` (trimmed; empty or not UTF-8 is an error).
pub(crate) fn read_token_file(path: &Path) -> Result<Secret, String> {
    let bytes = read_referenced(path)?;
    let text =
        String::from_utf8(bytes).map_err(|_| format!("{}: not UTF-8 text", path.display()))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(format!("{}: the file is empty", path.display()));
    }
    Ok(Secret::new(token))
}

fn read_referenced(path: &Path) -> Result<Vec<u8>, String> {
    crate::fsutil::read_bounded(path, MAX_REFERENCED_BYTES)
        .map_err(|e| format!("cannot read {}: {}", path.display(), read_error_text(&e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    const A: &str = "
current-context: a
clusters:
- name: c1
  cluster: {server: 'https://one.example:6443', insecure-skip-tls-verify: true}
- name: shared
  cluster: {server: 'https://first.example'}
contexts:
- name: a
  context: {cluster: c1, user: u1}
- name: s
  context: {cluster: shared, user: u1}
users:
- name: u1
  user: {token: first-token}
";

    const B: &str = "
current-context: b
clusters:
- name: shared
  cluster: {server: 'https://second.example', tls-server-name: ignored}
- name: c2
  cluster: {server: 'https://two.example'}
contexts:
- name: a
  context: {cluster: c2, user: u2}
- name: b
  context: {cluster: c2, user: u2}
users:
- name: u1
  user: {username: x, password: y}
- name: u2
  user: {tokenFile: tok}
";

    /// kubectl's merge rules: the first file to set a value or a map key wins, whole entries.
    #[test]
    fn merge_rules_first_file_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = write(dir.path(), "a.yaml", A);
        let b = write(dir.path(), "b.yaml", B);
        write(dir.path(), "tok", "token-from-file\n");
        let missing = dir.path().join("missing.yaml");
        let env = format!("{}::{}:{}", a.display(), missing.display(), b.display());
        let src = KubeconfigSource::locate(None, Some(&env), None).expect("locate");
        assert_eq!(
            src,
            KubeconfigSource::Env(vec![a.clone(), missing, b.clone()]),
            "empty names are ignored"
        );
        let m = load(&src).expect("merge");
        assert_eq!(
            m.current_context(),
            Some("a"),
            "the first current-context stays"
        );
        let c = m.resolve(None).expect("resolve");
        assert_eq!(c.server.as_str(), "https://one.example:6443/");
        assert!(c.insecure);
        assert!(
            matches!(c.auth, UserAuth::Bearer(_)),
            "u1 of the first file"
        );
        // `shared` from the first file, whole: the second file's tls-server-name is discarded
        let s = m.resolve(Some("s")).expect("s");
        assert_eq!(s.server.host_str(), Some("first.example"));
        assert_eq!(s.tls_server_name, None);
        // a context only the second file has, with its tokenFile relative to that file
        let b_ctx = m.resolve(Some("b")).expect("b");
        assert_eq!(b_ctx.server.host_str(), Some("two.example"));
        match &b_ctx.auth {
            UserAuth::TokenFile { path, token } => {
                assert_eq!(token.expose(), "token-from-file");
                assert_eq!(path, &dir.path().join("tok"));
            }
            other => panic!("{other:?}"),
        }
        // order matters: b first makes b's current-context and b's u1 win
        let env = format!("{}:{}", b.display(), a.display());
        let m = load(&KubeconfigSource::locate(None, Some(&env), None).expect("locate"))
            .expect("merge");
        assert_eq!(m.current_context(), Some("b"));
        let s = m.resolve(Some("s")).expect("s");
        assert_eq!(s.server.host_str(), Some("second.example"));
        assert!(matches!(s.auth, UserAuth::Basic { .. }));
    }

    #[test]
    fn source_order_and_errors() {
        let home = Path::new("/home/x");
        assert_eq!(
            KubeconfigSource::locate(Some("/k"), Some("/a:/b"), Some(home)).expect("explicit"),
            KubeconfigSource::Explicit("/k".into())
        );
        assert_eq!(
            KubeconfigSource::locate(None, Some(""), Some(home)).expect("home"),
            KubeconfigSource::Home("/home/x/.kube/config".into())
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let e = load(&KubeconfigSource::Explicit(dir.path().join("nope"))).expect_err("missing");
        assert!(e.to_string().contains("does not exist"), "{e}");
        let bad = write(dir.path(), "bad.yaml", "clusters: [1, 2");
        let e = load(&KubeconfigSource::Explicit(bad)).expect_err("bad");
        assert!(e.to_string().contains("not a kubeconfig"), "{e}");
        let a = write(dir.path(), "a.yaml", A);
        let m = load(&KubeconfigSource::Explicit(a)).expect("a");
        let e = m.resolve(Some("zzz")).expect_err("unknown");
        assert!(
            e.to_string()
                .contains("context \"zzz\" not found (contexts: a, s)"),
            "{e}"
        );
    }

    #[test]
    fn fields_are_checked_and_secrets_never_shown() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = "
current-context: x
clusters:
- name: c
  cluster: {server: 'https://h', certificate-authority: ca.pem}
contexts:
- name: x
  context: {cluster: c, user: u}
users:
- name: u
  user: {token: s3cr3t-token, username: a, password: s3cr3t-pw}
";
        let p = write(dir.path(), "k.yaml", cfg);
        let m = load(&KubeconfigSource::Explicit(p)).expect("load");
        let e = m.resolve(None).expect_err("no CA").to_string();
        assert!(e.contains("certificate-authority: cannot read"), "{e}");
        assert!(
            e.contains(&dir.path().join("ca.pem").display().to_string()),
            "{e}"
        );
        write(dir.path(), "ca.pem", "not pem");
        let e = m.resolve(None).expect_err("bad CA").to_string();
        assert!(e.contains("not a PEM CA bundle"), "{e}");
        assert!(!e.contains("s3cr3t"), "{e}");
        let cfg2 = cfg.replace(
            "certificate-authority: ca.pem",
            "proxy-url: 'socks5://p:1080'",
        );
        let p = write(dir.path(), "k2.yaml", &cfg2);
        let e = load(&KubeconfigSource::Explicit(p))
            .expect("load")
            .resolve(None)
            .expect_err("socks")
            .to_string();
        assert!(
            e.contains("proxy-url: scheme \"socks5\" is not supported"),
            "{e}"
        );
        let cfg3 = cfg.replace(
            "certificate-authority: ca.pem",
            "insecure-skip-tls-verify: false",
        );
        let p = write(dir.path(), "k3.yaml", &cfg3);
        let e = load(&KubeconfigSource::Explicit(p))
            .expect("load")
            .resolve(None)
            .expect_err("two methods")
            .to_string();
        assert!(e.contains("more than one authentication method"), "{e}");
        assert!(!e.contains("s3cr3t"), "{e}");
    }

    #[test]
    fn exec_settings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cfg = |api: &str, mode: &str| {
            format!(
                "
current-context: x
clusters: [{{name: c, cluster: {{server: 'https://h'}}}}]
contexts: [{{name: x, context: {{cluster: c, user: u}}}}]
users:
- name: u
  user:
    exec: {{apiVersion: '{api}', command: ./bin/plugin, args: [a], env: [{{name: K, value: V}}]{mode}}}
"
            )
        };
        let p = write(
            dir.path(),
            "v1.yaml",
            &cfg("client.authentication.k8s.io/v1", ""),
        );
        let e = load(&KubeconfigSource::Explicit(p))
            .expect("load")
            .resolve(None);
        assert!(
            e.expect_err("v1 needs interactiveMode")
                .to_string()
                .contains("interactiveMode")
        );
        let p = write(
            dir.path(),
            "v1b.yaml",
            &cfg("client.authentication.k8s.io/v1beta1", ""),
        );
        let c = load(&KubeconfigSource::Explicit(p))
            .expect("load")
            .resolve(None)
            .expect("ok");
        match c.auth {
            UserAuth::Exec(x) => {
                assert_eq!(x.command, dir.path().join("./bin/plugin"));
                assert_eq!(x.interactive, Interactive::IfAvailable);
                assert_eq!(x.env, vec![("K".to_string(), "V".to_string())]);
            }
            other => panic!("{other:?}"),
        }
        let p = write(
            dir.path(),
            "a1.yaml",
            &cfg(
                "client.authentication.k8s.io/v1alpha1",
                ", interactiveMode: Never",
            ),
        );
        let e = load(&KubeconfigSource::Explicit(p))
            .expect("load")
            .resolve(None);
        assert!(
            e.expect_err("v1alpha1")
                .to_string()
                .contains("not supported")
        );
    }
}

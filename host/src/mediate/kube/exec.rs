//! Exec credential plugins (client-go's `exec` user, `client.authentication.k8s.io/v1` and
//! `v1beta1`): run the command with its arguments and environment (the host's environment
//! plus the kubeconfig's `env` and `KUBERNETES_EXEC_INFO`, an `ExecCredential` with `spec`),
//! without a terminal (`interactiveMode: Always` is refused), bounded in time and in output;
//! read the `ExecCredential` it prints: `status.token`, or `status.clientCertificateData` and
//! `status.clientKeyData`, and `status.expirationTimestamp` (the caller runs the plugin again
//! once that has passed).
//!
//! Must never: show the plugin's output or a credential in an error or log line (errors name
//! the command, the exit status and at most 200 characters of the plugin's stderr), wait for a
//! plugin beyond its time bound (it is killed), or keep more than the output bound in memory.

use crate::mediate::clouds::Secret;
use base64::Engine as _;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The plugin protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecApiVersion {
    /// `client.authentication.k8s.io/v1`.
    V1,
    /// `client.authentication.k8s.io/v1beta1`.
    V1Beta1,
}

impl ExecApiVersion {
    /// The apiVersion string.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecApiVersion::V1 => "client.authentication.k8s.io/v1",
            ExecApiVersion::V1Beta1 => "client.authentication.k8s.io/v1beta1",
        }
    }
}

/// `interactiveMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interactive {
    /// Never uses stdin.
    Never,
    /// Uses stdin when there is a terminal (scs-cert never gives one).
    IfAvailable,
    /// Needs a terminal: refused.
    Always,
}

/// The cluster as the plugin may see it (`provideClusterInfo: true`).
#[derive(Debug, Clone)]
pub struct PluginCluster {
    /// `server`.
    pub server: String,
    /// `tls-server-name`.
    pub tls_server_name: Option<String>,
    /// `insecure-skip-tls-verify`.
    pub insecure: bool,
    /// The CA bundle.
    pub ca_pem: Option<Vec<u8>>,
    /// `proxy-url`.
    pub proxy_url: Option<String>,
}

/// An exec user of a kubeconfig.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    /// The command (a path relative to the kubeconfig when it contains `/`, else looked up in
    /// `PATH`).
    pub command: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Protocol version.
    pub api_version: ExecApiVersion,
    /// `interactiveMode`.
    pub interactive: Interactive,
    /// `installHint`, shown when the command cannot be started.
    pub install_hint: Option<String>,
    /// The cluster, when `provideClusterInfo` is set.
    pub cluster_info: Option<PluginCluster>,
}

/// What a plugin returned.
#[derive(Debug, Clone)]
pub struct ExecCredential {
    /// `status.token`.
    pub token: Option<Secret>,
    /// `status.clientCertificateData` + `status.clientKeyData`, as one PEM text.
    pub identity: Option<Secret>,
    /// `status.expirationTimestamp`.
    pub expires: Option<chrono::DateTime<chrono::Utc>>,
}

impl ExecCredential {
    /// Whether it must be fetched again (`expirationTimestamp` reached).
    pub fn expired(&self, now: chrono::DateTime<chrono::Utc>) -> bool {
        self.expires.is_some_and(|e| now >= e)
    }
}

/// Why a plugin gave no credential. One line naming the command and the fix; never its
/// output.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    /// `interactiveMode: Always`.
    #[error(
        "exec plugin {command}: interactiveMode Always needs a terminal, and scs-cert runs \
         plugins without one; log in first or use a plugin that can run non-interactively"
    )]
    Interactive {
        /// The command.
        command: String,
    },
    /// It could not be started.
    #[error("exec plugin {command}: cannot start it: {message}{hint}")]
    Spawn {
        /// The command.
        command: String,
        /// Why.
        message: String,
        /// `; installHint` or empty.
        hint: String,
    },
    /// It ran longer than allowed.
    #[error(
        "exec plugin {command}: no credential within {secs} s; it was stopped (raise \
         --exec-timeout if the plugin is just slow)"
    )]
    Timeout {
        /// The command.
        command: String,
        /// The bound.
        secs: u64,
    },
    /// It printed more than allowed.
    #[error("exec plugin {command}: printed more than {limit} bytes; it was stopped")]
    TooLarge {
        /// The command.
        command: String,
        /// The bound.
        limit: usize,
    },
    /// It failed.
    #[error("exec plugin {command}: exited with {status}{stderr}")]
    Failed {
        /// The command.
        command: String,
        /// Exit status.
        status: String,
        /// `: <stderr, bounded>` or empty.
        stderr: String,
    },
    /// Its output is not a usable ExecCredential.
    #[error("exec plugin {command}: {message}")]
    Output {
        /// The command.
        command: String,
        /// What is wrong (never the output itself).
        message: String,
    },
}

/// `KUBERNETES_EXEC_INFO`: the ExecCredential with `spec` that client-go hands a plugin.
pub(crate) fn exec_info(cfg: &ExecConfig) -> String {
    let mut spec = serde_json::json!({ "interactive": false });
    if let Some(c) = &cfg.cluster_info {
        let mut cluster = serde_json::json!({ "server": c.server });
        if let Some(n) = &c.tls_server_name {
            cluster["tls-server-name"] = n.clone().into();
        }
        if c.insecure {
            cluster["insecure-skip-tls-verify"] = true.into();
        }
        if let Some(ca) = &c.ca_pem {
            cluster["certificate-authority-data"] =
                base64::engine::general_purpose::STANDARD.encode(ca).into();
        }
        if let Some(p) = &c.proxy_url {
            cluster["proxy-url"] = p.clone().into();
        }
        spec["cluster"] = cluster;
    }
    serde_json::json!({
        "kind": "ExecCredential",
        "apiVersion": cfg.api_version.as_str(),
        "spec": spec,
    })
    .to_string()
}

/// Run the plugin once: at most `timeout`, at most `max_output` bytes on stdout (stderr is
/// kept to 4 KiB, the rest read and dropped).
pub async fn run(
    cfg: &ExecConfig,
    timeout: Duration,
    max_output: usize,
) -> Result<ExecCredential, ExecError> {
    let command = cfg.command.display().to_string();
    if cfg.interactive == Interactive::Always {
        return Err(ExecError::Interactive { command });
    }
    let mut cmd = tokio::process::Command::new(&cfg.command);
    cmd.args(&cfg.args)
        .envs(cfg.env.iter().map(|(k, v)| (k, v)))
        .env("KUBERNETES_EXEC_INFO", exec_info(cfg))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| ExecError::Spawn {
        command: command.clone(),
        message: e.to_string(),
        hint: cfg
            .install_hint
            .as_deref()
            .map(|h| format!("; {}", crate::errtext::bounded_text(h, 300)))
            .unwrap_or_default(),
    })?;
    let (Some(mut stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
        return Err(ExecError::Output {
            command,
            message: "no output pipes".to_string(),
        });
    };
    // stderr on a task of its own: a plugin that floods stdout is stopped without waiting for
    // its stderr to end
    let err_task = tokio::spawn(async move {
        let mut kept = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = stderr.read(&mut chunk).await {
            if n == 0 {
                break;
            }
            let room = 4096usize.saturating_sub(kept.len());
            kept.extend_from_slice(&chunk[..n.min(room)]);
        }
        kept
    });
    let read_out = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            let n = stdout.read(&mut chunk).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Ok::<_, String>(Some(buf));
            }
            if buf.len() + n > max_output {
                return Ok(None);
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    let out = match tokio::time::timeout(timeout, read_out).await {
        Ok(r) => r,
        Err(_) => {
            let _ = child.kill().await;
            err_task.abort();
            return Err(ExecError::Timeout {
                command,
                secs: timeout.as_secs().max(1),
            });
        }
    };
    let out = match out {
        Ok(Some(o)) => o,
        Ok(None) => {
            let _ = child.kill().await;
            err_task.abort();
            return Err(ExecError::TooLarge {
                command,
                limit: max_output,
            });
        }
        Err(e) => {
            let _ = child.kill().await;
            return Err(ExecError::Output {
                command,
                message: format!("cannot read its output: {e}"),
            });
        }
    };
    let status = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Err(ExecError::Output {
                command,
                message: format!("cannot wait for it: {e}"),
            });
        }
        Err(_) => {
            let _ = child.kill().await;
            return Err(ExecError::Timeout {
                command,
                secs: timeout.as_secs().max(1),
            });
        }
    };
    if !status.success() {
        let err = tokio::time::timeout(Duration::from_secs(1), err_task)
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&err);
        let text = crate::errtext::bounded_text(text.trim(), 200);
        return Err(ExecError::Failed {
            command,
            status: status.to_string(),
            stderr: if text.is_empty() {
                String::new()
            } else {
                format!(": {text}")
            },
        });
    }
    parse_credential(cfg.api_version, &out)
        .map_err(|message| ExecError::Output { command, message })
}

/// Read an ExecCredential printed by a plugin. Errors never quote the output.
pub(crate) fn parse_credential(
    api_version: ExecApiVersion,
    out: &[u8],
) -> Result<ExecCredential, String> {
    let v: serde_json::Value = serde_json::from_slice(out).map_err(|e| {
        format!(
            "its output is not JSON (line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    let got_version = v.get("apiVersion").and_then(|x| x.as_str()).unwrap_or("");
    if got_version != api_version.as_str() {
        return Err(format!(
            "it returned apiVersion {:?}, the kubeconfig asks for {:?}",
            crate::errtext::bounded_text(got_version, 80),
            api_version.as_str()
        ));
    }
    if v.get("kind").and_then(|x| x.as_str()) != Some("ExecCredential") {
        return Err("its output is not of kind ExecCredential".to_string());
    }
    let status = v.get("status").ok_or("its ExecCredential has no status")?;
    let s = |k: &str| {
        status
            .get(k)
            .and_then(|x| x.as_str())
            .filter(|x| !x.is_empty())
            .map(str::to_string)
    };
    let token = s("token").map(Secret::new);
    let identity = match (s("clientCertificateData"), s("clientKeyData")) {
        (Some(c), Some(k)) => {
            let pem = format!("{c}\n{k}");
            reqwest::Identity::from_pem(pem.as_bytes()).map_err(|_| {
                "status.clientCertificateData/clientKeyData are not a usable PEM certificate \
                 and key"
                    .to_string()
            })?;
            Some(Secret::new(pem))
        }
        (None, None) => None,
        _ => {
            return Err(
                "status has only one of clientCertificateData and clientKeyData; it needs both"
                    .to_string(),
            );
        }
    };
    if token.is_none() && identity.is_none() {
        return Err(
            "its ExecCredential has neither status.token nor clientCertificateData and \
             clientKeyData"
                .to_string(),
        );
    }
    let expires = match s("expirationTimestamp") {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(&t)
                .map_err(|_| "status.expirationTimestamp is not an RFC 3339 time".to_string())?
                .with_timezone(&chrono::Utc),
        ),
    };
    Ok(ExecCredential {
        token,
        identity,
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_read_and_checked() {
        let ok = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential",
            "status":{"token":"t0k","expirationTimestamp":"2030-01-02T03:04:05Z"}}"#;
        let c = parse_credential(ExecApiVersion::V1, ok).expect("ok");
        assert_eq!(c.token.as_ref().map(|t| t.expose()), Some("t0k"));
        let exp = c.expires.expect("expiry");
        assert!(!c.expired(exp - chrono::Duration::seconds(1)));
        assert!(c.expired(exp));
        let e = parse_credential(ExecApiVersion::V1Beta1, ok).expect_err("version");
        assert!(
            e.contains("asks for \"client.authentication.k8s.io/v1beta1\""),
            "{e}"
        );
        assert!(!e.contains("t0k"));
        let none = br#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{}}"#;
        assert!(parse_credential(ExecApiVersion::V1, none).is_err());
        let e = parse_credential(ExecApiVersion::V1, b"token: secret-xyz").expect_err("json");
        assert!(!e.contains("secret-xyz"), "{e}");
    }

    #[test]
    fn exec_info_as_client_go_sets_it() {
        let cfg = ExecConfig {
            command: "x".into(),
            args: vec![],
            env: vec![],
            api_version: ExecApiVersion::V1Beta1,
            interactive: Interactive::Never,
            install_hint: None,
            cluster_info: Some(PluginCluster {
                server: "https://h:6443".into(),
                tls_server_name: None,
                insecure: false,
                ca_pem: Some(b"PEM".to_vec()),
                proxy_url: None,
            }),
        };
        let v: serde_json::Value = serde_json::from_str(&exec_info(&cfg)).expect("json");
        assert_eq!(v["apiVersion"], "client.authentication.k8s.io/v1beta1");
        assert_eq!(v["kind"], "ExecCredential");
        assert_eq!(v["spec"]["interactive"], false);
        assert_eq!(v["spec"]["cluster"]["server"], "https://h:6443");
        assert_eq!(v["spec"]["cluster"]["certificate-authority-data"], "UEVN");
    }
}

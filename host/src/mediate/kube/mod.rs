//! Mediated access to a Kubernetes API server (the `kubernetes` interface of the WIT world,
//! used by the checks of the KaaS scope).
//!
//! Owns, one file each:
//! - [`config`]: kubeconfig files as kubectl reads them (`-a kubeconfig=PATH`, else
//!   `$KUBECONFIG` merged by kubectl's rules, else `~/.kube/config`), the context, its cluster
//!   and user, resolved into a [`config::ClusterConfig`];
//! - [`exec`]: exec credential plugins (`client.authentication.k8s.io/v1` and `v1beta1`), run
//!   bounded in time and output;
//! - [`grants`]: the capabilities `kubernetes:<group>/<resource>:read|write` and
//!   `kubernetes:nonresource/<segment>:read`, and the mapping of a request path to
//!   (group, resource) as the API server makes it;
//! - [`request`]: the request and error types of the interface and the rules a request must
//!   pass (absolute plain paths, no credential or impersonation headers);
//! - [`session`]: the run's [`session::Cluster`]: one HTTP client, the credentials, limits,
//!   same-origin redirects, the debug log of every call.
//!
//! Must never: hand a credential (token, password, client key, the output of an exec plugin)
//! to a check, a transcript, a report or a log line; let a check reach any host but the
//! kubeconfig's `server`; impersonate; run an exec plugin without a time and output bound.

pub mod config;
pub mod exec;
pub mod grants;
pub mod request;
pub mod session;

pub use config::{ClusterConfig, KubeconfigError, KubeconfigSource};
pub use grants::{KubeGrantError, KubeGrants};
pub use request::{KubeApiError, KubeRequest};
pub use session::{Cluster, ClusterInfo};

use std::time::Duration;

/// What a run needs to know to find and use a cluster. Defaults per field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeOptions {
    /// The kubeconfig context to use (`scs-cert run --context`) [default: the merged
    /// kubeconfig's `current-context`].
    pub context: Option<String>,
    /// Longest an exec credential plugin may run, each time it runs (`--exec-timeout`)
    /// [default: 30 s].
    pub exec_timeout: Duration,
    /// Most bytes an exec credential plugin may write to stdout [default: 1 MiB]; the
    /// plugin is stopped beyond it.
    pub exec_max_output: usize,
}

impl Default for KubeOptions {
    fn default() -> Self {
        KubeOptions {
            context: None,
            exec_timeout: Duration::from_secs(30),
            exec_max_output: 1 << 20,
        }
    }
}

/// Why a run could not set up its cluster: the kubeconfig (or an exec plugin it names) is
/// unusable. One line naming the file or field and the fix.
#[derive(Debug, thiserror::Error)]
pub enum ClusterSetupError {
    /// The kubeconfig.
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
    /// The exec credential plugin.
    #[error(transparent)]
    Exec(#[from] exec::ExecError),
    /// The HTTP client (TLS material rustls refuses).
    #[error("{source_file}: cluster of context {context:?}: {message}")]
    Client {
        /// The kubeconfig file that defines the cluster or user.
        source_file: String,
        /// The context.
        context: String,
        /// What is wrong and the fix.
        message: String,
    },
}

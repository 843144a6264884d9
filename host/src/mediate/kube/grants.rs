//! What one check may do in a cluster: its `kubernetes:` capabilities, and the decision for
//! each request, made on the (group, resource) the API server itself derives from the path
//! (k8s.io/apiserver `RequestInfoFactory`):
//!
//! - `/api/v1/{resource}[/{name}[/{subresource}…]]` and
//!   `/api/v1/namespaces/{ns}/{resource}[/{name}[/{subresource}…]]`: group `core`;
//! - the same under `/apis/{group}/{version}/`;
//! - `/api/v1/namespaces/{ns}` is the resource `namespaces` (its `status` and `finalize` are
//!   subresources); a leading `watch/` after the version is the deprecated watch verb (a read);
//! - `/api`, `/api/v1`, `/apis`, `/apis/{group}[/{version}]` (discovery) and every path outside
//!   `/api` and `/apis` (`/version`, `/healthz`, `/openapi/v2`) are non-resource paths, named by
//!   their first segment.
//!
//! Capabilities: `kubernetes:<group>/<resource>:read|write` (GET and HEAD, or every method),
//! with `<resource>` a resource (`nodes`), a resource and its subresource (`pods/log`), or `*`
//! (every resource and subresource of the group, as in RBAC); `kubernetes:nonresource/<first
//! segment>:read` (non-resource paths are read-only).
//!
//! Must never: grant more than declared (write implies read; a resource does not imply its
//! subresources; only `*` covers a group), or decide on a path other than the one sent.

use crate::mediate::Access;
use crate::mediate::Method;
use std::collections::BTreeMap;

/// A `kubernetes:` capability that cannot be parsed, or a request outside the grants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KubeGrantError {
    /// Not of either form.
    #[error(
        "capability {0:?} is not of the form kubernetes:<group>/<resource>:read|write (group `core` \
         for /api/v1, resource `*` for all of a group) or kubernetes:nonresource/<segment>:read"
    )]
    Malformed(String),
    /// A write capability for non-resource paths.
    #[error("capability {0:?}: non-resource paths are read-only; declare :read")]
    NonResourceWrite(String),
    /// Not declared.
    #[error("the check did not declare capability {needed} (needed for {method} {path})")]
    Undeclared {
        /// The capability that would allow it.
        needed: String,
        /// The method.
        method: &'static str,
        /// The path.
        path: String,
    },
    /// A write with read access only.
    #[error("{method} {path} needs capability {needed}; the check declared only read")]
    ReadOnly {
        /// The capability that would allow it.
        needed: String,
        /// The method.
        method: &'static str,
        /// The path.
        path: String,
    },
    /// A write to a non-resource path.
    #[error("{method} {path}: non-resource paths are read-only")]
    NonResourceMethod {
        /// The method.
        method: &'static str,
        /// The path.
        path: String,
    },
}

/// What a request path addresses, as the API server sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A resource (or subresource) of an API group.
    Resource {
        /// `core` for `/api/v1`, else the group (`apps`, `networking.k8s.io`).
        group: String,
        /// `nodes`, or `pods/log` for a subresource.
        resource: String,
    },
    /// A non-resource path, by its first segment (`version`, `healthz`, `api`, `apis`).
    NonResource(String),
}

/// Namespace subresources (k8s.io/apiserver `namespaceSubresources`).
const NAMESPACE_SUBRESOURCES: &[&str] = &["status", "finalize"];

/// The target of an absolute path (already validated by [`super::request::validate_path`]).
pub fn target_of(path: &str) -> Target {
    let parts: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let first = parts.first().copied().unwrap_or("").to_string();
    let (group, rest) = match parts.as_slice() {
        ["api", _version, rest @ ..] if !rest.is_empty() => ("core".to_string(), rest),
        ["apis", group, _version, rest @ ..] if !rest.is_empty() => (group.to_string(), rest),
        _ => return Target::NonResource(first),
    };
    let mut rest: &[&str] = rest;
    // the deprecated watch verb (`/api/v1/watch/pods`) reads the resource after it
    if rest.first() == Some(&"watch") && rest.len() > 1 {
        rest = &rest[1..];
    }
    if rest.first() == Some(&"namespaces")
        && rest.len() > 2
        && !NAMESPACE_SUBRESOURCES.contains(&rest[2])
    {
        rest = &rest[2..];
    }
    let resource = match rest {
        [r] | [r, _] => r.to_string(),
        [r, _, sub, ..] => format!("{r}/{sub}"),
        [] => String::new(),
    };
    Target::Resource { group, resource }
}

/// A check's `kubernetes:` grants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KubeGrants {
    /// (group, resource or `*`) → access.
    resources: BTreeMap<(String, String), Access>,
    /// First segments of non-resource paths (read).
    nonresource: std::collections::BTreeSet<String>,
}

fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

fn segment_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

impl KubeGrants {
    /// Whether `cap` is a `kubernetes:` capability at all.
    pub fn is_kube(cap: &str) -> bool {
        cap.starts_with("kubernetes:")
    }

    /// Add one `kubernetes:` capability.
    pub fn add(&mut self, cap: &str) -> Result<(), KubeGrantError> {
        let malformed = || KubeGrantError::Malformed(cap.to_string());
        let body = cap.strip_prefix("kubernetes:").ok_or_else(malformed)?;
        let (target, access) = body.rsplit_once(':').ok_or_else(malformed)?;
        let access = match access {
            "read" => Access::Read,
            "write" => Access::Write,
            _ => return Err(malformed()),
        };
        let (group, resource) = target.split_once('/').ok_or_else(malformed)?;
        if group == "nonresource" {
            if !segment_ok(resource) {
                return Err(malformed());
            }
            if access == Access::Write {
                return Err(KubeGrantError::NonResourceWrite(cap.to_string()));
            }
            self.nonresource.insert(resource.to_string());
            return Ok(());
        }
        let resource_ok = resource == "*"
            || match resource.split_once('/') {
                Some((r, sub)) => name_ok(r) && name_ok(sub),
                None => name_ok(resource),
            };
        if !name_ok(group) || !resource_ok {
            return Err(malformed());
        }
        let e = self
            .resources
            .entry((group.to_string(), resource.to_string()))
            .or_insert(access);
        *e = (*e).max(access);
        Ok(())
    }

    /// Whether any capability was declared.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.nonresource.is_empty()
    }

    /// Whether any resource is granted write access.
    pub fn has_write(&self) -> bool {
        self.resources.values().any(|a| *a == Access::Write)
    }

    /// The capabilities as strings (for the report), sorted.
    pub fn to_capabilities(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .resources
            .iter()
            .map(|((g, r), a)| {
                format!(
                    "kubernetes:{g}/{r}:{}",
                    if *a == Access::Write { "write" } else { "read" }
                )
            })
            .collect();
        v.extend(
            self.nonresource
                .iter()
                .map(|s| format!("kubernetes:nonresource/{s}:read")),
        );
        v
    }

    /// Allowed? `path` is the validated absolute path.
    pub fn check(&self, method: Method, path: &str) -> Result<(), KubeGrantError> {
        let shown = crate::errtext::bounded_text(path, 200);
        match target_of(path) {
            Target::NonResource(seg) => {
                if !method.is_read() {
                    return Err(KubeGrantError::NonResourceMethod {
                        method: method.as_str(),
                        path: shown,
                    });
                }
                if self.nonresource.contains(&seg) {
                    Ok(())
                } else {
                    Err(KubeGrantError::Undeclared {
                        needed: format!("kubernetes:nonresource/{seg}:read"),
                        method: method.as_str(),
                        path: shown,
                    })
                }
            }
            Target::Resource { group, resource } => {
                let exact = self.resources.get(&(group.clone(), resource.clone()));
                let any = self.resources.get(&(group.clone(), "*".to_string()));
                let best = exact.copied().max(any.copied());
                let needed = |a: &str| format!("kubernetes:{group}/{resource}:{a}");
                match best {
                    None => Err(KubeGrantError::Undeclared {
                        needed: needed(if method.is_read() { "read" } else { "write" }),
                        method: method.as_str(),
                        path: shown,
                    }),
                    Some(Access::Read) if !method.is_read() => Err(KubeGrantError::ReadOnly {
                        needed: needed("write"),
                        method: method.as_str(),
                        path: shown,
                    }),
                    Some(_) => Ok(()),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(g: &str, r: &str) -> Target {
        Target::Resource {
            group: g.into(),
            resource: r.into(),
        }
    }

    /// Paths to (group, resource) as the API server's RequestInfoFactory makes them.
    #[test]
    fn path_to_group_and_resource() {
        for (path, want) in [
            ("/api/v1/nodes", res("core", "nodes")),
            ("/api/v1/nodes/n1", res("core", "nodes")),
            ("/api/v1/nodes/n1/proxy", res("core", "nodes/proxy")),
            ("/api/v1/nodes/n1/proxy/metrics", res("core", "nodes/proxy")),
            ("/api/v1/namespaces", res("core", "namespaces")),
            ("/api/v1/namespaces/kube-system", res("core", "namespaces")),
            (
                "/api/v1/namespaces/x/status",
                res("core", "namespaces/status"),
            ),
            (
                "/api/v1/namespaces/x/finalize",
                res("core", "namespaces/finalize"),
            ),
            ("/api/v1/namespaces/x/pods", res("core", "pods")),
            ("/api/v1/namespaces/x/pods/p", res("core", "pods")),
            ("/api/v1/namespaces/x/pods/p/log", res("core", "pods/log")),
            ("/api/v1/watch/pods", res("core", "pods")),
            ("/api/v1/watch/namespaces/x/pods", res("core", "pods")),
            ("/apis/apps/v1/deployments", res("apps", "deployments")),
            (
                "/apis/apps/v1/namespaces/x/deployments/d/scale",
                res("apps", "deployments/scale"),
            ),
            (
                "/apis/networking.k8s.io/v1/namespaces/x/networkpolicies",
                res("networking.k8s.io", "networkpolicies"),
            ),
            (
                "/apis/rbac.authorization.k8s.io/v1/clusterroles/r",
                res("rbac.authorization.k8s.io", "clusterroles"),
            ),
            ("/version", Target::NonResource("version".into())),
            ("/healthz", Target::NonResource("healthz".into())),
            ("/openapi/v2", Target::NonResource("openapi".into())),
            ("/api", Target::NonResource("api".into())),
            ("/api/v1", Target::NonResource("api".into())),
            ("/apis", Target::NonResource("apis".into())),
            ("/apis/apps", Target::NonResource("apis".into())),
            ("/apis/apps/v1", Target::NonResource("apis".into())),
        ] {
            assert_eq!(target_of(path), want, "{path}");
        }
    }

    #[test]
    fn grants_decide_on_the_mapped_target() {
        let mut g = KubeGrants::default();
        for c in [
            "kubernetes:core/nodes:read",
            "kubernetes:apps/*:write",
            "kubernetes:nonresource/version:read",
            "kubernetes:core/pods/log:read",
        ] {
            g.add(c).expect(c);
        }
        assert!(g.check(Method::Get, "/api/v1/nodes").is_ok());
        assert!(g.check(Method::Head, "/api/v1/nodes/n").is_ok());
        let e = g
            .check(Method::Delete, "/api/v1/nodes/n")
            .expect_err("read only");
        assert!(e.to_string().contains("kubernetes:core/nodes:write"), "{e}");
        let e = g
            .check(Method::Get, "/api/v1/nodes/n/proxy")
            .expect_err("sub");
        assert!(
            e.to_string().contains("kubernetes:core/nodes/proxy:read"),
            "{e}"
        );
        assert!(
            g.check(Method::Get, "/api/v1/namespaces/x/pods/p/log")
                .is_ok()
        );
        assert!(g.check(Method::Get, "/api/v1/namespaces/x/pods").is_err());
        assert!(
            g.check(Method::Post, "/apis/apps/v1/namespaces/x/deployments")
                .is_ok()
        );
        assert!(
            g.check(
                Method::Get,
                "/apis/apps/v1/namespaces/x/deployments/d/scale"
            )
            .is_ok()
        );
        assert!(g.check(Method::Get, "/apis/batch/v1/jobs").is_err());
        assert!(g.check(Method::Get, "/version").is_ok());
        assert!(g.check(Method::Post, "/version").is_err());
        let e = g.check(Method::Get, "/api/v1").expect_err("discovery");
        assert!(
            e.to_string().contains("kubernetes:nonresource/api:read"),
            "{e}"
        );
        assert_eq!(
            g.to_capabilities(),
            vec![
                "kubernetes:apps/*:write",
                "kubernetes:core/nodes:read",
                "kubernetes:core/pods/log:read",
                "kubernetes:nonresource/version:read"
            ]
        );
    }

    #[test]
    fn malformed_capabilities() {
        for bad in [
            "kubernetes:nodes:read",
            "kubernetes:core/nodes:admin",
            "kubernetes:Core/nodes:read",
            "kubernetes:core/:read",
            "kubernetes:/nodes:read",
            "kubernetes:core/a/b/c:read",
            "kubernetes:nonresource/:read",
        ] {
            assert!(
                matches!(
                    KubeGrants::default().add(bad),
                    Err(KubeGrantError::Malformed(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            KubeGrants::default().add("kubernetes:nonresource/version:write"),
            Err(KubeGrantError::NonResourceWrite(_))
        ));
    }
}

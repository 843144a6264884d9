//! What one check may do: its declared capabilities (`openstack:<service-type>:read|write`)
//! as grants per service type, and the decision for each request. `kubernetes:` capabilities
//! are parsed and decided by [`super::kube::grants`] and kept here beside them.
//!
//! Must never: grant more than declared (write implies read, nothing else is implied).

use super::request::Method;
use std::collections::BTreeMap;

/// A capability that cannot be parsed, or a request outside the grants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GrantError {
    /// Not `openstack:<service-type>:read|write` (nor a `kubernetes:` capability).
    #[error(
        "capability {0:?} is not of the form openstack:<service-type>:read|write, \
         kubernetes:<group>/<resource>:read|write or tool:sonobuoy:run"
    )]
    Malformed(String),
    /// A `tool:` capability for a tool the host does not run.
    #[error(
        "capability {0:?}: the host runs no such tool; the only tool capability is tool:sonobuoy:run"
    )]
    UnknownTool(String),
    /// A malformed `kubernetes:` capability.
    #[error(transparent)]
    Kube(#[from] super::kube::KubeGrantError),
    /// No capability for this service type.
    #[error(
        "the check did not declare capability openstack:{service_type}:read (needed for {method} {service_type})"
    )]
    Undeclared {
        /// The service type asked for.
        service_type: String,
        /// The request's method.
        method: &'static str,
    },
    /// A write with read access only.
    #[error(
        "{method} on {service_type} needs capability openstack:{service_type}:write; the check declared only read"
    )]
    ReadOnly {
        /// The service type asked for.
        service_type: String,
        /// The request's method.
        method: &'static str,
    },
}

/// Access level granted for one service type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// GET and HEAD.
    Read,
    /// Every method.
    Write,
}

/// What one check may do: service type → access.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    by_service: BTreeMap<String, Access>,
    kube: super::kube::KubeGrants,
    /// Host-run tools (`tool:sonobuoy:run`, see [`crate::sonobuoy`]).
    tools: std::collections::BTreeSet<String>,
}

impl Grants {
    /// Parse capabilities like `openstack:compute:read`, `openstack:volume:write`.
    pub(crate) fn from_capabilities(caps: &[String]) -> Result<Grants, GrantError> {
        let mut by_service = BTreeMap::new();
        let mut kube = super::kube::KubeGrants::default();
        let mut tools = std::collections::BTreeSet::new();
        for cap in caps {
            if super::kube::KubeGrants::is_kube(cap) {
                kube.add(cap)?;
                continue;
            }
            if cap.starts_with("tool:") {
                if cap != crate::sonobuoy::CAPABILITY {
                    return Err(GrantError::UnknownTool(cap.clone()));
                }
                tools.insert("sonobuoy".to_string());
                continue;
            }
            let parts: Vec<&str> = cap.split(':').collect();
            let (svc, access) = match parts.as_slice() {
                ["openstack", svc, "read"] if !svc.is_empty() => (*svc, Access::Read),
                ["openstack", svc, "write"] if !svc.is_empty() => (*svc, Access::Write),
                _ => {
                    return Err(GrantError::Malformed(cap.clone()));
                }
            };
            let e = by_service.entry(svc.to_string()).or_insert(access);
            *e = (*e).max(access);
        }
        Ok(Grants {
            by_service,
            kube,
            tools,
        })
    }

    /// Whether the check may have the host run `tool` (`tool:<tool>:run`).
    pub(crate) fn tool(&self, tool: &str) -> bool {
        self.tools.contains(tool)
    }

    /// The `kubernetes:` grants.
    pub(crate) fn kube(&self) -> &super::kube::KubeGrants {
        &self.kube
    }

    /// The capabilities as strings (for the report).
    pub(crate) fn to_capabilities(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .by_service
            .iter()
            .map(|(s, a)| {
                format!(
                    "openstack:{s}:{}",
                    if *a == Access::Write { "write" } else { "read" }
                )
            })
            .collect();
        v.extend(self.kube.to_capabilities());
        v.extend(self.tools.iter().map(|t| format!("tool:{t}:run")));
        v
    }

    /// Whether any service type (or Kubernetes resource) is granted write access.
    pub(crate) fn has_write(&self) -> bool {
        self.by_service.values().any(|a| *a == Access::Write) || self.kube.has_write()
    }

    /// Allowed?
    pub fn check(&self, service_type: &str, method: Method) -> Result<(), GrantError> {
        match self.by_service.get(service_type) {
            None => Err(GrantError::Undeclared {
                service_type: service_type.to_string(),
                method: method.as_str(),
            }),
            Some(Access::Read) if !method.is_read() => Err(GrantError::ReadOnly {
                service_type: service_type.to_string(),
                method: method.as_str(),
            }),
            Some(_) => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants() {
        let g = Grants::from_capabilities(&[
            "openstack:compute:read".to_string(),
            "openstack:volumev3:write".to_string(),
        ])
        .unwrap();
        assert!(g.check("compute", Method::Get).is_ok());
        assert!(g.check("compute", Method::Head).is_ok());
        let e = g.check("compute", Method::Post).unwrap_err().to_string();
        assert!(e.contains("openstack:compute:write"), "{e}");
        assert!(g.check("volumev3", Method::Delete).is_ok());
        assert!(g.check("image", Method::Get).is_err());
        assert_eq!(
            g.to_capabilities(),
            vec!["openstack:compute:read", "openstack:volumev3:write"]
        );
        assert!(Grants::from_capabilities(&["compute:read".to_string()]).is_err());
        assert!(Grants::from_capabilities(&["openstack::read".to_string()]).is_err());
        assert!(Grants::from_capabilities(&["openstack:compute:admin".to_string()]).is_err());
    }

    /// Issue 10: kubernetes capabilities sit beside the OpenStack ones; a bad one is refused
    /// with its own line.
    #[test]
    fn kubernetes_capabilities() {
        let g = Grants::from_capabilities(&[
            "openstack:compute:read".to_string(),
            "kubernetes:core/nodes:read".to_string(),
            "kubernetes:nonresource/version:read".to_string(),
        ])
        .unwrap();
        assert!(!g.has_write());
        assert!(g.kube().check(Method::Get, "/api/v1/nodes").is_ok());
        assert_eq!(
            g.to_capabilities(),
            vec![
                "openstack:compute:read",
                "kubernetes:core/nodes:read",
                "kubernetes:nonresource/version:read"
            ]
        );
        let e = Grants::from_capabilities(&["kubernetes:nodes:read".to_string()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("kubernetes:<group>/<resource>:read|write"),
            "{e}"
        );
        let g = Grants::from_capabilities(&["kubernetes:apps/*:write".to_string()]).unwrap();
        assert!(g.has_write());
    }

    /// Issue 10 part 4: `tool:sonobuoy:run` is the one tool capability; it grants no write.
    #[test]
    fn tool_capabilities() {
        let g = Grants::from_capabilities(&["tool:sonobuoy:run".to_string()]).unwrap();
        assert!(g.tool("sonobuoy") && !g.has_write());
        assert_eq!(g.to_capabilities(), vec!["tool:sonobuoy:run"]);
        for bad in ["tool:kubectl:run", "tool:sonobuoy:write", "tool:sonobuoy"] {
            let e = Grants::from_capabilities(&[bad.to_string()]).unwrap_err();
            assert!(matches!(e, GrantError::UnknownTool(_)), "{bad}: {e}");
        }
        assert!(!Grants::default().tool("sonobuoy"));
    }
}

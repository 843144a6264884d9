//! Cleanup observability: what the APIs created and what still exists.

/// One live resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceInfo {
    /// Id (for keypairs: the name).
    pub id: String,
    /// Name (empty if none was given).
    pub name: String,
    /// Owning project id (for keypairs: the owning user id).
    pub project_id: String,
    /// Status as the API shows it now (`ACTIVE`, `DELETING`, `available`, `error`, ...;
    /// empty for subnets, security groups and keypairs).
    pub status: String,
}

/// Everything created through the APIs that still exists, per kind, in creation order.
/// Not listed: the fixture's own content (flavors, images, the external network and its
/// subnet), ports (they live and die with servers and router interfaces) and the `default`
/// security group Neutron creates for every project. A resource whose deletion is still in
/// progress (`DELETING`, `deleting`) is listed until it is gone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resources {
    /// Nova servers.
    pub servers: Vec<ResourceInfo>,
    /// Cinder volumes (also those Nova created for boot from volume).
    pub volumes: Vec<ResourceInfo>,
    /// Cinder backups.
    pub backups: Vec<ResourceInfo>,
    /// Neutron networks.
    pub networks: Vec<ResourceInfo>,
    /// Neutron subnets.
    pub subnets: Vec<ResourceInfo>,
    /// Neutron routers.
    pub routers: Vec<ResourceInfo>,
    /// Neutron security groups (not the `default` ones).
    pub security_groups: Vec<ResourceInfo>,
    /// Nova keypairs.
    pub keypairs: Vec<ResourceInfo>,
    /// Barbican secrets.
    pub secrets: Vec<ResourceInfo>,
}

impl Resources {
    /// Every list, labelled with its kind.
    pub fn all(&self) -> Vec<(&'static str, &ResourceInfo)> {
        let kinds: [(&'static str, &Vec<ResourceInfo>); 9] = [
            ("server", &self.servers),
            ("volume", &self.volumes),
            ("backup", &self.backups),
            ("network", &self.networks),
            ("subnet", &self.subnets),
            ("router", &self.routers),
            ("security_group", &self.security_groups),
            ("keypair", &self.keypairs),
            ("secret", &self.secrets),
        ];
        kinds
            .into_iter()
            .flat_map(|(kind, list)| list.iter().map(move |r| (kind, r)))
            .collect()
    }

    /// Nothing left over.
    pub fn is_empty(&self) -> bool {
        self.all().is_empty()
    }

    /// `kind:name` of every resource, for assertions and messages.
    pub fn names(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .map(|(kind, r)| format!("{kind}:{}", r.name))
            .collect()
    }
}

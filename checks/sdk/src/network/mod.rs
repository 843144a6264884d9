//! Neutron through the mediated `network` API: security groups and their default rules as
//! scs-0115 reads them ([`security_groups`]), and the networks, subnets and routers a
//! short-lived test VM needs ([`topology`]).
//!
//! Must never: touch a resource outside what its submodules own (each says so).

pub mod security_groups;
pub mod topology;

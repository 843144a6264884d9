//! IP address arithmetic for Neutron subnets: CIDR parsing, gateways, allocation pools.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A parsed, normalised CIDR (host bits cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    pub network: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    fn bits(self) -> u8 {
        match self.network {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        }
    }

    pub fn version(self) -> u8 {
        match self.network {
            IpAddr::V4(_) => 4,
            IpAddr::V6(_) => 6,
        }
    }

    fn base(self) -> u128 {
        to_u128(self.network)
    }

    /// Number of addresses in the range (saturating).
    fn size(self) -> u128 {
        let host_bits = u32::from(self.bits() - self.prefix);
        1u128.checked_shl(host_bits).unwrap_or(u128::MAX)
    }

    /// The n-th address of the range (0 = the network address), if inside.
    pub fn nth(self, n: u128) -> Option<IpAddr> {
        (n < self.size()).then(|| from_u128(self.network, self.base() + n))
    }

    /// The first usable address (Neutron's default gateway).
    pub fn first_host(self) -> Option<IpAddr> {
        self.nth(1)
    }

    /// The last usable address (IPv4: before the broadcast address).
    pub fn last_host(self) -> Option<IpAddr> {
        let size = self.size();
        match self.network {
            IpAddr::V4(_) => size.checked_sub(2).and_then(|n| self.nth(n)),
            IpAddr::V6(_) => size.checked_sub(1).and_then(|n| self.nth(n)),
        }
    }

    pub fn contains(self, ip: IpAddr) -> bool {
        if ip.is_ipv4() != self.network.is_ipv4() {
            return false;
        }
        let value = to_u128(ip);
        value >= self.base() && value - self.base() < self.size()
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

fn to_u128(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

fn from_u128(like: IpAddr, value: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(u32::try_from(value).unwrap_or(u32::MAX))),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

/// Parse a subnet CIDR `a.b.c.d/n` or `x::y/n`; the host bits are cleared. Prefixes that leave
/// no room for a gateway and one more host (IPv4 /31, /32; IPv6 /127, /128) are refused.
pub(crate) fn parse_cidr(text: &str) -> Option<Cidr> {
    parse_with(text, 2)
}

/// Parse a remote prefix (`a.b.c.d/n`, any n, or a bare address meaning a host route).
pub(crate) fn parse_prefix(text: &str) -> Option<Cidr> {
    if !text.contains('/') {
        let addr: IpAddr = text.trim().parse().ok()?;
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        return Some(Cidr {
            network: addr,
            prefix: bits,
        });
    }
    parse_with(text, 0)
}

fn parse_with(text: &str, spare_bits: u8) -> Option<Cidr> {
    let (addr, prefix) = text.trim().split_once('/')?;
    let addr: IpAddr = addr.parse().ok()?;
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok()?;
    let bits = if addr.is_ipv4() { 32 } else { 128 };
    if prefix > bits - spare_bits {
        return None;
    }
    let host_bits = u32::from(bits - prefix);
    let mask = u128::MAX.checked_shl(host_bits).unwrap_or(0);
    let network = from_u128(addr, to_u128(addr) & mask);
    Some(Cidr { network, prefix })
}

/// A MAC address derived from a counter, in OpenStack's `fa:16:3e` range.
pub(crate) fn mac_address(n: u64) -> String {
    let b = n.to_be_bytes();
    format!("fa:16:3e:{:02x}:{:02x}:{:02x}", b[5], b[6], b[7])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_arithmetic() {
        let c = parse_cidr("10.1.0.7/24").expect("valid");
        assert_eq!(c.to_string(), "10.1.0.0/24");
        assert_eq!(c.version(), 4);
        assert_eq!(
            c.first_host().map(|a| a.to_string()),
            Some("10.1.0.1".into())
        );
        assert_eq!(
            c.last_host().map(|a| a.to_string()),
            Some("10.1.0.254".into())
        );
        assert!(c.contains("10.1.0.200".parse().expect("ip")));
        assert!(!c.contains("10.1.1.0".parse().expect("ip")));
        let v6 = parse_cidr("fd00:1::/64").expect("valid");
        assert_eq!(v6.version(), 6);
        assert_eq!(
            v6.first_host().map(|a| a.to_string()),
            Some("fd00:1::1".into())
        );
        assert!(parse_cidr("10.0.0.0/31").is_none());
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert!(parse_cidr("10.0.0.0").is_none());
        assert!(parse_cidr("10.0.0.0/+8").is_none());
        assert!(parse_cidr("x/8").is_none());
        assert_eq!(
            parse_prefix("192.0.2.9/32").map(|c| c.to_string()),
            Some("192.0.2.9/32".into())
        );
        assert_eq!(
            parse_prefix("::/0").map(|c| c.to_string()),
            Some("::/0".into())
        );
        assert_eq!(parse_prefix("192.0.2.9").map(|c| c.prefix), Some(32));
        assert_eq!(mac_address(258), "fa:16:3e:00:01:02");
    }
}

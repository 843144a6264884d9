//! Deterministic identifiers derived from names, so tests can predict them.
//!
//! All ids are FNV-1a (128 bit) hashes of `"<kind>:<name>"`: Keystone-style ids are the 32 lower
//! case hex digits, image ids are the same 16 bytes formatted as a (version 4 shaped) UUID.

const FNV_OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const FNV_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

/// FNV-1a, 128 bit.
pub fn fnv1a128(data: &[u8]) -> u128 {
    data.iter().fold(FNV_OFFSET, |hash, byte| {
        (hash ^ u128::from(*byte)).wrapping_mul(FNV_PRIME)
    })
}

/// 32 hex digits for `kind:name`.
pub fn hex_id(kind: &str, name: &str) -> String {
    format!("{:032x}", fnv1a128(format!("{kind}:{name}").as_bytes()))
}

/// Keystone project id of the project with this name (domain Default).
pub fn project_id(name: &str) -> String {
    hex_id("project", name)
}

/// Keystone user id of the user with this name (domain Default).
pub fn user_id(name: &str) -> String {
    hex_id("user", name)
}

/// Keystone role id of the role with this name.
pub fn role_id(name: &str) -> String {
    hex_id("role", name)
}

/// Glance id of the first image with this name that has no explicit `id` in the fixture.
/// The n-th (n >= 2) image of the same name gets `image_id("<name>#<n>")`.
pub fn image_id(name: &str) -> String {
    uuid_from(&format!("image:{name}"))
}

/// A UUID (version-4 layout) derived from `key`.
pub(crate) fn uuid_from(key: &str) -> String {
    let bytes = fnv1a128(key.as_bytes()).to_be_bytes();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// `count` hex digits derived from `key` (for fake checksums and hash values).
pub(crate) fn hex_digest(key: &str, count: usize) -> String {
    let mut out = String::with_capacity(count + 32);
    let mut round = 0u32;
    while out.len() < count {
        out.push_str(&format!(
            "{:032x}",
            fnv1a128(format!("{key}#{round}").as_bytes())
        ));
        round += 1;
    }
    out.truncate(count);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        // Published FNV-1a 128 test vectors.
        assert_eq!(fnv1a128(b""), 0x6c62272e07bb014262b821756295c58d);
        assert_eq!(fnv1a128(b"a"), 0xd228cb696f1a8caf78912b704e4a8964);
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(project_id("demo"), project_id("demo"));
        assert_eq!(project_id("demo").len(), 32);
        assert_ne!(project_id("demo"), user_id("demo"));
        let id = image_id("Ubuntu 24.04");
        assert_eq!(id.len(), 36);
        assert_eq!(&id[14..15], "4");
        assert!(uuid::Uuid::parse_str(&id).is_ok());
        assert_eq!(hex_digest("x", 128).len(), 128);
        assert_eq!(hex_digest("x", 32), hex_digest("x", 128)[..32]);
    }
}

//! Which image and which flavor the test VM uses (docs/official-behaviour.md d.2,
//! steps 1 and 2). Pure functions over the shared image and flavor lists.

use scs_check_sdk::lines::Lines;
use scs_check_sdk::openstack::{Flavor, Image};
use scs_check_sdk::python_str as pystr;
use std::cmp::Ordering;

/// A non-negative integer of any size, as Python's `int()` gives it: kept as
/// its decimal digits without leading zeros, ordered by value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigUint(String);

impl BigUint {
    /// From a small number.
    pub fn from_u64(n: u64) -> BigUint {
        BigUint(if n == 0 { String::new() } else { n.to_string() })
    }

    /// Python `int(s)` for a string of Unicode decimal digits (what `re`'s
    /// `\d` matches); `None` if `s` is empty or has any other character.
    pub fn parse_decimal(s: &str) -> Option<BigUint> {
        let mut digits = String::with_capacity(s.len());
        for c in s.chars() {
            let d = pystr::decimal_value(c)?;
            if digits.is_empty() && d == 0 {
                continue;
            }
            digits.push(char::from_digit(d, 10)?);
        }
        if s.is_empty() {
            None
        } else {
            Some(BigUint(digits))
        }
    }
}

impl Ord for BigUint {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for BigUint {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The sort key of an image: (distro rank, version). Debian 2, Ubuntu 1,
/// anything else (or a missing/empty `os_distro` or `os_version`) (0, 0).
pub type ImageKey = (u8, BigUint);

/// Debian codenames the official check knows (only stable releases).
const DEBIAN_CODENAMES: [(&str, u64); 4] = [
    ("buster", 10),
    ("bullseye", 11),
    ("bookworm", 12),
    ("trixie", 13),
];

fn debian_version(v: &str) -> BigUint {
    // d.2: all (Unicode) digits → that number; else the codename; else 0.
    // So "12.5" ranks as 0 (quirk reproduced).
    if let Some(n) = BigUint::parse_decimal(v) {
        return n;
    }
    let n = DEBIAN_CODENAMES
        .iter()
        .find(|(name, _)| *name == v)
        .map_or(0, |(_, n)| *n);
    BigUint::from_u64(n)
}

fn ubuntu_version(v: &str) -> BigUint {
    // d.2: exactly `NN.NN` → the four digits as one number (24.04 → 2404);
    // anything else (e.g. "24.04.1", "noble") → 0.
    let chars: Vec<char> = v.chars().collect();
    let shape_ok = chars.len() == 5
        && chars[2] == '.'
        && [0, 1, 3, 4]
            .iter()
            .all(|&i| pystr::decimal_value(chars[i]).is_some());
    if !shape_ok {
        return BigUint::from_u64(0);
    }
    let digits: String = [0, 1, 3, 4].iter().map(|&i| chars[i]).collect();
    BigUint::parse_decimal(&digits).unwrap_or_else(|| BigUint::from_u64(0))
}

/// The sort key of one image (d.2 step 1). `os_distro` and `os_version`
/// are stripped and lower-cased first.
pub fn image_key(image: &Image) -> ImageKey {
    let distro = image.prop("os_distro").unwrap_or("");
    let version = image.prop("os_version").unwrap_or("");
    if distro.is_empty() || version.is_empty() {
        return (0, BigUint::from_u64(0));
    }
    let distro = pystr::strip(distro).to_lowercase();
    let version = pystr::strip(version).to_lowercase();
    match distro.as_str() {
        "debian" => (2, debian_version(&version)),
        "ubuntu" => (1, ubuntu_version(&version)),
        _ => (0, BigUint::from_u64(0)),
    }
}

/// The image with the greatest key; on a tie the first one in list order
/// (Python's `max`). `None` for an empty list.
pub fn choose_image(images: &[Image]) -> Option<&Image> {
    let mut best: Option<(&Image, ImageKey)> = None;
    for image in images {
        let key = image_key(image);
        match &best {
            Some((_, k)) if key <= *k => {}
            _ => best = Some((image, key)),
        }
    }
    best.map(|(i, _)| i)
}

/// The frugality the official check minimises: `vcpus + ram/3 + disk/10`
/// (floating point, like Python).
pub fn flavor_cost(f: &Flavor) -> f64 {
    f.vcpus as f64 + f.ram as f64 / 3.0 + f.disk as f64 / 10.0
}

/// d.2 step 2: flavors with `ram >= image.min_ram`; among them the ones
/// with extra_spec `hw_rng:allowed` equal to "true" (any case) if there
/// are any; the cheapest by [`flavor_cost`], first in list order on a tie.
/// No flavor at all → error (ABORT). An image without `min_ram` is an
/// error too (Python cannot compare an int with None).
pub fn choose_flavor<'a>(
    flavors: &'a [Flavor],
    image: &Image,
    lines: &mut Lines,
) -> Result<&'a Flavor, String> {
    let min_ram = image.min_ram.ok_or_else(|| {
        format!(
            "image '{}' has no min_ram; cannot pick a flavor for it",
            image.name
        )
    })?;
    let fitting: Vec<&Flavor> = flavors.iter().filter(|f| f.ram >= min_ram).collect();
    let with_rng: Vec<&Flavor> = fitting
        .iter()
        .copied()
        .filter(|f| {
            f.extra_specs
                .get("hw_rng:allowed")
                .is_some_and(|v| v.to_lowercase() == "true")
        })
        .collect();
    let pool = if !with_rng.is_empty() {
        with_rng
    } else if !fitting.is_empty() {
        lines.debug(format!(
            "Unable to pick flavor with hw_rng:allowed=true for image '{}'",
            image.name
        ));
        fitting
    } else {
        return Err(format!(
            "No flavor could be found for the image '{}'",
            image.name
        ));
    };
    let mut best = pool[0];
    for f in &pool[1..] {
        if flavor_cost(f) < flavor_cost(best) {
            best = f;
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn img(name: &str, distro: Option<&str>, version: Option<&str>) -> Image {
        let mut properties = BTreeMap::new();
        if let Some(d) = distro {
            properties.insert("os_distro".to_string(), d.to_string());
        }
        if let Some(v) = version {
            properties.insert("os_version".to_string(), v.to_string());
        }
        Image {
            id: format!("id-{name}"),
            name: name.into(),
            visibility: "public".into(),
            hidden: false,
            min_disk: Some(0),
            min_ram: Some(0),
            size: None,
            created_at: None,
            properties,
        }
    }

    fn key(distro: &str, version: &str) -> (u8, BigUint) {
        image_key(&img("x", Some(distro), Some(version)))
    }

    fn n(v: u64) -> BigUint {
        BigUint::from_u64(v)
    }

    #[test]
    fn keys() {
        assert_eq!(key("debian", "12"), (2, n(12)));
        assert_eq!(key(" Debian ", " 013 "), (2, n(13)));
        assert_eq!(key("debian", "bookworm"), (2, n(12)));
        assert_eq!(key("debian", "Trixie"), (2, n(13)));
        assert_eq!(key("debian", "buster"), (2, n(10)));
        assert_eq!(key("debian", "sid"), (2, n(0)));
        assert_eq!(key("debian", "12.5"), (2, n(0)), "quirk: not all digits");
        assert_eq!(
            key("debian", "١٢"),
            (2, n(12)),
            "Unicode digits, as Python's \\d and int()"
        );
        assert_eq!(key("ubuntu", "24.04"), (1, n(2404)));
        assert_eq!(key("Ubuntu", "22.04"), (1, n(2204)));
        assert_eq!(key("ubuntu", "24.04.1"), (1, n(0)));
        assert_eq!(key("ubuntu", "noble"), (1, n(0)));
        assert_eq!(key("ubuntu", "4.04"), (1, n(0)));
        assert_eq!(key("centos", "9"), (0, n(0)));
        assert_eq!(image_key(&img("x", Some("debian"), None)), (0, n(0)));
        assert_eq!(image_key(&img("x", Some(""), Some("12"))), (0, n(0)));
        assert_eq!(image_key(&img("x", None, Some("12"))), (0, n(0)));
        // huge versions compare by value, not overflow
        assert!(key("debian", "99999999999999999999999") > key("debian", "13"));
        assert_eq!(key("debian", "0012"), key("debian", "12"));
    }

    #[test]
    fn image_choice() {
        let images = vec![
            img("Ubuntu 24.04", Some("ubuntu"), Some("24.04")),
            img("Debian 12", Some("debian"), Some("12")),
            img("Debian bookworm", Some("debian"), Some("bookworm")),
            img("Debian 11", Some("debian"), Some("11")),
            img("CirrOS", None, None),
        ];
        // Debian beats Ubuntu; on a tie (12 == bookworm) the first listed wins
        assert_eq!(
            choose_image(&images).map(|i| i.name.as_str()),
            Some("Debian 12")
        );
        let images = vec![img("a", None, None), img("b", Some("fedora"), Some("40"))];
        assert_eq!(choose_image(&images).map(|i| i.name.as_str()), Some("a"));
        assert!(choose_image(&[]).is_none());
        let images = vec![
            img("Ubuntu 22.04", Some("ubuntu"), Some("22.04")),
            img("Ubuntu 24.04", Some("ubuntu"), Some("24.04")),
        ];
        assert_eq!(
            choose_image(&images).map(|i| i.name.as_str()),
            Some("Ubuntu 24.04")
        );
    }

    fn fl(id: &str, vcpus: u64, ram: u64, disk: u64, rng: Option<&str>) -> Flavor {
        let mut extra_specs = BTreeMap::new();
        if let Some(r) = rng {
            extra_specs.insert("hw_rng:allowed".to_string(), r.to_string());
        }
        Flavor {
            id: id.into(),
            name: format!("f{id}"),
            vcpus,
            ram,
            disk,
            extra_specs,
        }
    }

    #[test]
    fn flavor_choice() {
        let mut image = img("Debian 12", Some("debian"), Some("12"));
        image.min_ram = Some(1024);
        let flavors = vec![
            fl("1", 1, 512, 0, Some("true")), // too little RAM
            fl("2", 2, 4096, 0, None),
            fl("3", 1, 2048, 0, None),
            fl("4", 4, 8192, 0, Some("True")),
            fl("5", 2, 4096, 20, Some("TRUE")),
        ];
        let mut lines = Lines::new();
        // hw_rng:allowed preferred even though flavor 3 is cheaper
        assert_eq!(
            choose_flavor(&flavors, &image, &mut lines).map(|f| f.id.as_str()),
            Ok("5")
        );
        assert!(lines.0.is_empty());
        // none with hw_rng: cheapest of all fitting, with a DEBUG line
        let flavors = vec![
            fl("2", 2, 4096, 0, Some("false")),
            fl("3", 1, 2048, 0, None),
        ];
        assert_eq!(
            choose_flavor(&flavors, &image, &mut lines).map(|f| f.id.as_str()),
            Ok("3")
        );
        assert_eq!(lines.0.len(), 1);
        // tie: first listed wins (1 + 3000/3 == 1000 + 1 == 2 + 2997/3)
        let flavors = vec![fl("a", 2, 2997, 0, None), fl("b", 1, 3000, 0, None)];
        assert_eq!(
            choose_flavor(&flavors, &image, &mut Lines::new()).map(|f| f.id.as_str()),
            Ok("a")
        );
        // disk counts a tenth
        let flavors = vec![fl("a", 1, 3000, 20, None), fl("b", 1, 3000, 10, None)];
        assert_eq!(
            choose_flavor(&flavors, &image, &mut Lines::new()).map(|f| f.id.as_str()),
            Ok("b")
        );
        // nothing fits: error (ABORT)
        let flavors = vec![fl("1", 1, 512, 0, Some("true"))];
        assert!(choose_flavor(&flavors, &image, &mut Lines::new()).is_err());
        // min_ram equal is enough
        let flavors = vec![fl("1", 1, 1024, 0, None)];
        assert!(choose_flavor(&flavors, &image, &mut Lines::new()).is_ok());
        image.min_ram = None;
        assert!(choose_flavor(&flavors, &image, &mut Lines::new()).is_err());
    }
}

//! The cloud-config user data of the test VM (docs/official-behaviour.md d.2 step 4).
//!
//! The VM installs `rng-tools5`, masks the serial getty (its login prompt
//! would garble the console lines), and prints every line of each test's
//! output prefixed with `_scs-test-<section>: `, then `_scs-test-end`.
//! `console::parse_console` reads exactly this format back.

/// Apt sources for Ubuntu images: a fixed primary mirror.
const APT_UBUNTU: &str = "\
apt:
  primary:
    - arches: [default]
      uri: http://az1.clouds.archive.ubuntu.com/ubuntu/
";

/// Apt sources for Debian images: a fixed primary and security mirror.
const APT_DEBIAN: &str = "\
apt:
  primary:
    - arches: [default]
      uri: https://mirror.plusserver.com/debian/debian/
  security:
    - arches: [default]
      uri: https://mirror.plusserver.com/debian/debian-security/
";

/// Everything after the optional apt block. Each runcmd item is one shell
/// line; stdout and stderr of each test go through `sed` so that every line
/// carries its section marker. The items are YAML double-quoted because
/// they contain `: `.
const BODY: &str = r#"packages:
  - rng-tools5
bootcmd:
  - "systemctl mask serial-getty@ttyS0.service"
runcmd:
  - "cat /proc/sys/kernel/random/entropy_avail 2>&1 | sed -e 's/^/_scs-test-entropy-avail: /'"
  - "cat /dev/random | rngtest -c 1000 2>&1 | sed -e 's/^/_scs-test-fips-test: /'"
  - "systemctl status rngd 2>&1 | sed -e 's/^/_scs-test-rngd: /'"
  - "(cat /sys/devices/virtual/misc/hw_random/rng_available; od -vAn -N2 -tu2 < /dev/hwrng) 2>&1 | sed -e 's/^/_scs-test-virtio-rng: /'"
  - "echo _scs-test-end"
final_message: "_scs-test-end"
"#;

/// The user data for an image whose `os_distro` property is `os_distro`.
/// The apt block is chosen by the exact, unnormalised value (d.2: only
/// `ubuntu` and `debian` as written get one; `Debian` gets none).
pub fn user_data(os_distro: Option<&str>) -> String {
    let apt = match os_distro {
        Some("ubuntu") => APT_UBUNTU,
        Some("debian") => APT_DEBIAN,
        _ => "",
    };
    format!("#cloud-config\n{apt}{BODY}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants() {
        let d = user_data(Some("debian"));
        assert!(d.starts_with("#cloud-config\napt:\n"));
        assert!(d.contains("mirror.plusserver.com/debian/debian/"));
        assert!(d.contains("debian-security"));
        let u = user_data(Some("ubuntu"));
        assert!(u.contains("az1.clouds.archive.ubuntu.com"));
        assert!(!u.contains("plusserver"));
        // exact key: other spellings get the generic text
        for other in [Some("Debian"), Some(" ubuntu"), Some("centos"), None] {
            let g = user_data(other);
            assert!(!g.contains("apt:"), "{other:?}");
            assert!(g.starts_with("#cloud-config\npackages:"));
        }
    }

    #[test]
    fn every_section_is_marked() {
        let u = user_data(None);
        for s in ["entropy-avail", "fips-test", "rngd", "virtio-rng"] {
            assert!(u.contains(&format!("sed -e 's/^/_scs-test-{s}: /'")), "{s}");
        }
        assert!(u.contains("rngtest -c 1000"));
        assert!(u.contains("serial-getty@ttyS0"));
        assert!(u.contains("- rng-tools5"));
        assert!(u.trim_end().ends_with("final_message: \"_scs-test-end\""));
        // every runcmd/bootcmd item is quoted (plain scalars with ": " are not YAML)
        for line in u
            .lines()
            .filter(|l| l.starts_with("  - ") && l.contains(": "))
        {
            assert!(line.starts_with("  - \"") && line.ends_with('"'), "{line}");
        }
    }
}

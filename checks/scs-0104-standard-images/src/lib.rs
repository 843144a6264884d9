//! Check component for scs-0104 (standard images).
//!
//! Owns: the `scs-0104-image-*` and `scs-0104-source-*` testcases of
//! docs/official-behaviour.md d.5 (with h.1 and h.5), over the hard-coded image specs
//! of the official code (the scope's `image_spec` parameters are ignored, as
//! by the official runner, finding 0.2). The image lookup maps each name to
//! one image, the last one listed winning: Glance lists newest first, so of
//! several images with one name the oldest is the one checked. CAPI specs
//! match names with a start-anchored pattern, implemented by hand.
//!
//! Must never: change the cloud, use the scope's image-spec YAML, or match a
//! CAPI name pattern anywhere but at the start of the name.

use scs_check_sdk::lines::Lines;
use scs_check_sdk::openstack::{Image, images};
use scs_check_sdk::{self as sdk, TestcaseResult};

/// Allowed `image_source` prefixes of the CAPI images.
pub const CAPI_SOURCES: &[&str] = &[
    "https://nbg1.your-objectstorage.com/osism/openstack-k8s-capi-images/",
    "https://swift.services.a.regiocloud.tech/swift/v1/AUTH_b182637428444b9aa302bb8d5a5a418c/openstack-k8s-capi-images/ubuntu-2404-kube",
    "https://swift.services.a.regiocloud.tech/swift/v1/AUTH_b182637428444b9aa302bb8d5a5a418c/openstack-k8s-capi-images/ubuntu-2204-kube",
];

/// How a spec finds its images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// The image of exactly this name.
    Exact,
    /// Every name that `re.match`es `ubuntu-capi-image<sep>v[0-9]\.[0-9]+(\.[0-9]+)?`.
    Capi(char),
}

/// One hard-coded image spec.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// Spec key and name (`Ubuntu 24.04`, `ubuntu-capi-image-1`).
    pub name: &'static str,
    /// Matching rule.
    pub rule: Match,
    /// Allowed `image_source` prefixes.
    pub sources: &'static [&'static str],
}

/// The hard-coded specs (d.5), in the official order.
pub const SPECS: &[Spec] = &[
    Spec {
        name: "ubuntu-capi-image-1",
        rule: Match::Capi(' '),
        sources: CAPI_SOURCES,
    },
    Spec {
        name: "ubuntu-capi-image-2",
        rule: Match::Capi('-'),
        sources: CAPI_SOURCES,
    },
    Spec {
        name: "Ubuntu 24.04",
        rule: Match::Exact,
        sources: &[
            "https://cloud-images.ubuntu.com/releases/noble/",
            "https://cloud-images.ubuntu.com/noble/",
        ],
    },
    Spec {
        name: "Ubuntu 22.04",
        rule: Match::Exact,
        sources: &[
            "https://cloud-images.ubuntu.com/releases/jammy/",
            "https://cloud-images.ubuntu.com/jammy/",
        ],
    },
    Spec {
        name: "Ubuntu 20.04",
        rule: Match::Exact,
        sources: &[
            "https://cloud-images.ubuntu.com/releases/focal/",
            "https://cloud-images.ubuntu.com/focal/",
        ],
    },
    Spec {
        name: "Debian 13",
        rule: Match::Exact,
        sources: &[
            "https://cloud.debian.org/images/cloud/trixie/",
            "https://cdimage.debian.org/cdimage/cloud/trixie/",
        ],
    },
    Spec {
        name: "Debian 12",
        rule: Match::Exact,
        sources: &[
            "https://cloud.debian.org/images/cloud/bookworm/",
            "https://cdimage.debian.org/cdimage/cloud/bookworm/",
        ],
    },
    Spec {
        name: "Debian 11",
        rule: Match::Exact,
        sources: &[
            "https://cloud.debian.org/images/cloud/bullseye/",
            "https://cdimage.debian.org/cdimage/cloud/bullseye/",
        ],
    },
    Spec {
        name: "Debian 10",
        rule: Match::Exact,
        sources: &[
            "https://cloud.debian.org/images/cloud/buster/",
            "https://cdimage.debian.org/cdimage/cloud/buster/",
        ],
    },
];

/// What a testcase checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `scs-0104-image-*`: at least one matching image.
    Image,
    /// `scs-0104-source-*`: every matching image has an allowed source.
    Source,
}

/// The testcase ids the official harness registers, with their spec.
pub const TESTCASES: &[(&str, Kind, &str)] = &[
    (
        "scs-0104-source-capi-1",
        Kind::Source,
        "ubuntu-capi-image-1",
    ),
    (
        "scs-0104-source-capi-2",
        Kind::Source,
        "ubuntu-capi-image-2",
    ),
    ("scs-0104-source-ubuntu-2404", Kind::Source, "Ubuntu 24.04"),
    ("scs-0104-source-ubuntu-2204", Kind::Source, "Ubuntu 22.04"),
    ("scs-0104-source-ubuntu-2004", Kind::Source, "Ubuntu 20.04"),
    ("scs-0104-source-debian-13", Kind::Source, "Debian 13"),
    ("scs-0104-source-debian-12", Kind::Source, "Debian 12"),
    ("scs-0104-source-debian-11", Kind::Source, "Debian 11"),
    ("scs-0104-source-debian-10", Kind::Source, "Debian 10"),
    ("scs-0104-image-capi-1", Kind::Image, "ubuntu-capi-image-1"),
    ("scs-0104-image-capi-2", Kind::Image, "ubuntu-capi-image-2"),
    ("scs-0104-image-ubuntu-2404", Kind::Image, "Ubuntu 24.04"),
    ("scs-0104-image-ubuntu-2204", Kind::Image, "Ubuntu 22.04"),
    ("scs-0104-image-ubuntu-2004", Kind::Image, "Ubuntu 20.04"),
    ("scs-0104-image-debian-13", Kind::Image, "Debian 13"),
    ("scs-0104-image-debian-12", Kind::Image, "Debian 12"),
    ("scs-0104-image-debian-11", Kind::Image, "Debian 11"),
    ("scs-0104-image-debian-10", Kind::Image, "Debian 10"),
];

/// The kind and spec of a testcase id.
pub fn testcase(id: &str) -> Option<(Kind, &'static Spec)> {
    let (_, kind, key) = TESTCASES.iter().find(|(t, _, _)| *t == id)?;
    let spec = SPECS.iter().find(|s| s.name == *key)?;
    Some((*kind, spec))
}

/// `re.match(r"ubuntu-capi-image<sep>v[0-9]\.[0-9]+(\.[0-9]+)?", name)`:
/// anchored at the start only, so the optional group and anything after
/// the first digits of the minor version do not matter.
pub fn capi_match(name: &str, sep: char) -> bool {
    let Some(rest) = name.strip_prefix("ubuntu-capi-image") else {
        return false;
    };
    let Some(rest) = rest.strip_prefix(sep) else {
        return false;
    };
    let b = rest.as_bytes();
    // v, one ASCII digit, '.', at least one ASCII digit
    b.len() >= 4 && b[0] == b'v' && b[1].is_ascii_digit() && b[2] == b'.' && b[3].is_ascii_digit()
}

/// `image_lookup = {img.name: img for img in images}` (d.0), see
/// [`scs_check_sdk::openstack::images_by_name`] (h.5: the last image listed under a name wins).
pub fn image_lookup(images: &[Image]) -> Vec<(Option<&str>, &Image)> {
    scs_check_sdk::openstack::images_by_name(images)
}

/// The official `_lookup_images`.
pub fn lookup<'a>(
    lookup: &[(Option<&str>, &'a Image)],
    spec: &Spec,
) -> Result<Vec<&'a Image>, String> {
    match spec.rule {
        Match::Exact => Ok(lookup
            .iter()
            .find(|(k, _)| *k == Some(spec.name))
            .map(|(_, img)| *img)
            .into_iter()
            .collect()),
        Match::Capi(sep) => {
            let mut out = Vec::new();
            for (name, img) in lookup {
                // d.5 quirk: `rex.match(None)` for a nameless image raises a
                // TypeError → the CAPI testcases ABORT.
                let Some(name) = name else {
                    return Err(format!(
                        "TypeError: expected string or bytes-like object, got 'NoneType' \
                         (image {} has no name)",
                        img.id
                    ));
                };
                if capi_match(name, sep) {
                    out.push(*img);
                }
            }
            Ok(out)
        }
    }
}

/// `scs-0104-source-*`: every matching image's `image_source` (missing:
/// empty) starts with an allowed prefix. No matching image: PASS.
pub fn check_source(images: &[Image], spec: &Spec, lines: &mut Lines) -> Result<bool, String> {
    let table = image_lookup(images);
    let matches = lookup(&table, spec)?;
    let mut errors = 0;
    for img in matches {
        let src = img.prop("image_source").unwrap_or("");
        if !spec.sources.iter().any(|p| src.starts_with(p)) {
            errors += 1;
            lines.error(format!(
                "Image '{}' source mismatch: '{src}' matches none of these prefixes: {}",
                img.prop("name").unwrap_or("None"),
                spec.sources.join(", ")
            ));
        }
    }
    Ok(errors == 0)
}

/// `scs-0104-image-*`: at least one image matches.
pub fn check_image(images: &[Image], spec: &Spec, lines: &mut Lines) -> Result<bool, String> {
    let table = image_lookup(images);
    if lookup(&table, spec)?.is_empty() {
        lines.error(format!("Missing image '{}'", spec.name));
        return Ok(false);
    }
    Ok(true)
}

struct Check;

impl scs_check_sdk::Check for Check {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        let all = images().map_err(|e| e.to_string());
        sdk::run_testcases(&testcases, |id| {
            let (kind, spec) = testcase(id)?;
            let all = match &all {
                Ok(a) => a,
                Err(e) => return Some(Err(e.clone())),
            };
            let mut lines = Lines::new();
            let outcome = match kind {
                Kind::Image => check_image(all, spec, &mut lines),
                Kind::Source => check_source(all, spec, &mut lines),
            };
            lines.emit();
            Some(outcome)
        })
    }
}

scs_check_sdk::check!(Check);

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn img(name: Option<&str>, source: Option<&str>, build: &str) -> Image {
        let mut properties = BTreeMap::new();
        if let Some(n) = name {
            properties.insert("name".to_string(), n.to_string());
        }
        if let Some(s) = source {
            properties.insert("image_source".to_string(), s.to_string());
        }
        properties.insert("image_build_date".to_string(), build.to_string());
        Image {
            id: format!("id-{name:?}-{build}"),
            name: name.unwrap_or("").to_string(),
            visibility: "public".into(),
            hidden: false,
            min_disk: Some(8),
            min_ram: Some(512),
            size: Some(1),
            created_at: None,
            properties,
        }
    }

    fn spec(name: &str) -> &'static Spec {
        SPECS.iter().find(|s| s.name == name).expect("spec")
    }

    fn source(images: &[Image], s: &str) -> Result<bool, String> {
        check_source(images, spec(s), &mut Lines::new())
    }

    fn image(images: &[Image], s: &str) -> Result<bool, String> {
        check_image(images, spec(s), &mut Lines::new())
    }

    const NOBLE: &str = "https://cloud-images.ubuntu.com/releases/noble/release/x.img";

    #[test]
    fn every_testcase_id_is_implemented() {
        let v: serde_json::Value =
            serde_json::from_str(include_str!("../check.json")).expect("json");
        for id in v["testcases"].as_array().expect("list") {
            let id = id.as_str().expect("str");
            assert!(testcase(id).is_some(), "{id}");
        }
        assert!(testcase("scs-0104-image-debian-9").is_none());
        for (id, _, key) in TESTCASES {
            assert!(testcase(id).is_some(), "{id} → {key}");
        }
    }

    #[test]
    fn capi_name_patterns() {
        let table: &[(&str, char, bool)] = &[
            ("ubuntu-capi-image v1.32.4", ' ', true),
            ("ubuntu-capi-image v1.32", ' ', true),
            ("ubuntu-capi-image v1.3", ' ', true),
            // start-anchored only: trailing text is fine
            ("ubuntu-capi-image v1.32.4-beta", ' ', true),
            ("ubuntu-capi-image v1.3x", ' ', true),
            ("ubuntu-capi-image v1.", ' ', false),
            ("ubuntu-capi-image v12.1", ' ', false), // one digit before the dot
            ("ubuntu-capi-image v.1", ' ', false),
            ("ubuntu-capi-image 1.32", ' ', false),
            ("ubuntu-capi-image V1.32", ' ', false), // case-sensitive
            ("ubuntu-capi-image-v1.32", ' ', false),
            ("my ubuntu-capi-image v1.32", ' ', false), // not at the start
            ("Ubuntu-capi-image v1.32", ' ', false),
            ("ubuntu-capi-image v\u{661}.2", ' ', false), // [0-9] is ASCII only
            ("ubuntu-capi-image-v1.33.1", '-', true),
            ("ubuntu-capi-image-v1.33", '-', true),
            ("ubuntu-capi-image v1.33", '-', false),
            ("ubuntu-capi-image-1.33", '-', false),
        ];
        for (name, sep, want) in table {
            assert_eq!(capi_match(name, *sep), *want, "{name:?} sep {sep:?}");
        }
    }

    #[test]
    fn image_presence() {
        let imgs = [img(Some("Ubuntu 24.04"), Some(NOBLE), "1")];
        assert_eq!(image(&imgs, "Ubuntu 24.04"), Ok(true));
        let mut lines = Lines::new();
        assert_eq!(check_image(&imgs, spec("Debian 12"), &mut lines), Ok(false));
        assert_eq!(lines.errors(), vec!["Missing image 'Debian 12'"]);
        // exact names only
        let imgs = [
            img(Some("Ubuntu 24.04 LTS"), Some(NOBLE), "1"),
            img(Some("ubuntu 24.04"), None, "1"),
        ];
        assert_eq!(image(&imgs, "Ubuntu 24.04"), Ok(false));
        // CAPI by pattern
        let imgs = [img(Some("ubuntu-capi-image-v1.33.1"), None, "1")];
        assert_eq!(image(&imgs, "ubuntu-capi-image-2"), Ok(true));
        assert_eq!(image(&imgs, "ubuntu-capi-image-1"), Ok(false));
        // h.1: whatever the image list holds counts (the SDK keeps public and community)
        let mut c = img(Some("Debian 12"), None, "1");
        c.visibility = "community".into();
        assert_eq!(image(&[c], "Debian 12"), Ok(true));
    }

    #[test]
    fn source_prefixes() {
        let cases: &[(&str, &str, Option<&str>, bool)] = &[
            ("Ubuntu 24.04", "Ubuntu 24.04", Some(NOBLE), true),
            (
                "Ubuntu 24.04",
                "Ubuntu 24.04",
                Some("https://cloud-images.ubuntu.com/noble/current/x.img"),
                true,
            ),
            (
                "Ubuntu 24.04",
                "Ubuntu 24.04",
                Some("https://cloud-images.ubuntu.com/releases/jammy/x.img"),
                false,
            ),
            (
                "Ubuntu 24.04",
                "Ubuntu 24.04",
                Some("http://cloud-images.ubuntu.com/releases/noble/x.img"),
                false,
            ),
            ("Ubuntu 24.04", "Ubuntu 24.04", Some("private"), false),
            // missing image_source is '' → FAIL, not ABORT
            ("Ubuntu 24.04", "Ubuntu 24.04", None, false),
            (
                "Ubuntu 22.04",
                "Ubuntu 22.04",
                Some("https://cloud-images.ubuntu.com/jammy/x"),
                true,
            ),
            (
                "Ubuntu 20.04",
                "Ubuntu 20.04",
                Some("https://cloud-images.ubuntu.com/releases/focal/x"),
                true,
            ),
            (
                "Debian 13",
                "Debian 13",
                Some("https://cloud.debian.org/images/cloud/trixie/x"),
                true,
            ),
            (
                "Debian 12",
                "Debian 12",
                Some("https://cdimage.debian.org/cdimage/cloud/bookworm/x"),
                true,
            ),
            (
                "Debian 12",
                "Debian 12",
                Some("https://cloud.debian.org/images/cloud/trixie/x"),
                false,
            ),
            (
                "Debian 11",
                "Debian 11",
                Some("https://cloud.debian.org/images/cloud/bullseye/x"),
                true,
            ),
            (
                "Debian 10",
                "Debian 10",
                Some("https://cloud.debian.org/images/cloud/buster/x"),
                true,
            ),
            (
                "ubuntu-capi-image-1",
                "ubuntu-capi-image v1.32.4",
                Some(
                    "https://nbg1.your-objectstorage.com/osism/openstack-k8s-capi-images/ubuntu-2204-kube-v1.32/x.qcow2",
                ),
                true,
            ),
            (
                "ubuntu-capi-image-1",
                "ubuntu-capi-image v1.32.4",
                Some(
                    "https://swift.services.a.regiocloud.tech/swift/v1/AUTH_b182637428444b9aa302bb8d5a5a418c/openstack-k8s-capi-images/ubuntu-2404-kube-v1.30/x",
                ),
                true,
            ),
            (
                "ubuntu-capi-image-1",
                "ubuntu-capi-image v1.32.4",
                Some(
                    "https://swift.services.a.regiocloud.tech/swift/v1/AUTH_b182637428444b9aa302bb8d5a5a418c/openstack-k8s-capi-images/ubuntu-2004-kube-v1.30/x",
                ),
                false,
            ),
            (
                "ubuntu-capi-image-2",
                "ubuntu-capi-image-v1.33.1",
                Some("https://example.com/capi.qcow2"),
                false,
            ),
            (
                "ubuntu-capi-image-2",
                "ubuntu-capi-image-v1.33.1",
                Some("https://nbg1.your-objectstorage.com/osism/openstack-k8s-capi-images/x"),
                true,
            ),
        ];
        for (s, name, src, want) in cases {
            let imgs = [img(Some(name), *src, "1")];
            assert_eq!(source(&imgs, s), Ok(*want), "{s}: {name} {src:?}");
        }
        // no matching image at all: PASS
        assert_eq!(source(&[], "Debian 12"), Ok(true));
        // every CAPI match is checked
        let imgs = [
            img(
                Some("ubuntu-capi-image v1.32.4"),
                Some(CAPI_SOURCES[0]),
                "1",
            ),
            img(
                Some("ubuntu-capi-image v1.31.9"),
                Some("https://example.com"),
                "1",
            ),
        ];
        let mut lines = Lines::new();
        assert_eq!(
            check_source(&imgs, spec("ubuntu-capi-image-1"), &mut lines),
            Ok(false)
        );
        assert_eq!(lines.errors().len(), 1);
        assert!(lines.errors()[0].starts_with("Image 'ubuntu-capi-image v1.31.9' source mismatch"));
    }

    #[test]
    fn duplicate_names_the_oldest_is_checked() {
        // h.5: Glance lists newest first; the last one listed (oldest) wins
        let newest_good = img(Some("Ubuntu 24.04"), Some(NOBLE), "new");
        let oldest_bad = img(Some("Ubuntu 24.04"), Some("https://example.com/x"), "old");
        assert_eq!(
            source(&[newest_good.clone(), oldest_bad.clone()], "Ubuntu 24.04"),
            Ok(false)
        );
        assert_eq!(
            source(&[oldest_bad.clone(), newest_good.clone()], "Ubuntu 24.04"),
            Ok(true)
        );
        let lk = [newest_good, oldest_bad];
        let table = image_lookup(&lk);
        assert_eq!(table.len(), 1);
        assert_eq!(table[0].1.properties["image_build_date"], "old");
        // the same for CAPI patterns (lookup is by name first)
        let a = img(
            Some("ubuntu-capi-image v1.32.4"),
            Some(CAPI_SOURCES[0]),
            "new",
        );
        let b = img(
            Some("ubuntu-capi-image v1.32.4"),
            Some("https://example.com"),
            "old",
        );
        assert_eq!(
            source(&[a.clone(), b.clone()], "ubuntu-capi-image-1"),
            Ok(false)
        );
        assert_eq!(source(&[b, a], "ubuntu-capi-image-1"), Ok(true));
    }

    #[test]
    fn nameless_images() {
        let ghost = img(None, None, "1");
        let u = img(Some("Ubuntu 24.04"), Some(NOBLE), "1");
        // exact-name specs use a dict lookup: harmless
        assert_eq!(
            source(&[ghost.clone(), u.clone()], "Ubuntu 24.04"),
            Ok(true)
        );
        assert_eq!(image(&[ghost.clone(), u.clone()], "Ubuntu 24.04"), Ok(true));
        // d.5 quirk: the CAPI regex is applied to every name, None raises → ABORT
        assert!(source(&[ghost.clone(), u.clone()], "ubuntu-capi-image-1").is_err());
        assert!(image(&[u, ghost], "ubuntu-capi-image-2").is_err());
    }
}

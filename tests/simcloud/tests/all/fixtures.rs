//! The shipped fixtures: they all load, and each differs from compliant.yaml exactly where its
//! header comment says.

use std::collections::BTreeMap;

use crate::common::load;
use simcloud::Fixture;
use simcloud::fixture::{DefaultRule, Flavor, S3Error, Visibility, neutron_default_rules};

const MANDATORY: [&str; 15] = [
    "SCS-1V-4",
    "SCS-2V-8",
    "SCS-4V-16",
    "SCS-8V-32",
    "SCS-1V-2",
    "SCS-2V-4",
    "SCS-4V-8",
    "SCS-8V-16",
    "SCS-16V-32",
    "SCS-1V-8",
    "SCS-2V-16",
    "SCS-4V-32",
    "SCS-1L-1",
    "SCS-2V-4-20s",
    "SCS-4V-16-100s",
];
const RECOMMENDED: [&str; 16] = [
    "SCS-1V-4-10",
    "SCS-2V-8-20",
    "SCS-4V-16-50",
    "SCS-8V-32-100",
    "SCS-1V-2-5",
    "SCS-2V-4-10",
    "SCS-4V-8-20",
    "SCS-8V-16-50",
    "SCS-16V-32-100",
    "SCS-1V-8-20",
    "SCS-2V-16-50",
    "SCS-4V-32-100",
    "SCS-1L-1-5",
    "SCS-16V-64",
    "SCS-8V-64",
    "SCS-16V-128",
];

const ALL_FIXTURES: [&str; 21] = [
    "compliant.yaml",
    "broken-flavor-names.yaml",
    "flavor-disk-abort.yaml",
    "broken-standard-flavors.yaml",
    "missing-services.yaml",
    "admin-role.yaml",
    "no-member-role.yaml",
    "no-default-rules-api.yaml",
    "bad-default-rules.yaml",
    "bad-volume-types.yaml",
    "no-backup-service.yaml",
    "barbican-forbidden.yaml",
    "low-entropy.yaml",
    "no-rngtest.yaml",
    "no-external-network.yaml",
    "s3-access-denied.yaml",
    "faulty.yaml",
    "small-quota.yaml",
    "endpoint-shapes.yaml",
    "endpoint-shapes-legacy.yaml",
    "old-nova.yaml",
];

/// (vcpus, ram MiB, disk GB, scs:* extra specs) of a standard flavor name, per scs-0103.
fn standard_spec(name: &str) -> (u32, u64, u64, BTreeMap<String, String>) {
    let rest = name.strip_prefix("SCS-").expect("SCS- name");
    let parts: Vec<&str> = rest.split('-').collect();
    let cpu = parts[0];
    let (count, kind) = cpu.split_at(cpu.len() - 1);
    let vcpus: u32 = count.parse().expect("cpus");
    let ram: u64 = parts[1].parse::<u64>().expect("ram") * 1024;
    let mut specs = BTreeMap::new();
    let cpu_type = match kind {
        "V" => "shared-core",
        "L" => "crowded-core",
        other => panic!("unexpected cpu type {other}"),
    };
    specs.insert("scs:cpu-type".to_owned(), cpu_type.to_owned());
    let disk = match parts.get(2) {
        None => 0,
        Some(d) => {
            let (size, disk_type) = match d.strip_suffix('s') {
                Some(size) => (size, "ssd"),
                None => (*d, "network"),
            };
            specs.insert("scs:disk0-type".to_owned(), disk_type.to_owned());
            size.parse().expect("disk")
        }
    };
    specs.insert(
        "scs:name-v1".to_owned(),
        format!("SCS-{}", rest.replace('-', ":")),
    );
    specs.insert("scs:name-v2".to_owned(), name.to_owned());
    (vcpus, ram, disk, specs)
}

fn by_name<'a>(fixture: &'a Fixture, name: &str) -> Option<&'a Flavor> {
    fixture.flavors.iter().find(|f| f.name == name)
}

fn assert_standard(fixture: &Fixture, name: &str) {
    let flavor = by_name(fixture, name).unwrap_or_else(|| panic!("{name} missing"));
    let (vcpus, ram, disk, specs) = standard_spec(name);
    assert_eq!(
        (flavor.vcpus, flavor.ram, flavor.disk),
        (vcpus, ram, disk),
        "{name}"
    );
    let scs: BTreeMap<String, String> = flavor
        .extra_specs
        .iter()
        .filter(|(k, _)| k.starts_with("scs:"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(scs, specs, "{name}");
    assert!(flavor.is_public && !flavor.disabled, "{name}");
}

#[test]
fn all_fixtures_load_and_validate() {
    for name in ALL_FIXTURES {
        let fixture = load(name);
        assert_eq!(fixture.region, "RegionOne", "{name}");
        assert_eq!(fixture.users.len(), 1, "{name}");
        assert_eq!(fixture.users[0].name, "member", "{name}");
        assert_eq!(fixture.application_credentials[0].id, "appcred-1", "{name}");
        assert_eq!(fixture.faults.is_empty(), name != "faulty.yaml", "{name}");
        assert!(
            std::fs::read_to_string(crate::common::fixture_path(name))
                .expect("read")
                .starts_with(&format!("# {name}:")),
            "{name} needs its header comment"
        );
    }
}

#[test]
fn derived_fixtures_extend_compliant_and_every_fixture_expects_something() {
    for name in ALL_FIXTURES {
        let text = std::fs::read_to_string(crate::common::fixture_path(name)).expect("read");
        let extends = text.lines().any(|l| l == "extends: compliant.yaml");
        assert_eq!(extends, name != "compliant.yaml", "{name}");
        let expect = load(name)
            .expect
            .unwrap_or_else(|| panic!("{name}: no expect"));
        assert!(
            !expect.verdicts.is_empty()
                || expect.others != simcloud::fixture::Verdict::Pass
                || expect.exit == 0,
            "{name}: exit {} with every verdict PASS",
            expect.exit
        );
    }
    // What the directory holds is what the tests know.
    let mut on_disk: Vec<String> = std::fs::read_dir(crate::common::fixture_path(""))
        .expect("fixtures dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    on_disk.sort();
    let mut known: Vec<&str> = ALL_FIXTURES.to_vec();
    known.sort_unstable();
    assert_eq!(on_disk, known);
}

#[test]
fn compliant_has_all_standard_flavors_exactly() {
    let f = load("compliant.yaml");
    for name in MANDATORY.iter().chain(RECOMMENDED.iter()) {
        assert_standard(&f, name);
    }
    assert_eq!(f.users[0].roles, ["member", "reader"]);
    let extra = by_name(&f, "SCS-4C-16-100p_kvm_z4").expect("non-standard SCS flavor");
    assert_eq!(extra.extra_specs["scs:name-v1"], "SCS-4C:16:100p-kvm-z4");
    assert_eq!(extra.extra_specs["scs:name-v3"], "SCS-4C:16:100p");
    assert_eq!(extra.extra_specs["scs:disk0-type"], "nvme");
    assert!(f.flavors.iter().any(|f| !f.name.starts_with("SCS-")));
    let types: Vec<&str> = f.services.iter().map(|s| s.service_type.as_str()).collect();
    for required in [
        "compute",
        "identity",
        "image",
        "network",
        "load-balancer",
        "placement",
        "volumev3",
        "object-store-s3",
        "key-manager",
    ] {
        assert!(types.contains(&required), "{required} missing");
    }
    // scs-0123-swift-s3 probes the host root of this endpoint; simcloud answers the S3
    // probe with InvalidAccessKeyId (object_store.s3_error default).
    assert!(types.contains(&"object-store"));
    assert_eq!(
        f.object_store,
        simcloud::fixture::ObjectStoreOptions::default()
    );
}

#[test]
fn compliant_images_have_complete_scs_0102_metadata() {
    let f = load("compliant.yaml");
    let checked: Vec<_> = f
        .images
        .iter()
        .filter(|i| !i.os_hidden)
        .filter(|i| {
            i.visibility == Visibility::Public
                || (i.visibility == Visibility::Community && i.owner.as_deref() == Some("demo"))
        })
        .collect();
    assert_eq!(checked.len(), 8);
    let mut generic = Vec::new();
    for image in checked {
        let p = &image.properties;
        let name = &image.name;
        assert!(
            ["x86_64", "aarch64"].contains(&p["architecture"].as_str()),
            "{name}"
        );
        assert!(image.min_disk > 0 && image.min_ram > 0, "{name}");
        let size = image.size.expect("size");
        assert!(image.min_disk * (1 << 30) >= size, "{name}");
        for key in [
            "os_version",
            "os_distro",
            "image_original_user",
            "image_description",
        ] {
            assert!(!p[key].is_empty(), "{name}: {key}");
        }
        assert!(
            ["virtio", "scsi"].contains(&p["hw_disk_bus"].as_str()),
            "{name}"
        );
        assert!(
            ["never", "critical_bug"].contains(&p["replace_frequency"].as_str()),
            "{name}"
        );
        assert_eq!(p["provided_until"], "none", "{name}");
        assert!(
            p["image_source"] == "private" || p["image_source"].starts_with("https://"),
            "{name}"
        );
        assert!(
            p["image_build_date"].as_str() < image.created_at.as_str(),
            "{name}"
        );
        assert!(
            p["hotfix_hours"].bytes().all(|b| b.is_ascii_digit()),
            "{name}"
        );
        if p["os_purpose"] == "generic" && image.visibility == Visibility::Public {
            generic.push((
                p["architecture"].clone(),
                p["os_distro"].clone(),
                p["os_version"].clone(),
            ));
        } else {
            assert!(
                ["k8snode", "custom"].contains(&p["os_purpose"].as_str()),
                "{name}"
            );
        }
    }
    let count = generic.len();
    generic.sort();
    generic.dedup();
    assert_eq!(
        generic.len(),
        count,
        "os_purpose=generic must be unique per distro/version"
    );
    let ubuntu = f
        .images
        .iter()
        .find(|i| i.name == "Ubuntu 24.04")
        .expect("Ubuntu 24.04");
    assert!(
        ubuntu.properties["image_source"]
            .starts_with("https://cloud-images.ubuntu.com/releases/noble/")
    );
}

#[test]
fn broken_flavor_names_adds_two_bad_flavors() {
    let f = load("broken-flavor-names.yaml");
    let base = load("compliant.yaml");
    assert_eq!(f.flavors.len(), base.flavors.len() + 2);
    assert_eq!(by_name(&f, "SCS-2V-4.25").map(|f| f.ram), Some(4352));
    let over = by_name(&f, "SCS-3V-6").expect("overpromise flavor");
    assert_eq!((over.vcpus, over.ram), (2, 6144));
    for name in MANDATORY {
        assert_standard(&f, name);
    }
}

#[test]
fn flavor_disk_abort_adds_a_sizeless_disk() {
    let f = load("flavor-disk-abort.yaml");
    assert_eq!(f.flavors.len(), load("compliant.yaml").flavors.len() + 1);
    let abort = by_name(&f, "SCS-2V-4-").expect("SCS-2V-4-");
    assert_eq!((abort.vcpus, abort.ram, abort.disk), (2, 4096, 10));
}

#[test]
fn broken_standard_flavors_breaks_exactly_three() {
    let f = load("broken-standard-flavors.yaml");
    assert!(by_name(&f, "SCS-1V-4").is_none());
    assert!(
        !f.flavors
            .iter()
            .any(|fl| fl.extra_specs.get("scs:name-v2").map(String::as_str) == Some("SCS-1V-4"))
    );
    assert_eq!(by_name(&f, "SCS-2V-8").map(|f| f.ram), Some(8000));
    let disk = by_name(&f, "SCS-2V-4-20s").expect("present");
    assert!(!disk.extra_specs.contains_key("scs:disk0-type"));
    let broken = ["SCS-1V-4", "SCS-2V-8", "SCS-2V-4-20s"];
    for name in MANDATORY
        .iter()
        .chain(RECOMMENDED.iter())
        .filter(|n| !broken.contains(n))
    {
        assert_standard(&f, name);
    }
}

#[test]
fn missing_services_lacks_load_balancer_and_block_storage() {
    let f = load("missing-services.yaml");
    let types: Vec<&str> = f.services.iter().map(|s| s.service_type.as_str()).collect();
    for absent in ["load-balancer", "volume", "volumev3", "block-storage"] {
        assert!(!types.contains(&absent), "{absent}");
    }
    assert_eq!(types.len(), load("compliant.yaml").services.len() - 3);
    assert_eq!(f.flavors, load("compliant.yaml").flavors);
}

#[test]
fn role_fixtures_change_only_the_roles() {
    let base = load("compliant.yaml");
    for (name, roles) in [
        ("admin-role.yaml", vec!["admin", "member"]),
        ("no-member-role.yaml", vec!["reader"]),
    ] {
        let f = load(name);
        assert_eq!(f.users[0].roles, roles, "{name}");
        assert_eq!(
            f.application_credentials[0].roles.as_deref(),
            Some(
                roles
                    .iter()
                    .map(|r| (*r).to_owned())
                    .collect::<Vec<_>>()
                    .as_slice()
            ),
            "{name}"
        );
        assert_eq!(f.flavors, base.flavors, "{name}");
        assert_eq!(f.images, base.images, "{name}");
        assert_eq!(f.services, base.services, "{name}");
    }
}

/// `name` is compliant.yaml with exactly the change `revert` undoes.
fn assert_differs_only(name: &str, revert: impl Fn(&mut Fixture)) {
    let base = load("compliant.yaml");
    let mut f = load(name);
    assert_ne!(f, base, "{name} should differ from compliant.yaml");
    revert(&mut f);
    // the expected verdicts differ by design
    f.expect = base.expect.clone();
    assert_eq!(
        f, base,
        "{name} differs from compliant.yaml in more than its header says"
    );
}

#[test]
fn compliant_service_sections_pass_the_iaas_checks() {
    let f = load("compliant.yaml");
    assert_eq!(f.compute.entropy_avail.as_deref(), Some("256"));
    assert_eq!(f.compute.fips_failures, Some(2));
    assert!(!f.compute.server_error);
    assert!(f.network.external && f.network.default_rules_api);
    assert_eq!(
        f.network.default_security_group_rules,
        neutron_default_rules()
    );
    assert!(f.volume.backup_service);
    assert!(!f.key_manager.forbid_member);
    assert_eq!(f.object_store.s3_error, S3Error::InvalidAccessKeyId);
    let descriptions: Vec<&str> = f
        .volume
        .types
        .iter()
        .filter_map(|t| t.description.as_deref())
        .collect();
    assert!(
        descriptions.contains(
            &"[scs:encrypted, replicated] LUKS-encrypted, triple-replicated Ceph volumes"
        )
    );
    // Every fixture derived from compliant.yaml shares its service sections.
    for name in ALL_FIXTURES {
        let g = load(name);
        if name != "compliant.yaml"
            && !name.starts_with("no-")
            && !name.starts_with("bad-")
            && ![
                "low-entropy.yaml",
                "barbican-forbidden.yaml",
                "s3-access-denied.yaml",
                "old-nova.yaml", // compute.max_microversion
            ]
            .contains(&name)
        {
            assert_eq!(
                (
                    &g.compute,
                    &g.network,
                    &g.volume,
                    &g.key_manager,
                    &g.object_store
                ),
                (
                    &f.compute,
                    &f.network,
                    &f.volume,
                    &f.key_manager,
                    &f.object_store
                ),
                "{name}"
            );
        }
    }
}

#[test]
fn new_fixtures_change_exactly_one_thing() {
    let base = load("compliant.yaml");
    assert_differs_only("small-quota.yaml", |f| {
        assert_eq!((f.quota.instances, f.quota.volumes), (1, 2));
        assert_eq!((f.quota.gigabytes, f.quota.backups), (10, 1));
        f.quota = Default::default();
    });
    assert_differs_only("no-default-rules-api.yaml", |f| {
        f.network.default_rules_api = true
    });
    assert_differs_only("bad-default-rules.yaml", |f| {
        let rules = &f.network.default_security_group_rules;
        assert_eq!(rules.len(), 5);
        let ssh: &DefaultRule = &rules[4];
        assert_eq!(
            (ssh.direction.as_str(), ssh.port_range_min),
            ("ingress", Some(22))
        );
        assert_eq!(ssh.remote_ip_prefix.as_deref(), Some("0.0.0.0/0"));
        f.network.default_security_group_rules = neutron_default_rules();
    });
    assert_differs_only("bad-volume-types.yaml", |f| {
        assert_eq!(
            f.volume.types[1].description.as_deref(),
            Some("[scs:replicated, encrypted] LUKS-encrypted, triple-replicated Ceph volumes")
        );
        f.volume.types[1].description = base.volume.types[1].description.clone();
    });
    assert_differs_only("no-backup-service.yaml", |f| f.volume.backup_service = true);
    assert_differs_only("barbican-forbidden.yaml", |f| {
        f.key_manager.forbid_member = false
    });
    assert_differs_only("low-entropy.yaml", |f| {
        assert_eq!(
            (f.compute.entropy_avail.as_deref(), f.compute.fips_failures),
            (Some("123"), Some(7))
        );
        f.compute.entropy_avail = Some("256".into());
        f.compute.fips_failures = Some(2);
    });
    assert_differs_only("no-rngtest.yaml", |f| {
        assert_eq!(f.compute.fips_failures, None);
        f.compute.fips_failures = Some(2);
    });
    assert_differs_only("no-external-network.yaml", |f| f.network.external = true);
    assert_differs_only("s3-access-denied.yaml", |f| {
        assert_eq!(f.object_store.s3_error, S3Error::AccessDenied);
        f.object_store.s3_error = S3Error::InvalidAccessKeyId;
    });
    assert_differs_only("faulty.yaml", |f| {
        assert_eq!(f.faults.latency_ms, 20);
        assert_eq!(f.faults.errors.len(), 1);
        assert_eq!(f.faults.errors[0].count, Some(1));
        assert_eq!(f.faults.expire_tokens_after_requests, Some(100));
        f.faults = Default::default();
    });
}

//! The fixture's `quota` block over HTTP: the limits APIs of Nova, Cinder and Neutron, and
//! every enforcement path (Cinder 413 on volume, backup and restore; Nova 403 on instances,
//! cores, RAM and ports; a boot volume over Cinder's quota aborting the build; Neutron 409
//! on every create). Bodies and messages are those the real services (Nova 33, Cinder 29,
//! Neutron 29) gave for the same requests.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use simcloud::{Fixture, project_id};

fn id_of(body: &Value, key: &str) -> String {
    body[key]["id"].as_str().expect("id").to_owned()
}

async fn nova_limits(s: &Session, version: &str) -> (StatusCode, Value) {
    let (status, _, text) = request(
        "GET",
        &s.url("/compute/v2.1/limits"),
        Some(&s.token),
        &[("OpenStack-API-Version", &format!("compute {version}"))],
        None,
    )
    .await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A network with a subnet, to boot servers on.
async fn server_net(s: &Session) -> String {
    let (_, body) = network(s, "net").await;
    let net = id_of(&body, "network");
    let (status, _) = s
        .post(
            "/network/v2.0/subnets",
            &json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "10.0.0.0/24"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    net
}

async fn network(s: &Session, name: &str) -> (StatusCode, Value) {
    s.post(
        "/network/v2.0/networks",
        &json!({"network": {"name": name}}),
    )
    .await
}

fn server_body(name: &str, net: &str, boot_gib: Option<u64>) -> Value {
    let image = simcloud::image_id("Debian 12");
    let mut server = json!({
        "name": name,
        "flavorRef": "1",
        "imageRef": image,
        "networks": [{"uuid": net}],
    });
    if let Some(size) = boot_gib {
        server["imageRef"] = json!("");
        server["block_device_mapping_v2"] = json!([{"boot_index": 0, "uuid": image,
            "source_type": "image", "destination_type": "volume", "volume_size": size,
            "delete_on_termination": true}]);
    }
    json!({ "server": server })
}

async fn wait_volume_available(s: &Session, id: &str) {
    for _ in 0..5 {
        let (_, body) = call("GET", &s.cinder(&format!("/volumes/{id}")), &s.token, None).await;
        if body["volume"]["status"] == "available" {
            return;
        }
    }
    panic!("volume {id} never became available");
}

#[tokio::test]
async fn limits_apis_report_the_default_quota_and_the_usage() {
    let s = Session::new(BASE_YAML).await;
    let demo = project_id("demo");
    // Nova 2.1: every key Nova 33 returns at 2.1, with its defaults.
    let (status, body) = nova_limits(&s, "2.1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"limits": {"rate": [], "absolute": {
            "maxTotalCores": 20, "maxPersonality": 5, "maxPersonalitySize": 10240,
            "maxTotalInstances": 10, "maxTotalKeypairs": 100, "maxServerMeta": 128,
            "maxImageMeta": 128, "maxTotalRAMSize": 51200, "maxServerGroups": 10,
            "maxServerGroupMembers": 10, "maxTotalFloatingIps": -1, "maxSecurityGroups": -1,
            "maxSecurityGroupRules": -1, "totalRAMUsed": 0, "totalCoresUsed": 0,
            "totalInstancesUsed": 0, "totalFloatingIpsUsed": 0, "totalSecurityGroupsUsed": 0,
            "totalServerGroupsUsed": 0}}})
    );
    let (_, body) = nova_limits(&s, "2.96").await;
    assert_eq!(
        body,
        json!({"limits": {"rate": [], "absolute": {
            "maxTotalCores": 20, "maxTotalInstances": 10, "maxTotalKeypairs": 100,
            "maxServerMeta": 128, "maxTotalRAMSize": 51200, "maxServerGroups": 10,
            "maxServerGroupMembers": 10, "totalRAMUsed": 0, "totalCoresUsed": 0,
            "totalInstancesUsed": 0, "totalServerGroupsUsed": 0}}})
    );
    // Another project's limits need an admin; 2.75 refuses unknown parameters.
    let (status, body) = s
        .get(&format!(
            "/compute/v2.1/limits?tenant_id={}",
            project_id("other")
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["forbidden"]["message"],
        "Policy doesn't allow os_compute_api:limits:other_project to be performed."
    );
    let (status, _, text) = request(
        "GET",
        &s.url("/compute/v2.1/limits?foo=1"),
        Some(&s.token),
        &[("OpenStack-API-Version", "compute 2.96")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("Additional properties are not allowed ('foo' was unexpected)"));
    // Cinder.
    let (status, body) = call("GET", &s.cinder("/limits"), &s.token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"limits": {"rate": [], "absolute": {
            "maxTotalVolumes": 10, "maxTotalSnapshots": 10, "maxTotalVolumeGigabytes": 1000,
            "maxTotalBackups": 10, "maxTotalBackupGigabytes": 1000, "totalVolumesUsed": 0,
            "totalGigabytesUsed": 0, "totalSnapshotsUsed": 0, "totalBackupsUsed": 0,
            "totalBackupGigabytesUsed": 0}}})
    );
    // Neutron: the default group and its four rules count, as in Neutron.
    let (status, body) = s.get(&format!("/network/v2.0/quotas/{demo}/details")).await;
    assert_eq!(status, StatusCode::OK);
    let entry = |limit: i64, used: i64| json!({"limit": limit, "used": used, "reserved": 0});
    assert_eq!(
        body,
        json!({"quota": {
            "network": entry(100, 0), "subnet": entry(100, 0), "subnetpool": entry(-1, 0),
            "port": entry(500, 0), "router_route": entry(30, 0), "router": entry(10, 0),
            "floatingip": entry(50, 0), "rbac_policy": entry(10, 0),
            "security_group": entry(10, 1), "security_group_rule": entry(100, 4)}})
    );
    let (status, body) = s.get(&format!("/network/v2.0/quotas/{demo}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"quota": {"network": 100, "subnet": 100, "subnetpool": -1, "port": 500,
            "router_route": 30, "router": 10, "floatingip": 50, "rbac_policy": 10,
            "security_group": 10, "security_group_rule": 100}})
    );
    // Another project, the list, changes: 403 as Neutron's policy answers a member.
    let other = project_id("other");
    let (status, body) = s.get(&format!("/network/v2.0/quotas/{other}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["NeutronError"],
        json!({"type": "PolicyNotAuthorized", "message": "rule:get_quota is disallowed by policy", "detail": ""})
    );
    let (status, body) = s
        .get(&format!("/network/v2.0/quotas/{other}/details"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["NeutronError"]["type"], "AdminRequired");
    assert_eq!(
        body["NeutronError"]["message"],
        "User does not have admin privileges: Only admin is authorized to access quotas for \
         another project."
    );
    let (status, _) = s.get("/network/v2.0/quotas").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = s
        .put(
            &format!("/network/v2.0/quotas/{demo}"),
            &json!({"quota": {"network": 5}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["NeutronError"]["message"],
        "rule:update_quota is disallowed by policy"
    );
}

#[tokio::test]
async fn cinder_volume_backup_and_restore_over_quota_answer_413_like_cinder() {
    let s = Session::new(&yaml_with(
        "quota: {volumes: 2, gigabytes: 10, backups: 1, backup_gigabytes: 1000}\n",
    ))
    .await;
    let create = |size: u64| json!({"volume": {"size": size}});
    let (status, body) = call("POST", &s.cinder("/volumes"), &s.token, Some(&create(8))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let big = id_of(&body, "volume");
    // 8 + 3 > 10: gigabytes decide first (Cinder sorts the exceeded resources).
    let (status, headers, text) = request(
        "POST",
        &s.cinder("/volumes"),
        Some(&s.token),
        &[],
        Some(&create(3)),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(headers["retry-after"], "0");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        body,
        json!({"overLimit": {"code": 413, "message": "VolumeSizeExceedsAvailableQuota: Requested \
            volume or snapshot exceeds allowed gigabytes quota. Requested 3G, quota is 10G and \
            8G has been consumed.", "retryAfter": "0"}})
    );
    let (status, body) = call("POST", &s.cinder("/volumes"), &s.token, Some(&create(1))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let small = id_of(&body, "volume");
    let (status, body) = call("POST", &s.cinder("/volumes"), &s.token, Some(&create(1))).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body["overLimit"]["message"],
        "VolumeLimitExceeded: Maximum number of volumes allowed (2) exceeded for quota 'volumes'."
    );
    let (_, body) = call("GET", &s.cinder("/limits"), &s.token, None).await;
    let absolute = &body["limits"]["absolute"];
    assert_eq!(
        (
            &absolute["totalVolumesUsed"],
            &absolute["totalGigabytesUsed"]
        ),
        (&json!(2), &json!(9))
    );
    // Backups: one fits, the second is refused.
    wait_volume_available(&s, &small).await;
    let backup = json!({"backup": {"volume_id": small}});
    let (status, body) = call("POST", &s.cinder("/backups"), &s.token, Some(&backup)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let backup_id = id_of(&body, "backup");
    // the volume is `backing-up` until the backup is done (Cinder checks the status first)
    for _ in 0..3 {
        call(
            "GET",
            &s.cinder(&format!("/backups/{backup_id}")),
            &s.token,
            None,
        )
        .await;
    }
    let (status, body) = call("POST", &s.cinder("/backups"), &s.token, Some(&backup)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body["overLimit"]["message"],
        "BackupLimitExceeded: Maximum number of backups allowed (1) exceeded"
    );
    let (_, body) = call("GET", &s.cinder("/limits"), &s.token, None).await;
    assert_eq!(body["limits"]["absolute"]["totalBackupsUsed"], 1);
    assert_eq!(body["limits"]["absolute"]["totalBackupGigabytesUsed"], 1);
    // A restore into a new volume needs a volume: the restore API's own 413, no class name.
    let restore = json!({"restore": {"name": "restored"}});
    let url = s.cinder(&format!("/backups/{backup_id}/restore"));
    let (status, body) = call("POST", &url, &s.token, Some(&restore)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body,
        json!({"overLimit": {"code": 413, "message": "Maximum number of volumes allowed (2) \
            exceeded for quota 'volumes'.", "retryAfter": "0"}})
    );
    // Deleting the big volume frees its quota.
    wait_volume_available(&s, &big).await;
    let (status, _) = call(
        "DELETE",
        &s.cinder(&format!("/volumes/{big}")),
        &s.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = call("POST", &url, &s.token, Some(&restore)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, body) = call("GET", &s.cinder("/limits"), &s.token, None).await;
    assert_eq!(body["limits"]["absolute"]["totalVolumesUsed"], 2);
    assert_eq!(body["limits"]["absolute"]["totalGigabytesUsed"], 2);
    // backup_gigabytes: a 1 GiB volume does not fit into 0.
    let s = Session::new(&yaml_with("quota: {backup_gigabytes: 0}\n")).await;
    let (_, body) = call("POST", &s.cinder("/volumes"), &s.token, Some(&create(1))).await;
    let id = id_of(&body, "volume");
    wait_volume_available(&s, &id).await;
    let backup = json!({"backup": {"volume_id": id}});
    let (status, body) = call("POST", &s.cinder("/backups"), &s.token, Some(&backup)).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        body["overLimit"]["message"],
        "VolumeBackupSizeExceedsAvailableQuota: Requested backup exceeds allowed Backup \
         gigabytes quota. Requested 1G, quota is 0G and 0G has been consumed."
    );
}

#[tokio::test]
async fn nova_refuses_servers_over_quota_with_403_and_counts_flavors() {
    // flavor "1": 1 vCPU, 2048 MiB
    let s = Session::new(&yaml_with("quota: {instances: 1, cores: 4, ram: 4096}\n")).await;
    let (_, body) = network(&s, "net").await;
    let net = id_of(&body, "network");
    let (status, _) = s
        .post(
            "/network/v2.0/subnets",
            &json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "10.0.0.0/24"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = s
        .post("/compute/v2.1/servers", &server_body("a", &net, None))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let first = id_of(&body, "server");
    let (status, body) = s
        .post("/compute/v2.1/servers", &server_body("b", &net, None))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body,
        json!({"forbidden": {"code": 403, "message": "Quota exceeded for instances: Requested \
            1, but already used 1 of 1 instances"}})
    );
    let (_, body) = nova_limits(&s, "2.96").await;
    let absolute = &body["limits"]["absolute"];
    assert_eq!(
        (
            &absolute["totalInstancesUsed"],
            &absolute["totalCoresUsed"],
            &absolute["totalRAMUsed"]
        ),
        (&json!(1), &json!(1), &json!(2048))
    );
    // A deleted server frees its quota.
    let (status, _) = s.delete(&format!("/compute/v2.1/servers/{first}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    s.get(&format!("/compute/v2.1/servers/{first}")).await;
    let (status, body) = s
        .post("/compute/v2.1/servers", &server_body("c", &net, None))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // Several resources at once: named in sorted order, as Nova does.
    let s = Session::new(&yaml_with("quota: {instances: 0, cores: 0, ram: 1000}\n")).await;
    let net = server_net(&s).await;
    let (status, body) = s
        .post("/compute/v2.1/servers", &server_body("a", &net, None))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["forbidden"]["message"],
        "Quota exceeded for cores, instances, ram: Requested 1, 1, 2048, but already used 0, \
         0, 0 of 0, 0, 1000 cores, instances, ram"
    );
    // Ports: Nova checks Neutron's port quota first.
    let s = Session::new(&yaml_with("quota: {ports: 0}\n")).await;
    let net = server_net(&s).await;
    let (status, body) = s
        .post("/compute/v2.1/servers", &server_body("a", &net, None))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["forbidden"]["message"],
        "Maximum number of ports exceeded"
    );
    assert!(s.cloud.resources().servers.is_empty());
}

#[tokio::test]
async fn a_boot_volume_over_cinders_quota_aborts_the_build_like_nova_compute() {
    let s = Session::new(&yaml_with("quota: {volumes: 1}\n")).await;
    let (_, body) = network(&s, "net").await;
    let net = id_of(&body, "network");
    s.post(
        "/network/v2.0/subnets",
        &json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "10.0.0.0/24"}}),
    )
    .await;
    let (status, body) = call(
        "POST",
        &s.cinder("/volumes"),
        &s.token,
        Some(&json!({"volume": {"size": 1}})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let volume = id_of(&body, "volume");
    // The API accepts the server (Nova's API does not ask Cinder); the build fails.
    let (status, body) = s
        .post("/compute/v2.1/servers", &server_body("bfv", &net, Some(8)))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id = id_of(&body, "server");
    let path = format!("/compute/v2.1/servers/{id}");
    let mut last = Value::Null;
    for _ in 0..3 {
        last = s.get(&path).await.1;
    }
    let server = &last["server"];
    assert_eq!(server["status"], "ERROR");
    assert_eq!(server["OS-EXT-STS:vm_state"], "error");
    assert_eq!(server["fault"]["code"], 500);
    assert_eq!(
        server["fault"]["message"],
        format!(
            "Build of instance {id} aborted: VolumeLimitExceeded: Maximum number of volumes \
             allowed (1) exceeded for quota 'volumes'."
        )
    );
    // No boot volume was made; Nova's cleanup deleted the server's port.
    let resources = s.cloud.resources();
    assert_eq!(
        resources
            .volumes
            .iter()
            .map(|v| v.id.as_str())
            .collect::<Vec<_>>(),
        [volume.as_str()]
    );
    assert_eq!(server["os-extended-volumes:volumes_attached"], json!([]));
    let (_, body) = s.get(&format!("/network/v2.0/ports?device_id={id}")).await;
    assert_eq!(body["ports"], json!([]));
    // The ERROR server still counts as an instance until it is deleted.
    let (_, body) = nova_limits(&s, "2.96").await;
    assert_eq!(body["limits"]["absolute"]["totalInstancesUsed"], 1);
    let (status, _) = s.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // gigabytes: an 8 GiB boot volume over a 5 GiB quota.
    let s = Session::new(&yaml_with("quota: {gigabytes: 5}\n")).await;
    let net = server_net(&s).await;
    let (_, body) = s
        .post("/compute/v2.1/servers", &server_body("bfv", &net, Some(8)))
        .await;
    let id = id_of(&body, "server");
    let mut last = Value::Null;
    for _ in 0..3 {
        last = s.get(&format!("/compute/v2.1/servers/{id}")).await.1;
    }
    assert_eq!(
        last["server"]["fault"]["message"],
        format!(
            "Build of instance {id} aborted: VolumeSizeExceedsAvailableQuota: Requested volume \
             or snapshot exceeds allowed gigabytes quota. Requested 8G, quota is 5G and 0G has \
             been consumed."
        )
    );
}

#[tokio::test]
async fn neutron_creates_over_quota_answer_409_overquota() {
    let s = Session::new(&yaml_with(
        "quota: {networks: 1, subnets: 1, routers: 1, security_groups: 2, \
         security_group_rules: 7}\n",
    ))
    .await;
    let over = |resource: &str| {
        json!({"NeutronError": {"type": "OverQuota",
            "message": format!("Quota exceeded for resources: ['{resource}']."), "detail": ""}})
    };
    let (status, body) = network(&s, "one").await;
    assert_eq!(status, StatusCode::CREATED);
    let net = id_of(&body, "network");
    let (status, body) = network(&s, "two").await;
    assert_eq!((status, body), (StatusCode::CONFLICT, over("network")));
    let subnet = json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "10.0.0.0/24"}});
    let (status, _) = s.post("/network/v2.0/subnets", &subnet).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = s.post("/network/v2.0/subnets", &subnet).await;
    assert_eq!((status, body), (StatusCode::CONFLICT, over("subnet")));
    let router = json!({"router": {"name": "r"}});
    let (status, _) = s.post("/network/v2.0/routers", &router).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = s.post("/network/v2.0/routers", &router).await;
    assert_eq!((status, body), (StatusCode::CONFLICT, over("router")));
    // `default` (4 rules) is one of the two groups; a new group brings its 2 egress rules.
    let group = json!({"security_group": {"name": "g"}});
    let (status, body) = s.post("/network/v2.0/security-groups", &group).await;
    assert_eq!(status, StatusCode::CREATED);
    let group_id = id_of(&body, "security_group");
    let (status, body) = s.post("/network/v2.0/security-groups", &group).await;
    assert_eq!(
        (status, body),
        (StatusCode::CONFLICT, over("security_group"))
    );
    let rule = |port: u32| {
        json!({"security_group_rule": {"security_group_id": group_id, "direction": "ingress",
            "protocol": "tcp", "port_range_min": port, "port_range_max": port}})
    };
    let (status, _) = s
        .post("/network/v2.0/security-group-rules", &rule(22))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = s
        .post("/network/v2.0/security-group-rules", &rule(80))
        .await;
    assert_eq!(
        (status, body),
        (StatusCode::CONFLICT, over("security_group_rule"))
    );
    let (_, body) = s
        .get(&format!(
            "/network/v2.0/quotas/{}/details",
            project_id("demo")
        ))
        .await;
    assert_eq!(
        body["quota"]["security_group_rule"],
        json!({"limit": 7, "used": 7, "reserved": 0})
    );
    // Deleting frees: the group (with its rules), then the network (with its subnet).
    let (status, _) = s
        .delete(&format!("/network/v2.0/security-groups/{group_id}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s.post("/network/v2.0/security-groups", &group).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = s.delete(&format!("/network/v2.0/networks/{net}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = network(&s, "three").await;
    assert_eq!(status, StatusCode::CREATED);
}

#[test]
fn quota_keys_are_checked_and_default_to_openstacks() {
    let f = Fixture::from_yaml(BASE_YAML).expect("base");
    assert_eq!(
        f.quota.entries().to_vec(),
        [
            ("instances", 10),
            ("cores", 20),
            ("ram", 51200),
            ("volumes", 10),
            ("snapshots", 10),
            ("gigabytes", 1000),
            ("backups", 10),
            ("backup_gigabytes", 1000),
            ("networks", 100),
            ("subnets", 100),
            ("routers", 10),
            ("ports", 500),
            ("security_groups", 10),
            ("security_group_rules", 100),
            ("floatingips", 50),
        ]
    );
    let f = Fixture::from_yaml(&yaml_with("quota: {instances: -1, ram: 0}\n")).expect("ok");
    assert_eq!((f.quota.instances, f.quota.ram, f.quota.cores), (-1, 0, 20));
    let err = Fixture::from_yaml(&yaml_with("quota: {cores: -2}\n")).expect_err("-2");
    assert!(err.to_string().contains("quota.cores"), "{err}");
    let err = Fixture::from_yaml(&yaml_with("quota: {keypairs: 5}\n")).expect_err("unknown");
    assert!(err.to_string().contains("keypairs"), "{err}");
}

#[tokio::test]
async fn small_quota_fixture_holds_the_write_checks_one_after_another_only() {
    let s = Session::new("small-quota.yaml").await;
    let (_, body) = call("GET", &s.cinder("/limits"), &s.token, None).await;
    let absolute = &body["limits"]["absolute"];
    assert_eq!(absolute["maxTotalVolumes"], 2);
    assert_eq!(absolute["maxTotalVolumeGigabytes"], 10);
    assert_eq!(absolute["maxTotalBackups"], 1);
    let (_, body) = nova_limits(&s, "2.96").await;
    assert_eq!(body["limits"]["absolute"]["maxTotalInstances"], 1);
}

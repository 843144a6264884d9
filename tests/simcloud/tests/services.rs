//! End-to-end HTTP tests of the services beyond Keystone/Nova flavors/Glance: Cinder types,
//! volumes and backups; Neutron; Barbican; the S3 probe answer; Nova servers, console and
//! keypairs; `resources()`.

mod common;

use common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use simcloud::project_id;

// ---------------------------------------------------------------- Cinder: versions, types

#[tokio::test]
async fn volume_types_default_and_from_fixture() {
    let s = Session::new(BASE_YAML).await;
    let (status, headers, text) = request("GET", &s.cinder("/types"), Some(&s.token), &[], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["openstack-api-version"], "volume 3.0");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(names(&body["volume_types"]), ["__DEFAULT__"]);
    assert_eq!(body["volume_types"][0]["description"], "Default Volume Type");
    assert_eq!(body["volume_types"][0]["is_public"], true);

    let s = Session::new(&yaml_with(
        "volume:\n  types:\n\
         \x20 - {name: LUKS, description: '[scs:encrypted, replicated] LUKS encrypted'}\n\
         \x20 - {name: hidden, is_public: false}\n\
         \x20 - {name: ssd, extra_specs: {multiattach: '<is> True', volume_backend_name: ceph}}\n\
         \x20 default_type: ssd\n",
    ))
    .await;
    let (status, body) = call("GET", &s.cinder("/types"), &s.token, None).await;
    assert_eq!(status, StatusCode::OK);
    let types = &body["volume_types"];
    assert_eq!(names(types), ["LUKS", "ssd"]);
    assert_eq!(
        types[0]["description"],
        "[scs:encrypted, replicated] LUKS encrypted"
    );
    assert_eq!(types[0]["os-volume-type-access:is_public"], true);
    // Members see only the user-visible extra specs.
    assert_eq!(types[1]["extra_specs"], json!({"multiattach": "<is> True"}));
    let ssd_id = types[1]["id"].as_str().expect("id").to_owned();
    let (status, body) = call("GET", &s.cinder("/types/default"), &s.token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["volume_type"]["id"], ssd_id.as_str());
    let (status, body) = call("GET", &s.cinder(&format!("/types/{ssd_id}")), &s.token, None).await;
    assert_eq!((status, body["volume_type"]["name"].as_str()), (StatusCode::OK, Some("ssd")));
    let (status, body) = call("GET", &s.cinder("/types/nope"), &s.token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["itemNotFound"]["message"], "Volume type with id nope could not be found.");
    let (status, _) = call("POST", &s.cinder("/types"), &s.token, Some(&json!({"volume_type": {"name": "x"}}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn cinder_auth_project_check_microversions_and_versions() {
    let s = Session::new(BASE_YAML).await;
    let (status, _, _) = request("GET", &s.cinder("/types"), None, &[], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Another project's URL: Cinder's "Malformed request url".
    let (status, body) = call("GET", &s.url("/volume/v3/0123456789abcdef/types"), &s.token, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["badRequest"]["message"], "Malformed request url");
    let (status, headers, _) = request(
        "GET",
        &s.cinder("/types"),
        Some(&s.token),
        &[("OpenStack-API-Version", "volume 3.60")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["openstack-api-version"], "volume 3.60");
    let (status, headers, _) = request(
        "GET",
        &s.cinder("/types"),
        Some(&s.token),
        &[("OpenStack-API-Version", "volume latest")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["openstack-api-version"], "volume 3.71");
    let (status, _, _) = request(
        "GET",
        &s.cinder("/types"),
        Some(&s.token),
        &[("OpenStack-API-Version", "volume 3.99")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_ACCEPTABLE);
    let (status, body) = get_json(&s.url("/volume/"), None, &[]).await;
    assert_eq!(status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(body["versions"][0]["id"], "v3.0");
    assert_eq!(body["versions"][0]["version"], "3.71");
    assert_eq!(body["versions"][0]["links"][1]["href"], s.url("/volume/v3/"));
    let (status, body) = get_json(&s.url("/volume/v3/"), None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["versions"][0]["min_version"], "3.0");
}

// ---------------------------------------------------------------- Neutron: default rules

#[tokio::test]
async fn default_security_group_rules_are_neutrons_defaults() {
    let s = Session::new(BASE_YAML).await;
    let (status, body) = s.get("/network/v2.0/default-security-group-rules").await;
    assert_eq!(status, StatusCode::OK);
    let rules = body["default_security_group_rules"].as_array().expect("rules");
    assert_eq!(rules.len(), 4);
    let summary: Vec<(String, String, Value, bool, bool)> = rules
        .iter()
        .map(|r| {
            (
                r["direction"].as_str().expect("direction").to_owned(),
                r["ethertype"].as_str().expect("ethertype").to_owned(),
                r["remote_group_id"].clone(),
                r["used_in_default_sg"].as_bool().expect("bool"),
                r["used_in_non_default_sg"].as_bool().expect("bool"),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("ingress".into(), "IPv4".into(), json!("PARENT"), true, false),
            ("ingress".into(), "IPv6".into(), json!("PARENT"), true, false),
            ("egress".into(), "IPv4".into(), Value::Null, true, true),
            ("egress".into(), "IPv6".into(), Value::Null, true, true),
        ]
    );
    for r in rules {
        for key in [
            "id",
            "protocol",
            "port_range_min",
            "port_range_max",
            "remote_ip_prefix",
            "remote_address_group_id",
            "description",
        ] {
            assert!(r.get(key).is_some(), "{key} missing in {r}");
        }
    }
    // Filters, fields, show, policy.
    let (_, body) = s
        .get("/network/v2.0/default-security-group-rules?direction=egress&fields=id&fields=ethertype")
        .await;
    assert_eq!(
        body["default_security_group_rules"]
            .as_array()
            .expect("list")
            .iter()
            .map(|r| r["ethertype"].as_str().expect("ethertype"))
            .collect::<Vec<_>>(),
        ["IPv4", "IPv6"]
    );
    assert_eq!(
        body["default_security_group_rules"][0]
            .as_object()
            .expect("object")
            .len(),
        2
    );
    let (_, body) = s
        .get("/network/v2.0/default-security-group-rules?used_in_non_default_sg=False")
        .await;
    assert_eq!(body["default_security_group_rules"].as_array().map(Vec::len), Some(2));
    let (status, body) = s
        .get("/network/v2.0/default-security-group-rules?colour=red")
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["NeutronError"]["message"],
        "[colour] is invalid attribute for filtering"
    );
    let id = rules[2]["id"].as_str().expect("id");
    let (status, body) = s
        .get(&format!("/network/v2.0/default-security-group-rules/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["default_security_group_rule"]["direction"], "egress");
    let (status, body) = s
        .post(
            "/network/v2.0/default-security-group-rules",
            &json!({"default_security_group_rule": {"direction": "ingress"}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["NeutronError"]["type"], "PolicyNotAuthorized");
    let (_, body) = s.get("/network/v2.0/extensions").await;
    assert!(
        body["extensions"]
            .as_array()
            .expect("extensions")
            .iter()
            .any(|e| e["alias"] == "security-groups-default-rules")
    );
}

#[tokio::test]
async fn default_rules_from_fixture_and_switched_off() {
    let s = Session::new(&yaml_with(
        "network:\n  default_security_group_rules:\n\
         \x20 - {direction: ingress, protocol: tcp, port_range_min: 22, port_range_max: 22, remote_ip_prefix: 0.0.0.0/0}\n\
         \x20 - {direction: egress, ethertype: IPv6, used_in_default_sg: false}\n",
    ))
    .await;
    let (_, body) = s.get("/network/v2.0/default-security-group-rules").await;
    let rules = &body["default_security_group_rules"];
    assert_eq!(rules.as_array().map(Vec::len), Some(2));
    assert_eq!(rules[0]["port_range_min"], 22);
    assert_eq!(rules[0]["remote_ip_prefix"], "0.0.0.0/0");
    assert_eq!(rules[0]["ethertype"], "IPv4");
    assert_eq!(rules[1]["used_in_default_sg"], false);
    assert_eq!(rules[1]["used_in_non_default_sg"], true);

    let s = Session::new(&yaml_with("network: {default_rules_api: false}\n")).await;
    let (status, body) = s.get("/network/v2.0/default-security-group-rules").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["NeutronError"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("default-security-group-rules")),
        "{body}"
    );
    let (_, body) = s.get("/network/v2.0/extensions").await;
    assert!(
        !body["extensions"]
            .as_array()
            .expect("extensions")
            .iter()
            .any(|e| e["alias"] == "security-groups-default-rules")
    );
}

// ---------------------------------------------------------------- S3 probe

const SIGV4: &str = "AWS4-HMAC-SHA256 Credential=doesnotexist/20250101/us-east-1/s3/aws4_request, \
SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=0000";

async fn s3_probe(s: &Session) -> (StatusCode, reqwest::header::HeaderMap, String) {
    request(
        "GET",
        &s.url("/"),
        None,
        &[
            ("Authorization", SIGV4),
            ("x-amz-date", "20250101T000000Z"),
            ("x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ],
        None,
    )
    .await
}

#[tokio::test]
async fn s3_probe_answers_invalid_access_key_by_default() {
    let s = Session::new(BASE_YAML).await;
    let (status, headers, text) = s3_probe(&s).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers["content-type"], "application/xml");
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"), "{text}");
    assert!(text.contains("<Code>InvalidAccessKeyId</Code>"), "{text}");
    assert!(
        text.contains("<Message>The AWS Access Key Id you provided does not exist in our records.</Message>"),
        "{text}"
    );
    assert!(text.contains("<AWSAccessKeyId>doesnotexist</AWSAccessKeyId>"), "{text}");
    // An unsigned request to the root is not S3: the ordinary 404.
    let (status, body) = get_json(&s.url("/"), None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], 404);
    // The probe is recorded like every request.
    let recorded = s.cloud.requests();
    let probe = recorded.iter().find(|r| r.path == "/" && r.status == 403).expect("probe");
    assert_eq!(probe.header("authorization"), Some(SIGV4));
}

#[tokio::test]
async fn s3_probe_variants() {
    let s = Session::new(&yaml_with("object_store: {s3_error: AccessDenied}\n")).await;
    let (status, _, text) = s3_probe(&s).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(text.contains("<Code>AccessDenied</Code><Message>Access Denied.</Message>"), "{text}");
    assert!(!text.contains("AWSAccessKeyId"), "{text}");
    let s = Session::new(&yaml_with("object_store: {s3_error: none}\n")).await;
    let (status, _, text) = s3_probe(&s).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.contains("<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"), "{text}");
    assert!(text.contains("<Buckets></Buckets>"), "{text}");
    let s = Session::new(&yaml_with("object_store: {s3_error: NoSuchKey}\n")).await;
    let (status, _, text) = s3_probe(&s).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text.contains("<Code>NoSuchKey</Code>"), "{text}");
    // SigV2 is recognised too.
    let (status, _, _) = request("GET", &s.url("/"), None, &[("Authorization", "AWS doesnotexist:c2ln")], None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- Barbican

fn secret_body(name: &str) -> Value {
    json!({"name": name, "payload": "foo", "payload_content_type": "text/plain", "secret_type": "opaque"})
}

fn secret_id(secret_ref: &Value) -> String {
    secret_ref
        .as_str()
        .and_then(|r| r.rsplit('/').next())
        .expect("secret_ref")
        .to_owned()
}

#[tokio::test]
async fn barbican_secret_lifecycle_and_paging() {
    let s = Session::new(BASE_YAML).await;
    let (status, body) = get_json(&s.url("/key-manager"), None, &[]).await;
    assert_eq!(status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(body["versions"]["values"][0]["id"], "v1");
    let (status, body) = s.get("/key-manager/v1/secrets").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"secrets": [], "total": 0}));

    let (status, headers, text) = request(
        "POST",
        &s.url("/key-manager/v1/secrets"),
        Some(&s.token),
        &[],
        Some(&secret_body("scs-member-role-test-secret")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let body: Value = serde_json::from_str(&text).expect("json");
    let href = body["secret_ref"].as_str().expect("secret_ref");
    assert!(href.starts_with(&s.url("/key-manager/v1/secrets/")), "{href}");
    assert_eq!(headers["location"], href);
    let id = secret_id(&body["secret_ref"]);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");

    let (_, body) = s.get("/key-manager/v1/secrets?name=scs-member-role-test-secret").await;
    assert_eq!(body["total"], 1);
    let secret = &body["secrets"][0];
    assert_eq!(secret["name"], "scs-member-role-test-secret");
    assert_eq!(secret["status"], "ACTIVE");
    assert_eq!(secret["secret_type"], "opaque");
    assert_eq!(secret["content_types"], json!({"default": "text/plain"}));
    assert_eq!(secret["secret_ref"], href);
    let (status, _, payload) = request(
        "GET",
        &format!("{href}/payload"),
        Some(&s.token),
        &[("Accept", "text/plain")],
        None,
    )
    .await;
    assert_eq!((status, payload.as_str()), (StatusCode::OK, "foo"));

    // Paging: 12 secrets, 10 per page by default, `next` carries limit and offset only.
    for i in 0..11 {
        let (status, _) = s.post("/key-manager/v1/secrets", &secret_body(&format!("filler-{i:02}"))).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, page1) = s.get("/key-manager/v1/secrets").await;
    assert_eq!(page1["total"], 12);
    assert_eq!(page1["secrets"].as_array().map(Vec::len), Some(10));
    assert_eq!(page1["next"], s.url("/key-manager/v1/secrets?limit=10&offset=10"));
    assert!(page1.get("previous").is_none());
    let (_, page2) = s.get("/key-manager/v1/secrets?limit=10&offset=10").await;
    assert_eq!(names(&page2["secrets"]), ["filler-09", "filler-10"]);
    assert_eq!(page2["previous"], s.url("/key-manager/v1/secrets?limit=10&offset=0"));
    assert!(page2.get("next").is_none());
    let (_, page) = s.get("/key-manager/v1/secrets?limit=5&offset=5&name=filler-07").await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["secrets"], json!([]));

    let (status, body) = s.delete(&format!("/key-manager/v1/secrets/{id}")).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, body) = s.delete(&format!("/key-manager/v1/secrets/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body, json!({"code": 404, "title": "Not Found", "description": "Secret not found."}));
    assert_eq!(s.cloud.resources().secrets.len(), 11);
}

#[tokio::test]
async fn barbican_validation_and_forbidden_member() {
    let s = Session::new(BASE_YAML).await;
    let (status, body) = s
        .post("/key-manager/v1/secrets", &json!({"name": "x", "payload": "foo"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["description"]
            .as_str()
            .is_some_and(|d| d.contains("'payload_content_type' must also be supplied")),
        "{body}"
    );
    let (status, _) = s
        .post("/key-manager/v1/secrets", &json!({"name": "x", "payload": "foo", "payload_content_type": "text/plain", "secret_type": "weird"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = request(
        "POST",
        &s.url("/key-manager/v1/secrets"),
        Some(&s.token),
        &[("Content-Type", "text/plain")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _) = s
        .post("/key-manager/v1/secrets", &json!({"name": "bin", "payload": "AAEC", "payload_content_type": "application/octet-stream", "payload_content_encoding": "base64"}))
        .await;
    assert_eq!(status, StatusCode::CREATED);

    let s = Session::new(&yaml_with("key_manager: {forbid_member: true}\n")).await;
    let (status, body) = s.post("/key-manager/v1/secrets", &secret_body("scs-member-role-test-secret")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], 403);
    assert_eq!(body["title"], "Forbidden");
    let (status, _) = s.get("/key-manager/v1/secrets").await;
    assert_eq!(status, StatusCode::OK);
    assert!(s.cloud.resources().is_empty());
    // Another project's Barbican URL space is the same; the secrets are per project.
    assert_eq!(project_id("demo").len(), 32);
}

// ---------------------------------------------------------------- Cinder: volumes, backups

async fn volume_status(s: &Session, id: &str) -> (StatusCode, Value) {
    let (status, body) = call("GET", &s.cinder(&format!("/volumes/{id}")), &s.token, None).await;
    (status, body["volume"]["status"].clone())
}

async fn backup_status(s: &Session, id: &str) -> (StatusCode, Value) {
    let (status, body) = call("GET", &s.cinder(&format!("/backups/{id}")), &s.token, None).await;
    (status, body["backup"]["status"].clone())
}

async fn create_volume(s: &Session, name: &str, size: u64) -> String {
    let (status, body) = call(
        "POST",
        &s.cinder("/volumes"),
        &s.token,
        Some(&json!({"volume": {"name": name, "size": size}})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    body["volume"]["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn volume_lifecycle_creating_available_deleting() {
    let s = Session::new(&yaml_with(
        "volume:\n  types: [{name: __DEFAULT__}, {name: fast, description: '[scs:replicated] fast'}]\n  delete_polls: 2\n",
    ))
    .await;
    let (status, body) = call(
        "POST",
        &s.cinder("/volumes"),
        &s.token,
        Some(&json!({"volume": {"name": "scs-test-volume", "size": 1, "metadata": {"a": "b"}}})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let v = &body["volume"];
    assert_eq!(v["status"], "creating");
    assert_eq!(v["size"], 1);
    assert_eq!(v["name"], "scs-test-volume");
    assert_eq!(v["volume_type"], "__DEFAULT__");
    assert_eq!(v["bootable"], "false");
    assert_eq!(v["metadata"], json!({"a": "b"}));
    assert_eq!(v["attachments"], json!([]));
    assert_eq!(v["os-vol-tenant-attr:tenant_id"], project_id("demo"));
    let id = v["id"].as_str().expect("id").to_owned();
    assert_eq!(
        v["links"][0]["href"],
        s.cinder(&format!("/volumes/{id}")).as_str()
    );
    // Deleting a volume that is still creating is refused.
    let (status, body) = call("DELETE", &s.cinder(&format!("/volumes/{id}")), &s.token, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["badRequest"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Invalid volume: Volume status must be available or error")),
        "{body}"
    );
    // create_polls 1: the first GET shows creating, the second available.
    assert_eq!(volume_status(&s, &id).await, (StatusCode::OK, json!("creating")));
    assert_eq!(volume_status(&s, &id).await, (StatusCode::OK, json!("available")));
    // Typed volume, lists, filters, paging.
    let (status, body) = call(
        "POST",
        &s.cinder("/volumes"),
        &s.token,
        Some(&json!({"volume": {"name": "other", "size": "2", "volume_type": "fast"}})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["volume"]["volume_type"], "fast");
    assert_eq!(body["volume"]["size"], 2);
    let other = body["volume"]["id"].as_str().expect("id").to_owned();
    let (_, body) = call("GET", &s.cinder("/volumes?name=scs-test-volume"), &s.token, None).await;
    assert_eq!(body["volumes"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["volumes"][0]["id"], id.as_str());
    assert!(body["volumes"][0].get("status").is_none(), "summary only");
    // Lists count as polls too: "other" shows creating once, then available.
    let (_, body) = call("GET", &s.cinder("/volumes/detail"), &s.token, None).await;
    assert_eq!(names(&body["volumes"]), ["other", "scs-test-volume"]);
    assert_eq!(body["volumes"][0]["status"], "creating");
    let (_, body) = call("GET", &s.cinder("/volumes/detail?status=creating"), &s.token, None).await;
    assert_eq!(body["volumes"], json!([]));
    let (_, body) = call("GET", &s.cinder("/volumes/detail?status=available"), &s.token, None).await;
    assert_eq!(names(&body["volumes"]), ["other", "scs-test-volume"]);
    let (_, body) = call("GET", &s.cinder("/volumes/detail?limit=1"), &s.token, None).await;
    assert_eq!(names(&body["volumes"]), ["other"]);
    let next = body["volumes_links"][0]["href"].as_str().expect("next").to_owned();
    assert_eq!(next, s.cinder(&format!("/volumes/detail?limit=1&marker={other}")));
    let (_, body) = call("GET", &next, &s.token, None).await;
    assert_eq!(names(&body["volumes"]), ["scs-test-volume"]);
    let (status, body) = call("GET", &s.cinder("/volumes?colour=red"), &s.token, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["badRequest"]["message"], "Invalid input received: Invalid filter keys: colour");
    let (status, headers, text) = request(
        "GET",
        &s.cinder("/volumes/detail?with_count=true"),
        Some(&s.token),
        &[("OpenStack-API-Version", "volume 3.65")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["openstack-api-version"], "volume 3.65");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["count"], 2);
    assert_eq!(body["volumes"][0]["consumes_quota"], true);
    assert!(body["volumes"][0]["volume_type_id"].is_string());
    // Bad requests.
    for bad in [
        json!({"volume": {"size": 0}}),
        json!({"volume": {"name": "x"}}),
        json!({"volume": {"size": 1, "volume_type": "nope"}}),
        json!({"size": 1}),
    ] {
        let (status, _) = call("POST", &s.cinder("/volumes"), &s.token, Some(&bad)).await;
        assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND, "{bad}: {status}");
    }
    // delete_polls 2: two GETs show deleting, then 404.
    let (status, body) = call("DELETE", &s.cinder(&format!("/volumes/{id}")), &s.token, None).await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, Value::Null));
    assert_eq!(volume_status(&s, &id).await, (StatusCode::OK, json!("deleting")));
    assert_eq!(volume_status(&s, &id).await, (StatusCode::OK, json!("deleting")));
    let (status, body) = call("GET", &s.cinder(&format!("/volumes/{id}")), &s.token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["itemNotFound"]["message"], format!("Volume {id} could not be found."));
    assert_eq!(
        s.cloud.resources().volumes.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        ["other"]
    );
}

#[tokio::test]
async fn backup_create_restore_delete() {
    let s = Session::new(BASE_YAML).await;
    let volume = create_volume(&s, "scs-test-volume", 1).await;
    // Not yet available: backups are refused.
    let (status, body) = call(
        "POST",
        &s.cinder("/backups"),
        &s.token,
        Some(&json!({"backup": {"volume_id": volume, "name": "scs-test-volume-backup"}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["badRequest"]["message"],
        "Invalid volume: Volume to be backed up must be available or in-use, but the current status is \"creating\"."
    );
    assert_eq!(volume_status(&s, &volume).await.1, "creating");
    assert_eq!(volume_status(&s, &volume).await.1, "available");
    let (status, body) = call(
        "POST",
        &s.cinder("/backups"),
        &s.token,
        Some(&json!({"backup": {"volume_id": volume, "name": "scs-test-volume-backup"}})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["backup"]["name"], "scs-test-volume-backup");
    let backup = body["backup"]["id"].as_str().expect("id").to_owned();
    assert_eq!(volume_status(&s, &volume).await.1, "backing-up");
    let (status, _) = call("DELETE", &s.cinder(&format!("/volumes/{volume}")), &s.token, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // backup_create_polls 2.
    assert_eq!(backup_status(&s, &backup).await.1, "creating");
    let (_, body) = call("GET", &s.cinder("/backups/detail?name=scs-test-volume-backup"), &s.token, None).await;
    assert_eq!(body["backups"][0]["status"], "creating");
    assert_eq!(body["backups"][0]["volume_id"], volume.as_str());
    assert_eq!(body["backups"][0]["size"], 1);
    let (_, body) = call("GET", &s.cinder(&format!("/backups/{backup}")), &s.token, None).await;
    let b = &body["backup"];
    assert_eq!(b["status"], "available");
    assert_eq!(b["container"], "volumebackups");
    assert_eq!(b["fail_reason"], Value::Null);
    assert_eq!(b["is_incremental"], false);
    assert_eq!(volume_status(&s, &volume).await.1, "available");
    // Restore into a new volume.
    let (status, body) = call(
        "POST",
        &s.cinder(&format!("/backups/{backup}/restore")),
        &s.token,
        Some(&json!({"restore": {"name": "scs-test-restored-backup"}})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(body["restore"]["backup_id"], backup.as_str());
    assert_eq!(body["restore"]["volume_name"], "scs-test-restored-backup");
    let restored = body["restore"]["volume_id"].as_str().expect("volume_id").to_owned();
    assert_eq!(backup_status(&s, &backup).await.1, "restoring");
    let (status, _) = call("DELETE", &s.cinder(&format!("/backups/{backup}")), &s.token, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, body) = call("GET", &s.cinder("/volumes/detail?name=scs-test-restored-backup"), &s.token, None).await;
    assert_eq!(body["volumes"][0]["status"], "restoring-backup");
    assert_eq!(body["volumes"][0]["size"], 1);
    assert_eq!(volume_status(&s, &restored).await.1, "available");
    assert_eq!(backup_status(&s, &backup).await.1, "available");
    // Cleanup in the official order: backups, then volumes.
    let (status, _) = call("DELETE", &s.cinder(&format!("/backups/{backup}")), &s.token, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(backup_status(&s, &backup).await.0, StatusCode::NOT_FOUND);
    for id in [&volume, &restored] {
        let (status, _) = call("DELETE", &s.cinder(&format!("/volumes/{id}")), &s.token, None).await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    assert!(s.cloud.resources().is_empty(), "{:?}", s.cloud.resources().names());
    let mutations: Vec<(String, u16)> = s
        .cloud
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && !r.path.ends_with("/auth/tokens"))
        .map(|r| (r.method.clone(), r.status))
        .collect();
    let expected: Vec<(String, u16)> = [
        ("POST", 202),
        ("POST", 400),
        ("POST", 202),
        ("DELETE", 400),
        ("POST", 202),
        ("DELETE", 400),
        ("DELETE", 202),
        ("DELETE", 202),
        ("DELETE", 202),
    ]
    .iter()
    .map(|(m, s)| ((*m).to_owned(), *s))
    .collect();
    assert_eq!(mutations, expected);
}

#[tokio::test]
async fn no_backup_service_leaves_an_undeletable_error_backup() {
    let s = Session::new(&yaml_with("volume: {backup_service: false}\n")).await;
    let volume = create_volume(&s, "scs-test-volume", 1).await;
    volume_status(&s, &volume).await;
    assert_eq!(volume_status(&s, &volume).await.1, "available");
    let (status, body) = call(
        "POST",
        &s.cinder("/backups"),
        &s.token,
        Some(&json!({"backup": {"volume_id": volume, "name": "scs-test-volume-backup"}})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let backup = body["backup"]["id"].as_str().expect("id").to_owned();
    assert_eq!(backup_status(&s, &backup).await.1, "creating");
    assert_eq!(backup_status(&s, &backup).await.1, "creating");
    let (_, body) = call("GET", &s.cinder(&format!("/backups/{backup}")), &s.token, None).await;
    assert_eq!(body["backup"]["status"], "error");
    assert_eq!(body["backup"]["fail_reason"], "Service not found for creating backup.");
    assert_eq!(volume_status(&s, &volume).await.1, "available");
    let (status, body) = call("DELETE", &s.cinder(&format!("/backups/{backup}")), &s.token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["itemNotFound"]["message"], "Service cinder-backup could not be found.");
    let (status, body) = call(
        "POST",
        &s.cinder(&format!("/backups/{backup}/action")),
        &s.token,
        Some(&json!({"os-force_delete": {}})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["forbidden"]["message"].is_string());
    assert_eq!(backup_status(&s, &backup).await.1, "error");
    let (status, body) = call(
        "POST",
        &s.cinder(&format!("/backups/{backup}/restore")),
        &s.token,
        Some(&json!({"restore": {"name": "x"}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["badRequest"]["message"], "Invalid backup: Backup status must be available");
    let left = s.cloud.resources();
    assert_eq!(left.backups.len(), 1);
    assert_eq!(left.backups[0].status, "error");
    assert_eq!(left.volumes[0].name, "scs-test-volume");
}

//! End-to-end HTTP tests of the services beyond Keystone/Nova flavors/Glance: Cinder types,
//! volumes and backups; Neutron; Barbican; the S3 probe answer; Nova servers, console and
//! keypairs; `resources()`.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use simcloud::project_id;

// ---------------------------------------------------------------- Cinder: versions, types

#[tokio::test]
async fn volume_types_default_and_from_fixture() {
    let s = Session::new(BASE_YAML).await;
    let (status, headers, text) =
        request("GET", &s.cinder("/types"), Some(&s.token), &[], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["openstack-api-version"], "volume 3.0");
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(names(&body["volume_types"]), ["__DEFAULT__"]);
    assert_eq!(
        body["volume_types"][0]["description"],
        "Default Volume Type"
    );
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
    let (status, body) = call(
        "GET",
        &s.cinder(&format!("/types/{ssd_id}")),
        &s.token,
        None,
    )
    .await;
    assert_eq!(
        (status, body["volume_type"]["name"].as_str()),
        (StatusCode::OK, Some("ssd"))
    );
    let (status, body) = call("GET", &s.cinder("/types/nope"), &s.token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["itemNotFound"]["message"],
        "Volume type with id nope could not be found."
    );
    let (status, _) = call(
        "POST",
        &s.cinder("/types"),
        &s.token,
        Some(&json!({"volume_type": {"name": "x"}})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn cinder_auth_project_check_microversions_and_versions() {
    let s = Session::new(BASE_YAML).await;
    let (status, _, _) = request("GET", &s.cinder("/types"), None, &[], None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // Another project's URL: Cinder's "Malformed request url".
    let (status, body) = call(
        "GET",
        &s.url("/volume/v3/0123456789abcdef0123456789abcdef/types"),
        &s.token,
        None,
    )
    .await;
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
    assert_eq!(
        body["versions"][0]["links"][1]["href"],
        s.url("/volume/v3/")
    );
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
    let rules = body["default_security_group_rules"]
        .as_array()
        .expect("rules");
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
            (
                "ingress".into(),
                "IPv4".into(),
                json!("PARENT"),
                true,
                false
            ),
            (
                "ingress".into(),
                "IPv6".into(),
                json!("PARENT"),
                true,
                false
            ),
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
    assert_eq!(
        body["default_security_group_rules"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
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
            (
                "x-amz-content-sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
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
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
        "{text}"
    );
    assert!(text.contains("<Code>InvalidAccessKeyId</Code>"), "{text}");
    assert!(
        text.contains(
            "<Message>The AWS Access Key Id you provided does not exist in our records.</Message>"
        ),
        "{text}"
    );
    assert!(
        text.contains("<AWSAccessKeyId>doesnotexist</AWSAccessKeyId>"),
        "{text}"
    );
    // An unsigned request to the root is not S3: the ordinary 404.
    let (status, body) = get_json(&s.url("/"), None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], 404);
    // The probe is recorded like every request.
    let recorded = s.cloud.requests();
    let probe = recorded
        .iter()
        .find(|r| r.path == "/" && r.status == 403)
        .expect("probe");
    assert_eq!(probe.header("authorization"), Some(SIGV4));
}

#[tokio::test]
async fn s3_probe_variants() {
    let s = Session::new(&yaml_with("object_store: {s3_error: AccessDenied}\n")).await;
    let (status, _, text) = s3_probe(&s).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(
        text.contains("<Code>AccessDenied</Code><Message>Access Denied.</Message>"),
        "{text}"
    );
    assert!(!text.contains("AWSAccessKeyId"), "{text}");
    let s = Session::new(&yaml_with("object_store: {s3_error: none}\n")).await;
    let (status, _, text) = s3_probe(&s).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        text.contains("<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"),
        "{text}"
    );
    assert!(text.contains("<Buckets></Buckets>"), "{text}");
    let s = Session::new(&yaml_with("object_store: {s3_error: NoSuchKey}\n")).await;
    let (status, _, text) = s3_probe(&s).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text.contains("<Code>NoSuchKey</Code>"), "{text}");
    // SigV2 is recognised too.
    let (status, _, _) = request(
        "GET",
        &s.url("/"),
        None,
        &[("Authorization", "AWS doesnotexist:c2ln")],
        None,
    )
    .await;
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
    assert!(
        href.starts_with(&s.url("/key-manager/v1/secrets/")),
        "{href}"
    );
    assert_eq!(headers["location"], href);
    let id = secret_id(&body["secret_ref"]);
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");

    let (_, body) = s
        .get("/key-manager/v1/secrets?name=scs-member-role-test-secret")
        .await;
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
        let (status, _) = s
            .post(
                "/key-manager/v1/secrets",
                &secret_body(&format!("filler-{i:02}")),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, page1) = s.get("/key-manager/v1/secrets").await;
    assert_eq!(page1["total"], 12);
    assert_eq!(page1["secrets"].as_array().map(Vec::len), Some(10));
    assert_eq!(
        page1["next"],
        s.url("/key-manager/v1/secrets?limit=10&offset=10")
    );
    assert!(page1.get("previous").is_none());
    let (_, page2) = s.get("/key-manager/v1/secrets?limit=10&offset=10").await;
    assert_eq!(names(&page2["secrets"]), ["filler-09", "filler-10"]);
    assert_eq!(
        page2["previous"],
        s.url("/key-manager/v1/secrets?limit=10&offset=0")
    );
    assert!(page2.get("next").is_none());
    let (_, page) = s
        .get("/key-manager/v1/secrets?limit=5&offset=5&name=filler-07")
        .await;
    assert_eq!(page["total"], 1);
    assert_eq!(page["secrets"], json!([]));

    let (status, body) = s.delete(&format!("/key-manager/v1/secrets/{id}")).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, body) = s.delete(&format!("/key-manager/v1/secrets/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        json!({"code": 404, "title": "Not Found", "description": "Secret not found."})
    );
    assert_eq!(s.cloud.resources().secrets.len(), 11);
}

#[tokio::test]
async fn barbican_validation_and_forbidden_member() {
    let s = Session::new(BASE_YAML).await;
    let (status, body) = s
        .post(
            "/key-manager/v1/secrets",
            &json!({"name": "x", "payload": "foo"}),
        )
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
    let (status, body) = s
        .post(
            "/key-manager/v1/secrets",
            &secret_body("scs-member-role-test-secret"),
        )
        .await;
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
    let (status, body) = call(
        "DELETE",
        &s.cinder(&format!("/volumes/{id}")),
        &s.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["badRequest"]["message"].as_str().is_some_and(
            |m| m.starts_with("Invalid volume: Volume status must be available or error")
        ),
        "{body}"
    );
    // create_polls 1: the first GET shows creating, the second available.
    assert_eq!(
        volume_status(&s, &id).await,
        (StatusCode::OK, json!("creating"))
    );
    assert_eq!(
        volume_status(&s, &id).await,
        (StatusCode::OK, json!("available"))
    );
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
    let (_, body) = call(
        "GET",
        &s.cinder("/volumes?name=scs-test-volume"),
        &s.token,
        None,
    )
    .await;
    assert_eq!(body["volumes"].as_array().map(Vec::len), Some(1));
    assert_eq!(body["volumes"][0]["id"], id.as_str());
    assert!(body["volumes"][0].get("status").is_none(), "summary only");
    // Lists count as polls too: "other" shows creating once, then available.
    let (_, body) = call("GET", &s.cinder("/volumes/detail"), &s.token, None).await;
    assert_eq!(names(&body["volumes"]), ["other", "scs-test-volume"]);
    assert_eq!(body["volumes"][0]["status"], "creating");
    let (_, body) = call(
        "GET",
        &s.cinder("/volumes/detail?status=creating"),
        &s.token,
        None,
    )
    .await;
    assert_eq!(body["volumes"], json!([]));
    let (_, body) = call(
        "GET",
        &s.cinder("/volumes/detail?status=available"),
        &s.token,
        None,
    )
    .await;
    assert_eq!(names(&body["volumes"]), ["other", "scs-test-volume"]);
    let (_, body) = call("GET", &s.cinder("/volumes/detail?limit=1"), &s.token, None).await;
    assert_eq!(names(&body["volumes"]), ["other"]);
    let next = body["volumes_links"][0]["href"]
        .as_str()
        .expect("next")
        .to_owned();
    assert_eq!(
        next,
        s.cinder(&format!("/volumes/detail?limit=1&marker={other}"))
    );
    let (_, body) = call("GET", &next, &s.token, None).await;
    assert_eq!(names(&body["volumes"]), ["scs-test-volume"]);
    let (status, body) = call("GET", &s.cinder("/volumes?colour=red"), &s.token, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["badRequest"]["message"],
        "Invalid input received: Invalid filter keys: colour"
    );
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
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
            "{bad}: {status}"
        );
    }
    // delete_polls 2: two GETs show deleting, then 404.
    let (status, body) = call(
        "DELETE",
        &s.cinder(&format!("/volumes/{id}")),
        &s.token,
        None,
    )
    .await;
    assert_eq!((status, body), (StatusCode::ACCEPTED, Value::Null));
    assert_eq!(
        volume_status(&s, &id).await,
        (StatusCode::OK, json!("deleting"))
    );
    assert_eq!(
        volume_status(&s, &id).await,
        (StatusCode::OK, json!("deleting"))
    );
    let (status, body) = call("GET", &s.cinder(&format!("/volumes/{id}")), &s.token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["itemNotFound"]["message"],
        format!("Volume {id} could not be found.")
    );
    assert_eq!(
        s.cloud
            .resources()
            .volumes
            .iter()
            .map(|v| v.name.as_str())
            .collect::<Vec<_>>(),
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
    let (status, _) = call(
        "DELETE",
        &s.cinder(&format!("/volumes/{volume}")),
        &s.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // backup_create_polls 2.
    assert_eq!(backup_status(&s, &backup).await.1, "creating");
    let (_, body) = call(
        "GET",
        &s.cinder("/backups/detail?name=scs-test-volume-backup"),
        &s.token,
        None,
    )
    .await;
    assert_eq!(body["backups"][0]["status"], "creating");
    assert_eq!(body["backups"][0]["volume_id"], volume.as_str());
    assert_eq!(body["backups"][0]["size"], 1);
    let (_, body) = call(
        "GET",
        &s.cinder(&format!("/backups/{backup}")),
        &s.token,
        None,
    )
    .await;
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
    let restored = body["restore"]["volume_id"]
        .as_str()
        .expect("volume_id")
        .to_owned();
    assert_eq!(backup_status(&s, &backup).await.1, "restoring");
    let (status, _) = call(
        "DELETE",
        &s.cinder(&format!("/backups/{backup}")),
        &s.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, body) = call(
        "GET",
        &s.cinder("/volumes/detail?name=scs-test-restored-backup"),
        &s.token,
        None,
    )
    .await;
    assert_eq!(body["volumes"][0]["status"], "restoring-backup");
    assert_eq!(body["volumes"][0]["size"], 1);
    assert_eq!(volume_status(&s, &restored).await.1, "available");
    assert_eq!(backup_status(&s, &backup).await.1, "available");
    // Cleanup in the official order: backups, then volumes.
    let (status, _) = call(
        "DELETE",
        &s.cinder(&format!("/backups/{backup}")),
        &s.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(backup_status(&s, &backup).await.0, StatusCode::NOT_FOUND);
    for id in [&volume, &restored] {
        let (status, _) = call(
            "DELETE",
            &s.cinder(&format!("/volumes/{id}")),
            &s.token,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    assert!(
        s.cloud.resources().is_empty(),
        "{:?}",
        s.cloud.resources().names()
    );
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
    let (_, body) = call(
        "GET",
        &s.cinder(&format!("/backups/{backup}")),
        &s.token,
        None,
    )
    .await;
    assert_eq!(body["backup"]["status"], "error");
    assert_eq!(
        body["backup"]["fail_reason"],
        "Service not found for creating backup."
    );
    assert_eq!(volume_status(&s, &volume).await.1, "available");
    let (status, body) = call(
        "DELETE",
        &s.cinder(&format!("/backups/{backup}")),
        &s.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["itemNotFound"]["message"],
        "Service cinder-backup could not be found."
    );
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
    assert_eq!(
        body["badRequest"]["message"],
        "Invalid backup: Backup status must be available"
    );
    let left = s.cloud.resources();
    assert_eq!(left.backups.len(), 1);
    assert_eq!(left.backups[0].status, "error");
    assert_eq!(left.volumes[0].name, "scs-test-volume");
}

// ---------------------------------------------------------------- Neutron: resources

fn id_of(body: &Value, key: &str) -> String {
    body[key]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no {key}.id in {body}"))
        .to_owned()
}

#[tokio::test]
async fn external_network_and_list_filters() {
    let s = Session::new(BASE_YAML).await;
    let (status, body) = s.get("/network/v2.0/networks").await;
    assert_eq!(status, StatusCode::OK);
    let nets = body["networks"].as_array().expect("networks");
    assert_eq!(nets.len(), 1);
    assert_eq!(nets[0]["name"], "public");
    assert_eq!(nets[0]["router:external"], true);
    assert_eq!(nets[0]["project_id"], project_id("admin"));
    assert_eq!(nets[0]["subnets"].as_array().map(Vec::len), Some(1));
    let (_, body) = s.get("/network/v2.0/networks?router:external=True").await;
    assert_eq!(names(&body["networks"]), ["public"]);
    let (_, body) = s
        .get("/network/v2.0/networks?router%3Aexternal=false")
        .await;
    assert_eq!(body["networks"], json!([]));
    // The external subnet belongs to admin and is not listed for members.
    let (_, body) = s.get("/network/v2.0/subnets").await;
    assert_eq!(body["subnets"], json!([]));
    let (status, body) = s.get("/network/v2.0/networks?colour=red").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["NeutronError"]["message"],
        "[colour] is invalid attribute for filtering"
    );
    for name in ["a", "b", "c"] {
        let (status, _) = s
            .post(
                "/network/v2.0/networks",
                &json!({"network": {"name": name}}),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (_, body) = s.get("/network/v2.0/networks?limit=2").await;
    assert_eq!(names(&body["networks"]), ["public", "a"]);
    let next = body["networks_links"][0]["href"]
        .as_str()
        .expect("next")
        .to_owned();
    assert!(
        next.starts_with(&s.url("/network/v2.0/networks?limit=2&marker=")),
        "{next}"
    );
    let (_, body) = call("GET", &next, &s.token, None).await;
    assert_eq!(names(&body["networks"]), ["b", "c"]);
    let (_, body) = s
        .get("/network/v2.0/networks?name=b&name=c&fields=name")
        .await;
    assert_eq!(body["networks"], json!([{"name": "b"}, {"name": "c"}]));
    let (status, body) = s
        .post(
            "/network/v2.0/networks",
            &json!({"network": {"name": "x", "colour": 1}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["NeutronError"]["message"],
        "Unrecognized attribute(s) 'colour'"
    );
    let (status, _) = s
        .post(
            "/network/v2.0/networks",
            &json!({"network": {"name": "x", "router:external": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, body) = s.get("/network/v2.0/networks?router:external=true").await;
    let public = body["networks"][0]["id"].as_str().expect("id").to_owned();
    let (status, body) = s.delete(&format!("/network/v2.0/networks/{public}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["NeutronError"]["type"], "PolicyNotAuthorized");

    let s = Session::new(&yaml_with("network: {external: false}\n")).await;
    let (_, body) = s.get("/network/v2.0/networks?router:external=True").await;
    assert_eq!(body["networks"], json!([]));
}

#[tokio::test]
async fn entropy_topology_with_neutron_409s() {
    let s = Session::new(BASE_YAML).await;
    let (_, body) = s.get("/network/v2.0/networks?router:external=True").await;
    let public = body["networks"][0]["id"].as_str().expect("id").to_owned();
    let (status, body) = s
        .post(
            "/network/v2.0/networks",
            &json!({"network": {"name": "_scs-0101-net"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["network"]["status"], "ACTIVE");
    assert_eq!(body["network"]["router:external"], false);
    assert_eq!(body["network"]["project_id"], project_id("demo"));
    let net = id_of(&body, "network");
    let (status, body) = s
        .post(
            "/network/v2.0/subnets",
            &json!({"subnet": {"name": "_scs-0101-subnet", "network_id": net, "ip_version": 4,
                "cidr": "10.1.0.0/24", "gateway_ip": "10.1.0.1",
                "allocation_pools": [{"start": "10.1.0.100", "end": "10.1.0.199"}],
                "dns_nameservers": ["9.9.9.9"], "enable_dhcp": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let sub = &body["subnet"];
    assert_eq!(sub["cidr"], "10.1.0.0/24");
    assert_eq!(sub["gateway_ip"], "10.1.0.1");
    assert_eq!(
        sub["allocation_pools"],
        json!([{"start": "10.1.0.100", "end": "10.1.0.199"}])
    );
    assert_eq!(sub["dns_nameservers"], json!(["9.9.9.9"]));
    assert_eq!(sub["ip_version"], 4);
    let subnet = id_of(&body, "subnet");
    // Defaults: gateway .1, pool .2-.254; overlap refused; bad CIDR refused.
    let (status, body) = s
        .post(
            "/network/v2.0/subnets",
            &json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "10.1.0.128/25"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["NeutronError"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("overlaps")),
        "{body}"
    );
    let (status, _) = s
        .post(
            "/network/v2.0/subnets",
            &json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "10.1.300.0/24"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .post(
            "/network/v2.0/subnets",
            &json!({"subnet": {"network_id": net, "cidr": "10.2.0.0/24"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = s
        .post(
            "/network/v2.0/subnets",
            &json!({"subnet": {"network_id": net, "ip_version": 4, "cidr": "10.2.0.0/24"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["subnet"]["gateway_ip"], "10.2.0.1");
    assert_eq!(
        body["subnet"]["allocation_pools"],
        json!([{"start": "10.2.0.2", "end": "10.2.0.254"}])
    );
    let second = id_of(&body, "subnet");
    let (status, _) = s.delete(&format!("/network/v2.0/subnets/{second}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Router: gateway must be external; enable_snat is admin-only.
    let (status, body) = s
        .post(
            "/network/v2.0/routers",
            &json!({"router": {"name": "r", "external_gateway_info": {"network_id": net}}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["NeutronError"]["message"],
        format!("Bad router request: Network {net} is not an external network.")
    );
    let (status, _) = s
        .post("/network/v2.0/routers", &json!({"router": {"name": "r", "external_gateway_info": {"network_id": public, "enable_snat": false}}}))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = s
        .post("/network/v2.0/routers", &json!({"router": {"name": "_scs-0101-router", "external_gateway_info": {"network_id": public}}}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let gw = &body["router"]["external_gateway_info"];
    assert_eq!(gw["network_id"], public.as_str());
    assert_eq!(gw["enable_snat"], true);
    assert_eq!(gw["external_fixed_ips"][0]["ip_address"], "203.0.113.2");
    let router = id_of(&body, "router");
    let (status, body) = s
        .put(
            &format!("/network/v2.0/routers/{router}/add_router_interface"),
            &json!({"subnet_id": subnet}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["id"], router.as_str());
    assert_eq!(body["subnet_id"], subnet.as_str());
    assert_eq!(body["network_id"], net.as_str());
    let port = body["port_id"].as_str().expect("port").to_owned();
    let (_, body) = s
        .get(&format!("/network/v2.0/ports?device_id={router}"))
        .await;
    assert_eq!(body["ports"][0]["id"], port.as_str());
    assert_eq!(body["ports"][0]["device_owner"], "network:router_interface");
    assert_eq!(body["ports"][0]["fixed_ips"][0]["ip_address"], "10.1.0.1");
    let (status, body) = s
        .put(
            &format!("/network/v2.0/routers/{router}/add_router_interface"),
            &json!({"subnet_id": subnet}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["NeutronError"]["message"],
        format!("Bad router request: Router already has a port on subnet {subnet}.")
    );
    // Deleting in the wrong order: 409s as in Neutron.
    let (status, body) = s.delete(&format!("/network/v2.0/routers/{router}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["NeutronError"],
        json!({"type": "RouterInUse", "message": format!("Router {router} still has ports"), "detail": ""})
    );
    let (status, body) = s.delete(&format!("/network/v2.0/subnets/{subnet}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["NeutronError"]["type"], "SubnetInUse");
    let (status, body) = s.delete(&format!("/network/v2.0/networks/{net}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["NeutronError"]["type"], "NetworkInUse");
    assert_eq!(
        body["NeutronError"]["message"],
        format!(
            "Unable to complete operation on network {net}. There are one or more ports still in use on the network."
        )
    );
    assert_eq!(s.cloud.resources().routers.len(), 1);
    // The right order.
    let (status, body) = s
        .put(
            &format!("/network/v2.0/routers/{router}/remove_router_interface"),
            &json!({"subnet_id": subnet}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["port_id"], port.as_str());
    let (status, body) = s
        .put(
            &format!("/network/v2.0/routers/{router}/remove_router_interface"),
            &json!({"subnet_id": subnet}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["NeutronError"]["type"],
        "RouterInterfaceNotFoundForSubnet"
    );
    let (status, _) = s.delete(&format!("/network/v2.0/routers/{router}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A network with only an unused subnet goes, subnet and all (as in Neutron).
    let (status, body) = s.delete(&format!("/network/v2.0/networks/{net}")).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, body) = s.get(&format!("/network/v2.0/subnets/{subnet}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["NeutronError"]["message"],
        format!("Subnet {subnet} could not be found.")
    );
    assert!(
        s.cloud.resources().is_empty(),
        "{:?}",
        s.cloud.resources().names()
    );
}

fn rule_summary(rules: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = rules
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            (
                r["direction"].as_str().expect("direction").to_owned(),
                r["ethertype"].as_str().expect("ethertype").to_owned(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn security_groups_follow_the_default_rules() {
    let s = Session::new(BASE_YAML).await;
    let (_, body) = s.get("/network/v2.0/security-groups").await;
    let groups = body["security_groups"].as_array().expect("groups");
    assert_eq!(groups.len(), 1);
    assert_eq!(groups[0]["name"], "default");
    let default_id = groups[0]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        rule_summary(&groups[0]["security_group_rules"]),
        [
            ("egress".to_owned(), "IPv4".to_owned()),
            ("egress".into(), "IPv6".into()),
            ("ingress".into(), "IPv4".into()),
            ("ingress".into(), "IPv6".into())
        ]
    );
    let ingress = groups[0]["security_group_rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["direction"] == "ingress")
        .expect("ingress")
        .clone();
    assert_eq!(ingress["remote_group_id"], default_id.as_str());
    assert_eq!(ingress["belongs_to_default_sg"], true);
    // The fallback path of scs-0115: a new group has egress rules only.
    let (status, body) = s
        .post(
            "/network/v2.0/security-groups",
            &json!({"security_group": {"name": "scs-test-default-sg", "description": "x"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let group = id_of(&body, "security_group");
    let rules = &body["security_group"]["security_group_rules"];
    assert_eq!(
        rule_summary(rules),
        [
            ("egress".to_owned(), "IPv4".to_owned()),
            ("egress".into(), "IPv6".into())
        ]
    );
    assert_eq!(rules[0]["remote_ip_prefix"], Value::Null);
    assert_eq!(rules[0]["protocol"], Value::Null);
    assert_eq!(rules[0]["belongs_to_default_sg"], false);
    let (_, body) = s
        .get(&format!(
            "/network/v2.0/security-group-rules?security_group_id={group}"
        ))
        .await;
    assert_eq!(
        body["security_group_rules"].as_array().map(Vec::len),
        Some(2)
    );
    // Rules: create, duplicate, validation, delete.
    let ssh = json!({"security_group_rule": {"security_group_id": group, "direction": "ingress",
        "protocol": "tcp", "port_range_min": 22, "port_range_max": 22, "remote_ip_prefix": "0.0.0.0/0"}});
    let (status, body) = s.post("/network/v2.0/security-group-rules", &ssh).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["security_group_rule"]["ethertype"], "IPv4");
    assert_eq!(body["security_group_rule"]["normalized_cidr"], "0.0.0.0/0");
    let rule = id_of(&body, "security_group_rule");
    let (status, body) = s.post("/network/v2.0/security-group-rules", &ssh).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["NeutronError"]["message"],
        format!("Security group rule already exists. Rule id is {rule}.")
    );
    let (status, _) = s
        .post(
            "/network/v2.0/security-group-rules",
            &json!({"security_group_rule": {"security_group_id": group,
            "direction": "ingress", "ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = s
        .post(
            "/network/v2.0/security-group-rules",
            &json!({"security_group_rule": {"security_group_id": "nope", "direction": "ingress"}}),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = s
        .delete(&format!("/network/v2.0/security-group-rules/{rule}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Groups: default is protected, "default" is taken, others go.
    let (status, body) = s
        .delete(&format!("/network/v2.0/security-groups/{default_id}"))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["NeutronError"]["type"],
        "SecurityGroupCannotRemoveDefault"
    );
    let (status, _) = s
        .post(
            "/network/v2.0/security-groups",
            &json!({"security_group": {"name": "default"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        s.cloud.resources().names(),
        ["security_group:scs-test-default-sg"]
    );
    let (status, _) = s
        .delete(&format!("/network/v2.0/security-groups/{group}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, body) = s.get("/network/v2.0/security-group-rules").await;
    assert_eq!(
        body["security_group_rules"].as_array().map(Vec::len),
        Some(4)
    );
    assert!(s.cloud.resources().is_empty());

    // Fixture templates with an ingress rule for every group.
    let s = Session::new(&yaml_with(
        "network:\n  default_rules_api: false\n  default_security_group_rules:\n\
         \x20 - {direction: ingress, protocol: tcp, port_range_min: 22, port_range_max: 22, remote_ip_prefix: 0.0.0.0/0}\n\
         \x20 - {direction: egress}\n\
         \x20 - {direction: egress, ethertype: IPv6}\n",
    ))
    .await;
    let (_, body) = s
        .post(
            "/network/v2.0/security-groups",
            &json!({"security_group": {"name": "scs-test-default-sg"}}),
        )
        .await;
    let rules = &body["security_group"]["security_group_rules"];
    assert_eq!(
        rule_summary(rules),
        [
            ("egress".to_owned(), "IPv4".to_owned()),
            ("egress".into(), "IPv6".into()),
            ("ingress".into(), "IPv4".into())
        ]
    );
}

// ---------------------------------------------------------------- Nova: keypairs

#[tokio::test]
async fn keypairs_across_microversions() {
    let s = Session::new(BASE_YAML).await;
    let (status, body) = s
        .post(
            "/compute/v2.1/os-keypairs",
            &json!({"keypair": {"name": "scs-key"}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let kp = &body["keypair"];
    assert_eq!(kp["name"], "scs-key");
    assert!(
        kp["public_key"]
            .as_str()
            .is_some_and(|k| k.starts_with("ssh-ed25519 ")),
        "{kp}"
    );
    assert!(
        kp["private_key"]
            .as_str()
            .is_some_and(|k| k.contains("PRIVATE KEY")),
        "{kp}"
    );
    assert_eq!(
        kp["fingerprint"].as_str().map(|f| f.split(':').count()),
        Some(16)
    );
    assert!(kp.get("type").is_none());
    let (status, body) = s
        .post(
            "/compute/v2.1/os-keypairs",
            &json!({"keypair": {"name": "scs-key"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["conflictingRequest"]["message"],
        "Key pair 'scs-key' already exists."
    );
    let v22 = [("OpenStack-API-Version", "compute 2.2")];
    let (status, _, text) = request(
        "POST",
        &s.url("/compute/v2.1/os-keypairs"),
        Some(&s.token),
        &v22,
        Some(&json!({"keypair": {"name": "imported", "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKq8 me@host"}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["keypair"]["type"], "ssh");
    assert!(body["keypair"].get("private_key").is_none());
    let (status, _) = s
        .post(
            "/compute/v2.1/os-keypairs",
            &json!({"keypair": {"name": "bad", "public_key": "not a key"}}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, text) = request(
        "POST",
        &s.url("/compute/v2.1/os-keypairs"),
        Some(&s.token),
        &[("OpenStack-API-Version", "compute 2.92")],
        Some(&json!({"keypair": {"name": "generated"}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let (_, body) = s.get("/compute/v2.1/os-keypairs").await;
    let listed: Vec<&str> = body["keypairs"]
        .as_array()
        .expect("keypairs")
        .iter()
        .map(|k| k["keypair"]["name"].as_str().expect("name"))
        .collect();
    assert_eq!(listed, ["imported", "scs-key"]);
    let (status, body) = s.get("/compute/v2.1/os-keypairs/scs-key").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["keypair"]["user_id"], simcloud::user_id("member"));
    assert_eq!(s.cloud.resources().keypairs.len(), 2);
    let (status, _) = s.delete("/compute/v2.1/os-keypairs/scs-key").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _, _) = request(
        "DELETE",
        &s.url("/compute/v2.1/os-keypairs/imported"),
        Some(&s.token),
        &v22,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = s.delete("/compute/v2.1/os-keypairs/imported").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["itemNotFound"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Keypair imported not found for user"))
    );
    assert!(s.cloud.resources().is_empty());
}

// ---------------------------------------------------------------- Nova: servers and console

/// The entropy check's user data: it asks cloud-init for the `_scs-test-` output.
const USER_DATA: &str = "#cloud-config\npackages: [rng-tools5]\nruncmd:\n  - echo \"_scs-test-entropy-avail: $(cat /proc/sys/kernel/random/entropy_avail)\"\n";

fn user_data_b64() -> String {
    // base64 of USER_DATA, computed by hand-rolled encoding in the test (no extra crates).
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let data = USER_DATA.as_bytes();
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Network + subnet for servers; returns the network id.
async fn server_network(s: &Session) -> String {
    let (_, body) = s
        .post(
            "/network/v2.0/networks",
            &json!({"network": {"name": "_scs-0101-net"}}),
        )
        .await;
    let net = id_of(&body, "network");
    let (status, _) = s
        .post("/network/v2.0/subnets", &json!({"subnet": {"name": "_scs-0101-subnet", "network_id": net,
            "ip_version": 4, "cidr": "10.1.0.0/24", "allocation_pools": [{"start": "10.1.0.100", "end": "10.1.0.199"}]}}))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    net
}

fn bfv_server(net: &str, image: &str) -> Value {
    json!({"server": {
        "name": "_scs-0101-server",
        "flavorRef": "1",
        "imageRef": "",
        "networks": [{"uuid": net}],
        "user_data": user_data_b64(),
        "block_device_mapping_v2": [{"boot_index": 0, "uuid": image, "source_type": "image",
            "destination_type": "volume", "volume_size": 8, "delete_on_termination": true}],
    }})
}

async fn console(s: &Session, id: &str, length: Option<i64>) -> (StatusCode, Value) {
    s.post(
        &format!("/compute/v2.1/servers/{id}/action"),
        &json!({"os-getConsoleOutput": {"length": length}}),
    )
    .await
}

#[tokio::test]
async fn server_boot_from_volume_console_and_cleanup() {
    let s = Session::new(BASE_YAML).await;
    let image = simcloud::image_id("Debian 12");
    let net = server_network(&s).await;
    let (status, headers, text) = request(
        "POST",
        &s.url("/compute/v2.1/servers"),
        Some(&s.token),
        &[],
        Some(&bfv_server(&net, &image)),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{text}");
    let body: Value = serde_json::from_str(&text).expect("json");
    let id = id_of(&body, "server");
    assert_eq!(
        headers["location"],
        s.url(&format!("/compute/v2.1/servers/{id}"))
    );
    assert_eq!(
        body["server"]["security_groups"],
        json!([{"name": "default"}])
    );
    assert!(body["server"]["adminPass"].is_string());
    // The request body is recorded, user data included.
    let recorded = s.cloud.requests();
    let boot = recorded
        .iter()
        .find(|r| r.method == "POST" && r.path.ends_with("/servers"))
        .expect("boot");
    assert_eq!(
        boot.json().expect("json")["server"]["user_data"],
        user_data_b64()
    );
    // The boot volume exists in Cinder, attached.
    let (_, body) = call("GET", &s.cinder("/volumes/detail"), &s.token, None).await;
    let vol = &body["volumes"][0];
    assert_eq!(vol["status"], "in-use");
    assert_eq!(vol["size"], 8);
    assert_eq!(vol["bootable"], "true");
    assert_eq!(vol["attachments"][0]["server_id"], id.as_str());
    assert_eq!(vol["volume_image_metadata"]["image_id"], image.as_str());
    // Console before ACTIVE: 409.
    let (status, body) = console(&s, &id, Some(50)).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        body["conflictingRequest"]["message"],
        format!("Instance {id} is not ready")
    );
    // server_build_polls 2: BUILD, BUILD, ACTIVE.
    let path = format!("/compute/v2.1/servers/{id}");
    let (_, body) = s.get(&path).await;
    assert_eq!(body["server"]["status"], "BUILD");
    assert_eq!(body["server"]["OS-EXT-STS:vm_state"], "building");
    assert_eq!(body["server"]["addresses"], json!({}));
    let (_, body) = s.get(&path).await;
    assert_eq!(body["server"]["status"], "BUILD");
    let (_, body) = s.get(&path).await;
    let server = &body["server"];
    assert_eq!(server["status"], "ACTIVE");
    assert_eq!(server["OS-EXT-STS:power_state"], 1);
    assert_eq!(server["image"], "");
    assert_eq!(server["flavor"]["id"], "1");
    assert_eq!(server["tenant_id"], project_id("demo"));
    assert_eq!(
        server["addresses"]["_scs-0101-net"][0]["addr"],
        "10.1.0.100"
    );
    assert_eq!(server["addresses"]["_scs-0101-net"][0]["version"], 4);
    assert_eq!(
        server["os-extended-volumes:volumes_attached"][0]["id"],
        vol["id"]
    );
    assert!(server["OS-SRV-USG:launched_at"].is_string());
    // The console shows the test output once the server was seen ACTIVE by
    // console_delay_polls (2) polls: the GET above and this console request.
    let (status, body) = console(&s, &id, None).await;
    assert_eq!(status, StatusCode::OK);
    let early = body["output"].as_str().expect("output");
    assert!(
        early.contains("Linux version") && !early.contains("_scs-test-"),
        "{early}"
    );
    let (_, body) = console(&s, &id, None).await;
    let full = body["output"].as_str().expect("output");
    assert!(
        full.contains("cloud-init[612]: _scs-test-entropy-avail: 256\n"),
        "{full}"
    );
    assert!(
        full.contains("_scs-test-fips-test: rngtest: FIPS 140-2 failures: 2\n"),
        "{full}"
    );
    assert!(
        full.contains("_scs-test-fips-test: rngtest: FIPS 140-2 successes: 998\n"),
        "{full}"
    );
    assert!(full.contains("_scs-test-end\n"), "{full}");
    assert!(full.find("_scs-test-entropy-avail") < full.find("_scs-test-end"));
    let (_, body) = console(&s, &id, Some(2)).await;
    let tail = body["output"].as_str().expect("output");
    assert_eq!(tail.lines().count(), 2);
    assert!(
        tail.lines()
            .next()
            .is_some_and(|l| l.ends_with("_scs-test-end")),
        "{tail}"
    );
    let (_, body) = console(&s, &id, Some(0)).await;
    assert_eq!(body["output"], "");
    let (status, _) = console(&s, &id, Some(-2)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Lists: name is a regex; summary and detail.
    let (_, body) = s.get("/compute/v2.1/servers?name=_scs-0101").await;
    assert_eq!(body["servers"][0]["id"], id.as_str());
    assert!(body["servers"][0].get("status").is_none());
    let (_, body) = s
        .get("/compute/v2.1/servers/detail?name=%5E_scs-0101-server%24")
        .await;
    assert_eq!(body["servers"][0]["status"], "ACTIVE");
    let (_, body) = s.get("/compute/v2.1/servers?name=nomatch").await;
    assert_eq!(body["servers"], json!([]));
    // The server's port keeps the network busy.
    let (status, _) = s.delete(&format!("/network/v2.0/networks/{net}")).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (_, body) = s.get(&format!("/network/v2.0/ports?device_id={id}")).await;
    assert_eq!(body["ports"][0]["device_owner"], "compute:nova");
    let left = s.cloud.resources();
    assert_eq!(left.servers[0].status, "ACTIVE");
    assert_eq!(left.volumes.len(), 1);
    // Delete: gone at once (server_delete_polls 0), with its port and boot volume.
    let (status, body) = s.delete(&path).await;
    assert_eq!((status, body), (StatusCode::NO_CONTENT, Value::Null));
    let (status, body) = s.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["itemNotFound"]["message"],
        format!("Instance {id} could not be found.")
    );
    let (_, body) = call("GET", &s.cinder("/volumes"), &s.token, None).await;
    assert_eq!(body["volumes"], json!([]));
    let (status, _) = s.delete(&format!("/network/v2.0/networks/{net}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        s.cloud.resources().is_empty(),
        "{:?}",
        s.cloud.resources().names()
    );
}

#[tokio::test]
async fn server_create_validation() {
    let s = Session::new(BASE_YAML).await;
    let image = simcloud::image_id("Debian 12");
    let net = server_network(&s).await;
    let base = bfv_server(&net, &image);
    let with = |path: &[&str], value: Value| {
        let mut body = base.clone();
        let mut slot = &mut body["server"];
        for key in &path[..path.len() - 1] {
            slot = &mut slot[*key];
        }
        slot[path[path.len() - 1]] = value;
        body
    };
    let cases = [
        (
            with(&["flavorRef"], json!("999")),
            StatusCode::BAD_REQUEST,
            "Flavor 999 could not be found.",
        ),
        (
            with(&["user_data"], json!("not base64!")),
            StatusCode::BAD_REQUEST,
            "User data needs to be valid base 64.",
        ),
        (
            with(&["key_name"], json!("nokey")),
            StatusCode::BAD_REQUEST,
            "Invalid key_name provided.",
        ),
        (
            with(&["networks"], json!([{"uuid": "nope"}])),
            StatusCode::BAD_REQUEST,
            "Network nope could not be found.",
        ),
        (
            with(
                &["block_device_mapping_v2"],
                json!([{"boot_index": 0, "uuid": image, "source_type": "image", "destination_type": "volume", "volume_size": 2}]),
            ),
            StatusCode::BAD_REQUEST,
            "Volume is smaller than the minimum size specified in image metadata. Volume size is 2147483648 bytes, minimum size is 4294967296 bytes.",
        ),
        (
            with(&["block_device_mapping_v2"], json!([])),
            StatusCode::BAD_REQUEST,
            "Block Device Mapping is Invalid: Boot sequence for the instance and image/block device mapping combination is not valid.",
        ),
        (
            with(&["security_groups"], json!([{"name": "nope"}])),
            StatusCode::BAD_REQUEST,
            "Unable to find security_group with name or id 'nope'",
        ),
    ];
    for (body, status, message) in cases {
        let (got, reply) = s.post("/compute/v2.1/servers", &body).await;
        assert_eq!(got, status, "{reply}");
        let text = reply.to_string();
        assert!(text.contains(message), "{text} should contain {message}");
    }
    // The external network cannot take a server; neither can a subnet-less network.
    let (_, body) = s.get("/network/v2.0/networks?router:external=True").await;
    let public = body["networks"][0]["id"].as_str().expect("id").to_owned();
    let (status, _) = s
        .post(
            "/compute/v2.1/servers",
            &with(&["networks"], json!([{"uuid": public}])),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Image-backed boot on a zero-disk flavor is refused; 2.37 needs networks.
    let mut image_boot =
        json!({"server": {"name": "x", "flavorRef": "1", "imageRef": image, "networks": "none"}});
    let (status, body) = s.post("/compute/v2.1/servers", &image_boot).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    image_boot["server"]["flavorRef"] = json!("0");
    let (status, _) = s.post("/compute/v2.1/servers", &image_boot).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, text) = request(
        "POST",
        &s.url("/compute/v2.1/servers"),
        Some(&s.token),
        &[("OpenStack-API-Version", "compute 2.37")],
        Some(&json!({"server": {"name": "x", "flavorRef": "1", "imageRef": image}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("'networks' is a required property"), "{text}");
    // Nothing but the one image-backed server was created.
    assert_eq!(s.cloud.resources().servers.len(), 1);
    assert_eq!(s.cloud.resources().volumes.len(), 0);
}

#[tokio::test]
async fn server_error_delete_polls_and_zero_disk() {
    let s = Session::new(&yaml_with(
        "compute: {server_error: true, server_build_polls: 0, server_delete_polls: 1}\n",
    ))
    .await;
    let image = simcloud::image_id("Debian 12");
    let net = server_network(&s).await;
    let (_, body) = s
        .post("/compute/v2.1/servers", &bfv_server(&net, &image))
        .await;
    let id = id_of(&body, "server");
    let path = format!("/compute/v2.1/servers/{id}");
    let (_, body) = s.get(&path).await;
    assert_eq!(body["server"]["status"], "ERROR");
    assert_eq!(body["server"]["fault"]["code"], 500);
    assert_eq!(
        body["server"]["fault"]["message"],
        "No valid host was found. There are not enough hosts available."
    );
    let (status, _) = console(&s, &id, None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = s.delete(&path).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(s.cloud.resources().servers[0].status, "DELETING");
    let (_, body) = s.get(&path).await;
    assert_eq!(body["server"]["OS-EXT-STS:task_state"], "deleting");
    let (status, _) = s.get(&path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(s.cloud.resources().servers.is_empty());
    // A flavor without disk cannot boot an image-backed server.
    let s = Session::new(&yaml_with("")).await;
    let mut fixture_flavor =
        json!({"server": {"name": "x", "flavorRef": "1", "imageRef": image, "networks": "none"}});
    let (status, _) = s.post("/compute/v2.1/servers", &fixture_flavor).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let s = Session::new(&BASE_YAML.replace("disk: 10}", "disk: 0}")).await;
    fixture_flavor["server"]["name"] = json!("y");
    let (status, body) = s.post("/compute/v2.1/servers", &fixture_flavor).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["forbidden"]["message"],
        "Only volume-backed servers are allowed for flavors with zero disk."
    );
}

#[tokio::test]
async fn console_knobs_and_templates() {
    async fn console_of(yaml: &str, user_data: bool) -> String {
        let s = Session::new(&yaml_with(yaml)).await;
        let image = simcloud::image_id("Debian 12");
        let mut body = json!({"server": {"name": "c", "flavorRef": "1", "imageRef": image, "networks": "none"}});
        if user_data {
            body["server"]["user_data"] = json!(user_data_b64());
        }
        let (status, body) = s.post("/compute/v2.1/servers", &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        let id = id_of(&body, "server");
        let (_, body) = console(&s, &id, None).await;
        body["output"].as_str().expect("output").to_owned()
    }
    let fast = "compute: {server_build_polls: 0, console_delay_polls: 0";
    let low = console_of(
        &format!("{fast}, entropy_avail: 123, fips_failures: 7}}\n"),
        true,
    )
    .await;
    assert!(low.contains("_scs-test-entropy-avail: 123\n"), "{low}");
    assert!(low.contains("rngtest: FIPS 140-2 failures: 7\n"), "{low}");
    assert!(
        low.contains("rngtest: FIPS 140-2 successes: 993\n"),
        "{low}"
    );
    let none = console_of(
        &format!("{fast}, entropy_avail: null, fips_failures: null}}\n"),
        true,
    )
    .await;
    assert!(!none.contains("entropy-avail"), "{none}");
    assert!(
        none.contains("_scs-test-fips-test: /bin/sh: 1: rngtest: not found\n"),
        "{none}"
    );
    assert!(!none.contains("failures:"), "{none}");
    assert!(none.contains("_scs-test-end"), "{none}");
    let custom = console_of(
        &format!("{fast}, console_output: \"boot {{server_name}}\\n_scs-test-entropy-avail: {{entropy_avail}}\\nFailed to run module scripts-user\\n\"}}\n"),
        true,
    )
    .await;
    assert_eq!(
        custom,
        "boot c\n_scs-test-entropy-avail: 256\nFailed to run module scripts-user\n"
    );
    // Without test user data, cloud-init just finishes.
    let plain = console_of(&format!("{fast}}}\n"), false).await;
    assert!(
        plain.contains("Cloud-init v. 22.4.2 finished") && !plain.contains("_scs-test-"),
        "{plain}"
    );
}

// ---------------------------------------------------------------- fixture verdicts

type Verdicts = std::collections::BTreeMap<&'static str, &'static str>;

const TESTCASES: [&str; 7] = [
    "scs-0101-entropy-avail",
    "scs-0101-fips-test",
    "scs-0114-syntax-check",
    "scs-0115-default-rules",
    "scs-0116-permissions",
    "scs-0117-test-backup",
    "scs-0123-swift-s3",
];

/// d.6: every `[scs:...]` list sorted, unique, only encrypted/replicated.
fn verdict_0114(types: &Value) -> &'static str {
    for t in types.as_array().expect("types") {
        let d = t["description"].as_str().unwrap_or("");
        let Some(rest) = d.strip_prefix("[scs:") else {
            continue;
        };
        let Some(end) = rest.find(']') else { continue };
        let inner = &rest[..end];
        if inner.is_empty() {
            continue;
        }
        let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
        let mut canonical = parts.clone();
        canonical.sort_unstable();
        canonical.dedup();
        if canonical != parts
            || parts
                .iter()
                .any(|p| !["encrypted", "replicated"].contains(p))
        {
            return "FAIL";
        }
    }
    "PASS"
}

/// d.7, normal path.
fn verdict_0115(rules: &Value) -> &'static str {
    let mut counters = std::collections::BTreeSet::new();
    for r in rules.as_array().expect("rules") {
        if r["direction"] == "ingress" {
            if !(r["remote_group_id"] == "PARENT" && r["used_in_non_default_sg"] == false) {
                return "FAIL";
            }
        } else if r["remote_ip_prefix"].is_null() {
            let eth = r["ethertype"].as_str().expect("ethertype");
            if r["used_in_default_sg"] == true {
                counters.insert((eth.to_owned(), "default"));
            }
            if r["used_in_non_default_sg"] == true {
                counters.insert((eth.to_owned(), "custom"));
            }
        }
    }
    if counters.len() == 4 { "PASS" } else { "FAIL" }
}

/// d.2: the sections of the console, and the two verdicts.
fn verdicts_0101(output: &str) -> (&'static str, &'static str) {
    let mut sections: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for line in output.lines() {
        let Some(pos) = line.find("_scs-test-") else {
            continue;
        };
        if let Some((section, payload)) = line[pos + 10..].split_once(':') {
            sections.entry(section).or_default().push(payload.trim());
        }
    }
    let entropy = match sections.get("entropy-avail").and_then(|p| p.first()) {
        Some(&"256") => "PASS",
        Some(_) => "FAIL",
        None => "ABORT",
    };
    let joined = sections
        .get("fips-test")
        .map(|p| p.join("\n"))
        .unwrap_or_default();
    let failures = joined.match_indices("failures:").find_map(|(i, m)| {
        let rest = &joined[i + m.len()..];
        let mut chars = rest.chars();
        chars.next().filter(|c| c.is_whitespace())?;
        let digits: String = chars.take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    let fips = match failures {
        None => "ABORT",
        Some(n) if n <= 5 => "PASS",
        Some(_) => "FAIL",
    };
    (entropy, fips)
}

async fn poll_until(s: &Session, url: &str, key: &str, done: &[&str]) -> Value {
    for _ in 0..12 {
        let (status, body) = call("GET", url, &s.token, None).await;
        assert_eq!(status, StatusCode::OK, "{url}: {body}");
        if done.iter().any(|d| body[key]["status"] == *d) {
            return body;
        }
    }
    panic!("{url} never reached {done:?}");
}

async fn run_0101(s: &Session) -> (&'static str, &'static str) {
    let (_, body) = s.get("/network/v2.0/networks?router:external=True").await;
    let Some(external) = body["networks"][0]["id"].as_str().map(str::to_owned) else {
        return ("ABORT", "ABORT");
    };
    let (_, body) = s
        .post(
            "/network/v2.0/networks",
            &json!({"network": {"name": "_scs-0101-net"}}),
        )
        .await;
    let net = id_of(&body, "network");
    let (_, body) = s
        .post("/network/v2.0/subnets", &json!({"subnet": {"name": "_scs-0101-subnet", "network_id": net,
            "ip_version": 4, "cidr": "10.1.0.0/24", "gateway_ip": "10.1.0.1",
            "allocation_pools": [{"start": "10.1.0.100", "end": "10.1.0.199"}], "dns_nameservers": ["9.9.9.9"]}}))
        .await;
    let subnet = id_of(&body, "subnet");
    let (_, body) = s
        .post("/network/v2.0/routers", &json!({"router": {"name": "_scs-0101-router", "external_gateway_info": {"network_id": external}}}))
        .await;
    let router = id_of(&body, "router");
    let (status, _) = s
        .put(
            &format!("/network/v2.0/routers/{router}/add_router_interface"),
            &json!({"subnet_id": subnet}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // d.2: Debian 13 and flavor m1.large (203), boot from an 8 GiB volume.
    let mut boot = bfv_server(&net, &simcloud::image_id("Debian 13"));
    boot["server"]["flavorRef"] = json!("203");
    let (status, body) = s.post("/compute/v2.1/servers", &boot).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let server = id_of(&body, "server");
    poll_until(
        s,
        &s.url(&format!("/compute/v2.1/servers/{server}")),
        "server",
        &["ACTIVE"],
    )
    .await;
    let mut output = String::new();
    for _ in 0..12 {
        let (_, body) = console(s, &server, None).await;
        output = body["output"].as_str().expect("output").to_owned();
        if output.contains("_scs-test-end") {
            break;
        }
    }
    assert!(output.contains("_scs-test-end"), "{output}");
    let verdicts = verdicts_0101(&output);
    let (status, _) = s.delete(&format!("/compute/v2.1/servers/{server}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = s
        .put(
            &format!("/network/v2.0/routers/{router}/remove_router_interface"),
            &json!({"subnet_id": subnet}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    for path in [
        format!("/network/v2.0/routers/{router}"),
        format!("/network/v2.0/subnets/{subnet}"),
        format!("/network/v2.0/networks/{net}"),
    ] {
        let (status, body) = s.delete(&path).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}: {body}");
    }
    verdicts
}

async fn run_0115(s: &Session) -> &'static str {
    let (status, body) = s.get("/network/v2.0/default-security-group-rules").await;
    if status == StatusCode::OK {
        return verdict_0115(&body["default_security_group_rules"]);
    }
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, body) = s
        .post(
            "/network/v2.0/security-groups",
            &json!({"security_group": {"name": "scs-test-default-sg"}}),
        )
        .await;
    let group = id_of(&body, "security_group");
    let rules = body["security_group"]["security_group_rules"]
        .as_array()
        .expect("rules")
        .clone();
    let (status, _) = s
        .delete(&format!("/network/v2.0/security-groups/{group}"))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let egress = |eth: &str| {
        rules
            .iter()
            .any(|r| r["direction"] == "egress" && r["ethertype"] == eth)
    };
    if rules.iter().all(|r| r["direction"] != "ingress") && egress("IPv4") && egress("IPv6") {
        "PASS"
    } else {
        "FAIL"
    }
}

async fn run_0116(s: &Session) -> &'static str {
    let (status, body) = s
        .post(
            "/key-manager/v1/secrets",
            &json!({"name": "scs-member-role-test-secret", "payload": "foo",
            "payload_content_type": "text/plain", "secret_type": "opaque"}),
        )
        .await;
    match status {
        StatusCode::FORBIDDEN => "FAIL",
        StatusCode::CREATED => {
            let (_, list) = s
                .get("/key-manager/v1/secrets?name=scs-member-role-test-secret")
                .await;
            assert_eq!(list["secrets"][0]["secret_ref"], body["secret_ref"]);
            let id = secret_id(&body["secret_ref"]);
            let (status, _) = s.delete(&format!("/key-manager/v1/secrets/{id}")).await;
            assert_eq!(status, StatusCode::NO_CONTENT);
            "PASS"
        }
        other => panic!("unexpected {other}"),
    }
}

async fn run_0117(s: &Session) -> &'static str {
    let volume = create_volume(s, "scs-test-volume", 1).await;
    poll_until(
        s,
        &s.cinder(&format!("/volumes/{volume}")),
        "volume",
        &["available"],
    )
    .await;
    let (_, body) = call(
        "POST",
        &s.cinder("/backups"),
        &s.token,
        Some(&json!({"backup": {"volume_id": volume, "name": "scs-test-volume-backup"}})),
    )
    .await;
    let backup = id_of(&body, "backup");
    let body = poll_until(
        s,
        &s.cinder(&format!("/backups/{backup}")),
        "backup",
        &["available", "error"],
    )
    .await;
    if body["backup"]["status"] == "error" {
        // The check's cleanup then fails on the backup (and leaves the volume).
        let (status, body) = call(
            "DELETE",
            &s.cinder(&format!("/backups/{backup}")),
            &s.token,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(body.to_string().contains("cinder-backup"));
        return "FAIL";
    }
    let (status, _) = call(
        "POST",
        &s.cinder(&format!("/backups/{backup}/restore")),
        &s.token,
        Some(&json!({"restore": {"name": "scs-test-restored-backup"}})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, body) = call(
        "GET",
        &s.cinder("/volumes?name=scs-test-restored-backup"),
        &s.token,
        None,
    )
    .await;
    let restored = body["volumes"][0]["id"]
        .as_str()
        .expect("restored")
        .to_owned();
    poll_until(
        s,
        &s.cinder(&format!("/volumes/{restored}")),
        "volume",
        &["available"],
    )
    .await;
    let (status, _) = call(
        "DELETE",
        &s.cinder(&format!("/backups/{backup}")),
        &s.token,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    for id in [&volume, &restored] {
        let (status, _) = call(
            "DELETE",
            &s.cinder(&format!("/volumes/{id}")),
            &s.token,
            None,
        )
        .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    "PASS"
}

async fn replay(name: &str) -> (Verdicts, simcloud::Resources) {
    let s = Session::new(name).await;
    let (_, _, body) = auth(&s.cloud, &password_auth("member", "s3cret")).await;
    let roles: Vec<&str> = body["token"]["roles"]
        .as_array()
        .expect("roles")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    if roles.iter().any(|r| ["admin", "manager"].contains(r)) || !roles.contains(&"member") {
        return (
            TESTCASES.iter().map(|t| (*t, "ABORT")).collect(),
            s.cloud.resources(),
        );
    }
    let types: Vec<&str> = body["token"]["catalog"]
        .as_array()
        .expect("catalog")
        .iter()
        .filter_map(|c| c["type"].as_str())
        .collect();
    let has_cinder = types
        .iter()
        .any(|t| ["volume", "volumev3", "block-storage"].contains(t));
    let mut v = Verdicts::new();
    let (entropy, fips) = run_0101(&s).await;
    v.insert("scs-0101-entropy-avail", entropy);
    v.insert("scs-0101-fips-test", fips);
    v.insert(
        "scs-0114-syntax-check",
        if has_cinder {
            verdict_0114(&call("GET", &s.cinder("/types"), &s.token, None).await.1["volume_types"])
        } else {
            "ABORT"
        },
    );
    v.insert("scs-0115-default-rules", run_0115(&s).await);
    v.insert("scs-0116-permissions", run_0116(&s).await);
    v.insert(
        "scs-0117-test-backup",
        if has_cinder {
            run_0117(&s).await
        } else {
            "FAIL"
        },
    );
    let (status, _, text) = s3_probe(&s).await;
    v.insert(
        "scs-0123-swift-s3",
        if text.contains("InvalidAccessKeyId") || text.contains("NoSuchKey") {
            "PASS"
        } else if status.is_success() {
            "ABORT"
        } else {
            "FAIL"
        },
    );
    (v, s.cloud.resources())
}

#[tokio::test]
async fn fixture_headers_match_the_replayed_verdict_rules() {
    let fixtures: [(&str, &[(&str, &str)]); 16] = [
        ("compliant.yaml", &[]),
        ("broken-flavor-names.yaml", &[]),
        ("broken-standard-flavors.yaml", &[]),
        ("flavor-disk-abort.yaml", &[]),
        (
            "missing-services.yaml",
            &[
                ("scs-0114-syntax-check", "ABORT"),
                ("scs-0117-test-backup", "FAIL"),
            ],
        ),
        ("no-default-rules-api.yaml", &[]),
        (
            "bad-default-rules.yaml",
            &[("scs-0115-default-rules", "FAIL")],
        ),
        (
            "bad-volume-types.yaml",
            &[("scs-0114-syntax-check", "FAIL")],
        ),
        (
            "no-backup-service.yaml",
            &[("scs-0117-test-backup", "FAIL")],
        ),
        (
            "barbican-forbidden.yaml",
            &[("scs-0116-permissions", "FAIL")],
        ),
        (
            "low-entropy.yaml",
            &[
                ("scs-0101-entropy-avail", "FAIL"),
                ("scs-0101-fips-test", "FAIL"),
            ],
        ),
        ("no-rngtest.yaml", &[("scs-0101-fips-test", "ABORT")]),
        (
            "no-external-network.yaml",
            &[
                ("scs-0101-entropy-avail", "ABORT"),
                ("scs-0101-fips-test", "ABORT"),
            ],
        ),
        ("s3-access-denied.yaml", &[("scs-0123-swift-s3", "FAIL")]),
        ("admin-role.yaml", &TESTCASES.map(|t| (t, "ABORT"))),
        ("no-member-role.yaml", &TESTCASES.map(|t| (t, "ABORT"))),
    ];
    for (name, overrides) in fixtures {
        let (got, left) = replay(name).await;
        let mut want: Verdicts = TESTCASES.iter().map(|t| (*t, "PASS")).collect();
        for (t, v) in overrides.iter() {
            want.insert(t, v);
        }
        assert_eq!(got, want, "{name}");
        let header = std::fs::read_to_string(fixture_path(name)).expect("read");
        for (t, v) in overrides.iter() {
            if !name.ends_with("-role.yaml") {
                assert!(
                    header.lines().any(|l| l.starts_with('#')
                        && (l.contains(t) || l.contains(&format!("{}*", &t[..9])))
                        && l.contains(v)),
                    "{name}: header should say {t} {v}"
                );
            }
        }
        if name == "no-backup-service.yaml" {
            assert_eq!(
                left.names(),
                ["volume:scs-test-volume", "backup:scs-test-volume-backup"]
            );
        } else {
            assert!(left.is_empty(), "{name}: {:?}", left.names());
        }
    }
}

//! End-to-end HTTP tests against a running simcloud: Keystone token issue, the token check,
//! Nova flavors (paging, microversions), Glance images (paging, visibility), recording.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use simcloud::{Credential, image_id, project_id, role_id, user_id};

// ---------------------------------------------------------------- Keystone

#[tokio::test]
async fn password_token_carries_user_project_roles_and_catalog() {
    let cloud = start("compliant.yaml").await;
    let (status, token, body) = auth(&cloud, &password_auth("member", "s3cret")).await;
    assert_eq!(status, StatusCode::CREATED);
    let token_id = token.expect("X-Subject-Token");
    assert!(
        token_id.starts_with("gAAAAA") && token_id.len() == 70,
        "{token_id}"
    );
    let t = &body["token"];
    assert_eq!(t["methods"], json!(["password"]));
    assert_eq!(t["user"]["name"], "member");
    assert_eq!(t["user"]["id"], user_id("member"));
    assert_eq!(
        t["user"]["domain"],
        json!({"id": "default", "name": "Default"})
    );
    assert_eq!(t["project"]["name"], "demo");
    assert_eq!(t["project"]["id"], project_id("demo"));
    assert_eq!(t["project"]["domain"]["id"], "default");
    assert_eq!(
        t["roles"],
        json!([{"id": role_id("member"), "name": "member"}, {"id": role_id("reader"), "name": "reader"}])
    );
    assert!(t.get("application_credential").is_none());
    let issued = t["issued_at"].as_str().expect("issued_at");
    let expires = t["expires_at"].as_str().expect("expires_at");
    assert!(
        issued.ends_with('Z') && expires > issued,
        "{issued} {expires}"
    );

    let catalog = t["catalog"].as_array().expect("catalog");
    let types: Vec<&str> = catalog.iter().filter_map(|s| s["type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "identity",
            "compute",
            "image",
            "network",
            "load-balancer",
            "placement",
            "volumev3",
            "block-storage",
            "object-store-s3",
            "key-manager",
            "object-store"
        ]
    );
    let compute = &catalog[1];
    assert_eq!(compute["name"], "nova");
    let endpoints = compute["endpoints"].as_array().expect("endpoints");
    assert_eq!(endpoints.len(), 2);
    assert_eq!(endpoints[0]["interface"], "public");
    assert_eq!(endpoints[1]["interface"], "internal");
    assert_eq!(endpoints[0]["region"], "RegionOne");
    assert_eq!(endpoints[0]["region_id"], "RegionOne");
    assert_eq!(
        endpoints[0]["url"],
        format!("{}/compute/v2.1", cloud.base_url())
    );
    assert_eq!(
        catalog[6]["endpoints"][0]["url"],
        format!("{}/volume/v3/{}", cloud.base_url(), project_id("demo"))
    );
}

#[tokio::test]
async fn password_token_by_ids_and_explicit_scope() {
    let cloud = start("compliant.yaml").await;
    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"id": user_id("member"), "password": "s3cret"}}},
        "scope": {"project": {"id": project_id("demo")}}}});
    let (status, _, body) = auth(&cloud, &body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["token"]["project"]["name"], "demo");

    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": "member", "domain": {"id": "default"}, "password": "s3cret"}}},
        "scope": {"project": {"name": "demo", "domain": {"name": "Default"}}}}});
    let (status, _, body) = auth(&cloud, &body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["token"]["project"]["id"], project_id("demo"));

    let body = json!({"auth": {
        "identity": {"methods": ["password"], "password": {"user": {"name": "member", "domain": {"id": "default"}, "password": "s3cret"}}},
        "scope": "unscoped"}});
    let (status, token, body) = auth(&cloud, &body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(body["token"].get("project").is_none());
    assert!(body["token"].get("catalog").is_none());
    // An unscoped token is not accepted by the services.
    let url = format!("{}/compute/v2.1/flavors", cloud.base_url());
    let (status, _) = get_json(&url, token.as_deref(), &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn application_credential_tokens() {
    let cloud = start("compliant.yaml").await;
    let (status, token, body) = auth(&cloud, &appcred_auth("appcred-1", "appsecret")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(token.is_some());
    let t = &body["token"];
    assert_eq!(t["methods"], json!(["application_credential"]));
    assert_eq!(
        t["application_credential"],
        json!({"id": "appcred-1", "name": "ci", "restricted": true})
    );
    assert_eq!(t["user"]["name"], "member");
    assert_eq!(t["project"]["id"], project_id("demo"));
    assert_eq!(
        t["roles"].as_array().map(Vec::len),
        Some(2),
        "roles: {}",
        t["roles"]
    );

    let by_name = json!({"auth": {"identity": {"methods": ["application_credential"],
        "application_credential": {"name": "ci", "secret": "appsecret",
            "user": {"name": "member", "domain": {"name": "Default"}}}}}});
    let (status, _, body) = auth(&cloud, &by_name).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(body["token"]["application_credential"]["id"], "appcred-1");
}

#[tokio::test]
async fn application_credential_roles_default_to_a_subset() {
    let cloud = start_yaml(
        "users: [{name: u, password: p, project: proj, roles: [member, reader, load-balancer_member]}]\n\
         application_credentials: [{id: c1, secret: s, user: u, roles: [reader]}, {id: c2, secret: s, user: u, unrestricted: true}]\n",
    )
    .await;
    let (_, _, body) = auth(&cloud, &appcred_auth("c1", "s")).await;
    assert_eq!(
        body["token"]["roles"],
        json!([{"id": role_id("reader"), "name": "reader"}])
    );
    let (_, _, body) = auth(&cloud, &appcred_auth("c2", "s")).await;
    assert_eq!(
        names(&body["token"]["roles"]),
        ["member", "reader", "load-balancer_member"]
    );
    assert_eq!(body["token"]["application_credential"]["name"], "c2");
    assert_eq!(body["token"]["application_credential"]["restricted"], false);
}

#[tokio::test]
async fn bad_credentials_are_refused_like_keystone() {
    let cloud = start("compliant.yaml").await;
    let cases = [
        (password_auth("member", "wrong"), StatusCode::UNAUTHORIZED),
        (password_auth("nobody", "s3cret"), StatusCode::UNAUTHORIZED),
        (appcred_auth("appcred-1", "wrong"), StatusCode::UNAUTHORIZED),
        (
            appcred_auth("appcred-2", "appsecret"),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": "member", "domain": {"name": "Other"}, "password": "s3cret"}}}}}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {
                "name": "member", "domain": {"name": "Default"}, "password": "s3cret"}}},
                "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"auth": {"identity": {"methods": ["application_credential"],
                "application_credential": {"id": "appcred-1", "secret": "appsecret"}},
                "scope": {"project": {"id": project_id("demo")}}}}),
            StatusCode::UNAUTHORIZED,
        ),
        (
            json!({"auth": {"identity": {"methods": ["totp"], "totp": {}}}}),
            StatusCode::UNAUTHORIZED,
        ),
        (json!({"auth": {}}), StatusCode::BAD_REQUEST),
        (json!({"nothing": 1}), StatusCode::BAD_REQUEST),
        (
            json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "member", "password": "s3cret"}}}}}),
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (body, expected) in cases {
        let (status, token, reply) = auth(&cloud, &body).await;
        assert_eq!(status, expected, "{body}: {reply}");
        assert!(token.is_none());
        assert_eq!(reply["error"]["code"], expected.as_u16(), "{reply}");
        let title = if expected == StatusCode::UNAUTHORIZED {
            "Unauthorized"
        } else {
            "Bad Request"
        };
        assert_eq!(reply["error"]["title"], title);
    }
    // Malformed JSON.
    let resp = client()
        .post(format!("{}/auth/tokens", cloud.auth_url()))
        .header("content-type", "application/json")
        .body("{\"auth\": ")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let reply: Value = resp.json().await.expect("json");
    assert_eq!(reply["error"]["code"], 400);
}

#[tokio::test]
async fn roles_without_member_and_no_roles() {
    let cloud = start("no-member-role.yaml").await;
    let (status, _, body) = auth(&cloud, &password_auth("member", "s3cret")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(names(&body["token"]["roles"]), ["reader"]);
    let cloud = start("admin-role.yaml").await;
    let (_, _, body) = auth(&cloud, &appcred_auth("appcred-1", "appsecret")).await;
    assert_eq!(names(&body["token"]["roles"]), ["admin", "member"]);
    // A user without any role cannot get a project-scoped token.
    let cloud = start_yaml("users: [{name: u, password: p, project: x}]").await;
    let (status, _, _) = auth(&cloud, &password_auth("u", "p")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn keystone_discovery_validation_and_catalog() {
    let cloud = start("compliant.yaml").await;
    let (status, v) = get_json(&cloud.auth_url(), None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["version"]["id"], "v3.14");
    assert_eq!(v["version"]["status"], "stable");
    assert_eq!(
        v["version"]["links"][0]["href"],
        format!("{}/", cloud.auth_url())
    );
    let (status, v) = get_json(&format!("{}/identity", cloud.base_url()), None, &[]).await;
    assert_eq!(status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(v["versions"]["values"][0]["id"], "v3.14");

    let token = member_token(&cloud).await;
    let (status, headers, text) = get(
        &format!("{}/auth/tokens?nocatalog", cloud.auth_url()),
        Some(&token),
        &[("X-Subject-Token", &token)],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["x-subject-token"], token.as_str());
    let body: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["token"]["user"]["name"], "member");
    assert!(body["token"].get("catalog").is_none());
    let (status, _) = get_json(
        &format!("{}/auth/tokens", cloud.auth_url()),
        Some(&token),
        &[("X-Subject-Token", "gAAAAAbogus")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = get_json(
        &format!("{}/auth/catalog", cloud.auth_url()),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["catalog"].as_array().map(Vec::len), Some(11));
    let (status, body) = get_json(
        &format!("{}/auth/projects", cloud.auth_url()),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["projects"][0]["id"], project_id("demo"));
    let (status, body) = get_json(&format!("{}/users", cloud.auth_url()), None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], 401);
}

#[tokio::test]
async fn catalog_options_disabled_region_url_interfaces() {
    let cloud = start_yaml(
        "region: Reg1\n\
         users: [{name: u, password: p, project: proj, roles: [member]}]\n\
         services:\n\
         - {type: compute, name: nova, path: /compute/v2.1}\n\
         - {type: dns, name: designate, url: 'https://dns.example.org/v2', region: Reg2, interfaces: [internal, admin]}\n\
         - {type: object-store, name: swift, path: '/swift/v1/AUTH_%(project_id)s'}\n\
         - {type: orchestration, name: heat, path: /heat, enabled: false}\n",
    )
    .await;
    let (_, _, body) = auth(&cloud, &password_auth("u", "p")).await;
    let catalog = &body["token"]["catalog"];
    assert_eq!(names(catalog), ["nova", "designate", "swift"]);
    assert_eq!(
        catalog[1]["endpoints"][0]["url"],
        "https://dns.example.org/v2"
    );
    assert_eq!(catalog[1]["endpoints"][0]["region"], "Reg2");
    assert_eq!(catalog[1]["endpoints"][1]["interface"], "admin");
    assert_eq!(catalog[0]["endpoints"][0]["region"], "Reg1");
    assert_eq!(
        catalog[2]["endpoints"][0]["url"],
        format!("{}/swift/v1/AUTH_{}", cloud.base_url(), project_id("proj"))
    );
}

// ---------------------------------------------------------------- token check, 404s

#[tokio::test]
async fn services_require_a_valid_token() {
    let cloud = start("compliant.yaml").await;
    let base = cloud.base_url();
    for path in [
        "/compute/v2.1/flavors",
        "/compute/v2.1/flavors/detail",
        "/image/v2/images",
        "/network/v2.0/networks",
        "/volume/v3/whatever/types",
    ] {
        let url = format!("{base}{path}");
        for token in [None, Some("gAAAAAnot-a-token")] {
            let (status, headers, text) = get(&url, token, &[]).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
            assert!(
                headers["www-authenticate"]
                    .to_str()
                    .is_ok_and(|v| v.contains("/identity/v3")),
                "{path}"
            );
            let body: Value = serde_json::from_str(&text).expect("json");
            assert_eq!(body["error"]["code"], 401);
        }
    }
    let token = member_token(&cloud).await;
    // A catalog service simcloud only lists: 404 after the token check.
    let (status, body) = get_json(
        &format!("{base}/load-balancer/v2/lbaas/loadbalancers"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], 404);
    let (status, body) = get_json(&format!("{base}/nothing/here"), None, &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("/nothing/here"))
    );
    let (status, body) = get_json(
        &format!("{base}/compute/v2.1/os-hypervisors"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], 404);
    let resp = client()
        .delete(format!("{base}/compute/v2.1/flavors/101"))
        .header("X-Auth-Token", &token)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn health_and_request_recording() {
    let cloud = start("compliant.yaml").await;
    let (status, _, text) = get(&format!("{}/_sim/health", cloud.base_url()), None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text, "ok");
    let token = member_token(&cloud).await;
    let (status, _) = get_json(
        &format!(
            "{}/compute/v2.1/flavors?limit=2&marker=101",
            cloud.base_url()
        ),
        Some(&token),
        &[("OpenStack-API-Version", "compute 2.61")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = get(&format!("{}/image/v2/images", cloud.base_url()), None, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let requests = cloud.requests();
    let summary: Vec<(&str, &str, &str, u16)> = requests
        .iter()
        .map(|r| {
            (
                r.method.as_str(),
                r.path.as_str(),
                r.query.as_str(),
                r.status,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("GET", "/_sim/health", "", 200),
            ("POST", "/identity/v3/auth/tokens", "", 201),
            ("GET", "/compute/v2.1/flavors", "limit=2&marker=101", 200),
            ("GET", "/image/v2/images", "", 401),
        ]
    );
    assert_eq!(requests[2].header("x-auth-token"), Some(token.as_str()));
    assert_eq!(
        requests[2].header("openstack-api-version"),
        Some("compute 2.61")
    );
    assert!(
        requests[2]
            .headers
            .iter()
            .all(|(k, _)| k == &k.to_ascii_lowercase())
    );
    assert_eq!(requests[3].header("x-auth-token"), None);
}

// ---------------------------------------------------------------- Nova

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|f| f["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn flavor_pages_follow_next_links_in_id_order() {
    let cloud = start("compliant.yaml").await;
    let token = member_token(&cloud).await;
    let mut url = format!("{}/compute/v2.1/flavors/detail?limit=10", cloud.base_url());
    let mut pages = Vec::new();
    let mut seen = Vec::new();
    for _ in 0..10 {
        let (status, body) = get_json(&url, Some(&token), &[]).await;
        assert_eq!(status, StatusCode::OK);
        let page = ids(&body["flavors"]);
        pages.push(page.len());
        seen.extend(page);
        match body["flavors_links"][0]["href"].as_str() {
            Some(next) => {
                assert_eq!(body["flavors_links"][0]["rel"], "next");
                url = next.to_owned();
            }
            None => break,
        }
    }
    assert_eq!(pages, [10, 10, 10, 5]);
    let mut expected: Vec<String> = (101..=131).map(|i| i.to_string()).collect();
    expected.extend(["201", "202", "203", "204"].map(String::from));
    assert_eq!(
        seen, expected,
        "public + accessible, not hidden/disabled, ascending id"
    );

    // The first next link, exactly as Nova renders it.
    let (_, body) = get_json(
        &format!("{}/compute/v2.1/flavors?limit=10", cloud.base_url()),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(
        body["flavors_links"],
        json!([{"rel": "next", "href": format!("{}/compute/v2.1/flavors?limit=10&marker=110", cloud.base_url())}])
    );
    assert_eq!(
        body["flavors"][0],
        json!({"id": "101", "name": "SCS-1V-4", "links": [
            {"rel": "self", "href": format!("{}/compute/v2.1/flavors/101", cloud.base_url())},
            {"rel": "bookmark", "href": format!("{}/compute/flavors/101", cloud.base_url())}]})
    );
    // Without limit everything fits into one page and there is no link.
    let (_, body) = get_json(
        &format!("{}/compute/v2.1/flavors", cloud.base_url()),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(body["flavors"].as_array().map(Vec::len), Some(35));
    assert!(body.get("flavors_links").is_none());
}

#[tokio::test]
async fn flavor_paging_edge_cases() {
    let cloud = start_yaml(
        "users: [{name: member, password: s3cret, project: demo, roles: [member]}]\n\
         flavors:\n\
         - {id: b, name: fb, vcpus: 2, ram: 2048, disk: 20}\n\
         - {id: a, name: fa, vcpus: 1, ram: 1024}\n\
         - {id: d, name: fd, vcpus: 4, ram: 4096, disk: 40}\n\
         - {id: c, name: fc, vcpus: 3, ram: 3072}\n",
    )
    .await;
    let token = member_token(&cloud).await;
    let base = format!("{}/compute/v2.1", cloud.base_url());
    let (_, p1) = get_json(&format!("{base}/flavors?limit=2"), Some(&token), &[]).await;
    assert_eq!(ids(&p1["flavors"]), ["a", "b"]);
    let (_, p2) = get_json(
        &format!("{base}/flavors?limit=2&marker=b"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(ids(&p2["flavors"]), ["c", "d"]);
    // Like Nova: a full page gets a next link even when nothing follows.
    assert_eq!(
        p2["flavors_links"][0]["href"],
        format!("{base}/flavors?limit=2&marker=d")
    );
    let (_, p3) = get_json(
        &format!("{base}/flavors?limit=2&marker=d"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(ids(&p3["flavors"]), Vec::<String>::new());
    assert!(p3.get("flavors_links").is_none());
    // Sorting, filters, and parameter order in the next link (sorted by name, marker replaced).
    let (_, body) = get_json(
        &format!("{base}/flavors?sort_key=memory_mb&sort_dir=desc&minRam=2000&limit=2"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(ids(&body["flavors"]), ["d", "c"]);
    assert_eq!(
        body["flavors_links"][0]["href"],
        format!("{base}/flavors?limit=2&minRam=2000&sort_dir=desc&sort_key=memory_mb&marker=c")
    );
    let (_, body) = get_json(
        &format!("{base}/flavors/detail?minDisk=30"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(ids(&body["flavors"]), ["d"]);
    // Errors.
    for (query, message) in [
        ("marker=zz", "marker [zz] not found"),
        ("limit=x", "limit param must be an integer"),
        ("limit=-1", "limit param must be positive"),
        ("sort_key=colour", "Invalid sort_key: colour"),
    ] {
        let (status, body) = get_json(&format!("{base}/flavors?{query}"), Some(&token), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["badRequest"]["message"], message);
        assert_eq!(body["badRequest"]["code"], 400);
    }
}

#[tokio::test]
async fn flavor_microversions() {
    let cloud = start("compliant.yaml").await;
    let token = member_token(&cloud).await;
    let url = format!("{}/compute/v2.1/flavors/114", cloud.base_url());

    let (status, headers, text) = get(&url, Some(&token), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["openstack-api-version"], "compute 2.1");
    assert_eq!(headers["x-openstack-nova-api-version"], "2.1");
    let f: Value = serde_json::from_str(&text).expect("json");
    let f = &f["flavor"];
    assert_eq!(f["name"], "SCS-2V-4-20s");
    assert_eq!(
        (f["vcpus"].as_u64(), f["ram"].as_u64(), f["disk"].as_u64()),
        (Some(2), Some(4096), Some(20))
    );
    assert_eq!(f["swap"], "");
    assert_eq!(f["os-flavor-access:is_public"], true);
    assert_eq!(f["OS-FLV-EXT-DATA:ephemeral"], 0);
    assert!(f.get("extra_specs").is_none());
    assert!(f.get("description").is_none());

    let (_, f) = get_json(
        &url,
        Some(&token),
        &[("X-OpenStack-Nova-API-Version", "2.55")],
    )
    .await;
    assert!(f["flavor"].get("extra_specs").is_none());
    assert_eq!(f["flavor"]["description"], Value::Null);

    let (_, headers, text) = get(
        &url,
        Some(&token),
        &[("OpenStack-API-Version", "compute 2.61")],
    )
    .await;
    assert_eq!(headers["openstack-api-version"], "compute 2.61");
    let f: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        f["flavor"]["extra_specs"],
        json!({"scs:cpu-type": "shared-core", "scs:disk0-type": "ssd",
               "scs:name-v1": "SCS-2V:4:20s", "scs:name-v2": "SCS-2V-4-20s"})
    );
    assert_eq!(f["flavor"]["swap"], "");

    let (_, headers, text) = get(
        &url,
        Some(&token),
        &[("OpenStack-API-Version", "compute latest")],
    )
    .await;
    assert_eq!(headers["openstack-api-version"], "compute 2.96");
    assert_eq!(headers["x-openstack-nova-api-version"], "2.96");
    let f: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(f["flavor"]["swap"], 0);
    assert_eq!(f["flavor"]["extra_specs"]["scs:disk0-type"], "ssd");

    // Inline extra_specs in lists too.
    let (_, body) = get_json(
        &format!("{}/compute/v2.1/flavors/detail?limit=1", cloud.base_url()),
        Some(&token),
        &[("OpenStack-API-Version", "compute 2.61")],
    )
    .await;
    assert_eq!(body["flavors"][0]["extra_specs"]["scs:name-v1"], "SCS-1V:4");
    let (_, body) = get_json(
        &format!("{}/compute/v2.1/flavors/201", cloud.base_url()),
        Some(&token),
        &[("OpenStack-API-Version", "compute 2.55")],
    )
    .await;
    assert_eq!(
        body["flavor"]["description"],
        "dedicated cores on AMD Zen 4 with local NVMe"
    );

    for (header, value, expected) in [
        (
            "OpenStack-API-Version",
            "compute 3.0",
            StatusCode::NOT_ACCEPTABLE,
        ),
        (
            "OpenStack-API-Version",
            "compute 2.97",
            StatusCode::NOT_ACCEPTABLE,
        ),
        (
            "X-OpenStack-Nova-API-Version",
            "1.1",
            StatusCode::NOT_ACCEPTABLE,
        ),
        (
            "OpenStack-API-Version",
            "compute 2.x",
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, body) = get_json(&url, Some(&token), &[(header, value)]).await;
        assert_eq!(status, expected, "{value}");
        let key = if expected == StatusCode::NOT_ACCEPTABLE {
            "computeFault"
        } else {
            "badRequest"
        };
        assert_eq!(body[key]["code"], expected.as_u16());
    }
}

#[tokio::test]
async fn flavor_extra_specs_endpoint_and_visibility() {
    let cloud = start("compliant.yaml").await;
    let token = member_token(&cloud).await;
    let base = format!("{}/compute/v2.1", cloud.base_url());
    let (status, body) = get_json(
        &format!("{base}/flavors/113/os-extra_specs"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"extra_specs": {"scs:cpu-type": "crowded-core", "scs:name-v1": "SCS-1L:1", "scs:name-v2": "SCS-1L-1"}})
    );
    let (_, body) = get_json(
        &format!("{base}/flavors/113/os-extra_specs/scs:cpu-type"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(body, json!({"scs:cpu-type": "crowded-core"}));
    let (status, body) = get_json(
        &format!("{base}/flavors/113/os-extra_specs/nope"),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["itemNotFound"]["message"],
        "Flavor 113 has no extra specs with key nope."
    );
    // Private flavor with access: visible. Without access: 404 like Nova. Disabled: showable.
    let (status, _) = get_json(&format!("{base}/flavors/204"), Some(&token), &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = get_json(&format!("{base}/flavors/205"), Some(&token), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body["itemNotFound"]["message"],
        "Flavor 205 could not be found."
    );
    let (status, body) = get_json(&format!("{base}/flavors/206"), Some(&token), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["flavor"]["OS-FLV-DISABLED:disabled"], true);
}

#[tokio::test]
async fn compute_version_documents() {
    let cloud = start("compliant.yaml").await;
    let (status, body) = get_json(&format!("{}/compute/", cloud.base_url()), None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["versions"][0]["id"], "v2.1");
    assert_eq!(body["versions"][0]["version"], "2.96");
    assert_eq!(body["versions"][0]["min_version"], "2.1");
    let (status, body) = get_json(&format!("{}/compute/v2.1/", cloud.base_url()), None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["version"]["status"], "CURRENT");
    assert_eq!(
        body["version"]["links"][0]["href"],
        format!("{}/compute/v2.1/", cloud.base_url())
    );
}

// ---------------------------------------------------------------- Glance

fn image_names(body: &Value) -> Vec<String> {
    names(&body["images"])
}

const DEFAULT_LIST: [&str; 10] = [
    "Debian 13",
    "partner-appliance",
    "demo-community-tools",
    "ubuntu-capi-image-v1.33.1",
    "demo-private-snapshot",
    "Debian 12",
    "Ubuntu 24.04 aarch64",
    "Ubuntu 24.04",
    "Ubuntu 22.04",
    "ubuntu-capi-image v1.32.4",
];

#[tokio::test]
async fn image_pages_follow_next_newest_first() {
    let cloud = start("compliant.yaml").await;
    let token = member_token(&cloud).await;
    let base = format!("{}/image", cloud.base_url());
    let mut url = format!("{base}/v2/images?limit=3");
    let mut pages = Vec::new();
    let mut seen = Vec::new();
    let mut nexts = Vec::new();
    for _ in 0..10 {
        let (status, body) = get_json(&url, Some(&token), &[]).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["schema"], "/v2/schemas/images");
        assert_eq!(body["first"], "/v2/images?limit=3");
        let page = image_names(&body);
        pages.push(page.len());
        seen.extend(page);
        match body["next"].as_str() {
            Some(next) => {
                nexts.push(next.to_owned());
                url = format!("{base}{next}");
            }
            None => break,
        }
    }
    assert_eq!(pages, [3, 3, 3, 1]);
    assert_eq!(seen, DEFAULT_LIST);
    assert_eq!(
        nexts[0],
        format!(
            "/v2/images?limit=3&marker={}",
            image_id("demo-community-tools")
        )
    );

    // Default limit 25 and the next link on a full last page, as Glance does.
    let cloud = start_yaml(
        "users: [{name: member, password: s3cret, project: demo, roles: [member]}]\n\
         generate: {images: 50}\n",
    )
    .await;
    let token = member_token(&cloud).await;
    let base = format!("{}/image", cloud.base_url());
    let (_, p1) = get_json(&format!("{base}/v2/images"), Some(&token), &[]).await;
    assert_eq!(p1["images"].as_array().map(Vec::len), Some(25));
    assert_eq!(p1["images"][0]["name"], "Filler Image 0050");
    assert_eq!(p1["first"], "/v2/images");
    let next = p1["next"].as_str().expect("next").to_owned();
    assert_eq!(
        next,
        format!("/v2/images?marker={}", image_id("Filler Image 0026"))
    );
    let (_, p2) = get_json(&format!("{base}{next}"), Some(&token), &[]).await;
    assert_eq!(p2["images"][24]["name"], "Filler Image 0001");
    let next = p2["next"].as_str().expect("full page has next").to_owned();
    let (_, p3) = get_json(&format!("{base}{next}"), Some(&token), &[]).await;
    assert_eq!(p3["images"], json!([]));
    assert!(p3.get("next").is_none());
    let (_, all) = get_json(&format!("{base}/v2/images?limit=5000"), Some(&token), &[]).await;
    assert_eq!(all["images"].as_array().map(Vec::len), Some(50));
}

#[tokio::test]
async fn image_visibility_rules_for_a_member() {
    let cloud = start("compliant.yaml").await;
    let token = member_token(&cloud).await;
    let base = format!("{}/image/v2/images", cloud.base_url());
    let list = |query: &'static str| {
        let url = format!("{base}?limit=100{query}");
        let token = token.clone();
        async move {
            let (status, body) = get_json(&url, Some(&token), &[]).await;
            assert_eq!(status, StatusCode::OK, "{query}");
            image_names(&body)
        }
    };
    assert_eq!(list("").await, DEFAULT_LIST);
    assert_eq!(list("&member_status=all&visibility=public").await.len(), 7);
    assert_eq!(
        list("&visibility=community").await,
        ["Fedora CoreOS 42", "demo-community-tools"]
    );
    assert_eq!(list("&visibility=private").await, ["demo-private-snapshot"]);
    assert_eq!(list("&visibility=shared").await, ["partner-appliance"]);
    assert_eq!(
        list("&visibility=shared&member_status=pending").await,
        ["partner-appliance-beta"]
    );
    assert_eq!(
        list("&visibility=shared&member_status=all").await,
        ["partner-appliance-beta", "partner-appliance"]
    );
    assert_eq!(list("&os_hidden=true").await, ["Ubuntu 24.04 20250101"]);
    assert_eq!(list("&visibility=all").await.len(), 11);
    assert_eq!(list("&os_distro=debian").await, ["Debian 13", "Debian 12"]);
    assert_eq!(list("&name=Ubuntu+24.04").await, ["Ubuntu 24.04"]);
    assert_eq!(
        list("&sort_key=name&sort_dir=asc&visibility=public").await,
        [
            "Debian 12",
            "Debian 13",
            "Ubuntu 22.04",
            "Ubuntu 24.04",
            "Ubuntu 24.04 aarch64",
            "ubuntu-capi-image v1.32.4",
            "ubuntu-capi-image-v1.33.1"
        ]
    );
    for query in [
        "&visibility=everyone",
        "&member_status=maybe",
        "&os_hidden=perhaps",
        "&limit=-1",
        "&limit=x",
        "&marker=nope",
        "&size_min=1",
    ] {
        let (status, _, text) = get(&format!("{base}?{query}"), Some(&token), &[]).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {text}");
        assert!(text.starts_with("400 Bad Request\n\n"), "{text}");
    }
}

#[tokio::test]
async fn image_show_and_fields() {
    let cloud = start("compliant.yaml").await;
    let token = member_token(&cloud).await;
    let base = format!("{}/image/v2/images", cloud.base_url());
    let id = image_id("Ubuntu 24.04");
    let (status, img) = get_json(&format!("{base}/{id}"), Some(&token), &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(img["id"], id.as_str());
    assert_eq!(img["name"], "Ubuntu 24.04");
    assert_eq!(img["status"], "active");
    assert_eq!(img["visibility"], "public");
    assert_eq!(img["os_hidden"], false);
    assert_eq!(img["owner"], project_id("admin"));
    assert_eq!(img["min_disk"], 8);
    assert_eq!(img["min_ram"], 512);
    assert_eq!(img["size"], 614465536u64);
    assert_eq!(img["disk_format"], "qcow2");
    assert_eq!(img["container_format"], "bare");
    assert_eq!(img["os_hash_algo"], "sha512");
    assert_eq!(img["os_hash_value"].as_str().map(str::len), Some(128));
    assert_eq!(img["checksum"].as_str().map(str::len), Some(32));
    assert_eq!(img["created_at"], "2025-06-02T08:00:00Z");
    assert_eq!(img["updated_at"], "2025-06-02T08:00:00Z");
    assert_eq!(img["self"], format!("/v2/images/{id}"));
    assert_eq!(img["file"], format!("/v2/images/{id}/file"));
    assert_eq!(img["schema"], "/v2/schemas/image");
    assert_eq!(img["protected"], false);
    assert_eq!(img["tags"], json!([]));
    assert_eq!(img["os_version"], "24.04");
    assert_eq!(img["image_build_date"], "2025-06-01");
    assert_eq!(img["hotfix_hours"], "0");
    assert!(img.get("properties").is_none());
    // Hidden images can be shown; unknown ids are 404 (webob text, or JSON on request).
    let (status, _) = get_json(
        &format!("{base}/{}", image_id("Ubuntu 24.04 20250101")),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, text) = get(&format!("{base}/{}", image_id("nope")), Some(&token), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(text.contains("No image found with ID"));
    let (status, body) = get_json(
        &format!("{base}/{}", image_id("nope")),
        Some(&token),
        &[("Accept", "application/json")],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "404 Not Found");
}

#[tokio::test]
async fn other_projects_private_images_are_invisible() {
    let cloud = start_yaml(
        "users: [{name: member, password: s3cret, project: demo, roles: [member]}]\n\
         images:\n\
         - {name: theirs, visibility: private, owner: other}\n\
         - {name: mine, visibility: private, owner: demo, created_at: '2025-02-01T00:00:00Z'}\n\
         - {name: dup, created_at: '2025-03-01T00:00:00Z'}\n\
         - {name: dup, created_at: '2025-04-01T00:00:00Z'}\n",
    )
    .await;
    let token = member_token(&cloud).await;
    let base = format!("{}/image/v2/images", cloud.base_url());
    let (_, body) = get_json(&base, Some(&token), &[]).await;
    assert_eq!(image_names(&body), ["dup", "dup", "mine"]);
    assert_eq!(body["images"][0]["id"], image_id("dup#2"));
    assert_eq!(body["images"][1]["id"], image_id("dup"));
    assert_eq!(body["images"][2]["owner"], project_id("demo"));
    assert_eq!(body["images"][2]["size"], Value::Null);
    assert_eq!(body["images"][2]["checksum"], Value::Null);
    let (status, _, _) = get(&format!("{base}/{}", image_id("theirs")), Some(&token), &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = get(
        &format!("{base}?visibility=all&marker={}", image_id("theirs")),
        Some(&token),
        &[],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn image_version_documents() {
    let cloud = start("compliant.yaml").await;
    let (status, body) = get_json(&format!("{}/image/", cloud.base_url()), None, &[]).await;
    assert_eq!(status, StatusCode::MULTIPLE_CHOICES);
    assert_eq!(body["versions"][0]["id"], "v2.17");
    assert_eq!(body["versions"][0]["status"], "CURRENT");
    assert_eq!(
        body["versions"][0]["links"][0]["href"],
        format!("{}/image/v2/", cloud.base_url())
    );
    let (status, body) = get_json(&format!("{}/image/versions", cloud.base_url()), None, &[]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["versions"].as_array().map(Vec::len), Some(18));
}

// ---------------------------------------------------------------- clouds.yaml, blocking server

#[tokio::test]
async fn clouds_yaml_points_at_the_running_server() {
    let cloud = start("compliant.yaml").await;
    let text = cloud
        .clouds_yaml("simcloud", &Credential::FirstUser)
        .expect("yaml");
    let expected = format!(
        "clouds:\n  simcloud:\n    auth:\n      auth_url: {}\n      username: member\n      password: s3cret\n      project_name: demo\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: RegionOne\n    interface: public\n    identity_api_version: 3\n",
        cloud.auth_url()
    );
    assert_eq!(text, expected);
    let text = cloud
        .clouds_yaml("ci", &Credential::ApplicationCredential("appcred-1".into()))
        .expect("yaml");
    assert!(
        text.contains("auth_type: v3applicationcredential"),
        "{text}"
    );
    assert!(
        text.contains("application_credential_id: appcred-1"),
        "{text}"
    );
    assert!(
        text.contains("application_credential_secret: appsecret"),
        "{text}"
    );
}

#[test]
fn blocking_server_serves_from_its_own_thread() {
    use std::io::{Read, Write};
    let cloud = simcloud::spawn_blocking_server(load("compliant.yaml")).expect("started");
    let base = cloud.base_url();
    assert!(base.starts_with("http://127.0.0.1:"));
    assert_eq!(cloud.auth_url(), format!("{base}/identity/v3"));
    let addr = base.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
    stream
        .write_all(b"GET /_sim/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut reply = String::new();
    stream.read_to_string(&mut reply).expect("read");
    assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
    assert!(reply.ends_with("\r\n\r\nok"), "{reply}");
    let requests = cloud.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/_sim/health");
    assert_eq!(requests[0].status, 200);
    assert_eq!(requests[0].header("host"), Some("x"));
    drop(cloud);
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "port closed after drop"
    );
}

#[tokio::test]
async fn shutdown_closes_the_port() {
    let cloud = start("compliant.yaml").await;
    let addr = cloud.base_url().trim_start_matches("http://").to_owned();
    assert!(tokio::net::TcpStream::connect(&addr).await.is_ok());
    cloud.shutdown();
    let mut closed = false;
    for _ in 0..50 {
        if tokio::net::TcpStream::connect(&addr).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(closed, "listener still open after shutdown");
}

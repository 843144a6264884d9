//! Mediation tests: the guest never sees the token or a password; a shared
//! list used by several checks is fetched once per run; an ordinary read is
//! never cached; application-credential auth works; the reads checks declare in `prefetch`
//! are issued once, early, and serve the checks' own requests.

use crate::common::*;

/// Hardening, hole 7: the run-wide cache of shared reads is bounded. With no room, every
/// check fetches the shared flavor list alone (three fetches instead of one) and the verdicts
/// do not change.
#[test]
fn a_full_shared_read_cache_fetches_for_each_check() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(
        dir.path(),
        &[
            "test-poll",
            "scs-0100-flavor-naming",
            "scs-0103-standard-flavors",
        ],
    );
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("test-shared|scs-0100|scs-0103".into());
    opts.mediation.max_shared_cache_bytes = 0;
    let r = run_lib(&opts);
    for id in [
        "test-shared",
        "scs-0100-syntax-check",
        "scs-0103-flavor-2v-4",
    ] {
        assert_eq!(result_of(&r.report, id), 1, "{id}");
    }
    let shared_lists = cloud
        .requests()
        .iter()
        .filter(|q| q.method == "GET" && q.path.ends_with("/flavors/detail"))
        .filter(|q| q.header("openstack-api-version").is_some())
        .count();
    assert_eq!(shared_lists, 3, "no room in the cache: one fetch per check");
}

/// The IaaS scope (main and recommended) with the checks `ids`, narrowed to `tests`, against
/// `cloud` through the library.
fn iaas_run(cloud: &BlockingSimCloud, ids: &[&str], tests: &str) -> scs_cert_host::run::RunResult {
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(dir.path(), ids);
    let mut opts = options(
        &root().join("scopes/scs-compatible-iaas.yaml"),
        &checks,
        &clouds,
    );
    opts.targets = vec!["main".into(), "recommended".into()];
    opts.tests = Some(tests.into());
    run_lib(&opts)
}

/// Issue 16: the lists the read-only checks declare in `prefetch` (flavors, images, volume
/// types) are issued right after the token, once each, and every check's own request for them
/// is served from that answer: five hits on three prefetches, one request per list.
#[test]
fn declared_prefetches_serve_the_checks_own_reads() {
    let cloud = start_cloud("compliant");
    let ids = [
        "scs-0100-flavor-naming",
        "scs-0102-image-metadata",
        "scs-0103-standard-flavors",
        "scs-0104-standard-images",
        "scs-0114-volume-types",
    ];
    let r = iaas_run(&cloud, &ids, "scs-0100|scs-0102|scs-0103|scs-0104|scs-0114");
    assert_eq!(
        r.overall,
        scs_cert_host::run::Overall::Pass,
        "{}",
        r.console
    );
    let stats = r.cloud_stats.expect("a live run has session counters");
    assert_eq!(stats.prefetched, 3, "{stats:?}");
    assert_eq!(stats.prefetch_hits, 5, "{stats:?}");
    let reqs = cloud.requests();
    for list in ["/flavors/detail", "/v2/images", "/types"] {
        let n = reqs
            .iter()
            .filter(|q| q.method == "GET" && q.path.ends_with(list))
            .count();
        assert_eq!(n, 1, "{list} fetched once for the run");
    }
    let images = reqs
        .iter()
        .find(|q| q.path.ends_with("/v2/images"))
        .expect("the image list");
    assert!(
        images.query.split('&').any(|kv| kv == "limit=1000"),
        "{images:?}"
    );
}

/// Issue 16, linear cost: with 2,500 generated images and 2,500 generated flavors on top of the
/// compliant content, the read-only checks give the same verdicts as on the compliant cloud
/// (every filler is conformant), within their declared memory limits, and each list page is
/// fetched once for the run: the images in 3 pages of at most 1,000 (not 101 of 25).
#[test]
fn thousands_of_images_and_flavors_give_the_same_verdicts_in_few_requests() {
    let mut fixture = fixture("compliant");
    fixture.generate.images = 2_500;
    fixture.generate.flavors = 2_500;
    let cloud = simcloud::spawn_blocking_server(fixture).expect("start simcloud");
    let ids = [
        "scs-0100-flavor-naming",
        "scs-0102-image-metadata",
        "scs-0103-standard-flavors",
        "scs-0104-standard-images",
    ];
    let r = iaas_run(&cloud, &ids, "scs-0100|scs-0102|scs-0103|scs-0104");
    assert_eq!(
        r.overall,
        scs_cert_host::run::Overall::Pass,
        "{}",
        r.console
    );
    let reqs = cloud.requests();
    let image_pages: Vec<&str> = reqs
        .iter()
        .filter(|q| q.method == "GET" && q.path.ends_with("/v2/images"))
        .map(|q| q.query.as_str())
        .collect();
    assert_eq!(image_pages.len(), 3, "{image_pages:?}");
    let mut distinct = image_pages.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 3, "each page once: {image_pages:?}");
    let flavor_lists = reqs
        .iter()
        .filter(|q| q.method == "GET" && q.path.ends_with("/flavors/detail"))
        .count();
    assert_eq!(
        flavor_lists, 3,
        "2,537 flavors in pages of Nova's 1,000, once each"
    );
}

/// A prefetch that does not match what the check sends (here another microversion header)
/// is only a wasted read: the check makes its own request and its verdicts do not change.
#[test]
fn a_prefetch_the_check_does_not_make_changes_nothing() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = dir.path().join("checks");
    let id = "scs-0100-flavor-naming";
    let src = std::path::Path::new(scs_cert_artifacts::CHECKS_DIR).join(id);
    std::fs::create_dir_all(checks.join(id)).expect("mkdir");
    std::fs::copy(
        src.join("component.wasm"),
        checks.join(id).join("component.wasm"),
    )
    .expect("copy component");
    let meta = std::fs::read_to_string(src.join("check.json")).expect("check.json");
    let changed = meta.replace("\"compute 2.61\"", "\"compute 2.60\"");
    assert_ne!(
        meta, changed,
        "the check.json declares the 2.61 flavor list"
    );
    std::fs::write(checks.join(id).join("check.json"), changed).expect("write");
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("scs-0100".into());
    let r = run_lib(&opts);
    assert_eq!(
        r.overall,
        scs_cert_host::run::Overall::Pass,
        "{}",
        r.console
    );
    let stats = r.cloud_stats.expect("session counters");
    assert_eq!((stats.prefetched, stats.prefetch_hits), (1, 0), "{stats:?}");
    let lists = cloud
        .requests()
        .iter()
        .filter(|q| q.method == "GET" && q.path.ends_with("/flavors/detail"))
        .count();
    assert_eq!(lists, 2, "the prefetch and the check's own request");
}

#[test]
fn token_stays_in_the_host_and_shared_reads_happen_once() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(
        dir.path(),
        &[
            "test-echo",
            "test-poll",
            "scs-0100-flavor-naming",
            "scs-0103-standard-flavors",
        ],
    );
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("test-echo|test-poll|test-shared|scs-0100|scs-0103".into());
    let r = run_lib(&opts);
    let report = &r.report;
    for id in [
        "test-echo",
        "test-poll",
        "test-shared",
        "scs-0100-syntax-check",
        "scs-0100-semantics-check",
        "scs-0103-flavor-2v-4",
    ] {
        assert_eq!(result_of(report, id), 1, "{id}");
    }

    // What the cloud saw: the token on every API request.
    let reqs = cloud.requests();
    let token = reqs
        .iter()
        .find_map(|q| q.header("x-auth-token").map(str::to_string))
        .expect("the host sent a token");
    assert!(token.len() >= 16, "token {token:?}");
    let password = cloud.fixture().users[0].password.clone();

    // What the guest saw (test-echo logs identity, catalog, response headers
    // and body): no token, no password, anywhere in the report.
    let echo = invocation_of(report, "test-echo");
    assert!(
        echo.stderr.iter().any(|l| l.starts_with("INFO: headers: ")),
        "{:?}",
        echo.stderr
    );
    assert!(
        echo.stderr
            .iter()
            .any(|l| l.starts_with("INFO: identity: ") && l.contains("member"))
    );
    let yaml = report.to_yaml();
    assert!(!yaml.contains(&token), "the token leaked into the report");
    assert!(
        !yaml.contains(&password),
        "the password leaked into the report"
    );

    // Shared read: the microversioned flavor list (used by scs-0100,
    // scs-0103 and test-shared) was fetched once.
    let flavor_lists = |shared: bool| {
        reqs.iter()
            .filter(|q| q.method == "GET" && q.path.ends_with("/flavors/detail"))
            .filter(|q| q.header("openstack-api-version").is_some() == shared)
            .count()
    };
    assert_eq!(flavor_lists(true), 1, "shared list fetched once");
    // Ordinary reads are never cached: test-poll's 3 reads plus test-echo's 1.
    assert_eq!(flavor_lists(false), 4, "ordinary reads all reach the cloud");
}

#[test]
fn application_credentials_authenticate_and_never_leak() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let appcred = cloud.fixture().application_credentials[0].clone();
    let clouds = write_clouds(
        dir.path(),
        &cloud,
        "simcloud",
        &Credential::ApplicationCredential(appcred.id.clone()),
    );
    let checks = checks_with(dir.path(), &["test-echo", "scs-0123-services"]);
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("test-echo|scs-0123".into());
    let r = run_lib(&opts);
    assert_eq!(result_of(&r.report, "test-echo"), 1);
    assert_eq!(result_of(&r.report, "scs-0123-service-compute"), 1);
    let auth = cloud
        .requests()
        .into_iter()
        .find(|q| q.path.ends_with("/auth/tokens"))
        .expect("auth request");
    assert_eq!(auth.status, 201);
    assert!(!r.report.to_yaml().contains(&appcred.secret));
}

/// The compliant fixture with `faults` replaced.
fn faulty(faults: &str) -> BlockingSimCloud {
    let text = std::fs::read_to_string(root().join("tests/simcloud/fixtures/compliant.yaml"))
        .expect("read fixture");
    assert!(
        text.contains("\nfaults: {}\n"),
        "compliant.yaml changed shape"
    );
    let text = text.replace("\nfaults: {}\n", &format!("\nfaults: {faults}\n"));
    let f = Fixture::from_yaml(&text).expect("fixture with faults");
    simcloud::spawn_blocking_server(f).expect("start simcloud")
}

fn run_faulty(
    cloud: &BlockingSimCloud,
    tests: &str,
    tweak: impl FnOnce(&mut scs_cert_host::run::RunOptions),
) -> scs_cert_host::report::Report {
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(dir.path(), &["scs-0100-flavor-naming", "scs-0123-services"]);
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some(tests.into());
    tweak(&mut opts);
    run_lib(&opts).report
}

#[test]
fn an_expired_token_is_renewed_and_the_check_never_sees_the_401() {
    // Every token is refused after it was presented twice.
    let cloud = faulty("{expire_tokens_after_requests: 2}");
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(dir.path(), &["test-poll", "scs-0100-flavor-naming"]);
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("test-poll|scs-0100".into());
    let report = run_lib(&opts).report;
    assert_eq!(result_of(&report, "test-poll"), 1);
    assert_eq!(result_of(&report, "scs-0100-syntax-check"), 1);
    let poll = invocation_of(&report, "test-poll");
    assert!(
        poll.stderr.is_empty() && report.to_yaml().contains("test-poll: PASS"),
        "{:?}",
        poll.stderr
    );
    let reqs = cloud.requests();
    let auths = reqs
        .iter()
        .filter(|q| q.path.ends_with("/auth/tokens") && q.method == "POST")
        .count();
    assert!(
        auths >= 2,
        "the host re-authenticated ({auths} token requests)"
    );
    assert!(
        reqs.iter().any(|q| q.status == 401),
        "the cloud did refuse a token"
    );
}

#[test]
fn server_errors_and_malformed_json_abort_with_a_reason() {
    let cloud = faulty("{errors: [{path_prefix: /compute/v2.1/flavors, status: 503}]}");
    let report = run_faulty(&cloud, "scs-0100|scs-0123-service-compute", |_| {});
    assert_eq!(result_of(&report, "scs-0100-syntax-check"), 0);
    assert_eq!(result_of(&report, "scs-0100-semantics-check"), 0);
    // The catalog-only check is unaffected.
    assert_eq!(result_of(&report, "scs-0123-service-compute"), 1);
    let inv = invocation_of(&report, "scs-0100-syntax-check");
    assert!(
        inv.stderr.iter().any(|l| l.starts_with(
            "ERROR: scs-0100-syntax-check: compute GET flavors/detail returned HTTP 503"
        )),
        "{:?}",
        inv.stderr
    );

    let cloud = faulty("{malformed_json: [/compute/v2.1/flavors]}");
    let report = run_faulty(&cloud, "scs-0100", |_| {});
    assert_eq!(result_of(&report, "scs-0100-syntax-check"), 0);
    let inv = invocation_of(&report, "scs-0100-syntax-check");
    assert!(
        inv.stderr.iter().any(
            |l| l.contains("malformed response from compute GET flavors/detail")
                && l.contains("not valid JSON")
        ),
        "{:?}",
        inv.stderr
    );
}

#[test]
fn responses_over_the_size_cap_are_refused() {
    let cloud = start_cloud("compliant");
    let report = run_faulty(&cloud, "scs-0100", |o| {
        o.mediation.max_response_bytes = 1_000
    });
    assert_eq!(result_of(&report, "scs-0100-syntax-check"), 0);
    let inv = invocation_of(&report, "scs-0100-syntax-check");
    assert!(
        inv.stderr.iter().any(|l| l.contains("too large: response")),
        "{:?}",
        inv.stderr
    );
}

#[test]
fn latency_is_absorbed_and_verdicts_stay_the_same() {
    let cloud = faulty("{latency_ms: 20}");
    let report = run_faulty(&cloud, "scs-0100|scs-0123", |_| {});
    assert_eq!(result_of(&report, "scs-0100-syntax-check"), 1);
    assert_eq!(result_of(&report, "scs-0100-semantics-check"), 1);
}

/// A hostile identity endpoint: [`hostile_http`] serving Keystone's path.
fn hostile_keystone(head: &'static str, byte: u8, bytes: usize, gap: Duration) -> String {
    format!("{}/v3", hostile_http(head, byte, bytes, gap))
}

/// Certify `-t scs-0123-service-compute` against the cloud at `auth_url` with
/// `--request-timeout 2`; the wall time and the run.
fn certify_against(auth_url: &str) -> (Duration, CliRun, serde_json::Value) {
    let t0 = std::time::Instant::now();
    let (cli, report, _) = certify_hostile(auth_url, None, "scs-0123-service-compute");
    (t0.elapsed(), cli, report)
}

/// Certify `-t TESTCASE` with `--request-timeout 2` against a cloud `hostile` whose Keystone
/// is `auth_url` (password `s3cret-pw`, optionally in `region`); the run, the report and its
/// text. The report must be written whatever happens.
fn certify_hostile(
    auth_url: &str,
    region: Option<&str>,
    testcase: &str,
) -> (CliRun, serde_json::Value, String) {
    let dir = tempdir();
    let clouds = dir.path().join("clouds.yaml");
    let region = region
        .map(|r| format!("    region_name: {r}\n"))
        .unwrap_or_default();
    std::fs::write(
        &clouds,
        format!(
            "clouds:\n  hostile:\n{region}    auth:\n      auth_url: {auth_url}\n      \
             username: u\n      password: s3cret-pw\n      project_name: demo\n"
        ),
    )
    .expect("clouds.yaml");
    let out = dir.path().join("r.yaml");
    let checks = real_checks();
    let cli = scs_cert(
        &[
            "run",
            "scopes/scs-compatible-iaas.yaml",
            "-s",
            "hostile",
            "--os-cloud",
            "hostile",
            "--checks",
            checks.to_str().expect("path"),
            "-t",
            testcase,
            "--request-timeout",
            "2",
            "-o",
            out.to_str().expect("path"),
        ],
        Some(&clouds),
    );
    assert!(out.is_file(), "the report is written: {}", cli.stderr);
    let text = std::fs::read_to_string(&out).expect("report");
    (cli, read_report(&out), text)
}

use std::time::Duration;

/// Hardening, hole 5: a Keystone that sends its headers and then trickles the body one byte a
/// second never hangs the run: the whole token exchange is bounded by `--request-timeout`,
/// every testcase ABORTs with one line saying so, and the report is written.
#[test]
fn a_trickling_keystone_cannot_hang_the_run() {
    let url = hostile_keystone(
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Subject-Token: t\r\n\
         Content-Length: 100000\r\n\r\n{",
        b' ',
        45,
        Duration::from_secs(1),
    );
    let (took, cli, report) = certify_against(&url);
    assert!(took < Duration::from_secs(30), "took {took:?}");
    assert_eq!(cli.code, 2, "{}", cli.stderr);
    let logs = log_lines(&report).join("\n");
    assert!(logs.contains("did not answer within 2 s"), "{logs}");
}

/// Hardening, hole 5: a Keystone that floods its answer (no Content-Length, endless body) is
/// cut off at the response bound instead of filling memory.
#[test]
fn a_flooding_keystone_is_cut_off() {
    let url = hostile_keystone(
        "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Subject-Token: t\r\n\
         Connection: close\r\n\r\n[",
        b'1',
        1 << 28,
        Duration::ZERO,
    );
    let (took, cli, report) = certify_against(&url);
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert_eq!(cli.code, 2, "{}", cli.stderr);
    let logs = log_lines(&report).join("\n");
    assert!(
        logs.contains("refusing to read a token response that large")
            || logs.contains("did not answer within"),
        "{logs}"
    );
}

/// Hardening, hole 12: a Keystone error body that echoes the request never puts the password
/// into the report.
#[test]
fn a_keystone_refusal_echoing_the_password_stays_out_of_the_report() {
    let url = hostile_keystone(
        "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 83\r\n\r\n\
         {\"error\": {\"code\": 401, \"title\": \"Unauthorized\", \"message\": \"bad s3cret-pw for u\"}}",
        b' ',
        0,
        Duration::ZERO,
    );
    let (_, cli, report) = certify_against(&url);
    assert_eq!(cli.code, 2, "{}", cli.stderr);
    let text = serde_json::to_string(&report).expect("json");
    assert!(!text.contains("s3cret-pw"), "{text}");
    assert!(text.contains("Unauthorized"), "{text}");
}

/// A plain HTTP server on 127.0.0.1 that answers every request with an empty flavor list and
/// keeps the head of each request it got. Returns its `host:port` and the requests.
fn recording_endpoint() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 8192];
            let n = s.read(&mut buf).unwrap_or(0);
            if let Ok(mut l) = log.lock() {
                l.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
            let body = "{\"flavors\": []}";
            let _ = s.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            );
        }
    });
    (addr.to_string(), seen)
}

/// Hardening, hole 4: catalog URLs of a hostile cloud are checked before the token or a
/// check's request goes there. The token response lists compute in five regions: with user
/// info, at the cloud-metadata address, as `file:`, with a query, and one valid endpoint.
/// A run per region (`region_name`) with scs-0100, which reads compute: the four bad ones
/// are refused with one line naming the rule, and nothing reaches them; the valid one is
/// used (with the token); the token is never in the report.
#[test]
fn hostile_catalog_endpoints_are_refused() {
    const TOKEN: &str = "tok-hole4-5ecret-0123456789abcdef";
    let (bad_addr, bad_seen) = recording_endpoint();
    let (good_addr, good_seen) = recording_endpoint();
    let endpoints = [
        ("R1", format!("http://user:pw@{bad_addr}/compute/v2.1")),
        ("R2", "http://169.254.169.254/compute/v2.1".to_string()),
        ("R3", "file:///etc/passwd".to_string()),
        ("R4", format!("http://{bad_addr}/compute/v2.1?x=1")),
        ("R5", format!("http://{good_addr}/compute/v2.1")),
    ];
    let body = serde_json::json!({"token": {
        "user": {"id": "u1", "name": "u"},
        "project": {"id": "p1", "name": "demo"},
        "roles": [{"id": "r1", "name": "member"}],
        "expires_at": "2099-01-01T00:00:00Z",
        "catalog": [{"type": "compute", "name": "nova", "endpoints": endpoints
            .iter()
            .map(|(r, u)| serde_json::json!({"interface": "public", "region_id": r, "url": u}))
            .collect::<Vec<_>>()}]
    }})
    .to_string();
    let head: &'static str = Box::leak(
        format!(
            "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Subject-Token: {TOKEN}\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_boxed_str(),
    );
    let auth_url = hostile_keystone(head, b' ', 0, Duration::ZERO);
    let run = |region: &str| certify_hostile(&auth_url, Some(region), "scs-0100-syntax-check");
    let rules = [
        "refused: user info in the URL is not allowed",
        "refused: host 169.254.169.254 is a link-local or unspecified address",
        "refused: scheme \"file\" is not allowed",
        "refused: a query in the URL is not allowed",
    ];
    for ((region, url), rule) in endpoints.iter().zip(rules) {
        let (cli, report, text) = run(region);
        let logs = log_lines(&report);
        let line = logs.iter().find(|l| l.contains(rule)).unwrap_or_else(|| {
            panic!(
                "{region} {url}: no line with {rule:?}: {logs:#?}\n{}",
                cli.stderr
            )
        });
        assert!(
            line.contains("\"compute\"") && !line.contains('\n') && !line.contains("user:pw"),
            "{line}"
        );
        assert!(
            !text.contains(TOKEN),
            "{region}: the token is in the report"
        );
        assert!(
            !text.contains("s3cret-pw"),
            "{region}: the password is in the report"
        );
        // the host warns once per run about every refused catalog endpoint
        for r in rules {
            assert!(
                cli.stderr.contains(r),
                "{region}: no warning {r:?}: {}",
                cli.stderr
            );
        }
        assert!(
            !cli.stderr.contains(TOKEN) && !cli.stderr.contains("user:pw"),
            "{}",
            cli.stderr
        );
    }
    assert!(
        bad_seen.lock().expect("lock").is_empty(),
        "requests reached a refused endpoint: {:?}",
        bad_seen.lock().expect("lock")
    );
    // The valid endpoint is used, with the token; the token still stays out of the report.
    let (cli, _, text) = run("R5");
    let good = good_seen.lock().expect("lock").clone();
    assert!(
        good.iter().any(|r| r.contains("/compute/v2.1/flavors")
            && r.to_ascii_lowercase()
                .contains(&format!("x-auth-token: {}", TOKEN.to_ascii_lowercase()))),
        "{good:?}\n{}",
        cli.stderr
    );
    assert!(!text.contains(TOKEN));
    assert!(!text.contains("refused:"), "{text}");
}

/// Hardening, hole 2, with a real component: a check that asks for `%2e%2e/...` and similar
/// paths below its compute endpoint is refused before anything is sent, and the cloud never
/// sees a request outside the compute endpoint's path.
#[test]
fn encoded_dot_segments_cannot_leave_the_endpoint() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(dir.path(), &["test-escape"]);
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("test-escape".into());
    let r = run_lib(&opts);
    assert_eq!(
        result_of(&r.report, "test-escape"),
        1,
        "{:?}",
        invocation_of(&r.report, "test-escape").stderr
    );
    let outside: Vec<String> = cloud
        .requests()
        .iter()
        .filter(|q| q.path != "/identity/v3/auth/tokens" || q.method != "POST")
        .filter(|q| !q.path.starts_with("/compute/v2.1"))
        .map(|q| format!("{} {}", q.method, q.path))
        .collect();
    assert!(outside.is_empty(), "requests outside compute: {outside:?}");
}

/// Issue 11, redirects: a redirect on the same origin is followed with the token (the cloud
/// sees the second request carry it) and the verdict is the one without the redirect.
#[test]
fn a_redirect_on_the_same_origin_is_followed_with_the_token() {
    let cloud = faulty(
        "{redirects: [{from: /compute/v2.1/flavors/detail, to: /compute/v2.1/flavors/detail, \
         status: 301, count: 1}]}",
    );
    let report = run_faulty(&cloud, "scs-0100-syntax-check", |_| {});
    assert_eq!(result_of(&report, "scs-0100-syntax-check"), 1);
    let detail: Vec<_> = cloud
        .requests()
        .into_iter()
        .filter(|q| q.path == "/compute/v2.1/flavors/detail")
        .collect();
    assert_eq!(
        detail.iter().map(|q| q.status).collect::<Vec<_>>(),
        [301, 200],
        "one redirect, then the answer"
    );
    assert!(
        detail
            .iter()
            .all(|q| q.headers.iter().any(|(k, _)| k == "x-auth-token")),
        "the token went with both requests (same origin)"
    );
}

/// Issue 11, redirects: a redirect to another origin is not followed: nothing (neither the
/// token nor the request) reaches it, the check sees the redirect and aborts with the status
/// named, and the run says why in one line.
#[test]
fn a_redirect_to_another_origin_is_not_followed() {
    let (other, seen) = recording_endpoint();
    let cloud = faulty(&format!(
        "{{redirects: [{{from: /compute/v2.1/flavors, to: 'http://{other}/compute/v2.1/flavors', \
         status: 307}}]}}"
    ));
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(dir.path(), &["scs-0100-flavor-naming"]);
    let out = dir.path().join("report.yaml");
    let run = crate::common::scs_cert(
        &[
            "run",
            test_scope().to_str().expect("utf-8"),
            "--os-cloud",
            "simcloud",
            "--subject",
            "redirect",
            "-o",
            out.to_str().expect("utf-8"),
            "--checks",
            checks.to_str().expect("utf-8"),
            "--tests",
            "scs-0100-syntax-check",
        ],
        Some(&clouds),
    );
    let report = crate::common::read_report(&out);
    assert_eq!(
        crate::common::results_of(&report).get("scs-0100-syntax-check"),
        Some(&0)
    );
    assert!(
        seen.lock().expect("lock").is_empty(),
        "the other origin got a request"
    );
    assert!(
        run.stderr.contains("redirect not followed") && run.stderr.contains("another origin"),
        "{}",
        run.stderr
    );
    assert!(
        crate::common::log_lines(&report)
            .iter()
            .any(|l| l.contains("flavors/detail returned HTTP 307")),
        "{:?}",
        crate::common::log_lines(&report)
    );
}

/// Issue 11, redirects: a redirect loop ends after the bound (5 hops) with one line.
#[test]
fn a_redirect_loop_ends_after_five_hops() {
    let cloud = faulty(
        "{redirects: [{from: /compute/v2.1/flavors/detail, to: /compute/v2.1/flavors/detail, \
         status: 302}]}",
    );
    let report = run_faulty(&cloud, "scs-0100-syntax-check", |_| {});
    assert_eq!(result_of(&report, "scs-0100-syntax-check"), 0);
    let inv = invocation_of(&report, "scs-0100-syntax-check");
    assert!(
        inv.stderr
            .iter()
            .any(|l| l.contains("more than 5 redirects")),
        "{:?}",
        inv.stderr
    );
    let hops = cloud
        .requests()
        .iter()
        .filter(|q| q.path == "/compute/v2.1/flavors/detail")
        .count();
    assert_eq!(hops, 6, "the first request and 5 redirects followed");
}

/// Issue 11: the check is told the API base the host resolved (`openstack.resolved-endpoint`):
/// with compute registered at its unversioned root, the base is the discovered `/v2.1`; a
/// service type the check has no capability for is denied; a replay answers the same offline.
#[test]
fn the_check_is_told_the_resolved_base_live_and_replayed() {
    let cloud = start_cloud("endpoint-shapes");
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "simcloud", &Credential::FirstUser);
    let checks = checks_with(dir.path(), &["test-echo"]);
    let record = dir.path().join("transcript");
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("test-echo".into());
    opts.record = Some(record.clone());
    let live = run_lib(&opts).report;
    let lines = |r: &scs_cert_host::report::Report| -> Vec<String> {
        invocation_of(r, "test-echo")
            .stderr
            .iter()
            .filter(|l| l.contains("resolved "))
            .cloned()
            .collect()
    };
    let want_compute = format!("INFO: resolved compute: {}/compute/v2.1", cloud.base_url());
    let got = lines(&live);
    assert!(got.contains(&want_compute), "{got:?}");
    assert!(
        got.iter()
            .any(|l| l.starts_with("INFO: resolved block-storage: error: block-storage: denied")),
        "{got:?}"
    );
    // offline: the same answers from the transcript
    drop(cloud);
    let mut opts = options(&test_scope(), &checks, &clouds);
    opts.tests = Some("test-echo".into());
    opts.replay = Some(record);
    let replayed = run_lib(&opts).report;
    assert_eq!(lines(&replayed), got);
}

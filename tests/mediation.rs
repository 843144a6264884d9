//! Mediation tests: the guest never sees the token or a password; a shared
//! list used by several checks is fetched once per run; an ordinary read is
//! never cached; application-credential auth works.

#[path = "common/mod.rs"]
mod common;

use common::*;

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

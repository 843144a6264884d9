//! Credentials as operators have them, end to end with the real `scs-cert` binary against the
//! simulated cloud: only the `OS_*` variables of an openrc file (`--os-cloud envvars`), a
//! `v3token` made from a token Keystone issued first, a `profile:` from clouds-public.yaml, a
//! client certificate demanded by a TLS proxy in front of Keystone, and the wrong combinations
//! (exit code 4 and one line naming the setting).
//!
//! Every run starts from an environment without any `OS_*` variable of the test process, with
//! a home directory and a working directory of its own.

use crate::common::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

const TESTCASE: &str = "scs-0123-service-compute";

use crate::common::pki::{Pki, make_pki};

/// A file's text.
fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The IaaS scope (absolute: the runs have their own working directory).
fn scope() -> String {
    root()
        .join("scopes/scs-compatible-iaas.yaml")
        .display()
        .to_string()
}

/// Run the real binary in `dir` (also its home) with exactly these `OS_*` variables.
fn run_in(dir: &Path, os_cloud: Option<&str>, vars: &[(&str, &str)]) -> (CliRun, PathBuf) {
    run_with(dir, os_cloud, vars, &[])
}

/// [`run_in`] with further arguments.
fn run_with(
    dir: &Path,
    os_cloud: Option<&str>,
    vars: &[(&str, &str)],
    extra: &[&str],
) -> (CliRun, PathBuf) {
    let out = dir.join("report.yaml");
    let checks = real_checks();
    let scope = scope();
    let mut args = vec![
        "run",
        scope.as_str(),
        "-s",
        "test-cloud",
        "--date",
        "2026-11-29",
        "-t",
        TESTCASE,
        "-o",
        out.to_str().expect("utf-8 path"),
        "--checks",
        checks.to_str().expect("utf-8 path"),
    ];
    if let Some(c) = os_cloud {
        args.extend(["--os-cloud", c]);
    }
    args.extend_from_slice(extra);
    let mut c = Command::new(env!("CARGO_BIN_EXE_scs-cert"));
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("OS_") {
            c.env_remove(k);
        }
    }
    c.args(&args)
        .current_dir(dir)
        .env("SCS_CERT_CACHE_DIR", cache_dir())
        .env_remove("SCS_CERT_CHECKS")
        .env_remove("XDG_CONFIG_HOME")
        .env("XDG_CONFIG_DIRS", dir.join("xdg"))
        .env("HOME", dir)
        .envs(vars.iter().copied());
    let o = c.output().expect("run scs-cert");
    let cli = CliRun {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    (cli, out)
}

/// The run passed the one testcase; nothing of `secret` in its output or report.
fn assert_passed(cli: &CliRun, report: &Path, secret: &str) -> serde_json::Value {
    assert_eq!(
        cli.code, 0,
        "stdout:\n{}\nstderr:\n{}",
        cli.stdout, cli.stderr
    );
    let text = std::fs::read_to_string(report).expect("report");
    assert!(!text.contains(secret) && !cli.stdout.contains(secret) && !cli.stderr.contains(secret));
    let report = read_report(report);
    assert_eq!(
        results_of(&report),
        [(TESTCASE.to_string(), 1)].into(),
        "{}",
        cli.stderr
    );
    report
}

/// The `OS_*` variables of the compliant fixture's member.
fn openrc(cloud: &BlockingSimCloud) -> Vec<(&'static str, String)> {
    let user = &cloud.fixture().users[0];
    vec![
        ("OS_AUTH_URL", cloud.auth_url()),
        ("OS_USERNAME", user.name.clone()),
        ("OS_PASSWORD", user.password.clone()),
        ("OS_PROJECT_NAME", user.project.clone()),
        ("OS_USER_DOMAIN_NAME", "Default".into()),
        ("OS_PROJECT_DOMAIN_NAME", "Default".into()),
        ("OS_REGION_NAME", cloud.fixture().region.clone()),
        ("OS_INTERFACE", "public".into()),
        ("OS_IDENTITY_API_VERSION", "3".into()),
    ]
}

fn refs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'a str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// (a) Only an openrc file's variables, no clouds.yaml anywhere: `--os-cloud envvars`
/// certifies the cloud; region and interface come from OS_REGION_NAME and OS_INTERFACE (the
/// transcript records what the session used).
#[test]
fn openrc_variables_alone_certify_the_cloud() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    let vars = openrc(&cloud);
    let record = dir.path().join("transcript");
    let (cli, out) = run_with(
        dir.path(),
        Some("envvars"),
        &refs(&vars),
        &["--record", record.to_str().expect("path")],
    );
    let report = assert_passed(&cli, &out, &cloud.fixture().users[0].password);
    assert_eq!(report["run"]["assignment"]["os_cloud"], "envvars");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(record.join("manifest.json")).expect("manifest.json"),
    )
    .expect("manifest JSON");
    let recorded = &manifest["cloud"];
    assert_eq!(
        recorded["region"],
        cloud.fixture().region.as_str(),
        "{manifest}"
    );
    assert_eq!(recorded["interface"], "public", "{manifest}");
    assert_eq!(recorded["user"], "member", "{manifest}");
}

/// Get a token from simcloud's Keystone with the member's password.
fn issue_token(cloud: &BlockingSimCloud) -> String {
    scs_cert_host::install_crypto_provider();
    let user = cloud.fixture().users[0].clone();
    let url = format!("{}/auth/tokens", cloud.auth_url());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async move {
        let resp = reqwest::Client::new()
            .post(url)
            .json(
                &serde_json::json!({"auth": {"identity": {"methods": ["password"],
                "password": {"user": {"name": user.name, "password": user.password,
                    "domain": {"name": "Default"}}}},
                "scope": {"project": {"name": user.project, "domain": {"name": "Default"}}}}}),
            )
            .send()
            .await
            .expect("POST auth/tokens");
        assert_eq!(resp.status().as_u16(), 201);
        resp.headers()["x-subject-token"]
            .to_str()
            .expect("token")
            .to_string()
    })
}

/// Whether simcloud saw a token request with methods ["token"].
fn saw_token_method(cloud: &BlockingSimCloud) -> bool {
    cloud.requests().iter().any(|r| {
        r.json().is_some_and(|b| {
            b["auth"]["identity"]["methods"] == serde_json::json!(["token"])
                && b["auth"]["scope"]["project"].is_object()
        })
    })
}

/// (b) `v3token`: a token Keystone issued first, rescoped to the project, from OS_TOKEN and
/// from clouds.yaml.
#[test]
fn v3token_certifies_the_cloud() {
    let cloud = start_cloud("compliant");
    let token = issue_token(&cloud);
    let dir = tempdir();
    let vars = [
        ("OS_AUTH_TYPE", "v3token"),
        ("OS_AUTH_URL", &cloud.auth_url()),
        ("OS_TOKEN", &token),
        ("OS_PROJECT_NAME", "demo"),
        ("OS_PROJECT_DOMAIN_NAME", "Default"),
    ];
    let (cli, out) = run_in(dir.path(), Some("envvars"), &vars);
    assert_passed(&cli, &out, &token);
    assert!(saw_token_method(&cloud));

    let cloud = start_cloud("compliant");
    let token = issue_token(&cloud);
    let dir = tempdir();
    std::fs::write(
        dir.path().join("clouds.yaml"),
        format!(
            "clouds:\n  tok:\n    auth_type: v3token\n    auth:\n      auth_url: {}\n      token: {token}\n      project_name: demo\n      project_domain_name: Default\n",
            cloud.auth_url()
        ),
    )
    .expect("write clouds.yaml");
    let (cli, out) = run_in(dir.path(), Some("tok"), &[]);
    assert_passed(&cli, &out, &token);
    assert!(saw_token_method(&cloud));
}

/// (c) A `profile:` from clouds-public.yaml (in the working directory) gives auth_url, region
/// and interface; the clouds.yaml entry (`./clouds.yaml`) gives the user.
#[test]
fn clouds_public_profile_fills_in_the_entry() {
    let cloud = start_cloud("compliant");
    let dir = tempdir();
    std::fs::write(
        dir.path().join("clouds-public.yaml"),
        format!(
            "public-clouds:\n  simvendor:\n    auth:\n      auth_url: {}\n      user_domain_name: Default\n      project_domain_name: Default\n    region_name: {}\n    interface: public\n    identity_api_version: 3\n",
            cloud.auth_url(),
            cloud.fixture().region
        ),
    )
    .expect("write clouds-public.yaml");
    std::fs::write(
        dir.path().join("clouds.yaml"),
        "clouds:\n  mine:\n    profile: simvendor\n    auth:\n      username: member\n      project_name: demo\n",
    )
    .expect("write clouds.yaml");
    std::fs::write(
        dir.path().join("secure.yaml"),
        "clouds:\n  mine:\n    auth:\n      password: s3cret\n",
    )
    .expect("write secure.yaml");
    let (cli, out) = run_in(dir.path(), Some("mine"), &[]);
    assert_passed(&cli, &out, "s3cret");
}

/// Exit 4, no report, and the one line `scs-cert: error: <want>` on stderr.
fn refused(dir: &Path, os_cloud: Option<&str>, vars: &[(&str, &str)], want: &str) {
    let (cli, out) = run_in(dir, os_cloud, vars);
    assert_eq!(cli.code, 4, "{vars:?}: {}", cli.stderr);
    assert!(!out.exists(), "a report was written");
    let line = format!("scs-cert: error: {want}");
    assert!(
        cli.stderr.lines().any(|l| l == line),
        "{vars:?}: want the line\n{line}\nin\n{}",
        cli.stderr
    );
    assert!(!cli.stderr.contains("panicked"), "{}", cli.stderr);
}

/// Every wrong combination: exit code 4 (bad input, as for clouds.yaml) and one line naming
/// the variable or field and the fix.
#[test]
fn wrong_combinations_exit_4_with_one_line() {
    let dir = tempdir();
    let d = dir.path();
    const ENV: &str = " (cloud \"envvars\", made of the OS_* environment variables)";
    refused(
        d,
        Some("envvars"),
        &[
            ("OS_USERNAME", "u"),
            ("OS_PASSWORD", "pw"),
            ("OS_PROJECT_NAME", "p"),
        ],
        &format!(
            "OS_AUTH_URL: not set, but OS_PASSWORD is; export OS_AUTH_URL=<the Keystone URL> \
             (source the cloud's openrc file){ENV}"
        ),
    );
    refused(
        d,
        Some("envvars"),
        &[
            ("OS_AUTH_URL", "http://127.0.0.1:9/v3"),
            ("OS_AUTH_TYPE", "v3token"),
            ("OS_PROJECT_ID", "p"),
        ],
        &format!(
            "OS_TOKEN: not set, but the auth type is v3token; export OS_TOKEN (e.g. from \
             `openstack token issue -f value -c id`), or use another auth type{ENV}"
        ),
    );
    refused(
        d,
        Some("envvars"),
        &[("OS_REGION_NAME", "R")],
        "cloud \"envvars\" means the OS_* environment variables, but none is set (OS_CLOUD, \
         OS_CLOUD_NAME, OS_REGION_NAME, OS_CLIENT_CONFIG_FILE and OS_CLIENT_SECURE_FILE alone do \
         not make a cloud); source the cloud's openrc file, or name a cloud of clouds.yaml",
    );
    // client certificate without its key, and one that cannot be read
    let cert = make_pki(&d.join("pki")).client_cert;
    let token_rc = [
        ("OS_AUTH_URL", "http://127.0.0.1:9/v3"),
        ("OS_TOKEN", "t0k3n"),
        ("OS_PROJECT_ID", "p"),
    ];
    let mut vars = token_rc.to_vec();
    vars.push(("OS_CERT", cert.to_str().expect("path")));
    refused(
        d,
        Some("envvars"),
        &vars,
        &format!(
            "OS_CERT: {}: holds no private key, and OS_KEY is not set; set OS_KEY to the key file",
            cert.display()
        ),
    );
    let mut vars = token_rc.to_vec();
    vars.push(("OS_KEY", "k.pem"));
    refused(
        d,
        Some("envvars"),
        &vars,
        &format!(
            "OS_KEY: is set, but OS_CERT is not; export OS_CERT to the client certificate, or \
             remove OS_KEY{ENV}"
        ),
    );
    let mut vars = token_rc.to_vec();
    vars.push(("OS_CERT", "/nonexistent/client.pem"));
    vars.push(("OS_KEY", "/nonexistent/client.key"));
    refused(
        d,
        Some("envvars"),
        &vars,
        "OS_CERT: cannot read: /nonexistent/client.pem: No such file or directory (os error 2); \
         fix the path",
    );
    // clouds.yaml: the name of the OS_* cloud is reserved; a profile that is nowhere
    let clouds = d.join("clouds.yaml");
    std::fs::write(&clouds, "clouds:\n  envvars:\n    auth: {auth_url: http://k}\n  p:\n    profile: nowhere\n    auth: {auth_url: http://k, username: u, password: pw, project_id: x}\n")
        .expect("write clouds.yaml");
    refused(
        d,
        Some("p"),
        &[],
        "clouds.yaml: defines a cloud named \"envvars\", the name of the cloud made of the OS_* \
         environment variables; rename that cloud, or set OS_CLOUD_NAME to another name",
    );
    std::fs::write(&clouds, "clouds:\n  p:\n    profile: nowhere\n    auth: {auth_url: http://k, username: u, password: pw, project_id: x}\n")
        .expect("write clouds.yaml");
    std::fs::write(d.join("clouds-public.yaml"), "public-clouds: {}\n").expect("write");
    refused(
        d,
        Some("p"),
        &[],
        "clouds.yaml: clouds.p.profile: profile \"nowhere\" is not under public-clouds in \
         clouds-public.yaml; add it there (scs-cert has none of openstacksdk's built-in vendor \
         profiles), or remove profile",
    );
}

/// A TLS proxy on 127.0.0.1 in front of `upstream` (host:port) that demands a client
/// certificate signed by the test CA of `pki` and presents its server certificate: one HTTP/1.1
/// request per connection, forwarded with `Connection: close`. Returns its port.
fn mtls_proxy(upstream: String, pki: &Pki) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(read(&pki.ca).as_bytes()).expect("CA"))
        .expect("add CA");
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .expect("client verifier");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(read(&pki.server_cert).as_bytes()).expect("cert")],
            PrivateKeyDer::from_pem_slice(read(&pki.server_key).as_bytes()).expect("key"),
        )
        .expect("server config");
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(tcp) = tcp else { continue };
            let config = config.clone();
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                let Ok(conn) = rustls::ServerConnection::new(config) else {
                    return;
                };
                let mut tls = rustls::StreamOwned::new(conn, tcp);
                let Some(request) = read_request(&mut tls) else {
                    return;
                };
                let Ok(mut up) = std::net::TcpStream::connect(&upstream) else {
                    return;
                };
                let mut response = Vec::new();
                if up.write_all(&request).is_err() || up.read_to_end(&mut response).is_err() {
                    return;
                }
                let _ = tls.write_all(&response);
                let _ = tls.flush();
                tls.conn.send_close_notify();
                let _ = tls.flush();
            });
        }
    });
    port
}

/// One HTTP/1.1 request, its `Connection` header replaced by `Connection: close`.
fn read_request(s: &mut impl Read) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&buf).into_owned();
    let mut length = 0usize;
    let mut out = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            length = v.trim().parse().ok()?;
        }
        if !lower.starts_with("connection:") {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("connection: close\r\n\r\n");
    let mut body = vec![0u8; length];
    s.read_exact(&mut body).ok()?;
    let mut request = out.into_bytes();
    request.extend_from_slice(&body);
    Some(request)
}

/// A client certificate (clouds.yaml `cert`/`key`, the proxy's CA as `cacert`) is presented to
/// a Keystone that demands one; without it, the TLS handshake fails and every testcase aborts.
#[test]
fn client_certificate_is_presented_to_keystone() {
    let cloud = start_cloud("compliant");
    let base = reqwest::Url::parse(&cloud.base_url()).expect("base URL");
    let upstream = format!(
        "{}:{}",
        base.host_str().expect("host"),
        base.port_or_known_default().expect("port")
    );
    let dir = tempdir();
    // made now with openssl in the test's directory (pki/), never embedded
    let pki = make_pki(&dir.path().join("pki"));
    let port = mtls_proxy(upstream, &pki);
    let auth_url = cloud
        .auth_url()
        .replace(&cloud.base_url(), &format!("https://127.0.0.1:{port}"));
    for (name, from) in [
        ("ca.pem", &pki.ca),
        ("client.pem", &pki.client_cert),
        ("client.key", &pki.client_key),
    ] {
        std::fs::copy(from, dir.path().join(name)).expect("copy PEM");
    }
    let entry = format!(
        "    auth:\n      auth_url: {auth_url}\n      username: member\n      password: s3cret\n      project_name: demo\n    region_name: {}\n    cacert: ca.pem\n",
        cloud.fixture().region
    );
    std::fs::write(
        dir.path().join("clouds.yaml"),
        format!(
            "clouds:\n  mtls:\n{entry}    cert: client.pem\n    key: client.key\n  nocert:\n{entry}"
        ),
    )
    .expect("write clouds.yaml");
    let (cli, out) = run_in(dir.path(), Some("mtls"), &[]);
    assert_passed(&cli, &out, "s3cret");

    let dir2 = tempdir();
    for f in ["ca.pem", "clouds.yaml"] {
        std::fs::copy(dir.path().join(f), dir2.path().join(f)).expect("copy");
    }
    let (cli, out) = run_in(dir2.path(), Some("nocert"), &[]);
    assert_eq!(cli.code, 2, "{}", cli.stderr);
    assert_eq!(
        results_of(&read_report(&out)),
        [(TESTCASE.to_string(), 0)].into()
    );
}

/// Without `--os-cloud`: the cloud openstacksdk picks by default, `$OS_CLOUD` (a clouds.yaml
/// entry), else the openrc variables' `envvars` cloud; the scope's `os_cloud` variable needs
/// no assignment then.
#[test]
fn without_os_cloud_the_default_cloud_is_used() {
    let cloud = start_cloud("compliant");
    // OS_CLOUD names the clouds.yaml entry
    let dir = tempdir();
    let clouds = write_clouds(dir.path(), &cloud, "from-env", &Credential::FirstUser);
    let clouds = clouds.to_str().expect("utf-8").to_string();
    let (cli, out) = run_in(
        dir.path(),
        None,
        &[
            ("OS_CLOUD", "from-env"),
            ("OS_CLIENT_CONFIG_FILE", clouds.as_str()),
        ],
    );
    assert_passed(&cli, &out, &cloud.fixture().users[0].password);
    // only the openrc variables
    let dir = tempdir();
    let vars = openrc(&cloud);
    let (cli, out) = run_in(dir.path(), None, &refs(&vars));
    assert_passed(&cli, &out, &cloud.fixture().users[0].password);
    // nothing at all: the one line says what to give
    let dir = tempdir();
    let (cli, _) = run_in(dir.path(), None, &[]);
    assert_ne!(cli.code, 0);
    assert!(cli.stderr.contains("os_cloud"), "{}", cli.stderr);
}

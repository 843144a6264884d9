//! Unit tests of cloud loading: clouds.yaml entries, the `OS_*` cloud, profiles, the choice of
//! cloud and the client certificate. Every test passes its own [`Environment`]; none changes
//! the process environment.

use super::*;
use std::path::Path;

fn doc(y: &str) -> Value {
    yaml_serde::from_str(y).unwrap()
}

fn env(pairs: &[(&str, &str)]) -> Environment {
    Environment::from_pairs(pairs.iter().copied())
}

/// An environment with a home of its own (no clouds.yaml anywhere but where a test puts one).
fn env_in(dir: &Path, pairs: &[(&str, &str)]) -> Environment {
    let home = dir.to_str().unwrap().to_string();
    let mut all: Vec<(String, String)> = vec![
        ("HOME".into(), home.clone()),
        ("XDG_CONFIG_DIRS".into(), format!("{home}/xdg")),
    ];
    all.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Environment::from_pairs(all)
}

fn err_of(r: Result<CloudConfig, CloudsError>) -> String {
    r.unwrap_err().to_string()
}

/// Run the real `openssl` in `dir` with `args` (split at whitespace); fails the test, saying
/// to install openssl, when there is none. (Test keys and certificates are made at test time,
/// never embedded.)
fn openssl(dir: &Path, args: &str) {
    let out = match std::process::Command::new("openssl")
        .args(args.split_whitespace())
        .current_dir(dir)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run `openssl` ({e}): this test makes its certificates and keys with the \
             openssl command-line tool; install openssl (Debian/Ubuntu: apt-get install openssl)"
        ),
    };
    assert!(
        out.status.success(),
        "openssl {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The extensions of the test client certificate (an `openssl` config): a v3 leaf for TLS
/// client authentication.
const CLIENT_CONFIG: &str = "\
[req]
distinguished_name = dn
prompt = no
x509_extensions = client
[dn]
CN = scs-cert test client
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
";

const OPENRC: &[(&str, &str)] = &[
    ("OS_AUTH_URL", "https://keystone.example:5000"),
    ("OS_USERNAME", "member"),
    ("OS_PASSWORD", "s3cret-pw"),
    ("OS_PROJECT_NAME", "demo"),
    ("OS_USER_DOMAIN_NAME", "Default"),
    ("OS_PROJECT_DOMAIN_ID", "default"),
    ("OS_REGION_NAME", "RegionTwo"),
    ("OS_INTERFACE", "internal"),
    ("OS_IDENTITY_API_VERSION", "3"),
];

#[test]
fn password_cloud() {
    let d = doc(
        "clouds:\n  c:\n    auth:\n      auth_url: https://k:5000/\n      username: u\n      password: p\n      project_name: pr\n      project_domain_id: default\n    region_name: R1\n    interface: internal\n    verify: false\n    cacert: ca.pem\n",
    );
    let c = from_value(&d, "c", Path::new("/x/clouds.yaml")).unwrap();
    assert_eq!(c.auth_url, "https://k:5000/v3");
    assert_eq!(c.region.as_deref(), Some("R1"));
    assert_eq!(c.interface, "internal");
    assert!(c.tls.insecure);
    assert_eq!(c.tls.cacert, Some(PathBuf::from("/x/ca.pem")));
    assert_eq!(c.source, CloudSource::File(PathBuf::from("/x/clouds.yaml")));
    match c.auth {
        Auth::Password {
            username,
            project,
            user_domain,
            ..
        } => {
            assert_eq!(username.as_deref(), Some("u"));
            assert_eq!(user_domain, Domain::Name("Default".into()));
            assert_eq!(
                project,
                ProjectScope::Name {
                    name: "pr".into(),
                    domain: Domain::Id("default".into())
                }
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{:?}", from_value(&d, "c", Path::new("x")).unwrap()).contains("\"p\""));
}

#[test]
fn appcred_and_errors() {
    let d = doc(
        "clouds:\n  a:\n    auth_type: v3applicationcredential\n    auth:\n      auth_url: http://k/identity/v3\n      application_credential_id: id1\n      application_credential_secret: s\n",
    );
    let c = from_value(&d, "a", Path::new("c.yaml")).unwrap();
    assert!(
        matches!(c.auth, Auth::ApplicationCredential { ref id, .. } if id.as_deref() == Some("id1"))
    );
    assert_eq!(c.interface, "public");
    let e = err_of(from_value(&d, "zzz", Path::new("c.yaml")));
    assert!(
        e.contains("no cloud named \"zzz\"") && e.contains("known: \"a\""),
        "{e}"
    );
    let d = doc(
        "clouds:\n  b:\n    auth:\n      auth_url: http://k\n      username: u\n      project_name: p\n",
    );
    assert_eq!(
        err_of(from_value(&d, "b", Path::new("c.yaml"))),
        "c.yaml: clouds.b.auth.password: missing; put it in clouds.yaml or secure.yaml"
    );
}

/// Hardening, hole 4: link-local catalog endpoints are refused unless the cloud's entry
/// says `scs_cert_allow_link_local: true`.
#[test]
fn link_local_allowance() {
    let base = "clouds:\n  c:\n    auth:\n      auth_url: http://k\n      username: u\n      password: p\n      project_id: x\n";
    let c = from_value(&doc(base), "c", Path::new("c.yaml")).unwrap();
    assert!(!c.allow_link_local);
    for (v, want) in [("true", true), ("false", false), ("\"yes\"", true)] {
        let d = doc(&format!("{base}    scs_cert_allow_link_local: {v}\n"));
        let c = from_value(&d, "c", Path::new("c.yaml")).unwrap();
        assert_eq!(c.allow_link_local, want, "{v}");
    }
    let d = doc(&format!("{base}    scs_cert_allow_link_local: maybe\n"));
    assert_eq!(
        err_of(from_value(&d, "c", Path::new("c.yaml"))),
        "c.yaml: clouds.c.scs_cert_allow_link_local: must be true or false"
    );
}

#[test]
fn secure_merge() {
    let mut base = doc("clouds:\n  c:\n    auth:\n      username: u\n");
    files::merge(
        &mut base,
        &doc("clouds:\n  c:\n    auth:\n      password: p\n"),
    );
    assert_eq!(base["clouds"]["c"]["auth"]["username"], "u");
    assert_eq!(base["clouds"]["c"]["auth"]["password"], "p");
}

/// openstacksdk reads settings outside `auth:` and the old spellings in clouds.yaml too.
#[test]
fn clouds_yaml_settings_outside_auth_and_old_spellings() {
    let d = doc(
        "clouds:\n  c:\n    auth_url: http://k\n    username: u\n    password: p\n    tenant_name: t\n    domain_id: dom\n    endpoint_type: adminURL\n    regions: [R7, R8]\n",
    );
    let c = from_value(&d, "c", Path::new("c.yaml")).unwrap();
    assert_eq!(c.interface, "admin");
    assert_eq!(c.region.as_deref(), Some("R7"));
    match c.auth {
        Auth::Password {
            project,
            user_domain,
            ..
        } => {
            assert_eq!(user_domain, Domain::Id("dom".into()));
            assert_eq!(
                project,
                ProjectScope::Name {
                    name: "t".into(),
                    domain: Domain::Id("dom".into())
                }
            );
        }
        other => panic!("{other:?}"),
    }
}

/// Only the `OS_*` variables of an openrc file: the `envvars` cloud.
#[test]
fn openrc_variables_make_the_envvars_cloud() {
    let e = env(OPENRC);
    assert_eq!(default_cloud_name(&e).as_deref(), Some("envvars"));
    let c = load_with("envvars", None, &env_in(Path::new("/nonexistent"), OPENRC)).unwrap();
    assert_eq!(c.name, "envvars");
    assert_eq!(c.source, CloudSource::Environment);
    assert_eq!(c.auth_url, "https://keystone.example:5000/v3");
    assert_eq!(c.region.as_deref(), Some("RegionTwo"));
    assert_eq!(c.interface, "internal");
    assert_eq!(
        c.auth,
        Auth::Password {
            username: Some("member".into()),
            user_id: None,
            password: Secret::new("s3cret-pw"),
            user_domain: Domain::Name("Default".into()),
            project: ProjectScope::Name {
                name: "demo".into(),
                domain: Domain::Id("default".into())
            },
        }
    );
    let shown = format!("{c:?} {e:?}");
    assert!(!shown.contains("s3cret-pw"), "{shown}");
    assert!(shown.contains("OS_PASSWORD"), "{shown}");
}

#[test]
fn openrc_legacy_spellings_domain_and_endpoint_type() {
    let e = env(&[
        ("OS_AUTH_URL", "http://k/identity"),
        ("OS_USER_ID", "uid"),
        ("OS_PASSWORD", "pw"),
        ("OS_TENANT_ID", "tid"),
        ("OS_ENDPOINT_TYPE", "internalURL"),
        ("OS_DOMAIN_NAME", "Dom"),
    ]);
    let c = load_with("envvars", None, &e).unwrap();
    assert_eq!(c.interface, "internal");
    assert_eq!(c.region, None);
    match c.auth {
        Auth::Password {
            user_id,
            project,
            user_domain,
            ..
        } => {
            assert_eq!(user_id.as_deref(), Some("uid"));
            assert_eq!(project, ProjectScope::Id("tid".into()));
            assert_eq!(user_domain, Domain::Name("Dom".into()));
        }
        other => panic!("{other:?}"),
    }
    // OS_PROJECT_ID wins over OS_TENANT_ID, OS_INTERFACE over OS_ENDPOINT_TYPE
    let e = env(&[
        ("OS_AUTH_URL", "http://k"),
        ("OS_USERNAME", "u"),
        ("OS_PASSWORD", "pw"),
        ("OS_TENANT_ID", "old"),
        ("OS_PROJECT_ID", "new"),
        ("OS_ENDPOINT_TYPE", "admin"),
        ("OS_INTERFACE", "public"),
    ]);
    let c = load_with("envvars", None, &e).unwrap();
    assert_eq!(c.interface, "public");
    assert!(
        matches!(c.auth, Auth::Password { project: ProjectScope::Id(ref p), .. } if p == "new")
    );
}

#[test]
fn openrc_application_credential_and_token() {
    let e = env(&[
        ("OS_AUTH_TYPE", "v3applicationcredential"),
        ("OS_AUTH_URL", "http://k"),
        ("OS_APPLICATION_CREDENTIAL_ID", "ac1"),
        ("OS_APPLICATION_CREDENTIAL_SECRET", "acs"),
    ]);
    let c = load_with("envvars", None, &e).unwrap();
    assert!(
        matches!(c.auth, Auth::ApplicationCredential { ref id, .. } if id.as_deref() == Some("ac1"))
    );
    // a token and no password: v3token (as openstackclient chooses), scoped to the project
    let e = env(&[
        ("OS_AUTH_URL", "http://k"),
        ("OS_TOKEN", "tok"),
        ("OS_PROJECT_ID", "p1"),
    ]);
    let c = load_with("envvars", None, &e).unwrap();
    assert_eq!(
        c.auth,
        Auth::Token {
            token: Secret::new("tok"),
            project: ProjectScope::Id("p1".into())
        }
    );
    // the older OS_AUTH_TOKEN, with OS_AUTH_TYPE v3token and a password that is not used
    let e = env(&[
        ("OS_AUTH_URL", "http://k"),
        ("OS_AUTH_TYPE", "v3token"),
        ("OS_AUTH_TOKEN", "tok2"),
        ("OS_PASSWORD", "unused"),
        ("OS_PROJECT_NAME", "demo"),
    ]);
    let c = load_with("envvars", None, &e).unwrap();
    assert!(matches!(c.auth, Auth::Token { ref token, .. } if token.expose() == "tok2"));
}

/// When the `OS_*` cloud exists and which cloud is the default (openstacksdk's rules).
#[test]
fn which_cloud() {
    // selectors alone make no cloud; OS_TEST*, OS_STD*, OS_LOG* are not counted
    let e = env(&[
        ("OS_CLOUD", "mine"),
        ("OS_REGION_NAME", "R"),
        ("OS_CLIENT_CONFIG_FILE", "/x"),
        ("OS_TEST_TIMEOUT", "60"),
        ("OS_STDOUT_CAPTURE", "1"),
        ("OS_LOG_CAPTURE", "1"),
    ]);
    assert!(envvars::cloud(&e).is_none());
    assert_eq!(default_cloud_name(&e).as_deref(), Some("mine"));
    assert_eq!(default_cloud_name(&env(&[("OS_REGION_NAME", "R")])), None);
    assert_eq!(default_cloud_name(&env(&[])), None);
    // OS_CLOUD wins over the environment's cloud; OS_CLOUD_NAME renames that cloud
    let mut pairs = OPENRC.to_vec();
    pairs.push(("OS_CLOUD", "mine"));
    assert_eq!(default_cloud_name(&env(&pairs)).as_deref(), Some("mine"));
    pairs.pop();
    pairs.push(("OS_CLOUD_NAME", "from-env"));
    assert_eq!(
        default_cloud_name(&env(&pairs)).as_deref(),
        Some("from-env")
    );
    assert!(load_with("from-env", None, &env(&pairs)).is_ok());
    // an empty variable counts as unset
    assert_eq!(default_cloud_name(&env(&[("OS_CLOUD", "")])), None);
}

#[test]
fn envvars_asked_for_but_not_there() {
    let e = env_in(Path::new("/nonexistent"), &[("OS_REGION_NAME", "R")]);
    assert_eq!(
        err_of(load_with("envvars", None, &e)),
        "cloud \"envvars\" means the OS_* environment variables, but none is set (OS_CLOUD, \
         OS_CLOUD_NAME, OS_REGION_NAME, OS_CLIENT_CONFIG_FILE and OS_CLIENT_SECURE_FILE alone do \
         not make a cloud); source the cloud's openrc file, or name a cloud of clouds.yaml"
    );
}

/// One line per wrong combination of variables, naming the variable and the fix.
#[test]
fn openrc_mistakes_name_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[
                ("OS_USERNAME", "u"),
                ("OS_PASSWORD", "pw"),
                ("OS_PROJECT_NAME", "p"),
            ],
            "OS_AUTH_URL: not set, but OS_PASSWORD is; export OS_AUTH_URL=<the Keystone URL> \
             (source the cloud's openrc file)",
        ),
        (
            &[
                ("OS_AUTH_URL", "http://k"),
                ("OS_USERNAME", "u"),
                ("OS_PROJECT_NAME", "p"),
            ],
            "OS_PASSWORD: not set; export OS_PASSWORD (source the cloud's openrc file)",
        ),
        (
            &[
                ("OS_AUTH_URL", "http://k"),
                ("OS_PASSWORD", "pw"),
                ("OS_PROJECT_NAME", "p"),
            ],
            "OS_USERNAME: not set; export OS_USERNAME (or OS_USER_ID)",
        ),
        (
            &[
                ("OS_AUTH_URL", "http://k"),
                ("OS_USERNAME", "u"),
                ("OS_PASSWORD", "pw"),
            ],
            "OS_PROJECT_NAME: not set; the checks need a project-scoped token: export \
             OS_PROJECT_NAME or OS_PROJECT_ID",
        ),
        (
            &[
                ("OS_AUTH_URL", "http://k"),
                ("OS_USERNAME", "u"),
                ("OS_PASSWORD", "pw"),
                ("OS_DOMAIN_NAME", "d"),
            ],
            "OS_PROJECT_NAME: not set; the checks need a project-scoped token: export \
             OS_PROJECT_NAME or OS_PROJECT_ID (OS_DOMAIN_NAME scopes to a domain, which is not \
             enough)",
        ),
        (
            &[
                ("OS_AUTH_URL", "http://k"),
                ("OS_AUTH_TYPE", "v3token"),
                ("OS_PROJECT_ID", "p"),
            ],
            "OS_TOKEN: not set, but the auth type is v3token; export OS_TOKEN (e.g. from \
             `openstack token issue -f value -c id`), or use another auth type",
        ),
        (
            &[("OS_AUTH_URL", "http://k"), ("OS_TOKEN", "tok")],
            "OS_PROJECT_NAME: not set; the checks need a project-scoped token: export \
             OS_PROJECT_NAME or OS_PROJECT_ID",
        ),
        (
            &[
                ("OS_AUTH_URL", "http://k"),
                ("OS_AUTH_TYPE", "password"),
                ("OS_APPLICATION_CREDENTIAL_ID", "i"),
                ("OS_APPLICATION_CREDENTIAL_SECRET", "s"),
            ],
            "OS_PASSWORD: not set, but OS_APPLICATION_CREDENTIAL_SECRET is; OS_AUTH_TYPE names \
             the auth type \"password\": set it to v3applicationcredential, or give the password",
        ),
        (
            &[
                ("OS_AUTH_URL", "http://k"),
                ("OS_APPLICATION_CREDENTIAL_SECRET", "s"),
            ],
            "OS_APPLICATION_CREDENTIAL_ID: not set; export OS_APPLICATION_CREDENTIAL_ID (or \
             OS_APPLICATION_CREDENTIAL_NAME plus OS_USERNAME)",
        ),
        (
            &[
                ("OS_AUTH_URL", "http://k"),
                ("OS_AUTH_TYPE", "v3oidcpassword"),
            ],
            "OS_AUTH_TYPE: \"v3oidcpassword\" is not supported; use password, \
             v3applicationcredential or v3token",
        ),
        (
            &[
                ("OS_AUTH_URL", "http://k"),
                ("OS_TOKEN", "t"),
                ("OS_PROJECT_ID", "p"),
                ("OS_INSECURE", "1"),
            ],
            "OS_INSECURE: \"1\" is not true or false; set it to one of them",
        ),
        (
            &[
                ("OS_AUTH_URL", "http://k"),
                ("OS_TOKEN", "t"),
                ("OS_PROJECT_ID", "p"),
                ("OS_INTERFACE", "private"),
            ],
            "OS_INTERFACE: \"private\" is not an interface; use public, internal or admin",
        ),
        (
            &[
                ("OS_AUTH_URL", "http://k"),
                ("OS_TOKEN", "t"),
                ("OS_PROJECT_ID", "p"),
                ("OS_KEY", "k.pem"),
            ],
            "OS_KEY: is set, but OS_CERT is not; export OS_CERT to the client certificate, or \
             remove OS_KEY",
        ),
    ];
    for (pairs, want) in cases {
        let e = env(pairs);
        let got = err_of(load_with("envvars", None, &e));
        assert_eq!(
            got,
            format!("{want} (cloud \"envvars\", made of the OS_* environment variables)"),
            "{pairs:?}"
        );
        assert!(!got.contains('\n'), "{got}");
    }
}

#[test]
fn clouds_yaml_mistakes_name_the_field() {
    let cases = [
        (
            "    auth_type: v3token\n    auth:\n      auth_url: http://k\n      project_id: p\n",
            "clouds.c.auth.token: missing, but the auth type is v3token; set auth.token (e.g. from \
             `openstack token issue -f value -c id`), or use another auth type",
        ),
        (
            "    auth:\n      auth_url: http://k\n      token: t\n      project_id: p\n    key: k.pem\n",
            "clouds.c.key: is set, but cert is not; set cert to the client certificate, or remove key",
        ),
        (
            "    auth:\n      auth_url: http://k\n      token: t\n      project_id: p\n    insecure: perhaps\n",
            "clouds.c.insecure: must be true or false",
        ),
        (
            "    auth: [1]\n",
            "clouds.c.auth: is not a mapping; add an `auth:` map with auth_url and credentials",
        ),
        (
            "    auth:\n      username: u\n",
            "clouds.c.auth.auth_url: missing; set it to the Keystone URL",
        ),
    ];
    for (entry, want) in cases {
        let d = doc(&format!("clouds:\n  c:\n{entry}"));
        assert_eq!(
            err_of(from_value(&d, "c", Path::new("c.yaml"))),
            format!("c.yaml: {want}")
        );
    }
    // token auth from clouds.yaml
    let d = doc(
        "clouds:\n  c:\n    auth_type: token\n    auth:\n      auth_url: http://k\n      token: t\n      project_name: p\n",
    );
    assert!(matches!(
        from_value(&d, "c", Path::new("c.yaml")).unwrap().auth,
        Auth::Token { .. }
    ));
}

/// Files: the environment's name is reserved, an explicit clouds.yaml must exist, and a
/// missing clouds.yaml points at the `OS_*` cloud when there is one.
#[test]
fn files_and_the_environment_cloud() {
    let dir = tempfile::tempdir().unwrap();
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(
        &clouds,
        "clouds:\n  envvars:\n    auth:\n      auth_url: http://k\n",
    )
    .unwrap();
    let e = env_in(dir.path(), &[]);
    let got = err_of(load_with("other", Some(&clouds), &e));
    assert!(
        got.ends_with(
            "clouds.yaml: defines a cloud named \"envvars\", the name of the cloud made of the OS_* \
             environment variables; rename that cloud, or set OS_CLOUD_NAME to another name"
        ),
        "{got}"
    );
    // explicit file missing, even for the environment's cloud
    let missing = dir.path().join("nope.yaml");
    let e = env_in(dir.path(), OPENRC);
    let got = err_of(load_with("envvars", Some(&missing), &e));
    assert!(got.starts_with("no clouds.yaml found (looked at "), "{got}");
    // no clouds.yaml at all, but OS_* variables: the hint names the environment's cloud
    let e = env_in(dir.path(), OPENRC);
    let got = err_of(load_with("mycloud", None, &e));
    assert!(
        got.contains("/.config/openstack/clouds.yaml")
            && got.contains("(each also as .yml and .json)")
            && got.ends_with(
                "the OS_* environment variables make the cloud \"envvars\" (--os-cloud envvars)"
            ),
        "{got}"
    );
    // a clouds.yaml cloud is not changed by OS_* variables, and its NoSuchCloud lists envvars
    std::fs::write(
        &clouds,
        "clouds:\n  mine:\n    auth:\n      auth_url: http://file\n      username: u\n      password: p\n      project_id: x\n",
    )
    .unwrap();
    let c = load_with("mine", Some(&clouds), &e).unwrap();
    assert_eq!(c.auth_url, "http://file/v3");
    assert_eq!(c.region, None);
    assert_eq!(c.interface, "public");
    let got = err_of(load_with("zzz", Some(&clouds), &e));
    assert!(
        got.contains("known: \"mine\", \"envvars\" (the OS_* environment variables)"),
        "{got}"
    );
}

/// clouds.yml in `~/.config/openstack` and secure.yaml from OS_CLIENT_SECURE_FILE.
#[test]
fn search_order_and_secure_file() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join(".config/openstack");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::write(
        conf.join("clouds.yml"),
        "clouds:\n  c:\n    auth:\n      auth_url: http://k\n      username: u\n      project_id: x\n",
    )
    .unwrap();
    let secure = dir.path().join("s.yaml");
    std::fs::write(
        &secure,
        "clouds:\n  c:\n    auth:\n      password: from-secure\n",
    )
    .unwrap();
    let e = env_in(
        dir.path(),
        &[("OS_CLIENT_SECURE_FILE", secure.to_str().unwrap())],
    );
    let c = load_with("c", None, &e).unwrap();
    assert!(
        matches!(c.auth, Auth::Password { ref password, .. } if password.expose() == "from-secure")
    );
    assert_eq!(c.source, CloudSource::File(conf.join("clouds.yml")));
}

/// `profile:` from clouds-public.yaml, with the cloud entry laid over it.
#[test]
fn profiles_from_clouds_public_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(
        &clouds,
        "clouds:\n  c:\n    profile: vendor\n    auth:\n      username: u\n      password: p\n      project_name: demo\n    region_name: R2\n  d:\n    cloud: unknown\n    auth: {auth_url: http://k, username: u, password: p, project_id: x}\n",
    )
    .unwrap();
    let xdg = dir.path().join("xdg-home");
    std::fs::create_dir_all(xdg.join("openstack")).unwrap();
    std::fs::write(
        xdg.join("openstack/clouds-public.yaml"),
        "public-clouds:\n  vendor:\n    auth:\n      auth_url: https://vendor.example:5000\n      user_domain_name: VendorDomain\n    region_name: R1\n    interface: internal\n    identity_api_version: 3\n",
    )
    .unwrap();
    let e = env_in(dir.path(), &[("XDG_CONFIG_HOME", xdg.to_str().unwrap())]);
    let c = load_with("c", Some(&clouds), &e).unwrap();
    assert_eq!(c.auth_url, "https://vendor.example:5000/v3");
    assert_eq!(c.region.as_deref(), Some("R2"), "the entry wins");
    assert_eq!(c.interface, "internal", "the profile fills in");
    assert!(
        matches!(c.auth, Auth::Password { ref user_domain, .. } if *user_domain == Domain::Name("VendorDomain".into()))
    );
    let got = err_of(load_with("d", Some(&clouds), &e));
    assert!(
        got.ends_with(
            "clouds.yaml: clouds.d.cloud: profile \"unknown\" is not under public-clouds in \
             {}/openstack/clouds-public.yaml; add it there (scs-cert has none of openstacksdk's \
             built-in vendor profiles), or remove cloud"
                .replace("{}", xdg.to_str().unwrap())
                .as_str()
        ),
        "{got}"
    );
    // no clouds-public.yaml at all
    let e = env_in(dir.path(), &[]);
    let got = err_of(load_with("c", Some(&clouds), &e));
    assert!(
        got.contains("clouds.c.profile: profile \"vendor\" needs a clouds-public.yaml, but there is none (looked at "),
        "{got}"
    );
}

/// A fresh client certificate (`client.pem`, EC P-256, self-signed) and its key (`client.key`,
/// PKCS#8) in `dir`, made now with the real `openssl`.
fn write_pki(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::write(dir.join("openssl.cnf"), CLIENT_CONFIG).unwrap();
    openssl(
        dir,
        "req -x509 -config openssl.cnf -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
         -keyout client.key -out client.pem -days 2",
    );
    (dir.join("client.pem"), dir.join("client.key"))
}

const TOKEN_RC: [(&str, &str); 3] = [
    ("OS_AUTH_URL", "http://k"),
    ("OS_TOKEN", "t"),
    ("OS_PROJECT_ID", "p"),
];

/// `cert`/`key` and `OS_CERT`/`OS_KEY`: the identity is built, and every bad file is refused
/// in one line naming the setting.
#[test]
fn client_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = write_pki(dir.path());
    let combined = dir.path().join("both.pem");
    let pem = |p: &Path| std::fs::read_to_string(p).unwrap();
    std::fs::write(&combined, format!("{}{}", pem(&cert), pem(&key))).unwrap();
    let with = |extra: &[(&str, &str)]| {
        let mut pairs: Vec<(&str, &str)> = TOKEN_RC.to_vec();
        pairs.extend_from_slice(extra);
        load_with("envvars", None, &env(&pairs))
    };
    let c = with(&[
        ("OS_CERT", cert.to_str().unwrap()),
        ("OS_KEY", key.to_str().unwrap()),
    ])
    .unwrap();
    let cc = c.tls.client_cert.as_ref().unwrap();
    assert_eq!(cc.cert, cert);
    assert_eq!(cc.key.as_deref(), Some(key.as_path()));
    assert!(cc.identity().is_ok());
    // the key in the certificate file
    assert!(with(&[("OS_CERT", combined.to_str().unwrap())]).is_ok());
    // no key anywhere
    let got = err_of(with(&[("OS_CERT", cert.to_str().unwrap())]));
    assert_eq!(
        got,
        format!(
            "OS_CERT: {}: holds no private key, and OS_KEY is not set; set OS_KEY to the key file",
            cert.display()
        )
    );
    // unreadable
    let got = err_of(with(&[("OS_CERT", "/nonexistent/c.pem")]));
    assert!(
        got.starts_with("OS_CERT: cannot read: /nonexistent/c.pem: "),
        "{got}"
    );
    assert!(got.ends_with("; fix the path"), "{got}");
    // a key file as the certificate
    let got = err_of(with(&[("OS_CERT", key.to_str().unwrap())]));
    assert!(got.contains("holds no PEM certificate"), "{got}");
    // encrypted key (the same key, passphrase `x`)
    let enc = dir.path().join("enc.key");
    openssl(
        dir.path(),
        "pkey -in client.key -aes256 -passout pass:x -out enc.key",
    );
    assert!(pem(&enc).starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let got = err_of(with(&[
        ("OS_CERT", cert.to_str().unwrap()),
        ("OS_KEY", enc.to_str().unwrap()),
    ]));
    assert!(
        got.starts_with("OS_KEY: ") && got.contains("is encrypted"),
        "{got}"
    );
    // a key that is no key
    let bad = dir.path().join("bad.key");
    std::fs::write(
        &bad,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let got = err_of(with(&[
        ("OS_CERT", cert.to_str().unwrap()),
        ("OS_KEY", bad.to_str().unwrap()),
    ]));
    assert!(got.starts_with("OS_CERT: ") && !got.contains('\n'), "{got}");
    // clouds.yaml: relative to the file, the setting named by file and field
    let clouds = dir.path().join("clouds.yaml");
    std::fs::write(
        &clouds,
        "clouds:\n  c:\n    auth: {auth_url: http://k, token: t, project_id: p}\n    cert: client.pem\n",
    )
    .unwrap();
    let got = err_of(load_with("c", Some(&clouds), &env_in(dir.path(), &[])));
    assert_eq!(
        got,
        format!(
            "{}: clouds.c.cert: {}: holds no private key, and key is not set; set key to the key file",
            clouds.display(),
            cert.display()
        )
    );
    std::fs::write(
        &clouds,
        "clouds:\n  c:\n    auth: {auth_url: http://k, token: t, project_id: p}\n    cert: client.pem\n    key: ~/client.key\n",
    )
    .unwrap();
    let c = load_with("c", Some(&clouds), &env_in(dir.path(), &[])).unwrap();
    assert_eq!(c.tls.client_cert.unwrap().key, Some(key));
}

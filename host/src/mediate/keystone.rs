//! Keystone v3 authentication: tokens from a password, an application credential, or an
//! existing token (`v3token`, rescoped to the project).
//!
//! Owns: building the `POST /v3/auth/tokens` body from a [`CloudConfig`],
//! reading `X-Subject-Token`, and parsing the token body into the identity
//! (user, project, roles) and the service catalog.
//!
//! Must never: log the request body, the token, or the secret; follow a
//! redirect with credentials.

use super::clouds::{Auth, CloudConfig, Domain, ProjectScope, Secret};
use serde_json::{Value, json};

/// Authentication errors.
#[derive(Debug, thiserror::Error)]
pub enum KeystoneError {
    /// Could not reach Keystone.
    #[error("cannot reach Keystone at {url}: {message}")]
    Transport {
        /// Token URL.
        url: String,
        /// Cause.
        message: String,
    },
    /// Keystone refused.
    #[error("Keystone at {url} refused the credentials of cloud {cloud:?} (HTTP {status}): {body}")]
    Refused {
        /// Token URL.
        url: String,
        /// Cloud name.
        cloud: String,
        /// Status.
        status: u16,
        /// Start of the body.
        body: String,
    },
    /// No complete answer within the time bound (a stalled or trickling server).
    #[error(
        "Keystone at {url} did not answer within {secs} s; check the auth_url and the network, or raise --request-timeout"
    )]
    Timeout {
        /// Token URL.
        url: String,
        /// The bound.
        secs: u64,
    },
    /// The answer is larger than any token response.
    #[error(
        "Keystone at {url} sent more than {limit} bytes; refusing to read a token response that large"
    )]
    TooLarge {
        /// Token URL.
        url: String,
        /// The bound.
        limit: u64,
    },
    /// The answer is not what Keystone v3 sends.
    #[error("malformed token response from {url}: {problem}")]
    Malformed {
        /// Token URL.
        url: String,
        /// What is wrong.
        problem: String,
    },
}

/// One endpoint from the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `public`, `internal`, `admin`.
    pub interface: String,
    /// Region id (empty if none).
    pub region: String,
    /// URL.
    pub url: String,
}

/// One catalog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Service type.
    pub service_type: String,
    /// Service name.
    pub name: String,
    /// Endpoints.
    pub endpoints: Vec<Endpoint>,
}

/// What the token says about us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// User name (or id).
    pub user: String,
    /// User id.
    pub user_id: String,
    /// Project name.
    pub project: String,
    /// Project id.
    pub project_id: String,
    /// Role names.
    pub roles: Vec<String>,
    /// Catalog.
    pub catalog: Vec<Service>,
    /// `expires_at` as given.
    pub expires_at: String,
}

fn domain_json(d: &Domain) -> Value {
    match d {
        Domain::Name(n) => json!({ "name": n }),
        Domain::Id(i) => json!({ "id": i }),
    }
}

/// The request body for `POST /auth/tokens`.
pub(crate) fn auth_body(auth: &Auth) -> Value {
    match auth {
        Auth::Password {
            username,
            user_id,
            password,
            user_domain,
            project,
        } => {
            let user = match (user_id, username) {
                (Some(id), _) => json!({ "id": id, "password": password.expose() }),
                (None, Some(name)) => json!({
                    "name": name,
                    "domain": domain_json(user_domain),
                    "password": password.expose()
                }),
                (None, None) => json!({ "password": password.expose() }),
            };
            json!({ "auth": {
                "identity": { "methods": ["password"], "password": { "user": user } },
                "scope": project_scope_json(project)
            }})
        }
        Auth::ApplicationCredential {
            id,
            name,
            username,
            user_domain,
            secret,
        } => {
            let cred = match (id, name, username) {
                (Some(id), _, _) => json!({ "id": id, "secret": secret.expose() }),
                (None, Some(n), Some(u)) => json!({
                    "name": n,
                    "secret": secret.expose(),
                    "user": { "name": u, "domain": domain_json(user_domain) }
                }),
                _ => json!({ "secret": secret.expose() }),
            };
            json!({ "auth": { "identity": {
                "methods": ["application_credential"],
                "application_credential": cred
            }}})
        }
        Auth::Token { token, project } => json!({ "auth": {
            "identity": { "methods": ["token"], "token": { "id": token.expose() } },
            "scope": project_scope_json(project)
        }}),
    }
}

/// `{"project": {"id": …}}` or `{"project": {"name": …, "domain": …}}`.
fn project_scope_json(project: &ProjectScope) -> Value {
    match project {
        ProjectScope::Id(id) => json!({ "project": { "id": id } }),
        ProjectScope::Name { name, domain } => {
            json!({ "project": { "name": name, "domain": domain_json(domain) } })
        }
    }
}

fn s(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_string)
}

/// Parse a token body (`{"token": {...}}`).
pub(crate) fn parse_token(body: &Value) -> Result<TokenInfo, String> {
    let token = body.get("token").ok_or("no `token` object")?;
    let user = token.get("user").ok_or("no `token.user`")?;
    let project = token.get("project").ok_or(
        "no `token.project`: the token is not project-scoped; set project_name or project_id",
    )?;
    let roles = token
        .get("roles")
        .and_then(Value::as_array)
        .ok_or("no `token.roles` list")?
        .iter()
        .enumerate()
        .map(|(i, r)| s(r, "name").ok_or(format!("token.roles[{i}].name missing")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut catalog = Vec::new();
    if let Some(entries) = token.get("catalog").and_then(Value::as_array) {
        for (i, e) in entries.iter().enumerate() {
            let service_type = s(e, "type").ok_or(format!("token.catalog[{i}].type missing"))?;
            let mut endpoints = Vec::new();
            if let Some(eps) = e.get("endpoints").and_then(Value::as_array) {
                for (j, ep) in eps.iter().enumerate() {
                    endpoints.push(Endpoint {
                        interface: s(ep, "interface").ok_or(format!(
                            "token.catalog[{i}].endpoints[{j}].interface missing"
                        ))?,
                        region: s(ep, "region_id")
                            .or_else(|| s(ep, "region"))
                            .unwrap_or_default(),
                        url: s(ep, "url")
                            .ok_or(format!("token.catalog[{i}].endpoints[{j}].url missing"))?,
                    });
                }
            }
            catalog.push(Service {
                service_type,
                name: s(e, "name").unwrap_or_default(),
                endpoints,
            });
        }
    }
    let user_id = s(user, "id").unwrap_or_default();
    Ok(TokenInfo {
        user: s(user, "name").unwrap_or_else(|| user_id.clone()),
        user_id,
        project: s(project, "name").unwrap_or_default(),
        project_id: s(project, "id").ok_or("no `token.project.id`")?,
        roles,
        catalog,
        expires_at: s(token, "expires_at").unwrap_or_default(),
    })
}

/// Why a catalog endpoint URL is not used (Hardening, hole 4). The catalog comes from the
/// cloud, so a hostile one could point the token and the checks' requests anywhere; each
/// variant names the rule that refused the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnsafeEndpoint {
    /// Not parseable as a URL.
    #[error("it is not a URL ({0})")]
    NotAUrl(String),
    /// A scheme other than http or https.
    #[error("scheme {0:?} is not allowed (only http and https)")]
    Scheme(String),
    /// `user:password@` in the URL.
    #[error("user info in the URL is not allowed")]
    UserInfo,
    /// A query string.
    #[error("a query in the URL is not allowed")]
    Query,
    /// A fragment.
    #[error("a fragment in the URL is not allowed")]
    Fragment,
    /// A link-local or unspecified address (cloud metadata lives there).
    #[error(
        "host {0} is a link-local or unspecified address (cloud metadata); allowed only with \
         scs_cert_allow_link_local: true for the cloud in clouds.yaml"
    )]
    LinkLocal(String),
}

/// Whether `ip` is link-local or unspecified: 169.254.0.0/16, 0.0.0.0, fe80::/10, ::, and
/// IPv4-mapped IPv6 forms of the IPv4 ones. Loopback is not.
fn link_local_or_unspecified(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(a) => a.is_link_local() || a.is_unspecified(),
        std::net::IpAddr::V6(a) => {
            a.is_unspecified()
                || (a.segments()[0] & 0xffc0) == 0xfe80
                || a.to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_link_local() || v4.is_unspecified())
        }
    }
}

/// Check a catalog endpoint URL before anything is sent to it: http or https, no user info,
/// no query, no fragment, and (unless `allow_link_local`) a host that is not a link-local or
/// unspecified IP address. Host names are not resolved here.
pub fn check_endpoint_url(url: &str, allow_link_local: bool) -> Result<(), UnsafeEndpoint> {
    let u = reqwest::Url::parse(url).map_err(|e| UnsafeEndpoint::NotAUrl(e.to_string()))?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err(UnsafeEndpoint::Scheme(crate::errtext::bounded_text(
            u.scheme(),
            20,
        )));
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(UnsafeEndpoint::UserInfo);
    }
    if u.query().is_some() {
        return Err(UnsafeEndpoint::Query);
    }
    if u.fragment().is_some() {
        return Err(UnsafeEndpoint::Fragment);
    }
    // the URL parser has normalised IP hosts (decimal, octal, hex IPv4 forms included)
    let ip = u
        .host_str()
        .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
        .and_then(|h| h.parse::<std::net::IpAddr>().ok());
    if !allow_link_local && let Some(ip) = ip.filter(|ip| link_local_or_unspecified(*ip)) {
        return Err(UnsafeEndpoint::LinkLocal(ip.to_string()));
    }
    Ok(())
}

/// A catalog URL as messages may show it: without user info, query or fragment, at most
/// 200 characters, no control characters.
pub fn shown_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.set_fragment(None);
            crate::errtext::bounded_text(u.as_str(), 200)
        }
        Err(_) => format!("(an unparseable URL of {} bytes)", url.len()),
    }
}

/// Largest token response read (a catalog of a few hundred endpoints is far below it).
pub const MAX_TOKEN_RESPONSE_BYTES: u64 = 16 << 20;

/// Authenticate; returns the token and what it says. The whole exchange, connect to last
/// body byte, is bounded by `timeout`, and the body by [`MAX_TOKEN_RESPONSE_BYTES`] (a
/// bound of its own: the response cap for API calls may be set lower than a catalog), so a
/// stalled, trickling or flooding server cannot hang a run or exhaust memory.
pub async fn authenticate(
    client: &reqwest::Client,
    cloud: &CloudConfig,
    timeout: std::time::Duration,
) -> Result<(Secret, TokenInfo), KeystoneError> {
    let url = format!("{}/auth/tokens", cloud.auth_url);
    let limit = MAX_TOKEN_RESPONSE_BYTES;
    let exchange = token_exchange(client, cloud, &url, limit);
    let (status, token, bytes) = match tokio::time::timeout(timeout, exchange).await {
        Ok(r) => r?,
        Err(_) => {
            return Err(KeystoneError::Timeout {
                url,
                secs: timeout.as_secs(),
            });
        }
    };
    if !(200..300).contains(&status) {
        return Err(KeystoneError::Refused {
            body: refusal_text(&bytes, &cloud.auth),
            url,
            cloud: cloud.name.clone(),
            status,
        });
    }
    let token = token.ok_or_else(|| KeystoneError::Malformed {
        url: url.clone(),
        problem: "no X-Subject-Token header".to_string(),
    })?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|e| KeystoneError::Malformed {
        url: url.clone(),
        problem: format!("body is not JSON: {e}"),
    })?;
    let info = parse_token(&body).map_err(|problem| KeystoneError::Malformed { url, problem })?;
    Ok((token, info))
}

/// POST the credentials; the status, the token header and at most `limit` body bytes.
async fn token_exchange(
    client: &reqwest::Client,
    cloud: &CloudConfig,
    url: &str,
    limit: u64,
) -> Result<(u16, Option<Secret>, Vec<u8>), KeystoneError> {
    let transport = |e: reqwest::Error| KeystoneError::Transport {
        url: url.to_string(),
        message: crate::errtext::error_chain(&e),
    };
    let mut resp = client
        .post(url)
        .json(&auth_body(&cloud.auth))
        .send()
        .await
        .map_err(transport)?;
    let status = resp.status().as_u16();
    let token = resp
        .headers()
        .get("x-subject-token")
        .and_then(|v| v.to_str().ok())
        .map(Secret::new);
    let too_large = || KeystoneError::TooLarge {
        url: url.to_string(),
        limit,
    };
    let bytes = crate::http_body::read_capped(&mut resp, limit)
        .await
        .map_err(|e| match e {
            crate::http_body::BodyError::TooLarge(_) => too_large(),
            crate::http_body::BodyError::Transport(e) => transport(e),
        })?;
    Ok((status, token, bytes))
}

/// What of a refusal reaches the error (and so the report): Keystone's own `error.title` and
/// `error.message` when the body is its JSON error, with the credential's secret masked in
/// case the server echoes the request; never the raw body of something else.
fn refusal_text(bytes: &[u8], auth: &Auth) -> String {
    let secret = auth.secret().expose();
    let mask = |t: &str| {
        // the secret is masked before the cut, so no prefix of it survives the cut
        let t: String = t.chars().filter(|c| !c.is_control()).collect();
        let t = if secret.is_empty() {
            t
        } else {
            t.replace(secret, "***")
        };
        crate::errtext::bounded_text(&t, 200)
    };
    let json: Option<Value> = serde_json::from_slice(bytes).ok();
    let error = json.as_ref().and_then(|v| v.get("error"));
    match (
        error.and_then(|e| s(e, "title")),
        error.and_then(|e| s(e, "message")),
    ) {
        (Some(t), Some(m)) => mask(&format!("{t}: {m}")),
        (None, Some(m)) => mask(&m),
        (Some(t), None) => mask(&t),
        (None, None) => format!(
            "(a body of {} bytes that is not a Keystone error; not shown)",
            bytes.len()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refusal never carries the raw body, nor a secret the server echoed.
    #[test]
    fn refusals_show_keystones_error_without_the_secret() {
        let auth = Auth::Password {
            username: Some("u".into()),
            user_id: None,
            password: Secret::new("s3cret-pw"),
            user_domain: Domain::Name("Default".into()),
            project: ProjectScope::Id("p".into()),
        };
        let echo = br#"{"error": {"code": 401, "title": "Unauthorized", "message": "bad password s3cret-pw for u"}}"#;
        let t = refusal_text(echo, &auth);
        assert_eq!(t, "Unauthorized: bad password *** for u");
        let html = b"<html><body>proxy error, request was {password: s3cret-pw}</body></html>";
        let t = refusal_text(html, &auth);
        assert!(!t.contains("s3cret-pw") && !t.contains("html"), "{t}");
    }

    /// Hardening, hole 4: each rule of the catalog endpoint check, and the allowance.
    #[test]
    fn catalog_endpoint_rules() {
        let ok = |u: &str| check_endpoint_url(u, false);
        for good in [
            "http://127.0.0.1:8774/compute/v2.1",
            "https://nova.example:8774/v2.1/",
            "http://[::1]:9292",
            "http://169.253.1.1/x",
            "http://metadata.google.internal/x",
        ] {
            assert_eq!(ok(good), Ok(()), "{good}");
        }
        assert!(matches!(ok("file:///etc/passwd"), Err(UnsafeEndpoint::Scheme(s)) if s == "file"));
        assert!(matches!(
            ok("gopher://h:70/x"),
            Err(UnsafeEndpoint::Scheme(_))
        ));
        assert!(matches!(ok("ftp://h/x"), Err(UnsafeEndpoint::Scheme(_))));
        assert_eq!(
            ok("http://user:pw@127.0.0.1/x"),
            Err(UnsafeEndpoint::UserInfo)
        );
        assert_eq!(ok("http://user@127.0.0.1/x"), Err(UnsafeEndpoint::UserInfo));
        assert_eq!(ok("http://127.0.0.1/x?y=1"), Err(UnsafeEndpoint::Query));
        assert_eq!(ok("http://127.0.0.1/x?"), Err(UnsafeEndpoint::Query));
        assert_eq!(ok("http://127.0.0.1/x#f"), Err(UnsafeEndpoint::Fragment));
        assert!(matches!(ok("not a url"), Err(UnsafeEndpoint::NotAUrl(_))));
        for bad in [
            "http://169.254.169.254/latest/meta-data",
            "http://169.254.0.1:80/",
            "http://0.0.0.0:8774/",
            "http://[fe80::1]/",
            "http://[febf::1]/",
            "http://[::]/",
            "http://[::ffff:169.254.169.254]/",
            "http://2852039166/", // 169.254.169.254 as one decimal number
            "http://0xa9.0xfe.0xa9.0xfe/",
        ] {
            assert!(
                matches!(ok(bad), Err(UnsafeEndpoint::LinkLocal(_))),
                "{bad}"
            );
            assert_eq!(check_endpoint_url(bad, true), Ok(()), "{bad} allowed");
        }
        // the allowance lifts only the address rule
        assert_eq!(
            check_endpoint_url("http://u:p@169.254.169.254/", true),
            Err(UnsafeEndpoint::UserInfo)
        );
        assert!(ok("http://[fec0::1]/").is_ok());
        let msg = UnsafeEndpoint::LinkLocal("169.254.169.254".into()).to_string();
        assert!(
            msg.contains("scs_cert_allow_link_local") && !msg.contains('\n'),
            "{msg}"
        );
    }

    #[test]
    fn shown_urls_and_bounded_text() {
        assert_eq!(
            shown_url("http://user:pw@127.0.0.1:5/x?token=1#f"),
            "http://127.0.0.1:5/x"
        );
        assert_eq!(shown_url("::::"), "(an unparseable URL of 4 bytes)");
        assert_eq!(crate::errtext::bounded_text("a\nb\u{1b}c", 10), "abc");
        let long = "x".repeat(1000);
        assert_eq!(
            crate::errtext::bounded_text(&long, 200).chars().count(),
            201
        );
        // a secret that straddles the cut is masked before it
        let auth = Auth::Password {
            username: Some("u".into()),
            user_id: None,
            password: Secret::new("s3cret-pw"),
            user_domain: Domain::Name("Default".into()),
            project: ProjectScope::Id("p".into()),
        };
        let body = format!(
            r#"{{"error": {{"message": "{}s3cret-pw"}}}}"#,
            "y".repeat(195)
        );
        let t = refusal_text(body.as_bytes(), &auth);
        assert!(!t.contains("s3cr"), "{t}");
        assert!(t.chars().count() <= 201, "{t}");
    }

    #[test]
    fn bodies() {
        let b = auth_body(&Auth::Password {
            username: Some("u".into()),
            user_id: None,
            password: Secret::new("pw"),
            user_domain: Domain::Name("Default".into()),
            project: ProjectScope::Name {
                name: "p".into(),
                domain: Domain::Id("default".into()),
            },
        });
        assert_eq!(b["auth"]["identity"]["password"]["user"]["name"], "u");
        assert_eq!(b["auth"]["identity"]["password"]["user"]["password"], "pw");
        assert_eq!(b["auth"]["scope"]["project"]["domain"]["id"], "default");
        let b = auth_body(&Auth::ApplicationCredential {
            id: Some("i".into()),
            name: None,
            username: None,
            user_domain: Domain::Name("Default".into()),
            secret: Secret::new("s"),
        });
        assert_eq!(
            b["auth"]["identity"]["methods"][0],
            "application_credential"
        );
        assert_eq!(
            b["auth"]["identity"]["application_credential"]["secret"],
            "s"
        );
        assert!(b["auth"].get("scope").is_none());
        let b = auth_body(&Auth::Token {
            token: Secret::new("tok"),
            project: ProjectScope::Id("p1".into()),
        });
        assert_eq!(b["auth"]["identity"]["methods"], json!(["token"]));
        assert_eq!(b["auth"]["identity"]["token"]["id"], "tok");
        assert_eq!(b["auth"]["scope"]["project"]["id"], "p1");
        let b = auth_body(&Auth::Token {
            token: Secret::new("tok"),
            project: ProjectScope::Name {
                name: "demo".into(),
                domain: Domain::Name("Default".into()),
            },
        });
        assert_eq!(b["auth"]["scope"]["project"]["name"], "demo");
        assert_eq!(b["auth"]["scope"]["project"]["domain"]["name"], "Default");
        assert_eq!(
            refusal_text(
                br#"{"error": {"message": "token gAAAAAtok3n is invalid"}}"#,
                &Auth::Token {
                    token: Secret::new("gAAAAAtok3n"),
                    project: ProjectScope::Id("p".into())
                }
            ),
            "token *** is invalid"
        );
    }

    #[test]
    fn token_parsing() {
        let body = json!({"token": {
            "user": {"id": "u1", "name": "member"},
            "project": {"id": "p1", "name": "demo"},
            "roles": [{"id": "r", "name": "member"}],
            "catalog": [{"type": "compute", "name": "nova", "endpoints": [
                {"interface": "public", "region_id": "R", "url": "http://n/v2.1"}]},
                {"type": "dns", "name": "designate"}],
            "expires_at": "2030-01-01T00:00:00Z"}});
        let t = parse_token(&body).unwrap();
        assert_eq!(t.roles, vec!["member"]);
        assert_eq!(t.catalog.len(), 2);
        assert_eq!(t.catalog[0].endpoints[0].region, "R");
        assert!(t.catalog[1].endpoints.is_empty());
        let e = parse_token(&json!({"token": {"user": {}, "roles": []}})).unwrap_err();
        assert!(e.contains("not project-scoped"), "{e}");
    }
}

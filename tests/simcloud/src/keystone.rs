//! Keystone v3 under `/identity`: version documents, token issue (password,
//! application_credential, token), token validation, the catalog and the project list.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, Utc};
use serde_json::{Map, Value, json};

use crate::fixture::User;
use crate::http::{error_response, json_response, method_not_allowed, param, with_header};
use crate::ids::{hex_id, project_id, role_id, user_id};
use crate::server::{Req, Shared, Token};
use crate::world::substitute_project;

/// Token lifetime (Keystone's default is 24 h).
const TOKEN_LIFETIME_HOURS: i64 = 24;
const DOMAIN_ID: &str = "default";
const DOMAIN_NAME: &str = "Default";

pub(crate) fn handle(shared: &Shared, req: &Req, rest: &str) -> Response {
    let route = rest.trim_end_matches('/');
    match (req.method.as_str(), route) {
        ("GET", "") => json_response(
            StatusCode::MULTIPLE_CHOICES,
            &json!({"versions": {"values": [version_body(shared)]}}),
        ),
        ("GET", "/v3") => json_response(StatusCode::OK, &json!({"version": version_body(shared)})),
        ("POST", "/v3/auth/tokens") => issue_token(shared, req),
        ("GET", "/v3/auth/tokens") => validate_token(shared, req),
        ("GET", "/v3/auth/catalog") => auth_catalog(shared, req),
        ("GET", "/v3/auth/projects") => auth_projects(shared, req),
        (_, "" | "/v3" | "/v3/auth/tokens" | "/v3/auth/catalog" | "/v3/auth/projects") => {
            method_not_allowed(&req.method, &req.path)
        }
        _ => match any_token(shared, req) {
            Some(_) => error_response(
                StatusCode::NOT_FOUND,
                &format!(
                    "The resource could not be found: simcloud does not implement {} {}",
                    req.method, req.path
                ),
            ),
            None => unauthorized(shared, "The request you have made requires authentication."),
        },
    }
}

fn version_body(shared: &Shared) -> Value {
    json!({
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": format!("{}/", shared.auth_url())}],
        "media-types": [{
            "base": "application/json",
            "type": "application/vnd.openstack.identity-v3+json"
        }]
    })
}

fn unauthorized(shared: &Shared, message: &str) -> Response {
    with_header(
        error_response(StatusCode::UNAUTHORIZED, message),
        "www-authenticate",
        &format!("Keystone uri=\"{}\"", shared.auth_url()),
    )
}

fn bad_request(message: &str) -> Response {
    error_response(StatusCode::BAD_REQUEST, message)
}

/// Any valid token (scoped or not) from `X-Auth-Token` (counts as one use of it).
fn any_token(shared: &Shared, req: &Req) -> Option<Token> {
    crate::http::header_str(&req.headers, "x-auth-token").and_then(|id| shared.use_token(id))
}

/// A failed authentication: 400 for malformed requests, 401 for wrong credentials.
enum Denied {
    Bad(String),
    Unauthorized(String),
}

type Auth<T> = Result<T, Denied>;

fn bad<T>(message: impl Into<String>) -> Auth<T> {
    Err(Denied::Bad(message.into()))
}

fn unauth<T>(message: impl Into<String>) -> Auth<T> {
    Err(Denied::Unauthorized(message.into()))
}

fn object<'a>(value: Option<&'a Value>, field: &str) -> Auth<&'a Map<String, Value>> {
    match value.and_then(Value::as_object) {
        Some(o) => Ok(o),
        None => bad(format!(
            "Invalid input for field '{field}': '{field}' is a required property"
        )),
    }
}

fn string<'a>(o: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    o.get(field).and_then(Value::as_str)
}

/// `domain: {id: default}` or `{name: Default}`; anything else is another (empty) domain.
fn check_domain(o: &Map<String, Value>, what: &str) -> Auth<()> {
    let domain = match o.get("domain").and_then(Value::as_object) {
        Some(d) => d,
        None => return bad(format!("Expecting to find domain in {what}.")),
    };
    let ok = match (string(domain, "id"), string(domain, "name")) {
        (Some(id), _) => id == DOMAIN_ID,
        (None, Some(name)) => name == DOMAIN_NAME,
        (None, None) => return bad(format!("Expecting to find domain id or name in {what}.")),
    };
    if ok {
        Ok(())
    } else {
        unauth("The request you have made requires authentication.")
    }
}

/// A user named by `{id}` or `{name, domain}`.
fn find_user<'a>(shared: &'a Shared, o: &Map<String, Value>) -> Auth<Option<&'a User>> {
    if let Some(id) = string(o, "id") {
        return Ok(shared.world.user_by_id(id));
    }
    let Some(name) = string(o, "name") else {
        return bad("Invalid input for field 'user': expecting an id or a name");
    };
    check_domain(o, "user")?;
    Ok(shared.world.user(name))
}

/// Who authenticated, and with what.
struct Authenticated {
    user: User,
    methods: Vec<String>,
    /// Fixed roles (application credential); `None` = the user's roles.
    roles: Option<Vec<String>>,
    app_cred: Option<(String, String, bool)>,
}

fn authenticate(shared: &Shared, auth: &Map<String, Value>) -> Auth<Authenticated> {
    let identity = object(auth.get("identity"), "identity")?;
    let methods: Vec<String> = match identity.get("methods").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        None => return bad("Invalid input for field 'identity/methods': required property"),
    };
    let method = match methods.as_slice() {
        [one] => one.clone(),
        [] => return bad("Invalid input for field 'identity/methods': no method given"),
        _ => return unauth("simcloud supports exactly one authentication method per request."),
    };
    let section = object(identity.get(&method), &method)?;
    let denied = "The request you have made requires authentication.";
    match method.as_str() {
        "password" => {
            let user_obj = object(section.get("user"), "user")?;
            let Some(password) = string(user_obj, "password") else {
                return bad("Invalid input for field 'password/user/password': required property");
            };
            match find_user(shared, user_obj)? {
                Some(user) if user.password == password => Ok(Authenticated {
                    user: user.clone(),
                    methods,
                    roles: None,
                    app_cred: None,
                }),
                _ => unauth(denied),
            }
        }
        "application_credential" => {
            if auth.contains_key("scope") {
                return unauth("Application credentials cannot request a scope.");
            }
            let Some(secret) = string(section, "secret") else {
                return bad("Invalid input for field 'application_credential/secret': required");
            };
            let cred = if let Some(id) = string(section, "id") {
                shared.world.app_creds.iter().find(|c| c.id == id)
            } else if let Some(name) = string(section, "name") {
                let user_obj = object(section.get("user"), "user")?;
                let user = find_user(shared, user_obj)?;
                user.and_then(|u| {
                    shared
                        .world
                        .app_creds
                        .iter()
                        .find(|c| c.user == u.name && c.display_name() == name)
                })
            } else {
                return bad("Invalid input for field 'application_credential': id or name");
            };
            let Some(cred) = cred.filter(|c| c.secret == secret) else {
                return unauth(denied);
            };
            let Some(user) = shared.world.user(&cred.user) else {
                return unauth(denied);
            };
            Ok(Authenticated {
                user: user.clone(),
                methods,
                roles: Some(cred.roles.clone().unwrap_or_else(|| user.roles.clone())),
                app_cred: Some((
                    cred.id.clone(),
                    cred.display_name().to_owned(),
                    !cred.unrestricted,
                )),
            })
        }
        "token" => {
            let Some(id) = string(section, "id") else {
                return bad("Invalid input for field 'token/id': required property");
            };
            let Some(token) = shared.lookup(id) else {
                return unauth(denied);
            };
            if token.app_cred.is_some() {
                return unauth("Application credential tokens cannot be rescoped.");
            }
            let Some(user) = shared.world.user(&token.user) else {
                return unauth(denied);
            };
            Ok(Authenticated {
                user: user.clone(),
                methods,
                roles: None,
                app_cred: None,
            })
        }
        other => unauth(format!(
            "Attempted to authenticate with an unsupported method: {other}"
        )),
    }
}

/// The project the token is scoped to (`None` = unscoped).
fn resolve_scope(auth: &Map<String, Value>, user: &User) -> Auth<Option<String>> {
    let scope = match auth.get("scope") {
        None | Some(Value::Null) => return Ok(Some(user.project.clone())),
        Some(Value::String(s)) if s == "unscoped" => return Ok(None),
        Some(Value::Object(o)) => o,
        Some(_) => return bad("Invalid input for field 'scope'"),
    };
    let no_access = || {
        unauth(format!(
            "User {} has no access to the requested scope.",
            user_id(&user.name)
        ))
    };
    let Some(project) = scope.get("project").and_then(Value::as_object) else {
        if scope.contains_key("domain") || scope.contains_key("system") {
            return no_access();
        }
        return bad("Invalid input for field 'scope': expecting project, domain or system");
    };
    let matches = if let Some(id) = string(project, "id") {
        id == project_id(&user.project)
    } else if let Some(name) = string(project, "name") {
        check_domain(project, "project")?;
        name == user.project
    } else {
        return bad("Invalid input for field 'scope/project': expecting an id or a name");
    };
    if matches {
        Ok(Some(user.project.clone()))
    } else {
        no_access()
    }
}

fn issue_token(shared: &Shared, req: &Req) -> Response {
    let body: Value = match serde_json::from_slice(&req.body) {
        Ok(v) => v,
        Err(e) => return bad_request(&format!("Malformed request body: {e}")),
    };
    let result = object(body.get("auth"), "auth").and_then(|auth| {
        let who = authenticate(shared, auth)?;
        let project = resolve_scope(auth, &who.user)?;
        let roles = match &project {
            None => Vec::new(),
            Some(_) => who.roles.clone().unwrap_or_else(|| who.user.roles.clone()),
        };
        if project.is_some() && roles.is_empty() {
            return unauth(format!(
                "User {} has no access to project {}",
                user_id(&who.user.name),
                project_id(&who.user.project)
            ));
        }
        let now = Utc::now();
        let lifetime = match shared.fixture.faults.token_ttl_secs {
            // Capped at ten years, far below chrono's limits.
            Some(secs) => Duration::seconds(i64::try_from(secs.min(315_360_000)).unwrap_or(1)),
            None => Duration::hours(TOKEN_LIFETIME_HOURS),
        };
        Ok(Token {
            user: who.user.name.clone(),
            project,
            roles,
            methods: who.methods,
            app_cred: who.app_cred,
            issued_at: now,
            expires_at: now + lifetime,
            audit_id: uuid::Uuid::new_v4().simple().to_string()[..22].to_owned(),
            uses: 0,
        })
    });
    match result {
        Ok(token) => {
            let body = token_body(shared, &token, true);
            let id = shared.issue(token);
            let resp = json_response(StatusCode::CREATED, &body);
            with_header(
                with_header(resp, "x-subject-token", &id),
                "vary",
                "X-Auth-Token",
            )
        }
        Err(Denied::Bad(message)) => bad_request(&message),
        Err(Denied::Unauthorized(message)) => unauthorized(shared, &message),
    }
}

fn validate_token(shared: &Shared, req: &Req) -> Response {
    if any_token(shared, req).is_none() {
        return unauthorized(shared, "The request you have made requires authentication.");
    }
    let subject = crate::http::header_str(&req.headers, "x-subject-token").unwrap_or("");
    let Some(token) = shared.lookup(subject) else {
        return error_response(
            StatusCode::NOT_FOUND,
            &format!("Could not find token: {subject}"),
        );
    };
    let with_catalog = param(&req.query, "nocatalog").is_none();
    let resp = json_response(StatusCode::OK, &token_body(shared, &token, with_catalog));
    with_header(resp, "x-subject-token", subject)
}

fn auth_catalog(shared: &Shared, req: &Req) -> Response {
    match any_token(shared, req) {
        None => unauthorized(shared, "The request you have made requires authentication."),
        Some(Token {
            project: Some(project),
            ..
        }) => json_response(
            StatusCode::OK,
            &json!({
                "catalog": catalog(shared, &project_id(&project)),
                "links": {"self": format!("{}/auth/catalog", shared.auth_url())},
            }),
        ),
        Some(_) => error_response(
            StatusCode::FORBIDDEN,
            "A project-scoped token is required to produce a service catalog.",
        ),
    }
}

fn auth_projects(shared: &Shared, req: &Req) -> Response {
    let Some(token) = any_token(shared, req) else {
        return unauthorized(shared, "The request you have made requires authentication.");
    };
    let projects: Vec<Value> = shared
        .world
        .user(&token.user)
        .filter(|u| !u.roles.is_empty())
        .map(|u| {
            let id = project_id(&u.project);
            json!({
                "id": id,
                "name": u.project,
                "domain_id": DOMAIN_ID,
                "description": "",
                "enabled": true,
                "is_domain": false,
                "parent_id": DOMAIN_ID,
                "tags": [],
                "options": {},
                "links": {"self": format!("{}/projects/{id}", shared.auth_url())},
            })
        })
        .into_iter()
        .collect();
    json_response(
        StatusCode::OK,
        &json!({
            "projects": projects,
            "links": {"self": format!("{}/auth/projects", shared.auth_url()), "previous": null, "next": null},
        }),
    )
}

fn domain() -> Value {
    json!({"id": DOMAIN_ID, "name": DOMAIN_NAME})
}

fn keystone_time(t: &chrono::DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// The `{"token": ...}` body Keystone returns on issue and validation.
pub(crate) fn token_body(shared: &Shared, token: &Token, with_catalog: bool) -> Value {
    let mut body = json!({
        "methods": token.methods,
        "user": {
            "id": user_id(&token.user),
            "name": token.user,
            "domain": domain(),
            "password_expires_at": null,
        },
        "audit_ids": [token.audit_id],
        "expires_at": keystone_time(&token.expires_at),
        "issued_at": keystone_time(&token.issued_at),
    });
    if let (Some(project), Some(map)) = (&token.project, body.as_object_mut()) {
        let pid = project_id(project);
        map.insert(
            "project".into(),
            json!({"id": pid, "name": project, "domain": domain()}),
        );
        map.insert("is_domain".into(), Value::Bool(false));
        map.insert(
            "roles".into(),
            Value::Array(
                token
                    .roles
                    .iter()
                    .map(|r| json!({"id": role_id(r), "name": r}))
                    .collect(),
            ),
        );
        if with_catalog {
            map.insert("catalog".into(), catalog(shared, &pid));
        }
    }
    if let (Some((id, name, restricted)), Some(map)) = (&token.app_cred, body.as_object_mut()) {
        map.insert(
            "application_credential".into(),
            json!({"id": id, "name": name, "restricted": restricted}),
        );
    }
    json!({ "token": body })
}

/// The service catalog as seen by a token scoped to `project_id`.
pub(crate) fn catalog(shared: &Shared, project_id: &str) -> Value {
    let services: Vec<Value> = shared
        .world
        .services
        .iter()
        .filter(|s| s.enabled)
        .map(|s| {
            let key = format!("{}:{}", s.service_type, s.name);
            let region = s
                .region
                .clone()
                .unwrap_or_else(|| shared.world.region.clone());
            let url = match (&s.path, &s.url) {
                (Some(path), _) => format!(
                    "{}{}",
                    shared.base_url,
                    substitute_project(
                        &crate::world::catalog_path(path, &s.service_type, &s.shape),
                        project_id
                    )
                ),
                (None, Some(url)) => substitute_project(url, project_id),
                (None, None) => shared.base_url.clone(),
            };
            let endpoints: Vec<Value> = s
                .interfaces
                .iter()
                .map(|interface| {
                    json!({
                        "id": hex_id("endpoint", &format!("{key}:{interface}")),
                        "interface": interface,
                        "region": region,
                        "region_id": region,
                        "url": url,
                    })
                })
                .collect();
            json!({
                "id": hex_id("service", &key),
                "type": s.service_type,
                "name": s.name,
                "endpoints": endpoints,
            })
        })
        .collect();
    Value::Array(services)
}

//! Check component for scs-0116 (key manager).
//!
//! Owns: `scs-0116-presence` (recommended; PASS iff the catalog has a
//! `key-manager` entry) and `scs-0116-permissions` (docs/official-behaviour.md d.8,
//! h.6): with a plain member role, the user must be able to list, create,
//! find and delete a Barbican secret named `scs-member-role-test-secret`
//! (leftovers of that name are deleted first). No key manager at all is a
//! vacuous PASS; HTTP 403 is a FAIL; the official check's other exceptions,
//! including its quirks, are ABORTs.
//!
//! Must never: touch a secret not named `scs-member-role-test-secret`, read
//! a secret's payload, or run the secret test with admin or manager roles.

use scs_check_sdk::bindings::scs::check::openstack::Service;
use scs_check_sdk::key_manager::{self, SERVICE};
use scs_check_sdk::lines::Lines;
use scs_check_sdk::openstack::{ApiError, catalog, catalog_has_any, identity};
use scs_check_sdk::{self as sdk, TestcaseResult};
use serde_json::{Value, json};

/// Name of the test secret.
pub const SECRET_NAME: &str = "scs-member-role-test-secret";

/// The exact create body of the official check (d.8).
pub fn create_body() -> Value {
    json!({
        "name": SECRET_NAME,
        "payload_content_type": "text/plain",
        "secret_type": "opaque",
        "payload": "foo",
    })
}

/// How the secret exercise ended, when not with success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// RuntimeError or ForbiddenException: caught, logged, FAIL.
    Fail(String),
    /// Any other exception: ABORT.
    Abort(String),
}

/// openstacksdk raises ForbiddenException for 403, which the official check
/// catches (FAIL); every other error propagates (ABORT), including an
/// unreachable endpoint (h.6).
pub fn classify(e: &ApiError) -> Failure {
    if e.status() == Some(403) {
        Failure::Fail(e.to_string())
    } else {
        Failure::Abort(e.to_string())
    }
}

/// The official `ensure_unprivileged` plus the member check (d.8 step 1):
/// Err means ABORT.
pub fn check_roles(roles: &[String], lines: &mut Lines) -> Result<(), String> {
    if roles.iter().any(|r| r == "admin" || r == "manager") {
        return Err("user privileges too high: admin/manager roles detected".to_string());
    }
    if roles.iter().any(|r| r == "reader") {
        lines.info("User has reader role.");
    }
    let mut custom: Vec<&str> = roles
        .iter()
        .map(String::as_str)
        .filter(|r| *r != "reader" && *r != "member")
        .collect();
    custom.sort_unstable();
    custom.dedup();
    if !custom.is_empty() {
        lines.info(format!("User has custom roles {}.", custom.join(", ")));
    }
    if !roles.iter().any(|r| r == "member") {
        return Err("Cannot test key-manager permissions. User has wrong roles".to_string());
    }
    Ok(())
}

/// Whether a listed secret is one the official `_find_secrets` returns:
/// its name or its id equals the test name.
pub fn matches(secret: &Value) -> bool {
    secret.get("name").and_then(Value::as_str) == Some(SECRET_NAME)
        || key_manager::secret_id(secret).and_then(Value::as_str) == Some(SECRET_NAME)
}

/// The Barbican calls the check makes (a seam for native tests).
pub trait Barbican {
    /// `GET v1/secrets`, all pages.
    fn list(&mut self) -> Result<Vec<Value>, ApiError>;
    /// `POST v1/secrets`.
    fn create(&mut self, body: &Value) -> Result<(), ApiError>;
    /// `DELETE v1/secrets/{uuid}` (404 = Ok(false)).
    fn delete(&mut self, uuid: &str) -> Result<bool, ApiError>;
}

/// The real cloud, through the host.
struct Live;

impl Barbican for Live {
    fn list(&mut self) -> Result<Vec<Value>, ApiError> {
        key_manager::list_secrets()
    }
    fn create(&mut self, body: &Value) -> Result<(), ApiError> {
        key_manager::create_secret(body)
    }
    fn delete(&mut self, uuid: &str) -> Result<bool, ApiError> {
        key_manager::delete_secret(uuid)
    }
}

/// The official `_find_secrets`: every listed secret whose name or id is
/// the test name.
fn find_secrets(api: &mut impl Barbican) -> Result<Vec<Value>, ApiError> {
    Ok(api.list()?.into_iter().filter(matches).collect())
}

/// The official `_delete_secret`.
fn delete(api: &mut impl Barbican, secret: &Value) -> Result<(), Failure> {
    // `secret.id.rsplit(...)` on a non-string id raises AttributeError: ABORT
    let uuid = key_manager::secret_uuid(secret).map_err(Failure::Abort)?;
    api.delete(&uuid).map(|_| ()).map_err(|e| classify(&e))
}

/// The secret exercise of d.8 step 3, with the official control flow.
pub fn exercise(api: &mut impl Barbican, lines: &mut Lines) -> Result<(), Failure> {
    let existing = find_secrets(api).map_err(|e| classify(&e))?;
    for s in &existing {
        delete(api, s)?;
    }
    if !existing.is_empty() {
        lines.debug(format!("Deleted {} secrets", existing.len()));
    }
    api.create(&create_body()).map_err(|e| classify(&e))?;
    // The official code finds the new secret inside `try` and deletes
    // `new_secret[0]` in `finally`:
    let found = match find_secrets(api) {
        Ok(f) => f,
        // d.8 (follows from the official code, not spelled out there; looks
        // like a bug, reproduced): when this listing raises, `new_secret` is
        // unbound and the `finally` raises UnboundLocalError instead, which is
        // not caught: ABORT, even for a 403.
        Err(e) => {
            return Err(Failure::Abort(format!(
                "listing the secrets after creating one failed ({e}); the official check then \
                 fails on an unbound variable"
            )));
        }
    };
    let Some(first) = found.first() else {
        // d.8 quirk (also g; a bug in the official code, reproduced): the
        // RuntimeError "not discoverable" is replaced by the IndexError of
        // `new_secret[0]` in `finally`: ABORT, not FAIL.
        return Err(Failure::Abort(format!(
            "Secret '{SECRET_NAME}' was not discoverable by the user (and the official cleanup \
             then indexes an empty list)"
        )));
    };
    // Only the first match is deleted, as in the official code.
    delete(api, first)
}

/// `scs-0116-permissions` (d.8): roles from the token, whether the catalog
/// has a key manager, and the Barbican API to exercise.
pub fn permissions(
    api: &mut impl Barbican,
    roles: &[String],
    has_key_manager: bool,
    lines: &mut Lines,
) -> Result<bool, String> {
    check_roles(roles, lines)?;
    if !has_key_manager {
        // this testcase only applies when a key manager is present
        return Ok(true);
    }
    match exercise(api, lines) {
        Ok(()) => Ok(true),
        Err(Failure::Fail(why)) => {
            lines.debug(format!("exception details: {why}"));
            lines.error("Unsuccessful at using Key Manager API");
            Ok(false)
        }
        Err(Failure::Abort(why)) => Err(why),
    }
}

/// `scs-0116-presence` (d.8).
pub fn presence(cat: &[Service], lines: &mut Lines) -> bool {
    let ok = catalog_has_any(cat, &[SERVICE]);
    if !ok {
        lines.error("key-manager service not found");
    }
    ok
}

struct Check;

impl scs_check_sdk::Check for Check {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        let cat = catalog();
        sdk::run_testcases(&testcases, |id| {
            let mut lines = Lines::new();
            let outcome = match id {
                "scs-0116-presence" => Ok(presence(&cat, &mut lines)),
                "scs-0116-permissions" => permissions(
                    &mut Live,
                    &identity().roles,
                    catalog_has_any(&cat, &[SERVICE]),
                    &mut lines,
                ),
                _ => return None,
            };
            lines.emit();
            Some(outcome)
        })
    }
}

scs_check_sdk::check!(Check);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn role_rules() {
        let mut l = Lines::new();
        assert!(check_roles(&roles(&["member"]), &mut l).is_ok());
        assert!(l.0.is_empty());
        assert!(check_roles(&roles(&["member", "admin"]), &mut l).is_err());
        assert!(check_roles(&roles(&["manager", "member"]), &mut l).is_err());
        let e = check_roles(&roles(&["reader"]), &mut l).unwrap_err();
        assert!(e.contains("wrong roles"), "{e}");
        let mut l = Lines::new();
        assert!(check_roles(&roles(&["member", "reader", "zeta", "alpha"]), &mut l).is_ok());
        assert_eq!(
            l.at(sdk::Level::Info),
            [
                "User has reader role.",
                "User has custom roles alpha, zeta."
            ]
        );
    }

    #[test]
    fn body_is_exact() {
        assert_eq!(
            create_body(),
            json!({"name": "scs-member-role-test-secret", "payload": "foo",
                   "payload_content_type": "text/plain", "secret_type": "opaque"})
        );
    }

    #[test]
    fn matching_secrets() {
        assert!(matches(
            &json!({"name": SECRET_NAME, "secret_ref": "http://b/v1/secrets/1"})
        ));
        // the id (secret_ref) may equal the name, too
        assert!(matches(
            &json!({"name": "other", "secret_ref": SECRET_NAME})
        ));
        assert!(!matches(
            &json!({"name": "other", "secret_ref": "http://b/v1/secrets/1"})
        ));
        assert!(!matches(&json!({"name": null})));
        assert!(!matches(&json!({"name": "scs-member-role-test-secret-2"})));
    }

    #[test]
    fn classification() {
        let st = |status| ApiError::Status {
            what: "key-manager GET v1/secrets".into(),
            status,
            body: String::new(),
        };
        assert!(matches!(classify(&st(403)), Failure::Fail(_)));
        assert!(matches!(classify(&st(401)), Failure::Abort(_)));
        assert!(matches!(classify(&st(500)), Failure::Abort(_)));
        assert!(matches!(classify(&st(404)), Failure::Abort(_)));
        // unreachable endpoint (h.6)
        assert!(matches!(
            classify(&ApiError::Host(
                "transport error: connection refused".into()
            )),
            Failure::Abort(_)
        ));
    }

    /// An in-memory Barbican with scripted failures.
    #[derive(Default)]
    struct Fake {
        secrets: Vec<Value>,
        next_id: u32,
        /// status to answer on the n-th call (1-based) of each kind
        list_fail: Vec<(u32, u16)>,
        create_fail: Option<u16>,
        delete_fail: Vec<(u32, u16)>,
        /// the listing hides everything (lookup miss)
        hide: bool,
        lists: u32,
        deletes: u32,
        log: Vec<String>,
    }

    fn status(status: u16) -> ApiError {
        ApiError::Status {
            what: "key-manager".into(),
            status,
            body: String::new(),
        }
    }

    impl Barbican for Fake {
        fn list(&mut self) -> Result<Vec<Value>, ApiError> {
            self.lists += 1;
            self.log.push("list".into());
            if let Some((_, st)) = self.list_fail.iter().find(|(n, _)| *n == self.lists) {
                return Err(status(*st));
            }
            Ok(if self.hide {
                Vec::new()
            } else {
                self.secrets.clone()
            })
        }
        fn create(&mut self, body: &Value) -> Result<(), ApiError> {
            self.log.push("create".into());
            if let Some(st) = self.create_fail {
                return Err(status(st));
            }
            self.next_id += 1;
            let mut s = body.clone();
            s["secret_ref"] = json!(format!("http://b/v1/secrets/id{}", self.next_id));
            self.secrets.push(s);
            Ok(())
        }
        fn delete(&mut self, uuid: &str) -> Result<bool, ApiError> {
            self.deletes += 1;
            self.log.push(format!("delete {uuid}"));
            if let Some((_, st)) = self.delete_fail.iter().find(|(n, _)| *n == self.deletes) {
                return Err(status(*st));
            }
            let before = self.secrets.len();
            self.secrets
                .retain(|s| s["secret_ref"] != json!(format!("http://b/v1/secrets/{uuid}")));
            Ok(self.secrets.len() < before)
        }
    }

    fn run(fake: &mut Fake) -> (Result<bool, String>, Lines) {
        let mut l = Lines::new();
        let r = permissions(fake, &roles(&["member"]), true, &mut l);
        (r, l)
    }

    #[test]
    fn exercise_passes_and_cleans_up() {
        let mut f = Fake::default();
        f.secrets
            .push(json!({"name": SECRET_NAME, "secret_ref": "http://b/v1/secrets/old1"}));
        f.secrets
            .push(json!({"name": "keep", "secret_ref": "http://b/v1/secrets/keep"}));
        f.secrets
            .push(json!({"name": SECRET_NAME, "secret_ref": "http://b/v1/secrets/old2"}));
        let (r, l) = run(&mut f);
        assert_eq!(r, Ok(true));
        assert_eq!(
            f.log,
            [
                "list",
                "delete old1",
                "delete old2",
                "create",
                "list",
                "delete id1"
            ]
        );
        assert_eq!(f.secrets.len(), 1);
        assert_eq!(l.at(sdk::Level::Debug), ["Deleted 2 secrets"]);
    }

    #[test]
    fn vacuous_pass_and_role_aborts() {
        let mut f = Fake::default();
        let mut l = Lines::new();
        assert_eq!(
            permissions(&mut f, &roles(&["member"]), false, &mut l),
            Ok(true)
        );
        assert!(f.log.is_empty());
        // roles are checked before the catalog (d.8 step 1)
        assert!(permissions(&mut f, &roles(&["member", "admin"]), false, &mut l).is_err());
        assert!(permissions(&mut f, &roles(&["reader"]), false, &mut l).is_err());
        assert!(f.log.is_empty());
    }

    #[test]
    fn forbidden_is_fail() {
        // 403 on create
        let mut f = Fake {
            create_fail: Some(403),
            ..Fake::default()
        };
        let (r, l) = run(&mut f);
        assert_eq!(r, Ok(false));
        assert_eq!(l.errors(), ["Unsuccessful at using Key Manager API"]);
        // 403 on the first listing, on a leftover's delete, on the final delete
        let mut f = Fake {
            list_fail: vec![(1, 403)],
            ..Fake::default()
        };
        assert_eq!(run(&mut f).0, Ok(false));
        let mut f = Fake {
            delete_fail: vec![(1, 403)],
            ..Fake::default()
        };
        f.secrets
            .push(json!({"name": SECRET_NAME, "secret_ref": "http://b/v1/secrets/old"}));
        assert_eq!(run(&mut f).0, Ok(false));
        let mut f = Fake {
            delete_fail: vec![(1, 403)],
            ..Fake::default()
        };
        assert_eq!(run(&mut f).0, Ok(false));
        assert_eq!(f.log, ["list", "create", "list", "delete id1"]);
    }

    #[test]
    fn official_abort_quirks() {
        // lookup miss: IndexError in `finally` (d.8)
        let mut f = Fake {
            hide: true,
            ..Fake::default()
        };
        let (r, l) = run(&mut f);
        assert!(r.unwrap_err().contains("not discoverable"));
        assert!(l.errors().is_empty());
        assert_eq!(f.log, ["list", "create", "list"]);
        // the second listing fails, even with 403: UnboundLocalError (d.8)
        let mut f = Fake {
            list_fail: vec![(2, 403)],
            ..Fake::default()
        };
        assert!(run(&mut f).0.is_err());
        // other statuses anywhere
        for fail in [
            Fake {
                list_fail: vec![(1, 500)],
                ..Fake::default()
            },
            Fake {
                list_fail: vec![(1, 404)],
                ..Fake::default()
            },
            Fake {
                create_fail: Some(401),
                ..Fake::default()
            },
            Fake {
                delete_fail: vec![(1, 500)],
                ..Fake::default()
            },
        ] {
            let mut f = fail;
            assert!(run(&mut f).0.is_err(), "{:?}", f.log);
        }
        // a leftover without a usable id: AttributeError
        let mut f = Fake::default();
        f.secrets.push(json!({"name": SECRET_NAME}));
        assert!(run(&mut f).0.is_err());
        assert_eq!(f.log, ["list"]);
    }
}

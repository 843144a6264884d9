//! Barbican secrets, read and written the way openstacksdk's `key_manager`
//! proxy does it (for scs-0116, docs/official-behaviour.md d.8 and h.6).
//!
//! Owns: listing secrets (Barbican's top-level `next` href; an empty page
//! ends the listing), creating a secret, deleting one by UUID (404 = already
//! gone), and the `id` of a listed secret as openstacksdk presents it (`id`
//! if the body has one, else `secret_ref`).
//!
//! Must never: read or log a secret's payload, delete a secret the caller did
//! not pick, retry a write, or turn an API error into a default value.

use crate::openstack::{ApiError, Method, Page, Request, body_error, paginate, versioned_path};
use serde_json::Value;

/// Catalog service type of Barbican.
pub const SERVICE: &str = "key-manager";

/// Whether a Barbican endpoint URL already names the API version (`.../v1`).
pub fn endpoint_has_version(url: &str) -> bool {
    crate::openstack::endpoint_has_version(url, "v1")
}

/// The path of a Barbican resource below the endpoint ([`crate::openstack::versioned_path`]).
pub fn path(rest: &str) -> String {
    versioned_path(SERVICE, "v1", rest)
}

/// One page of a secrets listing, as openstacksdk's `Resource.list` reads
/// it: the items (`secrets` must exist; a non-list value is one item; every
/// item must be an object) and the next page's link, if any (top-level
/// `next`: a string, empty meaning none; not read on an empty page).
pub fn parse_page(what: &str, body: &Value) -> Result<Page, ApiError> {
    let Value::Object(map) = body else {
        return Err(body_error(what, "body is not a JSON object".to_string()));
    };
    let items = match map.get("secrets") {
        None => return Err(body_error(what, "missing key `secrets`".to_string())),
        Some(Value::Array(a)) => a.clone(),
        Some(other) => vec![other.clone()],
    };
    if let Some(i) = items.iter().position(|v| !v.is_object()) {
        return Err(body_error(what, format!("secrets[{i}] is not an object")));
    }
    if items.is_empty() {
        // openstacksdk reads no link of an empty page: it stops there
        return Ok(Page { items, next: None });
    }
    let next = match map.get("next") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(body_error(what, format!("`next` is not a string: {other}")));
        }
    };
    Ok(Page { items, next })
}

/// `GET v1/secrets`, every page (the shared [`paginate`] loop: an empty
/// page ends the listing, even with a `next` link).
pub fn list_secrets() -> Result<Vec<Value>, ApiError> {
    paginate(
        Request::get(SERVICE, &path("secrets")),
        Request::send_json,
        parse_page,
    )
}

/// The `id` openstacksdk gives a listed secret: the body's `id` if the key
/// is present (even if null), else `secret_ref` (None if absent).
pub fn secret_id(secret: &Value) -> Option<&Value> {
    match secret.get("id") {
        Some(v) => Some(v),
        None => secret.get("secret_ref"),
    }
}

/// The UUID the official code deletes by: the id's text after the last `/`
/// (`id.rsplit('/', 1)[-1]`). An id that is not a string is an error, as
/// the official code's `.rsplit` on it is.
pub fn secret_uuid(secret: &Value) -> Result<String, String> {
    match secret_id(secret) {
        Some(Value::String(s)) => Ok(s.rsplit('/').next().unwrap_or(s).to_string()),
        other => Err(format!(
            "secret has no usable id/secret_ref (got {})",
            other.map_or("nothing".to_string(), Value::to_string)
        )),
    }
}

/// `POST v1/secrets` with exactly the given JSON body; any 2xx is success
/// (openstacksdk does not require a parseable answer).
pub fn create_secret(body: &Value) -> Result<(), ApiError> {
    Request::new(SERVICE, Method::Post, &path("secrets"))
        .json(body)
        .send_ok()
        .map(|_| ())
}

/// `DELETE v1/secrets/{uuid}`; a 404 counts as done (`ignore_missing`).
/// Returns whether the secret was there.
pub fn delete_secret(uuid: &str) -> Result<bool, ApiError> {
    match Request::new(SERVICE, Method::Delete, &path(&format!("secrets/{uuid}"))).send_ok() {
        Ok(_) => Ok(true),
        Err(e) if e.status() == Some(404) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pages() {
        let body = json!({"secrets": [{"name": "a"}], "total": 3,
            "next": "http://barbican:9311/v1/secrets?limit=1&offset=1"});
        let page = parse_page("x", &body).unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(
            page.next.as_deref(),
            Some("http://barbican:9311/v1/secrets?limit=1&offset=1")
        );
        let page = parse_page("x", &json!({"secrets": [], "next": ""})).unwrap();
        assert_eq!(page.next, None);
        // a single object counts as one secret
        let page = parse_page("x", &json!({"secrets": {"name": "a"}})).unwrap();
        assert_eq!(page.items.len(), 1);
        assert!(parse_page("x", &json!({"total": 0})).is_err());
        assert!(parse_page("x", &json!({"secrets": ["a"]})).is_err());
        assert!(parse_page("x", &json!({"secrets": [{}], "next": 5})).is_err());
        // an empty page ends the listing: its `next` is not even read
        let page = parse_page("x", &json!({"secrets": [], "next": 5})).unwrap();
        assert_eq!(
            page,
            Page {
                items: vec![],
                next: None
            }
        );
        let page =
            parse_page("x", &json!({"secrets": [], "next": "/v1/secrets?offset=9"})).unwrap();
        assert_eq!(page.next, None);
    }

    #[test]
    fn ids_and_uuids() {
        let s = json!({"secret_ref": "http://b:9311/v1/secrets/1234"});
        assert_eq!(secret_uuid(&s).unwrap(), "1234");
        let s = json!({"secret_ref": "plain"});
        assert_eq!(secret_uuid(&s).unwrap(), "plain");
        let s = json!({"secret_ref": "http://b/v1/secrets/"});
        assert_eq!(secret_uuid(&s).unwrap(), "");
        // an `id` key wins over secret_ref, even when null
        let s = json!({"id": null, "secret_ref": "http://b/v1/secrets/1"});
        assert!(secret_uuid(&s).is_err());
        assert!(secret_uuid(&json!({"name": "x"})).is_err());
        assert!(secret_uuid(&json!({"secret_ref": 7})).is_err());
    }

    #[test]
    fn versioned_endpoints() {
        assert!(endpoint_has_version("http://b:9311/v1"));
        assert!(endpoint_has_version("http://b:9311/v1/"));
        assert!(!endpoint_has_version("http://b:9311"));
    }
}

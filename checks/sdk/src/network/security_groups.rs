//! Neutron security groups and default security-group rules, read the way
//! openstacksdk reads them (for scs-0115, docs/official-behaviour.md d.7 and h.7).
//!
//! Owns: listing `default-security-group-rules` (following
//! `<key>_links` rel `next`), creating, finding (by id, then by name, as
//! `find_security_group` does) and deleting (404 = already gone) security
//! groups. The raw JSON objects are returned, because the check's counting
//! rules depend on how openstacksdk presents missing or odd fields.
//!
//! Must never: touch a security group the caller did not name by id, retry
//! a write, or turn an API error into a default value.

use crate::json::Field;
use crate::openstack::{ApiError, Method, Page, Request, body_error, paginate, versioned_path};
use serde_json::{Value, json};

/// Catalog service type of Neutron.
pub const SERVICE: &str = "network";

/// Whether a Neutron endpoint URL already names the API version (`.../v2.0`).
pub fn endpoint_has_version(url: &str) -> bool {
    crate::openstack::endpoint_has_version(url, "v2.0")
}

/// The path of a Neutron resource below the endpoint ([`crate::openstack::versioned_path`]).
pub fn path(rest: &str) -> String {
    versioned_path(SERVICE, "v2.0", rest)
}

/// The items of one page as openstacksdk's `Resource.list` takes them:
/// `body[key]` must exist (KeyError otherwise), a non-list value counts as
/// a one-element list.
pub fn page_items(what: &str, body: &Value, key: &str) -> Result<Vec<Value>, ApiError> {
    let Value::Object(map) = body else {
        return Err(body_error(what, "body is not a JSON object".to_string()));
    };
    match map.get(key) {
        None => Err(body_error(what, format!("missing key `{key}`"))),
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(other) => Ok(vec![other.clone()]),
    }
}

/// One page of a Neutron collection as openstacksdk reads it: the items
/// ([`page_items`]) and the first `<key>_links` entry with rel `next` that
/// has a string `href`.
pub fn parse_page(what: &str, body: &Value, key: &str) -> Result<Page, ApiError> {
    let items = page_items(what, body, key)?;
    if items.is_empty() {
        // openstacksdk reads no link of an empty page: it stops there
        return Ok(Page { items, next: None });
    }
    let mut next = None;
    if let Some(Value::Array(links)) = Field::root(what, body).get(&format!("{key}_links")).value()
    {
        for l in links {
            if l.get("rel").and_then(Value::as_str) == Some("next")
                && let Some(href) = l.get("href").and_then(Value::as_str)
            {
                next = Some(href.to_string());
                break;
            }
        }
    }
    Ok(Page { items, next })
}

/// GET every page of a Neutron collection (`<key>_links` rel `next`; an
/// empty page ends the listing, as in openstacksdk: the shared
/// [`paginate`] loop).
pub fn list_collection(first: Request, key: &str) -> Result<Vec<Value>, ApiError> {
    paginate(first, Request::send_json, |what, body| {
        parse_page(what, body, key)
    })
}

/// `GET v2.0/default-security-group-rules` (all pages), raw rule objects
/// (or whatever the cloud put in the list). A 404 comes back as
/// [`ApiError::Status`] with status 404.
pub fn default_security_group_rules() -> Result<Vec<Value>, ApiError> {
    list_collection(
        Request::get(SERVICE, &path("default-security-group-rules")),
        "default_security_group_rules",
    )
}

/// The resource object of a single-resource body: `body[key]` when present,
/// else the whole body (openstacksdk's `_translate_response`).
pub fn resource_of<'a>(body: &'a Value, key: &str) -> &'a Value {
    body.get(key).unwrap_or(body)
}

/// The `id` of a resource as openstacksdk would put it into a URL: a
/// string, or the text of a number; anything else is an error.
fn id_of(what: &str, resource: &Value) -> Result<String, ApiError> {
    Field::root(what, resource)
        .get("id")
        .opt_string()?
        .ok_or_else(|| body_error(what, "the new resource has no `id`".to_string()))
}

/// `POST v2.0/security-groups` with name and description; the new id.
pub fn create_security_group(name: &str, description: &str) -> Result<String, ApiError> {
    let req = Request::new(SERVICE, Method::Post, &path("security-groups"))
        .json(&json!({"security_group": {"name": name, "description": description}}));
    let what = req.describe();
    let body = req.send_json()?;
    id_of(&what, resource_of(&body, "security_group"))
}

/// openstacksdk's `find_security_group(name_or_id)` with
/// `ignore_missing=True`: `GET security-groups/{x}`; on 404, 400 or 403 a
/// listing filtered by `name=x`, matching id or name; one match is the
/// result, none is `None`, more than one is an error (DuplicateResource).
pub fn find_security_group(name_or_id: &str) -> Result<Option<Value>, ApiError> {
    let req = Request::get(SERVICE, &path(&format!("security-groups/{name_or_id}")));
    match req.send_json() {
        Ok(body) => return Ok(Some(resource_of(&body, "security_group").clone())),
        Err(e) if matches!(e.status(), Some(404 | 400 | 403)) => {}
        Err(e) => return Err(e),
    }
    let list = Request::get(SERVICE, &path("security-groups")).query("name", name_or_id);
    let what = list.describe();
    let mut found: Option<Value> = None;
    for sg in list_collection(list, "security_groups")? {
        let is_match = sg.get("id").and_then(Value::as_str) == Some(name_or_id)
            || sg.get("name").and_then(Value::as_str) == Some(name_or_id);
        if is_match {
            if found.is_some() {
                return Err(body_error(
                    &what,
                    format!("more than one security group is named {name_or_id:?}"),
                ));
            }
            found = Some(sg);
        }
    }
    Ok(found)
}

/// `DELETE v2.0/security-groups/{id}`; a 404 counts as done (openstacksdk's
/// `ignore_missing=True`). Returns whether the group was there.
pub fn delete_security_group(id: &str) -> Result<bool, ApiError> {
    match Request::new(
        SERVICE,
        Method::Delete,
        &path(&format!("security-groups/{id}")),
    )
    .send_ok()
    {
        Ok(_) => Ok(true),
        Err(e) if e.status() == Some(404) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn versioned_endpoints() {
        assert!(endpoint_has_version("http://neutron:9696/v2.0"));
        assert!(endpoint_has_version("http://neutron:9696/v2.0/"));
        assert!(!endpoint_has_version("http://neutron:9696/"));
        assert!(!endpoint_has_version("http://h/networking"));
    }

    #[test]
    fn page_items_like_openstacksdk() {
        let body = json!({"rules": [{"a": 1}, {"b": 2}]});
        assert_eq!(page_items("x", &body, "rules").unwrap().len(), 2);
        // a single object is one item
        let body = json!({"rules": {"a": 1}});
        assert_eq!(
            page_items("x", &body, "rules").unwrap(),
            vec![json!({"a": 1})]
        );
        // a missing key is an error (KeyError), and so is a non-object body
        assert!(page_items("x", &json!({}), "rules").is_err());
        assert!(page_items("x", &json!([1]), "rules").is_err());
    }

    #[test]
    fn pages_and_next_links() {
        let body = json!({"security_groups": [{"id": "a"}], "security_groups_links": [
            {"rel": "self", "href": "http://n/v2.0/security-groups"},
            {"rel": "next", "href": "http://n/v2.0/security-groups?marker=a"}]});
        let page = parse_page("x", &body, "security_groups").unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(
            page.next.as_deref(),
            Some("http://n/v2.0/security-groups?marker=a")
        );
        // an empty page has no next page, whatever it links to
        let body = json!({"security_groups": [], "security_groups_links": [
            {"rel": "next", "href": "http://n/v2.0/security-groups?marker=a"}]});
        let page = parse_page("x", &body, "security_groups").unwrap();
        assert_eq!(
            page,
            Page {
                items: vec![],
                next: None
            }
        );
        // no links, or no rel next: last page
        let body = json!({"security_groups": [{"id": "a"}]});
        assert_eq!(
            parse_page("x", &body, "security_groups").unwrap().next,
            None
        );
    }

    #[test]
    fn single_resources() {
        let body = json!({"security_group": {"id": "abc"}});
        assert_eq!(resource_of(&body, "security_group"), &json!({"id": "abc"}));
        let body = json!({"id": "abc"});
        assert_eq!(resource_of(&body, "security_group"), &body);
        assert_eq!(id_of("x", &json!({"id": 5})).unwrap(), "5");
        assert!(id_of("x", &json!({"name": "n"})).is_err());
    }
}

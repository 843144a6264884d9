//! openstacksdk's fixes of a cloud entry's spellings (its `magic_fixes` and the move of the
//! auth plugin's options into `auth`), so that clouds.yaml entries, profiles and the `OS_*`
//! cloud all end up in one shape: credentials and scope under `auth`, everything else at the
//! top.
//!
//! Owns, in openstacksdk's order: `-` in keys read as `_`; `auth_plugin` → `auth_type`
//! (`auth_type` wins); `tenant_id`/`tenant_name` → `project_id`/`project_name`,
//! `auth_token` → `token`, and the domain settings moved into `auth` (for these, a value at the
//! top wins over one in `auth`, as the top holds the environment's and the command line's
//! values); `endpoint_type` → `interface` (scs-cert: `interface` wins); `domain_id`/
//! `domain_name` as the default of the user's and the project's domain when the entry is
//! project-scoped; then the credentials and `auth_url` moved into `auth` (here a value in
//! `auth` wins). Also the first of `regions` when there is no `region_name`.
//!
//! Must never: drop a credential silently or put a value into a message.

use super::files::auth_update;
use serde_json::{Map, Value};

/// Settings moved into `auth`, each from its spellings, the later one winning; a value at the
/// top wins over one in `auth` (openstacksdk's `_fix_backwards_auth`).
const BACKWARDS_AUTH: [(&str, &[&str]); 9] = [
    ("domain_id", &["domain_id"]),
    ("domain_name", &["domain_name"]),
    ("user_domain_id", &["user_domain_id"]),
    ("user_domain_name", &["user_domain_name"]),
    ("project_domain_id", &["project_domain_id"]),
    ("project_domain_name", &["project_domain_name"]),
    ("token", &["auth_token", "token"]),
    ("project_id", &["tenant_id", "project_id"]),
    ("project_name", &["tenant_name", "project_name"]),
];

/// The auth plugins' options that may sit at the top of an entry; moved into `auth` unless
/// `auth` has them (openstacksdk's `_validate_auth`).
const PLUGIN_OPTIONS: [&str; 8] = [
    "auth_url",
    "username",
    "user_id",
    "password",
    "application_credential_id",
    "application_credential_name",
    "application_credential_secret",
    "trust_id",
];

/// `-` in keys as `_`, in every map (openstacksdk's `normalize_keys`).
fn normalise_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.replace('-', "_"), normalise_keys(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether a value counts as given (openstacksdk tests truthiness).
fn given(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Bool(b) => *b,
        _ => true,
    }
}

/// The entry in one shape. `Err` names the setting that is not a mapping (`auth`, or the
/// entry itself as ``).
pub(super) fn normalise(entry: &Value) -> Result<Map<String, Value>, &'static str> {
    let Value::Object(mut cloud) = normalise_keys(entry) else {
        return Err("");
    };
    let mut auth = match cloud.remove("auth") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(a)) => a,
        Some(_) => return Err("auth"),
    };
    first_region(&mut cloud);
    // auth_plugin, then auth_type: auth_type wins
    let mut auth_type = cloud.remove("auth_plugin");
    if let Some(t) = cloud.remove("auth_type") {
        auth_type = Some(t);
    }
    if let Some(t) = auth_type.filter(given) {
        cloud.insert("auth_type".into(), t);
    }
    for (target, spellings) in BACKWARDS_AUTH {
        let mut value = None;
        for key in spellings {
            if let Some(v) = auth.remove(*key).filter(given) {
                value = Some(v);
            }
            if let Some(v) = cloud.remove(*key).filter(given) {
                value = Some(v);
            }
        }
        if let Some(v) = value {
            auth.insert(target.to_string(), v);
        }
    }
    if let Some(e) = cloud.remove("endpoint_type")
        && !cloud.contains_key("interface")
    {
        cloud.insert("interface".into(), e);
    }
    let project_scoped = auth.contains_key("project_id") || auth.contains_key("project_name");
    for (target, defaults) in [
        ("domain_id", ["user_domain_id", "project_domain_id"]),
        ("domain_name", ["user_domain_name", "project_domain_name"]),
    ] {
        if project_scoped {
            if let Some(v) = auth.remove(target) {
                for key in defaults {
                    auth.entry(key).or_insert_with(|| v.clone());
                }
            }
        } else if let Some(v) = cloud.remove(target) {
            auth.entry(target).or_insert(v);
        }
    }
    for key in PLUGIN_OPTIONS {
        let top = cloud.remove(key).filter(given);
        if !auth.get(key).is_some_and(given)
            && let Some(v) = top
        {
            auth.insert(key.to_string(), v);
        }
    }
    cloud.insert("auth".into(), Value::Object(auth));
    Ok(cloud)
}

/// No `region_name`, but a `regions` list: its first entry (a name, or `{name, values}` whose
/// values are laid over the entry), as openstacksdk picks the region when none is asked for.
fn first_region(cloud: &mut Map<String, Value>) {
    if cloud.contains_key("region_name") {
        return;
    }
    let Some(first) = cloud
        .get("regions")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .cloned()
    else {
        return;
    };
    match first {
        Value::String(name) => {
            cloud.insert("region_name".into(), Value::String(name));
        }
        Value::Object(region) => {
            if let Some(Value::Object(values)) = region.get("values") {
                auth_update(cloud, values);
            }
            if let Some(name) = region.get("name") {
                cloud.insert("region_name".into(), name.clone());
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn settings_outside_auth_move_in_and_old_spellings_are_read() {
        let c = normalise(&json!({
            "auth-url": "http://k",
            "username": "u",
            "tenant_name": "t",
            "auth_token": "tok",
            "endpoint_type": "internalURL",
            "domain_name": "D",
            "auth": {"password": "p", "username": "in-auth"},
            "auth_plugin": "v3password",
        }))
        .unwrap();
        let a = &c["auth"];
        assert_eq!(a["auth_url"], "http://k");
        assert_eq!(
            a["username"], "in-auth",
            "a value in auth wins for plugin options"
        );
        assert_eq!(a["project_name"], "t");
        assert_eq!(a["token"], "tok");
        assert_eq!(a["user_domain_name"], "D");
        assert_eq!(a["project_domain_name"], "D");
        assert!(a.get("domain_name").is_none());
        assert_eq!(c["interface"], "internalURL");
        assert_eq!(c["auth_type"], "v3password");
    }

    #[test]
    fn later_spellings_and_top_level_values_win() {
        let c = normalise(&json!({
            "tenant_id": "old", "project_id": "new",
            "auth": {"project_name": "in-auth"}, "project_name": "top",
            "auth_type": "token", "auth_plugin": "password",
            "interface": "public", "endpoint_type": "admin",
        }))
        .unwrap();
        assert_eq!(c["auth"]["project_id"], "new");
        assert_eq!(c["auth"]["project_name"], "top");
        assert_eq!(c["auth_type"], "token");
        assert_eq!(c["interface"], "public");
    }

    #[test]
    fn unscoped_domain_stays_a_domain_and_regions_give_the_first() {
        let c = normalise(&json!({"domain_id": "d", "regions": [{"name": "R1", "values": {"interface": "internal"}}, "R2"]})).unwrap();
        assert_eq!(c["auth"]["domain_id"], "d");
        assert_eq!(c["region_name"], "R1");
        assert_eq!(c["interface"], "internal");
        let c = normalise(&json!({"regions": ["R2"], "region_name": "R9"})).unwrap();
        assert_eq!(c["region_name"], "R9");
        assert_eq!(normalise(&json!({"auth": "x"})), Err("auth"));
        assert_eq!(normalise(&json!("x")), Err(""));
    }
}

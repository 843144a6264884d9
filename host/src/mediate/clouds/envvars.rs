//! openstacksdk's `envvars` cloud: the `OS_*` environment variables of an openrc file as one
//! cloud entry.
//!
//! Owns: openstacksdk's rules for it. Every set `OS_*` variable (but `OS_TEST*`, `OS_STD*`,
//! `OS_LOG*`) becomes a setting named by the rest of its name in lower case (`OS_AUTH_URL` →
//! `auth_url`, `OS_TENANT_NAME` → `tenant_name`); the cloud exists only when at least one of
//! them is not a selector (`OS_CLOUD`, `OS_CLOUD_NAME`, `OS_REGION_NAME`,
//! `OS_CLIENT_CONFIG_FILE`, `OS_CLIENT_SECURE_FILE`); it is named `envvars`, or
//! `$OS_CLOUD_NAME`. Also: which variable a setting came from, for messages.
//!
//! Must never: show a variable's value (passwords and tokens are among them).

use super::Environment;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// Variables that choose a cloud or a file but do not make a cloud by themselves.
const SELECTORS: [&str; 5] = [
    "OS_CLOUD",
    "OS_CLOUD_NAME",
    "OS_REGION_NAME",
    "OS_CLIENT_CONFIG_FILE",
    "OS_CLIENT_SECURE_FILE",
];

/// Settings with several spellings, each with its variables from the weakest to the
/// strongest: when both are set, the later one wins (openstacksdk's order for the first three;
/// for the interface scs-cert lets `OS_INTERFACE` win, where openstacksdk takes whichever the
/// environment lists last).
const ALIASES: [(&str, &[&str]); 5] = [
    ("project_id", &["OS_TENANT_ID", "OS_PROJECT_ID"]),
    ("project_name", &["OS_TENANT_NAME", "OS_PROJECT_NAME"]),
    ("token", &["OS_AUTH_TOKEN", "OS_TOKEN"]),
    ("interface", &["OS_ENDPOINT_TYPE", "OS_INTERFACE"]),
    ("auth_type", &["OS_AUTH_PLUGIN", "OS_AUTH_TYPE"]),
];

/// The environment's cloud: its entry and where each setting came from.
#[derive(Clone)]
pub(super) struct EnvCloud {
    /// The cloud entry (all settings at the top level, as openstacksdk builds it).
    pub entry: Value,
    /// Setting → the variable it came from.
    pub vars: BTreeMap<String, String>,
}

/// The name of the environment's cloud: `$OS_CLOUD_NAME`, else `envvars`.
pub(super) fn cloud_name(env: &Environment) -> String {
    env.get("OS_CLOUD_NAME").unwrap_or("envvars").to_string()
}

/// The environment's cloud, when any `OS_*` variable other than a selector is set.
pub(super) fn cloud(env: &Environment) -> Option<EnvCloud> {
    let keys: Vec<(&str, &str)> = env
        .iter()
        .filter(|(k, _)| {
            k.starts_with("OS_")
                && !k.starts_with("OS_TEST")
                && !k.starts_with("OS_STD")
                && !k.starts_with("OS_LOG")
        })
        .collect();
    if keys.iter().all(|(k, _)| SELECTORS.contains(k)) {
        return None;
    }
    let mut entry = Map::new();
    let mut vars = BTreeMap::new();
    for (k, v) in keys {
        let setting = k["OS_".len()..].to_ascii_lowercase();
        entry.insert(setting.clone(), Value::String(v.to_string()));
        vars.insert(setting, k.to_string());
    }
    // the settings spelled several ways are named by the variable that wins
    for (setting, spellings) in ALIASES {
        if let Some(var) = spellings.iter().rev().find(|v| env.get(v).is_some()) {
            vars.insert(setting.to_string(), var.to_string());
        }
    }
    Some(EnvCloud {
        entry: Value::Object(entry),
        vars,
    })
}

/// The variable for a setting (`auth.password` → `OS_PASSWORD`): the one it came from, else
/// the usual spelling.
pub(super) fn var_for(setting: &str, vars: &BTreeMap<String, String>) -> String {
    let key = setting.strip_prefix("auth.").unwrap_or(setting);
    if let Some(v) = vars.get(key) {
        return v.clone();
    }
    match ALIASES.iter().find(|(s, _)| *s == key) {
        Some((_, spellings)) => spellings[spellings.len() - 1].to_string(),
        None => format!("OS_{}", key.to_ascii_uppercase()),
    }
}

//! The configuration files, found where openstacksdk looks for them: clouds.yaml, secure.yaml
//! (merged over it) and clouds-public.yaml (the profiles a cloud entry names with `profile:`).
//!
//! Owns: the search order (`$OS_CLIENT_CONFIG_FILE` / `$OS_CLIENT_SECURE_FILE` first, then
//! `.`, `$XDG_CONFIG_HOME/openstack`, `~/.config/openstack`, the first of `$XDG_CONFIG_DIRS`
//! (default `/etc/xdg`) plus `/openstack`, `/etc/openstack`; each as `.yaml`, `.yml`,
//! `.json`), reading a file as YAML, the deep merge of secure.yaml, and laying a cloud entry
//! over its profile.
//!
//! Must never: read any other file, or put a file's contents (which hold passwords) into a
//! message.

use super::{CloudsError, Environment};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// Where `stem`.yaml/.yml/.json is looked for, in order: `$env_var` (when given and set),
/// then the directories openstacksdk searches.
pub(super) fn candidates(stem: &str, env_var: &str, env: &Environment) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Some(p) = env.get(env_var) {
        v.push(PathBuf::from(p));
    }
    let mut dirs: Vec<PathBuf> = vec![PathBuf::new()];
    let home = env.get("HOME").map(PathBuf::from);
    if let Some(x) = env.get("XDG_CONFIG_HOME") {
        dirs.push(Path::new(x).join("openstack"));
    }
    if let Some(h) = &home {
        dirs.push(h.join(".config/openstack"));
    }
    let site = env
        .get("XDG_CONFIG_DIRS")
        .and_then(|d| d.split(':').find(|s| !s.is_empty()))
        .unwrap_or("/etc/xdg");
    dirs.push(Path::new(site).join("openstack"));
    dirs.push(PathBuf::from("/etc/openstack"));
    let mut seen = Vec::new();
    for d in dirs {
        if seen.contains(&d) {
            continue;
        }
        seen.push(d.clone());
        for ext in ["yaml", "yml", "json"] {
            v.push(d.join(format!("{stem}.{ext}")));
        }
    }
    v
}

/// The candidates as a message shows them: each `.yaml` path with "(.yml, .json)" once at the
/// end, other paths (a file named by a variable or an option) as they are.
pub(super) fn looked_at(candidates: &[PathBuf]) -> String {
    let shown: Vec<String> = candidates
        .iter()
        .filter(|p| {
            !matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yml") | Some("json")
            )
        })
        .map(|p| p.display().to_string())
        .collect();
    let alternates = candidates.len() > shown.len();
    format!(
        "{}{}",
        shown.join(", "),
        if alternates {
            " (each also as .yml and .json)"
        } else {
            ""
        }
    )
}

/// The first candidate that is a file.
pub(super) fn first_file(candidates: &[PathBuf]) -> Option<PathBuf> {
    candidates.iter().find(|p| p.is_file()).cloned()
}

/// A file parsed as YAML (JSON is YAML too).
pub(super) fn read_yaml(path: &Path) -> Result<Value, CloudsError> {
    let text = std::fs::read_to_string(path).map_err(|source| CloudsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    yaml_serde::from_str::<Value>(&text).map_err(|e| CloudsError::Yaml {
        path: path.to_path_buf(),
        message: crate::errtext::one_line(&e.to_string()),
    })
}

/// clouds.yaml at `path` with the first secure.yaml found merged over it.
pub(super) fn read_with_secure(path: &Path, env: &Environment) -> Result<Value, CloudsError> {
    let mut doc = read_yaml(path)?;
    if let Some(secure) = first_file(&candidates("secure", "OS_CLIENT_SECURE_FILE", env)) {
        let s = read_yaml(&secure)?;
        merge(&mut doc, &s);
    }
    Ok(doc)
}

/// Deep-merge `over` into `base` (maps merged, everything else replaced).
pub(super) fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(bv) => merge(bv, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// openstacksdk's `_auth_update`: `over`'s keys replace `base`'s, except `auth`, whose keys
/// are merged one level deep.
pub(super) fn auth_update(base: &mut Map<String, Value>, over: &Map<String, Value>) {
    for (k, v) in over {
        match (k.as_str(), base.get_mut(k), v) {
            ("auth", Some(Value::Object(b)), Value::Object(o)) => {
                for (ak, av) in o {
                    b.insert(ak.clone(), av.clone());
                }
            }
            _ => {
                base.insert(k.clone(), v.clone());
            }
        }
    }
}

/// The names under `clouds`.
pub(super) fn cloud_names(doc: &Value) -> impl Iterator<Item = &str> {
    doc.get("clouds")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|c| c.keys().map(String::as_str))
}

/// Lay cloud entry `name` over the profile it names (`profile:`, or the older `cloud:`), taken
/// from `public-clouds` of the first clouds-public.yaml found, as openstacksdk does. A profile
/// named like the environment's cloud is ignored (openstacksdk's rule). scs-cert has none of
/// openstacksdk's built-in vendor profiles, so a profile that is not in that file is an error.
pub(super) fn apply_profile(
    entry: &mut Value,
    name: &str,
    path: &Path,
    env_name: &str,
    env: &Environment,
) -> Result<(), CloudsError> {
    let Some(cloud) = entry.as_object() else {
        return Ok(());
    };
    let (key, profile) = match (cloud.get("profile"), cloud.get("cloud")) {
        (Some(p), _) => ("profile", p),
        (None, Some(p)) => ("cloud", p),
        (None, None) => return Ok(()),
    };
    let field_err = |problem: String| CloudsError::Field {
        path: path.to_path_buf(),
        cloud: name.to_string(),
        field: key.to_string(),
        problem,
    };
    let Some(profile) = profile.as_str() else {
        return Err(field_err(
            "must be the name of a profile under public-clouds in clouds-public.yaml".to_string(),
        ));
    };
    if profile == env_name {
        return Ok(());
    }
    let candidates = candidates("clouds-public", "", env);
    let Some(vendor_path) = first_file(&candidates) else {
        return Err(field_err(format!(
            "profile {profile:?} needs a clouds-public.yaml, but there is none (looked at {}); \
             create one with the profile under public-clouds, or remove {key}",
            looked_at(&candidates)
        )));
    };
    let vendor = read_yaml(&vendor_path)?;
    let Some(base) = vendor
        .get("public-clouds")
        .and_then(|p| p.get(profile))
        .and_then(Value::as_object)
    else {
        return Err(field_err(format!(
            "profile {profile:?} is not under public-clouds in {}; add it there (scs-cert has \
             none of openstacksdk's built-in vendor profiles), or remove {key}",
            vendor_path.display()
        )));
    };
    let mut merged = base.clone();
    auth_update(&mut merged, cloud);
    *entry = Value::Object(merged);
    Ok(())
}

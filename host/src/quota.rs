//! Project quotas and the schedule of the write checks.
//!
//! The official suite runs its write tests one after another, so a test project with a small
//! quota (one VM, one volume) passes there. scs-cert runs checks concurrently; two write checks
//! that each create a volume would fail on such a project. This module owns what a write
//! check declares it creates at once (check.json `quota`, names in [`QUOTA_NAMES`]), reading
//! the project's limits and usage (Nova and Cinder `limits`, Neutron `quotas/{project}/details`)
//! through the run's session, and the decision: concurrent only when the free quota holds all
//! write checks of the run at once, else one after another, with the reason in one line.
//!
//! Must never: change a verdict (it only orders the write checks), fail a run (limits that
//! cannot be read mean one after another, the official suite's order), or read limits when
//! the decision does not need them (fewer than two write checks, or `--jobs 1`).

use crate::mediate::{Anchor, ApiRequest, Method, Session};
use std::collections::BTreeMap;
use std::time::Duration;

/// Quota names a check.json may declare, with where the cloud reports them.
pub const QUOTA_NAMES: &[&str] = &[
    "compute.instances",
    "compute.cores",
    "compute.ram_mib",
    "volume.volumes",
    "volume.gigabytes",
    "volume.backups",
    "volume.backup_gigabytes",
    "network.networks",
    "network.subnets",
    "network.routers",
    "network.ports",
    "network.security_groups",
    "network.security_group_rules",
    "network.floatingips",
];

/// Whether `name` is a quota a check may declare.
pub fn known(name: &str) -> bool {
    QUOTA_NAMES.contains(&name)
}

/// A write check of the run and what it declares it creates at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteCheck {
    /// Check id.
    pub id: String,
    /// Declared needs (None: not declared; empty: none of the quotas the host reads).
    pub needs: Option<BTreeMap<String, u64>>,
}

/// How the write checks run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// True: alongside each other (bounded by `--jobs`); false: one after another.
    pub concurrent: bool,
    /// Why, in one line (for the console and `run.scs_cert.write_checks` in the report).
    pub reason: String,
}

impl Schedule {
    /// `concurrent: ...` or `one after another: ...`.
    pub fn line(&self) -> String {
        format!(
            "{}: {}",
            if self.concurrent {
                "concurrent"
            } else {
                "one after another"
            },
            self.reason
        )
    }
}

/// Free amount of one quota: `None` = unlimited.
pub type Free = BTreeMap<String, Option<u64>>;

/// Decide from the needs and (when read) the free quota; `free` is `Err(why)` when the limits
/// could not be read.
pub fn decide(writes: &[WriteCheck], jobs: usize, free: Option<&Result<Free, String>>) -> Schedule {
    let one = |reason: String| Schedule {
        concurrent: false,
        reason,
    };
    if writes.len() < 2 {
        return Schedule {
            concurrent: true,
            reason: format!("{} write check(s), nothing to share", writes.len()),
        };
    }
    if jobs < 2 {
        return one("--jobs 1".to_string());
    }
    if let Some(w) = writes.iter().find(|w| w.needs.is_none()) {
        return one(format!(
            "{} declares no quota needs in its check.json, so it runs alone",
            w.id
        ));
    }
    let free = match free {
        Some(Ok(f)) => f,
        Some(Err(why)) => return one(format!("the project's limits cannot be read ({why})")),
        None => return one("the project's limits were not read".to_string()),
    };
    let mut total: BTreeMap<&str, (u64, Vec<String>)> = BTreeMap::new();
    for w in writes {
        for (name, n) in w.needs.iter().flatten() {
            let e = total.entry(name.as_str()).or_default();
            e.0 = e.0.saturating_add(*n);
            e.1.push(format!("{} {n}", w.id));
        }
    }
    let mut tightest: Option<(u64, String)> = None;
    for (name, (need, who)) in &total {
        match free.get(*name) {
            None => {
                return one(format!(
                    "{name}: the cloud does not report it (needed: {})",
                    who.join(", ")
                ));
            }
            Some(None) => {}
            Some(Some(have)) if have < need => {
                return one(format!(
                    "{name}: {have} free, {need} needed at once ({})",
                    who.join(", ")
                ));
            }
            Some(Some(have)) => {
                let spare = have - need;
                if tightest.as_ref().is_none_or(|(s, _)| spare < *s) {
                    tightest = Some((spare, format!("{name}: {have} free, {need} needed")));
                }
            }
        }
    }
    Schedule {
        concurrent: true,
        reason: format!(
            "the free quota holds all {} write checks at once (tightest: {})",
            writes.len(),
            tightest.map_or_else(|| "all unlimited".to_string(), |(_, t)| t)
        ),
    }
}

/// Read the free quota of the services the needs name (at most three requests: Nova and
/// Cinder `limits`, Neutron `quotas/{project}/details`).
pub async fn read_free(
    session: &Session,
    writes: &[WriteCheck],
    timeout: Duration,
) -> Result<Free, String> {
    let wants = |prefix: &str| {
        writes
            .iter()
            .any(|w| w.needs.iter().flatten().any(|(k, _)| k.starts_with(prefix)))
    };
    let mut free = Free::new();
    if wants("compute.") {
        let body = get_json(session, "compute", "limits", timeout).await?;
        let abs = &body["limits"]["absolute"];
        for (name, max, used) in [
            (
                "compute.instances",
                "maxTotalInstances",
                "totalInstancesUsed",
            ),
            ("compute.cores", "maxTotalCores", "totalCoresUsed"),
            ("compute.ram_mib", "maxTotalRAMSize", "totalRAMUsed"),
        ] {
            insert(&mut free, name, abs.get(max), abs.get(used));
        }
    }
    if wants("volume.") {
        let body = get_json(session, "block-storage", "limits", timeout).await?;
        let abs = &body["limits"]["absolute"];
        for (name, max, used) in [
            ("volume.volumes", "maxTotalVolumes", "totalVolumesUsed"),
            (
                "volume.gigabytes",
                "maxTotalVolumeGigabytes",
                "totalGigabytesUsed",
            ),
            ("volume.backups", "maxTotalBackups", "totalBackupsUsed"),
            (
                "volume.backup_gigabytes",
                "maxTotalBackupGigabytes",
                "totalBackupGigabytesUsed",
            ),
        ] {
            insert(&mut free, name, abs.get(max), abs.get(used));
        }
    }
    if wants("network.") {
        let path = format!("v2.0/quotas/{}/details", session.identity().project_id);
        let body = get_json(session, "network", &path, timeout).await?;
        let q = &body["quota"];
        for (name, key) in [
            ("network.networks", "network"),
            ("network.subnets", "subnet"),
            ("network.routers", "router"),
            ("network.ports", "port"),
            ("network.security_groups", "security_group"),
            ("network.security_group_rules", "security_group_rule"),
            ("network.floatingips", "floatingip"),
        ] {
            let used = match (q[key].get("used"), q[key].get("reserved")) {
                (Some(u), Some(r)) => Some(serde_json::json!(
                    u.as_i64()
                        .unwrap_or(0)
                        .saturating_add(r.as_i64().unwrap_or(0))
                )),
                (u, _) => u.cloned(),
            };
            insert(&mut free, name, q[key].get("limit"), used.as_ref());
        }
    }
    Ok(free)
}

/// `limit - used`, or unlimited for a negative limit; nothing when the cloud gave no numbers.
fn insert(
    free: &mut Free,
    name: &str,
    limit: Option<&serde_json::Value>,
    used: Option<&serde_json::Value>,
) {
    let Some(limit) = limit.and_then(serde_json::Value::as_i64) else {
        return;
    };
    if limit < 0 {
        free.insert(name.to_string(), None);
        return;
    }
    let used = used.and_then(serde_json::Value::as_i64).unwrap_or(0).max(0);
    free.insert(
        name.to_string(),
        Some(u64::try_from(limit.saturating_sub(used)).unwrap_or(0)),
    );
}

async fn get_json(
    session: &Session,
    service: &str,
    path: &str,
    timeout: Duration,
) -> Result<serde_json::Value, String> {
    let req = ApiRequest {
        service_type: service.to_string(),
        method: Method::Get,
        path: path.to_string(),
        query: Vec::new(),
        headers: Vec::new(),
        body: None,
        anchor: Anchor::Endpoint,
        shared: false,
    };
    let resp = session
        .fetch(&req, timeout, "quota preflight")
        .await
        .map_err(|e| format!("{service} GET {path}: {e}"))?;
    if resp.status != 200 {
        return Err(format!("{service} GET {path}: HTTP {}", resp.status));
    }
    serde_json::from_slice(&resp.body).map_err(|e| format!("{service} GET {path}: not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(id: &str, needs: &[(&str, u64)]) -> WriteCheck {
        WriteCheck {
            id: id.into(),
            needs: Some(needs.iter().map(|(k, v)| (k.to_string(), *v)).collect()),
        }
    }

    fn free(pairs: &[(&str, Option<u64>)]) -> Result<Free, String> {
        Ok(pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect())
    }

    #[test]
    fn the_schedule_follows_the_free_quota() {
        let writes = [
            w(
                "scs-0101-entropy",
                &[("compute.instances", 1), ("volume.volumes", 1)],
            ),
            w(
                "scs-0117-volume-backup",
                &[("volume.volumes", 1), ("volume.backups", 1)],
            ),
        ];
        let roomy = free(&[
            ("compute.instances", Some(10)),
            ("volume.volumes", Some(10)),
            ("volume.backups", None),
        ]);
        let s = decide(&writes, 4, Some(&roomy));
        assert!(s.concurrent, "{s:?}");
        assert!(
            s.reason
                .contains("tightest: volume.volumes: 10 free, 2 needed"),
            "{s:?}"
        );

        let small = free(&[
            ("compute.instances", Some(1)),
            ("volume.volumes", Some(1)),
            ("volume.backups", Some(1)),
        ]);
        let s = decide(&writes, 4, Some(&small));
        assert!(!s.concurrent);
        assert_eq!(
            s.line(),
            "one after another: volume.volumes: 1 free, 2 needed at once \
             (scs-0101-entropy 1, scs-0117-volume-backup 1)"
        );

        let s = decide(
            &writes,
            4,
            Some(&Err("network GET limits: HTTP 403".into())),
        );
        assert!(!s.concurrent && s.reason.contains("HTTP 403"), "{s:?}");
        let s = decide(&writes, 4, Some(&free(&[("compute.instances", Some(5))])));
        assert!(
            !s.concurrent && s.reason.contains("does not report"),
            "{s:?}"
        );
        assert!(!decide(&writes, 1, Some(&roomy)).concurrent);
        let undeclared = [
            writes[0].clone(),
            WriteCheck {
                id: "third-party".into(),
                needs: None,
            },
        ];
        let s = decide(&undeclared, 4, Some(&roomy));
        assert!(
            !s.concurrent && s.reason.contains("third-party declares no quota"),
            "{s:?}"
        );
        assert!(decide(&writes[..1], 4, None).concurrent);
        // a write check that uses none of the counted quotas shares nothing
        let with_secret = [writes[0].clone(), w("scs-0116-key-manager", &[])];
        let s = decide(&with_secret, 4, Some(&small));
        assert!(s.concurrent, "{s:?}");
    }

    #[test]
    fn limits_become_free_amounts() {
        let mut f = Free::new();
        insert(
            &mut f,
            "a",
            Some(&serde_json::json!(10)),
            Some(&serde_json::json!(3)),
        );
        insert(
            &mut f,
            "b",
            Some(&serde_json::json!(-1)),
            Some(&serde_json::json!(3)),
        );
        insert(
            &mut f,
            "c",
            Some(&serde_json::json!(2)),
            Some(&serde_json::json!(5)),
        );
        insert(&mut f, "d", None, Some(&serde_json::json!(1)));
        insert(&mut f, "e", Some(&serde_json::json!("ten")), None);
        assert_eq!(f.get("a"), Some(&Some(7)));
        assert_eq!(f.get("b"), Some(&None));
        assert_eq!(f.get("c"), Some(&Some(0)));
        assert!(!f.contains_key("d") && !f.contains_key("e"));
    }
}

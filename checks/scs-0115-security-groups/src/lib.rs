//! Check component for scs-0115 (default rules of security groups).
//!
//! Owns: `scs-0115-default-rules` (docs/official-behaviour.md d.7, h.7). The normal
//! path reads Neutron's `default-security-group-rules` and counts them: no
//! ingress rule may apply (a `PARENT` ingress rule that is not used in
//! non-default groups is allowed), and unrestricted IPv4 and IPv6 egress
//! rules must exist both for default and for custom groups. When the cloud
//! lacks that API (404), the fallback creates the security group
//! `scs-test-default-sg`, counts the rules Neutron gave it (no ingress, at
//! least one IPv4 and one IPv6 egress rule), and deletes it again, also
//! when the counting failed.
//!
//! Must never: touch a security group other than the one it created, leave
//! that group behind when the cloud lets it be deleted, or decide anything
//! the official check would decide differently (quirks included, each
//! marked with its section).

use scs_check_sdk::lines::Lines;
use scs_check_sdk::network::security_groups as network;
use scs_check_sdk::openstack::ApiError;
use scs_check_sdk::{self as sdk, Level, TestcaseResult};
use serde_json::Value;

/// Name (and description) of the temporary security group of the fallback.
pub const SG_NAME: &str = "scs-test-default-sg";

/// Which counting rules apply (d.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The default-security-group-rules API: openstacksdk resources, where a
    /// missing field reads as None.
    Full,
    /// The rules of a freshly created group (fallback, "short" mode): plain
    /// dicts, where a missing `direction` or `ethertype` raises KeyError.
    Short,
}

/// Python truthiness of a JSON value (missing and null are false). This is
/// also what openstacksdk's `bool` conversion of a typed field gives.
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// A `type=bool` field of an openstacksdk resource, read as a truth value.
/// openstacksdk converts a dict with `bool(**value)`, which raises for a
/// non-empty dict (d.7; reproduced, however unlikely in a real cloud).
fn sdk_bool(rule: &Value, key: &str) -> Result<bool, String> {
    match rule.get(key) {
        Some(Value::Object(o)) if !o.is_empty() => Err(format!(
            "rule field {key} is a non-empty object; openstacksdk cannot convert it to bool"
        )),
        v => Ok(truthy(v)),
    }
}

/// The counts of one evaluation, for the log line and for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Ingress rules that count against the cloud.
    pub ingress: u32,
    /// Egress rules with ethertype IPv4 or IPv6 (before the prefix filter).
    pub egress: u32,
    /// IPv4 rules for default groups.
    pub v4_default: u32,
    /// IPv4 rules for custom groups (Full mode only).
    pub v4_custom: u32,
    /// IPv6 rules for default groups.
    pub v6_default: u32,
    /// IPv6 rules for custom groups (Full mode only).
    pub v6_custom: u32,
}

fn field<'a>(rule: &'a Value, key: &str, mode: Mode) -> Result<Option<&'a Value>, String> {
    match mode {
        Mode::Full => Ok(rule.get(key)),
        Mode::Short => match rule.get(key) {
            Some(v) => Ok(Some(v)),
            // d.7 fallback: the rules are plain dicts, `rule["direction"]` /
            // `rule["ethertype"]` raise KeyError when the key is absent (an
            // accident of the official code, reproduced): ABORT.
            None => Err(format!("a rule of the new security group has no `{key}`")),
        },
    }
}

/// The official `check_default_rules` (d.7): count the rules, push the log
/// lines, and return whether the rules pass. Err reproduces the official
/// exceptions (ABORT).
pub fn check_rules(rules: &[Value], mode: Mode, lines: &mut Lines) -> Result<bool, String> {
    let mut c = Counts::default();
    if rules.is_empty() {
        lines.push(Level::Info, "No default security group rules defined.");
    }
    for (i, rule) in rules.iter().enumerate() {
        if !rule.is_object() {
            return Err(format!("rule #{i} is not an object: {rule}"));
        }
        let direction = field(rule, "direction", mode)?;
        let ethertype = field(rule, "ethertype", mode)?;
        if direction.and_then(Value::as_str) == Some("ingress") {
            if mode == Mode::Full
                && rule.get("remote_group_id").and_then(Value::as_str) == Some("PARENT")
                && !sdk_bool(rule, "used_in_non_default_sg")?
            {
                // ingress from the same group, only in default groups: allowed
                // (h.7: also when it names a port)
                continue;
            }
            c.ingress += 1;
        } else if direction.and_then(Value::as_str) == Some("egress") {
            let v4 = match ethertype {
                Some(Value::String(s)) if s == "IPv4" => true,
                Some(Value::String(s)) if s == "IPv6" => false,
                // `ethertype in egress_vars` hashes the value: a list or a
                // dict raises TypeError (d.7, reproduced).
                Some(v @ (Value::Array(_) | Value::Object(_))) => {
                    return Err(format!("rule #{i}: unhashable ethertype {v}"));
                }
                _ => continue,
            };
            c.egress += 1;
            if mode == Mode::Short {
                // d.7 fallback: every IPv4/IPv6 egress rule counts, whatever
                // its remote prefix.
                if v4 {
                    c.v4_default += 1;
                } else {
                    c.v6_default += 1;
                }
                continue;
            }
            if truthy(rule.get("remote_ip_prefix")) {
                // not an "allow to everywhere" rule (h.7: also `::/0`)
                continue;
            }
            // not mutually exclusive
            if sdk_bool(rule, "used_in_default_sg")? {
                if v4 {
                    c.v4_default += 1;
                } else {
                    c.v6_default += 1;
                }
            }
            if sdk_bool(rule, "used_in_non_default_sg")? {
                if v4 {
                    c.v4_custom += 1;
                } else {
                    c.v6_custom += 1;
                }
            }
        }
    }
    Ok(verdict(&c, mode, lines))
}

fn verdict(c: &Counts, mode: Mode, lines: &mut Lines) -> bool {
    if c.ingress > 0 {
        lines.push(
            Level::Error,
            format!("Expected no default ingress rules, found {}.", c.ingress),
        );
    }
    let mut wanted = vec![
        ("IPv4", "default", c.v4_default),
        ("IPv6", "default", c.v6_default),
    ];
    if mode == Mode::Full {
        wanted.insert(1, ("IPv4", "custom", c.v4_custom));
        wanted.push(("IPv6", "custom", c.v6_custom));
    }
    let missing: Vec<String> = wanted
        .iter()
        .filter(|(_, _, n)| *n == 0)
        .map(|(e, k, _)| format!("('{e}', '{k}')"))
        .collect();
    if !missing.is_empty() {
        lines.push(
            Level::Error,
            format!(
                "Expected rules for egress for IPv4 and IPv6 both for default and custom security groups. \
                 Missing rule types: {}",
                missing.join(", ")
            ),
        );
    }
    lines.push(
        Level::Info,
        format!(
            "{{'Unallowed Ingress Rules': {}, 'Egress Rules': {}}}",
            c.ingress, c.egress
        ),
    );
    c.ingress == 0 && missing.is_empty()
}

/// The rule list of a security group as openstacksdk's `type=list` field
/// gives it (d.7 fallback): a list as is, any other non-null value wrapped
/// in a one-element list; missing or null is None, and iterating None
/// raises TypeError.
pub fn group_rules(sg: &Value) -> Result<Vec<Value>, String> {
    match sg.get("security_group_rules") {
        None | Some(Value::Null) => {
            Err("the new security group has no security_group_rules".to_string())
        }
        Some(Value::Array(a)) => Ok(a.clone()),
        Some(other) => Ok(vec![other.clone()]),
    }
}

/// Whether an error of the default-rules listing sends the official check
/// to its fallback: openstacksdk's ResourceNotFound (HTTP 404) whose text
/// mentions `default-security-group-rules`. That text always contains the
/// request URL, so every 404 of this listing qualifies (d.7).
pub fn is_missing_api(e: &ApiError) -> bool {
    e.status() == Some(404)
}

/// The Neutron calls the check makes (a seam for native tests).
pub trait Neutron {
    /// `GET v2.0/default-security-group-rules`, all pages.
    fn default_rules(&mut self) -> Result<Vec<Value>, ApiError>;
    /// `POST v2.0/security-groups`; the new id.
    fn create_group(&mut self, name: &str, description: &str) -> Result<String, ApiError>;
    /// openstacksdk's `find_security_group`.
    fn find_group(&mut self, id: &str) -> Result<Option<Value>, ApiError>;
    /// `DELETE v2.0/security-groups/{id}` (404 = Ok(false)).
    fn delete_group(&mut self, id: &str) -> Result<bool, ApiError>;
}

/// The real cloud, through the host.
struct Live;

impl Neutron for Live {
    fn default_rules(&mut self) -> Result<Vec<Value>, ApiError> {
        network::default_security_group_rules()
    }
    fn create_group(&mut self, name: &str, description: &str) -> Result<String, ApiError> {
        network::create_security_group(name, description)
    }
    fn find_group(&mut self, id: &str) -> Result<Option<Value>, ApiError> {
        network::find_security_group(id)
    }
    fn delete_group(&mut self, id: &str) -> Result<bool, ApiError> {
        network::delete_security_group(id)
    }
}

/// The fallback (d.7): create the group, read it back, count its rules,
/// then always delete it. A cleanup failure replaces the outcome (Python's
/// `finally`).
fn fallback(api: &mut impl Neutron, lines: &mut Lines) -> Result<bool, String> {
    let id = api
        .create_group(SG_NAME, SG_NAME)
        .map_err(|e| e.to_string())?;
    let outcome = (|| -> Result<bool, String> {
        // d.7: a group that cannot be found again is `None`, and reading its
        // rules raises AttributeError: ABORT.
        let sg = api
            .find_group(&id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("security group {id} was not found after creating it"))?;
        let rules = group_rules(&sg)?;
        check_rules(&rules, Mode::Short, lines)
    })();
    cleanup(api, &id, lines)?;
    outcome
}

/// The official `delete_security_group`: delete (404 ignored), then look the
/// group up again. Quirk (d.7, derived from the official code; looks like a
/// bug, reproduced): `find_security_group` ignores a missing group instead
/// of raising the ResourceNotFound the code waits for, and nothing notices
/// a group that still exists; only an API error raises (ABORT).
fn cleanup(api: &mut impl Neutron, id: &str, lines: &mut Lines) -> Result<(), String> {
    api.delete_group(id).map_err(|e| e.to_string())?;
    match api.find_group(id) {
        Ok(None) => {
            lines.debug(format!("Security group {id} was deleted successfully."));
            Ok(())
        }
        Ok(Some(_)) => {
            // The official check does not notice this; it does not change
            // the verdict.
            lines.warning(format!(
                "Security group {id} can still be found after deleting it"
            ));
            Ok(())
        }
        Err(e) => {
            lines.push(
                Level::Critical,
                format!("Security group {id} was not deleted successfully"),
            );
            Err(e.to_string())
        }
    }
}

/// `scs-0115-default-rules` (d.7). The official code also falls back on an
/// AttributeError naming `default_security_group_rules`, which comes from an
/// old openstacksdk, not from the cloud; nothing here can produce it.
pub fn default_rules(api: &mut impl Neutron, lines: &mut Lines) -> Result<bool, String> {
    match api.default_rules() {
        Ok(rules) => check_rules(&rules, Mode::Full, lines),
        Err(e) if is_missing_api(&e) => {
            lines.info(
                "API call failed. OpenStack components might not be up to date. \
                 Falling back to old-style test method. ",
            );
            fallback(api, lines)
        }
        Err(e) => Err(e.to_string()),
    }
}

struct Check;

impl scs_check_sdk::Check for Check {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        let mut memo: Option<Result<bool, String>> = None;
        sdk::run_testcases(&testcases, |id| {
            if id != "scs-0115-default-rules" {
                return None;
            }
            let outcome = memo.get_or_insert_with(|| {
                let mut lines = Lines::new();
                let o = default_rules(&mut Live, &mut lines);
                lines.emit();
                o
            });
            Some(outcome.clone())
        })
    }
}

scs_check_sdk::check!(Check);

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(direction: &str, ethertype: &str) -> Value {
        json!({"direction": direction, "ethertype": ethertype, "remote_ip_prefix": null,
               "remote_group_id": null, "used_in_default_sg": true, "used_in_non_default_sg": true})
    }

    fn full(rules: &[Value]) -> (Result<bool, String>, Lines) {
        let mut l = Lines::new();
        (check_rules(rules, Mode::Full, &mut l), l)
    }

    fn short(rules: &[Value]) -> Result<bool, String> {
        check_rules(rules, Mode::Short, &mut Lines::new())
    }

    fn errors(l: &Lines) -> Vec<String> {
        l.0.iter()
            .filter(|x| x.level == Level::Error)
            .map(|x| x.message.clone())
            .collect()
    }

    /// Neutron's defaults: PARENT ingress for default groups, egress v4/v6.
    fn neutron_defaults() -> Vec<Value> {
        let mut parent4 = rule("ingress", "IPv4");
        parent4["remote_group_id"] = json!("PARENT");
        parent4["used_in_non_default_sg"] = json!(false);
        let mut parent6 = rule("ingress", "IPv6");
        parent6["remote_group_id"] = json!("PARENT");
        parent6["used_in_non_default_sg"] = json!(false);
        vec![
            parent4,
            parent6,
            rule("egress", "IPv4"),
            rule("egress", "IPv6"),
        ]
    }

    #[test]
    fn full_mode_passes_neutron_defaults() {
        let (r, l) = full(&neutron_defaults());
        assert_eq!(r, Ok(true));
        assert!(errors(&l).is_empty());
        assert_eq!(
            l.0.last().map(|x| x.message.as_str()),
            Some("{'Unallowed Ingress Rules': 0, 'Egress Rules': 2}")
        );
    }

    #[test]
    fn full_mode_ingress() {
        // PARENT ingress also used in custom groups counts
        let mut rules = neutron_defaults();
        rules[0]["used_in_non_default_sg"] = json!(true);
        let (r, l) = full(&rules);
        assert_eq!(r, Ok(false));
        assert_eq!(errors(&l), ["Expected no default ingress rules, found 1."]);
        // PARENT ingress with a port is still ignored (h.7)
        let mut rules = neutron_defaults();
        rules[0]["port_range_min"] = json!(22);
        rules[0]["port_range_max"] = json!(22);
        assert_eq!(full(&rules).0, Ok(true));
        // a missing used_in_non_default_sg reads as None: ignored
        let mut rules = neutron_defaults();
        rules[0]
            .as_object_mut()
            .unwrap()
            .remove("used_in_non_default_sg");
        assert_eq!(full(&rules).0, Ok(true));
        // any other ingress rule counts, whatever its remote
        let mut rules = neutron_defaults();
        let mut open = rule("ingress", "IPv4");
        open["remote_ip_prefix"] = json!("10.0.0.0/8");
        rules.push(open);
        assert_eq!(full(&rules).0, Ok(false));
        // an ingress rule without ethertype still counts
        let mut rules = neutron_defaults();
        rules.push(json!({"direction": "ingress"}));
        assert_eq!(full(&rules).0, Ok(false));
    }

    #[test]
    fn full_mode_egress_counters() {
        // custom-only and default-only rules fill different counters
        let mut v4d = rule("egress", "IPv4");
        v4d["used_in_non_default_sg"] = json!(false);
        let mut v4c = rule("egress", "IPv4");
        v4c["used_in_default_sg"] = json!(false);
        let v6 = rule("egress", "IPv6");
        assert_eq!(full(&[v4d.clone(), v4c.clone(), v6.clone()]).0, Ok(true));
        let (r, l) = full(&[v4d, v6.clone()]);
        assert_eq!(r, Ok(false));
        assert_eq!(
            errors(&l),
            [
                "Expected rules for egress for IPv4 and IPv6 both for default and custom security groups. \
              Missing rule types: ('IPv4', 'custom')"
            ]
        );
        // a remote prefix (even ::/0, h.7) takes the rule out of the counts
        let mut v4p = rule("egress", "IPv4");
        v4p["remote_ip_prefix"] = json!("0.0.0.0/0");
        let mut v6p = rule("egress", "IPv6");
        v6p["remote_ip_prefix"] = json!("::/0");
        let (r, l) = full(&[v4p.clone(), v6p]);
        assert_eq!(r, Ok(false));
        assert!(errors(&l)[0].ends_with(
            "('IPv4', 'default'), ('IPv4', 'custom'), ('IPv6', 'default'), ('IPv6', 'custom')"
        ));
        // but an empty prefix is falsy: counted
        let mut v4e = rule("egress", "IPv4");
        v4e["remote_ip_prefix"] = json!("");
        assert_eq!(full(&[v4e, v6.clone()]).0, Ok(true));
        // other ethertypes and directions are ignored
        assert_eq!(
            full(&[rule("egress", "IPv5"), rule("sideways", "IPv4"), v6.clone()]).0,
            Ok(false)
        );
        // no rules at all: FAIL with an info line
        let (r, l) = full(&[]);
        assert_eq!(r, Ok(false));
        assert_eq!(l.0[0].message, "No default security group rules defined.");
    }

    #[test]
    fn full_mode_exceptions() {
        // an unhashable ethertype on an egress rule raises TypeError
        let mut bad = rule("egress", "IPv4");
        bad["ethertype"] = json!(["IPv4"]);
        assert!(full(&[bad.clone()]).0.is_err());
        // ... but not on an ingress rule (the membership test is not reached)
        bad["direction"] = json!("ingress");
        assert_eq!(full(&[bad]).0, Ok(false));
        // a rule that is not an object cannot become a resource
        assert!(full(&[json!("rule")]).0.is_err());
        // bool(**{...}) raises
        let mut odd = rule("egress", "IPv4");
        odd["used_in_default_sg"] = json!({"x": 1});
        assert!(full(&[odd]).0.is_err());
        // truthiness of odd values
        let mut odd = rule("egress", "IPv4");
        odd["used_in_default_sg"] = json!("false");
        odd["used_in_non_default_sg"] = json!(0);
        let mut v6 = rule("egress", "IPv6");
        v6["used_in_non_default_sg"] = json!({});
        let (_, l) = full(&[odd, v6]);
        assert!(errors(&l)[0].ends_with("('IPv4', 'custom'), ('IPv6', 'custom')"));
    }

    /// openstacksdk reads `used_in_default_sg` and `used_in_non_default_sg`
    /// as `type=bool` fields: a JSON boolean as is, null or a missing key as
    /// None, a dict through `bool(**value)` (raises unless empty), anything
    /// else through Python's `bool()`. `None` here: the conversion raises.
    const USED_IN_TABLE: &[(&str, Option<bool>)] = &[
        ("true", Some(true)),
        ("false", Some(false)),
        ("null", Some(false)),
        ("\"true\"", Some(true)),
        ("\"false\"", Some(true)), // a non-empty string is True
        ("\"False\"", Some(true)),
        ("\"0\"", Some(true)),
        ("\" \"", Some(true)),
        ("\"\"", Some(false)),
        ("0", Some(false)),
        ("1", Some(true)),
        ("-1", Some(true)),
        ("2", Some(true)),
        ("0.0", Some(false)),
        ("-0.0", Some(false)),
        ("0.5", Some(true)),
        ("1e-300", Some(true)),
        ("18446744073709551615", Some(true)),
        ("[]", Some(false)),
        ("[false]", Some(true)),
        ("[0]", Some(true)),
        ("{}", Some(false)),  // bool(**{}) is bool(): False
        ("{\"a\": 1}", None), // bool(a=1): TypeError → ABORT
    ];

    #[test]
    fn used_in_fields_follow_python_truthiness() {
        for (text, want) in USED_IN_TABLE {
            let v: Value = serde_json::from_str(text).unwrap();
            // the conversion itself
            let holder = json!({"used_in_default_sg": v});
            let got = sdk_bool(&holder, "used_in_default_sg");
            assert_eq!(got.as_ref().ok().copied(), *want, "{text}: {got:?}");
            // ... as it decides the egress counters: an IPv4 rule carrying
            // the value in one field, with the other field true
            for (field, counter) in [
                ("used_in_default_sg", "('IPv4', 'default')"),
                ("used_in_non_default_sg", "('IPv4', 'custom')"),
            ] {
                let mut v4 = rule("egress", "IPv4");
                v4[field] = v.clone();
                let (r, l) = full(&[v4, rule("egress", "IPv6")]);
                match want {
                    None => assert!(r.is_err(), "{field}={text}: {r:?}"),
                    Some(true) => assert_eq!(r, Ok(true), "{field}={text}: {l:?}"),
                    Some(false) => {
                        assert_eq!(r, Ok(false), "{field}={text}");
                        assert!(errors(&l)[0].ends_with(counter), "{field}={text}: {l:?}");
                    }
                }
            }
            // ... and whether a PARENT ingress rule is allowed (only when
            // used_in_non_default_sg is false)
            let mut rules = neutron_defaults();
            rules[0]["used_in_non_default_sg"] = v.clone();
            let r = full(&rules).0;
            match want {
                None => assert!(r.is_err(), "PARENT {text}: {r:?}"),
                Some(used) => assert_eq!(r, Ok(!used), "PARENT {text}"),
            }
        }
        // a missing field reads as None: false
        let mut v4 = rule("egress", "IPv4");
        v4.as_object_mut().unwrap().remove("used_in_default_sg");
        let (r, l) = full(&[v4, rule("egress", "IPv6")]);
        assert_eq!(r, Ok(false));
        assert!(errors(&l)[0].ends_with("('IPv4', 'default')"));
    }

    #[test]
    fn short_mode() {
        // a fresh Neutron group: two egress rules, no ingress
        let fresh = [rule("egress", "IPv4"), rule("egress", "IPv6")];
        assert_eq!(short(&fresh), Ok(true));
        // prefixes and used_in flags do not matter in short mode
        let mut v4 = rule("egress", "IPv4");
        v4["remote_ip_prefix"] = json!("10.0.0.0/8");
        v4["used_in_default_sg"] = json!(false);
        assert_eq!(short(&[v4, rule("egress", "IPv6")]), Ok(true));
        // any ingress rule fails, PARENT or not
        let mut parent = rule("ingress", "IPv4");
        parent["remote_group_id"] = json!("PARENT");
        parent["used_in_non_default_sg"] = json!(false);
        assert_eq!(
            short(&[fresh[0].clone(), fresh[1].clone(), parent]),
            Ok(false)
        );
        // missing IPv6 egress
        let mut l = Lines::new();
        assert_eq!(check_rules(&fresh[..1], Mode::Short, &mut l), Ok(false));
        assert!(errors(&l)[0].ends_with("Missing rule types: ('IPv6', 'default')"));
        // KeyError on a missing direction or ethertype, even on ingress rules
        assert!(short(&[json!({"ethertype": "IPv4"})]).is_err());
        assert!(short(&[json!({"direction": "ingress"})]).is_err());
        // null values are present keys: no KeyError
        assert_eq!(
            short(&[json!({"direction": null, "ethertype": null})]),
            Ok(false)
        );
    }

    #[test]
    fn fallback_rule_lists() {
        assert_eq!(
            group_rules(&json!({"security_group_rules": [1, 2]}))
                .unwrap()
                .len(),
            2
        );
        // a dict is wrapped in a list (openstacksdk type=list)
        assert_eq!(
            group_rules(&json!({"security_group_rules": {"direction": "egress"}})).unwrap(),
            vec![json!({"direction": "egress"})]
        );
        assert!(group_rules(&json!({"security_group_rules": null})).is_err());
        assert!(group_rules(&json!({"id": "x"})).is_err());
    }

    #[test]
    fn missing_api_detection() {
        let e404 = ApiError::Status {
            what: "network GET v2.0/default-security-group-rules".into(),
            status: 404,
            body: String::new(),
        };
        assert!(is_missing_api(&e404));
        let e403 = ApiError::Status {
            what: "network GET v2.0/default-security-group-rules".into(),
            status: 403,
            body: String::new(),
        };
        assert!(!is_missing_api(&e403));
        assert!(!is_missing_api(&ApiError::Host("no endpoint".into())));
    }
    /// An in-memory Neutron with scripted failures.
    struct Fake {
        /// Err: the default-rules API answers this status instead.
        rules: Result<Vec<Value>, u16>,
        /// rules a new group gets
        group_rules: Value,
        groups: Vec<(String, Value)>,
        create_fail: Option<u16>,
        /// status of the n-th find (1-based)
        find_fail: Vec<(u32, u16)>,
        delete_fail: Option<u16>,
        /// the lookup right after creating finds nothing
        lose: bool,
        finds: u32,
        log: Vec<String>,
    }

    impl Default for Fake {
        fn default() -> Self {
            Fake {
                rules: Ok(Vec::new()),
                group_rules: Value::Null,
                groups: Vec::new(),
                create_fail: None,
                find_fail: Vec::new(),
                delete_fail: None,
                lose: false,
                finds: 0,
                log: Vec::new(),
            }
        }
    }

    fn status(status: u16) -> ApiError {
        ApiError::Status {
            what: "network".into(),
            status,
            body: String::new(),
        }
    }

    impl Neutron for Fake {
        fn default_rules(&mut self) -> Result<Vec<Value>, ApiError> {
            self.log.push("rules".into());
            self.rules.clone().map_err(status)
        }
        fn create_group(&mut self, name: &str, description: &str) -> Result<String, ApiError> {
            self.log.push(format!("create {name} {description}"));
            if let Some(st) = self.create_fail {
                return Err(status(st));
            }
            let id = format!("sg{}", self.groups.len() + 1);
            self.groups.push((
                id.clone(),
                json!({"id": id, "name": name, "security_group_rules": self.group_rules}),
            ));
            Ok(id)
        }
        fn find_group(&mut self, id: &str) -> Result<Option<Value>, ApiError> {
            self.finds += 1;
            self.log.push(format!("find {id}"));
            if let Some((_, st)) = self.find_fail.iter().find(|(n, _)| *n == self.finds) {
                return Err(status(*st));
            }
            if self.lose && self.finds == 1 {
                return Ok(None);
            }
            Ok(self
                .groups
                .iter()
                .find(|(g, _)| g == id)
                .map(|(_, v)| v.clone()))
        }
        fn delete_group(&mut self, id: &str) -> Result<bool, ApiError> {
            self.log.push(format!("delete {id}"));
            if let Some(st) = self.delete_fail {
                return Err(status(st));
            }
            let before = self.groups.len();
            self.groups.retain(|(g, _)| g != id);
            Ok(self.groups.len() < before)
        }
    }

    fn legacy(group_rules: Value) -> Fake {
        Fake {
            rules: Err(404),
            group_rules,
            ..Fake::default()
        }
    }

    fn fresh() -> Value {
        json!([rule("egress", "IPv4"), rule("egress", "IPv6")])
    }

    fn go(f: &mut Fake) -> (Result<bool, String>, Lines) {
        let mut l = Lines::new();
        let r = default_rules(f, &mut l);
        (r, l)
    }

    #[test]
    fn normal_path() {
        let mut f = Fake {
            rules: Ok(neutron_defaults()),
            ..Fake::default()
        };
        assert_eq!(go(&mut f).0, Ok(true));
        assert_eq!(f.log, ["rules"]);
        // any other error than 404 is an ABORT, without fallback
        for st in [403, 500, 400] {
            let mut f = Fake {
                rules: Err(st),
                ..Fake::default()
            };
            assert!(go(&mut f).0.is_err());
            assert_eq!(f.log, ["rules"]);
        }
    }

    #[test]
    fn fallback_pass_and_fail_clean_up() {
        let mut f = legacy(fresh());
        let (r, l) = go(&mut f);
        assert_eq!(r, Ok(true));
        assert_eq!(
            f.log,
            [
                "rules",
                "create scs-test-default-sg scs-test-default-sg",
                "find sg1",
                "delete sg1",
                "find sg1"
            ]
        );
        assert!(f.groups.is_empty());
        assert!(l.0[0].message.starts_with("API call failed."));
        let mut parent = rule("ingress", "IPv4");
        parent["remote_group_id"] = json!("PARENT");
        let mut f = legacy(json!([
            rule("egress", "IPv4"),
            rule("egress", "IPv6"),
            parent
        ]));
        let (r, l) = go(&mut f);
        assert_eq!(r, Ok(false));
        assert_eq!(l.errors(), ["Expected no default ingress rules, found 1."]);
        assert!(f.groups.is_empty());
    }

    #[test]
    fn fallback_aborts_still_clean_up() {
        // counting raises (KeyError): cleanup runs, ABORT
        let mut f = legacy(json!([{"direction": "egress"}]));
        assert!(go(&mut f).0.is_err());
        assert!(f.groups.is_empty());
        // the group is not found again: AttributeError, cleanup runs
        let mut f = legacy(fresh());
        f.lose = true;
        assert!(go(&mut f).0.is_err());
        assert!(f.groups.is_empty());
        // the lookup fails: cleanup runs
        let mut f = legacy(fresh());
        f.find_fail = vec![(1, 500)];
        assert!(go(&mut f).0.is_err());
        assert!(f.groups.is_empty());
        // no rule list: TypeError on iterating None
        let mut f = legacy(Value::Null);
        assert!(go(&mut f).0.is_err());
        assert!(f.groups.is_empty());
    }

    #[test]
    fn fallback_cleanup_failures_replace_the_outcome() {
        // delete fails: ABORT even though the rules pass
        let mut f = legacy(fresh());
        f.delete_fail = Some(500);
        let (r, _) = go(&mut f);
        assert!(r.is_err());
        assert_eq!(f.groups.len(), 1);
        // the check after deleting fails: CRITICAL line, ABORT
        let mut f = legacy(fresh());
        f.find_fail = vec![(2, 500)];
        let (r, l) = go(&mut f);
        assert!(r.is_err());
        assert!(l.at(Level::Critical)[0].contains("was not deleted successfully"));
        // creating fails: ABORT, nothing to clean up
        let mut f = legacy(fresh());
        f.create_fail = Some(403);
        assert!(go(&mut f).0.is_err());
        assert_eq!(
            f.log,
            ["rules", "create scs-test-default-sg scs-test-default-sg"]
        );
    }
}

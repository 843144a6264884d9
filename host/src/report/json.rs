//! The report as JSON (`--format json`, content type
//! `application/x-signed-json`).
//!
//! Owns: one JSON document with exactly the keys, nesting and order of the
//! YAML document (b.1): `checked_at` and `reference_date` become the strings
//! the monitor would get from re-serialising the YAML (`str()` of Python's
//! datetime and date: `2026-11-29 19:58:50.525935`, `2026-11-29`), so the
//! monitor stores the same values whichever format was uploaded.
//!
//! Must never: emit more than one document (the monitor's JSON path reads
//! exactly one), or reorder keys (the order is the YAML's).

use super::{ComponentProvenance, Invocation, Provenance, Report, SpecRef};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// `checked_at` as text: naive local time with microseconds.
pub fn checked_at_text(r: &Report) -> String {
    r.checked_at.format("%Y-%m-%d %H:%M:%S%.6f").to_string()
}

struct Doc<'a>(&'a Report);
struct Run<'a>(&'a Report);
struct Pairs<'a>(&'a [(String, i8)]);
struct Invocations<'a>(&'a [Invocation]);
struct Inv<'a>(&'a Invocation);
struct Prov<'a>(&'a Provenance);
struct Components<'a>(&'a Provenance);
struct Spec<'a>(&'a SpecRef);
struct Component<'a>(&'a ComponentProvenance);

impl Serialize for Spec<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("uuid", &self.0.uuid)?;
        m.serialize_entry("name", &self.0.name)?;
        m.serialize_entry("url", &self.0.url)?;
        m.end()
    }
}

impl Serialize for Component<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.0;
        let mut m = s.serialize_map(Some(7))?;
        m.serialize_entry("id", &c.id)?;
        m.serialize_entry("version", &c.version)?;
        m.serialize_entry("sha256", &c.sha256)?;
        m.serialize_entry("capabilities", &c.capabilities)?;
        m.serialize_entry("invocation", &c.invocation)?;
        m.serialize_entry("requests", &c.requests)?;
        m.serialize_entry("elapsed_ms", &c.elapsed_ms)?;
        m.end()
    }
}

impl Serialize for Doc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("spec", &Spec(&r.spec))?;
        m.serialize_entry("checked_at", &checked_at_text(r))?;
        m.serialize_entry(
            "reference_date",
            &r.reference_date.format("%Y-%m-%d").to_string(),
        )?;
        m.serialize_entry("subject", &r.subject)?;
        m.serialize_entry("run", &Run(r))?;
        m.end()
    }
}

impl Serialize for Run<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("uuid", &r.run_uuid)?;
        m.serialize_entry("argv", &r.argv)?;
        m.serialize_entry("assignment", &r.assignment)?;
        m.serialize_entry("sections", &r.sections)?;
        m.serialize_entry("forced_version", &r.forced_version)?;
        m.serialize_entry("forced_tests", &r.forced_tests)?;
        m.serialize_entry("invocations", &Invocations(&r.invocations))?;
        m.serialize_entry("scs_cert", &Prov(&r.provenance))?;
        m.end()
    }
}

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl Serialize for Invocations<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for inv in self.0 {
            m.serialize_entry(&inv.id, &Inv(inv))?;
        }
        m.end()
    }
}

impl Serialize for Inv<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let inv = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &inv.id)?;
        m.serialize_entry("cmd", &inv.cmd)?;
        m.serialize_entry("results", &Pairs(&inv.results))?;
        m.serialize_entry("rc", &inv.rc)?;
        m.serialize_entry("stdout", &inv.stdout)?;
        m.serialize_entry("stderr", &inv.stderr)?;
        for w in ["info", "warning", "error", "critical"] {
            m.serialize_entry(w, &inv.count(w))?;
        }
        m.end()
    }
}

impl Serialize for Prov<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("host_version", &p.host_version)?;
        m.serialize_entry("wit", &p.wit)?;
        m.serialize_entry("checks_source", &p.checks_source)?;
        m.serialize_entry("components", &Components(p))?;
        m.serialize_entry("unimplemented", &p.unimplemented)?;
        m.serialize_entry("overrides", &p.overrides)?;
        m.end()
    }
}

impl Serialize for Components<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.components.len()))?;
        for c in &self.0.components {
            seq.serialize_element(&Component(c))?;
        }
        seq.end()
    }
}

impl Report {
    /// The report as one pretty-printed JSON document (2-space indent,
    /// trailing newline), keys in the order of the YAML document.
    pub fn to_json(&self) -> String {
        // Serialising plain strings, numbers and maps cannot fail.
        let mut s = serde_json::to_string_pretty(&Doc(self)).unwrap_or_default();
        s.push('\n');
        s
    }
}

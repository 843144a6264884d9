//! The report as JSON (`--format json`, content type
//! `application/x-signed-json`).
//!
//! Owns: one JSON document with exactly the keys, nesting, order and values
//! of the YAML document (b.1). It is made the way the monitor turns an
//! uploaded YAML document into JSON (c.1 step 6): the YAML is read back and
//! re-serialised, so `checked_at` and `reference_date` become the strings
//! `2026-11-29 19:58:50.525935` and `2026-11-29`, and the monitor stores the
//! same values whichever format was uploaded. Deriving it from the YAML
//! keeps the two formats in step whenever a field is added.
//!
//! Strings are escaped as in the YAML: every character that YAML loaders refuse
//! unescaped (DEL, C1 controls, U+2028/U+2029, U+FEFF, U+FFFE/U+FFFF; serde_json
//! already escapes C0 controls) is a `\uXXXX` escape, so no character of the JSON
//! makes a YAML loader (JSON is YAML 1.2; PyYAML reads it) refuse it
//! (docs/reports.md, Encoding).
//!
//! Must never: emit more than one document (the monitor's JSON path reads
//! exactly one), or reorder keys (the order is the YAML's).
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use super::Report;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A YAML/JSON value that keeps the order of map keys.
#[derive(Debug, Clone, PartialEq)]
enum Ordered {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Ordered>),
    Map(Vec<(String, Ordered)>),
}

struct OrderedVisitor;

impl<'de> Visitor<'de> for OrderedVisitor {
    type Value = Ordered;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a report value")
    }
    fn visit_unit<E>(self) -> Result<Ordered, E> {
        Ok(Ordered::Null)
    }
    fn visit_none<E>(self) -> Result<Ordered, E> {
        Ok(Ordered::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Ordered, D::Error> {
        Ordered::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Ordered, E> {
        Ok(Ordered::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Ordered, E> {
        Ok(Ordered::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Ordered, E> {
        Ok(Ordered::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Ordered, E> {
        Ok(Ordered::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Ordered, E> {
        Ok(Ordered::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Ordered, E> {
        Ok(Ordered::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = a.next_element()? {
            v.push(x);
        }
        Ok(Ordered::Seq(v))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Ordered, A::Error> {
        let mut v = Vec::new();
        while let Some((k, x)) = a.next_entry::<String, Ordered>()? {
            v.push((k, x));
        }
        Ok(Ordered::Map(v))
    }
}

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ordered, D::Error> {
        d.deserialize_any(OrderedVisitor)
    }
}

impl Serialize for Ordered {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Ordered::Null => s.serialize_unit(),
            Ordered::Bool(b) => s.serialize_bool(*b),
            Ordered::Int(i) => s.serialize_i64(*i),
            Ordered::UInt(u) => s.serialize_u64(*u),
            Ordered::Float(f) => s.serialize_f64(*f),
            Ordered::Str(t) => s.serialize_str(t),
            Ordered::Seq(v) => {
                let mut seq = s.serialize_seq(Some(v.len()))?;
                for x in v {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            Ordered::Map(v) => {
                let mut m = s.serialize_map(Some(v.len()))?;
                for (k, x) in v {
                    m.serialize_entry(k, x)?;
                }
                m.end()
            }
        }
    }
}

/// Re-serialise one YAML document as pretty JSON (2-space indent, trailing
/// newline), keeping key order, with the characters YAML loaders refuse escaped
/// ([`escape_for_loaders`]).
pub(crate) fn yaml_to_json(yaml: &str) -> Result<String, String> {
    let v: Ordered = yaml_serde::from_str(yaml).map_err(|e| e.to_string())?;
    let mut s = escape_for_loaders(serde_json::to_string_pretty(&v).map_err(|e| e.to_string())?);
    s.push('\n');
    Ok(s)
}

/// serde_json escapes only C0 controls, `"` and `\`. DEL, C1 controls, U+2028, U+2029, the
/// byte-order mark and U+FFFE/U+FFFF are valid JSON unescaped, but YAML loaders (JSON is YAML
/// 1.2; PyYAML reads it too) refuse them or read them as line breaks, and some JSON consumers
/// (JavaScript before ES2019) choke on U+2028: they are written as `\uXXXX` like the YAML
/// ([`super::literal_ok`]). Outside strings serde_json writes only ASCII punctuation,
/// digits, letters, spaces and newlines, so every such character is inside a string.
fn escape_for_loaders(json: String) -> String {
    let keep = |c: char| c == '\n' || super::literal_ok(c);
    if json.chars().all(keep) {
        return json;
    }
    let mut out = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if keep(c) {
            out.push(c);
        } else {
            // Never a surrogate and never past the BMP (see literal_ok): one escape.
            let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\u{:04x}", c as u32));
        }
    }
    out
}

impl Report {
    /// The report as one pretty-printed JSON document, keys and values as
    /// in [`Report::to_yaml`].
    pub fn to_json(&self) -> Result<String, super::ReportError> {
        yaml_to_json(&self.to_yaml()).map_err(super::ReportError::Json)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn order_and_scalars_survive() {
        let j = yaml_to_json(
            "---\nz: 1\na: -1\nm:\n  y: null\n  b: [x, \"1\"]\nt: 2026-11-29 19:58:50.525935\nd: 2026-11-29\n",
        )
        .unwrap();
        assert_eq!(
            j,
            "{\n  \"z\": 1,\n  \"a\": -1,\n  \"m\": {\n    \"y\": null,\n    \"b\": [\n      \"x\",\n      \"1\"\n    ]\n  },\n  \"t\": \"2026-11-29 19:58:50.525935\",\n  \"d\": \"2026-11-29\"\n}\n"
        );
    }
}

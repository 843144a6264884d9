//! JSON as the official script sees it after `json.loads`: objects keep the
//! order of their keys (a Python dict), and subscripting, iteration,
//! truthiness and comparison with a number fail or succeed as in Python.
//!
//! Owns: [`PyValue`] (deserialised from any JSON with serde, key order
//! kept, a repeated key keeps its first position and its last value as a
//! Python dict does) and the Python operations the version policy applies to
//! CVE data: `v[key]` ([`PyValue::getitem`]), `key in v`
//! ([`PyValue::contains_key`]), `for x in v` ([`PyValue::iter`]),
//! `bool(v)` ([`PyValue::truthy`]) and `v >= n` ([`PyValue::ge_number`]).
//! The key order matters where the official code stops at the first match
//! (`any(...)` over a metric entry's items, docs/official-behaviour.md d.12
//! point 6): `serde_json::Value` sorts keys, this type does not.
//!
//! Must never: panic on any input; every Python exception is an `Err` with
//! the exception's kind, which the check turns into ABORT (d.12: any
//! exception → ABORT).

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// A JSON value with Python semantics.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    /// `None`.
    None,
    /// `True` / `False`.
    Bool(bool),
    /// An `int` (as far as it fits).
    Int(i128),
    /// A `float`.
    Float(f64),
    /// A `str`.
    Str(String),
    /// A `list`.
    List(Vec<PyValue>),
    /// A `dict`, keys in insertion order.
    Dict(Vec<(String, PyValue)>),
}

impl PyValue {
    /// The Python type name, for exception texts.
    pub fn type_name(&self) -> &'static str {
        match self {
            PyValue::None => "NoneType",
            PyValue::Bool(_) => "bool",
            PyValue::Int(_) => "int",
            PyValue::Float(_) => "float",
            PyValue::Str(_) => "str",
            PyValue::List(_) => "list",
            PyValue::Dict(_) => "dict",
        }
    }

    /// `self[key]` with a string key: `KeyError` on a dict without it,
    /// `TypeError` on anything that is not a dict.
    pub fn getitem(&self, key: &str) -> Result<&PyValue, String> {
        match self {
            PyValue::Dict(items) => items
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .ok_or_else(|| format!("KeyError: '{key}'")),
            PyValue::Str(_) | PyValue::List(_) => Err(format!(
                "TypeError: {} indices must be integers or slices, not str",
                self.type_name()
            )),
            other => Err(format!(
                "TypeError: '{}' object is not subscriptable",
                other.type_name()
            )),
        }
    }

    /// `key in self` for a dict (a string key in a list or a substring of a
    /// str also count, as in Python; other types raise `TypeError`).
    pub fn contains_key(&self, key: &str) -> Result<bool, String> {
        match self {
            PyValue::Dict(items) => Ok(items.iter().any(|(k, _)| k == key)),
            PyValue::List(items) => Ok(items.iter().any(|v| *v == PyValue::Str(key.into()))),
            PyValue::Str(s) => Ok(s.contains(key)),
            other => Err(format!(
                "TypeError: argument of type '{}' is not iterable",
                other.type_name()
            )),
        }
    }

    /// `for x in self`: a list's items, a dict's keys, a str's characters;
    /// `TypeError` for anything else.
    pub fn iter(&self) -> Result<Vec<PyValue>, String> {
        match self {
            PyValue::List(items) => Ok(items.clone()),
            PyValue::Dict(items) => {
                Ok(items.iter().map(|(k, _)| PyValue::Str(k.clone())).collect())
            }
            PyValue::Str(s) => Ok(s.chars().map(|c| PyValue::Str(c.to_string())).collect()),
            other => Err(format!(
                "TypeError: '{}' object is not iterable",
                other.type_name()
            )),
        }
    }

    /// `self.items()`: only a dict has it (`AttributeError` otherwise).
    pub fn items(&self) -> Result<&[(String, PyValue)], String> {
        match self {
            PyValue::Dict(items) => Ok(items),
            other => Err(format!(
                "AttributeError: '{}' object has no attribute 'items'",
                other.type_name()
            )),
        }
    }

    /// `bool(self)`.
    pub fn truthy(&self) -> bool {
        match self {
            PyValue::None => false,
            PyValue::Bool(b) => *b,
            PyValue::Int(i) => *i != 0,
            PyValue::Float(f) => *f != 0.0,
            PyValue::Str(s) => !s.is_empty(),
            PyValue::List(l) => !l.is_empty(),
            PyValue::Dict(d) => !d.is_empty(),
        }
    }

    /// `self >= n` for an int `n`: numbers and bools compare, everything
    /// else raises `TypeError`.
    pub fn ge_number(&self, n: i64) -> Result<bool, String> {
        match self {
            PyValue::Bool(b) => Ok(i64::from(*b) >= n),
            PyValue::Int(i) => Ok(*i >= i128::from(n)),
            // f64 against a small int: exact for every n the check uses
            PyValue::Float(f) => Ok(*f >= n as f64),
            other => Err(format!(
                "TypeError: '>=' not supported between instances of '{}' and 'int'",
                other.type_name()
            )),
        }
    }

    /// The string, if this is a `str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            PyValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// `self == "text"`.
    pub fn eq_str(&self, text: &str) -> bool {
        self.as_str() == Some(text)
    }
}

struct PyVisitor;

impl<'de> Visitor<'de> for PyVisitor {
    type Value = PyValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<PyValue, E> {
        Ok(PyValue::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<PyValue, E> {
        Ok(PyValue::Int(i128::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<PyValue, E> {
        Ok(PyValue::Int(i128::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<PyValue, E> {
        Ok(PyValue::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<PyValue, E> {
        Ok(PyValue::Str(v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<PyValue, E> {
        Ok(PyValue::Str(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<PyValue, E> {
        Ok(PyValue::None)
    }
    fn visit_none<E: de::Error>(self) -> Result<PyValue, E> {
        Ok(PyValue::None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<PyValue, D::Error> {
        PyValue::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PyValue, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element::<PyValue>()? {
            out.push(v);
        }
        Ok(PyValue::List(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PyValue, A::Error> {
        let mut out: Vec<(String, PyValue)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, PyValue>()? {
            // json.loads into a dict: a repeated key keeps its first
            // position and takes the last value
            match out.iter_mut().find(|(key, _)| *key == k) {
                Some((_, old)) => *old = v,
                None => out.push((k, v)),
            }
        }
        Ok(PyValue::Dict(out))
    }
}

impl<'de> Deserialize<'de> for PyValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PyValue, D::Error> {
        d.deserialize_any(PyVisitor)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn py(text: &str) -> PyValue {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn keys_keep_their_order_and_the_last_value_wins() {
        let v = py(r#"{"z": 1, "a": 2, "z": 3}"#);
        assert_eq!(
            v,
            PyValue::Dict(vec![
                ("z".into(), PyValue::Int(3)),
                ("a".into(), PyValue::Int(2))
            ])
        );
        assert_eq!(
            v.iter().unwrap(),
            vec![PyValue::Str("z".into()), PyValue::Str("a".into())]
        );
    }

    #[test]
    fn python_operations() {
        let v = py(r#"{"a": null, "b": [1, "x"], "c": 8.0, "d": "s"}"#);
        assert_eq!(v.getitem("a").unwrap(), &PyValue::None);
        assert_eq!(v.getitem("zz").unwrap_err(), "KeyError: 'zz'");
        assert!(
            v.getitem("b")
                .unwrap()
                .getitem("x")
                .unwrap_err()
                .starts_with("TypeError")
        );
        assert!(
            v.getitem("a")
                .unwrap()
                .getitem("x")
                .unwrap_err()
                .starts_with("TypeError")
        );
        assert!(v.contains_key("a").unwrap());
        assert!(!v.contains_key("e").unwrap());
        assert!(v.getitem("b").unwrap().contains_key("x").unwrap());
        assert!(v.getitem("c").unwrap().contains_key("x").is_err());
        assert_eq!(v.getitem("d").unwrap().iter().unwrap().len(), 1);
        assert!(v.getitem("c").unwrap().iter().is_err());
        assert!(v.getitem("c").unwrap().ge_number(8).unwrap());
        assert!(!py("7.9").ge_number(8).unwrap());
        assert!(py("8").ge_number(8).unwrap());
        assert!(!py("true").ge_number(8).unwrap());
        assert!(py("\"9\"").ge_number(8).is_err());
        assert!(py("null").ge_number(8).is_err());
        assert!(v.items().is_ok());
        assert!(py("[]").items().is_err());
        for (t, want) in [
            ("null", false),
            ("false", false),
            ("0", false),
            ("0.0", false),
            ("\"\"", false),
            ("[]", false),
            ("{}", false),
            ("\"false\"", true),
            ("1", true),
            ("[0]", true),
        ] {
            assert_eq!(py(t).truthy(), want, "{t}");
        }
    }
}

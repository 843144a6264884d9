//! JSON field access that says which field was wrong.
//!
//! Owns: [`Field`], a cursor into a `serde_json::Value` that remembers its
//! path (`flavors[3].vcpus`) and the source of the document (`compute
//! flavors/detail`), so that every decode error is one line a cloud operator
//! can act on. Must never panic on malformed input.

use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

/// A decode error: where, and what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    /// What document (e.g. `compute GET flavors/detail`).
    pub source: String,
    /// Path inside it (e.g. `flavors[3].vcpus`).
    pub path: String,
    /// What was wrong.
    pub problem: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "malformed response from {}: field `{}`: {}",
            self.source, self.path, self.problem
        )
    }
}

impl std::error::Error for JsonError {}

/// A JSON value with its path inside the document.
#[derive(Debug, Clone)]
pub struct Field<'a> {
    source: &'a str,
    path: String,
    value: Option<&'a Value>,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl<'a> Field<'a> {
    /// The root of a document named `source` (e.g. `compute GET flavors/detail`).
    pub fn root(source: &'a str, value: &'a Value) -> Field<'a> {
        Field {
            source,
            path: String::new(),
            value: Some(value),
        }
    }

    /// A value found at `path` (for elements taken out of an array).
    pub fn at(source: &'a str, path: String, value: &'a Value) -> Field<'a> {
        Field {
            source,
            path,
            value: Some(value),
        }
    }

    fn err(&self, problem: impl Into<String>) -> JsonError {
        JsonError {
            source: self.source.to_string(),
            path: if self.path.is_empty() {
                "(root)".to_string()
            } else {
                self.path.clone()
            },
            problem: problem.into(),
        }
    }

    /// The raw value, if present.
    pub fn value(&self) -> Option<&'a Value> {
        self.value
    }

    /// The path as text.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Descend into object member `key` (absent if this is not an object).
    pub fn get(&self, key: &str) -> Field<'a> {
        Field {
            source: self.source,
            path: if self.path.is_empty() {
                key.to_string()
            } else {
                format!("{}.{key}", self.path)
            },
            value: self.value.and_then(|v| v.get(key)),
        }
    }

    /// Required string.
    pub fn string(&self) -> Result<String, JsonError> {
        match self.value {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(v) => Err(self.err(format!("expected a string, got {}", kind(v)))),
            None => Err(self.err("missing (expected a string)")),
        }
    }

    /// Optional string: missing or null → None; numbers and booleans are
    /// given as their JSON text (Glance properties are loosely typed).
    pub fn opt_string(&self) -> Result<Option<String>, JsonError> {
        match self.value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            Some(v) => Err(self.err(format!("expected a string, got {}", kind(v)))),
        }
    }

    /// Required non-negative integer.
    pub fn u64(&self) -> Result<u64, JsonError> {
        match self.value {
            Some(Value::Number(n)) => n
                .as_u64()
                .ok_or_else(|| self.err(format!("expected a non-negative integer, got {n}"))),
            Some(v) => Err(self.err(format!("expected a non-negative integer, got {}", kind(v)))),
            None => Err(self.err("missing (expected a non-negative integer)")),
        }
    }

    /// Optional non-negative integer (missing or null → None).
    pub fn opt_u64(&self) -> Result<Option<u64>, JsonError> {
        match self.value {
            None | Some(Value::Null) => Ok(None),
            _ => self.u64().map(Some),
        }
    }

    /// Optional boolean (missing or null → None).
    pub fn opt_bool(&self) -> Result<Option<bool>, JsonError> {
        match self.value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.err(format!("expected a boolean, got {}", kind(v)))),
        }
    }

    /// Required array, as fields named `path[i]`.
    pub fn array(&self) -> Result<Vec<Field<'a>>, JsonError> {
        match self.value {
            Some(Value::Array(a)) => Ok(a
                .iter()
                .enumerate()
                .map(|(i, v)| Field::at(self.source, format!("{}[{i}]", self.path), v))
                .collect()),
            Some(v) => Err(self.err(format!("expected an array, got {}", kind(v)))),
            None => Err(self.err("missing (expected an array)")),
        }
    }

    /// Optional object of string values (e.g. `extra_specs`); missing or
    /// null → None. Non-string values are an error naming the key.
    pub fn opt_string_map(&self) -> Result<Option<BTreeMap<String, String>>, JsonError> {
        match self.value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => {
                let mut out = BTreeMap::new();
                for (k, v) in map {
                    match v {
                        Value::String(s) => {
                            out.insert(k.clone(), s.clone());
                        }
                        other => {
                            return Err(self
                                .get(k)
                                .err(format!("expected a string, got {}", kind(other))));
                        }
                    }
                }
                Ok(Some(out))
            }
            Some(v) => Err(self.err(format!("expected an object, got {}", kind(v)))),
        }
    }

    /// Required object.
    pub fn object(&self) -> Result<&'a serde_json::Map<String, Value>, JsonError> {
        match self.value {
            Some(Value::Object(m)) => Ok(m),
            Some(v) => Err(self.err(format!("expected an object, got {}", kind(v)))),
            None => Err(self.err("missing (expected an object)")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_name_source_and_path() {
        let v = json!({"flavors": [{"vcpus": "two"}]});
        let root = Field::root("compute GET flavors/detail", &v);
        let flavors = root.get("flavors").array().unwrap();
        let e = flavors[0].get("vcpus").u64().unwrap_err();
        assert_eq!(e.path, "flavors[0].vcpus");
        assert_eq!(
            e.to_string(),
            "malformed response from compute GET flavors/detail: field `flavors[0].vcpus`: expected a non-negative integer, got a string"
        );
        let e = root.get("missing").string().unwrap_err();
        assert_eq!(e.problem, "missing (expected a string)");
    }

    #[test]
    fn loose_strings_and_maps() {
        let v = json!({"a": 5, "b": null, "m": {"k": "v"}, "bad": {"k": 1}});
        let root = Field::root("s", &v);
        assert_eq!(root.get("a").opt_string().unwrap().as_deref(), Some("5"));
        assert_eq!(root.get("b").opt_string().unwrap(), None);
        assert_eq!(root.get("m").opt_string_map().unwrap().unwrap()["k"], "v");
        let e = root.get("bad").opt_string_map().unwrap_err();
        assert_eq!(e.path, "bad.k");
        let e = root.get("m").array().unwrap_err();
        assert_eq!(e.problem, "expected an array, got an object");
    }
}

//! Combined runs: several subjects and scopes in one report file
//! (docs/official-behaviour.md b.2).
//!
//! Owns: concatenating per-job YAML documents into one multi-document file
//! (byte-wise, each document starting with `---`, as `scs-test-runner.py`
//! does), reading report files back as documents (YAML multi-document or
//! one JSON document) with the fields the monitor reads (c.1). The runner
//! configuration that plans such runs is [`crate::plan::config`].
//!
//! Must never: accept a document without the fields the monitor needs
//! (`subject`, `checked_at`, `spec.uuid`, `run.uuid`).

use super::{Format, Report};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One multi-document YAML file: the documents concatenated.
pub(crate) fn combine_yaml(reports: &[Report]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&r.to_yaml());
    }
    out
}

/// Errors reading a report file back.
#[derive(Debug, thiserror::Error)]
pub enum DocError {
    /// Not YAML / JSON.
    #[error("{source_name}: not a {format} report: {message}")]
    Syntax {
        /// File or label.
        source_name: String,
        /// yaml or json.
        format: &'static str,
        /// Parser message (one line).
        message: String,
    },
    /// Valid syntax, no document.
    #[error("{source_name}: holds no report document")]
    Empty {
        /// File or label.
        source_name: String,
    },
    /// A document lacks a field the monitor reads.
    #[error(
        "{source_name}: document {index}: field {field} is missing or not a {expected}; \
         is this an scs-cert / scs-compliance-check report?"
    )]
    Field {
        /// File or label.
        source_name: String,
        /// 1-based document index.
        index: usize,
        /// Dotted field path.
        field: String,
        /// Expected type.
        expected: &'static str,
    },
}

/// What the monitor reads from one document (c.1 "Fields read").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocSummary {
    /// `subject`.
    pub subject: String,
    /// `checked_at` as text.
    pub checked_at: String,
    /// `spec.uuid`.
    pub spec_uuid: String,
    /// `run.uuid`: the report's identity at the monitor.
    pub run_uuid: String,
    /// Testcase id → result over all invocations (later ones win).
    pub results: BTreeMap<String, i64>,
}

/// Parse report bytes into documents: YAML may hold several (the monitor
/// uses `load_all`), JSON exactly one.
pub(crate) fn parse_documents(
    bytes: &[u8],
    format: Format,
    source_name: &str,
) -> Result<Vec<serde_json::Value>, DocError> {
    let syntax = |message: String| DocError::Syntax {
        source_name: source_name.to_string(),
        format: format.name(),
        message: crate::errtext::one_line(&message),
    };
    let docs = match format {
        Format::Json => vec![
            serde_json::from_slice::<serde_json::Value>(bytes)
                .map_err(|e| syntax(e.to_string()))?,
        ],
        Format::Yaml => {
            let mut docs = Vec::new();
            for d in yaml_serde::Deserializer::from_slice(bytes) {
                let v = serde_json::Value::deserialize(d).map_err(|e| syntax(e.to_string()))?;
                if !v.is_null() {
                    docs.push(v);
                }
            }
            docs
        }
    };
    if docs.is_empty() {
        return Err(DocError::Empty {
            source_name: source_name.to_string(),
        });
    }
    Ok(docs)
}

/// The monitor's view of one document; `index` is 1-based for messages.
pub fn summarize(
    doc: &serde_json::Value,
    index: usize,
    source_name: &str,
) -> Result<DocSummary, DocError> {
    let field = |path: &str, expected: &'static str| DocError::Field {
        source_name: source_name.to_string(),
        index,
        field: path.to_string(),
        expected,
    };
    let text = |v: &serde_json::Value, path: &str| -> Result<String, DocError> {
        match v {
            serde_json::Value::String(s) if !s.is_empty() => Ok(s.clone()),
            _ => Err(field(path, "non-empty string")),
        }
    };
    let subject = text(&doc["subject"], "subject")?;
    let checked_at = text(&doc["checked_at"], "checked_at")?;
    let spec_uuid = text(&doc["spec"]["uuid"], "spec.uuid")?;
    let run_uuid = text(&doc["run"]["uuid"], "run.uuid")?;
    let mut results = BTreeMap::new();
    match &doc["run"]["invocations"] {
        serde_json::Value::Object(invs) => {
            for (id, inv) in invs {
                match &inv["results"] {
                    serde_json::Value::Object(r) => {
                        for (tc, v) in r {
                            let v = v.as_i64().ok_or_else(|| {
                                field(
                                    &format!("run.invocations.{id}.results.{tc}"),
                                    "number (1, 0 or -1)",
                                )
                            })?;
                            results.insert(tc.clone(), v);
                        }
                    }
                    serde_json::Value::Null => {}
                    _ => return Err(field(&format!("run.invocations.{id}.results"), "map")),
                }
            }
        }
        serde_json::Value::Null => {}
        _ => return Err(field("run.invocations", "map")),
    }
    Ok(DocSummary {
        subject,
        checked_at,
        spec_uuid,
        run_uuid,
        results,
    })
}

/// Parse and summarise every document of a report file.
pub(crate) fn summarize_bytes(
    bytes: &[u8],
    format: Format,
    source_name: &str,
) -> Result<Vec<DocSummary>, DocError> {
    parse_documents(bytes, format, source_name)?
        .iter()
        .enumerate()
        .map(|(i, d)| summarize(d, i + 1, source_name))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn documents_and_summaries() {
        let y = "---\nsubject: a\nchecked_at: 2026-11-29 19:58:50.525935\nspec:\n  uuid: s\nrun:\n  uuid: u1\n  invocations:\n    i:\n      results:\n        t1: 1\n        t2: -1\n---\nsubject: b\nchecked_at: 2026-11-29 19:58:51\nspec: {uuid: s}\nrun: {uuid: u2, invocations: {}}\n";
        let s = summarize_bytes(y.as_bytes(), Format::Yaml, "r.yaml").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].run_uuid, "u1");
        assert_eq!(s[0].checked_at, "2026-11-29 19:58:50.525935");
        assert_eq!(s[0].results["t2"], -1);
        assert_eq!(s[1].subject, "b");
        let e = summarize_bytes(b"---\nsubject: a\n", Format::Yaml, "r.yaml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("r.yaml: document 1: field checked_at"), "{e}");
        let e = summarize_bytes(b"", Format::Yaml, "r.yaml")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "r.yaml: holds no report document");
        let e = summarize_bytes(b"{", Format::Json, "r.json")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("r.json: not a json report"), "{e}");
    }
}

//! What one check may read of the run's data, and the record a transcript keeps of it.
//!
//! Owns: the run's data ([`RunData`]: the verified data file or none, the staleness bound
//! `--max-data-age` and the moment it is measured from, whether the run refreshed it), one
//! check's access ([`CheckData`]: its `data:<name>:read` grants, each read answered with the
//! dataset or one of `denied`, `missing`, `stale`, each read recorded as a [`DataRead`]), and
//! the transcript's data record ([`TranscriptData`]: the data file embedded, the reads of
//! every component) that a replay serves instead.
//!
//! Must never: hand out a dataset without its `data:<name>:read` grant, hand out stale data
//! (a dataset older than the bound is a `stale` error whose text names `scs-cert data
//! refresh`), or answer a replayed read other than as recorded.

use super::verify::{Dataset, VerifiedData};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// `--max-data-age` unless given: 48 hours (the shortest window the version policy tells apart
/// is 2 days: a critical-CVE fix older than that gives a WARNING, d.12).
pub const DEFAULT_MAX_AGE_HOURS: u64 = 48;
/// Most `data.get` calls one check may make (each copies a dataset into the guest).
pub const MAX_READS_PER_CHECK: usize = 1_000;
/// The command that makes a data file, named in every `missing` and `stale` text.
pub const REFRESH_COMMAND: &str = "scs-cert data refresh";

/// The data of one run.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The verified data file (`--data`), or none.
    pub file: Option<Arc<VerifiedData>>,
    /// Older data is stale [default [`DEFAULT_MAX_AGE_HOURS`] hours].
    pub max_age: chrono::Duration,
    /// When the run measured the data's age (its start).
    pub now: DateTime<Utc>,
    /// Whether the run fetched the data itself (`run --refresh-data`).
    pub refreshed: bool,
}

impl RunData {
    /// The data's age in whole hours at the run's start (0 without a file).
    pub fn age_hours(&self) -> i64 {
        self.file
            .as_ref()
            .map(|f| (self.now - f.manifest.generated()).num_hours())
            .unwrap_or(0)
    }

    /// Whether the data file is older than the bound.
    pub fn stale(&self) -> bool {
        self.file
            .as_ref()
            .is_some_and(|f| self.now - f.manifest.generated() > self.max_age)
    }
}

/// Why a read stops the check, or a transcript's data record cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// Over [`MAX_READS_PER_CHECK`].
    #[error("more than {MAX_READS_PER_CHECK} data reads; read each dataset once")]
    TooManyReads,
    /// The record is not one this host reads, or its embedded data file is unusable.
    #[error("{RECORD_FILE}: {0}")]
    Record(String),
}

/// How a read ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadOutcome {
    /// The dataset was handed out.
    Ok,
    /// No `data:<name>:read` capability.
    Denied,
    /// No such dataset in this run.
    Missing,
    /// Older than the bound.
    Stale,
}

/// One `data.get` of a check, as recorded in a transcript.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataRead {
    /// The name asked for (cut to 64 characters).
    pub name: String,
    /// How it ended.
    pub outcome: ReadOutcome,
    /// sha256 of the dataset handed out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Its size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The error text the check got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The answer to one read.
#[derive(Debug, Clone)]
pub enum Served {
    /// The dataset and the data file's `generated_at`.
    Dataset(Arc<Dataset>, String),
    /// `denied`.
    Denied(String),
    /// `missing`.
    Missing(String),
    /// `stale`.
    Stale(String),
}

#[derive(Debug, Clone, Default)]
enum Source {
    /// No data in this run at all (the text says how to get some).
    #[default]
    None,
    /// The run's data.
    Live(Arc<RunData>),
    /// A transcript's record: the embedded file and this component's reads, in order.
    Replay {
        file: Option<Arc<VerifiedData>>,
        recorded: VecDeque<DataRead>,
    },
}

/// One check's access to the run's data.
#[derive(Debug, Clone, Default)]
pub struct CheckData {
    source: Source,
    granted: BTreeSet<String>,
    reads: Vec<DataRead>,
}

fn no_file(name: &str) -> String {
    format!(
        "no dataset {name:?}: this run has no data file; make one with `{REFRESH_COMMAND}` on a connected machine and pass it with --data FILE"
    )
}

impl CheckData {
    /// Access to the run's data with the datasets `granted` (from `data:<name>:read`).
    pub fn live(run: Arc<RunData>, granted: BTreeSet<String>) -> Self {
        CheckData {
            source: Source::Live(run),
            granted,
            reads: Vec::new(),
        }
    }

    /// Access that answers as the transcript recorded.
    pub fn replay(
        file: Option<Arc<VerifiedData>>,
        recorded: Vec<DataRead>,
        granted: BTreeSet<String>,
    ) -> Self {
        CheckData {
            source: Source::Replay {
                file,
                recorded: recorded.into(),
            },
            granted,
            reads: Vec::new(),
        }
    }

    /// The reads so far (for the transcript and the log).
    pub fn take_reads(&mut self) -> Vec<DataRead> {
        std::mem::take(&mut self.reads)
    }

    /// Answer `data.get(name)`; an `Err` stops the check (too many reads).
    pub fn get(&mut self, name: &str) -> Result<Served, AccessError> {
        if self.reads.len() >= MAX_READS_PER_CHECK {
            return Err(AccessError::TooManyReads);
        }
        let shown = crate::errtext::bounded_text(name, 64);
        let served = self.answer(name, &shown);
        let (outcome, sha256, size, message) = match &served {
            Served::Dataset(d, _) => (
                ReadOutcome::Ok,
                Some(d.sha256.clone()),
                Some(d.content.len() as u64),
                None,
            ),
            Served::Denied(m) => (ReadOutcome::Denied, None, None, Some(m.clone())),
            Served::Missing(m) => (ReadOutcome::Missing, None, None, Some(m.clone())),
            Served::Stale(m) => (ReadOutcome::Stale, None, None, Some(m.clone())),
        };
        self.reads.push(DataRead {
            name: shown,
            outcome,
            sha256,
            size,
            message,
        });
        Ok(served)
    }

    fn answer(&mut self, name: &str, shown: &str) -> Served {
        let denied = !self.granted.contains(name);
        let denial = || {
            Served::Denied(format!(
                "the check did not declare capability {} (needed to read dataset {shown:?})",
                super::capability(shown)
            ))
        };
        match &mut self.source {
            Source::None | Source::Live(_) if denied => denial(),
            Source::None => Served::Missing(no_file(shown)),
            Source::Live(run) => live_answer(run, name, shown),
            Source::Replay { file, recorded } => {
                let Some(r) = recorded.pop_front() else {
                    return Served::Missing(format!(
                        "replay: the transcript records no further read of a dataset by this check (asked for {shown:?})"
                    ));
                };
                if r.name != shown {
                    return Served::Missing(format!(
                        "replay: the transcript records a read of {:?} here, the check asked for {shown:?}",
                        r.name
                    ));
                }
                let message = r.message.clone().unwrap_or_default();
                if denied && r.outcome != ReadOutcome::Denied {
                    return denial();
                }
                match r.outcome {
                    ReadOutcome::Denied => Served::Denied(message),
                    ReadOutcome::Missing => Served::Missing(message),
                    ReadOutcome::Stale => Served::Stale(message),
                    ReadOutcome::Ok => match file
                        .as_ref()
                        .and_then(|f| f.datasets.get(name).map(|d| (f, d)))
                    {
                        Some((f, d)) if Some(&d.sha256) == r.sha256.as_ref() => {
                            Served::Dataset(d.clone(), f.manifest.generated_at.clone())
                        }
                        _ => Served::Missing(format!(
                            "replay: the transcript's data file does not hold dataset {shown:?} with sha256 {}",
                            r.sha256.as_deref().unwrap_or("?")
                        )),
                    },
                }
            }
        }
    }
}

fn live_answer(run: &RunData, name: &str, shown: &str) -> Served {
    let Some(f) = &run.file else {
        return Served::Missing(no_file(shown));
    };
    let m = &f.manifest;
    let Some(d) = f.datasets.get(name) else {
        return Served::Missing(format!(
            "data file {} (sequence {}) has no dataset {shown:?} (it holds {}); make one that does with `{REFRESH_COMMAND}`",
            m.name,
            m.sequence,
            f.datasets.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    };
    if run.stale() {
        return Served::Stale(format!(
            "dataset {shown:?} of data file {} (sequence {}) was generated at {}, {} h before this run; data older than {} h is stale (--max-data-age); run `{REFRESH_COMMAND}` on a connected machine and pass the new file with --data",
            m.name,
            m.sequence,
            m.generated_at,
            run.age_hours(),
            run.max_age.num_hours()
        ));
    }
    Served::Dataset(d.clone(), m.generated_at.clone())
}

/// `format` of a transcript's data record.
pub const RECORD_FORMAT: &str = "scs-cert-data-reads";
/// File name of the data record inside a transcript directory.
pub const RECORD_FILE: &str = "data.json";

/// The data record of a transcript: the data file the run verified (embedded, base64) and
/// every component's reads in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TranscriptData {
    /// Always [`RECORD_FORMAT`].
    pub format: String,
    /// Always 1.
    pub version: u32,
    /// The verified data file's bytes, base64; none when the run had none.
    pub data_file: Option<String>,
    /// sha256 of the data file's manifest.
    pub manifest_sha256: Option<String>,
    /// Whether the run refreshed the data itself.
    pub refreshed: bool,
    /// Component id → its reads, in order.
    pub reads: BTreeMap<String, Vec<DataRead>>,
}

impl TranscriptData {
    /// The record of a run.
    pub fn new(run: &RunData, reads: BTreeMap<String, Vec<DataRead>>) -> Self {
        use base64::Engine as _;
        TranscriptData {
            format: RECORD_FORMAT.into(),
            version: 1,
            data_file: run
                .file
                .as_ref()
                .map(|f| base64::engine::general_purpose::STANDARD.encode(&f.bytes)),
            manifest_sha256: run.file.as_ref().map(|f| f.manifest_sha256.clone()),
            refreshed: run.refreshed,
            reads,
        }
    }

    /// The exact bytes written.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_vec_pretty(self).unwrap_or_default();
        v.push(b'\n');
        v
    }

    /// Parse a record and open its embedded data file (untrusted: the report's digest and
    /// `report reproduce` decide whether it is the right one).
    pub fn parse(bytes: &[u8]) -> Result<(Self, Option<Arc<VerifiedData>>), AccessError> {
        use base64::Engine as _;
        let rec = |m: String| AccessError::Record(m);
        let t: TranscriptData = serde_json::from_slice(bytes).map_err(|e| rec(e.to_string()))?;
        if t.format != RECORD_FORMAT || t.version != 1 {
            return Err(rec(format!(
                "format {:?} version {} is not one this host reads",
                t.format, t.version
            )));
        }
        let file = match &t.data_file {
            None => None,
            Some(b64) => {
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|e| rec(format!("data_file: {e}")))?;
                let v = super::verify::open_untrusted(&raw, "transcript")
                    .map_err(|e| rec(format!("the embedded data file: {e}")))?;
                if t.manifest_sha256.as_ref() != Some(&v.manifest_sha256) {
                    return Err(rec(format!(
                        "the embedded data file's manifest sha256 {} is not the recorded one",
                        v.manifest_sha256
                    )));
                }
                Some(Arc::new(v))
            }
        };
        Ok((t, file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset() -> Arc<VerifiedData> {
        let t = crate::trust::root::parse_rfc3339_utc("2026-11-29T06:00:00Z").expect("t");
        let (bytes, _) = super::super::file::build(&super::super::file::BuildInput {
            name: "k8s-data".into(),
            sequence: 1,
            generated_at: t,
            expires: t + chrono::Duration::days(7),
            datasets: vec![super::super::file::DatasetInput {
                name: "k8s-eol".into(),
                content: br#"{"source":"u","branches":[]}"#.to_vec(),
                sources: vec![],
            }],
        })
        .expect("build");
        Arc::new(super::super::verify::open_untrusted(&bytes, "x").expect("open"))
    }

    #[test]
    fn reads() {
        let f = dataset();
        let gen_at = f.manifest.generated();
        let run = |hours: i64| {
            Arc::new(RunData {
                file: Some(f.clone()),
                max_age: chrono::Duration::hours(48),
                now: gen_at + chrono::Duration::hours(hours),
                refreshed: false,
            })
        };
        let granted: BTreeSet<String> = ["k8s-eol".to_string()].into();
        let mut c = CheckData::live(run(1), granted.clone());
        assert!(matches!(c.get("k8s-eol"), Ok(Served::Dataset(..))));
        assert!(matches!(c.get("k8s-cves"), Ok(Served::Denied(_))));
        let mut c = CheckData::live(run(49), granted.clone());
        match c.get("k8s-eol") {
            Ok(Served::Stale(m)) => assert!(m.contains("scs-cert data refresh"), "{m}"),
            other => panic!("{other:?}"),
        }
        let mut none = CheckData::live(
            Arc::new(RunData {
                file: None,
                max_age: chrono::Duration::hours(48),
                now: gen_at,
                refreshed: false,
            }),
            granted.clone(),
        );
        match none.get("k8s-eol") {
            Ok(Served::Missing(m)) => assert!(m.contains("scs-cert data refresh"), "{m}"),
            other => panic!("{other:?}"),
        }
        // the record replays to the same answers
        let mut c = CheckData::live(run(1), granted.clone());
        let _ = c.get("k8s-eol");
        let _ = c.get("k8s-eol");
        let rec = TranscriptData::new(&run(1), [("x".to_string(), c.take_reads())].into());
        let (parsed, file) = TranscriptData::parse(&rec.to_bytes()).expect("parse");
        let mut r = CheckData::replay(file, parsed.reads["x"].clone(), granted);
        assert!(matches!(r.get("k8s-eol"), Ok(Served::Dataset(..))));
        assert!(matches!(r.get("k8s-eol"), Ok(Served::Dataset(..))));
        assert!(matches!(r.get("k8s-eol"), Ok(Served::Missing(_))));
    }
}

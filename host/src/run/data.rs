//! The run's signed data: where the checks' `data.get` reads go (the verified data file of
//! `--data`, or a replayed transcript's data record), the record `--record` writes beside the
//! transcript (`data.json`: the data file embedded and every component's reads), and the
//! report's `run.scs_cert.data`.
//!
//! Must never: give a replay other data than the transcript recorded, or leave the report
//! silent about the data file a run used.

use super::{Planned, RunError, RunOptions};
use crate::bundle::LoadedCheck;
use crate::data::access::{CheckData, DataRead, RECORD_FILE, RunData, TranscriptData};
use crate::data::verify::VerifiedData;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Where the checks' data reads go: the run's data file, or a transcript's data record.
#[derive(Debug, Clone)]
pub(super) enum DataSource {
    /// The run's data (possibly none: reads get `missing`).
    Live(Arc<RunData>),
    /// A transcript's record: the embedded data file and each component's reads.
    Replay {
        /// The embedded data file.
        file: Option<Arc<VerifiedData>>,
        /// Component id → its reads.
        reads: Arc<BTreeMap<String, Vec<DataRead>>>,
        /// sha256 of the record file (empty: the transcript has none).
        record_sha256: String,
        /// Whether the recorded run refreshed its data.
        refreshed: bool,
    },
}

impl DataSource {
    /// One check's access: its `data:<name>:read` grants over this source.
    pub(super) fn for_check(&self, check: &LoadedCheck) -> CheckData {
        let granted = check.meta.datasets();
        match self {
            DataSource::Live(run) => CheckData::live(run.clone(), granted),
            DataSource::Replay { file, reads, .. } => CheckData::replay(
                file.clone(),
                reads.get(&check.meta.id).cloned().unwrap_or_default(),
                granted,
            ),
        }
    }

    /// `run.scs_cert.data` of the report: the data file this run used (none: no block).
    /// `recorded`: the sha256 of the data record this run wrote.
    pub(super) fn provenance(
        &self,
        recorded: Option<String>,
    ) -> Option<crate::report::DataProvenance> {
        let (file, refreshed, max_age_hours, age_hours, mode, record_sha256) = match self {
            DataSource::Live(run) => (
                run.file.clone(),
                run.refreshed,
                Some(run.max_age.num_hours()),
                Some(run.age_hours()),
                "live",
                recorded,
            ),
            DataSource::Replay {
                file,
                refreshed,
                record_sha256,
                ..
            } => (
                file.clone(),
                *refreshed,
                None,
                None,
                "replayed",
                Some(record_sha256.clone()),
            ),
        };
        let f = file?;
        Some(crate::report::DataProvenance {
            name: f.manifest.name.clone(),
            sequence: f.manifest.sequence,
            manifest_sha256: f.manifest_sha256.clone(),
            archive_sha256: f.archive_sha256.clone(),
            generated_at: f.manifest.generated_at.clone(),
            expires: f.manifest.expires.clone(),
            signers: f.signers.clone(),
            authorized_by: f.authorized_by.clone(),
            root_version: f.root_version,
            datasets: f
                .datasets
                .values()
                .map(|d| (d.name.clone(), d.sha256.clone()))
                .collect(),
            max_age_hours,
            age_hours,
            refreshed,
            mode: mode.to_string(),
            record_sha256,
        })
    }
}

/// The data of this run: on a replay the transcript's data record (`data.json`, if the
/// recorded run had one), else the verified data file of the options.
pub(super) fn data_source(opts: &RunOptions, replaying: bool) -> Result<DataSource, RunError> {
    if replaying && let Some(dir) = &opts.replay {
        let path = dir.join(RECORD_FILE);
        if !path.exists() {
            return Ok(DataSource::Replay {
                file: None,
                reads: Arc::new(BTreeMap::new()),
                record_sha256: String::new(),
                refreshed: false,
            });
        }
        let bytes = crate::fsutil::read_bounded(&path, 2 * crate::data::file::MAX_DATA_FILE_BYTES)
            .map_err(|e| RunError::DataRecord(e.to_string()))?;
        let (record, file) = TranscriptData::parse(&bytes)
            .map_err(|e| RunError::DataRecord(format!("{}: {e}", dir.display())))?;
        return Ok(DataSource::Replay {
            file,
            reads: Arc::new(record.reads),
            record_sha256: crate::bundle::manifest::sha256_hex(&bytes),
            refreshed: record.refreshed,
        });
    }
    Ok(DataSource::Live(opts.data.clone().unwrap_or_else(|| {
        Arc::new(RunData {
            file: None,
            max_age: chrono::Duration::hours(crate::data::access::DEFAULT_MAX_AGE_HOURS as i64),
            now: chrono::Utc::now(),
            refreshed: false,
        })
    })))
}

/// With `--record`: the transcript's data record (`DIR/data.json`), when the run had a data
/// file or a check read one; its sha256.
pub(super) fn write_data_record(
    dir: &std::path::Path,
    data: &DataSource,
    planned: &[Planned],
    outcomes: &[crate::sandbox::CheckOutcome],
) -> Result<Option<String>, RunError> {
    let DataSource::Live(run) = data else {
        return Ok(None);
    };
    let reads: BTreeMap<String, Vec<DataRead>> = planned
        .iter()
        .zip(outcomes)
        .filter(|(_, o)| !o.data_reads.is_empty())
        .map(|(p, o)| (p.check.meta.id.clone(), o.data_reads.clone()))
        .collect();
    if run.file.is_none() && reads.is_empty() {
        return Ok(None);
    }
    let bytes = TranscriptData::new(run, reads).to_bytes();
    let path = dir.join(RECORD_FILE);
    crate::fsutil::write_atomic(&path, &bytes).map_err(|e| RunError::DataRecord(e.to_string()))?;
    Ok(Some(crate::bundle::manifest::sha256_hex(&bytes)))
}

/// A check that read stale data never passes: its PASS results become ABORT with the stale
/// text (the check was told; this holds even if it ignored it).
pub(super) fn no_pass_on_stale(outcome: &mut crate::sandbox::CheckOutcome) {
    use crate::data::access::ReadOutcome;
    let Some(stale) = outcome
        .data_reads
        .iter()
        .find(|r| r.outcome == ReadOutcome::Stale)
        .and_then(|r| r.message.clone())
    else {
        return;
    };
    let mut changed = false;
    for r in &mut outcome.results {
        if r.1 == crate::sandbox::Verdict::Pass {
            r.1 = crate::sandbox::Verdict::Abort;
            r.2 = stale.clone();
            changed = true;
        }
    }
    if changed {
        outcome.logs.push(crate::sandbox::LogLine {
            level: "ERROR",
            message: format!(
                "PASS turned into ABORT by the host: the check read stale data: {stale}"
            ),
        });
    }
}

//! After the components ran: the transcript of their calls, the report (invocations and
//! provenance), the console summary per version and target, and the overall outcome.
//!
//! Must never: drop a result, or report a testcase as passed that no component answered.

use super::{ComponentPlan, Connected, Overall, Planned, RunError, RunOptions, Selection};
use crate::mediate::Grants;
use crate::mediate::transcript;
use crate::report::{ComponentProvenance, Invocation, Provenance, Report, SpecRef};
use crate::sandbox::CheckOutcome;
use crate::scope::{self, Spec, TargetSummary};
use std::collections::BTreeMap;

/// The transcript: every component's calls, in order.
pub(super) fn write_transcript(
    dir: &std::path::Path,
    planned: &[Planned],
    outcomes: &mut [CheckOutcome],
    connected: &Connected,
) -> Result<transcript::Written, RunError> {
    let mut comps = BTreeMap::new();
    for (p, o) in planned.iter().zip(outcomes.iter_mut()) {
        comps.insert(
            p.check.meta.id.clone(),
            (p.check.sha256.clone(), o.events.take().unwrap_or_default()),
        );
    }
    Ok(transcript::write_with_cluster(
        dir,
        connected.recorded_cloud.clone(),
        connected.target.as_ref().err().cloned(),
        connected.recorded_cluster.clone(),
        &comps,
    )?)
}

/// One invocation per component, and its provenance.
fn invocation_of(p: &Planned, o: &CheckOutcome) -> (Invocation, ComponentProvenance) {
    let cmd = format!(
        "{}@{} sha256:{} {}",
        p.check.meta.id,
        p.check.meta.version,
        p.check.sha256,
        p.testcases.join(" ")
    );
    let invocation = Invocation {
        id: p.invocation.clone(),
        cmd,
        results: o
            .results
            .iter()
            .map(|(t, v, _)| (t.clone(), v.value()))
            .collect(),
        rc: if o.abort.is_some() { 1 } else { 0 },
        stdout: o
            .results
            .iter()
            .map(|(t, v, _)| format!("{t}: {}", v.as_str()))
            .collect(),
        stderr: o
            .logs
            .iter()
            .map(|l| format!("{}: {}", l.level, l.message))
            .collect(),
    };
    let provenance = ComponentProvenance {
        id: p.check.meta.id.clone(),
        version: p.check.meta.version.clone(),
        sha256: p.check.sha256.clone(),
        capabilities: Grants::from_capabilities(&p.check.meta.mediated_capabilities())
            .map(|g| g.to_capabilities())
            .unwrap_or_default()
            .into_iter()
            .chain(
                p.check
                    .meta
                    .datasets()
                    .iter()
                    .map(|d| crate::data::capability(d)),
            )
            .collect(),
        invocation: p.invocation.clone(),
        requests: o.stats.requests,
        elapsed_ms: o.elapsed.as_millis() as u64,
    };
    (invocation, provenance)
}

/// The report: invocations, the run's parameters and the provenance block.
pub(super) fn assemble_report(
    opts: &RunOptions,
    spec: &Spec,
    checked_at: chrono::NaiveDateTime,
    plan: ComponentPlan,
    outcomes: &[CheckOutcome],
    transcript_info: Option<&transcript::Written>,
    replay: Option<&transcript::LoadedTranscript>,
) -> Report {
    let (invocations, components): (Vec<_>, Vec<_>) = plan
        .planned
        .iter()
        .zip(outcomes)
        .map(|(p, o)| invocation_of(p, o))
        .unzip();
    let transcript = match (transcript_info, replay) {
        (Some(w), _) => Some(crate::report::TranscriptRef {
            sha256: w.sha256.clone(),
            version: w.version,
            mode: "recorded".to_string(),
        }),
        (None, Some(t)) => Some(crate::report::TranscriptRef {
            sha256: t.sha256.clone(),
            version: t.manifest.version,
            mode: "replayed".to_string(),
        }),
        (None, None) => None,
    };
    Report {
        spec: SpecRef {
            uuid: spec.uuid.clone(),
            name: spec.name.clone(),
            url: spec.url.clone(),
        },
        checked_at,
        reference_date: opts.date,
        subject: opts.subject.clone(),
        run_uuid: uuid::Uuid::new_v4().to_string(),
        argv: opts.argv.clone(),
        assignment: opts.assignments.iter().cloned().collect(),
        sections: opts.sections.clone(),
        forced_version: opts.forced_version.clone(),
        forced_tests: opts.tests.clone(),
        invocations,
        provenance: Provenance {
            host_version: env!("CARGO_PKG_VERSION").to_string(),
            wit: crate::sandbox::WIT_PACKAGE.to_string(),
            checks_source: plan.checks_source,
            components,
            unimplemented: plan.unimplemented,
            overrides: opts
                .bundle
                .iter()
                .chain(&opts.contributions)
                .flat_map(|b| b.overrides.iter().cloned())
                .collect(),
            write_checks: None,
            bundle: opts.bundle.as_deref().map(bundle_provenance),
            contributions: opts
                .contributions
                .iter()
                .map(|b| bundle_provenance(b))
                .collect(),
            data: None,
            cluster: None,
            cloud: None,
            transcript,
        },
    }
}

/// Per version and target, as the official tool prints it (a.3 step 7).
pub(super) fn console_summary(
    opts: &RunOptions,
    spec: &Spec,
    sel: &Selection,
    results: &BTreeMap<String, i8>,
) -> (String, Vec<(String, Vec<TargetSummary>)>) {
    // --due narrows like -S/-t: the testcases left out are counted, not listed as missing
    let narrowed = opts.sections.is_some() || opts.tests.is_some() || opts.due.is_some();
    let mut summaries = Vec::new();
    let mut console = String::new();
    for v in &sel.versions {
        let mut sums: Vec<TargetSummary> = sel
            .targets
            .iter()
            .map(|t| scope::summarize(spec, &v.name, t, results, narrowed, &sel.selected))
            .collect();
        if sel.with_recommended {
            let ids = spec.select_recommended(
                std::slice::from_ref(v),
                opts.sections.as_deref(),
                sel.regex.as_ref(),
            );
            sums.push(scope::summarize_ids(
                "recommended",
                &ids,
                results,
                narrowed,
                &sel.selected,
            ));
        }
        let mut header = format!("{} {}", opts.subject, spec.name);
        if let Some(s) = &opts.sections {
            header.push_str(&format!(" [sections: {}]", s.join(", ")));
        }
        if let Some(t) = &opts.tests {
            header.push_str(&format!(" [tests: '{t}']"));
        }
        header.push(' ');
        header.push_str(&v.name);
        console.push_str(&crate::report::console_version(&header, &sums, &|id| {
            spec.testcases
                .get(id)
                .map(|t| (t.description.clone(), t.url.clone()))
                .unwrap_or((None, None))
        }));
        summaries.push((v.name.clone(), sums));
    }
    (console, summaries)
}

/// FAIL before ABORT before missing results.
pub(super) fn overall(selected: &[String], results: &BTreeMap<String, i8>) -> Overall {
    let values: Vec<Option<i8>> = selected.iter().map(|id| results.get(id).copied()).collect();
    if values.contains(&Some(-1)) {
        Overall::Fail
    } else if values.contains(&Some(0)) {
        Overall::Abort
    } else if values.contains(&None) {
        Overall::Tentative
    } else {
        Overall::Pass
    }
}

/// The report's description of a verified bundle: name, version, digests, signers, authority.
fn bundle_provenance(b: &crate::bundle::VerifiedBundle) -> crate::report::BundleProvenance {
    crate::report::BundleProvenance {
        name: b.manifest.name.clone(),
        version: b.manifest.version.clone(),
        sequence: b.manifest.sequence,
        manifest_sha256: b.manifest_sha256.clone(),
        archive_sha256: b.archive_sha256.clone(),
        expires: b.manifest.expires.clone(),
        signers: b.signers.clone(),
        authorized_by: b.authorized_by.clone(),
        root_version: b.root_version,
    }
}

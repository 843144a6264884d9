//! Check component for scs-0102 (image metadata), v1 and v2 alike.
//!
//! Owns: the 20 `scs-0102-*` testcases of docs/official-behaviour.md d.3 (with h.1 and
//! h.7): the property rules (`scs-0102-prop-*`), the build-date and
//! `uuid_validity` date rules, `scs-0102-image-recency` (replace periods
//! with the 1.1 factor, `provided_until`, marked and unmarked names, the
//! replacement lookup) and `scs-0102-os_purpose-uniqueness`, over the image
//! population of d.0/h.1 (the listed `public` and `community` images). Every
//! check FAILs if any image offends and logs an ERROR line naming the
//! offenders, like the official code; Python exceptions of the official
//! code become ABORT here.
//!
//! Must never: change the cloud, read the clock other than through the host
//! (`sdk::now_ms`), or "fix" a quirk of the official code; each reproduced
//! quirk carries a `d.3 quirk:` comment.

pub mod pydate;

use pydate::{DATE_FORMATS, MARKER_DATE_FORMATS, STRICT_FORMATS, parse_date};
use scs_check_sdk::lines::Lines;
use scs_check_sdk::openstack::{Image, images};
use scs_check_sdk::python_str::{is_decimal, repr, rsplit_once, rstrip};
use scs_check_sdk::{self as sdk, TestcaseResult};
use std::collections::HashMap;

/// Allowed `architecture` values.
pub const ARCHITECTURES: &[&str] = &["x86_64", "aarch64", "risc-v"];
/// Allowed `hw_disk_bus` values (unset is allowed too).
pub const HW_DISK_BUSES: &[&str] = &["virtio", "scsi"];
/// Allowed `hypervisor_type` values (unset is allowed too).
pub const HYPERVISOR_TYPES: &[&str] = &["qemu", "kvm", "xen", "hyper-v", "esxi"];
/// Allowed `hw_rng_model` values (unset is allowed too).
pub const HW_RNG_MODELS: &[&str] = &["virtio"];
/// Allowed `os_purpose` values (d.3; v2 added `oldgeneric`).
pub const OS_PURPOSES: &[&str] = &[
    "generic",
    "oldgeneric",
    "minimal",
    "k8snode",
    "gpu",
    "network",
    "custom",
];
/// `replace_frequency` values with their period in seconds (0: no period).
/// The periods are rounded up on purpose (weekly is 7 x 25 h).
pub const FREQ_TO_SEC: &[(&str, i64)] = &[
    ("never", 0),
    ("critical_bug", 0),
    ("yearly", 365 * 24 * 3600),
    ("quarterly", 92 * 24 * 3600),
    ("monthly", 31 * 24 * 3600),
    ("weekly", 7 * 25 * 3600),
    ("daily", 25 * 3600),
];
/// Last name words that mark an outdated image as rotated out.
pub const OUTDATED_MARKERS: &[&str] = &["old", "prev"];
const GIB: u128 = 1 << 30;

/// The outcome of one testcase: `Ok(pass?)`, or `Err` for what raises in
/// the official code (→ ABORT).
pub type Outcome = Result<bool, String>;

/// Everything a testcase needs: the image list and "now".
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The checked images, in the cloud's order (Glance: newest first).
    pub images: &'a [Image],
    /// Now, in milliseconds since the epoch (host clock).
    pub now_ms: u64,
}

impl Ctx<'_> {
    /// `bdate > now` with `now` the float `time.time()`: for integer
    /// seconds this equals `secs * 1000 > now_ms`.
    fn after_now(&self, secs: i64) -> bool {
        i128::from(secs) * 1000 > i128::from(self.now_ms)
    }
    fn now_secs(&self) -> f64 {
        self.now_ms as f64 / 1000.0
    }
}

/// `img.name` (None when Glance has no name for the image).
fn name(img: &Image) -> Option<&str> {
    img.prop("name")
}

/// A name as Python's f-strings show it.
fn shown(img: &Image) -> &str {
    name(img).unwrap_or("None")
}

/// Python truthiness of an optional string.
fn truthy(v: Option<&str>) -> bool {
    v.is_some_and(|s| !s.is_empty())
}

/// The official `_log_error`: one line naming all offenders.
///
/// d.3 quirk: the names are joined with `', '.join(...)`, which raises a
/// TypeError when an offender has no name (null in Glance): the whole
/// testcase then ABORTs instead of failing.
fn log_offenders(
    lines: &mut Lines,
    cause: &str,
    offenders: &[&Image],
    warning: bool,
) -> Result<(), String> {
    if offenders.is_empty() {
        return Ok(());
    }
    let mut names = Vec::with_capacity(offenders.len());
    for (i, img) in offenders.iter().enumerate() {
        match name(img) {
            Some(n) => names.push(n),
            None => {
                return Err(format!(
                    "TypeError: sequence item {i}: expected str instance, NoneType found \
                     (image {} has no name; logging '{cause}')",
                    img.id
                ));
            }
        }
    }
    let msg = format!("{cause} for image(s): {}", names.join(", "));
    if warning {
        lines.warning(msg);
    } else {
        lines.error(msg);
    }
    Ok(())
}

/// Check that every image passes `ok`; log the offenders with `cause`.
fn each(ctx: Ctx, lines: &mut Lines, cause: &str, ok: impl Fn(&Image) -> bool) -> Outcome {
    let offenders: Vec<&Image> = ctx.images.iter().filter(|i| !ok(i)).collect();
    log_offenders(lines, cause, &offenders, false)?;
    Ok(offenders.is_empty())
}

/// A value that must be one of `allowed` or unset (missing or null).
/// h.7: an empty string is not "unset".
fn in_or_unset(v: Option<&str>, allowed: &[&str]) -> bool {
    v.is_none_or(|v| allowed.contains(&v))
}

/// `scs-0102-prop-architecture`: missing offends.
pub fn prop_architecture(ctx: Ctx, lines: &mut Lines) -> Outcome {
    each(ctx, lines, "property architecture not correct", |i| {
        i.prop("architecture")
            .is_some_and(|a| ARCHITECTURES.contains(&a))
    })
}

/// `scs-0102-prop-hash_algo` (Glance `os_hash_algo`).
pub fn prop_hash_algo(ctx: Ctx, lines: &mut Lines) -> Outcome {
    each(ctx, lines, "property hash_algo invalid", |i| {
        matches!(i.prop("os_hash_algo"), Some("sha256" | "sha512"))
    })
}

/// `scs-0102-prop-min_disk`: set (non-zero), and `min_disk` GiB at least
/// the image size.
pub fn prop_min_disk(ctx: Ctx, lines: &mut Lines) -> Outcome {
    let unset: Vec<&Image> = ctx
        .images
        .iter()
        .filter(|i| i.min_disk.unwrap_or(0) == 0)
        .collect();
    log_offenders(lines, "property min_disk not set", &unset, false)?;
    let mut small = Vec::new();
    for img in ctx.images {
        let Some(min_disk) = img.min_disk.filter(|d| *d != 0) else {
            continue;
        };
        // d.3 quirk: `min_disk * GIB < size` with size None raises a
        // TypeError in Python 3 → ABORT (only for images with min_disk set).
        let Some(size) = img.size else {
            return Err(format!(
                "TypeError: '<' not supported between instances of 'int' and 'NoneType' \
                 (image {} has min_disk but no size)",
                shown(img)
            ));
        };
        if u128::from(min_disk) * GIB < u128::from(size) {
            small.push(img);
        }
    }
    log_offenders(lines, "property min_disk smaller than size", &small, false)?;
    Ok(unset.is_empty() && small.is_empty())
}

/// `scs-0102-prop-min_ram`: set (non-zero); below 64 MiB is a WARNING only.
pub fn prop_min_ram(ctx: Ctx, lines: &mut Lines) -> Outcome {
    let unset: Vec<&Image> = ctx
        .images
        .iter()
        .filter(|i| i.min_ram.unwrap_or(0) == 0)
        .collect();
    log_offenders(lines, "property min_ram not set", &unset, false)?;
    let low: Vec<&Image> = ctx
        .images
        .iter()
        .filter(|i| i.min_ram.is_some_and(|r| r != 0 && r < 64))
        .collect();
    log_offenders(lines, "property min_ram < 64 MiB", &low, true)?;
    Ok(unset.is_empty())
}

/// `scs-0102-prop-os_version`: non-empty.
pub fn prop_os_version(ctx: Ctx, lines: &mut Lines) -> Outcome {
    each(ctx, lines, "property os_version not set", |i| {
        truthy(i.prop("os_version"))
    })
}

/// `scs-0102-prop-os_distro`: non-empty.
pub fn prop_os_distro(ctx: Ctx, lines: &mut Lines) -> Outcome {
    each(ctx, lines, "property os_distro not set", |i| {
        truthy(i.prop("os_distro"))
    })
}

/// `scs-0102-prop-os_purpose`: one of [`OS_PURPOSES`]; missing offends.
pub fn prop_os_purpose(ctx: Ctx, lines: &mut Lines) -> Outcome {
    each(
        ctx,
        lines,
        "property os_purpose not set or not correct",
        |i| {
            i.prop("os_purpose")
                .is_some_and(|p| OS_PURPOSES.contains(&p))
        },
    )
}

/// `scs-0102-prop-hw_disk_bus`: virtio, scsi or unset.
pub fn prop_hw_disk_bus(ctx: Ctx, lines: &mut Lines) -> Outcome {
    each(ctx, lines, "property hw_disk_bus not correct", |i| {
        in_or_unset(i.prop("hw_disk_bus"), HW_DISK_BUSES)
    })
}

/// `scs-0102-prop-hypervisor_type`: qemu, kvm, xen, hyper-v, esxi or unset.
pub fn prop_hypervisor_type(ctx: Ctx, lines: &mut Lines) -> Outcome {
    each(ctx, lines, "property hypervisor_type not correct", |i| {
        in_or_unset(i.prop("hypervisor_type"), HYPERVISOR_TYPES)
    })
}

/// `scs-0102-prop-hw_rng_model`: virtio or unset.
pub fn prop_hw_rng_model(ctx: Ctx, lines: &mut Lines) -> Outcome {
    each(ctx, lines, "property hw_rng_model not correct", |i| {
        in_or_unset(i.prop("hw_rng_model"), HW_RNG_MODELS)
    })
}

/// `parse_date(img.created_at, formats=STRICT_FORMATS)`.
///
/// d.3 quirk: a missing `created_at` makes `time.strptime(None, ...)` raise
/// a TypeError → ABORT.
fn registration_date(img: &Image) -> Result<i64, String> {
    match &img.created_at {
        Some(c) => Ok(parse_date(c, STRICT_FORMATS)),
        None => Err(format!(
            "TypeError: strptime() argument 1 must be str, not None (image {} has no created_at)",
            shown(img)
        )),
    }
}

/// `scs-0102-prop-image_build_date`: the build date parses (lenient formats),
/// is not after the registration date (`created_at`, strict format), and
/// (build date, else registration date) is not in the future.
pub fn prop_image_build_date(ctx: Ctx, lines: &mut Lines) -> Outcome {
    let mut errors = 0;
    for img in ctx.images {
        let rdate = registration_date(img)?;
        let bdate_str = img.prop("image_build_date").unwrap_or("");
        let bdate = parse_date(bdate_str, DATE_FORMATS);
        if bdate == 0 {
            lines.error(format!(
                "Image \"{}\": image_build_date \"{bdate_str}\" INVALID",
                shown(img)
            ));
            errors += 1;
        } else if bdate > rdate {
            // d.3 quirk: a created_at that does not parse strictly gives
            // rdate 0, so every build date after 1970 is "AFTER" it.
            lines.error(format!(
                "Image \"{}\": image_build_date {bdate_str} AFTER registration date {}",
                shown(img),
                img.created_at.as_deref().unwrap_or("None")
            ));
            errors += 1;
        }
        let effective = if bdate != 0 { bdate } else { rdate };
        if ctx.after_now(effective) {
            lines.error(format!(
                "Image \"{}\" has build time in the future: {bdate}",
                shown(img)
            ));
            errors += 1;
        }
    }
    Ok(errors == 0)
}

/// `scs-0102-prop-image_original_user`: non-empty.
pub fn prop_image_original_user(ctx: Ctx, lines: &mut Lines) -> Outcome {
    each(ctx, lines, "property image_original_user not set", |i| {
        truthy(i.prop("image_original_user"))
    })
}

/// The official `is_url`: the text before the first `://` is http, https,
/// ftp or ftps (case-sensitive).
pub fn is_url(s: &str) -> bool {
    s.find("://")
        .is_some_and(|idx| matches!(&s[..idx], "http" | "https" | "ftp" | "ftps"))
}

/// `scs-0102-prop-image_source`: `private` or a URL.
pub fn prop_image_source(ctx: Ctx, lines: &mut Lines) -> Outcome {
    each(
        ctx,
        lines,
        "property image_source INVALID (url or \"private\")",
        |i| {
            let src = i.prop("image_source");
            src == Some("private") || is_url(src.unwrap_or(""))
        },
    )
}

/// `scs-0102-prop-image_description`: non-empty.
pub fn prop_image_description(ctx: Ctx, lines: &mut Lines) -> Outcome {
    each(ctx, lines, "property image_description not set", |i| {
        truthy(i.prop("image_description"))
    })
}

fn freq_secs(rf: &str) -> Option<i64> {
    FREQ_TO_SEC.iter().find(|(k, _)| *k == rf).map(|(_, s)| *s)
}

/// `scs-0102-prop-replace_frequency`: one of the known frequencies;
/// missing offends.
pub fn prop_replace_frequency(ctx: Ctx, lines: &mut Lines) -> Outcome {
    each(ctx, lines, "property replace_frequency not correct", |i| {
        i.prop("replace_frequency").and_then(freq_secs).is_some()
    })
}

/// `scs-0102-prop-provided_until`: non-empty (any text).
pub fn prop_provided_until(ctx: Ctx, lines: &mut Lines) -> Outcome {
    each(ctx, lines, "property provided_until not set", |i| {
        truthy(i.prop("provided_until"))
    })
}

/// Whether a `uuid_validity` value is acceptable: unset, `none`, `notice`,
/// `forever`, `last-<decimal digits>`, or a date in the lenient formats.
pub fn uuid_validity_ok(v: Option<&str>) -> bool {
    match v {
        None | Some("none" | "notice" | "forever") => true,
        Some(v) => {
            // Python's isdecimal counts every Unicode Nd digit.
            v.strip_prefix("last-").is_some_and(is_decimal) || parse_date(v, DATE_FORMATS) != 0
        }
    }
}

/// `scs-0102-prop-uuid_validity`.
pub fn prop_uuid_validity(ctx: Ctx, lines: &mut Lines) -> Outcome {
    let mut errors = 0;
    for img in ctx.images {
        let v = img.prop("uuid_validity");
        if !uuid_validity_ok(v) {
            lines.error(format!(
                "Image \"{}\": property uuid_validity INVALID: {}",
                shown(img),
                v.unwrap_or("None")
            ));
            errors += 1;
        }
    }
    Ok(errors == 0)
}

/// `scs-0102-prop-hotfix_hours`: empty/unset, or decimal digits only.
pub fn prop_hotfix_hours(ctx: Ctx, lines: &mut Lines) -> Outcome {
    let mut errors = 0;
    for img in ctx.images {
        let h = img.prop("hotfix_hours").unwrap_or("");
        if h.is_empty() || is_decimal(h) {
            continue;
        }
        lines.error(format!(
            "Image \"{}\": property hotfix_hours INVALID: {h}",
            shown(img)
        ));
        errors += 1;
    }
    Ok(errors == 0)
}

/// The official `is_outdated` result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outdated {
    /// Not outdated (or past `provided_until`, or no period).
    No,
    /// Outdated, but hidden or marked (`old`, `prev`, a date as last word).
    Marked,
    /// Outdated and neither hidden nor marked.
    Unmarked,
    /// Outdated with an unparseable `provided_until`.
    BadUntil,
}

/// The official `is_outdated` (d.3 "Recency" steps 1–3).
pub fn is_outdated(img: &Image, ctx: Ctx, lines: &mut Lines) -> Result<Outdated, String> {
    let mut bdate = parse_date(img.prop("image_build_date").unwrap_or(""), DATE_FORMATS);
    if bdate == 0 {
        bdate = registration_date(img)?;
    }
    let rf = img.prop("replace_frequency").unwrap_or("never");
    if rf == "never" || rf == "critical_bug" {
        return Ok(Outdated::No);
    }
    let Some(secs) = freq_secs(rf) else {
        lines.warning(format!("invalid replace frequency {rf}"));
        return Ok(Outdated::No);
    };
    // The same float arithmetic as `now <= bdate + 1.1 * secs`.
    if ctx.now_secs() <= bdate as f64 + 1.1 * secs as f64 {
        return Ok(Outdated::No);
    }
    // d.3 quirk: `img.properties["provided_until"]` raises KeyError when the
    // property is missing → the whole testcase ABORTs.
    let Some(until_str) = img.prop("provided_until") else {
        return Err(format!(
            "KeyError: 'provided_until' (outdated image {} has no provided_until)",
            shown(img)
        ));
    };
    if until_str == "none" || until_str == "notice" {
        return Ok(Outdated::No);
    }
    let until = parse_date(until_str, DATE_FORMATS);
    if until == 0 {
        return Ok(Outdated::BadUntil);
    }
    if i128::from(ctx.now_ms) > i128::from(until) * 1000 {
        return Ok(Outdated::No); // past its promise: no guarantees left
    }
    if img.hidden {
        return Ok(Outdated::Marked);
    }
    // d.3 quirk: `img.name.rsplit(...)` on a nameless image raises
    // AttributeError → ABORT.
    let Some(full) = name(img) else {
        return Err(format!(
            "AttributeError: 'NoneType' object has no attribute 'rsplit' (image {} has no name)",
            img.id
        ));
    };
    let (_, marker) = rsplit_once(full, " ");
    let Some(marker) = marker else {
        return Ok(Outdated::Unmarked);
    };
    if OUTDATED_MARKERS.contains(&marker) || parse_date(marker, MARKER_DATE_FORMATS) != 0 {
        return Ok(Outdated::Marked);
    }
    Ok(Outdated::Unmarked)
}

/// `{img.name: img for img in images}`: insertion order of first
/// occurrence, the last image of a name wins (h.5: Glance lists newest
/// first, so the oldest one).
pub fn by_name(images: &[Image]) -> Vec<(Option<&str>, &Image)> {
    scs_check_sdk::openstack::images_by_name(images)
}

/// The official `_find_replacement_image`: the image named like `img_name`
/// without its last word, if it exists and is not outdated itself.
fn find_replacement<'a>(
    lookup: &HashMap<Option<&str>, &'a Image>,
    img: &Image,
    ctx: Ctx,
    lines: &mut Lines,
) -> Result<Option<&'a Image>, String> {
    // d.3 quirk: a hidden outdated image without a name reaches
    // `None.rsplit` here → AttributeError → ABORT.
    let Some(full) = name(img) else {
        return Err(format!(
            "AttributeError: 'NoneType' object has no attribute 'rsplit' (image {} has no name)",
            img.id
        ));
    };
    let short = rstrip(rsplit_once(full, " ").0);
    if short == full {
        return Ok(None);
    }
    let Some(candidate) = lookup.get(&Some(short)).copied() else {
        return Ok(None);
    };
    if is_outdated(candidate, ctx, lines)? != Outdated::No {
        return Ok(None);
    }
    Ok(Some(candidate))
}

/// `scs-0102-image-recency` (d.3 "Recency").
pub fn image_recency(ctx: Ctx, lines: &mut Lines) -> Outcome {
    let ordered = by_name(ctx.images);
    if ordered.len() != ctx.images.len() {
        let mut count: HashMap<Option<&str>, usize> = HashMap::new();
        for i in ctx.images {
            *count.entry(name(i)).or_default() += 1;
        }
        let dups: Vec<Option<&str>> = ordered
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| count.get(n).is_some_and(|c| *c > 1))
            .collect();
        // d.3 quirk: two nameless images make `', '.join(duplicates)` raise
        // a TypeError → ABORT.
        if dups.iter().any(Option::is_none) {
            return Err(
                "TypeError: duplicate names include None (several images have no name)".into(),
            );
        }
        let dups: Vec<&str> = dups.into_iter().flatten().collect();
        lines.warning(format!("duplicate names detected: {}", dups.join(", ")));
    }
    let lookup: HashMap<Option<&str>, &Image> = ordered.into_iter().collect();
    let mut errors = 0;
    for img in ctx.images {
        let outd = is_outdated(img, ctx, lines)?;
        match outd {
            Outdated::No => continue,
            Outdated::BadUntil => {
                lines.error(format!(
                    "Image \"{}\" does not provide a valid provided until date",
                    shown(img)
                ));
                errors += 1;
                continue;
            }
            Outdated::Unmarked => lines.warning(format!(
                "Image \"{}\" seems outdated (acc. to its repl freq) but is not hidden or otherwise marked",
                shown(img)
            )),
            Outdated::Marked => {}
        }
        match find_replacement(&lookup, img, ctx, lines)? {
            None => {
                lines.error(format!(
                    "Image \"{}\" outdated without replacement",
                    shown(img)
                ));
                errors += 1;
            }
            Some(r) => lines.info(format!(
                "Image \"{}\" is a valid replacement for outdated \"{}\"",
                shown(r),
                shown(img)
            )),
        }
    }
    Ok(errors == 0)
}

/// `scs-0102-os_purpose-uniqueness`: among the public, non-hidden images
/// with `os_distro`, `os_version` and `os_purpose=generic`, at most one per
/// (architecture or "", os_distro, os_version). Community images (h.1) do
/// not count.
pub fn os_purpose_uniqueness(ctx: Ctx, lines: &mut Lines) -> Outcome {
    type Key<'a> = (&'a str, &'a str, &'a str);
    let mut buckets: Vec<(Key, Vec<&Image>)> = Vec::new();
    for img in ctx.images {
        if img.visibility != "public" || img.hidden {
            continue;
        }
        let (Some(distro), Some(version)) = (img.prop("os_distro"), img.prop("os_version")) else {
            continue;
        };
        if distro.is_empty() || version.is_empty() || img.prop("os_purpose") != Some("generic") {
            continue;
        }
        let key = (img.prop("architecture").unwrap_or(""), distro, version);
        match buckets.iter_mut().find(|(k, _)| *k == key) {
            Some((_, b)) => b.push(img),
            None => buckets.push((key, vec![img])),
        }
    }
    let mut faulty = 0;
    for ((arch, distro, version), bucket) in &buckets {
        if bucket.len() < 2 {
            continue;
        }
        faulty += 1;
        let cause = format!(
            "os_purpose=generic not unique ({}, {}, {})",
            repr(arch),
            repr(distro),
            repr(version)
        );
        log_offenders(lines, &cause, bucket, false)?;
    }
    Ok(faulty == 0)
}

/// The testcase function for an id, if this check implements it.
pub fn testcase(id: &str) -> Option<fn(Ctx, &mut Lines) -> Outcome> {
    Some(match id {
        "scs-0102-prop-architecture" => prop_architecture,
        "scs-0102-prop-hash_algo" => prop_hash_algo,
        "scs-0102-prop-min_disk" => prop_min_disk,
        "scs-0102-prop-min_ram" => prop_min_ram,
        "scs-0102-prop-os_version" => prop_os_version,
        "scs-0102-prop-os_distro" => prop_os_distro,
        "scs-0102-prop-os_purpose" => prop_os_purpose,
        "scs-0102-prop-hw_disk_bus" => prop_hw_disk_bus,
        "scs-0102-prop-hypervisor_type" => prop_hypervisor_type,
        "scs-0102-prop-hw_rng_model" => prop_hw_rng_model,
        "scs-0102-prop-image_build_date" => prop_image_build_date,
        "scs-0102-prop-image_original_user" => prop_image_original_user,
        "scs-0102-prop-image_source" => prop_image_source,
        "scs-0102-prop-image_description" => prop_image_description,
        "scs-0102-prop-replace_frequency" => prop_replace_frequency,
        "scs-0102-prop-provided_until" => prop_provided_until,
        "scs-0102-prop-uuid_validity" => prop_uuid_validity,
        "scs-0102-prop-hotfix_hours" => prop_hotfix_hours,
        "scs-0102-image-recency" => image_recency,
        "scs-0102-os_purpose-uniqueness" => os_purpose_uniqueness,
        _ => return None,
    })
}

struct Check;

impl scs_check_sdk::Check for Check {
    fn run(testcases: Vec<String>, _params: Vec<(String, String)>) -> Vec<TestcaseResult> {
        // The official code reads `now` once (a default argument evaluated
        // at import time); so do we.
        let now_ms = sdk::now_ms();
        let all = images().map_err(|e| e.to_string());
        sdk::run_testcases(&testcases, |id| {
            let f = testcase(id)?;
            let all = match &all {
                Ok(a) => a,
                Err(e) => return Some(Err(e.clone())),
            };
            let mut lines = Lines::new();
            let outcome = f(
                Ctx {
                    images: all,
                    now_ms,
                },
                &mut lines,
            );
            lines.emit();
            Some(outcome)
        })
    }
}

scs_check_sdk::check!(Check);

#[cfg(test)]
mod tests;

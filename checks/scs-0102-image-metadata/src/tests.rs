//! Table-driven tests of every d.3 rule and quirk (plus h.1, h.5, h.7):
//! for each, a case that passes and one that fails or aborts.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use super::*;
use std::collections::BTreeMap;

/// 2026-11-29T00:00:00Z
fn now_ms() -> u64 {
    let s = parse_date("2026-11-29", DATE_FORMATS);
    u64::try_from(s).expect("positive") * 1000
}

/// A public image that passes every rule.
fn good(name: &str) -> Image {
    let mut props: BTreeMap<String, String> = [
        ("architecture", "x86_64"),
        ("os_distro", "ubuntu"),
        ("os_version", "24.04"),
        ("os_purpose", "custom"),
        ("os_hash_algo", "sha512"),
        ("hw_disk_bus", "virtio"),
        ("hypervisor_type", "kvm"),
        ("hw_rng_model", "virtio"),
        ("image_build_date", "2025-06-01"),
        ("image_original_user", "ubuntu"),
        (
            "image_source",
            "https://cloud-images.ubuntu.com/releases/noble/x.img",
        ),
        ("image_description", "https://ubuntu.com"),
        ("replace_frequency", "never"),
        ("provided_until", "none"),
        ("uuid_validity", "none"),
        ("hotfix_hours", "0"),
        ("created_at", "2025-06-02T08:00:00Z"),
        ("visibility", "public"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    props.insert("name".into(), name.into());
    Image {
        id: format!("id-{name}"),
        name: name.into(),
        visibility: "public".into(),
        hidden: false,
        min_disk: Some(8),
        min_ram: Some(512),
        size: Some(8 << 30),
        created_at: Some("2025-06-02T08:00:00Z".into()),
        properties: props,
    }
}

/// Set (Some) or remove (None) a property.
fn set(mut img: Image, key: &str, v: Option<&str>) -> Image {
    match v {
        Some(v) => {
            img.properties.insert(key.into(), v.into());
        }
        None => {
            img.properties.remove(key);
        }
    }
    if key == "created_at" {
        img.created_at = v.map(str::to_string);
    }
    img
}

fn nameless(img: Image) -> Image {
    let mut img = set(img, "name", None);
    img.name = String::new();
    img
}

fn run(f: fn(Ctx, &mut Lines) -> Outcome, images: &[Image]) -> (Outcome, Lines) {
    let mut lines = Lines::new();
    let out = f(
        Ctx {
            images,
            now_ms: now_ms(),
        },
        &mut lines,
    );
    (out, lines)
}

fn verdict(f: fn(Ctx, &mut Lines) -> Outcome, images: &[Image]) -> Outcome {
    run(f, images).0
}

/// (case, property value or None for unset, expected pass)
type Table<'a> = &'a [(&'a str, Option<&'a str>, bool)];

fn table(f: fn(Ctx, &mut Lines) -> Outcome, key: &str, rows: Table) {
    for (case, value, pass) in rows {
        let img = set(good("Img 1"), key, *value);
        let (out, lines) = run(f, &[good("Other"), img]);
        assert_eq!(out, Ok(*pass), "{key}: {case} ({value:?})");
        if !pass {
            // The ERROR line names the offender, not the good image.
            let errs = lines.errors().join("\n");
            assert!(
                errs.contains("Img 1") && !errs.contains("Other"),
                "{case}: {errs}"
            );
        }
    }
}

#[test]
fn every_testcase_id_is_implemented() {
    let json = include_str!("../check.json");
    let v: serde_json::Value = serde_json::from_str(json).expect("check.json");
    let ids = v["testcases"].as_array().expect("testcases");
    assert_eq!(ids.len(), 20);
    for id in ids {
        let id = id.as_str().expect("string");
        assert!(testcase(id).is_some(), "{id}");
    }
    assert!(testcase("scs-0102-prop-patchlevel").is_none());
}

#[test]
fn the_good_image_passes_everything() {
    let images = [good("Ubuntu 24.04")];
    for id in [
        "architecture",
        "hash_algo",
        "min_disk",
        "min_ram",
        "os_version",
        "os_distro",
    ] {
        let f = testcase(&format!("scs-0102-prop-{id}")).expect("id");
        assert_eq!(verdict(f, &images), Ok(true), "{id}");
    }
    let json: serde_json::Value =
        serde_json::from_str(include_str!("../check.json")).expect("json");
    for id in json["testcases"].as_array().expect("list") {
        let f = testcase(id.as_str().expect("str")).expect("id");
        let (out, lines) = run(f, &images);
        assert_eq!(out, Ok(true), "{id}: {lines:?}");
        assert!(lines.errors().is_empty(), "{id}");
    }
    // no images at all: every testcase passes
    for id in json["testcases"].as_array().expect("list") {
        let f = testcase(id.as_str().expect("str")).expect("id");
        assert_eq!(verdict(f, &[]), Ok(true), "{id}");
    }
}

#[test]
fn architecture() {
    table(
        prop_architecture,
        "architecture",
        &[
            ("x86_64", Some("x86_64"), true),
            ("aarch64", Some("aarch64"), true),
            ("risc-v", Some("risc-v"), true),
            ("unset offends", None, false),
            ("empty", Some(""), false),
            ("amd64", Some("amd64"), false),
            ("case-sensitive", Some("X86_64"), false),
        ],
    );
}

#[test]
fn hash_algo() {
    table(
        prop_hash_algo,
        "os_hash_algo",
        &[
            ("sha256", Some("sha256"), true),
            ("sha512", Some("sha512"), true),
            ("md5", Some("md5"), false),
            ("unset", None, false),
        ],
    );
}

#[test]
fn min_disk() {
    let ok = good("A");
    let mut exact = good("Exact");
    exact.min_disk = Some(2);
    exact.size = Some(2 << 30); // h.7: min_disk * 2^30 == size is fine
    assert_eq!(
        verdict(prop_min_disk, &[ok.clone(), exact.clone()]),
        Ok(true)
    );
    let mut small = exact.clone();
    small.size = Some((2 << 30) + 1);
    assert_eq!(verdict(prop_min_disk, &[small]), Ok(false));
    let mut zero = good("Zero");
    zero.min_disk = Some(0);
    let (out, lines) = run(prop_min_disk, &[zero.clone()]);
    assert_eq!(out, Ok(false));
    assert_eq!(
        lines.errors(),
        vec!["property min_disk not set for image(s): Zero"]
    );
    let mut unset = good("Unset");
    unset.min_disk = None;
    unset.size = None; // no size, but min_disk unset: no TypeError
    assert_eq!(verdict(prop_min_disk, &[unset]), Ok(false));
    // d.3 quirk: min_disk set and size None → TypeError → ABORT
    let mut no_size = good("NoSize");
    no_size.size = None;
    assert!(verdict(prop_min_disk, &[ok, no_size]).is_err());
    // ... even when another image already failed
    let mut no_size = good("NoSize");
    no_size.size = None;
    assert!(verdict(prop_min_disk, &[zero, no_size]).is_err());
    // huge values do not overflow
    let mut huge = good("Huge");
    huge.min_disk = Some(u64::MAX);
    huge.size = Some(u64::MAX);
    assert_eq!(verdict(prop_min_disk, &[huge]), Ok(true));
}

#[test]
fn min_ram() {
    let mut low = good("Low");
    low.min_ram = Some(32);
    let (out, lines) = run(prop_min_ram, &[low]);
    assert_eq!(out, Ok(true), "below 64 MiB is only a warning");
    assert_eq!(
        lines.at(Level::Warning),
        vec!["property min_ram < 64 MiB for image(s): Low"]
    );
    let mut zero = good("Zero");
    zero.min_ram = Some(0);
    assert_eq!(verdict(prop_min_ram, &[zero]), Ok(false));
    let mut unset = good("Unset");
    unset.min_ram = None;
    assert_eq!(verdict(prop_min_ram, &[unset]), Ok(false));
}

use scs_check_sdk::Level;

#[test]
fn os_version_and_distro() {
    for (f, key) in [
        (
            prop_os_version as fn(Ctx, &mut Lines) -> Outcome,
            "os_version",
        ),
        (prop_os_distro, "os_distro"),
    ] {
        table(
            f,
            key,
            &[
                ("any text", Some("whatever"), true),
                ("empty", Some(""), false),
                ("unset", None, false),
            ],
        );
    }
}

#[test]
fn os_purpose() {
    for p in OS_PURPOSES {
        table(prop_os_purpose, "os_purpose", &[("allowed", Some(p), true)]);
    }
    table(
        prop_os_purpose,
        "os_purpose",
        &[
            ("oldgeneric (v2)", Some("oldgeneric"), true),
            ("unset", None, false),
            ("case", Some("Generic"), false),
            ("unknown", Some("desktop"), false),
        ],
    );
}

#[test]
fn enumerated_or_unset() {
    // h.7: an empty string is not "unset" for these three
    table(
        prop_hw_disk_bus,
        "hw_disk_bus",
        &[
            ("virtio", Some("virtio"), true),
            ("scsi", Some("scsi"), true),
            ("unset", None, true),
            ("empty", Some(""), false),
            ("ide", Some("ide"), false),
        ],
    );
    table(
        prop_hypervisor_type,
        "hypervisor_type",
        &[
            ("qemu", Some("qemu"), true),
            ("kvm", Some("kvm"), true),
            ("xen", Some("xen"), true),
            ("hyper-v", Some("hyper-v"), true),
            ("esxi", Some("esxi"), true),
            ("unset", None, true),
            ("empty", Some(""), false),
            ("vmware", Some("vmware"), false),
        ],
    );
    table(
        prop_hw_rng_model,
        "hw_rng_model",
        &[
            ("virtio", Some("virtio"), true),
            ("unset", None, true),
            ("empty", Some(""), false),
            ("other", Some("random"), false),
        ],
    );
}

#[test]
fn image_build_date() {
    table(
        prop_image_build_date,
        "image_build_date",
        &[
            ("date", Some("2025-06-01"), true),
            ("h.7 unpadded", Some("2025-6-1"), true),
            ("minutes", Some("2025-06-01 21:30"), true),
            ("seconds", Some("2025-06-01 21:30:00"), true),
            ("iso Z", Some("2025-06-01T21:30:00Z"), true),
            ("same as created_at", Some("2025-06-02T08:00:00Z"), true),
            ("before 1970 is valid", Some("1969-07-20"), true),
            ("unset", None, false),
            ("garbage", Some("June 2025"), false),
            ("the epoch is invalid", Some("1970-01-01"), false),
            ("after created_at", Some("2025-06-02 08:00:01"), false),
            ("in the future", Some("2099-01-01"), false),
        ],
    );
    // a strictly unparseable created_at gives rdate 0: every build date
    // after 1970 is "AFTER registration date"
    let img = set(good("Frac"), "created_at", Some("2025-06-02T08:00:00.000Z"));
    let (out, lines) = run(prop_image_build_date, &[img]);
    assert_eq!(out, Ok(false));
    assert!(
        lines.errors()[0].contains("AFTER registration date"),
        "{lines:?}"
    );
    // missing build date: created_at must not be in the future either
    let img = set(
        set(good("Future"), "image_build_date", None),
        "created_at",
        Some("2099-01-01T00:00:00Z"),
    );
    let (out, lines) = run(prop_image_build_date, &[img]);
    assert_eq!(out, Ok(false));
    assert_eq!(lines.errors().len(), 2, "INVALID and future: {lines:?}");
    // no created_at at all: TypeError → ABORT
    let img = set(good("NoCreated"), "created_at", None);
    assert!(verdict(prop_image_build_date, &[img]).is_err());
}

#[test]
fn free_text_properties() {
    for (f, key) in [
        (
            prop_image_original_user as fn(Ctx, &mut Lines) -> Outcome,
            "image_original_user",
        ),
        (prop_image_description, "image_description"),
        (prop_provided_until, "provided_until"),
    ] {
        table(
            f,
            key,
            &[
                ("text", Some("anything at all"), true),
                ("empty", Some(""), false),
                ("unset", None, false),
            ],
        );
    }
}

#[test]
fn image_source() {
    table(
        prop_image_source,
        "image_source",
        &[
            ("private", Some("private"), true),
            ("http", Some("http://example.com/x"), true),
            ("https", Some("https://example.com/x"), true),
            ("ftp", Some("ftp://example.com/x"), true),
            ("ftps", Some("ftps://example.com/x"), true),
            ("bare scheme", Some("https://"), true),
            ("Private", Some("Private"), false),
            ("upper-case scheme", Some("HTTPS://example.com"), false),
            ("s3", Some("s3://bucket/x"), false),
            ("no scheme", Some("www.example.com"), false),
            ("empty", Some(""), false),
            ("unset", None, false),
        ],
    );
    assert!(!is_url("x https://y"));
}

#[test]
fn replace_frequency() {
    for (f, _) in FREQ_TO_SEC {
        table(
            prop_replace_frequency,
            "replace_frequency",
            &[("known", Some(f), true)],
        );
    }
    table(
        prop_replace_frequency,
        "replace_frequency",
        &[
            ("unset offends", None, false),
            ("unknown", Some("biweekly"), false),
            ("case", Some("Yearly"), false),
        ],
    );
}

#[test]
fn uuid_validity() {
    table(
        prop_uuid_validity,
        "uuid_validity",
        &[
            ("unset", None, true),
            ("none", Some("none"), true),
            ("notice", Some("notice"), true),
            ("forever", Some("forever"), true),
            ("last-N", Some("last-3"), true),
            ("last-N Unicode digits", Some("last-\u{663}"), true),
            ("date", Some("2030-01-01"), true),
            ("unpadded date", Some("2030-1-1 10:00"), true),
            ("last- without digits", Some("last-"), false),
            ("last-x", Some("last-x"), false),
            ("last--1", Some("last--1"), false),
            ("epoch", Some("1970-01-01"), false),
            ("Forever", Some("Forever"), false),
            ("empty", Some(""), false),
        ],
    );
}

#[test]
fn hotfix_hours() {
    table(
        prop_hotfix_hours,
        "hotfix_hours",
        &[
            ("unset", None, true),
            ("empty", Some(""), true),
            ("digits", Some("24"), true),
            ("fraction", Some("1.5"), false),
            ("negative", Some("-1"), false),
            ("blank", Some(" 1"), false),
        ],
    );
}

#[test]
fn nameless_offenders_abort() {
    // d.3 quirk: ', '.join(names) with a None name → TypeError → ABORT
    let img = nameless(set(good("x"), "architecture", Some("amd64")));
    assert!(verdict(prop_architecture, std::slice::from_ref(&img)).is_err());
    // ... but a nameless image that does not offend is harmless
    let fine = nameless(good("y"));
    assert_eq!(
        verdict(prop_architecture, std::slice::from_ref(&fine)),
        Ok(true)
    );
    // testcases that log per image with f-strings show "None" instead
    let img = nameless(set(good("x"), "hotfix_hours", Some("x")));
    let (out, lines) = run(prop_hotfix_hours, &[img]);
    assert_eq!(out, Ok(false));
    assert!(lines.errors()[0].starts_with("Image \"None\""));
    // min_ram's WARNING join raises too
    let mut low = nameless(good("z"));
    low.min_ram = Some(1);
    assert!(verdict(prop_min_ram, &[low]).is_err());
}

/// An image with `replace_frequency` `rf`, built on `build`, promised until
/// `until` (None: property missing).
fn rotating(name: &str, rf: &str, build: &str, until: Option<&str>) -> Image {
    set(
        set(
            set(good(name), "replace_frequency", Some(rf)),
            "image_build_date",
            Some(build),
        ),
        "provided_until",
        until,
    )
}

#[test]
fn recency_periods_and_the_factor() {
    let now = now_ms() / 1000;
    let now = i64::try_from(now).expect("fits");
    for (rf, period) in FREQ_TO_SEC.iter().filter(|(_, p)| *p > 0) {
        // exactly at bdate + 1.1 x period: still fine (now <= ...)
        let at = now - (*period as f64 * 1.1).floor() as i64;
        let build = fmt_secs(at);
        let img = rotating("Edge 1", rf, &build, Some("2099-01-01"));
        assert_eq!(
            verdict(image_recency, &[img]),
            Ok(true),
            "{rf} at the limit"
        );
        // one second earlier: outdated
        let img = rotating("Edge 1", rf, &fmt_secs(at - 1), Some("2099-01-01"));
        assert_eq!(
            verdict(image_recency, &[img]),
            Ok(false),
            "{rf} just past the limit"
        );
        // past 1.0 x period but within 1.1 x: fine
        let img = rotating(
            "Edge 1",
            rf,
            &fmt_secs(now - period - 60),
            Some("2099-01-01"),
        );
        assert_eq!(verdict(image_recency, &[img]), Ok(true), "{rf} within 1.1");
        // well past 1.1 x: outdated without replacement
        let img = rotating(
            "Edge 1",
            rf,
            &fmt_secs(now - period * 12 / 10),
            Some("2099-01-01"),
        );
        assert_eq!(verdict(image_recency, &[img]), Ok(false), "{rf} past 1.1");
    }
    // never and critical_bug have no period
    for rf in ["never", "critical_bug"] {
        let img = rotating("Old 1", rf, "2001-01-01", None);
        assert_eq!(verdict(image_recency, &[img]), Ok(true), "{rf}");
    }
    // unset means never
    let img = set(
        rotating("Old 1", "yearly", "2001-01-01", None),
        "replace_frequency",
        None,
    );
    assert_eq!(verdict(image_recency, &[img]), Ok(true));
    // an unknown frequency is only a WARNING
    let img = rotating("Old 1", "biweekly", "2001-01-01", None);
    let (out, lines) = run(image_recency, &[img]);
    assert_eq!(out, Ok(true));
    assert_eq!(
        lines.at(Level::Warning),
        vec!["invalid replace frequency biweekly"]
    );
}

/// `YYYY-MM-DD HH:MM:SS` of Unix seconds (test helper).
fn fmt_secs(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let rem = t.rem_euclid(86_400);
    // civil_from_days (Howard Hinnant)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let s = format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
    assert_eq!(parse_date(&s, DATE_FORMATS), t, "{s}");
    s
}

#[test]
fn recency_provided_until() {
    // d.3 quirk: outdated and provided_until missing → KeyError → ABORT
    let img = rotating("Ubuntu 24.04", "monthly", "2020-01-01", None);
    assert!(verdict(image_recency, &[img]).is_err());
    // none / notice: fine
    for u in ["none", "notice"] {
        let img = rotating("Ubuntu 24.04", "monthly", "2020-01-01", Some(u));
        assert_eq!(verdict(image_recency, &[img]), Ok(true), "{u}");
    }
    // unparseable: ERROR "does not provide a valid provided until date"
    let img = rotating("Ubuntu 24.04", "monthly", "2020-01-01", Some("soon"));
    let (out, lines) = run(image_recency, &[img]);
    assert_eq!(out, Ok(false));
    assert_eq!(
        lines.errors(),
        vec!["Image \"Ubuntu 24.04\" does not provide a valid provided until date"]
    );
    // past its promise: fine
    let img = rotating("Ubuntu 24.04", "monthly", "2020-01-01", Some("2021-01-01"));
    assert_eq!(verdict(image_recency, &[img]), Ok(true));
    // promise still running, no replacement: FAIL (d.3 consequence)
    let img = rotating("Ubuntu 24.04", "monthly", "2020-01-01", Some("2099-01-01"));
    let (out, lines) = run(image_recency, &[img]);
    assert_eq!(out, Ok(false));
    assert_eq!(
        lines.errors(),
        vec!["Image \"Ubuntu 24.04\" outdated without replacement"]
    );
    assert!(lines.at(Level::Warning)[0].contains("not hidden or otherwise marked"));
    // ... unless an image named "Ubuntu" (the name without its last word) exists
    let old = rotating("Ubuntu 24.04", "monthly", "2020-01-01", Some("2099-01-01"));
    assert_eq!(verdict(image_recency, &[good("Ubuntu"), old]), Ok(true));
    // provided_until is not needed while the image is fresh
    let fresh = rotating("Ubuntu 24.04", "yearly", "2026-06-01", None);
    assert_eq!(verdict(image_recency, &[fresh]), Ok(true));
}

#[test]
fn recency_marked_names_and_replacements() {
    let old = |n: &str| rotating(n, "monthly", "2020-01-01", Some("2099-01-01"));
    let fresh = |n: &str| rotating(n, "monthly", "2026-11-20", Some("2099-01-01"));
    let cases: &[(&str, Vec<Image>, bool, usize)] = &[
        // (case, images, pass, warnings)
        (
            "dated name, fresh replacement",
            vec![fresh("Debian 12"), old("Debian 12 20200101")],
            true,
            0,
        ),
        (
            "dated name %Y-%m-%d",
            vec![fresh("Debian 12"), old("Debian 12 2020-01-01")],
            true,
            0,
        ),
        (
            "old marker",
            vec![fresh("Debian 12"), old("Debian 12 old")],
            true,
            0,
        ),
        (
            "prev marker",
            vec![fresh("Debian 12"), old("Debian 12 prev")],
            true,
            0,
        ),
        (
            "unmarked, replacement exists",
            vec![fresh("Debian"), old("Debian 12")],
            true,
            1,
        ),
        (
            "dated name, no replacement",
            vec![old("Debian 12 20200101")],
            false,
            0,
        ),
        (
            "replacement outdated itself",
            vec![old("Debian 12"), old("Debian 12 old")],
            false,
            1,
        ),
        ("no blank in the name", vec![old("Debian12")], false, 1),
        (
            "Old is not a marker",
            vec![fresh("Debian 12"), old("Debian 12 Old")],
            true,
            1,
        ),
        (
            "double blank: rstrip finds the replacement",
            vec![fresh("Debian 12"), old("Debian 12  old")],
            true,
            0,
        ),
    ];
    for (case, images, pass, warnings) in cases {
        let (out, lines) = run(image_recency, images);
        assert_eq!(out, Ok(*pass), "{case}: {lines:?}");
        assert_eq!(
            lines.at(Level::Warning).len(),
            *warnings,
            "{case}: {lines:?}"
        );
    }
    // a hidden outdated image counts as marked (no warning) and still needs
    // a replacement
    let mut hidden = old("Debian 12");
    hidden.hidden = true;
    let (out, lines) = run(image_recency, &[hidden.clone()]);
    assert_eq!(out, Ok(false));
    assert!(lines.at(Level::Warning).is_empty());
    assert_eq!(verdict(image_recency, &[fresh("Debian"), hidden]), Ok(true));
    // the replacement candidate's own KeyError aborts the testcase
    let candidate = rotating("Debian 12", "monthly", "2020-01-01", None);
    assert!(verdict(image_recency, &[old("Debian 12 old"), candidate]).is_err());
    // a hidden, nameless, outdated image → AttributeError → ABORT
    let mut ghost = nameless(old("x"));
    ghost.hidden = true;
    assert!(verdict(image_recency, &[ghost]).is_err());
    let ghost = nameless(old("x"));
    assert!(verdict(image_recency, &[ghost]).is_err());
}

#[test]
fn recency_build_date_fallback() {
    // no (or an invalid) build date: created_at counts
    let img = set(
        rotating("Old 1", "monthly", "2020-01-01", Some("2099-01-01")),
        "image_build_date",
        None,
    );
    assert_eq!(
        verdict(image_recency, &[img]),
        Ok(false),
        "created 2025-06-02 is > 34 days ago"
    );
    let img = set(
        rotating("New 1", "yearly", "bad", Some("2099-01-01")),
        "created_at",
        Some("2026-11-01T00:00:00Z"),
    );
    assert_eq!(verdict(image_recency, &[img]), Ok(true));
    // h.7: unpadded build dates are parsed
    let img = rotating("New 1", "yearly", "2026-9-6", Some("2099-01-01"));
    assert_eq!(verdict(image_recency, &[img]), Ok(true));
}

#[test]
fn recency_duplicate_names_oldest_wins() {
    // h.5: Glance lists newest first; `by_name` keeps the last one listed,
    // i.e. the oldest image of the name.
    let newest = rotating("Debian 12", "monthly", "2026-11-20", Some("2099-01-01"));
    let oldest = rotating("Debian 12", "monthly", "2020-01-01", Some("2099-01-01"));
    let lookup_src = [newest.clone(), oldest.clone()];
    let lookup = by_name(&lookup_src);
    assert_eq!(lookup.len(), 1);
    assert_eq!(lookup[0].1.properties["image_build_date"], "2020-01-01");
    let marked = rotating("Debian 12 old", "monthly", "2020-01-01", Some("2099-01-01"));
    let (out, lines) = run(image_recency, &[newest.clone(), oldest, marked.clone()]);
    assert_eq!(out, Ok(false), "{lines:?}");
    assert_eq!(
        lines.at(Level::Warning)[0],
        "duplicate names detected: Debian 12"
    );
    // reversed order: the fresh one is the replacement, but the outdated
    // duplicate still fails
    let oldest = rotating("Debian 12", "monthly", "2020-01-01", Some("2099-01-01"));
    let (out, lines) = run(image_recency, &[oldest, newest, marked]);
    assert_eq!(out, Ok(false));
    assert_eq!(
        lines.errors(),
        vec!["Image \"Debian 12\" outdated without replacement"]
    );
    // two nameless images: ', '.join(duplicates) raises → ABORT
    let a = nameless(good("a"));
    let b = nameless(good("b"));
    assert!(verdict(image_recency, std::slice::from_ref(&a)).is_ok());
    assert!(verdict(image_recency, &[a, b]).is_err());
}

#[test]
fn os_purpose_uniqueness_rules() {
    let generic = |n: &str, arch: Option<&str>, version: &str| {
        set(
            set(
                set(good(n), "os_purpose", Some("generic")),
                "architecture",
                arch,
            ),
            "os_version",
            Some(version),
        )
    };
    let a = generic("Ubuntu 24.04", Some("x86_64"), "24.04");
    let b = generic("Ubuntu 24.04 minimal", Some("x86_64"), "24.04");
    let (out, lines) = run(os_purpose_uniqueness, &[a.clone(), b.clone()]);
    assert_eq!(out, Ok(false));
    assert_eq!(
        lines.errors(),
        vec![
            "os_purpose=generic not unique ('x86_64', 'ubuntu', '24.04') for image(s): Ubuntu 24.04, Ubuntu 24.04 minimal"
        ]
    );
    // other architecture / version: unique
    let arm = generic("Ubuntu 24.04 arm", Some("aarch64"), "24.04");
    let other = generic("Ubuntu 22.04", Some("x86_64"), "22.04");
    assert_eq!(
        verdict(os_purpose_uniqueness, &[a.clone(), arm, other]),
        Ok(true)
    );
    // missing architecture groups as ""
    let na = generic("A", None, "24.04");
    let nb = generic("B", None, "24.04");
    assert_eq!(verdict(os_purpose_uniqueness, &[na, nb]), Ok(false));
    // h.1: community images do not count
    let mut community = b.clone();
    community.visibility = "community".into();
    assert_eq!(
        verdict(os_purpose_uniqueness, &[a.clone(), community]),
        Ok(true)
    );
    // hidden ones do not count
    let mut hidden = b.clone();
    hidden.hidden = true;
    assert_eq!(
        verdict(os_purpose_uniqueness, &[a.clone(), hidden]),
        Ok(true)
    );
    // other purposes (oldgeneric) do not count
    let old = set(b.clone(), "os_purpose", Some("oldgeneric"));
    assert_eq!(verdict(os_purpose_uniqueness, &[a.clone(), old]), Ok(true));
    // without os_version (or empty) they do not count
    let nov = set(b.clone(), "os_version", Some(""));
    assert_eq!(verdict(os_purpose_uniqueness, &[a.clone(), nov]), Ok(true));
    let nod = set(b, "os_distro", None);
    assert_eq!(verdict(os_purpose_uniqueness, &[a, nod]), Ok(true));
}

//! API version discovery, the way keystoneauth and openstacksdk do it: from a catalog URL in
//! any of the shapes clouds register to the versioned base the checks' paths are relative to,
//! and the microversion range the cloud offers.
//!
//! Owns: splitting a catalog URL into the service root, its version segment and a project-id
//! tail (`/v2.1/<project>`); reading version documents (`{"versions": [...]}`,
//! `{"versions": {"values": [...]}}`, `{"version": {...}}`); choosing the version the SCS
//! checks speak (by `status` and version number); turning the chosen `self` link into a base
//! URL on the catalog's own origin; negotiating a microversion header down to the cloud's
//! maximum.
//!
//! Must never: send a request (the session fetches the one version document per service and
//! run); accept a base on another origin than the catalog endpoint (the token follows the
//! base); choose a version the checks do not speak (an `EXPERIMENTAL` or unknown status, or
//! another major version).

use serde_json::Value;

/// The API of a service type as the SCS checks use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Family {
    /// Major version the checks speak.
    pub major: u32,
    /// Lowest minor version accepted in a catalog URL (compute: `v2.1`, not the legacy `v2`).
    pub min_minor: u32,
    /// The version segment used when a version document gives no usable link.
    pub segment: &'static str,
    /// Service name in `OpenStack-API-Version` headers, for services with microversions.
    pub microversion_name: Option<&'static str>,
    /// Whether a catalog URL that already names the version is still worth one discovery
    /// request (only for the microversion range).
    pub discover_when_versioned: bool,
}

/// The family of a catalog service type; None for types whose catalog URL is used as it is
/// (object-store, whose URL carries `AUTH_<project>`; placement; unknown types).
pub(crate) fn family(service_type: &str) -> Option<Family> {
    let f = |major, min_minor, segment, microversion_name: Option<&'static str>| Family {
        major,
        min_minor,
        segment,
        microversion_name,
        discover_when_versioned: microversion_name.is_some(),
    };
    match service_type {
        "compute" => Some(f(2, 1, "v2.1", Some("compute"))),
        "image" => Some(f(2, 0, "v2", None)),
        "network" => Some(f(2, 0, "v2.0", None)),
        "block-storage" | "volumev3" | "volume" => Some(f(3, 0, "v3", Some("volume"))),
        "key-manager" => Some(f(1, 0, "v1", None)),
        _ => None,
    }
}

/// `v2`, `v2.1`, `v3.0` → (major, minor); anything else None.
pub(crate) fn parse_version_id(s: &str) -> Option<(u32, Option<u32>)> {
    let v = s.strip_prefix('v').or_else(|| s.strip_prefix('V'))?;
    let (major, minor) = match v.split_once('.') {
        Some((a, b)) => (a, Some(b)),
        None => (v, None),
    };
    let num = |t: &str| {
        (!t.is_empty() && t.len() <= 6 && t.bytes().all(|b| b.is_ascii_digit()))
            .then(|| t.parse::<u32>().ok())
            .flatten()
    };
    let major = num(major)?;
    let minor = match minor {
        Some(m) => Some(num(m)?),
        None => None,
    };
    Some((major, minor))
}

/// Whether the first segment of a check's path names an API version (`v2/images`,
/// `v2.0/ports`): such a path is relative to the service root, any other to the versioned
/// base.
pub(crate) fn path_names_version(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    parse_version_id(first).is_some()
}

/// A catalog URL taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CatalogUrl {
    /// Everything before the version segment, without a trailing slash (the URL itself when
    /// it names no version).
    pub root: String,
    /// The version segment and its numbers, if the URL names one.
    pub version: Option<(String, u32, Option<u32>)>,
    /// What followed the version segment: the project id (legacy `/v2.1/<project>` and
    /// `/v3/<project>` registrations), else empty.
    pub tail: String,
}

impl CatalogUrl {
    /// Whether the URL already names a version the family accepts.
    pub fn satisfies(&self, fam: &Family) -> bool {
        self.version.as_ref().is_some_and(|(_, major, minor)| {
            *major == fam.major && minor.unwrap_or(0) >= fam.min_minor
        })
    }
}

/// Split `url` (trailing slashes ignored): a last segment equal to the token's project id
/// (or `AUTH_<id>`) is the tail; then a last segment that is a version id is the version.
pub(crate) fn split_catalog_url(url: &str, project_id: &str) -> CatalogUrl {
    let trimmed = url.trim_end_matches('/');
    let (mut head, mut tail) = (trimmed, "");
    if let Some((before, last)) = trimmed.rsplit_once('/')
        && !project_id.is_empty()
        && (last == project_id || last.strip_prefix("AUTH_") == Some(project_id))
    {
        head = before;
        tail = last;
    }
    let version = head.rsplit_once('/').and_then(|(before, last)| {
        // never take the authority (`http://v2`) for a version segment
        if before.ends_with('/') || before.ends_with(':') {
            return None;
        }
        parse_version_id(last).map(|(ma, mi)| (before, last.to_string(), ma, mi))
    });
    match version {
        Some((root, seg, major, minor)) => CatalogUrl {
            root: root.to_string(),
            version: Some((seg, major, minor)),
            tail: tail.to_string(),
        },
        None => CatalogUrl {
            // a project id without a version before it is no tail of ours
            root: trimmed.to_string(),
            version: None,
            tail: String::new(),
        },
    }
}

/// The lifecycle state a version document gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    /// Unknown or experimental: never chosen.
    Other,
    /// `DEPRECATED`: chosen when nothing better is offered (keystoneauth allows it too).
    Deprecated,
    /// `SUPPORTED`.
    Supported,
    /// `CURRENT` or `stable`.
    Current,
}

fn status_of(s: &str) -> Status {
    match s.to_ascii_uppercase().as_str() {
        "CURRENT" | "STABLE" => Status::Current,
        "SUPPORTED" => Status::Supported,
        "DEPRECATED" => Status::Deprecated,
        _ => Status::Other,
    }
}

/// One entry of a version document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionEntry {
    /// `id` as given (`v2.1`).
    pub id: String,
    /// Parsed id.
    pub major: u32,
    /// Parsed id, 0 when absent.
    pub minor: u32,
    /// `status`.
    pub status: Status,
    /// The `self` link, if any.
    pub href: Option<String>,
    /// Microversion range (`min_version`, `version`/`max_version`), when the service has one.
    pub microversions: Option<((u32, u32), (u32, u32))>,
}

/// Most entries read from one version document (Glance lists about 17).
const MAX_ENTRIES: usize = 64;

/// `"2.96"` → (2, 96).
pub(crate) fn parse_microversion(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.trim().split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Read a version document; entries whose id is no version are skipped.
pub(crate) fn parse_versions(body: &[u8]) -> Result<Vec<VersionEntry>, String> {
    let doc: Value =
        serde_json::from_slice(body).map_err(|e| format!("not a JSON version document: {e}"))?;
    let list: Vec<&Value> = match (doc.get("versions"), doc.get("version")) {
        (Some(Value::Array(a)), _) => a.iter().collect(),
        (Some(Value::Object(o)), _) => match o.get("values") {
            Some(Value::Array(a)) => a.iter().collect(),
            _ => return Err("`versions` has no `values` list".to_string()),
        },
        (_, Some(v @ Value::Object(_))) => vec![v],
        _ => return Err("no `versions` or `version` in the document".to_string()),
    };
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let mut out = Vec::new();
    for v in list.into_iter().take(MAX_ENTRIES) {
        let Some(id) = text(v, "id") else { continue };
        let Some((major, minor)) = parse_version_id(&id) else {
            continue;
        };
        let href = v.get("links").and_then(Value::as_array).and_then(|links| {
            links
                .iter()
                .find(|l| l.get("rel").and_then(Value::as_str) == Some("self"))
                .and_then(|l| text(l, "href"))
        });
        let max = text(v, "version")
            .or_else(|| text(v, "max_version"))
            .and_then(|s| parse_microversion(&s));
        let min = text(v, "min_version").and_then(|s| parse_microversion(&s));
        out.push(VersionEntry {
            id: crate::errtext::bounded_text(&id, 20),
            major,
            minor: minor.unwrap_or(0),
            status: status_of(&text(v, "status").unwrap_or_default()),
            href,
            microversions: max.map(|max| (min.unwrap_or(max), max)),
        });
    }
    Ok(out)
}

/// The entry the checks use: the family's major version, at least its minimum minor, a
/// status other than experimental or unknown; the highest such version (as keystoneauth
/// picks), ties broken by status.
pub(crate) fn choose<'a>(entries: &'a [VersionEntry], fam: &Family) -> Option<&'a VersionEntry> {
    entries
        .iter()
        .filter(|e| e.major == fam.major && e.minor >= fam.min_minor && e.status > Status::Other)
        .max_by_key(|e| (e.minor, e.status))
}

/// The versioned base from a chosen entry: its `self` link when it is on the catalog's origin,
/// else the catalog root plus the link's version segment (a service behind a proxy often
/// names its internal address), else plus the family's segment; then the catalog's project
/// tail. Returns the base and, when the link was not used as it is, why.
pub(crate) fn base_from_entry(
    catalog: &CatalogUrl,
    entry: &VersionEntry,
    fam: &Family,
) -> (String, Option<String>) {
    let root = reqwest::Url::parse(&catalog.root).ok();
    let link = entry
        .href
        .as_deref()
        .and_then(|h| root.as_ref().and_then(|r| r.join(h).ok()));
    let (mut base, note) = match (&root, link) {
        (Some(r), Some(l)) if l.origin() == r.origin() => {
            (l.as_str().trim_end_matches('/').to_string(), None)
        }
        (_, link) => {
            let seg = link
                .as_ref()
                .and_then(|l| {
                    l.path()
                        .trim_end_matches('/')
                        .rsplit('/')
                        .next()
                        .filter(|s| parse_version_id(s).is_some())
                        .map(str::to_string)
                })
                .unwrap_or_else(|| fam.segment.to_string());
            let why = match &link {
                Some(l) => format!(
                    "its link {} is on another origin; using {}/{seg} instead",
                    super::keystone::shown_url(l.as_str()),
                    catalog.root
                ),
                None => format!("it gives no self link; using {}/{seg}", catalog.root),
            };
            (format!("{}/{seg}", catalog.root), Some(why))
        }
    };
    if !catalog.tail.is_empty() && !base.ends_with(&format!("/{}", catalog.tail)) {
        base = format!("{base}/{}", catalog.tail);
    }
    (base, note)
}

/// A microversion header value rewritten to at most `max`: `compute 2.61` (the
/// `OpenStack-API-Version` form, `name` must match) or `2.61` (the legacy
/// `X-OpenStack-Nova-API-Version` form). None when no change is needed or the value is not one.
pub(crate) fn negotiate_header(
    header: &str,
    value: &str,
    name: &str,
    max: (u32, u32),
) -> Option<String> {
    let h = header.to_ascii_lowercase();
    let (prefix, version) = if h == "openstack-api-version" {
        let (svc, ver) = value.trim().split_once(' ')?;
        if !svc.eq_ignore_ascii_case(name) {
            return None;
        }
        (format!("{svc} "), ver.trim())
    } else if h == "x-openstack-nova-api-version" && name == "compute" {
        (String::new(), value.trim())
    } else {
        return None;
    };
    if version.eq_ignore_ascii_case("latest") {
        return Some(format!("{prefix}{}.{}", max.0, max.1));
    }
    let asked = parse_microversion(version)?;
    (asked > max).then(|| format!("{prefix}{}.{}", max.0, max.1))
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "0123abcd";

    #[test]
    fn catalog_shapes_split() {
        let cases: &[(&str, &str, Option<&str>, &str)] = &[
            ("http://h:8774/v2.1", "http://h:8774", Some("v2.1"), ""),
            ("http://h:8774/v2.1/", "http://h:8774", Some("v2.1"), ""),
            (
                "http://h:8774/v2.1/0123abcd",
                "http://h:8774",
                Some("v2.1"),
                P,
            ),
            ("http://h:8774/v2/0123abcd/", "http://h:8774", Some("v2"), P),
            ("http://h:8774", "http://h:8774", None, ""),
            ("http://h:8774/", "http://h:8774", None, ""),
            ("https://h/compute", "https://h/compute", None, ""),
            (
                "https://h/compute/v2.1",
                "https://h/compute",
                Some("v2.1"),
                "",
            ),
            ("http://h:8776/v3", "http://h:8776", Some("v3"), ""),
            (
                "http://h/volume/v3/0123abcd",
                "http://h/volume",
                Some("v3"),
                P,
            ),
            ("http://h:9292/v2", "http://h:9292", Some("v2"), ""),
            (
                "http://h/swift/v1/AUTH_0123abcd",
                "http://h/swift",
                Some("v1"),
                "AUTH_0123abcd",
            ),
            // a project id without a version: not ours to strip
            ("http://h/x/0123abcd", "http://h/x/0123abcd", None, ""),
            // `v2` as the host name is not a version segment
            ("http://v2", "http://v2", None, ""),
        ];
        for (url, root, seg, tail) in cases {
            let c = split_catalog_url(url, P);
            assert_eq!(c.root, *root, "{url}");
            assert_eq!(c.version.as_ref().map(|v| v.0.as_str()), *seg, "{url}");
            assert_eq!(c.tail, *tail, "{url}");
        }
        let compute = family("compute").unwrap();
        assert!(split_catalog_url("http://h/v2.1", P).satisfies(&compute));
        assert!(!split_catalog_url("http://h/v2", P).satisfies(&compute));
        assert!(!split_catalog_url("http://h", P).satisfies(&compute));
        assert!(split_catalog_url("http://h/v3/x", "x").satisfies(&family("volumev3").unwrap()));
    }

    #[test]
    fn version_ids_and_paths() {
        assert_eq!(parse_version_id("v2.1"), Some((2, Some(1))));
        assert_eq!(parse_version_id("v3"), Some((3, None)));
        for bad in [
            "v",
            "v2.",
            "v.1",
            "2.1",
            "va",
            "v2.1.3",
            "v99999999",
            "images",
        ] {
            assert_eq!(parse_version_id(bad), None, "{bad}");
        }
        assert!(path_names_version("v2/images"));
        assert!(path_names_version("v2.0"));
        assert!(!path_names_version("servers/detail"));
        assert!(!path_names_version("volumes/v2"));
    }

    /// The root documents of the real services (shortened from what Nova 33, Glance 33,
    /// Cinder 29, Neutron 29 and Barbican serve).
    #[test]
    fn version_documents_and_choice() {
        let nova = br#"{"versions": [
            {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "",
             "links": [{"rel": "self", "href": "http://h:8774/v2/"}]},
            {"id": "v2.1", "status": "CURRENT", "version": "2.96", "min_version": "2.1",
             "links": [{"rel": "self", "href": "http://h:8774/v2.1/"}]}]}"#;
        let e = parse_versions(nova).unwrap();
        let c = choose(&e, &family("compute").unwrap()).unwrap();
        assert_eq!(c.id, "v2.1");
        assert_eq!(c.microversions, Some(((2, 1), (2, 96))));
        assert_eq!(e[0].microversions, None);

        let glance = br#"{"versions": [
            {"id": "v2.17", "status": "CURRENT", "links": [{"rel": "self", "href": "http://h:9292/v2/"}]},
            {"id": "v2.16", "status": "SUPPORTED", "links": [{"rel": "self", "href": "http://h:9292/v2/"}]},
            {"id": "v3.0", "status": "EXPERIMENTAL", "links": [{"rel": "self", "href": "http://h:9292/v3/"}]}]}"#;
        let e = parse_versions(glance).unwrap();
        assert_eq!(choose(&e, &family("image").unwrap()).unwrap().id, "v2.17");

        let barbican =
            br#"{"versions": {"values": [{"id": "v1", "status": "stable", "links": [{"rel": "self", "href": "http://b:9311/v1/"}]}]}}"#;
        let e = parse_versions(barbican).unwrap();
        assert_eq!(
            choose(&e, &family("key-manager").unwrap()).unwrap().id,
            "v1"
        );

        let single = br#"{"version": {"id": "v3.0", "status": "CURRENT", "version": "3.71", "min_version": "3.0", "links": []}}"#;
        let e = parse_versions(single).unwrap();
        let c = choose(&e, &family("block-storage").unwrap()).unwrap();
        assert_eq!(c.microversions, Some(((3, 0), (3, 71))));

        // nothing of the major the checks speak, or only experimental: no choice
        let e = parse_versions(br#"{"versions": [{"id": "v1.0", "status": "CURRENT"}]}"#).unwrap();
        assert!(choose(&e, &family("compute").unwrap()).is_none());
        let e =
            parse_versions(br#"{"versions": [{"id": "v2.1", "status": "EXPERIMENTAL"}]}"#).unwrap();
        assert!(choose(&e, &family("compute").unwrap()).is_none());
        // the legacy compute v2.0 alone does not do
        let e = parse_versions(br#"{"versions": [{"id": "v2.0", "status": "CURRENT"}]}"#).unwrap();
        assert!(choose(&e, &family("compute").unwrap()).is_none());

        for bad in [&b"<html>"[..], b"{}", b"{\"versions\": {}}", b"[]"] {
            assert!(
                parse_versions(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn base_stays_on_the_catalog_origin() {
        let compute = family("compute").unwrap();
        let entry = |href: Option<&str>| VersionEntry {
            id: "v2.1".into(),
            major: 2,
            minor: 1,
            status: Status::Current,
            href: href.map(str::to_string),
            microversions: None,
        };
        let cat = split_catalog_url("https://api.example/compute", P);
        let (b, note) = base_from_entry(
            &cat,
            &entry(Some("https://api.example/compute/v2.1/")),
            &compute,
        );
        assert_eq!(
            (b.as_str(), note),
            ("https://api.example/compute/v2.1", None)
        );
        // relative links resolve against the root
        let (b, _) = base_from_entry(&cat, &entry(Some("/compute/v2.1/")), &compute);
        assert_eq!(b, "https://api.example/compute/v2.1");
        // behind a proxy the service names its internal address: keep our origin and prefix
        let (b, note) = base_from_entry(&cat, &entry(Some("http://10.0.0.5:8774/v2.1/")), &compute);
        assert_eq!(b, "https://api.example/compute/v2.1");
        assert!(note.unwrap().contains("another origin"));
        let (b, note) = base_from_entry(&cat, &entry(None), &compute);
        assert_eq!(b, "https://api.example/compute/v2.1");
        assert!(note.is_some());
        // the project tail of a legacy registration is kept
        let cat = split_catalog_url("http://h:8774/v2/0123abcd", P);
        let (b, _) = base_from_entry(&cat, &entry(Some("http://h:8774/v2.1/")), &compute);
        assert_eq!(b, "http://h:8774/v2.1/0123abcd");
    }

    #[test]
    fn microversions_negotiate_down_only() {
        let max = (2, 53);
        let n = |h: &str, v: &str| negotiate_header(h, v, "compute", max);
        assert_eq!(
            n("OpenStack-API-Version", "compute 2.61").as_deref(),
            Some("compute 2.53")
        );
        assert_eq!(
            n("x-openstack-nova-api-version", "2.61").as_deref(),
            Some("2.53")
        );
        assert_eq!(n("openstack-api-version", "compute 2.50"), None);
        assert_eq!(n("openstack-api-version", "compute 2.53"), None);
        assert_eq!(n("openstack-api-version", "volume 3.70"), None);
        assert_eq!(
            n("openstack-api-version", "compute latest").as_deref(),
            Some("compute 2.53")
        );
        assert_eq!(n("x-other", "2.61"), None);
        assert_eq!(n("openstack-api-version", "compute x.y"), None);
        assert_eq!(
            negotiate_header("openstack-api-version", "volume 3.80", "volume", (3, 70)).as_deref(),
            Some("volume 3.70")
        );
        assert_eq!(
            negotiate_header("x-openstack-nova-api-version", "3.80", "volume", (3, 70)),
            None
        );
    }
}

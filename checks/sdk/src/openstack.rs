//! Typed OpenStack helpers over the host's mediated `openstack` interface.
//!
//! Owns: request building, status handling, JSON decoding with field paths,
//! pagination (the one loop every listing of the SDK shares, [`paginate`]:
//! Nova `*_links` with rel `next`, Glance `next`, markers; an empty page ends
//! a listing as in openstacksdk), and the
//! flavor, image and catalog models the checks share. The flavor and image
//! lists are requested as *shared* reads: the host fetches them once per run
//! for all checks.
//!
//! Must never: retry writes, cache anything across calls itself (the host
//! does the shared caching), or hide an API error behind a default value.
//!
//! Section ids such as a.2 or d.7 in this file refer to docs/official-behaviour.md.

use crate::bindings::scs::check::openstack as host;
use crate::json::{Field, JsonError};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;

pub use host::{Anchor, Method};

/// Nova microversion that returns `extra_specs` inline in flavor bodies.
pub const NOVA_EXTRA_SPECS_MICROVERSION: &str = "2.61";

/// Upper bound on pages followed in one listing (a loop guard; 10,000 pages
/// of 1,000 items are far beyond any real cloud).
pub const MAX_PAGES: usize = 10_000;

/// Why an API call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// The host refused or could not complete the request.
    Host(String),
    /// The cloud answered with a non-success status.
    Status {
        /// e.g. `compute GET flavors/detail`
        what: String,
        /// HTTP status.
        status: u16,
        /// First part of the body, for the log.
        body: String,
    },
    /// The body was not JSON, or a field was wrong.
    Json(JsonError),
    /// Pagination went wrong (a repeated marker, too many pages).
    Pagination(String),
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Host(e) => write!(f, "{e}"),
            ApiError::Status { what, status, body } => {
                write!(f, "{what} returned HTTP {status}")?;
                if !body.is_empty() {
                    write!(f, ": {body}")?;
                }
                Ok(())
            }
            ApiError::Json(e) => write!(f, "{e}"),
            ApiError::Pagination(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ApiError {}

impl From<JsonError> for ApiError {
    fn from(e: JsonError) -> Self {
        ApiError::Json(e)
    }
}

impl ApiError {
    /// HTTP status, if the cloud answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn host_error_text(e: host::Error) -> String {
    match e {
        host::Error::Denied(m) => format!("denied by the host: {m}"),
        host::Error::NoEndpoint(m) => format!("no endpoint: {m}"),
        host::Error::Timeout(m) => format!("timeout: {m}"),
        host::Error::TooLarge(m) => format!("too large: {m}"),
        host::Error::Transport(m) => format!("transport error: {m}"),
    }
}

/// A request under construction.
#[derive(Debug, Clone)]
pub struct Request {
    inner: host::Request,
}

impl Request {
    /// A request of `method` to `path` of `service_type`'s endpoint.
    pub fn new(service_type: &str, method: Method, path: &str) -> Request {
        Request {
            inner: host::Request {
                service_type: service_type.to_string(),
                method,
                path: path.to_string(),
                query: Vec::new(),
                headers: Vec::new(),
                body: None,
                anchor: Anchor::Endpoint,
                shared: false,
            },
        }
    }
    /// GET request.
    pub fn get(service_type: &str, path: &str) -> Request {
        Request::new(service_type, Method::Get, path)
    }
    /// Add a query parameter.
    pub fn query(mut self, key: &str, value: &str) -> Request {
        self.inner.query.push((key.to_string(), value.to_string()));
        self
    }
    /// Replace all query parameters.
    pub fn with_query(mut self, query: Vec<(String, String)>) -> Request {
        self.inner.query = query;
        self
    }
    /// Add a header.
    pub fn header(mut self, key: &str, value: &str) -> Request {
        self.inner
            .headers
            .push((key.to_string(), value.to_string()));
        self
    }
    /// JSON body.
    pub fn json(mut self, body: &Value) -> Request {
        self.inner.body = Some(body.to_string().into_bytes());
        self.inner
            .headers
            .push(("content-type".to_string(), "application/json".to_string()));
        self
    }
    /// Ask the host for a shared read (fetched once per run for all checks).
    pub fn shared(mut self) -> Request {
        self.inner.shared = true;
        self
    }
    /// Make `path` relative to the endpoint's scheme://host:port (no token).
    pub fn host_root(mut self) -> Request {
        self.inner.anchor = Anchor::HostRoot;
        self
    }
    /// `compute GET flavors/detail`, for messages.
    pub fn describe(&self) -> String {
        let m = match self.inner.method {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        };
        format!("{} {m} {}", self.inner.service_type, self.inner.path)
    }

    /// Send; any HTTP status is a response.
    pub fn send(&self) -> Result<host::Response, ApiError> {
        host::send(&self.inner).map_err(|e| ApiError::Host(host_error_text(e)))
    }

    /// Send and require a 2xx status.
    pub fn send_ok(&self) -> Result<host::Response, ApiError> {
        let resp = self.send()?;
        if (200..300).contains(&resp.status) {
            Ok(resp)
        } else {
            let body = String::from_utf8_lossy(&resp.body);
            let body: String = body.chars().take(200).collect();
            Err(ApiError::Status {
                what: self.describe(),
                status: resp.status,
                body,
            })
        }
    }

    /// Send, require 2xx, and parse the body as JSON.
    pub fn send_json(&self) -> Result<Value, ApiError> {
        let resp = self.send_ok()?;
        serde_json::from_slice(&resp.body).map_err(|e| {
            ApiError::Json(JsonError {
                source: self.describe(),
                path: "(root)".to_string(),
                problem: format!("body is not valid JSON: {e}"),
            })
        })
    }
}

/// Decode `%XX` and `+` in a query component.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query parameters of a `next` link (absolute or relative URL).
pub fn query_of_link(link: &str) -> Vec<(String, String)> {
    let Some((_, q)) = link.split_once('?') else {
        return Vec::new();
    };
    let q = q.split('#').next().unwrap_or("");
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// Where a listing finds its next page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextStyle {
    /// Nova/Cinder/Neutron: `<key>_links: [{rel: next, href}]`.
    Links,
    /// Glance: top-level `next: "/v2/images?marker=..."`.
    NextField,
}

/// One page of a listing, as the pagination loop needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The page's items.
    pub items: Vec<Value>,
    /// The link to the next page, if the page names one.
    pub next: Option<String>,
}

/// The pagination loop every listing shares, openstacksdk's `Resource.list`
/// (d.0): fetch a page, take its items, and follow its next link. An
/// **empty page ends the listing even when it carries a next link**
/// (openstacksdk asks for the next page only `if resources`), so a cloud
/// whose last page is empty but still links onwards is listed exactly as
/// the official suite lists it. The query of each next link replaces the
/// previous query; the path stays. A next link that repeats an earlier
/// page, or more than [`MAX_PAGES`] pages, is an error (a loop guard;
/// openstacksdk would loop for ever).
///
/// `fetch` sends one request and returns its JSON body; `parse` takes a
/// page apart (its first argument describes the request, for messages).
/// Both are parameters so that the loop runs natively in unit tests.
pub fn paginate(
    first: Request,
    fetch: impl FnMut(&Request) -> Result<Value, ApiError>,
    parse: impl FnMut(&str, &Value) -> Result<Page, ApiError>,
) -> Result<Vec<Value>, ApiError> {
    let mut items = Vec::new();
    paginate_pages(first, fetch, parse, |page| {
        items.extend(page);
        Ok(())
    })?;
    Ok(items)
}

/// [`paginate`], handing each page's items to `sink` as the page arrives, so a caller that
/// keeps less than the raw JSON of every item (see [`list_map`]) holds one page at a time.
pub fn paginate_pages(
    first: Request,
    mut fetch: impl FnMut(&Request) -> Result<Value, ApiError>,
    mut parse: impl FnMut(&str, &Value) -> Result<Page, ApiError>,
    mut sink: impl FnMut(Vec<Value>) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let mut req = first;
    let mut seen_queries: std::collections::HashSet<Vec<(String, String)>> =
        std::collections::HashSet::new();
    for _ in 0..MAX_PAGES {
        let what = req.describe();
        let page = {
            let body = fetch(&req)?;
            parse(&what, &body)?
        };
        if page.items.is_empty() {
            return Ok(());
        }
        sink(page.items)?;
        let Some(next) = page.next else {
            return Ok(());
        };
        let query = query_of_link(&next);
        if !seen_queries.insert(query.clone()) {
            return Err(ApiError::Pagination(format!(
                "{what}: the next link repeats an earlier page ({next}); stopping"
            )));
        }
        req = req.with_query(query);
    }
    Err(ApiError::Pagination(format!(
        "more than {MAX_PAGES} pages; stopping"
    )))
}

/// One page of a Nova/Cinder/Neutron-style (`<key>_links` rel `next`) or
/// Glance-style (top-level `next`) collection: `key` must be a list. The
/// links of an empty page are not read (it ends the listing anyway).
pub fn parse_page(what: &str, body: &Value, key: &str, style: NextStyle) -> Result<Page, ApiError> {
    let root = Field::root(what, body);
    let page = root.get(key);
    let items = match page.value() {
        Some(Value::Array(a)) => a.clone(),
        // not a list (or missing): the error names the field
        _ => {
            return Err(page.array().err().map_or_else(
                || ApiError::Pagination(format!("{what}: `{key}` is not a list")),
                ApiError::Json,
            ));
        }
    };
    if items.is_empty() {
        // openstacksdk reads no link of an empty page: it stops there
        return Ok(Page { items, next: None });
    }
    let next = match style {
        NextStyle::NextField => root.get("next").opt_string()?,
        NextStyle::Links => {
            let links = root.get(&format!("{key}_links"));
            let mut next = None;
            if links.value().is_some() {
                for l in links.array()? {
                    if l.get("rel").opt_string()?.as_deref() == Some("next") {
                        next = Some(l.get("href").string()?);
                    }
                }
            }
            next
        }
    };
    Ok(Page { items, next })
}

/// GET every page of a collection and return the items of `key`
/// ([`paginate`] with [`parse_page`]; an empty page ends the listing).
pub fn list_all(first: Request, key: &str, style: NextStyle) -> Result<Vec<Value>, ApiError> {
    paginate(first, Request::send_json, |what, body| {
        parse_page(what, body, key, style)
    })
}

/// Like [`list_all`], but each item goes through `f` (with its index over all pages) as its
/// page arrives, and only what `f` returns is kept: the raw JSON of one page at a time, not
/// of the whole collection.
pub fn list_map<T>(
    first: Request,
    key: &str,
    style: NextStyle,
    mut f: impl FnMut(usize, &Value) -> Result<Option<T>, ApiError>,
) -> Result<Vec<T>, ApiError> {
    let mut out = Vec::new();
    let mut index = 0usize;
    paginate_pages(
        first,
        Request::send_json,
        |what, body| parse_page(what, body, key, style),
        |page| {
            for v in &page {
                if let Some(t) = f(index, v)? {
                    out.push(t);
                }
                index += 1;
            }
            Ok(())
        },
    )?;
    Ok(out)
}

/// A Nova flavor with its extra_specs.
#[derive(Debug, Clone, PartialEq)]
pub struct Flavor {
    /// Flavor id.
    pub id: String,
    /// Flavor name.
    pub name: String,
    /// vCPUs.
    pub vcpus: u64,
    /// RAM in MiB.
    pub ram: u64,
    /// Root disk in GiB (0 = none).
    pub disk: u64,
    /// extra_specs.
    pub extra_specs: BTreeMap<String, String>,
}

/// All flavors (`GET flavors/detail`, shared), with extra_specs inline
/// (microversion 2.61) or, on older clouds, from `flavors/{id}/os-extra_specs`.
/// Order as the cloud lists them (Nova: by flavor id).
pub fn flavors() -> Result<Vec<Flavor>, ApiError> {
    let first = Request::get("compute", "flavors/detail")
        .header(
            "openstack-api-version",
            &format!("compute {NOVA_EXTRA_SPECS_MICROVERSION}"),
        )
        .header(
            "x-openstack-nova-api-version",
            NOVA_EXTRA_SPECS_MICROVERSION,
        )
        .shared();
    let what = first.describe();
    list_map(first, "flavors", NextStyle::Links, |i, v| {
        let f = Field::at(&what, format!("flavors[{i}]"), v);
        let id = f.get("id").string()?;
        let extra = match f.get("extra_specs").opt_string_map()? {
            Some(m) => m,
            None => {
                let req = Request::get("compute", &format!("flavors/{id}/os-extra_specs")).shared();
                let w = req.describe();
                let body = req.send_json()?;
                Field::root(&w, &body)
                    .get("extra_specs")
                    .opt_string_map()?
                    .unwrap_or_default()
            }
        };
        Ok(Some(Flavor {
            id,
            name: f.get("name").string()?,
            vcpus: f.get("vcpus").u64()?,
            ram: f.get("ram").u64()?,
            disk: f.get("disk").u64()?,
            extra_specs: extra,
        }))
    })
}

/// A Glance image: the well-known fields plus every other key as a property.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    /// Image id.
    pub id: String,
    /// Name (may be missing in Glance; empty then).
    pub name: String,
    /// `public`, `community`, `shared` or `private`.
    pub visibility: String,
    /// `os_hidden`.
    pub hidden: bool,
    /// `min_disk` in GiB.
    pub min_disk: Option<u64>,
    /// `min_ram` in MiB.
    pub min_ram: Option<u64>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// `created_at` as given.
    pub created_at: Option<String>,
    /// All keys of the image object (including the ones above), as text;
    /// null values are left out.
    pub properties: BTreeMap<String, String>,
}

impl Image {
    /// A property (top-level key) as text.
    pub fn prop(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }
}

/// Images per page that [`images`] asks for: Glance's default `api_limit_max` (a cloud with
/// a lower maximum returns fewer, and the `next` link goes on from there). The official suite
/// reads pages of Glance's default 25; the images, and so the verdicts, are the same, in 40
/// times fewer round trips on a cloud with 1,000 images.
pub const IMAGE_PAGE_LIMIT: &str = "1000";

/// The images the official suite checks (d.0, h.1): `GET v2/images?member_status=all&limit=1000`
/// (shared, paginated), keeping visibility `public` or `community`.
pub fn images() -> Result<Vec<Image>, ApiError> {
    let first = Request::get("image", "v2/images")
        .query("member_status", "all")
        .query("limit", IMAGE_PAGE_LIMIT)
        .shared();
    let what = first.describe();
    list_map(first, "images", NextStyle::NextField, |i, v| {
        let f = Field::at(&what, format!("images[{i}]"), v);
        let visibility = f.get("visibility").opt_string()?.unwrap_or_default();
        if visibility != "public" && visibility != "community" {
            return Ok(None);
        }
        let mut properties = BTreeMap::new();
        for (k, val) in f.object()? {
            let text = match val {
                Value::Null => continue,
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            properties.insert(k.clone(), text);
        }
        Ok(Some(Image {
            id: f.get("id").string()?,
            name: f.get("name").opt_string()?.unwrap_or_default(),
            visibility,
            hidden: f.get("os_hidden").opt_bool()?.unwrap_or(false),
            min_disk: f.get("min_disk").opt_u64()?,
            min_ram: f.get("min_ram").opt_u64()?,
            size: f.get("size").opt_u64()?,
            created_at: f.get("created_at").opt_string()?,
            properties,
        }))
    })
}

/// `{img.name: img for img in images}` as the official checks build it: names (`None` for a
/// nameless image) in the order of their first occurrence, each with the *last* image listed
/// under it (Glance lists newest first, so the oldest). Linear in the number of images.
pub fn images_by_name(images: &[Image]) -> Vec<(Option<&str>, &Image)> {
    let mut out: Vec<(Option<&str>, &Image)> = Vec::new();
    let mut at: std::collections::HashMap<Option<&str>, usize> = std::collections::HashMap::new();
    for img in images {
        let n = img.prop("name");
        match at.get(&n) {
            Some(&i) => out[i].1 = img,
            None => {
                at.insert(n, out.len());
                out.push((n, img));
            }
        }
    }
    out
}

/// Whether an endpoint URL already names the API version `version` (`.../v2.0`), so that
/// paths must not add it again (openstacksdk's version discovery ends at the same URL either
/// way).
pub fn endpoint_has_version(url: &str, version: &str) -> bool {
    url.trim_end_matches('/')
        .strip_suffix(version)
        .is_some_and(|rest| rest.ends_with('/'))
}

/// The path of a `service_type` resource below its endpoint: `rest` after `version/`, unless
/// the run's endpoint of that type (interface and region of the run) already ends in
/// `/version`. For the services whose paths the SDK writes with their version (Neutron
/// `v2.0`, Barbican `v1`).
pub fn versioned_path(service_type: &str, version: &str, rest: &str) -> String {
    let id = identity();
    let versioned = catalog()
        .iter()
        .filter(|s| s.type_ == service_type)
        .flat_map(|s| s.endpoints.iter())
        .find(|e| e.interface == id.interface && (id.region.is_empty() || e.region == id.region))
        .is_some_and(|e| endpoint_has_version(&e.url, version));
    if versioned {
        rest.to_string()
    } else {
        format!("{version}/{rest}")
    }
}

/// A decoding error about a whole body (`(root)`), from `what` (the request's description).
pub fn body_error(what: &str, problem: String) -> ApiError {
    ApiError::Json(JsonError {
        source: what.to_string(),
        path: "(root)".to_string(),
        problem,
    })
}

/// The token's catalog (from the host; no request).
pub fn catalog() -> Vec<host::Service> {
    host::catalog()
}

/// Whether any catalog entry has one of `types` (h.2: any entry counts,
/// with or without endpoints).
pub fn catalog_has_any(catalog: &[host::Service], types: &[&str]) -> bool {
    catalog.iter().any(|s| types.contains(&s.type_.as_str()))
}

/// The versioned API base the host resolved for `service_type` (its catalog endpoint after
/// version discovery, e.g. `https://nova:8774/v2.1`); paths without a version segment are
/// relative to it. Needs a capability for the type.
pub fn resolved_endpoint(service_type: &str) -> Result<String, ApiError> {
    host::resolved_endpoint(service_type)
        .map_err(|e| ApiError::Host(format!("{service_type}: {}", host_error_text(e))))
}

/// Who the run is (user, project, roles).
pub fn identity() -> host::IdentityInfo {
    host::identity()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The `marker` query parameter of a request ("" for none).
    fn marker(req: &Request) -> String {
        req.inner
            .query
            .iter()
            .find(|(k, _)| k == "marker")
            .map_or(String::new(), |(_, v)| v.clone())
    }

    /// List with a scripted cloud: `pages` maps a marker to the body served
    /// for it. Returns the result and the markers asked for, in order.
    fn list(
        pages: &[(&str, Value)],
        key: &str,
        style: NextStyle,
    ) -> (Result<Vec<Value>, ApiError>, Vec<String>) {
        let mut asked = Vec::new();
        let r = paginate(
            Request::get("compute", "servers/detail"),
            |req| {
                let m = marker(req);
                asked.push(m.clone());
                pages
                    .iter()
                    .find(|(p, _)| *p == m)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| ApiError::Host(format!("no page for marker {m:?}")))
            },
            |what, body| parse_page(what, body, key, style),
        );
        (r, asked)
    }

    fn nova_page(ids: &[&str], next: Option<&str>) -> Value {
        let items: Vec<Value> = ids.iter().map(|i| json!({"id": i})).collect();
        match next {
            Some(m) => json!({"servers": items, "servers_links": [
                {"rel": "next", "href": format!("http://nova/v2.1/servers/detail?marker={m}")}]}),
            None => json!({"servers": items}),
        }
    }

    #[test]
    fn pages_are_followed_until_no_next_link() {
        let (r, asked) = list(
            &[
                ("", nova_page(&["a", "b"], Some("b"))),
                ("b", nova_page(&["c"], None)),
            ],
            "servers",
            NextStyle::Links,
        );
        assert_eq!(r.unwrap().len(), 3);
        assert_eq!(asked, ["", "b"]);
    }

    #[test]
    fn an_empty_page_ends_the_listing_despite_a_next_link() {
        // openstacksdk follows a next link only after a non-empty page
        let (r, asked) = list(
            &[
                ("", nova_page(&["a"], Some("a"))),
                ("a", nova_page(&[], Some("z"))),
                ("z", nova_page(&["never"], None)),
            ],
            "servers",
            NextStyle::Links,
        );
        assert_eq!(r.unwrap(), vec![json!({"id": "a"})]);
        assert_eq!(asked, ["", "a"]);
        // also on the first page, and also for Glance's `next` field
        let (r, asked) = list(
            &[
                ("", json!({"images": [], "next": "/v2/images?marker=x"})),
                ("x", json!({"images": [{"id": "never"}]})),
            ],
            "images",
            NextStyle::NextField,
        );
        assert_eq!(r.unwrap(), Vec::<Value>::new());
        assert_eq!(asked, [""]);
        // an empty page's links are not even read
        let (r, _) = list(
            &[("", json!({"servers": [], "servers_links": "garbage"}))],
            "servers",
            NextStyle::Links,
        );
        assert_eq!(r.unwrap(), Vec::<Value>::new());
    }

    #[test]
    fn glance_next_field() {
        let (r, asked) = list(
            &[
                (
                    "",
                    json!({"images": [{"id": "1"}], "next": "/v2/images?marker=1"}),
                ),
                ("1", json!({"images": [{"id": "2"}], "next": null})),
            ],
            "images",
            NextStyle::NextField,
        );
        assert_eq!(r.unwrap().len(), 2);
        assert_eq!(asked, ["", "1"]);
    }

    #[test]
    fn pagination_errors() {
        // a next link that repeats an earlier page
        let (r, asked) = list(
            &[
                ("", nova_page(&["a"], Some("a"))),
                ("a", nova_page(&["b"], Some("a"))),
            ],
            "servers",
            NextStyle::Links,
        );
        assert!(matches!(r, Err(ApiError::Pagination(_))), "{r:?}");
        assert_eq!(asked, ["", "a"]);
        // a page whose items are not a list, or missing
        let (r, _) = list(&[("", json!({"servers": {}}))], "servers", NextStyle::Links);
        assert!(matches!(r, Err(ApiError::Json(_))), "{r:?}");
        let (r, _) = list(&[("", json!({}))], "servers", NextStyle::Links);
        assert!(matches!(r, Err(ApiError::Json(_))), "{r:?}");
        // a fetch error ends the listing with that error
        let (r, _) = list(&[], "servers", NextStyle::Links);
        assert!(matches!(r, Err(ApiError::Host(_))), "{r:?}");
    }

    #[test]
    fn link_queries() {
        assert_eq!(
            query_of_link("http://h/compute/v2.1/flavors/detail?limit=2&marker=ab%2Fc"),
            vec![
                ("limit".to_string(), "2".to_string()),
                ("marker".to_string(), "ab/c".to_string())
            ]
        );
        assert_eq!(
            query_of_link("/v2/images?marker=x+y&flag"),
            vec![
                ("marker".to_string(), "x y".to_string()),
                ("flag".to_string(), String::new())
            ]
        );
        assert!(query_of_link("/v2/images").is_empty());
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}

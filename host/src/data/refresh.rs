//! Fetching the sources of the datasets on a connected machine (`scs-cert data refresh`), or
//! reading already downloaded copies (`scs-cert data build`), and turning them into datasets.
//!
//! Owns: the source URLs and their defaults (the official script's: d.12 steps 4-5 and the EOL
//! table of the standards repository), the HTTP client for them (system proxies from
//! `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` as reqwest reads them, an extra CA file, at most 5
//! redirects, a per-request timeout), size bounds per source checked while reading (before
//! memory is spent), the CVE records fetched at most [`MAX_CONCURRENT_RECORDS`] at a time (as
//! the official code), and the one-line error of the first failure.
//!
//! Must never: produce datasets with holes (any failed fetch, status other than 200, oversize
//! body or malformed answer fails the whole refresh), send credentials anywhere, or build a
//! record URL or file name from a CVE id that is not `CVE-<year>-<number>`.

use super::file::DatasetInput;
use super::format::{self, FormatError};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The GitHub releases of Kubernetes (unauthenticated, as the official script).
pub const DEFAULT_RELEASES_URL: &str =
    "https://api.github.com/repos/kubernetes/kubernetes/releases?per_page=100";
/// The official Kubernetes CVE feed.
pub const DEFAULT_CVE_FEED_URL: &str =
    "https://kubernetes.io/docs/reference/issues-security/official-cve-feed/index.json";
/// The CVE record of each feed entry; `{id}` is replaced by the CVE id.
pub const DEFAULT_CVE_RECORD_URL: &str = "https://cveawg.mitre.org/api/cve/{id}";
/// The end-of-life table of the SCS standards repository.
pub const DEFAULT_EOL_URL: &str = "https://raw.githubusercontent.com/SovereignCloudStack/standards/main/Tests/kaas/scs_0210_version_policy/k8s-eol-data.yml";
/// CVE records fetched at once (the official code's semaphore).
pub const MAX_CONCURRENT_RECORDS: usize = 5;
/// Largest answer of the releases API and of the CVE feed.
pub const MAX_LIST_BYTES: u64 = 16 << 20;
/// Largest CVE record.
pub const MAX_RECORD_BYTES: u64 = 4 << 20;
/// Largest EOL table.
pub const MAX_EOL_BYTES: u64 = 1 << 20;
/// Per-request timeout unless `--timeout` says otherwise.
pub const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// Where the sources are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    /// GitHub releases list [default [`DEFAULT_RELEASES_URL`]].
    pub releases: String,
    /// CVE feed [default [`DEFAULT_CVE_FEED_URL`]].
    pub cve_feed: String,
    /// CVE record template with `{id}` [default [`DEFAULT_CVE_RECORD_URL`]].
    pub cve_record: String,
    /// EOL table [default [`DEFAULT_EOL_URL`]].
    pub eol: String,
}

impl Default for Sources {
    fn default() -> Self {
        Sources {
            releases: DEFAULT_RELEASES_URL.into(),
            cve_feed: DEFAULT_CVE_FEED_URL.into(),
            cve_record: DEFAULT_CVE_RECORD_URL.into(),
            eol: DEFAULT_EOL_URL.into(),
        }
    }
}

impl Sources {
    /// The record URL of CVE `id` (a valid id, checked by the caller).
    pub fn record_url(&self, id: &str) -> String {
        self.cve_record.replace("{id}", id)
    }

    fn check(&self) -> Result<(), RefreshError> {
        for (what, u) in [
            ("--releases-url", &self.releases),
            ("--cve-feed-url", &self.cve_feed),
            ("--cve-record-url", &self.cve_record),
            ("--eol-url", &self.eol),
        ] {
            let ok = reqwest::Url::parse(&u.replace("{id}", "CVE-2024-0001"))
                .is_ok_and(|p| matches!(p.scheme(), "http" | "https"));
            if !ok {
                return Err(RefreshError::Url {
                    option: what,
                    url: u.clone(),
                    message: "not an http(s) URL".into(),
                });
            }
        }
        if !self.cve_record.contains("{id}") {
            return Err(RefreshError::Url {
                option: "--cve-record-url",
                url: self.cve_record.clone(),
                message: "must contain {id}, which stands for the CVE id".into(),
            });
        }
        Ok(())
    }
}

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Per-request timeout [default [`DEFAULT_TIMEOUT_SECS`] s].
    pub timeout: Duration,
    /// A PEM file of CA certificates trusted besides the system's (internal mirrors).
    pub cacert: Option<PathBuf>,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            cacert: None,
        }
    }
}

/// Why the datasets could not be made. One line each.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// A URL option is unusable.
    #[error("{option} {url:?}: {message}")]
    Url {
        /// The option.
        option: &'static str,
        /// Its value.
        url: String,
        /// Why.
        message: String,
    },
    /// The HTTP client could not be made (e.g. the CA file).
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    /// A fetch failed (connection, TLS, timeout).
    #[error("GET {url}: {message}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why, one line.
        message: String,
    },
    /// A status other than 200.
    #[error("GET {url}: HTTP {status}")]
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// A body over its bound.
    #[error("GET {url}: the answer is larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The bound.
        limit: u64,
    },
    /// A source that does not have its format.
    #[error("{origin}: {source}")]
    Format {
        /// The URL or file.
        origin: String,
        /// What is wrong.
        source: FormatError,
    },
    /// A downloaded file could not be read.
    #[error("{path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

fn client(opts: &FetchOptions) -> Result<reqwest::Client, RefreshError> {
    crate::install_crypto_provider();
    let mut b = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::limited(5))
        .connect_timeout(opts.timeout.min(Duration::from_secs(30)))
        .timeout(opts.timeout)
        .user_agent(concat!("scs-cert/", env!("CARGO_PKG_VERSION")));
    if let Some(ca) = &opts.cacert {
        let pem = crate::fsutil::read_bounded(ca, 1 << 20)
            .map_err(|e| RefreshError::Client(format!("--cacert: {e}")))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| RefreshError::Client(format!("--cacert {}: {e}", ca.display())))?;
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    b.build()
        .map_err(|e| RefreshError::Client(crate::errtext::error_chain(&e)))
}

/// GET `url`, 200 only, the body read up to `limit` bytes (a larger one fails).
async fn get(client: &reqwest::Client, url: &str, limit: u64) -> Result<Vec<u8>, RefreshError> {
    let fail = |e: reqwest::Error| RefreshError::Fetch {
        url: url.to_string(),
        message: crate::errtext::error_chain(&e),
    };
    let mut resp = client
        .get(url)
        .header("accept", "application/json")
        .send()
        .await
        .map_err(fail)?;
    let status = resp.status().as_u16();
    if status != 200 {
        return Err(RefreshError::Status {
            url: url.to_string(),
            status,
        });
    }
    crate::http_body::read_capped(&mut resp, limit)
        .await
        .map_err(|e| match e {
            crate::http_body::BodyError::TooLarge(_) => RefreshError::TooLarge {
                url: url.to_string(),
                limit,
            },
            crate::http_body::BodyError::Transport(e) => fail(e),
        })
}

/// Turn the sources' bytes into the three datasets.
fn datasets(
    sources: &Sources,
    releases: (&[u8], &str),
    records: Vec<(String, Vec<u8>, String)>,
    eol: (&[u8], &str),
) -> Result<Vec<DatasetInput>, RefreshError> {
    let fmt = |origin: &str| {
        let origin = origin.to_string();
        move |source| RefreshError::Format { origin, source }
    };
    let rel =
        format::releases_from_github(releases.0, &sources.releases).map_err(fmt(releases.1))?;
    let mut cves = Vec::with_capacity(records.len());
    for (id, bytes, origin) in &records {
        cves.push(format::cve_from_record(id, bytes).map_err(fmt(origin))?);
    }
    let cves = format::Cves {
        source: sources.cve_feed.clone(),
        records_source: sources.cve_record.clone(),
        cves,
    };
    let eol_ds = format::eol_from_yaml(eol.0, &sources.eol).map_err(fmt(eol.1))?;
    Ok(vec![
        DatasetInput {
            name: format::RELEASES.into(),
            content: format::to_bytes(&rel),
            sources: vec![sources.releases.clone()],
        },
        DatasetInput {
            name: format::CVES.into(),
            content: format::to_bytes(&cves),
            sources: vec![sources.cve_feed.clone(), sources.cve_record.clone()],
        },
        DatasetInput {
            name: format::EOL.into(),
            content: format::to_bytes(&eol_ds),
            sources: vec![sources.eol.clone()],
        },
    ])
}

/// Fetch every source and make the datasets; the first failure fails it all.
pub async fn fetch(
    sources: &Sources,
    opts: &FetchOptions,
) -> Result<Vec<DatasetInput>, RefreshError> {
    use futures::{StreamExt as _, TryStreamExt as _};
    sources.check()?;
    let client = client(opts)?;
    let (releases, feed, eol) = tokio::try_join!(
        get(&client, &sources.releases, MAX_LIST_BYTES),
        get(&client, &sources.cve_feed, MAX_LIST_BYTES),
        get(&client, &sources.eol, MAX_EOL_BYTES),
    )?;
    let ids = format::cve_ids_from_feed(&feed).map_err(|source| RefreshError::Format {
        origin: sources.cve_feed.clone(),
        source,
    })?;
    let records: Vec<(String, Vec<u8>, String)> =
        futures::stream::iter(ids.into_iter().map(|id| {
            let url = sources.record_url(&id);
            let client = &client;
            async move {
                let body = get(client, &url, MAX_RECORD_BYTES).await?;
                Ok::<_, RefreshError>((id, body, url))
            }
        }))
        .buffered(MAX_CONCURRENT_RECORDS)
        .try_collect()
        .await?;
    datasets(
        sources,
        (&releases, &sources.releases),
        records,
        (&eol, &sources.eol),
    )
}

fn read(path: &Path, limit: u64) -> Result<Vec<u8>, RefreshError> {
    crate::fsutil::read_bounded(path, limit).map_err(|e| RefreshError::Read {
        path: path.display().to_string(),
        message: match e {
            crate::fsutil::ReadError::Io { source, .. } => source.to_string(),
            crate::fsutil::ReadError::NotRegular { .. } => "not a regular file".into(),
            crate::fsutil::ReadError::TooLarge { len, limit, .. } => {
                format!("{len} bytes, more than {limit}")
            }
        },
    })
}

/// Already downloaded copies of the sources: the releases answer, the CVE feed, a directory
/// with one `<CVE id>.json` record per feed entry, and the EOL table.
#[derive(Debug, Clone)]
pub struct Downloaded {
    /// The GitHub releases answer.
    pub releases: PathBuf,
    /// The CVE feed.
    pub cve_feed: PathBuf,
    /// `<id>.json` per CVE id of the feed.
    pub cve_records: PathBuf,
    /// k8s-eol-data.yml.
    pub eol: PathBuf,
}

/// Make the datasets from downloaded files; `sources` are the URLs they came from (the
/// datasets name them). Every record of the feed must be there.
pub fn from_files(
    sources: &Sources,
    files: &Downloaded,
) -> Result<Vec<DatasetInput>, RefreshError> {
    sources.check()?;
    let releases = read(&files.releases, MAX_LIST_BYTES)?;
    let feed = read(&files.cve_feed, MAX_LIST_BYTES)?;
    let eol = read(&files.eol, MAX_EOL_BYTES)?;
    let ids = format::cve_ids_from_feed(&feed).map_err(|source| RefreshError::Format {
        origin: files.cve_feed.display().to_string(),
        source,
    })?;
    let mut records = Vec::with_capacity(ids.len());
    for id in ids {
        // The id is CVE-<digits>-<digits> (checked), so it is a plain file name.
        let p = files.cve_records.join(format!("{id}.json"));
        let body = read(&p, MAX_RECORD_BYTES)?;
        records.push((id, body, p.display().to_string()));
    }
    datasets(
        sources,
        (&releases, &files.releases.display().to_string()),
        records,
        (&eol, &files.eol.display().to_string()),
    )
}

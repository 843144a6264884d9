//! The HTTP exchange both mediations (OpenStack and Kubernetes) share: one request sent and
//! its answer read within a time bound and a size cap, and the rule for the next hop of a
//! redirect.
//!
//! Owns: reading a response (headers that could carry a secret dropped, the body capped before
//! it is stored), what a timeout or a transport failure becomes, which redirects may be
//! followed with the credentials ([`redirect_allowed`], at most [`MAX_REDIRECTS`] hops) and how
//! the method changes on a redirect.
//!
//! Must never: add a credential (the sessions do that, only for hops this module allows), read
//! more than the cap, or follow a redirect to another origin.

use super::keystone;
use super::request::ApiResponse;
use crate::errtext::error_chain;
use crate::http_body::BodyError;
use std::time::Duration;

/// Most redirects followed for one request (keystoneauth follows up to 30; a cloud that needs
/// more than a few is misconfigured).
pub const MAX_REDIRECTS: usize = 5;

/// Why an exchange gave no response; each session maps it to its own error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No complete answer in time.
    Timeout(String),
    /// Connection, TLS or protocol failure.
    Transport(String),
    /// The body is larger than the cap.
    TooLarge(String),
}

/// Send `rb` and read the answer: at most `cap` body bytes (refused before reading when the
/// answer announces more), the headers in `dropped` (secret-bearing and volatile ones, each
/// mediation has its list) left out.
pub(crate) async fn exchange(
    rb: reqwest::RequestBuilder,
    timeout: Duration,
    cap: u64,
    dropped: &[&str],
) -> Result<ApiResponse, Failure> {
    let map_err = |e: reqwest::Error| {
        if e.is_timeout() {
            Failure::Timeout(format!(
                "no complete answer within {} ms",
                timeout.as_millis()
            ))
        } else {
            Failure::Transport(error_chain(&e))
        }
    };
    let mut resp = rb.send().await.map_err(map_err)?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .filter(|(k, _)| !dropped.contains(&k.as_str()))
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let body = crate::http_body::read_capped(&mut resp, cap)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge(Some(l)) => {
                Failure::TooLarge(format!("response announces {l} bytes; the limit is {cap}"))
            }
            BodyError::TooLarge(None) => {
                Failure::TooLarge(format!("response body exceeds the limit of {cap} bytes"))
            }
            BodyError::Transport(e) => map_err(e),
        })?;
    Ok(ApiResponse {
        status,
        headers,
        body,
    })
}

/// How one mediated request is sent: the bounds of [`send_following`] and who asked.
pub(crate) struct Limits<'a> {
    /// The whole chain, first byte to last.
    pub timeout: Duration,
    /// Largest body read.
    pub cap: u64,
    /// Response headers left out.
    pub dropped: &'a [&'a str],
    /// Whether a redirect may lead to a link-local host.
    pub allow_link_local: bool,
    /// The check, for the log.
    pub check: &'a str,
}

/// Send a request and follow its redirects where [`next_hop`] allows, at most
/// [`MAX_REDIRECTS`] hops, each logged; the whole chain shares `limits.timeout`. `build` makes
/// the request of one hop from its method, URL, body and time left (the session adds its
/// credentials there; [`next_hop`] has made sure the URL may see them). Returns the answer
/// and how many redirects were followed; a redirect that must not be followed is the answer.
pub(crate) async fn send_following(
    mut build: impl FnMut(
        &reqwest::Method,
        &reqwest::Url,
        Option<&Vec<u8>>,
        Duration,
    ) -> reqwest::RequestBuilder,
    mut method: reqwest::Method,
    mut url: reqwest::Url,
    mut body: Option<Vec<u8>>,
    limits: &Limits<'_>,
) -> Result<(ApiResponse, u64), Failure> {
    let check = limits.check;
    let deadline = std::time::Instant::now() + limits.timeout;
    for hop in 0..=MAX_REDIRECTS {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(Failure::Timeout(format!(
                "no complete answer within {} ms",
                limits.timeout.as_millis()
            )));
        }
        let rb = build(&method, &url, body.as_ref(), left);
        let resp = exchange(rb, left, limits.cap, limits.dropped).await?;
        let from = keystone::shown_url(url.as_str());
        let (next, as_get) = match next_hop(&resp, &url, &method, limits.allow_link_local) {
            Hop::Answer => return Ok((resp, hop as u64)),
            Hop::Refused { to, why } => {
                tracing::warn!(check, status = resp.status, from = %from, to = %to,
                    "redirect not followed: {why}");
                return Ok((resp, hop as u64));
            }
            Hop::Follow { next, as_get } => (next, as_get),
        };
        let to = keystone::shown_url(next.as_str());
        if hop == MAX_REDIRECTS {
            return Err(Failure::Transport(format!(
                "more than {MAX_REDIRECTS} redirects, the last from {from} to {to}"
            )));
        }
        tracing::info!(check, status = resp.status, from = %from, to = %to, "redirect followed");
        if as_get {
            method = reqwest::Method::GET;
            body = None;
        }
        url = next;
    }
    Err(Failure::Transport(format!(
        "more than {MAX_REDIRECTS} redirects"
    )))
}

/// What to do after a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Hop {
    /// It is the answer (no redirect, or one without a usable `Location`).
    Answer,
    /// A redirect that must not be followed; the answer is the 3xx itself, and why.
    Refused {
        /// The target, shown without user info or query.
        to: String,
        /// Why.
        why: String,
    },
    /// Follow it: the next URL, and whether the request continues as GET without a body
    /// (303, and 301/302 after a POST, as HTTP clients do).
    Follow {
        /// The next URL.
        next: reqwest::Url,
        /// Continue as GET without a body.
        as_get: bool,
    },
}

/// The next hop after `resp` to a request of `method` at `url`.
pub(crate) fn next_hop(
    resp: &ApiResponse,
    url: &reqwest::Url,
    method: &reqwest::Method,
    allow_link_local: bool,
) -> Hop {
    if !matches!(resp.status, 301 | 302 | 303 | 307 | 308) {
        return Hop::Answer;
    }
    let Some(location) = resp
        .headers
        .iter()
        .find(|(k, _)| k == "location")
        .map(|(_, v)| v.as_str())
    else {
        return Hop::Answer;
    };
    let next = match url.join(location) {
        Ok(n) => n,
        Err(e) => {
            return Hop::Refused {
                to: crate::errtext::bounded_text(location, 200),
                why: format!("the Location is not a URL ({e})"),
            };
        }
    };
    if let Err(why) = redirect_allowed(url, &next, allow_link_local) {
        return Hop::Refused {
            to: keystone::shown_url(next.as_str()),
            why,
        };
    }
    let as_get = resp.status == 303 && method != reqwest::Method::HEAD
        || matches!(resp.status, 301 | 302) && method == reqwest::Method::POST;
    Hop::Follow { next, as_get }
}

/// Whether a redirect from `from` to `to` may be followed with the token and the check's
/// headers: same origin, or http to https on the same host (any port); and `to` passes the
/// catalog URL rules (scheme, no user info, no link-local host unless allowed; a query is
/// fine here, pagination links carry one).
pub(crate) fn redirect_allowed(
    from: &reqwest::Url,
    to: &reqwest::Url,
    allow_link_local: bool,
) -> Result<(), String> {
    let same_origin = from.origin() == to.origin();
    let upgrade = from.scheme() == "http"
        && to.scheme() == "https"
        && from.host_str().is_some()
        && from.host_str() == to.host_str();
    if !same_origin && !upgrade {
        return Err(format!(
            "it leads to another origin ({}), which must not see the token",
            to.origin().ascii_serialization()
        ));
    }
    let mut bare = to.clone();
    bare.set_query(None);
    bare.set_fragment(None);
    keystone::check_endpoint_url(bare.as_str(), allow_link_local).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> reqwest::Url {
        reqwest::Url::parse(s).unwrap()
    }

    /// Issue 11, redirects: which hops keep the token.
    #[test]
    fn redirects_keep_to_the_origin_or_its_https_upgrade() {
        let from = u("http://api.example:8774/v2.1/flavors");
        for ok in [
            "http://api.example:8774/compute/v2.1/flavors?marker=x",
            "https://api.example/v2.1/flavors",
            "https://api.example:8443/v2.1/flavors",
        ] {
            assert_eq!(redirect_allowed(&from, &u(ok), false), Ok(()), "{ok}");
        }
        for bad in [
            "http://other.example:8774/v2.1/flavors",
            "http://api.example:9999/v2.1/flavors",
            "https://api.example.evil/v2.1/flavors",
            "ftp://api.example/v2.1",
        ] {
            assert!(redirect_allowed(&from, &u(bad), false).is_err(), "{bad}");
        }
        // https never downgrades
        let from = u("https://api.example/v2.1");
        assert!(redirect_allowed(&from, &u("http://api.example/v2.1"), false).is_err());
        // the catalog rules still hold on the same origin
        let from = u("http://169.254.169.254/v2.1");
        assert!(redirect_allowed(&from, &u("http://169.254.169.254/x"), false).is_err());
        assert!(redirect_allowed(&from, &u("http://169.254.169.254/x"), true).is_ok());
        let from = u("http://h/v2.1");
        assert!(redirect_allowed(&from, &u("http://user:pw@h/x"), false).is_err());
    }

    #[test]
    fn next_hops() {
        let resp = |status: u16, location: Option<&str>| ApiResponse {
            status,
            headers: location
                .map(|l| vec![("location".to_string(), l.to_string())])
                .unwrap_or_default(),
            body: Vec::new(),
        };
        let url = u("http://h/v2.1/servers");
        let post = reqwest::Method::POST;
        let get = reqwest::Method::GET;
        assert_eq!(next_hop(&resp(200, None), &url, &get, false), Hop::Answer);
        assert_eq!(next_hop(&resp(302, None), &url, &get, false), Hop::Answer);
        assert_eq!(
            next_hop(&resp(307, Some("/v2.1/x")), &url, &post, false),
            Hop::Follow {
                next: u("http://h/v2.1/x"),
                as_get: false
            }
        );
        for (status, method, as_get) in [(303, &get, true), (302, &post, true), (301, &get, false)]
        {
            match next_hop(&resp(status, Some("/y")), &url, method, false) {
                Hop::Follow { as_get: g, .. } => assert_eq!(g, as_get, "{status} {method}"),
                other => panic!("{other:?}"),
            }
        }
        assert!(matches!(
            next_hop(&resp(307, Some("http://evil/x")), &url, &get, false),
            Hop::Refused { .. }
        ));
    }
}

"""OpenStack requests over the host's mediated `openstack` interface.

Owns: building requests (`Request`, `get`), judging responses (`send_ok`,
`send_json`: a non-2xx status or a body that is not JSON becomes an
`ApiError` or a `JsonError`), and the one pagination loop every listing
shares (`paginate` with `parse_page`, together `list_all`). The loop is the
Rust SDK's (checks/sdk/src/openstack.rs), which is openstacksdk's
``Resource.list``: take a page's items, follow its next link
(``<key>_links`` with rel ``next`` for Nova, Cinder and Neutron; a
top-level ``next`` for Glance); the query of the link replaces the query of
the request and the path stays; an empty page ends the listing even if it
links onwards; a link that repeats an earlier page, or more than
`MAX_PAGES` pages, is an error. Messages are worded like the Rust SDK's.

Must never: hold or add credentials (the host adds the token), retry a
request, cache anything (the host serves `shared` reads once per run), or
hide an API error behind a default value.
"""

from componentize_py_types import Err
from wit_world.imports import openstack as _host

from .errors import ApiError
from .fields import Field, parse_json

#: Upper bound on pages followed in one listing (a loop guard).
MAX_PAGES = 10_000

#: Next-link style of Nova, Cinder and Neutron: ``<key>_links``, rel ``next``.
LINKS = "links"
#: Next-link style of Glance: a top-level ``next``.
NEXT_FIELD = "next"

_METHODS = {m.name: m for m in _host.Method}

_HOST_ERRORS = (
    (_host.Error_Denied, "denied by the host"),
    (_host.Error_NoEndpoint, "no endpoint"),
    (_host.Error_Timeout, "timeout"),
    (_host.Error_TooLarge, "too large"),
    (_host.Error_Transport, "transport error"),
)

# The service name in `OpenStack-API-Version` where it is not the catalog type.
_MICROVERSION_NAMES = {
    "block-storage": "volume",
    "volumev3": "volume",
    "volumev2": "volume",
}


def host_error_text(err):
    """One line for an `openstack.Error` variant from the host."""
    for cls, text in _HOST_ERRORS:
        if isinstance(err, cls):
            return f"{text}: {err.value}"
    return f"host error: {err!r}"


class Request:
    """One request to a catalog endpoint (built by `get` for reads).

    `method` is ``GET``, ``HEAD``, ``POST``, ``PUT``, ``PATCH`` or
    ``DELETE``; `path` is relative to the service's versioned API base as
    the host resolves it (``types``, ``flavors/detail``) or starts with a
    version segment (``v2/images``); `query` and `headers` are lists of
    pairs; `body` is bytes or None; `shared` asks for a read the host makes
    once per run for every check; `host_root` anchors `path` at the
    endpoint's scheme://host:port (no token).
    """

    def __init__(self, service_type, path, method="GET", query=(), headers=(),
                 body=None, shared=False, host_root=False):
        self.service_type = service_type
        self.path = path
        self.method = method.upper()
        self.query = [(str(k), str(v)) for k, v in query]
        self.headers = [(str(k), str(v)) for k, v in headers]
        self.body = body
        self.shared = shared
        self.host_root = host_root

    def describe(self):
        """``block-storage GET types``: the request in messages."""
        return f"{self.service_type} {self.method} {self.path}"

    def with_query(self, query):
        """A copy with `query` instead of the current query."""
        return Request(self.service_type, self.path, self.method, query, self.headers,
                       self.body, self.shared, self.host_root)

    def send(self):
        """Send; any HTTP status is a response (``status``, ``headers``,
        ``body``). An `ApiError` if the host refused or failed."""
        req = _host.Request(
            service_type=self.service_type,
            method=_METHODS[self.method],
            path=self.path,
            query=list(self.query),
            headers=list(self.headers),
            body=None if self.body is None else bytes(self.body),
            anchor=_host.Anchor.HOST_ROOT if self.host_root else _host.Anchor.ENDPOINT,
            shared=self.shared,
        )
        try:
            return _host.send(req)
        except Err as e:
            raise ApiError(host_error_text(e.value)) from None

    def send_ok(self):
        """Send and require a 2xx status; otherwise an `ApiError` with the
        status and the first 200 characters of the body."""
        return ok(self, self.send())

    def send_json(self):
        """Send, require 2xx, and decode the body as JSON."""
        return json_body(self, self.send())


def get(service_type, path, query=(), microversion=None, shared=False):
    """A GET request.

    `query` is a list of ``(name, value)`` pairs (the host URL-encodes
    them). `microversion` (``"2.61"``) adds ``OpenStack-API-Version``
    (service name ``volume`` for Cinder's types) and, for ``compute``, the
    legacy ``X-OpenStack-Nova-API-Version`` header; the host lowers a
    version above the cloud's maximum. `shared` asks for a shared read.
    """
    headers = []
    if microversion is not None:
        name = _MICROVERSION_NAMES.get(service_type, service_type)
        headers.append(("openstack-api-version", f"{name} {microversion}"))
        if service_type == "compute":
            headers.append(("x-openstack-nova-api-version", str(microversion)))
    return Request(service_type, path, "GET", query, headers, shared=shared)


def ok(req, resp):
    """`resp` if its status is 2xx, else the `ApiError` `send_ok` raises."""
    if 200 <= resp.status < 300:
        return resp
    body = bytes(resp.body).decode("utf-8", "replace")[:200]
    message = f"{req.describe()} returned HTTP {resp.status}"
    if body:
        message += f": {body}"
    raise ApiError(message, status=resp.status)


def json_body(req, resp):
    """The decoded JSON body of a 2xx `resp`, else the error `send_json`
    raises."""
    return parse_json(bytes(ok(req, resp).body), req.describe())


def _percent_decode(text):
    """``%XX`` and ``+`` of a query component decoded; malformed escapes
    are kept as they are (like the Rust SDK)."""
    raw = text.encode("utf-8", "surrogatepass")
    out = bytearray()
    i = 0
    while i < len(raw):
        b = raw[i]
        if b == ord("+"):
            out.append(0x20)
            i += 1
            continue
        if b == ord("%") and i + 2 < len(raw):
            pair = raw[i + 1:i + 3]
            digits = pair[1:] if pair[:1] == b"+" else pair
            if digits and all(c in b"0123456789abcdefABCDEF" for c in digits):
                out.append(int(digits, 16))
                i += 3
                continue
        out.append(b)
        i += 1
    return out.decode("utf-8", "replace")


def query_of_link(link):
    """The query parameters of a next link (absolute or relative URL), in
    order, decoded."""
    if "?" not in link:
        return []
    query = link.split("?", 1)[1].split("#", 1)[0]
    pairs = []
    for part in query.split("&"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        pairs.append((_percent_decode(key), _percent_decode(value) if sep else ""))
    return pairs


def parse_page(what, body, key, style=LINKS):
    """One page of a listing: ``(items, next_link_or_None)``.

    `key` names the list (``volume_types``); `style` is `LINKS` or
    `NEXT_FIELD`. The links of an empty page are not read.
    """
    root = Field.root(what, body)
    page = root.get(key)
    if not isinstance(page.value, list):
        page.array()  # raises the JsonError naming the field
    items = list(page.value)
    if not items:
        return items, None
    nxt = None
    if style == NEXT_FIELD:
        nxt = root.get("next").opt_string()
    else:
        links = root.get(f"{key}_links")
        if links.present:
            for link in links.array():
                if link.get("rel").opt_string() == "next":
                    nxt = link.get("href").string()
    return items, nxt


def paginate(first, fetch, parse):
    """The pagination loop: `fetch(request)` returns a decoded page,
    `parse(what, body)` returns ``(items, next_link)``. Both are parameters
    so that the loop can be exercised without a host."""
    items = []
    req = first
    seen = []
    for _ in range(MAX_PAGES):
        what = req.describe()
        page_items, nxt = parse(what, fetch(req))
        if not page_items:
            return items
        items.extend(page_items)
        if nxt is None:
            return items
        query = query_of_link(nxt)
        if query in seen:
            raise ApiError(f"{what}: the next link repeats an earlier page ({nxt}); stopping")
        seen.append(query)
        req = req.with_query(query)
    raise ApiError(f"more than {MAX_PAGES} pages; stopping")


def list_all(first, key, style=LINKS):
    """Every item of `key` over all pages of the listing `first` starts."""
    return paginate(first, Request.send_json,
                    lambda what, body: parse_page(what, body, key, style))

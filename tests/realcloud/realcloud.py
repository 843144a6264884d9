#!/usr/bin/env python3
"""Content of the real OpenStack test cloud, as admin, over plain HTTP (no SDK: fast start).

    realcloud.py bootstrap                 service project/users and a default catalog (start.sh)
    realcloud.py seed FIXTURE [--clouds F] make the cloud's content equal a simcloud fixture
    realcloud.py leftovers FIXTURE         what the fixture users' projects hold beyond the seed
    realcloud.py info                      print cloud.json

The cloud is described by $REALCLOUD_DIR/cloud.json (written by start.sh; for another,
disposable cloud write one by hand: auth_url, region, admin credentials, endpoints, and
"sqlite": {} when its databases are out of reach).

`seed` reads the same fixture file as simcloud (tests/simcloud/fixtures/*.yaml, with their
`extends` chain merged by simcloud's rules, or the JSON that tests/realcloud.rs writes from the
parsed fixture) and *reconciles*: after it, the cloud holds
exactly the fixture's users (with password and roles) and application credentials, projects,
the catalog (services, endpoints, regions), flavors (id, sizes, extra_specs, access,
description, disabled), images (id, visibility, owner, members, hidden, properties, tags,
protection, status, created_at/updated_at), volume types (description, public, extra specs),
Neutron's default security-group rules, the external network and the projects' quotas (Nova,
Cinder, Neutron; the OpenStack defaults for what the fixture's `quota` does not set). Anything
of those kinds that
the fixture does not name is deleted (admin, the service users and their projects are never
touched). Applying the same fixture twice changes nothing.

What the APIs cannot set is written to the SQLite databases directly (documented in
tests/realcloud/README.md): image created_at/updated_at and flavor `disabled`. Catalog
entries of services that do not run here (load-balancer, placement, key-manager,
object-store, ...) point to a closed port. What cannot be reproduced at all is listed in the
output under "unsupported" (e.g. `network.default_rules_api: false`).

Output (stdout): one JSON object: the clouds.yaml written, the cloud name per fixture user
and application credential, project ids, notes, unsupported features, timings.
"""

import argparse
import datetime
import json
import os
import pathlib
import re
import sqlite3
import struct
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = pathlib.Path(__file__).resolve().parent
MARK = "scs-cert realcloud fixture"  # description of the users/projects that seed manages
SERVICE_USERS = ("nova", "glance", "cinder", "neutron", "placement")
PROTECTED_USERS = ("admin",) + SERVICE_USERS
PROTECTED_PROJECTS = ("admin", "service")
NOT_SERVED = "http://127.0.0.1:9"  # catalog entries of services that do not run here
VOLUME_TYPES = ("volumev3", "block-storage", "volume", "volumev2")
# Glance fields that are not custom properties (compare only the properties)
GLANCE_CORE = {
    "id", "name", "status", "visibility", "os_hidden", "owner", "min_disk", "min_ram", "size",
    "virtual_size", "disk_format", "container_format", "checksum", "os_hash_algo",
    "os_hash_value", "created_at", "updated_at", "tags", "self", "file", "schema", "protected",
    "locations", "direct_url", "stores",
}


# The fixture's `quota` keys with the defaults of Nova 33, Cinder 29 and Neutron 29 (simcloud's
# QuotaOptions), and where each one lives: (service, that service's quota name).
QUOTA_DEFAULTS = {
    "instances": 10, "cores": 20, "ram": 51200,
    "volumes": 10, "snapshots": 10, "gigabytes": 1000, "backups": 10, "backup_gigabytes": 1000,
    "networks": 100, "subnets": 100, "routers": 10, "ports": 500, "security_groups": 10,
    "security_group_rules": 100, "floatingips": 50,
}
QUOTA_NAMES = {
    "instances": ("nova", "instances"), "cores": ("nova", "cores"), "ram": ("nova", "ram"),
    "volumes": ("cinder", "volumes"), "snapshots": ("cinder", "snapshots"),
    "gigabytes": ("cinder", "gigabytes"), "backups": ("cinder", "backups"),
    "backup_gigabytes": ("cinder", "backup_gigabytes"),
    "networks": ("neutron", "network"), "subnets": ("neutron", "subnet"),
    "routers": ("neutron", "router"), "ports": ("neutron", "port"),
    "security_groups": ("neutron", "security_group"),
    "security_group_rules": ("neutron", "security_group_rule"),
    "floatingips": ("neutron", "floatingip"),
}


class ApiError(Exception):
    def __init__(self, method, url, status, body):
        super().__init__("%s %s -> %s: %s" % (method, url, status, body[:500]))
        self.status = status


def log(msg):
    print("realcloud: " + msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- HTTP

def http(method, url, body=None, token=None, headers=None, ok=(200, 201, 202, 204), raw=None):
    """One request; returns (status, headers, parsed JSON or None)."""
    hdrs = {"Accept": "application/json"}
    data = None
    if raw is not None:
        data = raw
        hdrs["Content-Type"] = "application/octet-stream"
    elif body is not None:
        data = json.dumps(body).encode()
        hdrs["Content-Type"] = "application/json"
    if token:
        hdrs["X-Auth-Token"] = token
    hdrs.update(headers or {})
    req = urllib.request.Request(url, data=data, headers=hdrs, method=method)
    for attempt in range(3):
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                text = resp.read()
                status, rh = resp.status, resp.headers
            break
        except urllib.error.HTTPError as e:
            text, status, rh = e.read(), e.code, e.headers
            break
        except (ConnectionError, urllib.error.URLError) as e:
            # a service that was just (re)started may refuse for a moment
            if attempt == 2:
                raise ApiError(method, url, 0, str(e)) from e
            time.sleep(1 + attempt)
    if status not in ok:
        raise ApiError(method, url, status, text.decode("utf-8", "replace"))
    parsed = None
    if text:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
    return status, rh, parsed


class Cloud:
    """The admin's view of the cloud in cloud.json."""

    def __init__(self, conf):
        self.conf = conf
        self.auth_url = conf["auth_url"].rstrip("/")
        self.region = conf.get("region", "RegionOne")
        self.ep = conf["endpoints"]
        self.sqlite = conf.get("sqlite") or {}
        a = conf["admin"]
        self.token, tok = password_token(self.auth_url, a["username"], a["password"],
                                         a.get("project_name", "admin"))
        self.admin_project = tok["project"]["id"]
        self.admin_user = tok["user"]["id"]

    # service URLs
    def ks(self, path):
        return self.auth_url + path

    def nova(self, path):
        return self.ep["compute"].rstrip("/") + path

    def glance(self, path):
        return self.ep["image"].rstrip("/") + path

    def cinder(self, path):
        base = self.ep["block-storage"].replace("%(project_id)s", self.admin_project)
        return base.replace("%(tenant_id)s", self.admin_project).rstrip("/") + path

    def neutron(self, path):
        return self.ep["network"].rstrip("/") + path

    def call(self, method, url, body=None, **kw):
        return http(method, url, body, token=self.token, **kw)[2]

    def get(self, url, **kw):
        return self.call("GET", url, **kw)


def password_token(auth_url, user, password, project, user_domain="default"):
    body = {"auth": {
        "identity": {"methods": ["password"], "password": {"user": {
            "name": user, "domain": {"id": user_domain}, "password": password}}},
        "scope": {"project": {"name": project, "domain": {"id": "default"}}}}}
    _, h, b = http("POST", auth_url + "/auth/tokens", body, ok=(201,))
    return h["X-Subject-Token"], b["token"]


# --------------------------------------------------------------------------- fixture

def fnv1a128(data):
    h = 0x6C62272E07BB014262B821756295C58D
    for byte in data:
        h = ((h ^ byte) * 0x0000000001000000000000000000013B) & ((1 << 128) - 1)
    return h


def uuid_from(key):
    """simcloud's ids::uuid_from: FNV-1a 128 of the key, laid out as a version-4 UUID."""
    b = bytearray(fnv1a128(key.encode()).to_bytes(16, "big"))
    b[6] = (b[6] & 0x0F) | 0x40
    b[8] = (b[8] & 0x3F) | 0x80
    h = b.hex()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def is_null(v):
    return v is None or (isinstance(v, str) and v in ("null", "Null", "NULL", "~", ""))


def opt_str(v):
    return None if is_null(v) else str(v)


def to_int(v, default=0):
    return default if is_null(v) else int(v)


def to_bool(v, default):
    if is_null(v):
        return default
    if isinstance(v, bool):
        return v
    return str(v) in ("true", "True", "TRUE")


def str_map(v):
    """A free-form map: scalars verbatim as strings (the YAML is read untyped)."""
    if is_null(v):
        return {}
    return {str(k): ("true" if x is True else "false" if x is False else str(x))
            for k, x in v.items()}


def neutron_default_rules():
    """simcloud's default (= Neutron's four templates of migration c33da356b165)."""
    rules = []
    for direction in ("ingress", "egress"):
        for ethertype in ("IPv4", "IPv6"):
            rules.append({
                "direction": direction, "ethertype": ethertype, "protocol": None,
                "port_range_min": None, "port_range_max": None, "remote_ip_prefix": None,
                "remote_group_id": "PARENT" if direction == "ingress" else None,
                "description": "Legacy default SG rule for %s traffic" % direction,
                "used_in_default_sg": True, "used_in_non_default_sg": direction == "egress"})
    return rules


def filler_flavor(i):
    return {"id": "filler-%05d" % i, "name": "filler-%05d" % i, "vcpus": 1, "ram": 512,
            "disk": 1, "swap": 0, "ephemeral": 0, "extra_specs": {}, "is_public": True,
            "projects": [], "description": "generated filler flavor %d" % i, "disabled": False}


def filler_image(i):
    created = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc) + \
        datetime.timedelta(minutes=i)
    props = {
        "architecture": "x86_64", "os_distro": "filler", "os_version": str(i),
        "os_purpose": "custom", "hw_disk_bus": "virtio", "hypervisor_type": "kvm",
        "hw_rng_model": "virtio", "image_build_date": "2023-12-31",
        "image_original_user": "filler",
        "image_source": "https://example.org/filler/%04d.qcow2" % i,
        "image_description": "generated filler image %d" % i, "replace_frequency": "never",
        "provided_until": "none", "uuid_validity": "none", "hotfix_hours": "0"}
    return {"name": "Filler Image %04d" % i, "min_disk": 1, "min_ram": 128, "size": 1000000,
            "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ"), "properties": props}


MAX_EXTENDS = 4  # as tests/simcloud/src/extends.rs
ITEM_KEYS = ("id", "name")


class FixtureError(Exception):
    pass


def read_raw(path):
    """One fixture file as a tree. JSON (what tests/realcloud.rs writes from the parsed
    fixture) is read typed; YAML is read untyped, as simcloud does for the free-form maps
    (`os_version: 24.04` is "24.04")."""
    text = pathlib.Path(path).read_text()
    try:
        return json.loads(text)
    except ValueError:
        import yaml  # PyYAML from the venv
        return yaml.load(text, Loader=yaml.BaseLoader) or {}


def scalar_text(v):
    """The text of a scalar (what keys and list-item identities compare), None otherwise."""
    if isinstance(v, (dict, list)):
        return None
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def resolve_extends(path, chain=()):
    """The raw tree of a fixture file with its `extends` chain applied. The rules are those of
    simcloud's loader (tests/simcloud/src/extends.rs, tests/simcloud/README.md); keep the two
    in step."""
    path = pathlib.Path(path)
    me = path.resolve()
    if me in chain:
        raise FixtureError("extends cycle: " + " -> ".join(p.name for p in chain + (me,)))
    if len(chain) > MAX_EXTENDS:
        raise FixtureError("extends chain longer than %d (at %s)" % (MAX_EXTENDS, me.name))
    raw = read_raw(path)
    if not isinstance(raw, dict) or "extends" not in raw:
        if chain and not isinstance(raw, dict):
            raise FixtureError("%s: a fixture must be a mapping" % path.name)
        return raw
    raw = dict(raw)
    target = raw.pop("extends")
    if not isinstance(target, str):
        raise FixtureError("%s: extends must be a file name (relative to the fixture)"
                           % path.name)
    base_path = path.parent / target
    if not base_path.is_file():
        raise FixtureError("%s: extends %s: cannot read %s" % (path.name, target, base_path))
    base = resolve_extends(base_path, chain + (me,))
    try:
        return merge_tree(base, raw, "")
    except FixtureError as e:
        raise FixtureError("%s: %s" % (path.name, e)) from None


def merge_tree(base, over, at):
    """`over` applied to `base`: mappings merge key by key; lists of items that all have an
    `id` (else a `name`) merge item by item; everything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge_tree(out[k], v, "%s.%s" % (at, k) if at else str(k)) if k in out else v
        return out
    if isinstance(base, list) and isinstance(over, list):
        key = item_key(base, over)
        return over if key is None else merge_items(base, over, key, at)
    return over


def item_key(items, changes):
    if not changes:
        return None
    for key in ITEM_KEYS:
        if all(isinstance(i, dict) and key in i and scalar_text(i[key]) is not None
               for i in list(items) + list(changes)):
            return key
    return None


def merge_items(items, changes, key, at):
    ident = lambda item: scalar_text(item[key])  # noqa: E731
    for what, lst in (("the base has two items with", items), ("two changes of", changes)):
        seen = set()
        for item in lst:
            if ident(item) in seen:
                raise FixtureError("%s: %s %s %r" % (at, what, key, ident(item)))
            seen.add(ident(item))
    out = list(items)
    for change in changes:
        i = ident(change)
        found = next((n for n, item in enumerate(out) if ident(item) == i), None)
        if "remove" in change:
            if len(change) != 2 or scalar_text(change["remove"]) != "true":
                raise FixtureError("%s: %s %r: an item with remove must be exactly "
                                   "{%s: ..., remove: true}" % (at, key, i, key))
            if found is None:
                raise FixtureError("%s: removes %s %r, which the base does not have"
                                   % (at, key, i))
            del out[found]
        elif found is None:
            out.append(change)
        else:
            out[found] = change
    return out


def load_fixture(path):
    """The fixture with simcloud's defaults applied (tests/simcloud/src/fixture.rs, options.rs),
    after its `extends` chain. `expect` (verdicts for the tests) is not the cloud's content
    and is ignored, like every key this function does not read."""
    try:
        raw = resolve_extends(path)
    except FixtureError as e:
        raise SystemExit("realcloud: fixture %s: %s" % (path, e)) from None
    f = {"region": opt_str(raw.get("region")) or "RegionOne"}
    f["users"] = [{"name": str(u["name"]), "password": str(u["password"]),
                   "project": str(u["project"]), "roles": [str(r) for r in u.get("roles") or []]}
                  for u in raw.get("users") or []]
    f["application_credentials"] = [{
        "id": str(a["id"]), "name": opt_str(a.get("name")) or str(a["id"]),
        "secret": str(a["secret"]), "user": str(a["user"]),
        "roles": None if is_null(a.get("roles")) else [str(r) for r in a["roles"]],
        "unrestricted": to_bool(a.get("unrestricted"), False)}
        for a in raw.get("application_credentials") or []]
    f["services"] = [{
        "type": str(s["type"]), "name": str(s["name"]), "path": opt_str(s.get("path")),
        "url": opt_str(s.get("url")),
        "interfaces": [str(i) for i in s.get("interfaces") or ["public"]],
        "region": opt_str(s.get("region")), "enabled": to_bool(s.get("enabled"), True),
        "shape": [str(x) for x in s.get("shape") or []]}
        for s in raw.get("services") or []]
    gen = raw.get("generate") or {}
    flavors = list(raw.get("flavors") or [])
    flavors += [filler_flavor(i) for i in range(1, to_int(gen.get("flavors")) + 1)]
    f["flavors"] = [{
        "id": str(x["id"]), "name": str(x["name"]), "vcpus": to_int(x["vcpus"]),
        "ram": to_int(x["ram"]), "disk": to_int(x.get("disk")), "swap": to_int(x.get("swap")),
        "ephemeral": to_int(x.get("ephemeral")), "extra_specs": str_map(x.get("extra_specs")),
        "is_public": to_bool(x.get("is_public"), True),
        "projects": [str(p) for p in x.get("projects") or []],
        "description": opt_str(x.get("description")),
        "disabled": to_bool(x.get("disabled"), False)} for x in flavors]
    images = list(raw.get("images") or [])
    images += [filler_image(i) for i in range(1, to_int(gen.get("images")) + 1)]
    f["images"], counts = [], {}
    for x in images:
        name = str(x["name"])
        if is_null(x.get("id")):
            counts[name] = counts.get(name, 0) + 1
            n = counts[name]
            iid = uuid_from("image:" + name if n == 1 else "image:%s#%d" % (name, n))
        else:
            iid = str(x["id"]).lower()
        created = str(x.get("created_at") or "2025-01-01T00:00:00Z")
        f["images"].append({
            "id": iid, "name": name, "visibility": opt_str(x.get("visibility")) or "public",
            "owner": opt_str(x.get("owner")) or "admin",
            "members": {str(k): str(v) for k, v in (x.get("members") or {}).items()},
            "os_hidden": to_bool(x.get("os_hidden"), False),
            "status": opt_str(x.get("status")) or "active",
            "created_at": created, "updated_at": opt_str(x.get("updated_at")) or created,
            "min_disk": to_int(x.get("min_disk")), "min_ram": to_int(x.get("min_ram")),
            "size": None if is_null(x.get("size")) else int(x["size"]),
            "disk_format": opt_str(x["disk_format"]) if "disk_format" in x else "qcow2",
            "container_format": (opt_str(x["container_format"])
                                 if "container_format" in x else "bare"),
            "checksum": opt_str(x.get("checksum")), "os_hash_algo": opt_str(x.get("os_hash_algo")),
            "os_hash_value": opt_str(x.get("os_hash_value")),
            "protected": to_bool(x.get("protected"), False),
            "tags": [str(t) for t in x.get("tags") or []],
            "properties": str_map(x.get("properties"))})
    # what the real tier cannot reproduce (its services are what they are)
    f["compute_max_microversion"] = opt_str((raw.get("compute") or {}).get("max_microversion"))
    net = raw.get("network") or {}
    f["network"] = {
        "external": to_bool(net.get("external"), True),
        "external_network_name": opt_str(net.get("external_network_name")) or "public",
        "external_cidr": opt_str(net.get("external_cidr")) or "203.0.113.0/24",
        "default_rules_api": to_bool(net.get("default_rules_api"), True),
        "default_security_group_rules": neutron_default_rules()
        if "default_security_group_rules" not in net else [{
            "direction": str(r["direction"]),
            "ethertype": opt_str(r.get("ethertype")) or "IPv4",
            "protocol": opt_str(r.get("protocol")),
            "port_range_min": None if is_null(r.get("port_range_min")) else int(r["port_range_min"]),
            "port_range_max": None if is_null(r.get("port_range_max")) else int(r["port_range_max"]),
            "remote_ip_prefix": opt_str(r.get("remote_ip_prefix")),
            "remote_group_id": opt_str(r.get("remote_group_id")),
            "description": opt_str(r.get("description")) or "",
            "used_in_default_sg": to_bool(r.get("used_in_default_sg"), True),
            "used_in_non_default_sg": to_bool(r.get("used_in_non_default_sg"), True),
        } for r in net.get("default_security_group_rules") or []]}
    vol = raw.get("volume") or {}
    types = vol.get("types")
    f["volume"] = {
        "types": [{"name": "__DEFAULT__", "description": "Default Volume Type",
                   "is_public": True, "id": None, "extra_specs": {}}] if types is None else [{
            "name": str(t["name"]), "description": opt_str(t.get("description")),
            "is_public": to_bool(t.get("is_public"), True), "id": opt_str(t.get("id")),
            "extra_specs": str_map(t.get("extra_specs"))} for t in types],
        "default_type": opt_str(vol.get("default_type"))}
    quota = raw.get("quota") or {}
    f["quota"] = {k: to_int(quota.get(k), d) if not is_null(quota.get(k)) else d
                  for k, d in QUOTA_DEFAULTS.items()}
    faults = raw.get("faults") or {}
    f["faults"] = {k: v for k, v in faults.items() if not is_null(v) and v not in ([], {}, "0", 0)}
    return f


# --------------------------------------------------------------------------- keystone

def find_one(cloud, path, key, **query):
    items = cloud.get(cloud.ks(path + "?" + urllib.parse.urlencode(query)))[key]
    return items[0] if items else None


def ensure_project(cloud, name, ids):
    if name in ids:
        return ids[name]
    p = find_one(cloud, "/projects", "projects", name=name, domain_id="default")
    if p is None:
        p = cloud.call("POST", cloud.ks("/projects"), {"project": {
            "name": name, "domain_id": "default", "description": MARK}})["project"]
        log("created project %s" % name)
    ids[name] = p["id"]
    return p["id"]


def ensure_role(cloud, name, roles):
    if name not in roles:
        r = cloud.call("POST", cloud.ks("/roles"), {"role": {"name": name}})["role"]
        roles[name] = r["id"]
        log("created role %s" % name)
    return roles[name]


def all_roles(cloud):
    return {r["name"]: r["id"] for r in cloud.get(cloud.ks("/roles"))["roles"]}


def set_roles(cloud, project_id, user_id, want, roles):
    """Exactly the roles `want` (names), assigned directly on the project."""
    have = cloud.get(cloud.ks("/role_assignments?" + urllib.parse.urlencode(
        {"user.id": user_id, "scope.project.id": project_id})))["role_assignments"]
    have_ids = {a["role"]["id"] for a in have}
    want_ids = {ensure_role(cloud, r, roles) for r in want}
    for rid in want_ids - have_ids:
        cloud.call("PUT", cloud.ks("/projects/%s/users/%s/roles/%s" % (project_id, user_id, rid)))
    for rid in have_ids - want_ids:
        cloud.call("DELETE", cloud.ks("/projects/%s/users/%s/roles/%s" % (project_id, user_id, rid)))
    return bool(want_ids ^ have_ids)


def ensure_user(cloud, name, password, project_id, description=MARK):
    u = find_one(cloud, "/users", "users", name=name, domain_id="default")
    if u is None:
        return cloud.call("POST", cloud.ks("/users"), {"user": {
            "name": name, "domain_id": "default", "password": password,
            "default_project_id": project_id, "description": description,
            "enabled": True}})["user"]["id"]
    patch = {}
    if u.get("default_project_id") != project_id:
        patch["default_project_id"] = project_id
    if not u.get("enabled", True):
        patch["enabled"] = True
    try:
        http("POST", cloud.ks("/auth/tokens"), {"auth": {"identity": {
            "methods": ["password"], "password": {"user": {
                "id": u["id"], "password": password}}}}}, ok=(201,))
    except ApiError:
        patch["password"] = password
    if patch:
        cloud.call("PATCH", cloud.ks("/users/" + u["id"]), {"user": patch})
    return u["id"]


def sync_users(cloud, fx, projects, roles, out):
    """Fixture users (password, project, exact roles); other fixture-made users go."""
    wanted = {u["name"] for u in fx["users"]}
    for name in wanted & set(PROTECTED_USERS):
        raise SystemExit("fixture user %r clashes with a service user of the real cloud" % name)
    for u in cloud.get(cloud.ks("/users?domain_id=default"))["users"]:
        if u.get("description") == MARK and u["name"] not in wanted:
            cloud.call("DELETE", cloud.ks("/users/" + u["id"]))
            log("deleted user %s" % u["name"])
    user_ids = {}
    for u in fx["users"]:
        pid = ensure_project(cloud, u["project"], projects)
        uid = ensure_user(cloud, u["name"], u["password"], pid)
        user_ids[u["name"]] = uid
        if set_roles(cloud, pid, uid, u["roles"], roles):
            log("user %s: roles %s on %s" % (u["name"], ",".join(u["roles"]), u["project"]))
        # a fixture user has roles on its own project only
        for a in cloud.get(cloud.ks("/role_assignments?user.id=" + uid))["role_assignments"]:
            p = a.get("scope", {}).get("project", {}).get("id")
            if p and p != pid:
                cloud.call("DELETE", cloud.ks("/projects/%s/users/%s/roles/%s" % (
                    p, uid, a["role"]["id"])))
    out["users"] = user_ids
    return user_ids


def sync_app_credentials(cloud, fx, user_ids, out):
    """Application credentials are made by their user (Keystone picks the id; the fixture's
    secret is kept). An existing one with the same name, secret, roles and restriction stays."""
    real_ids = {}
    by_user = {}
    for a in fx["application_credentials"]:
        by_user.setdefault(a["user"], []).append(a)
    for user in fx["users"]:
        wanted = by_user.get(user["name"], [])
        uid = user_ids[user["name"]]
        token, _ = password_token(cloud.auth_url, user["name"], user["password"], user["project"])
        base = cloud.ks("/users/%s/application_credentials" % uid)
        have = {c["name"]: c for c in
                http("GET", base, token=token)[2]["application_credentials"]}
        for a in wanted:
            roles = sorted(a["roles"] if a["roles"] is not None else user["roles"])
            c = have.pop(a["name"], None)
            if c is not None:
                same = (sorted(r["name"] for r in c.get("roles", [])) == roles
                        and bool(c.get("unrestricted")) == a["unrestricted"])
                if same:
                    try:
                        http("POST", cloud.ks("/auth/tokens"), {"auth": {"identity": {
                            "methods": ["application_credential"], "application_credential": {
                                "id": c["id"], "secret": a["secret"]}}}}, ok=(201,))
                    except ApiError:
                        same = False
                if same:
                    real_ids[a["id"]] = c["id"]
                    continue
                http("DELETE", base + "/" + c["id"], token=token)
            c = http("POST", base, {"application_credential": {
                "name": a["name"], "secret": a["secret"],
                "roles": [{"name": r} for r in roles],
                "unrestricted": a["unrestricted"]}}, token=token, ok=(201,))[2]
            real_ids[a["id"]] = c["application_credential"]["id"]
            log("created application credential %s of %s" % (a["name"], user["name"]))
        for c in have.values():
            http("DELETE", base + "/" + c["id"], token=token)
            log("deleted application credential %s of %s" % (c["name"], user["name"]))
    out["application_credentials"] = real_ids
    return real_ids


def template(url):
    for ph in ("{project_id}", "{tenant_id}", "$(project_id)s", "$(tenant_id)s", "%(tenant_id)s"):
        url = url.replace(ph, "%(project_id)s")
    return url


VERSION_SEGMENT = re.compile(r"^v[0-9]+(\.[0-9]+)?$")
SHAPE_VERSION = {"image": "v2", "network": "v2.0", "key-manager": "v1"}


def shaped(url, svc):
    """The real endpoint URL in the fixture's `shape` (the rules simcloud applies to `path`,
    tests/simcloud/README.md): no-project, unversioned, versioned, project, slash."""
    shape = svc.get("shape") or []
    head, _, path = url.partition("://")
    host, _, path = path.partition("/")
    segs = [x for x in path.split("/") if x]
    if "no-project" in shape:
        segs = [x for x in segs if "project_id" not in x and "tenant_id" not in x]
    if "unversioned" in shape:
        for i in range(len(segs) - 1, -1, -1):
            if VERSION_SEGMENT.match(segs[i]):
                segs = segs[:i]
                break
    if "versioned" in shape and svc["type"] in SHAPE_VERSION:
        segs.append(SHAPE_VERSION[svc["type"]])
    if "project" in shape:
        segs.append("%(project_id)s")
    out = head + "://" + "/".join([host] + segs)
    return out + "/" if "slash" in shape else out


def endpoint_url(cloud, svc):
    """Where a fixture service's endpoints point on the real cloud."""
    if svc["url"]:
        return template(svc["url"])
    t = svc["type"]
    if t == "identity":
        return cloud.ep["identity"]
    if t in ("compute", "image", "network", "placement") and t in cloud.ep:
        return shaped(cloud.ep[t], svc)
    if t in VOLUME_TYPES:
        return shaped(cloud.ep["block-storage"], svc)
    # not running here (load-balancer, key-manager, object-store, ...): the catalog names it,
    # every request is refused
    return NOT_SERVED + template(svc["path"] or "/" + t)


def sync_catalog(cloud, services, default_region):
    """Exactly these services (type, name, enabled) with exactly these endpoints."""
    want = {}
    for s in services:
        region = s["region"] or default_region
        key = (s["type"], s["name"])
        entry = want.setdefault(key, {"enabled": s["enabled"], "endpoints": set()})
        entry["enabled"] = entry["enabled"] and s["enabled"]
        url = endpoint_url(cloud, s)
        for iface in s["interfaces"]:
            entry["endpoints"].add((iface, region, url))
    regions = {r["id"] for r in cloud.get(cloud.ks("/regions"))["regions"]}
    for entry in want.values():
        for _, region, _ in entry["endpoints"]:
            if region not in regions:
                cloud.call("POST", cloud.ks("/regions"), {"region": {"id": region}})
                regions.add(region)
    have_services = cloud.get(cloud.ks("/services"))["services"]
    endpoints = cloud.get(cloud.ks("/endpoints"))["endpoints"]
    changed = False
    seen = set()
    for s in have_services:
        key = (s["type"], s.get("name"))
        mine = [e for e in endpoints if e["service_id"] == s["id"]]
        if key not in want or key in seen:
            for e in mine:
                cloud.call("DELETE", cloud.ks("/endpoints/" + e["id"]))
            cloud.call("DELETE", cloud.ks("/services/" + s["id"]))
            changed = True
            continue
        seen.add(key)
        w = want[key]
        if bool(s.get("enabled", True)) != w["enabled"]:
            cloud.call("PATCH", cloud.ks("/services/" + s["id"]),
                       {"service": {"enabled": w["enabled"]}})
            changed = True
        have = set()
        for e in mine:
            k = (e["interface"], e.get("region_id") or e.get("region"), e["url"])
            if k in w["endpoints"] and k not in have and e.get("enabled", True):
                have.add(k)
            else:
                cloud.call("DELETE", cloud.ks("/endpoints/" + e["id"]))
                changed = True
        for iface, region, url in w["endpoints"] - have:
            cloud.call("POST", cloud.ks("/endpoints"), {"endpoint": {
                "service_id": s["id"], "interface": iface, "url": url, "region_id": region,
                "enabled": True}})
            changed = True
    for key in set(want) - seen:
        w = want[key]
        s = cloud.call("POST", cloud.ks("/services"), {"service": {
            "type": key[0], "name": key[1], "enabled": w["enabled"]}})["service"]
        for iface, region, url in sorted(w["endpoints"]):
            cloud.call("POST", cloud.ks("/endpoints"), {"endpoint": {
                "service_id": s["id"], "interface": iface, "url": url, "region_id": region,
                "enabled": True}})
        changed = True
    if changed:
        log("catalog: %s" % ", ".join(sorted("%s/%s" % k for k in want)))


DEFAULT_SERVICES = [
    {"type": "identity", "name": "keystone"},
    {"type": "compute", "name": "nova"},
    {"type": "image", "name": "glance"},
    {"type": "volumev3", "name": "cinderv3"},
    {"type": "block-storage", "name": "cinder"},
    {"type": "network", "name": "neutron"},
    {"type": "placement", "name": "placement"},
]


def bootstrap(cloud, password, catalog):
    """What the API services need before any fixture: project `service` and the service users
    (admin + service roles there; keystonemiddleware validates tokens with them), and (with
    `catalog`) a catalog of the real services (public, internal, admin)."""
    projects, roles = {}, all_roles(cloud)
    sp = ensure_project(cloud, "service", projects)
    for name in SERVICE_USERS:
        uid = ensure_user(cloud, name, password, sp, description="service user")
        set_roles(cloud, sp, uid, ["admin", "service"], roles)
    if not catalog:
        return
    sync_catalog(cloud, [dict(s, path=None, url=None, interfaces=["public", "internal", "admin"],
                              region=None, enabled=True) for s in DEFAULT_SERVICES],
                 cloud.region)


# --------------------------------------------------------------------------- nova

NOVA_MV = {"OpenStack-API-Version": "compute 2.61", "X-OpenStack-Nova-API-Version": "2.61"}


def nova_db(cloud):
    path = cloud.sqlite.get("nova_api")
    return sqlite3.connect(path, timeout=30) if path else None


def sync_flavors(cloud, fx, projects, notes):
    have = {}
    marker = None
    while True:
        u = cloud.nova("/flavors/detail?is_public=None&limit=1000" +
                       ("&marker=" + urllib.parse.quote(marker) if marker else ""))
        page = cloud.get(u, headers=NOVA_MV)["flavors"]
        for f in page:
            have[f["id"]] = f
        if len(page) < 1000:
            break
        marker = page[-1]["id"]
    want = {f["id"]: f for f in fx["flavors"]}
    names = {f["name"]: f["id"] for f in fx["flavors"]}
    db = nova_db(cloud)
    disabled = {}
    if db is not None:
        disabled = {r[0]: bool(r[1]) for r in db.execute("SELECT flavorid, disabled FROM flavors")}
    created = deleted = updated = 0

    def same(f, h):
        return (h["name"] == f["name"] and h["vcpus"] == f["vcpus"] and h["ram"] == f["ram"]
                and h["disk"] == f["disk"] and (h.get("swap") or 0) == f["swap"]
                and h.get("OS-FLV-EXT-DATA:ephemeral", 0) == f["ephemeral"]
                and h.get("os-flavor-access:is_public", True) == f["is_public"])

    for fid, h in list(have.items()):
        f = want.get(fid)
        if f is None or not same(f, h) or (names.get(h["name"]) not in (None, fid)):
            cloud.call("DELETE", cloud.nova("/flavors/" + urllib.parse.quote(fid)))
            del have[fid]
            deleted += 1
    for fid, f in want.items():
        q = urllib.parse.quote(fid)
        h = have.get(fid)
        if h is None:
            body = {"name": f["name"], "id": fid, "vcpus": f["vcpus"], "ram": f["ram"],
                    "disk": f["disk"], "swap": f["swap"],
                    "OS-FLV-EXT-DATA:ephemeral": f["ephemeral"],
                    "os-flavor-access:is_public": f["is_public"]}
            if f["description"] is not None:
                body["description"] = f["description"]
            h = cloud.call("POST", cloud.nova("/flavors"), {"flavor": body},
                           headers=NOVA_MV)["flavor"]
            h.setdefault("extra_specs", {})
            created += 1
        elif h.get("description") != f["description"]:
            cloud.call("PUT", cloud.nova("/flavors/" + q),
                       {"flavor": {"description": f["description"]}}, headers=NOVA_MV)
            updated += 1
        specs = h.get("extra_specs") or {}
        add = {k: v for k, v in f["extra_specs"].items() if specs.get(k) != v}
        if add:
            cloud.call("POST", cloud.nova("/flavors/%s/os-extra_specs" % q), {"extra_specs": add})
        for k in set(specs) - set(f["extra_specs"]):
            cloud.call("DELETE", cloud.nova("/flavors/%s/os-extra_specs/%s" % (
                q, urllib.parse.quote(k, safe=""))))
        if not f["is_public"]:
            access = {a["tenant_id"] for a in cloud.get(
                cloud.nova("/flavors/%s/os-flavor-access" % q))["flavor_access"]}
            wanted = {ensure_project(cloud, p, projects) for p in f["projects"]}
            for p in wanted - access:
                cloud.call("POST", cloud.nova("/flavors/%s/action" % q),
                           {"addTenantAccess": {"tenant": p}})
            for p in access - wanted:
                cloud.call("POST", cloud.nova("/flavors/%s/action" % q),
                           {"removeTenantAccess": {"tenant": p}})
        if disabled.get(fid, False) != f["disabled"]:
            if db is None:
                notes.append("flavor %s: disabled cannot be set without the nova_api database"
                             % f["name"])
            else:
                db.execute("UPDATE flavors SET disabled = ? WHERE flavorid = ?",
                           (1 if f["disabled"] else 0, fid))
                db.commit()
    if db is not None:
        db.close()
    if created or deleted or updated:
        log("flavors: %d created, %d deleted, %d updated, %d in all"
            % (created, deleted, updated, len(want)))


# --------------------------------------------------------------------------- glance

def tiny_qcow2():
    """A valid, empty qcow2 v3 image of 1 MiB (what `qemu-img create -f qcow2 x 1M` makes,
    minus its optional header extensions): header, refcount table, refcount block, L1 table."""
    cluster = 1 << 16
    header = struct.pack(">4sIQIIQIIQQIIQQQQII", b"QFI\xfb", 3, 0, 0, 16, 1 << 20, 0, 1,
                         3 * cluster, cluster, 1, 0, 0, 0, 0, 0, 4, 104)
    header += b"\0" * 8  # end of header extensions
    data = bytearray(3 * cluster + 8)
    data[:len(header)] = header
    data[cluster:cluster + 8] = struct.pack(">Q", 2 * cluster)  # refcount table -> block
    for i in range(4):  # clusters 0..3 are in use once
        data[2 * cluster + 2 * i:2 * cluster + 2 * i + 2] = struct.pack(">H", 1)
    return bytes(data)


def image_data(disk_format):
    if disk_format == "qcow2":
        return tiny_qcow2()
    return b"\0" * 65536  # raw and the formats Glance does not inspect


def parse_time(text):
    t = text.strip().replace("Z", "+00:00")
    if "T" not in t and " " in t:
        t = t.replace(" ", "T", 1)
    d = datetime.datetime.fromisoformat(t)
    if d.tzinfo is None:
        d = d.replace(tzinfo=datetime.timezone.utc)
    return d.astimezone(datetime.timezone.utc).replace(microsecond=0)


def all_images(cloud):
    out = {}
    for hidden in ("false", "true"):
        url = cloud.glance("/v2/images?visibility=all&member_status=all&os_hidden=" + hidden)
        marker = None
        while True:
            page = cloud.get(url + "&limit=1000" + ("&marker=" + marker if marker else ""))
            for i in page["images"]:
                out[i["id"]] = i
            if len(page["images"]) < 1000:
                break
            marker = page["images"][-1]["id"]
    return out


def delete_image(cloud, iid, image):
    if image.get("protected"):
        patch_image(cloud, iid, [{"op": "replace", "path": "/protected", "value": False}])
    cloud.call("DELETE", cloud.glance("/v2/images/" + iid))


def patch_image(cloud, iid, ops):
    if ops:
        cloud.call("PATCH", cloud.glance("/v2/images/" + iid), ops,
                   headers={"Content-Type": "application/openstack-images-v2.1-json-patch"})


def image_members(cloud, iid):
    return {m["member_id"]: m["status"] for m in
            cloud.get(cloud.glance("/v2/images/%s/members" % iid))["members"]}


def sync_images(cloud, fx, projects, notes, unsupported):
    have = all_images(cloud)
    want = {i["id"]: i for i in fx["images"]}
    db_path = cloud.sqlite.get("glance")
    created = deleted = 0
    member_tokens = {}

    def token_for(project_name):
        """A token of the project for accepting memberships: a fixture user of it."""
        if project_name not in member_tokens:
            u = next((u for u in fx["users"] if u["project"] == project_name), None)
            member_tokens[project_name] = None if u is None else password_token(
                cloud.auth_url, u["name"], u["password"], u["project"])[0]
        return member_tokens[project_name]

    for i in fx["images"]:
        for field in ("checksum", "os_hash_algo", "os_hash_value"):
            # Glance hashes uploads itself, with sha512 (its default hashing_algorithm)
            if i[field] is not None and not (field == "os_hash_algo" and i[field] == "sha512"
                                             and i["status"] != "queued"):
                unsupported.append("image %s: Glance computes %s itself" % (i["name"], field))
        if i["status"] == "active" and i["size"] is None:
            unsupported.append("image %s: active with size null (a real active image has the "
                               "size of its data)" % i["name"])

    def expected_props(i):
        return dict(i["properties"])

    def differs(i, h):
        props = {k: v for k, v in h.items() if k not in GLANCE_CORE and not k.startswith("os_glance")}
        owner = ensure_project(cloud, i["owner"], projects)
        return (h["name"] != i["name"] or h["visibility"] != i["visibility"]
                or h.get("os_hidden", False) != i["os_hidden"] or h.get("owner") != owner
                or h.get("status") != i["status"] or (h.get("min_disk") or 0) != i["min_disk"]
                or (h.get("min_ram") or 0) != i["min_ram"]
                or h.get("disk_format") != i["disk_format"]
                or h.get("container_format") != i["container_format"]
                or bool(h.get("protected")) != i["protected"]
                or sorted(h.get("tags") or []) != sorted(i["tags"])
                or props != expected_props(i))

    for iid, h in list(have.items()):
        if iid not in want or differs(want[iid], h):
            delete_image(cloud, iid, h)
            del have[iid]
            deleted += 1
    # Glance keeps a deleted image's row (soft delete), and its id can never be used again:
    # drop those rows for the ids about to be created (one short transaction before the API
    # calls; without the database such an image is unsupported)
    reuse = [iid for iid in want if iid not in have]
    if reuse and db_path:
        db = sqlite3.connect(db_path, timeout=30)
        with db:
            for iid in reuse:
                if db.execute("SELECT 1 FROM images WHERE id = ? AND deleted = 1",
                              (iid,)).fetchone():
                    for table in ("image_tags", "image_properties", "image_locations",
                                  "image_members"):
                        db.execute("DELETE FROM %s WHERE image_id = ?" % table, (iid,))
                    db.execute("DELETE FROM images WHERE id = ? AND deleted = 1", (iid,))
        db.close()
    # what the API cannot set, written to Glance's database at the end (an open write
    # transaction here would lock Glance out of its own database meanwhile)
    db_updates = []
    for iid, i in want.items():
        owner = ensure_project(cloud, i["owner"], projects)
        if iid not in have:
            body = {"id": iid, "name": i["name"], "visibility": i["visibility"],
                    "os_hidden": i["os_hidden"], "min_disk": i["min_disk"],
                    "min_ram": i["min_ram"], "tags": i["tags"]}
            if i["disk_format"] is not None:
                body["disk_format"] = i["disk_format"]
            if i["container_format"] is not None:
                body["container_format"] = i["container_format"]
            body.update(expected_props(i))
            cloud.call("POST", cloud.glance("/v2/images"), body)
            if i["status"] not in ("queued",):
                http("PUT", cloud.glance("/v2/images/%s/file" % iid), token=cloud.token,
                     raw=image_data(i["disk_format"]))
            ops = [{"op": "replace", "path": "/owner", "value": owner}]
            if i["protected"]:
                ops.append({"op": "replace", "path": "/protected", "value": True})
            patch_image(cloud, iid, ops)
            if i["status"] == "deactivated":
                cloud.call("POST", cloud.glance("/v2/images/%s/actions/deactivate" % iid))
            elif i["status"] not in ("active", "queued"):
                if not db_path:
                    unsupported.append("image %s: status %s" % (i["name"], i["status"]))
                else:
                    db_updates.append(("UPDATE images SET status = ? WHERE id = ?",
                                       (i["status"], iid)))
            created += 1
        if i["visibility"] == "shared" or i["members"]:
            members = image_members(cloud, iid)
            wanted = {ensure_project(cloud, p, projects): (p, s) for p, s in i["members"].items()}
            for m in set(members) - set(wanted):
                cloud.call("DELETE", cloud.glance("/v2/images/%s/members/%s" % (iid, m)))
            for m, (pname, status) in wanted.items():
                if m not in members:
                    cloud.call("POST", cloud.glance("/v2/images/%s/members" % iid),
                               {"member": m})
                    members[m] = "pending"
                if members[m] != status:
                    url = cloud.glance("/v2/images/%s/members/%s" % (iid, m))
                    try:  # the member project decides; admin may too
                        cloud.call("PUT", url, {"status": status})
                    except ApiError:
                        tok = token_for(pname)
                        if tok is None:
                            unsupported.append("image %s: member %s needs a user to set %s"
                                               % (i["name"], pname, status))
                            continue
                        http("PUT", url, {"status": status}, token=tok)
        if db_path:
            c = parse_time(i["created_at"]).strftime("%Y-%m-%d %H:%M:%S.000000")
            u = parse_time(i["updated_at"]).strftime("%Y-%m-%d %H:%M:%S.000000")
            db_updates.append(("UPDATE images SET created_at = ?, updated_at = ? WHERE id = ? AND "
                               "(created_at != ? OR updated_at != ?)", (c, u, iid, c, u)))
        else:
            notes.append("image %s: created_at is the seed time (no glance database)" % i["name"])
    if db_updates:
        db = sqlite3.connect(db_path, timeout=30)
        with db:
            for sql, params in db_updates:
                db.execute(sql, params)
        db.close()
    if created or deleted:
        log("images: %d created, %d deleted, %d in all" % (created, deleted, len(want)))


# --------------------------------------------------------------------------- cinder

def sync_volume_types(cloud, fx, notes):
    have = {t["name"]: t for t in cloud.get(cloud.cinder("/types?is_public=None"))["volume_types"]}
    want = {t["name"]: t for t in fx["volume"]["types"]}
    changed = False
    for t in fx["volume"]["types"]:
        if t["id"] is not None:
            notes.append("volume type %s: Cinder picks the id itself" % t["name"])
    if fx["volume"]["default_type"] not in (None, "__DEFAULT__"):
        notes.append("volume.default_type %s: the real Cinder's default type stays __DEFAULT__"
                     % fx["volume"]["default_type"])
    for name, h in have.items():
        if name in want:
            continue
        if name == "__DEFAULT__":
            # Cinder's configured default cannot be deleted: hide it from members instead
            if h.get("is_public", True):
                cloud.call("PUT", cloud.cinder("/types/" + h["id"]),
                           {"volume_type": {"is_public": False}})
                changed = True
            continue
        cloud.call("DELETE", cloud.cinder("/types/" + h["id"]))
        changed = True
    for name, t in want.items():
        h = have.get(name)
        if h is None:
            h = cloud.call("POST", cloud.cinder("/types"), {"volume_type": {
                "name": name, "description": t["description"],
                "os-volume-type-access:is_public": t["is_public"],
                "extra_specs": t["extra_specs"]}})["volume_type"]
            changed = True
            continue
        upd = {}
        if (h.get("description") or None) != t["description"]:
            upd["description"] = t["description"] if t["description"] is not None else ""
        if h.get("is_public", True) != t["is_public"]:
            upd["is_public"] = t["is_public"]
        if upd:
            cloud.call("PUT", cloud.cinder("/types/" + h["id"]), {"volume_type": upd})
            changed = True
        specs = h.get("extra_specs") or {}
        add = {k: v for k, v in t["extra_specs"].items() if specs.get(k) != v}
        if add:
            cloud.call("POST", cloud.cinder("/types/%s/extra_specs" % h["id"]),
                       {"extra_specs": add})
            changed = True
        for k in set(specs) - set(t["extra_specs"]):
            cloud.call("DELETE", cloud.cinder("/types/%s/extra_specs/%s" % (
                h["id"], urllib.parse.quote(k, safe=""))))
            changed = True
    if changed:
        log("volume types: %s" % ", ".join(want))


# --------------------------------------------------------------------------- neutron

RULE_KEYS = ("direction", "ethertype", "protocol", "port_range_min", "port_range_max",
             "remote_ip_prefix", "remote_group_id", "description", "used_in_default_sg",
             "used_in_non_default_sg")


def sync_network(cloud, fx, unsupported):
    net = fx["network"]
    if not net["default_rules_api"]:
        unsupported.append("network.default_rules_api: false (the real Neutron has the API)")
    have = cloud.get(cloud.neutron("/v2.0/default-security-group-rules"))[
        "default_security_group_rules"]
    key = lambda r: tuple(r.get(k) if k != "description" else (r.get(k) or "") for k in RULE_KEYS)
    want = {key(r): r for r in net["default_security_group_rules"]}
    kept = set()
    changed = False
    for r in have:
        k = key(r)
        if k in want and k not in kept:
            kept.add(k)
        else:
            cloud.call("DELETE", cloud.neutron("/v2.0/default-security-group-rules/" + r["id"]))
            changed = True
    for k, r in want.items():
        if k not in kept:
            body = {x: r[x] for x in RULE_KEYS if r[x] is not None}
            cloud.call("POST", cloud.neutron("/v2.0/default-security-group-rules"),
                       {"default_security_group_rule": body})
            changed = True
    if changed:
        log("default security-group rules: %d" % len(want))
    ext = cloud.get(cloud.neutron("/v2.0/networks?router:external=true"))["networks"]
    for n in ext:
        if not net["external"] or n["name"] != net["external_network_name"]:
            delete_network(cloud, n)
            ext = [e for e in ext if e["id"] != n["id"]]
    if net["external"]:
        if ext:
            n = ext[0]
        else:
            n = cloud.call("POST", cloud.neutron("/v2.0/networks"), {"network": {
                "name": net["external_network_name"], "router:external": True,
                "provider:network_type": "flat", "provider:physical_network": "public",
                "shared": False}})["network"]
            log("external network %s" % n["name"])
        subnets = cloud.get(cloud.neutron("/v2.0/subnets?network_id=" + n["id"]))["subnets"]
        if not any(s["cidr"] == net["external_cidr"] for s in subnets):
            for s in subnets:
                cloud.call("DELETE", cloud.neutron("/v2.0/subnets/" + s["id"]))
            cloud.call("POST", cloud.neutron("/v2.0/subnets"), {"subnet": {
                "network_id": n["id"], "ip_version": 4, "cidr": net["external_cidr"],
                "enable_dhcp": False, "name": net["external_network_name"] + "-subnet"}})


def delete_network(cloud, n):
    for p in cloud.get(cloud.neutron("/v2.0/ports?network_id=" + n["id"]))["ports"]:
        if p["device_owner"] == "network:router_gateway":
            cloud.call("PUT", cloud.neutron("/v2.0/routers/" + p["device_id"]),
                       {"router": {"external_gateway_info": {}}})
    cloud.call("DELETE", cloud.neutron("/v2.0/networks/" + n["id"]))


# --------------------------------------------------------------------------- quotas

def sync_quotas(cloud, fx, project_ids):
    """Give every fixture project (not admin/service) the fixture's quota: the limits it
    names, the services' defaults for the rest (so a fixture without a quota block puts the
    defaults back). Only differences are written, so seeding twice changes nothing."""
    urls = {
        "nova": lambda pid: cloud.nova("/os-quota-sets/" + pid),
        "cinder": lambda pid: cloud.cinder("/os-quota-sets/" + pid),
        "neutron": lambda pid: cloud.neutron("/v2.0/quotas/" + pid),
    }
    body_key = {"nova": "quota_set", "cinder": "quota_set", "neutron": "quota"}
    for pid in project_ids:
        changed = []
        for service, url in urls.items():
            want = {name: fx["quota"][key] for key, (svc, name) in QUOTA_NAMES.items()
                    if svc == service}
            have = cloud.get(url(pid))[body_key[service]]
            diff = {k: v for k, v in want.items() if have.get(k) != v}
            if not diff:
                continue
            body = dict(diff)
            if service == "nova":
                body["force"] = True  # below the current usage too (a purge may be pending)
            cloud.call("PUT", url(pid), {body_key[service]: body})
            changed += ["%s=%s" % kv for kv in sorted(diff.items())]
        if changed:
            log("quota of project %s: %s" % (pid, ", ".join(changed)))


# --------------------------------------------------------------------------- leftovers

def leftovers(cloud, fx):
    """Resources in the fixture users' projects that the seed did not make (what a check
    created and did not clean up)."""
    projects = {}
    for u in fx["users"]:
        p = find_one(cloud, "/projects", "projects", name=u["project"], domain_id="default")
        if p:
            projects[u["project"]] = p["id"]
    out = {}

    def add(kind, items):
        if items:
            out.setdefault(kind, []).extend(items)

    for pname, pid in projects.items():
        servers = cloud.get(cloud.nova("/servers/detail?all_tenants=1&project_id=" + pid))
        add("servers", ["%s (%s)" % (s["name"], s["status"]) for s in servers["servers"]])
        for kind in ("volumes", "backups", "snapshots"):
            items = cloud.get(cloud.cinder("/%s/detail?all_tenants=1&project_id=%s" % (kind, pid)))
            add(kind, ["%s (%s)" % (v.get("name"), v.get("status")) for v in items[kind]])
        for kind in ("networks", "subnets", "routers", "ports", "floatingips"):
            items = cloud.get(cloud.neutron("/v2.0/%s?project_id=%s" % (kind, pid)))[kind]
            add(kind, ["%s %s" % (i.get("name") or "", i["id"]) for i in items])
        sgs = cloud.get(cloud.neutron("/v2.0/security-groups?project_id=" + pid))
        add("security_groups", [s["name"] for s in sgs["security_groups"] if s["name"] != "default"])
    seeded = {i["id"] for i in fx["images"]}
    add("images", ["%s (%s)" % (i["name"], i["id"]) for i in all_images(cloud).values()
                   if i["id"] not in seeded])
    users = cloud.get(cloud.ks("/users?domain_id=default"))["users"]
    for u in users:
        if u.get("description") == MARK:
            kp = cloud.get(cloud.nova("/os-keypairs?user_id=" + u["id"]),
                           headers={"OpenStack-API-Version": "compute 2.10"})
            add("keypairs", [k["keypair"]["name"] for k in kp["keypairs"]])
    return out



def purge(cloud, project_ids, user_ids):
    """Delete what runs left in the fixture users' projects: servers, volumes, backups,
    snapshots, floating IPs, routers, ports, subnets, networks, security groups other than
    `default`, and the users' keypairs. A fixture describes none of those, so the seeded cloud
    holds none. Stuck records (a volume `creating` for ever) are force-deleted as admin."""
    gone = []
    for pid in project_ids:
        servers = cloud.get(cloud.nova("/servers/detail?all_tenants=1&project_id=" + pid))["servers"]
        for sv in servers:
            cloud.call("DELETE", cloud.nova("/servers/" + sv["id"]), ok=(204, 404))
            gone.append("server " + sv["name"])
        for sv in servers:
            for _ in range(60):
                st, _, _ = http("GET", cloud.nova("/servers/" + sv["id"]), token=cloud.token,
                                ok=(200, 404))
                if st == 404:
                    break
                time.sleep(0.5)
        for kind in ("backups", "snapshots", "volumes"):
            items = cloud.get(cloud.cinder("/%s/detail?all_tenants=1&project_id=%s" % (kind, pid)))[kind]
            for v in items:
                cloud.call("POST", cloud.cinder("/%s/%s/action" % (kind, v["id"])),
                           {"os-force_delete": {}}, ok=(202, 404))
                gone.append("%s %s (%s)" % (kind[:-1], v.get("name"), v.get("status")))
            for v in items:
                for _ in range(60):
                    st, _, _ = http("GET", cloud.cinder("/%s/%s" % (kind, v["id"])),
                                    token=cloud.token, ok=(200, 404))
                    if st == 404:
                        break
                    time.sleep(0.5)
        net = lambda path: cloud.get(cloud.neutron("/v2.0/" + path))
        for f in net("floatingips?project_id=" + pid)["floatingips"]:
            cloud.call("DELETE", cloud.neutron("/v2.0/floatingips/" + f["id"]), ok=(204, 404))
            gone.append("floating IP " + f["floating_ip_address"])
        for r in net("routers?project_id=" + pid)["routers"]:
            for p in net("ports?device_id=" + r["id"])["ports"]:
                if p["device_owner"].startswith("network:router_interface"):
                    for ip in p["fixed_ips"]:
                        cloud.call("PUT", cloud.neutron("/v2.0/routers/%s/remove_router_interface"
                                                        % r["id"]), {"subnet_id": ip["subnet_id"]},
                                   ok=(200, 404))
            cloud.call("DELETE", cloud.neutron("/v2.0/routers/" + r["id"]), ok=(204, 404))
            gone.append("router " + r["name"])
        for p in net("ports?project_id=" + pid)["ports"]:
            cloud.call("DELETE", cloud.neutron("/v2.0/ports/" + p["id"]), ok=(204, 404))
            gone.append("port " + p["id"])
        for sn in net("subnets?project_id=" + pid)["subnets"]:
            cloud.call("DELETE", cloud.neutron("/v2.0/subnets/" + sn["id"]), ok=(204, 404))
            gone.append("subnet " + sn["name"])
        for n in net("networks?project_id=" + pid)["networks"]:
            cloud.call("DELETE", cloud.neutron("/v2.0/networks/" + n["id"]), ok=(204, 404))
            gone.append("network " + n["name"])
        for sg in net("security-groups?project_id=" + pid)["security_groups"]:
            if sg["name"] != "default":
                cloud.call("DELETE", cloud.neutron("/v2.0/security-groups/" + sg["id"]),
                           ok=(204, 404))
                gone.append("security group " + sg["name"])
    for uid in user_ids:
        kps = cloud.get(cloud.nova("/os-keypairs?user_id=" + uid),
                        headers={"OpenStack-API-Version": "compute 2.10"})["keypairs"]
        for k in kps:
            cloud.call("DELETE", cloud.nova("/os-keypairs/%s?user_id=%s" % (
                urllib.parse.quote(k["keypair"]["name"], safe=""), uid)),
                headers={"OpenStack-API-Version": "compute 2.10"}, ok=(202, 204, 404))
            gone.append("keypair " + k["keypair"]["name"])
    if gone:
        log("purged: " + ", ".join(gone))


# --------------------------------------------------------------------------- inventory

def inventory(clouds_file, name):
    """What a user sees, through the token's catalog (works on simcloud and on any cloud):
    the fields of flavors, images, volume types, default security-group rules and catalog
    entries that a fixture describes. Ids that the cloud picks (projects, volume types,
    rules) are left out; image and flavor ids are kept (the seed sets them)."""
    import yaml
    conf = yaml.safe_load(pathlib.Path(clouds_file).read_text())["clouds"][name]
    auth = conf["auth"]
    auth_url = auth["auth_url"].rstrip("/")
    if not auth_url.endswith("/v3"):
        auth_url += "/v3"
    if conf.get("auth_type") == "v3applicationcredential":
        ident = {"methods": ["application_credential"], "application_credential": {
            "id": auth["application_credential_id"],
            "secret": auth["application_credential_secret"]}}
        body = {"auth": {"identity": ident}}
    else:
        body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
            "name": auth["username"], "domain": {"name": auth.get("user_domain_name", "Default")},
            "password": auth["password"]}}}, "scope": {"project": {
                "name": auth["project_name"],
                "domain": {"name": auth.get("project_domain_name", "Default")}}}}}
    _, h, tok = http("POST", auth_url + "/auth/tokens", body, ok=(201,))
    token, tok = h["X-Subject-Token"], tok["token"]
    region = conf.get("region_name")
    catalog = tok.get("catalog", [])

    def endpoint(*types):
        for t in types:
            for s in catalog:
                if s["type"] != t:
                    continue
                for e in s["endpoints"]:
                    if e["interface"] == "public" and (not region or e.get("region_id", e.get("region")) == region):
                        return e["url"].rstrip("/")
        return None

    def get(url, headers=None):
        try:
            return http("GET", url, token=token, headers=headers)[2]
        except ApiError as e:
            return {"error": e.status}

    out = {"catalog": sorted("%s %s %s" % (s["type"], s.get("name", ""), ",".join(sorted(
        e["interface"] for e in s["endpoints"]))) for s in catalog)}
    # the catalog may register an API unversioned, versioned, or with the project (the
    # endpoint shapes of tests/simcloud/README.md): find the versioned base as a client would
    def with_version(url, pattern, segment):
        return url if url and re.search(r"/%s(/|$)" % pattern, url) else (
            url and url + "/" + segment)

    def without_version(url, pattern):
        return url and re.sub(r"/%s$" % pattern, "", url)

    nova = with_version(endpoint("compute"), r"v2(\.[0-9]+)?", "v2.1")
    if nova:
        flavors, marker = [], None
        while True:
            page = get(nova + "/flavors/detail?limit=1000" + ("&marker=" + marker if marker else ""),
                       headers=NOVA_MV)
            if "error" in page:
                flavors = page
                break
            flavors += page["flavors"]
            if len(page["flavors"]) < 1000:
                break
            marker = page["flavors"][-1]["id"]
        out["flavors"] = flavors if isinstance(flavors, dict) else [{
            "id": f["id"], "name": f["name"], "vcpus": f["vcpus"], "ram": f["ram"],
            "disk": f["disk"], "swap": f.get("swap") or 0,
            "ephemeral": f.get("OS-FLV-EXT-DATA:ephemeral", 0),
            "is_public": f.get("os-flavor-access:is_public", True),
            "extra_specs": f.get("extra_specs", {}), "description": f.get("description")}
            for f in flavors]
    glance = without_version(endpoint("image"), r"v2(\.[0-9]+)?")
    if glance:
        images, url = [], glance + "/v2/images?limit=1000"
        while url:
            page = get(url)
            if "error" in page:
                images = page
                break
            images += page["images"]
            nxt = page.get("next")
            url = glance + nxt if nxt and page["images"] else None
        out["images"] = images if isinstance(images, dict) else [{
            "id": i["id"], "name": i.get("name"), "visibility": i.get("visibility"),
            "os_hidden": i.get("os_hidden"), "status": i.get("status"),
            "min_disk": i.get("min_disk"), "min_ram": i.get("min_ram"),
            "disk_format": i.get("disk_format"), "container_format": i.get("container_format"),
            "protected": i.get("protected"), "tags": sorted(i.get("tags") or []),
            "created_at": i.get("created_at"), "updated_at": i.get("updated_at"),
            "hash_algo_set": i.get("os_hash_algo") is not None,
            "properties": {k: v for k, v in i.items()
                           if k not in GLANCE_CORE and not k.startswith("os_glance")}}
            for i in images]
    cinder = with_version(endpoint("block-storage", "volumev3", "volume", "volumev2"),
                          r"v3", "v3")
    if cinder:
        cinder = cinder.replace("%(project_id)s", tok["project"]["id"]) if "project" in tok else cinder
        types = get(cinder + "/types")
        out["volume_types"] = types if "error" in types else sorted(
            ({"name": t["name"], "description": t.get("description"),
              "is_public": t.get("is_public", True)} for t in types["volume_types"]),
            key=lambda t: t["name"])
    neutron = without_version(endpoint("network"), r"v2\.0")
    if neutron:
        rules = get(neutron + "/v2.0/default-security-group-rules")
        out["default_security_group_rules"] = rules if "error" in rules else sorted(
            ({k: r.get(k) for k in RULE_KEYS} for r in rules["default_security_group_rules"]),
            key=lambda r: json.dumps(r, sort_keys=True))
    return out

# --------------------------------------------------------------------------- main

def clouds_yaml(cloud, fx, app_ids):
    """clouds.yaml for the fixture's users (`user-NAME`) and credentials (`appcred-ID`)."""
    lines = ["clouds:"]
    q = json.dumps
    for u in fx["users"]:
        lines += ["  %s:" % q("user-" + u["name"]), "    auth:",
                  "      auth_url: %s" % q(cloud.auth_url),
                  "      username: %s" % q(u["name"]), "      password: %s" % q(u["password"]),
                  "      project_name: %s" % q(u["project"]),
                  "      user_domain_name: Default", "      project_domain_name: Default",
                  "    region_name: %s" % q(fx["region"]), "    interface: public",
                  "    identity_api_version: 3"]
    for a in fx["application_credentials"]:
        lines += ["  %s:" % q("appcred-" + a["id"]), "    auth_type: v3applicationcredential",
                  "    auth:", "      auth_url: %s" % q(cloud.auth_url),
                  "      application_credential_id: %s" % q(app_ids[a["id"]]),
                  "      application_credential_secret: %s" % q(a["secret"]),
                  "    region_name: %s" % q(fx["region"]), "    interface: public",
                  "    identity_api_version: 3"]
    return "\n".join(lines) + "\n"


def load_cloud():
    r = os.environ.get("REALCLOUD_DIR") or str(HERE.parent.parent / "target" / "realcloud")
    conf = pathlib.Path(r) / "cloud.json"
    if not conf.is_file():
        raise SystemExit("realcloud: no %s; run tests/realcloud/start.sh first" % conf)
    return Cloud(json.loads(conf.read_text()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("bootstrap")
    b.add_argument("--catalog", action="store_true", help="also write the default catalog")
    s = sub.add_parser("seed")
    s.add_argument("fixture")
    s.add_argument("--clouds", help="write a clouds.yaml for the fixture's users here")
    lo = sub.add_parser("leftovers")
    lo.add_argument("fixture")
    inv = sub.add_parser("inventory")
    inv.add_argument("--clouds", required=True)
    inv.add_argument("--cloud", required=True)
    sub.add_parser("info")
    args = ap.parse_args()
    t0 = time.monotonic()
    if args.cmd == "inventory":
        print(json.dumps(inventory(args.clouds, args.cloud), indent=2, sort_keys=True))
        return
    if args.cmd == "info":
        print(json.dumps(load_cloud().conf, indent=2))
        return
    cloud = load_cloud()
    if args.cmd == "bootstrap":
        bootstrap(cloud, os.environ.get("REALCLOUD_PASSWORD", cloud.conf["admin"]["password"]),
                  args.catalog)
        print("realcloud: bootstrap done in %.1f s" % (time.monotonic() - t0))
        return
    fx = load_fixture(args.fixture)
    if args.cmd == "leftovers":
        print(json.dumps(leftovers(cloud, fx), indent=2, sort_keys=True))
        return
    out = {"fixture": args.fixture, "notes": [], "unsupported": []}
    projects = {}
    roles = all_roles(cloud)
    for name in PROTECTED_PROJECTS:
        ensure_project(cloud, name, projects)
    users = sync_users(cloud, fx, projects, roles, out)
    marked = [p["id"] for p in cloud.get(cloud.ks("/projects?domain_id=default"))["projects"]
              if p.get("description") == MARK]
    purge(cloud, sorted(set(marked) | {projects[u["project"]] for u in fx["users"]}),
          sorted(users.values()))
    app_ids = sync_app_credentials(cloud, fx, users, out)
    sync_catalog(cloud, fx["services"], fx["region"])
    sync_flavors(cloud, fx, projects, out["notes"])
    sync_images(cloud, fx, projects, out["notes"], out["unsupported"])
    sync_volume_types(cloud, fx, out["notes"])
    sync_network(cloud, fx, out["unsupported"])
    if fx["compute_max_microversion"]:
        out["unsupported"].append("compute.max_microversion: %s (the real Nova offers what it "
                                  "offers)" % fx["compute_max_microversion"])
    sync_quotas(cloud, fx, sorted(pid for name, pid in projects.items()
                                  if name not in PROTECTED_PROJECTS))
    if fx["faults"]:
        out["unsupported"].append("faults %s (simcloud only)" % sorted(fx["faults"]))
    out["projects"] = projects
    out["clouds_names"] = {"users": {u["name"]: "user-" + u["name"] for u in fx["users"]},
                           "application_credentials": {a["id"]: "appcred-" + a["id"]
                                                       for a in fx["application_credentials"]}}
    if args.clouds:
        pathlib.Path(args.clouds).write_text(clouds_yaml(cloud, fx, app_ids))
        out["clouds"] = args.clouds
    out["seconds"] = round(time.monotonic() - t0, 2)
    print(json.dumps(out, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()

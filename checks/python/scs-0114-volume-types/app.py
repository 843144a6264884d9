"""Check component for scs-0114 (volume types), written in Python.

Owns: `scs-0114-syntax-check`, `scs-0114-encrypted-type` and
`scs-0114-replicated-type` (docs/official-behaviour.md d.6 with h.4), with
the verdicts and log lines of the Rust check checks/scs-0114-volume-types.
It reads the volume types visible to the caller through the mediated Cinder
API (`block-storage` ``GET types``, every page) once per run, extracts the
``[scs:...]`` aspect list at the very start of each description, and checks
that it is sorted, free of duplicates and made of `encrypted` and
`replicated` only. A type with an erroneous list still counts for the
aspects it names.

Must never: change the cloud (no volume type is created or edited), look
for the aspect list anywhere but at the very start of the description, or
talk to anything but the host (see the `scs_check` package).
"""

import re
from collections import Counter

import wit_world

import scs_check
from scs_check import CheckError, Field, json_text, log

#: Catalog type of Cinder requests (the host resolves volumev3 and friends).
BLOCK_STORAGE = "block-storage"

#: The aspects the standard knows.
RECOGNIZED = ("encrypted", "replicated")

# The official pattern, applied with `match` (at the start only).
_ASPECT_LIST = re.compile(r"\[scs:([^\[\]]*)\]")


def extract_feature_list(description):
    """The official `_extract_feature_list`.

    None if the description is falsy or does not start with ``[scs:...]``;
    ``[]`` for ``[scs:]``; else the comma-separated pieces, each stripped
    (h.4: ``[scs: ]`` is one empty aspect, an error later). A truthy
    description that is not a string makes the official code raise a
    TypeError (d.6 quirk), here a `CheckError` worded like the Rust check's.
    """
    if not description:
        return None
    if not isinstance(description, str):
        raise CheckError(
            "TypeError: expected string or bytes-like object "
            f"(description {json_text(description)})"
        )
    match = _ASPECT_LIST.match(description)
    if match is None:
        return None
    pieces = match.group(1)
    if not pieces:
        return []
    return [p.strip() for p in pieces.split(",")]


def feature_list_errors(type_name, features):
    """The official `_test_feature_list`: the error lines of one type's list."""
    errors = []
    if not features:
        return errors
    if sorted(features) != features:
        errors.append(f"{type_name}: feature list not sorted")
    counted = Counter(features)  # keeps the order of first appearance
    duplicates = [f for f, n in counted.items() if n > 1]
    if duplicates:
        errors.append(f"{type_name}: duplicate features: {', '.join(duplicates)}")
    unrecognized = [f for f in counted if f not in RECOGNIZED]
    if unrecognized:
        errors.append(f"{type_name}: unrecognized features: {', '.join(unrecognized)}")
    return errors


def volume_types():
    """``(name, description)`` of every volume type the caller sees.

    `name` is None when missing or null; `description` is the raw JSON
    value (None when missing). Every element is decoded before any is
    judged, as the Rust check does.
    """
    first = scs_check.get(BLOCK_STORAGE, "types")
    what = first.describe()
    out = []
    for i, raw in enumerate(scs_check.list_all(first, "volume_types")):
        item = Field.at(what, f"volume_types[{i}]", raw)
        item.object()
        item.get("id").opt_string()
        out.append((item.get("name").opt_string(), item.get("description").value))
    return out


@scs_check.once
def lookup():
    """The official `volume_type_lookup`, once per run.

    Returns ``(by_feature, erroneous)``: aspect -> names of the types that
    list it (erroneous lists included), and all syntax error lines. Logs the
    list of every type that has one.
    """
    by_feature = {}
    erroneous = []
    for name, description in volume_types():
        features = extract_feature_list(description)
        if features is None:
            continue
        shown = "None" if name is None else name
        log.debug(f"{shown}: feature list {features!r}")
        erroneous.extend(feature_list_errors(shown, features))
        for feature in features:
            by_feature.setdefault(feature, []).append(shown)
    return by_feature, erroneous


def syntax_check(params):
    """`scs-0114-syntax-check`: no erroneous aspect list."""
    _, erroneous = lookup()
    for line in erroneous:
        log.error(line)
    return not erroneous


def aspect_type(aspect):
    """The handler of `scs-0114-<aspect>-type`: some type lists `aspect`."""

    def handler(params):
        by_feature, _ = lookup()
        if not by_feature.get(aspect):
            log.error(f"no volume type having aspect {aspect}")
            return False
        return True

    return handler


HANDLERS = {
    "scs-0114-syntax-check": syntax_check,
    "scs-0114-encrypted-type": aspect_type("encrypted"),
    "scs-0114-replicated-type": aspect_type("replicated"),
}


class WitWorld(wit_world.WitWorld):
    """The exported `check` world."""

    def run(self, testcases, params):
        return scs_check.run_checks(testcases, params, HANDLERS)

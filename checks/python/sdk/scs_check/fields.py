"""JSON decoding that says which field was wrong.

Owns: `parse_json` (a response body to a value, or a `JsonError`) and
`Field`, a cursor into a decoded document that remembers the document's
source (``block-storage GET types``) and the path inside it
(``volume_types[3].name``), so that every decode problem becomes one
`JsonError` line a cloud operator can act on. The wording and the typing
rules follow the Rust SDK (checks/sdk/src/json.rs): a Python check and its
Rust twin reject the same documents with the same message.

Must never: return a default for a field of the wrong type (only a missing
or null field is "absent"), or raise anything but `JsonError` on bad data.
"""

import json

from .errors import JsonError

_MISSING = object()


def kind(value):
    """How a JSON value is called in messages (``a string``, ``null``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def json_text(value):
    """Compact JSON text of a value (``{"a":1}``, ``true``, ``5``), as the
    Rust SDK writes a value into a message."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _no_constant(name):
    # NaN and Infinity are not JSON; the Rust SDK (serde_json) refuses them too
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body, source):
    """Decode a UTF-8 JSON body; a `JsonError` naming `source` otherwise.

    `body` is bytes (or str). `source` describes the document for the
    message, e.g. ``compute GET flavors/detail``.
    """
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
        return json.loads(text, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise JsonError(source, "", f"body is not valid JSON: {e}") from None


class Field:
    """A value inside a JSON document, with its source and path.

    ``Field.root("block-storage GET types", body).get("volume_types")``
    descends without failing; the typed accessors (`string`, `opt_string`,
    `u64`, `opt_u64`, `opt_bool`, `array`, `object`, `opt_string_map`)
    raise a `JsonError` naming the path when the value does not fit.
    """

    def __init__(self, source, path, value=_MISSING):
        self.source = source
        self.path = path
        self._value = value

    @classmethod
    def root(cls, source, value):
        """The root of a document named `source`."""
        return cls(source, "", value)

    @classmethod
    def at(cls, source, path, value):
        """A value found at `path` (e.g. an element taken out of a list)."""
        return cls(source, path, value)

    @property
    def present(self):
        """Whether the member exists (it may still be null)."""
        return self._value is not _MISSING

    @property
    def value(self):
        """The raw value; None when missing or null."""
        return None if self._value is _MISSING else self._value

    def error(self, problem):
        """A `JsonError` for this field."""
        return JsonError(self.source, self.path, problem)

    def get(self, key):
        """Member `key` (absent if this is not an object or lacks it)."""
        path = key if not self.path else f"{self.path}.{key}"
        v = self._value
        if isinstance(v, dict) and key in v:
            return Field(self.source, path, v[key])
        return Field(self.source, path)

    def string(self):
        """A required string."""
        v = self._value
        if isinstance(v, str):
            return v
        if v is _MISSING:
            raise self.error("missing (expected a string)")
        raise self.error(f"expected a string, got {kind(v)}")

    def opt_string(self):
        """An optional string: missing or null gives None; a number or a
        boolean gives its JSON text (Glance properties are loosely typed)."""
        v = self._value
        if v is _MISSING or v is None:
            return None
        if isinstance(v, str):
            return v
        if isinstance(v, (bool, int, float)):
            return json_text(v)
        raise self.error(f"expected a string, got {kind(v)}")

    def u64(self):
        """A required non-negative integer."""
        v = self._value
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**64:
            return v
        if v is _MISSING:
            raise self.error("missing (expected a non-negative integer)")
        shown = json_text(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else kind(v)
        raise self.error(f"expected a non-negative integer, got {shown}")

    def opt_u64(self):
        """An optional non-negative integer (missing or null gives None)."""
        if self._value is _MISSING or self._value is None:
            return None
        return self.u64()

    def opt_bool(self):
        """An optional boolean (missing or null gives None)."""
        v = self._value
        if v is _MISSING or v is None:
            return None
        if isinstance(v, bool):
            return v
        raise self.error(f"expected a boolean, got {kind(v)}")

    def array(self):
        """A required list, as fields named ``path[i]``."""
        v = self._value
        if isinstance(v, list):
            return [Field(self.source, f"{self.path}[{i}]", x) for i, x in enumerate(v)]
        if v is _MISSING:
            raise self.error("missing (expected an array)")
        raise self.error(f"expected an array, got {kind(v)}")

    def object(self):
        """A required object (the dict itself)."""
        v = self._value
        if isinstance(v, dict):
            return v
        if v is _MISSING:
            raise self.error("missing (expected an object)")
        raise self.error(f"expected an object, got {kind(v)}")

    def opt_string_map(self):
        """An optional object of strings (e.g. ``extra_specs``), sorted by
        key; missing or null gives None, a non-string value is an error
        naming its key."""
        v = self._value
        if v is _MISSING or v is None:
            return None
        if not isinstance(v, dict):
            raise self.error(f"expected an object, got {kind(v)}")
        out = {}
        for k in sorted(v):
            if not isinstance(v[k], str):
                raise self.get(k).error(f"expected a string, got {kind(v[k])}")
            out[k] = v[k]
        return out

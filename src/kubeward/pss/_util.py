"""Decoding and message helpers shared by the checks.

Message helpers follow ``policy/helpers.go`` (``joinQuote``, ``pluralize``) and Go's
``strconv.Quote`` (used by upstream through ``fmt.Sprintf("%q")``).

Decoding rules (how a PyYAML value maps onto upstream's typed ``corev1.PodSpec``)
-------------------------------------------------------------------------------
The API server decodes a pod into Go structs before Pod Security runs. We evaluate the
raw mapping instead and emulate that decoding field by field:

* A key that is absent or ``null`` is Go's nil pointer / zero value.
* A value of the wrong type (``privileged: "true"``, ``securityContext: []``, a container
  that is a string ...) would make upstream's typed decoding fail, so the API server would
  reject the object before Pod Security ever saw it. We never raise on it: the offending
  field is treated exactly as if it were absent (nil / zero value), and the rest of the
  object is still evaluated. Booleans must be real booleans (YAML 1.1 ``yes``/``on`` are
  booleans after PyYAML, as for the API server's YAML decoder); ``1`` is not a boolean.
* Integers must be integers in range of the Go field (``int32`` host ports, ``int64``
  user ids). A float with an integral value counts as that integer, because the YAML to
  JSON conversion the API server clients use writes ``0.0`` as ``0``.
* ``null`` list elements decode to the element's zero value (a ``null`` container is a
  container with an empty name, a ``null`` capability is ``""``), like ``encoding/json``;
  list elements of any other wrong type are skipped.
* ``null`` annotation values decode to ``""``; annotations with non-string keys or
  other non-string values are skipped.
"""

from __future__ import annotations

from typing import Any, Final

__all__ = [
    "EMPTY",
    "as_int",
    "dict_or_none",
    "go_quote",
    "join_quote",
    "pluralize",
    "str_or_empty",
]

#: Shared read-only empty mapping (never mutate).
EMPTY: Final[dict[str, Any]] = {}

INT32_MIN: Final = -(2**31)
INT32_MAX: Final = 2**31 - 1
INT64_MIN: Final = -(2**63)
INT64_MAX: Final = 2**63 - 1


def dict_or_none(value: Any) -> dict[str, Any] | None:
    """The mapping, or ``None`` for absent / ``null`` / wrong-typed values (a nil pointer)."""
    return value if isinstance(value, dict) else None


def str_or_empty(value: Any) -> str:
    """A Go ``string`` field: the string, else the zero value ``""``."""
    return value if isinstance(value, str) else ""


def as_int(value: Any, lo: int = INT64_MIN, hi: int = INT64_MAX) -> int | None:
    """A Go integer field (pointer semantics): the integer, or ``None`` when absent / invalid."""
    if type(value) is int:
        return value if lo <= value <= hi else None
    if type(value) is float and value.is_integer():
        iv = int(value)
        return iv if lo <= iv <= hi else None
    return None


def join_quote(items: list[str] | tuple[str, ...]) -> str:
    """Upstream ``joinQuote``: ``"a", "b"`` (no escaping, like upstream)."""
    if not items:
        return ""
    return '"' + '", "'.join(items) + '"'


def pluralize(singular: str, plural: str, count: int) -> str:
    """Upstream ``pluralize``."""
    return singular if count == 1 else plural


_GO_ESCAPES: Final[dict[str, str]] = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def go_quote(text: str) -> str:
    """Go ``strconv.Quote`` (what ``fmt.Sprintf("%q", s)`` prints for a string)."""
    if text.isprintable() and '"' not in text and "\\" not in text:
        return '"' + text + '"'
    out = ['"']
    for ch in text:
        esc = _GO_ESCAPES.get(ch)
        if esc is not None:
            out.append(esc)
        elif ch.isprintable():
            out.append(ch)
        else:
            cp = ord(ch)
            if cp < 0x20 or cp == 0x7F:
                out.append(f"\\x{cp:02x}")
            elif 0xD800 <= cp <= 0xDFFF:
                # a lone surrogate is not valid UTF-8: Go prints the replacement character
                out.append("\\ufffd")
            elif cp < 0x10000:
                out.append(f"\\u{cp:04x}")
            else:
                out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)

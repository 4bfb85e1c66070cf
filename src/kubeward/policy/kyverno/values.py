"""Scalar helpers shared by the pattern engine and the condition operators.

Kyverno compares values with three tools, ported here:

* wildcards: `pkg/utils/wildcard` (minio's `wildcard.Match`): `*` matches any run of
  characters, `?` exactly one, nothing else is special; the whole string must match;
* resource quantities: `k8s.io/apimachinery/pkg/api/resource.ParseQuantity` (decimal SI,
  binary SI and exponent suffixes), compared exactly (fractions, no float rounding);
* durations: Go's `time.ParseDuration` (`1h30m`, `-1.5s`, `0`).
"""

from __future__ import annotations

import functools
import re
from fractions import Fraction
from typing import Any

__all__ = [
    "contains_wildcard",
    "go_string",
    "parse_duration",
    "parse_quantity",
    "wildcard_match",
]


@functools.lru_cache(maxsize=4096)
def _wildcard_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    return re.compile("".join(parts), re.DOTALL)


def wildcard_match(pattern: str, text: str) -> bool:
    """minio `wildcard.Match(pattern, name)`: an empty pattern matches only ''."""
    if "*" not in pattern and "?" not in pattern:
        return pattern == text
    if pattern == "*":
        return True
    return _wildcard_regex(pattern).fullmatch(text) is not None


def contains_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)")
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {
    "n": Fraction(1, 10**9),
    "u": Fraction(1, 10**6),
    "m": Fraction(1, 1000),
    "": Fraction(1),
    "k": Fraction(10**3),
    "M": Fraction(10**6),
    "G": Fraction(10**9),
    "T": Fraction(10**12),
    "P": Fraction(10**15),
    "E": Fraction(10**18),
}
_EXPONENT = re.compile(r"[eE]([+-]?[0-9]+)")


@functools.lru_cache(maxsize=4096)
def parse_quantity(text: str) -> Fraction | None:
    """`resource.ParseQuantity`: the exact value, or None when `text` is not a quantity."""
    text = text.strip() if text != text.strip() else text
    if not text:
        return None
    m = _QUANTITY.fullmatch(text)
    if m is None:
        return None
    number, suffix = m.group(1), m.group(2)
    try:
        value = Fraction(number)
    except (ValueError, ZeroDivisionError):
        return None
    if suffix in _BINARY:
        return value * _BINARY[suffix]
    if suffix in _DECIMAL:
        return value * _DECIMAL[suffix]
    e = _EXPONENT.fullmatch(suffix)
    if e is not None:
        exp = int(e.group(1))
        return value * (Fraction(10) ** exp)
    return None


_DURATION_UNITS = {
    "ns": Fraction(1, 10**9),
    "us": Fraction(1, 10**6),
    "µs": Fraction(1, 10**6),
    "μs": Fraction(1, 10**6),
    "ms": Fraction(1, 1000),
    "s": Fraction(1),
    "m": Fraction(60),
    "h": Fraction(3600),
}
_DURATION_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)(ns|us|µs|μs|ms|s|m|h)")


@functools.lru_cache(maxsize=4096)
def parse_duration(text: str) -> Fraction | None:
    """Go `time.ParseDuration`, in seconds; None when `text` is not a duration."""
    s = text
    sign = 1
    if s[:1] in "+-":
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return Fraction(0)
    if not s:
        return None
    total = Fraction(0)
    pos = 0
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if m is None or m.group(1) in ("", "."):
            return None
        total += Fraction(m.group(1)) * _DURATION_UNITS[m.group(2)]
        pos = m.end()
    return sign * total


def go_string(value: object) -> str:
    """`fmt.Sprint` of a decoded JSON value, as Kyverno's operators stringify keys."""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "<nil>"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + " ".join(go_string(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_string(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def as_dict(value: object) -> dict[str, Any]:
    """`value` when it is a mapping, else an empty dict (malformed input never raises)."""
    return value if isinstance(value, dict) else {}

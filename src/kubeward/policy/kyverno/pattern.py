"""The validate `pattern` engine: anchors, wildcards and value operators, as Kyverno does it.

Ports, function by function:

* `pkg/engine/validate/validate.go`: `MatchPattern`, `validateResourceElement`,
  `validateMap` (anchors first, in key order, then plain keys with the ones holding nested
  anchors first: `getSortedNestedAnchorResource`), `validateArray`, `validateArrayOfMaps`
  (an array of maps applies the map to every element; elements skipped by a conditional
  anchor do not count, and if every element skipped, the array skips);
* `pkg/engine/anchor/handlers.go`: the handlers per anchor - condition `(k)` (absent key or
  mismatch: skip), global `<(k)` (mismatch: skip the rule), equality `=(k)` (checked only
  when present), negation `X(k)` (present: fail), existence `^(k)` (at least one list
  element matches each pattern element), and the default handler (`"*"` needs a non-null
  value);
* `pkg/engine/pattern/pattern.go`: `Validate` for scalars - `|` (or) of `&` (and) of
  operator patterns `>`, `>=`, `<`, `<=`, `!`, ranges `a-b` / `a!-b`, each compared as a
  duration, a resource quantity, or a wildcard string;
* `pkg/engine/wildcards/wildcards.go`: `ExpandInMetadata` (wildcard label/annotation keys).

Skips are told apart from failures the way upstream does (`skip()` in validate.go:
conditional and global anchor errors, at any depth, skip the rule).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from kubeward.policy.kyverno.anchors import (
    CONDITION,
    EQUALITY,
    EXISTENCE,
    GLOBAL,
    NEGATION,
    VALIDATE_ANCHORS,
    has_nested_anchors,
    parse_anchor,
)
from kubeward.policy.kyverno.values import (
    contains_wildcard,
    parse_duration,
    parse_quantity,
    wildcard_match,
)

__all__ = ["Mismatch", "match_pattern", "validate_value"]

FAIL, CONDITIONAL, GLOBAL_ERR, NEGATION_ERR, SKIP = "fail", "conditional", "global", "negation", "skip"


@dataclass(slots=True)
class Mismatch:
    """Upstream `PatternError`: where and why a pattern did not hold."""

    path: str
    message: str
    kind: str = FAIL

    @property
    def skip(self) -> bool:
        """`skip(err)`: conditional and global anchor errors mean "does not apply"."""
        return self.kind in (CONDITIONAL, GLOBAL_ERR, SKIP)


def match_pattern(resource: Any, pattern: Any) -> Mismatch | None:
    """`MatchPattern`: None when the resource satisfies the pattern."""
    err = _element(resource, pattern, "/")
    if err is None:
        return None
    if err.skip:
        return Mismatch("", err.message, SKIP)
    return err


def _element(resource: Any, pattern: Any, path: str) -> Mismatch | None:
    if isinstance(pattern, dict):
        if not isinstance(resource, dict):
            return Mismatch(
                path,
                f"pattern and resource have different structures. Path: {path}. "
                f"Expected map, found {_go_type(resource)}",
            )
        return _map(resource, pattern, path)
    if isinstance(pattern, list):
        if not isinstance(resource, list):
            return Mismatch(
                path,
                f"validation rule failed at path {path}, resource does not "
                "satisfy the expected overlay pattern",
            )
        return _array(resource, pattern, path)
    if pattern is None or isinstance(pattern, (str, int, float, bool)):
        if isinstance(resource, list):
            for item in resource:
                if not validate_value(item, pattern):
                    return Mismatch(
                        path,
                        f"resource value '{_show(resource)}' does not match "
                        f"'{_show(pattern)}' at path {path}",
                    )
            return None
        if not validate_value(resource, pattern):
            return Mismatch(
                path, f"resource value '{_show(resource)}' does not match '{_show(pattern)}' at path {path}"
            )
        return None
    return Mismatch(path, f"failed at '{path}', pattern contains unknown type")


def _map(resource: dict[str, Any], pattern: dict[str, Any], path: str) -> Mismatch | None:
    pattern = expand_in_metadata(pattern, resource)
    anchors: list[tuple[str, Any]] = []
    plain: dict[str, Any] = {}
    for key, value in pattern.items():
        skey = key if isinstance(key, str) else str(key)
        a = parse_anchor(skey)
        if a is not None and a.modifier in VALIDATE_ANCHORS:
            anchors.append((skey, value))
        else:
            plain[skey] = value
    for key, value in sorted(anchors, key=lambda kv: kv[0]):
        err = _handle(key, value, resource, path)
        if err is not None:
            return err
    front: list[str] = []
    back: list[str] = []
    for key in sorted(plain):
        if has_nested_anchors(plain[key]):
            front.insert(0, key)
        else:
            back.append(key)
    for key in front + back:
        err = _handle(key, plain[key], resource, path)
        if err is not None:
            return err
    return None


def _handle(key: str, pattern: Any, resource: dict[str, Any], path: str) -> Mismatch | None:
    """`CreateElementHandler(...).Handle` (pkg/engine/anchor/handlers.go)."""
    a = parse_anchor(key)
    if a is None or a.modifier not in VALIDATE_ANCHORS:
        current = f"{path}{key}/"
        value = resource.get(key)
        if pattern == "*":
            if value is not None:
                return None
            return Mismatch(path, f"{path}/{key} not found")
        return _element(value, pattern, current)
    name = a.key
    current = f"{path}{name}/"
    present = name in resource
    if a.modifier == CONDITION:
        if not present:
            return Mismatch(
                current,
                "conditional anchor mismatch: conditional anchor key doesn't exist in the resource",
                CONDITIONAL,
            )
        err = _element(resource[name], pattern, current)
        if err is not None:
            return Mismatch(err.path, f"conditional anchor mismatch: {err.message}", CONDITIONAL)
        return None
    if a.modifier == GLOBAL:
        if not present:
            return None
        err = _element(resource[name], pattern, current)
        if err is not None:
            return Mismatch(err.path, f"global anchor mismatch: {err.message}", GLOBAL_ERR)
        return None
    if a.modifier == EQUALITY:
        if not present:
            return None
        return _element(resource[name], pattern, current)
    if a.modifier == NEGATION:
        if present:
            return Mismatch(
                current, f"negation anchor matched in resource: {current} is not allowed", NEGATION_ERR
            )
        return None
    if a.modifier == EXISTENCE:
        if not present:
            return None
        value = resource[name]
        if not isinstance(value, list):
            return Mismatch(
                current,
                f"invalid resource type {_go_type(value)}: Existence ^ () "
                "anchor can be used only on list/array type resource",
            )
        if not isinstance(pattern, list):
            return Mismatch(
                current,
                f"invalid pattern type {_go_type(pattern)}: Pattern has to "
                "be of list to compare against resource",
            )
        for item in pattern:
            if not isinstance(item, dict):
                return Mismatch(
                    current,
                    f"invalid pattern type {_go_type(pattern)}: Pattern has "
                    "to be of type map to compare against items in resource",
                )
            if not any(_element(el, item, f"{current}{i}/") is None for i, el in enumerate(value)):
                return Mismatch(current, f"existence anchor validation failed at path {current}")
        return None
    return None  # pragma: no cover - VALIDATE_ANCHORS is exhaustive


def _array(resource: list[Any], pattern: list[Any], path: str) -> Mismatch | None:
    if not pattern:
        return Mismatch(path, "pattern Array empty")
    first = pattern[0]
    if isinstance(first, dict):
        return _array_of_maps(resource, first, path)
    if first is None or isinstance(first, (str, int, float, bool)):
        return _element(resource, first, path)
    if len(resource) < len(pattern):
        return Mismatch(
            "",
            f"validate Array failed, array length mismatch, resource Array len is "
            f"{len(resource)} and pattern Array len is {len(pattern)}",
        )
    applied = 0
    skipped: list[str] = []
    for i, item in enumerate(pattern):
        err = _element(resource[i], item, f"{path}{i}/")
        if err is not None:
            if err.skip:
                skipped.append(err.message)
                continue
            return err
        applied += 1
    if applied == 0 and skipped:
        return Mismatch(path, "; ".join(skipped), SKIP)
    return None


def _array_of_maps(resource: list[Any], pattern: dict[str, Any], path: str) -> Mismatch | None:
    applied = 0
    skipped: list[str] = []
    for i, item in enumerate(resource):
        err = _element(item, pattern, f"{path}{i}/")
        if err is not None:
            if err.skip:
                skipped.append(err.message)
                continue
            return err
        applied += 1
    if applied == 0 and skipped:
        return Mismatch(path, "; ".join(skipped), SKIP)
    return None


# --- wildcards in metadata keys (pkg/engine/wildcards/wildcards.go) --------------------------


def _pattern_value(tag: str, pattern: dict[str, Any]) -> tuple[str, Any]:
    for key, value in pattern.items():
        if key == tag:
            return key, value
        a = parse_anchor(key) if isinstance(key, str) else None
        if a is not None and a.key == tag:
            return key, value
    return "", None


def expand_in_metadata(pattern: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any]:
    """`ExpandInMetadata`: `metadata.labels` / `annotations` pattern keys with wildcards take
    the name of the first resource key they match (anchors kept), values untouched."""
    meta_key, meta = _pattern_value("metadata", pattern)
    if not isinstance(meta, dict):
        return pattern
    res_meta = resource.get("metadata")
    if not isinstance(res_meta, dict):
        return pattern
    new_meta: dict[str, Any] | None = None
    for tag in ("labels", "annotations"):
        tag_key, data = _pattern_value(tag, meta)
        if not isinstance(data, dict) or not any(isinstance(k, str) and contains_wildcard(k) for k in data):
            continue
        _, res_data = _pattern_value(tag, res_meta)
        if not isinstance(res_data, dict):
            continue
        expanded: dict[str, Any] = {}
        for k, v in data.items():
            if not (isinstance(k, str) and contains_wildcard(k)):
                expanded[k] = v
                continue
            a = parse_anchor(k)
            bare = a.key if a is not None else k
            match = next(
                (rk for rk in sorted(res_data, key=str) if isinstance(rk, str) and wildcard_match(bare, rk)),
                bare,
            )
            expanded[f"{a.modifier}({match})" if a is not None else match] = v
        if new_meta is None:
            new_meta = dict(meta)
        new_meta[tag_key] = expanded
    if new_meta is None:
        return pattern
    out = dict(pattern)
    out[meta_key] = new_meta
    return out


# --- scalar patterns (pkg/engine/pattern/pattern.go) -----------------------------------------


def validate_value(value: Any, pattern: Any) -> bool:
    """`pattern.Validate`: does one resource value satisfy one scalar (or map) pattern?"""
    if isinstance(pattern, bool):
        return isinstance(value, bool) and value == pattern
    if isinstance(pattern, int):
        return _int_pattern(value, pattern)
    if isinstance(pattern, float):
        return _float_pattern(value, pattern)
    if pattern is None:
        if isinstance(value, bool):
            return not value
        if isinstance(value, (int, float)):
            return value == 0
        if isinstance(value, str):
            return value == ""
        return value is None
    if isinstance(pattern, dict):
        return isinstance(value, dict)
    if isinstance(pattern, str):
        return _string_patterns(value, pattern)
    return False


_GO_INT = re.compile(r"[+-]?[0-9]+")
_GO_FLOAT = re.compile(
    r"[+-]?(?:[0-9]+\.?[0-9]*(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?"
    r"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])"
)


def _int_pattern(value: Any, pattern: int) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value == pattern
    if isinstance(value, float):
        return value.is_integer() and int(value) == pattern
    if isinstance(value, str):
        return bool(_GO_INT.fullmatch(value)) and int(value) == pattern
    return False


def _float_pattern(value: Any, pattern: float) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return pattern.is_integer() and int(pattern) == value
    if isinstance(value, float):
        return value == pattern
    if isinstance(value, str):
        return bool(_GO_FLOAT.fullmatch(value)) and float(value) == pattern
    return False


def _string_patterns(value: Any, pattern: str) -> bool:
    if isinstance(value, str) and value == pattern:
        return True
    for alternative in pattern.split("|"):
        alternative = alternative.strip(" ")
        if all(_string_pattern(value, cond.strip(" ")) for cond in alternative.split("&")):
            return True
    return False


_NOT_IN_RANGE = re.compile(r"^(\d+(\.\d+)?)([^-]*)!-(\d+(\.\d+)?)([^-]*)$")
_IN_RANGE = re.compile(r"^(\d+(\.\d+)?)([^-]*)-(\d+(\.\d+)?)([^-]*)$")


def operator_of(pattern: str) -> str:
    """`operator.GetOperatorFromStringPattern` (pkg/engine/operator/operator.go)."""
    if len(pattern) < 2:
        return ""
    for op in (">=", "<=", ">", "<", "!"):
        if pattern.startswith(op):
            return op
    if _NOT_IN_RANGE.match(pattern):
        return "!-"
    if _IN_RANGE.match(pattern):
        return "-"
    return ""


def _string_pattern(value: Any, pattern: str) -> bool:
    op = operator_of(pattern)
    if op == "-":
        low, high = pattern.split("-", 1)
        return _string_pattern(value, f">= {low}") and _string_pattern(value, f"<= {high}")
    if op == "!-":
        low, high = pattern.split("!-", 1)
        return _string_pattern(value, f"< {low}") or _string_pattern(value, f"> {high}")
    body = pattern[len(op) :].strip()
    return (
        _compare_parsed(value, body, op, parse_duration)
        or _compare_parsed(value, body, op, parse_quantity)
        or _compare_string(value, body, op)
    )


def _number_to_string(value: Any) -> str | None:
    """`convertNumberToString`: nil is "0"; bools, maps and lists are not numbers."""
    if value is None:
        return "0"
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:f}"
    if isinstance(value, int):
        return str(value)
    return None


def _compare_parsed(value: Any, body: str, op: str, parse: Any) -> bool:
    expected = parse(body) if body else None
    if expected is None:
        return False
    text = _number_to_string(value)
    if text is None or not text:
        return False
    actual = parse(text)
    if actual is None:
        return False
    return _cmp(actual, expected, op)


def _cmp(actual: Any, expected: Any, op: str) -> bool:
    if op == "":
        return bool(actual == expected)
    if op == "!":
        return bool(actual != expected)
    if op == ">":
        return bool(actual > expected)
    if op == "<":
        return bool(actual < expected)
    if op == ">=":
        return bool(actual >= expected)
    if op == "<=":
        return bool(actual <= expected)
    return False


def _compare_string(value: Any, body: str, op: str) -> bool:
    if op not in ("", "!"):
        return False
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        text = go_float_e(value)
    elif isinstance(value, str):
        text = value
    else:
        return False
    matched = wildcard_match(body, text)
    return not matched if op == "!" else matched


def go_float_e(value: float) -> str:
    """Go `strconv.FormatFloat(v, 'E', -1, 64)`: shortest mantissa, exponent of 2+ digits."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    sign, digits, exp = Decimal(repr(value)).normalize().as_tuple()
    ds = "".join(str(d) for d in digits) or "0"
    e = int(exp) + len(ds) - 1 if ds != "0" else 0
    mantissa = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}E{'+' if e >= 0 else '-'}{abs(e):02d}"


def _go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    return "<nil>"


def _show(value: Any) -> str:
    from kubeward.policy.kyverno.values import go_string

    return go_string(value)

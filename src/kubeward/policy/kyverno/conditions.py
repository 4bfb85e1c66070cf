"""Condition operators of `preconditions` and `deny`, as Kyverno evaluates them.

Port of kyverno `pkg/engine/variables/operator/*.go` (one handler per operator) and
`pkg/engine/variables/evaluate.go` (`EvaluateConditions`: `any` is true when one of its
conditions is, `all` when every one is; an absent block counts as true; a plain list is
`all`). Keys and values are substituted first; in conditions an unresolvable variable
becomes an empty string (`newPreconditionsVariableResolver`), so a missing field compares as "".

Operators: Equals / Equal, NotEquals / NotEqual, In / NotIn (deprecated), AnyIn, AllIn,
AnyNotIn, AllNotIn, GreaterThan, GreaterThanOrEquals, LessThan, LessThanOrEquals,
DurationGreaterThan, DurationGreaterThanOrEquals, DurationLessThan,
DurationLessThanOrEquals. Equals follows the key's type (a string key compares as a
duration, then a quantity against a string value, else as a wildcard pattern given by the
value). The set operators take a key or a list of keys and a list, a JSON array in a
string, a single string or a range string (`8000-9000`, `1!-10`, checked by the pattern
engine); items match with wildcards in either direction; any other value type makes the
condition false. Ordering operators compare durations, then quantities, then semantic
versions and numbers.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

from kubeward.policy.kyverno.values import go_string, parse_duration, parse_quantity, wildcard_match

__all__ = ["OPERATORS", "ConditionError", "evaluate_operator"]


class ConditionError(ValueError):
    """An unknown operator or a malformed condition."""


def _finite(value: int | float) -> bool:
    """Infinity and NaN (YAML `.inf`, `to_number('1e999')`) have no Fraction: like a
    string that parses to them (`_number_from_string`), they are not numbers here."""
    return not isinstance(value, float) or math.isfinite(value)


def _num(value: Any) -> Fraction | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and _finite(value):
        return Fraction(value)
    return None


def _durations(key: Any, value: Any) -> tuple[Fraction, Fraction] | None:
    """`parseDuration`: both durations, or one duration and one number of seconds."""
    kd = parse_duration(key) if isinstance(key, str) and key else None
    vd = parse_duration(value) if isinstance(value, str) and value else None
    if kd is not None and vd is None:
        vd = _num(value)
    elif vd is not None and kd is None:
        kd = _num(key)
    if kd is None or vd is None:
        return None
    return kd, vd


# --- Equals (equal.go) -----------------------------------------------------------------------

_GO_INT = re.compile(r"[+-]?[0-9]+")


def _go_float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def equals(key: Any, value: Any) -> bool:
    """`EqualHandler.Evaluate`: the key's type decides how the value is compared."""
    if isinstance(key, bool):
        return isinstance(value, bool) and key == value
    if isinstance(key, int):
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return key == value
        if isinstance(value, float):
            return value.is_integer() and int(value) == key
        if isinstance(value, str):
            return bool(_GO_INT.fullmatch(value)) and int(value) == key
        return False
    if isinstance(key, float):
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return key.is_integer() and int(key) == value
        if isinstance(value, float):
            return key == value
        if isinstance(value, str):
            return _go_float(value) == key
        return False
    if isinstance(key, str):
        d = _durations(key, value)
        if d is not None:
            return d[0] == d[1]
        kq = parse_quantity(key)
        if kq is not None and isinstance(value, str):
            vq = parse_quantity(value)
            return vq is not None and kq == vq
        if isinstance(value, str):
            return wildcard_match(value, key)
        return False
    if isinstance(key, dict):
        return isinstance(value, dict) and key == value
    if isinstance(key, list):
        return isinstance(value, list) and key == value
    return False


# --- In / AnyIn / AllIn / NotIn / AnyNotIn / AllNotIn (in.go, anyin.go, allin.go ...) ---------


def _matches(a: str, b: str) -> bool:
    return wildcard_match(a, b) or wildcard_match(b, a)


def _in_range(key: str, value: str) -> bool:
    """`handleRange`: a range value (`a-b`, `a!-b`) is checked by the pattern engine."""
    from kubeward.policy.kyverno.pattern import validate_value

    return validate_value(key, value)


def _string_values(value: str) -> list[str] | None:
    """A string value: a JSON array of strings, or the string itself; None if malformed."""
    text = value.strip()
    if text.startswith("[") or text.startswith("{") or text.startswith('"'):
        try:
            parsed = json.loads(text)
        except ValueError:
            return [value]
        if isinstance(parsed, list) and all(isinstance(v, str) for v in parsed):
            return parsed
        return None
    return [value]


def _key_exists(key: str, value: Any) -> bool | None:
    """`anyKeyExistsInArray`: None when `value` has a type the operators do not take."""
    if isinstance(value, list):
        return any(_matches(go_string(v), key) for v in value)
    if isinstance(value, str):
        if wildcard_match(value, key):
            return True
        if _is_range(value):
            return _in_range(key, value)
        values = _string_values(value)
        if values is None:
            return None
        return key in values
    return None


def _is_range(value: str) -> bool:
    from kubeward.policy.kyverno.pattern import operator_of

    return operator_of(value) in ("-", "!-")


def _set_op(key: Any, value: Any, mode: str) -> bool:
    """AnyIn / AllIn / AnyNotIn / AllNotIn and the deprecated In / NotIn."""
    if isinstance(key, list):
        keys = [go_string(k) for k in key]
        if isinstance(value, list):
            values = [go_string(v) for v in value]
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            values = [go_string(value)]
        elif isinstance(value, str):
            if len(keys) == 1 and keys[0] == value:
                return mode in ("In", "AnyIn", "AllIn")
            if _is_range(value):
                inside = [_in_range(k, value) for k in keys]
                return {
                    "In": all(inside),
                    "AllIn": all(inside),
                    "AnyIn": any(inside),
                    "NotIn": not all(inside),
                    "AnyNotIn": not all(inside),
                    "AllNotIn": not any(inside),
                }[mode]
            parsed = _string_values(value)
            if parsed is None:
                return False
            values = parsed
        else:
            return False
        found = [any(_matches(k, v) for v in values) for k in keys]
        return {
            "In": all(found),
            "AllIn": all(found),
            "AnyIn": any(found),
            "NotIn": not all(found),
            "AnyNotIn": not all(found),
            "AllNotIn": not any(found),
        }[mode]
    if isinstance(key, bool) and mode not in ("In", "NotIn", "AnyIn"):
        return False
    if not isinstance(key, (str, int, float, bool)):
        return False
    exists = _key_exists(go_string(key), value)
    if exists is None:
        return False
    return exists if mode in ("In", "AnyIn", "AllIn") else not exists


# --- numeric / duration comparisons (numeric.go, duration.go) --------------------------------

_SEMVER = re.compile(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")


def _semver(text: str) -> tuple[Any, ...] | None:
    """blang/semver `Parse` (strict X.Y.Z), as a sortable key (a pre-release sorts first)."""
    m = _SEMVER.fullmatch(text)
    if m is None:
        return None
    pre = m.group(4)
    pre_key: tuple[Any, ...] = (1,)
    if pre:
        pre_key = (0, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))
    return (int(m.group(1)), int(m.group(2)), int(m.group(3)), pre_key)


def _number_from_string(text: str) -> Fraction | None:
    """Go `strconv.ParseFloat` then `ParseInt` of a string value."""
    f = _go_float(text)
    if f is None or f != f or f in (float("inf"), float("-inf")):
        return None
    return Fraction(f)


def _numeric_key(key: Fraction, value: Any, test: Callable[[Any, Any], bool]) -> bool:
    """`validateValueWithIntPattern` / `...FloatPattern` of numeric.go."""
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return _finite(value) and test(key, Fraction(value))
    if isinstance(value, str):
        vd = parse_duration(value) if value else None
        if vd is not None:
            return test(key, vd)
        vn = _number_from_string(value)
        return vn is not None and test(key, vn)
    return False


def _ordered(key: Any, value: Any, test: Callable[[Any, Any], bool]) -> bool:
    """`NumericOperatorHandler.Evaluate` (numeric.go): durations, then quantities (both
    strings), then numbers, then semantic versions."""
    if isinstance(key, bool):
        return False
    if isinstance(key, (int, float)):
        return _finite(key) and _numeric_key(Fraction(key), value, test)
    if not isinstance(key, str):
        return False
    d = _durations(key, value)
    if d is not None:
        return test(d[0], d[1])
    kq = parse_quantity(key)
    if kq is not None and isinstance(value, str):
        vq = parse_quantity(value)
        if vq is not None:
            return test(kq, vq)
    kn = _number_from_string(key)
    if kn is not None:
        return _numeric_key(kn, value, test)
    kv = _semver(key)
    if kv is not None and isinstance(value, str):
        vv = _semver(value)
        return vv is not None and test(kv, vv)
    return False


def _duration_op(key: Any, value: Any, test: Callable[[Any, Any], bool]) -> bool:
    d = _durations(key, value)
    if d is None:
        kd = parse_duration(key) if isinstance(key, str) and key else _num(key)
        vd = parse_duration(value) if isinstance(value, str) and value else _num(value)
        if kd is None or vd is None:
            return False
        d = (kd, vd)
    return test(d[0], d[1])


OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "equals": equals,
    "equal": equals,
    "notequals": lambda k, v: not equals(k, v),
    "notequal": lambda k, v: not equals(k, v),
    "in": lambda k, v: _set_op(k, v, "In"),
    "notin": lambda k, v: _set_op(k, v, "NotIn"),
    "anyin": lambda k, v: _set_op(k, v, "AnyIn"),
    "allin": lambda k, v: _set_op(k, v, "AllIn"),
    "anynotin": lambda k, v: _set_op(k, v, "AnyNotIn"),
    "allnotin": lambda k, v: _set_op(k, v, "AllNotIn"),
    "greaterthan": lambda k, v: _ordered(k, v, lambda a, b: a > b),
    "greaterthanorequals": lambda k, v: _ordered(k, v, lambda a, b: a >= b),
    "lessthan": lambda k, v: _ordered(k, v, lambda a, b: a < b),
    "lessthanorequals": lambda k, v: _ordered(k, v, lambda a, b: a <= b),
    "durationgreaterthan": lambda k, v: _duration_op(k, v, lambda a, b: a > b),
    "durationgreaterthanorequals": lambda k, v: _duration_op(k, v, lambda a, b: a >= b),
    "durationlessthan": lambda k, v: _duration_op(k, v, lambda a, b: a < b),
    "durationlessthanorequals": lambda k, v: _duration_op(k, v, lambda a, b: a <= b),
}


def evaluate_operator(operator: str, key: Any, value: Any) -> bool:
    """`CreateOperatorHandler(op).Evaluate(key, value)`; operator names are case-insensitive."""
    handler = OPERATORS.get(str(operator).lower())
    if handler is None:
        raise ConditionError(f"unknown condition operator {operator!r}")
    return handler(key, value)

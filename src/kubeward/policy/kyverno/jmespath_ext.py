"""JMESPath with Kyverno's custom functions, on the maintained `jmespath` library.

Function names, argument types and results follow kyverno `pkg/engine/jmespath`
(`functions.go`, `arithmetic.go`, `time.go`): string helpers (`to_upper`, `to_lower`,
`trim`, `trim_prefix`, `split`, `replace`, `replace_all`, `truncate`, `compare`,
`equal_fold`), regular expressions (`regex_match`, `regex_replace_all`,
`regex_replace_all_literal`, `pattern_match`), `label_match`, arithmetic over numbers,
quantities and durations (`add`, `subtract`, `multiply`, `divide`, `modulo`, `sum`, `round`),
encoding (`base64_decode`, `base64_encode`, `parse_json`, `parse_yaml`), objects (`items`,
`object_from_lists`, `lookup`), `to_boolean`, `semver_compare`, `path_canonicalize`, and the
time functions that do not need a clock source beyond "now" (`time_now`, `time_now_utc`,
`time_now`, `time_now_utc`); docs/policy.md lists them.

Queries are compiled once and cached. Go regular expressions (RE2) are run with Python's
`re`, which accepts the RE2 syntax policies use; Go's `$1` / `${1}` replacement references
are translated.
"""

from __future__ import annotations

import base64
import functools
import json
import math
import posixpath
import re
from typing import Any

__all__ = ["JMESPathError", "compile_query", "search"]


class JMESPathError(Exception):
    """A query that does not parse or whose function call fails."""


@functools.lru_cache(maxsize=512)
def _compile_go_regex(pattern: str) -> Any:
    """Kyverno's regex_* functions use Go's regexp: RE2 syntax, linear time.

    google-re2 gives both: the same syntax (no backreferences or lookaround, as in Go) and no
    catastrophic backtracking, so a resource value cannot stall `policy apply` or the webhook
    (Python's `re` took minutes on `(a+)+$` against 30 a's and a '!').
    """
    import re2

    options = re2.Options()
    options.log_errors = False  # errors are raised, not also logged to stderr by the C++ library
    try:
        return re2.compile(pattern, options=options)
    except re2.error as err:
        message = err.args[0].decode() if err.args and isinstance(err.args[0], bytes) else str(err)
        raise JMESPathError(f"invalid regular expression {pattern!r}: {message}") from None


def _make_functions() -> Any:
    from collections.abc import Callable
    from typing import cast

    from jmespath import functions

    sig = cast(Callable[..., Callable[[Callable[..., Any]], Callable[..., Any]]], functions.signature)
    from kubeward.policy.kyverno.values import parse_duration, parse_quantity, wildcard_match

    def _go_regex(pattern: str) -> Any:
        return _compile_go_regex(pattern)

    def _go_repl(repl: str) -> str:
        # Go: $1, ${1}, ${name}; Python: \g<1>, \g<name>; backslashes are literal in Go.
        repl = repl.replace("\\", "\\\\")
        repl = re.sub(r"\$\{(\w+)\}", r"\\g<\1>", repl)
        return re.sub(r"\$(\d+)", r"\\g<\1>", repl)

    def _to_str(value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            return repr(value).rstrip("0").rstrip(".") if not value.is_integer() else str(int(value))
        if isinstance(value, (int, str)):
            return str(value)
        raise JMESPathError("argument must be a string or a number")

    def _arith(op: str, a: Any, b: Any) -> Any:
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            if b == 0:
                raise JMESPathError(f"JMESPath function '{op}': Zero divisor passed")
            if op == "/":
                return a / b
            if float(a).is_integer() and float(b).is_integer():
                return int(math.fmod(int(a), int(b)))
            raise JMESPathError("JMESPath function 'modulo': Non-integer argument(s) passed for modulo")
        if isinstance(a, str) and isinstance(b, str):
            da, db = parse_duration(a), parse_duration(b)
            if da is not None and db is not None and op in "+-":
                return _fmt_duration(da + db if op == "+" else da - db)
            qa, qb = parse_quantity(a), parse_quantity(b)
            if qa is not None and qb is not None:
                if op == "+":
                    return _fmt_quantity(qa + qb, a, b)
                if op == "-":
                    return _fmt_quantity(qa - qb, a, b)
                if qb == 0:
                    raise JMESPathError("Zero divisor passed")
                if op == "/":
                    return float(qa / qb)
        if isinstance(a, str) and isinstance(b, (int, float)) and op in "*/":
            qa = parse_quantity(a)
            if qa is not None:
                if op == "/" and b == 0:
                    raise JMESPathError("Zero divisor passed")
                from fractions import Fraction

                return _fmt_quantity(qa * Fraction(b) if op == "*" else qa / Fraction(b), a)
        raise JMESPathError(f"invalid operands for arithmetic: {a!r}, {b!r}")

    class KyvernoFunctions(functions.Functions):  # type: ignore[misc]
        @sig({"types": ["string"]}, {"types": ["string"]})
        def _func_compare(self, a: str, b: str) -> int:
            return (a > b) - (a < b)

        @sig({"types": ["string"]}, {"types": ["string"]})
        def _func_equal_fold(self, a: str, b: str) -> bool:
            return a.casefold() == b.casefold()

        @sig({"types": ["string"]}, {"types": ["string"]}, {"types": ["string"]}, {"types": ["number"]})
        def _func_replace(self, s: str, old: str, new: str, n: float) -> str:
            return s.replace(old, new, int(n)) if n >= 0 else s.replace(old, new)

        @sig({"types": ["string"]}, {"types": ["string"]}, {"types": ["string"]})
        def _func_replace_all(self, s: str, old: str, new: str) -> str:
            return s.replace(old, new)

        @sig({"types": ["string"]})
        def _func_to_upper(self, s: str) -> str:
            return s.upper()

        @sig({"types": ["string"]})
        def _func_to_lower(self, s: str) -> str:
            return s.lower()

        @sig({"types": ["string"]}, {"types": ["string"]})
        def _func_trim(self, s: str, cutset: str) -> str:
            return s.strip(cutset)

        @sig({"types": ["string"]}, {"types": ["string"]})
        def _func_trim_prefix(self, s: str, prefix: str) -> str:
            return s[len(prefix) :] if prefix and s.startswith(prefix) else s

        @sig({"types": ["string"]}, {"types": ["string"]})
        def _func_split(self, s: str, sep: str) -> list[str]:
            if sep == "":
                return list(s)
            return s.split(sep)

        @sig({"types": ["string"]}, {"types": ["number"]})
        def _func_truncate(self, s: str, length: float) -> str:
            return s[: max(int(length), 0)]

        @sig({"types": ["string"]}, {"types": ["string", "number"]})
        def _func_regex_match(self, pattern: str, value: Any) -> bool:
            return _go_regex(pattern).search(_to_str(value)) is not None

        @sig({"types": ["string"]}, {"types": ["string", "number"]})
        def _func_pattern_match(self, pattern: str, value: Any) -> bool:
            return wildcard_match(pattern, _to_str(value))

        @sig({"types": ["string"]}, {"types": ["string", "number"]}, {"types": ["string", "number"]})
        def _func_regex_replace_all(self, pattern: str, src: Any, repl: Any) -> str:
            return str(_go_regex(pattern).sub(_go_repl(_to_str(repl)), _to_str(src)))

        @sig({"types": ["string"]}, {"types": ["string", "number"]}, {"types": ["string", "number"]})
        def _func_regex_replace_all_literal(self, pattern: str, src: Any, repl: Any) -> str:
            literal = _to_str(repl)
            return str(_go_regex(pattern).sub(lambda _m: literal, _to_str(src)))

        @sig({"types": ["object"]}, {"types": ["object"]})
        def _func_label_match(self, labels: dict[str, Any], match: dict[str, Any]) -> bool:
            return all(k in match and match[k] == v for k, v in labels.items())

        @sig({"types": ["number", "string"]}, {"types": ["number", "string"]})
        def _func_add(self, a: Any, b: Any) -> Any:
            return _arith("+", a, b)

        @sig({"types": ["number", "string"]}, {"types": ["number", "string"]})
        def _func_subtract(self, a: Any, b: Any) -> Any:
            return _arith("-", a, b)

        @sig({"types": ["number", "string"]}, {"types": ["number", "string"]})
        def _func_multiply(self, a: Any, b: Any) -> Any:
            if isinstance(a, (int, float)) and isinstance(b, str):
                a, b = b, a
            return _arith("*", a, b)

        @sig({"types": ["number", "string"]}, {"types": ["number", "string"]})
        def _func_divide(self, a: Any, b: Any) -> Any:
            return _arith("/", a, b)

        @sig({"types": ["number", "string"]}, {"types": ["number", "string"]})
        def _func_modulo(self, a: Any, b: Any) -> Any:
            return _arith("%", a, b)

        @sig({"types": ["array"]})
        def _func_sum(self, items: list[Any]) -> Any:
            if not items:
                raise JMESPathError("JMESPath function 'sum': at least one element in the array is required")
            total = items[0]
            for item in items[1:]:
                total = _arith("+", total, item)
            return total

        @sig({"types": ["number"]}, {"types": ["number"]})
        def _func_round(self, value: float, digits: float) -> float:
            factor = 10 ** int(digits)
            rounded = math.floor(abs(value) * factor + 0.5) / factor
            return float(rounded if value >= 0 else -rounded)

        @sig({"types": ["string"]})
        def _func_base64_decode(self, s: str) -> str:
            try:
                return base64.b64decode(s, validate=True).decode("utf-8", "replace")
            except ValueError as err:
                raise JMESPathError(f"base64_decode: {err}") from None

        @sig({"types": ["string"]})
        def _func_base64_encode(self, s: str) -> str:
            return base64.b64encode(s.encode()).decode()

        @sig({"types": ["string"]})
        def _func_parse_json(self, s: str) -> Any:
            try:
                return json.loads(s)
            except ValueError as err:
                raise JMESPathError(f"parse_json: {err}") from None

        @sig({"types": ["string"]})
        def _func_parse_yaml(self, s: str) -> Any:
            from kubeward.inventory.yamlio import Document, LoadError, load_documents

            # load_documents: the safe loader plus the alias-bomb and depth limits (the text
            # is the resource's, e.g. a ConfigMap value: 1 KiB of aliases must not cost GiBs)
            docs = list(load_documents(s))
            for doc in docs:
                if isinstance(doc, LoadError):
                    raise JMESPathError(f"parse_yaml: {doc.message}")
            first = docs[0] if docs else None
            return first.data if isinstance(first, Document) else None

        @sig({"types": ["object", "array"]}, {"types": ["string"]}, {"types": ["string"]})
        def _func_items(self, obj: Any, key_name: str, value_name: str) -> list[dict[str, Any]]:
            if isinstance(obj, dict):
                return [{key_name: k, value_name: obj[k]} for k in sorted(obj)]
            return [{key_name: i, value_name: v} for i, v in enumerate(obj)]

        @sig({"types": ["array"]}, {"types": ["array"]})
        def _func_object_from_lists(self, keys: list[Any], values: list[Any]) -> dict[str, Any]:
            return {str(k): (values[i] if i < len(values) else None) for i, k in enumerate(keys)}

        @sig({"types": ["object", "array"]}, {"types": ["string", "number"]})
        def _func_lookup(self, obj: Any, key: Any) -> Any:
            if isinstance(obj, dict):
                return obj.get(key) if isinstance(key, str) else None
            if isinstance(key, (int, float)) and float(key).is_integer() and 0 <= int(key) < len(obj):
                return obj[int(key)]
            return None

        @sig({"types": ["string"]})
        def _func_to_boolean(self, s: str) -> bool:
            low = s.lower()
            if low in ("true", "false"):
                return low == "true"
            raise JMESPathError(f"to_boolean: lowercase argument must be 'true' or 'false' (provided: '{s}')")

        @sig({"types": ["string"]})
        def _func_path_canonicalize(self, s: str) -> str:
            return posixpath.normpath(s) if s else "."

        @sig({"types": ["string"]}, {"types": ["string"]})
        def _func_semver_compare(self, version: str, rng: str) -> bool:
            return _semver_in_range(version, rng)

        @sig()
        def _func_time_now_utc(self) -> str:
            import datetime as dt

            return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        @sig()
        def _func_time_now(self) -> str:
            import datetime as dt

            return dt.datetime.now().astimezone().isoformat(timespec="seconds")

    return KyvernoFunctions()


def _fmt_duration(seconds: Any) -> str:
    """Go `time.Duration.String` for whole and fractional seconds (e.g. `1h30m0s`)."""
    from fractions import Fraction

    total = Fraction(seconds)
    sign = "-" if total < 0 else ""
    total = abs(total)
    if total == 0:
        return "0s"
    if total < 1:
        ns = total * 10**9
        for unit, scale in (("ms", 10**6), ("µs", 10**3), ("ns", 1)):
            if ns >= scale:
                return f"{sign}{_trim_float(float(ns / scale))}{unit}"
    h, rest = divmod(total, 3600)
    m, s = divmod(rest, 60)
    out = ""
    if h:
        out += f"{int(h)}h"
    if h or m:
        out += f"{int(m)}m"
    return f"{sign}{out}{_trim_float(float(s))}s"


def _trim_float(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _fmt_quantity(value: Any, *like: str) -> str:
    """A quantity in the smallest suffix of the operands that keeps it exact, else plain."""
    from fractions import Fraction

    from kubeward.policy.kyverno.values import parse_quantity

    units = []
    for text in like:
        m = re.fullmatch(r"[+-]?[0-9.]+([a-zA-Z]*)", text)
        suffix = m.group(1) if m else ""
        unit = parse_quantity("1" + suffix) if suffix else Fraction(1)
        if unit:
            units.append((unit, suffix))
    for unit, suffix in sorted(units, reverse=True):
        scaled = Fraction(value) / unit
        if scaled.denominator == 1:
            return f"{scaled.numerator}{suffix}"
    v = Fraction(value)
    return str(v.numerator) if v.denominator == 1 else repr(float(v))


_SEMVER = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")


def _semver_key(text: str) -> tuple[int, int, int, int] | None:
    m = _SEMVER.fullmatch(text.strip())
    if m is None:
        return None
    return (int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0), 0 if m.group(4) else 1)


def _semver_in_range(version: str, rng: str) -> bool:
    """blang/semver `ParseRange`: space-separated ANDed comparisons, `||` between ORs."""
    v = _semver_key(version)
    if v is None:
        raise JMESPathError(f"semver_compare: invalid version {version!r}")
    for alternative in rng.split("||"):
        ok = True
        for part in alternative.split():
            m = re.fullmatch(r"(>=|<=|!=|==|=|>|<)?(.+)", part)
            if m is None:
                ok = False
                break
            op, target = m.group(1) or "=", _semver_key(m.group(2))
            if target is None:
                raise JMESPathError(f"semver_compare: invalid range {rng!r}")
            if not {
                "=": v == target,
                "==": v == target,
                "!=": v != target,
                ">": v > target,
                "<": v < target,
                ">=": v >= target,
                "<=": v <= target,
            }[op]:
                ok = False
                break
        if ok:
            return True
    return False


@functools.lru_cache(maxsize=1)
def _options() -> Any:
    import jmespath

    return jmespath.Options(custom_functions=_make_functions())


@functools.lru_cache(maxsize=4096)
def compile_query(expression: str) -> Any:
    import jmespath
    from jmespath import exceptions

    try:
        return jmespath.compile(expression)
    except exceptions.JMESPathError as err:
        raise JMESPathError(f"incorrect query {expression}: {err}") from None


def search(expression: str, data: Any) -> Any:
    """Evaluate `expression` on `data` with Kyverno's functions; JMESPathError on failure."""
    from jmespath import exceptions

    parsed = compile_query(expression)
    try:
        return parsed.search(data, options=_options())
    except exceptions.JMESPathError as err:
        raise JMESPathError(f"JMESPath query failed: {err}") from None
    except (TypeError, ValueError, ArithmeticError) as err:  # OverflowError: to_number('1e999')
        raise JMESPathError(f"JMESPath query failed: {err}") from None

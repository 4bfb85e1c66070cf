"""`{{ }}` variables: the JSON context of one admission request and substitution into rules.

Port of kyverno `pkg/engine/variables/vars.go` (`SubstituteAll`, the variable regex
`(^|[^\\])(\\{\\{(?:\\{[^{}]*\\}|[^{}])*\\}\\})`, escaping with `\\{{`, a string that is exactly one
variable takes the variable's type, otherwise values are spliced in as JSON text) and
`pkg/engine/context` (what the context holds: `request.object`, `request.oldObject`,
`request.operation`, `request.namespace`, `request.userInfo`, `request.roles`,
`request.clusterRoles`, `serviceAccountName`, `serviceAccountNamespace`, `images`, `element`,
`elementIndex` and the rule's `context` entries).

Kyverno's JMESPath (its go-jmespath fork) reports a missing field as "Unknown key"; here a
query that yields null is treated the same way: an unresolved variable is an error in
patterns and messages, and an empty string in conditions. In a DELETE request,
`request.object` in a variable reads `request.oldObject`, as upstream rewrites it.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from kubeward.policy.kyverno.jmespath_ext import JMESPathError, search

__all__ = [
    "Context",
    "VariableError",
    "set_path",
    "substitute",
]

_VARIABLE = re.compile(r"(^|[^\\])(\{\{(?:\{[^{}]*\}|[^{}])*\}\})")


class VariableError(Exception):
    """A variable that could not be resolved (Kyverno: "variable substitution failed")."""


class Context:
    """The JSON document variables are queried against (one per resource and rule)."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def copy(self) -> Context:
        return Context(dict(self.data))

    def add(self, name: str, value: Any) -> None:
        """`AddContextEntry`: a dotted name builds nested objects."""
        self.data = copy.copy(self.data)
        set_path(self.data, name, value, copy_parents=True)

    def query(self, expression: str) -> Any:
        return search(expression, self.data)


def set_path(target: dict[str, Any], dotted: str, value: Any, *, copy_parents: bool = False) -> None:
    parts = dotted.split(".")
    node = target
    for part in parts[:-1]:
        child = node.get(part)
        child = dict(child) if isinstance(child, dict) and copy_parents else child
        if not isinstance(child, dict):
            child = {}
        node[part] = child
        node = child
    node[parts[-1]] = value


def _resolve(ctx: Context, variable: str, lenient: bool) -> Any:
    try:
        value = ctx.query(variable)
    except JMESPathError as err:
        # Not lenient even for preconditions: upstream's resolver forgives a missing key
        # (go-jmespath's "Unknown key"), not a failing function or a syntax error, which
        # make the rule an error (e.g. divide by zero, a refused parse_yaml).
        raise VariableError(f"failed to resolve {variable}: {err}") from None
    if value is None:
        if lenient:
            return ""
        raise VariableError(f"variable {variable} could not be resolved: Unknown key in path")
    return value


def _is_delete(ctx: Context) -> bool:
    request = ctx.data.get("request")
    return isinstance(request, dict) and request.get("operation") == "DELETE"


def _substitute_string(text: str, ctx: Context, lenient: bool) -> Any:
    if "{{" not in text:
        return text
    value: Any = text
    for _ in range(32):  # nested variables resolve in rounds, as upstream's loop does
        if not isinstance(value, str):
            return value
        found = _VARIABLE.findall(value)
        if not found:
            break
        for _prefix, raw in found:
            variable = raw[2:-2].strip()
            if _is_delete(ctx):  # upstream: a DELETE request's object is request.oldObject
                variable = variable.replace("request.object", "request.oldObject")
            if variable.startswith("@"):
                raise VariableError(f"variable {raw}: path references ({{{{@}}}}) are not supported")
            resolved = _resolve(ctx, variable, lenient)
            if value == raw:
                value = resolved
                break
            text_value = (
                resolved if isinstance(resolved, str) else json.dumps(resolved, separators=(",", ":"))
            )
            value = value.replace(raw, text_value, 1)
    if isinstance(value, str):
        value = value.replace("\\{{", "{{")
    return value


def substitute(document: Any, ctx: Context, *, lenient: bool = False) -> Any:
    """`SubstituteAll` over any JSON document (keys are substituted too).

    `lenient=True` is the preconditions resolver: unresolved variables become "".
    """
    if isinstance(document, str):
        return _substitute_string(document, ctx, lenient)
    if isinstance(document, dict):
        out = {}
        for key, value in document.items():
            new_key = _substitute_string(key, ctx, lenient) if isinstance(key, str) else key
            out[new_key if isinstance(new_key, str) else json.dumps(new_key)] = substitute(
                value, ctx, lenient=lenient
            )
        return out
    if isinstance(document, list):
        return [substitute(v, ctx, lenient=lenient) for v in document]
    return document


def has_variables(document: Any) -> bool:
    if isinstance(document, str):
        return "{{" in document
    if isinstance(document, dict):
        return any(has_variables(k) or has_variables(v) for k, v in document.items())
    if isinstance(document, list):
        return any(has_variables(v) for v in document)
    return False

"""`validate.cel` subrules: CEL expressions on kubeward's CEL engine (`kubeward.cel`).

Kyverno (`pkg/engine/handlers/validation/validate_cel.go`, which runs the API server's
ValidatingAdmissionPolicy validator) evaluates `validate.cel.expressions` with `object`,
`oldObject`, `request`, `namespaceObject` and `variables` (the rule's `cel.variables`, in
order); every expression must be true. A false one fails the rule with its
`messageExpression` (when it gives a non-empty string), else its `message`, else
`failed expression: <expression>`; an expression that errors or is not a bool is an
error. `paramKind` / `paramRef` need objects from a cluster and are reported as an error.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

__all__ = ["CelRuleError", "evaluate_cel"]

_NAMES = ("object", "oldObject", "request", "namespaceObject", "variables", "params", "authorizer")


class CelRuleError(Exception):
    """The cel subrule cannot be evaluated (status `error`)."""


@functools.lru_cache(maxsize=1)
def _environment() -> Any:
    from kubeward.cel import Environment

    return Environment(_NAMES, kubernetes=True)


def _program(expression: str) -> Any:
    from kubeward.cel import CelError

    try:
        return _environment().compile(expression)
    except CelError as err:
        raise CelRuleError(f"compilation failed for {expression!r}: {err}") from None


def evaluate_cel(
    spec: Any, obj: Any, old_object: Any, request: Mapping[str, Any], namespace_object: Any
) -> list[str]:
    """The failure messages of a `validate.cel` block ([] when every expression holds)."""
    from kubeward.cel import CelError

    if not isinstance(spec, dict):
        raise CelRuleError("validate.cel must be an object")
    if spec.get("paramKind") or spec.get("paramRef"):
        raise CelRuleError("cel params (paramKind / paramRef) need a cluster and cannot be evaluated offline")
    expressions = spec.get("expressions")
    if not isinstance(expressions, list) or not expressions:
        raise CelRuleError("validate.cel.expressions must be a non-empty list")
    data: dict[str, Any] = {
        "object": obj,
        "oldObject": old_object,
        "request": dict(request),
        "namespaceObject": namespace_object,
        "variables": {},
        "params": None,
        "authorizer": None,
    }
    for var in spec.get("variables") or []:
        if (
            not isinstance(var, dict)
            or not isinstance(var.get("name"), str)
            or not isinstance(var.get("expression"), str)
        ):
            raise CelRuleError("each cel variable needs a name and an expression")
        try:
            data["variables"] = {**data["variables"], var["name"]: _program(var["expression"]).evaluate(data)}
        except CelError as err:
            raise CelRuleError(f"variable {var['name']!r}: {err}") from None
    failures: list[str] = []
    for item in expressions:
        if not isinstance(item, dict) or not isinstance(item.get("expression"), str):
            raise CelRuleError("each cel expression needs an expression")
        expression = item["expression"]
        try:
            result = _program(expression).evaluate(data)
        except CelError as err:
            raise CelRuleError(f"expression {expression!r}: {err}") from None
        if result is True:
            continue
        if result is not False:
            raise CelRuleError(f"expression {expression!r} must return a bool, got {type(result).__name__}")
        failures.append(_message(item, data))
    return failures


def _message(item: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    from kubeward.cel import CelError

    expr = item.get("messageExpression")
    if isinstance(expr, str) and expr:
        try:
            text = _program(expr).evaluate(data)
        except (CelError, CelRuleError):
            text = None
        if isinstance(text, str) and text.strip() and "\n" not in text:
            return text
    message = item.get("message")
    if isinstance(message, str) and message:
        return message
    return f"failed expression: {item.get('expression')}"

"""Reading and compiling ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding objects.

Every expression is compiled when the policy is loaded, in an environment declared as the
API server declares it for validating policies (k8s.io/apiserver/pkg/admission/plugin/cel/
compile.go `CompileCELExpression` with `OptionalVariableDeclarations{HasParams: paramKind
!= nil, HasAuthorizer: true}` and the `variables` composition of composition.go): `object`,
`oldObject`, `request`, `namespaceObject`, `authorizer`, `variables`, and `params` only when
the policy has a `paramKind`. Types are `dyn` (offline there is no OpenAPI schema), so an
expression the API server would reject for a schema type error fails here at evaluation.

A compile error is one line naming the policy's file:line and the field
(`spec.validations[1].expression`); the policy is then left out of evaluation, as the API
server would refuse to store it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeward.cel import CelError, Environment, Program, k8slib
from kubeward.policy.vap_match import MatchResources, parse_match_resources

__all__ = ["Binding", "Expr", "Policy", "Validation", "parse_binding", "parse_policy"]

GROUP = "admissionregistration.k8s.io"
VERSIONS = ("v1", "v1beta1", "v1alpha1")
_BASE_VARIABLES = ("object", "oldObject", "request", "namespaceObject", "authorizer",
                   "variables")
_VAR_REF = re.compile(r"\bvariables\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)")
_VAR_ANY = re.compile(r"\bvariables\b")
_AUTHZ = re.compile(r"\bauthorizer\b")
_ENVS: dict[bool, Environment] = {}


def environment(with_params: bool) -> Environment:
    """The shared (compile-cached) environment with or without `params`."""
    env = _ENVS.get(with_params)
    if env is None:
        names = (*_BASE_VARIABLES, "params") if with_params else _BASE_VARIABLES
        env = _ENVS[with_params] = Environment(names, kubernetes=True,
                                               functions=k8slib.authz_decls())
    return env


@dataclass(slots=True)
class Expr:
    """A compiled expression with what its evaluation needs beyond the request."""

    text: str
    field: str  # spec.validations[0].expression
    program: Program
    variables: tuple[str, ...] | None  # referenced variables; None: all of them
    authorizer: bool  # uses `authorizer`, which is not available offline
    inputs: tuple[str, ...] = ()  # the top-level names it may read (only those are converted)


@dataclass(slots=True)
class Validation:
    expr: Expr
    message: str
    message_expr: Expr | None
    reason: str | None


@dataclass(slots=True)
class Policy:
    name: str
    location: str
    failure_policy: str  # Fail | Ignore
    match: MatchResources
    param_kind: tuple[str, str] | None  # (apiVersion, kind)
    match_conditions: list[tuple[str, Expr]] = field(default_factory=list)
    variables: list[tuple[str, Expr]] = field(default_factory=list)
    validations: list[Validation] = field(default_factory=list)
    audit_annotations: list[tuple[str, Expr]] = field(default_factory=list)

    reads_namespace_object: bool = False  # set by parse_policy

    def _reads_namespace_object(self) -> bool:
        exprs = [e for _, e in (*self.match_conditions, *self.variables,
                                *self.audit_annotations)]
        for v in self.validations:
            exprs.append(v.expr)
            if v.message_expr is not None:
                exprs.append(v.message_expr)
        return any("namespaceObject" in e.inputs for e in exprs)


@dataclass(slots=True)
class Binding:
    name: str
    location: str
    policy_name: str
    actions: tuple[str, ...]
    match: MatchResources | None
    param_ref: Mapping[str, Any] | None
    implicit: bool = False


class _Errors:
    """Collects one-line errors prefixed with the object's location and field line."""

    def __init__(self, kind: str, name: str, where: Any) -> None:
        self.kind, self.name, self.where = kind, name, where
        self.items: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.items.append(f"{self.where(path)}: {self.kind} '{self.name}': {path}: {message}")


def _parse_path(path: str) -> tuple[str | int, ...]:
    out: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        out.append(int(part[1:-1]) if part.startswith("[") else part)
    return tuple(out)


def _compile(env: Environment, text: Any, path: str, errors: _Errors,
             expect: tuple[str, ...]) -> Expr | None:
    if not isinstance(text, str) or not text.strip():
        errors.add(path, "Required value: an expression is required")
        return None
    try:
        program = env.compile(text)
    except CelError as exc:
        errors.add(path, f"compilation failed: {exc}")
        return None
    rtype = program.return_type()
    if expect and rtype not in ("dyn", *expect):
        errors.add(path, f"must evaluate to {' or '.join(expect)}, not {rtype}")
        return None
    names = _VAR_REF.findall(text)
    all_vars = len(_VAR_ANY.findall(text)) > len(names)
    inputs = tuple(n for n in ("object", "oldObject", "request", "params", "namespaceObject",
                               "variables") if re.search(rf"\b{n}\b", text))
    return Expr(text, path, program, None if all_vars else tuple(dict.fromkeys(names)),
                bool(_AUTHZ.search(text)), inputs)


def _name(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    return name if isinstance(name, str) else ""


def parse_policy(obj: Mapping[str, Any], where: Any) -> tuple[Policy | None, list[str]]:
    """A Policy, or None with the errors that keep it out of evaluation."""
    name = _name(obj)
    errors = _Errors("ValidatingAdmissionPolicy", name, where)
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        errors.add("spec", "Required value")
        return None, errors.items
    if not name:
        errors.add("metadata.name", "Required value")
    failure = spec.get("failurePolicy") or "Fail"
    if failure not in ("Fail", "Ignore"):
        errors.add("spec.failurePolicy", f"Unsupported value: {failure!r}")
    param_kind = None
    raw_pk = spec.get("paramKind")
    if raw_pk is not None:
        if isinstance(raw_pk, Mapping) and isinstance(raw_pk.get("kind"), str):
            param_kind = (str(raw_pk.get("apiVersion") or ""), str(raw_pk["kind"]))
        else:
            errors.add("spec.paramKind", "must have apiVersion and kind")
    match_errors: list[str] = []
    raw_mc = spec.get("matchConstraints")
    if not isinstance(raw_mc, Mapping) or not raw_mc.get("resourceRules"):
        errors.add("spec.matchConstraints.resourceRules", "Required value")
    match = parse_match_resources(raw_mc, "spec.matchConstraints", match_errors)
    for message in match_errors:
        path, _, rest = message.partition(": ")
        errors.add(path, rest)
    env = environment(param_kind is not None)
    policy = Policy(name, where(""), str(failure), match, param_kind)
    _named(spec, "matchConditions", "expression", env, errors, ("bool",), policy.match_conditions)
    _named(spec, "variables", "expression", env, errors, (), policy.variables)
    _validations(spec, env, errors, policy)
    raw_aa = spec.get("auditAnnotations")
    for i, item in enumerate(raw_aa if isinstance(raw_aa, list) else []):
        path = f"spec.auditAnnotations[{i}]"
        if not isinstance(item, Mapping) or not isinstance(item.get("key"), str):
            errors.add(path, "must have a key and a valueExpression")
            continue
        expr = _compile(env, item.get("valueExpression"), f"{path}.valueExpression", errors,
                        ("string", "null"))
        if expr:
            policy.audit_annotations.append((item["key"], expr))
    if not spec.get("validations") and not raw_aa:
        errors.add("spec.validations", "Required value: validations or auditAnnotations must "
                   "contain at least one item")
    _check_variable_refs(policy, errors)
    policy.reads_namespace_object = policy._reads_namespace_object()
    return (None if errors.items else policy), errors.items


def _check_variable_refs(policy: Policy, errors: _Errors) -> None:
    """composition.go compiles variables in order, each seeing only the earlier ones, and
    every other expression seeing all of them: anything else is `undefined field`."""
    names = [name for name, _ in policy.variables]
    checks = [(e, names[:i]) for i, (_, e) in enumerate(policy.variables)]
    checks += [(e, names) for _, e in (*policy.match_conditions, *policy.audit_annotations)]
    for v in policy.validations:
        checks.append((v.expr, names))
        if v.message_expr is not None:
            checks.append((v.message_expr, names))
    for expr, visible in checks:
        for ref in expr.variables or ():
            if ref not in visible:
                errors.add(expr.field, f"compilation failed: undefined field '{ref}'")


def _named(spec: Mapping[str, Any], key: str, expr_key: str, env: Environment,
           errors: _Errors, expect: tuple[str, ...], into: list[tuple[str, Expr]]) -> None:
    raw = spec.get(key)
    if raw is None:
        return
    if not isinstance(raw, list):
        errors.add(f"spec.{key}", "must be a list")
        return
    seen: set[str] = set()
    for i, item in enumerate(raw):
        path = f"spec.{key}[{i}]"
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            errors.add(f"{path}.name", "Required value")
            continue
        if name in seen:
            errors.add(f"{path}.name", f"Duplicate value: {name!r}")
        seen.add(name)
        expr = _compile(env, item.get(expr_key), f"{path}.{expr_key}", errors, expect)
        if expr:
            into.append((name, expr))


def _validations(spec: Mapping[str, Any], env: Environment, errors: _Errors,
                 policy: Policy) -> None:
    raw = spec.get("validations")
    if raw is None:
        return
    if not isinstance(raw, list):
        errors.add("spec.validations", "must be a list")
        return
    for i, item in enumerate(raw):
        path = f"spec.validations[{i}]"
        if not isinstance(item, Mapping):
            errors.add(path, "must be a mapping")
            continue
        expr = _compile(env, item.get("expression"), f"{path}.expression", errors, ("bool",))
        message_expr = None
        if item.get("messageExpression") is not None:
            message_expr = _compile(env, item.get("messageExpression"),
                                    f"{path}.messageExpression", errors, ("string",))
        message = item.get("message")
        if message is not None and not isinstance(message, str):
            errors.add(f"{path}.message", "must be a string")
        elif isinstance(message, str) and ("\n" in message.strip()):
            errors.add(f"{path}.message", "Invalid value: message must not contain line breaks")
        reason = item.get("reason")
        if expr:
            policy.validations.append(Validation(
                expr, message if isinstance(message, str) else "", message_expr,
                reason if isinstance(reason, str) and reason else None))


def parse_binding(obj: Mapping[str, Any], where: Any, version: str
                  ) -> tuple[Binding | None, list[str]]:
    """A Binding, or None with its errors (v1alpha1 bindings default to Deny)."""
    name = _name(obj)
    errors = _Errors("ValidatingAdmissionPolicyBinding", name, where)
    spec = obj.get("spec")
    if not isinstance(spec, Mapping):
        errors.add("spec", "Required value")
        return None, errors.items
    policy_name = spec.get("policyName")
    if not isinstance(policy_name, str) or not policy_name:
        errors.add("spec.policyName", "Required value")
    raw_actions = spec.get("validationActions")
    if raw_actions is None and version == "v1alpha1":
        raw_actions = ["Deny"]
    actions: list[str] = []
    if not isinstance(raw_actions, list) or not raw_actions:
        errors.add("spec.validationActions", "Required value: at least one validation action "
                   "is required")
    else:
        for action in raw_actions:
            if action not in ("Deny", "Warn", "Audit"):
                errors.add("spec.validationActions", f"Unsupported value: {action!r}")
            elif action in actions:
                errors.add("spec.validationActions", f"Duplicate value: {action!r}")
            else:
                actions.append(action)
        if "Deny" in actions and "Warn" in actions:
            errors.add("spec.validationActions", "Deny and Warn may not be used together")
    match = None
    if spec.get("matchResources") is not None:
        match_errors: list[str] = []
        match = parse_match_resources(spec.get("matchResources"), "spec.matchResources",
                                      match_errors)
        for message in match_errors:
            path, _, rest = message.partition(": ")
            errors.add(path, rest)
    param_ref = spec.get("paramRef")
    if param_ref is not None:
        if not isinstance(param_ref, Mapping):
            errors.add("spec.paramRef", "must be a mapping")
            param_ref = None
        elif param_ref.get("name") and param_ref.get("selector") is not None:
            errors.add("spec.paramRef", "name and selector are mutually exclusive")
        else:
            action = param_ref.get("parameterNotFoundAction")
            if action is not None and action not in ("Allow", "Deny"):
                errors.add("spec.paramRef.parameterNotFoundAction",
                           f"Unsupported value: {action!r}")
    if errors.items:
        return None, errors.items
    return Binding(name, where(""), str(policy_name), tuple(actions), match, param_ref), []


def path_of(path: str) -> tuple[str | int, ...]:
    """`spec.validations[0].expression` as a path for Origin.line_of."""
    return _parse_path(path)

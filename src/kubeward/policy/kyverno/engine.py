"""Apply Kyverno policies to one resource: one `RuleResult` per (policy, rule) that matched.

Follows kyverno `pkg/engine/validation.go` and `handlers/validation/validate_resource.go`
(`validator.validate`: load the rule's context, check preconditions - skip when they do not
hold -, then exactly one of `deny`, `pattern` / `anyPattern`, `foreach`, `podSecurity`),
`validate_resource.go` `validateForEach` / `validateElements`, `validate_cel.go` (module
`cel`) (each list element in its own
context with `element` / `elementIndex`; a failing element fails the rule, skipped elements
do not count, and a rule where nothing applied skips), and `pkg/engine/mutation.go` for
`mutate` (rules applied in order, each on the result of the previous one).

Statuses: pass, fail, skip, error (the rule could not be evaluated, e.g. an unresolved
variable or an apiCall context offline), warn (a failure of an Audit policy when the
caller asked for `audit_warn`, like `kyverno apply --audit-warn`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kubeward.policy.kyverno.conditions import ConditionError, evaluate_operator
from kubeward.policy.kyverno.jmespath_ext import JMESPathError, search
from kubeward.policy.kyverno.load import KyvernoPolicy
from kubeward.policy.kyverno.match import Request, matches_rule
from kubeward.policy.kyverno.pattern import match_pattern
from kubeward.policy.kyverno.values import as_dict
from kubeward.policy.kyverno.variables import Context, VariableError, set_path, substitute

__all__ = ["RuleResult", "base_context", "evaluate", "mutate"]

PASS, FAIL, SKIP, ERROR, WARN = "pass", "fail", "skip", "error", "warn"


@dataclass(slots=True, frozen=True)
class RuleResult:
    """The outcome of one rule of one policy on one resource."""

    policy: str
    rule: str
    status: str  # pass | fail | skip | error | warn
    message: str
    enforce: bool  # the rule's failure action is Enforce (a fail would be denied)
    rule_type: str = "validate"  # validate | mutate

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "rule": self.rule,
            "status": self.status,
            "message": self.message,
            "enforce": self.enforce,
            "type": self.rule_type,
        }


class _RuleError(Exception):
    """The rule cannot be evaluated (becomes status `error`)."""


# --- context -------------------------------------------------------------------------------


def _images(resource: Mapping[str, Any]) -> dict[str, Any]:
    """`images` variable (kyverno pkg/utils/image/infos.go `GetImageInfo`, default registry
    docker.io with registry mutation on), per container kind and container name."""
    from kubeward.k8s.images import parse_image
    from kubeward.k8s.pods import pod_template

    kind = resource.get("kind")
    pod = pod_template(kind, resource) if isinstance(kind, str) else None
    if pod is None:
        return {}
    out: dict[str, Any] = {}
    for fld in ("containers", "initContainers", "ephemeralContainers"):
        items = pod.spec.get(fld)
        if not isinstance(items, list):
            continue
        group: dict[str, Any] = {}
        for c in items:
            if (
                not isinstance(c, dict)
                or not isinstance(c.get("image"), str)
                or not isinstance(c.get("name"), str)
            ):
                continue
            ref = parse_image(c["image"])
            tag = ref.tag or ("" if ref.digest else "latest")
            # referenceWithTag keeps the path as written (no implied "library/")
            short = ref.repository
            if short.startswith("library/") and "library/" not in c["image"]:
                short = short[len("library/") :]
            info = {
                "registry": ref.registry,
                "path": ref.repository,
                "name": ref.repository.rsplit("/", 1)[-1],
                "tag": tag,
                "digest": ref.digest or "",
                "reference": f"{ref.registry}/{ref.repository}"
                + (f"@{ref.digest}" if ref.digest else f":{tag}"),
                "referenceWithTag": f"{ref.registry}/{short}:{tag}",
            }
            group[c["name"]] = info
        if group:
            out[fld] = group
    return out


def base_context(
    resource: Mapping[str, Any],
    *,
    operation: str = "CREATE",
    user_info: Mapping[str, Any] | None = None,
    old_object: Mapping[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> Context:
    """The JSON context of an admission request for `resource` (kyverno pkg/engine/context)."""
    meta = as_dict(resource.get("metadata"))
    ns = meta.get("namespace") if isinstance(meta.get("namespace"), str) else ""
    if resource.get("kind") == "Namespace":
        ns = meta.get("name") or ""
    user = dict(user_info or {})
    api_version = str(resource.get("apiVersion") or "")
    group, _, version = api_version.rpartition("/")
    obj: Any = dict(resource)
    old: Any = dict(old_object) if old_object is not None else None
    if operation == "DELETE":
        obj, old = None, dict(resource)
    request = {
        "object": obj,
        "oldObject": old,
        "operation": operation,
        "namespace": ns,
        "name": meta.get("name"),
        "kind": {"group": group, "version": version, "kind": resource.get("kind")},
        "userInfo": {k: v for k, v in user.items() if k in ("username", "uid", "groups", "extra")},
        "roles": list(user.get("roles") or []),
        "clusterRoles": list(user.get("clusterRoles") or []),
    }
    data: dict[str, Any] = {"request": request, "images": _images(resource)}
    username = user.get("username")
    if isinstance(username, str) and username.startswith("system:serviceaccount:"):
        parts = username.split(":")
        if len(parts) == 4:
            data["serviceAccountNamespace"], data["serviceAccountName"] = parts[2], parts[3]
    for key, value in (variables or {}).items():
        if key == "request.operation":
            continue
        set_path(data, key, value, copy_parents=True)
    return Context(data)


def _load_context(entries: Any, ctx: Context, supplied: Mapping[str, Any]) -> Context:
    """Rule / foreach `context` entries; only `variable` entries can run offline."""
    if not isinstance(entries, list) or not entries:
        return ctx
    ctx = ctx.copy()
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise _RuleError("invalid context entry")
        name = entry["name"]
        if name in supplied:
            ctx.add(name, supplied[name])
            continue
        var = entry.get("variable")
        if isinstance(var, dict):
            ctx.add(name, _load_variable(name, var, ctx))
            continue
        kinds = [k for k in ("apiCall", "configMap", "imageRegistry", "globalReference") if entry.get(k)]
        what = kinds[0] if kinds else "unknown"
        raise _RuleError(
            f"context entry {name!r} of type {what} needs a cluster or registry and "
            "cannot be loaded offline (give its value in a variables file)"
        )
    return ctx


def _load_variable(name: str, var: Mapping[str, Any], ctx: Context) -> Any:
    """`loadVariable`: `value` (substituted), then `jmesPath` over it or the context; `default`
    when the result is null or the query fails."""
    default: Any = None
    try:
        if var.get("default") is not None:
            default = substitute(var.get("default"), ctx)
        output: Any = default
        if var.get("value") is not None:
            output = substitute(var["value"], ctx)
        path = var.get("jmesPath")
        if isinstance(path, str) and path:
            query = str(substitute(path, ctx))
            output = search(query, output) if var.get("value") is not None else ctx.query(query)
    except (VariableError, JMESPathError) as err:
        if default is not None:
            return default
        raise _RuleError(f"failed to load context variable {name!r}: {err}") from None
    if output is None:
        output = default
    if output is None:
        raise _RuleError(f"unable to add context entry for variable {name} since it evaluated to nil")
    return output


# --- conditions ----------------------------------------------------------------------------


def _conditions(block: Any, ctx: Context) -> tuple[bool, str]:
    """`EvaluateConditions`: (result, messages of the conditions that held)."""
    if block is None:
        return True, ""
    if isinstance(block, list):
        block = {"all": block}
    if not isinstance(block, dict):
        raise _RuleError("conditions must be a list or an object with any/all")
    messages: list[str] = []
    any_ok, all_ok = True, True
    any_list, all_list = block.get("any"), block.get("all")
    if isinstance(any_list, list) and any_list:
        any_ok = False
        for cond in any_list:
            ok, msg = _condition(cond, ctx)
            if ok:
                any_ok = True
                if msg:
                    messages.append(msg)
                break
    if isinstance(all_list, list) and all_list:
        for cond in all_list:
            ok, _ = _condition(cond, ctx)
            if not ok:
                all_ok = False
                break
    return any_ok and all_ok, "; ".join(messages)


def _condition(cond: Any, ctx: Context) -> tuple[bool, str]:
    if not isinstance(cond, dict):
        raise _RuleError("a condition must be an object with key, operator and value")
    try:
        key = substitute(cond.get("key"), ctx, lenient=True)
        value = substitute(cond.get("value"), ctx, lenient=True)
        ok = evaluate_operator(str(cond.get("operator", "")), key, value)
    except (ConditionError, VariableError) as err:
        raise _RuleError(str(err)) from None
    msg = cond.get("message")
    return ok, msg if isinstance(msg, str) else ""


# --- validation ----------------------------------------------------------------------------


def _message(template: Any, ctx: Context) -> str:
    if not isinstance(template, str) or not template:
        return ""
    try:
        msg = substitute(template, ctx)
    except VariableError:
        return template
    return msg if isinstance(msg, str) else str(msg)


def _error_message(rule: str, custom: str, path: str, detail: str) -> str:
    """`buildErrorMessage` (validate_resource.go)."""
    if not custom:
        if path:
            return f"validation error: rule {rule} failed at path {path}"
        return f"validation error: rule {rule} execution error: {detail}"
    if not custom.endswith("."):
        custom += "."
    if path:
        return f"validation error: {custom} rule {rule} failed at path {path}"
    return f"validation error: {custom} rule {rule} execution error: {detail}"


class _Validator:
    def __init__(self, rule_name: str, message: str, supplied: Mapping[str, Any]) -> None:
        self.rule = rule_name
        self.message_template = message
        self.supplied = supplied

    def run(
        self,
        spec: Mapping[str, Any],
        ctx: Context,
        resource: Any,
        element: Any,
        preconditions: Any,
        context_entries: Any,
        nesting: int,
    ) -> tuple[str, str]:
        ctx = _load_context(context_entries, ctx, self.supplied)
        ok, msg = _conditions(preconditions, ctx)
        if not ok:
            return SKIP, "preconditions not met" + (f": {msg}" if msg else "")
        custom = _message(self.message_template, ctx)
        if spec.get("deny") is not None:
            deny = spec["deny"]
            block = deny.get("conditions") if isinstance(deny, dict) else None
            denied, _msg = _conditions(block, ctx)
            if denied:
                return (
                    FAIL,
                    f"validation error: {custom}" if custom else f"validation error: rule {self.rule} failed",
                )
            return PASS, f"validation rule '{self.rule}' passed."
        target = element if element is not None else resource
        if spec.get("pattern") is not None:
            try:
                pattern = substitute(spec["pattern"], ctx)
            except VariableError as err:
                raise _RuleError(f"variable substitution failed: {err}") from None
            miss = match_pattern(target, pattern)
            if miss is None:
                return PASS, f"validation rule '{self.rule}' passed."
            if miss.skip:
                return SKIP, miss.message
            return FAIL, _error_message(self.rule, custom, miss.path, miss.message)
        if spec.get("anyPattern") is not None:
            return self._any_pattern(spec["anyPattern"], ctx, target, custom)
        if spec.get("foreach") is not None:
            return self._foreach(spec["foreach"], ctx, resource, nesting)
        raise _RuleError("invalid validation rule: podSecurity, cel, patterns, or deny expected")

    def _any_pattern(self, patterns: Any, ctx: Context, target: Any, custom: str) -> tuple[str, str]:
        if not isinstance(patterns, list):
            raise _RuleError("anyPattern must be a list")
        failed: list[str] = []
        skipped: list[str] = []
        for i, pattern in enumerate(patterns):
            try:
                pattern = substitute(pattern, ctx)
            except VariableError as err:
                raise _RuleError(f"variable substitution failed: {err}") from None
            miss = match_pattern(target, pattern)
            if miss is None:
                return PASS, f"validation rule '{self.rule}' anyPattern[{i}] passed."
            if miss.skip:
                skipped.append(f"rule {self.rule}[{i}] skipped: {miss.message}")
            elif miss.path:
                failed.append(f"rule {self.rule}[{i}] failed at path {miss.path}")
            else:
                failed.append(f"rule {self.rule}[{i}] failed: {miss.message}")
        if skipped and not failed:
            return SKIP, " ".join(skipped)
        text = " ".join(failed)
        return FAIL, f"validation error: {custom} {text}" if custom else f"validation error: {text}"

    def _foreach(self, entries: Any, ctx: Context, resource: Any, nesting: int) -> tuple[str, str]:
        if not isinstance(entries, list):
            raise _RuleError("foreach must be a list")
        applied = 0
        for fe in entries:
            if not isinstance(fe, dict):
                raise _RuleError("foreach entries must be objects")
            try:
                expr = fe.get("list")
                expr = substitute(expr, ctx) if isinstance(expr, str) and "{{" in expr else expr
                items = ctx.query(str(expr)) if isinstance(expr, str) and expr.strip() else None
            except (JMESPathError, VariableError):
                continue
            if items is None:
                continue
            if not isinstance(items, list):
                items = [items]
            status, message, count = self._elements(fe, items, ctx, resource, nesting)
            if status != PASS:
                return status, message
            applied += count
        if applied == 0:
            return SKIP, "rule skipped"
        return PASS, "rule passed"

    def _elements(
        self, fe: Mapping[str, Any], items: list[Any], ctx: Context, resource: Any, nesting: int
    ) -> tuple[str, str, int]:
        applied = 0
        scope = fe.get("elementScope")
        for index, item in enumerate(items):
            if item is None:
                continue
            ectx = ctx.copy()
            for key, value in (
                ("element", item),
                (f"element{nesting}", item),
                ("elementIndex", index),
                (f"elementIndex{nesting}", index),
            ):
                ectx.data[key] = value
            scoped = isinstance(item, dict)
            if isinstance(scope, bool):
                if scope and not isinstance(item, dict):
                    raise _RuleError(
                        "cannot use elementScope=true foreach rules for elements that are not maps"
                    )
                scoped = scope
            sub = _Validator(self.rule, self.message_template, self.supplied)
            try:
                status, message = sub.run(
                    fe,
                    ectx,
                    resource,
                    item if scoped else None,
                    fe.get("preconditions"),
                    fe.get("context"),
                    nesting + 1,
                )
            except _RuleError as err:
                if index < len(items) - 1:
                    continue
                return ERROR, f"validation failure: {err}", applied
            if status == SKIP:
                continue
            if status != PASS:
                return FAIL, f"validation failure: {message}", applied
            applied += 1
        return PASS, "", applied


def _pod_security(spec: Mapping[str, Any], resource: Mapping[str, Any], rule: str) -> tuple[str, str]:
    from kubeward.k8s.pods import pod_template
    from kubeward.policy.kyverno.podsecurity import evaluate_pod_security

    ps = spec.get("podSecurity")
    if not isinstance(ps, dict):
        raise _RuleError("podSecurity must be an object")
    level = str(ps.get("level") or "")
    version = str(ps.get("version") or "latest")
    kind = resource.get("kind")
    pod = pod_template(kind, resource) if isinstance(kind, str) else None
    if pod is None:
        return SKIP, "no pod template"
    try:
        failures = evaluate_pod_security(
            dict(pod.metadata), dict(pod.spec), level, version, list(ps.get("exclude") or [])
        )
    except ValueError as err:
        raise _RuleError(f"podSecurity: {err}") from None
    if not failures:
        return PASS, f"Validation rule '{rule}' passed."
    detail = "; ".join(f"{c} ({m})" for c, m in failures)
    return FAIL, f"Validation rule '{rule}' failed. It violates PodSecurity \"{level}:{version}\": {detail}"


def _cel(
    validate: Mapping[str, Any],
    resource: Mapping[str, Any],
    old_object: Any,
    operation: str,
    user_info: Mapping[str, Any] | None,
    namespace_labels: Mapping[str, str] | None,
    rule: str,
) -> tuple[str, str]:
    from kubeward.policy.kyverno.cel import CelRuleError, evaluate_cel

    meta = as_dict(resource.get("metadata"))
    ns = str(meta.get("namespace") or "")
    api_version = str(resource.get("apiVersion") or "")
    group, _, version = api_version.rpartition("/")
    request = {
        "operation": operation,
        "namespace": ns,
        "name": meta.get("name"),
        "kind": {"group": group, "version": version, "kind": resource.get("kind")},
        "userInfo": dict(user_info or {}),
    }
    ns_obj = (
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": dict(namespace_labels or {})},
        }
        if ns
        else None
    )
    obj: Any = None if operation == "DELETE" else dict(resource)
    old: Any = dict(resource) if operation == "DELETE" else old_object
    try:
        failures = evaluate_cel(validate.get("cel"), obj, old, request, ns_obj)
    except CelRuleError as err:
        raise _RuleError(str(err)) from None
    if not failures:
        return PASS, f"validation rule '{rule}' passed."
    return FAIL, "; ".join(failures)


def _enforce(
    policy: KyvernoPolicy,
    rule: Mapping[str, Any],
    resource: Mapping[str, Any],
    namespace_labels: Mapping[str, str],
) -> bool:
    validate = rule.get("validate")
    action = validate.get("failureAction") if isinstance(validate, dict) else None
    if not isinstance(action, str):
        action = policy.failure_action
        meta = as_dict(resource.get("metadata"))
        ns = str(meta.get("namespace") or "")
        from kubeward.policy.kyverno.values import wildcard_match

        for override in policy.spec.get("validationFailureActionOverrides") or []:
            if not isinstance(override, dict):
                continue
            names = override.get("namespaces") or []
            if any(isinstance(n, str) and wildcard_match(n, ns) for n in names):
                action = str(override.get("action") or action)
                break
    return action.lower() == "enforce"


def _request(
    operation: str, namespace_labels: Mapping[str, str] | None, user_info: Mapping[str, Any] | None
) -> Request:
    return Request(operation, dict(namespace_labels or {}), user_info)


def evaluate(
    policies: Iterable[KyvernoPolicy],
    resource: dict[str, Any],
    *,
    operation: str = "CREATE",
    namespace_labels: dict[str, str] | None = None,
    user_info: dict[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
    audit_warn: bool = False,
    old_object: dict[str, Any] | None = None,
) -> list[RuleResult]:
    """Run every matching `validate` rule of `policies` on `resource`.

    `variables` holds values for variables and context entries that cannot be computed
    offline (dotted names, as in a kyverno-test `values.yaml`)."""
    req = _request(operation, namespace_labels, user_info)
    base: Context | None = None  # built on the first rule that matches
    supplied = dict(variables or {})
    out: list[RuleResult] = []
    kind = resource.get("kind")
    for policy in policies:
        for rule in policy.candidate_rules(kind):
            validate = rule.get("validate")
            if not isinstance(validate, dict):
                continue
            if not matches_rule(rule, resource, req, policy.namespace):
                continue
            if base is None:
                base = base_context(
                    resource,
                    operation=operation,
                    user_info=user_info,
                    old_object=old_object,
                    variables=variables,
                )
            name = str(rule.get("name"))
            enforce = _enforce(policy, rule, resource, req.namespace_labels)
            try:
                if validate.get("podSecurity") is not None:
                    ctx = _load_context(rule.get("context"), base, supplied)
                    ok, _msg = _conditions(rule.get("preconditions"), ctx)
                    status, message = (
                        _pod_security(validate, resource, name) if ok else (SKIP, "preconditions not met")
                    )
                elif validate.get("cel") is not None:
                    ctx = _load_context(rule.get("context"), base, supplied)
                    ok, _msg = _conditions(rule.get("preconditions"), ctx)
                    status, message = (
                        _cel(validate, resource, old_object, operation, user_info, namespace_labels, name)
                        if ok
                        else (SKIP, "preconditions not met")
                    )
                else:
                    validator = _Validator(name, validate.get("message") or "", supplied)
                    status, message = validator.run(
                        validate, base, resource, None, rule.get("preconditions"), rule.get("context"), 0
                    )
            except _RuleError as err:
                status, message = ERROR, str(err)
            if status == FAIL and audit_warn and not enforce:
                status = WARN
            out.append(RuleResult(policy.name, name, status, message, enforce))
    return out


# --- mutation ------------------------------------------------------------------------------


def _parse_json_patch(text: Any) -> Any:
    if isinstance(text, list):
        return text
    if not isinstance(text, str):
        raise _RuleError("patchesJson6902 must be a string")
    import yaml

    from kubeward.inventory.yamlio import KubeLoader

    try:
        return yaml.load(text, Loader=KubeLoader)  # noqa: S506 - the project's safe loader
    except yaml.YAMLError as err:
        raise _RuleError(f"patchesJson6902 is not valid YAML/JSON: {err}") from None


def _mutate_rule(
    mutation: Mapping[str, Any],
    ctx: Context,
    resource: dict[str, Any],
    supplied: Mapping[str, Any],
    nesting: int = 0,
) -> dict[str, Any]:
    from kubeward.policy.kyverno.patch import PatchError, apply_json6902, strategic_merge

    try:
        if mutation.get("patchStrategicMerge") is not None:
            patch = substitute(mutation["patchStrategicMerge"], ctx)
            return strategic_merge(resource, patch)
        if mutation.get("patchesJson6902") is not None:
            ops = substitute(_parse_json_patch(mutation["patchesJson6902"]), ctx)
            return apply_json6902(resource, ops)
    except VariableError as err:
        raise _RuleError(f"variable substitution failed: {err}") from None
    except PatchError as err:
        raise _RuleError(f"failed to apply patch: {err}") from None
    if mutation.get("foreach") is not None:
        current = resource
        entries = mutation["foreach"]
        if not isinstance(entries, list):
            raise _RuleError("mutate.foreach must be a list")
        for fe in entries:
            if not isinstance(fe, dict):
                raise _RuleError("foreach entries must be objects")
            fctx = Context({**ctx.data, "request": {**ctx.data["request"], "object": current}})
            try:
                items = fctx.query(str(fe.get("list") or ""))
            except JMESPathError:
                continue
            if items is None:
                continue
            for index, item in enumerate(items if isinstance(items, list) else [items]):
                ectx = Context(
                    {
                        **fctx.data,
                        "element": item,
                        f"element{nesting}": item,
                        "elementIndex": index,
                        f"elementIndex{nesting}": index,
                    }
                )
                ectx = _load_context(fe.get("context"), ectx, supplied)
                ok, _ = _conditions(fe.get("preconditions"), ectx)
                if not ok:
                    continue
                from kubeward.policy.kyverno.patch import ConditionNotMet

                try:
                    current = _mutate_rule(fe, ectx, current, supplied, nesting + 1)
                except ConditionNotMet:
                    continue
        return current
    raise _RuleError("mutate rule needs patchStrategicMerge, patchesJson6902 or foreach")


def mutate(
    policies: Iterable[KyvernoPolicy],
    resource: dict[str, Any],
    *,
    operation: str = "CREATE",
    namespace_labels: dict[str, str] | None = None,
    user_info: dict[str, Any] | None = None,
    variables: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[RuleResult]]:
    """Run every matching `mutate` rule in order; returns the patched object (a copy when a
    rule changed it, `resource` itself otherwise) and the results."""
    from kubeward.policy.kyverno.patch import ConditionNotMet

    req = _request(operation, namespace_labels, user_info)
    supplied = dict(variables or {})
    current = resource  # copied by the first patch that applies
    out: list[RuleResult] = []
    for policy in policies:
        for rule in policy.candidate_rules(current.get("kind")):
            mutation = rule.get("mutate")
            if not isinstance(mutation, dict):
                continue
            if not matches_rule(rule, current, req, policy.namespace):
                continue
            name = str(rule.get("name"))
            ctx = base_context(current, operation=operation, user_info=user_info, variables=variables)
            try:
                ctx = _load_context(rule.get("context"), ctx, supplied)
                ok, _ = _conditions(rule.get("preconditions"), ctx)
                if not ok:
                    out.append(RuleResult(policy.name, name, SKIP, "preconditions not met", False, "mutate"))
                    continue
                patched = _mutate_rule(mutation, ctx, current, supplied)
            except ConditionNotMet as err:
                out.append(RuleResult(policy.name, name, SKIP, str(err), False, "mutate"))
                continue
            except _RuleError as err:
                out.append(RuleResult(policy.name, name, ERROR, str(err), False, "mutate"))
                continue
            if patched == current:
                out.append(RuleResult(policy.name, name, SKIP, "no patches applied", False, "mutate"))
                continue
            current = patched
            out.append(RuleResult(policy.name, name, PASS, "mutated resource", False, "mutate"))
    return current, out

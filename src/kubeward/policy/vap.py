"""ValidatingAdmissionPolicy evaluated offline, as a 1.30+ API server evaluates it.

`load` reads ValidatingAdmissionPolicy and ValidatingAdmissionPolicyBinding objects
(admissionregistration.k8s.io v1, v1beta1, v1alpha1) and compiles every expression once
(`policy.vap_compile`); `VapSet.evaluate` runs one admission request through them.

Semantics, from k8s.io/apiserver/pkg/admission/plugin/policy/validating (dispatcher.go
`Dispatch`, validator.go `Validate`) and .../policy/generic:

* a policy is in force only through a binding (`spec.policyName`); a policy without one
  does nothing (reported in `VapSet.warnings`) unless `implicit_binding=True`, which binds
  each such policy with `validationActions: [Deny]` and, for a `paramKind`, every param
  object of that kind;
* the request must match the policy's `matchConstraints` and the binding's `matchResources`
  (`policy.vap_match`); a match error follows `failurePolicy`;
* `paramKind` + `paramRef`: `name` (one object) or `selector` (each matching object, every
  one evaluated separately), in `paramRef.namespace`, else the request's namespace for a
  namespaced kind; none found: `parameterNotFoundAction` Deny (the v1 default) is a
  configuration error that follows `failurePolicy`, Allow skips the binding; a policy with
  `paramKind` and a binding without `paramRef` is a configuration error;
* `matchConditions`: one false skips the policy (even when another one errored); otherwise
  an error follows `failurePolicy`;
* `variables` are evaluated lazily (only those an expression refers to, in order, once per
  request and param); a failing variable fails the expressions that use it;
* each `validations[i]` that is not `true` fails with `messageExpression` (when it gives a
  non-empty one-line string), else `message`, else `failed expression: <expression>`;
  `reason` defaults to Invalid;
* a runtime error (including the offline-only `authorizer`) is denied with failurePolicy
  Fail (the default) and ignored with Ignore;
* `validationActions` say what a failure does: Deny rejects the request, Warn returns a
  warning, Audit records it; `auditAnnotations` are added as `<policy>/<key>`.

`VapSet.evaluate` returns one `VapDecision` per failed validation or error of each
(policy, binding, param) that applies, or a single allowing decision when all passed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubeward.cel import CelError
from kubeward.policy.vap_compile import (
    GROUP,
    VERSIONS,
    Binding,
    Expr,
    Policy,
    parse_binding,
    parse_policy,
    path_of,
)
from kubeward.policy.vap_match import (
    CLUSTER_SCOPED_KINDS,
    Attributes,
    guess_resource,
    object_labels,
)

__all__ = ["VapDecision", "VapSet", "load", "verdict"]

_NS_LABEL = "kubernetes.io/metadata.name"
_MAX_MESSAGE = 5 * 1024  # celconfig.MaxEvaluatedMessageExpressionSizeBytes


@dataclass(frozen=True, slots=True)
class VapDecision:
    """The outcome of one validation (or of the whole policy when everything passed).

    `allowed` is False when a validation failed or an error met failurePolicy Fail;
    `actions` say what the API server then does (`denied`: the request is rejected).
    `error` is set for an evaluation/configuration error (also when Ignore allowed it).
    """

    policy: str
    binding: str | None
    actions: tuple[str, ...]
    allowed: bool
    message: str | None = None
    reason: str | None = None
    error: str | None = None
    param: str | None = None  # namespace/name of the param object, when there is one
    validation: int | None = None  # index in spec.validations of the failure
    audit_annotations: Mapping[str, str] = field(default_factory=dict)

    @property
    def denied(self) -> bool:
        """The API server rejects the request for this decision."""
        return not self.allowed and "Deny" in self.actions

    @property
    def warning(self) -> str | None:
        """The Warning header the API server returns (validationActions Warn)."""
        if self.allowed or "Warn" not in self.actions:
            return None
        return (f"Validation failed for ValidatingAdmissionPolicy '{self.policy}' with "
                f"binding '{self.binding}': {self.message}")

    @property
    def status_message(self) -> str:
        """The API server's denial text (dispatcher.go)."""
        if self.binding:
            return (f"ValidatingAdmissionPolicy '{self.policy}' with binding "
                    f"'{self.binding}' denied request: {self.message}")
        return f"ValidatingAdmissionPolicy '{self.policy}' denied request: {self.message}"


def verdict(decisions: Iterable[VapDecision]) -> tuple[bool, str | None]:
    """(allowed, the API server's message for the first denial)."""
    for d in decisions:
        if d.denied:
            return False, d.status_message
    return True, None


@dataclass(slots=True)
class _Request:
    """Everything the expressions of one request see, built once per evaluate()."""

    attrs: Attributes
    base: dict[str, Any]
    namespace: str
    ns_obj: Mapping[str, Any] | None

    def namespace_object(self) -> dict[str, Any] | None:
        """`namespaceObject`, built on first use (most policies never read it)."""
        if "namespaceObject" not in self.base:
            self.base["namespaceObject"] = _namespace_object(self.ns_obj, self.namespace)
        value: dict[str, Any] | None = self.base["namespaceObject"]
        return value


class VapSet:
    """Loaded policies and bindings; `errors` holds one line per object that did not load."""

    def __init__(self) -> None:
        self.policies: list[Policy] = []
        self.bindings: list[Binding] = []
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self._by_policy: dict[str, list[Binding]] = {}

    def __len__(self) -> int:
        return len(self.policies)

    def evaluate(
        self,
        obj: Mapping[str, Any] | None,
        *,
        operation: str = "CREATE",
        old_object: Mapping[str, Any] | None = None,
        namespace_object: Mapping[str, Any] | None = None,
        user_info: Mapping[str, Any] | None = None,
        params_objects: Iterable[Mapping[str, Any]] = (),
        subresource: str = "",
        resource: str | None = None,
        dry_run: bool = False,
    ) -> list[VapDecision]:
        """Decisions of every policy that applies to this request (see the module doc)."""
        if not self.policies:
            return []
        obj = obj if isinstance(obj, Mapping) else None
        old_object = old_object if isinstance(old_object, Mapping) else None
        if obj is None and old_object is None:
            return []  # nothing to admit (not an object)
        req = _request(obj, operation, old_object,
                       namespace_object if isinstance(namespace_object, Mapping) else None,
                       user_info if isinstance(user_info, Mapping) else None, subresource,
                       resource, dry_run)
        params = [p for p in params_objects if isinstance(p, Mapping)]
        out: list[VapDecision] = []
        for policy in self.policies:
            bindings = self._by_policy.get(policy.name)
            if not bindings or not policy.match.matches(req.attrs):
                continue
            for binding in bindings:
                if binding.match is not None and not binding.match.matches(req.attrs):
                    continue
                out.extend(_evaluate_binding(policy, binding, req, params))
        return out

    def _index(self, implicit: bool) -> None:
        names = {p.name for p in self.policies}
        for b in self.bindings:
            if b.policy_name in names:
                self._by_policy.setdefault(b.policy_name, []).append(b)
            else:
                self.warnings.append(f"{b.location}: ValidatingAdmissionPolicyBinding "
                                     f"'{b.name}': policy '{b.policy_name}' is not loaded; "
                                     "the binding does nothing")
        for p in self.policies:
            if p.name in self._by_policy:
                continue
            if implicit:
                ref = {"selector": {}, "parameterNotFoundAction": "Deny"} if p.param_kind else None
                self._by_policy[p.name] = [Binding(f"{p.name} (implicit)", p.location, p.name,
                                                   ("Deny",), None, ref, implicit=True)]
            else:
                self.warnings.append(f"{p.location}: ValidatingAdmissionPolicy '{p.name}' has "
                                     "no binding: not in force (evaluate it with an implicit "
                                     "binding to test it alone)")


def load(objects: Iterable[Any], *, implicit_binding: bool = False) -> VapSet:
    """Loads the policies and bindings among `objects` (other kinds are ignored).

    Objects are plain dicts or `inventory.Resource`s (whose file and line name errors).
    """
    vs = VapSet()
    for item in objects:
        obj, where = _located(item)
        if not isinstance(obj, Mapping):
            continue
        api_version = obj.get("apiVersion")
        kind = obj.get("kind")
        if kind not in ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"):
            continue
        group, _, version = str(api_version).rpartition("/")
        if group != GROUP or version not in VERSIONS:
            vs.errors.append(f"{where('')}: {kind}: unsupported apiVersion {api_version!r} "
                             f"(expected {GROUP}/{'|'.join(VERSIONS)})")
            continue
        if kind == "ValidatingAdmissionPolicy":
            policy, errors = parse_policy(obj, where)
            vs.errors.extend(errors)
            if policy is not None:
                vs.policies.append(policy)
        else:
            binding, errors = parse_binding(obj, where, version)
            vs.errors.extend(errors)
            if binding is not None:
                vs.bindings.append(binding)
    vs._index(implicit_binding)
    return vs


def _located(item: Any) -> tuple[Any, Any]:
    """The object and a function giving `file:line` of one of its fields."""
    origin = getattr(item, "origin", None)
    obj = getattr(item, "obj", item)
    if origin is not None:
        shown = getattr(item, "display_path", origin.source.path)

        def where_resource(path: str) -> str:
            return f"{shown}:{origin.line_of(path_of(path))}"
        return obj, where_resource
    name = ""
    if isinstance(obj, Mapping) and isinstance(obj.get("metadata"), Mapping):
        name = str(obj["metadata"].get("name") or "")
    label = f"{obj.get('kind')}/{name}" if isinstance(obj, Mapping) else "<object>"

    def where_plain(path: str) -> str:
        return label
    return obj, where_plain


# --- the request ------------------------------------------------------------------------

def _request(obj: Mapping[str, Any] | None, operation: str,
             old: Mapping[str, Any] | None, ns_obj: Mapping[str, Any] | None,
             user_info: Mapping[str, Any] | None, subresource: str, resource: str | None,
             dry_run: bool) -> _Request:
    subject = obj if obj is not None else old or {}
    api_version = str(subject.get("apiVersion") or "")
    group, _, version = api_version.rpartition("/")
    kind = str(subject.get("kind") or "")
    meta = _meta(subject)
    name = str(meta.get("name") or "")
    namespace = ""
    if kind == "Namespace" and group == "":
        namespace = name  # admission attributes of a Namespace carry its own name
        ns_obj = ns_obj if ns_obj is not None else subject
    elif kind not in CLUSTER_SCOPED_KINDS:
        namespace = str(meta.get("namespace") or "") or (
            str(_meta(ns_obj).get("name") or "") if ns_obj else "") or "default"
    ns_labels: dict[str, str] | None = None
    if namespace:
        ns_labels = object_labels(ns_obj) if ns_obj is not None else {}
        ns_labels.setdefault(_NS_LABEL, str(_meta(ns_obj).get("name") or namespace))
    res = resource or guess_resource(kind)
    attrs = Attributes(group, version, kind, res, subresource, name, namespace, operation,
                       object_labels(obj) if obj is not None else {},
                       object_labels(old) if old is not None else None, ns_labels)
    gvk = {"group": group, "version": version, "kind": kind}
    gvr = {"group": group, "version": version, "resource": res}
    options_kind = {"CREATE": "CreateOptions", "UPDATE": "UpdateOptions",
                    "DELETE": "DeleteOptions"}.get(operation)
    request = {
        "kind": gvk, "resource": gvr, "subResource": subresource,
        "requestKind": gvk, "requestResource": gvr, "requestSubResource": subresource,
        "name": name, "namespace": namespace, "operation": operation,
        "userInfo": dict(user_info) if user_info else {"username": "", "groups": []},
        "dryRun": dry_run,
        "uid": "00000000-0000-0000-0000-000000000000",
    }
    if options_kind:
        request["options"] = {"kind": options_kind, "apiVersion": "meta.k8s.io/v1"}
    base: dict[str, Any] = {
        "object": obj if operation != "DELETE" else None,
        "oldObject": old if operation != "CREATE" else None,
        "request": request,
    }
    if operation == "DELETE" and obj is not None and old is None:
        base["oldObject"] = obj
    return _Request(attrs, base, namespace, ns_obj)


def _namespace_object(ns_obj: Mapping[str, Any] | None, namespace: str) -> dict[str, Any] | None:
    """cel.CreateNamespaceObject: a Namespace reduced to name, labels, annotations, spec,
    status (no managedFields); without one, a Namespace carrying only its name. The API
    server (1.21+) always sets the `kubernetes.io/metadata.name` label."""
    if not namespace:
        return None
    src: Mapping[str, Any] = ns_obj if ns_obj is not None else {"metadata": {"name": namespace}}
    meta = _meta(src)
    keep = ("name", "generateName", "namespace", "uid", "resourceVersion", "generation",
            "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
            "annotations", "finalizers")
    new_meta = {k: meta[k] for k in keep if k in meta}
    raw_labels = meta.get("labels")
    labels = dict(raw_labels) if isinstance(raw_labels, Mapping) else {}
    labels.setdefault(_NS_LABEL, str(meta.get("name") or namespace))
    new_meta["labels"] = labels
    out: dict[str, Any] = {"apiVersion": "v1", "kind": "Namespace", "metadata": new_meta}
    for key in ("spec", "status"):
        if key in src:
            out[key] = src[key]
    return out


# --- params ---------------------------------------------------------------------------

class _ConfigError(Exception):
    """A binding that cannot be evaluated (dispatcher.go addConfigError)."""


def _collect_params(policy: Policy, binding: Binding, req: _Request,
                    objects: list[Mapping[str, Any]]) -> list[Mapping[str, Any] | None]:
    """dispatcher.go collectParams: [None] without paramKind, else the param objects."""
    if policy.param_kind is None:
        return [None]
    api_version, kind = policy.param_kind
    ref = binding.param_ref
    if ref is None:
        raise _ConfigError(f"paramKind kind `{api_version}, Kind={kind}` is set but paramRef "
                           "is nil")
    candidates = [o for o in objects if o.get("kind") == kind
                  and (not api_version or o.get("apiVersion") == api_version)]
    namespaced = kind not in CLUSTER_SCOPED_KINDS and any(
        _meta(o).get("namespace") for o in candidates)
    ns = str(ref.get("namespace") or "")
    if namespaced:
        if not ns:
            ns = req.namespace
            if not ns:
                raise _ConfigError("cannot use namespaced paramRef in policy binding that "
                                   "matches cluster-scoped resources")
        candidates = [o for o in candidates if _meta(o).get("namespace") == ns]
    name = ref.get("name")
    if name:
        found: list[Mapping[str, Any] | None] = []
        found.extend(o for o in candidates if _meta(o).get("name") == name)
        found = found[:1]
    else:
        from kubeward.k8s.selectors import label_selector

        selector = label_selector(ref.get("selector") if ref.get("selector") is not None else {})
        found = []
        found.extend(o for o in candidates if selector.matches(object_labels(o)))
    action = ref.get("parameterNotFoundAction") or "Deny"
    if not found and action == "Deny":
        raise _ConfigError("no params found for policy binding with `Deny` "
                           "parameterNotFoundAction")
    return found


def _meta(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    return meta if isinstance(meta, Mapping) else {}


def _param_label(param: Mapping[str, Any] | None) -> str | None:
    if param is None:
        return None
    meta = _meta(param)
    ns, name = meta.get("namespace"), meta.get("name")
    return f"{ns}/{name}" if ns else str(name)


# --- evaluation -----------------------------------------------------------------------

def _evaluate_binding(policy: Policy, binding: Binding, req: _Request,
                      objects: list[Mapping[str, Any]]) -> list[VapDecision]:
    try:
        params = _collect_params(policy, binding, req, objects)
    except _ConfigError as exc:
        # dispatcher.go addConfigError: with Fail this denies whatever validationActions
        # say; with Ignore the binding is skipped.
        return [_error_decision(policy, binding, None, f"failed to configure binding: {exc}",
                                config=True)]
    out: list[VapDecision] = []
    for param in params:
        out.extend(_validate(policy, binding, req, param))
    return out


def _error_decision(policy: Policy, binding: Binding, param: Mapping[str, Any] | None,
                    message: str, *, config: bool = False) -> VapDecision:
    """validator.go policyDecisionActionForError: Fail denies, Ignore admits."""
    fail = policy.failure_policy == "Fail"
    actions = ("Deny",) if config else binding.actions
    return VapDecision(policy.name, None if binding.implicit else binding.name, actions,
                       allowed=not fail, message=message if fail else None,
                       reason=None, error=message, param=_param_label(param))


_NOT_FOUND = re.compile(r'^NOT_FOUND: Key not found in map : "(.*)"$')


def _upstream_error(message: str) -> str:
    """cel-cpp's wording turned into cel-go's where they differ."""
    m = _NOT_FOUND.match(message)
    if m:
        return f"no such key: {m.group(1)}"
    return message.replace("No matching overloads found", "no such overload")


class _Evaluator:
    """One (policy, param) evaluation: lazy variables over the request's data."""

    def __init__(self, policy: Policy, req: _Request, param: Mapping[str, Any] | None) -> None:
        self.policy = policy
        if policy.reads_namespace_object:
            req.namespace_object()
        self.data = dict(req.base)
        if policy.param_kind is not None:
            self.data["params"] = dict(param) if param is not None else None
        self.vars: dict[str, Any] = {}
        self.var_errors: dict[str, str] = {}
        self.by_name = dict(policy.variables)
        self.order = [name for name, _ in policy.variables]

    def _ensure(self, names: tuple[str, ...] | None, seen: tuple[str, ...] = ()) -> str | None:
        """Evaluates the variables needed (in declaration order); the first error."""
        wanted = self.order if names is None else names
        for name in wanted:
            if name in self.vars:
                continue
            if name in self.var_errors:
                return self.var_errors[name]
            expr = self.by_name.get(name)
            if expr is None or name in seen:
                continue  # an unknown variable: the expression itself errors
            err = self._ensure(expr.variables, (*seen, name))
            if err is None:
                try:
                    self.vars[name] = self._run(expr)
                    continue
                except CelError as exc:
                    err = _upstream_error(str(exc))
            self.var_errors[name] = f"composited variable \"{name}\" fails to evaluate: {err}"
            return self.var_errors[name]
        return None

    def _run(self, expr: Expr) -> Any:
        if expr.authorizer:
            raise CelError("authorizer is not available offline (kubeward cannot ask the API "
                           "server's authorizer)")
        # Only the inputs the expression names are converted to CEL values: converting
        # the whole request for every expression is most of the evaluation time.
        data = {name: self.data.get(name) for name in expr.inputs}
        if "variables" in data:
            data["variables"] = self.vars
        return expr.program.evaluate(data)

    def run(self, expr: Expr) -> tuple[Any, str | None]:
        """(value, error) of an expression, in cel/filter.go's error wording."""
        err = self._ensure(expr.variables)
        if err is None:
            try:
                return self._run(expr), None
            except CelError as exc:
                err = _upstream_error(str(exc))
        return None, f"expression '{expr.text}' resulted in error: {err}"


def _validate(policy: Policy, binding: Binding, req: _Request,
              param: Mapping[str, Any] | None) -> list[VapDecision]:
    """validator.go Validate for one param."""
    ev = _Evaluator(policy, req, param)
    bname = None if binding.implicit else binding.name
    plabel = _param_label(param)
    # matchConditions (matchconditions/matcher.go Match): false wins over errors.
    errors: list[str] = []
    for _, expr in policy.match_conditions:
        value, err = ev.run(expr)
        if err is not None:
            errors.append(err)
        elif value is False:
            return []
    if errors:  # utilerrors.NewAggregate: one message, or "[a, b]"
        text = errors[0] if len(errors) == 1 else "[" + ", ".join(errors) + "]"
        return [_error_decision(policy, binding, param, text)]
    out: list[VapDecision] = []
    for i, validation in enumerate(policy.validations):
        value, err = ev.run(validation.expr)
        if err is not None:
            out.append(_error_decision(policy, binding, param, err))
            continue
        if value is True:
            continue
        out.append(VapDecision(policy.name, bname, binding.actions, allowed=False,
                               message=_message(ev, validation), reason=validation.reason
                               or "Invalid", param=plabel, validation=i))
    annotations: dict[str, str] = {}
    for key, expr in policy.audit_annotations:
        value, err = ev.run(expr)
        if err is not None:
            out.append(_error_decision(policy, binding, param, err))
        elif isinstance(value, str) and value.strip():
            annotations[f"{policy.name}/{key}"] = value.strip()
    if not out:
        return [VapDecision(policy.name, bname, binding.actions, allowed=True, param=plabel,
                            audit_annotations=annotations)]
    if annotations:
        first = out[0]
        out[0] = VapDecision(first.policy, first.binding, first.actions, first.allowed,
                             first.message, first.reason, first.error, first.param,
                             first.validation, annotations)
    return out


def _message(ev: _Evaluator, validation: Any) -> str:
    """validator.go: messageExpression's string when usable, else message, else
    `failed expression: <expression>`."""
    if validation.message_expr is not None:
        value, err = ev.run(validation.message_expr)
        if err is None and isinstance(value, str):
            text = value.strip()
            if text and len(text) <= _MAX_MESSAGE and "\n" not in text and "\r" not in text:
                return text
    if validation.message:
        return str(validation.message)
    return f"failed expression: {validation.expr.text.strip()}"

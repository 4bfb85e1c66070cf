"""Roles and bindings that give one subject exactly what it did in an audit log."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from kubeward.rbacgen.events import SERVICEACCOUNT_PREFIX, effective_user, is_complete, was_allowed
from kubeward.rbacgen.requestinfo import RequestAttributes, event_attributes
from kubeward.rbacgen.rules import PolicyRule, rules_for

RBAC_GROUP = "rbac.authorization.k8s.io"
RBAC_API_VERSION = f"{RBAC_GROUP}/v1"
NAME_PREFIX = "kubeward:from-audit:"
LABELS = {"app.kubernetes.io/managed-by": "kubeward", "kubeward.io/generated-by": "from-audit"}
SUBJECT_ANNOTATION = "kubeward.io/subject"

Scope = Literal["auto", "namespace", "cluster"]

# What every authenticated user already has through system:discovery, system:basic-user and
# system:public-info-viewer (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go).
DISCOVERY_URLS = (
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
    "/healthz",
    "/livez",
    "/readyz",
    "/version",
    "/version/",
    "/openapi",
    "/openapi/*",
)


@dataclass(frozen=True)
class Subject:
    """The User or ServiceAccount whose requests are turned into roles."""

    kind: Literal["User", "ServiceAccount"]
    name: str
    namespace: str = ""

    @classmethod
    def user(cls, name: str) -> Subject:
        if name.startswith(SERVICEACCOUNT_PREFIX):
            return cls.service_account(name[len(SERVICEACCOUNT_PREFIX) :])
        return cls("User", name)

    @classmethod
    def service_account(cls, spec: str) -> Subject:
        namespace, sep, name = spec.partition(":")
        if not sep or not namespace or not name or ":" in name:
            raise ValueError(f"expected NAMESPACE:NAME, got {spec!r}")
        return cls("ServiceAccount", name, namespace)

    @property
    def username(self) -> str:
        if self.kind == "ServiceAccount":
            return f"{SERVICEACCOUNT_PREFIX}{self.namespace}:{self.name}"
        return self.name

    def groups(self, observed: Iterable[str] = ()) -> frozenset[str]:
        """The groups the subject is in: the implicit ones plus those seen in its events."""
        implicit = {"system:authenticated"}
        if self.kind == "ServiceAccount":
            implicit |= {"system:serviceaccounts", f"system:serviceaccounts:{self.namespace}"}
        return frozenset(implicit | set(observed))

    def to_rbac(self) -> dict[str, str]:
        if self.kind == "ServiceAccount":
            return {"kind": "ServiceAccount", "name": self.name, "namespace": self.namespace}
        return {"apiGroup": RBAC_GROUP, "kind": "User", "name": self.name}

    def object_name(self) -> str:
        """`kubeward:from-audit:<username>`, made a valid RBAC object name (no `/` or `%`)."""
        return NAME_PREFIX + re.sub(r"[/%]", "-", self.username)


@dataclass
class Observed:
    """The subject's allowed, completed requests in the logs."""

    requests: list[RequestAttributes] = field(default_factory=list)
    groups: set[str] = field(default_factory=set)
    skipped_denied: int = 0
    skipped_stage: int = 0
    unparsable: int = 0


def observe(events: Iterable[dict[str, Any]], subject: Subject) -> Observed:
    """Select the subject's ResponseComplete, authorized events and turn them into attributes."""
    observed = Observed()
    seen: set[RequestAttributes] = set()
    for event in events:
        username, groups = effective_user(event)
        if username != subject.username:
            continue
        if not is_complete(event):
            observed.skipped_stage += 1
            continue
        if not was_allowed(event):
            observed.skipped_denied += 1
            continue
        attrs = event_attributes(event)
        if attrs is None:
            observed.unparsable += 1
            continue
        observed.groups.update(groups)
        if attrs not in seen:
            seen.add(attrs)
            observed.requests.append(attrs)
    observed.requests.sort()
    return observed


@dataclass
class Generated:
    """The generated objects and the rules per scope ("" = the ClusterRole)."""

    subject: Subject
    rules: dict[str, list[PolicyRule]]
    uncovered: list[RequestAttributes]

    def objects(self) -> list[dict[str, Any]]:
        """ClusterRole, ClusterRoleBinding, then Role and RoleBinding per namespace (sorted)."""
        name = self.subject.object_name()
        out: list[dict[str, Any]] = []
        for scope in sorted(self.rules):
            role_kind = "Role" if scope else "ClusterRole"
            meta: dict[str, Any] = {"name": name}
            if scope:
                meta["namespace"] = scope
            meta["labels"] = dict(LABELS)
            meta["annotations"] = {SUBJECT_ANNOTATION: f"{self.subject.kind}:{self.subject.username}"}
            out.append(
                {
                    "apiVersion": RBAC_API_VERSION,
                    "kind": role_kind,
                    "metadata": meta,
                    "rules": [rule.to_dict() for rule in self.rules[scope]],
                }
            )
            out.append(
                {
                    "apiVersion": RBAC_API_VERSION,
                    "kind": f"{role_kind}Binding",
                    "metadata": {**meta, "labels": dict(LABELS), "annotations": dict(meta["annotations"])},
                    "roleRef": {"apiGroup": RBAC_GROUP, "kind": role_kind, "name": name},
                    "subjects": [self.subject.to_rbac()],
                }
            )
        return out


def is_discovery(req: RequestAttributes) -> bool:
    if req.resource_request or req.verb != "get":
        return False
    return any(
        req.path == url or (url.endswith("*") and req.path.startswith(url[:-1])) for url in DISCOVERY_URLS
    )


def generate(
    subject: Subject,
    requests: Iterable[RequestAttributes],
    *,
    scope: Scope = "auto",
    resource_names: bool = True,
    skip_discovery: bool = False,
) -> Generated:
    """The least-privilege rules per namespace ("" = cluster) covering `requests`.

    auto: a namespaced request goes to a Role in its namespace; cluster-scoped resources,
    requests across all namespaces and non-resource URLs go to the ClusterRole.
    cluster: everything in the ClusterRole (namespaced access widened to every namespace).
    namespace: Roles only; what needs the cluster scope is returned as `uncovered`.
    """
    per_scope: dict[str, list[RequestAttributes]] = defaultdict(list)
    uncovered: list[RequestAttributes] = []
    for req in requests:
        if skip_discovery and is_discovery(req):
            continue
        target = req.namespace if req.resource_request else ""
        if scope == "cluster":
            target = ""
        if scope == "namespace" and not target:
            uncovered.append(req)
            continue
        per_scope[target].append(req)
    rules = {ns: rules_for(reqs, resource_names=resource_names) for ns, reqs in per_scope.items()}
    return Generated(subject, {ns: r for ns, r in rules.items() if r}, sorted(uncovered))

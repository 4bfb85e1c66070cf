"""RBAC basics (checklist item 1): cluster-admin bindings, anonymous bindings, legacy tokens.

Bindings are judged per subject, with the defaults a fresh cluster creates left out:
  * `cluster-admin` ClusterRoleBinding -> Group system:masters (RBAC bootstrap policy;
    members of system:masters bypass authorization anyway, CIS 5.1.7);
  * `kubeadm:cluster-admins` ClusterRoleBinding -> Group kubeadm:cluster-admins (kubeadm
    1.29+, the group of /etc/kubernetes/admin.conf);
  * `system:public-info-viewer` ClusterRoleBinding -> system:authenticated and
    system:unauthenticated (bootstrap policy: /healthz, /livez, /readyz, /version);
  * kube-public RoleBinding `kubeadm:bootstrap-signer-clusterinfo` -> User system:anonymous
    (kubeadm: the cluster-info ConfigMap that `kubeadm join` reads).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kubeward.findings import Severity
from kubeward.inventory.resource import Resource
from kubeward.rules.base import Context, Hit, Refs, object_rule

__all__ = ["is_broad_subject"]

NSA_AUTH = "NSA-CISA: Authentication and authorization"
NSA_TOKENS = "NSA-CISA: Protecting Pod service account tokens"

#: Groups every (authenticated / unauthenticated / service-account) identity belongs to.
BROAD_GROUPS = frozenset({"system:authenticated", "system:unauthenticated", "system:serviceaccounts"})
ANONYMOUS = (("User", "system:anonymous"), ("Group", "system:unauthenticated"))
_SUBJECT_KINDS = frozenset({"User", "Group", "ServiceAccount"})

# (binding kind, namespace, binding name, role kind, role name, subject kind, subject name)
_DEFAULTS = frozenset({
    ("ClusterRoleBinding", None, "cluster-admin", "ClusterRole", "cluster-admin",
     "Group", "system:masters"),
    ("ClusterRoleBinding", None, "kubeadm:cluster-admins", "ClusterRole", "cluster-admin",
     "Group", "kubeadm:cluster-admins"),
    ("ClusterRoleBinding", None, "system:public-info-viewer", "ClusterRole",
     "system:public-info-viewer", "Group", "system:unauthenticated"),
    ("ClusterRoleBinding", None, "system:public-info-viewer", "ClusterRole",
     "system:public-info-viewer", "Group", "system:authenticated"),
    ("RoleBinding", "kube-public", "kubeadm:bootstrap-signer-clusterinfo", "Role",
     "kubeadm:bootstrap-signer-clusterinfo", "User", "system:anonymous"),
})


def is_broad_subject(kind: str, name: str) -> bool:
    """A subject that stands for many identities, or for anyone at all."""
    if kind == "ServiceAccount":
        return False
    if kind == "Group":
        return name in BROAD_GROUPS or name.startswith("system:serviceaccounts:")
    return kind == "User" and name == "system:anonymous"


def _role_ref(res: Resource) -> tuple[str, str]:
    ref = res.obj.get("roleRef")
    if not isinstance(ref, dict):
        return "", ""
    return str(ref.get("kind", "")), str(ref.get("name", ""))


def _subjects(res: Resource) -> Iterator[tuple[int, str, str, Mapping[str, Any]]]:
    """(index, kind, name, subject) of each subject, skipping the cluster's own defaults."""
    subjects = res.obj.get("subjects")
    role_kind, role_name = _role_ref(res)
    for i, subject in enumerate(subjects if isinstance(subjects, list) else []):
        if not isinstance(subject, dict):
            continue
        kind, name = subject.get("kind"), subject.get("name")
        if kind not in _SUBJECT_KINDS or not isinstance(name, str) or not name:
            continue  # the API server rejects such a subject
        key = (res.kind, res.namespace, res.name, role_kind, role_name, kind, name)
        if key in _DEFAULTS:
            continue
        yield i, kind, name, subject


def _who(res: Resource, kind: str, name: str, subject: Mapping[str, Any]) -> str:
    if kind == "ServiceAccount":
        ns = subject.get("namespace") or res.namespace or "default"
        return f"ServiceAccount {ns}/{name}"
    return f"{kind} {name}"


def _scope(res: Resource) -> str:
    if res.kind == "RoleBinding":
        return f"in namespace {res.namespace or 'default'}"
    return "cluster-wide"


def _cluster_admin_subjects(res: Resource, broad: bool) -> Iterator[Hit]:
    if _role_ref(res) != ("ClusterRole", "cluster-admin"):
        return
    for i, kind, name, subject in _subjects(res):
        is_broad = kind == "ServiceAccount" or is_broad_subject(kind, name)
        if is_broad != broad:
            continue
        detail = ""
        if kind == "ServiceAccount":
            detail = ": anything that can run a pod as it, or read its token, is cluster-admin"
        elif is_broad_subject(kind, name):
            detail = f": {name} includes every identity of its kind"
        yield Hit(f"{res.kind} {res.name} grants cluster-admin {_scope(res)} to "
                  f"{_who(res, kind, name, subject)}{detail}", ("subjects", i))


@object_rule(
    kinds=("ClusterRoleBinding", "RoleBinding"),
    id="rbac.cluster-admin-binding",
    title="cluster-admin bound to a user or group",
    severity=Severity.HIGH,
    checklist=1,
    remediation="Bind the user or group to a role with only the verbs and resources it needs; "
    "keep cluster-admin for break-glass access (kubectl delete clusterrolebinding NAME).",
    refs=Refs(cis=("5.1.1",), nsa=(NSA_AUTH,), mitre=("T1078", "T1098")),
)
def cluster_admin_binding(ctx: Context, res: Resource) -> Iterator[Hit]:
    """cluster-admin is every verb on every resource: one stolen credential of a bound user or
    group member owns the cluster. ServiceAccounts and all-identity groups are reported by
    rbac.cluster-admin-broad-subject instead."""
    yield from _cluster_admin_subjects(res, broad=False)


@object_rule(
    kinds=("ClusterRoleBinding", "RoleBinding"),
    id="rbac.cluster-admin-broad-subject",
    title="cluster-admin bound to a ServiceAccount or an all-identities group",
    severity=Severity.CRITICAL,
    checklist=1,
    remediation="Give the workload a dedicated Role/ClusterRole with only what it uses "
    "(audit2rbac or the API server audit log show what that is); never bind cluster-admin "
    "to system:authenticated, system:unauthenticated or system:serviceaccounts*.",
    refs=Refs(cis=("5.1.1",), nsa=(NSA_AUTH, NSA_TOKENS), mitre=("T1078", "T1528", "T1098")),
)
def cluster_admin_broad_subject(ctx: Context, res: Resource) -> Iterator[Hit]:
    """A ServiceAccount token is mounted into pods and readable by anyone who can exec into
    them or create pods with that account; a group like system:authenticated contains every
    identity. Binding cluster-admin to either hands the cluster to the first compromised pod."""
    yield from _cluster_admin_subjects(res, broad=True)


@object_rule(
    kinds=("ClusterRoleBinding", "RoleBinding"),
    id="rbac.anonymous-binding",
    title="Role bound to anonymous or unauthenticated users",
    severity=Severity.HIGH,
    checklist=1,
    remediation="Remove system:anonymous and system:unauthenticated from the binding's "
    "subjects (and run kube-apiserver with --anonymous-auth=false).",
    refs=Refs(nsa=(NSA_AUTH,), mitre=("T1190", "T1133")),
)
def anonymous_binding(ctx: Context, res: Resource) -> Iterator[Hit]:
    """Requests without credentials are served as User system:anonymous in Group
    system:unauthenticated: whatever is bound to them is granted to anyone who can reach the
    API server. The cluster's own default bindings (see the module docstring) are skipped."""
    role_kind, role_name = _role_ref(res)
    for i, kind, name, _subject in _subjects(res):
        if (kind, name) in ANONYMOUS:
            yield Hit(f"{res.kind} {res.name} grants {role_kind} {role_name} {_scope(res)} to "
                      f"{kind} {name}: every unauthenticated request gets it", ("subjects", i))


def _auto_generated(ctx: Context, res: Resource, sa_name: str) -> bool:
    """Whether the token controller made this Secret (it lists it in the ServiceAccount)."""
    sa = ctx.inventory.get("ServiceAccount", res.namespace, sa_name)
    refs = sa.obj.get("secrets") if sa is not None else None
    return isinstance(refs, list) and any(
        isinstance(ref, dict) and ref.get("name") == res.name for ref in refs)


@object_rule(
    kinds=("Secret",),
    id="rbac.legacy-service-account-token",
    title="Long-lived ServiceAccount token Secret",
    severity=Severity.MEDIUM,
    checklist=1,
    remediation="Delete the Secret and let pods use projected, short-lived tokens (the default "
    "since 1.24); for a client outside the cluster request a bounded token with "
    "`kubectl create token SA --duration=...` (TokenRequest API).",
    refs=Refs(nsa=(NSA_TOKENS,), mitre=("T1528", "T1552.007")),
)
def legacy_service_account_token(ctx: Context, res: Resource) -> Iterator[Hit]:
    """A `kubernetes.io/service-account-token` Secret holds a token that never expires and is
    not bound to a pod: anyone who can read the Secret holds the ServiceAccount's rights
    until the Secret is deleted. Only Secrets created by hand are reported: tokens already
    invalidated by the legacy-token cleaner (label kubernetes.io/legacy-token-invalid-since)
    and tokens the pre-1.24 token controller generated itself (listed in their
    ServiceAccount's `secrets`, when that ServiceAccount is in the input) are skipped."""
    if res.obj.get("type") != "kubernetes.io/service-account-token":
        return
    if "kubernetes.io/legacy-token-invalid-since" in res.labels:
        return
    sa = res.annotations.get("kubernetes.io/service-account.name")
    if isinstance(sa, str) and _auto_generated(ctx, res, sa):
        return
    who = f'ServiceAccount "{sa}"' if isinstance(sa, str) and sa else "a ServiceAccount"
    yield Hit(f"Secret {res.name} holds a non-expiring token of {who} "
              "(type kubernetes.io/service-account-token)", ("type",))

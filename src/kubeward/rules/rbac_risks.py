"""RBAC risks (checklist item 1): bound Roles/ClusterRoles that grant dangerous power.

Every rule here is judged on a **binding** (RoleBinding / ClusterRoleBinding) and reported
on the binding's `roleRef`: a Role that no one is bound to grants nothing, and the same
Role bound cluster-wide or in one namespace is a different risk. The message names the
role, the granting rule (by index, as `rules[i]`) and the subjects.

A grant is tested with the authorizer's own matching (`kubeward.rbac.model.rule_allows`,
rbac.go RuleAllows) on an unnamed request: a rule limited by `resourceNames` to named
objects is not reported (it cannot `list`, and grants only those objects). Aggregated
ClusterRoles are judged on their aggregated rules.

Left out to avoid noise and duplicates:
  * bindings to ClusterRole `cluster-admin`: rbac.cluster-admin-binding and
    rbac.cluster-admin-broad-subject (rbac_basics) report them;
  * the cluster's own defaults: a binding to a `system:*` ClusterRole is judged only on its
    non-system subjects, i.e. Users/Groups whose name does not start with `system:` and
    ServiceAccounts outside kube-system. The bootstrap bindings (system:controller:*,
    system:node, system:kube-scheduler, ...) have only system subjects and are skipped;
    a `system:*` role bound by hand to `alice` is still reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

from kubeward.findings import Severity
from kubeward.inventory.resource import Resource
from kubeward.rbac.model import Binding, PolicyRule, RBACModel, Request, Role, rule_allows
from kubeward.rules.base import REGISTRY, Context, Hit, Refs, object_rule

__all__ = ["PRIVILEGED_NAMESPACES", "RULES", "model_of", "privileged_namespaces"]

NSA_AUTH = "NSA-CISA: Authentication and authorization"
RBAC_GROUP = "rbac.authorization.k8s.io"
#: namespaces where a new pod can take over the node or the control plane by default
PRIVILEGED_NAMESPACES = ("kube-system",)
WORKLOADS = (("", "pods"), ("", "replicationcontrollers"), ("apps", "deployments"),
             ("apps", "daemonsets"), ("apps", "statefulsets"), ("apps", "replicasets"),
             ("batch", "jobs"), ("batch", "cronjobs"))
_KINDS = ("ClusterRoleBinding", "RoleBinding")


def model_of(ctx: Context) -> RBACModel:
    """The RBAC model of the scan, built once and shared by every rule."""
    model = ctx.cache.get("rbac.model")
    if not isinstance(model, RBACModel):
        model = RBACModel.from_inventory(ctx.inventory)
        ctx.cache["rbac.model"] = model
        ctx.cache["rbac.bindings"] = {id(b.resource): b for b in model.bindings}
    return model


def privileged_namespaces(ctx: Context) -> set[str]:
    """kube-system, and namespaces whose Pod Security enforce label is `privileged`."""
    cached = ctx.cache.get("rbac.privileged-namespaces")
    if isinstance(cached, set):
        return cached
    out = set(PRIVILEGED_NAMESPACES)
    for ns in ctx.inventory.of_kind("Namespace"):
        if ns.labels.get("pod-security.kubernetes.io/enforce") == "privileged":
            out.add(ns.name)
    ctx.cache["rbac.privileged-namespaces"] = out
    return out


def _is_system(kind: str, name: str, namespace: str) -> bool:
    if kind == "ServiceAccount":
        return namespace == "kube-system"
    return name.startswith("system:")


def _binding(ctx: Context, res: Resource) -> tuple[Binding, Role, str] | None:
    """The binding, its role and the subjects it is judged on (None: skip it)."""
    model = model_of(ctx)
    binding: Binding | None = ctx.cache["rbac.bindings"].get(id(res))
    if binding is None or (binding.role_kind, binding.role_name) == ("ClusterRole", "cluster-admin"):
        return None
    role = model.roles.get(binding.role_key)
    if role is None or not binding.subjects:
        return None
    subjects = list(binding.subjects)
    if binding.role_name.startswith("system:"):
        subjects = [s for s in subjects if not _is_system(s.kind, s.name, s.namespace)]
    if not subjects:
        return None
    names = ", ".join(str(s) for s in subjects[:4]) + (
        f" (+{len(subjects) - 4})" if len(subjects) > 4 else "")
    return binding, role, names


def _scope(binding: Binding) -> str:
    return f"in namespace {binding.namespace}" if binding.kind == "RoleBinding" else "cluster-wide"


def _cluster_wide(binding: Binding) -> bool:
    """Cluster-scoped resources (nodes, webhook configurations, CSRs, users, groups) are
    granted only by ClusterRoleBindings: a RoleBinding's rules apply to its namespace."""
    return binding.kind == "ClusterRoleBinding"


def _first(role: Role, pred: Callable[[PolicyRule], bool]) -> int | None:
    return next((i for i, rule in enumerate(role.rules) if pred(rule)), None)


def _grants(requests: Sequence[Request]) -> Callable[[PolicyRule], bool]:
    """A predicate over rules; verdicts are memoised per rule (rules repeat across roles)."""
    memo: dict[PolicyRule, bool] = {}

    def pred(rule: PolicyRule) -> bool:
        found = memo.get(rule)
        if found is None:
            found = memo[rule] = any(rule_allows(r, rule) for r in requests)
        return found

    return pred


def _req(verbs: Sequence[str], group: str, resources: Sequence[str]) -> list[Request]:
    out = []
    for verb in verbs:
        for res in resources:
            resource, _, sub = res.partition("/")
            out.append(Request(verb, resource, sub, group))
    return out


_ESCALATE_BIND = _grants(_req(("escalate", "bind"), RBAC_GROUP, ("roles", "clusterroles")))
_IMPERSONATE = _grants([
    *_req(("impersonate",), "", ("users", "groups", "serviceaccounts")),
    *_req(("impersonate",), "authentication.k8s.io", ("userextras/scopes", "uids"))])
_IMPERSONATE_SA = _grants(_req(("impersonate",), "", ("serviceaccounts",)))
_SECRETS = _grants(_req(("get", "list", "watch"), "", ("secrets",)))
_EXEC = _grants(_req(("create", "get"), "", ("pods/exec", "pods/attach")))
_WORKLOADS = _grants([r for g, resource in WORKLOADS for r in _req(("create",), g, (resource,))])
_NODES_PROXY = _grants(_req(("get", "create"), "", ("nodes/proxy",)))
_TOKEN = _grants(_req(("create",), "", ("serviceaccounts/token",)))
_CSR_APPROVAL = _grants(_req(("update", "patch"), "certificates.k8s.io",
                             ("certificatesigningrequests/approval",)))
_SIGNERS = _grants(_req(("approve",), "certificates.k8s.io", ("signers",)))
_WEBHOOKS = _grants(_req(("create", "update", "patch", "delete"), "admissionregistration.k8s.io",
                         ("mutatingwebhookconfigurations", "validatingwebhookconfigurations")))


def _report(ctx: Context, res: Resource, pred: Callable[[PolicyRule], bool], what: str,
            only: Callable[[Binding], bool] | None = None) -> Iterator[Hit]:
    found = _binding(ctx, res)
    if found is None:
        return
    binding, role, subjects = found
    if only is not None and not only(binding):
        return
    i = _first(role, pred)
    if i is None:
        return
    yield Hit(f"{binding} grants {role} {_scope(binding)} to {subjects}: rules[{i}] "
              f"({role.rules[i]}) {what}", ("roleRef",))


def _meta(rule_id: str, title: str, severity: Severity, remediation: str,
          mitre: tuple[str, ...]) -> dict[str, Any]:
    return {"kinds": _KINDS, "id": rule_id, "title": title, "severity": severity,
            "checklist": 1, "remediation": remediation,
            "refs": Refs(nsa=(NSA_AUTH,), mitre=mitre)}


@object_rule(**_meta(
    "rbac.wildcard-grant", "Bound role grants wildcard verbs or resources", Severity.HIGH,
    "List the verbs and resources the subjects use (kubeward rbac from-audit, or the API "
    "server audit log) and replace `*` with them.", ("T1078", "T1098")))
def wildcard_grant(ctx: Context, res: Resource) -> Iterator[Hit]:
    """`*` in verbs or resources grants everything in its API groups, including what is
    added later (new CRDs, new subresources such as pods/exec): least privilege cannot be
    reviewed, and it usually includes secrets and escalation verbs."""
    yield from _report(ctx, res, lambda r: "*" in r.verbs or "*" in r.resources,
                       "uses a wildcard")


@object_rule(**_meta(
    "rbac.escalate-bind", "Bound role grants escalate or bind on roles", Severity.CRITICAL,
    "Remove the escalate and bind verbs; let a cluster administrator create the bindings, "
    "or limit bind with resourceNames to the roles that may be handed out.",
    ("T1098", "T1068")))
def escalate_bind(ctx: Context, res: Resource) -> Iterator[Hit]:
    """`escalate` lets a subject write Roles with permissions it does not hold, and `bind`
    lets it bind roles it does not hold (the RBAC API's privilege-escalation prevention is
    bypassed): binding cluster-admin to itself is one request away."""
    yield from _report(ctx, res, _ESCALATE_BIND, "allows escalate/bind on roles: it can grant "
                       "itself any permission")


@object_rule(**_meta(
    "rbac.impersonate", "Bound role grants impersonation", Severity.CRITICAL,
    "Remove impersonate; if a tool needs it, limit it with resourceNames to the users or "
    "groups it must act as (never groups, which include system:masters).",
    ("T1134", "T1078")))
def impersonate(ctx: Context, res: Resource) -> Iterator[Hit]:
    """`impersonate` on users, groups or service accounts lets a subject send requests as
    any identity (`kubectl --as=... --as-group=system:masters`): it holds every permission
    of the identities it may impersonate, which for groups means cluster-admin."""
    # users, groups, uids and userextras are cluster-scoped: a RoleBinding grants only
    # the impersonation of the ServiceAccounts of its namespace
    found = _binding(ctx, res)
    pred = _IMPERSONATE if found is None or _cluster_wide(found[0]) else _IMPERSONATE_SA
    yield from _report(ctx, res, pred, "allows impersonate: it can act as other "
                       "users, groups or service accounts")


@object_rule(**_meta(
    "rbac.secrets-read", "Bound role can read Secrets", Severity.HIGH,
    "Grant get on the named Secrets the workload needs (resourceNames), never list/watch; "
    "prefer mounting Secrets into pods over reading them through the API.",
    ("T1552.007", "T1528")))
def secrets_read(ctx: Context, res: Resource) -> Iterator[Hit]:
    """get, list or watch on Secrets returns their values, including ServiceAccount tokens
    and credentials of other workloads: list alone returns every Secret of a namespace
    (cluster-wide with a ClusterRoleBinding)."""
    yield from _report(ctx, res, _SECRETS, "allows reading secrets")


@object_rule(**_meta(
    "rbac.pod-exec", "Bound role can exec or attach into pods", Severity.HIGH,
    "Remove pods/exec and pods/attach from day-to-day roles; use a break-glass role "
    "bound for the duration of an incident, and audit exec requests.", ("T1609",)))
def pod_exec(ctx: Context, res: Resource) -> Iterator[Hit]:
    """create on pods/exec or pods/attach runs commands inside running containers: the
    subject gets the container's files, its Secrets and its ServiceAccount token. (get is
    reported too: API servers before 1.31 authorize WebSocket exec with get.)"""
    yield from _report(ctx, res, _EXEC, "allows exec/attach into pods")


@object_rule(**_meta(
    "rbac.workload-create-privileged-namespace",
    "Bound role can create pods or workloads in a privileged namespace", Severity.CRITICAL,
    "Do not let anyone but cluster administrators create workloads in kube-system or "
    "namespaces that enforce the privileged Pod Security level; bind such roles per "
    "application namespace with Pod Security baseline or restricted.",
    ("T1610", "T1611")))
def workload_create_privileged_namespace(ctx: Context, res: Resource) -> Iterator[Hit]:
    """Creating a pod (or a Deployment, DaemonSet, Job, ... that creates pods) in
    kube-system, or in a namespace labelled `pod-security.kubernetes.io/enforce:
    privileged`, lets the subject run a privileged pod on any node (node takeover) and
    mount the token of any ServiceAccount of that namespace, including controllers with
    cluster-wide rights. A ClusterRoleBinding grants it in every namespace."""
    privileged = privileged_namespaces(ctx)
    yield from _report(ctx, res, _WORKLOADS, "allows creating pods or workloads "
                       f"({', '.join(sorted(privileged))} can run privileged pods)",
                       only=lambda b: b.kind == "ClusterRoleBinding" or b.namespace in privileged)


@object_rule(**_meta(
    "rbac.nodes-proxy", "Bound role grants nodes/proxy", Severity.CRITICAL,
    "Remove nodes/proxy; monitoring agents need only nodes/metrics and nodes/stats.",
    ("T1609", "T1611")))
def nodes_proxy(ctx: Context, res: Resource) -> Iterator[Hit]:
    """nodes/proxy gives the kubelet API of every node: exec into any pod on it (a GET is
    enough over WebSocket) without the API server's audit log or admission control."""
    yield from _report(ctx, res, _NODES_PROXY, "allows nodes/proxy: the kubelet API, exec "
                       "into any pod of any node", only=_cluster_wide)


@object_rule(**_meta(
    "rbac.serviceaccount-token-create", "Bound role can create ServiceAccount tokens",
    Severity.HIGH,
    "Remove create on serviceaccounts/token, or limit it with resourceNames to the accounts "
    "the subject must mint tokens for.", ("T1528",)))
def serviceaccount_token_create(ctx: Context, res: Resource) -> Iterator[Hit]:
    """create on serviceaccounts/token (the TokenRequest API, `kubectl create token`) mints
    a token of any ServiceAccount in scope: the subject holds each account's permissions."""
    yield from _report(ctx, res, _TOKEN, "allows minting ServiceAccount tokens")


@object_rule(**_meta(
    "rbac.csr-approval", "Bound role can approve certificate signing requests",
    Severity.HIGH,
    "Keep CSR approval with the controller-manager; if a custom approver needs it, limit "
    "`approve` on signers with resourceNames to its own signer.", ("T1649",)))
def csr_approval(ctx: Context, res: Resource) -> Iterator[Hit]:
    """update on certificatesigningrequests/approval together with approve on signers
    (certificates.k8s.io) approves client certificates: with the kube-apiserver-client
    signer the subject can issue itself a certificate for any user and group, e.g.
    system:masters."""
    approval, signers = _CSR_APPROVAL, _SIGNERS
    found = _binding(ctx, res)
    if found is None:
        return
    binding, role, subjects = found
    if not _cluster_wide(binding):
        return
    i, j = _first(role, approval), _first(role, signers)
    if i is None or j is None:
        return
    yield Hit(f"{binding} grants {role} {_scope(binding)} to {subjects}: rules[{i}] "
              f"({role.rules[i]}) and rules[{j}] ({role.rules[j]}) allow approving "
              "certificate signing requests", ("roleRef",))


@object_rule(**_meta(
    "rbac.webhook-config-change", "Bound role can change admission webhook configurations",
    Severity.HIGH,
    "Only cluster administrators and the operators that own a webhook should write "
    "webhook configurations; limit an operator with resourceNames to its own.",
    ("T1562.001", "T1546")))
def webhook_config_change(ctx: Context, res: Resource) -> Iterator[Hit]:
    """Writing Mutating/ValidatingWebhookConfigurations can switch off policy enforcement
    (delete a validating webhook) or send every new object to an endpoint of the
    subject's choice, which can read and rewrite it (Secrets included)."""
    yield from _report(ctx, res, _WEBHOOKS, "allows changing admission webhooks",
                       only=_cluster_wide)


#: The rules of this module (what `kubeward rbac risks` runs, with rbac_basics').
RULES = tuple(r for r in REGISTRY.values() if r.check is not None
              and r.check.__module__ == __name__)

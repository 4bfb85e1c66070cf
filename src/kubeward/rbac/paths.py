"""Escalation paths: from each subject to cluster-admin-equivalent power, shortest first.

A graph over identities. A subject's own rights (its bindings plus its implicit groups,
as the authorizer sees them: `RBACModel.allows`) give it edges:

* straight to **cluster-admin** (one step) when it can, cluster-wide unless said otherwise:
  `*` verbs on `*` resources in `*` groups; impersonate the group system:masters; bind the
  ClusterRole cluster-admin and create/update/patch ClusterRoleBindings; escalate and
  update/patch ClusterRoles; get/create nodes/proxy (exec in any pod through the kubelet);
  get or list Secrets in kube-system (controller and bootstrap tokens); create pods in
  kube-system (a privileged pod, or any kube-system controller's token); create CSRs,
  update their approval and approve a signer (a client certificate for system:masters);
* to **every ServiceAccount of a namespace** (cluster-wide: of every namespace) when it can
  create pods or pod-creating workloads there (run a pod as the account, read its token),
  create serviceaccounts/token there, create pods/exec there (exec into a pod running as
  it), or impersonate serviceaccounts there;
* to **a ServiceAccount** whose legacy token Secret it can get;
* to **every User** named by a binding when it may impersonate users.

Then a 0-1 breadth-first search backwards from cluster-admin gives each subject its
shortest chain (the namespace fan-out nodes cost nothing), printed step by step with the
binding, role and rule that grant each step.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass

from kubeward.inventory.index import Inventory
from kubeward.rbac.model import Grant, RBACModel, Subject, UserInfo

__all__ = ["ADMIN", "EscalationPath", "Step", "escalation_paths"]

ADMIN = "cluster-admin"
Node = Subject | str  # a subject, ADMIN, "sa-of:<ns>", "sa-of:*" or "users"

WORKLOADS = (("", "pods"), ("", "replicationcontrollers"), ("apps", "deployments"),
             ("apps", "daemonsets"), ("apps", "statefulsets"), ("apps", "replicasets"),
             ("batch", "jobs"), ("batch", "cronjobs"))


@dataclass(frozen=True, slots=True)
class Step:
    subject: Subject  # who takes the step
    action: str  # what it does
    grant: Grant | None  # what allows it
    becomes: Subject | None  # the identity it gains (None: cluster-admin)

    @property
    def via(self) -> str:
        if self.grant is None:
            return ""
        g = self.grant
        return f"{g.binding} -> {g.role} rules[{g.rule_index}]"


@dataclass(frozen=True, slots=True)
class EscalationPath:
    subject: Subject
    steps: tuple[Step, ...]

    def __len__(self) -> int:
        return len(self.steps)

    def describe(self) -> str:
        parts = [str(self.subject)]
        for s in self.steps:
            parts.append(f"--[{s.action}]--> {s.becomes if s.becomes else ADMIN}")
        return " ".join(parts)


def _service_accounts(model: RBACModel, inv: Inventory) -> dict[str, set[Subject]]:
    out: dict[str, set[Subject]] = defaultdict(set)
    for res in inv.of_kind("ServiceAccount"):
        ns = res.namespace or "default"
        out[ns].add(Subject("ServiceAccount", res.name, ns))
    for s in model.by_subject:
        if s.kind == "ServiceAccount":
            out[s.namespace].add(s)
    return out


def _token_secrets(inv: Inventory) -> dict[str, list[tuple[str, Subject]]]:
    """Legacy token Secrets per namespace: (secret name, its ServiceAccount)."""
    out: dict[str, list[tuple[str, Subject]]] = defaultdict(list)
    for res in inv.of_kind("Secret"):
        if res.obj.get("type") != "kubernetes.io/service-account-token":
            continue
        sa = res.annotations.get("kubernetes.io/service-account.name")
        if isinstance(sa, str) and sa:
            ns = res.namespace or "default"
            out[ns].append((res.name, Subject("ServiceAccount", sa, ns)))
    return out


class _Graph:
    def __init__(self) -> None:
        # node -> [(target, weight, action, grant)]
        self.edges: dict[Node, list[tuple[Node, int, str, Grant | None]]] = defaultdict(list)

    def add(self, src: Node, dst: Node, action: str, grant: Grant | None, weight: int = 1) -> None:
        self.edges[src].append((dst, weight, action, grant))


def _direct(model: RBACModel, who: Subject, g: _Graph, secrets: dict[str, list[tuple[str, Subject]]],
            ) -> None:
    info = UserInfo.of(who)

    def can(verb: str, resource: str, sub: str = "", group: str = "", ns: str | None = None,
            name: str = "") -> Grant | None:
        return model.allows(info, verb, resource, sub, group, ns, name)

    rbac = "rbac.authorization.k8s.io"
    found = can("*", "*", "", "*")
    if found:
        g.add(who, ADMIN, "holds * on * cluster-wide", found)
        return
    terminal: list[tuple[str, Grant | None]] = []
    if found := can("impersonate", "groups", name="system:masters"):
        terminal.append(("impersonate group system:masters", found))
    bind = can("bind", "clusterroles", "", rbac, name="cluster-admin")
    write_crb = next((x for v in ("create", "update", "patch")
                      if (x := can(v, "clusterrolebindings", "", rbac))), None)
    if bind and write_crb:
        terminal.append(("bind cluster-admin to itself (bind + write clusterrolebindings)", bind))
    escalate = can("escalate", "clusterroles", "", rbac)
    write_cr = next((x for v in ("update", "patch") if (x := can(v, "clusterroles", "", rbac))), None)
    if escalate and write_cr:
        terminal.append(("escalate: rewrite a ClusterRole with * rights", escalate))
    if found := (can("get", "nodes", "proxy") or can("create", "nodes", "proxy")):
        terminal.append(("exec into any pod through nodes/proxy (kubelet API)", found))
    if found := (can("get", "secrets", ns="kube-system") or can("list", "secrets", ns="kube-system")):
        terminal.append(("read the Secrets of kube-system (controller and bootstrap tokens)", found))
    if found := next((x for grp, res in WORKLOADS
                      if (x := can("create", res, "", grp, ns="kube-system"))), None):
        terminal.append(("create a privileged pod in kube-system (node and controller tokens)",
                         found))
    csr = "certificates.k8s.io"
    approve = can("update", "certificatesigningrequests", "approval", csr)
    signer = can("approve", "signers", "", csr, name="kubernetes.io/kube-apiserver-client")
    if approve and signer and can("create", "certificatesigningrequests", "", csr):
        terminal.append(("issue and approve a client certificate for system:masters", approve))
    for action, grant in terminal:
        g.add(who, ADMIN, action, grant)
    if terminal:
        return  # one step already: longer routes are never shorter
    # one-namespace-or-everywhere moves
    namespaces: list[str | None] = [None]
    namespaces += sorted({b.namespace for b in model.bindings_for(info) if b.kind == "RoleBinding"})
    for ns in namespaces:
        target = f"sa-of:{ns or '*'}"
        where = f"in {ns}" if ns else "in every namespace"
        moves = [
            (f"create pods {where}, running as any of its ServiceAccounts",
             next((x for grp, res in WORKLOADS if (x := can("create", res, "", grp, ns))), None)),
            (f"create serviceaccounts/token {where}", can("create", "serviceaccounts", "token",
                                                         "", ns)),
            (f"exec into pods {where} (their ServiceAccount tokens)",
             can("create", "pods", "exec", "", ns)),
            (f"impersonate serviceaccounts {where}", can("impersonate", "serviceaccounts", "",
                                                         "", ns)),
        ]
        for action, grant in moves:
            if grant is not None:
                g.add(who, target, action, grant)
        for secret_ns, items in secrets.items():
            if ns is not None and secret_ns != ns:
                continue
            for name, sa in items:
                if found := can("get", "secrets", "", "", secret_ns, name):
                    g.add(who, sa, f"read the token Secret {secret_ns}/{name}", found)
    if found := can("impersonate", "users"):
        g.add(who, "users", "impersonate any user", found)


def escalation_paths(model: RBACModel, inv: Inventory,
                     subjects: Iterable[Subject] | None = None) -> dict[Subject, EscalationPath]:
    """The shortest chain to cluster-admin for each subject that has one (subjects: all
    bound subjects and every ServiceAccount, or the ones given)."""
    sas = _service_accounts(model, inv)
    everyone: set[Subject] = set(model.by_subject)
    for group in sas.values():
        everyone |= group
    g = _Graph()
    secrets = _token_secrets(inv)
    for who in sorted(everyone):
        _direct(model, who, g, secrets)
    for ns, group in sas.items():
        for sa in group:
            g.add(f"sa-of:{ns}", sa, "", None, 0)
        g.add("sa-of:*", f"sa-of:{ns}", "", None, 0)
    for s in everyone:
        if s.kind == "User":
            g.add("users", s, "", None, 0)
    # 0-1 BFS backwards from ADMIN
    reverse: dict[Node, list[tuple[Node, int, str, Grant | None]]] = defaultdict(list)
    for src, edges in g.edges.items():
        for dst, w, action, grant in edges:
            reverse[dst].append((src, w, action, grant))
    dist: dict[Node, int] = {ADMIN: 0}
    nxt: dict[Node, tuple[Node, str, Grant | None]] = {}
    queue: deque[Node] = deque([ADMIN])
    while queue:
        node = queue.popleft()
        d = dist[node]
        for src, w, action, grant in reverse.get(node, ()):
            nd = d + w
            if nd < dist.get(src, 1 << 30):
                dist[src] = nd
                nxt[src] = (node, action, grant)
                if w == 0:
                    queue.appendleft(src)
                else:
                    queue.append(src)
    wanted = sorted(everyone) if subjects is None else list(subjects)
    out: dict[Subject, EscalationPath] = {}
    for s in wanted:
        if s not in dist:
            continue
        steps: list[Step] = []
        cur: Node = s
        actor = s
        pending: tuple[str, Grant | None] | None = None
        while cur != ADMIN:
            target, action, grant = nxt[cur]
            if action:
                pending = (action, grant)
            if isinstance(target, Subject) or target == ADMIN:
                assert pending is not None
                becomes = target if isinstance(target, Subject) else None
                steps.append(Step(actor, pending[0], pending[1], becomes))
                pending = None
                if isinstance(target, Subject):
                    actor = target
            cur = target
        out[s] = EscalationPath(s, tuple(steps))
    return out

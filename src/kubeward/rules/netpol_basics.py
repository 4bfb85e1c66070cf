"""NetworkPolicies (checklist item 4): default deny per namespace, and unselected workloads.

Semantics (networking.k8s.io/v1 NetworkPolicy API reference; pkg/apis/networking/v1/defaults.go):
  * A policy applies to the pods of its own namespace that `spec.podSelector` selects; the
    field is not a pointer, so absent, null and `{}` all select every pod of the namespace.
  * `policyTypes`, when unset, defaults to ["Ingress"], plus "Egress" if `spec.egress` has at
    least one rule (SetDefaults_NetworkPolicy): a deny-all-egress policy (no egress rules)
    must list Egress explicitly, and `egress: []` does not make a policy an egress policy.
  * A pod is isolated for a direction when some policy that selects it has that direction
    in its policyTypes; it then accepts only what the rules of those policies allow. An
    empty rule list allows nothing; a rule `{}` (no peers, no ports) allows everything.
  * "Default deny" for a direction: a policy selecting every pod (empty podSelector) with the
    direction in policyTypes and no rules for it.
  * NetworkPolicy behaviour for hostNetwork pods is undefined (API docs), so they are left out.
  * Selectors are matched with `kubeward.k8s.selectors` (apimachinery semantics).

Scope:
  * namespaces with at least one workload in the input, except SYSTEM_NAMESPACES;
  * objects without metadata.namespace go wherever they are applied: those of one input
    (a rendered chart or kustomization, stdin, or the files of one directory) are taken to
    share a namespace, distinct from every other input's and from explicit namespaces;
  * workloads are the objects that run pods, minus PodTemplates, hostNetwork pods and
    objects whose controlling owner (ownerReferences, controller: true) is in the input too
    (a live cluster's ReplicaSets and Pods are judged once, through their Deployment);
  * per-workload findings are made only in namespaces that have at least one policy for
    that direction; a namespace with none is reported once, by the namespace rule.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from kubeward.findings import Severity
from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Resource
from kubeward.k8s.pods import PodTemplate
from kubeward.k8s.selectors import Selector, label_selector, labels_of, selector_or_all
from kubeward.netpol.model import policy_types  # one definition of the defaulting
from kubeward.rules.base import Context, Hit, Refs, inventory_rule, object_rule

__all__ = [
    "SYSTEM_NAMESPACES",
    "Policy",
    "namespace_key",
    "namespace_policies",
    "policy_types",
    "workloads",
]

#: Namespaces left out of the NetworkPolicy rules (control-plane and cluster-info objects).
SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})

INGRESS, EGRESS = "Ingress", "Egress"
_RULES_FIELD = {INGRESS: "ingress", EGRESS: "egress"}
CIS_NETPOL = ("5.3.2",)
NSA_NET = "NSA-CISA: Network separation and hardening (network policies)"


@dataclass(slots=True, frozen=True)
class Policy:
    res: Resource
    namespace: str
    selector: Selector
    types: frozenset[str]
    rule_counts: Mapping[str, int]  # direction -> number of rules in spec.ingress / spec.egress

    def isolates(self, direction: str, labels: Mapping[str, str]) -> bool:
        return direction in self.types and self.selector.matches(labels)

    def default_deny(self, direction: str) -> bool:
        return (self.selector.everything and direction in self.types
                and self.rule_counts[direction] == 0)


def _policy(res: Resource) -> Policy:
    spec = res.obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    counts = {}
    for direction, fld in _RULES_FIELD.items():
        rules = spec.get(fld)
        counts[direction] = len(rules) if isinstance(rules, list) else 0
    return Policy(res, namespace_key(res), selector_or_all(spec.get("podSelector")),
                  policy_types(spec), counts)


_UNSET = "\0"  # prefix of the namespace key of objects without metadata.namespace


def namespace_key(res: Resource) -> str:
    """The namespace key: metadata.namespace, or the input group of an unnamespaced object.

    Objects without a namespace go wherever they are applied; those of one input - one
    rendered chart or kustomization, stdin, or the files of one directory - are taken to go
    to the same namespace, and never to share it with other inputs or with explicit ones.
    """
    if res.namespace:
        return res.namespace
    source = res.origin.source
    group = (os.path.dirname(source.path) or ".") if source.kind == "file" else source.path
    return _UNSET + group


def _shown(ns: str) -> str:
    if ns.startswith(_UNSET):
        return f"the objects without a namespace in {ns[len(_UNSET):]}"
    return f"namespace {ns}"


def namespace_policies(inventory: Inventory) -> dict[str, list[Policy]]:
    """Every NetworkPolicy of the input by namespace."""
    out: dict[str, list[Policy]] = defaultdict(list)
    for res in inventory.of_kind("NetworkPolicy"):
        if res.group == "networking.k8s.io":
            out[namespace_key(res)].append(_policy(res))
    return dict(out)


def workloads(inventory: Inventory) -> dict[str, list[tuple[Resource, PodTemplate]]]:
    """The workloads the NetworkPolicy rules judge, by namespace (see the module docstring)."""
    out: dict[str, list[tuple[Resource, PodTemplate]]] = defaultdict(list)
    for res, pod in inventory.pod_templates:
        ns = namespace_key(res)
        if ns in SYSTEM_NAMESPACES or res.kind == "PodTemplate":
            continue
        if pod.spec.get("hostNetwork") is True or inventory.controlled_in_input(res):
            continue
        out[ns].append((res, pod))
    return dict(out)


# CNI-specific policy kinds that can also isolate pods; not evaluated here, only mentioned.
_CNI_POLICIES = frozenset({
    ("cilium.io", "CiliumNetworkPolicy"), ("cilium.io", "CiliumClusterwideNetworkPolicy"),
    ("projectcalico.org", "NetworkPolicy"), ("projectcalico.org", "GlobalNetworkPolicy"),
    ("crd.projectcalico.org", "NetworkPolicy"), ("crd.projectcalico.org", "GlobalNetworkPolicy"),
})


@dataclass(slots=True, frozen=True)
class _State:
    policies: dict[str, list[Policy]]
    workloads: dict[str, list[tuple[Resource, PodTemplate]]]
    cni_kinds: tuple[str, ...]  # CNI-specific policy kinds present in the input


def _cni_kinds(inventory: Inventory) -> tuple[str, ...]:
    return tuple(sorted({f"{kind} ({group})" for group, kind in _CNI_POLICIES
                         if any(r.group == group for r in inventory.of_kind(kind))}))


def _state(ctx: Context) -> _State:
    state = ctx.cache.get("netpol.state")
    if state is None:
        state = _State(namespace_policies(ctx.inventory), workloads(ctx.inventory),
                       _cni_kinds(ctx.inventory))
        ctx.cache["netpol.state"] = state
    assert isinstance(state, _State)
    return state


def _labels(pod: PodTemplate) -> dict[str, str]:
    return labels_of(pod.metadata.get("labels"))


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def _none_of(n: int, direction: str, where: str) -> str:
    if n == 1:
        return f"the only {direction} NetworkPolicy of {where} does not select its pods"
    return f"none of the {n} {direction} NetworkPolicies of {where} selects its pods"


def _namespace_findings(ctx: Context, direction: str) -> Iterator[tuple[Resource | None, Hit]]:
    state = _state(ctx)
    for ns, items in sorted(state.workloads.items()):
        policies = state.policies.get(ns, [])
        if any(p.default_deny(direction) for p in policies):
            continue
        unselected = [res for res, pod in items
                      if not any(p.isolates(direction, _labels(pod)) for p in policies)]
        catch_all = [p for p in policies if p.selector.everything and direction in p.types]
        lower = direction.lower()
        msg = (f"{_shown(ns)}: no default-deny {lower} NetworkPolicy (podSelector {{}}, "
               f"policyTypes including {direction}, no {lower} rules)")
        if catch_all:
            msg += (f"; {catch_all[0].res.name} selects every pod but allows some {lower} "
                    "traffic to all of them")
        msg += f"; {len(unselected)} of {_count(len(items), 'workload')} not isolated for {lower}"
        if state.cni_kinds:
            msg += (f" (the input also has {', '.join(state.cni_kinds)} objects, which can isolate "
                    "pods too and are not evaluated here)")
        anchor = ctx.inventory.get("Namespace", None, ns)
        if anchor is None:
            first = min(items, key=lambda item: (item[0].display_path, item[0].origin.line))[0]
            yield first, Hit(msg, ("metadata",))
        else:
            yield anchor, Hit(msg, ("metadata",))


def _workload_findings(ctx: Context, direction: str) -> Iterator[tuple[Resource | None, Hit]]:
    state = _state(ctx)
    lower = direction.lower()
    for ns, items in sorted(state.workloads.items()):
        policies = [p for p in state.policies.get(ns, []) if direction in p.types]
        if not policies:
            continue
        for res, pod in items:
            if not any(p.selector.matches(_labels(pod)) for p in policies):
                yield res, Hit(
                    f"{res.kind} {res.name}: {_none_of(len(policies), lower, _shown(ns))}, so all "
                    f"{lower} traffic is allowed",
                    (*pod.spec_path[:-1], "metadata"),
                )


@inventory_rule(
    id="netpol.default-deny-ingress",
    title="Namespace has no default-deny ingress NetworkPolicy",
    severity=Severity.MEDIUM,
    checklist=4,
    remediation="Add a NetworkPolicy with `podSelector: {}` and `policyTypes: [Ingress]` and no "
    "ingress rules to the namespace, then allow what each workload needs with specific "
    "policies.",
    refs=Refs(cis=CIS_NETPOL, nsa=(NSA_NET,), mitre=("T1210", "T1046")),
)
def default_deny_ingress(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """Pods accept connections from anywhere until a policy isolates them: one compromised pod
    can reach every service in the cluster. A default-deny policy makes every allowed flow
    explicit, including for workloads added later."""
    yield from _namespace_findings(ctx, INGRESS)


@inventory_rule(
    id="netpol.default-deny-egress",
    title="Namespace has no default-deny egress NetworkPolicy",
    severity=Severity.LOW,
    checklist=4,
    remediation="Add a NetworkPolicy with `podSelector: {}`, `policyTypes: [Egress]` and no "
    "egress rules, then allow DNS and each workload's real destinations explicitly.",
    refs=Refs(cis=CIS_NETPOL, nsa=(NSA_NET,), mitre=("T1041", "T1105")),
)
def default_deny_egress(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """Without egress isolation a compromised pod can download tools, reach the cloud metadata
    endpoint and exfiltrate data anywhere."""
    yield from _namespace_findings(ctx, EGRESS)


@inventory_rule(
    id="netpol.workload-ingress-unrestricted",
    title="Workload selected by no ingress NetworkPolicy",
    severity=Severity.LOW,
    checklist=4,
    remediation="Select the workload's pod labels with a NetworkPolicy that allows only its "
    "real clients (or add a namespace default-deny policy).",
    refs=Refs(cis=CIS_NETPOL, nsa=(NSA_NET,), mitre=("T1210",)),
)
def workload_ingress_unrestricted(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """The namespace uses ingress policies, but none selects this workload's pods, so they
    accept traffic from everywhere - usually a label mismatch or a forgotten workload."""
    yield from _workload_findings(ctx, INGRESS)


@inventory_rule(
    id="netpol.workload-egress-unrestricted",
    title="Workload selected by no egress NetworkPolicy",
    severity=Severity.INFO,
    checklist=4,
    remediation="Select the workload's pod labels with an egress NetworkPolicy that allows "
    "only DNS and its real destinations (or add a namespace default-deny egress policy).",
    refs=Refs(cis=CIS_NETPOL, nsa=(NSA_NET,), mitre=("T1041",)),
)
def workload_egress_unrestricted(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """The namespace uses egress policies, but none selects this workload's pods, so they can
    connect anywhere."""
    yield from _workload_findings(ctx, EGRESS)


def _selector_errors(where: str, sel: Selector) -> Iterator[str]:
    for err in sel.errors:
        yield f"{where}: {err}"


@object_rule(
    kinds=("NetworkPolicy",),
    id="netpol.invalid-policy",
    title="NetworkPolicy the API server rejects",
    severity=Severity.MEDIUM,
    checklist=4,
    remediation="Fix the selector or policyTypes value named in the finding; until then the "
    "policy is not created and protects nothing.",
    refs=Refs(cis=CIS_NETPOL, nsa=(NSA_NET,)),
)
def invalid_policy(ctx: Context, res: Resource) -> Iterator[Hit]:
    """An invalid label selector (e.g. `In` with no values, a bad key) or an unknown policyType
    makes the API server reject the policy: the isolation it was written for never happens.
    Such a selector matches nothing in the other NetworkPolicy rules."""
    if res.group != "networking.k8s.io":
        return
    spec = res.obj.get("spec")
    if not isinstance(spec, dict):
        return
    problems: list[tuple[str, tuple[str | int, ...]]] = []
    for err in _selector_errors("spec.podSelector", selector_or_all(spec.get("podSelector"))):
        problems.append((err, ("spec", "podSelector")))
    types = spec.get("policyTypes")
    for i, t in enumerate(types if isinstance(types, list) else []):
        if t not in (INGRESS, EGRESS):
            problems.append((f"spec.policyTypes[{i}]: unsupported value {t!r} "
                             "(Ingress or Egress)", ("spec", "policyTypes", i)))
    for fld, peers_field in (("ingress", "from"), ("egress", "to")):
        rules = spec.get(fld)
        for i, rule in enumerate(rules if isinstance(rules, list) else []):
            peers = rule.get(peers_field) if isinstance(rule, dict) else None
            for j, peer in enumerate(peers if isinstance(peers, list) else []):
                if not isinstance(peer, dict):
                    continue
                for key in ("podSelector", "namespaceSelector"):
                    if peer.get(key) is None:
                        continue  # pointer: absent means "not constrained", not invalid
                    where = f"spec.{fld}[{i}].{peers_field}[{j}].{key}"
                    for err in _selector_errors(where, label_selector(peer[key])):
                        problems.append((err, ("spec", fld, i, peers_field, j, key)))
    for msg, path in problems:
        yield Hit(f"NetworkPolicy {res.name} is invalid: {msg}", path)

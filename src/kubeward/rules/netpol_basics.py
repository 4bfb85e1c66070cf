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

Cilium (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy; semantics and citations in
kubeward.netpol.cilium) - Cilium enforces them together with NetworkPolicies:
  * a workload is isolated for a direction when a Cilium rule in default deny for it selects
    the pod (a namespaced policy: pods of its namespace key; a clusterwide one: every pod);
  * a namespace has a Cilium default deny for a direction when a rule in default deny for it
    selects every pod of the namespace (endpointSelector constrained only by the namespace,
    e.g. `{}`; a clusterwide one counts for every namespace it covers) and allows nothing in
    that direction - entries like `{}` - except DNS egress (port 53 only), as in the Cilium
    docs' default-deny example
    (https://docs.cilium.io/en/latest/network/servicemesh/default-deny-ingress-policy/);
  * Calico policies are still mentioned as not evaluated.
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
from kubeward.netpol.cilium import (
    CILIUM_KINDS,
    NS_KEY,
    NS_LABELS_PREFIX,
    CiliumEntry,
    CiliumRule,
    cilium_labels,
    parse_cilium,
)
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
    ("projectcalico.org", "NetworkPolicy"), ("projectcalico.org", "GlobalNetworkPolicy"),
    ("crd.projectcalico.org", "NetworkPolicy"), ("crd.projectcalico.org", "GlobalNetworkPolicy"),
})


@dataclass(slots=True)
class _State:
    policies: dict[str, list[Policy]]
    workloads: dict[str, list[tuple[Resource, PodTemplate]]]
    cni_kinds: tuple[str, ...]  # CNI-specific policy kinds present in the input (Calico)
    cilium: list[CiliumRule]
    ns_labels: dict[str, dict[str, str]]
    _isolating: dict[tuple[int, str], list[CiliumRule]]
    _by_ns: dict[str | None, list[CiliumRule]]

    def cilium_isolating(self, ns: str, res: Resource, pod: PodTemplate,
                         direction: str) -> list[CiliumRule]:
        """The Cilium rules putting this workload in default deny for `direction`."""
        if not self.cilium:
            return []
        key = (id(res), direction)
        found = self._isolating.get(key)
        if found is None:
            sa = pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount")
            labels = cilium_labels(_labels(pod), ns, self.ns_labels.get(ns, {}),
                                   sa if isinstance(sa, str) and sa else "default")
            found = [r for r in (*self._by_ns.get(ns, ()), *self._by_ns.get(None, ()))
                     if direction in r.default_deny and r.selects(labels, ns)]
            self._isolating[key] = found
        return found

    def cilium_default_deny(self, ns: str, direction: str, strict: bool = True) -> list[CiliumRule]:
        """Cilium rules denying `direction` by default for every pod of `ns`; not `strict`:
        also those that then allow some traffic to all of them."""
        return [r for r in self.cilium if _cilium_default_deny(
            r, direction, ns, self.ns_labels.get(ns, {}), strict)]


def _cilium_rules(inventory: Inventory) -> list[CiliumRule]:
    out: list[CiliumRule] = []
    for group, kind in CILIUM_KINDS:
        for res in inventory.of_kind(kind):
            if res.group == group:
                ns = None if kind == "CiliumClusterwideNetworkPolicy" else namespace_key(res)
                out.extend(parse_cilium(res.obj, kind, ns, res))
    return out


def _allows_nothing(e: CiliumEntry, direction: str) -> bool:
    if e.peers.empty_field or (not e.peers.present and e.ports is None):
        return True  # `- {}` (or an empty peer list): default deny only
    if e.ports is not None and not e.ports:
        return True  # only ICMP (or unusable) ports
    # DNS egress (port 53 only), the allowance every default-deny egress needs
    return direction == EGRESS and e.ports is not None and all(
        p.port == 53 and (p.end_port is None or p.end_port <= 53) for p in e.ports)


def _cilium_default_deny(rule: CiliumRule, direction: str, ns: str,
                         ns_labels: Mapping[str, str], strict: bool = True) -> bool:
    """Does the rule deny `direction` by default for every pod of namespace `ns`?"""
    if direction not in rule.default_deny or rule.selector is None or not rule.selector.valid:
        return False
    if rule.namespace is not None and rule.namespace != ns:
        return False
    if not all(req.key == NS_KEY or req.key.startswith(NS_LABELS_PREFIX)
               for req in rule.selector.requirements):
        return False  # constrained by pod labels: not every pod
    if not rule.selector.matches(cilium_labels({}, ns, ns_labels)):
        return False
    return not strict or all(_allows_nothing(e, direction) for e in rule.allows(direction))


def _cni_kinds(inventory: Inventory) -> tuple[str, ...]:
    return tuple(sorted({f"{kind} ({group})" for group, kind in _CNI_POLICIES
                         if any(r.group == group for r in inventory.of_kind(kind))}))


def _state(ctx: Context) -> _State:
    state = ctx.cache.get("netpol.state")
    if state is None:
        inv = ctx.inventory
        ns_labels = {ns: labels_of(res.metadata.get("labels")) if res is not None else {}
                     for ns, res in inv.namespaces.items()}
        cilium = _cilium_rules(inv)
        by_ns: dict[str | None, list[CiliumRule]] = defaultdict(list)
        for r in cilium:
            by_ns[r.namespace].append(r)
        state = _State(namespace_policies(inv), workloads(inv), _cni_kinds(inv), cilium,
                       ns_labels, {}, dict(by_ns))
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
        if state.cilium_default_deny(ns, direction):
            continue
        unselected = [res for res, pod in items
                      if not any(p.isolates(direction, _labels(pod)) for p in policies)
                      and not state.cilium_isolating(ns, res, pod, direction)]
        catch_all = [p for p in policies if p.selector.everything and direction in p.types]
        lower = direction.lower()
        msg = (f"{_shown(ns)}: no default-deny {lower} NetworkPolicy (podSelector {{}}, "
               f"policyTypes including {direction}, no {lower} rules)")
        if state.cilium:
            msg += " nor Cilium default deny"
        if catch_all:
            msg += (f"; {catch_all[0].res.name} selects every pod but allows some {lower} "
                    "traffic to all of them")
        elif cilium_all := state.cilium_default_deny(ns, direction, strict=False):
            msg += (f"; {cilium_all[0].where()} selects every pod but allows some {lower} "
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
        cilium = {id(r): r for res, pod in items
                  for r in state.cilium_isolating(ns, res, pod, direction)}
        if not policies and not cilium:
            continue
        for res, pod in items:
            if any(p.selector.matches(_labels(pod)) for p in policies):
                continue
            if state.cilium_isolating(ns, res, pod, direction):
                continue
            if policies:
                why = _none_of(len(policies), lower, _shown(ns))
                if cilium:
                    why += f", nor {_cilium_none(cilium, lower)}"
            else:
                why = _cilium_none(cilium, lower) + f" (in {_shown(ns)})"
            yield res, Hit(f"{res.kind} {res.name}: {why}, so all {lower} traffic is allowed",
                           (*pod.spec_path[:-1], "metadata"))


def _cilium_none(rules: Mapping[int, CiliumRule], lower: str) -> str:
    names = sorted({r.where() for r in rules.values()})
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    return f"the Cilium rules that isolate other pods for {lower} ({shown}) do not select it"


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

"""NetworkPolicy coverage (checklist item 4), on the exact model of kubeward.netpol.model.

Semantics cited there (https://kubernetes.io/docs/concepts/services-networking/network-policies/
and the networking.k8s.io/v1 API reference):
  * a policy whose podSelector matches no workload protects nothing - usually a label typo;
  * a peer (podSelector and/or namespaceSelector) matching no workload allows nothing;
    judged only where the input can tell: the peer's namespaces are in the input (or the
    input is a whole cluster / snapshot);
  * a rule with an absent or empty `from` / `to` matches every peer, in and outside the
    cluster (API: "If this field is empty or missing, this rule matches all sources");
  * an ipBlock of 0.0.0.0/0 or ::/0 in an egress rule allows the whole internet;
  * Cilium L7 HTTP rules, toFQDNs and mutual authentication are reported per workload;
    Calico policies are reported as not evaluated (kubeward.netpol.cni).
  * Cilium rules (kubeward.netpol.cilium) feed the same rules: an endpointSelector that
    selects no workload (a namespaced policy: judged when its namespace has workloads in the
    input; a clusterwide one: only for a whole cluster or snapshot), and a fromEndpoints /
    toEndpoints selector that matches no workload (judged when the namespaces it can match
    are in the input; selectors on reserved identities are not judged); an allow entry
    without peer fields but with `toPorts`, or with the entity `all`, allows every peer
    (Cilium rule.go mergeIngress: no L3 selector = all at L3); an egress entry to the entity
    `world`/`all` or to a /0 CIDR allows the internet.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from kubeward.findings import Severity
from kubeward.inventory.resource import Resource
from kubeward.netpol.cilium import NS_KEY, NS_LABELS_PREFIX, RESERVED, CiliumRule
from kubeward.netpol.cni import CALICO_KINDS, CiliumFeature, cilium_features
from kubeward.netpol.model import EGRESS, INGRESS, Model, NetPol, build_model
from kubeward.rules.base import Context, Hit, Refs, inventory_rule
from kubeward.rules.netpol_basics import CIS_NETPOL, NSA_NET

__all__: list[str] = []

_FIELDS = {INGRESS: ("ingress", "from"), EGRESS: ("egress", "to")}


@dataclass(slots=True, frozen=True)
class _State:
    model: Model
    complete: bool  # the input is a whole cluster or snapshot


def _state(ctx: Context) -> _State:
    state = ctx.cache.get("netpol.model")
    if state is None:
        inv = ctx.inventory
        complete = bool(inv.resources) and all(
            r.origin.source.kind in ("cluster", "snapshot") for r in inv.resources)
        state = _State(build_model(inv), complete)
        ctx.cache["netpol.model"] = state
    assert isinstance(state, _State)
    return state


def _policies(model: Model) -> Iterator[tuple[NetPol, Resource]]:
    for p in model.policies:
        if p.res is not None:
            yield p, p.res


def _cilium(model: Model) -> Iterator[tuple[CiliumRule, Resource]]:
    if model.cilium is not None:
        for r in model.cilium.rules:
            if r.res is not None:
                yield r, r.res


def _cilium_selects_nothing(state: _State) -> Iterator[tuple[Resource | None, Hit]]:
    model = state.model
    cil = model.cilium
    for r, res in _cilium(model):
        if cil is None or r.selector is None or not r.selector.valid:
            continue
        if r.namespace is not None:
            candidates = model.by_namespace.get(r.namespace, [])
        elif state.complete:
            candidates = model.workloads
        else:
            continue  # a clusterwide policy over manifests: other namespaces may match
        if candidates and not cil.selected_by(r, candidates):
            where = f"of namespace {r.namespace}" if r.namespace else "of the cluster"
            yield res, Hit(f"{r.where()}: endpointSelector selects no workload {where} "
                           f"({r.selector})", (*r.path, "endpointSelector"))


def _cilium_allow_all(model: Model) -> Iterator[tuple[Resource | None, Hit]]:
    for r, res in _cilium(model):
        for direction in (INGRESS, EGRESS):
            who = "from every source" if direction == INGRESS else "to every destination"
            for e in r.allows(direction):
                if e.peers.empty_field:
                    continue
                if not e.peers.present and e.ports is not None:
                    why = "has no peer fields but toPorts"
                elif "all" in e.peers.entities:
                    why = "names the entity `all`"
                else:
                    continue
                yield res, Hit(f"{r.where(e)} {why}, so it allows {direction.lower()} {who} "
                               "(pods, nodes and external addresses)"
                               + (" on the listed ports" if e.ports else ""),
                               (*r.path, e.field, e.index))


def _cilium_internet(model: Model) -> Iterator[tuple[Resource | None, Hit]]:
    for r, res in _cilium(model):
        for e in r.egress:
            if e.peers.empty_field:
                continue
            what = [f"toEntities {x}" for x in ("world", "world-ipv4", "world-ipv6")
                    if x in e.peers.entities]
            what += [f"{b.cidr}" + (f" except {', '.join(str(x) for x in b.excepts)}"
                                    if b.excepts else "")
                     for b in e.peers.cidrs if b.cidr.prefixlen == 0]
            if what:
                yield res, Hit(f"{r.where(e)} allows {'; '.join(what)}", (*r.path, "egress", e.index))


def _cilium_peers_nothing(state: _State) -> Iterator[tuple[Resource | None, Hit]]:
    model = state.model
    cil = model.cilium
    for r, res in _cilium(model):
        if cil is None:
            continue
        for entries in (r.ingress, r.egress, r.ingress_deny, r.egress_deny):
            for e in entries:
                fld = "fromEndpoints" if e.field.startswith("ingress") else "toEndpoints"
                for j, sel in enumerate(e.peers.endpoints):
                    if not sel.valid or any(q.key.startswith(RESERVED) for q in sel.requirements):
                        continue
                    pinned = [q.values[0] for q in sel.requirements
                              if q.key == NS_KEY and q.operator == "=" and q.values]
                    by_labels = any(q.key.startswith(NS_LABELS_PREFIX) for q in sel.requirements)
                    if pinned and not by_labels:
                        known = bool(model.by_namespace.get(pinned[0]))
                        candidates = model.by_namespace.get(pinned[0], [])
                    else:
                        known = state.complete
                        candidates = model.workloads
                    if not known or any(sel.matches(cil.labels(w)) for w in candidates
                                        if not w.host_network):
                        continue
                    yield res, Hit(f"{r.where(e)}.{fld}[{j}] ({sel}) matches no workload in "
                                   "the input", (*r.path, e.field, e.index, fld, j))


@inventory_rule(
    id="netpol.policy-selects-nothing",
    title="NetworkPolicy that selects no workload",
    severity=Severity.LOW,
    checklist=4,
    remediation="Fix spec.podSelector to the labels of the pods it is meant to protect "
    "(compare with the pod template labels), or delete the policy.",
    refs=Refs(cis=CIS_NETPOL, nsa=(NSA_NET,)),
)
def policy_selects_nothing(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """The policy's podSelector matches no pod template of its namespace in the input, so
    it isolates nothing: usually a label typo that leaves the intended pods open."""
    model = _state(ctx).model
    for p, res in _policies(model):
        if not model.by_namespace.get(p.namespace) or not p.selector.valid:
            continue  # no workloads of that namespace in the input: cannot tell
        if not model.selected_by(p):
            yield res, Hit(f"NetworkPolicy {p.name} selects no workload of namespace "
                           f"{p.namespace} (podSelector {p.selector})", ("spec", "podSelector"))
    yield from _cilium_selects_nothing(_state(ctx))


@inventory_rule(
    id="netpol.peer-matches-nothing",
    title="NetworkPolicy peer that matches no workload",
    severity=Severity.LOW,
    checklist=4,
    remediation="Fix the peer's podSelector / namespaceSelector to the labels of the pods "
    "and namespaces meant (namespaces carry kubernetes.io/metadata.name), or remove it.",
    refs=Refs(cis=CIS_NETPOL, nsa=(NSA_NET,)),
)
def peer_matches_nothing(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """A `from`/`to` peer whose selectors match no workload allows nothing: the traffic it was
    written for is denied (or, with a typo, the intended peer is not the one allowed)."""
    state = _state(ctx)
    model = state.model
    for p, res in _policies(model):
        for direction, rules in ((INGRESS, p.ingress), (EGRESS, p.egress)):
            fld, peers_field = _FIELDS[direction]
            for rule in rules:
                for j, peer in enumerate(rule.peers):
                    if not peer.valid or peer.ip_block is not None:
                        continue
                    if peer.namespace_selector is None:
                        known = bool(model.by_namespace.get(p.namespace))
                    else:
                        sel = peer.namespace_selector
                        known = state.complete or any(sel.matches(labels) and model.by_namespace.get(ns)
                                                      for ns, labels in model.namespaces.items())
                    if not known or model.peer_candidates(peer, p.namespace):
                        continue
                    parts = []
                    if peer.namespace_selector is not None:
                        parts.append(f"namespaceSelector {peer.namespace_selector}")
                    if peer.pod_selector is not None:
                        parts.append(f"podSelector {peer.pod_selector}")
                    yield res, Hit(f"NetworkPolicy {p.name}: {fld}[{rule.index}].{peers_field}[{j}] "
                                   f"({', '.join(parts)}) matches no workload in the input",
                                   ("spec", fld, rule.index, peers_field, j))
    yield from _cilium_peers_nothing(state)


@inventory_rule(
    id="netpol.allow-all-rule",
    title="NetworkPolicy rule that allows every peer",
    severity=Severity.MEDIUM,
    checklist=4,
    remediation="List the peers (podSelector / namespaceSelector / ipBlock) the rule is "
    "meant for; an empty `from`/`to` matches every pod and every external address.",
    refs=Refs(cis=CIS_NETPOL, nsa=(NSA_NET,), mitre=("T1210",)),
)
def allow_all_rule(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """A rule without peers (`{}`, or `from`/`to` absent or empty) matches every source or
    destination, in the cluster and outside it; without `ports` it allows everything."""
    for p, res in _policies(_state(ctx).model):
        for direction, rules in ((INGRESS, p.ingress), (EGRESS, p.egress)):
            if direction not in p.types:
                continue
            fld, peers_field = _FIELDS[direction]
            for rule in rules:
                if rule.peers:
                    continue
                scope = "on every port" if not rule.ports else "on the listed ports"
                who = "from every source" if direction == INGRESS else "to every destination"
                yield res, Hit(f"NetworkPolicy {p.name}: {fld}[{rule.index}] has no `{peers_field}` "
                               f"peers, so it allows {direction.lower()} {who} (pods and external "
                               f"addresses) {scope}", ("spec", fld, rule.index))
    yield from _cilium_allow_all(_state(ctx).model)


@inventory_rule(
    id="netpol.egress-to-internet",
    title="NetworkPolicy egress to 0.0.0.0/0",
    severity=Severity.MEDIUM,
    checklist=4,
    remediation="Replace the 0.0.0.0/0 (or ::/0) ipBlock with the CIDRs of the real "
    "destinations, or route egress through a proxy/egress gateway.",
    refs=Refs(cis=CIS_NETPOL, nsa=(NSA_NET,), mitre=("T1041",)),
)
def egress_to_internet(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """An egress ipBlock covering every address lets the selected pods reach the internet
    (exfiltration, command and control); `except` entries narrow it only slightly."""
    for p, res in _policies(_state(ctx).model):
        if EGRESS not in p.types:
            continue
        for rule in p.egress:
            for j, peer in enumerate(rule.peers):
                block = peer.ip_block
                if block is None or block.cidr.prefixlen != 0:
                    continue
                extra = (f" except {', '.join(str(e) for e in block.excepts)}"
                         if block.excepts else "")
                yield res, Hit(f"NetworkPolicy {p.name}: egress[{rule.index}].to[{j}] allows "
                               f"{block.cidr}{extra}", ("spec", "egress", rule.index, "to", j, "ipBlock"))
    yield from _cilium_internet(_state(ctx).model)


def _feature_hits(feats: list[CiliumFeature]) -> Iterator[tuple[Resource | None, Hit]]:
    for f in feats:
        yield f.policy, Hit(f"{f.policy.kind} {f.policy.name}: {f.feature} for workload "
                            f"{f.workload.key} ({f.detail})", f.path)


@inventory_rule(
    id="netpol.cilium-features",
    title="Cilium policy features per workload (L7 HTTP, toFQDNs, mutual auth)",
    severity=Severity.INFO,
    checklist=4,
    remediation="Nothing to fix: review that the L7 rules, FQDN allow-lists and mutual "
    "authentication cover the workloads they should; kubeward's reachability does not "
    "evaluate them.",
    refs=Refs(nsa=(NSA_NET,)),
)
def cilium_feature(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy rules that go beyond L3/L4:
    HTTP method/path rules, DNS-name egress (toFQDNs) and `authentication.mode: required`,
    listed per workload the endpointSelector selects."""
    yield from _feature_hits(cilium_features(ctx.inventory, _state(ctx).model))


@inventory_rule(
    id="netpol.calico-out-of-scope",
    title="Calico policy not evaluated",
    severity=Severity.INFO,
    checklist=4,
    remediation="Check the Calico policy with calicoctl; kubeward's NetworkPolicy coverage "
    "and reachability do not include it.",
    refs=Refs(nsa=(NSA_NET,)),
)
def calico_out_of_scope(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """Calico NetworkPolicy / GlobalNetworkPolicy can isolate pods too; kubeward recognises
    them and says so instead of ignoring them silently."""
    for group, kind in CALICO_KINDS:
        for res in ctx.inventory.of_kind(kind):
            if res.group == group:
                yield res, Hit(f"{kind} {res.name} ({group}) is out of scope: its rules are not part "
                               "of kubeward's NetworkPolicy coverage or reachability", ("spec",))

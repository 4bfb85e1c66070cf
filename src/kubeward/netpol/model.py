"""The exact NetworkPolicy model: workloads, namespaces, policies, and reachability.

Every point below cites the Kubernetes documentation
(NP = https://kubernetes.io/docs/concepts/services-networking/network-policies/) or the
networking.k8s.io/v1 API reference
(API = https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/):

  * `spec.podSelector` selects pods of the policy's own namespace; empty selects all of
    them (API: "An empty podSelector selects all pods in this namespace"). The field is not
    a pointer, so absent/null is the empty selector too (`selector_or_all`).
  * `policyTypes` defaults to ["Ingress"], plus "Egress" when `spec.egress` has rules
    (API: policyTypes; NP "Behavior of to and from selectors" / defaults.go).
  * Isolation is per direction: a pod is isolated for ingress (egress) when some policy
    that selects it has Ingress (Egress) in its policyTypes; otherwise all traffic in that
    direction is allowed (NP "The two sorts of pod isolation").
  * Policies are additive: what is allowed is the union of the rules of every policy that
    selects the pod for that direction; order does not matter (NP: "Network policies do
    not conflict; they are additive").
  * A connection is allowed only when the source's egress allows it AND the destination's
    ingress allows it (NP: "both the egress policy on the source pod and the ingress policy
    on the destination pod need to allow the connection").
  * A rule matches when one of its peers matches AND one of its ports matches; an absent
    or empty `from`/`to` matches every peer, an absent or empty `ports` every port
    (API: NetworkPolicyIngressRule.from / .ports, NetworkPolicyEgressRule.to / .ports).
  * A peer (API: NetworkPolicyPeer): `podSelector` alone - pods of the policy's namespace;
    `namespaceSelector` alone - all pods of the selected namespaces (`{}` = all
    namespaces); both - the selected pods in the selected namespaces (AND, NP "Behavior of
    to and from selectors"); `ipBlock` - the CIDR minus `except`. A peer with nothing set,
    or with ipBlock and a selector, is rejected by the API server and matches nothing here.
  * Namespaces carry the immutable label `kubernetes.io/metadata.name` (NP "Targeting a
    Namespace by its name").
  * ipBlock is meant for cluster-external IPs (NP: "IPBlock describes a particular CIDR ...
    cluster-external IPs, since Pod IPs are ephemeral"). Manifests carry no pod IPs, so here
    ipBlock peers match only external endpoints (`ip:CIDR`), never workloads.
  * Ports: see `kubeward.netpol.ports` (TCP default, named ports resolved against the
    destination's container ports, endPort ranges).
  * hostNetwork pods: behaviour is undefined by the API; the common implementation (NP
    "Behavior of hostNetwork pods") ignores them when matching pod/namespace selectors and
    does not isolate them. That is what this model does.
  * Cilium's reserved entities (`entity:host`, `entity:kube-apiserver`, ...) are endpoints
    too: no NetworkPolicy pod/namespace selector or ipBlock matches them (their addresses
    are not in the input), a rule without peers does; they are never isolated.
  * CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy L3/L4 rules join the same
    reachability when the input has any (`kubeward.netpol.cilium`, which cites Cilium's
    semantics): a direction is isolated when a NetworkPolicy OR a Cilium rule in default
    deny selects the pod; it then allows the union of what both kinds allow; Cilium deny
    rules then remove ports whatever allowed them.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Resource
from kubeward.k8s.pods import containers
from kubeward.k8s.selectors import Selector, label_selector, labels_of, selector_or_all
from kubeward.netpol.ports import ALL_PORTS, MAX_PORT, NO_PORTS, PROTOCOLS, PortSet

if TYPE_CHECKING:
    from kubeward.netpol.cilium import CiliumPolicies

__all__ = [
    "EGRESS",
    "INGRESS",
    "NS_NAME_LABEL",
    "DirectionResult",
    "Endpoint",
    "Entity",
    "External",
    "IPBlock",
    "Model",
    "NetPol",
    "Peer",
    "PolicyRule",
    "PortRule",
    "Verdict",
    "Workload",
    "build_model",
    "parse_policy",
    "policy_types",
]

INGRESS, EGRESS = "Ingress", "Egress"
NS_NAME_LABEL = "kubernetes.io/metadata.name"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def policy_types(spec: Mapping[str, Any]) -> frozenset[str]:
    """spec.policyTypes after defaulting: Ingress always, Egress when egress rules exist."""
    types = spec.get("policyTypes")
    if isinstance(types, list) and types:
        return frozenset(t for t in types if t in (INGRESS, EGRESS))
    egress = spec.get("egress")
    return frozenset({INGRESS, EGRESS}) if isinstance(egress, list) and egress else frozenset({INGRESS})


@dataclass(slots=True, frozen=True)
class Workload:
    """A pod template of the input: its namespace, name, kind and pod labels."""

    namespace: str
    name: str
    kind: str
    labels: Mapping[str, str]
    named_ports: Mapping[tuple[str, str], tuple[int, ...]]  # (name, protocol) -> numbers
    host_network: bool = False
    res: Resource | None = field(default=None, compare=False, hash=False)
    service_account: str = "default"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def __str__(self) -> str:
        return self.key


@dataclass(slots=True, frozen=True)
class External:
    """A cluster-external endpoint: one CIDR (a single address is a /32 or /128)."""

    network: Network

    def __str__(self) -> str:
        return f"ip:{self.network}"


@dataclass(slots=True, frozen=True)
class Entity:
    """A Cilium reserved identity that is not a pod: host, remote-node, kube-apiserver, ...
    (Cilium pkg/policy/api/entity.go; `world` is an External endpoint)."""

    name: str

    def __str__(self) -> str:
        return f"entity:{self.name}"


Endpoint = Workload | External | Entity


@dataclass(slots=True, frozen=True)
class IPBlock:
    cidr: Network
    excepts: tuple[Network, ...] = ()

    def covers(self, net: Network) -> bool:
        """Every address of `net` is in the CIDR and in none of the exceptions."""
        if net.version != self.cidr.version or not net.subnet_of(self.cidr):  # type: ignore[arg-type]
            return False
        return not any(net.version == e.version and net.overlaps(e) for e in self.excepts)


@dataclass(slots=True, frozen=True)
class Peer:
    pod_selector: Selector | None = None
    namespace_selector: Selector | None = None
    ip_block: IPBlock | None = None
    valid: bool = True


@dataclass(slots=True, frozen=True)
class PortRule:
    protocol: str = "TCP"
    port: int | str | None = None
    end_port: int | None = None

    def resolve(self, dst: Endpoint) -> PortSet:
        """The ports this entry allows towards `dst` (named ports need a workload)."""
        if self.port is None:
            return PortSet({self.protocol: [(1, MAX_PORT)]})
        if isinstance(self.port, int):
            end = self.end_port if self.end_port is not None else self.port
            return PortSet({self.protocol: [(self.port, end)]})
        if isinstance(dst, Workload):
            nums = dst.named_ports.get((self.port, self.protocol), ())
            return PortSet({self.protocol: [(n, n) for n in nums]})
        return NO_PORTS


@dataclass(slots=True, frozen=True)
class PolicyRule:
    index: int
    peers: tuple[Peer, ...]  # empty = every peer
    ports: tuple[PortRule, ...]  # empty = every port


@dataclass(slots=True, frozen=True)
class NetPol:
    name: str
    namespace: str
    selector: Selector
    types: frozenset[str]
    ingress: tuple[PolicyRule, ...]
    egress: tuple[PolicyRule, ...]
    res: Resource | None = field(default=None, compare=False, hash=False)

    def rules(self, direction: str) -> tuple[PolicyRule, ...]:
        return self.ingress if direction == INGRESS else self.egress

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


def _network(text: Any) -> Network | None:
    if not isinstance(text, str):
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _peer(raw: Any) -> Peer:
    if not isinstance(raw, dict):
        return Peer(valid=False)
    pod = label_selector(raw["podSelector"]) if raw.get("podSelector") is not None else None
    ns = (label_selector(raw["namespaceSelector"])
          if raw.get("namespaceSelector") is not None else None)
    block = None
    raw_block = raw.get("ipBlock")
    if isinstance(raw_block, dict):
        cidr = _network(raw_block.get("cidr"))
        excepts = raw_block.get("except")
        nets = [_network(e) for e in (excepts if isinstance(excepts, list) else [])]
        if cidr is None or any(n is None for n in nets):
            return Peer(valid=False)
        block = IPBlock(cidr, tuple(n for n in nets if n is not None))
    valid = (block is None) != (pod is None and ns is None)  # exactly one peer type
    return Peer(pod, ns, block, valid)


def _port(raw: Any) -> PortRule | None:
    if not isinstance(raw, dict):
        return None
    proto = raw.get("protocol") or "TCP"
    if proto not in PROTOCOLS:
        return None
    port = raw.get("port")
    if isinstance(port, bool) or not isinstance(port, (int, str, type(None))):
        return None
    if isinstance(port, str) and port.isdigit():
        port = int(port)  # IntOrString given as a quoted number
    end = raw.get("endPort")
    return PortRule(proto, port, end if isinstance(end, int) and isinstance(port, int) else None)


def _rules(raw: Any, peers_field: str) -> tuple[PolicyRule, ...]:
    out = []
    for i, rule in enumerate(raw if isinstance(raw, list) else []):
        rule = rule if isinstance(rule, dict) else {}
        peers = rule.get(peers_field)
        ports = rule.get("ports")
        parsed_ports = tuple(p for p in (_port(x) for x in (ports if isinstance(ports, list) else []))
                             if p is not None)
        if isinstance(ports, list) and ports and not parsed_ports:
            parsed_ports = (PortRule("TCP", "\0invalid"),)  # only invalid ports: matches none
        out.append(PolicyRule(i, tuple(_peer(p) for p in (peers if isinstance(peers, list) else [])),
                              parsed_ports))
    return tuple(out)


def parse_policy(obj: Mapping[str, Any], namespace: str, res: Resource | None = None) -> NetPol:
    """A networking.k8s.io/v1 NetworkPolicy object as a NetPol."""
    spec = obj.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return NetPol(str(name or "?"), namespace, selector_or_all(spec.get("podSelector")),
                  policy_types(spec), _rules(spec.get("ingress"), "from"),
                  _rules(spec.get("egress"), "to"), res)


@dataclass(slots=True, frozen=True)
class DirectionResult:
    """One direction of a connection: what it allows and why."""

    direction: str
    isolated: bool
    ports: PortSet
    allowed_by: tuple[tuple[NetPol, int], ...] = ()  # (policy, rule index)
    isolating: tuple[NetPol, ...] = ()
    exempt: str = ""  # why the direction is not subject to policies at all
    cilium_allowed_by: tuple[str, ...] = ()  # "CiliumNetworkPolicy ns/name ingress[0]"
    cilium_isolating: tuple[str, ...] = ()  # Cilium rules putting the pod in default deny
    denied: PortSet = NO_PORTS  # what Cilium deny rules take away
    denied_by: tuple[str, ...] = ()
    allowed_ports: tuple[PortSet, ...] = ()  # what each allowed_by rule allows
    cilium_allowed_ports: tuple[PortSet, ...] = ()  # what each cilium_allowed_by entry allows

    def because(self, port: int | None, protocol: str = "TCP") -> list[str]:
        """The rules that allow `port` (any port: every rule that allows something)."""
        out = []
        for (policy, index), ports in zip(self.allowed_by, self.allowed_ports, strict=False):
            if port is None or ports.contains(port, protocol):
                out.append(f"{policy} ({self.direction.lower()}[{index}])")
        for name, ports in zip(self.cilium_allowed_by, self.cilium_allowed_ports, strict=False):
            if port is None or ports.contains(port, protocol):
                out.append(name)
        return out


@dataclass(slots=True, frozen=True)
class Verdict:
    src: Endpoint
    dst: Endpoint
    egress: DirectionResult
    ingress: DirectionResult

    @property
    def ports(self) -> PortSet:
        return self.egress.ports.intersection(self.ingress.ports)

    def allows(self, port: int | None = None, protocol: str = "TCP") -> bool:
        if port is None:
            return bool(self.ports)
        return self.ports.contains(port, protocol)


class Model:
    """Namespaces (with labels), workloads and NetworkPolicies, and reachability over them."""

    def __init__(self, namespaces: Mapping[str, Mapping[str, str]],
                 workloads: Sequence[Workload], policies: Sequence[NetPol]) -> None:
        self.namespaces: dict[str, dict[str, str]] = {}
        for ns, labels in namespaces.items():
            self.namespaces[ns] = {**labels, NS_NAME_LABEL: ns}
        for ns in {*(x.namespace for x in workloads), *(p.namespace for p in policies)}:
            self.namespaces.setdefault(ns, {NS_NAME_LABEL: ns})
        self.workloads = list(workloads)
        self.policies = list(policies)
        self.by_namespace: dict[str, list[Workload]] = defaultdict(list)
        for w in self.workloads:
            self.by_namespace[w.namespace].append(w)
        self.policies_by_ns: dict[str, list[NetPol]] = defaultdict(list)
        for p in self.policies:
            self.policies_by_ns[p.namespace].append(p)
        # by id(w); each value keeps its workload alive so that no id is reused
        self._selecting: dict[tuple[int, str], tuple[Workload, tuple[NetPol, ...]]] = {}
        self._ns_match: dict[tuple[int, str], bool] = {}
        self.cilium: CiliumPolicies | None = None  # set by build_model when the input has any

    # -- selection -------------------------------------------------------------------------

    def selecting(self, w: Workload, direction: str) -> tuple[NetPol, ...]:
        """The policies that isolate `w` for `direction` (none for hostNetwork pods)."""
        key = (id(w), direction)
        hit = self._selecting.get(key)
        if hit is not None:
            return hit[1]
        found = () if w.host_network else tuple(
            p for p in self.policies_by_ns.get(w.namespace, ())
            if direction in p.types and p.selector.matches(w.labels))
        self._selecting[key] = (w, found)
        return found

    def selected_by(self, policy: NetPol) -> list[Workload]:
        return [w for w in self.by_namespace.get(policy.namespace, ())
                if not w.host_network and policy.selector.matches(w.labels)]

    def _ns_matches(self, sel: Selector, ns: str) -> bool:
        key = (id(sel), ns)
        hit = self._ns_match.get(key)
        if hit is None:
            hit = sel.matches(self.namespaces.get(ns, {NS_NAME_LABEL: ns}))
            self._ns_match[key] = hit
        return hit

    def peer_matches(self, peer: Peer, policy_ns: str, ep: Endpoint) -> bool:
        if not peer.valid:
            return False
        if isinstance(ep, External):
            return peer.ip_block is not None and peer.ip_block.covers(ep.network)
        if isinstance(ep, Entity) or peer.ip_block is not None or ep.host_network:
            return False  # pod IPs are unknown; hostNetwork pods are node traffic
        if peer.namespace_selector is not None:
            if not self._ns_matches(peer.namespace_selector, ep.namespace):
                return False
        elif ep.namespace != policy_ns:
            return False
        return peer.pod_selector is None or peer.pod_selector.matches(ep.labels)

    def peer_candidates(self, peer: Peer, policy_ns: str) -> list[Workload]:
        """Every workload of the model a peer matches."""
        if not peer.valid or peer.ip_block is not None:
            return []
        if peer.namespace_selector is None:
            namespaces: Iterable[str] = (policy_ns,)
        else:
            sel = peer.namespace_selector
            namespaces = [ns for ns in self.by_namespace if self._ns_matches(sel, ns)]
        return [w for ns in namespaces for w in self.by_namespace.get(ns, ())
                if self.peer_matches(peer, policy_ns, w)]

    # -- reachability ----------------------------------------------------------------------

    def direction(self, direction: str, src: Endpoint, dst: Endpoint) -> DirectionResult:
        subject, other = (src, dst) if direction == EGRESS else (dst, src)
        if isinstance(subject, External):
            return DirectionResult(direction, False, ALL_PORTS,
                                   exempt="cluster-external endpoint (not subject to policies)")
        if isinstance(subject, Entity):
            return DirectionResult(direction, False, ALL_PORTS,
                                   exempt=f"Cilium reserved entity {subject.name} (not subject to "
                                   "endpoint policies; host policies are not evaluated)")
        if subject.host_network:
            return DirectionResult(direction, False, ALL_PORTS,
                                   exempt="hostNetwork pod (not subject to policies)")
        policies = self.selecting(subject, direction)
        if not policies and self.cilium is None:
            return DirectionResult(direction, False, ALL_PORTS)
        ports = NO_PORTS
        allowed_by = []
        allowed_ports = []
        for policy in policies:
            for rule in policy.rules(direction):
                if rule.peers and not any(self.peer_matches(p, policy.namespace, other)
                                          for p in rule.peers):
                    continue
                if rule.ports:
                    rule_ports = NO_PORTS
                    for pr in rule.ports:
                        rule_ports = rule_ports.union(pr.resolve(dst))
                else:
                    rule_ports = ALL_PORTS
                if rule_ports:
                    ports = ports.union(rule_ports)
                    allowed_by.append((policy, rule.index))
                    allowed_ports.append(rule_ports)
        if self.cilium is None:
            return DirectionResult(direction, True, ports, tuple(allowed_by), policies,
                                   allowed_ports=tuple(allowed_ports))
        cil = self.cilium.evaluate(direction, subject, other, dst)
        isolated = bool(policies) or bool(cil.isolating)
        allowed = ports.union(cil.allowed) if isolated else ALL_PORTS
        return DirectionResult(direction, isolated, allowed.difference(cil.denied),
                               tuple(allowed_by), policies, "", cil.allowed_by, cil.isolating,
                               cil.denied, cil.denied_by, tuple(allowed_ports), cil.allowed_ports)

    def check(self, src: Endpoint, dst: Endpoint) -> Verdict:
        return Verdict(src, dst, self.direction(EGRESS, src, dst), self.direction(INGRESS, src, dst))

    def can_reach(self, src: Endpoint, dst: Endpoint, port: int | None = None,
                  protocol: str = "TCP") -> bool:
        return self.check(src, dst).allows(port, protocol)

    def matrix(self, namespace: str) -> list[tuple[Workload, Workload, PortSet]]:
        ws = self.by_namespace.get(namespace, [])
        return [(a, b, self.check(a, b).ports) for a in ws for b in ws]


# -- building from an inventory ------------------------------------------------------------


def _named_ports(spec: Mapping[str, Any]) -> dict[tuple[str, str], tuple[int, ...]]:
    out: dict[tuple[str, str], list[int]] = defaultdict(list)
    for c in containers(spec):
        ports = c.spec.get("ports")
        for p in ports if isinstance(ports, list) else []:
            if isinstance(p, dict) and isinstance(p.get("name"), str) and \
                    isinstance(p.get("containerPort"), int):
                out[(p["name"], p.get("protocol") or "TCP")].append(p["containerPort"])
    return {k: tuple(v) for k, v in out.items()}


def build_model(inventory: Inventory) -> Model:
    """Workloads = pod templates (labels from the template, namespace from the object,
    "default" when unset); namespaces = Namespace objects plus namespaces named by objects;
    policies = networking.k8s.io NetworkPolicies, plus the Cilium policies (cilium.io)."""
    namespaces: dict[str, dict[str, str]] = {}
    for ns, res in inventory.namespaces.items():
        namespaces[ns] = labels_of(res.metadata.get("labels")) if res is not None else {}
    workloads = []
    for res, pod in inventory.pod_templates:
        if res.kind == "PodTemplate" or inventory.controlled_in_input(res):
            continue
        sa = pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount")
        workloads.append(Workload(res.namespace or "default", res.name, res.kind,
                                  labels_of(pod.metadata.get("labels")), _named_ports(pod.spec),
                                  pod.spec.get("hostNetwork") is True, res,
                                  sa if isinstance(sa, str) and sa else "default"))
    policies = [parse_policy(res.obj, res.namespace or "default", res)
                for res in inventory.of_kind("NetworkPolicy") if res.group == "networking.k8s.io"]
    model = Model(namespaces, workloads, policies)
    from kubeward.netpol.cilium import build_cilium

    model.cilium = build_cilium(inventory, model)
    return model

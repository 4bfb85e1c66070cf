"""Cilium L3/L4 policies (cilium.io/v2 CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy).

Sources: the policy language (LANG = https://docs.cilium.io/en/stable/security/policy/language/),
deny policies (DENY = https://docs.cilium.io/en/stable/security/policy/language/#deny-policies),
enforcement modes (MODES = https://docs.cilium.io/en/stable/security/policy/intro/) and
Cilium's code: pkg/policy/api/{rule,ingress,egress,selector,entity,l4}.go,
pkg/policy/rule.go (mergeIngress / mergeEgress), pkg/policy/types utils
(mergeEndpointSelectors, evaluateDefaultDenyForRule), pkg/k8s/apis/cilium.io/utils/utils.go
(ParseToCiliumRule, getEndpointSelector) and pkg/identity (reserved identities).

Policies and rules
  * A policy holds one rule in `spec` and/or a list of rules in `specs` (api.Rules); each
    rule is evaluated on its own (LANG "Policy Rule"; ciliumv2 CiliumNetworkPolicy.Parse).
  * A rule selects endpoints with `endpointSelector` or nodes with `nodeSelector`, never
    both (rule_validation.go Sanitize). Node (host-firewall) rules select no pod here.
  * A CiliumNetworkPolicy's `endpointSelector` always gets `k8s:io.kubernetes.pod.namespace
    = <policy namespace>` added (a `k8s:`-prefixed match on another namespace is replaced,
    utils.go ParseToCiliumRule); a clusterwide policy's is used as written.
  * Label keys carry a source prefix: `k8s:` and `any:` (or none) match pod labels;
    `reserved:<name>` matches the reserved identities (host, world, ...); other sources
    match no pod (labels.go, selector.go). Pods carry `io.kubernetes.pod.namespace`,
    `io.cilium.k8s.namespace.labels.<key>` for each label of their namespace and
    `io.cilium.k8s.policy.serviceaccount` (LANG "Namespaces", "ServiceAccounts") and
    `io.cilium.k8s.policy.cluster` (taken as `default`, Cilium's default cluster name).
  * Default deny (MODES "default" mode; evaluateDefaultDenyForRule): a rule puts the endpoints
    it selects in default deny for ingress when `enableDefaultDeny.ingress` is true, or,
    unset, when it has at least one `ingress` or `ingressDeny` entry (`ingress: []` has
    none); the same for egress. One such rule is enough ("any policy requests it").
Peers (L3) of an ingress/egress entry
  * The L3 selectors are fromEndpoints/toEndpoints, fromEntities/toEntities, fromCIDR(Set)/
    toCIDR(Set), toServices, toFQDNs, fromNodes/toNodes, fromGroups/toGroups; the entry
    matches a peer when any of them does (GetSourceEndpointSelectorsWithRequirements).
  * A field given as an empty list selects nothing and the entry allows nothing
    (mergeEndpointSelectors: "empty non-nil slices ... should not result in any identity
    being selected").
  * No L3 field: with `toPorts` the entry allows every peer on those ports ("an empty slice
    of EndpointSelector indicates that the rule allows all at L3", rule.go mergeIngress);
    without `toPorts` it allows nothing - so `ingress: [{}]` only switches default deny on.
  * Endpoint selectors of a CiliumNetworkPolicy are restricted to the policy's namespace
    unless they name `io.kubernetes.pod.namespace` or a `io.cilium.k8s.namespace.labels.*`
    key; those of a clusterwide policy get `io.kubernetes.pod.namespace` Exists, so `{}`
    means every pod of the cluster and no reserved identity; selectors on `reserved:` keys
    are left as written (utils.go getEndpointSelector; LANG "Namespaces").
  * fromRequires/toRequires: every requirement of every rule selecting the endpoint is
    ANDed into every fromEndpoints/toEndpoints selector of those rules (allow and deny
    sides separately); they grant nothing on their own (ingress.go FromRequires,
    repository requirements folding). Requirement selectors get the same namespace
    treatment. Their effect on translated Kubernetes NetworkPolicies is not modelled.
  * Entities (entity.go EntitySelectorMapping, InitEntities): `all` every peer; `world`
    (`world-ipv4`, `world-ipv6`) cluster-external addresses; `cluster` every pod plus host,
    remote-node, kube-apiserver, health, init, ingress, unmanaged; `host`, `remote-node`,
    `kube-apiserver` (whose identity also carries the remote-node label, identity.go
    reservedIdentityLabels), `health`, `init`, `ingress`, `unmanaged`; `none` nothing.
    A hostNetwork pod has the node's identity: host or remote-node depending on placement,
    which the input does not tell, so it matches both.
  * CIDR / CIDRSet (with `except`) match only cluster-external endpoints: "Only connections
    which do *not* originate from the cluster or from the local host are subject to CIDR
    rules" (ingress.go FromCIDR). An `ip:CIDR` endpoint matches when every address of it is
    in the CIDR and in no exception. cidrGroupRef / cidrGroupSelector are not resolved.
  * toServices (best effort): `k8sService` {serviceName, namespace (default: the policy's)}
    and `k8sServiceSelector` {selector, namespace} name Services of the input; they match
    the pods the Service's `spec.selector` selects. Services without selector (and
    toFQDNs, nodes, groups) match no endpoint of the input: their addresses are not known.
Ports (L4) - api.PortRule / PortProtocol (l4.go)
  * `toPorts[].ports[]`: `port` is a number, a named port (resolved against the
    destination pod's container ports, `endPort` ignored) or "0"/absent for every port;
    `endPort` makes port..endPort; `protocol` TCP, UDP, SCTP or ANY (the default, written in
    any case) - ANY is TCP, UDP and SCTP (mergeIngress iterates the three).
  * An entry lists ports from all its `toPorts`; a `toPorts` item without ports adds none.
    ICMP rules (`icmps`) allow nothing TCP/UDP/SCTP but still make the entry L4-only.
  * L7 rules (`rules.http`, ...) filter requests on an allowed port; the port counts as
    allowed here and netpol.cilium-features reports the L7 part.
Combination (DENY; LANG "Ingress/Egress"; MODES)
  * Cilium enforces Kubernetes NetworkPolicies and its own policies together: an endpoint
    is isolated for a direction when a NetworkPolicy (policyTypes) or a Cilium rule in
    default deny selects it; an isolated direction allows the union of everything the
    NetworkPolicies and the Cilium allow entries allow; `ingressDeny`/`egressDeny` entries
    then deny their peers/ports whatever allows them ("Deny policies take precedence over
    allow policies, regardless of whether they are a Cilium Network Policy, a Clusterwide
    Cilium Network Policy or even a Kubernetes Network Policy").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubeward.inventory.resource import Resource
from kubeward.k8s.selectors import NOTHING, Selector, label_selector, labels_of, selector_from_set
from kubeward.netpol.model import EGRESS, INGRESS, Endpoint, Entity, External, IPBlock, Workload
from kubeward.netpol.ports import ALL_PORTS, MAX_PORT, NO_PORTS, PROTOCOLS, PortSet

if TYPE_CHECKING:
    from kubeward.inventory.index import Inventory
    from kubeward.netpol.model import Model

__all__ = [
    "CILIUM_KINDS",
    "CLUSTER_ENTITIES",
    "ENTITY_NAMES",
    "NS_KEY",
    "CiliumEntry",
    "CiliumPeers",
    "CiliumPolicies",
    "CiliumRule",
    "CiliumVerdict",
    "build_cilium",
    "cilium_labels",
    "entity_names",
    "parse_cilium",
    "peer_selector",
]

CILIUM_KINDS = (("cilium.io", "CiliumNetworkPolicy"), ("cilium.io", "CiliumClusterwideNetworkPolicy"))
NS_KEY = "io.kubernetes.pod.namespace"
NS_LABELS_PREFIX = "io.cilium.k8s.namespace.labels."
SA_KEY = "io.cilium.k8s.policy.serviceaccount"
CLUSTER_KEY = "io.cilium.k8s.policy.cluster"
CLUSTER_NAME = "default"  # Cilium's default cluster-name; the input does not tell another
RESERVED = "reserved.cilium.io/"  # how `reserved:<name>` label keys are represented here

#: Entities of the policy language (entity.go, CRD enum).
ENTITY_NAMES = frozenset({"all", "world", "world-ipv4", "world-ipv6", "cluster", "host", "init",
                          "ingress", "unmanaged", "remote-node", "health", "none",
                          "kube-apiserver"})
#: Reserved identities that `cluster` covers besides the pods (entity.go InitEntities).
CLUSTER_ENTITIES = frozenset({"host", "remote-node", "init", "ingress", "health", "unmanaged",
                              "kube-apiserver"})
_ALLOW = {INGRESS: "ingress", EGRESS: "egress"}
_DENY = {INGRESS: "ingressDeny", EGRESS: "egressDeny"}
_PEER_FIELDS = {
    INGRESS: ("fromEndpoints", "fromRequires", "fromEntities", "fromCIDR", "fromCIDRSet",
              "fromNodes", "fromGroups"),
    EGRESS: ("toEndpoints", "toRequires", "toEntities", "toCIDR", "toCIDRSet", "toServices",
             "toFQDNs", "toNodes", "toGroups"),
}

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_MALFORMED = Selector(errors=("not a label selector (matchLabels mapping, matchExpressions list)",))


# --------------------------------------------------------------------------- identities


def entity_names(ep: Endpoint) -> frozenset[str]:
    """The entities whose selectors select this endpoint (entity.go, identity.go)."""
    if isinstance(ep, External):
        return frozenset({"all", "world", "world-ipv4" if ep.network.version == 4 else "world-ipv6"})
    if isinstance(ep, Entity):
        names = {"all", ep.name}
        if ep.name in CLUSTER_ENTITIES:
            names.add("cluster")
        if ep.name == "kube-apiserver":
            names.add("remote-node")
        return frozenset(names)
    if ep.host_network:
        return frozenset({"all", "cluster", "host", "remote-node"})
    return frozenset({"all", "cluster"})


def cilium_labels(labels: Mapping[str, str], namespace: str, ns_labels: Mapping[str, str],
                  service_account: str = "default") -> dict[str, str]:
    """The security-identity labels of a pod, keys without their `k8s:` source prefix."""
    out = dict(labels)
    out[NS_KEY] = namespace
    out[SA_KEY] = service_account
    out[CLUSTER_KEY] = CLUSTER_NAME
    for k, v in ns_labels.items():
        out[NS_LABELS_PREFIX + k] = v
    return out


def _reserved_labels(ep: Endpoint) -> dict[str, str]:
    return {RESERVED + name: "" for name in entity_names(ep) if name not in ("all", "cluster")}


# --------------------------------------------------------------------------- selectors


def _key(raw: Any) -> Any:
    """A selector key without its source prefix (`k8s:`, `any:`); `reserved:x` kept apart."""
    if not isinstance(raw, str):
        return raw
    source, sep, rest = raw.partition(":")
    if not sep:
        return raw
    if source in ("k8s", "any"):
        return rest
    if source == "reserved":
        return RESERVED + rest
    return f"{source}.source.cilium.io/{rest}"  # another source: matches no pod


def _normalized(raw: Any, drop_k8s_ns: bool = False
                ) -> tuple[dict[str, Any], list[Any], set[str]] | None:
    if not isinstance(raw, Mapping):
        return None
    labels = raw.get("matchLabels")
    exprs = raw.get("matchExpressions")
    if labels is not None and not isinstance(labels, Mapping):
        return None
    if exprs is not None and not isinstance(exprs, list):
        return None
    ml: dict[str, Any] = {}
    keys: set[str] = set()
    for k, v in (labels or {}).items():
        if drop_k8s_ns and k == "k8s:" + NS_KEY:
            continue  # ParseToCiliumRule replaces it with the policy's namespace
        nk = _key(k)
        if nk in ml and ml[nk] != v:
            return {}, [{"key": str(nk), "operator": "In", "values": []}], keys  # contradiction
        ml[nk] = v
        keys.add(str(nk))
    out_exprs: list[Any] = []
    for e in exprs or []:
        if isinstance(e, Mapping):
            nk = _key(e.get("key"))
            keys.add(str(nk))
            out_exprs.append({**e, "key": nk})
        else:
            out_exprs.append(e)
    return ml, out_exprs, keys


def _build(ml: Mapping[str, Any], exprs: list[Any]) -> Selector:
    return label_selector({"matchLabels": dict(ml), "matchExpressions": exprs})


def subject_selector(raw: Any, namespace: str | None) -> Selector:
    """endpointSelector, restricted to the policy's namespace for a namespaced policy."""
    parts = _normalized(raw, drop_k8s_ns=namespace is not None)
    if parts is None:
        return _MALFORMED
    ml, exprs, _ = parts
    if namespace is not None:
        if ml.get(NS_KEY, namespace) != namespace:
            return NOTHING  # an `any:` match on another namespace AND the policy's namespace
        ml[NS_KEY] = namespace
    return _build(ml, exprs)


def peer_selector(raw: Any, namespace: str | None) -> Selector:
    """A fromEndpoints/toEndpoints/...Requires selector after getEndpointSelector."""
    parts = _normalized(raw)
    if parts is None:
        return _MALFORMED
    ml, exprs, keys = parts
    if any(k.startswith(RESERVED) for k in keys) or NS_KEY in keys:
        return _build(ml, exprs)
    if namespace is None:
        exprs = [*exprs, {"key": NS_KEY, "operator": "Exists"}]
    elif not any(k.startswith(NS_LABELS_PREFIX) for k in keys):
        ml[NS_KEY] = namespace
    return _build(ml, exprs)


# --------------------------------------------------------------------------- rules


def _network(text: Any) -> Network | None:
    if not isinstance(text, str):
        return None
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _cidr_rule(raw: Any) -> IPBlock | None:
    if isinstance(raw, str):
        net = _network(raw)
        return IPBlock(net) if net is not None else None
    if not isinstance(raw, Mapping):
        return None
    net = _network(raw.get("cidr"))
    excepts = raw.get("except")
    nets = [_network(e) for e in (excepts if isinstance(excepts, list) else [])]
    if net is None or any(n is None for n in nets):
        return None  # cidrGroupRef / cidrGroupSelector / malformed: not resolved
    return IPBlock(net, tuple(n for n in nets if n is not None))


@dataclass(slots=True, frozen=True)
class ServiceRef:
    """A toServices item: a Service by name, or Services by label selector."""

    namespace: str | None  # None: every namespace (clusterwide selector form)
    name: str | None = None
    selector: Selector | None = None


@dataclass(slots=True, frozen=True)
class CiliumPeers:
    """The L3 part of one ingress/egress entry."""

    endpoints: tuple[Selector, ...] = ()
    entities: frozenset[str] = frozenset()
    cidrs: tuple[IPBlock, ...] = ()
    services: tuple[ServiceRef, ...] = ()
    requires: tuple[Selector, ...] = ()
    present: bool = False  # some L3 field is set (so the entry is not an L3 wildcard)
    empty_field: bool = False  # an L3 field given as an empty list: selects nothing
    unresolved: tuple[str, ...] = ()  # toFQDNs, nodes, groups, cidrGroupRef: not evaluated


@dataclass(slots=True, frozen=True)
class CiliumPort:
    protocols: tuple[str, ...]
    port: int | str | None = None  # None: every port
    end_port: int | None = None

    def resolve(self, dst: Endpoint) -> PortSet:
        if self.port is None:
            return PortSet({p: [(1, MAX_PORT)] for p in self.protocols})
        if isinstance(self.port, int):
            end = self.end_port if self.end_port and self.end_port > self.port else self.port
            return PortSet({p: [(self.port, end)] for p in self.protocols})
        if not isinstance(dst, Workload):
            return NO_PORTS
        return PortSet({p: [(n, n) for n in dst.named_ports.get((self.port, p), ())]
                        for p in self.protocols})


@dataclass(slots=True, frozen=True)
class CiliumEntry:
    """One item of `ingress`, `egress`, `ingressDeny` or `egressDeny`."""

    field: str
    index: int
    peers: CiliumPeers
    ports: tuple[CiliumPort, ...] | None  # None: no toPorts and no icmps (L3 only)
    l7: bool = False

    def port_set(self, dst: Endpoint) -> PortSet:
        if self.ports is None:
            return ALL_PORTS
        out = NO_PORTS
        for p in self.ports:
            out = out.union(p.resolve(dst))
        return out


@dataclass(slots=True, frozen=True)
class CiliumRule:
    """One rule (`spec` or `specs[i]`) of a Cilium policy."""

    kind: str
    name: str
    namespace: str | None  # None for a clusterwide policy
    path: tuple[str | int, ...]
    selector: Selector | None  # None: a nodeSelector (host) rule or no valid selector
    node: bool
    default_deny: frozenset[str]
    ingress: tuple[CiliumEntry, ...] = ()
    egress: tuple[CiliumEntry, ...] = ()
    ingress_deny: tuple[CiliumEntry, ...] = ()
    egress_deny: tuple[CiliumEntry, ...] = ()
    res: Resource | None = field(default=None, compare=False, hash=False)

    def allows(self, direction: str) -> tuple[CiliumEntry, ...]:
        return self.ingress if direction == INGRESS else self.egress

    def denies(self, direction: str) -> tuple[CiliumEntry, ...]:
        return self.ingress_deny if direction == INGRESS else self.egress_deny

    @property
    def policy(self) -> str:
        ref = self.name if self.namespace is None else f"{self.namespace}/{self.name}"
        return f"{self.kind} {ref}"

    def where(self, entry: CiliumEntry | None = None) -> str:
        base = "" if self.path == ("spec",) else "specs[" + str(self.path[1]) + "]."
        if entry is None:
            return f"{self.policy}" + (f" {base[:-1]}" if base else "")
        return f"{self.policy} {base}{entry.field}[{entry.index}]"

    def selects(self, labels: Mapping[str, str], namespace: str) -> bool:
        """Does the rule select a pod with these identity labels in this namespace?"""
        if self.selector is None:
            return False
        if self.namespace is not None and self.namespace != namespace:
            return False
        return self.selector.matches(labels)


def _ports(raw_ports: Any, raw_icmps: Any) -> tuple[CiliumPort, ...] | None:
    if not (isinstance(raw_ports, list) and raw_ports) and not (
            isinstance(raw_icmps, list) and raw_icmps):
        return None
    out: list[CiliumPort] = []
    for pr in raw_ports if isinstance(raw_ports, list) else []:
        items = pr.get("ports") if isinstance(pr, Mapping) else None
        for pp in items if isinstance(items, list) else []:
            if not isinstance(pp, Mapping):
                continue
            proto = pp.get("protocol")
            proto = str(proto).upper() if proto not in (None, "") else "ANY"
            protocols = PROTOCOLS if proto == "ANY" else (proto,) if proto in PROTOCOLS else ()
            if not protocols:
                continue  # ICMP, VRRP, IGMP: not TCP/UDP/SCTP
            port = pp.get("port")
            if isinstance(port, bool):
                continue
            if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
                num = int(port)
                if num == 0:
                    out.append(CiliumPort(protocols))
                elif num <= MAX_PORT:
                    end = pp.get("endPort")
                    out.append(CiliumPort(protocols, num, end if isinstance(end, int)
                                          and not isinstance(end, bool) else None))
            elif port in (None, ""):
                out.append(CiliumPort(protocols))
            elif isinstance(port, str):
                out.append(CiliumPort(protocols, port.lower()))
    return tuple(out)


def _has_l7(raw_ports: Any) -> bool:
    for pr in raw_ports if isinstance(raw_ports, list) else []:
        rules = pr.get("rules") if isinstance(pr, Mapping) else None
        if isinstance(rules, Mapping) and any(rules.get(k) for k in ("http", "kafka", "dns", "l7")):
            return True
    return False


def _service_refs(raw: Any, namespace: str | None) -> tuple[ServiceRef, ...]:
    out = []
    for item in raw if isinstance(raw, list) else []:
        if not isinstance(item, Mapping):
            continue
        svc = item.get("k8sService")
        if isinstance(svc, Mapping) and isinstance(svc.get("serviceName"), str):
            ns = svc.get("namespace") or namespace or "default"
            out.append(ServiceRef(str(ns), svc["serviceName"]))
        sel = item.get("k8sServiceSelector")
        if isinstance(sel, Mapping):
            ns = sel.get("namespace") or namespace
            out.append(ServiceRef(str(ns) if ns else None,
                                  selector=label_selector(sel.get("selector") or {})))
    return tuple(out)


def _peers(raw: Mapping[str, Any], direction: str, namespace: str | None) -> CiliumPeers:
    f_eps, f_req, f_ent, f_cidr, f_cidrset = _PEER_FIELDS[direction][:5]
    present = False
    empty = False
    unresolved: list[str] = []
    for name in _PEER_FIELDS[direction]:
        if name == f_req or name not in raw or raw[name] is None:
            continue
        present = True
        if isinstance(raw[name], list) and not raw[name]:
            empty = True
        if name in ("toFQDNs", "fromNodes", "toNodes", "fromGroups", "toGroups"):
            unresolved.append(name)
    eps = raw.get(f_eps)
    endpoints = tuple(peer_selector(s, namespace) for s in (eps if isinstance(eps, list) else []))
    req = raw.get(f_req)
    requires = tuple(peer_selector(s, namespace) for s in (req if isinstance(req, list) else []))
    ents = raw.get(f_ent)
    entities = frozenset(str(e) for e in (ents if isinstance(ents, list) else []))
    cidrs: list[IPBlock] = []
    for fld in (f_cidr, f_cidrset):
        items = raw.get(fld)
        for item in items if isinstance(items, list) else []:
            block = _cidr_rule(item)
            if block is None:
                unresolved.append(fld)
            else:
                cidrs.append(block)
    services = _service_refs(raw.get("toServices"), namespace) if direction == EGRESS else ()
    return CiliumPeers(endpoints, entities, tuple(cidrs), services, requires, present, empty,
                       tuple(dict.fromkeys(unresolved)))


def _entries(raw: Any, fld: str, direction: str, namespace: str | None) -> tuple[CiliumEntry, ...]:
    out = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        item = item if isinstance(item, Mapping) else {}
        out.append(CiliumEntry(fld, i, _peers(item, direction, namespace),
                               _ports(item.get("toPorts"), item.get("icmps")),
                               _has_l7(item.get("toPorts"))))
    return tuple(out)


def _rule_sections(obj: Mapping[str, Any]) -> Iterator[tuple[tuple[str | int, ...], Mapping[str, Any]]]:
    spec = obj.get("spec")
    if isinstance(spec, Mapping):
        yield ("spec",), spec
    specs = obj.get("specs")
    for i, s in enumerate(specs if isinstance(specs, list) else []):
        if isinstance(s, Mapping):
            yield ("specs", i), s


def parse_cilium(obj: Mapping[str, Any], kind: str, namespace: str | None,
                 res: Resource | None = None) -> list[CiliumRule]:
    """The rules of one Cilium policy; `namespace` None for a clusterwide policy."""
    meta = obj.get("metadata")
    name = str((meta.get("name") if isinstance(meta, Mapping) else None) or "?")
    out = []
    for path, rule in _rule_sections(obj):
        ep_raw, node_raw = rule.get("endpointSelector"), rule.get("nodeSelector")
        node = node_raw is not None and ep_raw is None
        selector = subject_selector(ep_raw, namespace) if ep_raw is not None and node_raw is None \
            else None
        dd = rule.get("enableDefaultDeny")
        dd = dd if isinstance(dd, Mapping) else {}
        deny_dirs = set()
        for direction in (INGRESS, EGRESS):
            explicit = dd.get(direction.lower())
            if isinstance(explicit, bool):
                on = explicit
            else:
                on = any(isinstance(rule.get(f), list) and rule.get(f)
                         for f in (_ALLOW[direction], _DENY[direction]))
            if on:
                deny_dirs.add(direction)
        out.append(CiliumRule(
            kind, name, namespace, path, selector, node, frozenset(deny_dirs),
            _entries(rule.get("ingress"), "ingress", INGRESS, namespace),
            _entries(rule.get("egress"), "egress", EGRESS, namespace),
            _entries(rule.get("ingressDeny"), "ingressDeny", INGRESS, namespace),
            _entries(rule.get("egressDeny"), "egressDeny", EGRESS, namespace), res))
    return out


# --------------------------------------------------------------------------- evaluation


@dataclass(slots=True, frozen=True)
class CiliumVerdict:
    """One direction of a connection as the Cilium rules see it."""

    isolating: tuple[str, ...]  # rules putting the subject in default deny
    allowed: PortSet
    allowed_by: tuple[str, ...]
    denied: PortSet
    denied_by: tuple[str, ...]
    allowed_ports: tuple[PortSet, ...] = ()  # per allowed_by entry


@dataclass(slots=True, frozen=True)
class _Service:
    namespace: str
    name: str
    labels: Mapping[str, str]
    selector: Selector | None  # None: no spec.selector (endpoints managed by hand)


class CiliumPolicies:
    """The Cilium rules of an input, evaluated against the workloads of a Model."""

    def __init__(self, rules: Sequence[CiliumRule], namespaces: Mapping[str, Mapping[str, str]],
                 services: Sequence[_Service] = ()) -> None:
        self.rules = list(rules)
        self.by_namespace: dict[str | None, list[CiliumRule]] = {}
        for r in self.rules:
            self.by_namespace.setdefault(r.namespace, []).append(r)
        self.namespaces = namespaces
        self.services = list(services)
        # caches by id(); each value keeps its endpoint alive so that no id is reused
        self._labels: dict[int, tuple[Endpoint, Mapping[str, str]]] = {}
        self._selecting: dict[int, tuple[Workload, tuple[CiliumRule, ...]]] = {}
        self._reqs: dict[tuple[int, str, bool], tuple[Workload, tuple[Selector, ...]]] = {}

    def labels(self, ep: Endpoint) -> Mapping[str, str]:
        hit = self._labels.get(id(ep))
        if hit is not None:
            return hit[1]
        if isinstance(ep, Workload) and not ep.host_network:
            found = cilium_labels(ep.labels, ep.namespace, self.namespaces.get(ep.namespace, {}),
                                  ep.service_account)
        else:
            found = _reserved_labels(ep)
        self._labels[id(ep)] = (ep, found)
        return found

    def selecting(self, w: Workload) -> tuple[CiliumRule, ...]:
        """The rules whose endpointSelector selects `w` (never a hostNetwork pod)."""
        hit = self._selecting.get(id(w))
        if hit is not None:
            return hit[1]
        labels = self.labels(w)
        found = () if w.host_network else tuple(
            r for r in (*self.by_namespace.get(w.namespace, ()), *self.by_namespace.get(None, ()))
            if r.selects(labels, w.namespace))
        self._selecting[id(w)] = (w, found)
        return found

    def selected_by(self, rule: CiliumRule, workloads: Sequence[Workload]) -> list[Workload]:
        return [w for w in workloads if not w.host_network and rule.selects(self.labels(w), w.namespace)]

    def isolating(self, w: Workload, direction: str) -> tuple[CiliumRule, ...]:
        return tuple(r for r in self.selecting(w) if direction in r.default_deny)

    def _requirements(self, w: Workload, direction: str, deny: bool) -> tuple[Selector, ...]:
        key = (id(w), direction, deny)
        hit = self._reqs.get(key)
        if hit is not None:
            return hit[1]
        found = tuple(req for r in self.selecting(w)
                      for e in (r.denies(direction) if deny else r.allows(direction))
                      for req in e.peers.requires)
        self._reqs[key] = (w, found)
        return found

    def _service_matches(self, ref: ServiceRef, ep: Workload) -> bool:
        for svc in self.services:
            if ref.namespace is not None and svc.namespace != ref.namespace:
                continue
            if ref.name is not None and svc.name != ref.name:
                continue
            if ref.selector is not None and not ref.selector.matches(svc.labels):
                continue
            if svc.selector is not None and svc.namespace == ep.namespace \
                    and svc.selector.matches(ep.labels):
                return True
        return False

    def peer_matches(self, peers: CiliumPeers, other: Endpoint,
                     requires: tuple[Selector, ...] = ()) -> bool:
        """Does an entry's L3 part select `other`? (An L3 wildcard is handled by the caller.)"""
        if peers.empty_field or not peers.present:
            return False
        if peers.endpoints:
            labels = self.labels(other)
            if any(s.matches(labels) for s in peers.endpoints) and \
                    all(r.matches(labels) for r in requires):
                return True
        if peers.entities and peers.entities & entity_names(other):
            return True
        if peers.cidrs and isinstance(other, External) and \
                any(b.covers(other.network) for b in peers.cidrs):
            return True
        return bool(peers.services) and isinstance(other, Workload) and not other.host_network \
            and any(self._service_matches(s, other) for s in peers.services)

    def entry_ports(self, entry: CiliumEntry, other: Endpoint, dst: Endpoint,
                    requires: tuple[Selector, ...]) -> PortSet:
        """What one entry allows (or denies) between the subject and `other`."""
        if not entry.peers.present:
            if entry.ports is None:
                return NO_PORTS  # no L3 and no L4: selects nothing (`- {}`)
        elif not self.peer_matches(entry.peers, other, requires):
            return NO_PORTS
        return entry.port_set(dst)

    def evaluate(self, direction: str, subject: Workload, other: Endpoint,
                 dst: Endpoint) -> CiliumVerdict:
        rules = self.selecting(subject)
        allowed, denied = NO_PORTS, NO_PORTS
        allowed_by: list[str] = []
        allowed_ports: list[PortSet] = []
        denied_by: list[str] = []
        if rules:
            reqs = self._requirements(subject, direction, False)
            deny_reqs = self._requirements(subject, direction, True)
            for r in rules:
                for e in r.allows(direction):
                    ports = self.entry_ports(e, other, dst, reqs)
                    if ports:
                        allowed = allowed.union(ports)
                        allowed_by.append(r.where(e) + (" (L7 rules apply)" if e.l7 else ""))
                        allowed_ports.append(ports)
                for e in r.denies(direction):
                    ports = self.entry_ports(e, other, dst, deny_reqs)
                    if ports:
                        denied = denied.union(ports)
                        denied_by.append(r.where(e))
        isolating = tuple(r.where() for r in rules if direction in r.default_deny)
        return CiliumVerdict(isolating, allowed, tuple(allowed_by), denied, tuple(denied_by),
                             tuple(allowed_ports))


def _services(inventory: Inventory) -> list[_Service]:
    out = []
    for res in inventory.of_kind("Service"):
        spec = res.obj.get("spec")
        raw = spec.get("selector") if isinstance(spec, Mapping) else None
        sel = selector_from_set(raw) if isinstance(raw, Mapping) and raw else None
        out.append(_Service(res.namespace or "default", res.name,
                            labels_of(res.metadata.get("labels")), sel))
    return out


def cilium_rules(inventory: Inventory) -> list[CiliumRule]:
    """Every rule of every Cilium policy of the input (namespace "default" when unset)."""
    out: list[CiliumRule] = []
    for group, kind in CILIUM_KINDS:
        for res in inventory.of_kind(kind):
            if res.group != group:
                continue
            ns = None if kind == "CiliumClusterwideNetworkPolicy" else (res.namespace or "default")
            out.extend(parse_cilium(res.obj, kind, ns, res))
    return out


def build_cilium(inventory: Inventory, model: Model) -> CiliumPolicies | None:
    """The Cilium policies of the input over the model's namespaces, or None when none."""
    rules = cilium_rules(inventory)
    if not rules:
        return None
    return CiliumPolicies(rules, model.namespaces, _services(inventory))


"""Property test: Kubernetes NetworkPolicies and Cilium L3/L4 policies together, against a
brute-force evaluator written here, independently of kubeward.netpol and of
kubeward.k8s.selectors, straight from the Cilium policy language
(https://docs.cilium.io/en/stable/security/policy/language/) and the code it cites
(pkg/policy/rule.go mergeIngress/mergeEgress, pkg/k8s/apis/cilium.io/utils/utils.go
getEndpointSelector / ParseToCiliumRule, pkg/policy/api/entity.go, l4.go).

The Kubernetes half of the brute force is the one of tests/test_netpol_property.py.
Covered: endpointSelector (namespaced and clusterwide, `k8s:` prefixes, the namespace key),
fromEndpoints/toEndpoints (own namespace, explicit namespace, namespace labels),
fromRequires, entities all/world/cluster/host, CIDR and CIDRSet with except, toPorts (port,
endPort, protocol ANY/TCP/UDP/SCTP, named ports, "0"), empty rules and empty lists,
enableDefaultDeny, ingressDeny/egressDeny, `specs`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeward.inventory.cluster import resources_from_objects
from kubeward.inventory.index import Inventory
from kubeward.netpol.model import Entity, External, Workload, build_model

from . import test_netpol_property as k8s

NAMESPACES = k8s.NAMESPACES
PORTS = k8s.PORTS
PROTOS = k8s.PROTOS
EXTERNAL = ["10.0.0.5/32", "10.1.0.0/16", "192.168.1.1/32", "2001:db8::1/128"]
NSK = "io.kubernetes.pod.namespace"
NSL = "io.cilium.k8s.namespace.labels."

# --------------------------------------------------------------------------- strategies

key_st = st.sampled_from(["app", "tier", "k8s:app", "any:tier"])
c_labels_st = st.dictionaries(key_st, st.sampled_from(k8s.VALUES), max_size=2)
c_expr_st = st.one_of(
    st.builds(lambda k, op, vs: {"key": k, "operator": op, "values": vs},
              key_st, st.sampled_from(["In", "NotIn"]),
              st.lists(st.sampled_from(k8s.VALUES), min_size=1, max_size=2, unique=True)),
    st.builds(lambda k, op: {"key": k, "operator": op},
              key_st, st.sampled_from(["Exists", "DoesNotExist"])),
)
ns_match_st = st.one_of(
    st.just({}),
    st.builds(lambda ns, pfx: {f"{pfx}{NSK}": ns}, st.sampled_from(NAMESPACES),
              st.sampled_from(["", "k8s:", "any:"])),
    st.builds(lambda v: {f"{NSL}team": v}, st.sampled_from(k8s.VALUES)),
)
c_selector_st = st.one_of(
    st.just({}),
    st.builds(lambda m: {"matchLabels": m}, c_labels_st),
    st.builds(lambda m, n: {"matchLabels": {**m, **n}}, c_labels_st, ns_match_st),
    st.builds(lambda m, n, e: {"matchLabels": {**m, **n}, "matchExpressions": e},
              c_labels_st, ns_match_st, st.lists(c_expr_st, max_size=2)),
)
subject_st = st.one_of(
    st.just({}),
    st.builds(lambda m: {"matchLabels": m}, c_labels_st),
    st.builds(lambda e: {"matchExpressions": e}, st.lists(c_expr_st, min_size=1, max_size=2)),
    st.builds(lambda m, n: {"matchLabels": {**m, **n}}, c_labels_st, ns_match_st),
)
cidr_st = st.sampled_from(["10.0.0.0/8", "0.0.0.0/0", "192.168.0.0/16", "2001:db8::/32"])
cidrset_st = st.builds(lambda c, ex: {"cidr": c, "except": ex} if ex else {"cidr": c}, cidr_st,
                       st.lists(st.sampled_from(["10.0.0.0/24", "10.1.0.0/16"]), max_size=2))
pp_st = st.one_of(
    st.builds(lambda p, proto: {"port": str(p), **({"protocol": proto} if proto else {})},
              st.sampled_from(PORTS), st.sampled_from([None, "ANY", "TCP", "udp", "SCTP"])),
    st.builds(lambda p, e, proto: {"port": str(p), "endPort": e, "protocol": proto},
              st.sampled_from([53, 80]), st.sampled_from([81, 443, 8080, 40]),
              st.sampled_from(["ANY", "TCP"])),
    st.builds(lambda n, proto: {"port": n, "protocol": proto},
              st.sampled_from(k8s.PORT_NAMES), st.sampled_from(["ANY", "TCP", "UDP"])),
    st.builds(lambda proto: {"port": "0", "protocol": proto}, st.sampled_from(["TCP", "UDP"])),
)
to_ports_st = st.lists(st.builds(lambda ps: {"ports": ps}, st.lists(pp_st, min_size=1, max_size=2)),
                       max_size=2)


def _entry_st(direction: str) -> st.SearchStrategy[dict[str, Any]]:
    pre = "from" if direction == "ingress" else "to"
    fields = {
        f"{pre}Endpoints": st.lists(c_selector_st, max_size=2),
        f"{pre}Requires": st.lists(c_selector_st, min_size=1, max_size=1),
        f"{pre}Entities": st.lists(st.sampled_from(["all", "world", "cluster", "host"]),
                                   max_size=2, unique=True),
        f"{pre}CIDR": st.lists(cidr_st, max_size=2),
        f"{pre}CIDRSet": st.lists(cidrset_st, max_size=2),
        "toPorts": to_ports_st,
    }
    return st.one_of(
        st.fixed_dictionaries({}, optional=fields),
        st.fixed_dictionaries({f"{pre}Endpoints": st.lists(c_selector_st, min_size=1, max_size=2)},
                              optional={"toPorts": to_ports_st}),
    )


def _rule_st() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {"endpointSelector": subject_st},
        optional={
            "ingress": st.lists(_entry_st("ingress"), max_size=3),
            "egress": st.lists(_entry_st("egress"), max_size=3),
            "ingressDeny": st.lists(_entry_st("ingress").map(
                lambda d: {k: v for k, v in d.items() if k != "fromRequires"}), max_size=1),
            "egressDeny": st.lists(_entry_st("egress").map(
                lambda d: {k: v for k, v in d.items() if k != "toRequires"}), max_size=1),
            "enableDefaultDeny": st.fixed_dictionaries(
                {}, optional={"ingress": st.booleans(), "egress": st.booleans()}),
        })


cilium_st = st.builds(
    lambda ns, rules, use_specs: {
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNetworkPolicy" if ns else "CiliumClusterwideNetworkPolicy",
        "metadata": {"namespace": ns} if ns else {},
        **({"specs": rules} if use_specs else {"spec": rules[0]}),
    },
    st.sampled_from([*NAMESPACES[:2], None]), st.lists(_rule_st(), min_size=1, max_size=2),
    st.booleans(),
)
pod_st = st.builds(
    lambda ns, labels, ports, host: {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": ns, "labels": labels},
        "spec": {"hostNetwork": host, "containers": [{"name": "c", "image": "x:1", "ports": ports}]},
    },
    st.sampled_from(NAMESPACES[:2]), k8s.labels_st,
    st.lists(st.builds(lambda n, p, proto: {"name": n, "containerPort": p, "protocol": proto},
                       st.sampled_from(k8s.PORT_NAMES), st.sampled_from(PORTS),
                       st.sampled_from(PROTOS)), max_size=2),
    st.sampled_from([False, False, False, False, True]),
)
ns_st = st.builds(lambda name, team: {"apiVersion": "v1", "kind": "Namespace", "metadata": {
    "name": name, "labels": {"team": team} if team else {}}},
    st.sampled_from(NAMESPACES), st.one_of(st.none(), st.sampled_from(k8s.VALUES)))

# --------------------------------------------------------------------------- brute force


def norm(key: str) -> str:
    for pfx in ("k8s:", "any:"):
        if key.startswith(pfx):
            return key[len(pfx):]
    return key


def bf_match(sel: dict[str, Any], labels: dict[str, str]) -> bool:
    """A Cilium selector (keys with source prefixes) against identity labels."""
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(norm(k)) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vs = norm(e["key"]), e["operator"], e.get("values") or []
        if op == "In" and labels.get(k) not in vs:
            return False
        if op == "NotIn" and k in labels and labels[k] in vs:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def keys_of(sel: dict[str, Any]) -> set[str]:
    return {norm(k) for k in sel.get("matchLabels") or {}} | {
        norm(e["key"]) for e in sel.get("matchExpressions") or []}


def bf_peer_sel(sel: dict[str, Any], pol_ns: str | None, labels: dict[str, str]) -> bool:
    """getEndpointSelector: restrict to the policy namespace unless the namespace is named."""
    keys = keys_of(sel)
    if not bf_match(sel, labels):
        return False
    if NSK in keys:
        return True
    if pol_ns is None:
        return NSK in labels
    if any(k.startswith(NSL) for k in keys):
        return True
    return labels.get(NSK) == pol_ns


def identity(ep: dict[str, Any], ns_labels: dict[str, dict[str, str]]) -> dict[str, str]:
    if ep["kind"] == "pod" and not ep["host"]:
        out = {**ep["labels"], NSK: ep["ns"], "io.cilium.k8s.policy.serviceaccount": "default",
               "io.cilium.k8s.policy.cluster": "default"}
        out.update({NSL + k: v for k, v in ns_labels[ep["ns"]].items()})
        return out
    return {"reserved:" + e: "" for e in entities(ep) - {"all", "cluster"}}


def entities(ep: dict[str, Any]) -> set[str]:
    if ep["kind"] == "ext":
        v = ipaddress.ip_network(ep["cidr"]).version
        return {"all", "world", "world-ipv4" if v == 4 else "world-ipv6"}
    if ep["kind"] == "entity":
        return {"all", "cluster", ep["name"]}
    return {"all", "cluster", "host", "remote-node"} if ep["host"] else {"all", "cluster"}


def covers(block: Any, cidr: str) -> bool:
    block = {"cidr": block} if isinstance(block, str) else block
    net, outer = ipaddress.ip_network(cidr), ipaddress.ip_network(block["cidr"])
    if net.version != outer.version:
        return False
    if not all(a in outer for a in (net.network_address, net.broadcast_address)):
        return False
    return not any(ipaddress.ip_network(x).version == net.version and ipaddress.ip_network(x).overlaps(net)
                   for x in block.get("except", []))


def bf_pp(pp: dict[str, Any], port: int, proto: str, dst: dict[str, Any]) -> bool:
    want = (pp.get("protocol") or "ANY").upper()
    if want not in ("ANY", proto):
        return False
    p = pp.get("port")
    if p in (None, "", "0"):
        return True
    if p.isdigit():
        lo = int(p)
        hi = pp.get("endPort") or lo
        return lo <= port <= max(lo, hi)
    return any(cp["name"] == p and cp["protocol"] == proto and cp["containerPort"] == port
               for cp in dst.get("ports", []))


def bf_entry(entry: dict[str, Any], pre: str, pol_ns: str | None, other: dict[str, Any],
             dst: dict[str, Any], port: int, proto: str, reqs: list[tuple[dict[str, Any], str | None]],
             ns_labels: dict[str, dict[str, str]]) -> bool:
    l3 = [f"{pre}Endpoints", f"{pre}Entities", f"{pre}CIDR", f"{pre}CIDRSet"]
    present = [f for f in l3 if f in entry]
    if any(entry[f] == [] for f in present):
        return False
    if present:
        ident = identity(other, ns_labels)
        hit = any(bf_peer_sel(s, pol_ns, ident) for s in entry.get(f"{pre}Endpoints", [])) and all(
            bf_peer_sel(r, rns, ident) for r, rns in reqs)
        hit = hit or bool(set(entry.get(f"{pre}Entities", [])) & entities(other))
        if other["kind"] == "ext":
            hit = hit or any(covers(b, other["cidr"])
                             for b in [*entry.get(f"{pre}CIDR", []), *entry.get(f"{pre}CIDRSet", [])])
        if not hit:
            return False
    if entry.get("toPorts"):
        return any(bf_pp(pp, port, proto, dst) for pr in entry["toPorts"] for pp in pr["ports"])
    return bool(present)


def rules_of(pol: dict[str, Any]) -> list[dict[str, Any]]:
    return pol["specs"] if "specs" in pol else [pol["spec"]]


def selects(rule: dict[str, Any], pol_ns: str | None, ep: dict[str, Any],
            ns_labels: dict[str, dict[str, str]]) -> bool:
    if ep["kind"] != "pod" or ep["host"]:
        return False
    sel = rule["endpointSelector"]
    if pol_ns is not None:
        if ep["ns"] != pol_ns:
            return False
        sel = {**sel, "matchLabels": {k: v for k, v in (sel.get("matchLabels") or {}).items()
                                      if k != "k8s:" + NSK}}
    return bf_match(sel, identity(ep, ns_labels))


def bf_cilium(direction: str, subject: dict[str, Any], other: dict[str, Any], dst: dict[str, Any],
              port: int, proto: str, cilium: list[dict[str, Any]],
              ns_labels: dict[str, dict[str, str]]) -> tuple[bool, bool, bool]:
    """(isolated, allowed, denied) by the Cilium rules for one direction."""
    allow_f, deny_f = (("ingress", "ingressDeny") if direction == "Ingress" else ("egress", "egressDeny"))
    pre = "from" if direction == "Ingress" else "to"
    chosen = [(r, pol["metadata"].get("namespace")) for pol in cilium for r in rules_of(pol)
              if selects(r, pol["metadata"].get("namespace"), subject, ns_labels)]
    isolated = False
    for r, _ in chosen:
        explicit = (r.get("enableDefaultDeny") or {}).get(direction.lower())
        on = explicit if explicit is not None else bool(r.get(allow_f) or r.get(deny_f))
        isolated = isolated or on
    reqs = [(q, ns) for r, ns in chosen for e in r.get(allow_f, []) for q in e.get(f"{pre}Requires", [])]
    allowed = any(bf_entry(e, pre, ns, other, dst, port, proto, reqs, ns_labels)
                  for r, ns in chosen for e in r.get(allow_f, []))
    denied = any(bf_entry(e, pre, ns, other, dst, port, proto, [], ns_labels)
                 for r, ns in chosen for e in r.get(deny_f, []))
    return isolated, allowed, denied


def k8s_isolated(direction: str, subject: dict[str, Any], policies: list[dict[str, Any]]) -> bool:
    if subject["kind"] != "pod" or subject["host"]:
        return False
    for pol in policies:
        spec = pol["spec"]
        types = spec.get("policyTypes") or (["Ingress", "Egress"] if spec.get("egress") else ["Ingress"])
        if pol["metadata"]["namespace"] == subject["ns"] and direction in types and \
                k8s.bf_selector(spec.get("podSelector") or {}, subject["labels"]):
            return True
    return False


def bf_dir(direction: str, subject: dict[str, Any], other: dict[str, Any], dst: dict[str, Any],
           port: int, proto: str, policies: list[dict[str, Any]], cilium: list[dict[str, Any]],
           ns_labels: dict[str, dict[str, str]]) -> bool:
    if subject["kind"] != "pod" or subject["host"]:
        return True
    kiso = k8s_isolated(direction, subject, policies)
    k_other = other["cidr"] if other["kind"] == "ext" else other
    k_dst = dst["cidr"] if dst["kind"] == "ext" else dst
    kallow = kiso and k8s.bf_direction(direction, subject, k_other, k_dst, port, proto, policies, ns_labels)
    ciso, callow, cdeny = bf_cilium(direction, subject, other, dst, port, proto, cilium, ns_labels)
    return (not (kiso or ciso) or kallow or callow) and not cdeny


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ns_st, max_size=3, unique_by=lambda n: n["metadata"]["name"]),
       st.lists(pod_st, min_size=2, max_size=4), st.lists(k8s.policy_st, max_size=1),
       st.lists(cilium_st, min_size=1, max_size=3))
def test_model_agrees_with_brute_force_cilium(namespaces, pods, policies, cilium):
    for i, pod in enumerate(pods):
        pod["metadata"]["name"] = f"p{i}"
    for i, pol in enumerate(policies):
        pol["metadata"]["name"] = f"np{i}"
    for i, pol in enumerate(cilium):
        pol["metadata"]["name"] = f"cnp{i}"
    inv = Inventory(resources_from_objects([*namespaces, *pods, *policies, *cilium], "test", "snapshot"))
    model = build_model(inv)
    ns_labels = {ns: {"kubernetes.io/metadata.name": ns} for ns in NAMESPACES}
    for n in namespaces:
        ns_labels[n["metadata"]["name"]] = {**n["metadata"]["labels"],
                                            "kubernetes.io/metadata.name": n["metadata"]["name"]}
    bf_pods = {p["metadata"]["name"]: {"kind": "pod", "ns": p["metadata"]["namespace"],
                                       "labels": p["metadata"]["labels"], "host": p["spec"]["hostNetwork"],
                                       "ports": p["spec"]["containers"][0]["ports"]} for p in pods}
    by_name: dict[str, Workload] = {w.name: w for w in model.workloads}
    endpoints: list[tuple[Any, Any]] = [(by_name[n], bf) for n, bf in bf_pods.items()]
    endpoints += [(External(ipaddress.ip_network(c)), {"kind": "ext", "cidr": c, "host": True})
                  for c in EXTERNAL]
    endpoints.append((Entity("host"), {"kind": "entity", "name": "host", "host": True, "ns": "",
                                       "labels": {}, "ports": []}))
    for src, bsrc in endpoints:
        for dst, bdst in endpoints:
            if not isinstance(src, Workload) and not isinstance(dst, Workload):
                continue
            verdict = model.check(src, dst)
            for port in PORTS:
                for proto in PROTOS:
                    expected = (bf_dir("Egress", bsrc, bdst, bdst, port, proto, policies, cilium, ns_labels)
                                and bf_dir("Ingress", bdst, bsrc, bdst, port, proto, policies, cilium,
                                           ns_labels))
                    assert verdict.allows(port, proto) == expected, (src, dst, port, proto)

"""Property test: the reachability model agrees with a brute-force evaluator written here,
independently, straight from the documented semantics
(https://kubernetes.io/docs/concepts/services-networking/network-policies/ and the
networking.k8s.io/v1 NetworkPolicy API reference)."""

from __future__ import annotations

import ipaddress
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeward.inventory.cluster import resources_from_objects
from kubeward.inventory.index import Inventory
from kubeward.netpol.model import External, Workload, build_model

KEYS = ["app", "tier", "team"]
VALUES = ["a", "b", "c"]
NAMESPACES = ["n1", "n2", "n3"]
PORTS = [53, 80, 81, 443, 8080]
PROTOS = ["TCP", "UDP", "SCTP"]
PORT_NAMES = ["http", "dns"]
EXTERNAL = ["10.0.0.5/32", "10.1.0.0/16", "192.168.1.1/32"]

labels_st = st.dictionaries(st.sampled_from(KEYS), st.sampled_from(VALUES), max_size=3)
expr_st = st.one_of(
    st.builds(lambda k, op, vs: {"key": k, "operator": op, "values": vs},
              st.sampled_from(KEYS), st.sampled_from(["In", "NotIn"]),
              st.lists(st.sampled_from(VALUES), min_size=1, max_size=2, unique=True)),
    st.builds(lambda k, op: {"key": k, "operator": op},
              st.sampled_from(KEYS), st.sampled_from(["Exists", "DoesNotExist"])),
)
selector_st = st.one_of(
    st.just({}),
    st.builds(lambda m: {"matchLabels": m}, labels_st),
    st.builds(lambda m, e: {"matchLabels": m, "matchExpressions": e},
              labels_st, st.lists(expr_st, max_size=2)),
)
ipblock_st = st.builds(
    lambda c, ex: {"cidr": c, "except": ex} if ex else {"cidr": c},
    st.sampled_from(["10.0.0.0/8", "0.0.0.0/0", "192.168.0.0/16"]),
    st.lists(st.sampled_from(["10.0.0.0/24", "10.1.0.0/16", "192.168.1.0/24"]), max_size=2),
)
peer_st = st.one_of(
    st.builds(lambda s: {"podSelector": s}, selector_st),
    st.builds(lambda s: {"namespaceSelector": s}, selector_st),
    st.builds(lambda a, b: {"podSelector": a, "namespaceSelector": b}, selector_st, selector_st),
    st.builds(lambda b: {"ipBlock": b}, ipblock_st),
)
port_st = st.one_of(
    st.builds(lambda p, proto: {"port": p, "protocol": proto} if proto else {"port": p},
              st.sampled_from(PORTS), st.sampled_from([None, *PROTOS])),
    st.builds(lambda p, e: {"port": p, "endPort": e}, st.sampled_from([80, 53]),
              st.sampled_from([81, 443, 8080])),
    st.builds(lambda n, proto: {"port": n, "protocol": proto},
              st.sampled_from(PORT_NAMES), st.sampled_from(PROTOS)),
    st.builds(lambda proto: {"protocol": proto}, st.sampled_from(PROTOS)),
)


def _rule_st(peers_field: str) -> st.SearchStrategy[dict[str, Any]]:
    return st.builds(
        lambda peers, ports: {k: v for k, v in ((peers_field, peers), ("ports", ports))
                              if v is not None},
        st.one_of(st.none(), st.lists(peer_st, max_size=3)),
        st.one_of(st.none(), st.lists(port_st, max_size=3)),
    )


policy_st = st.builds(
    lambda ns, sel, types, ing, egr: {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"namespace": ns},
        "spec": {k: v for k, v in (("podSelector", sel), ("policyTypes", types),
                                   ("ingress", ing), ("egress", egr)) if v is not None},
    },
    st.sampled_from(NAMESPACES), st.one_of(st.none(), selector_st),
    st.one_of(st.none(), st.lists(st.sampled_from(["Ingress", "Egress"]), min_size=1,
                                  max_size=2, unique=True)),
    st.one_of(st.none(), st.lists(_rule_st("from"), max_size=3)),
    st.one_of(st.none(), st.lists(_rule_st("to"), max_size=3)),
)
pod_st = st.builds(
    lambda ns, labels, ports, host: {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": ns, "labels": labels},
        "spec": {"hostNetwork": host, "containers": [{"name": "c", "image": "x:1", "ports": ports}]},
    },
    st.sampled_from(NAMESPACES), labels_st,
    st.lists(st.builds(lambda n, p, proto: {"name": n, "containerPort": p, "protocol": proto},
                       st.sampled_from(PORT_NAMES), st.sampled_from(PORTS),
                       st.sampled_from(PROTOS)), max_size=2),
    st.booleans(),
)
ns_st = st.builds(lambda name, labels: {"apiVersion": "v1", "kind": "Namespace",
                                         "metadata": {"name": name, "labels": labels}},
                  st.sampled_from(NAMESPACES), labels_st)


# ---- the brute-force evaluator (independent of kubeward.netpol and kubeward.k8s.selectors) ----

def bf_selector(sel: dict[str, Any], labels: dict[str, str]) -> bool:
    for k, v in (sel.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for e in sel.get("matchExpressions") or []:
        k, op, vs = e["key"], e["operator"], e.get("values") or []
        if op == "In" and labels.get(k) not in vs:
            return False
        if op == "NotIn" and k in labels and labels[k] in vs:
            return False
        if op == "Exists" and k not in labels:
            return False
        if op == "DoesNotExist" and k in labels:
            return False
    return True


def bf_peer(peer: dict[str, Any], pol_ns: str, ep: Any, ns_labels: dict[str, dict[str, str]]) -> bool:
    if isinstance(ep, str):  # external CIDR
        if "ipBlock" not in peer:
            return False
        net = ipaddress.ip_network(ep)
        block = peer["ipBlock"]
        inside = all(ipaddress.ip_address(a) in ipaddress.ip_network(block["cidr"])
                     for a in (net.network_address, net.broadcast_address))
        hit_except = any(ipaddress.ip_network(x).overlaps(net) for x in block.get("except", []))
        return inside and not hit_except
    if "ipBlock" in peer or ep["host"]:
        return False
    if "namespaceSelector" in peer:
        if not bf_selector(peer["namespaceSelector"], ns_labels[ep["ns"]]):
            return False
    elif ep["ns"] != pol_ns:
        return False
    return "podSelector" not in peer or bf_selector(peer["podSelector"], ep["labels"])


def bf_port(entry: dict[str, Any], port: int, proto: str, dst: Any) -> bool:
    if entry.get("protocol", "TCP") != proto:
        return False
    if "port" not in entry:
        return True
    p = entry["port"]
    if isinstance(p, str):
        if isinstance(dst, str):
            return False
        return any(cp["name"] == p and cp["protocol"] == proto and cp["containerPort"] == port
                   for cp in dst["ports"])
    return p <= port <= entry.get("endPort", p)


def bf_direction(direction: str, subject: Any, other: Any, dst: Any, port: int, proto: str,
                 policies: list[dict[str, Any]], ns_labels: dict[str, dict[str, str]]) -> bool:
    if isinstance(subject, str) or subject["host"]:
        return True
    field, peers_field = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    isolated = False
    for pol in policies:
        spec = pol["spec"]
        types = spec.get("policyTypes") or (["Ingress", "Egress"] if spec.get("egress") else ["Ingress"])
        if pol["metadata"]["namespace"] != subject["ns"] or direction not in types:
            continue
        if not bf_selector(spec.get("podSelector") or {}, subject["labels"]):
            continue
        isolated = True
        for rule in spec.get(field) or []:
            peers = rule.get(peers_field) or []
            ports = rule.get("ports") or []
            if peers and not any(bf_peer(p, pol["metadata"]["namespace"], other, ns_labels)
                                 for p in peers):
                continue
            if ports and not any(bf_port(e, port, proto, dst) for e in ports):
                continue
            return True
    return not isolated


def bf_allowed(src: Any, dst: Any, port: int, proto: str, policies: list[dict[str, Any]],
               ns_labels: dict[str, dict[str, str]]) -> bool:
    return (bf_direction("Egress", src, dst, dst, port, proto, policies, ns_labels)
            and bf_direction("Ingress", dst, src, dst, port, proto, policies, ns_labels))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ns_st, max_size=3, unique_by=lambda n: n["metadata"]["name"]),
       st.lists(pod_st, min_size=1, max_size=4), st.lists(policy_st, max_size=5))
def test_model_agrees_with_brute_force(namespaces, pods, policies):
    for i, pod in enumerate(pods):
        pod["metadata"]["name"] = f"p{i}"
    for i, pol in enumerate(policies):
        pol["metadata"]["name"] = f"np{i}"
    inv = Inventory(resources_from_objects([*namespaces, *pods, *policies], "test", "snapshot"))
    model = build_model(inv)
    ns_labels = {ns: {"kubernetes.io/metadata.name": ns} for ns in NAMESPACES}
    for n in namespaces:
        ns_labels[n["metadata"]["name"]] = {**n["metadata"]["labels"],
                                            "kubernetes.io/metadata.name": n["metadata"]["name"]}
    bf_pods = {p["metadata"]["name"]: {"ns": p["metadata"]["namespace"], "labels": p["metadata"]["labels"],
                                       "host": p["spec"]["hostNetwork"],
                                       "ports": p["spec"]["containers"][0]["ports"]} for p in pods}
    by_name: dict[str, Workload] = {w.name: w for w in model.workloads}
    endpoints: list[tuple[Any, Any]] = [(by_name[n], bf) for n, bf in bf_pods.items()]
    endpoints += [(External(ipaddress.ip_network(c)), c) for c in EXTERNAL]
    for src, bsrc in endpoints:
        for dst, bdst in endpoints:
            if isinstance(src, External) and isinstance(dst, External):
                continue
            verdict = model.check(src, dst)
            for port in PORTS:
                for proto in PROTOS:
                    expected = bf_allowed(bsrc, bdst, port, proto, policies, ns_labels)
                    assert verdict.allows(port, proto) == expected, (src, dst, port, proto)

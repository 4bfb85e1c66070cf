"""The exact NetworkPolicy semantics, one test per documented point.

NP  = https://kubernetes.io/docs/concepts/services-networking/network-policies/
API = https://kubernetes.io/docs/reference/kubernetes-api/policy-resources/network-policy-v1/
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from kubeward.inventory.cluster import resources_from_objects
from kubeward.inventory.index import Inventory
from kubeward.netpol.model import External, Model, build_model, policy_types
from kubeward.netpol.ports import ALL_PORTS, PortSet, parse_port


def pod(name: str, ns: str | None, labels: dict[str, str], ports: list[dict[str, Any]] | None = None,
        host: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "labels": labels}
    if ns:
        meta["namespace"] = ns
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"hostNetwork": host, "containers": [{"name": "c", "image": "x:1",
                                                          "ports": ports or []}]}}


def npol(name: str, ns: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def namespace(name: str, labels: dict[str, str]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def model_of(*objs: dict[str, Any]) -> Model:
    return build_model(Inventory(resources_from_objects(list(objs), "test", "snapshot")))


def w(model: Model, key: str) -> Any:
    ns, name = key.split("/")
    return next(x for x in model.by_namespace[ns] if x.name == name)


def ext(cidr: str) -> External:
    return External(ipaddress.ip_network(cidr))


# API: "An empty podSelector selects all pods in this namespace"; NP: not isolated by default
def test_no_policy_allows_everything():
    m = model_of(pod("a", "n", {}), pod("b", "n", {}))
    v = m.check(w(m, "n/a"), w(m, "n/b"))
    assert v.ports == ALL_PORTS and not v.egress.isolated and not v.ingress.isolated


def test_empty_pod_selector_selects_all_pods_of_its_namespace_only():
    m = model_of(pod("a", "n", {"x": "1"}), pod("b", "other", {}), npol("deny", "n", {"podSelector": {}}))
    assert not m.can_reach(w(m, "other/b"), w(m, "n/a"))
    assert m.can_reach(w(m, "n/a"), w(m, "other/b"))  # other/b is not selected


# API policyTypes: defaults to Ingress, plus Egress when the policy has egress rules
@pytest.mark.parametrize(("spec", "types"), [
    ({}, {"Ingress"}),
    ({"egress": []}, {"Ingress"}),
    ({"egress": [{}]}, {"Ingress", "Egress"}),
    ({"policyTypes": ["Egress"]}, {"Egress"}),
])
def test_policy_types_defaulting(spec, types):
    assert policy_types(spec) == types


def test_egress_without_rules_needs_explicit_policy_type():
    # no egress rules and no policyTypes: only ingress isolation, egress stays open
    m = model_of(pod("a", "n", {}), pod("b", "n", {}), npol("p", "n", {"podSelector": {}, "egress": []}))
    assert not m.check(w(m, "n/a"), w(m, "n/b")).egress.isolated


# NP "Behavior of to and from selectors": podSelector alone = policy's namespace
def test_pod_selector_peer_is_limited_to_the_policy_namespace():
    m = model_of(pod("web", "n", {"app": "web"}), pod("web2", "o", {"app": "web"}),
                 pod("db", "n", {"app": "db"}),
                 npol("db", "n", {"podSelector": {"matchLabels": {"app": "db"}},
                                  "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}]}]}))
    assert m.can_reach(w(m, "n/web"), w(m, "n/db"))
    assert not m.can_reach(w(m, "o/web2"), w(m, "n/db"))


# NP: namespaceSelector alone = every pod of the selected namespaces; {} = all namespaces
def test_namespace_selector_alone_and_empty():
    objs = [namespace("mon", {"purpose": "mon"}), pod("p", "mon", {}), pod("q", "x", {}),
            pod("db", "n", {"app": "db"})]
    m = model_of(*objs, npol("db", "n", {"podSelector": {}, "ingress": [
        {"from": [{"namespaceSelector": {"matchLabels": {"purpose": "mon"}}}]}]}))
    assert m.can_reach(w(m, "mon/p"), w(m, "n/db"))
    assert not m.can_reach(w(m, "x/q"), w(m, "n/db"))
    all_ns = {"podSelector": {}, "ingress": [{"from": [{"namespaceSelector": {}}]}]}
    m = model_of(*objs, npol("db", "n", all_ns))
    assert m.can_reach(w(m, "x/q"), w(m, "n/db"))
    assert not m.can_reach(ext("1.2.3.4/32"), w(m, "n/db"))  # pods only, not external


# NP: both selectors in one peer are ANDed; in two peers they are ORed
def test_namespace_and_pod_selector_in_one_peer_is_and():
    objs = [namespace("mon", {"purpose": "mon"}), pod("p", "mon", {"app": "prom"}),
            pod("other", "mon", {"app": "x"}), pod("prom2", "n", {"app": "prom"}), pod("db", "n", {})]
    both = {"namespaceSelector": {"matchLabels": {"purpose": "mon"}},
            "podSelector": {"matchLabels": {"app": "prom"}}}
    m = model_of(*objs, npol("db", "n", {"podSelector": {}, "ingress": [{"from": [both]}]}))
    assert m.can_reach(w(m, "mon/p"), w(m, "n/db"))
    assert not m.can_reach(w(m, "mon/other"), w(m, "n/db"))
    assert not m.can_reach(w(m, "n/prom2"), w(m, "n/db"))
    split = [{"namespaceSelector": both["namespaceSelector"]}, {"podSelector": both["podSelector"]}]
    m = model_of(*objs, npol("db", "n", {"podSelector": {}, "ingress": [{"from": split}]}))
    assert m.can_reach(w(m, "mon/other"), w(m, "n/db")) and m.can_reach(w(m, "n/prom2"), w(m, "n/db"))


# NP "Targeting a Namespace by its name": kubernetes.io/metadata.name is set automatically
def test_namespace_name_label_is_automatic():
    m = model_of(pod("a", "src", {}), pod("b", "n", {}), npol("p", "n", {"podSelector": {}, "ingress": [
        {"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "src"}}}]}]}))
    assert m.can_reach(w(m, "src/a"), w(m, "n/b"))


# API IPBlock: cidr minus except; manifests have no pod IPs, ipBlock is external only
def test_ip_block_with_except():
    m = model_of(pod("a", "n", {}), npol("p", "n", {"podSelector": {}, "policyTypes": ["Egress"], "egress": [
        {"to": [{"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}}]}]}))
    a = w(m, "n/a")
    assert m.can_reach(a, ext("10.2.3.4/32"))
    assert not m.can_reach(a, ext("10.1.2.3/32"))
    assert not m.can_reach(a, ext("10.0.0.0/8"))  # partly excepted: not every address allowed
    assert not m.can_reach(a, ext("11.0.0.1/32"))


def test_ip_block_does_not_match_pods():
    m = model_of(pod("a", "n", {}), pod("b", "n", {}), npol("p", "n", {"podSelector": {}, "ingress": [
        {"from": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}))
    assert not m.can_reach(w(m, "n/a"), w(m, "n/b"))
    assert m.can_reach(ext("8.8.8.8/32"), w(m, "n/b"))


# API NetworkPolicyPort: named ports resolve against the destination's container ports
def test_named_port_resolves_on_destination():
    m = model_of(pod("a", "n", {}), pod("b", "n", {"app": "b"}, [{"name": "http", "containerPort": 8080}]),
                 pod("c", "n", {"app": "c"}, [{"name": "http", "containerPort": 9090}]),
                 npol("p", "n", {"podSelector": {}, "ingress": [{"ports": [{"port": "http"}]}]}))
    assert m.can_reach(w(m, "n/a"), w(m, "n/b"), 8080)
    assert not m.can_reach(w(m, "n/a"), w(m, "n/b"), 9090)
    assert m.can_reach(w(m, "n/a"), w(m, "n/c"), 9090)
    assert not m.can_reach(w(m, "n/a"), w(m, "n/b"), 8080, "UDP")


# API: endPort makes port..endPort inclusive; protocol defaults to TCP; UDP and SCTP
def test_end_port_and_protocols():
    m = model_of(pod("a", "n", {}), pod("b", "n", {}), npol("p", "n", {"podSelector": {}, "ingress": [
        {"ports": [{"port": 32000, "endPort": 32768}, {"protocol": "UDP", "port": 53},
                   {"protocol": "SCTP"}]}]}))
    a, b = w(m, "n/a"), w(m, "n/b")
    assert m.can_reach(a, b, 32000) and m.can_reach(a, b, 32768) and not m.can_reach(a, b, 32769)
    assert not m.can_reach(a, b, 32000, "UDP")
    assert m.can_reach(a, b, 53, "UDP") and not m.can_reach(a, b, 53, "TCP")
    assert m.can_reach(a, b, 1234, "SCTP")


# NP: policies are additive - the union of all policies selecting a pod
def test_union_of_policies():
    m = model_of(pod("a", "n", {"app": "a"}), pod("b", "n", {"app": "b"}),
                 npol("deny", "n", {"podSelector": {}}),
                 npol("allow", "n", {"podSelector": {"matchLabels": {"app": "b"}},
                                     "ingress": [{"ports": [{"port": 80}]}]}))
    v = m.check(w(m, "n/a"), w(m, "n/b"))
    assert v.ports == PortSet({"TCP": [(80, 80)]})
    assert [str(p) for p, _ in v.ingress.allowed_by] == ["n/allow"]
    assert sorted(str(p) for p in v.ingress.isolating) == ["n/allow", "n/deny"]


# NP: both egress of the source and ingress of the destination must allow
def test_egress_and_ingress_both_needed():
    deny_egress = npol("e", "n", {"podSelector": {"matchLabels": {"app": "a"}}, "policyTypes": ["Egress"]})
    m = model_of(pod("a", "n", {"app": "a"}), pod("b", "n", {"app": "b"}), deny_egress)
    v = m.check(w(m, "n/a"), w(m, "n/b"))
    assert v.egress.isolated and not v.egress.ports and v.ingress.ports == ALL_PORTS
    assert not v.allows()
    assert m.can_reach(w(m, "n/b"), w(m, "n/a"))  # a is isolated for egress only


# NP "Behavior of hostNetwork pods": not isolated, not matched by pod/namespace selectors
def test_host_network_pods():
    m = model_of(pod("h", "n", {"app": "h"}, host=True), pod("b", "n", {"app": "b"}),
                 npol("deny", "n", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"],
                                    "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "h"}}}]}]}))
    h, b = w(m, "n/h"), w(m, "n/b")
    assert m.can_reach(b, h) is False  # b's egress is denied
    assert m.check(b, h).ingress.exempt  # h itself is not subject to policies
    assert not m.can_reach(h, b)  # the podSelector peer does not match a hostNetwork pod


def test_workloads_and_namespaces_from_inventory():
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
           "spec": {"template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}}}
    m = model_of(dep, namespace("shop", {"team": "a"}), pod("p", "other", {}))
    assert [(x.namespace, x.name, dict(x.labels)) for x in m.by_namespace["default"]] == [
        ("default", "web", {"app": "web"})]
    assert m.namespaces["shop"] == {"team": "a", "kubernetes.io/metadata.name": "shop"}
    assert m.namespaces["other"] == {"kubernetes.io/metadata.name": "other"}


def test_invalid_peer_matches_nothing():
    # ipBlock together with a selector is rejected by the API server (one peer type only)
    m = model_of(pod("a", "n", {}), pod("b", "n", {}), npol("p", "n", {"podSelector": {}, "ingress": [
        {"from": [{"podSelector": {}, "ipBlock": {"cidr": "0.0.0.0/0"}}, {}]}]}))
    assert not m.can_reach(w(m, "n/a"), w(m, "n/b"))


@pytest.mark.parametrize(("text", "expected"), [("443", (443, "TCP")), ("53/udp", (53, "UDP")),
                                                ("9/SCTP", (9, "SCTP"))])
def test_parse_port(text, expected):
    assert parse_port(text) == expected


@pytest.mark.parametrize("text", ["0", "70000", "http", "80/ICMP"])
def test_parse_port_rejects(text):
    with pytest.raises(ValueError, match=r"."):
        parse_port(text)

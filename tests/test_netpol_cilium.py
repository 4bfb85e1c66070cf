"""Cilium L3/L4 semantics in the reachability model, one test per documented point.

LANG = https://docs.cilium.io/en/stable/security/policy/language/ ; code references are to
cilium/cilium (pkg/policy/api/*.go, pkg/policy/rule.go, pkg/k8s/apis/cilium.io/utils/utils.go).
"""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from kubeward.inventory.cluster import resources_from_objects
from kubeward.inventory.index import Inventory
from kubeward.netpol.cilium import parse_cilium
from kubeward.netpol.model import Entity, External, Model, build_model
from kubeward.netpol.ports import ALL_PORTS, PortSet


def pod(name: str, ns: str, labels: dict[str, str], ports: list[dict[str, Any]] | None = None,
        host: bool = False, sa: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"hostNetwork": host,
                            "containers": [{"name": "c", "image": "x:1", "ports": ports or []}]}
    if sa:
        spec["serviceAccountName"] = sa
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels}, "spec": spec}


def cnp(name: str, ns: str | None, spec: dict[str, Any] | None = None,
        specs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    kind = "CiliumNetworkPolicy" if ns else "CiliumClusterwideNetworkPolicy"
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    obj: dict[str, Any] = {"apiVersion": "cilium.io/v2", "kind": kind, "metadata": meta}
    if spec is not None:
        obj["spec"] = spec
    if specs is not None:
        obj["specs"] = specs
    return obj


def npol(name: str, ns: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def model_of(*objs: dict[str, Any]) -> Model:
    return build_model(Inventory(resources_from_objects(list(objs), "test", "snapshot")))


def w(model: Model, key: str) -> Any:
    ns, name = key.split("/")
    return next(x for x in model.by_namespace[ns] if x.name == name)


def ext(cidr: str) -> External:
    return External(ipaddress.ip_network(cidr))


SEL_API = {"matchLabels": {"app": "api"}}
BASE = (pod("web", "shop", {"app": "web"}), pod("api", "shop", {"app": "api"},
        [{"name": "http", "containerPort": 8080}]), pod("web", "other", {"app": "web"}))


def test_no_cilium_policy_keeps_the_kubernetes_model():
    m = model_of(*BASE)
    assert m.cilium is None
    assert m.check(w(m, "shop/web"), w(m, "shop/api")).ports == ALL_PORTS


# LANG "Layer 3 / Endpoints based" + utils.go getEndpointSelector: a CNP's peer selectors are
# restricted to the policy's namespace
def test_from_endpoints_is_limited_to_the_policy_namespace():
    m = model_of(*BASE, cnp("api", "shop", {"endpointSelector": SEL_API, "ingress": [
        {"fromEndpoints": [{"matchLabels": {"app": "web"}}]}]}))
    api = w(m, "shop/api")
    v = m.check(w(m, "shop/web"), api)
    assert v.ports == ALL_PORTS and v.ingress.isolated  # L3-only: every port
    assert v.ingress.cilium_allowed_by == ("CiliumNetworkPolicy shop/api ingress[0]",)
    assert not m.can_reach(w(m, "other/web"), api)
    assert not m.can_reach(ext("1.2.3.4/32"), api)


def test_explicit_namespace_label_and_namespace_labels_cross_namespaces():
    ns_obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other", "labels": {"team": "x"}}}
    by_name = cnp("a", "shop", {"endpointSelector": SEL_API, "ingress": [{"fromEndpoints": [
        {"matchLabels": {"k8s:io.kubernetes.pod.namespace": "other", "app": "web"}}]}]})
    by_label = cnp("a", "shop", {"endpointSelector": SEL_API, "ingress": [{"fromEndpoints": [
        {"matchLabels": {"io.cilium.k8s.namespace.labels.team": "x"}}]}]})
    for policy in (by_name, by_label):
        m = model_of(*BASE, ns_obj, policy)
        assert m.can_reach(w(m, "other/web"), w(m, "shop/api"))
        assert not m.can_reach(w(m, "shop/web"), w(m, "shop/api"))


# ParseToCiliumRule: the endpointSelector of a CNP always gets the policy's namespace
def test_cnp_selects_only_its_namespace_and_ccnp_every_namespace():
    m = model_of(*BASE, cnp("deny", "shop", {"endpointSelector": {}, "ingress": [{}]}))
    assert not m.can_reach(w(m, "other/web"), w(m, "shop/web"))
    assert m.can_reach(w(m, "shop/web"), w(m, "other/web"))
    m = model_of(*BASE, cnp("deny", None, {"endpointSelector": {"matchLabels": {"app": "web"}},
                                           "ingress": [{}]}))
    assert not m.can_reach(w(m, "shop/api"), w(m, "other/web"))
    assert not m.can_reach(w(m, "shop/api"), w(m, "shop/web"))
    # a k8s:-prefixed namespace match in a CNP endpointSelector is replaced by its own namespace
    m = model_of(*BASE, cnp("x", "shop", {"endpointSelector": {"matchLabels": {
        "k8s:io.kubernetes.pod.namespace": "other"}}, "ingress": [{}]}))
    assert not m.can_reach(w(m, "other/web"), w(m, "shop/api"))


# utils.go getEndpointSelector: a CCNP peer `{}` is every pod of the cluster, no reserved identity
def test_ccnp_empty_peer_is_every_pod_not_world():
    m = model_of(*BASE, cnp("c", None, {"endpointSelector": SEL_API,
                                        "ingress": [{"fromEndpoints": [{}]}]}))
    api = w(m, "shop/api")
    assert m.can_reach(w(m, "other/web"), api)
    assert not m.can_reach(ext("8.8.8.8/32"), api)
    assert not m.can_reach(Entity("host"), api)


# MODES / evaluateDefaultDenyForRule: ingress or ingressDeny entries switch default deny on;
# `ingress: []` does not; enableDefaultDeny overrides
@pytest.mark.parametrize(("spec", "isolated"), [
    ({"ingress": [{}]}, True),
    ({"ingress": []}, False),
    ({"ingressDeny": [{"fromEntities": ["world"]}]}, True),
    ({"egress": [{}]}, False),
    ({"ingress": [{}], "enableDefaultDeny": {"ingress": False}}, False),
    ({"enableDefaultDeny": {"ingress": True}}, True),
])
def test_default_deny(spec, isolated):
    m = model_of(*BASE, cnp("p", "shop", {"endpointSelector": SEL_API, **spec}))
    v = m.check(w(m, "shop/web"), w(m, "shop/api"))
    assert v.ingress.isolated is isolated
    assert bool(v.ports) is not isolated


# rule.go mergeIngress: no L3 + toPorts = every peer on those ports; `{}` allows nothing
def test_l4_only_rule_allows_every_peer_and_empty_rule_nothing():
    m = model_of(*BASE, cnp("p", "shop", {"endpointSelector": SEL_API, "ingress": [
        {}, {"toPorts": [{"ports": [{"port": "443"}]}]}]}))
    api = w(m, "shop/api")
    for src in (w(m, "shop/web"), w(m, "other/web"), ext("8.8.8.8/32"), Entity("host")):
        v = m.check(src, api)
        assert v.ports == PortSet({"TCP": [(443, 443)], "UDP": [(443, 443)], "SCTP": [(443, 443)]})


# mergeEndpointSelectors: a peer field given as an empty list selects nothing
def test_empty_peer_list_selects_nothing():
    m = model_of(*BASE, cnp("p", "shop", {"endpointSelector": SEL_API, "ingress": [
        {"fromEndpoints": [], "toPorts": [{"ports": [{"port": "443"}]}]}]}))
    assert not m.can_reach(w(m, "shop/web"), w(m, "shop/api"))


# l4.go PortProtocol: number, range (endPort), named port, "0" = all, protocol ANY default
def test_ports():
    m = model_of(*BASE, cnp("p", "shop", {"endpointSelector": SEL_API, "ingress": [{"toPorts": [
        {"ports": [{"port": "80", "protocol": "tcp"},
                   {"port": "9000", "endPort": 9010, "protocol": "UDP"},
                   {"port": "http", "protocol": "TCP"}, {"port": "53"},
                   {"port": "0", "protocol": "SCTP"}]}]}]}))
    web, api = w(m, "shop/web"), w(m, "shop/api")
    assert m.can_reach(web, api, 80) and not m.can_reach(web, api, 80, "UDP")
    assert m.can_reach(web, api, 9005, "UDP") and not m.can_reach(web, api, 9011, "UDP")
    assert m.can_reach(web, api, 8080)  # named port http of api
    assert all(m.can_reach(web, api, 53, p) for p in ("TCP", "UDP", "SCTP"))
    assert m.can_reach(web, api, 31337, "SCTP")
    assert not m.can_reach(web, api, 81)


# entity.go: all, world, cluster, host, remote-node, kube-apiserver
def test_entities():
    def reach(entities: list[str], src: Any) -> bool:
        m = model_of(*BASE, pod("h", "shop", {"app": "h"}, host=True),
                     cnp("p", "shop", {"endpointSelector": SEL_API, "ingress": [{"fromEntities": entities}]}))
        if src == "hostpod":
            src = w(m, "shop/h")
        elif src == "pod":
            src = w(m, "other/web")
        return m.can_reach(src, w(m, "shop/api"))

    world, host, apiserver = ext("8.8.8.0/24"), Entity("host"), Entity("kube-apiserver")
    assert reach(["all"], world) and reach(["all"], "pod") and reach(["all"], host)
    assert reach(["world"], world) and not reach(["world"], "pod") and not reach(["world"], host)
    assert not reach(["world-ipv6"], world) and reach(["world-ipv4"], world)
    assert reach(["cluster"], "pod") and reach(["cluster"], host) and not reach(["cluster"], world)
    assert reach(["host"], host) and reach(["host"], "hostpod") and not reach(["host"], "pod")
    assert reach(["remote-node"], apiserver) and reach(["kube-apiserver"], apiserver)
    assert not reach(["kube-apiserver"], host) and not reach(["none"], world)


# ingress.go FromCIDR / FromCIDRSet: external addresses only, `except` carved out
def test_cidr_and_cidrset():
    m = model_of(*BASE, cnp("p", "shop", {"endpointSelector": SEL_API, "ingress": [
        {"fromCIDR": ["192.168.0.0/16"]},
        {"fromCIDRSet": [{"cidr": "10.0.0.0/8", "except": ["10.96.0.0/12"]}]}]}))
    api = w(m, "shop/api")
    assert m.can_reach(ext("192.168.1.1/32"), api) and m.can_reach(ext("10.1.0.0/16"), api)
    assert not m.can_reach(ext("10.96.1.1/32"), api) and not m.can_reach(ext("10.0.0.0/8"), api)
    assert not m.can_reach(w(m, "shop/web"), api)  # never pods


# DENY: deny entries win over any allow, of either kind
def test_deny_wins_over_network_policy_and_cilium_allows():
    m = model_of(*BASE,
                 npol("allow", "shop", {"podSelector": {}, "ingress": [{}]}),
                 cnp("d", "shop", {"endpointSelector": SEL_API,
                                   "ingress": [{"fromEndpoints": [{}]}],
                                   "ingressDeny": [{
                                       "fromEndpoints": [{"matchLabels": {"app": "web"}}],
                                       "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]}))
    web, api = w(m, "shop/web"), w(m, "shop/api")
    assert not m.can_reach(web, api, 8080) and m.can_reach(web, api, 8081)
    v = m.check(web, api)
    assert v.ingress.denied_by == ("CiliumNetworkPolicy shop/d ingressDeny[0]",)
    assert m.can_reach(ext("1.1.1.1/32"), api, 8080)


def test_deny_applies_without_default_deny():
    m = model_of(*BASE, cnp("d", "shop", {"endpointSelector": SEL_API,
                                          "enableDefaultDeny": {"ingress": False},
                                          "ingressDeny": [{"fromEntities": ["world"]}]}))
    api = w(m, "shop/api")
    assert not m.check(w(m, "shop/web"), api).ingress.isolated
    assert m.can_reach(w(m, "shop/web"), api) and not m.can_reach(ext("1.1.1.1/32"), api)


# Cilium enforces both kinds: isolated if either isolates; allowed if either allows
def test_union_with_network_policies():
    m = model_of(*BASE,
                 npol("np", "shop", {"podSelector": SEL_API, "ingress": [{"ports": [{"port": 80}]}]}),
                 cnp("c", "shop", {"endpointSelector": SEL_API,
                                   "ingress": [{"toPorts": [{"ports": [
                                       {"port": "443", "protocol": "TCP"}]}]}]}))
    web, api = w(m, "shop/web"), w(m, "shop/api")
    assert m.check(web, api).ports == PortSet({"TCP": [(80, 80), (443, 443)]})
    # an egress NetworkPolicy of the source still applies
    m = model_of(*BASE, npol("e", "shop", {"podSelector": {"matchLabels": {"app": "web"}},
                                            "policyTypes": ["Egress"]}),
                 cnp("c", "shop", {"endpointSelector": SEL_API, "ingress": [{"fromEndpoints": [{}]}]}))
    assert not m.can_reach(w(m, "shop/web"), w(m, "shop/api"))


# ingress.go FromRequires: ANDed into the fromEndpoints of every rule selecting the endpoint
def test_from_requires_folds_into_every_rule():
    objs = (pod("a", "shop", {"app": "a", "env": "prod"}), pod("b", "shop", {"app": "b", "env": "dev"}),
            pod("api", "shop", {"app": "api"}))
    m = model_of(*objs, cnp("allow", "shop", {"endpointSelector": SEL_API,
                                              "ingress": [{"fromEndpoints": [{}]}]}),
                 cnp("req", "shop", {"endpointSelector": SEL_API,
                                     "ingress": [{"fromRequires": [{"matchLabels": {"env": "prod"}}]}]}))
    api = w(m, "shop/api")
    assert m.can_reach(w(m, "shop/a"), api) and not m.can_reach(w(m, "shop/b"), api)


def test_specs_egress_services_and_serviceaccounts():
    svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api", "namespace": "shop"},
           "spec": {"selector": {"app": "api"}}}
    m = model_of(*BASE, svc, pod("job", "shop", {"app": "job"}, sa="batch"), cnp("e", "shop", specs=[
        {"endpointSelector": {"matchLabels": {"app": "web"}},
         "egress": [{"toServices": [{"k8sService": {"serviceName": "api"}}]}]},
        {"endpointSelector": {"matchLabels": {"io.cilium.k8s.policy.serviceaccount": "batch"}},
         "egress": [{"toEndpoints": [SEL_API],
                     "toPorts": [{"ports": [{"port": "8080", "protocol": "TCP"}]}]}]}]))
    web, api, job = w(m, "shop/web"), w(m, "shop/api"), w(m, "shop/job")
    assert m.can_reach(web, api) and not m.can_reach(web, job)
    v = m.check(web, api)
    assert v.egress.cilium_allowed_by == ("CiliumNetworkPolicy shop/e specs[0].egress[0]",)
    assert m.can_reach(job, api, 8080) and not m.can_reach(job, api, 8081)


def test_fqdn_and_node_rules_select_no_known_endpoint():
    m = model_of(*BASE, cnp("f", "shop", specs=[
        {"endpointSelector": SEL_API, "egress": [{"toFQDNs": [{"matchName": "example.com"}]}]},
        {"nodeSelector": {}, "ingress": [{}]}]))
    api = w(m, "shop/api")
    assert not m.can_reach(api, ext("93.184.216.34/32"))  # egress default deny, FQDN not resolved
    assert m.can_reach(w(m, "shop/web"), api)


def test_reserved_selectors_and_hostnetwork_pods_are_not_selected():
    m = model_of(*BASE, pod("h", "shop", {"app": "api"}, host=True),
                 cnp("p", "shop", {"endpointSelector": SEL_API, "ingress": [
                     {"fromEndpoints": [{"matchLabels": {"reserved:host": ""}}]}]}))
    api = w(m, "shop/api")
    assert m.can_reach(Entity("host"), api) and not m.can_reach(w(m, "shop/web"), api)
    assert not m.check(w(m, "shop/web"), w(m, "shop/h")).ingress.isolated  # hostNetwork: not selected


def test_broken_documents_never_raise():
    for spec in ({"endpointSelector": "x"}, {"ingress": "x"}, {"endpointSelector": {}, "ingress": [
            None, {"fromEndpoints": [None, 3]}, {"toPorts": [None, {"ports": [None, {"port": True},
                                                                        {"port": "99999"}]}]},
            {"fromCIDRSet": [{"cidrGroupRef": "g"}, "bad"]}, {"fromEntities": [None]}]},
                 {"endpointSelector": {"matchLabels": {"k8s:a": "1", "any:a": "2"}}, "ingress": [{}]}):
        m = model_of(*BASE, cnp("p", "shop", spec))
        m.check(w(m, "shop/web"), w(m, "shop/api"))
    assert parse_cilium({"spec": 3, "specs": [None]}, "CiliumNetworkPolicy", "x") == []

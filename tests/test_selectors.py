"""Label selectors with apimachinery's semantics, and the NetworkPolicy rules built on them."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest

from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Origin, Resource, SourceText
from kubeward.k8s.selectors import (
    EVERYTHING,
    NOTHING,
    label_selector,
    labels_of,
    selector_from_set,
    selector_or_all,
    validate_label_key,
    validate_label_value,
)
from kubeward.rules.base import REGISTRY

WEB = {"app": "web", "tier": "frontend"}


def test_nil_selector_matches_nothing_and_empty_matches_everything():
    assert label_selector(None) is NOTHING and not NOTHING.matches(WEB)
    assert label_selector({}) is EVERYTHING and EVERYTHING.matches({})
    assert label_selector({"matchLabels": {}, "matchExpressions": []}).everything
    assert str(EVERYTHING) == "<none>"


def test_match_labels_and_expressions_are_anded():
    sel = label_selector({"matchLabels": {"app": "web"},
                          "matchExpressions": [{"key": "tier", "operator": "In",
                                                "values": ["frontend", "edge"]}]})
    assert sel.matches(WEB)
    assert not sel.matches({"app": "web", "tier": "backend"})
    assert not sel.matches({"tier": "frontend"})
    assert str(sel) == "app=web,tier in (edge,frontend)"


@pytest.mark.parametrize(("op", "values", "labels", "expected"), [
    ("In", ["web"], {"app": "web"}, True),
    ("In", ["web"], {}, False),
    ("NotIn", ["web"], {"app": "web"}, False),
    ("NotIn", ["web"], {"app": "api"}, True),
    ("NotIn", ["web"], {}, True),  # a missing key satisfies NotIn
    ("Exists", None, {"app": ""}, True),
    ("Exists", [], {}, False),
    ("DoesNotExist", None, {}, True),
    ("DoesNotExist", None, {"app": "web"}, False),
    ("In", [""], {"app": ""}, True),  # the empty string is a valid value
])
def test_operators(op, values, labels, expected):
    expr = {"key": "app", "operator": op}
    if values is not None:
        expr["values"] = values
    sel = label_selector({"matchExpressions": [expr]})
    assert sel.valid, sel.errors
    assert sel.matches(labels) is expected


@pytest.mark.parametrize(("expr", "message"), [
    ({"key": "app", "operator": "In", "values": []}, "values set can't be empty"),
    ({"key": "app", "operator": "NotIn"}, "values set can't be empty"),
    ({"key": "app", "operator": "Exists", "values": ["x"]}, "must be empty for exists"),
    ({"key": "app", "operator": "in", "values": ["x"]}, "not a valid label selector operator"),
    ({"key": "app", "operator": "Gt", "values": ["1"]}, "not a valid label selector operator"),
    ({"key": "", "operator": "Exists"}, "name part must be non-empty"),
    ({"key": "Example.com/app", "operator": "Exists"}, "prefix part"),
    ({"key": "a/b/c", "operator": "Exists"}, "qualified name"),
    ({"key": "app", "operator": "In", "values": ["x" * 64]}, "no more than 63"),
    ({"key": "app", "operator": "In", "values": [1]}, "must be strings"),
])
def test_invalid_selectors_match_nothing_and_say_why(expr, message):
    sel = label_selector({"matchExpressions": [expr]})
    assert not sel.valid
    assert any(message in e for e in sel.errors), sel.errors
    assert not sel.matches({"app": "x"}) and not sel.matches({})
    assert not sel.everything


def test_invalid_match_labels():
    assert not label_selector({"matchLabels": {"app": 1}}).valid
    assert not label_selector({"matchLabels": {"app": "a b"}}).valid
    assert not label_selector({"matchLabels": ["app"]}).valid
    assert not label_selector({"matchExpressions": {"key": "app"}}).valid
    assert not label_selector("app=web").valid


@pytest.mark.parametrize("key", ["app", "app.kubernetes.io/name", "a", "A_b-c.d", "x" * 63,
                                 "kubernetes.io/metadata.name"])
def test_valid_keys(key):
    assert validate_label_key(key) == []


@pytest.mark.parametrize("key", ["-app", "app-", "x" * 64, "/app", "UPPER.com/app",
                                 "a" * 254 + "/b", "app name"])
def test_invalid_keys(key):
    assert validate_label_key(key)


@pytest.mark.parametrize(("value", "ok"), [("", True), ("v1.2_3-x", True), ("-x", False),
                                            ("x" * 63, True), ("x" * 64, False), ("a/b", False)])
def test_label_values(value, ok):
    assert (validate_label_value(value) == []) is ok


def test_non_pointer_and_map_selectors():
    assert selector_or_all(None).everything
    assert selector_or_all({"matchLabels": {"app": "web"}}).matches(WEB)
    assert selector_from_set(None).everything and selector_from_set({}).everything
    assert selector_from_set({"app": "web"}).matches(WEB)
    assert not selector_from_set({"app": "api"}).matches(WEB)


def test_labels_of_keeps_string_values_only():
    assert labels_of({"app": "web", "version": 1, "on": True}) == {"app": "web"}
    assert labels_of(None) == {}


# ---------------------------------------------------------------- NetworkPolicy semantics


@pytest.fixture(scope="module")
def netpol() -> Iterator[ModuleType]:
    """`kubeward.rules.netpol_basics`, imported here and not at collection.

    Importing a rule module registers its rules; until the module is in RULE_MODULES
    (rules/catalog.py) they must not leak into the other tests' catalog. Once it is listed
    there, this changes nothing.
    """
    before = dict(REGISTRY)
    module = importlib.import_module("kubeward.rules.netpol_basics")
    yield module
    REGISTRY.clear()
    REGISTRY.update(before)


@pytest.mark.parametrize(("spec", "types"), [
    ({}, {"Ingress"}),
    ({"ingress": [{}]}, {"Ingress"}),
    ({"egress": []}, {"Ingress"}),  # an empty egress list does not imply Egress
    ({"egress": [{}]}, {"Ingress", "Egress"}),
    ({"policyTypes": ["Egress"]}, {"Egress"}),
    ({"policyTypes": ["Egress"], "ingress": [{}]}, {"Egress"}),
    ({"policyTypes": ["ingress"]}, set()),
])
def test_policy_types_defaulting(netpol, spec, types):
    assert netpol.policy_types(spec) == types


def _res(obj: dict) -> Resource:
    return Resource(obj, Origin(SourceText("in.yaml"), None, 1))


def _netpol(name: str, ns: str | None, spec: dict) -> Resource:
    meta = {"name": name} | ({"namespace": ns} if ns else {})
    return _res({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta,
                 "spec": spec})


def test_default_deny_and_isolation(netpol):
    inv = Inventory([
        _netpol("deny", "shop", {"podSelector": {}, "policyTypes": ["Ingress"]}),
        _netpol("allow-web", "shop", {"podSelector": {"matchLabels": {"app": "web"}},
                                      "egress": [{}]}),
        no_ns := _netpol("no-ns", None, {"podSelector": None}),
        _res({"apiVersion": "projectcalico.org/v3", "kind": "NetworkPolicy",
              "metadata": {"name": "calico", "namespace": "shop"}, "spec": {}}),
    ])
    policies = netpol.namespace_policies(inv)
    unset = netpol.namespace_key(no_ns)
    assert sorted(policies) == sorted(["shop", unset])
    deny, allow = policies["shop"]
    assert deny.default_deny("Ingress") and not deny.default_deny("Egress")
    assert not allow.default_deny("Egress") and allow.isolates("Egress", WEB)
    assert not allow.isolates("Egress", {"app": "api"})
    assert policies[unset][0].default_deny("Ingress")


def test_unnamespaced_objects_share_a_namespace_per_input(netpol):
    def key(path: str, kind: str = "file", ns: str | None = None) -> str:
        meta = {"name": "x"} | ({"namespace": ns} if ns else {})
        res = Resource({"kind": "Pod", "metadata": meta}, Origin(SourceText(path, kind=kind), None, 1))
        return netpol.namespace_key(res)

    assert key("app/deploy.yaml") == key("app/netpol.yaml") != key("other/deploy.yaml")
    assert key("app/deploy.yaml") not in ("default", key("app/deploy.yaml", ns="default"))
    assert key("charts/web", kind="helm") == key("charts/web", kind="helm") != key("charts/api", kind="helm")
    assert key("app/deploy.yaml", ns="shop") == "shop"


def _deploy(name: str, ns: str, labels: dict, **spec) -> Resource:
    return _res({"apiVersion": "apps/v1", "kind": "Deployment",
                 "metadata": {"name": name, "namespace": ns},
                 "spec": {"template": {"metadata": {"labels": labels},
                                       "spec": {"containers": [{"name": "c", "image": "x"}],
                                                **spec}}}})


def test_workloads_skip_system_hostnetwork_and_owned_objects(netpol):
    owned = _res({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": "web-1", "namespace": "shop", "ownerReferences": [
                      {"kind": "Deployment", "name": "web", "controller": True}]},
                  "spec": {"template": {"metadata": {}, "spec": {"containers": []}}}})
    orphan_pod = _res({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": "web-1-abc", "namespace": "shop", "ownerReferences": [
                           {"kind": "ReplicaSet", "name": "gone", "controller": True}]},
                       "spec": {"containers": []}})
    inv = Inventory([
        _deploy("web", "shop", WEB),
        owned,
        orphan_pod,
        _deploy("dns", "kube-system", {"k8s-app": "kube-dns"}),
        _deploy("exporter", "monitoring", {"app": "exporter"}, hostNetwork=True),
    ])
    found = {ns: [r.name for r, _ in items] for ns, items in netpol.workloads(inv).items()}
    assert found == {"shop": ["web", "web-1-abc"]}

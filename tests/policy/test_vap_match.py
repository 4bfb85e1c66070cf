"""Request matching of ValidatingAdmissionPolicies (policy.vap_match).

Rule tables ported from kubernetes/kubernetes
staging/src/k8s.io/apiserver/pkg/admission/plugin/webhook/predicates/rules/rules_test.go
(TestGroup, TestVersion, TestOperation, TestResource, TestScope); selector and
exclusion cases follow .../policy/matching/matching.go `Matcher.Matches` and
.../webhook/predicates/namespace/matcher.go.
"""

from __future__ import annotations

from typing import Any

import pytest

from kubeward.policy.vap_match import Attributes, guess_resource, parse_match_resources


def a(group: str, version: str, resource: str, sub: str = "", op: str = "CREATE",
      namespace: str = "ns", name: str = "name", labels: dict[str, str] | None = None,
      old_labels: dict[str, str] | None = None, ns_labels: dict[str, str] | None = None,
      kind: str | None = None) -> Attributes:
    return Attributes(group, version, kind or "k" + resource, resource, sub, name, namespace,
                      op, labels or {}, old_labels, ns_labels)


def clustered(group: str, version: str, resource: str, sub: str = "") -> Attributes:
    return a(group, version, resource, sub, namespace="")


def matches(rule: dict[str, Any], attrs: Attributes, **extra: Any) -> bool:
    full = {"operations": ["*"], "apiGroups": ["*"], "apiVersions": ["*"],
            "resources": ["*/*"], **rule}
    errors: list[str] = []
    mr = parse_match_resources({"resourceRules": [full], **extra}, "m", errors)
    assert errors == []
    return mr.matches(attrs)


RULE_CASES = [
    # TestGroup
    ({"apiGroups": ["*"]}, [a("g", "v", "r")], []),
    ({"apiGroups": ["g1", "g2"]}, [a("g1", "v", "r"), a("g2", "v2", "r3")],
     [a("g3", "v", "r"), a("g4", "v", "r")]),
    # TestVersion
    ({"apiVersions": ["*"]}, [a("g", "v", "r")], []),
    ({"apiVersions": ["v1", "v2"]}, [a("g1", "v1", "r"), a("g2", "v2", "r")],
     [a("g1", "v3", "r"), a("g2", "v4", "r")]),
    # TestOperation
    ({"operations": ["*"]}, [a("g", "v", "r", op=o) for o in
                             ("CREATE", "UPDATE", "DELETE", "CONNECT")], []),
    ({"operations": ["CREATE"]}, [a("g", "v", "r")],
     [a("g", "v", "r", op=o) for o in ("UPDATE", "DELETE", "CONNECT")]),
    ({"operations": ["UPDATE", "DELETE"]},
     [a("g", "v", "r", op="UPDATE"), a("g", "v", "r", op="DELETE")],
     [a("g", "v", "r"), a("g", "v", "r", op="CONNECT")]),
    # TestResource
    ({"resources": ["*"]}, [a("g", "v", "r"), a("2", "v", "r2")],
     [a("g", "v", "r", "exec"), a("2", "v", "r2", "proxy")]),
    ({"resources": ["r/*"]}, [a("g", "v", "r"), a("g", "v", "r", "exec")],
     [a("2", "v", "r2"), a("2", "v", "r2", "proxy")]),
    ({"resources": ["r/*", "r2"]}, [a("g", "v", "r"), a("g", "v", "r", "exec"), a("2", "v", "r2")],
     [a("2", "v", "r2", "proxy")]),
    ({"resources": ["*/proxy", "*/exec"]},
     [a("g", "v", "r", "exec"), a("2", "v", "r2", "proxy"), a("2", "v", "r3", "proxy")],
     [a("g", "v", "r"), a("2", "v", "r2"), a("2", "v", "r4", "scale")]),
    # TestScope
    ({"resources": ["*/*"], "scope": "Cluster"},
     [clustered("g", "v", "r"), clustered("g", "v", "r", "exec"),
      clustered("", "v1", "namespaces"), clustered("", "v1", "namespaces", "finalize"),
      a("", "v1", "namespaces"), a("", "v1", "namespaces", "finalize")],
     [a("g", "v", "r"), a("g", "v", "r", "exec")]),
    ({"resources": ["*/*"], "scope": "Namespaced"},
     [a("g", "v", "r"), a("g", "v", "r", "exec")],
     [clustered("", "v1", "namespaces"), clustered("", "v1", "namespaces", "finalize"),
      a("", "v1", "namespaces"), a("", "v1", "namespaces", "finalize"),
      clustered("g", "v", "r"), clustered("g", "v", "r", "exec")]),
    ({"resources": ["*/*"], "scope": "*"},
     [a("g", "v", "r"), clustered("g", "v", "r", "exec"), a("", "v1", "namespaces")], []),
    # NamedRuleWithOperations.resourceNames (matching.go)
    ({"resourceNames": ["a", "b"]}, [a("g", "v", "r", name="a")], [a("g", "v", "r", name="c")]),
]


@pytest.mark.parametrize(("rule", "match", "no_match"), RULE_CASES)
def test_rules(rule: dict[str, Any], match: list[Attributes], no_match: list[Attributes]
               ) -> None:
    for attrs in match:
        assert matches(rule, attrs), attrs
    for attrs in no_match:
        assert not matches(rule, attrs), attrs


def test_exclude_resource_rules_win() -> None:
    extra = {"excludeResourceRules": [{"operations": ["*"], "apiGroups": [""],
                                       "apiVersions": ["*"], "resources": ["pods"],
                                       "resourceNames": ["skip-me"]}]}
    assert matches({}, a("", "v1", "pods", name="other"), **extra)
    assert not matches({}, a("", "v1", "pods", name="skip-me"), **extra)


def test_empty_resource_rules_match_everything() -> None:
    errors: list[str] = []
    mr = parse_match_resources({}, "m", errors)
    assert mr.matches(a("g", "v", "r")) and mr.matches(clustered("x", "y", "z", "s"))


def test_namespace_selector() -> None:
    sel = {"namespaceSelector": {"matchLabels": {"env": "prod"}}}
    assert matches({}, a("", "v1", "pods", ns_labels={"env": "prod"}), **sel)
    assert not matches({}, a("", "v1", "pods", ns_labels={"env": "dev"}), **sel)
    assert not matches({}, a("", "v1", "pods", ns_labels=None), **sel)  # unknown: no labels
    # cluster-scoped requests other than a Namespace always match (namespace/matcher.go)
    assert matches({}, clustered("rbac.authorization.k8s.io", "v1", "clusterroles"), **sel)
    # a Namespace is matched by its own labels
    ns = a("", "v1", "namespaces", namespace="prod", labels={"env": "prod"}, kind="Namespace")
    assert matches({}, ns, **sel)
    ns.labels = {"env": "dev"}
    assert not matches({}, ns, **sel)


def test_namespace_selector_not_in_matches_absent_label() -> None:
    sel = {"namespaceSelector": {"matchExpressions": [
        {"key": "env", "operator": "NotIn", "values": ["dev"]}]}}
    assert matches({}, a("", "v1", "pods", ns_labels={}), **sel)
    assert not matches({}, a("", "v1", "pods", ns_labels={"env": "dev"}), **sel)


def test_object_selector_matches_new_or_old_object() -> None:
    sel = {"objectSelector": {"matchLabels": {"app": "web"}}}
    assert matches({}, a("", "v1", "pods", labels={"app": "web"}), **sel)
    assert matches({}, a("", "v1", "pods", op="UPDATE", labels={}, old_labels={"app": "web"}),
                   **sel)
    assert not matches({}, a("", "v1", "pods", labels={"app": "db"}), **sel)


def test_match_policy_equivalent_and_exact() -> None:
    rule = {"apiGroups": ["autoscaling"], "apiVersions": ["v1"],
            "resources": ["horizontalpodautoscalers"]}
    request = a("autoscaling", "v2", "horizontalpodautoscalers")
    assert matches(rule, request)  # Equivalent is the default
    assert not matches(rule, request, matchPolicy="Exact")
    events = {"apiGroups": [""], "apiVersions": ["v1"], "resources": ["events"]}
    assert matches(events, a("events.k8s.io", "v1", "events"))
    # a resource served at one version has no equivalent
    assert not matches({"apiVersions": ["v1beta1"]}, a("apps", "v1", "deployments"))


@pytest.mark.parametrize(("kind", "resource"), [
    ("Pod", "pods"), ("Ingress", "ingresses"), ("NetworkPolicy", "networkpolicies"),
    ("Endpoints", "endpoints"), ("Deployment", "deployments"),
])
def test_kind_to_resource(kind: str, resource: str) -> None:
    assert guess_resource(kind) == resource

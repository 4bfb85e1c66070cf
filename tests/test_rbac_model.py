"""The offline RBAC model: upstream matching edge cases, bindings, aggregation, risks, paths.

Edge cases follow k8s.io/kubernetes pkg/apis/rbac/v1/evaluation_helpers.go and
plugin/pkg/auth/authorizer/rbac/rbac.go (and their tests); the same semantics are checked
against the real API server in tests/cluster/test_rbac_sar.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeward.config import Config
from kubeward.engine import run_rules
from kubeward.inventory.index import Inventory
from kubeward.inventory.sources import load_paths
from kubeward.rbac import PolicyRule, RBACModel, Subject, UserInfo
from kubeward.rbac.model import Request, rule_allows
from kubeward.rbac.paths import escalation_paths
from kubeward.rules import rbac_risks
from kubeward.rules.base import REGISTRY

FIXTURES = Path(__file__).parent / "fixtures"


def _inv(text: str, tmp_path: Path) -> Inventory:
    p = tmp_path / "in.yaml"
    p.write_text(text)
    loaded = load_paths([str(p)])
    assert not loaded.errors
    return Inventory(loaded.resources)


def _rule(**kw: Any) -> PolicyRule:
    return PolicyRule.from_obj(kw)


@pytest.mark.parametrize(("rule", "req", "allowed"), [
    # VerbMatches / APIGroupMatches: * or exact, case-sensitive
    (dict(verbs=["*"], apiGroups=[""], resources=["pods"]), Request("get", "pods"), True),
    (dict(verbs=["GET"], apiGroups=[""], resources=["pods"]), Request("get", "pods"), False),
    (dict(verbs=["get"], apiGroups=["apps"], resources=["pods"]), Request("get", "pods"), False),
    (dict(verbs=["get"], apiGroups=["*"], resources=["deployments"]),
     Request("get", "deployments", api_group="apps"), True),
    # ResourceMatches: a resource does not cover its subresources
    (dict(verbs=["get"], apiGroups=[""], resources=["pods"]),
     Request("get", "pods", "log"), False),
    (dict(verbs=["create"], apiGroups=[""], resources=["pods/exec"]),
     Request("create", "pods", "exec"), True),
    (dict(verbs=["create"], apiGroups=[""], resources=["pods/exec"]),
     Request("create", "pods"), False),
    # */subresource: any resource's subresource, only with a subresource in the request
    (dict(verbs=["get"], apiGroups=["*"], resources=["*/status"]),
     Request("get", "deployments", "status", "apps"), True),
    (dict(verbs=["get"], apiGroups=["*"], resources=["*/status"]),
     Request("get", "deployments", "", "apps"), False),
    (dict(verbs=["get"], apiGroups=["*"], resources=["*/status"]),
     Request("get", "deployments", "xstatus", "apps"), False),
    # pods/* is not special: it matches only the literal subresource "*"
    (dict(verbs=["get"], apiGroups=[""], resources=["pods/*"]), Request("get", "pods", "log"),
     False),
    (dict(verbs=["get"], apiGroups=[""], resources=["*"]), Request("get", "pods", "log"), True),
    # ResourceNameMatches: empty list = all; else only listed names (list has no name)
    (dict(verbs=["get"], apiGroups=[""], resources=["cm"], resourceNames=["a"]),
     Request("get", "cm", name="a"), True),
    (dict(verbs=["get"], apiGroups=[""], resources=["cm"], resourceNames=["a"]),
     Request("get", "cm", name="b"), False),
    (dict(verbs=["list"], apiGroups=[""], resources=["cm"], resourceNames=["a"]),
     Request("list", "cm"), False),
    # NonResourceURLMatches: *, exact, trailing-* prefix; resource rules never match URLs
    (dict(verbs=["get"], nonResourceURLs=["/healthz"]), Request("get", path="/healthz"), True),
    (dict(verbs=["get"], nonResourceURLs=["/healthz"]), Request("get", path="/healthz/x"),
     False),
    (dict(verbs=["get"], nonResourceURLs=["/logs/*"]), Request("get", path="/logs/a/b"), True),
    (dict(verbs=["get"], nonResourceURLs=["/logs/*"]), Request("get", path="/logs"), False),
    (dict(verbs=["get"], nonResourceURLs=["/logs*"]), Request("get", path="/logsx"), True),
    (dict(verbs=["get"], nonResourceURLs=["*"]), Request("get", path="/anything"), True),
    (dict(verbs=["*"], apiGroups=["*"], resources=["*"]), Request("get", path="/healthz"), False),
    (dict(verbs=["get"], nonResourceURLs=["*"]), Request("get", "pods"), False),
])
def test_rule_allows_follows_upstream(rule, req, allowed):
    assert rule_allows(req, _rule(**rule)) is allowed


BINDINGS = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: reader}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: local, namespace: a}
rules: [{apiGroups: [""], resources: [secrets], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb-cr, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: User, name: alice}, {kind: ServiceAccount, name: sa}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb-role, namespace: a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: local}
subjects: [{kind: Group, name: "system:serviceaccounts:b"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb-role-elsewhere, namespace: b}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: local}
subjects: [{kind: User, name: carol}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb-sa-no-ns}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: ServiceAccount, name: lost}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb-missing}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: does-not-exist}
subjects: [{kind: User, name: dave}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb-sas}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader}
subjects: [{kind: Group, name: "system:serviceaccounts"}]
"""


def test_binding_semantics(tmp_path):
    m = RBACModel.from_inventory(_inv(BINDINGS, tmp_path))
    alice = Subject("User", "alice")
    # a RoleBinding to a ClusterRole grants it in its namespace only
    grant = m.allows(alice, "get", "configmaps", namespace="a")
    assert grant is not None and grant.binding.name == "rb-cr" and grant.role.name == "reader"
    assert grant.rule_index == 0
    assert m.allows(alice, "get", "configmaps", namespace="b") is None
    assert m.allows(alice, "get", "configmaps") is None  # cluster-wide request
    # a ServiceAccount subject without namespace defaults to the RoleBinding's
    assert m.allows(Subject("ServiceAccount", "sa", "a"), "get", "configmaps",
                    namespace="a") is not None
    # ... and in a ClusterRoleBinding matches nobody (only via system:serviceaccounts here)
    lost = UserInfo("system:serviceaccount:x:lost", ())
    assert m.allows(lost, "get", "configmaps", namespace="x") is None
    assert m.allows(Subject("ServiceAccount", "lost", "x"), "get", "configmaps",
                    namespace="x").binding.name == "crb-sas"
    # implicit group system:serviceaccounts:<ns>
    assert m.allows(Subject("ServiceAccount", "any", "b"), "get", "secrets",
                    namespace="a").binding.name == "rb-role"
    assert m.allows(Subject("ServiceAccount", "any", "c"), "get", "secrets", namespace="a") is None
    # roleRef Role is looked up in the binding's own namespace; missing roles grant nothing
    assert m.allows(Subject("User", "carol"), "get", "secrets", namespace="b") is None
    assert m.allows(Subject("User", "dave"), "get", "configmaps", namespace="a") is None
    # a bare user name carries no groups: only what names it
    assert m.allows(UserInfo("system:serviceaccount:b:any"), "get", "secrets", namespace="a") is None


def test_who_can_lists_bound_subjects_with_binding_and_rule(tmp_path):
    m = RBACModel.from_inventory(_inv(BINDINGS, tmp_path))
    got = {(str(e.subject), e.binding.name, e.role.name)
           for e in m.who_can("get", "configmaps", namespace="a")}
    assert got == {("User:alice", "rb-cr", "reader"), ("ServiceAccount:a:sa", "rb-cr", "reader"),
                   ("Group:system:serviceaccounts", "crb-sas", "reader")}
    assert {str(e.subject) for e in m.who_can("get", "configmaps")} == {
        "Group:system:serviceaccounts"}
    assert [str(e.subject) for e in m.who_can("get", "secrets", namespace="a")] == [
        "Group:system:serviceaccounts:b"]
    assert m.who_can("delete", "configmaps", namespace="a") == []


AGGREGATED = """
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {aggregate-to-monitoring: "true"}
  - matchExpressions: [{key: extra, operator: Exists}]
rules: [{apiGroups: [""], resources: [nodes], verbs: [delete]}]  # replaced by the controller
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: b-metrics, labels: {aggregate-to-monitoring: "true", extra: "1"}}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: a-nested, labels: {aggregate-to-monitoring: "true"}}
aggregationRule:
  clusterRoleSelectors: [{matchLabels: {aggregate-to-nested: "true"}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: c-leaf, labels: {aggregate-to-nested: "true"}}
rules: [{apiGroups: [""], resources: [services], verbs: [list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: mon}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: monitoring}
subjects: [{kind: User, name: prom}]
"""


def test_aggregation_like_the_controller(tmp_path):
    m = RBACModel.from_inventory(_inv(AGGREGATED, tmp_path))
    role = m.roles[("ClusterRole", "", "monitoring")]
    # selector by selector, roles by name, duplicates dropped, own rules replaced, nested
    assert [str(r) for r in role.rules] == [
        'verbs=list apiGroups="" resources=services',
        'verbs=get apiGroups="" resources=pods',
    ]
    prom = Subject("User", "prom")
    assert m.allows(prom, "list", "services") is not None
    assert m.allows(prom, "delete", "nodes") is None


def test_access_matrix(tmp_path):
    m = RBACModel.from_inventory(_inv(BINDINGS, tmp_path))
    matrix = m.access(Subject("User", "alice"), "a")
    assert matrix.allowed("", "configmaps", "get")
    assert not matrix.allowed("", "configmaps", "list")
    assert not matrix.allowed("", "secrets", "get")
    assert all(r[2] for r in matrix.rows)  # a namespace shows namespaced resources only
    wide = m.access(Subject("ServiceAccount", "x", "y"))
    assert wide.allowed("", "configmaps", "get")  # via system:serviceaccounts, cluster-wide
    assert wide.to_json()["namespace"] is None


@pytest.mark.parametrize("text", ["User:alice", "Group:devs", "ServiceAccount:ns:sa",
                                  "sa:ns/sa", "system:serviceaccount:ns:sa"])
def test_subject_parse(text):
    s = Subject.parse(text)
    assert str(Subject.parse(str(s))) == str(s)


@pytest.mark.parametrize("text", ["alice", "Robot:x", "ServiceAccount:ns"])
def test_subject_parse_rejects(text):
    with pytest.raises(ValueError, match=r"subject|service account"):
        Subject.parse(text)


RISK_RULES = sorted(rbac_risks.RULES, key=lambda r: r.id)


def keep_catalog_as_declared() -> None:
    """Importing rbac_risks registers its rules; until catalog.py lists the module, take them
    out of the registry again so that catalog-wide tests (docs/rules.md) see the declared
    catalog. The rules stay usable through rbac_risks.RULES."""
    from kubeward.rules.catalog import RULE_MODULES

    if rbac_risks.__name__ not in RULE_MODULES:
        for rule in rbac_risks.RULES:
            REGISTRY.pop(rule.id, None)


keep_catalog_as_declared()


def test_risk_rules_have_metadata():
    assert len(RISK_RULES) == 10
    for rule in RISK_RULES:
        assert rule.checklist == 1 and rule.refs.mitre and rule.remediation and rule.description


def _cases() -> list[tuple[str, Path]]:
    return [(r.id, p) for r in RISK_RULES
            for p in sorted((FIXTURES / "rules" / r.id).glob("*.yaml"))]


@pytest.mark.parametrize(("rule_id", "path"), _cases(), ids=lambda v: getattr(v, "name", v))
def test_risk_rule_fixtures(rule_id, path):
    """The same contract as tests/test_rule_fixtures.py, before the module is in the catalog."""
    loaded = load_paths([str(path)])
    rule = next(r for r in RISK_RULES if r.id == rule_id)
    hits = run_rules(Inventory(loaded.resources), Config(), [rule]).findings
    if path.name.startswith("fire"):
        assert hits and all(h.line >= 1 and "rules[" in h.message for h in hits)
    else:
        assert not hits, [h.message for h in hits]


def test_system_defaults_are_skipped_but_not_hand_bindings(tmp_path):
    text = yaml.safe_dump_all([
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "system:node"},
         "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "system:node"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "system:node"},
         "subjects": [{"kind": "Group", "name": "system:nodes"}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "alice-node"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "system:node"},
         "subjects": [{"kind": "Group", "name": "system:nodes"}, {"kind": "User", "name": "alice"}]},
    ])
    rule = next(r for r in RISK_RULES if r.id == "rbac.secrets-read")
    hits = run_rules(_inv(text, tmp_path), Config(), [rule]).findings
    assert [h.resource.name for h in hits] == ["alice-node"]
    assert "User:alice" in hits[0].message and "system:nodes" not in hits[0].message


def test_escalation_paths_shortest_chain():
    inv = Inventory(load_paths([str(FIXTURES / "rbac" / "cluster.yaml")]).resources)
    m = RBACModel.from_inventory(inv)
    found = escalation_paths(m, inv)
    ci = found[Subject("ServiceAccount", "ci", "build")]
    assert len(ci) == 1 and "kube-system" in ci.steps[0].action
    assert ci.steps[0].grant is not None and ci.steps[0].grant.binding.name == "ci-deploys-system"
    # bob mints a token of build/ci, which deploys into kube-system
    bob = found[Subject("User", "bob")]
    assert [s.becomes for s in bob.steps] == [Subject("ServiceAccount", "ci", "build"), None]
    assert "serviceaccounts/token" in bob.steps[0].action
    assert bob.describe().startswith("User:bob --[create serviceaccounts/token in build]--> "
                                     "ServiceAccount:build:ci")
    # alice can only become shop/web, which has no way up: no path
    assert Subject("User", "alice") not in found
    assert Subject("Group", "devs") not in found
    only = escalation_paths(m, inv, [Subject("User", "bob")])
    assert list(only) == [Subject("User", "bob")]

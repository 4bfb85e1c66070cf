"""kubeward's RBAC model against the real authorizer: SubjectAccessReview, tuple by tuple.

A fixed set of subjects, Roles, ClusterRoles (one aggregated, its rules filled as the
aggregation controller would, since no controller-manager runs here), RoleBindings and
ClusterRoleBindings, plus a seeded random set, is created in the real kube-apiserver. The
objects are read back with kubeward's own cluster reader, and for every
(identity, verb, resource, namespace) tuple both `RBACModel.allows` and `who_can` must
give the server's own SubjectAccessReview answer.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import yaml

from kubeward.inventory.cluster import connect, read_cluster, resources_from_objects
from kubeward.inventory.index import Inventory
from kubeward.rbac import RBACModel, Subject, UserInfo
from kubeward.rbac.model import aggregate_cluster_roles
from tests.cluster.kube import Cluster

pytestmark = pytest.mark.cluster

RBAC = "rbac.authorization.k8s.io/v1"
NAMESPACES = ("rbt-a", "rbt-b")


def _cr(name: str, rules: list[dict[str, Any]], labels: dict[str, str] | None = None,
        aggregation: dict[str, Any] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": RBAC, "kind": "ClusterRole",
                           "metadata": {"name": name, "labels": labels or {}}, "rules": rules}
    if aggregation is not None:
        obj["aggregationRule"] = aggregation
    return obj


def _role(ns: str, name: str, rules: list[dict[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": RBAC, "kind": "Role", "metadata": {"name": name, "namespace": ns},
            "rules": rules}


def _binding(kind: str, name: str, role_kind: str, role: str, subjects: list[dict[str, Any]],
             ns: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    subs = [{"apiGroup": "rbac.authorization.k8s.io", **s} if s["kind"] != "ServiceAccount"
            else s for s in subjects]
    return {"apiVersion": RBAC, "kind": kind, "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role},
            "subjects": subs}


def _user(name: str) -> dict[str, str]:
    return {"kind": "User", "name": name}


def _group(name: str) -> dict[str, str]:
    return {"kind": "Group", "name": name}


def _sa(name: str, ns: str | None = None) -> dict[str, str]:
    return {"kind": "ServiceAccount", "name": name, **({"namespace": ns} if ns else {})}


AGG_SOURCES = [
    _cr("rbt-agg-secrets", [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
        {"rbt-aggregate": "yes"}),
    _cr("rbt-agg-deploy", [{"apiGroups": ["apps"], "resources": ["deployments"],
                            "verbs": ["list", "get"]},
                           {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
        {"rbt-aggregate": "yes"}),
]
AGG_RULE = {"clusterRoleSelectors": [{"matchLabels": {"rbt-aggregate": "yes"}}]}

FIXED: list[dict[str, Any]] = [
    *({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}} for ns in NAMESPACES),
    *({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": n, "namespace": ns}}
      for ns in NAMESPACES for n in ("sa1", "sa2")),
    _cr("rbt-pods-read", [{"apiGroups": [""], "resources": ["pods"],
                           "verbs": ["get", "list", "watch"]}]),
    _cr("rbt-exec", [{"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
                     {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]}]),
    _cr("rbt-star-status", [{"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["get"]}]),
    _cr("rbt-named-cm", [{"apiGroups": [""], "resources": ["configmaps"],
                          "resourceNames": ["cm1"], "verbs": ["get", "list", "update"]}]),
    _cr("rbt-apps-all", [{"apiGroups": ["apps"], "resources": ["*"], "verbs": ["*"]}]),
    _cr("rbt-urls", [{"nonResourceURLs": ["/rbt/exact", "/rbt/pre/*"], "verbs": ["get"]}]),
    *AGG_SOURCES,
    _role("rbt-a", "secrets-read", [{"apiGroups": [""], "resources": ["secrets"],
                                      "verbs": ["get", "list"]}]),
    _role("rbt-b", "cm-create", [{"apiGroups": [""], "resources": ["configmaps"],
                                  "verbs": ["create"]}]),
    _binding("ClusterRoleBinding", "rbt-devs-pods", "ClusterRole", "rbt-pods-read",
             [_group("rbt-devs")]),
    _binding("RoleBinding", "rbt-alice-exec", "ClusterRole", "rbt-exec", [_user("rbt-alice")],
             "rbt-a"),
    _binding("RoleBinding", "rbt-sa-secrets", "Role", "secrets-read", [_sa("sa1")], "rbt-a"),
    _binding("RoleBinding", "rbt-sas-cm", "Role", "cm-create",
             [_group("system:serviceaccounts:rbt-a")], "rbt-b"),
    _binding("ClusterRoleBinding", "rbt-bob-agg", "ClusterRole", "rbt-aggregated",
             [_user("rbt-bob")]),
    _binding("ClusterRoleBinding", "rbt-named", "ClusterRole", "rbt-named-cm",
             [_group("system:authenticated")]),
    _binding("RoleBinding", "rbt-cross-ns-sa", "ClusterRole", "rbt-apps-all",
             [_sa("sa2", "rbt-a")], "rbt-b"),
    _binding("ClusterRoleBinding", "rbt-carol-status", "ClusterRole", "rbt-star-status",
             [_user("rbt-carol")]),
    _binding("RoleBinding", "rbt-dave-missing", "ClusterRole", "rbt-does-not-exist",
             [_user("rbt-dave")], "rbt-a"),
    _binding("RoleBinding", "rbt-erin-role-elsewhere", "Role", "secrets-read",
             [_user("rbt-erin")], "rbt-b"),
    _binding("ClusterRoleBinding", "rbt-sas-urls", "ClusterRole", "rbt-urls",
             [_group("system:serviceaccounts")]),
]

VERBS = ["get", "list", "watch", "create", "update", "delete", "escalate"]
RESOURCES = [("", "pods", ""), ("", "pods", "exec"), ("", "pods", "log"), ("", "pods", "status"),
             ("apps", "deployments", ""), ("apps", "deployments", "status"), ("", "secrets", ""),
             ("", "configmaps", ""), ("batch", "jobs", ""), ("apps", "daemonsets", "scale")]


def _generated(seed: int = 6) -> list[dict[str, Any]]:
    """A seeded random set: wildcards, subresources, resourceNames, odd subjects."""
    rng = random.Random(seed)
    groups = ["", "apps", "batch", "*"]
    resources = ["pods", "pods/exec", "*/status", "secrets", "configmaps", "deployments",
                 "jobs", "*", "daemonsets/scale", "pods/*"]
    verbs = ["get", "list", "watch", "create", "update", "delete", "*"]
    users = [f"rbt-gen-{i}" for i in range(6)]
    objs: list[dict[str, Any]] = []
    for i in range(16):
        rules = []
        for _ in range(rng.randint(1, 3)):
            rule: dict[str, Any] = {
                "apiGroups": rng.sample(groups, rng.randint(1, 2)),
                "resources": rng.sample(resources, rng.randint(1, 3)),
                "verbs": rng.sample(verbs, rng.randint(1, 3)),
            }
            if rng.random() < 0.2:
                rule["resourceNames"] = ["cm1"]
            rules.append(rule)
        if i % 2:
            objs.append(_cr(f"rbt-gen-{i}", rules))
        else:
            objs.append(_role(rng.choice(NAMESPACES), f"rbt-gen-{i}", rules))
    for j in range(20):
        role = objs[rng.randrange(len(objs))]
        subject = rng.choice([
            _user(rng.choice(users)), _group("rbt-gen-group"),
            _sa(rng.choice(["sa1", "sa2"]), rng.choice(NAMESPACES)),
            _group(f"system:serviceaccounts:{rng.choice(NAMESPACES)}"),
        ])
        if role["kind"] == "Role":
            objs.append(_binding("RoleBinding", f"rbt-gen-b{j}", "Role", role["metadata"]["name"],
                                 [subject], role["metadata"]["namespace"]))
        elif rng.random() < 0.5:
            objs.append(_binding("ClusterRoleBinding", f"rbt-gen-b{j}", "ClusterRole",
                                 role["metadata"]["name"], [subject]))
        else:
            objs.append(_binding("RoleBinding", f"rbt-gen-b{j}", "ClusterRole",
                                 role["metadata"]["name"], [subject], rng.choice(NAMESPACES)))
    return objs


IDENTITIES = [
    UserInfo("rbt-alice", ("rbt-devs", "system:authenticated")),
    UserInfo("rbt-bob", ("system:authenticated",)),
    UserInfo("rbt-carol", ()),
    UserInfo("rbt-dave", ("system:authenticated",)),
    UserInfo("rbt-erin", ("system:authenticated",)),
    UserInfo("rbt-frank", ("system:authenticated",)),
    UserInfo("", ("rbt-gen-group",)),
    UserInfo("system:anonymous", ("system:unauthenticated",)),
    *(UserInfo(f"rbt-gen-{i}", ("system:authenticated",)) for i in range(6)),
    *(UserInfo.of(Subject("ServiceAccount", n, ns)) for ns in NAMESPACES for n in ("sa1", "sa2")),
    UserInfo("system:serviceaccount:rbt-a:sa1", ()),  # the name alone, without its groups
]


@pytest.fixture(scope="module")
def rbac_cluster(cluster: Cluster) -> Iterator[tuple[Cluster, RBACModel, Inventory]]:
    computed = aggregate_cluster_roles(resources_from_objects(AGG_SOURCES, "x", "file"))
    aggregated = _cr("rbt-aggregated", [], aggregation=AGG_RULE)
    # what the clusterrole-aggregation controller would store (none runs in this cluster)
    aggregated["rules"] = [r.to_obj() for r in computed["rbt-agg-deploy"]]
    objs = [*FIXED, aggregated, *_generated()]
    namespaced_first = sorted(objs, key=lambda o: o["kind"] != "Namespace")
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(namespaced_first))
    conn = connect(str(cluster.admin_kubeconfig))
    try:
        read = read_cluster(conn)
    finally:
        conn.close()
    inv = Inventory(resources_from_objects(read.objects, read.server, "cluster"))
    yield cluster, RBACModel.from_inventory(inv), inv
    # leave the shared cluster as found (namespaces stay Terminating: no namespace controller)
    cluster.kubectl("delete", "--ignore-not-found", "--wait=false", "-f", "-",
                    input=yaml.safe_dump_all(list(reversed(namespaced_first))), check=False)


def _sar(cluster: Cluster, who: UserInfo, attrs: dict[str, Any], key: str) -> bool:
    spec: dict[str, Any] = {key: attrs, "groups": list(who.groups)}
    if who.name:
        spec["user"] = who.name
    status, body = cluster.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                                   body={"apiVersion": "authorization.k8s.io/v1",
                                         "kind": "SubjectAccessReview", "spec": spec})
    assert status == 201, body
    return bool(body["status"].get("allowed"))


def _applies(subject: Subject, who: UserInfo) -> bool:
    if subject.kind == "User":
        return subject.name == who.name
    if subject.kind == "Group":
        return subject.name in who.groups
    return subject.username == who.name


def test_aggregated_role_is_what_the_controller_computes(rbac_cluster):
    _, model, _ = rbac_cluster
    role = model.roles[("ClusterRole", "", "rbt-aggregated")]
    assert role.aggregated
    # rbt-agg-deploy first (sorted by name), the duplicate secrets rule of rbt-agg-secrets dropped
    assert [str(r) for r in role.rules] == [
        "verbs=list,get apiGroups=apps resources=deployments",
        'verbs=get apiGroups="" resources=secrets',
    ]


def test_model_equals_subject_access_review(rbac_cluster):
    cluster, model, _ = rbac_cluster
    tuples = [(who, verb, group, res, sub, ns, name)
              for who in IDENTITIES for verb in VERBS for group, res, sub in RESOURCES
              for ns in ("rbt-a", "rbt-b", "")
              for name in (("", "cm1") if res == "configmaps" and verb in ("get", "update")
                           else ("",))]
    assert len(tuples) > 500
    who_can_cache: dict[tuple[str, str, str, str, str, str], list[Any]] = {}

    def check(t: tuple[UserInfo, str, str, str, str, str, str]) -> tuple[Any, bool, bool, bool]:
        who, verb, group, res, sub, ns, name = t
        attrs = {"verb": verb, "group": group, "resource": res, "subresource": sub,
                 "namespace": ns, "name": name}
        server = _sar(cluster, who, attrs, "resourceAttributes")
        ours = model.allows(who, verb, res, sub, group, ns or None, name) is not None
        return t, server, ours, False

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(check, tuples))
    mismatches = []
    allowed = 0
    for t, server, ours, _ in results:
        who, verb, group, res, sub, ns, name = t
        key = (verb, group, res, sub, ns, name)
        if key not in who_can_cache:
            who_can_cache[key] = model.who_can(verb, res, sub, group, ns or None, name)
        via_who_can = any(_applies(e.subject, who) for e in who_can_cache[key])
        allowed += server
        if server != ours or server != via_who_can:
            mismatches.append((who, verb, group, res, sub, ns, name, server, ours, via_who_can))
    assert not mismatches, mismatches[:20]
    assert allowed > 50  # both answers are exercised
    assert len(results) - allowed > 50


@pytest.mark.parametrize("path", ["/rbt/exact", "/rbt/exact/more", "/rbt/pre", "/rbt/pre/",
                                  "/rbt/pre/x/y", "/rbt/other", "/healthz", "/version"])
def test_non_resource_urls_equal_subject_access_review(rbac_cluster, path):
    cluster, model, _ = rbac_cluster
    for who in IDENTITIES:
        for verb in ("get", "post"):
            server = _sar(cluster, who, {"path": path, "verb": verb}, "nonResourceAttributes")
            ours = model.allows(who, verb, path=path) is not None
            assert ours == server, (who, verb, path)


def test_who_can_names_binding_and_rule(rbac_cluster):
    _, model, _ = rbac_cluster
    entries = model.who_can("create", "pods", "exec", namespace="rbt-a")
    mine = [e for e in entries if e.subject == Subject("User", "rbt-alice")]
    assert mine and mine[0].binding.name == "rbt-alice-exec"
    assert mine[0].role.name == "rbt-exec" and mine[0].rule_index == 0
    assert not [e for e in model.who_can("create", "pods", "exec", namespace="rbt-b")
                if e.subject.name == "rbt-alice"]

"""`kubeward rbac from-audit`: audit events → RBAC attributes → least-privilege roles.

The request → attributes cases follow k8s.io/apiserver/pkg/endpoints/request/requestinfo.go
(RequestInfoFactory) and its tests; the generation cases pin what audit2rbac gets wrong
(resourceNames on create/list, liggitt/audit2rbac#24; verb expansion; unstable order).
"""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from kubeward.cli.rbac_from_audit import from_audit
from kubeward.rbacgen import (
    PolicyRule,
    ReadStats,
    RequestAttributes,
    Subject,
    event_attributes,
    generate,
    observe,
    read_events,
    request_info,
    rule_allows,
    rules_for,
)
from kubeward.rbacgen.compare import compare, load_rbac_objects
from kubeward.rbacgen.rules import UNNAMEABLE_VERBS
from tests.conftest import REPO, corpus

FIXTURES = REPO / "tests" / "fixtures" / "audit"


def rbac_group() -> click.Group:
    """The `rbac` group as the lead registers it (the real one lives in cli/rbac.py)."""
    group = click.Group("rbac")
    group.add_command(from_audit)
    return group


def run(*args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(rbac_group(), ["from-audit", *args], input=stdin)


def docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def rules_of(objects: list[dict[str, Any]], kind: str, namespace: str = "") -> list[dict[str, Any]]:
    (role,) = [o for o in objects if o["kind"] == kind and o["metadata"].get("namespace", "") == namespace]
    return role["rules"]  # type: ignore[no-any-return]


# --- request → attributes -------------------------------------------------------------------


def attrs(**kw: Any) -> RequestAttributes:
    kw.setdefault("resource_request", True)
    return RequestAttributes(**kw)


@pytest.mark.parametrize(
    ("method", "uri", "expected"),
    [
        # namespaced list vs get, core group ""
        ("GET", "/api/v1/namespaces/shop/pods", dict(verb="list", resource="pods", namespace="shop")),
        (
            "GET",
            "/api/v1/namespaces/shop/pods/web",
            dict(verb="get", resource="pods", namespace="shop", name="web"),
        ),
        # cluster-wide list of a namespaced resource, cluster-scoped resource
        ("GET", "/api/v1/pods", dict(verb="list", resource="pods")),
        ("GET", "/api/v1/nodes/n1", dict(verb="get", resource="nodes", name="n1")),
        # subresources
        (
            "GET",
            "/api/v1/namespaces/shop/pods/web/log?container=app",
            dict(verb="get", resource="pods", subresource="log", namespace="shop", name="web"),
        ),
        (
            "POST",
            "/api/v1/namespaces/shop/pods/web/exec?command=sh",
            dict(verb="create", resource="pods", subresource="exec", namespace="shop", name="web"),
        ),
        (
            "GET",
            "/api/v1/namespaces/shop/pods/web/exec?command=sh",  # websocket upgrade is a GET
            dict(verb="get", resource="pods", subresource="exec", namespace="shop", name="web"),
        ),
        (
            "GET",
            "/api/v1/nodes/n1/proxy/metrics",
            dict(verb="get", resource="nodes", subresource="proxy", name="n1"),
        ),
        # watch: ?watch=true (any value but 0/false/no), the legacy /watch/ prefix, name from fieldSelector
        (
            "GET",
            "/api/v1/namespaces/shop/pods?watch=true",
            dict(verb="watch", resource="pods", namespace="shop"),
        ),
        (
            "GET",
            "/api/v1/namespaces/shop/pods?watch=1&resourceVersion=5",
            dict(verb="watch", resource="pods", namespace="shop"),
        ),
        (
            "GET",
            "/api/v1/namespaces/shop/pods?watch=false",
            dict(verb="list", resource="pods", namespace="shop"),
        ),
        ("GET", "/api/v1/watch/namespaces/shop/pods", dict(verb="watch", resource="pods", namespace="shop")),
        (
            "GET",
            "/api/v1/namespaces/shop/pods?fieldSelector=metadata.name%3Dweb&watch=true",
            dict(verb="watch", resource="pods", namespace="shop", name="web"),
        ),
        (
            "GET",
            "/api/v1/namespaces/shop/pods?fieldSelector=metadata.name%21%3Dweb",
            dict(verb="list", resource="pods", namespace="shop"),
        ),
        # delete vs deletecollection, create, update, patch; named API groups
        (
            "DELETE",
            "/api/v1/namespaces/shop/configmaps",
            dict(verb="deletecollection", resource="configmaps", namespace="shop"),
        ),
        (
            "DELETE",
            "/api/v1/namespaces/shop/configmaps/c",
            dict(verb="delete", resource="configmaps", namespace="shop", name="c"),
        ),
        (
            "POST",
            "/api/v1/namespaces/shop/secrets",
            dict(verb="create", resource="secrets", namespace="shop"),
        ),
        (
            "PUT",
            "/apis/apps/v1/namespaces/shop/deployments/web/scale",
            dict(
                verb="update",
                api_group="apps",
                resource="deployments",
                subresource="scale",
                namespace="shop",
                name="web",
            ),
        ),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/shop/deployments/web",
            dict(verb="patch", api_group="apps", resource="deployments", namespace="shop", name="web"),
        ),
        (
            "POST",
            "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
            dict(verb="create", api_group="authorization.k8s.io", resource="selfsubjectaccessreviews"),
        ),
        # namespaces: the namespace of a namespace is itself; status/finalize are its subresources
        ("GET", "/api/v1/namespaces", dict(verb="list", resource="namespaces")),
        (
            "GET",
            "/api/v1/namespaces/shop",
            dict(verb="get", resource="namespaces", namespace="shop", name="shop"),
        ),
        (
            "PUT",
            "/api/v1/namespaces/shop/finalize",
            dict(verb="update", resource="namespaces", subresource="finalize", namespace="shop", name="shop"),
        ),
        # the deprecated /proxy/ special verb: no subresource
        (
            "GET",
            "/api/v1/proxy/namespaces/shop/pods/web/path",
            dict(verb="proxy", resource="pods", namespace="shop", name="web"),
        ),
    ],
)
def test_resource_request_attributes(method: str, uri: str, expected: dict[str, Any]) -> None:
    info = request_info(method, uri)
    version = "v1"
    assert info == attrs(api_version=version, path=uri.split("?")[0], **expected)


@pytest.mark.parametrize(
    ("method", "uri"),
    [
        ("GET", "/healthz"),
        ("GET", "/api"),
        ("GET", "/api/v1"),  # discovery of a group version is not a resource request
        ("GET", "/apis"),
        ("GET", "/apis/apps/v1"),
        ("GET", "/version"),
        ("GET", "/metrics"),
        ("POST", "/logs/kube-apiserver.log"),
        ("GET", "/foo/v1/namespaces/shop/pods"),  # not under /api or /apis
    ],
)
def test_non_resource_requests(method: str, uri: str) -> None:
    assert request_info(method, uri) == RequestAttributes(False, method.lower(), path=uri)


def test_event_attributes_ignore_object_name_of_creates() -> None:
    """objectRef.name of a create comes from the body; RBAC never sees it (audit2rbac#24)."""
    event = {
        "verb": "create",
        "requestURI": "/api/v1/namespaces/shop/secrets",
        "objectRef": {"resource": "secrets", "namespace": "shop", "name": "db", "apiVersion": "v1"},
    }
    assert event_attributes(event) == attrs(
        verb="create",
        resource="secrets",
        namespace="shop",
        api_version="v1",
        path="/api/v1/namespaces/shop/secrets",
    )
    without_uri = {k: v for k, v in event.items() if k != "requestURI"}
    got = event_attributes(without_uri)
    assert got is not None and got.name == "" and got.verb == "create"


def test_event_verb_is_the_servers_answer() -> None:
    # the audit verb is what the server authorized; the URI gives the rest
    got = event_attributes({"verb": "watch", "requestURI": "/api/v1/namespaces/a/pods?watch=true"})
    assert got is not None and (got.verb, got.namespace) == ("watch", "a")
    assert event_attributes({"verb": "get", "requestURI": "/healthz"}) == RequestAttributes(
        False, "get", path="/healthz"
    )
    assert event_attributes({"verb": "get"}) is None


# --- reading logs ---------------------------------------------------------------------------


def test_read_events_counts_malformed_lines_and_accepts_every_format() -> None:
    stats = ReadStats()
    with (FIXTURES / "events.jsonl").open() as stream:
        events = list(read_events(stream, "events.jsonl", stats))
    assert stats.malformed == 3  # not JSON, a truncated event, a Pod
    assert [w.split(":")[1] for w in stats.malformed_where] == ["5", "10", "11"]
    versions = {e.get("apiVersion") for e in events}
    assert versions == {
        "audit.k8s.io/v1",
        "audit.k8s.io/v1beta1",
        None,
    }  # None: no apiVersion / EventList items
    assert stats.events == len(events) == 23


def test_read_pretty_printed_eventlist_and_stdin() -> None:
    text = (FIXTURES / "eventlist-pretty.json").read_text()
    stats = ReadStats()
    events = list(read_events(io.StringIO(text), "<stdin>", stats))
    assert (stats.events, stats.malformed) == (3, 0)
    result = run("-", "--user", "dev", stdin=text)
    assert result.exit_code == 0, result.output
    objects = docs(result.stdout)
    assert rules_of(objects, "Role", "kube-system") == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}
    ]
    assert len(events) == 3


def test_only_complete_allowed_events_of_the_subject() -> None:
    stats = ReadStats()
    with (FIXTURES / "events.jsonl").open() as stream:
        observed = observe(read_events(stream, "x", stats), Subject.user("dev"))
    described = {r.describe() for r in observed.requests}
    assert "list core/secrets in namespace other" not in described  # 403
    assert "delete core/pods 'web-0' in namespace shop" not in described  # decision: forbid
    assert "get core/configmaps 'missing' in namespace shop" in described  # 404, but authorized
    assert "list core/services in namespace shop" not in described  # dev impersonating someone else
    assert "list core/endpoints in namespace shop" not in described  # another user
    assert "list core/pods in namespace shop" in described  # also through admin impersonating dev
    assert observed.skipped_stage == 1 and observed.skipped_denied == 2
    assert observed.groups == {"devs", "system:authenticated"}


# --- generation -----------------------------------------------------------------------------


EXPECTED_DEV_ROLE = [
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["deletecollection"]},
    {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app-config"], "verbs": ["update"]},
    {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": ["app-config", "feature-flags", "missing"],
        "verbs": ["get"],
    },
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]},
    {"apiGroups": [""], "resources": ["pods/exec", "secrets"], "verbs": ["create"]},
    {"apiGroups": [""], "resources": ["pods/log"], "resourceNames": ["web-0"], "verbs": ["get"]},
    {"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["web"], "verbs": ["patch"]},
    {"apiGroups": ["apps"], "resources": ["deployments/scale"], "resourceNames": ["web"], "verbs": ["get"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["list"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "resourceNames": ["nightly"], "verbs": ["get"]},
]


def test_fixture_log_generates_exact_roles() -> None:
    result = run(str(FIXTURES / "events.jsonl"), "--user", "dev")
    assert result.exit_code == 0, result.output
    assert "3 malformed line(s)" in result.stderr
    objects = docs(result.stdout)
    assert [(o["kind"], o["metadata"].get("namespace")) for o in objects] == [
        ("ClusterRole", None),
        ("ClusterRoleBinding", None),
        ("Role", "shop"),
        ("RoleBinding", "shop"),
    ]
    assert rules_of(objects, "ClusterRole") == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]},
        {"nonResourceURLs": ["/healthz", "/metrics"], "verbs": ["get"]},
    ]
    assert rules_of(objects, "Role", "shop") == EXPECTED_DEV_ROLE
    for obj in objects:
        assert obj["metadata"]["name"] == "kubeward:from-audit:dev"
        assert obj["metadata"]["labels"]["kubeward.io/generated-by"] == "from-audit"
    binding = next(o for o in objects if o["kind"] == "RoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": "kubeward:from-audit:dev",
    }
    assert binding["subjects"] == [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "dev"}]


def test_scopes_cluster_and_namespace_only() -> None:
    cluster = run(str(FIXTURES / "events.jsonl"), "--user", "dev", "--cluster-scoped")
    objects = docs(cluster.stdout)
    assert [o["kind"] for o in objects] == ["ClusterRole", "ClusterRoleBinding"]
    assert {"apiGroups": [""], "resources": ["pods"], "verbs": ["list", "watch"]} in rules_of(
        objects, "ClusterRole"
    )
    namespaced = run(str(FIXTURES / "events.jsonl"), "--user", "dev", "--namespace-scoped")
    objects = docs(namespaced.stdout)
    assert [o["kind"] for o in objects] == ["Role", "RoleBinding"]
    assert "not granted (needs cluster scope): list core/nodes (cluster-wide)" in namespaced.stderr
    assert "not granted (needs cluster scope): get /metrics" in namespaced.stderr


def test_json_output_is_a_list_kubectl_accepts() -> None:
    result = run(
        str(FIXTURES / "events.jsonl"),
        "--user",
        "dev",
        "-o",
        "json",
        "--skip-discovery",
        "--no-resource-names",
    )
    data = json.loads(result.stdout)
    assert data["kind"] == "List" and data["apiVersion"] == "v1"
    assert rules_of(data["items"], "ClusterRole") == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["list"]},
        {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},  # /healthz: everyone has it
    ]
    role = rules_of(data["items"], "Role", "shop")
    assert all("resourceNames" not in rule for rule in role)
    assert {
        "apiGroups": [""],
        "resources": ["configmaps"],
        "verbs": ["deletecollection", "get", "update"],
    } in role


def test_usage_errors_and_no_events() -> None:
    assert run(str(FIXTURES / "events.jsonl")).exit_code == 2
    assert run(str(FIXTURES / "events.jsonl"), "--user", "a", "--serviceaccount", "n:s").exit_code == 2
    assert run(str(FIXTURES / "events.jsonl"), "--serviceaccount", "nonamespace").exit_code == 2
    result = run(str(FIXTURES / "events.jsonl"), "--user", "nobody")
    assert result.exit_code == 1 and "no allowed, completed request of nobody" in result.stderr
    assert result.stdout == ""


def test_serviceaccount_subject_and_names() -> None:
    sa = Subject.service_account("ns1:sa1")
    assert sa.username == "system:serviceaccount:ns1:sa1"
    assert sa.to_rbac() == {"kind": "ServiceAccount", "name": "sa1", "namespace": "ns1"}
    assert Subject.user("system:serviceaccount:ns1:sa1") == sa
    assert Subject.user("https://issuer/#alice").object_name() == "kubeward:from-audit:https:--issuer-#alice"


# --- the audit2rbac demo log ----------------------------------------------------------------


def test_demo_log_serviceaccount() -> None:
    """sa1 was refused list pods in default and list nodes, then allowed list pods cluster-wide."""
    log = corpus("audit2rbac") / "testdata" / "demo.log"
    result = run(str(log), "--serviceaccount", "ns1:sa1")
    assert result.exit_code == 0, result.output
    objects = docs(result.stdout)
    assert [o["kind"] for o in objects] == ["ClusterRole", "ClusterRoleBinding"]
    assert rules_of(objects, "ClusterRole") == [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}]
    assert objects[1]["subjects"] == [{"kind": "ServiceAccount", "name": "sa1", "namespace": "ns1"}]
    assert objects[0]["metadata"]["name"] == "kubeward:from-audit:system:serviceaccount:ns1:sa1"


def test_demo_log_impersonated_user() -> None:
    """bob (impersonated by system:admin) listed pods in default and ran discovery.

    His list of pods in ns1 and of nodes were denied."""
    log = corpus("audit2rbac") / "testdata" / "demo.log"
    result = run(str(log), "--user", "bob")
    objects = docs(result.stdout)
    assert rules_of(objects, "Role", "default") == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}
    ]
    (urls,) = rules_of(objects, "ClusterRole")
    assert urls["verbs"] == ["get"]
    assert urls["nonResourceURLs"][:3] == ["/api", "/api/v1", "/apis"]
    assert len(urls["nonResourceURLs"]) == 23 and "/apis/batch/v1" in urls["nonResourceURLs"]
    assert not any(o["metadata"].get("namespace") == "ns1" for o in objects)
    skipped = run(str(log), "--user", "bob", "--skip-discovery")
    assert [o["kind"] for o in docs(skipped.stdout)] == ["Role", "RoleBinding"]
    # alice was only ever refused
    assert run(str(log), "--user", "alice").exit_code == 1


# --- compaction properties ------------------------------------------------------------------


VERBS = ["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]
request_strategy = st.builds(
    lambda verb, group, resource, sub, name: RequestAttributes(
        True,
        verb,
        api_group=group,
        resource=resource,
        subresource=sub,
        name="" if verb in ("list", "watch", "create", "deletecollection") and not sub else name,
    ),
    st.sampled_from(VERBS),
    st.sampled_from(["", "apps"]),
    st.sampled_from(["pods", "secrets", "deployments"]),
    st.sampled_from(["", "", "log", "status"]),
    st.sampled_from(["", "a", "b"]),
) | st.builds(
    lambda verb, path: RequestAttributes(False, verb, path=path),
    st.sampled_from(["get", "post"]),
    st.sampled_from(["/healthz", "/metrics", "/logs"]),
)


def atoms(rule: PolicyRule) -> set[tuple[str, str, str, str]]:
    if rule.non_resource_urls:
        return {("url", u, v, "") for u in rule.non_resource_urls for v in rule.verbs}
    names = rule.resource_names or ("",)
    return {(g, r, v, n) for g in rule.api_groups for r in rule.resources for v in rule.verbs for n in names}


@settings(max_examples=300, deadline=None)
@given(st.lists(request_strategy, max_size=25))
def test_rules_cover_exactly_the_requests(requests: list[RequestAttributes]) -> None:
    rules = rules_for(requests)
    # every request is allowed
    for req in requests:
        assert any(rule_allows(rule, req) for rule in rules), req
    # nothing more: each atom of each rule is needed by some request
    needed = set()
    for req in requests:
        if not req.resource_request:
            needed.add(("url", req.path, req.verb, ""))
        elif req.name and req.verb not in UNNAMEABLE_VERBS:
            needed.add((req.api_group, req.rbac_resource, req.verb, req.name))
        else:
            needed.add((req.api_group, req.rbac_resource, req.verb, ""))
    for rule in rules:
        for atom in atoms(rule):
            group, resource, verb, name = atom
            assert atom in needed or (name and (group, resource, verb, "") in needed), (rule, atom)
        # never resourceNames with verbs RBAC cannot restrict by name
        assert not (rule.resource_names and set(rule.verbs) & UNNAMEABLE_VERBS), rule
    # deterministic, independent of input order; no duplicates
    shuffled = list(requests)
    random.Random(1).shuffle(shuffled)
    assert rules_for(shuffled) == rules
    assert len(set(rules)) == len(rules)


def test_compaction_merges_verbs_and_resources() -> None:
    reqs = [
        attrs(verb=v, resource=r, namespace="n") for v in ("get", "list") for r in ("configmaps", "secrets")
    ] + [attrs(verb="list", api_group="apps", resource="deployments")]
    assert [r.to_dict() for r in rules_for(reqs)] == [
        {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["list"]},
    ]
    # an unnamed get makes named gets redundant
    named = [attrs(verb="get", resource="secrets", name="a"), attrs(verb="get", resource="secrets")]
    assert [r.to_dict() for r in rules_for(named)] == [
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}
    ]


def test_generated_yaml_round_trips() -> None:
    gen = generate(
        Subject.user("dev"), [attrs(verb="get", resource="pods", namespace="n", name="*weird: name")]
    )
    text = "---\n".join(yaml.safe_dump(o, sort_keys=False) for o in gen.objects())
    assert docs(text) == gen.objects()


# --- --compare ------------------------------------------------------------------------------


def test_compare_reports_unused_permissions() -> None:
    result = run(
        str(FIXTURES / "events.jsonl"), "--user", "dev", "--compare", str(FIXTURES / "current-rbac.yaml")
    )
    assert result.exit_code == 0, result.output
    report = yaml.safe_load(result.stdout)
    assert report["bindings"] == [
        "ClusterRoleBinding dev-node-reader",
        "RoleBinding shop/shop-dev",
    ]  # not mallory's
    unused = {(u["binding"], json.dumps(u["rule"], sort_keys=True)) for u in report["unused"]}
    assert unused == {
        (
            "ClusterRoleBinding dev-node-reader",
            json.dumps({"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}, sort_keys=True),
        ),
        (
            "ClusterRoleBinding dev-node-reader",
            json.dumps({"nonResourceURLs": ["/logs/*"], "verbs": ["get"]}, sort_keys=True),
        ),
        (
            "RoleBinding shop/shop-dev",
            json.dumps(
                {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete", "get"]},
                sort_keys=True,
            ),
        ),
        (
            "RoleBinding shop/shop-dev",
            json.dumps(
                {
                    "apiGroups": [""],
                    "resources": ["pods/exec", "secrets"],
                    "verbs": ["delete", "get", "list", "watch"],
                },
                sort_keys=True,
            ),
        ),
        (
            "RoleBinding shop/shop-dev",
            json.dumps(
                {
                    "apiGroups": [""],
                    "resources": ["pods/log"],
                    "verbs": ["create", "delete", "list", "watch"],
                },
                sort_keys=True,
            ),
        ),
    }
    assert [u["rule"] for u in report["broaderThanUsed"]] == [
        {"apiGroups": ["apps"], "resources": ["*"], "verbs": ["*"]}
    ]
    # used but not granted by the compared manifests: configmaps, batch jobs, /healthz
    assert "get /healthz" in report["notGranted"]
    assert "deletecollection core/configmaps in namespace shop" in report["notGranted"]
    assert not any("pods" in line for line in report["notGranted"])


def test_compare_service_account_defaulted_namespace(tmp_path: Path) -> None:
    manifest = tmp_path / "rbac.yaml"
    manifest.write_text(
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: r, namespace: ns1}\n"
        "rules: [{apiGroups: [''], resources: [pods], verbs: [list, delete]}]\n---\n"
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b, namespace: ns1}\n"
        "roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\n"
        "subjects: [{kind: ServiceAccount, name: sa1}]\n"  # namespace defaults to the binding's
    )
    warnings: list[str] = []
    objects = load_rbac_objects([tmp_path], warnings)
    sa = Subject.service_account("ns1:sa1")
    result = compare(objects, sa, sa.groups(), [attrs(verb="list", resource="pods", namespace="ns1")])
    assert result.bindings == ["RoleBinding ns1/b"] and warnings == []
    assert [u.rule.to_dict() for u in result.unused] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}
    ]

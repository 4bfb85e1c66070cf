"""`kubeward rbac from-audit` on an audit log written by a real kube-apiserver.

A test user with a temporary broad role (bound to a group its first certificate carries)
makes a few requests with kubectl; the roles generated from the server's own JSON audit log
must be accepted by `kubectl apply --dry-run=server`, and, applied for real, must let a fresh
identity of that user (a certificate without the broad group) repeat exactly those requests
while everything else is refused.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from kubeward.cli.rbac_from_audit import from_audit
from tests.cluster.kube import Cluster

pytestmark = pytest.mark.cluster

NS = "from-audit-shop"
USER = "from-audit-dev"
BROAD_GROUP = "from-audit-tmp-broad"

SETUP = f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {NS}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: settings, namespace: {NS}}}
data: {{mode: test}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: from-audit-tmp-broad}}
rules:
- apiGroups: [""]
  resources: [pods, configmaps, secrets]
  verbs: ["*"]
- nonResourceURLs: ["/metrics"]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: from-audit-tmp-broad}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: from-audit-tmp-broad}}
subjects:
- {{apiGroup: rbac.authorization.k8s.io, kind: Group, name: {BROAD_GROUP}}}
"""


def _events_of_user(log: Path) -> list[dict[str, Any]]:
    out = []
    for line in log.read_text().splitlines():
        event = json.loads(line)
        if event.get("user", {}).get("username") == USER and event.get("stage") == "ResponseComplete":
            out.append(event)
    return out


def _wait_for(log: Path, uri_part: str, timeout: float = 15.0) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        events = _events_of_user(log)
        if any(uri_part in e.get("requestURI", "") for e in events) or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def _can_i(cluster: Cluster, kubeconfig: Path, *args: str) -> str:
    proc = cluster.kubectl("auth", "can-i", *args, kubeconfig=kubeconfig, check=False)
    return proc.stdout.strip()


def test_generated_roles_allow_exactly_what_was_done(cluster: Cluster, tmp_path: Path) -> None:
    cluster.kubectl("apply", "-f", "-", input=SETUP)
    worker = cluster.user(USER, [BROAD_GROUP])
    cluster.kubectl("get", "pods", "-n", NS, kubeconfig=worker.kubeconfig)
    cluster.kubectl("get", "configmaps", "--all-namespaces", kubeconfig=worker.kubeconfig)
    cluster.kubectl(
        "create", "secret", "generic", "token-1", "-n", NS, "--from-literal=k=v", kubeconfig=worker.kubeconfig
    )
    cluster.kubectl("get", "--raw", "/healthz", kubeconfig=worker.kubeconfig)
    cluster.kubectl("get", "--raw", "/metrics", kubeconfig=worker.kubeconfig)

    events = _wait_for(cluster.audit_log, "/metrics")
    uris = [e["requestURI"] for e in events]
    assert any(u.startswith(f"/api/v1/namespaces/{NS}/secrets") for u in uris), uris
    # the fixture's audit policy drops health probes: /healthz never reaches the log
    assert not any(u.startswith("/healthz") for u in uris)

    result = CliRunner().invoke(from_audit, [str(cluster.audit_log), "--user", USER])
    assert result.exit_code == 0, result.output
    generated = tmp_path / "generated.yaml"
    generated.write_text(result.stdout)
    objects = [d for d in yaml.safe_load_all(result.stdout) if d]
    by_kind = {(o["kind"], o["metadata"].get("namespace", "")): o for o in objects}
    assert set(by_kind) == {
        ("ClusterRole", ""),
        ("ClusterRoleBinding", ""),
        ("Role", NS),
        ("RoleBinding", NS),
    }
    assert by_kind[("Role", NS)]["rules"] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]},
    ]
    cluster_rules = by_kind[("ClusterRole", "")]["rules"]
    assert cluster_rules[0] == {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["list"]}
    url_rules = [r for r in cluster_rules if "nonResourceURLs" in r]
    assert all(r["verbs"] == ["get"] for r in url_rules)
    assert "/metrics" in url_rules[0]["nonResourceURLs"]  # with kubectl's discovery URLs (/api, /apis, …)
    assert len(cluster_rules) == 2

    # the server accepts the generated objects
    dry = cluster.kubectl("apply", "--dry-run=server", "-f", str(generated))
    assert dry.stdout.count("(server dry run)") == 4, dry.stdout

    # apply them for real; the temporary broad access goes away
    cluster.kubectl("apply", "-f", str(generated))
    cluster.kubectl("delete", "clusterrolebinding", "from-audit-tmp-broad")
    fresh = cluster.user(USER)  # same user name, no broad group: only the generated bindings apply
    config = fresh.kubeconfig

    # exactly the recorded requests are allowed again …
    for args in (
        ("list", "pods", "-n", NS),
        ("list", "configmaps", "--all-namespaces"),
        ("create", "secrets", "-n", NS),
        ("get", "/metrics"),
    ):
        assert _can_i(cluster, config, *args) == "yes", args
    cluster.kubectl("get", "pods", "-n", NS, kubeconfig=config)
    cluster.kubectl("get", "configmaps", "--all-namespaces", kubeconfig=config)
    cluster.kubectl(
        "create", "secret", "generic", "token-2", "-n", NS, "--from-literal=k=v", kubeconfig=config
    )
    cluster.kubectl("get", "--raw", "/metrics", kubeconfig=config)

    # … and other verbs, resources, namespaces and URLs are refused
    for args in (
        ("get", "secrets", "-n", NS),
        ("list", "secrets", "-n", NS),
        ("delete", "secrets", "-n", NS),
        ("delete", "pods", "-n", NS),
        ("create", "pods", "-n", NS),
        ("watch", "pods", "-n", NS),
        ("list", "pods", "-n", "default"),
        ("create", "secrets", "-n", "default"),
        ("get", "configmaps/settings", "-n", NS),
        ("update", "configmaps", "-n", NS),
        ("get", "/logs/"),
    ):
        assert _can_i(cluster, config, *args) == "no", args
    denied = cluster.kubectl("get", "secrets", "-n", NS, kubeconfig=config, check=False)
    assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()
    denied = cluster.kubectl("delete", "secret", "token-1", "-n", NS, kubeconfig=config, check=False)
    assert denied.returncode != 0 and "forbidden" in denied.stderr.lower()


def test_compare_against_the_live_bindings(cluster: Cluster, tmp_path: Path) -> None:
    """--compare with the user's bound Role: list pods and get pod (a 404, still authorized) were used."""
    user = "from-audit-cmp"
    group = "from-audit-cmp-group"
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "cmp", "namespace": NS},
        "rules": [{"apiGroups": [""], "resources": ["pods", "secrets"], "verbs": ["get", "list", "create"]}],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "cmp", "namespace": NS},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cmp"},
        "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}],
    }
    manifest = tmp_path / "current.yaml"
    manifest.write_text(yaml.safe_dump_all([role, binding]))
    cluster.kubectl("create", "namespace", NS, check=False)
    cluster.kubectl("apply", "-f", str(manifest))
    me = cluster.user(user, [group])
    cluster.kubectl("get", "pods", "-n", NS, kubeconfig=me.kubeconfig)
    cluster.kubectl("get", "pod", "nope", "-n", NS, kubeconfig=me.kubeconfig, check=False)  # 404: authorized

    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if (
            f'"username":"{user}"' in cluster.audit_log.read_text()
            and "/pods/nope" in cluster.audit_log.read_text()
        ):
            break
        time.sleep(0.2)
    result = CliRunner().invoke(
        from_audit, [str(cluster.audit_log), "--user", user, "--compare", str(manifest), "-o", "json"]
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["bindings"] == [f"RoleBinding {NS}/cmp"]
    assert [u["rule"] for u in report["unused"]] == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["secrets"], "verbs": ["create", "get", "list"]},
    ]

"""`kubeward isolate --apply` against a real kube-apiserver: create, read back, re-apply.

The workload's pod labels are read from the live cluster itself; the policy is created with
an HTTPS POST (PUT when it exists) through lightkube's client configuration.
"""

from __future__ import annotations

import json

import pytest
import yaml
from click.testing import CliRunner

from kubeward.cli.netpol import isolate, netpol
from tests.cluster.kube import Cluster

pytestmark = pytest.mark.cluster

OBJECTS = """
apiVersion: v1
kind: Namespace
metadata: {name: isolate-shop}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: isolate-shop}
spec:
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api, tier: backend}}
    spec:
      containers: [{name: api, image: "nginx:1.27", ports: [{name: http, containerPort: 8080}]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: isolate-shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: "nginx:1.27"}]
"""

PATH = "/apis/networking.k8s.io/v1/namespaces/isolate-shop/networkpolicies/kubeward-isolate-api"
EXPECTED_SPEC = {"podSelector": {"matchLabels": {"app": "api", "tier": "backend"}},
                 "policyTypes": ["Ingress", "Egress"]}


def _isolate(cluster: Cluster, *extra: str):
    return CliRunner().invoke(isolate, ["isolate-shop/api", "--apply",
                                        "--kubeconfig", str(cluster.admin_kubeconfig), *extra],
                              catch_exceptions=False)


def test_isolate_apply_creates_reads_back_and_is_idempotent(cluster: Cluster):
    cluster.kubectl("apply", "-f", "-", input=OBJECTS)
    first = _isolate(cluster)
    assert first.exit_code == 0, first.output
    assert "created: networkpolicy isolate-shop/kubeward-isolate-api" in first.output
    status, body = cluster.request("GET", PATH)
    assert status == 200
    assert body["spec"] == EXPECTED_SPEC
    assert body["metadata"]["labels"] == {"app.kubernetes.io/managed-by": "kubeward"}
    version = body["metadata"]["resourceVersion"]

    again = _isolate(cluster)
    assert again.exit_code == 0, again.output
    assert "unchanged: networkpolicy isolate-shop/kubeward-isolate-api" in again.output
    assert cluster.request("GET", PATH)[1]["metadata"]["resourceVersion"] == version

    # someone loosened it on the cluster: re-applying puts the isolation back (PUT)
    patch = json.dumps({"spec": {"ingress": [{}]}})
    cluster.kubectl("-n", "isolate-shop", "patch", "networkpolicy", "kubeward-isolate-api",
                    "--type=merge", "-p", patch)
    assert cluster.request("GET", PATH)[1]["spec"].get("ingress") == [{}]
    fixed = _isolate(cluster)
    assert "updated: networkpolicy isolate-shop/kubeward-isolate-api" in fixed.output
    assert cluster.request("GET", PATH)[1]["spec"] == EXPECTED_SPEC

    # and the live cluster's reachability now denies everything to and from api
    r = CliRunner().invoke(netpol, ["can-reach", "isolate-shop/web", "isolate-shop/api", "--port",
                                    "8080", "--kubeconfig", str(cluster.admin_kubeconfig)])
    assert r.exit_code == 1, r.output
    assert "isolated by isolate-shop/kubeward-isolate-api" in r.output


def test_isolate_apply_without_permission_is_a_clean_error(cluster: Cluster):
    cluster.kubectl("apply", "-f", "-", input=OBJECTS)
    reader = cluster.user("isolate-reader", ["isolate-readers"])
    cluster.kubectl("apply", "-f", "-", input=yaml.safe_dump_all([
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "isolate-read"},
         "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["get", "list"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "isolate-read"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "isolate-read"},
         "subjects": [{"kind": "Group", "name": "isolate-readers",
                       "apiGroup": "rbac.authorization.k8s.io"}]},
    ]))
    r = CliRunner().invoke(isolate, ["api", "-n", "isolate-shop", "--apply", "--kubeconfig",
                                     str(reader.kubeconfig)])
    assert r.exit_code == 2
    assert "HTTP 403" in r.output

"""Smoke tests of the real control plane the cluster tests run against (no mocks).

They prove what later cluster features rely on: kubectl and plain HTTPS reach the apiserver,
privileged workloads and RBAC objects can be created, RBAC is enforced for non-admin users,
and every request lands in the JSON audit log and at the audit webhook.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from tests.cluster.kube import Cluster, User, wait_for

pytestmark = pytest.mark.cluster


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def privileged_pod(namespace: str, name: str = "priv") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "hostPID": True,
            "hostNetwork": True,
            "containers": [
                {
                    "name": "shell",
                    "image": "registry.invalid/busybox:1.36",
                    "securityContext": {"privileged": True, "allowPrivilegeEscalation": True},
                }
            ],
        },
    }


def can_i(cluster: Cluster, user: User, *args: str) -> str:
    proc = cluster.kubectl("auth", "can-i", *args, kubeconfig=user.kubeconfig, check=False)
    return proc.stdout.strip()


def test_admin_kubectl_lists_builtin_namespaces(cluster: Cluster) -> None:
    builtin = {"namespace/default", "namespace/kube-system"}

    def names() -> set[str] | None:
        found = set(cluster.kubectl("get", "ns", "-o", "name").stdout.split())
        return found if builtin <= found else None

    assert builtin <= wait_for(names, what="the default and kube-system namespaces")
    table = cluster.kubectl("get", "ns").stdout
    assert "default" in table
    assert "kube-system" in table


def test_create_namespace_privileged_pod_and_cluster_role_binding(cluster: Cluster) -> None:
    ns = unique("kw-smoke")
    crb = unique("kw-smoke-admins")
    manifest = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            privileged_pod(ns),
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRoleBinding",
                "metadata": {"name": crb},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "cluster-admin",
                },
                "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "kw:ops"}],
            },
        ],
    }
    out = cluster.kubectl("apply", "-f", "-", input=json.dumps(manifest)).stdout
    assert f"namespace/{ns} created" in out
    assert "pod/priv created" in out
    assert f"clusterrolebinding.rbac.authorization.k8s.io/{crb} created" in out

    pod = json.loads(cluster.kubectl("get", "pod", "priv", "-n", ns, "-o", "json").stdout)
    assert pod["spec"]["containers"][0]["securityContext"]["privileged"] is True
    assert pod["spec"]["hostPID"] is True
    assert pod["status"]["phase"] == "Pending"  # no scheduler, no nodes: it never runs

    binding = json.loads(cluster.kubectl("get", "clusterrolebinding", crb, "-o", "json").stdout)
    assert binding["roleRef"]["name"] == "cluster-admin"
    assert binding["subjects"][0]["name"] == "kw:ops"

    # the same objects over plain HTTPS with the admin client cert
    status, body = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods")
    assert status == 200
    assert [item["metadata"]["name"] for item in body["items"]] == ["priv"]


def test_rbac_denies_a_non_admin_group_and_honours_bindings(cluster: Cluster) -> None:
    ns = unique("kw-rbac")
    cluster.kubectl("create", "namespace", ns)
    cluster.kubectl("create", "secret", "generic", "db", "-n", ns, "--from-literal=password=hunter2")
    alice = cluster.user("alice", ["kw:viewers", "kw:devs"])

    assert can_i(cluster, alice, "list", "secrets", "-n", ns) == "no"
    denied = cluster.kubectl("get", "secrets", "-n", ns, kubeconfig=alice.kubeconfig, check=False)
    assert denied.returncode != 0
    assert "Forbidden" in denied.stderr
    assert 'User "alice" cannot list resource "secrets"' in denied.stderr

    status, body = cluster.request("GET", f"/api/v1/namespaces/{ns}/secrets", cert=alice.cert)
    assert status == 403
    assert body["reason"] == "Forbidden"
    status, _ = cluster.request("GET", f"/api/v1/namespaces/{ns}/secrets", anonymous=True)
    assert status == 403  # anonymous is system:anonymous, bound to nothing here

    # a Role for her group: pods yes, secrets still no. (Not the built-in `view`: it is an
    # aggregated ClusterRole, filled by kube-controller-manager, which does not run here.)
    cluster.kubectl("create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods", "-n", ns)
    cluster.kubectl("create", "rolebinding", "viewers", "--role=pod-reader", "--group=kw:viewers", "-n", ns)
    wait_for(
        lambda: can_i(cluster, alice, "list", "pods", "-n", ns) == "yes", what="the rolebinding to apply"
    )
    assert can_i(cluster, alice, "list", "secrets", "-n", ns) == "no"
    assert can_i(cluster, alice, "list", "pods", "-n", "default") == "no"
    assert cluster.kubectl("auth", "can-i", "list", "secrets", "-n", ns).stdout.strip() == "yes"


def test_audit_log_records_the_pod_create_and_a_denial(cluster: Cluster) -> None:
    ns = unique("kw-audit")
    cluster.kubectl("create", "namespace", ns)
    cluster.kubectl("apply", "-f", "-", input=json.dumps(privileged_pod(ns)))
    bob = cluster.user("bob", ["kw:nobody"])
    cluster.kubectl("get", "pods", "-n", ns, kubeconfig=bob.kubeconfig, check=False)

    def events(verb: str, user: str) -> list[dict[str, Any]]:
        return [
            e
            for e in cluster.audit_events()
            if e.get("verb") == verb
            and e.get("user", {}).get("username") == user
            and e.get("objectRef", {}).get("resource") == "pods"
            and e.get("objectRef", {}).get("namespace") == ns
        ]

    created = wait_for(lambda: events("create", "kubeward-admin"), what="the pod create in the audit log")
    event = created[0]
    assert event["kind"] == "Event"
    assert event["apiVersion"] == "audit.k8s.io/v1"
    assert event["stage"] == "ResponseComplete"
    assert event["level"] == "RequestResponse"
    assert event["responseStatus"]["code"] == 201
    assert "system:masters" in event["user"]["groups"]
    assert event["objectRef"]["name"] == "priv"
    assert event["requestObject"]["spec"]["containers"][0]["securityContext"]["privileged"] is True
    assert event["sourceIPs"] == ["127.0.0.1"]

    denied = wait_for(lambda: events("list", "bob"), what="bob's denied list in the audit log")
    assert denied[0]["responseStatus"]["code"] == 403
    assert "kw:nobody" in denied[0]["user"]["groups"]
    assert cluster.audit_log.is_file()


def test_audit_webhook_receives_event_batches(cluster: Cluster) -> None:
    hook = cluster.webhook
    assert hook is not None
    ns = unique("kw-hook")
    cluster.kubectl("create", "namespace", ns)
    cluster.kubectl("create", "configmap", "settings", "-n", ns, "--from-literal=mode=strict")

    def configmap_creates() -> list[dict[str, Any]]:
        return [
            e
            for e in hook.audit_events()
            if e.get("verb") == "create"
            and e.get("objectRef", {}).get("resource") == "configmaps"
            and e.get("objectRef", {}).get("namespace") == ns
        ]

    event = wait_for(configmap_creates, what="the configmap create at the audit webhook")[0]
    assert event["level"] == "Metadata"  # the policy keeps configmap and secret bodies out
    assert "requestObject" not in event
    assert all(batch["kind"] == "EventList" for batch in hook.audit_batches)

"""`kubeward audit` and `kubeward snapshot` against a real kube-apiserver + etcd.

Nothing is mocked: objects are created with kubectl, kubeward reads them over HTTPS with
client certificates, through the API server's RBAC.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.cluster.kube import Cluster
from tests.conftest import REPO

pytestmark = pytest.mark.cluster

SECRET_PLAIN = "super-secret-token"  # base64 in examples/insecure/web.yaml
SECRET_B64 = "c3VwZXItc2VjcmV0LXRva2Vu"

OBJECTS = """
apiVersion: v1
kind: Namespace
metadata:
  name: payments
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: v1
kind: Pod
metadata: {name: debug, namespace: payments}
spec:
  hostPID: true
  containers: [{name: sh, image: "busybox:1.36"}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: deployer, namespace: payments}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: deployer-is-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: deployer, namespace: payments}]
---
apiVersion: v1
kind: Pod
metadata: {name: frontend, namespace: shop, labels: {app: frontend}}
spec:
  containers: [{name: web, image: "nginx:1.27"}]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny, namespace: payments}
spec:
  podSelector: {}
  policyTypes: [Ingress, Egress]
"""


def kubeward(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubeward", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=300, check=False)


@pytest.fixture(scope="module")
def populated(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Cluster:
    cluster.kubectl("create", "namespace", "shop")
    cluster.kubectl("apply", "-f", str(REPO / "examples" / "insecure" / "web.yaml"))
    path = tmp_path_factory.mktemp("objects") / "objects.yaml"
    path.write_text(OBJECTS)
    cluster.kubectl("apply", "-f", str(path))
    return cluster


def findings_of(stdout: str) -> set[tuple[str, str, str, str]]:
    doc = json.loads(stdout)
    return {(f["rule"], f["resource"]["kind"], f["resource"]["namespace"] or "",
             f["resource"]["name"]) for f in doc["findings"]}


def test_audit_reports_the_clusters_gaps(populated: Cluster):
    out = kubeward("audit", "--kubeconfig", str(populated.admin_kubeconfig), "-o", "json")
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    found = findings_of(out.stdout)
    assert ("pss.baseline.privileged", "Deployment", "shop", "web") in found
    assert ("pss.baseline.host-namespaces", "Pod", "payments", "debug") in found
    # The pod breaks the level its namespace enforces (it was created before the label
    # mattered: no PodSecurity plugin in this API server version).
    assert ("pss.namespace-level-violation", "Pod", "payments", "debug") in found
    assert ("pss.namespace-enforce-label", "Namespace", "", "shop") in found
    assert ("pss.namespace-enforce-label", "Namespace", "", "payments") not in found
    assert ("secrets.literal-in-configmap", "ConfigMap", "shop", "web-config") in found
    # NetworkPolicies as the API server stores them: payments denies by default, shop does not
    # (its `frontend` pod is not isolated; `web` uses hostNetwork, which policies do not cover).
    ns_rules = {(f[0], f[3]) for f in found if f[0].startswith("netpol.default-deny")}
    assert ("netpol.default-deny-ingress", "shop") in ns_rules
    assert ("netpol.default-deny-egress", "shop") in ns_rules
    assert not [r for r in ns_rules if r[1] == "payments"]
    # A Secret in a cluster is where Secrets belong: not a "committed manifest" finding.
    assert not [f for f in found if f[0] == "secrets.secret-manifest-committed"]
    assert SECRET_B64 not in out.stdout and SECRET_PLAIN not in out.stdout
    doc = json.loads(out.stdout)
    assert all(f["location"]["file"] == populated.url for f in doc["findings"])


def test_snapshot_then_offline_audit_gives_identical_findings(populated: Cluster, tmp_path: Path):
    snap = tmp_path / "cluster.snapshot.json.gz"
    made = kubeward("snapshot", "--kubeconfig", str(populated.admin_kubeconfig), "-o", str(snap))
    assert made.returncode == 0, made.stderr
    raw = gzip.decompress(snap.read_bytes())
    assert SECRET_B64.encode() not in raw and SECRET_PLAIN.encode() not in raw
    doc = json.loads(raw)
    secret = next(i for i in doc["items"] if i["kind"] == "Secret"
                  and i["metadata"]["name"] == "web-secrets")
    assert secret["data"] == {"token": ""} and secret["type"] == "Opaque"

    live = kubeward("audit", "--kubeconfig", str(populated.admin_kubeconfig), "-o", "json")
    offline = kubeward("audit", "--snapshot", str(snap), "-o", "json")
    assert offline.returncode == live.returncode == 1
    assert findings_of(offline.stdout) == findings_of(live.stdout)
    live_msgs = sorted(f["message"] for f in json.loads(live.stdout)["findings"])
    offline_msgs = sorted(f["message"] for f in json.loads(offline.stdout)["findings"])
    assert live_msgs == offline_msgs


def test_minimal_clusterrole_is_enough(populated: Cluster):
    populated.kubectl("apply", "-f", str(REPO / "deploy" / "audit-clusterrole.yaml"))
    auditor = populated.user("alice", groups=("kubeward-auditors",))
    out = kubeward("audit", "--kubeconfig", str(auditor.kubeconfig), "-o", "json")
    assert out.returncode == 1, out.stderr
    assert "cannot list" not in out.stderr, out.stderr
    admin = kubeward("audit", "--kubeconfig", str(populated.admin_kubeconfig), "-o", "json")
    assert findings_of(out.stdout) == findings_of(admin.stdout)


def test_user_without_secret_access_gets_a_clean_partial_report(populated: Cluster, tmp_path: Path):
    role = yaml.safe_load_all((REPO / "deploy" / "audit-clusterrole.yaml").read_text())
    cluster_role = next(r for r in role if r["kind"] == "ClusterRole")
    cluster_role["metadata"]["name"] = "kubeward-audit-no-secrets"
    for rule in cluster_role["rules"]:
        rule["resources"] = [r for r in rule["resources"] if r not in ("secrets", "configmaps")]
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "kubeward-audit-no-secrets"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                    "name": "kubeward-audit-no-secrets"},
        "subjects": [{"kind": "Group", "name": "limited-auditors",
                      "apiGroup": "rbac.authorization.k8s.io"}],
    }
    path = tmp_path / "limited.yaml"
    path.write_text(yaml.safe_dump_all([cluster_role, binding]))
    populated.kubectl("apply", "-f", str(path))
    bob = populated.user("bob", groups=("limited-auditors",))
    out = kubeward("audit", "--kubeconfig", str(bob.kubeconfig), "-o", "json")
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert "cannot list Secret (forbidden" in out.stderr
    assert "cannot list ConfigMap (forbidden" in out.stderr
    assert "secrets.literal-in-configmap" in out.stderr  # names the checks that did not run
    found = findings_of(out.stdout)
    assert ("pss.baseline.privileged", "Deployment", "shop", "web") in found
    assert not [f for f in found if f[1] in ("Secret", "ConfigMap")]
    warnings = json.loads(out.stdout)["warnings"]
    assert any(w.startswith("cannot list Secret") for w in warnings)


def test_unreachable_cluster_is_one_clear_error(tmp_path: Path):
    config = tmp_path / "kubeconfig"
    config.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "x",
        "clusters": [{"name": "x", "cluster": {"server": "https://127.0.0.1:9",
                                                "insecure-skip-tls-verify": True}}],
        "users": [{"name": "x", "user": {"token": "t"}}],
        "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
    }))
    out = kubeward("audit", "--kubeconfig", str(config), "--request-timeout", "5")
    assert out.returncode == 2
    assert out.stderr.startswith("Error: cannot reach https://127.0.0.1:9")
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_bad_snapshot_is_one_clear_error(tmp_path: Path):
    bad = tmp_path / "bad.json.gz"
    bad.write_bytes(b"not gzip")
    out = kubeward("audit", "--snapshot", str(bad))
    assert out.returncode == 2
    assert "not a kubeward snapshot" in out.stderr and "Traceback" not in out.stderr
    bomb = tmp_path / "bomb.json.gz"
    bomb.write_bytes(gzip.compress(b"[" + b" " * 10_000_000 + b"]"))
    from kubeward.inventory.snapshot import SnapshotError, read_snapshot

    with pytest.raises(SnapshotError, match="decompresses past"):
        read_snapshot(str(bomb), max_bytes=1_000_000)


def test_clusterrole_file_is_generated_from_the_catalog():
    from kubeward.inventory.cluster import audit_cluster_role

    docs = list(yaml.safe_load_all((REPO / "deploy" / "audit-clusterrole.yaml").read_text()))
    assert docs[0] == audit_cluster_role()
    assert all(set(r["verbs"]) == {"get", "list"} for r in docs[0]["rules"])


STATIC_APISERVER = """
apiVersion: v1
kind: Pod
metadata:
  name: kube-apiserver-node1
  namespace: kube-system
  labels: {component: kube-apiserver, tier: control-plane}
  annotations:
    kubernetes.io/config.mirror: 8a4d9f0c0f4f6f8b7e0c1d2e3f405162
    kubernetes.io/config.source: file
spec:
  nodeName: node1  # the API server requires it of a mirror pod
  hostNetwork: true
  priorityClassName: system-node-critical
  containers:
  - name: kube-apiserver
    image: registry.k8s.io/kube-apiserver:v1.30.2
    command:
    - kube-apiserver
    - --advertise-address=10.0.0.10
    - --anonymous-auth=true
    - --authorization-mode=AlwaysAllow
    - --client-ca-file=/etc/kubernetes/pki/ca.crt
    - --enable-admission-plugins=NodeRestriction
    - --etcd-servers=https://127.0.0.1:2379
    - --tls-cert-file=/etc/kubernetes/pki/apiserver.crt
    - --tls-private-key-file=/etc/kubernetes/pki/apiserver.key
"""


def test_audit_reads_control_plane_flags_from_mirror_pods(populated: Cluster, tmp_path: Path):
    path = tmp_path / "static.yaml"
    path.write_text(STATIC_APISERVER)
    populated.kubectl("apply", "-f", str(path))
    out = kubeward("audit", "--kubeconfig", str(populated.admin_kubeconfig), "-o", "json")
    assert out.returncode == 1, out.stderr
    found = findings_of(out.stdout)
    pod = ("Pod", "kube-system", "kube-apiserver-node1")
    for rule in ("cis.apiserver.anonymous-auth", "cis.apiserver.authorization-always-allow",
                 "cis.apiserver.audit-log-path", "cis.apiserver.encryption-provider-config",
                 "cis.apiserver.profiling"):
        assert (rule, *pod) in found, rule
    # The mirror pod is judged by its flags, not by the workload rules (hostNetwork is by design).
    assert not [f for f in found if f[1:] == pod and f[0].startswith(("pss.", "workload.", "rbac."))]
    assert ("rbac.cluster-admin-broad-subject", "ClusterRoleBinding", "",
            "deployer-is-admin") in found
    # A whole cluster was read: the security-stack checks run and find nothing installed.
    assert ("stack.runtime-detection" in {f[0] for f in found})


def test_audit_runs_are_saved_per_cluster_and_diffed(populated: Cluster, tmp_path: Path):
    store = f"sqlite:///{tmp_path / 'history.db'}"
    first = kubeward("audit", "--kubeconfig", str(populated.admin_kubeconfig), "-o", "json",
                     f"--save={store}")
    assert first.returncode == 1, first.stderr
    assert "saved run 1" in first.stderr
    populated.kubectl("delete", "pod", "debug", "-n", "payments", "--wait=false")
    try:
        second = kubeward("audit", "--kubeconfig", str(populated.admin_kubeconfig), "-o", "json",
                          f"--save={store}")
    finally:  # leave the module's cluster as the other tests expect it
        restore = tmp_path / "objects.yaml"
        restore.write_text(OBJECTS)
        populated.kubectl("apply", "-f", str(restore))
    assert "saved run 2" in second.stderr
    listed = kubeward("history", f"--store={store}", "-o", "json")
    assert listed.returncode == 0, listed.stderr
    assert f"cluster:{populated.url}" in listed.stdout
    diff = kubeward("diff", "1", "2", f"--store={store}", "-o", "json")
    assert diff.returncode == 0, diff.stderr
    fixed = json.loads(diff.stdout)["fixed"]
    assert ("pss.baseline.host-namespaces", "debug") in {
        (f["rule"], f["resource"]["name"]) for f in fixed}
    assert json.loads(diff.stdout)["new"] == []


def test_plan_reads_the_live_cluster(populated: Cluster):
    out = kubeward("plan", "--kubeconfig", str(populated.admin_kubeconfig), "-o", "json")
    assert out.returncode == 0, out.stderr
    steps = json.loads(out.stdout)
    rbac = steps[0]
    assert any("deployer-is-admin" in a for a in rbac["actions"])
    assert any("ServiceAccount/deployer loses" in b or "ServiceAccount/deployer" in b
               for b in rbac["breaks"])
    network = next(s for s in steps if s["checklist"] == 4)
    assert {"shop"} <= {m["metadata"]["namespace"] for m in network["manifests"]}
    assert "payments" not in {m["metadata"]["namespace"] for m in network["manifests"]}

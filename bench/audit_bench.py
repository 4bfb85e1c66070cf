"""Live-cluster audit benchmark: 10,000 objects in a real kube-apiserver + etcd.

Run on demand, never from the test suite:

    .venv/bin/python bench/audit_bench.py [--namespaces 100] [--repeat 3]

Starts the same real control plane as tests/cluster (binaries from KUBEBUILDER_ASSETS or
scripts/kube-assets.sh), loads namespaces, deployments, pods, services, service accounts,
config maps, roles and role bindings (100 objects per namespace, realistic specs), then
times, each in its own process with its peak RSS (ru_maxrss via wait4):
`kubeward audit -o json` (live), `kubeward snapshot`, and `kubeward audit --snapshot`.
Targets (issue 4): live audit under 30 s and 400 MB; snapshot audit under 10 s.
Results go to bench/results/audit.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "src"))

from tests.cluster.kube import Cluster, find_assets, start_cluster  # noqa: E402

KUBEWARD = REPO / ".venv" / "bin" / "kubeward"
OUTPUT = REPO / "bench" / "results" / "audit.md"
PER_NAMESPACE = {"Deployment": 20, "Pod": 20, "Service": 20, "ConfigMap": 15,
                 "ServiceAccount": 10, "Role": 7, "RoleBinding": 7}  # + the Namespace = 100


def pod_spec(i: int) -> dict[str, Any]:
    hardened = i % 3 == 0
    sc = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
          "readOnlyRootFilesystem": True} if hardened else {"privileged": i % 7 == 1}
    return {
        "serviceAccountName": f"sa-{i % 10}",
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
        if hardened else {},
        "containers": [{
            "name": "app", "image": f"ghcr.io/acme/app-{i % 13}:1.{i % 5}.0",
            "ports": [{"containerPort": 8080}],
            "env": [{"name": "LOG_LEVEL", "value": "info"},
                    {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}],
            "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}} if hardened else {},
            "securityContext": sc,
        }],
    }


def objects_for(ns: str) -> list[tuple[str, dict[str, Any]]]:
    base = f"/api/v1/namespaces/{ns}"
    apps = f"/apis/apps/v1/namespaces/{ns}"
    rbac = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}"
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(PER_NAMESPACE["Deployment"]):
        labels = {"app": f"app-{i}"}
        out.append((f"{apps}/deployments", {"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": f"app-{i}", "labels": labels},
                    "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                             "template": {"metadata": {"labels": labels}, "spec": pod_spec(i)}}}))
    for i in range(PER_NAMESPACE["Pod"]):
        out.append((f"{base}/pods", {"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": f"job-{i}", "labels": {"app": f"app-{i}"}},
                    "spec": pod_spec(i + 1)}))
    for i in range(PER_NAMESPACE["Service"]):
        out.append((f"{base}/services", {"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": f"svc-{i}"},
                    # headless: the test API server's service range holds 254 addresses
                    "spec": {"clusterIP": "None", "selector": {"app": f"app-{i}"},
                             "ports": [{"port": 80, "targetPort": 8080}]}}))
    for i in range(PER_NAMESPACE["ConfigMap"]):
        out.append((f"{base}/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": f"cfg-{i}"},
                    "data": {"app.yaml": "server:\n  port: 8080\n" * 20, "LOG_LEVEL": "info"}}))
    for i in range(PER_NAMESPACE["ServiceAccount"]):
        out.append((f"{base}/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": f"sa-{i}"}}))
    for i in range(PER_NAMESPACE["Role"]):
        out.append((f"{rbac}/roles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                    "metadata": {"name": f"role-{i}"},
                    "rules": [{"apiGroups": [""], "resources": ["configmaps", "pods"],
                               "verbs": ["get", "list", "watch"]}]}))
    for i in range(PER_NAMESPACE["RoleBinding"]):
        out.append((f"{rbac}/rolebindings", {"apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding", "metadata": {"name": f"rb-{i}"},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"role-{i}"},
                    "subjects": [{"kind": "ServiceAccount", "name": f"sa-{i}", "namespace": ns}]}))
    return out


def load(cluster: Cluster, namespaces: int) -> tuple[int, float]:
    start = time.perf_counter()
    created = 0
    names = [f"team-{n:03}" for n in range(namespaces)]
    with ThreadPoolExecutor(8) as pool:
        for status, _ in pool.map(lambda ns: cluster.request(
                "POST", "/api/v1/namespaces",
                body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}), names):
            assert status == 201, status
            created += 1
        work = [item for ns in names for item in objects_for(ns)]
        for status, body in pool.map(lambda pb: cluster.request("POST", pb[0], body=pb[1]), work):
            assert status == 201, (status, body)
            created += 1
    return created, time.perf_counter() - start


def measure(argv: list[str]) -> tuple[float, float, int]:
    """Wall time and peak RSS of one run. RSS comes from GNU time, not from wait4 here: a
    child spawned by this (large) process inherits its high-water mark through vfork/exec."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "maxrss_kib=%M", *argv],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False)
    wall = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{argv} exited {proc.returncode}: {proc.stderr[-500:]}")
    kib = int(proc.stderr.rsplit("maxrss_kib=", 1)[1].split()[0])
    return wall, kib / 1024, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--namespaces", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with start_cluster(find_assets()) as cluster:
        created, load_s = load(cluster, args.namespaces)
        print(f"created {created} objects in {load_s:.1f}s")
        snap = Path(tempfile.mkdtemp()) / "bench.snapshot.json.gz"
        kubeconfig = str(cluster.admin_kubeconfig)
        rows = []
        for name, argv in (
            ("kubeward audit (live)", [str(KUBEWARD), "audit", "--kubeconfig", kubeconfig, "-o", "json"]),
            ("kubeward snapshot", [str(KUBEWARD), "snapshot", "--kubeconfig", kubeconfig, "-o", str(snap)]),
            ("kubeward audit --snapshot", [str(KUBEWARD), "audit", "--snapshot", str(snap), "-o", "json"]),
        ):
            runs = [measure(argv) for _ in range(args.repeat)]
            best = min(r[0] for r in runs)
            rss = max(r[1] for r in runs)
            rows.append((name, best, rss))
            print(f"{name:28} {best:6.2f} s  {rss:6.0f} MB")
        size = snap.stat().st_size / 1024 / 1024
        apiserver_rss = cluster.rss_kib()
    lines = [
        "# Live audit benchmark",
        "",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}; {platform.machine()}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; API server and kubeward on one machine",
        f"- Cluster: real kube-apiserver v1.20.2 + etcd 3.4 on loopback, {created} objects "
        f"({args.namespaces} namespaces x {sum(PER_NAMESPACE.values()) + 1}); loaded in {load_s:.0f} s",
        f"- Control plane RSS after the runs: {apiserver_rss}",
        f"- Snapshot file: {size:.1f} MiB; best of {args.repeat}; "
        "peak RSS of the kubeward process (GNU time)",
        "",
        "| run | wall s | peak RSS MB |",
        "| --- | ---: | ---: |",
        *[f"| {name} | {best:.2f} | {rss:.0f} |" for name, best, rss in rows],
        "",
        "Targets: live audit < 30 s and < 400 MB; snapshot audit < 10 s.",
        "",
    ]
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text("\n".join(lines))
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

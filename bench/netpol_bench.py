"""NetworkPolicy benchmark: 2,000 pods in 50 namespaces with 500 policies, plus Cilium ones.

Measures (targets from issue 7):
  * the full coverage report: every netpol.* rule (basics + coverage) over the inventory, < 2 s;
  * the full pod-to-pod matrix of every namespace, < 10 s in total.
The generated set has 500 NetworkPolicies and, on top, --cilium CiliumNetworkPolicies (L3
endpoints across namespaces, entities, CIDR sets, ports, deny rules, `specs`) and a few
clusterwide ones; results go to bench/results/netpol.md.

    .venv/bin/python bench/netpol_bench.py [--pods 2000] [--namespaces 50] [--policies 500]
                                           [--cilium 150] [--write]
"""

from __future__ import annotations

import argparse
import importlib
import platform
import random
import time
from pathlib import Path
from typing import Any

from kubeward.config import Config
from kubeward.engine import run_rules
from kubeward.inventory.cluster import resources_from_objects
from kubeward.inventory.index import Inventory
from kubeward.netpol.model import build_model
from kubeward.rules.base import REGISTRY


def cilium_objects(count: int, namespaces: int, rnd: random.Random) -> list[dict[str, Any]]:
    apps = [f"app{i}" for i in range(20)]
    out: list[dict[str, Any]] = []
    for i in range(count):
        ns = f"ns{i % namespaces}"
        peer = rnd.choice([
            {"fromEndpoints": [{"matchLabels": {"tier": rnd.choice(["web", "api"])}}]},
            {"fromEndpoints": [{"matchLabels": {
                "k8s:io.kubernetes.pod.namespace": f"ns{rnd.randrange(namespaces)}",
                "app": rnd.choice(apps)}}]},
            {"fromEndpoints": [{"matchLabels": {
                "io.cilium.k8s.namespace.labels.team": f"t{rnd.randrange(5)}"}}]},
            {"fromEntities": ["cluster"]},
            {"fromCIDRSet": [{"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}]},
        ])
        rule: dict[str, Any] = {
            "endpointSelector": {"matchLabels": {"app": rnd.choice(apps)}},
            "ingress": [{**peer, "toPorts": [{"ports": [{"port": "http"},
                                                        {"port": "9000", "endPort": 9100}]}]}],
            "egress": [{"toEndpoints": [{"matchLabels": {"tier": "db"}}],
                        "toPorts": [{"ports": [{"port": "5432", "protocol": "TCP"}]}]},
                       {"toEntities": ["world"], "toPorts": [{"ports": [{"port": "443"}]}]}],
        }
        if i % 4 == 0:
            rule["ingressDeny"] = [{"fromEntities": ["world"]}]
        if i % 10 == 0:
            spec: dict[str, Any] = {"specs": [rule, {"endpointSelector": {}, "ingress": [{}], "egress": [
                {"toEndpoints": [{"matchLabels": {"k8s:io.kubernetes.pod.namespace": "kube-system",
                                                  "k8s-app": "kube-dns"}}],
                 "toPorts": [{"ports": [{"port": "53", "protocol": "ANY"}]}]}]}]}
        else:
            spec = {"spec": rule}
        out.append({"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                    "metadata": {"name": f"cnp{i}", "namespace": ns}, **spec})
    for i in range(max(1, count // 50) if count else 0):
        out.append({"apiVersion": "cilium.io/v2", "kind": "CiliumClusterwideNetworkPolicy",
                    "metadata": {"name": f"ccnp{i}"},
                    "spec": {"endpointSelector": {"matchLabels": {"tier": "db"}},
                             "ingressDeny": [{"fromEntities": ["world"]}],
                             "enableDefaultDeny": {"ingress": False}}})
    return out


def objects(pods: int, namespaces: int, policies: int, seed: int = 7,
            cilium: int = 0) -> list[dict[str, Any]]:
    rnd = random.Random(seed)
    apps = [f"app{i}" for i in range(20)]
    out: list[dict[str, Any]] = []
    for n in range(namespaces):
        out.append({"apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": f"ns{n}", "labels": {"team": f"t{n % 5}"}}})
    for i in range(pods):
        ns = f"ns{i % namespaces}"
        labels = {"app": rnd.choice(apps), "tier": rnd.choice(["web", "api", "db"])}
        out.append({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": f"w{i}", "namespace": ns},
                    "spec": {"template": {"metadata": {"labels": labels}, "spec": {"containers": [
                        {"name": "c", "image": "x:1",
                         "ports": [{"name": "http", "containerPort": 8080}]}]}}}})
    for i in range(policies):
        ns = f"ns{i % namespaces}"
        peer: dict[str, Any] = rnd.choice([
            {"podSelector": {"matchLabels": {"tier": rnd.choice(["web", "api"])}}},
            {"namespaceSelector": {"matchLabels": {"team": f"t{rnd.randrange(5)}"}}},
            {"namespaceSelector": {"matchLabels": {"team": f"t{rnd.randrange(5)}"}},
             "podSelector": {"matchLabels": {"app": rnd.choice(apps)}}},
            {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16"]}},
        ])
        spec: dict[str, Any] = {"podSelector": {} if i % 10 == 0 else
                                {"matchLabels": {"app": rnd.choice(apps)}}}
        if i % 10 == 0:
            spec["policyTypes"] = ["Ingress", "Egress"]
        else:
            spec["ingress"] = [{"from": [peer], "ports": [{"port": "http"}, {"port": 9000, "endPort": 9100}]}]
            spec["egress"] = [{"to": [peer], "ports": [{"port": 5432}, {"protocol": "UDP", "port": 53}]}]
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": f"np{i}", "namespace": ns}, "spec": spec})
    return out + cilium_objects(cilium, namespaces, rnd)


def measure(pods: int, namespaces: int, policies: int, cilium: int) -> list[str]:
    """One run: the coverage rules over the inventory, then every namespace's matrix."""
    objs = objects(pods, namespaces, policies, cilium=cilium)
    importlib.import_module("kubeward.rules.netpol_basics")
    importlib.import_module("kubeward.rules.netpol_coverage")
    rules = [r for r in REGISTRY.values() if r.id.startswith("netpol.")]
    t0 = time.perf_counter()
    inventory = Inventory(resources_from_objects(objs, "bench", "snapshot"))
    result = run_rules(inventory, Config(), rules)
    coverage = time.perf_counter() - t0

    t0 = time.perf_counter()
    model = build_model(Inventory(resources_from_objects(objs, "bench", "snapshot")))
    cells = allowed = 0
    for ns in sorted(model.by_namespace):
        for _a, _b, ports in model.matrix(ns):
            cells += 1
            allowed += bool(ports)
    matrix = time.perf_counter() - t0
    ccnp = max(1, cilium // 50) if cilium else 0
    return [
        f"{pods} pods, {namespaces} namespaces, {policies} NetworkPolicies, "
        f"{cilium} CiliumNetworkPolicies, {ccnp} CiliumClusterwideNetworkPolicies "
        f"({len(model.cilium.rules) if model.cilium else 0} Cilium rules)",
        f"coverage: {len(rules)} rules, {len(result.findings)} findings in {coverage:.2f} s "
        f"(target < 2 s)",
        f"matrix:   {cells} pairs ({allowed} with some port allowed) in {matrix:.2f} s "
        f"(target < 10 s)",
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=2000)
    ap.add_argument("--namespaces", type=int, default=50)
    ap.add_argument("--policies", type=int, default=500)
    ap.add_argument("--cilium", type=int, default=150, help="CiliumNetworkPolicies on top")
    ap.add_argument("--write", action="store_true",
                    help="also run without Cilium policies and write bench/results/netpol.md")
    args = ap.parse_args()
    runs = [measure(args.pods, args.namespaces, args.policies, args.cilium)]
    if args.write and args.cilium:
        runs.insert(0, measure(args.pods, args.namespaces, args.policies, 0))
    text = "\n\n".join("\n".join(lines) for lines in runs)
    print(text)
    if args.write:
        out = Path(__file__).parent / "results" / "netpol.md"
        out.write_text(
            "# NetworkPolicy benchmark (bench/netpol_bench.py)\n\n"
            f"Python {platform.python_version()} on {platform.machine()}, "
            f"{time.strftime('%Y-%m-%d')}; 2 CPU cores shared with other jobs.\n\n```\n"
            + text + "\n```\n")


if __name__ == "__main__":
    main()

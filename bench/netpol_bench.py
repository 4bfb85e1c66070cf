"""NetworkPolicy benchmark: 2,000 pods in 50 namespaces with 500 policies.

Measures (targets from issue 7):
  * the full coverage report: every netpol.* rule (basics + coverage) over the inventory, < 2 s;
  * the full pod-to-pod matrix of every namespace, < 10 s in total.

    .venv/bin/python bench/netpol_bench.py [--pods 2000] [--namespaces 50] [--policies 500]
"""

from __future__ import annotations

import argparse
import importlib
import random
import time
from typing import Any

from kubeward.config import Config
from kubeward.engine import run_rules
from kubeward.inventory.cluster import resources_from_objects
from kubeward.inventory.index import Inventory
from kubeward.netpol.model import build_model
from kubeward.rules.base import REGISTRY


def objects(pods: int, namespaces: int, policies: int, seed: int = 7) -> list[dict[str, Any]]:
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
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pods", type=int, default=2000)
    ap.add_argument("--namespaces", type=int, default=50)
    ap.add_argument("--policies", type=int, default=500)
    args = ap.parse_args()
    objs = objects(args.pods, args.namespaces, args.policies)

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
    print(f"{args.pods} pods, {args.namespaces} namespaces, {args.policies} policies")
    print(f"coverage: {len(rules)} rules, {len(result.findings)} findings in {coverage:.2f} s "
          f"(target < 2 s)")
    print(f"matrix:   {cells} pairs ({allowed} with some port allowed) in {matrix:.2f} s "
          f"(target < 10 s)")


if __name__ == "__main__":
    main()

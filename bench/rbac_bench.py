"""RBAC analysis benchmark: 5,000 roles, 5,000 bindings, 2,000 ServiceAccounts.

Run on demand, never from the test suite:

    .venv/bin/python bench/rbac_bench.py [--repeat 3] [--seed 6]

Generates a cluster (200 namespaces of 10 ServiceAccounts, 20 Roles and 20 RoleBindings;
1,000 ClusterRoles, 10 of them aggregated; 1,000 ClusterRoleBindings; rules drawn from a
realistic pool with some wildcards, subresources and resourceNames), then times, in
process: building the model from the Inventory, `who_can` for one verb/resource (cluster-
wide and in one namespace), the `rbac risks` rules, and escalation paths for all subjects.
Targets (issue 6): risks and who-can under 2 s; paths for all subjects under 10 s.
Results go to bench/results/rbac.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kubeward.config import Config  # noqa: E402
from kubeward.engine import run_rules  # noqa: E402
from kubeward.inventory.cluster import resources_from_objects  # noqa: E402
from kubeward.inventory.index import Inventory  # noqa: E402
from kubeward.rbac import RBACModel  # noqa: E402
from kubeward.rbac.paths import escalation_paths  # noqa: E402
from kubeward.rules import rbac_basics, rbac_risks  # noqa: E402
from kubeward.rules.base import REGISTRY  # noqa: E402

OUTPUT = REPO / "bench" / "results" / "rbac.md"
RBAC = "rbac.authorization.k8s.io/v1"
RESOURCES = [("", "pods"), ("", "pods/log"), ("", "pods/exec"), ("", "services"),
             ("", "configmaps"), ("", "secrets"), ("", "serviceaccounts"), ("", "events"),
             ("", "persistentvolumeclaims"), ("apps", "deployments"), ("apps", "statefulsets"),
             ("apps", "daemonsets"), ("apps", "replicasets"), ("batch", "jobs"),
             ("batch", "cronjobs"), ("networking.k8s.io", "ingresses"),
             ("networking.k8s.io", "networkpolicies"), ("autoscaling", "horizontalpodautoscalers"),
             ("policy", "poddisruptionbudgets"), ("example.com", "widgets")]
VERBS = [["get", "list", "watch"], ["get"], ["create", "update", "patch", "delete"],
         ["get", "list", "watch", "create", "update", "patch", "delete"], ["*"]]


def _rules(rng: random.Random) -> list[dict[str, Any]]:
    rules = []
    for _ in range(rng.randint(1, 5)):
        picked = rng.sample(RESOURCES, rng.randint(1, 4))
        groups = sorted({g for g, _ in picked})
        rule: dict[str, Any] = {"apiGroups": groups, "resources": [r for _, r in picked],
                                "verbs": rng.choice(VERBS)}
        if rng.random() < 0.03:
            rule["resources"] = ["*"]
        if rng.random() < 0.05:
            rule["resourceNames"] = [f"obj-{rng.randint(0, 9)}"]
        rules.append(rule)
    return rules


def generate(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    objs: list[dict[str, Any]] = []
    namespaces = [f"ns-{i:03d}" for i in range(200)]
    for ns in namespaces:
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        for j in range(10):
            objs.append({"apiVersion": "v1", "kind": "ServiceAccount",
                         "metadata": {"name": f"sa-{j}", "namespace": ns}})
        for j in range(20):
            objs.append({"apiVersion": RBAC, "kind": "Role",
                         "metadata": {"name": f"role-{j}", "namespace": ns}, "rules": _rules(rng)})
            subject = rng.choice([
                {"kind": "ServiceAccount", "name": f"sa-{rng.randrange(10)}"},
                {"kind": "User", "name": f"user-{rng.randrange(500)}"},
                {"kind": "Group", "name": f"team-{rng.randrange(50)}"},
            ])
            ref = ({"kind": "Role", "name": f"role-{j}"} if rng.random() < 0.8 else
                   {"kind": "ClusterRole", "name": f"cr-{rng.randrange(1000)}"})
            objs.append({"apiVersion": RBAC, "kind": "RoleBinding",
                         "metadata": {"name": f"rb-{j}", "namespace": ns},
                         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", **ref},
                         "subjects": [subject]})
    for i in range(1000):
        cr: dict[str, Any] = {"apiVersion": RBAC, "kind": "ClusterRole",
                              "metadata": {"name": f"cr-{i}",
                                           "labels": {"agg": str(i % 10)}},
                              "rules": _rules(rng)}
        if i < 10:
            cr["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {"agg": str(i)}}]}
        objs.append(cr)
        subject = rng.choice([
            {"kind": "ServiceAccount", "name": f"sa-{rng.randrange(10)}",
             "namespace": rng.choice(namespaces)},
            {"kind": "User", "name": f"user-{rng.randrange(500)}"},
            {"kind": "Group", "name": f"team-{rng.randrange(50)}"},
        ])
        objs.append({"apiVersion": RBAC, "kind": "ClusterRoleBinding",
                     "metadata": {"name": f"crb-{i}"},
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                 "name": f"cr-{rng.randrange(1000)}"},
                     "subjects": [subject]})
    return objs


def _time(fn: Any, repeat: int) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=6)
    args = ap.parse_args()
    objs = generate(args.seed)
    inv = Inventory(resources_from_objects(objs, "bench", "snapshot"))
    counts = {k: len(inv.of_kind(k)) for k in ("Role", "ClusterRole", "RoleBinding",
                                               "ClusterRoleBinding", "ServiceAccount")}
    rows: list[tuple[str, float, str]] = []
    t, model = _time(lambda: RBACModel.from_inventory(inv), args.repeat)
    rows.append(("build the model (aggregation, indexes)", t, f"{len(model.index)} index keys"))

    def who_can_total() -> Any:
        return RBACModel.from_inventory(inv).who_can("get", "secrets", namespace="ns-007")

    t, res = _time(lambda: model.who_can("get", "secrets"), args.repeat)
    rows.append(("who-can get secrets (cluster-wide), model built", t, f"{len(res)} entries"))
    t, res = _time(lambda: model.who_can("get", "secrets", namespace="ns-007"), args.repeat)
    rows.append(("who-can get secrets -n ns-007, model built", t, f"{len(res)} entries"))
    t, res = _time(who_can_total, args.repeat)
    rows.append(("who-can get secrets -n ns-007, incl. model build", t, f"{len(res)} entries"))
    rules = [r for r in REGISTRY.values() if r.check is not None
             and r.check.__module__ in (rbac_basics.__name__, rbac_risks.__name__)
             and r.kinds & {"RoleBinding", "ClusterRoleBinding"}]
    t, res = _time(lambda: run_rules(inv, Config(), rules).findings, args.repeat)
    rows.append(("risks (all rbac rules, incl. model build)", t, f"{len(res)} findings"))
    t, res = _time(lambda: escalation_paths(RBACModel.from_inventory(inv), inv), 1)
    rows.append(("paths for all subjects (incl. model build)", t,
                 f"{len(res)} subjects with a path"))
    width = max(len(r[0]) for r in rows)
    lines = [f"# RBAC benchmark ({dt.date.today()}, {platform.python_version()}, "
             f"{os.cpu_count()} CPUs, seed {args.seed}, best of {args.repeat})", "",
             "Objects: " + ", ".join(f"{v} {k}" for k, v in counts.items()), "",
             "| what | seconds | result |", "|---|---|---|"]
    for name, secs, note in rows:
        lines.append(f"| {name} | {secs:.3f} | {note} |")
        print(f"{name.ljust(width)}  {secs:7.3f} s  {note}")
    OUTPUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUTPUT.relative_to(REPO)}")


if __name__ == "__main__":
    main()

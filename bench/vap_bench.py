"""ValidatingAdmissionPolicy benchmark: 10,000 offline evaluations (issue 8).

Run on demand, never from the test suite:

    .venv/bin/python bench/vap_bench.py [--n 10000] [--repeat 3]

Two policies, each with its binding, evaluated with `kubeward.policy.vap`:

* the seed `deny-privileged-containers` (one validation) over pods with three containers,
  one in five privileged;
* a 5-validation policy with two variables, a ConfigMap param (paramKind + paramRef), a
  matchCondition, a messageExpression, a `quantity()` comparison and an audit annotation
  (tests/fixtures/vap/replicas-limit.yaml) over Deployments, one in three failing.

Reported: evaluations per second (best of --repeat), the time to create the CEL
environment (once per process) and to compile each policy, and the resident memory
(VmRSS) before loading, after loading and after the evaluations. Results go to
bench/results/vap.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

OUTPUT = REPO / "bench" / "results" / "vap.md"
FIXTURES = REPO / "tests" / "fixtures" / "vap"


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def read_docs(*names: str) -> list[dict[str, Any]]:
    from kubeward.inventory.yamlio import load_documents

    out: list[dict[str, Any]] = []
    for name in names:
        for doc in load_documents((FIXTURES / name).read_text()):
            data = getattr(doc, "data", None)
            if isinstance(data, dict):
                out.append(data)
    return out


def pods(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        containers = [{"name": f"c{j}", "image": f"ghcr.io/acme/app-{i % 13}:1.{j}",
                       "env": [{"name": "LOG_LEVEL", "value": "info"}],
                       "securityContext": {"privileged": i % 5 == 0 and j == 2,
                                           "runAsNonRoot": True}}
                      for j in range(3)]
        out.append({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": f"p{i}", "namespace": f"ns{i % 20}",
                                 "labels": {"app": f"a{i % 7}"}},
                    "spec": {"containers": containers}})
    return out


def deployments(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        bad = i % 3 == 0
        out.append({"apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": f"web-{i}", "namespace": "app",
                                 "labels": {"team": "blue"}},
                    "spec": {"replicas": 9 if bad else 3, "template": {"spec": {"containers": [
                        {"name": "c", "image": "nginx:1.25",
                         "resources": {"limits": {"memory": "8Gi" if bad else "1Gi"}}}]}}}})
    return out


def timed_load(docs: list[dict[str, Any]]) -> tuple[Any, float]:
    from kubeward.policy import vap, vap_compile

    vap_compile._ENVS.clear()  # recompile: measure compilation, not the cache
    start = time.perf_counter()
    vs = vap.load(docs)
    elapsed = time.perf_counter() - start
    assert not vs.errors, vs.errors
    return vs, elapsed


def run(vs: Any, objects: list[dict[str, Any]], repeat: int, **kwargs: Any
        ) -> tuple[float, int]:
    from kubeward.policy import vap

    best = float("inf")
    denied = 0
    rss_after: list[float] = []
    for _ in range(repeat):
        start = time.perf_counter()
        denied = sum(not vap.verdict(vs.evaluate(o, **kwargs))[0] for o in objects)
        best = min(best, time.perf_counter() - start)
        rss_after.append(rss_mb())
    GROWTH.append((rss_after[-1] - rss_after[0]) / max(1, repeat - 1))
    return len(objects) / best, denied


GROWTH: list[float] = []  # MB of resident memory gained per pass after the first


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rss_start = rss_mb()
    start = time.perf_counter()
    from kubeward.cel import Environment

    Environment(["object"])
    env_s = time.perf_counter() - start
    seed_docs = read_docs("deny-privileged.yaml", "deny-privileged-binding.yaml")
    rich_docs = read_docs("replicas-limit.yaml")
    seed, seed_compile = timed_load(seed_docs)
    rich, rich_compile = timed_load(rich_docs)
    rss_loaded = rss_mb()
    params = [d for d in rich_docs if d.get("kind") == "ConfigMap"]
    prod = {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "app", "labels": {"env": "prod"}}}

    pod_list, deploy_list = pods(args.n), deployments(args.n)
    seed_rate, seed_denied = run(seed, pod_list, args.repeat)
    rich_rate, rich_denied = run(rich, deploy_list, args.repeat, params_objects=params,
                                 namespace_object=prod)
    rss_end = rss_mb()

    lines = [
        "# ValidatingAdmissionPolicy benchmark",
        "",
        f"`bench/vap_bench.py --n {args.n} --repeat {args.repeat}`, "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, Python "
        f"{platform.python_version()}, {platform.machine()}, 2 shared cores "
        "(other jobs running: figures are a floor).",
        "",
        "| policy | evaluations | evaluations/s (best of "
        f"{args.repeat}) | denied | compile |",
        "|---|---:|---:|---:|---:|",
        f"| seed `deny-privileged-containers` (1 validation) | {args.n:,} | "
        f"{seed_rate:,.0f} | {seed_denied:,} | {seed_compile * 1000:.1f} ms |",
        f"| `replica-limit`: 5 validations, 2 variables, params, matchCondition, "
        f"messageExpression, quantity, audit annotation | {args.n:,} | {rich_rate:,.0f} | "
        f"{rich_denied:,} | {rich_compile * 1000:.1f} ms |",
        "",
        f"- CEL environment creation (cel-expr-python + the Kubernetes library, once per "
        f"process): {env_s * 1000:.0f} ms",
        f"- resident memory: {rss_start:.0f} MB before, {rss_loaded:.0f} MB with both "
        f"policies loaded, {rss_end:.0f} MB after the evaluations (inputs included)",
        f"- resident memory gained per further pass of {args.n:,} evaluations over the same "
        f"inputs: seed {GROWTH[0]:.1f} MB, replica-limit {GROWTH[1]:.1f} MB. The seed policy "
        "calls no Python function; replica-limit calls `quantity()` and `isLessThan()`, and "
        "cel-expr-python 0.1.3 leaks one reference to each Python object it passes to or "
        "receives from a Python function (see src/kubeward/cel/k8slib.py).",
        "- compile time is `vap.load` with an empty compile cache (both parameter "
        "environments rebuilt; the C++ library is already loaded).",
        "- each evaluation builds the admission request, matches the policy and binding, "
        "collects params and evaluates the expressions; only the top-level inputs an "
        "expression names (`object`, `request`, ...) are converted to CEL values.",
        "",
    ]
    OUTPUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()

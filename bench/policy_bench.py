"""Kyverno engine benchmark: `kubeward policy apply` of 40 policies to 2,000 resources.

Run on demand, never from the test suite:

    .venv/bin/python bench/policy_bench.py [--repeat 3] [--resources 2000]

Policies: the 7 Kyverno library policies of tests/fixtures/kyverno (as upstream wrote them)
plus 33 generated ones covering what real policy sets use: label / registry / resource
patterns with anchors and wildcards, foreach, deny with any/all conditions and JMESPath
functions, preconditions, context variables, anyPattern, podSecurity subrules and mutate
rules (pod-level rules get their autogen rules for the 7 pod controllers). Resources: the
real-world manifests of ../shared/corpora/manifests (loaded with kubeward's loader) topped
up with generated Pods, Deployments, CronJobs and Services to the requested count.

Times, in one process: policy loading (structure checks, autogen) and the apply loop
(mutate, then validate each resource with every policy), best of N; then the CLI end to
end in its own process (`kubeward policy apply POLICIES -r RESOURCES -o json`, wall time
and peak RSS). Writes bench/results/policy.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from kubeward.inventory.sources import load_paths  # noqa: E402
from kubeward.policy.kyverno import evaluate, is_kyverno_policy, load_policies, mutate  # noqa: E402

ALL_CONTAINERS = "request.object.spec.[ephemeralContainers, initContainers, containers][]"
FIXTURES = REPO / "tests" / "fixtures" / "kyverno"
CORPUS = REPO.parent / "shared" / "corpora" / "manifests"
OUTPUT = REPO / "bench" / "results" / "policy.md"
KUBEWARD = REPO / ".venv" / "bin" / "kubeward"


def _cp(
    name: str, *rules: dict[str, Any], action: str = "Audit", annotations: dict[str, str] | None = None
) -> dict:
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": meta,
        "spec": {"validationFailureAction": action, "background": True, "rules": list(rules)},
    }


def _match(*kinds: str) -> dict[str, Any]:
    return {"any": [{"resources": {"kinds": list(kinds)}}]}


def generated_policies() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for label in ("app.kubernetes.io/name", "team", "env", "owner", "cost-center"):
        slug = label.replace("/", "-").replace(".", "-")
        out.append(
            _cp(
                f"require-label-{slug}",
                {
                    "name": "check-label",
                    "match": _match("Pod"),
                    "validate": {
                        "message": f"label {label} is required",
                        "pattern": {"metadata": {"labels": {label: "?*"}}},
                    },
                },
            )
        )
    for i, registry in enumerate(("registry.example.com", "ghcr.io", "quay.io", "gcr.io")):
        out.append(
            _cp(
                f"restrict-image-registries-{i}",
                {
                    "name": "validate-registries",
                    "match": _match("Pod"),
                    "validate": {
                        "message": "unknown registry",
                        "foreach": [
                            {
                                "list": ALL_CONTAINERS,
                                "pattern": {"image": f"{registry}/* | docker.io/*"},
                            }
                        ],
                    },
                },
            )
        )
    out.append(
        _cp(
            "disallow-host-path",
            {
                "name": "host-path",
                "match": _match("Pod"),
                "validate": {
                    "message": "hostPath volumes are forbidden",
                    "pattern": {"spec": {"=(volumes)": [{"X(hostPath)": "null"}]}},
                },
            },
        )
    )
    out.append(
        _cp(
            "disallow-host-ports",
            {
                "name": "host-ports",
                "match": _match("Pod"),
                "validate": {
                    "message": "hostPort must be 0",
                    "pattern": {"spec": {"containers": [{"=(ports)": [{"=(hostPort)": 0}]}]}},
                },
            },
        )
    )
    out.append(
        _cp(
            "require-requests-limits",
            {
                "name": "validate-resources",
                "match": _match("Pod"),
                "validate": {
                    "message": "requests and limits are required",
                    "pattern": {
                        "spec": {
                            "containers": [
                                {
                                    "resources": {
                                        "requests": {"memory": "?*", "cpu": "?*"},
                                        "limits": {"memory": "?*"},
                                    }
                                }
                            ]
                        }
                    },
                },
            },
        )
    )
    out.append(
        _cp(
            "memory-limit-range",
            {
                "name": "memory-max",
                "match": _match("Pod"),
                "validate": {
                    "message": "memory limit too high",
                    "pattern": {
                        "spec": {"containers": [{"=(resources)": {"=(limits)": {"=(memory)": "<=4Gi"}}}]}
                    },
                },
            },
        )
    )
    out.append(
        _cp(
            "restrict-nodeport",
            {
                "name": "no-nodeport",
                "match": _match("Service"),
                "validate": {
                    "message": "NodePort is forbidden",
                    "deny": {
                        "conditions": {
                            "any": [
                                {
                                    "key": "{{ request.object.spec.type || '' }}",
                                    "operator": "Equals",
                                    "value": "NodePort",
                                }
                            ]
                        }
                    },
                },
            },
        )
    )
    out.append(
        _cp(
            "restrict-external-ips",
            {
                "name": "check-ips",
                "match": _match("Service"),
                "validate": {
                    "message": "externalIPs are forbidden",
                    "pattern": {"spec": {"X(externalIPs)": "null"}},
                },
            },
        )
    )
    out.append(
        _cp(
            "restrict-lb-ports",
            {
                "name": "lb-ports",
                "match": _match("Service"),
                "preconditions": {
                    "all": [
                        {
                            "key": "{{ request.object.spec.type || '' }}",
                            "operator": "Equals",
                            "value": "LoadBalancer",
                        }
                    ]
                },
                "validate": {
                    "message": "only 443",
                    "deny": {
                        "conditions": {
                            "any": [
                                {
                                    "key": "{{ request.object.spec.ports[].port }}",
                                    "operator": "AnyNotIn",
                                    "value": [443],
                                }
                            ]
                        }
                    },
                },
            },
        )
    )
    for level, version in (
        ("baseline", "latest"),
        ("restricted", "latest"),
        ("restricted", "v1.29"),
    ):
        out.append(
            _cp(
                f"pss-{level}-{version.replace('.', '-')}",
                {
                    "name": level,
                    "match": _match("Pod"),
                    "validate": {
                        "podSecurity": {
                            "level": level,
                            "version": version,
                            "exclude": [{"controlName": "Seccomp", "images": ["*/istio/*"]}],
                        }
                    },
                },
            )
        )
    out.append(
        _cp(
            "disallow-default-namespace",
            {
                "name": "validate-namespace",
                "match": _match("Pod"),
                "validate": {
                    "message": "use a namespace",
                    "pattern": {"metadata": {"namespace": "!default"}},
                },
            },
        )
    )
    out.append(
        _cp(
            "require-probes",
            {
                "name": "validate-probes",
                "match": _match("Pod"),
                "preconditions": {
                    "all": [
                        {
                            "key": "{{ request.operation || 'BACKGROUND' }}",
                            "operator": "AnyIn",
                            "value": ["CREATE", "UPDATE"],
                        }
                    ]
                },
                "validate": {
                    "message": "probes are required",
                    "foreach": [
                        {
                            "list": "request.object.spec.containers",
                            "deny": {
                                "conditions": {
                                    "all": [
                                        {
                                            "key": "livenessProbe",
                                            "operator": "AllNotIn",
                                            "value": "{{ element.keys(@) }}",
                                        },
                                        {
                                            "key": "readinessProbe",
                                            "operator": "AllNotIn",
                                            "value": "{{ element.keys(@) }}",
                                        },
                                    ]
                                }
                            },
                        }
                    ],
                },
            },
        )
    )
    out.append(
        _cp(
            "max-containers",
            {
                "name": "count",
                "match": _match("Pod"),
                "context": [{"name": "max", "variable": {"value": 4}}],
                "validate": {
                    "message": "too many containers",
                    "deny": {
                        "conditions": {
                            "any": [
                                {
                                    "key": "{{ length(request.object.spec.containers) }}",
                                    "operator": "GreaterThan",
                                    "value": "{{ max }}",
                                }
                            ]
                        }
                    },
                },
            },
        )
    )
    out.append(
        _cp(
            "allowed-teams",
            {
                "name": "team-values",
                "match": _match("Pod"),
                "context": [{"name": "teams", "variable": {"value": "payments,search,platform,data"}}],
                "preconditions": {
                    "all": [
                        {
                            "key": "{{ request.object.metadata.labels.team || '' }}",
                            "operator": "NotEquals",
                            "value": "",
                        }
                    ]
                },
                "validate": {
                    "message": "unknown team",
                    "deny": {
                        "conditions": {
                            "any": [
                                {
                                    "key": "{{ to_lower(request.object.metadata.labels.team) }}",
                                    "operator": "AnyNotIn",
                                    "value": "{{ split(teams, ',') }}",
                                }
                            ]
                        }
                    },
                },
            },
        )
    )
    out.append(
        _cp(
            "run-as-non-root-any",
            {
                "name": "non-root",
                "match": _match("Pod"),
                "validate": {
                    "message": "run as non-root",
                    "anyPattern": [
                        {"spec": {"securityContext": {"runAsNonRoot": True}}},
                        {"spec": {"containers": [{"securityContext": {"runAsNonRoot": True}}]}},
                    ],
                },
            },
        )
    )
    out.append(
        _cp(
            "ingress-no-wildcard-host",
            {
                "name": "host",
                "match": _match("Ingress"),
                "validate": {
                    "message": "no wildcard hosts",
                    "foreach": [
                        {
                            "list": "request.object.spec.rules[]",
                            "deny": {
                                "conditions": {
                                    "any": [
                                        {
                                            "key": "{{ element.host || '' }}",
                                            "operator": "Equals",
                                            "value": "\\*.*",
                                        }
                                    ]
                                }
                            },
                        }
                    ],
                },
            },
        )
    )
    out.append(
        _cp(
            "configmap-no-secrets",
            {
                "name": "keys",
                "match": _match("ConfigMap"),
                "validate": {
                    "message": "looks like a secret",
                    "deny": {
                        "conditions": {
                            "any": [
                                {
                                    "key": "{{ keys(request.object.data || `{}`) }}",
                                    "operator": "AnyIn",
                                    "value": ["password", "*token*", "*secret*"],
                                }
                            ]
                        }
                    },
                },
            },
        )
    )
    out.append(
        _cp(
            "require-netpol-namespace-label",
            {
                "name": "ns-label",
                "match": _match("Namespace"),
                "validate": {
                    "message": "namespaces need an owner",
                    "pattern": {"metadata": {"labels": {"owner": "?*"}}},
                },
            },
        )
    )
    out.append(
        _cp(
            "rbac-no-wildcards",
            {
                "name": "no-star",
                "match": _match("ClusterRole", "Role"),
                "validate": {
                    "message": "no wildcard verbs",
                    "deny": {
                        "conditions": {
                            "any": [
                                {
                                    "key": "{{ request.object.rules[].verbs[] || `[]` }}",
                                    "operator": "AnyIn",
                                    "value": ["*"],
                                }
                            ]
                        }
                    },
                },
            },
        )
    )
    out.append(
        _cp(
            "add-default-labels",
            {
                "name": "add-labels",
                "match": _match("Pod", "Service", "ConfigMap"),
                "mutate": {"patchStrategicMerge": {"metadata": {"labels": {"+(managed-by)": "kyverno"}}}},
            },
        )
    )
    out.append(
        _cp(
            "add-pull-policy",
            {
                "name": "pull-policy",
                "match": _match("Pod"),
                "mutate": {
                    "patchStrategicMerge": {
                        "spec": {"containers": [{"(image)": "*:latest", "imagePullPolicy": "Always"}]}
                    }
                },
            },
        )
    )
    out.append(
        _cp(
            "replica-minimum",
            {
                "name": "replicas",
                "match": _match("Deployment", "StatefulSet"),
                "validate": {"message": "at least 2 replicas", "pattern": {"spec": {"=(replicas)": ">=2"}}},
            },
        )
    )
    out.append(
        _cp(
            "pdb-min-available",
            {
                "name": "min",
                "match": _match("PodDisruptionBudget"),
                "validate": {
                    "message": "minAvailable must be set",
                    "anyPattern": [{"spec": {"minAvailable": "?*"}}, {"spec": {"maxUnavailable": "?*"}}],
                },
            },
        )
    )
    out.append(
        _cp(
            "cronjob-concurrency",
            {
                "name": "forbid",
                "match": _match("CronJob"),
                "validate": {
                    "message": "concurrencyPolicy must be Forbid",
                    "pattern": {"spec": {"concurrencyPolicy": "Forbid"}},
                },
            },
        )
    )
    return out


def fixture_policies() -> list[dict[str, Any]]:
    loaded = load_paths(
        [str(p) for p in sorted(FIXTURES.glob("*/*.yaml"))], render_charts=False, parallel=False
    )
    return [r.obj for r in loaded.resources if is_kyverno_policy(r.obj)]


def generated_resources(n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    images = (
        "nginx:1.25",
        "ghcr.io/acme/api:2.1",
        "registry.example.com/web:latest",
        "busybox",
        "quay.io/x/y:3",
    )
    for i in range(n):
        c: dict[str, Any] = {"name": f"c{i % 3}", "image": images[i % len(images)]}
        if i % 2:
            c["resources"] = {
                "requests": {"cpu": "100m", "memory": "128Mi"},
                "limits": {"memory": f"{1 + i % 6}Gi"},
            }
        if i % 3 == 0:
            c["securityContext"] = {
                "runAsNonRoot": True,
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
                "seccompProfile": {"type": "RuntimeDefault"},
            }
        if i % 5 == 0:
            c["livenessProbe"] = c["readinessProbe"] = {"httpGet": {"path": "/", "port": 8080}}
        spec: dict[str, Any] = {"containers": [c] * (1 + i % 2)}
        if i % 11 == 0:
            spec["volumes"] = [{"name": "h", "hostPath": {"path": "/var/log"}}]
        labels = {"app.kubernetes.io/name": f"app{i}", "team": ("payments", "search", "Other")[i % 3]}
        meta = {"name": f"gen-{i}", "namespace": f"ns-{i % 20}", "labels": labels}
        kind = ("Pod", "Deployment", "CronJob", "Service")[i % 4]
        if kind == "Pod":
            out.append({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec})
        elif kind == "Deployment":
            out.append(
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "metadata": meta,
                    "spec": {
                        "replicas": 1 + i % 3,
                        "selector": {"matchLabels": labels},
                        "template": {"metadata": {"labels": labels}, "spec": spec},
                    },
                }
            )
        elif kind == "CronJob":
            out.append(
                {
                    "apiVersion": "batch/v1",
                    "kind": "CronJob",
                    "metadata": meta,
                    "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": {"spec": spec}}}},
                }
            )
        else:
            out.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": meta,
                    "spec": {
                        "type": ("ClusterIP", "NodePort", "LoadBalancer")[i % 3],
                        "ports": [{"port": (80, 443)[i % 2]}],
                    },
                }
            )
    return out


def apply_all(policies: list[Any], resources: list[dict[str, Any]]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for obj in resources:
        patched, mres = mutate(policies, obj)
        counts.update(r.status for r in mres)
        counts.update(r.status for r in evaluate(policies, patched))
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--resources", type=int, default=2000)
    ap.add_argument("--real", type=int, default=1500, help="How many of the resources come from the corpus.")
    ap.add_argument("--output", type=Path, default=OUTPUT)
    args = ap.parse_args()

    policy_objs = fixture_policies() + generated_policies()
    assert len(policy_objs) == 40, len(policy_objs)
    t0 = time.perf_counter()
    corpus = load_paths([str(CORPUS)], render_charts=False) if CORPUS.is_dir() else None
    corpus_objs = [r.obj for r in corpus.resources if not is_kyverno_policy(r.obj)] if corpus else []
    corpus_objs = corpus_objs[: min(args.real, args.resources)]
    load_corpus_s = time.perf_counter() - t0
    resources = corpus_objs + generated_resources(args.resources - len(corpus_objs))
    kinds = Counter(str(o.get("kind")) for o in resources)

    load_times, apply_times = [], []
    counts: Counter[str] = Counter()
    rules = 0
    for _ in range(args.repeat):
        t = time.perf_counter()
        policies = load_policies(policy_objs)
        load_times.append(time.perf_counter() - t)
        rules = sum(len(p.rules) for p in policies)
        t = time.perf_counter()
        counts = apply_all(policies, resources)
        apply_times.append(time.perf_counter() - t)

    with tempfile.TemporaryDirectory() as tmp:
        pfile, rfile = Path(tmp) / "policies.yaml", Path(tmp) / "resources.yaml"
        pfile.write_text(yaml.safe_dump_all(policy_objs, sort_keys=False))
        rfile.write_text(yaml.safe_dump_all(resources, sort_keys=False))
        t = time.perf_counter()
        proc = subprocess.Popen(
            [str(KUBEWARD), "policy", "apply", str(pfile), "-r", str(rfile), "-o", "json"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        cli_s = time.perf_counter() - t
        cli_rc = os.waitstatus_to_exitcode(status)
        cli_rss_mb = usage.ru_maxrss / 1024
    results = sum(counts.values())
    best_apply = min(apply_times)
    load1, load5, _ = os.getloadavg()
    lines = [
        "# Kyverno engine benchmark (`kubeward policy apply`)",
        "",
        f"- Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- Python: {platform.python_version()} ({platform.python_implementation()}), {platform.machine()}, "
        f"{os.cpu_count()} CPUs; load average {load1:.2f} / {load5:.2f}",
        f"- Policies: **40** (7 Kyverno library policies from tests/fixtures/kyverno + 33 generated), "
        f"{rules} rules after autogen",
        f"- Resources: **{len(resources)}** ({len(corpus_objs)} real-world objects from `manifests`, "
        f"loaded in {load_corpus_s:.1f}s, not timed; {len(resources) - len(corpus_objs)} generated); "
        + ", ".join(f"{k} {v}" for k, v in kinds.most_common(8))
        + ", ...",
        f"- Rule results per pass: {results:,} ("
        + ", ".join(f"{s} {counts.get(s, 0):,}" for s in ("pass", "fail", "skip", "error", "warn"))
        + ")",
        f"- One process, one thread; best of {args.repeat}.",
        "",
        "| step | best (s) | per resource (ms) |",
        "| --- | ---: | ---: |",
        f"| load + check 40 policies, autogen | {min(load_times):.3f} | - |",
        f"| mutate + validate {len(resources)} resources | {best_apply:.2f} | "
        f"{1000 * best_apply / len(resources):.2f} |",
        f"| CLI end to end (`kubeward policy apply ... -o json`, own process) | {cli_s:.2f} | "
        f"{1000 * cli_s / len(resources):.2f} |",
        "",
        f"CLI: exit code {cli_rc} (1 = an Enforce rule failed, expected here), peak RSS {cli_rss_mb:.0f} MB; "
        "the wall time includes interpreter start, YAML parsing of both files and JSON output.",
        "",
        'Reference: the Kyverno CLI\'s users report that `kyverno apply` on "a few hundreds manifests" takes '
        '"2-3 min" in CI (kyverno/kyverno#4351, https://github.com/kyverno/kyverno/issues/4351). '
        f"Here {len(resources)} resources against 40 policies take {cli_s:.0f} s end to end. The figures are "
        "not from the same machine or policy set; the Kyverno CLI was not run here (it is not installed, and "
        "this machine is offline).",
        "",
        "Regenerate with `.venv/bin/python bench/policy_bench.py`.",
        "",
    ]
    args.output.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()

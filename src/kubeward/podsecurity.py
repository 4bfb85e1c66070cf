"""Pod Security over an Inventory: per-object verdicts and the per-namespace plan.

Pure functions joining the PSS engine (`kubeward.pss`) with the inventory: which pods a
namespace holds, what its labels enforce, and the strictest level it could enforce today.
Objects with no namespace are planned under "default", where `kubectl apply` would put them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from kubeward import pss
from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Resource
from kubeward.k8s.pods import PodTemplate

__all__ = ["NamespaceRow", "PodVerdict", "check_pods", "namespace_of", "plan_namespaces"]

DEFAULT_NAMESPACE = "default"


@dataclass(slots=True, frozen=True)
class PodVerdict:
    resource: Resource
    pod: PodTemplate
    violations: tuple[pss.Violation, ...]

    @property
    def allowed(self) -> bool:
        return not self.violations


def namespace_of(res: Resource) -> str:
    return res.namespace or DEFAULT_NAMESPACE


def check_pods(inventory: Inventory, level: str, version: str) -> Iterator[PodVerdict]:
    for res, pod in inventory.pod_templates:
        yield PodVerdict(res, pod, tuple(pss.evaluate(pod.metadata, pod.spec, level, version)))


@dataclass(slots=True, frozen=True)
class NamespaceRow:
    namespace: str
    plan: pss.NamespacePlan
    current: pss.NamespacePolicy | None  # from the Namespace object's labels, if present
    workloads: tuple[Resource, ...]

    def label_command(self) -> str:
        labels = " ".join(f"{k}={v}" for k, v in self.plan.labels.items())
        return f"kubectl label --overwrite namespace {self.namespace} {labels}"

    def namespace_yaml(self) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": self.namespace, "labels": dict(self.plan.labels)},
        }


def plan_namespaces(inventory: Inventory, version: str = "latest") -> list[NamespaceRow]:
    pods: dict[str, list[tuple[Resource, PodTemplate]]] = defaultdict(list)
    for res, pod in inventory.pod_templates:
        pods[namespace_of(res)].append((res, pod))
    for name in inventory.namespaces:
        pods.setdefault(name, [])
    rows = []
    for name in sorted(pods):
        members = pods[name]
        plan = pss.plan_namespace(((p.metadata, p.spec) for _, p in members), version=version)
        ns_obj = inventory.get("Namespace", None, name)
        current = pss.namespace_policy(ns_obj.labels) if ns_obj is not None else None
        rows.append(NamespaceRow(name, plan, current, tuple(r for r, _ in members)))
    return rows

"""The pod template of any workload kind, and every container of a pod spec.

One place knows where each kind keeps its pod template, so every rule, the PSS engine and
the webhook see Deployments, CronJobs and bare Pods the same way. Containers include init
and ephemeral containers (both run code on the node; PSS checks them too).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONTAINER_FIELDS",
    "WORKLOAD_KINDS",
    "Container",
    "PodTemplate",
    "containers",
    "effective",
    "is_mirror_pod",
    "pod_template",
]

_EMPTY: Mapping[str, Any] = {}

# kind -> path from the object root to its pod template ({metadata, spec}).
_TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Deployment": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
    "PodTemplate": ("template",),
    # Argo Rollouts keep a Deployment-shaped template; common enough to cover.
    "Rollout": ("spec", "template"),
}
WORKLOAD_KINDS = frozenset(_TEMPLATE_PATHS) | {"Pod"}
CONTAINER_FIELDS = ("initContainers", "containers", "ephemeralContainers")


@dataclass(slots=True, frozen=True)
class PodTemplate:
    """A pod's metadata and spec, and the path of the spec inside its object."""

    metadata: Mapping[str, Any]
    spec: Mapping[str, Any]
    spec_path: tuple[str, ...]  # e.g. ("spec", "template", "spec")

    @property
    def security_context(self) -> Mapping[str, Any]:
        sc = self.spec.get("securityContext")
        return sc if isinstance(sc, dict) else _EMPTY


@dataclass(slots=True, frozen=True)
class Container:
    """One container with its place: `field` is containers / initContainers / ephemeralContainers."""

    field: str
    index: int
    spec: Mapping[str, Any]

    @property
    def name(self) -> str:
        name = self.spec.get("name")
        return name if isinstance(name, str) else f"{self.field}[{self.index}]"

    @property
    def security_context(self) -> Mapping[str, Any]:
        sc = self.spec.get("securityContext")
        return sc if isinstance(sc, dict) else _EMPTY

    @property
    def path(self) -> tuple[str | int, ...]:
        return (self.field, self.index)


def pod_template(kind: str, obj: Mapping[str, Any]) -> PodTemplate | None:
    """The pod template of a Pod or workload object, or None for other kinds."""
    if kind == "Pod":
        spec = obj.get("spec")
        if not isinstance(spec, dict):
            return None
        meta = obj.get("metadata")
        return PodTemplate(meta if isinstance(meta, dict) else _EMPTY, spec, ("spec",))
    path = _TEMPLATE_PATHS.get(kind)
    if path is None:
        return None
    node: Any = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    if not isinstance(node, dict):
        return None
    spec = node.get("spec")
    if not isinstance(spec, dict):
        return None
    meta = node.get("metadata")
    return PodTemplate(meta if isinstance(meta, dict) else _EMPTY, spec, (*path, "spec"))


MIRROR_ANNOTATIONS = ("kubernetes.io/config.mirror",)


def is_mirror_pod(kind: str, obj: Mapping[str, Any]) -> bool:
    """A static pod's API mirror (kubelet-managed: its spec lives in a file on the node).

    Workload rules skip these: the node's manifest is what to fix, and the control-plane
    rules (`rules/controlplane.py`) judge them by their flags instead.
    """
    if kind != "Pod":
        return False
    meta = obj.get("metadata")
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    return isinstance(ann, dict) and any(a in ann for a in MIRROR_ANNOTATIONS)


def containers(spec: Mapping[str, Any]) -> Iterator[Container]:
    """Init, regular and ephemeral containers of a pod spec, skipping malformed entries."""
    for field in CONTAINER_FIELDS:
        items = spec.get(field)
        if not isinstance(items, list):
            continue
        for i, item in enumerate(items):
            if isinstance(item, dict):
                yield Container(field, i, item)


def effective(pod: PodTemplate, container: Container, key: str) -> Any:
    """A securityContext field as the kubelet applies it: container over pod level.

    Only fields that exist at both levels inherit (runAsUser, runAsGroup, runAsNonRoot,
    seLinuxOptions, seccompProfile, appArmorProfile, windowsOptions); privileged,
    capabilities, readOnlyRootFilesystem and allowPrivilegeEscalation are container-only.
    """
    value = container.security_context.get(key)
    if value is None:
        value = pod.security_context.get(key)
    return value

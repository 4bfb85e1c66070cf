"""The image inventory: every image a repo or cluster runs, and the workloads that run it.

Images come from every pod template the Inventory knows (`k8s.pods`: Deployments, CronJob
job templates, bare Pods, ...) and every container of it, init and ephemeral included.
References are normalised as the container runtime does (`k8s.images.parse_image`, after
distribution/reference ParseNormalizedNamed): `nginx` is `docker.io/library/nginx`, the
tag defaults to `latest` only when there is neither tag nor digest. Two spellings of one
image (`nginx:1.27` and `docker.io/library/nginx:1.27`) are one inventory entry.

Static pods' API mirrors are skipped, as the rules skip them (the node's file is the source);
objects whose controller is in the input (a ReplicaSet of a listed Deployment) are kept out
too, so a cluster scan lists each image once per real workload.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Resource
from kubeward.k8s.images import ImageRef, parse_image
from kubeward.k8s.pods import PodTemplate, containers, is_mirror_pod

__all__ = ["ImageEntry", "Usage", "canonical", "image_inventory"]


@dataclass(slots=True, frozen=True)
class Usage:
    """One container running an image: its workload and where the image field is."""

    resource: Resource
    container: str
    field: str  # containers / initContainers / ephemeralContainers
    path: tuple[str | int, ...]  # path of the `image` field inside the object

    @property
    def workload(self) -> str:
        return self.resource.ref


@dataclass(slots=True)
class ImageEntry:
    """One distinct image (by canonical reference) and everything that runs it."""

    ref: ImageRef
    canonical: str
    spellings: set[str] = field(default_factory=set)
    usages: list[Usage] = field(default_factory=list)

    @property
    def workloads(self) -> list[str]:
        return sorted({u.workload for u in self.usages})

    @property
    def namespaces(self) -> set[str | None]:
        return {u.resource.namespace for u in self.usages}

    @property
    def pinned(self) -> bool:
        return self.ref.digest is not None

    @property
    def tag(self) -> str | None:
        """The tag as the runtime pulls it: `latest` when neither tag nor digest is given."""
        if self.ref.tag is None and self.ref.digest is None:
            return "latest"
        return self.ref.tag


def canonical(ref: ImageRef) -> str:
    """`registry/repository[:tag][@digest]`, with the implicit `:latest` made explicit."""
    out = ref.name
    tag = ref.tag if ref.tag is not None or ref.digest is not None else "latest"
    if tag:
        out += f":{tag}"
    if ref.digest:
        out += f"@{ref.digest}"
    return out


def image_inventory(inventory: Inventory) -> list[ImageEntry]:
    """Every distinct image of the inventory, sorted by canonical reference."""
    return _collect(_templates(inventory))


def _templates(inventory: Inventory) -> Iterable[tuple[Resource, PodTemplate]]:
    for res, pod in inventory.pod_templates:
        if is_mirror_pod(res.kind, res.obj) or inventory.controlled_in_input(res):
            continue
        yield res, pod


def _collect(pairs: Iterable[tuple[Resource, PodTemplate]]) -> list[ImageEntry]:
    entries: dict[str, ImageEntry] = {}
    for res, pod in pairs:
        for c in containers(pod.spec):
            raw = c.spec.get("image")
            if not isinstance(raw, str) or not raw.strip():
                continue
            ref = parse_image(raw.strip())
            key = canonical(ref)
            entry = entries.get(key)
            if entry is None:
                entry = entries[key] = ImageEntry(ref, key)
            entry.spellings.add(raw.strip())
            entry.usages.append(Usage(res, c.name, c.field, (*pod.spec_path, *c.path, "image")))
    return [entries[k] for k in sorted(entries)]

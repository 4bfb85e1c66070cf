"""The Inventory: every Resource of a scan, indexed once so cross-object rules are cheap.

Rules never scan the whole list for a related object: a pod's NetworkPolicies, a
ServiceAccount's bindings, a namespace's labels are one dictionary lookup away.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from functools import cached_property
from typing import Any

from kubeward.inventory.resource import Resource
from kubeward.k8s.pods import PodTemplate, pod_template

__all__ = ["Inventory"]


class Inventory:
    """Resources indexed by kind, by namespace and kind, and by (kind, namespace, name)."""

    def __init__(self, resources: Iterable[Resource]) -> None:
        self.resources: list[Resource] = list(resources)
        by_kind: dict[str, list[Resource]] = defaultdict(list)
        by_ns_kind: dict[tuple[str | None, str], list[Resource]] = defaultdict(list)
        by_key: dict[tuple[str, str | None, str], Resource] = {}
        for res in self.resources:
            by_kind[res.kind].append(res)
            by_ns_kind[(res.namespace, res.kind)].append(res)
            by_key.setdefault((res.kind, res.namespace, res.name), res)
        self._by_kind = dict(by_kind)
        self._by_ns_kind = dict(by_ns_kind)
        self._by_key = by_key

    def __len__(self) -> int:
        return len(self.resources)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def of_kind(self, kind: str, namespace: str | Any | None = ...) -> list[Resource]:
        """Resources of a kind, optionally only those in one namespace (None = unset)."""
        if namespace is ...:
            return self._by_kind.get(kind, [])
        return self._by_ns_kind.get((namespace, kind), [])

    def get(self, kind: str, namespace: str | None, name: str) -> Resource | None:
        return self._by_key.get((kind, namespace, name))

    def controlled_in_input(self, res: Resource) -> bool:
        """Whether the object's controller (ownerReferences, controller: true) is in the input:
        its pods are then the controller's, and rules judge the controller instead."""
        owners = res.metadata.get("ownerReferences")
        for ref in owners if isinstance(owners, list) else []:
            if isinstance(ref, dict) and ref.get("controller") is True:
                kind, name = ref.get("kind"), ref.get("name")
                if isinstance(kind, str) and isinstance(name, str) and \
                        self.get(kind, res.namespace, name) is not None:
                    return True
        return False

    @property
    def kinds(self) -> Mapping[str, list[Resource]]:
        return self._by_kind

    @cached_property
    def namespaces(self) -> dict[str, Resource | None]:
        """Every namespace named by an object, mapped to its Namespace object if present."""
        names: dict[str, Resource | None] = {}
        for res in self.resources:
            if res.namespace:
                names.setdefault(res.namespace, None)
        for ns in self.of_kind("Namespace"):
            names[ns.name] = ns
        return names

    @cached_property
    def pod_templates(self) -> list[tuple[Resource, PodTemplate]]:
        """Every object that runs pods, with its pod template (computed once)."""
        out: list[tuple[Resource, PodTemplate]] = []
        for res in self.resources:
            tpl = pod_template(res.kind, res.obj)
            if tpl is not None:
                out.append((res, tpl))
        return out

    @cached_property
    def bindings_by_subject(self) -> dict[tuple[str, str, str], list[Resource]]:
        """RoleBindings and ClusterRoleBindings by (subject kind, namespace, name).

        ServiceAccount subjects key on their namespace (defaulting to the binding's own, as
        the API server does for RoleBindings); users and groups key on namespace "".
        """
        index: dict[tuple[str, str, str], list[Resource]] = defaultdict(list)
        for kind in ("RoleBinding", "ClusterRoleBinding"):
            for binding in self.of_kind(kind):
                subjects = binding.obj.get("subjects")
                if not isinstance(subjects, list):
                    continue
                for subject in subjects:
                    if not isinstance(subject, dict):
                        continue
                    skind = str(subject.get("kind", ""))
                    name = str(subject.get("name", ""))
                    ns = ""
                    if skind == "ServiceAccount":
                        ns = str(subject.get("namespace") or binding.namespace or "")
                    index[(skind, ns, name)].append(binding)
        return dict(index)

    @cached_property
    def pods_by_label(self) -> dict[tuple[str | None, str, str], list[tuple[Resource, PodTemplate]]]:
        """Pod templates by (namespace, label key, label value) of their pod labels.

        What selector-based rules need (NetworkPolicy podSelector, Service selector, PDBs):
        candidates for `app=web` in a namespace are one lookup, then the full selector is
        matched on that short list.
        """
        index: dict[tuple[str | None, str, str], list[tuple[Resource, PodTemplate]]] = (
            defaultdict(list)
        )
        for res, pod in self.pod_templates:
            labels = pod.metadata.get("labels")
            if isinstance(labels, dict):
                for key, value in labels.items():
                    index[(res.namespace, str(key), str(value))].append((res, pod))
        return dict(index)

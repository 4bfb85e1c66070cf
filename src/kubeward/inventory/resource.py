"""The Resource: one Kubernetes object and where it came from.

Everything downstream of the loaders sees only Resources, whatever the source (a file, stdin,
rendered Helm or Kustomize output, a live cluster, a snapshot, an AdmissionReview).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubeward.inventory.yamlio import Document, locate

__all__ = ["Origin", "Resource", "SourceText"]


@dataclass(slots=True, eq=False)
class SourceText:
    """The text of one input (file or stdin), kept so findings can be located to a line."""

    path: str  # as shown to the user: relative path, "<stdin>", or a cluster URL
    text: str | None = None
    kind: str = "file"  # file, stdin, helm, kustomize, cluster, snapshot, admission

    def content(self) -> str | None:
        """The text, read again from disk if it was dropped (parsed in a worker process)."""
        if self.text is None and self.kind == "file":
            try:
                self.text = Path(self.path).read_bytes().decode("utf-8-sig")
            except (OSError, UnicodeDecodeError):
                return None
        return self.text


@dataclass(slots=True, eq=False)
class Origin:
    """Where an object was read: its input, document, and (inside a List) its item path."""

    source: SourceText
    doc: Document | None
    line: int  # 1-based line of the object (0 when unknown, e.g. from a cluster)
    prefix: tuple[str | int, ...] = ()  # path from the document root to the object
    template: str | None = None  # Helm `# Source:` template path for rendered output
    template_file: bool = False  # `template` is a file on disk: show it as the location

    def line_of(self, path: Sequence[str | int]) -> int:
        """Line of a field inside the object (falls back to the object's own line)."""
        if self.doc is None or not path:
            return self.line
        text = self.source.content()
        if text is None:
            return self.line
        found = locate(text, self.doc, (*self.prefix, *path))
        return found if found is not None else self.line


@dataclass(slots=True, eq=False)
class Resource:
    """A Kubernetes object (the plain dict as decoded) with its provenance."""

    obj: dict[str, Any]
    origin: Origin
    api_version: str = field(init=False)
    kind: str = field(init=False)
    name: str = field(init=False)
    namespace: str | None = field(init=False)

    def __post_init__(self) -> None:
        obj = self.obj
        self.api_version = _str(obj.get("apiVersion"))
        self.kind = _str(obj.get("kind"))
        meta = self.metadata
        self.name = _str(meta.get("name")) or _str(meta.get("generateName"))
        ns = meta.get("namespace")
        self.namespace = ns if isinstance(ns, str) and ns else None

    @property
    def metadata(self) -> Mapping[str, Any]:
        meta = self.obj.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def labels(self) -> Mapping[str, str]:
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}

    @property
    def annotations(self) -> Mapping[str, Any]:
        ann = self.metadata.get("annotations")
        return ann if isinstance(ann, dict) else {}

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0] if "/" in self.api_version else ""

    @property
    def ref(self) -> str:
        """A short human reference: `Kind/namespace/name` or `Kind/name`."""
        if self.namespace:
            return f"{self.kind}/{self.namespace}/{self.name}"
        return f"{self.kind}/{self.name}"

    @property
    def display_path(self) -> str:
        """The file to show: the chart template when it is on disk, else the input."""
        if self.origin.template and self.origin.template_file:
            return self.origin.template
        return self.origin.source.path


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""

"""Core types: the decoded pod view, checks, their versions, and violations.

Mirrors ``policy/checks.go`` (``Check``, ``VersionedCheck``, ``CheckResult``) and
``policy/visitor.go`` (container visiting order: init containers, containers, then
ephemeral containers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

from kubeward.pss._levels import LATEST, LatestVersion, Level, format_version
from kubeward.pss._util import EMPTY

__all__ = [
    "BoundCheck",
    "Check",
    "CheckFn",
    "ContainerView",
    "PodView",
    "Result",
    "VersionedCheck",
    "Violation",
]

#: ``(ForbiddenReason, ForbiddenDetail)`` when a check forbids the pod, ``None`` when it allows.
Result: TypeAlias = tuple[str, str] | None

#: ``(name, container mapping, container securityContext or None)``.
ContainerView: TypeAlias = tuple[str, dict[str, Any], dict[str, Any] | None]

_CONTAINER_LISTS: Final = ("initContainers", "containers", "ephemeralContainers")


class PodView:
    """A pod decoded once per evaluation, shared by every check.

    ``containers`` lists every container in upstream's ``visitContainers`` order with its
    name and securityContext already decoded (see :mod:`kubeward.pss._util` for the
    decoding rules applied to malformed input).
    """

    __slots__ = ("annotations", "containers", "psc", "spec")

    annotations: dict[Any, Any] | None
    spec: dict[str, Any]
    psc: dict[str, Any] | None
    containers: list[ContainerView]

    def __init__(self, pod_meta: Any, pod_spec: Any) -> None:
        if isinstance(pod_meta, dict):
            ann = pod_meta.get("annotations")
            self.annotations = ann if isinstance(ann, dict) and ann else None
        else:
            self.annotations = None
        spec: dict[str, Any] = pod_spec if isinstance(pod_spec, dict) else EMPTY
        self.spec = spec
        psc = spec.get("securityContext")
        self.psc = psc if isinstance(psc, dict) else None
        containers: list[ContainerView] = []
        append = containers.append
        for key in _CONTAINER_LISTS:
            items = spec.get(key)
            if not isinstance(items, list):
                continue
            for c in items:
                if isinstance(c, dict):
                    name = c.get("name")
                    sc = c.get("securityContext")
                    append(
                        (
                            name if isinstance(name, str) else "",
                            c,
                            sc if isinstance(sc, dict) else None,
                        )
                    )
                elif c is None:
                    # JSON null decodes to a zero-value container
                    append(("", EMPTY, None))
        self.containers = containers


CheckFn: TypeAlias = Callable[[PodView], Result]


@dataclass(frozen=True, slots=True)
class VersionedCheck:
    """One revision of a check (upstream ``VersionedCheck``)."""

    #: First policy version this revision applies to.
    min_version: tuple[int, int]
    #: The upstream Go function this revision implements, e.g. ``"privileged_1_0"``.
    upstream_fn: str
    check_pod: CheckFn = field(repr=False)
    #: Baseline check IDs this (restricted) revision replaces when evaluating restricted.
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Check:
    """A registered check (upstream ``Check``) with catalog metadata."""

    #: Upstream check ID, e.g. ``"hostNamespaces"``.
    id: str
    level: Level
    #: Short human title (the Pod Security Standards control name).
    title: str
    description: str
    #: Slug for rule ids: ``pss.<level>.<rule_slug>``.
    rule_slug: str
    #: Revisions, strictly increasing ``min_version``.
    versions: tuple[VersionedCheck, ...]
    #: Upstream source file this check follows.
    upstream_file: str
    #: Pod fields the check inspects (from the upstream doc comment).
    fields: tuple[str, ...] = ()

    @property
    def rule_id(self) -> str:
        return f"pss.{self.level}.{self.rule_slug}"

    @property
    def min_version(self) -> tuple[int, int]:
        return self.versions[0].min_version

    def version_ranges(
        self, max_version: tuple[int, int] | None = None
    ) -> tuple[tuple[tuple[int, int], tuple[int, int] | LatestVersion, VersionedCheck], ...]:
        """``(first, last, revision)`` per revision; ``last`` of the newest is :data:`LATEST`.

        With ``max_version`` the newest revision's range ends there instead.
        """
        out: list[tuple[tuple[int, int], tuple[int, int] | LatestVersion, VersionedCheck]] = []
        for i, vc in enumerate(self.versions):
            if i + 1 < len(self.versions):
                nxt = self.versions[i + 1].min_version
                last: tuple[int, int] | LatestVersion = (nxt[0], nxt[1] - 1)
            else:
                last = max_version if max_version is not None else LATEST
            out.append((vc.min_version, last, vc))
        return tuple(out)

    def describe_versions(self) -> str:
        """E.g. ``"v1.0-v1.34: procMount_1_0; v1.35+: procMount1_35baseline"``."""
        parts = []
        for first, last, vc in self.version_ranges():
            if isinstance(last, LatestVersion):
                span = f"{format_version(first)}+"
            elif last == first:
                span = format_version(first)
            else:
                span = f"{format_version(first)}-{format_version(last)}"
            parts.append(f"{span}: {vc.upstream_fn}")
        return "; ".join(parts)


@dataclass(frozen=True, slots=True)
class BoundCheck:
    """A check resolved to the revision that applies at one policy version."""

    check: Check
    revision: VersionedCheck

    @property
    def id(self) -> str:
        return self.check.id

    @property
    def level(self) -> Level:
        return self.check.level

    def __call__(self, pod: PodView) -> Result:
        return self.revision.check_pod(pod)


@dataclass(frozen=True, slots=True)
class Violation:
    """A forbidden result of one check (upstream ``CheckResult`` with ``Allowed=false``)."""

    #: Upstream check ID, e.g. ``"runAsNonRoot"``.
    check: str
    #: Level the check belongs to: ``"baseline"`` or ``"restricted"``.
    level: str
    #: Upstream ``ForbiddenReason``, e.g. ``"runAsNonRoot != true"``.
    reason: str
    #: Upstream ``ForbiddenDetail`` (may be empty).
    detail: str

    @property
    def message(self) -> str:
        """``reason (detail)`` like upstream's aggregated message (just ``reason`` if no detail)."""
        if self.detail:
            return f"{self.reason} ({self.detail})"
        return self.reason

"""Namespace Pod Security labels and namespace planning (pure functions, no I/O).

:func:`namespace_policy` follows ``k8s.io/pod-security-admission/api/helpers.go``
``PolicyToEvaluate`` exactly:

* labels ``pod-security.kubernetes.io/{enforce,audit,warn}`` (levels) and
  ``pod-security.kubernetes.io/{enforce,audit,warn}-version`` (versions);
* an unset label keeps the default (the admission configuration's defaults; upstream's
  built-in defaults are ``privileged`` / ``latest`` for all three modes);
* values are parsed strictly (case-sensitive ``privileged|baseline|restricted``,
  ``latest`` or ``v1.<minor>``); an invalid value is an error *and* a fallback:
  an invalid enforce level means ``restricted`` (fail closed), an invalid audit or warn
  level means ``privileged`` (fail open), an invalid version means ``latest``.

:func:`plan_namespace` finds the strictest level at a version (``latest`` by default)
that admits every given pod, and what blocks each stricter level; it powers
``kubeward pss plan``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from kubeward.pss._levels import (
    BASELINE,
    LATEST,
    PRIVILEGED,
    RESTRICTED,
    LatestVersion,
    Level,
    LevelVersion,
    format_version,
    parse_level_strict,
    parse_version,
    parse_version_strict,
)
from kubeward.pss._model import Violation
from kubeward.pss._registry import checks_for, evaluate_bound

__all__ = [
    "AUDIT_LABEL",
    "AUDIT_VERSION_LABEL",
    "DEFAULT_POLICY",
    "ENFORCE_LABEL",
    "ENFORCE_VERSION_LABEL",
    "LABEL_PREFIX",
    "WARN_LABEL",
    "WARN_VERSION_LABEL",
    "LabelError",
    "NamespacePlan",
    "NamespacePolicy",
    "PodBlockers",
    "namespace_policy",
    "plan_namespace",
]

LABEL_PREFIX: Final = "pod-security.kubernetes.io/"
ENFORCE_LABEL: Final = LABEL_PREFIX + "enforce"
ENFORCE_VERSION_LABEL: Final = LABEL_PREFIX + "enforce-version"
AUDIT_LABEL: Final = LABEL_PREFIX + "audit"
AUDIT_VERSION_LABEL: Final = LABEL_PREFIX + "audit-version"
WARN_LABEL: Final = LABEL_PREFIX + "warn"
WARN_VERSION_LABEL: Final = LABEL_PREFIX + "warn-version"


@dataclass(frozen=True, slots=True)
class LabelError:
    """An invalid Pod Security label value (upstream ``field.Invalid``)."""

    label: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"metadata.labels[{self.label}]: Invalid value: {self.value!r}: {self.reason}"


@dataclass(frozen=True, slots=True)
class NamespacePolicy:
    """The policy a namespace's labels resolve to (upstream ``api.Policy`` + errors)."""

    enforce: LevelVersion
    audit: LevelVersion
    warn: LevelVersion
    errors: tuple[LabelError, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def fully_privileged(self) -> bool:
        """All three modes are ``privileged`` (upstream ``Policy.FullyPrivileged``)."""
        return (
            self.enforce.level == PRIVILEGED
            and self.audit.level == PRIVILEGED
            and self.warn.level == PRIVILEGED
        )


DEFAULT_POLICY: Final = NamespacePolicy(
    enforce=LevelVersion(PRIVILEGED, LATEST),
    audit=LevelVersion(PRIVILEGED, LATEST),
    warn=LevelVersion(PRIVILEGED, LATEST),
)


def _shown(raw: Any) -> str:
    """A label value as the API would hold it (``null`` is ``""``)."""
    return "" if raw is None else str(raw)


def namespace_policy(
    labels: Mapping[str, str] | None, defaults: NamespacePolicy = DEFAULT_POLICY
) -> NamespacePolicy:
    """Resolve namespace labels to the policy upstream would evaluate.

    Always returns a usable policy; invalid label values are listed in ``errors``.
    Non-string label values (malformed input) count as invalid values.
    """
    enforce, audit, warn = defaults.enforce, defaults.audit, defaults.warn
    errors: list[LabelError] = []
    if not labels or not isinstance(labels, Mapping):
        return NamespacePolicy(enforce, audit, warn, defaults.errors)

    def level_of(label: str, current: LevelVersion, fallback: Level) -> LevelVersion:
        if label not in labels:
            return current
        raw: Any = labels[label]
        try:
            lvl = parse_level_strict(raw) if isinstance(raw, str) else parse_level_strict("")
        except ValueError as exc:
            errors.append(LabelError(label, _shown(raw), str(exc)))
            lvl = fallback
        return LevelVersion(lvl, current.version)

    def version_of(label: str, current: LevelVersion) -> LevelVersion:
        if label not in labels:
            return current
        raw: Any = labels[label]
        ver: tuple[int, int] | LatestVersion
        try:
            ver = parse_version_strict(raw) if isinstance(raw, str) else parse_version_strict("")
        except ValueError as exc:
            errors.append(LabelError(label, _shown(raw), str(exc)))
            ver = LATEST
        return LevelVersion(current.level, ver)

    enforce = level_of(ENFORCE_LABEL, enforce, RESTRICTED)
    enforce = version_of(ENFORCE_VERSION_LABEL, enforce)
    audit = level_of(AUDIT_LABEL, audit, PRIVILEGED)
    audit = version_of(AUDIT_VERSION_LABEL, audit)
    warn = level_of(WARN_LABEL, warn, PRIVILEGED)
    warn = version_of(WARN_VERSION_LABEL, warn)
    return NamespacePolicy(enforce, audit, warn, tuple(errors))


@dataclass(frozen=True, slots=True)
class PodBlockers:
    """One pod that a level does not admit, and why."""

    #: Position of the pod in the input of :func:`plan_namespace`.
    index: int
    violations: tuple[Violation, ...]


@dataclass(frozen=True, slots=True)
class NamespacePlan:
    """The strictest level admitting every pod, and what blocks the stricter levels."""

    #: Strictest level at :attr:`version` that admits every pod.
    level: Level
    version: tuple[int, int] | LatestVersion
    #: Number of pods evaluated.
    pod_count: int
    #: For each level stricter than :attr:`level`: the pods it rejects (in input order).
    blocking: Mapping[str, tuple[PodBlockers, ...]] = field(default_factory=dict)

    @property
    def labels(self) -> dict[str, str]:
        """Namespace labels enforcing the recommended level."""
        return {ENFORCE_LABEL: self.level, ENFORCE_VERSION_LABEL: format_version(self.version)}


def plan_namespace(pods: Iterable[tuple[Any, Any]], version: Any = "latest") -> NamespacePlan:
    """The strictest level (restricted > baseline > privileged) admitting every pod.

    ``pods`` yields ``(pod_meta, pod_spec)`` pairs (pod template metadata/spec work too).
    The plan is restricted when no pod violates restricted, else baseline when none
    violates baseline, else privileged.
    ``blocking`` holds, for every level stricter than the chosen one, each rejected pod's
    violations at that level. Pure: no I/O.
    """
    ver = parse_version(version)
    baseline_checks = checks_for(BASELINE, ver)
    restricted_checks = checks_for(RESTRICTED, ver)
    baseline_blockers: list[PodBlockers] = []
    restricted_blockers: list[PodBlockers] = []
    count = 0
    for index, pair in enumerate(pods):
        count += 1
        try:
            meta, spec = pair
        except (TypeError, ValueError):
            meta, spec = None, None
        r = evaluate_bound(restricted_checks, meta, spec)
        if r:
            restricted_blockers.append(PodBlockers(index, tuple(r)))
        # Not "only if restricted failed": restricted exempts Windows pods from checks
        # baseline still applies (seccomp, capabilities), so it is not a strict superset.
        b = evaluate_bound(baseline_checks, meta, spec)
        if b:
            baseline_blockers.append(PodBlockers(index, tuple(b)))
    blocking: dict[str, tuple[PodBlockers, ...]] = {}
    level: Level
    if not restricted_blockers:
        level = RESTRICTED
    elif not baseline_blockers:
        level = BASELINE
        blocking[RESTRICTED] = tuple(restricted_blockers)
    else:
        level = PRIVILEGED
        blocking[BASELINE] = tuple(baseline_blockers)
        blocking[RESTRICTED] = tuple(restricted_blockers)
    return NamespacePlan(level=level, version=ver, pod_count=count, blocking=blocking)

"""The check registry and evaluation.

Follows ``staging/src/k8s.io/pod-security-admission/policy/registry.go``:

* ``maxVersion`` is the newest ``MinimumVersion`` of any registered revision
  (:data:`MAX_VERSION`, v1.37 today). Evaluating ``latest`` or any version newer than it
  evaluates at it (``if r.maxVersion.Older(lv.Version) { lv.Version = r.maxVersion }``).
* For every version v1.0 .. maxVersion, each check contributes the newest revision whose
  ``MinimumVersion`` is not newer than that version (``inflateVersions``).
* Baseline evaluates the baseline checks. Restricted evaluates the restricted checks plus
  the baseline checks that no restricted revision at that version lists in
  ``OverrideCheckIDs`` (e.g. ``capabilities_restricted`` replaces ``capabilities_baseline``
  from v1.22 on).
* Checks run, and violations are reported, in ID order: baseline IDs sorted, then
  restricted IDs sorted.
* Privileged evaluates nothing.

Check lists are precomputed for every (level, version) at import time and the lookup of
the user's ``(level, version)`` arguments is cached, so the hot path is one dict lookup,
one :class:`~kubeward.pss._model.PodView` and one call per applicable check.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from kubeward.pss._levels import (
    BASELINE,
    PRIVILEGED,
    RESTRICTED,
    LatestVersion,
    parse_level,
    parse_version,
)
from kubeward.pss._model import BoundCheck, Check, PodView, Violation
from kubeward.pss.checks import CHECKS

__all__ = [
    "ALL_CHECKS",
    "CHECKS_BY_ID",
    "MAX_VERSION",
    "checks_for",
    "evaluate",
    "evaluate_bound",
    "resolve_version",
]

#: Every registered check, in evaluation order.
ALL_CHECKS: Final[tuple[Check, ...]] = CHECKS
#: Check ID -> check.
CHECKS_BY_ID: Final[Mapping[str, Check]] = MappingProxyType({c.id: c for c in CHECKS})


def _validate(checks: tuple[Check, ...]) -> None:
    """Upstream ``validateChecks``: unique IDs, valid levels, strictly increasing versions."""
    ids: dict[str, str] = {}
    for c in checks:
        if c.id in ids:
            raise ValueError(f"multiple checks registered for ID {c.id}")
        ids[c.id] = c.level
        if c.level not in (BASELINE, RESTRICTED):
            raise ValueError(f"check {c.id}: invalid level {c.level}")
        if not c.versions:
            raise ValueError(f"check {c.id}: empty")
        prev: tuple[int, int] | None = None
        for vc in c.versions:
            if prev is not None and not prev < vc.min_version:
                raise ValueError(f"check {c.id}: versions must be strictly increasing")
            prev = vc.min_version
    for c in checks:
        for vc in c.versions:
            if not vc.overrides:
                continue
            if c.level != RESTRICTED:
                raise ValueError(f"check {c.id}: only restricted checks may set overrides")
            for o in vc.overrides:
                if ids.get(o, BASELINE) != BASELINE:
                    raise ValueError(f"check {c.id}: overrides {ids[o]} check {o}")


_validate(ALL_CHECKS)

#: Newest policy version any check has a revision for; ``latest`` evaluates at it.
MAX_VERSION: Final[tuple[int, int]] = max(c.versions[-1].min_version for c in ALL_CHECKS)


def _revision_at(check: Check, version: tuple[int, int]) -> BoundCheck | None:
    found = None
    for vc in check.versions:
        if vc.min_version <= version:
            found = vc
        else:
            break
    return BoundCheck(check, found) if found is not None else None


def _build_table() -> dict[tuple[str, tuple[int, int]], tuple[BoundCheck, ...]]:
    table: dict[tuple[str, tuple[int, int]], tuple[BoundCheck, ...]] = {}
    for minor in range(MAX_VERSION[1] + 1):
        v = (MAX_VERSION[0], minor)
        baseline: list[BoundCheck] = []
        restricted: list[BoundCheck] = []
        overridden: set[str] = set()
        for c in ALL_CHECKS:
            bound = _revision_at(c, v)
            if bound is None:
                continue
            if c.level == BASELINE:
                baseline.append(bound)
            else:
                restricted.append(bound)
                overridden.update(bound.revision.overrides)
        table[(BASELINE, v)] = tuple(baseline)
        # ALL_CHECKS is already in evaluation order (baseline sorted, restricted sorted)
        table[(RESTRICTED, v)] = tuple(b for b in baseline if b.id not in overridden) + tuple(restricted)
    return table


_TABLE: Final = _build_table()
_EMPTY_CHECKS: Final[tuple[BoundCheck, ...]] = ()
_CACHE: dict[tuple[Any, Any], tuple[BoundCheck, ...]] = {}


def resolve_version(version: Any) -> tuple[int, int]:
    """The policy version evaluation really uses: ``latest`` and newer versions clamp to
    :data:`MAX_VERSION`."""
    v = parse_version(version)
    if isinstance(v, LatestVersion) or v > MAX_VERSION:
        return MAX_VERSION
    return v


def _lookup(level: Any, version: Any) -> tuple[BoundCheck, ...]:
    lvl = parse_level(level)
    if lvl == PRIVILEGED:
        return _EMPTY_CHECKS
    return _TABLE[(lvl, resolve_version(version))]


def checks_for(level: Any = RESTRICTED, version: Any = "latest") -> tuple[BoundCheck, ...]:
    """The checks that apply at ``level`` / ``version``, in evaluation order.

    Each item is a :class:`~kubeward.pss._model.BoundCheck`: the :class:`Check` plus the
    revision in force at that version (``.check``, ``.revision``, ``.id``, ``.level``,
    callable on a :class:`PodView`). ``privileged`` has none. Results are cached.
    Raises :class:`ValueError` on an invalid level or version.
    """
    try:
        return _CACHE[(level, version)]
    except KeyError:
        pass
    except TypeError:  # unhashable argument: no caching
        return _lookup(level, version)
    result = _lookup(level, version)
    if len(_CACHE) < 4096:
        _CACHE[(level, version)] = result
    return result


def evaluate_bound(checks: tuple[BoundCheck, ...], pod_meta: Any, pod_spec: Any) -> list[Violation]:
    """Run already-resolved checks (see :func:`checks_for`) against one pod."""
    if not checks:
        return []
    pod = PodView(pod_meta, pod_spec)
    out: list[Violation] = []
    for bound in checks:
        result = bound.revision.check_pod(pod)
        if result is not None:
            check = bound.check
            out.append(Violation(check.id, check.level, result[0], result[1]))
    return out


def evaluate(
    pod_meta: Any,
    pod_spec: Any,
    level: Any = RESTRICTED,
    version: Any = "latest",
) -> list[Violation]:
    """Evaluate a pod (or pod template) against a Pod Security level and version.

    ``pod_meta`` is the pod's metadata mapping (annotations matter), ``pod_spec`` its
    ``PodSpec`` mapping, both as loaded by PyYAML; malformed input never raises (see
    :mod:`kubeward.pss._util` for how wrong types are decoded). ``level`` is
    ``privileged`` / ``baseline`` / ``restricted``; ``version`` is ``latest``, ``v1.N`` or a
    parsed version. Returns the violations in upstream's order, ``[]`` when the pod is
    allowed. Raises :class:`ValueError` only for an invalid level or version.
    """
    try:
        checks = _CACHE[(level, version)]
    except (KeyError, TypeError):
        checks = checks_for(level, version)
    if not checks:
        return []
    pod = PodView(pod_meta, pod_spec)
    out: list[Violation] = []
    for bound in checks:
        result = bound.revision.check_pod(pod)
        if result is not None:
            check = bound.check
            out.append(Violation(check.id, check.level, result[0], result[1]))
    return out

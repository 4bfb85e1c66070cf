"""Capabilities (restricted, v1.22+).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_capabilities_restricted.go``:
every container must drop ``ALL`` and may only add ``NET_BIND_SERVICE``. Overrides
``capabilities_baseline``.

* v1.22 (``capabilitiesRestricted_1_22``)
* v1.25 (``capabilitiesRestricted_1_25``): pods with ``spec.os.name: windows`` are exempt.
"""

from __future__ import annotations

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import join_quote, pluralize
from kubeward.pss.checks.allow_privilege_escalation import is_windows

__all__ = ["CHECK", "capabilities_restricted_1_22", "capabilities_restricted_1_25"]


def capabilities_restricted_1_22(pod: PodView) -> Result:
    missing_drop_all: list[str] | None = None
    adding_forbidden: list[str] | None = None
    forbidden_caps: set[str] = set()
    for name, _c, sc in pod.containers:
        caps = sc.get("capabilities") if sc is not None else None
        if not isinstance(caps, dict):
            if missing_drop_all is None:
                missing_drop_all = []
            missing_drop_all.append(name)
            continue
        drop = caps.get("drop")
        if not (isinstance(drop, list) and "ALL" in drop):
            if missing_drop_all is None:
                missing_drop_all = []
            missing_drop_all.append(name)
        add = caps.get("add")
        if add and isinstance(add, list):
            added_forbidden = False
            for cap in add:
                if cap is None:
                    cap = ""
                elif not isinstance(cap, str):
                    continue
                if cap != "NET_BIND_SERVICE":
                    added_forbidden = True
                    forbidden_caps.add(cap)
            if added_forbidden:
                if adding_forbidden is None:
                    adding_forbidden = []
                adding_forbidden.append(name)

    if missing_drop_all is None and adding_forbidden is None:
        return None
    details: list[str] = []
    if missing_drop_all is not None:
        details.append(
            f"{pluralize('container', 'containers', len(missing_drop_all))} "
            f'{join_quote(missing_drop_all)} must set securityContext.capabilities.drop=["ALL"]'
        )
    if adding_forbidden is not None:
        details.append(
            f"{pluralize('container', 'containers', len(adding_forbidden))} "
            f"{join_quote(adding_forbidden)} must not include "
            f"{join_quote(sorted(forbidden_caps))} in securityContext.capabilities.add"
        )
    return ("unrestricted capabilities", "; ".join(details))


def capabilities_restricted_1_25(pod: PodView) -> Result:
    if is_windows(pod):
        return None
    return capabilities_restricted_1_22(pod)


_OVERRIDES = ("capabilities_baseline",)

CHECK = Check(
    id="capabilities_restricted",
    level="restricted",
    title="Capabilities",
    description=(
        "Containers must drop ALL capabilities, and are only permitted to add back the "
        "NET_BIND_SERVICE capability. Linux-only policy in v1.25+."
    ),
    rule_slug="capabilities",
    versions=(
        VersionedCheck(
            (1, 22),
            "capabilitiesRestricted_1_22",
            capabilities_restricted_1_22,
            overrides=_OVERRIDES,
        ),
        VersionedCheck(
            (1, 25),
            "capabilitiesRestricted_1_25",
            capabilities_restricted_1_25,
            overrides=_OVERRIDES,
        ),
    ),
    upstream_file="policy/check_capabilities_restricted.go",
    fields=(
        "spec.containers[*].securityContext.capabilities.drop",
        "spec.initContainers[*].securityContext.capabilities.drop",
        "spec.ephemeralContainers[*].securityContext.capabilities.drop",
        "spec.containers[*].securityContext.capabilities.add",
        "spec.initContainers[*].securityContext.capabilities.add",
        "spec.ephemeralContainers[*].securityContext.capabilities.add",
    ),
)

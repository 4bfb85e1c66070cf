"""Seccomp (restricted, v1.19+).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_seccompProfile_restricted.go``:
``securityContext.seccompProfile.type`` must be ``RuntimeDefault`` or ``Localhost``, set at
pod level or on every container (a container may leave it undefined only when the pod sets
a valid profile). Overrides ``seccompProfile_baseline``.

* v1.19 (``seccompProfileRestricted_1_19``)
* v1.25 (``seccompProfileRestricted_1_25``): pods with ``spec.os.name: windows`` are exempt.
"""

from __future__ import annotations

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import join_quote, pluralize, str_or_empty
from kubeward.pss.checks.allow_privilege_escalation import is_windows
from kubeward.pss.checks.seccomp_profile_baseline import valid_seccomp_type

__all__ = ["CHECK", "seccomp_profile_restricted_1_19", "seccomp_profile_restricted_1_25"]


def seccomp_profile_restricted_1_19(pod: PodView) -> Result:
    bad_setters: list[str] | None = None
    bad_values: set[str] = set()
    pod_set = False
    psc = pod.psc
    if psc is not None:
        prof = psc.get("seccompProfile")
        if isinstance(prof, dict):
            t = str_or_empty(prof.get("type"))
            if valid_seccomp_type(t):
                pod_set = True
            else:
                bad_setters = ["pod"]
                bad_values.add(t)

    explicit: list[str] | None = None
    implicit: list[str] | None = None
    for name, _c, sc in pod.containers:
        prof = sc.get("seccompProfile") if sc is not None else None
        if isinstance(prof, dict):
            t = str_or_empty(prof.get("type"))
            if not valid_seccomp_type(t):
                if explicit is None:
                    explicit = []
                explicit.append(name)
                bad_values.add(t)
        elif not pod_set:
            if implicit is None:
                implicit = []
            implicit.append(name)

    if explicit is not None:
        if bad_setters is None:
            bad_setters = []
        bad_setters.append(f"{pluralize('container', 'containers', len(explicit))} {join_quote(explicit)}")
    if bad_setters is not None:
        return (
            "seccompProfile",
            f"{' and '.join(bad_setters)} must not set securityContext.seccompProfile.type to "
            f"{join_quote(sorted(bad_values))}",
        )
    if implicit is not None:
        return (
            "seccompProfile",
            f"pod or {pluralize('container', 'containers', len(implicit))} "
            f"{join_quote(implicit)} must set securityContext.seccompProfile.type to "
            '"RuntimeDefault" or "Localhost"',
        )
    return None


def seccomp_profile_restricted_1_25(pod: PodView) -> Result:
    if is_windows(pod):
        return None
    return seccomp_profile_restricted_1_19(pod)


_OVERRIDES = ("seccompProfile_baseline",)

CHECK = Check(
    id="seccompProfile_restricted",
    level="restricted",
    title="Seccomp",
    description=(
        "Seccomp profile must be explicitly set to one of the allowed values "
        "(RuntimeDefault, Localhost). Linux-only policy in v1.25+."
    ),
    rule_slug="seccomp",
    versions=(
        VersionedCheck(
            (1, 19),
            "seccompProfileRestricted_1_19",
            seccomp_profile_restricted_1_19,
            overrides=_OVERRIDES,
        ),
        VersionedCheck(
            (1, 25),
            "seccompProfileRestricted_1_25",
            seccomp_profile_restricted_1_25,
            overrides=_OVERRIDES,
        ),
    ),
    upstream_file="policy/check_seccompProfile_restricted.go",
    fields=(
        "spec.securityContext.seccompProfile.type",
        "spec.containers[*].securityContext.seccompProfile.type",
        "spec.initContainers[*].securityContext.seccompProfile.type",
        "spec.ephemeralContainers[*].securityContext.seccompProfile.type",
    ),
)

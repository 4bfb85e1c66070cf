"""Seccomp (baseline).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_seccompProfile_baseline.go``:

* v1.0 - v1.18 (``seccompProfileBaseline_1_0``): the alpha annotations
  ``seccomp.security.alpha.kubernetes.io/pod`` and
  ``container.seccomp.security.alpha.kubernetes.io/<container name>`` must be
  ``runtime/default``, ``docker/default`` or ``localhost/*`` when present (an empty value
  is forbidden). The fields are not looked at.
* v1.19+ (``seccompProfileBaseline_1_19``): ``securityContext.seccompProfile.type`` at pod
  and container level must be ``RuntimeDefault`` or ``Localhost`` when the profile is set.
  The annotations are not looked at.

Restricted replaces this check with ``seccompProfile_restricted`` from v1.19 on.
"""

from __future__ import annotations

from typing import Final

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import go_quote, join_quote, pluralize, str_or_empty

__all__ = [
    "ANNOTATION_KEY_CONTAINER_PREFIX",
    "ANNOTATION_KEY_POD",
    "CHECK",
    "seccomp_profile_baseline_1_0",
    "seccomp_profile_baseline_1_19",
    "valid_seccomp_type",
]

ANNOTATION_KEY_POD: Final = "seccomp.security.alpha.kubernetes.io/pod"
ANNOTATION_KEY_CONTAINER_PREFIX: Final = "container.seccomp.security.alpha.kubernetes.io/"
_VALID_TYPES: Final = frozenset({"Localhost", "RuntimeDefault"})


def valid_seccomp_type(profile_type: str) -> bool:
    """Upstream ``validSeccomp``."""
    return profile_type in _VALID_TYPES


def _valid_annotation_value(value: str) -> bool:
    return value == "runtime/default" or value == "docker/default" or value.startswith("localhost/")


def seccomp_profile_baseline_1_0(pod: PodView) -> Result:
    annotations = pod.annotations
    if annotations is None:
        return None
    forbidden: set[str] = set()

    def check(key: str) -> None:
        if key not in annotations:
            return
        val = annotations[key]
        if val is None:
            val = ""
        elif not isinstance(val, str):
            return
        if not _valid_annotation_value(val):
            forbidden.add(f"{key}={go_quote(val)}")

    check(ANNOTATION_KEY_POD)
    for name, _c, _sc in pod.containers:
        check(ANNOTATION_KEY_CONTAINER_PREFIX + name)
    if not forbidden:
        return None
    return (
        "seccompProfile",
        f"forbidden {pluralize('annotation', 'annotations', len(forbidden))} {', '.join(sorted(forbidden))}",
    )


def seccomp_profile_baseline_1_19(pod: PodView) -> Result:
    bad_setters: list[str] | None = None
    bad_values: set[str] = set()
    psc = pod.psc
    if psc is not None:
        prof = psc.get("seccompProfile")
        if isinstance(prof, dict):
            t = str_or_empty(prof.get("type"))
            if t not in _VALID_TYPES:
                bad_setters = ["pod"]
                bad_values.add(t)
    bad_containers: list[str] | None = None
    for name, _c, sc in pod.containers:
        if sc is None:
            continue
        prof = sc.get("seccompProfile")
        if isinstance(prof, dict):
            t = str_or_empty(prof.get("type"))
            if t not in _VALID_TYPES:
                if bad_containers is None:
                    bad_containers = []
                bad_containers.append(name)
                bad_values.add(t)
    if bad_containers is not None:
        if bad_setters is None:
            bad_setters = []
        bad_setters.append(
            f"{pluralize('container', 'containers', len(bad_containers))} {join_quote(bad_containers)}"
        )
    if bad_setters is None:
        return None
    return (
        "seccompProfile",
        f"{' and '.join(bad_setters)} must not set securityContext.seccompProfile.type to "
        f"{join_quote(sorted(bad_values))}",
    )


CHECK = Check(
    id="seccompProfile_baseline",
    level="baseline",
    title="Seccomp",
    description=(
        "If seccomp profiles are specified, only runtime default and localhost profiles are allowed."
    ),
    rule_slug="seccomp",
    versions=(
        VersionedCheck((1, 0), "seccompProfileBaseline_1_0", seccomp_profile_baseline_1_0),
        VersionedCheck((1, 19), "seccompProfileBaseline_1_19", seccomp_profile_baseline_1_19),
    ),
    upstream_file="policy/check_seccompProfile_baseline.go",
    fields=(
        "metadata.annotations['seccomp.security.alpha.kubernetes.io/pod'] (v1.0-v1.18)",
        "metadata.annotations['container.seccomp.security.alpha.kubernetes.io/*'] (v1.0-v1.18)",
        "spec.securityContext.seccompProfile.type (v1.19+)",
        "spec.containers[*].securityContext.seccompProfile.type (v1.19+)",
        "spec.initContainers[*].securityContext.seccompProfile.type (v1.19+)",
        "spec.ephemeralContainers[*].securityContext.seccompProfile.type (v1.19+)",
    ),
)

"""AppArmor (baseline).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_appArmorProfile.go``.
Two channels are checked, at every policy version (upstream registers a single revision at
v1.0 and amended it in place when the AppArmor fields were added in Kubernetes 1.30):

* the fields ``spec.securityContext.appArmorProfile.type`` and
  ``<container>.securityContext.appArmorProfile.type`` must be ``RuntimeDefault`` or
  ``Localhost`` when set;
* the annotations ``container.apparmor.security.beta.kubernetes.io/*`` must be empty,
  ``runtime/default`` or ``localhost/*``.
"""

from __future__ import annotations

from typing import Any, Final

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import go_quote, join_quote, pluralize, str_or_empty

__all__ = ["ANNOTATION_PREFIX", "CHECK", "app_armor_profile_1_0"]

ANNOTATION_PREFIX: Final = "container.apparmor.security.beta.kubernetes.io/"
_ALLOWED_TYPES: Final = frozenset({"RuntimeDefault", "Localhost"})


def _allowed_annotation_value(value: str) -> bool:
    return value == "" or value == "runtime/default" or value.startswith("localhost/")


def _profile_type(sc: dict[str, Any] | None) -> str | None:
    """The appArmorProfile.type when the profile is set, else ``None``."""
    if sc is None:
        return None
    profile = sc.get("appArmorProfile")
    if not isinstance(profile, dict):
        return None
    return str_or_empty(profile.get("type"))


def app_armor_profile_1_0(pod: PodView) -> Result:
    bad_setters: list[str] = []
    bad_values: set[str] = set()

    t = _profile_type(pod.psc)
    if t is not None and t not in _ALLOWED_TYPES:
        bad_setters.append("pod")
        bad_values.add(t)

    bad_containers: list[str] = []
    for name, _c, sc in pod.containers:
        if sc is None:
            continue
        t = _profile_type(sc)
        if t is not None and t not in _ALLOWED_TYPES:
            bad_containers.append(name)
            bad_values.add(t)
    if bad_containers:
        bad_setters.append(
            f"{pluralize('container', 'containers', len(bad_containers))} {join_quote(bad_containers)}"
        )

    forbidden_annotations: list[str] = []
    annotations = pod.annotations
    if annotations is not None:
        for k, v in annotations.items():
            if not isinstance(k, str) or not k.startswith(ANNOTATION_PREFIX):
                continue
            if v is None:
                v = ""
            elif not isinstance(v, str):
                continue
            if not _allowed_annotation_value(v):
                forbidden_annotations.append(f"{k}={go_quote(v)}")

    if not bad_setters and not forbidden_annotations:
        return None
    bad_value_list = sorted(bad_values)
    if forbidden_annotations:
        forbidden_annotations.sort()
        bad_value_list.extend(forbidden_annotations)
        bad_setters.append(pluralize("annotation", "annotations", len(forbidden_annotations)))
    return (
        pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(bad_value_list)),
        f"{' and '.join(bad_setters)} must not set AppArmor profile type to {join_quote(bad_value_list)}",
    )


CHECK = Check(
    id="appArmorProfile",
    level="baseline",
    title="AppArmor",
    description=(
        "On supported hosts, the RuntimeDefault AppArmor profile is applied by default. "
        "The baseline policy should prevent overriding or disabling the default AppArmor "
        "profile, or restrict overrides to an allowed set of profiles."
    ),
    rule_slug="apparmor",
    versions=(VersionedCheck((1, 0), "appArmorProfile_1_0", app_armor_profile_1_0),),
    upstream_file="policy/check_appArmorProfile.go",
    fields=(
        "metadata.annotations['container.apparmor.security.beta.kubernetes.io/*']",
        "spec.securityContext.appArmorProfile.type",
        "spec.containers[*].securityContext.appArmorProfile.type",
        "spec.initContainers[*].securityContext.appArmorProfile.type",
        "spec.ephemeralContainers[*].securityContext.appArmorProfile.type",
    ),
)

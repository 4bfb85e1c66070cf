"""SELinux (baseline).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_seLinuxOptions.go``:
setting the SELinux type is restricted to an allowed set, and setting a custom SELinux
user or role is forbidden, at pod level and on every container.

Revisions: v1.0 (``container_t``, ``container_init_t``, ``container_kvm_t``) and v1.31
(adds ``container_engine_t``). The detail lists the user/role findings even when no type
is bad (upstream fixed an older message that dropped them).
"""

from __future__ import annotations

from typing import Any, Final

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import join_quote, pluralize, str_or_empty

__all__ = [
    "CHECK",
    "SELINUX_ALLOWED_TYPES_1_0",
    "SELINUX_ALLOWED_TYPES_1_31",
    "selinux_options_1_0",
    "selinux_options_1_31",
]

SELINUX_ALLOWED_TYPES_1_0: Final = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
SELINUX_ALLOWED_TYPES_1_31: Final = SELINUX_ALLOWED_TYPES_1_0 | {"container_engine_t"}


def _selinux_options(pod: PodView, allowed: frozenset[str]) -> Result:
    bad_setters: list[str] | None = None
    bad_types: set[str] = set()
    flags = [False, False]  # user set, role set

    def valid(opts: dict[str, Any]) -> bool:
        ok = True
        t = str_or_empty(opts.get("type"))
        if t not in allowed:
            ok = False
            bad_types.add(t)
        if str_or_empty(opts.get("user")):
            ok = False
            flags[0] = True
        if str_or_empty(opts.get("role")):
            ok = False
            flags[1] = True
        return ok

    psc = pod.psc
    if psc is not None:
        opts = psc.get("seLinuxOptions")
        if isinstance(opts, dict) and not valid(opts):
            bad_setters = ["pod"]

    bad_containers: list[str] | None = None
    for name, _c, sc in pod.containers:
        if sc is None:
            continue
        opts = sc.get("seLinuxOptions")
        if isinstance(opts, dict) and not valid(opts):
            if bad_containers is None:
                bad_containers = []
            bad_containers.append(name)
    if bad_containers is not None:
        if bad_setters is None:
            bad_setters = []
        bad_setters.append(
            f"{pluralize('container', 'containers', len(bad_containers))} {join_quote(bad_containers)}"
        )
    if bad_setters is None:
        return None

    bad_data: list[str] = []
    if bad_types:
        bad_data.append(f"{pluralize('type', 'types', len(bad_types))} {join_quote(sorted(bad_types))}")
    if flags[0]:
        bad_data.append("user may not be set")
    if flags[1]:
        bad_data.append("role may not be set")
    return (
        "seLinuxOptions",
        f"{' and '.join(bad_setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(bad_data)}",
    )


def selinux_options_1_0(pod: PodView) -> Result:
    return _selinux_options(pod, SELINUX_ALLOWED_TYPES_1_0)


def selinux_options_1_31(pod: PodView) -> Result:
    return _selinux_options(pod, SELINUX_ALLOWED_TYPES_1_31)


CHECK = Check(
    id="seLinuxOptions",
    level="baseline",
    title="SELinux",
    description=(
        "Setting the SELinux type is restricted, and setting a custom SELinux user or role "
        "option is forbidden."
    ),
    rule_slug="selinux",
    versions=(
        VersionedCheck((1, 0), "seLinuxOptions1_0", selinux_options_1_0),
        VersionedCheck((1, 31), "seLinuxOptions1_31", selinux_options_1_31),
    ),
    upstream_file="policy/check_seLinuxOptions.go",
    fields=(
        "spec.securityContext.seLinuxOptions.type",
        "spec.containers[*].securityContext.seLinuxOptions.type",
        "spec.initContainers[*].securityContext.seLinuxOptions.type",
        "spec.ephemeralContainers[*].securityContext.seLinuxOptions.type",
        "spec.securityContext.seLinuxOptions.user",
        "spec.containers[*].securityContext.seLinuxOptions.user",
        "spec.initContainers[*].securityContext.seLinuxOptions.user",
        "spec.ephemeralContainers[*].securityContext.seLinuxOptions.user",
        "spec.securityContext.seLinuxOptions.role",
        "spec.containers[*].securityContext.seLinuxOptions.role",
        "spec.initContainers[*].securityContext.seLinuxOptions.role",
        "spec.ephemeralContainers[*].securityContext.seLinuxOptions.role",
    ),
)

"""Sysctls (baseline).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_sysctls.go``:
``spec.securityContext.sysctls[*].name`` must be in the "safe" set, which grows by version
(each set contains the previous one):

* v1.0: ``kernel.shm_rmid_forced``, ``net.ipv4.ip_local_port_range``,
  ``net.ipv4.tcp_syncookies``, ``net.ipv4.ping_group_range``,
  ``net.ipv4.ip_unprivileged_port_start``
* v1.27: + ``net.ipv4.ip_local_reserved_ports``
* v1.29: + ``net.ipv4.tcp_keepalive_time``, ``net.ipv4.tcp_fin_timeout``,
  ``net.ipv4.tcp_keepalive_intvl``, ``net.ipv4.tcp_keepalive_probes``
* v1.32: + ``net.ipv4.tcp_rmem``, ``net.ipv4.tcp_wmem``
* v1.37: + ``net.ipv4.tcp_slow_start_after_idle``, ``net.ipv4.tcp_notsent_lowat``

The detail lists forbidden names in spec order, duplicates included, like upstream.
"""

from __future__ import annotations

from typing import Final

from kubeward.pss._model import Check, PodView, Result, VersionedCheck

__all__ = [
    "CHECK",
    "SYSCTLS_ALLOWED_1_0",
    "SYSCTLS_ALLOWED_1_27",
    "SYSCTLS_ALLOWED_1_29",
    "SYSCTLS_ALLOWED_1_32",
    "SYSCTLS_ALLOWED_1_37",
]

SYSCTLS_ALLOWED_1_0: Final = frozenset(
    {
        "kernel.shm_rmid_forced",
        "net.ipv4.ip_local_port_range",
        "net.ipv4.tcp_syncookies",
        "net.ipv4.ping_group_range",
        "net.ipv4.ip_unprivileged_port_start",
    }
)
SYSCTLS_ALLOWED_1_27: Final = SYSCTLS_ALLOWED_1_0 | {"net.ipv4.ip_local_reserved_ports"}
SYSCTLS_ALLOWED_1_29: Final = SYSCTLS_ALLOWED_1_27 | {
    "net.ipv4.tcp_keepalive_time",
    "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes",
}
SYSCTLS_ALLOWED_1_32: Final = SYSCTLS_ALLOWED_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
SYSCTLS_ALLOWED_1_37: Final = SYSCTLS_ALLOWED_1_32 | {
    "net.ipv4.tcp_slow_start_after_idle",
    "net.ipv4.tcp_notsent_lowat",
}


def _sysctls(pod: PodView, allowed: frozenset[str]) -> Result:
    psc = pod.psc
    if psc is None:
        return None
    items = psc.get("sysctls")
    if not items or not isinstance(items, list):
        return None
    forbidden: list[str] | None = None
    for item in items:
        if isinstance(item, dict):
            name = item.get("name")
            if not isinstance(name, str):
                name = ""
        elif item is None:
            name = ""
        else:
            continue
        if name not in allowed:
            if forbidden is None:
                forbidden = []
            forbidden.append(name)
    if forbidden is None:
        return None
    return ("forbidden sysctls", ", ".join(forbidden))


def sysctls_1_0(pod: PodView) -> Result:
    return _sysctls(pod, SYSCTLS_ALLOWED_1_0)


def sysctls_1_27(pod: PodView) -> Result:
    return _sysctls(pod, SYSCTLS_ALLOWED_1_27)


def sysctls_1_29(pod: PodView) -> Result:
    return _sysctls(pod, SYSCTLS_ALLOWED_1_29)


def sysctls_1_32(pod: PodView) -> Result:
    return _sysctls(pod, SYSCTLS_ALLOWED_1_32)


def sysctls_1_37(pod: PodView) -> Result:
    return _sysctls(pod, SYSCTLS_ALLOWED_1_37)


CHECK = Check(
    id="sysctls",
    level="baseline",
    title="Sysctls",
    description=(
        "Sysctls can disable security mechanisms or affect all containers on a host, and "
        'should be disallowed except for an allowed "safe" subset.'
    ),
    rule_slug="sysctls",
    versions=(
        VersionedCheck((1, 0), "sysctlsV1Dot0", sysctls_1_0),
        VersionedCheck((1, 27), "sysctlsV1Dot27", sysctls_1_27),
        VersionedCheck((1, 29), "sysctlsV1Dot29", sysctls_1_29),
        VersionedCheck((1, 32), "sysctlsV1Dot32", sysctls_1_32),
        VersionedCheck((1, 37), "sysctlsV1Dot37", sysctls_1_37),
    ),
    upstream_file="policy/check_sysctls.go",
    fields=("spec.securityContext.sysctls[*].name",),
)

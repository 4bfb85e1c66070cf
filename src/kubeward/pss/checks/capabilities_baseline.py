"""Capabilities (baseline).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_capabilities_baseline.go``:
adding capabilities beyond the default set (notably ``NET_RAW``) must be disallowed.
Restricted replaces this check with ``capabilities_restricted`` from v1.22 on.
"""

from __future__ import annotations

from typing import Final

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import join_quote, pluralize

__all__ = ["CAPABILITIES_ALLOWED_1_0", "CHECK", "capabilities_baseline_1_0"]

CAPABILITIES_ALLOWED_1_0: Final = frozenset(
    {
        "AUDIT_WRITE",
        "CHOWN",
        "DAC_OVERRIDE",
        "FOWNER",
        "FSETID",
        "KILL",
        "MKNOD",
        "NET_BIND_SERVICE",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYS_CHROOT",
    }
)


def capabilities_baseline_1_0(pod: PodView) -> Result:
    bad: list[str] | None = None
    non_default: set[str] = set()
    allowed = CAPABILITIES_ALLOWED_1_0
    for name, _c, sc in pod.containers:
        if sc is None:
            continue
        caps = sc.get("capabilities")
        if not isinstance(caps, dict):
            continue
        add = caps.get("add")
        if not isinstance(add, list):
            continue
        valid = True
        for cap in add:
            if cap is None:
                cap = ""
            elif not isinstance(cap, str):
                continue
            if cap not in allowed:
                valid = False
                non_default.add(cap)
        if not valid:
            if bad is None:
                bad = []
            bad.append(name)
    if bad is None:
        return None
    return (
        "non-default capabilities",
        f"{pluralize('container', 'containers', len(bad))} {join_quote(bad)} must not include "
        f"{join_quote(sorted(non_default))} in securityContext.capabilities.add",
    )


CHECK = Check(
    id="capabilities_baseline",
    level="baseline",
    title="Capabilities",
    description=(
        "Adding capabilities beyond the default set must be disallowed "
        "(NET_RAW and anything not in the default set)."
    ),
    rule_slug="capabilities",
    versions=(VersionedCheck((1, 0), "capabilitiesBaseline_1_0", capabilities_baseline_1_0),),
    upstream_file="policy/check_capabilities_baseline.go",
    fields=(
        "spec.containers[*].securityContext.capabilities.add",
        "spec.initContainers[*].securityContext.capabilities.add",
        "spec.ephemeralContainers[*].securityContext.capabilities.add",
    ),
)

"""Host ports (baseline).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_hostPorts.go``:
``ports[*].hostPort`` of every container must be undefined or ``0``. Host ports are listed
as a sorted *string* set, like upstream (so ``"10"`` sorts before ``"9"``).
"""

from __future__ import annotations

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import INT32_MAX, INT32_MIN, as_int, join_quote, pluralize

__all__ = ["CHECK", "host_ports_1_0"]


def host_ports_1_0(pod: PodView) -> Result:
    bad: list[str] | None = None
    ports_seen: set[str] = set()
    for name, c, _sc in pod.containers:
        ports = c.get("ports")
        if not ports or not isinstance(ports, list):
            continue
        valid = True
        for p in ports:
            if not isinstance(p, dict):
                continue
            hp = p.get("hostPort")
            if hp is None:
                continue
            port = as_int(hp, INT32_MIN, INT32_MAX)
            if port:  # not None, not 0
                valid = False
                ports_seen.add(str(port))
        if not valid:
            if bad is None:
                bad = []
            bad.append(name)
    if bad is None:
        return None
    return (
        "hostPort",
        f"{pluralize('container', 'containers', len(bad))} {join_quote(bad)} "
        f"{pluralize('uses', 'use', len(bad))} "
        f"{pluralize('hostPort', 'hostPorts', len(ports_seen))} {', '.join(sorted(ports_seen))}",
    )


CHECK = Check(
    id="hostPorts",
    level="baseline",
    title="Host Ports",
    description="HostPorts should be disallowed entirely.",
    rule_slug="host-ports",
    versions=(VersionedCheck((1, 0), "hostPorts_1_0", host_ports_1_0),),
    upstream_file="policy/check_hostPorts.go",
    fields=(
        "spec.containers[*].ports[*].hostPort",
        "spec.initContainers[*].ports[*].hostPort",
        "spec.ephemeralContainers[*].ports[*].hostPort",
    ),
)

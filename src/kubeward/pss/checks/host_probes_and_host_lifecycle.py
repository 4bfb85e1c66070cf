"""Host probes and lifecycle hooks (baseline, v1.34+).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_hostProbesAndhostLifecycle.go``
(check ID ``hostProbesAndHostLifecycle``): the ``host`` of ``httpGet`` / ``tcpSocket``
handlers in ``livenessProbe``, ``readinessProbe``, ``startupProbe`` and
``lifecycle.postStart`` / ``lifecycle.preStop`` of every container must be empty. Any
non-empty host is forbidden, ``127.0.0.1`` and ``::1`` included.

Container names and hosts are reported as sorted sets, like upstream.
"""

from __future__ import annotations

from typing import Any, Final

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import join_quote, pluralize

__all__ = ["CHECK", "host_probes_and_host_lifecycle_1_34"]

_PROBES: Final = ("livenessProbe", "readinessProbe", "startupProbe")
_HOOKS: Final = ("postStart", "preStop")


def _handler_hosts(handler: Any, out: set[str]) -> bool:
    """Add the non-empty httpGet/tcpSocket hosts of a probe or lifecycle handler."""
    if not isinstance(handler, dict):
        return False
    found = False
    for key in ("httpGet", "tcpSocket"):
        action = handler.get(key)
        if isinstance(action, dict):
            host = action.get("host")
            if host and isinstance(host, str):
                out.add(host)
                found = True
    return found


def host_probes_and_host_lifecycle_1_34(pod: PodView) -> Result:
    bad: set[str] | None = None
    hosts: set[str] = set()
    for name, c, _sc in pod.containers:
        found = False
        for key in _PROBES:
            probe = c.get(key)
            if probe is not None and _handler_hosts(probe, hosts):
                found = True
        lifecycle = c.get("lifecycle")
        if isinstance(lifecycle, dict):
            for key in _HOOKS:
                hook = lifecycle.get(key)
                if hook is not None and _handler_hosts(hook, hosts):
                    found = True
        if found:
            if bad is None:
                bad = set()
            bad.add(name)
    if bad is None:
        return None
    return (
        "probe or lifecycle host",
        f"{pluralize('container', 'containers', len(bad))} {join_quote(sorted(bad))} "
        f"{pluralize('uses', 'use', len(bad))} "
        f"{pluralize('probe or lifecycle host', 'probe or lifecycle hosts', len(hosts))} "
        f"{join_quote(sorted(hosts))}",
    )


CHECK = Check(
    id="hostProbesAndHostLifecycle",
    level="baseline",
    title="Host Probes / Lifecycle Hooks",
    description=(
        "The host field in probes and lifecycle handlers must not be set: it lets the "
        "kubelet connect to arbitrary hosts on the pod's behalf."
    ),
    rule_slug="host-probes",
    versions=(
        VersionedCheck((1, 34), "hostProbesAndHostLifecycleV1Dot34", host_probes_and_host_lifecycle_1_34),
    ),
    upstream_file="policy/check_hostProbesAndhostLifecycle.go",
    fields=(
        "spec.containers[*].livenessProbe.httpGet.host",
        "spec.containers[*].readinessProbe.httpGet.host",
        "spec.containers[*].startupProbe.httpGet.host",
        "spec.containers[*].livenessProbe.tcpSocket.host",
        "spec.containers[*].readinessProbe.tcpSocket.host",
        "spec.containers[*].startupProbe.tcpSocket.host",
        "spec.containers[*].lifecycle.postStart.httpGet.host",
        "spec.containers[*].lifecycle.preStop.httpGet.host",
        "spec.containers[*].lifecycle.postStart.tcpSocket.host",
        "spec.containers[*].lifecycle.preStop.tcpSocket.host",
        "(and the same fields of initContainers[*] and ephemeralContainers[*])",
    ),
)

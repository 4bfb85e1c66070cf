"""Host namespaces (baseline).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_hostNamespaces.go``:
sharing the host namespaces must be disallowed. ``spec.hostNetwork``, ``spec.hostPID`` and
``spec.hostIPC`` must be undefined or ``false``.
"""

from __future__ import annotations

from kubeward.pss._model import Check, PodView, Result, VersionedCheck

__all__ = ["CHECK", "host_namespaces_1_0"]


def host_namespaces_1_0(pod: PodView) -> Result:
    spec = pod.spec
    net = spec.get("hostNetwork") is True
    pid = spec.get("hostPID") is True
    ipc = spec.get("hostIPC") is True
    if not (net or pid or ipc):
        return None
    names = []
    if net:
        names.append("hostNetwork=true")
    if pid:
        names.append("hostPID=true")
    if ipc:
        names.append("hostIPC=true")
    return ("host namespaces", ", ".join(names))


CHECK = Check(
    id="hostNamespaces",
    level="baseline",
    title="Host Namespaces",
    description="Sharing the host namespaces must be disallowed.",
    rule_slug="host-namespaces",
    versions=(VersionedCheck((1, 0), "hostNamespaces_1_0", host_namespaces_1_0),),
    upstream_file="policy/check_hostNamespaces.go",
    fields=("spec.hostNetwork", "spec.hostPID", "spec.hostIPC"),
)

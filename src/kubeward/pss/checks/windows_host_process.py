"""HostProcess (baseline).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_windowsHostProcess.go``:
Windows HostProcess containers enable privileged access to the host and must be forbidden.
``securityContext.windowsOptions.hostProcess`` at pod level and on every container must be
undefined or ``false``.
"""

from __future__ import annotations

from typing import Any

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import join_quote, pluralize

__all__ = ["CHECK", "windows_host_process_1_0"]


def _host_process(sc: dict[str, Any]) -> bool:
    opts = sc.get("windowsOptions")
    return isinstance(opts, dict) and opts.get("hostProcess") is True


def windows_host_process_1_0(pod: PodView) -> Result:
    bad: list[str] | None = None
    for name, _c, sc in pod.containers:
        if sc is not None and _host_process(sc):
            if bad is None:
                bad = []
            bad.append(name)
    psc = pod.psc
    pod_forbidden = psc is not None and _host_process(psc)
    if bad is None and not pod_forbidden:
        return None
    setters = ["pod"] if pod_forbidden else []
    if bad is not None:
        setters.append(f"{pluralize('container', 'containers', len(bad))} {join_quote(bad)}")
    return (
        "hostProcess",
        f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true",
    )


CHECK = Check(
    id="windowsHostProcess",
    level="baseline",
    title="HostProcess",
    description=(
        "Windows pods offer the ability to run HostProcess containers which enables "
        "privileged access to the Windows node. Privileged access to the host is disallowed."
    ),
    rule_slug="windows-host-process",
    versions=(VersionedCheck((1, 0), "windowsHostProcess_1_0", windows_host_process_1_0),),
    upstream_file="policy/check_windowsHostProcess.go",
    fields=(
        "spec.securityContext.windowsOptions.hostProcess",
        "spec.containers[*].securityContext.windowsOptions.hostProcess",
        "spec.initContainers[*].securityContext.windowsOptions.hostProcess",
        "spec.ephemeralContainers[*].securityContext.windowsOptions.hostProcess",
    ),
)

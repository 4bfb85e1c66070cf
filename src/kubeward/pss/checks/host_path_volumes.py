"""HostPath volumes (baseline).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_hostPathVolumes.go``:
``spec.volumes[*].hostPath`` must be undefined. Restricted replaces this check with
``restrictedVolumes`` (which forbids hostPath too) at every version.
"""

from __future__ import annotations

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import join_quote, pluralize

__all__ = ["CHECK", "host_path_volumes_1_0"]


def host_path_volumes_1_0(pod: PodView) -> Result:
    volumes = pod.spec.get("volumes")
    if not isinstance(volumes, list):
        return None
    host: list[str] | None = None
    for v in volumes:
        if isinstance(v, dict) and isinstance(v.get("hostPath"), dict):
            if host is None:
                host = []
            name = v.get("name")
            host.append(name if isinstance(name, str) else "")
    if host is None:
        return None
    return (
        "hostPath volumes",
        f"{pluralize('volume', 'volumes', len(host))} {join_quote(host)}",
    )


CHECK = Check(
    id="hostPathVolumes",
    level="baseline",
    title="HostPath Volumes",
    description="HostPath volumes must be forbidden.",
    rule_slug="host-path-volumes",
    versions=(VersionedCheck((1, 0), "hostPathVolumes_1_0", host_path_volumes_1_0),),
    upstream_file="policy/check_hostPathVolumes.go",
    fields=("spec.volumes[*].hostPath",),
)

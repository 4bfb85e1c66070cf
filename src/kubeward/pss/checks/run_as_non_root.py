"""Running as non-root (restricted).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_runAsNonRoot.go``:
containers must run as non-root. ``securityContext.runAsNonRoot`` must be ``true`` at pod
level, or on every container; a container may leave it undefined only when the pod sets
it to ``true``; an explicit ``false`` anywhere is forbidden.

* v1.0 (``runAsNonRoot_1_0``)
* v1.35 (``runAsNonRoot1_35``): allowed unconditionally when the pod runs in a user
  namespace (``spec.hostUsers: false``, KEP-127). No Windows exemption at any version.
"""

from __future__ import annotations

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import join_quote, pluralize

__all__ = ["CHECK", "run_as_non_root_1_0", "run_as_non_root_1_35"]


def run_as_non_root_1_0(pod: PodView) -> Result:
    bad_setters: list[str] | None = None
    pod_non_root = False
    psc = pod.psc
    if psc is not None:
        v = psc.get("runAsNonRoot")
        if v is False:
            bad_setters = ["pod"]
        elif v is True:
            pod_non_root = True

    explicit: list[str] | None = None
    implicit: list[str] | None = None
    for name, _c, sc in pod.containers:
        v = sc.get("runAsNonRoot") if sc is not None else None
        if v is True:
            continue
        if v is False:
            if explicit is None:
                explicit = []
            explicit.append(name)
        elif not pod_non_root:
            if implicit is None:
                implicit = []
            implicit.append(name)

    if explicit is not None:
        if bad_setters is None:
            bad_setters = []
        bad_setters.append(f"{pluralize('container', 'containers', len(explicit))} {join_quote(explicit)}")
    if bad_setters is not None:
        return (
            "runAsNonRoot != true",
            f"{' and '.join(bad_setters)} must not set securityContext.runAsNonRoot=false",
        )
    if implicit is not None:
        return (
            "runAsNonRoot != true",
            f"pod or {pluralize('container', 'containers', len(implicit))} "
            f"{join_quote(implicit)} must set securityContext.runAsNonRoot=true",
        )
    return None


def run_as_non_root_1_35(pod: PodView) -> Result:
    if pod.spec.get("hostUsers") is False:
        return None
    return run_as_non_root_1_0(pod)


CHECK = Check(
    id="runAsNonRoot",
    level="restricted",
    title="Running as Non-root",
    description=(
        "Containers must be required to run as non-root users (any value is allowed for "
        "pods in a user namespace, hostUsers: false, v1.35+)."
    ),
    rule_slug="run-as-non-root",
    versions=(
        VersionedCheck((1, 0), "runAsNonRoot_1_0", run_as_non_root_1_0),
        VersionedCheck((1, 35), "runAsNonRoot1_35", run_as_non_root_1_35),
    ),
    upstream_file="policy/check_runAsNonRoot.go",
    fields=(
        "spec.securityContext.runAsNonRoot",
        "spec.containers[*].securityContext.runAsNonRoot",
        "spec.initContainers[*].securityContext.runAsNonRoot",
        "spec.ephemeralContainers[*].securityContext.runAsNonRoot",
    ),
)

"""/proc mount type (baseline).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_procMount_baseline.go``
(check ID ``procMount``; the file was ``check_procMount.go`` before v1.35):

* v1.0 (``procMount_1_0``): ``securityContext.procMount`` of every container must be
  undefined or ``Default``.
* v1.35 (``procMount1_35baseline``): any value is allowed when the pod runs in a user
  namespace (``spec.hostUsers: false``); otherwise as v1.0. Before v1.35 this relaxation
  was behind the perma-alpha ``UserNamespacesPodSecurityStandards`` gate (off by default,
  since removed), so older versions never relax.

Restricted replaces this check with ``procMount_restricted`` (v1.0 behaviour,
unconditionally) from v1.35 on.
"""

from __future__ import annotations

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import join_quote, pluralize

__all__ = ["CHECK", "proc_mount_1_0", "proc_mount_1_35_baseline", "relax_for_user_namespace"]


def relax_for_user_namespace(pod: PodView) -> bool:
    """Upstream ``relaxPolicyForUserNamespacePod``: ``spec.hostUsers`` is explicitly false."""
    return pod.spec.get("hostUsers") is False


def proc_mount_1_0(pod: PodView) -> Result:
    bad: list[str] | None = None
    types: set[str] = set()
    for name, _c, sc in pod.containers:
        if sc is None:
            continue
        pm = sc.get("procMount")
        if pm is None or not isinstance(pm, str):
            continue
        if pm != "Default":
            if bad is None:
                bad = []
            bad.append(name)
            types.add(pm)
    if bad is None:
        return None
    return (
        "procMount",
        f"{pluralize('container', 'containers', len(bad))} {join_quote(bad)} "
        f"must not set securityContext.procMount to {join_quote(sorted(types))}",
    )


def proc_mount_1_35_baseline(pod: PodView) -> Result:
    if pod.spec.get("hostUsers") is False:
        return None
    return proc_mount_1_0(pod)


CHECK = Check(
    id="procMount",
    level="baseline",
    title="/proc Mount Type",
    description=(
        "The default /proc masks are set up to reduce attack surface, and should be "
        "required, unless the pod runs in a user namespace (hostUsers: false, v1.35+)."
    ),
    rule_slug="proc-mount",
    versions=(
        VersionedCheck((1, 0), "procMount_1_0", proc_mount_1_0),
        VersionedCheck((1, 35), "procMount1_35baseline", proc_mount_1_35_baseline),
    ),
    upstream_file="policy/check_procMount_baseline.go",
    fields=(
        "spec.containers[*].securityContext.procMount",
        "spec.initContainers[*].securityContext.procMount",
        "spec.ephemeralContainers[*].securityContext.procMount",
    ),
)

"""/proc mount type (restricted, v1.35+).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_procMount_restricted.go``
(check ID ``procMount_restricted``): from v1.35 the baseline ``procMount`` check relaxes for
pods in a user namespace; restricted keeps the unconditional v1.0 behaviour
(``procMount_1_0``: undefined or ``Default`` only, whatever ``hostUsers`` says) and
overrides the weaker baseline check.
"""

from __future__ import annotations

from kubeward.pss._model import Check, VersionedCheck
from kubeward.pss.checks.proc_mount import proc_mount_1_0

__all__ = ["CHECK"]

CHECK = Check(
    id="procMount_restricted",
    level="restricted",
    title="/proc Mount Type",
    description=(
        "The default /proc masks are set up to reduce attack surface, and are required by "
        "the restricted profile even for pods in a user namespace."
    ),
    rule_slug="proc-mount",
    versions=(VersionedCheck((1, 35), "procMount_1_0", proc_mount_1_0, overrides=("procMount",)),),
    upstream_file="policy/check_procMount_restricted.go",
    fields=(
        "spec.containers[*].securityContext.procMount",
        "spec.initContainers[*].securityContext.procMount",
        "spec.ephemeralContainers[*].securityContext.procMount",
    ),
)

"""Privileged containers (baseline).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_privileged.go``:
``securityContext.privileged`` of every container (init, regular, ephemeral) must be
undefined or ``false``.
"""

from __future__ import annotations

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import join_quote, pluralize

__all__ = ["CHECK", "privileged_1_0"]


def privileged_1_0(pod: PodView) -> Result:
    bad: list[str] | None = None
    for name, _c, sc in pod.containers:
        if sc is not None and sc.get("privileged") is True:
            if bad is None:
                bad = []
            bad.append(name)
    if bad is None:
        return None
    return (
        "privileged",
        f"{pluralize('container', 'containers', len(bad))} {join_quote(bad)} "
        "must not set securityContext.privileged=true",
    )


CHECK = Check(
    id="privileged",
    level="baseline",
    title="Privileged Containers",
    description="Privileged Pods disable most security mechanisms and must be disallowed.",
    rule_slug="privileged",
    versions=(VersionedCheck((1, 0), "privileged_1_0", privileged_1_0),),
    upstream_file="policy/check_privileged.go",
    fields=(
        "spec.containers[*].securityContext.privileged",
        "spec.initContainers[*].securityContext.privileged",
        "spec.ephemeralContainers[*].securityContext.privileged",
    ),
)

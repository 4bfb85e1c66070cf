"""Privilege escalation (restricted, v1.8+).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_allowPrivilegeEscalation.go``:
``securityContext.allowPrivilegeEscalation`` of every container must be explicitly
``false`` (undefined is forbidden).

* v1.8 (``allowPrivilegeEscalation_1_8``)
* v1.25 (``allowPrivilegeEscalation_1_25``): pods with ``spec.os.name: windows`` are
  exempt (the API rejects the field on Windows pods).
"""

from __future__ import annotations

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import join_quote, pluralize

__all__ = ["CHECK", "allow_privilege_escalation_1_8", "allow_privilege_escalation_1_25", "is_windows"]


def is_windows(pod: PodView) -> bool:
    """``podSpec.OS != nil && podSpec.OS.Name == corev1.Windows``."""
    os_ = pod.spec.get("os")
    return isinstance(os_, dict) and os_.get("name") == "windows"


def allow_privilege_escalation_1_8(pod: PodView) -> Result:
    bad: list[str] | None = None
    for name, _c, sc in pod.containers:
        if sc is None or sc.get("allowPrivilegeEscalation") is not False:
            if bad is None:
                bad = []
            bad.append(name)
    if bad is None:
        return None
    return (
        "allowPrivilegeEscalation != false",
        f"{pluralize('container', 'containers', len(bad))} {join_quote(bad)} "
        "must set securityContext.allowPrivilegeEscalation=false",
    )


def allow_privilege_escalation_1_25(pod: PodView) -> Result:
    if is_windows(pod):
        return None
    return allow_privilege_escalation_1_8(pod)


CHECK = Check(
    id="allowPrivilegeEscalation",
    level="restricted",
    title="Privilege Escalation",
    description=(
        "Privilege escalation (such as via set-user-ID or set-group-ID file mode) should "
        "not be allowed. Linux-only policy in v1.25+."
    ),
    rule_slug="allow-privilege-escalation",
    versions=(
        VersionedCheck((1, 8), "allowPrivilegeEscalation_1_8", allow_privilege_escalation_1_8),
        VersionedCheck((1, 25), "allowPrivilegeEscalation_1_25", allow_privilege_escalation_1_25),
    ),
    upstream_file="policy/check_allowPrivilegeEscalation.go",
    fields=(
        "spec.containers[*].securityContext.allowPrivilegeEscalation",
        "spec.initContainers[*].securityContext.allowPrivilegeEscalation",
        "spec.ephemeralContainers[*].securityContext.allowPrivilegeEscalation",
    ),
)

"""Running as non-root user (restricted, v1.23+).

Follows ``staging/src/k8s.io/pod-security-admission/policy/check_runAsUser.go``:
``securityContext.runAsUser`` must not be ``0`` at pod level or on any container
(undefined is allowed).

* v1.23 (``runAsUser_1_23``)
* v1.35 (``runAsUser1_35``): allowed unconditionally when the pod runs in a user
  namespace (``spec.hostUsers: false``, KEP-127).
"""

from __future__ import annotations

from kubeward.pss._model import Check, PodView, Result, VersionedCheck
from kubeward.pss._util import as_int, join_quote, pluralize

__all__ = ["CHECK", "run_as_user_1_23", "run_as_user_1_35"]


def run_as_user_1_23(pod: PodView) -> Result:
    bad_setters: list[str] | None = None
    psc = pod.psc
    if psc is not None:
        uid = psc.get("runAsUser")
        if uid is not None and as_int(uid) == 0:
            bad_setters = ["pod"]
    explicit: list[str] | None = None
    for name, _c, sc in pod.containers:
        if sc is None:
            continue
        uid = sc.get("runAsUser")
        if uid is not None and as_int(uid) == 0:
            if explicit is None:
                explicit = []
            explicit.append(name)
    if explicit is not None:
        if bad_setters is None:
            bad_setters = []
        bad_setters.append(f"{pluralize('container', 'containers', len(explicit))} {join_quote(explicit)}")
    if bad_setters is None:
        return None
    return ("runAsUser=0", f"{' and '.join(bad_setters)} must not set runAsUser=0")


def run_as_user_1_35(pod: PodView) -> Result:
    if pod.spec.get("hostUsers") is False:
        return None
    return run_as_user_1_23(pod)


CHECK = Check(
    id="runAsUser",
    level="restricted",
    title="Running as Non-root user",
    description=(
        "Containers must not set runAsUser to 0 (any value is allowed for pods in a user "
        "namespace, hostUsers: false, v1.35+)."
    ),
    rule_slug="run-as-user",
    versions=(
        VersionedCheck((1, 23), "runAsUser_1_23", run_as_user_1_23),
        VersionedCheck((1, 35), "runAsUser1_35", run_as_user_1_35),
    ),
    upstream_file="policy/check_runAsUser.go",
    fields=(
        "spec.securityContext.runAsUser",
        "spec.containers[*].securityContext.runAsUser",
        "spec.initContainers[*].securityContext.runAsUser",
        "spec.ephemeralContainers[*].securityContext.runAsUser",
    ),
)

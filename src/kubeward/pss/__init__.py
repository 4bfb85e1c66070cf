"""Pod Security Standards engine: a pure-Python port of ``k8s.io/pod-security-admission/policy``.

Evaluates pods (or pod templates) exactly like the upstream Pod Security admission
controller, for the levels ``privileged`` / ``baseline`` / ``restricted`` and every policy
version v1.0 ... v1.37 plus ``latest``::

    from kubeward.pss import evaluate
    for v in evaluate(pod_meta, pod_spec, level="restricted", version="latest"):
        print(v.check, v.message)

Public API:

* :func:`evaluate` -> ``list[Violation]`` (empty when allowed)
* :func:`checks_for` -> the checks in force at a level / version (cached)
* :data:`ALL_CHECKS`, :data:`CHECKS_BY_ID` -> the check catalog
* :func:`parse_level`, :func:`parse_version`, :data:`LATEST`, :class:`LevelVersion`
* :func:`namespace_policy` (namespace labels), :func:`plan_namespace` (``pss plan``)

Each check lives in :mod:`kubeward.pss.checks` and cites the upstream file it follows.

What is evaluated
-----------------
Upstream evaluates the object the API server decoded and defaulted. kubeward evaluates
the manifest as written, with two emulations:

* typed decoding: wrong-typed values count as absent, ``null`` list items as zero values
  (details in :mod:`kubeward.pss._util`); nothing ever raises on malformed input;
* defaulting that applies to every PodSpec and changes a verdict: a volume without a
  volume source is defaulted to ``emptyDir`` (see ``checks/restricted_volumes.py``).

Not emulated: mutations the API server applies to bare ``Pod`` objects only (never to pod
templates): the hostNetwork ``hostPort := containerPort`` defaulting (can only add a
``hostPorts`` violation to a pod ``hostNamespaces`` already rejects) and the pod
strategy's AppArmor/seccomp annotation-to-field syncing on API server versions that still
do it (for a bare Pod evaluated at v1.19+, a seccomp ``unconfined`` *annotation* synced into
the field would be rejected there, while kubeward, like upstream for templates, only
looks at the field from v1.19 on). The admission configuration's emulation version (which
can lower what ``latest`` means) is not modelled: pass an explicit version instead.
"""

from __future__ import annotations

from kubeward.pss._levels import (
    BASELINE,
    LATEST,
    LEVELS,
    PRIVILEGED,
    RESTRICTED,
    LatestVersion,
    Level,
    LevelVersion,
    PolicyVersion,
    compare_levels,
    format_version,
    parse_level,
    parse_version,
)
from kubeward.pss._model import BoundCheck, Check, PodView, VersionedCheck, Violation
from kubeward.pss._registry import (
    ALL_CHECKS,
    CHECKS_BY_ID,
    MAX_VERSION,
    checks_for,
    evaluate,
    resolve_version,
)
from kubeward.pss.namespace import (
    LabelError,
    NamespacePlan,
    NamespacePolicy,
    PodBlockers,
    namespace_policy,
    plan_namespace,
)

__all__ = [
    "ALL_CHECKS",
    "BASELINE",
    "CHECKS_BY_ID",
    "LATEST",
    "LEVELS",
    "MAX_VERSION",
    "PRIVILEGED",
    "RESTRICTED",
    "BoundCheck",
    "Check",
    "LabelError",
    "LatestVersion",
    "Level",
    "LevelVersion",
    "NamespacePlan",
    "NamespacePolicy",
    "PodBlockers",
    "PodView",
    "PolicyVersion",
    "VersionedCheck",
    "Violation",
    "checks_for",
    "compare_levels",
    "evaluate",
    "format_version",
    "namespace_policy",
    "parse_level",
    "parse_version",
    "plan_namespace",
    "resolve_version",
]

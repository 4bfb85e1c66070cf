"""Kyverno policies, evaluated offline with Kyverno's semantics.

Public API (kept stable for the webhook and the CLI)::

    from kubeward.policy import kyverno
    policies = kyverno.load_policies(objects)           # ClusterPolicy / Policy dicts
    results = kyverno.evaluate(policies, resource, operation="CREATE",
                               namespace_labels={...}, user_info={...})
    patched, results = kyverno.mutate(policies, resource)

`RuleResult` has `policy`, `rule`, `status` (pass | fail | skip | error | warn), `message`
and `enforce`. Module map: `load` (structure, autogen), `match`, `pattern` (+ `anchors`),
`conditions`, `variables` (+ `jmespath_ext`), `cel`, `patch` (mutations; not `mutate`, which
would shadow the `mutate` function on this package), `podsecurity`, `engine`.
"""

from __future__ import annotations

from kubeward.policy.kyverno.engine import RuleResult, evaluate, mutate
from kubeward.policy.kyverno.load import KyvernoPolicy, PolicyLoadError, is_kyverno_policy, load_policies

__all__ = [
    "KyvernoPolicy",
    "PolicyLoadError",
    "RuleResult",
    "evaluate",
    "is_kyverno_policy",
    "load_policies",
    "mutate",
]

"""The `audit-policy` set: the API server audit Policy for ``--audit-policy-file``.

The policy itself belongs to the audit-log detection work, which knows which requests its
rules must see: :func:`kubeward.detect.auditpolicy.generate_audit_policy` (imported only
when this set is generated). This adapter passes the set's parameters on (empty ones
left out, so the detection module's defaults apply) and turns its ValueError into a
usage error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeward.generate.policies import GenerateError

__all__ = ["audit_policy_set"]


def audit_policy_set(params: Mapping[str, str], namespace: str) -> list[Any]:
    from kubeward.detect.auditpolicy import generate_audit_policy

    given = {k: v for k, v in params.items() if v.strip()}
    try:
        return [generate_audit_policy(given)]
    except ValueError as err:
        raise GenerateError(f"audit-policy: {err}") from None

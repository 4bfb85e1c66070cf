"""The user's policies at the door: Kyverno policies and ValidatingAdmissionPolicies.

Glue only: the semantics live in `kubeward.policy.kyverno` (Kyverno's engine, offline) and
`kubeward.policy.vap` (the API server's ValidatingAdmissionPolicy plugin). Both are imported
lazily, when a policy file holds such objects, so `kubeward serve` without policies never
loads them. Each result becomes a `PolicyHit` whose `action` says what the policy itself asks
(deny / warn / audit); the rule set's mode then caps it (`evaluate.apply_mode`).

Kyverno: a failing rule of an `Enforce` policy asks to deny, of an `Audit` policy to audit
(kyverno pkg/webhooks/resource/validation: audit results go to reports, not to the
response); a `warn` status is a warning; `error` follows the failure policy.
VAP: a binding's `validationActions` (Deny, Warn, Audit) are kept as they are
(k8s.io/apiserver/pkg/admission/plugin/policy/validating/dispatcher.go).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PolicyHit", "PolicySet", "load_policy_set"]


@dataclass(slots=True, frozen=True)
class PolicyHit:
    rule_set: str  # "kyverno" or "vap"
    rule: str  # policy/rule (Kyverno) or policy/binding (VAP)
    message: str
    actions: tuple[str, ...]  # subset of deny, warn, audit; or ("error",)


@dataclass(slots=True)
class PolicySet:
    kyverno: list[Any] = field(default_factory=list)
    vap: Any = None  # kubeward.policy.vap.VapSet
    errors: list[str] = field(default_factory=list)
    files: int = 0

    @property
    def empty(self) -> bool:
        return not self.kyverno and self.vap is None

    def describe(self) -> str:
        count = 0 if self.vap is None else len(self.vap.policies)
        return f"{len(self.kyverno)} Kyverno policies, {count} ValidatingAdmissionPolicies"

    def kyverno_hits(
        self,
        obj: dict[str, Any],
        *,
        operation: str,
        namespace_labels: dict[str, str] | None,
        user_info: dict[str, Any] | None,
        old_object: dict[str, Any] | None = None,
    ) -> list[PolicyHit]:
        if not self.kyverno:
            return []
        from kubeward.policy import kyverno

        out = []
        results = kyverno.evaluate(
            self.kyverno,
            obj,
            operation=operation,
            namespace_labels=namespace_labels,
            user_info=user_info,
            old_object=old_object,
        )
        for r in results:
            status = getattr(r, "status", "")
            name = f"{r.policy}/{r.rule}"
            if status == "fail":
                action = "deny" if getattr(r, "enforce", False) else "audit"
                out.append(PolicyHit("kyverno", name, r.message or "validation failed", (action,)))
            elif status == "warn":
                out.append(PolicyHit("kyverno", name, r.message or "warning", ("warn",)))
            elif status == "error":
                out.append(PolicyHit("kyverno", name, r.message or "rule error", ("error",)))
        return out

    def kyverno_mutate(
        self, obj: dict[str, Any], *, operation: str, user_info: dict[str, Any] | None
    ) -> tuple[dict[str, Any], list[str]]:
        """The object after the `mutate` rules of the Kyverno policies, and the rules that
        failed (`kyverno.mutate`: Kyverno's patchStrategicMerge / patchesJson6902 / foreach)."""
        if not self.kyverno_mutates:
            return obj, []
        from kubeward.policy import kyverno

        patched, results = kyverno.mutate(self.kyverno, obj, operation=operation, user_info=user_info)
        failed = [f"{r.policy}/{r.rule}: {r.message}" for r in results if r.status in ("fail", "error")]
        return patched, failed

    @property
    def kyverno_mutates(self) -> bool:
        return any(
            isinstance(rule, dict) and rule.get("mutate")
            for p in self.kyverno
            for rule in getattr(p, "rules", ())
        )

    def vap_hits(
        self,
        obj: Mapping[str, Any],
        *,
        operation: str,
        old_object: Mapping[str, Any] | None,
        namespace_object: Mapping[str, Any] | None,
        user_info: Mapping[str, Any] | None,
        subresource: str = "",
        resource: str | None = None,
        dry_run: bool = False,
    ) -> list[PolicyHit]:
        """Failed validations; an evaluation error has already met the policy's own
        failurePolicy in the engine (Fail: a denial, Ignore: allowed), as upstream."""
        if self.vap is None:
            return []
        out = []
        for d in self.vap.evaluate(
            obj,
            operation=operation,
            old_object=old_object,
            namespace_object=namespace_object,
            user_info=user_info,
            subresource=subresource,
            resource=resource,
            dry_run=dry_run,
        ):
            if d.allowed:
                continue
            name = f"{d.policy}/{d.binding}" if d.binding else d.policy
            actions = tuple(a.lower() for a in (d.actions or ("Deny",)) if isinstance(a, str))
            message = d.message or d.error or d.reason or "denied"
            out.append(PolicyHit("vap", name, message, actions or ("deny",)))
        return out


_VAP_KINDS = ("ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding")


def load_policy_set(paths: Sequence[str]) -> PolicySet:
    """Read the policy files (YAML, directories, Helm/Kustomize as `kubeward scan` reads them)."""
    out = PolicySet()
    if not paths:
        return out
    from kubeward.inventory.sources import load_paths

    loaded = load_paths(list(paths), render_charts=True)
    out.errors.extend(str(e) for e in loaded.errors)
    out.files = loaded.inputs
    resources = loaded.resources
    if any(
        r.kind in ("ClusterPolicy", "Policy") and r.api_version.startswith("kyverno.io/") for r in resources
    ):
        try:
            from kubeward.policy import kyverno
        except ImportError as err:  # pragma: no cover - the engine ships with kubeward
            out.errors.append(f"Kyverno policies found but the engine cannot load: {err}")
        else:
            out.kyverno = kyverno.load_policies(resources, out.errors)
    vap_objects = [r for r in resources if r.kind in _VAP_KINDS]  # Resources: errors name file:line
    if vap_objects:
        try:
            from kubeward.policy import vap  # type: ignore[attr-defined,unused-ignore]
        except ImportError as err:
            out.errors.append(f"ValidatingAdmissionPolicies found but the VAP engine is not available: {err}")
        else:
            out.vap = vap.load(vap_objects)
            out.errors.extend(out.vap.errors)
            out.errors.extend(out.vap.warnings)
    return out

"""Judge one admission request: the same rules as `kubeward scan`, at the cluster's door.

Pure and synchronous (the server calls it inline for small bodies, in a worker thread under
the deadline for large ones). Rule sets:

* ``pss``: the PSS engine at the namespace's level and version, exactly as Pod Security
  admission judges a pod (k8s.io/pod-security-admission/admission/admission.go:
  `ValidatePod`; updates that leave the pod spec unchanged and subresources other than
  ``ephemeralcontainers`` are not judged, like `isSignificantPodUpdate` /
  `ignoredPodSubresources`; controllers' pod templates are warned about, never denied, like
  `ValidatePodController`);
* ``rules``: the rest of kubeward's rule catalog that judges one object on its own, findings
  at or above `minSeverity`, after the scan configuration's exceptions (and the object's own
  `kubeward.io/ignore` annotations only with `honorIgnoreAnnotations`);
* ``kyverno`` and ``vap``: the user's policies (`webhook.policies`).

Each violation gets an action from its rule set's mode: enforce -> deny, warn -> a warning
in the response (as PSA's `warn` mode), audit -> an audit annotation (PSA's `audit` mode).
A policy that itself asks for less (a Kyverno `Audit` policy, a VAP binding with only `Warn`)
keeps its own, weaker action; a mode never makes a policy stricter than it asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubeward import pss
from kubeward.engine import RulePlan, plan_rules, run_rules
from kubeward.exceptions import apply_exceptions, parse_entries
from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Origin, Resource, SourceText
from kubeward.k8s.pods import pod_template
from kubeward.rules.base import REGISTRY
from kubeward.rules.pss import rule_id_for
from kubeward.webhook.config import RuleSetConfig, WebhookConfig

if TYPE_CHECKING:
    from kubeward.config import Config
    from kubeward.exceptions import ExceptionEntry
    from kubeward.findings import Severity
    from kubeward.rules.base import Rule
    from kubeward.webhook.policies import PolicySet

__all__ = ["Decision", "EvaluationError", "Evaluator", "Violation", "apply_mode", "groups_of"]

_RANK = {"audit": 0, "warn": 1, "deny": 2}
#: where an admission object "comes from", for the engine's messages (one shared instance)
_ADMISSION = SourceText("admission", None, "admission")
_MODE_ACTION = {"audit": "audit", "warn": "warn", "enforce": "deny"}
# PSA ignores these subresources of pods (admission.go: ignoredPodSubresources).
_IGNORED_POD_SUBRESOURCES = frozenset(
    {"exec", "attach", "binding", "eviction", "log", "portforward", "proxy", "status"}
)
MAX_WARNING = 240  # kubectl shows each warning on one line; the API server caps their total


# (upstream check, level) -> (rule id, fix): the catalog is fixed once loaded
_PSS_RULES: dict[tuple[str, str], tuple[str, str]] = {}


class EvaluationError(Exception):
    """The request cannot be judged (bad shape or an engine error): the failure policy applies."""


@dataclass(slots=True, frozen=True)
class Violation:
    rule_set: str
    rule: str
    message: str
    fix: str
    action: str  # deny | warn | audit

    def line(self) -> str:
        fix = f" Fix: {self.fix}" if self.fix else ""
        return (
            f"[{self.rule}] {self.message}.{fix}"
            if not self.message.endswith(".")
            else (f"[{self.rule}] {self.message}{fix}")
        )


@dataclass(slots=True)
class Decision:
    allowed: bool
    violations: list[Violation] = field(default_factory=list)
    exempt: str | None = None
    errors: list[str] = field(default_factory=list)

    def of(self, action: str) -> list[Violation]:
        return [v for v in self.violations if v.action == action]

    def message(self, ref: str) -> str:
        """All denying violations in one readable message, each with its fix."""
        denied = self.of("deny")
        head = f"kubeward denied {ref}: {len(denied)} rule{'s' if len(denied) != 1 else ''} violated"
        return head + "".join(f"\n  {i}. {v.line()}" for i, v in enumerate(denied, 1))

    def warnings(self) -> list[str]:
        out = []
        for v in self.of("warn"):
            text = f"kubeward: {v.line()}"
            out.append(text if len(text) <= MAX_WARNING else text[: MAX_WARNING - 3] + "...")
        return out

    def audit_annotations(self) -> dict[str, str]:
        """Values the API server records as `<webhook name>/<key>` in its audit log."""
        if self.exempt:
            return {"decision": "allow", "exempt": self.exempt}
        out = {"decision": "allow" if self.allowed else "deny"}
        for action in ("audit", "warn", "deny"):
            found = self.of(action)
            if found:
                text = "; ".join(f"{v.rule}: {v.message}" for v in found)
                out[f"{action}-violations"] = text[:8000]
        return out


def apply_mode(mode: str, asked: str) -> str | None:
    """The action of a violation: the weaker of what the mode allows and the policy asks."""
    if mode == "off":
        return None
    cap = _MODE_ACTION[mode]
    return asked if _RANK[asked] <= _RANK[cap] else cap


def _namespaced(obj: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The object with the request's namespace (a CREATE often leaves metadata.namespace out)."""
    meta = obj.get("metadata")
    if not namespace or (isinstance(meta, dict) and meta.get("namespace") == namespace):
        return obj
    meta = dict(meta) if isinstance(meta, dict) else {}
    meta["namespace"] = namespace
    return {**obj, "metadata": meta}


class Evaluator:
    """Built once at start (rules catalog, scan config, policies); `evaluate` per request."""

    def __init__(
        self, config: WebhookConfig, scan_config: Config | None = None, policies: PolicySet | None = None
    ) -> None:
        from kubeward.config import Config as ScanConfig
        from kubeward.rules.catalog import load_catalog

        self.config = config
        self.scan_config = scan_config or ScanConfig()
        self.policies = policies
        self.rules: list[Rule] = load_catalog()
        self._engine: tuple[Config, list[Rule]] | None = None
        self._entries: list[ExceptionEntry] | None = None
        self._counted: dict[Severity, tuple[Config, RulePlan]] = {}

    def _engine_config(self) -> tuple[Config, list[Rule]]:
        """The scan config and the rules that judge one object on its own (built once).

        PSS rules are left out (the `pss` rule set runs the engine itself, at the namespace's
        level). Inventory rules (NetworkPolicy coverage, RBAC paths, ...) need the whole
        cluster: on a one-object inventory they would blame every pod for its namespace, so
        they do not run at admission; `kubeward audit` covers them.
        """
        if self._engine is None:
            from dataclasses import replace

            from kubeward.rules.base import Scope

            base = self.scan_config
            active = [
                r
                for r in self.rules
                if r.scope in (Scope.POD, Scope.OBJECT)
                and not r.id.startswith("pss.")
                and base.rule_enabled(r.id)
            ]
            # the rules are filtered once here; run_rules need not match globs per request
            self._engine = (replace(base, disabled=(), enabled_only=(), severity=dict(base.severity)), active)
        return self._engine

    def _counted_rules(self, min_severity: Severity) -> tuple[Config, RulePlan]:
        """The one-object rules whose findings can count at `min_severity`, sorted for the
        engine (`plan_rules`), built once per level.

        A finding's severity is its rule's (after the scan config's `severity` overrides,
        which match rule ids only), so a rule below `min_severity` can never yield a
        violation: it is not run at admission. Its findings were dropped anyway; only a
        crash of such a rule is no longer logged. Exceptions suppress findings one by one,
        so leaving those findings out changes no other verdict.
        """
        found = self._counted.get(min_severity)
        if found is None:
            config, active = self._engine_config()
            counted = [r for r in active if config.severity_of(r.id, r.severity) >= min_severity]
            found = self._counted[min_severity] = (config, plan_rules(config, counted))
        return found

    @property
    def name_blind(self) -> bool:
        """Whether no verdict depends on the random part of a generated name.

        PSS reads a pod's annotations, not its name; the one-object rules read a name only to
        spot control-plane static pods by `<component>` or a `<component>-` prefix, which
        five characters appended to a `generateName` cannot change (the generated part has no
        `-`, and no component name ends in five of its characters). What could tell
        `web-7d4b9-x2x9q` from `web-7d4b9-b5k8p` is an exception that matches by name, so any
        such exception turns this off. Messages are checked per answer (see app.py).
        """
        return all(entry.name == "*" for entry in self._exception_entries())

    def _exception_entries(self) -> list[ExceptionEntry]:
        if self._entries is None:
            config, _ = self._engine_config()
            self._entries, _ = parse_entries(config.exceptions, config.path or "config")
        return self._entries

    def evaluate(self, request: Mapping[str, Any]) -> Decision:
        """Judge `request` (the `request` of an AdmissionReview); raises EvaluationError."""
        namespace = _str(request.get("namespace"))
        raw_user = request.get("userInfo")
        user: dict[str, Any] = raw_user if isinstance(raw_user, dict) else {}
        username = _str(user.get("username"))
        groups = groups_of(user)
        exempt = self.config.exempt(namespace, username, groups)
        if exempt:
            return Decision(True, exempt=exempt)
        operation = _str(request.get("operation")) or "CREATE"
        obj = request.get("object")
        if operation == "DELETE" or obj is None:
            return Decision(True)
        if not isinstance(obj, dict):
            raise EvaluationError("request.object is not an object")
        old = request.get("oldObject") if isinstance(request.get("oldObject"), dict) else None
        kind = _str(obj.get("kind")) or _field(request, "kind", "kind")
        sets = self.config.for_namespace(namespace)
        obj = _namespaced(obj, namespace)
        violations: list[Violation] = []
        errors: list[str] = []
        if self._judge_pods(kind, request, obj, old):
            violations += self._kubeward(kind, obj, sets, errors)
        if self.policies is not None and not self.policies.empty:
            violations += self._policies(obj, old, operation, namespace, user, sets, errors, request)
        allowed = not any(v.action == "deny" for v in violations)
        return Decision(allowed, violations, errors=errors)

    @staticmethod
    def _judge_pods(
        kind: str, request: Mapping[str, Any], obj: dict[str, Any], old: dict[str, Any] | None
    ) -> bool:
        sub = _str(request.get("subResource"))
        if kind == "Pod" or _field(request, "resource", "resource") == "pods":
            if sub in _IGNORED_POD_SUBRESOURCES:
                return False
            if _str(request.get("operation")) == "UPDATE" and old is not None and not sub:
                # isSignificantPodUpdate: only a changed spec (or a changed seccomp/AppArmor
                # annotation, which PSA also compares) is judged again.
                return bool(
                    obj.get("spec") != old.get("spec") or _pod_annotations(obj) != _pod_annotations(old)
                )
            return True
        return not sub  # other kinds: the object itself, not its status or scale

    def _kubeward(
        self, kind: str, obj: dict[str, Any], sets: Mapping[str, RuleSetConfig], errors: list[str]
    ) -> list[Violation]:
        return self._pss(kind, obj, sets["pss"]) + self._rules(kind, obj, sets["rules"], errors)

    @staticmethod
    def _pss(kind: str, obj: dict[str, Any], pss_set: RuleSetConfig) -> list[Violation]:
        """Pod Security admission's verdict: one evaluation at the namespace's level.

        Like upstream (admission.go `ValidatePod` / `ValidatePodController`), only Pods are
        denied; the pod templates of controllers get the same verdict as warnings (PSA does
        not enforce on them, it warns and audits). No per-object exceptions apply: the
        requester writes the object's annotations (exemptions live in the configuration).
        """
        if pss_set.mode == "off":
            return []
        template = pod_template(kind, obj)
        if template is None:
            return []
        action = apply_mode(pss_set.mode, "deny" if kind == "Pod" else "warn")
        if action is None:
            return []
        out = []
        for v in pss.evaluate(template.metadata, template.spec, level=pss_set.level, version=pss_set.version):
            named = _PSS_RULES.get((v.check, v.level))
            if named is None:
                rule_id = rule_id_for(v.check, v.level)
                rule = REGISTRY.get(rule_id)
                named = _PSS_RULES[(v.check, v.level)] = (rule_id, rule.remediation if rule else "")
            out.append(Violation("pss", named[0], v.message, named[1], action))
        return out

    def _rules(
        self, kind: str, obj: dict[str, Any], rules_set: RuleSetConfig, errors: list[str]
    ) -> list[Violation]:
        """kubeward's rules that judge one object, at or above minSeverity, after exceptions."""
        if rules_set.mode == "off":
            return []
        action = apply_mode(rules_set.mode, "deny")
        if action is None:
            return []
        min_severity = rules_set.min_severity
        config, plan = self._counted_rules(min_severity)
        res = Resource(obj, Origin(_ADMISSION, None, 0))
        if not plan.judges(res.kind, pod_template(kind, obj) is not None):
            return []
        result = run_rules(Inventory([res]), config, plan)
        errors.extend(result.warnings)
        if not result.findings:
            return []
        annotated = (res,) if self.config.honor_ignore_annotations else ()
        apply_exceptions(result.findings, annotated, self._exception_entries(), strict=config.strict)
        return [
            Violation("rules", f.rule.id, f.message, f.rule.remediation, action)
            for f in result.findings
            if f.suppressed is None and f.severity >= min_severity
        ]

    def _policies(
        self,
        obj: dict[str, Any],
        old: dict[str, Any] | None,
        operation: str,
        namespace: str,
        user: dict[str, Any],
        sets: Mapping[str, RuleSetConfig],
        errors: list[str],
        request: Mapping[str, Any],
    ) -> list[Violation]:
        assert self.policies is not None
        hits = []
        try:
            if sets["kyverno"].mode != "off":
                hits += self.policies.kyverno_hits(
                    obj, operation=operation, namespace_labels=None, user_info=user, old_object=old
                )
            if sets["vap"].mode != "off":
                ns_obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
                hits += self.policies.vap_hits(
                    obj,
                    operation=operation,
                    old_object=old,
                    namespace_object=ns_obj if namespace else None,
                    user_info=user,
                    subresource=_str(request.get("subResource")),
                    resource=_field(request, "resource", "resource") or None,
                    dry_run=request.get("dryRun") is True,
                )
        except Exception as err:
            raise EvaluationError(f"policy evaluation failed: {type(err).__name__}: {err}") from err
        out = []
        for hit in hits:
            if "error" in hit.actions:
                errors.append(f"{hit.rule_set} {hit.rule}: {hit.message}")
                raise EvaluationError(
                    f"{hit.rule_set} policy {hit.rule} could not be evaluated: {hit.message}"
                )
            mode = sets[hit.rule_set].mode
            # every action a VAP binding lists applies (Deny and Audit, Warn and Audit ...)
            actions = {apply_mode(mode, a) for a in hit.actions if a in _RANK}
            for action in sorted(a for a in actions if a is not None):
                out.append(Violation(hit.rule_set, hit.rule, hit.message, "", action))
        return out


def _pod_annotations(obj: Mapping[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    ann = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(ann, dict):
        return {}
    return {
        k: v
        for k, v in ann.items()
        if k.startswith(
            ("seccomp.security.alpha.kubernetes.io/", "container.apparmor.security.beta.kubernetes.io/")
        )
    }


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _field(request: Mapping[str, Any], key: str, name: str) -> str:
    """`request[key][name]` as a string ("" when either is missing or of the wrong type)."""
    inner = request.get(key)
    return _str(inner.get(name)) if isinstance(inner, dict) else ""


def groups_of(user: Mapping[str, Any]) -> list[str]:
    groups = user.get("groups")
    return [g for g in groups if isinstance(g, str)] if isinstance(groups, list) else []

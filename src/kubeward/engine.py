"""Runs the rule catalog over an Inventory: pure, the same for files, clusters and webhooks.

Each rule sees only the objects it declares (pods, kinds, or the whole inventory), so the
cost is one pass over the pod templates plus one pass over the objects. A rule that fails
on odd input becomes a warning naming the rule and the object, never a crash.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from kubeward.config import Config
from kubeward.findings import Finding
from kubeward.inventory.index import Inventory
from kubeward.inventory.resource import Resource
from kubeward.k8s.pods import PodTemplate, is_mirror_pod
from kubeward.rules.base import Context, Hit, Rule, Scope
from kubeward.rules.pss import pss_hits

__all__ = ["EngineResult", "RulePlan", "plan_rules", "run_rules"]


@dataclass(slots=True)
class EngineResult:
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class RulePlan:
    """Rules sorted by what they look at, once per rule list: the webhook judges thousands of
    one-object inventories with the same rules, and the sort cost as much as the rules."""

    by_id: dict[str, Rule]
    pod_rules: tuple[Rule, ...]
    object_rules: dict[str, tuple[Rule, ...]]
    inventory_rules: tuple[Rule, ...]
    run_pss: bool

    def judges(self, kind: str, has_pod: bool) -> bool:
        """Whether any rule would look at a lone object of `kind` (with a pod template or not)."""
        return kind in self.object_rules or bool(self.inventory_rules) or (
            has_pod and (bool(self.pod_rules) or self.run_pss))


def plan_rules(config: Config, rules: Sequence[Rule]) -> RulePlan:
    # with no globs to match (the webhook filters its rules once) every rule is enabled
    if config.enabled_only or config.disabled:
        active = [r for r in rules if config.rule_enabled(r.id)]
    else:
        active = list(rules)
    pod_rules: list[Rule] = []
    object_rules: dict[str, list[Rule]] = defaultdict(list)
    inventory_rules: list[Rule] = []
    run_pss = False
    for r in active:  # one pass, the same lists (in the same order) as one filter per scope
        scope = r.scope
        if scope is Scope.POD:
            pod_rules.append(r)
        elif scope is Scope.OBJECT:
            for kind in r.kinds:
                object_rules[kind].append(r)
        elif scope is Scope.INVENTORY:
            inventory_rules.append(r)
        elif scope is Scope.ENGINE and r.id.startswith("pss."):
            run_pss = True
    return RulePlan(
        {r.id: r for r in active},
        tuple(pod_rules),
        {kind: tuple(found) for kind, found in object_rules.items()},
        tuple(inventory_rules),
        run_pss,
    )


def run_rules(inventory: Inventory, config: Config, rules: Sequence[Rule] | RulePlan) -> EngineResult:
    """Findings of `rules` (or of a plan made by `plan_rules` with the same config)."""
    ctx = Context(inventory, config)
    plan = rules if isinstance(rules, RulePlan) else plan_rules(config, rules)
    by_id, pod_rules, run_pss = plan.by_id, plan.pod_rules, plan.run_pss
    object_rules, inventory_rules = plan.object_rules, plan.inventory_rules
    overrides = bool(config.severity)  # severity_of is the rule's own severity without overrides
    out = EngineResult()
    findings = out.findings

    def emit(rule: Rule, res: Resource | None, hits: Iterable[Hit]) -> None:
        try:
            for hit in hits:
                findings.append(
                    Finding(
                        rule=rule,
                        resource=res,
                        message=hit.message,
                        path=hit.path,
                        severity=config.severity_of(rule.id, rule.severity) if overrides else rule.severity,
                        fixes=hit.fixes,
                    )
                )
        except Exception as err:  # noqa: BLE001 - a rule bug must not stop the scan
            where = f"{res.display_path}:{res.origin.line} {res.ref}" if res else "inventory"
            out.warnings.append(f"rule {rule.id} failed on {where}: {type(err).__name__}: {err}")

    def emit_pss(res: Resource, pod: PodTemplate) -> None:
        try:
            hits = list(pss_hits(ctx, res, pod))
        except Exception as err:  # noqa: BLE001 - a rule bug must not stop the scan
            out.warnings.append(
                f"PSS engine failed on {res.display_path}:{res.origin.line} {res.ref}: "
                f"{type(err).__name__}: {err}"
            )
            return
        for rule_id, hit in hits:
            rule = by_id.get(rule_id)
            if rule is not None:
                emit(rule, res, (hit,))

    for res, pod in inventory.pod_templates:
        if is_mirror_pod(res.kind, res.obj):
            continue
        for rule in pod_rules:
            assert rule.check is not None
            emit(rule, res, rule.check(ctx, res, pod))
        if run_pss:
            emit_pss(res, pod)
    for res in inventory:
        for rule in object_rules.get(res.kind, ()):
            assert rule.check is not None
            emit(rule, res, rule.check(ctx, res))
    for rule in inventory_rules:
        assert rule.check is not None
        try:
            pairs = list(rule.check(ctx))
        except Exception as err:  # noqa: BLE001 - a rule bug must not stop the scan
            out.warnings.append(f"rule {rule.id} failed: {type(err).__name__}: {err}")
            continue
        for res, hit in pairs:
            emit(rule, res, (hit,))
    return out

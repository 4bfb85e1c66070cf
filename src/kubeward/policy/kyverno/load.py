"""Read Kyverno `ClusterPolicy` / `Policy` objects, check their shape, expand autogen rules.

Structure checks follow what the Kyverno CRD and `pkg/validation/policy` reject outright
(rules must be named objects with a `match` and one of validate / mutate / generate /
verifyImages); a bad policy is reported by name and never stops the others.

Autogen is a port of kyverno `pkg/autogen` (`CanAutoGen`, `checkAutogenSupport`,
`generateRuleForControllers`, `generateCronJobRule`, `generateRule`, `updateGenRuleByte`):
rules that match only `Pod` (no name, names, selector or annotations in any match/exclude
block, and no other kind beside Pod) get `autogen-<rule>` for DaemonSet, Deployment, Job,
StatefulSet, ReplicaSet and ReplicationController, and `autogen-cronjob-<rule>` for CronJob
(names cut at 63 characters). Patterns and strategic-merge patches are wrapped under
`spec.template` (`spec.jobTemplate.spec.template` for CronJobs) and variable paths are
rewritten (`request.object.spec` -> `request.object.spec.template.spec`, likewise for
`metadata` and `oldObject`). The annotation `pod-policies.kyverno.io/autogen-controllers`
chooses the controllers (`none` disables). A policy with a generate rule or a
`patchesJson6902` mutation gets no autogen rules.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "AUTOGEN_ANNOTATION",
    "KyvernoPolicy",
    "PolicyLoadError",
    "compute_rules",
    "is_kyverno_policy",
    "load_policies",
]

AUTOGEN_ANNOTATION = "pod-policies.kyverno.io/autogen-controllers"
POD_CONTROLLERS = (
    "DaemonSet",
    "Deployment",
    "Job",
    "StatefulSet",
    "ReplicaSet",
    "ReplicationController",
    "CronJob",
)
_RULE_TYPES = ("validate", "mutate", "generate", "verifyImages")


class PolicyLoadError(ValueError):
    """One or more policies are malformed; `errors` names each one."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(slots=True)
class KyvernoPolicy:
    """A checked policy with its effective rules (written ones, then autogen ones)."""

    name: str
    kind: str  # ClusterPolicy or Policy
    namespace: str | None  # a namespaced Policy applies only to its namespace
    spec: dict[str, Any]
    annotations: dict[str, Any]
    rules: list[dict[str, Any]]
    source: str = ""  # file:line, when known
    obj: dict[str, Any] = field(default_factory=dict, repr=False)
    #: per rule, the kinds it can match (None: any); lets the engine skip rules cheaply
    kind_filters: list[frozenset[str] | None] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        from kubeward.policy.kyverno.match import kind_prefilter

        if not self.kind_filters:
            self.kind_filters = [kind_prefilter(r) for r in self.rules]

    def candidate_rules(self, kind: Any) -> list[dict[str, Any]]:
        """The rules whose match could select a resource of this kind."""
        if not isinstance(kind, str):
            kind = ""
        return [
            r
            for r, kinds in zip(self.rules, self.kind_filters, strict=True)
            if kinds is None or kind in kinds
        ]

    @property
    def failure_action(self) -> str:
        """`spec.validationFailureAction` (Audit by default), normalised to Audit / Enforce."""
        action = self.spec.get("validationFailureAction")
        return "Enforce" if isinstance(action, str) and action.lower() == "enforce" else "Audit"

    def rule_names(self) -> list[str]:
        return [str(r.get("name")) for r in self.rules]


def is_kyverno_policy(obj: Any) -> bool:
    return (
        isinstance(obj, dict)
        and obj.get("kind") in ("ClusterPolicy", "Policy")
        and isinstance(obj.get("apiVersion"), str)
        and obj["apiVersion"].startswith("kyverno.io/")
    )


def _check(obj: dict[str, Any]) -> tuple[str, list[str]]:
    raw_meta = obj.get("metadata")
    meta: dict[str, Any] = raw_meta if isinstance(raw_meta, dict) else {}
    raw_name = meta.get("name")
    name = raw_name if isinstance(raw_name, str) else ""
    label = f"{obj.get('kind')} {name or '<unnamed>'}"
    errs: list[str] = []
    if not name:
        errs.append(f"{label}: metadata.name is required")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return label, [*errs, f"{label}: spec must be an object"]
    rules = spec.get("rules")
    if not isinstance(rules, list) or not rules:
        return label, [*errs, f"{label}: spec.rules must be a non-empty list"]
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        where = f"{label}: spec.rules[{i}]"
        if not isinstance(rule, dict):
            errs.append(f"{where} must be an object")
            continue
        rname = rule.get("name")
        if not isinstance(rname, str) or not rname:
            errs.append(f"{where}: name is required")
        elif rname in seen:
            errs.append(f"{where}: duplicate rule name {rname!r}")
        else:
            seen.add(rname)
        if not isinstance(rule.get("match"), dict):
            errs.append(f"{where}: match is required")
        types = [t for t in _RULE_TYPES if rule.get(t) is not None]
        if len(types) != 1:
            errs.append(
                f"{where}: exactly one of validate, mutate, generate, verifyImages is required"
                f" (found {', '.join(types) or 'none'})"
            )
        validate = rule.get("validate")
        if isinstance(validate, dict):
            kinds = [
                k
                for k in (
                    "pattern",
                    "anyPattern",
                    "deny",
                    "foreach",
                    "podSecurity",
                    "cel",
                    "manifests",
                    "assert",
                )
                if validate.get(k) is not None
            ]
            if len(kinds) != 1:
                errs.append(
                    f"{where}: validate needs exactly one of pattern, anyPattern, deny, "
                    f"foreach, podSecurity, cel (found {', '.join(kinds) or 'none'})"
                )
            if validate.get("anyPattern") is not None and not isinstance(validate.get("anyPattern"), list):
                errs.append(f"{where}: validate.anyPattern must be a list")
        elif rule.get("validate") is not None:
            errs.append(f"{where}: validate must be an object")
        mutate = rule.get("mutate")
        if mutate is not None and not isinstance(mutate, dict):
            errs.append(f"{where}: mutate must be an object")
        for block, key in ((validate, "foreach"), (mutate, "foreach")):
            if isinstance(block, dict) and block.get(key) is not None and not isinstance(block[key], list):
                errs.append(f"{where}: {key} must be a list")
        errs.extend(f"{where}: {e}" for e in _filter_list_errors(rule))
        pod_security = validate.get("podSecurity") if isinstance(validate, dict) else None
        if isinstance(pod_security, dict):
            excludes = pod_security.get("exclude")
            if excludes is not None and not isinstance(excludes, list):
                errs.append(f"{where}: validate.podSecurity.exclude must be a list")
            for j, ex in enumerate(excludes if isinstance(excludes, list) else []):
                images = ex.get("images") if isinstance(ex, dict) else None
                if images is not None and not isinstance(images, list):
                    errs.append(f"{where}: validate.podSecurity.exclude[{j}].images must be a list")
    return label, errs


def _filter_list_errors(rule: dict[str, Any]) -> list[str]:
    """List-valued fields of match/exclude filters that hold something else (e.g. `kinds: 5`)."""
    errs: list[str] = []
    for section in ("match", "exclude"):
        block = rule.get(section)
        if not isinstance(block, dict):
            continue
        filters = [("", block)] + [
            (f".{key}[{i}]", f)
            for key in ("any", "all")
            if isinstance(block.get(key), list)
            for i, f in enumerate(block[key])
            if isinstance(f, dict)
        ]
        for prefix, f in filters:
            for key in ("roles", "clusterRoles", "subjects"):
                if f.get(key) is not None and not isinstance(f[key], list):
                    errs.append(f"{section}{prefix}.{key} must be a list")
            res = f.get("resources")
            if not isinstance(res, dict):
                continue
            for key in ("kinds", "names", "namespaces", "operations"):
                if res.get(key) is not None and not isinstance(res[key], list):
                    errs.append(f"{section}{prefix}.resources.{key} must be a list")
    return errs


def load_policies(objects: Iterable[Any], errors: list[str] | None = None) -> list[KyvernoPolicy]:
    """Kyverno policies among `objects` (other kinds are ignored).

    A malformed policy raises `PolicyLoadError`, unless `errors` is a list: then each
    problem is appended there (naming the policy) and the other policies still load.
    Objects may be plain dicts or `inventory.Resource`s (then errors carry file:line).
    """
    out: list[KyvernoPolicy] = []
    problems: list[str] = []
    for item in objects:
        obj = getattr(item, "obj", item)
        if not is_kyverno_policy(obj):
            continue
        where = ""
        origin = getattr(item, "origin", None)
        if origin is not None:
            where = f"{origin.source.path}:{origin.line}: " if origin.line else f"{origin.source.path}: "
        _label, errs = _check(obj)
        if errs:
            problems.extend(f"{where}{e}" for e in errs)
            continue
        meta = obj["metadata"]
        annotations = meta.get("annotations") if isinstance(meta.get("annotations"), dict) else {}
        spec = obj["spec"]
        ns = meta.get("namespace") if obj["kind"] == "Policy" else None
        if obj["kind"] == "Policy" and not ns:
            ns = "default"
        policy = KyvernoPolicy(
            meta["name"],
            obj["kind"],
            ns,
            spec,
            dict(annotations),
            compute_rules(spec, annotations),
            where.rstrip(": "),
            obj,
        )
        out.append(policy)
    if problems and errors is None:
        raise PolicyLoadError(problems)
    if errors is not None:
        errors.extend(problems)
    return out


# --- autogen (pkg/autogen) --------------------------------------------------------------------


def _descriptions(rule: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for section in ("match", "exclude"):
        block = rule.get(section)
        if not isinstance(block, dict):
            continue
        res = block.get("resources")
        if isinstance(res, dict):
            out.append((section, res))
        for key in ("any", "all"):
            items = block.get(key)
            if isinstance(items, list):
                for f in items:
                    if isinstance(f, dict) and isinstance(f.get("resources"), dict):
                        out.append((section, f["resources"]))
    return out


def _kinds(desc: dict[str, Any]) -> list[str]:
    kinds = desc.get("kinds")
    return [k for k in kinds if isinstance(k, str)] if isinstance(kinds, list) else []


def _bare_kind(k: str) -> str:
    from kubeward.policy.kyverno.match import parse_kind_selector

    return parse_kind_selector(k)[2]


def can_autogen(spec: dict[str, Any]) -> bool:
    """`CanAutoGen`: do this policy's rules qualify for autogen rules at all?"""
    needed = False
    for rule in spec.get("rules") or []:
        if not isinstance(rule, dict):
            return False
        if rule.get("generate") is not None:
            return False
        mutate = rule.get("mutate")
        if isinstance(mutate, dict):
            if mutate.get("patchesJson6902"):
                return False
            foreach = mutate.get("foreach")
            for fe in foreach if isinstance(foreach, list) else []:
                if isinstance(fe, dict) and fe.get("patchesJson6902"):
                    return False
        for _section, desc in _descriptions(rule):
            kinds = [_bare_kind(k) for k in _kinds(desc)]
            if (
                desc.get("name")
                or desc.get("names")
                or desc.get("selector") is not None
                or desc.get("annotations")
                or (len(kinds) > 1 and "Pod" in kinds)
            ):
                return False
            needed = needed or "Pod" in kinds
    return needed


def _rule_kinds(rule: dict[str, Any], section: str) -> list[str]:
    return [_bare_kind(k) for s, d in _descriptions(rule) if s == section for k in _kinds(d)]


def _autogen_name(prefix: str, name: str) -> str:
    full = f"{prefix}-{name}"
    return full[:63]


def _replace_kinds(block: Any, kinds: list[str], *, only_if_set: bool) -> Any:
    if not isinstance(block, dict):
        return block
    block = copy.deepcopy(block)
    for key in ("any", "all"):
        items = block.get(key)
        if isinstance(items, list) and items:
            for f in items:
                if isinstance(f, dict) and isinstance(f.get("resources"), dict):
                    f["resources"]["kinds"] = list(kinds)
            return block
    res = block.get("resources")
    if isinstance(res, dict) and (res.get("kinds") or not only_if_set):
        res["kinds"] = list(kinds)
    return block


def _generate_rule(
    name: str, rule: dict[str, Any] | None, tpl_key: str, kinds: list[str]
) -> dict[str, Any] | None:
    """`generateRule`: rename, retarget the kinds, wrap patterns under spec.<tpl_key>."""
    if rule is None:
        return None
    new = copy.deepcopy(rule)
    new["name"] = name
    new["match"] = _replace_kinds(new.get("match"), kinds, only_if_set=False)
    if "exclude" in new:
        new["exclude"] = _replace_kinds(new.get("exclude"), kinds, only_if_set=True)
    mutate = new.get("mutate")
    if isinstance(mutate, dict):
        if mutate.get("patchStrategicMerge") is not None:
            new["mutate"] = {"patchStrategicMerge": {"spec": {tpl_key: mutate["patchStrategicMerge"]}}}
            return new
        if isinstance(mutate.get("foreach"), list):
            fes = []
            for fe in mutate["foreach"]:
                if not isinstance(fe, dict):
                    continue
                item = {k: fe[k] for k in ("list", "context", "preconditions") if k in fe}
                if fe.get("patchStrategicMerge") is not None:
                    item["patchStrategicMerge"] = {"spec": {tpl_key: fe["patchStrategicMerge"]}}
                fes.append(item)
            new["mutate"] = {"foreach": fes}
            return new
        return None
    validate = new.get("validate")
    if not isinstance(validate, dict):
        return None
    keep = {k: validate[k] for k in ("message", "failureAction", "allowExistingViolations") if k in validate}
    if validate.get("pattern") is not None:
        new["validate"] = {**keep, "pattern": {"spec": {tpl_key: validate["pattern"]}}}
        return new
    if validate.get("deny") is not None:
        new["validate"] = {**keep, "deny": validate["deny"]}
        return new
    if validate.get("podSecurity") is not None:
        new["validate"] = {**keep, "podSecurity": validate["podSecurity"]}
        return new
    if validate.get("anyPattern") is not None:
        new["validate"] = {**keep, "anyPattern": [{"spec": {tpl_key: p}} for p in validate["anyPattern"]]}
        return new
    if validate.get("foreach"):
        new["validate"] = {**keep, "foreach": validate["foreach"]}
        return new
    return None


def _for_controllers(rule: dict[str, Any], controllers: list[str]) -> dict[str, Any] | None:
    """`generateRuleForControllers`."""
    name = rule.get("name")
    if not isinstance(name, str) or name.startswith("autogen-") or not controllers:
        return None
    match_kinds = _rule_kinds(rule, "match")
    exclude_kinds = _rule_kinds(rule, "exclude")
    if "Pod" not in match_kinds or (exclude_kinds and "Pod" not in exclude_kinds):
        return None
    return _generate_rule(_autogen_name("autogen", name), rule, "template", controllers)


def _rewrite(rule: dict[str, Any], kind: str) -> dict[str, Any]:
    """`updateGenRuleByte`: shift variable paths to the pod template."""
    text = json.dumps(rule)
    if kind == "Pod":
        for old, new in (
            ("request.object.spec", "request.object.spec.template.spec"),
            ("request.oldObject.spec", "request.oldObject.spec.template.spec"),
            ("request.object.metadata", "request.object.spec.template.metadata"),
            ("request.oldObject.metadata", "request.oldObject.spec.template.metadata"),
        ):
            text = text.replace(old, new)
    else:
        for old, new in (
            ("request.object.spec", "request.object.spec.jobTemplate.spec.template.spec"),
            ("request.oldObject.spec", "request.oldObject.spec.jobTemplate.spec.template.spec"),
            ("request.object.metadata", "request.object.spec.jobTemplate.spec.template.metadata"),
            ("request.oldObject.metadata", "request.oldObject.spec.jobTemplate.spec.template.metadata"),
        ):
            text = text.replace(old, new)
    result: dict[str, Any] = json.loads(text)
    return result


def compute_rules(spec: dict[str, Any], annotations: dict[str, Any]) -> list[dict[str, Any]]:
    """`ComputeRules`: the written rules followed by their autogen rules."""
    rules = [r for r in spec.get("rules") or [] if isinstance(r, dict)]
    if not can_autogen(spec):
        return rules
    wanted = annotations.get(AUTOGEN_ANNOTATION)
    if isinstance(wanted, str):
        if wanted.strip().lower() == "none":
            return rules
        controllers = [c.strip() for c in wanted.split(",") if c.strip()]
        if "all" in controllers:
            controllers = list(POD_CONTROLLERS)
    else:
        controllers = list(POD_CONTROLLERS)
    others = [c for c in controllers if c != "CronJob" and c in POD_CONTROLLERS]
    out = list(rules)
    for rule in rules:
        gen = _for_controllers(rule, others)
        if gen is not None:
            out.append(_rewrite(gen, "Pod"))
        if "CronJob" in controllers:
            job = _for_controllers(rule, ["Job"])
            if job is not None:
                cron = _generate_rule(
                    _autogen_name("autogen-cronjob", str(rule["name"])), job, "jobTemplate", ["CronJob"]
                )
                if cron is not None:
                    out.append(_rewrite_cron(cron))
    return out


def _rewrite_cron(rule: dict[str, Any]) -> dict[str, Any]:
    """The CronJob rule wraps the Job rule, whose paths are still the Pod's."""
    return _rewrite(rule, "Cronjob")

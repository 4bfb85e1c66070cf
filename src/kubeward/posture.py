"""The checklist posture of a scan: per item a status, evidence and next action; one score.

Pure: `assess(report)` reads only the ScanReport (its inventory, enabled rules and active
findings). The weighting is documented in docs/posture.md; in short:

* An item is `unknown` when the input holds nothing its rules could observe (decided from
  the inventory, see `_checked`), or when no rule of the item is enabled (item 12 has none).
* Otherwise `met` (no active finding), `not-met` (a critical or high finding, or at least
  half of the checked objects affected) or `partly`.
* Item score = 1 - min(1, sum over affected objects of the weight of the object's worst
  severity / objects checked), capped at 0.5 when a critical finding remains and at 0.75
  when a high one does.
* Posture score = round(100 * sum(w_i * s_i) / sum(w_i)) over the items that are not
  unknown, with w_i = 14 - i (the checklist's priority order: item 1 weighs 13, item 13
  weighs 1). Findings on an item the inventory says is unknown count that item at 0.

The score is monotone: adding a finding never raises it (tests/test_posture.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from kubeward.checklist import ITEMS, Item
from kubeward.findings import Finding, Severity
from kubeward.inventory.index import Inventory
from kubeward.scan import ScanReport

__all__ = [
    "ITEM_WEIGHTS",
    "SEVERITY_WEIGHTS",
    "STATUSES",
    "ItemPosture",
    "Posture",
    "assess",
]

MET, PARTLY, NOT_MET, UNKNOWN = "met", "partly", "not-met", "unknown"
STATUSES = (MET, PARTLY, NOT_MET, UNKNOWN)

#: Priority order of the checklist: item 1 (RBAC) weighs 13, item 13 (CIS audits) weighs 1.
ITEM_WEIGHTS: dict[int, int] = {it.number: 14 - it.number for it in ITEMS}

#: Penalty of an affected object, by the worst severity of its findings in the item.
SEVERITY_WEIGHTS: dict[Severity, float] = {
    Severity.CRITICAL: 1.0,
    Severity.HIGH: 0.6,
    Severity.MEDIUM: 0.3,
    Severity.LOW: 0.1,
    Severity.INFO: 0.02,
}

#: Highest item score while a finding of this severity remains.
_CAPS: dict[Severity, float] = {Severity.CRITICAL: 0.5, Severity.HIGH: 0.75}

_MAX_WORST = 5
_NO_OBJECT = "(input)"


@dataclass(slots=True, frozen=True)
class ItemPosture:
    number: int
    slug: str
    title: str
    status: str  # met, partly, not-met, unknown
    findings: int  # active findings of the item's rules
    by_severity: dict[str, int]  # severity label -> count, critical first, every severity
    worst: tuple[str, ...]  # refs of the worst objects (at most 5)
    checked: int  # objects the item's rules could observe
    next_action: str
    score: float | None = None  # 0..1, None when unknown

    @property
    def known(self) -> bool:
        return self.status != UNKNOWN


@dataclass(slots=True, frozen=True)
class Posture:
    score: int  # 0..100
    items: tuple[ItemPosture, ...]

    def item(self, number: int) -> ItemPosture:
        return self.items[number - 1]


# --------------------------------------------------------------------------- coverage


def _checked(inventory: Inventory, whole_cluster: bool) -> dict[int, int]:
    """Objects each item's rules can observe in this input (0: the item is unknown)."""
    from kubeward.rules.controlplane import static_pod

    pods = inventory.pod_templates
    workloads = len(pods)
    namespaces = len(inventory.of_kind("Namespace"))
    bindings = len(inventory.of_kind("RoleBinding")) + len(inventory.of_kind("ClusterRoleBinding"))
    secrets = len(inventory.of_kind("Secret"))
    configmaps = len(inventory.of_kind("ConfigMap"))
    workload_ns = {res.namespace or "default" for res, _ in pods}
    statics = [sp for sp in (static_pod(r) for r in inventory.of_kind("Pod")) if sp is not None]
    apiservers = sum(sp.component == "kube-apiserver" for sp in statics)
    kubelets = len(inventory.of_kind("KubeletConfiguration")) + sum(
        1 for r in inventory.of_kind("ConfigMap", "kube-system")
        if r.name == "kubelet-config" or r.name.startswith("kubelet-config-1."))
    cluster = 1 if whole_cluster else 0
    return {
        1: workloads + bindings + secrets,
        2: workloads + configmaps + secrets + cluster,
        3: workloads + (namespaces if workloads else 0),
        4: (len(workload_ns) + workloads) if workloads else 0,
        5: workloads,
        6: workloads,
        7: cluster,
        8: apiservers,
        9: apiservers,
        10: cluster,
        11: cluster,
        12: 0,
        13: len(statics) + kubelets,
    }


# --------------------------------------------------------------------------- actions


_UNKNOWN_ACTION: dict[int, str] = {
    1: "Scan the RBAC bindings and workloads (e.g. `kubeward audit` on the cluster).",
    2: "Scan the workloads, ConfigMaps and Secrets, or the whole cluster (`kubeward audit`).",
    3: "Scan the workloads and their Namespaces; `kubeward pss plan` then picks each "
       "namespace's level.",
    4: "Scan the namespaces that run workloads together with their NetworkPolicies.",
    5: "Scan the workloads to check their images.",
    6: "Scan the workloads to check their image references.",
    7: "Scan the whole cluster (`kubeward audit`, or a dump including kube-system) to see "
       "whether Falco / Tetragon runs.",
    8: "Scan the control plane's static pods (/etc/kubernetes/manifests) or run "
       "`kubeward audit` to check the API server's audit flags.",
    9: "Scan the kube-apiserver static pod (/etc/kubernetes/manifests/kube-apiserver.yaml) to "
       "check --encryption-provider-config.",
    10: "Scan the whole cluster (`kubeward audit`) to see whether a mesh provides mTLS.",
    11: "Scan the whole cluster (`kubeward audit`) to see whether Kyverno, Gatekeeper or "
        "ValidatingAdmissionPolicies enforce policies.",
    12: "Not assessed by kubeward yet: write and rehearse an incident response playbook "
        "(isolate a workload, rotate credentials, keep evidence).",
    13: "Scan the control-plane static pods and the kubelet configuration, or run "
        "`kubeward audit` regularly.",
}

_MET_ACTION: dict[int, str] = {
    3: "Keep it enforced: label every namespace pod-security.kubernetes.io/enforce "
       "(`kubeward pss plan` shows the strictest level each can take).",
}


def _next_action(number: int, status: str, findings: list[Finding]) -> str:
    if status == UNKNOWN:
        return _UNKNOWN_ACTION[number]
    if not findings:
        return _MET_ACTION.get(number, "None: keep it that way (rescan in CI and on the cluster).")
    counts = Counter(f.rule.id for f in findings)
    worst = max(findings, key=lambda f: (f.severity, counts[f.rule.id], f.rule.id))
    action = f"{worst.rule.id} ({counts[worst.rule.id]}×): {worst.rule.remediation}"
    if number == 3:
        action += " Then run `kubeward pss plan` for the level each namespace can enforce."
    return action


# --------------------------------------------------------------------------- assessment


def _ref(f: Finding) -> str:
    return f.resource.ref if f.resource is not None else _NO_OBJECT


def _item_score(findings: Iterable[Finding], checked: int) -> tuple[float, dict[int, Severity]]:
    """The item score, and the worst severity per affected object (keyed by object identity:
    two objects with the same ref in different files are two objects)."""
    worst: dict[int, Severity] = {}
    for f in findings:
        key = id(f.resource)
        if key not in worst or f.severity > worst[key]:
            worst[key] = f.severity
    penalty = sum(SEVERITY_WEIGHTS[s] for s in worst.values()) / max(checked, 1)
    score = 1.0 - min(1.0, penalty)
    top = max(worst.values(), default=None)
    for sev, cap in _CAPS.items():
        if top is not None and top >= sev:
            score = min(score, cap)
    return score, worst


def _status(findings: list[Finding], affected: int, checked: int) -> str:
    if not findings:
        return MET
    if any(f.severity >= Severity.HIGH for f in findings) or affected * 2 >= max(checked, 1):
        return NOT_MET
    return PARTLY


def _assess_item(it: Item, findings: list[Finding], checked: int, has_rules: bool) -> ItemPosture:
    by_sev = {sev.label: 0 for sev in sorted(Severity, reverse=True)}
    for f in findings:
        by_sev[f.severity.label] += 1
    observable = has_rules and checked > 0
    if not observable and not findings:
        return ItemPosture(it.number, it.slug, it.title, UNKNOWN, 0, by_sev, (), checked,
                           _next_action(it.number, UNKNOWN, []), None)
    score, worst = _item_score(findings, checked)
    if not observable:
        score = 0.0  # findings where the inventory saw nothing to check: count it as failed
    per_object = Counter(id(f.resource) for f in findings)
    refs = {id(f.resource): _ref(f) for f in findings}
    ranked: list[str] = []
    for key in sorted(worst, key=lambda k: (-worst[k], -per_object[k], refs[k])):
        if refs[key] not in ranked:
            ranked.append(refs[key])
    status = _status(findings, len(worst), checked)
    return ItemPosture(it.number, it.slug, it.title, status, len(findings), by_sev,
                       tuple(ranked[:_MAX_WORST]), checked,
                       _next_action(it.number, status, findings), score)


def combine(items: Iterable[ItemPosture]) -> int:
    """The 0..100 posture score of item postures (unknown items left out; none known: 0)."""
    total = weight = 0.0
    for ip in items:
        if ip.score is None:
            continue
        w = ITEM_WEIGHTS[ip.number]
        total += w * min(1.0, max(0.0, ip.score))
        weight += w
    if weight == 0:
        return 0
    return max(0, min(100, int(100 * total / weight + 0.5)))


def assess(report: ScanReport) -> Posture:
    """The checklist posture of a scan (see the module docstring and docs/posture.md)."""
    from kubeward.rules.stack import cluster_evidence

    whole = cluster_evidence(report.inventory) is not None
    checked = _checked(report.inventory, whole)
    with_rules = {r.checklist for r in report.rules}
    by_item: dict[int, list[Finding]] = {it.number: [] for it in ITEMS}
    for f in report.active:
        by_item.setdefault(f.rule.checklist, []).append(f)
    items = tuple(
        _signing_needs_verification(report.inventory, ip) if ip.number == 6 else ip
        for ip in (
            _assess_item(it, by_item[it.number], checked[it.number], it.number in with_rules)
            for it in ITEMS
        )
    )
    return Posture(combine(items), items)


def _verifies_images(inventory: Inventory) -> bool:
    """An image-verification policy is present (Kyverno, Sigstore policy-controller,
    Connaisseur, Ratify: `supply.policies` recognises each)."""
    from kubeward.supply.policies import find_policies

    return bool(find_policies(inventory))


def _signing_needs_verification(inventory: Inventory, ip: ItemPosture) -> ItemPosture:
    """Pinned digests are not signatures: item 6 is met only when images are verified.

    Without a verification policy the item is at most partly met and its score at most
    0.75, with or without findings (so adding a finding can never raise the score)."""
    if ip.score is None or _verifies_images(inventory):
        return ip
    status = PARTLY if ip.status == MET else ip.status
    action = ip.next_action if ip.status != MET else (
        "Images are pinned, but nothing verifies their signatures: add a Kyverno verifyImages "
        "rule or a Sigstore policy-controller ClusterImagePolicy.")
    return ItemPosture(ip.number, ip.slug, ip.title, status, ip.findings, ip.by_severity,
                       ip.worst, ip.checked, action, min(ip.score, 0.75))

"""`kubeward plan`: the ordered hardening roadmap for this input, with what each step breaks.

The order is the checklist's "where to start": RBAC audit, secrets, Pod Security baseline
then restricted, default-deny NetworkPolicies, image gates at admission, runtime detection.
Each step carries the commands or YAML that perform it and the objects it would break or
leave exposed, computed from the same inventory and findings as the scan. Pure: takes a
ScanReport, returns Steps; the CLI prints them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kubeward.findings import Finding
from kubeward.scan import ScanReport

__all__ = ["Step", "build_plan"]


@dataclass(slots=True)
class Step:
    number: int
    checklist: int
    title: str
    why: str
    status: str  # "todo" or "done" (nothing to do for this input)
    actions: list[str] = field(default_factory=list)  # commands to run
    manifests: list[dict[str, Any]] = field(default_factory=list)  # YAML to apply
    breaks: list[str] = field(default_factory=list)  # what the step would break
    objects: list[str] = field(default_factory=list)  # objects the step is about


def _by_rule(findings: Iterable[Finding], *prefixes: str) -> list[Finding]:
    return [f for f in findings if f.rule.id.startswith(prefixes)]


def _refs(findings: Iterable[Finding], limit: int = 20) -> list[str]:
    seen: dict[str, None] = {}
    for f in findings:
        seen.setdefault(f.resource.ref if f.resource else "(input)", None)
    refs = list(seen)
    return refs[:limit] + ([f"… and {len(refs) - limit} more"] if len(refs) > limit else [])


def build_plan(report: ScanReport) -> list[Step]:
    active = report.active
    steps = [
        _rbac(active),
        _secrets(active),
        *_pod_security(report),
        _network_policies(report, active),
        _image_gates(report, active),
        _runtime(report, active),
    ]
    for i, step in enumerate(steps, start=1):
        step.number = i
    return steps


def _rbac(active: list[Finding]) -> Step:
    admin = _by_rule(active, "rbac.cluster-admin", "rbac.anonymous-binding")
    tokens = _by_rule(active, "rbac.legacy-service-account-token", "rbac.automount-")
    step = Step(0, 1, "RBAC audit: remove cluster-admin and anonymous bindings",
                "A cluster-admin binding on a service account or a broad group hands the "
                "whole cluster to whoever holds one token.", "done" if not (admin or tokens)
                else "todo")
    for f in admin:
        res = f.resource
        if res is not None and res.kind in ("ClusterRoleBinding", "RoleBinding"):
            ns = f" -n {res.namespace}" if res.namespace else ""
            step.actions.append(f"kubectl delete {res.kind.lower()} {res.name}{ns}  "
                                "# after granting the subjects a least-privilege role")
            subjects = res.obj.get("subjects")
            names = ", ".join(f"{s.get('kind')}/{s.get('name')}"
                              for s in (subjects if isinstance(subjects, list) else [])
                              if isinstance(s, dict))
            step.breaks.append(f"{res.ref}: {names or 'its subjects'} lose cluster-admin")
    if tokens:
        step.actions.append("set automountServiceAccountToken: false where pods do not call the "
                            "API; replace legacy token Secrets with TokenRequest (kubectl create "
                            "token)")
    step.objects = _refs(admin + tokens)
    return step


def _secrets(active: list[Finding]) -> Step:
    found = _by_rule(active, "secrets.")
    step = Step(0, 2, "Secrets out of Git and out of env vars",
                "Anything committed stays in Git history; env vars leak into logs and child "
                "processes.", "done" if not found else "todo")
    if found:
        step.actions += [
            "rotate every credential listed below (they are exposed already)",
            "move values to a Secret delivered by External Secrets Operator, Sealed Secrets "
            "or SOPS; mount Secrets as files instead of env vars",
        ]
        step.breaks.append("pods reading the moved values need their new Secret mounted before "
                           "the literals are removed")
    step.objects = _refs(found)
    return step


def _pod_security(report: ScanReport) -> list[Step]:
    from kubeward.podsecurity import plan_namespaces

    rows = plan_namespaces(report.inventory, report.config.pss_version)
    baseline = Step(0, 3, "Pod Security: enforce baseline on every namespace",
                    "baseline blocks the known privilege escalations (privileged, host "
                    "namespaces, hostPath) at admission.", "todo")
    restricted = Step(0, 3, "Pod Security: enforce restricted where workloads allow it",
                      "restricted is the production target of the checklist.", "todo")
    for row in rows:
        current = row.current.enforce.level if row.current is not None else "privileged"
        blocked_b = row.plan.blocking.get("baseline", ())
        blocked_r = row.plan.blocking.get("restricted", ())
        if current not in ("baseline", "restricted"):
            baseline.actions.append(
                f"kubectl label --overwrite namespace {row.namespace} "
                "pod-security.kubernetes.io/enforce=baseline "
                "pod-security.kubernetes.io/warn=restricted")
            for b in blocked_b:
                res = row.workloads[b.index]
                checks = ", ".join(sorted({v.check for v in b.violations}))
                baseline.breaks.append(f"{res.ref} would be rejected ({checks})")
        if current != "restricted":
            if not blocked_r:
                restricted.actions.append(
                    f"kubectl label --overwrite namespace {row.namespace} "
                    "pod-security.kubernetes.io/enforce=restricted")
            else:
                for b in blocked_r:
                    res = row.workloads[b.index]
                    checks = ", ".join(sorted({v.check for v in b.violations}))
                    restricted.breaks.append(f"{res.ref} would be rejected ({checks})")
                restricted.actions.append(
                    f"fix the {len(blocked_r)} workload(s) of {row.namespace} listed below, then: "
                    f"kubectl label --overwrite namespace {row.namespace} "
                    "pod-security.kubernetes.io/enforce=restricted")
    for step in (baseline, restricted):
        if not step.actions:
            step.status = "done"
    return [baseline, restricted]


def _network_policies(report: ScanReport, active: list[Finding]) -> Step:
    from kubeward.generate.seeds import default_deny, dns_egress

    missing = _by_rule(active, "netpol.default-deny-")
    step = Step(0, 4, "NetworkPolicies: default deny, then explicit allows",
                "Kubernetes allows all pod traffic until a policy selects the pod.",
                "done" if not missing else "todo")
    namespaces: dict[str, None] = {}
    for f in missing:
        res = f.resource
        if res is not None:
            namespaces.setdefault(res.name if res.kind == "Namespace" else
                                  (res.namespace or "default"), None)
    workloads: dict[str, list[str]] = defaultdict(list)
    for res, _pod in report.inventory.pod_templates:
        workloads[res.namespace or "default"].append(res.ref)
    for ns in namespaces:
        step.manifests += [default_deny(ns), dns_egress(ns)]
        names = workloads.get(ns, [])
        if names:
            step.breaks.append(f"namespace {ns}: all traffic of {len(names)} workload(s) except "
                               "DNS until allow policies are added: " + ", ".join(names[:10])
                               + (" …" if len(names) > 10 else ""))
    if namespaces:
        step.actions.append("kubeward plan -o yaml | kubectl apply -f -   # after adding the "
                            "allow policies each workload needs")
    step.objects = [f"Namespace/{ns}" for ns in namespaces]
    return step


def _image_gates(report: ScanReport, active: list[Finding]) -> Step:
    from kubeward.generate.seeds import image_gate_policy

    images = _by_rule(active, "image.")
    engine = _by_rule(active, "stack.admission-policy-engine")
    step = Step(0, 5, "Image gates at admission (tags, registries, scanning)",
                "Only scanned, pinned images from registries you control should run.",
                "done" if not (images or engine) else "todo")
    if images or engine:
        step.manifests.append(image_gate_policy(report.config.allowed_registries))
        step.actions.append("install Kyverno (helm install kyverno kyverno/kyverno -n kyverno "
                            "--create-namespace), apply the policy in Audit mode, then set "
                            "validationFailureAction: Enforce once the report is clean")
        gated = [f for f in images if f.rule.id in ("image.latest-tag", "image.allowed-registry")]
        step.breaks += [f"{ref} would be rejected once enforced" for ref in _refs(gated)]
    step.objects = _refs(images)
    return step


def _runtime(report: ScanReport, active: list[Finding]) -> Step:
    missing = _by_rule(active, "stack.runtime-detection")
    step = Step(0, 7, "Runtime detection (Falco or Tetragon) and audit-log alerts",
                "Admission stops what is declared; runtime detection catches what happens.",
                "done" if not missing else "todo")
    if missing:
        step.actions += [
            "helm install falco falcosecurity/falco -n falco --create-namespace "
            "--set driver.kind=modern_ebpf",
            "route the API server audit log to your SIEM (see the audit-logging findings)",
        ]
    from kubeward.posture import assess

    item7 = assess(report).items[6]
    if item7.status == "unknown":
        step.status = "unknown"
        step.actions = ["scan the whole cluster (kubeward audit) to tell whether Falco or "
                        "Tetragon runs"]
    return step

"""Pod Security Standards as rules: one rule per upstream check, judged by the PSS engine.

The engine (`kubeward.pss`) evaluates each pod once at the configured level and version
(default: restricted, latest); each violation becomes a finding of the rule of its check.
Rule ids name the level the check belongs to: `pss.baseline.privileged`,
`pss.restricted.run-as-non-root`. CIS 5.2.x numbers follow the CIS Kubernetes Benchmark
v1.9 section "Pod Security Standards"; MITRE ids are ATT&CK for Containers techniques.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubeward.findings import Severity
from kubeward.inventory.resource import Resource
from kubeward.k8s.pods import PodTemplate

if TYPE_CHECKING:
    from kubeward import pss
from kubeward.rules.base import (
    REGISTRY,
    Context,
    Hit,
    Refs,
    Rule,
    Scope,
    inventory_rule,
    register,
)

__all__ = ["PSS_RULES", "pss_hits", "rule_id_for"]

NSA_POD = "NSA-CISA: Kubernetes Pod security"
H, M, L = Severity.HIGH, Severity.MEDIUM, Severity.LOW


@dataclass(slots=True, frozen=True)
class _Meta:
    slug: str
    title: str
    severity: Severity
    cis: tuple[str, ...]
    mitre: tuple[str, ...]
    remediation: str


# Upstream check ID -> rule metadata.
_META: dict[str, _Meta] = {
    "windowsHostProcess": _Meta("windows-host-process", "Windows HostProcess container", H,
                                ("5.2.11",), ("T1611",),
                                "Do not set windowsOptions.hostProcess: true."),
    "hostNamespaces": _Meta("host-namespaces", "Pod shares the host's namespaces", H,
                            ("5.2.3", "5.2.4", "5.2.5"), ("T1611",),
                            "Remove hostNetwork, hostPID and hostIPC (or set them to false)."),
    "privileged": _Meta("privileged", "Privileged container", Severity.CRITICAL, ("5.2.2",),
                        ("T1611", "T1610"),
                        "Remove securityContext.privileged or set it to false; grant only the "
                        "specific capability the workload needs."),
    "capabilities_baseline": _Meta("capabilities", "Capabilities beyond the baseline set", H,
                                   ("5.2.9", "5.2.8"), ("T1611",),
                                   "Add no capabilities outside the default set (no SYS_ADMIN, "
                                   "NET_ADMIN …)."),
    "hostPathVolumes": _Meta("host-path-volumes", "hostPath volume", H, ("5.2.12",),
                             ("T1611", "T1005"),
                             "Replace hostPath with emptyDir, a PVC, a ConfigMap or a CSI volume."),
    "hostPorts": _Meta("host-ports", "Container binds a host port", M, ("5.2.13",), ("T1133",),
                       "Remove hostPort; expose the pod through a Service."),
    "appArmorProfile": _Meta("apparmor", "AppArmor profile disabled or overridden", M, (),
                             ("T1562.001",),
                             "Use RuntimeDefault or a Localhost AppArmor profile, never "
                             "Unconfined."),
    "seLinuxOptions": _Meta("selinux", "Custom SELinux type or user/role", M, (), ("T1611",),
                            "Use only the allowed SELinux types (container_t, container_init_t, "
                            "container_kvm_t, container_engine_t) and no user or role."),
    "procMount": _Meta("proc-mount", "Unmasked /proc mount", M, (), ("T1611",),
                       "Leave procMount unset or Default."),
    "procMount_restricted": _Meta("proc-mount", "Unmasked /proc mount", M, (), ("T1611",),
                                  "Leave procMount unset or Default."),
    "seccompProfile_baseline": _Meta("seccomp", "Seccomp explicitly Unconfined", M, ("5.7.2",),
                                     ("T1611",),
                                     "Set seccompProfile.type to RuntimeDefault or Localhost."),
    "sysctls": _Meta("sysctls", "Unsafe sysctl", M, (), ("T1611",),
                     "Set only the safe, namespaced sysctls."),
    "hostProbesAndHostLifecycle": _Meta("host-probes", "Probe or lifecycle hook targets another "
                                         "host", M, (), ("T1090",),
                                         "Leave the host field of probes and lifecycle handlers "
                                         "unset."),
    "restrictedVolumes": _Meta("volume-types", "Volume type outside the restricted set", L,
                               ("5.2.12",), ("T1611",),
                               "Use only configMap, csi, downwardAPI, emptyDir, ephemeral, "
                               "persistentVolumeClaim, projected and secret volumes."),
    "allowPrivilegeEscalation": _Meta("allow-privilege-escalation",
                                      "Privilege escalation allowed", M, ("5.2.6",),
                                      ("T1548",),
                                      "Set securityContext.allowPrivilegeEscalation: false on "
                                      "every container."),
    "runAsNonRoot": _Meta("run-as-non-root", "Container may run as root", M, ("5.2.7",),
                          ("T1611",),
                          "Set securityContext.runAsNonRoot: true (pod level) and run as a "
                          "non-zero UID."),
    "runAsUser": _Meta("run-as-user", "Container runs as UID 0", M, ("5.2.7",), ("T1611",),
                       "Set runAsUser to a non-zero UID, or leave it unset with runAsNonRoot."),
    "seccompProfile_restricted": _Meta("seccomp", "Seccomp profile not set", M, ("5.7.2",),
                                       ("T1611",),
                                       "Set securityContext.seccompProfile.type: RuntimeDefault "
                                       "at pod level."),
    "capabilities_restricted": _Meta("capabilities", "Capabilities not dropped", M,
                                     ("5.2.8", "5.2.10"), ("T1611",),
                                     "Set capabilities.drop: [ALL]; add back only "
                                     "NET_BIND_SERVICE if needed."),
}


def _fallback(check: str) -> _Meta:
    slug = "".join("-" + ch.lower() if ch.isupper() else ch for ch in check).strip("-")
    return _Meta(slug.replace("_", "-"), check, M, (), (), "See the Pod Security Standards.")


def rule_id_for(check: str, level: str) -> str:
    return f"pss.{level}.{_META.get(check, _fallback(check)).slug}"


def _register_all() -> tuple[Rule, ...]:
    from kubeward import pss

    rules: list[Rule] = []
    for chk in pss.ALL_CHECKS:
        meta = _META.get(chk.id, _fallback(chk.id))
        rule_id = rule_id_for(chk.id, chk.level)
        if rule_id in REGISTRY:
            continue
        rules.append(
            register(
                Rule(
                    id=rule_id,
                    title=meta.title,
                    severity=meta.severity,
                    checklist=3,
                    description=f"Pod Security Standard ({chk.level}), upstream check "
                    f"{chk.id}: {getattr(chk, 'description', '') or meta.title}.",
                    remediation=meta.remediation,
                    scope=Scope.ENGINE,
                    refs=Refs(cis=meta.cis, nsa=(NSA_POD,), mitre=meta.mitre),
                )
            )
        )
    return tuple(rules)


PSS_RULES = _register_all()


def pss_hits(ctx: Context, res: Resource, pod: PodTemplate) -> Iterator[tuple[str, Hit]]:
    """Evaluate one pod once; yield (rule id, hit) per violated check."""
    from kubeward import pss

    level, version = ctx.config.pss_level, ctx.config.pss_version
    violations = pss.evaluate(pod.metadata, pod.spec, level=level, version=version)
    if violations and level == "restricted":
        # The verdict is upstream's restricted verdict, exactly. But restricted checks
        # override some baseline ones (restricted volume types replace hostPath,
        # capabilities_restricted replaces capabilities_baseline), which would report a
        # hostPath mount as a low "volume type"; for a pod restricted rejects anyway, the
        # baseline violations are added so each keeps its own, more severe, baseline rule.
        violations = pss.evaluate(pod.metadata, pod.spec, level="baseline", version=version) + [
            v for v in violations if v.level == "restricted"
        ]
    for v in violations:
        path = _violation_path(v, pod.spec)
        yield rule_id_for(v.check, v.level), Hit(v.message, (*pod.spec_path, *path))


_NAMED = re.compile(r'(?:containers?|volumes?) ((?:"[^"]*"(?:, )?)+)')


def _violation_path(violation: pss.Violation, spec: Mapping[str, Any]) -> tuple[str | int, ...]:
    """The most specific field of the pod spec a violation is about (for its line).

    Upstream reports reasons, not fields: the check's field list is expanded over this pod
    and the first field that is set, on a container or volume named in the detail, wins;
    else the named container, else the pod securityContext, else the spec itself.
    """
    from kubeward import pss

    names = {n for m in _NAMED.finditer(violation.detail) for n in re.findall(r'"([^"]*)"', m.group(1))}
    check = pss.CHECKS_BY_ID.get(violation.check)
    for template in check.fields if check is not None else ():
        field = template.split(" ", 1)[0]
        if not field.startswith("spec."):
            continue
        found = _first_set(spec, field[len("spec."):].split("."), (), names)
        if found is not None:
            return found
    for field in ("initContainers", "containers", "ephemeralContainers"):
        items = spec.get(field)
        for i, item in enumerate(items if isinstance(items, list) else []):
            if isinstance(item, dict) and _named(item, names):
                return (field, i)
    return ("securityContext",) if isinstance(spec.get("securityContext"), dict) else ()


def _named(item: Mapping[str, Any], names: set[str]) -> bool:
    name = item.get("name")
    return isinstance(name, str) and name in names


def _first_set(
    node: Any, steps: list[str], path: tuple[str | int, ...], names: set[str]
) -> tuple[str | int, ...] | None:
    if not steps:
        return path if node is not None and node is not False else None
    step, rest = steps[0], steps[1:]
    if step.endswith("[*]"):
        key = step[:-3]
        items = node.get(key) if isinstance(node, dict) else None
        for i, item in enumerate(items if isinstance(items, list) else []):
            named = key in ("containers", "initContainers", "ephemeralContainers", "volumes")
            if names and named and not (isinstance(item, dict) and _named(item, names)):
                continue
            found = _first_set(item, rest, (*path, key, i), names)
            if found is not None:
                return found
        return None
    child = node.get(step) if isinstance(node, dict) else None
    return _first_set(child, rest, (*path, step), names) if child is not None else None


def _namespace_policies(ctx: Context) -> dict[str, tuple[Resource, pss.NamespacePolicy]]:
    from kubeward import pss

    cached = ctx.cache.get("pss.namespace-policies")
    if cached is None:
        cached = {ns.name: (ns, pss.namespace_policy(ns.labels))
                  for ns in ctx.inventory.of_kind("Namespace")}
        ctx.cache["pss.namespace-policies"] = cached
    return cached


@inventory_rule(
    id="pss.namespace-enforce-label",
    title="Namespace enforces no Pod Security level",
    severity=Severity.MEDIUM,
    checklist=3,
    remediation="Label the namespace pod-security.kubernetes.io/enforce=restricted (or "
    "baseline while workloads are migrated); `kubeward pss plan` prints the strictest "
    "level each namespace can enforce today.",
    refs=Refs(cis=("5.2.1",), nsa=(NSA_POD,), mitre=("T1610",)),
)
def namespace_enforce_label(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """Without an enforce label the built-in PodSecurity admission admits privileged pods."""
    for name, (ns, policy) in sorted(_namespace_policies(ctx).items()):
        labels_path = ("metadata", "labels")
        for err in policy.errors:
            yield ns, Hit(f"namespace {name}: invalid Pod Security label: {err}", labels_path)
        if "pod-security.kubernetes.io/enforce" not in ns.labels:
            yield ns, Hit(f"namespace {name} has no pod-security.kubernetes.io/enforce label",
                          ("metadata",))


@inventory_rule(
    id="pss.namespace-level-violation",
    title="Workload violates the Pod Security level its namespace enforces",
    severity=Severity.HIGH,
    checklist=3,
    remediation="Fix the pod spec (see the violated checks), or the pods will be rejected by "
    "PodSecurity admission when the workload next creates them.",
    refs=Refs(cis=("5.2.1",), nsa=(NSA_POD,), mitre=("T1610",)),
)
def namespace_level_violation(ctx: Context) -> Iterator[tuple[Resource | None, Hit]]:
    """The API server accepts a Deployment but rejects its pods: the rollout silently stalls."""
    from kubeward import pss

    policies = _namespace_policies(ctx)
    if not policies:
        return
    for res, pod in ctx.inventory.pod_templates:
        entry = policies.get(res.namespace or "default")
        if entry is None:
            continue
        policy = entry[1]
        for mode, lv in (("enforce", policy.enforce), ("warn", policy.warn),
                         ("audit", policy.audit)):
            if lv.level == "privileged":
                continue
            violations = pss.evaluate(pod.metadata, pod.spec, lv.level,
                                      pss.format_version(lv.version))
            if violations:
                effect = ("pods will be rejected" if mode == "enforce"
                          else f"admission will {mode}")
                checks = "; ".join(v.message for v in violations)
                yield res, Hit(
                    f"namespace {res.namespace or 'default'} {mode}s {lv.level}: {effect}: "
                    f"{checks}",
                    pod.spec_path,
                )
                break

"""`validate.podSecurity` subrules on kubeward's PSS engine, with Kyverno's exclusions.

Kyverno (`pkg/pss/evaluate.go`, `pkg/pss/utils/mapping.go`) runs the upstream Pod
Security checks at `level` / `version` on the pod (or the pod template of a controller) and
drops the failures an `exclude` entry names by `controlName` (the PSS control titles, e.g.
"Capabilities", "Running as Non-root"). An exclusion with `images` exempts only containers
whose image matches one of the wildcards: the check is evaluated again without those
containers and is exempted when it then passes. An exclusion without images exempts the
control for the whole pod. `restrictedField` / `values` narrowing is not modelled: such an
exclusion exempts like one without them (documented in docs/policy.md).
"""

from __future__ import annotations

from typing import Any

from kubeward.policy.kyverno.values import wildcard_match

__all__ = ["CONTROL_NAMES", "evaluate_pod_security"]

#: PSS check id -> Kyverno control name (pkg/pss/utils/mapping.go).
CONTROL_NAMES = {
    "windowsHostProcess": "HostProcess",
    "hostNamespaces": "Host Namespaces",
    "privileged": "Privileged Containers",
    "capabilities_baseline": "Capabilities",
    "capabilities_restricted": "Capabilities",
    "hostPathVolumes": "HostPath Volumes",
    "hostPorts": "Host Ports",
    "appArmorProfile": "AppArmor",
    "seLinuxOptions": "SELinux",
    "procMount": "/proc Mount Type",
    "procMount_restricted": "/proc Mount Type",
    "seccompProfile_baseline": "Seccomp",
    "seccompProfile_restricted": "Seccomp",
    "sysctls": "Sysctls",
    "restrictedVolumes": "Volume Types",
    "allowPrivilegeEscalation": "Privilege Escalation",
    "runAsNonRoot": "Running as Non-root",
    "runAsUser": "Running as Non-root user",
    "hostProbesAndHostLifecycle": "Host Probes / Lifecycle Hooks",
}

_FIELDS = ("initContainers", "containers", "ephemeralContainers")


def _without_images(spec: dict[str, Any], images: list[str]) -> dict[str, Any]:
    out = dict(spec)
    for key in _FIELDS:
        items = spec.get(key)
        if isinstance(items, list):
            out[key] = [
                c
                for c in items
                if not (
                    isinstance(c, dict)
                    and isinstance(c.get("image"), str)
                    and any(wildcard_match(p, c["image"]) for p in images)
                )
            ]
    return out


def evaluate_pod_security(
    meta: Any, spec: Any, level: str, version: str, excludes: list[Any]
) -> list[tuple[str, str]]:
    """(control name, message) for every failing, non-exempted check; [] when allowed.

    Raises ValueError for an unknown level or version."""
    from kubeward import pss

    failures = pss.evaluate(meta, spec, level, version)
    out: list[tuple[str, str]] = []
    for v in failures:
        control = CONTROL_NAMES.get(v.check, v.check)
        exempt = False
        for ex in excludes:
            if not isinstance(ex, dict) or ex.get("controlName") != control:
                continue
            images = [i for i in ex.get("images") or [] if isinstance(i, str)]
            if not images:
                exempt = True
                break
            if isinstance(spec, dict):
                again = pss.evaluate(meta, _without_images(spec, images), level, version)
                if not any(a.check == v.check for a in again):
                    exempt = True
                    break
        if not exempt:
            out.append((control, v.message))
    return out

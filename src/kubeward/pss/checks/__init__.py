"""One module per upstream check (``k8s.io/pod-security-admission/policy/check_*.go``).

:data:`CHECKS` lists every registered check in evaluation order: baseline check IDs
sorted, then restricted check IDs sorted, which is the order upstream's registry
(``policy/registry.go``) runs them in and so the order of violations in messages.
"""

from __future__ import annotations

from kubeward.pss._model import Check
from kubeward.pss.checks import (
    allow_privilege_escalation,
    apparmor_profile,
    capabilities_baseline,
    capabilities_restricted,
    host_namespaces,
    host_path_volumes,
    host_ports,
    host_probes_and_host_lifecycle,
    privileged,
    proc_mount,
    proc_mount_restricted,
    restricted_volumes,
    run_as_non_root,
    run_as_user,
    seccomp_profile_baseline,
    seccomp_profile_restricted,
    selinux_options,
    sysctls,
    windows_host_process,
)

__all__ = ["CHECKS"]

_ALL: tuple[Check, ...] = (
    apparmor_profile.CHECK,
    capabilities_baseline.CHECK,
    host_namespaces.CHECK,
    host_path_volumes.CHECK,
    host_ports.CHECK,
    host_probes_and_host_lifecycle.CHECK,
    privileged.CHECK,
    proc_mount.CHECK,
    selinux_options.CHECK,
    seccomp_profile_baseline.CHECK,
    sysctls.CHECK,
    windows_host_process.CHECK,
    allow_privilege_escalation.CHECK,
    capabilities_restricted.CHECK,
    proc_mount_restricted.CHECK,
    restricted_volumes.CHECK,
    run_as_non_root.CHECK,
    run_as_user.CHECK,
    seccomp_profile_restricted.CHECK,
)

#: Baseline IDs sorted (Go string order), then restricted IDs sorted.
CHECKS: tuple[Check, ...] = tuple(
    sorted((c for c in _ALL if c.level == "baseline"), key=lambda c: c.id)
) + tuple(sorted((c for c in _ALL if c.level == "restricted"), key=lambda c: c.id))

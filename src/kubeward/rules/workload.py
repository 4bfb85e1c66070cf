"""Workload hardening beyond the Pod Security Standards (checklist items 1 and 3).

Privileged, host namespaces, hostPath, capabilities, seccomp and runAsNonRoot are judged
by the upstream-exact PSS engine (`rules/pss.py`); this module holds what PSS leaves out.
"""

from __future__ import annotations

from collections.abc import Iterator

from kubeward.findings import Fix, Severity
from kubeward.inventory.resource import Resource
from kubeward.k8s.pods import PodTemplate, containers
from kubeward.rules.base import Context, Hit, Refs, pod_rule

NSA_POD = "NSA-CISA: Kubernetes Pod security"


@pod_rule(
    id="workload.read-only-root-filesystem",
    title="Container root filesystem is writable",
    severity=Severity.LOW,
    checklist=3,
    remediation="Set securityContext.readOnlyRootFilesystem: true and mount an emptyDir "
    "where the process must write (e.g. /tmp).",
    refs=Refs(cis=("5.7.3",), nsa=(NSA_POD + " (immutable container filesystems)",),
              mitre=("T1036",)),
    fixable=True,
)
def read_only_root_filesystem(ctx: Context, res: Resource, pod: PodTemplate) -> Iterator[Hit]:
    """A writable root filesystem lets an intruder drop tools and persist inside the container."""
    for c in containers(pod.spec):
        if c.field == "ephemeralContainers":
            continue
        if c.security_context.get("readOnlyRootFilesystem") is not True:
            path = (*pod.spec_path, *c.path, "securityContext", "readOnlyRootFilesystem")
            yield Hit(
                f'container "{c.name}" does not set securityContext.readOnlyRootFilesystem=true',
                (*pod.spec_path, *c.path),
                (Fix(path, True, "set readOnlyRootFilesystem: true"),),
            )


@pod_rule(
    id="workload.resource-limits",
    title="Container has no CPU or memory limit",
    severity=Severity.LOW,
    checklist=3,
    remediation="Set resources.limits.memory and resources.limits.cpu (or a LimitRange "
    "in the namespace) so one container cannot starve the node.",
    refs=Refs(nsa=("NSA-CISA: Hardening container environments (resource policies)",),
              mitre=("T1496",)),
)
def resource_limits(ctx: Context, res: Resource, pod: PodTemplate) -> Iterator[Hit]:
    """Without limits a compromised or runaway container can exhaust the node (denial of service)."""
    if res.namespace and ctx.inventory.of_kind("LimitRange", res.namespace):
        return
    for c in containers(pod.spec):
        if c.field == "ephemeralContainers":
            continue  # ephemeral containers cannot declare resources
        resources = c.spec.get("resources")
        limits = resources.get("limits") if isinstance(resources, dict) else None
        limits = limits if isinstance(limits, dict) else {}
        missing = [k for k in ("cpu", "memory") if not limits.get(k)]
        if missing:
            yield Hit(
                f'container "{c.name}" has no {" or ".join(missing)} limit',
                (*pod.spec_path, *c.path),
            )


def _service_account(pod: PodTemplate) -> str:
    name = pod.spec.get("serviceAccountName") or pod.spec.get("serviceAccount")
    return name if isinstance(name, str) and name else "default"


@pod_rule(
    id="rbac.default-service-account",
    title="Pod runs as the namespace's default ServiceAccount",
    severity=Severity.LOW,
    checklist=1,
    remediation="Create a dedicated ServiceAccount per workload and set "
    "spec.serviceAccountName; grant it only what the workload needs.",
    refs=Refs(cis=("5.1.5",), nsa=("NSA-CISA: Protecting Pod service account tokens",),
              mitre=("T1078.001",)),
)
def default_service_account(ctx: Context, res: Resource, pod: PodTemplate) -> Iterator[Hit]:
    """Every pod in a namespace shares `default`: a grant made for one pod is given to all."""
    if _service_account(pod) == "default":
        yield Hit(
            "pod uses the default ServiceAccount (serviceAccountName not set)",
            pod.spec_path,
        )


@pod_rule(
    id="rbac.automount-service-account-token",
    title="Service account token mounted into a pod that needs no API access",
    severity=Severity.MEDIUM,
    checklist=1,
    remediation="Set automountServiceAccountToken: false on the pod (or its ServiceAccount) "
    "unless it calls the Kubernetes API.",
    refs=Refs(cis=("5.1.6",), nsa=("NSA-CISA: Protecting Pod service account tokens",),
              mitre=("T1528", "T1552.007")),
    fixable=True,
)
def automount_token(ctx: Context, res: Resource, pod: PodTemplate) -> Iterator[Hit]:
    """A mounted token is a credential an intruder can use against the API server.

    A pod is taken to need API access when its ServiceAccount is bound to any Role or
    ClusterRole in the same input; then the token is legitimate and nothing is reported.
    """
    setting = pod.spec.get("automountServiceAccountToken")
    if setting is False:
        return
    sa_name = _service_account(pod)
    ns = res.namespace or ""
    if setting is None:
        sa = ctx.inventory.get("ServiceAccount", res.namespace, sa_name)
        if sa is not None and sa.obj.get("automountServiceAccountToken") is False:
            return
    if ctx.inventory.bindings_by_subject.get(("ServiceAccount", ns, sa_name)):
        return
    yield Hit(
        f'the token of ServiceAccount "{sa_name}" is mounted but the ServiceAccount has no '
        "role bindings here (automountServiceAccountToken is not false)",
        pod.spec_path,
        (Fix((*pod.spec_path, "automountServiceAccountToken"), False,
             "set automountServiceAccountToken: false"),),
    )

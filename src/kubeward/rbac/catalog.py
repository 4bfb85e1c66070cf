"""The resources an access matrix lists when no API discovery is at hand.

The built-in resources of a current Kubernetes release (kubectl api-resources, v1.31),
plus every concrete resource the subject's own rules name (CRDs, subresources).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubeward.rbac.model import RBACModel, Subject, UserInfo

__all__ = ["BUILTIN_RESOURCES", "DEFAULT_VERBS", "resources_for"]

DEFAULT_VERBS = ("get", "list", "watch", "create", "update", "patch", "delete",
                 "deletecollection")

_NS = True
_CL = False

#: (apiGroup, resource, namespaced)
BUILTIN_RESOURCES: tuple[tuple[str, str, bool], ...] = (
    ("", "bindings", _NS), ("", "configmaps", _NS), ("", "endpoints", _NS),
    ("", "events", _NS), ("", "limitranges", _NS), ("", "namespaces", _CL),
    ("", "nodes", _CL), ("", "nodes/proxy", _CL), ("", "persistentvolumeclaims", _NS),
    ("", "persistentvolumes", _CL), ("", "pods", _NS), ("", "pods/attach", _NS),
    ("", "pods/ephemeralcontainers", _NS), ("", "pods/exec", _NS), ("", "pods/log", _NS),
    ("", "pods/portforward", _NS), ("", "pods/proxy", _NS), ("", "podtemplates", _NS),
    ("", "replicationcontrollers", _NS), ("", "resourcequotas", _NS), ("", "secrets", _NS),
    ("", "serviceaccounts", _NS), ("", "serviceaccounts/token", _NS), ("", "services", _NS),
    ("", "services/proxy", _NS),
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations", _CL),
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations", _CL),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies", _CL),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings", _CL),
    ("apiextensions.k8s.io", "customresourcedefinitions", _CL),
    ("apiregistration.k8s.io", "apiservices", _CL),
    ("apps", "controllerrevisions", _NS), ("apps", "daemonsets", _NS),
    ("apps", "deployments", _NS), ("apps", "replicasets", _NS), ("apps", "statefulsets", _NS),
    ("authentication.k8s.io", "tokenreviews", _CL),
    ("authorization.k8s.io", "subjectaccessreviews", _CL),
    ("autoscaling", "horizontalpodautoscalers", _NS),
    ("batch", "cronjobs", _NS), ("batch", "jobs", _NS),
    ("certificates.k8s.io", "certificatesigningrequests", _CL),
    ("certificates.k8s.io", "certificatesigningrequests/approval", _CL),
    ("certificates.k8s.io", "signers", _CL),
    ("coordination.k8s.io", "leases", _NS),
    ("discovery.k8s.io", "endpointslices", _NS),
    ("networking.k8s.io", "ingresses", _NS), ("networking.k8s.io", "ingressclasses", _CL),
    ("networking.k8s.io", "networkpolicies", _NS),
    ("node.k8s.io", "runtimeclasses", _CL),
    ("policy", "poddisruptionbudgets", _NS),
    ("rbac.authorization.k8s.io", "clusterrolebindings", _CL),
    ("rbac.authorization.k8s.io", "clusterroles", _CL),
    ("rbac.authorization.k8s.io", "rolebindings", _NS),
    ("rbac.authorization.k8s.io", "roles", _NS),
    ("scheduling.k8s.io", "priorityclasses", _CL),
    ("storage.k8s.io", "csidrivers", _CL), ("storage.k8s.io", "csinodes", _CL),
    ("storage.k8s.io", "storageclasses", _CL), ("storage.k8s.io", "volumeattachments", _CL),
)


def resources_for(model: RBACModel, user: Subject | UserInfo) -> list[tuple[str, str, bool]]:
    """The built-in resources plus the concrete ones named by rules bound to the user
    (a resource not in the built-in list is shown as namespaced)."""
    rows = list(BUILTIN_RESOURCES)
    known = {(g, r) for g, r, _ in rows}
    extra: set[tuple[str, str]] = set()
    for b in model.bindings_for(user):
        role = model.roles.get(b.role_key)
        for rule in role.rules if role else ():
            for g in rule.api_groups:
                for r in rule.resources:
                    if "*" not in g and "*" not in r and (g, r) not in known:
                        extra.add((g, r))
    rows.extend((g, r, True) for g, r in sorted(extra))
    return rows

"""Least-privilege access seeds: the deployer Role and a pod with a bound, short-lived
projected ServiceAccount token.

Sources: RBAC (https://kubernetes.io/docs/reference/access-authn-authz/rbac/) and
projected volumes (https://kubernetes.io/docs/concepts/storage/projected-volumes/
#serviceaccounttoken): ``serviceAccountToken`` {path, expirationSeconds (minimum 600;
the kubelet refreshes at 80% of the lifetime), audience}. The token is bound to the pod
(invalid once the pod is deleted), short-lived and valid only for its audience - unlike
the automounted token, whose audience is the API server.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubeward.generate.policies import GenerateError, boolean

__all__ = ["DEPLOYER_RULES", "deployer_role_set", "projected_token_pod_set"]

_MANAGED = {"app.kubernetes.io/managed-by": "kubeward"}
_READ = ["get", "list", "watch"]
_WRITE = ["create", "update", "patch"]

#: (apiGroups, resources, verbs without delete). Reads of pods, ReplicaSets and events
#: let `kubectl rollout status` work; no Secrets (read = every credential of the
#: namespace), no pods/exec, no RBAC, no serviceaccounts/token.
DEPLOYER_RULES: tuple[tuple[tuple[str, ...], tuple[str, ...], bool], ...] = (
    (("apps",), ("deployments", "statefulsets"), True),
    (("",), ("services", "configmaps"), True),
    (("networking.k8s.io",), ("ingresses",), True),
    (("autoscaling",), ("horizontalpodautoscalers",), True),
    (("apps",), ("replicasets",), False),
    (("",), ("pods", "events"), False),
)


def deployer_role_set(params: Mapping[str, str], namespace: str) -> list[Any]:
    """A ServiceAccount (no automounted token), a namespaced Role that can roll out
    Deployments, StatefulSets, Services, ConfigMaps, Ingresses and HPAs and read what a
    rollout needs to watch, and the RoleBinding. ``delete=true`` adds delete on what it
    writes. Scoped to one namespace on purpose: never a ClusterRole."""
    sa = params["service-account"]
    delete = boolean("delete", params["delete"])
    rules = []
    for groups, resources, writable in DEPLOYER_RULES:
        verbs = [*_READ, *_WRITE, *(["delete"] if delete else [])] if writable else list(_READ)
        rules.append({"apiGroups": list(groups), "resources": list(resources), "verbs": verbs})
    name = f"{sa}-deployer"
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": sa, "namespace": namespace, "labels": dict(_MANAGED)},
         "automountServiceAccountToken": False},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": name, "namespace": namespace, "labels": dict(_MANAGED)},
         "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": name, "namespace": namespace, "labels": dict(_MANAGED)},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": namespace}]},
    ]


def projected_token_pod_set(params: Mapping[str, str], namespace: str) -> list[Any]:
    """The pod's own ServiceAccount (automount off) and a restricted pod that mounts one
    projected token for ``audience`` expiring after ``expiration`` seconds (600-3600)."""
    try:
        expiration = int(params["expiration"])
    except ValueError:
        raise GenerateError(f"--param expiration={params['expiration']!r}: seconds, 600 to 3600") from None
    if not 600 <= expiration <= 3600:
        raise GenerateError(f"--param expiration={expiration}: use 600 to 3600 seconds "
                            "(600 is the API minimum; longer-lived tokens defeat the point)")
    if not params["audience"].strip():
        raise GenerateError("--param audience: the service that validates the token")
    sa, name = params["service-account"], params["name"]
    labels = {"app.kubernetes.io/name": name, **_MANAGED}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": sa, "namespace": namespace, "labels": dict(_MANAGED)},
         "automountServiceAccountToken": False},
        {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": namespace, "labels": labels},
         "spec": {
             "serviceAccountName": sa,
             "automountServiceAccountToken": False,
             "securityContext": {"runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                                 "seccompProfile": {"type": "RuntimeDefault"}},
             "containers": [{
                 "name": "app",
                 "image": params["image"],
                 "securityContext": {"allowPrivilegeEscalation": False,
                                     "readOnlyRootFilesystem": True,
                                     "capabilities": {"drop": ["ALL"]}},
                 "resources": {"requests": {"cpu": "10m", "memory": "16Mi"},
                               "limits": {"cpu": "100m", "memory": "64Mi"}},
                 "volumeMounts": [{"name": "audience-token",
                                   "mountPath": "/var/run/secrets/tokens",
                                   "readOnly": True}],
             }],
             "volumes": [{"name": "audience-token", "projected": {"sources": [{
                 "serviceAccountToken": {"path": "token", "audience": params["audience"],
                                         "expirationSeconds": expiration}}]}}],
         }},
    ]

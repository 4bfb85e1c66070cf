"""The seed's hardening objects, parameterised: default-deny NetworkPolicies with the DNS
allowance that keeps pods working, and an admission policy for image gates.

Pure functions returning plain dicts; callers print them as YAML or apply them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["default_deny", "dns_egress", "image_gate_policy", "isolate_workload"]


def default_deny(namespace: str) -> dict[str, Any]:
    """Deny all ingress and egress for every pod of the namespace (allow-lists come next)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny-all", "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "kubeward"}},
        "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
    }


def dns_egress(namespace: str) -> dict[str, Any]:
    """Let every pod resolve names through the cluster DNS (kube-dns / CoreDNS in kube-system)."""
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": "allow-dns-egress", "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "kubeward"}},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{
                "to": [{
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                }],
                "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
            }],
        },
    }


def isolate_workload(namespace: str, workload: str, pod_labels: Mapping[str, str]) -> dict[str, Any]:
    """Emergency isolation of a compromised workload: select exactly its pod labels and
    deny all ingress and egress (policyTypes both, no rules).

    Semantics (https://kubernetes.io/docs/concepts/services-networking/network-policies/,
    "Default deny all ingress and all egress traffic"): a policy whose policyTypes list a
    direction and that has no rule for it isolates its pods for that direction and allows
    nothing; policies are additive, so other policies selecting these pods still allow
    what they allow - remove or narrow them too (the `isolate` command lists them).
    """
    if not pod_labels:
        raise ValueError(f"{namespace}/{workload}: the pod template has no labels; a policy "
                         "cannot select only its pods")
    name = f"kubeward-isolate-{workload}"[:253]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {"app.kubernetes.io/managed-by": "kubeward"},
                     "annotations": {"kubeward.dev/isolated-workload": workload}},
        "spec": {"podSelector": {"matchLabels": dict(sorted(pod_labels.items()))},
                 "policyTypes": ["Ingress", "Egress"]},
    }


def image_gate_policy(allowed_registries: Sequence[str]) -> dict[str, Any]:
    """A Kyverno ClusterPolicy: no `:latest`/untagged images, and (when given) only the
    allowed registries. Starts in Audit mode: switch to Enforce once the report is clean."""
    # The two rules of Kyverno's own sample policy `disallow-latest-tag`.
    rules: list[dict[str, Any]] = [
        {
            "name": "require-image-tag",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": {"message": "An image tag is required.",
                         "pattern": {"spec": {"containers": [{"image": "*:*"}]}}},
        },
        {
            "name": "validate-image-tag",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": {"message": "Using a mutable image tag e.g. 'latest' is not allowed.",
                         "pattern": {"spec": {"containers": [{"image": "!*:latest"}]}}},
        },
    ]
    if allowed_registries:
        alternatives = " | ".join(f"{r.rstrip('/')}/*" for r in allowed_registries)
        rules.append({
            "name": "allowed-registries",
            "match": {"any": [{"resources": {"kinds": ["Pod"]}}]},
            "validate": {
                "message": f"Images must come from: {', '.join(allowed_registries)}.",
                "pattern": {"spec": {"=(initContainers)": [{"image": alternatives}],
                                     "containers": [{"image": alternatives}]}},
            },
        })
    return {
        "apiVersion": "kyverno.io/v1",
        "kind": "ClusterPolicy",
        "metadata": {"name": "kubeward-image-gates",
                     "annotations": {"policies.kyverno.io/category": "Supply chain",
                                     "policies.kyverno.io/severity": "high"}},
        "spec": {"validationFailureAction": "Audit", "background": True, "rules": rules},
    }

"""Built-in admission and isolation objects of the seed: the ValidatingAdmissionPolicy
that denies privileged containers, Pod Security Admission namespace labels, and the
default-deny NetworkPolicies (from :mod:`kubeward.generate.seeds`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kubeward.generate.policies import GenerateError, boolean
from kubeward.generate.seeds import default_deny, dns_egress

__all__ = ["DENY_PRIVILEGED_EXPRESSION", "default_deny_set", "deny_privileged", "pss_namespace"]

#: The seed's expression, verbatim (see the task brief; the Kubernetes docs' example
#: policy checks the same field).
DENY_PRIVILEGED_EXPRESSION = (
    "object.spec.containers.all(c, !has(c.securityContext) || "
    "!has(c.securityContext.privileged) || c.securityContext.privileged == false)"
)
_MANAGED = {"app.kubernetes.io/managed-by": "kubeward"}


def deny_privileged(params: Mapping[str, str], namespace: str) -> list[Any]:
    """ValidatingAdmissionPolicy ``deny-privileged-containers`` and its binding.

    Shape from https://kubernetes.io/docs/reference/access-authn-authz/validating-admission-policy/
    (``spec.failurePolicy``, ``matchConstraints.resourceRules``, ``validations[].expression``
    / ``message``; the binding's ``policyName`` and ``validationActions: [Deny]``). The
    API is GA as admissionregistration.k8s.io/v1 from Kubernetes 1.30 (v1beta1 1.28-1.29);
    it does not exist on older servers. As in the seed, only ``spec.containers`` are
    checked: Pod Security (baseline) also covers init and ephemeral containers."""
    api = f"admissionregistration.k8s.io/{params['api-version']}"
    policy = {
        "apiVersion": api,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": "deny-privileged-containers", "labels": dict(_MANAGED)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": [{
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"],
                "resources": ["pods"],
            }]},
            "validations": [{
                "expression": DENY_PRIVILEGED_EXPRESSION,
                "message": "Privileged containers are not allowed",
            }],
        },
    }
    binding = {
        "apiVersion": api,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": "deny-privileged-containers-binding", "labels": dict(_MANAGED)},
        "spec": {"policyName": "deny-privileged-containers", "validationActions": ["Deny"]},
    }
    return [policy, binding]


_VERSION = re.compile(r"^(latest|v1\.\d{1,3})$")


def pss_namespace(params: Mapping[str, str], namespace: str) -> list[Any]:
    """A Namespace with the Pod Security Admission labels: enforce, audit and warn at the
    same level and version (https://kubernetes.io/docs/concepts/security/pod-security-admission/
    "Pod Security Admission labels for namespaces"). Applying it to an existing namespace
    merges the labels; check first with `kubeward pss plan`."""
    level, version = params["level"], params["version"]
    if not _VERSION.match(version):
        raise GenerateError(f"--param version={version!r}: use latest or v1.N")
    labels = {"kubernetes.io/metadata.name": namespace, **_MANAGED}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = version
    return [{"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": namespace, "labels": labels}}]


def default_deny_set(params: Mapping[str, str], namespace: str) -> list[Any]:
    """`default-deny-all` for the namespace and, unless ``dns=false``, DNS egress to
    kube-dns (the seed's generators in :mod:`kubeward.generate.seeds`)."""
    docs: list[Any] = [default_deny(namespace)]
    if boolean("dns", params["dns"]):
        docs.append(dns_egress(namespace))
    return docs

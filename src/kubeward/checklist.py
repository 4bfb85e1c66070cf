"""The 13 items of the 2026 Kubernetes hardening checklist, in the order to adopt them.

Rules name the item they feed by number; reports group findings by item in this order.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ITEMS", "Item", "item"]


@dataclass(slots=True, frozen=True)
class Item:
    number: int
    slug: str
    title: str
    asks: str = ""  # what the checklist asks, in one paragraph (docs pages)


ITEMS: tuple[Item, ...] = (
    Item(1, "rbac", "RBAC least privilege, no needless cluster-admin",
         "Grant every user and workload only what it needs. Find and remove wildcard and cluster-"
         "admin bindings, above all those on service accounts and broad groups; audit RBAC quarterly"
         " and derive roles from what subjects actually do."),
    Item(2, "secrets", "Secrets out of Git, env vars and plain etcd",
         "Keep secrets out of Git (base64 is not encryption), out of environment variables and out "
         "of plain etcd: deliver them with External Secrets, Sealed Secrets or SOPS, mount them as "
         "files, and encrypt Secrets at rest."),
    Item(3, "pod-security", "Pod Security Standards, restricted on production namespaces",
         "Enforce the Pod Security Standards with namespace labels: baseline everywhere, restricted "
         "on production namespaces; no privileged containers, host namespaces or hostPath, drop "
         "capabilities, run as non-root with seccomp."),
    Item(4, "network-policies", "NetworkPolicies: default deny, explicit allow",
         "Kubernetes allows all pod traffic by default. Give every namespace a default-deny "
         "NetworkPolicy for ingress and egress, then allow exactly the flows each workload needs "
         "(and DNS)."),
    Item(5, "image-scanning", "Image scanning and admission quality gates",
         "Scan every image and gate admission: pinned versions instead of :latest, images only from "
         "registries you control, critical and high CVEs blocked before deployment."),
    Item(6, "image-signing", "Image signing and verification, SBOM attestation",
         "Sign images and verify the signatures at admission (cosign, Kyverno verifyImages, Sigstore"
         " policy-controller), and attach an SBOM to each image."),
    Item(7, "runtime-security", "Runtime security (Falco / Tetragon)",
         "Detect what happens at run time: Falco or Tetragon on every node, and alerts on suspicious"
         " API activity from the audit log."),
    Item(8, "audit-logging", "Audit logging to a SIEM",
         "Enable API server audit logging with a policy that records what matters and ship the log "
         "to a SIEM with alerts on critical events."),
    Item(9, "etcd-encryption", "etcd encryption at rest",
         "Encrypt Secrets at rest in etcd with an EncryptionConfiguration whose first provider is a "
         "real encryption provider (KMS v2 or aescbc/secretbox), not identity."),
    Item(10, "mtls", "mTLS between services",
         "Encrypt and authenticate service-to-service traffic with mutual TLS (Istio, Linkerd or "
         "Cilium), in strict mode for every workload."),
    Item(11, "admission-control", "Admission control (Kyverno / Gatekeeper / VAP)",
         "Use an admission controller (Kyverno, Gatekeeper or ValidatingAdmissionPolicy) so that the"
         " rules above are enforced at the cluster's door, not just reported."),
    Item(12, "incident-response", "Incident response playbook",
         "Have an incident response playbook: isolate a compromised workload with a deny-all "
         "NetworkPolicy, rotate credentials, keep evidence."),
    Item(13, "cis-benchmark", "Regular CIS benchmark audits",
         "Audit the cluster regularly against the CIS Kubernetes Benchmark (API server, etcd, "
         "controller manager, scheduler and kubelet settings) and track the results over time."),
)


def item(number: int) -> Item:
    return ITEMS[number - 1]

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


ITEMS: tuple[Item, ...] = (
    Item(1, "rbac", "RBAC least privilege, no needless cluster-admin"),
    Item(2, "secrets", "Secrets out of Git, env vars and plain etcd"),
    Item(3, "pod-security", "Pod Security Standards, restricted on production namespaces"),
    Item(4, "network-policies", "NetworkPolicies: default deny, explicit allow"),
    Item(5, "image-scanning", "Image scanning and admission quality gates"),
    Item(6, "image-signing", "Image signing and verification, SBOM attestation"),
    Item(7, "runtime-security", "Runtime security (Falco / Tetragon)"),
    Item(8, "audit-logging", "Audit logging to a SIEM"),
    Item(9, "etcd-encryption", "etcd encryption at rest"),
    Item(10, "mtls", "mTLS between services"),
    Item(11, "admission-control", "Admission control (Kyverno / Gatekeeper / VAP)"),
    Item(12, "incident-response", "Incident response playbook"),
    Item(13, "cis-benchmark", "Regular CIS benchmark audits"),
)


def item(number: int) -> Item:
    return ITEMS[number - 1]

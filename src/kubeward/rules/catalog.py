"""The catalog: every rule module imported once, in checklist order.

Importing a rule module registers its rules; nothing is imported until a command needs
the catalog, so `kubeward --help` stays fast.
"""

from __future__ import annotations

import importlib

from kubeward.rules.base import REGISTRY, Rule

__all__ = ["CATALOG_VERSION", "RULE_MODULES", "load_catalog"]

#: Bumped whenever a rule is added, removed, or changes meaning (shown by `kubeward version`).
CATALOG_VERSION = "2026.11.2"

RULE_MODULES = (
    "kubeward.rules.workload",
    "kubeward.rules.secrets",
    "kubeward.rules.pss",
    "kubeward.rules.images",
    "kubeward.rules.rbac_basics",
    "kubeward.rules.rbac_risks",
    "kubeward.rules.netpol_basics",
    "kubeward.rules.netpol_coverage",
    "kubeward.rules.stack",
    "kubeward.rules.controlplane",
    "kubeward.rules.supply",
)


def load_catalog() -> list[Rule]:
    for name in RULE_MODULES:
        importlib.import_module(name)
    return sorted(REGISTRY.values(), key=lambda r: (r.checklist, r.id))

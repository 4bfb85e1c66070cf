"""RBAC analysis over an Inventory: the authorizer's exact semantics (`model`), who-can,
access matrices, risky grants and escalation paths (`paths`). Pure: no I/O."""

from kubeward.rbac.model import (
    Binding,
    Grant,
    PolicyRule,
    RBACModel,
    Role,
    Subject,
    UserInfo,
    WhoCanEntry,
    rule_allows,
)

__all__ = [
    "Binding",
    "Grant",
    "PolicyRule",
    "RBACModel",
    "Role",
    "Subject",
    "UserInfo",
    "WhoCanEntry",
    "rule_allows",
]

"""Least-privilege RBAC from audit logs (`kubeward rbac from-audit`).

events.py (read audit logs) → requestinfo.py (request → authorizer attributes, as the API
server computes them) → generate.py (select the subject's allowed requests, one Role per
namespace + a ClusterRole, bindings) with rules.py (exact, compacted rules); compare.py
reports what a subject holds but never used.
"""

from kubeward.rbacgen.events import ReadStats, read_events
from kubeward.rbacgen.generate import Generated, Observed, Subject, generate, observe
from kubeward.rbacgen.requestinfo import RequestAttributes, event_attributes, request_info
from kubeward.rbacgen.rules import PolicyRule, compact, rule_allows, rules_for

__all__ = [
    "Generated",
    "Observed",
    "PolicyRule",
    "ReadStats",
    "RequestAttributes",
    "Subject",
    "compact",
    "event_attributes",
    "generate",
    "observe",
    "read_events",
    "request_info",
    "rule_allows",
    "rules_for",
]

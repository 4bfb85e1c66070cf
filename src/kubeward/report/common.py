"""Shapes shared by the machine-readable renderers."""

from __future__ import annotations

from typing import Any

from kubeward.findings import Finding
from kubeward.rules.base import Rule


def dotted(path: tuple[str | int, ...]) -> str:
    """`spec.template.spec.containers[0].image` from a path tuple."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += ("." if out else "") + step
    return out


def resource_dict(f: Finding) -> dict[str, Any] | None:
    res = f.resource
    if res is None:
        return None
    return {
        "apiVersion": res.api_version,
        "kind": res.kind,
        "namespace": res.namespace,
        "name": res.name,
    }


def location_dict(f: Finding) -> dict[str, Any] | None:
    res = f.resource
    if res is None:
        return None
    loc: dict[str, Any] = {"file": res.display_path, "line": f.line or None}
    if res.origin.template:
        loc["template"] = res.origin.template
    if res.display_path != res.origin.source.path:
        loc["renderedFrom"] = res.origin.source.path
    return loc


def rule_dict(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "title": rule.title,
        "severity": rule.severity.label,
        "checklist": rule.checklist,
        "description": rule.description,
        "remediation": rule.remediation,
        "references": {
            "cis": list(rule.refs.cis),
            "nsa_cisa": list(rule.refs.nsa),
            "mitre_attack": list(rule.refs.mitre),
        },
        "fixable": rule.fixable,
        "helpUri": rule.help_uri,
    }

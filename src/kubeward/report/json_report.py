"""The JSON report: a stable, documented schema (docs/json-report.md, schemaVersion 1)."""

from __future__ import annotations

from typing import Any

import orjson

from kubeward import __version__
from kubeward.findings import Finding
from kubeward.report.common import dotted, location_dict, resource_dict
from kubeward.scan import ScanReport

SCHEMA_VERSION = 1


def finding_dict(f: Finding) -> dict[str, Any]:
    return {
        "rule": f.rule.id,
        "title": f.rule.title,
        "severity": f.severity.label,
        "checklist": f.rule.checklist,
        "message": f.message,
        "resource": resource_dict(f),
        "location": location_dict(f),
        "path": dotted(f.path),
        "remediation": f.rule.remediation,
        "fixes": [
            {"path": dotted(x.path), "value": x.value, "description": x.description}
            for x in f.fixes
        ],
        "suppressed": None
        if f.suppressed is None
        else {
            "source": f.suppressed.source,
            "reason": f.suppressed.reason,
            "expires": f.suppressed.expires,
        },
    }


def report_dict(report: ScanReport) -> dict[str, Any]:
    from kubeward.rules.catalog import CATALOG_VERSION

    counts = report.counts()
    return {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": "kubeward", "version": __version__, "catalogVersion": CATALOG_VERSION},
        "summary": {
            "findings": len(report.active),
            "suppressed": len(report.suppressed),
            "bySeverity": {sev.label: n for sev, n in sorted(counts.items(), reverse=True)},
            "resources": len(report.inventory),
            "inputs": report.inputs,
            "skippedDocuments": report.skipped,
            "errors": len(report.errors),
            "rules": len(report.rules),
        },
        "posture": posture_dict(report),
        "findings": [finding_dict(f) for f in report.findings],
        "errors": [{"file": e.path, "line": e.line or None, "message": e.message}
                   for e in report.errors],
        "warnings": list(report.warnings),
        "exceptions": {
            "unused": [e.describe() for e in report.exceptions.unused],
            "expired": [e.describe() for e in report.exceptions.expired],
            "invalid": list(report.exceptions.invalid),
        },
    }


def posture_dict(report: ScanReport) -> dict[str, Any]:
    from kubeward.posture import assess

    posture = assess(report)
    return {
        "score": posture.score,
        "items": [
            {
                "number": ip.number,
                "slug": ip.slug,
                "title": ip.title,
                "status": ip.status,
                "findings": ip.findings,
                "bySeverity": dict(ip.by_severity),
                "worst": list(ip.worst),
                "checked": ip.checked,
                "nextAction": ip.next_action,
                "score": None if ip.score is None else round(ip.score, 4),
            }
            for ip in posture.items
        ],
    }


def render_json(report: ScanReport) -> bytes:
    return orjson.dumps(report_dict(report), option=orjson.OPT_INDENT_2) + b"\n"

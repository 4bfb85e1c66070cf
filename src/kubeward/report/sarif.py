"""SARIF 2.1.0 for GitHub code scanning (and any SARIF viewer).

GitHub reads `properties.security-severity` (a CVSS-like number) to rank alerts, uses
`partialFingerprints` to track an alert across commits, needs artifact URIs relative to
the repository root, and shows `help.markdown` beside the alert. Suppressed findings are
kept with a `suppressions` entry, as the spec intends, so auditors still see them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from kubeward import __version__
from kubeward.findings import Finding, Severity, fingerprint
from kubeward.rules.base import Rule
from kubeward.scan import ScanReport

_LIVE = frozenset({"cluster", "snapshot", "admission"})
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def _uri(path: str) -> str | None:
    if not path or path.startswith("<"):
        return None
    p = Path(path)
    if p.is_absolute():
        try:
            p = p.relative_to(Path.cwd())
        except ValueError:
            return p.as_uri()
    return quote(p.as_posix().removeprefix("./"))


def _rule(rule: Rule, severity: Severity) -> dict[str, Any]:
    """Rule metadata; `severity` is the effective one (after `rules.severity` overrides)."""
    tags = ["security", f"checklist-{rule.checklist}"]
    tags += [f"CIS-{c}" for c in rule.refs.cis] + [f"MITRE-{m}" for m in rule.refs.mitre]
    refs = "".join(f"\n- CIS Kubernetes Benchmark {c}" for c in rule.refs.cis)
    refs += "".join(f"\n- MITRE ATT&CK {m}" for m in rule.refs.mitre)
    refs += "".join(f"\n- {n}" for n in rule.refs.nsa)
    return {
        "id": rule.id,
        "name": rule.id.replace(".", "_").replace("-", "_"),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description or rule.title},
        "help": {
            "text": f"{rule.description}\n\nFix: {rule.remediation}",
            "markdown": f"**{rule.title}**\n\n{rule.description}\n\n**Fix:** {rule.remediation}"
            + (f"\n\n**References**{refs}" if refs else ""),
        },
        "helpUri": rule.help_uri,
        "defaultConfiguration": {"level": _LEVEL[severity]},
        "properties": {
            "tags": tags,
            "precision": "high",
            "security-severity": _SECURITY_SEVERITY[severity],
        },
    }


def _result(f: Finding, index: dict[str, int]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "ruleId": f.rule.id,
        "ruleIndex": index[f.rule.id],
        "level": _LEVEL[f.severity],
        "message": {"text": f"{f.message} [{f.resource.ref if f.resource else 'cluster'}]"},
        "partialFingerprints": {"kubewardFinding/v1": fingerprint(f)},
        "properties": {"security-severity": _SECURITY_SEVERITY[f.severity]},
    }
    # Objects read from a cluster, a snapshot or an AdmissionReview have no file to point at:
    # they carry only their logical location (Kind/namespace/name).
    live = f.resource is not None and f.resource.origin.source.kind in _LIVE
    uri = _uri(f.file) if f.resource and not live else None
    if uri is None and f.resource is not None:
        out["locations"] = [
            {"logicalLocations": [{"fullyQualifiedName": f.resource.ref, "kind": "resource"}]}
        ]
    if uri is not None:
        out["locations"] = [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": max(1, f.line)},
                },
                "logicalLocations": [{"fullyQualifiedName": f.resource.ref, "kind": "resource"}]
                if f.resource
                else [],
            }
        ]
    if f.suppressed is not None:
        out["suppressions"] = [
            {
                "kind": "inSource" if f.suppressed.source.startswith("annotation") else "external",
                "justification": f.suppressed.reason,
            }
        ]
    return out


def render_sarif(report: ScanReport) -> bytes:
    rules = sorted({f.rule.id: f.rule for f in report.findings}.values(), key=lambda r: r.id)
    index = {r.id: i for i, r in enumerate(rules)}
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kubeward",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": "https://kubeward.dev",
                        "rules": [
                            _rule(r, report.config.severity_of(r.id, r.severity)) for r in rules
                        ],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
                "results": [_result(f, index) for f in report.findings],
                "invocations": [
                    {
                        "executionSuccessful": True,
                        "toolExecutionNotifications": [
                            {
                                "level": "error",
                                "message": {"text": e.message},
                                **(
                                    {"locations": [{"physicalLocation": {
                                        "artifactLocation": {"uri": u},
                                        **({"region": {"startLine": e.line}} if e.line else {}),
                                    }}]}
                                    if (u := _uri(e.path))
                                    else {}
                                ),
                            }
                            for e in report.errors
                        ],
                    }
                ],
                "properties": {"workingDirectory": os.getcwd()},
            }
        ],
    }
    return orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n"

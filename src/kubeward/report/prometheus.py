"""Prometheus text exposition format (node-exporter textfile collector compatible).

    kubeward scan -o prometheus k8s/ > /var/lib/node_exporter/textfile/kubeward.prom

Metrics (docs/posture.md):
  kubeward_posture_score                                      0..100
  kubeward_checklist_item_status{item,slug}                   1 met, 0.5 partly, 0 not met;
                                                              unknown items are omitted
  kubeward_checklist_item_score{item,slug}                    0..1 (unknown items omitted)
  kubeward_findings{severity,item}                            active findings, every pair
  kubeward_findings_suppressed                                findings an exception matched
  kubeward_resources_scanned                                  objects read
  kubeward_scan_timestamp_seconds                             when the report was rendered

No `cluster` label is added: the collector (or a relabelling rule) attaches the target's own
labels, so scans of several clusters are told apart by where their file is scraped.
"""

from __future__ import annotations

import time

from kubeward.checklist import ITEMS
from kubeward.findings import Severity
from kubeward.scan import ScanReport

_STATUS_VALUE = {"met": 1.0, "partly": 0.5, "not-met": 0.0}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def render_prometheus(report: ScanReport, *, now: float | None = None) -> bytes:
    from kubeward.posture import assess

    posture = assess(report)
    out: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(f"{name}{labels} {_num(value)}" for labels, value in samples)

    metric("kubeward_posture_score", "gauge",
           "Checklist posture score 0-100 (docs/posture.md); unknown items are left out.",
           [("", posture.score)])
    known = [ip for ip in posture.items if ip.status in _STATUS_VALUE]
    metric("kubeward_checklist_item_status", "gauge",
           "Checklist item status: 1 met, 0.5 partly, 0 not met; items this input cannot "
           "tell are omitted.",
           [(_labels(item=str(ip.number), slug=ip.slug), _STATUS_VALUE[ip.status])
            for ip in known])
    metric("kubeward_checklist_item_score", "gauge",
           "Checklist item score 0-1 (docs/posture.md); unknown items are omitted.",
           [(_labels(item=str(ip.number), slug=ip.slug), ip.score or 0.0) for ip in known])
    counts = {(it.number, sev): 0 for it in ITEMS for sev in Severity}
    for f in report.active:
        counts[(f.rule.checklist, f.severity)] = counts.get((f.rule.checklist, f.severity), 0) + 1
    metric("kubeward_findings", "gauge",
           "Findings not suppressed by an exception, by severity and checklist item.",
           [(_labels(severity=sev.label, item=str(number)), n)
            for (number, sev), n in sorted(counts.items(), key=lambda kv: (kv[0][0], -kv[0][1]))])
    metric("kubeward_findings_suppressed", "gauge", "Findings an exception matched.",
           [("", len(report.suppressed))])
    metric("kubeward_resources_scanned", "gauge", "Kubernetes objects read.",
           [("", len(report.inventory))])
    metric("kubeward_scan_timestamp_seconds", "gauge",
           "Unix time at which the report was rendered.",
           [("", round(time.time() if now is None else now, 3))])
    return ("\n".join(out) + "\n").encode()

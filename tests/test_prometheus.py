"""`-o prometheus`: the text exposition format, parsed by prometheus_client's own parser."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kubeward.config import Config
from kubeward.posture import assess
from kubeward.report.prometheus import render_prometheus
from kubeward.scan import run_scan

REPO = Path(__file__).resolve().parents[1]
parser = pytest.importorskip("prometheus_client.parser")


def families(text: str) -> dict[str, list]:
    return {fam.name: fam.samples for fam in parser.text_string_to_metric_families(text)}


def test_prometheus_text_parses_and_matches_the_posture():
    report = run_scan([str(REPO / "examples" / "insecure")], Config())
    text = render_prometheus(report, now=1_700_000_000.5).decode()
    assert text.endswith("\n")
    fams = families(text)
    posture = assess(report)
    assert fams["kubeward_posture_score"][0].value == posture.score
    status = {s.labels["item"]: s.value for s in fams["kubeward_checklist_item_status"]}
    expected = {str(ip.number): {"met": 1.0, "partly": 0.5, "not-met": 0.0}[ip.status]
                for ip in posture.items if ip.status != "unknown"}
    assert status == expected and "7" not in status  # unknown items are omitted
    slugs = {s.labels["item"]: s.labels["slug"] for s in fams["kubeward_checklist_item_status"]}
    assert slugs["3"] == "pod-security"
    findings = fams["kubeward_findings"]
    assert len(findings) == 13 * 5
    assert sum(s.value for s in findings) == len(report.active)
    crit3 = [s for s in findings if s.labels == {"severity": "critical", "item": "3"}]
    assert crit3[0].value == 1
    assert fams["kubeward_resources_scanned"][0].value == len(report.inventory)
    assert fams["kubeward_scan_timestamp_seconds"][0].value == 1_700_000_000.5
    # every sample line is "name{labels} value" (node-exporter textfile collector)
    for line in text.splitlines():
        assert line.startswith(("# HELP ", "# TYPE ", "kubeward_"))


def test_cli_prometheus_output(tmp_path):
    out = tmp_path / "kubeward.prom"
    proc = subprocess.run([str(Path(sys.executable).with_name("kubeward")), "scan", "examples/hardened",
                           "-o", "prometheus", "--output-file", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    fams = families(out.read_text())
    # Everything met but image signing: pinned, yet nothing verifies signatures (partly).
    assert fams["kubeward_posture_score"][0].value == 97

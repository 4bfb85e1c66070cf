"""Helm charts rendered without the helm binary, through Helm's own engine (helm-python-sdk).

The SDK is a test dependency, so this runs in CI; `helm` itself cannot be installed here.
"""

from __future__ import annotations

import shutil

import pytest

from kubeward.config import Config
from kubeward.scan import run_scan
from tests.conftest import REPO

CHART = REPO / "tests" / "fixtures" / "charts" / "shop"


@pytest.fixture(autouse=True)
def _needs_sdk(monkeypatch):
    pytest.importorskip("helm_python")
    if shutil.which("helm"):
        monkeypatch.setenv("PATH", "/nonexistent")  # exercise the SDK path, not the binary


def test_chart_is_rendered_and_findings_point_at_templates(monkeypatch):
    monkeypatch.chdir(REPO)
    report = run_scan([str(CHART.relative_to(REPO))], Config())
    assert not report.errors
    kinds = sorted(r.kind for r in report.inventory)
    assert kinds == ["Deployment", "Service"]
    deploy = report.inventory.of_kind("Deployment")[0]
    assert deploy.name == "kubeward-scan-shop"  # release name + helper template
    privileged = [f for f in report.findings if f.rule.id == "pss.baseline.privileged"]
    assert len(privileged) == 1
    assert privileged[0].file == "tests/fixtures/charts/shop/templates/deployment.yaml"
    assert privileged[0].line == 2  # the template's `kind: Deployment` line
    assert any(f.rule.id == "image.latest-tag" for f in report.findings)


def test_broken_chart_gives_one_clear_error(tmp_path):
    chart = tmp_path / "broken"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: broken\nversion: 0.1.0\n")
    (chart / "templates" / "x.yaml").write_text('kind: {{ include "missing" . }}\n')
    report = run_scan([str(chart)], Config())
    assert len(report.errors) == 1
    assert report.errors[0].path == str(chart)
    assert "helm render failed" in report.errors[0].message
    assert "\n" not in report.errors[0].message
    assert 'no template "missing"' in report.errors[0].message  # the cause, not only where


def test_committed_rendered_output_points_at_the_template_when_the_chart_is_beside_it(monkeypatch):
    # `helm template shop > shop-rendered.yaml` run in tests/fixtures/charts: its `# Source:`
    # paths are relative to that folder, where the chart is.
    monkeypatch.chdir(REPO)
    rendered = "tests/fixtures/charts/shop-rendered.yaml"
    report = run_scan([rendered], Config())
    privileged = [f for f in report.findings if f.rule.id == "pss.baseline.privileged"]
    assert len(privileged) == 1
    assert privileged[0].file == "tests/fixtures/charts/shop/templates/deployment.yaml"
    assert privileged[0].line == 2
    assert privileged[0].resource.origin.source.path == rendered


def test_committed_rendered_output_without_the_chart_points_at_the_rendered_file(tmp_path):
    rendered = tmp_path / "out.yaml"
    rendered.write_text((CHART.parent / "shop-rendered.yaml").read_text())
    report = run_scan([str(rendered)], Config())
    privileged = next(f for f in report.findings if f.rule.id == "pss.baseline.privileged")
    assert privileged.file == str(rendered)
    assert privileged.resource.origin.template == "shop/templates/deployment.yaml"
    text = rendered.read_text().splitlines()
    assert "privileged: true" in text[privileged.line - 1]

"""PSS rules in `kubeward scan`: each upstream check's fixture fires its rule, base passes.

Uses the upstream fixtures (shared/corpora/psa) at the newest version, through the whole
scan pipeline (loader, inventory, engine, rule mapping).
"""

from __future__ import annotations

import pytest

from kubeward import pss
from kubeward.config import Config
from kubeward.rules.pss import rule_id_for
from kubeward.scan import run_scan
from tests.conftest import corpus

NEWEST = "v1.37"


def _fixtures(check: pss.Check) -> list:
    root = corpus("psa") / "test" / "testdata"
    level_dir = root / "restricted" / NEWEST / "fail"
    return sorted(level_dir.glob(f"{check.id.lower()}[0-9]*.yaml"))


@pytest.mark.parametrize("check", pss.ALL_CHECKS, ids=lambda c: c.id)
def test_fail_fixtures_fire_the_checks_rule(check):
    files = _fixtures(check)
    if not files:
        pytest.skip(f"no {NEWEST} fail fixture for {check.id} (removed or not yet versioned)")
    rule_id = rule_id_for(check.id, check.level)
    for path in files:
        report = run_scan([str(path)], Config())
        ids = {f.rule.id for f in report.findings}
        assert rule_id in ids, f"{path.name}: {rule_id} not in {sorted(ids)}"


def test_base_fixture_has_no_pss_finding():
    base = corpus("psa") / "test" / "testdata" / "restricted" / NEWEST / "pass" / "base.yaml"
    report = run_scan([str(base)], Config())
    assert [f.rule.id for f in report.findings if f.rule.id.startswith("pss.")] == []


def test_every_check_has_a_rule_in_the_catalog():
    from kubeward.rules.catalog import load_catalog

    ids = {r.id for r in load_catalog()}
    for check in pss.ALL_CHECKS:
        assert rule_id_for(check.id, check.level) in ids


def test_baseline_level_config_reports_no_restricted_rules(tmp_path):
    path = corpus("psa") / "test" / "testdata" / "restricted" / NEWEST / "fail" / "runasnonroot0.yaml"
    report = run_scan([str(path)], Config(pss_level="baseline"))
    assert not [f for f in report.findings if f.rule.id.startswith("pss.restricted.")]


def test_findings_point_at_the_offending_field():
    from tests.conftest import REPO

    report = run_scan([str(REPO / "examples" / "insecure" / "web.yaml")], Config())
    lines = {f.rule.id: f.line for f in report.findings}
    text = (REPO / "examples" / "insecure" / "web.yaml").read_text().splitlines()
    assert "privileged: yes" in text[lines["pss.baseline.privileged"] - 1]
    assert "hostNetwork: true" in text[lines["pss.baseline.host-namespaces"] - 1]
    assert "hostPort: 80" in text[lines["pss.baseline.host-ports"] - 1]
    assert "hostPath" in text[lines["pss.baseline.host-path-volumes"] - 1]
    # No such field: the named container is the place to add it.
    assert "- name: web" in text[lines["pss.restricted.run-as-non-root"] - 1]


def test_malformed_container_name_does_not_break_the_scan(tmp_path):
    path = tmp_path / "odd.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: odd}\nspec:\n"
        "  containers:\n  - name: [a, b]\n    image: x:1\n    securityContext: {privileged: true}\n"
    )
    report = run_scan([str(path)], Config())
    assert not report.warnings
    assert "pss.baseline.privileged" in {f.rule.id for f in report.findings}

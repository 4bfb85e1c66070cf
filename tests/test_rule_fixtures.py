"""Every rule has fixtures that must fire and fixtures that must not (tests/fixtures/rules).

PSS rules are checked against the upstream fixtures instead (tests/pss and below).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kubeward.config import Config, _parse
from kubeward.rules.base import Scope
from kubeward.rules.catalog import load_catalog
from kubeward.scan import run_scan

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
RULES = load_catalog()
OWN_RULES = [r for r in RULES if r.scope is not Scope.ENGINE]


def _config_for(path: Path) -> Config:
    first = path.read_text().splitlines()[0]
    prefix = "# kubeward-test-config:"
    if first.startswith(prefix):
        return _parse(yaml.safe_load(first[len(prefix):]), str(path))
    return Config()


def _cases() -> list[tuple[str, Path, bool]]:
    cases = []
    for rule in OWN_RULES:
        for f in sorted((FIXTURES / rule.id).glob("*.yaml")):
            cases.append((rule.id, f, f.name.startswith("fire")))
    return cases


@pytest.mark.parametrize("rule", OWN_RULES, ids=lambda r: r.id)
def test_every_rule_has_fire_and_pass_fixtures(rule):
    names = [p.name for p in (FIXTURES / rule.id).glob("*.yaml")]
    assert any(n.startswith("fire") for n in names), f"{rule.id}: no fire-*.yaml fixture"
    assert any(n.startswith("pass") for n in names), f"{rule.id}: no pass*.yaml fixture"


@pytest.mark.parametrize(("rule_id", "path", "fires"), _cases(),
                         ids=lambda v: v.name if isinstance(v, Path) else str(v))
def test_rule_fixture(rule_id, path, fires):
    report = run_scan([str(path)], _config_for(path))
    assert not report.errors, report.errors
    assert not report.warnings, report.warnings
    hits = [f for f in report.findings if f.rule.id == rule_id]
    if fires:
        assert hits, f"{rule_id} did not fire on {path.name}"
        for f in hits:
            assert f.line >= 1
            assert f.message
    else:
        assert not hits, f"{rule_id} fired on {path.name}: {[h.message for h in hits]}"

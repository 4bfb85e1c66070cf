"""Every built-in detection rule fires on its `fire-*.json` fixtures and not on `pass-*.json`.

A fixture is one audit event or a list of events (fed in order to a fresh engine, for the
stateful burst rule). Events were shaped after the real v1.20 API server's audit log
(tests/cluster/test_detect_e2e.py checks the same rules on events the server wrote).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubeward.detect.engine import Detector
from kubeward.detect.rules import RuleSet, load_rules

FIXTURES = Path(__file__).parent.parent / "fixtures" / "detect"


@pytest.fixture(scope="module")
def ruleset() -> RuleSet:
    return load_rules()


def _cases(prefix: str) -> list[Any]:
    return [
        pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in sorted(FIXTURES.glob(f"*/{prefix}*.json"))
    ]


def _alerts(ruleset: RuleSet, path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text())
    events = data if isinstance(data, list) else [data]
    detector = Detector(ruleset)
    alerts = [a for e in events for a in detector.process(e)]
    assert not detector.stats.cel_errors, detector.stats.cel_error_examples
    return alerts + detector.flush()


def test_every_rule_has_fire_and_pass_fixtures(ruleset: RuleSet) -> None:
    for rule in ruleset.rules:
        folder = FIXTURES / rule.id
        assert list(folder.glob("fire-*.json")), f"{rule.id}: no fire-*.json fixture"
        assert list(folder.glob("pass-*.json")), f"{rule.id}: no pass-*.json fixture"
    known = {r.id for r in ruleset.rules}
    strays = {p.name for p in FIXTURES.iterdir() if p.is_dir() and not p.name.startswith("_")} - known
    assert not strays, f"fixture folders without a rule: {strays}"


@pytest.mark.parametrize("path", _cases("fire-"))
def test_fires(ruleset: RuleSet, path: Path) -> None:
    fired = [a for a in _alerts(ruleset, path) if a["rule"] == path.parent.name]
    assert len(fired) == 1, f"{path.parent.name} fired {len(fired)} times on {path.name}"
    assert "<na>" not in fired[0]["message"]
    assert "<error>" not in json.dumps(fired[0]["fields"])


@pytest.mark.parametrize("path", _cases("pass-"))
def test_does_not_fire(ruleset: RuleSet, path: Path) -> None:
    fired = [a["rule"] for a in _alerts(ruleset, path)]
    assert path.parent.name not in fired

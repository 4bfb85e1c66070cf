"""Real Kyverno library policies (tests/fixtures/kyverno, from kyverno/policies, Apache-2.0)
with their upstream kyverno-test.yaml: `kubeward policy test` must agree with every result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from kubeward.cli.policy import policy_group
from kubeward.policy.testrunner import run_dir

FIXTURES = Path(__file__).parents[1] / "fixtures" / "kyverno"
SUITES = sorted(p.parent.name for p in FIXTURES.glob("*/kyverno-test.yaml"))


def test_fixture_suites_are_present():
    assert SUITES == [
        "add-default-securitycontext",
        "disallow-latest-tag",
        "podsecurity-subrule-baseline",
        "require-drop-all",
        "require-ro-rootfs",
        "require-run-as-nonroot",
        "restricted-exclude-capabilities",
    ]


@pytest.mark.parametrize("suite", SUITES)
def test_upstream_expected_results_hold(suite):
    (tf,) = run_dir([str(FIXTURES / suite)])
    assert tf.errors == []
    assert tf.rows, "the suite checked nothing"
    bad = [r for r in tf.rows if not r.ok]
    assert bad == []
    # both outcomes are exercised where upstream expects them
    expected = {r.expected for r in tf.rows}
    assert expected <= {"pass", "fail", "skip"}


def test_all_upstream_results_through_the_cli():
    r = CliRunner().invoke(policy_group, ["test", str(FIXTURES), "-o", "json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["summary"] == {"tests": 7, "results": 97, "passed": 97, "failed": 0, "errors": 0}


def test_a_wrong_expectation_is_reported_and_exits_1(tmp_path):
    suite = tmp_path / "s"
    shutil.copytree(FIXTURES / "require-ro-rootfs", suite)
    text = (suite / "kyverno-test.yaml").read_text()
    (suite / "kyverno-test.yaml").write_text(
        text.replace(
            "resource: goodpod01\n    kind: Pod\n    result: pass",
            "resource: goodpod01\n    kind: Pod\n    result: fail",
        )
    )
    r = CliRunner().invoke(policy_group, ["test", str(suite)], catch_exceptions=False)
    assert r.exit_code == 1
    assert "Want fail, got pass" in r.output
    assert "4/5 results passed" in r.output


def test_a_wrong_patched_resource_is_reported(tmp_path):
    suite = tmp_path / "s"
    shutil.copytree(FIXTURES / "add-default-securitycontext", suite)
    p = suite / "patchedResource.yaml"
    p.write_text(p.read_text().replace("fsGroup: 2000", "fsGroup: 2001"))
    r = CliRunner().invoke(policy_group, ["test", str(suite)], catch_exceptions=False)
    assert r.exit_code == 1
    assert "Patched resource didn't match" in r.output

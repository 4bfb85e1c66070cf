"""The generated admission policies decide as intended on generated good and bad pods:

* Kyverno sets: the suite `kubeward generate SET --tests DIR` writes (policy, example pods,
  kyverno-test.yaml with hand-written expectations) passes `kubeward policy test DIR` -
  kubeward's offline Kyverno engine (kubeward.policy.kyverno) - for several parameter sets;
* the mutate policy's output and `kubeward fix`'s output both reach Pod Security
  `restricted`;
* the ValidatingAdmissionPolicy, evaluated by kubeward.policy.vap with its binding, denies
  privileged pods with the seed's message and admits the rest;
* verifyImages needs a registry: only checked to load (signature verification is tested
  with the supply-chain verifier).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kubeward.cli.generate import generate_group, render_documents
from kubeward.generate.examples import SUPPORTED, policy_test_suite
from kubeward.generate.policies import get_set

kyverno = pytest.importorskip("kubeward.policy.kyverno")
testrunner = pytest.importorskip("kubeward.policy.testrunner")

VARIANTS = [
    ("restrict-image-registries", {"registries": "ghcr.io/acme/"}),
    ("restrict-image-registries", {"registries": "bar.io, ghcr.io/acme/", "disallow-latest": "true",
                                   "action": "Enforce"}),
    ("add-default-securitycontext", {}),
    ("add-default-securitycontext", {"read-only-root": "false", "automount": "false",
                                     "run-as-user": "65532"}),
]


def _write(folder: Path, suite: dict[str, list[Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, docs in suite.items():
        (folder / name).write_text(render_documents(docs))
    return folder


@pytest.mark.parametrize(("name", "params"), VARIANTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(VARIANTS)])
def test_generated_suite_passes_policy_test(name: str, params: dict[str, str], tmp_path: Path) -> None:
    folder = _write(tmp_path / "suite", policy_test_suite(name, params, "shop"))
    result = testrunner.run_test_file(folder / "kyverno-test.yaml")
    assert result.errors == []
    assert result.rows, "no results checked"
    failed = [(r.rule, r.resource, r.expected, r.actual, r.reason) for r in result.rows if not r.ok]
    assert failed == []
    assert {r.expected for r in result.rows} >= ({"pass", "fail"} if "registries" in name
                                                 else {"pass", "skip"})


def test_cli_writes_suite_and_policy_test_passes(tmp_path: Path) -> None:
    from kubeward.cli.policy import policy_group

    folder = tmp_path / "suite"
    r = CliRunner().invoke(generate_group, ["restrict-image-registries", "-p", "registries=ghcr.io/acme/",
                                            "--tests", str(folder)])
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in folder.iterdir()) == ["kyverno-test.yaml", "policy.yaml", "resources.yaml"]
    t = CliRunner().invoke(policy_group, ["test", str(folder), "-o", "json"])
    assert t.exit_code == 0, t.output
    summary = json.loads(t.output)["summary"]
    assert summary["results"] == summary["passed"] == 3


def test_suite_only_for_kyverno_sets_it_knows() -> None:
    r = CliRunner().invoke(generate_group, ["vap-deny-privileged", "--tests", "x"])
    assert r.exit_code == 2 and "example suites exist for" in r.output
    assert set(SUPPORTED) == {"restrict-image-registries", "add-default-securitycontext"}


def test_a_wrong_expectation_is_caught(tmp_path: Path) -> None:
    """The suite is a real check: flip one expected result and the runner fails it."""
    suite = policy_test_suite("restrict-image-registries", {"registries": "ghcr.io/acme/"})
    suite["kyverno-test.yaml"][0]["results"][1]["result"] = "pass"  # bad-registry
    folder = _write(tmp_path / "suite", suite)
    result = testrunner.run_test_file(folder / "kyverno-test.yaml")
    assert [r.resource for r in result.rows if not r.ok] == ["Pod/default/bad-registry",
                                                            "Pod/default/bad-init-registry"]


def _bare_pod() -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
            "spec": {"initContainers": [{"name": "init", "image": "ghcr.io/acme/init:1"}],
                     "containers": [{"name": "app", "image": "ghcr.io/acme/app:1"}]}}


def test_mutated_pod_and_fixed_pod_reach_restricted() -> None:
    from kubeward.fix.hardening import apply_edits, plan_workload
    from kubeward.pss import evaluate

    policies = kyverno.load_policies(get_set("add-default-securitycontext").build({}))
    patched, results = kyverno.mutate(policies, _bare_pod())
    assert {r.status for r in results} == {"pass"}
    assert evaluate(patched["metadata"], patched["spec"], "restricted", "latest") == []

    fixed = _bare_pod()
    plan = plan_workload("Pod", fixed)
    assert plan is not None
    apply_edits(fixed, plan.edits)
    assert evaluate(fixed["metadata"], fixed["spec"], "restricted", "latest") == []
    # the same container hardening from both (the policy also sets the pod's user ids)
    for field in ("initContainers", "containers"):
        assert patched["spec"][field][0]["securityContext"] == fixed["spec"][field][0]["securityContext"]
    assert patched["spec"]["automountServiceAccountToken"] is fixed["spec"]["automountServiceAccountToken"]


def test_verify_image_policy_loads() -> None:
    for params in ({}, {"public-key": "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----"}):
        errors: list[str] = []
        policies = kyverno.load_policies(get_set("verify-image-signature").build(params), errors)
        assert errors == [] and [p.name for p in policies] == ["verify-image-signature"]


# --- ValidatingAdmissionPolicy ------------------------------------------------------------------

def _vap_pod(name: str, security: dict[str, Any] | None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "c", "image": "ghcr.io/acme/app:1"}
    if security is not None:
        container["securityContext"] = security
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop"},
            "spec": {"containers": [{"name": "ok", "image": "ghcr.io/acme/ok:1"}, container]}}


@pytest.mark.parametrize(("security", "allowed"), [
    (None, True),
    ({}, True),
    ({"privileged": False}, True),
    ({"runAsNonRoot": True}, True),
    ({"privileged": True}, False),
])
def test_vap_denies_privileged_only(security: dict[str, Any] | None, allowed: bool) -> None:
    vap = pytest.importorskip("kubeward.policy.vap")
    loaded = vap.load(get_set("vap-deny-privileged").build({}))
    assert loaded.errors == []
    decisions = loaded.evaluate(_vap_pod("p", security), operation="CREATE",
                                namespace_object={"apiVersion": "v1", "kind": "Namespace",
                                                  "metadata": {"name": "shop"}})
    ok, message = vap.verdict(decisions)
    assert ok is allowed, message
    if not allowed:
        assert message is not None and "Privileged containers are not allowed" in message

"""`kubeward policy apply` and `kubeward policy test`: output, exit codes and bad input."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kubeward.cli.policy import policy_group

FIXTURES = Path(__file__).parents[1] / "fixtures" / "kyverno"
LATEST = FIXTURES / "disallow-latest-tag"

ENFORCE = """\
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: require-team
spec:
  validationFailureAction: Enforce
  rules:
  - name: team-label
    match:
      any:
      - resources:
          kinds: [Pod]
    validate:
      message: "label team is required"
      pattern:
        metadata:
          labels:
            team: "?*"
"""

PODS = """\
apiVersion: v1
kind: Pod
metadata: {name: good, namespace: a, labels: {team: x}}
spec: {containers: [{name: c, image: "nginx:1"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: bad, namespace: a}
spec: {containers: [{name: c, image: "nginx:1"}]}
"""


def run(*args: str):
    return CliRunner().invoke(policy_group, list(args), catch_exceptions=False)


def test_apply_kyverno_cli_shape_audit_failures_exit_0():
    r = run("apply", str(LATEST / "disallow-latest-tag.yaml"), "--resource", str(LATEST / "resource.yaml"))
    assert r.exit_code == 0, r.output
    assert "Pod/badpod01" in r.output and "FAIL" in r.output
    assert "pass: 10, fail: 6, warn: 0, error: 0, skip: 0  (1 policies, 8 resources)" in r.output


def test_apply_json_and_audit_warn():
    r = run("apply", str(LATEST), "-o", "json", "--audit-warn")
    assert r.exit_code == 0
    data = json.loads(r.stdout)
    assert data["summary"] == {"pass": 10, "fail": 0, "warn": 6, "error": 0, "skip": 0}
    assert {
        "resource": "Deployment/baddeployment01",
        "policy": "disallow-latest-tag",
        "rule": "autogen-require-image-tag",
        "status": "warn",
    }.items() <= data["results"][12].items()


def test_apply_enforce_failure_exits_1(tmp_path):
    (tmp_path / "policy.yaml").write_text(ENFORCE)
    (tmp_path / "pods.yaml").write_text(PODS)
    r = run("apply", str(tmp_path / "policy.yaml"), str(tmp_path / "pods.yaml"))
    assert r.exit_code == 1
    assert "Pod/a/bad" in r.stdout and "FAIL (enforce)" in r.stdout
    ok = run("apply", str(tmp_path / "policy.yaml"), "-r", str(tmp_path / "pods.yaml"), "--show-skipped")
    assert ok.exit_code == 1
    (tmp_path / "good.yaml").write_text(PODS.split("---")[0])
    assert run("apply", str(tmp_path / "policy.yaml"), "-r", str(tmp_path / "good.yaml")).exit_code == 0


def test_apply_mutates_before_validating(tmp_path):
    (tmp_path / "policy.yaml").write_text(
        ENFORCE
        + """\
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: add-team}
spec:
  rules:
  - name: default-team
    match: {any: [{resources: {kinds: [Pod]}}]}
    mutate:
      patchStrategicMerge:
        metadata:
          labels:
            +(team): platform
"""
    )
    (tmp_path / "pods.yaml").write_text(PODS)
    r = run("apply", str(tmp_path / "policy.yaml"), "-r", str(tmp_path / "pods.yaml"), "-o", "json")
    assert r.exit_code == 0, r.stdout
    results = json.loads(r.stdout)["results"]
    assert {(x["resource"], x["rule"], x["status"]) for x in results} == {
        ("Pod/a/good", "default-team", "skip"),
        ("Pod/a/good", "team-label", "pass"),
        ("Pod/a/bad", "default-team", "pass"),
        ("Pod/a/bad", "team-label", "pass"),
    }


def test_apply_bad_input(tmp_path):
    (tmp_path / "broken.yaml").write_text("kind: [\n")
    r = run("apply", str(tmp_path / "broken.yaml"))
    assert r.exit_code == 2
    assert r.stderr.startswith(f"error: {tmp_path / 'broken.yaml'}:")
    assert "Traceback" not in r.stderr
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    r = run("apply", str(tmp_path / "cm.yaml"))
    assert r.exit_code == 2 and "no Kyverno policy" in r.stderr
    assert run("apply").exit_code == 2
    assert run("apply", str(tmp_path / "missing.yaml")).exit_code == 2
    r = run("apply", str(tmp_path / "cm.yaml"), "--set", "novalue")
    assert r.exit_code == 2 and "NAME=VALUE" in r.stderr


def test_apply_reports_a_malformed_policy_and_runs_the_rest(tmp_path):
    (tmp_path / "p.yaml").write_text(
        ENFORCE + "---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\n"
        "metadata: {name: broken}\nspec: {rules: []}\n"
    )
    (tmp_path / "pods.yaml").write_text(PODS)
    r = run("apply", str(tmp_path / "p.yaml"), "-r", str(tmp_path / "pods.yaml"))
    assert r.exit_code == 1  # the good policy still ran
    assert "ClusterPolicy broken: spec.rules must be a non-empty list" in r.stderr
    assert "p.yaml:20: " in r.stderr  # the line of the broken policy


def test_test_command_errors(tmp_path):
    r = run("test", str(tmp_path))
    assert r.exit_code == 2 and "no kyverno-test.yaml" in r.stderr
    assert run("test", str(tmp_path / "nope")).exit_code == 2
    (tmp_path / "kyverno-test.yaml").write_text(
        "name: t\npolicies: [missing.yaml]\nresources: []\nresults: []\n"
    )
    r = run("test", str(tmp_path))
    assert r.exit_code == 1
    assert "missing.yaml" in r.stderr


def test_help_has_examples():
    for args in (["--help"], ["apply", "--help"], ["test", "--help"]):
        assert "Examples:" in run(*args).output


VAP = """\
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: replicas-limit}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - apiGroups: [apps]
      apiVersions: [v1]
      operations: [CREATE, UPDATE]
      resources: [deployments]
  validations:
  - expression: "object.spec.replicas <= 5"
    message: "at most 5 replicas"
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: replicas-limit-binding}
spec:
  policyName: replicas-limit
  validationActions: [Deny]
"""


def deployment(name: str, replicas: int) -> str:
    return (
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: a}}\n"
        f"spec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: x}}}}\n"
        "  template:\n    metadata: {labels: {app: x}}\n"
        "    spec: {containers: [{name: c, image: 'nginx:1'}]}\n"
    )


def test_apply_evaluates_validating_admission_policies_too(tmp_path):
    (tmp_path / "vap.yaml").write_text(VAP)
    (tmp_path / "big.yaml").write_text(deployment("big", 10))
    (tmp_path / "small.yaml").write_text(deployment("small", 2))
    r = run("apply", str(tmp_path / "vap.yaml"), "-r", str(tmp_path / "big.yaml"), "-o", "json")
    assert r.exit_code == 1
    data = json.loads(r.stdout)
    assert data["validating_admission_policies"] == 1
    (row,) = data["results"]
    assert row["policy"] == "vap:replicas-limit" and row["status"] == "fail" and row["enforce"]
    assert "at most 5 replicas" in row["message"]
    ok = run("apply", str(tmp_path / "vap.yaml"), "-r", str(tmp_path / "small.yaml"))
    assert ok.exit_code == 0 and "PASS" in ok.stdout


def test_malformed_test_files_are_reported_not_raised(tmp_path):
    files = {
        "a": "name: x\npolicies: 5\nresources: {a: 1}\nresults: [1, {policy: 3, rule: [1], resources: 7}]\n",
        "b": "- 1\n- 2\n",
        "c": "name: [\n",
        "d": "",
        "e": "name: x\npolicies: [p.yaml]\nvariables: v.yaml\nuserinfo: u.yaml\nresults: {}\n",
    }
    for name, text in files.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "kyverno-test.yaml").write_text(text)
    (tmp_path / "e" / "p.yaml").write_text(ENFORCE)
    (tmp_path / "e" / "v.yaml").write_text(
        "globalValues: 5\npolicies: [1, {rules: 2}]\nnamespaceSelector: [1]\n"
    )
    (tmp_path / "e" / "u.yaml").write_text("- x\n")
    r = run("test", str(tmp_path))
    assert r.exit_code == 1
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert "a/kyverno-test.yaml: no policies listed" in r.stderr
    assert "c/kyverno-test.yaml:1: YAML error" in r.stderr
    assert "e/kyverno-test.yaml: results must be a list" in r.stderr
    assert "the result names no resource" in r.stdout


def test_apply_reports_filters_with_wrong_types(tmp_path):
    """Review 2026-11-24: `kinds: 5` (or names, roles, podSecurity.exclude ... not a list)
    raised TypeError, an internal error with exit 3."""
    bad = ENFORCE.replace("kinds: [Pod]", "kinds: 5")
    bad += "---\n" + ENFORCE.replace("require-team", "p2").replace(
        "kinds: [Pod]", "kinds: [Pod]\n          names: 7\n        roles: 8")
    bad += "---\n" + ENFORCE.replace("require-team", "p3").replace(
        'pattern:\n        metadata:\n          labels:\n            team: "?*"',
        "podSecurity: {level: restricted, exclude: 9}")
    (tmp_path / "p.yaml").write_text(bad + "---\n" + ENFORCE.replace("require-team", "good"))
    (tmp_path / "pods.yaml").write_text(PODS)
    r = run("apply", str(tmp_path / "p.yaml"), "-r", str(tmp_path / "pods.yaml"))
    assert r.exit_code == 1  # the good policy still ran (and denies Pod bad), no exit 3
    assert "ClusterPolicy require-team: spec.rules[0]: match.any[0].resources.kinds must be a list" \
        in r.stderr
    assert "ClusterPolicy p2: spec.rules[0]: match.any[0].resources.names must be a list" in r.stderr
    assert "ClusterPolicy p2: spec.rules[0]: match.any[0].roles must be a list" in r.stderr
    assert "ClusterPolicy p3: spec.rules[0]: validate.podSecurity.exclude must be a list" in r.stderr
    assert "good" in r.stdout


def test_test_namespace_resource_without_metadata_map(tmp_path):
    """Review 2026-11-24: a Namespace with `metadata: null` among the resources raised
    AttributeError (exit 3)."""
    (tmp_path / "p.yaml").write_text(ENFORCE)
    (tmp_path / "r.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata: null\n---\n" + PODS)
    (tmp_path / "kyverno-test.yaml").write_text(
        "name: t\npolicies: [p.yaml]\nresources: [r.yaml]\nresults:\n"
        "- {policy: require-team, rule: team-label, kind: Pod, resources: [good], result: pass}\n"
    )
    r = run("test", str(tmp_path))
    assert r.exit_code == 0, r.output
    assert "1/1 results passed" in r.stdout


def test_test_unreadable_file_is_one_error_line(tmp_path):
    """Review 2026-11-24: a binary or broken test file also got "not a Kyverno test file"."""
    (tmp_path / "kyverno-test.yaml").write_bytes(b"\xff\xfe\x00garbage")
    r = run("test", str(tmp_path))
    assert r.exit_code == 1
    assert len(r.stderr.splitlines()) == 1 and "cannot read" in r.stderr
    (tmp_path / "kyverno-test.yaml").write_text("name: [\n")
    r = run("test", str(tmp_path))
    assert len(r.stderr.splitlines()) == 1 and "kyverno-test.yaml:1: YAML error" in r.stderr


def test_apply_exits_2_when_a_policy_could_not_be_loaded(tmp_path):
    """Review 2026-11-24: a malformed policy (or VAP) next to good ones was reported but the
    run exited 0 when nothing failed: a CI gate passed while the broken policy enforced nothing."""
    (tmp_path / "p.yaml").write_text(
        ENFORCE + "---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\n"
        "metadata: {name: broken}\nspec: {rules: []}\n"
    )
    (tmp_path / "good.yaml").write_text(PODS.split("---\n")[0])
    r = run("apply", str(tmp_path / "p.yaml"), "-r", str(tmp_path / "good.yaml"))
    assert r.exit_code == 2
    assert "ClusterPolicy broken: spec.rules must be a non-empty list" in r.stderr
    assert "pass: 1, fail: 0" in r.stdout  # the good policy still ran
    vap = Path(__file__).parents[1] / "fixtures" / "vap" / "broken.yaml"
    r = run("apply", str(vap), "-r", str(tmp_path / "good.yaml"))
    assert r.exit_code == 2 and "compilation failed" in r.stderr
    (tmp_path / "ok.yaml").write_text(ENFORCE)
    assert run("apply", str(tmp_path / "ok.yaml"), "-r", str(tmp_path / "good.yaml")).exit_code == 0


def test_apply_stdin_twice_is_a_usage_error():
    r = CliRunner().invoke(policy_group, ["apply", "-", "-r", "-"], input=ENFORCE + "---\n" + PODS)
    assert r.exit_code == 2
    assert "standard input (-) can be read once" in r.stderr

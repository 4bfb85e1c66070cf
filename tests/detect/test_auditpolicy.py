"""The seed audit policy and the policy check (checker.go semantics: first matching rule wins)."""

from __future__ import annotations

from typing import Any

import pytest

from kubeward.detect.auditpolicy import (
    Need,
    check_audit_policy,
    generate_audit_policy,
    level_and_stages,
    validate_policy,
)
from kubeward.detect.rules import load_rules

RULES = load_rules().rules


def _policy(*rules: dict[str, Any], omit: list[str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": omit or [], "rules": list(rules)}


def test_generated_policy_gives_every_rule_what_it_needs() -> None:
    policy = generate_audit_policy({})
    assert validate_policy(policy) is None
    assert check_audit_policy(policy, RULES) == []
    assert policy["omitStages"] == ["RequestReceived"]


def test_generated_policy_never_logs_secret_bodies() -> None:
    policy = generate_audit_policy({"body-level": "RequestResponse", "drop-namespaces": "ci"})
    for verb in ("get", "list", "create", "update", "patch", "delete"):
        for ns in ("default", "ci", "kube-system"):
            assert level_and_stages(policy, Need(verb, "secrets", namespace=ns))[0] in ("None", "Metadata")
    assert (
        level_and_stages(policy, Need("create", "serviceaccounts", subresource="token", namespace="default"))[
            0
        ]
        == "Metadata"
    )


def test_generated_policy_params() -> None:
    policy = generate_audit_policy({"drop-users": "noisy-operator, other", "default-level": "None"})
    assert level_and_stages(policy, Need("create", "pods", namespace="a", user="noisy-operator"))[0] == "None"
    assert level_and_stages(policy, Need("get", "configmaps", namespace="a"))[0] == "Metadata"
    assert level_and_stages(policy, Need("get", "services", namespace="a"))[0] == "None"
    assert level_and_stages(policy, Need("get", path="/healthz/etcd"))[0] == "None"
    with pytest.raises(ValueError, match="unknown parameter 'colour'"):
        generate_audit_policy({"colour": "red"})
    with pytest.raises(ValueError, match="body-level"):
        generate_audit_policy({"body-level": "Metadata"})


def test_first_matching_rule_wins() -> None:
    policy = _policy(
        {"level": "Metadata", "resources": [{"group": "", "resources": ["pods"]}]},
        {"level": "RequestResponse", "resources": [{"group": ""}]},
    )
    assert level_and_stages(policy, Need("create", "pods", namespace="a"))[0] == "Metadata"
    assert level_and_stages(policy, Need("create", "services", namespace="a"))[0] == "RequestResponse"
    # no rule matches: None (checker.go DefaultAuditLevel)
    assert level_and_stages(_policy(), Need("create", "pods"))[0] == "None"


def test_subresource_forms() -> None:
    exact = _policy({"level": "Request", "resources": [{"group": "", "resources": ["pods/exec"]}]})
    any_sub = _policy({"level": "Request", "resources": [{"group": "", "resources": ["*/exec"]}]})
    all_subs = _policy({"level": "Request", "resources": [{"group": "", "resources": ["pods/*"]}]})
    plain = _policy({"level": "Request", "resources": [{"group": "", "resources": ["pods"]}]})
    exec_need = Need("create", "pods", subresource="exec", namespace="a")
    assert [level_and_stages(p, exec_need)[0] for p in (exact, any_sub, all_subs, plain)] == [
        "Request",
        "Request",
        "Request",
        "None",
    ]
    # "pods/*" matches the pod itself too (checker.go: resource == TrimSuffix(res, "/*"))
    assert level_and_stages(all_subs, Need("create", "pods", namespace="a"))[0] == "Request"


def test_users_groups_verbs_namespaces_and_names() -> None:
    policy = _policy(
        {"level": "None", "users": ["bob"]},
        {"level": "None", "userGroups": ["system:nodes"]},
        {"level": "None", "verbs": ["watch"]},
        {"level": "None", "namespaces": ["quiet"]},
        {"level": "None", "resources": [{"group": "", "resources": ["configmaps"], "resourceNames": ["x"]}]},
        {"level": "Metadata"},
    )
    assert level_and_stages(policy, Need("get", "pods", namespace="a", user="bob"))[0] == "None"
    assert level_and_stages(policy, Need("get", "pods", namespace="a", groups=("system:nodes",)))[0] == "None"
    assert level_and_stages(policy, Need("watch", "pods", namespace="a"))[0] == "None"
    assert level_and_stages(policy, Need("get", "pods", namespace="quiet"))[0] == "None"
    assert level_and_stages(policy, Need("get", "configmaps", namespace="a", name="x"))[0] == "None"
    assert level_and_stages(policy, Need("get", "configmaps", namespace="a", name="y"))[0] == "Metadata"
    # a namespaces rule never matches a non-resource request
    ns_only = _policy({"level": "RequestResponse", "namespaces": [""]})
    assert level_and_stages(ns_only, Need("get", path="/metrics"))[0] == "None"


def test_check_reports_gaps() -> None:
    weak = _policy(
        {"level": "None", "resources": [{"group": "", "resources": ["secrets"]}]},
        {"level": "Metadata"},
    )
    gaps = check_audit_policy(weak, RULES)
    rules = {g.rule_id for g in gaps}
    assert {"secret-read", "secrets-listed-cluster-wide", "privileged-pod", "cluster-admin-binding"} <= rules
    assert "pod-exec" not in rules  # Metadata is enough to see an exec
    gap = next(g for g in gaps if g.rule_id == "secret-read")
    assert gap.logged_at == "None" and "not logged" in str(gap)
    omitted = _policy({"level": "RequestResponse"}, omit=["ResponseComplete", "Panic"])
    assert {g.reason for g in check_audit_policy(omitted, RULES)} == {"stage ResponseComplete is omitted"}


@pytest.mark.parametrize(
    ("doc", "problem"),
    [
        ([], "not a mapping"),
        ({"kind": "Pod"}, "not an audit Policy"),
        ({"kind": "Policy", "apiVersion": "audit.k8s.io/v1", "rules": [{"level": "Loud"}]}, "rules[0].level"),
    ],
)
def test_validate(doc: Any, problem: str) -> None:
    assert problem in (validate_policy(doc) or "")

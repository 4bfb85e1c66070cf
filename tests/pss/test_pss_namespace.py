"""Namespace labels (upstream api.PolicyToEvaluate) and namespace planning."""

from __future__ import annotations

from typing import Any

from kubeward.pss import LATEST, LevelVersion, namespace_policy, plan_namespace
from kubeward.pss.namespace import DEFAULT_POLICY, NamespacePolicy

P = "pod-security.kubernetes.io/"


def test_no_labels_gives_defaults() -> None:
    for labels in (None, {}, {"team": "a"}):
        policy = namespace_policy(labels)
        assert policy.enforce == policy.audit == policy.warn == LevelVersion("privileged", LATEST)
        assert policy.valid
        assert policy.fully_privileged


def test_labels_are_parsed() -> None:
    policy = namespace_policy(
        {
            P + "enforce": "baseline",
            P + "enforce-version": "v1.25",
            P + "audit": "restricted",
            P + "warn": "restricted",
            P + "warn-version": "latest",
        }
    )
    assert policy.enforce == LevelVersion("baseline", (1, 25))
    assert policy.audit == LevelVersion("restricted", LATEST)
    assert policy.warn == LevelVersion("restricted", LATEST)
    assert policy.valid
    assert not policy.fully_privileged


def test_invalid_enforce_level_fails_closed_and_audit_warn_fail_open() -> None:
    policy = namespace_policy(
        {P + "enforce": "Baseline", P + "audit": "strict", P + "warn": "", P + "audit-version": "1.25"}
    )
    assert policy.enforce.level == "restricted"
    assert policy.audit.level == "privileged"
    assert policy.warn.level == "privileged"
    assert policy.audit.version is LATEST
    assert not policy.valid
    assert [e.label for e in policy.errors] == [P + "enforce", P + "audit", P + "audit-version", P + "warn"]
    assert str(policy.errors[0]) == (
        f"metadata.labels[{P}enforce]: Invalid value: 'Baseline': "
        "must be one of privileged, baseline, restricted"
    )
    assert policy.errors[2].reason == 'must be "latest" or "v1.x"'


def test_invalid_version_falls_back_to_latest_and_keeps_level() -> None:
    policy = namespace_policy({P + "enforce": "baseline", P + "enforce-version": "v1.025"})
    assert policy.enforce == LevelVersion("baseline", LATEST)
    assert len(policy.errors) == 1


def test_custom_defaults() -> None:
    defaults = NamespacePolicy(
        enforce=LevelVersion("baseline", (1, 30)),
        audit=LevelVersion("restricted", LATEST),
        warn=LevelVersion("restricted", LATEST),
    )
    policy = namespace_policy({P + "enforce-version": "v1.31"}, defaults)
    assert policy.enforce == LevelVersion("baseline", (1, 31))
    assert policy.audit == defaults.audit
    assert namespace_policy({}, defaults) == defaults
    assert DEFAULT_POLICY.fully_privileged


def test_non_string_label_values_are_invalid() -> None:
    labels: dict[str, Any] = {P + "enforce": True, P + "warn-version": 25}
    policy = namespace_policy(labels)
    assert policy.enforce.level == "restricted"
    assert policy.warn.version is LATEST
    assert len(policy.errors) == 2


GOOD: tuple[dict[str, Any], dict[str, Any]] = (
    {},
    {
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "containers": [
            {
                "name": "app",
                "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
            }
        ],
    },
)
BASELINE_ONLY: tuple[dict[str, Any], dict[str, Any]] = ({}, {"containers": [{"name": "app"}]})
PRIVILEGED_ONLY: tuple[dict[str, Any], dict[str, Any]] = (
    {},
    {"hostNetwork": True, "containers": [{"name": "app"}]},
)


def test_plan_restricted() -> None:
    plan = plan_namespace([GOOD, GOOD])
    assert plan.level == "restricted"
    assert plan.version is LATEST
    assert plan.pod_count == 2
    assert dict(plan.blocking) == {}
    assert plan.labels == {P + "enforce": "restricted", P + "enforce-version": "latest"}


def test_plan_baseline_lists_restricted_blockers() -> None:
    plan = plan_namespace([GOOD, BASELINE_ONLY, GOOD])
    assert plan.level == "baseline"
    assert list(plan.blocking) == ["restricted"]
    (blocker,) = plan.blocking["restricted"]
    assert blocker.index == 1
    assert [v.check for v in blocker.violations] == [
        "allowPrivilegeEscalation",
        "capabilities_restricted",
        "runAsNonRoot",
        "seccompProfile_restricted",
    ]


def test_plan_privileged_lists_both_levels() -> None:
    plan = plan_namespace(iter([PRIVILEGED_ONLY, BASELINE_ONLY]), version="v1.25")
    assert plan.level == "privileged"
    assert plan.version == (1, 25)
    assert [b.index for b in plan.blocking["baseline"]] == [0]
    assert [b.index for b in plan.blocking["restricted"]] == [0, 1]
    assert plan.blocking["baseline"][0].violations[0].message == "host namespaces (hostNetwork=true)"
    assert plan.labels[P + "enforce-version"] == "v1.25"


def test_plan_empty_and_malformed() -> None:
    assert plan_namespace([]).level == "restricted"
    # a malformed pair is evaluated as an empty pod spec (no containers: allowed)
    plan = plan_namespace([None, ("a", "b", "c")])  # type: ignore[list-item]
    assert plan.level == "restricted"
    assert plan.pod_count == 2


def test_plan_windows_pod_admitted_by_restricted_but_not_baseline() -> None:
    windows: tuple[dict[str, Any], dict[str, Any]] = (
        {},
        {
            "os": {"name": "windows"},
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "Unconfined"}},
            "containers": [{"name": "c"}],
        },
    )
    assert plan_namespace([windows]).level == "restricted"
    plan = plan_namespace([windows, BASELINE_ONLY])
    # restricted rejects BASELINE_ONLY, baseline rejects the Windows pod's seccomp profile
    assert plan.level == "privileged"
    assert [b.index for b in plan.blocking["baseline"]] == [0]
    assert [b.index for b in plan.blocking["restricted"]] == [1]

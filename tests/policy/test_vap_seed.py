"""The seed policy `deny-privileged-containers` behaves as on a 1.30+ API server.

The test API server here is v1.20 (no ValidatingAdmissionPolicy), so the expected
behaviour is the API server's documented one: the CEL expression is evaluated over
`object` (validating/validator.go Validate), a false result denies with the validation's
`message` and the dispatcher's text "ValidatingAdmissionPolicy '<name>' with binding
'<binding>' denied request: <message>" (validating/dispatcher.go), and only requests
matching `matchConstraints` (pods, CREATE/UPDATE) are evaluated (policy/matching).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from kubeward.policy import vap

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "vap"
MESSAGE = "Privileged containers are not allowed"


def docs(*names: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in names:
        out.extend(d for d in yaml.safe_load_all((FIXTURES / name).read_text()) if d)
    return out


def pod(*containers: dict[str, Any], init: list[dict[str, Any]] | None = None,
        kind: str = "Pod") -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": list(containers)}
    if init is not None:
        spec["initContainers"] = init
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": "p", "namespace": "app"},
            "spec": spec}


def c(name: str = "app", **security: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"name": name, "image": "nginx:1.25"}
    if security:
        out["securityContext"] = security
    return out


@pytest.fixture(scope="module")
def bound() -> vap.VapSet:
    vs = vap.load(docs("deny-privileged.yaml", "deny-privileged-binding.yaml"))
    assert vs.errors == [] and vs.warnings == []
    return vs


def test_privileged_container_is_denied_with_the_policy_message(bound: vap.VapSet) -> None:
    decisions = bound.evaluate(pod(c(privileged=True)))
    assert [(d.allowed, d.denied, d.message, d.reason) for d in decisions] == [
        (False, True, MESSAGE, "Invalid")]
    assert vap.verdict(decisions) == (
        False, "ValidatingAdmissionPolicy 'deny-privileged-containers' with binding "
        f"'deny-privileged-containers-binding' denied request: {MESSAGE}")


def test_one_privileged_container_among_several_is_denied(bound: vap.VapSet) -> None:
    assert not vap.verdict(bound.evaluate(pod(c("a"), c("b", privileged=True))))[0]


@pytest.mark.parametrize("container", [
    c(),  # no securityContext
    c(runAsNonRoot=True),  # securityContext without privileged
    c(privileged=False),
])
def test_unprivileged_containers_are_allowed(bound: vap.VapSet, container: dict[str, Any]
                                             ) -> None:
    decisions = bound.evaluate(pod(container))
    assert [d.allowed for d in decisions] == [True]
    assert vap.verdict(decisions) == (True, None)


def test_init_containers_are_not_checked_exactly_as_upstream(bound: vap.VapSet) -> None:
    # The expression only reads spec.containers: a privileged initContainer passes.
    decisions = bound.evaluate(pod(c(), init=[c("init", privileged=True)]))
    assert vap.verdict(decisions) == (True, None)


def test_update_is_checked_and_delete_is_not(bound: vap.VapSet) -> None:
    new, old = pod(c(privileged=True)), pod(c())
    assert not vap.verdict(bound.evaluate(new, operation="UPDATE", old_object=old))[0]
    assert bound.evaluate(old, operation="DELETE") == []


def test_deployments_are_not_matched(bound: vap.VapSet) -> None:
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "d", "namespace": "app"},
                  "spec": {"template": {"spec": {"containers": [c(privileged=True)]}}}}
    assert bound.evaluate(deployment) == []


def test_pod_subresources_are_not_matched(bound: vap.VapSet) -> None:
    # resources: ["pods"] does not include pods/ephemeralcontainers (rules.go resource()).
    assert bound.evaluate(pod(c(privileged=True)), subresource="ephemeralcontainers") == []


def test_pod_without_spec_is_a_runtime_error_that_fails_closed(bound: vap.VapSet) -> None:
    # failurePolicy: Fail - a runtime error denies (validator.go policyDecisionActionForError).
    broken = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}
    [decision] = bound.evaluate(broken)
    assert decision.denied and decision.error
    assert "no such key: spec" in decision.error


def test_without_binding_the_policy_is_not_in_force() -> None:
    vs = vap.load(docs("deny-privileged.yaml"))
    assert vs.errors == []
    assert len(vs.warnings) == 1 and "no binding: not in force" in vs.warnings[0]
    assert vs.evaluate(pod(c(privileged=True))) == []


def test_implicit_binding_evaluates_the_policy_alone() -> None:
    vs = vap.load(docs("deny-privileged.yaml"), implicit_binding=True)
    assert vs.warnings == []
    [decision] = vs.evaluate(pod(c(privileged=True)))
    assert decision.denied and decision.binding is None
    assert decision.status_message == (
        f"ValidatingAdmissionPolicy 'deny-privileged-containers' denied request: {MESSAGE}")
    assert vap.verdict(vs.evaluate(pod(c(privileged=False)))) == (True, None)


@pytest.mark.parametrize("api_version", ["v1", "v1beta1"])
def test_generated_seed_policy_behaves_the_same(api_version: str) -> None:
    # `kubeward generate vap-deny-privileged` writes the seed and its binding.
    from kubeward.generate.admission import deny_privileged

    vs = vap.load(deny_privileged({"api-version": api_version}, "default"))
    assert vs.errors == [] and vs.warnings == []
    assert not vap.verdict(vs.evaluate(pod(c(privileged=True))))[0]
    assert vap.verdict(vs.evaluate(pod(c(privileged=False)))) == (True, None)
    assert vap.verdict(vs.evaluate(pod(c(), init=[c("i", privileged=True)]))) == (True, None)

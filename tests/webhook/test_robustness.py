"""Malformed objects never raise: whatever the shape, a decision (or EvaluationError for the
failure policy), and a patch that only adds where the path exists."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeward.webhook.config import parse_webhook_config
from kubeward.webhook.evaluate import EvaluationError, Evaluator
from kubeward.webhook.mutate import apply_adds, security_context_patch
from tests.webhook.serving import review

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 70000) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "securityContext",
        "containers",
        "initContainers",
        "ephemeralContainers",
        "volumes",
        "hostNetwork",
        "os",
        "automountServiceAccountToken",
        "hostPID",
    ]
)
CONTAINER_FIELDS = st.sampled_from(["securityContext", "image", "name", "env", "ports", "resources"])
SC_FIELDS = st.sampled_from(
    [
        "privileged",
        "capabilities",
        "runAsUser",
        "runAsNonRoot",
        "seccompProfile",
        "allowPrivilegeEscalation",
        "readOnlyRootFilesystem",
    ]
)


@st.composite
def pods(draw: st.DrawFn) -> dict[str, Any]:
    container = {"name": "c", "image": "x:1"}
    container.update(draw(st.dictionaries(CONTAINER_FIELDS, JSON, max_size=2)))
    if draw(st.booleans()):
        container["securityContext"] = draw(st.dictionaries(SC_FIELDS, JSON, max_size=3))
    spec: dict[str, Any] = {"containers": [container, *draw(st.lists(JSON, max_size=2))]}
    spec.update(draw(st.dictionaries(FIELDS, JSON, max_size=2)))
    meta: Any = draw(st.one_of(st.just({"name": "p"}), JSON))
    kind = draw(st.sampled_from(["Pod", "Deployment", "CronJob"]))
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    template = {"metadata": draw(st.one_of(st.just({}), JSON)), "spec": spec}
    body = (
        {"template": template} if kind == "Deployment" else {"jobTemplate": {"spec": {"template": template}}}
    )
    return {
        "apiVersion": "apps/v1" if kind == "Deployment" else "batch/v1",
        "kind": kind,
        "metadata": meta,
        "spec": body,
    }


EVALUATOR = Evaluator(
    parse_webhook_config({"ruleSets": {"rules": {"mode": "enforce", "minSeverity": "info"}}})
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pods(), st.sampled_from(["CREATE", "UPDATE"]))
def test_any_shape_gets_a_decision_and_a_valid_patch(obj: dict[str, Any], operation: str) -> None:
    request = review(obj, operation=operation, old={"kind": obj["kind"]} if operation == "UPDATE" else None)
    try:
        decision = EVALUATOR.evaluate(request["request"])
    except EvaluationError:
        pass
    else:
        decision.message("x")
        decision.warnings()
        decision.audit_annotations()
    ops = security_context_patch(obj["kind"], obj)
    patched = apply_adds(obj, ops)  # every path's parent exists: applying never raises
    assert security_context_patch(obj["kind"], patched) == [] or ops == []


@settings(max_examples=200, deadline=None)
@given(JSON)
def test_any_request_shape(request: Any) -> None:
    if not isinstance(request, dict):
        request = {"object": request}
    with contextlib.suppress(EvaluationError):
        EVALUATOR.evaluate(request)


MALFORMED = [
    {"kind": "Pod", "resource": "pods", "userInfo": {"groups": 5}, "object": {"kind": 3}},
    {"kind": ["x"], "userInfo": "alice", "namespace": 7, "object": {"metadata": "m", "spec": []}},
    {"resource": {"resource": 1}, "operation": 5, "subResource": ["s"], "object": {}},
    {"object": {"kind": "Pod", "spec": {"containers": "many"}}, "oldObject": "old", "operation": "UPDATE"},
]


def test_malformed_fields_of_the_request() -> None:
    from kubeward.webhook.app import _ref

    for request in MALFORMED:
        with contextlib.suppress(EvaluationError):
            EVALUATOR.evaluate(request)
        assert _ref({"uid": "u", **request})

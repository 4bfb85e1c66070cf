"""The /mutate JSONPatch: added only where absent, never overriding, valid pointers."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from kubeward import pss
from kubeward.webhook.mutate import pointer, security_context_patch
from tests.webhook.serving import pod


def apply_patch(obj: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """RFC 6902 `add` (the only operation the webhook emits), with RFC 6901 unescaping."""
    out = copy.deepcopy(obj)
    for op in ops:
        assert op["op"] == "add"
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        node: Any = out
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        assert isinstance(node, dict), op
        node[parts[-1]] = op["value"]
    return out


def test_bare_pod_gets_the_default_security_context_and_passes_restricted() -> None:
    obj = pod()
    ops = security_context_patch("Pod", obj)
    assert {op["path"] for op in ops} == {"/spec/securityContext", "/spec/containers/0/securityContext"}
    patched = apply_patch(obj, ops)
    assert patched["spec"]["securityContext"] == {
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert patched["spec"]["containers"][0]["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    assert pss.evaluate(patched["metadata"], patched["spec"], level="restricted", version="latest") == []


def test_explicit_values_are_never_overridden() -> None:
    obj = pod(
        security={"allowPrivilegeEscalation": True, "capabilities": {"drop": ["NET_RAW"]}},
        pod_security={"runAsNonRoot": False, "seccompProfile": {"type": "Unconfined"}},
    )
    assert security_context_patch("Pod", obj) == []


def test_partial_security_contexts_get_only_the_missing_fields() -> None:
    obj = pod(
        security={"readOnlyRootFilesystem": True, "capabilities": {"add": ["NET_BIND_SERVICE"]}},
        pod_security={"runAsUser": 1000},
    )
    ops = security_context_patch("Pod", obj)
    assert sorted(o["path"] for o in ops) == [
        "/spec/containers/0/securityContext/allowPrivilegeEscalation",
        "/spec/containers/0/securityContext/capabilities/drop",
        "/spec/securityContext/runAsNonRoot",
        "/spec/securityContext/seccompProfile",
    ]
    patched = apply_patch(obj, ops)
    assert patched["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True
    assert patched["spec"]["containers"][0]["securityContext"]["capabilities"]["add"] == ["NET_BIND_SERVICE"]


@pytest.mark.parametrize(
    "security",
    [
        {"privileged": True},
        {"capabilities": {"add": ["SYS_ADMIN"]}},
        {"capabilities": {"add": ["CAP_SYS_ADMIN"]}},
    ],
)
def test_no_allow_privilege_escalation_false_where_the_api_server_rejects_it(
    security: dict[str, Any],
) -> None:
    ops = security_context_patch("Pod", pod(security=security))
    assert not any(
        "allowPrivilegeEscalation" in op["path"] or "allowPrivilegeEscalation" in str(op["value"])
        for op in ops
    )


def test_explicit_root_user_gets_no_run_as_non_root() -> None:
    ops = security_context_patch("Pod", pod(security={"runAsUser": 0}))
    assert all("runAsNonRoot" not in str(op) for op in ops)
    assert any(op["path"] == "/spec/securityContext" for op in ops)  # seccomp still added


def test_windows_pods_and_legacy_seccomp_annotations() -> None:
    win = pod()
    win["spec"]["os"] = {"name": "windows"}
    assert security_context_patch("Pod", win) == []
    legacy = pod()
    legacy["metadata"]["annotations"] = {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"}
    ops = security_context_patch("Pod", legacy)
    assert ops[0] == {"op": "add", "path": "/spec/securityContext", "value": {"runAsNonRoot": True}}


def test_null_counts_as_absent_and_init_containers_are_covered() -> None:
    obj = pod(security=None)
    obj["spec"]["securityContext"] = None
    obj["spec"]["initContainers"] = [
        {"name": "init", "image": "x", "securityContext": {"capabilities": None}}
    ]
    patched = apply_patch(obj, security_context_patch("Pod", obj))
    assert patched["spec"]["securityContext"]["runAsNonRoot"] is True
    assert patched["spec"]["initContainers"][0]["securityContext"] == {
        "capabilities": {"drop": ["ALL"]},
        "allowPrivilegeEscalation": False,
    }


def test_pod_templates_of_controllers() -> None:
    deploy = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"metadata": {}, "spec": pod()["spec"]}},
    }
    ops = security_context_patch("Deployment", deploy)
    assert ops[0]["path"] == "/spec/template/spec/securityContext"
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {"jobTemplate": {"spec": {"template": {"spec": pod()["spec"]}}}},
    }
    assert (
        security_context_patch("CronJob", cron)[0]["path"]
        == "/spec/jobTemplate/spec/template/spec/securityContext"
    )
    assert security_context_patch("ConfigMap", {"kind": "ConfigMap"}) == []


def test_json_pointer_escaping() -> None:
    assert pointer(("metadata", "annotations", "a/b~c")) == "/metadata/annotations/a~1b~0c"
    assert pointer(("spec", "containers", 0)) == "/spec/containers/0"


def test_diff_patch_round_trips() -> None:
    from kubeward.webhook.mutate import diff_patch

    old = {"a": 1, "b": {"c": [1, 2], "d": "x"}, "gone": True, "list": [1]}
    new = {"a": 2, "b": {"c": [1, 3], "d": "x", "e/f": {"g": 1}}, "list": [1, 2]}
    ops = diff_patch(old, new)
    assert {"op": "remove", "path": "/gone"} in ops
    assert {"op": "add", "path": "/b/e~1f", "value": {"g": 1}} in ops
    assert {"op": "replace", "path": "/b/c/1", "value": 3} in ops
    assert {"op": "replace", "path": "/list", "value": [1, 2]} in ops
    assert diff_patch(new, new) == []


KYVERNO_POLICY = (
    Path(__file__).resolve().parents[1]
    / "fixtures"
    / "kyverno"
    / "add-default-securitycontext"
    / "add-default-securitycontext.yaml"
)


def test_kyverno_mutate_rules_then_kubeward_defaults_through_the_server(tmp_path: Path) -> None:
    pytest.importorskip("kubeward.policy.kyverno")
    import base64
    import json

    from tests.webhook.serving import Serve, review

    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "p.yaml").write_text(KYVERNO_POLICY.read_text())
    srv = Serve(tmp_path, {"policyFiles": [str(tmp_path / "policies")]})
    try:
        resp = srv.post("/mutate", review(pod(pod_security={"runAsUser": 5})))[1]["response"]
    finally:
        srv.stop()
    patch = json.loads(base64.b64decode(resp["patch"]))
    patched = _apply_any(pod(pod_security={"runAsUser": 5}), patch)
    assert patched["spec"]["securityContext"] == {
        "runAsUser": 5,  # the policy's +(runAsUser) keeps the explicit value
        "runAsGroup": 3000,
        "fsGroup": 2000,
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    assert patched["spec"]["containers"][0]["securityContext"]["capabilities"] == {"drop": ["ALL"]}


def _apply_any(obj: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    for op in ops:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in op["path"].split("/")[1:]]
        node: Any = out
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        key: Any = int(parts[-1]) if isinstance(node, list) else parts[-1]
        if op["op"] == "remove":
            del node[key]
        else:
            node[key] = op["value"]
    return out

"""Property tests: random and mutated pod specs never make the engine raise."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeward.pss import LATEST, Violation, evaluate, plan_namespace

LEVELS = st.sampled_from(["privileged", "baseline", "restricted"])
VERSIONS = st.one_of(st.just("latest"), st.just(LATEST), st.integers(0, 45).map(lambda n: f"v1.{n}"))

KEYS = [
    "name",
    "containers",
    "initContainers",
    "ephemeralContainers",
    "securityContext",
    "privileged",
    "allowPrivilegeEscalation",
    "runAsNonRoot",
    "runAsUser",
    "capabilities",
    "add",
    "drop",
    "seccompProfile",
    "appArmorProfile",
    "type",
    "seLinuxOptions",
    "user",
    "role",
    "procMount",
    "windowsOptions",
    "hostProcess",
    "sysctls",
    "volumes",
    "hostPath",
    "emptyDir",
    "nfs",
    "image",
    "ports",
    "hostPort",
    "hostNetwork",
    "hostPID",
    "hostIPC",
    "hostUsers",
    "os",
    "livenessProbe",
    "readinessProbe",
    "startupProbe",
    "lifecycle",
    "postStart",
    "preStop",
    "httpGet",
    "tcpSocket",
    "host",
    "annotations",
]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**65), 2**65),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "ALL",
            "NET_RAW",
            "Unmasked",
            "Default",
            "RuntimeDefault",
            "Unconfined",
            "Localhost",
            "windows",
            "unconfined",
            "runtime/default",
            "localhost/x",
            "container_t",
            "spc_t",
        ]
    ),
)
JSONISH = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)), children, max_size=5),
    ),
    max_leaves=40,
)


def _check(meta: Any, spec: Any, level: Any, version: Any) -> None:
    got = evaluate(meta, spec, level, version)
    assert isinstance(got, list)
    for v in got:
        assert isinstance(v, Violation)
        assert v.level in ("baseline", "restricted")
        assert isinstance(v.reason, str)
        assert v.reason
        assert isinstance(v.detail, str)
        assert v.message.startswith(v.reason)
    if level == "privileged":
        assert got == []


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(meta=JSONISH, spec=JSONISH, level=LEVELS, version=VERSIONS)
def test_random_values_never_raise(meta: Any, spec: Any, level: str, version: Any) -> None:
    _check(meta, spec, level, version)
    _check({"annotations": meta}, spec, level, version)


def _fixture_pods() -> list[dict[str, Any]]:
    corpus = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "psa" / "test"
    pods: list[dict[str, Any]] = []
    if corpus.is_dir():
        for path in sorted(corpus.rglob("*.yaml"))[::37]:
            pods.append(yaml.safe_load(path.read_text()))
    if not pods:  # corpus absent: a hand-written restricted pod
        pods.append(
            {
                "metadata": {"annotations": {"container.apparmor.security.beta.kubernetes.io/a": "x"}},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [
                        {
                            "name": "a",
                            "ports": [{"hostPort": 1}],
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "capabilities": {"drop": ["ALL"], "add": ["NET_RAW"]},
                            },
                        }
                    ],
                    "volumes": [{"name": "v", "hostPath": {"path": "/"}}],
                },
            }
        )
    return pods


FIXTURE_PODS = _fixture_pods()


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return doc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), level=LEVELS, version=VERSIONS)
def test_mutated_fixture_pods_never_raise(data: st.DataObject, level: str, version: Any) -> None:
    pod = copy.deepcopy(data.draw(st.sampled_from(FIXTURE_PODS)))
    for _ in range(data.draw(st.integers(1, 4))):
        paths = _paths(pod)
        path = data.draw(st.sampled_from(paths))
        pod = _set(pod, path, data.draw(JSONISH))
    meta = pod.get("metadata") if isinstance(pod, dict) else pod
    spec = pod.get("spec") if isinstance(pod, dict) else pod
    _check(meta, spec, level, version)


@settings(max_examples=100, deadline=None)
@given(pods=st.lists(st.tuples(JSONISH, JSONISH), max_size=4))
def test_plan_namespace_never_raises(pods: list[tuple[Any, Any]]) -> None:
    plan = plan_namespace(pods)
    assert plan.level in ("privileged", "baseline", "restricted")
    assert plan.pod_count == len(pods)

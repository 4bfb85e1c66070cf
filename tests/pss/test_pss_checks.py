"""Per-check unit tests.

The tables marked "upstream" are ports of ``policy/check_*_test.go`` in
k8s.io/pod-security-admission (reason and detail must match exactly); the rest pin edge
cases found in the upstream code: nil vs false, pod-level vs container-level settings,
init and ephemeral containers, Windows pods, user namespaces, version boundaries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml

from kubeward.pss import PodView, evaluate
from kubeward.pss._model import Result
from kubeward.pss.checks.allow_privilege_escalation import (
    allow_privilege_escalation_1_8,
    allow_privilege_escalation_1_25,
)
from kubeward.pss.checks.apparmor_profile import app_armor_profile_1_0
from kubeward.pss.checks.capabilities_baseline import capabilities_baseline_1_0
from kubeward.pss.checks.capabilities_restricted import (
    capabilities_restricted_1_22,
    capabilities_restricted_1_25,
)
from kubeward.pss.checks.host_namespaces import host_namespaces_1_0
from kubeward.pss.checks.host_path_volumes import host_path_volumes_1_0
from kubeward.pss.checks.host_ports import host_ports_1_0
from kubeward.pss.checks.host_probes_and_host_lifecycle import (
    host_probes_and_host_lifecycle_1_34,
)
from kubeward.pss.checks.privileged import privileged_1_0
from kubeward.pss.checks.proc_mount import proc_mount_1_0, proc_mount_1_35_baseline
from kubeward.pss.checks.restricted_volumes import restricted_volumes_1_0
from kubeward.pss.checks.run_as_non_root import run_as_non_root_1_0, run_as_non_root_1_35
from kubeward.pss.checks.run_as_user import run_as_user_1_23, run_as_user_1_35
from kubeward.pss.checks.seccomp_profile_baseline import (
    seccomp_profile_baseline_1_0,
    seccomp_profile_baseline_1_19,
)
from kubeward.pss.checks.seccomp_profile_restricted import (
    seccomp_profile_restricted_1_19,
    seccomp_profile_restricted_1_25,
)
from kubeward.pss.checks.selinux_options import selinux_options_1_0, selinux_options_1_31
from kubeward.pss.checks.sysctls import sysctls_1_0, sysctls_1_27
from kubeward.pss.checks.windows_host_process import windows_host_process_1_0

AA = "container.apparmor.security.beta.kubernetes.io/"
SECCOMP_POD = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CTR = "container.seccomp.security.alpha.kubernetes.io/"


def run(fn: Callable[[PodView], Result], spec: Any, annotations: Any = None) -> Result:
    meta = {"annotations": annotations} if annotations is not None else {}
    return fn(PodView(meta, spec))


def named(name: str, sc: Any = None, **extra: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"name": name, **extra}
    if sc is not None:
        c["securityContext"] = sc
    return c


def restricted_pod(**spec: Any) -> dict[str, Any]:
    """A minimal pod that passes restricted latest (upstream's minimal valid pod)."""
    sc = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    base: dict[str, Any] = {
        "initContainers": [{"name": "initcontainer1", "image": "pause", "securityContext": sc}],
        "containers": [{"name": "container1", "image": "pause", "securityContext": dict(sc)}],
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
    }
    base.update(spec)
    return base


def ids(violations: list[Any]) -> list[str]:
    return [v.check for v in violations]


# --------------------------------------------------------------------------- upstream tables


def test_host_namespaces_upstream() -> None:
    r = run(host_namespaces_1_0, {"hostNetwork": True, "hostIPC": True, "hostPID": True})
    assert r == ("host namespaces", "hostNetwork=true, hostPID=true, hostIPC=true")
    assert run(host_namespaces_1_0, {"hostNetwork": True}) == (
        "host namespaces",
        "hostNetwork=true",
    )
    assert run(host_namespaces_1_0, {"hostNetwork": False, "hostPID": None}) is None


def test_privileged_upstream() -> None:
    spec: dict[str, Any] = {
        "containers": [
            named("a"),
            named("b", {}),
            named("c", {"privileged": False}),
            named("d", {"privileged": True}),
            named("e", {"privileged": True}),
        ]
    }
    assert run(privileged_1_0, spec) == (
        "privileged",
        'containers "d", "e" must not set securityContext.privileged=true',
    )
    one = {"containers": [named("x", {"privileged": True})]}
    assert run(privileged_1_0, one) == (
        "privileged",
        'container "x" must not set securityContext.privileged=true',
    )


def test_capabilities_baseline_upstream() -> None:
    spec: dict[str, Any] = {
        "containers": [
            named("a", {"capabilities": {"add": ["FOO", "BAR"]}}),
            named("b", {"capabilities": {"add": ["BAR", "BAZ"]}}),
            named("c", {"capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"]}}),
        ]
    }
    assert run(capabilities_baseline_1_0, spec) == (
        "non-default capabilities",
        'containers "a", "b" must not include "BAR", "BAZ", "FOO" in securityContext.capabilities.add',
    )


def test_host_path_volumes_upstream() -> None:
    spec: dict[str, Any] = {
        "volumes": [
            {"name": "a", "hostPath": {"path": ""}},
            {"name": "b", "hostPath": {"path": ""}},
            {"name": "c", "emptyDir": {}},
        ]
    }
    assert run(host_path_volumes_1_0, spec) == ("hostPath volumes", 'volumes "a", "b"')
    assert run(host_path_volumes_1_0, {"volumes": [{"name": "a", "hostPath": {}}]}) == (
        "hostPath volumes",
        'volume "a"',
    )


def test_host_ports_upstream() -> None:
    spec: dict[str, Any] = {
        "containers": [
            {"name": "a", "ports": [{"hostPort": 0}]},
            {"name": "b", "ports": [{"hostPort": 0}, {"hostPort": 20}]},
        ]
    }
    assert run(host_ports_1_0, spec) == ("hostPort", 'container "b" uses hostPort 20')
    spec = {
        "containers": [
            {"name": "a", "ports": [{"hostPort": 0}]},
            {"name": "b", "ports": [{"hostPort": 0}, {"hostPort": 10}, {"hostPort": 20}]},
            {"name": "c", "ports": [{"hostPort": 0}, {"hostPort": 10}, {"hostPort": 30}]},
        ]
    }
    assert run(host_ports_1_0, spec) == ("hostPort", 'containers "b", "c" use hostPorts 10, 20, 30')


def test_host_ports_sorted_as_strings_like_upstream() -> None:
    spec: dict[str, Any] = {"containers": [{"name": "a", "ports": [{"hostPort": 9}, {"hostPort": 10}]}]}
    assert run(host_ports_1_0, spec) == ("hostPort", 'container "a" uses hostPorts 10, 9')


def test_apparmor_upstream_allowed() -> None:
    for ann, spec in [
        ({AA + "test": "runtime/default", "env": "prod"}, {}),
        ({AA + "test": "localhost/sec-profile01", "env": "dev"}, {}),
        ({"env": "dev"}, {}),
        ({}, {}),
        ({}, {"securityContext": {"appArmorProfile": {"type": "RuntimeDefault"}}}),
        (
            {},
            {
                "containers": [
                    named("foo", {"appArmorProfile": {"type": "Localhost", "localhostProfile": "p"}})
                ]
            },
        ),
    ]:
        assert run(app_armor_profile_1_0, spec, ann) is None


def test_apparmor_upstream_forbidden() -> None:
    unconfined = {"appArmorProfile": {"type": "Unconfined"}}
    runtime_default = {"appArmorProfile": {"type": "RuntimeDefault"}}
    assert run(app_armor_profile_1_0, {"securityContext": unconfined}) == (
        "forbidden AppArmor profile",
        'pod must not set AppArmor profile type to "Unconfined"',
    )
    spec: dict[str, Any] = {"securityContext": runtime_default, "containers": [named("foo", unconfined)]}
    assert run(app_armor_profile_1_0, spec) == (
        "forbidden AppArmor profile",
        'container "foo" must not set AppArmor profile type to "Unconfined"',
    )
    spec = {
        "securityContext": runtime_default,
        "containers": [named("foo")],
        "initContainers": [named("bar", unconfined)],
    }
    assert run(app_armor_profile_1_0, spec) == (
        "forbidden AppArmor profile",
        'container "bar" must not set AppArmor profile type to "Unconfined"',
    )
    annotations = {
        AA: "bogus",
        AA + "a": "",
        AA + "b": "runtime/default",
        AA + "c": "localhost/",
        AA + "d": "localhost/foo",
        AA + "e": "unconfined",
        AA + "f": "unknown",
    }
    assert run(app_armor_profile_1_0, {}, annotations) == (
        "forbidden AppArmor profiles",
        "annotations must not set AppArmor profile type to "
        f'"{AA}="bogus"", "{AA}e="unconfined"", "{AA}f="unknown""',
    )


def test_apparmor_pod_container_and_annotation_together() -> None:
    spec: dict[str, Any] = {
        "securityContext": {"appArmorProfile": {"type": "Unconfined"}},
        "containers": [named("a", {"appArmorProfile": {"type": "Bogus"}})],
    }
    assert run(app_armor_profile_1_0, spec, {AA + "a": "unconfined"}) == (
        "forbidden AppArmor profiles",
        'pod and container "a" and annotation must not set AppArmor profile type to '
        f'"Bogus", "Unconfined", "{AA}a="unconfined""',
    )


def test_selinux_upstream() -> None:
    pod_bad = {"seLinuxOptions": {"type": "foo", "user": "bar", "role": "baz"}}
    ok = [
        named("a", {"seLinuxOptions": {"type": "container_t"}}),
        named("b", {"seLinuxOptions": {"type": "container_init_t"}}),
        named("c", {"seLinuxOptions": {"type": "container_kvm_t"}}),
        named("d", {"seLinuxOptions": {"type": "container_engine_t"}}),
    ]
    bad = [
        named("e", {"seLinuxOptions": {"type": "bar"}}),
        named("f", {"seLinuxOptions": {"user": "bar"}}),
        named("g", {"seLinuxOptions": {"role": "baz"}}),
    ]
    assert run(selinux_options_1_31, {"securityContext": pod_bad, "containers": ok + bad}) == (
        "seLinuxOptions",
        'pod and containers "e", "f", "g" set forbidden securityContext.seLinuxOptions: '
        'types "bar", "foo"; user may not be set; role may not be set',
    )
    assert run(selinux_options_1_31, {"securityContext": pod_bad, "containers": ok}) == (
        "seLinuxOptions",
        'pod set forbidden securityContext.seLinuxOptions: type "foo"; user may not be set; '
        "role may not be set",
    )
    spec: dict[str, Any] = {"securityContext": {"seLinuxOptions": {}}, "containers": ok + bad}
    assert run(selinux_options_1_31, spec) == (
        "seLinuxOptions",
        'containers "e", "f", "g" set forbidden securityContext.seLinuxOptions: type "bar"; '
        "user may not be set; role may not be set",
    )
    for opts, detail in [
        ({"type": "bad"}, 'type "bad"'),
        ({"user": "bad"}, "user may not be set"),
        ({"role": "bad"}, "role may not be set"),
    ]:
        assert run(selinux_options_1_31, {"securityContext": {"seLinuxOptions": opts}}) == (
            "seLinuxOptions",
            f"pod set forbidden securityContext.seLinuxOptions: {detail}",
        )


def test_selinux_container_engine_t_from_1_31() -> None:
    spec: dict[str, Any] = {"containers": [named("a", {"seLinuxOptions": {"type": "container_engine_t"}})]}
    assert run(selinux_options_1_31, spec) is None
    assert run(selinux_options_1_0, spec) == (
        "seLinuxOptions",
        'container "a" set forbidden securityContext.seLinuxOptions: type "container_engine_t"',
    )
    pod = {"containers": spec["containers"]}
    assert ids(evaluate({}, pod, "baseline", "v1.30")) == ["seLinuxOptions"]
    assert evaluate({}, pod, "baseline", "v1.31") == []


def test_proc_mount_upstream() -> None:
    containers = [
        named("a"),
        named("b", {}),
        named("c", {"procMount": "Default"}),
        named("d", {"procMount": "Unmasked"}),
        named("e", {"procMount": "other"}),
    ]
    expected = (
        "procMount",
        'containers "d", "e" must not set securityContext.procMount to "Unmasked", "other"',
    )
    assert run(proc_mount_1_35_baseline, {"containers": containers, "hostUsers": True}) == expected
    assert run(proc_mount_1_35_baseline, {"containers": containers, "hostUsers": False}) is None
    for host_users in (True, False, None):
        assert run(proc_mount_1_0, {"containers": containers, "hostUsers": host_users}) == expected


def test_seccomp_baseline_1_0_upstream() -> None:
    assert run(seccomp_profile_baseline_1_0, {}, {SECCOMP_POD: "unconfined"}) == (
        "seccompProfile",
        f'forbidden annotation {SECCOMP_POD}="unconfined"',
    )
    abc = {"containers": [named("a"), named("b"), named("c")]}
    ann = {SECCOMP_CTR + "a": "unconfined", SECCOMP_CTR + "b": "unknown"}
    assert run(seccomp_profile_baseline_1_0, abc, ann) == (
        "seccompProfile",
        f'forbidden annotations {SECCOMP_CTR}a="unconfined", {SECCOMP_CTR}b="unknown"',
    )
    ann[SECCOMP_POD] = "unconfined"
    assert run(seccomp_profile_baseline_1_0, abc, ann) == (
        "seccompProfile",
        f'forbidden annotations {SECCOMP_CTR}a="unconfined", {SECCOMP_CTR}b="unknown", '
        f'{SECCOMP_POD}="unconfined"',
    )


def test_seccomp_baseline_1_0_allowed_values() -> None:
    abc = {"containers": [named("a"), named("b"), named("c")]}
    ann = {
        SECCOMP_POD: "runtime/default",
        SECCOMP_CTR + "a": "docker/default",
        SECCOMP_CTR + "b": "localhost/x.json",
        SECCOMP_CTR + "zzz": "unconfined",  # no such container: ignored
    }
    assert run(seccomp_profile_baseline_1_0, abc, ann) is None
    # unlike AppArmor, an empty seccomp annotation is forbidden
    assert run(seccomp_profile_baseline_1_0, abc, {SECCOMP_POD: ""}) == (
        "seccompProfile",
        f'forbidden annotation {SECCOMP_POD}=""',
    )


CONTAINERS_INVALID = {
    "securityContext": {"seccompProfile": {"type": "RuntimeDefault"}},
    "containers": [
        named("a"),
        named("b", {}),
        named("c", {"seccompProfile": {"type": "Unconfined"}}),
        named("d", {"seccompProfile": {"type": "Unconfined"}}),
        named("e", {"seccompProfile": {"type": "RuntimeDefault"}}),
        named("f", {"seccompProfile": {"type": "RuntimeDefault"}}),
    ],
}
FALLTHROUGH = {
    "containers": [
        named("a"),
        named("b", {}),
        named("d", {"seccompProfile": {"type": "RuntimeDefault"}}),
        named("e", {"seccompProfile": {"type": "RuntimeDefault"}}),
    ]
}


def test_seccomp_baseline_1_19_upstream() -> None:
    spec: dict[str, Any] = {
        "securityContext": {"seccompProfile": {"type": "Unconfined"}},
        "containers": [named("a")],
    }
    assert run(seccomp_profile_baseline_1_19, spec) == (
        "seccompProfile",
        'pod must not set securityContext.seccompProfile.type to "Unconfined"',
    )
    assert run(seccomp_profile_baseline_1_19, CONTAINERS_INVALID) == (
        "seccompProfile",
        'containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined"',
    )
    both = dict(CONTAINERS_INVALID, securityContext={"seccompProfile": {"type": "Unconfined"}})
    assert run(seccomp_profile_baseline_1_19, both) == (
        "seccompProfile",
        'pod and containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined"',
    )
    # baseline does not require a profile
    assert run(seccomp_profile_baseline_1_19, FALLTHROUGH) is None


@pytest.mark.parametrize("fn", [seccomp_profile_restricted_1_19, seccomp_profile_restricted_1_25])
def test_seccomp_restricted_upstream(fn: Any) -> None:
    assert run(fn, {"containers": [named("a")]}) == (
        "seccompProfile",
        'pod or container "a" must set securityContext.seccompProfile.type to '
        '"RuntimeDefault" or "Localhost"',
    )
    spec: dict[str, Any] = {
        "securityContext": {"seccompProfile": {"type": "Unconfined"}},
        "containers": [named("a")],
    }
    assert run(fn, spec) == (
        "seccompProfile",
        'pod must not set securityContext.seccompProfile.type to "Unconfined"',
    )
    assert run(fn, CONTAINERS_INVALID) == (
        "seccompProfile",
        'containers "c", "d" must not set securityContext.seccompProfile.type to "Unconfined"',
    )
    assert run(fn, FALLTHROUGH) == (
        "seccompProfile",
        'pod or containers "a", "b" must set securityContext.seccompProfile.type to '
        '"RuntimeDefault" or "Localhost"',
    )


def test_seccomp_restricted_windows_exemption_from_1_25() -> None:
    windows = {"os": {"name": "windows"}, "containers": [named("a")]}
    linux = {"os": {"name": "linux"}, "containers": [named("a")]}
    assert run(seccomp_profile_restricted_1_25, windows) is None
    assert run(seccomp_profile_restricted_1_19, windows) is not None
    assert run(seccomp_profile_restricted_1_25, linux) is not None


def test_seccomp_restricted_explicit_bad_reported_before_implicit() -> None:
    spec: dict[str, Any] = {
        "containers": [named("a"), named("b", {"seccompProfile": {"type": "Unconfined"}})]
    }
    assert run(seccomp_profile_restricted_1_25, spec) == (
        "seccompProfile",
        'container "b" must not set securityContext.seccompProfile.type to "Unconfined"',
    )
    # a profile with no type is set but invalid ("" is not an allowed type)
    spec = {"securityContext": {"seccompProfile": {}}, "containers": [named("a")]}
    assert run(seccomp_profile_restricted_1_25, spec) == (
        "seccompProfile",
        'pod must not set securityContext.seccompProfile.type to ""',
    )


def test_sysctls_upstream() -> None:
    spec: dict[str, Any] = {"securityContext": {"sysctls": [{"name": "a"}, {"name": "b"}]}}
    assert run(sysctls_1_0, spec) == ("forbidden sysctls", "a, b")
    assert run(sysctls_1_27, spec) == ("forbidden sysctls", "a, b")
    reserved = {
        "securityContext": {"sysctls": [{"name": "net.ipv4.ip_local_reserved_ports", "value": "1024-4999"}]}
    }
    assert run(sysctls_1_0, reserved) == ("forbidden sysctls", "net.ipv4.ip_local_reserved_ports")
    assert run(sysctls_1_27, reserved) is None


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("kernel.shm_rmid_forced", 0),
        ("net.ipv4.ip_unprivileged_port_start", 0),
        ("net.ipv4.ip_local_reserved_ports", 27),
        ("net.ipv4.tcp_keepalive_time", 29),
        ("net.ipv4.tcp_fin_timeout", 29),
        ("net.ipv4.tcp_keepalive_intvl", 29),
        ("net.ipv4.tcp_keepalive_probes", 29),
        ("net.ipv4.tcp_rmem", 32),
        ("net.ipv4.tcp_wmem", 32),
        ("net.ipv4.tcp_slow_start_after_idle", 37),
        ("net.ipv4.tcp_notsent_lowat", 37),
    ],
)
def test_sysctls_allowed_list_grows_by_version(name: str, first: int) -> None:
    spec: dict[str, Any] = {"securityContext": {"sysctls": [{"name": name, "value": "1"}]}}
    for minor in range(38):
        got = evaluate({}, spec, "baseline", f"v1.{minor}")
        assert (got == []) == (minor >= first), (name, minor, got)
    assert evaluate({}, spec, "baseline", "latest") == []


def test_sysctls_keep_order_and_duplicates() -> None:
    spec: dict[str, Any] = {"securityContext": {"sysctls": [{"name": "z"}, {"name": "a"}, {"name": "z"}]}}
    assert run(sysctls_1_0, spec) == ("forbidden sysctls", "z, a, z")


def test_windows_host_process_upstream() -> None:
    def wo(hp: Any) -> dict[str, Any]:
        return {"windowsOptions": {} if hp is None else {"hostProcess": hp}}

    spec: dict[str, Any] = {
        "securityContext": wo(True),
        "containers": [
            named("a"),
            named("b", {}),
            named("c", wo(None)),
            named("d", wo(False)),
            named("e", wo(True)),
            named("f", wo(True)),
        ],
    }
    assert run(windows_host_process_1_0, spec) == (
        "hostProcess",
        'pod and containers "e", "f" must not set securityContext.windowsOptions.hostProcess=true',
    )
    assert run(windows_host_process_1_0, {"securityContext": wo(True)}) == (
        "hostProcess",
        "pod must not set securityContext.windowsOptions.hostProcess=true",
    )


def test_host_probes_and_lifecycle_upstream() -> None:
    def probe(kind: str, host: str) -> dict[str, Any]:
        return {kind: {"host": host, "port": 8080}}

    assert run(
        host_probes_and_host_lifecycle_1_34,
        {"containers": [named("a", livenessProbe=probe("httpGet", "invalid.host"))]},
    ) == ("probe or lifecycle host", 'container "a" uses probe or lifecycle host "invalid.host"')
    spec: dict[str, Any] = {
        "containers": [
            named("valid"),
            named("invalid1", livenessProbe=probe("httpGet", "a.com")),
            named(
                "invalid2",
                lifecycle={"preStop": probe("tcpSocket", "b.com")},
                startupProbe=probe("httpGet", "a.com"),
            ),
        ]
    }
    assert run(host_probes_and_host_lifecycle_1_34, spec) == (
        "probe or lifecycle host",
        'containers "invalid1", "invalid2" use probe or lifecycle hosts "a.com", "b.com"',
    )
    spec = {"initContainers": [named("init", livenessProbe=probe("httpGet", "invalid.init.host"))]}
    assert run(host_probes_and_host_lifecycle_1_34, spec) == (
        "probe or lifecycle host",
        'container "init" uses probe or lifecycle host "invalid.init.host"',
    )


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "8.8.8.8"])
def test_host_probes_any_host_is_forbidden(host: str) -> None:
    spec: dict[str, Any] = {
        "containers": [named("a", readinessProbe={"tcpSocket": {"host": host, "port": 1}})]
    }
    assert run(host_probes_and_host_lifecycle_1_34, spec) is not None
    spec = {"containers": [named("a", readinessProbe={"tcpSocket": {"port": 1}})]}
    assert run(host_probes_and_host_lifecycle_1_34, spec) is None


def test_host_probes_only_from_1_34() -> None:
    spec: dict[str, Any] = {"containers": [named("a", livenessProbe={"httpGet": {"host": "x", "port": 1}})]}
    assert evaluate({}, spec, "baseline", "v1.33") == []
    assert ids(evaluate({}, spec, "baseline", "v1.34")) == ["hostProbesAndHostLifecycle"]
    # ephemeral containers too
    spec = {"ephemeralContainers": [named("dbg", lifecycle={"postStart": {"httpGet": {"host": "x"}}})]}
    assert ids(evaluate({}, spec, "baseline", "latest")) == ["hostProbesAndHostLifecycle"]


def test_restricted_volumes_upstream() -> None:
    allowed = [
        ("emptyDir", {}),
        ("secret", {}),
        ("persistentVolumeClaim", {"claimName": ""}),
        ("downwardAPI", {}),
        ("configMap", {}),
        ("projected", {}),
        ("csi", {"driver": ""}),
        ("ephemeral", {}),
        ("image", {}),
    ]
    restricted = [
        "hostPath",
        "gcePersistentDisk",
        "awsElasticBlockStore",
        "gitRepo",
        "nfs",
        "iscsi",
        "glusterfs",
        "rbd",
        "flexVolume",
        "cinder",
        "cephfs",
        "flocker",
        "fc",
        "azureFile",
        "vsphereVolume",
        "quobyte",
        "azureDisk",
        "photonPersistentDisk",
        "portworxVolume",
        "scaleIO",
        "storageos",
    ]
    volumes: list[dict[str, Any]] = [{"name": f"a{i + 1}", key: val} for i, (key, val) in enumerate(allowed)]
    volumes += [{"name": f"b{i + 1}", key: {}} for i, key in enumerate(restricted)]
    # upstream's table adds a source-less volume "c1" and expects type "unknown"; through the
    # API server such a volume is defaulted to emptyDir (see restricted_volumes.py), so
    # kubeward allows it.
    volumes.append({"name": "c1"})
    names = ", ".join(f'"b{i + 1}"' for i in range(21))
    types = ", ".join(f'"{t}"' for t in sorted(restricted))
    assert run(restricted_volumes_1_0, {"volumes": volumes}) == (
        "restricted volume types",
        f"volumes {names} use restricted volume types {types}",
    )
    assert run(restricted_volumes_1_0, {"volumes": [{"name": "x", "nfs": {}}]}) == (
        "restricted volume types",
        'volume "x" uses restricted volume type "nfs"',
    )


def test_restricted_volumes_defaulting_and_first_source_wins() -> None:
    assert run(restricted_volumes_1_0, {"volumes": [{"name": "v"}, None]}) is None
    # an allowed source anywhere in the volume admits it, like upstream's switch
    both = {"volumes": [{"name": "v", "hostPath": {}, "emptyDir": {}}]}
    assert run(restricted_volumes_1_0, both) is None
    # first restricted source in upstream's switch order names the type
    two = {"volumes": [{"name": "v", "nfs": {}, "hostPath": {}}]}
    assert run(restricted_volumes_1_0, two) == (
        "restricted volume types",
        'volume "v" uses restricted volume type "hostPath"',
    )


def test_image_volume_allowed_at_every_version() -> None:
    spec: dict[str, Any] = restricted_pod(volumes=[{"name": "img", "image": {"reference": "x"}}])
    for v in ("v1.0", "v1.25", "latest"):
        assert evaluate({}, spec, "restricted", v) == []


def test_allow_privilege_escalation_upstream() -> None:
    multi = {
        "containers": [
            named("a"),
            named("b", {}),
            named("c", {"allowPrivilegeEscalation": True}),
            named("d", {"allowPrivilegeEscalation": False}),
        ]
    }
    expected = (
        "allowPrivilegeEscalation != false",
        'containers "a", "b", "c" must set securityContext.allowPrivilegeEscalation=false',
    )
    assert run(allow_privilege_escalation_1_25, multi) == expected
    assert run(allow_privilege_escalation_1_8, multi) == expected
    assert (
        run(allow_privilege_escalation_1_25, {"os": {"name": "windows"}, "containers": [named("a")]}) is None
    )
    assert (
        run(allow_privilege_escalation_1_8, {"os": {"name": "windows"}, "containers": [named("a")]})
        is not None
    )
    assert run(allow_privilege_escalation_1_25, {"os": {"name": "linux"}, "containers": [named("a")]}) == (
        "allowPrivilegeEscalation != false",
        'container "a" must set securityContext.allowPrivilegeEscalation=false',
    )


CAPS = {
    "containers": [
        named("a", {"capabilities": {"add": ["FOO", "BAR"]}}),
        named("b", {"capabilities": {"add": ["BAR", "BAZ"]}}),
        named("c", {"capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"], "drop": ["ALL", "FOO"]}}),
    ]
}
CAPS_DETAIL = (
    'containers "a", "b" must set securityContext.capabilities.drop=["ALL"]; '
    'containers "a", "b", "c" must not include "BAR", "BAZ", "CHOWN", "FOO" '
    "in securityContext.capabilities.add"
)


def test_capabilities_restricted_upstream() -> None:
    assert run(capabilities_restricted_1_22, CAPS) == ("unrestricted capabilities", CAPS_DETAIL)
    assert run(capabilities_restricted_1_25, CAPS) == ("unrestricted capabilities", CAPS_DETAIL)
    windows = {"os": {"name": "windows"}, "containers": [named("a")]}
    assert run(capabilities_restricted_1_25, windows) is None
    assert run(capabilities_restricted_1_22, windows) is not None
    linux = {"os": {"name": "linux"}, "containers": [named("a")]}
    assert run(capabilities_restricted_1_25, linux) == (
        "unrestricted capabilities",
        'container "a" must set securityContext.capabilities.drop=["ALL"]',
    )


def test_run_as_user_upstream() -> None:
    for fn in (run_as_user_1_23, run_as_user_1_35):
        spec = {"securityContext": {"runAsUser": 0}, "containers": [named("a")]}
        assert run(fn, spec) == ("runAsUser=0", "pod must not set runAsUser=0")
        assert run(fn, {"securityContext": {"runAsUser": 1000}, "containers": [named("a")]}) is None
        assert run(fn, {"securityContext": {}, "containers": [named("a")]}) is None
        spec = {
            "securityContext": {"runAsUser": 1000},
            "containers": [
                named("a"),
                named("b", {}),
                named("c", {"runAsUser": 0}),
                named("d", {"runAsUser": 0}),
                named("e", {"runAsUser": 1}),
                named("f", {"runAsUser": 1}),
            ],
        }
        assert run(fn, spec) == ("runAsUser=0", 'containers "c", "d" must not set runAsUser=0')
    both = {"securityContext": {"runAsUser": 0}, "containers": [named("c", {"runAsUser": 0})]}
    assert run(run_as_user_1_23, both) == (
        "runAsUser=0",
        'pod and container "c" must not set runAsUser=0',
    )
    # user namespaces relax runAsUser from v1.35 only
    userns = dict(both, hostUsers=False)
    assert run(run_as_user_1_35, userns) is None
    assert run(run_as_user_1_23, userns) is not None


def test_run_as_non_root_upstream() -> None:
    reason = "runAsNonRoot != true"
    for fn in (run_as_non_root_1_0, run_as_non_root_1_35):
        assert run(fn, {"containers": [named("a")]}) == (
            reason,
            'pod or container "a" must set securityContext.runAsNonRoot=true',
        )
        spec = {"securityContext": {"runAsNonRoot": False}, "containers": [named("a")]}
        assert run(fn, spec) == (reason, "pod must not set securityContext.runAsNonRoot=false")
        spec = {
            "securityContext": {"runAsNonRoot": True},
            "containers": [
                named("a"),
                named("b", {}),
                named("c", {"runAsNonRoot": False}),
                named("d", {"runAsNonRoot": False}),
                named("e", {"runAsNonRoot": True}),
                named("f", {"runAsNonRoot": True}),
            ],
        }
        assert run(fn, spec) == (
            reason,
            'containers "c", "d" must not set securityContext.runAsNonRoot=false',
        )
        spec = {
            "containers": [
                named("a"),
                named("b", {}),
                named("d", {"runAsNonRoot": True}),
                named("e", {"runAsNonRoot": True}),
            ]
        }
        assert run(fn, spec) == (
            reason,
            'pod or containers "a", "b" must set securityContext.runAsNonRoot=true',
        )
    assert run(run_as_non_root_1_35, {"hostUsers": False}) is None
    assert run(run_as_non_root_1_0, {"hostUsers": False, "containers": [named("a")]}) is not None


def test_run_as_non_root_explicit_false_wins_over_implicit() -> None:
    spec: dict[str, Any] = {"containers": [named("a"), named("b", {"runAsNonRoot": False})]}
    assert run(run_as_non_root_1_0, spec) == (
        "runAsNonRoot != true",
        'container "b" must not set securityContext.runAsNonRoot=false',
    )
    # pod false and containers true: still the pod's explicit false
    spec = {"securityContext": {"runAsNonRoot": False}, "containers": [named("a", {"runAsNonRoot": True})]}
    assert run(run_as_non_root_1_0, spec) == (
        "runAsNonRoot != true",
        "pod must not set securityContext.runAsNonRoot=false",
    )
    # every container opts in: no pod-level setting needed
    spec = {"containers": [named("a", {"runAsNonRoot": True})]}
    assert run(run_as_non_root_1_0, spec) is None


# ------------------------------------------------------------------ containers and inheritance


def test_visit_order_init_containers_containers_ephemeral() -> None:
    sc = {"privileged": True}
    spec: dict[str, Any] = {
        "ephemeralContainers": [named("eph", sc)],
        "containers": [named("ctr", sc)],
        "initContainers": [named("init", sc)],
    }
    assert run(privileged_1_0, spec) == (
        "privileged",
        'containers "init", "ctr", "eph" must not set securityContext.privileged=true',
    )


def test_ephemeral_containers_need_restricted_settings_too() -> None:
    spec: dict[str, Any] = restricted_pod(ephemeralContainers=[{"name": "debug", "image": "busybox"}])
    got = evaluate({}, spec, "restricted", "latest")
    assert ids(got) == ["allowPrivilegeEscalation", "capabilities_restricted"]
    assert got[0].detail == ('container "debug" must set securityContext.allowPrivilegeEscalation=false')


def test_sidecar_init_containers_get_no_special_treatment() -> None:
    spec: dict[str, Any] = restricted_pod()
    spec["initContainers"] = [{"name": "sidecar", "image": "x", "restartPolicy": "Always"}]
    assert ids(evaluate({}, spec, "restricted", "latest")) == [
        "allowPrivilegeEscalation",
        "capabilities_restricted",
    ]


def test_pod_level_settings_are_inherited_where_upstream_inherits() -> None:
    spec: dict[str, Any] = restricted_pod()
    assert evaluate({}, spec, "restricted", "latest") == []
    # seccomp & runAsNonRoot at pod level cover containers; capabilities and
    # allowPrivilegeEscalation exist only at container level
    for c in spec["initContainers"] + spec["containers"]:
        c["securityContext"]["runAsNonRoot"] = None
        c["securityContext"]["seccompProfile"] = None
    assert evaluate({}, spec, "restricted", "latest") == []


# ---------------------------------------------------------------------- Windows & user namespaces


def test_windows_pod_restricted_exemptions_from_1_25() -> None:
    windows = {
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": True},
        "containers": [{"name": "c", "image": "x"}],
    }
    assert evaluate({}, windows, "restricted", "latest") == []
    assert evaluate({}, windows, "restricted", "v1.25") == []
    assert ids(evaluate({}, windows, "restricted", "v1.24")) == [
        "allowPrivilegeEscalation",
        "capabilities_restricted",
        "seccompProfile_restricted",
    ]
    # runAsNonRoot is not exempt
    no_root = dict(windows, securityContext={})
    assert ids(evaluate({}, no_root, "restricted", "latest")) == ["runAsNonRoot"]


def test_windows_baseline_still_checks_seccomp_and_capabilities() -> None:
    spec: dict[str, Any] = {
        "os": {"name": "windows"},
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "Unconfined"}},
        "containers": [{"name": "c", "securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}],
    }
    assert evaluate({}, spec, "restricted", "latest") == []
    assert ids(evaluate({}, spec, "baseline", "latest")) == [
        "capabilities_baseline",
        "seccompProfile_baseline",
    ]


def test_proc_mount_user_namespaces_by_version_and_level() -> None:
    def pod(host_users: Any) -> dict[str, Any]:
        spec = restricted_pod()
        spec["containers"][0]["securityContext"]["procMount"] = "Unmasked"
        if host_users is not None:
            spec["hostUsers"] = host_users
        return spec

    # baseline: relaxed for hostUsers=false from v1.35 only
    assert ids(evaluate({}, pod(False), "baseline", "v1.34")) == ["procMount"]
    assert evaluate({}, pod(False), "baseline", "v1.35") == []
    assert evaluate({}, pod(False), "baseline", "latest") == []
    for host_users in (True, None):
        assert ids(evaluate({}, pod(host_users), "baseline", "latest")) == ["procMount"]
    # restricted: never relaxed; from v1.35 procMount_restricted replaces procMount
    assert ids(evaluate({}, pod(False), "restricted", "v1.34")) == ["procMount"]
    for host_users in (True, False, None):
        got = evaluate({}, pod(host_users), "restricted", "latest")
        assert ids(got) == ["procMount_restricted"]
        assert got[0].message == (
            'procMount (container "container1" must not set securityContext.procMount to "Unmasked")'
        )


def test_run_as_user_namespace_relaxation_restricted() -> None:
    spec: dict[str, Any] = {
        "hostUsers": False,
        "securityContext": {
            "runAsUser": 0,
            "runAsNonRoot": False,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            {
                "name": "c",
                "securityContext": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            }
        ],
    }
    assert evaluate({}, spec, "restricted", "latest") == []
    assert ids(evaluate({}, spec, "restricted", "v1.34")) == ["runAsNonRoot", "runAsUser"]
    spec["hostUsers"] = True
    assert ids(evaluate({}, spec, "restricted", "latest")) == ["runAsNonRoot", "runAsUser"]


# ------------------------------------------------------------------- versions & registry order


def test_seccomp_annotations_until_1_18_fields_from_1_19() -> None:
    meta = {"annotations": {SECCOMP_POD: "unconfined"}}
    field = {"securityContext": {"seccompProfile": {"type": "Unconfined"}}}
    assert ids(evaluate(meta, {}, "baseline", "v1.18")) == ["seccompProfile_baseline"]
    assert evaluate(meta, {}, "baseline", "v1.19") == []
    assert evaluate({}, field, "baseline", "v1.18") == []
    assert ids(evaluate({}, field, "baseline", "v1.19")) == ["seccompProfile_baseline"]


def test_apparmor_field_checked_at_every_version() -> None:
    spec: dict[str, Any] = {"containers": [named("a", {"appArmorProfile": {"type": "Unconfined"}})]}
    for v in ("v1.0", "v1.29", "latest"):
        assert ids(evaluate({}, spec, "baseline", v)) == ["appArmorProfile"]


def test_overridden_baseline_checks_are_not_reported_under_restricted() -> None:
    spec: dict[str, Any] = restricted_pod(volumes=[{"name": "h", "hostPath": {"path": "/"}}])
    spec["containers"][0]["securityContext"]["capabilities"]["add"] = ["NET_RAW"]
    spec["securityContext"]["seccompProfile"] = {"type": "Unconfined"}
    assert ids(evaluate({}, spec, "restricted", "latest")) == [
        "capabilities_restricted",
        "restrictedVolumes",
        "seccompProfile_restricted",
    ]
    assert ids(evaluate({}, spec, "baseline", "latest")) == [
        "capabilities_baseline",
        "hostPathVolumes",
        "seccompProfile_baseline",
    ]
    # before v1.22 capabilities_baseline still runs under restricted
    assert "capabilities_baseline" in ids(evaluate({}, spec, "restricted", "v1.21"))


def test_violation_order_is_baseline_ids_then_restricted_ids() -> None:
    spec: dict[str, Any] = {
        "hostNetwork": True,
        "securityContext": {"sysctls": [{"name": "kernel.msgmax"}]},
        "containers": [
            {
                "name": "c",
                "securityContext": {
                    "privileged": True,
                    "seLinuxOptions": {"type": "spc_t"},
                    "runAsUser": 0,
                },
                "ports": [{"containerPort": 80, "hostPort": 80}],
            }
        ],
    }
    assert ids(evaluate({}, spec, "restricted", "latest")) == [
        "hostNamespaces",
        "hostPorts",
        "privileged",
        "seLinuxOptions",
        "sysctls",
        "allowPrivilegeEscalation",
        "capabilities_restricted",
        "runAsNonRoot",
        "runAsUser",
        "seccompProfile_restricted",
    ]


def test_privileged_level_allows_everything() -> None:
    spec: dict[str, Any] = {"hostNetwork": True, "containers": [named("a", {"privileged": True})]}
    assert evaluate({}, spec, "privileged", "latest") == []
    assert evaluate({}, spec, "Privileged", "v1.0") == []


def test_versions_newer_than_newest_behave_like_latest() -> None:
    spec: dict[str, Any] = {
        "securityContext": {"sysctls": [{"name": "net.ipv4.tcp_notsent_lowat"}]},
        "containers": [named("a", {"privileged": True})],
    }
    latest = evaluate({}, spec, "restricted", "latest")
    assert evaluate({}, spec, "restricted", "v1.99") == latest
    assert evaluate({}, spec, "restricted", "v1.38") == latest


def test_message_property() -> None:
    (v,) = evaluate({}, {"hostPID": True}, "baseline", "latest")
    assert v.message == "host namespaces (hostPID=true)"
    assert (v.check, v.level, v.reason, v.detail) == (
        "hostNamespaces",
        "baseline",
        "host namespaces",
        "hostPID=true",
    )


# ----------------------------------------------------------------------- malformed input, YAML


@pytest.mark.parametrize(
    "spec",
    [
        None,
        [],
        "pod",
        {"containers": "x"},
        {"containers": [None, 1, "x", [], {"securityContext": "x"}]},
        {"containers": [{"name": 5, "securityContext": {"capabilities": []}}]},
        {"containers": [{"securityContext": {"capabilities": {"add": "NET_RAW", "drop": "ALL"}}}]},
        {"containers": [{"securityContext": {"capabilities": {"add": [None, 1, {}], "drop": [None]}}}]},
        {"containers": [{"ports": "x"}, {"ports": [None, 1, {"hostPort": "80"}]}]},
        {"securityContext": [], "volumes": {"a": 1}},
        {"securityContext": {"sysctls": [None, 1, {"name": 5}], "seLinuxOptions": []}},
        {"securityContext": {"seccompProfile": {"type": 7}, "appArmorProfile": "x"}},
        {"os": "windows", "hostUsers": "false", "hostNetwork": "true"},
        {"volumes": [None, 1, "x", {"name": 1, "hostPath": "x", "nfs": None}]},
        {"containers": [{"livenessProbe": [], "lifecycle": {"preStop": {"httpGet": {"host": 1}}}}]},
    ],
)
def test_malformed_specs_never_raise(spec: Any) -> None:
    metas: tuple[Any, ...] = (
        None,
        [],
        {"annotations": None},
        {"annotations": {1: 2, AA + "x": 5, SECCOMP_POD: None}},
    )
    for meta in metas:
        for level in ("baseline", "restricted"):
            for version in ("v1.0", "v1.18", "v1.24", "v1.34", "latest"):
                got = evaluate(meta, spec, level, version)
                assert isinstance(got, list)


def test_wrong_types_are_treated_as_absent() -> None:
    # privileged: "true" would fail typed decoding upstream; it is treated as unset
    assert run(privileged_1_0, {"containers": [named("a", {"privileged": "true"})]}) is None
    assert run(privileged_1_0, {"containers": [named("a", {"privileged": 1})]}) is None
    # ... which for allowPrivilegeEscalation (must be an explicit false) means forbidden
    assert (
        run(
            allow_privilege_escalation_1_8,
            {"containers": [named("a", {"allowPrivilegeEscalation": "false"})]},
        )
        is not None
    )
    assert run(host_ports_1_0, {"containers": [{"name": "a", "ports": [{"hostPort": "80"}]}]}) is None
    assert run(host_ports_1_0, {"containers": [{"name": "a", "ports": [{"hostPort": 2**31}]}]}) is None
    assert run(run_as_user_1_23, {"securityContext": {"runAsUser": False}}) is None
    assert run(host_namespaces_1_0, {"hostNetwork": "true", "hostPID": 1}) is None


def test_null_elements_decode_to_zero_values() -> None:
    # a null container is a nameless container with no securityContext
    assert run(allow_privilege_escalation_1_8, {"containers": [None]}) == (
        "allowPrivilegeEscalation != false",
        'container "" must set securityContext.allowPrivilegeEscalation=false',
    )
    assert run(
        capabilities_baseline_1_0, {"containers": [named("a", {"capabilities": {"add": [None]}})]}
    ) == (
        "non-default capabilities",
        'container "a" must not include "" in securityContext.capabilities.add',
    )
    assert run(sysctls_1_0, {"securityContext": {"sysctls": [None]}}) == ("forbidden sysctls", "")


def test_integral_floats_count_as_integers() -> None:
    assert run(host_ports_1_0, {"containers": [{"name": "a", "ports": [{"hostPort": 8080.0}]}]}) == (
        "hostPort",
        'container "a" uses hostPort 8080',
    )
    assert run(run_as_user_1_23, {"securityContext": {"runAsUser": 0.0}}) == (
        "runAsUser=0",
        "pod must not set runAsUser=0",
    )
    assert run(run_as_user_1_23, {"securityContext": {"runAsUser": 0.5}}) is None


def test_yaml_1_1_booleans() -> None:
    doc = yaml.safe_load(
        """
        spec:
          hostNetwork: yes
          containers:
          - name: a
            securityContext: {privileged: on, allowPrivilegeEscalation: no}
        """
    )
    got = evaluate({}, doc["spec"], "baseline", "latest")
    assert [v.message for v in got] == [
        "host namespaces (hostNetwork=true)",
        'privileged (container "a" must not set securityContext.privileged=true)',
    ]


def test_annotation_values_are_go_quoted() -> None:
    assert run(app_armor_profile_1_0, {}, {AA + "a": 'un"conf\tined\x00é'}) == (
        "forbidden AppArmor profile",
        f'annotation must not set AppArmor profile type to "{AA}a="un\\"conf\\tined\\x00é""',
    )
    # a null annotation value decodes to "" (allowed for AppArmor, forbidden for seccomp)
    assert run(app_armor_profile_1_0, {}, {AA + "a": None}) is None
    assert run(seccomp_profile_baseline_1_0, {}, {SECCOMP_POD: None}) is not None

"""Command lines parsed the way pflag (Kubernetes components) and Go `flag` (etcd) parse them."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest

from kubeward.inventory.resource import Origin, Resource, SourceText
from kubeward.k8s.flags import (
    BOOL_FLAGS,
    GOFLAG,
    FlagValueError,
    container_argv,
    parse_flags,
    parse_go_bool,
    parse_go_int,
    split_csv,
)
from kubeward.rules.base import REGISTRY

APISERVER_BOOLS = BOOL_FLAGS["kube-apiserver"]


def apiserver(*tokens: str):
    return parse_flags(list(tokens), bool_flags=APISERVER_BOOLS)


def test_equals_and_separate_value():
    flags = apiserver("--audit-log-path=/var/log/audit.log", "--audit-log-maxage", "30")
    assert flags.value("audit-log-path") == "/var/log/audit.log"
    assert flags.integer("audit-log-maxage") == 30
    assert flags.positional == [] and flags.errors == []


def test_value_keeps_everything_after_the_first_equals():
    flags = apiserver("--feature-gates=A=true,B=false")
    assert flags.value("feature-gates") == "A=true,B=false"
    assert flags.feature_gates() == {"A": True, "B": False}


def test_scalar_flag_last_occurrence_wins():
    flags = apiserver("--profiling=false", "--profiling=true")
    assert flags.boolean("profiling") is True
    assert flags.get("profiling").token == 1


def test_string_slice_appends_across_occurrences_and_splits_csv():
    flags = apiserver("--enable-admission-plugins=NodeRestriction,PodSecurity",
                      "--enable-admission-plugins", "EventRateLimit")
    assert flags.values("enable-admission-plugins") == ["NodeRestriction", "PodSecurity",
                                                         "EventRateLimit"]


def test_string_slice_csv_quotes_and_empty():
    assert split_csv('"a,b",c') == ["a,b", "c"]
    assert split_csv("") == []
    assert split_csv("A, B") == ["A", " B"]  # no trimming, like encoding/csv


def test_bare_boolean_is_true_and_never_takes_the_next_token():
    flags = apiserver("--anonymous-auth", "false", "--profiling")
    assert flags.boolean("anonymous-auth") is True
    assert flags.get("anonymous-auth").explicit is False
    assert flags.positional == ["false"]
    assert flags.boolean("profiling") is True


def test_non_boolean_takes_the_next_token():
    flags = apiserver("--token-auth-file", "/etc/tokens.csv", "--secure-port", "6443")
    assert flags.value("token-auth-file") == "/etc/tokens.csv"
    assert flags.integer("secure-port") == 6443


def test_unknown_flag_followed_by_a_flag_is_not_given_that_flag_as_value():
    flags = apiserver("--some-new-bool", "--profiling=false")
    assert flags.value("some-new-bool") == "true"
    assert flags.boolean("profiling") is False


def test_missing_value_at_the_end_is_an_error():
    flags = apiserver("--audit-log-path")
    assert flags.errors == ["flag needs an argument: --audit-log-path"]
    assert flags.has("audit-log-path") and flags.value("audit-log-path") == ""


def test_pflag_interspersed_positionals_and_double_dash():
    flags = apiserver("stray", "--profiling=false", "--", "--anonymous-auth=false")
    assert flags.positional == ["stray", "--anonymous-auth=false"]
    assert flags.boolean("profiling") is False
    assert not flags.has("anonymous-auth")


def test_word_separator_normalisation():
    flags = apiserver("--anonymous_auth=false", "--audit_log_path", "/x")
    assert flags.boolean("anonymous-auth") is False
    assert flags.value("audit-log-path") == "/x"


def test_pflag_shorthand():
    flags = apiserver("-v=2", "--profiling=false", "-v", "4", "-h")
    assert flags.value("v") == "4"
    assert flags.value("h") == "true"
    assert flags.boolean("profiling") is False


def test_bad_flag_syntax():
    flags = apiserver("---x", "--=y", "--profiling=false")
    assert flags.errors == ["bad flag syntax: ---x", "bad flag syntax: --=y"]
    assert flags.boolean("profiling") is False


def test_go_flag_single_dash_and_stop_at_first_argument():
    flags = parse_flags(["-client-cert-auth", "--name=a", "oops", "--auto-tls=true"],
                        bool_flags=BOOL_FLAGS["etcd"], style=GOFLAG)
    assert flags.boolean("client-cert-auth") is True
    assert flags.value("name") == "a"
    assert not flags.has("auto-tls")
    assert flags.positional == ["oops", "--auto-tls=true"]
    assert flags.errors


def test_go_flag_does_not_normalise_underscores():
    flags = parse_flags(["--client_cert_auth=true"], bool_flags=BOOL_FLAGS["etcd"], style=GOFLAG)
    assert flags.has("client_cert_auth") and not flags.has("client-cert-auth")


@pytest.mark.parametrize(("text", "value"), [
    ("1", True), ("t", True), ("T", True), ("TRUE", True), ("true", True), ("True", True),
    ("0", False), ("f", False), ("F", False), ("FALSE", False), ("false", False), ("False", False),
])
def test_parse_go_bool(text, value):
    assert parse_go_bool(text) is value


@pytest.mark.parametrize("text", ["yes", "no", "tRuE", "", " true", "on"])
def test_parse_go_bool_rejects(text):
    with pytest.raises(FlagValueError):
        parse_go_bool(text)


@pytest.mark.parametrize(("text", "value"), [
    ("30", 30), ("+30", 30), ("-5", -5), ("0", 0), ("036", 30), ("0o36", 30), ("0O36", 30),
    ("0x1e", 30), ("0X1E", 30), ("0b11110", 30), ("1_000", 1000), ("0x_1e", 30), ("0_36", 30),
])
def test_parse_go_int_base_zero(text, value):
    assert parse_go_int(text) == value


@pytest.mark.parametrize("text", ["", "0x", "08", "1__0", "_1", "1_", " 1", "1.0", "３", "0b2"])
def test_parse_go_int_rejects(text):
    with pytest.raises(FlagValueError):
        parse_go_int(text)


def test_parse_go_int_range():
    assert parse_go_int("2147483647", 32) == 2147483647
    with pytest.raises(FlagValueError):
        parse_go_int("2147483648", 32)
    with pytest.raises(FlagValueError):
        parse_go_int("9223372036854775808")


def test_mapping_rejects_a_pair_without_equals():
    flags = apiserver("--feature-gates=A=true,B")
    with pytest.raises(FlagValueError):
        flags.feature_gates()


def test_feature_gates_merge_and_trim():
    flags = apiserver("--feature-gates=A=true, B = false", "--feature-gates=A=false")
    assert flags.feature_gates() == {"A": False, "B": False}


def test_container_argv_paths():
    argv = container_argv({"command": ["/usr/local/bin/kube-apiserver", "--a=b"],
                           "args": ["--c", 5, "d"]})
    assert argv.tokens == ("/usr/local/bin/kube-apiserver", "--a=b", "--c", "d")
    assert argv.paths == (("command", 0), ("command", 1), ("args", 0), ("args", 2))
    assert argv.find_program({"kube-apiserver"}) == 0
    assert argv.has_command


def test_container_argv_shell_wrapper():
    argv = container_argv({"command": ["/bin/sh", "-c", "exec kube-apiserver --profiling=false "
                                       "--audit-log-path='/var/log/a b.log'"]})
    start = argv.find_program({"kube-apiserver"})
    assert start == 3
    flags = parse_flags(argv.tokens[start + 1:], bool_flags=APISERVER_BOOLS)
    assert flags.value("audit-log-path") == "/var/log/a b.log"
    assert argv.paths[start + 1] == ("command", 2)


def test_find_program_hyperkube():
    assert container_argv({"command": ["/hyperkube", "apiserver", "--x=y"]}).find_program(
        {"kube-apiserver"}) == 1
    assert container_argv({"command": ["hyperkube", "kube-scheduler"]}).find_program(
        {"kube-scheduler"}) == 1
    assert container_argv({"command": ["kube-apiserver-proxy"]}).find_program(
        {"kube-apiserver"}) is None


@pytest.fixture(scope="module")
def controlplane() -> Iterator[ModuleType]:
    """`kubeward.rules.controlplane`, imported here and not at collection.

    Importing a rule module registers its rules; until the module is in RULE_MODULES
    (rules/catalog.py) they must not leak into the other tests' catalog. Once it is listed
    there, this changes nothing.
    """
    before = dict(REGISTRY)
    module = importlib.import_module("kubeward.rules.controlplane")
    yield module
    REGISTRY.clear()
    REGISTRY.update(before)


def _pod(name: str, containers: list[dict], labels: dict | None = None,
         namespace: str | None = "kube-system") -> Resource:
    meta: dict = {"name": name, "labels": labels or {}}
    if namespace:
        meta["namespace"] = namespace
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {"containers": containers}}
    return Resource(obj, Origin(SourceText("pod.yaml"), None, 1))


def test_static_pod_by_mirror_name_and_flag_paths(controlplane):
    res = _pod("kube-apiserver-cp-1", [
        {"name": "sidecar", "image": "busybox", "command": ["sleep", "1"]},
        {"name": "kube-apiserver", "command": ["kube-apiserver", "--profiling=false"],
         "args": ["--anonymous-auth=false"]},
    ])
    sp = controlplane.static_pod(res)
    assert sp is not None and sp.component == "kube-apiserver"
    assert sp.path_of("anonymous-auth") == ("spec", "containers", 1, "args", 0)
    assert sp.path_of("profiling") == ("spec", "containers", 1, "command", 1)
    assert sp.path_of("missing") == ("spec", "containers", 1, "command")


def test_static_pod_args_only_container(controlplane):
    res = _pod("etcd-cp-1", [{"name": "etcd", "args": ["--client-cert-auth=true"]}],
               labels={"component": "etcd"})
    sp = controlplane.static_pod(res)
    assert sp is not None and sp.flags.boolean("client-cert-auth") is True


def test_static_pod_etcd_environment_only_fills_unset_flags(controlplane):
    res = _pod("etcd", [{"name": "etcd", "command": ["etcd", "--auto-tls=false"], "env": [
        {"name": "ETCD_AUTO_TLS", "value": "true"},
        {"name": "ETCD_CLIENT_CERT_AUTH", "value": "true"},
        {"name": "ETCD_PEER_AUTO_TLS", "valueFrom": {"configMapKeyRef": {"name": "x", "key": "y"}}},
    ]}])
    sp = controlplane.static_pod(res)
    assert sp is not None
    assert sp.flags.boolean("auto-tls") is False
    assert sp.flags.boolean("client-cert-auth") is True
    assert not sp.flags.has("peer-auto-tls")
    assert sp.path_of("client-cert-auth") == ("spec", "containers", 0, "env", 1, "value")
    assert sp.shown("client-cert-auth") == "ETCD_CLIENT_CERT_AUTH=true (environment)"


@pytest.mark.parametrize(("name", "containers", "namespace"), [
    ("etcd-backup", [{"name": "backup", "command": ["etcdctl", "snapshot", "save"]}], "kube-system"),
    ("kube-apiserver", [{"name": "kube-apiserver", "command": ["kube-apiserver"]}], "tenant-a"),
    ("web", [{"name": "web", "command": ["kube-apiserver"]}], "kube-system"),
])
def test_not_a_static_control_plane_pod(controlplane, name, containers, namespace):
    assert controlplane.static_pod(_pod(name, containers, namespace=namespace)) is None

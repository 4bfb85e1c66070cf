"""The validate pattern engine: anchors, wildcards and operators.

Cases follow the examples of the Kyverno documentation, "Validate Rules" > "Patterns"
(https://kyverno.io/docs/writing-policies/validate/#patterns: wildcards, operators and
anchors), and kyverno pkg/engine/pattern/pattern_test.go, pkg/engine/validate/validate_test.go.
Each anchor and operator has cases that must hold and cases that must not.
"""

from __future__ import annotations

import pytest

from kubeward.policy.kyverno.pattern import match_pattern, validate_value


def pod(spec: dict, labels: dict | None = None) -> dict:
    meta: dict = {"name": "p"}
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}


def outcome(resource: dict, pattern: dict) -> str:
    err = match_pattern(resource, pattern)
    if err is None:
        return "pass"
    return "skip" if err.skip else "fail"


# --- scalar operators (docs: "Operators" table) -------------------------------------------


@pytest.mark.parametrize(
    ("value", "pattern", "ok"),
    [
        # wildcards: `*` any run, `?` one character; "?*" means "non-empty"
        ("nginx:1.21", "*:*", True),
        ("nginx", "*:*", False),
        ("a", "?*", True),
        ("", "?*", False),
        ("latest", "!latest", False),
        ("1.2", "!latest", True),
        ("nginx:latest", "!*:latest", False),
        # numbers and quantities
        (3, ">2", True),
        (2, ">2", False),
        (2, ">=2", True),
        ("512Mi", "<=1Gi", True),
        ("2Gi", "<=1Gi", False),
        ("1500m", ">1", True),
        ("500m", ">1", False),
        # durations compare as durations
        ("90s", ">1m", True),
        ("30s", ">1m", False),
        # ranges: A-B inside (inclusive), A!-B outside
        (15, "10-20", True),
        (20, "10-20", True),
        (25, "10-20", False),
        (25, "10!-20", True),
        (15, "10!-20", False),
        # | is OR, & is AND
        ("Always", "IfNotPresent|Always", True),
        ("Never", "IfNotPresent|Always", False),
        (5, ">1 & <10", True),
        (12, ">1 & <10", False),
        # ordering operators do not apply to plain strings
        ("abc", ">abc", False),
    ],
)
def test_string_pattern_operators(value, pattern, ok):
    assert validate_value(value, pattern) is ok


@pytest.mark.parametrize(
    ("value", "pattern", "ok"),
    [
        (True, True, True),
        ("true", True, False),  # a bool pattern needs a bool value
        (True, "true", True),  # a string pattern compares the value's text
        (1, 1, True),
        ("1", 1, True),  # strings are parsed for int patterns
        (1.0, 1, True),
        (1.5, 1, False),
        (None, None, True),
        ("", None, True),  # nil pattern: zero values
        ("x", None, False),
        ({"a": 1}, {}, True),  # a map pattern value only checks for a map
    ],
)
def test_typed_patterns(value, pattern, ok):
    assert validate_value(value, pattern) is ok


def test_star_requires_the_field():
    assert (
        outcome(pod({"containers": [{"name": "a"}]}, {"app": "x"}), {"metadata": {"labels": {"app": "*"}}})
        == "pass"
    )
    assert (
        outcome(pod({"containers": [{"name": "a"}]}, {"team": "x"}), {"metadata": {"labels": {"app": "*"}}})
        == "fail"
    )


def test_wildcard_label_keys_expand_against_the_resource():
    # docs: "app.kubernetes.io/*": "?*" - the key matches any label key with that prefix
    pattern = {"metadata": {"labels": {"app.kubernetes.io/*": "?*"}}}
    assert outcome(pod({}, {"app.kubernetes.io/name": "web"}), pattern) == "pass"
    assert outcome(pod({}, {"team": "web"}), pattern) == "fail"


def test_scalar_pattern_applies_to_every_list_item():
    pattern = {"spec": {"containers": [{"ports": [{"containerPort": ">1024"}]}]}}
    assert (
        outcome(pod({"containers": [{"ports": [{"containerPort": 8080}, {"containerPort": 9090}]}]}), pattern)
        == "pass"
    )
    assert (
        outcome(pod({"containers": [{"ports": [{"containerPort": 8080}, {"containerPort": 80}]}]}), pattern)
        == "fail"
    )


# --- anchors (docs: "Anchors") -------------------------------------------------------------

DOCKER_SOCK = {  # docs, conditional anchor example
    "metadata": {"labels": {"allow-docker": "true"}},
    "(spec)": {"(volumes)": [{"(hostPath)": {"path": "/var/run/docker.sock"}}]},
}


def docker_pod(labels=None, path="/var/run/docker.sock"):
    return pod(
        {"volumes": [{"name": "v", "hostPath": {"path": path}}], "containers": [{"name": "c"}]}, labels
    )


def test_conditional_anchor_then_clause():
    assert outcome(docker_pod({"allow-docker": "true"}), DOCKER_SOCK) == "pass"
    assert outcome(docker_pod({"team": "a"}), DOCKER_SOCK) == "fail"


def test_conditional_anchor_not_met_skips():
    assert outcome(docker_pod({}, path="/data"), DOCKER_SOCK) == "skip"
    assert outcome(pod({"containers": [{"name": "c"}]}), DOCKER_SOCK) == "skip"  # key absent


def test_conditional_anchor_in_list_applies_to_matching_elements():
    # docs: containers named "*-sidecar"... here: images from a registry must set a policy
    pattern = {"spec": {"containers": [{"(image)": "*:latest", "imagePullPolicy": "Always"}]}}
    ok = pod({"containers": [{"image": "a:latest", "imagePullPolicy": "Always"}, {"image": "b:1"}]})
    bad = pod({"containers": [{"image": "a:latest", "imagePullPolicy": "IfNotPresent"}]})
    none = pod({"containers": [{"image": "b:1"}]})
    assert outcome(ok, pattern) == "pass"
    assert outcome(bad, pattern) == "fail"
    assert outcome(none, pattern) == "skip"  # every element skipped -> the array skips


EQUALITY = {"spec": {"=(volumes)": [{"=(hostPath)": {"path": "!/var/run/docker.sock"}}]}}  # docs


def test_equality_anchor_checks_only_when_present():
    assert outcome(pod({"containers": [{"name": "c"}]}), EQUALITY) == "pass"  # no volumes
    assert outcome(docker_pod(path="/data"), EQUALITY) == "pass"
    assert outcome(pod({"volumes": [{"name": "e", "emptyDir": {}}]}), EQUALITY) == "pass"
    assert outcome(docker_pod(), EQUALITY) == "fail"


NEGATION = {"spec": {"=(volumes)": [{"X(hostPath)": "null"}]}}  # docs, negation anchor


def test_negation_anchor_forbids_the_key():
    assert outcome(pod({"volumes": [{"name": "e", "emptyDir": {}}]}), NEGATION) == "pass"
    assert outcome(docker_pod(path="/data"), NEGATION) == "fail"


EXISTENCE = {"spec": {"^(containers)": [{"image": "nginx:latest"}]}}  # docs, existence anchor


def test_existence_anchor_needs_one_match():
    assert (
        outcome(pod({"containers": [{"image": "busybox"}, {"image": "nginx:latest"}]}), EXISTENCE) == "pass"
    )
    assert outcome(pod({"containers": [{"image": "busybox"}, {"image": "nginx:1.2"}]}), EXISTENCE) == "fail"


GLOBAL = {  # docs, global anchor example
    "spec": {
        "containers": [{"name": "*", "<(image)": "someimagename"}],
        "imagePullSecrets": [{"name": "my-registry-secret"}],
    },
}


def test_global_anchor_gates_the_whole_pattern():
    with_secret = {
        "containers": [{"name": "a", "image": "someimagename"}],
        "imagePullSecrets": [{"name": "my-registry-secret"}],
    }
    without = {"containers": [{"name": "a", "image": "someimagename"}]}
    other = {"containers": [{"name": "a", "image": "other"}]}
    assert outcome(pod(with_secret), GLOBAL) == "pass"
    assert outcome(pod(without), GLOBAL) == "fail"
    assert outcome(pod(other), GLOBAL) == "skip"


def test_structure_mismatch_fails():
    assert outcome(pod({"containers": "oops"}), {"spec": {"containers": [{"name": "?*"}]}}) == "fail"
    assert outcome(pod({"containers": []}), {"spec": {"securityContext": {"runAsNonRoot": True}}}) == "fail"


def test_failure_path_is_reported():
    err = match_pattern(
        pod({"containers": [{"name": "c", "image": "nginx"}]}), {"spec": {"containers": [{"image": "*:*"}]}}
    )
    assert err is not None and not err.skip
    assert err.path == "/spec/containers/0/image/"

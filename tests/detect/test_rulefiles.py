"""User rules files: overrides by id, lists (replace/append), macros, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.detect.engine import Detector
from kubeward.detect.rules import RuleFileError, expand, load_rules
from tests.detect.conftest import fixture_event


def _write(tmp_path: Path, text: str, name: str = "mine.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _fires(ruleset: object, event: dict[str, object], rule: str) -> bool:
    detector = Detector(ruleset)  # type: ignore[arg-type]
    return rule in {a["rule"] for a in detector.process(event)}


def test_builtin_rules_cover_the_issue() -> None:
    ids = {r.id for r in load_rules().rules}
    assert {
        "pod-exec",
        "pod-portforward",
        "ephemeral-container",
        "privileged-pod",
        "host-namespaces-pod",
        "hostpath-pod",
        "cluster-admin-binding",
        "wildcard-role",
        "rbac-change",
        "secret-read",
        "secrets-listed-cluster-wide",
        "anonymous-request-allowed",
        "auth-failure-burst",
        "sa-token-request",
        "kube-system-workload",
        "webhook-config-changed",
        "audit-config-tampered",
        "node-tampered",
        "image-outside-registries",
    } <= ids
    for rule in load_rules().rules:
        assert rule.mitre.startswith("T"), rule.id


def test_list_append_silences_an_allowed_reader(tmp_path: Path) -> None:
    event = fixture_event("secret-read", "fire-get.json")
    assert _fires(load_rules(), event, "secret-read")
    mine = _write(tmp_path, "lists:\n  secret_readers:\n    append: true\n    items: [mallory]\n")
    ruleset = load_rules([mine])
    assert not _fires(ruleset, event, "secret-read")
    assert "system:kube-controller-manager" in ruleset.lists["secret_readers"]  # appended, not replaced


def test_list_replace(tmp_path: Path) -> None:
    mine = _write(tmp_path, "lists:\n  allowed_registries: [evil.example.com/]\n")
    ruleset = load_rules([mine])
    assert ruleset.lists["allowed_registries"] == ["evil.example.com/"]
    assert not _fires(
        ruleset,
        fixture_event("image-outside-registries", "fire-unknown-registry.json"),
        "image-outside-registries",
    )
    assert _fires(
        ruleset, fixture_event("image-outside-registries", "pass-official.json"), "image-outside-registries"
    )


def test_disable_override_and_add(tmp_path: Path) -> None:
    mine = _write(
        tmp_path,
        """
rules:
  - id: secret-read
    enabled: false
  - id: pod-exec
    severity: critical
  - id: configmap-read
    title: ConfigMap read by mallory
    severity: low
    match: {verbs: [get], resources: [configmaps]}
    condition: user == "mallory"
    output: "{user} read {namespace}/{name}"
""",
    )
    ruleset = load_rules([mine])
    by_id = {r.id: r for r in ruleset.rules}
    assert "secret-read" not in by_id and ruleset.disabled == ["secret-read"]
    assert by_id["pod-exec"].severity.label == "critical"
    assert by_id["pod-exec"].title == "Exec or attach into a pod"  # merged, not replaced
    assert _fires(ruleset, fixture_event("secret-read", "pass-configmap.json"), "configmap-read")
    assert not _fires(ruleset, fixture_event("secret-read", "fire-get.json"), "configmap-read")


def test_macro_override(tmp_path: Path) -> None:
    mine = _write(tmp_path, 'macros:\n  is_node: user == "mallory"\n')
    assert not _fires(load_rules([mine]), fixture_event("secret-read", "fire-get.json"), "secret-read")


def test_expand_skips_strings_and_fields() -> None:
    lists = {"names": ["a", "b"]}
    macros = {"m": "x == 1"}
    assert expand('user in names && ev.names == "names" && m', lists, macros) == (
        'user in ["a","b"] && ev.names == "names" && (x == 1)'
    )
    with pytest.raises(ValueError, match="nest more than 20"):
        expand("loop", {}, {"loop": "loop"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "rules:\n  - id: x\n    title: t\n    severity: high\n    condition: 'user =='\n    output: o\n",
            "mine.yaml:5: rules.0.condition: rule 'x':",
        ),
        (
            "rules:\n  - id: x\n    title: t\n    severity: scary\n    condition: 'true'\n    output: o\n",
            "mine.yaml:4: rules.0.severity: unknown severity",
        ),
        (
            "rules:\n  - id: x\n    title: t\n    severity: high\n    condition: 'true'\n"
            "    output: '{secret}'\n",
            "mine.yaml:6: rules.0.output: unknown field {secret}",
        ),
        ("rules:\n  - id: x\n    colour: red\n", "mine.yaml:3: rules.0.colour: unknown rule key"),
        (
            "rules:\n  - id: pod-exec\n    match: {verbz: [get]}\n",
            "mine.yaml:3: rules.0.match.verbz: unknown match key",
        ),
        ("rules:\n  - id: pod-exec\n    match: {codes: [2yy]}\n", "rules.0.match.codes: a code is 100-599"),
        ("lists:\n  secret_readers: {append: true, items: [{a: 1}]}\n", "mine.yaml:2: lists.secret_readers"),
        ("rules: [\n", "mine.yaml:"),
        ("colours: []\n", "mine.yaml:1: colours: unknown section"),
    ],
)
def test_errors_are_one_line_with_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    mine = _write(tmp_path, text)
    with pytest.raises(RuleFileError) as err:
        load_rules([mine])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="cannot read"):
        load_rules([tmp_path / "missing.yaml"])

"""The `kubeward serve` configuration file: defaults, overrides, and one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubeward.findings import Severity
from kubeward.webhook.config import WebhookConfigError, load_webhook_config, parse_webhook_config


def test_defaults() -> None:
    cfg = parse_webhook_config({})
    assert cfg.failure_policy == "Fail" and cfg.mutate and cfg.request_timeout == 8
    sets = cfg.for_namespace("anything")
    assert sets["pss"].mode == "enforce" and sets["pss"].level == "restricted"
    assert sets["rules"].mode == "warn" and sets["rules"].min_severity is Severity.HIGH


def test_first_matching_namespace_override_wins_and_keeps_the_rest() -> None:
    cfg = parse_webhook_config(
        {
            "ruleSets": {"rules": {"mode": "audit"}},
            "namespaces": [
                {"names": ["dev-*"], "ruleSets": {"pss": "warn"}},
                {"names": ["dev-x"], "ruleSets": {"pss": "off"}},
            ],
        }
    )
    assert cfg.for_namespace("dev-x")["pss"].mode == "warn"
    assert cfg.for_namespace("dev-x")["rules"].mode == "audit"
    assert cfg.for_namespace("prod")["pss"].mode == "enforce"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"failurePolicy": "Maybe"}, "failurePolicy must be Fail or Ignore"),
        ({"requestTimeoutSeconds": 40}, "requestTimeoutSeconds must be a number"),
        ({"ruleSets": {"psa": {}}}, "unknown rule set 'psa'"),
        ({"ruleSets": {"pss": {"mode": "block"}}}, "ruleSets.pss.mode"),
        ({"ruleSets": {"pss": {"level": "strict"}}}, "ruleSets.pss"),
        ({"ruleSets": {"rules": {"minSeverity": "huge"}}}, "minSeverity"),
        ({"ruleSets": {"rules": {"level": "baseline"}}}, "unknown keys: level"),
        ({"namespaces": [{"ruleSets": {}}]}, "namespaces[0].names"),
        ({"exempt": {"users": ["x"]}}, "exempt: unknown keys: users"),
        ({"bogus": 1}, "unknown keys: bogus"),
    ],
)
def test_mistakes_are_named(data: dict[str, object], needle: str) -> None:
    with pytest.raises(WebhookConfigError, match=None) as info:
        parse_webhook_config(data, "webhook.yaml")
    assert needle in str(info.value) and str(info.value).startswith("webhook.yaml")


def test_file_paths_are_relative_to_the_config(tmp_path: Path) -> None:
    path = tmp_path / "webhook.yaml"
    path.write_text("policyFiles: [policies/]\nscanConfig: scan.yaml\n")
    cfg = load_webhook_config(str(path))
    assert cfg.policy_files == (str(tmp_path / "policies/"),) and cfg.scan_config == str(
        tmp_path / "scan.yaml"
    )
    path.write_text("ruleSets: [\n")
    with pytest.raises(WebhookConfigError, match=rf"^{path}:\d+: "):
        load_webhook_config(str(path))
    with pytest.raises(WebhookConfigError, match="cannot read"):
        load_webhook_config(str(tmp_path / "missing.yaml"))

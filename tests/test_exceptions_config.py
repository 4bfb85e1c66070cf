"""Accepted risks (exceptions.py) and `.kubeward.yaml` (config.py), in the library and
through the CLI."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kubeward.config import Config, ConfigError, find_config, load_config
from kubeward.exceptions import parse_annotation
from kubeward.findings import Severity
from kubeward.scan import ScanReport, run_scan
from tests.conftest import REPO

KUBEWARD = Path(sys.executable).with_name("kubeward")
INSECURE = REPO / "examples" / "insecure" / "web.yaml"


def kubeward(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(KUBEWARD), *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=120, check=False)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    return proc


def deployment(annotations: str = "", template_annotations: str = "") -> str:
    meta = f"\n  annotations:\n    kubeward.io/ignore: {annotations}" if annotations else ""
    tpl = (f"\n    metadata:\n      annotations:\n        kubeward.io/ignore: {template_annotations}"
           if template_annotations else "")
    return textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: shop{meta}
        spec:
          template:{tpl}
            spec:
              containers:
                - name: web
                  image: nginx:latest
        """).format(meta=meta, tpl=tpl)


def scan_text(tmp_path: Path, text: str, *, today: dt.date = dt.date(2026, 6, 1), **kw) -> ScanReport:
    path = tmp_path / "app.yaml"
    path.write_text(text)
    return run_scan([str(path)], kw.pop("config", Config()), today=today, **kw)


def rules_of(findings) -> set[str]:
    return {f.rule.id for f in findings}


# --- annotations --------------------------------------------------------------------------

def test_annotation_parsing():
    entries, problems = parse_annotation(
        "rule=reason, other.*=reason, with a comma until 2020-01-01, x = spaced (until 2021-02-03)", "D/x")
    assert problems == []
    assert [(e.rule, e.reason, e.expires) for e in entries] == [
        ("rule", "reason", None),
        ("other.*", "reason, with a comma", dt.date(2020, 1, 1)),
        ("x", "spaced", dt.date(2021, 2, 3)),
    ]
    assert entries[0].source == "annotation on D/x"
    for bad, expected in [
        ("no-reason", 'entry "no-reason" needs "<rule-id>=<reason>"'),
        ("rule=", 'entry "rule=" needs'),
        ("=reason", 'entry "=reason" needs'),
        ("rule=reason until 2020-13-45", "bad expiry date '2020-13-45'"),
    ]:
        entries, problems = parse_annotation(bad, "D/x")
        assert entries == [] and len(problems) == 1 and expected in problems[0], problems
    assert parse_annotation(["a=b"], "D/x") == ([], ["D/x: kubeward.io/ignore must be a string"])


def test_annotation_on_the_object_suppresses_its_findings(tmp_path):
    plain = scan_text(tmp_path, deployment())
    assert {"image.latest-tag", "workload.resource-limits"} <= rules_of(plain.active)
    report = scan_text(tmp_path, deployment(
        '"image.latest-tag=pinned by the overlay, workload.*=tracked in OPS-1 until 2027-01-01"'))
    assert rules_of(report.suppressed) == {
        "image.latest-tag", "workload.resource-limits", "workload.read-only-root-filesystem"}
    assert not rules_of(report.active) & rules_of(report.suppressed)
    assert len(report.findings) == len(plain.findings)
    [latest] = [f for f in report.suppressed if f.rule.id == "image.latest-tag"]
    assert latest.suppressed.reason == "pinned by the overlay" and latest.suppressed.expires is None
    [limits] = [f for f in report.suppressed if f.rule.id == "workload.resource-limits"]
    assert limits.suppressed.expires == "2027-01-01"
    assert limits.suppressed.source == "annotation on Deployment/shop/web"
    assert report.exceptions.unused == report.exceptions.expired == report.exceptions.invalid == []


def test_annotation_on_the_pod_template(tmp_path):
    report = scan_text(tmp_path, deployment(template_annotations='"image.latest-tag=mirror pins it"'))
    assert rules_of(report.suppressed) == {"image.latest-tag"}
    assert report.suppressed[0].suppressed.source == "annotation on Deployment/shop/web (pod template)"


def test_annotation_applies_only_to_its_own_object(tmp_path):
    other = deployment().replace("name: web", "name: other")
    report = scan_text(tmp_path, deployment('"image.latest-tag=ok here"') + "---\n" + other)
    latest = [f for f in report.findings if f.rule.id == "image.latest-tag"]
    assert sorted((f.resource.name, f.suppressed is not None) for f in latest) == [
        ("other", False), ("web", True)]


def test_expired_exceptions_are_reported_and_not_applied(tmp_path):
    text = deployment('"image.latest-tag=temporary until 2020-01-01"')
    before = scan_text(tmp_path, text, today=dt.date(2019, 12, 31))
    assert rules_of(before.suppressed) == {"image.latest-tag"} and before.exceptions.expired == []
    on_the_day = scan_text(tmp_path, text, today=dt.date(2020, 1, 1))
    assert rules_of(on_the_day.suppressed) == {"image.latest-tag"}
    after = scan_text(tmp_path, text, today=dt.date(2020, 1, 2))
    assert "image.latest-tag" in rules_of(after.active) and after.suppressed == []
    [expired] = after.exceptions.expired
    assert expired.rule == "image.latest-tag" and expired.expires == dt.date(2020, 1, 1)
    assert after.exceptions.unused == []


def test_unused_and_invalid_exceptions_are_reported(tmp_path):
    # (a part without `=` after a valid entry continues its reason: reasons may hold commas)
    report = scan_text(tmp_path, deployment('"garbage, hostpath.never=not used, image.latest-tag=ok"'))
    assert [e.rule for e in report.exceptions.unused] == ["hostpath.never"]
    assert report.exceptions.unused[0].describe() == "hostpath.never (annotation on Deployment/shop/web)"
    [invalid] = report.exceptions.invalid
    assert invalid == ('Deployment/shop/web: kubeward.io/ignore entry "garbage" needs '
                       '"<rule-id>=<reason>"')
    assert rules_of(report.suppressed) == {"image.latest-tag"}


def test_strict_rules_cannot_be_excepted(tmp_path):
    text = deployment('"image.latest-tag=ok, workload.resource-limits=ok"')
    report = scan_text(tmp_path, text, strict=["image.*"])
    assert "image.latest-tag" in rules_of(report.active)
    assert rules_of(report.suppressed) == {"workload.resource-limits"}
    assert report.exceptions.strict_overrides == 1
    assert report.exceptions.unused == []  # it matched: it is not stale, only overridden
    config_strict = scan_text(tmp_path, text, config=Config(strict=("image.latest-tag",)))
    assert "image.latest-tag" in rules_of(config_strict.active)


# --- exceptions file and --strict through the CLI ----------------------------------------

def test_exceptions_file_and_strict_on_the_command_line(tmp_path):
    shutil.copy(INSECURE, tmp_path / "web.yaml")
    (tmp_path / "exceptions.yaml").write_text(textwrap.dedent("""\
        exceptions:
          - rule: secrets.*
            namespace: shop
            name: web*
            reason: rotated, moving to External Secrets (SEC-42)
            expires: 2999-01-01
          - rule: image.latest-tag
            kind: Deployment
            reason: mirror pins it
          - rule: rbac.*
            namespace: other
            reason: never matches
          - rule: pss.baseline.privileged
            reason: was allowed once
            expires: 2001-01-01
        """))
    base = ["scan", "web.yaml", "-o", "json", "--no-config", "--exceptions", "exceptions.yaml"]
    proc = kubeward(*base, cwd=tmp_path)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    suppressed = {f["rule"]: f["suppressed"] for f in doc["findings"] if f["suppressed"]}
    assert set(suppressed) == {"secrets.literal-in-env", "secrets.literal-in-configmap",
                               "secrets.secret-manifest-committed", "secrets.env-secret-ref",
                               "image.latest-tag"}
    assert suppressed["image.latest-tag"] == {
        "source": "exceptions.yaml", "reason": "mirror pins it", "expires": None}
    assert "rbac.* for */other/* (exceptions.yaml)" in doc["exceptions"]["unused"]
    assert doc["exceptions"]["expired"] == ["pss.baseline.privileged (exceptions.yaml)"]
    assert "note: unused exception rbac.* for */other/* (exceptions.yaml)" in proc.stderr
    assert ("warning: expired exception pss.baseline.privileged (exceptions.yaml) "
            "(expired 2001-01-01)") in proc.stderr

    strict = kubeward(*base, "--strict", "image.latest-tag", cwd=tmp_path)
    doc = json.loads(strict.stdout)
    assert not any(f["suppressed"] for f in doc["findings"] if f["rule"] == "image.latest-tag")
    assert "note: 1 exception(s) not honoured for --strict rules" in strict.stderr


def test_bad_exceptions_file_is_a_usage_error(tmp_path):
    shutil.copy(INSECURE, tmp_path / "web.yaml")
    (tmp_path / "bad.yaml").write_text("exceptions:\n  - rule: x\n")
    proc = kubeward("scan", "web.yaml", "--no-config", "--exceptions", "bad.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    assert "bad.yaml: exception 1 needs a rule and a reason" in proc.stderr
    assert proc.stdout == ""


# --- .kubeward.yaml ---------------------------------------------------------------------------

CONFIG = """\
registries:
  allowed: [ghcr.io/acme]
rules:
  disable: [rbac.*]
  severity: {image.latest-tag: critical, workload.*: info}
fail-on: high
"""


def test_config_is_found_upward_from_the_scanned_path(tmp_path):
    (tmp_path / ".kubeward.yaml").write_text(CONFIG)
    deep = tmp_path / "deploy" / "prod"
    deep.mkdir(parents=True)
    shutil.copy(INSECURE, deep / "web.yaml")
    assert find_config(str(deep)) == tmp_path / ".kubeward.yaml"
    assert find_config(str(deep / "web.yaml")) == tmp_path / ".kubeward.yaml"
    config = load_config(find_config(str(deep)))
    assert config.allowed_registries == ("ghcr.io/acme",)
    assert config.disabled == ("rbac.*",)
    assert config.severity == {"image.latest-tag": Severity.CRITICAL, "workload.*": Severity.INFO}
    assert config.fail_on is Severity.HIGH

    proc = kubeward("scan", "prod", "-o", "json", cwd=tmp_path / "deploy")
    doc = json.loads(proc.stdout)
    by_rule = {f["rule"]: f for f in doc["findings"]}
    assert not any(r.startswith("rbac.") for r in by_rule)
    assert by_rule["image.latest-tag"]["severity"] == "critical"
    assert by_rule["workload.resource-limits"]["severity"] == "info"
    assert by_rule["image.allowed-registry"]["resource"]["name"] == "web"
    assert proc.returncode == 1


def test_config_flag_no_config_and_fail_on(tmp_path):
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "web.yaml").write_text(deployment())  # latest tag (medium), limits (low)
    (tmp_path / "app" / ".kubeward.yaml").write_text("fail-on: critical\n")
    (tmp_path / "strict.yaml").write_text("fail-on: low\nrules: {disable: [pss.*, rbac.*]}\n")

    found = kubeward("scan", "app", "-o", "json", cwd=tmp_path)
    assert found.returncode == 0  # only a critical finding would fail it
    assert json.loads(found.stdout)["summary"]["findings"] > 0

    explicit = kubeward("scan", "app", "-o", "json", "--config", "strict.yaml", cwd=tmp_path)
    assert explicit.returncode == 1
    assert not any(f["rule"].startswith("pss.") for f in json.loads(explicit.stdout)["findings"])

    ignored = kubeward("scan", "app", "-o", "json", "--no-config", cwd=tmp_path)
    assert ignored.returncode == 1
    assert any(f["rule"].startswith("pss.") for f in json.loads(ignored.stdout)["findings"])

    # the command line wins over the config
    flag = kubeward("scan", "app", "--fail-on", "medium", cwd=tmp_path)
    assert flag.returncode == 1


def test_allowed_registries_from_config_and_flag(tmp_path):
    (tmp_path / "web.yaml").write_text(deployment().replace("nginx:latest", "ghcr.io/acme/web:1.0"))
    report = scan_text(tmp_path, (tmp_path / "web.yaml").read_text())
    assert "image.allowed-registry" not in rules_of(report.findings)  # no allow-list: no rule
    denied = scan_text(tmp_path, (tmp_path / "web.yaml").read_text(),
                       config=Config(allowed_registries=("registry.k8s.io",)))
    [finding] = [f for f in denied.findings if f.rule.id == "image.allowed-registry"]
    assert "ghcr.io/acme/web:1.0" in finding.message
    allowed = scan_text(tmp_path, (tmp_path / "web.yaml").read_text(),
                        config=Config(allowed_registries=("ghcr.io/acme",)))
    assert "image.allowed-registry" not in rules_of(allowed.findings)
    proc = kubeward("scan", "web.yaml", "-o", "json", "--no-config", "--allowed-registry", "quay.io",
                    cwd=tmp_path)
    assert "image.allowed-registry" in {f["rule"] for f in json.loads(proc.stdout)["findings"]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus: 1\n", ".kubeward.yaml: unknown config keys: bogus"),
        ("rules: [a]\n", ".kubeward.yaml: rules must be a mapping"),
        ("rules:\n  disable: 5\n", ".kubeward.yaml: rules.disable must be a list of strings"),
        ("registries:\n  allowed: [1, 2]\n", ".kubeward.yaml: registries.allowed must be a list of strings"),
        ("rules:\n  severity: {image.*: huge}\n", "rules.severity.image.*: unknown severity 'huge'"),
        ("fail-on: extreme\n", ".kubeward.yaml: fail-on: unknown severity 'extreme'"),
        ("exceptions: {rule: x}\n", ".kubeward.yaml: exceptions must be a list of mappings"),
        ("- just\n- a list\n", ".kubeward.yaml:1: config must be a mapping"),
        ("rules:\n  disable: [a\nfail-on: high\n", ".kubeward.yaml:3: YAML error: "),
        ("a: &a [*a]\n", ".kubeward.yaml:1: YAML alias refers to itself"),
    ],
    ids=["unknown-key", "rules-type", "disable-type", "registries-type", "severity-value",
         "fail-on-value", "exceptions-type", "not-a-mapping", "yaml-error", "recursive-alias"],
)
def test_bad_config_is_one_line_and_exit_2(tmp_path, text, message):
    (tmp_path / ".kubeward.yaml").write_text(text)
    shutil.copy(INSECURE, tmp_path / "web.yaml")
    with pytest.raises(ConfigError, match=r"^" + str(tmp_path).replace(".", r"\.")):
        load_config(tmp_path / ".kubeward.yaml")
    for args in (["scan", "web.yaml"], ["scan", "web.yaml", "--config", ".kubeward.yaml", "-o", "json"]):
        proc = kubeward(*args, cwd=tmp_path)
        assert proc.returncode == 2
        assert proc.stdout == ""
        [line] = proc.stderr.splitlines()
        shown = tmp_path / ".kubeward.yaml" if "--config" not in args else ".kubeward.yaml"
        assert line.startswith(f"Error: {shown}") and message in line, line


def test_missing_config_file_is_exit_2(tmp_path):
    shutil.copy(INSECURE, tmp_path / "web.yaml")
    proc = kubeward("scan", "web.yaml", "--config", "nope.yaml", cwd=tmp_path)
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert line.startswith("Error: nope.yaml: cannot read config")


def test_empty_config_is_the_default(tmp_path):
    (tmp_path / ".kubeward.yaml").write_text("# nothing yet\n")
    assert load_config(tmp_path / ".kubeward.yaml") == Config(path=str(tmp_path / ".kubeward.yaml"))

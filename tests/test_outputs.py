"""The reports: JSON against its schema, SARIF against the official 2.1.0 schema and GitHub
code scanning's needs, JUnit counts, the table's grouping and colour."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse
from xml.etree import ElementTree as ET

import jsonschema
import pytest

from kubeward.checklist import item
from kubeward.config import Config
from kubeward.exceptions import parse_entries
from kubeward.findings import Severity
from kubeward.report.json_report import render_json
from kubeward.report.junit import render_junit
from kubeward.report.sarif import render_sarif
from kubeward.report.table import render_table, summary_line
from kubeward.scan import ScanReport, run_scan
from tests.conftest import REPO

SCHEMAS = REPO / "tests" / "fixtures" / "schemas"
EXAMPLES = REPO / "examples"
KUBEWARD = Path(sys.executable).with_name("kubeward")
ANSI = re.compile(r"\x1b\[[0-9;]*m")

ANNOTATED = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: legacy
  namespace: shop
  annotations:
    kubeward.io/ignore: "image.latest-tag=pinned by the prod overlay, nothing.here=never fires"
spec:
  template:
    metadata:
      annotations:
        kubeward.io/ignore: "workload.*=nginx writes its cache until 2999-01-01"
    spec:
      containers:
        - name: legacy
          image: nginx:latest
"""


def scan_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ScanReport:
    """A scan with a bit of everything: findings, suppressions from an annotation and from
    an exceptions file, an unused exception, an input error. Run from tmp_path."""
    monkeypatch.chdir(tmp_path)
    app = tmp_path / "app"
    app.mkdir()
    shutil.copy(EXAMPLES / "insecure" / "web.yaml", app / "web.yaml")
    shutil.copy(EXAMPLES / "hardened" / "api.yaml", app / "api.yaml")
    (app / "legacy.yaml").write_text(ANNOTATED)
    (app / "broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\ndata: [\n")
    entries, problems = parse_entries(
        [{"rule": "secrets.secret-manifest-committed", "kind": "Secret", "namespace": "shop",
          "reason": "sealed in prod", "expires": "2999-12-31"}], "exceptions.yaml")
    assert not problems
    return run_scan(["app"], Config(), extra_exceptions=entries, today=dt.date(2026, 6, 1))


# --- JSON ---------------------------------------------------------------------------------

def report_schema() -> dict:
    schema = json.loads((SCHEMAS / "kubeward-report.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def validate_report(doc: dict) -> None:
    validator = jsonschema.Draft202012Validator(
        report_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def test_json_report_matches_its_schema_and_its_own_counts(tmp_path, monkeypatch):
    report = scan_tree(tmp_path, monkeypatch)
    doc = json.loads(render_json(report))
    validate_report(doc)
    summary = doc["summary"]
    active = [f for f in doc["findings"] if f["suppressed"] is None]
    assert summary["findings"] == len(active) == len(report.active) > 10
    assert summary["suppressed"] == len(doc["findings"]) - len(active) == 4
    severities = ["critical", "high", "medium", "low", "info"]
    assert summary["bySeverity"] == {sev: sum(f["severity"] == sev for f in active) for sev in severities}
    assert list(summary["bySeverity"]) == severities
    assert summary["errors"] == len(doc["errors"]) == 1
    assert doc["errors"][0] == {"file": "app/broken.yaml", "line": 3,
                                "message": doc["errors"][0]["message"]}
    assert summary["resources"] == 8 and summary["inputs"] == 4
    assert [e.split(" (")[0] for e in doc["exceptions"]["unused"]] == ["nothing.here"]
    keys = [(-Severity.parse(f["severity"]), f["rule"], f["location"]["file"], f["location"]["line"])
            for f in doc["findings"]]
    assert keys == sorted(keys)
    suppressed = {f["rule"]: f["suppressed"] for f in doc["findings"] if f["suppressed"]}
    assert sorted(suppressed) == ["image.latest-tag", "secrets.secret-manifest-committed",
                                  "workload.read-only-root-filesystem", "workload.resource-limits"]
    assert suppressed["workload.resource-limits"]["expires"] == "2999-01-01"
    assert suppressed["secrets.secret-manifest-committed"] == {
        "source": "exceptions.yaml", "reason": "sealed in prod", "expires": "2999-12-31"}
    assert suppressed["image.latest-tag"]["reason"] == "pinned by the prod overlay"


def test_json_schema_is_strict():
    doc = {"schemaVersion": 1, "tool": {"name": "kubeward", "version": "0", "catalogVersion": "0"},
           "summary": {"findings": 0, "suppressed": 0, "resources": 0, "inputs": 0,
                       "skippedDocuments": 0, "errors": 0, "rules": 1,
                       "bySeverity": {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0}},
           "findings": [], "errors": [], "warnings": [],
           "exceptions": {"unused": [], "expired": [], "invalid": []}}
    validate_report(doc)
    for broken in (
        {**doc, "extra": 1},
        {**doc, "schemaVersion": 2},
        {**doc, "errors": [{"file": "x", "line": 0, "message": "m"}]},
        {**doc, "summary": {**doc["summary"], "bySeverity": {"critical": 0}}},
    ):
        with pytest.raises(AssertionError):
            validate_report(broken)


def test_json_of_a_chart_rendered_here_names_template_and_chart(monkeypatch):
    if shutil.which("helm") is None:
        pytest.importorskip("helm_python")
    monkeypatch.chdir(REPO)
    report = run_scan(["tests/fixtures/charts/shop"], Config())
    doc = json.loads(render_json(report))
    validate_report(doc)
    locations = {f["location"]["file"] for f in doc["findings"]}
    assert "tests/fixtures/charts/shop/templates/deployment.yaml" in locations
    loc = next(f["location"] for f in doc["findings"] if f["rule"] == "image.latest-tag")
    assert loc["renderedFrom"] == "tests/fixtures/charts/shop"
    assert loc["template"] == loc["file"]


# --- SARIF --------------------------------------------------------------------------------

def sarif_schema() -> dict:
    return json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text())


def test_sarif_is_valid_sarif_2_1_0(tmp_path, monkeypatch):
    report = scan_tree(tmp_path, monkeypatch)
    doc = json.loads(render_sarif(report))
    schema = sarif_schema()
    jsonschema.Draft4Validator.check_schema(schema)
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = list(validator.iter_errors(doc))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    # and the schema does check: a result without a message is refused
    doc["runs"][0]["results"][0].pop("message")
    assert not validator.is_valid(doc)


def test_sarif_has_what_github_code_scanning_needs(tmp_path, monkeypatch):
    report = scan_tree(tmp_path, monkeypatch)
    doc = json.loads(render_sarif(report))
    [run] = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert len(results) == len(report.findings)
    assert [r["id"] for r in rules] == sorted({f.rule.id for f in report.findings})
    for rule in rules:
        score = float(rule["properties"]["security-severity"])
        assert 0.0 <= score <= 10.0
        assert rule["help"]["markdown"] and rule["shortDescription"]["text"]
    by_id = {r["id"]: r for r in rules}
    critical = by_id["pss.baseline.privileged"]["properties"]["security-severity"]
    assert float(critical) >= 9.0  # GitHub's "critical" band

    fingerprints = set()
    for result, finding in zip(results, report.findings, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding.rule.id
        [loc] = result["locations"]
        artifact = loc["physicalLocation"]["artifactLocation"]
        uri = artifact["uri"]
        assert artifact["uriBaseId"] == "%SRCROOT%"
        assert not urlparse(uri).scheme and not uri.startswith("/") and uri.startswith("app/")
        assert (tmp_path / uri).is_file()
        assert loc["physicalLocation"]["region"]["startLine"] == finding.line >= 1
        fingerprint = result["partialFingerprints"]["kubewardFinding/v1"]
        assert re.fullmatch(r"[0-9a-f]{32}", fingerprint)
        fingerprints.add(fingerprint)
        if finding.suppressed is None:
            assert "suppressions" not in result
        else:
            [suppression] = result["suppressions"]
            assert suppression["justification"] == finding.suppressed.reason
            expected = "inSource" if finding.suppressed.source.startswith("annotation") else "external"
            assert suppression["kind"] == expected
    assert len(fingerprints) == len({(f.rule.id, f.resource.ref, f.message) for f in report.findings})
    kinds = sorted(s["kind"] for r in results for s in r.get("suppressions", []))
    assert kinds == ["external", "inSource", "inSource", "inSource"]
    [note] = run["invocations"][0]["toolExecutionNotifications"]
    assert note["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "app/broken.yaml"
    assert note["locations"][0]["physicalLocation"]["region"]["startLine"] == 3


def test_sarif_fingerprints_are_stable_across_runs_and_line_moves(tmp_path, monkeypatch):
    first = json.loads(render_sarif(scan_tree(tmp_path, monkeypatch)))
    web = tmp_path / "app" / "web.yaml"
    web.write_text("# a comment that moves every line down\n" + web.read_text())
    second = json.loads(render_sarif(run_scan(["app"], Config(), today=dt.date(2026, 6, 1))))

    def prints(doc: dict) -> dict[str, int]:
        return {r["partialFingerprints"]["kubewardFinding/v1"]:
                r["locations"][0]["physicalLocation"]["region"]["startLine"]
                for r in doc["runs"][0]["results"] if "web.yaml" in json.dumps(r["locations"])}

    a, b = prints(first), prints(second)
    assert a.keys() == b.keys() and a
    assert all(b[k] == a[k] + 1 for k in a)


# --- JUnit --------------------------------------------------------------------------------

def test_junit_counts_are_consistent(tmp_path, monkeypatch):
    report = scan_tree(tmp_path, monkeypatch)
    root = ET.fromstring(render_junit(report))
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    cases = [c for s in suites for c in s.findall("testcase")]
    failing = [c for c in cases if c.find("failure") is not None]
    assert int(root.get("tests")) == len(cases)
    assert int(root.get("failures")) == len(failing) == len(report.active)
    assert int(root.get("errors")) == len(report.errors) == 1
    for suite in suites:
        own = suite.findall("testcase")
        assert int(suite.get("tests")) == len(own)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in own)
    assert [s.get("name") for s in suites] == sorted(
        (s.get("name") for s in suites), key=lambda n: int(n.split(".")[0]))
    for case in failing:
        assert len(case.findall("failure")) == 1
        assert case.get("file", "").startswith("app/") and int(case.get("line")) >= 1
    fired = {f.rule.id for f in report.active}
    passing = {c.get("name") for c in cases if c.find("failure") is None}
    assert passing == {r.id for r in report.rules} - fired
    for rule in report.rules:
        suite = next(s for s in suites if s.get("name") == f"{rule.checklist}. {item(rule.checklist).title}")
        assert any(c.get("classname") == rule.id for c in suite.findall("testcase"))


def test_junit_for_a_clean_scan_has_only_passing_cases():
    report = run_scan([str(EXAMPLES / "hardened")], Config())
    root = ET.fromstring(render_junit(report))
    assert root.get("failures") == "0" and int(root.get("tests")) == len(report.rules) > 10


# --- the table ----------------------------------------------------------------------------

def table(report: ScanReport, **kw) -> str:
    buf = io.StringIO()
    render_table(report, buf, **{"color": False, **kw})
    return buf.getvalue()


def test_table_groups_findings_by_checklist_item(tmp_path, monkeypatch):
    report = scan_tree(tmp_path, monkeypatch)
    out = table(report)
    assert not ANSI.search(out)
    numbers = sorted({f.rule.checklist for f in report.active})
    headings = [f"{n}. {item(n).title}  ({sum(f.rule.checklist == n for f in report.active)})"
                for n in numbers]
    positions = [out.index(h) for h in headings]
    assert positions == sorted(positions)
    for f in report.active:
        assert f.rule.id in out and f"{f.file}:{f.line}" in out
    assert out.rstrip().splitlines()[-1] == summary_line(report)
    assert "SUPPRESSED" not in out and "SUPPRESSED" in table(report, show_suppressed=True)


@pytest.mark.parametrize("width", [80, 120, 200])
def test_table_columns_wrap_within_the_width(width):
    report = run_scan([str(EXAMPLES / "insecure")], Config())
    body = table(report, width=width).split("\nHow to fix")[0]
    lines = body.splitlines()
    rule_width = max(len(f.rule.id) for f in report.active)
    if len("SUPPRESSED") + rule_width + 8 + 2 * 12 + 30 <= width:  # the narrowest layout fits
        assert max(len(line) for line in lines) <= width
    findings = ""  # the FINDING column of every group, spaces left out
    columns: tuple[int, int] | None = None
    for line in lines:
        if not line or re.match(r"\d+\. ", line):  # a group's title
            columns = None
        elif line.startswith("SEVERITY"):
            columns = line.index("OBJECT"), line.index("FINDING")
        else:
            assert columns is not None
            if line.startswith(" "):  # a continuation: SEVERITY and RULE stay empty
                assert line[:columns[0]].strip() == ""
            findings += "".join(line[columns[1]:].split())
    for f in report.active:
        assert "".join(f.message.split()) in findings
        assert f.rule.id in body


def test_summary_line_counts(tmp_path, monkeypatch):
    report = scan_tree(tmp_path, monkeypatch)
    counts = report.counts()
    line = summary_line(report)
    parts = ", ".join(f"{counts[s]} {s.label}" for s in sorted(Severity, reverse=True) if counts[s])
    assert line == (f"{len(report.active)} findings ({parts}) in 8 resources from 4 inputs; "
                    "4 suppressed by exceptions; 1 input errors")
    clean = run_scan([str(EXAMPLES / "hardened")], Config())
    assert summary_line(clean) == "0 findings in 4 resources from 1 inputs"


def test_table_colour_follows_the_terminal_and_the_flags():
    import os

    base = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    base["TERM"] = "xterm-256color"

    def scan(*flags: str, **env: str) -> str:
        proc = subprocess.run([str(KUBEWARD), "scan", "examples/insecure", *flags], cwd=REPO,
                              capture_output=True, text=True, timeout=120, check=False,
                              env={**base, **env})
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert not ANSI.search(proc.stderr)
        return proc.stdout

    plain = scan()  # stdout is a pipe, not a TTY
    assert not ANSI.search(plain) and "3. Pod Security Standards" in plain
    assert not ANSI.search(scan("--no-color"))
    assert not ANSI.search(scan(FORCE_COLOR="1"))  # only --color forces it
    coloured = scan("--color")
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured).split() == plain.split()
    assert not ANSI.search(scan(NO_COLOR="1"))

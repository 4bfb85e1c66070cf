"""`kubeward db import|info` and `kubeward vulns`: exit codes, the gate (--fail-on,
--ignore-unfixed), JSON and SARIF (validated against the SARIF 2.1.0 schema as
tests/test_outputs.py does), images without an SBOM, and bad input without tracebacks."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

from kubeward.cli.main import cli
from tests.conftest import REPO

FIX = REPO / "tests" / "fixtures" / "supply"
SBOM = FIX / "sbom"
APP = str(SBOM / "app.cdx.json")
CLEAN = str(SBOM / "clean.cdx.json")
WEB = str(SBOM / "web.spdx.json")
SARIF_SCHEMA = REPO / "tests" / "fixtures" / "schemas" / "sarif-schema-2.1.0.json"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def dbfile(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("db") / "vulndb.sqlite"
    r = run("db", "import", str(FIX / "osv"), "--db", str(path))
    assert r.exit_code == 0, r.output
    return str(path)


def test_db_import_and_info(tmp_path):
    path = tmp_path / "v.sqlite"
    r = run("db", "import", str(FIX / "osv"), "--db", str(path))
    assert r.exit_code == 0
    assert r.output.startswith("imported 20 advisories (22 affected packages) into ")
    assert "1 withdrawn and 1 without a matchable package skipped" in r.output
    again = run("db", "import", str(FIX / "osv"), "--db", str(path))
    assert again.exit_code == 0
    info = run("db", "info", "--db", str(path), "-o", "json")
    doc = json.loads(info.output)
    assert doc["advisories"] == 20
    assert doc["ecosystems"]["Debian"] == {"advisories": 3, "packages": 4}
    text = run("db", "info", "--db", str(path)).output
    assert "advisories: 20" in text
    assert any(line.split() == ["PyPI", "5", "5"] for line in text.splitlines())


def test_db_uses_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBEWARD_VULNDB", str(tmp_path / "env.sqlite"))
    assert run("db", "import", str(FIX / "osv" / "npm")).exit_code == 0
    assert (tmp_path / "env.sqlite").is_file()
    assert run("vulns", APP).exit_code == 1  # elliptic, next, lodash


def test_db_import_bad_sources(tmp_path):
    r = run("db", "import", str(tmp_path / "missing"), "--db", str(tmp_path / "x.sqlite"))
    assert r.exit_code == 2
    assert "missing: no such file or directory" in r.output
    empty = tmp_path / "bad"
    empty.mkdir()
    (empty / "a.json").write_text("{")
    r = run("db", "import", str(empty), "--db", str(tmp_path / "x.sqlite"))
    assert r.exit_code == 2
    assert f"error: {empty / 'a.json'}: not valid JSON" in r.output


def test_missing_database_says_how_to_import(tmp_path):
    r = run("vulns", APP, "--db", str(tmp_path / "none.sqlite"))
    assert r.exit_code == 2
    assert "kubeward db import" in r.output
    assert run("db", "info", "--db", str(tmp_path / "none.sqlite")).exit_code == 2


def test_table_and_default_gate(dbfile):
    r = run("vulns", APP, "--db", dbfile, "--no-color")
    assert r.exit_code == 1
    assert "GHSA-jfh8-c2jp-5v3q (CVE-2021-44228)" in r.output
    summary = "14 vulnerabilities in 14 packages of 1 SBOMs (2 critical, 3 high, 8 medium, 1 unknown)"
    assert summary in r.output
    clean = run("vulns", CLEAN, "--db", dbfile)
    assert clean.exit_code == 0
    assert "no known vulnerabilities" in clean.output


@pytest.mark.parametrize(("args", "code"), [
    (["--fail-on", "CRITICAL,HIGH"], 1),  # log4j, spring: CRITICAL
    (["--fail-on", "critical"], 1),
    (["--fail-on", "UNKNOWN"], 1),  # GO-2022-0493 has no severity
    ([], 1),
])
def test_fail_on_app(dbfile, args, code):
    assert run("vulns", APP, "--db", dbfile, "-o", "json", *args).exit_code == code


def test_fail_on_thresholds_on_the_spdx_sbom(dbfile):
    # web.spdx.json: 3 HIGH, 1 MEDIUM, 2 LOW (one LOW unfixed)
    assert run("vulns", WEB, "--db", dbfile, "--fail-on", "CRITICAL", "-o", "json").exit_code == 0
    assert run("vulns", WEB, "--db", dbfile, "--fail-on", "CRITICAL,HIGH", "-o", "json").exit_code == 1
    assert run("vulns", WEB, "--db", dbfile, "--fail-on", "HIGH", "-o", "json").exit_code == 1
    assert run("vulns", WEB, "--db", dbfile, "--fail-on", "UNKNOWN", "-o", "json").exit_code == 0


def test_ignore_unfixed(dbfile):
    full = json.loads(run("vulns", APP, "--db", dbfile, "-o", "json").stdout)
    ids = {v["id"] for s in full["sboms"] for v in s["vulnerabilities"]}
    assert "GHSA-29mw-wpgm-hmr9" in ids  # lodash: last_affected only
    r = run("vulns", APP, "--db", dbfile, "-o", "json", "--ignore-unfixed")
    doc = json.loads(r.stdout)
    vulns = [v for s in doc["sboms"] for v in s["vulnerabilities"]]
    assert "GHSA-29mw-wpgm-hmr9" not in {v["id"] for v in vulns}
    assert all(v["fixedVersion"] for v in vulns)
    assert len(vulns) == len(ids) - 1
    # the limit-test advisory is the only unfixed one of the SPDX SBOM, and LOW
    only_low_unfixed = run("vulns", WEB, "--db", dbfile, "-o", "json", "--ignore-unfixed",
                           "--fail-on", "LOW")
    assert "GHSA-limt-test-0001" not in only_low_unfixed.output
    assert only_low_unfixed.exit_code == 1  # tildetool LOW is fixed


def test_json_report(dbfile):
    r = run("vulns", APP, WEB, "--db", dbfile, "-o", "json", "--fail-on", "CRITICAL,HIGH")
    doc = json.loads(r.stdout)
    assert doc["summary"]["vulnerabilities"] == 20
    assert doc["summary"]["failOn"] == ["CRITICAL", "HIGH"]
    assert doc["summary"]["gateHit"] is True
    assert doc["database"]["advisories"] == 20
    app = doc["sboms"][0]
    assert app["subject"] == {"name": "registry.example.com/shop/api", "digest": "sha256:" + "3f" * 32}
    log4j = app["vulnerabilities"][0]
    assert log4j == {
        "id": "GHSA-jfh8-c2jp-5v3q", "aliases": ["CVE-2021-44228"], "severity": "CRITICAL",
        "cvssScore": 10.0,
        "package": {"name": "org.apache.logging.log4j:log4j-core", "ecosystem": "Maven",
                    "purl": "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1",
                    "componentName": "log4j-core"},
        "installedVersion": "2.14.1", "fixedVersion": "2.15.0", "summary": "Remote code injection in Log4j",
        "url": "https://osv.dev/vulnerability/GHSA-jfh8-c2jp-5v3q",
    }


def test_sarif_is_valid_and_has_one_result_per_vulnerable_package(dbfile, monkeypatch):
    monkeypatch.chdir(REPO)
    r = run("vulns", "tests/fixtures/supply/sbom/app.cdx.json", "tests/fixtures/supply/sbom/web.spdx.json",
            "--db", dbfile, "-o", "sarif")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    schema = json.loads(SARIF_SCHEMA.read_text())
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = list(validator.iter_errors(doc))
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]
    [sarif_run] = doc["runs"]
    results = sarif_run["results"]
    rules = sarif_run["tool"]["driver"]["rules"]
    assert len(results) == 20
    # elliptic is vulnerable in both SBOMs: one rule, two results
    assert len(rules) == 19
    assert [r["id"] for r in rules] == sorted(r["id"] for r in rules)
    for res in results:
        assert rules[res["ruleIndex"]]["id"] == res["ruleId"]
        [loc] = res["locations"]
        uri = loc["physicalLocation"]["artifactLocation"]["uri"]
        assert uri in ("tests/fixtures/supply/sbom/app.cdx.json", "tests/fixtures/supply/sbom/web.spdx.json")
        assert loc["logicalLocations"][0]["kind"] == "package"
        assert 0.0 <= float(res["properties"]["security-severity"]) <= 10.0
    log4j = next(r for r in results if r["ruleId"] == "GHSA-jfh8-c2jp-5v3q")
    assert log4j["level"] == "error"
    assert log4j["properties"]["purl"] == "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
    assert log4j["properties"]["fixedVersion"] == "2.15.0"
    assert log4j["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == log4j["properties"]["purl"]
    assert "2.14.1" in log4j["message"]["text"] and "fixed in 2.15.0" in log4j["message"]["text"]
    assert len({r["partialFingerprints"]["kubewardVuln/v1"] for r in results}) == 20
    rule = next(r for r in rules if r["id"] == "GHSA-jfh8-c2jp-5v3q")
    assert rule["properties"]["security-severity"] == "10.0"
    assert rule["helpUri"] == "https://osv.dev/vulnerability/GHSA-jfh8-c2jp-5v3q"


def test_bad_sbom_is_reported_the_rest_is_matched_and_the_exit_is_2(dbfile, tmp_path):
    out = tmp_path / "r.json"
    r = run("vulns", CLEAN, str(SBOM / "bad" / "badtype.cdx.json"), "--db", dbfile,
            "-o", "json", "--output-file", str(out))
    assert r.exit_code == 2
    assert f"error: {SBOM / 'bad' / 'badtype.cdx.json'}: invalid CycloneDX 1.5" in r.stderr
    doc = json.loads(out.read_text())
    assert len(doc["sboms"]) == 1
    assert len(doc["errors"]) == 1
    missing = run("vulns", str(tmp_path / "nope.json"), "--db", dbfile)
    assert missing.exit_code == 2
    assert "nope.json: no such file or directory" in missing.stderr


def test_usage_errors(dbfile):
    assert run("vulns").exit_code == 2
    r = run("vulns", APP, "--db", dbfile, "--fail-on", "SEVERE")
    assert r.exit_code == 2
    assert "unknown severity 'SEVERE'" in r.output


def test_images_without_an_sbom(dbfile, tmp_path):
    manifests = tmp_path / "k8s.yaml"
    manifests.write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop}\n"
        "spec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n"
        "    spec:\n      containers:\n"
        f"      - name: api\n        image: registry.example.com/shop/api@sha256:{'3f' * 32}\n"
        "      - name: web\n        image: registry.example.com/shop/web:2.0\n"
        "      - name: cache\n        image: redis:7\n")
    r = run("vulns", APP, WEB, "--db", dbfile, "--manifests", str(manifests), "-o", "json",
            "--fail-on", "CRITICAL")
    doc = json.loads(r.stdout)
    assert doc["imagesWithoutSbom"] == [
        {"image": "docker.io/library/redis:7", "workloads": ["Deployment/shop/api"]}]
    assert doc["summary"]["imagesChecked"] == 3
    # coverage alone, no SBOM given: every image lacks one; --require-sbom makes it fail
    alone = run("vulns", "--manifests", str(manifests), "--require-sbom", "--no-color")
    assert alone.exit_code == 1
    assert "Images without an SBOM (3)" in alone.stdout
    ok = run("vulns", CLEAN, "--db", dbfile, "--manifests", str(manifests))
    assert ok.exit_code == 0  # missing SBOMs are reported, not a failure, without --require-sbom


def test_no_traceback_from_the_real_entry_point(dbfile, tmp_path):
    """The installed console script on bad input: one line, exit 2, never exit 3."""
    exe = shutil.which("kubeward", path=str(Path(sys.executable).parent))
    assert exe
    junk = tmp_path / "junk.json"
    junk.write_bytes(b"\xff\xfe not json")
    done = subprocess.run([exe, "vulns", str(junk), "--db", dbfile], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert f"error: {junk}: not valid JSON" in done.stderr


def test_sbom_from_standard_input(dbfile):
    r = CliRunner().invoke(cli, ["vulns", "-", "--db", dbfile, "-o", "json"],
                           input=(SBOM / "worker.dsse.json").read_bytes())
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["sboms"][0]["source"] == "<stdin>"
    assert [v["id"] for v in doc["sboms"][0]["vulnerabilities"]] == ["GHSA-jfh8-c2jp-5v3q"]
    bad = CliRunner().invoke(cli, ["vulns", "-", "--db", dbfile], input=b"nope")
    assert bad.exit_code == 2
    assert "error: <stdin>: not valid JSON" in bad.stderr


def test_db_import_of_nothing_leaves_the_database_unchanged(tmp_path):
    """Review 2026-11-24: `db import empty-dir/ --replace` (or a dir of broken files) exited
    0 or 2 but committed the import: the database was emptied."""
    path = tmp_path / "db.sqlite"
    assert run("db", "import", str(FIX / "osv"), "--db", str(path)).exit_code == 0
    before = run("db", "info", "--db", str(path), "-o", "json").stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.json").write_text("{")
    for source in (empty, broken):
        r = run("db", "import", str(source), "--db", str(path), "--replace")
        assert r.exit_code == 2
        assert f"error: {source}: no readable OSV advisory" in r.stderr
        assert "was left unchanged" in r.stderr
        assert run("db", "info", "--db", str(path), "-o", "json").stdout == before

"""The command line, run as a real process: exit codes, stdout for machines and stderr for
people, atomic report files, stdin, and no secret value in any output."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from kubeward import __version__
from kubeward.rules.catalog import CATALOG_VERSION
from tests.conftest import REPO

KUBEWARD = Path(sys.executable).with_name("kubeward")
INSECURE = REPO / "examples" / "insecure"
HARDENED = REPO / "examples" / "hardened"
SECRETS = ("hunter2-prod-2026", "AKIAIOSFODNN7EXAMPLE", "c3VwZXItc2VjcmV0LXRva2Vu", "super-secret-token")


def kubeward(*args: str, stdin: str | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(KUBEWARD), *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=120, check=False)
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    assert "internal error" not in proc.stderr, proc.stderr
    return proc


def test_entry_point_is_the_one_under_test():
    assert KUBEWARD.is_file(), f"console script missing next to {sys.executable}"


# --- exit codes ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["scan", "examples/insecure"], 1),
        (["scan", "examples/insecure", "--fail-on", "critical"], 1),  # a privileged container
        (["scan", "examples/hardened"], 0),
        (["scan", "examples/hardened", "--fail-on", "info"], 0),
        (["scan", "examples/insecure", "--rule", "image.*", "--fail-on", "high"], 0),  # medium only
        (["scan", "examples/insecure", "--rule", "image.*", "--fail-on", "medium"], 1),
        (["scan", "does/not/exist"], 2),
        (["scan", "examples/hardened", "does/not/exist"], 0),  # something was read
        (["scan"], 2),
        (["scan", "--bogus", "examples"], 2),
        (["scan", "-o", "yaml", "examples"], 2),
        (["scan", "--fail-on", "severe", "examples"], 2),
        (["scan", "--pss-version", "v9", "examples"], 2),
        (["nope"], 2),
    ],
)
def test_exit_codes(args, code):
    proc = kubeward(*args)
    assert proc.returncode == code, proc.stderr


def test_exit_code_2_when_nothing_could_be_parsed(tmp_path):
    (tmp_path / "broken.yaml").write_text("apiVersion: v1\nkind: Pod\nmetadata: {name: [\n")
    proc = kubeward("scan", str(tmp_path), "-o", "json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["summary"]["resources"] == 0
    assert f"error: {tmp_path / 'broken.yaml'}:3: YAML error:" in proc.stderr
    piped = kubeward("scan", "-", stdin="a: [")
    assert piped.returncode == 2 and "error: <stdin>:1: YAML error:" in piped.stderr


def test_usage_errors_are_short_and_on_stderr():
    proc = kubeward("scan", "--bogus", "examples")
    assert proc.stdout == ""
    assert "No such option: --bogus" in proc.stderr or "No such option '--bogus'" in proc.stderr
    missing = kubeward("scan", "does/not/exist", "-o", "json")
    assert missing.stderr.splitlines()[0] == "error: does/not/exist: no such file or directory"


# --- help, version, rules -----------------------------------------------------------------

def test_python_dash_m_help():
    proc = subprocess.run([sys.executable, "-m", "kubeward", "--help"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.startswith("Usage: kubeward [OPTIONS] COMMAND [ARGS]...")
    for command in ("scan", "rules", "pss", "version"):
        assert re.search(rf"^\s+{command}\s", proc.stdout, re.MULTILINE), command
    scan_help = kubeward("scan", "--help")
    assert scan_help.returncode == 0 and "--fail-on" in scan_help.stdout and "Exit codes" in scan_help.stdout


def test_version():
    proc = kubeward("version")
    assert proc.returncode == 0
    assert proc.stdout == f"kubeward {__version__} (rule catalog {CATALOG_VERSION})\n"
    assert kubeward("--version").stdout.strip() == f"kubeward, version {__version__}"


def test_rules_json_lists_every_rule_completely():
    proc = kubeward("rules", "-o", "json")
    assert proc.returncode == 0 and proc.stderr == ""
    rules = json.loads(proc.stdout)
    assert len(rules) > 20
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    for rule in rules:
        assert re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", rule["id"]), rule["id"]
        assert rule["severity"] in {"info", "low", "medium", "high", "critical"}, rule["id"]
        assert isinstance(rule["checklist"], int) and 1 <= rule["checklist"] <= 13, rule["id"]
        assert rule["remediation"].strip() and rule["title"].strip(), rule["id"]
        assert rule["helpUri"].endswith(rule["id"])
    table = kubeward("rules")
    assert all(i in table.stdout for i in ids)
    markdown = kubeward("rules", "-o", "markdown")
    assert markdown.stdout.startswith("# Rule catalog") and all(f"`{i}`" in markdown.stdout for i in ids)


# --- stdout is for the report, stderr for people ------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "sarif", "junit"])
def test_machine_output_is_clean_and_messages_go_to_stderr(fmt, tmp_path):
    (tmp_path / "broken.yaml").write_text("kind: [\n")
    proc = kubeward("scan", "-o", fmt, "examples/insecure", str(tmp_path))
    assert proc.returncode == 1
    if fmt == "junit":
        ET.fromstring(proc.stdout)
    else:
        json.loads(proc.stdout)
    stderr = proc.stderr.splitlines()
    assert stderr[0].startswith(f"error: {tmp_path / 'broken.yaml'}:1: YAML error:")
    assert re.fullmatch(r"\d+ findings \(.*\) in 3 resources from 2 inputs; 1 input errors", stderr[-1])
    assert len(stderr) == 2


def test_output_file_is_written_atomically_and_equals_stdout(tmp_path):
    for fmt in ("json", "sarif", "junit", "table"):
        target = tmp_path / f"report.{fmt}"
        target.write_text("old content that must be replaced entirely\n" * 1000)
        to_file = kubeward("scan", "-o", fmt, "--output-file", str(target), "examples/insecure")
        to_stdout = kubeward("scan", "-o", fmt, "examples/insecure")
        assert to_file.returncode == to_stdout.returncode == 1
        assert to_file.stdout == ""
        assert target.read_text() == to_stdout.stdout
        assert to_file.stderr == to_stdout.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "report.json", "report.junit", "report.sarif", "report.table"]  # no temporary left
    dev_null = kubeward("scan", "-o", "json", "--output-file", "/dev/null", "examples/insecure")
    assert dev_null.returncode == 1 and dev_null.stdout == ""


def test_unwritable_output_file_is_one_clear_error(tmp_path):
    for target in (tmp_path / "no" / "r.json", tmp_path):
        proc = kubeward("scan", "-o", "json", "--output-file", str(target), "examples/insecure")
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.splitlines()[-1].startswith(f"Error: cannot write {target}: ")
    assert list(tmp_path.iterdir()) == []


def test_stdin():
    text = (INSECURE / "web.yaml").read_text()
    proc = kubeward("scan", "-o", "json", "-", stdin=text)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["summary"]["resources"] == 3 and doc["summary"]["inputs"] == 1
    assert {f["location"]["file"] for f in doc["findings"]} == {"<stdin>"}
    from_file = json.loads(kubeward("scan", "-o", "json", "examples/insecure").stdout)

    def rules_lines(d: dict) -> list[tuple[str, int]]:
        return sorted((f["rule"], f["location"]["line"]) for f in d["findings"])

    assert rules_lines(doc) == rules_lines(from_file)
    both = kubeward("scan", "-o", "json", "-", "examples/hardened", stdin=text)
    assert json.loads(both.stdout)["summary"]["resources"] == 7


def test_broken_pipe_is_not_an_error():
    proc = subprocess.run(f"'{KUBEWARD}' scan -o json examples/insecure | head -c 10", shell=True,
                          cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert proc.stdout == '{\n  "schem'
    assert "Traceback" not in proc.stderr and "Broken pipe" not in proc.stderr


# --- secrets never leak -------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["table", "json", "sarif", "junit"])
def test_secret_values_never_appear_in_any_output(fmt):
    for args in (["examples/insecure"], ["--show-suppressed", "examples/insecure"]):
        if fmt != "table" and args[0] == "--show-suppressed":
            continue
        proc = kubeward("scan", "-o", fmt, *args)
        assert proc.returncode == 1
        everything = proc.stdout + proc.stderr
        assert "secrets.literal-in-env" in everything  # the findings are there ...
        for secret in SECRETS:
            assert secret not in everything, (fmt, secret)  # ... the values are not
        assert "redacted, 17 chars" in everything


def test_empty_directory_is_nothing_read(tmp_path):
    """A mistyped path in CI must not pass the gate."""
    out = subprocess.run([sys.executable, "-m", "kubeward", "scan", str(tmp_path)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "no *.yaml, *.yml or *.json files" in out.stderr


def test_pss_check_of_unreadable_input_is_exit_2(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [\n")
    out = subprocess.run([sys.executable, "-m", "kubeward", "pss", "check", str(bad)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_malformed_snapshot_is_a_clean_error(tmp_path):
    import gzip
    import json as _json

    snap = tmp_path / "s.json.gz"
    snap.write_bytes(gzip.compress(_json.dumps(
        {"kind": "ClusterSnapshot", "items": [], "kinds": [{"kind": "Pod", "count": "abc"}]}
    ).encode()))
    out = subprocess.run([sys.executable, "-m", "kubeward", "audit", "--snapshot", str(snap)],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "corrupt snapshot" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("args", [
    ("scan", "--fail-on", "bogus", "examples"),
    ("no-such-command",),
    ("vulns", "--fail-on", "XX", "sbom.json"),
    ("generate", "no-such-set"),
])
def test_usage_errors_are_one_line_and_exit_2(args):
    proc = kubeward(*args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), proc.stderr

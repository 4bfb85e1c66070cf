"""Bad input never crashes and always says where: the corpus's unparsable files, a scan of
the whole corpus as a user runs it, and fuzzed YAML through the loader and the pipeline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kubeward.config import Config
from kubeward.inventory.sources import load_paths
from kubeward.inventory.yamlio import Document, LoadError, load_documents
from kubeward.report.json_report import render_json
from kubeward.report.junit import render_junit
from kubeward.report.sarif import render_sarif
from kubeward.report.table import render_table
from kubeward.scan import run_scan
from tests.conftest import CORPORA, REPO, corpus

KUBEWARD = Path(sys.executable).with_name("kubeward")
MANIFESTS = CORPORA / "manifests"

# Valid for Kubernetes' own parser (go-yaml, a port of libyaml), so kubeward reads them:
VALID_FOR_KUBERNETES = {
    # `- =` in an enum: PyYAML's safe constructor raises on the implicit `!!value` tag
    # (with either scanner), go-yaml (and kubeward) read the string "=".
    "kube-prometheus/manifests/setup/0alertmanagerConfigCustomResourceDefinition.yaml":
        (yaml.CSafeLoader, yaml.constructor.ConstructorError),
    # a TAB after a plain scalar at the end of a line: PyYAML's pure-Python scanner rejects
    # it, libyaml and go-yaml treat it as trailing white space.
    "gke-samples/ai-ml/vllm-tpu/vllm-llama3-70b.yaml": (yaml.SafeLoader, yaml.scanner.ScannerError),
}


def _parse_error_files() -> list[str]:
    listing = MANIFESTS / "parse_errors.txt"
    if not listing.is_file():
        return []
    return [line.strip().removeprefix("./") for line in listing.read_text().splitlines() if line.strip()]


PARSE_ERROR_FILES = _parse_error_files()


def test_parse_errors_listing_is_complete():
    corpus("manifests")
    assert len(PARSE_ERROR_FILES) == 50
    assert set(VALID_FOR_KUBERNETES) <= set(PARSE_ERROR_FILES)


@pytest.mark.parametrize(
    "rel", [p for p in PARSE_ERROR_FILES if p not in VALID_FOR_KUBERNETES] or ["(corpus absent)"])
def test_unparsable_file_gives_clear_one_line_errors(rel, monkeypatch):
    root = corpus("manifests")
    monkeypatch.chdir(root)
    result = load_paths([rel], render_charts=False, parallel=False)
    assert result.errors, f"{rel}: no error reported"
    lines = len((root / rel).read_text().splitlines())
    for error in result.errors:
        text = str(error)
        assert "\n" not in text
        assert error.path == rel and 1 <= error.line <= lines, text
        assert text.startswith(f"{rel}:{error.line}: YAML error: "), text
        assert len(error.message) < 300


@pytest.mark.parametrize("rel", sorted(VALID_FOR_KUBERNETES))
def test_files_valid_for_kubernetes_are_read(rel):
    path = corpus("manifests") / rel
    text = path.read_text()
    # PyYAML refuses them ...
    loader, error = VALID_FOR_KUBERNETES[rel]
    with pytest.raises(error):
        list(yaml.load_all(text, Loader=loader))
    # ... the API server's parser, and kubeward, do not.
    result = load_paths([str(path)], parallel=False)
    assert result.errors == []
    assert result.resources
    if rel.endswith("CustomResourceDefinition.yaml"):
        [crd] = result.resources
        assert crd.kind == "CustomResourceDefinition"
        assert "=" in json.dumps(crd.obj)
        assert re.search(r"^\s*- =\s*$", text, re.MULTILINE)
    else:
        assert re.search(r"\S\t$", text, re.MULTILINE)
        assert [r.kind for r in result.resources] == ["Deployment", "Service"]


ERROR_LINE = re.compile(r"^error: (?P<path>/[^:]+?)(?::(?P<line>\d+))?: (?P<message>\S.*)$")
SUMMARY = re.compile(r"^\d+ findings( \(.*\))? in \d+ resources from \d+ inputs(; .*)?$")


def test_scanning_the_whole_corpus_reports_and_never_crashes():
    root = corpus("manifests")
    proc = subprocess.run([str(KUBEWARD), "scan", str(root), "-o", "json"], capture_output=True,
                          text=True, timeout=300, check=False, cwd=REPO)
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr
    assert proc.returncode == 1, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["summary"]["resources"] > 1500 and report["summary"]["findings"] > 1000

    named: list[Path] = []
    lines = proc.stderr.splitlines()
    assert lines and SUMMARY.match(lines[-1]), lines[-1:]
    for line in lines[:-1]:
        assert line.startswith(("error: ", "warning: ", "note: ")), line
        if line.startswith("error: "):
            m = ERROR_LINE.match(line)
            assert m, line
            path = Path(m["path"])
            assert path.is_relative_to(root) and path.exists(), line
            if path.is_file():
                assert m["line"] and int(m["line"]) >= 1, line
            named.append(path)
    assert len(named) == report["summary"]["errors"] == len(report["errors"])
    # Every unparsable file is named, except chart templates: a chart is rendered as a whole
    # (its error, if any, names the chart) and its templates are never parsed on their own.
    for rel in PARSE_ERROR_FILES:
        path = root / rel
        chart = next((d for d in path.parents if (d / "Chart.yaml").is_file()), None)
        if chart is not None:
            assert not any(p.is_relative_to(chart) and p != chart for p in named), rel
        elif rel not in VALID_FOR_KUBERNETES:
            assert path in named, rel


# --- fuzzing ------------------------------------------------------------------------------

def _seed_documents() -> list[str]:
    docs = [
        (REPO / "examples" / "insecure" / "web.yaml").read_text(),
        (REPO / "examples" / "hardened" / "api.yaml").read_text(),
        (REPO / "tests" / "fixtures" / "inputs" / "helm-rendered.yaml").read_text(),
    ]
    if MANIFESTS.is_dir():
        files = sorted(MANIFESTS.rglob("*.yaml"))
        for path in files[:: max(1, len(files) // 40)]:
            text = path.read_text(errors="replace")
            if len(text) < 20_000:
                docs.append(text)
    return docs


SEEDS = _seed_documents()
SNIPPETS = [
    "\t", "  ", "\n", "{{ .Values.x }}", "{{- end }}", "&a ", "*a", "<<: *a\n", "&a [*a]", "- ",
    ": ", "---\n", "...\n", "#", "'", '"', "[", "]", "{", "}", "!!binary ", "!!python/object ",
    "!custom ", "9" * 5000, "1" * 400, "0x" + "f" * 50, ".nan", "yes", "~", "\ufeff", "\u2028",
    "\x85", "\x00", "\x1b[31m", "é", "💥", "\r", "? ", "|\n", ">-\n", "%YAML 1.1\n", "=",
    "kind: List\nitems: [1, {kind: Pod}]\n", "kubeward.io/ignore: 'x=y until 2999-99-99'\n",
]


@st.composite
def mutated_yaml(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(SEEDS))
    for _ in range(draw(st.integers(1, 6))):
        if not text:
            text = draw(st.sampled_from(SNIPPETS))
            continue
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["delete", "insert", "duplicate", "snippet", "line"]))
        if op == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif op == "insert":
            text = text[:at] + draw(st.text(min_size=1, max_size=5)) + text[at:]
        elif op == "duplicate":
            end = min(len(text), at + draw(st.integers(1, 400)))
            text = text[:end] + text[at:end] + text[end:]
        elif op == "snippet":
            text = text[:at] + draw(st.sampled_from(SNIPPETS)) + text[at:]
        else:
            start = text.rfind("\n", 0, at) + 1
            text = text[:start] + draw(st.sampled_from(["\t", " ", "- ", "? ", "&x ", "*x "])) + text[start:]
    return text


def check_loaded(text: str) -> None:
    total_lines = text.count("\n") + 1
    for doc in load_documents(text):
        assert isinstance(doc, Document | LoadError)
        if isinstance(doc, LoadError):
            assert "\n" not in doc.message and doc.message
            assert 0 <= doc.line <= total_lines + 1


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=mutated_yaml() | st.text(max_size=300))
def test_load_documents_never_raises(text):
    check_loaded(text)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=mutated_yaml())
def test_the_whole_pipeline_never_raises(text, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "input.yaml"
    path.write_bytes(text.encode("utf-8", errors="surrogatepass"))
    report = run_scan([str(path)], Config(), render=False)
    for error in report.errors:
        assert error.path == str(path) and "\n" not in error.message
    for finding in report.findings:
        assert finding.line >= 0 and finding.file == str(path)
    json.loads(render_json(report))
    json.loads(render_sarif(report))
    render_junit(report)
    import io

    render_table(report, io.StringIO(), color=False)


def test_a_device_that_never_ends_is_refused_not_read_forever():
    """/dev/zero reports size 0: the loader reads one byte past the limit and stops."""
    from kubeward.inventory.sources import load_paths

    result = load_paths(["/dev/zero"], max_bytes=1024)
    assert result.resources == []
    assert [e.message for e in result.errors] == ["input over the 1024-byte limit: refused"]

"""The input side (inventory/sources.py, render.py): files, directories, stdin, List kinds,
`kubectl get -o json`, committed `helm template` output, charts, kustomizations, limits,
and the two-process path."""

from __future__ import annotations

import json
import os
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from kubeward.config import Config
from kubeward.inventory import render, yamlio
from kubeward.inventory.resource import Resource
from kubeward.inventory.sources import (
    PARALLEL_MIN_BYTES,
    LoadResult,
    _split_for_workers,
    _walk,
    load_paths,
)
from kubeward.report.json_report import report_dict
from kubeward.scan import run_scan
from tests.conftest import REPO

INPUTS = REPO / "tests" / "fixtures" / "inputs"
EXAMPLES = REPO / "examples"
CORPUS = REPO.parent / "shared" / "corpora" / "manifests"

POD = textwrap.dedent("""\
    apiVersion: v1
    kind: Pod
    metadata: {{name: {name}}}
    spec:
      containers:
        - name: c
          image: nginx:1.25
    """)


def load(*paths: str | Path, **kw) -> LoadResult:
    kw.setdefault("parallel", False)
    return load_paths([str(p) for p in paths], **kw)


def names(result: LoadResult) -> list[str]:
    return [r.name for r in result.resources]


def line_of(text: str, needle: str, start: int = 0) -> int:
    return text.count("\n", 0, text.index(needle, start)) + 1


# --- files and directories ---------------------------------------------------------------

def test_directories_are_read_recursively_in_sorted_order(tmp_path):
    (tmp_path / "b" / "deeper").mkdir(parents=True)
    (tmp_path / "a.yaml").write_text(POD.format(name="a"))
    (tmp_path / "b" / "c.yml").write_text(POD.format(name="c"))
    (tmp_path / "b" / "deeper" / "d.json").write_text(json.dumps(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "d"}}))
    (tmp_path / "b" / "notes.txt").write_text(POD.format(name="txt"))
    (tmp_path / "b" / "e.yaml.bak").write_text(POD.format(name="bak"))
    for hidden in (".git", ".github", ".cache", "node_modules", "__pycache__", ".venv"):
        (tmp_path / hidden).mkdir()
        (tmp_path / hidden / "x.yaml").write_text(POD.format(name=f"hidden{hidden}"))
    result = load(tmp_path)
    assert names(result) == ["a", "c", "d"]
    assert result.errors == [] and result.inputs == 3
    assert [Path(r.origin.source.path).name for r in result.resources] == ["a.yaml", "c.yml", "d.json"]


def test_a_file_and_a_missing_path(tmp_path):
    (tmp_path / "p.yaml").write_text(POD.format(name="p"))
    result = load(tmp_path / "p.yaml", tmp_path / "missing.yaml")
    assert names(result) == ["p"]
    [error] = result.errors
    assert error.path == str(tmp_path / "missing.yaml") and "no such file" in error.message


def test_stdin_text():
    text = (EXAMPLES / "insecure" / "web.yaml").read_text()
    result = load("-", stdin_text=text)
    assert [r.ref for r in result.resources] == [
        "Deployment/shop/web", "Secret/shop/web-secrets", "ConfigMap/shop/web-config"]
    deploy = result.resources[0]
    assert deploy.origin.source.path == "<stdin>" and deploy.origin.source.kind == "stdin"
    assert deploy.origin.line == line_of(text, "apiVersion: apps/v1")
    assert deploy.origin.line_of(("spec", "template", "spec", "hostNetwork")) == line_of(text, "hostNetwork")


# --- List kinds and kubectl output -------------------------------------------------------

LIST = textwrap.dedent("""\
    apiVersion: v1
    kind: List
    items:
    - apiVersion: v1
      kind: ServiceAccount
      metadata: {name: sa, namespace: ns}
    - apiVersion: apps/v1
      kind: Deployment
      metadata:
        name: web
        namespace: ns
      spec:
        template:
          spec:
            containers:
            - name: web
              image: nginx:latest
    - 42
    """)


def test_list_items_become_resources_with_their_own_lines(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text(LIST)
    result = load(path)
    assert [r.ref for r in result.resources] == ["ServiceAccount/ns/sa", "Deployment/ns/web"]
    sa, deploy = result.resources
    assert sa.origin.line == line_of(LIST, "- apiVersion: v1")
    assert deploy.origin.line == line_of(LIST, "- apiVersion: apps/v1")
    assert deploy.origin.prefix == ("items", 1)
    image = ("spec", "template", "spec", "containers", 0, "image")
    assert deploy.origin.line_of(image) == line_of(LIST, "image: nginx:latest")
    [error] = result.errors  # the item that is not an object
    assert error.line == line_of(LIST, "- 42") and "item 2 is not an object" in error.message


def test_typed_list_items_get_their_kind(tmp_path):
    text = textwrap.dedent("""\
        apiVersion: v1
        kind: PodList
        metadata: {resourceVersion: "1234"}
        items:
          - metadata: {name: one, namespace: default}
            spec: {containers: [{name: c, image: x}]}
          - metadata: {name: two, namespace: default}
            spec:
              hostPID: true
              containers: [{name: c, image: x}]
        """)
    path = tmp_path / "pods.yaml"
    path.write_text(text)
    result = load(path)
    assert [(r.api_version, r.kind, r.name) for r in result.resources] == [
        ("v1", "Pod", "one"), ("v1", "Pod", "two")]
    assert [r.origin.line for r in result.resources] == [5, 7]
    assert result.resources[1].origin.line_of(("spec", "hostPID")) == 9
    report = run_scan([str(path)], Config())
    host = [f for f in report.findings if f.rule.id == "pss.baseline.host-namespaces"]
    assert [(f.resource.name, f.file) for f in host] == [("two", str(path))]


def test_kubectl_get_json_output():
    path = INPUTS / "kubectl-get-deploy.json"
    text = path.read_text()
    result = load(path)
    assert not result.errors
    assert [r.ref for r in result.resources] == ["Deployment/shop/frontend", "Deployment/shop/cart"]
    frontend, cart = result.resources
    assert frontend.origin.line == 4  # the `{` of the first item
    second = text.index('"apiVersion": "apps/v1"', text.index('"name": "frontend"'))
    assert cart.origin.line == line_of(text, '"apiVersion": "apps/v1"', second) - 1
    assert text.splitlines()[cart.origin.line - 1] == "        {"
    image = ("spec", "template", "spec", "containers", 0, "image")
    assert frontend.origin.line_of(image) == line_of(text, '"image": "nginx:latest"')
    assert cart.origin.line_of(image) == line_of(text, '"image": "ghcr.io/acme/cart:2.4.1"')

    report = run_scan([str(path)], Config())
    latest = [f for f in report.findings if f.rule.id == "image.latest-tag"]
    assert [(f.resource.name, f.line) for f in latest] == [
        ("frontend", line_of(text, '"image": "nginx:latest"'))]


def test_kubectl_json_on_stdin_is_detected_as_json():
    text = (INPUTS / "kubectl-get-deploy.json").read_text()
    result = load("-", stdin_text=text)
    assert len(result.resources) == 2 and not result.errors
    assert result.resources[1].origin.line > result.resources[0].origin.line > 1


# --- committed `helm template` output ----------------------------------------------------

def test_helm_source_comments_map_objects_to_templates():
    path = INPUTS / "helm-rendered.yaml"
    text = path.read_text()
    result = load(path)
    assert [(r.kind, r.origin.template) for r in result.resources] == [
        ("ServiceAccount", "shop/templates/serviceaccount.yaml"),
        ("Service", "shop/templates/service.yaml"),
        ("Deployment", "shop/templates/deployment.yaml"),
    ]
    assert [r.origin.line for r in result.resources] == [
        line_of(text, "kind: ServiceAccount") - 1, line_of(text, "kind: Service\n") - 1,
        line_of(text, "kind: Deployment") - 1]


def test_findings_on_committed_helm_output_name_their_template():
    path = INPUTS / "helm-rendered.yaml"
    text = path.read_text()
    report = run_scan([str(path)], Config())
    [privileged] = [f for f in report.findings if f.rule.id == "pss.baseline.privileged"]
    [latest] = [f for f in report.findings if f.rule.id == "image.latest-tag"]
    # The rendered file is what is on disk (the template path is only the chart's name for
    # it): findings point at a line of that file, and name the template alongside.
    assert latest.file == str(path)
    assert latest.line == line_of(text, 'image: "nginx:latest"')
    assert latest.resource.origin.template == "shop/templates/deployment.yaml"
    locations = {f["rule"]: f["location"] for f in report_dict(report)["findings"]}
    assert locations["image.latest-tag"] == {
        "file": str(path), "line": latest.line, "template": "shop/templates/deployment.yaml"}
    assert privileged.resource is latest.resource


# --- what is not Kubernetes YAML, and what cannot be read --------------------------------

def test_non_kubernetes_yaml_is_skipped_quietly(tmp_path):
    (tmp_path / "values.yaml").write_text("replicaCount: 1\nimage:\n  repository: nginx\n  tag: latest\n")
    (tmp_path / "workflows").mkdir()
    (tmp_path / "workflows" / "ci.yml").write_text(textwrap.dedent("""\
        name: CI
        on: [push, pull_request]
        jobs:
          test:
            runs-on: ubuntu-latest
            steps:
              - uses: actions/checkout@v4
              - run: make test
        """))
    (tmp_path / "list-of-strings.yaml").write_text("- a\n- b\n")
    (tmp_path / "empty.yaml").write_text("# nothing here\n---\n")
    (tmp_path / "pod.yaml").write_text(POD.format(name="p"))
    result = load(tmp_path)
    assert names(result) == ["p"]
    assert result.errors == []
    assert result.skipped == 3 and result.inputs == 5


def test_files_over_the_size_limit_are_refused(tmp_path):
    small, big = tmp_path / "small.yaml", tmp_path / "big.yaml"
    small.write_text(POD.format(name="small"))
    big.write_text(POD.format(name="big") + "#" * 500 + "\n")
    limit = small.stat().st_size
    result = load(tmp_path, max_bytes=limit)
    assert names(result) == ["small"]
    [error] = result.errors
    assert error.path == str(big) and error.line == 0
    assert f"over the {limit}-byte limit" in error.message and "refused" in error.message


def test_non_utf8_file_is_reported_with_its_line(tmp_path):
    (tmp_path / "latin1.yaml").write_bytes(
        b"apiVersion: v1\nkind: ConfigMap\ndata:\n  city: M\xfcnchen\n")
    (tmp_path / "bom.yaml").write_bytes(b"\xef\xbb\xbf" + POD.format(name="bom").encode())
    result = load(tmp_path)
    assert names(result) == ["bom"]
    [error] = result.errors
    assert str(error) == f"{tmp_path / 'latin1.yaml'}:4: not UTF-8 text: skipped"


# --- Helm charts and Kustomize directories -----------------------------------------------

def write_chart(root: Path) -> Path:
    chart = root / "mychart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: mychart\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image: nginx\n")
    (chart / "templates" / "deployment.yaml").write_text(textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ include "mychart.fullname" . }}
        spec:
          template:
            spec:
              containers:
                {{- toYaml .Values.containers | nindent 8 }}
        """))
    return chart


def test_chart_without_a_renderer_gives_one_clear_error(tmp_path, monkeypatch):
    if shutil.which("helm"):
        pytest.skip("helm is installed: the chart would be rendered")
    monkeypatch.setitem(sys.modules, "helm_python", None)  # as if the optional SDK were absent
    chart = write_chart(tmp_path)
    (tmp_path / "plain.yaml").write_text(POD.format(name="plain"))
    result = load(tmp_path)
    assert names(result) == ["plain"]  # the chart's templates are not parsed as YAML
    [error] = result.errors
    assert error.path == str(chart) and error.line == 0
    assert "Helm chart" in error.message and "helm template" in error.message
    assert "\n" not in error.message and "YAML error" not in error.message


def test_no_render_reports_the_chart_and_the_kustomization(tmp_path):
    chart = write_chart(tmp_path)
    kustomization = tmp_path / "overlay"
    kustomization.mkdir()
    (kustomization / "kustomization.yaml").write_text("resources: [pod.yaml]\n")
    (kustomization / "pod.yaml").write_text(POD.format(name="k"))
    result = load(tmp_path, render_charts=False)
    assert result.resources == []
    assert [(e.path, e.message) for e in result.errors] == [
        (str(chart), "helm directory not rendered (--no-render)"),
        (str(kustomization), "kustomize directory not rendered (--no-render)"),
    ]


def needs_kustomize() -> None:
    if not (shutil.which("kustomize") or shutil.which("kubectl")):
        pytest.skip("neither kustomize nor kubectl is on PATH")


def write_kustomization(root: Path, resources: list[str]) -> Path:
    base = root / "base"
    base.mkdir()
    # A licence header with a URL, as most real kustomizations have: not a remote resource.
    (base / "kustomization.yaml").write_text(
        "# Licensed under the Apache License, Version 2.0\n"
        "#     http://www.apache.org/licenses/LICENSE-2.0\n"
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "namespace: shop\nlabels:\n  - pairs: {team: payments}\n"
        "resources:\n" + "".join(f"  - {r}\n" for r in resources))
    (base / "deployment.yaml").write_text(textwrap.dedent("""\
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: api
        spec:
          selector: {matchLabels: {app: api}}
          template:
            metadata: {labels: {app: api}}
            spec:
              containers:
                - name: api
                  image: nginx:latest
        """))
    (base / "service.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: api\nspec:\n  ports: [{port: 80}]\n")
    return base


def test_kustomization_is_rendered(tmp_path):
    needs_kustomize()
    base = write_kustomization(tmp_path, ["deployment.yaml", "service.yaml"])
    result = load(tmp_path)
    assert result.errors == []
    assert sorted(r.ref for r in result.resources) == ["Deployment/shop/api", "Service/shop/api"]
    for res in result.resources:
        assert res.origin.source.kind == "kustomize" and res.origin.source.path == str(base)
        assert res.labels.get("team") == "payments"  # kustomize's transformers ran
    report = run_scan([str(tmp_path)], Config())
    [latest] = [f for f in report.findings if f.rule.id == "image.latest-tag"]
    assert latest.file == str(base) and latest.line >= 1


def test_remote_kustomization_is_not_fetched_and_its_files_are_scanned(tmp_path):
    remote = "https://raw.githubusercontent.com/example/app/v1.0.0/deploy/crds.yaml"
    base = write_kustomization(tmp_path, [remote, "deployment.yaml", "service.yaml"])
    result = load(tmp_path)
    assert result.errors == []  # degraded, not failed: a warning
    [warning] = result.warnings
    assert warning.path == str(base)
    assert "remote" in warning.message and "offline" in warning.message
    # the local files, read as they are: no namespace from the kustomization was applied
    assert sorted(r.ref for r in result.resources) == ["Deployment/api", "Service/api"]
    assert {r.origin.source.path for r in result.resources} == {
        str(base / "deployment.yaml"), str(base / "service.yaml")}


# --- the two-process path gives the same result ------------------------------------------

def write_big_tree(root: Path) -> None:
    insecure = (EXAMPLES / "insecure" / "web.yaml").read_text()
    hardened = (EXAMPLES / "hardened" / "api.yaml").read_text()
    for d in ("a", "m", "z"):
        (root / d).mkdir()
    for i in range(24):
        body = (insecure if i % 2 else hardened) + "\n---\n"
        (root / "a" / f"f{i:02}.yaml").write_text(body * (40 + i))
        (root / "z" / f"g{i:02}.yaml").write_text(body * (30 + i))
    (root / "m" / "broken.yaml").write_text(hardened + "\n---\nmetadata: [\n---\n" + insecure)
    (root / "m" / "list.yaml").write_text(LIST)
    (root / "m" / "latin1.yaml").write_bytes(b"a: \xff\n")
    (root / "m" / "values.yaml").write_text("replicaCount: 1\n")
    (root / "a" / "pods.json").write_text((INPUTS / "kubectl-get-deploy.json").read_text())
    write_kustomization(root / "m", ["https://example.com/x.yaml", "deployment.yaml"])


def signature(result: LoadResult) -> tuple[object, ...]:
    def res(i: int, r: Resource) -> tuple[object, ...]:
        o = r.origin
        # field lines (each composes its document again): for a sample, in every file
        lines = (o.line_of(("spec",)), o.line_of(("metadata", "name"))) if i % 5 == 0 else ()
        return (r.obj, o.source.path, o.source.kind, o.line, o.prefix, o.template, lines)

    return ([res(i, r) for i, r in enumerate(result.resources)], [str(e) for e in result.errors],
            [str(w) for w in result.warnings], result.inputs, result.skipped)


def test_parallel_load_equals_sequential(tmp_path):
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one CPU: the second process is never used")
    write_big_tree(tmp_path)
    stdin = (EXAMPLES / "insecure" / "web.yaml").read_text()
    paths = [str(tmp_path / "z"), "-", str(tmp_path)]
    work = [w for p in paths if p != "-" for w in _walk(Path(p))]
    assert sum(p.stat().st_size for k, p in work if k == "file") > PARALLEL_MIN_BYTES
    assert _split_for_workers(work, 1 << 30)  # the worker really is used

    sequential = load_paths(paths, parallel=False, stdin_text=stdin)
    parallel = load_paths(paths, parallel=True, stdin_text=stdin)
    # texts parsed in the worker were dropped: lines are found by reading the file again
    assert any(r.origin.source.text is None for r in parallel.resources)
    assert len(sequential.resources) > 2000
    assert len(sequential.errors) + len(sequential.warnings) >= 4
    assert signature(parallel) == signature(sequential)


def test_overlay_of_a_remote_base_is_not_rendered(tmp_path):
    """kustomize would fetch the base's remote resource when rendering the overlay."""
    base = tmp_path / "base"
    overlay = tmp_path / "overlay"
    base.mkdir()
    overlay.mkdir()
    (base / "kustomization.yaml").write_text(
        "resources:\n- https://github.com/example/app//deploy?ref=v1\n")
    (overlay / "kustomization.yaml").write_text("resources:\n- ../base\nnamePrefix: prod-\n")
    from kubeward.inventory.render import _has_remote_resources

    assert _has_remote_resources(overlay)
    assert _has_remote_resources(base)
    (base / "kustomization.yaml").write_text("resources:\n- deployment.yaml\n")
    assert not _has_remote_resources(overlay)


def test_kustomizations_kustomize_would_refuse_are_not_rendered(tmp_path):
    """Files outside the root, or missing, make kustomize fail: no kubectl run for that."""
    from kubeward.inventory.render import _unrenderable

    (tmp_path / "shared.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")
    app = tmp_path / "app"
    app.mkdir()
    (app / "kustomization.yaml").write_text("resources:\n- ../shared.yaml\n")
    assert "outside the kustomization's root" in (_unrenderable(app) or "")
    (app / "kustomization.yaml").write_text(
        "resources: []\nconfigMapGenerator:\n- name: p\n  envs: [params.env]\n")
    assert _unrenderable(app) == "params.env does not exist"
    (app / "params.env").write_text("A=1\n")
    assert _unrenderable(app) is None
    result = load_paths([str(app.parent)], parallel=False)
    assert not result.errors


# --- resources-only kustomizations are read directly -------------------------------------

def write_plain_kustomizations(root: Path) -> tuple[Path, Path]:
    base = root / "base"
    base.mkdir()
    (base / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        "resources:\n  - pod.yaml\n")
    (base / "pod.yaml").write_text("# the base pod\n" + POD.format(name="b"))
    overlay = root / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("resources:\n  - ../base\n  - extra.yaml\n")
    (overlay / "extra.yaml").write_text(POD.format(name="e"))
    return base, overlay


def test_resources_only_kustomizations_become_their_files(tmp_path):
    base, overlay = write_plain_kustomizations(tmp_path)
    expected = [(base / "pod.yaml").resolve(), (overlay / "extra.yaml").resolve()]
    assert render.plain_resources(overlay) == expected
    result = load(tmp_path)
    assert result.errors == [] and result.warnings == []
    # the base file is read once although the overlay lists it too; lines are the files' own
    assert sorted((r.name, Path(r.origin.source.path).name, r.origin.line) for r in result.resources) == [
        ("b", "pod.yaml", 2), ("e", "extra.yaml", 1)]


@pytest.mark.parametrize("kustomization", [
    "namespace: shop\nresources: [pod.yaml]\n",              # a transformer
    "resources: [pod.yaml]\nlabels: [{pairs: {a: b}}]\n",
    "resources: [pod.yaml]\nconfigMapGenerator: [{name: c, literals: [a=b]}]\n",
    "resources: [pod.yaml, https://example.com/x.yaml]\n",  # remote
    "resources: [pod.yaml, missing.yaml]\n",                 # kustomize would fail
    "resources: [pod.yaml, pod.yaml]\n",                     # duplicate: kustomize would fail
    "resources: pod.yaml\n",                                 # not a list
])
def test_anything_but_plain_resources_goes_to_kustomize(tmp_path, kustomization):
    (tmp_path / "kustomization.yaml").write_text(kustomization)
    (tmp_path / "pod.yaml").write_text(POD.format(name="p"))
    assert render.plain_resources(tmp_path) is None


def test_a_file_outside_the_root_is_not_read_directly(tmp_path):
    (tmp_path / "pod.yaml").write_text(POD.format(name="p"))
    inner = tmp_path / "k"
    inner.mkdir()
    (inner / "kustomization.yaml").write_text("resources: [../pod.yaml]\n")
    assert render.plain_resources(inner) is None


def _objects(text: str) -> list[str]:
    docs = [d.data for d in yamlio.load_documents(text) if isinstance(d, yamlio.Document)]
    return sorted(json.dumps(d, sort_keys=True) for d in docs if d)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside the repository")
def test_direct_reading_equals_kustomize_output_on_the_corpus():
    """The claim behind `plain_resources`: kustomize outputs those files' objects unchanged."""
    needs_kustomize()
    checked = 0
    for kfile in sorted(CORPUS.rglob("kustomization.yaml")):
        files = render.plain_resources(kfile.parent)
        if files is None:
            continue
        rendered = render.render("kustomize", kfile.parent)
        assert isinstance(rendered, render.Rendered), rendered
        direct = [o for f in files for o in _objects(f.read_text())]
        assert sorted(direct) == _objects(rendered.text), kfile.parent
        checked += 1
    assert checked >= 5


# --- the render cache -------------------------------------------------------------------

def write_overlay(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_kustomization(root, ["deployment.yaml", "service.yaml"])
    overlay = root / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("namePrefix: prod-\nresources: [../base]\n")
    return overlay


def test_an_unchanged_kustomization_is_rendered_once(tmp_path, monkeypatch):
    needs_kustomize()
    monkeypatch.setenv("KUBEWARD_CACHE_DIR", str(tmp_path / "cache"))
    overlay = write_overlay(tmp_path / "src")
    runs: list[list[str]] = []
    real_run = render._run

    def counting(cmd, label):
        runs.append(cmd)
        return real_run(cmd, label)

    monkeypatch.setattr(render, "_run", counting)
    first = render.render("kustomize", overlay)
    second = render.render("kustomize", overlay)
    assert isinstance(first, render.Rendered) and isinstance(second, render.Rendered)
    assert second.text == first.text and "prod-api" in first.text
    assert len(runs) == 1
    assert oct((tmp_path / "cache" / "render").stat().st_mode & 0o777) == "0o700"
    # a change anywhere in the closure (here: the base, outside the overlay) renders again
    base_deploy = tmp_path / "src" / "base" / "deployment.yaml"
    base_deploy.write_text(base_deploy.read_text().replace("nginx:latest", "nginx:1.27"))
    third = render.render("kustomize", overlay)
    assert isinstance(third, render.Rendered) and "nginx:1.27" in third.text
    assert len(runs) == 2


def test_renders_with_secrets_are_not_cached_and_the_cache_can_be_off(tmp_path, monkeypatch):
    needs_kustomize()
    monkeypatch.setenv("KUBEWARD_CACHE_DIR", str(tmp_path / "cache"))
    k = tmp_path / "k"
    k.mkdir()
    (k / "kustomization.yaml").write_text(
        "secretGenerator:\n- name: db\n  literals: [password=hunter2]\n")
    assert isinstance(render.render("kustomize", k), render.Rendered)
    assert not list((tmp_path / "cache").rglob("*.yaml"))
    monkeypatch.setenv("KUBEWARD_RENDER_CACHE", "0")
    overlay = write_overlay(tmp_path / "src")
    assert isinstance(render.render("kustomize", overlay), render.Rendered)
    assert not list((tmp_path / "cache").rglob("*.yaml"))

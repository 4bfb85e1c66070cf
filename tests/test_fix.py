"""`kubeward fix`: golden files (comments, order, formatting), idempotence, explicit values
kept, atomic writes, PSS restricted after the fix, the CLI contract, and the corpus
property (every parseable manifest of shared/corpora/manifests: never raises, output parses,
second run changes nothing)."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kubeward.cli.fix import fix_cmd
from kubeward.fix import writer
from kubeward.fix.hardening import plan_workload
from kubeward.fix.yamledit import FixError, fix_text, split_documents
from kubeward.inventory.yamlio import LoadError, load_documents
from kubeward.k8s.pods import pod_template
from kubeward.pss import evaluate
from tests.conftest import corpus

FIXTURES = Path(__file__).parent / "fixtures" / "fix"
CASES = sorted(p for p in FIXTURES.glob("*.yaml") if not p.name.endswith(".fixed.yaml"))


def _docs(text: str) -> list[Any]:
    out = []
    for item in load_documents(text):
        assert not isinstance(item, LoadError), item
        if item.data is not None:
            out.append(item.data)
    return out


def _workloads(doc: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(doc, dict):
        return []
    if str(doc.get("kind", "")).endswith("List"):
        return [w for item in doc.get("items") or [] for w in _workloads(item)]
    return [(doc["kind"], doc)] if pod_template(str(doc.get("kind")), doc) else []


# --- golden files ----------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden(case: Path) -> None:
    """Regenerate after an intended change: see tests/fixtures/fix/README.md."""
    result = fix_text(case.read_text())
    assert result.fixed == case.with_suffix(".fixed.yaml").read_text()


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_idempotent(case: Path) -> None:
    once = fix_text(case.read_text()).fixed
    assert fix_text(once).fixed == once


def test_comments_order_and_untouched_documents_kept() -> None:
    original = (FIXTURES / "multi-doc.yaml").read_text()
    fixed = fix_text(original).fixed
    before, after = split_documents(original), split_documents(fixed)
    assert len(before) == len(after) == 3
    assert after[0] == before[0]  # the Service: byte-identical (odd spacing, trailing blanks)
    assert after[2] == before[2]  # the ConfigMap after the `...` marker
    # every original line is still there, in order (only insertions and one flow mapping)
    kept = [ln for ln in before[1].splitlines() if ln in after[1].splitlines()]
    assert len(kept) == len(before[1].splitlines()) - 1
    assert "        image: ghcr.io/acme/api:2.1 # the app" in after[1]
    assert "# the workload" in after[1].splitlines()[1]
    assert after[1].rstrip().endswith("...")


def test_comment_heading_the_next_section_stays_in_place() -> None:
    fixed = fix_text((FIXTURES / "deployment-comments.yaml").read_text()).fixed
    lines = fixed.splitlines()
    at = lines.index("      # volumes below")
    assert lines[at + 1] == "      volumes:"
    assert lines[0] == "# Top comment"
    assert "  name: web   # the name" in lines
    assert '          image: "nginx:1.27"  # pinned' in lines
    # key order inside the existing mapping: new keys after the old ones
    side = lines.index("        - name: side")
    assert lines[side + 2:side + 8] == [
        "          securityContext:", "            capabilities:",
        "              drop: [NET_RAW, ALL]", "            allowPrivilegeEscalation: false",
        "            readOnlyRootFilesystem: true", "      # volumes below"]


def test_trailing_comments_follow_the_inserted_keys() -> None:
    text = ("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n"
            "  - name: a\n    image: busybox:1.36\n    volumeMounts:\n    - {name: t, mountPath: /tmp}\n"
            "  volumes:\n  - name: t\n    emptyDir: {}\n  # end of spec\n# end of file\n")
    fixed = fix_text(text).fixed
    assert fixed.endswith("  automountServiceAccountToken: false\n  # end of spec\n# end of file\n")
    assert _docs(fixed)[0]["spec"]["volumes"] == [{"name": "t", "emptyDir": {}}]


def test_crlf_file_keeps_crlf() -> None:
    text = ("apiVersion: v1\r\nkind: Pod\r\nmetadata:\r\n  name: p\r\nspec:\r\n"
            "  containers:\r\n  - name: a\r\n    image: x:1\r\n")
    fixed = fix_text(text).fixed
    assert "\r\n" in fixed and "\n" not in fixed.replace("\r\n", "")
    assert "runAsNonRoot: true" in fixed


def test_json_manifest_stays_json() -> None:
    import json

    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "j"},
           "spec": {"containers": [{"name": "a", "image": "x:1"}]}}
    for indent, separators in ((None, (",", ":")), (4, (",", ": "))):
        text = json.dumps(obj, indent=indent, separators=separators) + "\n"
        fixed = fix_text(text).fixed
        data = json.loads(fixed)  # still JSON
        assert list(data) == list(obj)  # key order kept
        assert data["spec"]["securityContext"]["runAsNonRoot"] is True
        assert fixed == json.dumps(data, indent=indent, separators=separators) + "\n"
        assert fix_text(fixed).fixed == fixed


# --- what is added, what is kept -------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_fixed_workloads_pass_restricted_or_say_why(case: Path) -> None:
    result = fix_text(case.read_text())
    notes = {p.shown: p.notes for p in result.plans}
    for doc in _docs(result.fixed):
        for kind, obj in _workloads(doc):
            pt = pod_template(kind, obj)
            assert pt is not None
            violations = evaluate(pt.metadata, pt.spec, "restricted", "latest")
            meta = obj.get("metadata") or {}
            shown = f"{kind}/{meta.get('namespace') + '/' if meta.get('namespace') else ''}{meta['name']}"
            reasons = [n for n in notes[shown] if n.startswith("restricted not met: ")]
            assert len(reasons) == len(violations), (shown, violations, reasons)


def test_clean_fixtures_reach_restricted() -> None:
    for name in ("deployment-comments.yaml", "multi-doc.yaml"):
        fixed = fix_text((FIXTURES / name).read_text()).fixed
        for doc in _docs(fixed):
            for kind, obj in _workloads(doc):
                pt = pod_template(kind, obj)
                assert pt is not None
                assert evaluate(pt.metadata, pt.spec, "restricted", "latest") == [], name


def test_explicit_user_values_are_kept_and_reported() -> None:
    original = (FIXTURES / "explicit-values.yaml").read_text()
    result = fix_text(original)
    (before,), (after,) = _docs(original), _docs(result.fixed)
    spec_b = before["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    spec_a = after["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert spec_a["securityContext"] == spec_b["securityContext"]
    assert spec_a["automountServiceAccountToken"] is True
    sc = spec_a["containers"][0]["securityContext"]
    assert sc["allowPrivilegeEscalation"] is True and sc["readOnlyRootFilesystem"] is False
    assert sc["capabilities"] == {"add": ["SYS_TIME"], "drop": ["ALL"]}  # only drop ALL added
    (plan,) = result.plans
    assert "runAsNonRoot: false kept (set in the manifest)" in plan.notes
    assert "container report: allowPrivilegeEscalation: true kept" in plan.notes
    assert "container report: readOnlyRootFilesystem: false kept" in plan.notes
    assert "# the image needs root (ticket OPS-12)" in result.fixed


def _pod(spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def _keys(plan: Any) -> set[str]:
    return {e.key for e in plan.edits}


def test_plan_pod_and_container_level() -> None:
    plan = plan_workload("Pod", _pod({"containers": [{"name": "a", "image": "ghcr.io/x/a:1"}]}))
    assert plan is not None
    by_path = {(e.path, e.key): e.value for e in plan.edits}
    assert by_path[(("spec", "securityContext"), "runAsNonRoot")] is True
    assert by_path[(("spec", "securityContext", "seccompProfile"), "type")] == "RuntimeDefault"
    assert by_path[(("spec",), "automountServiceAccountToken")] is False
    c = ("spec", "containers", 0, "securityContext")
    assert by_path[(c, "allowPrivilegeEscalation")] is False
    assert by_path[((*c, "capabilities"), "drop")] == ["ALL"]
    assert by_path[(c, "readOnlyRootFilesystem")] is True
    assert plan.notes == []


@pytest.mark.parametrize(("spec", "reason"), [
    ({"serviceAccountName": "operator"}, "runs as ServiceAccount operator"),
    ({"volumes": [{"name": "t",
                   "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}]},
     "projected ServiceAccount token"),
])
def test_automount_left_when_the_pod_may_use_the_api(spec: dict[str, Any], reason: str) -> None:
    plan = plan_workload("Pod", _pod({**spec, "containers": [{"name": "a", "image": "a:1"}]}))
    assert plan is not None
    assert "automountServiceAccountToken" not in _keys(plan)
    assert any(reason in n for n in plan.notes), plan.notes


def test_automount_added_for_default_service_account() -> None:
    spec = {"serviceAccountName": "default", "containers": [{"name": "a", "image": "a:1"}]}
    plan = plan_workload("Pod", _pod(spec))
    assert plan is not None and "automountServiceAccountToken" in _keys(plan)


@pytest.mark.parametrize(("container", "volumes", "read_only"), [
    ({"image": "nginx:1.27"}, [], False),
    ({"image": "docker.io/library/nginx@sha256:" + "a" * 64,
      "volumeMounts": [{"name": "c", "mountPath": "/var/cache/nginx"},
                       {"name": "r", "mountPath": "/var/run"}]},
     ["c", "r"], True),
    ({"image": "nginx:1.27",
      "volumeMounts": [{"name": "c", "mountPath": "/var/cache/nginx", "readOnly": True},
                       {"name": "r", "mountPath": "/var/run"}]}, ["c", "r"], False),
    ({"image": "busybox:1", "command": ["sh", "-c", "echo > /tmp/x"]}, [], False),
    ({"image": "busybox:1", "command": ["sh", "-c", "echo > /tmp/x"],
      "volumeMounts": [{"name": "t", "mountPath": "/tmp"}]}, ["t"], True),
    ({"image": "busybox:1", "env": [{"name": "TMPDIR", "value": "/tmp"}]}, [], False),
    ({"image": "busybox:1", "args": ["--path=/tmpfoo"]}, [], True),
    ({"image": "ghcr.io/acme/app:1"}, [], True),
])
def test_read_only_root_only_without_evident_writes(container: dict[str, Any], volumes: list[str],
                                                    read_only: bool) -> None:
    spec = {"containers": [{"name": "c", **container}],
            "volumes": [{"name": v, "emptyDir": {}} for v in volumes]}
    plan = plan_workload("Pod", _pod(spec))
    assert plan is not None
    assert ("readOnlyRootFilesystem" in _keys(plan)) is read_only, plan.notes
    if not read_only:
        assert any("readOnlyRootFilesystem left:" in n and ("is written" in n or "are written" in n)
                   for n in plan.notes), plan.notes


def test_nothing_the_api_server_would_reject() -> None:
    spec = {"containers": [
        {"name": "priv", "image": "a:1", "securityContext": {"privileged": True}},
        {"name": "admin", "image": "a:1", "securityContext": {"capabilities": {"add": ["CAP_SYS_ADMIN"]}}},
        {"name": "root", "image": "a:1", "securityContext": {"runAsUser": 0}},
    ]}
    plan = plan_workload("Pod", _pod(spec))
    assert plan is not None
    touched = {e.path[2] for e in plan.edits if len(e.path) > 2 and e.path[1] == "containers"}
    assert 0 not in touched  # privileged: no container-level field at all
    assert not any(e.key == "allowPrivilegeEscalation" and e.path[2] == 1 for e in plan.edits)
    assert "runAsNonRoot" not in _keys(plan)  # runAsUser 0 would make the kubelet refuse it
    assert any("runAsUser 0 is set (root)" in n for n in plan.notes)


def test_windows_pod_gets_no_linux_fields() -> None:
    spec = {"os": {"name": "windows"}, "containers": [{"name": "a", "image": "a:1"}]}
    plan = plan_workload("Pod", _pod(spec))
    assert plan is not None
    assert _keys(plan) == {"automountServiceAccountToken"}


def test_drop_list_gets_all_appended() -> None:
    plan = plan_workload("Pod", _pod({"containers": [
        {"name": "a", "image": "a:1", "securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}]}))
    assert plan is not None
    (edit,) = [e for e in plan.edits if e.key == "drop"]
    assert edit.append and edit.value == "ALL"


def test_templates_and_broken_yaml_are_refused() -> None:
    with pytest.raises(FixError, match="template"):
        fix_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Values.name }}\n")
    with pytest.raises(FixError, match="line"):
        fix_text("apiVersion: v1\nkind: Pod\nspec: [\n")
    # Kyverno variables in a quoted string are not Helm templates
    policy = ('apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nspec:\n'
              '  x: "{{ request.object.metadata.name }}"\n')
    assert not fix_text(policy).changed


# --- atomic writes ---------------------------------------------------------------------------

def test_atomic_write_keeps_mode(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("old\n")
    path.chmod(0o640)
    writer.atomic_write(path, "new\n")
    assert path.read_text() == "new\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml"]


def test_atomic_write_follows_symlinks(tmp_path: Path) -> None:
    real = tmp_path / "real.yaml"
    real.write_text("old\n")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    writer.atomic_write(link, "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"


def test_failure_in_the_middle_leaves_the_original(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The write fails after part of the text reached the temporary file (simulated
    ENOSPC on fsync): the original is intact and no temporary file is left."""
    path = tmp_path / "a.yaml"
    path.write_text("original\n")

    def broken_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space left"):
        writer.atomic_write(path, "new content\n" * 1000)
    assert path.read_text() == "original\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.yaml"]


def test_cli_write_failure_is_one_line_and_original_intact(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "dep.yaml"
    shutil.copy(FIXTURES / "deployment-comments.yaml", path)
    original = path.read_text()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(writer.os, "replace", broken_replace)
    r = CliRunner().invoke(fix_cmd, ["--write", str(path)])
    assert "cannot write: Input/output error" in r.output
    assert path.read_text() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dep.yaml"]


# --- CLI ------------------------------------------------------------------------------------

def _copy(tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copy(FIXTURES / name, tmp_path / name)
    return tmp_path


def test_cli_preview_diff_exit_1_and_no_change(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "deployment-comments.yaml")
    before = (folder / "deployment-comments.yaml").read_text()
    r = CliRunner().invoke(fix_cmd, [str(folder)])
    assert r.exit_code == 1, r.output
    assert "+          securityContext:" in r.stdout and r.stdout.startswith("--- a/")
    assert "readOnlyRootFilesystem left: /var/cache/nginx, /var/run are written" in r.stderr
    assert "1 file would change" in r.stderr
    assert (folder / "deployment-comments.yaml").read_text() == before


def test_cli_write_then_nothing_to_change(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "deployment-comments.yaml", "multi-doc.yaml")
    target = folder / "multi-doc.yaml"
    target.chmod(0o600)
    r = CliRunner().invoke(fix_cmd, ["--write", str(folder)])
    assert r.exit_code == 0, r.output
    assert r.stdout == ""  # no diff unless --diff
    assert "fixed " in r.stderr
    assert target.read_text() == (FIXTURES / "multi-doc.fixed.yaml").read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    again = CliRunner().invoke(fix_cmd, [str(folder)])
    assert again.exit_code == 0 and again.stdout == ""


def test_cli_write_with_diff(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "multi-doc.yaml")
    r = CliRunner().invoke(fix_cmd, ["--write", "--diff", str(folder / "multi-doc.yaml")])
    assert r.exit_code == 0
    assert "+      automountServiceAccountToken: false" in r.stdout


def test_cli_skips_templates_and_broken_files_and_continues(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "multi-doc.yaml")
    (folder / "helm.yaml").write_text("kind: Pod\nmetadata:\n  name: {{ include \"x\" . }}\n")
    (folder / "broken.yaml").write_text("kind: Pod\nspec:\n  containers: [\n")
    chart = folder / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("name: c\nversion: 0.1.0\n")
    (chart / "templates" / "pod.yaml").write_text("kind: Pod\n")
    r = CliRunner().invoke(fix_cmd, ["--write", str(folder)])
    assert r.exit_code == 0, r.output
    errors = [ln for ln in r.stderr.splitlines() if "helm.yaml" in ln or "broken.yaml" in ln or "chart" in ln]
    assert len(errors) == 3, r.stderr
    assert any("broken.yaml: line" in ln for ln in errors)
    assert any("template" in ln for ln in errors if "helm.yaml" in ln)
    assert any("Helm chart" in ln for ln in errors if "chart" in ln)
    assert (chart / "templates" / "pod.yaml").read_text() == "kind: Pod\n"
    assert "automountServiceAccountToken: false" in (folder / "multi-doc.yaml").read_text()
    assert "Traceback" not in r.output


def test_cli_usage_errors() -> None:
    r = CliRunner().invoke(fix_cmd, ["/nonexistent/x.yaml"])
    assert r.exit_code == 2 and "no such file or directory" in r.output
    r = CliRunner().invoke(fix_cmd, [])
    assert r.exit_code == 2


def test_cli_only_unreadable_input_exits_2(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("a: [\n")
    r = CliRunner().invoke(fix_cmd, [str(tmp_path / "broken.yaml")])
    assert r.exit_code == 2
    assert r.output.count("\n") == 1


# --- corpus property ----------------------------------------------------------------------------

def _subsequence(short: list[str], long: list[str]) -> bool:
    rest = iter(long)
    return all(any(line == other for other in rest) for line in short)


def test_corpus_fix_never_raises_and_output_parses(tmp_path: Path) -> None:
    """Every parseable manifest of shared/corpora/manifests, copied: fixing never raises
    (refusals are FixError lines), every original line survives unchanged and in order,
    the result parses to as many documents, a second run changes nothing, and every fixed
    workload passes restricted or carries a reason."""
    source = corpus("manifests")
    work = tmp_path / "corpus"
    shutil.copytree(source, work, ignore=shutil.ignore_patterns("*.csv", "*.txt", "*.md"))
    changed = refused = 0
    for path in sorted(work.rglob("*")):
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if any(isinstance(d, LoadError) for d in load_documents(text)):
            continue  # not parseable to begin with
        try:
            result = fix_text(text)
        except FixError:
            refused += 1
            continue
        if not result.changed:
            continue
        changed += 1
        # formatting kept: every original line is still there, unchanged and in order
        assert _subsequence(text.splitlines(), result.fixed.splitlines()), path
        after = _docs(result.fixed)
        assert len(after) == len(_docs(text)), path
        assert fix_text(result.fixed).fixed == result.fixed, f"not idempotent: {path}"
        notes = {p.shown: p.notes for p in result.plans}
        for doc in after:
            for kind, obj in _workloads(doc):
                pt = pod_template(kind, obj)
                assert pt is not None
                violations = evaluate(pt.metadata, pt.spec, "restricted", "latest")
                meta = obj.get("metadata") or {}
                ns = meta.get("namespace")
                prefix = f"{ns}/" if isinstance(ns, str) and ns else ""
                shown = f"{kind}/{prefix}{meta.get('name', '(unnamed)')}"
                if violations and shown in notes:
                    assert any(n.startswith("restricted not met: ") for n in notes[shown]), (path, shown)
    assert changed > 100, changed
    assert refused < 50, refused


def test_corpus_cli_twice(tmp_path: Path) -> None:
    """The command over the whole corpus: exit 0 after --write, a second preview finds
    nothing to change, no internal error anywhere."""
    work = tmp_path / "corpus"
    shutil.copytree(corpus("manifests"), work)
    first = CliRunner().invoke(fix_cmd, ["-q", "--write", str(work)], catch_exceptions=False)
    assert first.exit_code == 0, first.output[-2000:]
    second = CliRunner().invoke(fix_cmd, ["-q", str(work)], catch_exceptions=False)
    assert second.exit_code == 0, second.stdout[-3000:]
    assert second.stdout == ""
    assert os.path.isdir(work)


# --- property: random pods ------------------------------------------------------------------------

def _pod_strategy() -> Any:
    from hypothesis import strategies as st

    tri = st.sampled_from([None, True, False])
    caps = st.one_of(st.none(), st.fixed_dictionaries({}, optional={
        "drop": st.lists(st.sampled_from(["ALL", "all", "NET_RAW"]), max_size=2),
        "add": st.lists(st.sampled_from(["NET_BIND_SERVICE", "SYS_ADMIN", "SYS_TIME"]), max_size=2)}))
    container_sc = st.one_of(st.none(), st.fixed_dictionaries({}, optional={
        "privileged": tri, "allowPrivilegeEscalation": tri, "readOnlyRootFilesystem": tri,
        "runAsNonRoot": tri, "runAsUser": st.sampled_from([0, 1000]), "capabilities": caps,
        "seccompProfile": st.sampled_from([{"type": "RuntimeDefault"}, {"type": "Unconfined"}])}))
    container = st.fixed_dictionaries({
        "name": st.sampled_from(["a", "b", "c"]),
        "image": st.sampled_from(["nginx:1.27", "busybox:1.36", "ghcr.io/acme/app:1"]),
    }, optional={
        "securityContext": container_sc,
        "command": st.sampled_from([["sh", "-c", "touch /tmp/x"], ["app"]]),
        "volumeMounts": st.sampled_from([[{"name": "t", "mountPath": "/tmp"}],
                                         [{"name": "t", "mountPath": "/var/cache/nginx"}]]),
    })
    spec = st.fixed_dictionaries({"containers": st.lists(container, min_size=1, max_size=3)}, optional={
        "initContainers": st.lists(container, min_size=1, max_size=1),
        "securityContext": st.one_of(st.none(), st.fixed_dictionaries({}, optional={
            "runAsNonRoot": tri, "runAsUser": st.sampled_from([0, 1000]),
            "seccompProfile": st.sampled_from([{"type": "RuntimeDefault"}, {"type": "Unconfined"}])})),
        "serviceAccountName": st.sampled_from(["default", "operator"]),
        "automountServiceAccountToken": tri,
        "hostNetwork": st.booleans(),
        "os": st.sampled_from([{"name": "linux"}, {"name": "windows"}]),
        "volumes": st.just([{"name": "t", "emptyDir": {}}]),
    })
    kind = st.sampled_from(["Pod", "Deployment", "CronJob"])
    return st.tuples(kind, spec, st.sampled_from([None, True]), st.sampled_from([2, 4]))


def _wrap(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    meta = {"name": "w", "namespace": "ns"}
    if kind == "Pod":
        return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
    template = {"metadata": {"labels": {"app": "w"}}, "spec": spec}
    if kind == "Deployment":
        return {"apiVersion": "apps/v1", "kind": kind, "metadata": meta,
                "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": template}}
    return {"apiVersion": "batch/v1", "kind": kind, "metadata": meta,
            "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}}}


def test_random_pods_fix_safely() -> None:
    """Any combination of set, unset and contradicting fields, in block or flow style
    with 2 or 4 spaces: fixing never raises, the result parses, keeps every explicit
    value, is idempotent, and passes `restricted` or says why."""
    import yaml
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(_pod_strategy())
    def check(case: Any) -> None:
        kind, spec, flow, indent = case
        obj = _wrap(kind, spec)
        text = "# header\n" + yaml.safe_dump(obj, default_flow_style=flow, indent=indent, sort_keys=False)
        result = fix_text(text)
        (after,) = _docs(result.fixed)
        assert fix_text(result.fixed).fixed == result.fixed

        def kept(before: Any, now: Any) -> None:  # every value of the input is still there
            if before is None:
                return  # null is "unset": the fixer may fill it
            if isinstance(before, dict):
                for k, v in before.items():
                    kept(v, now[k])
            elif isinstance(before, list) and before and isinstance(before[0], dict):
                for b, n in zip(before, now, strict=True):
                    kept(b, n)
            elif isinstance(before, list):
                assert now[:len(before)] == before
            else:
                assert now == before

        kept(obj, after)
        pt = pod_template(kind, after)
        assert pt is not None
        violations = evaluate(pt.metadata, pt.spec, "restricted", "latest")
        notes = [n for p in result.plans for n in p.notes if n.startswith("restricted not met: ")]
        assert len(notes) == len(violations)

    check()


def test_atomic_write_writes_into_a_fifo_instead_of_replacing_it(tmp_path):
    """`generate -o /dev/null` once replaced the device node with a regular file."""
    import os
    import stat
    import threading

    from kubeward.fix.writer import atomic_write

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    atomic_write(fifo, "apiVersion: v1\n", mode=0o600)
    reader.join(timeout=10)
    assert received == [b"apiVersion: v1\n"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


SECRETY = """\
apiVersion: v1
kind: Secret
metadata: {name: s}
stringData:
  token: tok-SECRET-9
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: web
        image: nginx:1
        env:
        - name: DB_PASSWORD
          value: hunter2secret
        - name: MODE
          value: "true"
        securityContext: {}
"""


def test_cli_diff_never_shows_env_values_or_secret_data(tmp_path: Path) -> None:
    """Review 2026-11-24: the diff's context lines printed `value: hunter2secret`."""
    path = tmp_path / "app.yaml"
    path.write_text(SECRETY)
    r = CliRunner().invoke(fix_cmd, [str(path)])
    assert r.exit_code == 1
    assert "value: <redacted, 13 chars>" in r.stdout
    assert "hunter2secret" not in r.output and "tok-SECRET-9" not in r.output
    assert 'value: "true"' in r.stdout  # not credential-like: left readable
    assert "+        securityContext:" in r.stdout
    assert path.read_text() == SECRETY  # preview only
    w = CliRunner().invoke(fix_cmd, ["--write", "--diff", str(path)])
    assert w.exit_code == 0 and "hunter2secret" not in w.output
    assert "value: hunter2secret" in path.read_text()  # the file itself keeps the value


def test_cli_diff_never_shows_secret_flag_values(tmp_path: Path) -> None:
    """Review 2026-11-24: `args: [--db-password=…]` reached the terminal in context lines."""
    path = tmp_path / "app.yaml"
    path.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: c\n"
        "    image: busybox\n    args:\n    - --db-password=Sup3rS3cretPw\n    - --log-level=debug\n")
    r = CliRunner().invoke(fix_cmd, [str(path)])
    assert r.exit_code == 1
    assert "Sup3rS3cretPw" not in r.output
    assert "--db-password=<redacted" in r.stdout and "--log-level=debug" in r.stdout


def test_cli_wrong_list_types_do_not_stop_other_files(tmp_path: Path) -> None:
    """Review 2026-11-24: `env: 5`, `volumeMounts: 5`, `volumes: 5` raised TypeError (exit 3)
    and the files after it were never looked at."""
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  volumes: 5\n"
        "  containers:\n  - {name: c, image: busybox, env: 5, volumeMounts: 5}\n")
    (tmp_path / "b.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: b}\nspec:\n"
        "  containers:\n  - {name: c, image: busybox}\n")
    r = CliRunner().invoke(fix_cmd, [str(tmp_path)])
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert r.exit_code == 1
    assert "+++ b/" + str(tmp_path / "b.yaml").lstrip("/") in r.stdout


def test_cli_directory_without_manifests_exits_2(tmp_path: Path) -> None:
    """Review 2026-11-24: `fix empty-dir/` printed nothing and exited 0 ("nothing to change")."""
    (tmp_path / "README.md").write_text("x")
    r = CliRunner().invoke(fix_cmd, [str(tmp_path)])
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [f"Error: no *.yaml, *.yml or *.json file to fix in {tmp_path}"]

"""The integrations (docs/integrations.md), each exercised with the real tool it plugs into:
pre-commit `try-repo`, the GitHub Actions schema, kubectl plugin discovery, `kubectl kustomize`
and `kubeward scan` on the in-cluster manifests, hadolint on the Dockerfile, bash completion.

External tools that are missing skip the test with the reason, except on CI (CI=true), where
a missing tool is a failure: a green CI must have run these.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from click.testing import CliRunner

from kubeward import __version__
from kubeward.rules.catalog import CATALOG_VERSION
from tests.conftest import REPO

BIN = Path(sys.executable).parent
KUBEWARD = BIN / "kubeward"
FIXTURES = REPO / "tests" / "fixtures" / "integrations"
CRONJOB = REPO / "deploy" / "cronjob"
PLAIN = CRONJOB / "plain" / "kubeward-audit.yaml"
DOCS = REPO / "docs" / "integrations.md"
ON_CI = os.environ.get("CI") == "true"


def need(tool: str, path: str | None = None) -> str:
    """The executable, or skip (fail on CI) when it is not installed."""
    found = path if path and Path(path).is_file() else shutil.which(tool)
    if found is None:
        if ON_CI:
            pytest.fail(f"{tool} is not installed (required on CI)")
        pytest.skip(f"{tool} is not installed")
    return found


def run(args: list[str], *, cwd: Path = REPO, env: dict[str, str] | None = None,
        stdin: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=env, input=stdin, capture_output=True, text=True,
                          timeout=timeout, check=False)


def venv_env(**extra: str) -> dict[str, str]:
    """The environment with this venv's bin first on PATH (as an installed kubeward is)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("_KUBEWARD_COMPLETE")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


def docs_block(marker: str) -> str:
    """The fenced block of docs/integrations.md followed by `<!-- checked: MARKER -->`."""
    text = DOCS.read_text(encoding="utf-8")
    blocks = {m.group(2): m.group(1)
              for m in re.finditer(r"```\w*\n(.*?)```\n(?:<!-- checked: ([\w-]+) -->)?", text, re.S)}
    assert marker in blocks, f"docs/integrations.md has no block checked as {marker}"
    return blocks[marker]


# --- pre-commit ---------------------------------------------------------------------------

def _hook_repo(dest: Path) -> Path:
    """A git repository holding the working tree's hook definition and package (committed)."""
    dest.mkdir()
    for name in (".pre-commit-hooks.yaml", "pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, dest / name)
    shutil.copytree(REPO / "src", dest / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    _git_commit(dest)
    return dest


def _git_commit(path: Path) -> None:
    git = need("git")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"],
                 ["-c", "commit.gpgsign=false", "commit", "-q", "-m", "test"]):
        proc = run([git, *args], cwd=path, env=env)
        assert proc.returncode == 0, proc.stderr


_INSTALL_FAILED = re.compile(r"(No matching distribution|Could not find a version|"
                             r"Failed to establish a new connection|Network is unreachable|"
                             r"Temporary failure in name resolution)", re.I)


@pytest.fixture(scope="module")
def pre_commit_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pre_commit = need("pre-commit", str(BIN / "pre-commit"))
    base = tmp_path_factory.mktemp("pre-commit")
    hooks = _hook_repo(base / "hooks")
    work = base / "work"
    work.mkdir()
    for name in ("bad.yaml", "good.yaml"):
        shutil.copy2(FIXTURES / name, work / name)
    _git_commit(work)
    env = venv_env(PRE_COMMIT_HOME=str(base / "cache"), PRE_COMMIT_COLOR="never")
    env.pop("PYTHONPATH", None)  # the hook runs the kubeward pre-commit installed, nothing else

    def try_repo(*files: str) -> subprocess.CompletedProcess[str]:
        files_args = [a for f in files for a in ("--files", f)]
        proc = run([pre_commit, "try-repo", str(hooks), "kubeward-scan", *files_args],
                   cwd=work, env=env, timeout=300)
        out = proc.stdout + proc.stderr
        if proc.returncode not in (0, 1) or "An unexpected error" in out:
            if not ON_CI and _INSTALL_FAILED.search(out):
                pytest.skip("pre-commit could not install the hook's environment (offline?): "
                            + out.strip().splitlines()[-1])
            pytest.fail(out)
        return proc

    return try_repo


def test_pre_commit_hook_rejects_a_bad_manifest_and_names_the_finding(pre_commit_run: Any) -> None:
    started = time.monotonic()
    proc = pre_commit_run("bad.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert re.search(r"kubeward scan\.+Failed", out), out
    assert "pss.baseline.privileged" in out and "bad.yaml:12" in out, out
    assert "exit code: 1" in out, out
    assert time.monotonic() - started < 240, "hook environment install far too slow"


def test_pre_commit_hook_passes_a_good_manifest(pre_commit_run: Any) -> None:
    proc = pre_commit_run("good.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert re.search(r"kubeward scan\.+Passed", out), out


def test_pre_commit_hook_definition() -> None:
    pre_commit = need("pre-commit", str(BIN / "pre-commit"))
    proc = run([pre_commit, "validate-manifest", str(REPO / ".pre-commit-hooks.yaml")])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    (hook,) = [h for h in hooks if h["id"] == "kubeward-scan"]
    assert hook["language"] == "python" and hook["entry"] == "kubeward scan"
    assert hook["pass_filenames"] is True
    assert hook["args"][:2] == ["--fail-on", "high"]
    files = re.compile(hook["files"])
    exclude = re.compile(hook["exclude"])
    for name in ("deploy/app.yaml", "k8s/x.yml", "list.json"):
        assert files.search(name) and not exclude.search(name), name
    for name in ("chart/templates/deployment.yaml", "chart/Chart.yaml", "chart/values-prod.yaml",
                 "overlay/kustomization.yaml"):
        assert exclude.search(name), name
    assert not files.search("main.py")


def test_documented_pre_commit_config_is_valid(tmp_path: Path) -> None:
    pre_commit = need("pre-commit", str(BIN / "pre-commit"))
    config = tmp_path / ".pre-commit-config.yaml"
    config.write_text(docs_block("pre-commit-config"), encoding="utf-8")
    proc = run([pre_commit, "validate-config", str(config)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    repos = yaml.safe_load(config.read_text(encoding="utf-8"))["repos"]
    assert repos[0]["hooks"][0]["id"] == "kubeward-scan"


# --- GitHub Actions and GitLab CI -----------------------------------------------------------

def _check_jsonschema(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    tool = need("check-jsonschema", str(BIN / "check-jsonschema"))
    return run([tool, "--builtin-schema", schema, str(path)])


def test_action_validates_against_the_github_action_schema() -> None:
    proc = _check_jsonschema("vendor.github-actions", REPO / "action.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_schema_check_rejects_a_broken_action(tmp_path: Path) -> None:
    # The validator really checks: a step without `shell` is invalid in a composite action.
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    del action["runs"]["steps"][1]["shell"]
    broken = tmp_path / "action.yml"
    broken.write_text(yaml.safe_dump(action), encoding="utf-8")
    assert _check_jsonschema("vendor.github-actions", broken).returncode == 1


def test_action_shape() -> None:
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    assert {"path", "fail-on", "format", "version", "upload-sarif"} <= set(action["inputs"])
    assert action["runs"]["using"] == "composite"
    uses = [s.get("uses", "") for s in action["runs"]["steps"]]
    assert any(u.startswith("actions/setup-python@") for u in uses)
    upload = next(s for s in action["runs"]["steps"]
                  if s.get("uses", "").startswith("github/codeql-action/upload-sarif@"))
    assert "inputs.upload-sarif == 'true'" in upload["if"]
    install = next(s for s in action["runs"]["steps"] if s.get("name") == "Install kubeward")
    assert "pip install" in install["run"]


def _scan_step(fixture: str, tmp_path: Path, **inputs: str) -> tuple[int, dict[str, str], Path]:
    """Run the action's Scan step with bash as the runner would (inputs as env)."""
    action = yaml.safe_load((REPO / "action.yml").read_text(encoding="utf-8"))
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "scan")
    defaults = {k: str(v.get("default", "")) for k, v in action["inputs"].items()}
    values = {**defaults, **inputs}
    env_values = {k: re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], v)
                  for k, v in step["env"].items()}
    shutil.copy2(FIXTURES / fixture, tmp_path / fixture)
    output = tmp_path / "github_output"
    output.touch()
    proc = run([need("bash"), "-c", step["run"]], cwd=tmp_path,
               env=venv_env(GITHUB_OUTPUT=str(output), **env_values))
    outputs = dict(line.split("=", 1) for line in output.read_text().splitlines())
    return proc.returncode, outputs, tmp_path / values["sarif-file"]


def test_action_scan_step_writes_sarif_and_reports_the_exit_code(tmp_path: Path) -> None:
    code, outputs, sarif = _scan_step("bad.yaml", tmp_path, path="bad.yaml")
    assert code == 0  # the gate is a later step, after the upload
    assert outputs["exit-code"] == "1"
    report = json.loads(sarif.read_text(encoding="utf-8"))
    assert report["version"] == "2.1.0"
    assert "pss.baseline.privileged" in {r["ruleId"] for r in report["runs"][0]["results"]}


def test_action_scan_step_clean_and_unreadable(tmp_path: Path) -> None:
    code, outputs, sarif = _scan_step("good.yaml", tmp_path, path="good.yaml", **{"fail-on": "low"})
    assert (code, outputs["exit-code"]) == (0, "0") and sarif.is_file()
    code, outputs, _ = _scan_step("good.yaml", tmp_path, path="missing/")
    assert code == 2 and outputs["exit-code"] == "2"


def test_documented_github_workflow_is_valid(tmp_path: Path) -> None:
    workflow = tmp_path / "kubeward.yml"
    workflow.write_text(docs_block("github-workflow"), encoding="utf-8")
    proc = _check_jsonschema("vendor.github-workflows", workflow)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    data = yaml.safe_load(workflow.read_text(encoding="utf-8"))
    assert data["permissions"]["security-events"] == "write"


def test_documented_gitlab_job_is_valid_and_writes_a_sast_report(tmp_path: Path) -> None:
    ci = tmp_path / ".gitlab-ci.yml"
    ci.write_text(docs_block("gitlab-ci"), encoding="utf-8")
    proc = _check_jsonschema("vendor.gitlab-ci", ci)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    job = yaml.safe_load(ci.read_text(encoding="utf-8"))["kubeward_sast"]
    assert job["artifacts"]["reports"] == {"junit": "kubeward-junit.xml", "sast": "gl-sast-report.json"}
    # Run the job's jq conversion on a real JSON report.
    jq = shutil.which("jq")
    if jq is None:
        pytest.skip("jq is not installed")
    script = next(s for s in job["script"] if "gl-sast-report.json" in s)
    program = re.search(r"jq --arg now \"\$\(date[^)]*\)\" '(.*)' kubeward\.json", script, re.S)
    assert program, script
    report = run([str(KUBEWARD), "scan", "-o", "json", str(FIXTURES / "bad.yaml")])
    assert report.returncode == 1, report.stderr
    proc = run([jq, "--arg", "now", "2026-01-02T03:04:05", program.group(1)], stdin=report.stdout)
    assert proc.returncode == 0, proc.stderr
    sast = json.loads(proc.stdout)
    findings = [f for f in json.loads(report.stdout)["findings"] if f["suppressed"] is None]
    assert sast["version"].startswith("15.")
    assert sast["scan"]["type"] == "sast" and sast["scan"]["analyzer"]["version"] == __version__
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", sast["scan"]["start_time"])
    vulns = sast["vulnerabilities"]
    assert len(vulns) == len(findings) > 0
    assert len({v["id"] for v in vulns}) == len(vulns)
    privileged = next(v for v in vulns if v["identifiers"][0]["value"] == "pss.baseline.privileged")
    assert privileged["severity"] == "Critical"
    assert privileged["location"] == {"file": str(FIXTURES / "bad.yaml"), "start_line": 12}
    assert all(v["severity"] in {"Critical", "High", "Medium", "Low", "Info"} for v in vulns)


# --- kubectl plugin -------------------------------------------------------------------------

def test_kubectl_discovers_the_plugin() -> None:
    kubectl = need("kubectl")
    env = venv_env()
    listed = run([kubectl, "plugin", "list"], env=env)
    assert str(BIN / "kubectl-ward") in listed.stdout, listed.stdout + listed.stderr
    proc = run([kubectl, "ward", "version"], env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"kubeward {__version__} (rule catalog {CATALOG_VERSION})"
    proc = run([kubectl, "ward", "scan", "--no-color", str(FIXTURES / "bad.yaml")], env=env)
    assert proc.returncode == 1 and "pss.baseline.privileged" in proc.stdout


# --- in-cluster CronJob ---------------------------------------------------------------------

def _kustomize() -> str:
    kubectl = need("kubectl")
    proc = run([kubectl, "kustomize", str(CRONJOB)])
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _objects(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def _scan_json(*args: str, stdin: str | None = None) -> tuple[int, dict[str, Any]]:
    proc = run([str(KUBEWARD), "scan", "-o", "json", "--no-config", *args], stdin=stdin)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def test_plain_yaml_is_the_rendered_kustomize_base() -> None:
    rendered = _kustomize()
    body = "".join(line for line in PLAIN.read_text(encoding="utf-8").splitlines(keepends=True)
                   if not line.startswith("#"))
    assert body == rendered, "regenerate: kubectl kustomize deploy/cronjob (see plain/ header)"


# The findings the manifests are exempt from, each with its reason in a `kubeward.io/ignore`
# annotation: the image digest is per installation, and the audit must list Secrets.
INHERENT = {("image.digest-pin", "CronJob"), ("rbac.secrets-read", "ClusterRoleBinding")}


def _catalog_ids() -> set[str]:
    from kubeward.rules.catalog import load_catalog

    return {rule.id for rule in load_catalog()}


@pytest.mark.parametrize("source", ["rendered", "plain", "directory"])
def test_cronjob_manifests_pass_kubeward_scan(source: str) -> None:
    if source == "rendered":
        code, report = _scan_json("-", stdin=_kustomize())
    elif source == "plain":
        code, report = _scan_json(str(PLAIN))
    else:
        need("kubectl")
        code, report = _scan_json(str(CRONJOB))  # kubeward renders the kustomization itself
    assert code == 0 and report["summary"]["findings"] == 0, report["findings"]
    assert report["summary"]["resources"] == 8 and not report["errors"]
    assert all(f["suppressed"] for f in report["findings"])
    suppressed = {(f["rule"], f["resource"]["kind"]) for f in report["findings"]}
    assert ("image.digest-pin", "CronJob") in suppressed and suppressed <= INHERENT
    # An annotation may only be unused while its rule is not in the catalog.
    catalog = _catalog_ids()
    unused = [u for u in report["exceptions"]["unused"] if u.split(" ", 1)[0] in catalog]
    assert not unused and not report["exceptions"]["invalid"]


def test_the_ignore_annotations_hide_only_the_inherent_findings() -> None:
    objects = _objects(_kustomize())
    annotated: set[tuple[str, str]] = set()
    for obj in objects:
        for meta in _all_metadata(obj):
            value = meta.get("annotations", {}).pop("kubeward.io/ignore", None)
            if value:
                annotated |= {(rule, obj["kind"]) for rule in re.findall(r"(?:^|,)\s*([\w.*-]+)=", value)}
    assert annotated == INHERENT
    code, report = _scan_json("-", stdin=yaml.safe_dump_all(objects))
    assert code == 1
    found = {(f["rule"], f["resource"]["kind"]) for f in report["findings"]}
    assert found == {a for a in annotated if a[0] in _catalog_ids()}
    assert len(report["findings"]) == len(found)


def _all_metadata(obj: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield obj.setdefault("metadata", {})
    spec = obj.get("spec", {})
    template = spec.get("jobTemplate", {}).get("spec", {}).get("template")
    if template:
        yield template.setdefault("metadata", {})


def test_cronjob_objects_are_hardened_and_minimal() -> None:
    objects = {(o["kind"], o["metadata"]["name"]): o for o in _objects(_kustomize())}
    assert set(objects) == {
        ("Namespace", "kubeward"), ("ServiceAccount", "kubeward-audit"),
        ("ClusterRole", "kubeward-audit"), ("ClusterRoleBinding", "kubeward-audit-cronjob"),
        ("NetworkPolicy", "default-deny"), ("NetworkPolicy", "kubeward-audit-to-apiserver"),
        ("PersistentVolumeClaim", "kubeward-data"), ("CronJob", "kubeward-audit")}
    labels = objects[("Namespace", "kubeward")]["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "restricted"
    assert objects[("ServiceAccount", "kubeward-audit")]["automountServiceAccountToken"] is False

    # The ClusterRole is the one of deploy/audit-clusterrole.yaml (kept in step with the code).
    shipped = next(d for d in yaml.safe_load_all((REPO / "deploy" / "audit-clusterrole.yaml")
                                                 .read_text(encoding="utf-8")) if d["kind"] == "ClusterRole")
    role = objects[("ClusterRole", "kubeward-audit")]
    assert role["rules"] == shipped["rules"]
    assert {v for r in role["rules"] for v in r["verbs"]} == {"get", "list"}
    binding = objects[("ClusterRoleBinding", "kubeward-audit-cronjob")]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                  "name": "kubeward-audit"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kubeward-audit",
                                    "namespace": "kubeward"}]

    cron = objects[("CronJob", "kubeward-audit")]
    job = cron["spec"]["jobTemplate"]["spec"]
    pod = job["template"]["spec"]
    assert pod["automountServiceAccountToken"] is True and pod["serviceAccountName"] == "kubeward-audit"
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    (container,) = pod["containers"]
    ctx = container["securityContext"]
    assert ctx["readOnlyRootFilesystem"] is True and ctx["allowPrivilegeEscalation"] is False
    assert ctx["capabilities"]["drop"] == ["ALL"]
    assert {"requests", "limits"} <= set(container["resources"])
    args = container["args"]
    assert args[0] == "audit" and "--output=prometheus" in args
    saved = next(a for a in args if a.startswith("--save="))
    out = next(a for a in args if a.startswith("--output-file="))
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert Path(saved.split("=", 1)[1]).parent.as_posix() in mounts
    assert Path(out.split("=", 1)[1]).parent.as_posix() in mounts
    assert job["podFailurePolicy"]["rules"][0]["onExitCodes"]["values"] == [1]

    # The command line the CronJob runs is one kubeward accepts.
    from kubeward.cli.audit import audit

    params = audit.make_context("audit", list(args[1:])).params
    assert params["fmt"] == "prometheus" and params["fail_on"] == "critical"
    assert params["save"] == "/var/lib/kubeward/history.db"


# --- Dockerfile -----------------------------------------------------------------------------

def _stages() -> list[list[tuple[str, str]]]:
    """The Dockerfile as stages of (INSTRUCTION, arguments), continuation lines joined."""
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", "\n".join(line for line in text.splitlines()
                                          if not line.lstrip().startswith("#")))
    stages: list[list[tuple[str, str]]] = [[]]
    for line in text.splitlines():
        if not line.strip():
            continue
        instr, _, rest = line.strip().partition(" ")
        if instr.upper() == "FROM":
            stages.append([])
        stages[-1].append((instr.upper(), rest.strip()))
    return stages


def test_dockerfile_is_multi_stage_minimal_and_non_root() -> None:
    preamble, *stages = _stages()
    assert all(instr == "ARG" for instr, _ in preamble)
    args = dict(a.split("=", 1) for _, a in preamble)
    assert len(stages) >= 2
    final = stages[-1]
    base = final[0][1].split()[0]
    base = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], base)
    assert base.startswith("gcr.io/distroless/python3-debian12"), base
    assert stages[0][0][1].startswith("${PYTHON_IMAGE}")
    assert args["PYTHON_IMAGE"].startswith("python:3.11-slim")
    final_text = " ".join(a for _, a in final)
    for forbidden in ("apt-get", "apk ", "gcc", "build-essential", "pip install", "curl", "wget"):
        assert forbidden not in final_text, forbidden
    assert not [i for i, _ in final if i == "RUN"], "no RUN in the final stage (no shell there)"
    copies = [a for i, a in final if i == "COPY"]
    assert copies and all(a.startswith("--from=") for a in copies)
    users = [a for i, a in final if i == "USER"]
    assert users, "the final stage sets USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    (entry,) = [a for i, a in final if i == "ENTRYPOINT"]
    assert json.loads(entry)[:3] == ["/venv/bin/python3", "-m", "kubeward"]  # exec form
    assert not [i for i, _ in final if i == "HEALTHCHECK"]
    ignore = [line for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
              if line and not line.startswith("#")]
    assert ignore[:4] == ["*", "!pyproject.toml", "!README.md", "!src/"]  # only what the build needs


def test_dockerfile_passes_hadolint() -> None:
    hadolint = need("hadolint", str(BIN / "hadolint"))
    proc = run([hadolint, "--failure-threshold", "info", "Dockerfile"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --- shell completion and help --------------------------------------------------------------

@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o nosort -F _kubeward_completion kubeward"),
    ("zsh", "#compdef kubeward"),
    ("fish", "complete --no-files --command kubeward"),
])
def test_completion_scripts(shell: str, marker: str) -> None:
    proc = run([str(KUBEWARD), "completion", shell])
    assert proc.returncode == 0, proc.stderr
    assert marker in proc.stdout and "_KUBEWARD_COMPLETE" in proc.stdout


def test_completion_rejects_unknown_shell() -> None:
    proc = run([str(KUBEWARD), "completion", "tcsh"])
    assert proc.returncode == 2 and "tcsh" in proc.stderr


def test_bash_completion_protocol_offers_scan() -> None:
    bash = need("bash")
    command = "_KUBEWARD_COMPLETE=bash_complete COMP_WORDS='kubeward sc' COMP_CWORD=1 kubeward"
    proc = run([bash, "-c", command], env=venv_env())
    assert proc.returncode == 0, proc.stderr
    assert "plain,scan" in proc.stdout.splitlines()
    assert "plain,snapshot" not in proc.stdout.splitlines()


@pytest.mark.parametrize(("words", "cword", "expected"), [
    ("kubeward sc", 1, {"scan"}),
    ("kubeward scan -o ", 3, {"table", "json", "sarif", "junit", "html", "prometheus"}),
    ("kubeward scan --fail-on h", 3, {"high"}),
    ("kubeward pss ", 2, {"check", "plan"}),
])
def test_sourced_bash_completion_completes(words: str, cword: int, expected: set[str]) -> None:
    """The generated script, sourced in a real bash, fills COMPREPLY as bash would."""
    bash = need("bash")
    parts = words.split(" ")
    array = " ".join(f"'{w}'" for w in parts)
    script = (f'source <(kubeward completion bash)\nCOMP_WORDS=({array})\nCOMP_CWORD={cword}\n'
              '_kubeward_completion kubeward\nprintf "%s\\n" "${COMPREPLY[@]}"\n')
    proc = run([bash, "-c", script], env=venv_env())
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) == expected


def _commands() -> list[tuple[str, click.Command]]:
    from kubeward.cli.main import cli

    found: list[tuple[str, click.Command]] = []

    def walk(cmd: click.Command, path: str) -> None:
        found.append((path, cmd))
        if isinstance(cmd, click.Group):
            for name, sub in sorted(cmd.commands.items()):
                walk(sub, f"{path} {name}")

    walk(cli, "kubeward")
    return found


def test_completion_is_registered() -> None:
    from kubeward.cli.main import cli

    assert "completion" in cli.commands, "register kubeward.cli.completion.completion_cmd in cli/main.py"


@pytest.mark.parametrize("path", [p for p, _ in _commands()])
def test_every_command_help_has_examples(path: str) -> None:
    from kubeward.cli.main import cli

    args = [*path.split()[1:], "--help"]
    result = CliRunner().invoke(cli, args, prog_name="kubeward")
    assert result.exit_code == 0, result.output
    examples = result.output.split("Examples:", 1)
    assert len(examples) == 2, f"`{path} --help` has no Examples: section"
    lines = [line.strip() for line in examples[1].splitlines() if line.strip()]
    assert lines and lines[0].startswith(("kubeward", "eval", "helm", "kubectl")), result.output

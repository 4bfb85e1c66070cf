"""`kubeward pss check` and `kubeward pss plan`, run as real processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import REPO, corpus

KUBEWARD = [sys.executable, "-m", "kubeward"]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*KUBEWARD, *args], capture_output=True, text=True, input=stdin,
                          cwd=REPO, timeout=120, check=False)


def test_check_denies_insecure_and_allows_hardened():
    bad = run("pss", "check", "--level", "baseline", "examples/insecure")
    assert bad.returncode == 1, bad.stderr
    assert "DENIED" in bad.stdout and "Deployment/shop/web" in bad.stdout
    assert "privileged" in bad.stdout and "hostNamespaces" in bad.stdout
    good = run("pss", "check", "--level", "restricted", "examples/hardened")
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Traceback" not in bad.stderr + good.stderr


def test_check_json_lists_every_object():
    out = run("pss", "check", "--level", "restricted", "--version", "v1.25", "-o", "json",
              "examples/insecure", "examples/hardened")
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert doc["level"] == "restricted" and doc["version"] == "v1.25"
    by_name = {o["name"]: o for o in doc["objects"]}
    assert by_name["web"]["allowed"] is False
    assert {"privileged", "hostNamespaces", "runAsNonRoot"} <= {
        v["check"] for v in by_name["web"]["violations"]}
    assert by_name["api"]["allowed"] is True and by_name["api"]["violations"] == []
    assert by_name["web"]["file"].endswith("web.yaml") and by_name["web"]["kind"] == "Deployment"


def test_check_bad_level_or_version_is_a_usage_error():
    assert run("pss", "check", "--level", "strict", "examples").returncode == 2
    bad_version = run("pss", "check", "--version", "1.x", "examples")
    assert bad_version.returncode == 2 and "Traceback" not in bad_version.stderr


def test_check_matches_upstream_fixture_verdicts_for_a_sample():
    root = corpus("psa") / "test" / "testdata" / "baseline" / "v1.30"
    fail = sorted((root / "fail").glob("*.yaml"))[:10]
    passing = sorted((root / "pass").glob("*.yaml"))[:10]
    denied = run("pss", "check", "--level", "baseline", "--version", "v1.30", "-o", "json",
                 *map(str, fail))
    assert denied.returncode == 1
    assert all(not o["allowed"] for o in json.loads(denied.stdout)["objects"])
    allowed = run("pss", "check", "--level", "baseline", "--version", "v1.30", *map(str, passing))
    assert allowed.returncode == 0, allowed.stdout


def test_plan_finds_the_strictest_level_per_namespace(tmp_path: Path):
    manifests = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "strict-ok"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "mixed"}},
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "node-agents"}},
        _deploy("api", "strict-ok", {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
                {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}),
        _deploy("web", "mixed", {}, {}),
        _deploy("agent", "node-agents", {}, {"privileged": True}),
    ]
    path = tmp_path / "all.yaml"
    path.write_text(yaml.safe_dump_all(manifests))
    out = run("pss", "plan", "-o", "json", str(path))
    assert out.returncode == 0, out.stderr
    rows = {r["namespace"]: r for r in json.loads(out.stdout)}
    assert rows["strict-ok"]["strictest"]["level"] == "restricted"
    assert rows["mixed"]["strictest"]["level"] == "baseline"
    assert [b["name"] for b in rows["mixed"]["blocking"]["restricted"]] == ["web"]
    assert rows["node-agents"]["strictest"]["level"] == "privileged"
    assert "baseline" in rows["node-agents"]["blocking"]
    assert rows["mixed"]["command"] == (
        "kubectl label --overwrite namespace mixed "
        "pod-security.kubernetes.io/enforce=baseline pod-security.kubernetes.io/enforce-version=latest"
    )
    as_yaml = run("pss", "plan", "-o", "yaml", str(path))
    namespaces = {d["metadata"]["name"]: d for d in yaml.safe_load_all(as_yaml.stdout)}
    assert namespaces["strict-ok"]["metadata"]["labels"][
        "pod-security.kubernetes.io/enforce"] == "restricted"
    text = run("pss", "plan", str(path))
    assert "blocks restricted" in text.stdout and "Deployment/mixed/web" in text.stdout


def _deploy(name: str, ns: str, pod_sc: dict, c_sc: dict) -> dict:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"template": {"spec": {
            "securityContext": pod_sc,
            "containers": [{"name": "c", "image": "app:1", "securityContext": c_sc}],
        }}},
    }


def test_check_evaluates_the_object_of_an_admission_review():
    out = run("pss", "check", "--level", "baseline", "-o", "json",
              "tests/fixtures/inputs/admission-review.json")
    assert out.returncode == 1, out.stderr
    (obj,) = json.loads(out.stdout)["objects"]
    assert (obj["kind"], obj["namespace"], obj["name"]) == ("Pod", "shop", "debug")
    assert [v["check"] for v in obj["violations"]] == ["hostNamespaces"]


def test_inventory_indexes_pods_by_label(tmp_path: Path):
    from kubeward.inventory.index import Inventory
    from kubeward.inventory.sources import load_paths

    inv = Inventory(load_paths([str(REPO / "examples")]).resources)
    hits = inv.pods_by_label[("shop", "app", "web")]
    assert [r.name for r, _ in hits] == ["web"]
    assert ("shop", "app", "nothing") not in inv.pods_by_label

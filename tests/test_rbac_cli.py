"""`kubeward rbac who-can | access | risks | paths` on manifests and on a snapshot."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from kubeward.cli.rbac import rbac
from tests.test_rbac_model import keep_catalog_as_declared

keep_catalog_as_declared()

CLUSTER = str(Path(__file__).parent / "fixtures" / "rbac" / "cluster.yaml")


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(rbac, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.output


def test_who_can_table_names_binding_and_rule():
    code, out = _run("who-can", "create", "pods/exec", "-n", "shop", CLUSTER)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["SUBJECT", "BINDING", "ROLE", "RULE"]
    assert any(line.startswith("ServiceAccount:shop:web") and "RoleBinding shop/web-deployer"
               in line and "rules[0]" in line for line in lines)
    assert any(line.startswith("User:alice") and "Role shop/debugger" in line for line in lines)
    assert len(lines) == 3


def test_who_can_json_and_cluster_wide():
    code, out = _run("who-can", "list", "pods", "-o", "json", CLUSTER)
    doc = json.loads(out)
    assert code == 0
    assert [(d["subject"]["kind"], d["subject"]["name"], d["binding"]["name"], d["ruleIndex"])
            for d in doc] == [("Group", "devs", "devs-read-pods", 0)]
    assert doc[0]["rule"]["verbs"] == ["get", "list", "watch"]
    _, out = _run("who-can", "delete", "nodes", CLUSTER)
    assert out.strip() == "no subject may do that"


def test_who_can_api_group():
    _, out = _run("who-can", "create", "deployments", "--api-group", "apps", "-n",
                  "kube-system", "-o", "json", CLUSTER)
    assert [d["subject"]["name"] for d in json.loads(out)] == ["ci"]


def test_access_matrix():
    code, out = _run("access", "User:alice", "-n", "shop", "-o", "json", CLUSTER)
    assert code == 0
    doc = json.loads(out)
    allowed = {(r["apiGroup"], r["resource"]): r["allowed"] for r in doc["resources"]}
    assert allowed[("", "pods/exec")] == ["create"]
    assert allowed[("", "pods")] == ["create"]
    assert allowed[("", "secrets")] == []
    code, out = _run("access", "ServiceAccount:shop:web", "-n", "shop", CLUSTER)
    assert "ServiceAccount:shop:web (namespace shop)" in out
    assert any(line.split()[0] == "secrets" and line.split()[1:].count("yes") == 8
               for line in out.splitlines()[2:])


def test_access_bad_subject():
    result = CliRunner().invoke(rbac, ["access", "alice", CLUSTER])
    assert result.exit_code == 2 and "ServiceAccount:NAMESPACE:NAME" in result.output


def test_risks_exit_code_and_json():
    code, out = _run("risks", "-o", "json", CLUSTER)
    assert code == 1
    rules = {(d["rule"], d["object"]["name"]) for d in json.loads(out)}
    assert ("rbac.workload-create-privileged-namespace", "ci-deploys-system") in rules
    assert ("rbac.serviceaccount-token-create", "bob-tokens") in rules
    assert ("rbac.pod-exec", "alice-debug") in rules
    assert all(d["mitre"] for d in json.loads(out))
    clean = Path(__file__).parent / "fixtures" / "rules" / "rbac.wildcard-grant" / "pass.yaml"
    code, out = _run("risks", str(clean))
    assert code == 0 and "no RBAC risks found" in out


def test_paths_all_and_one():
    code, out = _run("paths", "-", CLUSTER)
    assert code == 0
    assert "User:bob  (2 steps)" in out and "ServiceAccount:build:ci  (1 step)" in out
    code, out = _run("paths", "User:bob", CLUSTER, "-o", "json")
    doc = json.loads(out)
    assert [d["subject"] for d in doc] == ["User:bob"]
    assert [s["becomes"] for s in doc[0]["steps"]] == ["ServiceAccount:build:ci", "cluster-admin"]
    assert "RoleBinding build/bob-tokens" in doc[0]["steps"][0]["via"]
    _, out = _run("paths", "User:alice", CLUSTER)
    assert "no escalation path" in out
    _, out = _run("paths", CLUSTER)  # PATHS without a subject
    assert "User:bob" in out


def test_snapshot_input(tmp_path):
    import yaml

    from kubeward.inventory.cluster import ClusterRead
    from kubeward.inventory.snapshot import write_snapshot

    objs = list(yaml.safe_load_all(Path(CLUSTER).read_text()))
    snap = tmp_path / "s.json.gz"
    write_snapshot(ClusterRead("https://example:6443", "test", objs, []), str(snap))
    code, out = _run("who-can", "create", "serviceaccounts/token", "-n", "build",
                     "--snapshot", str(snap))
    assert code == 0 and "User:bob" in out and "RoleBinding build/bob-tokens" in out
    code, _ = _run("who-can", "get", "pods", "--snapshot", str(tmp_path / "missing.json.gz"))
    assert code == 2

"""`kubeward plan`: the roadmap's order, what each step breaks, and YAML that fixes the gap."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from kubeward.config import Config
from kubeward.plan import build_plan
from kubeward.scan import run_scan
from tests.conftest import REPO

APP = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, namespace: orders}
spec:
  template:
    metadata: {labels: {app: api}}
    spec:
      securityContext: {runAsNonRoot: true, seccompProfile: {type: RuntimeDefault}}
      containers:
      - name: api
        image: ghcr.io/acme/api:1.2.3
        securityContext: {allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: legacy, namespace: orders}
spec:
  template:
    metadata: {labels: {app: legacy}}
    spec:
      containers: [{name: app, image: "nginx:latest"}]
"""


def kubeward(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kubeward", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120, check=False)


def test_steps_follow_the_checklist_order():
    steps = build_plan(run_scan([str(REPO / "examples")], Config()))
    assert [s.checklist for s in steps] == [1, 2, 3, 3, 4, 5, 7]
    assert [s.number for s in steps] == list(range(1, 8))
    baseline, restricted = steps[2], steps[3]
    assert baseline.status == "todo"
    assert any("Deployment/shop/web would be rejected" in b and "privileged" in b
               for b in baseline.breaks)
    # The hardened api passes restricted: only web blocks it.
    assert all("Deployment/shop/api" not in b for b in restricted.breaks)
    assert steps[1].status == "todo" and "Secret/shop/web-secrets" in steps[1].objects


def test_generated_network_policies_close_the_gap(tmp_path: Path):
    app = tmp_path / "app.yaml"
    app.write_text(APP)
    before = run_scan([str(app)], Config())
    assert {f.rule.id for f in before.findings} >= {"netpol.default-deny-ingress",
                                                    "netpol.default-deny-egress"}
    out = kubeward("plan", "-o", "yaml", str(app))
    assert out.returncode == 0, out.stderr
    docs = list(yaml.safe_load_all(out.stdout))
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in docs)
    assert ("NetworkPolicy", "default-deny-all") in kinds
    assert ("NetworkPolicy", "allow-dns-egress") in kinds
    assert ("ClusterPolicy", "kubeward-image-gates") in kinds
    (tmp_path / "generated.yaml").write_text(out.stdout)
    after = run_scan([str(app), str(tmp_path / "generated.yaml")], Config())
    assert not [f for f in after.findings if f.rule.id.startswith("netpol.default-deny")]


def test_restricted_step_says_which_workload_blocks_it(tmp_path: Path):
    app = tmp_path / "app.yaml"
    app.write_text(APP)
    out = kubeward("plan", "-o", "json", str(app))
    assert out.returncode == 0, out.stderr
    steps = {s["title"]: s for s in json.loads(out.stdout)}
    restricted = next(s for t, s in steps.items() if "restricted" in t)
    assert [b.split(" would")[0] for b in restricted["breaks"]] == ["Deployment/orders/legacy"]
    gates = next(s for t, s in steps.items() if t.startswith("Image gates"))
    assert "Deployment/orders/legacy would be rejected once enforced" in gates["breaks"]
    text = kubeward("plan", str(app))
    assert "1. [" in text.stdout and "breaks: Deployment/orders/legacy" in text.stdout


def test_plan_of_unreadable_input_is_a_usage_error(tmp_path: Path):
    out = kubeward("plan", str(tmp_path / "missing.yaml"))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr

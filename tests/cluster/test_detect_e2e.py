"""`kubeward detect` on real audit events: the v1.20 API server's audit webhook and its log.

This module starts its OWN cluster, logging with kubeward's generated seed audit policy,
whose audit webhook backend points at a `kubeward detect --listen` subprocess (HTTPS with the
test PKI's webhook serving cert, trusted by the API server through the CA in the webhook
kubeconfig). The tests perform real actions with kubectl and
HTTPS requests, then assert each expected alert exactly once and no alert for benign
actions; the same checks run on the JSON audit log file the same server wrote. Nothing is
mocked.
"""

from __future__ import annotations

import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kubeward.detect.auditpolicy import generate_audit_policy
from tests.cluster.kube import PKI, Cluster, free_port, wait_for

pytestmark = pytest.mark.cluster

NS = "detect-e2e"
EXPECTED = {"privileged-pod", "cluster-admin-binding", "secret-read", "auth-failure-burst", "pod-exec"}

PRIVILEGED_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {"name": "root-shell", "namespace": NS},
    "spec": {
        "containers": [
            {
                "name": "sh",
                "image": "busybox:1.36",
                "command": ["sleep", "3600"],
                "securityContext": {"privileged": True},
            }
        ]
    },
}


class Detect:
    def __init__(self, proc: subprocess.Popen[bytes], alerts: Path, stderr: Path, url: str) -> None:
        self.proc, self.alerts_file, self.stderr, self.url = proc, alerts, stderr, url

    def alerts(self) -> list[dict[str, Any]]:
        if not self.alerts_file.exists():
            return []
        return [json.loads(line) for line in self.alerts_file.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def detect_cluster(
    kube_assets: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Cluster, Detect]]:
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    work = tmp_path_factory.mktemp("detect")
    # the API server logs with kubeward's generated seed policy (a repeated flag: the last wins)
    policy = work / "audit-policy.json"
    policy.write_text(json.dumps(generate_audit_policy({})))
    cluster = Cluster(
        kube_assets, audit_webhook_url=f"{url}/audit", extra_apiserver_args=[f"--audit-policy-file={policy}"]
    )
    proc: subprocess.Popen[bytes] | None = None
    try:
        cluster.start()
        if cluster.kubectl_path is None:
            pytest.skip("no kubectl")
        alerts, stderr = work / "alerts.jsonl", work / "detect.stderr"
        with stderr.open("wb") as err:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "kubeward",
                    "detect",
                    "--listen",
                    f"127.0.0.1:{port}",
                    "--tls-cert",
                    str(cluster.pki.webhook.cert),
                    "--tls-key",
                    str(cluster.pki.webhook.key),
                    "-o",
                    "json",
                    "--output-file",
                    str(alerts),
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        ctx = ssl.create_default_context(cafile=str(cluster.pki.ca.cert))

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"{url}/healthz", context=ctx, timeout=2) as resp:
                    return bool(resp.status == 200)
            except OSError:
                assert proc is not None and proc.poll() is None, stderr.read_text()
                return False

        wait_for(healthy, timeout=30, what="kubeward detect --listen")
        yield cluster, Detect(proc, alerts, stderr, url)
    finally:
        if proc is not None and proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        cluster.stop()


def _bad_token_request(cluster: Cluster) -> int:
    req = urllib.request.Request(
        cluster.url + "/api/v1/namespaces", headers={"Authorization": "Bearer not-a-token"}
    )
    try:
        with urllib.request.urlopen(req, context=cluster.ssl_context(), timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture(scope="module")
def acted(detect_cluster: tuple[Cluster, Detect]) -> tuple[Cluster, Detect, list[int]]:
    """Performs the malicious and benign actions once; returns the auditIDs window marker."""
    cluster, detect = detect_cluster
    k = cluster.kubectl
    # benign first
    k("create", "namespace", NS)
    k("-n", NS, "get", "pods")
    k("-n", NS, "create", "configmap", "settings", "--from-literal=mode=prod")
    k("get", "namespace", NS)
    k("-n", NS, "create", "secret", "generic", "db-password", "--from-literal=password=hunter2")
    k("create", "clusterrolebinding", "readers-view", "--clusterrole=view", "--group=readers")  # rbac-change
    status, _ = cluster.request("GET", "/version", anonymous=True)
    assert status == 200
    # malicious
    k("apply", "-f", "-", input=json.dumps(PRIVILEGED_POD))
    k("create", "clusterrolebinding", "backdoor", "--clusterrole=cluster-admin", "--user=mallory")
    intruder = cluster.user("intruder", ["system:masters"])
    k("-n", NS, "get", "secret", "db-password", "-o", "name", kubeconfig=intruder.kubeconfig)
    # failed authentication: bad bearer tokens and a client cert from a CA the server does not trust
    stranger = PKI(cluster.workdir / "untrusted-pki").client("stranger", ["system:masters"])
    codes = [_bad_token_request(cluster) for _ in range(6)]
    codes += [cluster.request("GET", "/api/v1/namespaces", cert=stranger)[0] for _ in range(6)]
    assert set(codes) == {401}, codes
    exec_run = k("-n", NS, "exec", "root-shell", "--", "id", check=False)
    assert exec_run.returncode != 0  # no kubelet: the exec fails, but it was authorized and audited
    wait_for(
        lambda: {a["rule"] for a in detect.alerts()} >= EXPECTED,
        timeout=60,
        what=f"alerts {sorted(EXPECTED)} from the audit webhook; stderr: {detect.stderr}",
    )
    time.sleep(3)  # let late batches arrive: duplicates would show up now
    return cluster, detect, codes


def _counts(alerts: list[dict[str, Any]]) -> Counter[str]:
    return Counter(a["rule"] for a in alerts if not a.get("repeat"))


def test_webhook_alerts_each_action_exactly_once(acted: tuple[Cluster, Detect, list[int]]) -> None:
    _, detect, _ = acted
    alerts = detect.alerts()
    counts = _counts(alerts)
    for rule in EXPECTED:
        assert counts[rule] == 1, (rule, [a["message"] for a in alerts if a["rule"] == rule])
    by_rule = {a["rule"]: a for a in alerts}
    assert by_rule["privileged-pod"]["name"] == "root-shell"
    assert by_rule["cluster-admin-binding"]["fields"]["subjects"] == "User:mallory"
    assert by_rule["secret-read"]["user"] == "intruder"
    assert by_rule["secret-read"]["name"] == "db-password"
    assert "hunter2" not in json.dumps(alerts)
    assert by_rule["pod-exec"]["name"] == "root-shell"
    assert by_rule["auth-failure-burst"]["count"] >= 10


def test_no_alerts_for_benign_actions(acted: tuple[Cluster, Detect, list[int]]) -> None:
    _, detect, _ = acted
    alerts = detect.alerts()
    # the view binding is an RBAC change by design (medium); everything else must be silent
    allowed = EXPECTED | {"rbac-change"}
    unexpected = [a["message"] for a in alerts if a["rule"] not in allowed]
    assert not unexpected
    rbac = [a for a in alerts if a["rule"] == "rbac-change"]
    assert [a["name"] for a in rbac] == ["readers-view"]
    for alert in alerts:
        assert alert["name"] not in ("settings",)
        assert not (alert["rule"] == "secret-read" and alert["user"] == "kubeward-admin")


def test_audit_log_file_gives_the_same_alerts(
    acted: tuple[Cluster, Detect, list[int]], tmp_path: Path
) -> None:
    cluster, detect, _ = acted
    proc = subprocess.run(
        [sys.executable, "-m", "kubeward", "detect", "-o", "json", str(cluster.audit_log)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    from_file = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert _counts(from_file) == _counts(detect.alerts())

    # the burst fires on its 10th failure, which may differ between the two backends' order
    def ids(alerts: list[dict[str, Any]]) -> set[tuple[str, str]]:
        return {
            (a["rule"], a["auditID"])
            for a in alerts
            if not a.get("repeat") and a["rule"] != "auth-failure-burst"
        }

    assert ids(from_file) == ids(detect.alerts())
    assert "0 malformed" in proc.stderr


def test_metrics_count_alerts(acted: tuple[Cluster, Detect, list[int]]) -> None:
    cluster, detect, _ = acted
    ctx = ssl.create_default_context(cafile=str(cluster.pki.ca.cert))
    with urllib.request.urlopen(f"{detect.url}/metrics", context=ctx, timeout=5) as resp:
        text = resp.read().decode()
    assert 'kubeward_detect_alerts_total{rule="privileged-pod",severity="critical"} 1.0' in text
    assert "kubeward_detect_events_total" in text


def test_generated_policy_logs_secrets_without_bodies(acted: tuple[Cluster, Detect, list[int]]) -> None:
    cluster, _, _ = acted
    events = cluster.audit_events()
    secret_events = [e for e in events if (e.get("objectRef") or {}).get("resource") == "secrets"]
    assert secret_events
    assert all(e["level"] == "Metadata" for e in secret_events)
    assert "hunter2" not in cluster.audit_log.read_text()
    assert not [e for e in events if e.get("stage") == "RequestReceived"]
    # the generated policy is the one in effect: it drops /version (the suite's default logs it)
    assert not [e for e in events if e.get("requestURI", "").startswith("/version")]
    pods = [
        e
        for e in events
        if (e.get("objectRef") or {}).get("name") == "root-shell"
        and e["verb"] == "create"
        and not (e.get("objectRef") or {}).get("subresource")
    ]
    assert pods and pods[0]["level"] == "RequestResponse"

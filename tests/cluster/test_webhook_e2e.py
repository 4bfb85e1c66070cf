"""`kubeward serve` at the door of a real kube-apiserver (v1.20) with real kubectl.

The module starts its OWN control plane (webhooks registered on the shared session cluster
would judge other tests' privileged pods) and `kubeward serve` as a subprocess (the real
CLI) on 127.0.0.1 with a serving certificate from the cluster's test PKI; the API server
trusts it through the caBundle. Validating and Mutating WebhookConfigurations select only
the namespaces labelled `kubeward-e2e=on`. No scheduler or kubelet runs: pods are stored
and stay Pending, which is all admission needs.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.cluster.kube import Cluster, start_cluster, wait_for
from tests.webhook.serving import Serve

pytestmark = pytest.mark.cluster

CONFIG = {
    "failurePolicy": "Fail",
    "requestTimeoutSeconds": 5,
    "exempt": {"namespaces": ["kube-system"]},
    "ruleSets": {"pss": {"mode": "enforce", "level": "restricted"}, "rules": {"mode": "off"}},
    "namespaces": [
        {"names": ["e2e-warn"], "ruleSets": {"pss": "warn"}},
        {"names": ["e2e-audit"], "ruleSets": {"pss": "audit"}},
    ],
}
NAMESPACES = ("e2e-enforce", "e2e-warn", "e2e-audit")


def _webhooks(url: str, ca_pem: bytes) -> str:
    bundle = base64.b64encode(ca_pem).decode()
    docs = []
    for kind, name, path in (
        ("MutatingWebhookConfiguration", "mutate.kubeward.io", "/mutate"),
        ("ValidatingWebhookConfiguration", "validate.kubeward.io", "/validate"),
    ):
        docs.append(
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": kind,
                "metadata": {"name": "kubeward-e2e"},
                "webhooks": [
                    {
                        "name": name,
                        "admissionReviewVersions": ["v1"],
                        "sideEffects": "None",
                        "failurePolicy": "Fail",
                        "timeoutSeconds": 10,
                        "matchPolicy": "Equivalent",
                        "clientConfig": {"url": url + path, "caBundle": bundle},
                        "namespaceSelector": {"matchLabels": {"kubeward-e2e": "on"}},
                        "rules": [
                            {
                                "apiGroups": [""],
                                "apiVersions": ["v1"],
                                "operations": ["CREATE", "UPDATE"],
                                "resources": ["pods"],
                                "scope": "Namespaced",
                            }
                        ],
                    }
                ],
            }
        )
    return yaml.safe_dump_all(docs)


@pytest.fixture(scope="module")
def door(kube_assets: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Serve]]:
    with start_cluster(kube_assets) as cluster:
        if cluster.kubectl_path is None:
            pytest.skip("no kubectl")
        pki = cluster.pki
        workdir = tmp_path_factory.mktemp("webhook-e2e")
        # copies: the rotation test overwrites the served files
        cert, key = workdir / "tls.crt", workdir / "tls.key"
        shutil.copy(pki.webhook.cert, cert)
        shutil.copy(pki.webhook.key, key)
        serve = Serve(workdir, CONFIG, cert=cert, key=key, ca=pki.ca.cert, reload_interval=0.5)
        try:
            for ns in NAMESPACES:
                cluster.kubectl("create", "namespace", ns)
                cluster.kubectl("label", "namespace", ns, "kubeward-e2e=on")
            cluster.kubectl("create", "namespace", "e2e-unwatched")
            cluster.kubectl("apply", "-f", "-", input=_webhooks(serve.url, pki.ca_pem()))
            yield cluster, serve
        finally:
            serve.stop()


def _pod(
    name: str, ns: str, *, security: dict[str, Any] | None = None, pod_security: dict[str, Any] | None = None
) -> str:
    container: dict[str, Any] = {"name": "app", "image": "registry.example/app:1.0"}
    if security is not None:
        container["securityContext"] = security
    spec: dict[str, Any] = {"containers": [container]}
    if pod_security is not None:
        spec["securityContext"] = pod_security
    return json.dumps(
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns}, "spec": spec}
    )


def _create(cluster: Cluster, manifest: str) -> Any:
    return cluster.kubectl("create", "-f", "-", input=manifest, check=False)


def _stored(cluster: Cluster, ns: str, name: str) -> dict[str, Any]:
    status, body = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
    assert status == 200, body
    assert isinstance(body, dict)
    return body


PRIVILEGED = {"privileged": True}
COMPLIANT_POD = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
COMPLIANT_CONTAINER = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}


def test_privileged_pod_is_denied_with_kubewards_message(door: tuple[Cluster, Serve]) -> None:
    cluster, _ = door
    proc = _create(cluster, _pod("priv", "e2e-enforce", security=PRIVILEGED))
    assert proc.returncode != 0
    assert 'admission webhook "validate.kubeward.io" denied the request' in proc.stderr
    assert "kubeward denied Pod e2e-enforce/priv" in proc.stderr
    assert "[pss.baseline.privileged]" in proc.stderr and "Fix: " in proc.stderr
    status, _ = cluster.request("GET", "/api/v1/namespaces/e2e-enforce/pods/priv")
    assert status == 404


def test_compliant_pod_is_admitted_unchanged(door: tuple[Cluster, Serve]) -> None:
    cluster, _ = door
    proc = _create(
        cluster, _pod("good", "e2e-enforce", security=COMPLIANT_CONTAINER, pod_security=COMPLIANT_POD)
    )
    assert proc.returncode == 0, proc.stderr
    assert "Warning" not in proc.stderr
    stored = _stored(cluster, "e2e-enforce", "good")
    assert stored["spec"]["securityContext"] == COMPLIANT_POD
    assert stored["spec"]["containers"][0]["securityContext"] == COMPLIANT_CONTAINER


def test_pod_without_security_context_is_admitted_mutated(door: tuple[Cluster, Serve]) -> None:
    cluster, _ = door
    proc = _create(cluster, _pod("bare", "e2e-enforce"))
    assert proc.returncode == 0, proc.stderr  # mutated first, so restricted admits it
    stored = _stored(cluster, "e2e-enforce", "bare")
    assert stored["spec"]["securityContext"] == COMPLIANT_POD
    assert stored["spec"]["containers"][0]["securityContext"] == COMPLIANT_CONTAINER


def test_warn_mode_returns_warnings(door: tuple[Cluster, Serve]) -> None:
    cluster, _ = door
    proc = _create(cluster, _pod("loud", "e2e-warn", security=PRIVILEGED))
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("Warning: ")]
    assert any("kubeward: [pss.baseline.privileged]" in w for w in warnings), proc.stderr
    assert (
        _stored(cluster, "e2e-warn", "loud")["spec"]["containers"][0]["securityContext"]["privileged"] is True
    )


def test_namespaces_outside_the_selector_are_not_judged(door: tuple[Cluster, Serve]) -> None:
    cluster, _ = door
    proc = _create(cluster, _pod("free", "e2e-unwatched", security=PRIVILEGED))
    assert proc.returncode == 0 and "Warning" not in proc.stderr
    assert (
        _stored(cluster, "e2e-unwatched", "free")["spec"].get("securityContext") == {}
    )  # defaulted, not mutated


def _pod_create_events(cluster: Cluster, ns: str, name: str) -> list[dict[str, Any]]:
    return [
        e
        for e in cluster.audit_events()
        if e.get("stage") == "ResponseComplete"
        and e.get("verb") == "create"
        and (e.get("objectRef") or {}).get("resource") == "pods"
        and (e.get("objectRef") or {}).get("namespace") == ns
        and (
            (e.get("objectRef") or {}).get("name") == name
            or ((e.get("requestObject") or {}).get("metadata") or {}).get("name") == name
        )
    ]


def test_audit_mode_and_decisions_land_in_the_audit_log(door: tuple[Cluster, Serve]) -> None:
    cluster, _ = door
    proc = _create(cluster, _pod("quiet", "e2e-audit", security=PRIVILEGED))
    assert proc.returncode == 0 and "Warning" not in proc.stderr
    events = wait_for(
        lambda: _pod_create_events(cluster, "e2e-audit", "quiet"), what="audit event of e2e-audit/quiet"
    )
    notes = events[-1].get("annotations", {})
    assert notes.get("validate.kubeward.io/decision") == "allow"
    assert "pss.baseline.privileged" in notes.get("validate.kubeward.io/audit-violations", "")
    assert "/spec/securityContext" in notes.get("mutate.kubeward.io/mutated", "")
    # the denial of the enforce test is recorded too
    _create(cluster, _pod("priv2", "e2e-enforce", security=PRIVILEGED))
    events = wait_for(
        lambda: _pod_create_events(cluster, "e2e-enforce", "priv2"), what="audit event of priv2"
    )
    notes = events[-1].get("annotations", {})
    assert notes.get("validate.kubeward.io/decision") == "deny"
    assert "pss.baseline.privileged" in notes.get("validate.kubeward.io/deny-violations", "")
    assert events[-1]["responseStatus"]["code"] == 403


def test_metrics_count_the_decisions(door: tuple[Cluster, Serve]) -> None:
    _, serve = door
    status, text = serve.get("/metrics")
    assert status == 200
    assert 'kubeward_webhook_decisions_total{endpoint="validate",result="denied"}' in text
    assert 'kubeward_webhook_decisions_total{endpoint="mutate",result="mutated"}' in text


def _cache_hits(serve: Serve) -> float:
    status, text = serve.get("/metrics")
    assert status == 200
    for line in text.splitlines():
        if line.startswith('kubeward_webhook_answer_cache_total{result="hit"}'):
            return float(line.split()[-1])
    return 0.0


def test_replicas_with_generated_names_are_judged_once_and_named_each(door: tuple[Cluster, Serve]) -> None:
    """What a ReplicaSet does: POST pods with `generateName` and the same spec. The answers
    for the second and third come from the cache, and each denial names its own pod."""
    cluster, serve = door
    manifest = json.loads(_pod("x", "e2e-enforce", security=PRIVILEGED))
    del manifest["metadata"]["name"]
    manifest["metadata"]["generateName"] = "web-7d4b9c-"
    before = _cache_hits(serve)
    named = []
    for _ in range(3):
        proc = _create(cluster, json.dumps(manifest))
        assert proc.returncode != 0
        assert "kubeward denied Pod e2e-enforce/web-7d4b9c-" in proc.stderr
        assert "pss.baseline.privileged" in proc.stderr
        named.append(proc.stderr.split("e2e-enforce/", 1)[1].split(":", 1)[0])
    assert len(set(named)) == 3, named  # the API server generated each name before validation
    assert _cache_hits(serve) - before == 2


def test_rotated_certificate_is_served_and_the_api_server_still_gets_answers(
    door: tuple[Cluster, Serve],
) -> None:
    cluster, serve = door
    fresh = cluster.pki.issue(
        "webhook-rotated", "kubeward-webhook", server=True, ips=["127.0.0.1"], dns=["localhost"]
    )
    serve.key.write_bytes(fresh.key_pem())
    serve.cert.write_bytes(fresh.cert_pem())

    def serving_new() -> bool:
        import socket
        import ssl

        with (
            socket.create_connection(("127.0.0.1", serve.port)) as raw,
            serve.context().wrap_socket(raw, server_hostname="127.0.0.1") as tls,
        ):
            return tls.getpeercert(binary_form=True) == ssl.PEM_cert_to_DER_cert(fresh.cert_pem().decode())

    wait_for(serving_new, timeout=10, what="the rotated certificate")
    proc = _create(cluster, _pod("after-rotation", "e2e-enforce", security=PRIVILEGED))
    assert proc.returncode != 0 and "kubeward denied Pod e2e-enforce/after-rotation" in proc.stderr


def test_install_manifests_pass_server_side_dry_run(cluster: Cluster, tmp_path: Path) -> None:
    """On the shared session cluster (nothing is registered: dry run only)."""
    import subprocess
    import sys

    ns = "kw-webhook-dryrun"
    proc = subprocess.run(
        [sys.executable, "-m", "kubeward", "webhook", "install", "-n", ns],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    objects = [d for d in yaml.safe_load_all(proc.stdout) if d]
    for obj in objects:
        if obj["kind"] == "PodDisruptionBudget":
            obj["apiVersion"] = "policy/v1beta1"  # v1.20 serves only v1beta1 (same fields); v1 from v1.21
    cluster.kubectl("create", "namespace", ns, check=False)
    out = cluster.kubectl(
        "apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump_all(objects), check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("(server dry run)") == len(objects)

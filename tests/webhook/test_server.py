"""`kubeward serve` as it runs: the real CLI over TLS, real HTTP requests (no test client)."""

from __future__ import annotations

import base64
import json
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.webhook.serving import RESTRICTED_CONTAINER, RESTRICTED_POD, Serve, pod, review, write_certs


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    cfg = {
        "maxBodyBytes": 65536,
        "exempt": {"namespaces": ["kube-system"]},
        "namespaces": [{"names": ["warn-*"], "ruleSets": {"pss": "warn"}}],
    }
    srv = Serve(tmp_path_factory.mktemp("serve"), cfg)
    yield srv
    srv.stop()


def test_validate_denies_with_the_full_message(server: Serve) -> None:
    status, body = server.post("/validate", review(pod(security={"privileged": True}), uid="abc"))
    assert status == 200 and body["apiVersion"] == "admission.k8s.io/v1" and body["kind"] == "AdmissionReview"
    resp = body["response"]
    assert resp["uid"] == "abc" and resp["allowed"] is False
    assert resp["status"]["code"] == 403 and resp["status"]["reason"] == "Forbidden"
    assert "kubeward denied Pod default/p" in resp["status"]["message"]
    assert "[pss.baseline.privileged]" in resp["status"]["message"]
    assert resp["auditAnnotations"]["decision"] == "deny"


def test_validate_allows_compliant_and_warns_in_warn_mode(server: Serve) -> None:
    ok = pod(security=RESTRICTED_CONTAINER, pod_security=RESTRICTED_POD)
    resp = server.post("/validate", review(ok))[1]["response"]
    assert resp["allowed"] is True and "warnings" not in resp and "status" not in resp
    resp = server.post("/validate", review(pod(security={"privileged": True}), namespace="warn-a"))[1][
        "response"
    ]
    assert resp["allowed"] is True and any("pss.baseline.privileged" in w for w in resp["warnings"])
    resp = server.post("/validate", review(pod(security={"privileged": True}), namespace="kube-system"))[1]
    assert resp["response"]["allowed"] is True
    assert resp["response"]["auditAnnotations"]["exempt"] == "namespace kube-system"


def test_mutate_returns_a_json_patch(server: Serve) -> None:
    resp = server.post("/mutate", review(pod()))[1]["response"]
    assert resp["allowed"] is True and resp["patchType"] == "JSONPatch"
    patch = json.loads(base64.b64decode(resp["patch"]))
    assert {op["path"] for op in patch} == {"/spec/securityContext", "/spec/containers/0/securityContext"}
    ok = pod(security=RESTRICTED_CONTAINER, pod_security=RESTRICTED_POD)
    resp = server.post("/mutate", review(ok))[1]["response"]
    assert resp == {"uid": "uid-1", "allowed": True}
    # pod specs are immutable on update: no patch then
    resp = server.post("/mutate", review(pod(), operation="UPDATE", old=pod()))[1]["response"]
    assert "patch" not in resp


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (json.dumps({"apiVersion": "v1", "kind": "Pod"}).encode(), "expected kind AdmissionReview"),
        (
            json.dumps(
                {"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", "request": {"uid": "x"}}
            ).encode(),
            "admissionReviewVersions",
        ),
        (json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}).encode(), "no request"),
        (
            json.dumps(
                {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {}}
            ).encode(),
            "no uid",
        ),
    ],
)
def test_bad_bodies_get_400_with_the_reason(server: Serve, body: bytes, needle: str) -> None:
    for path in ("/validate", "/mutate"):
        status, text = server.post(path, body)
        assert status == 400 and needle in text


def test_oversized_body_gets_413(server: Serve) -> None:
    big = review(pod())
    big["request"]["object"]["metadata"]["annotations"] = {"x": "y" * 70000}
    status, text = server.post("/validate", big)
    assert status == 413 and "maxBodyBytes" in text


def test_probes_and_metrics(server: Serve) -> None:
    assert server.get("/healthz") == (200, "ok\n")
    assert server.get("/readyz") == (200, "ok\n")
    status, text = server.get("/metrics")
    assert status == 200
    assert 'kubeward_webhook_decisions_total{endpoint="validate",result="denied"}' in text
    assert (
        'kubeward_webhook_violations_total{action="deny",rule="pss.baseline.privileged",rule_set="pss"}'
        in text
    )
    assert 'kubeward_webhook_errors_total{reason="bad_request"}' in text
    assert 'kubeward_webhook_request_duration_seconds_bucket{endpoint="validate",le="0.01"}' in text


def _slow_pod() -> dict[str, object]:
    # thousands of containers: a real request that takes well over the 50 ms timeout to judge
    # (with every rule counting, minSeverity info: about 0.2 s in-process, 1.1 MB)
    return pod(security={"privileged": True}, containers=12000)


@pytest.mark.parametrize("policy", ["Fail", "Ignore"])
def test_timeouts_and_errors_follow_the_failure_policy(tmp_path: Path, policy: str) -> None:
    srv = Serve(
        tmp_path,
        {
            "failurePolicy": policy,
            "requestTimeoutSeconds": 0.05,
            "ruleSets": {"rules": {"minSeverity": "info"}},
        },
    )
    try:
        resp = srv.post("/validate", review(_slow_pod()))[1]["response"]
        broken = review(pod())
        broken["request"]["object"] = ["not", "an", "object"]
        resp2 = srv.post("/validate", broken)[1]["response"]
        metrics = srv.get("/metrics")[1]
    finally:
        srv.stop()
    if policy == "Fail":
        assert resp["allowed"] is False and resp["status"]["code"] == 500
        assert (
            "requestTimeoutSeconds" in resp["status"]["message"]
            and "failurePolicy Fail" in resp["status"]["message"]
        )
        assert resp2["allowed"] is False and "not an object" in resp2["status"]["message"]
    else:
        assert resp["allowed"] is True and "failurePolicy Ignore" in resp["warnings"][0]
        assert resp2["allowed"] is True and resp2["auditAnnotations"]["error"]
    assert 'kubeward_webhook_errors_total{reason="timeout"} 1.0' in metrics


def test_sigterm_finishes_the_request_in_flight(tmp_path: Path) -> None:
    srv = Serve(tmp_path)
    body = json.dumps(review(pod(security={"privileged": True}), uid="inflight")).encode()
    raw = socket.create_connection(("127.0.0.1", srv.port))
    conn = srv.context().wrap_socket(raw, server_hostname="127.0.0.1")
    try:
        head = (
            f"POST /validate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        conn.sendall(head + body[:100])  # the request is in flight: headers and part of the body
        time.sleep(0.3)
        srv.terminate()
        time.sleep(0.5)
        assert srv.proc.poll() is None, "the server must wait for the request in flight"
        conn.sendall(body[100:])
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    finally:
        conn.close()
    head, _, payload = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert json.loads(payload)["response"]["uid"] == "inflight"
    assert srv.stop() == 0
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()


def _serial_seen(srv: Serve) -> int:
    from cryptography import x509

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # only the serial is read; the CA file changes mid-test
    with (
        socket.create_connection(("127.0.0.1", srv.port)) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


def test_rotated_certificate_files_are_served_without_restart(tmp_path: Path) -> None:
    from kubeward.webhook.pki import issue_serving

    ca, cert, key, serial = write_certs(tmp_path / "pki")
    srv = Serve(tmp_path, cert=cert, key=key, ca=ca, reload_interval=0.2)
    try:
        assert _serial_seen(srv) == serial
        # an open keep-alive connection keeps working across the rotation
        keep = srv.connection()
        keep.request("GET", "/healthz")
        assert keep.getresponse().read() == b"ok\n"
        fresh = issue_serving(["localhost", "127.0.0.1"])
        key.write_bytes(fresh.key_pem)  # half-rotated: key and cert do not match -> old cert kept
        time.sleep(0.6)
        assert _serial_seen(srv) == serial
        cert.write_bytes(fresh.cert_pem)
        ca.write_bytes(fresh.ca_pem)
        deadline = time.monotonic() + 10
        while _serial_seen(srv) != fresh.serial and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _serial_seen(srv) == fresh.serial
        keep.request("GET", "/healthz")
        assert keep.getresponse().read() == b"ok\n"
        keep.close()
        metrics = srv.get("/metrics")[1]
        assert 'kubeward_webhook_certificate_reloads_total{result="ok"} 1.0' in metrics
        assert 'kubeward_webhook_certificate_reloads_total{result="error"}' in metrics
    finally:
        srv.stop()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kubeward", *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_cli_errors_are_one_line_exit_2(tmp_path: Path) -> None:
    _, cert, key, _ = write_certs(tmp_path)
    proc = _cli("serve", "--tls-cert", str(tmp_path / "nope.crt"), "--tls-key", str(key))
    assert proc.returncode == 2 and "nope.crt" in proc.stderr and "Traceback" not in proc.stderr
    bad = tmp_path / "webhook.yaml"
    bad.write_text("failurePolicy: Sometimes\n")
    proc = _cli("serve", "--config", str(bad), "--tls-cert", str(cert), "--tls-key", str(key))
    assert proc.returncode == 2 and f"{bad}: failurePolicy must be Fail or Ignore" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = _cli("serve", "--tls-cert", str(key), "--tls-key", str(cert))
    assert proc.returncode == 2 and "cannot load the serving certificate" in proc.stderr

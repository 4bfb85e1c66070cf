"""`kubeward detect` end to end on files, stdin, the HTTP(S) receiver and every sink.

The receiver runs as a real subprocess (uvicorn) and is fed real HTTP requests; the webhook
sink posts to a real local HTTP server and the syslog sink to a real UDP socket.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from kubeward.cli.detect import detect_cmd
from kubeward.detect.auditpolicy import generate_audit_policy
from kubeward.detect.sinks import SyslogSink, WebhookSink
from tests.detect.conftest import fixture_event

SECRET = fixture_event("secret-read", "fire-get.json")
PRIV = fixture_event("privileged-pod", "fire-pod.json")


def _log(tmp_path: Path, *events: dict[str, Any], extra: str = "") -> Path:
    path = tmp_path / "audit.log"
    path.write_text("".join(json.dumps(e) + "\n" for e in events) + extra)
    return path


def run(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(detect_cmd, list(args), input=input, catch_exceptions=False)


def test_file_human_and_json(tmp_path: Path) -> None:
    log = _log(tmp_path, SECRET, PRIV, extra="{broken\n")
    human = run(str(log))
    assert human.exit_code == 0
    assert "MEDIUM   secret-read: mallory read secret default/db-password" in human.stdout
    assert "CRITICAL privileged-pod" in human.stdout
    assert "2 events" in human.stderr and "1 malformed" in human.stderr
    assert f"{log}:3: invalid JSON" in human.stderr
    out = run("-o", "json", "--min-severity", "high", str(log))
    alerts = [json.loads(line) for line in out.stdout.splitlines()]
    assert [a["rule"] for a in alerts] == ["privileged-pod"]


def test_stdin_and_output_file(tmp_path: Path) -> None:
    target = tmp_path / "alerts.jsonl"
    result = run("-", "--output-file", str(target), input=json.dumps(SECRET) + "\n")
    assert result.exit_code == 0
    assert json.loads(target.read_text())["rule"] == "secret-read"


def test_list_rules_and_rules_override(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text("rules:\n  - id: secret-read\n    enabled: false\n")
    result = run("--rules", str(mine), "--list-rules")
    assert result.exit_code == 0
    assert "secret-read                  disabled" in result.stdout
    assert "privileged-pod" in result.stdout
    assert run("--rules", str(mine), str(_log(tmp_path, SECRET))).stdout == ""


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--listen", "127.0.0.1:9"], "--listen needs --tls-cert and --tls-key"),
        (["--follow", "-"], "--follow needs file paths"),
        (["missing.log"], "missing.log: no such file"),
        (["--webhook-url", "ftp://x", "-"], "must start with http"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(detect_cmd, args, input="")
    assert result.exit_code == 2
    assert message in result.output


def test_bad_rules_file_exits_2_with_file_and_line(tmp_path: Path) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        "rules:\n  - id: x\n    title: t\n    severity: high\n    condition: 'user =='\n    output: o\n"
    )
    result = CliRunner().invoke(detect_cmd, ["--rules", str(mine), "-"], input="")
    assert result.exit_code == 2
    assert f"{mine}:5: rules.0.condition" in result.output


def test_check_policy(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(json.dumps(generate_audit_policy({})))
    result = run("--check-policy", str(good))
    assert result.exit_code == 0 and "19 of 19 rules" in result.stderr
    weak = tmp_path / "weak.yaml"
    weak.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Metadata\n")
    result = CliRunner().invoke(detect_cmd, ["--check-policy", str(weak)])
    assert result.exit_code == 1
    assert (
        "privileged-pod: create core/pods in default by alice: logged at Metadata, the rule needs Request"
        in result.output
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("apiVersion: audit.k8s.io/v1\nkind: Policy\nrules:\n- level: Loud\n")
    result = CliRunner().invoke(detect_cmd, ["--check-policy", str(broken)])
    assert result.exit_code == 2 and "broken.yaml:1: rules[0].level" in result.output


# --- the receiver (a real uvicorn subprocess) --------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    port = _free_port()
    alerts = tmp_path / "alerts.jsonl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubeward",
            "detect",
            "--listen",
            f"127.0.0.1:{port}",
            "--insecure-http",
            "--max-body",
            "65536",
            "-o",
            "json",
            "--output-file",
            str(alerts),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1):
                break
        except OSError:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "receiver did not start"
            time.sleep(0.1)
    try:
        yield url, alerts, proc
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)


def _post(url: str, body: bytes) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_receiver_takes_eventlists(receiver: tuple[str, Path, subprocess.Popen[bytes]]) -> None:
    url, alerts, proc = receiver
    batch = {"kind": "EventList", "apiVersion": "audit.k8s.io/v1", "items": [SECRET, PRIV, {"kind": "X"}]}
    status, body = _post(url + "/audit", json.dumps(batch).encode())
    assert status == 200 and json.loads(body) == {"accepted": 2}
    assert _post(url + "/audit", b"{nope")[0] == 400
    assert _post(url + "/audit", b"[" + b" " * 70000 + b"]")[0] == 413
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "privileged-pod" not in (
        alerts.read_text() if alerts.exists() else ""
    ):
        time.sleep(0.05)
    rules = [json.loads(line)["rule"] for line in alerts.read_text().splitlines()]
    assert sorted(rules) == ["privileged-pod", "secret-read"]
    with urllib.request.urlopen(url + "/metrics", timeout=5) as resp:
        metrics = resp.read().decode()
    assert 'kubeward_detect_alerts_total{rule="secret-read",severity="medium"} 1.0' in metrics
    assert "kubeward_detect_malformed_total 2.0" in metrics
    os.kill(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert b"2 events, 2 alerts, 2 malformed" in stderr and b"Traceback" not in stderr


# --- sinks --------------------------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    bodies: ClassVar[list[dict[str, Any]]] = []
    fail_first = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if _Hook.fail_first > 0:
            _Hook.fail_first -= 1
            self.send_response(503)
        else:
            _Hook.bodies.append(json.loads(body))
            self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def test_webhook_sink_posts_slack_compatible_json_with_retries() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.bodies, _Hook.fail_first = [], 2
    try:
        sink = WebhookSink(f"http://127.0.0.1:{server.server_port}/hook", backoff=0.01)
        from kubeward.detect.engine import Detector
        from kubeward.detect.rules import load_rules

        for alert in Detector(load_rules()).process(SECRET):
            sink.emit(alert)
        sink.close()
        assert sink.sent == 1 and sink.failed == 0
        body = _Hook.bodies[0]
        assert body["text"].startswith(body["time"]) and "secret-read" in body["text"]
        assert body["rule"] == "secret-read" and body["user"] == "mallory"
    finally:
        server.shutdown()
        server.server_close()


def test_webhook_sink_queue_is_bounded() -> None:
    gate = threading.Event()

    def slow(url: str, body: bytes, timeout: float) -> int:
        gate.wait(5)
        return 200

    sink = WebhookSink("http://unused", max_queue=3, poster=slow)
    for i in range(20):
        sink.emit({"rule": "r", "severity": "low", "time": "t", "message": str(i), "mitre": ""})
    assert sink.dropped >= 16
    gate.set()
    sink.close()


@pytest.mark.parametrize(("fmt", "pattern"), [("rfc5424", b"<132>1 "), ("rfc3164", b"<132>")])
def test_syslog_sink(fmt: str, pattern: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        sink = SyslogSink(f"127.0.0.1:{sock.getsockname()[1]}", fmt=fmt)
        sink.emit({"rule": "secret-read", "severity": "medium", "message": "m"})
        data = sock.recv(65536)
        sink.close()
    assert data.startswith(pattern)  # local0 (16) * 8 + warning (4) = 132
    assert b'"rule":"secret-read"' in data
    if fmt == "rfc3164":
        assert b" kubeward[" in data


def test_follow_cli_across_rotation(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    alerts = tmp_path / "alerts.jsonl"
    log.write_text(json.dumps(SECRET) + "\n")
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kubeward",
            "detect",
            "--follow",
            str(log),
            "--output-file",
            str(alerts),
            "--metrics-port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def rules() -> list[str]:
        text = alerts.read_text() if alerts.exists() else ""
        return [json.loads(line)["rule"] for line in text.splitlines()]

    def wait(count: int) -> list[str]:
        deadline = time.monotonic() + 20
        while len(rules()) < count and time.monotonic() < deadline:
            assert proc.poll() is None
            time.sleep(0.05)
        return rules()

    try:
        assert wait(1) == ["secret-read"]
        os.rename(log, tmp_path / "audit.log.1")  # the API server's rotation: rename, then a new file
        half = json.dumps(PRIV)
        with log.open("w") as fh:
            fh.write(half[:50])
            fh.flush()
            time.sleep(0.5)
            fh.write(half[50:] + "\n")
        assert wait(2) == ["secret-read", "privileged-pod"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            metrics = resp.read().decode()
        assert 'kubeward_detect_events_total{result="alert"} 2.0' in metrics
        assert 'kubeward_detect_alerts_total{rule="privileged-pod",severity="critical"} 1.0' in metrics
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0
    assert b"2 events, 2 alerts, 0 malformed" in stderr


def test_listener_and_followed_file_together(tmp_path: Path) -> None:
    """A followed file that is idle must not block the webhook batches (and vice versa)."""
    log = tmp_path / "audit.log"
    log.write_text("")
    alerts = tmp_path / "alerts.jsonl"
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kubeward", "detect", "--follow", str(log), "--listen", f"127.0.0.1:{port}",
         "--insecure-http", "--output-file", str(alerts)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip

    def rules() -> list[str]:
        text = alerts.read_text() if alerts.exists() else ""
        return sorted(json.loads(line)["rule"] for line in text.splitlines())

    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _ = _post(f"http://127.0.0.1:{port}/", json.dumps({"items": [PRIV]}).encode())
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert status == 200
        with log.open("a") as fh:
            fh.write(json.dumps(SECRET) + "\n")
        deadline = time.monotonic() + 15
        while rules() != ["privileged-pod", "secret-read"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rules() == ["privileged-pod", "secret-read"]
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=15)
    assert proc.returncode == 0


def test_events_with_wrong_field_types_do_not_stop_the_run(tmp_path: Path) -> None:
    """Review 2026-11-24: `verb: [..]`, `stage: []`, `apiVersion: []`, `containers: 1e30`
    raised TypeError (exit 3) and lost every later event."""
    broken = [
        {**PRIV, "verb": ["create"]},
        {**PRIV, "stage": []},
        {**PRIV, "apiVersion": []},
        {**PRIV, "objectRef": {**PRIV["objectRef"], "resource": ["pods"], "namespace": {}}},
        {**PRIV, "requestObject": {**PRIV["requestObject"], "spec": {"containers": 1e30}}},
        {**PRIV, "requestObject": {"spec": {"jobTemplate": 5}},
         "objectRef": {**PRIV["objectRef"], "resource": "cronjobs"}},
    ]
    result = run(str(_log(tmp_path, *broken, PRIV)))
    assert result.exit_code == 0
    assert result.stdout.count("privileged-pod") == 1  # the good event after the broken ones
    assert "1 malformed" in result.stderr  # the apiVersion [] one: not an audit event


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lists: 5\n", "`lists` is a mapping"),
        ("macros: [a]\n", "`macros` is a mapping"),
        ("lists:\n  big: [1000000000000000000000000000000]\n", "out of the 64-bit range"),
    ],
)
def test_rules_file_wrong_section_types_exit_2(tmp_path: Path, text: str, message: str) -> None:
    mine = tmp_path / "mine.yaml"
    mine.write_text(text)
    result = CliRunner().invoke(detect_cmd, ["--rules", str(mine), "-"], input="")
    assert result.exit_code == 2, result.output
    assert message in result.output and str(mine) in result.output


def test_syslog_bad_port_is_a_usage_error() -> None:
    for address in ("localhost:99999", "localhost:abc"):
        result = CliRunner().invoke(detect_cmd, ["--syslog", address, "-"], input="")
        assert result.exit_code == 2
        assert "use HOST:PORT (port 1-65535) or a socket path" in result.output


def test_undeliverable_syslog_is_reported_once_without_traceback(tmp_path: Path) -> None:
    result = run("--syslog", str(tmp_path / "no-such-socket"), str(_log(tmp_path, PRIV)))
    assert result.exit_code == 0
    assert "Traceback" not in result.output and "Logging error" not in result.output
    assert "syslog: 1 alerts not delivered" in result.stderr


def test_undeliverable_webhook_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kubeward.detect import sinks

    def refuse(url: str, body: bytes, timeout: float) -> int:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(sinks, "_post", refuse)
    monkeypatch.setattr(sinks.time, "sleep", lambda seconds: None)  # no retry backoff
    result = run("--webhook-url", "http://127.0.0.1:9/hook", str(_log(tmp_path, PRIV)))
    assert result.exit_code == 0
    assert "webhook: 1 alerts not delivered" in result.stderr


@pytest.mark.parametrize("option", ["--rules", "--check-policy"])
def test_oversized_rules_or_policy_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, option: str
) -> None:
    """Review 2026-11-24: `--rules /dev/zero` (or a log given by mistake) was read whole:
    the process hung growing its memory."""
    from kubeward.detect import rules

    monkeypatch.setattr(rules, "MAX_CONFIG_BYTES", 64)
    big = tmp_path / "big.yaml"
    big.write_text("rules: []\n" + "#" * 100 + "\n")
    result = CliRunner().invoke(detect_cmd, [option, str(big), "-"], input="")
    assert result.exit_code == 2
    assert f"{big}: cannot read: larger than 0 MiB" in result.output


def test_truncated_gzip_does_not_abort_the_other_sources(tmp_path: Path) -> None:
    """Review 2026-11-24: a truncated .gz raised EOFError, which click turns into "Aborted!"
    (exit 1): the files after it were never read."""
    import gzip

    packed = gzip.compress((json.dumps(PRIV) + "\n").encode())
    cut = tmp_path / "audit.log.1.gz"
    cut.write_bytes(packed[: len(packed) // 2])
    log = _log(tmp_path, SECRET)
    result = run(str(cut), str(log))
    assert result.exit_code == 2  # a source could not be read entirely, after the others ran
    assert "Aborted" not in result.output
    assert f"{cut}: damaged or truncated gzip data" in result.stderr
    assert "secret-read" in result.stdout

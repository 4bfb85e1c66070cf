"""Run the real `kubeward serve` (the CLI, as a subprocess) for tests, the e2e suite and the bench."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def write_certs(
    folder: Path, names: tuple[str, ...] = ("localhost", "127.0.0.1")
) -> tuple[Path, Path, Path, int]:
    """(ca, cert, key, serial) written under `folder` by kubeward's own generator."""
    from kubeward.webhook.pki import issue_serving

    issued = issue_serving(list(names))
    folder.mkdir(parents=True, exist_ok=True)
    ca, cert, key = folder / "ca.crt", folder / "tls.crt", folder / "tls.key"
    ca.write_bytes(issued.ca_pem)
    cert.write_bytes(issued.cert_pem)
    key.write_bytes(issued.key_pem)
    return ca, cert, key, issued.serial


class Serve:
    """`python -m kubeward serve` on 127.0.0.1:<free port>; stopped by its PID."""

    def __init__(
        self,
        workdir: Path,
        config: dict[str, Any] | None = None,
        *,
        cert: Path | None = None,
        key: Path | None = None,
        ca: Path | None = None,
        reload_interval: float = 10.0,
        extra_files: dict[str, str] | None = None,
        cpu: int | None = None,
    ) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        if cert is None or key is None or ca is None:
            ca, cert, key, _ = write_certs(workdir / "pki")
        self.ca, self.cert, self.key = ca, cert, key
        for name, text in (extra_files or {}).items():
            (workdir / name).parent.mkdir(parents=True, exist_ok=True)
            (workdir / name).write_text(text)
        argv = [
            sys.executable,
            "-m",
            "kubeward",
            "serve",
            "--tls-cert",
            str(cert),
            "--tls-key",
            str(key),
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--cert-reload-interval",
            str(reload_interval),
            "--log-level",
            "info",
        ]
        if config is not None:
            path = workdir / "webhook.yaml"
            path.write_text(yaml.safe_dump(config))
            argv += ["--config", str(path)]
        self.port = free_port()
        argv[argv.index("--port") + 1] = str(self.port)
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu), *argv]
        self.log = workdir / "serve.log"
        self._log_file = self.log.open("wb")
        self.proc = subprocess.Popen(
            argv, stdout=self._log_file, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        self._wait()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def _wait(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kubeward serve exited {self.proc.returncode}:\n{self.log.read_text()}")
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"kubeward serve did not become ready:\n{self.log.read_text()}")

    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca))

    def connection(self) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.context(), timeout=30)

    def get(self, path: str) -> tuple[int, str]:
        conn = self.connection()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def post(self, path: str, body: bytes | dict[str, Any]) -> tuple[int, Any]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        conn = self.connection()
        try:
            conn.request("POST", path, body=data, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read().decode()
        finally:
            conn.close()
        try:
            return resp.status, json.loads(raw)
        except ValueError:
            return resp.status, raw

    def terminate(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log_file.close()
        return self.proc.returncode


def review(
    obj: dict[str, Any] | None,
    *,
    namespace: str = "default",
    operation: str = "CREATE",
    uid: str = "uid-1",
    username: str = "alice",
    groups: tuple[str, ...] = ("system:authenticated",),
    old: dict[str, Any] | None = None,
    sub_resource: str | None = None,
) -> dict[str, Any]:
    kind = (obj or old or {}).get("kind", "Pod")
    group, _, version = (obj or old or {}).get("apiVersion", "v1").rpartition("/")
    plural = {"Pod": "pods", "Deployment": "deployments"}.get(kind, kind.lower() + "s")
    request: dict[str, Any] = {
        "uid": uid,
        "kind": {"group": group, "version": version, "kind": kind},
        "resource": {"group": group, "version": version, "resource": plural},
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": username, "groups": list(groups)},
        "object": obj,
        "oldObject": old,
        "dryRun": False,
    }
    if sub_resource:
        request["subResource"] = sub_resource
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def pod(
    name: str = "p",
    *,
    security: dict[str, Any] | None = None,
    pod_security: dict[str, Any] | None = None,
    image: str = "registry.example/app:1.0",
    containers: int = 1,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [
            {
                "name": f"c{i}",
                "image": image,
                **({"securityContext": security} if security is not None else {}),
            }
            for i in range(containers)
        ]
    }
    if pod_security is not None:
        spec["securityContext"] = pod_security
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


RESTRICTED_POD = {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}}
RESTRICTED_CONTAINER = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "readOnlyRootFilesystem": True,
}

"""A real etcd + kube-apiserver on loopback for the cluster tests.

Nothing here is mocked: `Cluster` starts the real binaries (found by `find_assets`, built by
scripts/kube-assets.sh) on free loopback ports with a throw-away PKI, RBAC, a JSON audit log and
an audit webhook, and stops them by PID. See docs/testing-cluster.md.
"""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any, NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
ASSETS_SCRIPT = REPO / "scripts" / "kube-assets.sh"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"


class AssetsUnavailable(Exception):
    """kube-apiserver/etcd could not be found or built (the caller decides: skip or fail)."""


class ClusterError(Exception):
    """The control plane did not start or misbehaved; the message carries the log tails."""


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def unavailable(reason: str) -> NoReturn:
    """Skip locally; fail under CI=true, so that a missing control plane is never hidden in CI."""
    if in_ci():
        pytest.fail(f"cluster tests cannot run under CI=true: {reason}", pytrace=False)
    pytest.skip(f"cluster tests skipped: {reason}")


# --- binaries -------------------------------------------------------------------------------


def _has_assets(folder: Path) -> bool:
    return all(
        (folder / name).is_file() and os.access(folder / name, os.X_OK) for name in ("kube-apiserver", "etcd")
    )


def find_assets(*, build: bool = True, timeout: float = 1800.0) -> Path:
    """The folder holding kube-apiserver and etcd (envtest's KUBEBUILDER_ASSETS convention).

    KUBEBUILDER_ASSETS wins when set. Otherwise scripts/kube-assets.sh is run, which returns the
    cached v1.20.2 build at once or builds it (4-7 min); its progress goes to our stderr.
    """
    env_assets = os.environ.get("KUBEBUILDER_ASSETS")
    if env_assets:
        folder = Path(env_assets)
        if _has_assets(folder):
            return folder.resolve()
        raise AssetsUnavailable(
            f"KUBEBUILDER_ASSETS={env_assets} does not hold executable kube-apiserver and etcd"
        )
    if not build:
        raise AssetsUnavailable("KUBEBUILDER_ASSETS is not set and building is disabled")
    if shutil.which("bash") is None:
        raise AssetsUnavailable("bash is needed to run scripts/kube-assets.sh")
    proc = subprocess.Popen(
        ["bash", str(ASSETS_SCRIPT)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,  # one line: the folder
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so a timeout can stop make and go too
    )
    messages: list[str] = []

    def relay() -> None:  # show the script's progress live (a cold build takes minutes)
        assert proc.stderr is not None
        for line in proc.stderr:
            messages.append(line.rstrip("\n"))
            sys.stderr.write(line)
            sys.stderr.flush()

    reader = threading.Thread(target=relay, name="kube-assets-stderr", daemon=True)
    reader.start()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssetsUnavailable(f"scripts/kube-assets.sh did not finish within {timeout:.0f}s") from None
    reader.join(timeout=5)
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    proc.stdout.close()
    if proc.returncode != 0:
        tail = "\n".join(messages[-25:])
        raise AssetsUnavailable(f"scripts/kube-assets.sh failed (exit {proc.returncode}):\n{tail}")
    folder = Path(stdout.strip().splitlines()[-1]) if stdout.strip() else Path()
    if not _has_assets(folder):
        raise AssetsUnavailable(f"scripts/kube-assets.sh printed {folder!s}, which lacks kube-apiserver/etcd")
    return folder


# --- PKI ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertPair:
    """A PEM certificate and its PEM private key, on disk."""

    cert: Path
    key: Path

    def cert_pem(self) -> bytes:
        return self.cert.read_bytes()

    def key_pem(self) -> bytes:
        return self.key.read_bytes()


class PKI:
    """A throw-away CA and the certificates the control plane and the tests need (EC P-256).

    - `ca`: the cluster CA (client CA of the apiserver, CA bundle of every kubeconfig/webhook)
    - `apiserver`: serving cert, SANs 127.0.0.1 and localhost
    - `admin`: client cert CN=kubeward-admin, O=system:masters
    - `webhook`: serving cert for a webhook (admission or audit) on 127.0.0.1/localhost
    - `sa_key` / `sa_pub`: the service-account signing key pair
    - `client(user, groups)`: mint a client cert for any user and groups (RBAC tests)
    """

    def __init__(self, folder: Path, *, days: int = 7) -> None:
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.folder = folder
        self.days = days
        folder.mkdir(parents=True, exist_ok=True)
        self._ca_key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubeward-test-ca")])
        ski = x509.SubjectKeyIdentifier.from_public_key(self._ca_key.public_key())
        self._ca_cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self._ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .sign(self._ca_key, _sha256())
        )
        self.ca = self._write("ca", self._ca_cert, self._ca_key)
        ips, dns = ["127.0.0.1"], ["localhost"]
        self.apiserver = self.issue("apiserver", "kube-apiserver", server=True, ips=ips, dns=dns)
        self.admin = self.client("kubeward-admin", ["system:masters"])
        self.webhook = self.issue("webhook", "kubeward-webhook", server=True, ips=ips, dns=dns)
        sa_key = ec.generate_private_key(ec.SECP256R1())
        self.sa_key = folder / "sa.key"
        self.sa_pub = folder / "sa.pub"
        _write_private(
            self.sa_key,
            sa_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        self.sa_pub.write_bytes(
            sa_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )

    def ca_pem(self) -> bytes:
        return self.ca.cert_pem()

    def client(self, user: str, groups: Sequence[str] = ()) -> CertPair:
        """A client cert for `user` in `groups` (the apiserver maps CN to user, O to groups)."""
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in user)
        return self.issue(f"user-{safe}", user, organizations=groups, client=True)

    def issue(
        self,
        file_stem: str,
        common_name: str,
        *,
        organizations: Sequence[str] = (),
        ips: Sequence[str] = (),
        dns: Sequence[str] = (),
        server: bool = False,
        client: bool = False,
    ) -> CertPair:
        """Sign a leaf certificate with the CA and write `<file_stem>.crt/.key`."""
        from cryptography import x509
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        usages = []
        if server:
            usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
        if client:
            usages.append(ExtendedKeyUsageOID.CLIENT_AUTH)
        now = datetime.datetime.now(datetime.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(self._ca_cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=self.days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._ca_key.public_key()), critical=False
            )
        )
        sans: list[x509.GeneralName] = [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
        sans += [x509.DNSName(name) for name in dns]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        return self._write(file_stem, builder.sign(self._ca_key, _sha256()), key)

    def _write(self, stem: str, cert: Any, key: Any) -> CertPair:
        from cryptography.hazmat.primitives import serialization

        pair = CertPair(self.folder / f"{stem}.crt", self.folder / f"{stem}.key")
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_private(
            pair.key,
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ),
        )
        return pair


def _sha256() -> Any:
    from cryptography.hazmat.primitives import hashes

    return hashes.SHA256()


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def write_kubeconfig(path: Path, *, server: str, ca_pem: bytes, user: str, cert: CertPair | None) -> Path:
    """A self-contained kubeconfig (JSON is valid YAML) with the CA and client cert inlined."""
    auth: dict[str, str] = {}
    if cert is not None:
        auth = {
            "client-certificate-data": _b64(cert.cert_pem()),
            "client-key-data": _b64(cert.key_pem()),
        }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "kubeward", "cluster": {"server": server, "certificate-authority-data": _b64(ca_pem)}}
        ],
        "users": [{"name": user, "user": auth}],
        "contexts": [{"name": user, "context": {"cluster": "kubeward", "user": user}}],
        "current-context": user,
        "preferences": {},
    }
    _write_private(path, json.dumps(config, indent=2).encode())
    return path


# --- an HTTPS endpoint the apiserver trusts (audit webhook sink; admission webhooks later) ---

Handler = Callable[[str, bytes], tuple[int, Any]]


class WebhookServer:
    """HTTPS on 127.0.0.1:<free port> with `PKI.webhook`, trusted by the apiserver via the CA.

    `/audit` records the audit webhook's EventList batches (`audit_batches`). Tests register more
    routes with `route(path, handler)`; a handler gets (path, body) and returns (status, json).
    Every POST is also appended to `requests` as (path, parsed json or None).
    """

    def __init__(self, cert: CertPair) -> None:
        self.requests: list[tuple[str, Any]] = []
        self.audit_batches: list[dict[str, Any]] = []
        self._routes: dict[str, Handler] = {"/audit": self._audit}
        self._lock = threading.Lock()
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                path = self.path.split("?", 1)[0]
                try:
                    parsed: Any = json.loads(body) if body else None
                except ValueError:
                    parsed = None
                with outer._lock:
                    outer.requests.append((path, parsed))
                    handler = outer._routes.get(path)
                status, payload = handler(path, body) if handler else (404, {"error": f"no route {path}"})
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert.cert, cert.key)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="kube-webhook", daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def route(self, path: str, handler: Handler) -> None:
        with self._lock:
            self._routes[path] = handler

    def _audit(self, path: str, body: bytes) -> tuple[int, Any]:
        batch = json.loads(body)
        with self._lock:
            self.audit_batches.append(batch)
        return 200, {}

    def audit_events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [event for batch in self.audit_batches for event in batch.get("items", [])]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --- the control plane ----------------------------------------------------------------------

AUDIT_POLICY: dict[str, Any] = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    "omitStages": ["RequestReceived"],
    "rules": [
        # health probes (our own /readyz polling) are noise
        {"level": "None", "nonResourceURLs": ["/readyz", "/readyz/*", "/healthz", "/healthz/*", "/livez"]},
        # never write secret or token payloads into the log
        {
            "level": "Metadata",
            "resources": [
                {"group": "", "resources": ["secrets", "configmaps", "serviceaccounts/token"]},
                {"group": "authentication.k8s.io", "resources": ["tokenreviews", "tokenrequests"]},
            ],
        },
        # full request/response bodies for what a security scanner inspects
        {
            "level": "RequestResponse",
            "resources": [
                {"group": ""},
                {"group": "apps"},
                {"group": "batch"},
                {"group": "rbac.authorization.k8s.io"},
                {"group": "admissionregistration.k8s.io"},
                {"group": "networking.k8s.io"},
                {"group": "policy"},
            ],
        },
        {"level": "Metadata"},
    ],
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"<cannot read {path}: {exc}>"
    return "\n".join(text.splitlines()[-lines:])


WORKDIR_PREFIX = "kubeward-cluster-"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_stale_workdirs() -> None:
    """Remove temp dirs left by runs that were killed (their owner.pid is no longer alive)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            pid = int((folder / "owner.pid").read_text().strip())
        except (OSError, ValueError):
            continue
        if not _pid_alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class User:
    """A test user: its client cert and a kubeconfig that authenticates as it."""

    name: str
    groups: tuple[str, ...]
    cert: CertPair
    kubeconfig: Path


class Cluster:
    """etcd + kube-apiserver on loopback, started by `start()`, stopped (by PID) by `stop()`.

    Attributes once started: `url`, `admin_kubeconfig`, `audit_log`, `pki`, `webhook`,
    `workdir`, `assets`, `kubectl_path` (None when no kubectl is found), `start_seconds`.
    """

    def __init__(
        self,
        assets: Path,
        *,
        workdir: Path | None = None,
        audit_webhook_url: str | None = None,
        ready_timeout: float = 60.0,
        extra_apiserver_args: Sequence[str] = (),
    ) -> None:
        self.assets = assets
        self._own_workdir = workdir is None
        if workdir is None:
            sweep_stale_workdirs()
            workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
            (workdir / "owner.pid").write_text(str(os.getpid()))
        self.workdir = workdir
        self.ready_timeout = ready_timeout
        self.extra_apiserver_args = list(extra_apiserver_args)
        self._audit_webhook_url = audit_webhook_url
        kubectl = assets / "kubectl"
        self.kubectl_path: Path | None = (
            kubectl if kubectl.is_file() else (Path(p) if (p := shutil.which("kubectl")) else None)
        )
        self.pki: PKI
        self.webhook: WebhookServer | None = None
        self.port = 0
        self.url = ""
        self.audit_log = self.workdir / "audit.log"
        self.apiserver_log = self.workdir / "kube-apiserver.log"
        self.etcd_log = self.workdir / "etcd.log"
        self.admin_kubeconfig = self.workdir / "admin.kubeconfig"
        self.start_seconds = 0.0
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []
        self._users: dict[str, User] = {}

    # lifecycle ------------------------------------------------------------------------------

    def start(self) -> Cluster:
        t0 = time.monotonic()
        self.pki = PKI(self.workdir / "pki")
        self.webhook = WebhookServer(self.pki.webhook)
        etcd_client, etcd_peer = free_port(), free_port()
        etcd_url = f"http://127.0.0.1:{etcd_client}"
        self._spawn(
            "etcd",
            [
                str(self.assets / "etcd"),
                "--name=kubeward-test",
                f"--data-dir={self.workdir / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
                f"--initial-cluster=kubeward-test=http://127.0.0.1:{etcd_peer}",
                "--initial-cluster-state=new",
                "--log-level=warn",
            ],
            self.etcd_log,
        )
        self._wait_etcd(etcd_url)

        policy = self.workdir / "audit-policy.json"
        policy.write_text(json.dumps(AUDIT_POLICY, indent=2))
        audit_webhook = self.workdir / "audit-webhook.kubeconfig"
        write_kubeconfig(
            audit_webhook,
            server=self._audit_webhook_url or self.webhook.url("/audit"),
            ca_pem=self.pki.ca_pem(),
            user="kube-apiserver",
            cert=None,
        )
        self.port = free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        pki = self.pki
        self._spawn(
            "kube-apiserver",
            [
                str(self.assets / "kube-apiserver"),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={self.port}",
                f"--cert-dir={self.workdir / 'apiserver-certs'}",
                f"--tls-cert-file={pki.apiserver.cert}",
                f"--tls-private-key-file={pki.apiserver.key}",
                f"--client-ca-file={pki.ca.cert}",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
                "--service-cluster-ip-range=10.0.0.0/24",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",
                # no controller-manager runs, so the ServiceAccount plugin would reject every pod
                "--disable-admission-plugins=ServiceAccount",
                f"--audit-policy-file={policy}",
                f"--audit-log-path={self.audit_log}",
                "--audit-log-format=json",
                f"--audit-webhook-config-file={audit_webhook}",
                "--audit-webhook-mode=batch",
                "--audit-webhook-batch-max-wait=1s",
                *self.extra_apiserver_args,
            ],
            self.apiserver_log,
        )
        write_kubeconfig(
            self.admin_kubeconfig,
            server=self.url,
            ca_pem=pki.ca_pem(),
            user="kubeward-admin",
            cert=pki.admin,
        )
        self._wait_ready()
        self.start_seconds = time.monotonic() - t0
        return self

    def stop(self) -> None:
        """Stop the apiserver, then etcd, by their PIDs; close the webhook; remove the workdir."""
        for name in ("kube-apiserver", "etcd"):
            proc = self._procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=15)
        for fh in self._logs:
            fh.close()
        self._logs.clear()
        if self.webhook is not None:
            self.webhook.close()
            self.webhook = None
        if self._own_workdir and os.environ.get("KUBEWARD_KEEP_CLUSTER_DIR") != "1":
            shutil.rmtree(self.workdir, ignore_errors=True)

    def _spawn(self, name: str, argv: list[str], log: Path) -> None:
        fh = log.open("ab")
        self._logs.append(fh)
        # setpriv --pdeathsig: the child dies with the pytest process even on SIGKILL of pytest
        prefix = ["setpriv", "--pdeathsig", "TERM", "--"] if shutil.which("setpriv") else []
        self._procs[name] = subprocess.Popen(
            prefix + argv,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            start_new_session=True,
        )

    def _check_alive(self) -> None:
        for name, proc in self._procs.items():
            if proc.poll() is not None:
                log = self.apiserver_log if name == "kube-apiserver" else self.etcd_log
                raise ClusterError(
                    f"{name} exited with code {proc.returncode}; last lines of {log}:\n{_tail(log)}"
                )

    def _wait_etcd(self, url: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                    if json.loads(resp.read()).get("health") == "true":
                        return
            except (OSError, ValueError):
                pass
            time.sleep(0.2)
        raise ClusterError(
            f"etcd not healthy after {timeout:.0f}s; last lines of {self.etcd_log}:\n{_tail(self.etcd_log)}"
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.ready_timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                status, body = self.request("GET", "/readyz", timeout=3)
                if status == 200:
                    return
                last = f"HTTP {status}: {str(body)[-300:]}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.25)
        raise ClusterError(
            f"kube-apiserver not ready at {self.url}/readyz after {self.ready_timeout:.0f}s ({last}); "
            f"last lines of {self.apiserver_log}:\n{_tail(self.apiserver_log)}"
        )

    # users and clients ------------------------------------------------------------------------

    def user(self, name: str, groups: Sequence[str] = ()) -> User:
        """A client cert and kubeconfig for `name` in `groups` (cached per name and groups)."""
        key = f"{name}|{','.join(groups)}"
        if key not in self._users:
            cert = self.pki.client(name, groups)
            stem = cert.cert.stem
            kubeconfig = write_kubeconfig(
                self.workdir / f"{stem}.kubeconfig",
                server=self.url,
                ca_pem=self.pki.ca_pem(),
                user=name,
                cert=cert,
            )
            self._users[key] = User(name, tuple(groups), cert, kubeconfig)
        return self._users[key]

    def kubectl(
        self,
        *args: str,
        kubeconfig: Path | None = None,
        input: str | None = None,
        check: bool = True,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this cluster (admin unless `kubeconfig` is given)."""
        if self.kubectl_path is None:
            raise ClusterError("no kubectl: not in the assets folder and not on PATH")
        env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
        argv = [
            str(self.kubectl_path),
            f"--kubeconfig={kubeconfig or self.admin_kubeconfig}",
            f"--cache-dir={self.workdir / 'kubectl-cache'}",
            *args,
        ]
        proc = subprocess.run(
            argv, input=input, capture_output=True, text=True, timeout=timeout, env=env, check=False
        )
        if check and proc.returncode != 0:
            raise ClusterError(
                f"kubectl {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
            )
        return proc

    def ssl_context(self, cert: CertPair | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.pki.ca.cert))
        if cert is not None:
            ctx.load_cert_chain(cert.cert, cert.key)
        return ctx

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        cert: CertPair | None = None,
        anonymous: bool = False,
        timeout: float = 30.0,
    ) -> tuple[int, Any]:
        """One HTTPS request as admin (or as `cert`'s user, or `anonymous`); returns
        (status, parsed JSON or text)."""
        client = None if anonymous else (cert or self.pki.admin)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        req.add_header("Accept", "application/json")
        try:
            with urllib.request.urlopen(req, context=self.ssl_context(client), timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as err:
            status, raw = err.code, err.read()
        text = raw.decode(errors="replace")
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    # observations -----------------------------------------------------------------------------

    def audit_events(self) -> list[dict[str, Any]]:
        """Every event in the JSON audit log so far."""
        if not self.audit_log.exists():
            return []
        return [json.loads(line) for line in self.audit_log.read_text().splitlines() if line.strip()]

    def rss_kib(self) -> dict[str, int]:
        """Resident memory of each control-plane process (from /proc), for diagnostics."""
        out: dict[str, int] = {}
        for name, proc in self._procs.items():
            try:  # setpriv execs in place: the PID is the binary's own
                for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        out[name] = int(line.split()[1])
            except OSError:
                pass
        return out

    @property
    def pids(self) -> dict[str, int]:
        return {name: proc.pid for name, proc in self._procs.items()}


def wait_for(
    predicate: Callable[[], Any], *, timeout: float = 15.0, interval: float = 0.2, what: str = "condition"
) -> Any:
    """Poll `predicate` until it returns something truthy; return it, or raise after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


@contextmanager
def start_cluster(assets: Path, **options: Any) -> Iterator[Cluster]:
    """Start a cluster and always stop it (and remove its temp dir), also when start fails."""
    cluster = Cluster(assets, **options)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
